/*
 * Flows: normalised 5-tuple keys and a fixed-size flow table.
 *
 * A key is normalised so that both directions of a conversation give the
 * same key: the (address, port) pair that sorts lower is `a`.  The flow
 * remembers which side sent its first packet (FLOW_F_A_INITIATOR), so
 * displays can still say src -> dst.
 *
 * The table is sized once from flows.max and never grows: an index of
 * 2^k slots (open addressing, linear probing, backward-shift deletion)
 * over a preallocated array of exactly `max` entries.  Keys are hashed
 * with SipHash under a key of this table's own (hash.h), and no flow sits
 * FLOW_PROBE_MAX or more slots past its home, so a lookup or insert reads
 * at most FLOW_PROBE_MAX slots whatever the keys (see flow.c).  Each flow
 * sits on the idle list of its expiry class (TCP, TCP closing, UDP, ICMP,
 * other), ordered by last use, so expiry and "evict the flow idle longest
 * when full" are O(1) per flow.  Each flow also sits on the list of its
 * link (FLOW_LINK_NONE included), so a link's flows are walked and
 * counted without touching the others: a link event costs its own flows,
 * not the table.  That is why a flow's link is set through
 * flow_table_set_link(), never written directly.  Nothing is allocated
 * after flow_table_new().
 *
 * Pointers to flows stay valid until the flow is released (expired,
 * evicted or removed); the release callback is the last moment to use one.
 *
 * The entries may come from a pool shared by several tables (popd: one
 * table per site, one pool of flows.max for the daemon): each table then
 * has its own index, lists and cap, and only the entries are common.
 * A table at its cap, or finding the pool empty, evicts its own flow
 * idle longest, never another table's; one with no flow of its own to
 * give up is refused (flow_table_insert() returns NULL, counted).
 */
#ifndef WANPAIR_FLOW_H
#define WANPAIR_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "flowkey.h"
#include "pkt.h"

/* struct flow_key and its normal form are the wire's: flowkey.h. */

/* Fills *key from a parsed packet; returns 1 if the packet's source is
 * `a` (so the sender is the initiator when this is the first packet). */
int flow_key_from_pkt(const struct pkt_info *, struct flow_key *);

enum flow_class {
	FLOW_TCP = 0,     /* TCP, open */
	FLOW_TCP_CLOSING, /* TCP after FIN or RST */
	FLOW_UDP,
	FLOW_ICMP, /* ICMP and ICMPv6 */
	FLOW_OTHER,
	FLOW_NCLASS
};

struct flow_timeouts {
	uint32_t s[FLOW_NCLASS]; /* idle seconds before expiry */
};

/* The most index slots a lookup or insert reads. */
#define FLOW_PROBE_MAX 128

#define FLOW_LINK_NONE 0xff
/* Links a table keeps a list and a count for: 0 .. FLOW_LINKS - 1 (a
 * balance's, BALANCE_MAX_LINKS), and FLOW_LINK_NONE.  A table is one of
 * popd's per site: 256 of each were 2 KiB a site. */
#define FLOW_LINKS        32
#define FLOW_PROFILE_NONE 0xff

#define FLOW_F_A_INITIATOR 0x01 /* key.a sent the first packet */
#define FLOW_F_MOVED       0x02 /* failover moved it at least once */
#define FLOW_RULE_NONE     0xff /* flow.rule: no rule chose its profile */

struct flow {
	struct flow_key key;
	uint64_t        packets;
	uint64_t        bytes;
	uint64_t        first_ms;
	uint64_t        last_ms;
	uint32_t        prev, next;   /* idle list (table-internal) */
	uint32_t        lprev, lnext; /* link list (table-internal) */
	uint32_t        group;   /* sticky group handle (balance's), 0 none */
	uint8_t         link;    /* link index, FLOW_LINK_NONE unassigned;
				    read-only: see flow_table_set_link() */
	uint8_t         profile; /* profile index, FLOW_PROFILE_NONE static */
	/* Bit-fields, so that the rule fits in the 96 bytes. */
	uint8_t cls : 3;   /* enum flow_class */
	uint8_t flags : 5; /* FLOW_F_* */
	uint8_t rule;      /* index of the rule (rules.h) that chose its
			      profile, FLOW_RULE_NONE: the route table */
};
_Static_assert(FLOW_NCLASS <= 8, "flow.cls holds every class");

