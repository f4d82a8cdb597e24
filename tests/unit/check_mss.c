/*
 * MSS clamping: a SYN's MSS is lowered and the checksum a receiver
 * computes from scratch still matches; everything else (packets already
 * below, malformed option lists, non-SYNs, other protocols, truncated
 * or garbage bytes) leaves the packet byte for byte as it came.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mss.h"
#include "pkt.h"
#include "check_run.h"

/* Failures only: ck_assert() writes to the parent on every pass. */
#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			ck_abort_msg(__VA_ARGS__);                             \
	} while (0)

#define MAXPKT 256

/* ext: for IPv6, which extension headers go before TCP. */
enum {
	EXT_NONE,
	EXT_DSTOPTS, /* one destination options header */
	EXT_HOP_DST, /* hop-by-hop, then destination options */
	EXT_FRAG1,   /* fragment header, first fragment (M set) */
};

static const uint8_t src4[4] = {192, 0, 2, 1}; /* RFC 5737 */
static const uint8_t dst4[4] = {198, 51, 100, 7};
static const uint8_t src6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t dst6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 2};

/* What Linux puts in a SYN: MSS, SACK permitted, timestamps, NOP, WS. */
static const uint8_t linux_opts[20] = {
    2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 1, 2, 3, 0, 0, 0, 0, 1, 3, 3, 7};

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* One's complement sum of `len` bytes, folded (RFC 1071). */
static uint32_t
sum_bytes(uint32_t s, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += get16(p + i);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/*
 * The TCP checksum a receiver would compute from scratch over the
 * pseudo-header (RFC 9293, 3.1; RFC 8200, 8.1) and the segment, with the
 * checksum field taken as zero.
 */
static uint16_t
tcp_csum(const uint8_t *p, size_t l4off, size_t l4len)
{
	uint8_t  tmp[MAXPKT];
	uint8_t  ph[40];
	uint32_t s;
	size_t   phlen;

	memset(ph, 0, sizeof(ph));
	if (p[0] >> 4 == 4) {
		memcpy(ph, p + 12, 8);
		ph[9] = IPPROTO_TCP;
		put16(ph + 10, (uint16_t)l4len);
		phlen = 12;
	} else {
		memcpy(ph, p + 8, 32);
		put16(ph + 34, (uint16_t)l4len);
		ph[39] = IPPROTO_TCP;
		phlen = 40;
	}
	memcpy(tmp, p + l4off, l4len);
	tmp[16] = tmp[17] = 0;
	s = sum_bytes(0, ph, phlen);
	s = sum_bytes(s, tmp, l4len);
	return (uint16_t)~s;
}

struct syn {
	uint8_t b[MAXPKT];
	size_t  len;
	size_t  l4off;
	size_t  l4len;
	size_t  hlen; /* TCP header */
};

/*
 * A TCP segment with `opts` (padded with END to a word) and `paylen`
 * bytes of data behind an IPv4 or IPv6 header, checksum set.
 */
static void
mk_tcp(struct syn *s, int family, int ext, uint8_t flags, const uint8_t *opts,
    size_t optlen, size_t paylen)
{
	uint8_t *p = s->b, *t;
	size_t   off, i;

	memset(s, 0, sizeof(*s));
	s->hlen = 20 + (optlen + 3) / 4 * 4;
	s->l4len = s->hlen + paylen;
	if (family == AF_INET) {
		p[0] = 0x45;
		p[8] = 64;
		p[9] = IPPROTO_TCP;
		memcpy(p + 12, src4, 4);
		memcpy(p + 16, dst4, 4);
		off = 20;
	} else {
		uint8_t *nh = p + 6;

		p[0] = 0x60;
		p[7] = 64;
		memcpy(p + 8, src6, 16);
		memcpy(p + 24, dst6, 16);
		off = 40;
		if (ext == EXT_HOP_DST) {
			*nh = IPPROTO_HOPOPTS;
			nh = p + off;
			p[off + 2] = 1; /* PadN, 4 bytes of padding */
			p[off + 3] = 4;
			off += 8;
		}
		if (ext == EXT_DSTOPTS || ext == EXT_HOP_DST) {
			*nh = IPPROTO_DSTOPTS;
			nh = p + off;
			p[off + 2] = 1;
			p[off + 3] = 4;
			off += 8;
		}
		if (ext == EXT_FRAG1) {
			*nh = IPPROTO_FRAGMENT;
			nh = p + off;
			put16(p + off + 2, 0x0001); /* offset 0, M */
			p[off + 7] = 42;            /* id */
			off += 8;
		}
		*nh = IPPROTO_TCP;
	}
	s->l4off = off;
	s->len = off + s->l4len;
	if (family == AF_INET)
		put16(p + 2, (uint16_t)s->len);
	else
		put16(p + 4, (uint16_t)(s->len - 40));

	t = p + off;
	put16(t, 40000);
	put16(t + 2, 443);
	t[7] = 1;  /* seq */
	t[11] = 9; /* ack */
	t[12] = (uint8_t)(s->hlen / 4 << 4);
	t[13] = flags;
	put16(t + 14, 64240);
	if (optlen > 0)
		memcpy(t + 20, opts, optlen);
	for (i = 0; i < paylen; i++)
		t[s->hlen + i] = (uint8_t)(i * 7 + 1);
	put16(t + 16, tcp_csum(p, off, s->l4len));
}

/* The value of the MSS option that starts `at` bytes into the options. */
static uint16_t
opt16(const struct syn *s, size_t at)
{
	return get16(s->b + s->l4off + 20 + at + 2);
}

static int
csum_ok(const struct syn *s)
{
	return get16(s->b + s->l4off + 16) ==
	    tcp_csum(s->b, s->l4off, s->l4len);
}

/* Clamps; checks that only the MSS option at `at` and the checksum
 * changed, and that the checksum is what a receiver computes. */
static void
clamp_ok(struct syn *s, size_t at, uint16_t mss)
{
	struct syn orig = *s;
	size_t     i, v = s->l4off + 20 + at + 2, c = s->l4off + 16;

	ck_assert(csum_ok(s));
	ck_assert_int_eq(mss_clamp(s->b, s->len, mss), 1);
	ck_assert_uint_eq(opt16(s, at), mss);
	ck_assert_msg(csum_ok(s), "checksum %04x, receiver computes %04x",
	    get16(s->b + c), tcp_csum(s->b, s->l4off, s->l4len));
	for (i = 0; i < s->len; i++)
		if (i != v && i != v + 1 && i != c && i != c + 1)
			ck_assert_msg(s->b[i] == orig.b[i], "byte %zu", i);
}

static void
untouched(const struct syn *s, uint16_t mss)
{
	struct syn c = *s;

	ck_assert_int_eq(mss_clamp(c.b, c.len, mss), 0);
	ck_assert(memcmp(c.b, s->b, sizeof(c.b)) == 0);
}

START_TEST(clamp_v4)
{
	struct syn s;

	mk_tcp(&s, AF_INET, EXT_NONE, 0x02, linux_opts, sizeof(linux_opts), 0);
	clamp_ok(&s, 0, 1400);
	/* done once: a second pass has nothing left to do */
	untouched(&s, 1400);
}
END_TEST

START_TEST(clamp_v6)
{
	static const int exts[] = {EXT_NONE, EXT_DSTOPTS, EXT_HOP_DST};
	struct syn       s;
	size_t           i;

	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		mk_tcp(&s, AF_INET6, exts[i], 0x02, linux_opts,
		    sizeof(linux_opts), 0);
		clamp_ok(&s, 0, 1380);
	}
}
END_TEST

