/*
 * Route load balancing: which link a new flow takes.
 *
 * A struct balance is built from a balancing spec (balspec.h), whose
 * weights are those of one side: socketd's upstream, popd's downstream.  It owns
 * all balancing state: per-route smooth-WRR counters, per-profile
 * round-robin position and PRNG, sticky groups, per-link active-flow and
 * throughput figures.  Profiles are isolated: they share no state.
 * Nothing here reads a clock: every call takes now_ms, so tests and
 * wanpairctl replay drive time themselves.
 *
 * Route selection for a new flow (DESIGN.md section 5): among the routes
 * whose network contains the destination and whose link is up, take the
 * most specific prefix, then the lowest metric; the first such route's
 * profile (or static route) decides, and the profile balances among the
 * routes of that prefix, metric and profile.  Application rules (rules.h)
 * come first: the profile of the first rule the flow's first packet
 * matches decides among its own routes, the same way.
 *
 * Ownership: the balance does not own flows; it records in each flow its
 * link, profile and sticky group, and must be told when a flow leaves the
 * table (balance_release) so active-flow counts stay true.
 */
#ifndef WANPAIR_BALANCE_H
#define WANPAIR_BALANCE_H

#include <stddef.h>
#include <stdint.h>

#include "balspec.h"
#include "flow.h"
#include "pkt.h"

struct balance;
struct rule;

/* NULL on allocation failure.  The spec may be cleared afterwards; its
 * flows_max and flow_timeouts are the engine's, not read here. */
struct balance *balance_new(const struct balance_spec *);
void            balance_free(struct balance *);

/* Deterministic seed for the `random` algorithm (tests, replay). */
void balance_seed(struct balance *, uint64_t);

/*
 * Chooses the link for a new flow `f` (just inserted, key set), from the
 * packet that opened it (`pkt` gives the direction: source-ip hashes
 * pkt->src).  Sets f->link (through flow_table_set_link: the table f is
 * in, or NULL if none), f->profile and f->group, and FLOW_F_A_INITIATOR
 * from pkt (failover finds the destination again through it).  Returns 0,
 * or -1 if no route with an up link matches (f->link stays FLOW_LINK_NONE).
 */
int balance_assign(struct balance *, struct flow_table *,
    const struct pkt_info *pkt, struct flow *f, uint64_t now_ms);
/*
 * Application rules (rules.h): the index of the first of the spec's rules
 * the packet matches, or -1.  balance_assign() is balance_assign_rule()
 * with it: the rule's profile decides among the routes of that profile
 * (most specific, lowest metric, as for the route table), and sets
 * f->rule; if no live route of that profile holds the destination,
 * or rule is -1, the route table's profile decides.  Costs the rules
 * tried, each a few comparisons: no allocation.
 */
int balance_rule_match(const struct balance *, const struct pkt_info *pkt);
int balance_assign_rule(struct balance *, struct flow_table *,
    const struct pkt_info *pkt, struct flow *f, int rule, uint64_t now_ms);

/*
 * 1 if a route with an up link covers the packet's destination, i.e. if
 * balance_assign() would succeed.  Callers ask before they create a flow,
 * so that an unroutable packet never evicts a live flow from a full table.
 */
int balance_routable(const struct balance *, const struct pkt_info *pkt);

/* A flow leaves the table: drops its active count and group reference. */
void balance_release(struct balance *, const struct flow *, uint64_t now_ms);

/* Bytes carried on a link, for the `throughput` algorithm. */
void balance_account(
    struct balance *, unsigned link, uint32_t bytes, uint64_t now_ms);

/* Called once per flow moved by balance_link_down()/_up(). */
typedef void (*balance_move_cb)(
    void *arg, const struct flow *, unsigned from, unsigned to);

/*
 * Takes a link down: new flows avoid it, sticky groups on it are re-pointed
 * and every flow on it is moved to a live link by its profile's algorithm
 * and weights (a sticky flow follows its group).  A flow with no live
 * alternative stays on the dead link (its packets are dropped by the
 * caller) and resumes when the link returns.  cb (may be NULL) sees each
 * move after f->link is updated.  Returns the number of flows moved.
 * Costs the link's flows (the table's per-link list) plus the sticky
 * groups, not the whole table.
 */
