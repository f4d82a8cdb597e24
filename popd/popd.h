/*
 * wanpair-popd's state: one process, one event loop (DESIGN.md section 3).
 * The skeleton (daemon/daemon.h) runs it through popd_ops (ops.c, which
 * sets it up); control.c serves the TLS control channel and turns a HELLO
 * into a session; dataplane.c moves packets between the sites' links (one
 * UDP socket per "listen" entry) and the TUN device.
 */
#ifndef WANPAIR_POPD_H
#define WANPAIR_POPD_H

#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>
#include <event2/listener.h>
#include <net/if.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "cluster.h"
#include "config.h"
#include "crypto.h"
#include "ctlmsg.h"
#include "ctlsock.h"
#include "daemon.h"
#include "dataev.h"
#include "dupwire.h"
#include "dpworker.h"
#include "engine.h"
#include "forward.h"
#include "limit.h"
#include "lpm.h"
#include "log.h"
#include "tun.h"
#include "tunnel.h"
#include "udpio.h"

#define LINK_NONE 0xff

struct popd;
struct site;

/*
 * A site's data-plane session: made from a HELLO, keyed from that TLS
 * session, and kept when the control channel drops so that traffic goes
 * on until the Socket's next HELLO replaces it, for session_grace_s at
 * most (dataplane.c, session_expire()).
 */
struct session {
	struct site *site;
	struct conn *conn;        /* its control connection while it lasts */
	uint64_t     detached_ms; /* first seen without conn, 0 with one */
	uint32_t     id;
	/* By popd worker (pd->nworkers of them, in the session's own
	 * allocation): each seals down under keys of its own and opens
	 * what the Socket's workers steered to it sealed (tunnel.h,
	 * tunnel_set_workers()); worker w's only under w's mu. */
	struct tunnel **tun;
	unsigned        ntun;
	uint32_t        rekey_said; /* the last epoch announced, + 1 */
	/* Its site's (site->engine), pointed at this session's links by
	 * session_new(); a session never frees it.  What follows, but for
	 * what session_new() sets, is pd->engine_mu's: workers write it. */
	struct engine *engine;

	/* What the engine balances by (session_spec()). */
	struct balance_spec spec;

	size_t           nlinks;
	struct ctl_link *links;                      /* engine index order */
	uint8_t          index_of[CONFIG_MAX_LINKS]; /* link id -> index */

	/*
	 * Per link, by engine index (0 .. nlinks - 1): arrays of nlinks in
	 * the session's own allocation (session_new()), not of
	 * CONFIG_MAX_LINKS: a site has a few links, and 32 of each cost
	 * 7.6 KiB a session, at 10,000 sites 74 MiB.
	 */
	struct sockaddr_storage *endpoint;
	socklen_t               *endpoint_len;
	/* the data socket group (pd->lsn) its last authenticated datagram
	 * came in on: replies leave by it, from the address the Socket sent
	 * to */
	uint8_t  *endpoint_lsn;
	uint64_t *endpoint_moves; /* NAT rebinding, roaming */
	uint64_t *new_flows;
	uint64_t *tx_packets;
	uint64_t *tx_bytes;
	uint64_t *rx_packets;
	uint64_t *rx_bytes;
	/* link health as the PoP sees it: silence takes a link down */
	uint64_t *rx_last_ms; /* last authenticated packet */
	uint8_t  *link_down;
	/* the Socket said it is down (LINK_STATE, a link-down notice) and
	 * has not said up since: its probes arriving again do not bring
	 * it back while another link is up, for the Socket may hear
	 * nothing on it (a link dead one way only).  Not inherited by a new session: after WELCOME the
	 * Socket restates every link it sees down. */
	uint8_t  *socket_down;
	uint32_t *probes_back; /* probes since it went down */
	/* the number of the last link-down notice (proto/linkdown.h)
	 * applied to it: copies and stale ones are not newer */
	uint32_t *linkdown_seq;

	/* the Socket's flow moves (REASSIGN): in all, and in the batch
	 * being received (reset by its chunk 0) */
	uint64_t reassign_moved, reassign_inserted, reassign_refused;
	uint64_t reassign_batches; /* whole batches (last chunk) applied */
	size_t   ra_moved, ra_inserted, ra_same, ra_refused;