START_TEST(clamp_synack)
{
	struct syn s;

	mk_tcp(&s, AF_INET, EXT_NONE, 0x12, linux_opts, sizeof(linux_opts), 0);
	clamp_ok(&s, 0, 1400);
	mk_tcp(
	    &s, AF_INET6, EXT_DSTOPTS, 0x12, linux_opts, sizeof(linux_opts), 0);
	clamp_ok(&s, 0, 1380);
	/* a SYN carrying data (TFO) is clamped all the same */
	mk_tcp(&s, AF_INET, EXT_NONE, 0x02, linux_opts, sizeof(linux_opts), 33);
	clamp_ok(&s, 0, 1400);
}
END_TEST

START_TEST(below_or_equal)
{
	uint8_t    o[4] = {2, 4, 0, 0};
	struct syn s;

	put16(o + 2, 1300);
	mk_tcp(&s, AF_INET, EXT_NONE, 0x02, o, 4, 0);
	untouched(&s, 1400);
	put16(o + 2, 1400);
	mk_tcp(&s, AF_INET6, EXT_NONE, 0x02, o, 4, 0);
	untouched(&s, 1400);
	put16(o + 2, 1401);
	mk_tcp(&s, AF_INET6, EXT_NONE, 0x02, o, 4, 0);
	clamp_ok(&s, 0, 1400);
}
END_TEST

