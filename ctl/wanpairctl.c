/*
 * wanpairctl: the operator's tool.  replay needs no running daemon; the
 * other commands ask a daemon over its control socket (daemonctl.c).
 */
#include "autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemonctl.h"
#include "log.h"
#include "replay.h"
#include "top.h"

#define MAX_FAILS CONFIG_MAX_LINKS
/* About 31 years: beyond any capture, and far from overflowing ms. */
#define MAX_FAIL_SECONDS 1e9

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: wanpairctl [-hjV] [-s socketd|popd|socket] command "
	    "[argument ...]\n"
	    "commands (each but top takes --json):\n"
	    "  status                     the daemon, its control channel, "
	    "links and flows\n"
	    "  links [--site S]           every link: state, rtt, jitter, "
	    "loss, mos, flows, traffic\n"
	    "  flows [--link L] [--limit N] [--site S]\n"
	    "                             flows and the link each uses\n"
	    "  sites [--limit N]          (popd) sites and their sessions\n"
	    "  cluster                    (popd) the cluster's members, "
	    "queue, messages\n"
	    "  counters                   every counter the daemon keeps\n"
	    "  reload                     re-read the configuration file\n"
	    "  link L down|up             (socketd) a link's admin state\n"
	    "  top [-d seconds] [-n flows]\n"
	    "                             live view: link rates, shares, "
	    "busiest flows\n"
	    "  replay -f config [--side up|down] [--json] [--flows]\n"
	    "         [--fail LINK@SECONDS]... capture\n"
	    "                             run a pcap/pcapng capture through "
	    "the flow and\n"
	    "                             balancing engine\n");
}

static void
replay_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: wanpairctl replay -f config [--side up|down] "
	    "[--json] [--flows]\n"
	    "           [--fail LINK@SECONDS]... capture\n");
}

/* "WAN1@12.5": the link name, then seconds after the first packet. */
static int
parse_fail(const char *arg, struct replay_fail *f)
{
	const char *at = strrchr(arg, '@');
	char       *end;
	size_t      n;

	if (at == NULL || at == arg) {
		fprintf(stderr,
		    "wanpairctl: --fail \"%s\": expected "
		    "LINK@SECONDS\n",
		    arg);
		return -1;
	}
	n = (size_t)(at - arg);
	if (n >= sizeof(f->link)) {
		fprintf(stderr,
		    "wanpairctl: --fail \"%s\": link name longer "
		    "than %zu characters\n",
		    arg, sizeof(f->link) - 1);
		return -1;
	}
	memset(f, 0, sizeof(*f));
	memcpy(f->link, arg, n);
	errno = 0;
	f->at_s = strtod(at + 1, &end);
	if (at[1] == '\0' || *end != '\0' || errno != 0 || !isfinite(f->at_s) ||
	    f->at_s < 0 || f->at_s > MAX_FAIL_SECONDS) {
		fprintf(stderr,
		    "wanpairctl: --fail \"%s\": SECONDS must be a "
		    "number from 0 to %.0f, got \"%s\"\n",
		    arg, MAX_FAIL_SECONDS, at + 1);
		return -1;
	}
	return 0;
}

