#include "autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "config-int.h"
#include "dup.h"

static const char *const algorithm_names[] = {
    [BAL_RATIO] = "ratio",
    [BAL_FLOW] = "flow",
    [BAL_SOURCE_IP] = "source-ip",
    [BAL_DESTINATION_IP] = "destination-ip",
    [BAL_ROUND_ROBIN] = "round-robin",
    [BAL_RANDOM] = "random",
    [BAL_THROUGHPUT] = "throughput",
    [BAL_USAGE] = "usage",
};
static const char *const stickiness_names[] = {
    [STICKY_NONE] = "none",
    [STICKY_SOURCE_IP] = "source-ip",
    [STICKY_SOURCE_NETWORK] = "source-network",
    [STICKY_DESTINATION_IP] = "destination-ip",
    [STICKY_DESTINATION_NETWORK] = "destination-network",
};
static const char *const keepalive_names[] = {
    [KEEPALIVE_DEADLINE] = "deadline",
    [KEEPALIVE_FOREVER] = "forever",
    [KEEPALIVE_TIMEOUT] = "timeout",
    [KEEPALIVE_USAGE] = "usage",
};
static const char *const failback_names[] = {
    [FAILBACK_NEW_FLOWS] = "new-flows",
    [FAILBACK_REBALANCE] = "rebalance",
};
/* The keys each object may have: anything else is an error. */
static const char *const socketd_keys[] = {"site", "links", "default_profile",
    "profiles", "routes", "flows", "probe", "failback", "pop", "tls", "tun",
    "lan", "metrics", "session_grace_s", "offload", "workers", "rules", NULL};
static const char *const popd_keys[] = {"sites", "default_profile", "profiles",
    "flows", "probe", "failback", "listen", "tls", "tun", "metrics", "limits",
    "session_grace_s", "offload", "workers", "sites_dir", "cluster", "rules",
    NULL};
static const char *const profile_keys[] = {"name", "algorithm", "stickiness",
    "source_prefix", "source_prefix6", "destination_prefix",
    "destination_prefix6", "keepalive", "timeout_s", "max_groups", "sla",
    "duplicate", "duplicate_max_pps", NULL};
static const char *const sla_keys[] = {"loss_pct", "latency_ms", "jitter_ms",
    "window_s", "good_windows", "on_violation", NULL};
static const char *const sla_action_names[] = {
    [SLA_AVOID] = "avoid",
    [SLA_MOVE] = "move",
};
static const char *const flows_keys[] = {"max", "tcp_timeout_s",
    "tcp_closing_timeout_s", "udp_timeout_s", "icmp_timeout_s",
    "other_timeout_s", NULL};
static const char *const popd_flows_keys[] = {"max", "site_max",
    "tcp_timeout_s", "tcp_closing_timeout_s", "udp_timeout_s", "icmp_timeout_s",
    "other_timeout_s", NULL};
static const struct {
	const char     *key;
	enum flow_class cls;
	uint32_t        def;
} flow_timeout_keys[] = {
    {"tcp_timeout_s", FLOW_TCP, 3600},
    {"tcp_closing_timeout_s", FLOW_TCP_CLOSING, 10},
    {"udp_timeout_s", FLOW_UDP, 60},
    {"icmp_timeout_s", FLOW_ICMP, 30},
    {"other_timeout_s", FLOW_OTHER, 60},
};

const char *
config_algorithm_name(enum balance_alg a)
{
	return (size_t)a < sizeof(algorithm_names) / sizeof(algorithm_names[0])
	    ? algorithm_names[a]
	    : "?";
}

const char *
config_stickiness_name(enum sticky_mode s)
{
	return (size_t)s <
		sizeof(stickiness_names) / sizeof(stickiness_names[0])
	    ? stickiness_names[s]
	    : "?";
}

const char *
config_keepalive_name(enum keepalive_mode k)
{
	return (size_t)k < sizeof(keepalive_names) / sizeof(keepalive_names[0])
	    ? keepalive_names[k]
	    : "?";
}