	/*
	 * Duplication (common/dup.h).  dtx: by popd worker (ntun of them),
	 * each sender worker's stream of numbers and rate buckets, worker
	 * w's only.  drx: a window per Socket worker's stream; the worker
	 * that opens a Socket worker's datagrams (tunnel_set_workers())
	 * is the only one that touches its window.  dup_rank: each link's
	 * rank as the Socket last reported it (LINK_STATE), by engine
	 * index, pd->engine_mu's.
	 */
	struct dup_tx *dtx;
	struct dup_rx *drx;
	uint64_t       dup_rank[CONFIG_MAX_LINKS];

	/* In a cluster (cluster-session.c): the session as the members
	 * share it, its keys by worker byte; NULL without a cluster. */
	struct cs_state *cs;
};

struct site {
	const struct config_site *conf;
	struct session           *session; /* NULL until the first HELLO */
	/* Its connection past the certificate check and not closing, the
	 * one a newer connection replaces (control.c), or NULL. */
	struct conn *conn;
	/* Its return flows, at most conf->flows_max of pd->flow_pool: made
	 * with the site (start, reload), kept from one session to the
	 * next, so that a HELLO allocates no table. */
	struct engine *engine;
	int            routes_installed;
	/* pd->engine_mu's, as its engine */
	uint64_t drop_spoofed;
	uint64_t drop_no_endpoint;
	uint64_t drop_no_link;    /* every link down */
	uint64_t drop_table_full; /* a new flow, no entry to be had */
	/* the Socket's link-down notices on the data plane, of every
	 * session (a failover that moves the control channel makes a new
	 * one): authentic copies received, and those that took a link
	 * down */
	uint64_t             linkdown_rx, linkdown_applied;
	struct log_ratelimit link_log; /* link changes, at info */
	/* In a cluster: the site's last session ids that ended or were
	 * replaced here, never installed again (cluster-session.c) */
	uint32_t cs_dead[4];
	unsigned cs_dead_next;
};

/* One control connection, from accept to close. */
struct conn {
	struct popd        *pd;
	struct bufferevent *bev;
	struct site        *site; /* from the certificate, after handshake */
	int                 welcomed;
	int                 closing; /* BYE sent, flushing it */
	/* in pd->pending from accept until the certificate is verified */
	struct limit_pending_entry pend;
	struct event       *deadline_ev; /* accept + handshake_timeout_s */
	struct limit_bucket frames;      /* limits.frames_per_s */
	struct limit_bucket input;       /* limits.input_kib_per_s, bytes */
	struct event       *resume_ev;   /* its frames wait for input */
	char                peer[64];
	unsigned            lsn; /* the listen entry it came in on */
	/* pd->conns: a reload re-points or closes them (reload.c) */
	struct conn  *next;
	struct conn **prevp;
};

/*
 * One "listen" entry at run time: its UDP data sockets, one per worker,
 * and its TCP control listener, bound to the entry's address and ports
 * (IPv6 ones IPV6_V6ONLY, so that an IPv4 and an IPv6 entry can share
 * ports).  With more than one worker the data sockets are one
 * SO_REUSEPORT group, in which the kernel hands a datagram to the socket
 * of worker (its worker byte % workers): the worker whose tunnels hold
 * that sender's replay windows (dataplane.c, udp_group()).
 */
struct popd_listen {
	struct popd           *pd;
	unsigned               idx; /* in pd->lsn and conf->endpoints */
	int                    udp_fd[PROTO_MAX_WORKERS];
	struct udpio          *uio[PROTO_MAX_WORKERS]; /* their batches */
	struct event          *udp_ev; /* worker 0's, on the main loop */
	struct evconnlistener *listener;
};

/* Datagrams a worker opens before it applies what they taught, and
 * packets it classifies under one hold of pd->engine_mu. */
#define PWORKER_BATCH 256

/* What one authenticated datagram teaches its session (the link is
 * alive, where it is now, what it carried): applied under
 * pd->engine_mu once per batch (dataplane.c, up_apply()). */
struct pw_learn {
	struct session         *s;
	uint8_t                 idx, lsn, probe, spoofed;
	uint32_t                len;
	socklen_t               fromlen;
	struct sockaddr_storage from;
};

