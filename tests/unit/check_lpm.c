/*
 * Longest-prefix match (common/lpm.c) and what is built on it: a
 * balance's route selection (common/rtable.c) and popd's site of an
 * address (popd/session.c).  Each is held against the linear walk it
 * replaced, written out again here, over random prefixes and addresses
 * from a fixed seed, and against the cases a user would hit first: /0,
 * host routes, nested LANs, a link going down under the most specific
 * route, equal prefixes and metrics.
 *
 * The seed is printed; WANPAIR_LPM_SEED=<n> replays a failure.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <check.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance.h"
#include "check_run.h"
#include "config.h"
#include "daemon.h"
#include "flow.h"
#include "log.h"
#include "lpm.h"
#include "popd.h"

static uint64_t seed = UINT64_C(0x1a5e2024c0ffee01);
static uint64_t rng;

static uint64_t
next(void)
{
	uint64_t z = (rng += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static unsigned
below(unsigned n)
{
	return (unsigned)(next() % n);
}

/* ------------------------------------------------ the linear reference */

static unsigned
bits_of(int family)
{
	return family == AF_INET ? 32 : 128;
}

/* Bit by bit, unlike lpm.c's masked words. */
static int
ref_contains(
    int pfam, const uint8_t *p, unsigned len, int family, const uint8_t *a)
{
	unsigned i;

	if (pfam != family)
		return 0;
	for (i = 0; i < len; i++)
		if (((p[i / 8] ^ a[i / 8]) >> (7 - i % 8)) & 1)
			return 0;
	return 1;
}

