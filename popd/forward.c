/*
 * Packet forwarding between the members of a popd cluster; see
 * forward.h and doc/CLUSTER.md, "Forwarding and ownership".
 *
 * Locks.  fwd->mu guards the ownership table (cflow), the counters and
 * the cluster link's sealing state; it is a leaf: taken by a worker
 * under its mu (and maybe pd->engine_mu), by the main loop alone or
 * under the mu of the worker a run of received packets holds, and
 * nothing is taken while it is held.  A worker's queue on the link
 * (fwd->tx[id]) is under that worker's mu: sealed into under fwd->mu
 * too, sent without it (fwd_flush()).  The director and the
 * live set change only on the main loop under the world lock (every
 * worker's mu), so a worker reads them under its own mu.  Opening (the
 * receiving side of the cluster link) is the main loop's alone.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "cflow.h"
#include "clusterkey.h"
#include "clusterlink.h"
#include "clustersync.h"
#include "director.h"
#include "flow.h"
#include "flowsync.h"
#include "forward.h"
#include "pkt.h"
#include "popd.h"
#include "wire.h"

#define NODES (CONFIG_CLUSTER_NODE_MAX + 1)
/* The sync queue: flows whose backup waits to be multicast. */
#define SYNC_QUEUE_MAX 8192
/* Every tick: the sync queue is drained into FLOW messages while the
 * membership's send queue has room, a full resync goes on, and a part
 * of the table is looked at for expiry. */
#define TICK_MS       10
#define EXPIRE_BUDGET 4096
#define RESYNC_BUDGET 4096
#define SYNC_STEPS    64
/* recvmmsg calls on the cluster link per readable event (each up to
 * UDPIO_BATCH messages, more datagrams with GRO), as the data sockets'. */
#define RECV_CALLS 4
/* The cluster link's socket buffers, as the data sockets'. */
#define LINK_SOCKBUF (16 * 1024 * 1024)
/* A worker's queue of sealed datagrams: flushed by its batch's end
 * (dataplane_send_all()), or when full. */
#define TX_BATCH  64
#define TX_BYTES  (512 * 1024)
#define TX_DGRAMS 512
/* What an OWNER_HINT carries of the packet: enough to key its flow. */
#define HINT_SNAP 128

enum fwd_drop {
	FD_HOPS,       /* made CW_MAX_HOPS hops, owner unknown */
	FD_NO_SESSION, /* the site's session is not here */
	FD_SEND,       /* the socket refused (full buffer, no route) */
	FD_SEAL,       /* clusterlink_seal() refused */
	FD_NO_MEMBER,  /* decided for a member that is not live */
	FD_PARSE,      /* not a packet with a flow key */
	FD_TABLE_FULL, /* counted by cflow too */
	FD_NREASONS
};

static const char *const drop_name[FD_NREASONS] = {"hop_limit", "no_session",
    "send_failed", "seal_failed", "no_member", "unparsable", "table_full"};

struct peer_ctr {
	uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes;
};

/* A worker's sending on the cluster link, under its mu: an udpio on
 * the one socket, and its failures counted so far in send_failed. */
struct fwd_tx {
	struct udpio *io;
	uint64_t      failed;
};

struct fwd {
	struct popd            *pd;
	uint32_t                self;
	int                     fd;
	struct event           *rx_ev, *tick_ev;
	struct director        *dir;
	struct clusterlink     *link;
	uint8_t                 live[NODES]; /* world lock's */
	struct sockaddr_storage addr[NODES];
	socklen_t               addrlen[NODES];

	pthread_mutex_t mu; /* below */
	struct cflow   *cf;
	struct peer_ctr peer[NODES];
	uint64_t        handled, forwarded, firsts_sent, firsts_received;
	uint64_t        hints_sent, hints_received, taken_over;
	uint64_t        drops[FD_NREASONS];

	struct fwd_tx tx[PROTO_MAX_WORKERS]; /* each under its worker's mu */

	/* main loop's */
	struct udpio   *rx;
	uint8_t         lsn4, lsn6; /* lsn_for() */
	struct pworker *site_w;     /* a run of site datagrams holds its mu */
	/* A run of packets for sites (views into rx's buffers, valid
	 * until its next udpio_recv()), for worker 0. */
	uint8_t       *run_pkt[PWORKER_BATCH];
	size_t         run_len[PWORKER_BATCH];
	struct fwd_ctx run_ctx[PWORKER_BATCH];
	unsigned       nrun;
	uint32_t       expire_cursor, resync_cursor;
	int            resyncing;
	uint64_t       flow_msgs_sent, flow_msgs_received, flow_msgs_bad;
	uint64_t       flow_entries_sent, flow_entries_received;
	uint64_t       idle_ms;
};

static uint64_t
realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* A packet's flow key and addresses: 0, or -1 if it has none. */
static int
key_of(const uint8_t *pkt, size_t len, int snap, struct pkt_info *pi,
    struct flow_key *k)
{
	if (pkt_parse(pkt, len, snap ? PKT_F_SNAPLEN : 0, pi) != PKT_OK)
		return -1;
	(void)flow_key_from_pkt(pi, k);
	return 0;
}