/* Where a packet from the TUN device goes, decided under
 * pd->engine_mu: sealed after it, by the worker's own tunnel. */
struct pw_send {
	struct session         *s; /* NULL: dropped */
	uint8_t                 idx, lsn;
	socklen_t               tolen;
	struct sockaddr_storage to;
	/* a duplicating profile's packet sent twice (dup.h): the second
	 * copy's link (index; LINK_NONE: sent once) and where it goes */
	uint8_t                 dup_idx, dup_lsn;
	socklen_t               dup_tolen;
	struct sockaddr_storage dup_to;
	/* a cluster's decision (forward.h): fv.act not CFLOW_HANDLE (0)
	 * with s NULL: the packet goes to another member */
	struct fwd_verdict fv;
};

/*
 * A data-plane worker (DESIGN.md section 3), as socketd's: worker 0 runs
 * on the main loop, each other one in a thread of its own, polling its
 * queue of the TUN device and its socket of each listen entry.  The
 * rules:
 * - a worker holds its mu for a whole batch, and touches its own state
 *   (its tunnel of each session, TUN queue, sockets, counters, event
 *   queue) only under it;
 * - the main loop takes every worker's mu (popd_world_lock(), in id
 *   order) to change what workers read without a lock of theirs: the
 *   sites, their sessions and the session index, the LAN lookup, the
 *   configuration;
 * - what workers share is pd->engine_mu's: the sites' engines and
 *   fragment cache, each session's per-link state (endpoints, silence,
 *   counters) and the sites' drop counters; taken once per batch by a
 *   worker, always after its mu, never before, and by the main loop
 *   around whatever reads or changes them.
 */
struct pworker {
	struct popd *pd;
	/* its id, mu and, but for worker 0, thread (daemon/dpworker.h) */
	struct dpw         t;
	struct tun_dev    *td; /* worker 0: &pd->tundev; others: t.queue */
	struct tunnel_evq *q;  /* worker 0: &pd->dataev.q; others: t.own_q */
	uint64_t           batch_ms;
	/* packets dropped, by reason: the tunnel's, then popd's */
	struct tunnel_drops drops;
	uint64_t            drop_no_site, drop_parse;
	uint64_t            drop_no_grant; /* csync_can_seal() said no */
	struct dup_counters dupc;          /* duplicates, both directions */
	/* a duplicate being built: its header and the inner packet */
	uint8_t dupbuf[DUPWIRE_HDR_LEN + WIRE_MAX_INNER];
	/* one batch's datagrams' lessons, and packets' links */
	size_t          nlearn;
	struct pw_learn learn[PWORKER_BATCH];
	struct pw_send  send[PWORKER_BATCH];
};

struct popd {
	struct config     *conf;
	struct event_base *base;
	time_t             started;
	struct daemon     *daemon; /* the skeleton (daemon/daemon.h) */

	struct tun_dev tundev;

	struct popd_listen lsn[CONFIG_LISTEN_MAX]; /* conf->endpoints' */
	size_t             nlsn;

	/* the data-plane workers (config_workers()), worker 0 first */
	struct pworker *w;
	unsigned        nworkers;
	pthread_mutex_t engine_mu; /* see struct pworker */

	/* what the datagram loops raise for the main loop (tunnel.h),
	 * drained once their batch is done (daemon/dataev.h, listen.c) */
	struct dataev dataev;

	struct event *health_ev;
	/* A walk over the sites goes HEALTH_CHUNK sites a callback (from
	 * health_next, 0 between walks), the rest made active at once, so
	 * that data events run between chunks: a walk of 10,000 sites held
	 * the loop about 10 ms every tenth of a probe interval. */
	struct event *health_more_ev;
	size_t        health_next;

	SSL_CTX             *ssl_ctx;
	struct event        *accept_ev; /* resumes accepting after EMFILE */
	struct limit_pending pending;   /* connections before their site */
	size_t               nconns;    /* in conns, pending and closing too */
	/* "control" in the counters (popd/counters.c) */
	uint64_t            refused; /* refused_per_source + refused_total */
	uint64_t            refused_per_source, refused_total;
	uint64_t            handshake_timeouts, handshakes_evicted, replaced;
	uint64_t            handshake_failures; /* ended before WELCOME */
	uint64_t            output_overflows, rate_limited, bad_frames;
	uint64_t            input_throttled; /* frames held by an input limit */
	struct limit_bucket input_total;     /* limits.input_total_kib_per_s */
	struct log_ratelimit peer_log; /* what unauthenticated peers cause */
	struct log_ratelimit site_log; /* what sites' connections cause */

