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

static const char *const link_keys[] = {"name", "device", "source", "up_mbps",
    "down_mbps", "weight", "pop_address", NULL};
static const char *const route_keys[] = {
    "network", "link", "metric", "weight", "profile", NULL};

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
	/* Its family is checked against source's once pop is read
	 * (cfg_resolve_pops()). */
	if (cfg_get_string(cp, o, node, "pop_address", &s, &snode) == 1) {
		if (addr_parse(s, &l->pop) == -1)
			cfg_report(cp, snode, "must be an IP address, got %s",
			    cfg_quote(&q, s));
		else
			l->pop_own = 1;
	}
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
