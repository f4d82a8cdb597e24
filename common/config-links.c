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

static const char *const link_keys[] = {
    "name", "device", "source", "up_mbps", "down_mbps", "weight", NULL};
static const char *const route_keys[] = {
    "network", "link", "metric", "weight", "profile", NULL};
static const char *const site_keys[] = {"name", "identity", "lan", NULL};

static void
parse_link(struct cparse *cp, json_t *o, int node, struct config_link *l)
{
	struct quoted q;
	const char   *s;
	int           r_dev, r_src, snode;

	cfg_check_keys(cp, o, node, link_keys);
	if (cfg_get_name(cp, o, node, "name", l->name, sizeof(l->name),
		JSONPOS_NAME_WORD) == 0)
		cfg_missing(cp, node, "name");
	r_dev = cfg_get_name(cp, o, node, "device", l->device,
	    sizeof(l->device), JSONPOS_NAME_IFNAME);
	if ((r_src = cfg_get_string(cp, o, node, "source", &s, &snode)) == 1 &&
	    addr_parse(s, &l->source) == -1)
		cfg_report(cp, snode, "must be an IP address, got %s",
		    cfg_quote(&q, s));
	if (cfg_get_uint(cp, o, node, "up_mbps", 1, MBPS_MAX, &l->up_mbps) == 0)
		cfg_missing(cp, node, "up_mbps");
	if (cfg_get_uint(
		cp, o, node, "down_mbps", 1, MBPS_MAX, &l->down_mbps) == 0)
		cfg_missing(cp, node, "down_mbps");
	(void)cfg_get_uint(cp, o, node, "weight", 1, WEIGHT_MAX, &l->weight);
	/* replay never opens a socket, so it needs neither. */
	if (cp->kind == CONFIG_SOCKETD && r_dev == 0 && r_src == 0)
		cfg_report(cp, node, "needs \"device\" or \"source\"");
}

void
cfg_parse_links(struct cparse *cp, struct config *conf, json_t *root)
{
	json_t *arr, *o;
	size_t  i, n;
	int     r, arrnode, node;

	if ((r = cfg_get_container(
		 cp, root, 0, "links", JSON_ARRAY, &arr, &arrnode)) == 0)
		cfg_missing(cp, 0, "links");
	if (r != 1)
		return;
	if ((n = json_array_size(arr)) == 0) {
		cfg_report(cp, arrnode, "must not be empty");
		return;
	}
	if ((cp->links = calloc(n, sizeof(*cp->links))) == NULL ||
	    (cp->linkidx = calloc(n, sizeof(*cp->linkidx))) == NULL) {
		cp->nomem = 1;
		return;
	}
	cp->nlinks = n;
	for (i = 0; i < n; i++) {
		o = json_array_get(arr, i);
		node = jsonpos_element(cp->pos, arrnode, i);
		if (i == CONFIG_MAX_LINKS)
			cfg_report(cp, node, "too many links, at most %d",
			    CONFIG_MAX_LINKS);
		if (!json_is_object(o))
			cfg_report(cp, node, "must be an object, got %s",
			    jsonpos_type_name(o));
		else
			parse_link(cp, o, node, &cp->links[i]);
		if (cp->links[i].name[0] != '\0') {
			cp->linkidx[cp->nlinkidx].name = cp->links[i].name;
			cp->linkidx[cp->nlinkidx++].i = i;
		}
	}
	conf->nlinks = n < CONFIG_MAX_LINKS ? n : CONFIG_MAX_LINKS;
	memcpy(conf->links, cp->links, conf->nlinks * sizeof(*conf->links));
	cfg_check_duplicates(cp, cp->linkidx, cp->nlinkidx, arrnode, "links",
	    "name", "link name", 0);
}

static void
parse_route(struct cparse *cp, json_t *o, int node, struct config_route *rt)
{
	struct quoted q;
	const char   *s, *why;
	int           r, i, vnode;

	cfg_check_keys(cp, o, node, route_keys);
	if ((r = cfg_get_string(cp, o, node, "network", &s, &vnode)) == 0)
		cfg_missing(cp, node, "network");
	else if (r == 1 && prefix_parse(s, &rt->network, &why) == -1)
		cfg_report(cp, vnode, "%s: %s", why, cfg_quote(&q, s));
	if ((r = cfg_get_string(cp, o, node, "link", &s, &vnode)) == 0)
		cfg_missing(cp, node, "link");
	else if (r == 1) {
		if ((i = cfg_find_name(cp->linkidx, cp->nlinkidx, s)) == -1)
			cfg_report(
			    cp, vnode, "no link named %s", cfg_quote(&q, s));
		else
			rt->link = i;
	}
	(void)cfg_get_uint(cp, o, node, "metric", 0, METRIC_MAX, &rt->metric);
	(void)cfg_get_uint(cp, o, node, "weight", 1, WEIGHT_MAX, &rt->weight);
	if (cfg_get_string(cp, o, node, "profile", &s, &vnode) == 1) {
		if ((i = cfg_find_name(cp->profidx, cp->nprofidx, s)) == -1)
			cfg_report(
			    cp, vnode, "no profile named %s", cfg_quote(&q, s));
		else
			rt->profile = i;
	}
}