uint32_t
config_link_weight(const struct config *conf, size_t link, int downstream)
{
	const struct config_link *l = &conf->links[link];

	if (l->weight != 0)
		return l->weight;
	return downstream ? l->down_mbps : l->up_mbps;
}

uint32_t
config_route_weight(
    const struct config *conf, const struct config_route *r, int downstream)
{
	if (r->weight != 0)
		return r->weight;
	return config_link_weight(conf, (size_t)r->link, downstream);
}

/* ------------------------------------------------------------ sections */

static void
profile_defaults(struct config_profile *p)
{
	memset(p, 0, sizeof(*p));
	p->algorithm = BAL_RATIO;
	p->stickiness = STICKY_NONE;
	p->source_prefix = 24;
	p->source_prefix6 = 64;
	p->destination_prefix = 24;
	p->destination_prefix6 = 64;
	p->keepalive = KEEPALIVE_TIMEOUT;
	p->timeout_s = STICKY_TIMEOUT_DEFAULT;
	p->max_groups = MAX_GROUPS_DEFAULT;
	p->sla.loss_ppm = SLA_NO_LIMIT;
	p->sla.latency_us = SLA_NO_LIMIT;
	p->sla.jitter_us = SLA_NO_LIMIT;
	p->sla.window_ms = SLA_WINDOW_DEFAULT * 1000;
	p->sla.good_windows = SLA_GOOD_WINDOWS_DEFAULT;
	p->sla.on_violation = SLA_AVOID;
	p->duplicate_max_pps = DUP_MAX_PPS_DEFAULT;
	p->dup_slot = -1;
}

/* loss_pct: a percentage, fractions allowed (0.5), 0 up to below 100. */
static void
sla_loss(struct cparse *cp, json_t *o, int node, struct sla_limits *l)
{
	json_t *v;
	double  pct;
	int     vnode;

	if ((v = cfg_member(cp, o, node, "loss_pct", &vnode)) == NULL)
		return;
	if (!json_is_number(v)) {
		cfg_report(cp, vnode, "must be a number, got %s",
		    jsonpos_type_name(v));
		return;
	}
	pct = json_number_value(v);
	if (!(pct >= 0 && pct < 100)) {
		cfg_report(cp, vnode,
		    "must be a percentage from 0 to below 100, got %g", pct);
		return;
	}
	l->loss_ppm = (uint32_t)(pct * 10000 + 0.5);
}

/* A profile's "sla" (sla.h): the limits, at least one of them. */
static void
parse_sla(struct cparse *cp, json_t *o, int node, struct config_profile *p)
{
	struct sla_limits *l = &p->sla;
	json_t            *s;
	uint32_t           v;
	int                snode, a;

	if (cfg_get_container(cp, o, node, "sla", JSON_OBJECT, &s, &snode) != 1)
		return;
	if (cp->kind == CONFIG_POPD) {
		/* One judge: the PoP applies the Socket's verdicts. */
		cfg_report_key(cp, snode,
		    "only in socketd.json: the PoP follows the Socket's "
		    "verdicts (LINK_STATE)");
		return;
	}
	p->has_sla = 1;
	cfg_check_keys(cp, s, snode, sla_keys);
	sla_loss(cp, s, snode, l);
	if (cfg_get_uint(cp, s, snode, "latency_ms", 1, SLA_MS_MAX, &v) == 1)
		l->latency_us = v * 1000;
	if (cfg_get_uint(cp, s, snode, "jitter_ms", 1, SLA_MS_MAX, &v) == 1)
		l->jitter_us = v * 1000;
	if (cfg_get_uint(cp, s, snode, "window_s", 1, SLA_WINDOW_MAX, &v) == 1)
		l->window_ms = v * 1000;
	(void)cfg_get_uint(cp, s, snode, "good_windows", 1,
	    SLA_GOOD_WINDOWS_MAX, &l->good_windows);
	if (cfg_get_enum(cp, s, snode, "on_violation", sla_action_names,
		NELEM(sla_action_names), &a) == 1)
		l->on_violation = (enum sla_action)a;
	if (json_object_get(s, "loss_pct") == NULL &&
	    json_object_get(s, "latency_ms") == NULL &&
	    json_object_get(s, "jitter_ms") == NULL)
		cfg_report(cp, snode,
		    "sets no limit: give loss_pct, latency_ms or jitter_ms");
}

