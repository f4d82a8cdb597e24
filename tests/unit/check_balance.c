#include "autoconf.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance.h"
#include "config.h"
#include "flow.h"
#include "pkt.h"
#include "check_run.h"
#include "check_spec.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Tight loops check with this: ck_assert records every passing assertion
 * in a file, which costs more than everything under test. */
#define REQUIRE(e)                                                             \
	do {                                                                   \
		if (!(e))                                                      \
			ck_abort_msg("Assertion '%s' failed", #e);             \
	} while (0)

/* Configs are what a user writes: JSON through the real loader. */
static struct config *
conf_parse(const char *fmt, ...)
{
	struct config_errors errs = {NULL, 0};
	struct config       *c;
	char                 text[8192];
	va_list              ap;
	int                  n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	ck_assert_int_lt(n, (int)sizeof(text));
	c = config_parse(text, (size_t)n, "test.json", CONFIG_REPLAY, &errs);
	ck_assert_msg(c != NULL, "%s\nin: %s",
	    errs.n > 0 ? errs.lines[0] : "no error line", text);
	config_errors_clear(&errs);
	return c;
}

/*
 * Links WAN1.. with weights w[] (as up_mbps and down_mbps), one profile
 * "bulk" with `alg` and the extra keys `prof` (may be ""), no routes (the
 * loader's default routes), failback `failback`.
 */
static struct config *
conf_simple_ex(enum balance_alg alg, const uint32_t *w, size_t n,
    const char *prof, const char *failback)
{
	char   links[1024];
	size_t i, off = 0;

	for (i = 0; i < n; i++)
		off += (size_t)snprintf(links + off, sizeof(links) - off,
		    "%s{\"name\": \"WAN%zu\", \"up_mbps\": %u, "
		    "\"down_mbps\": %u}",
		    i > 0 ? ", " : "", i + 1, w[i], w[i]);
	return conf_parse(
	    "{\"links\": [%s], \"default_profile\": \"bulk\", "
	    "\"profiles\": [{\"name\": \"bulk\", \"algorithm\": \"%s\"%s%s}], "
	    "\"failback\": \"%s\"}",
	    links, config_algorithm_name(alg), *prof != '\0' ? ", " : "", prof,
	    failback);
}

static struct config *
conf_simple(enum balance_alg alg, const uint32_t *w, size_t n)
{
	return conf_simple_ex(alg, w, n, "", "new-flows");
}

static struct balance *
bal_new(const struct config *c)
{
	struct balance *b;

	ck_assert_ptr_nonnull(b = balance_conf(c, SIDE_UP));
	return b;
}

static void
put4(uint8_t *a, uint32_t v)
{
	memset(a, 0, 16);
	a[0] = (uint8_t)(v >> 24);
	a[1] = (uint8_t)(v >> 16);
	a[2] = (uint8_t)(v >> 8);
	a[3] = (uint8_t)v;
}

static uint32_t
ip4(const char *s)
{
	uint8_t a[4];

	REQUIRE(inet_pton(AF_INET, s, a) == 1);
	return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
	    (uint32_t)a[2] << 8 | a[3];
}

static struct pkt_info
pkt4(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport)
{
	struct pkt_info pi;

	memset(&pi, 0, sizeof(pi));
	pi.family = AF_INET;
	pi.proto = IPPROTO_TCP;
	put4(pi.src, src);
	put4(pi.dst, dst);
	pi.sport = sport;
	pi.dport = dport;
	pi.len = 1000;
	return pi;
}

static struct pkt_info
pkt6(const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	struct pkt_info pi;

	memset(&pi, 0, sizeof(pi));
	pi.family = AF_INET6;
	pi.proto = IPPROTO_UDP;
	ck_assert_int_eq(inet_pton(AF_INET6, src, pi.src), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, dst, pi.dst), 1);
	pi.sport = sport;
	pi.dport = dport;
	pi.len = 1000;
	return pi;
}

/* The i-th flow of a run: source, destination and ports all vary, so
 * every algorithm sees distinct inputs. */
static struct pkt_info
pkt_nth(uint32_t i)
{
	return pkt4(ip4("10.0.0.0") + i, ip4("203.0.0.0") + i * 7919,
	    (uint16_t)(1024 + i % 60000), (uint16_t)(80 + i % 3));
}

/* A new flow outside any table: what the algorithms see. */
static int
assign(
    struct balance *b, const struct pkt_info *pi, struct flow *f, uint64_t now)
{
	memset(f, 0, sizeof(*f));
	if (flow_key_from_pkt(pi, &f->key))
		f->flags |= FLOW_F_A_INITIATOR;
	f->link = FLOW_LINK_NONE;
	f->profile = FLOW_PROFILE_NONE;
	return balance_assign(b, NULL, pi, f, now);
}

static int
assign_link(struct balance *b, const struct pkt_info *pi, uint64_t now)
{
	struct flow f;

	if (assign(b, pi, &f, now) == -1)
		return -1;
	return f.link;
}

/* A table whose departures are reported to the balance, as the engine
 * does. */
struct tbl {
	struct flow_table *t;
	struct balance    *b;
	uint64_t           now;
};

static void
tbl_release(void *arg, struct flow *f, enum flow_release why)
{
	struct tbl *tb = arg;

	(void)why;
	balance_release(tb->b, f, tb->now);
}

static void
tbl_init(struct tbl *tb, struct balance *b, uint32_t max)
{
	struct flow_timeouts to;
	int                  i;

	for (i = 0; i < FLOW_NCLASS; i++)
		to.s[i] = 3600;
	tb->b = b;
	tb->now = 0;
	ck_assert_ptr_nonnull(tb->t = flow_table_new(max, &to));
	flow_table_set_release_cb(tb->t, tbl_release, tb);
}

static struct flow *
tbl_add(struct tbl *tb, const struct pkt_info *pi, uint64_t now)
{
	struct flow_key k;
	struct flow    *f;
	uint64_t        h;
	int             a;

	a = flow_key_from_pkt(pi, &k);
	h = flow_table_hash(tb->t, &k);
	REQUIRE(flow_table_lookup(tb->t, &k, h) == NULL);
	f = flow_table_insert(tb->t, &k, h, now);
	if (a)
		f->flags |= FLOW_F_A_INITIATOR;
	REQUIRE(balance_assign(tb->b, tb->t, pi, f, now) == 0);
	return f;
}

static struct flow *
tbl_find(struct tbl *tb, const struct pkt_info *pi)
{
	struct flow_key k;

	flow_key_from_pkt(pi, &k);
	return flow_table_lookup(tb->t, &k, flow_table_hash(tb->t, &k));
}

static void
tbl_free(struct tbl *tb)
{
	flow_table_free(tb->t);
}

/* Flow moves as reported by balance_link_down/_up. */
struct moves {
	size_t n;
	size_t to[CONFIG_MAX_LINKS];
	size_t from[CONFIG_MAX_LINKS];
	int    bad; /* cb saw f->link != to */
};

static void
count_move(void *arg, const struct flow *f, unsigned from, unsigned to)
{
	struct moves *m = arg;

	m->n++;
	m->from[from]++;
	m->to[to]++;
	if (f->link != to || !(f->flags & FLOW_F_MOVED))
		m->bad++;
}

static void
assert_shares(
    const uint64_t *count, const uint32_t *w, size_t n, const char *what)
{
	uint64_t total = 0, wsum = 0;
	size_t   i;

	for (i = 0; i < n; i++) {
		total += count[i];
		wsum += w[i];
	}
	for (i = 0; i < n; i++) {
		double got = (double)count[i] / (double)total;
		double want = (double)w[i] / (double)wsum;

		ck_assert_msg(got > want - 0.01 && got < want + 0.01,
		    "%s: link %zu has %.4f of the flows, weight share %.4f",
		    what, i, got, want);
	}
}

/* ------------------------------------------------------------ ratio */

