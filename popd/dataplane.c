/*
 * popd's data plane.  Up: a datagram on the data port names its session
 * and link in its header; it is checked against that link's replay
 * window, opened with the session's up key, teaches us the link's current
 * endpoint (NAT rebinding, roaming: only authenticated packets do), and
 * its inner packet goes to the TUN if its source lies in the site's LAN.
 * Down: a packet from the TUN finds its site by destination (longest
 * prefix over all sites' LANs), gets a link from the site's engine by
 * downstream weight, and is sealed and sent to that link's endpoint.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "link.h"
#include "linkdown.h"
#include "log.h"
#include "mss.h"
#include "popd.h"
#include "probe.h"
#include "proto.h"
#include "tundev.h"

/* Reads of the TUN device (each up to 64 KiB with offload) and recvmmsg
 * calls (each up to 64 messages) per readable event before the loop
 * looks elsewhere. */
#define TUN_READS 64
#define UDP_RECVS 4
#define JUMBO_MTU 9000
/* Socket buffers asked for: every site's links share the data sockets
 * (one per listen entry). */
#define UDP_SOCKBUF (16 * 1024 * 1024)

/* The family and source address of an inner packet, or -1. */
static int
inner_addr(const uint8_t *p, size_t len, int dst, uint8_t *a)
{
	memset(a, 0, 16);
	if (len >= 20 && p[0] >> 4 == 4) {
		memcpy(a, p + (dst ? 16 : 12), 4);
		return AF_INET;
	}
	if (len >= 40 && p[0] >> 4 == 6) {
		memcpy(a, p + (dst ? 24 : 8), 16);
		return AF_INET6;
	}
	return -1;
}

/* Seals a packet for a site's link straight into the socket's queue,
 * sent at the end of the batch (udpio_send(); what the kernel refuses is
 * counted there).  The counter, which is the nonce, is the keyring's to
 * choose (keyring.h), by the link's wire id. */
static void
send_to_link(struct popd *pd, struct session *s, unsigned idx, uint8_t type,
    const uint8_t *pkt, size_t len)
{
	int n;

	n = tunnel_seal_udp(s->tun, &pd->dataev.q, &pd->drops,
	    pd->lsn[s->endpoint_lsn[idx]].uio, type, s->links[idx].id, pkt, len,
	    (struct sockaddr *)&s->endpoint[idx], s->endpoint_len[idx]);
	if (n < 0)
		return;
	s->tx_packets[idx]++;
	s->tx_bytes[idx] += (uint64_t)n;
}

/*
 * A link the site has sent nothing on for down_after intervals and a
 * grace of a quarter interval is down, without waiting for the Socket to
 * say so over a control channel that may be riding that very link.  The
 * site probes every interval, so that is down_after probes missing, the
 * last of them a grace overdue: the rule socketd applies to its replies
 * (common/link.h, "Silence"), 102 ms of silence with the defaults (10
 * probes 10 ms apart).  The ticks come every tenth of an interval, 5 ms
 * at least (health_period()), so they add that much at most.  Each
 * tick looks at every session's links: a few tens of thousands of
 * comparisons for a large PoP, microseconds.
 */
/* The health ticks' period: a tenth of the probe interval, 5 ms at
 * least: every tick walks every site, and at 10 ms probes a tenth would
 * be a thousand walks a second for the ~5 ms they could gain (the
 * Socket's link-down notice, on the data plane, is what tells popd of a
 * dead link first; the silence is for when it cannot). */
struct timeval *
health_period(const struct popd *pd, struct timeval *tv)
{
	uint32_t us = pd->conf->probe_interval_ms * 100;

	if (us < 5000)
		us = 5000;
	tv->tv_sec = us / 1000000;
	tv->tv_usec = (suseconds_t)(us % 1000000);
	return tv;
}

