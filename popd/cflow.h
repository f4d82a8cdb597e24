/*
 * Flow ownership in a popd cluster (DESIGN.md section 8, doc/CLUSTER.md,
 * "Forwarding and ownership"): which member owns each flow, the pure
 * decision of what a member does with a packet, and the coalesced queue
 * of flow-entry backups to multicast.  Nothing here locks, logs, reads a
 * clock or does I/O: popd/forward.c calls it under its own lock, and the
 * check suite check_cflow drives it alone.
 *
 * The table holds, by normal flow key (flowkey.h), the flows this node
 * owns and the backups of those other members own (from their FLOW
 * messages, a director's FIRST, an OWNER_HINT): open addressing with
 * linear probing under a SipHash key of its own, at most `max` entries
 * in 2 * max slots (rounded up to a power of two), so a lookup reads a
 * few slots.  A full table refuses a new entry (counted); expiry is a
 * walk in bounded steps (cflow_expire()).
 *
 * The sync queue is coalesced per flow, as conntrackd's FTFW: an entry
 * this node owns that changes is queued once (a flag on the entry) until
 * cflow_sync_take() encodes what it *is* then (ALIVE with its owner,
 * session and link, or GONE if it went meanwhile).  The queue holds at
 * most `qmax` keys; one more sets `resync`, the way back being a full
 * resync of every owned entry (cflow_walk_owned()).
 */
#ifndef WANPAIR_CFLOW_H
#define WANPAIR_CFLOW_H

#include <stddef.h>
#include <stdint.h>

#include "flowkey.h"
#include "flowsync.h"
#include "hash.h"

/* Entries of one node's table: owned and backups together. */
#define CFLOW_MAX_ENTRIES (1u << 20)

struct cflow_entry {
	struct flow_key key;
	uint64_t        seen_ms;   /* owned: last packet; backup: last update */
	uint64_t        synced_ms; /* owned: seen_ms when last taken for sync */
	uint32_t        owner;     /* node id, never 0 in a used slot */
	uint32_t        session;   /* the site's session, 0 unknown */
	uint8_t         link;      /* wire link id, FLOWSYNC_LINK_NONE */
	uint8_t         used;
	uint8_t         pending; /* its key is in the sync queue */
};

struct cflow {
	struct wp_hash_key  hk;
	uint32_t            self;
	struct cflow_entry *slot;
	uint32_t            mask;
	size_t              n, max, owned;
	uint64_t            created; /* entries made here with this owner */
	/* the sync queue: a ring of keys */
	struct flow_key *q;
	size_t           qhead, qlen, qmax;
	int              resync; /* an overflow: send every owned entry */
	uint64_t         q_overflows, table_full;
};

/* A table for node self (not 0) of max entries (1 to
 * CFLOW_MAX_ENTRIES), a sync queue of qmax (at least 1); NULL if out of
 * memory or not so.  The hash key is random. */
struct cflow *cflow_new(uint32_t self, size_t max, size_t qmax);
void          cflow_free(struct cflow *);

/* The entry of key (normal form), or NULL. */
struct cflow_entry *cflow_find(struct cflow *, const struct flow_key *);

/*
 * Sets key's entry (inserting it if absent): owner, session and link (a
 * session of 0 or a link of FLOWSYNC_LINK_NONE keep what the entry had),
 * seen at now.  An entry this node owns after the change is queued for
 * sync if it is new to it or its owner, session or link changed.
 * Returns the entry, or NULL if the table is full (counted).
 */
struct cflow_entry *cflow_set(struct cflow *, const struct flow_key *,
    uint32_t owner, uint32_t session, uint8_t link, uint64_t now);

/* Removes key's entry, if any; one this node owned is queued (GONE).
 * Returns 1 if there was one. */
int cflow_del(struct cflow *, const struct flow_key *);

/* A FLOW entry received from its owner: GONE removes the backup (unless
 * this node owns the flow now), ALIVE sets it, unless this node owns
 * the flow and the sender is not the owner it names (a stale message).
 * Returns 0, or -1 if the table is full. */