/* The owner the table knows for k, 0 if none or not live; under mu. */
static uint32_t
owner_of(struct fwd *f, const struct flow_key *k)
{
	struct cflow_entry *e = cflow_find(f->cf, k);

	return e != NULL && e->owner < NODES && f->live[e->owner] ? e->owner
								  : 0;
}

/* tx's queue sent (under its worker's mu); what the kernel refused or a
 * full socket buffer dropped since the last call, for send_failed. */
static uint64_t
tx_send(struct fwd_tx *tx)
{
	uint64_t failed, was = tx->failed;

	(void)udpio_send(tx->io);
	failed = udpio_tx_failed(udpio_stats(tx->io));
	tx->failed = failed;
	return failed - was;
}

/* tx_send(), its failures counted in send_failed.  Under mu. */
static void
flush_locked(struct fwd *f, struct fwd_tx *tx)
{
	f->drops[FD_SEND] += tx_send(tx);
}

/* Seals inner to `to` straight into tx's queue (sent at the batch's
 * end, fwd_flush()); under mu.  0, or -1 counted. */
static int
send_locked(struct fwd *f, struct fwd_tx *tx, uint8_t type, uint8_t hops,
    uint8_t origin, uint32_t to, uint32_t owner, uint32_t session,
    const struct sockaddr *ep, const uint8_t *inner, size_t len)
{
	struct cw_hdr h;
	uint8_t      *slot;
	size_t        cap = 0;
	int           n;

	if (to == 0 || to >= NODES || !f->live[to] || f->addrlen[to] == 0) {
		f->drops[FD_NO_MEMBER]++;
		return -1;
	}
	memset(&h, 0, sizeof(h));
	h.type = type;
	h.hops = hops;
	h.origin = origin;
	h.to = to;
	h.owner = owner;
	h.session = session;
	if (origin == CW_ORIGIN_SITE && ep != NULL &&
	    addr_from_sockaddr(ep, &h.endpoint) == 0)
		h.port = ntohs(ep->sa_family == AF_INET
			? ((const struct sockaddr_in *)ep)->sin_port
			: ((const struct sockaddr_in6 *)ep)->sin6_port);
	/* A full queue is sent first (under mu: rare, a batch larger
	 * than the queue); what still does not fit is dropped. */
	if ((slot = udpio_slot(tx->io, &cap)) == NULL ||
	    cap < len + CW_OVERHEAD) {
		flush_locked(f, tx);
		if ((slot = udpio_slot(tx->io, &cap)) == NULL ||
		    cap < len + CW_OVERHEAD) {
			f->drops[FD_SEND]++;
			return -1;
		}
	}
	if ((n = clusterlink_seal(f->link, &h, inner, len, slot, cap)) < 0) {
		f->drops[FD_SEAL]++;
		return -1;
	}
	if (udpio_commit(tx->io, (size_t)n, (struct sockaddr *)&f->addr[to],
		f->addrlen[to]) == -1) {
		f->drops[FD_SEND]++;
		return -1;
	}
	f->peer[to].tx_packets++;
	f->peer[to].tx_bytes += (uint64_t)n;
	if (type == CW_FORWARD)
		f->forwarded++;
	else if (type == CW_FIRST)
		f->firsts_sent++;
	else
		f->hints_sent++;
	return 0;
}

/* `from` learns that `owner` holds the flow of ip (an IP packet, or its
 * first bytes). */
static void
hint_locked(struct fwd *f, struct fwd_tx *tx, uint32_t from, uint32_t owner,
    const uint8_t *ip, size_t len)
{
	(void)send_locked(f, tx, CW_OWNER_HINT, 1, CW_ORIGIN_TUN, from, owner,
	    0, NULL, ip, len < HINT_SNAP ? len : HINT_SNAP);
}

/* The decision for key k of a packet from src to dst; under mu, with
 * the entry made or touched as it says. */
static void
decide_locked(struct fwd *f, const struct pkt_info *pi,
    const struct flow_key *k, const struct fwd_ctx *ctx, uint32_t session,
    uint64_t now, struct cflow_out *o)
{
	struct cflow_in     in;
	struct cflow_entry *e;

	in.self = f->self;
	in.director = director_of(f->dir, pi->family, pi->src, pi->dst);
	in.owner = owner_of(f, k);
	in.type = ctx != NULL ? ctx->type : 0;
	in.from = ctx != NULL ? ctx->from : 0;
	in.hops = ctx != NULL ? ctx->hops : 0;
	cflow_decide(&in, o);
	switch (o->act) {
	case CFLOW_HANDLE:
		f->handled++;
		if (o->own) {
			if (cflow_set(f->cf, k, f->self, session,
				FLOWSYNC_LINK_NONE, now) == NULL)
				f->drops[FD_TABLE_FULL]++;
		} else if ((e = cflow_find(f->cf, k)) != NULL)
			e->seen_ms = now;
		break;
	case CFLOW_FIRST:
		/* The other direction, arriving elsewhere, goes to it. */
		(void)cflow_set(
		    f->cf, k, o->to, session, FLOWSYNC_LINK_NONE, now);
		break;
	case CFLOW_DROP_HOPS:
		f->drops[FD_HOPS]++;
		break;
	default:
		break;
	}
}

