/*
 * wanpairctl top: a live view of a daemon's links and busiest flows, as
 * top(1) and iftop(8) show theirs.  Each refresh asks the daemon for
 * status, links and flows (daemonctl_ask()); topframe.c turns the last
 * two samples into the screen.
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
#include "topframe.h"

#define FLOWS_DEF 10
#define FLOWS_MAX 1000
/* Flows asked for per refresh: a reply of ~3 MB at most, read every
 * interval, so the view costs the daemon little even on a big PoP. */
#define FLOWS_SAMPLE 10000
#define INTERVAL_MIN 0.1
#define INTERVAL_MAX 3600.0

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

/* Status, links and flows, now.  0, or -1 with the reason in err. */
static int
sample_take(const char *path, struct top_sample *s, char *err, size_t errlen)
{
	struct ctlsock_req req;
	json_t            *status = NULL, *links = NULL, *flows = NULL;
	double             t = mono();

	memset(s, 0, sizeof(*s));
	memset(&req, 0, sizeof(req));
	req.cmd = CTLSOCK_STATUS;
	if ((status = daemonctl_ask(path, &req, err, errlen)) == NULL)
		goto fail;
	req.cmd = CTLSOCK_LINKS;
	if ((links = daemonctl_ask(path, &req, err, errlen)) == NULL)
		goto fail;
	req.cmd = CTLSOCK_FLOWS;
	req.limit = FLOWS_SAMPLE;
	if ((flows = daemonctl_ask(path, &req, err, errlen)) == NULL)
		goto fail;
	if (top_sample_set(s, status, links, flows, t) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
fail:
	json_decref(status);
	json_decref(links);
	return -1;
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
	struct top_sample prev, cur;
	struct sigaction  sa;
	sigset_t          block, unblocked;
	const char       *path;
	double            interval = 1, next;
	char              err[8192], *end, *buf;
	size_t            len;
	unsigned long     n;
	long              nflows = FLOWS_DEF;
	int               ch, live, rc = 1;

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
			if ((buf = top_frame(&prev, &cur, interval,
				 (size_t)nflows, live, &len)) == NULL) {
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
			top_sample_free(&prev);
			prev = cur;
			if (sample_take(path, &cur, err, sizeof(err)) == -1) {
				memset(&cur, 0, sizeof(cur));
				goto fail;
			}
			next = cur.t + interval;
		}
		if (!live && prev.links != NULL) {
			if ((buf = top_frame(&prev, &cur, interval,
				 (size_t)nflows, live, &len)) == NULL) {
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
	top_sample_free(&prev);
	top_sample_free(&cur);
	if (quit_signal) {
		/* Die of it, as the shell expects of an interrupted program,
		 * now that the terminal is as it was. */
		signal(quit_signal, SIG_DFL);
		sigprocmask(SIG_SETMASK, &unblocked, NULL);
		raise(quit_signal);
	}
	return rc;
}
