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
	return link_socket_port(l, type, 0, 0, err, errlen);
}

int
link_socket_port(const struct config_link *l, int type, int reuse,
    uint16_t port, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct wp_addr          any;
	socklen_t               sslen;
	int                     fd, family = AF_INET, one = 1;

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
	/*
	 * A group of sockets binds to one port: the first one's, which it
	 * binds without SO_REUSEPORT, so that the kernel picks a port no
	 * socket holds (with it, a port of another group of ours could do,
	 * and the two groups would be one).  The others join it there.
	 */
	if (reuse && port != 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1) {
		snprintf(err, errlen, "link %s: SO_REUSEPORT: %s", l->name,
		    strerror(errno));
		goto fail;
	}
	if (l->source.family != 0 || reuse) {
		memset(&any, 0, sizeof(any));
		any.family = (uint8_t)family;
		sslen = addr_to_sockaddr(
		    l->source.family != 0 ? &l->source : &any, port, &ss);
		if (bind(fd, (struct sockaddr *)&ss, sslen) == -1) {
			if (l->source.family != 0)
				snprintf(err, errlen,
				    "link %s: bind to source: %s", l->name,
				    strerror(errno));
			else
				snprintf(err, errlen,
				    "link %s: bind to port %u: %s", l->name,
				    port, strerror(errno));
			goto fail;
		}
	}
	if (reuse && port == 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1) {
		snprintf(err, errlen, "link %s: SO_REUSEPORT: %s", l->name,
		    strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/*
 * Seals a packet for l straight into worker w's socket's queue, sent at
 * the end of the batch (udpio_send()).  The counter, which is the nonce,
 * is the keyring's to choose (keyring.h): a link that got a removed
 * link's id, or a channel that reconnected, goes on from where that id's
 * counter is under the key in use; each worker seals under keys of its
 * own (tunnel.h), so two workers never share a counter.
 */
static void
link_queue(struct sworker *w, struct slink *l, uint8_t type, const uint8_t *pkt,
    size_t len)
{
	int n;

	n = tunnel_seal_udp(w->tun, w->q, &w->drops, l->s.uio[w->t.id], type,
	    l->id, pkt, len, (const struct sockaddr *)&l->pop, l->poplen);
	l->wc[w->t.id].tx_errors += n < 0 && n != TUNNEL_ERR_EXHAUSTED;
}

/*
 * A packet of a duplicating profile's flow on link l (sd->links[idx]):
 * the same numbered copy on l and on the best other link that is up
 * (common/dup.h), each sealed by link_queue() on its own link under
 * that link's counter.  It goes once, as WIRE_DATA, over the profile's
 * cap, with no other link up, or when a copy would not fit the TUN's
 * MTU with its header (the underlay would have to fragment it).
 */
static void
link_dup(struct sworker *w, struct slink *l, unsigned idx,
    const struct dup_profile *dp, const uint8_t *pkt, size_t len)
{
	struct socketd    *sd = w->sd;
	uint64_t           rank[CONFIG_MAX_LINKS];
	struct dupwire_hdr h;
	size_t             j;
	int                other;

	for (j = 0; j < sd->nlinks; j++)
		rank[j] =
		    atomic_load_explicit(&sd->links[j].up, memory_order_relaxed)
		    ? atomic_load_explicit(
			  &sd->links[j].dup_rank, memory_order_relaxed)
		    : DUP_RANK_DOWN;
	if (len + DUPWIRE_HDR_LEN > (size_t)sd->tundev.mtu ||
	    (other = dup_pick(rank, (unsigned)sd->nlinks, idx)) == -1) {
		w->dupc.single++;
		link_queue(w, l, WIRE_DATA, pkt, len);
		return;
	}
	if (!dup_tx_admit(
		&w->dtx, (unsigned)dp->slot, dp->pps, w->batch_ms, &w->dupc)) {
		link_queue(w, l, WIRE_DATA, pkt, len);
		return;
	}
	h.stream = w->t.id;
	h.seq = dup_tx_next(&w->dtx);
	(void)dupwire_encode(&h, w->dupbuf, sizeof(w->dupbuf));
	memcpy(w->dupbuf + DUPWIRE_HDR_LEN, pkt, len);
	link_queue(w, l, WIRE_DUP, w->dupbuf, len + DUPWIRE_HDR_LEN);
	link_queue(
	    w, &sd->links[other], WIRE_DUP, w->dupbuf, len + DUPWIRE_HDR_LEN);
	w->dupc.sent++;
}

void
dataplane_send(struct socketd *sd, struct slink *l, uint8_t type,
    const uint8_t *pkt, size_t len)
{
	struct sworker *w = &sd->w[0];

	pthread_mutex_lock(&w->t.mu);
	if (w->tun != NULL) {
		link_queue(w, l, type, pkt, len);
		(void)udpio_send(l->s.uio[0]);
	}
	pthread_mutex_unlock(&w->t.mu);
}

/* What l's sockets sent, added to c. */
static void
socks_tx(const struct lsocks *s, unsigned n, struct slink_counters *c)
{
	const struct udpio_stats *st;
	unsigned                  i;

	for (i = 0; i < n; i++) {
		if (s->uio[i] == NULL)
			continue;
		st = udpio_stats(s->uio[i]);
		c->tx_packets += st->tx_dgrams;
		c->tx_bytes += st->tx_bytes;
		c->tx_errors += udpio_tx_failed(st);
	}
}

void
dataplane_link_counters(
    struct socketd *sd, const struct slink *l, struct slink_counters *c)
{
	unsigned i;

	memset(c, 0, sizeof(*c));
	c->tx_packets = l->tx_packets;
	c->tx_bytes = l->tx_bytes;
	c->tx_errors = l->tx_errors;
	for (i = 0; i < sd->nworkers; i++) {
		const struct slink_wc *wc = &l->wc[i];

		dpw_lock(&sd->w[i].t);
		c->new_flows += wc->new_flows;
		c->rx_packets += wc->rx_packets;
		c->rx_bytes += wc->rx_bytes;
		c->tx_errors += wc->tx_errors;
		if (l->s.uio[i] != NULL) {
			const struct udpio_stats *st = udpio_stats(l->s.uio[i]);

			c->tx_packets += st->tx_dgrams;
			c->tx_bytes += st->tx_bytes;
			c->tx_errors += udpio_tx_failed(st);
		}
		dpw_unlock(&sd->w[i].t);
	}
}

/* What a link's sockets sent, kept in its counters when they go (a
 * reload reopens them); under every worker's lock. */
static void
link_tx_keep(struct socketd *sd, struct slink *l)
{
	struct slink_counters c;

	memset(&c, 0, sizeof(c));
	socks_tx(&l->s, sd->nworkers, &c);
	l->tx_packets += c.tx_packets;
	l->tx_bytes += c.tx_bytes;
	l->tx_errors += c.tx_errors;
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

/*
 * A batch of packets from the LAN (one read's segments, or several
 * reads): each to a link by its flow, all classified under one hold of
 * the engine's lock, then sealed into that link's queue of this worker.
 */
static void
tun_batch(void *arg, uint8_t *const *pkts, const size_t *lens, unsigned n)
{
	struct sworker *w = arg;
	struct socketd *sd = w->sd;
	unsigned        i, k = 0;

	if (!sd->keyed) {
		w->drops.no_session += n;
		return;
	}
	for (i = 0; i < n; i++) {
		if (link_scoped(pkts[i], lens[i])) {
			w->drop_link_scoped++;
			continue;
		}
		(void)mss_clamp(pkts[i], lens[i],
		    (pkts[i][0] >> 4) == 6 ? sd->tundev.mss6 : sd->tundev.mss4);
		w->bpkt[k] = pkts[i];
		w->blen[k++] = lens[i];
	}
	if (k == 0)
		return;
	pthread_mutex_lock(&sd->engine_mu);
	engine_packets(
	    sd->engine, w->bpkt, w->blen, k, 0, w->batch_ms, w->brc, w->bres);
	pthread_mutex_unlock(&sd->engine_mu);
	for (i = 0; i < k; i++) {
		struct slink *l;

		if (w->brc[i] != 0) {
			w->drop_parse++;
			continue;
		}
		if (w->bres[i].link >= sd->nlinks) {
			w->drop_parse++;
			continue;
		}
		l = &sd->links[w->bres[i].link];
		if (w->bres[i].is_new)
			l->wc[w->t.id].new_flows++;
		/* Every link down: the flow keeps its link and its packets
		 * are dropped until one comes back. */
		if (!atomic_load_explicit(&l->up, memory_order_relaxed)) {
			w->drop_link_down++;
			continue;
		}
		if (w->bres[i].profile < DUP_PROFILE_TABLE &&
		    sd->dup_prof[w->bres[i].profile].slot >= 0)
			link_dup(w, l, w->bres[i].link,
			    &sd->dup_prof[w->bres[i].profile], w->bpkt[i],
			    w->blen[i]);
		else
			link_queue(w, l, WIRE_DATA, w->bpkt[i], w->blen[i]);
	}
}

void
dataplane_tun_work(struct sworker *w)
{
	struct socketd *sd = w->sd;
	size_t          i;

	w->batch_ms = now_ms();
	(void)tundev_read_batch(w->td, TUN_READS, tun_batch, w);
	for (i = 0; i < sd->nlinks; i++)
		(void)udpio_send(sd->links[i].s.uio[w->t.id]);
}

static void
tun_read(evutil_socket_t fd, short what, void *arg)
{
	struct socketd *sd = arg;
	struct sworker *w = &sd->w[0];

	(void)fd;
	(void)what;
	pthread_mutex_lock(&w->t.mu);
	dataplane_tun_work(w);
	pthread_mutex_unlock(&w->t.mu);
	dataev_kick(&sd->dataev);
}

/* 1 if from is the PoP's address and port on l. */
static int
from_pop(const struct slink *l, const struct sockaddr *from, socklen_t len)
{
	if (from == NULL || l->poplen == 0 ||
	    from->sa_family != l->pop.ss_family)
		return 0;
	if (from->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)from,
					 *b = (const void *)&l->pop;

		return len >= sizeof(*a) && a->sin_port == b->sin_port &&
		    a->sin_addr.s_addr == b->sin_addr.s_addr;
	}
	if (from->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)from,
					  *b = (const void *)&l->pop;

		return len >= sizeof(*a) && a->sin6_port == b->sin6_port &&
		    memcmp(&a->sin6_addr, &b->sin6_addr, 16) == 0;
	}
	return 0;
}

/* One datagram from the PoP on l: opened straight into the TUN
 * device's queue, or a probe answer for the main loop. */
static void
link_dgram(struct sworker *w, struct slink *l, const struct udpio_dgram *d)
{
	struct socketd *sd = w->sd;
	struct wire_hdr hdr;
	uint8_t        *inner;
	size_t          cap;
	int             len;

	if (!from_pop(l, d->from, d->fromlen)) {
		w->drop_foreign++;
		return;
	}
	if (wire_hdr_decode(d->data, d->len, &hdr) != WIRE_OK ||
	    hdr.link_id != l->id) {
		w->drops.bad_header++;
		return;
	}
	if (!sd->keyed || hdr.session != sd->session) {
		w->drops.no_session++;
		return;
	}
	inner = tundev_slot(w->td, &cap);
	if ((len = tunnel_open_count(w->tun, w->q, &w->drops, &hdr, d->data,
		 d->len, inner, cap)) < 0)
		return;
	l->wc[w->t.id].rx_packets++;
	l->wc[w->t.id].rx_bytes += (uint64_t)d->len;
	if (hdr.type == WIRE_PROBE_REPLY) {
		struct probe     pr;
		struct tunnel_ev ev = {.kind = TUNNEL_EV_PROBE};

		if (probe_decode(inner, (size_t)len, &pr) == -1) {
			w->drop_parse++;
			return;
		}
		/* The health machine and what a link coming up moves run
		 * after the batch, on the main loop. */
		ev.link = l->id;
		ev.session = sd->session;
		ev.seq = pr.seq;
		ev.at_us = now_us();
		(void)tunnel_evq_push(w->q, &ev);
		return;
	}
	if (hdr.type == WIRE_DUP) {
		struct dupwire_hdr dh;

		/* A stream is its sender worker's (dupwire.h): the windows
		 * of a PoP worker are this worker's only (steer()). */
		if (dupwire_decode(inner, (size_t)len, &dh) == -1 ||
		    dh.stream != hdr.worker || w->drx == NULL) {
			w->dupc.bad++;
			return;
		}
		if (dup_rx_check(w->drx, dh.stream, dh.seq, &w->dupc) !=
		    DUP_FIRST)
			return;
		len -= DUPWIRE_HDR_LEN;
		memmove(inner, inner + DUPWIRE_HDR_LEN, (size_t)len);
	} else if (hdr.type != WIRE_DATA || len == 0)
		return;
	(void)mss_clamp(inner, (size_t)len,
	    (inner[0] >> 4) == 6 ? sd->tundev.mss6 : sd->tundev.mss4);
	tundev_commit(w->td, (size_t)len);
}

void
dataplane_link_work(struct sworker *w, struct slink *l)
{
	struct udpio      *io = l->s.uio[w->t.id];
	struct udpio_dgram d;
	int                i;

	/* An ICMP error on a connected socket (ECONNREFUSED) ends the
	 * batch; the probes tell what it means. */
	for (i = 0; i < UDP_RECVS && udpio_recv(io) > 0; i++)
		while (udpio_next(io, &d))
			link_dgram(w, l, &d);
	tundev_flush(w->td);
}

static void
link_read(evutil_socket_t fd, short what, void *arg)
{
	struct slink   *l = arg;
	struct socketd *sd = l->sd;
	struct sworker *w = &sd->w[0];

	(void)fd;
	(void)what;
	pthread_mutex_lock(&w->t.mu);
	dataplane_link_work(w, l);
	pthread_mutex_unlock(&w->t.mu);
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

/* l's PoP address (l->pop) anew; with one worker its socket connects
 * to it (an unconnected socket would take datagrams from anyone, and a
 * connected one hears ICMP errors); a group of workers' sockets stays
 * unconnected for the kernel's steering, and from_pop() filters. */
static void
link_pop_set(struct socketd *sd, struct slink *l)
{
	l->poplen = dataplane_pop_sockaddr(sd, l->conf, 0, &l->pop);
	if (l->poplen != 0 && sd->nworkers == 1 && l->s.fd[0] >= 0 &&
	    connect(l->s.fd[0], (struct sockaddr *)&l->pop, l->poplen) == -1)
		log_debug("link %s: connect to the PoP: %s", l->conf->name,
		    strerror(errno));
}

/*
 * The PoP's data port as WELCOME gives it, and (again) every link's
 * PoP address: a link that was down at start could not connect then.
 * WELCOME's port is that of the listen entry the control channel
 * reached, so it holds for the links to that address only.
 */
void
dataplane_set_port(struct socketd *sd, const struct wp_addr *via, uint16_t port)
{
	size_t i;

	dataplane_world_lock(sd);
	sd->welcome_addr = *via;
	sd->welcome_port = port;
	for (i = 0; i < sd->nlinks; i++)
		link_pop_set(sd, &sd->links[i]);
	dataplane_world_unlock(sd);
}

/* Every worker's keys go (under the world lock). */
static void
keys_drop(struct socketd *sd)
{
	unsigned i;

	for (i = 0; i < sd->nworkers; i++) {
		tunnel_free(sd->w[i].tun);
		sd->w[i].tun = NULL;
	}
	sd->keyed = 0;
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
	dataplane_world_lock(sd);
	keys_drop(sd);
	dataplane_world_unlock(sd);
	sd->detached_ms = 0;
	sd->sessions_expired++;
}

int
dataplane_new_session(struct socketd *sd, uint32_t session,
    unsigned pop_workers, tunnel_derive_fn derive)
{
	struct tunnel *t[PROTO_MAX_WORKERS];
	unsigned       i;

	/* The old keys go with their counters; the new ones start at 0,
	 * and so do the replay windows, with the PoP's counters.  The keys
	 * are derived for sd->session (control_derive()), outside the
	 * world lock: the workers drop what comes meanwhile. */
	dataplane_world_lock(sd);
	keys_drop(sd);
	sd->session = session;
	dataplane_world_unlock(sd);
	for (i = 0; i < sd->nworkers; i++)
		if ((t[i] = tunnel_new_steered(session, 1, i, sd->nworkers,
			 pop_workers, TUNNEL_ALL_LINKS, derive, sd,
			 KEYRING_LIMIT, KEYRING_HARD_LIMIT)) == NULL) {
			tunnel_free(t[i]);
			while (i-- > 0)
				tunnel_free(t[i]);
			log_warnx("cannot set up the data-plane keys of "
				  "session %u",
			    session);
			return -1;
		}
	dataplane_world_lock(sd);
	for (i = 0; i < sd->nworkers; i++) {
		sd->w[i].tun = t[i];
		/* The PoP's numbers start over with its session, and ours. */
		if (sd->w[i].drx != NULL)
			dup_rx_reset(sd->w[i].drx);
		dup_tx_init(&sd->w[i].dtx);
	}
	sd->keyed = 1;
	dataplane_world_unlock(sd);
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

void
dataplane_lsocks_init(struct lsocks *s)
{
	unsigned i;

	for (i = 0; i < PROTO_MAX_WORKERS; i++) {
		s->fd[i] = -1;
		s->uio[i] = NULL;
	}
}

int
dataplane_link_open(struct socketd *sd, const struct config_link *c,
    struct lsocks *s, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct udpio_conf       uc = link_io;
	socklen_t               sslen;
	unsigned                i, n = sd->nworkers;
	uint16_t                port = 0;

	dataplane_lsocks_init(s);
	uc.flags = sd->conf->offload ? 0 : UDPIO_NO_OFFLOAD;
	for (i = 0; i < n; i++) {
		if ((s->fd[i] = link_socket_port(
			 c, SOCK_DGRAM, n > 1, port, err, errlen)) == -1)
			goto fail;
		sslen = sizeof(ss);
		if (i == 0 && n > 1) {
			if (getsockname(s->fd[0], (struct sockaddr *)&ss,
				&sslen) == -1) {
				snprintf(err, errlen,
				    "link %s: getsockname: %s", c->name,
				    strerror(errno));
				goto fail;
			}
			port = ss.ss_family == AF_INET6
			    ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
			    : ntohs(((struct sockaddr_in *)&ss)->sin_port);
		}
		/* Larger buffers where the kernel lets us; the defaults
		 * where not. */
		(void)udpio_bufsize(s->fd[i], LINK_SOCKBUF, NULL, NULL);
		if ((s->uio[i] = udpio_new(s->fd[i], &uc)) == NULL) {
			snprintf(err, errlen, "link %s: batched I/O: %s",
			    c->name, strerror(errno));
			goto fail;
		}
	}
	if (n > 1 && udpio_steer_workers(s->fd[0], n) == -1) {
		snprintf(err, errlen,
		    "link %s: steering its sockets by worker: %s", c->name,
		    strerror(errno));
		goto fail;
	}
	/* Unreachable now (a link without its route yet) is no error: the
	 * link's probes will tell. */
	if (n == 1 && (sslen = dataplane_pop_sockaddr(sd, c, 0, &ss)) != 0 &&
	    connect(s->fd[0], (struct sockaddr *)&ss, sslen) == -1 &&
	    errno != ENETUNREACH) {
		snprintf(err, errlen, "link %s: connect to the PoP: %s",
		    c->name, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	dataplane_link_close(s);
	return -1;
}

void
dataplane_link_close(struct lsocks *s)
{
	unsigned i;

	for (i = 0; i < PROTO_MAX_WORKERS; i++) {
		udpio_free(s->uio[i]);
		if (s->fd[i] >= 0)
			close(s->fd[i]);
	}
	dataplane_lsocks_init(s);
}

void
dataplane_links_set(struct socketd *sd, const struct config *n,
    struct links_plan *p, struct links_tally *t)
{
	struct slink             *nl;
	struct link_health_params hp = {.interval_ms = n->probe_interval_ms,
	    .down_after = n->probe_down_after,
	    .up_after = n->probe_up_after};
	size_t                    i, j;
	unsigned                  k;

	memset(t, 0, sizeof(*t));
	if ((nl = calloc(CONFIG_MAX_LINKS, sizeof(*nl))) == NULL) {
		/* 32 links of a few KB: refused by reload_begin's own
		 * allocations first in practice. */
		log_warn("links");
		return;
	}
	/* Every reader's argument is the link's place in sd->links: the
	 * places move, so every event is made anew. */
	for (i = 0; i < sd->nlinks; i++) {
		if (sd->links[i].ev != NULL)
			event_free(sd->links[i].ev);
		sd->links[i].ev = NULL;
		if (p->map[i] == -1)
			dataplane_link_close(&sd->links[i].s);
	}
	for (j = 0; j < n->nlinks; j++) {
		struct slink *l = &nl[j];

		if (p->from[j] != -1) {
			memcpy(l, &sd->links[p->from[j]], sizeof(*l));
			link_health_set_params(&l->health, &hp);
			if (l->conf->up_mbps != n->links[j].up_mbps ||
			    l->conf->down_mbps != n->links[j].down_mbps ||
			    l->conf->weight != n->links[j].weight)
				t->changed++;
			if (p->news[j].fd[0] != -1) {
				/* What the old sockets queued is sent: a
				 * flush ends every batch. */
				link_tx_keep(sd, l);
				dataplane_link_close(&l->s);
				l->s = p->news[j];
				t->reopened++;
			}
		} else {
			l->id = p->id[j];
			l->s = p->news[j];
			link_health_init(&l->health, &hp, p->now);
			/* A removed link's id, taken again: its replay
			 * windows start over (its counters do not). */
			for (k = 0; k < sd->nworkers; k++)
				if (sd->w[k].tun != NULL)
					tunnel_link_reset(sd->w[k].tun, l->id);
			t->added++;
		}
		dataplane_lsocks_init(&p->news[j]);
		l->sd = sd;
		l->conf = &n->links[j];
		l->ifindex =
		    l->conf->device[0] != '\0' ? if_index(l->conf->device) : 0;
	}
	memcpy(sd->links, nl, sizeof(*nl) * CONFIG_MAX_LINKS);
	free(nl);
	sd->nlinks = n->nlinks;
	dup_profiles_from_config(sd->dup_prof, n, sd->nworkers);
	for (j = 0; j < sd->nlinks; j++) {
		struct slink *l = &sd->links[j];

		atomic_store(&l->up, link_state(&l->health) == LINK_UP);
		link_pop_set(sd, l);
		l->ev = event_new(
		    sd->base, l->s.fd[0], EV_READ | EV_PERSIST, link_read, l);
		if (l->ev == NULL || event_add(l->ev, NULL) == -1)
			log_warnx(
			    "link %s: cannot watch its socket", l->conf->name);
	}
	sd->links_gen++;
}

int
dataplane_links_start(struct socketd *sd)
{
	struct balance_spec spec;
	struct links_plan  *p;
	struct links_tally  t;
	char                err[256];
	size_t              j;

	if (sd->w == NULL && workers_init(sd) == -1)
		return -1;
	if (balance_spec_from_config(&spec, sd->conf, SIDE_UP) == -1 ||
	    (sd->engine = engine_new(&spec)) == NULL) {
		balance_spec_clear(&spec);
		log_warnx("out of memory for %u flows", sd->conf->flows_max);
		return -1;
	}
	balance_spec_clear(&spec);
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		log_warn("links");
		return -1;
	}
	/* Every link new, with its place as its wire id. */
	p->now = now_ms();
	for (j = 0; j < CONFIG_MAX_LINKS; j++)
		dataplane_lsocks_init(&p->news[j]);
	for (j = 0; j < sd->conf->nlinks; j++) {
		p->from[j] = -1;
		p->id[j] = (uint8_t)j;
		if (dataplane_link_open(sd, &sd->conf->links[j], &p->news[j],
			err, sizeof(err)) == -1) {
			log_warnx("%s", err);
			while (j-- > 0)
				dataplane_link_close(&p->news[j]);
			free(p);
			return -1;
		}
	}
	sd->nlinks = 0;
	dataplane_world_lock(sd);
	dataplane_links_set(sd, sd->conf, p, &t);
	dataplane_world_unlock(sd);
	workers_wake(sd);
	free(p);
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
		dataplane_tun_mtu(sd->conf), sd->conf->offload,
		sd->nworkers > 1, tun_read, sd) == -1)
		return -1;
	/* The workers' replies all leave by the queue of the worker that
	 * opens them; without a program of ours the kernel would send the
	 * flows' next packets to that queue too. */
	if (sd->nworkers > 1 && tun_steer_flows(sd->tundev.fd) == -1)
		log_warn("tun %s: no flow steering program: flows go to the "
			 "queue their replies were written to",
		    sd->tundev.name);
	if (workers_open(sd) == -1)
		return -1;
	log_info("%s up, MTU %d, %zu links, %u worker%s", sd->tundev.name,
	    sd->tundev.mtu, sd->nlinks, sd->nworkers,
	    sd->nworkers == 1 ? "" : "s");
	return 0;
}

void
dataplane_stop(struct socketd *sd)
{
	size_t i;

	/* The threads end first: nothing below is theirs any more. */
	workers_stop(sd);
	for (i = 0; i < sd->nlinks; i++) {
		if (sd->links[i].ev != NULL)
			event_free(sd->links[i].ev);
		sd->links[i].ev = NULL;
		dataplane_link_close(&sd->links[i].s);
	}
	tundev_close(&sd->tundev);
	engine_free(sd->engine);
	sd->engine = NULL;
	if (sd->w != NULL)
		keys_drop(sd);
	workers_free(sd);
}
