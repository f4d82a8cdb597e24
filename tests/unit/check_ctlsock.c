#include "autoconf.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlsock.h"
#include "check_run.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A heap block of exactly len bytes: ASan sees any read past it. */
static char *
exact(const char *s, size_t len)
{
	char *p = malloc(len == 0 ? 1 : len);

	ck_assert_ptr_nonnull(p);
	memcpy(p, s, len);
	return p;
}

static int
parse(const char *s, struct ctlsock_req *req, char *err)
{
	char *p = exact(s, strlen(s));
	int   rc = ctlsock_req_parse(p, strlen(s), req, err, CTLSOCK_ERRLEN);

	free(p);
	return rc;
}

/* Every command survives encode -> parse unchanged. */
START_TEST(test_roundtrip)
{
	struct ctlsock_req req, back;
	char               err[CTLSOCK_ERRLEN], *line;
	int                c;

	for (c = 0; c < CTLSOCK_NCMD; c++) {
		memset(&req, 0, sizeof(req));
		req.cmd = (enum ctlsock_cmd)c;
		req.limit = CTLSOCK_FLOWS_DEF;
		if (c == CTLSOCK_FLOWS) {
			strcpy(req.link, "WAN2");
			strcpy(req.site, "branch-17");
			req.limit = 7;
		}
		if (c == CTLSOCK_LINKS)
			strcpy(req.site, "branch-17");
		if (c == CTLSOCK_LINK) {
			strcpy(req.link, "WAN1");
			req.up = 1;
		}
		line = ctlsock_req_encode(&req);
		ck_assert_ptr_nonnull(line);
		ck_assert_int_eq(line[strlen(line) - 1], '\n');
		ck_assert_msg(
		    parse(line, &back, err) == 0, "%s: %s", line, err);
		ck_assert_int_eq(back.cmd, c);
		ck_assert_str_eq(back.link, req.link);
		ck_assert_str_eq(back.site, req.site);
		ck_assert_uint_eq(back.limit, req.limit);
		ck_assert_int_eq(back.up, req.up);
		free(line);
	}
}
END_TEST

START_TEST(test_defaults)
{
	struct ctlsock_req req;
	char               err[CTLSOCK_ERRLEN];

	/* Without the newline too: `echo -n` is a request as well. */
	ck_assert_int_eq(parse("{\"command\":\"flows\"}", &req, err), 0);
	ck_assert_int_eq(req.cmd, CTLSOCK_FLOWS);
	ck_assert_uint_eq(req.limit, CTLSOCK_FLOWS_DEF);
	ck_assert_str_eq(req.link, "");
	ck_assert_int_eq(
	    parse("{\"command\":\"flows\",\"limit\":100000}\n", &req, err), 0);
	ck_assert_uint_eq(req.limit, CTLSOCK_FLOWS_MAX);
	/* sites: every one unless limited */
	ck_assert_int_eq(parse("{\"command\":\"sites\"}", &req, err), 0);
	ck_assert_uint_eq(req.limit, 0);
	ck_assert_int_eq(
	    parse("{\"command\":\"sites\",\"limit\":5}", &req, err), 0);
	ck_assert_uint_eq(req.limit, 5);
}
END_TEST

struct bytes {
	char   b[8192];
	size_t n;
};

static int
collect(const char *buf, size_t len, void *arg)
{
	struct bytes *o = arg;

	if (o->n + len > sizeof(o->b))
		return -1;
	memcpy(o->b + o->n, buf, len);
	o->n += len;
	return 0;
}

/*
 * A reply written in parts is the line a whole reply would have been:
 * same bytes, one line, for wanpairctl and for a script's JSON parser.
 */
START_TEST(test_stream_framing)
{
	json_t      *head, *tail, *row[3], *whole, *rows, *result, *reply;
	struct bytes o = {.n = 0};
	char        *line, err[CTLSOCK_ERRLEN];
	size_t       i, nrows;

	for (nrows = 0; nrows <= 3; nrows++) {
		o.n = 0;
		head = json_pack(
		    "{s:i,s:s}", "total", 3, "note", "caf\u00e9 \"q\"");
		tail = json_pack("{s:i}", "shown", (int)nrows);
		rows = json_array();
		ck_assert_int_eq(
		    ctlsock_stream_head(head, "flows", collect, &o), 0);
		for (i = 0; i < nrows; i++) {
			row[i] =
			    json_pack("{s:i,s:s}", "n", (int)i, "s", "a\nb");
			ck_assert_int_eq(
			    ctlsock_stream_row(row[i], i == 0, collect, &o), 0);
			json_array_append(rows, row[i]);
		}
		ck_assert_int_eq(ctlsock_stream_tail(tail, collect, &o), 0);
		whole = json_deep_copy(head);
		json_object_set(whole, "flows", rows);
		json_object_update(whole, tail);
		reply = ctlsock_ok(json_incref(whole));
		ck_assert_ptr_nonnull(line = ctlsock_reply_encode(reply));
		json_decref(reply);
		ck_assert_uint_eq(o.n, strlen(line));
		ck_assert_msg(memcmp(o.b, line, o.n) == 0, "%.*s\nvs %s",
		    (int)o.n, o.b, line);
		ck_assert_int_eq(
		    ctlsock_reply_parse(o.b, o.n, &result, err, sizeof(err)),
		    0);
		ck_assert(json_equal(result, whole));
		json_decref(result);
		free(line);
		for (i = 0; i < nrows; i++)
			json_decref(row[i]);
		json_decref(rows);
		json_decref(whole);
		json_decref(head);
		json_decref(tail);
	}
	/* A consumer that refuses stops the writer. */
	o.n = sizeof(o.b);
	head = json_pack("{s:i}", "total", 1);
	ck_assert_int_eq(ctlsock_stream_head(head, "flows", collect, &o), -1);
	json_decref(head);
}
END_TEST

