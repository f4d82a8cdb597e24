#include "autoconf.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "tunnel.h"
#include "proto.h"
#include "wire.h"
#include "check_rng.h"
#include "check_run.h"
#include "replay_model.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/*
 * For loops of many thousand checks: ck_assert() reports every pass to
 * the parent process (a write per call).  This reports failures only.
 */
#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			ck_abort_msg(__VA_ARGS__);                             \
	} while (0)

static void
rng_fill(uint64_t *s, uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)rng_next(s);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes a lower-case hex string into a malloc'ed buffer (caller frees). */
static uint8_t *
unhex(const char *s, size_t *lenp)
{
	size_t   n = strlen(s), i;
	uint8_t *p;

	ck_assert_uint_eq(n % 2, 0);
	p = malloc(n / 2 + 1);
	ck_assert_ptr_nonnull(p);
	for (i = 0; i < n / 2; i++) {
		ck_assert_int_ge(hexval(s[2 * i]), 0);
		ck_assert_int_ge(hexval(s[2 * i + 1]), 0);
		p[i] = (uint8_t)(hexval(s[2 * i]) << 4 | hexval(s[2 * i + 1]));
	}
	*lenp = n / 2;
	return p;
}

/* Copies into a heap block of exactly len bytes, so ASan sees overreads. */
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

/*
 * AES-256-GCM known answers: Test Cases 13 to 16 of D. McGrew and J.
 * Viega, "The Galois/Counter Mode of Operation (GCM)", revised 2005,
 * Appendix B (the 256-bit key cases; also in the NIST CAVP gcmEncrypt
 * files).  If these pass, the EVP sequence (IV length, AAD, tag) is
 * right, not just self-consistent.
 */