enum flow_release {
	FLOW_RELEASE_EXPIRED, /* idle past its class timeout */
	FLOW_RELEASE_EVICTED, /* table full, idle longest */
	FLOW_RELEASE_REMOVED, /* flow_table_remove() or table freed */
};

typedef void (*flow_release_cb)(void *arg, struct flow *, enum flow_release);

struct flow_table;
struct flow_pool;

/* max >= 1.  NULL on allocation failure, or if the kernel gives no
 * random hash key.  The table has a pool of max entries of its own. */
struct flow_table *flow_table_new(uint32_t max, const struct flow_timeouts *);
/* Releases every remaining flow (FLOW_RELEASE_REMOVED) then frees. */
void flow_table_free(struct flow_table *);

/* max entries (>= 1), every page written now.  NULL on allocation
 * failure. */
struct flow_pool *flow_pool_new(uint32_t max);
/* Frees the pool once no table uses it (it does nothing otherwise). */
void     flow_pool_free(struct flow_pool *);
uint32_t flow_pool_max(const struct flow_pool *);
uint32_t flow_pool_used(const struct flow_pool *); /* entries in tables */
size_t   flow_pool_memory(const struct flow_pool *);
/*
 * A table over the pool holding at most cap (1..pool max) flows; its
 * index is sized for cap now.  NULL with errno (EINVAL, ENOMEM).  Free
 * every table before the pool.
 */
struct flow_table *flow_table_new_shared(
    struct flow_pool *, uint32_t cap, const struct flow_timeouts *);
/* An index large enough for cap (1..pool max), grown now if it is not:
 * the allocating half of a cap change (reload), which changes nothing
 * else.  0, or -1 with errno and nothing changed. */
int flow_table_reserve(struct flow_table *, uint32_t cap);
/* The cap from now on (at most what the index was reserved for): flows
 * over it are evicted now, idle longest first.  Cannot fail. */
void flow_table_set_cap(struct flow_table *, uint32_t cap);
/* Called for every flow leaving the table; may be NULL. */
void flow_table_set_release_cb(struct flow_table *, flow_release_cb, void *arg);
/* Applies new timeouts (reload); existing flows keep their place. */
void flow_table_set_timeouts(struct flow_table *, const struct flow_timeouts *);

/*
 * The table's hash of a key (SipHash-2-4 under a random per-table key).  Every `hash`
 * argument below must be this value for its key: it is taken as an
 * argument only so a caller computes it once (and can prefetch with it).
 */
uint64_t flow_table_hash(const struct flow_table *, const struct flow_key *);

/* NULL if absent. */
struct flow *flow_table_lookup(
    struct flow_table *, const struct flow_key *, uint64_t hash);
/*
 * Optional hint: starts loading the index slot a lookup of `hash` reads
 * first.  At a million flows the table is far larger than the caches, so
 * a lookup is a chain of cache misses; hashing and prefetching a whole
 * batch (recvmmsg) before looking any of it up lets the misses overlap.
 */
void flow_table_prefetch(const struct flow_table *, uint64_t hash);
/*
 * Inserts a key that is absent (caller looked it up first).  When the table
 * is full, the flow idle longest is evicted first (release callback, then
 * counted in evictions).  So is the flow idle longest among the
 * FLOW_PROBE_MAX slots the key may occupy, if all are taken (also counted in probe_evictions).
 * The new flow has zero counters, link
 * FLOW_LINK_NONE, class from the protocol, first_ms = last_ms = now_ms.
 * Never fails on a table with a pool of its own; over a shared pool that
 * is empty, a table holding no flow gets NULL (counted in refused).
 */
struct flow *flow_table_insert(struct flow_table *, const struct flow_key *,
    uint64_t hash, uint64_t now_ms);
/* One packet of `bytes` on the flow: counters, last use, TCP closing. */
void flow_table_touch(struct flow_table *, struct flow *, uint64_t now_ms,
    uint32_t bytes, uint8_t tcp_flags);
/* Releases flows idle past their timeout, at most `budget` of them
 * (0 = no limit); returns how many were released. */
