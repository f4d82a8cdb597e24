/*
 * Flow ownership in a popd cluster (popd/cflow.h) and the FLOW message
 * (proto/flowsync.h): the decision of what a member does with a packet,
 * the table, the coalesced sync queue and its bound, expiry, takeover
 * keeping the site link; the codec truncated, exact, oversized and on
 * garbage.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cflow.h"
#include "clusterwire.h"
#include "flowsync.h"
#include "check_rng.h"
#include "check_run.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

static struct flow_key
key4(uint32_t n)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.family = AF_INET;
	k.proto = 6;
	k.a[0] = 10;
	k.a[3] = 1;
	k.b[0] = 198;
	k.b[1] = (uint8_t)(n >> 16);
	k.b[2] = (uint8_t)(n >> 8);
	k.b[3] = (uint8_t)n;
	k.pa = (uint16_t)(1024 + n % 50000);
	k.pb = 443;
	return k;
}

/* ------------------------------------------------------------ decisions */

static void
decide(uint32_t director, uint32_t owner, uint8_t type, uint32_t from,
    uint8_t hops, struct cflow_out *o)
{
	struct cflow_in in = {.self = 1,
	    .director = director,
	    .owner = owner,
	    .type = type,
	    .from = from,
	    .hops = hops};

	cflow_decide(&in, o);
}

START_TEST(decide_local)
{
	struct cflow_out o;

	/* An owner here: handled. */
	decide(2, 1, 0, 0, 0, &o);
	ck_assert_int_eq(o.act, CFLOW_HANDLE);
	ck_assert_int_eq(o.own, 0);
	/* An owner elsewhere: straight there, one hop. */
	decide(2, 3, 0, 0, 0, &o);
	ck_assert_int_eq(o.act, CFLOW_FORWARD);
	ck_assert_uint_eq(o.to, 3);
	ck_assert_uint_eq(o.hops, 1);
	/* No owner, another director: ask it. */
	decide(2, 0, 0, 0, 0, &o);
	ck_assert_int_eq(o.act, CFLOW_FORWARD);
	ck_assert_uint_eq(o.to, 2);
	ck_assert_uint_eq(o.hops, 1);
	/* No owner, this node directs it, or nobody is live: ours. */
	decide(1, 0, 0, 0, 0, &o);
	ck_assert_int_eq(o.act, CFLOW_HANDLE);
	ck_assert_int_eq(o.own, 1);
	decide(0, 0, 0, 0, 0, &o);
	ck_assert_int_eq(o.act, CFLOW_HANDLE);
	ck_assert_int_eq(o.own, 1);
}
END_TEST

START_TEST(decide_director)
{
	struct cflow_out o;

	/* The director knows no owner: FIRST back, the sender recorded. */
	decide(1, 0, CW_FORWARD, 2, 1, &o);
	ck_assert_int_eq(o.act, CFLOW_FIRST);
	ck_assert_uint_eq(o.to, 2);
	ck_assert_uint_eq(o.hops, 2);
	ck_assert_int_eq(o.record, 1);
	/* It knows the owner: there, and a hint to the receiving node. */
	decide(1, 3, CW_FORWARD, 2, 1, &o);
	ck_assert_int_eq(o.act, CFLOW_FORWARD);
	ck_assert_uint_eq(o.to, 3);
	ck_assert_uint_eq(o.hops, 2);
	ck_assert_int_eq(o.hint, 1);
	/* Not from the receiving node (hops 2): no hint. */
	decide(1, 3, CW_FORWARD, 2, 2, &o);
	ck_assert_int_eq(o.act, CFLOW_FORWARD);
	ck_assert_uint_eq(o.hops, 3);
	ck_assert_int_eq(o.hint, 0);
	/* The sender is the owner we knew: it lost the flow, it gets it
	 * back as FIRST. */
	decide(1, 2, CW_FORWARD, 2, 1, &o);
	ck_assert_int_eq(o.act, CFLOW_FIRST);
	ck_assert_uint_eq(o.to, 2);
	/* Our owner: handled, whoever sent it. */
	decide(4, 1, CW_FORWARD, 2, 3, &o);
	ck_assert_int_eq(o.act, CFLOW_HANDLE);
	/* A FIRST: ours from now on. */
	decide(2, 0, CW_FIRST, 2, 2, &o);
	ck_assert_int_eq(o.act, CFLOW_HANDLE);
	ck_assert_int_eq(o.own, 1);
}
END_TEST

