/*
 * The per-packet pipeline shared by the daemons, wanpairctl replay and the
 * benchmark: classify (pkt_parse), follow fragments (frag_cache), find or
 * create the flow (flow_table) and, for a new flow, choose its link
 * (balance).  One engine per direction of balancing.  Time is always
 * passed in, so replay runs on the capture's clock.
 *
 * Ownership: the engine owns its flow table, balance and fragment cache;
 * a flow engine_packet() returns stays valid until the next call into the
 * engine.
 */
#ifndef WANPAIR_ENGINE_H
#define WANPAIR_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "balance.h"
#include "balspec.h"
#include "flow.h"
#include "frag.h"
#include "pkt.h"

struct engine;

struct engine_stats {
	uint64_t packets; /* accepted: a flow was found */
	uint64_t bytes;
	uint64_t new_flows;
	uint64_t skipped[PKT_NREASONS]; /* by -reason; [0] unused */
};

/* NULL on allocation failure.  The flow table is sized spec->flows_max
 * for good; the spec may be cleared afterwards. */
struct engine *engine_new(const struct balance_spec *spec);
/*
 * The same with the flows in a shared pool (flow.h), at most cap of them
 * (spec->flows_max is not used), and the fragment cache `frags`, shared
 * too (engine_frags_new()): popd's engine of one site.  A new flow the
 * pool has no room for, with none of this engine's to evict, is skipped
 * as PKT_ERR_TABLE_FULL.  Free it before the pool and the cache.
 */
struct engine *engine_new_shared(const struct balance_spec *spec,
    struct flow_pool *, uint32_t cap, struct frag_cache *frags);
/* A fragment cache for engines to share, as large as an engine's own;
 * engines whose packets' addresses differ (popd's sites: their LANs do
 * not overlap) cannot mistake each other's fragments.  NULL if out of
 * memory; frag_cache_free() it. */
struct frag_cache *engine_frags_new(void);
void               engine_free(struct engine *);

/*
 * Called for every flow that leaves the table (expired, evicted, removed,
 * or still there when the engine is freed), after the balance has
 * released it.  May be NULL.
 */
void engine_set_release_cb(struct engine *, flow_release_cb, void *arg);

struct engine_result {
	struct flow *flow;    /* NULL from engine_packets(), see there */
	uint32_t     len;     /* IP total length of the packet */
	uint8_t      link;    /* where the packet goes (the flow's link) */
	int          is_new;  /* this packet created the flow */
	int          rule;    /* new flow: the rule that chose its profile
				(rules.h), else -1 */
	uint8_t      profile; /* the flow's profile (index into the config's
				 profiles), FLOW_PROFILE_NONE: static */
};

/*
 * One IP packet (bytes start at the IP header).  Returns 0 with *res set,
 * or a negative enum pkt_reason, counted in the stats.  A flow whose link
 * is down is still returned: dropping its packet is the caller's decision.
 */
int engine_packet(struct engine *, const uint8_t *, size_t len, int pkt_flags,
    uint64_t now_ms, struct engine_result *res);

/*
 * A batch of packets, as recvmmsg hands them over: every packet of a
 * chunk of ENGINE_BATCH_MAX is classified and hashed and its index slot
 * prefetched before any is looked up, so that at a million flows the
 * cache misses of the chunk overlap instead of queuing.  Same results as
 * calling engine_packet() on each in order: rcs[i] and res[i] per packet,
 * except that res[i].flow is NULL: a later packet of the batch may have
 * evicted that flow from a full table and reused its entry.  res[i].link
 * says where the packet goes.
 */
#define ENGINE_BATCH_MAX 64
void engine_packets(struct engine *, const uint8_t *const *pkts,
    const size_t *lens, unsigned n, int pkt_flags, uint64_t now_ms, int *rcs,
    struct engine_result *res);

/* Runs idle expiry up to now_ms (engine_packet does it once a second). */
void engine_expire(struct engine *, uint64_t now_ms);
/* Runs it only when it is due, as a packet would: the daemons' timers call
 * this so that flows expire when no packet comes at all. */
void engine_tick(struct engine *, uint64_t now_ms);

size_t engine_link_down(struct engine *, unsigned link, uint64_t now_ms,
    balance_move_cb, void *arg);
size_t engine_link_up(struct engine *, unsigned link, uint64_t now_ms,
    balance_move_cb, void *arg);
/* Brownout, on_violation "move": balance_sla_move() on the engine's
 * flows (balance_set_degraded() through engine_balance() first). */
size_t engine_sla_move(struct engine *, unsigned link, unsigned profile,
    uint64_t now_ms, balance_move_cb, void *arg);

/*
 * Reload: balances by `spec` from now on and keeps the flows (see
 * balance_reconfigure() for link_map and what happens to each flow).
 * Flow timeouts follow spec; the table keeps its size (flows_max is fixed
 * at engine_new()).  Flows that no route covers any more are removed.
 * Returns 0 with *moved set to the flows moved off removed links (may be
 * NULL), or -1 on allocation failure with nothing changed.
 */
int engine_reconfigure(struct engine *, const struct balance_spec *spec,
    const int *link_map, uint64_t now_ms, balance_move_cb, void *arg,
    size_t *moved);

/*
 * After a link came up: flows left on links that are down, because no
 * link was up when theirs went down, move to the live links as
 * engine_link_down() would have moved them.  cb sees each move.
 * Returns how many moved.
 */
size_t engine_link_rehome(
    struct engine *, uint64_t now_ms, balance_move_cb, void *arg);

/* What engine_flow_assign() did. */
enum engine_assign {
	ENGINE_ASSIGN_REFUSED = -1, /* link unknown or down: nothing done */
	ENGINE_ASSIGN_SAME = 0,     /* the flow was already on that link */
	ENGINE_ASSIGN_MOVED = 1,    /* moved there from another link */
	ENGINE_ASSIGN_INSERTED = 2  /* absent: inserted on that link */
};

/*
 * The peer says flow `key` (normalised, as flow_key_from_pkt() makes it)
 * uses `link` (REASSIGN).  A flow in the table moves there through the
 * balance, so per-link counts stay true; an absent one is inserted on
 * that link (a full table evicts the flow idle longest, as for a
 * packet), with FLOW_F_A_INITIATOR if a_initiator, so the traffic that
 * opens it here already follows the peer's choice.  Either way
 * FLOW_F_MOVED is set.  Returns an enum engine_assign (REFUSED too when
 * a shared pool has no room for it).
 */
int engine_flow_assign(struct engine *, const struct flow_key *key,
    unsigned link, int a_initiator, uint64_t now_ms);

const struct engine_stats *engine_stats(const struct engine *);
struct flow_table         *engine_flows(struct engine *);
struct balance            *engine_balance(struct engine *);

#endif
