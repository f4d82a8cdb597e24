/*
 * wanpairctl top: a live view of a daemon's links and busiest flows, as
 * top(1) and iftop(8) show theirs.  Each refresh asks the daemon for
 * status, links and flows (daemonctl_ask()) and shows what changed since
 * the last: rates are counter deltas over the time between two samples,
 * never the daemon's totals since its start.
 *
 * On a terminal: the alternate screen, the cursor hidden and the input
 * unbuffered, all put back on every way out (q, SIGINT, SIGTERM, SIGHUP,
 * a daemon that stops answering).  Otherwise: two samples one interval
 * apart, one frame, exit.
 */
#include "autoconf.h"

#include <sys/ioctl.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ctlsock.h"
#include "daemonctl.h"
#include "top.h"

#define FLOWS_DEF 10
#define FLOWS_MAX 1000
/* Flows asked for per refresh: a reply of ~3 MB at most, read every
 * interval, so the view costs the daemon little even on a big PoP. */
#define FLOWS_SAMPLE 10000
#define INTERVAL_MIN 0.1
#define INTERVAL_MAX 3600.0
#define KEY_MAX      192

struct flow_seen {
	char     key[KEY_MAX];
	uint64_t bytes, packets;
};

struct sample {
	json_t           *status, *links, *flows; /* result objects */
	struct flow_seen *seen;                   /* sorted by key */
	size_t            nseen;
	double            t; /* CLOCK_MONOTONIC, seconds */
};

struct busy {
	const json_t *row;
	uint64_t      bytes, packets; /* over the interval */
};

static volatile sig_atomic_t quit_signal, resized;

static void
on_quit(int sig)
{
	quit_signal = sig;
}

static void
on_winch(int sig)
{
	(void)sig;
	resized = 1;
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "-";
}

static uint64_t
cnt(const json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));

	return v > 0 ? (uint64_t)v : 0;
}

/* A counter's rise, 0 where it fell (a restarted daemon counts afresh). */
static uint64_t
rise(uint64_t now, uint64_t then)
{
	return now >= then ? now - then : 0;
}

static void
flow_key(const json_t *f, char key[KEY_MAX])
{
	snprintf(key, KEY_MAX,
	    "%s|%s|%s|%" JSON_INTEGER_FORMAT "|%s|%" JSON_INTEGER_FORMAT,
	    str(f, "site"), str(f, "proto"), str(f, "src"),
	    json_integer_value(json_object_get(f, "sport")), str(f, "dst"),
	    json_integer_value(json_object_get(f, "dport")));
}

static int
seen_cmp(const void *a, const void *b)
{
	return strcmp(((const struct flow_seen *)a)->key,
	    ((const struct flow_seen *)b)->key);
}

static void
sample_free(struct sample *s)
{
	json_decref(s->status);
	json_decref(s->links);
	json_decref(s->flows);
	free(s->seen);
	memset(s, 0, sizeof(*s));
}