START_TEST(decide_lagging)
{
	struct cflow_out o;

	/* Not the director (our views differ) and no owner: on to the one
	 * we think directs it, while hops allow. */
	decide(4, 0, CW_FORWARD, 2, 1, &o);
	ck_assert_int_eq(o.act, CFLOW_FORWARD);
	ck_assert_uint_eq(o.to, 4);
	ck_assert_uint_eq(o.hops, 2);
	/* ... but never back to the sender: FIRST to it instead. */
	decide(2, 0, CW_FORWARD, 2, 1, &o);
	ck_assert_int_eq(o.act, CFLOW_FIRST);
	/* Hops are bounded: at CW_MAX_HOPS nobody forwards it again. */
	decide(4, 3, CW_FORWARD, 2, CW_MAX_HOPS, &o);
	ck_assert_int_eq(o.act, CFLOW_DROP_HOPS);
	decide(1, 0, CW_FORWARD, 2, CW_MAX_HOPS, &o);
	ck_assert_int_eq(o.act, CFLOW_DROP_HOPS);
	decide(1, 0, CW_FORWARD, 2, 0, &o);
	ck_assert_int_eq(o.act, CFLOW_DROP_HOPS);
}
END_TEST

/*
 * Three members each applying cflow_decide() to one packet as it travels
 * the cluster link: whatever node receives it and whatever the owners
 * known, it ends handled by one node or dropped within CW_MAX_HOPS hops.
 */
START_TEST(decide_terminates)
{
	uint32_t owner[4], dir, at;
	uint8_t  type, hops;
	uint64_t s = 5;
	int      i, steps, handled = 0, dropped = 0;

	for (i = 0; i < 20000; i++) {
		struct cflow_out o;
		uint32_t         from = 0;
		int              j;

		for (j = 1; j <= 3; j++)
			owner[j] = (uint32_t)(rng_next(&s) % 4);
		dir = (uint32_t)(rng_next(&s) % 4);
		at = 1 + (uint32_t)(rng_next(&s) % 3);
		type = 0;
		hops = 0;
		for (steps = 0;; steps++) {
			struct cflow_in in = {.self = at,
			    .director = dir,
			    .owner = owner[at],
			    .type = type,
			    .from = from,
			    .hops = hops};

			ck_assert_int_le(steps, CW_MAX_HOPS);
			cflow_decide(&in, &o);
			if (o.act == CFLOW_HANDLE) {
				handled++;
				break;
			}
			if (o.act == CFLOW_DROP_HOPS) {
				dropped++;
				break;
			}
			ck_assert_uint_ne(o.to, at);
			ck_assert_uint_eq(o.hops, hops + 1);
			if (o.record)
				owner[at] = o.to;
			type = o.act == CFLOW_FIRST ? CW_FIRST : CW_FORWARD;
			from = at;
			at = o.to;
			hops = o.hops;
		}
	}
	ck_assert_int_gt(handled, 0);
	ck_assert_int_eq(handled + dropped, 20000);
}
END_TEST

/* ------------------------------------------------------------ table */

START_TEST(table_set_find_del)
{
	struct cflow       *cf = cflow_new(1, 1000, 64);
	struct cflow_entry *e;
	struct flow_key     k;
	uint32_t            i;

	ck_assert_ptr_nonnull(cf);
	for (i = 0; i < 1000; i++) {
		k = key4(i);
		ck_assert_ptr_nonnull(
		    cflow_set(cf, &k, 1 + i % 3, 7, (uint8_t)(i % 4), 100));
	}
	ck_assert_uint_eq(cf->n, 1000);
	ck_assert_uint_eq(cf->owned, 334);
	/* Made here with this node as owner: created, once each. */
	ck_assert_uint_eq(cf->created, 334);
	k = key4(0);
	ck_assert_ptr_nonnull(cflow_set(cf, &k, 1, 7, 1, 100));
	ck_assert_uint_eq(cf->created, 334);
	/* Full: one more refused and counted, the others still there. */
	k = key4(5000);
	ck_assert_ptr_null(cflow_set(cf, &k, 1, 7, 0, 100));
	ck_assert_uint_eq(cf->table_full, 1);
	for (i = 0; i < 1000; i += 2) {
		k = key4(i);
		ck_assert_int_eq(cflow_del(cf, &k), 1);
		ck_assert_int_eq(cflow_del(cf, &k), 0);
	}
	for (i = 0; i < 1000; i++) {
		k = key4(i);
		e = cflow_find(cf, &k);
		if (i % 2 == 0)
			ck_assert_ptr_null(e);
		else {
			ck_assert_ptr_nonnull(e);
			ck_assert_uint_eq(e->owner, 1 + i % 3);
			ck_assert_uint_eq(e->link, i % 4);
		}
	}
	ck_assert_uint_eq(cf->n, 500);
	cflow_free(cf);
	ck_assert_ptr_null(cflow_new(0, 10, 10));
	ck_assert_ptr_null(cflow_new(1, 0, 10));
	ck_assert_ptr_null(cflow_new(1, 10, 0));
	ck_assert_ptr_null(cflow_new(1, CFLOW_MAX_ENTRIES + 1, 10));
}
END_TEST

