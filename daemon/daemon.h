/*
 * One daemon skeleton for both wanpair daemons, as lldpd_main() is
 * lldpd's: daemon_main() parses the command line (-d -f -h -n -s -u -V -v),
 * loads the configuration, runs the daemon's start-up hook, opens the
 * control socket and the metrics endpoint, drops privileges, detaches,
 * tells the service manager (READY, STATUS, WATCHDOG, RELOADING,
 * STOPPING) and runs the event loop with the signals (HUP reload, TERM
 * and INT stop, USR1 counters).  What the daemon does is in its struct
 * daemon_ops: main.c is one call, and the daemon's logic is a library
 * that check suites link without the skeleton.
 *
 * A reload (SIGHUP, `wanpairctl reload`) is one sequence for both:
 * daemon_reload() reads the file again (config_load()), refuses the keys
 * bound at start (the site, the endpoint, tun.name, tun.mtu, flows.max)
 * and TLS files that do not load, then asks the daemon: reload_begin()
 * prepares everything that can fail (and may refuse, with
 * daemon_refuse()), reload_commit() applies it and cannot fail,
 * reload_abort() undoes a begin that refused.  Applied whole or refused
 * whole, the running configuration staying (OpenBSD's daemons do the
 * same).
 */
#ifndef WANPAIR_DAEMON_H
#define WANPAIR_DAEMON_H

#include <event2/event.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "ctlsrv.h"
#include "notify.h"
#include "reload.h"

struct daemon;

/* One reload under way, from daemon_reload() to commit or abort. */
struct daemon_reload {
	struct config        *old, *conf; /* running, and the one read */
	struct reload_where   where;      /* positions in conf->file */
	struct config_errors *errs;       /* refusals go here */
	SSL_CTX *ssl_ctx; /* conf's TLS files; commit takes it (NULL it) */
	void    *priv;    /* the daemon's, from begin to commit or abort */
};

struct daemon_ops {
	const char      *name;         /* "wanpair-socketd": usage, -V, logs */
	const char      *default_conf; /* -f */
	const char      *default_sock; /* -s */
	enum config_kind kind;         /* which configuration file it reads */
	int              tls_server;   /* tls_ctx_new()'s: 1 accepts */
	const char      *endpoint_key; /* "pop" or "listen", for refusals */
	/*
	 * Privileges: -u keeps keep_caps (privdrop()); then drop_cap, if
	 * not -1, goes whoever we run as (privdrop_cap_drop()).
	 */
	const int *keep_caps;
	size_t     nkeep_caps;
	int        drop_cap;

	/*
	 * The daemon's state over conf (not taken over: daemon_main()
	 * frees it) and base; NULL if it cannot (logged).  The daemon keeps
	 * d for daemon_*() calls.
	 */
	void *(*init)(
	    struct daemon *d, struct config *conf, struct event_base *base);
	/* Opens what needs root (TUN device, sockets): 0, or -1 logged. */
	int (*start)(void *);
	/*
	 * Optional: the process is what it will run as (detached, its
	 * privileges dropped), the loop about to run.  Threads start here,
	 * not in start: fork() keeps none, and capabilities are per
	 * thread.  0, or -1 logged (the daemon exits).
	 */
	int (*running)(void *);
	/* Closes and frees what init and start made, even half-started. */
	void (*stop)(void *);
	/* "for site branch-17": the end of "started ..." */
	void (*describe)(void *, char *buf, size_t len);
	notify_status_fn status; /* systemctl status's line */
	/* The daemon's counters object, without what daemon_counters()
	 * adds; NULL on allocation failure. */
	json_t *(*counters)(void *);
	/* Control socket requests other than `counters` and `reload`. */
	ctlsrv_handler answer;
	int (*reload_begin)(void *, struct daemon_reload *);
	void (*reload_commit)(void *, struct daemon_reload *);
	void (*reload_abort)(void *, struct daemon_reload *);
};

/*
 * The loop's two priorities.  Packets come first: an event a daemon puts
 * at DAEMON_PRIO_DATA (its datagram and TUN reads) runs before anything
 * at DAEMON_PRIO_CONTROL, every event's default (control channels,
 * timers, the control socket), and control callbacks yield to the loop
 * once they have run DAEMON_SLICE_US in a row.  Otherwise one pass of the
 * loop runs every ready control callback first: 64 TLS handshakes in
 * flight at a PoP held its packets for 70-110 ms (bench/sites' stream).
 */
#define DAEMON_PRIO_DATA    0
#define DAEMON_PRIO_CONTROL 1
#define DAEMON_SLICE_US     1000

/* An event loop as daemon_main() runs one (the priorities above); NULL if
 * libevent cannot make it. */
struct event_base *daemon_base_new(void);

/* The whole life of a daemon: its exit status. */
int daemon_main(int argc, char *argv[], const struct daemon_ops *);

/*
 * What daemon_main() runs on, for tests too: a daemon over conf (taken
 * over: freed with the daemon, or at once on failure) and base, made by
 * ops->init and not started (no socket opened).  NULL if init fails.
 * daemon_state() is what init returned; daemon_free() closes the control
 * socket and the metrics endpoint, runs ops->stop and frees.
 */
struct daemon *daemon_new(
    const struct daemon_ops *, struct config *conf, struct event_base *);
void *daemon_state(struct daemon *);
void  daemon_free(struct daemon *);

/*
 * Reads the configuration file again and applies it or refuses it (see
 * above): 0 applied, -1 refused.  Every line of errs is also logged at
 * warning; the caller frees them with config_errors_clear().
 */
int daemon_reload(struct daemon *, struct config_errors *errs);

/*
 * For reload_begin(): moves the metrics endpoint to r->conf's place (the
 * new address bound before the old one closes), or refuses.  0 / -1.
 */
int daemon_reload_metrics(struct daemon *, struct daemon_reload *r);

/* Appends one refusal at path (reload_refuse()); always -1. */
int daemon_refuse(struct daemon_reload *, const char *path, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/* `wanpairctl counters`: ops->counters() and the skeleton's own
 * (ctl_evicted, metrics_evicted, metrics_limited). */
json_t *daemon_counters(struct daemon *);
/* The TLS context of the running configuration's files, in the daemon's
 * role (ops->tls_server), for the daemon to keep; NULL if they do not
 * load (logged, quoting the file). */
SSL_CTX *daemon_tls_ctx(struct daemon *);

/* The daemon's name (ops->name) and start time. */
const char *daemon_name(const struct daemon *);
time_t      daemon_started(const struct daemon *);

#endif
