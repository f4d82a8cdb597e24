/*
 * The key epochs of one direction and the datagrams sealed under them.
 *
 * The sender moves on after `limit` packets and says so in the phase bit;
 * the receiver opens the new epoch's first packet at once with the key it
 * derived ahead.  Neither derives on the packet path: they say when the
 * next key's slot is empty (KEYRING_WANTS, keyring_wants()) and the
 * control side fills it (keyring_refill()), as seal() and roundtrip() do
 * here after each packet; without the TLS session the
 * current key goes on up to `hard` packets and no further.  Above all, a
 * (key, link id, counter) is sealed at most once: whatever the links do,
 * the datagrams' nonces never repeat under one key.
 *
 * Keys come from a fake derive function: epoch e's key is e in every byte.
 */
#include "autoconf.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "tunnel.h"
#include "keyring.h"
#include "proto.h"
#include "wire.h"

static int derive_ok = 1;
static int derives;

static int
fake_derive(void *arg, uint32_t epoch, uint8_t key[AEAD_KEY_LEN])
{
	(void)arg;
	derives++;
	if (!derive_ok)
		return -1;
	memset(key, (int)epoch, AEAD_KEY_LEN);
	return 0;
}

static struct keyring *
ring(uint64_t limit, uint64_t hard)
{
	uint8_t         key0[AEAD_KEY_LEN];
	struct keyring *k;

	memset(key0, 0, sizeof(key0));
	k = keyring_new(key0, 0, fake_derive, NULL, limit, hard);
	ck_assert_ptr_nonnull(k);
	return k;
}

/* Seals a marker on link_id with s; decodes its header into *h. */
static int wants; /* KEYRING_WANTS seen */

/* Seals a marker on link_id with s; decodes its header into *h.  Then,
 * as the control side after a batch, refills the next key if asked. */
static int
seal(struct keyring *s, uint8_t link_id, uint8_t *dgram, size_t len,
    struct wire_hdr *h, int *advanced)
{
	static const uint8_t msg[16] = "epoch marker ..";
	int                  n, ev;

	n = keyring_seal(
	    s, WIRE_DATA, link_id, 0x5e55, msg, sizeof(msg), dgram, len, &ev);
	*advanced = (ev & KEYRING_ADVANCED) != 0;
	if (ev & KEYRING_WANTS) {
		wants++;
		(void)keyring_refill(s);
	}
	if (n > 0) {
		ck_assert_int_eq(n, WIRE_OVERHEAD + (int)sizeof(msg));
		ck_assert_int_eq(wire_hdr_decode(dgram, (size_t)n, h), WIRE_OK);
		ck_assert_uint_eq(h->link_id, link_id);
		ck_assert_uint_eq(h->session, 0x5e55);
	}
	return n;
}

/* Seals a marker with s's key of the moment; opens it with r. */
static int
roundtrip(struct keyring *s, struct keyring *r, int *advanced, int *is_next)
{
	uint8_t         dgram[64], pt[64];
	struct wire_hdr h;
	struct aead    *a;
	int             n;

	n = seal(s, 3, dgram, sizeof(dgram), &h, advanced);
	ck_assert_int_gt(n, 0);
	a = keyring_open(r, (h.flags & WIRE_F_KEY_PHASE) != 0, is_next);
	if (a == NULL)
		return -1;
	if (dgram_open(a, &h, dgram, (size_t)n, pt, sizeof(pt)) != 16)
		return -1;
	if (*is_next) {
		ck_assert_int_eq(keyring_advance(r), 0);
		ck_assert(keyring_wants(r));
		(void)keyring_refill(r);
	}
	return memcmp(pt, "epoch marker ..", 16) == 0 ? 0 : -1;
}

