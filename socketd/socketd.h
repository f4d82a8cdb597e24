/*
 * wanpair-socketd's state: one process, one event loop (DESIGN.md
 * section 3).  The skeleton (daemon/daemon.h) runs it through
 * socketd_ops (ops.c, which sets it up); control.c runs the TLS
 * control channel to the PoP; dataplane.c moves packets between the TUN
 * device and the links' UDP sockets through the tunnel (common/tunnel.h);
 * links.c probes the links and acts on their events (and on what the
 * datagram loops queued) on the main loop.  Calls go links -> control ->
 * dataplane, never back.
 */
#ifndef WANPAIR_SOCKETD_H
#define WANPAIR_SOCKETD_H

#include <sys/socket.h>

#include <pthread.h>
#include <stdatomic.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>
#include <net/if.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "crypto.h"
#include "ctlsock.h"
#include "daemon.h"
#include "dataev.h"
#include "dpworker.h"
#include "dup.h"
#include "dupwire.h"
#include "engine.h"
#include "link.h"
#include "log.h"
#include "sla.h"
#include "tun.h"
#include "tunnel.h"
#include "udpio.h"

struct socketd;

/*
 * A link's UDP sockets, one per worker, bound to the link (its device or
 * source) and to one local port.  With one worker the socket is connected
 * to the PoP; with more they are one SO_REUSEPORT group, unconnected, in
 * which the kernel hands a datagram to the socket of worker
 * (its worker byte % workers): the worker whose tunnel has that sender's
 * replay windows (tunnel_set_workers()).
 */
struct lsocks {
	int           fd[PROTO_MAX_WORKERS]; /* -1: none */
	struct udpio *uio[PROTO_MAX_WORKERS];
};

/* What one worker counted on one link, padded to a cache line of its
 * own (no alignment attribute: calloc() promises 16 bytes only). */
struct slink_wc {
	uint64_t new_flows;
	uint64_t rx_packets, rx_bytes;
	uint64_t tx_errors;
	uint64_t pad[4];
};

/* One WAN link at run time. */
struct slink {
	struct socketd           *sd;
	const struct config_link *conf;
	uint8_t                   id; /* on the wire; kept by reloads */
	struct lsocks             s;  /* its sockets, by worker */
	struct event             *ev; /* worker 0's socket, on the main loop */
	/* the PoP's address and port: datagrams go there, and only what
	 * comes from there is opened (dataplane_pop_sockaddr()) */
	struct sockaddr_storage pop;
	socklen_t               poplen;
	/* the main loop's mirror of link_state() == LINK_UP, for workers */
	atomic_int up;
	/* its rank for the second copy of a duplicated packet (dup_rank():
	 * loss, then RTT), kept by the main loop from the probes */
	_Atomic uint64_t dup_rank;
	/* counters of sockets gone; dataplane_link_counters() adds the
	 * sockets' and the workers' */
	uint64_t           tx_packets, tx_bytes, tx_errors;
	struct slink_wc    wc[PROTO_MAX_WORKERS];
	struct link_health health;
	uint32_t           probe_seq;
	unsigned           ifindex; /* of conf->device, 0 if none */
};

/* A link's counters, all workers' and sockets' summed. */
struct slink_counters {
	uint64_t tx_packets, tx_bytes, tx_errors;
	uint64_t rx_packets, rx_bytes, new_flows;
};

/* Packets a worker classifies under one hold of the engine's lock: the
 * segments of a super-segment, or plain reads (daemon/tundev.h). */
#define SWORKER_BATCH 256

/*
 * A data-plane worker (DESIGN.md section 3).  Worker 0 runs on the main
 * loop; each other one in a thread of its own, polling its queue of the
 * TUN device and its socket of each link.  The rules:
 * - a worker holds its mu for a whole batch, and touches its own state
 *   (tunnel, TUN queue, sockets, counters, queue) only under it;
 * - the main loop takes a worker's mu to touch that state (keys, probes,
 *   counters), and every worker's (dataplane_world_lock(), in id order)
 *   to change what workers read without a lock of theirs: the links,
 *   the session, the keys;
 * - the flow engine is shared: its own lock, sd->engine_mu, taken once
 *   per batch by a worker and around every engine call of the main
 *   loop, always after a worker's mu, never before.
 */
