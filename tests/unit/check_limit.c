/*
 * popd's admission accounting (common/limit.h) as an attacker and a site
 * would meet it: who is refused, whose handshake is dropped to admit a
 * new one, and how many control frames get through a second.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "limit.h"
#include "check_run.h"

static struct limit_src
src(const char *text)
{
	struct sockaddr_storage ss;
	struct sockaddr_in     *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6    *sin6 = (struct sockaddr_in6 *)&ss;
	struct limit_src        s;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else {
		ck_assert_int_eq(
		    inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
	}
	limit_src_from(&s, (struct sockaddr *)&ss);
	return s;
}

/* Admits as the daemon does: evicting while told to; returns the verdict
 * of the last check and how many were evicted. */
static enum limit_verdict
admit(struct limit_pending *p, struct limit_pending_entry *e,
    struct limit_src s, size_t total, size_t per, int *evicted)
{
	struct limit_pending_entry *old;
	enum limit_verdict          v;

	while (
	    (v = limit_pending_check(p, &s, total, per, &old)) == LIMIT_EVICT) {
		limit_pending_remove(p, old);
		(*evicted)++;
	}
	if (v == LIMIT_ADMIT)
		limit_pending_add(p, e, &s);
	return v;
}

START_TEST(test_per_source_ipv4)
{
	struct limit_pending       p;
	struct limit_pending_entry e[10];
	int                        i, ev = 0;

	limit_pending_init(&p);
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(
		    admit(&p, &e[i], src("198.18.0.2"), 64, 8, &ev),
		    LIMIT_ADMIT);
	/* the ninth from that host is refused, a neighbour is not */
	ck_assert_int_eq(admit(&p, &e[8], src("198.18.0.2"), 64, 8, &ev),
	    LIMIT_REFUSE_SOURCE);
	ck_assert_int_eq(
	    admit(&p, &e[8], src("198.18.0.3"), 64, 8, &ev), LIMIT_ADMIT);
	ck_assert_uint_eq(p.n, 9);
	ck_assert_int_eq(ev, 0);
	/* one handshake done: that host may open one more */
	limit_pending_remove(&p, &e[3]);
	limit_pending_remove(&p, &e[3]); /* twice is harmless */
	ck_assert_uint_eq(p.n, 8);
	ck_assert_int_eq(
	    admit(&p, &e[9], src("198.18.0.2"), 64, 8, &ev), LIMIT_ADMIT);
}
END_TEST

