/*
 * One logger for every program (OpenBSD daemon style).
 *
 * log_init() chooses the sink: stderr when debug is set (-d, and the CLI),
 * syslog otherwise.  log_warn() appends strerror(errno), log_warnx() does
 * not.  fatal()/fatalx() log and exit(1); only main programs may call them,
 * never code in common/ or proto/.  Every function preserves errno.
 */
#ifndef WANPAIR_LOG_H
#define WANPAIR_LOG_H

#include <stdarg.h>
#include <stdint.h>

void log_init(const char *progname, int debug, int verbose);
void log_setverbose(int verbose);
int  log_getverbose(void);

void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * Rate limit for messages a remote peer can trigger: at most `burst`
 * messages per `interval_ms`; the rest are counted and summarised.
 * Returns 1 if the caller may log now.  `now_ms` comes from the caller so
 * tests can drive it.
 */
struct log_ratelimit {
	uint64_t window_start;
	uint32_t interval_ms;
	uint32_t burst;
	uint32_t used;
	uint64_t suppressed;
};

int log_ratelimit_ok(struct log_ratelimit *, uint64_t now_ms);

#endif