START_TEST(test_ratio_exact)
{
	static const uint32_t w[] = {100, 20};
	static const int      seq[] = {0, 0, 0, 1, 0, 0};
	struct config        *c = conf_simple(BAL_RATIO, w, 2);
	struct balance       *b = bal_new(c);
	uint32_t              i, n[2] = {0, 0}, win[2] = {0, 0};
	int                   l;

	struct pkt_info pi;

	for (i = 0; i < 600; i++) {
		pi = pkt_nth(i);
		l = assign_link(b, &pi, 0);
		REQUIRE(l >= 0);
		n[l]++;
		win[l]++;
		if (!(l == seq[i % 6]))
			ck_abort_msg("flow %u on WAN%d", i, l + 1);
		if (i % 6 == 5) {
			REQUIRE(win[0] == 5);
			REQUIRE(win[1] == 1);
			win[0] = win[1] = 0;
		}
	}
	ck_assert_uint_eq(n[0], 500);
	ck_assert_uint_eq(n[1], 100);
	ck_assert_uint_eq(balance_link_active(b, 0), 500);
	ck_assert_uint_eq(balance_link_active(b, 1), 100);
	balance_free(b);
	config_free(c);
}
END_TEST

/* ---------------------------------------------- every algorithm's share */

static const enum balance_alg all_algs[] = {BAL_RATIO, BAL_FLOW, BAL_SOURCE_IP,
    BAL_DESTINATION_IP, BAL_ROUND_ROBIN, BAL_RANDOM, BAL_THROUGHPUT, BAL_USAGE};

static void
shares(enum balance_alg alg, const uint32_t *w, size_t nl)
{
	struct config  *c = conf_simple(alg, w, nl);
	struct balance *b = bal_new(c);
	uint64_t        count[CONFIG_MAX_LINKS] = {0};
	char            what[64];
	struct pkt_info pi;
	struct flow     f;
	uint32_t        i;

	for (i = 0; i < 100000; i++) {
		pi = pkt_nth(i);
		REQUIRE(assign(b, &pi, &f, 1000 + i / 100) == 0);
		count[f.link]++;
		if (alg == BAL_THROUGHPUT)
			balance_account(b, f.link, 1400, 1000 + i / 100);
	}
	snprintf(what, sizeof(what), "%s over %zu links",
	    config_algorithm_name(alg), nl);
	assert_shares(count, w, nl, what);
	/* Flows stay active: the balance's own counts agree. */
	for (i = 0; i < nl; i++)
		ck_assert_uint_eq(balance_link_active(b, i), count[i]);
	balance_free(b);
	config_free(c);
}

START_TEST(test_shares_two)
{
	static const uint32_t w[] = {100, 20};

	shares(all_algs[_i], w, NITEMS(w));
}
END_TEST

START_TEST(test_shares_three)
{
	static const uint32_t w[] = {100, 50, 25};

	shares(all_algs[_i], w, NITEMS(w));
}
END_TEST

START_TEST(test_round_robin_runs)
{
	static const uint32_t w[] = {100, 50, 25};
	static const int      seq[] = {0, 0, 0, 0, 1, 1, 2};
	static const uint32_t odd[] = {100, 33};
	struct config        *c = conf_simple(BAL_ROUND_ROBIN, w, 3);
	struct balance       *b = bal_new(c);
	struct pkt_info       pi;
	uint32_t              i, run = 0, longest = 0, on0 = 0;
	int                   l, prev = -1;

	for (i = 0; i < 70; i++) {
		pi = pkt_nth(i);
		REQUIRE(assign_link(b, &pi, 0) == seq[i % 7]);
	}
	balance_free(b);
	config_free(c);

	/*
	 * Weights with no common factor: turns of 3 or 4 on the first link
	 * and 1 on the second, never a run of 100 (runs of w/gcd would be),
	 * and the share still exact over whole cycles of 133.
	 */
	c = conf_simple(BAL_ROUND_ROBIN, odd, 2);
	b = bal_new(c);
	for (i = 0; i < 1330; i++) {
		pi = pkt_nth(i);
		l = assign_link(b, &pi, 0);
		run = l == prev ? run + 1 : 1;
		prev = l;
		if (run > longest)
			longest = run;
		on0 += l == 0;
	}
	ck_assert_uint_le(longest, 4);
	ck_assert_uint_eq(on0, 1000);
	balance_free(b);
	config_free(c);
}
END_TEST

START_TEST(test_random_seeded)
{
	static const uint32_t w[] = {100, 20};
	struct config        *c = conf_simple(BAL_RANDOM, w, 2);
	struct balance *b1 = bal_new(c), *b2 = bal_new(c), *b3 = bal_new(c);
	struct pkt_info pi;
	uint32_t        i, differ = 0;
	int             l1;

	balance_seed(b3, 42);
	for (i = 0; i < 1000; i++) {
		pi = pkt_nth(i);
		l1 = assign_link(b1, &pi, 0);
		/* The default seed replays identically... */
		REQUIRE(assign_link(b2, &pi, 0) == l1);
		/* ...and another seed is another sequence. */
		differ += assign_link(b3, &pi, 0) != l1;
	}
	ck_assert_uint_gt(differ, 50);
	balance_free(b1);
	balance_free(b2);
	balance_free(b3);
	config_free(c);
}
END_TEST

START_TEST(test_usage_follows_release)
{
	static const uint32_t w[] = {100, 100};
	struct config        *c = conf_simple(BAL_USAGE, w, 2);
	struct balance       *b = bal_new(c);
	struct flow           f[100];
	struct pkt_info       pi;
	uint32_t              i;
	int                   l;

	for (i = 0; i < 100; i++) {
		pi = pkt_nth(i);
		REQUIRE(assign(b, &pi, &f[i], 0) == 0);
	}
	/* Everything on WAN2 ends: the next flows fill WAN2 back up. */
	for (i = 0; i < 100; i++)
		if (f[i].link == 1)
			balance_release(b, &f[i], 1);
	ck_assert_uint_eq(balance_link_active(b, 1), 0);
	for (i = 0; i < 50; i++) {
		pi = pkt_nth(1000 + i);
		l = assign_link(b, &pi, 2);
		REQUIRE(l == 1);
	}
	balance_free(b);
	config_free(c);
}
END_TEST

/*
 * popd builds a session's spec from the links a HELLO announces, with no
 * config of the site's: it must balance exactly as the loader's default
 * routes over the same links would, down_mbps being the weights.
 */
START_TEST(test_spec_from_hello_as_loader)
{
	struct config      *c;
	struct balance     *loaded, *built;
	struct balance_spec spec;
	struct pkt_info     pi;
	uint32_t            i;
	int                 n[3] = {0, 0, 0};

	c = conf_parse(
	    "{\"links\": ["
	    "{\"name\": \"WAN1\", \"up_mbps\": 1, \"down_mbps\": 100},"
	    "{\"name\": \"WAN2\", \"up_mbps\": 1, \"down_mbps\": 20},"
	    "{\"name\": \"LTE\", \"up_mbps\": 1, \"down_mbps\": 5}], "
	    "\"default_profile\": \"p\", \"profiles\": [{\"name\": "
	    "\"p\", \"algorithm\": \"flow\"}]}");
	loaded = balance_conf(c, SIDE_DOWN);
	ck_assert_ptr_nonnull(loaded);
	/* As popd's session_spec(): profiles from its own config, links
	 * and routes from the site. */
	ck_assert_int_eq(balance_spec_from_config(&spec, c, SIDE_DOWN), 0);
	free(spec.routes);
	spec.routes = NULL;
	spec.nroutes = 0;
	memset(spec.links, 0, sizeof(spec.links));
	for (i = 0; i < 3; i++) {
		snprintf(spec.links[i].name, sizeof(spec.links[i].name), "%s",
		    c->links[i].name);
		spec.links[i].weight = c->links[i].down_mbps;
	}
	ck_assert_int_eq(balance_spec_default_routes(&spec, 0), 0);
	ck_assert_uint_eq(spec.nroutes, c->nroutes);
	for (i = 0; i < spec.nroutes; i++) {
		ck_assert_uint_eq(spec.routes[i].metric, c->routes[i].metric);
		ck_assert_int_eq(spec.routes[i].network.addr.family,
		    c->routes[i].network.addr.family);
		ck_assert_int_eq((int)spec.routes[i].link, c->routes[i].link);
	}
	ck_assert_ptr_nonnull(built = balance_new(&spec));
	balance_spec_clear(&spec);
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(balance_link_weight(built, i),
		    balance_link_weight(loaded, i));
	for (i = 0; i < 1250; i++) {
		pi = pkt_nth(i);
		ck_assert_int_eq(
		    assign_link(built, &pi, 0), assign_link(loaded, &pi, 0));
		n[assign_link(built, &pi, 0)]++;
	}
	/* 100:20:5 of 1250 flows is 1000:200:50, within hashing's spread. */
	ck_assert_int_gt(n[0], 900);
	ck_assert_int_gt(n[1], 150);
	ck_assert_int_gt(n[2], 25);
	balance_free(loaded);
	balance_free(built);
	config_free(c);
}
END_TEST

