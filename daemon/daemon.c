/*
 * The skeleton both daemons run in (daemon.h says what it does).
 * Ownership: struct daemon owns the running configuration, the control
 * socket and the metrics endpoint; the daemon's own state is what
 * ops->init returned, freed by ops->stop.  A reload's new configuration
 * becomes the running one only once ops->reload_commit has run.
 */
#include "autoconf.h"

#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "countlog.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "privdrop.h"
#include "tls.h"

struct daemon {
	const struct daemon_ops *ops;
	void                    *arg; /* what ops->init returned */
	struct config           *conf;
	struct event_base       *base;
	time_t                   started;
	struct ctlsrv           *ctlsrv;     /* the control socket */
	struct metrics          *metrics;    /* Prometheus endpoint, or NULL */
	struct config_metrics    metrics_at; /* where it listens */
};

static void
usage(FILE *fp, const char *name)
{
	fprintf(
	    fp, "usage: %s [-dhnVv] [-f file] [-s socket] [-u user]\n", name);
}

const char *
daemon_name(const struct daemon *d)
{
	return d->ops->name;
}

time_t
daemon_started(const struct daemon *d)
{
	return d->started;
}

int
daemon_refuse(struct daemon_reload *r, const char *path, const char *fmt, ...)
{
	char    msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)reload_refuse(&r->where, r->errs, path, "%s", msg);
	return -1;
}

/* The endpoint's snapshot callback. */
static json_t *
snapshot(void *arg)
{
	return daemon_counters(arg);
}

/* Starts the Prometheus endpoint where mc says (none if mc's family is 0),
 * or moves it there; logs and returns -1 if it cannot bind, the running
 * one staying. */
static int
metrics_start(struct daemon *d, const struct config_metrics *mc)
{
	char where[ADDR_STRLEN + 8], err[256];
	int  rc;

	rc = metrics_place(&d->metrics, &d->metrics_at, mc, d->base, snapshot,
	    d, where, sizeof(where), err, sizeof(err));
	if (rc == -1)
		log_warnx("metrics: %s", err);
	else if (rc == 1)
		log_info("metrics on http://%s/metrics", where);
	return rc == -1 ? -1 : 0;
}

int
daemon_reload_metrics(struct daemon *d, struct daemon_reload *r)
{
	if (metrics_start(d, &r->conf->metrics) == -1)
		return daemon_refuse(
		    r, "metrics.listen", "cannot listen there");
	return 0;
}

