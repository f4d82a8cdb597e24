/*
 * Service levels per profile (brownout, common/sla.h): when a window
 * makes a link degraded and when it is compliant again (limits, window,
 * hysteresis), and what the balance does with a degraded link: new flows
 * of that profile avoid it while a compliant link exists, other profiles
 * keep their ratio, and "move" takes the profile's flows off it.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance.h"
#include "config.h"
#include "flow.h"
#include "pkt.h"
#include "sla.h"
#include "check_run.h"
#include "check_spec.h"

/* A link as the probes show it: cumulative counts and smoothed figures. */
struct fake {
	struct sla_figures f;
	uint64_t           now;
};

/* One probe round every 100 ms: `lost` of every `of` probes lost. */
static enum sla_event
rounds(struct sla_state *s, const struct sla_limits *l, struct fake *k,
    unsigned n, unsigned lost, unsigned of, int *changes)
{
	enum sla_event ev, last = SLA_NO_CHANGE;
	unsigned       i;

	for (i = 0; i < n; i++) {
		if (of > 0 && i % of < lost)
			k->f.lost++;
		else
			k->f.answered++;
		k->now += 100;
		if ((ev = sla_sample(s, l, &k->f, k->now)) != SLA_NO_CHANGE) {
			last = ev;
			if (changes != NULL)
				(*changes)++;
		}
	}
	return last;
}

static struct sla_limits
limits_loss(uint32_t ppm)
{
	struct sla_limits l = {ppm, SLA_NO_LIMIT, SLA_NO_LIMIT, 2000,
	    SLA_GOOD_WINDOWS_DEFAULT, SLA_AVOID};

	return l;
}

static void
fake_init(struct fake *k, struct sla_state *s)
{
	memset(k, 0, sizeof(*k));
	k->f.has_rtt = 1;
	k->f.rtt_us = 20000;
	k->f.jitter_us = 1000;
	k->now = 1000;
	sla_init(s, k->now);
}

/* 5% loss against a 2% limit: degraded at the end of the first whole
 * window, with the figure and the limit in the reason. */
START_TEST(test_loss_degrades)
{
	struct sla_limits l = limits_loss(20000);
	struct sla_state  s;
	struct fake       k;
	int               n = 0;

	fake_init(&k, &s);
	ck_assert_str_eq(sla_reason(&s), "compliant");
	ck_assert_int_eq(sla_degraded(&s), 0);
	/* the first call opens the window; 19 more rounds do not end it */
	ck_assert_int_eq(rounds(&s, &l, &k, 20, 1, 20, &n), SLA_NO_CHANGE);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(sla_measured(&s), 0);
	/* the 21st round is 2 s after the first: the window is judged */
	ck_assert_int_eq(rounds(&s, &l, &k, 1, 1, 1, &n), SLA_WENT_DEGRADED);
	ck_assert_int_eq(sla_degraded(&s), 1);
	ck_assert_int_eq(sla_measured(&s), 1);
	/* 20 outcomes known in the window (the first round's was before
	 * it opened): 19 answered, the 21st round's lost */
	ck_assert_uint_eq(sla_loss_ppm(&s), 50000);
	ck_assert_str_eq(sla_reason(&s), "loss 5.0% > 2%");
	ck_assert_uint_eq(sla_violations(&s), 1);
	/* staying lossy: no second transition */
	ck_assert_int_eq(rounds(&s, &l, &k, 100, 1, 20, &n), SLA_NO_CHANGE);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(sla_degraded(&s), 1);
}
END_TEST

/* At the limit is within it; one probe over is not. */
START_TEST(test_loss_at_limit)
{
	struct sla_limits l = limits_loss(50000); /* 5% */
	struct sla_state  s;
	struct fake       k;

	fake_init(&k, &s);
	/* 1 lost in 20 = exactly 5% every window */
	ck_assert_int_eq(rounds(&s, &l, &k, 201, 1, 20, NULL), SLA_NO_CHANGE);
	ck_assert_int_eq(sla_degraded(&s), 0);
	ck_assert_uint_eq(sla_loss_ppm(&s), 50000);
	/* 2 in 20 = 10% */
	ck_assert_int_eq(
	    rounds(&s, &l, &k, 40, 2, 20, NULL), SLA_WENT_DEGRADED);
}
END_TEST