/* 0, or -1 with the reason in err. */
static int
sample_take(const char *path, struct sample *s, char *err, size_t errlen)
{
	struct ctlsock_req req;
	const json_t      *rows, *f;
	size_t             i;

	memset(s, 0, sizeof(*s));
	memset(&req, 0, sizeof(req));
	req.cmd = CTLSOCK_STATUS;
	s->t = mono();
	if ((s->status = daemonctl_ask(path, &req, err, errlen)) == NULL)
		goto fail;
	req.cmd = CTLSOCK_LINKS;
	if ((s->links = daemonctl_ask(path, &req, err, errlen)) == NULL)
		goto fail;
	req.cmd = CTLSOCK_FLOWS;
	req.limit = FLOWS_SAMPLE;
	if ((s->flows = daemonctl_ask(path, &req, err, errlen)) == NULL)
		goto fail;
	rows = json_object_get(s->flows, "flows");
	if (json_array_size(rows) > 0 &&
	    (s->seen = calloc(json_array_size(rows), sizeof(*s->seen))) ==
		NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	json_array_foreach(rows, i, f)
	{
		flow_key(f, s->seen[i].key);
		s->seen[i].bytes = cnt(f, "bytes");
		s->seen[i].packets = cnt(f, "packets");
	}
	s->nseen = json_array_size(rows);
	qsort(s->seen, s->nseen, sizeof(*s->seen), seen_cmp);
	return 0;
fail:
	sample_free(s);
	return -1;
}

/* 950, 12.3k, 1.2M, 3.45G: a rate per second. */
static const char *
rate(double v, char buf[16])
{
	static const char units[] = "kMGTP";
	int               u = -1;

	if (v < 1000) {
		snprintf(buf, 16, "%.0f", v);
		return buf;
	}
	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(buf, 16, v < 10 ? "%.2f%c" : "%.1f%c", v, units[u]);
	return buf;
}

static const char *
pct(uint64_t part, uint64_t whole, char buf[16])
{
	if (whole == 0)
		snprintf(buf, 16, "-");
	else
		snprintf(buf, 16, "%.1f", 100.0 * (double)part / (double)whole);
	return buf;
}

/* l's row in a previous links result: at the same index when the links
 * are the same (the usual case, so a PoP's thousands cost no search),
 * else by site and name. */
static const json_t *
link_in(const json_t *links, const json_t *l, size_t at)
{
	const json_t *rows = json_object_get(links, "links"), *o;
	size_t        i;

	if ((o = json_array_get(rows, at)) != NULL &&
	    strcmp(str(o, "name"), str(l, "name")) == 0 &&
	    strcmp(str(o, "site"), str(l, "site")) == 0)
		return o;
	json_array_foreach(
	    rows, i, o) if (strcmp(str(o, "name"), str(l, "name")) == 0 &&
	    strcmp(str(o, "site"), str(l, "site")) == 0) return o;
	return NULL;
}

static void
print_header(FILE *fp, const json_t *st, double interval, int live)
{
	const json_t *c = json_object_get(st, "control");

	fprintf(fp, "%s %s", str(st, "daemon"), str(st, "version"));
	if (json_object_get(st, "site") != NULL) {
		fprintf(fp, ", site %s, control %s", str(st, "site"),
		    str(c, "state"));
		if (json_is_string(json_object_get(c, "link")))
			fprintf(fp, " over %s", str(c, "link"));
		fprintf(fp,
		    "\n%" PRIu64 " of %" PRIu64 " links up, %" PRIu64
		    " of %" PRIu64 " flows",
		    cnt(st, "links_up"), cnt(st, "links"), cnt(st, "flows"),
		    cnt(st, "flows_max"));
	} else
		fprintf(fp,
		    "\n%" PRIu64 " sites, %" PRIu64 " with a session, %" PRIu64
		    " connected, %" PRIu64 " flows",
		    cnt(st, "sites"), cnt(st, "sessions"), cnt(st, "connected"),
		    cnt(st, "flows"));
	fprintf(fp, "; every %gs%s\n", interval, live ? "; q quits" : "");
}

/*
 * The links table.  Shares are within a site (popd) or of the one site
 * (socketd): NEW% of the flows placed over the interval, TX% of the bytes
 * sent, against RATIO%, the weights of the links up (what the ratio
 * algorithm aims the new flows at).
 */
static void
print_links(
    FILE *fp, const struct sample *prev, const struct sample *cur, double dt)
{
	const json_t *rows = json_object_get(cur->links, "links"), *l, *o, *p;
	uint64_t      newf, txb, w, sum_new = 0, sum_tx = 0, sum_w = 0;
	char          a[16], b[16], c[16], d[16], e[16];
	size_t        i, j, run_end = 0;
	int           pop = json_object_get(cur->status, "site") == NULL;

	if (json_array_size(rows) == 0) {
		fprintf(fp, "no links (no site has said hello yet)\n");
		return;
	}
	if (pop)
		fprintf(fp, "%-16s ", "SITE");
	fprintf(fp, "%-8s %-5s %6s %6s %5s %8s %8s %6s %5s %5s %6s\n", "LINK",
	    "STATE", "RTT-MS", "JITTER", "LOSS", "TX-BIT/S", "RX-BIT/S",
	    "NEW/S", "NEW%", "TX%", "RATIO%");
	json_array_foreach(rows, i, l)
	{
		/* A site's links come together: the sums once per site. */
		if (i == run_end) {
			sum_new = sum_tx = sum_w = 0;
			for (j = i; (o = json_array_get(rows, j)) != NULL &&
			     strcmp(str(o, "site"), str(l, "site")) == 0;
			     j++) {
				if ((p = link_in(prev->links, o, j)) != NULL) {
					sum_new += rise(cnt(o, "new_flows"),
					    cnt(p, "new_flows"));
					sum_tx += rise(cnt(o, "tx_bytes"),
					    cnt(p, "tx_bytes"));
				}
				if (strcmp(str(o, "state"), "up") == 0)
					sum_w += cnt(o, "weight");
			}
			run_end = j;
		}
		w = strcmp(str(l, "state"), "up") == 0 ? cnt(l, "weight") : 0;
		if (pop)
			fprintf(fp, "%-16.16s ", str(l, "site"));
		fprintf(fp, "%-8s %-5s ", str(l, "name"), str(l, "state"));
		if (json_is_number(json_object_get(l, "rtt_ms")))
			fprintf(fp, "%6.2f %6.2f %4.1f%% ",
			    json_number_value(json_object_get(l, "rtt_ms")),
			    json_number_value(json_object_get(l, "jitter_ms")),
			    json_number_value(json_object_get(l, "loss")) *
				100);
		else
			fprintf(fp, "%6s %6s %5s ", "-", "-", "-");
		if ((p = link_in(prev->links, l, i)) != NULL && dt > 0) {
			newf = rise(cnt(l, "new_flows"), cnt(p, "new_flows"));
			txb = rise(cnt(l, "tx_bytes"), cnt(p, "tx_bytes"));
			fprintf(fp, "%8s %8s %6.1f %5s %5s ",
			    rate((double)txb * 8 / dt, a),
			    rate((double)rise(
				     cnt(l, "rx_bytes"), cnt(p, "rx_bytes")) *
				    8 / dt,
				b),
			    (double)newf / dt, pct(newf, sum_new, c),
			    pct(txb, sum_tx, d));
		} else
			fprintf(fp, "%8s %8s %6s %5s %5s ", "-", "-", "-", "-",
			    "-");
		fprintf(fp, "%6s\n", pct(w, sum_w, e));
	}
}

static size_t
max(size_t a, size_t b)
{
	return a > b ? a : b;
}

/* "10.1.0.10:5201", "[2001:db8::1]:443" */
static const char *
endpoint(const json_t *f, const char *addr, const char *port, char buf[72])
{
	snprintf(buf, 72,
	    strchr(str(f, addr), ':') != NULL ? "[%s]:%" JSON_INTEGER_FORMAT
					      : "%s:%" JSON_INTEGER_FORMAT,
	    str(f, addr), json_integer_value(json_object_get(f, port)));
	return buf;
}

static int
busy_cmp(const void *a, const void *b)
{
	const struct busy *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->packets != y->packets)
		return x->packets > y->packets ? -1 : 1;
	return 0;
}

