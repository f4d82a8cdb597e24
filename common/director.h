/*
 * Which member of a popd cluster directs a flow, and which takes a flow
 * over when its owner leaves (DESIGN.md section 8, doc/CLUSTER.md).
 *
 * The director of a packet is chosen from its two addresses only, as a
 * symmetric pair: (lower, higher) of source and destination, so that a
 * flow's two directions, arriving at different members, find the same
 * director.  The pair is hashed with SipHash under a key derived from the
 * cluster key (clusterkey_hash_key()): peers on the Internet and the
 * sites choose addresses, and without the key they cannot aim their
 * flows at one member.  The hash is then ranked over the live members by
 * weighted rendezvous (hrw.h, the `flow` algorithm's): each member
 * directs its weight's share of the pairs, every member computes the
 * same director from the same member list in whatever order it was
 * given, and a member that leaves hands on only the pairs it directed.
 *
 * A flow whose owner left is taken over by a rendezvous over the live
 * members of its whole normal flow key (flowkey.h), under another key of
 * the same derivation: the flows of a pair of hosts spread over the
 * members rather than all landing on the pair's director, and every
 * member computes the same new owner.
 *
 * Member ids are node ids (never 0), at most DIRECTOR_MAX_MEMBERS.
 * Nothing here allocates after director_new(), logs or does I/O.
 */
#ifndef WANPAIR_DIRECTOR_H
#define WANPAIR_DIRECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "flowkey.h"
#include "hash.h"

#define DIRECTOR_MAX_MEMBERS 64
/* Weights are ratios, as links' (DESIGN.md section 5); bounded so that a
 * score times a weight fits 64 bits (hrw.h). */
#define DIRECTOR_WEIGHT_MAX 1000000

struct director_member {
	uint32_t id;     /* node id, not 0 */
	uint32_t weight; /* 1..DIRECTOR_WEIGHT_MAX */
	int      live;   /* 0: left or dead; chosen by nobody */
};

struct director;

/*
 * A director with no members, hashing under `key` (the cluster's:
 * clusterkey_hash_key()).  NULL if out of memory.  director_free() it.
 */
struct director *director_new(const struct wp_hash_key *key);
void             director_free(struct director *);

/*
 * Replaces the members with n of m[] (copied).  0, or -1 changing
 * nothing: n > DIRECTOR_MAX_MEMBERS, an id 0 or twice, a weight out of
 * range.
 */
int director_set_members(
    struct director *, const struct director_member *m, size_t n);
/* Marks member id live or not.  0, or -1 if it is not a member. */
int director_set_live(struct director *, uint32_t id, int live);

/*
 * The symmetric pair hash: SipHash over (family, lower address, higher
 * address), each of the family's length (4 or 16 bytes of the 16-byte
 * form, proto/addr.h).  The same for (src, dst) and (dst, src).
 */
uint64_t director_pair_hash(const struct director *, int family,
    const uint8_t src[16], const uint8_t dst[16]);

/* The director of a packet from src to dst: a live member's id, or 0 if
 * none is live. */
uint32_t director_of(const struct director *, int family, const uint8_t src[16],
    const uint8_t dst[16]);

/*
 * The member that takes over flow `key` (in normal form) when its owner
 * `gone` left: the rendezvous winner over the live members other than
 * `gone` (which is normally no longer live anyway).  0 if there is none.
 */
uint32_t director_takeover(
    const struct director *, const struct flow_key *key, uint32_t gone);

#endif
