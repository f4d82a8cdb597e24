/*
 * Inside the balance room: what balance.c (assignment, accounting,
 * reload), rtable.c (routes), pick.c (algorithms), sticky.c (sticky
 * groups) and failover.c (link down/up, rebalance) share.  Nothing
 * outside those files includes this; callers use balance.h.
 */
#ifndef WANPAIR_BALANCE_INT_H
#define WANPAIR_BALANCE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "balance.h"
#include "flow.h"
#include "hash.h"
#include "hrw.h"
#include "lpm.h"
#include "rules.h"

/*
 * Layout.  Routes are copied from the spec with their weight (on the
 * spec's side).  Routes that balance together (same network, metric and
 * profile) form a route set; a static route is a set of one.  Each
 * distinct network is one prefix of `lpm` (common/lpm.h), whose value
 * indexes prefixes[]: the run of order[] that holds that network's
 * routes, lowest metric first, then spec order.  So the most specific
 * network that holds the destination comes first, and the first live
 * route of its run (or, all down, of the next less specific one's)
 * decides the set.
 */

/* Route and set indices are uint16_t. */
#define ROUTES_MAX 0xffff

struct bal_link {
	char     name[BALANCE_NAME_MAX];
	uint64_t seed; /* hash of the name: order-independent */
	uint64_t active;
	double   tput; /* forward-decayed bytes */
	uint32_t weight;
	int      up;
};

struct bal_route {
	int64_t  cur;       /* smooth WRR current value */
	uint64_t rr_credit; /* round robin: weight not yet used in turns */
	uint32_t weight;
	uint32_t metric;
	uint16_t set;
	uint8_t  link;
	uint8_t  len;
	uint8_t  family;
};

/* One network's routes: order[first] to order[first + n - 1]. */
struct bal_prefix {
	uint32_t first;
	uint32_t n;
};

struct bal_set {
	uint16_t route[BALANCE_MAX_LINKS]; /* spec order */
	uint8_t  n;
	uint8_t  profile; /* FLOW_PROFILE_NONE: static route */
	uint8_t  rr_pos;  /* round robin: position in route[] */
	uint32_t rr_left; /* flows left in the current run */
};

struct bal_group {
	uint8_t  addr[16];
	uint8_t  family;
	uint8_t  link;
	uint8_t  home; /* link before failover, or NONE */
	uint16_t set;  /* route set its link was chosen in */
	uint32_t hash;
	uint32_t gen;
	uint32_t active;
	uint32_t prev, next; /* LRU list, oldest first */
	uint64_t created_ms;
	uint64_t last_new_ms;
	uint64_t idle_ms; /* when active last dropped to 0 */
};

#define GROUP_NIL UINT32_MAX

struct bal_profile {
	enum balance_alg    alg;
	enum sticky_mode    sticky;
	enum keepalive_mode keepalive;
	uint8_t             prefix4;
	uint8_t             prefix6;
	uint64_t            timeout_ms;
	uint64_t            rng;
	uint64_t            active[BALANCE_MAX_LINKS];
	/* links over the profile's service levels (sla.h): bit per link */
	uint32_t degraded;

	struct bal_group *groups;
	uint32_t          max_groups;
	uint32_t          ngroups; /* slots used so far, never shrinks */
	uint32_t         *index;   /* slot + 1, 0 empty */
	uint32_t          index_mask;
	uint32_t          lru_head, lru_tail;
	uint32_t          probe_max;   /* GROUP_PROBE_MAX or the index size */
	uint32_t          probe_worst; /* longest probe an insert made */
	uint64_t          probe_evictions;
	uint32_t (*hash_fn)(const uint8_t *, uint8_t); /* tests only */
	unsigned           slot_bits;
	struct wp_hash_key group_key; /* random: peers choose addresses */
};

struct balance {
	enum failback_mode failback;
	unsigned           nlinks;
	/* nlinks of them (one at least), not BALANCE_MAX_LINKS: popd has a
	 * balance per site, with a link or two */
	struct bal_link *links;

	struct bal_route  *routes;
	size_t             nroutes;
	struct lpm        *lpm;      /* network -> prefixes[] index */
	struct bal_prefix *prefixes; /* by network: its run of order[] */
	size_t             nprefixes;
	uint16_t          *order; /* routes by network, metric, spec order */

	struct bal_set *sets;
	size_t          nsets;

	struct bal_profile *profiles;
	size_t              nprofiles;

	struct rule_set *rules; /* the spec's, a reference: rules.h */

	struct wp_hash_key flow_key; /* fixed: see FLOW_KEY_LABEL */

	uint64_t tput_base_ms;
	uint64_t tput_ms;
	double   tput_scale;

	struct hrw hrw; /* `flow`: weighted rendezvous */
};

