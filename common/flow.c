#include "autoconf.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow-int.h"

/*
 * Layout.  Entries are a preallocated array of exactly `max` struct flow.
 * The index is a power-of-two array of slots; a slot holds the entry
 * number plus one (0 = empty) and the low 32 bits of the key's hash.  The
 * hash bits let a probe skip non-matching slots without touching the
 * entry (a cache miss), and give the home slot back without rehashing the
 * key during backward-shift deletion.  At 1,000,000 flows that is
 * 96 bytes of entry plus 2^21 * 8 / 10^6 = 16.8 bytes of index per flow;
 * at worst (the index rounded up to 8/3 slots per flow) 96 + 21.3, within
 * DESIGN's 128.
 *
 * Every entry is on exactly one list threaded through prev/next: the idle
 * list of its class in the table that uses it, or the pool's free list
 * (free, next only).  An entry in use is also on the list of its link,
 * threaded through lprev/lnext, with a head and a count per link below
 * FLOW_LINKS and one for FLOW_LINK_NONE (slot FLOW_LINKS).  A link value
 * past FLOW_LINKS other than FLOW_LINK_NONE is none: set_link makes it
 * FLOW_LINK_NONE, and the link's count and list are empty.
 *
 * The entries belong to a pool (struct flow_pool), which several tables
 * may share: popd's sites each index their own flows (their own index,
 * idle and link lists, count and cap) in entries drawn from one pool of
 * flows.max, allocated once.  A table made by flow_table_new() has a pool
 * of its own.  Entry numbers are the pool's, so every table over a pool
 * addresses the same array.
 */

static uint32_t
flow_class_of(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return FLOW_TCP;
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		return FLOW_UDP;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return FLOW_ICMP;
	default:
		return FLOW_OTHER;
	}
}

int
flow_key_from_pkt(const struct pkt_info *pi, struct flow_key *k)
{
	int c;

	memset(k, 0, sizeof(*k));
	c = flow_key_order(pi->src, pi->sport, pi->dst, pi->dport);
	if (c <= 0) {
		memcpy(k->a, pi->src, sizeof(k->a));
		memcpy(k->b, pi->dst, sizeof(k->b));
		k->pa = pi->sport;
		k->pb = pi->dport;
	} else {
		memcpy(k->a, pi->dst, sizeof(k->a));
		memcpy(k->b, pi->src, sizeof(k->b));
		k->pa = pi->dport;
		k->pb = pi->sport;
	}
	k->proto = pi->proto;
	k->family = pi->family;
	return c <= 0;
}

static void
timeouts_set(struct flow_table *t, const struct flow_timeouts *to)
{
	int i;

	for (i = 0; i < FLOW_NCLASS; i++)
		t->timeout_ms[i] = (uint64_t)to->s[i] * 1000;
}

static uint64_t table_serials;

