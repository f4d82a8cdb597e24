/*
 * bench/flow-engine: how fast the flow engine is, against a baseline that
 * does the least any flow engine must do (hash the 40-byte key).
 *
 * Measured in one run, on one core:
 *   - the baseline: the keyed hash (SipHash-2-4) of each key, as the
 *     flow table computes it
 *   - new flows: flow table insert + link assignment, per algorithm, in
 *     batches of 32 whose index slots are prefetched first
 *   - lookups of existing flows
 *   - the whole per-packet path (parse, lookup or create and assign,
 *     touch) on new and existing flows, one packet at a time and in
 *     batches of 32 as the daemons' recvmmsg loop hands them over
 *   - the same with 16 and with 255 application rules (rules.h) that a
 *     new flow must all try: what a rule set costs a new flow
 *   - memory per flow with the table sized for --flows (default 1,000,000)
 * Prints a table and, with --json FILE, writes the figures.  Absolute
 * times on a shared machine are noise; the ratio to the baseline is the
 * figure to compare across machines.  Each figure is the best of --rounds.
 */
#include "autoconf.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "balance.h"
#include "config.h"
#include "engine.h"
#include "flow.h"
#include "hash.h"
#include "pkt.h"

#define PKTLEN 40 /* IPv4 + TCP headers */
#define BATCH  32 /* a typical recvmmsg batch under load */

static uint32_t nflows = 1000000;
static int      rounds = 3;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The i-th flow's first packet: a LAN host to an Internet host, TCP SYN. */
static void
make_packet(uint32_t i, uint8_t *p)
{
	memset(p, 0, PKTLEN);
	p[0] = 0x45;
	p[3] = PKTLEN;
	p[8] = 64;
	p[9] = 6;
	p[12] = 10;
	p[13] = (uint8_t)(i >> 16);
	p[14] = (uint8_t)(i >> 8);
	p[15] = (uint8_t)i;
	p[16] = 203;
	p[17] = 0;
	p[18] = 113;
	p[19] = (uint8_t)(1 + i % 200);
	p[20] = (uint8_t)((10000 + i % 50000) >> 8);
	p[21] = (uint8_t)(10000 + i % 50000);
	p[22] = 443 >> 8;
	p[23] = 443 & 0xff;
	p[32] = 5 << 4;
	p[33] = PKT_TCP_SYN;
}

/*
 * The spec the daemons would build from this config (socketd's side),
 * with `nrules` application rules none of the packets matches, each as
 * dear as a rule gets: its source prefix matches, then eight destination
 * prefixes are tried and fail, so a new flow pays for every rule.
 */
static void
make_spec(const char *algorithm, unsigned nrules, struct balance_spec *spec)
{
	struct config_errors errs = {0};
	struct config       *conf;
	char                *text;
	size_t               i, len, cap = 1024 + (size_t)nrules * 256;

	if ((text = malloc(cap)) == NULL) {
		fprintf(stderr, "flow-engine: out of memory\n");
		exit(1);
	}
	len = (size_t)snprintf(text, cap,
	    "{\"links\": ["
	    "{\"name\": \"WAN1\", \"up_mbps\": 100, \"down_mbps\": 100},"
	    "{\"name\": \"WAN2\", \"up_mbps\": 20, \"down_mbps\": 20}],"
	    "\"default_profile\": \"p\","
	    "\"profiles\": [{\"name\": \"p\", \"algorithm\": \"%s\"}],"
	    "\"flows\": {\"max\": %u}, \"rules\": [",
	    algorithm, nflows);
	for (i = 0; i < nrules; i++)
		len += (size_t)snprintf(text + len, cap - len,
		    "%s{\"source\": \"10.0.0.0/8\", \"destination\": "
		    "[\"198.18.%zu.0/24\", \"198.18.1.0/24\", "
		    "\"198.18.2.0/24\", "
		    "\"198.18.3.0/24\", \"198.18.4.0/24\", \"198.18.5.0/24\", "
		    "\"198.18.6.0/24\", \"198.18.7.0/24\"], "
		    "\"profile\": \"p\"}",
		    i > 0 ? "," : "", i);
	(void)snprintf(text + len, cap - len, "]}");
	conf = config_parse(
	    text, strlen(text), "bench.json", CONFIG_REPLAY, &errs);
	free(text);
	if (conf == NULL) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.lines[i]);
		exit(1);
	}
	if (balance_spec_from_config(spec, conf, SIDE_UP) == -1) {
		fprintf(stderr, "flow-engine: out of memory\n");
		exit(1);
	}
	config_free(conf);
}

struct result {
	const char *name;
	double      ns; /* per operation, best round */
};

static struct result results[32];
static int           nresults;

static void
record(const char *name, double seconds, uint32_t ops)
{
	double ns = seconds * 1e9 / ops;
	int    i;

	for (i = 0; i < nresults; i++)
		if (strcmp(results[i].name, name) == 0) {
			if (ns < results[i].ns)
				results[i].ns = ns;
			return;
		}
	results[nresults].name = name;
	results[nresults].ns = ns;
	nresults++;
}