/* Hysteresis: compliant again only after good_windows windows all
 * within 3/4 of the limit; a window between 3/4 and the limit starts the
 * count over without making it worse. */
START_TEST(test_hysteresis)
{
	struct sla_limits l = limits_loss(100000); /* 10% */
	struct sla_state  s;
	struct fake       k;
	int               n = 0;

	fake_init(&k, &s);
	ck_assert_int_eq(
	    rounds(&s, &l, &k, 21, 4, 20, &n), SLA_WENT_DEGRADED); /* 20% */
	/* two clean windows: still degraded */
	ck_assert_int_eq(rounds(&s, &l, &k, 40, 0, 0, &n), SLA_NO_CHANGE);
	ck_assert_int_eq(sla_degraded(&s), 1);
	/* 2 of 20 = 10%: within the limit, above 7.5%: the count restarts */
	ck_assert_int_eq(rounds(&s, &l, &k, 20, 2, 20, &n), SLA_NO_CHANGE);
	ck_assert_int_eq(sla_degraded(&s), 1);
	ck_assert_uint_eq(sla_loss_ppm(&s), 100000);
	/* 1 of 20 = 5% (below 7.5%) twice, then clean: the third good
	 * window in a row brings it back */
	ck_assert_int_eq(rounds(&s, &l, &k, 40, 1, 20, &n), SLA_NO_CHANGE);
	ck_assert_int_eq(sla_degraded(&s), 1);
	ck_assert_int_eq(rounds(&s, &l, &k, 20, 0, 0, &n), SLA_WENT_COMPLIANT);
	ck_assert_int_eq(sla_degraded(&s), 0);
	ck_assert_str_eq(sla_reason(&s), "3 windows within 3/4 of the limits");
	ck_assert_int_eq(n, 2);
	ck_assert_uint_eq(sla_changed_ms(&s), k.now);
}
END_TEST

START_TEST(test_good_windows_one)
{
	struct sla_limits l = limits_loss(20000);
	struct sla_state  s;
	struct fake       k;

	l.good_windows = 1;
	fake_init(&k, &s);
	ck_assert_int_eq(
	    rounds(&s, &l, &k, 21, 1, 10, NULL), SLA_WENT_DEGRADED);
	ck_assert_int_eq(
	    rounds(&s, &l, &k, 20, 0, 0, NULL), SLA_WENT_COMPLIANT);
	ck_assert_str_eq(sla_reason(&s), "1 window within 3/4 of the limits");
}
END_TEST

/* A reply after the loss timeout: the probe was late, not lost. */
START_TEST(test_late_is_not_lost)
{
	struct sla_limits l = limits_loss(20000);
	struct sla_state  s;
	struct fake       k;

	fake_init(&k, &s);
	ck_assert_int_eq(rounds(&s, &l, &k, 1, 0, 0, NULL), SLA_NO_CHANGE);
	/* 2 of 20 declared lost, both answered late: 0% */
	ck_assert_int_eq(rounds(&s, &l, &k, 10, 2, 10, NULL), SLA_NO_CHANGE);
	k.f.late += 2;
	ck_assert_int_eq(rounds(&s, &l, &k, 10, 0, 0, NULL), SLA_NO_CHANGE);
	ck_assert_int_eq(sla_measured(&s), 1);
	ck_assert_uint_eq(sla_loss_ppm(&s), 0);
	/* 2 of 20 lost, 1 of them late: 5% */
	ck_assert_int_eq(rounds(&s, &l, &k, 10, 2, 10, NULL), SLA_NO_CHANGE);
	k.f.late++;
	ck_assert_int_eq(rounds(&s, &l, &k, 10, 0, 0, NULL), SLA_WENT_DEGRADED);
	ck_assert_uint_eq(sla_loss_ppm(&s), 50000);
}
END_TEST

/* A window with no probe outcome (link down, no session) says nothing:
 * neither degraded nor a good window towards recovery. */
