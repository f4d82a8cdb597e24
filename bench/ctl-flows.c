/*
 * bench/ctl-flows: what `flows` on a table of a million flows costs the
 * daemon's event loop, streamed (ctlsrv_rows, a chunk per turn) against
 * the reply built whole in one turn, as the control socket did before.
 *
 * One process holds a flow table of --flows flows (default 1,000,000)
 * and serves the control socket (daemon/ctlsrv.c) from its event loop,
 * answering `flows` with the same walk (ctlsrv_flows_step()) both
 * daemons use.  A child process asks for the flows and reads them as
 * fast as it can while it asks `status` over and over on a second
 * connection: how long a status waits is how long the loop was held.
 * For each of three sizes (1,000 rows: wanpairctl's default; 100,000:
 * the most it asks; every flow) it prints, streamed: the time to the
 * last byte, the longest turn the socket spent (ctlsrv_turn_max_us()),
 * the most one client's output held, the longest status wait; and
 * built whole: the time of the one turn that made the same reply
 * (every flow visited to count the total, the rows, the dump).
 * Prints a table and, with --json FILE, writes the figures.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "ctlsrv.h"
#include "flow.h"

static struct flow_table *table;
static size_t             rows_wanted;
static const char *const  names[] = {"WAN1", "WAN2"};
static char               sockpath[64];

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
now_ms(void)
{
	return (uint64_t)(now_s() * 1000);
}

static void
fill(uint32_t n)
{
	struct flow_timeouts to = {{3600, 3600, 3600, 3600, 3600}};
	struct flow_key      k;
	struct flow         *f;
	uint32_t             i;

	if ((table = flow_table_new(n, &to)) == NULL) {
		perror("flow_table_new");
		exit(1);
	}
	for (i = 0; i < n; i++) {
		memset(&k, 0, sizeof(k));
		k.family = AF_INET;
		k.proto = 17;
		k.a[0] = 10;
		k.a[1] = (uint8_t)(i >> 16);
		k.a[2] = (uint8_t)(i >> 8);
		k.a[3] = (uint8_t)i;
		k.b[0] = 203;
		k.b[2] = 113;
		k.b[3] = 10;
		k.pa = (uint16_t)(1024 + (i & 0x7fff));
		k.pb = 53;
		f = flow_table_insert(
		    table, &k, flow_table_hash(table, &k), now_ms());
		flow_table_set_link(table, f, (uint8_t)(i % 5 == 0));
		f->flags |= FLOW_F_A_INITIATOR;
	}
}

struct cursor {
	size_t                limit, shown;
	struct ctlsrv_flowpos fp;
};

static int
flows_next(void *cur, json_t *rows, size_t max)
{
	struct cursor        *w = cur;
	struct ctlsrv_flowsrc src = {
	    table, names, 2, NULL, 0, NULL, NULL, 0, NULL, 0};
	size_t before = json_array_size(rows);
	int    rc;

	rc = ctlsrv_flows_step(
	    rows, max, w->limit - w->shown, &src, -1, &w->fp, now_ms());
	w->shown += json_array_size(rows) - before;
	return rc == 1 && w->shown >= w->limit ? 0 : rc;
}

static json_t *
flows_tail(void *cur)
{
	return json_pack(
	    "{s:I}", "shown", (json_int_t)((struct cursor *)cur)->shown);
}

static json_t *
handler(void *arg, const struct ctlsock_req *req, struct ctlsrv_rows *rows)
{
	struct cursor *w;

	(void)arg;
	if (req->cmd != CTLSOCK_FLOWS)
		return ctlsock_ok(json_pack("{s:s}", "daemon", "bench"));
	/* The request's limit stops at 100,000 (wanpairctl reads the reply
	 * whole); the bench streams what it was told to. */
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->limit = rows_wanted;
	*rows = (struct ctlsrv_rows){"flows", flows_next, flows_tail, free, w};
	return ctlsock_ok(
	    json_pack("{s:I}", "total", (json_int_t)flow_table_count(table)));
}

