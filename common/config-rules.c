#include "autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config-int.h"

/*
 * "rules" (wanpair.json(5), RULES): each rule compiled into a struct
 * rule here, once, so that matching a packet is comparisons only.
 */

static const char *const rule_keys[] = {"name", "profile", "protocol", "source",
    "destination", "source_port", "destination_port", "dscp", NULL};

#define PROTO_NAMES "tcp, udp, icmp, icmpv6, sctp, udplite, dccp, gre, esp, ah"
#define DSCP_NAMES  "DF, CS0..CS7, AF11..AF43, EF, VA, LE"

/*
 * A key's value as a list: an array's elements (not empty, at most max),
 * or the value itself.  Returns how many went into v[] and nodes[], 0 if
 * the key is absent, -1 having reported why.
 */
static int
items(struct cparse *cp, json_t *o, int node, const char *key, size_t max,
    json_t **v, int *nodes)
{
	json_t *val;
	size_t  i, n;
	int     vnode;

	if ((val = cfg_member(cp, o, node, key, &vnode)) == NULL)
		return 0;
	if (!json_is_array(val)) {
		v[0] = val;
		nodes[0] = vnode;
		return 1;
	}
	if ((n = json_array_size(val)) == 0) {
		cfg_report(cp, vnode, "must not be empty");
		return -1;
	}
	if (n > max) {
		cfg_report(cp, vnode, "has %zu entries, at most %zu", n, max);
		return -1;
	}
	for (i = 0; i < n; i++) {
		v[i] = json_array_get(val, i);
		nodes[i] = jsonpos_element(cp->pos, vnode, i);
	}
	return (int)n;
}

static void
rule_protocol(struct cparse *cp, json_t *o, int node, struct rule *r)
{
	struct quoted q;
	json_t       *v[RULE_LIST_MAX];
	int           nodes[RULE_LIST_MAX], n, i;
	json_int_t    num;

	if ((n = items(cp, o, node, "protocol", RULE_LIST_MAX, v, nodes)) <= 0)
		return;
	r->any_proto = 0;
	for (i = 0; i < n; i++) {
		if (json_is_string(v[i])) {
			if (rule_proto_parse(
				json_string_value(v[i]), r->proto) == -1)
				cfg_report(cp, nodes[i],
				    "unknown protocol %s: " PROTO_NAMES
				    " or a number 0..255",
				    cfg_quote(&q, json_string_value(v[i])));
		} else if (json_is_integer(v[i])) {
			num = json_integer_value(v[i]);
			if (num < 0 || num > 255)
				cfg_report(cp, nodes[i],
				    "must be a protocol number 0..255, got "
				    "%" JSON_INTEGER_FORMAT,
				    num);
			else
				r->proto[num >> 3] |=
				    (uint8_t)(1u << (num & 7));
		} else
			cfg_report(cp, nodes[i],
			    "must be a protocol name or number, got %s",
			    jsonpos_type_name(v[i]));
	}
}

static void
rule_dscp(struct cparse *cp, json_t *o, int node, struct rule *r)
{
	struct quoted q;
	json_t       *v[RULE_LIST_MAX];
	int           nodes[RULE_LIST_MAX], n, i;
	json_int_t    num;
	unsigned      d;

	if ((n = items(cp, o, node, "dscp", RULE_LIST_MAX, v, nodes)) <= 0)
		return;
	for (i = 0; i < n; i++) {
		if (json_is_string(v[i])) {
			if (rule_dscp_parse(json_string_value(v[i]), &d) == -1)
				cfg_report(cp, nodes[i],
				    "unknown DSCP name %s: " DSCP_NAMES
				    " or a number 0..63",
				    cfg_quote(&q, json_string_value(v[i])));
			else
				r->dscp |= UINT64_C(1) << d;
		} else if (json_is_integer(v[i])) {
			num = json_integer_value(v[i]);
			if (num < 0 || num > 63)
				cfg_report(cp, nodes[i],
				    "must be a DSCP value 0..63, got "
				    "%" JSON_INTEGER_FORMAT,
				    num);
			else
				r->dscp |= UINT64_C(1) << num;
		} else
			cfg_report(cp, nodes[i],
			    "must be a DSCP name or number, got %s",
			    jsonpos_type_name(v[i]));
	}
}

static void
rule_ports(struct cparse *cp, json_t *o, int node, const char *key,
    struct rule_ports *out, uint8_t *nout)
{
	struct quoted q;
	json_t       *v[RULE_LIST_MAX];
	int           nodes[RULE_LIST_MAX], n, i, rc;
	json_int_t    num;