json_t *
daemon_counters(struct daemon *d)
{
	json_t *j;

	if ((j = d->ops->counters(d->arg)) == NULL)
		return NULL;
	/* Clients of the local endpoints closed to make room for newer
	 * ones (ctlsrv.c, metrics.c evict_one()). */
	if (json_object_set_new(j, "ctl_evicted",
		json_integer((json_int_t)ctlsrv_evicted(d->ctlsrv))) == -1 ||
	    /* Replies sent in chunks, the most one client's output held
	     * and the longest the socket held the loop (ctlsrv.c). */
	    json_object_set_new(j, "ctl_streams",
		json_integer((json_int_t)ctlsrv_streams(d->ctlsrv))) == -1 ||
	    json_object_set_new(j, "ctl_out_peak_bytes",
		json_integer((json_int_t)ctlsrv_out_peak(d->ctlsrv))) == -1 ||
	    json_object_set_new(j, "ctl_turn_max_us",
		json_integer((json_int_t)ctlsrv_turn_max_us(d->ctlsrv))) ==
		-1 ||
	    json_object_set_new(j, "metrics_evicted",
		json_integer((json_int_t)metrics_evicted(d->metrics))) == -1 ||
	    json_object_set_new(j, "metrics_limited",
		json_integer((json_int_t)metrics_limited(d->metrics))) == -1) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* Keys whose change needs a restart: one error line each, site first. */
static int
needs_restart(struct daemon *d, struct daemon_reload *r)
{
	int rc = 0;

	if (strcmp(r->old->site, r->conf->site) != 0)
		rc = daemon_refuse(r, "site", "changing it needs a restart");
	if (reload_fixed_keys(r->old, r->conf, d->ops->endpoint_key, &r->where,
		r->errs) == -1)
		rc = -1;
	return rc;
}

/* The TLS context of c's files, in this daemon's role; NULL with err. */
static SSL_CTX *
tls_ctx(const struct daemon *d, const struct config *c, char *err, size_t len)
{
	struct tls_files files = {c->tls.ca, c->tls.cert, c->tls.key};

	return tls_ctx_new(d->ops->tls_server, &files, err, len);
}

SSL_CTX *
daemon_tls_ctx(struct daemon *d)
{
	char     err[TLS_ERRLEN];
	SSL_CTX *ctx;

	if ((ctx = tls_ctx(d, d->conf, err, sizeof(err))) == NULL)
		log_warnx("%s", err);
	return ctx;
}

int
daemon_reload(struct daemon *d, struct config_errors *errs)
{
	struct daemon_reload r;
	char                 err[TLS_ERRLEN];
	size_t               i;

	memset(&r, 0, sizeof(r));
	r.old = d->conf;
	r.errs = errs;
	if ((r.conf = config_load(r.old->file, d->ops->kind, errs)) == NULL)
		goto refused;
	reload_where_init(&r.where, r.conf->file);
	if (needs_restart(d, &r) == -1)
		goto fail;
	/* Certificates: read again, so a renewed one needs no restart. */
	if ((r.ssl_ctx = tls_ctx(d, r.conf, err, sizeof(err))) == NULL) {
		(void)daemon_refuse(&r, "tls", "%s", err);
		goto fail;
	}
	if (d->ops->reload_begin(d->arg, &r) == -1) {
		d->ops->reload_abort(d->arg, &r);
		goto fail;
	}
	/* Nothing fails from here on. */
	d->ops->reload_commit(d->arg, &r);
	d->conf = r.conf;
	SSL_CTX_free(r.ssl_ctx); /* NULL: the daemon took it */
	reload_where_free(&r.where);
	config_free(r.old);
	return 0;
fail:
	SSL_CTX_free(r.ssl_ctx);
	reload_where_free(&r.where);
	config_free(r.conf);
refused:
	for (i = 0; i < errs->n; i++)
		log_warnx("%s", errs->lines[i]);
	log_warnx("reload of %s refused, the running configuration stays",
	    r.old->file);
	return -1;
}

/* Both ways of asking for a reload tell the service manager alike. */
static int
reload_notified(struct daemon *d, struct config_errors *errs)
{
	int rc;

	notify_reloading();
	rc = daemon_reload(d, errs); /* it logs either way */
	notify_ready();              /* applied or refused, it serves on */
	return rc;
}

static json_t *
answer(void *arg, const struct ctlsock_req *req, struct ctlsrv_rows *rows)
{
	struct daemon       *d = arg;
	struct config_errors errs = {0};
	int                  rc;

	log_debug("control socket: %s", ctlsock_cmd_name(req->cmd));
	switch (req->cmd) {
	case CTLSOCK_COUNTERS:
		return ctlsock_ok(daemon_counters(d));
	case CTLSOCK_RELOAD:
		rc = reload_notified(d, &errs);
		return ctlsrv_reload_answer(rc, &errs, d->conf->file);
	default:
		return d->ops->answer(d->arg, req, rows);
	}
}

/* SIGUSR1 and stop: what `wanpairctl counters` says, in the log. */
static void
log_counters(struct daemon *d)
{
	json_t *c;

	if ((c = daemon_counters(d)) != NULL)
		countlog_log(c);
	json_decref(c);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("%s, stopping", strsignal((int)sig));
		notify_stopping();
		log_counters(d);
		event_base_loopexit(d->base, NULL);
		break;
	case SIGHUP: {
		struct config_errors errs = {0};

		log_info("SIGHUP, reloading %s", d->conf->file);
		(void)reload_notified(d, &errs);
		config_errors_clear(&errs);
		break;
	}
	case SIGUSR1:
		log_counters(d);
		break;
	}
}

static void
status_line(void *arg, char *buf, size_t len)
{
	struct daemon *d = arg;

	d->ops->status(d->arg, buf, len);
}

/*
 * -u: everything that needs root is open (the TUN device, the sockets,
 * the control socket); the daemon keeps ops->keep_caps.  Under systemd,
 * User= and AmbientCapabilities= do this instead.  Then ops->drop_cap
 * goes, however we were started.
 */
static int
drop_privileges(struct daemon *d, const char *user)
{
	char err[256];

	if (user != NULL) {
		struct passwd *pw;

		/* The control socket follows the daemon to its user. */
		if ((pw = getpwnam(user)) != NULL &&
		    ctlsrv_chown(d->ctlsrv, pw->pw_uid, pw->pw_gid) == -1)
			log_warn("control socket: chown to %s", user);
		if (privdrop(user, d->ops->keep_caps, d->ops->nkeep_caps, err,
			sizeof(err)) == -1) {
			log_warnx("%s", err);
			return -1;
		}
	}
	if (d->ops->drop_cap != -1 &&
	    privdrop_cap_drop(d->ops->drop_cap, err, sizeof(err)) == -1) {
		/* only CAP_NET_ADMIN is ever dropped this way */
		log_warnx("CAP_NET_ADMIN: %s", err);
		return -1;
	}
	return 0;
}

/* The configuration, or NULL with its errors on stderr. */
static struct config *
load(const char *file, enum config_kind kind)
{
	struct config_errors errs = {0};
	struct config       *conf;
	size_t               i;

	if ((conf = config_load(file, kind, &errs)) == NULL)
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.lines[i]);
	config_errors_clear(&errs);
	return conf;
}

struct daemon *
daemon_new(
    const struct daemon_ops *ops, struct config *conf, struct event_base *base)
{
	struct daemon *d;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		log_warn("%s", ops->name);
		config_free(conf);
		return NULL;
	}
	d->ops = ops;
	d->conf = conf;
	d->base = base;
	d->started = time(NULL);
	if ((d->arg = ops->init(d, conf, base)) == NULL) {
		config_free(conf);
		free(d);
		return NULL;
	}
	return d;
}

