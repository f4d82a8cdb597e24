/*
 * The flow table's insides, shared by its files (nothing else includes
 * this): flow.c (tables, lookup, insert, expiry, cap and index size),
 * flow-pool.c (pools of entries, the arrays' sizing and allocation),
 * flow-walk.c (walks).
 */
#ifndef WANPAIR_FLOW_INT_H
#define WANPAIR_FLOW_INT_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"
#include "hash.h"

#define NIL UINT32_MAX

/*
 * The index is at most 3/4 full, so a probe always meets an empty slot.
 * Rounding up to a power of two leaves it between 3/8 and 3/4 full at
 * `max`; at 3/4 linear probing averages 2.5 slots for a hit and 8.5 for a
 * miss (Knuth, TAOCP vol. 3, 6.4), 8 slots to a cache line.
 */
#define LOAD_NUM 3
#define LOAD_DEN 4

/*
 * No flow sits more than FLOW_PROBE_MAX - 1 slots past its home slot, so
 * no lookup or insert reads more than FLOW_PROBE_MAX slots (16 cache
 * lines), whatever keys arrive.  The keyed hash already makes long runs
 * improbable; the bound is what holds if that ever fails (a leaked key, a
 * bug), and what a reviewer can check without statistics.  An insert that
 * finds its window full evicts the flow idle longest in it and takes its
 * slot (counted in evictions and probe_evictions).  The index nears 3/4
 * full only when the table is full, where every new flow evicts anyway;
 * there, filling 2^18 slots with 196,608 random keys, the longest probe
 * is about 110 to 128 slots and the bound evicts 0 to 8 flows (mean 1.3,
 * 31 runs; check_flow), where a bound of 64 evicted about 50.
 */
#define PROBE_MAX FLOW_PROBE_MAX

/* The flags that tell an opening SYN from a SYN-ACK or a teardown. */
#define TCP_SYN_MASK (PKT_TCP_SYN | PKT_TCP_ACK | PKT_TCP_FIN | PKT_TCP_RST)

/* Slot masks and home slots are computed from 32 hash bits. */
#define MAX_SLOTS ((uint64_t)1 << 32)

struct slot {
	uint32_t hash; /* low 32 bits of the key's hash */
	uint32_t ent;  /* entry number + 1; 0 = empty */
};

struct idle_list {
	uint32_t head; /* idle longest */
	uint32_t tail; /* used last */
};

struct flow_pool {
	struct flow *ent;
	uint32_t     max;
	uint32_t     used;
	uint32_t     free;   /* head of the free list */
	uint32_t     tables; /* over it, flow_table_new_shared()'s */
};

struct flow_table {
	struct flow      *ent; /* pool->ent */
	struct flow_pool *pool;
	int               own_pool; /* flow_table_new()'s: freed with it */
	struct slot      *slot;
	uint32_t          mask; /* slots - 1 */
	uint32_t          max;  /* the cap: flows this table may hold */
	uint32_t          count;
	uint32_t          probe_max; /* PROBE_MAX, or fewer slots if smaller */
	uint32_t          probe_worst; /* longest probe an insert made, slots */
	struct wp_hash_key key;
	uint64_t (*hash_fn)(const struct flow_key *); /* tests only */
	uint64_t evictions;
	uint64_t probe_evictions;
	uint64_t refused; /* inserts with the pool empty and no own flow */
	/*
	 * Latest time seen.  The idle lists are sorted only if times never
	 * go back; a replayed capture can have timestamps that do, so a
	 * flow is never stamped earlier than this.
	 */
	uint64_t         clock;
	uint64_t         timeout_ms[FLOW_NCLASS];
	struct idle_list list[FLOW_NCLASS];
	uint32_t         link_head[FLOW_LINKS + 1]; /* by lslot() */
	uint32_t         link_count[FLOW_LINKS + 1];
	uint64_t         visits;
	uint64_t         serial; /* flow_table_serial() */
	flow_release_cb  release_cb;
	void            *release_arg;
};

/*
 * The arrays are read at random, one or two cache lines per packet; at a
 * million flows they span about 100 MB, so with 4 KB pages nearly every
 * access also misses the TLB.  Aligned and marked for transparent huge
 * pages (Linux; THP "madvise" mode is common), the TLB covers them.  The
 * kernel may refuse the hint: that costs speed, nothing else.
 */
#define HUGE_PAGE (2 * 1024 * 1024)

/* A flow's link to its list: FLOW_LINK_NONE's is the last. */
static inline unsigned
flow_lslot(uint8_t link)
{
	return link < FLOW_LINKS ? link : FLOW_LINKS;
}

/* flow-pool.c */
/* n * size bytes, huge-page aligned past HUGE_PAGE; NULL with errno. */
void *flow_big_array(size_t n, size_t size);
/* Index slots for a cap: a power of two, at most 3/4 full at the cap.
 * 0 when that is more than 32 hash bits address. */
uint64_t flow_slots_for(uint32_t cap);
/* The most flows an index of nslots holds at the load bound. */
uint64_t flow_cap_of_slots(uint64_t nslots);

#endif