/*
 * A session is kept when its control channel drops, so that traffic goes
 * on until the next HELLO (DESIGN.md section 6), but not for ever: with
 * no channel it cannot rekey and nobody vouches for the site any more.
 * After session_grace_s without one it ends: keys wiped, flows dropped.
 * The routes into the TUN device stay (the site is still configured),
 * so its return traffic is dropped here rather than routed elsewhere.
 * Returns 1 if the session was freed.
 */
static int
session_expire(struct popd *pd, struct site *site, uint64_t now)
{
	struct session *s = site->session;

	if (s->conn != NULL) {
		s->detached_ms = 0;
		return 0;
	}
	if (s->detached_ms == 0) {
		s->detached_ms = now;
		return 0;
	}
	if (now - s->detached_ms < (uint64_t)pd->conf->session_grace_s * 1000)
		return 0;
	log_info("site %s: session %u ended: no control channel for %u s",
	    site->conf->name, s->id, pd->conf->session_grace_s);
	session_end(pd, site);
	pd->sessions_expired++;
	return 1;
}

/* Has another of s's links that is up been heard from well after link
 * l last was (half of quiet later at least)?  If none has, the silence
 * of l is that of every link at once, give or take a probe: the Socket's
 * stall or ours (measured here: 100-370 ms on a busy machine), more
 * likely than every link dying together, and with no live link to move
 * the flows to, waiting LINK_SILENT_HOLD_MS longer costs nothing
 * (common/link.h). */
static int
other_link_heard(const struct session *s, size_t l, uint64_t quiet)
{
	size_t j;

	for (j = 0; j < s->nlinks; j++)
		if (j != l && !s->link_down[j] &&
		    s->rx_last_ms[j] >= s->rx_last_ms[l] + quiet / 2)
			return 1;
	return 0;
}

int
health_walk(struct popd *pd, uint64_t now)
{
	uint64_t quiet;
	size_t   i, l, end;
	char     why[64];

	quiet =
	    (uint64_t)pd->conf->probe_down_after * pd->conf->probe_interval_ms +
	    (pd->conf->probe_interval_ms / 4 > 0
		    ? pd->conf->probe_interval_ms / 4
		    : 1);
	end = pd->health_next + HEALTH_CHUNK < pd->nsites
	    ? pd->health_next + HEALTH_CHUNK
	    : pd->nsites;
	for (i = pd->health_next; i < end; i++) {
		struct session *s = pd->sites[i].session;

		if (s != NULL && session_expire(pd, &pd->sites[i], now))
			continue;
		if (s != NULL) /* flows expire with no packet too */
			engine_tick(s->engine, now);
		for (l = 0; s != NULL && l < s->nlinks; l++) {
			if (s->link_down[l] || s->rx_last_ms[l] == 0 ||
			    now - s->rx_last_ms[l] < quiet)
				continue;
			if (!other_link_heard(s, l, quiet) &&
			    now - s->rx_last_ms[l] <
				quiet + LINK_SILENT_HOLD_MS)
				continue;
			snprintf(why, sizeof(why),
			    "nothing from the site in %llu ms",
			    (unsigned long long)(now - s->rx_last_ms[l]));
			session_link_state(s, (unsigned)l, 0, why);
		}
	}
	pd->health_next = end < pd->nsites ? end : 0;
	return pd->health_next != 0;
}

/* The rest of a walk, a chunk a pass of the loop. */
static void
health_more(evutil_socket_t fd, short what, void *arg)
{
	struct popd *pd = arg;

	(void)fd;
	(void)what;
	if (health_walk(pd, now_ms()))
		event_active(pd->health_more_ev, EV_TIMEOUT, 0);
}

/* Every tenth of a probe interval: a walk over the sites starts, unless
 * the last one is still under way. */
static void
health_tick(evutil_socket_t fd, short what, void *arg)
{
	struct popd *pd = arg;

	(void)fd;
	(void)what;
	if (pd->health_next == 0 && health_walk(pd, now_ms()))
		event_active(pd->health_more_ev, EV_TIMEOUT, 0);
}

/* One datagram from a site on data socket `lsn`: opened straight into
 * the TUN device's queue if its source lies in the site's LAN, or a
 * probe answered. */
