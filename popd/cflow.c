/*
 * Flow ownership in a popd cluster: the table, the coalesced sync queue
 * and the decision; see cflow.h.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "cflow.h"
#include "clusterwire.h"

struct cflow *
cflow_new(uint32_t self, size_t max, size_t qmax)
{
	struct cflow *cf;
	size_t        slots = 4;

	if (self == 0 || max == 0 || max > CFLOW_MAX_ENTRIES || qmax == 0)
		return NULL;
	while (slots < 2 * max)
		slots <<= 1;
	if ((cf = calloc(1, sizeof(*cf))) == NULL ||
	    (cf->slot = calloc(slots, sizeof(*cf->slot))) == NULL ||
	    (cf->q = calloc(qmax, sizeof(*cf->q))) == NULL ||
	    wp_hash_key_random(&cf->hk) == -1) {
		cflow_free(cf);
		return NULL;
	}
	cf->self = self;
	cf->mask = (uint32_t)(slots - 1);
	cf->max = max;
	cf->qmax = qmax;
	return cf;
}

void
cflow_free(struct cflow *cf)
{
	if (cf == NULL)
		return;
	free(cf->slot);
	free(cf->q);
	free(cf);
}

static uint32_t
home(const struct cflow *cf, const struct flow_key *k)
{
	return (uint32_t)wp_siphash(&cf->hk, k, sizeof(*k)) & cf->mask;
}

/* The slot of key, or of the first free one on its run (-1 bit set). */
static uint32_t
probe(const struct cflow *cf, const struct flow_key *k, int *found)
{
	uint32_t i = home(cf, k);

	/* At most half the slots are used: a free one is always met. */
	while (cf->slot[i].used) {
		if (memcmp(&cf->slot[i].key, k, sizeof(*k)) == 0) {
			*found = 1;
			return i;
		}
		i = (i + 1) & cf->mask;
	}
	*found = 0;
	return i;
}

struct cflow_entry *
cflow_find(struct cflow *cf, const struct flow_key *k)
{
	uint32_t i;
	int      found;

	i = probe(cf, k, &found);
	return found ? &cf->slot[i] : NULL;
}

/* 0, or -1: full, counted, and a full resync is the way back. */
static int
enqueue(struct cflow *cf, const struct flow_key *k)
{
	if (cf->qlen == cf->qmax) {
		cf->q_overflows++;
		cf->resync = 1;
		return -1;
	}
	cf->q[(cf->qhead + cf->qlen) % cf->qmax] = *k;
	cf->qlen++;
	return 0;
}

/* An entry of ours changed: queued once until taken. */
static void
mark(struct cflow *cf, struct cflow_entry *e)
{
	/* Not queued (overflow): the resync carries it. */
	if (!e->pending && enqueue(cf, &e->key) == 0)
		e->pending = 1;
}

struct cflow_entry *
cflow_set(struct cflow *cf, const struct flow_key *k, uint32_t owner,
    uint32_t session, uint8_t link, uint64_t now)
{
	struct cflow_entry *e;
	uint32_t            i;
	int                 found, changed;

	i = probe(cf, k, &found);
	e = &cf->slot[i];
	if (!found) {
		if (cf->n >= cf->max) {
			cf->table_full++;
			return NULL;
		}
		memset(e, 0, sizeof(*e));
		e->key = *k;
		e->used = 1;
		e->link = FLOWSYNC_LINK_NONE;
		cf->n++;
	}
	changed = !found || e->owner != owner ||
	    (session != 0 && e->session != session) ||
	    (link != FLOWSYNC_LINK_NONE && e->link != link);
	if (!found && owner == cf->self)
		cf->created++;
	if (found && e->owner == cf->self && owner != cf->self)
		cf->owned--;
	else if ((!found || e->owner != cf->self) && owner == cf->self)
		cf->owned++;
	e->owner = owner;
	if (session != 0)
		e->session = session;
	if (link != FLOWSYNC_LINK_NONE)
		e->link = link;
	e->seen_ms = now;
	if (changed && owner == cf->self)
		mark(cf, e);
	return e;
}

/* Backward-shift deletion: the run after slot i closes up, so that
 * lookups never need tombstones. */
static void
remove_at(struct cflow *cf, uint32_t i)
{
	uint32_t j = i, h;

	if (cf->slot[i].owner == cf->self)
		cf->owned--;
	cf->slot[i].used = 0;
	cf->n--;
	for (;;) {
		j = (j + 1) & cf->mask;
		if (!cf->slot[j].used)
			return;
		h = home(cf, &cf->slot[j].key);
		/* j's entry may move to i if its home is not in (i, j]. */
		if (i <= j ? (h > i && h <= j) : (h > i || h <= j))
			continue;
		cf->slot[i] = cf->slot[j];
		cf->slot[j].used = 0;
		i = j;
	}
}

int
cflow_del(struct cflow *cf, const struct flow_key *k)
{
	uint32_t i;
	int      found;

	i = probe(cf, k, &found);
	if (!found)
		return 0;
	/* A key already queued says GONE when taken. */
	if (cf->slot[i].owner == cf->self && !cf->slot[i].pending)
		(void)enqueue(cf, k);
	remove_at(cf, i);
	return 1;
}