/* source_prefix and friends: a value, and whether it applies at all. */
static void
profile_prefix(struct cparse *cp, json_t *o, int node, const char *key,
    uint32_t max, uint8_t *out, int applies, const char *mode)
{
	uint32_t v;
	int      vnode;

	if (cfg_get_uint(cp, o, node, key, 1, max, &v) != 1)
		return;
	*out = (uint8_t)v;
	if (!applies) {
		(void)cfg_member(cp, o, node, key, &vnode);
		cfg_report(
		    cp, vnode, "has no effect unless stickiness is %s", mode);
	}
}

static void
parse_profile(struct cparse *cp, json_t *o, int node, struct config_profile *p)
{
	uint32_t min_timeout;
	int      r_sticky, r_keep, r, v, vnode, known, none;

	cfg_check_keys(cp, o, node, profile_keys);
	if (cfg_get_name(cp, o, node, "name", p->name, sizeof(p->name),
		JSONPOS_NAME_WORD) == 0)
		cfg_missing(cp, node, "name");
	if (cfg_get_enum(cp, o, node, "algorithm", algorithm_names,
		NELEM(algorithm_names), &v) == 1)
		p->algorithm = (enum balance_alg)v;
	if ((r_sticky = cfg_get_enum(cp, o, node, "stickiness",
		 stickiness_names, NELEM(stickiness_names), &v)) == 1)
		p->stickiness = (enum sticky_mode)v;
	if ((r_keep = cfg_get_enum(cp, o, node, "keepalive", keepalive_names,
		 NELEM(keepalive_names), &v)) == 1)
		p->keepalive = (enum keepalive_mode)v;

	/* With a bad stickiness we cannot tell what applies: say nothing. */
	known = r_sticky != -1;
	none = known && p->stickiness == STICKY_NONE;

	profile_prefix(cp, o, node, "source_prefix", 32, &p->source_prefix,
	    !known || p->stickiness == STICKY_SOURCE_NETWORK, "source-network");
	profile_prefix(cp, o, node, "source_prefix6", 128, &p->source_prefix6,
	    !known || p->stickiness == STICKY_SOURCE_NETWORK, "source-network");
	profile_prefix(cp, o, node, "destination_prefix", 32,
	    &p->destination_prefix,
	    !known || p->stickiness == STICKY_DESTINATION_NETWORK,
	    "destination-network");
	profile_prefix(cp, o, node, "destination_prefix6", 128,
	    &p->destination_prefix6,
	    !known || p->stickiness == STICKY_DESTINATION_NETWORK,
	    "destination-network");

	if (r_keep == 1 && none) {
		(void)cfg_member(cp, o, node, "keepalive", &vnode);
		cfg_report(cp, vnode, "has no effect without stickiness");
	}

	/* Under usage, 0 means "drop the group with its last flow". */
	if (p->keepalive == KEEPALIVE_USAGE ||
	    p->keepalive == KEEPALIVE_FOREVER)
		p->timeout_s = 0;
	min_timeout = r_keep == -1 || p->keepalive == KEEPALIVE_USAGE ? 0 : 1;
	if ((r = cfg_get_uint(cp, o, node, "timeout_s", min_timeout,
		 STICKY_TIMEOUT_MAX, &p->timeout_s)) == 1) {
		(void)cfg_member(cp, o, node, "timeout_s", &vnode);
		if (none)
			cfg_report(
			    cp, vnode, "has no effect without stickiness");
		else if (r_keep == 1 && p->keepalive == KEEPALIVE_FOREVER)
			cfg_report(cp, vnode,
			    "has no effect with keepalive "
			    "forever");
	}
	if (cfg_get_uint(cp, o, node, "max_groups", 1, MAX_GROUPS_MAX,
		&p->max_groups) == 1 &&
	    none) {
		(void)cfg_member(cp, o, node, "max_groups", &vnode);
		cfg_report(cp, vnode, "has no effect without stickiness");
	}
	parse_sla(cp, o, node, p);

	(void)cfg_get_bool(cp, o, node, "duplicate", &p->duplicate);
	if (cfg_get_uint(cp, o, node, "duplicate_max_pps", 1, DUP_MAX_PPS_MAX,
		&p->duplicate_max_pps) == 1 &&
	    !p->duplicate) {
		(void)cfg_member(cp, o, node, "duplicate_max_pps", &vnode);
		cfg_report(cp, vnode, "has no effect without duplicate");
	}
}

