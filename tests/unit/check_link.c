/*
 * Link health with an injected clock: what the operator sees in the log
 * and in wanpairctl (up/down, the reason, RTT, jitter, loss) for known
 * sequences of probes, answers, carrier and admin events.
 */
#include "autoconf.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link.h"
#include "check_rng.h"
#include "check_run.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Tight loops check with this: ck_assert records every passing assertion
 * in a file, which costs more than everything under test. */
#define REQUIRE(e)                                                             \
	do {                                                                   \
		if (!(e))                                                      \
			ck_abort_msg("Assertion '%s' failed", #e);             \
	} while (0)

/*
 * One link and its clock.  A "cycle" is what the daemon does once per
 * interval: send a probe, maybe get its reply rtt ms later, then tick at
 * the next interval.  With timeout_ms == interval_ms the loss timeout is
 * exactly one interval, so each cycle is exactly one outcome.
 */
struct sim {
	struct link_health lh;
	uint64_t           now;
	uint32_t           seq;
	unsigned           ups, downs; /* transitions seen, all calls */
};

static enum link_event
seen(struct sim *s, enum link_event ev)
{
	if (ev == LINK_WENT_UP)
		s->ups++;
	else if (ev == LINK_WENT_DOWN)
		s->downs++;
	return ev;
}

static void
sim_init(struct sim *s, uint32_t down_after, uint32_t up_after)
{
	struct link_health_params p = {.interval_ms = 100,
	    .timeout_ms = 100,
	    .down_after = down_after,
	    .up_after = up_after};

	memset(s, 0, sizeof(*s));
	s->now = 1000;
	link_health_init(&s->lh, &p, s->now);
}

/* One cycle; returns its transition (at most one may happen). */
static enum link_event
cycle(struct sim *s, int answered)
{
	enum link_event a = LINK_NO_CHANGE, t;
	uint32_t        seq = s->seq++;

	link_probe_sent(&s->lh, seq, s->now);
	if (answered)
		a = seen(s, link_probe_answered(&s->lh, seq, s->now + 10));
	s->now += 100;
	t = seen(s, link_tick(&s->lh, s->now));
	REQUIRE(a == LINK_NO_CHANGE || t == LINK_NO_CHANGE);
	return a != LINK_NO_CHANGE ? a : t;
}

/* Takes an up link down by probes and checks it took exactly that. */
static void
sim_down(struct sim *s)
{
	uint32_t i;

	for (i = 1; i < s->lh.p.down_after; i++)
		ck_assert_int_eq(cycle(s, 0), LINK_NO_CHANGE);
	ck_assert_int_eq(cycle(s, 0), LINK_WENT_DOWN);
	ck_assert_int_eq(link_state(&s->lh), LINK_DOWN);
}

START_TEST(test_initial_up_unverified)
{
	struct sim s;

	sim_init(&s, 0, 0);
	ck_assert_int_eq(link_state(&s.lh), LINK_UP);
	ck_assert_int_eq(link_cause(&s.lh), LINK_CAUSE_NONE);
	ck_assert_int_eq(link_verified(&s.lh), 0);
	ck_assert_str_eq(link_status_str(&s.lh), "up (unverified)");
	ck_assert_str_eq(link_reason(&s.lh), "up at start, unverified");
	ck_assert_uint_eq(link_changed_ms(&s.lh), 1000);
	ck_assert_uint_eq(link_rtt_us(&s.lh), 0);
	ck_assert_uint_eq(link_loss_ppm(&s.lh), 0);
	/* Defaults are DESIGN.md's: 3 down, 5 up. */
	ck_assert_uint_eq(s.lh.p.down_after, 3);
	ck_assert_uint_eq(s.lh.p.up_after, 5);

	ck_assert_int_eq(cycle(&s, 1), LINK_NO_CHANGE);
	ck_assert_int_eq(link_verified(&s.lh), 1);
	ck_assert_str_eq(link_status_str(&s.lh), "up");
	ck_assert_uint_eq(link_rtt_us(&s.lh), 10000);
}
END_TEST

START_TEST(test_defaults_without_params)
{
	struct link_health lh;

	link_health_init(&lh, NULL, 0);
	ck_assert_uint_eq(lh.p.interval_ms, 100);
	ck_assert_uint_eq(lh.p.down_after, 3);
	ck_assert_uint_eq(lh.p.up_after, 5);
	/* No RTT yet: the whole timeout, as RFC 6298's initial 1 s RTO. */
	ck_assert_uint_eq(link_timeout_ms(&lh), 1000);
}
END_TEST

static const uint32_t counts[] = {1, 2, 3, 5, 9};

/* Exactly down_after consecutive misses take it down, one fewer not. */
START_TEST(test_down_after_exactly)
{
	struct sim s;
	uint32_t   n = counts[_i], i;

	sim_init(&s, n, 0);
	for (i = 1; i < n; i++) {
		ck_assert_int_eq(cycle(&s, 0), LINK_NO_CHANGE);
		ck_assert_int_eq(link_state(&s.lh), LINK_UP);
	}
	ck_assert_int_eq(cycle(&s, 0), LINK_WENT_DOWN);
	ck_assert_int_eq(link_cause(&s.lh), LINK_CAUSE_PROBES);
	ck_assert_str_eq(link_status_str(&s.lh), "down (probing)");
	ck_assert_uint_eq(link_changed_ms(&s.lh), s.now);
	{
		char want[48];

		snprintf(want, sizeof(want), "%u probe%s unanswered", n,
		    n == 1 ? "" : "s");
		ck_assert_str_eq(link_reason(&s.lh), want);
	}
	/* Further misses: still down, nothing more to report. */
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(cycle(&s, 0), LINK_NO_CHANGE);
	ck_assert_uint_eq(s.downs, 1);
	ck_assert_uint_eq(s.ups, 0);
}
END_TEST

/* An answer between misses starts the count of misses over. */
START_TEST(test_down_needs_consecutive_misses)
{
	struct sim s;
	int        i;

	sim_init(&s, 3, 5);
	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(cycle(&s, 0), LINK_NO_CHANGE);
		ck_assert_int_eq(cycle(&s, 0), LINK_NO_CHANGE);
		ck_assert_int_eq(cycle(&s, 1), LINK_NO_CHANGE);
	}
	ck_assert_int_eq(link_state(&s.lh), LINK_UP);
	ck_assert_uint_eq(link_counters(&s.lh)->lost, 200);
}
END_TEST

/* Exactly up_after consecutive answers bring it back; a miss in between
 * starts the count over. */
START_TEST(test_up_after_exactly)
{
	struct sim s;
	uint32_t   n = counts[_i], i;
	char       want[48];

	sim_init(&s, 3, n);
	sim_down(&s);
	if (n > 1) {
		for (i = 1; i < n; i++)
			ck_assert_int_eq(cycle(&s, 1), LINK_NO_CHANGE);
		ck_assert_int_eq(cycle(&s, 0), LINK_NO_CHANGE);
		for (i = 1; i < n; i++)
			ck_assert_int_eq(cycle(&s, 1), LINK_NO_CHANGE);
		ck_assert_int_eq(link_state(&s.lh), LINK_DOWN);
	}
	ck_assert_int_eq(cycle(&s, 1), LINK_WENT_UP);
	ck_assert_int_eq(link_state(&s.lh), LINK_UP);
	ck_assert_int_eq(link_cause(&s.lh), LINK_CAUSE_NONE);
	snprintf(
	    want, sizeof(want), "%u probe%s answered", n, n == 1 ? "" : "s");
	ck_assert_str_eq(link_reason(&s.lh), want);
	/* The transition happens at the answer, not at the tick after. */
	ck_assert_uint_eq(link_changed_ms(&s.lh), s.now - 100 + 10);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(cycle(&s, 1), LINK_NO_CHANGE);
	ck_assert_uint_eq(s.ups, 1);
	ck_assert_uint_eq(s.downs, 1);
}
END_TEST

/* A link that answers every other probe is neither healthy enough to come
 * back nor dead enough to leave: whichever state it is in, it stays. */