int cflow_apply(struct cflow *, const struct flowsync_entry *, uint64_t now);

/*
 * Up to max entries from the sync queue into out, each what its flow is
 * now: ALIVE if this node still owns it, GONE otherwise.  Returns how
 * many.
 */
size_t cflow_sync_take(struct cflow *, struct flowsync_entry *out, size_t max);

/*
 * A walk in steps: from slot *cursor, up to `budget` slots, each entry
 * this node owns into out (at most max of them, ALIVE).  Returns how
 * many; *cursor is then where to go on, 0 once the walk is done.
 */
size_t cflow_walk_owned(struct cflow *, uint32_t *cursor, size_t budget,
    struct flowsync_entry *out, size_t max);

/*
 * Expiry in steps from *cursor, up to `budget` slots: an owned entry
 * without a packet for idle_ms is removed (and queued GONE); one with
 * packets for idle_ms since it was last taken for sync is queued again,
 * so that its backups, which expire after backup_ms without an update
 * (more than idle_ms), live as long as it does.  Returns how many went;
 * *cursor as for cflow_walk_owned().
 */
size_t cflow_expire(struct cflow *, uint32_t *cursor, size_t budget,
    uint64_t now, uint64_t idle_ms, uint64_t backup_ms);

/*
 * Member `gone` left: each of its entries gets the owner fn(arg, key)
 * gives (director_takeover()), keeping its session and link; 0 removes
 * it (no member left).  Those that become this node's are queued for
 * sync, and cb(cbarg, entry), if not NULL, sees each during the walk
 * (it must not change the table).  Returns how many this node took.
 */
size_t cflow_takeover(struct cflow *, uint32_t             gone,
    uint32_t (*fn)(void *, const struct flow_key *), void *arg,
    void (*cb)(void *, const struct cflow_entry *), void  *cbarg);

/* ------------------------------------------------------------ decisions */

/* What a member does with a packet (cflow_decide()). */
enum cflow_act {
	CFLOW_HANDLE = 0,   /* this node owns the flow: handle the packet */
	CFLOW_FORWARD = 1,  /* FORWARD it to `to` with `hops` */
	CFLOW_FIRST = 2,    /* the director: return it to `to` as FIRST */
	CFLOW_DROP_HOPS = 3 /* it made CW_MAX_HOPS hops: drop, count */
};

struct cflow_in {
	uint32_t self;
	uint32_t director; /* director_of() the packet, 0: none live */
	uint32_t owner;    /* its entry's, 0: no entry (or owner not live) */
	uint8_t  type;     /* 0: came from a site or the TUN; else the
			      cluster link's CW_FORWARD or CW_FIRST */
	uint32_t from;     /* the cluster link's sender */
	uint8_t  hops;     /* the cluster link's hops */
};

struct cflow_out {
	enum cflow_act act;
	uint32_t       to;
	uint8_t        hops;
	int            own;    /* HANDLE: make or keep the entry as ours */
	int            record; /* FIRST: record `to` as the owner */
	int            hint;   /* FORWARD: tell `from` the owner (HINT) */
};

/*
 * The decision of DESIGN.md section 8, as a pure function:
 * - from a site or the TUN: an owner here handles it; an owner elsewhere
 *   gets it (hops 1); no owner: the director gets it (hops 1), or, if
 *   this node is the director or there is none, this node owns it;
 * - a FIRST: this node owns it;
 * - a FORWARD from `from`: an owner here handles it; an owner elsewhere
 *   (not `from`) gets it with hops + 1, and `from` a hint if it was the
 *   receiving node (hops 1); no owner (or `from` is the owner we knew,
 *   so it lost the flow): if another member is the director and hops
 *   allow, it goes there; else `from` gets it back as FIRST and is
 *   recorded as the owner, so that the other direction, arriving
 *   elsewhere, goes to it.  Past CW_MAX_HOPS: dropped.
 */
void cflow_decide(const struct cflow_in *, struct cflow_out *);

#endif