static void
parse_profiles(struct cparse *cp, struct config *conf, json_t *root)
{
	json_t *arr, *o;
	size_t  i, n;
	int     arrnode, node, vnode, ndup = 0;

	if (cfg_get_container(
		cp, root, 0, "profiles", JSON_ARRAY, &arr, &arrnode) != 1 ||
	    (n = json_array_size(arr)) == 0)
		return;
	if ((conf->profiles = calloc(n, sizeof(*conf->profiles))) == NULL ||
	    (cp->profidx = calloc(n, sizeof(*cp->profidx))) == NULL) {
		cp->nomem = 1;
		return;
	}
	conf->nprofiles = n;
	for (i = 0; i < n; i++) {
		o = json_array_get(arr, i);
		node = jsonpos_element(cp->pos, arrnode, i);
		profile_defaults(&conf->profiles[i]);
		if (!json_is_object(o))
			cfg_report(cp, node, "must be an object, got %s",
			    jsonpos_type_name(o));
		else
			parse_profile(cp, o, node, &conf->profiles[i]);
		/* Each sender keeps a rate bucket per duplicating profile:
		 * their number bounds its state. */
		if (conf->profiles[i].duplicate && ndup == DUP_MAX_PROFILES) {
			(void)cfg_member(cp, o, node, "duplicate", &vnode);
			cfg_report(cp, vnode,
			    "at most %d profiles may duplicate",
			    DUP_MAX_PROFILES);
		} else if (conf->profiles[i].duplicate)
			conf->profiles[i].dup_slot = ndup++;
		if (conf->profiles[i].name[0] != '\0') {
			cp->profidx[cp->nprofidx].name = conf->profiles[i].name;
			cp->profidx[cp->nprofidx++].i = i;
		}
	}
	cfg_check_duplicates(cp, cp->profidx, cp->nprofidx, arrnode, "profiles",
	    "name", "profile name", 0);
}

static void
parse_default_profile(struct cparse *cp, struct config *conf, json_t *root)
{
	struct quoted q;
	const char   *s;
	int           node, i;

	if (cfg_get_string(cp, root, 0, "default_profile", &s, &node) != 1)
		return;
	if ((i = cfg_find_name(cp->profidx, cp->nprofidx, s)) == -1)
		cfg_report(cp, node, "no profile named %s", cfg_quote(&q, s));
	else
		conf->default_profile = i;
}