/* The reply as the control socket built it before: one turn. */
static double
whole(size_t limit, size_t *bytes)
{
	struct ctlsrv_flowsrc src = {
	    table, names, 2, NULL, 0, NULL, NULL, 0, NULL, 0};
	struct ctlsrv_flowpos fp = {0, 0};
	json_t               *rows, *reply;
	char                 *s;
	double                t0 = now_s();

	rows = json_array();
	/* every flow visited (the old code counted the total so), `limit`
	 * of them made rows */
	(void)ctlsrv_flows_step(
	    rows, SIZE_MAX / 32, limit, &src, -1, &fp, now_ms());
	reply = ctlsock_ok(json_pack("{s:I,s:I,s:o}", "total",
	    (json_int_t)flow_table_count(table), "shown",
	    (json_int_t)json_array_size(rows), "flows", rows));
	s = ctlsock_reply_encode(reply);
	*bytes = s != NULL ? strlen(s) : 0;
	free(s);
	json_decref(reply);
	return now_s() - t0;
}

static int
connect_to(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int                fd;

	memcpy(sun.sun_path, sockpath, strlen(sockpath));
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		_exit(3);
	return fd;
}

/* The child: reads the flows flat out, asks status meanwhile. */
static void
client(int out)
{
	const char *fl = "{\"command\":\"flows\"}\n";
	const char *st = "{\"command\":\"status\"}\n";
	char        buf[1 << 16], res[256];
	size_t      bytes = 0, pings = 0;
	double      t0 = now_s(), sent = 0, worst = 0, end;
	ssize_t     n;
	int         big, stat = -1;

	big = connect_to();
	if (write(big, fl, strlen(fl)) < 0)
		_exit(3);
	for (;;) {
		struct pollfd p[2] = {{big, POLLIN, 0}, {stat, POLLIN, 0}};

		if (stat == -1) {
			stat = connect_to();
			if (write(stat, st, strlen(st)) < 0)
				_exit(3);
			sent = now_s();
			p[1].fd = stat;
		}
		if (poll(p, 2, 1000) < 0 && errno != EINTR)
			_exit(3);
		if (p[0].revents) {
			if ((n = read(big, buf, sizeof(buf))) <= 0)
				break;
			bytes += (size_t)n;
		}
		if (p[1].revents) {
			/* the reply is small: one read has it, then EOF */
			while ((n = read(stat, buf, sizeof(buf))) > 0)
				;
			if (now_s() - sent > worst)
				worst = now_s() - sent;
			pings++;
			close(stat);
			stat = -1;
		}
	}
	end = now_s();
	n = snprintf(res, sizeof(res), "%zu %.6f %zu %.6f\n", bytes, end - t0,
	    pings, worst);
	if (write(out, res, (size_t)n) < 0)
		_exit(3);
	_exit(0);
}

struct run {
	size_t   rows, bytes, pings;
	double   total_s, status_worst_s, whole_turn_s;
	size_t   whole_bytes;
	uint64_t turn_max_us, out_peak;
};

