#include "autoconf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "notify.h"

/* How often the status line is looked at, at most. */
#define NOTIFY_STATUS_USEC 1000000ULL

static struct event    *notify_ev;
static notify_status_fn notify_fn;
static void            *notify_arg;
static uint64_t         notify_wd_usec; /* WatchdogSec=, 0 if unset */
static char             notify_last[256];

int
notify_expected(void)
{
	const char *s = getenv("NOTIFY_SOCKET");

	return s != NULL && s[0] != '\0';
}

#ifdef HAVE_LIBSYSTEMD
static void
send_status(void)
{
	char line[sizeof(notify_last)];

	if (notify_fn == NULL)
		return;
	line[0] = '\0';
	notify_fn(notify_arg, line, sizeof(line));
	line[sizeof(line) - 1] = '\0';
	if (strcmp(line, notify_last) == 0)
		return;
	memcpy(notify_last, line, sizeof(notify_last));
	(void)sd_notifyf(0, "STATUS=%s", line);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (notify_wd_usec != 0)
		(void)sd_notify(0, "WATCHDOG=1");
	send_status();
}
#endif

int
notify_start(struct event_base *base, notify_status_fn fn, void *arg)
{
#ifdef HAVE_LIBSYSTEMD
	struct timeval tv;
	uint64_t       usec = 0, period = NOTIFY_STATUS_USEC;

	if (!notify_expected())
		return 0;
	notify_fn = fn;
	notify_arg = arg;
	notify_last[0] = '\0';
	/* > 0 only if WATCHDOG_USEC is set and WATCHDOG_PID, when present,
	 * is our PID: a daemon() child would never see it enabled. */
	if (sd_watchdog_enabled(0, &usec) > 0 && usec != 0) {
		notify_wd_usec = usec;
		/* Half the timeout, as sd_watchdog_enabled(3) advises, so
		 * one late tick does not kill a healthy daemon. */
		if (usec / 2 < period)
			period = usec / 2;
	}
	if (period == 0)
		period = 1;
	tv.tv_sec = (time_t)(period / 1000000);
	tv.tv_usec = (suseconds_t)(period % 1000000);
	notify_ev = event_new(base, -1, EV_PERSIST, on_timer, NULL);
	if (notify_ev == NULL || event_add(notify_ev, &tv) == -1)
		return -1;
	(void)sd_notify(0, "READY=1");
	send_status();
#else
	(void)base;
	(void)fn;
	(void)arg;
#endif
	return 0;
}

void
notify_stop(void)
{
	if (notify_ev != NULL)
		event_free(notify_ev);
	notify_ev = NULL;
	notify_fn = NULL;
}

void
notify_status(const char *fmt, ...)
{
#ifdef HAVE_LIBSYSTEMD
	va_list ap;

	if (!notify_expected())
		return;
	va_start(ap, fmt);
	vsnprintf(notify_last, sizeof(notify_last), fmt, ap);
	va_end(ap);
	(void)sd_notifyf(0, "STATUS=%s", notify_last);
#else
	(void)fmt;
#endif
}

void
notify_reloading(void)
{
#ifdef HAVE_LIBSYSTEMD
	struct timespec ts;

	if (!notify_expected())
		return;
	/* systemd 253 and later want the time of the request with it
	 * (sd_notify(3), MONOTONIC_USEC=); older ones ignore the field. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	(void)sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
		(unsigned long long)ts.tv_nsec / 1000);
#endif
}

void
notify_ready(void)
{
#ifdef HAVE_LIBSYSTEMD
	if (notify_expected())
		(void)sd_notify(0, "READY=1");
#endif
}

void
notify_stopping(void)
{
#ifdef HAVE_LIBSYSTEMD
	if (notify_expected())
		(void)sd_notify(0, "STOPPING=1");
#endif
}