static struct flow_table *
table_new(struct flow_pool *pool, uint32_t cap, const struct flow_timeouts *to)
{
	struct flow_table *t;
	uint64_t           nslots;
	uint32_t           i;

	if (cap == 0 || cap > pool->max) {
		errno = EINVAL;
		return NULL;
	}
	if ((nslots = flow_slots_for(cap)) == 0) {
		errno = ENOMEM;
		return NULL;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if (wp_hash_key_random(&t->key) == -1) {
		free(t);
		return NULL;
	}
	/* Written now, like the pool: no page faults on the packet path. */
	if ((t->slot = flow_big_array((size_t)nslots, sizeof(struct slot))) ==
	    NULL) {
		free(t);
		return NULL;
	}
	memset(t->slot, 0, (size_t)nslots * sizeof(struct slot));
	t->pool = pool;
	t->ent = pool->ent;
	t->mask = (uint32_t)(nslots - 1);
	t->max = cap;
	t->probe_max = nslots < PROBE_MAX ? (uint32_t)nslots : PROBE_MAX;
	for (i = 0; i < FLOW_NCLASS; i++)
		t->list[i].head = t->list[i].tail = NIL;
	for (i = 0; i <= FLOW_LINKS; i++)
		t->link_head[i] = NIL;
	timeouts_set(t, to);
	/* Tables may be made on any thread: the serial is atomic. */
	t->serial = __atomic_add_fetch(&table_serials, 1, __ATOMIC_RELAXED);
	return t;
}

struct flow_table *
flow_table_new(uint32_t max, const struct flow_timeouts *to)
{
	struct flow_pool  *pool;
	struct flow_table *t;

	if (max == 0 || flow_slots_for(max) == 0) {
		errno = max == 0 ? EINVAL : ENOMEM;
		return NULL;
	}
	if ((pool = flow_pool_new(max)) == NULL)
		return NULL;
	if ((t = table_new(pool, max, to)) == NULL) {
		flow_pool_free(pool);
		return NULL;
	}
	t->own_pool = 1;
	return t;
}

struct flow_table *
flow_table_new_shared(
    struct flow_pool *pool, uint32_t cap, const struct flow_timeouts *to)
{
	struct flow_table *t;

	if ((t = table_new(pool, cap, to)) != NULL)
		pool->tables++;
	return t;
}

void
flow_table_set_release_cb(struct flow_table *t, flow_release_cb cb, void *arg)
{
	t->release_cb = cb;
	t->release_arg = arg;
}

void
flow_table_set_timeouts(struct flow_table *t, const struct flow_timeouts *to)
{
	timeouts_set(t, to);
}

uint64_t
flow_table_hash(const struct flow_table *t, const struct flow_key *k)
{
	if (t->hash_fn != NULL)
		return t->hash_fn(k);
	return wp_siphash(&t->key, k, sizeof(*k));
}

void
flow_table_set_hash_fn(
    struct flow_table *t, uint64_t (*fn)(const struct flow_key *))
{
	t->hash_fn = fn;
}

static inline uint32_t
ent_no(const struct flow_table *t, const struct flow *f)
{
	return (uint32_t)(f - t->ent);
}

static void
list_unlink(struct flow_table *t, struct flow *f)
{
	struct idle_list *l = &t->list[f->cls];

	if (f->prev == NIL)
		l->head = f->next;
	else
		t->ent[f->prev].next = f->next;
	if (f->next == NIL)
		l->tail = f->prev;
	else
		t->ent[f->next].prev = f->prev;
}

static void
list_append(struct flow_table *t, struct flow *f)
{
	struct idle_list *l = &t->list[f->cls];
	uint32_t          n = ent_no(t, f);

	f->next = NIL;
	f->prev = l->tail;
	if (l->tail == NIL)
		l->head = n;
	else
		t->ent[l->tail].next = n;
	l->tail = n;
}

static void
link_unlink(struct flow_table *t, struct flow *f)
{
	if (f->lprev == NIL)
		t->link_head[flow_lslot(f->link)] = f->lnext;
	else
		t->ent[f->lprev].lnext = f->lnext;
	if (f->lnext != NIL)
		t->ent[f->lnext].lprev = f->lprev;
	t->link_count[flow_lslot(f->link)]--;
}

static void
link_push(struct flow_table *t, struct flow *f)
{
	uint32_t n = ent_no(t, f);

	f->lprev = NIL;
	f->lnext = t->link_head[flow_lslot(f->link)];
	if (f->lnext != NIL)
		t->ent[f->lnext].lprev = n;
	t->link_head[flow_lslot(f->link)] = n;
	t->link_count[flow_lslot(f->link)]++;
}

void
flow_table_set_link(struct flow_table *t, struct flow *f, uint8_t link)
{
	if (link >= FLOW_LINKS)
		link = FLOW_LINK_NONE;
	if (t == NULL) {
		f->link = link;
		return;
	}
	if (f->link == link)
		return;
	link_unlink(t, f);
	f->link = link;
	link_push(t, f);
}

struct flow *
flow_table_lookup(struct flow_table *t, const struct flow_key *k, uint64_t hash)
{
	uint32_t           h = (uint32_t)hash, i = h & t->mask, d;
	const struct slot *s;
	struct flow       *f;

	for (d = 0; d < t->probe_max; d++, i = (i + 1) & t->mask) {
		s = &t->slot[i];
		if (s->ent == 0)
			return NULL;
		if (s->hash != h)
			continue;
		f = &t->ent[s->ent - 1];
		if (memcmp(&f->key, k, sizeof(*k)) == 0)
			return f;
	}
	return NULL;
}

void
flow_table_prefetch(const struct flow_table *t, uint64_t hash)
{
	__builtin_prefetch(&t->slot[(uint32_t)hash & t->mask]);
}

/*
 * Takes the flow out of the index.  Backward-shift deletion (Knuth, TAOCP
 * vol. 3, 6.4, Algorithm R): every later slot of the cluster whose home
 * lies cyclically at or before the hole moves into it, so lookups never
 * meet a false empty slot and no tombstones accumulate.  Moving a flow
 * back only brings it nearer its home, so the PROBE_MAX bound holds; and
 * no flow PROBE_MAX or more slots past the hole can belong in it.
 */
static void
index_delete(struct flow_table *t, struct flow *f)
{
	uint32_t mask = t->mask, want = ent_no(t, f) + 1;
	uint32_t i, j, d, home;

	i = (uint32_t)flow_table_hash(t, &f->key) & mask;
	for (d = 0; t->slot[i].ent != want; d++) {
		/* An empty slot or the probe bound ends the search: the flow
		 * is not indexed, which the callers' invariant rules out;
		 * never spin. */
		if (t->slot[i].ent == 0 || d + 1 >= t->probe_max)
			return;
		i = (i + 1) & mask;
	}
	for (j = (i + 1) & mask; t->slot[j].ent != 0; j = (j + 1) & mask) {
		if (((j - i) & mask) >= t->probe_max)
			break;
		home = t->slot[j].hash & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->slot[i] = t->slot[j];
			i = j;
		}
	}
	t->slot[i].ent = 0;
	t->slot[i].hash = 0;
}