START_TEST(test_side_weights)
{
	struct config  *c;
	struct balance *up, *down;
	struct pkt_info pi;
	uint32_t        i;
	int             nu[2] = {0, 0}, nd[2] = {0, 0};

	/* Upstream WAN1 is the big pipe, downstream WAN2 is. */
	c = conf_parse(
	    "{\"links\": ["
	    "{\"name\": \"WAN1\", \"up_mbps\": 100, \"down_mbps\": 20},"
	    "{\"name\": \"WAN2\", \"up_mbps\": 20, \"down_mbps\": 100}]}");
	up = bal_new(c);
	ck_assert_ptr_nonnull(down = balance_conf(c, SIDE_DOWN));
	ck_assert_uint_eq(balance_link_weight(up, 0), 100);
	ck_assert_uint_eq(balance_link_weight(down, 0), 20);
	for (i = 0; i < 600; i++) {
		pi = pkt_nth(i);
		nu[assign_link(up, &pi, 0)]++;
		nd[assign_link(down, &pi, 0)]++;
	}
	ck_assert_int_eq(nu[0], 500);
	ck_assert_int_eq(nu[1], 100);
	ck_assert_int_eq(nd[0], 100);
	ck_assert_int_eq(nd[1], 500);
	balance_free(up);
	balance_free(down);
	config_free(c);
}
END_TEST

/* ---------------------------------------------------- flow (hashing) */

START_TEST(test_flow_restart_and_reorder)
{
	static const uint32_t w[] = {100, 50, 25};
	struct config        *c = conf_simple(BAL_FLOW, w, 3), *r;
	struct balance       *b1, *b2, *b3;
	struct pkt_info       pi;
	uint32_t              i;
	int                   l1, l3;

	/* The same links and routes, listed in another order. */
	r = conf_parse(
	    "{\"links\": ["
	    "{\"name\": \"WAN3\", \"up_mbps\": 25, \"down_mbps\": 25},"
	    "{\"name\": \"WAN1\", \"up_mbps\": 100, \"down_mbps\": 100},"
	    "{\"name\": \"WAN2\", \"up_mbps\": 50, \"down_mbps\": 50}],"
	    "\"default_profile\": \"bulk\","
	    "\"profiles\": [{\"name\": \"bulk\", \"algorithm\": \"flow\"}],"
	    "\"routes\": ["
	    "{\"network\": \"0.0.0.0/0\", \"link\": \"WAN2\"},"
	    "{\"network\": \"0.0.0.0/0\", \"link\": \"WAN3\"},"
	    "{\"network\": \"0.0.0.0/0\", \"link\": \"WAN1\"}]}");

	b1 = bal_new(c);
	b2 = bal_new(c);
	b3 = bal_new(r);
	for (i = 0; i < 20000; i++) {
		pi = pkt_nth(i);
		l1 = assign_link(b1, &pi, 0);
		REQUIRE(assign_link(b2, &pi, 0) == l1);
		l3 = assign_link(b3, &pi, 0);
		REQUIRE(strcmp(balance_link_name(b3, (unsigned)l3),
			    balance_link_name(b1, (unsigned)l1)) == 0);
	}
	balance_free(b1);
	balance_free(b2);
	balance_free(b3);
	config_free(c);
	config_free(r);
}
END_TEST

START_TEST(test_flow_both_directions)
{
	static const uint32_t w[] = {100, 20};
	struct config        *c = conf_simple(BAL_FLOW, w, 2);
	struct balance       *up = bal_new(c), *down;
	struct pkt_info       pi, rev;
	uint32_t              i;

	/* socketd and popd see the two directions; with symmetric links
	 * their weights agree and so must every decision. */
	ck_assert_ptr_nonnull(down = balance_conf(c, SIDE_DOWN));
	for (i = 0; i < 5000; i++) {
		pi = pkt_nth(i);
		rev = pkt4(ip4("203.0.0.0") + i * 7919, ip4("10.0.0.0") + i,
		    (uint16_t)(80 + i % 3), (uint16_t)(1024 + i % 60000));
		REQUIRE(assign_link(down, &rev, 0) == assign_link(up, &pi, 0));
	}
	balance_free(up);
	balance_free(down);
	config_free(c);
}
END_TEST

START_TEST(test_flow_link_down_minimal)
{
	static const uint32_t w[] = {100, 50, 25};
	static const uint32_t wf[] = {100, 25};
	struct config        *c = conf_simple(BAL_FLOW, w, 3), *cf;
	struct balance       *b = bal_new(c), *fresh;
	struct moves          m;
	struct tbl            tb;
	struct flow          *f;
	struct pkt_info       pi;
	uint8_t               before[30000];
	uint32_t              i, on2 = 0;
	int                   l;

	/* What a balance that never had WAN2 would do. */
	cf = conf_parse(
	    "{\"links\": ["
	    "{\"name\": \"WAN1\", \"up_mbps\": %u, \"down_mbps\": 1},"
	    "{\"name\": \"WAN3\", \"up_mbps\": %u, \"down_mbps\": 1}],"
	    "\"default_profile\": \"bulk\","
	    "\"profiles\": [{\"name\": \"bulk\", \"algorithm\": \"flow\"}]}",
	    wf[0], wf[1]);
	fresh = bal_new(cf);

	tbl_init(&tb, b, 30000);
	for (i = 0; i < 30000; i++) {
		pi = pkt_nth(i);
		before[i] = tbl_add(&tb, &pi, 0)->link;
		on2 += before[i] == 1;
	}
	memset(&m, 0, sizeof(m));
	ck_assert_uint_eq(
	    balance_link_down(b, tb.t, 1, 10, count_move, &m), on2);
	ck_assert_uint_eq(m.n, on2);
	ck_assert_int_eq(m.bad, 0);
	ck_assert_uint_eq(balance_link_active(b, 1), 0);
	for (i = 0; i < 30000; i++) {
		pi = pkt_nth(i);
		f = tbl_find(&tb, &pi);
		if (before[i] != 1) {
			REQUIRE(f->link == before[i]);
			REQUIRE(!(f->flags & FLOW_F_MOVED));
			continue;
		}
		l = assign_link(fresh, &pi, 0);
		REQUIRE(strcmp(balance_link_name(b, f->link),
			    balance_link_name(fresh, (unsigned)l)) == 0);
	}
	tbl_free(&tb);
	for (i = 0; i < 3; i++)
		REQUIRE(balance_link_active(b, i) == 0);
	balance_free(b);
	balance_free(fresh);
	config_free(c);
	config_free(cf);
}
END_TEST

/* ------------------------------------------------------- stickiness */

static const enum sticky_mode all_sticky[] = {STICKY_SOURCE_IP,
    STICKY_SOURCE_NETWORK, STICKY_DESTINATION_IP, STICKY_DESTINATION_NETWORK};

/* Flow j of group g: what the group shares is fixed by g, the rest
 * varies with j (within the /24 for the network modes). */
static struct pkt_info
group_pkt(enum sticky_mode mode, uint32_t g, uint32_t j)
{
	uint32_t net = ip4("10.0.0.0") + (g << 8);
	uint32_t far = ip4("198.18.0.0") + (g << 8);
	uint32_t other = ip4("100.64.0.0") + j * 257 + g * 65537;
	uint16_t sport = (uint16_t)(1024 + j), dport = 443;

	switch (mode) {
	case STICKY_SOURCE_IP:
		return pkt4(net + 1, other, sport, dport);
	case STICKY_SOURCE_NETWORK:
		return pkt4(net + 1 + j % 250, other, sport, dport);
	case STICKY_DESTINATION_IP:
		return pkt4(other, far + 1, sport, dport);
	case STICKY_DESTINATION_NETWORK:
	default:
		return pkt4(other, far + 1 + j % 250, sport, dport);
	}
}