/*
 * The flows that moved the most bytes between the two samples.  A flow
 * the previous sample did not list counts whole if it is younger than the
 * interval, and not at all otherwise: the sample is at most FLOWS_SAMPLE
 * flows, and an older flow outside it has an unknown past.
 */
static void
print_flows(FILE *fp, const struct sample *prev, const struct sample *cur,
    double dt, size_t nshow)
{
	const json_t    *rows = json_object_get(cur->flows, "flows"), *f;
	struct flow_seen k, *was;
	struct busy     *b;
	char             src[72], dst[72], x[16], y[16], age[24];
	size_t i, n = 0, ws = strlen("SOURCE"), wd = strlen("DESTINATION");
	int    pop = json_object_get(cur->status, "site") == NULL;

	if (nshow == 0)
		return;
	fprintf(fp, "\n");
	if (prev->flows == NULL || dt <= 0) {
		fprintf(fp, "busiest flows: after the next refresh\n");
		return;
	}
	if ((b = calloc(json_array_size(rows) + 1, sizeof(*b))) == NULL) {
		fprintf(fp, "busiest flows: out of memory\n");
		return;
	}
	json_array_foreach(rows, i, f)
	{
		flow_key(f, k.key);
		was = bsearch(&k, prev->seen, prev->nseen, sizeof(k), seen_cmp);
		b[n].row = f;
		if (was != NULL && cnt(f, "bytes") >= was->bytes) {
			b[n].bytes = cnt(f, "bytes") - was->bytes;
			b[n].packets = rise(cnt(f, "packets"), was->packets);
		} else if ((double)cnt(f, "age_s") <= ceil(dt)) {
			b[n].bytes = cnt(f, "bytes");
			b[n].packets = cnt(f, "packets");
		}
		if (b[n].bytes > 0 || b[n].packets > 0)
			n++;
	}
	qsort(b, n, sizeof(*b), busy_cmp);
	fprintf(fp,
	    "busiest flows over the last %.1fs: %zu of %zu active shown; "
	    "%zu of %" PRIu64 " flows sampled\n",
	    dt, n < nshow ? n : nshow, n, json_array_size(rows),
	    cnt(cur->flows, "total"));
	/* Columns as wide as the rows shown: IPv4 fits 80 columns. */
	for (i = 0; i < n && i < nshow; i++) {
		ws = max(ws, strlen(endpoint(b[i].row, "src", "sport", src)));
		wd = max(wd, strlen(endpoint(b[i].row, "dst", "dport", dst)));
	}
	if (pop)
		fprintf(fp, "%-16s ", "SITE");
	fprintf(fp, "%-5s %-*s %-*s %-8s %8s %7s %6s\n", "PROTO", (int)ws,
	    "SOURCE", (int)wd, "DESTINATION", "LINK", "BIT/S", "PKT/S", "AGE");
	for (i = 0; i < n && i < nshow; i++) {
		f = b[i].row;
		snprintf(age, sizeof(age), "%" PRIu64 "s", cnt(f, "age_s"));
		if (pop)
			fprintf(fp, "%-16.16s ", str(f, "site"));
		fprintf(fp, "%-5s %-*s %-*s %-8s %8s %7s %6s\n",
		    str(f, "proto"), (int)ws, endpoint(f, "src", "sport", src),
		    (int)wd, endpoint(f, "dst", "dport", dst), str(f, "link"),
		    rate((double)b[i].bytes * 8 / dt, x),
		    rate((double)b[i].packets / dt, y), age);
	}
	free(b);
}