int
cflow_apply(struct cflow *cf, const struct flowsync_entry *fe, uint64_t now)
{
	struct cflow_entry *e = cflow_find(cf, &fe->key);

	if (fe->owner == cf->self)
		return 0; /* what we said, back to us */
	if (fe->state == FLOWSYNC_GONE) {
		if (e != NULL && e->owner == fe->owner)
			(void)cflow_del(cf, &fe->key);
		return 0;
	}
	if (e != NULL && e->owner == cf->self) {
		/* Two owners: AGREED order makes every member see the same
		 * last word, and the other node's is it.  Ours yields. */
		e->pending = 0;
	}
	return cflow_set(cf, &fe->key, fe->owner, fe->session, fe->link, now) ==
		NULL
	    ? -1
	    : 0;
}

static void
to_sync(const struct cflow_entry *e, struct flowsync_entry *o)
{
	o->key = e->key;
	o->owner = e->owner;
	o->session = e->session;
	o->link = e->link;
	o->state = FLOWSYNC_ALIVE;
}

size_t
cflow_sync_take(struct cflow *cf, struct flowsync_entry *out, size_t max)
{
	struct cflow_entry *e;
	size_t              n = 0;

	while (n < max && cf->qlen > 0) {
		const struct flow_key *k = &cf->q[cf->qhead];

		cf->qhead = (cf->qhead + 1) % cf->qmax;
		cf->qlen--;
		if ((e = cflow_find(cf, k)) != NULL && e->owner == cf->self) {
			e->pending = 0;
			e->synced_ms = e->seen_ms;
			to_sync(e, &out[n]);
		} else {
			if (e != NULL)
				e->pending = 0;
			memset(&out[n], 0, sizeof(out[n]));
			out[n].key = *k;
			out[n].owner = cf->self;
			out[n].link = FLOWSYNC_LINK_NONE;
			out[n].state = FLOWSYNC_GONE;
		}
		n++;
	}
	return n;
}

size_t
cflow_walk_owned(struct cflow *cf, uint32_t *cursor, size_t budget,
    struct flowsync_entry *out, size_t max)
{
	uint32_t i = *cursor;
	size_t   n = 0;

	while (budget-- > 0 && n < max) {
		if (cf->slot[i].used && cf->slot[i].owner == cf->self) {
			cf->slot[i].synced_ms = cf->slot[i].seen_ms;
			to_sync(&cf->slot[i], &out[n++]);
		}
		i = (i + 1) & cf->mask;
		if (i == 0)
			break;
	}
	*cursor = i;
	return n;
}

size_t
cflow_expire(struct cflow *cf, uint32_t *cursor, size_t budget, uint64_t now,
    uint64_t idle_ms, uint64_t backup_ms)
{
	struct cflow_entry *e;
	uint32_t            i = *cursor;
	size_t              n = 0;

	while (budget-- > 0) {
		e = &cf->slot[i];
		if (e->used && now > e->seen_ms &&
		    now - e->seen_ms >
			(e->owner == cf->self ? idle_ms : backup_ms)) {
			struct flow_key k = e->key;

			/* The slot may now hold an entry shifted back from
			 * further on: look at it again. */
			(void)cflow_del(cf, &k);
			n++;
			continue;
		}
		/* Alive: its backups hear of it once an idle_ms. */
		if (e->used && e->owner == cf->self &&
		    e->seen_ms > e->synced_ms + idle_ms)
			mark(cf, e);
		i = (i + 1) & cf->mask;
		if (i == 0)
			break;
	}
	*cursor = i;
	return n;
}

size_t
cflow_takeover(struct cflow *cf, uint32_t                  gone,
    uint32_t (*fn)(void *, const struct flow_key *), void *arg,
    void (*cb)(void *, const struct cflow_entry *), void  *cbarg)
{
	struct cflow_entry *e;
	uint32_t            i = 0, to;
	size_t              took = 0;

	for (;;) {
		e = &cf->slot[i];
		if (e->used && e->owner == gone) {
			if ((to = fn(arg, &e->key)) == 0 || to == gone) {
				/* Slot i again: the run closed up into it. */
				remove_at(cf, i);
				continue;
			}
			e->owner = to;
			if (to == cf->self) {
				cf->owned++;
				took++;
				mark(cf, e);
				if (cb != NULL)
					cb(cbarg, e);
			}
		}
		if ((i = (i + 1) & cf->mask) == 0)
			break;
	}
	return took;
}

void
cflow_decide(const struct cflow_in *in, struct cflow_out *o)
{
	memset(o, 0, sizeof(*o));
	if (in->type == 0) {
		if (in->owner == in->self) {
			o->act = CFLOW_HANDLE;
		} else if (in->owner != 0) {
			o->act = CFLOW_FORWARD;
			o->to = in->owner;
			o->hops = 1;
		} else if (in->director == 0 || in->director == in->self) {
			o->act = CFLOW_HANDLE;
			o->own = 1;
		} else {
			o->act = CFLOW_FORWARD;
			o->to = in->director;
			o->hops = 1;
		}
		return;
	}
	if (in->type == CW_FIRST || in->owner == in->self) {
		o->act = CFLOW_HANDLE;
		o->own = in->owner != in->self;
		return;
	}
	if (in->hops >= CW_MAX_HOPS || in->hops == 0) {
		o->act = CFLOW_DROP_HOPS;
		return;
	}
	o->hops = (uint8_t)(in->hops + 1);
	if (in->owner != 0 && in->owner != in->from) {
		o->act = CFLOW_FORWARD;
		o->to = in->owner;
		o->hint = in->hops == 1;
		return;
	}
	if (in->owner == 0 && in->director != 0 && in->director != in->self &&
	    in->director != in->from) {
		o->act = CFLOW_FORWARD;
		o->to = in->director;
		return;
	}
	o->act = CFLOW_FIRST;
	o->to = in->from;
	o->record = 1;
}