static void
parse_flows(struct cparse *cp, struct config *conf, json_t *root)
{
	json_t *o;
	size_t  i;
	int     node;

	if (cfg_get_container(cp, root, 0, "flows", JSON_OBJECT, &o, &node) !=
	    1)
		return;
	cfg_check_keys(cp, o, node,
	    cp->kind == CONFIG_POPD ? popd_flows_keys : flows_keys);
	(void)cfg_get_uint(
	    cp, o, node, "max", 1, FLOWS_MAX_MAX, &conf->flows_max);
	if (cp->kind == CONFIG_POPD &&
	    cfg_get_uint(cp, o, node, "site_max", 1, FLOWS_MAX_MAX,
		&conf->flows_site_max) == 1 &&
	    conf->flows_site_max > conf->flows_max) {
		int vnode;

		(void)cfg_member(cp, o, node, "site_max", &vnode);
		cfg_report(cp, vnode, "%u is more than flows.max (%u)",
		    conf->flows_site_max, conf->flows_max);
	}
	for (i = 0; i < NELEM(flow_timeout_keys); i++)
		(void)cfg_get_uint(cp, o, node, flow_timeout_keys[i].key, 1,
		    FLOW_TIMEOUT_MAX,
		    &conf->flow_timeouts.s[flow_timeout_keys[i].cls]);
}

static void
parse_root(struct cparse *cp, struct config *conf, json_t *root)
{
	int v;

	cfg_check_keys(
	    cp, root, 0, cp->kind == CONFIG_POPD ? popd_keys : socketd_keys);
	if (cp->kind != CONFIG_POPD &&
	    cfg_get_name(cp, root, 0, "site", conf->site, sizeof(conf->site),
		JSONPOS_NAME_TEXT) == 0 &&
	    cp->kind == CONFIG_SOCKETD)
		cfg_missing(cp, 0, "site");
	/* Profiles first: links and routes refer to them by name. */
	parse_profiles(cp, conf, root);
	parse_default_profile(cp, conf, root);
	cfg_parse_rules(cp, conf, root);
	/* Flows before sites: a site's flows_max is checked against them. */
	parse_flows(cp, conf, root);
	if (cp->kind == CONFIG_POPD)
		cfg_parse_sites(cp, conf, root);
	else {
		cfg_parse_links(cp, conf, root);
		cfg_parse_routes(cp, conf, root);
	}
	cfg_parse_probe(cp, conf, root);
	cfg_parse_endpoint(
	    cp, conf, root, cp->kind == CONFIG_POPD ? "listen" : "pop");
	if (cp->kind != CONFIG_POPD)
		cfg_resolve_pops(cp, conf);
	cfg_parse_tls(cp, conf, root);
	cfg_parse_tun(cp, conf, root);
	cfg_parse_metrics(cp, conf, root);
	if (cp->kind == CONFIG_POPD) {
		cfg_parse_limits(cp, conf, root);
		cfg_parse_cluster(cp, conf, root);
	}
	if (cp->kind != CONFIG_POPD &&
	    cfg_get_prefix_list(cp, root, 0, "lan", &conf->lan, &conf->nlan) ==
		0 &&
	    cp->kind == CONFIG_SOCKETD)
		cfg_missing(cp, 0, "lan");
	if (cfg_get_enum(cp, root, 0, "failback", failback_names,
		NELEM(failback_names), &v) == 1)
		conf->failback = (enum failback_mode)v;
	(void)cfg_get_uint(cp, root, 0, "session_grace_s", SESSION_GRACE_MIN,
	    SESSION_GRACE_MAX, &conf->session_grace_s);
	(void)cfg_get_bool(cp, root, 0, "offload", &conf->offload);
	/* 0 (absent): one per CPU (config_workers()). */
	(void)cfg_get_uint(
	    cp, root, 0, "workers", 1, PROTO_MAX_WORKERS, &conf->workers);
	if (cp->kind == CONFIG_POPD)
		cfg_check_cluster_workers(cp, conf, root);
}

/*
 * What the loader adds to a valid config.  Without routes every link
 * carries 0.0.0.0/0 and ::/0 in the default profile, or in a profile
 * named "default", added if there is none.  popd has no routes: it
 * balances a site's return traffic in that same profile, so it always
 * gets a default_profile.
 */