	/* flows.max entries, every site's table over it (site->engine) */
	struct flow_pool  *flow_pool;
	struct frag_cache *frags; /* the sites' engines share it too */
	struct site       *sites;
	size_t             nsites;
	/* Bumped each time sites is replaced (reload.c): ctl.c's walks
	 * over the sites, which span event-loop turns, hold indexes. */
	uint64_t sites_gen;
	/* the sites' LAN prefixes, to their index in sites (session.c);
	 * made and replaced with sites */
	struct lpm *site_lpm;
	/* the sites' certificate identities, to their index in sites
	 * (session.c); made and replaced with sites */
	struct site_ids *site_ids;
	struct conn     *conns; /* every control connection */

	struct session **sess_index; /* by id, see session_by_id() */
	uint32_t         sess_mask;

	uint64_t sessions_expired; /* ended by session_grace_s */

	/* popd.json's "cluster": NULL without one (cluster.h), and its
	 * packet forwarding (forward.h) */
	struct cluster *cluster;
	struct fwd     *fwd;
	/* its sessions' sync (cluster-session.c), NULL without one */
	struct csync *csync;
	/* this node's position in cluster.members and their number (0
	 * without a cluster): it seals with the worker bytes of the slot
	 * its session's holder granted it (cluster-session.c), and says
	 * every slot's bytes in WELCOME (popd_wire_workers()) */
	unsigned cl_pos, cl_members;
};

/* ctl.c: the control socket's requests (the skeleton answers counters
 * and reload) */
json_t *popd_answer(void *, const struct ctlsock_req *, struct ctlsrv_rows *);

/* cluster-ctl.c: `wanpairctl cluster`, and the cluster's start and stop
 * (cluster.h) as popd's start and stop call them */
json_t *popd_cluster_answer(struct popd *);
int     popd_cluster_start(struct popd *);
/* The "cluster" object: the membership's and the forwarding's. */
json_t *popd_cluster_json(struct popd *);

/* control.c: one connection, its frames, HELLO to a session */
/* A tunnel_derive_fn over a struct session: keys of its TLS session, -1
 * once its connection is gone. */
int control_derive(
    void *, uint32_t epoch, int up, uint8_t worker, uint8_t key[AEAD_KEY_LEN]);
void control_send_rekey(struct session *, uint32_t epoch);
/* The site's LAN routes into the TUN device, once (its first session:
 * from a HELLO, or a cluster member's backup). */
void install_routes(struct popd *, struct site *);
/* A new connection's callbacks, which listen.c installs, and its end
 * without a BYE (it unlinks and frees the connection). */
void conn_read(struct bufferevent *, void *);
void conn_event(struct bufferevent *, short, void *);
void conn_resume(evutil_socket_t, short, void *);
void conn_free(struct conn *);
/* c, its certificate verified (c->site set), becomes its site's one
 * connection: the site's other one is closed (BYE, "replaced"). */
void conn_take_site(struct conn *);
/* listen.c: the listener (accept under limits, the TLS context) and the
 * drain of the data plane's events; it calls control.c, never back. */
int  control_init(struct popd *);
int  control_start(struct popd *);
void control_stop(struct popd *);
/* reload.c: daemon_reload()'s hooks (daemon/daemon.h), as socketd's. */
int  popd_reload_begin(void *, struct daemon_reload *);
void popd_reload_commit(void *, struct daemon_reload *);
void popd_reload_abort(void *, struct daemon_reload *);

/* Says BYE with `why` and closes once it is flushed. */
void control_close(struct conn *, const char *why);

/* dataplane.c */
/* A worker's batch of the TUN device, and of its socket of listen entry
 * l; under its mu (workers.c calls them, and the main loop's events for
 * worker 0). */