void
cfg_parse_routes(struct cparse *cp, struct config *conf, json_t *root)
{
	struct config_route *rt;
	json_t              *arr, *o;
	size_t               i, n;
	int                  arrnode, node;

	if (cfg_get_container(
		cp, root, 0, "routes", JSON_ARRAY, &arr, &arrnode) != 1 ||
	    (n = json_array_size(arr)) == 0)
		return;
	if ((conf->routes = calloc(n, sizeof(*conf->routes))) == NULL) {
		cp->nomem = 1;
		return;
	}
	conf->nroutes = n;
	for (i = 0; i < n; i++) {
		rt = &conf->routes[i];
		rt->link = -1;
		rt->metric = METRIC_DEFAULT;
		rt->profile = conf->default_profile >= 0 ? conf->default_profile
							 : CONFIG_ROUTE_STATIC;
		o = json_array_get(arr, i);
		node = jsonpos_element(cp->pos, arrnode, i);
		if (!json_is_object(o))
			cfg_report(cp, node, "must be an object, got %s",
			    jsonpos_type_name(o));
		else
			parse_route(cp, o, node, rt);
	}
}

/* Where a site's LAN prefix sits: sites[site].lan[lan]. */
struct lanref {
	const struct wp_prefix *p;
	size_t                  site, lan;
};

static int
lanref_cmp(const void *a, const void *b)
{
	const struct lanref *x = a, *y = b;
	int                  c;

	if (x->p->addr.family != y->p->addr.family)
		return x->p->addr.family < y->p->addr.family ? -1 : 1;
	if ((c = memcmp(x->p->addr.a, y->p->addr.a, sizeof(x->p->addr.a))) != 0)
		return c;
	if (x->p->len != y->p->len)
		return x->p->len < y->p->len ? -1 : 1;
	if (x->site != y->site)
		return x->site < y->site ? -1 : 1;
	return x->lan < y->lan ? -1 : x->lan > y->lan;
}

static void
report_overlap(struct cparse *cp, int arrnode, const struct lanref *a,
    const struct lanref *b)
{
	const struct lanref *later, *earlier;
	char                 pa[PREFIX_STRLEN], pb[PREFIX_STRLEN];
	int                  node;

	/* The error goes on whichever comes later in the file. */
	if (a->site > b->site || (a->site == b->site && a->lan > b->lan)) {
		later = a;
		earlier = b;
	} else {
		later = b;
		earlier = a;
	}
	node = jsonpos_element(cp->pos,
	    jsonpos_member(
		cp->pos, jsonpos_element(cp->pos, arrnode, later->site), "lan"),
	    later->lan);
	cfg_report(cp, node, "\"%s\" overlaps \"%s\" (sites[%zu].lan[%zu])",
	    prefix_ntop(later->p, pa, sizeof(pa)),
	    prefix_ntop(earlier->p, pb, sizeof(pb)), earlier->site,
	    earlier->lan);
}

/*
 * A packet for a LAN address must belong to exactly one site, so LAN
 * prefixes of different sites may not overlap (one site may nest its own).
 * Sorted by address then length, every prefix follows the prefixes that
 * contain it, so a stack of the enclosing prefixes finds each overlap in
 * one pass.  Equal prefixes share one stack entry that remembers the first
 * site and the first other site, which keeps the stack within 129 entries.
 */
static void
check_lan_overlaps(struct cparse *cp, struct config *conf, int arrnode)
{
	struct {
		const struct lanref *first, *other;
	} stack[129];
	struct lanref       *refs;
	const struct lanref *x, *partner;
	size_t               n = 0, depth = 0, i, j, k;

	for (i = 0; i < conf->nsites; i++)
		n += conf->sites[i].nlan;
	if (n < 2)
		return;
	if ((refs = calloc(n, sizeof(*refs))) == NULL) {
		cp->nomem = 1;
		return;
	}
	n = 0;
	for (i = 0; i < conf->nsites; i++)
		for (j = 0; j < conf->sites[i].nlan; j++)
			if (conf->sites[i].lan[j].addr.family != 0) {
				refs[n].p = &conf->sites[i].lan[j];
				refs[n].site = i;
				refs[n++].lan = j;
			}
	qsort(refs, n, sizeof(*refs), lanref_cmp);
	for (i = 0; i < n; i++) {
		x = &refs[i];
		while (depth > 0 &&
		    !prefix_contains(stack[depth - 1].first->p,
			x->p->addr.family, x->p->addr.a))
			depth--;
		/* The most specific enclosing prefix of another site. */
		partner = NULL;
		for (k = depth; k-- > 0 && partner == NULL;) {
			if (stack[k].first->site != x->site)
				partner = stack[k].first;
			else if (stack[k].other != NULL)
				partner = stack[k].other;
		}
		if (partner != NULL)
			report_overlap(cp, arrnode, partner, x);
		if (depth > 0 && stack[depth - 1].first->p->len == x->p->len) {
			if (stack[depth - 1].other == NULL &&
			    stack[depth - 1].first->site != x->site)
				stack[depth - 1].other = x;
		} else if (depth < NELEM(stack)) {
			stack[depth].first = x;
			stack[depth++].other = NULL;
		}
	}
	free(refs);
}

