#include "autoconf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance-int.h"

/* A flow's link is an index into its table's per-link lists (flow.h). */
_Static_assert(BALANCE_MAX_LINKS <= FLOW_LINKS,
    "every link of a balance has a list in its flow table");

/*
 * A balance: its links, the new-flow assignment through the route table
 * (rtable.c), the pick algorithms (pick.c) and sticky groups (sticky.c),
 * the per-link and per-profile counts, and reload.  Failover and
 * failback are in failover.c.
 */

/* Labels of the fixed keys (hash.h) of `flow` hashing: one hashes the
 * flow, one a link's name.  Changing either moves every hashed flow on
 * upgrade and breaks agreement with older peers. */
#define FLOW_KEY_LABEL "wanpair flow key"
#define LINK_KEY_LABEL "wanpair flow link"

/* Default PRNG state for `random`, so replays are reproducible. */
#define RANDOM_SEED 0x2545f4914f6cdd1dULL

/* Half-life of the byte counts behind `throughput`: long enough to smooth
 * TCP's bursts, short enough to follow a shift of load within seconds. */
#define TPUT_HALFLIFE_MS 1000.0
/* Rebase the forward-decay epoch long before 2^(age/halflife) overflows a
 * double (at 17 minutes); rebasing every 40 s costs one pass over links. */
#define TPUT_REBASE_MS (40 * 1000)

/* -------------------------------------------------------- accounting */

void
bal_place(struct balance *b, struct flow_table *t, struct flow *f,
    uint8_t profile, uint8_t link)
{
	flow_table_set_link(t, f, link);
	f->profile = profile;
	b->links[link].active++;
	if (profile != FLOW_PROFILE_NONE)
		b->profiles[profile].active[link]++;
}

/*
 * Takes a flow out of its link's counts.  The counts never wrap below
 * zero: a wrapped count would make `usage` shun that link for good.
 */
void
bal_uncount(struct balance *b, unsigned link, uint8_t profile)
{
	if (b->links[link].active > 0)
		b->links[link].active--;
	if (profile < b->nprofiles && b->profiles[profile].active[link] > 0)
		b->profiles[profile].active[link]--;
}

void
bal_unplace(struct balance *b, const struct flow *f, uint64_t now)
{
	if (f->link >= b->nlinks)
		return;
	bal_uncount(b, f->link, f->profile);
	if (f->profile < b->nprofiles && f->group != 0)
		sticky_unref(&b->profiles[f->profile], f->group, now);
}

struct balance *
balance_new(const struct balance_spec *spec)
{
	struct balance     *b;
	struct bal_profile *p;
	size_t              i;
	struct wp_hash_key  link_key;
	unsigned            j;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->failback = spec->failback;
	b->nlinks =
	    spec->nlinks < BALANCE_MAX_LINKS ? spec->nlinks : BALANCE_MAX_LINKS;
	if ((b->links = calloc(
		 b->nlinks > 0 ? b->nlinks : 1, sizeof(*b->links))) == NULL) {
		free(b);
		return NULL;
	}
	wp_hash_key_fixed(&b->flow_key, FLOW_KEY_LABEL);
	wp_hash_key_fixed(&link_key, LINK_KEY_LABEL);
	for (j = 0; j < b->nlinks; j++) {
		snprintf(b->links[j].name, sizeof(b->links[j].name), "%s",
		    spec->links[j].name);
		b->links[j].seed = wp_siphash(
		    &link_key, b->links[j].name, strlen(b->links[j].name));
		b->links[j].weight = spec->links[j].weight;
		b->links[j].up = 1;
	}
	pick_init(b);
	b->tput_scale = 1.0;

	b->nprofiles = spec->nprofiles < FLOW_PROFILE_NONE ? spec->nprofiles
							   : FLOW_PROFILE_NONE;
	if (b->nprofiles > 0 &&
	    (b->profiles = calloc(b->nprofiles, sizeof(*p))) == NULL)
		goto fail;
	for (i = 0; i < b->nprofiles; i++) {
		p = &b->profiles[i];
		p->alg = spec->profiles[i].algorithm;
		p->rng = RANDOM_SEED;
		if (sticky_profile_init(p, &spec->profiles[i]) == -1)
			goto fail;
	}
	b->rules = rule_set_ref(spec->rules);
	if (rtable_build(b, spec) == -1)
		goto fail;
	return b;
fail:
	balance_free(b);
	return NULL;
}

void
balance_free(struct balance *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->nprofiles; i++)
		sticky_profile_free(&b->profiles[i]);
	free(b->profiles);
	rule_set_unref(b->rules);
	rtable_free(b);
	free(b->links);
	free(b);
}

void
balance_seed(struct balance *b, uint64_t seed)
{
	size_t i;

	/* Profiles draw from separate streams so they share no state. */
	for (i = 0; i < b->nprofiles; i++)
		b->profiles[i].rng = wp_mix64(seed + i);
}