START_TEST(test_flapping)
{
	struct sim s;
	int        i;

	sim_init(&s, 3, 5);
	for (i = 0; i < 1000; i++)
		REQUIRE(cycle(&s, i & 1) == LINK_NO_CHANGE);
	ck_assert_int_eq(link_state(&s.lh), LINK_UP);

	sim_down(&s);
	for (i = 0; i < 1000; i++)
		REQUIRE(cycle(&s, i & 1) == LINK_NO_CHANGE);
	ck_assert_int_eq(link_state(&s.lh), LINK_DOWN);

	/* Closer to the edges: 2 misses in 3 from up, 4 answers in 5 from
	 * down. */
	sim_init(&s, 3, 5);
	for (i = 0; i < 999; i++)
		REQUIRE(cycle(&s, i % 3 == 2) == LINK_NO_CHANGE);
	ck_assert_int_eq(link_state(&s.lh), LINK_UP);
	sim_down(&s);
	for (i = 0; i < 1000; i++)
		REQUIRE(cycle(&s, i % 5 != 4) == LINK_NO_CHANGE);
	ck_assert_int_eq(link_state(&s.lh), LINK_DOWN);
	ck_assert_uint_eq(s.ups, 0);
	ck_assert_uint_eq(s.downs, 1);
}
END_TEST

/* RFC 6298 SRTT/RTTVAR and RFC 3550 jitter, worked by hand. */
START_TEST(test_rtt_jitter_values)
{
	struct link_health lh;
	static const struct {
		uint32_t rtt_ms;
		uint32_t srtt_us, jitter_us, timeout_ms;
	} want[] = {
	    /* first: SRTT = R, RTTVAR = R/2 = 5000; 10 + max(100, 20) */
	    {10, 10000, 0, 110},
	    /* RTTVAR = 5000 + (10000 - 5000)/4 = 6250,
		 * SRTT = 10000 + 10000/8, J = 0 + 10000/16 */
	    {20, 11250, 625, 112},
	    /* RTTVAR = 6250 + (18750 - 6250)/4 = 9375,
		 * SRTT = 11250 + 18750/8, J = 625 + 9375/16 */
	    {30, 13593, 1210, 114},
	    /* RTTVAR = 9375 + (486407 - 9375)/4 = 128633: 4 * RTTVAR
		 * now beats G; SRTT = 13593 + 486407/8 = 74393;
		 * J = 1210 + 468790/16 = 30509; 74393 + 514532 us */
	    {500, 74393, 30509, 589},
	};
	uint64_t now = 5000;
	size_t   i;

	link_health_init(&lh, NULL, now);
	for (i = 0; i < NITEMS(want); i++) {
		link_probe_sent(&lh, (uint32_t)i, now);
		ck_assert_int_eq(
		    link_probe_answered(&lh, (uint32_t)i, now + want[i].rtt_ms),
		    LINK_NO_CHANGE);
		ck_assert_uint_eq(link_rtt_us(&lh), want[i].srtt_us);
		ck_assert_uint_eq(link_jitter_us(&lh), want[i].jitter_us);
		ck_assert_uint_eq(link_timeout_ms(&lh), want[i].timeout_ms);
		now += 1000;
	}
	ck_assert_uint_eq(link_counters(&lh)->answered, 4);
	ck_assert_uint_eq(link_loss_ppm(&lh), 0);

	/* A steady RTT: SRTT converges on it, jitter decays to zero, the
	 * timeout settles at RTT + one interval. */
	for (i = 0; i < 400; i++) {
		link_probe_sent(&lh, 100 + (uint32_t)i, now);
		link_probe_answered(&lh, 100 + (uint32_t)i, now + 40);
		now += 100;
	}
	ck_assert_uint_le(link_rtt_us(&lh), 40010);
	ck_assert_uint_ge(link_rtt_us(&lh), 40000);
	ck_assert_uint_lt(link_jitter_us(&lh), 16);
	ck_assert_uint_eq(link_timeout_ms(&lh), 141);
}
END_TEST

/* A LAN's round trips, timed in microseconds (what socketd does): 0.213
 * ms reads 213 us, not 0, and so does its jitter; the loss timeout keeps
 * whole milliseconds, on the ms clock the us one truncates to. */
START_TEST(test_sub_millisecond)
{
	struct link_health lh;
	uint64_t           us = 5000000;
	uint32_t           seq = 0, i;

	link_health_init(&lh, NULL, us / 1000);
	link_probe_sent_us(&lh, seq, us);
	link_probe_answered_us(&lh, seq++, us + 213);
	ck_assert_uint_eq(link_rtt_us(&lh), 213);
	ck_assert_uint_eq(link_jitter_us(&lh), 0);
	us += 100000;
	/* SRTT 213 + 37/8, J 37/16 */
	link_probe_sent_us(&lh, seq, us);
	link_probe_answered_us(&lh, seq++, us + 250);
	ck_assert_uint_eq(link_rtt_us(&lh), 217);
	ck_assert_uint_eq(link_jitter_us(&lh), 2);
	/* 200 and 300 us in turn: SRTT near 250, J near the 100 between
	 * (below it by up to 15 us: the gain's integer division stops
	 * moving J once |100 - J| < 16) */
	for (i = 0; i < 200; i++) {
		us += 100000;
		link_probe_sent_us(&lh, seq, us);
		link_probe_answered_us(&lh, seq++, us + (i % 2 ? 300 : 200));
	}
	ck_assert_uint_ge(link_rtt_us(&lh), 230);
	ck_assert_uint_le(link_rtt_us(&lh), 270);
	ck_assert_uint_ge(link_jitter_us(&lh), 85);
	ck_assert_uint_le(link_jitter_us(&lh), 100);
	ck_assert_uint_eq(link_counters(&lh)->answered, 202);
	/* SRTT + G = 100.25 ms: 101 in whole ms */
	ck_assert_uint_eq(link_timeout_ms(&lh), 101);

	/* A probe sent 0.9 ms into a millisecond left at ms 5_020_100 (the
	 * truncated clock): lost 101 ms after that ms began, not after it
	 * ended. */
	us = 5020100900ULL;
	link_probe_sent_us(&lh, seq++, us);
	link_tick(&lh, 5020100 + 100);
	ck_assert_uint_eq(link_counters(&lh)->lost, 0);
	link_tick(&lh, 5020100 + 101);
	ck_assert_uint_eq(link_counters(&lh)->lost, 1);
}
END_TEST

/* 1 probe in 20 lost reads as 5% (within the EWMA's ripple), and the link
 * stays up: single losses are never 3 in a row. */
