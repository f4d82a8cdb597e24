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

/* A timeout longer than the ring's span (10 ms probes, 1 s timeout, no
 * RTT yet): probes pushed out of the ring count as lost, once each. */
START_TEST(test_ring_shorter_than_timeout)
{
	struct link_health_params p = {.interval_ms = 10};
	struct link_health        lh;
	uint64_t                  now = 0;
	unsigned                  downs = 0;
	uint32_t                  i;

	link_health_init(&lh, &p, now);
	for (i = 0; i < 1000; i++) {
		if (link_tick(&lh, now) == LINK_WENT_DOWN)
			downs++;
		link_probe_sent(&lh, i, now);
		now += 10;
	}
	ck_assert_uint_eq(downs, 1);
	/* Every probe pushed out, less the last, pushed out after the last
	 * tick. */
	ck_assert_uint_eq(link_counters(&lh)->lost, 1000 - LINK_PROBE_RING - 1);
	/* The first pushed out at t = 640 ms is counted at the next tick,
	 * the third at 670 ms, well before the 1 s timeout. */
	ck_assert_uint_eq(link_changed_ms(&lh), 670);
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
	tcase_add_test(tc, test_loss_converges);
	tcase_add_test(tc, test_slow_link_stays_up);
	tcase_add_test(tc, test_dead_fibre_detected_fast);
	tcase_add_test(tc, test_rtt_jump_is_learned);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(link_suite());
}
