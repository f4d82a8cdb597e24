/*
 * bench/sitegen: the ramp's stages and traffic phases, each a JSON
 * object for the output, and what they read of popd (/proc, its
 * control socket) and of the machine.
 */
#include "autoconf.h"

#include "sitegen.h"

/* ------------------------------------------------------------ popd */

/* popd's RSS in KiB (VmRSS), or -1. */
long
popd_rss_kib(void)
{
	char  path[64], line[256];
	FILE *f;
	long  v = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)g.popd_pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* /proc/POPD_PID/<file> into buf (a string): 0, or -1. */
static int
popd_proc(const char *file, char *buf, size_t len)
{
	char   path[64];
	FILE  *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)g.popd_pid, file);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return 0;
}

/* popd's utime + stime in clock ticks, or -1 once it is gone (a zombie
 * counts as gone). */
long long
popd_ticks(void)
{
	char               buf[1024], *p, st;
	unsigned long long ut, stt;

	/* The command name may hold spaces and parentheses. */
	if (popd_proc("stat", buf, sizeof(buf)) == -1 ||
	    (p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2,
		"%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &st,
		&ut, &stt) != 3 ||
	    st == 'Z')
		return -1;
	return (long long)(ut + stt);
}

/* How long popd has waited for a CPU while runnable, in ns
 * (/proc/PID/schedstat, second field), or -1: a stall on a busy machine
 * may be the scheduler's, not popd's loop. */
static long long
popd_run_delay_ns(void)
{
	char               buf[128];
	unsigned long long run, wait;

	if (popd_proc("schedstat", buf, sizeof(buf)) == -1 ||
	    sscanf(buf, "%llu %llu", &run, &wait) != 2)
		return -1;
	return (long long)wait;
}

static double
self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Busy clock ticks of all CPUs together (/proc/stat: all but idle and
 * iowait), or -1: what else ran beside popd and sitegen shows in it. */
static long long
machine_busy_ticks(void)
{
	unsigned long long v[8] = {0};
	FILE              *f;
	int                n;

	if ((f = fopen("/proc/stat", "r")) == NULL)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8)
		return -1;
	return (long long)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
}

/* One request to popd's control socket: the result object, or NULL. */
static json_t *
popd_query(enum ctlsock_cmd cmd)
{
	struct ctlsock_req req = {.cmd = cmd};
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char              *line, *buf = NULL, err[CTLSOCK_ERRLEN];
	size_t             len = 0, cap = 0;
	json_t            *res = NULL;
	struct pollfd      pfd;
	ssize_t            n;
	int                fd;

	if (g.ctl_path == NULL)
		return NULL;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", g.ctl_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return NULL;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    (line = ctlsock_req_encode(&req)) == NULL) {
		close(fd);
		return NULL;
	}
	n = write(fd, line, strlen(line));
	free(line);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (n > 0 && len < CTLSOCK_MAX_REPLY && poll(&pfd, 1, 10000) == 1) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 1 << 20;
			if ((buf = realloc(buf, cap)) == NULL)
				break;
		}
		if ((n = read(fd, buf + len, cap - len)) <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (buf != NULL &&
	    ctlsock_reply_parse(buf, len, &res, err, sizeof(err)) != 0) {
		note("popd's control socket: %s", err);
		res = NULL;
	}
	free(buf);
	return res;
}

