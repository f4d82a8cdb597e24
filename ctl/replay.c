#include "autoconf.h"

#include <sys/socket.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "capture.h"
#include "replay.h"

static void
replay_record(void *arg, struct flow *f, enum flow_release why)
{
	struct replay      *r = arg;
	struct replay_flow *rf;
	size_t              ncap;

	(void)why;
	if (!r->want_flows || f->link == FLOW_LINK_NONE)
		return;
	if (r->nflow_list == r->flow_list_cap) {
		ncap = r->flow_list_cap ? r->flow_list_cap * 2 : 1024;
		rf = reallocarray(r->flow_list, ncap, sizeof(*rf));
		if (rf == NULL) {
			r->oom = 1;
			return;
		}
		r->flow_list = rf;
		r->flow_list_cap = ncap;
	}
	rf = &r->flow_list[r->nflow_list++];
	rf->key = f->key;
	rf->packets = f->packets;
	rf->bytes = f->bytes;
	rf->link = f->link;
	rf->a_initiator = (f->flags & FLOW_F_A_INITIATOR) != 0;
	rf->profile = f->profile;
	rf->rule = f->rule;
}

/* A rule as the output names it: its name, else its place in "rules". */
static const char *
rule_label(const struct config *conf, unsigned i, char *buf, size_t len)
{
	if (i >= conf->nrules)
		return NULL;
	if (conf->rules[i].name[0] != '\0')
		return conf->rules[i].name;
	snprintf(buf, len, "rules[%u]", i);
	return buf;
}

static const char *
profile_label(const struct config *conf, unsigned p)
{
	return p < conf->nprofiles ? conf->profiles[p].name : "static";
}

static void
replay_moved(void *arg, const struct flow *f, unsigned from, unsigned to)
{
	struct replay *r = arg;

	(void)f;
	r->links[from].moved_out++;
	r->links[to].moved_in++;
}

int
replay_init(struct replay *r, const struct config *conf, enum balance_side side,
    struct replay_fail *fails, size_t nfails, int want_flows, char *err,
    size_t errlen)
{
	struct balance_spec spec;
	size_t              i, l;

	memset(r, 0, sizeof(*r));
	r->conf = conf;
	r->side = side;
	r->fails = fails;
	r->nfails = nfails;
	r->want_flows = want_flows;
	for (i = 0; i < nfails; i++) {
		fails[i].index = -1;
		for (l = 0; l < conf->nlinks; l++)
			if (strcmp(conf->links[l].name, fails[i].link) == 0)
				fails[i].index = (int)l;
		if (fails[i].index == -1) {
			snprintf(err, errlen,
			    "--fail %s@%g: no link named "
			    "\"%s\" in %s",
			    fails[i].link, fails[i].at_s, fails[i].link,
			    conf->file ? conf->file : "config");
			return -1;
		}
	}
	if (balance_spec_from_config(&spec, conf, side) == -1 ||
	    (r->engine = engine_new(&spec)) == NULL) {
		balance_spec_clear(&spec);
		snprintf(
		    err, errlen, "out of memory for %u flows", conf->flows_max);
		return -1;
	}
	balance_spec_clear(&spec);
	engine_set_release_cb(r->engine, replay_record, r);
	return 0;
}

/* Applies every --fail whose time has come. */
static void
replay_failovers(struct replay *r)
{
	size_t i;

	for (i = 0; i < r->nfails; i++) {
		struct replay_fail *rf = &r->fails[i];
		/* at_s is at most 1e9 (wanpairctl checks): exact in ms. */
		uint64_t at = r->first_ms + (uint64_t)(rf->at_s * 1000);

		if (rf->applied || r->now_ms < at)
			continue;
		rf->moved = engine_link_down(
		    r->engine, (unsigned)rf->index, r->now_ms, replay_moved, r);
		rf->applied = 1;
	}
}

static void
replay_frame(
    struct replay *r, int dlt, const struct pcap_pkthdr *h, const uint8_t *data)
{
	uint64_t t =
	    (uint64_t)h->ts.tv_sec * 1000 + (uint64_t)h->ts.tv_usec / 1000;
	struct engine_result res;
	size_t               off;
	int                  rc, flags;

	r->frames++;
	if (!r->started) {
		r->first_ms = r->now_ms = t;
		r->started = 1;
	}
	/* Captures merged from several interfaces can step back a little;
	 * time never runs backwards for the engine. */
	if (t > r->now_ms)
		r->now_ms = t;
	replay_failovers(r);