START_TEST(no_mss_option)
{
	static const uint8_t ws[4] = {1, 3, 3, 7};
	static const uint8_t end[4] = {0, 2, 4, 5}; /* MSS after END */
	struct syn           s;

	mk_tcp(&s, AF_INET, EXT_NONE, 0x02, NULL, 0, 0);
	untouched(&s, 1400);
	mk_tcp(&s, AF_INET, EXT_NONE, 0x02, ws, sizeof(ws), 0);
	untouched(&s, 1400);
	mk_tcp(&s, AF_INET6, EXT_NONE, 0x02, end, sizeof(end), 0);
	untouched(&s, 1000);
}
END_TEST

START_TEST(nops_before_mss)
{
	uint8_t    o[12];
	struct syn s;
	size_t     nops;

	/* 1 and 3 NOPs put the value on an odd offset, across two of
	 * the words the checksum adds */
	for (nops = 0; nops <= 8; nops++) {
		memset(o, 1, nops);
		o[nops] = 2;
		o[nops + 1] = 4;
		put16(o + nops + 2, 9000);
		mk_tcp(&s, AF_INET, EXT_NONE, 0x02, o, nops + 4, 0);
		clamp_ok(&s, nops, 1400);
		mk_tcp(&s, AF_INET6, EXT_DSTOPTS, 0x02, o, nops + 4, 0);
		clamp_ok(&s, nops, 1380);
	}
}
END_TEST

START_TEST(every_mss_option)
{
	/* Linux keeps the last MSS option it sees: all are clamped */
	static const uint8_t o[13] = {
	    2, 4, 0x23, 0x28, 1, 2, 4, 0x05, 0xb4, 2, 4, 0x02, 0x00};
	/* an MSS of another length is ignored by receivers, and here */
	static const uint8_t odd[8] = {2, 6, 0x23, 0x28, 0, 0, 1, 1};
	struct syn           s, orig;

	mk_tcp(&s, AF_INET, EXT_NONE, 0x02, o, sizeof(o), 0);
	orig = s;
	ck_assert_int_eq(mss_clamp(s.b, s.len, 1400), 1);
	ck_assert_uint_eq(opt16(&s, 0), 1400);
	ck_assert_uint_eq(opt16(&s, 5), 1400);
	ck_assert_uint_eq(opt16(&s, 9), 512); /* already below */
	ck_assert(csum_ok(&s));
	ck_assert(memcmp(s.b, orig.b, s.l4off + 16) == 0);

	mk_tcp(&s, AF_INET, EXT_NONE, 0x02, odd, sizeof(odd), 0);
	untouched(&s, 1400);
}
END_TEST

START_TEST(malformed_options)
{
	/* length 0, length 1, running past the header; before and after
	 * a valid MSS */
	static const uint8_t bad[][8] = {
	    {2, 4, 0x23, 0x28, 8, 0, 0, 0}, {2, 4, 0x23, 0x28, 8, 1, 0, 0},
	    {2, 4, 0x23, 0x28, 8, 5, 0, 0}, {2, 4, 0x23, 0x28, 1, 1, 1, 8},
	    {8, 0, 2, 4, 0x23, 0x28, 0, 0}, {8, 1, 2, 4, 0x23, 0x28, 0, 0},
	    {1, 1, 2, 4, 0x23, 0x28, 8, 9},
	    {1, 1, 1, 1, 1, 1, 1, 2}, /* kind without a length byte */
	    {1, 1, 1, 1, 1, 1, 2, 4}, /* MSS cut by the header end */
	};
	struct syn s;
	size_t     i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mk_tcp(&s, AF_INET, EXT_NONE, 0x02, bad[i], 8, 0);
		untouched(&s, 1400);
		mk_tcp(&s, AF_INET6, EXT_NONE, 0x02, bad[i], 8, 0);
		untouched(&s, 1380);
	}
}
END_TEST