START_TEST(test_loss_converges)
{
	struct sim s;
	uint64_t   sum = 0;
	uint32_t   lo = UINT32_MAX, hi = 0, v;
	int        i;

	sim_init(&s, 3, 5);
	for (i = 0; i < 3000; i++) {
		REQUIRE(cycle(&s, i % 20 != 19) == LINK_NO_CHANGE);
		if (i < 1000)
			continue;
		v = link_loss_ppm(&s.lh);
		sum += v;
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	ck_assert_msg(lo >= 40000 && hi <= 60000, "loss %u..%u ppm", lo, hi);
	ck_assert_msg(sum / 2000 >= 48000 && sum / 2000 <= 52000,
	    "mean loss %llu ppm", (unsigned long long)(sum / 2000));
	ck_assert_int_eq(link_state(&s.lh), LINK_UP);
	ck_assert_uint_eq(link_counters(&s.lh)->lost, 150);
	ck_assert_uint_eq(link_counters(&s.lh)->answered, 2850);

	/* A clean link reads exactly 0, a dead one exactly 100%. */
	for (i = 0; i < 600; i++)
		cycle(&s, 1);
	ck_assert_uint_eq(link_loss_ppm(&s.lh), 0);
	for (i = 0; i < 1200; i++)
		cycle(&s, 0);
	ck_assert_uint_eq(link_loss_ppm(&s.lh), 1000000);
}
END_TEST

START_TEST(test_carrier)
{
	struct sim s;
	int        i;

	sim_init(&s, 3, 5);
	for (i = 0; i < 3; i++)
		cycle(&s, 1);
	ck_assert_int_eq(
	    seen(&s, link_carrier(&s.lh, 0, 1234)), LINK_WENT_DOWN);
	ck_assert_str_eq(link_reason(&s.lh), "carrier lost");
	ck_assert_int_eq(link_cause(&s.lh), LINK_CAUSE_CARRIER);
	ck_assert_str_eq(link_status_str(&s.lh), "down (no carrier)");
	ck_assert_uint_eq(link_changed_ms(&s.lh), 1234);
	/* netlink repeats itself: no second transition. */
	ck_assert_int_eq(link_carrier(&s.lh, 0, 1300), LINK_NO_CHANGE);
	/* Replies still arriving without carrier (a stale event, a virtual
	 * device) are measured but do not bring it up. */
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(cycle(&s, 1), LINK_NO_CHANGE);
	ck_assert_int_eq(link_state(&s.lh), LINK_DOWN);

	/* Carrier back: probing, and only up_after answers bring it up. */
	ck_assert_int_eq(link_carrier(&s.lh, 1, s.now), LINK_NO_CHANGE);
	ck_assert_int_eq(link_cause(&s.lh), LINK_CAUSE_PROBES);
	ck_assert_int_eq(link_carrier(&s.lh, 1, s.now), LINK_NO_CHANGE);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(cycle(&s, 1), LINK_NO_CHANGE);
	ck_assert_int_eq(cycle(&s, 1), LINK_WENT_UP);
	ck_assert_str_eq(link_reason(&s.lh), "5 probes answered");

	/* Repeated "carrier present" on an up link changes nothing. */
	ck_assert_int_eq(link_carrier(&s.lh, 1, s.now), LINK_NO_CHANGE);
	ck_assert_int_eq(link_state(&s.lh), LINK_UP);

	/* Carrier lost on a link already down by probes: it stays down,
	 * the cause says carrier, the last transition's reason stays. */
	sim_down(&s);
	ck_assert_int_eq(link_carrier(&s.lh, 0, s.now), LINK_NO_CHANGE);
	ck_assert_int_eq(link_cause(&s.lh), LINK_CAUSE_CARRIER);
	ck_assert_str_eq(link_reason(&s.lh), "3 probes unanswered");
	ck_assert_uint_eq(s.ups, 1);
	ck_assert_uint_eq(s.downs, 2);
}
END_TEST

START_TEST(test_admin)
{
	struct sim s;
	int        i;

	sim_init(&s, 3, 5);
	ck_assert_int_eq(seen(&s, link_admin(&s.lh, 0, s.now)), LINK_WENT_DOWN);
	ck_assert_str_eq(link_reason(&s.lh), "admin down");
	ck_assert_str_eq(link_status_str(&s.lh), "down (admin)");
	ck_assert_int_eq(link_admin(&s.lh, 0, s.now), LINK_NO_CHANGE);
	/* Answers do not override the operator. */
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(cycle(&s, 1), LINK_NO_CHANGE);
	ck_assert_int_eq(link_state(&s.lh), LINK_DOWN);
	/* Admin wins over carrier in either order. */
	ck_assert_int_eq(link_carrier(&s.lh, 0, s.now), LINK_NO_CHANGE);
	ck_assert_int_eq(link_cause(&s.lh), LINK_CAUSE_ADMIN);
	ck_assert_int_eq(link_carrier(&s.lh, 1, s.now), LINK_NO_CHANGE);
	ck_assert_int_eq(link_cause(&s.lh), LINK_CAUSE_ADMIN);
	ck_assert_int_eq(link_carrier(&s.lh, 0, s.now), LINK_NO_CHANGE);
	/* Admin up without carrier: still down, for the carrier. */
	ck_assert_int_eq(link_admin(&s.lh, 1, s.now), LINK_NO_CHANGE);
	ck_assert_int_eq(link_cause(&s.lh), LINK_CAUSE_CARRIER);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(cycle(&s, 1), LINK_NO_CHANGE);
	ck_assert_int_eq(link_carrier(&s.lh, 1, s.now), LINK_NO_CHANGE);
	ck_assert_int_eq(link_cause(&s.lh), LINK_CAUSE_PROBES);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(cycle(&s, 1), LINK_NO_CHANGE);
	ck_assert_int_eq(cycle(&s, 1), LINK_WENT_UP);

	/* Admin up on a link that answered while admin down: the answers
	 * before it do not count, probing starts over. */
	ck_assert_int_eq(seen(&s, link_admin(&s.lh, 0, s.now)), LINK_WENT_DOWN);
	for (i = 0; i < 4; i++)
		cycle(&s, 1);
	ck_assert_int_eq(link_admin(&s.lh, 1, s.now), LINK_NO_CHANGE);
	ck_assert_int_eq(link_cause(&s.lh), LINK_CAUSE_PROBES);
	ck_assert_int_eq(cycle(&s, 1), LINK_NO_CHANGE);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(cycle(&s, 1), LINK_NO_CHANGE);
	ck_assert_int_eq(cycle(&s, 1), LINK_WENT_UP);
	ck_assert_uint_eq(s.ups, 2);
	ck_assert_uint_eq(s.downs, 2);
}
END_TEST

/* A reply after its probe was declared lost: measured, but it neither
 * undoes the loss nor counts as an answer. */
START_TEST(test_late_reply)
{
	struct sim s;
	uint32_t   old;
	int        i;

	sim_init(&s, 3, 5);
	/* Misses stay consecutive across a late reply. */
	old = s.seq;
	cycle(&s, 0);
	cycle(&s, 0);
	ck_assert_int_eq(
	    link_probe_answered(&s.lh, old, s.now), LINK_NO_CHANGE);
	ck_assert_uint_eq(link_counters(&s.lh)->late, 1);
	ck_assert_uint_eq(link_counters(&s.lh)->lost, 2);
	ck_assert_uint_eq(link_counters(&s.lh)->answered, 0);
	ck_assert_int_eq(link_verified(&s.lh), 0);
	ck_assert_uint_eq(link_rtt_us(&s.lh), 200000); /* it was measured */
	ck_assert_int_eq(cycle(&s, 0), LINK_WENT_DOWN);

	/* Lost, then 4 answers, then the lost one's reply: still 4. */
	old = s.seq;
	cycle(&s, 0);
	for (i = 0; i < 4; i++)
		cycle(&s, 1);
	ck_assert_int_eq(
	    link_probe_answered(&s.lh, old, s.now), LINK_NO_CHANGE);
	ck_assert_int_eq(link_state(&s.lh), LINK_DOWN);
	/* And a second copy of that late reply is just ignored. */
	ck_assert_int_eq(
	    link_probe_answered(&s.lh, old, s.now), LINK_NO_CHANGE);
	ck_assert_uint_eq(link_counters(&s.lh)->late, 2);
	ck_assert_uint_eq(link_counters(&s.lh)->ignored, 1);
	ck_assert_int_eq(cycle(&s, 1), LINK_WENT_UP);
}
END_TEST

START_TEST(test_duplicate_and_unknown)
{
	struct sim s;
	uint32_t   seq;
	int        i;

	sim_init(&s, 3, 5);
	sim_down(&s);
	/* One probe answered five times is one answer. */
	seq = s.seq++;
	link_probe_sent(&s.lh, seq, s.now);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(
		    link_probe_answered(&s.lh, seq, s.now + 5), LINK_NO_CHANGE);
	ck_assert_uint_eq(link_counters(&s.lh)->answered, 1);
	ck_assert_uint_eq(link_counters(&s.lh)->ignored, 4);
	/* The duplicates did not move the estimate either: one sample. */
	ck_assert_uint_eq(link_rtt_us(&s.lh), 5000);
	/* Seqs never sent. */
	ck_assert_int_eq(
	    link_probe_answered(&s.lh, 777777, s.now), LINK_NO_CHANGE);
	ck_assert_int_eq(
	    link_probe_answered(&s.lh, UINT32_MAX, s.now), LINK_NO_CHANGE);
	ck_assert_uint_eq(link_counters(&s.lh)->ignored, 6);
	s.now += 100;
	ck_assert_int_eq(link_tick(&s.lh, s.now), LINK_NO_CHANGE);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(cycle(&s, 1), LINK_NO_CHANGE);
	ck_assert_int_eq(cycle(&s, 1), LINK_WENT_UP);
}
END_TEST

START_TEST(test_seq_wraparound)
{
	struct sim s;
	int        i;

	sim_init(&s, 3, 5);
	sim_down(&s);
	s.seq = UINT32_MAX - 2;
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(cycle(&s, 1), LINK_NO_CHANGE);
	ck_assert_uint_eq(s.seq, 1);
	ck_assert_int_eq(cycle(&s, 1), LINK_WENT_UP);

	/* Replies out of order across the wrap are matched by identity. */
	link_probe_sent(&s.lh, UINT32_MAX, s.now);
	link_probe_sent(&s.lh, 0, s.now + 1);
	ck_assert_int_eq(
	    link_probe_answered(&s.lh, 0, s.now + 21), LINK_NO_CHANGE);
	ck_assert_int_eq(
	    link_probe_answered(&s.lh, UINT32_MAX, s.now + 22), LINK_NO_CHANGE);
	ck_assert_uint_eq(link_counters(&s.lh)->answered, 7);
	ck_assert_uint_eq(link_counters(&s.lh)->ignored, 0);
	ck_assert_uint_eq(link_counters(&s.lh)->lost, 3);
}
END_TEST

/* 10k probes with no answers and no tick: the ring stays its size, the
 * overwritten probes are not forgotten, and one tick reports one
 * transition. */
START_TEST(test_ring_bounded)
{
	struct sim s;
	size_t     size = sizeof(s.lh);
	uint32_t   i;

	sim_init(&s, 3, 5);
	for (i = 0; i < 10000; i++)
		link_probe_sent(&s.lh, i, s.now + i);
	ck_assert_uint_eq(sizeof(s.lh), size);
	ck_assert_uint_eq(s.lh.evicted, 10000 - LINK_PROBE_RING);
	ck_assert_int_eq(link_state(&s.lh), LINK_UP);

	s.now += 10000 + 100;
	ck_assert_int_eq(seen(&s, link_tick(&s.lh, s.now)), LINK_WENT_DOWN);
	ck_assert_str_eq(link_reason(&s.lh), "3 probes unanswered");
	ck_assert_uint_eq(link_counters(&s.lh)->lost, 10000);
	ck_assert_uint_eq(link_counters(&s.lh)->sent, 10000);
	ck_assert_uint_eq(s.lh.evicted, 0);
	ck_assert_uint_eq(link_loss_ppm(&s.lh), 1000000);
	ck_assert_int_eq(
	    seen(&s, link_tick(&s.lh, s.now + 100)), LINK_NO_CHANGE);
	/* The newest is remembered as lost (late), the oldest is gone. */
	ck_assert_int_eq(
	    link_probe_answered(&s.lh, 9999, s.now), LINK_NO_CHANGE);
	ck_assert_uint_eq(link_counters(&s.lh)->late, 1);
	ck_assert_int_eq(link_probe_answered(&s.lh, 0, s.now), LINK_NO_CHANGE);
	ck_assert_uint_eq(link_counters(&s.lh)->ignored, 1);

	s.now += 1000;
	s.seq = 10000;
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(cycle(&s, 1), LINK_NO_CHANGE);
	ck_assert_int_eq(cycle(&s, 1), LINK_WENT_UP);
	ck_assert_uint_eq(s.downs, 1);
	ck_assert_uint_eq(s.ups, 1);
}
END_TEST

/* A timeout longer than the ring's span (2 ms probes, 1 s timeout, no
 * RTT yet): probes pushed out of the ring count as lost, once each. */
START_TEST(test_ring_shorter_than_timeout)
{
	struct link_health_params p = {.interval_ms = 2};
	struct link_health        lh;
	uint64_t                  now = 0;
	unsigned                  downs = 0;
	uint32_t                  i;

	link_health_init(&lh, &p, now);
	for (i = 0; i < 1000; i++) {
		if (link_tick(&lh, now) == LINK_WENT_DOWN)
			downs++;
		link_probe_sent(&lh, i, now);
		now += 2;
	}
	ck_assert_uint_eq(downs, 1);
	/* Every probe pushed out, less the last, pushed out after the last
	 * tick. */
	ck_assert_uint_eq(link_counters(&lh)->lost, 1000 - LINK_PROBE_RING - 1);
	/* The first pushed out at t = 2 * LINK_PROBE_RING ms is counted at
	 * the next tick, the third two ticks later, well before the 1 s
	 * timeout. */
	ck_assert_uint_lt(2 * LINK_PROBE_RING + 6, 1000);
	ck_assert_uint_eq(link_changed_ms(&lh), 2 * LINK_PROBE_RING + 6);
}
END_TEST

/* A script of events and the one transition each must report: every
 * transition is reported by exactly the call that caused it. */
START_TEST(test_order_of_events)
{
	enum op { ANS, MISS, CARRIER_DOWN, CARRIER_UP, ADMIN_DOWN, ADMIN_UP };
	static const struct {
		enum op         op;
		enum link_event ev;
		enum link_cause cause;
	} script[] = {
	    {MISS, LINK_NO_CHANGE, LINK_CAUSE_NONE},
	    {ANS, LINK_NO_CHANGE, LINK_CAUSE_NONE},
	    {MISS, LINK_NO_CHANGE, LINK_CAUSE_NONE},
	    {MISS, LINK_NO_CHANGE, LINK_CAUSE_NONE},
	    {MISS, LINK_WENT_DOWN, LINK_CAUSE_PROBES},
	    {CARRIER_DOWN, LINK_NO_CHANGE, LINK_CAUSE_CARRIER},
	    {ADMIN_DOWN, LINK_NO_CHANGE, LINK_CAUSE_ADMIN},
	    {CARRIER_UP, LINK_NO_CHANGE, LINK_CAUSE_ADMIN},
	    {ANS, LINK_NO_CHANGE, LINK_CAUSE_ADMIN},
	    {ANS, LINK_NO_CHANGE, LINK_CAUSE_ADMIN},
	    {ANS, LINK_NO_CHANGE, LINK_CAUSE_ADMIN},
	    {ANS, LINK_NO_CHANGE, LINK_CAUSE_ADMIN},
	    {ANS, LINK_NO_CHANGE, LINK_CAUSE_ADMIN},
	    {ADMIN_UP, LINK_NO_CHANGE, LINK_CAUSE_PROBES},
	    {ANS, LINK_NO_CHANGE, LINK_CAUSE_PROBES},
	    {ANS, LINK_NO_CHANGE, LINK_CAUSE_PROBES},
	    {ANS, LINK_NO_CHANGE, LINK_CAUSE_PROBES},
	    {ANS, LINK_NO_CHANGE, LINK_CAUSE_PROBES},
	    {ANS, LINK_WENT_UP, LINK_CAUSE_NONE},
	    {ANS, LINK_NO_CHANGE, LINK_CAUSE_NONE},
	    {ADMIN_DOWN, LINK_WENT_DOWN, LINK_CAUSE_ADMIN},
	    {ADMIN_DOWN, LINK_NO_CHANGE, LINK_CAUSE_ADMIN},
	    {ADMIN_UP, LINK_NO_CHANGE, LINK_CAUSE_PROBES},
	    {ADMIN_UP, LINK_NO_CHANGE, LINK_CAUSE_PROBES},
	    {ANS, LINK_NO_CHANGE, LINK_CAUSE_PROBES},
	    {ANS, LINK_NO_CHANGE, LINK_CAUSE_PROBES},
	    {CARRIER_DOWN, LINK_NO_CHANGE, LINK_CAUSE_CARRIER},
	    {CARRIER_UP, LINK_NO_CHANGE, LINK_CAUSE_PROBES},
	    {ANS, LINK_NO_CHANGE, LINK_CAUSE_PROBES},
	    {ANS, LINK_NO_CHANGE, LINK_CAUSE_PROBES},
	    {ANS, LINK_NO_CHANGE, LINK_CAUSE_PROBES},
	    {ANS, LINK_NO_CHANGE, LINK_CAUSE_PROBES},
	    {ANS, LINK_WENT_UP, LINK_CAUSE_NONE},
	    {CARRIER_DOWN, LINK_WENT_DOWN, LINK_CAUSE_CARRIER},
	    {CARRIER_DOWN, LINK_NO_CHANGE, LINK_CAUSE_CARRIER},
	};
	struct sim      s;
	enum link_event ev = LINK_NO_CHANGE;
	size_t          i;

	sim_init(&s, 3, 5);
	for (i = 0; i < NITEMS(script); i++) {
		switch (script[i].op) {
		case ANS:
		case MISS:
			ev = cycle(&s, script[i].op == ANS);
			break;
		case CARRIER_DOWN:
		case CARRIER_UP:
			ev = seen(&s,
			    link_carrier(
				&s.lh, script[i].op == CARRIER_UP, s.now));
			break;
		case ADMIN_DOWN:
		case ADMIN_UP:
			ev = seen(&s,
			    link_admin(&s.lh, script[i].op == ADMIN_UP, s.now));
			break;
		}
		ck_assert_msg(ev == script[i].ev, "step %zu: event %d, not %d",
		    i, ev, script[i].ev);
		ck_assert_msg(link_cause(&s.lh) == script[i].cause,
		    "step %zu: cause %d, not %d", i, link_cause(&s.lh),
		    script[i].cause);
	}
	ck_assert_uint_eq(s.downs, 3);
	ck_assert_uint_eq(s.ups, 2);
}
END_TEST

/*
 * A millisecond-by-millisecond link: probes every 100 ms with default
 * parameters (adaptive timeout), replies after rtt ms unless dropped.
 */
struct wire {
	struct link_health lh;
	uint64_t           now;
	uint32_t           seq;
	uint64_t           arrive[64]; /* reply due, 0 none */
	uint32_t           aseq[64];
	unsigned           ups, downs;
	uint64_t           last_up, last_down;
};

static void
wire_run(struct wire *w, uint64_t until, uint32_t rtt, int drop)
{
	enum link_event ev;
	size_t          i;

	for (; w->now < until; w->now++) {
		for (i = 0; i < NITEMS(w->arrive); i++) {
			if (w->arrive[i] == 0 || w->arrive[i] != w->now)
				continue;
			w->arrive[i] = 0;
			ev = link_probe_answered(&w->lh, w->aseq[i], w->now);
			REQUIRE(ev != LINK_WENT_DOWN);
			if (ev == LINK_WENT_UP) {
				w->ups++;
				w->last_up = w->now;
			}
		}
		if (w->now % 100 != 0)
			continue;
		ev = link_tick(&w->lh, w->now);
		REQUIRE(ev != LINK_WENT_UP);
		if (ev == LINK_WENT_DOWN) {
			w->downs++;
			w->last_down = w->now;
		}
		link_probe_sent(&w->lh, w->seq, w->now);
		if (!drop) {
			i = w->seq % NITEMS(w->arrive);
			REQUIRE(w->arrive[i] == 0);
			w->arrive[i] = w->now + rtt;
			w->aseq[i] = w->seq;
		}
		w->seq++;
	}
}

/* A 150 ms LTE link probed every 100 ms loses nothing: a timeout of "the
 * next probe is due" would call every probe lost. */
START_TEST(test_slow_link_stays_up)
{
	struct wire w;

	memset(&w, 0, sizeof(w));
	link_health_init(&w.lh, NULL, 0);
	wire_run(&w, 60000, 150, 0);
	ck_assert_uint_eq(link_counters(&w.lh)->lost, 0);
	ck_assert_uint_eq(w.downs, 0);
	ck_assert_int_eq(link_verified(&w.lh), 1);
	ck_assert_uint_eq(link_rtt_us(&w.lh), 150000);
	ck_assert_uint_eq(link_timeout_ms(&w.lh), 250);
}
END_TEST

/* A 5 ms fibre that dies is down within down_after + 2 intervals. */
START_TEST(test_dead_fibre_detected_fast)
{
	struct wire w;

	memset(&w, 0, sizeof(w));
	link_health_init(&w.lh, NULL, 0);
	wire_run(&w, 10050, 5, 0);
	ck_assert_uint_eq(link_timeout_ms(&w.lh), 105);
	wire_run(&w, 20000, 5, 1);
	ck_assert_uint_eq(w.downs, 1);
	ck_assert_uint_le(w.last_down - 10050, 5 * 100);
	ck_assert_str_eq(link_reason(&w.lh), "3 probes unanswered");
	/* And back: up_after answers after it heals. */
	wire_run(&w, 30000, 5, 0);
	ck_assert_uint_eq(w.ups, 1);
	ck_assert_uint_le(w.last_up - 20000, 5 * 100 + 100);
}
END_TEST

/* The RTT jumps from 20 to 400 ms (a saturated uplink): the late replies
 * teach the estimator, the timeout follows, the link ends up and stays up
 * instead of being held down by a timeout it can never meet. */
START_TEST(test_rtt_jump_is_learned)
{
	struct wire w;
	uint64_t    lost;

	memset(&w, 0, sizeof(w));
	link_health_init(&w.lh, NULL, 0);
	wire_run(&w, 10000, 20, 0);
	ck_assert_uint_eq(link_timeout_ms(&w.lh), 120);
	wire_run(&w, 20000, 400, 0);
	ck_assert_int_eq(link_state(&w.lh), LINK_UP);
	ck_assert_uint_ge(link_timeout_ms(&w.lh), 500);
	ck_assert_uint_le(w.downs, 1);
	ck_assert_uint_eq(w.ups, w.downs);
	ck_assert_uint_ge(link_counters(&w.lh)->late, 1);
	lost = link_counters(&w.lh)->lost;
	wire_run(&w, 60000, 400, 0);
	ck_assert_uint_eq(link_counters(&w.lh)->lost, lost);
	ck_assert_uint_ge(link_rtt_us(&w.lh), 399000);
}
END_TEST

/*
 * The daemon's schedule, millisecond by millisecond: a probe every 100 ms
 * with default parameters, link_tick() before each probe and again
 * link_grace_ms() after it (as socketd does), and each probe's reply
 * after rtt_of(sent time) ms, or never when that is negative.
 */
struct dwire {
	struct link_health lh;
	uint64_t           now, next_grace;
	uint32_t           seq;
	uint64_t           arrive[128]; /* reply due, 0 none */
	uint32_t           aseq[128];
	unsigned           ups, downs;
	uint64_t           last_up, last_down;
	int64_t (*rtt_of)(const struct dwire *, uint64_t sent);
	int64_t cut;  /* replies from probes sent at or after: none */
	int64_t rtt0; /* the base RTT */
};

static void
dwire_event(struct dwire *w, enum link_event ev)
{
	if (ev == LINK_WENT_UP) {
		w->ups++;
		w->last_up = w->now;
	} else if (ev == LINK_WENT_DOWN) {
		w->downs++;
		w->last_down = w->now;
	}
}

static void
dwire_run(struct dwire *w, uint64_t until)
{
	size_t  i;
	int64_t rtt;

	for (; w->now < until; w->now++) {
		for (i = 0; i < NITEMS(w->arrive); i++) {
			if (w->arrive[i] == 0 || w->arrive[i] != w->now)
				continue;
			w->arrive[i] = 0;
			/* The cut is both ways: what was in flight is lost. */
			if ((int64_t)w->now > w->cut)
				continue;
			dwire_event(
			    w, link_probe_answered(&w->lh, w->aseq[i], w->now));
		}
		if (w->now == w->next_grace)
			dwire_event(w, link_tick(&w->lh, w->now));
		if (w->now % 100 != 0)
			continue;
		dwire_event(w, link_tick(&w->lh, w->now));
		link_probe_sent(&w->lh, w->seq, w->now);
		if (link_grace_ms(&w->lh) < 100)
			w->next_grace = w->now + link_grace_ms(&w->lh);
		rtt = w->rtt_of(w, w->now);
		if (rtt >= 0) {
			i = w->seq % NITEMS(w->arrive);
			REQUIRE(w->arrive[i] == 0);
			w->arrive[i] = w->now + (uint64_t)rtt;
			w->aseq[i] = w->seq;
		}
		w->seq++;
	}
}

static void
dwire_init(struct dwire *w, int64_t (*rtt_of)(const struct dwire *, uint64_t))
{
	memset(w, 0, sizeof(*w));
	link_health_init(&w->lh, NULL, 0);
	w->rtt_of = rtt_of;
	w->cut = INT64_MAX;
}

/* A steady RTT until the cut, then nothing comes back. */
static int64_t
rtt_steady(const struct dwire *w, uint64_t sent)
{
	return (int64_t)sent >= w->cut ? -1 : w->rtt0;
}

/*
 * The blackhole of a loaded link: at any RTT (a tbf queue under load
 * raises it to 200 ms and more, and the loss timeout follows) and at any
 * phase of the cut against the probe clock, the link is down within
 * down_after intervals and a grace of the cut (325 ms with the defaults:
 * the 350 ms failover target less the time to move the flows).  The loss
 * timeout alone took down_after of its own timeouts: over 1 s at 200 ms.
 */
START_TEST(test_blackhole_detected_at_any_rtt)
{
	static const int64_t rtts[] = {1, 5, 40, 99, 100, 150, 200, 250, 400};
	struct dwire         w;
	uint64_t             worst = 0, d;
	size_t               i;
	int64_t              phase;

	for (i = 0; i < NITEMS(rtts); i++) {
		for (phase = 0; phase < 100; phase += 7) {
			dwire_init(&w, rtt_steady);
			w.rtt0 = rtts[i];
			dwire_run(&w, 10000);
			REQUIRE(w.downs == 0);
			REQUIRE(link_grace_ms(&w.lh) == 25);
			w.cut = 10000 + phase;
			dwire_run(&w, 13000);
			ck_assert_msg(w.downs == 1,
			    "rtt %lld phase %lld: %u downs", (long long)rtts[i],
			    (long long)phase, w.downs);
			d = w.last_down - (uint64_t)w.cut;
			ck_assert_msg(d <= 325,
			    "rtt %lld phase %lld: down %llu ms after the cut",
			    (long long)rtts[i], (long long)phase,
			    (unsigned long long)d);
			worst = d > worst ? d : worst;
			ck_assert_str_eq(
			    link_reason(&w.lh), "3 probes unanswered");
		}
	}
	/* The bound is reached, not just respected: the cut just after a
	 * reply arrived costs three whole intervals and the grace. */
	ck_assert_uint_ge(worst, 300);
}
END_TEST

/* A queue filling at twice the line rate (the RTT grows by 1 ms per ms,
 * from 5 to 250 ms, then stays): one reply per interval still arrives, so
 * the link never goes down, and the loss timeout follows the RTT. */
static int64_t
rtt_ramp(const struct dwire *w, uint64_t sent)
{
	(void)w;
	if (sent < 10000)
		return 5;
	if (sent < 10245)
		return 5 + (int64_t)(sent - 10000);
	return 250;
}

/* A step of +100 ms between two replies, in every phase (the worst case
 * the grace tolerates is 125 ms). */
static int64_t
rtt_step(const struct dwire *w, uint64_t sent)
{
	return sent < 10000 ? w->rtt0 : w->rtt0 + 100;
}

START_TEST(test_loaded_link_stays_up)
{
	struct dwire w;
	int64_t      r;

	dwire_init(&w, rtt_ramp);
	dwire_run(&w, 70000);
	ck_assert_uint_eq(w.downs, 0);
	ck_assert_uint_ge(link_rtt_us(&w.lh), 249000);
	/* The first probe of the ramp outruns the timeout learned at 5 ms;
	 * its late reply teaches the estimator, and no other is lost. */
	ck_assert_uint_le(link_counters(&w.lh)->lost, 1);

	for (r = 1; r < 200; r += 3) {
		dwire_init(&w, rtt_step);
		w.rtt0 = r;
		dwire_run(&w, 20000);
		ck_assert_msg(
		    w.downs == 0, "rtt %lld + 100 ms: down", (long long)r);
	}
}
END_TEST

/* The price, stated in link.h: a delay spike as long as a blackhole's
 * detection time looks like one.  Replies held back 400 ms for one second
 * take the link down; it comes back after up_after answers, once. */
static int64_t
rtt_spike(const struct dwire *w, uint64_t sent)
{
	(void)w;
	return sent >= 10000 && sent < 11000 ? 400 : 10;
}

START_TEST(test_delay_spike_is_a_blackhole_for_a_while)
{
	struct dwire w;

	dwire_init(&w, rtt_spike);
	dwire_run(&w, 20000);
	ck_assert_uint_eq(w.downs, 1);
	ck_assert_uint_eq(w.ups, 1);
	ck_assert_int_eq(link_state(&w.lh), LINK_UP);
	ck_assert_uint_le(w.last_down - 10000, 325);
	/* Back when the replies flow again: up_after answers after the
	 * spike's last late reply at 11300. */
	ck_assert_uint_le(w.last_up, 11400 + 5 * 100 + 10);
}
END_TEST

/* n probes 100 ms apart from start, each answered rtt ms later: a
 * steady link, whose RTTVAR decays to (next to) nothing. */
static void
steady(struct link_health *lh, uint32_t n, uint64_t start, uint64_t rtt)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		link_probe_sent(lh, 1000 + i, start + i * 100);
		REQUIRE(link_probe_answered(lh, 1000 + i,
			    start + i * 100 + rtt) == LINK_NO_CHANGE);
	}
}

