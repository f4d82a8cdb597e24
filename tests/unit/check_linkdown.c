#include "autoconf.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linkdown.h"
#include "proto.h"
#include "wire.h"
#include "check_rng.h"
#include "check_run.h"

/*
 * Decodes from a heap block of exactly len bytes, so that ASan reports a
 * read past what the decoder was given; an empty payload is passed as
 * NULL, so that reading it at all faults.
 */
static int
decode_exact(const uint8_t *p, size_t len, struct linkdown *out)
{
	uint8_t *q;
	int      rc;

	q = malloc(len == 0 ? 1 : len);
	ck_assert_ptr_nonnull(q);
	if (len > 0)
		memcpy(q, p, len);
	rc = linkdown_decode(len == 0 ? NULL : q, len, out);
	free(q);
	return rc;
}

static const struct linkdown known = {
    .link = 7, .cause = LINKDOWN_PROBES, .seq = 0x01020304};
static const uint8_t known_bytes[LINKDOWN_LEN] = {
    0x07, 0x02, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04};
/* Marks a struct the decoder must have left alone (compared field by
 * field: the struct has padding). */
static const struct linkdown untouched = {
    .link = 0xee, .cause = 0xee, .seq = 0xdeadbeef};

static void
assert_untouched(const struct linkdown *ld)
{
	ck_assert_uint_eq(ld->link, untouched.link);
	ck_assert_uint_eq(ld->cause, untouched.cause);
	ck_assert_uint_eq(ld->seq, untouched.seq);
}

/* What the decoder must say of 8 bytes, stated apart from it. */
static int
valid(const uint8_t *b)
{
	return b[1] >= LINKDOWN_CARRIER && b[1] <= LINKDOWN_ADMIN &&
	    b[2] == 0 && b[3] == 0 && (b[4] | b[5] | b[6] | b[7]) != 0;
}

START_TEST(test_known_bytes)
{
	uint8_t         out[LINKDOWN_LEN + 1];
	struct linkdown ld;

	/* The dead link, why, two zero bytes, the number: big-endian. */
	ck_assert_int_eq(LINKDOWN_LEN, 8);
	ck_assert_int_eq(WIRE_LINK_DOWN, 4);
	memset(out, 0xee, sizeof(out));
	ck_assert_int_eq(
	    linkdown_encode(&known, out, sizeof(out)), LINKDOWN_LEN);
	ck_assert_mem_eq(out, known_bytes, LINKDOWN_LEN);
	ck_assert_uint_eq(out[LINKDOWN_LEN], 0xee);
	ck_assert_int_eq(decode_exact(known_bytes, LINKDOWN_LEN, &ld), 0);
	ck_assert_uint_eq(ld.link, 7);
	ck_assert_uint_eq(ld.cause, LINKDOWN_PROBES);
	ck_assert_uint_eq(ld.seq, 0x01020304);
	ck_assert_str_eq(linkdown_cause_str(ld.cause), "probes unanswered");
	ck_assert_str_eq(linkdown_cause_str(LINKDOWN_CARRIER), "carrier lost");
	ck_assert_str_eq(linkdown_cause_str(LINKDOWN_ADMIN), "admin down");
	ck_assert_str_eq(linkdown_cause_str(0), "unknown");
}
END_TEST

START_TEST(test_encode_refuses)
{
	uint8_t         out[LINKDOWN_LEN];
	struct linkdown ld;
	size_t          n, i;

	for (n = 0; n < LINKDOWN_LEN; n++) {
		memset(out, 0xee, sizeof(out));
		ck_assert_int_eq(linkdown_encode(&known, out, n), -1);
		for (i = 0; i < sizeof(out); i++)
			ck_assert_uint_eq(out[i], 0xee);
	}
	/* Nothing goes out that the PoP would refuse. */
	ld = known;
	ld.cause = 0;
	ck_assert_int_eq(linkdown_encode(&ld, out, sizeof(out)), -1);
	ld.cause = LINKDOWN_ADMIN + 1;
	ck_assert_int_eq(linkdown_encode(&ld, out, sizeof(out)), -1);
	ld = known;
	ld.seq = 0;
	ck_assert_int_eq(linkdown_encode(&ld, out, sizeof(out)), -1);
}
END_TEST

START_TEST(test_truncated)
{
	struct linkdown ld;
	size_t          n;

	for (n = 0; n < LINKDOWN_LEN; n++) {
		ld = untouched;
		ck_assert_int_eq(decode_exact(known_bytes, n, &ld), -1);
		assert_untouched(&ld);
	}
}
END_TEST

