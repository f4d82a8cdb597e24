#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * Beyond "no crash, no leak": a config comes back exactly when there are
 * no errors, every error is one printable line in file order, and every
 * index in an accepted config points inside its array, since the daemons
 * use them without checking again.
 */
static void
check_errors(const struct config_errors *e)
{
	unsigned             line, col, pline = 0, pcol = 0;
	const unsigned char *p;
	size_t               i;

	for (i = 0; i < e->n; i++) {
		for (p = (const unsigned char *)e->lines[i]; *p != '\0'; p++)
			if (*p < ' ' || *p == 0x7f)
				abort();
		if (sscanf(e->lines[i], "f.json:%u:%u: ", &line, &col) != 2)
			abort();
		if (line < pline || (line == pline && col < pcol))
			abort();
		pline = line;
		pcol = col;
	}
}

static void
check_config(const struct config *conf)
{
	const struct config_route *r;
	size_t                     i;

	if (conf->nlinks > CONFIG_MAX_LINKS)
		abort();
	if (conf->default_profile < -1 ||
	    conf->default_profile >= (int)conf->nprofiles)
		abort();
	for (i = 0; i < conf->nroutes; i++) {
		r = &conf->routes[i];
		if (r->link < 0 || (size_t)r->link >= conf->nlinks)
			abort();
		if (r->profile != CONFIG_ROUTE_STATIC &&
		    (r->profile < 0 || (size_t)r->profile >= conf->nprofiles))
			abort();
		if (config_route_weight(conf, r, 0) == 0 ||
		    config_route_weight(conf, r, 1) == 0)
			abort();
	}
	/* Rules are matched on the packet path without checks. */
	if (conf->nrules > RULES_MAX)
		abort();
	for (i = 0; i < conf->nrules; i++) {
		const struct rule *ru = &conf->rules[i];
		unsigned           j;

		if (ru->profile < 0 || (size_t)ru->profile >= conf->nprofiles ||
		    ru->nsrc > RULE_LIST_MAX || ru->ndst > RULE_LIST_MAX ||
		    ru->nsport > RULE_LIST_MAX || ru->ndport > RULE_LIST_MAX)
			abort();
		for (j = 0; j < ru->nsport; j++)
			if (ru->sport[j].lo > ru->sport[j].hi)
				abort();
		for (j = 0; j < ru->ndport; j++)
			if (ru->dport[j].lo > ru->dport[j].hi)
				abort();
	}
	for (i = 0; i < conf->nsites; i++)
		if (conf->sites[i].nlan == 0 || conf->sites[i].name[0] == '\0')
			abort();
	/* The daemons bind or connect every endpoint, and a link's socket
	 * takes its PoP address's family, which must be its source's. */
	if (conf->nendpoints > CONFIG_LISTEN_MAX ||
	    (conf->kind != CONFIG_REPLAY && conf->nendpoints == 0) ||
	    (conf->kind == CONFIG_SOCKETD &&
		conf->nendpoints > CONFIG_POP_ADDR_MAX))
		abort();
	for (i = 0; i < conf->nendpoints; i++)
		if (conf->endpoints[i].address.family == 0 ||
		    conf->endpoints[i].data_port == 0 ||
		    conf->endpoints[i].control_port == 0)
			abort();
	for (i = 0; conf->kind == CONFIG_SOCKETD && i < conf->nlinks; i++)
		if (conf->links[i].pop.family == 0 ||
		    (conf->links[i].source.family != 0 &&
			conf->links[i].source.family !=
			    conf->links[i].pop.family))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum config_kind kinds[] = {
	    CONFIG_SOCKETD, CONFIG_POPD, CONFIG_REPLAY};
	struct config_errors e = {0};
	struct config       *conf;
	size_t               i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		conf = config_parse(
		    (const char *)data, size, "f.json", kinds[i], &e);
		if ((conf == NULL) != (e.n > 0))
			abort();
		check_errors(&e);
		if (conf != NULL)
			check_config(conf);
		config_free(conf);
		config_errors_clear(&e);
	}
	return 0;
}
