/*
 * bench/sitegen: many simulated sites against one real wanpair-popd, for
 * bench/sites (which builds the namespaces, the PKI and popd.json, starts
 * popd and reads this program's JSON).  Everything a site says is said
 * with the project's own code, so popd sees what a Socket sends:
 *   - one TLS 1.3 control channel per site with a client certificate of
 *     its own (P-256, made here, signed by the bench's CA), the context
 *     from tls_ctx_new() as socketd has it, HELLO and WELCOME through
 *     proto/ctlmsg, KEEPALIVE every 10 s;
 *   - data-plane keys from the TLS exporter (tls_data_key()), one tunnel
 *     per site (common/tunnel.c), probes at WELCOME's interval, datagrams
 *     sealed by tunnel_seal_udp() into udpio's batches;
 *   - return traffic injected into popd's TUN device from popd's
 *     namespace (a UDP socket opened there with setns(2)), opened here
 *     with the site's keys and checked to be for that site's LAN.
 *
 *	sitegen sites N		the popd.json "sites" array for N sites
 *	sitegen run OPTIONS	the ramp; JSON on stdout, progress on stderr
 *
 * Site i (0-based, i < 65536): name "site-i", identity "site-i.bench"
 * (subject CN and DNS subjectAltName), LAN 10.(i/256).(i%256).0/24.
 * Nothing here is a test: a figure is what was measured, and a stage
 * that fails says why ("ok": false, "error") instead of going on.
 *
 * This file holds main and its options, the usage, the sites' names and
 * the helpers every file uses (note, die, the clocks); each of the
 * other bench/sitegen-*.c files says at its top what it holds.
 */
#include "autoconf.h"

#include "sitegen.h"

struct sitegen g;

static void
vnote(const char *fmt, va_list ap)
{
	fprintf(stderr, "sitegen: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote(fmt, ap);
	va_end(ap);
}

void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote(fmt, ap);
	va_end(ap);
	exit(1);
}

/* The stream's clock: the kernel's receive timestamps (SO_TIMESTAMPNS)
 * are CLOCK_REALTIME, and one clock makes a one-way delay. */
uint64_t
now_rt_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
site_names(
    unsigned i, char *name, size_t nlen, char *id, size_t idlen, uint8_t lan[4])
{
	snprintf(name, nlen, "site-%u", i);
	snprintf(id, idlen, "site-%u.bench", i);
	lan[0] = 10;
	lan[1] = (uint8_t)(i >> 8);
	lan[2] = (uint8_t)i;
	lan[3] = 0;
}

/* ------------------------------------------------------------ main */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: sitegen sites N\n"
	    "       sitegen run --ca FILE --ca-key FILE --cert FILE --key "
	    "FILE\n"
	    "           --pop ADDR --pop-identity NAME --local ADDR\n"
	    "           --pop-netns PATH --sink ADDR --popd-pid PID\n"
	    "           [--ctl SOCKET] [--stages N,N,...] [--concurrency N]\n"
	    "           [--idle-seconds N] [--seconds N] [--payload BYTES]\n"
	    "           [--flows N] [--control-port N] [--window-up N]\n"
	    "           [--window-down N] [--stream-sites N] [--stream-us "
	    "US]\n");
	exit(2);
}

static unsigned long
num(const char *s, unsigned long lo, unsigned long hi, const char *what)
{
	char         *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < lo || v > hi)
		die("%s: \"%s\" is not a number from %lu to %lu", what, s, lo,
		    hi);
	return v;
}

static void
print_sites(unsigned n)
{
	char     name[16], id[32];
	uint8_t  lan[4];
	unsigned i;

	printf("[");
	for (i = 0; i < n; i++) {
		site_names(i, name, sizeof(name), id, sizeof(id), lan);
		printf("%s\n {\"name\": \"%s\", \"identity\": \"%s\", "
		       "\"lan\": [\"%u.%u.%u.0/24\"]}",
		    i ? "," : "", name, id, lan[0], lan[1], lan[2]);
	}
	printf("]\n");
}