/* A busy flow costs one queued update, however many changes; the
 * update says what the flow is when it is taken. */
START_TEST(sync_coalesced)
{
	struct cflow         *cf = cflow_new(1, 100, 8);
	struct flowsync_entry e[FLOWSYNC_MAX_ENTRIES];
	struct flow_key       k = key4(1), k2 = key4(2);
	size_t                n;

	ck_assert_ptr_nonnull(cflow_set(cf, &k, 1, 9, 0, 10));
	ck_assert_ptr_nonnull(cflow_set(cf, &k, 1, 9, 1, 11));
	ck_assert_ptr_nonnull(cflow_set(cf, &k, 1, 9, 2, 12));
	ck_assert_ptr_nonnull(cflow_set(cf, &k, 1, 9, 2, 13)); /* same */
	ck_assert_uint_eq(cf->qlen, 1);
	/* A backup is never queued: it is the owner's to say. */
	ck_assert_ptr_nonnull(cflow_set(cf, &k2, 2, 9, 0, 10));
	ck_assert_uint_eq(cf->qlen, 1);
	n = cflow_sync_take(cf, e, NITEMS(e));
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(e[0].state, FLOWSYNC_ALIVE);
	ck_assert_uint_eq(e[0].owner, 1);
	ck_assert_uint_eq(e[0].session, 9);
	ck_assert_uint_eq(e[0].link, 2);
	ck_assert_int_eq(flowsync_entry_check(&e[0]), CLUSTERSYNC_OK);
	/* Changed and then gone before it is taken: one GONE. */
	ck_assert_ptr_nonnull(cflow_set(cf, &k, 1, 9, 3, 14));
	ck_assert_int_eq(cflow_del(cf, &k), 1);
	n = cflow_sync_take(cf, e, NITEMS(e));
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(e[0].state, FLOWSYNC_GONE);
	ck_assert_int_eq(flowsync_entry_check(&e[0]), CLUSTERSYNC_OK);
	ck_assert_uint_eq(cflow_sync_take(cf, e, NITEMS(e)), 0);
	cflow_free(cf);
}
END_TEST

/* The queue holds qmax flows; the next sets resync, and the full walk
 * then carries every owned entry. */
START_TEST(sync_bound)
{
	struct cflow         *cf = cflow_new(1, 1000, 8);
	struct flowsync_entry e[FLOWSYNC_MAX_ENTRIES];
	struct flow_key       k;
	uint32_t              i, cursor = 0;
	size_t                n, total = 0;

	for (i = 0; i < 100; i++) {
		k = key4(i);
		ck_assert_ptr_nonnull(cflow_set(cf, &k, 1, 9, 0, 10));
	}
	ck_assert_uint_eq(cf->qlen, 8);
	ck_assert_uint_eq(cf->q_overflows, 92);
	ck_assert_int_eq(cf->resync, 1);
	ck_assert_uint_eq(cflow_sync_take(cf, e, NITEMS(e)), 8);
	/* Backups are not ours to resync. */
	k = key4(500);
	ck_assert_ptr_nonnull(cflow_set(cf, &k, 3, 9, 0, 10));
	do {
		n = cflow_walk_owned(cf, &cursor, 64, e, NITEMS(e));
		for (i = 0; i < n; i++)
			ck_assert_uint_eq(e[i].owner, 1);
		total += n;
	} while (cursor != 0);
	ck_assert_uint_eq(total, 100);
	cflow_free(cf);
}
END_TEST