START_TEST(epochs_advance_after_limit)
{
	struct keyring *s, *r;
	int             i, adv, next;

	derive_ok = 1;
	s = ring(10, 20);
	r = ring(10, 20);
	/* 10 packets in epoch 0, the 11th is the first of epoch 1 */
	for (i = 0; i < 10; i++) {
		ck_assert_int_eq(roundtrip(s, r, &adv, &next), 0);
		ck_assert(!adv && !next);
	}
	ck_assert_int_eq(roundtrip(s, r, &adv, &next), 0);
	ck_assert(adv && next);
	ck_assert_uint_eq(keyring_epoch(s), 1);
	ck_assert_uint_eq(keyring_epoch(r), 1);
	/* and on through several epochs, phase flipping each time */
	for (i = 0; i < 45; i++)
		ck_assert_int_eq(roundtrip(s, r, &adv, &next), 0);
	ck_assert_uint_eq(keyring_epoch(s), 5);
	ck_assert_uint_eq(keyring_epoch(r), 5);
	keyring_free(s);
	keyring_free(r);
}
END_TEST

/* A packet of the old epoch after the receiver moved on is not opened
 * with the wrong key by mistake: it fails, and nothing advances. */
START_TEST(stale_epoch_refused)
{
	uint8_t         old[64], pt[64];
	struct wire_hdr h;
	struct keyring *s, *r;
	struct aead    *a;
	int             n, adv, next, i;

	derive_ok = 1;
	s = ring(3, 3);
	r = ring(3, 3);
	n = seal(s, 0, old, sizeof(old), &h, &adv); /* epoch 0 */
	ck_assert_int_gt(n, 0);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(roundtrip(s, r, &adv, &next), 0);
	ck_assert_uint_eq(keyring_epoch(r), 1);
	/* the epoch-0 packet arrives late: its phase is epoch 2's */
	a = keyring_open(r, (h.flags & WIRE_F_KEY_PHASE) != 0, &next);
	ck_assert(next);
	ck_assert_int_eq(dgram_open(a, &h, old, (size_t)n, pt, sizeof(pt)), -1);
	ck_assert_uint_eq(keyring_epoch(r), 1);
	keyring_free(s);
	keyring_free(r);
}
END_TEST

/* No TLS session: the sender keeps its key up to the hard limit (traffic
 * goes on) and asks for the next key again only every KEYRING_RETRY
 * packets; back, it moves on at the packet after the refill. */
START_TEST(no_session_keeps_going)
{
	uint8_t         dgram[64];
	struct wire_hdr h;
	struct keyring *s;
	int             adv, i;

	derive_ok = 0; /* as if the channel was down at init */
	s = ring(5, 3 * KEYRING_RETRY);
	derives = 0;
	wants = 0;
	/* half the retry distance: no second try yet, whatever the build's
	 * limits (--enable-test-limits lowers KEYRING_RETRY to 256) */
	for (i = 0; i < KEYRING_RETRY / 2; i++)
		ck_assert_int_gt(seal(s, 0, dgram, sizeof(dgram), &h, &adv), 0);
	ck_assert_uint_eq(keyring_epoch(s), 0);
	ck_assert_uint_eq(h.flags & WIRE_F_KEY_PHASE, 0);
	ck_assert_int_eq(derives, 1);
	ck_assert_int_eq(wants, 1);
	/* The first ask was at packet 6 (5 sealed); the next comes
	 * KEYRING_RETRY packets later, the refill succeeds, and the packet
	 * after it is the new epoch's first. */
	derive_ok = 1;
	while (keyring_epoch(s) == 0 && i < 2 * KEYRING_RETRY) {
		(void)seal(s, 0, dgram, sizeof(dgram), &h, &adv);
		i++;
	}
	ck_assert_int_eq(i, 5 + KEYRING_RETRY + 2);
	ck_assert_int_eq(adv, 1);
	ck_assert_uint_eq(h.flags & WIRE_F_KEY_PHASE, WIRE_F_KEY_PHASE);
	ck_assert_uint_eq(h.counter, 0);  /* a new key, counters anew */
	ck_assert_int_eq(derives, 2 + 1); /* the failure, epoch 1, epoch 2 */
	keyring_free(s);
}
END_TEST

/* Sealing and opening never derive a key (control work, keyring.h): past
 * `limit` the sender moves to the key derived ahead and says the slot is
 * empty; with nobody refilling, it stays on that epoch up to `hard`. */