START_TEST(test_sticky_groups)
{
	static const uint32_t w[] = {100, 20};
	enum sticky_mode      mode = all_sticky[_i];
	struct config        *c;
	struct balance       *b;
	uint64_t              groups[2] = {0, 0};
	struct pkt_info       pi;
	char                  prof[128];
	uint32_t              g, j;
	int                   first, l;

	snprintf(prof, sizeof(prof),
	    "\"stickiness\": \"%s\", %s"
	    "\"max_groups\": 100000",
	    config_stickiness_name(mode),
	    mode == STICKY_SOURCE_NETWORK ? "\"source_prefix\": 24, "
		: mode == STICKY_DESTINATION_NETWORK
		? "\"destination_prefix\": 24, "
		: "");
	c = conf_simple_ex(BAL_FLOW, w, 2, prof, "new-flows");
	b = bal_new(c);
	for (g = 0; g < 30000; g++) {
		first = -1;
		for (j = 0; j < (g < 20 ? 200 : 3); j++) {
			pi = group_pkt(mode, g, j);
			l = assign_link(b, &pi, 1000 + j);
			REQUIRE(l >= 0);
			if (first == -1)
				first = l;
			if (!(l == first))
				ck_abort_msg("%s: group %u flow %u on WAN%d, "
					     "group on WAN%d",
				    config_stickiness_name(mode), g, j, l + 1,
				    first + 1);
		}
		groups[first]++;
	}
	assert_shares(groups, w, 2, config_stickiness_name(mode));
	balance_free(b);
	config_free(c);
}
END_TEST

/*
 * Keepalive.  Ratio over equal links alternates WAN1, WAN2, ... for every
 * decision it makes, and a live group makes none: so a group's next flow
 * on WAN1 means "kept", on WAN2 "chosen afresh".
 */
static struct balance *
keepalive_new(struct config **cp, enum keepalive_mode k, uint32_t timeout_s,
    uint32_t max_groups, size_t nlinks)
{
	static const uint32_t w[] = {100, 100, 100};
	char                  prof[160], timeout[32] = "";

	if (k != KEEPALIVE_FOREVER)
		snprintf(
		    timeout, sizeof(timeout), "\"timeout_s\": %u, ", timeout_s);
	snprintf(prof, sizeof(prof),
	    "\"stickiness\": \"source-ip\", "
	    "\"keepalive\": \"%s\", %s\"max_groups\": %u",
	    config_keepalive_name(k), timeout, max_groups);
	*cp = conf_simple_ex(BAL_RATIO, w, nlinks, prof, "new-flows");
	return bal_new(*cp);
}

static uint32_t port_seq;

/* A new flow from host `src` (10.0.0.src). */
static int
from(struct balance *b, uint32_t src, uint64_t now, struct flow *f)
{
	struct pkt_info pi;
	struct flow     tmp;

	pi = pkt4(ip4("10.0.0.0") + src, ip4("203.0.113.9"),
	    (uint16_t)(1024 + port_seq++ % 60000), 443);
	if (f == NULL)
		f = &tmp;
	if (assign(b, &pi, f, now) == -1)
		return -1;
	return f->link;
}

START_TEST(test_keepalive_deadline)
{
	struct config  *c;
	struct balance *b = keepalive_new(&c, KEEPALIVE_DEADLINE, 10, 64, 2);

	ck_assert_int_eq(from(b, 1, 0, NULL), 0);
	ck_assert_int_eq(from(b, 1, 5000, NULL), 0);
	ck_assert_int_eq(from(b, 1, 9999, NULL), 0);
	/* Ten seconds after creation, however busy it was. */
	ck_assert_int_eq(from(b, 1, 10000, NULL), 1);
	ck_assert_int_eq(from(b, 1, 19999, NULL), 1);
	ck_assert_int_eq(from(b, 1, 20000, NULL), 0);
	balance_free(b);
	config_free(c);
}
END_TEST

START_TEST(test_keepalive_timeout)
{
	struct config  *c;
	struct balance *b = keepalive_new(&c, KEEPALIVE_TIMEOUT, 10, 64, 2);

	ck_assert_int_eq(from(b, 1, 0, NULL), 0);
	/* Each new flow restarts the ten seconds. */
	ck_assert_int_eq(from(b, 1, 9000, NULL), 0);
	ck_assert_int_eq(from(b, 1, 18000, NULL), 0);
	ck_assert_int_eq(from(b, 1, 27999, NULL), 0);
	ck_assert_int_eq(from(b, 1, 37999, NULL), 1);
	balance_free(b);
	config_free(c);
}
END_TEST

START_TEST(test_keepalive_forever)
{
	struct config  *c;
	struct balance *b = keepalive_new(&c, KEEPALIVE_FOREVER, 10, 64, 2);

	ck_assert_int_eq(from(b, 1, 0, NULL), 0);
	ck_assert_int_eq(from(b, 1, 1000ULL * 86400 * 365, NULL), 0);
	balance_free(b);
	config_free(c);
}
END_TEST

START_TEST(test_keepalive_forever_evicts_lru)
{
	struct config  *c;
	struct balance *b;

	/* Three equal links: decisions go WAN1, WAN2, WAN3, WAN1, ... */
	b = keepalive_new(&c, KEEPALIVE_FOREVER, 10, 2, 3);
	ck_assert_int_eq(from(b, 1, 0, NULL), 0); /* S: decision 1 */
	ck_assert_int_eq(from(b, 2, 1, NULL), 1); /* T: decision 2 */
	ck_assert_int_eq(from(b, 1, 2, NULL), 0); /* S kept, now MRU */
	/* Full: U evicts the least recently used group, T, not S. */
	ck_assert_int_eq(from(b, 3, 3, NULL), 2); /* U: decision 3 */
	ck_assert_int_eq(from(b, 1, 4, NULL), 0); /* S kept */
	ck_assert_int_eq(from(b, 2, 5, NULL), 0); /* T anew: decision 4 */
	balance_free(b);
	config_free(c);
}
END_TEST

START_TEST(test_keepalive_evicts_dead_first)
{
	struct config  *c;
	struct balance *b;

	b = keepalive_new(&c, KEEPALIVE_DEADLINE, 10, 2, 3);
	ck_assert_int_eq(from(b, 1, 0, NULL), 0);    /* S, dies at 10 s */
	ck_assert_int_eq(from(b, 2, 5000, NULL), 1); /* T, dies at 15 s */
	ck_assert_int_eq(from(b, 1, 9000, NULL), 0); /* S used: T is LRU */
	/* At 12 s S is dead though recently used: U takes its slot. */
	ck_assert_int_eq(from(b, 3, 12000, NULL), 2);
	ck_assert_int_eq(from(b, 2, 12001, NULL), 1); /* T kept */
	balance_free(b);
	config_free(c);
}
END_TEST

/* ------------------------------------------------ hash flooding */

/* See check_flow: bytes 8..15 of a 16-byte block equal to this zeroed
 * the old mixer's state, seed and all. */
#define OLD_K2  0x94d049bb133111ebULL
#define FLOOD_N 60000

/* A new UDP flow from source i: 2001:db8:i::/64 with the interface id the
 * old constant (little-endian), to one server. */
static int
from6(struct balance *b, uint32_t i, uint64_t now)
{
	struct pkt_info pi;
	struct flow     f;
	int             j;

	pi = pkt6("2001:db8::", "2001:db8:ffff::443", 40000, 443);
	pi.src[4] = (uint8_t)(i >> 24);
	pi.src[5] = (uint8_t)(i >> 16);
	pi.src[6] = (uint8_t)(i >> 8);
	pi.src[7] = (uint8_t)i;
	for (j = 0; j < 8; j++)
		pi.src[8 + j] = (uint8_t)(OLD_K2 >> (8 * j));
	if (assign(b, &pi, &f, now) == -1)
		return -1;
	return f.link;
}

/*
 * 60,000 sources aimed at one group bucket under the old hash probe no
 * further than random addresses would (about 20 slots at this load, 48
 * leaves room); under the old hash they all shared one home slot.
 */