/*
 * Unhooks a flow, tells the owner, then puts the entry on the pool's free
 * list.
 * The callback sees the flow intact but already out of the index and the
 * idle lists (a lookup from inside it misses); the entry is reused only
 * after it returns.
 */
static void
flow_release(
    struct flow_table *t, struct flow *f, enum flow_release why, int indexed)
{
	if (indexed)
		index_delete(t, f);
	list_unlink(t, f);
	link_unlink(t, f); /* f->link stays for the callback */
	t->count--;
	if (t->release_cb != NULL)
		t->release_cb(t->release_arg, f, why);
	f->prev = NIL;
	f->next = t->pool->free;
	t->pool->free = ent_no(t, f);
	t->pool->used--;
}

/* The flow idle longest heads one of the class lists. */
static struct flow *
flow_idle_longest(struct flow_table *t)
{
	struct flow *f, *best = NULL;
	int          c;

	for (c = 0; c < FLOW_NCLASS; c++) {
		if (t->list[c].head == NIL)
			continue;
		f = &t->ent[t->list[c].head];
		if (best == NULL || f->last_ms < best->last_ms)
			best = f;
	}
	return best;
}

struct flow *
flow_table_insert(struct flow_table *t, const struct flow_key *k, uint64_t hash,
    uint64_t now_ms)
{
	uint32_t     h = (uint32_t)hash, i, n, d, vi = 0, vd = 0;
	struct flow *f, *e, *victim = NULL;

	/*
	 * At its cap, or with the pool empty, a table makes room among its
	 * own flows: a site's flood evicts that site's idle flows, never
	 * another's.  A table with none to give up is refused.
	 */
	if (t->count >= t->max || (t->pool->free == NIL && t->count > 0)) {
		flow_release(t, flow_idle_longest(t), FLOW_RELEASE_EVICTED, 1);
		t->evictions++;
	} else if (t->pool->free == NIL) {
		t->refused++;
		return NULL;
	}
	if (now_ms < t->clock)
		now_ms = t->clock;
	t->clock = now_ms;

	n = t->pool->free;
	f = &t->ent[n];
	t->pool->free = f->next;
	t->pool->used++;

	f->key = *k;
	f->packets = f->bytes = 0;
	f->first_ms = f->last_ms = now_ms;
	f->group = 0;
	f->link = FLOW_LINK_NONE;
	f->profile = FLOW_PROFILE_NONE;
	f->cls = (uint8_t)flow_class_of(k->proto);
	f->flags = 0;
	f->rule = FLOW_RULE_NONE;
	list_append(t, f);
	link_push(t, f);

	for (d = 0, i = h & t->mask; d < t->probe_max;
	     d++, i = (i + 1) & t->mask)
		if (t->slot[i].ent == 0)
			break;
	if (d == t->probe_max) {
		/* The window is full: the new flow takes the slot of the
		 * one idle longest in it, which leaves unindexed.  Only
		 * here are the window's entries read. */
		for (d = 0, i = h & t->mask; d < t->probe_max;
		     d++, i = (i + 1) & t->mask) {
			e = &t->ent[t->slot[i].ent - 1];
			if (victim == NULL || e->last_ms < victim->last_ms) {
				victim = e;
				vi = i;
				vd = d;
			}
		}
		i = vi;
		d = vd;
	}
	t->slot[i].hash = h;
	t->slot[i].ent = n + 1;
	t->count++;
	if (d + 1 > t->probe_worst)
		t->probe_worst = d + 1;
	if (victim != NULL) {
		flow_release(t, victim, FLOW_RELEASE_EVICTED, 0);
		t->evictions++;
		t->probe_evictions++;
	}
	return f;
}