START_TEST(seal_never_derives)
{
	static const uint8_t msg[4] = "abc";
	uint8_t              dgram[64];
	struct keyring      *s;
	int                  i, n, ev, asked = 0, moved = 0;

	derive_ok = 1;
	s = ring(10, 20);
	derives = 0;
	for (i = 0; i < 40; i++) {
		n = keyring_seal(s, WIRE_DATA, 1, 7, msg, sizeof(msg), dgram,
		    sizeof(dgram), &ev);
		ck_assert(n > 0 || n == KEYRING_ERR_EXHAUSTED);
		asked += (ev & KEYRING_WANTS) != 0;
		moved += (ev & KEYRING_ADVANCED) != 0;
	}
	ck_assert_int_eq(derives, 0);
	ck_assert_int_eq(moved, 1);
	ck_assert_uint_eq(keyring_epoch(s), 1);
	ck_assert(keyring_wants(s));
	ck_assert_int_ge(asked, 1);
	keyring_free(s);
}
END_TEST

/*
 * Every (epoch, link id, counter) sealed, as a bit in a table: a second
 * sealing of one is the failure this suite exists for.
 */
#define MAX_EPOCH   16
#define MAX_COUNTER 4096
static uint8_t *seen;

static void
saw(uint32_t epoch, const struct wire_hdr *h)
{
	size_t bit;

	ck_assert_uint_lt(epoch, MAX_EPOCH);
	ck_assert_uint_lt(h->counter, MAX_COUNTER);
	bit = ((size_t)epoch * KEYRING_LINK_IDS + h->link_id) * MAX_COUNTER +
	    h->counter;
	ck_assert_msg((seen[bit / 8] & (1U << (bit % 8))) == 0,
	    "epoch %u link %u counter %llu sealed twice", epoch, h->link_id,
	    (unsigned long long)h->counter);
	seen[bit / 8] |= (uint8_t)(1U << (bit % 8));
}

static void
seen_reset(void)
{
	free(seen);
	seen =
	    calloc((size_t)MAX_EPOCH * KEYRING_LINK_IDS * MAX_COUNTER / 8, 1);
	ck_assert_ptr_nonnull(seen);
}

/* One packet on link_id, checked against every one before. */
static void
seal_unique(struct keyring *s, uint8_t link_id, int *adv)
{
	uint8_t         dgram[64];
	struct wire_hdr h;

	ck_assert_int_gt(seal(s, link_id, dgram, sizeof(dgram), &h, adv), 0);
	ck_assert_uint_eq(
	    (h.flags & WIRE_F_KEY_PHASE) != 0, keyring_epoch(s) & 1);
	saw(keyring_epoch(s), &h);
}

/* Every link id in turn, through several epochs: no tuple twice. */
START_TEST(nonces_unique_over_links_and_epochs)
{
	struct keyring *s;
	int             i, adv, advances = 0;

	derive_ok = 1;
	seen_reset();
	s = ring(1000, 1000);
	for (i = 0; i < 7 * 1000 + 13; i++) {
		/* uneven use: id i % 256 and, every other packet, id 0 */
		seal_unique(s, (uint8_t)(i % KEYRING_LINK_IDS), &adv);
		advances += adv;
		if (i % 2 == 0) {
			seal_unique(s, 0, &adv);
			advances += adv;
		}
	}
	ck_assert_int_eq(advances, 10);
	ck_assert_uint_eq(keyring_epoch(s), 10);
	keyring_free(s);
}
END_TEST

/*
 * socketd's reload that finds issue 10: WAN1 (id 0), WAN2 (id 1) and
 * WAN3... carry traffic; WAN2 is removed and a new link takes the freed
 * id 1 under the same key (the PoP's WELCOME has not come yet).  The new
 * link's first datagram must not reuse any counter WAN2 used.
 */