static void
flip(uint8_t *a, unsigned i)
{
	a[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
}

struct rpfx {
	uint8_t  a[16];
	unsigned len;
	int      family;
};

/* Addresses near a few bases, so prefixes nest and share branches. */
static uint8_t bases[2][8][16];

static void
make_bases(void)
{
	unsigned f, i, j;

	for (f = 0; f < 2; f++)
		for (i = 0; i < 8; i++)
			for (j = 0; j < 16; j++)
				bases[f][i][j] = (uint8_t)next();
}

static void
near_addr(int family, uint8_t *a)
{
	unsigned bits = bits_of(family), k, n;

	memset(a, 0, 16);
	if (below(16) == 0) {
		for (k = 0; k < bits / 8; k++)
			a[k] = (uint8_t)next();
		return;
	}
	memcpy(a, bases[family == AF_INET6][below(8)], bits / 8);
	for (k = 0, n = below(4); k < n; k++)
		flip(a, below(bits));
}

static void
rand_prefix(int family, struct rpfx *p)
{
	unsigned bits = bits_of(family), i;

	p->family = family;
	near_addr(family, p->a);
	/* Short prefixes are few in a real table: mostly 8..bits. */
	p->len = below(8) == 0 ? below(bits + 1) : 8 + below(bits - 7);
	for (i = p->len; i < bits; i++)
		if (below(2))
			flip(p->a, i); /* host bits: ignored */
}

/* An address in p, or next to it. */
static void
addr_in(const struct rpfx *p, uint8_t *a)
{
	unsigned bits = bits_of(p->family), i;

	memcpy(a, p->a, 16);
	for (i = p->len; i < bits; i++)
		if (below(2))
			flip(a, i);
	if (p->len > 0 && below(4) == 0)
		flip(a, below(p->len));
}

/* ------------------------------------------------------------- lpm */

static int
parse(const char *s, uint8_t *a)
{
	int family = strchr(s, ':') != NULL ? AF_INET6 : AF_INET;

	memset(a, 0, 16);
	ck_assert_int_eq(inet_pton(family, s, a), 1);
	return family;
}

static int
ins(struct lpm *l, const char *s, unsigned len, uint32_t v)
{
	uint8_t a[16];
	int     family = parse(s, a);

	return lpm_insert(l, family, a, len, v);
}

/* The value of the longest match, or -1. */
static long
look(const struct lpm *l, const char *s)
{
	uint8_t  a[16];
	uint32_t v;
	int      family = parse(s, a);

	return lpm_lookup(l, family, a, &v) ? (long)v : -1;
}

START_TEST(lpm_random_against_linear)
{
	enum { NPFX = 1500, NLOOK = 20000 };
	static struct rpfx p[NPFX];
	struct lpm        *l;
	uint32_t           out[LPM_MATCHES_MAX], v;
	uint8_t            lens[LPM_MATCHES_MAX], a[16];
	int                first[129];
	int                family = _i == 0 ? AF_INET : AF_INET6;
	unsigned           bits = bits_of(family), i, j, n, k, dups = 0;
	unsigned           hits = 0, deep = 0;
	long               want;
	int                rc;

	rng = seed + (uint64_t)_i;
	make_bases();
	ck_assert_ptr_nonnull(l = lpm_new());
	for (i = 0; i < NPFX; i++) {
		rand_prefix(family, &p[i]);
		for (j = 0; j < i; j++)
			if (p[j].len == p[i].len &&
			    ref_contains(
				family, p[j].a, p[j].len, family, p[i].a))
				break;
		rc = lpm_insert(l, family, p[i].a, p[i].len, i);
		ck_assert_msg(rc == (j < i),
		    "seed %" PRIu64 ": prefix %u (/%u) insert %d, earlier "
		    "equal %u",
		    seed, i, p[i].len, rc, j);
		dups += j < i;
		/* An equal prefix keeps its first value. */
		ck_assert_int_eq(lpm_find(l, family, p[i].a, p[i].len, &v), 1);
		ck_assert_uint_eq(v, j < i ? j : i);
	}
	ck_assert_uint_eq(lpm_count(l), NPFX - dups);

	for (k = 0; k < NLOOK; k++) {
		if (k % 2 == 0)
			addr_in(&p[below(NPFX)], a);
		else
			near_addr(family, a);
		for (j = 0; j <= bits; j++)
			first[j] = -1;
		for (i = 0; i < NPFX; i++)
			if (first[p[i].len] == -1 &&
			    ref_contains(family, p[i].a, p[i].len, family, a))
				first[p[i].len] = (int)i;
		want = -1;
		for (j = bits + 1; j-- > 0 && want == -1;)
			want = first[j];

		rc = lpm_lookup(l, family, a, &v);
		ck_assert_msg(rc == (want != -1) && (want == -1 || v == want),
		    "seed %" PRIu64 ": lookup %u: got %d/%u, want %ld", seed, k,
		    rc, v, want);
		/* Every match: walked backwards, most specific first. */
		n = lpm_matches(l, family, a, out, lens);
		for (i = 0, j = bits + 1; j-- > 0;) {
			if (first[j] == -1)
				continue;
			ck_assert_msg(i < n &&
				out[n - 1 - i] == (uint32_t)first[j] &&
				lens[n - 1 - i] == j,
			    "seed %" PRIu64 ": lookup %u: match %u of %u, "
			    "want /%u value %d",
			    seed, k, i, n, j, first[j]);
			i++;
		}
		ck_assert_uint_eq(i, n);
		hits += n > 0;
		deep += n > 2;
	}
	/* The addresses were near enough to test something. */
	ck_assert_uint_gt(hits, NLOOK / 2);
	ck_assert_uint_gt(deep, NLOOK / 20);
	lpm_free(l);
}
END_TEST

START_TEST(lpm_edges)
{
	struct lpm *l;
	uint8_t     a[16] = {0};
	uint32_t    v, out[LPM_MATCHES_MAX];

	ck_assert_ptr_nonnull(l = lpm_new());
	/* empty */
	ck_assert_int_eq(look(l, "10.1.2.3"), -1);
	ck_assert_int_eq(look(l, "::"), -1);

	/* /0 holds all of its family and none of the other */
	ck_assert_int_eq(ins(l, "0.0.0.0", 0, 1), 0);
	ck_assert_int_eq(look(l, "255.255.255.255"), 1);
	ck_assert_int_eq(look(l, "0.0.0.0"), 1);
	ck_assert_int_eq(look(l, "2001:db8::1"), -1);
	ck_assert_int_eq(ins(l, "::", 0, 2), 0);
	ck_assert_int_eq(look(l, "2001:db8::1"), 2);
	ck_assert_int_eq(look(l, "10.0.0.1"), 1);

	/* nested, inserted out of order */
	ck_assert_int_eq(ins(l, "10.1.2.0", 24, 24), 0);
	ck_assert_int_eq(ins(l, "10.0.0.0", 8, 8), 0);
	ck_assert_int_eq(ins(l, "10.1.2.3", 32, 32), 0);
	ck_assert_int_eq(ins(l, "10.1.0.0", 16, 16), 0);
	ck_assert_int_eq(look(l, "10.1.2.3"), 32);
	ck_assert_int_eq(look(l, "10.1.2.4"), 24);
	ck_assert_int_eq(look(l, "10.1.3.4"), 16);
	ck_assert_int_eq(look(l, "10.2.3.4"), 8);
	ck_assert_int_eq(look(l, "11.0.0.0"), 1);

	/* duplicates, host bits ignored: the first value stays */
	ck_assert_int_eq(ins(l, "10.9.9.9", 8, 99), 1);
	ck_assert_int_eq(look(l, "10.2.3.4"), 8);
	ck_assert_uint_eq(lpm_count(l), 6);

	/* an IPv4 prefix never holds an IPv6 address of the same bytes,
	 * nor the other way round */
	ck_assert_int_eq(ins(l, "a01:203::", 32, 128), 0);
	ck_assert_int_eq(look(l, "a01:203::"), 128);
	ck_assert_int_eq(look(l, "a01:204::"), 2);
	ck_assert_int_eq(look(l, "10.1.2.3"), 32);

	/* /128 host route next to its /127 sibling */
	ck_assert_int_eq(ins(l, "2001:db8::1", 128, 1281), 0);
	ck_assert_int_eq(look(l, "2001:db8::1"), 1281);
	ck_assert_int_eq(look(l, "2001:db8::"), 2);
	ck_assert_int_eq(ins(l, "2001:db8::", 127, 1270), 0);
	ck_assert_int_eq(look(l, "2001:db8::"), 1270);
	ck_assert_int_eq(look(l, "2001:db8::1"), 1281);

	/* lengths past the family, other families */
	ck_assert_int_eq(ins(l, "10.0.0.0", 33, 0), -1);
	ck_assert_int_eq(ins(l, "::", 129, 0), -1);
	ck_assert_int_eq(lpm_insert(l, AF_UNIX, a, 0, 0), -1);
	ck_assert_int_eq(lpm_lookup(l, AF_UNIX, a, &v), 0);
	ck_assert_uint_eq(lpm_matches(l, AF_UNSPEC, a, out, NULL), 0);
	ck_assert_int_eq(lpm_find(l, AF_INET, a, 33, &v), 0);
	/* find is exact: 10.1.0.0/15 is not in */
	parse("10.1.0.0", a);
	ck_assert_int_eq(lpm_find(l, AF_INET, a, 15, &v), 0);
	ck_assert_int_eq(lpm_find(l, AF_INET, a, 16, &v), 1);
	ck_assert_uint_eq(v, 16);
	lpm_free(l);
	lpm_free(NULL);
}
END_TEST

/* The deepest case: a prefix of every length on one address.  All of
 * them match, in order, and no more than LPM_MATCHES_MAX. */
START_TEST(lpm_every_length)
{
	struct lpm *l;
	uint32_t    out[LPM_MATCHES_MAX];
	uint8_t     lens[LPM_MATCHES_MAX], a[16];
	unsigned    i, n;

	ck_assert_ptr_nonnull(l = lpm_new());
	memset(a, 0xff, sizeof(a));
	for (i = 0; i <= 128; i++)
		ck_assert_int_eq(lpm_insert(l, AF_INET6, a, i, i), 0);
	for (i = 33; i-- > 0;)
		ck_assert_int_eq(lpm_insert(l, AF_INET, a, i, 1000 + i), 0);
	n = lpm_matches(l, AF_INET6, a, out, lens);
	ck_assert_uint_eq(n, 129);
	for (i = 0; i < n; i++) {
		ck_assert_uint_eq(out[i], i);
		ck_assert_uint_eq(lens[i], i);
	}
	n = lpm_matches(l, AF_INET, a, out, NULL);
	ck_assert_uint_eq(n, 33);
	ck_assert_uint_eq(out[0], 1000);
	ck_assert_uint_eq(out[32], 1032);
	a[15] = 0xfe; /* all but the /128 */
	ck_assert_uint_eq(lpm_matches(l, AF_INET6, a, out, NULL), 128);
	ck_assert_uint_eq(out[127], 127);
	a[0] = 0x7f; /* only ::/0 */
	ck_assert_uint_eq(lpm_matches(l, AF_INET6, a, out, NULL), 1);
	ck_assert_uint_eq(out[0], 0);
	lpm_free(l);
}
END_TEST

/* A PoP's table: 10,000 sites, each a /24 and a /48.  Prints its size
 * (doc/ARCHITECTURE.md quotes it) and holds it to two nodes a prefix. */
START_TEST(lpm_ten_thousand_sites)
{
	struct lpm *l;
	uint8_t     a[16] = {0};
	uint32_t    i, v;
	size_t      mem;

	ck_assert_ptr_nonnull(l = lpm_new());
	for (i = 0; i < 10000; i++) {
		a[0] = 10;
		a[1] = (uint8_t)(i >> 8);
		a[2] = (uint8_t)i;
		ck_assert_int_eq(lpm_insert(l, AF_INET, a, 24, i), 0);
		memset(a, 0, sizeof(a));
		a[0] = 0x20;
		a[1] = 0x01;
		a[2] = 0x0d;
		a[3] = 0xb8;
		a[4] = (uint8_t)(i >> 8);
		a[5] = (uint8_t)i;
		ck_assert_int_eq(lpm_insert(l, AF_INET6, a, 48, i), 0);
	}
	ck_assert_uint_eq(lpm_count(l), 20000);
	mem = lpm_memory(l);
	printf(
	    "check_lpm: 10000 sites (a /24 and a /48 each): %zu bytes\n", mem);
	/* at most two 32-byte nodes a prefix, the array at most doubled */
	ck_assert_uint_le(mem, 20000 * 2 * 32 * 2 + 4096);
	a[5] = 77;
	a[4] = 0;
	a[9] = 9;
	ck_assert_int_eq(lpm_lookup(l, AF_INET6, a, &v), 1);
	ck_assert_uint_eq(v, 77);
	lpm_free(l);
}
END_TEST

/* ----------------------------------------------------------- rtable */

struct rroute {
	struct rpfx p;
	unsigned    link;
	uint32_t    metric;
	int         profile;
};

/*
 * What rtable_select() did before the trie, over the spec: the first
 * route with an up link, in the order longest prefix, lowest metric,
 * spec order, whose network holds the destination; -1 if none.
 */
static int
ref_route(const struct rroute *r, size_t n, const int *up, int family,
    const uint8_t *a)
{
	size_t i;
	int    best = -1;

	for (i = 0; i < n; i++) {
		if (!up[r[i].link] ||
		    !ref_contains(
			r[i].p.family, r[i].p.a, r[i].p.len, family, a))
			continue;
		if (best == -1 || r[i].p.len > r[best].p.len ||
		    (r[i].p.len == r[best].p.len &&
			r[i].metric < r[best].metric))
			best = (int)i;
	}
	return best;
}

static struct balance *
balance_of(const struct rroute *r, size_t n, unsigned nlinks)
{
	struct balance_profile_spec prof = {0};
	struct balance_spec         spec;
	struct balance_route_spec  *rs;
	struct balance             *b;
	size_t                      i;

	memset(&spec, 0, sizeof(spec));
	spec.nlinks = nlinks;
	for (i = 0; i < nlinks; i++) {
		snprintf(spec.links[i].name, sizeof(spec.links[i].name),
		    "WAN%zu", i + 1);
		spec.links[i].weight = 100;
	}
	prof.algorithm = BAL_RATIO;
	spec.profiles = &prof;
	spec.nprofiles = 1;
	ck_assert_ptr_nonnull(rs = calloc(n, sizeof(*rs)));
	for (i = 0; i < n; i++) {
		rs[i].network.addr.family = (uint8_t)r[i].p.family;
		memcpy(rs[i].network.addr.a, r[i].p.a, 16);
		rs[i].network.len = (uint8_t)r[i].p.len;
		rs[i].link = r[i].link;
		rs[i].metric = r[i].metric;
		rs[i].profile = r[i].profile;
	}
	spec.routes = rs;
	spec.nroutes = n;
	spec.flows_max = 1024;
	b = balance_new(&spec);
	free(rs);
	ck_assert_ptr_nonnull(b);
	return b;
}

/* The link a new flow to dst gets, or -1 if it is unroutable; *profile
 * its profile. */
static int
route_to(struct balance *b, int family, const uint8_t *dst, int *profile)
{
	struct pkt_info pi;
	struct flow     f;
	int             routable, rc;

	memset(&pi, 0, sizeof(pi));
	memset(&f, 0, sizeof(f));
	pi.family = (uint8_t)family;
	pi.proto = 17;
	memcpy(pi.dst, dst, 16);
	pi.src[0] = 192;
	pi.sport = 4000;
	pi.dport = 53;
	f.link = FLOW_LINK_NONE;
	f.key.family = (uint8_t)family;
	routable = balance_routable(b, &pi);
	rc = balance_assign(b, NULL, &pi, &f, 0);
	ck_assert_int_eq(routable, rc == 0);
	*profile = f.profile;
	return rc == 0 ? f.link : -1;
}

/*
 * Random routes over six links, static or in one profile, some links
 * down: the link each destination gets is the reference route's (a
 * static route), or one of the live links of its route set (a profile's:
 * same network, metric and profile).
 */
START_TEST(rtable_random_against_linear)
{
	enum { NR = 400, NLINKS = 6, ROUNDS = 12, NLOOK = 1500 };
	static struct rroute r[NR];
	struct balance      *b;
	uint8_t              a[16];
	int                  up[NLINKS], family, profile, link, want;
	unsigned             i, k, round, checked = 0, fellback = 0;
	size_t               j;

	rng = seed + 100;
	make_bases();
	for (i = 0; i < NR; i++) {
		rand_prefix(below(2) ? AF_INET : AF_INET6, &r[i].p);
		r[i].link = below(NLINKS);
		r[i].metric = below(3);
		r[i].profile = below(2) ? 0 : BALANCE_ROUTE_STATIC;
	}
	b = balance_of(r, NR, NLINKS);
	for (round = 0; round < ROUNDS; round++) {
		for (i = 0; i < NLINKS; i++) {
			up[i] = round == 0 || below(3) != 0;
			if (up[i])
				(void)balance_link_up(
				    b, NULL, i, 0, NULL, NULL);
			else
				(void)balance_link_down(
				    b, NULL, i, 0, NULL, NULL);
		}
		for (k = 0; k < NLOOK; k++) {
			family = below(2) ? AF_INET : AF_INET6;
			if (below(2)) {
				j = below(NR);
				if (r[j].p.family != family)
					family = r[j].p.family;
				addr_in(&r[j].p, a);
			} else
				near_addr(family, a);
			want = ref_route(r, NR, up, family, a);
			link = route_to(b, family, a, &profile);
			ck_assert_msg((want == -1) == (link == -1),
			    "seed %" PRIu64 ": round %u lookup %u: link %d, "
			    "want route %d",
			    seed, round, k, link, want);
			if (want == -1)
				continue;
			checked++;
			if (r[want].profile == BALANCE_ROUTE_STATIC) {
				ck_assert_msg(link == (int)r[want].link &&
					profile == FLOW_PROFILE_NONE,
				    "seed %" PRIu64 ": round %u lookup %u: "
				    "link %d, want static route %d on %u",
				    seed, round, k, link, want, r[want].link);
				continue;
			}
			ck_assert_int_eq(profile, 0);
			/* link is a live link of want's set */
			for (j = 0; j < NR; j++)
				if (r[j].profile == 0 &&
				    r[j].link == (unsigned)link &&
				    r[j].metric == r[want].metric &&
				    r[j].p.len == r[want].p.len &&
				    ref_contains(r[j].p.family, r[j].p.a,
					r[j].p.len, family, a))
					break;
			ck_assert_msg(j < NR && up[link],
			    "seed %" PRIu64 ": round %u lookup %u: link %d "
			    "is not in route %d's set",
			    seed, round, k, link, want);
			fellback += want !=
			    ref_route(r, NR, (int[NLINKS]){1, 1, 1, 1, 1, 1},
				family, a);
		}
	}
	ck_assert_uint_gt(checked, ROUNDS * NLOOK / 3);
	/* down links made less specific or costlier routes win */
	ck_assert_uint_gt(fellback, 100);
	balance_free(b);
}
END_TEST

static struct rroute
route(const char *net, unsigned len, unsigned link, uint32_t metric)
{
	struct rroute r;

	memset(&r, 0, sizeof(r));
	r.p.family = parse(net, r.p.a);
	r.p.len = len;
	r.link = link;
	r.metric = metric;
	r.profile = BALANCE_ROUTE_STATIC;
	return r;
}

static int
link_to(struct balance *b, const char *dst)
{
	uint8_t a[16];
	int     family = parse(dst, a), profile;

	return route_to(b, family, a, &profile);
}

/*
 * What an operator writes: a default route per link, a more specific one
 * for a branch, a backup with a higher metric.  A route whose link is
 * down makes way for the next by metric, then for a less specific one;
 * on equal prefix and metric the first in the file wins.
 */
START_TEST(rtable_down_links_metric_and_order)
{
	struct rroute r[] = {
	    route("0.0.0.0", 0, 0, 10),
	    route("0.0.0.0", 0, 1, 20),
	    route("10.20.0.0", 16, 2, 5),
	    route("10.20.0.0", 16, 1, 1),
	    route("10.20.0.0", 16, 0, 1), /* after link 1's: loses the tie */
	    route("10.20.30.40", 32, 3, 100),
	    route("2001:db8::", 32, 2, 0),
	    route("::", 0, 3, 0),
	};
	struct balance *b = balance_of(r, sizeof(r) / sizeof(r[0]), 4);

	ck_assert_int_eq(link_to(b, "198.51.100.1"), 0);
	ck_assert_int_eq(link_to(b, "10.20.1.1"), 1);
	ck_assert_int_eq(link_to(b, "10.20.30.40"), 3); /* host route */
	ck_assert_int_eq(link_to(b, "10.20.30.41"), 1);
	ck_assert_int_eq(link_to(b, "2001:db8:1::1"), 2);
	ck_assert_int_eq(link_to(b, "2001:db9::1"), 3);

	(void)balance_link_down(b, NULL, 3, 0, NULL, NULL);
	ck_assert_int_eq(link_to(b, "10.20.30.40"), 1);
	ck_assert_int_eq(link_to(b, "2001:db9::1"), -1);
	(void)balance_link_down(b, NULL, 1, 0, NULL, NULL);
	/* same prefix and metric, next in the file */
	ck_assert_int_eq(link_to(b, "10.20.30.40"), 0);
	(void)balance_link_down(b, NULL, 0, 0, NULL, NULL);
	/* then the higher metric of that prefix, before the default */
	ck_assert_int_eq(link_to(b, "10.20.1.1"), 2);
	ck_assert_int_eq(link_to(b, "198.51.100.1"), -1);
	(void)balance_link_down(b, NULL, 2, 0, NULL, NULL);
	ck_assert_int_eq(link_to(b, "10.20.1.1"), -1);
	(void)balance_link_up(b, NULL, 1, 0, NULL, NULL);
	/* the /16 on link 1 again, and the default's backup */
	ck_assert_int_eq(link_to(b, "10.20.30.40"), 1);
	ck_assert_int_eq(link_to(b, "198.51.100.1"), 1);
	/* IPv4 routes never carry IPv6 of the same bytes */
	ck_assert_int_eq(link_to(b, "a14:1e28::"), -1);
	balance_free(b);
}
END_TEST

/* ------------------------------------------------------ popd's sites */

/* What site_for() was: every site's every prefix, the longest wins, the
 * first site on equal length. */
static const struct site *
ref_site(const struct popd *pd, int family, const uint8_t *a)
{
	const struct site *best = NULL;
	size_t             i, j;
	int                bestlen = -1;

	for (i = 0; i < pd->nsites; i++)
		for (j = 0; j < pd->sites[i].conf->nlan; j++) {
			const struct wp_prefix *p = &pd->sites[i].conf->lan[j];

			if (p->len > bestlen &&
			    ref_contains(
				p->addr.family, p->addr.a, p->len, family, a)) {
				best = &pd->sites[i];
				bestlen = p->len;
			}
		}
	return best;
}

static struct event_base *base;
static struct daemon     *d;
static struct popd       *pd;

/*
 * popd made from a config of n sites (as popd_ops.init makes it, not
 * started), whose LANs are then whatever lan(i, lans, &n) gives:
 * prefixes popd.json would refuse too, so that the tie rule is seen.
 */
static void
popd_sites(size_t n, size_t (*lan)(size_t, struct wp_prefix *))
{
	struct config_errors errs = {0};
	struct config       *conf;
	char                *text;
	size_t               i, len, cap = 256 + n * 96;

	ck_assert_ptr_nonnull(text = malloc(cap));
	len = (size_t)snprintf(text, cap,
	    "{\"listen\": {\"address\": \"198.18.0.1\"}, \"tls\": {\"ca\": "
	    "\"ca.pem\", \"cert\": \"pop.pem\", \"key\": \"pop.key\"}, "
	    "\"sites\": [");
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len,
		    "%s{\"name\": \"s%zu\", \"identity\": \"s%zu.example\", "
		    "\"lan\": [\"172.16.%zu.%zu/32\"]}",
		    i ? "," : "", i, i, i / 256, i % 256);
	len += (size_t)snprintf(text + len, cap - len, "]}");
	ck_assert_uint_lt(len, cap);
	conf = config_parse(text, len, "popd.json", CONFIG_POPD, &errs);
	ck_assert_msg(conf != NULL, "%s", errs.n ? errs.lines[0] : "?");
	free(text);
	for (i = 0; i < n; i++) {
		free(conf->sites[i].lan);
		ck_assert_ptr_nonnull(
		    conf->sites[i].lan = calloc(8, sizeof(struct wp_prefix)));
		conf->sites[i].nlan = lan(i, conf->sites[i].lan);
	}
	log_init("check_lpm", 1, 0);
	ck_assert_ptr_nonnull(base = event_base_new());
	ck_assert_ptr_nonnull(d = daemon_new(&popd_ops, conf, base));
	pd = daemon_state(d);
}