/* A non-empty array of prefixes (no host bits): 1, 0 if absent, -1. */
int
cfg_get_prefix_list(struct cparse *cp, json_t *obj, int objnode,
    const char *key, struct wp_prefix **out, size_t *nout)
{
	struct quoted q;
	const char   *why;
	json_t       *arr, *v;
	size_t        i, n;
	int           r, node, vnode;

	if ((r = cfg_get_container(
		 cp, obj, objnode, key, JSON_ARRAY, &arr, &node)) != 1)
		return r;
	if ((n = json_array_size(arr)) == 0) {
		cfg_report(cp, node, "must not be empty");
		return -1;
	}
	if ((*out = calloc(n, sizeof(**out))) == NULL) {
		cp->nomem = 1;
		return -1;
	}
	*nout = n;
	for (i = 0; i < n; i++) {
		v = json_array_get(arr, i);
		vnode = jsonpos_element(cp->pos, node, i);
		if (!json_is_string(v))
			cfg_report(cp, vnode, "must be a string, got %s",
			    jsonpos_type_name(v));
		else if (prefix_parse(json_string_value(v), &(*out)[i], &why) ==
		    -1)
			cfg_report(cp, vnode, "%s: %s", why,
			    cfg_quote(&q, json_string_value(v)));
	}
	return 1;
}

static void
parse_site(struct cparse *cp, json_t *o, int node, struct config_site *site)
{
	cfg_check_keys(cp, o, node, site_keys);
	if (cfg_get_name(cp, o, node, "name", site->name, sizeof(site->name),
		JSONPOS_NAME_TEXT) == 0)
		cfg_missing(cp, node, "name");
	if (cfg_get_name(cp, o, node, "identity", site->identity,
		sizeof(site->identity), JSONPOS_NAME_TEXT) == 0)
		cfg_missing(cp, node, "identity");
	if (cfg_get_prefix_list(cp, o, node, "lan", &site->lan, &site->nlan) ==
	    0)
		cfg_missing(cp, node, "lan");
}

void
cfg_parse_sites(struct cparse *cp, struct config *conf, json_t *root)
{
	struct nameref *names, *ids;
	size_t          i, n, nnames = 0, nids = 0;
	json_t         *arr, *o;
	int             r, arrnode, node;

	if ((r = cfg_get_container(
		 cp, root, 0, "sites", JSON_ARRAY, &arr, &arrnode)) == 0)
		cfg_missing(cp, 0, "sites");
	if (r != 1)
		return;
	if ((n = json_array_size(arr)) == 0) {
		cfg_report(cp, arrnode, "must not be empty");
		return;
	}
	if ((conf->sites = calloc(n, sizeof(*conf->sites))) == NULL) {
		cp->nomem = 1;
		return;
	}
	conf->nsites = n;
	for (i = 0; i < n; i++) {
		o = json_array_get(arr, i);
		node = jsonpos_element(cp->pos, arrnode, i);
		if (!json_is_object(o))
			cfg_report(cp, node, "must be an object, got %s",
			    jsonpos_type_name(o));
		else
			parse_site(cp, o, node, &conf->sites[i]);
	}

	names = calloc(n, sizeof(*names));
	ids = calloc(n, sizeof(*ids));
	if (names == NULL || ids == NULL) {
		cp->nomem = 1;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (conf->sites[i].name[0] != '\0') {
			names[nnames].name = conf->sites[i].name;
			names[nnames++].i = i;
		}
		if (conf->sites[i].identity[0] != '\0') {
			ids[nids].name = conf->sites[i].identity;
			ids[nids++].i = i;
		}
	}
	cfg_check_duplicates(
	    cp, names, nnames, arrnode, "sites", "name", "site name", 0);
	cfg_check_duplicates(
	    cp, ids, nids, arrnode, "sites", "identity", "identity", 1);
	check_lan_overlaps(cp, conf, arrnode);
out:
	free(names);
	free(ids);
}
