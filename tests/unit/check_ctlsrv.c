/*
 * The control socket server (daemon/ctlsrv.c) under clients that hold
 * their slots: CTLSRV_MAX_CLIENTS idle connections, closed one by one and
 * reopened at once by a client in a loop, must not keep an operator's
 * request waiting (issue 10, finding 6 e).
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

static json_t *
handler(void *arg, const struct ctlsock_req *req)
{
	(void)arg;
	served++;
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

static Suite *
ctlsrv_suite(void)
{
	Suite *s = suite_create("ctlsrv");
	TCase *tc = tcase_create("slots");

	tcase_add_test(tc, reconnect_loop_does_not_starve);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(ctlsrv_suite());
}
