#include "autoconf.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "wire.h"
#include "check_rng.h"
#include "check_run.h"

/*
 * Copies len bytes into a heap block of exactly len bytes, so that ASan
 * reports any read past the end of what the decoder was given; an empty
 * buffer is passed as NULL, so that reading it at all faults.
 */
static uint8_t *
exact_copy(const uint8_t *p, size_t len)
{
	uint8_t *q;

	q = malloc(len == 0 ? 1 : len);
	ck_assert_ptr_nonnull(q);
	if (len > 0)
		memcpy(q, p, len);
	return q;
}

static int
decode_exact(const uint8_t *p, size_t len, struct wire_hdr *h)
{
	uint8_t *q;
	int      rc;

	q = exact_copy(p, len);
	rc = wire_hdr_decode(len == 0 ? NULL : q, len, h);
	free(q);
	return rc;
}

static const struct wire_hdr known = {.version = PROTOCOL_VERSION,
    .type = WIRE_DATA,
    .link_id = 0x02,
    .worker = 0x03,
    .flags = 0x04,
    .session = 0x05060708,
    .counter = 0x090a0b0c0d0e0f10ULL};

static const uint8_t known_bytes[WIRE_HDR_LEN] = {0x21, 0x02, 0x03, 0x04, 0x05,
    0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10};

static void
assert_hdr_eq(const struct wire_hdr *a, const struct wire_hdr *b)
{
	ck_assert_uint_eq(a->version, b->version);
	ck_assert_uint_eq(a->type, b->type);
	ck_assert_uint_eq(a->link_id, b->link_id);
	ck_assert_uint_eq(a->worker, b->worker);
	ck_assert_uint_eq(a->flags, b->flags);
	ck_assert_uint_eq(a->session, b->session);
	ck_assert_uint_eq(a->counter, b->counter);
}

START_TEST(test_constants)
{
	/* 2: the worker byte (wire.h). */
	ck_assert_int_eq(PROTOCOL_VERSION, 2);
	ck_assert_int_eq(PROTO_MAX_WORKERS, 64);
	ck_assert_int_eq(WIRE_HDR_LEN, 16);
	ck_assert_int_eq(WIRE_TAG_LEN, 16);
	ck_assert_int_eq(WIRE_OVERHEAD, 32);
	/* DESIGN.md: 60 bytes per packet with outer IPv4 and UDP. */
	ck_assert_int_eq(WIRE_LINK_OVERHEAD4, 60);
	ck_assert_int_eq(WIRE_LINK_OVERHEAD6, 80);
	ck_assert_int_eq(WIRE_MAX_INNER + WIRE_OVERHEAD, WIRE_MAX_DGRAM);
}
END_TEST

START_TEST(test_known_bytes)
{
	uint8_t out[WIRE_HDR_LEN + 4];

	memset(out, 0xee, sizeof(out));
	ck_assert_int_eq(
	    wire_hdr_encode(&known, out, sizeof(out)), WIRE_HDR_LEN);
	ck_assert_mem_eq(out, known_bytes, WIRE_HDR_LEN);
	/* Exactly the header: nothing after it is touched. */
	ck_assert_uint_eq(out[WIRE_HDR_LEN], 0xee);
}
END_TEST

START_TEST(test_round_trip)
{
	static const uint8_t types[] = {
	    WIRE_DATA, WIRE_PROBE, WIRE_PROBE_REPLY, WIRE_LINK_DOWN, WIRE_DUP};
	static const uint64_t counters[] = {
	    0, 1, 0xffffffffULL, 0x100000000ULL, UINT64_MAX};
	enum { NC = sizeof(counters) / sizeof(counters[0]) };
	uint8_t         pkt[WIRE_HDR_LEN + 100 + WIRE_TAG_LEN];
	struct wire_hdr h, d;
	size_t          i;

	memset(pkt, 0xa5, sizeof(pkt));
	for (i = 0; i < 3 * NC * 4; i++) {
		memset(&h, 0, sizeof(h));
		h.version = PROTOCOL_VERSION;
		h.type = types[i % 3];
		h.counter = counters[i / 3 % NC];
		/* Links 0, 85, 170 and 255. */
		h.link_id = (uint8_t)(i / (3 * NC) * 85);
		h.worker = (uint8_t)(i * 7);
		h.flags = (uint8_t)(0xff - h.link_id);
		h.session = 0xdeadbeef ^ (uint32_t)i;
		ck_assert_int_eq(
		    wire_hdr_encode(&h, pkt, sizeof(pkt)), WIRE_HDR_LEN);
		memset(&d, 0, sizeof(d));
		ck_assert_int_eq(decode_exact(pkt, sizeof(pkt), &d), WIRE_OK);
		assert_hdr_eq(&d, &h);
	}
}
END_TEST