START_TEST(test_sticky_flood_old_constant)
{
	struct config  *c;
	struct balance *b = keepalive_new(&c, KEEPALIVE_FOREVER, 10, 65536, 3);
	uint32_t        i;

	for (i = 0; i < FLOOD_N; i++)
		REQUIRE(from6(b, i, i) >= 0);
	ck_assert_msg(balance_group_max_probe(b) <= 48,
	    "longest group probe %u slots", balance_group_max_probe(b));
	ck_assert_uint_eq(balance_group_probe_evictions(b), 0);
	balance_free(b);
	config_free(c);
}
END_TEST

static uint32_t
same_group_hash(const uint8_t *a, uint8_t family)
{
	(void)a;
	(void)family;
	return 0x5eed;
}

/*
 * Should every address collide (a broken hash), no probe passes 64
 * slots: each further group drops one in its window, and the groups
 * used last stay sticky.
 */
START_TEST(test_sticky_probe_bound_all_colliding)
{
	struct config  *c;
	struct balance *b = keepalive_new(&c, KEEPALIVE_FOREVER, 10, 1000, 3);
	uint32_t        i;
	int             l;

	balance_set_group_hash_fn(b, same_group_hash);
	for (i = 0; i < 1000; i++)
		REQUIRE(from(b, i, i, NULL) >= 0);
	ck_assert_uint_eq(balance_group_max_probe(b), 64);
	ck_assert_uint_eq(balance_group_probe_evictions(b), 1000 - 64);
	/* Ratio over three equal links moves on with every decision: the
	 * same link three times is a group kept, not chosen again. */
	l = from(b, 999, 2000, NULL);
	ck_assert_int_eq(from(b, 999, 2001, NULL), l);
	ck_assert_int_eq(from(b, 999, 2002, NULL), l);
	balance_free(b);
	config_free(c);
}
END_TEST

START_TEST(test_keepalive_usage)
{
	struct config  *c;
	struct balance *b;
	struct flow     f1, f2, f3;

	/* Without a timeout: alive exactly while it has flows. */
	b = keepalive_new(&c, KEEPALIVE_USAGE, 0, 64, 2);
	ck_assert_int_eq(from(b, 1, 0, &f1), 0);
	ck_assert_int_eq(from(b, 1, 100000, &f2), 0);
	balance_release(b, &f1, 100000);
	ck_assert_int_eq(from(b, 1, 100000, &f3), 0); /* f2 still there */
	balance_release(b, &f2, 100001);
	balance_release(b, &f3, 100001);
	ck_assert_int_eq(from(b, 1, 100001, NULL), 1);
	balance_free(b);
	config_free(c);

	/* With one: timeout_s more after the last flow ends. */
	b = keepalive_new(&c, KEEPALIVE_USAGE, 10, 64, 2);
	ck_assert_int_eq(from(b, 1, 0, &f1), 0);
	balance_release(b, &f1, 100001);
	ck_assert_int_eq(from(b, 1, 105000, &f2), 0);
	balance_release(b, &f2, 105001);
	ck_assert_int_eq(from(b, 1, 115000, &f3), 0);
	balance_release(b, &f3, 115000);
	ck_assert_int_eq(from(b, 1, 125000, NULL), 1);
	balance_free(b);
	config_free(c);
}
END_TEST

START_TEST(test_sticky_profiles_isolated)
{
	struct config  *c;
	struct balance *b;
	struct pkt_info p1, p2, p3;

	/* Same source, two profiles: a group in one is unknown to the
	 * other. */
	c = conf_parse(
	    "{\"links\": ["
	    "{\"name\": \"WAN1\", \"up_mbps\": 100, \"down_mbps\": 100},"
	    "{\"name\": \"WAN2\", \"up_mbps\": 100, \"down_mbps\": 100}],"
	    "\"profiles\": ["
	    "{\"name\": \"a\", \"stickiness\": \"source-ip\"},"
	    "{\"name\": \"b\", \"stickiness\": \"source-ip\"}],"
	    "\"routes\": ["
	    "{\"network\": \"0.0.0.0/0\", \"link\": \"WAN1\", \"profile\": "
	    "\"a\"},"
	    "{\"network\": \"0.0.0.0/0\", \"link\": \"WAN2\", \"profile\": "
	    "\"a\"},"
	    "{\"network\": \"203.0.113.0/24\", \"link\": \"WAN1\", "
	    "\"profile\": \"b\"},"
	    "{\"network\": \"203.0.113.0/24\", \"link\": \"WAN2\", "
	    "\"profile\": \"b\"}]}");
	b = bal_new(c);
	p1 = pkt4(ip4("10.0.0.1"), ip4("8.8.8.8"), 1000, 443);
	p2 = pkt4(ip4("10.0.0.2"), ip4("8.8.8.8"), 1000, 443);
	p3 = pkt4(ip4("10.0.0.2"), ip4("203.0.113.1"), 1000, 443);
	ck_assert_int_eq(assign_link(b, &p1, 0), 0);
	ck_assert_int_eq(assign_link(b, &p2, 0), 1); /* a's group: WAN2 */
	/* Profile b knows no group for 10.0.0.2: its own first decision. */
	ck_assert_int_eq(assign_link(b, &p3, 0), 0);
	balance_free(b);
	config_free(c);
}
END_TEST

/* -------------------------------------------------- route selection */

START_TEST(test_route_selection)
{
	struct config  *c;
	struct balance *b;
	struct pkt_info pi;
	struct flow     f;
	const int       l1 = 0, l2 = 1, l3 = 2, bulk = 0, voice = 1;
	int             i, seen[3] = {0, 0, 0};

	c = conf_parse(
	    "{\"links\": ["
	    "{\"name\": \"WAN1\", \"up_mbps\": 100, \"down_mbps\": 100},"
	    "{\"name\": \"WAN2\", \"up_mbps\": 20, \"down_mbps\": 20},"
	    "{\"name\": \"WAN3\", \"up_mbps\": 50, \"down_mbps\": 50}],"
	    "\"profiles\": [{\"name\": \"bulk\", \"algorithm\": \"ratio\"},"
	    "{\"name\": \"voice\", \"algorithm\": \"flow\"}],"
	    "\"routes\": ["
	    "{\"network\": \"0.0.0.0/0\", \"link\": \"WAN1\", \"profile\": "
	    "\"bulk\"},"
	    "{\"network\": \"0.0.0.0/0\", \"link\": \"WAN2\", \"profile\": "
	    "\"bulk\"},"
	    "{\"network\": \"198.51.100.0/24\", \"link\": \"WAN2\", "
	    "\"profile\": \"voice\"},"
	    "{\"network\": \"198.51.0.0/16\", \"link\": \"WAN3\", "
	    "\"profile\": \"bulk\"},"
	    "{\"network\": \"192.0.2.0/24\", \"link\": \"WAN3\"},"
	    "{\"network\": \"2001:db8::/32\", \"link\": \"WAN3\", "
	    "\"profile\": \"bulk\"}]}");
	ck_assert_int_eq(c->routes[4].profile, CONFIG_ROUTE_STATIC);
	b = bal_new(c);

	/* Most specific wins: /24 over /16 over /0. */
	pi = pkt4(ip4("10.0.0.1"), ip4("198.51.100.7"), 1000, 5060);
	ck_assert_int_eq(assign(b, &pi, &f, 0), 0);
	ck_assert_int_eq(f.link, l2);
	ck_assert_int_eq(f.profile, voice);
	pi = pkt4(ip4("10.0.0.1"), ip4("198.51.7.7"), 1000, 80);
	ck_assert_int_eq(assign(b, &pi, &f, 0), 0);
	ck_assert_int_eq(f.link, l3);
	ck_assert_int_eq(f.profile, bulk);
	/* The default route balances over WAN1 and WAN2 only. */
	for (i = 0; i < 60; i++) {
		pi = pkt_nth((uint32_t)i);
		REQUIRE(assign(b, &pi, &f, 0) == 0);
		seen[f.link]++;
	}
	ck_assert_int_eq(seen[l1], 50);
	ck_assert_int_eq(seen[l2], 10);
	ck_assert_int_eq(seen[l3], 0);
	/* A static route uses its own link and no profile. */
	pi = pkt4(ip4("10.0.0.1"), ip4("192.0.2.9"), 1000, 80);
	ck_assert_int_eq(assign(b, &pi, &f, 0), 0);
	ck_assert_int_eq(f.link, l3);
	ck_assert_int_eq(f.profile, FLOW_PROFILE_NONE);
	ck_assert_uint_eq(f.group, 0);
	/* IPv6 has its own routes. */
	pi = pkt6("2001:db8:1::1", "2001:db8:2::1", 1000, 53);
	ck_assert_int_eq(assign(b, &pi, &f, 0), 0);
	ck_assert_int_eq(f.link, l3);
	/* No route: refused, unassigned, nothing counted. */
	pi = pkt6("2001:db8:1::1", "2001:db9::1", 1000, 53);
	ck_assert_int_eq(assign(b, &pi, &f, 0), -1);
	ck_assert_int_eq(f.link, FLOW_LINK_NONE);
	ck_assert_uint_eq(balance_link_active(b, l1) +
		balance_link_active(b, l2) + balance_link_active(b, l3),
	    64);

	/* A route over a down link is skipped: the /24 falls back to the
	 * /16, then the /0. */
	balance_link_down(b, NULL, l2, 0, NULL, NULL);
	pi = pkt4(ip4("10.0.0.1"), ip4("198.51.100.7"), 1000, 5060);
	ck_assert_int_eq(assign(b, &pi, &f, 0), 0);
	ck_assert_int_eq(f.link, l3);
	ck_assert_int_eq(f.profile, bulk);
	balance_link_down(b, NULL, l3, 0, NULL, NULL);
	ck_assert_int_eq(assign(b, &pi, &f, 0), 0);
	ck_assert_int_eq(f.link, l1);
	/* The static route's link is down and nothing else matches v6. */
	pi = pkt6("2001:db8:1::1", "2001:db8:2::1", 1000, 53);
	ck_assert_int_eq(assign(b, &pi, &f, 0), -1);
	balance_free(b);
	config_free(c);
}
END_TEST