START_TEST(apply_backups)
{
	struct cflow         *cf = cflow_new(1, 100, 8);
	struct flowsync_entry fe;
	struct cflow_entry   *e;

	memset(&fe, 0, sizeof(fe));
	fe.key = key4(1);
	fe.owner = 2;
	fe.session = 5;
	fe.link = 3;
	fe.state = FLOWSYNC_ALIVE;
	ck_assert_int_eq(cflow_apply(cf, &fe, 10), 0);
	ck_assert_ptr_nonnull(e = cflow_find(cf, &fe.key));
	ck_assert_uint_eq(e->owner, 2);
	ck_assert_uint_eq(e->link, 3);
	ck_assert_uint_eq(cf->owned, 0);
	ck_assert_uint_eq(cf->qlen, 0);
	/* GONE from another member than the owner: ignored. */
	fe.owner = 3;
	fe.state = FLOWSYNC_GONE;
	ck_assert_int_eq(cflow_apply(cf, &fe, 11), 0);
	ck_assert_ptr_nonnull(cflow_find(cf, &fe.key));
	fe.owner = 2;
	ck_assert_int_eq(cflow_apply(cf, &fe, 12), 0);
	ck_assert_ptr_null(cflow_find(cf, &fe.key));
	cflow_free(cf);
}
END_TEST

START_TEST(expire_steps)
{
	struct cflow   *cf = cflow_new(1, 1000, 2048);
	struct flow_key k;
	uint32_t        i, cursor = 0;
	size_t          gone = 0;

	for (i = 0; i < 600; i++) {
		k = key4(i);
		/* owned: 0..199 idle, 200..299 busy; backups 300..599 */
		ck_assert_ptr_nonnull(cflow_set(cf, &k, i < 300 ? 1 : 2, 1, 0,
		    i < 200       ? 1000
			: i < 300 ? 9000
				  : 1000));
	}
	(void)cflow_sync_take(
	    cf, (struct flowsync_entry[FLOWSYNC_MAX_ENTRIES]){0}, 0);
	cf->qlen = 0;
	for (i = 0; i < cf->mask + 1; i++) {
		cf->slot[i].pending = 0;
		cf->slot[i].synced_ms = cf->slot[i].seen_ms;
	}
	/* Idle 5000 ms for owned, 20000 for backups: the 200 idle owned
	 * go, in steps of 100 slots. */
	do
		gone += cflow_expire(cf, &cursor, 100, 10000, 5000, 20000);
	while (cursor != 0);
	ck_assert_uint_eq(gone, 200);
	ck_assert_uint_eq(cf->owned, 100);
	ck_assert_uint_eq(cf->qlen, 200); /* each a GONE */
	do
		gone += cflow_expire(cf, &cursor, 100, 30000, 50000, 20000);
	while (cursor != 0);
	ck_assert_uint_eq(gone, 500);
	ck_assert_uint_eq(cf->n, 100);
	cflow_free(cf);
}
END_TEST

/* A flow busy for longer than idle_ms since its last sync is queued
 * again, so that its backups (which expire) hear of it. */
START_TEST(expire_refresh)
{
	struct cflow         *cf = cflow_new(1, 100, 100);
	struct flowsync_entry e[FLOWSYNC_MAX_ENTRIES];
	struct cflow_entry   *ce;
	struct flow_key       k = key4(1);
	uint32_t              cursor = 0;

	ck_assert_ptr_nonnull(ce = cflow_set(cf, &k, 1, 1, 0, 1000));
	ck_assert_uint_eq(cflow_sync_take(cf, e, NITEMS(e)), 1);
	ce->seen_ms = 4000; /* packets, within idle */
	do
		(void)cflow_expire(cf, &cursor, 1000, 4000, 5000, 20000);
	while (cursor != 0);
	ck_assert_uint_eq(cf->qlen, 0);
	ce->seen_ms = 7000; /* busy for more than idle since the sync */
	do
		(void)cflow_expire(cf, &cursor, 1000, 7000, 5000, 20000);
	while (cursor != 0);
	ck_assert_uint_eq(cf->qlen, 1);
	ck_assert_uint_eq(cflow_sync_take(cf, e, NITEMS(e)), 1);
	ck_assert_uint_eq(e[0].state, FLOWSYNC_ALIVE);
	cflow_free(cf);
}
END_TEST

