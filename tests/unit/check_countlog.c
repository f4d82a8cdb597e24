/*
 * The counters in the log (daemon/countlog.c): the lines an operator reads
 * after SIGUSR1 say what `wanpairctl counters` says, one line per object,
 * named by its path, and nothing is lost or made up on the way.
 */
#include "autoconf.h"

#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "countlog.h"
#include "sample_counters.h"

#define MAX_LINES 32

struct lines {
	char  *l[MAX_LINES];
	size_t n;
};

static void
collect(const char *line, void *arg)
{
	struct lines *ls = arg;

	ck_assert_uint_lt(ls->n, MAX_LINES);
	ls->l[ls->n] = strdup(line);
	ck_assert_ptr_nonnull(ls->l[ls->n]);
	ls->n++;
}

static void
render(const char *text, struct lines *ls)
{
	json_error_t e;
	json_t      *j = json_loads(text, 0, &e);

	ck_assert_msg(j != NULL, "test JSON: %s", e.text);
	memset(ls, 0, sizeof(*ls));
	countlog_render(j, collect, ls);
	json_decref(j);
}

static void
lines_free(struct lines *ls)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		free(ls->l[i]);
}

START_TEST(socketd_lines)
{
	static const char *const want[] = {
	    "counters: daemon wanpair-socketd, version 1.2, start_time "
	    "1700000000, site branch-17",
	    "control: state up, connected true, link WAN1",
	    "flows: count 3, max 1000, evictions 2, new 40",
	    "links WAN1: state up, admin up, rtt_ms 12.5, jitter_ms 0.25, "
	    "loss 0.015625, mos 4.25, tx_packets 100, tx_bytes 15000, "
	    "rx_packets 90, rx_bytes 9000, tx_errors 0, flows 2, new_flows "
	    "30, probes_sent 50, probes_answered 49, probes_lost 1",
	    "links WAN1 sla 0: profile voice, degraded true, reason loss "
	    "9.8% > 2%, since_s 4, violations 3, loss 0.0975, rtt_ms 12.5, "
	    "jitter_ms 0.25",
	    "links WAN2: state down, admin down, rtt_ms -, jitter_ms -, loss "
	    "0, mos -, tx_packets 0, tx_bytes 0, rx_packets 0, rx_bytes 0, "
	    "tx_errors 7, flows 1, new_flows 10, probes_sent 5, "
	    "probes_answered 0, probes_lost 5",
	    "drops: no_session 4, unparsable 0, key_exhausted 3",
	    "io: tun_reads 20, udp_gso_msgs 7",
	    "io offload: tun tso4 tso6, udp_gso true, udp_gro false",
	};
	struct lines ls;
	size_t       i;

	render(socketd_json, &ls);
	ck_assert_uint_eq(ls.n, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < ls.n; i++)
		ck_assert_str_eq(ls.l[i], want[i]);
	lines_free(&ls);
}
END_TEST

/* popd: a line per site and per site's link, an empty links array and
 * a null flows object say nothing. */
START_TEST(popd_lines)
{
	struct lines ls;
	size_t       i;
	int          site_link = 0, site_drops = 0, drops = 0, hq = 0;

	render(popd_json, &ls);
	for (i = 0; i < ls.n; i++) {
		site_link += strcmp(ls.l[i],
				 "sites branch-17 links WAN1: state up, "
				 "tx_packets 11, tx_bytes 1100, rx_packets "
				 "12, rx_bytes 1200, flows 5, new_flows 6, "
				 "idle_ms 250") == 0;
		site_drops += strcmp(ls.l[i],
				  "sites branch-17 drops: spoofed 1, "
				  "no_endpoint 0") == 0;
		drops += strcmp(ls.l[i],
			     "drops: bad_header 9, no_site 1, "
			     "key_exhausted 5") == 0;
		hq += strcmp(ls.l[i], "sites hq: session false, flows -") == 0;
	}
	ck_assert_int_eq(site_link, 1);
	ck_assert_int_eq(site_drops, 1);
	ck_assert_int_eq(drops, 1);
	ck_assert_int_eq(hq, 1);
	lines_free(&ls);
}
END_TEST

/* A line too long for the log is cut, visibly; unnamed array elements
 * are numbered; a non-object is nothing. */
START_TEST(long_and_odd)
{
	struct lines ls;
	char        *big;
	size_t       i;
	json_t      *j, *a;

	j = json_object();
	for (i = 0; i < 300; i++) {
		char k[32];

		snprintf(k, sizeof(k), "counter_%zu", i);
		json_object_set_new(j, k, json_integer((json_int_t)i));
	}
	a = json_array();
	json_array_append_new(a, json_pack("{s:i}", "x", 1));
	json_object_set_new(j, "units", a);
	memset(&ls, 0, sizeof(ls));
	countlog_render(j, collect, &ls);
	ck_assert_uint_eq(ls.n, 2);
	big = ls.l[0];
	ck_assert_uint_lt(strlen(big), 2048);
	ck_assert_str_eq(big + strlen(big) - 3, "...");
	ck_assert_str_eq(ls.l[1], "units 0: x 1");
	lines_free(&ls);
	json_decref(j);
	j = json_integer(3);
	memset(&ls, 0, sizeof(ls));
	countlog_render(j, collect, &ls);
	ck_assert_uint_eq(ls.n, 0);
	json_decref(j);
}
END_TEST

static Suite *
countlog_suite(void)
{
	Suite *s = suite_create("countlog");
	TCase *tc = tcase_create("render");

	tcase_add_test(tc, socketd_lines);
	tcase_add_test(tc, popd_lines);
	tcase_add_test(tc, long_and_odd);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(countlog_suite());
}