START_TEST(test_route_metric_and_profile)
{
	struct config  *c;
	struct balance *b;
	struct pkt_info pi;
	struct flow     f;
	const int       pa = 0, pb = 1;
	int             i, seen[3] = {0, 0, 0};

	/*
	 * Equal prefixes: the lowest metric wins (WAN2 at 200 never), and
	 * among metric 100 the first route's profile decides: WAN1 and WAN3
	 * balance, WAN2's route in profile b takes no part.
	 */
	c = conf_parse(
	    "{\"links\": ["
	    "{\"name\": \"WAN1\", \"up_mbps\": 100, \"down_mbps\": 100},"
	    "{\"name\": \"WAN2\", \"up_mbps\": 100, \"down_mbps\": 100},"
	    "{\"name\": \"WAN3\", \"up_mbps\": 100, \"down_mbps\": 100}],"
	    "\"profiles\": [{\"name\": \"a\"}, {\"name\": \"b\"}],"
	    "\"routes\": ["
	    "{\"network\": \"0.0.0.0/0\", \"link\": \"WAN2\", \"metric\": 200, "
	    "\"profile\": \"a\"},"
	    "{\"network\": \"0.0.0.0/0\", \"link\": \"WAN1\", \"profile\": "
	    "\"a\"},"
	    "{\"network\": \"0.0.0.0/0\", \"link\": \"WAN2\", \"profile\": "
	    "\"b\"},"
	    "{\"network\": \"0.0.0.0/0\", \"link\": \"WAN3\", \"profile\": "
	    "\"a\"}]}");
	b = bal_new(c);
	for (i = 0; i < 100; i++) {
		pi = pkt_nth((uint32_t)i);
		REQUIRE(assign(b, &pi, &f, 0) == 0);
		REQUIRE(f.profile == pa);
		seen[f.link]++;
	}
	ck_assert_int_eq(seen[0], 50);
	ck_assert_int_eq(seen[1], 0);
	ck_assert_int_eq(seen[2], 50);
	/* With WAN1 down the first live route is WAN2's: profile b. */
	balance_link_down(b, NULL, 0, 0, NULL, NULL);
	pi = pkt_nth(1000);
	ck_assert_int_eq(assign(b, &pi, &f, 0), 0);
	ck_assert_int_eq(f.profile, pb);
	ck_assert_int_eq(f.link, 1);
	balance_free(b);
	config_free(c);

	/* Metric alone, the better one listed last. */
	c = conf_parse(
	    "{\"links\": ["
	    "{\"name\": \"WAN1\", \"up_mbps\": 100, \"down_mbps\": 100},"
	    "{\"name\": \"WAN2\", \"up_mbps\": 100, \"down_mbps\": 100}],"
	    "\"default_profile\": \"a\", \"profiles\": [{\"name\": \"a\"}],"
	    "\"routes\": ["
	    "{\"network\": \"0.0.0.0/0\", \"link\": \"WAN1\", \"metric\": 200},"
	    "{\"network\": \"0.0.0.0/0\", \"link\": \"WAN2\", \"metric\": "
	    "100}]}");
	b = bal_new(c);
	for (i = 0; i < 10; i++) {
		pi = pkt_nth((uint32_t)i);
		REQUIRE(assign_link(b, &pi, 0) == 1);
	}
	balance_free(b);
	config_free(c);
}
END_TEST

START_TEST(test_no_routes_means_defaults)
{
	static const uint32_t w[] = {100, 20};
	struct config        *c = conf_simple(BAL_RATIO, w, 2);
	struct balance       *b;
	struct pkt_info       pi;
	int                   i, n[2] = {0, 0};

	/* The loader's defaults: a v4 and a v6 route per link. */
	ck_assert_uint_eq(c->nroutes, 4);
	ck_assert(c->routes[0].implicit && c->routes[3].implicit);
	b = bal_new(c);
	for (i = 0; i < 6; i++) {
		pi = pkt_nth((uint32_t)i);
		n[assign_link(b, &pi, 0)]++;
	}
	pi = pkt6("2001:db8::1", "2001:db8::2", 1, 2);
	ck_assert_int_ge(assign_link(b, &pi, 0), 0);
	ck_assert_int_eq(n[0], 5);
	ck_assert_int_eq(n[1], 1);
	ck_assert_int_eq(balance_link_index(b, "WAN2"), 1);
	ck_assert_int_eq(balance_link_index(b, "WAN9"), -1);
	ck_assert_uint_eq(balance_link_weight(b, 0), 100);
	balance_free(b);
	config_free(c);
}
END_TEST

/* ------------------------------------------------- failover, failback */

START_TEST(test_down_ratio_splits_by_weight)
{
	static const uint32_t w[] = {100, 50, 25};
	struct config        *c = conf_simple(BAL_RATIO, w, 3);
	struct balance       *b = bal_new(c);
	struct moves          m;
	struct tbl            tb;
	struct pkt_info       pi;
	uint32_t              i;
	int                   n[3] = {0, 0, 0};

	tbl_init(&tb, b, 7030);
	for (i = 0; i < 7000; i++) {
		pi = pkt_nth(i);
		tbl_add(&tb, &pi, 0);
	}
	ck_assert_uint_eq(balance_link_active(b, 0), 4000);
	memset(&m, 0, sizeof(m));
	ck_assert_uint_eq(
	    balance_link_down(b, tb.t, 0, 5, count_move, &m), 4000);
	ck_assert_int_eq(m.bad, 0);
	ck_assert_uint_eq(m.from[0], 4000);
	/* 50:25 is 2:1, exactly (to the flow). */
	ck_assert_uint_ge(m.to[1], 2666);
	ck_assert_uint_le(m.to[1], 2667);
	ck_assert_uint_eq(m.to[1] + m.to[2], 4000);
	ck_assert_uint_eq(balance_link_active(b, 0), 0);
	ck_assert_uint_eq(balance_link_active(b, 1), 2000 + m.to[1]);
	ck_assert_uint_eq(balance_link_active(b, 2), 1000 + m.to[2]);
	ck_assert(!balance_link_is_up(b, 0));
	/* New flows avoid the dead link, still 2:1. */
	for (i = 0; i < 30; i++) {
		pi = pkt_nth(100000 + i);
		n[tbl_add(&tb, &pi, 6)->link]++;
	}
	ck_assert_int_eq(n[0], 0);
	ck_assert_int_eq(n[1], 20);
	ck_assert_int_eq(n[2], 10);
	tbl_free(&tb);
	for (i = 0; i < 3; i++)
		REQUIRE(balance_link_active(b, i) == 0);
	balance_free(b);
	config_free(c);
}
END_TEST

