#include "autoconf.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dup.h"
#include "dupwire.h"
#include "proto.h"
#include "check_rng.h"
#include "check_run.h"

/*
 * Decodes from a heap block of exactly len bytes, so that ASan reports a
 * read past what the decoder was given.
 */
static int
decode_exact(const uint8_t *p, size_t len, struct dupwire_hdr *out)
{
	uint8_t *q;
	int      rc;

	q = malloc(len == 0 ? 1 : len);
	ck_assert_ptr_nonnull(q);
	if (len > 0)
		memcpy(q, p, len);
	rc = dupwire_decode(len == 0 ? NULL : q, len, out);
	free(q);
	return rc;
}

static const struct dupwire_hdr known = {
    .stream = 0x01020304, .seq = 0x05060708090a0b0cULL};
/* A header and a one-byte inner packet. */
static const uint8_t known_bytes[DUPWIRE_HDR_LEN + 1] = {0x01, 0x02, 0x03, 0x04,
    0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x45};
static const struct dupwire_hdr untouched = {
    .stream = 0xdeadbeef, .seq = 0xfeedfacecafef00dULL};

START_TEST(test_wire_known)
{
	uint8_t            out[DUPWIRE_HDR_LEN + 4];
	struct dupwire_hdr h;

	memset(out, 0xee, sizeof(out));
	ck_assert_int_eq(
	    dupwire_encode(&known, out, sizeof(out)), DUPWIRE_HDR_LEN);
	ck_assert_mem_eq(out, known_bytes, DUPWIRE_HDR_LEN);
	ck_assert_uint_eq(out[DUPWIRE_HDR_LEN], 0xee);
	ck_assert_int_eq(dupwire_encode(&known, out, DUPWIRE_HDR_LEN - 1), -1);
	ck_assert_int_eq(decode_exact(known_bytes, sizeof(known_bytes), &h),
	    DUPWIRE_HDR_LEN);
	ck_assert_uint_eq(h.stream, known.stream);
	ck_assert_uint_eq(h.seq, known.seq);
}
END_TEST

/* Every length up to a header with no inner packet is refused and
 * leaves the output alone. */
START_TEST(test_wire_truncated)
{
	struct dupwire_hdr h;
	size_t             len;

	for (len = 0; len <= DUPWIRE_HDR_LEN; len++) {
		h = untouched;
		ck_assert_int_eq(decode_exact(known_bytes, len, &h), -1);
		ck_assert_uint_eq(h.stream, untouched.stream);
		ck_assert_uint_eq(h.seq, untouched.seq);
	}
}
END_TEST

/* The largest inner packet a datagram carries decodes; one byte more
 * does not. */
START_TEST(test_wire_oversized)
{
	static uint8_t     big[DUPWIRE_MAX + 1];
	struct dupwire_hdr h;

	memcpy(big, known_bytes, sizeof(known_bytes));
	ck_assert_int_eq(decode_exact(big, DUPWIRE_MAX, &h), DUPWIRE_HDR_LEN);
	ck_assert_uint_eq(h.seq, known.seq);
	h = untouched;
	ck_assert_int_eq(decode_exact(big, DUPWIRE_MAX + 1, &h), -1);
	ck_assert_uint_eq(h.seq, untouched.seq);
}
END_TEST

/* Random bytes of random length: decodes exactly when the length is in
 * bounds, and then to the big-endian fields, which encode back. */