START_TEST(test_exact)
{
	static const uint8_t top[LINKDOWN_LEN] = {
	    0xff, LINKDOWN_ADMIN, 0, 0, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t one[LINKDOWN_LEN] = {
	    0, LINKDOWN_CARRIER, 0, 0, 0, 0, 0, 1};
	uint8_t         b[LINKDOWN_LEN];
	struct linkdown ld;

	ck_assert_int_eq(decode_exact(top, LINKDOWN_LEN, &ld), 0);
	ck_assert_uint_eq(ld.link, 0xff);
	ck_assert_uint_eq(ld.cause, LINKDOWN_ADMIN);
	ck_assert_uint_eq(ld.seq, UINT32_MAX);
	ck_assert_int_eq(decode_exact(one, LINKDOWN_LEN, &ld), 0);
	ck_assert_uint_eq(ld.link, 0);
	ck_assert_uint_eq(ld.seq, 1);
	/* Each field out of its range, alone. */
	memcpy(b, known_bytes, sizeof(b));
	b[1] = 0;
	ld = untouched;
	ck_assert_int_eq(decode_exact(b, sizeof(b), &ld), -1);
	assert_untouched(&ld);
	b[1] = LINKDOWN_ADMIN + 1;
	ck_assert_int_eq(decode_exact(b, sizeof(b), &ld), -1);
	memcpy(b, known_bytes, sizeof(b));
	b[2] = 1;
	ck_assert_int_eq(decode_exact(b, sizeof(b), &ld), -1);
	memcpy(b, known_bytes, sizeof(b));
	b[3] = 0x80;
	ck_assert_int_eq(decode_exact(b, sizeof(b), &ld), -1);
	memcpy(b, known_bytes, sizeof(b));
	memset(b + 4, 0, 4);
	ck_assert_int_eq(decode_exact(b, sizeof(b), &ld), -1);
	assert_untouched(&ld);
}
END_TEST

START_TEST(test_oversized)
{
	static uint8_t  big[WIRE_MAX_INNER];
	struct linkdown ld;
	size_t          n;

	/* A notice with trailing bytes is refused, not read as its first
	 * 8: bytes nobody reads are not part of what was authenticated as
	 * a notice. */
	memcpy(big, known_bytes, LINKDOWN_LEN);
	for (n = LINKDOWN_LEN + 1; n <= 2 * LINKDOWN_LEN; n++) {
		ld = untouched;
		ck_assert_int_eq(decode_exact(big, n, &ld), -1);
		assert_untouched(&ld);
	}
	ck_assert_int_eq(decode_exact(big, sizeof(big), &ld), -1);
	ck_assert_int_eq(linkdown_decode(big, SIZE_MAX, &ld), -1);
}
END_TEST

START_TEST(test_garbage)
{
	uint8_t         buf[32], out[LINKDOWN_LEN];
	struct linkdown ld;
	uint64_t        seed = 0x6c696e6b646f776eULL;
	size_t          len, i;
	int             round, ok = 0;

	for (round = 0; round < 20000; round++) {
		len = rng_next(&seed) % sizeof(buf);
		/* Often the right length, with a plausible start, so that
		 * every rule is tried, not only the length. */
		if (round % 2 == 0)
			len = LINKDOWN_LEN;
		for (i = 0; i < len; i++)
			buf[i] = (uint8_t)rng_next(&seed);
		if (len == LINKDOWN_LEN && round % 4 == 0) {
			buf[1] = (uint8_t)(buf[1] % 5);
			buf[2] = buf[3] = 0;
		}
		ld = untouched;
		if (len != LINKDOWN_LEN || !valid(buf)) {
			ck_assert_int_eq(decode_exact(buf, len, &ld), -1);
			assert_untouched(&ld);
			continue;
		}
		ok++;
		ck_assert_int_eq(decode_exact(buf, len, &ld), 0);
		ck_assert_int_eq(
		    linkdown_encode(&ld, out, sizeof(out)), LINKDOWN_LEN);
		ck_assert_mem_eq(out, buf, LINKDOWN_LEN);
	}
	/* The valid case was reached, not only refusals. */
	ck_assert_int_gt(ok, 1000);
}
END_TEST

START_TEST(test_round_trip)
{
	uint8_t         out[LINKDOWN_LEN];
	struct linkdown in, ld;
	uint64_t        seed = 4;
	int             round;

	for (round = 0; round < 1000; round++) {
		in.link = (uint8_t)rng_next(&seed);
		in.cause = (uint8_t)(1 + rng_next(&seed) % 3);
		in.seq = (uint32_t)rng_next(&seed) | 1;
		ck_assert_int_eq(
		    linkdown_encode(&in, out, sizeof(out)), LINKDOWN_LEN);
		ck_assert_int_eq(decode_exact(out, sizeof(out), &ld), 0);
		ck_assert_uint_eq(ld.link, in.link);
		ck_assert_uint_eq(ld.cause, in.cause);
		ck_assert_uint_eq(ld.seq, in.seq);
	}
}
END_TEST

static Suite *
linkdown_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("linkdown");
	tc = tcase_create("encode");
	tcase_add_test(tc, test_known_bytes);
	tcase_add_test(tc, test_encode_refuses);
	tcase_add_test(tc, test_round_trip);
	suite_add_tcase(s, tc);

	tc = tcase_create("decode");
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_exact);
	tcase_add_test(tc, test_oversized);
	tcase_add_test(tc, test_garbage);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(linkdown_suite());
}