START_TEST(test_no_outcome_no_verdict)
{
	struct sla_limits l = limits_loss(20000);
	struct sla_state  s;
	struct fake       k;
	unsigned          i;

	fake_init(&k, &s);
	for (i = 0; i < 100; i++) {
		k.now += 100;
		ck_assert_int_eq(
		    sla_sample(&s, &l, &k.f, k.now), SLA_NO_CHANGE);
	}
	ck_assert_int_eq(sla_measured(&s), 0);
	ck_assert_int_eq(rounds(&s, &l, &k, 21, 1, 5, NULL), SLA_WENT_DEGRADED);
	for (i = 0; i < 100; i++) {
		k.now += 100;
		ck_assert_int_eq(
		    sla_sample(&s, &l, &k.f, k.now), SLA_NO_CHANGE);
	}
	ck_assert_int_eq(sla_degraded(&s), 1);
}
END_TEST

/* Latency and jitter: the mean over the window of the smoothed figures
 * at each round. */
START_TEST(test_latency_jitter)
{
	struct sla_limits l = {SLA_NO_LIMIT, 150000, 30000, 1000, 2, SLA_MOVE};
	struct sla_state  s;
	struct fake       k;

	fake_init(&k, &s);
	k.f.rtt_us = 140000;
	ck_assert_int_eq(rounds(&s, &l, &k, 31, 1, 2, NULL), SLA_NO_CHANGE);
	ck_assert_uint_eq(sla_rtt_us(&s), 140000);
	/* half the window at 140 ms, half at 180: a mean of 160 */
	k.f.rtt_us = 180000;
	ck_assert_int_eq(rounds(&s, &l, &k, 5, 0, 0, NULL), SLA_NO_CHANGE);
	k.f.rtt_us = 140000;
	ck_assert_int_eq(rounds(&s, &l, &k, 5, 0, 0, NULL), SLA_WENT_DEGRADED);
	ck_assert_uint_eq(sla_rtt_us(&s), 160000);
	ck_assert_str_eq(sla_reason(&s), "latency 160.0 ms > 150 ms");
	/* 140 ms is within the limit but above 3/4 of it: no recovery */
	ck_assert_int_eq(rounds(&s, &l, &k, 50, 0, 0, NULL), SLA_NO_CHANGE);
	ck_assert_int_eq(sla_degraded(&s), 1);
	k.f.rtt_us = 100000;
	ck_assert_int_eq(
	    rounds(&s, &l, &k, 30, 0, 0, NULL), SLA_WENT_COMPLIANT);
	/* jitter alone */
	k.f.jitter_us = 45000;
	ck_assert_int_eq(rounds(&s, &l, &k, 20, 0, 0, NULL), SLA_WENT_DEGRADED);
	/* the window's first round still had 1 ms: (1 + 9 * 45) / 10 */
	ck_assert_str_eq(sla_reason(&s), "jitter 40.6 ms > 30 ms");
	/* no RTT at all (every probe lost): latency cannot be shown
	 * within its limit, so no recovery */
	k.f.jitter_us = 0;
	k.f.has_rtt = 0;
	ck_assert_int_eq(rounds(&s, &l, &k, 50, 0, 0, NULL), SLA_NO_CHANGE);
	ck_assert_int_eq(sla_degraded(&s), 1);
}
END_TEST

/* ---------------------------------------------------------- balance */

#define VOICE_NET "198.51.100.0"

static struct config *
conf_two(void)
{
	static const char text[] =
	    "{\"links\": ["
	    "{\"name\": \"WAN1\", \"up_mbps\": 100, \"down_mbps\": 100},"
	    "{\"name\": \"WAN2\", \"up_mbps\": 20, \"down_mbps\": 20}],"
	    "\"default_profile\": \"bulk\","
	    "\"profiles\": [{\"name\": \"bulk\"},"
	    " {\"name\": \"voice\", \"sla\": {\"loss_pct\": 2}}],"
	    "\"routes\": ["
	    "{\"network\": \"0.0.0.0/0\", \"link\": \"WAN1\"},"
	    "{\"network\": \"0.0.0.0/0\", \"link\": \"WAN2\"},"
	    "{\"network\": \"198.51.100.0/24\", \"link\": \"WAN1\","
	    " \"profile\": \"voice\"},"
	    "{\"network\": \"198.51.100.0/24\", \"link\": \"WAN2\","
	    " \"profile\": \"voice\"}]}";
	struct config_errors errs = {NULL, 0};
	struct config       *c;

	c = config_parse(
	    text, sizeof(text) - 1, "t.json", CONFIG_REPLAY, &errs);
	ck_assert_msg(c != NULL, "%s", errs.n > 0 ? errs.lines[0] : "?");
	return c;
}

