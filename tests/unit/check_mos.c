#include "autoconf.h"

#include <check.h>
#include <stdint.h>

#include "mos.h"
#include "check_run.h"

#define MS(x)  ((uint32_t)((x)*1000))  /* ms to the us mos_estimate takes */
#define PCT(x) ((uint32_t)((x)*10000)) /* percent to ppm */

/*
 * Known points, worked by hand from the formula in common/mos.c (R, then
 * the MOS), so that a changed constant shows.
 */
START_TEST(test_known_points)
{
	/* eff 30 ms: R 93.2 - 0.75 = 92.45: a good call. */
	ck_assert_double_eq_tol(mos_estimate(MS(20), 0, 0), 4.3943, 0.0001);
	/* the same link losing 5%: R 92.45 - 12.5 = 79.95 */
	ck_assert_double_eq_tol(
	    mos_estimate(MS(20), 0, PCT(5)), 4.0221, 0.0001);
	/* 300 ms: eff 310, past the knee: R 93.2 - 19 = 74.2 */
	ck_assert_double_eq_tol(mos_estimate(MS(300), 0, 0), 3.7873, 0.0001);
	/* nothing wrong at all: R 93.2 - 10/40 = 92.95 */
	ck_assert_double_eq_tol(mos_estimate(0, 0, 0), 4.4044, 0.0001);
}
END_TEST

START_TEST(test_jitter_counts_twice)
{
	/* effective latency = latency + 2 * jitter + 10 ms */
	ck_assert_double_eq_tol(
	    mos_estimate(MS(20), MS(5), 0), mos_estimate(MS(30), 0, 0), 1e-9);
	ck_assert_double_eq_tol(mos_estimate(MS(100), MS(50), PCT(1)),
	    mos_estimate(MS(200), 0, PCT(1)), 1e-9);
}
END_TEST

START_TEST(test_knee)
{
	double below, at;

	/* The two slopes meet at an effective 160 ms (R 89.2): no step. */
	below = mos_estimate(MS(150) - 1, 0, 0);
	at = mos_estimate(MS(150), 0, 0);
	ck_assert_double_eq_tol(at, 4.3189, 0.0001);
	ck_assert_double_gt(below, at);
	ck_assert_double_lt(below - at, 0.0001);
	/* and the slope is 4 times steeper past it */
	ck_assert_double_gt(at - mos_estimate(MS(160), 0, 0),
	    3 * (mos_estimate(MS(140), 0, 0) - at));
}
END_TEST

START_TEST(test_worse_is_lower)
{
	uint32_t x;
	double   prev;

	/* Each input alone only ever lowers the score, down to 1. */
	prev = 5;
	for (x = 0; x <= MS(2000); x += MS(10)) {
		ck_assert_double_le(mos_estimate(x, 0, 0), prev);
		prev = mos_estimate(x, 0, 0);
	}
	prev = 5;
	for (x = 0; x <= MS(1000); x += MS(10)) {
		ck_assert_double_le(mos_estimate(MS(20), x, 0), prev);
		prev = mos_estimate(MS(20), x, 0);
	}
	prev = 5;
	for (x = 0; x <= PCT(100); x += PCT(1)) {
		ck_assert_double_le(mos_estimate(MS(20), 0, x), prev);
		prev = mos_estimate(MS(20), 0, x);
	}
	ck_assert_double_eq(prev, 1);
}
END_TEST

START_TEST(test_clamped)
{
	/* R below 0: the cubic alone would give 57 for a dead link. */
	ck_assert_double_eq(mos_estimate(MS(20), 0, PCT(100)), 1);
	ck_assert_double_eq(mos_estimate(MS(20), 0, PCT(40)), 1);
	/* R 4.2, where the cubic dips to 0.99 */
	ck_assert_double_eq(mos_estimate(MS(1000), 0, 0), 1);
	ck_assert_double_eq(
	    mos_estimate(UINT32_MAX, UINT32_MAX, UINT32_MAX), 1);
	ck_assert_double_le(mos_estimate(0, 0, 0), 4.5);
}
END_TEST

START_TEST(test_sub_millisecond)
{
	/* A LAN's 0.213 ms is not 0: the input is in microseconds. */
	ck_assert_double_lt(mos_estimate(213, 50, 0), mos_estimate(0, 0, 0));
	ck_assert_double_gt(
	    mos_estimate(213, 50, 0), mos_estimate(MS(1), 0, 0));
}
END_TEST

static Suite *
mos_suite(void)
{
	Suite *s = suite_create("mos");
	TCase *tc = tcase_create("estimate");

	tcase_add_test(tc, test_known_points);
	tcase_add_test(tc, test_jitter_counts_twice);
	tcase_add_test(tc, test_knee);
	tcase_add_test(tc, test_worse_is_lower);
	tcase_add_test(tc, test_clamped);
	tcase_add_test(tc, test_sub_millisecond);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(mos_suite());
}