/* Member 2 leaves: each of its flows goes where fn says, with its
 * session and link; ours are queued and seen by the callback. */
static uint32_t
to_1_or_3(void *arg, const struct flow_key *k)
{
	(void)arg;
	return k->b[3] % 2 ? 1 : 3;
}

static void
count_took(void *arg, const struct cflow_entry *e)
{
	size_t *n = arg;

	ck_assert_uint_eq(e->owner, 1);
	ck_assert_uint_eq(e->link, e->key.b[3] % 4);
	ck_assert_uint_eq(e->session, 77);
	(*n)++;
}

START_TEST(takeover_keeps_link)
{
	struct cflow       *cf = cflow_new(1, 1000, 1000);
	struct cflow_entry *e;
	struct flow_key     k;
	uint32_t            i;
	size_t              took, seen = 0;

	for (i = 0; i < 200; i++) {
		k = key4(i);
		ck_assert_ptr_nonnull(cflow_set(
		    cf, &k, i < 100 ? 2 : 3, 77, (uint8_t)(k.b[3] % 4), 10));
	}
	took = cflow_takeover(cf, 2, to_1_or_3, NULL, count_took, &seen);
	ck_assert_uint_eq(took, 50);
	ck_assert_uint_eq(seen, 50);
	ck_assert_uint_eq(cf->owned, 50);
	ck_assert_uint_eq(cf->qlen, 50);
	for (i = 0; i < 200; i++) {
		k = key4(i);
		ck_assert_ptr_nonnull(e = cflow_find(cf, &k));
		ck_assert_uint_ne(e->owner, 2);
		ck_assert_uint_eq(e->link, k.b[3] % 4);
		if (i < 100)
			ck_assert_uint_eq(e->owner, to_1_or_3(NULL, &k));
		else
			ck_assert_uint_eq(e->owner, 3);
	}
	cflow_free(cf);
}
END_TEST

static uint32_t
nobody(void *arg, const struct flow_key *k)
{
	(void)arg;
	(void)k;
	return 0;
}

START_TEST(takeover_nobody)
{
	struct cflow   *cf = cflow_new(1, 1000, 10);
	struct flow_key k;
	uint32_t        i;

	for (i = 0; i < 300; i++) {
		k = key4(i);
		ck_assert_ptr_nonnull(
		    cflow_set(cf, &k, i % 2 ? 2 : 1, 1, 0, 1));
	}
	ck_assert_uint_eq(cflow_takeover(cf, 2, nobody, NULL, NULL, NULL), 0);
	ck_assert_uint_eq(cf->n, 150);
	for (i = 0; i < 300; i++) {
		k = key4(i);
		if (i % 2)
			ck_assert_ptr_null(cflow_find(cf, &k));
		else
			ck_assert_ptr_nonnull(cflow_find(cf, &k));
	}
	cflow_free(cf);
}
END_TEST

/* ------------------------------------------------------------ codec */

static void
fill(struct flowsync_entry *e, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		memset(&e[i], 0, sizeof(e[i]));
		e[i].key = key4((uint32_t)i);
		if (i % 3 == 1) {
			e[i].key.family = AF_INET6;
			memset(e[i].key.a, 0x20, 16);
			memset(e[i].key.b, 0x30, 16);
		}
		e[i].owner = 1 + (uint32_t)i % 255;
		e[i].session = 0x01020304u + (uint32_t)i;
		e[i].link = i % 5 == 0 ? FLOWSYNC_LINK_NONE : (uint8_t)(i % 32);
		e[i].state = i % 2 ? FLOWSYNC_GONE : FLOWSYNC_ALIVE;
	}
}