/* Any reply, even late, even to a probe already declared lost, restarts
 * the silence; probes that merely left do not. */
START_TEST(test_silence_needs_down_after_probes)
{
	struct link_health_params p = {.interval_ms = 100, .timeout_ms = 2000};
	struct link_health        lh;

	link_health_init(&lh, &p, 0);
	ck_assert_uint_eq(link_grace_ms(&lh), 2000); /* no sample yet */
	link_probe_sent(&lh, 0, 0);
	ck_assert_int_eq(link_probe_answered(&lh, 0, 300), LINK_NO_CHANGE);
	/* SRTT 300, RTTVAR 150: the loss timeout is 900 ms; no jitter
	 * yet, so the grace is a quarter interval. */
	ck_assert_uint_eq(link_timeout_ms(&lh), 900);
	ck_assert_uint_eq(link_grace_ms(&lh), 25);
	/* Steady at 300 ms: RTTVAR gone, a loss timeout of 400 ms, the
	 * grace a quarter interval. */
	steady(&lh, 40, 1000, 300);
	ck_assert_uint_eq(link_timeout_ms(&lh), 400);
	ck_assert_uint_eq(link_grace_ms(&lh), 25);
	link_probe_sent(&lh, 1, 6000);
	link_probe_sent(&lh, 2, 6100);
	ck_assert_int_eq(link_tick(&lh, 6200), LINK_NO_CHANGE);
	/* The reply to 1 restarts the count. */
	ck_assert_int_eq(link_probe_answered(&lh, 1, 6300), LINK_NO_CHANGE);
	link_probe_sent(&lh, 3, 6300);
	link_probe_sent(&lh, 4, 6400);
	ck_assert_int_eq(link_tick(&lh, 6499), LINK_NO_CHANGE);
	link_probe_sent(&lh, 5, 6500);
	ck_assert_int_eq(link_tick(&lh, 6524), LINK_NO_CHANGE);
	ck_assert_int_eq(link_tick(&lh, 6525), LINK_WENT_DOWN);
	ck_assert_str_eq(link_reason(&lh), "3 probes unanswered");
	/* One loss by the timeout (2, sent at 6100), not three: the
	 * silence took it down. */
	ck_assert_uint_eq(link_counters(&lh)->lost, 1);

	/* Interval 2 ms: the grace is at least 1 ms. */
	p.interval_ms = 2;
	link_health_set_params(&lh, &p);
	ck_assert_uint_eq(link_grace_ms(&lh), 1);
}
END_TEST