/* One frame, as text: what a refresh shows and what a pipe gets. */
static char *
frame(const struct sample *prev, const struct sample *cur, double interval,
    size_t nflows, int live, size_t *lenp)
{
	double dt = prev->links != NULL ? cur->t - prev->t : 0;
	char  *buf = NULL;
	FILE  *fp;

	if ((fp = open_memstream(&buf, lenp)) == NULL)
		return NULL;
	print_header(fp, cur->status, interval, live);
	fprintf(fp, "\n");
	print_links(fp, prev, cur, dt);
	print_flows(fp, prev, cur, dt, nflows);
	if (fclose(fp) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ------------------------------------------------------------ terminal */

static struct termios saved_tio;
static int            tio_saved, screen_on;

static void
term_restore(void)
{
	if (screen_on) {
		/* Cursor shown, attributes reset, the normal screen back. */
		fputs("\033[?25h\033[0m\033[?1049l", stdout);
		fflush(stdout);
		screen_on = 0;
	}
	if (tio_saved) {
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
		tio_saved = 0;
	}
}

static void
term_enter(void)
{
	struct termios t;

	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
		t = saved_tio;
		/* Keys without Enter, not echoed; ^C still a SIGINT. */
		t.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0)
			tio_saved = 1;
	}
	fputs("\033[?1049h\033[?25l\033[H\033[2J", stdout);
	fflush(stdout);
	screen_on = 1;
}

/* The frame from the top left, each line cut to the width and cleared to
 * its end, as many as fit, the rest of the screen cleared. */
static void
term_draw(const char *buf, size_t len)
{
	struct winsize ws;
	const char    *p = buf, *end = buf + len, *nl;
	size_t         cols = 80, rows = 24, row = 0, n;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 &&
	    ws.ws_row > 0) {
		cols = ws.ws_col;
		rows = ws.ws_row;
	}
	fputs("\033[H", stdout);
	while (p < end && row < rows) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		fwrite(p, 1, n < cols ? n : cols, stdout);
		fputs("\033[K", stdout);
		if (++row < rows)
			fputs("\n", stdout);
		p = nl != NULL ? nl + 1 : end;
	}
	fputs("\033[J", stdout);
	fflush(stdout);
}

/*
 * Waits until `until` (monotonic seconds), a signal or a key.  1: time to
 * refresh; 0: quit (q or a signal).  Signals are blocked outside this
 * wait, so one that comes while the daemon is asked is seen here at once.
 */