void
flow_table_touch(struct flow_table *t, struct flow *f, uint64_t now_ms,
    uint32_t bytes, uint8_t tcp_flags)
{
	uint8_t cls = f->cls;

	f->packets++;
	f->bytes += bytes;
	if (now_ms < t->clock)
		now_ms = t->clock;
	t->clock = now_ms;
	f->last_ms = now_ms;

	/*
	 * After a FIN or RST the connection is going away: hold it only for
	 * the short closing timeout.  A bare SYN on a closing flow is a new
	 * connection reusing the 4-tuple (RFC 9293, 3.6.1: a SYN may reopen
	 * a connection in TIME-WAIT), so it gets the open timeout back.
	 */
	if (cls == FLOW_TCP && (tcp_flags & (PKT_TCP_FIN | PKT_TCP_RST)))
		cls = FLOW_TCP_CLOSING;
	else if (cls == FLOW_TCP_CLOSING &&
	    (tcp_flags & TCP_SYN_MASK) == PKT_TCP_SYN)
		cls = FLOW_TCP;

	if (cls == f->cls && t->list[cls].tail == ent_no(t, f))
		return;
	list_unlink(t, f);
	f->cls = cls;
	list_append(t, f);
}

/*
 * Each idle list is sorted, so only its head can be due.  Taking the most
 * overdue head first keeps a budget fair: a burst of TCP expiries cannot
 * starve the UDP list.
 */
size_t
flow_table_expire(struct flow_table *t, uint64_t now_ms, size_t budget)
{
	struct flow *f, *due;
	uint64_t     at, due_at;
	size_t       n = 0;
	int          c;

	while (budget == 0 || n < budget) {
		due = NULL;
		due_at = 0;
		for (c = 0; c < FLOW_NCLASS; c++) {
			if (t->list[c].head == NIL)
				continue;
			f = &t->ent[t->list[c].head];
			at = f->last_ms + t->timeout_ms[c];
			if (at <= now_ms && (due == NULL || at < due_at)) {
				due = f;
				due_at = at;
			}
		}
		if (due == NULL)
			break;
		flow_release(t, due, FLOW_RELEASE_EXPIRED, 1);
		n++;
	}
	return n;
}

void
flow_table_remove(struct flow_table *t, struct flow *f)
{
	flow_release(t, f, FLOW_RELEASE_REMOVED, 1);
}

void
flow_table_clear(struct flow_table *t)
{
	while (t->count > 0)
		flow_release(t, flow_idle_longest(t), FLOW_RELEASE_REMOVED, 1);
}

void
flow_table_free(struct flow_table *t)
{
	int c;

	if (t == NULL)
		return;
	for (c = 0; c < FLOW_NCLASS; c++)
		while (t->list[c].head != NIL)
			flow_release(t, &t->ent[t->list[c].head],
			    FLOW_RELEASE_REMOVED, 1);
	free(t->slot);
	if (t->own_pool)
		flow_pool_free(t->pool);
	else
		t->pool->tables--;
	free(t);
}

uint32_t
flow_table_count(const struct flow_table *t)
{
	return t->count;
}