size_t flow_table_expire(struct flow_table *, uint64_t now_ms, size_t budget);
void   flow_table_remove(struct flow_table *, struct flow *);
/* Removes every flow (release callback, FLOW_RELEASE_REMOVED); over a
 * shared pool, their entries go back to it.  O(flows). */
void flow_table_clear(struct flow_table *);

/*
 * Puts the flow on `link` (FLOW_LINK_NONE: none), moving it between the
 * table's per-link lists; O(1).  A NULL table sets f->link alone: for a
 * flow that is in no table (tests, what-if computations).
 */
void flow_table_set_link(struct flow_table *, struct flow *, uint8_t link);

/* Calls cb for every flow in no particular order; cb must not insert or
 * remove.  A non-zero return from cb stops the walk and is returned. */
int flow_table_foreach(
    struct flow_table *, int (*cb)(void *arg, struct flow *), void *arg);
/*
 * The same over the flows on `link` only (FLOW_LINK_NONE: the unassigned
 * ones), in time proportional to their number.  cb may move the flow it
 * is given to another link, and must not insert, remove or relink any
 * other flow.
 */
int flow_table_foreach_link(struct flow_table *, uint8_t link,
    int (*cb)(void *arg, struct flow *), void           *arg);
/*
 * A walk in steps, for answers too long to give in one event-loop turn
 * (wanpairctl flows): the table may change between steps.  *pos is 0 at
 * the start and FLOW_WALK_END once every flow has been offered.  Each
 * call hands cb the flows of whole index homes, in bit-reversed order of
 * the home, until cb has had `max` flows (a few more if the last home
 * holds several) or 16 * max + 64 homes were read, and advances *pos:
 * a step costs O(max) whatever the table holds.  cb must not insert or
 * remove.  Returns how many flows cb had.
 *
 * What a reader gets is a walk, not a snapshot, like conntrack -L: a
 * flow present from the first step to the last is handed exactly once;
 * a flow inserted or released during the walk may or may not be; no key
 * is handed twice, even one released and inserted again, because the
 * order is that of the key's hash, which a table keeps for its life.
 * The index only grows (flow_table_reserve()), and growing keeps the
 * order: a home splits into two homes that are adjacent in bit-reversed
 * order (the SCAN cursor of Redis's dict.c works the same way).  A
 * position is only meaningful for the table it was made on: pair it
 * with flow_table_serial().
 */
#define FLOW_WALK_END ((uint64_t)1 << 32)
size_t flow_table_walk(struct flow_table *, uint64_t *pos,
    void (*cb)(void *arg, struct flow *), void *arg, size_t max);
/* A number no other table of this process has had or will have. */
uint64_t flow_table_serial(const struct flow_table *);
/* Flows handed to foreach, foreach_link and walk callbacks so far: what walks
 * cost (tests, diagnostics). */
uint64_t flow_table_visits(const struct flow_table *);

uint32_t flow_table_count(const struct flow_table *);
/* n[i] = the flows whose link is i, for i < nlinks; O(nlinks). */
void flow_table_count_links(
    const struct flow_table *, uint64_t *n, size_t nlinks);
/* The flows on `link` (FLOW_LINK_NONE: unassigned); O(1). */
uint32_t flow_table_link_count(const struct flow_table *, uint8_t link);
/* The cap: flows_max of flow_table_new(), or the shared table's. */
uint32_t flow_table_max(const struct flow_table *);
/* Inserts refused: the shared pool was empty and the table had no flow
 * to evict. */
uint64_t flow_table_refused(const struct flow_table *);
uint64_t flow_table_evictions(const struct flow_table *);
/* Evictions because a key's probe window was full (part of evictions). */
uint64_t flow_table_probe_evictions(const struct flow_table *);
/* The longest probe an insert has made, in slots (1 = its home slot). */
uint32_t flow_table_max_probe(const struct flow_table *);
/*
 * Tests only: hash keys with fn instead of the keyed hash, so a test can
 * make every key collide.  Set before the first insert.
 */
void flow_table_set_hash_fn(
    struct flow_table *, uint64_t (*fn)(const struct flow_key *));
/* Bytes allocated by the table (index, and the entries if its pool is
 * its own), for the bytes-per-flow figure. */
size_t flow_table_memory(const struct flow_table *);

#endif