static void
udp_dgram(struct popd *pd, uint8_t lsn, const struct udpio_dgram *d)
{
	struct wire_hdr hdr;
	struct session *s;
	uint8_t         src[16], *inner;
	size_t          cap;
	unsigned        idx;
	int             len, family;

	/* A site's TUN MTU follows its links' MTU: allow jumbo frames,
	 * refuse anything larger before any cipher work. */
	if (d->len > (size_t)(pd->tundev.mtu > JUMBO_MTU ? pd->tundev.mtu
							 : JUMBO_MTU) +
		    WIRE_OVERHEAD ||
	    wire_hdr_decode(d->data, d->len, &hdr) != WIRE_OK ||
	    hdr.link_id >= CONFIG_MAX_LINKS) {
		pd->drops.bad_header++;
		return;
	}
	if ((s = session_by_id(pd, hdr.session)) == NULL ||
	    (idx = s->index_of[hdr.link_id]) == LINK_NONE) {
		pd->drops.no_session++;
		return;
	}
	inner = tundev_slot(&pd->tundev, &cap);
	if ((len = tunnel_open_count(s->tun, &pd->dataev.q, &pd->drops, &hdr,
		 d->data, d->len, inner, cap)) < 0)
		return;
	s->rx_last_ms[idx] = pd->batch_ms;
	if (s->link_down[idx] && hdr.type == WIRE_PROBE &&
	    ++s->probes_back[idx] >= pd->conf->probe_up_after) {
		/* Up, and the flows that come back, on the main loop after
		 * this batch. */
		struct tunnel_ev ev = {.kind = TUNNEL_EV_LINK_BACK};

		ev.link = hdr.link_id;
		ev.session = s->id;
		(void)tunnel_evq_push(&pd->dataev.q, &ev);
	}
	s->rx_packets[idx]++;
	s->rx_bytes[idx] += (uint64_t)d->len;
	/* The socket too: a link that moved to the PoP's other address
	 * (or family) is answered from there. */
	if (s->endpoint_len[idx] != d->fromlen || s->endpoint_lsn[idx] != lsn ||
	    memcmp(&s->endpoint[idx], d->from, d->fromlen) != 0) {
		memcpy(&s->endpoint[idx], d->from, d->fromlen);
		s->endpoint_len[idx] = d->fromlen;
		s->endpoint_lsn[idx] = lsn;
		s->endpoint_moves[idx]++;
	}
	if (hdr.type == WIRE_LINK_DOWN) {
		struct linkdown  ld;
		struct tunnel_ev ev = {.kind = TUNNEL_EV_LINK_DOWN};

		/* The Socket lost a link (it arrived on another): its
		 * return flows move on the main loop after this batch. */
		if (linkdown_decode(inner, (size_t)len, &ld) == -1) {
			pd->drop_parse++;
			return;
		}
		ev.link = ld.link;
		ev.cause = ld.cause;
		ev.seq = ld.seq;
		ev.session = s->id;
		(void)tunnel_evq_push(&pd->dataev.q, &ev);
		return;
	}
	if (hdr.type == WIRE_PROBE) {
		struct probe pr;
		uint8_t      reply[PROBE_LEN];

		/* Echo only what decodes as a probe: the reply is
		 * re-encoded, never the peer's bytes sent back. */
		if (probe_decode(inner, (size_t)len, &pr) == -1) {
			pd->drop_parse++;
			return;
		}
		(void)probe_encode(&pr, reply, sizeof(reply));
		send_to_link(
		    pd, s, idx, WIRE_PROBE_REPLY, reply, sizeof(reply));
		return;
	}
	if (hdr.type != WIRE_DATA)
		return;
	/* A site may only send from its own LAN: anything else would let
	 * one site spoof another, or the Internet. */
	if ((family = inner_addr(inner, (size_t)len, 0, src)) == -1 ||
	    !site_holds(pd, s->site, family, src)) {
		s->site->drop_spoofed++;
		return;
	}
	tundev_commit(&pd->tundev, (size_t)len);
}