static volatile uint64_t  sink;
static struct wp_hash_key hkey;

static void
bench_baseline(struct pkt_info *pis, struct flow_key *keys)
{
	uint64_t acc = 0;
	double   t;
	uint32_t i;

	for (i = 0; i < nflows; i++)
		(void)flow_key_from_pkt(&pis[i], &keys[i]);
	wp_hash_key_fixed(&hkey, "bench");
	t = now_s();
	for (i = 0; i < nflows; i++)
		acc += wp_siphash(&hkey, &keys[i], sizeof(keys[i]));
	record("baseline: hash of the key", now_s() - t, nflows);
	sink = acc;
}

/* Table insert + assignment for every flow, with one algorithm. */
static void
bench_new_flows(const char *algorithm, const char *label,
    const struct pkt_info *pis, const struct flow_key *keys, size_t *memory)
{
	struct balance_spec spec;
	struct flow_table  *ft;
	struct balance     *b;
	double              t;
	uint32_t            i;

	make_spec(algorithm, 0, &spec);
	ft = flow_table_new(nflows, &spec.flow_timeouts);
	b = balance_new(&spec);

	if (ft == NULL || b == NULL) {
		fprintf(stderr, "flow-engine: out of memory\n");
		exit(1);
	}
	/* hash and prefetch a batch, then insert and assign it */
	t = now_s();
	for (i = 0; i < nflows; i += BATCH) {
		uint64_t h[BATCH];
		uint32_t j, m = nflows - i < BATCH ? nflows - i : BATCH;

		for (j = 0; j < m; j++) {
			h[j] = flow_table_hash(ft, &keys[i + j]);
			flow_table_prefetch(ft, h[j]);
		}
		for (j = 0; j < m; j++) {
			struct flow *f =
			    flow_table_insert(ft, &keys[i + j], h[j], 1000);

			(void)balance_assign(b, ft, &pis[i + j], f, 1000);
		}
	}
	record(label, now_s() - t, nflows);
	if (memory != NULL)
		*memory = flow_table_memory(ft);

	if (strcmp(algorithm, "ratio") == 0) {
		/* lookups of the flows just made, in another order */
		uint64_t found = 0;

		t = now_s();
		for (i = 0; i < nflows; i++) {
			uint32_t k =
			    (uint32_t)(((uint64_t)i * 2654435761u) % nflows);

			found += flow_table_lookup(ft, &keys[k],
				     flow_table_hash(ft, &keys[k])) != NULL;
		}
		record("lookup of an existing flow", now_s() - t, nflows);
		if (found != nflows) {
			fprintf(stderr,
			    "flow-engine: lost flows (%llu of "
			    "%u found)\n",
			    (unsigned long long)found, nflows);
			exit(1);
		}
	}
	balance_free(b);
	flow_table_free(ft);
	balance_spec_clear(&spec);
}

/*
 * The daemons' per-packet path: parse, frag, lookup or create (with the
 * link assignment), touch; one packet at a time and in batches.
 */
static void
bench_engine(const char *algorithm, unsigned nrules, const char *single_new,
    const char *batch_new, const char *batch_old, uint8_t *pkts)
{
	struct balance_spec  spec;
	struct engine       *e;
	struct engine_result res[BATCH];
	const uint8_t       *bp[BATCH];
	size_t               lens[BATCH];
	int                  rcs[BATCH], pass;
	double               t;
	uint32_t             i, j;

	make_spec(algorithm, nrules, &spec);
	e = engine_new(&spec);
	for (j = 0; j < BATCH; j++)
		lens[j] = PKTLEN;
	if (e == NULL) {
		fprintf(stderr, "flow-engine: out of memory\n");
		exit(1);
	}
	if (single_new != NULL) {
		t = now_s();
		for (i = 0; i < nflows; i++)
			(void)engine_packet(e, pkts + (size_t)i * PKTLEN,
			    PKTLEN, 0, 1000, &res[0]);
		record(single_new, now_s() - t, nflows);
		t = now_s();
		for (i = 0; i < nflows; i++)
			(void)engine_packet(e, pkts + (size_t)i * PKTLEN,
			    PKTLEN, 0, 1000, &res[0]);
		record("packet path, existing flow", now_s() - t, nflows);
		engine_free(e);
		e = engine_new(&spec);
	}
	/* first pass creates every flow, the second finds them */
	for (pass = 0; pass < 2; pass++) {
		uint64_t made = 0;

		t = now_s();
		for (i = 0; i + BATCH <= nflows; i += BATCH) {
			for (j = 0; j < BATCH; j++)
				bp[j] = pkts + (size_t)(i + j) * PKTLEN;
			engine_packets(e, bp, lens, BATCH, 0, 1000, rcs, res);
			for (j = 0; j < BATCH; j++)
				made += res[j].is_new;
		}
		record(pass == 0 ? batch_new : batch_old, now_s() - t,
		    nflows / BATCH * BATCH);
		if (made != (pass == 0 ? nflows / BATCH * BATCH : 0)) {
			fprintf(stderr,
			    "flow-engine: batch pass %d made %llu "
			    "flows\n",
			    pass, (unsigned long long)made);
			exit(1);
		}
	}
	engine_free(e);
	balance_spec_clear(&spec);
}