	if ((n = items(cp, o, node, key, RULE_LIST_MAX, v, nodes)) <= 0)
		return;
	for (i = 0; i < n; i++) {
		if (json_is_string(v[i])) {
			rc = rule_ports_parse(json_string_value(v[i]), &out[i]);
			if (rc == -2)
				cfg_report(cp, nodes[i],
				    "range %s starts above its end",
				    cfg_quote(&q, json_string_value(v[i])));
			else if (rc == -1)
				cfg_report(cp, nodes[i],
				    "must be a port 0..65535 or a range "
				    "\"LOW-HIGH\", got %s",
				    cfg_quote(&q, json_string_value(v[i])));
		} else if (json_is_integer(v[i])) {
			num = json_integer_value(v[i]);
			if (num < 0 || num > 65535)
				cfg_report(cp, nodes[i],
				    "must be a port 0..65535, got "
				    "%" JSON_INTEGER_FORMAT,
				    num);
			else
				out[i].lo = out[i].hi = (uint16_t)num;
		} else
			cfg_report(cp, nodes[i],
			    "must be a port or a range, got %s",
			    jsonpos_type_name(v[i]));
	}
	*nout = (uint8_t)n;
}

static void
rule_prefixes(struct cparse *cp, json_t *o, int node, const char *key,
    struct wp_prefix *out, uint8_t *nout)
{
	struct quoted q;
	const char   *s, *why;
	json_t       *v[RULE_LIST_MAX];
	int           nodes[RULE_LIST_MAX], n, i;

	if ((n = items(cp, o, node, key, RULE_LIST_MAX, v, nodes)) <= 0)
		return;
	for (i = 0; i < n; i++) {
		if (!json_is_string(v[i])) {
			cfg_report(cp, nodes[i], "must be a string, got %s",
			    jsonpos_type_name(v[i]));
			continue;
		}
		s = json_string_value(v[i]);
		/* An address alone is its host's prefix. */
		if (strchr(s, '/') == NULL &&
		    addr_parse(s, &out[i].addr) == 0) {
			out[i].len = out[i].addr.family == AF_INET ? 32 : 128;
			continue;
		}
		if (prefix_parse(s, &out[i], &why) == -1)
			cfg_report(
			    cp, nodes[i], "%s: %s", why, cfg_quote(&q, s));
	}
	*nout = (uint8_t)n;
}

/* Port keys only make sense if some protocol of the rule has ports. */
static void
rule_check_ports(struct cparse *cp, json_t *o, int node, const struct rule *r)
{
	static const char *const keys[] = {"source_port", "destination_port"};
	unsigned                 p;
	size_t                   i;
	int                      vnode;

	if (r->any_proto)
		return;
	for (p = 0; p < 256; p++)
		if (((r->proto[p >> 3] >> (p & 7)) & 1) &&
		    rule_proto_has_ports(p))
			return;
	for (i = 0; i < NELEM(keys); i++)
		if (cfg_member(cp, o, node, keys[i], &vnode) != NULL)
			cfg_report(cp, vnode,
			    "needs a protocol with ports (tcp, udp, sctp, "
			    "udplite, dccp)");
}

static void
parse_rule(struct cparse *cp, json_t *o, int node, struct rule *r)
{
	struct quoted q;
	const char   *s;
	int           rc, i, vnode, errs = (int)cp->nerrs;

	cfg_check_keys(cp, o, node, rule_keys);
	(void)cfg_get_name(
	    cp, o, node, "name", r->name, sizeof(r->name), JSONPOS_NAME_WORD);
	if ((rc = cfg_get_string(cp, o, node, "profile", &s, &vnode)) == 0)
		cfg_missing(cp, node, "profile");
	else if (rc == 1) {
		if ((i = cfg_find_name(cp->profidx, cp->nprofidx, s)) == -1)
			cfg_report(
			    cp, vnode, "no profile named %s", cfg_quote(&q, s));
		else
			r->profile = i;
	}
	rule_protocol(cp, o, node, r);
	rule_prefixes(cp, o, node, "source", r->src, &r->nsrc);
	rule_prefixes(cp, o, node, "destination", r->dst, &r->ndst);
	rule_ports(cp, o, node, "source_port", r->sport, &r->nsport);
	rule_ports(cp, o, node, "destination_port", r->dport, &r->ndport);
	rule_dscp(cp, o, node, r);
	if ((int)cp->nerrs == errs)
		rule_check_ports(cp, o, node, r);
}

void
cfg_parse_rules(struct cparse *cp, struct config *conf, json_t *root)
{
	json_t *arr, *o;
	size_t  i, n;
	int     arrnode, node;

	if (cfg_get_container(
		cp, root, 0, "rules", JSON_ARRAY, &arr, &arrnode) != 1 ||
	    (n = json_array_size(arr)) == 0)
		return;
	if (n > RULES_MAX) {
		cfg_report(cp, jsonpos_element(cp->pos, arrnode, RULES_MAX),
		    "too many rules, at most %d", RULES_MAX);
		return;
	}
	if ((conf->rules = calloc(n, sizeof(*conf->rules))) == NULL) {
		cp->nomem = 1;
		return;
	}
	conf->nrules = n;
	for (i = 0; i < n; i++) {
		conf->rules[i].any_proto = 1;
		conf->rules[i].profile = -1;
		o = json_array_get(arr, i);
		node = jsonpos_element(cp->pos, arrnode, i);
		if (!json_is_object(o))
			cfg_report(cp, node, "must be an object, got %s",
			    jsonpos_type_name(o));
		else
			parse_rule(cp, o, node, &conf->rules[i]);
	}
}
