/*
 * wanpair-socketd: the edge box's daemon.  It balances the LAN's flows
 * over the WAN links by upstream bandwidth and carries them, encrypted,
 * to the PoP (DESIGN.md sections 3, 4 and 6).
 */
#include "autoconf.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "socketd.h"

#define PROGNAME     "wanpair-socketd"
#define DEFAULT_CONF WP_CONFDIR "/socketd.json"

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: %s [-dhnVv] [-f file]\n", PROGNAME);
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
		dataplane_log_counters(sd);
		event_base_loopexit(sd->base, NULL);
		break;
	case SIGHUP:
		log_warnx("SIGHUP: reloading comes with a later release; "
			  "the running configuration stays");
		break;
	case SIGUSR1:
		dataplane_log_counters(sd);
		break;
	}
}

int
main(int argc, char *argv[])
{
	static const int     sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
	struct event        *sigev[4];
	struct config_errors errs = {0};
	struct socketd       sd;
	const char          *file = DEFAULT_CONF;
	int                  ch, debug = 0, checkonly = 0, verbose = 0, rc = 1;
	size_t               i;

	while ((ch = getopt(argc, argv, "df:hnVv")) != -1) {
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
	signal(SIGPIPE, SIG_IGN);

	if ((sd.base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	for (i = 0; i < 4; i++) {
		sigev[i] = evsignal_new(sd.base, sigs[i], on_signal, &sd);
		if (sigev[i] == NULL || evsignal_add(sigev[i], NULL) == -1)
			fatalx("cannot watch signals");
	}
	if (control_init(&sd) == -1 || dataplane_start(&sd) == -1 ||
	    control_start(&sd) == -1)
		goto out;
	/*
	 * Detach only now, as OpenBSD's daemons do: certificates, the TUN
	 * device and the sockets are in place, so a failure to start was
	 * reported on the terminal with exit status 1.  The event loop needs
	 * event_reinit() in the child.
	 */
	if (!debug) {
		if (daemon(0, 0) == -1)
			fatal("daemon");
		log_init(PROGNAME, 0, verbose);
		if (event_reinit(sd.base) == -1)
			fatalx("cannot restart the event loop after detaching");
	}
	log_info("started for site %s (%s)", sd.conf->site, file);
	if (event_base_dispatch(sd.base) == -1)
		log_warnx("event loop failed");
	else
		rc = 0;
out:
	control_stop(&sd);
	dataplane_stop(&sd);
	for (i = 0; i < 4; i++)
		event_free(sigev[i]);
	event_base_free(sd.base);
	config_free(sd.conf);
	return rc;
}