uint32_t
flow_table_max(const struct flow_table *t)
{
	return t->max;
}

uint64_t
flow_table_evictions(const struct flow_table *t)
{
	return t->evictions;
}

uint64_t
flow_table_probe_evictions(const struct flow_table *t)
{
	return t->probe_evictions;
}

uint32_t
flow_table_max_probe(const struct flow_table *t)
{
	return t->probe_worst;
}

uint64_t
flow_table_refused(const struct flow_table *t)
{
	return t->refused;
}

size_t
flow_table_memory(const struct flow_table *t)
{
	return sizeof(*t) + ((size_t)t->mask + 1) * sizeof(struct slot) +
	    (t->own_pool ? flow_pool_memory(t->pool) : 0);
}

/* Puts an indexed entry into a fresh index; 0, or -1 if its window is
 * full (then it is not indexed). */
static int
index_put(struct slot *slot, uint32_t mask, uint32_t probe_max, uint32_t hash,
    uint32_t ent)
{
	uint32_t i, d;

	for (d = 0, i = hash & mask; d < probe_max; d++, i = (i + 1) & mask)
		if (slot[i].ent == 0) {
			slot[i].hash = hash;
			slot[i].ent = ent;
			return 0;
		}
	return -1;
}

int
flow_table_reserve(struct flow_table *t, uint32_t cap)
{
	struct slot *ns, *old = t->slot;
	uint64_t     nslots, i, oslots = (uint64_t)t->mask + 1;
	uint32_t     mask, probe_max, stray = 0;

	if (cap == 0 || cap > t->pool->max) {
		errno = EINVAL;
		return -1;
	}
	if (cap <= flow_cap_of_slots(oslots))
		return 0;
	if ((nslots = flow_slots_for(cap)) == 0) {
		errno = ENOMEM;
		return -1;
	}
	if ((ns = flow_big_array((size_t)nslots, sizeof(struct slot))) == NULL)
		return -1;
	memset(ns, 0, (size_t)nslots * sizeof(struct slot));
	mask = (uint32_t)(nslots - 1);
	probe_max = nslots < PROBE_MAX ? (uint32_t)nslots : PROBE_MAX;
	/*
	 * Every flow moves to the larger index, at a lower load than it
	 * had: a full window is all but impossible, but the bound is what
	 * holds whatever the keys, so a flow that finds one leaves (one at
	 * most is remembered; any further one is not indexed either and
	 * is released below).
	 */
	for (i = 0; i < oslots; i++)
		if (old[i].ent != 0 &&
		    index_put(ns, mask, probe_max, old[i].hash, old[i].ent) ==
			-1) {
			old[i].hash = 0;
			stray++;
		} else
			old[i].ent = 0;
	t->slot = ns;
	t->mask = mask;
	t->probe_max = probe_max;
	/* What did not fit is still in old, marked: release it unindexed. */
	for (i = 0; stray > 0 && i < oslots; i++)
		if (old[i].ent != 0) {
			flow_release(t, &t->ent[old[i].ent - 1],
			    FLOW_RELEASE_EVICTED, 0);
			t->evictions++;
			t->probe_evictions++;
			stray--;
		}
	free(old);
	return 0;
}

void
flow_table_set_cap(struct flow_table *t, uint32_t cap)
{
	uint64_t most = flow_cap_of_slots((uint64_t)t->mask + 1);

	if (cap == 0)
		cap = 1;
	if (cap > most)
		cap = (uint32_t)most;
	if (cap > t->pool->max)
		cap = t->pool->max;
	t->max = cap;
	while (t->count > t->max) {
		flow_release(t, flow_idle_longest(t), FLOW_RELEASE_EVICTED, 1);
		t->evictions++;
	}
}

void
flow_table_count_links(const struct flow_table *t, uint64_t *n, size_t nlinks)
{
	size_t i;

	for (i = 0; i < nlinks; i++)
		n[i] = i < FLOW_LINKS ? t->link_count[i] : 0;
}

uint32_t
flow_table_link_count(const struct flow_table *t, uint8_t link)
{
	return link < FLOW_LINKS || link == FLOW_LINK_NONE
	    ? t->link_count[flow_lslot(link)]
	    : 0;
}
