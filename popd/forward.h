/*
 * Packet forwarding between the members of a popd cluster (DESIGN.md
 * section 8; doc/CLUSTER.md, "Forwarding and ownership"): the cluster
 * link's socket, its keys (common/clusterlink.h) and the director
 * (common/director.h), driven by the membership (popd/cluster.c); the
 * ownership table and its backups on CPG (popd/cflow.h, proto/flowsync
 * .h); takeover when a member leaves.
 *
 * One UDP socket, bound to this node's cluster address and port, read
 * in batches (udpio: recvmmsg, GRO) on popd's main loop: the forwarded
 * packets it receives are handled there in runs, under the mu of the
 * worker they belong to (a site's datagram: the worker that opens its
 * sender worker's datagrams; a packet for a site: worker 0).  Workers
 * that forward a packet seal it, under the fwd lock (a leaf, as cf_mu:
 * one sealer per node, as clusterlink wants), straight into their own
 * udpio's queue on that one socket, sent with their batch's other
 * datagrams (sendmmsg, GSO); no queue between the threads.
 *
 * A popd without a "cluster" section has pd->fwd NULL, and the data
 * plane tests that pointer and nothing else.
 */
#ifndef WANPAIR_POPD_FORWARD_H
#define WANPAIR_POPD_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cflow.h"
#include "flowkey.h"

struct popd;
struct pworker;
struct session;
struct udpio_dgram;
struct fwd;

/* How a packet reached this node, for the decision (cflow_decide()):
 * type 0 from a site or the TUN, else CW_FORWARD or CW_FIRST from
 * member `from` after `hops` hops. */
struct fwd_ctx {
	uint8_t  type;
	uint8_t  hops;
	uint32_t from;
};

/* A packet for a site, decided under pd->engine_mu (tun_classify()),
 * forwarded after it (fwd_send_tun()). */
struct fwd_verdict {
	uint8_t         act;   /* enum cflow_act; CFLOW_HANDLE: not forwarded */
	uint8_t         keyed; /* key is the packet's */
	uint8_t         hops;
	uint8_t         hint; /* tell `from` the owner */
	uint32_t        to, from;
	struct flow_key key;
};

/* The cluster link for pd's "cluster" (pd->cluster running): NULL with
 * a sentence in err if the key, the socket or memory fail. */
struct fwd *fwd_start(struct popd *, char *err, size_t errlen);
void        fwd_stop(struct fwd *);

/* The membership's hooks (cluster.h): a member joined or left; a FLOW
 * message from member `node`; a newcomer wants everything. */
void fwd_member(void *fwd, uint32_t node, int joined, uint32_t incarnation);
void fwd_message(void *fwd, uint32_t node, const uint8_t *, size_t);
void fwd_resync(void *fwd);

/*
 * The data path.  fwd_up(): a site's datagram d of session s, opened
 * into inner (len bytes), arrived as ctx says (NULL: from the site):
 * 0 if this node handles it, 1 if it went to another member or was
 * dropped (counted).  fwd_down(): a packet for a site, under
 * pd->engine_mu, decided into *v; then, if v->act is not CFLOW_HANDLE,
 * fwd_send_tun() after the lock.  fwd_owned_link(): v's flow, handled
 * here, is on the site's wire link `link` of session `session`
 * (backed up when that changes).
 */
int  fwd_up(struct pworker *, struct session *s, const struct udpio_dgram *d,
     const uint8_t *inner, size_t len, const struct fwd_ctx *ctx);
void fwd_down(struct pworker *, const uint8_t *pkt, size_t len,
    const struct fwd_ctx *ctx, struct fwd_verdict *v);
void fwd_send_tun(struct pworker *, const struct fwd_verdict *v,
    const uint8_t *pkt, size_t len);
/* A site's datagram d of session s that every member must open (the
 * Socket's link-down notice), to each other live member, FORWARD. */
void fwd_relay(
    struct pworker *, const struct session *s, const struct udpio_dgram *d);
void fwd_owned_link(struct pworker *, const struct fwd_verdict *v,
    uint32_t session, uint8_t link);
/* Sends what the worker's batch sealed for other members (its queue on
 * the cluster link); under its mu, from dataplane_send_all(). */
void fwd_flush(struct pworker *);

/* `wanpairctl cluster`'s "forwarding" object; a new one, or NULL. */
json_t *fwd_json(struct fwd *);

#endif