/* Every data socket's queue, after a batch: at most CONFIG_LISTEN_MAX
 * calls, an empty queue costing no system call. */
static void
udp_send_all(struct popd *pd)
{
	size_t i;

	for (i = 0; i < pd->nlsn; i++)
		(void)udpio_send(pd->lsn[i].uio);
}

static void
udp_read(evutil_socket_t fd, short what, void *arg)
{
	struct popd_listen *l = arg;
	struct popd        *pd = l->pd;
	struct udpio_dgram  d;
	int                 i;

	(void)fd;
	(void)what;
	pd->batch_ms = now_ms();
	for (i = 0; i < UDP_RECVS && udpio_recv(l->uio) > 0; i++)
		while (udpio_next(l->uio, &d))
			udp_dgram(pd, (uint8_t)l->idx, &d);
	tundev_flush(&pd->tundev);
	/* Probe answers, from the socket each probe came in on, which
	 * need not be this one's for a link that moved. */
	udp_send_all(pd);
	dataev_kick(&pd->dataev);
}

/* One packet for a site's LAN: its site by destination, a link by its
 * flow, sealed into the socket's queue. */
static void
tun_packet(void *arg, uint8_t *pkt, size_t n)
{
	struct popd         *pd = arg;
	struct engine_result res;
	struct session      *s;
	struct site         *site;
	uint8_t              dst[16];
	int                  family, rc;

	if ((family = inner_addr(pkt, n, 1, dst)) == -1 ||
	    (site = site_for(pd, family, dst)) == NULL ||
	    (s = site->session) == NULL) {
		pd->drop_no_site++;
		return;
	}
	(void)mss_clamp(
	    pkt, n, family == AF_INET6 ? pd->tundev.mss6 : pd->tundev.mss4);
	if ((rc = engine_packet(s->engine, pkt, n, 0, pd->batch_ms, &res)) !=
	    0) {
		/* A site at its cap evicts its own idle flows; only with
		 * the pool short and none of its own to give is a new flow
		 * refused (flow_table_refused(), per site). */
		if (rc == PKT_ERR_TABLE_FULL)
			site->drop_table_full++;
		else
			pd->drop_parse++;
		return;
	}
	if (res.is_new)
		s->new_flows[res.link]++;
	if (s->link_down[res.link]) {
		/* Every link of the site is down (else the flow would have
		 * moved): the flow stays for when one returns. */
		site->drop_no_link++;
		return;
	}
	if (s->endpoint_len[res.link] == 0) {
		/* The Socket has not spoken on that link yet. */
		site->drop_no_endpoint++;
		return;
	}
	send_to_link(pd, s, res.link, WIRE_DATA, pkt, n);
}

static void
tun_read(evutil_socket_t fd, short what, void *arg)
{
	struct popd *pd = arg;

	(void)fd;
	(void)what;
	pd->batch_ms = now_ms();
	(void)tundev_read(&pd->tundev, TUN_READS, tun_packet, pd);
	udp_send_all(pd);
	dataev_kick(&pd->dataev);
}

/*
 * IPv6 sockets are IPV6_V6ONLY whatever net.ipv6.bindv6only says: "::"
 * then means every IPv6 address and no IPv4 one, so that "0.0.0.0" and
 * "::" can both be listed on one port, and an endpoint is never an
 * IPv4-mapped IPv6 address.  A TCP listener may bind again at once
 * after a restart (SO_REUSEADDR); a UDP socket must not share its port.
 */