static void
add_implicit(struct cparse *cp, struct config *conf)
{
	struct config_profile *profiles;
	int                    prof;

	if (cp->kind != CONFIG_POPD && conf->nroutes > 0)
		return;
	if ((prof = conf->default_profile) == -1 &&
	    (prof = cfg_find_name(cp->profidx, cp->nprofidx, "default")) ==
		-1) {
		if ((profiles = reallocarray(conf->profiles,
			 conf->nprofiles + 1, sizeof(*profiles))) == NULL) {
			cp->nomem = 1;
			return;
		}
		conf->profiles = profiles;
		prof = (int)conf->nprofiles++;
		profile_defaults(&profiles[prof]);
		memcpy(profiles[prof].name, "default", sizeof("default"));
		profiles[prof].implicit = 1;
	}
	if (cp->kind == CONFIG_POPD) {
		conf->default_profile = prof;
		return;
	}
	if (config_default_routes(conf, prof) == -1)
		cp->nomem = 1;
}

/* The index in an array of n structs `stride` bytes apart whose names
 * (a char array) start at `first`, or -1. */
static int
index_named(const char *first, size_t n, size_t stride, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(first + i * stride, name) == 0)
			return (int)i;
	return -1;
}

unsigned
config_workers(const struct config *conf)
{
	long n;

	if (conf->workers != 0)
		return conf->workers;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > PROTO_MAX_WORKERS ? PROTO_MAX_WORKERS : (unsigned)n;
}

int
config_link_index(const struct config *c, const char *name)
{
	return c->nlinks == 0 ? -1
			      : index_named(c->links[0].name, c->nlinks,
				    sizeof(c->links[0]), name);
}

int
config_site_index(const struct config *c, const char *name)
{
	return c->nsites == 0 ? -1
			      : index_named(c->sites[0].name, c->nsites,
				    sizeof(c->sites[0]), name);
}

int
config_default_routes(struct config *conf, int profile)
{
	struct config_route *rt;
	int                  prof[RULES_MAX + 1];
	size_t               i, per, np;

	if (conf->nroutes > 0 || conf->nlinks == 0)
		return 0;
	np = (size_t)rules_profiles(conf->ruleset, profile, prof);
	per = conf->nlinks * 2;
	if (np == 0)
		return 0;
	if ((conf->routes = calloc(per * np, sizeof(*conf->routes))) == NULL)
		return -1;
	for (i = 0; i < per * np; i++) {
		rt = &conf->routes[i];
		/* Zeroed: 0.0.0.0/0 and ::/0 need only the family. */
		rt->network.addr.family = i % 2 == 0 ? AF_INET : AF_INET6;
		rt->link = (int)(i % per / 2);
		rt->metric = METRIC_DEFAULT;
		rt->profile = prof[i / per];
		rt->implicit = 1;
	}
	conf->nroutes = per * np;
	return 0;
}

/* ------------------------------------------------------------ entry */

static struct config *
config_new(enum config_kind kind, const char *name)
{
	struct config *conf;
	size_t         i;

	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		return NULL;
	if ((conf->file = strdup(name)) == NULL) {
		free(conf);
		return NULL;
	}
	conf->kind = kind;
	conf->default_profile = -1;
	conf->flows_max = FLOWS_MAX_DEFAULT;
	for (i = 0; i < NELEM(flow_timeout_keys); i++)
		conf->flow_timeouts.s[flow_timeout_keys[i].cls] =
		    flow_timeout_keys[i].def;
	conf->probe_interval_ms = PROBE_INTERVAL_DEFAULT;
	conf->probe_down_after = PROBE_DOWN_DEFAULT;
	conf->probe_up_after = PROBE_UP_DEFAULT;
	conf->failback = FAILBACK_NEW_FLOWS;
	conf->session_grace_s = SESSION_GRACE_DEFAULT;
	conf->offload = 1;
	conf->endpoints[0].data_port = CONFIG_DATA_PORT;
	conf->endpoints[0].control_port = CONFIG_CONTROL_PORT;
	memcpy(conf->tun.name, CONFIG_TUN_NAME, sizeof(CONFIG_TUN_NAME));
	conf->limits.handshakes = HANDSHAKES_DEFAULT;
	conf->limits.handshakes_per_source = HANDSHAKES_PER_SOURCE_DEFAULT;
	conf->limits.handshake_timeout_s = HANDSHAKE_TIMEOUT_DEFAULT;
	conf->limits.connections = CONNECTIONS_DEFAULT;
	conf->limits.output_kib = OUTPUT_KIB_DEFAULT;
	conf->limits.frames_per_s = FRAMES_PER_S_DEFAULT;
	conf->limits.frame_burst = FRAME_BURST_DEFAULT;
	conf->limits.input_kib_per_s = INPUT_KIB_DEFAULT;
	conf->limits.input_total_kib_per_s = INPUT_TOTAL_KIB_DEFAULT;
	return conf;
}