static const struct {
	const char *key, *iv, *aad, *pt, *ct, *tag;
} gcm_vectors[] = {
    /* Test Case 13: empty everything. */
    {"0000000000000000000000000000000000000000000000000000000000000000",
	"000000000000000000000000", "", "", "",
	"530f8afbc74536b9a963b4f1c4cb738b"},
    /* Test Case 14: one zero block. */
    {"0000000000000000000000000000000000000000000000000000000000000000",
	"000000000000000000000000", "", "00000000000000000000000000000000",
	"cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    /* Test Case 15: four blocks, no AAD. */
    {"feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
	"cafebabefacedbaddecaf888", "",
	"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
	"522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	"8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
	"b094dac5d93471bdec1a502270e3cc6c"},
    /* Test Case 16: a partial last block and 20 bytes of AAD. */
    {"feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
	"cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
	"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
	"522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	"8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
	"76fc6ece0f4e1768cddf8853bb2d551b"},
};

START_TEST(test_gcm_vector)
{
	uint8_t     *key, *iv, *aad, *pt, *ct, *tag, *buf;
	size_t       keylen, ivlen, aadlen, ptlen, ctlen, taglen;
	struct aead *a;
	int          n;

	key = unhex(gcm_vectors[_i].key, &keylen);
	iv = unhex(gcm_vectors[_i].iv, &ivlen);
	aad = unhex(gcm_vectors[_i].aad, &aadlen);
	pt = unhex(gcm_vectors[_i].pt, &ptlen);
	ct = unhex(gcm_vectors[_i].ct, &ctlen);
	tag = unhex(gcm_vectors[_i].tag, &taglen);
	ck_assert_uint_eq(keylen, AEAD_KEY_LEN);
	ck_assert_uint_eq(ivlen, AEAD_NONCE_LEN);
	ck_assert_uint_eq(ptlen, ctlen);
	ck_assert_uint_eq(taglen, AEAD_TAG_LEN);

	ck_assert_ptr_nonnull(a = aead_new(key));
	buf = malloc(ptlen + AEAD_TAG_LEN);
	ck_assert_ptr_nonnull(buf);

	n = aead_seal(a, iv, aad, aadlen, pt, ptlen, buf);
	ck_assert_int_eq(n, (int)(ptlen + AEAD_TAG_LEN));
	ck_assert_mem_eq(buf, ct, ctlen);
	ck_assert_mem_eq(buf + ctlen, tag, AEAD_TAG_LEN);

	/* Open it in place: the published plaintext comes back. */
	n = aead_open(a, iv, aad, aadlen, buf, ptlen + AEAD_TAG_LEN, buf);
	ck_assert_int_eq(n, (int)ptlen);
	ck_assert_mem_eq(buf, pt, ptlen);

	/* A flipped tag bit must not open even the reference vector. */
	memcpy(buf, ct, ctlen);
	memcpy(buf + ctlen, tag, AEAD_TAG_LEN);
	buf[ctlen + AEAD_TAG_LEN - 1] ^= 0x80;
	ck_assert_int_eq(
	    aead_open(a, iv, aad, aadlen, buf, ptlen + AEAD_TAG_LEN, buf), -1);

	aead_free(a);
	free(buf);
	free(key);
	free(iv);
	free(aad);
	free(pt);
	free(ct);
	free(tag);
}
END_TEST

START_TEST(test_aead_short)
{
	uint8_t      key[AEAD_KEY_LEN] = {1}, nonce[AEAD_NONCE_LEN] = {2};
	uint8_t      buf[AEAD_TAG_LEN], out[AEAD_TAG_LEN];
	struct aead *a;
	size_t       len;

	ck_assert_ptr_nonnull(a = aead_new(key));
	memset(buf, 0, sizeof(buf));
	/* Shorter than a tag: nothing to check, refused without reading. */
	for (len = 0; len < AEAD_TAG_LEN; len++)
		ck_assert_int_eq(
		    aead_open(a, nonce, NULL, 0, buf, len, out), -1);
	/* A bare tag that does not match. */
	ck_assert_int_eq(
	    aead_open(a, nonce, NULL, 0, buf, AEAD_TAG_LEN, out), -1);
	/* A bare tag that does: an empty message authenticates. */
	ck_assert_int_eq(
	    aead_seal(a, nonce, NULL, 0, NULL, 0, buf), AEAD_TAG_LEN);
	ck_assert_int_eq(
	    aead_open(a, nonce, NULL, 0, buf, AEAD_TAG_LEN, out), 0);
	aead_free(a);
	aead_free(NULL);
}
END_TEST

/* Datagram helpers: one key for both directions of these tests. */
static const uint8_t test_key[AEAD_KEY_LEN] = {0x60, 0x3d, 0xeb, 0x10, 0x15,
    0xca, 0x71, 0xbe, 0x2b, 0x73, 0xae, 0xf0, 0x85, 0x7d, 0x77, 0x81, 0x1f,
    0x35, 0x2c, 0x07, 0x3b, 0x61, 0x08, 0xd7, 0x2d, 0x98, 0x10, 0xa3, 0x09,
    0x14, 0xdf, 0xf4};

static struct wire_hdr
data_hdr(uint8_t link, uint64_t counter)
{
	struct wire_hdr h = {.version = PROTOCOL_VERSION,
	    .type = WIRE_DATA,
	    .link_id = link,
	    .flags = 0,
	    .session = 0x0a0b0c0d,
	    .counter = counter};

	return h;
}

static const size_t roundtrip_sizes[] = {0, 1, 1420, 65000, WIRE_MAX_INNER};

START_TEST(test_roundtrip)
{
	size_t          len = roundtrip_sizes[_i];
	uint8_t        *inner, *dgram, *out;
	struct wire_hdr h = data_hdr(3, 0x1122334455667788ULL), d;
	struct aead    *a;
	uint64_t        seed = 42 + len;
	int             n;

	inner = malloc(len + 1);
	dgram = malloc(WIRE_OVERHEAD + len);
	out = malloc(len + 1);
	ck_assert(inner != NULL && dgram != NULL && out != NULL);
	rng_fill(&seed, inner, len);
	ck_assert_ptr_nonnull(a = aead_new(test_key));

	n = dgram_seal(a, &h, inner, len, dgram, WIRE_OVERHEAD + len);
	ck_assert_int_eq(n, (int)(WIRE_OVERHEAD + len));
	/* The header is in clear (it selects session and window)... */
	ck_assert_int_eq(wire_hdr_decode(dgram, (size_t)n, &d), WIRE_OK);
	ck_assert_uint_eq(d.link_id, 3);
	ck_assert_uint_eq(d.counter, 0x1122334455667788ULL);
	ck_assert_uint_eq(d.session, 0x0a0b0c0d);
	/* ...the payload is not. */
	if (len >= 16)
		ck_assert(memcmp(dgram + WIRE_HDR_LEN, inner, 16) != 0);

	/* outlen exactly the inner length is enough. */
	n = dgram_open(a, &d, dgram, (size_t)n, out, len);
	ck_assert_int_eq(n, (int)len);
	ck_assert(len == 0 || memcmp(out, inner, len) == 0);

	aead_free(a);
	free(inner);
	free(dgram);
	free(out);
}
END_TEST

/* A key made for one direction does that one and refuses the other:
 * what the sealing end's context seals, the opening end's opens. */
START_TEST(test_one_direction)
{
	struct wire_hdr h = data_hdr(1, 7), d;
	struct aead    *seal, *open;
	uint8_t         inner[64], dgram[WIRE_OVERHEAD + 64], out[64];
	int             n;

	memset(inner, 0x3c, sizeof(inner));
	ck_assert_ptr_null(aead_new_for(test_key, 0));
	ck_assert_ptr_nonnull(seal = aead_new_for(test_key, AEAD_SEAL));
	ck_assert_ptr_nonnull(open = aead_new_for(test_key, AEAD_OPEN));
	ck_assert_int_eq(
	    dgram_seal(open, &h, inner, sizeof(inner), dgram, sizeof(dgram)),
	    -1);
	n = dgram_seal(seal, &h, inner, sizeof(inner), dgram, sizeof(dgram));
	ck_assert_int_eq(n, (int)sizeof(dgram));
	ck_assert_int_eq(wire_hdr_decode(dgram, (size_t)n, &d), WIRE_OK);
	ck_assert_int_eq(
	    dgram_open(seal, &d, dgram, (size_t)n, out, sizeof(out)), -1);
	ck_assert_int_eq(
	    dgram_open(open, &d, dgram, (size_t)n, out, sizeof(out)),
	    (int)sizeof(inner));
	ck_assert_mem_eq(out, inner, sizeof(inner));
	aead_free(seal);
	aead_free(open);
}
END_TEST

/*
 * In place, as the data path does it: the inner packet is read into a
 * buffer WIRE_HDR_LEN bytes in, sealed where it lies, and opened back into
 * the same spot.
 */
START_TEST(test_in_place)
{
	uint8_t         buf[WIRE_OVERHEAD + 1420], ref[1420];
	struct wire_hdr h = data_hdr(1, 7), d;
	struct aead    *a;
	uint64_t        seed = 9;
	int             n;

	rng_fill(&seed, ref, sizeof(ref));
	memcpy(buf + WIRE_HDR_LEN, ref, sizeof(ref));
	ck_assert_ptr_nonnull(a = aead_new(test_key));
	n = dgram_seal(
	    a, &h, buf + WIRE_HDR_LEN, sizeof(ref), buf, sizeof(buf));
	ck_assert_int_eq(n, (int)sizeof(buf));
	ck_assert(memcmp(buf + WIRE_HDR_LEN, ref, sizeof(ref)) != 0);
	ck_assert_int_eq(wire_hdr_decode(buf, sizeof(buf), &d), WIRE_OK);
	n = dgram_open(a, &d, buf, sizeof(buf), buf + WIRE_HDR_LEN,
	    sizeof(buf) - WIRE_HDR_LEN);
	ck_assert_int_eq(n, (int)sizeof(ref));
	ck_assert_mem_eq(buf + WIRE_HDR_LEN, ref, sizeof(ref));
	aead_free(a);
}
END_TEST

#define FLIP_INNER 100

/*
 * Every single-bit change anywhere in the datagram, header included,
 * must make it fail to open.  A receiver decodes the (flipped) header to
 * find the nonce, so both that header and the original one are tried.
 */
START_TEST(test_bit_flips)
{
	uint8_t         inner[FLIP_INNER], dgram[WIRE_OVERHEAD + FLIP_INNER];
	uint8_t         bad[sizeof(dgram)], out[FLIP_INNER];
	struct wire_hdr h = data_hdr(2, 1000), d;
	struct aead    *a;
	uint64_t        seed = 77;
	size_t          bit;
	int             n;

	rng_fill(&seed, inner, sizeof(inner));
	ck_assert_ptr_nonnull(a = aead_new(test_key));
	n = dgram_seal(a, &h, inner, sizeof(inner), dgram, sizeof(dgram));
	ck_assert_int_eq(n, (int)sizeof(dgram));
	ck_assert_int_eq(
	    dgram_open(a, &h, dgram, sizeof(dgram), out, sizeof(out)),
	    FLIP_INNER);

	for (bit = 0; bit < sizeof(dgram) * 8; bit++) {
		memcpy(bad, dgram, sizeof(dgram));
		bad[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		CHECK(
		    dgram_open(a, &h, bad, sizeof(bad), out, sizeof(out)) == -1,
		    "bit %zu flipped still opens (original header)", bit);
		if (wire_hdr_decode(bad, sizeof(bad), &d) == WIRE_OK)
			CHECK(dgram_open(a, &d, bad, sizeof(bad), out,
				  sizeof(out)) == -1,
			    "bit %zu flipped still opens (decoded header)",
			    bit);
	}
	/* And the untouched datagram still opens afterwards. */
	ck_assert_int_eq(
	    dgram_open(a, &h, dgram, sizeof(dgram), out, sizeof(out)),
	    FLIP_INNER);
	ck_assert_mem_eq(out, inner, sizeof(inner));
	aead_free(a);
}
END_TEST

START_TEST(test_wrong_key)
{
	uint8_t         key2[AEAD_KEY_LEN], dgram[WIRE_OVERHEAD + 64], out[64];
	uint8_t         inner[64] = {0x45};
	struct wire_hdr h = data_hdr(0, 1);
	struct aead    *a, *b;

	memcpy(key2, test_key, sizeof(key2));
	key2[AEAD_KEY_LEN - 1] ^= 1;
	ck_assert_ptr_nonnull(a = aead_new(test_key));
	ck_assert_ptr_nonnull(b = aead_new(key2));
	ck_assert_int_eq(
	    dgram_seal(a, &h, inner, sizeof(inner), dgram, sizeof(dgram)),
	    (int)sizeof(dgram));
	ck_assert_int_eq(
	    dgram_open(b, &h, dgram, sizeof(dgram), out, sizeof(out)), -1);
	/* The failure left b usable: it opens what it sealed itself. */
	ck_assert_int_eq(
	    dgram_seal(b, &h, inner, sizeof(inner), dgram, sizeof(dgram)),
	    (int)sizeof(dgram));
	ck_assert_int_eq(
	    dgram_open(b, &h, dgram, sizeof(dgram), out, sizeof(out)), 64);
	ck_assert_int_eq(
	    dgram_open(a, &h, dgram, sizeof(dgram), out, sizeof(out)), -1);
	aead_free(a);
	aead_free(b);
}
END_TEST

/*
 * The header bytes stay as sent; only the nonce the receiver derives
 * changes.  Another link's or another counter's nonce must not open the
 * packet, or one link's packet could be replayed as another's.
 */
START_TEST(test_wrong_nonce)
{
	uint8_t         dgram[WIRE_OVERHEAD + 64], out[64], inner[64] = {0x60};
	struct wire_hdr h = data_hdr(1, 500), other;
	struct aead    *a;

	ck_assert_ptr_nonnull(a = aead_new(test_key));
	ck_assert_int_eq(
	    dgram_seal(a, &h, inner, sizeof(inner), dgram, sizeof(dgram)),
	    (int)sizeof(dgram));

	other = h;
	other.link_id = 2;
	ck_assert_int_eq(
	    dgram_open(a, &other, dgram, sizeof(dgram), out, sizeof(out)), -1);
	other = h;
	other.counter = 501;
	ck_assert_int_eq(
	    dgram_open(a, &other, dgram, sizeof(dgram), out, sizeof(out)), -1);
	other = h;
	other.counter = 500ULL | 1ULL << 63;
	ck_assert_int_eq(
	    dgram_open(a, &other, dgram, sizeof(dgram), out, sizeof(out)), -1);
	ck_assert_int_eq(
	    dgram_open(a, &h, dgram, sizeof(dgram), out, sizeof(out)), 64);
	aead_free(a);
}
END_TEST

/* Same inner bytes, same counter, two links: two different ciphertexts. */
START_TEST(test_links_differ)
{
	uint8_t         d1[WIRE_OVERHEAD + 32], d2[WIRE_OVERHEAD + 32];
	uint8_t         inner[32] = {0};
	struct wire_hdr h1 = data_hdr(1, 9), h2 = data_hdr(2, 9);
	struct aead    *a;

	ck_assert_ptr_nonnull(a = aead_new(test_key));
	ck_assert_int_eq(
	    dgram_seal(a, &h1, inner, 32, d1, sizeof(d1)), (int)sizeof(d1));
	ck_assert_int_eq(
	    dgram_seal(a, &h2, inner, 32, d2, sizeof(d2)), (int)sizeof(d2));
	ck_assert(memcmp(d1 + WIRE_HDR_LEN, d2 + WIRE_HDR_LEN, 32) != 0);
	aead_free(a);
}
END_TEST

/*
 * Every prefix of a valid datagram fails cleanly: each is handed over in
 * a block of exactly its length, so ASan catches a read past the end.
 */
START_TEST(test_truncated)
{
	uint8_t         dgram[WIRE_OVERHEAD + 200], inner[200], out[200];
	uint8_t        *q;
	struct wire_hdr h = data_hdr(4, 123456789), d;
	struct aead    *a;
	uint64_t        seed = 5;
	size_t          len;

	rng_fill(&seed, inner, sizeof(inner));
	ck_assert_ptr_nonnull(a = aead_new(test_key));
	ck_assert_int_eq(
	    dgram_seal(a, &h, inner, sizeof(inner), dgram, sizeof(dgram)),
	    (int)sizeof(dgram));
	for (len = 0; len < sizeof(dgram); len++) {
		q = exact_copy(dgram, len);
		CHECK(dgram_open(a, &h, q, len, out, sizeof(out)) == -1,
		    "a %zu-byte prefix opens", len);
		if (len < WIRE_MIN_DGRAM)
			CHECK(wire_hdr_decode(q, len, &d) == WIRE_ERR_TRUNCATED,
			    "a %zu-byte prefix decodes", len);
		free(q);
	}
	q = exact_copy(dgram, sizeof(dgram));
	ck_assert_int_eq(dgram_open(a, &h, q, sizeof(dgram), out, 200), 200);
	free(q);
	aead_free(a);
}
END_TEST

START_TEST(test_garbage)
{
	uint8_t         buf[2048], out[2048];
	struct wire_hdr h;
	struct aead    *a;
	uint64_t        seed = 0xdecafbad;
	size_t          len;
	int             i;

	ck_assert_ptr_nonnull(a = aead_new(test_key));
	for (i = 0; i < 2000; i++) {
		len = rng_next(&seed) % sizeof(buf);
		rng_fill(&seed, buf, len);
		/* Make the header plausible so decoding lets it through. */
		if (len > 0)
			buf[0] = PROTOCOL_VERSION << 4 | WIRE_DATA;
		if (wire_hdr_decode(buf, len, &h) != WIRE_OK)
			h = data_hdr(0, 0);
		CHECK(dgram_open(a, &h, buf, len, out, sizeof(out)) == -1,
		    "%zu random bytes open", len);
	}
	aead_free(a);
}
END_TEST

START_TEST(test_seal_refuses)
{
	static uint8_t  inner[WIRE_MAX_INNER + 1], out[WIRE_MAX_DGRAM + 64];
	struct wire_hdr h = data_hdr(1, 1);
	struct aead    *a;

	ck_assert_ptr_nonnull(a = aead_new(test_key));
	memset(out, 0xee, sizeof(out));

	/* Too large for one UDP datagram, however large the buffer. */
	ck_assert_int_eq(
	    dgram_seal(a, &h, inner, WIRE_MAX_INNER + 1, out, sizeof(out)), -1);
	/* One byte short of room, for a small and a large packet. */
	ck_assert_int_eq(
	    dgram_seal(a, &h, inner, 100, out, WIRE_OVERHEAD + 100 - 1), -1);
	ck_assert_int_eq(
	    dgram_seal(a, &h, inner, 0, out, WIRE_OVERHEAD - 1), -1);
	ck_assert_int_eq(
	    dgram_seal(a, &h, inner, WIRE_MAX_INNER, out, WIRE_MAX_DGRAM - 1),
	    -1);
	/* A header that cannot be encoded. */
	h.type = 0x10;
	ck_assert_int_eq(
	    dgram_seal(a, &h, inner, 100, out, WIRE_OVERHEAD + 100), -1);
	/* Nothing was written by any refusal. */
	ck_assert_uint_eq(out[0], 0xee);
	ck_assert_uint_eq(out[WIRE_HDR_LEN], 0xee);

	/* Exactly enough room works. */
	h.type = WIRE_DATA;
	ck_assert_int_eq(
	    dgram_seal(a, &h, inner, 100, out, WIRE_OVERHEAD + 100),
	    WIRE_OVERHEAD + 100);
	aead_free(a);
}
END_TEST

START_TEST(test_open_refuses)
{
	uint8_t         dgram[WIRE_OVERHEAD + 100], inner[100] = {1};
	uint8_t         out[100];
	static uint8_t  big[WIRE_MAX_DGRAM + 1];
	struct wire_hdr h = data_hdr(1, 2);
	struct aead    *a;

	ck_assert_ptr_nonnull(a = aead_new(test_key));
	ck_assert_int_eq(
	    dgram_seal(a, &h, inner, sizeof(inner), dgram, sizeof(dgram)),
	    (int)sizeof(dgram));
	/* Out buffer one byte short: refused, and nothing written. */
	memset(out, 0xee, sizeof(out));
	ck_assert_int_eq(
	    dgram_open(a, &h, dgram, sizeof(dgram), out, sizeof(out) - 1), -1);
	ck_assert_uint_eq(out[0], 0xee);
	ck_assert_int_eq(dgram_open(a, &h, dgram, sizeof(dgram), out, 0), -1);
	/* Larger than any UDP payload: cannot be a datagram of ours. */
	memcpy(big, dgram, WIRE_HDR_LEN);
	ck_assert_int_eq(
	    dgram_open(a, &h, big, sizeof(big), big, sizeof(big)), -1);
	/* Exact fit opens. */
	ck_assert_int_eq(
	    dgram_open(a, &h, dgram, sizeof(dgram), out, sizeof(out)), 100);
	aead_free(a);
}
END_TEST

/* Replay window. */

START_TEST(test_replay_in_order)
{
	struct replay_window w;
	uint64_t             c;

	replay_init(&w);
	for (c = 0; c < 10000; c++) {
		CHECK(replay_check(&w, c) == 0, "new counter %llu refused",
		    (unsigned long long)c);
		replay_update(&w, c);
		CHECK(replay_check(&w, c) == -1, "counter %llu replayed",
		    (unsigned long long)c);
	}
	/* All the recent ones are still remembered, older ones too old. */
	for (c = 0; c < 10000; c++)
		CHECK(replay_check(&w, c) == -1, "counter %llu accepted twice",
		    (unsigned long long)c);
	ck_assert_int_eq(replay_check(&w, 10000), 0);
}
END_TEST

START_TEST(test_replay_counter_zero)
{
	struct replay_window w;

	replay_init(&w);
	ck_assert_int_eq(replay_check(&w, 0), 0);
	/* A check alone records nothing (the packet may be forged). */
	ck_assert_int_eq(replay_check(&w, 0), 0);
	replay_update(&w, 0);
	ck_assert_int_eq(replay_check(&w, 0), -1);
	ck_assert_int_eq(replay_check(&w, 1), 0);
	replay_update(&w, 2);
	ck_assert_int_eq(replay_check(&w, 0), -1);
	ck_assert_int_eq(replay_check(&w, 1), 0);
	ck_assert_int_eq(replay_check(&w, 2), -1);
}
END_TEST

START_TEST(test_replay_reorder)
{
	struct replay_window w;
	uint64_t             top = 100000, c, seed = 3;
	uint64_t             order[REPLAY_WINDOW];
	size_t               i, j;

	replay_init(&w);
	replay_update(&w, top);
	/* The REPLAY_WINDOW counters below top, in shuffled order. */
	for (i = 0; i < REPLAY_WINDOW; i++)
		order[i] = top - 1 - i;
	for (i = REPLAY_WINDOW - 1; i > 0; i--) {
		uint64_t t;

		j = rng_next(&seed) % (i + 1);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (i = 0; i < REPLAY_WINDOW; i++) {
		c = order[i];
		CHECK(replay_check(&w, c) == 0, "late counter %llu refused",
		    (unsigned long long)c);
		replay_update(&w, c);
	}
	for (c = top - REPLAY_WINDOW; c <= top; c++)
		CHECK(replay_check(&w, c) == -1, "late counter %llu twice",
		    (unsigned long long)c);
	/* One beyond the window is too old, seen or not. */
	ck_assert_int_eq(replay_check(&w, top - REPLAY_WINDOW - 1), -1);
	ck_assert_int_eq(replay_check(&w, 0), -1);
	ck_assert_int_eq(replay_check(&w, top + 1), 0);
}
END_TEST

START_TEST(test_replay_too_old)
{
	struct replay_window w;
	uint64_t             top = 5000, old, alias;

	replay_init(&w);
	replay_update(&w, top);
	ck_assert_int_eq(replay_check(&w, top - REPLAY_WINDOW), 0);
	ck_assert_int_eq(replay_check(&w, top - REPLAY_WINDOW - 1), -1);
	/*
	 * Recording a refused counter must not disturb the window: its bit
	 * is also the bit of a counter inside the window, a whole bitmap
	 * (64 * REPLAY_WORDS counters) later.
	 */
	alias = top - 10;
	old = alias - 64 * REPLAY_WORDS;
	ck_assert_int_eq(replay_check(&w, old), -1);
	replay_update(&w, old);
	ck_assert_int_eq(replay_check(&w, alias), 0);
	ck_assert_int_eq(replay_check(&w, old), -1);
}
END_TEST

/*
 * A jump ahead by more than the window forgets everything before it: all
 * of it is now too old.  A shorter jump keeps what is still inside.
 */
START_TEST(test_replay_jump)
{
	struct replay_window w;
	uint64_t             c, far;

	replay_init(&w);
	for (c = 0; c < 3000; c += 2)
		replay_update(&w, c);
	far = 2998 + REPLAY_WINDOW + 1;
	replay_update(&w, far);
	for (c = 0; c <= 2998; c++)
		CHECK(replay_check(&w, c) == -1, "counter %llu before the jump",
		    (unsigned long long)c);
	/* Inside the new window, nothing is marked but far itself. */
	for (c = 2999; c < far; c++)
		CHECK(replay_check(&w, c) == 0,
		    "counter %llu after the jump refused",
		    (unsigned long long)c);
	ck_assert_int_eq(replay_check(&w, far), -1);

	/* A huge jump on a full window: bits must not survive (they would
	 * alias to counters of the new window). */
	for (c = far + 1; c < far + 4000; c++)
		replay_update(&w, c);
	far = far + 4000 + 64 * REPLAY_WORDS * 1000ULL;
	replay_update(&w, far);
	for (c = far - REPLAY_WINDOW; c < far; c++)
		CHECK(replay_check(&w, c) == 0,
		    "counter %llu after a huge jump refused",
		    (unsigned long long)c);

	/* A short jump (a few words) keeps the counters still inside. */
	replay_init(&w);
	for (c = 1000; c < 1100; c += 3)
		replay_update(&w, c);
	replay_update(&w, 1099 + 300);
	for (c = 1000; c < 1100; c++)
		CHECK(replay_check(&w, c) == ((c - 1000) % 3 == 0 ? -1 : 0),
		    "counter %llu after a short jump", (unsigned long long)c);
	for (c = 1100; c < 1399; c++)
		CHECK(replay_check(&w, c) == 0, "unseen counter %llu refused",
		    (unsigned long long)c);
}
END_TEST

/*
 * top is the highest counter + 1, so UINT64_MAX cannot be recorded and is
 * refused; everything just below it works like anywhere else.
 */
START_TEST(test_replay_uint64_max)
{
	struct replay_window w;
	uint64_t             m = UINT64_MAX;

	replay_init(&w);
	ck_assert_int_eq(replay_check(&w, m), -1);
	ck_assert_int_eq(replay_check(&w, m - 1), 0);
	replay_update(&w, m - 3);
	ck_assert_int_eq(replay_check(&w, m - 3), -1);
	ck_assert_int_eq(replay_check(&w, m - 4), 0);
	ck_assert_int_eq(replay_check(&w, m - 2), 0);
	replay_update(&w, m - 1);
	ck_assert_int_eq(replay_check(&w, m - 1), -1);
	ck_assert_int_eq(replay_check(&w, m - 2), 0);
	ck_assert_int_eq(replay_check(&w, m - 3), -1);
	ck_assert_int_eq(replay_check(&w, m - 1 - REPLAY_WINDOW), 0);
	ck_assert_int_eq(replay_check(&w, m - 2 - REPLAY_WINDOW), -1);
	ck_assert_int_eq(replay_check(&w, m), -1);
	replay_update(&w, m);
	ck_assert_int_eq(replay_check(&w, m - 2), 0);
	ck_assert_int_eq(replay_check(&w, m - 1), -1);
	ck_assert_uint_eq(w.top, m);

	/* From counter 0 straight to the top. */
	replay_init(&w);
	replay_update(&w, 0);
	replay_update(&w, m - 1);
	ck_assert_int_eq(replay_check(&w, 0), -1);
	ck_assert_int_eq(replay_check(&w, m - 1), -1);
	ck_assert_int_eq(replay_check(&w, m - 64), 0);
}
END_TEST

/*
 * The window against the simplest model that could be right: the set of
 * every counter ever recorded, and the highest.  A counter is fresh if it
 * is not in the set, not UINT64_MAX, and at most REPLAY_WINDOW below the
 * highest.  The counters live in [base, base + span), so the set is a
 * plain bitmap of span bits.
 */
static void
replay_vs_model(uint64_t base, uint64_t span, uint64_t seed, int ops)
{
	struct replay_window w;
	uint8_t             *seen;
	uint64_t             hi = 0, off, c;
	int                  have = 0, i, r, want, got;

	seen = calloc(span / 8 + 1, 1);
	ck_assert_ptr_nonnull(seen);
	replay_init(&w);
	for (i = 0; i < ops; i++) {
		r = (int)(rng_next(&seed) % 1000);
		if (!have)
			off = rng_next(&seed) % 1000;
		else if (r < 550) /* in order, small gaps */
			off = hi + 1 + rng_next(&seed) % 3;
		else if (r < 850) /* reordered: around the window's edge */
			off = hi - rng_next(&seed) % (REPLAY_WINDOW + 200);
		else if (r < 950) /* replay of something recent */
			off = hi - rng_next(&seed) % 64;
		else if (r < 990) /* a burst lost: a jump within a window */
			off = hi + rng_next(&seed) % REPLAY_WINDOW;
		else /* a long outage: a jump past the window */
			off = hi + rng_next(&seed) % (4 * REPLAY_WINDOW);
		if (have && off > hi && off - hi > (uint64_t)INT64_MAX)
			off = 0; /* went below zero: clamp */
		if (off >= span)
			off = span - 1;
		c = base + off;

		if (c == UINT64_MAX)
			want = -1;
		else if (seen[off / 8] & 1 << off % 8)
			want = -1;
		else if (have && off < hi && hi - off > REPLAY_WINDOW)
			want = -1;
		else
			want = 0;
		got = replay_check(&w, c);
		CHECK(got == want,
		    "op %d: counter base+%llu (highest base+%llu): check %d, "
		    "model %d",
		    i, (unsigned long long)off, (unsigned long long)hi, got,
		    want);
		/* One accepted packet in ten fails to authenticate. */
		if (got == 0 && rng_next(&seed) % 10 != 0) {
			replay_update(&w, c);
			seen[off / 8] |= (uint8_t)(1 << off % 8);
			if (!have || off > hi)
				hi = off;
			have = 1;
		}
	}
	free(seen);
}

START_TEST(test_replay_model)
{
	replay_vs_model(0, 1ULL << 25, 0x5eed, 200000);
}
END_TEST

/* Near the top, so that UINT64_MAX is reached and then keeps being hit. */
START_TEST(test_replay_model_top)
{
	replay_vs_model(
	    UINT64_MAX - (1ULL << 17) + 1, 1ULL << 17, 0xfeed, 200000);
}
END_TEST

/*
 * The same reference fuzz_replay uses (replay_model.h), over many short
 * sequences that each start from an empty window: the counter sources
 * are near the highest (deltas scaled up to 2^24 words, so far jumps are
 * common), at the window's back edge, anywhere in 64 bits, and next to
 * UINT64_MAX; some packets fail to authenticate, and refused counters are
 * also passed to replay_update(), which must not move the window.
 */
static struct replay_model model;

/*
 * A step as replay_model_pick() reads it, weighted towards what finds
 * bugs in a bitmap window: dense runs that fill words, late counters,
 * the back edge, jumps of about a bitmap's worth of words (28 to 35: the
 * words cleared must be exactly the ones the window slid over), and a few
 * far, absolute and near-UINT64_MAX counters.  Bit 3 of op (update the
 * refused) is random.
 */
static void
pick(uint64_t *seed, uint8_t *op, uint64_t *arg)
{
	uint64_t r = rng_next(seed) % 100, x = rng_next(seed);

	if (r < 50) {
		*op = 0;
		*arg = 1 + x % 3;
	} else if (r < 70) {
		*op = 0;
		*arg = 0 - (1 + x % 127); /* read back as int8_t */
	} else if (r < 78) {
		*op = 1;
		*arg = x;
	} else if (r < 88) {
		*op = 0x10;
		*arg = 28 + x % 8;
	} else if (r < 94) {
		*op = (uint8_t)(0x20 | (x & 0x10));
		*arg = x >> 8;
	} else if (r < 97) {
		*op = 2;
		*arg = x;
	} else {
		*op = 3;
		*arg = x;
	}
	*op |= (uint8_t)(rng_next(seed) & 8);
}

static void
replay_sequences(uint64_t seed, int nseq, int steps)
{
	struct replay_window w;
	uint64_t             c, arg;
	uint8_t              op;
	int                  i, k, real, ref;

	for (i = 0; i < nseq; i++) {
		replay_init(&w);
		replay_model_init(&model);
		/* Start anywhere: at 0, in the middle, next to the top. */
		switch (i % 3) {
		case 0:
			break;
		case 1:
			replay_update(&w, 1ULL << 40);
			replay_model_update(&model, 1ULL << 40);
			break;
		default:
			replay_update(&w, UINT64_MAX - 3000);
			replay_model_update(&model, UINT64_MAX - 3000);
		}
		for (k = 0; k < steps; k++) {
			pick(&seed, &op, &arg);
			c = replay_model_pick(&model, op, arg);
			CHECK(replay_model_step(&w, &model, c,
				  rng_next(&seed) % 8 != 0, (op & 8) != 0,
				  &real, &ref) == 0,
			    "sequence %d step %d: counter %llu: replay_check "
			    "%d, reference %d (top %llu)",
			    i, k, (unsigned long long)c, real, ref,
			    (unsigned long long)w.top);
		}
	}
}

START_TEST(test_replay_model_sequences)
{
	replay_sequences(0x6479, 3000, 300);
}
END_TEST

/* Hand-picked edges, each run through the same reference. */
START_TEST(test_replay_model_edges)
{
	static const uint64_t m = UINT64_MAX;
	static const uint64_t seqs[][8] = {
	    /* counter 0 first, then again, then the top of its window */
	    {0, 0, REPLAY_WINDOW, 0, REPLAY_WINDOW + 1, 0, 1, 1},
	    /* top == 0 with counter 0 recorded vs nothing recorded */
	    {1, 0, 0, 2, 1, 0, 3, 2},
	    /* a word boundary, one whole bitmap apart (aliases) */
	    {63, 64, 63 + 64 * REPLAY_WORDS, 63, 64, 64 + 64 * REPLAY_WORDS, 64,
		65},
	    /* jump far ahead, then the counters just behind it */
	    {5, 1ULL << 50, (1ULL << 50) - 1, (1ULL << 50) - REPLAY_WINDOW,
		(1ULL << 50) - REPLAY_WINDOW - 1, 5, 1ULL << 50, 6},
	    /* wrap: up to UINT64_MAX, which is never accepted */
	    {m - 2, m - 1, m, m - 1, m - 2, m - 3, m, 0},
	    /* a jump of exactly the window, and one more */
	    {1000, 1000 + REPLAY_WINDOW, 1000, 999, 1001,
		1001 + 2 * REPLAY_WINDOW, 1001 + REPLAY_WINDOW,
		1000 + REPLAY_WINDOW},
	};
	struct replay_window w;
	size_t               i, k;
	int                  real, ref;

	for (i = 0; i < NITEMS(seqs); i++) {
		replay_init(&w);
		replay_model_init(&model);
		for (k = 0; k < NITEMS(seqs[i]); k++)
			CHECK(replay_model_step(&w, &model, seqs[i][k], 1, 1,
				  &real, &ref) == 0,
			    "edge sequence %zu step %zu: counter %llu: "
			    "replay_check %d, reference %d",
			    i, k, (unsigned long long)seqs[i][k], real, ref);
	}
}
END_TEST

static Suite *
crypto_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("crypto");

	tc = tcase_create("aead");
	tcase_add_loop_test(tc, test_gcm_vector, 0, (int)NITEMS(gcm_vectors));
	tcase_add_test(tc, test_aead_short);
	suite_add_tcase(s, tc);

	tc = tcase_create("datapkt");
	tcase_add_loop_test(
	    tc, test_roundtrip, 0, (int)NITEMS(roundtrip_sizes));
	tcase_add_test(tc, test_in_place);
	tcase_add_test(tc, test_one_direction);
	tcase_add_test(tc, test_bit_flips);
	tcase_add_test(tc, test_wrong_key);
	tcase_add_test(tc, test_wrong_nonce);
	tcase_add_test(tc, test_links_differ);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_seal_refuses);
	tcase_add_test(tc, test_open_refuses);
	suite_add_tcase(s, tc);

	tc = tcase_create("replay");
	tcase_add_test(tc, test_replay_in_order);
	tcase_add_test(tc, test_replay_counter_zero);
	tcase_add_test(tc, test_replay_reorder);
	tcase_add_test(tc, test_replay_too_old);
	tcase_add_test(tc, test_replay_jump);
	tcase_add_test(tc, test_replay_uint64_max);
	tcase_add_test(tc, test_replay_model);
	tcase_add_test(tc, test_replay_model_top);
	tcase_add_test(tc, test_replay_model_sequences);
	tcase_add_test(tc, test_replay_model_edges);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return check_run(crypto_suite());
}
