/*
 * popd's data plane, run by each worker (struct pworker, workers.c) on
 * its own TUN queue and data sockets.  Up: a datagram on the data port
 * names its session and link in its header; it is checked against that
 * link's replay window, opened with the worker's tunnel of the session,
 * teaches us the link's current endpoint (NAT rebinding, roaming: only
 * authenticated packets do), and its inner packet goes to the TUN if its
 * source lies in the site's LAN.  Down: a packet from the TUN finds its
 * site by destination (longest prefix over all sites' LANs), gets a link
 * from the site's engine by downstream weight, and is sealed and sent to
 * that link's endpoint.  What the workers share (the engines, what a
 * session knows of its links) is touched under pd->engine_mu once per
 * batch: the cipher work and the system calls are each worker's alone.
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

#include "clusterwire.h"
#include "link.h"
#include "linkdown.h"
#include "log.h"
#include "mss.h"
#include "popd.h"
#include "probe.h"
#include "proto.h"
#include "tun.h"
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
 * Returns 1 if the session was freed.  Under pd->engine_mu, which it
 * lets go of to take the world lock first for the end.
 */
static int
session_expire(struct popd *pd, struct site *site, uint64_t now)
{
	struct session *s = site->session;

	/* A backup is vouched for by its holder while that is in. */
	if (s->conn != NULL || csync_vouched(s)) {
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
	/* The workers' tunnels go with it: no batch may hold it. */
	pthread_mutex_unlock(&pd->engine_mu);
	popd_world_lock(pd);
	pthread_mutex_lock(&pd->engine_mu);
	session_end(pd, site);
	popd_world_unlock(pd);
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
	/* The engine's lock a site at a time: a site's expiring flows (up
	 * to a few thousand) hold the workers, not a chunk's. */
	for (i = pd->health_next; i < end; i++) {
		struct session *s = pd->sites[i].session;

		if (s == NULL)
			continue;
		pthread_mutex_lock(&pd->engine_mu);
		if (session_expire(pd, &pd->sites[i], now)) {
			pthread_mutex_unlock(&pd->engine_mu);
			continue;
		}
		engine_tick(s->engine, now); /* flows expire with no packet */
		/* In a cluster a member's silence says nothing: a link's
		 * datagrams land on one member, and on another after the
		 * provider rehashes.  The Socket's word decides there
		 * (doc/CLUSTER.md, "Link health across members"). */
		if (pd->csync != NULL) {
			pthread_mutex_unlock(&pd->engine_mu);
			continue;
		}
		/* A worker may have heard the link after `now` was read
		 * (its batch's clock, applied while this walk waited for
		 * the lock): later than now is no silence, not 2^64 ms. */
		for (l = 0; l < s->nlinks; l++) {
			if (s->link_down[l] || s->rx_last_ms[l] == 0 ||
			    s->rx_last_ms[l] + quiet > now)
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
		pthread_mutex_unlock(&pd->engine_mu);
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

/*
 * What a batch's datagrams taught their sessions, under the engine's
 * lock: the link is alive (and, probing while down, coming back), where
 * it is now, what it carried, the probe answers sent on it.
 */
static void
learn_apply(struct pworker *w)
{
	struct popd     *pd = w->pd;
	struct tunnel_ev ev = {.kind = TUNNEL_EV_LINK_BACK};
	size_t           i;

	if (w->nlearn == 0)
		return;
	pthread_mutex_lock(&pd->engine_mu);
	for (i = 0; i < w->nlearn; i++) {
		struct pw_learn *lr = &w->learn[i];
		struct session  *s = lr->s;
		unsigned         idx = lr->idx;

		s->rx_last_ms[idx] = w->batch_ms;
		if (lr->probe &&
		    session_probe_back(s, idx, pd->conf->probe_up_after)) {
			/* Up, and the flows that come back, on the main
			 * loop after this batch. */
			ev.link = s->links[idx].id;
			ev.session = s->id;
			(void)tunnel_evq_push(w->q, &ev);
		}
		s->rx_packets[idx]++;
		s->rx_bytes[idx] += lr->len;
		if (lr->probe) { /* its answer */
			s->tx_packets[idx]++;
			s->tx_bytes[idx] += PROBE_LEN + WIRE_OVERHEAD;
		}
		if (lr->spoofed)
			s->site->drop_spoofed++;
		/* The socket too: a link that moved to the PoP's other
		 * address (or family) is answered from there. */
		if (s->endpoint_len[idx] != lr->fromlen ||
		    s->endpoint_lsn[idx] != lr->lsn ||
		    memcmp(&s->endpoint[idx], &lr->from, lr->fromlen) != 0) {
			memcpy(&s->endpoint[idx], &lr->from, lr->fromlen);
			s->endpoint_len[idx] = lr->fromlen;
			s->endpoint_lsn[idx] = lr->lsn;
			s->endpoint_moves[idx]++;
			/* In a cluster the holder tells the members, which
			 * may owe the site return packets on a link that
			 * lands elsewhere (rare: a link's first datagram, a
			 * NAT's rebinding). */
			if (s->cs != NULL) {
				struct tunnel_ev ep = {
				    .kind = TUNNEL_EV_ENDPOINT};

				ep.link = s->links[idx].id;
				ep.session = s->id;
				(void)tunnel_evq_push(w->q, &ep);
			}
		}
	}
	pthread_mutex_unlock(&pd->engine_mu);
	w->nlearn = 0;
}

/* One datagram from a site on data socket group `lsn`: opened straight
 * into the worker's TUN queue if its source lies in the site's LAN, or a
 * probe answered; what it teaches its session waits for learn_apply(). */
static void
udp_dgram(struct pworker *w, uint8_t lsn, const struct udpio_dgram *d,
    const struct fwd_ctx *ctx)
{
	struct popd     *pd = w->pd;
	struct wire_hdr  hdr;
	struct session  *s;
	struct pw_learn *lr;
	uint8_t          src[16], *inner;
	size_t           cap;
	unsigned         idx;
	int              len, family;

	/* A site's TUN MTU follows its links' MTU: allow jumbo frames,
	 * refuse anything larger before any cipher work. */
	if (d->len > (size_t)(pd->tundev.mtu > JUMBO_MTU ? pd->tundev.mtu
							 : JUMBO_MTU) +
		    WIRE_OVERHEAD ||
	    wire_hdr_decode(d->data, d->len, &hdr) != WIRE_OK ||
	    hdr.link_id >= CONFIG_MAX_LINKS) {
		w->drops.bad_header++;
		return;
	}
	if ((s = session_by_id(pd, hdr.session)) == NULL ||
	    (idx = s->index_of[hdr.link_id]) == LINK_NONE) {
		w->drops.no_session++;
		return;
	}
	inner = tundev_slot(w->td, &cap);
	/* A FIRST is a datagram this node opened and forwarded to the
	 * flow's director: its window has it already. */
	if (ctx != NULL && ctx->type == CW_FIRST) {
		if ((len = tunnel_reopen(s->tun[w->t.id], &hdr, d->data, d->len,
			 inner, cap)) < 0) {
			w->drops.replay++;
			return;
		}
	} else if ((len = tunnel_open_count(s->tun[w->t.id], w->q, &w->drops,
			&hdr, d->data, d->len, inner, cap)) < 0)
		return;
	if (w->nlearn == PWORKER_BATCH)
		learn_apply(w);
	lr = &w->learn[w->nlearn++];
	lr->s = s;
	lr->idx = (uint8_t)idx;
	lr->lsn = lsn;
	lr->probe = hdr.type == WIRE_PROBE;
	lr->spoofed = 0;
	lr->len = (uint32_t)d->len;
	lr->fromlen = d->fromlen;
	memcpy(&lr->from, d->from, d->fromlen);
	if (hdr.type == WIRE_LINK_DOWN) {
		struct linkdown  ld;
		struct tunnel_ev ev = {.kind = TUNNEL_EV_LINK_DOWN};

		/* The Socket lost a link (it arrived on another): its
		 * return flows move on the main loop after this batch. */
		if (linkdown_decode(inner, (size_t)len, &ld) == -1) {
			w->drop_parse++;
			return;
		}
		ev.link = ld.link;
		ev.cause = ld.cause;
		ev.seq = ld.seq;
		ev.session = s->id;
		(void)tunnel_evq_push(w->q, &ev);
		/* It landed on this member only: every other one opens
		 * it too (a notice is rare: a few copies per link down). */
		if (pd->fwd != NULL && ctx == NULL)
			fwd_relay(w, s, d);
		return;
	}
	if (hdr.type == WIRE_PROBE) {
		struct probe pr;
		uint8_t      reply[PROBE_LEN];

		/* Echo only what decodes as a probe: the reply is
		 * re-encoded, never the peer's bytes sent back.  It goes
		 * where the probe came from, by this worker's socket of the
		 * group it came in on. */
		if (probe_decode(inner, (size_t)len, &pr) == -1) {
			lr->probe = 0;
			w->drop_parse++;
			return;
		}
		if (pd->fwd != NULL) {
			/* In a cluster: a probe another member relayed
			 * teaches the link's endpoint only (its member
			 * answered it).  One from a new endpoint that lands
			 * here is relayed, so that every member can send on
			 * that link (a racy read: at worst a few copies
			 * more, before learn_apply() records it). */
			if (ctx != NULL) {
				lr->probe = 0;
				return;
			}
			if (s->endpoint_len[idx] != d->fromlen ||
			    memcmp(&s->endpoint[idx], d->from, d->fromlen) != 0)
				fwd_relay(w, s, d);
		}
		/* A cluster member without a slot of the session's seals
		 * nothing: an answer the Socket cannot open would only
		 * look like a link that loses its replies. */
		if (!csync_can_seal(pd, s)) {
			lr->probe = 0;
			w->drop_no_grant++;
			return;
		}
		(void)probe_encode(&pr, reply, sizeof(reply));
		(void)tunnel_seal_udp(s->tun[w->t.id], w->q, &w->drops,
		    pd->lsn[lsn].uio[w->t.id], WIRE_PROBE_REPLY, hdr.link_id,
		    reply, sizeof(reply), d->from, d->fromlen);
		return;
	}
	if (hdr.type == WIRE_DUP) {
		struct dupwire_hdr dh;

		/* The first copy goes on as data, without its header; a
		 * stream is its sender worker's (dupwire.h), and this
		 * worker is the one that opens that worker's datagrams. */
		if (dupwire_decode(inner, (size_t)len, &dh) == -1 ||
		    dh.stream != hdr.worker) {
			w->dupc.bad++;
			return;
		}
		if (dup_rx_check(s->drx, dh.stream, dh.seq, &w->dupc) !=
		    DUP_FIRST)
			return;
		len -= DUPWIRE_HDR_LEN;
		memmove(inner, inner + DUPWIRE_HDR_LEN, (size_t)len);
	} else if (hdr.type != WIRE_DATA)
		return;
	/* A site may only send from its own LAN: anything else would let
	 * one site spoof another, or the Internet. */
	if ((family = inner_addr(inner, (size_t)len, 0, src)) == -1 ||
	    !site_holds(pd, s->site, family, src)) {
		lr->spoofed = 1;
		return;
	}
	/* In a cluster, a flow another member owns goes there. */
	if (pd->fwd != NULL && fwd_up(w, s, d, inner, (size_t)len, ctx))
		return;
	tundev_commit(w->td, (size_t)len);
}

void
dataplane_send_all(struct pworker *w)
{
	size_t i;

	/* At most CONFIG_LISTEN_MAX calls, an empty queue costing no
	 * system call. */
	for (i = 0; i < w->pd->nlsn; i++)
		(void)udpio_send(w->pd->lsn[i].uio[w->t.id]);
	/* And what it forwarded to other members. */
	if (w->pd->fwd != NULL)
		fwd_flush(w);
}

void
dataplane_udp_work(struct pworker *w, struct popd_listen *l)
{
	struct udpio_dgram d;
	int                i;

	w->batch_ms = now_ms();
	w->nlearn = 0;
	for (i = 0; i < UDP_RECVS && udpio_recv(l->uio[w->t.id]) > 0; i++)
		while (udpio_next(l->uio[w->t.id], &d))
			udp_dgram(w, (uint8_t)l->idx, &d, NULL);
	learn_apply(w);
	tundev_flush(w->td);
	/* Probe answers, from the socket each probe came in on, which
	 * need not be this one's for a link that moved. */
	dataplane_send_all(w);
}

void
dataplane_cluster_begin(struct pworker *w)
{
	w->batch_ms = now_ms();
	w->nlearn = 0;
}

void
dataplane_cluster_site(struct pworker *w, uint8_t lsn,
    const struct udpio_dgram *d, const struct fwd_ctx *ctx)
{
	udp_dgram(w, lsn, d, ctx);
}

void
dataplane_cluster_end(struct pworker *w)
{
	learn_apply(w);
	tundev_flush(w->td);
	dataplane_send_all(w);
}

/* Worker 0's data sockets, on the main loop. */
static void
udp_read(evutil_socket_t fd, short what, void *arg)
{
	struct popd_listen *l = arg;
	struct popd        *pd = l->pd;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&pd->w[0].t.mu);
	dataplane_udp_work(&pd->w[0], l);
	pthread_mutex_unlock(&pd->w[0].t.mu);
	dataev_kick(&pd->dataev);
}

/*
 * A return packet of a duplicating profile's flow (common/dup.h), under
 * the engine's lock: its second link, the best other link of the site
 * that is up and has an endpoint, by what the Socket last reported of
 * each (LINK_STATE), into o.  It goes once (o->dup_idx LINK_NONE) over
 * the profile's cap (shared evenly among the workers), with no other
 * link, or when the copy would not fit the TUN's MTU with its header.
 */
static void
dup_classify(struct pworker *w, struct session *s,
    const struct config_profile *p, size_t n, struct pw_send *o)
{
	struct popd *pd = w->pd;
	uint64_t     rank[CONFIG_MAX_LINKS];
	uint32_t     pps;
	size_t       j;
	int          other;

	for (j = 0; j < s->nlinks; j++)
		rank[j] = s->link_down[j] || s->endpoint_len[j] == 0
		    ? DUP_RANK_DOWN
		    : s->dup_rank[j];
	if (n + DUPWIRE_HDR_LEN > (size_t)pd->tundev.mtu ||
	    (other = dup_pick(rank, (unsigned)s->nlinks, o->idx)) == -1) {
		w->dupc.single++;
		return;
	}
	pps = p->duplicate_max_pps / pd->nworkers;
	if (!dup_tx_admit(&s->dtx[w->t.id], (unsigned)p->dup_slot,
		pps > 0 ? pps : 1, w->batch_ms, &w->dupc))
		return;
	s->tx_packets[other]++;
	s->tx_bytes[other] += n + DUPWIRE_HDR_LEN + WIRE_OVERHEAD;
	s->tx_bytes[o->idx] += DUPWIRE_HDR_LEN;
	o->dup_idx = (uint8_t)other;
	o->dup_lsn = s->endpoint_lsn[other];
	o->dup_tolen = s->endpoint_len[other];
	memcpy(&o->dup_to, &s->endpoint[other], o->dup_tolen);
}

/* Whether this node may seal the return packet pkt for its site: a
 * session, and a slot of it (csync_can_seal()); under the engine's
 * lock. */
static int
ready_for(struct popd *pd, const uint8_t *pkt, size_t n)
{
	struct site *site;
	uint8_t      dst[16];
	int          family;

	return (family = inner_addr(pkt, n, 1, dst)) != -1 &&
	    (site = site_for(pd, family, dst)) != NULL &&
	    site->session != NULL && csync_can_seal(pd, site->session);
}

/* One packet for a site's LAN, under the engine's lock: its site by
 * destination, a link by its flow, where to send it in *o. */
static void
tun_classify(struct pworker *w, uint8_t *pkt, size_t n, struct pw_send *o,
    const struct fwd_ctx *ctx)
{
	struct popd         *pd = w->pd;
	struct engine_result res;
	struct session      *s;
	struct site         *site;
	uint8_t              dst[16];
	int                  family, rc;

	o->s = NULL;
	o->fv.act = CFLOW_HANDLE;
	if (ctx != NULL && ctx->type == CW_FORWARD && !ready_for(pd, pkt, n)) {
		/* Forwarded here as the flow's director, but this member
		 * cannot seal for the site yet (it just joined: its SESSION
		 * or its slot not here): the sender owns the flow (FIRST). */
		memset(&o->fv, 0, sizeof(o->fv));
		o->fv.act = CFLOW_FIRST;
		o->fv.to = ctx->from;
		o->fv.hops = ctx->hops;
		o->fv.from = ctx->from;
		return;
	}
	/* In a cluster, a flow another member owns goes there. */
	if (pd->fwd != NULL) {
		fwd_down(w, pkt, n, ctx, &o->fv);
		if (o->fv.act != CFLOW_HANDLE)
			return;
	}
	if ((family = inner_addr(pkt, n, 1, dst)) == -1 ||
	    (site = site_for(pd, family, dst)) == NULL ||
	    (s = site->session) == NULL) {
		w->drop_no_site++;
		return;
	}
	if (!csync_can_seal(pd, s)) {
		/* A cluster member not granted a slot of the session yet
		 * (cluster-session.c): nothing it sealed would open. */
		w->drop_no_grant++;
		return;
	}
	if ((rc = engine_packet(s->engine, pkt, n, 0, w->batch_ms, &res)) !=
	    0) {
		/* A site at its cap evicts its own idle flows; only with
		 * the pool short and none of its own to give is a new flow
		 * refused (flow_table_refused(), per site). */
		if (rc == PKT_ERR_TABLE_FULL)
			site->drop_table_full++;
		else
			w->drop_parse++;
		return;
	}
	if (res.is_new)
		s->new_flows[res.link]++;
	if (pd->fwd != NULL)
		fwd_owned_link(w, &o->fv, s->id, s->links[res.link].id);
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
	/* Counted as handed to the link: a packet the seal refuses is a
	 * drop of the tunnel's too (key_exhausted). */
	s->tx_packets[res.link]++;
	s->tx_bytes[res.link] += n + WIRE_OVERHEAD;
	o->s = s;
	o->idx = (uint8_t)res.link;
	o->lsn = s->endpoint_lsn[res.link];
	o->tolen = s->endpoint_len[res.link];
	memcpy(&o->to, &s->endpoint[res.link], o->tolen);
	o->dup_idx = LINK_NONE;
	if (res.profile < pd->conf->nprofiles &&
	    pd->conf->profiles[res.profile].duplicate)
		dup_classify(w, s, &pd->conf->profiles[res.profile], n, o);
}

/*
 * The two copies of a packet dup_classify() chose to send twice: one
 * number of this worker's stream, each copy sealed by the worker's
 * tunnel on its own link, under that link's counter.
 */
static void
dup_send(
    struct pworker *w, const struct pw_send *o, const uint8_t *pkt, size_t len)
{
	struct popd       *pd = w->pd;
	struct session    *s = o->s;
	struct dupwire_hdr h;

	h.stream = w->t.id;
	h.seq = dup_tx_next(&s->dtx[w->t.id]);
	(void)dupwire_encode(&h, w->dupbuf, sizeof(w->dupbuf));
	memcpy(w->dupbuf + DUPWIRE_HDR_LEN, pkt, len);
	(void)tunnel_seal_udp(s->tun[w->t.id], w->q, &w->drops,
	    pd->lsn[o->lsn].uio[w->t.id], WIRE_DUP, s->links[o->idx].id,
	    w->dupbuf, len + DUPWIRE_HDR_LEN, (const struct sockaddr *)&o->to,
	    o->tolen);
	(void)tunnel_seal_udp(s->tun[w->t.id], w->q, &w->drops,
	    pd->lsn[o->dup_lsn].uio[w->t.id], WIRE_DUP, s->links[o->dup_idx].id,
	    w->dupbuf, len + DUPWIRE_HDR_LEN,
	    (const struct sockaddr *)&o->dup_to, o->dup_tolen);
	w->dupc.sent++;
}

/* One packet as tun_classify() decided: sealed to its link, twice for a
 * duplicating profile, or to another member of the cluster. */
static void
tun_send(
    struct pworker *w, const struct pw_send *o, const uint8_t *pkt, size_t len)
{
	struct popd *pd = w->pd;

	if (o->s != NULL && o->dup_idx != LINK_NONE)
		dup_send(w, o, pkt, len);
	else if (o->s != NULL)
		(void)tunnel_seal_udp(o->s->tun[w->t.id], w->q, &w->drops,
		    pd->lsn[o->lsn].uio[w->t.id], WIRE_DATA,
		    o->s->links[o->idx].id, pkt, len,
		    (const struct sockaddr *)&o->to, o->tolen);
	else if (o->fv.act != CFLOW_HANDLE)
		fwd_send_tun(w, &o->fv, pkt, len);
}

/* n <= PWORKER_BATCH packets for the sites' LANs, all classified under
 * one hold of the engine's lock (ctx NULL, or ctx[i] the i-th's), then
 * each sealed by the worker's tunnel of its session into the worker's
 * socket of the link's group, or forwarded. */
static void
tun_run(struct pworker *w, uint8_t *const *pkts, const size_t *lens,
    const struct fwd_ctx *ctx, unsigned n)
{
	struct popd *pd = w->pd;
	unsigned     i;

	pthread_mutex_lock(&pd->engine_mu);
	for (i = 0; i < n; i++)
		tun_classify(w, pkts[i], lens[i], &w->send[i],
		    ctx != NULL ? &ctx[i] : NULL);
	pthread_mutex_unlock(&pd->engine_mu);
	for (i = 0; i < n; i++)
		tun_send(w, &w->send[i], pkts[i], lens[i]);
}

/*
 * A batch of packets for the sites' LANs (one read's segments, or
 * several reads): clamped, then run as tun_run() says.
 */
static void
tun_batch(void *arg, uint8_t *const *pkts, const size_t *lens, unsigned n)
{
	struct pworker *w = arg;
	struct popd    *pd = w->pd;
	unsigned        i;

	if (n > PWORKER_BATCH) { /* tundev.c's SPLIT_SEGS: never */
		w->drop_parse += n - PWORKER_BATCH;
		n = PWORKER_BATCH;
	}
	for (i = 0; i < n; i++)
		(void)mss_clamp(pkts[i], lens[i],
		    (pkts[i][0] >> 4) == 6 ? pd->tundev.mss6 : pd->tundev.mss4);
	tun_run(w, pkts, lens, NULL, n);
}

void
dataplane_cluster_tun(struct pworker *w, uint8_t *const *pkts,
    const size_t *lens, const struct fwd_ctx *ctx, unsigned n)
{
	if (n > PWORKER_BATCH) { /* forward.c's run: never */
		w->drop_parse += n - PWORKER_BATCH;
		n = PWORKER_BATCH;
	}
	w->batch_ms = now_ms();
	tun_run(w, pkts, lens, ctx, n);
	dataplane_send_all(w);
}

void
dataplane_tun_work(struct pworker *w)
{
	w->batch_ms = now_ms();
	(void)tundev_read_batch(w->td, TUN_READS, tun_batch, w);
	dataplane_send_all(w);
}

/* Worker 0's TUN queue, on the main loop. */
static void
tun_read(evutil_socket_t fd, short what, void *arg)
{
	struct popd *pd = arg;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&pd->w[0].t.mu);
	dataplane_tun_work(&pd->w[0]);
	pthread_mutex_unlock(&pd->w[0].t.mu);
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
	return dataplane_bind_free(a, port, type, 0);
}

int
dataplane_bind_free(
    const struct wp_addr *a, uint16_t port, int type, int freebind)
{
	struct sockaddr_storage ss;
	socklen_t               sslen;
	int                     fd, on = 1, e;

	sslen = addr_to_sockaddr(a, port, &ss);
	if ((fd = socket(a->family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) ==
	    -1)
		return -1;
	if ((freebind &&
		setsockopt(fd,
		    a->family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP,
		    a->family == AF_INET6 ? IPV6_FREEBIND : IP_FREEBIND, &on,
		    sizeof(on)) == -1) ||
	    (type == SOCK_STREAM &&
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

/*
 * One data socket of a listen entry's group, IPV6_V6ONLY as
 * dataplane_bind() makes them.  With more than one worker the group
 * shares the port (SO_REUSEPORT): its first socket binds without it, so
 * that the bind fails if anything holds the port already (with it, a
 * socket of the same user could have, and joined the group), and sets
 * it after; the others set it before binding, to join.  The fd, or -1
 * with errno.
 */
static int
udp_member(const struct wp_addr *a, uint16_t port, int group, int first)
{
	struct sockaddr_storage ss;
	socklen_t               sslen;
	int                     fd, on = 1, e;

	if (!group || first) {
		if ((fd = dataplane_bind(a, port, SOCK_DGRAM)) == -1 || !group)
			return fd;
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) ==
		    -1)
			goto fail;
		return fd;
	}
	sslen = addr_to_sockaddr(a, port, &ss);
	if ((fd = socket(a->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		 0)) == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1 ||
	    (a->family == AF_INET6 &&
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) ==
		    -1) ||
	    bind(fd, (struct sockaddr *)&ss, sslen) == -1)
		goto fail;
	return fd;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* Listen entry i's data sockets, one per worker, worker 0's an event of
 * the main loop. */
static int
udp_open(struct popd *pd, size_t i)
{
	const struct config_endpoint *e = &pd->conf->endpoints[i];
	struct popd_listen           *l = &pd->lsn[i];
	struct udpio_conf             uc = {0};
	unsigned                      k, n = pd->nworkers;
	char                          a[ADDR_STRLEN] = "?";

	addr_ntop(&e->address, a, sizeof(a));
	l->pd = pd;
	l->idx = (unsigned)i;
	uc.flags = pd->conf->offload ? 0 : UDPIO_NO_OFFLOAD;
	for (k = 0; k < n; k++) {
		if ((l->udp_fd[k] = udp_member(
			 &e->address, e->data_port, n > 1, k == 0)) == -1) {
			log_warn("data port %s %u", a, e->data_port);
			return -1;
		}
		(void)udpio_bufsize(l->udp_fd[k], UDP_SOCKBUF, NULL, NULL);
		if ((l->uio[k] = udpio_new(l->udp_fd[k], &uc)) == NULL) {
			log_warn(
			    "data port %s %u: batched I/O", a, e->data_port);
			return -1;
		}
	}
	if (n > 1 && udpio_steer_workers(l->udp_fd[0], n) == -1) {
		log_warn("data port %s %u: steering its sockets by worker", a,
		    e->data_port);
		return -1;
	}
	l->udp_ev = event_new(
	    pd->base, l->udp_fd[0], EV_READ | EV_PERSIST, udp_read, l);
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
		pd->conf->offload, pd->nworkers > 1, tun_read, pd) == -1)
		return -1;
	/* Return traffic spread over the workers' queues by its flow (a
	 * hash of addresses and ports); without the program the kernel
	 * sends a flow's packets to the queue its last packet from the site
	 * was written to, which is the worker the Socket's steered it to. */
	if (pd->nworkers > 1 && tun_steer_flows(pd->tundev.fd) == -1)
		log_warn("tun %s: no flow steering program: flows go to the "
			 "queue their site's packets were written to",
		    pd->tundev.name);
	if (popd_workers_open(pd) == -1)
		return -1;
	pd->health_ev = event_new(pd->base, -1, EV_PERSIST, health_tick, pd);
	pd->health_more_ev = event_new(pd->base, -1, 0, health_more, pd);
	if (pd->health_ev == NULL || pd->health_more_ev == NULL ||
	    event_add(pd->health_ev, health_period(pd, &tv)) == -1)
		return -1;
	log_info("%s up, MTU %d, %u worker%s", pd->tundev.name, pd->tundev.mtu,
	    pd->nworkers, pd->nworkers == 1 ? "" : "s");
	return 0;
}

void
dataplane_stop(struct popd *pd)
{
	size_t i;

	/* The threads first: their batches hold sessions. */
	popd_workers_stop(pd);
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
		unsigned            k;

		if (l->udp_ev != NULL)
			event_free(l->udp_ev);
		l->udp_ev = NULL;
		for (k = 0; k < PROTO_MAX_WORKERS; k++) {
			udpio_free(l->uio[k]);
			l->uio[k] = NULL;
			if (l->udp_fd[k] >= 0)
				close(l->udp_fd[k]);
			l->udp_fd[k] = -1;
		}
	}
	tundev_close(&pd->tundev);
}
