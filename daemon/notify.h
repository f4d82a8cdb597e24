/*
 * Service notification for systemd's Type=notify units (sd_notify(3)):
 * READY=1 once the daemon serves, STATUS= with a line for `systemctl
 * status`, WATCHDOG=1 from the event loop, RELOADING=1 around a reload.
 *
 * Every function is a no-op when the daemon was not started by a service
 * manager (no NOTIFY_SOCKET in the environment) or was built without
 * libsystemd.  Nothing here prints, exits or allocates per call; the
 * module keeps one timer, freed by notify_stop().
 */
#ifndef WANPAIR_NOTIFY_H
#define WANPAIR_NOTIFY_H

#include <stddef.h>

struct event_base;

/*
 * 1 if a service manager waits for our READY=1 (NOTIFY_SOCKET is set).
 * It tracks the PID it started, so the daemon must then not daemon():
 * a forked child's READY=1 would come from the wrong process.
 */
int notify_expected(void);

/*
 * Writes a one-line summary of the daemon's state into buf (always
 * NUL-terminated), e.g. "2/2 links up, control channel connected".
 */
typedef void (*notify_status_fn)(void *arg, char *buf, size_t len);

/*
 * Sends READY=1 and the first STATUS=, and starts a timer on `base` that
 * sends WATCHDOG=1 at half the unit's WatchdogSec= (when it is set) and
 * a new STATUS= whenever status_fn's line changes (checked every second).
 * Because the timer runs in the event loop, a loop that hangs stops the
 * pings and systemd restarts the daemon.  status_fn may be NULL.
 * Returns 0, or -1 if the timer cannot be created.
 */
int  notify_start(struct event_base *, notify_status_fn, void *arg);
void notify_stop(void);

/* STATUS= with a line of our own (a refused reload, say); the periodic
 * line replaces it when the state next changes. */
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Around a reload: RELOADING=1 before reading the file, READY=1 after,
 * whether the new configuration was applied or refused. */
void notify_reloading(void);
void notify_ready(void);

/* STOPPING=1, when a signal asks the daemon to stop. */
void notify_stopping(void);

#endif