static void
done(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

static void
measure(struct run *r)
{
	struct event_base *base;
	struct ctlsrv     *srv;
	struct event      *ev;
	char               err[256], res[256];
	int                p[2], status;
	pid_t              pid;
	ssize_t            n;

	rows_wanted = r->rows;
	if ((base = event_base_new()) == NULL ||
	    (srv = ctlsrv_open(
		 base, sockpath, handler, NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench/ctl-flows: %s\n", err);
		exit(1);
	}
	if (pipe(p) == -1 || (pid = fork()) == -1) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		close(p[0]);
		client(p[1]);
	}
	close(p[1]);
	ev = event_new(base, p[0], EV_READ, done, base);
	event_add(ev, NULL);
	event_base_dispatch(base);
	n = read(p[0], res, sizeof(res) - 1);
	res[n > 0 ? n : 0] = '\0';
	waitpid(pid, &status, 0);
	if (sscanf(res, "%zu %lf %zu %lf", &r->bytes, &r->total_s, &r->pings,
		&r->status_worst_s) != 4) {
		fprintf(stderr, "bench/ctl-flows: the client failed\n");
		exit(1);
	}
	r->turn_max_us = ctlsrv_turn_max_us(srv);
	r->out_peak = ctlsrv_out_peak(srv);
	event_free(ev);
	close(p[0]);
	ctlsrv_close(srv);
	event_base_free(base);
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
	    {"flows", required_argument, NULL, 'f'},
	    {"json", required_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
	struct run  runs[3];
	const char *json = NULL;
	json_t     *out, *arr;
	uint32_t    nflows = 1000000;
	double      t0;
	size_t      i;
	int         ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			nflows = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'j':
			json = optarg;
			break;
		default:
			fprintf(stderr,
			    "usage: bench/ctl-flows [--flows N] "
			    "[--json FILE]\n");
			return 2;
		}
	}
	if (nflows < 1000) {
		fprintf(stderr, "bench/ctl-flows: --flows: at least 1000\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	snprintf(sockpath, sizeof(sockpath), "/tmp/ctl-flows.%d.sock",
	    (int)getpid());
	t0 = now_s();
	fill(nflows);
	fprintf(stderr, "bench/ctl-flows: %u flows in %.1f s\n", nflows,
	    now_s() - t0);
	memset(runs, 0, sizeof(runs));
	runs[0].rows = CTLSOCK_FLOWS_DEF;
	runs[1].rows = CTLSOCK_FLOWS_MAX;
	runs[2].rows = nflows;
	printf("flows on a table of %u: the control socket's event loop\n",
	    nflows);
	printf("%9s | %10s %9s %12s %10s %12s | %10s %7s\n", "rows", "reply MB",
	    "total s", "longest turn", "out peak", "status wait", "whole turn",
	    "ratio");
	out = json_pack("{s:I,s:[]}", "flows", (json_int_t)nflows, "runs");
	arr = json_object_get(out, "runs");
	/* Streamed first: the whole replies' frees leave glibc's heap with
	 * a consolidation to do that the next allocation would pay for. */
	for (i = 0; i < 3; i++)
		measure(&runs[i]);
	for (i = 0; i < 3; i++)
		runs[i].whole_turn_s =
		    whole(runs[i].rows, &runs[i].whole_bytes);
	for (i = 0; i < 3; i++) {
		struct run *r = &runs[i];

		printf(
		    "%9zu | %10.1f %9.2f %9.2f ms %7zu KiB %9.2f ms | %7.1f ms "
		    "%6.0fx\n",
		    r->rows, r->bytes / 1e6, r->total_s, r->turn_max_us / 1e3,
		    (size_t)(r->out_peak / 1024), r->status_worst_s * 1e3,
		    r->whole_turn_s * 1e3,
		    r->whole_turn_s * 1e6 / (double)(r->turn_max_us + 1));
		json_array_append_new(arr,
		    json_pack("{s:I,s:I,s:f,s:I,s:I,s:I,s:f,s:f,s:I}", "rows",
			(json_int_t)r->rows, "reply_bytes",
			(json_int_t)r->bytes, "total_s", r->total_s,
			"turn_max_us", (json_int_t)r->turn_max_us,
			"out_peak_bytes", (json_int_t)r->out_peak,
			"status_pings", (json_int_t)r->pings, "status_worst_ms",
			r->status_worst_s * 1e3, "whole_turn_ms",
			r->whole_turn_s * 1e3, "whole_reply_bytes",
			(json_int_t)r->whole_bytes));
	}
	printf("longest turn: the most the control socket held the loop at "
	       "once, streamed;\nwhole turn: the one turn the same reply took "
	       "built whole; ratio: whole / longest\n");
	if (json != NULL && json_dump_file(out, json, JSON_INDENT(1)) == -1) {
		fprintf(stderr, "bench/ctl-flows: cannot write %s\n", json);
		return 1;
	}
	json_decref(out);
	flow_table_free(table);
	return 0;
}
