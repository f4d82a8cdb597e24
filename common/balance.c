#include "autoconf.h"

#include <sys/socket.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "balance.h"
#include "hash.h"

/*
 * Layout.  Routes are copied from the config with their weight on this
 * side and a precomputed mask, so matching is two 64-bit compares.  Routes
 * that balance together (same network, metric and profile) form a route
 * set; a static route is a set of one.  Per family, routes are kept in
 * selection order (prefix length desc, metric asc, config order), so the
 * first live route that contains the destination decides the set.
 */

/* Route and set indices are uint16_t. */
#define ROUTES_MAX 0xffff

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

/* How far from the LRU end eviction looks for a dead group before it
 * evicts the least recently used live one: bounded, so a full table costs
 * O(1) per new group. */
#define EVICT_SCAN 8

/*
 * As in the flow table (flow.c, PROBE_MAX): no group sits 64 or more
 * slots past its home in the index, so a lookup or insert reads at most
 * 64 slots whatever addresses arrive.  The index is at most half full;
 * a group whose window is full takes the index slot of a dead group in
 * it, else of the one that gained a flow longest ago, and that group is
 * dropped (its flows keep their links, as after an LRU eviction).
 */
#define GROUP_PROBE_MAX 64

/* A handle is slot + 1 in the low bits and the slot's generation above:
 * clamping max_groups keeps at least 8 generation bits, so a flow's stale
 * handle is recognised unless its slot was reused a multiple of 256 times
 * while the flow lived (then one release is miscounted, never unsafe). */
#define GROUPS_MAX ((1U << 24) - 1)

/* -log2(u) in fixed point with Q fractional bits: 64 << Q fits 32 bits. */
#define LOG_Q   25
#define LOG_TAB 256

struct bal_link {
	char     name[CONFIG_NAME_MAX];
	uint64_t seed; /* hash of the name: order-independent */
	uint64_t active;
	double   tput; /* forward-decayed bytes */
	uint32_t weight;
	int      up;
};

struct bal_route {
	uint64_t net[2];
	uint64_t mask[2];
	int64_t  cur;       /* smooth WRR current value */
	uint64_t rr_credit; /* round robin: weight not yet used in turns */
	uint32_t weight;
	uint32_t metric;
	uint16_t set;
	uint8_t  link;
	uint8_t  len;
	uint8_t  family;
};

struct bal_set {
	uint16_t route[CONFIG_MAX_LINKS]; /* config order */
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
	uint64_t            active[CONFIG_MAX_LINKS];

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
	enum balance_side  side;
	enum failback_mode failback;
	unsigned           nlinks;
	struct bal_link    links[CONFIG_MAX_LINKS];

	struct bal_route *routes;
	size_t            nroutes;
	uint16_t         *order[2]; /* selection order per family */
	size_t            norder[2];

	struct bal_set *sets;
	size_t          nsets;

	struct bal_profile *profiles;
	size_t              nprofiles;

	struct wp_hash_key flow_key; /* fixed: see FLOW_KEY_LABEL */

	uint64_t tput_base_ms;
	uint64_t tput_ms;
	double   tput_scale;