START_TEST(codec_exact)
{
	struct flowsync_entry in[FLOWSYNC_MAX_ENTRIES],
	    out[FLOWSYNC_MAX_ENTRIES];
	uint8_t  buf[CLUSTERSYNC_MAX_LEN];
	uint32_t node;
	size_t   n;

	ck_assert_uint_eq(FLOWSYNC_MAX_ENTRIES, 21);
	ck_assert_uint_le(
	    FLOWSYNC_LEN(FLOWSYNC_MAX_ENTRIES), CLUSTERSYNC_MAX_LEN);
	fill(in, NITEMS(in));
	for (n = 1; n <= FLOWSYNC_MAX_ENTRIES; n++) {
		ck_assert_int_eq(flowsync_encode(7, in, n, buf, sizeof(buf)),
		    (int)FLOWSYNC_LEN(n));
		ck_assert_int_eq(
		    clustersync_type(buf, FLOWSYNC_LEN(n)), CLUSTERSYNC_FLOW);
		ck_assert_int_eq(
		    flowsync_decode(buf, FLOWSYNC_LEN(n), &node, out), (int)n);
		ck_assert_uint_eq(node, 7);
		ck_assert_mem_eq(in, out, n * sizeof(in[0]));
	}
	/* Byte 0 of an entry is the family as 4 or 6. */
	ck_assert_uint_eq(buf[FLOWSYNC_HDR_LEN], 4);
	ck_assert_uint_eq(buf[FLOWSYNC_HDR_LEN + FLOWSYNC_ENTRY_LEN], 6);
	/* Not a HELLO. */
	ck_assert_int_eq(clustersync_hello_decode(buf, FLOWSYNC_LEN(1),
			     &(struct clustersync_hello){0}),
	    CLUSTERSYNC_ETYPE);
}
END_TEST

START_TEST(codec_refused_encode)
{
	struct flowsync_entry in[FLOWSYNC_MAX_ENTRIES + 1];
	uint8_t               buf[CLUSTERSYNC_MAX_LEN * 2];

	fill(in, NITEMS(in));
	ck_assert_int_eq(flowsync_encode(7, in, 0, buf, sizeof(buf)), -1);
	ck_assert_int_eq(flowsync_encode(0, in, 1, buf, sizeof(buf)), -1);
	ck_assert_int_eq(
	    flowsync_encode(7, in, FLOWSYNC_MAX_ENTRIES + 1, buf, sizeof(buf)),
	    -1);
	ck_assert_int_eq(
	    flowsync_encode(7, in, 2, buf, FLOWSYNC_LEN(2) - 1), -1);
	in[0].owner = 0;
	ck_assert_int_eq(flowsync_encode(7, in, 1, buf, sizeof(buf)), -1);
	fill(in, 1);
	/* Not in normal form. */
	in[0].key.pa = 9;
	in[0].key.a[0] = 250;
	ck_assert_int_eq(flowsync_encode(7, in, 1, buf, sizeof(buf)), -1);
}
END_TEST

START_TEST(codec_truncated_oversized)
{
	struct flowsync_entry in[3], out[FLOWSYNC_MAX_ENTRIES];
	uint8_t               buf[CLUSTERSYNC_MAX_LEN + 64];
	uint32_t              node;
	size_t                len;

	fill(in, 3);
	ck_assert_int_eq(
	    flowsync_encode(7, in, 3, buf, sizeof(buf)), (int)FLOWSYNC_LEN(3));
	for (len = 0; len < CLUSTERSYNC_HDR_LEN; len++)
		ck_assert_int_eq(
		    flowsync_decode(buf, len, &node, out), CLUSTERSYNC_ESHORT);
	for (; len < FLOWSYNC_LEN(3); len++)
		ck_assert_int_eq(
		    flowsync_decode(buf, len, &node, out), CLUSTERSYNC_ELENGTH);
	memset(buf + FLOWSYNC_LEN(3), 0, 64);
	for (len = FLOWSYNC_LEN(3) + 1; len < FLOWSYNC_LEN(3) + 64; len++)
		ck_assert_int_eq(
		    flowsync_decode(buf, len, &node, out), CLUSTERSYNC_ELENGTH);
	/* A count past the maximum, with the bytes to match. */
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(
	    flowsync_encode(7, in, 1, buf, sizeof(buf)), (int)FLOWSYNC_LEN(1));
	buf[9] = FLOWSYNC_MAX_ENTRIES + 1;
	ck_assert_int_eq(
	    flowsync_decode(
		buf, FLOWSYNC_LEN(FLOWSYNC_MAX_ENTRIES + 1), &node, out),
	    CLUSTERSYNC_ELENGTH);
	buf[9] = 0;
	ck_assert_int_eq(flowsync_decode(buf, FLOWSYNC_HDR_LEN, &node, out),
	    CLUSTERSYNC_ELENGTH);
}
END_TEST

