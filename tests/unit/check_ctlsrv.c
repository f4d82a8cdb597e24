/*
 * The control socket server (daemon/ctlsrv.c) under clients that hold
 * their slots: CTLSRV_MAX_CLIENTS idle connections, closed one by one and
 * reopened at once by a client in a loop, must not keep an operator's
 * request waiting (issue 10, finding 6 e).  And under a reply of a
 * hundred thousand rows taken by a client that does not read: the
 * server makes no more of it than CTLSRV_OUT_LOW and a chunk hold, and
 * answers others meanwhile (issue 13).
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "ctlsrv.h"
#include "check_run.h"

static char               dir[] = "/tmp/check_ctlsrv.XXXXXX";
static char               path[sizeof(dir) + 16];
static struct event_base *base;
static struct ctlsrv     *srv;
static int                served;

/* `flows` here: BIG_ROWS rows of about ROW_BYTES, in chunks. */
#define BIG_ROWS  100000
#define ROW_BYTES 120
static size_t big_made, big_chunks;

static int
big_next(void *cur, json_t *rows, size_t max)
{
	static const char pad[] = "0123456789abcdef0123456789abcdef"
				  "0123456789abcdef0123456789abcdef"
				  "0123456789";
	size_t           *next = cur, n;

	ck_assert_uint_le(max, CTLSRV_CHUNK_ROWS);
	for (n = 0; n < max && *next < BIG_ROWS; n++, (*next)++)
		ck_assert_int_eq(json_array_append_new(rows,
				     json_pack("{s:I,s:s}", "n",
					 (json_int_t)*next, "pad", pad)),
		    0);
	big_made += n;
	big_chunks++;
	return *next < BIG_ROWS;
}

/* `sites` here: a chunk in SPARSE has rows, the others none (a flows
 * walk over other links' flows), SPARSE_ROWS in all. */
#define SPARSE      50
#define SPARSE_ROWS 20

static int
sparse_next(void *cur, json_t *rows, size_t max)
{
	size_t *calls = cur;

	(void)max;
	if (++*calls % SPARSE == 0)
		json_array_append_new(
		    rows, json_pack("{s:I}", "call", (json_int_t)*calls));
	return *calls < SPARSE * SPARSE_ROWS;
}

static json_t *
big_tail(void *cur)
{
	return json_pack("{s:I}", "shown", (json_int_t) * (size_t *)cur);
}

static json_t *
handler(void *arg, const struct ctlsock_req *req, struct ctlsrv_rows *rows)
{
	size_t *cur;

	(void)arg;
	served++;
	if (req->cmd == CTLSOCK_FLOWS) {
		ck_assert_ptr_nonnull(cur = calloc(1, sizeof(*cur)));
		*rows = (struct ctlsrv_rows){
		    "flows", big_next, big_tail, free, cur};
		return ctlsock_ok(json_pack("{s:i}", "total", BIG_ROWS));
	}
	if (req->cmd == CTLSOCK_SITES) {
		ck_assert_ptr_nonnull(cur = calloc(1, sizeof(*cur)));
		*rows =
		    (struct ctlsrv_rows){"sites", sparse_next, NULL, free, cur};
		return ctlsock_ok(json_object());
	}
	return ctlsock_ok(json_pack("{s:i}", "cmd", (int)req->cmd));
}

static void
server_up(void)
{
	char err[256];

	signal(SIGPIPE, SIG_IGN);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.sock", dir);
	ck_assert_ptr_nonnull(base = event_base_new());
	srv = ctlsrv_open(base, path, handler, NULL, err, sizeof(err));
	ck_assert_msg(srv != NULL, "ctlsrv_open: %s", err);
	served = 0;
}

static void
server_down(void)
{
	ctlsrv_close(srv);
	event_base_free(base);
	rmdir(dir);
}

static int
client(void)
{
	struct sockaddr_un sun;
	int                fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	ck_assert_int_ge(
	    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0), 0);
	/* a full backlog says EAGAIN: the caller tries again later */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		ck_assert_int_eq(errno, EAGAIN);
		close(fd);
		return -1;
	}
	return fd;
}

static void
spin(int n)
{
	while (n-- > 0) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(500);
	}
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The looping client: each of its connections the server closed is
 * opened again at once, so it always holds (or waits for) every slot. */