/* New, or its link was removed by a reload; see balance_assign(). */
int
bal_assign(struct balance *b, struct flow_table *t, struct flow *f,
    const struct bal_ctx *x, int rule, uint64_t now_ms)
{
	struct cand         c[BALANCE_MAX_LINKS];
	struct bal_profile *p;
	struct bal_set     *s;
	unsigned            n, k;
	int                 si, want;

	f->group = 0;
	f->rule = FLOW_RULE_NONE;
	want = rule >= 0 ? rule_set_profile(b->rules, (size_t)rule) : -1;
	if ((si = rtable_select_profile(b, want, x->family, x->dst)) == -1) {
		flow_table_set_link(t, f, FLOW_LINK_NONE);
		f->profile = FLOW_PROFILE_NONE;
		return -1;
	}
	s = &b->sets[si];
	/* A rule whose profile has no live route to the destination gives
	 * way to the route table. */
	if (want >= 0 && s->profile == (uint8_t)want)
		f->rule = (uint8_t)rule;
	if (s->profile == FLOW_PROFILE_NONE) {
		bal_place(
		    b, t, f, FLOW_PROFILE_NONE, b->routes[s->route[0]].link);
		return 0;
	}
	p = &b->profiles[s->profile];
	n = rtable_gather(b, s, c);
	if (p->sticky != STICKY_NONE)
		k = sticky_pick(b, p, (uint16_t)si, c, n, x, now_ms, &f->group);
	else
		k = pick_link(b, p, s, c, n, x);
	bal_place(b, t, f, s->profile, c[k].link);
	return 0;
}

int
balance_rule_match(const struct balance *b, const struct pkt_info *pkt)
{
	return rule_set_match(b->rules, pkt);
}

int
balance_assign_rule(struct balance *b, struct flow_table *t,
    const struct pkt_info *pkt, struct flow *f, int rule, uint64_t now_ms)
{
	struct bal_ctx x;

	/* Failover recomputes the destination from the key and this flag;
	 * set it here so that holds whatever the caller did. */
	if (pkt->sport == f->key.pa && memcmp(pkt->src, f->key.a, 16) == 0)
		f->flags |= FLOW_F_A_INITIATOR;
	else
		f->flags &= (uint8_t)~FLOW_F_A_INITIATOR;
	x.key = &f->key;
	x.src = pkt->src;
	x.dst = pkt->dst;
	x.family = pkt->family;
	return bal_assign(b, t, f, &x, rule, now_ms);
}

int
balance_assign(struct balance *b, struct flow_table *t,
    const struct pkt_info *pkt, struct flow *f, uint64_t now_ms)
{
	return balance_assign_rule(
	    b, t, pkt, f, balance_rule_match(b, pkt), now_ms);
}

int
balance_routable(const struct balance *b, const struct pkt_info *pkt)
{
	return rtable_select(b, pkt->family, pkt->dst) != -1;
}

void
balance_release(struct balance *b, const struct flow *f, uint64_t now_ms)
{
	bal_unplace(b, f, now_ms);
}

void
balance_account(
    struct balance *b, unsigned link, uint32_t bytes, uint64_t now_ms)
{
	double   age;
	unsigned i;

	if (link >= b->nlinks)
		return;
	/*
	 * Forward decay: rather than decaying every link's count as time
	 * passes, new bytes count 2^(age/halflife) more.  Only ratios are
	 * compared, so this equals exponential decay, at one exp2() per
	 * millisecond instead of one per link per packet.
	 */
	if (now_ms != b->tput_ms) {
		b->tput_ms = now_ms;
		if (now_ms > b->tput_base_ms + TPUT_REBASE_MS) {
			age = (double)(now_ms - b->tput_base_ms);
			for (i = 0; i < b->nlinks; i++)
				b->links[i].tput *=
				    exp2(-age / TPUT_HALFLIFE_MS);
			b->tput_base_ms = now_ms;
		}
		age = (double)now_ms - (double)b->tput_base_ms;
		b->tput_scale = exp2(age / TPUT_HALFLIFE_MS);
	}
	b->links[link].tput += bytes * b->tput_scale;
}

void
bal_ctx_from_flow(struct bal_ctx *x, const struct flow *f)
{
	x->key = &f->key;
	x->family = f->key.family;
	if (f->flags & FLOW_F_A_INITIATOR) {
		x->src = f->key.a;
		x->dst = f->key.b;
	} else {
		x->src = f->key.b;
		x->dst = f->key.a;
	}
}

unsigned
balance_nlinks(const struct balance *b)
{
	return b->nlinks;
}

const char *
balance_link_name(const struct balance *b, unsigned link)
{
	return link < b->nlinks ? b->links[link].name : NULL;
}

int
balance_link_is_up(const struct balance *b, unsigned link)
{
	return link < b->nlinks && b->links[link].up;
}

uint32_t
balance_link_weight(const struct balance *b, unsigned link)
{
	return link < b->nlinks ? b->links[link].weight : 0;
}

uint64_t
balance_link_active(const struct balance *b, unsigned link)
{
	return link < b->nlinks ? b->links[link].active : 0;
}