int
fwd_up(struct pworker *w, struct session *s, const struct udpio_dgram *d,
    const uint8_t *inner, size_t len, const struct fwd_ctx *ctx)
{
	struct fwd      *f = w->pd->fwd;
	struct pkt_info  pi;
	struct flow_key  k;
	struct cflow_out o;
	int              act;

	if (key_of(inner, len, 0, &pi, &k) == -1) {
		/* No flow to own (a fragment's tail keys by addresses). */
		pthread_mutex_lock(&f->mu);
		f->handled++;
		pthread_mutex_unlock(&f->mu);
		return 0;
	}
	pthread_mutex_lock(&f->mu);
	if (ctx != NULL && ctx->type == CW_FIRST)
		f->firsts_received++;
	decide_locked(f, &pi, &k, ctx, s->id, w->batch_ms, &o);
	act = o.act;
	if (act == CFLOW_FORWARD || act == CFLOW_FIRST)
		(void)send_locked(f, &f->tx[w->t.id],
		    act == CFLOW_FIRST ? CW_FIRST : CW_FORWARD, o.hops,
		    CW_ORIGIN_SITE, o.to,
		    act == CFLOW_FIRST ? o.to : owner_of(f, &k), s->id, d->from,
		    d->data, d->len);
	if (act == CFLOW_FORWARD && o.hint)
		hint_locked(f, &f->tx[w->t.id], ctx->from, o.to, inner, len);
	pthread_mutex_unlock(&f->mu);
	return act != CFLOW_HANDLE;
}

void
fwd_relay(
    struct pworker *w, const struct session *s, const struct udpio_dgram *d)
{
	struct fwd *f = w->pd->fwd;
	uint32_t    to;

	pthread_mutex_lock(&f->mu);
	for (to = 1; to < NODES; to++)
		if (to != f->self && f->live[to] && f->addrlen[to] != 0)
			(void)send_locked(f, &f->tx[w->t.id], CW_FORWARD, 1,
			    CW_ORIGIN_SITE, to, 0, s->id, d->from, d->data,
			    d->len);
	pthread_mutex_unlock(&f->mu);
}

void
fwd_down(struct pworker *w, const uint8_t *pkt, size_t len,
    const struct fwd_ctx *ctx, struct fwd_verdict *v)
{
	struct fwd      *f = w->pd->fwd;
	struct pkt_info  pi;
	struct cflow_out o;

	v->act = CFLOW_HANDLE;
	v->keyed = 0;
	if (key_of(pkt, len, 0, &pi, &v->key) == -1) {
		/* No flow to own: handled here, as in fwd_up(). */
		pthread_mutex_lock(&f->mu);
		f->handled++;
		pthread_mutex_unlock(&f->mu);
		return;
	}
	v->keyed = 1;
	pthread_mutex_lock(&f->mu);
	if (ctx != NULL && ctx->type == CW_FIRST)
		f->firsts_received++;
	decide_locked(f, &pi, &v->key, ctx, 0, w->batch_ms, &o);
	pthread_mutex_unlock(&f->mu);
	v->act = (uint8_t)o.act;
	v->to = o.to;
	v->hops = o.hops;
	v->hint = (uint8_t)o.hint;
	v->from = ctx != NULL ? ctx->from : 0;
}

void
fwd_send_tun(struct pworker *w, const struct fwd_verdict *v, const uint8_t *pkt,
    size_t len)
{
	struct fwd *f = w->pd->fwd;

	if (v->act != CFLOW_FORWARD && v->act != CFLOW_FIRST)
		return;
	pthread_mutex_lock(&f->mu);
	(void)send_locked(f, &f->tx[w->t.id],
	    v->act == CFLOW_FIRST ? CW_FIRST : CW_FORWARD, v->hops,
	    CW_ORIGIN_TUN, v->to,
	    v->act == CFLOW_FIRST ? v->to : owner_of(f, &v->key), 0, NULL, pkt,
	    len);
	if (v->act == CFLOW_FORWARD && v->hint)
		hint_locked(f, &f->tx[w->t.id], v->from, v->to, pkt, len);
	pthread_mutex_unlock(&f->mu);
}

void
fwd_owned_link(struct pworker *w, const struct fwd_verdict *v, uint32_t session,
    uint8_t link)
{
	struct fwd         *f = w->pd->fwd;
	struct cflow_entry *e;

	if (!v->keyed)
		return;
	pthread_mutex_lock(&f->mu);
	/* Only a change is worth the set (and the backup it queues). */
	if ((e = cflow_find(f->cf, &v->key)) == NULL ||
	    (e->owner == f->self && (e->session != session || e->link != link)))
		(void)cflow_set(
		    f->cf, &v->key, f->self, session, link, w->batch_ms);
	pthread_mutex_unlock(&f->mu);
}

void
fwd_flush(struct pworker *w)
{
	struct fwd    *f = w->pd->fwd;
	struct fwd_tx *tx = &f->tx[w->t.id];
	uint64_t       failed;

	if (udpio_pending(tx->io) == 0)
		return;
	if ((failed = tx_send(tx)) != 0) {
		pthread_mutex_lock(&f->mu);
		f->drops[FD_SEND] += failed;
		pthread_mutex_unlock(&f->mu);
	}
}

/* ------------------------------------------------------------ receiving */

/* The listen entry a site's datagram forwarded with endpoint family fam
 * is answered from: the first of that family (lsn4, lsn6). */