static void
popd_done(void)
{
	daemon_free(d);
	event_base_free(base);
}

static void
set_prefix(struct wp_prefix *p, const char *s, unsigned len)
{
	memset(p, 0, sizeof(*p));
	p->addr.family = (uint8_t)parse(s, p->addr.a);
	p->len = (uint8_t)len;
}

static size_t
tie_lans(size_t i, struct wp_prefix *lan)
{
	switch (i) {
	case 0:
		set_prefix(&lan[0], "10.0.0.0", 8);
		return 1;
	case 1: /* the same /8 as site 0, and a /24 inside it */
		set_prefix(&lan[0], "10.0.0.0", 8);
		set_prefix(&lan[1], "10.1.1.0", 24);
		return 2;
	default: /* its own /16 nested in its /12 */
		set_prefix(&lan[0], "10.32.0.0", 12);
		set_prefix(&lan[1], "10.33.0.0", 16);
		set_prefix(&lan[2], "2001:db8::", 32);
		return 3;
	}
}

static const char *
name_of(const struct site *s)
{
	return s != NULL ? s->conf->name : "(none)";
}

/* The longest prefix wins; on equal ones, the site first in the file. */
START_TEST(site_for_longest_then_first)
{
	uint8_t a[16];

	popd_sites(3, tie_lans);
	parse("10.9.9.9", a);
	ck_assert_str_eq(name_of(site_for(pd, AF_INET, a)), "s0");
	parse("10.1.1.7", a);
	ck_assert_str_eq(name_of(site_for(pd, AF_INET, a)), "s1");
	parse("10.33.1.1", a);
	ck_assert_str_eq(name_of(site_for(pd, AF_INET, a)), "s2");
	/* s2 may send from its /12 outside its /16 (nested: any will do);
	 * s0's /8 holds that address too, s1's (equal to it) does not
	 * count: its site comes later */
	parse("10.40.1.1", a);
	ck_assert_str_eq(name_of(site_for(pd, AF_INET, a)), "s2");
	ck_assert_int_eq(site_holds(pd, &pd->sites[2], AF_INET, a), 1);
	ck_assert_int_eq(site_holds(pd, &pd->sites[0], AF_INET, a), 1);
	ck_assert_int_eq(site_holds(pd, &pd->sites[1], AF_INET, a), 0);
	parse("10.1.1.7", a);
	ck_assert_int_eq(site_holds(pd, &pd->sites[2], AF_INET, a), 0);
	/* 10.1.1.7 is in s1's /24 and in s1's (and s0's) /8 */
	parse("10.1.1.7", a);
	ck_assert_int_eq(site_holds(pd, &pd->sites[1], AF_INET, a), 1);
	parse("2001:db8:ffff::1", a);
	ck_assert_str_eq(name_of(site_for(pd, AF_INET6, a)), "s2");
	ck_assert_int_eq(site_holds(pd, &pd->sites[2], AF_INET6, a), 1);
	ck_assert_int_eq(site_holds(pd, &pd->sites[2], AF_INET, a), 0);
	parse("11.0.0.1", a);
	ck_assert_ptr_null(site_for(pd, AF_INET, a));
	popd_done();
}
END_TEST

