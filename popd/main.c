/*
 * wanpair-popd: the point of presence's daemon.  It serves many sites:
 * decapsulates their traffic to its TUN device and balances each site's
 * return flows over its links by downstream bandwidth (DESIGN.md 3, 4, 6).
 */
#include "autoconf.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/capability.h>

#include "config.h"
#include "ctlsrv.h"
#include "log.h"
#include "notify.h"
#include "privdrop.h"
#include "popd.h"

#define PROGNAME     "wanpair-popd"
#define DEFAULT_CONF WP_CONFDIR "/popd.json"
#define DEFAULT_SOCK WP_RUNDIR "/popd.sock"

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: %s [-dhnVv] [-f file] [-s socket] [-u user]\n",
	    PROGNAME);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct popd *pd = arg;

	(void)what;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("%s, stopping", strsignal((int)sig));
		notify_stopping();
		dataplane_log_counters(pd);
		event_base_loopexit(pd->base, NULL);
		break;
	case SIGHUP: {
		struct config_errors errs = {0};

		log_info("SIGHUP, reloading %s", pd->conf->file);
		notify_reloading();
		(void)popd_reload(pd, &errs); /* it logs either way */
		notify_ready(); /* applied or refused, it serves on */
		config_errors_clear(&errs);
		break;
	}
	case SIGUSR1:
		dataplane_log_counters(pd);
		break;
	}
}

/* systemctl status's line: what an operator checks first. */
static void
status_line(void *arg, char *buf, size_t len)
{
	const struct popd *pd = arg;
	size_t             i, up = 0;

	for (i = 0; i < pd->nsites; i++)
		up += pd->sites[i].session != NULL &&
		    pd->sites[i].session->conn != NULL;
	snprintf(buf, len, "%zu/%zu sites connected", up, pd->nsites);
}

int
main(int argc, char *argv[])
{
	static const int     sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
	struct event        *sigev[4];
	struct config_errors errs = {0};
	struct popd          pd;
	char                *absfile;
	const char          *file = DEFAULT_CONF, *sock = DEFAULT_SOCK;
	const char          *user = NULL;
	int                  ch, debug = 0, checkonly = 0, verbose = 0, rc = 1;
	size_t               i;

	while ((ch = getopt(argc, argv, "df:hns:u:Vv")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'f':
			file = optarg;
			break;
		case 'h':
			usage(stdout);
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
			printf("%s %s\n", PROGNAME, PACKAGE_VERSION);
			return 0;
		case 'v':
			verbose++;
			break;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	/* Until the daemon detaches, everything goes to stderr. */
	log_init(PROGNAME, 1, verbose);

	memset(&pd, 0, sizeof(pd));
	pd.tun_fd = -1;
	pd.udp_fd = -1;
	if ((pd.conf = config_load(file, CONFIG_POPD, &errs)) == NULL) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.lines[i]);
		config_errors_clear(&errs);
		return 1;
	}
	if (checkonly) {
		printf("configuration OK\n");
		config_free(pd.conf);
		return 0;
	}
	/*
	 * The file is read again on SIGHUP, after daemon() has moved to
	 * "/": from now on a relative -f is named by its absolute path.
	 * Errors at start quote it as the operator typed it.
	 */
	if ((absfile = realpath(file, NULL)) != NULL) {
		free(pd.conf->file);
		pd.conf->file = absfile;
		file = absfile;
	}
	signal(SIGPIPE, SIG_IGN);

	if ((pd.base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	for (i = 0; i < 4; i++) {
		sigev[i] = evsignal_new(pd.base, sigs[i], on_signal, &pd);
		if (sigev[i] == NULL || evsignal_add(sigev[i], NULL) == -1)
			fatalx("cannot watch signals");
	}
	if ((pd.sites = calloc(pd.conf->nsites, sizeof(*pd.sites))) == NULL)
		fatal("sites");
	pd.nsites = pd.conf->nsites;
	for (i = 0; i < pd.nsites; i++)
		pd.sites[i].conf = &pd.conf->sites[i];
	pd.started = time(NULL);
	if (control_init(&pd) == -1 || dataplane_start(&pd) == -1 ||
	    control_start(&pd) == -1 || ctl_start(&pd, sock) == -1 ||
	    popd_metrics_start(&pd, &pd.conf->metrics) == -1)
		goto out;
	/*
	 * -u: everything that needs root is open (the TUN device, the
	 * sockets, the control socket); what remains needs CAP_NET_ADMIN
	 * alone, for as long as popd runs: a site's routes into the TUN
	 * device are added when it logs in (control.c, install_routes())
	 * and follow its LAN on a reload (reload.c).  Under systemd, User=
	 * and AmbientCapabilities= do this instead.
	 */
	if (user != NULL) {
		static const int keep[] = {CAP_NET_ADMIN};
		char             err[256];
		struct passwd   *pw;

		/* The control socket follows the daemon to its user. */
		if ((pw = getpwnam(user)) != NULL &&
		    ctlsrv_chown(pd.ctlsrv, pw->pw_uid, pw->pw_gid) == -1)
			log_warn("control socket: chown to %s", user);
		if (privdrop(user, keep, 1, err, sizeof(err)) == -1) {
			log_warnx("%s", err);
			goto out;
		}
	}
	/*
	 * Detach only now, as OpenBSD's daemons do: certificates, the TUN
	 * device and the sockets are in place, so a failure to start was
	 * reported on the terminal with exit status 1.  The event loop needs
	 * event_reinit() in the child.
	 */
	/* Under systemd (Type=notify) stay: the service manager tracks the
	 * PID it started and waits for READY=1 from it. */
	if (!debug && notify_expected())
		log_init(PROGNAME, 0, verbose);
	else if (!debug) {
		if (daemon(0, 0) == -1)
			fatal("daemon");
		log_init(PROGNAME, 0, verbose);
		if (event_reinit(pd.base) == -1)
			fatalx("cannot restart the event loop after detaching");
	}
	log_info("started with %zu sites (%s)", pd.nsites, file);
	if (notify_start(pd.base, status_line, &pd) == -1)
		fatalx("cannot start the service manager's watchdog timer");
	if (event_base_dispatch(pd.base) == -1)
		log_warnx("event loop failed");
	else
		rc = 0;
out:
	notify_stop();
	ctl_stop(&pd);
	popd_metrics_stop(&pd);
	control_stop(&pd);
	dataplane_stop(&pd);
	for (i = 0; i < 4; i++)
		event_free(sigev[i]);
	event_base_free(pd.base);
	free(pd.sites);
	config_free(pd.conf);
	return rc;
}
