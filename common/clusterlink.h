/*
 * The cluster link's keys, counters and replay windows: sealing and
 * opening the datagrams whose bytes proto/clusterwire.h defines.
 *
 * Keys.  Every key is derived from the cluster key (clusterkey.h) for one
 * (sender, the sender's incarnation, receiver, generation): the two
 * directions between two members have different keys, a node's keys
 * toward one member say nothing of its keys toward another, and what a
 * process sent does not authenticate under the keys of the node's next
 * process (the incarnation, random at each start, is in the member's
 * HELLO, so every member knows it before the first packet).  The sender counts from 0 under each key, and
 * the nonce is its node id and that counter (cw_nonce()), so a nonce is
 * never used twice under a key as long as the generation is never used
 * twice: a node starts with a generation the caller gives, which must
 * grow from one start of the node to the next past every generation the
 * last one used (popd takes CLOCK_REALTIME in nanoseconds at start), and
 * moves toward a peer to a new generation after `limit` packets to it
 * (AES-GCM: DESIGN.md section 6's 2^32).
 *
 * The receiver keeps, per peer, the generation it last authenticated and
 * that key's replay window (crypto.h, RFC 6479).  A packet of a higher
 * generation is opened with a key derived for it; if it authenticates,
 * that generation becomes the peer's (a new window), so a peer that
 * restarted or rekeyed is followed at its first packet.  A lower one is
 * refused (CW_ERR_STALE): packets recorded before a rekey cannot be
 * replayed, nor, since their incarnation is another, those of the peer's
 * earlier processes.  A member that leaves and comes back as the same
 * process (a partition, its corosync lost and found) keeps its floor:
 * nothing at or below the highest generation that authenticated before
 * it left opens again (the last CLUSTERLINK_MAX_PEERS members that left
 * are remembered), and it moves to a new generation toward us when it
 * sees us again.  A peer whose clock went back at its restart is a new
 * incarnation and starts afresh at its join.
 *
 * Deriving for a new generation costs an HKDF and a key schedule (a few
 * microseconds) but allocates nothing; a forged packet with a higher
 * generation costs that much and counts CW_ERR_TAG.  The cluster link is
 * a network of the PoP's own: this is a bound on the harm, not an
 * invitation.
 *
 * Members are at most CLUSTERLINK_MAX_PEERS, found by a walk (a few tens:
 * a corosync ring is not larger).  Nothing here logs, reads a clock or
 * does I/O; every drop has a counter by reason.  Not thread-safe, and one
 * sender per node: the receiver keeps one generation per peer, so two
 * threads of a node sealing under generations of their own would refuse
 * each other's as stale.  popd's workers all seal through one
 * clusterlink under one lock (popd/forward.c, fwd->mu); sealing per
 * worker without it would need a worker byte and a state per (peer,
 * worker), as wire.h has.
 *
 * Every key a node makes (a member added, a rekey) takes the next
 * generation of the node's one counter, so a member that leaves and
 * joins again never gets a (from, to, generation) that was used before.
 */
#ifndef WANPAIR_CLUSTERLINK_H
#define WANPAIR_CLUSTERLINK_H

#include <stddef.h>
#include <stdint.h>

#include "clusterkey.h"
#include "clusterwire.h"

#define CLUSTERLINK_MAX_PEERS 64

/* 2^31 packets per key and direction: as the data plane (keyring.h),
 * half of the 2^32 a GCM key may seal. */
#define CLUSTERLINK_LIMIT (UINT64_C(1) << 31)

struct clusterlink;

struct clusterlink_counters {
	uint64_t sealed;
	uint64_t opened;
	uint64_t rekeyed;            /* our moves to a next generation */
	uint64_t followed;           /* peers' new generations authenticated */
	uint64_t drops[CW_NREASONS]; /* by -enum cw_err */
	uint64_t seal_fail; /* refused to seal (bad header, too large) */
};

/*
 * Node `self` (not 0) with the cluster key, this process being
 * `incarnation` (its HELLO's, in every key it sends under), starting at
 * `generation`,
 * moving to the next after `limit` packets toward a peer (1 to
 * CLUSTERLINK_LIMIT; tests use small ones).  NULL if out of memory or
 * the arguments are not so.  The key is copied.
 */
struct clusterlink *clusterlink_new(const struct clusterkey *, uint32_t self,
    uint32_t incarnation, uint64_t generation, uint64_t limit);
/* Wipes and frees; NULL is fine. */
void clusterlink_free(struct clusterlink *);

/*
 * A member joins, its process being `incarnation` (its HELLO's): its
 * send key is derived, its receive state is empty (its first packet that
 * authenticates sets its generation) but for the floor of the same
 * incarnation's earlier stay.  0, or -1: id 0 or self, already there,
 * CLUSTERLINK_MAX_PEERS reached, or OpenSSL failed.
 */
int clusterlink_peer_add(
    struct clusterlink *, uint32_t id, uint32_t incarnation);
/* A member leaves: its keys and window are wiped, its incarnation and
 * floor kept for its return.  0, or -1 if unknown. */
int clusterlink_peer_remove(struct clusterlink *, uint32_t id);

/*
 * Seals `inner` (len bytes) to h->to as one datagram in out.  The caller
 * fills type, flags, hops, origin, to, owner, session and endpoint; this
 * fills version, from, generation and counter (and writes them back to
 * *h).  Returns the datagram's length, or -1 (counted in seal_fail) if
 * the header would not pass cw_hdr_check(), to is not a member, inner
 * is empty or larger than CW_MAX_INNER, out is too small, or a next
 * generation's key could not be derived.  A counter is used up once
 * taken.  inner may be out + CW_HDR_LEN (sealing in place: a packet
 * opened in place forwarded without a copy); no other overlap.
 */
int clusterlink_seal(struct clusterlink *, struct cw_hdr *h,
    const uint8_t *inner, size_t len, uint8_t *out, size_t outlen);

/*
 * Opens the datagram `pkt` (len bytes) into out (at least len -
 * CW_OVERHEAD bytes) and fills *h.  Returns the inner packet's length,
 * or a negative enum cw_err (counted in drops): the decoder's reasons,
 * then not for this node, an unknown sender, a stale generation, a
 * replay, a bad tag, an inner packet not of its origin.  The replay
 * window moves only for a packet that authenticated.  out may be
 * pkt + CW_HDR_LEN (opening in place); no other overlap.
 */
int clusterlink_open(struct clusterlink *, const uint8_t *pkt, size_t len,
    struct cw_hdr *h, uint8_t *out, size_t outlen);

/* The counters so far. */
const struct clusterlink_counters *clusterlink_counters(
    const struct clusterlink *);

#endif
