#include "autoconf.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "check_run.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

static const char *why_host_bits = "host bits set after the prefix length";
static const char *why_no_len =
    "not a prefix (ADDRESS/LENGTH): the /LENGTH is missing";
static const char *why_bad_len = "not a prefix (ADDRESS/LENGTH): bad length";
static const char *why_v4_len = "not a prefix: length must be 0..32";
static const char *why_v6_len = "not a prefix: length must be 0..128";

static struct wp_prefix
prefix(const char *s)
{
	struct wp_prefix p;
	const char      *why = NULL;

	ck_assert_msg(prefix_parse(s, &p, &why) == 0, "%s: %s", s,
	    why != NULL ? why : "(no reason)");
	return p;
}

static int
contains(const char *pfx, const char *addr)
{
	struct wp_prefix p = prefix(pfx);
	struct wp_addr   a;

	ck_assert_msg(addr_parse(addr, &a) == 0, "%s", addr);
	return prefix_contains(&p, a.family, a.a);
}

/* One bit of an address, counted from the most significant. */
static int
bit(const uint8_t *a, unsigned i)
{
	return a[i / 8] >> (7 - i % 8) & 1;
}

static void
flip(uint8_t *a, unsigned i)
{
	a[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
}

START_TEST(test_parse_v4)
{
	static const uint8_t want[16] = {198, 18, 0, 1};
	struct wp_addr       a;

	/* The 12 unused bytes are zero whatever was there before. */
	memset(&a, 0xff, sizeof(a));
	ck_assert_int_eq(addr_parse("198.18.0.1", &a), 0);
	ck_assert_int_eq(a.family, AF_INET);
	ck_assert_mem_eq(a.a, want, sizeof(want));
	ck_assert_int_eq(addr_bits(AF_INET), 32);
}
END_TEST

START_TEST(test_parse_v6)
{
	static const uint8_t want[16] = {
	    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	static const uint8_t mapped[16] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 18, 0, 1};
	struct wp_addr a;

	ck_assert_int_eq(addr_parse("2001:db8::1", &a), 0);
	ck_assert_int_eq(a.family, AF_INET6);
	ck_assert_mem_eq(a.a, want, sizeof(want));
	ck_assert_int_eq(addr_parse("2001:0DB8:0:0:0:0:0:1", &a), 0);
	ck_assert_mem_eq(a.a, want, sizeof(want));
	/* A v4-mapped address stays IPv6: families are never merged. */
	ck_assert_int_eq(addr_parse("::ffff:198.18.0.1", &a), 0);
	ck_assert_int_eq(a.family, AF_INET6);
	ck_assert_mem_eq(a.a, mapped, sizeof(mapped));
	ck_assert_int_eq(addr_bits(AF_INET6), 128);
}
END_TEST

START_TEST(test_parse_garbage)
{
	static const char *bad[] = {"", " ", "1.2.3", "1.2.3.4.5", "256.1.1.1",
	    "1.2.3.-4", " 1.2.3.4", "1.2.3.4 ", "1.2.3.4/32", "0x7f.0.0.1",
	    "example.com", "localhost", "::g", ":::", "1:2:3:4:5:6:7:8:9",
	    "2001:db8::1::2", "fe80::1%eth0", "[::1]", "2001:db8::/32"};
	struct wp_addr     a;
	size_t             i;

	for (i = 0; i < NITEMS(bad); i++)
		ck_assert_msg(addr_parse(bad[i], &a) == -1,
		    "\"%s\" parsed as an address", bad[i]);
}
END_TEST

START_TEST(test_prefix_good)
{
	static const struct {
		const char *in;
		int         family;
		unsigned    len;
	} good[] = {{"0.0.0.0/0", AF_INET, 0}, {"198.18.0.0/15", AF_INET, 15},
	    {"203.0.113.7/32", AF_INET, 32}, {"::/0", AF_INET6, 0},
	    {"2001:db8::/32", AF_INET6, 32},
	    {"2001:db8::1/128", AF_INET6, 128}};
	struct wp_prefix p;
	const char      *why;
	size_t           i;

	for (i = 0; i < NITEMS(good); i++) {
		why = "untouched";
		ck_assert_msg(prefix_parse(good[i].in, &p, &why) == 0, "%s: %s",
		    good[i].in, why);
		ck_assert_int_eq(p.addr.family, good[i].family);
		ck_assert_uint_eq(p.len, good[i].len);
	}
	/* why may be NULL for callers that do not report. */
	ck_assert_int_eq(prefix_parse("10.0.0.0/8", &p, NULL), 0);
	ck_assert_int_eq(prefix_parse("10.0.0.1/8", &p, NULL), -1);
}
END_TEST

START_TEST(test_prefix_bad)
{
	static const struct {
		const char  *in;
		const char **why;
	} bad[] = {/* A typo for 10.0.0.0/8 or for 10.0.0.1/32: ask. */
	    {"10.0.0.1/8", &why_host_bits}, {"198.18.1.0/23", &why_host_bits},
	    {"2001:db8::1/64", &why_host_bits},
	    {"2001:db8::1/127", &why_host_bits},
	    {"128.0.0.0/0", &why_host_bits}, {"10.0.0.0", &why_no_len},
	    {"2001:db8::", &why_no_len}, {"10.0.0.0/", &why_bad_len},
	    {"10.0.0.0/-1", &why_bad_len}, {"10.0.0.0/+8", &why_bad_len},
	    {"10.0.0.0/ 8", &why_bad_len}, {"10.0.0.0/x", &why_bad_len},
	    {"10.0.0.0/8 ", &why_bad_len}, {"10.0.0.0/33", &why_v4_len},
	    {"10.0.0.0/08", &why_bad_len}, {"10.0.0.0/8x", &why_bad_len},
	    {"10.0.0.0/8/8", &why_bad_len}, {"10.0.0.0/0x8", &why_bad_len},
	    {"10.0.0.0/18446744073709551617", &why_v4_len},
	    {"2001:db8::/129", &why_v6_len}, {"::/256", &why_v6_len}};
	struct wp_prefix p;
	const char      *why;
	size_t           i;

	for (i = 0; i < NITEMS(bad); i++) {
		why = NULL;
		ck_assert_msg(prefix_parse(bad[i].in, &p, &why) == -1,
		    "\"%s\" parsed as a prefix", bad[i].in);
		ck_assert_ptr_nonnull(why);
		ck_assert_msg(strcmp(why, *bad[i].why) == 0,
		    "\"%s\": got \"%s\", want \"%s\"", bad[i].in, why,
		    *bad[i].why);
	}
}
END_TEST

START_TEST(test_prefix_bad_address)
{
	static const char *bad[] = {
	    "/8", "10.0.0/8", "example.com/8", "10.0.0.0 /8", "2001:db8::g/32"};
	char             huge[PREFIX_STRLEN * 2];
	struct wp_prefix p;
	const char      *why;
	size_t           i;

	for (i = 0; i < NITEMS(bad); i++) {
		why = NULL;
		ck_assert_int_eq(prefix_parse(bad[i], &p, &why), -1);
		ck_assert_str_eq(
		    why, "not a prefix (ADDRESS/LENGTH): bad address");
	}
	/* Longer than any prefix: refused before it is copied anywhere. */
	memset(huge, '1', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	ck_assert_int_eq(prefix_parse(huge, &p, &why), -1);
	ck_assert_str_eq(why, "not a prefix (ADDRESS/LENGTH)");
}
END_TEST

START_TEST(test_contains_odd_lengths)
{
	/* /0 holds every address of its family. */
	ck_assert(contains("0.0.0.0/0", "0.0.0.0"));
	ck_assert(contains("0.0.0.0/0", "255.255.255.255"));
	ck_assert(contains("::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));

	/* /1: only the top bit counts. */
	ck_assert(contains("128.0.0.0/1", "128.0.0.0"));
	ck_assert(contains("128.0.0.0/1", "255.255.255.255"));
	ck_assert(!contains("128.0.0.0/1", "127.255.255.255"));
	ck_assert(contains("0.0.0.0/1", "127.255.255.255"));
	ck_assert(!contains("0.0.0.0/1", "128.0.0.0"));

	/* /23 ends inside the third byte. */
	ck_assert(contains("198.18.0.0/23", "198.18.0.0"));
	ck_assert(contains("198.18.0.0/23", "198.18.1.255"));
	ck_assert(!contains("198.18.0.0/23", "198.18.2.0"));
	ck_assert(!contains("198.18.0.0/23", "198.17.255.255"));
	ck_assert(!contains("198.18.0.0/23", "199.18.0.0"));

	/* /127: a point-to-point pair (RFC 6164). */
	ck_assert(contains("2001:db8::/127", "2001:db8::"));
	ck_assert(contains("2001:db8::/127", "2001:db8::1"));
	ck_assert(!contains("2001:db8::/127", "2001:db8::2"));
	ck_assert(!contains("2001:db8::2/127", "2001:db8::1"));
	ck_assert(contains("2001:db8::2/127", "2001:db8::3"));

	/* /128 and /32: one address. */
	ck_assert(contains("2001:db8::1/128", "2001:db8::1"));
	ck_assert(!contains("2001:db8::1/128", "2001:db8::"));
	ck_assert(!contains("2001:db8::1/128", "2001:db9::1"));
	ck_assert(contains("203.0.113.7/32", "203.0.113.7"));
	ck_assert(!contains("203.0.113.7/32", "203.0.113.6"));
}
END_TEST

/*
 * For every length: the prefix of an address holds it, flipping any bit
 * inside the prefix leaves it, and flipping bits after it does not.
 */
START_TEST(test_contains_every_length)
{
	static const char *addrs[] = {"203.0.113.77", "255.255.255.255",
	    "0.0.0.0", "2001:db8:85a3::8a2e:370:7334",
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::"};
	struct wp_prefix   p;
	struct wp_addr     a;
	uint8_t            b[16];
	unsigned           len, i, bits;
	size_t             k;
	int                in;

	for (k = 0; k < NITEMS(addrs); k++) {
		ck_assert_int_eq(addr_parse(addrs[k], &a), 0);
		bits = addr_bits(a.family);
		for (len = 0; len <= bits; len++) {
			p.addr = a;
			p.len = (uint8_t)len;
			addr_mask(p.addr.family, p.addr.a, len);
			ck_assert(prefix_contains(&p, a.family, a.a));
			for (i = 0; i < bits; i++) {
				memcpy(b, a.a, sizeof(b));
				flip(b, i);
				in = prefix_contains(&p, a.family, b);
				ck_assert_msg(in == (i >= len),
				    "%s/%u, bit %u flipped: contains %d",
				    addrs[k], len, i, in);
			}
		}
	}
}
END_TEST

START_TEST(test_family_mismatch)
{
	struct wp_prefix v4 = prefix("0.0.0.0/0"), v6 = prefix("::/0");
	uint8_t          zero[16] = {0};

	/* The same 16 bytes are a different address in the other family. */
	ck_assert(prefix_contains(&v4, AF_INET, zero));
	ck_assert(!prefix_contains(&v4, AF_INET6, zero));
	ck_assert(prefix_contains(&v6, AF_INET6, zero));
	ck_assert(!prefix_contains(&v6, AF_INET, zero));
	ck_assert(!contains("0.0.0.0/0", "::ffff:198.18.0.1"));
	ck_assert(!contains("::ffff:0.0.0.0/96", "198.18.0.1"));
}
END_TEST

START_TEST(test_mask)
{
	struct wp_addr a;
	unsigned       len, i, bits;
	uint8_t        m[16];

	/* Compared bit by bit with what a mask of `len` means. */
	for (len = 0; len <= 128; len++) {
		ck_assert_int_eq(
		    addr_parse(len <= 32
			    ? "255.255.255.255"
			    : "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
			&a),
		    0);
		bits = addr_bits(a.family);
		memcpy(m, a.a, sizeof(m));
		addr_mask(a.family, m, len);
		for (i = 0; i < bits; i++)
			ck_assert_msg(bit(m, i) == (i < len),
			    "/%u: bit %u is %d", len, i, bit(m, i));
		/* Never writes past the family's bytes. */
		for (i = bits / 8; i < 16; i++)
			ck_assert_uint_eq(m[i], a.a[i]);
	}
	/* IPv4 masking must not touch the bytes an IPv6 address would use. */
	memset(m, 0xff, sizeof(m));
	addr_mask(AF_INET, m, 8);
	ck_assert_uint_eq(m[0], 0xff);
	ck_assert_uint_eq(m[1], 0);
	ck_assert_uint_eq(m[3], 0);
	ck_assert_uint_eq(m[4], 0xff);
	ck_assert_uint_eq(m[15], 0xff);
}
END_TEST

START_TEST(test_format_round_trip)
{
	static const struct {
		const char *in, *out;
	} addrs[] = {{"198.18.0.1", "198.18.0.1"}, {"0.0.0.0", "0.0.0.0"},
	    {"255.255.255.255", "255.255.255.255"},
	    /* RFC 5952: lower case, longest zero run compressed. */
	    {"2001:0DB8:0:0:0:0:0:1", "2001:db8::1"},
	    {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"}, {"::", "::"},
	    {"::1", "::1"}, {"::ffff:198.18.0.1", "::ffff:198.18.0.1"}},
	  prefixes[] = {{"0.0.0.0/0", "0.0.0.0/0"},
	      {"198.18.0.0/15", "198.18.0.0/15"},
	      {"203.0.113.7/32", "203.0.113.7/32"}, {"::/0", "::/0"},
	      {"2001:DB8:0::/48", "2001:db8::/48"},
	      {"2001:db8::1/128", "2001:db8::1/128"}};
	char             buf[PREFIX_STRLEN];
	struct wp_prefix p, q;
	struct wp_addr   a, b;
	size_t           i;

	for (i = 0; i < NITEMS(addrs); i++) {
		ck_assert_int_eq(addr_parse(addrs[i].in, &a), 0);
		ck_assert_str_eq(addr_ntop(&a, buf, ADDR_STRLEN), addrs[i].out);
		ck_assert_str_eq(addr_ntop_raw(a.family, a.a, buf, ADDR_STRLEN),
		    addrs[i].out);
		ck_assert_int_eq(addr_parse(buf, &b), 0);
		ck_assert_mem_eq(&a, &b, sizeof(a));
	}
	for (i = 0; i < NITEMS(prefixes); i++) {
		p = prefix(prefixes[i].in);
		ck_assert_str_eq(
		    prefix_ntop(&p, buf, sizeof(buf)), prefixes[i].out);
		q = prefix(buf);
		ck_assert_mem_eq(&p, &q, sizeof(p));
	}
	/* The longest text each form can take fits its constant. */
	ck_assert_int_eq(addr_parse("ffff:ffff:ffff:ffff:ffff:ffff:"
				    "255.255.255.255",
			     &a),
	    0);
	ck_assert_uint_lt(strlen(addr_ntop(&a, buf, ADDR_STRLEN)), ADDR_STRLEN);
	p = prefix("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	ck_assert_uint_lt(
	    strlen(prefix_ntop(&p, buf, sizeof(buf))), PREFIX_STRLEN);
}
END_TEST

START_TEST(test_format_small_buffer)
{
	struct wp_addr a;
	char           buf[8];

	/* Too small for the address: a marker, never a cut-off address. */
	ck_assert_int_eq(addr_parse("198.18.0.1", &a), 0);
	ck_assert_str_eq(addr_ntop(&a, buf, sizeof(buf)), "?");
}
END_TEST

static Suite *
addr_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("addr");

	tc = tcase_create("parse");
	tcase_add_test(tc, test_parse_v4);
	tcase_add_test(tc, test_parse_v6);
	tcase_add_test(tc, test_parse_garbage);
	suite_add_tcase(s, tc);

	tc = tcase_create("prefix");
	tcase_add_test(tc, test_prefix_good);
	tcase_add_test(tc, test_prefix_bad);
	tcase_add_test(tc, test_prefix_bad_address);
	tcase_add_test(tc, test_contains_odd_lengths);
	tcase_add_test(tc, test_contains_every_length);
	tcase_add_test(tc, test_family_mismatch);
	tcase_add_test(tc, test_mask);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_test(tc, test_format_round_trip);
	tcase_add_test(tc, test_format_small_buffer);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return check_run(addr_suite());
}