struct sworker {
	struct socketd *sd;
	/* its id, mu and, but for worker 0, thread (daemon/dpworker.h) */
	struct dpw          t;
	int                 polled[CONFIG_MAX_LINKS]; /* its link sockets */
	size_t              npolled;
	uint64_t            poll_errors; /* link sockets it could not poll */
	unsigned            gen;         /* the links' generation it polls */
	int                 polling;     /* gen is set */
	struct tun_dev     *td;  /* worker 0: &sd->tundev; others: t.queue */
	struct tunnel      *tun; /* its keys of the session, or NULL */
	struct tunnel_evq  *q;   /* worker 0: &sd->dataev.q; others: t.own_q */
	struct tunnel_drops drops;
	uint64_t            drop_link_scoped, drop_parse, drop_link_down;
	uint64_t            drop_foreign; /* not from the PoP's address */
	uint64_t            batch_ms;
	/* one batch's classification */
	const uint8_t       *bpkt[SWORKER_BATCH];
	size_t               blen[SWORKER_BATCH];
	int                  brc[SWORKER_BATCH];
	struct engine_result bres[SWORKER_BATCH];
	/* duplication (common/dup.h): its stream's numbers and rate
	 * buckets, its windows for the PoP's workers' streams, and the
	 * buffer a copy is built in (a header and an inner packet) */
	struct dup_tx       dtx;
	struct dup_rx      *drx;
	struct dup_counters dupc;
	uint8_t             dupbuf[DUPWIRE_HDR_LEN + WIRE_MAX_INNER];
};

struct socketd {
	struct config     *conf;
	struct event_base *base;
	struct engine     *engine;
	pthread_mutex_t    engine_mu; /* see struct sworker */
	/* the data-plane workers (config_workers()), worker 0 first */
	struct sworker *w;
	unsigned        nworkers;
	unsigned        links_gen; /* bumped with every new link table */
	time_t          started;
	struct daemon  *daemon; /* the skeleton (daemon/daemon.h) */

	struct tun_dev tundev;
	int            nl_fd; /* carrier events, -1 if unavailable */
	struct event  *nl_ev;

	struct slink links[CONFIG_MAX_LINKS];
	size_t       nlinks;

	/* WELCOME's data port, and the PoP address the control channel
	 * that brought it had reached: links to that address send to that
	 * port, the others to pop.data_port (dataplane_pop_sockaddr()) */
	struct wp_addr welcome_addr;
	uint16_t       welcome_port;

	/* control channel */
	SSL_CTX            *ssl_ctx;
	struct bufferevent *ctl;
	unsigned            ctl_link; /* link it runs over */
	int                 ctl_welcomed;
	unsigned            ctl_backoff; /* seconds before the next try */
	struct event       *ctl_retry_ev;
	struct event       *keepalive_ev;
	struct event       *probe_ev;

	/* flow moves on their way to the PoP (REASSIGN), oldest first;
	 * control.c owns and frees them */
	struct reassign *rq_head;
	uint64_t         reassign_sent;    /* batches queued for the PoP */
	uint64_t         reassign_applied; /* ... acknowledged whole */
	/* link-down notices on the data plane (proto/linkdown.h): the
	 * last notice's number, and the copies handed to the sockets */
	uint32_t linkdown_seq;
	uint64_t linkdown_sent;

	/* data-plane keys of the current session; kept across a reconnect
	 * until the next WELCOME replaces them (DESIGN.md section 6), for
	 * session_grace_s at most (dataplane_session_expire()) */
	uint32_t session;
	int      keyed;
	/* each profile's duplication (dup_profiles_from_config()), set with
	 * the links under the world lock: workers read it without theirs */
	struct dup_profile dup_prof[DUP_PROFILE_TABLE];
	uint64_t           detached_ms; /* keyed, first seen without WELCOME */
	uint64_t sessions_expired;      /* keys dropped by session_grace_s */
	/* each worker's tunnel (sworker.tun) seals up, opens down */

	/* what the datagram loops raise for the main loop (tunnel.h),
	 * drained once their batch is done (daemon/dataev.h) */
	struct dataev dataev;

	/* packets dropped, by reason: each worker's (struct sworker) */

	/* service levels (brownout, common/sla.h): one state per link and
	 * profile of sd->conf, sla[link * sla_nprofiles + profile], by
	 * place in sd->links; links.c's, made anew by every reload */
	struct sla_state    *sla;
	size_t               sla_nprofiles, sla_nlinks;
	uint64_t             sla_changes; /* transitions, for the counters */
	struct log_ratelimit sla_log;
};

/* control.c */
void control_send_rekey(struct socketd *, uint32_t epoch);
void control_link_state(struct socketd *, unsigned link);
/* A tunnel_derive_fn over the struct socketd: keys of the channel's TLS
 * session, -1 while it has none. */
