/*
 * Pools of flow entries, which several tables may share (popd: one pool
 * of flows.max for every site), and the sizing and allocation of the
 * arrays that pools and indexes are made of.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "flow-int.h"

void *
flow_big_array(size_t n, size_t size)
{
	void *p;

	if (size != 0 && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	n *= size;
	if (n < HUGE_PAGE)
		return malloc(n);
	n = (n + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
	if ((errno = posix_memalign(&p, HUGE_PAGE, n)) != 0)
		return NULL;
#ifdef MADV_HUGEPAGE
	(void)madvise(p, n, MADV_HUGEPAGE);
#endif
	return p;
}

/* Index slots for a cap: a power of two, at most 3/4 full at the cap.
 * 0 when that is more than 32 hash bits address. */
uint64_t
flow_slots_for(uint32_t cap)
{
	uint64_t nslots;

	for (nslots = 2; nslots * LOAD_NUM < (uint64_t)cap * LOAD_DEN;)
		nslots <<= 1;
	return nslots > MAX_SLOTS ? 0 : nslots;
}

/* The most flows an index of nslots holds at the load bound. */
uint64_t
flow_cap_of_slots(uint64_t nslots)
{
	return nslots * LOAD_NUM / LOAD_DEN;
}

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