START_TEST(codec_garbage)
{
	static const struct {
		size_t  at;
		uint8_t v;
		int     want;
	} cases[] = {
	    {0, 2, CLUSTERSYNC_EVERSION},
	    {1, 2, CLUSTERSYNC_ETYPE},         /* SESSION: reserved */
	    {2, 1, CLUSTERSYNC_EVALUE},        /* flags */
	    {7, 0, CLUSTERSYNC_EVALUE},        /* sender 0 (bytes 4-6 are 0) */
	    {10, 1, CLUSTERSYNC_EVALUE},       /* reserved */
	    {12, 5, CLUSTERSYNC_EVALUE},       /* family */
	    {12 + 10, 1, CLUSTERSYNC_EVALUE},  /* IPv4 a with bytes after */
	    {12 + 30, 1, CLUSTERSYNC_EVALUE},  /* IPv4 b with bytes after */
	    {12 + 6, 250, CLUSTERSYNC_EVALUE}, /* a after b: not normal */
	    {12 + 41, 0, CLUSTERSYNC_EVALUE},  /* owner 0 (38-40 are 0) */
	    {12 + 46, 32, CLUSTERSYNC_EVALUE}, /* link */
	    {12 + 47, 0, CLUSTERSYNC_EVALUE},  /* state */
	    {12 + 47, 3, CLUSTERSYNC_EVALUE},
	};
	struct flowsync_entry in[1], out[FLOWSYNC_MAX_ENTRIES];
	uint8_t               buf[CLUSTERSYNC_MAX_LEN], g[256];
	uint32_t              node, x = 11;
	size_t                i, j, n;
	int                   r;

	fill(in, 1);
	in[0].owner = 9;
	in[0].link = 1;
	for (i = 0; i < NITEMS(cases); i++) {
		ck_assert_int_eq(flowsync_encode(7, in, 1, buf, sizeof(buf)),
		    (int)FLOWSYNC_LEN(1));
		buf[cases[i].at] = cases[i].v;
		node = 0xa5a5a5a5;
		ck_assert_int_eq(
		    flowsync_decode(buf, FLOWSYNC_LEN(1), &node, out),
		    cases[i].want);
		ck_assert_uint_eq(node, 0xa5a5a5a5); /* untouched */
	}
	/* Random bytes: refused, or entries that encode back to them. */
	for (i = 0; i < 200000; i++) {
		n = i % sizeof(g);
		for (j = 0; j < n; j++) {
			x = x * 1103515245 + 12345;
			g[j] = (uint8_t)(x >> 16);
		}
		if (n >= 12 && i % 2 == 0) {
			g[0] = CLUSTERSYNC_VERSION;
			g[1] = CLUSTERSYNC_FLOW;
			g[2] = g[3] = 0;
			g[8] = 0;
			g[9] = (uint8_t)((n - 12) / FLOWSYNC_ENTRY_LEN);
			g[10] = g[11] = 0;
		}
		if ((r = flowsync_decode(g, n, &node, out)) < 0)
			continue;
		ck_assert_int_eq(
		    flowsync_encode(node, out, (size_t)r, buf, sizeof(buf)),
		    (int)n);
		ck_assert_mem_eq(buf, g, n);
	}
}
END_TEST

static Suite *
cflow_suite(void)
{
	Suite *s = suite_create("cflow");
	TCase *tc = tcase_create("cflow");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, decide_local);
	tcase_add_test(tc, decide_director);
	tcase_add_test(tc, decide_lagging);
	tcase_add_test(tc, decide_terminates);
	tcase_add_test(tc, table_set_find_del);
	tcase_add_test(tc, sync_coalesced);
	tcase_add_test(tc, sync_bound);
	tcase_add_test(tc, apply_backups);
	tcase_add_test(tc, expire_steps);
	tcase_add_test(tc, expire_refresh);
	tcase_add_test(tc, takeover_keeps_link);
	tcase_add_test(tc, takeover_nobody);
	tcase_add_test(tc, codec_exact);
	tcase_add_test(tc, codec_refused_encode);
	tcase_add_test(tc, codec_truncated_oversized);
	tcase_add_test(tc, codec_garbage);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(cflow_suite());
}