static void
parse_addr(const char *s, struct wp_addr *a, const char *what)
{
	if (addr_parse(s, a) == -1 || a->family != AF_INET)
		die("%s: \"%s\" is not an IPv4 address", what, s);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {{"ca", 1, NULL, 'a'},
	    {"ca-key", 1, NULL, 'A'}, {"cert", 1, NULL, 'c'},
	    {"key", 1, NULL, 'k'}, {"pop", 1, NULL, 'p'},
	    {"pop-identity", 1, NULL, 'i'}, {"local", 1, NULL, 'l'},
	    {"pop-netns", 1, NULL, 'n'}, {"sink", 1, NULL, 'S'},
	    {"popd-pid", 1, NULL, 'P'}, {"ctl", 1, NULL, 'C'},
	    {"stages", 1, NULL, 's'}, {"concurrency", 1, NULL, 'j'},
	    {"idle-seconds", 1, NULL, 'I'}, {"seconds", 1, NULL, 't'},
	    {"payload", 1, NULL, 'b'}, {"flows", 1, NULL, 'f'},
	    {"control-port", 1, NULL, 'o'}, {"window-up", 1, NULL, 'U'},
	    {"window-down", 1, NULL, 'D'}, {"stream-sites", 1, NULL, 'T'},
	    {"stream-us", 1, NULL, 'u'}, {NULL, 0, NULL, 0}};
	struct wp_addr             local;
	struct tls_files           tf;
	char                       err[TLS_ERRLEN], *tok, *save;
	json_t                    *out, *stages, *tr;
	unsigned                   ctl_port = 18461, i, k;
	double                     certs_s;
	int                        ch, rc = 0;
	uint32_t                   size;

	if (argc == 3 && strcmp(argv[1], "sites") == 0) {
		print_sites((unsigned)num(argv[2], 1, MAX_SITES, "sites"));
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "run") != 0)
		usage();
	argc--;
	argv++;
	g.concurrency = 64;
	g.idle_s = 5;
	g.traffic_s = 5;
	g.payload = 64;
	g.flows = 1000000;
	g.win_up = 2048;
	g.win_down = 128;
	g.settle_ms = 1000;
	g.stream_sites = 1;
	g.stream_us = 500;
	g.sink_port = 9;
	g.stages[0] = 100;
	g.stages[1] = 1000;
	g.stages[2] = 10000;
	g.nstages = 3;
	memset(&local, 0, sizeof(local));
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			g.ca = optarg;
			break;
		case 'A':
			g.ca_key = optarg;
			break;
		case 'c':
			g.cert = optarg;
			break;
		case 'k':
			g.key = optarg;
			break;
		case 'p':
			parse_addr(optarg, &g.pop_addr, "--pop");
			break;
		case 'i':
			g.pop_identity = optarg;
			break;
		case 'l':
			parse_addr(optarg, &local, "--local");
			break;
		case 'n':
			g.pop_netns = optarg;
			break;
		case 'S':
			parse_addr(optarg, &g.sink_addr, "--sink");
			break;
		case 'P':
			g.popd_pid =
			    (pid_t)num(optarg, 1, 1 << 22, "--popd-pid");
			break;
		case 'C':
			g.ctl_path = optarg;
			break;
		case 's':
			g.nstages = 0;
			for (tok = strtok_r(optarg, ",", &save); tok != NULL;
			     tok = strtok_r(NULL, ",", &save)) {
				if (g.nstages == 16)
					die("--stages: at most 16");
				g.stages[g.nstages] = (unsigned)num(
				    tok, 1, MAX_SITES, "--stages");
				if (g.nstages > 0 &&
				    g.stages[g.nstages] <=
					g.stages[g.nstages - 1])
					die("--stages must grow");
				g.nstages++;
			}
			break;
		case 'j':
			g.concurrency =
			    (unsigned)num(optarg, 1, 4096, "--concurrency");
			break;
		case 'I':
			g.idle_s =
			    (unsigned)num(optarg, 1, 600, "--idle-seconds");
			break;
		case 't':
			g.traffic_s =
			    (unsigned)num(optarg, 1, 600, "--seconds");
			break;
		case 'b':
			g.payload = (unsigned)num(optarg, 1, 1400, "--payload");
			break;
		case 'f':
			g.flows = (unsigned)num(optarg, 0, 64000000, "--flows");
			break;
		case 'U':
			g.win_up =
			    (unsigned)num(optarg, 1, 65536, "--window-up");
			break;
		case 'D':
			g.win_down =
			    (unsigned)num(optarg, 1, 65536, "--window-down");
			break;
		case 'T':
			g.stream_sites = (unsigned)num(
			    optarg, 0, STREAM_MAX, "--stream-sites");
			break;
		case 'u':
			g.stream_us =
			    (unsigned)num(optarg, 100, 100000, "--stream-us");
			break;
		case 'o':
			ctl_port =
			    (unsigned)num(optarg, 1, 65535, "--control-port");
			break;
		default:
			usage();
		}
	}
	if (g.ca == NULL || g.ca_key == NULL || g.cert == NULL ||
	    g.key == NULL || g.pop_addr.family == 0 || local.family == 0 ||
	    g.pop_identity == NULL || g.pop_netns == NULL ||
	    g.sink_addr.family == 0 || g.popd_pid == 0 || g.nstages == 0)
		usage();
	g.clk = sysconf(_SC_CLK_TCK);
	g.nsites = g.stages[g.nstages - 1];
	g.pop_ctl_len =
	    addr_to_sockaddr(&g.pop_addr, (uint16_t)ctl_port, &g.pop_ctl);
	g.local_len = addr_to_sockaddr(&local, 0, &g.local);

	if ((g.sites = calloc(g.nsites, sizeof(*g.sites))) == NULL)
		die("out of memory");
	for (size = 4; size < 2 * g.nsites; size <<= 1)
		;
	if ((g.by_session = calloc(size, sizeof(*g.by_session))) == NULL)
		die("out of memory");
	g.smask = size - 1;
	for (i = 0; i < g.nsites; i++) {
		g.sites[i].idx = i;
		g.sites[i].sock = i % DATA_SOCKS;
		site_names(i, g.sites[i].name, sizeof(g.sites[i].name),
		    g.sites[i].identity, sizeof(g.sites[i].identity),
		    g.sites[i].lan);
	}
	note("%u client certificates (P-256), signed by %s", g.nsites, g.ca);
	certs_s = make_certs();
	note("certificates made in %.1f s", certs_s);
	tf.ca = g.ca;
	tf.cert = g.cert;
	tf.key = g.key;
	if ((g.ctx = tls_ctx_new(0, &tf, err, sizeof(err))) == NULL)
		die("%s", err);

	if ((g.base = event_base_new()) == NULL ||
	    event_base_priority_init(g.base, 2) == -1)
		die("event base");
	tunnel_evq_init(&g.evq);
	open_sockets();
	if ((g.up_pump = event_new(g.base, -1, 0, up_pump, NULL)) == NULL ||
	    (g.down_pump = event_new(g.base, -1, 0, down_pump, NULL)) == NULL ||
	    event_priority_set(g.up_pump, 1) == -1 ||
	    event_priority_set(g.down_pump, 1) == -1 ||
	    (g.tick_ev = event_new(g.base, -1, EV_PERSIST, tick, NULL)) ==
		NULL ||
	    event_priority_set(g.tick_ev, 0) == -1)
		die("event");
	{
		/* Every 10 ms: probes go out in the tick that finds them
		 * due, so a coarser tick sends them in bursts (500 at
		 * 10,000 sites every 50 ms), which popd's one datagram loop
		 * serves in order and the stream waits behind; sites of
		 * their own probe at independent times. */
		struct timeval tv = {0, 10000};

		event_add(g.tick_ev, &tv);
	}
	traffic_reset();

	out = json_object();
	stages = json_array();
	json_object_set_new(out, "sites_max", json_integer(g.nsites));
	json_object_set_new(out, "certs_s", json_real(certs_s));
	json_object_set_new(out, "concurrency", json_integer(g.concurrency));
	json_object_set_new(out, "payload_bytes", json_integer(g.payload));
	/* what one entry of popd's flow pool is (flows.max of them) */
	json_object_set_new(out, "flow_entry_bytes",
	    json_integer((json_int_t)sizeof(struct flow)));
	rss0 = popd_rss_kib();
	json_object_set_new(out, "rss_kib_no_sites", json_integer(rss0));
	json_object_set_new(out, "stages", stages);
	if (g.stream_sites >= g.stages[0])
		die("--stream-sites must be fewer than the first stage's "
		    "sites");
	rc = stream_start();
	json_object_set_new(out, "stream",
	    json_pack("{s:i,s:i,s:b}", "sites", g.stream_sites, "interval_us",
		g.stream_us, "sched_fifo", stream_fifo()));
	for (k = 0; rc == 0 && k < g.nstages; k++)
		if ((rc = stage(g.stages[k], stages)) == -1)
			break;
	stream_stop();
	json_object_set_new(out, "probe_interval_ms", json_integer(g.probe_ms));
	if (rc == 0) {
		tr = json_object();
		json_object_set_new(out, "traffic", tr);
		json_object_set_new(tr, "sites", json_integer(g.nup));
		json_object_set_new(tr, "up", traffic(1, 0));
		json_object_set_new(tr, "down", traffic(0, 1));
		json_object_set_new(tr, "both", traffic(1, 1));
		if (g.popd_gone) {
			snprintf(g.error, sizeof(g.error),
			    "popd exited during the traffic");
			rc = -1;
		}
	}
	if (rc == 0 && g.flows > 0) {
		json_object_set_new(out, "flows", flows_phase());
		if (g.popd_gone) {
			snprintf(g.error, sizeof(g.error),
			    "popd exited during the flows");
			rc = -1;
		}
	}
	if (rc == 0 && g.nfailed > 0) {
		snprintf(g.error, sizeof(g.error),
		    "%u sites lost their control channel", g.nfailed);
		rc = -1;
	}
	json_object_set_new(out, "sitegen_drops",
	    json_pack("{s:I,s:I,s:I,s:I}", "no_session",
		(json_int_t)g.no_session, "replay", (json_int_t)g.open_replay,
		"auth", (json_int_t)g.open_auth, "other",
		(json_int_t)g.open_other));
	json_object_set_new(out, "ok", json_boolean(rc == 0));
	if (rc != 0)
		json_object_set_new(out, "error", json_string(g.error));
	json_dumpf(out, stdout, JSON_INDENT(1));
	putchar('\n');
	fflush(stdout);
	/* The OS frees the rest; a 10,000-site teardown is not measured. */
	_exit(rc == 0 ? 0 : 1);
}