static int
cmd_replay(int argc, char *argv[])
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'f'},
	    {"side", required_argument, NULL, 's'},
	    {"json", no_argument, NULL, 'j'}, {"flows", no_argument, NULL, 'F'},
	    {"fail", required_argument, NULL, 'x'},
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct replay_fail   fails[MAX_FAILS];
	struct config_errors errs = {0};
	struct config       *conf = NULL;
	struct replay        r;
	enum balance_side    side = SIDE_UP;
	const char          *file = NULL, *capture;
	char                 errbuf[PCAP_ERRBUF_SIZE + 256];
	pcap_t              *p = NULL;
	size_t               nfails = 0, i;
	int                  ch, json = 0, flows = 0, rc = 1;

	memset(&r, 0, sizeof(r));
	/* 0, not 1: glibc then also forgets main's "+" (stop at the first
	 * non-option), so options may follow the capture name. */
	optind = 0;
	while ((ch = getopt_long(argc, argv, "f:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			file = optarg;
			break;
		case 's':
			if (strcmp(optarg, "up") == 0)
				side = SIDE_UP;
			else if (strcmp(optarg, "down") == 0)
				side = SIDE_DOWN;
			else {
				fprintf(stderr,
				    "wanpairctl: --side must be up "
				    "or down, got \"%s\"\n",
				    optarg);
				return 2;
			}
			break;
		case 'j':
			json = 1;
			break;
		case 'F':
			flows = 1;
			break;
		case 'x':
			if (nfails == MAX_FAILS) {
				fprintf(stderr,
				    "wanpairctl: at most %d "
				    "--fail options\n",
				    MAX_FAILS);
				return 2;
			}
			if (parse_fail(optarg, &fails[nfails]) == -1)
				return 2;
			nfails++;
			break;
		case 'h':
			replay_usage(stdout);
			return 0;
		default:
			replay_usage(stderr);
			return 2;
		}
	}
	if (file == NULL || argc - optind != 1) {
		if (file == NULL)
			fprintf(stderr, "wanpairctl: replay needs -f config\n");
		else
			fprintf(stderr,
			    "wanpairctl: replay needs exactly one "
			    "capture file\n");
		replay_usage(stderr);
		return 2;
	}
	capture = argv[optind];

	if ((conf = config_load(file, CONFIG_REPLAY, &errs)) == NULL) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.lines[i]);
		goto out;
	}
	p = pcap_open_offline_with_tstamp_precision(
	    capture, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
	if (p == NULL) {
		fprintf(stderr,
		    "wanpairctl: %s: not a readable pcap or pcapng "
		    "capture: %s\n",
		    capture, errbuf);
		goto out;
	}
	if (replay_init(&r, conf, side, fails, nfails, flows, errbuf,
		sizeof(errbuf)) == -1 ||
	    replay_pcap(&r, p, errbuf, sizeof(errbuf)) == -1) {
		fprintf(stderr, "wanpairctl: %s: %s\n", capture, errbuf);
		goto out;
	}
	replay_finish(&r);
	if (r.oom) {
		fprintf(
		    stderr, "wanpairctl: out of memory for the flow list\n");
		goto out;
	}
	if (json) {
		if (replay_print_json(&r, stdout) == -1) {
			fprintf(stderr, "wanpairctl: cannot write JSON\n");
			goto out;
		}
	} else
		replay_print_table(&r, stdout, capture);
	for (i = 0; i < nfails; i++)
		if (!fails[i].applied)
			fprintf(stderr,
			    "wanpairctl: --fail %s@%g: the capture "
			    "ends before that time; not applied\n",
			    fails[i].link, fails[i].at_s);
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	replay_free(&r);
	if (p != NULL)
		pcap_close(p);
	config_free(conf);
	config_errors_clear(&errs);
	return rc;
}

int
main(int argc, char *argv[])
{
	const char *sock = NULL;
	int         ch, json = 0, rc;

	log_init("wanpairctl", 1, 0);
	while ((ch = getopt(argc, argv, "+hjs:V")) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return 0;
		case 'j':
			json = 1;
			break;
		case 's':
			sock = optarg;
			break;
		case 'V':
			printf("wanpairctl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[0], "replay") == 0)
		return cmd_replay(argc, argv);
	if (strcmp(argv[0], "top") == 0) {
		if (json) {
			fprintf(stderr,
			    "wanpairctl: top has no JSON; links --json and "
			    "flows --json have its figures\n");
			return 2;
		}
		return top_main(argc, argv, sock);
	}
	if ((rc = daemonctl(argc, argv, sock, json)) != -1)
		return rc;
	fprintf(stderr, "wanpairctl: unknown command \"%s\"\n", argv[0]);
	usage(stderr);
	return 2;
}
