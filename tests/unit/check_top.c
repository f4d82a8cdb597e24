/*
 * wanpairctl top's screen (ctl/topframe.c) from two samples made here:
 * the rates an operator reads (counter rises over the interval, in bits
 * per second), the shares against the ratio, a restarted daemon's
 * counters, and which flows are the busiest.
 */
#include "autoconf.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "topframe.h"

static json_t *
js(const char *text)
{
	json_error_t e;
	json_t      *j = json_loads(text, 0, &e);

	ck_assert_msg(j != NULL, "bad test JSON: %s: %s", e.text, text);
	return j;
}

static const char *socketd_status =
    "{\"daemon\":\"wanpair-socketd\",\"version\":\"0.1.0\","
    "\"site\":\"branch-17\",\"control\":{\"state\":\"up\",\"link\":"
    "\"WAN1\"},\"links_up\":2,\"links\":2,\"flows\":3,\"flows_max\":"
    "65536}";

/* A socketd links result: WAN1 weight 100, WAN2 weight 20, WAN2 in the
 * given state, with these counters. */
static json_t *
links(const char *wan2_state, long long tx1, long long rx1, long long new1,
    long long tx2, long long new2)
{
	char buf[1024];

	snprintf(buf, sizeof(buf),
	    "{\"links\":["
	    "{\"name\":\"WAN1\",\"state\":\"up\",\"rtt_ms\":12.5,"
	    "\"jitter_ms\":0.5,\"loss\":0.01,\"weight\":100,\"tx_bytes\":%lld,"
	    "\"rx_bytes\":%lld,\"new_flows\":%lld},"
	    "{\"name\":\"WAN2\",\"state\":\"%s\",\"rtt_ms\":40,"
	    "\"jitter_ms\":3,\"loss\":0,\"weight\":20,\"tx_bytes\":%lld,"
	    "\"rx_bytes\":0,\"new_flows\":%lld}]}",
	    tx1, rx1, new1, wan2_state, tx2, new2);
	return js(buf);
}

static void
sample(struct top_sample *s, const char *status, json_t *l, const char *flows,
    double t)
{
	ck_assert_int_eq(top_sample_set(s, js(status), l, js(flows), t), 0);
}