static void
reconnect(int *fds, size_t n, unsigned *reopened)
{
	struct pollfd p;
	char          b[256];
	size_t        i;

	for (i = 0; i < n; i++) {
		if (fds[i] >= 0) {
			p = (struct pollfd){fds[i], POLLIN, 0};
			if (poll(&p, 1, 0) == 0 ||
			    (read(fds[i], b, sizeof(b)) > 0))
				continue;
			close(fds[i]);
		}
		if ((fds[i] = client()) >= 0)
			(*reopened)++;
	}
}

START_TEST(reconnect_loop_does_not_starve)
{
	struct ctlsock_req req;
	int                hog[CTLSRV_MAX_CLIENTS + 8], fd;
	unsigned           reopened = 0;
	char              *line, reply[512];
	size_t             i, n = 0;
	ssize_t            r;
	double             t0, took;

	server_up();
	for (i = 0; i < CTLSRV_MAX_CLIENTS + 8; i++) {
		hog[i] = client();
		spin(2);
	}
	spin(20);
	ck_assert_int_eq(served, 0);

	/* `wanpairctl status`, while the hog reconnects in a loop */
	memset(&req, 0, sizeof(req));
	req.cmd = CTLSOCK_STATUS;
	req.limit = CTLSOCK_FLOWS_DEF;
	ck_assert_ptr_nonnull(line = ctlsock_req_encode(&req));
	t0 = now_s();
	while ((fd = client()) == -1 && now_s() - t0 < 15) {
		reconnect(hog, CTLSRV_MAX_CLIENTS + 8, &reopened);
		spin(1);
	}
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	free(line);
	while (now_s() - t0 < 15) {
		reconnect(hog, CTLSRV_MAX_CLIENTS + 8, &reopened);
		spin(1);
		r = read(fd, reply + n, sizeof(reply) - 1 - n);
		if (r > 0)
			n += (size_t)r;
		if (n > 0 && reply[n - 1] == '\n')
			break;
	}
	took = now_s() - t0;
	reply[n] = '\0';
	ck_assert_msg(strstr(reply, "\"ok\"") != NULL || served > 0,
	    "no answer in %.1f s: \"%s\"", took, reply);
	/* well inside one client's 10 s deadline */
	ck_assert_msg(took < 2.0, "answered after %.2f s (hog reopened %u)",
	    took, reopened);
	ck_assert_int_eq(served, 1);
	ck_assert_uint_gt(ctlsrv_evicted(srv), 0);
	close(fd);
	for (i = 0; i < CTLSRV_MAX_CLIENTS + 8; i++)
		if (hog[i] >= 0)
			close(hog[i]);
	server_down();
}
END_TEST