/* What the operator (or a stranger on the socket) gets told. */
START_TEST(test_refused)
{
	static const struct {
		const char *in, *err;
	} bad[] = {
	    {"", "empty request"},
	    {"\n", "empty request"},
	    {"{", "not JSON at byte 1"},
	    {"[]", "must be a JSON object, got array"},
	    {"\"status\"", "must be a JSON object, got string"},
	    {"{}", "missing key \"command\""},
	    {"{\"command\":1}", "command: must be a string, got integer"},
	    {"{\"command\":\"stats\"}", "unknown command \"stats\""},
	    {"{\"command\":\"status\",\"link\":\"WAN1\"}",
		"status: unknown key \"link\""},
	    {"{\"command\":\"flows\",\"colour\":1}",
		"flows: unknown key \"colour\""},
	    {"{\"command\":\"flows\",\"limit\":0}",
		"limit: must be an integer"},
	    {"{\"command\":\"flows\",\"limit\":100001}",
		"limit: must be an integer 1..100000"},
	    {"{\"command\":\"flows\",\"limit\":\"10\"}", "limit: must be"},
	    {"{\"command\":\"sites\",\"limit\":0}",
		"limit: must be an integer 1..1000000"},
	    {"{\"command\":\"sites\",\"limit\":\"x\"}", "limit: must be"},
	    {"{\"command\":\"sites\",\"site\":\"a\"}",
		"sites: unknown key \"site\""},
	    {"{\"command\":\"flows\",\"link\":\"\"}",
		"link: must be 1 to 31 characters, got \"\""},
	    {"{\"command\":\"flows\",\"link\":"
	     "\"0123456789012345678901234567890123\"}",
		"link: must be 1 to 31 characters"},
	    {"{\"command\":\"flows\",\"link\":\"a\\u0000b\"}",
		"\\u0000 is not allowed near"},
	    {"{\"command\":\"flows\",\"link\":\"a\\nb\"}",
		"link: printable ASCII without quotes or backslashes, got "
		"\"a\\nb\""},
	    {"{\"command\":\"flows\",\"site\":\"x\\\"y\"}",
		"site: printable ASCII"},
	    {"{\"command\":\"flows\",\"link\":\"\u00e9t\u00e9\"}",
		"link: printable ASCII"},
	    {"{\"command\":\"flows\",\"link\":5}",
		"link: must be a string, got integer"},
	    {"{\"command\":\"link\",\"link\":\"WAN1\"}",
		"needs \"link\" and \"state\""},
	    {"{\"command\":\"link\",\"link\":\"WAN1\",\"state\":\"sideways\"}",
		"state: must be \"up\" or \"down\""},
	    {"{\"command\":\"status\",\"command\":\"links\"}", "duplicate"},
	    {"{\"command\":\"status\"} {}", "not JSON"},
	    {"\xef\xbb\xbf{\"command\":\"status\"}",
		"not JSON at byte 0: a UTF-8 byte order mark (EF BB BF) at "
		"the start, which JSON does not allow (RFC 8259 section 8.1)"},
	    {"{\"command\":\"status\"}\n{\"command\":\"links\"}",
		"one request per line"},
	};
	struct ctlsock_req req;
	char               err[CTLSOCK_ERRLEN];
	size_t             i;

	for (i = 0; i < NELEM(bad); i++) {
		err[0] = '\0';
		ck_assert_msg(parse(bad[i].in, &req, err) == -1, "accepted: %s",
		    bad[i].in);
		ck_assert_msg(strstr(err, bad[i].err) != NULL,
		    "%s: got \"%s\", want \"%s\"", bad[i].in, err, bad[i].err);
	}
}
END_TEST