/* A reload with a new down_after starts the silence count over. */
START_TEST(test_set_params_restarts_silence)
{
	struct link_health_params p = {
	    .interval_ms = 100, .down_after = 3, .timeout_ms = 2000};
	struct link_health lh;

	/* A steady RTT of 300 ms: a loss timeout of 400 ms, a grace of
	 * 25. */
	link_health_init(&lh, &p, 0);
	steady(&lh, 40, 0, 300);
	ck_assert_uint_eq(link_grace_ms(&lh), 25);
	link_probe_sent(&lh, 1, 4400);
	link_probe_sent(&lh, 2, 4500);
	p.down_after = 2;
	link_health_set_params(&lh, &p);
	ck_assert_int_eq(link_tick(&lh, 4599), LINK_NO_CHANGE);
	link_probe_sent(&lh, 3, 4600);
	link_probe_sent(&lh, 4, 4700);
	ck_assert_int_eq(link_tick(&lh, 4724), LINK_NO_CHANGE);
	ck_assert_int_eq(link_tick(&lh, 4725), LINK_WENT_DOWN);
	ck_assert_str_eq(link_reason(&lh), "2 probes unanswered");
}
END_TEST

/* Reload keeps the state and estimates; new thresholds apply next time. */
START_TEST(test_set_params)
{
	struct sim                s;
	struct link_health_params p = {.interval_ms = 100,
	    .timeout_ms = 100,
	    .down_after = 1,
	    .up_after = 2};

	sim_init(&s, 3, 5);
	cycle(&s, 1);
	link_health_set_params(&s.lh, &p);
	ck_assert_int_eq(link_state(&s.lh), LINK_UP);
	ck_assert_uint_eq(link_rtt_us(&s.lh), 10000);
	ck_assert_int_eq(cycle(&s, 0), LINK_WENT_DOWN);
	ck_assert_str_eq(link_reason(&s.lh), "1 probe unanswered");
	ck_assert_int_eq(cycle(&s, 1), LINK_NO_CHANGE);
	ck_assert_int_eq(cycle(&s, 1), LINK_WENT_UP);
}
END_TEST

