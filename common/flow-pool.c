/*
 * Pools of flow entries, which several tables may share (popd: one pool
 * of flows.max for every site), and a table's cap and index size over
 * its pool: the reserve that can fail and the cap change that cannot.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow-int.h"

struct flow_pool *
flow_pool_new(uint32_t max)
{
	struct flow_pool *p;
	uint32_t          i;

	if (max == 0 || max == NIL) {
		errno = EINVAL;
		return NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	/*
	 * Every byte is written now, not left to calloc's lazy zero pages:
	 * the pages fault in here, once, instead of on the packet path.
	 */
	if ((p->ent = flow_big_array(max, sizeof(struct flow))) == NULL) {
		free(p);
		return NULL;
	}
	memset(p->ent, 0, (size_t)max * sizeof(struct flow));
	for (i = 0; i < max; i++) {
		p->ent[i].prev = NIL;
		p->ent[i].next = i + 1 < max ? i + 1 : NIL;
	}
	p->max = max;
	return p;
}

void
flow_pool_free(struct flow_pool *p)
{
	if (p == NULL)
		return;
	/* A table still over it would point into freed entries: leak
	 * rather than that (a caller's bug, which check_flow rules out). */
	if (p->tables != 0)
		return;
	free(p->ent);
	free(p);
}

uint32_t
flow_pool_max(const struct flow_pool *p)
{
	return p->max;
}

uint32_t
flow_pool_used(const struct flow_pool *p)
{
	return p->used;
}

size_t
flow_pool_memory(const struct flow_pool *p)
{
	return sizeof(*p) + (size_t)p->max * sizeof(struct flow);
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
