#include "autoconf.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsonpos.h"
#include "check_run.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The name rules the three readers share (jsonstrict.c). */
START_TEST(test_name_rules)
{
	static const struct {
		const char       *s;
		enum jsonpos_name rule;
		int               ok;
	} t[] = {
	    {"WAN1_b.c-d", JSONPOS_NAME_WORD, 1},
	    {"WAN 1", JSONPOS_NAME_WORD, 0},
	    {"w\xc3\xa9", JSONPOS_NAME_WORD, 0},
	    {"branch 17 \xc3\xa9", JSONPOS_NAME_TEXT, 1},
	    {"a\tb", JSONPOS_NAME_TEXT, 0},
	    {"a\x7f", JSONPOS_NAME_TEXT, 0},
	    {"eth0.100", JSONPOS_NAME_IFNAME, 1},
	    {".", JSONPOS_NAME_IFNAME, 0},
	    {"..", JSONPOS_NAME_IFNAME, 0},
	    {"...", JSONPOS_NAME_IFNAME, 1},
	    {"a/b", JSONPOS_NAME_IFNAME, 0},
	    {"a:b", JSONPOS_NAME_IFNAME, 0},
	    {"a b", JSONPOS_NAME_IFNAME, 0},
	    {"WAN1!", JSONPOS_NAME_PRINTABLE, 1},
	    {"a\"b", JSONPOS_NAME_PRINTABLE, 0},
	    {"a\\b", JSONPOS_NAME_PRINTABLE, 0},
	    {"a b", JSONPOS_NAME_PRINTABLE, 0},
	    {"\xc3\xa9", JSONPOS_NAME_PRINTABLE, 0},
	};
	size_t i;

	for (i = 0; i < NELEM(t); i++)
		ck_assert_msg(jsonpos_name_ok(
				  t[i].s, strlen(t[i].s), t[i].rule) == t[i].ok,
		    "%s (rule %d): want %d", t[i].s, t[i].rule, t[i].ok);
}
END_TEST

START_TEST(test_key_known)
{
	static const char *const known[] = {"up_mbps", "down_mbps", NULL};
	static const char *const none[] = {NULL};

	ck_assert_int_eq(jsonpos_key_known("up_mbps", known), 1);
	ck_assert_int_eq(jsonpos_key_known("down_mbps", known), 1);
	ck_assert_int_eq(jsonpos_key_known("up", known), 0);
	ck_assert_int_eq(jsonpos_key_known("up_mbps", none), 0);
}
END_TEST

START_TEST(test_uint)
{
	json_t  *v;
	uint32_t out = 7;
	char     why[96];

	v = json_integer(32);
	ck_assert_int_eq(jsonpos_uint(v, 1, 32, &out, why, sizeof(why)), 0);
	ck_assert_uint_eq(out, 32);
	ck_assert_int_eq(jsonpos_uint(v, 0, 31, &out, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "must be 0..31, got 32");
	ck_assert_uint_eq(out, 32);
	json_decref(v);
	v = json_integer(-1);
	ck_assert_int_eq(
	    jsonpos_uint(v, 0, UINT32_MAX, &out, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "must be 0..4294967295, got -1");
	json_decref(v);
	v = json_real(1.0);
	ck_assert_int_eq(jsonpos_uint(v, 0, 1, &out, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "must be an integer, got real");
	json_decref(v);
}
END_TEST

/* Positions from 1, a byte order mark named, no flag names (issue 11). */
START_TEST(test_load)
{
	static const struct {
		const char *text;
		unsigned    line, column;
		const char *msg;
	} t[] = {
	    {"", 1, 1, "unexpected token near end of file"},
	    {"{\n", 2, 1, "string or '}' expected near end of file"},
	    {"\xff", 1, 1, "unable to decode byte 0xff"},
	    {"[1,\n\xff]", 2, 1, "unable to decode byte 0xff"},
	    {"\xef\xbb\xbf{}", 1, 1,
		"a UTF-8 byte order mark (EF BB BF) at the start, which JSON "
		"does not allow (RFC 8259 section 8.1)"},
	    {"[\"\\u0000\"]", 1, 9,
		"\\u0000 is not allowed near '\"\\u0000\"'"},
	};
	struct jsonpos_syntax e;
	json_t               *v;
	size_t                i;

	for (i = 0; i < NELEM(t); i++) {
		v = jsonpos_load(
		    t[i].text, strlen(t[i].text), JSON_DECODE_ANY, &e);
		ck_assert_msg(v == NULL, "accepted %zu", i);
		ck_assert_msg(e.line == t[i].line && e.column == t[i].column,
		    "%zu: at %u:%u, want %u:%u", i, e.line, e.column, t[i].line,
		    t[i].column);
		ck_assert_str_eq(e.msg, t[i].msg);
	}
	v = jsonpos_load("{\"a\": 1}", 8, JSON_REJECT_DUPLICATES, &e);
	ck_assert_ptr_nonnull(v);
	json_decref(v);
}
END_TEST

static Suite *
jsonpos_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("jsonpos");
	tc = tcase_create("strict");
	tcase_add_test(tc, test_name_rules);
	tcase_add_test(tc, test_key_known);
	tcase_add_test(tc, test_uint);
	tcase_add_test(tc, test_load);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(jsonpos_suite());
}
