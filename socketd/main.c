/*
 * wanpair-socketd: the edge box's daemon.
 *
 * This release loads and checks the configuration (-n); forwarding comes
 * with the tunnel.  Without -n it still checks the configuration, then
 * says plainly that it cannot forward yet and exits 1, so that no service
 * manager believes a tunnel is up.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

#define PROGNAME     "wanpair-socketd"
#define DEFAULT_CONF WP_CONFDIR "/socketd.json"

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: %s [-dhnVv] [-f file]\n", PROGNAME);
}

int
main(int argc, char *argv[])
{
	struct config_errors errs = {0};
	struct config       *conf;
	const char          *file = DEFAULT_CONF;
	int                  ch, debug = 0, checkonly = 0, verbose = 0;
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

	if ((conf = config_load(file, CONFIG_SOCKETD, &errs)) == NULL) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.lines[i]);
		config_errors_clear(&errs);
		return 1;
	}
	config_free(conf);
	if (checkonly) {
		printf("configuration OK\n");
		return 0;
	}
	(void)debug;
	log_warnx("%s: configuration OK, but forwarding is not available in "
		  "this version; use -n to check a configuration",
	    file);
	return 1;
}