START_TEST(reused_link_id_keeps_counting)
{
	struct keyring *s;
	uint8_t         dgram[64];
	struct wire_hdr h;
	int             i, round, adv;

	derive_ok = 1;
	seen_reset();
	/* as many as the build allows (--enable-test-limits: 5120) */
	s = ring(KEYRING_HARD_LIMIT < 100000 ? KEYRING_HARD_LIMIT : 100000,
	    KEYRING_HARD_LIMIT < 100000 ? KEYRING_HARD_LIMIT : 100000);
	for (round = 0; round < 3; round++) {
		/* the links of this round: 0 and 2 always, 1 reused */
		for (i = 0; i < 50; i++) {
			seal_unique(s, 0, &adv);
			seal_unique(s, 1, &adv);
			seal_unique(s, 2, &adv);
		}
		/* id 1 removed: 0 and 2 go on alone for a while */
		for (i = 0; i < 20; i++) {
			seal_unique(s, 0, &adv);
			seal_unique(s, 2, &adv);
		}
	}
	/* the id 1 link of the fourth life starts after the third's */
	ck_assert_int_gt(seal(s, 1, dgram, sizeof(dgram), &h, &adv), 0);
	ck_assert_uint_eq(h.counter, 150);
	ck_assert_uint_eq(keyring_epoch(s), 0);
	keyring_free(s);
}
END_TEST

/* The hard limit: without a next key, seal refuses past it, with no
 * datagram written; once a key comes, it goes on under that key. */
START_TEST(hard_limit_refuses)
{
	uint8_t         dgram[64], zero[64];
	struct wire_hdr h;
	struct keyring *s;
	int             i, adv;

	derive_ok = 0;
	seen_reset();
	s = ring(10, 15);
	for (i = 0; i < 15; i++)
		seal_unique(s, (uint8_t)(i % 2), &adv);
	ck_assert_uint_eq(keyring_epoch(s), 0);
	for (i = 0; i < 3 * KEYRING_RETRY; i++) {
		memset(dgram, 0, sizeof(dgram));
		ck_assert_int_eq(seal(s, 0, dgram, sizeof(dgram), &h, &adv),
		    KEYRING_ERR_EXHAUSTED);
		ck_assert_int_eq(adv, 0);
	}
	memset(zero, 0, sizeof(zero));
	ck_assert_mem_eq(dgram, zero, sizeof(dgram));
	/* the channel is back: within KEYRING_RETRY packets, epoch 1 */
	derive_ok = 1;
	for (i = 0; i <= KEYRING_RETRY + 1 && keyring_epoch(s) == 0; i++)
		(void)seal(s, 0, dgram, sizeof(dgram), &h, &adv);
	ck_assert_uint_eq(keyring_epoch(s), 1);
	ck_assert_int_eq(adv, 1);
	ck_assert_uint_eq(h.counter, 0);
	saw(1, &h);
	keyring_free(s);
}
END_TEST

/* With the channel up all along, the hard limit is never met: the soft
 * one moves to the next key first. */
START_TEST(hard_limit_not_met_with_keys)
{
	struct keyring *s;
	int             i, adv;

	derive_ok = 1;
	seen_reset();
	s = ring(10, 10);
	for (i = 0; i < 100; i++)
		seal_unique(s, 7, &adv);
	ck_assert_uint_eq(keyring_epoch(s), 9);
	keyring_free(s);
}
END_TEST

/* A datagram that does not fit takes no counter; bad limits, no ring. */
/*
 * A tunnel's keyrings each do one thing: the sender's seals, across an
 * epoch change, and the receiver's opens it; the receiver's refuses to
 * seal (it holds no counters to seal with).
 */