void dataplane_tun_work(struct pworker *);
void dataplane_udp_work(struct pworker *, struct popd_listen *l);
/*
 * Packets another member forwarded (forward.h), on the main loop under
 * w's mu.  A run of sites' datagrams: dataplane_cluster_begin(), then
 * each with dataplane_cluster_site(), as if it came in on listen entry
 * lsn from d->from, then dataplane_cluster_end() writes and sends what
 * they queued.  Packets for sites, n <= PWORKER_BATCH: as one batch
 * read from the TUN (ctx[i] the i-th's), classified under one hold of
 * the engine's lock, and sent.
 */
void dataplane_cluster_begin(struct pworker *);
void dataplane_cluster_site(struct pworker *, uint8_t lsn,
    const struct udpio_dgram *d, const struct fwd_ctx *ctx);
void dataplane_cluster_end(struct pworker *);
void dataplane_cluster_tun(struct pworker *, uint8_t *const *pkts,
    const size_t *lens, const struct fwd_ctx *ctx, unsigned n);
/* Sends what a worker's batch queued on its sockets, the cluster
 * link's too. */
void dataplane_send_all(struct pworker *);
/* A socket of `type` (SOCK_DGRAM, SOCK_STREAM) bound to a listen entry's
 * address and port, nonblocking, IPv6 ones IPV6_V6ONLY: the fd, or -1
 * with errno. */
int dataplane_bind(const struct wp_addr *, uint16_t port, int type);
/* The same, with IP_FREEBIND if freebind: the address need not be up. */
int dataplane_bind_free(
    const struct wp_addr *, uint16_t port, int type, int freebind);
int  dataplane_start(struct popd *);
void dataplane_stop(struct popd *);
/* A site's link down or up as the PoP sees it, its flows following;
 * under pd->engine_mu. */
void session_link_state(
    struct session *, unsigned idx, int up, const char *why);
/* The Socket's link-down notice number seq for its wire link id `link`
 * (proto/linkdown.h): takes the link down unless the notice is a copy or
 * older than the last one applied to it; counted either way.  Under
 * pd->engine_mu. */
void session_link_down_notice(
    struct session *, uint8_t link, uint8_t cause, uint32_t seq);
/*
 * A probe arrived on link idx: if the link is down as the PoP sees it and
 * the Socket has not said so (socket_down; or every other link is down
 * too), it counts toward up_after;
 * returns 1 when the link has had up_after of them (session_link_back()
 * then holds).  Under pd->engine_mu.
 */
int session_probe_back(struct session *, unsigned idx, uint32_t up_after);
/* Is down link idx to come up now (up_after probes since it went down,
 * and the Socket not saying it is down)?  Under pd->engine_mu. */
int session_link_back(const struct session *, unsigned idx, uint32_t up_after);
/* Applies one REASSIGN chunk of the Socket's to the session's flows;
 * under pd->engine_mu. */
void session_reassign(struct session *, const struct ctl_reassign *);
/*
 * The Socket's service-level verdicts on link idx (LINK_STATE's
 * "degraded", wanpair.json(5) "Service levels"): each profile of conf
 * named there is degraded on it, every other compliant, so that new
 * return flows of those profiles avoid it as the Socket's new flows do.
 * Flows move only by the Socket's REASSIGN.  Changes are logged.
 */
void session_link_sla(struct session *, const struct config *conf, unsigned idx,
    const struct ctl_link_state *);
/* Link idx's degraded profiles: with `all`, an object {"profile",
 * "degraded": bool} for every profile of conf (the metrics' gauge),
 * else the names of the degraded ones.  NULL if out of memory. */
json_t *session_sla_json(
    const struct session *, const struct config *conf, unsigned idx, int all);
void session_free(struct session *);

/* The balancing spec of a site's engine: pd->conf's profiles over the
 * site's links, by their down_mbps, with one default route per family
 * and link.  Returns 0, or -1 on allocation failure with *spec empty;
 * balance_spec_clear() it. */
int session_spec(const struct popd *, const struct ctl_link *links,
    size_t nlinks, struct balance_spec *spec);

/* Takes over old's endpoints and link states (the flows are the site's
 * already: session_new()); under the world lock and pd->engine_mu, as
 * session_new(), session_end() and session_index_swap(). */
