#include "autoconf.h"

#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "balance-int.h"

/*
 * Sticky groups: the flows of one source or destination (address or
 * network) keep the link the group's first flow took, while the
 * profile's keepalive says the group lives and at most max_groups
 * groups exist (least recently used evicted).  The group index is keyed
 * at random and probes a bounded window.
 */

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

void
sticky_unref(struct bal_profile *p, uint32_t handle, uint64_t now)
{
	struct bal_group *g;

	if ((g = group_by_handle(p, handle)) == NULL || g->active == 0)
		return;
	if (--g->active == 0)
		g->idle_ms = now;
}

unsigned
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
		else if ((i = rtable_cand_find(c, n, g->link)) != -1) {
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
	k = pick_link(b, p, &b->sets[si], c, n, x);
	g->link = c[k].link;
	g->set = si;
	g->last_new_ms = now;
	g->active++;
	*handle = group_handle(p, slot);
	return k;
}

struct bal_group *
sticky_flow_group(struct balance *b, const struct flow *f, uint64_t now)
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

void
sticky_link_down(struct balance *b, unsigned dead, uint64_t now)
{
	struct cand         c[BALANCE_MAX_LINKS];
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
			if ((n = rtable_gather(b, &b->sets[g->set], c)) == 0)
				continue;
			/* Hashing sees the group's address, as stable as
			 * any of its flows' keys. */
			x.key = NULL;
			x.src = x.dst = g->addr;
			x.family = g->family;
			if (g->home == FLOW_LINK_NONE)
				g->home = g->link;
			g->link =
			    c[pick_link(b, p, &b->sets[g->set], c, n, &x)].link;
		}
	}
}

void
sticky_link_up(struct balance *b, unsigned link, uint64_t now)
{
	struct bal_profile *p;
	struct bal_group   *g;
	size_t              i;
	uint32_t            s;

	for (i = 0; i < b->nprofiles; i++) {
		p = &b->profiles[i];
		for (s = 0; s < p->ngroups; s++) {
			g = &p->groups[s];
			if (g->home == link && group_alive(p, g, now)) {
				g->link = (uint8_t)link;
				g->home = FLOW_LINK_NONE;
			}
		}
	}
}

void
sticky_regroup(struct balance *b, struct flow *f, uint16_t si,
    const struct bal_ctx *x, uint64_t now)
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

int
sticky_profile_init(
    struct bal_profile *p, const struct balance_profile_spec *cp)
{
	size_t sz;

	p->sticky = cp->stickiness;
	p->keepalive = cp->keepalive;
	p->timeout_ms = (uint64_t)cp->timeout_s * 1000;
	p->lru_head = p->lru_tail = GROUP_NIL;
	/* Only the group index is keyed at random: it is fillable by
	 * whoever sends traffic, and which link a group gets never depends
	 * on it. */
	if (wp_hash_key_random(&p->group_key) == -1)
		return -1;
	if (p->sticky == STICKY_SOURCE_NETWORK ||
	    p->sticky == STICKY_DESTINATION_NETWORK) {
		p->prefix4 = cp->prefix4;
		p->prefix6 = cp->prefix6;
	}
	if (p->sticky == STICKY_NONE)
		return 0;
	p->max_groups = cp->max_groups == 0 ? 1
	    : cp->max_groups > GROUPS_MAX   ? GROUPS_MAX
					    : cp->max_groups;
	p->slot_bits = 32 - (unsigned)__builtin_clz(p->max_groups);
	for (sz = 2; sz < 2 * (size_t)p->max_groups; sz <<= 1)
		;
	p->index_mask = (uint32_t)sz - 1;
	p->probe_max = sz < GROUP_PROBE_MAX ? (uint32_t)sz : GROUP_PROBE_MAX;
	if ((p->groups = calloc(p->max_groups, sizeof(*p->groups))) == NULL ||
	    (p->index = calloc(sz, sizeof(*p->index))) == NULL)
		return -1;
	return 0;
}

void
sticky_profile_free(struct bal_profile *p)
{
	free(p->groups);
	free(p->index);
}