START_TEST(test_encode_refuses)
{
	uint8_t         out[WIRE_HDR_LEN];
	struct wire_hdr h = known;
	size_t          n;

	memset(out, 0xee, sizeof(out));
	for (n = 0; n < WIRE_HDR_LEN; n++)
		ck_assert_int_eq(wire_hdr_encode(&known, out, n), -1);
	h.version = 16;
	ck_assert_int_eq(wire_hdr_encode(&h, out, sizeof(out)), -1);
	h = known;
	h.type = 16;
	ck_assert_int_eq(wire_hdr_encode(&h, out, sizeof(out)), -1);
	/* A refused encode writes nothing. */
	for (n = 0; n < sizeof(out); n++)
		ck_assert_uint_eq(out[n], 0xee);
}
END_TEST

START_TEST(test_truncated)
{
	uint8_t         pkt[WIRE_HDR_LEN + WIRE_TAG_LEN];
	struct wire_hdr h, before;
	size_t          len;

	memset(pkt, 0, sizeof(pkt));
	ck_assert_int_eq(
	    wire_hdr_encode(&known, pkt, sizeof(pkt)), WIRE_HDR_LEN);
	memset(&before, 0x5a, sizeof(before));
	for (len = 0; len < WIRE_HDR_LEN + WIRE_TAG_LEN; len++) {
		h = before;
		ck_assert_int_eq(
		    decode_exact(pkt, len, &h), WIRE_ERR_TRUNCATED);
		ck_assert_mem_eq(&h, &before, sizeof(h));
	}
	ck_assert_str_eq(wire_err_str(WIRE_ERR_TRUNCATED), "truncated");
}
END_TEST

START_TEST(test_exact)
{
	uint8_t         pkt[WIRE_MIN_DGRAM];
	struct wire_hdr h;

	memset(pkt, 0xff, sizeof(pkt));
	memcpy(pkt, known_bytes, sizeof(known_bytes));
	ck_assert_int_eq(decode_exact(pkt, sizeof(pkt), &h), WIRE_OK);
	assert_hdr_eq(&h, &known);
}
END_TEST

START_TEST(test_oversized)
{
	static const size_t lens[] = {
	    WIRE_MIN_DGRAM + 1, 1500, WIRE_MAX_DGRAM, 70000};
	struct wire_hdr h;
	uint8_t        *pkt;
	size_t          i;

	/* The header carries no length: a long payload is the AEAD's job. */
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		pkt = malloc(lens[i]);
		ck_assert_ptr_nonnull(pkt);
		memset(pkt, 0x77, lens[i]);
		memcpy(pkt, known_bytes, sizeof(known_bytes));
		memset(&h, 0, sizeof(h));
		ck_assert_int_eq(wire_hdr_decode(pkt, lens[i], &h), WIRE_OK);
		assert_hdr_eq(&h, &known);
		free(pkt);
	}
}
END_TEST

START_TEST(test_bad_version)
{
	static const uint8_t versions[] = {0, 1, 3, 15};
	uint8_t              pkt[WIRE_MIN_DGRAM];
	struct wire_hdr      h, before;
	size_t               i;

	memset(pkt, 0, sizeof(pkt));
	memset(&before, 0x5a, sizeof(before));
	for (i = 0; i < sizeof(versions); i++) {
		h = known;
		h.version = versions[i];
		ck_assert_int_eq(
		    wire_hdr_encode(&h, pkt, sizeof(pkt)), WIRE_HDR_LEN);
		h = before;
		ck_assert_int_eq(
		    decode_exact(pkt, sizeof(pkt), &h), WIRE_ERR_VERSION);
		ck_assert_mem_eq(&h, &before, sizeof(h));
		/* A future version may renumber types: version wins. */
		pkt[0] = (uint8_t)(versions[i] << 4 | 0x0f);
		ck_assert_int_eq(
		    decode_exact(pkt, sizeof(pkt), &h), WIRE_ERR_VERSION);
	}
	ck_assert_str_eq(wire_err_str(WIRE_ERR_VERSION), "bad-version");
}
END_TEST

START_TEST(test_unknown_type)
{
	uint8_t         pkt[WIRE_MIN_DGRAM];
	struct wire_hdr h, before;
	unsigned        t;

	memset(pkt, 0, sizeof(pkt));
	memset(&before, 0x5a, sizeof(before));
	for (t = 0; t < 16; t++) {
		h = known;
		h.type = (uint8_t)t;
		ck_assert_int_eq(
		    wire_hdr_encode(&h, pkt, sizeof(pkt)), WIRE_HDR_LEN);
		h = before;
		if (t >= WIRE_DATA && t <= WIRE_DUP) {
			ck_assert_int_eq(
			    decode_exact(pkt, sizeof(pkt), &h), WIRE_OK);
			ck_assert_uint_eq(h.type, t);
		} else {
			ck_assert_int_eq(
			    decode_exact(pkt, sizeof(pkt), &h), WIRE_ERR_TYPE);
			ck_assert_mem_eq(&h, &before, sizeof(h));
		}
	}
	ck_assert_str_eq(wire_err_str(WIRE_ERR_TYPE), "unknown-type");
}
END_TEST

/*
 * Random bytes of random length, checked against an independent statement
 * of the rules: what the decoder must answer for each buffer, not merely
 * that it answers something.
 */
