#include "autoconf.h"

#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include "balspec.h"
#include "config.h"

/* A config's link or profile fits a spec's as it is. */
_Static_assert(CONFIG_MAX_LINKS == BALANCE_MAX_LINKS, "links[] differ");
_Static_assert(CONFIG_NAME_MAX == BALANCE_NAME_MAX, "link names differ");
_Static_assert(CONFIG_ROUTE_STATIC == BALANCE_ROUTE_STATIC, "static routes");

static void
profile_from_config(
    struct balance_profile_spec *ps, const struct config_profile *cp)
{
	memset(ps, 0, sizeof(*ps));
	ps->algorithm = cp->algorithm;
	ps->stickiness = cp->stickiness;
	/* Only the prefixes of the grouping address count. */
	if (cp->stickiness == STICKY_SOURCE_NETWORK) {
		ps->prefix4 = cp->source_prefix;
		ps->prefix6 = cp->source_prefix6;
	} else if (cp->stickiness == STICKY_DESTINATION_NETWORK) {
		ps->prefix4 = cp->destination_prefix;
		ps->prefix6 = cp->destination_prefix6;
	}
	ps->keepalive = cp->keepalive;
	ps->timeout_s = cp->timeout_s;
	ps->max_groups = cp->max_groups;
}

int
balance_spec_from_config(struct balance_spec *spec, const struct config *conf,
    enum balance_side side)
{
	const struct config_route *cr;
	struct balance_route_spec *rs;
	size_t                     i;

	memset(spec, 0, sizeof(*spec));
	spec->nlinks = conf->nlinks < BALANCE_MAX_LINKS ? (unsigned)conf->nlinks
							: BALANCE_MAX_LINKS;
	for (i = 0; i < spec->nlinks; i++) {
		memcpy(spec->links[i].name, conf->links[i].name,
		    sizeof(spec->links[i].name));
		spec->links[i].weight =
		    config_link_weight(conf, i, side == SIDE_DOWN);
	}
	if (conf->nprofiles > 0 &&
	    (spec->profiles =
		    calloc(conf->nprofiles, sizeof(*spec->profiles))) == NULL)
		goto fail;
	spec->nprofiles = conf->nprofiles;
	for (i = 0; i < conf->nprofiles; i++)
		profile_from_config(&spec->profiles[i], &conf->profiles[i]);
	if (conf->nroutes > 0 &&
	    (spec->routes = calloc(conf->nroutes, sizeof(*spec->routes))) ==
		NULL)
		goto fail;
	spec->nroutes = conf->nroutes;
	for (i = 0; i < conf->nroutes; i++) {
		cr = &conf->routes[i];
		rs = &spec->routes[i];
		rs->network = cr->network;
		/* A validated config has no negative link; the balance
		 * drops a route whose link is out of range. */
		rs->link =
		    cr->link < 0 ? BALANCE_MAX_LINKS : (unsigned)cr->link;
		rs->metric = cr->metric;
		rs->weight = cr->weight;
		rs->profile = cr->profile;
	}
	spec->rules = rule_set_ref(conf->ruleset);
	spec->failback = conf->failback;
	spec->flows_max = conf->flows_max;
	spec->flow_timeouts = conf->flow_timeouts;
	return 0;
fail:
	balance_spec_clear(spec);
	return -1;
}

int
balance_spec_default_routes(struct balance_spec *spec, int profile)
{
	struct balance_route_spec *rs;
	int                        prof[RULES_MAX + 1];
	size_t                     i, per, np;

	if (spec->nroutes > 0 || spec->nlinks == 0)
		return 0;
	np = (size_t)rules_profiles(spec->rules, profile, prof);
	per = (size_t)spec->nlinks * 2;
	if (np == 0 ||
	    (spec->routes = calloc(per * np, sizeof(*spec->routes))) == NULL)
		return np == 0 ? 0 : -1;
	for (i = 0; i < per * np; i++) {
		rs = &spec->routes[i];
		/* Zeroed: 0.0.0.0/0 and ::/0 need only the family. */
		rs->network.addr.family = i % 2 == 0 ? AF_INET : AF_INET6;
		rs->link = (unsigned)(i % per / 2);
		rs->metric = BALANCE_METRIC_DEFAULT;
		rs->profile = prof[i / per];
	}
	spec->nroutes = per * np;
	return 0;
}

void
balance_spec_clear(struct balance_spec *spec)
{
	free(spec->profiles);
	free(spec->routes);
	rule_set_unref(spec->rules);
	memset(spec, 0, sizeof(*spec));
}