/*
 * The daemons' probe schedule (config-int.h: a probe every 10 ms, down
 * after 10 unanswered, up after 30), millisecond by millisecond, as
 * socketd runs it: a round every interval (link_tick(), then the
 * probe), and one more tick (link_grace_ms() modulo the interval) + 1 ms
 * after each round.  Each probe and each reply is lost with loss_pct%,
 * independently (nftables' numgen random both ways); a reply comes rtt0
 * ms (plus up to jitter ms) after its probe, and none from probes sent
 * at or after the cut, nor arriving after it.
 */
struct fwire {
	struct link_health lh;
	uint32_t           interval;
	uint64_t           now, next_grace, rng;
	uint32_t           seq;
	uint64_t           arrive[512]; /* reply due, 0 none */
	uint32_t           aseq[512];
	unsigned           ups, downs, loss_pct, jitter;
	uint64_t           last_down, missed, run, longest_run;
	int64_t            rtt0, cut;
};

static void
fwire_init(struct fwire *w, uint32_t interval, uint32_t down_after,
    uint32_t up_after, unsigned loss_pct, int64_t rtt0, uint64_t seed)
{
	struct link_health_params p = {.interval_ms = interval,
	    .down_after = down_after,
	    .up_after = up_after};

	memset(w, 0, sizeof(*w));
	link_health_init(&w->lh, &p, 0);
	w->interval = interval;
	w->loss_pct = loss_pct;
	w->rtt0 = rtt0;
	w->rng = seed;
	w->cut = INT64_MAX;
}

