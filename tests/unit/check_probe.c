#include "autoconf.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"
#include "proto.h"
#include "check_rng.h"
#include "check_run.h"

/*
 * Decodes from a heap block of exactly len bytes, so that ASan reports a
 * read past what the decoder was given; an empty payload is passed as
 * NULL, so that reading it at all faults.
 */
static int
decode_exact(const uint8_t *p, size_t len, struct probe *out)
{
	uint8_t *q;
	int      rc;

	q = malloc(len == 0 ? 1 : len);
	ck_assert_ptr_nonnull(q);
	if (len > 0)
		memcpy(q, p, len);
	rc = probe_decode(len == 0 ? NULL : q, len, out);
	free(q);
	return rc;
}

static const struct probe known = {
    .seq = 0x01020304, .sent_us = 0x05060708090a0b0cULL};
static const uint8_t known_bytes[PROBE_LEN] = {
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c};
/* Marks a struct probe the decoder must have left alone (compared field
 * by field: the struct has padding). */
static const struct probe untouched = {
    .seq = 0xdeadbeef, .sent_us = 0xfeedfacecafef00dULL};

static void
assert_untouched(const struct probe *p)
{
	ck_assert_uint_eq(p->seq, untouched.seq);
	ck_assert_uint_eq(p->sent_us, untouched.sent_us);
}

START_TEST(test_known_bytes)
{
	uint8_t      out[PROBE_LEN + 1];
	struct probe p;

	/* Big-endian seq then sent_us: what every deployed socketd sends. */
	ck_assert_int_eq(PROBE_LEN, 12);
	memset(out, 0xee, sizeof(out));
	ck_assert_int_eq(probe_encode(&known, out, sizeof(out)), PROBE_LEN);
	ck_assert_mem_eq(out, known_bytes, PROBE_LEN);
	ck_assert_uint_eq(out[PROBE_LEN], 0xee);
	ck_assert_int_eq(decode_exact(known_bytes, PROBE_LEN, &p), 0);
	ck_assert_uint_eq(p.seq, known.seq);
	ck_assert_uint_eq(p.sent_us, known.sent_us);
}
END_TEST

START_TEST(test_encode_short_buffer)
{
	uint8_t out[PROBE_LEN];
	size_t  n;

	for (n = 0; n < PROBE_LEN; n++) {
		memset(out, 0xee, sizeof(out));
		ck_assert_int_eq(probe_encode(&known, out, n), -1);
		for (size_t i = 0; i < sizeof(out); i++)
			ck_assert_uint_eq(out[i], 0xee);
	}
}
END_TEST

START_TEST(test_truncated)
{
	struct probe p;
	size_t       n;

	for (n = 0; n < PROBE_LEN; n++) {
		p = untouched;
		ck_assert_int_eq(decode_exact(known_bytes, n, &p), -1);
		assert_untouched(&p);
	}
}
END_TEST

START_TEST(test_exact)
{
	static const uint8_t zero[PROBE_LEN],
	    ones[PROBE_LEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff};
	struct probe p;

	ck_assert_int_eq(decode_exact(zero, PROBE_LEN, &p), 0);
	ck_assert_uint_eq(p.seq, 0);
	ck_assert_uint_eq(p.sent_us, 0);
	ck_assert_int_eq(decode_exact(ones, PROBE_LEN, &p), 0);
	ck_assert_uint_eq(p.seq, UINT32_MAX);
	ck_assert_uint_eq(p.sent_us, UINT64_MAX);
}
END_TEST

START_TEST(test_oversized)
{
	static uint8_t big[WIRE_MAX_INNER];
	struct probe   p;
	size_t         n;

	/* A probe with trailing bytes is refused, not read as its first 12:
	 * the PoP must not echo what the Socket never sent. */
	memcpy(big, known_bytes, PROBE_LEN);
	for (n = PROBE_LEN + 1; n <= 2 * PROBE_LEN; n++) {
		p = untouched;
		ck_assert_int_eq(decode_exact(big, n, &p), -1);
		assert_untouched(&p);
	}
	ck_assert_int_eq(decode_exact(big, sizeof(big), &p), -1);
	ck_assert_int_eq(probe_decode(big, SIZE_MAX, &p), -1);
}
END_TEST

START_TEST(test_garbage)
{
	uint8_t      buf[64], out[PROBE_LEN];
	struct probe p;
	uint64_t     seed = 0x70726f6265ULL;
	size_t       len, i;
	int          round;

	for (round = 0; round < 5000; round++) {
		len = rng_next(&seed) % sizeof(buf);
		for (i = 0; i < len; i++)
			buf[i] = (uint8_t)rng_next(&seed);
		p = untouched;
		if (len != PROBE_LEN) {
			ck_assert_int_eq(decode_exact(buf, len, &p), -1);
			assert_untouched(&p);
			continue;
		}
		/* Any 12 bytes are a probe, and the PoP's re-encoded reply
		 * is byte for byte the request. */
		ck_assert_int_eq(decode_exact(buf, len, &p), 0);
		ck_assert_int_eq(probe_encode(&p, out, sizeof(out)), PROBE_LEN);
		ck_assert_mem_eq(out, buf, PROBE_LEN);
	}
}
END_TEST

START_TEST(test_round_trip)
{
	uint8_t      out[PROBE_LEN];
	struct probe in, p;
	uint64_t     seed = 12;
	int          round;

	for (round = 0; round < 1000; round++) {
		in.seq = (uint32_t)rng_next(&seed);
		in.sent_us = rng_next(&seed);
		ck_assert_int_eq(
		    probe_encode(&in, out, sizeof(out)), PROBE_LEN);
		ck_assert_int_eq(decode_exact(out, sizeof(out), &p), 0);
		ck_assert_uint_eq(p.seq, in.seq);
		ck_assert_uint_eq(p.sent_us, in.sent_us);
	}
}
END_TEST

static Suite *
probe_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("probe");
	tc = tcase_create("encode");
	tcase_add_test(tc, test_known_bytes);
	tcase_add_test(tc, test_encode_short_buffer);
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
	return check_run(probe_suite());
}