	if ((rc = capture_ip_offset(dlt, data, h->caplen, &off)) != 0) {
		r->skipped[-rc]++;
		return;
	}
	flags = h->caplen < h->len ? PKT_F_SNAPLEN : 0;
	rc = engine_packet(
	    r->engine, data + off, h->caplen - off, flags, r->now_ms, &res);
	if (rc != 0)
		return; /* counted in the engine's stats */
	if (res.is_new) {
		r->links[res.link].flows++;
		if (res.rule >= 0 && res.rule < RULES_MAX)
			r->rule_flows[res.rule]++;
		else
			r->table_flows++;
	}
	if (!balance_link_is_up(engine_balance(r->engine), res.link)) {
		r->dropped++;
		return;
	}
	r->links[res.link].packets++;
	r->links[res.link].bytes += res.len;
	r->packets++;
	r->bytes += res.len;
}

int
replay_pcap(struct replay *r, pcap_t *p, char *err, size_t errlen)
{
	struct pcap_pkthdr *h;
	const u_char       *data;
	int                 dlt = pcap_datalink(p), rc;

	if (!capture_linktype_supported(dlt)) {
		snprintf(err, errlen,
		    "unsupported link type %s (%d): "
		    "wanpairctl reads Ethernet, Linux cooked (SLL, SLL2), "
		    "raw IP and BSD loopback captures",
		    pcap_datalink_val_to_name(dlt)
			? pcap_datalink_val_to_name(dlt)
			: "?",
		    dlt);
		return -1;
	}
	while ((rc = pcap_next_ex(p, &h, &data)) == 1)
		replay_frame(r, dlt, h, data);
	if (rc == PCAP_ERROR) {
		snprintf(err, errlen, "%s", pcap_geterr(p));
		return -1;
	}
	return 0;
}

void
replay_finish(struct replay *r)
{
	const struct engine_stats *st;
	int                        i;

	if (r->engine == NULL)
		return;
	st = engine_stats(r->engine);
	for (i = 1; i < PKT_NREASONS; i++)
		r->skipped[i] += st->skipped[i];
	/* Freeing the engine releases the open flows into the flow list. */
	engine_free(r->engine);
	r->engine = NULL;
}

void
replay_free(struct replay *r)
{
	engine_free(r->engine);
	r->engine = NULL;
	free(r->flow_list);
	r->flow_list = NULL;
}

static double
share(uint64_t part, uint64_t whole)
{
	return whole == 0 ? 0.0 : (double)part / (double)whole;
}

struct totals {
	uint64_t weight, flows, packets, bytes;
};

static void
replay_totals(const struct replay *r, struct totals *t)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < r->conf->nlinks; i++) {
		t->weight +=
		    config_link_weight(r->conf, i, r->side == SIDE_DOWN);
		t->flows += r->links[i].flows;
		t->packets += r->links[i].packets;
		t->bytes += r->links[i].bytes;
	}
}

static const char *
side_name(enum balance_side side)
{
	return side == SIDE_DOWN ? "down" : "up";
}

/* One line per flow, src -> dst as the first packet went. */
static void
replay_print_flows(const struct replay *r, FILE *fp)
{
	char   src[ADDR_STRLEN], dst[ADDR_STRLEN];
	size_t i;

	char rb[32];
	int  rules = r->conf->nrules > 0;

	/* The profile and rule columns only when there are rules: the
	 * output of a config without them stays as it was. */
	fprintf(fp, "\n%-39s %5s  %-39s %5s %5s %-8s", "source", "port",
	    "destination", "port", "proto", "link");
	if (rules)
		fprintf(fp, " %-12s %-12s", "profile", "rule");
	fprintf(fp, " %9s %12s\n", "packets", "bytes");
	for (i = 0; i < r->nflow_list; i++) {
		const struct replay_flow *rf = &r->flow_list[i];
		const struct flow_key    *k = &rf->key;
		const char               *rl;

		addr_ntop_raw(
		    k->family, rf->a_initiator ? k->a : k->b, src, sizeof(src));
		addr_ntop_raw(
		    k->family, rf->a_initiator ? k->b : k->a, dst, sizeof(dst));
		fprintf(fp, "%-39s %5u  %-39s %5u %5u %-8s", src,
		    rf->a_initiator ? k->pa : k->pb, dst,
		    rf->a_initiator ? k->pb : k->pa, k->proto,
		    r->conf->links[rf->link].name);
		if (rules) {
			rl = rule_label(r->conf, rf->rule, rb, sizeof(rb));
			fprintf(fp, " %-12s %-12s",
			    profile_label(r->conf, rf->profile),
			    rl != NULL ? rl : "-");
		}
		fprintf(fp, " %9llu %12llu\n", (unsigned long long)rf->packets,
		    (unsigned long long)rf->bytes);
	}
}