START_TEST(test_down_sticky_groups_move_together)
{
	static const uint32_t w[] = {100, 50, 25};
	struct config        *c = conf_simple_ex(
		   BAL_RATIO, w, 3, "\"stickiness\": \"source-ip\"", "new-flows");
	struct balance *b;
	struct tbl      tb;
	struct flow    *f;
	struct pkt_info pi;
	uint8_t         before[70], after[70];
	uint32_t        g, j, dead = 0;

	b = bal_new(c);
	tbl_init(&tb, b, 7000);
	for (g = 0; g < 70; g++)
		for (j = 0; j < 10; j++) {
			pi = group_pkt(STICKY_SOURCE_IP, g, j);
			f = tbl_add(&tb, &pi, 0);
			if (j == 0)
				before[g] = f->link;
			REQUIRE(f->link == before[g]);
		}
	for (g = 0; g < 70; g++)
		dead += before[g] == 0;
	ck_assert_uint_eq(dead, 40);
	ck_assert_uint_eq(balance_link_down(b, tb.t, 0, 1000, NULL, NULL), 400);
	for (g = 0; g < 70; g++)
		for (j = 0; j < 10; j++) {
			pi = group_pkt(STICKY_SOURCE_IP, g, j);
			f = tbl_find(&tb, &pi);
			if (j == 0)
				after[g] = f->link;
			if (!(f->link == after[g]))
				ck_abort_msg("group %u split over WAN%u and "
					     "WAN%u",
				    g, after[g] + 1, f->link + 1);
			if (before[g] != 0)
				REQUIRE(f->link == before[g]);
			else
				REQUIRE(f->link != 0);
		}
	/* A new flow of a moved group joins it on its new link. */
	for (g = 0; g < 70; g++) {
		pi = group_pkt(STICKY_SOURCE_IP, g, 50);
		REQUIRE(tbl_add(&tb, &pi, 2000)->link == after[g]);
	}
	tbl_free(&tb);
	balance_free(b);
	config_free(c);
}
END_TEST

/*
 * A link going down costs its own flows, not the table: with 10 flows on
 * WAN3 among 100,000, failover hands exactly 10 flows to its walk (the
 * table counts every flow a walk visits), and the per-link counts follow.
 */
START_TEST(test_down_walks_only_its_flows)
{
	static const uint32_t w[] = {100, 100, 100};
	struct config        *c = conf_simple(BAL_RATIO, w, 3);
	struct balance       *b = bal_new(c);
	struct flow_key       k;
	struct pkt_info       pi;
	struct flow          *f;
	struct tbl            tb;
	struct moves          mv;
	uint64_t              n[3], visits;
	unsigned              i;

	tbl_init(&tb, b, 100000);
	/* WAN3 down while the others fill, back up without a walk. */
	ck_assert_uint_eq(balance_link_down(b, tb.t, 2, 1, NULL, NULL), 0);
	for (i = 0; i < 99990; i++) {
		pi = pkt_nth(i);
		tbl_add(&tb, &pi, 2);
	}
	visits = flow_table_visits(tb.t);
	ck_assert_uint_eq(balance_link_up(b, tb.t, 2, 3, NULL, NULL), 0);
	ck_assert_uint_eq(flow_table_visits(tb.t), visits);
	for (i = 99990; i < 100000; i++) {
		pi = pkt_nth(i);
		(void)flow_key_from_pkt(&pi, &k);
		f = flow_table_insert(tb.t, &k, flow_table_hash(tb.t, &k), 4);
		ck_assert_int_eq(balance_set_link(b, tb.t, f, 2, 4), 0);
	}
	flow_table_count_links(tb.t, n, 3);
	ck_assert_uint_eq(n[0] + n[1], 99990);
	ck_assert_uint_eq(n[2], 10);
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(n[i], balance_link_active(b, i));

	memset(&mv, 0, sizeof(mv));
	visits = flow_table_visits(tb.t);
	ck_assert_uint_eq(
	    balance_link_down(b, tb.t, 2, 5, count_move, &mv), 10);
	ck_assert_uint_eq(mv.n, 10);
	ck_assert_uint_eq(mv.from[2], 10);
	ck_assert_int_eq(mv.bad, 0);
	ck_assert_uint_eq(flow_table_visits(tb.t) - visits, 10);
	flow_table_count_links(tb.t, n, 3);
	ck_assert_uint_eq(n[0] + n[1], 100000);
	ck_assert_uint_eq(n[2], 0);
	ck_assert_uint_eq(flow_table_link_count(tb.t, 2), 0);
	tbl_free(&tb);
	balance_free(b);
	config_free(c);
}
END_TEST

START_TEST(test_down_all_links)
{
	static const uint32_t w[] = {100, 20};
	struct config        *c = conf_simple(BAL_RATIO, w, 2);
	struct balance       *b = bal_new(c);
	struct tbl            tb;
	struct pkt_info       pi;
	struct flow           f;
	uint32_t              i;

	tbl_init(&tb, b, 600);
	for (i = 0; i < 600; i++) {
		pi = pkt_nth(i);
		tbl_add(&tb, &pi, 0);
	}
	ck_assert_uint_eq(balance_link_down(b, tb.t, 1, 1, NULL, NULL), 100);
	ck_assert_uint_eq(balance_link_active(b, 0), 600);
	/* Nowhere to go: the flows stay, waiting for a link. */
	ck_assert_uint_eq(balance_link_down(b, tb.t, 0, 2, NULL, NULL), 0);
	ck_assert_uint_eq(balance_link_active(b, 0), 600);
	ck_assert_uint_eq(flow_table_count(tb.t), 600);
	pi = pkt_nth(1000);
	ck_assert_int_eq(assign(b, &pi, &f, 3), -1);
	ck_assert_int_eq(f.link, FLOW_LINK_NONE);
	/* The first link back takes new flows again. */
	balance_link_up(b, tb.t, 1, 4, NULL, NULL);
	ck_assert_int_eq(assign_link(b, &pi, 5), 1);
	tbl_free(&tb);
	balance_free(b);
	config_free(c);
}
END_TEST

START_TEST(test_up_rebalance_ratio)
{
	static const uint32_t w[] = {100, 50, 25};
	struct config  *c = conf_simple_ex(BAL_RATIO, w, 3, "", "rebalance");
	struct balance *b;
	struct moves    m;
	struct tbl      tb;
	struct pkt_info pi;
	uint32_t        i;

	b = bal_new(c);
	tbl_init(&tb, b, 7000);
	for (i = 0; i < 7000; i++) {
		pi = pkt_nth(i);
		tbl_add(&tb, &pi, 0);
	}
	balance_link_down(b, tb.t, 0, 1, NULL, NULL);
	memset(&m, 0, sizeof(m));
	ck_assert_uint_eq(balance_link_up(b, tb.t, 0, 2, count_move, &m), 4000);
	ck_assert_int_eq(m.bad, 0);
	ck_assert_uint_eq(m.to[0], 4000);
	ck_assert_uint_eq(balance_link_active(b, 0), 4000);
	ck_assert_uint_eq(balance_link_active(b, 1), 2000);
	ck_assert_uint_eq(balance_link_active(b, 2), 1000);
	/* Up again is not news. */
	ck_assert_uint_eq(balance_link_up(b, tb.t, 0, 3, NULL, NULL), 0);
	tbl_free(&tb);
	balance_free(b);
	config_free(c);
}
END_TEST

START_TEST(test_up_rebalance_flow)
{
	static const uint32_t w[] = {100, 50, 25};
	struct config  *c = conf_simple_ex(BAL_FLOW, w, 3, "", "rebalance");
	struct balance *b;
	struct tbl      tb;
	struct pkt_info pi;
	uint8_t         before[7000];
	uint32_t        i, on0 = 0;

	b = bal_new(c);
	tbl_init(&tb, b, 8000);
	for (i = 0; i < 7000; i++) {
		pi = pkt_nth(i);
		before[i] = tbl_add(&tb, &pi, 0)->link;
		on0 += before[i] == 0;
	}
	balance_link_down(b, tb.t, 0, 1, NULL, NULL);
	/* Flows that start while WAN1 is down, and hash to it, come back
	 * with the others. */
	for (i = 7000; i < 8000; i++) {
		pi = pkt_nth(i);
		tbl_add(&tb, &pi, 2);
	}
	ck_assert_uint_ge(balance_link_up(b, tb.t, 0, 3, NULL, NULL), on0);
	for (i = 0; i < 7000; i++) {
		pi = pkt_nth(i);
		REQUIRE(tbl_find(&tb, &pi)->link == before[i]);
	}
	tbl_free(&tb);
	balance_free(b);
	config_free(c);
}
END_TEST