static long long
json_int(json_t *o, const char *k)
{
	json_t *v = o != NULL ? json_object_get(o, k) : NULL;

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* ------------------------------------------------------------ phases */

static int
stage_done(void)
{
	return g.nfailed > 0 || (g.nup >= target && g.nconnecting == 0);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double
ticks_s(long long t)
{
	return (double)t / (double)g.clk;
}

long rss0;

/* Popd's state as its control socket says: sessions, connected, flows. */
static void
add_status(json_t *o)
{
	json_t *st = popd_query(CTLSOCK_STATUS);

	json_object_set_new(
	    o, "popd_sessions", json_integer(json_int(st, "sessions")));
	json_object_set_new(
	    o, "popd_connected", json_integer(json_int(st, "connected")));
	json_object_set_new(
	    o, "popd_flows", json_integer(json_int(st, "flows")));
	json_decref(st);
}

/* One stage of the ramp: sites up to n, then idle.  0, or -1. */
int
stage(unsigned n, json_t *out)
{
	json_t   *o = json_object(), *sj;
	uint64_t  t0, t1, *hs, replies0 = 0, replies1 = 0;
	long long c0, c1, c2, w0, w1;
	unsigned  first = g.next_connect, i, m;
	long      rss;
	double    secs, idle, gap = -1;

	target = n;
	note("stage %u sites: connecting %u more, %u at a time", n, n - first,
	    g.concurrency);
	stream_pause(0);
	run_for(50, NULL); /* the stream flowing again before the first */
	json_decref(stream_take(NULL));
	c0 = popd_ticks();
	w0 = popd_run_delay_ns();
	t0 = now_us();
	connect_more();
	run_for(UINT64_C(3600) * 1000, stage_done);
	t1 = now_us();
	c1 = popd_ticks();
	w1 = popd_run_delay_ns();
	/* The stream while this stage's sites connected. */
	if ((sj = stream_take(&gap)) != NULL)
		json_object_set_new(o, "stream", sj);
	json_array_append_new(out, o);
	json_object_set_new(o, "sites", json_integer(n));
	json_object_set_new(o, "connected", json_integer(g.nup));
	if (g.popd_gone || g.nfailed > 0 || g.nup < n) {
		for (i = 0; i < g.nsites && g.sites[i].state != S_FAILED; i++)
			;
		snprintf(g.error, sizeof(g.error),
		    "stage %u: %u of %u sites connected; %s%s%s", n, g.nup, n,
		    g.popd_gone ? "popd exited" : "",
		    i < g.nsites ? (g.popd_gone ? "; " : "") : "",
		    i < g.nsites ? g.sites[i].why : "");
		if (i < g.nsites)
			json_object_set_new(o, "first_failure",
			    json_pack("{s:s,s:s}", "site", g.sites[i].name,
				"reason", g.sites[i].why));
		json_object_set_new(o, "failed", json_integer(g.nfailed));
		rss = popd_rss_kib();
		json_object_set_new(o, "rss_kib", json_integer(rss));
		add_status(o);
		return -1;
	}
	secs = (double)(t1 - t0) / 1e6;
	m = n - first;
	hs = calloc(m ? m : 1, sizeof(*hs));
	for (i = 0; i < m; i++)
		hs[i] = g.sites[first + i].hs_us;
	qsort(hs, m, sizeof(*hs), cmp_u64);
	json_object_set_new(o, "new_sites", json_integer(m));
	json_object_set_new(o, "handshake_s", json_real(secs));
	json_object_set_new(
	    o, "handshakes_per_s", json_real(secs > 0 ? m / secs : 0));
	json_object_set_new(o, "handshake_ms",
	    json_pack("{s:f,s:f,s:f}", "median", hs[m / 2] / 1e3, "p99",
		hs[(size_t)m * 99 / 100] / 1e3, "max", hs[m - 1] / 1e3));
	free(hs);
	json_object_set_new(o, "popd_cpu_ms_per_handshake",
	    json_real(m ? ticks_s(c1 - c0) * 1e3 / m : 0));
	/* popd's share of the stage spent runnable but waiting for a CPU */
	json_object_set_new(o, "popd_run_wait_pct",
	    json_real(w0 >= 0 && w1 >= 0 && secs > 0
		    ? (double)(w1 - w0) / 1e9 / secs * 100
		    : -1));

	/* The stream around the stage's last site's connect (from its
	 * TCP connect to a little after its WELCOME). */
	run_for(100, NULL);
	if (m > 0 &&
	    (sj = stream_around(g.sites[n - 1].rt_start_us,
		 g.sites[n - 1].rt_up_us + 20000)) != NULL) {
		json_object_set_new(
		    sj, "site", json_string(g.sites[n - 1].name));
		json_object_set_new(o, "stream_last_connect", sj);
	}
	stream_pause(1);
	if (gap >= 0)
		note(
		    "stage %u sites: the stream's longest gap %.2f ms", n, gap);

	/* Idle: keepalives and probes only, all n sites connected. */
	run_for(g.settle_ms, NULL);
	for (i = 0; i < n; i++)
		replies0 += g.sites[i].probe_replies;
	c1 = popd_ticks();
	t0 = now_us();
	run_for((uint64_t)g.idle_s * 1000, NULL);
	c2 = popd_ticks();
	t1 = now_us();
	for (i = 0; i < n; i++)
		replies1 += g.sites[i].probe_replies;
	rss = popd_rss_kib();
	idle = (double)(t1 - t0) / 1e6;
	if (g.popd_gone || c2 < 0) {
		snprintf(g.error, sizeof(g.error),
		    "stage %u: popd exited while idle", n);
		return -1;
	}
	json_object_set_new(o, "rss_kib", json_integer(rss));
	json_object_set_new(
	    o, "rss_kib_per_site", json_real((double)(rss - rss0) / n));
	json_object_set_new(o, "idle_s", json_real(idle));
	json_object_set_new(
	    o, "idle_cpu_pct", json_real(ticks_s(c2 - c1) / idle * 100));
	json_object_set_new(o, "idle_cpu_us_per_s_per_site",
	    json_real(ticks_s(c2 - c1) / idle / n * 1e6));
	/* Every site's probes answered while idle: its session works. */
	json_object_set_new(o, "probe_replies_per_s",
	    json_real((double)(replies1 - replies0) / idle));
	add_status(o);
	note("stage %u sites: %.0f handshakes/s, popd RSS %ld KiB, idle CPU "
	     "%.1f%%",
	    n, secs > 0 ? m / secs : 0, rss, ticks_s(c2 - c1) / idle * 100);
	return g.nfailed > 0 ? -1 : 0;
}

void
traffic_reset(void)
{
	memset(&g.t, 0, sizeof(g.t));
	g.t.up_last_ms = g.t.down_last_ms = now_ms();
}

/* Traffic for traffic_s seconds: up, down or both.  Figures counted in
 * the window only. */
json_t *
traffic(int up, int down)
{
	json_t   *o = json_object();
	uint64_t  t0, t1, sunk0, ok0, sunk1, ok1, sent0, dsent0;
	uint64_t  ul0, dl0, us0, ds0;
	long long c0, c1, m0, m1;
	double    secs, self0, self1, others;

	traffic_reset();
	g.t.up_on = up;
	g.t.down_on = down;
	kick_pumps();
	/* A second to fill the pipes, then the window. */
	run_for(1000, NULL);
	sunk0 = g.t.up_sunk;
	ok0 = g.t.down_ok;
	sent0 = g.t.up_sent;
	dsent0 = g.t.down_sent;
	ul0 = g.t.up_lost;
	dl0 = g.t.down_lost;
	us0 = g.t.up_stalls;
	ds0 = g.t.down_stalls;
	c0 = popd_ticks();
	m0 = machine_busy_ticks();
	self0 = self_cpu_s();
	t0 = now_us();
	run_for((uint64_t)g.traffic_s * 1000, NULL);
	t1 = now_us();
	c1 = popd_ticks();
	m1 = machine_busy_ticks();
	self1 = self_cpu_s();
	sunk1 = g.t.up_sunk;
	ok1 = g.t.down_ok;
	secs = (double)(t1 - t0) / 1e6;
	g.t.up_on = g.t.down_on = 0;
	run_for(500, NULL);
	/* Lost: given up for lost after STALL_MS without progress (a full
	 * queue dropped them), which also stalls the window that long. */
	if (up)
		json_object_set_new(o, "up",
		    json_pack("{s:I,s:I,s:f,s:I,s:I}", "sent",
			(json_int_t)(g.t.up_sent - sent0), "delivered",
			(json_int_t)(sunk1 - sunk0), "pps",
			(double)(sunk1 - sunk0) / secs, "lost",
			(json_int_t)(g.t.up_lost - ul0), "stalls",
			(json_int_t)(g.t.up_stalls - us0)));
	if (down)
		json_object_set_new(o, "down",
		    json_pack("{s:I,s:I,s:f,s:I,s:I}", "injected",
			(json_int_t)(g.t.down_sent - dsent0), "opened",
			(json_int_t)(ok1 - ok0), "pps",
			(double)(ok1 - ok0) / secs, "lost",
			(json_int_t)(g.t.down_lost - dl0), "stalls",
			(json_int_t)(g.t.down_stalls - ds0)));
	json_object_set_new(
	    o, "pps", json_real((double)(sunk1 - sunk0 + ok1 - ok0) / secs));
	json_object_set_new(
	    o, "misrouted", json_integer((json_int_t)g.t.down_bad));
	json_object_set_new(o, "seconds", json_real(secs));
	json_object_set_new(o, "popd_cpu_pct",
	    json_real(c0 >= 0 && c1 >= 0 ? ticks_s(c1 - c0) / secs * 100 : -1));
	json_object_set_new(
	    o, "sitegen_cpu_pct", json_real((self1 - self0) / secs * 100));
	/* The machine's busy time less popd's and sitegen's: other work on
	 * a shared machine, and the kernel's softirq time that no process
	 * was charged with. */
	others = ticks_s(m1 - m0 - (c1 - c0)) - (self1 - self0);
	json_object_set_new(o, "others_cpu_pct",
	    json_real(m0 >= 0 && m1 >= 0 && c0 >= 0 && c1 >= 0
		    ? others / secs * 100
		    : -1));
	note("traffic%s%s: %.0f packets/s through popd, popd CPU %.0f%%",
	    up ? " up" : "", down ? " down" : "",
	    (double)(sunk1 - sunk0 + ok1 - ok0) / secs,
	    c0 >= 0 && c1 >= 0 ? ticks_s(c1 - c0) / secs * 100 : -1.0);
	return o;
}

static int
flows_done(void)
{
	return !g.t.down_on &&
	    g.t.down_sent == g.t.down_ok + g.t.down_bad + g.t.down_lost;
}

/* g.flows distinct 5-tuples into popd's TUN, spread over the sites:
 * each a flow of popd's; its RSS before and after. */
json_t *
flows_phase(void)
{
	json_t  *o = json_object(), *st;
	long     rss_a, rss_b;
	uint64_t t0, t1;

	note("flows: %u distinct 5-tuples over %u sites", g.flows, g.nup);
	st = popd_query(CTLSOCK_STATUS);
	json_object_set_new(
	    o, "popd_flows_before", json_integer(json_int(st, "flows")));
	json_decref(st);
	rss_a = popd_rss_kib();
	traffic_reset();
	g.t.flows_mode = 1;
	g.t.flows_total = g.flows;
	g.t.down_on = 1;
	t0 = now_us();
	kick_pumps();
	run_for(UINT64_C(600) * 1000, flows_done);
	t1 = now_us();
	run_for(g.settle_ms, NULL);
	rss_b = popd_rss_kib();
	json_object_set_new(o, "flows", json_integer(g.flows));
	json_object_set_new(
	    o, "injected", json_integer((json_int_t)g.t.down_sent));
	json_object_set_new(
	    o, "returned", json_integer((json_int_t)g.t.down_ok));
	json_object_set_new(o, "seconds", json_real((double)(t1 - t0) / 1e6));
	json_object_set_new(o, "rss_before_kib", json_integer(rss_a));
	json_object_set_new(o, "rss_kib", json_integer(rss_b));
	st = popd_query(CTLSOCK_STATUS);
	json_object_set_new(
	    o, "popd_flows", json_integer(json_int(st, "flows")));
	json_decref(st);
	note("flows: %llu returned of %llu injected, popd holds %lld, RSS %ld "
	     "KiB",
	    (unsigned long long)g.t.down_ok, (unsigned long long)g.t.down_sent,
	    json_int(o, "popd_flows"), rss_b);
	g.t.flows_mode = 0;
	return o;
}