START_TEST(test_per_source_ipv6_is_the_64)
{
	struct limit_pending       p;
	struct limit_pending_entry e[4];
	int                        ev = 0;

	limit_pending_init(&p);
	ck_assert_int_eq(
	    admit(&p, &e[0], src("2001:db8:1:2::1"), 64, 2, &ev), LIMIT_ADMIT);
	ck_assert_int_eq(
	    admit(&p, &e[1], src("2001:db8:1:2:ffff::9"), 64, 2, &ev),
	    LIMIT_ADMIT);
	/* every address of the /64 is one source */
	ck_assert_int_eq(
	    admit(
		&p, &e[2], src("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), 64, 2, &ev),
	    LIMIT_REFUSE_SOURCE);
	/* the next /64 is another */
	ck_assert_int_eq(
	    admit(&p, &e[2], src("2001:db8:1:3::1"), 64, 2, &ev), LIMIT_ADMIT);
	/* an IPv4-mapped address is its IPv4 host, not ::ffff:0:0/64 */
	ck_assert_int_eq(admit(&p, &e[3], src("::ffff:198.18.0.2"), 64, 2, &ev),
	    LIMIT_ADMIT);
	ck_assert_uint_eq(limit_pending_source_count(&p,
			      &(struct limit_src){AF_INET, {198, 18, 0, 2}}),
	    1);
}
END_TEST

/* Eight hosts of a botnet hold every slot with slow handshakes; the
 * site's connection still gets in, at the cost of the oldest. */
START_TEST(test_full_drops_the_oldest)
{
	struct limit_pending       p;
	struct limit_pending_entry e[64], site;
	char                       a[32];
	int                        i, ev = 0;

	limit_pending_init(&p);
	for (i = 0; i < 64; i++) {
		snprintf(a, sizeof(a), "203.0.113.%d", 1 + i % 8);
		ck_assert_int_eq(
		    admit(&p, &e[i], src(a), 64, 8, &ev), LIMIT_ADMIT);
	}
	ck_assert_int_eq(ev, 0);
	ck_assert_int_eq(
	    admit(&p, &site, src("198.18.1.2"), 64, 8, &ev), LIMIT_ADMIT);
	ck_assert_int_eq(ev, 1);
	ck_assert_int_eq(e[0].linked, 0); /* the first accepted went */
	ck_assert_int_eq(e[1].linked, 1);
	ck_assert_int_eq(site.linked, 1);
	ck_assert_uint_eq(p.n, 64);
	/* that host lost a slot, so it may take one again, evicting the
	 * next oldest */
	ck_assert_int_eq(
	    admit(&p, &e[0], src("203.0.113.1"), 64, 8, &ev), LIMIT_ADMIT);
	ck_assert_int_eq(ev, 2);
	ck_assert_int_eq(e[1].linked, 0);
	ck_assert_int_eq(site.linked, 1);
}
END_TEST

/* A reload lowers the total below what is pending: the next accept drops
 * as many of the oldest as it takes. */
START_TEST(test_lowered_total)
{
	struct limit_pending       p;
	struct limit_pending_entry e[11];
	char                       a[32];
	int                        i, ev = 0;

	limit_pending_init(&p);
	for (i = 0; i < 10; i++) {
		snprintf(a, sizeof(a), "203.0.113.%d", i + 1);
		ck_assert_int_eq(
		    admit(&p, &e[i], src(a), 64, 8, &ev), LIMIT_ADMIT);
	}
	ck_assert_int_eq(
	    admit(&p, &e[10], src("198.18.1.2"), 4, 8, &ev), LIMIT_ADMIT);
	ck_assert_int_eq(ev, 7);
	ck_assert_uint_eq(p.n, 4);
	for (i = 0; i < 7; i++)
		ck_assert_int_eq(e[i].linked, 0);
}
END_TEST

START_TEST(test_bucket_burst_then_rate)
{
	struct limit_bucket b;
	uint64_t            t = 1000;
	int                 i, n;

	limit_bucket_init(&b, t, 400);
	for (n = 0; limit_bucket_take(&b, t, 100, 400); n++)
		;
	ck_assert_int_eq(n, 400);
	/* then 100 a second, spread: 1 every 10 ms */
	for (n = 0, i = 0; i < 1000; i++)
		n += limit_bucket_take(&b, ++t, 100, 400);
	ck_assert_int_eq(n, 100);
	/* an hour of silence saves up the burst, not more */
	t += 3600 * 1000;
	for (n = 0; limit_bucket_take(&b, t, 100, 400); n++)
		;
	ck_assert_int_eq(n, 400);
	/* a reload lowering the burst applies at once */
	t += 3600 * 1000;
	for (n = 0; limit_bucket_take(&b, t, 100, 10); n++)
		;
	ck_assert_int_eq(n, 10);
}
END_TEST

/*
 * What a legitimate Socket sends under the defaults (100/s, burst 400):
 * a failover of 100,000 flows is 25 REASSIGN chunks back to back, with
 * LINK_STATEs for every link of a site with 32, and keepalives; repeated
 * after one second it passes again.  A flood does not.
 */
START_TEST(test_bucket_socket_pattern)
{
	struct limit_bucket b;
	uint64_t            t = 5;
	int                 i, round, n;

	limit_bucket_init(&b, t, 400);
	for (round = 0; round < 10; round++) {
		for (i = 0; i < 25 + 32 + 1; i++)
			ck_assert(limit_bucket_take(&b, t, 100, 400));
		t += 1000;
	}
	for (n = 0; n < 100000 && limit_bucket_take(&b, t, 100, 400); n++)
		;
	ck_assert_int_eq(n, 400);
}
END_TEST

/* Bytes charged after the fact: a second's worth passes, the rest is a
 * debt the caller waits out, and the rate holds over a long run. */
START_TEST(test_bucket_charge_debt)
{
	struct limit_bucket b;
	uint64_t            t = 1000, w, total = 0;
	int                 i;

	limit_bucket_init(&b, t, 1000); /* 1000 bytes/s, a second saved */
	ck_assert_uint_eq(limit_bucket_charge(&b, t, 1000, 1000, 600), 0);
	ck_assert_uint_eq(limit_bucket_charge(&b, t, 1000, 1000, 400), 0);
	/* empty: 500 bytes more are half a second of debt */
	ck_assert_uint_eq(limit_bucket_charge(&b, t, 1000, 1000, 500), 500);
	/* nothing refills before the debt is paid */
	ck_assert_int_eq(limit_bucket_take(&b, t + 499, 1000, 1000), 0);
	/* a charge during the debt adds to it */
	ck_assert_uint_eq(
	    limit_bucket_charge(&b, t + 100, 1000, 1000, 100), 500);
	/* ten 1000-byte frames at 1000 bytes/s: the waits add up */
	limit_bucket_init(&b, t, 1000);
	for (i = 0; i < 10; i++) {
		w = limit_bucket_charge(&b, t, 1000, 1000, 1000);
		total += w;
		t += w;
	}
	ck_assert_uint_eq(total, 9000); /* the first was saved up */
}
END_TEST

static Suite *
limit_suite(void)
{
	Suite *s = suite_create("limit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_per_source_ipv4);
	tcase_add_test(tc, test_per_source_ipv6_is_the_64);
	tcase_add_test(tc, test_full_drops_the_oldest);
	tcase_add_test(tc, test_lowered_total);
	tcase_add_test(tc, test_bucket_burst_then_rate);
	tcase_add_test(tc, test_bucket_socket_pattern);
	tcase_add_test(tc, test_bucket_charge_debt);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(limit_suite());
}