static char *
frame(const struct top_sample *prev, const struct top_sample *cur, size_t n)
{
	size_t len;
	char  *f = top_frame(prev, cur, 2, n, 0, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(strlen(f), len);
	return f;
}

/* The line that starts with `start`, or NULL. */
static const char *
line(const char *frame, const char *start, char out[256])
{
	const char *p = frame, *nl;

	for (; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		if (strncmp(p, start, strlen(start)) == 0) {
			snprintf(out, 256, "%.*s", (int)(nl - p), p);
			return out;
		}
		if (*nl == '\0')
			break;
	}
	return NULL;
}

static const char *no_flows = "{\"flows\":[],\"total\":0,\"shown\":0}";

/* Two samples 2 s apart: WAN1 sent 250,000 bytes (1.00 Mbit/s) and got
 * 10 new flows, WAN2 50,000 (200 kbit/s) and 2: both 83.3:16.7, as the
 * weights 100:20 ask. */
START_TEST(test_rates_and_shares)
{
	struct top_sample a, b;
	char              l[256], *f;

	sample(&a, socketd_status, links("up", 1000, 0, 5, 2000, 1), no_flows,
	    100);
	sample(&b, socketd_status, links("up", 251000, 125000, 15, 52000, 3),
	    no_flows, 102);
	f = frame(&a, &b, 5);
	ck_assert_msg(strncmp(f,
			  "wanpair-socketd 0.1.0, site branch-17, control up "
			  "over WAN1\n2 of 2 links up, 3 of 65536 flows; "
			  "every 2s\n",
			  90) == 0,
	    "%s", f);
	ck_assert_ptr_nonnull(line(f, "LINK ", l));
	ck_assert_ptr_nonnull(line(f, "WAN1 ", l));
	ck_assert_str_eq(l,
	    "WAN1     up     12.50   0.50  1.0%    1.00M "
	    "  500.0k    5.0  83.3  83.3   83.3");
	ck_assert_ptr_nonnull(line(f, "WAN2 ", l));
	ck_assert_str_eq(l,
	    "WAN2     up     40.00   3.00  0.0%   200.0k "
	    "       0    1.0  16.7  16.7   16.7");
	free(f);
	top_sample_free(&a);
	top_sample_free(&b);
}
END_TEST

/* The first screen has one sample: no rates yet, the ratio already. */
START_TEST(test_first_screen)
{
	struct top_sample none, b;
	char              l[256], *f;

	memset(&none, 0, sizeof(none));
	sample(&b, socketd_status, links("up", 1000, 0, 5, 2000, 1), no_flows,
	    100);
	f = frame(&none, &b, 5);
	ck_assert_ptr_nonnull(line(f, "WAN1 ", l));
	ck_assert_str_eq(l,
	    "WAN1     up     12.50   0.50  1.0%        - "
	    "       -      -     -     -   83.3");
	ck_assert_ptr_nonnull(
	    line(f, "busiest flows: after the next refresh", l));
	free(f);
	top_sample_free(&b);
}
END_TEST

/* A link down takes no share of the ratio; counters that fell (the daemon
 * restarted between the samples) are no traffic, not 2^64 bytes. */
START_TEST(test_down_and_restart)
{
	struct top_sample a, b;
	char              l[256], *f;

	sample(&a, socketd_status, links("up", 900000, 0, 50, 2000, 10),
	    no_flows, 100);
	sample(&b, socketd_status, links("down", 1000, 0, 1, 2000, 10),
	    no_flows, 102);
	f = frame(&a, &b, 5);
	ck_assert_ptr_nonnull(line(f, "WAN1 ", l));
	ck_assert_str_eq(l,
	    "WAN1     up     12.50   0.50  1.0%        0 "
	    "       0    0.0     -     -  100.0");
	ck_assert_ptr_nonnull(line(f, "WAN2 ", l));
	ck_assert_str_eq(l,
	    "WAN2     down   40.00   3.00  0.0%        0 "
	    "       0    0.0     -     -    0.0");
	free(f);
	top_sample_free(&a);
	top_sample_free(&b);
}
END_TEST

#define FLOW(sport, bytes, packets, age)                                       \
	"{\"proto\":\"tcp\",\"src\":\"10.1.0.10\",\"sport\":" #sport           \
	",\"dst\":\"203.0.113.10\",\"dport\":443,\"link\":\"WAN1\","           \
	"\"packets\":" #packets ",\"bytes\":" #bytes ",\"age_s\":" #age "}"

/*
 * Busiest by bytes over the interval, not since the start: 1001 moved
 * 10,000 bytes (40.0 kbit/s), 1002 is new, 1 s old (its 500 bytes),
 * 1003 is the biggest in all but idle, and 1004, old and not in the
 * previous sample, has an unknown past and is left out.
 */
START_TEST(test_busiest_flows)
{
	struct top_sample a, b;
	char              l[256], *f;
	const char       *p;

	sample(&a, socketd_status, links("up", 0, 0, 0, 0, 0),
	    "{\"flows\":[" FLOW(1001, 1000, 10, 5) "," FLOW(
		1003, 9000000, 9000, 50) "],\"total\":2,\"shown\":2}",
	    100);
	sample(&b, socketd_status, links("up", 0, 0, 0, 0, 0),
	    "{\"flows\":[" FLOW(1003, 9000000, 9000, 52) "," FLOW(
		1004, 7000000, 7000, 60) "," FLOW(1002, 500, 5,
		1) "," FLOW(1001, 11000, 30, 7) "],\"total\":4,\"shown\":4}",
	    102);
	f = frame(&a, &b, 5);
	ck_assert_ptr_nonnull(line(f, "busiest flows", l));
	ck_assert_str_eq(l,
	    "busiest flows over the last 2.0s: 2 of 2 active "
	    "shown; 4 of 4 flows sampled");
	ck_assert_ptr_nonnull(line(f, "tcp ", l));
	ck_assert_str_eq(l,
	    "tcp   10.1.0.10:1001 203.0.113.10:443 WAN1  "
	    "      40.0k      10     7s");
	p = strstr(f, l) + strlen(l) + 1;
	ck_assert_ptr_nonnull(line(p, "tcp ", l));
	ck_assert_str_eq(l,
	    "tcp   10.1.0.10:1002 203.0.113.10:443 WAN1  "
	    "      2.00k     2.5     1s");
	ck_assert_ptr_null(strstr(f, ":1003 "));
	ck_assert_ptr_null(strstr(f, ":1004 "));
	free(f);
	/* -n 1: the first only. */
	f = frame(&a, &b, 1);
	ck_assert_ptr_nonnull(strstr(f, ":1001 "));
	ck_assert_ptr_null(strstr(f, ":1002 "));
	free(f);
	top_sample_free(&a);
	top_sample_free(&b);
}
END_TEST

/* popd: a row per site and link, each site's shares of its own. */
START_TEST(test_popd_sites)
{
	static const char *status =
	    "{\"daemon\":\"wanpair-popd\",\"version\":\"0.1.0\",\"sites\":2,"
	    "\"sessions\":2,\"connected\":2,\"flows\":0}";
	struct top_sample a, b;
	char              l[256], *f;

	sample(&a, status,
	    js("{\"links\":["
	       "{\"site\":\"s1\",\"name\":\"WAN1\",\"state\":\"up\","
	       "\"weight\":3,\"tx_bytes\":0,\"new_flows\":0},"
	       "{\"site\":\"s1\",\"name\":\"WAN2\",\"state\":\"up\","
	       "\"weight\":1,\"tx_bytes\":0,\"new_flows\":0},"
	       "{\"site\":\"s2\",\"name\":\"WAN1\",\"state\":\"up\","
	       "\"weight\":1,\"tx_bytes\":0,\"new_flows\":0}]}"),
	    no_flows, 100);
	sample(&b, status,
	    js("{\"links\":["
	       "{\"site\":\"s1\",\"name\":\"WAN1\",\"state\":\"up\","
	       "\"weight\":3,\"tx_bytes\":300,\"new_flows\":3},"
	       "{\"site\":\"s1\",\"name\":\"WAN2\",\"state\":\"up\","
	       "\"weight\":1,\"tx_bytes\":100,\"new_flows\":1},"
	       "{\"site\":\"s2\",\"name\":\"WAN1\",\"state\":\"up\","
	       "\"weight\":1,\"tx_bytes\":5000,\"new_flows\":9}]}"),
	    no_flows, 102);
	f = frame(&a, &b, 0);
	ck_assert_ptr_nonnull(strstr(f,
	    "wanpair-popd 0.1.0\n2 sites, 2 with a "
	    "session, 2 connected, 0 flows; every "
	    "2s\n"));
	ck_assert_ptr_nonnull(line(f, "s1               WAN1 ", l));
	ck_assert_str_eq(l,
	    "s1               WAN1     up         -      "
	    "-     -    1.20k        0    1.5  75.0  75.0   75.0");
	ck_assert_ptr_nonnull(line(f, "s2               WAN1 ", l));
	ck_assert_str_eq(l,
	    "s2               WAN1     up         -      "
	    "-     -    20.0k        0    4.5 100.0 100.0  100.0");
	ck_assert_ptr_null(strstr(f, "busiest"));
	free(f);
	top_sample_free(&a);
	top_sample_free(&b);
}
END_TEST

static Suite *
top_suite(void)
{
	Suite *s = suite_create("top");
	TCase *tc = tcase_create("frame");

	tcase_add_test(tc, test_rates_and_shares);
	tcase_add_test(tc, test_first_screen);
	tcase_add_test(tc, test_down_and_restart);
	tcase_add_test(tc, test_busiest_flows);
	tcase_add_test(tc, test_popd_sites);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(top_suite());
}
