/*
 * popd's cluster membership (DESIGN.md section 8; doc/CLUSTER.md,
 * "Membership"): the nodes of popd.json's "cluster" as corosync's CPG
 * group sees them.  cluster.c with corosync (configure --with-corosync),
 * cluster-none.c without it, which refuses a "cluster" section at start;
 * cluster-ctl.c answers `wanpairctl cluster` in either build.
 *
 * Everything here runs on popd's main loop; nothing is on the packet
 * path.  Every resource a member can make popd spend is bounded: the
 * send queue (CLUSTER_QUEUE_MAX messages, overflows counted), the
 * members (popd.json's, at most CONFIG_CLUSTER_MEMBERS_MAX), the CPG
 * processes tracked (CPG_MEMBERS_MAX), the log lines peers cause.
 */
#ifndef WANPAIR_POPD_CLUSTER_H
#define WANPAIR_POPD_CLUSTER_H

#include <event2/event.h>
#include <jansson.h>

#include "config.h"

/* Messages waiting for corosync to take them (cpg_mcast_joined() said
 * CS_ERR_TRY_AGAIN); one more is an overflow. */
#define CLUSTER_QUEUE_MAX 256

struct cluster;

/*
 * Joins conf's group (a copy is kept: a reload cannot change the
 * section).  Reaching corosync is retried in the background, with
 * back-off, until it answers; so is a corosync that goes away later.
 * Returns NULL with a sentence in err if this build or this system
 * cannot have a cluster at all (built without corosync, the key file
 * unreadable).
 */
struct cluster *cluster_start(struct event_base *,
    const struct config_cluster *, const char *conf_file, char *err,
    size_t errlen);
/*
 * What the forwarding (popd/forward.h) hears of the membership, on the
 * main loop: a configured member joined or left (this node too); a
 * message of a type the membership does not read (CLUSTERSYNC_FLOW),
 * from the member `node` whose process sent it; a newcomer joined, and
 * hears nothing said before it came.
 */
struct cluster_hooks {
	/* A member joined (its process's incarnation, from its HELLO) or
	 * left (incarnation 0). */
	void (*member)(void *, uint32_t node, int joined, uint32_t incarnation);
	void (*message)(void *, uint32_t node, const uint8_t *, size_t);
	void (*resync)(void *);
};
void cluster_set_hooks(struct cluster *, const struct cluster_hooks *, void *);
/* Queues a message (at most CLUSTERSYNC_MAX_LEN bytes) for the group:
 * 0, or -1 if not connected or the queue is full (counted). */
int cluster_send(struct cluster *, const uint8_t *, size_t);
/* Messages the send queue takes now; 0 while not connected. */
size_t cluster_room(const struct cluster *);

/* Leaves the group and frees everything; NULL is fine. */
void cluster_stop(struct cluster *);
/*
 * The cluster as `wanpairctl cluster --json` and the counters' "cluster"
 * object show it (schema in daemon/metrics.h); a new object, or NULL.
 */
json_t *cluster_json(const struct cluster *);

/*
 * What the sessions' sync (cluster-session.c, struct csync) asks of the
 * membership, and tells it.  In a build without corosync these are
 * cluster-none.c's, never called (no cluster starts).
 */
struct csync;
/* Hands the sessions' sync to the membership, with this node's workers
 * (said in its HELLO; a member with other workers is a conflict). */
void cluster_set_sessions(struct cluster *, struct csync *, unsigned workers);
/* Member at position pos (popd.json's order): 1 with its node id and
 * incarnation if it is joined now, else 0. */
int cluster_member(
    const struct cluster *, size_t pos, uint32_t *node, uint32_t *incarnation);
uint32_t cluster_incarnation(const struct cluster *);
/* One AGREED multicast now: 0 sent, 1 corosync said try again (the
 * membership retries: csync_flush() again), -1 not connected or broken
 * (reconnecting; a rejoin resyncs). */
int cluster_mcast(struct cluster *, const uint8_t *, size_t);
/* Sends what waits, HELLOs first, then csync_flush(). */
void cluster_flush(struct cluster *);

/* cluster-session.c, called by cluster.c. */
/* A SESSION from the member at position pos (node id node). */
void csync_deliver(
    struct csync *, size_t pos, uint32_t node, const uint8_t *, size_t);
/* Sends the pending SESSIONs: 0 all sent, 1 corosync wants a retry,
 * -1 cannot send now. */
int csync_flush(struct csync *);
/* A member (not this node) joined: every session this node holds is
 * announced again, its grants completed. */
void csync_resync(struct csync *);
/* The member at pos left: the sessions it held are backups without a
 * holder from now (session_grace_s). */
void csync_member_left(struct csync *, size_t pos);
/* wanpairctl cluster's "sessions" object; NULL if out of memory. */
json_t *csync_json(const struct csync *);

#endif