START_TEST(test_wire_garbage)
{
	uint8_t            buf[64], re[DUPWIRE_HDR_LEN];
	uint64_t           seed = 0x6475707769726531ULL, want_seq;
	struct dupwire_hdr h;
	size_t             len, i;
	int                n, rc, ok = 0;

	for (n = 0; n < 20000; n++) {
		len = rng_next(&seed) % (sizeof(buf) + 1);
		for (i = 0; i < len; i++)
			buf[i] = (uint8_t)rng_next(&seed);
		h = untouched;
		rc = decode_exact(buf, len, &h);
		if (len <= DUPWIRE_HDR_LEN) {
			ck_assert_int_eq(rc, -1);
			ck_assert_uint_eq(h.seq, untouched.seq);
			continue;
		}
		ck_assert_int_eq(rc, DUPWIRE_HDR_LEN);
		ck_assert_uint_eq(h.stream,
		    (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 |
			(uint32_t)buf[2] << 8 | buf[3]);
		for (want_seq = 0, i = 4; i < 12; i++)
			want_seq = want_seq << 8 | buf[i];
		ck_assert_uint_eq(h.seq, want_seq);
		ck_assert_int_eq(
		    dupwire_encode(&h, re, sizeof(re)), DUPWIRE_HDR_LEN);
		ck_assert_mem_eq(re, buf, DUPWIRE_HDR_LEN);
		ok++;
	}
	ck_assert_int_gt(ok, 1000);
}
END_TEST

/* The first copy of each number is delivered, the second discarded,
 * in whatever order the two links bring them. */
START_TEST(test_rx_first_copy)
{
	struct dup_counters c;
	struct dup_rx      *rx;
	uint64_t            seq, seed = 42;
	int                 delivered = 0;

	memset(&c, 0, sizeof(c));
	ck_assert_ptr_nonnull(rx = dup_rx_new(2));
	/* Link A in order, link B 0..99 numbers behind and shuffled by up
	 * to 7: each number arrives twice, once delivered. */
	for (seq = 0; seq < 5000; seq++) {
		ck_assert_int_eq(dup_rx_check(rx, 0, seq, &c), DUP_FIRST);
		delivered++;
		if (seq >= 100) {
			uint64_t b = seq - 100 + rng_next(&seed) % 8;

			(void)dup_rx_check(rx, 0, b, &c);
		}
	}
	ck_assert_uint_eq(c.delivered, 5000);
	ck_assert_uint_eq(c.discarded, 4900);
	/* Stream 1 is another sender worker's: its own numbers. */
	ck_assert_int_eq(dup_rx_check(rx, 1, 0, &c), DUP_FIRST);
	ck_assert_int_eq(dup_rx_check(rx, 1, 0, &c), DUP_SECOND);
	ck_assert_int_eq(dup_rx_check(rx, 2, 0, &c), DUP_BAD);
	ck_assert_uint_eq(c.bad, 1);
	/* A copy more than the window late is dropped: never delivered
	 * twice, even when its twin went long ago. */
	ck_assert_int_eq(
	    dup_rx_check(rx, 0, 4999 - REPLAY_WINDOW - 1, &c), DUP_SECOND);
	/* A new session: the numbers start over. */
	dup_rx_reset(rx);
	ck_assert_int_eq(dup_rx_check(rx, 0, 0, &c), DUP_FIRST);
	ck_assert_ptr_null(dup_rx_new(0));
	ck_assert_ptr_null(dup_rx_new(PROTO_MAX_WORKERS + 1));
	dup_rx_free(rx);
	(void)delivered;
}
END_TEST

/* The second link: lowest loss, then RTT, then index; never the
 * primary nor a link that is down. */
START_TEST(test_pick)
{
	uint64_t r[4];

	r[0] = dup_rank(0, 5000);
	r[1] = dup_rank(20000, 1000); /* 2% loss, fast */
	r[2] = dup_rank(0, 30000);    /* no loss, slow */
	r[3] = DUP_RANK_DOWN;
	ck_assert_int_eq(dup_pick(r, 4, 0), 2); /* loss before RTT */
	ck_assert_int_eq(dup_pick(r, 4, 2), 0);
	ck_assert_int_eq(dup_pick(r, 4, 3), 0);
	r[2] = r[0];
	ck_assert_int_eq(dup_pick(r, 4, 1), 0); /* a tie: lower index */
	r[0] = r[2] = DUP_RANK_DOWN;
	ck_assert_int_eq(dup_pick(r, 4, 1), -1); /* none but itself up */
	ck_assert_int_eq(dup_pick(r, 1, 0), -1);
	ck_assert_uint_ne(dup_rank(UINT32_MAX, UINT32_MAX), DUP_RANK_DOWN);
}
END_TEST

/* The cap: over 10 s at 1000 packets a second offered, a profile capped
 * at 100 sends about 100 a second twice, the burst on top; the others
 * go once and are counted; another profile has its own bucket. */
START_TEST(test_tx_cap)
{
	struct dup_counters c;
	struct dup_tx       tx;
	uint64_t            now;
	unsigned            twice = 0, other = 0;

	memset(&c, 0, sizeof(c));
	dup_tx_init(&tx);
	for (now = 1000; now < 11000; now++) {
		twice += (unsigned)dup_tx_admit(&tx, 0, 100, now, &c);
		other += (unsigned)dup_tx_admit(&tx, 1, 2000, now, &c);
	}
	ck_assert_uint_ge(twice, 1000);
	ck_assert_uint_le(twice, 1000 + 10 + 1);
	ck_assert_uint_eq(other, 10000);
	ck_assert_uint_eq(c.over_cap, 10000 - twice);
	ck_assert_int_eq(dup_tx_admit(&tx, DUP_MAX_PROFILES, 100, now, &c), 0);
	ck_assert_uint_eq(dup_tx_next(&tx), 0);
	ck_assert_uint_eq(dup_tx_next(&tx), 1);
}
END_TEST

static Suite *
dup_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("dup");
	tc = tcase_create("dupwire");
	tcase_add_test(tc, test_wire_known);
	tcase_add_test(tc, test_wire_truncated);
	tcase_add_test(tc, test_wire_oversized);
	tcase_add_test(tc, test_wire_garbage);
	suite_add_tcase(s, tc);

	tc = tcase_create("dup");
	tcase_add_test(tc, test_rx_first_copy);
	tcase_add_test(tc, test_pick);
	tcase_add_test(tc, test_tx_cap);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(dup_suite());
}