/* Exactly the limit is a request; one byte more is not. */
START_TEST(test_size)
{
	struct ctlsock_req req;
	char               err[CTLSOCK_ERRLEN];
	char              *big;
	size_t             pre = strlen("{\"command\":\"status\",\"x\":\"");
	size_t             n = CTLSOCK_MAX_REQUEST;

	big = malloc(n + 2);
	ck_assert_ptr_nonnull(big);
	memcpy(big, "{\"command\":\"status\",\"x\":\"", pre);
	memset(big + pre, 'a', n - pre - 2);
	memcpy(big + n - 2, "\"}", 2);
	/* n bytes: parsed (and refused for its key, not its size) */
	ck_assert_int_eq(ctlsock_req_parse(big, n, &req, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "unknown key"));
	/* n bytes and the newline: the same */
	big[n] = '\n';
	ck_assert_int_eq(
	    ctlsock_req_parse(big, n + 1, &req, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "unknown key"));
	/* n + 1 bytes before the newline: too long */
	big[n] = ' ';
	big[n + 1] = '\n';
	ck_assert_int_eq(
	    ctlsock_req_parse(big, n + 2, &req, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "longer than 4096"));
	free(big);
}
END_TEST

/* Every prefix of a good request is refused cleanly (ASan watches). */
START_TEST(test_truncated)
{
	const char        *good = "{\"command\":\"flows\",\"link\":\"WAN1\","
				  "\"limit\":5,\"site\":\"s\"}\n";
	struct ctlsock_req req;
	char               err[CTLSOCK_ERRLEN], *p;
	size_t             n;

	for (n = 0; n < strlen(good) - 1; n++) {
		p = exact(good, n);
		ck_assert_msg(
		    ctlsock_req_parse(p, n, &req, err, sizeof(err)) == -1,
		    "accepted %zu bytes", n);
		free(p);
	}
	p = exact(good, strlen(good));
	ck_assert_int_eq(
	    ctlsock_req_parse(p, strlen(good), &req, err, sizeof(err)), 0);
	free(p);
}
END_TEST

START_TEST(test_garbage)
{
	struct ctlsock_req req;
	char               err[CTLSOCK_ERRLEN], buf[256];
	uint64_t           s = 1;
	int                i, j, ok = 0;

	for (i = 0; i < 20000; i++) {
		int n = (int)(s % sizeof(buf));

		for (j = 0; j < n; j++) {
			s = s * 6364136223846793005ULL + 1442695040888963407ULL;
			buf[j] = (char)(s >> 56);
		}
		if (ctlsock_req_parse(buf, (size_t)n, &req, err, sizeof(err)) ==
		    0)
			ok++;
		else if (err[0] == '\0')
			ck_abort_msg("refused without a reason");
	}
	ck_assert_int_eq(ok, 0);
}
END_TEST

START_TEST(test_reply)
{
	json_t *reply, *result;
	char   *line, err[1024];

	reply = ctlsock_ok(json_pack("{s:i}", "flows", 3));
	line = ctlsock_reply_encode(reply);
	ck_assert_ptr_nonnull(line);
	ck_assert_int_eq(
	    ctlsock_reply_parse(line, strlen(line), &result, err, sizeof(err)),
	    0);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(result, "flows")), 3);
	json_decref(result);
	json_decref(reply);
	free(line);

	/* A refusal keeps its lines, and control characters are shown,
	 * not sent to the terminal. */
	reply = ctlsock_error("a.json:1:2: x: bad\nb\033[2J");
	line = ctlsock_reply_encode(reply);
	ck_assert_int_eq(
	    ctlsock_reply_parse(line, strlen(line), &result, err, sizeof(err)),
	    1);
	ck_assert_ptr_null(result);
	ck_assert_str_eq(err, "a.json:1:2: x: bad\nb\\x1b[2J");
	json_decref(reply);
	free(line);

	/* Bytes that are not UTF-8 still make an answer, shown as \xNN. */
	reply = ctlsock_error("unknown link \"%s\"", "\xe2\x82");
	ck_assert_ptr_nonnull(reply);
	ck_assert_str_eq(json_string_value(json_object_get(reply, "error")),
	    "unknown link \"\\xe2\\x82\"");
	json_decref(reply);

	ck_assert_int_eq(
	    ctlsock_reply_parse("", 0, &result, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "without an answer"));
	ck_assert_int_eq(
	    ctlsock_reply_parse("{\"ok\":1}", 8, &result, err, sizeof(err)),
	    -1);
	ck_assert_int_eq(
	    ctlsock_reply_parse("{\"ok\":true}", 11, &result, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "no result"));
	ck_assert_int_eq(
	    ctlsock_reply_parse("{\"ok\":tr", 8, &result, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "not JSON"));
}
END_TEST

static Suite *
ctlsock_suite(void)
{
	Suite *s = suite_create("ctlsock");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_stream_framing);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_size);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_reply);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(ctlsock_suite());
}