/* A flow of `n`-th source, to the voice network or elsewhere, in t. */
static struct flow *
add_flow(struct balance *b, struct flow_table *t, uint32_t n, int voice)
{
	struct pkt_info pi;
	struct flow_key key;
	struct flow    *f;
	uint64_t        h;

	memset(&pi, 0, sizeof(pi));
	pi.family = AF_INET;
	pi.proto = IPPROTO_UDP;
	pi.src[0] = 10;
	pi.src[1] = 1;
	pi.src[2] = (uint8_t)(n >> 8);
	pi.src[3] = (uint8_t)n;
	pi.dst[0] = voice ? 198 : 203;
	pi.dst[1] = voice ? 51 : 0;
	pi.dst[2] = voice ? 100 : 113;
	pi.dst[3] = 10;
	pi.sport = (uint16_t)(10000 + n);
	pi.dport = voice ? 5004 : 443;
	pi.len = 200;
	(void)flow_key_from_pkt(&pi, &key);
	h = flow_table_hash(t, &key);
	ck_assert_ptr_nonnull(f = flow_table_insert(t, &key, h, 0));
	ck_assert_int_eq(balance_assign(b, t, &pi, f, 0), 0);
	return f;
}

struct moves {
	unsigned n, to[2];
};

static void
count_move(void *arg, const struct flow *f, unsigned from, unsigned to)
{
	struct moves *m = arg;

	(void)f;
	ck_assert_uint_eq(from, 0);
	m->n++;
	m->to[to]++;
}

static struct flow_table *
table(void)
{
	struct flow_timeouts to;
	int                  i;

	for (i = 0; i < FLOW_NCLASS; i++)
		to.s[i] = 3600;
	return flow_table_new(4096, &to);
}

/* WAN1 degraded for voice: every new voice flow on WAN2, bulk flows
 * still 100:20; compliant again, voice is back to 100:20. */
START_TEST(test_balance_avoids)
{
	struct config     *c = conf_two();
	struct balance    *b = balance_conf(c, SIDE_UP);
	struct flow_table *t = table();
	unsigned           i, on[2][2] = {{0}};
	struct flow       *f;

	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(balance_nprofiles(b), 2);
	balance_set_degraded(b, 1, 0, 1);
	ck_assert_int_eq(balance_degraded(b, 1, 0), 1);
	ck_assert_int_eq(balance_degraded(b, 0, 0), 0);
	for (i = 0; i < 60; i++) {
		f = add_flow(b, t, i, 1);
		on[1][f->link]++;
		ck_assert_uint_eq(f->profile, 1);
		f = add_flow(b, t, 1000 + i, 0);
		on[0][f->link]++;
		ck_assert_uint_eq(f->profile, 0);
	}
	ck_assert_uint_eq(on[1][0], 0);
	ck_assert_uint_eq(on[1][1], 60);
	ck_assert_uint_eq(on[0][0], 50);
	ck_assert_uint_eq(on[0][1], 10);

	balance_set_degraded(b, 1, 0, 0);
	memset(on, 0, sizeof(on));
	for (i = 0; i < 60; i++)
		on[1][add_flow(b, t, 2000 + i, 1)->link]++;
	ck_assert_uint_eq(on[1][0], 50);
	ck_assert_uint_eq(on[1][1], 10);
	flow_table_free(t);
	balance_free(b);
	config_free(c);
}
END_TEST

/* A degraded link beats none: both degraded, the ratio holds; the
 * compliant one down, the degraded one takes the flows. */