START_TEST(test_up_rebalance_sticky_groups_go_home)
{
	static const uint32_t w[] = {100, 50, 25};
	struct config        *c = conf_simple_ex(
		   BAL_RATIO, w, 3, "\"stickiness\": \"source-ip\"", "rebalance");
	struct balance *b;
	struct tbl      tb;
	struct pkt_info pi;
	uint8_t         before[70];
	uint32_t        g, j;

	b = bal_new(c);
	tbl_init(&tb, b, 7000);
	for (g = 0; g < 70; g++)
		for (j = 0; j < 10; j++) {
			pi = group_pkt(STICKY_SOURCE_IP, g, j);
			before[g] = tbl_add(&tb, &pi, 0)->link;
		}
	balance_link_down(b, tb.t, 0, 1000, NULL, NULL);
	ck_assert_uint_eq(balance_link_up(b, tb.t, 0, 2000, NULL, NULL), 400);
	for (g = 0; g < 70; g++)
		for (j = 0; j < 10; j++) {
			pi = group_pkt(STICKY_SOURCE_IP, g, j);
			REQUIRE(tbl_find(&tb, &pi)->link == before[g]);
		}
	tbl_free(&tb);
	balance_free(b);
	config_free(c);
}
END_TEST

START_TEST(test_up_new_flows)
{
	static const uint32_t w[] = {100, 50, 25};
	struct config        *c = conf_simple(BAL_RATIO, w, 3);
	struct balance       *b = bal_new(c);
	struct tbl            tb;
	struct pkt_info       pi;
	uint32_t              i;
	int                   n[3] = {0, 0, 0};

	tbl_init(&tb, b, 7100);
	for (i = 0; i < 7000; i++) {
		pi = pkt_nth(i);
		tbl_add(&tb, &pi, 0);
	}
	balance_link_down(b, tb.t, 0, 1, NULL, NULL);
	ck_assert_uint_eq(balance_link_up(b, tb.t, 0, 2, NULL, NULL), 0);
	/* Nothing moved back... */
	ck_assert_uint_eq(balance_link_active(b, 0), 0);
	ck_assert(balance_link_is_up(b, 0));
	/* ...but new flows take WAN1 in its ratio again. */
	for (i = 0; i < 70; i++) {
		pi = pkt_nth(10000 + i);
		n[tbl_add(&tb, &pi, 3)->link]++;
	}
	ck_assert_int_eq(n[0], 40);
	ck_assert_int_eq(n[1], 20);
	ck_assert_int_eq(n[2], 10);
	tbl_free(&tb);
	balance_free(b);
	config_free(c);
}
END_TEST

START_TEST(test_down_static_flows)
{
	struct config  *c;
	struct balance *b;
	struct tbl      tb;
	struct flow    *f;
	struct pkt_info pi;

	c = conf_parse(
	    "{\"links\": ["
	    "{\"name\": \"WAN1\", \"up_mbps\": 100, \"down_mbps\": 100},"
	    "{\"name\": \"WAN2\", \"up_mbps\": 20, \"down_mbps\": 20},"
	    "{\"name\": \"WAN3\", \"up_mbps\": 50, \"down_mbps\": 50}],"
	    "\"profiles\": [{\"name\": \"bulk\"}],"
	    "\"routes\": ["
	    "{\"network\": \"0.0.0.0/0\", \"link\": \"WAN1\", \"profile\": "
	    "\"bulk\"},"
	    "{\"network\": \"192.0.2.0/24\", \"link\": \"WAN3\"},"
	    "{\"network\": \"198.51.100.0/24\", \"link\": \"WAN2\"}]}");
	b = bal_new(c);
	tbl_init(&tb, b, 16);
	pi = pkt4(ip4("10.0.0.1"), ip4("192.0.2.9"), 1000, 80);
	f = tbl_add(&tb, &pi, 0);
	ck_assert_int_eq(f->link, 2);
	pi = pkt4(ip4("10.0.0.1"), ip4("198.51.100.9"), 1000, 80);
	tbl_add(&tb, &pi, 0);
	/* The static route's link fails: the next matching route, the
	 * default, carries the flow (and balances it in its profile). */
	ck_assert_uint_eq(balance_link_down(b, tb.t, 2, 1, NULL, NULL), 1);
	pi = pkt4(ip4("10.0.0.1"), ip4("192.0.2.9"), 1000, 80);
	f = tbl_find(&tb, &pi);
	ck_assert_int_eq(f->link, 0);
	ck_assert_int_eq(f->profile, 0);
	ck_assert(f->flags & FLOW_F_MOVED);
	/* WAN1 fails too: the flow through WAN2's static route stays put,
	 * the moved one has nowhere to go. */
	ck_assert_uint_eq(balance_link_down(b, tb.t, 0, 2, NULL, NULL), 0);
	ck_assert_uint_eq(balance_link_active(b, 0), 1);
	ck_assert_uint_eq(balance_link_active(b, 1), 1);
	ck_assert_uint_eq(balance_link_active(b, 2), 0);
	tbl_free(&tb);
	ck_assert_uint_eq(balance_link_active(b, 0), 0);
	ck_assert_uint_eq(balance_link_active(b, 1), 0);
	balance_free(b);
	config_free(c);
}
END_TEST

static Suite *
balance_suite(void)
{
	Suite *s = suite_create("balance");
	TCase *tc;

	tc = tcase_create("algorithms");
	tcase_add_test(tc, test_ratio_exact);
	tcase_add_loop_test(tc, test_shares_two, 0, NITEMS(all_algs));
	tcase_add_loop_test(tc, test_shares_three, 0, NITEMS(all_algs));
	tcase_add_test(tc, test_round_robin_runs);
	tcase_add_test(tc, test_random_seeded);
	tcase_add_test(tc, test_usage_follows_release);
	tcase_add_test(tc, test_side_weights);
	tcase_add_test(tc, test_spec_from_hello_as_loader);
	tcase_add_test(tc, test_flow_restart_and_reorder);
	tcase_add_test(tc, test_flow_both_directions);
	tcase_add_test(tc, test_flow_link_down_minimal);
	suite_add_tcase(s, tc);

	tc = tcase_create("stickiness");
	tcase_add_loop_test(tc, test_sticky_groups, 0, NITEMS(all_sticky));
	tcase_add_test(tc, test_keepalive_deadline);
	tcase_add_test(tc, test_keepalive_timeout);
	tcase_add_test(tc, test_keepalive_forever);
	tcase_add_test(tc, test_keepalive_forever_evicts_lru);
	tcase_add_test(tc, test_keepalive_evicts_dead_first);
	tcase_add_test(tc, test_keepalive_usage);
	tcase_add_test(tc, test_sticky_profiles_isolated);
	tcase_add_test(tc, test_sticky_flood_old_constant);
	tcase_add_test(tc, test_sticky_probe_bound_all_colliding);
	suite_add_tcase(s, tc);

	tc = tcase_create("routes");
	tcase_add_test(tc, test_route_selection);
	tcase_add_test(tc, test_route_metric_and_profile);
	tcase_add_test(tc, test_no_routes_means_defaults);
	suite_add_tcase(s, tc);

	tc = tcase_create("failover");
	tcase_add_test(tc, test_down_ratio_splits_by_weight);
	tcase_add_test(tc, test_down_sticky_groups_move_together);
	tcase_add_test(tc, test_down_walks_only_its_flows);
	tcase_add_test(tc, test_down_all_links);
	tcase_add_test(tc, test_down_static_flows);
	tcase_add_test(tc, test_up_rebalance_ratio);
	tcase_add_test(tc, test_up_rebalance_flow);
	tcase_add_test(tc, test_up_rebalance_sticky_groups_go_home);
	tcase_add_test(tc, test_up_new_flows);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(balance_suite());
}