START_TEST(one_direction_each)
{
	uint8_t         key0[AEAD_KEY_LEN], dgram[64];
	struct keyring *s, *r;
	int             adv = 0, next = 0, i;

	memset(key0, 0, sizeof(key0));
	derive_ok = 1;
	ck_assert_ptr_null(
	    keyring_new_for(key0, 0, fake_derive, NULL, 10, 20, 0));
	ck_assert_ptr_nonnull(
	    s = keyring_new_for(key0, 0, fake_derive, NULL, 3, 20, AEAD_SEAL));
	ck_assert_ptr_nonnull(
	    r = keyring_new_for(key0, 0, fake_derive, NULL, 3, 20, AEAD_OPEN));
	for (i = 0; i < 7; i++)
		ck_assert_int_eq(roundtrip(s, r, &adv, &next), 0);
	ck_assert_uint_eq(keyring_epoch(s), 2);
	ck_assert_uint_eq(keyring_epoch(r), 2);
	ck_assert_int_eq(keyring_seal(r, WIRE_DATA, 0, 1, (const uint8_t *)"x",
			     1, dgram, sizeof(dgram), &adv),
	    KEYRING_ERR_SEAL);
	/* a link id no site may have (PROTO_MAX_LINKS and past): refused,
	 * and no counter moved for it */
	ck_assert_int_eq(
	    keyring_seal(s, WIRE_DATA, KEYRING_LINK_IDS, 1,
		(const uint8_t *)"x", 1, dgram, sizeof(dgram), &adv),
	    KEYRING_ERR_SEAL);
	ck_assert_int_eq(
	    keyring_seal(s, WIRE_DATA, 255, 1, (const uint8_t *)"x", 1, dgram,
		sizeof(dgram), &adv),
	    KEYRING_ERR_SEAL);
	ck_assert_int_gt(
	    keyring_seal(s, WIRE_DATA, KEYRING_LINK_IDS - 1, 1,
		(const uint8_t *)"x", 1, dgram, sizeof(dgram), &adv),
	    0);
	keyring_free(s);
	keyring_free(r);
}
END_TEST

START_TEST(refusals)
{
	static uint8_t  big[WIRE_MAX_INNER + 1];
	uint8_t         key0[AEAD_KEY_LEN];
	uint8_t         dgram[64];
	struct wire_hdr h;
	struct keyring *s;
	int             adv;

	memset(key0, 0, sizeof(key0));
	derive_ok = 1;
	ck_assert_ptr_null(keyring_new(key0, 0, fake_derive, NULL, 0, 1));
	ck_assert_ptr_null(keyring_new(key0, 0, fake_derive, NULL, 10, 9));
	ck_assert_ptr_null(keyring_new(
	    key0, 0, fake_derive, NULL, 10, KEYRING_HARD_LIMIT + 1));
	s = ring(10, 10);
	ck_assert_int_eq(keyring_seal(s, WIRE_DATA, 0, 1, big, sizeof(big),
			     dgram, sizeof(dgram), &adv),
	    KEYRING_ERR_SEAL);
	ck_assert_int_eq(keyring_seal(s, WIRE_DATA, 0, 1, big, 49, dgram,
			     sizeof(dgram), &adv),
	    KEYRING_ERR_SEAL);
	ck_assert_int_gt(seal(s, 0, dgram, sizeof(dgram), &h, &adv), 0);
	ck_assert_uint_eq(h.counter, 0);
	/* no next key: advancing refuses and changes nothing */
	ck_assert_int_eq(keyring_advance(s), 0);
	ck_assert(keyring_wants(s));
	ck_assert_int_eq(keyring_advance(s), -1);
	ck_assert_uint_eq(keyring_epoch(s), 1);
	derive_ok = 0;
	ck_assert_int_eq(keyring_refill(s), -1);
	derive_ok = 1;
	ck_assert_int_eq(keyring_refill(s), 0);
	ck_assert(!keyring_wants(s));
	ck_assert_int_eq(keyring_refill(s), 0); /* nothing to do */
	keyring_free(s);
	keyring_free(NULL);
}
END_TEST

static Suite *
keyring_suite(void)
{
	Suite *s = suite_create("keyring");
	TCase *tc = tcase_create("epochs");
	TCase *tn = tcase_create("nonces");

	tcase_add_test(tc, epochs_advance_after_limit);
	tcase_add_test(tc, stale_epoch_refused);
	tcase_add_test(tc, no_session_keeps_going);
	tcase_add_test(tc, seal_never_derives);
	suite_add_tcase(s, tc);
	tcase_add_test(tn, nonces_unique_over_links_and_epochs);
	tcase_add_test(tn, reused_link_id_keeps_counting);
	tcase_add_test(tn, hard_limit_refuses);
	tcase_add_test(tn, hard_limit_not_met_with_keys);
	tcase_add_test(tn, refusals);
	tcase_add_test(tn, one_direction_each);
	suite_add_tcase(s, tn);
	return s;
}

int
main(void)
{
	return check_run(keyring_suite());
}
