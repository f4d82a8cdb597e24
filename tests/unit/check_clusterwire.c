#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clusterkey.h"
#include "clusterlink.h"
#include "clusterwire.h"
#include "proto.h"
#include "check_rng.h"
#include "check_run.h"

/*
 * Decodes from a heap block of exactly len bytes, so that ASan reports a
 * read past what the decoder was given.
 */
static int
decode_exact(const uint8_t *p, size_t len, struct cw_hdr *h)
{
	uint8_t *q;
	int      rc;

	q = malloc(len == 0 ? 1 : len);
	ck_assert_ptr_nonnull(q);
	if (len > 0)
		memcpy(q, p, len);
	rc = cw_hdr_decode(len == 0 ? NULL : q, len, h);
	free(q);
	return rc;
}

/* A FORWARD of a site's datagram from node 1 to node 2. */
static struct cw_hdr
site_hdr(void)
{
	struct cw_hdr h;

	memset(&h, 0, sizeof(h));
	h.version = CW_VERSION;
	h.type = CW_FORWARD;
	h.hops = 1;
	h.origin = CW_ORIGIN_SITE;
	h.from = 1;
	h.to = 2;
	h.session = 0x01020304;
	h.endpoint.family = AF_INET;
	h.endpoint.a[0] = 198;
	h.endpoint.a[1] = 18;
	h.endpoint.a[2] = 0;
	h.endpoint.a[3] = 7;
	h.port = 40000;
	h.generation = 0x1122334455667788ULL;
	h.counter = 0x99;
	return h;
}

/* The bytes site_hdr() encodes to, written out by hand from the layout
 * in clusterwire.h. */
static const uint8_t site_bytes[CW_HDR_LEN] = {0x57, 0x43, 0x01, 0x01, 0x00,
    0x01, 0x01, 0x04,                                  /* magic .. family */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,    /* from, to */
    0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04,    /* owner, session */
    0x9c, 0x40,                                        /* port 40000 */
    198, 18, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* address */
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,    /* generation */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x99};

/* A whole datagram: the header and `inner` bytes standing for the sealed
 * inner packet and tag (the decoder does not look at them). */
static size_t
pkt_of(const struct cw_hdr *h, size_t inner, uint8_t *out, size_t outlen)
{
	ck_assert_uint_ge(outlen, CW_HDR_LEN + inner);
	ck_assert_int_eq(cw_hdr_encode(h, out, outlen), CW_HDR_LEN);
	memset(out + CW_HDR_LEN, 0xab, inner);
	return CW_HDR_LEN + inner;
}

static int
hdr_eq(const struct cw_hdr *a, const struct cw_hdr *b)
{
	return a->version == b->version && a->type == b->type &&
	    a->flags == b->flags && a->hops == b->hops &&
	    a->origin == b->origin && a->from == b->from && a->to == b->to &&
	    a->owner == b->owner && a->session == b->session &&
	    a->endpoint.family == b->endpoint.family &&
	    memcmp(a->endpoint.a, b->endpoint.a, 16) == 0 &&
	    a->port == b->port && a->generation == b->generation &&
	    a->counter == b->counter;
}

/* ------------------------------------------------------------ bytes */

START_TEST(test_known_bytes)
{
	struct cw_hdr h = site_hdr(), d;
	uint8_t       out[CW_HDR_LEN], pkt[CW_MIN_PKT];

	ck_assert_int_eq(cw_hdr_encode(&h, out, sizeof(out)), CW_HDR_LEN);
	ck_assert_mem_eq(out, site_bytes, CW_HDR_LEN);
	ck_assert_int_eq(cw_hdr_encode(&h, out, CW_HDR_LEN - 1), -1);
	memcpy(pkt, site_bytes, CW_HDR_LEN);
	memset(pkt + CW_HDR_LEN, 0, sizeof(pkt) - CW_HDR_LEN);
	ck_assert_int_eq(decode_exact(pkt, sizeof(pkt), &d), CW_OK);
	ck_assert(hdr_eq(&h, &d));
}
END_TEST

START_TEST(test_round_trip)
{
	static const uint8_t types[] = {CW_FORWARD, CW_FIRST, CW_OWNER_HINT};
	struct cw_hdr        h, d;
	uint8_t              pkt[CW_HDR_LEN + 64];
	uint64_t             s = 7;
	size_t               len;
	int                  i, j;

	for (i = 0; i < 1000; i++) {
		memset(&h, 0, sizeof(h));
		h.version = CW_VERSION;
		h.type = types[i % 3];
		h.hops = (uint8_t)(1 + i % CW_MAX_HOPS);
		h.from = (uint32_t)rng_next(&s) | 1;
		h.to = h.from + 1 + (uint32_t)(i % 5);
		h.owner = h.type == CW_FIRST  ? h.to
		    : h.type == CW_OWNER_HINT ? h.to + 1
					      : (uint32_t)(i % 2);
		h.session = (uint32_t)rng_next(&s);
		h.generation = rng_next(&s);
		h.counter = rng_next(&s);
		if (i % 2 == 0) {
			h.origin = CW_ORIGIN_TUN;
		} else {
			h.origin = CW_ORIGIN_SITE;
			h.endpoint.family = i % 4 == 1 ? AF_INET : AF_INET6;
			for (j = 0; j < (h.endpoint.family == AF_INET ? 4 : 16);
			     j++)
				h.endpoint.a[j] = (uint8_t)rng_next(&s);
			h.port = (uint16_t)(1 + rng_next(&s) % 65535);
		}
		ck_assert_int_eq(cw_hdr_check(&h), CW_OK);
		len = pkt_of(
		    &h, CW_TAG_LEN + 1 + (size_t)(i % 40), pkt, sizeof(pkt));
		ck_assert_int_eq(decode_exact(pkt, len, &d), CW_OK);
		ck_assert(hdr_eq(&h, &d));
	}
}
END_TEST

