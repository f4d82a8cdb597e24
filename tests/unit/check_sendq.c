/*
 * popd's cluster send queue (popd/sendq.c): bounded, first in first out
 * across the ring's wrap, every refusal counted, nothing grown.
 */
#include "autoconf.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sendq.h"
#include "check_run.h"

START_TEST(fifo_and_bound)
{
	struct sendq  *q = sendq_new(4);
	uint8_t        msg[SENDQ_MSG_MAX + 1];
	const uint8_t *p;
	size_t         len, i, next = 0, pushed = 0;

	ck_assert_ptr_nonnull(q);
	ck_assert_ptr_null(sendq_new(0));
	ck_assert_ptr_null(sendq_peek(q, &len));
	sendq_pop(q); /* empty: nothing happens */
	ck_assert_uint_eq(sendq_depth(q), 0);
	/* Many rounds of three in, two out: the ring wraps many times and
	 * each message comes out once, in order, whole. */
	for (i = 0; i < 1000; i++) {
		for (; pushed < next + 4 && pushed < (i + 1) * 3; pushed++) {
			memset(msg, (int)(pushed & 0xff), sizeof(msg));
			ck_assert_int_eq(
			    sendq_push(q, msg, 1 + pushed % SENDQ_MSG_MAX), 0);
		}
		ck_assert_uint_le(sendq_depth(q), 4);
		while (sendq_depth(q) > 0 && next < (i + 1) * 2) {
			ck_assert_ptr_nonnull(p = sendq_peek(q, &len));
			ck_assert_uint_eq(len, 1 + next % SENDQ_MSG_MAX);
			ck_assert_uint_eq(p[0], next & 0xff);
			ck_assert_uint_eq(p[len - 1], next & 0xff);
			sendq_pop(q);
			next++;
		}
	}
	ck_assert_uint_eq(sendq_overflows(q), 0);
	sendq_free(q);
}
END_TEST

START_TEST(overflow)
{
	struct sendq  *q = sendq_new(3);
	uint8_t        msg[SENDQ_MSG_MAX + 1] = {7};
	const uint8_t *p;
	size_t         len;
	int            i;

	ck_assert_ptr_nonnull(q);
	for (i = 0; i < 3; i++) {
		msg[0] = (uint8_t)i;
		ck_assert_int_eq(sendq_push(q, msg, 8), 0);
	}
	/* Full: refused and counted, the queue unchanged. */
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(sendq_push(q, msg, 8), -1);
	ck_assert_uint_eq(sendq_overflows(q), 5);
	ck_assert_uint_eq(sendq_depth(q), 3);
	ck_assert_uint_eq(sendq_max(q), 3);
	ck_assert_ptr_nonnull(p = sendq_peek(q, &len));
	ck_assert_uint_eq(p[0], 0);
	/* Too long or empty: refused, not an overflow. */
	sendq_pop(q);
	ck_assert_int_eq(sendq_push(q, msg, SENDQ_MSG_MAX + 1), -1);
	ck_assert_int_eq(sendq_push(q, msg, 0), -1);
	ck_assert_uint_eq(sendq_overflows(q), 5);
	ck_assert_int_eq(sendq_push(q, msg, SENDQ_MSG_MAX), 0);
	/* Cleared: empty, the count kept, usable again. */
	sendq_clear(q);
	ck_assert_uint_eq(sendq_depth(q), 0);
	ck_assert_ptr_null(sendq_peek(q, &len));
	ck_assert_uint_eq(sendq_overflows(q), 5);
	ck_assert_int_eq(sendq_push(q, msg, 1), 0);
	ck_assert_uint_eq(sendq_depth(q), 1);
	sendq_free(q);
	sendq_free(NULL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sendq");
	TCase *tc = tcase_create("sendq");

	tcase_add_test(tc, fifo_and_bound);
	tcase_add_test(tc, overflow);
	suite_add_tcase(s, tc);
	return check_run(s);
}