int
dataplane_bind(const struct wp_addr *a, uint16_t port, int type)
{
	struct sockaddr_storage ss;
	socklen_t               sslen;
	int                     fd, on = 1, e;

	sslen = addr_to_sockaddr(a, port, &ss);
	if ((fd = socket(a->family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) ==
	    -1)
		return -1;
	if ((type == SOCK_STREAM &&
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ==
		    -1) ||
	    (a->family == AF_INET6 &&
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) ==
		    -1) ||
	    bind(fd, (struct sockaddr *)&ss, sslen) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Listen entry i's data socket. */
static int
udp_open(struct popd *pd, size_t i)
{
	const struct config_endpoint *e = &pd->conf->endpoints[i];
	struct popd_listen           *l = &pd->lsn[i];
	struct udpio_conf             uc = {0};
	char                          a[ADDR_STRLEN] = "?";

	addr_ntop(&e->address, a, sizeof(a));
	l->pd = pd;
	l->idx = (unsigned)i;
	if ((l->udp_fd = dataplane_bind(
		 &e->address, e->data_port, SOCK_DGRAM)) == -1) {
		log_warn("data port %s %u", a, e->data_port);
		return -1;
	}
	(void)udpio_bufsize(l->udp_fd, UDP_SOCKBUF, NULL, NULL);
	uc.flags = pd->conf->offload ? 0 : UDPIO_NO_OFFLOAD;
	if ((l->uio = udpio_new(l->udp_fd, &uc)) == NULL) {
		log_warn("data port %s %u: batched I/O", a, e->data_port);
		return -1;
	}
	l->udp_ev =
	    event_new(pd->base, l->udp_fd, EV_READ | EV_PERSIST, udp_read, l);
	if (l->udp_ev == NULL || event_add(l->udp_ev, NULL) == -1)
		return -1;
	return 0;
}

/*
 * The TUN MTU when tun.mtu does not say: what a 1500-byte underlay link
 * carries less the tunnel's overhead over the worst family popd listens
 * on (WIRE_LINK_OVERHEAD6 if any entry is IPv6: a site's IPv6 link must
 * not need fragments either).
 */
static int
default_mtu(const struct popd *pd)
{
	int    overhead = WIRE_LINK_OVERHEAD4;
	size_t i;

	for (i = 0; i < pd->conf->nendpoints; i++)
		if (pd->conf->endpoints[i].address.family == AF_INET6)
			overhead = WIRE_LINK_OVERHEAD6;
	return 1500 - overhead;
}

int
dataplane_start(struct popd *pd)
{
	struct timeval tv;
	uint32_t       size = 4;
	size_t         i;

	while (size < 2 * pd->nsites)
		size <<= 1;
	if ((pd->sess_index = calloc(size, sizeof(*pd->sess_index))) == NULL)
		return -1;
	pd->sess_mask = size - 1;
	for (i = 0; i < pd->conf->nendpoints; i++) {
		pd->nlsn = i + 1;
		if (udp_open(pd, i) == -1)
			return -1;
	}
	if (tundev_up(&pd->tundev, pd->base, pd->conf->tun.name,
		pd->conf->tun.mtu != 0 ? (int)pd->conf->tun.mtu
				       : default_mtu(pd),
		pd->conf->offload, 0, tun_read, pd) == -1)
		return -1;
	pd->health_ev = event_new(pd->base, -1, EV_PERSIST, health_tick, pd);
	pd->health_more_ev = event_new(pd->base, -1, 0, health_more, pd);
	if (pd->health_ev == NULL || pd->health_more_ev == NULL ||
	    event_add(pd->health_ev, health_period(pd, &tv)) == -1)
		return -1;
	log_info("%s up, MTU %d", pd->tundev.name, pd->tundev.mtu);
	return 0;
}

void
dataplane_stop(struct popd *pd)
{
	size_t i;

	for (i = 0; i < pd->nsites; i++) {
		session_free(pd->sites[i].session);
		pd->sites[i].session = NULL;
	}
	free(pd->sess_index);
	if (pd->health_ev != NULL)
		event_free(pd->health_ev);
	if (pd->health_more_ev != NULL)
		event_free(pd->health_more_ev);
	for (i = 0; i < pd->nlsn; i++) {
		struct popd_listen *l = &pd->lsn[i];

		if (l->udp_ev != NULL)
			event_free(l->udp_ev);
		udpio_free(l->uio);
		l->uio = NULL;
		if (l->udp_fd >= 0)
			close(l->udp_fd);
		l->udp_fd = -1;
	}
	tundev_close(&pd->tundev);
}
