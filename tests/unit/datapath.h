/*
 * socketd's data path with its I/O swapped, for check_datapath (no
 * allocation per packet) and datapath_bench (instructions per packet,
 * under callgrind): the daemon as socketd_ops.init makes it, one link on
 * loopback, its TUN device a socketpair whose other end is the test's
 * LAN, and a UDP socket on loopback as the PoP, with the PoP's end of the
 * session (a struct tunnel under the same keys).
 *
 * Seal path: the LAN writes a packet (with offload: a TCP super-segment
 * of `segs` segments of SEG bytes, as a TSO device gives it) into the
 * device; one turn of the event loop reads, balances, seals and sends
 * it; the PoP receives the datagrams.  Open path: the PoP seals `segs`
 * TCP segments and sends them to the link's socket; one turn opens them
 * and writes them to the device (with offload: merged); the LAN reads.
 *
 * Every buffer is the harness's and static: its own work allocates
 * nothing either.
 */
#ifndef WANPAIR_DATAPATH_H
#define WANPAIR_DATAPATH_H

#include <sys/socket.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "socketd.h"
#include "tundev.h"
#include "tunnel.h"
#include "vnet.h"
#include "vnet_pkt.h"

#define SEG     1400 /* TCP payload of a segment: a 1440-byte packet */
#define SESSION 0x5e55

struct harness {
	struct event_base *base;
	struct daemon     *d;
	struct socketd    *sd;
	int                vnet;
	int                tun[2]; /* [0] socketd's device, [1] the LAN */
	int                pop;    /* the PoP's UDP socket */
	struct sockaddr_in link;   /* link 0's socket, where the PoP sends */
	struct tunnel     *peer;   /* the PoP's end: seals down, opens up */
	struct tunnel_evq  pq;
	uint32_t           seq;      /* of the LAN's flow, up */
	uint32_t           seq_in;   /* of the Internet's flow, down */
	uint64_t           sent_up;  /* datagrams the PoP received */
	uint64_t           got_down; /* packets the LAN received */
};

static uint8_t h_pkt[VNET_READ_MAX], h_dgram[WIRE_MAX_DGRAM];

/* Epoch e's key, direction up: 2e + up in every byte, at both ends. */
static int
h_derive(void *arg, uint32_t epoch, int up, uint8_t worker,
    uint8_t key[AEAD_KEY_LEN])
{
	(void)arg;
	memset(
	    key, (int)(2 * epoch + (up ? 1 : 0) + 97u * worker), AEAD_KEY_LEN);
	return 0;
}

static int
h_fail(struct harness *h, const char *what)
{
	fprintf(stderr, "datapath harness: %s\n", what);
	(void)h;
	return -1;
}

/* 0, or -1 having said why. */
static int
harness_up(struct harness *h, int vnet)
{
	struct config_errors errs = {0};
	struct config       *conf;
	struct sockaddr_in   sin;
	socklen_t            sl = sizeof(sin);
	char                 text[1024];
	int                  n;

	memset(h, 0, sizeof(*h));
	h->vnet = vnet;
	log_init("datapath", 1, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((h->pop = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) == -1 ||
	    bind(h->pop, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(h->pop, (struct sockaddr *)&sin, &sl) == -1)
		return h_fail(h, "the PoP's socket");
	n = snprintf(text, sizeof(text),
	    "{\"site\": \"branch-17\", \"pop\": {\"address\": \"127.0.0.1\","
	    " \"identity\": \"pop.lab\", \"data_port\": %u,"
	    " \"control_port\": 9}, \"tls\": {\"ca\": \"ca.pem\","
	    " \"cert\": \"site.pem\", \"key\": \"site.key\"},"
	    " \"tun\": {\"mtu\": 1500}, \"lan\": [\"10.0.0.0/24\"],"
	    " \"flows\": {\"max\": 4096}, \"probe\": {\"interval_ms\": 10000},"
	    " \"workers\": 1,"
	    " \"links\": [{\"name\": \"WAN1\","
	    " \"source\": \"127.0.0.1\", \"up_mbps\": 100,"
	    " \"down_mbps\": 100}]}",
	    ntohs(sin.sin_port));
	conf = config_parse(
	    text, (size_t)n, "socketd.json", CONFIG_SOCKETD, &errs);
	if (conf == NULL)
		return h_fail(h, errs.n > 0 ? errs.lines[0] : "config");
	conf->offload = vnet;
	if ((h->base = event_base_new()) == NULL ||
	    (h->d = daemon_new(&socketd_ops, conf, h->base)) == NULL)
		return h_fail(h, "socketd");
	h->sd = daemon_state(h->d);
	if (dataplane_links_start(h->sd) == -1 || links_start(h->sd) == -1)
		return h_fail(h, "links");
	sl = sizeof(h->link);
	if (getsockname(h->sd->links[0].s.fd[0], (struct sockaddr *)&h->link,
		&sl) == -1)
		return h_fail(h, "the link's address");
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, h->tun) == -1 ||
	    dataplane_tun_attach(h->sd, h->tun[0], vnet) == -1)
		return h_fail(h, "the fake device");
	n = 1 << 20;
	(void)setsockopt(h->tun[0], SOL_SOCKET, SO_SNDBUF, &n, sizeof(n));
	(void)setsockopt(h->tun[1], SOL_SOCKET, SO_SNDBUF, &n, sizeof(n));
	(void)setsockopt(h->pop, SOL_SOCKET, SO_RCVBUF, &n, sizeof(n));
	if (dataplane_new_session(h->sd, SESSION, 1, h_derive) == -1 ||
	    !h->sd->keyed)
		return h_fail(h, "the session's keys");
	h->peer = tunnel_new(SESSION, 0, 0, 1, h_derive, NULL, KEYRING_LIMIT,
	    KEYRING_HARD_LIMIT);
	if (h->peer == NULL)
		return h_fail(h, "the PoP's tunnel");
	tunnel_evq_init(&h->pq);
	h->seq = 1000;
	h->seq_in = 5000;
	return 0;
}

