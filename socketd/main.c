/*
 * wanpair-socketd: the edge box's daemon.  It balances the LAN's flows
 * over the WAN links by upstream bandwidth and carries them, encrypted,
 * to the PoP (DESIGN.md sections 3, 4 and 6).
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
#include "socketd.h"

#define PROGNAME     "wanpair-socketd"
#define DEFAULT_CONF WP_CONFDIR "/socketd.json"
#define DEFAULT_SOCK WP_RUNDIR "/socketd.sock"

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: %s [-dhnVv] [-f file] [-s socket] [-u user]\n",
	    PROGNAME);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct socketd *sd = arg;

	(void)what;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("%s, stopping", strsignal((int)sig));
		notify_stopping();
		dataplane_log_counters(sd);
		event_base_loopexit(sd->base, NULL);
		break;
	case SIGHUP: {
		struct config_errors errs = {0};

		log_info("SIGHUP, reloading %s", sd->conf->file);
		notify_reloading();
		(void)socketd_reload(sd, &errs); /* it logs either way */
		notify_ready(); /* applied or refused, it serves on */
		config_errors_clear(&errs);
		break;
	}
	case SIGUSR1:
		dataplane_log_counters(sd);
		break;
	}
}

/* systemctl status's line: what an operator checks first. */
static void
status_line(void *arg, char *buf, size_t len)
{
	const struct socketd *sd = arg;
	size_t                i, up = 0;

	for (i = 0; i < sd->nlinks; i++)
		up += dataplane_link_up(sd, (unsigned)i) != 0;
	snprintf(buf, len, "%zu/%zu links up, control channel %s", up,
	    sd->nlinks, sd->ctl_welcomed ? "connected" : "not connected");
}

int
main(int argc, char *argv[])
{
	static const int     sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
	struct event        *sigev[4];
	struct config_errors errs = {0};
	struct socketd       sd;
	char                *absfile, err[256];
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

	memset(&sd, 0, sizeof(sd));
	sd.tun_fd = -1;
	sd.nl_fd = -1;
	if ((sd.conf = config_load(file, CONFIG_SOCKETD, &errs)) == NULL) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.lines[i]);
		config_errors_clear(&errs);
		return 1;
	}
	if (checkonly) {
		printf("configuration OK\n");
		config_free(sd.conf);
		return 0;
	}
	/*
	 * The file is read again on SIGHUP, after daemon() has moved to
	 * "/": from now on a relative -f is named by its absolute path.
	 * Errors at start quote it as the operator typed it.
	 */
	if ((absfile = realpath(file, NULL)) != NULL) {
		free(sd.conf->file);
		sd.conf->file = absfile;
		file = absfile;
	}
	signal(SIGPIPE, SIG_IGN);

	if ((sd.base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	for (i = 0; i < 4; i++) {
		sigev[i] = evsignal_new(sd.base, sigs[i], on_signal, &sd);
		if (sigev[i] == NULL || evsignal_add(sigev[i], NULL) == -1)
			fatalx("cannot watch signals");
	}
	sd.started = time(NULL);
	if (control_init(&sd) == -1 || dataplane_start(&sd) == -1 ||
	    links_start(&sd) == -1 || control_start(&sd) == -1 ||
	    ctl_start(&sd, sock) == -1 ||
	    socketd_metrics_start(&sd, &sd.conf->metrics) == -1)
		goto out;
	/*
	 * -u: everything that needs root is open (the TUN device, the
	 * sockets, the control socket).  Under systemd, User= and
	 * AmbientCapabilities= do this instead.
	 *
	 * Then CAP_NET_ADMIN goes too, however we were started: socketd
	 * needed it for its TUN device (TUNSETIFF, MTU, up), which is open
	 * and set.  Nothing later does: it adds no kernel routes (its
	 * "routes" are balancing), tun.mtu and tun.name need a restart, and
	 * the links' sockets that a reload or a reconnect opens bind to
	 * their device with SO_BINDTODEVICE, which since Linux 5.7 needs no
	 * capability for a socket not bound yet (socket(7)); before 5.7 it
	 * needs CAP_NET_RAW, which the unit does not give either.
	 */
	if (user != NULL) {
		struct passwd *pw;

		/* The control socket follows the daemon to its user. */
		if ((pw = getpwnam(user)) != NULL &&
		    ctlsrv_chown(sd.ctlsrv, pw->pw_uid, pw->pw_gid) == -1)
			log_warn("control socket: chown to %s", user);
		if (privdrop(user, NULL, 0, err, sizeof(err)) == -1) {
			log_warnx("%s", err);
			goto out;
		}
	}
	if (privdrop_cap_drop(CAP_NET_ADMIN, err, sizeof(err)) == -1) {
		log_warnx("CAP_NET_ADMIN: %s", err);
		goto out;
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
		if (event_reinit(sd.base) == -1)
			fatalx("cannot restart the event loop after detaching");
	}
	log_info("started for site %s (%s)", sd.conf->site, file);
	if (notify_start(sd.base, status_line, &sd) == -1)
		fatalx("cannot start the service manager's watchdog timer");
	if (event_base_dispatch(sd.base) == -1)
		log_warnx("event loop failed");
	else
		rc = 0;
out:
	notify_stop();
	ctl_stop(&sd);
	socketd_metrics_stop(&sd);
	control_stop(&sd);
	links_stop(&sd);
	dataplane_stop(&sd);
	for (i = 0; i < 4; i++)
		event_free(sigev[i]);
	event_base_free(sd.base);
	config_free(sd.conf);
	return rc;
}
