/*
 * socketd's data plane: LAN packets from the TUN device are balanced per
 * flow by upstream weight (the engine), sealed and sent on the chosen
 * link's UDP socket; datagrams from the PoP on any link are opened,
 * checked against that link's replay window and written to the TUN.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mss.h"
#include "probe.h"
#include "proto.h"
#include "socketd.h"
#include "tun.h"
#include "tundev.h"

/* Reads of the TUN device (each up to 64 KiB with offload) and recvmmsg
 * calls per readable event before the loop looks elsewhere: a busy data
 * path must not starve the control channel. */
#define TUN_READS 64
#define UDP_RECVS 8

/* A link socket's batches: 8 messages a recvmmsg (each up to 64 KiB
 * with GRO), 256 KiB of datagrams queued before a flush is forced. */
static const struct udpio_conf link_io = {
    .batch = 8, .tx_size = 256 * 1024, .tx_max = 512};
/* Socket buffers asked for: a few milliseconds of a fast link. */
#define LINK_SOCKBUF (4 * 1024 * 1024)

int
link_socket(const struct config_link *l, int type, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t               sslen;
	int                     fd, family = AF_INET;

	/* The loader made pop and source agree (cfg_resolve_pops()). */
	if (l->pop.family != 0)
		family = l->pop.family;
	else if (l->source.family != 0)
		family = l->source.family;
	fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* Each link's packets must leave on that link, whatever the main
	 * routing table prefers: bind to the device (CAP_NET_RAW). */
	if (l->device[0] != '\0' &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, l->device,
		(socklen_t)strlen(l->device)) == -1) {
		snprintf(err, errlen, "link %s: bind to device %s: %s", l->name,
		    l->device, strerror(errno));
		goto fail;
	}
	if (l->source.family != 0) {
		sslen = addr_to_sockaddr(&l->source, 0, &ss);
		if (bind(fd, (struct sockaddr *)&ss, sslen) == -1) {
			snprintf(err, errlen, "link %s: bind to source: %s",
			    l->name, strerror(errno));
			goto fail;
		}
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/*
 * Seals a packet for l straight into its socket's queue, sent at the end
 * of the batch (udpio_send()).  The counter, which is the nonce, is the
 * keyring's to choose (keyring.h): a link that got a removed link's id,
 * or a channel that reconnected, goes on from where that id's counter is
 * under the key in use.
 */
static void
link_queue(struct socketd *sd, struct slink *l, uint8_t type,
    const uint8_t *pkt, size_t len)
{
	int n;

	n = tunnel_seal_udp(sd->tun, &sd->dataev.q, &sd->drops, l->uio, type,
	    l->id, pkt, len, NULL, 0);
	l->tx_errors += n < 0 && n != TUNNEL_ERR_EXHAUSTED;
}

void
dataplane_send(struct socketd *sd, struct slink *l, uint8_t type,
    const uint8_t *pkt, size_t len)
{
	link_queue(sd, l, type, pkt, len);
	(void)udpio_send(l->uio);
}

void
dataplane_link_tx(
    const struct slink *l, uint64_t *packets, uint64_t *bytes, uint64_t *errors)
{
	const struct udpio_stats *st = udpio_stats(l->uio);

	*packets = l->tx_packets + st->tx_dgrams;
	*bytes = l->tx_bytes + st->tx_bytes;
	*errors = l->tx_errors + udpio_tx_failed(st);
}

/* What a link's socket sent, kept in its counters when the socket goes
 * (a reload reopens it). */
static void
link_tx_keep(struct slink *l)
{
	uint64_t p, b, e;

	dataplane_link_tx(l, &p, &b, &e);
	l->tx_packets = p;
	l->tx_bytes = b;
	l->tx_errors = e;
}

/*
 * 1 for the edge box's own link-scoped chatter on the TUN device: IPv6
 * from the unspecified or a link-local address (RFC 4291 2.5.2, 2.5.6),
 * to link-local multicast (ff02::/16, MLD and router solicitations), or
 * IPv4 link-local (RFC 3927).  It has no business at the PoP, which would
 * only count it as spoofed.  Anything else goes: the PoP is the one that
 * enforces the site's LAN.
 */
static int
link_scoped(const uint8_t *p, size_t len)
{
	static const uint8_t unspec[16];

	if (len >= 20 && p[0] >> 4 == 4)
		return p[12] == 169 && p[13] == 254;
	if (len < 40 || p[0] >> 4 != 6)
		return 0;
	return memcmp(p + 8, unspec, 16) == 0 ||
	    (p[8] == 0xfe && (p[9] & 0xc0) == 0x80) ||
	    (p[24] == 0xff && (p[25] & 0x0f) == 0x02);
}

/* One packet from the LAN: a link by its flow, sealed into that link's
 * queue. */
static void
tun_packet(void *arg, uint8_t *pkt, size_t n)
{
	struct socketd      *sd = arg;
	struct engine_result res;

	if (!sd->keyed) {
		sd->drops.no_session++;
		return;
	}
	if (link_scoped(pkt, n)) {
		sd->drop_link_scoped++;
		return;
	}
	(void)mss_clamp(
	    pkt, n, (pkt[0] >> 4) == 6 ? sd->tundev.mss6 : sd->tundev.mss4);
	if (engine_packet(sd->engine, pkt, n, 0, sd->batch_ms, &res) != 0) {
		sd->drop_parse++;
		return;
	}
	if (res.is_new)
		sd->links[res.link].new_flows++;
	/* Every link down: the flow keeps its link and its packets are
	 * dropped until one comes back. */
	if (!dataplane_link_up(sd, res.link)) {
		sd->drop_link_down++;
		return;
	}
	link_queue(sd, &sd->links[res.link], WIRE_DATA, pkt, n);
}

static void
tun_read(evutil_socket_t fd, short what, void *arg)
{
	struct socketd *sd = arg;
	size_t          i;

	(void)fd;
	(void)what;
	sd->batch_ms = now_ms();
	(void)tundev_read(&sd->tundev, TUN_READS, tun_packet, sd);
	for (i = 0; i < sd->nlinks; i++)
		(void)udpio_send(sd->links[i].uio);
	dataev_kick(&sd->dataev);
}

/* One datagram from the PoP on l: opened straight into the TUN
 * device's queue, or a probe answer for the main loop. */
static void
link_dgram(struct socketd *sd, struct slink *l, const uint8_t *dgram, size_t n)
{
	struct wire_hdr hdr;
	uint8_t        *inner;
	size_t          cap;
	int             len;

	if (wire_hdr_decode(dgram, n, &hdr) != WIRE_OK ||
	    hdr.link_id != l->id) {
		sd->drops.bad_header++;
		return;
	}
	if (!sd->keyed || hdr.session != sd->session) {
		sd->drops.no_session++;
		return;
	}
	inner = tundev_slot(&sd->tundev, &cap);
	if ((len = tunnel_open_count(sd->tun, &sd->dataev.q, &sd->drops, &hdr,
		 dgram, n, inner, cap)) < 0)
		return;
	l->rx_packets++;
	l->rx_bytes += (uint64_t)n;
	if (hdr.type == WIRE_PROBE_REPLY) {
		struct probe     pr;
		struct tunnel_ev ev = {.kind = TUNNEL_EV_PROBE};

		if (probe_decode(inner, (size_t)len, &pr) == -1) {
			sd->drop_parse++;
			return;
		}
		/* The health machine and what a link coming up moves run
		 * after the batch, on the main loop. */
		ev.link = l->id;
		ev.session = sd->session;
		ev.seq = pr.seq;
		ev.at_ms = now_ms();
		(void)tunnel_evq_push(&sd->dataev.q, &ev);
		return;
	}
	if (hdr.type != WIRE_DATA || len == 0)
		return;
	(void)mss_clamp(inner, (size_t)len,
	    (inner[0] >> 4) == 6 ? sd->tundev.mss6 : sd->tundev.mss4);
	tundev_commit(&sd->tundev, (size_t)len);
}

static void
link_read(evutil_socket_t fd, short what, void *arg)
{
	struct slink      *l = arg;
	struct socketd    *sd = l->sd;
	struct udpio_dgram d;
	int                i;

	(void)fd;
	(void)what;
	/* An ICMP error on the connected socket (ECONNREFUSED) ends the
	 * batch; the probes tell what it means. */
	for (i = 0; i < UDP_RECVS && udpio_recv(l->uio) > 0; i++)
		while (udpio_next(l->uio, &d))
			link_dgram(sd, l, d.data, d.len);
	tundev_flush(&sd->tundev);
	dataev_kick(&sd->dataev);
}

socklen_t
dataplane_pop_sockaddr(const struct socketd *sd, const struct config_link *c,
    uint16_t port, struct sockaddr_storage *ss)
{
	const struct wp_addr *w = &sd->welcome_addr;

	if (c->pop.family == 0)
		return 0;
	if (port == 0)
		port = sd->welcome_port != 0 && w->family == c->pop.family &&
			memcmp(w->a, c->pop.a, sizeof(w->a)) == 0
		    ? sd->welcome_port
		    : sd->conf->endpoints[0].data_port;
	return addr_to_sockaddr(&c->pop, port, ss);
}

/*
 * The PoP's data port as WELCOME gives it, and (again) every link
 * socket's connect: a link that was down at start could not connect
 * then, and an unconnected socket would take datagrams from anyone.
 * WELCOME's port is that of the listen entry the control channel
 * reached, so it holds for the links to that address only.
 */
void
dataplane_set_port(struct socketd *sd, const struct wp_addr *via, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t               sslen;
	size_t                  i;

	sd->welcome_addr = *via;
	sd->welcome_port = port;
	for (i = 0; i < sd->nlinks; i++)
		if ((sslen = dataplane_pop_sockaddr(
			 sd, sd->links[i].conf, 0, &ss)) != 0 &&
		    connect(sd->links[i].fd, (struct sockaddr *)&ss, sslen) ==
			-1)
			log_debug("link %s: connect to the PoP: %s",
			    sd->links[i].conf->name, strerror(errno));
}

/*
 * The keys outlive the control channel so that traffic goes on while it
 * reconnects (DESIGN.md section 6), but not for ever: popd ends a session
 * without a channel after session_grace_s (popd/dataplane.c), and
 * sealing under it after that only feeds the PoP packets it drops, under
 * keys nothing rekeys any more.  So socketd drops them after the same
 * time; the next WELCOME brings new ones.
 */
void
dataplane_session_expire(struct socketd *sd)
{
	uint64_t now;

	if (!sd->keyed || (sd->ctl != NULL && sd->ctl_welcomed)) {
		sd->detached_ms = 0;
		return;
	}
	now = now_ms();
	if (sd->detached_ms == 0) {
		sd->detached_ms = now;
		return;
	}
	if (now - sd->detached_ms < (uint64_t)sd->conf->session_grace_s * 1000)
		return;
	log_info("session %u ended: no control channel for %u s", sd->session,
	    sd->conf->session_grace_s);
	tunnel_free(sd->tun);
	sd->tun = NULL;
	sd->keyed = 0;
	sd->detached_ms = 0;
	sd->sessions_expired++;
}

int
dataplane_new_session(struct socketd *sd, uint32_t session,
    unsigned pop_workers, tunnel_derive_fn derive)
{
	/* The old keys go with their counters; the new ones start at 0,
	 * and so do the replay windows, with the PoP's counters. */
	tunnel_free(sd->tun);
	sd->tun = NULL;
	sd->keyed = 0;
	sd->session = session;
	if ((sd->tun = tunnel_new(session, 1, 0, pop_workers, derive, sd,
		 KEYRING_LIMIT, KEYRING_HARD_LIMIT)) == NULL) {
		log_warnx(
		    "cannot set up the data-plane keys of session %u", session);
		return -1;
	}
	sd->keyed = 1;
	/* The first probe round now, not an interval later: the probe
	 * timer's callback (links.c), run once more. */
	if (sd->probe_ev != NULL)
		event_active(sd->probe_ev, EV_TIMEOUT, 0);
	return 0;
}

/*
 * The TUN MTU: configured, or the smallest of the links' MTU less the
 * tunnel's overhead over that link's family (WIRE_LINK_OVERHEAD4 or 6:
 * an IPv6 underlay costs 20 bytes more), so that a packet fits whichever
 * link its flow is on, or moves to.  The MSS clamp follows from it
 * (daemon/tundev.c).
 */
int
dataplane_tun_mtu(const struct config *conf)
{
	const struct config_link *c;
	int                       mtu = 0, m, overhead;
	size_t                    i;

	if (conf->tun.mtu != 0)
		return (int)conf->tun.mtu;
	for (i = 0; i < conf->nlinks; i++) {
		c = &conf->links[i];
		overhead = c->pop.family == AF_INET6 ? WIRE_LINK_OVERHEAD6
						     : WIRE_LINK_OVERHEAD4;
		m = c->device[0] != '\0' ? if_get_mtu(c->device) : -1;
		if (m <= 0)
			m = 1500;
		if (mtu == 0 || m - overhead < mtu)
			mtu = m - overhead;
	}
	return mtu < WIRE_MIN_INNER_MTU ? WIRE_MIN_INNER_MTU : mtu;
}

int
dataplane_link_open(struct socketd *sd, const struct config_link *c,
    struct udpio **io, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct udpio_conf       uc = link_io;
	socklen_t               sslen;
	int                     fd;

	if ((fd = link_socket(c, SOCK_DGRAM, err, errlen)) == -1)
		return -1;
	/* Unreachable now (a link without its route yet) is no error: the
	 * link's probes will tell. */
	if ((sslen = dataplane_pop_sockaddr(sd, c, 0, &ss)) != 0 &&
	    connect(fd, (struct sockaddr *)&ss, sslen) == -1 &&
	    errno != ENETUNREACH) {
		snprintf(err, errlen, "link %s: connect to the PoP: %s",
		    c->name, strerror(errno));
		close(fd);
		return -1;
	}
	/* Larger buffers where the kernel lets us; the defaults where not. */
	(void)udpio_bufsize(fd, LINK_SOCKBUF, NULL, NULL);
	uc.flags = sd->conf->offload ? 0 : UDPIO_NO_OFFLOAD;
	if ((*io = udpio_new(fd, &uc)) == NULL) {
		snprintf(err, errlen, "link %s: batched I/O: %s", c->name,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void
dataplane_link_close(int fd, struct udpio *io)
{
	udpio_free(io);
	if (fd >= 0)
		close(fd);
}

void
dataplane_links_set(struct socketd *sd, const struct config *n,
    struct links_plan *p, struct links_tally *t)
{
	struct slink              nl[CONFIG_MAX_LINKS];
	struct link_health_params hp = {.interval_ms = n->probe_interval_ms,
	    .down_after = n->probe_down_after,
	    .up_after = n->probe_up_after};
	size_t                    i, j;

	memset(t, 0, sizeof(*t));
	/* Every reader's argument is the link's place in sd->links: the
	 * places move, so every event is made anew. */
	for (i = 0; i < sd->nlinks; i++) {
		if (sd->links[i].ev != NULL)
			event_free(sd->links[i].ev);
		sd->links[i].ev = NULL;
		if (p->map[i] == -1)
			dataplane_link_close(sd->links[i].fd, sd->links[i].uio);
	}
	memset(nl, 0, sizeof(nl));
	for (j = 0; j < n->nlinks; j++) {
		struct slink *l = &nl[j];

		if (p->from[j] != -1) {
			*l = sd->links[p->from[j]];
			link_health_set_params(&l->health, &hp);
			if (l->conf->up_mbps != n->links[j].up_mbps ||
			    l->conf->down_mbps != n->links[j].down_mbps ||
			    l->conf->weight != n->links[j].weight)
				t->changed++;
			if (p->newfd[j] != -1) {
				/* What the old socket queued is sent: a
				 * flush ends every batch. */
				link_tx_keep(l);
				dataplane_link_close(l->fd, l->uio);
				l->fd = p->newfd[j];
				l->uio = p->newio[j];
				t->reopened++;
			}
		} else {
			l->id = p->id[j];
			l->fd = p->newfd[j];
			l->uio = p->newio[j];
			link_health_init(&l->health, &hp, p->now);
			/* A removed link's id, taken again: its replay
			 * window starts over (its counters do not). */
			if (sd->tun != NULL)
				tunnel_link_reset(sd->tun, l->id);
			t->added++;
		}
		p->newfd[j] = -1;
		p->newio[j] = NULL;
		l->sd = sd;
		l->conf = &n->links[j];
		l->ifindex =
		    l->conf->device[0] != '\0' ? if_index(l->conf->device) : 0;
	}
	memcpy(sd->links, nl, sizeof(nl));
	sd->nlinks = n->nlinks;
	for (j = 0; j < sd->nlinks; j++) {
		struct slink *l = &sd->links[j];

		l->ev = event_new(
		    sd->base, l->fd, EV_READ | EV_PERSIST, link_read, l);
		if (l->ev == NULL || event_add(l->ev, NULL) == -1)
			log_warnx(
			    "link %s: cannot watch its socket", l->conf->name);
	}
}

int
dataplane_links_start(struct socketd *sd)
{
	struct balance_spec spec;
	struct links_plan   p;
	struct links_tally  t;
	char                err[256];
	size_t              j;

	if (balance_spec_from_config(&spec, sd->conf, SIDE_UP) == -1 ||
	    (sd->engine = engine_new(&spec)) == NULL) {
		balance_spec_clear(&spec);
		log_warnx("out of memory for %u flows", sd->conf->flows_max);
		return -1;
	}
	balance_spec_clear(&spec);
	/* Every link new, with its place as its wire id. */
	memset(&p, 0, sizeof(p));
	p.now = now_ms();
	for (j = 0; j < CONFIG_MAX_LINKS; j++)
		p.newfd[j] = -1;
	for (j = 0; j < sd->conf->nlinks; j++) {
		p.from[j] = -1;
		p.id[j] = (uint8_t)j;
		if ((p.newfd[j] = dataplane_link_open(sd, &sd->conf->links[j],
			 &p.newio[j], err, sizeof(err))) == -1) {
			log_warnx("%s", err);
			while (j-- > 0)
				dataplane_link_close(p.newfd[j], p.newio[j]);
			return -1;
		}
	}
	sd->nlinks = 0;
	dataplane_links_set(sd, sd->conf, &p, &t);
	return 0;
}

int
dataplane_tun_attach(struct socketd *sd, int fd, int vnet)
{
	snprintf(sd->tundev.name, sizeof(sd->tundev.name), "fake%d", fd);
	return tundev_attach(&sd->tundev, sd->base, fd,
	    dataplane_tun_mtu(sd->conf), vnet, tun_read, sd);
}

int
dataplane_start(struct socketd *sd)
{
	if (dataplane_links_start(sd) == -1)
		return -1;
	if (tundev_up(&sd->tundev, sd->base, sd->conf->tun.name,
		dataplane_tun_mtu(sd->conf), sd->conf->offload, tun_read,
		sd) == -1)
		return -1;
	log_info("%s up, MTU %d, %zu links", sd->tundev.name, sd->tundev.mtu,
	    sd->nlinks);
	return 0;
}

void
dataplane_stop(struct socketd *sd)
{
	size_t i;

	for (i = 0; i < sd->nlinks; i++) {
		if (sd->links[i].ev != NULL)
			event_free(sd->links[i].ev);
		dataplane_link_close(sd->links[i].fd, sd->links[i].uio);
		sd->links[i].uio = NULL;
	}
	tundev_close(&sd->tundev);
	engine_free(sd->engine);
	tunnel_free(sd->tun);
	sd->tun = NULL;
	sd->keyed = 0;
}