START_TEST(not_a_syn)
{
	static const uint8_t flags[] = {0x10, 0x18, 0x11, 0x04, 0x01, 0};
	struct syn           s;
	size_t               i;

	for (i = 0; i < sizeof(flags); i++) {
		mk_tcp(&s, AF_INET, EXT_NONE, flags[i], linux_opts,
		    sizeof(linux_opts), 10);
		untouched(&s, 1400);
	}
	/* UDP whose bytes would read as a SYN with MSS 1460 */
	mk_tcp(&s, AF_INET, EXT_NONE, 0x02, linux_opts, sizeof(linux_opts), 0);
	s.b[9] = IPPROTO_UDP;
	untouched(&s, 1400);
	mk_tcp(
	    &s, AF_INET6, EXT_DSTOPTS, 0x02, linux_opts, sizeof(linux_opts), 0);
	s.b[40] = IPPROTO_UDP;
	untouched(&s, 1400);
}
END_TEST

START_TEST(fragments)
{
	struct syn s;

	/* a first fragment carrying the whole TCP header: clamped */
	mk_tcp(&s, AF_INET, EXT_NONE, 0x02, linux_opts, sizeof(linux_opts), 0);
	put16(s.b + 6, 0x2000);
	put16(s.b + s.l4off + 16, tcp_csum(s.b, s.l4off, s.l4len));
	clamp_ok(&s, 0, 1400);
	mk_tcp(
	    &s, AF_INET6, EXT_FRAG1, 0x02, linux_opts, sizeof(linux_opts), 0);
	clamp_ok(&s, 0, 1380);
	/* a later fragment: its bytes are data, not a header */
	mk_tcp(&s, AF_INET, EXT_NONE, 0x02, linux_opts, sizeof(linux_opts), 0);
	put16(s.b + 6, 0x0003);
	untouched(&s, 1400);
	mk_tcp(
	    &s, AF_INET6, EXT_FRAG1, 0x02, linux_opts, sizeof(linux_opts), 0);
	put16(s.b + 42, 0x0018);
	untouched(&s, 1380);
	/* a first fragment too short for the TCP header it announces */
	mk_tcp(&s, AF_INET, EXT_NONE, 0x02, linux_opts, sizeof(linux_opts), 0);
	put16(s.b + 6, 0x2000);
	put16(s.b + 2, 20 + 32);
	s.len = 20 + 32;
	untouched(&s, 1400);
}
END_TEST

/*
 * Every prefix of every kind of SYN, in a heap block of exactly that
 * size (so AddressSanitizer sees a read past it), both as cut bytes and
 * with the IP length rewritten to match the cut.
 */
START_TEST(truncated)
{
	static const int fam[] = {AF_INET, AF_INET6, AF_INET6, AF_INET6};
	static const int ext[] = {EXT_NONE, EXT_NONE, EXT_HOP_DST, EXT_FRAG1};
	struct syn       s, ref;
	uint8_t         *p;
	size_t           k, n, fix;
	int              rc;

	for (k = 0; k < 4; k++) {
		mk_tcp(&s, fam[k], ext[k], 0x02, linux_opts, sizeof(linux_opts),
		    0);
		for (n = 0; n < s.len; n++) {
			for (fix = 0; fix < 2; fix++) {
				ref = s;
				if (fix && fam[k] == AF_INET && n >= 4)
					put16(ref.b + 2, (uint16_t)n);
				if (fix && fam[k] == AF_INET6 && n >= 6)
					put16(ref.b + 4, (uint16_t)(n - 40));
				p = malloc(n ? n : 1);
				CHECK(p != NULL, "malloc");
				memcpy(p, ref.b, n);
				rc = mss_clamp(p, n, 1200);
				CHECK(rc == 0, "clamped a %zu-byte prefix", n);
				CHECK(memcmp(p, ref.b, n) == 0,
				    "changed a %zu-byte prefix", n);
				free(p);
			}
		}
	}
}
END_TEST

/* The folded one's complement sum of the TCP header, +0 and -0 equal. */
static uint32_t
hdr_sum(const uint8_t *p, size_t len)
{
	uint32_t s = sum_bytes(0, p, len);

	return s == 0xffff ? 0 : s;
}

static uint64_t
xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/*
 * Random bytes, and valid SYNs with random bytes changed: never a read
 * or write past the end; unchanged when it says 0; when it says 1, only
 * the TCP header's checksum and options changed, the header's sum is
 * what it was (a checksum that was right stays right), and a second
 * pass finds nothing left to do.
 */