/* A live candidate route of a set, as the algorithms see it. */
struct cand {
	uint32_t w;
	uint16_t route;
	uint8_t  link;
	uint8_t  pos; /* position in the set */
};

/* What the hashing algorithms and stickiness look at. */
struct bal_ctx {
	const struct flow_key *key; /* NULL: `flow` hashes `src` instead */
	const uint8_t         *src;
	const uint8_t         *dst;
	uint8_t                family;
};

/* ---------------------------------------------------------- rtable.c */

/* Copies the spec's routes (with their weights) into b's sets and
 * selection order.  Returns 0, or -1 on allocation failure. */
int  rtable_build(struct balance *, const struct balance_spec *);
void rtable_free(struct balance *);
/* The route set for a destination: the first live route, in the order
 * most specific network, lowest metric, spec order, whose network holds
 * it decides.  -1 if none.  Costs one trie walk (at most the address's
 * bits) plus the routes it skips because their link is down. */
int rtable_select(const struct balance *, int family, const uint8_t *dst);
/*
 * The same among the routes of `profile` (a rule's choice), or if none
 * of them is live and holds the destination, rtable_select()'s; -1 for
 * profile is rtable_select().  rtable_select_flow() asks for the profile
 * of the rule that placed a flow (flow.rule), so failover keeps it
 * there, or brings it back.
 */
int rtable_select_profile(
    const struct balance *, int profile, int family, const uint8_t *dst);
int rtable_select_flow(const struct balance *, const struct flow *f, int family,
    const uint8_t *dst);
/* The live routes of a set, in spec order, into c[]; returns how many.
 * Links degraded for the set's profile (balance_set_degraded()) are left
 * out while a compliant one remains: one mask test when none is. */
unsigned rtable_gather(
    const struct balance *, const struct bal_set *, struct cand *c);
/* The index in c[] of the candidate on `link`, or -1. */
int rtable_cand_find(const struct cand *c, unsigned n, unsigned link);

/* ------------------------------------------------------------ pick.c */

void pick_init(struct balance *);
/* The index in c[] (n >= 1) of the link the profile's algorithm picks. */
unsigned pick_link(struct balance *, struct bal_profile *, struct bal_set *,
    const struct cand *c, unsigned n, const struct bal_ctx *);
/* `flow`, `source-ip`, `destination-ip`: the link follows from a hash. */
int pick_is_hash(enum balance_alg);

/* ---------------------------------------------------------- sticky.c */

/* Stickiness of a profile from the spec (its group table allocated if
 * it is sticky).  Returns 0, or -1 on failure (free with
 * sticky_profile_free() all the same). */
int sticky_profile_init(
    struct bal_profile *, const struct balance_profile_spec *);
void sticky_profile_free(struct bal_profile *);
/*
 * A sticky flow: its group's link if the group is alive and the link is
 * a live candidate, else the algorithm's choice, which (re)points the
 * group.  Returns the index into c[] and the flow's group handle.
 */
unsigned sticky_pick(struct balance *, struct bal_profile *, uint16_t set,
    const struct cand *c, unsigned n, const struct bal_ctx *, uint64_t now,
    uint32_t *handle);
/* A flow leaves the group behind `handle` (a stale handle does nothing). */
void sticky_unref(struct bal_profile *, uint32_t handle, uint64_t now);
/* The live group, on a live link, that flow f follows, or NULL. */
struct bal_group *sticky_flow_group(
    struct balance *, const struct flow *f, uint64_t now);
/* Re-points the live groups on the dead link with their profile's
 * algorithm over the live routes of the set they were chosen in. */
void sticky_link_down(struct balance *, unsigned dead, uint64_t now);
/* Groups that failover moved away from `link` go home. */
void sticky_link_up(struct balance *, unsigned link, uint64_t now);
/* A kept flow of a sticky profile joins the group its address selects,
 * created on the flow's link if there is none (reload). */
void sticky_regroup(struct balance *, struct flow *f, uint16_t set,
    const struct bal_ctx *, uint64_t now);

/* --------------------------------------------------------- balance.c */

void bal_place(struct balance *, struct flow_table *, struct flow *f,
    uint8_t profile, uint8_t link);
void bal_uncount(struct balance *, unsigned link, uint8_t profile);
void bal_unplace(struct balance *, const struct flow *f, uint64_t now);
/* A link for a flow that has none, by its destination's route set, in
 * the profile of rule `rule` if it is one (-1: the route table's). */
int bal_assign(struct balance *, struct flow_table *, struct flow *f,
    const struct bal_ctx *, int rule, uint64_t now);
/* The hashing context of a flow in the table, from its key and flags. */
void bal_ctx_from_flow(struct bal_ctx *, const struct flow *f);

#endif