/* New flows by rule, in rule order, then those the route table placed. */
static void
replay_print_rules(const struct replay *r, FILE *fp)
{
	char   rb[32];
	size_t i;

	fprintf(fp, "\n%-16s %-16s %9s\n", "rule", "profile", "flows");
	for (i = 0; i < r->conf->nrules; i++)
		fprintf(fp, "%-16s %-16s %9llu\n",
		    rule_label(r->conf, (unsigned)i, rb, sizeof(rb)),
		    profile_label(r->conf, (unsigned)r->conf->rules[i].profile),
		    (unsigned long long)r->rule_flows[i]);
	fprintf(fp, "%-16s %-16s %9llu\n", "(route table)", "-",
	    (unsigned long long)r->table_flows);
}

void
replay_print_table(const struct replay *r, FILE *fp, const char *name)
{
	struct totals t;
	size_t        i;
	int           w = 4, any = 0;

	replay_totals(r, &t);
	for (i = 0; i < r->conf->nlinks; i++)
		if ((int)strlen(r->conf->links[i].name) > w)
			w = (int)strlen(r->conf->links[i].name);
	fprintf(fp, "%s: %llu frames, %llu flows, %s side (%s weights)\n\n",
	    name, (unsigned long long)r->frames, (unsigned long long)t.flows,
	    side_name(r->side), r->side == SIDE_DOWN ? "down_mbps" : "up_mbps");
	fprintf(fp, "%-*s %8s %7s %9s %7s %11s %7s %14s %7s %9s %9s\n", w,
	    "link", "weight", "share", "flows", "share", "packets", "share",
	    "bytes", "share", "moved in", "moved out");
	for (i = 0; i < r->conf->nlinks; i++) {
		const struct replay_link *l = &r->links[i];
		uint32_t                  wt =
		    config_link_weight(r->conf, i, r->side == SIDE_DOWN);

		fprintf(fp,
		    "%-*s %8u %6.2f%% %9llu %6.2f%% %11llu %6.2f%% "
		    "%14llu %6.2f%% %9llu %9llu\n",
		    w, r->conf->links[i].name, wt, 100 * share(wt, t.weight),
		    (unsigned long long)l->flows,
		    100 * share(l->flows, t.flows),
		    (unsigned long long)l->packets,
		    100 * share(l->packets, t.packets),
		    (unsigned long long)l->bytes,
		    100 * share(l->bytes, t.bytes),
		    (unsigned long long)l->moved_in,
		    (unsigned long long)l->moved_out);
	}
	for (i = 0; i < r->nfails; i++) {
		const struct replay_fail *f = &r->fails[i];

		if (f->applied)
			fprintf(fp,
			    "\nfailover: %s down at %.3f s, %llu flows "
			    "moved",
			    f->link, f->at_s, (unsigned long long)f->moved);
		else
			fprintf(fp,
			    "\nfailover: %s at %.3f s not reached: "
			    "the capture ends earlier",
			    f->link, f->at_s);
	}
	if (r->nfails > 0)
		fputc('\n', fp);
	if (r->conf->nrules > 0)
		replay_print_rules(r, fp);
	if (r->dropped > 0)
		fprintf(fp, "\ndropped: %llu packets (no link up)\n",
		    (unsigned long long)r->dropped);
	for (i = 1; i < PKT_NREASONS; i++) {
		if (r->skipped[i] == 0)
			continue;
		fprintf(fp, "%s %s %llu",
		    any ? "," : "\nskipped:", pkt_reason_str(-(int)i),
		    (unsigned long long)r->skipped[i]);
		any = 1;
	}
	if (any)
		fputc('\n', fp);
	if (r->want_flows)
		replay_print_flows(r, fp);
}

/* Rounds a share to 4 decimals, the precision the output promises. */
static json_t *
json_share(uint64_t part, uint64_t whole)
{
	double v = share(part, whole);

	return json_real((double)(int64_t)(v * 10000 + 0.5) / 10000);
}