static const struct {
	const char *algorithm;
	const char *label;
} algorithms[] = {
    {"ratio", "batch of 32, insert + ratio"},
    {"flow", "batch of 32, insert + flow"},
    {"source-ip", "batch of 32, insert + source-ip"},
    {"destination-ip", "batch of 32, insert + destination-ip"},
    {"round-robin", "batch of 32, insert + round-robin"},
    {"random", "batch of 32, insert + random"},
    {"throughput", "batch of 32, insert + throughput"},
    {"usage", "batch of 32, insert + usage"},
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: flow-engine [--flows N] [--rounds N] "
	    "[--json FILE]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
	    {"flows", required_argument, NULL, 'n'},
	    {"rounds", required_argument, NULL, 'r'},
	    {"json", required_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
	const char      *json = NULL;
	struct pkt_info *pis;
	struct flow_key *keys;
	uint8_t         *pkts;
	size_t           memory = 0, a;
	double           base;
	uint32_t         i;
	int              ch, r;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			nflows = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 'j':
			json = optarg;
			break;
		default:
			usage();
		}
	}
	if (nflows < 1000 || nflows > 16000000 || rounds < 1)
		usage();

	pkts = malloc((size_t)nflows * PKTLEN);
	pis = calloc(nflows, sizeof(*pis));
	keys = calloc(nflows, sizeof(*keys));
	if (pkts == NULL || pis == NULL || keys == NULL) {
		fprintf(stderr, "flow-engine: out of memory\n");
		return 1;
	}
	for (i = 0; i < nflows; i++) {
		make_packet(i, pkts + (size_t)i * PKTLEN);
		if (pkt_parse(pkts + (size_t)i * PKTLEN, PKTLEN, 0, &pis[i]) !=
		    PKT_OK) {
			fprintf(stderr, "flow-engine: test packet rejected\n");
			return 1;
		}
	}

	for (r = 0; r < rounds; r++) {
		bench_baseline(pis, keys);
		for (a = 0; a < sizeof(algorithms) / sizeof(algorithms[0]); a++)
			bench_new_flows(algorithms[a].algorithm,
			    algorithms[a].label, pis, keys,
			    a == 0 ? &memory : NULL);
		bench_engine("ratio", 0, "packet path, new flow (ratio)",
		    "batch of 32, new flow (ratio)",
		    "batch of 32, existing flow", pkts);
		bench_engine("flow", 0, NULL, "batch of 32, new flow (flow)",
		    "batch of 32, existing flow", pkts);
		/* Rules cost a new flow only: every rule tried and none
		 * matching, for a rule set of a size seen in the field and
		 * for the most the loader takes. */
		bench_engine("ratio", 16, NULL,
		    "batch of 32, new flow (16 rules)",
		    "batch of 32, existing (16 rules)", pkts);
		bench_engine("ratio", RULES_MAX, NULL,
		    "batch of 32, new flow (255 rules)",
		    "batch of 32, existing (255 rules)", pkts);
	}

	base = results[0].ns;
	printf("flow engine, %u flows, best of %d rounds, one core\n\n", nflows,
	    rounds);
	printf("%-36s %10s %12s %14s\n", "operation", "ns/op", "M ops/s",
	    "x baseline");
	for (r = 0; r < nresults; r++)
		printf("%-36s %10.1f %12.2f %14.2f\n", results[r].name,
		    results[r].ns, 1e3 / results[r].ns, results[r].ns / base);
	printf("\nmemory: %zu bytes for %u flows = %.1f bytes per flow\n",
	    memory, nflows, (double)memory / nflows);

	if (json != NULL) {
		json_t *root = json_object(), *ops = json_array();
		FILE   *fp;

		for (r = 0; r < nresults; r++)
			json_array_append_new(ops,
			    json_pack("{s:s, s:f, s:f, s:f}", "name",
				results[r].name, "ns_per_op", results[r].ns,
				"mops_per_s", 1e3 / results[r].ns,
				"ratio_to_baseline", results[r].ns / base));
		json_object_set_new(root, "flows", json_integer(nflows));
		json_object_set_new(root, "rounds", json_integer(rounds));
		json_object_set_new(
		    root, "baseline", json_string(results[0].name));
		json_object_set_new(root, "operations", ops);
		json_object_set_new(
		    root, "table_bytes", json_integer((json_int_t)memory));
		json_object_set_new(
		    root, "bytes_per_flow", json_real((double)memory / nflows));
		if ((fp = fopen(json, "w")) == NULL ||
		    json_dumpf(root, fp, JSON_INDENT(2)) != 0 ||
		    fclose(fp) != 0) {
			perror(json);
			return 1;
		}
		json_decref(root);
	}
	free(pkts);
	free(pis);
	free(keys);
	return 0;
}