uint32_t
balance_group_max_probe(const struct balance *b)
{
	uint32_t worst = 0;
	size_t   i;

	for (i = 0; i < b->nprofiles; i++)
		if (b->profiles[i].probe_worst > worst)
			worst = b->profiles[i].probe_worst;
	return worst;
}

uint64_t
balance_group_probe_evictions(const struct balance *b)
{
	uint64_t n = 0;
	size_t   i;

	for (i = 0; i < b->nprofiles; i++)
		n += b->profiles[i].probe_evictions;
	return n;
}

void
balance_set_group_hash_fn(
    struct balance *b, uint32_t (*fn)(const uint8_t *, uint8_t))
{
	size_t i;

	for (i = 0; i < b->nprofiles; i++)
		b->profiles[i].hash_fn = fn;
}

void
balance_set_degraded(
    struct balance *b, unsigned profile, unsigned link, int degraded)
{
	uint32_t bit;

	if (profile >= b->nprofiles || link >= b->nlinks)
		return;
	bit = (uint32_t)1 << link;
	if (degraded)
		b->profiles[profile].degraded |= bit;
	else
		b->profiles[profile].degraded &= ~bit;
}

int
balance_degraded(const struct balance *b, unsigned profile, unsigned link)
{
	if (profile >= b->nprofiles || link >= b->nlinks)
		return 0;
	return (int)(b->profiles[profile].degraded >> link & 1);
}

size_t
balance_nprofiles(const struct balance *b)
{
	return b->nprofiles;
}

int
balance_link_index(const struct balance *b, const char *name)
{
	unsigned i;

	for (i = 0; i < b->nlinks; i++)
		if (strcmp(b->links[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* ------------------------------------------------------------ reload */

struct adopt {
	struct balance    *b; /* the new one */
	struct flow_table *t;
	const int         *map;
	unsigned           nold;
	uint64_t           now;
	balance_move_cb    cb;
	void              *arg;
	size_t             moved;
	size_t             stranded;
};

static int
adopt_flow(void *arg, struct flow *f)
{
	struct adopt   *a = arg;
	struct balance *b = a->b;
	struct bal_ctx  x;
	unsigned        from = f->link;
	int             to, si;

	if (from == FLOW_LINK_NONE)
		return 0;
	to = from < a->nold ? a->map[from] : -1;
	/* The old balance's profile, group and rules mean nothing here: a
	 * kept flow is counted in the profile of its destination's route
	 * (its first packet, that rules look at, is long gone). */
	f->group = 0;
	f->profile = FLOW_PROFILE_NONE;
	f->rule = FLOW_RULE_NONE;
	flow_table_set_link(a->t, f, FLOW_LINK_NONE);
	bal_ctx_from_flow(&x, f);
	if (to >= 0 && (unsigned)to < b->nlinks) {
		si = rtable_select(b, x.family, x.dst);
		bal_place(b, a->t, f,
		    si == -1 ? FLOW_PROFILE_NONE : b->sets[si].profile,
		    (uint8_t)to);
		if (f->profile != FLOW_PROFILE_NONE &&
		    b->profiles[f->profile].sticky != STICKY_NONE)
			sticky_regroup(b, f, (uint16_t)si, &x, a->now);
		return 0;
	}
	/* Its link is gone: it moves as failover would move it. */
	if (bal_assign(b, a->t, f, &x, -1, a->now) == -1) {
		a->stranded++;
		return 0;
	}
	f->flags |= FLOW_F_MOVED;
	a->moved++;
	if (a->cb != NULL)
		a->cb(a->arg, f, from, f->link);
	return 0;
}

struct balance *
balance_reconfigure(const struct balance *old, const struct balance_spec *spec,
    struct flow_table *t, const int *link_map, uint64_t now_ms,
    balance_move_cb cb, void *arg, size_t *moved, size_t *stranded)
{
	struct balance *b;
	struct adopt    a;
	unsigned        i;
	int             to;

	if ((b = balance_new(spec)) == NULL)
		return NULL;
	/* What the links showed so far still holds: a dead link stays dead
	 * until its probes say otherwise, and `throughput` keeps its load
	 * figures.  New links start up, as at start. */
	b->tput_base_ms = old->tput_base_ms;
	b->tput_ms = old->tput_ms;
	b->tput_scale = old->tput_scale;
	for (i = 0; i < old->nlinks; i++) {
		to = link_map[i];
		if (to < 0 || (unsigned)to >= b->nlinks)
			continue;
		b->links[to].up = old->links[i].up;
		b->links[to].tput = old->links[i].tput;
	}
	memset(&a, 0, sizeof(a));
	a.b = b;
	a.t = t;
	a.map = link_map;
	a.nold = old->nlinks;
	a.now = now_ms;
	a.cb = cb;
	a.arg = arg;
	if (t != NULL)
		flow_table_foreach(t, adopt_flow, &a);
	if (moved != NULL)
		*moved = a.moved;
	if (stranded != NULL)
		*stranded = a.stranded;
	return b;
}