static int
wait_key(double until, const sigset_t *unblocked)
{
	struct pollfd   pfd = {STDIN_FILENO, POLLIN, 0};
	struct timespec ts;
	double          left;
	char            keys[64];
	ssize_t         n, i;
	int             rc;

	for (;;) {
		if (quit_signal)
			return 0;
		left = until - mono();
		if (left <= 0 || resized)
			return 1;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		rc = ppoll(&pfd, tio_saved ? 1 : 0, &ts, unblocked);
		if (rc == -1 && errno != EINTR)
			return 0;
		if (rc > 0 && (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)))
			return 0;
		if (rc > 0 && (n = read(STDIN_FILENO, keys, sizeof(keys))) > 0)
			for (i = 0; i < n; i++)
				if (keys[i] == 'q' || keys[i] == 'Q')
					return 0;
	}
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: wanpairctl [-s socketd|popd|socket] top [-d seconds] "
	    "[-n flows]\n");
}

int
top_main(int argc, char *argv[], const char *sockopt)
{
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct sample    prev, cur;
	struct sigaction sa;
	sigset_t         block, unblocked;
	const char      *path;
	double           interval = 1, next;
	char             err[8192], *end, *buf;
	size_t           len;
	unsigned long    n;
	long             nflows = FLOWS_DEF;
	int              ch, live, rc = 1;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "d:n:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			errno = 0;
			interval = strtod(optarg, &end);
			if (optarg[0] == '\0' || *end != '\0' || errno != 0 ||
			    !isfinite(interval) || interval < INTERVAL_MIN ||
			    interval > INTERVAL_MAX) {
				fprintf(stderr,
				    "wanpairctl: -d \"%s\": must be a number "
				    "of seconds from %g to %g\n",
				    optarg, INTERVAL_MIN, INTERVAL_MAX);
				return 2;
			}
			break;
		case 'n':
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' ||
			    *end != '\0' || errno != 0 || n > FLOWS_MAX) {
				fprintf(stderr,
				    "wanpairctl: -n \"%s\": must be a number "
				    "from 0 to %d\n",
				    optarg, FLOWS_MAX);
				return 2;
			}
			nflows = (long)n;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if ((path = daemonctl_socket(sockopt, CTLSOCK_LINKS)) == NULL)
		return 1;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_quit;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_winch;
	sigaction(SIGWINCH, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGWINCH);
	sigprocmask(SIG_BLOCK, &block, &unblocked);

	memset(&prev, 0, sizeof(prev));
	/* The first sample before the screen changes: a daemon that is not
	 * there is one line on the terminal as it was. */
	if (sample_take(path, &cur, err, sizeof(err)) == -1) {
		fprintf(stderr, "wanpairctl: %s\n", err);
		goto out;
	}
	live = isatty(STDOUT_FILENO);
	if (live)
		term_enter();
	next = cur.t + interval;
	for (;;) {
		if (live) {
			if ((buf = frame(&prev, &cur, interval, (size_t)nflows,
				 live, &len)) == NULL) {
				snprintf(err, sizeof(err), "out of memory");
				goto fail;
			}
			term_draw(buf, len);
			free(buf);
		}
		if (!wait_key(next, &unblocked))
			break;
		resized = 0;
		if (mono() >= next) {
			sample_free(&prev);
			prev = cur;
			if (sample_take(path, &cur, err, sizeof(err)) == -1) {
				memset(&cur, 0, sizeof(cur));
				goto fail;
			}
			next = cur.t + interval;
		}
		if (!live && prev.links != NULL) {
			if ((buf = frame(&prev, &cur, interval, (size_t)nflows,
				 live, &len)) == NULL) {
				snprintf(err, sizeof(err), "out of memory");
				goto fail;
			}
			fwrite(buf, 1, len, stdout);
			free(buf);
			rc = fflush(stdout) == 0 ? 0 : 1;
			goto out;
		}
	}
	rc = 0;
	goto out;
fail:
	term_restore();
	fprintf(stderr, "wanpairctl: %s\n", err);
out:
	term_restore();
	sample_free(&prev);
	sample_free(&cur);
	if (quit_signal) {
		/* Die of it, as the shell expects of an interrupted program,
		 * now that the terminal is as it was. */
		signal(quit_signal, SIG_DFL);
		sigprocmask(SIG_SETMASK, &unblocked, NULL);
		raise(quit_signal);
	}
	return rc;
}