/* Every length from 0 to one short of CW_MIN_PKT is truncated; exactly
 * CW_MIN_PKT and exactly CW_MAX_PKT decode; one more is oversized. */
START_TEST(test_truncated_exact_oversized)
{
	struct cw_hdr h = site_hdr(), d;
	uint8_t      *pkt;
	size_t        len;

	pkt = calloc(1, CW_MAX_PKT + 1);
	ck_assert_ptr_nonnull(pkt);
	ck_assert_int_eq(cw_hdr_encode(&h, pkt, CW_MAX_PKT + 1), CW_HDR_LEN);
	for (len = 0; len < CW_MIN_PKT; len++)
		ck_assert_int_eq(decode_exact(pkt, len, &d), CW_ERR_TRUNCATED);
	ck_assert_int_eq(decode_exact(pkt, CW_MIN_PKT, &d), CW_OK);
	ck_assert_int_eq(decode_exact(pkt, CW_MAX_PKT, &d), CW_OK);
	ck_assert_int_eq(
	    decode_exact(pkt, CW_MAX_PKT + 1, &d), CW_ERR_OVERSIZED);
	free(pkt);
}
END_TEST

/* One header per reason the decoder gives, each refused for that reason
 * and leaving *hdr alone. */
START_TEST(test_every_reason)
{
	struct cw_hdr h, d, mark;
	uint8_t       pkt[CW_MIN_PKT];
	size_t        len;

	memset(&mark, 0x5c, sizeof(mark));

#define REFUSED(mutate, byte, val, want)                                       \
	do {                                                                   \
		h = site_hdr();                                                \
		mutate;                                                        \
		len = pkt_of(&h, CW_TAG_LEN + 1, pkt, sizeof(pkt));            \
		if ((byte) >= 0)                                               \
			pkt[(byte)] = (uint8_t)(val);                          \
		d = mark;                                                      \
		ck_assert_int_eq(decode_exact(pkt, len, &d), (want));          \
		ck_assert(hdr_eq(&d, &mark));                                  \
		ck_assert_str_ne(cw_err_str(want), "unknown-error");           \
	} while (0)

	REFUSED((void)0, 0, 0x58, CW_ERR_MAGIC);
	REFUSED((void)0, 1, 0x00, CW_ERR_MAGIC);
	REFUSED(h.version = 0, -1, 0, CW_ERR_VERSION);
	REFUSED(h.version = 2, -1, 0, CW_ERR_VERSION);
	REFUSED(h.type = 0, -1, 0, CW_ERR_TYPE);
	REFUSED(h.type = 4, -1, 0, CW_ERR_TYPE);
	REFUSED(h.flags = 0x80, -1, 0, CW_ERR_FLAGS);
	REFUSED(h.hops = 0, -1, 0, CW_ERR_HOPS);
	REFUSED(h.hops = CW_MAX_HOPS + 1, -1, 0, CW_ERR_HOPS);
	REFUSED(h.hops = 0xff, -1, 0, CW_ERR_HOPS);
	REFUSED(h.origin = 0, -1, 0, CW_ERR_ORIGIN);
	REFUSED(h.origin = 3, -1, 0, CW_ERR_ORIGIN);
	/* A site's datagram without an endpoint, and a TUN packet with
	 * one. */
	REFUSED(h.port = 0, -1, 0, CW_ERR_ORIGIN);
	REFUSED((void)0, 7, 0, CW_ERR_ORIGIN);
	REFUSED((void)0, 7, 5, CW_ERR_ORIGIN);
	REFUSED(h.endpoint.a[4] = 1, -1, 0, CW_ERR_ORIGIN);
	REFUSED(h.origin = CW_ORIGIN_TUN, -1, 0, CW_ERR_ORIGIN);
	REFUSED((h.origin = CW_ORIGIN_TUN, h.endpoint.family = 0,
		    memset(h.endpoint.a, 0, 16)),
	    -1, 0, CW_ERR_ORIGIN);
	REFUSED(h.from = 0, -1, 0, CW_ERR_NODE);
	REFUSED(h.to = 0, -1, 0, CW_ERR_NODE);
	REFUSED(h.to = h.from, -1, 0, CW_ERR_NODE);
	REFUSED(h.type = CW_FIRST, -1, 0, CW_ERR_OWNER);
	REFUSED((h.type = CW_FIRST, h.owner = 3), -1, 0, CW_ERR_OWNER);
	REFUSED(h.type = CW_OWNER_HINT, -1, 0, CW_ERR_OWNER);
	REFUSED((h.type = CW_OWNER_HINT, h.owner = h.to), -1, 0, CW_ERR_OWNER);
#undef REFUSED

	/* And the accepted neighbours of those. */
	h = site_hdr();
	h.origin = CW_ORIGIN_TUN;
	h.endpoint.family = 0;
	memset(h.endpoint.a, 0, 16);
	h.port = 0;
	len = pkt_of(&h, CW_TAG_LEN + 1, pkt, sizeof(pkt));
	ck_assert_int_eq(decode_exact(pkt, len, &d), CW_OK);
	h.type = CW_FIRST;
	h.owner = h.to;
	len = pkt_of(&h, CW_TAG_LEN + 1, pkt, sizeof(pkt));
	ck_assert_int_eq(decode_exact(pkt, len, &d), CW_OK);
	h.type = CW_OWNER_HINT;
	h.owner = 3;
	len = pkt_of(&h, CW_TAG_LEN + 1, pkt, sizeof(pkt));
	ck_assert_int_eq(decode_exact(pkt, len, &d), CW_OK);
}
END_TEST