static void
fwire_event(struct fwire *w, enum link_event ev)
{
	if (ev == LINK_WENT_UP)
		w->ups++;
	else if (ev == LINK_WENT_DOWN) {
		w->downs++;
		w->last_down = w->now;
	}
}

static int
fwire_lost(struct fwire *w)
{
	return w->loss_pct > 0 && rng_next(&w->rng) % 100 < w->loss_pct;
}

static void
fwire_run(struct fwire *w, uint64_t until)
{
	size_t   i, k, inflight;
	uint64_t rtt;
	uint32_t g;

	/* Only the last few probes can be in flight: look at those. */
	inflight = (size_t)(w->rtt0 + w->jitter) / w->interval + 2;
	REQUIRE(inflight < NITEMS(w->arrive));
	for (; w->now < until; w->now++) {
		for (k = 1; k <= inflight && k <= w->seq; k++) {
			i = (w->seq - k) % NITEMS(w->arrive);
			if (w->arrive[i] != w->now || w->arrive[i] == 0)
				continue;
			w->arrive[i] = 0;
			if ((int64_t)w->now > w->cut)
				continue;
			fwire_event(
			    w, link_probe_answered(&w->lh, w->aseq[i], w->now));
		}
		if (w->now == w->next_grace)
			fwire_event(w, link_tick(&w->lh, w->now));
		if (w->now % w->interval != 0)
			continue;
		fwire_event(w, link_tick(&w->lh, w->now));
		link_probe_sent(&w->lh, w->seq, w->now);
		g = link_grace_ms(&w->lh) % w->interval;
		if (g != 0)
			w->next_grace = w->now + g + 1;
		/* Both ways: the probe, then its reply. */
		if ((int64_t)w->now >= w->cut || fwire_lost(w) ||
		    fwire_lost(w)) {
			w->missed++;
			if (++w->run > w->longest_run)
				w->longest_run = w->run;
		} else {
			w->run = 0;
			rtt = (uint64_t)w->rtt0;
			if (w->jitter > 0)
				rtt += rng_next(&w->rng) % w->jitter;
			i = w->seq % NITEMS(w->arrive);
			REQUIRE(w->arrive[i] == 0);
			w->arrive[i] = w->now + rtt;
			w->aseq[i] = w->seq;
		}
		w->seq++;
	}
}

/*
 * The grace of the silence rule follows the jitter (RFC 3550's mean
 * difference between consecutive round trips): T, the time with no
 * reply, is the larger of (down_after - 1) intervals and a quarter, and
 * 4 * J (in whole milliseconds), so the grace is what 4 * J adds to the
 * intervals, a quarter interval at least, timeout_ms at most, and
 * timeout_ms before the first sample.  A slow but steady RTT, or one
 * that moves slowly (a queue), adds nothing.
 */
START_TEST(test_grace_from_rtt_samples)
{
	struct link_health_params p = {
	    .interval_ms = 10, .down_after = 10, .timeout_ms = 1000};
	struct link_health lh;
	uint32_t           i;

	link_health_init(&lh, &p, 0);
	ck_assert_uint_eq(link_grace_ms(&lh), 1000);
	/* First sample 100 ms: no jitter yet, the floor; the loss timeout
	 * is RFC 6298's (SRTT 100, RTTVAR 50). */
	link_probe_sent(&lh, 0, 0);
	link_probe_answered(&lh, 0, 100);
	ck_assert_uint_eq(link_grace_ms(&lh), 2);
	ck_assert_uint_eq(link_timeout_ms(&lh), 300);
	/* A queue: the RTT climbs 1 ms a probe from 100 to 300 ms (J 1
	 * ms), then stays: the floor all along. */
	for (i = 1; i <= 200; i++) {
		link_probe_sent(&lh, i, i * 10);
		link_probe_answered(&lh, i, i * 10 + 100 + i);
		REQUIRE(link_grace_ms(&lh) == 2);
	}
	/* A jittery link: 5 and 45 ms in turn (J near 40 ms): T = 4 J,
	 * about 160 ms, the grace about 70. */
	for (; i < 400; i++) {
		link_probe_sent(&lh, i, i * 1000);
		link_probe_answered(&lh, i, i * 1000 + (i % 2 ? 5 : 45));
	}
	ck_assert_uint_ge(link_grace_ms(&lh), 60);
	ck_assert_uint_le(link_grace_ms(&lh), 71);
	/* Steady again: J decays, the floor. */
	for (; i < 600; i++) {
		link_probe_sent(&lh, i, i * 1000);
		link_probe_answered(&lh, i, i * 1000 + 20);
	}
	ck_assert_uint_eq(link_grace_ms(&lh), 2);
	/* No more than timeout_ms, whatever the variation. */
	for (; i < 700; i++) {
		link_probe_sent(&lh, i, i * 10000);
		link_probe_answered(&lh, i, i * 10000 + (i % 2 ? 5 : 5000));
	}
	ck_assert_uint_eq(link_grace_ms(&lh), 1000);
}
END_TEST