START_TEST(garbage)
{
	static const uint16_t mss[] = {0, 536, 1220, 1380, 1400, 65535};
	uint8_t               orig[MAXPKT], *buf;
	struct pkt_info       pi;
	struct syn            s;
	uint64_t              x = 0x9e3779b97f4a7c15ULL;
	size_t                len, i, l4, hl;
	uint16_t              m;
	int                   iter, rc, changed = 0;

	for (iter = 0; iter < 100000; iter++) {
		m = mss[xorshift(&x) % 6];
		if (iter & 1) {
			len = (x >> 8) % (MAXPKT + 1);
			for (i = 0; i < len; i++)
				orig[i] = (uint8_t)xorshift(&x);
			if (len > 0)
				orig[0] = (uint8_t)((iter & 2 ? 0x40 : 0x60) |
				    (orig[0] & 0x0f));
		} else {
			mk_tcp(&s, (iter & 2) ? AF_INET : AF_INET6,
			    (int)((x >> 12) % 4), 0x02, linux_opts,
			    sizeof(linux_opts), (x >> 20) % 16);
			len = s.len;
			memcpy(orig, s.b, len);
			for (i = 0; i < 1 + (x >> 40) % 3; i++) {
				xorshift(&x);
				orig[(x >> 16) % len] = (uint8_t)x;
			}
		}
		/* exactly `len` bytes, so AddressSanitizer sees overruns */
		buf = malloc(len ? len : 1);
		CHECK(buf != NULL, "malloc");
		memcpy(buf, orig, len);
		rc = mss_clamp(buf, len, m);
		if (rc == 0) {
			CHECK(memcmp(buf, orig, len) == 0,
			    "changed but returned 0 (iter %d)", iter);
			free(buf);
			continue;
		}
		CHECK(rc == 1, "returned %d", rc);
		changed++;
		CHECK(pkt_parse(orig, len, 0, &pi) == PKT_OK, "clamped junk");
		l4 = pi.l4_off;
		hl = (size_t)(orig[l4 + 12] >> 4) * 4;
		CHECK(l4 + hl <= len, "header past the end");
		CHECK(memcmp(buf, orig, l4 + 16) == 0, "IP header changed");
		CHECK(memcmp(buf + l4 + 18, orig + l4 + 18, 2) == 0,
		    "urgent pointer changed");
		CHECK(memcmp(buf + l4 + hl, orig + l4 + hl, len - l4 - hl) == 0,
		    "data changed (iter %d)", iter);
		CHECK(hdr_sum(buf + l4, hl) == hdr_sum(orig + l4, hl),
		    "sum moved (iter %d)", iter);
		CHECK(mss_clamp(buf, len, m) == 0, "not idempotent");
		free(buf);
	}
	/* the mutated SYNs must have exercised the clamp itself */
	ck_assert_int_gt(changed, 1000);
}
END_TEST

START_TEST(for_mtu)
{
	ck_assert_uint_eq(mss_for_mtu(AF_INET, 1440), 1400);
	ck_assert_uint_eq(mss_for_mtu(AF_INET6, 1440), 1380);
	ck_assert_uint_eq(mss_for_mtu(AF_INET, 1500), 1460);
	ck_assert_uint_eq(mss_for_mtu(AF_INET6, 1280), 1220);
	ck_assert_uint_eq(mss_for_mtu(AF_INET, 40), 0);
	ck_assert_uint_eq(mss_for_mtu(AF_INET6, 60), 0);
	ck_assert_uint_eq(mss_for_mtu(AF_INET, -1), 0);
	ck_assert_uint_eq(mss_for_mtu(AF_INET, 70000), 0);
	ck_assert_uint_eq(mss_for_mtu(AF_UNIX, 1500), 0);
}
END_TEST

static Suite *
mss_suite(void)
{
	Suite *s = suite_create("mss");
	TCase *tc = tcase_create("mss");

	tcase_add_test(tc, clamp_v4);
	tcase_add_test(tc, clamp_v6);
	tcase_add_test(tc, clamp_synack);
	tcase_add_test(tc, below_or_equal);
	tcase_add_test(tc, no_mss_option);
	tcase_add_test(tc, nops_before_mss);
	tcase_add_test(tc, every_mss_option);
	tcase_add_test(tc, malformed_options);
	tcase_add_test(tc, not_a_syn);
	tcase_add_test(tc, fragments);
	tcase_add_test(tc, truncated);
	tcase_add_test(tc, garbage);
	tcase_add_test(tc, for_mtu);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(mss_suite());
}