/* Makes each field of random header bytes valid most of the time. */
static void
bias(uint8_t *p, uint64_t *s)
{
	uint64_t r = rng_next(s);

	if (r % 16 != 0)
		p[0] = CW_MAGIC0, p[1] = CW_MAGIC1;
	if ((r >> 4) % 16 != 0)
		p[2] = CW_VERSION;
	p[3] = (uint8_t)((r >> 8) % 4);
	if ((r >> 10) % 4 != 0)
		p[4] = 0;
	p[5] = (uint8_t)((r >> 12) % 5);
	p[6] = (uint8_t)((r >> 15) % 3);
	if (p[6] == CW_ORIGIN_TUN && (r >> 17) % 4 != 0) {
		p[7] = 0;
		memset(p + 24, 0, 18);
	} else if ((r >> 19) % 4 != 0) {
		p[7] = 6;
	}
	/* from, to, owner among 0..3 */
	memset(p + 8, 0, 12);
	p[11] = (uint8_t)((r >> 21) % 4);
	p[15] = (uint8_t)((r >> 23) % 4);
	p[19] = (uint8_t)((r >> 25) % 4);
}

/* Random bytes: whatever the decoder says, it says one of its reasons,
 * and what it accepts encodes back to the same header bytes. */
START_TEST(test_garbage)
{
	struct cw_hdr d;
	uint8_t       pkt[CW_HDR_LEN + 40], out[CW_HDR_LEN];
	uint64_t      s = 14;
	size_t        len, i;
	int           rc, ok = 0, reasons[CW_NREASONS] = {0};

	for (i = 0; i < 200000; i++) {
		len = (size_t)(rng_next(&s) % sizeof(pkt));
		for (size_t j = 0; j < len; j++)
			pkt[j] = (uint8_t)rng_next(&s);
		/* Half of them made likelier to pass each check, so that
		 * the later checks are reached too. */
		if (i % 2 == 0 && len >= CW_HDR_LEN)
			bias(pkt, &s);
		rc = decode_exact(pkt, len, &d);
		ck_assert_int_le(rc, 0);
		ck_assert_int_ge(rc, CW_ERR_OWNER);
		reasons[-rc]++;
		if (rc == CW_OK) {
			ok++;
			ck_assert_int_eq(
			    cw_hdr_encode(&d, out, sizeof(out)), CW_HDR_LEN);
			ck_assert_mem_eq(out, pkt, CW_HDR_LEN);
		}
	}
	/* Every reason of the decoder's but length's was met: the garbage
	 * reached every check. */
	for (i = 1; i <= (size_t)-CW_ERR_OWNER; i++)
		if (i != (size_t)-CW_ERR_OVERSIZED)
			ck_assert_msg(reasons[i] > 0, "reason %s never seen",
			    cw_err_str(-(int)i));
	(void)ok;
}
END_TEST

START_TEST(test_hop_bound)
{
	struct cw_hdr h = site_hdr();

	h.hops = 1;
	ck_assert_int_eq(cw_forward_hops(&h), 2);
	h.hops = CW_MAX_HOPS - 1;
	ck_assert_int_eq(cw_forward_hops(&h), CW_MAX_HOPS);
	/* At the bound a node does not forward: it handles or drops. */
	h.hops = CW_MAX_HOPS;
	ck_assert_int_eq(cw_forward_hops(&h), CW_ERR_HOPS);
	ck_assert_str_eq(cw_err_str(CW_ERR_HOPS), "hop-limit");
}
END_TEST

START_TEST(test_inner_check)
{
	uint8_t p[64];

	memset(p, 0, sizeof(p));
	ck_assert_int_eq(
	    cw_inner_check(CW_ORIGIN_SITE, p, WIRE_MIN_DGRAM), CW_OK);
	ck_assert_int_eq(cw_inner_check(CW_ORIGIN_SITE, p, WIRE_MIN_DGRAM - 1),
	    CW_ERR_INNER);
	p[0] = 0x45;
	ck_assert_int_eq(cw_inner_check(CW_ORIGIN_TUN, p, 20), CW_OK);
	ck_assert_int_eq(cw_inner_check(CW_ORIGIN_TUN, p, 19), CW_ERR_INNER);
	p[0] = 0x60;
	ck_assert_int_eq(cw_inner_check(CW_ORIGIN_TUN, p, 40), CW_OK);
	ck_assert_int_eq(cw_inner_check(CW_ORIGIN_TUN, p, 39), CW_ERR_INNER);
	p[0] = 0x55;
	ck_assert_int_eq(cw_inner_check(CW_ORIGIN_TUN, p, 60), CW_ERR_INNER);
	ck_assert_int_eq(cw_inner_check(0, p, 60), CW_ERR_INNER);
}
END_TEST

/* -------------------------------------------------------------- key */