static void
harness_down(struct harness *h)
{
	if (h->d != NULL)
		daemon_free(h->d); /* closes tun[0] */
	if (h->base != NULL)
		event_base_free(h->base);
	tunnel_free(h->peer);
	if (h->tun[1] > 0)
		close(h->tun[1]);
	if (h->pop > 0)
		close(h->pop);
}

/* The PoP's control side: keys it is asked for (a test build rekeys
 * every 4096 packets). */
static void
harness_peer_keys(struct harness *h)
{
	struct tunnel_ev ev;

	while (tunnel_evq_pop(&h->pq, &ev))
		if (ev.kind == TUNNEL_EV_NEED_KEY)
			(void)tunnel_refill(h->peer);
}

/* The LAN sends `segs` segments of one TCP flow: one super-segment with
 * offload, else `segs` packets.  The daemon's turn; the PoP counts (and,
 * if `check`, opens) what arrived.  Returns the datagrams received. */
static size_t
harness_seal(struct harness *h, unsigned segs, int check)
{
	static const uint8_t  pay[64 * SEG];
	struct pkt_flow       f = {0, IPPROTO_TCP, 40000, 443, 1, 64, 65535, 0};
	struct virtio_net_hdr vh;
	struct wire_hdr       wh;
	uint8_t              *p = h_pkt + (h->vnet ? VNET_HDR_LEN : 0);
	size_t                len, got = 0;
	ssize_t               n;
	unsigned              i;

	if (h->vnet) {
		len = mk_pkt(p, &f, h->seq, 1, F_ACK, pay, (size_t)segs * SEG);
		memset(&vh, 0, sizeof(vh));
		if (segs > 1) {
			vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
			vh.gso_size = SEG;
		}
		vnet_hdr_encode(&vh, h_pkt);
		(void)send(h->tun[1], h_pkt, VNET_HDR_LEN + len, 0);
		h->seq += segs * SEG;
	} else
		for (i = 0; i < segs; i++) {
			len =
			    mk_pkt(p, &f, h->seq, (uint16_t)i, F_ACK, pay, SEG);
			(void)send(h->tun[1], p, len, 0);
			h->seq += SEG;
		}
	(void)event_base_loop(h->base, EVLOOP_NONBLOCK);
	while ((n = recv(h->pop, h_dgram, sizeof(h_dgram), 0)) > 0) {
		if (check &&
		    (wire_hdr_decode(h_dgram, (size_t)n, &wh) != WIRE_OK ||
			tunnel_open(h->peer, &h->pq, &wh, h_dgram, (size_t)n,
			    h_pkt, sizeof(h_pkt)) < 0))
			continue;
		got += !check || wh.type == WIRE_DATA;
	}
	harness_peer_keys(h);
	h->sent_up += got;
	return got;
}

/* The PoP sends `segs` TCP segments of one flow, each sealed; the
 * daemon's turn; the LAN counts the packets that arrived (a merged write
 * counts its segments).  Returns them. */
static size_t
harness_open(struct harness *h, unsigned segs)
{
	static const uint8_t  pay[SEG];
	struct pkt_flow       f = {0, IPPROTO_TCP, 443, 40000, 7, 64, 65535, 0};
	struct virtio_net_hdr vh;
	uint8_t               seg[SEG + 64];
	size_t                len, got = 0, plen;
	ssize_t               n;
	unsigned              i;
	int                   d;

	for (i = 0; i < segs; i++) {
		len = mk_pkt(
		    seg, &f, h->seq_in, (uint16_t)i, F_ACK, pay, sizeof(pay));
		h->seq_in += SEG;
		d = tunnel_seal(h->peer, &h->pq, WIRE_DATA, 0, seg, len,
		    h_dgram, sizeof(h_dgram));
		if (d > 0)
			(void)sendto(h->pop, h_dgram, (size_t)d, 0,
			    (struct sockaddr *)&h->link, sizeof(h->link));
	}
	harness_peer_keys(h);
	(void)event_base_loop(h->base, EVLOOP_NONBLOCK);
	while ((n = recv(h->tun[1], h_pkt, sizeof(h_pkt), 0)) > 0) {
		if (!h->vnet) {
			got++;
			continue;
		}
		if (vnet_hdr_decode(h_pkt, (size_t)n, &vh) == -1)
			continue;
		plen = (size_t)n - VNET_HDR_LEN - 40;
		got += vh.gso_type == VIRTIO_NET_HDR_GSO_NONE
		    ? 1
		    : (plen + vh.gso_size - 1) / vh.gso_size;
	}
	h->got_down += got;
	return got;
}

#endif