void session_inherit(struct session *, struct session *old);
/* The site's session ends with no successor (grace over, identity
 * changed, site removed): out of the index, freed, its flows dropped. */
void session_end(struct popd *, struct site *);
/* A site's engine over pd->flow_pool, capped at conf's flows_max, with
 * no links until its first session; NULL if out of memory. */
struct engine *site_engine_new(
    const struct popd *, const struct config_site *conf);
void session_index_swap(struct popd *, struct session *old, struct session *s);
/* session.c */
/* The LAN prefixes of conf's sites, each to its site's index (that of
 * pd->sites made from conf); NULL if out of memory. */
struct lpm *site_lpm_new(const struct config *conf);
/*
 * The sites of conf by certificate identity: a table keyed by SipHash
 * (a fresh key each) of the lowercased identity, so that a verified
 * certificate finds its site in one lookup per name it carries, whatever
 * the number of sites (control.c, conn_event()).  NULL if out of memory
 * or the kernel gives no hash key.  It points into conf: free it before.
 */
struct site_ids *site_ids_new(const struct config *conf);
void             site_ids_free(struct site_ids *);
/* The index in conf->sites of the site whose identity is `name` (equal
 * but for ASCII case, as tls_name_eq()), or -1. */
long site_ids_find(const struct site_ids *, const char *name);
/* The site the verified peer certificate of ssl names, or NULL: of the
 * sites its names match, the first in the configuration, as a walk over
 * the sites with tls_peer_matches() would find. */
struct site *site_by_peer(const struct popd *, SSL *ssl);
/* 1 if one of the site's LAN prefixes holds the address (raw bytes of
 * family): where it may send from.  site_has() walks the site's prefixes
 * (the control side: REASSIGN); site_holds(), for the packet path, asks
 * pd->site_lpm, in steps bounded by the address's length, for a site of
 * pd->sites.  They agree for every configuration popd.json accepts (no
 * two sites share a prefix). */
int site_has(const struct config_site *, int family, const uint8_t *a);
int site_holds(
    const struct popd *, const struct site *, int family, const uint8_t *a);
/* The site whose LAN holds the address most specifically, or NULL: where
 * return traffic goes. */
struct site *site_for(const struct popd *, int family, const uint8_t *a);
#define HEALTH_CHUNK 500
/* The next HEALTH_CHUNK sites of the walk at now: sessions without a
 * channel past their grace end, flows expire, silent links go down.
 * Returns 1 if the walk has more sites, 0 when it is done. */
int health_walk(struct popd *, uint64_t now);
/* The health ticks' period for pd->conf (a tenth of probe.interval_ms,
 * 1 ms at least), in *tv, which it returns. */
struct timeval *health_period(const struct popd *, struct timeval *tv);
/* Every key from derive (over the new session, whose conn it is): epoch
 * 0's now, for each worker of this end's and each of the HELLO's.  The
 * site's engine is pointed at the HELLO's links, its flows following
 * their links by name (a link no longer announced fails over); NULL, the
 * engine unchanged, if out of memory. */
struct session *session_new(struct popd *, struct site *, struct conn *,
    const struct ctl_hello *, uint32_t id, tunnel_derive_fn derive);
/* session_new() in two steps: session_make() all but the engine (keys,
 * the balancing spec: nothing the workers see, so outside the world
 * lock), then session_attach() the site's engine turned to its links
 * (under the world lock and pd->engine_mu): 0, or -1 if out of memory,
 * the engine unchanged and the session to be freed. */
/* cs (NULL without a cluster) becomes the session's, freed with it, also
 * on failure; its tunnels start at its epochs (csync_tunnel_start()). */
struct session *session_make(struct popd *, struct site *, struct conn *,
    const struct ctl_hello *, uint32_t id, tunnel_derive_fn derive,
    struct cs_state *cs);
int             session_attach(struct session *);
/* s (session_make()'s) becomes its site's session: session_attach(),
 * the site's session before it inherited (session_inherit()), swapped in
 * the index and freed.  Takes the world lock and pd->engine_mu.  0, or
 * -1 (s freed, nothing changed). */
int session_install(struct popd *, struct session *s);
/* The session of that id, or NULL: no walk over the sites. */
struct session *session_by_id(struct popd *, uint32_t id);