static const char hexkey[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
/* The same 32 bytes in base64. */
static const char b64key[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

START_TEST(test_key_parse)
{
	struct clusterkey k;
	const char       *why;
	char              t[128];
	int               i;

	for (i = 0; i < 32; i++)
		t[i] = (char)i;
	ck_assert_int_eq(clusterkey_parse(hexkey, 64, &k, NULL), 0);
	ck_assert_mem_eq(k.k, t, 32);
	ck_assert_int_eq(clusterkey_parse(b64key, 44, &k, NULL), 0);
	ck_assert_mem_eq(k.k, t, 32);
	snprintf(t, sizeof(t), "%s\n", hexkey);
	ck_assert_int_eq(clusterkey_parse(t, strlen(t), &k, NULL), 0);
	snprintf(t, sizeof(t), "%s\n", b64key);
	ck_assert_int_eq(clusterkey_parse(t, strlen(t), &k, NULL), 0);

#define BAD(text, len, want)                                                   \
	do {                                                                   \
		why = NULL;                                                    \
		ck_assert_int_eq(clusterkey_parse(text, len, &k, &why), -1);   \
		ck_assert_ptr_nonnull(why);                                    \
		ck_assert_msg(strstr(why, want) != NULL, "%s", why);           \
	} while (0)

	BAD("", 0, "not a key");
	BAD(hexkey, 63, "not a key");
	BAD(hexkey, 62, "not a key");
	snprintf(t, sizeof(t), "%s\n\n", hexkey);
	BAD(t, strlen(t), "not a key");
	snprintf(t, sizeof(t), "%s\r\n", hexkey);
	BAD(t, strlen(t), "not a key");
	snprintf(t, sizeof(t), " %s", b64key);
	BAD(t, strlen(t), "not a key");
	snprintf(t, sizeof(t), "%s", hexkey);
	t[10] = 'g';
	BAD(t, 64, "not 64 hex digits");
	snprintf(t, sizeof(t), "%s", b64key);
	t[5] = '*';
	BAD(t, 44, "not 44 characters of base64");
	/* 33 bytes' worth of base64 without padding is 44 characters too,
	 * and a key of 31 bytes is "...==" */
	BAD("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g", 44, "base64");
	BAD("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", 44, "base64");
	/* Non-zero bits after the last byte: not the canonical encoding. */
	BAD("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=", 44, "base64");
	BAD("0000000000000000000000000000000000000000000000000000000000000000",
	    64, "all zero");
#undef BAD
}
END_TEST

static char tmpdir[64];

static void
key_file(
    const char *name, const char *text, mode_t mode, char *path, size_t plen)
{
	int fd;

	snprintf(path, plen, "%s/%s", tmpdir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

START_TEST(test_key_load)
{
	struct clusterkey k;
	char              path[128], err[512], big[300], want[512];

	ck_assert_ptr_nonnull(mkdtemp(strcpy(tmpdir, "/tmp/cwkey.XXXXXX")));

	key_file("ok", hexkey, 0600, path, sizeof(path));
	ck_assert_int_eq(clusterkey_load(path, &k, err, sizeof(err)), 0);
	key_file("ro", b64key, 0400, path, sizeof(path));
	ck_assert_int_eq(clusterkey_load(path, &k, err, sizeof(err)), 0);

	/* Group or others: refused, quoting the path and the fix. */
	key_file("group", hexkey, 0640, path, sizeof(path));
	ck_assert_int_eq(clusterkey_load(path, &k, err, sizeof(err)), -1);
	snprintf(want, sizeof(want),
	    "%s: permissions 0640 give group or others access to the "
	    "cluster key (chmod 600 %s)",
	    path, path);
	ck_assert_str_eq(err, want);
	key_file("world", hexkey, 0604, path, sizeof(path));
	ck_assert_int_eq(clusterkey_load(path, &k, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "permissions 0604"));
	key_file("gw", hexkey, 0620, path, sizeof(path));
	ck_assert_int_eq(clusterkey_load(path, &k, err, sizeof(err)), -1);

	key_file("short", "abcd\n", 0600, path, sizeof(path));
	ck_assert_int_eq(clusterkey_load(path, &k, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: not a key", path);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	key_file("big", big, 0600, path, sizeof(path));
	ck_assert_int_eq(clusterkey_load(path, &k, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "larger than"));

	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	ck_assert_int_eq(clusterkey_load(path, &k, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: cannot open: ", path);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);

	ck_assert_int_eq(clusterkey_load(tmpdir, &k, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a regular file"));

	snprintf(big, sizeof(big), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(big), 0);
}
END_TEST

/* ------------------------------------------------------------- link */

static struct clusterkey ck;

static void
key_setup(void)
{
	ck_assert_int_eq(clusterkey_parse(hexkey, 64, &ck, NULL), 0);
}

/* Each node's process: its incarnation, as its HELLO says (inc[id]);
 * a test that restarts a node gives it a new one. */
static uint32_t inc[4] = {0, 0x1001, 0x1002, 0x1003};

/* Nodes 1, 2 and 3, each knowing the other two. */
static struct clusterlink *
node(uint32_t self, uint64_t gen, uint64_t limit)
{
	struct clusterlink *cl;
	uint32_t            id;

	cl = clusterlink_new(&ck, self, inc[self], gen, limit);
	ck_assert_ptr_nonnull(cl);
	for (id = 1; id <= 3; id++)
		if (id != self)
			ck_assert_int_eq(
			    clusterlink_peer_add(cl, id, inc[id]), 0);
	return cl;
}

/* An IPv4 packet of `len` bytes (only its first byte matters here). */
static void
ip4(uint8_t *p, size_t len, uint8_t fill)
{
	memset(p, fill, len);
	p[0] = 0x45;
}

static struct cw_hdr
tun_fwd(uint32_t to)
{
	struct cw_hdr h;

	memset(&h, 0, sizeof(h));
	h.type = CW_FORWARD;
	h.hops = 1;
	h.origin = CW_ORIGIN_TUN;
	h.to = to;
	return h;
}

static int
opened(struct clusterlink *cl, const uint8_t *pkt, size_t len, struct cw_hdr *h,
    uint8_t *out)
{
	return clusterlink_open(cl, pkt, len, h, out, CW_MAX_INNER);
}

START_TEST(test_link_round_trip)
{
	struct clusterlink *a = node(1, 1000, CLUSTERLINK_LIMIT);
	struct clusterlink *b = node(2, 2000, CLUSTERLINK_LIMIT);
	struct cw_hdr       h, d;
	static uint8_t inner[CW_MAX_INNER], pkt[CW_MAX_PKT], out[CW_MAX_INNER];
	size_t         len;
	int            n;

	for (len = 20; len <= CW_MAX_INNER; len += len < 2000 ? 97 : 7919) {
		ip4(inner, len, (uint8_t)len);
		h = tun_fwd(2);
		n = clusterlink_seal(a, &h, inner, len, pkt, sizeof(pkt));
		ck_assert_int_eq(n, (int)(len + CW_OVERHEAD));
		ck_assert_uint_eq(h.from, 1);
		ck_assert_uint_eq(h.generation, 1000); /* node 2's key */
		ck_assert_int_eq(opened(b, pkt, (size_t)n, &d, out), (int)len);
		ck_assert_mem_eq(out, inner, len);
		ck_assert(hdr_eq(&h, &d));
	}
	/* The largest inner packet, and one byte more. */
	ip4(inner, CW_MAX_INNER, 1);
	h = tun_fwd(2);
	n = clusterlink_seal(a, &h, inner, CW_MAX_INNER, pkt, sizeof(pkt));
	ck_assert_int_eq(n, CW_MAX_PKT);
	ck_assert_int_eq(opened(b, pkt, (size_t)n, &d, out), CW_MAX_INNER);
	ck_assert_int_eq(
	    clusterlink_seal(a, &h, inner, CW_MAX_INNER + 1, pkt, sizeof(pkt)),
	    -1);
	/* A site's datagram with its endpoint. */
	h = site_hdr();
	h.from = 0;
	memset(inner, 0x21, 100);
	n = clusterlink_seal(a, &h, inner, 100, pkt, sizeof(pkt));
	ck_assert_int_eq(n, 100 + CW_OVERHEAD);
	ck_assert_int_eq(opened(b, pkt, (size_t)n, &d, out), 100);
	ck_assert_uint_eq(d.port, 40000);
	ck_assert_uint_eq(d.session, 0x01020304);
	ck_assert_uint_eq(clusterlink_counters(b)->drops[0], 0);
	clusterlink_free(a);
	clusterlink_free(b);
}
END_TEST

/* A sender refuses what a receiver would: nothing sealed, no counter. */
START_TEST(test_link_seal_refuses)
{
	struct clusterlink *a = node(1, 1, CLUSTERLINK_LIMIT);
	struct cw_hdr       h;
	uint8_t             inner[64], pkt[256];

	ip4(inner, sizeof(inner), 0);
	h = tun_fwd(2);
	h.hops = CW_MAX_HOPS + 1;
	ck_assert_int_eq(
	    clusterlink_seal(a, &h, inner, 64, pkt, sizeof(pkt)), -1);
	h = tun_fwd(9); /* not a member */
	ck_assert_int_eq(
	    clusterlink_seal(a, &h, inner, 64, pkt, sizeof(pkt)), -1);
	h = tun_fwd(2);
	ck_assert_int_eq(
	    clusterlink_seal(a, &h, inner, 0, pkt, sizeof(pkt)), -1);
	ck_assert_int_eq(
	    clusterlink_seal(a, &h, inner, 64, pkt, 64 + CW_OVERHEAD - 1), -1);
	h.type = CW_FIRST; /* owner must be the receiver */
	ck_assert_int_eq(
	    clusterlink_seal(a, &h, inner, 64, pkt, sizeof(pkt)), -1);
	ck_assert_uint_eq(clusterlink_counters(a)->seal_fail, 5);
	ck_assert_uint_eq(clusterlink_counters(a)->sealed, 0);
	h = tun_fwd(2);
	ck_assert_int_eq(clusterlink_seal(a, &h, inner, 64, pkt, sizeof(pkt)),
	    64 + CW_OVERHEAD);
	ck_assert_uint_eq(h.counter, 0);
	/* Peers: not 0, not self, not twice, and the bound. */
	ck_assert_int_eq(clusterlink_peer_add(a, 0, 1), -1);
	ck_assert_int_eq(clusterlink_peer_add(a, 1, 1), -1);
	ck_assert_int_eq(clusterlink_peer_add(a, 2, 1), -1);
	ck_assert_int_eq(clusterlink_peer_remove(a, 7), -1);
	for (uint32_t id = 4; id < 4 + CLUSTERLINK_MAX_PEERS - 2; id++)
		ck_assert_int_eq(clusterlink_peer_add(a, id, id), 0);
	ck_assert_int_eq(clusterlink_peer_add(a, 1000, 1), -1);
	ck_assert_ptr_null(clusterlink_new(&ck, 0, 1, 1, 1));
	ck_assert_ptr_null(clusterlink_new(&ck, 1, 1, 1, 0));
	ck_assert_ptr_null(
	    clusterlink_new(&ck, 1, 1, 1, CLUSTERLINK_LIMIT + 1));
	clusterlink_free(a);
}
END_TEST

/* Any bit flipped anywhere: refused, and the window not moved. */
START_TEST(test_link_tamper)
{
	struct clusterlink *a = node(1, 5, CLUSTERLINK_LIMIT);
	struct clusterlink *b = node(2, 6, CLUSTERLINK_LIMIT);
	struct cw_hdr       h, d;
	uint8_t             inner[80], pkt[256], bad[256], out[256];
	int                 n, rc;
	size_t              i, tags = 0;
	unsigned            bit;

	ip4(inner, sizeof(inner), 3);
	h = tun_fwd(2);
	n = clusterlink_seal(a, &h, inner, sizeof(inner), pkt, sizeof(pkt));
	ck_assert_int_gt(n, 0);
	for (i = 0; i < (size_t)n; i++)
		for (bit = 0; bit < 8; bit++) {
			memcpy(bad, pkt, (size_t)n);
			bad[i] ^= (uint8_t)(1u << bit);
			rc = opened(b, bad, (size_t)n, &d, out);
			ck_assert_int_lt(rc, 0);
			if (rc == CW_ERR_TAG)
				tags++;
		}
	/* Past the header every flip is a bad tag; in it, a flip is
	 * refused by the decoder, by `to`, `from`, or by the tag. */
	ck_assert_uint_ge(tags, ((size_t)n - CW_HDR_LEN) * 8);
	ck_assert_uint_eq(clusterlink_counters(b)->drops[-CW_ERR_TAG], tags);
	/* The genuine one still opens: no forgery moved the window or the
	 * generation. */
	ck_assert_int_eq(opened(b, pkt, (size_t)n, &d, out), sizeof(inner));
	clusterlink_free(a);
	clusterlink_free(b);
}
END_TEST

START_TEST(test_link_replay)
{
	struct clusterlink *a = node(1, 5, CLUSTERLINK_LIMIT);
	struct clusterlink *b = node(2, 6, CLUSTERLINK_LIMIT);
	struct cw_hdr       h, d;
	uint8_t             inner[40], pkt[10][128], out[128];
	int                 n[10], i;

	ip4(inner, sizeof(inner), 9);
	for (i = 0; i < 10; i++) {
		h = tun_fwd(2);
		n[i] = clusterlink_seal(
		    a, &h, inner, sizeof(inner), pkt[i], sizeof(pkt[i]));
		ck_assert_uint_eq(h.counter, (uint64_t)i);
	}
	/* Out of order within the window: all accepted once. */
	for (i = 9; i >= 0; i -= 2)
		ck_assert_int_eq(opened(b, pkt[i], (size_t)n[i], &d, out), 40);
	for (i = 0; i < 10; i += 2)
		ck_assert_int_eq(opened(b, pkt[i], (size_t)n[i], &d, out), 40);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(
		    opened(b, pkt[i], (size_t)n[i], &d, out), CW_ERR_REPLAY);
	ck_assert_uint_eq(clusterlink_counters(b)->drops[-CW_ERR_REPLAY], 10);
	ck_assert_uint_eq(clusterlink_counters(b)->opened, 10);
	/* Sent to 2, refused by 3: not its own, not its key. */
	{
		struct clusterlink *c = node(3, 7, CLUSTERLINK_LIMIT);

		ck_assert_int_eq(
		    opened(c, pkt[0], (size_t)n[0], &d, out), CW_ERR_NOT_MINE);
		clusterlink_free(c);
	}
	clusterlink_free(a);
	clusterlink_free(b);
}
END_TEST

/*
 * Nonces per sender: each sender counts from 0 toward each peer under a
 * key of its own, so node 1 and node 3 both sending counter 0 to node 2
 * is no collision; each has its own window at node 2; a packet claiming
 * another sender does not open.
 */
START_TEST(test_link_nonce_per_sender)
{
	struct clusterlink *a = node(1, 100, CLUSTERLINK_LIMIT);
	struct clusterlink *b = node(2, 100, CLUSTERLINK_LIMIT);
	/* Node 3's key to node 2 is its second: generation 100 too. */
	struct clusterlink *c = node(3, 99, CLUSTERLINK_LIMIT);
	struct cw_hdr       ha, hc, d;
	uint8_t             inner[40], pa[128], pc[128], forged[128], out[128];
	int                 na, nc;

	ip4(inner, sizeof(inner), 1);
	ha = tun_fwd(2);
	hc = tun_fwd(2);
	na = clusterlink_seal(a, &ha, inner, sizeof(inner), pa, sizeof(pa));
	nc = clusterlink_seal(c, &hc, inner, sizeof(inner), pc, sizeof(pc));
	ck_assert_uint_eq(ha.counter, 0);
	ck_assert_uint_eq(hc.counter, 0);
	ck_assert_uint_eq(ha.generation, hc.generation);
	/* Same counter, generation and plaintext: different ciphertext. */
	ck_assert_int_ne(
	    memcmp(pa + CW_HDR_LEN, pc + CW_HDR_LEN, (size_t)na - CW_HDR_LEN),
	    0);
	/* Node 3's packet relabelled as node 1's: node 1's key, which it
	 * does not open under. */
	memcpy(forged, pc, (size_t)nc);
	forged[11] = 1;
	ck_assert_int_eq(opened(b, forged, (size_t)nc, &d, out), CW_ERR_TAG);
	ck_assert_int_eq(opened(b, pa, (size_t)na, &d, out), 40);
	ck_assert_uint_eq(d.from, 1);
	ck_assert_int_eq(opened(b, pc, (size_t)nc, &d, out), 40);
	ck_assert_uint_eq(d.from, 3);
	/* Node 1's counter toward node 3 is its own, from 0. */
	ha = tun_fwd(3);
	clusterlink_seal(a, &ha, inner, sizeof(inner), pa, sizeof(pa));
	ck_assert_uint_eq(ha.counter, 0);
	ck_assert_uint_ne(ha.generation, 100);
	clusterlink_free(a);
	clusterlink_free(b);
	clusterlink_free(c);
}
END_TEST

/*
 * Generations: after `limit` packets the sender moves on and the
 * receiver follows at the first packet; the old generation's packets are
 * then stale.  A restarted sender (a higher start) is followed; one whose
 * start went back is refused until it leaves and joins again.
 */
START_TEST(test_link_generations)
{
	struct clusterlink *a = node(1, 10, 4);
	struct clusterlink *b = node(2, 20, 4);
	struct cw_hdr       h, d;
	uint8_t             inner[40], old[128], pkt[128], out[128];
	uint8_t             prev[128], mid[128];
	int                 n, nold = 0, nprev, nmid, i;

	ip4(inner, sizeof(inner), 2);
	for (i = 0; i < 9; i++) {
		h = tun_fwd(2);
		n = clusterlink_seal(
		    a, &h, inner, sizeof(inner), pkt, sizeof(pkt));
		ck_assert_uint_eq(h.counter, (uint64_t)(i % 4));
		if (i == 0) {
			memcpy(old, pkt, (size_t)n);
			nold = n;
		}
		ck_assert_int_eq(opened(b, pkt, (size_t)n, &d, out), 40);
	}
	/* Node 1 took 10 (to 2) and 11 (to 3) at start, then 12 and 13. */
	ck_assert_uint_eq(h.generation, 13);
	ck_assert_uint_eq(clusterlink_counters(a)->rekeyed, 2);
	ck_assert_uint_eq(clusterlink_counters(b)->followed, 3);
	ck_assert_int_eq(opened(b, old, (size_t)nold, &d, out), CW_ERR_STALE);

	/* Node 1 leaves and comes back as the same process (a partition):
	 * what it sent before stays refused, though its window is gone;
	 * what it sends after, under its next generation, opens. */
	ck_assert_int_eq(clusterlink_peer_remove(b, 1), 0);
	ck_assert_int_eq(clusterlink_peer_add(b, 1, inc[1]), 0);
	ck_assert_int_eq(opened(b, pkt, (size_t)n, &d, out), CW_ERR_STALE);
	ck_assert_int_eq(opened(b, old, (size_t)nold, &d, out), CW_ERR_STALE);
	ck_assert_int_eq(clusterlink_peer_remove(a, 2), 0);
	ck_assert_int_eq(clusterlink_peer_add(a, 2, inc[2]), 0);
	h = tun_fwd(2);
	n = clusterlink_seal(a, &h, inner, sizeof(inner), pkt, sizeof(pkt));
	ck_assert_uint_eq(h.generation, 14);
	memcpy(prev, pkt, (size_t)n);
	nprev = n;
	ck_assert_int_eq(opened(b, pkt, (size_t)n, &d, out), 40);

	/* Node 1 restarts (a new process) with a later start: its packets
	 * do not authenticate until its HELLO's incarnation is known (its
	 * join); then followed. */
	clusterlink_free(a);
	inc[1] = 0x2001;
	a = node(1, 1000, 4);
	h = tun_fwd(2);
	n = clusterlink_seal(a, &h, inner, sizeof(inner), pkt, sizeof(pkt));
	ck_assert_int_eq(opened(b, pkt, (size_t)n, &d, out), CW_ERR_TAG);
	ck_assert_int_eq(clusterlink_peer_remove(b, 1), 0);
	ck_assert_int_eq(clusterlink_peer_add(b, 1, inc[1]), 0);
	memcpy(mid, pkt, (size_t)n);
	nmid = n;
	ck_assert_int_eq(opened(b, pkt, (size_t)n, &d, out), 40);
	ck_assert_uint_eq(d.generation, 1000);
	ck_assert_uint_eq(d.counter, 0);

	/* Node 1 restarts with its clock gone back: a new process, so a new
	 * incarnation; followed from its join on. */
	clusterlink_free(a);
	inc[1] = 0x3001;
	a = node(1, 50, 4);
	h = tun_fwd(2);
	n = clusterlink_seal(a, &h, inner, sizeof(inner), pkt, sizeof(pkt));
	ck_assert_int_eq(opened(b, pkt, (size_t)n, &d, out), CW_ERR_STALE);
	ck_assert_int_eq(clusterlink_peer_remove(b, 1), 0);
	ck_assert_int_eq(opened(b, pkt, (size_t)n, &d, out), CW_ERR_PEER);
	ck_assert_int_eq(clusterlink_peer_add(b, 1, inc[1]), 0);
	/* Its receive state is empty, but the earlier processes' packets,
	 * of any generation, do not authenticate under its incarnation:
	 * nothing recorded before a restart replays after the join. */
	ck_assert_int_eq(opened(b, prev, (size_t)nprev, &d, out), CW_ERR_TAG);
	ck_assert_int_eq(opened(b, mid, (size_t)nmid, &d, out), CW_ERR_TAG);
	ck_assert_int_eq(opened(b, pkt, (size_t)n, &d, out), 40);

	/* A member that leaves and joins again gets a new generation, so
	 * its counter from 0 is under a new key. */
	h = tun_fwd(3);
	clusterlink_seal(a, &h, inner, sizeof(inner), pkt, sizeof(pkt));
	ck_assert_uint_eq(h.generation, 51);
	ck_assert_int_eq(clusterlink_peer_remove(a, 3), 0);
	ck_assert_int_eq(clusterlink_peer_add(a, 3, inc[3]), 0);
	h = tun_fwd(3);
	clusterlink_seal(a, &h, inner, sizeof(inner), pkt, sizeof(pkt));
	ck_assert_uint_eq(h.counter, 0);
	ck_assert_uint_eq(h.generation, 52);
	clusterlink_free(a);
	clusterlink_free(b);
	inc[1] = 0x1001;
}
END_TEST

/*
 * A packet's way through the cluster, opened and sealed in place at each
 * node: 1 receives it and sends it to 2 (hops 1), 2 forwards it to 3
 * (hops 2), 3 to 1 (hops 3), and 1 may not forward it again.
 */
START_TEST(test_link_forward_chain)
{
	struct clusterlink *n[4] = {NULL, node(1, 10, CLUSTERLINK_LIMIT),
	    node(2, 20, CLUSTERLINK_LIMIT), node(3, 30, CLUSTERLINK_LIMIT)};
	static uint8_t      buf[CW_MAX_PKT];
	uint8_t             want[300];
	struct cw_hdr       h, d;
	uint32_t            at = 1;
	int                 len, hops, i;

	ip4(want, sizeof(want), 0x3c);
	memcpy(buf + CW_HDR_LEN, want, sizeof(want));
	h = tun_fwd(2);
	len = clusterlink_seal(
	    n[at], &h, buf + CW_HDR_LEN, sizeof(want), buf, sizeof(buf));
	ck_assert_int_eq(len, (int)sizeof(want) + CW_OVERHEAD);
	for (i = 0; i < CW_MAX_HOPS; i++) {
		at = h.to;
		len = clusterlink_open(n[at], buf, (size_t)len, &d,
		    buf + CW_HDR_LEN, sizeof(buf) - CW_HDR_LEN);
		ck_assert_int_eq(len, (int)sizeof(want));
		ck_assert_mem_eq(buf + CW_HDR_LEN, want, sizeof(want));
		hops = cw_forward_hops(&d);
		if (d.hops == CW_MAX_HOPS) {
			/* At the bound: handled here or dropped, never sent. */
			ck_assert_int_eq(hops, CW_ERR_HOPS);
			ck_assert_uint_eq(at, 1);
			break;
		}
		ck_assert_int_eq(hops, d.hops + 1);
		h = d;
		h.hops = (uint8_t)hops;
		h.to = at == 2 ? 3 : 1;
		len = clusterlink_seal(
		    n[at], &h, buf + CW_HDR_LEN, (size_t)len, buf, sizeof(buf));
		ck_assert_int_eq(len, (int)sizeof(want) + CW_OVERHEAD);
	}
	ck_assert_int_eq(i, CW_MAX_HOPS - 1);
	ck_assert_uint_eq(d.hops, CW_MAX_HOPS);
	ck_assert_uint_eq(d.from, 3);
	/* A sender cannot go past the bound either. */
	h = d;
	h.hops = CW_MAX_HOPS + 1;
	h.to = 2;
	ck_assert_int_eq(
	    clusterlink_seal(n[1], &h, want, sizeof(want), buf, sizeof(buf)),
	    -1);
	clusterlink_free(n[1]);
	clusterlink_free(n[2]);
	clusterlink_free(n[3]);
}
END_TEST

/* An authentic packet whose inner packet is not of its origin: counted,
 * and its counter recorded. */
START_TEST(test_link_inner)
{
	struct clusterlink *a = node(1, 5, CLUSTERLINK_LIMIT);
	struct clusterlink *b = node(2, 6, CLUSTERLINK_LIMIT);
	struct cw_hdr       h, d;
	uint8_t             inner[40], pkt[128], out[128];
	int                 n;

	memset(inner, 0x77, sizeof(inner)); /* IP version 7 */
	h = tun_fwd(2);
	n = clusterlink_seal(a, &h, inner, sizeof(inner), pkt, sizeof(pkt));
	ck_assert_int_eq(opened(b, pkt, (size_t)n, &d, out), CW_ERR_INNER);
	ck_assert_int_eq(opened(b, pkt, (size_t)n, &d, out), CW_ERR_REPLAY);
	ck_assert_uint_eq(clusterlink_counters(b)->drops[-CW_ERR_INNER], 1);
	clusterlink_free(a);
	clusterlink_free(b);
}
END_TEST

/*
 * The derivations, pinned: HKDF-SHA-256 (RFC 5869) with salt "wanpair
 * cluster key v1" and info label ‖ 0 ‖ context, computed apart from this
 * code (Python's hmac).  A change here would split a cluster of old and
 * new nodes, so it fails here first.
 */
START_TEST(test_derive_known)
{
	static const uint8_t director_key[16] = {0x6d, 0x55, 0x75, 0x6a, 0x62,
	    0x46, 0xd7, 0x4a, 0x9b, 0x4e, 0xd0, 0xbe, 0x2a, 0x40, 0x99, 0x0f};
	/* Node 1 to node 2, generation 1000. */
	static const uint8_t ctx[16] = {
	    0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0x03, 0xe8};
	static const uint8_t link_key[32] = {0x20, 0x99, 0x7a, 0x0c, 0xf7, 0xc5,
	    0x47, 0xb2, 0x49, 0x05, 0x56, 0xad, 0xb1, 0x12, 0xd8, 0x62, 0xb9,
	    0x5c, 0xca, 0x90, 0x0d, 0x38, 0x3f, 0xb5, 0x4d, 0x50, 0x7c, 0x44,
	    0x0a, 0x75, 0xda, 0xc0};
	static const uint8_t session_key[32] = {0x92, 0xe1, 0x90, 0x7b, 0xa4,
	    0xe7, 0xb7, 0x83, 0xc0, 0x51, 0x9b, 0x7f, 0x36, 0xad, 0x0c, 0x2c,
	    0xa3, 0x26, 0x71, 0xf1, 0xcb, 0xeb, 0x82, 0x26, 0x10, 0x43, 0xac,
	    0xad, 0x4d, 0x44, 0x85, 0xca};
	struct wp_hash_key   hk;
	uint8_t              k[32], longctx[64] = {0};

	ck_assert_int_eq(clusterkey_hash_key(&ck, &hk), 0);
	ck_assert_mem_eq(hk.k, director_key, sizeof(director_key));
	ck_assert_int_eq(
	    clusterkey_derive(&ck, "link", ctx, sizeof(ctx), k, sizeof(k)), 0);
	ck_assert_mem_eq(k, link_key, sizeof(link_key));
	/* The SESSION messages' key (popd/cluster-session.c). */
	ck_assert_int_eq(clusterkey_session_key(&ck, k), 0);
	ck_assert_mem_eq(k, session_key, sizeof(session_key));
	/* A context too long for the label is refused, not cut. */
	ck_assert_int_eq(
	    clusterkey_derive(&ck, "link", longctx, 60, k, 32), -1);
}
END_TEST

static Suite *
clusterwire_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("clusterwire");
	tc = tcase_create("bytes");
	tcase_add_test(tc, test_known_bytes);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_truncated_exact_oversized);
	tcase_add_test(tc, test_every_reason);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_hop_bound);
	tcase_add_test(tc, test_inner_check);
	suite_add_tcase(s, tc);

	tc = tcase_create("key");
	tcase_add_test(tc, test_key_parse);
	tcase_add_test(tc, test_key_load);
	suite_add_tcase(s, tc);

	tc = tcase_create("link");
	tcase_add_unchecked_fixture(tc, key_setup, NULL);
	tcase_add_test(tc, test_link_round_trip);
	tcase_add_test(tc, test_link_seal_refuses);
	tcase_add_test(tc, test_link_tamper);
	tcase_add_test(tc, test_link_replay);
	tcase_add_test(tc, test_link_nonce_per_sender);
	tcase_add_test(tc, test_link_generations);
	tcase_add_test(tc, test_link_forward_chain);
	tcase_add_test(tc, test_link_inner);
	tcase_add_test(tc, test_derive_known);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(clusterwire_suite());
}