	uint32_t log2tab[LOG_TAB + 1];
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

static int
fam_index(int family)
{
	if (family == AF_INET)
		return 0;
	if (family == AF_INET6)
		return 1;
	return -1;
}

/*
 * log2(1 + i/256) in Q25, by repeated squaring in integers: the table, and
 * so every `flow` decision, is bit-identical on every host, which libm's
 * log() does not promise.
 */
static void
log2tab_init(uint32_t *t)
{
	unsigned i, k;
	uint64_t x, r;

	for (i = 0; i < LOG_TAB; i++) {
		x = (1ULL << 62) + ((uint64_t)i << 54); /* Q62 in [1, 2) */
		r = 0;
		for (k = 1; k <= LOG_Q + 1; k++) {
			x = (uint64_t)(((unsigned __int128)x * x) >> 62);
			if (x >= (1ULL << 63)) {
				x >>= 1;
				r |= 1ULL << (LOG_Q + 1 - k);
			}
		}
		t[i] = (uint32_t)((r + 1) >> 1);
	}
	t[LOG_TAB] = 1U << LOG_Q;
}

/*
 * -log2(u) in Q25 for u = h / 2^64 in (0, 1): the leading zeros give the
 * integer part, the table with linear interpolation the fraction (error
 * below 3e-6, far under what a share could show).
 */
static inline uint32_t
neglog2(const uint32_t *t, uint64_t h)
{
	unsigned lz, i;
	uint64_t m, frac;
	uint32_t l;

	h |= 1;
	lz = (unsigned)__builtin_clzll(h);
	m = h << lz;
	i = (unsigned)(m >> 55) & (LOG_TAB - 1);
	frac = (m >> 31) & 0xffffff;
	l = t[i] + (uint32_t)(((uint64_t)(t[i + 1] - t[i]) * frac) >> 24);
	return ((uint32_t)(lz + 1) << LOG_Q) - l;
}

static inline uint64_t
splitmix64(uint64_t *s)
{
	*s += 0x9e3779b97f4a7c15ULL;
	return wp_mix64(*s);
}

static inline void
load128(const uint8_t *a, uint64_t *v)
{
	memcpy(v, a, 16);
}

/* ------------------------------------------------------------ routes */

static int
route_cmp(const struct bal_route *routes, uint16_t x, uint16_t y)
{
	const struct bal_route *a = &routes[x], *b = &routes[y];

	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	if (a->metric != b->metric)
		return a->metric < b->metric ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Insertion sort: a handful of routes, and qsort has no context pointer. */
static void
order_sort(const struct bal_route *routes, uint16_t *o, size_t n)
{
	size_t   i, j;
	uint16_t v;

	for (i = 1; i < n; i++) {
		v = o[i];
		for (j = i; j > 0 && route_cmp(routes, v, o[j - 1]) < 0; j--)
			o[j] = o[j - 1];
		o[j] = v;
	}
}

static int
route_add(
    struct balance *b, const struct config *conf, const struct config_route *cr)
{
	struct bal_route *r;
	struct bal_set   *s;
	uint8_t           m[16];
	size_t            i;
	int               fam;

	if ((fam = fam_index(cr->network.addr.family)) == -1 || cr->link < 0 ||
	    (size_t)cr->link >= b->nlinks ||
	    (cr->profile != CONFIG_ROUTE_STATIC &&
		(cr->profile < 0 || (size_t)cr->profile >= b->nprofiles)))
		return 0; /* a validated config has none of these */

	r = &b->routes[b->nroutes];
	memset(r, 0, sizeof(*r));
	memset(m, 0xff, sizeof(m));
	addr_mask(cr->network.addr.family, m, cr->network.len);
	if (cr->network.addr.family == AF_INET)
		memset(m + 4, 0, 12);
	load128(m, r->mask);
	load128(cr->network.addr.a, r->net);
	r->net[0] &= r->mask[0];
	r->net[1] &= r->mask[1];
	r->len = cr->network.len;
	r->family = cr->network.addr.family;
	r->metric = cr->metric;
	r->link = (uint8_t)cr->link;
	/* Zero would starve a route or divide by zero; the loader refuses
	 * it, a site's HELLO might not. */
	r->weight = config_route_weight(conf, cr, b->side == SIDE_DOWN);
	if (r->weight == 0)
		r->weight = 1;

	s = NULL;
	if (cr->profile != CONFIG_ROUTE_STATIC) {
		for (i = 0; i < b->nsets; i++) {
			struct bal_route *o = &b->routes[b->sets[i].route[0]];

			if (b->sets[i].profile == (uint8_t)cr->profile &&
			    o->family == r->family && o->len == r->len &&
			    o->metric == r->metric && o->net[0] == r->net[0] &&
			    o->net[1] == r->net[1]) {
				s = &b->sets[i];
				break;
			}
		}
	}
	if (s != NULL) {
		/* A second route over the same link in one set would only
		 * double that link's weight: the first one counts. */
		for (i = 0; i < s->n; i++)
			if (b->routes[s->route[i]].link == r->link)
				return 0;
	} else {
		s = &b->sets[b->nsets++];
		memset(s, 0, sizeof(*s));
		s->profile = cr->profile == CONFIG_ROUTE_STATIC
		    ? FLOW_PROFILE_NONE
		    : (uint8_t)cr->profile;
		s->rr_pos = UINT8_MAX; /* the first run starts at route 0 */
	}
	r->set = (uint16_t)(s - b->sets);
	s->route[s->n++] = (uint16_t)b->nroutes;
	b->order[fam][b->norder[fam]++] = (uint16_t)b->nroutes;
	b->nroutes++;
	return 0;
}

static inline int
route_contains(const struct bal_route *r, const uint64_t *d)
{
	return ((d[0] & r->mask[0]) == r->net[0]) &
	    ((d[1] & r->mask[1]) == r->net[1]);
}

/* The route set for a destination: the first live route in selection
 * order that contains it decides.  -1 if none. */
static int
select_set(const struct balance *b, int family, const uint8_t *dst)
{
	const struct bal_route *r;
	const uint16_t         *o;
	uint64_t                d[2];
	size_t                  i, n;
	int                     fam;

	if ((fam = fam_index(family)) == -1)
		return -1;
	load128(dst, d);
	o = b->order[fam];
	n = b->norder[fam];
	for (i = 0; i < n; i++) {
		r = &b->routes[o[i]];
		if (b->links[r->link].up && route_contains(r, d))
			return r->set;
	}
	return -1;
}

static unsigned
gather(const struct balance *b, const struct bal_set *s, struct cand *c)
{
	const struct bal_route *r;
	unsigned                i, n = 0;

	for (i = 0; i < s->n; i++) {
		r = &b->routes[s->route[i]];
		if (!b->links[r->link].up)
			continue;
		c[n].w = r->weight;
		c[n].route = s->route[i];
		c[n].link = r->link;
		c[n].pos = (uint8_t)i;
		n++;
	}
	return n;
}

static int
cand_find(const struct cand *c, unsigned n, unsigned link)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (c[i].link == link)
			return (int)i;
	return -1;
}

/* ------------------------------------------------------- algorithms */

/*
 * Weighted rendezvous hashing: the link with the least -ln(u)/w wins, an
 * exponential race in which each link wins with probability w/W.  Each
 * link's score depends on the key and its own name only, so removing a
 * link moves only its flows and reordering the config moves none.
 *
 * u is a bijective finaliser of (SipHash of the key) xor (the link's
 * seed): the SipHash, under a fixed key so both ends and restarts agree,
 * is uniform whatever bytes the key holds, and one per flow instead of
 * one per link keeps `flow` near the cost of the other algorithms.
 */
static unsigned
pick_hash(const struct balance *b, const struct cand *c, unsigned n,
    const void *data, size_t len)
{
	unsigned best = 0, i;
	uint64_t h, xb, xi;

	h = wp_siphash(&b->flow_key, data, len);
	xb = neglog2(b->log2tab, wp_mix64(h ^ b->links[c[0].link].seed));
	for (i = 1; i < n; i++) {
		xi =
		    neglog2(b->log2tab, wp_mix64(h ^ b->links[c[i].link].seed));
		/* xi/wi < xb/wb without dividing; both products < 2^63. */
		if (xi * c[best].w < xb * c[i].w ||
		    (xi * c[best].w == xb * c[i].w &&
			b->links[c[i].link].seed >
			    b->links[c[best].link].seed)) {
			best = i;
			xb = xi;
		}
	}
	return best;
}

/* nginx's smooth weighted round robin: exact ratio, evenly interleaved. */
static unsigned
pick_ratio(struct balance *b, const struct cand *c, unsigned n)
{
	struct bal_route *r;
	unsigned          best = 0, i;
	int64_t           total = 0, bestcur = INT64_MIN;

	for (i = 0; i < n; i++) {
		r = &b->routes[c[i].route];
		r->cur += c[i].w;
		total += c[i].w;
		if (r->cur > bestcur) {
			bestcur = r->cur;
			best = i;
		}
	}
	b->routes[c[best].route].cur -= total;
	return best;
}

/*
 * Weighted round robin in turns: the live routes take turns in config
 * order, and a turn lasts the route's weight over the smallest live weight
 * (100:50:25 gives runs of 4, 2 and 1).  What a turn cannot use (100:33
 * makes 3.03) is carried to the route's next turn, so long-run shares are
 * exact and no run is longer than the weights demand.
 */
static unsigned
pick_rr(struct balance *b, struct bal_set *s, const struct cand *c, unsigned n)
{
	struct bal_route *r;
	unsigned          i, k;
	uint32_t          wmin, run;

	for (i = 0; i < n; i++)
		if (c[i].pos == s->rr_pos && s->rr_left > 0) {
			s->rr_left--;
			return i;
		}
	/* The turn is over, or its route went down: next live route. */
	for (k = 0; k < n && c[k].pos <= s->rr_pos; k++)
		;
	if (k == n)
		k = 0;
	wmin = c[0].w;
	for (i = 1; i < n; i++)
		if (c[i].w < wmin)
			wmin = c[i].w;
	r = &b->routes[c[k].route];
	r->rr_credit += c[k].w;
	run = (uint32_t)(r->rr_credit / wmin); /* >= 1: w >= wmin */
	r->rr_credit -= (uint64_t)run * wmin;
	s->rr_pos = c[k].pos;
	s->rr_left = run - 1;
	return k;
}

static unsigned
pick_random(struct bal_profile *p, const struct cand *c, unsigned n)
{
	uint64_t total = 0, t;
	unsigned i;

	for (i = 0; i < n; i++)
		total += c[i].w;
	/* Multiply-high maps 64 random bits onto [0, total) without the
	 * bias or the division of a modulo. */
	t = (uint64_t)(((unsigned __int128)splitmix64(&p->rng) * total) >> 64);
	for (i = 0; i < n - 1; i++) {
		if (t < c[i].w)
			return i;
		t -= c[i].w;
	}
	return n - 1;
}

/* Least load/weight, ties to the heavier link, then set order. */
static unsigned
pick_least_tput(const struct balance *b, const struct cand *c, unsigned n)
{
	unsigned best = 0, i;
	double   lb, li;

	for (i = 1; i < n; i++) {
		li = b->links[c[i].link].tput * c[best].w;
		lb = b->links[c[best].link].tput * c[i].w;
		if (li < lb || (li == lb && c[i].w > c[best].w))
			best = i;
	}
	return best;
}

static unsigned
pick_least_u(const uint64_t *load, const struct cand *c, unsigned n)
{
	unsigned          best = 0, i;
	unsigned __int128 lb, li;

	for (i = 1; i < n; i++) {
		li = (unsigned __int128)load[c[i].link] * c[best].w;
		lb = (unsigned __int128)load[c[best].link] * c[i].w;
		if (li < lb || (li == lb && c[i].w > c[best].w))
			best = i;
	}
	return best;
}

static unsigned
pick(struct balance *b, struct bal_profile *p, struct bal_set *s,
    const struct cand *c, unsigned n, const struct bal_ctx *x)
{
	if (n == 1)
		return 0;
	switch (p->alg) {
	case BAL_RATIO:
		return pick_ratio(b, c, n);
	case BAL_FLOW:
		if (x->key != NULL)
			return pick_hash(b, c, n, x->key, sizeof(*x->key));
		return pick_hash(b, c, n, x->src, 16);
	case BAL_SOURCE_IP:
		return pick_hash(b, c, n, x->src, 16);
	case BAL_DESTINATION_IP:
		return pick_hash(b, c, n, x->dst, 16);
	case BAL_ROUND_ROBIN:
		return pick_rr(b, s, c, n);
	case BAL_RANDOM:
		return pick_random(p, c, n);
	case BAL_THROUGHPUT:
		return pick_least_tput(b, c, n);
	case BAL_USAGE:
		return pick_least_u(p->active, c, n);
	}
	return 0;
}

static int
alg_is_hash(enum balance_alg a)
{
	return a == BAL_FLOW || a == BAL_SOURCE_IP || a == BAL_DESTINATION_IP;
}

/* ------------------------------------------------------ sticky groups */

static int
group_alive(
    const struct bal_profile *p, const struct bal_group *g, uint64_t now)
{
	/* Family 0: a slot never used, or a group dropped from the index. */
	if (g->family == 0)
		return 0;
	switch (p->keepalive) {
	case KEEPALIVE_DEADLINE:
		return now < g->created_ms + p->timeout_ms;
	case KEEPALIVE_FOREVER:
		return 1;
	case KEEPALIVE_TIMEOUT:
		return now < g->last_new_ms + p->timeout_ms;
	case KEEPALIVE_USAGE:
		return g->active > 0 || now < g->idle_ms + p->timeout_ms;
	}
	return 0;
}

/* The address a sticky profile groups flows by. */
static void
group_addr(const struct bal_profile *p, const struct bal_ctx *x, uint8_t *a)
{
	if (p->sticky == STICKY_SOURCE_IP || p->sticky == STICKY_SOURCE_NETWORK)
		memcpy(a, x->src, 16);
	else
		memcpy(a, x->dst, 16);
	if (p->sticky == STICKY_SOURCE_NETWORK ||
	    p->sticky == STICKY_DESTINATION_NETWORK)
		addr_mask(x->family, a,
		    x->family == AF_INET ? p->prefix4 : p->prefix6);
}

static inline uint32_t
group_handle(const struct bal_profile *p, uint32_t slot)
{
	return (p->groups[slot].gen << p->slot_bits) | (slot + 1);
}

static struct bal_group *
group_by_handle(const struct bal_profile *p, uint32_t h)
{
	uint32_t          smask = (1U << p->slot_bits) - 1;
	uint32_t          slot = (h & smask) - 1;
	struct bal_group *g;

	if (h == 0 || slot >= p->ngroups)
		return NULL;
	g = &p->groups[slot];
	if ((uint32_t)(g->gen << p->slot_bits) != (h & ~smask))
		return NULL;
	return g;
}

static void
lru_unlink(struct bal_profile *p, uint32_t slot)
{
	struct bal_group *g = &p->groups[slot];

	if (g->prev != GROUP_NIL)
		p->groups[g->prev].next = g->next;
	else
		p->lru_head = g->next;
	if (g->next != GROUP_NIL)
		p->groups[g->next].prev = g->prev;
	else
		p->lru_tail = g->prev;
}

static void
lru_append(struct bal_profile *p, uint32_t slot)
{
	struct bal_group *g = &p->groups[slot];

	g->next = GROUP_NIL;
	g->prev = p->lru_tail;
	if (p->lru_tail != GROUP_NIL)
		p->groups[p->lru_tail].next = slot;
	else
		p->lru_head = slot;
	p->lru_tail = slot;
}

static uint32_t
group_hash(const struct bal_profile *p, const uint8_t *a, uint8_t family)
{
	uint8_t k[17];

	memcpy(k, a, 16);
	k[16] = family;
	if (p->hash_fn != NULL)
		return p->hash_fn(a, family);
	return (uint32_t)wp_siphash(&p->group_key, k, sizeof(k));
}

static uint32_t
group_find(
    const struct bal_profile *p, const uint8_t *a, uint8_t family, uint32_t h)
{
	const struct bal_group *g;
	uint32_t                i, s, d;

	for (i = h & p->index_mask, d = 0;
	     d < p->probe_max && (s = p->index[i]) != 0;
	     i = (i + 1) & p->index_mask, d++) {
		g = &p->groups[s - 1];
		if (g->hash == h && g->family == family &&
		    memcmp(g->addr, a, 16) == 0)
			return s - 1;
	}
	return GROUP_NIL;
}

/*
 * Backward-shift deletion keeps probe chains intact without tombstones;
 * it only moves groups nearer their home, and none GROUP_PROBE_MAX or
 * more slots past the hole can belong in it.  A group dropped from the
 * index (group_index) is not found, and nothing changes.
 */
static void
group_unindex(struct bal_profile *p, uint32_t slot)
{
	uint32_t i, j, k, d, mask = p->index_mask;

	for (i = p->groups[slot].hash & mask, d = 0; p->index[i] != slot + 1;
	     i = (i + 1) & mask, d++)
		if (p->index[i] == 0 || d + 1 >= p->probe_max)
			return;
	p->index[i] = 0;
	for (j = i;;) {
		j = (j + 1) & mask;
		if (p->index[j] == 0 || ((j - i) & mask) >= p->probe_max)
			break;
		k = p->groups[p->index[j] - 1].hash & mask;
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		p->index[i] = p->index[j];
		p->index[j] = 0;
		i = j;
	}
}

static void
lru_prepend(struct bal_profile *p, uint32_t slot)
{
	struct bal_group *g = &p->groups[slot];

	g->prev = GROUP_NIL;
	g->next = p->lru_head;
	if (p->lru_head != GROUP_NIL)
		p->groups[p->lru_head].prev = slot;
	else
		p->lru_tail = slot;
	p->lru_head = slot;
}

/* Indexes a new group within its probe window; see GROUP_PROBE_MAX. */
static void
group_index(struct bal_profile *p, uint32_t slot, uint64_t now)
{
	struct bal_group *g, *v;
	uint32_t          i, d, vi = 0, victim = GROUP_NIL;

	for (i = p->groups[slot].hash & p->index_mask, d = 0; d < p->probe_max;
	     i = (i + 1) & p->index_mask, d++)
		if (p->index[i] == 0)
			break;
	if (d == p->probe_max) {
		for (i = p->groups[slot].hash & p->index_mask, d = 0;
		     d < p->probe_max; i = (i + 1) & p->index_mask, d++) {
			g = &p->groups[p->index[i] - 1];
			v = victim == GROUP_NIL ? NULL : &p->groups[victim];
			if (v == NULL ||
			    (group_alive(p, v, now) &&
				(!group_alive(p, g, now) ||
				    g->last_new_ms < v->last_new_ms))) {
				victim = p->index[i] - 1;
				vi = i;
			}
		}
		/* Dropped: a new generation stales its flows' handles,
		 * family 0 marks it dead, and it is reused first. */
		i = vi;
		d = (i - p->groups[slot].hash) & p->index_mask;
		v = &p->groups[victim];
		v->gen++;
		v->active = 0;
		v->family = 0;
		lru_unlink(p, victim);
		lru_prepend(p, victim);
		p->probe_evictions++;
	}
	p->index[i] = slot + 1;
	if (d + 1 > p->probe_worst)
		p->probe_worst = d + 1;
}

/* A slot for a new group: a fresh one, else a dead one near the LRU end,
 * else the least recently used. */
static uint32_t
group_slot(struct bal_profile *p, uint64_t now)
{
	uint32_t s, i;

	if (p->ngroups < p->max_groups) {
		s = p->ngroups++;
		p->groups[s].gen = 0;
		lru_append(p, s);
		return s;
	}
	for (s = p->lru_head, i = 0; s != GROUP_NIL && i < EVICT_SCAN;
	     s = p->groups[s].next, i++)
		if (!group_alive(p, &p->groups[s], now))
			break;
	if (s == GROUP_NIL || i == EVICT_SCAN)
		s = p->lru_head;
	group_unindex(p, s);
	lru_unlink(p, s);
	lru_append(p, s);
	return s;
}

static void
group_reset(struct bal_profile *p, uint32_t slot, uint64_t now)
{
	struct bal_group *g = &p->groups[slot];

	/* A new generation makes the handles of the old group's flows stale,
	 * so their release never touches this one. */
	g->gen++;
	g->active = 0;
	g->home = FLOW_LINK_NONE;
	g->created_ms = now;
	g->idle_ms = now;
}

static void
group_unref(struct bal_profile *p, uint32_t handle, uint64_t now)
{
	struct bal_group *g;

	if ((g = group_by_handle(p, handle)) == NULL || g->active == 0)
		return;
	if (--g->active == 0)
		g->idle_ms = now;
}

/*
 * A sticky flow: its group's link if the group is alive and the link is
 * a live candidate, else the algorithm's choice, which (re)points the
 * group.  Returns the index into c[] and the flow's group handle.
 */
static unsigned
sticky_pick(struct balance *b, struct bal_profile *p, uint16_t si,
    const struct cand *c, unsigned n, const struct bal_ctx *x, uint64_t now,
    uint32_t *handle)
{
	struct bal_group *g;
	uint8_t           a[16];
	uint32_t          h, slot;
	unsigned          k;
	int               i;

	group_addr(p, x, a);
	h = group_hash(p, a, x->family);
	if ((slot = group_find(p, a, x->family, h)) != GROUP_NIL) {
		g = &p->groups[slot];
		lru_unlink(p, slot);
		lru_append(p, slot);
		if (!group_alive(p, g, now))
			group_reset(p, slot, now);
		else if ((i = cand_find(c, n, g->link)) != -1) {
			g->last_new_ms = now;
			g->active++;
			*handle = group_handle(p, slot);
			return (unsigned)i;
		} else if (!b->links[g->link].up && g->home == FLOW_LINK_NONE)
			g->home = g->link;
	} else {
		slot = group_slot(p, now);
		g = &p->groups[slot];
		memcpy(g->addr, a, 16);
		g->family = x->family;
		g->hash = h;
		group_index(p, slot, now);
		group_reset(p, slot, now);
	}
	k = pick(b, p, &b->sets[si], c, n, x);
	g->link = c[k].link;
	g->set = si;
	g->last_new_ms = now;
	g->active++;
	*handle = group_handle(p, slot);
	return k;
}

/* -------------------------------------------------------- accounting */

static void
place(struct balance *b, struct flow_table *t, struct flow *f, uint8_t profile,
    uint8_t link)
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
static void
uncount(struct balance *b, unsigned link, uint8_t profile)
{
	if (b->links[link].active > 0)
		b->links[link].active--;
	if (profile < b->nprofiles && b->profiles[profile].active[link] > 0)
		b->profiles[profile].active[link]--;
}

static void
unplace(struct balance *b, const struct flow *f, uint64_t now)
{
	if (f->link >= b->nlinks)
		return;
	uncount(b, f->link, f->profile);
	if (f->profile < b->nprofiles && f->group != 0)
		group_unref(&b->profiles[f->profile], f->group, now);
}

/* ---------------------------------------------------------- public */

struct balance *
balance_new(const struct config *conf, enum balance_side side)
{
	struct balance              *b;
	struct bal_profile          *p;
	const struct config_profile *cp;
	size_t                       i, nr, sz;
	struct wp_hash_key           link_key;
	unsigned                     j;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->side = side;
	b->failback = conf->failback;
	b->nlinks = conf->nlinks < CONFIG_MAX_LINKS ? (unsigned)conf->nlinks
						    : CONFIG_MAX_LINKS;
	wp_hash_key_fixed(&b->flow_key, FLOW_KEY_LABEL);
	wp_hash_key_fixed(&link_key, LINK_KEY_LABEL);
	for (j = 0; j < b->nlinks; j++) {
		snprintf(b->links[j].name, sizeof(b->links[j].name), "%s",
		    conf->links[j].name);
		b->links[j].seed = wp_siphash(
		    &link_key, b->links[j].name, strlen(b->links[j].name));
		b->links[j].weight =
		    config_link_weight(conf, j, side == SIDE_DOWN);
		b->links[j].up = 1;
	}
	log2tab_init(b->log2tab);
	b->tput_scale = 1.0;

	b->nprofiles = conf->nprofiles < FLOW_PROFILE_NONE ? conf->nprofiles
							   : FLOW_PROFILE_NONE;
	if (b->nprofiles > 0 &&
	    (b->profiles = calloc(b->nprofiles, sizeof(*p))) == NULL)
		goto fail;
	for (i = 0; i < b->nprofiles; i++) {
		cp = &conf->profiles[i];
		p = &b->profiles[i];
		p->alg = cp->algorithm;
		p->sticky = cp->stickiness;
		p->keepalive = cp->keepalive;
		p->timeout_ms = (uint64_t)cp->timeout_s * 1000;
		p->rng = RANDOM_SEED;
		p->lru_head = p->lru_tail = GROUP_NIL;
		/* Only the group index is keyed at random: it is fillable
		 * by whoever sends traffic, and which link a group gets
		 * never depends on it. */
		if (wp_hash_key_random(&p->group_key) == -1)
			goto fail;
		if (p->sticky == STICKY_SOURCE_NETWORK) {
			p->prefix4 = cp->source_prefix;
			p->prefix6 = cp->source_prefix6;
		} else if (p->sticky == STICKY_DESTINATION_NETWORK) {
			p->prefix4 = cp->destination_prefix;
			p->prefix6 = cp->destination_prefix6;
		}
		if (p->sticky == STICKY_NONE)
			continue;
		p->max_groups = cp->max_groups == 0 ? 1
		    : cp->max_groups > GROUPS_MAX   ? GROUPS_MAX
						    : cp->max_groups;
		p->slot_bits = 32 - (unsigned)__builtin_clz(p->max_groups);
		for (sz = 2; sz < 2 * (size_t)p->max_groups; sz <<= 1)
			;
		p->index_mask = (uint32_t)sz - 1;
		p->probe_max =
		    sz < GROUP_PROBE_MAX ? (uint32_t)sz : GROUP_PROBE_MAX;
		if ((p->groups = calloc(p->max_groups, sizeof(*p->groups))) ==
			NULL ||
		    (p->index = calloc(sz, sizeof(*p->index))) == NULL)
			goto fail;
	}

	/* A config without routes has the loader's default routes
	 * (config_default_routes); none here means nothing is routable. */
	nr = conf->nroutes < ROUTES_MAX ? conf->nroutes : ROUTES_MAX;
	if (nr > 0 &&
	    ((b->routes = calloc(nr, sizeof(*b->routes))) == NULL ||
		(b->sets = calloc(nr, sizeof(*b->sets))) == NULL ||
		(b->order[0] = calloc(nr, sizeof(uint16_t))) == NULL ||
		(b->order[1] = calloc(nr, sizeof(uint16_t))) == NULL))
		goto fail;
	for (i = 0; i < nr; i++)
		route_add(b, conf, &conf->routes[i]);
	order_sort(b->routes, b->order[0], b->norder[0]);
	order_sort(b->routes, b->order[1], b->norder[1]);
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
	for (i = 0; i < b->nprofiles; i++) {
		free(b->profiles[i].groups);
		free(b->profiles[i].index);
	}
	free(b->profiles);
	free(b->routes);
	free(b->sets);
	free(b->order[0]);
	free(b->order[1]);
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

/* A link for a flow that has none (new, or its link was removed by a
 * reload), by its destination's route set; see balance_assign(). */
static int
assign(struct balance *b, struct flow_table *t, struct flow *f,
    const struct bal_ctx *x, uint64_t now_ms)
{
	struct cand         c[CONFIG_MAX_LINKS];
	struct bal_profile *p;
	struct bal_set     *s;
	unsigned            n, k;
	int                 si;

	f->group = 0;
	if ((si = select_set(b, x->family, x->dst)) == -1) {
		flow_table_set_link(t, f, FLOW_LINK_NONE);
		f->profile = FLOW_PROFILE_NONE;
		return -1;
	}
	s = &b->sets[si];
	if (s->profile == FLOW_PROFILE_NONE) {
		place(b, t, f, FLOW_PROFILE_NONE, b->routes[s->route[0]].link);
		return 0;
	}
	p = &b->profiles[s->profile];
	n = gather(b, s, c);
	if (p->sticky != STICKY_NONE)
		k = sticky_pick(b, p, (uint16_t)si, c, n, x, now_ms, &f->group);
	else
		k = pick(b, p, s, c, n, x);
	place(b, t, f, s->profile, c[k].link);
	return 0;
}

int
balance_assign(struct balance *b, struct flow_table *t,
    const struct pkt_info *pkt, struct flow *f, uint64_t now_ms)
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
	return assign(b, t, f, &x, now_ms);
}

int
balance_routable(const struct balance *b, const struct pkt_info *pkt)
{
	return select_set(b, pkt->family, pkt->dst) != -1;
}

void
balance_release(struct balance *b, const struct flow *f, uint64_t now_ms)
{
	unplace(b, f, now_ms);
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

/* ------------------------------------------------ failover, failback */

struct walk {
	struct balance    *b;
	struct flow_table *t; /* NULL: a flow in no table */
	unsigned           link;
	uint64_t           now;
	balance_move_cb    cb;
	void              *arg;
	size_t             moved;
	/* rebalance */
	uint32_t *count;   /* [set][link]: flows in their set */
	uint32_t *target;  /* [set][link] */
	uint32_t *outside; /* [set]: flows on a non-candidate */
	int       pass;
};

static void
ctx_from_flow(struct bal_ctx *x, const struct flow *f)
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

static void
move(struct walk *w, struct flow *f, uint8_t profile, uint8_t link)
{
	struct balance *b = w->b;
	unsigned        from = f->link;

	if (link == from && profile == f->profile)
		return;
	if (profile != f->profile) {
		/* A group belongs to its profile: leaving one leaves it. */
		unplace(b, f, w->now);
		f->group = 0;
	} else {
		/* Same profile: the flow keeps its group reference. */
		uncount(b, from, profile);
		flow_table_set_link(w->t, f, FLOW_LINK_NONE);
	}
	place(b, w->t, f, profile, link);
	if (link == from)
		return;
	f->flags |= FLOW_F_MOVED;
	w->moved++;
	if (w->cb != NULL)
		w->cb(w->arg, f, from, link);
}

/* The live group a flow follows, or NULL. */
static struct bal_group *
flow_group(struct balance *b, const struct flow *f, uint64_t now)
{
	struct bal_profile *p;
	struct bal_group   *g;

	if (f->group == 0 || f->profile >= b->nprofiles)
		return NULL;
	p = &b->profiles[f->profile];
	if ((g = group_by_handle(p, f->group)) == NULL ||
	    !group_alive(p, g, now) || !b->links[g->link].up)
		return NULL;
	return g;
}

/*
 * Where a flow belongs now: its live group's link if that is a candidate
 * for its destination, else its route set's algorithm.  Returns 0 and the
 * profile and link, or -1 if nothing matches.
 */
static int
replace(struct walk *w, struct flow *f, uint8_t *profile, uint8_t *link)
{
	struct cand       c[CONFIG_MAX_LINKS];
	struct balance   *b = w->b;
	struct bal_group *g;
	struct bal_set   *s;
	struct bal_ctx    x;
	unsigned          n;
	int               si, i;

	ctx_from_flow(&x, f);
	if ((si = select_set(b, x.family, x.dst)) == -1)
		return -1;
	s = &b->sets[si];
	*profile = s->profile;
	if (s->profile == FLOW_PROFILE_NONE) {
		*link = b->routes[s->route[0]].link;
		return 0;
	}
	n = gather(b, s, c);
	if (s->profile == f->profile &&
	    (g = flow_group(b, f, w->now)) != NULL &&
	    (i = cand_find(c, n, g->link)) != -1) {
		*link = c[i].link;
		return 0;
	}
	*link = c[pick(b, &b->profiles[s->profile], s, c, n, &x)].link;
	return 0;
}

static int
down_flow(void *arg, struct flow *f)
{
	struct walk *w = arg;
	uint8_t      profile, link;

	if (f->link != w->link)
		return 0;
	if (replace(w, f, &profile, &link) == 0)
		move(w, f, profile, link);
	return 0;
}

/* Re-points the live groups on `dead` with their profile's algorithm
 * over the live routes of the set they were chosen in. */
static void
down_groups(struct balance *b, unsigned dead, uint64_t now)
{
	struct cand         c[CONFIG_MAX_LINKS];
	struct bal_profile *p;
	struct bal_group   *g;
	struct bal_ctx      x;
	size_t              i;
	uint32_t            s;
	unsigned            n;

	for (i = 0; i < b->nprofiles; i++) {
		p = &b->profiles[i];
		for (s = 0; s < p->ngroups; s++) {
			g = &p->groups[s];
			if (g->link != dead || !group_alive(p, g, now))
				continue;
			if ((n = gather(b, &b->sets[g->set], c)) == 0)
				continue;
			/* Hashing sees the group's address, as stable as
			 * any of its flows' keys. */
			x.key = NULL;
			x.src = x.dst = g->addr;
			x.family = g->family;
			if (g->home == FLOW_LINK_NONE)
				g->home = g->link;
			g->link =
			    c[pick(b, p, &b->sets[g->set], c, n, &x)].link;
		}
	}
}

/* A changed set of live routes restarts smooth WRR, so the ratio among
 * the new set is exact from the first flow. */
static void
ratio_restart(struct balance *b)
{
	size_t i;

	for (i = 0; i < b->nroutes; i++)
		b->routes[i].cur = 0;
}

size_t
balance_link_down(struct balance *b, struct flow_table *t, unsigned link,
    uint64_t now_ms, balance_move_cb cb, void *arg)
{
	struct walk w;

	if (link >= b->nlinks)
		return 0;
	b->links[link].up = 0;
	ratio_restart(b);
	down_groups(b, link, now_ms);
	memset(&w, 0, sizeof(w));
	w.b = b;
	w.t = t;
	w.link = link;
	w.now = now_ms;
	w.cb = cb;
	w.arg = arg;
	/* The dead link's flows only: its list, not the table. */
	if (t != NULL)
		flow_table_foreach_link(t, (uint8_t)link, down_flow, &w);
	return w.moved;
}

/*
 * Rebalance, pass 0: flows that follow a group or a hash, and flows whose
 * best route set changed profile, go where they now belong; the rest are
 * counted per set and link.  Pass 1: links above their share of a set
 * give flows to the links furthest below it.
 */
static int
up_flow(void *arg, struct flow *f)
{
	struct walk    *w = arg;
	struct balance *b = w->b;
	struct cand     c[CONFIG_MAX_LINKS];
	struct bal_set *s;
	struct bal_ctx  x;
	uint32_t       *cnt, *tgt;
	uint8_t         profile, link;
	unsigned        n, i, best;
	int             si;

	if (f->link >= b->nlinks)
		return 0;
	ctx_from_flow(&x, f);
	if ((si = select_set(b, x.family, x.dst)) == -1)
		return 0;
	s = &b->sets[si];
	if (s->profile == FLOW_PROFILE_NONE || s->profile != f->profile ||
	    alg_is_hash(b->profiles[s->profile].alg) ||
	    flow_group(b, f, w->now) != NULL) {
		if (w->pass == 0 && replace(w, f, &profile, &link) == 0)
			move(w, f, profile, link);
		return 0;
	}
	if (w->count == NULL)
		return 0;
	cnt = &w->count[(size_t)si * CONFIG_MAX_LINKS];
	tgt = &w->target[(size_t)si * CONFIG_MAX_LINKS];
	n = gather(b, s, c);
	if (w->pass == 0) {
		if (cand_find(c, n, f->link) != -1)
			cnt[f->link]++;
		else
			w->outside[si]++;
		return 0;
	}
	if (cand_find(c, n, f->link) != -1 && cnt[f->link] <= tgt[f->link])
		return 0;
	best = 0;
	for (i = 1; i < n; i++)
		if ((int64_t)tgt[c[i].link] - cnt[c[i].link] >
		    (int64_t)tgt[c[best].link] - cnt[c[best].link])
			best = i;
	if (cnt[c[best].link] >= tgt[c[best].link])
		return 0;
	if (cand_find(c, n, f->link) != -1)
		cnt[f->link]--;
	cnt[c[best].link]++;
	move(w, f, f->profile, c[best].link);
	return 0;
}

/* Each set's share per link, largest remainder first, set order on ties. */
static void
up_targets(struct walk *w)
{
	struct balance *b = w->b;
	struct cand     c[CONFIG_MAX_LINKS];
	uint64_t        total, wsum, given, rem[CONFIG_MAX_LINKS];
	uint32_t       *cnt, *tgt;
	unsigned        n, i, k;
	size_t          si;

	for (si = 0; si < b->nsets; si++) {
		cnt = &w->count[si * CONFIG_MAX_LINKS];
		tgt = &w->target[si * CONFIG_MAX_LINKS];
		if ((n = gather(b, &b->sets[si], c)) == 0)
			continue;
		total = w->outside[si];
		wsum = 0;
		for (i = 0; i < n; i++) {
			total += cnt[c[i].link];
			wsum += c[i].w;
		}
		given = 0;
		for (i = 0; i < n; i++) {
			unsigned __int128 q = (unsigned __int128)total * c[i].w;

			tgt[c[i].link] = (uint32_t)(q / wsum);
			rem[i] = (uint64_t)(q % wsum);
			given += tgt[c[i].link];
		}
		for (; given < total; given++) {
			for (k = 0, i = 1; i < n; i++)
				if (rem[i] > rem[k])
					k = i;
			tgt[c[k].link]++;
			rem[k] = 0;
		}
	}
}

size_t
balance_link_up(struct balance *b, struct flow_table *t, unsigned link,
    uint64_t now_ms, balance_move_cb cb, void *arg)
{
	struct bal_profile *p;
	struct bal_group   *g;
	struct walk         w;
	size_t              i;
	uint32_t            s;

	if (link >= b->nlinks || b->links[link].up)
		return 0;
	b->links[link].up = 1;
	ratio_restart(b);
	if (b->failback != FAILBACK_REBALANCE || t == NULL)
		return 0;

	/* Groups that failover moved away go home, and their flows follow. */
	for (i = 0; i < b->nprofiles; i++) {
		p = &b->profiles[i];
		for (s = 0; s < p->ngroups; s++) {
			g = &p->groups[s];
			if (g->home == link && group_alive(p, g, now_ms)) {
				g->link = (uint8_t)link;
				g->home = FLOW_LINK_NONE;
			}
		}
	}

	/* Rebalancing weighs every flow against its share: a walk of the
	 * table, unlike failover. */
	memset(&w, 0, sizeof(w));
	w.b = b;
	w.t = t;
	w.link = link;
	w.now = now_ms;
	w.cb = cb;
	w.arg = arg;
	/* Without memory the ratio pass is skipped; hashes and groups still
	 * move back. */
	if (b->nsets > 0 &&
	    ((w.count = calloc(
		  b->nsets * CONFIG_MAX_LINKS, sizeof(uint32_t))) == NULL ||
		(w.target = calloc(
		     b->nsets * CONFIG_MAX_LINKS, sizeof(uint32_t))) == NULL ||
		(w.outside = calloc(b->nsets, sizeof(uint32_t))) == NULL)) {
		free(w.count);
		free(w.target);
		w.count = w.target = NULL;
	}
	w.pass = 0;
	flow_table_foreach(t, up_flow, &w);
	if (w.count != NULL) {
		up_targets(&w);
		w.pass = 1;
		flow_table_foreach(t, up_flow, &w);
	}
	free(w.count);
	free(w.target);
	free(w.outside);
	return w.moved;
}

int
balance_set_link(struct balance *b, struct flow_table *t, struct flow *f,
    unsigned link, uint64_t now_ms)
{
	struct walk    w;
	struct bal_ctx x;
	int            si;

	if (link >= b->nlinks || !b->links[link].up)
		return -1;
	if (f->link == FLOW_LINK_NONE) {
		/* Counted in the profile its destination selects, as if
		 * balance_assign() had chosen the link; no group. */
		ctx_from_flow(&x, f);
		si = select_set(b, x.family, x.dst);
		f->group = 0;
		place(b, t, f,
		    si == -1 ? FLOW_PROFILE_NONE : b->sets[si].profile,
		    (uint8_t)link);
		return 0;
	}
	memset(&w, 0, sizeof(w));
	w.b = b;
	w.t = t;
	w.now = now_ms;
	/* The flow keeps its profile and group: only its link is the
	 * peer's to say. */
	move(&w, f, f->profile, (uint8_t)link);
	return 0;
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

/*
 * A kept sticky flow joins the group its address now selects, created
 * on its own link if there is none: the flows a group held before the
 * reload keep new flows of that source or destination with them.
 */
static void
regroup(struct balance *b, struct flow *f, uint16_t si, const struct bal_ctx *x,
    uint64_t now)
{
	struct bal_profile *p = &b->profiles[f->profile];
	struct bal_group   *g;
	uint8_t             a[16];
	uint32_t            h, slot;

	group_addr(p, x, a);
	h = group_hash(p, a, x->family);
	if ((slot = group_find(p, a, x->family, h)) == GROUP_NIL) {
		slot = group_slot(p, now);
		g = &p->groups[slot];
		memcpy(g->addr, a, 16);
		g->family = x->family;
		g->hash = h;
		group_index(p, slot, now);
		group_reset(p, slot, now);
		g->link = f->link;
		g->set = si;
		g->last_new_ms = now;
	}
	p->groups[slot].active++;
	f->group = group_handle(p, slot);
}

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
	/* The old balance's profile and group mean nothing here. */
	f->group = 0;
	f->profile = FLOW_PROFILE_NONE;
	flow_table_set_link(a->t, f, FLOW_LINK_NONE);
	ctx_from_flow(&x, f);
	if (to >= 0 && (unsigned)to < b->nlinks) {
		si = select_set(b, x.family, x.dst);
		place(b, a->t, f,
		    si == -1 ? FLOW_PROFILE_NONE : b->sets[si].profile,
		    (uint8_t)to);
		if (f->profile != FLOW_PROFILE_NONE &&
		    b->profiles[f->profile].sticky != STICKY_NONE)
			regroup(b, f, (uint16_t)si, &x, a->now);
		return 0;
	}
	/* Its link is gone: it moves as failover would move it. */
	if (assign(b, a->t, f, &x, a->now) == -1) {
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
balance_reconfigure(const struct balance *old, const struct config *conf,
    struct flow_table *t, const int *link_map, uint64_t now_ms,
    balance_move_cb cb, void *arg, size_t *moved, size_t *stranded)
{
	struct balance *b;
	struct adopt    a;
	unsigned        i;
	int             to;

	if ((b = balance_new(conf, old->side)) == NULL)
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