static uint8_t
lsn_for(const struct popd *pd, int fam)
{
	size_t i;

	for (i = 0; i < pd->conf->nendpoints; i++)
		if (pd->conf->endpoints[i].address.family == fam)
			return (uint8_t)i;
	return 0;
}

static void
on_hint(struct fwd *f, const struct cw_hdr *h, const uint8_t *ip, size_t len)
{
	struct pkt_info     pi;
	struct flow_key     k;
	struct cflow_entry *e;

	if (key_of(ip, len, 1, &pi, &k) == -1) {
		pthread_mutex_lock(&f->mu);
		f->drops[FD_PARSE]++;
		pthread_mutex_unlock(&f->mu);
		return;
	}
	pthread_mutex_lock(&f->mu);
	/* The owner is a peer's word, 32 bits off the wire: only a live
	 * member's id goes into the table, whose owners index live[] and
	 * addr[] when the flow's next packet is decided. */
	if (h->owner >= NODES || !f->live[h->owner]) {
		f->drops[FD_NO_MEMBER]++;
		pthread_mutex_unlock(&f->mu);
		return;
	}
	f->hints_received++;
	/* A flow we own stays ours; else its packets go to the owner. */
	if ((e = cflow_find(f->cf, &k)) == NULL || e->owner != f->self)
		(void)cflow_set(f->cf, &k, h->owner, h->session,
		    FLOWSYNC_LINK_NONE, now_ms());
	pthread_mutex_unlock(&f->mu);
}

/*
 * The run of packets for sites gathered from one read: all of them
 * under one hold of worker 0's mu (and, in dataplane_cluster_tun(), of
 * the engine's lock), sent at its end.  Before the next udpio_recv():
 * the packets are views into rx's buffers.
 */
static void
tun_run_end(struct fwd *f)
{
	struct pworker *w = &f->pd->w[0];

	if (f->nrun == 0)
		return;
	pthread_mutex_lock(&w->t.mu);
	dataplane_cluster_tun(w, f->run_pkt, f->run_len, f->run_ctx, f->nrun);
	pthread_mutex_unlock(&w->t.mu);
	f->nrun = 0;
}

/* The run of site datagrams for one worker ends: what they queued on
 * its TUN queue and sockets written and sent (tundev copies what it
 * queues, but the run ends before the next read all the same), what
 * they raised moved to the main loop, the worker's mu let go. */
static void
site_run_end(struct fwd *f)
{
	struct popd     *pd = f->pd;
	struct pworker  *w = f->site_w;
	struct tunnel_ev ev;

	if (w == NULL)
		return;
	dataplane_cluster_end(w);
	/* What it raised (a link back, a link-down notice) is the main
	 * loop's: a thread's queue would wait for its next batch. */
	if (w != &pd->w[0])
		while (tunnel_evq_pop(&w->t.own_q, &ev))
			(void)tunnel_evq_push(&pd->dataev.q, &ev);
	pthread_mutex_unlock(&w->t.mu);
	f->site_w = NULL;
}

/* A packet for a site: into the run, which goes before anything else
 * of the read is looked at. */
static void
on_tun(struct fwd *f, const struct cw_hdr *h, uint8_t *inner, size_t len)
{
	site_run_end(f);
	if (f->nrun == PWORKER_BATCH)
		tun_run_end(f);
	f->run_pkt[f->nrun] = inner;
	f->run_len[f->nrun] = len;
	f->run_ctx[f->nrun].type = h->type;
	f->run_ctx[f->nrun].hops = h->hops;
	f->run_ctx[f->nrun].from = h->from;
	f->nrun++;
}

/* A site's datagram, handled now by the worker it belongs to, whose mu
 * the run holds until a datagram for another worker, or a packet for a
 * site, or the read's end. */
static void
on_site(struct fwd *f, const struct cw_hdr *h, uint8_t *inner, size_t len)
{
	struct popd   *pd = f->pd;
	struct fwd_ctx ctx = {
	    .type = h->type, .hops = h->hops, .from = h->from};
	struct pworker         *w;
	struct wire_hdr         wh;
	struct udpio_dgram      d;
	struct sockaddr_storage ss;
	struct session         *s;

	tun_run_end(f);
	if (wire_hdr_decode(inner, len, &wh) != WIRE_OK) {
		pthread_mutex_lock(&f->mu);
		f->drops[FD_PARSE]++;
		pthread_mutex_unlock(&f->mu);
		return;
	}
	memset(&d, 0, sizeof(d));
	d.data = inner;
	d.len = len;
	d.fromlen = addr_to_sockaddr(&h->endpoint, h->port, &ss);
	d.from = (struct sockaddr *)&ss;
	/* The worker whose tunnels open that sender worker's datagrams
	 * (the kernel's steering of the data sockets, wire.h). */
	w = &pd->w[wire_steer(wh.worker, wh.session, pd->nworkers)];
	if (f->site_w != w) {
		site_run_end(f);
		pthread_mutex_lock(&w->t.mu);
		f->site_w = w;
		dataplane_cluster_begin(w);
	}
	if ((s = session_by_id(pd, wh.session)) == NULL ||
	    !csync_can_seal(pd, s)) {
		pthread_mutex_lock(&f->mu);
		/* Not ready for the site's session (a member that just
		 * joined: its SESSION or its slot not here yet,
		 * doc/CLUSTER.md): a FORWARD goes back to its sender as a
		 * FIRST, and the sender, which opened it, owns the flow. */
		if (h->type != CW_FORWARD ||
		    send_locked(f, &f->tx[w->t.id], CW_FIRST, h->hops,
			CW_ORIGIN_SITE, h->from, h->from, wh.session, d.from,
			inner, len) == -1)
			f->drops[FD_NO_SESSION]++;
		pthread_mutex_unlock(&f->mu);
		return;
	}
	dataplane_cluster_site(
	    w, h->endpoint.family == AF_INET6 ? f->lsn6 : f->lsn4, &d, &ctx);
}