size_t balance_link_down(struct balance *, struct flow_table *, unsigned link,
    uint64_t now_ms, balance_move_cb, void *);
/*
 * Brings a link back.  With failback "rebalance" flows are moved back so
 * that each profile's flows are again in the weight ratio (returns how many
 * moved); with "new-flows" only new flows use it (returns 0).
 */
size_t balance_link_up(struct balance *, struct flow_table *, unsigned link,
    uint64_t now_ms, balance_move_cb, void *);

/*
 * Brownout (sla.h): a link over a profile's service levels is degraded
 * for that profile.  New flows of the profile (and flows that failover
 * or failback moves, and sticky groups re-pointed) take a compliant link
 * of their route set if it has one, else the degraded ones as before: a
 * degraded link still beats none.  Flows already on it stay unless
 * balance_sla_move() moves them.  Costs a new flow one mask test while no
 * link of its profile is degraded.  A reload starts every link compliant
 * (the caller judges them again).  Unknown profile or link: nothing.
 */
void balance_set_degraded(
    struct balance *, unsigned profile, unsigned link, int degraded);
int balance_degraded(const struct balance *, unsigned profile, unsigned link);
size_t balance_nprofiles(const struct balance *);
/*
 * on_violation "move": the flows of `profile` on `link` move to the
 * compliant live links of their route set, as failover would move them
 * (cb sees each move, FLOW_F_MOVED is set); a flow whose set has no
 * compliant live link stays.  Returns how many moved.  Costs the link's
 * flows (its list), not the table.
 */
size_t balance_sla_move(struct balance *, struct flow_table *, unsigned link,
    unsigned profile, uint64_t now_ms, balance_move_cb, void *);

/*
 * Reload: a new balance for `spec` (made for the same side as `old`'s)
 * that takes over the flows of table t.  link_map[i], for each of old's
 * links, is its index in spec's links, or -1 if it is gone.  A kept link keeps its
 * up/down state and throughput figures; a new one starts up.  Flows on
 * kept links stay there (renumbered), in the profile their destination
 * now selects, and rebuild the sticky groups of that profile; flows on a
 * removed link move as balance_link_down() would move them (cb sees the
 * OLD index as `from`, FLOW_F_MOVED is set, *moved counts them).  A flow
 * that no route covers any more is left with link FLOW_LINK_NONE and
 * counted in *stranded: the caller removes it (engine_reconfigure does).
 * Returns the new balance, or NULL on allocation failure with nothing
 * changed.  On success the caller frees `old` with balance_free() and
 * must not release flows into it: they belong to the new one.
 */
struct balance *balance_reconfigure(const struct balance *old,
    const struct balance_spec *spec, struct flow_table *t, const int *link_map,
    uint64_t now_ms, balance_move_cb cb, void *arg, size_t *moved,
    size_t *stranded);

/*
 * Puts flow f on `link` because the peer says so (REASSIGN), keeping the
 * counts true: a flow already placed leaves its old link (FLOW_F_MOVED
 * is set, its profile and group stay), an unplaced one (link
 * FLOW_LINK_NONE, just inserted) is counted in the profile its
 * destination selects.  Returns 0, or -1 with nothing changed if the
 * link is unknown or down.
 */
int balance_set_link(struct balance *, struct flow_table *, struct flow *f,
    unsigned link, uint64_t now_ms);

unsigned    balance_nlinks(const struct balance *);
const char *balance_link_name(const struct balance *, unsigned link);
int         balance_link_is_up(const struct balance *, unsigned link);
/* The link's weight on this side (link weight, else its mbps). */
uint32_t balance_link_weight(const struct balance *, unsigned link);
/* Flows currently assigned to the link. */
uint64_t balance_link_active(const struct balance *, unsigned link);
/* Stickiness group indexes, all profiles: the longest probe a new group
 * made (slots, 1 = its home) and the groups dropped because their probe
 * window was full. */
uint32_t balance_group_max_probe(const struct balance *);
uint64_t balance_group_probe_evictions(const struct balance *);
/* Tests only: hash group addresses with fn instead of the keyed hash, so
 * a test can make every address collide.  Set before the first flow. */
void balance_set_group_hash_fn(
    struct balance *, uint32_t (*fn)(const uint8_t *addr, uint8_t family));
/* Index of a link by name, or -1. */
int balance_link_index(const struct balance *, const char *);

#endif