/*
 * Ten minutes of 5% loss each way (a round trip loses 9.75%) at the
 * daemons' defaults: the link never goes down, though the probes lost
 * come in runs of several in a row, and the loss figure shows the
 * loss.  The old defaults (100 ms, 3 probes) on the same kind of loss go
 * down within the ten minutes: that is what the defaults changed for.
 */
START_TEST(test_loss_5pct_both_ways_stays_up)
{
	struct fwire *w = calloc(1, sizeof(*w));
	uint64_t      seed;

	ck_assert_ptr_nonnull(w);
	for (seed = 1; seed <= 3; seed++) {
		fwire_init(w, 10, 10, 30, 5, 5, seed);
		w->jitter = 3;
		fwire_run(w, 600000);
		ck_assert_msg(w->downs == 0, "seed %llu: %u false failovers",
		    (unsigned long long)seed, w->downs);
		ck_assert_uint_ge(w->longest_run, 4);
		ck_assert_uint_ge(w->missed, 60000 * 8 / 100);
		ck_assert_uint_le(w->missed, 60000 * 12 / 100);
		ck_assert_uint_ge(link_loss_ppm(&w->lh), 20000);
		ck_assert_uint_le(link_loss_ppm(&w->lh), 300000);
		ck_assert_int_eq(link_state(&w->lh), LINK_UP);
	}
	fwire_init(w, 100, 3, 5, 5, 5, 1);
	fwire_run(w, 600000);
	ck_assert_uint_ge(w->downs, 1);
	free(w);
}
END_TEST

/*
 * No reply for T takes the link down, at every phase of the cut against
 * the probe clock and for a steady and a jittery link alike: down after
 * (down_after - 1) intervals and the grace at the least (the silence
 * must be that long), down_after intervals and the grace (+ the 1 ms
 * the tick waits) at the most: 102 ms with the defaults on a steady
 * link, the 150 ms target less the time to move the flows.
 */
START_TEST(test_silence_for_t_takes_it_down)
{
	struct fwire *w = calloc(1, sizeof(*w));
	uint64_t      d, worst = 0, grace;
	int64_t       phase;
	unsigned      jitter;

	ck_assert_ptr_nonnull(w);
	for (jitter = 0; jitter <= 60; jitter += 60) {
		for (phase = 0; phase < 10; phase++) {
			fwire_init(w, 10, 10, 30, 0, 2, 7);
			w->jitter = jitter;
			fwire_run(w, 5000);
			REQUIRE(w->downs == 0);
			grace = link_grace_ms(&w->lh);
			/* A 2 ms RTT probed every 10 ms: a loss timeout of
			 * the RTT and the 100 ms floor, not 12 ms. */
			if (jitter == 0) {
				ck_assert_uint_eq(grace, 2);
				ck_assert_uint_eq(link_timeout_ms(&w->lh), 102);
			}
			w->cut = 5000 + phase;
			fwire_run(w, 7000);
			ck_assert_uint_eq(w->downs, 1);
			d = w->last_down - (uint64_t)w->cut;
			ck_assert_msg(d + 10 + 2 + jitter >= 9 * 10 + grace &&
				d <= 10 * 10 + grace + 1,
			    "jitter %u phase %lld: down %llu ms after the cut "
			    "(grace %llu)",
			    jitter, (long long)phase, (unsigned long long)d,
			    (unsigned long long)grace);
			ck_assert_str_eq(
			    link_reason(&w->lh), "10 probes unanswered");
			if (jitter == 0 && d > worst)
				worst = d;
		}
	}
	ck_assert_uint_le(worst, 103);
	ck_assert_uint_ge(worst, 95);
	free(w);
}
END_TEST

/*
 * link_tick_hold(): with a hold, neither the silence nor down_after
 * losses take the link down until the silence has lasted the hold
 * longer; the losses are counted all the same, and without the hold the
 * next tick applies the plain rule.
 */
START_TEST(test_tick_hold)
{
	struct fwire *w = calloc(1, sizeof(*w));
	uint64_t      cut, t;

	ck_assert_ptr_nonnull(w);
	fwire_init(w, 10, 10, 30, 0, 2, 9);
	fwire_run(w, 3000);
	ck_assert_uint_le(link_quiet(&w->lh), 1);
	cut = 3000;
	w->cut = (int64_t)cut;
	/* A probe every 10 ms, none answered, a held tick every ms. */
	for (t = cut; t < cut + 600 && w->downs == 0; t++) {
		w->now = t;
		fwire_event(w, link_tick_hold(&w->lh, t, 400));
		if (t % 10 == 0)
			link_probe_sent(&w->lh, w->seq++, t);
	}
	ck_assert_uint_ge(link_quiet(&w->lh), 10);
	ck_assert_uint_eq(w->downs, 1);
	/* The plain rule's 100 ms or so, and the hold. */
	ck_assert_uint_ge(w->last_down - cut, 400 + 90);
	ck_assert_uint_le(w->last_down - cut, 400 + 103);
	ck_assert_uint_ge(link_counters(&w->lh)->lost, 40);
	free(w);
}
END_TEST

static Suite *
link_suite(void)
{
	Suite *s = suite_create("link");
	TCase *tc;

	tc = tcase_create("state");
	tcase_add_test(tc, test_initial_up_unverified);
	tcase_add_test(tc, test_defaults_without_params);
	tcase_add_loop_test(tc, test_down_after_exactly, 0, NITEMS(counts));
	tcase_add_test(tc, test_down_needs_consecutive_misses);
	tcase_add_loop_test(tc, test_up_after_exactly, 0, NITEMS(counts));
	tcase_add_test(tc, test_flapping);
	tcase_add_test(tc, test_carrier);
	tcase_add_test(tc, test_admin);
	tcase_add_test(tc, test_order_of_events);
	tcase_add_test(tc, test_set_params);
	suite_add_tcase(s, tc);

	tc = tcase_create("probes");
	tcase_add_test(tc, test_late_reply);
	tcase_add_test(tc, test_duplicate_and_unknown);
	tcase_add_test(tc, test_seq_wraparound);
	tcase_add_test(tc, test_ring_bounded);
	tcase_add_test(tc, test_ring_shorter_than_timeout);
	suite_add_tcase(s, tc);

	tc = tcase_create("estimates");
	tcase_add_test(tc, test_rtt_jitter_values);
	tcase_add_test(tc, test_sub_millisecond);
	tcase_add_test(tc, test_loss_converges);
	tcase_add_test(tc, test_slow_link_stays_up);
	tcase_add_test(tc, test_dead_fibre_detected_fast);
	tcase_add_test(tc, test_rtt_jump_is_learned);
	suite_add_tcase(s, tc);

	tc = tcase_create("silence");
	tcase_add_test(tc, test_blackhole_detected_at_any_rtt);
	tcase_add_test(tc, test_loaded_link_stays_up);
	tcase_add_test(tc, test_delay_spike_is_a_blackhole_for_a_while);
	tcase_add_test(tc, test_silence_needs_down_after_probes);
	tcase_add_test(tc, test_set_params_restarts_silence);
	suite_add_tcase(s, tc);

	tc = tcase_create("daemon defaults");
	tcase_add_test(tc, test_grace_from_rtt_samples);
	tcase_add_test(tc, test_loss_5pct_both_ways_stays_up);
	tcase_add_test(tc, test_silence_for_t_takes_it_down);
	tcase_add_test(tc, test_tick_hold);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(link_suite());
}