/* Batches of datagrams (recvmmsg, GRO), each opened in place; the runs
 * end with each read, while its buffers hold. */
static void
rx_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fwd        *f = arg;
	struct cw_hdr      h;
	struct udpio_dgram d;
	uint8_t           *inner;
	int                len, i;

	(void)fd;
	(void)what;
	for (i = 0; i < RECV_CALLS && udpio_recv(f->rx) > 0; i++) {
		while (udpio_next(f->rx, &d)) {
			/* The inner packet at data + header. */
			inner = d.data + CW_HDR_LEN;
			pthread_mutex_lock(&f->mu);
			len = clusterlink_open(f->link, d.data, d.len, &h,
			    inner, d.len > CW_HDR_LEN ? d.len - CW_HDR_LEN : 0);
			if (len >= 0 && h.from < NODES) {
				f->peer[h.from].rx_packets++;
				f->peer[h.from].rx_bytes += d.len;
			}
			pthread_mutex_unlock(&f->mu);
			if (len < 0)
				continue; /* counted by reason */
			if (h.type == CW_OWNER_HINT)
				on_hint(f, &h, inner, (size_t)len);
			else if (h.origin == CW_ORIGIN_TUN)
				on_tun(f, &h, inner, (size_t)len);
			else
				on_site(f, &h, inner, (size_t)len);
		}
		tun_run_end(f);
		site_run_end(f);
	}
	dataev_kick(&f->pd->dataev);
}

/* ------------------------------------------------------------ backups */

static void
send_entries(struct fwd *f, const struct flowsync_entry *e, size_t n)
{
	uint8_t msg[CLUSTERSYNC_MAX_LEN];
	int     len;

	if (n == 0)
		return;
	if ((len = flowsync_encode(f->self, e, n, msg, sizeof(msg))) < 0 ||
	    cluster_send(f->pd->cluster, msg, (size_t)len) == -1) {
		/* Lost: the next full resync says it again. */
		pthread_mutex_lock(&f->mu);
		f->cf->resync = 1;
		pthread_mutex_unlock(&f->mu);
		return;
	}
	f->flow_msgs_sent++;
	f->flow_entries_sent += n;
}

/* The sync queue into FLOW messages while the membership can take
 * them; then a full resync's next part, if one is under way.  At most
 * SYNC_STEPS messages or walk steps a tick: the loop has other work. */
static void
sync_flush(struct fwd *f)
{
	struct flowsync_entry e[FLOWSYNC_MAX_ENTRIES];
	size_t                n;
	int                   steps = SYNC_STEPS;

	while (steps-- > 0 && cluster_room(f->pd->cluster) > 1) {
		pthread_mutex_lock(&f->mu);
		n = cflow_sync_take(f->cf, e, FLOWSYNC_MAX_ENTRIES);
		if (n == 0 && f->cf->resync && !f->resyncing) {
			f->cf->resync = 0;
			f->resyncing = 1;
			f->resync_cursor = 0;
		}
		if (n == 0 && f->resyncing) {
			n = cflow_walk_owned(f->cf, &f->resync_cursor,
			    RESYNC_BUDGET, e, FLOWSYNC_MAX_ENTRIES);
			if (f->resync_cursor == 0)
				f->resyncing = 0;
		}
		pthread_mutex_unlock(&f->mu);
		send_entries(f, e, n);
		if (n == 0 && !f->resyncing)
			return;
	}
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fwd *f = arg;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&f->mu);
	(void)cflow_expire(f->cf, &f->expire_cursor, EXPIRE_BUDGET, now_ms(),
	    f->idle_ms, 3 * f->idle_ms);
	pthread_mutex_unlock(&f->mu);
	sync_flush(f);
}

void
fwd_message(void *arg, uint32_t node, const uint8_t *msg, size_t len)
{
	struct fwd           *f = arg;
	struct flowsync_entry e[FLOWSYNC_MAX_ENTRIES];
	uint32_t              from;
	uint64_t              now = now_ms();
	int                   n, i;

	if ((n = flowsync_decode(msg, len, &from, e)) < 0 || from != node) {
		f->flow_msgs_bad++;
		return;
	}
	f->flow_msgs_received++;
	if (node == f->self)
		return; /* our own, back */
	pthread_mutex_lock(&f->mu);
	for (i = 0; i < n; i++) {
		/* A member backs up only what it owns. */
		if (e[i].owner != node)
			continue;
		f->flow_entries_received++;
		if (cflow_apply(f->cf, &e[i], now) == -1)
			f->drops[FD_TABLE_FULL]++;
	}
	pthread_mutex_unlock(&f->mu);
}