int control_derive(
    void *, uint32_t epoch, int up, uint8_t worker, uint8_t key[AEAD_KEY_LEN]);
int  control_init(struct socketd *);
int  control_start(struct socketd *);
void control_stop(struct socketd *);
/*
 * Flow moves for the PoP: begin (NULL while the channel has no session:
 * the reconciliation after the next WELCOME tells it instead), one
 * control_reassign_move() per move (a balance_move_cb, but with wire
 * link ids for from and to; a NULL batch is fine), then
 * control_reassign_send(), which takes the batch over.  dead_link (a
 * wire link id) is CTL_LINK_NONE for moves no failure caused.
 */
struct reassign *control_reassign_begin(struct socketd *, unsigned dead_link);
void             control_reassign_move(
		void *batch, const struct flow *, unsigned from, unsigned to);
void control_reassign_send(struct socketd *, struct reassign *);
void control_reassign_cancel(struct reassign *); /* frees; NULL is fine */

/* ctl.c: the control socket's requests (the skeleton answers counters
 * and reload) */
json_t *socketd_answer(
    void *, const struct ctlsock_req *, struct ctlsrv_rows *);

/* reload.c: daemon_reload()'s hooks (daemon/daemon.h).  What applies live
 * and what needs a restart: reload.c, wanpair-socketd(8) RELOAD. */
int  socketd_reload_begin(void *, struct daemon_reload *);
void socketd_reload_commit(void *, struct daemon_reload *);
void socketd_reload_abort(void *, struct daemon_reload *);

/* dataplane.c: the datagram loops; calls nothing in control.c or
 * links.c, tells them through sd->dataev and the events below */
int  dataplane_start(struct socketd *);
void dataplane_stop(struct socketd *);

/* A new link table (a start, a reload), by place in the configuration. */
struct links_plan {
	int map[CONFIG_MAX_LINKS];  /* old place -> new, -1 removed */
	int from[CONFIG_MAX_LINKS]; /* new place -> old, -1 added */
	/* new sockets (fd[0] -1: the old ones) */
	struct lsocks news[CONFIG_MAX_LINKS];
	uint8_t       id[CONFIG_MAX_LINKS]; /* an added link's wire id */
	uint64_t      now;
};
/* What dataplane_links_set() did. */
struct links_tally {
	size_t added, changed, reopened;
};
/* The engine and the links of sd->conf, all new; no TUN device (what
 * dataplane_start() does first; check suites call it alone).  0, or -1
 * logged. */
int dataplane_links_start(struct socketd *);
/* The data path over fd as its TUN device (a socketpair: check suites),
 * with vnet headers or not: 0, or -1. */
int dataplane_tun_attach(struct socketd *, int fd, int vnet);
/* A link's UDP sockets (struct lsocks), one per worker, each with its
 * batched I/O: 0, or -1 with err and nothing open. */
int dataplane_link_open(struct socketd *, const struct config_link *,
    struct lsocks *, char *err, size_t errlen);
/* Every fd -1, every udpio NULL. */
void dataplane_lsocks_init(struct lsocks *);
/* Closes and frees what s holds (dataplane_lsocks_init() after). */
void dataplane_link_close(struct lsocks *);
/* What l counted, all workers' and sockets' (each worker's under its
 * lock): the main loop's. */
void dataplane_link_counters(
    struct socketd *, const struct slink *l, struct slink_counters *);
/* sd->links becomes n's: kept links keep their id, counters, health and
 * sockets (or take p->news's), added ones get p->id and p->news, removed
 * ones are closed, and every link's reader is watched anew; under the
 * world lock, then workers_wake().  Cannot fail (a reader that cannot be
 * watched is logged).  Takes p->news's sockets (their fds set to -1). */
void dataplane_links_set(struct socketd *, const struct config *n,
    struct links_plan *p, struct links_tally *t);
/* The TUN MTU for conf: tun.mtu, else the smallest over its links of the
 * device's MTU (1500 without one) less the overhead over the link's
 * family (WIRE_LINK_OVERHEAD4 or 6), WIRE_MIN_INNER_MTU at least. */
int dataplane_tun_mtu(const struct config *);
/* Drops the keys of a session whose control channel has been gone for
 * session_grace_s (called on every probe round). */
void dataplane_session_expire(struct socketd *);
/* New keys for `session` with a PoP of `pop_workers` workers, all from
 * derive (over sd).  Makes the probe timer (probe_ev) run at once.  0,
 * or -1 logged: no keys (the tunnel could not be set up). */