static int
send_req(enum ctlsock_cmd cmd)
{
	struct ctlsock_req req;
	char              *line;
	int                fd;

	memset(&req, 0, sizeof(req));
	req.cmd = cmd;
	req.limit = CTLSOCK_FLOWS_DEF;
	ck_assert_ptr_nonnull(line = ctlsock_req_encode(&req));
	ck_assert_int_ge(fd = client(), 0);
	ck_assert_int_eq(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	free(line);
	return fd;
}

/* Reads what is there; 1 at EOF. */
static int
drain(int fd, char **buf, size_t *len, size_t *cap)
{
	ssize_t r;

	for (;;) {
		if (*cap - *len < 65536) {
			*cap = *cap == 0 ? 1 << 20 : *cap * 2;
			ck_assert_ptr_nonnull(*buf = realloc(*buf, *cap + 1));
		}
		r = read(fd, *buf + *len, *cap - *len);
		if (r == 0)
			return 1;
		if (r < 0) {
			ck_assert_int_eq(errno, EAGAIN);
			return 0;
		}
		*len += (size_t)r;
	}
}

START_TEST(slow_reader_bounded_others_served)
{
	json_t *result, *rows, *row;
	char    err[256], *buf = NULL, small[512];
	size_t  len = 0, cap = 0, n = 0, i;
	int     slow, op, eof = 0;
	ssize_t r;
	double  t0;

	server_up();
	big_made = big_chunks = 0;
	slow = send_req(CTLSOCK_FLOWS);
	/* It reads nothing: the kernel's socket buffer fills, then the
	 * server's output up to its low mark, and there it stops. */
	spin(300);
	ck_assert_uint_gt(big_made, 0);
	ck_assert_uint_lt(big_made, BIG_ROWS / 4);
	ck_assert_uint_le(ctlsrv_out_peak(srv),
	    CTLSRV_OUT_LOW + (size_t)CTLSRV_CHUNK_ROWS * ROW_BYTES);
	ck_assert_uint_eq(ctlsrv_streams(srv), 1);

	/* An operator's request meanwhile is answered at once. */
	t0 = now_s();
	op = send_req(CTLSOCK_STATUS);
	while (now_s() - t0 < 5) {
		spin(1);
		r = read(op, small + n, sizeof(small) - 1 - n);
		if (r > 0)
			n += (size_t)r;
		if (n > 0 && small[n - 1] == '\n')
			break;
	}
	small[n] = '\0';
	ck_assert_msg(now_s() - t0 < 1.0, "status after %.2f s", now_s() - t0);
	ck_assert_ptr_nonnull(strstr(small, "\"ok\":true"));
	close(op);

	/* Now it reads: every row arrives, in order, as one reply. */
	t0 = now_s();
	while (!eof && now_s() - t0 < 30) {
		eof = drain(slow, &buf, &len, &cap);
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	ck_assert_msg(eof, "no EOF after %.1f s, %zu bytes", now_s() - t0, len);
	ck_assert_uint_eq(big_made, BIG_ROWS);
	/* the bound held all along, and so did each turn's share */
	ck_assert_uint_le(ctlsrv_out_peak(srv),
	    CTLSRV_OUT_LOW + (size_t)CTLSRV_CHUNK_ROWS * ROW_BYTES);
	ck_assert_uint_ge(big_chunks, BIG_ROWS / CTLSRV_CHUNK_ROWS);
	ck_assert_msg(ctlsrv_turn_max_us(srv) < 250000, "a turn took %llu us",
	    (unsigned long long)ctlsrv_turn_max_us(srv));
	ck_assert_int_eq(
	    ctlsock_reply_parse(buf, len, &result, err, sizeof(err)), 0);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(result, "total")), BIG_ROWS);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(result, "shown")), BIG_ROWS);
	rows = json_object_get(result, "flows");
	ck_assert_uint_eq(json_array_size(rows), BIG_ROWS);
	json_array_foreach(rows, i, row)
	{
		if (json_integer_value(json_object_get(row, "n")) !=
		    (json_int_t)i)
			ck_abort_msg("row %zu out of order", i);
	}
	/* one line, as before streaming */
	ck_assert_ptr_eq(memchr(buf, '\n', len), buf + len - 1);
	json_decref(result);
	free(buf);
	close(slow);
	server_down();
}
END_TEST

/* Chunks without rows write nothing, so no write event follows them:
 * the reply must go on anyway, not stall until the deadline. */
START_TEST(empty_chunks_go_on)
{
	json_t *result;
	char    err[256], *buf = NULL;
	size_t  len = 0, cap = 0;
	int     fd, eof = 0;
	double  t0;

	server_up();
	fd = send_req(CTLSOCK_SITES);
	t0 = now_s();
	while (!eof && now_s() - t0 < 5) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		eof = drain(fd, &buf, &len, &cap);
	}
	ck_assert_msg(
	    eof, "stalled: %zu bytes after %.1f s", len, now_s() - t0);
	ck_assert_int_eq(
	    ctlsock_reply_parse(buf, len, &result, err, sizeof(err)), 0);
	ck_assert_uint_eq(
	    json_array_size(json_object_get(result, "sites")), SPARSE_ROWS);
	json_decref(result);
	free(buf);
	close(fd);
	server_down();
}
END_TEST

/* A reader that closes mid-reply: the cursor is freed, the server goes on. */
START_TEST(reader_gone_mid_reply)
{
	char   small[512];
	size_t n = 0;
	int    slow, op;
	double t0;

	server_up();
	big_made = 0;
	slow = send_req(CTLSOCK_FLOWS);
	spin(50);
	close(slow);
	spin(50);
	ck_assert_uint_lt(big_made, BIG_ROWS);
	op = send_req(CTLSOCK_STATUS);
	t0 = now_s();
	while (now_s() - t0 < 5 && (n == 0 || small[n - 1] != '\n')) {
		ssize_t r;

		spin(1);
		if ((r = read(op, small + n, sizeof(small) - 1 - n)) > 0)
			n += (size_t)r;
	}
	ck_assert_uint_gt(n, 0);
	close(op);
	server_down();
}
END_TEST

static Suite *
ctlsrv_suite(void)
{
	Suite *s = suite_create("ctlsrv");
	TCase *tc = tcase_create("slots");

	tcase_add_test(tc, reconnect_loop_does_not_starve);
	tcase_add_test(tc, slow_reader_bounded_others_served);
	tcase_add_test(tc, reader_gone_mid_reply);
	tcase_add_test(tc, empty_chunks_go_on);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(ctlsrv_suite());
}
