/*
 * The key epochs of one direction: the sender moves on after `limit`
 * packets and says so in the phase bit; the receiver opens the new epoch's
 * first packet at once with the key it derived ahead, then derives the
 * next; without the TLS session nothing breaks, the current key goes on.
 * Keys come from a fake derive function: epoch e's key is e in every byte.
 */
#include "autoconf.h"

#include <check.h>
#include <string.h>

#include "check_run.h"
#include "keyring.h"

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

/* Seals a marker with k's key of the moment; opens it with r. */
static int
roundtrip(struct keyring *s, struct keyring *r, int *advanced, int *is_next)
{
	static const uint8_t nonce[AEAD_NONCE_LEN];
	uint8_t              msg[16] = "epoch marker ..", ct[32], pt[16];
	struct aead         *a;
	int                  phase;

	a = keyring_seal(s, &phase, advanced);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(
	    aead_seal(a, nonce, NULL, 0, msg, sizeof(msg), ct), 32);
	if ((a = keyring_open(r, phase, is_next)) == NULL)
		return -1;
	if (aead_open(a, nonce, NULL, 0, ct, sizeof(ct), pt) != 16)
		return -1;
	if (*is_next)
		(void)keyring_advance(r);
	return memcmp(pt, msg, sizeof(msg)) == 0 ? 0 : -1;
}

START_TEST(epochs_advance_after_limit)
{
	uint8_t        key0[AEAD_KEY_LEN];
	struct keyring s, r;
	int            i, adv, next;

	derive_ok = 1;
	memset(key0, 0, sizeof(key0));
	ck_assert_int_eq(keyring_init(&s, key0, fake_derive, NULL, 10), 0);
	ck_assert_int_eq(keyring_init(&r, key0, fake_derive, NULL, 10), 0);
	/* 10 packets in epoch 0, the 11th is the first of epoch 1 */
	for (i = 0; i < 10; i++) {
		ck_assert_int_eq(roundtrip(&s, &r, &adv, &next), 0);
		ck_assert(!adv && !next);
	}
	ck_assert_int_eq(roundtrip(&s, &r, &adv, &next), 0);
	ck_assert(adv && next);
	ck_assert_uint_eq(s.epoch, 1);
	ck_assert_uint_eq(r.epoch, 1);
	/* and on through several epochs, phase flipping each time */
	for (i = 0; i < 45; i++)
		ck_assert_int_eq(roundtrip(&s, &r, &adv, &next), 0);
	ck_assert_uint_eq(s.epoch, 5);
	ck_assert_uint_eq(r.epoch, 5);
	keyring_free(&s);
	keyring_free(&r);
}
END_TEST

/* A packet of the old epoch after the receiver moved on is not opened
 * with the wrong key by mistake: it fails, and nothing advances. */
START_TEST(stale_epoch_refused)
{
	static const uint8_t nonce[AEAD_NONCE_LEN];
	uint8_t              key0[AEAD_KEY_LEN], msg[8] = "old", ct[24], pt[8];
	struct keyring       s, r;
	struct aead         *a;
	int                  phase, adv, next, i;

	derive_ok = 1;
	memset(key0, 0, sizeof(key0));
	keyring_init(&s, key0, fake_derive, NULL, 3);
	keyring_init(&r, key0, fake_derive, NULL, 3);
	a = keyring_seal(&s, &phase, &adv); /* epoch 0 */
	aead_seal(a, nonce, NULL, 0, msg, sizeof(msg), ct);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(roundtrip(&s, &r, &adv, &next), 0);
	ck_assert_uint_eq(r.epoch, 1);
	/* the epoch-0 packet arrives late: its phase is epoch 2's */
	a = keyring_open(&r, phase, &next);
	ck_assert(next);
	ck_assert_int_eq(aead_open(a, nonce, NULL, 0, ct, sizeof(ct), pt), -1);
	ck_assert_uint_eq(r.epoch, 1);
	keyring_free(&s);
	keyring_free(&r);
}
END_TEST

/* No TLS session: the sender keeps its key (traffic goes on) and tries
 * deriving again only every KEYRING_RETRY packets; back, it moves on. */
START_TEST(no_session_keeps_going)
{
	uint8_t        key0[AEAD_KEY_LEN];
	struct keyring s;
	int            phase, adv, i;

	derive_ok = 1;
	memset(key0, 0, sizeof(key0));
	keyring_init(&s, key0, fake_derive, NULL, 5);
	aead_free(s.next); /* as if the channel was down at init */
	s.next = NULL;
	derive_ok = 0;
	derives = 0;
	for (i = 0; i < 1000; i++)
		ck_assert_ptr_nonnull(keyring_seal(&s, &phase, &adv));
	ck_assert_uint_eq(s.epoch, 0);
	ck_assert_int_eq(phase, 0);
	ck_assert_int_eq(derives, 1);
	/* The first try was at packet 6 (5 sealed); the next comes
	 * KEYRING_RETRY packets later, and succeeds. */
	derive_ok = 1;
	while (s.epoch == 0 && i < 2 * KEYRING_RETRY) {
		(void)keyring_seal(&s, &phase, &adv);
		i++;
	}
	ck_assert_int_eq(i, 5 + KEYRING_RETRY + 1);
	ck_assert_int_eq(adv, 1);
	ck_assert_int_eq(phase, 1);
	ck_assert_int_eq(derives, 2 + 1); /* the failure, epoch 1, epoch 2 */
	keyring_free(&s);
}
END_TEST

static Suite *
keyring_suite(void)
{
	Suite *s = suite_create("keyring");
	TCase *tc = tcase_create("epochs");

	tcase_add_test(tc, epochs_advance_after_limit);
	tcase_add_test(tc, stale_epoch_refused);
	tcase_add_test(tc, no_session_keeps_going);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(keyring_suite());
}
