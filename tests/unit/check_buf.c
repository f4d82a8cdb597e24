#include "autoconf.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check_run.h"

/* Every put writes what the matching get reads, big-endian. */
START_TEST(test_put_get_pairs)
{
	static const uint8_t want[] = {0xab, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef,
	    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 'x', 'y'};
	uint8_t              out[sizeof(want)], bytes[2];
	struct wbuf          w;
	struct rbuf          r;
	uint8_t              v8;
	uint16_t             v16;
	uint32_t             v32;
	uint64_t             v64;

	wbuf_init(&w, out, sizeof(out));
	ck_assert_int_eq(wbuf_put_u8(&w, 0xab), 0);
	ck_assert_int_eq(wbuf_put_u16(&w, 0x1234), 0);
	ck_assert_int_eq(wbuf_put_u32(&w, 0xdeadbeef), 0);
	ck_assert_int_eq(wbuf_put_u64(&w, 0x0102030405060708ULL), 0);
	ck_assert_int_eq(wbuf_put_bytes(&w, "xy", 2), 0);
	ck_assert_uint_eq(w.len, sizeof(want));
	ck_assert_uint_eq(wbuf_room(&w), 0);
	ck_assert_mem_eq(out, want, sizeof(want));

	rbuf_init(&r, out, sizeof(out));
	ck_assert_int_eq(rbuf_get_u8(&r, &v8), 0);
	ck_assert_int_eq(rbuf_get_u16(&r, &v16), 0);
	ck_assert_int_eq(rbuf_get_u32(&r, &v32), 0);
	ck_assert_int_eq(rbuf_get_u64(&r, &v64), 0);
	ck_assert_int_eq(rbuf_get_bytes(&r, bytes, 2), 0);
	ck_assert_uint_eq(v8, 0xab);
	ck_assert_uint_eq(v16, 0x1234);
	ck_assert_uint_eq(v32, 0xdeadbeef);
	ck_assert(v64 == 0x0102030405060708ULL);
	ck_assert_mem_eq(bytes, "xy", 2);
	ck_assert_uint_eq(rbuf_left(&r), 0);
}
END_TEST

/* A put that does not fit writes nothing; a get that does not, reads. */
START_TEST(test_short_fails_whole)
{
	uint8_t     out[7];
	struct wbuf w;
	struct rbuf r;
	uint64_t    v64 = 0;
	uint32_t    v32 = 0;
	size_t      room;

	for (room = 0; room < 8; room++) {
		memset(out, 0x5a, sizeof(out));
		wbuf_init(&w, out, room);
		ck_assert_int_eq(wbuf_put_u64(&w, UINT64_MAX), -1);
		ck_assert_uint_eq(w.len, 0);
		ck_assert_uint_eq(out[0], 0x5a);
		ck_assert_int_eq(wbuf_put_u32(&w, 1), room >= 4 ? 0 : -1);
		ck_assert_int_eq(
		    wbuf_put_bytes(&w, "abcd", 4), room >= 8 ? 0 : -1);
	}
	rbuf_init(&r, out, 7);
	ck_assert_int_eq(rbuf_get_u64(&r, &v64), -1);
	ck_assert_uint_eq(r.off, 0);
	ck_assert(v64 == 0);
	ck_assert_int_eq(rbuf_skip(&r, 4), 0);
	ck_assert_int_eq(rbuf_get_u32(&r, &v32), -1);
	ck_assert_uint_eq(r.off, 4);
	ck_assert_uint_eq(v32, 0);
}
END_TEST

START_TEST(test_poke)
{
	uint8_t p[8];

	POKE_U16(p, 0xbeef);
	ck_assert_uint_eq(p[0], 0xbe);
	ck_assert_uint_eq(p[1], 0xef);
	POKE_U32(p, 0x01020304);
	ck_assert_mem_eq(p, "\x01\x02\x03\x04", 4);
	POKE_U64(p, 0x1112131415161718ULL);
	ck_assert_mem_eq(p, "\x11\x12\x13\x14\x15\x16\x17\x18", 8);
}
END_TEST

static Suite *
buf_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("buf");
	tc = tcase_create("buf");
	tcase_add_test(tc, test_put_get_pairs);
	tcase_add_test(tc, test_short_fails_whole);
	tcase_add_test(tc, test_poke);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(buf_suite());
}