START_TEST(test_balance_degraded_beats_none)
{
	struct config     *c = conf_two();
	struct balance    *b = balance_conf(c, SIDE_UP);
	struct flow_table *t = table();
	unsigned           i, on[2] = {0};

	balance_set_degraded(b, 1, 0, 1);
	balance_set_degraded(b, 1, 1, 1);
	for (i = 0; i < 60; i++)
		on[add_flow(b, t, i, 1)->link]++;
	ck_assert_uint_eq(on[0], 50);
	ck_assert_uint_eq(on[1], 10);
	balance_set_degraded(b, 1, 1, 0);
	(void)balance_link_down(b, t, 1, 0, NULL, NULL);
	ck_assert_uint_eq(add_flow(b, t, 100, 1)->link, 0);
	/* unknown profile or link: nothing */
	balance_set_degraded(b, 7, 0, 1);
	balance_set_degraded(b, 0, 40, 1);
	ck_assert_int_eq(balance_degraded(b, 7, 0), 0);
	ck_assert_int_eq(balance_degraded(b, 0, 40), 0);
	flow_table_free(t);
	balance_free(b);
	config_free(c);
}
END_TEST

/* on_violation "move": the voice flows on WAN1 go to WAN2, its bulk
 * flows stay; nothing moves while the link is compliant. */
START_TEST(test_balance_move)
{
	struct config     *c = conf_two();
	struct balance    *b = balance_conf(c, SIDE_UP);
	struct flow_table *t = table();
	struct moves       m = {0, {0, 0}};
	unsigned           i;

	for (i = 0; i < 60; i++) {
		(void)add_flow(b, t, i, 1);
		(void)add_flow(b, t, 1000 + i, 0);
	}
	ck_assert_uint_eq(balance_link_active(b, 0), 100);
	ck_assert_uint_eq(balance_sla_move(b, t, 0, 1, 0, count_move, &m), 0);
	balance_set_degraded(b, 1, 0, 1);
	ck_assert_uint_eq(balance_sla_move(b, t, 0, 1, 0, count_move, &m), 50);
	ck_assert_uint_eq(m.n, 50);
	ck_assert_uint_eq(m.to[1], 50);
	ck_assert_uint_eq(balance_link_active(b, 0), 50); /* bulk's 50 */
	ck_assert_uint_eq(balance_link_active(b, 1), 70);
	/* again: nothing left to move */
	ck_assert_uint_eq(balance_sla_move(b, t, 0, 1, 0, count_move, &m), 0);
	flow_table_free(t);
	balance_free(b);
	config_free(c);
}
END_TEST

/* With no compliant live link, "move" moves nothing. */
START_TEST(test_balance_move_nowhere)
{
	struct config     *c = conf_two();
	struct balance    *b = balance_conf(c, SIDE_UP);
	struct flow_table *t = table();
	unsigned           i;

	for (i = 0; i < 12; i++)
		(void)add_flow(b, t, i, 1);
	balance_set_degraded(b, 1, 0, 1);
	balance_set_degraded(b, 1, 1, 1);
	ck_assert_uint_eq(balance_sla_move(b, t, 0, 1, 0, NULL, NULL), 0);
	balance_set_degraded(b, 1, 1, 0);
	(void)balance_link_down(b, t, 1, 0, NULL, NULL);
	ck_assert_uint_eq(balance_sla_move(b, t, 0, 1, 0, NULL, NULL), 0);
	ck_assert_uint_eq(balance_link_active(b, 0), 12);
	flow_table_free(t);
	balance_free(b);
	config_free(c);
}
END_TEST

static Suite *
sla_suite(void)
{
	Suite *s = suite_create("sla");
	TCase *tc = tcase_create("decision");

	tcase_add_test(tc, test_loss_degrades);
	tcase_add_test(tc, test_loss_at_limit);
	tcase_add_test(tc, test_hysteresis);
	tcase_add_test(tc, test_good_windows_one);
	tcase_add_test(tc, test_late_is_not_lost);
	tcase_add_test(tc, test_no_outcome_no_verdict);
	tcase_add_test(tc, test_latency_jitter);
	suite_add_tcase(s, tc);
	tc = tcase_create("balance");
	tcase_add_test(tc, test_balance_avoids);
	tcase_add_test(tc, test_balance_degraded_beats_none);
	tcase_add_test(tc, test_balance_move);
	tcase_add_test(tc, test_balance_move_nowhere);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(sla_suite());
}