static struct config *
parse_text(const char *text, size_t len, const char *name,
    enum config_kind kind, int readdir, struct config_errors *errs)
{
	struct config *conf = NULL;
	struct cparse  cp;
	json_t        *root = NULL;

	memset(&cp, 0, sizeof(cp));
	cp.name = name != NULL ? name : "-";
	cp.kind = kind;
	if (len > CONFIG_MAX_BYTES) {
		cfg_report_at(&cp, 0, 0, "(file)", "larger than %d bytes",
		    CONFIG_MAX_BYTES);
		goto out;
	}
	if (cfg_load_json(&cp, text, len, &root) == -1)
		goto out;
	if ((conf = config_new(kind, cp.name)) == NULL) {
		cp.nomem = 1;
		goto out;
	}
	if (!json_is_object(root))
		cfg_report(&cp, 0, "must be an object, got %s",
		    jsonpos_type_name(root));
	else
		parse_root(&cp, conf, root);
	if (kind == CONFIG_POPD)
		cfg_finish_sites(&cp, conf, readdir);
	/* Compiled before the implicit routes: a rule's profile gets them. */
	if (cp.nerrs == 0 && !cp.nomem && !cfg_sites_failed(&cp) &&
	    conf->nrules > 0 &&
	    (conf->ruleset = rule_set_new(conf->rules, conf->nrules)) == NULL)
		cp.nomem = 1;
	if (cp.nerrs == 0 && !cp.nomem && !cfg_sites_failed(&cp))
		add_implicit(&cp, conf);
out:
	if (cp.nerrs > 0 || cp.nomem || cfg_sites_failed(&cp)) {
		config_free(conf);
		conf = NULL;
	}
	cfg_flush_errors(&cp, errs);
	cfg_sites_flush(&cp, errs);
	free(cp.links);
	free(cp.linkidx);
	free(cp.profidx);
	jsonpos_free(cp.pos);
	json_decref(root);
	return conf;
}

struct config *
config_parse(const char *text, size_t len, const char *name,
    enum config_kind kind, struct config_errors *errs)
{
	return parse_text(text, len, name, kind, 0, errs);
}

struct config *
config_load(const char *path, enum config_kind kind, struct config_errors *errs)
{
	struct config *conf = NULL;
	struct cparse  cp;
	char          *text;
	size_t         len;

	memset(&cp, 0, sizeof(cp));
	cp.name = path;
	if (cfg_read_file(&cp, path, CONFIG_MAX_BYTES, 0, &text, &len) == 0)
		conf = parse_text(text, len, path, kind, 1, errs);
	free(text);
	cfg_flush_errors(&cp, errs);
	return conf;
}

void
config_free(struct config *conf)
{
	size_t i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->nsites; i++)
		free(conf->sites[i].lan);
	free(conf->sites);
	free(conf->sites_dir);
	cfg_cluster_free(&conf->cluster);
	free(conf->lan);
	free(conf->tls.ca);
	free(conf->tls.cert);
	free(conf->tls.key);
	free(conf->routes);
	free(conf->rules);
	rule_set_unref(conf->ruleset);
	free(conf->profiles);
	free(conf->file);
	free(conf);
}