void
fwd_resync(void *arg)
{
	struct fwd *f = arg;

	pthread_mutex_lock(&f->mu);
	f->cf->resync = 1;
	pthread_mutex_unlock(&f->mu);
}

/* ------------------------------------------------------------ takeover */

struct took {
	struct flow_key key;
	uint32_t        session;
	uint8_t         link;
};

struct takeover {
	struct fwd  *f;
	uint32_t     gone;
	struct took *t;
	size_t       n, cap;
};

static uint32_t
takeover_owner(void *arg, const struct flow_key *k)
{
	struct takeover *to = arg;

	return director_takeover(to->f->dir, k, to->gone);
}

static void
took_one(void *arg, const struct cflow_entry *e)
{
	struct takeover *to = arg;
	struct took     *nt;

	if (to->n == to->cap) {
		size_t cap = to->cap ? to->cap * 2 : 256;

		if ((nt = realloc(to->t, cap * sizeof(*nt))) == NULL)
			return; /* the flow goes on, balanced afresh */
		to->t = nt;
		to->cap = cap;
	}
	to->t[to->n].key = e->key;
	to->t[to->n].session = e->session;
	to->t[to->n].link = e->link;
	to->n++;
}

/* Member gone left: its flows to their new owners, those that are this
 * node's pinned to their site links in the sites' engines.  Under the
 * world lock. */
static void
takeover(struct fwd *f, uint32_t gone)
{
	struct popd    *pd = f->pd;
	struct takeover to = {.f = f, .gone = gone};
	struct session *s;
	uint64_t        now = now_ms();
	size_t          i, took;

	pthread_mutex_lock(&f->mu);
	took = cflow_takeover(f->cf, gone, takeover_owner, &to, took_one, &to);
	f->taken_over += took;
	pthread_mutex_unlock(&f->mu);
	pthread_mutex_lock(&pd->engine_mu);
	for (i = 0; i < to.n; i++) {
		if (to.t[i].link == FLOWSYNC_LINK_NONE ||
		    (s = session_by_id(pd, to.t[i].session)) == NULL ||
		    s->index_of[to.t[i].link] == LINK_NONE)
			continue;
		(void)engine_flow_assign(
		    s->engine, &to.t[i].key, s->index_of[to.t[i].link], 0, now);
	}
	pthread_mutex_unlock(&pd->engine_mu);
	if (took > 0)
		log_info("cluster: node %u left: this node took over %zu of "
			 "its flows",
		    gone, took);
	free(to.t);
}

void
fwd_member(void *arg, uint32_t node, int joined, uint32_t incarnation)
{
	struct fwd *f = arg;

	if (node == 0 || node >= NODES)
		return;
	popd_world_lock(f->pd);
	(void)director_set_live(f->dir, node, joined);
	f->live[node] = (uint8_t)(joined != 0);
	pthread_mutex_lock(&f->mu);
	if (node != f->self) {
		(void)clusterlink_peer_remove(f->link, node);
		if (joined)
			(void)clusterlink_peer_add(f->link, node, incarnation);
	}
	pthread_mutex_unlock(&f->mu);
	/* This node out of the group keeps its own flows. */
	if (!joined && node != f->self)
		takeover(f, node);
	popd_world_unlock(f->pd);
}

/* ------------------------------------------------------------ start */

/*
 * Says once, at start, of each member whose route leaves by a device of
 * a smaller MTU than a site's full-size datagram needs on the cluster
 * link (a site's link MTU of 1500, plus CW_OVERHEAD), that forwarded
 * datagrams will be fragmented (doc/CLUSTER.md, "The wire format"):
 * nothing else would tell, but the fragments' cost and udpio's refused
 * segmented sends.  A member not routable yet is not judged.
 */