/* cluster-session.c: sessions across a cluster's members (doc/CLUSTER.md,
 * "Sessions across members"); every one a no-op without a cluster
 * (pd->csync NULL). */
/* Starts the sync, after cluster_start(): 0, or -1 with err. */
int csync_start(struct popd *, char *err, size_t errlen);
/* What the sync asks of the membership (cluster.h's cluster_member(),
 * cluster_incarnation(), cluster_mcast(), cluster_flush() over arg) and
 * of the TLS session (control_derive()), or a unit test's own. */
struct csync_membership {
	int (*member)(void *, size_t pos, uint32_t *node, uint32_t *inc);
	uint32_t (*incarnation)(void *);
	int (*mcast)(void *, const uint8_t *, size_t);
	void (*flush)(void *);
	/* the keys of a session this node holds: control_derive() */
	tunnel_derive_fn derive;
	void            *arg;
};
/* csync_start() over ms (the cluster's own is not told). */
int csync_start_with(
    struct popd *, const struct csync_membership *ms, char *err, size_t errlen);
void csync_stop(struct popd *);
/* The worker bytes the WELCOME announces. */
unsigned popd_wire_workers(const struct popd *);
/* A new session id: unique in the cluster (its top 5 bits are this
 * node's position), none of this node's sessions'. */
uint32_t csync_session_id(struct popd *);
/* The state of a session made here from a HELLO (this node holds it),
 * or NULL without a cluster (or out of memory: then NULL too, and the
 * session is made as without one, not backed up). */
struct cs_state *csync_own_state(struct popd *, unsigned socket_workers);
/* The derive function for a session with a cs: its TLS keys for one this
 * node holds, the holder's announced keys for a backup. */
int csync_derive(
    void *, uint32_t epoch, int up, uint8_t worker, uint8_t key[AEAD_KEY_LEN]);
/* Worker w's tunnel of s: its worker byte and epochs. */
void csync_tunnel_start(const struct popd *, const struct session *, unsigned w,
    struct tunnel_start *, uint32_t rx_epoch[PROTO_MAX_WORKERS]);
/* s (this node's) is announced to the members: made, rekeyed (before
 * REKEY), or the Socket's epoch moved.  Sent at once if corosync takes
 * it. */
void csync_announce(struct popd *, struct session *);
/* The same, sent from the loop's next turn: for a caller that may hold
 * the world lock or pd->engine_mu (which building a SESSION takes). */
void csync_announce_later(struct popd *, struct session *);
/* s's link states changed (session_link_state()): if this node holds
 * it, the members are told, from the loop's next turn. */
void csync_link_changed(struct session *);
/* 1 if s is a backup whose holder is in the group: not detached. */
int csync_vouched(const struct session *);
/* Whether this process may seal s's return packets and probe answers:
 * no cluster, its own session, or a backup granted a slot for this
 * incarnation.  Safe from the data plane's workers. */
int  csync_can_seal(const struct popd *, const struct session *);
void cs_state_free(struct cs_state *);
/* s (with a cs) ends here: its id is one its site never takes again. */
void csync_ended(struct session *);

/* workers.c: the data-plane workers (struct pworker) */
/* pd->w for config_workers(): 0, or -1 logged. */
int popd_workers_init(struct popd *);
/* What workers 1.. need root for (their TUN queues: pd->tundev is up)
 * and their eventfds and epoll sets: 0, or -1 logged. */
int popd_workers_open(struct popd *);
/* The threads, once popd runs detached and unprivileged. */
int  popd_workers_run(struct popd *);
void popd_workers_stop(struct popd *);
void popd_workers_free(struct popd *);
/* Every worker's mu, in id order: what workers read is the main loop's
 * to change. */
void popd_world_lock(struct popd *);
void popd_world_unlock(struct popd *);

/* counters.c */
/* Every counter, per site and link, as `wanpairctl counters --json` shows
 * it (schema in daemon/metrics.h) but the skeleton's own
 * (daemon_counters()); a new object the caller json_decref()s, or NULL. */
json_t *popd_counters(void *);

/* ops.c: the skeleton's operations */
extern const struct daemon_ops popd_ops;

#endif
