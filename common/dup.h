/*
 * Duplication for real-time flows (wanpair.json(5), a profile's
 * "duplicate"): what a sender and a receiver keep, as pure accounting.
 * No I/O, no clock of its own (callers pass now_ms), no allocation but
 * dup_rx_new(); nothing here is per packet but a few comparisons.
 *
 * Sender.  A packet of a duplicating flow goes on its own link and on the
 * best other link that is up: the lowest loss, then the lowest RTT, then
 * the lowest index (dup_pick()).  Both copies carry one sequence number
 * of the sender worker's stream (proto/dupwire.h) and are sealed each on
 * its own link under that link's counter.  A token bucket per
 * duplicating profile caps the packets that go twice (the profile's
 * "duplicate_max_pps", shared evenly among a daemon's workers): past it
 * a packet goes once, as WIRE_DATA, and is counted, so that a bulk flow
 * put in such a profile cannot double the site's traffic.
 *
 * Receiver.  A window per stream (the sender's worker) says whether a
 * sequence number was delivered: the anti-replay bitmap of crypto.h,
 * REPLAY_WINDOW numbers wide.  The first copy goes through, the second
 * is dropped and counted; so is a copy that comes more than
 * REPLAY_WINDOW numbers late (at the default cap, about two seconds
 * after the other link's copy), which can only be the second one of its pair
 * or one whose twin was lost long before.
 */
#ifndef WANPAIR_DUP_H
#define WANPAIR_DUP_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "limit.h"

/* Profiles with "duplicate" in a config, at most: each has a bucket per
 * sender (struct dup_tx), so their number bounds its size. */
#define DUP_MAX_PROFILES 8
/* "duplicate_max_pps" when a profile does not say: 20 calls of 50
 * packets a second. */
#define DUP_MAX_PPS_DEFAULT 1000
#define DUP_MAX_PPS_MAX     1000000

/* What duplication did, per daemon (summed over its workers). */
struct dup_counters {
	uint64_t sent;      /* packets sent twice (a copy on each link) */
	uint64_t delivered; /* first copies delivered */
	uint64_t discarded; /* second (or too late) copies dropped */
	uint64_t over_cap;  /* sent once: over duplicate_max_pps */
	uint64_t single;    /* sent once: no other link up, or too big */
	uint64_t bad;       /* WIRE_DUP that does not decode, or a stream
			       that is not its sender worker's */
};

void dup_counters_add(struct dup_counters *to, const struct dup_counters *);

/* A link's rank for dup_pick(): lower is better.  Loss first: a copy
 * that is lost is worth nothing, a slower one only arrives later. */
#define DUP_RANK_DOWN UINT64_MAX
uint64_t dup_rank(uint32_t loss_ppm, uint32_t rtt_us);

/*
 * The link for the second copy of a packet on link `primary`: of the
 * links 0..n-1 but primary, the one of lowest rank (DUP_RANK_DOWN: not
 * up, never chosen), the lowest index on a tie.  -1 if there is none.
 */
int dup_pick(const uint64_t *rank, unsigned n, unsigned primary);

/* A sender worker's state: the next sequence number of its stream, and
 * a bucket per duplicating profile (config_profile.dup_slot). */
struct dup_tx {
	uint64_t            seq;
	struct limit_bucket bucket[DUP_MAX_PROFILES];
};

/* Zeroed: sequence 0, every bucket full at its first use. */
void dup_tx_init(struct dup_tx *);
/*
 * 1 if a packet of the profile in `slot` may go twice at now_ms under a
 * cap of `pps` packets a second (a burst of a tenth of a second, 10
 * packets at least, on top), else 0 (counted in c->over_cap).
 */
int dup_tx_admit(struct dup_tx *, unsigned slot, uint32_t pps, uint64_t now_ms,
    struct dup_counters *c);
/* The sequence number for the next packet sent twice. */
uint64_t dup_tx_next(struct dup_tx *);

/* What a sender does with a profile's packets: duplicate them under a
 * cap of pps a second (one worker's share), slot its bucket; slot -1
 * for a profile that does not duplicate. */
struct dup_profile {
	uint32_t pps;
	int      slot;
};

struct config;
/* The table for every profile index a flow can have (below
 * FLOW_PROFILE_NONE: 255 of them), from conf, each cap shared among
 * `workers` (1 at least each). */
#define DUP_PROFILE_TABLE 255
void dup_profiles_from_config(struct dup_profile out[DUP_PROFILE_TABLE],
    const struct config *conf, unsigned workers);

/* A receiver's windows: one per stream (the peer's workers). */
struct dup_rx {
	unsigned             nstreams;
	struct replay_window win[];
};

/* nstreams windows (1..PROTO_MAX_WORKERS), all empty; NULL if out of
 * memory.  dup_rx_free() it (NULL is fine). */
struct dup_rx *dup_rx_new(unsigned nstreams);
void           dup_rx_free(struct dup_rx *);
/* Every window empty again: the peer's sequences start over (a new
 * session). */
void dup_rx_reset(struct dup_rx *);

enum dup_verdict {
	DUP_BAD = -1,   /* stream past nstreams: dropped, c->bad */
	DUP_SECOND = 0, /* seen, or too old: dropped, c->discarded */
	DUP_FIRST = 1   /* deliver it: c->delivered */
};

/* The verdict on sequence `seq` of `stream`, recorded and counted. */
enum dup_verdict dup_rx_check(
    struct dup_rx *, uint32_t stream, uint64_t seq, struct dup_counters *c);

#endif
