/*
 * Walks over a flow table: all of it at once (the control side's
 * failover, reload and tests), the flows of one link, and in bounded
 * steps that survive the table changing between them (the control
 * socket's long answers).
 */
#include "autoconf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow-int.h"

int
flow_table_foreach(
    struct flow_table *t, int (*cb)(void *, struct flow *), void *arg)
{
	uint64_t i;
	int      rv;

	for (i = 0; i <= t->mask; i++) {
		if (t->slot[i].ent == 0)
			continue;
		t->visits++;
		if ((rv = cb(arg, &t->ent[t->slot[i].ent - 1])) != 0)
			return rv;
	}
	return 0;
}

static uint32_t
reverse32(uint32_t x)
{
	x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
	x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
	x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
	return __builtin_bswap32(x);
}

/*
 * Position p covers the reversed hashes [p, p + step): with k index
 * bits, the flows whose hash has home reverse32(p) (p is a multiple of
 * step = 2^(32-k), so reverse32(p) < 2^k).  A flow lies in the run that
 * starts at its home and has no empty slot before it, at most probe_max
 * slots on (flow.c's insert and backward-shift delete keep both), so
 * reading that run finds every flow of the home, whichever moved.
 */
size_t
flow_table_walk(struct flow_table *t, uint64_t *pos,
    void (*cb)(void *, struct flow *), void *arg, size_t max)
{
	uint64_t step = FLOW_WALK_END / ((uint64_t)t->mask + 1);
	uint64_t p = *pos, homes = 0, most;
	uint32_t home, j, d;
	size_t   n = 0;

	/* Made under a smaller index, p is a multiple of a larger step,
	 * so of this one too; anything else was not made by a walk. */
	p -= p % step;
	most =
	    max < (UINT64_MAX - 64) / 16 ? 16 * (uint64_t)max + 64 : UINT64_MAX;
	while (p < FLOW_WALK_END && n < max && homes < most) {
		home = reverse32((uint32_t)p);
		homes++;
		for (d = 0, j = home; d < t->probe_max && t->slot[j].ent != 0;
		     d++, j = (j + 1) & t->mask) {
			if ((t->slot[j].hash & t->mask) != home)
				continue;
			t->visits++;
			n++;
			cb(arg, &t->ent[t->slot[j].ent - 1]);
		}
		p += step;
	}
	*pos = p;
	return n;
}

uint64_t
flow_table_serial(const struct flow_table *t)
{
	return t->serial;
}

int
flow_table_foreach_link(struct flow_table *t, uint8_t link,
    int (*cb)(void *, struct flow *), void           *arg)
{
	uint32_t i, next;
	int      rv;

	if (link >= FLOW_LINKS && link != FLOW_LINK_NONE)
		return 0;
	/* The next flow is taken first: cb may move this one away. */
	for (i = t->link_head[flow_lslot(link)]; i != NIL; i = next) {
		next = t->ent[i].lnext;
		t->visits++;
		if ((rv = cb(arg, &t->ent[i])) != 0)
			return rv;
	}
	return 0;
}

uint64_t
flow_table_visits(const struct flow_table *t)
{
	return t->visits;
}