int dataplane_new_session(struct socketd *, uint32_t session,
    unsigned pop_workers, tunnel_derive_fn derive);
/* Seals and sends one packet on l (counted there, or as a drop). */
void dataplane_send(struct socketd *, struct slink *l, uint8_t type,
    const uint8_t *pkt, size_t len);
/* WELCOME's data port, for links to `via` (the address the control
 * channel reached); every link's socket is connected again. */
void dataplane_set_port(
    struct socketd *, const struct wp_addr *via, uint16_t port);
/* Where link c's datagrams go: its PoP address (config_link.pop) and
 * that address's data port.  The length, 0 if c has no PoP address. */
socklen_t dataplane_pop_sockaddr(const struct socketd *,
    const struct config_link *c, uint16_t port, struct sockaddr_storage *);
int link_socket(const struct config_link *, int type, char *err, size_t errlen);
/* link_socket(), with SO_REUSEPORT if reuse, bound to `port` (0: any)
 * on its source or its family's wildcard address: a worker's socket. */
int link_socket_port(const struct config_link *, int type, int reuse,
    uint16_t port, char *err, size_t errlen);
/* A worker's batch of the TUN device, and of its socket of l; under
 * its mu (workers.c calls them, tun_read() and link_read() for worker
 * 0). */
void dataplane_tun_work(struct sworker *);
void dataplane_link_work(struct sworker *, struct slink *l);

/* workers.c: the data-plane workers (struct sworker) */
/* sd->w for config_workers(): 0, or -1 logged. */
int workers_init(struct socketd *);
/* What workers 1.. need root for (their TUN queues: sd->tundev is up)
 * and their eventfds, at start: 0, or -1 logged. */
int workers_open(struct socketd *);
/* Their threads, once the process is what it runs as (daemon_ops
 * running: after fork and the privilege drop): 0, or -1 logged. */
int  workers_run(struct socketd *);
void workers_stop(struct socketd *);
void workers_free(struct socketd *);
/* After a new link table (sd->links_gen): the threads poll it. */
void workers_wake(struct socketd *);
/* Every worker's mu, in id order: what workers read is the main
 * loop's to change. */
void dataplane_world_lock(struct socketd *);
void dataplane_world_unlock(struct socketd *);

/* links.c: probe rounds, link events and what they move, on the main
 * loop; dataev's hooks and probe_ev are its callbacks */
int  links_start(struct socketd *);
void links_stop(struct socketd *);
/* The operator's `wanpairctl link L down|up`. */
void links_admin(struct socketd *, unsigned link, int up);
/* Every link compliant for every profile of sd->conf, the windows
 * starting over (start, reload): 0, or -1 out of memory (no service
 * levels are judged then). */
int links_sla_reset(struct socketd *);
/* Link `link`'s state for `profile`, or NULL (no such state: the
 * profile has no "sla", or a reload is under way). */
const struct sla_state *links_sla(
    const struct socketd *, unsigned link, size_t profile);
/* 1 if any link is degraded for any profile. */
int links_sla_any(const struct socketd *);

static inline int
dataplane_link_up(const struct socketd *sd, unsigned link)
{
	return link_state(&sd->links[link].health) == LINK_UP;
}

/* counters.c */
/* Every counter, as `wanpairctl counters --json` shows it (schema in
 * daemon/metrics.h) but the skeleton's own (daemon_counters()); a new
 * object the caller json_decref()s, or NULL. */
json_t *socketd_counters(void *);
/* A link's estimated MOS (common/mos.h) from its probes' RTT, jitter and
 * loss: a JSON real, or null until a probe was answered (no estimate
 * yet, as for rtt_ms).  For counters and `links` alike. */
json_t *socketd_link_mos(const struct link_health *);
/* A link's service levels, one object per profile with an "sla":
 * {"profile", "degraded": bool, "reason", "since_s", "violations":
 * windows over a limit, and the last window's "loss" (0..1), "rtt_ms",
 * "jitter_ms" (null before a window was judged)}; with names_only, the
 * names of the profiles it is degraded for.  NULL if out of memory. */
json_t *socketd_link_sla(const struct socketd *, unsigned link, int names_only);
/* The control channel as the counters and `status` name it: "down",
 * "connecting" or "up" (welcomed). */
const char *socketd_control_state(const struct socketd *);

/* ops.c: the skeleton's operations */
extern const struct daemon_ops socketd_ops;

#endif