static struct rpfx *rlan;   /* NSITES * 4 */
static unsigned     rlan_n; /* per site */

static size_t
random_lans(size_t i, struct wp_prefix *lan)
{
	unsigned k, b;

	for (k = 0; k < rlan_n; k++) {
		memset(&lan[k], 0, sizeof(lan[k]));
		lan[k].addr.family = (uint8_t)rlan[i * rlan_n + k].family;
		memcpy(lan[k].addr.a, rlan[i * rlan_n + k].a, 16);
		/* popd.json gives masked prefixes */
		lan[k].len = (uint8_t)rlan[i * rlan_n + k].len;
		for (b = lan[k].len; b < bits_of(lan[k].addr.family); b++)
			lan[k].addr.a[b / 8] &= (uint8_t) ~(0x80 >> (b % 8));
	}
	return rlan_n;
}

/*
 * A thousand sites with random, nesting and overlapping LANs (which a
 * real popd.json refuses between sites, but not within one): site_for()
 * is the linear walk's answer for every address, and site_holds() is
 * site_has()'s for every site asked, as long as no two sites share a
 * prefix.
 */
START_TEST(site_for_random_against_linear)
{
	enum { NSITES = 1000, PER = 3, NLOOK = 20000 };
	const struct site *want, *got;
	uint8_t            a[16];
	unsigned           i, j, k, s, hits = 0;
	int                family;

	rng = seed + 200;
	make_bases();
	rlan_n = PER;
	ck_assert_ptr_nonnull(rlan = calloc(NSITES * PER, sizeof(*rlan)));
	for (i = 0; i < NSITES * PER; i++) {
	again:
		rand_prefix(below(2) ? AF_INET : AF_INET6, &rlan[i]);
		if (rlan[i].len < 4)
			goto again;
		/* no prefix of another site's exactly */
		for (j = 0; j < i - i % PER; j++)
			if (rlan[j].family == rlan[i].family &&
			    rlan[j].len == rlan[i].len &&
			    ref_contains(rlan[j].family, rlan[j].a, rlan[j].len,
				rlan[i].family, rlan[i].a))
				goto again;
	}
	popd_sites(NSITES, random_lans);
	for (k = 0; k < NLOOK; k++) {
		i = below(NSITES * PER);
		family = rlan[i].family;
		if (below(2))
			addr_in(&rlan[i], a);
		else
			near_addr(family, a);
		want = ref_site(pd, family, a);
		got = site_for(pd, family, a);
		ck_assert_msg(got == want,
		    "seed %" PRIu64 ": lookup %u: site %s, want %s", seed, k,
		    name_of(got), name_of(want));
		hits += got != NULL;
		s = below(4) == 0 ? below(NSITES) : i / PER;
		ck_assert_msg(site_holds(pd, &pd->sites[s], family, a) ==
			site_has(pd->sites[s].conf, family, a),
		    "seed %" PRIu64 ": lookup %u: site %u holds", seed, k, s);
	}
	ck_assert_uint_gt(hits, NLOOK / 3);
	popd_done();
	free(rlan);
}
END_TEST

static Suite *
lpm_suite(void)
{
	Suite *s = suite_create("lpm");
	TCase *tc = tcase_create("lpm");

	tcase_add_loop_test(tc, lpm_random_against_linear, 0, 2);
	tcase_add_test(tc, lpm_edges);
	tcase_add_test(tc, lpm_every_length);
	tcase_add_test(tc, lpm_ten_thousand_sites);
	suite_add_tcase(s, tc);

	tc = tcase_create("rtable");
	tcase_add_test(tc, rtable_random_against_linear);
	tcase_add_test(tc, rtable_down_links_metric_and_order);
	suite_add_tcase(s, tc);

	tc = tcase_create("sites");
	tcase_add_test(tc, site_for_longest_then_first);
	tcase_add_test(tc, site_for_random_against_linear);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	const char *e = getenv("WANPAIR_LPM_SEED");

	if (e != NULL && *e != '\0')
		seed = strtoull(e, NULL, 0);
	printf("check_lpm: seed %" PRIu64 " (WANPAIR_LPM_SEED=%" PRIu64
	       " replays it)\n",
	    seed, seed);
	fflush(stdout);
	return check_run(lpm_suite());
}