static void
mtu_check(const struct fwd *f, const struct config_cluster *cc)
{
	size_t i;
	int    fd, mtu, need;
	char   a[ADDR_STRLEN];

	for (i = 0; i < cc->nmembers; i++) {
		uint32_t               id = cc->members[i].node;
		const struct sockaddr *sa =
		    (const struct sockaddr *)&f->addr[id];
		socklen_t len = sizeof(mtu);

		if (id == f->self || f->addrlen[id] == 0)
			continue;
		if ((fd = socket(
			 sa->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
			continue;
		mtu = 0;
		if (connect(fd, sa, f->addrlen[id]) == 0 &&
		    (sa->sa_family == AF_INET
			    ? getsockopt(fd, IPPROTO_IP, IP_MTU, &mtu, &len)
			    : getsockopt(fd, IPPROTO_IPV6, IPV6_MTU, &mtu,
				  &len)) == 0) {
			need = 1500 + CW_OVERHEAD +
			    (sa->sa_family == AF_INET ? 0 : 20);
			if (mtu > 0 && mtu < need)
				log_warnx("cluster: node %u (%s) is reached "
					  "with an MTU of %d: a site's "
					  "1500-byte datagram forwarded there "
					  "is %d bytes and will be "
					  "fragmented; give the cluster "
					  "network an MTU of %d or more",
				    id,
				    addr_ntop(
					&cc->members[i].address, a, sizeof(a)),
				    mtu, need, need);
		}
		close(fd);
	}
}

struct fwd *
fwd_start(struct popd *pd, char *err, size_t errlen)
{
	const struct config_cluster *cc = &pd->conf->cluster;
	struct director_member       dm[CONFIG_CLUSTER_MEMBERS_MAX];
	struct clusterkey            key;
	struct wp_hash_key           hk;
	struct fwd                  *f;
	struct timeval               tv = {0, TICK_MS * 1000};
	struct udpio_conf            uc;
	size_t                       i, max;
	char                         a[ADDR_STRLEN];
	uint32_t                     t;

	if (clusterkey_load(cc->key_file, &key, err, errlen) == -1)
		return NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		snprintf(err, errlen, "cluster: out of memory");
		clusterkey_wipe(&key);
		return NULL;
	}
	f->pd = pd;
	f->self = cc->node;
	f->fd = -1;
	pthread_mutex_init(&f->mu, NULL);
	for (i = 0; i < FLOW_NCLASS; i++) {
		t = pd->conf->flow_timeouts.s[i];
		if ((uint64_t)t * 1000 > f->idle_ms)
			f->idle_ms = (uint64_t)t * 1000;
	}
	if (f->idle_ms == 0)
		f->idle_ms = 300000;
	max = pd->conf->flows_max > 0 ? pd->conf->flows_max : 65536;
	if (max > CFLOW_MAX_ENTRIES)
		max = CFLOW_MAX_ENTRIES;
	for (i = 0; i < cc->nmembers; i++) {
		dm[i].id = cc->members[i].node;
		dm[i].weight = 1;
		dm[i].live = 0;
		f->addrlen[dm[i].id] = addr_to_sockaddr(
		    &cc->members[i].address, cc->port, &f->addr[dm[i].id]);
	}
	if (clusterkey_hash_key(&key, &hk) == -1 ||
	    (f->dir = director_new(&hk)) == NULL ||
	    director_set_members(f->dir, dm, cc->nmembers) == -1 ||
	    (f->link = clusterlink_new(&key, f->self,
		 pd->cluster != NULL ? cluster_incarnation(pd->cluster) : 0,
		 realtime_ns(), CLUSTERLINK_LIMIT)) == NULL ||
	    (f->cf = cflow_new(f->self, max, SYNC_QUEUE_MAX)) == NULL) {
		snprintf(err, errlen, "cluster: out of memory");
		goto fail;
	}
	clusterkey_wipe(&key);
	explicit_bzero(&hk, sizeof(hk));
	/* IP_FREEBIND: the address need not be up yet (a bond or VLAN of
	 * the cluster network coming up after popd, as systemd's
	 * FreeBind=); until it is, nothing arrives. */
	if ((f->fd = dataplane_bind_free(
		 &cc->address, cc->port, SOCK_DGRAM, 1)) == -1) {
		snprintf(err, errlen, "cluster link %s port %u: %s",
		    addr_ntop(&cc->address, a, sizeof(a)), cc->port,
		    strerror(errno));
		goto fail;
	}
	(void)udpio_bufsize(f->fd, LINK_SOCKBUF, NULL, NULL);
	/* Each worker's queue to send on, then the main loop's reading:
	 * an udpio without GRO turns it off on the fd, so the reader's
	 * comes last.  The senders need no large receive buffers. */
	memset(&uc, 0, sizeof(uc));
	uc.batch = TX_BATCH;
	uc.rx_size = CW_MAX_PKT;
	uc.tx_size = TX_BYTES;
	uc.tx_max = TX_DGRAMS;
	uc.flags = UDPIO_NO_GRO | (pd->conf->offload ? 0 : UDPIO_NO_OFFLOAD);
	for (i = 0; i < pd->nworkers; i++)
		if ((f->tx[i].io = udpio_new(f->fd, &uc)) == NULL) {
			snprintf(err, errlen, "cluster link: batched I/O: %s",
			    strerror(errno));
			goto fail;
		}
	memset(&uc, 0, sizeof(uc));
	uc.rx_size = CW_MAX_PKT; /* raised to a GRO message's with GRO */
	uc.tx_size = CW_MAX_PKT; /* sends nothing */
	uc.tx_max = 1;
	uc.flags = pd->conf->offload ? 0 : UDPIO_NO_OFFLOAD;
	if ((f->rx = udpio_new(f->fd, &uc)) == NULL) {
		snprintf(err, errlen, "cluster link: batched I/O: %s",
		    strerror(errno));
		goto fail;
	}
	f->lsn4 = lsn_for(pd, AF_INET);
	f->lsn6 = lsn_for(pd, AF_INET6);
	if ((f->rx_ev = event_new(
		 pd->base, f->fd, EV_READ | EV_PERSIST, rx_cb, f)) == NULL ||
	    event_add(f->rx_ev, NULL) == -1 ||
	    (f->tick_ev = event_new(pd->base, -1, EV_PERSIST, tick_cb, f)) ==
		NULL ||
	    event_add(f->tick_ev, &tv) == -1) {
		snprintf(err, errlen, "cluster: out of memory");
		goto fail;
	}
	log_info("cluster: link on %s port %u, %zu flow entries at most",
	    addr_ntop(&cc->address, a, sizeof(a)), cc->port, max);
	mtu_check(f, cc);
	return f;
fail:
	clusterkey_wipe(&key);
	explicit_bzero(&hk, sizeof(hk));
	fwd_stop(f);
	return NULL;
}

void
fwd_stop(struct fwd *f)
{
	size_t i;

	if (f == NULL)
		return;
	if (f->rx_ev != NULL)
		event_free(f->rx_ev);
	if (f->tick_ev != NULL)
		event_free(f->tick_ev);
	for (i = 0; i < PROTO_MAX_WORKERS; i++)
		udpio_free(f->tx[i].io);
	udpio_free(f->rx);
	if (f->fd >= 0)
		close(f->fd);
	director_free(f->dir);
	clusterlink_free(f->link);
	cflow_free(f->cf);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

/* ------------------------------------------------------------ counters */

/* The cluster link's batched I/O: the main loop's reading and every
 * worker's sending, summed; under the world lock (each worker's udpio
 * is its mu's). */
static json_t *
link_io_json(struct fwd *f)
{
	const struct udpio_stats *s;
	struct udpio_stats        u;
	unsigned                  k, off;

	memset(&u, 0, sizeof(u));
	s = udpio_stats(f->rx);
	off = udpio_offloads(f->rx) & UDPIO_GRO;
	u.rx_syscalls = s->rx_syscalls;
	u.rx_dgrams = s->rx_dgrams;
	u.rx_gro_split = s->rx_gro_split;
	for (k = 0; k < f->pd->nworkers; k++) {
		s = udpio_stats(f->tx[k].io);
		off |= udpio_offloads(f->tx[k].io) & UDPIO_GSO;
		u.tx_syscalls += s->tx_syscalls;
		u.tx_dgrams += s->tx_dgrams;
		u.tx_gso_msgs += s->tx_gso_msgs;
		u.tx_dropped += udpio_tx_failed(s);
	}
	return json_pack("{s:b,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "udp_gro",
	    (off & UDPIO_GRO) != 0, "udp_gso", (off & UDPIO_GSO) != 0,
	    "recv_calls", (json_int_t)u.rx_syscalls, "dgrams_in",
	    (json_int_t)u.rx_dgrams, "gro_msgs", (json_int_t)u.rx_gro_split,
	    "send_calls", (json_int_t)u.tx_syscalls, "dgrams_out",
	    (json_int_t)u.tx_dgrams, "gso_msgs", (json_int_t)u.tx_gso_msgs,
	    "tx_failed", (json_int_t)u.tx_dropped);
}

json_t *
fwd_json(struct fwd *f)
{
	const struct clusterlink_counters *lc;
	json_t                            *peers, *drops, *ldrops, *io, *j;
	size_t                             i;

	if (f == NULL || (peers = json_array()) == NULL)
		return NULL;
	popd_world_lock(f->pd);
	io = link_io_json(f);
	popd_world_unlock(f->pd);
	if ((drops = json_object()) == NULL ||
	    (ldrops = json_object()) == NULL) {
		json_decref(peers);
		json_decref(drops);
		json_decref(io);
		return NULL;
	}
	pthread_mutex_lock(&f->mu);
	for (i = 1; i < NODES; i++) {
		if (f->addrlen[i] == 0 || i == f->self)
			continue;
		json_array_append_new(peers,
		    json_pack("{s:I,s:b,s:I,s:I,s:I,s:I}", "node",
			(json_int_t)i, "live", f->live[i], "tx_packets",
			(json_int_t)f->peer[i].tx_packets, "tx_bytes",
			(json_int_t)f->peer[i].tx_bytes, "rx_packets",
			(json_int_t)f->peer[i].rx_packets, "rx_bytes",
			(json_int_t)f->peer[i].rx_bytes));
	}
	for (i = 0; i < FD_NREASONS; i++)
		json_object_set_new(
		    drops, drop_name[i], json_integer((json_int_t)f->drops[i]));
	lc = clusterlink_counters(f->link);
	for (i = 1; i < CW_NREASONS; i++)
		json_object_set_new(ldrops, cw_err_str(-(int)i),
		    json_integer((json_int_t)lc->drops[i]));
	j = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
		      "s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:o*}",
	    "handled", (json_int_t)f->handled, "forwarded",
	    (json_int_t)f->forwarded, "firsts_sent", (json_int_t)f->firsts_sent,
	    "firsts_received", (json_int_t)f->firsts_received, "hints_sent",
	    (json_int_t)f->hints_sent, "hints_received",
	    (json_int_t)f->hints_received, "flows_owned",
	    (json_int_t)f->cf->owned, "backups_held",
	    (json_int_t)(f->cf->n - f->cf->owned), "flows_max",
	    (json_int_t)f->cf->max, "flows_created", (json_int_t)f->cf->created,
	    "taken_over", (json_int_t)f->taken_over, "sync_queue_depth",
	    (json_int_t)f->cf->qlen, "sync_queue_max", (json_int_t)f->cf->qmax,
	    "sync_queue_overflows", (json_int_t)f->cf->q_overflows,
	    "flow_messages_sent", (json_int_t)f->flow_msgs_sent,
	    "flow_messages_received", (json_int_t)f->flow_msgs_received,
	    "flow_messages_bad", (json_int_t)f->flow_msgs_bad,
	    "flow_entries_sent", (json_int_t)f->flow_entries_sent, "sealed",
	    (json_int_t)lc->sealed, "opened", (json_int_t)lc->opened, "peers",
	    peers, "drops", drops, "link_drops", ldrops, "link_io", io);
	pthread_mutex_unlock(&f->mu);
	return j;
}