void *
daemon_state(struct daemon *d)
{
	return d->arg;
}

void
daemon_free(struct daemon *d)
{
	if (d == NULL)
		return;
	ctlsrv_close(d->ctlsrv);
	metrics_free(d->metrics);
	d->ops->stop(d->arg);
	config_free(d->conf);
	free(d);
}

struct event_base *
daemon_base_new(void)
{
	struct event_config *cfg;
	struct event_base   *base = NULL;
	struct timeval       slice = {0, DAEMON_SLICE_US};

	if ((cfg = event_config_new()) == NULL)
		return NULL;
	/* The slice binds control callbacks only: a data batch runs whole.
	 * A precise clock, or the slice is the coarse clock's tick (4 ms
	 * at HZ=250). */
	if (event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER) == 0 &&
	    event_config_set_max_dispatch_interval(
		cfg, &slice, -1, DAEMON_PRIO_CONTROL) == 0 &&
	    (base = event_base_new_with_config(cfg)) != NULL &&
	    event_base_priority_init(base, DAEMON_PRIO_CONTROL + 1) == -1) {
		event_base_free(base);
		base = NULL;
	}
	event_config_free(cfg);
	return base;
}

int
daemon_main(int argc, char *argv[], const struct daemon_ops *ops)
{
	static const int   sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
	struct event      *sigev[4] = {NULL};
	struct daemon     *d;
	struct config     *conf;
	struct event_base *base;
	char              *absfile, err[256], what[128];
	const char        *file = ops->default_conf, *sock = ops->default_sock;
	const char        *user = NULL;
	int                ch, debug = 0, checkonly = 0, verbose = 0, rc = 1;
	size_t             i;

	while ((ch = getopt(argc, argv, "df:hns:u:Vv")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'f':
			file = optarg;
			break;
		case 'h':
			usage(stdout, ops->name);
			return 0;
		case 'n':
			checkonly = 1;
			break;
		case 's':
			sock = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'V':
			printf("%s %s\n", ops->name, PACKAGE_VERSION);
			return 0;
		case 'v':
			verbose++;
			break;
		default:
			usage(stderr, ops->name);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr, ops->name);
		return 1;
	}
	/* Until the daemon detaches, everything goes to stderr. */
	log_init(ops->name, 1, verbose);

	if ((conf = load(file, ops->kind)) == NULL)
		return 1;
	if (checkonly) {
		printf("configuration OK\n");
		config_free(conf);
		return 0;
	}
	/*
	 * The file is read again on SIGHUP, after daemon() has moved to
	 * "/": from now on a relative -f is named by its absolute path.
	 * Errors at start quote it as the operator typed it.
	 */
	if ((absfile = realpath(file, NULL)) != NULL) {
		free(conf->file);
		conf->file = absfile;
		file = absfile;
	}
	signal(SIGPIPE, SIG_IGN);

	if ((base = daemon_base_new()) == NULL)
		fatalx("cannot create the event loop");
	if ((d = daemon_new(ops, conf, base)) == NULL) {
		event_base_free(base);
		return 1;
	}
	for (i = 0; i < 4; i++) {
		sigev[i] = evsignal_new(base, sigs[i], on_signal, d);
		if (sigev[i] == NULL || evsignal_add(sigev[i], NULL) == -1)
			fatalx("cannot watch signals");
	}
	if (ops->start(d->arg) == -1)
		goto out;
	if ((d->ctlsrv = ctlsrv_open(
		 base, sock, answer, d, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		goto out;
	}
	if (metrics_start(d, &conf->metrics) == -1 ||
	    drop_privileges(d, user) == -1)
		goto out;
	/*
	 * Detach only now, as OpenBSD's daemons do: certificates, the TUN
	 * device and the sockets are in place, so a failure to start was
	 * reported on the terminal with exit status 1.  The event loop needs
	 * event_reinit() in the child.
	 */
	/* Under systemd (Type=notify) stay: the service manager tracks the
	 * PID it started and waits for READY=1 from it. */
	if (!debug && notify_expected())
		log_init(ops->name, 0, verbose);
	else if (!debug) {
		if (daemon(0, 0) == -1)
			fatal("daemon");
		log_init(ops->name, 0, verbose);
		if (event_reinit(base) == -1)
			fatalx("cannot restart the event loop after detaching");
	}
	if (ops->running != NULL && ops->running(d->arg) == -1)
		goto out;
	ops->describe(d->arg, what, sizeof(what));
	log_info("started %s (%s)", what, file);
	if (notify_start(base, status_line, d) == -1)
		fatalx("cannot start the service manager's watchdog timer");
	if (event_base_dispatch(base) == -1)
		log_warnx("event loop failed");
	else
		rc = 0;
out:
	notify_stop();
	daemon_free(d);
	for (i = 0; i < 4; i++)
		event_free(sigev[i]);
	event_base_free(base);
	return rc;
}