static json_t *
json_flow_list(const struct replay *r)
{
	json_t *list = json_array();
	char    src[ADDR_STRLEN], dst[ADDR_STRLEN];
	size_t  i;

	for (i = 0; list != NULL && i < r->nflow_list; i++) {
		const struct replay_flow *rf = &r->flow_list[i];
		const struct flow_key    *k = &rf->key;
		const uint8_t            *s = rf->a_initiator ? k->a : k->b;
		const uint8_t            *d = rf->a_initiator ? k->b : k->a;

		const char *rl;
		char        rb[32];

		addr_ntop_raw(k->family, s, src, sizeof(src));
		addr_ntop_raw(k->family, d, dst, sizeof(dst));
		rl = rule_label(r->conf, rf->rule, rb, sizeof(rb));
		json_array_append_new(list,
		    json_pack("{s:s, s:s, s:i, s:i, s:i, s:s, s:s, s:s?, s:I, "
			      "s:I}",
			"src", src, "dst", dst, "sport",
			rf->a_initiator ? k->pa : k->pb, "dport",
			rf->a_initiator ? k->pb : k->pa, "proto", k->proto,
			"link", r->conf->links[rf->link].name, "profile",
			profile_label(r->conf, rf->profile), "rule", rl,
			"packets", (json_int_t)rf->packets, "bytes",
			(json_int_t)rf->bytes));
	}
	return list;
}

static json_t *
json_rules(const struct replay *r)
{
	json_t *list = json_array();
	char    rb[32];
	size_t  i;

	for (i = 0; list != NULL && i < r->conf->nrules; i++)
		json_array_append_new(list,
		    json_pack("{s:s, s:s, s:I}", "rule",
			rule_label(r->conf, (unsigned)i, rb, sizeof(rb)),
			"profile",
			profile_label(
			    r->conf, (unsigned)r->conf->rules[i].profile),
			"flows", (json_int_t)r->rule_flows[i]));
	json_array_append_new(list,
	    json_pack("{s:n, s:n, s:I}", "rule", "profile", "flows",
		(json_int_t)r->table_flows));
	return list;
}

int
replay_print_json(const struct replay *r, FILE *fp)
{
	json_t       *root, *links, *skipped, *fails;
	struct totals t;
	size_t        i;
	int           rc = -1;

	replay_totals(r, &t);
	root = json_object();
	links = json_array();
	skipped = json_object();
	fails = json_array();
	if (root == NULL || links == NULL || skipped == NULL || fails == NULL)
		goto out;
	for (i = 0; i < r->conf->nlinks; i++) {
		const struct replay_link *l = &r->links[i];
		uint32_t                  wt =
		    config_link_weight(r->conf, i, r->side == SIDE_DOWN);

		json_array_append_new(links,
		    json_pack("{s:s, s:I, s:o, s:I, s:o, s:I, s:o, s:I, s:o, "
			      "s:I, s:I}",
			"name", r->conf->links[i].name, "weight",
			(json_int_t)wt, "weight_share",
			json_share(wt, t.weight), "flows", (json_int_t)l->flows,
			"flow_share", json_share(l->flows, t.flows), "packets",
			(json_int_t)l->packets, "packet_share",
			json_share(l->packets, t.packets), "bytes",
			(json_int_t)l->bytes, "byte_share",
			json_share(l->bytes, t.bytes), "moved_in",
			(json_int_t)l->moved_in, "moved_out",
			(json_int_t)l->moved_out));
	}
	for (i = 1; i < PKT_NREASONS; i++)
		if (r->skipped[i] > 0)
			json_object_set_new(skipped, pkt_reason_str(-(int)i),
			    json_integer((json_int_t)r->skipped[i]));
	for (i = 0; i < r->nfails; i++)
		json_array_append_new(fails,
		    json_pack("{s:s, s:f, s:b, s:I}", "link", r->fails[i].link,
			"at", r->fails[i].at_s, "applied", r->fails[i].applied,
			"moved", (json_int_t)r->fails[i].moved));

	json_object_set_new(root, "side", json_string(side_name(r->side)));
	json_object_set(root, "links", links);
	json_object_set_new(
	    root, "frames", json_integer((json_int_t)r->frames));
	json_object_set_new(root, "flows", json_integer((json_int_t)t.flows));
	json_object_set_new(
	    root, "packets", json_integer((json_int_t)r->packets));
	json_object_set_new(root, "bytes", json_integer((json_int_t)r->bytes));
	json_object_set_new(
	    root, "dropped", json_integer((json_int_t)r->dropped));
	json_object_set(root, "skipped", skipped);
	json_object_set(root, "failovers", fails);
	if (r->conf->nrules > 0)
		json_object_set_new(root, "rules", json_rules(r));
	if (r->want_flows)
		json_object_set_new(root, "flow_list", json_flow_list(r));
	if (json_dumpf(root, fp, JSON_INDENT(1) | JSON_REAL_PRECISION(6)) ==
		0 &&
	    fputc('\n', fp) != EOF)
		rc = 0;
out:
	json_decref(links);
	json_decref(skipped);
	json_decref(fails);
	json_decref(root);
	return rc;
}