START_TEST(test_garbage)
{
	uint8_t         buf[WIRE_MIN_DGRAM + 16], re[WIRE_HDR_LEN];
	uint64_t        seed = 0x77616e70616972ULL, r;
	struct wire_hdr h;
	size_t          len, i;
	int             rc, want, n, ok = 0;

	for (n = 0; n < 100000; n++) {
		r = rng_next(&seed);
		len = r % (sizeof(buf) + 1);
		for (i = 0; i < len; i++)
			buf[i] = (uint8_t)rng_next(&seed);
		/* Make every outcome common, not only a bad version. */
		if (len > 0 && (r >> 32) % 2 == 0)
			buf[0] = PROTOCOL_VERSION << 4 | (buf[0] & 3);
		if (len < WIRE_MIN_DGRAM)
			want = WIRE_ERR_TRUNCATED;
		else if (buf[0] >> 4 != PROTOCOL_VERSION)
			want = WIRE_ERR_VERSION;
		else if ((buf[0] & 0x0f) < WIRE_DATA ||
		    (buf[0] & 0x0f) > WIRE_DUP)
			want = WIRE_ERR_TYPE;
		else
			want = WIRE_OK;
		rc = decode_exact(buf, len, &h);
		ck_assert_msg(rc == want,
		    "buffer %d (len %zu): got %d (%s), "
		    "want %d (%s)",
		    n, len, rc, wire_err_str(rc), want, wire_err_str(want));
		if (rc != WIRE_OK)
			continue;
		ok++;
		ck_assert_int_eq(
		    wire_hdr_encode(&h, re, sizeof(re)), WIRE_HDR_LEN);
		ck_assert_mem_eq(re, buf, WIRE_HDR_LEN);
	}
	/* Otherwise the round trip above proved nothing. */
	ck_assert_int_gt(ok, 1000);
}
END_TEST

START_TEST(test_err_str)
{
	static const int errs[] = {
	    WIRE_OK, WIRE_ERR_TRUNCATED, WIRE_ERR_VERSION, WIRE_ERR_TYPE};
	size_t i, j;

	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		ck_assert_ptr_nonnull(wire_err_str(errs[i]));
		for (j = 0; j < i; j++)
			ck_assert_str_ne(
			    wire_err_str(errs[i]), wire_err_str(errs[j]));
	}
	ck_assert_ptr_nonnull(wire_err_str(-100));
	ck_assert_ptr_nonnull(wire_err_str(42));
}
END_TEST

START_TEST(test_nonce_layout)
{
	static const uint8_t want[WIRE_NONCE_LEN] = {0x00, 0x00, 0x00, 0xab,
	    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
	uint8_t              nonce[WIRE_NONCE_LEN];
	size_t               i;

	wire_nonce(0xab, 0x0102030405060708ULL, nonce);
	ck_assert_mem_eq(nonce, want, sizeof(want));
	wire_nonce(0xff, UINT64_MAX, nonce);
	ck_assert_uint_eq(nonce[0] | nonce[1] | nonce[2], 0);
	ck_assert_uint_eq(nonce[3], 0xff);
	for (i = 4; i < WIRE_NONCE_LEN; i++)
		ck_assert_uint_eq(nonce[i], 0xff);
}
END_TEST

static int
nonce_cmp(const void *a, const void *b)
{
	return memcmp(a, b, WIRE_NONCE_LEN);
}

/*
 * Every link counts from 0 under the same key, so equal counters on
 * different links are the normal case: their nonces must still differ.
 */
START_TEST(test_nonce_unique)
{
	static const uint64_t counters[] = {0, 1, 2, 255, 256, 0xffffffffULL,
	    0x100000000ULL, 0x00ffffffffffffffULL, 0x0100000000000000ULL,
	    UINT64_MAX};
	enum { NC = sizeof(counters) / sizeof(counters[0]) };
	uint8_t(*all)[WIRE_NONCE_LEN];
	size_t   i, n = 0;
	unsigned l;

	all = calloc(256 * NC, WIRE_NONCE_LEN);
	ck_assert_ptr_nonnull(all);
	for (l = 0; l < 256; l++)
		for (i = 0; i < NC; i++)
			wire_nonce((uint8_t)l, counters[i], all[n++]);
	qsort(all, n, WIRE_NONCE_LEN, nonce_cmp);
	for (i = 1; i < n; i++)
		ck_assert_msg(memcmp(all[i - 1], all[i], WIRE_NONCE_LEN) != 0,
		    "two (link, counter) pairs share a nonce");
	free(all);
}
END_TEST

static Suite *
proto_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("proto");

	tc = tcase_create("header");
	tcase_add_test(tc, test_constants);
	tcase_add_test(tc, test_known_bytes);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_encode_refuses);
	tcase_add_test(tc, test_err_str);
	suite_add_tcase(s, tc);

	tc = tcase_create("decode");
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_exact);
	tcase_add_test(tc, test_oversized);
	tcase_add_test(tc, test_bad_version);
	tcase_add_test(tc, test_unknown_type);
	tcase_add_test(tc, test_garbage);
	suite_add_tcase(s, tc);

	tc = tcase_create("nonce");
	tcase_add_test(tc, test_nonce_layout);
	tcase_add_test(tc, test_nonce_unique);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return check_run(proto_suite());
}
