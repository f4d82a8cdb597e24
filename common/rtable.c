#include "autoconf.h"

#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include "balance-int.h"

/*
 * The route table of a balance: route selection by most specific prefix,
 * then lowest metric, then the profile of the first such route (DESIGN.md
 * section 5), and the live candidates of a route set.  Networks are found
 * in a longest-prefix-match trie (common/lpm.h), so a new flow's route
 * costs the address's length, not the number of routes.
 */

static int
fam_index(int family)
{
	if (family == AF_INET)
		return 0;
	if (family == AF_INET6)
		return 1;
	return -1;
}

/* What rtable_build() needs while it adds routes. */
struct rbuild {
	uint32_t *next; /* by route: the next route of its network */
	uint32_t *head; /* by prefix: its first route */
};

#define RNONE UINT32_MAX

static int
route_add(
    struct balance *b, struct rbuild *w, const struct balance_route_spec *cr)
{
	struct bal_route *r;
	struct bal_set   *s;
	uint32_t          p, i, *tail;
	size_t            k;

	if (fam_index(cr->network.addr.family) == -1 || cr->link >= b->nlinks ||
	    (cr->profile != BALANCE_ROUTE_STATIC &&
		(cr->profile < 0 || (size_t)cr->profile >= b->nprofiles)))
		return 0; /* a validated config gives none of these */

	/* Its network: a prefix of the trie, new or already there. */
	if (!lpm_find(b->lpm, cr->network.addr.family, cr->network.addr.a,
		cr->network.len, &p)) {
		p = (uint32_t)b->nprefixes;
		if (lpm_insert(b->lpm, cr->network.addr.family,
			cr->network.addr.a, cr->network.len, p) != 0)
			return -1;
		b->nprefixes++;
		w->head[p] = RNONE;
	}

	r = &b->routes[b->nroutes];
	memset(r, 0, sizeof(*r));
	r->len = cr->network.len;
	r->family = cr->network.addr.family;
	r->metric = cr->metric;
	r->link = (uint8_t)cr->link;
	/* Zero would starve a route or divide by zero; the loader refuses
	 * it, a site's HELLO might not. */
	r->weight = cr->weight != 0 ? cr->weight : b->links[cr->link].weight;
	if (r->weight == 0)
		r->weight = 1;

	/* Its set: routes of the same network, metric and profile.  Only
	 * this network's routes can be in it. */
	s = NULL;
	tail = &w->head[p];
	for (i = w->head[p]; i != RNONE; i = w->next[i]) {
		const struct bal_route *o = &b->routes[i];

		tail = &w->next[i];
		if (s == NULL && cr->profile != BALANCE_ROUTE_STATIC &&
		    o->metric == r->metric &&
		    b->sets[o->set].profile == (uint8_t)cr->profile)
			s = &b->sets[o->set];
	}
	if (s != NULL) {
		/* A second route over the same link in one set would only
		 * double that link's weight: the first one counts. */
		for (k = 0; k < s->n; k++)
			if (b->routes[s->route[k]].link == r->link)
				return 0;
	} else {
		s = &b->sets[b->nsets++];
		memset(s, 0, sizeof(*s));
		s->profile = cr->profile == BALANCE_ROUTE_STATIC
		    ? FLOW_PROFILE_NONE
		    : (uint8_t)cr->profile;
		s->rr_pos = UINT8_MAX; /* the first run starts at route 0 */
	}
	r->set = (uint16_t)(s - b->sets);
	s->route[s->n++] = (uint16_t)b->nroutes;
	w->next[b->nroutes] = RNONE;
	*tail = (uint32_t)b->nroutes;
	b->nroutes++;
	return 0;
}

int
rtable_select(const struct balance *b, int family, const uint8_t *dst)
{
	const struct bal_prefix *p;
	const struct bal_route  *r;
	uint32_t                 m[LPM_MATCHES_MAX];
	uint32_t                 j, end;
	unsigned                 i;

	if (b->lpm == NULL)
		return -1;
	/* Most specific first: m[] is least specific first. */
	for (i = lpm_matches(b->lpm, family, dst, m, NULL); i-- > 0;) {
		p = &b->prefixes[m[i]];
		for (j = p->first, end = p->first + p->n; j < end; j++) {
			r = &b->routes[b->order[j]];
			if (b->links[r->link].up)
				return r->set;
		}
	}
	return -1;
}

int
rtable_select_profile(
    const struct balance *b, int profile, int family, const uint8_t *dst)
{
	const struct bal_prefix *p;
	const struct bal_route  *r;
	uint32_t                 m[LPM_MATCHES_MAX];
	uint32_t                 j, end;
	unsigned                 i;

	if (profile < 0 || (size_t)profile >= b->nprofiles || b->lpm == NULL)
		return rtable_select(b, family, dst);
	/* As rtable_select(), among the routes of that profile only. */
	for (i = lpm_matches(b->lpm, family, dst, m, NULL); i-- > 0;) {
		p = &b->prefixes[m[i]];
		for (j = p->first, end = p->first + p->n; j < end; j++) {
			r = &b->routes[b->order[j]];
			if (b->links[r->link].up &&
			    b->sets[r->set].profile == (uint8_t)profile)
				return r->set;
		}
	}
	return rtable_select(b, family, dst);
}

int
rtable_select_flow(const struct balance *b, const struct flow *f, int family,
    const uint8_t *dst)
{
	return rtable_select_profile(
	    b, rule_set_profile(b->rules, f->rule), family, dst);
}

/* Brownout (sla.h): the compliant candidates, unless there are none. */
static unsigned
drop_degraded(uint32_t degraded, struct cand *c, unsigned n)
{
	unsigned i, k = 0;

	for (i = 0; i < n; i++)
		if (!(degraded >> c[i].link & 1))
			k++;
	if (k == 0 || k == n)
		return n;
	for (i = 0, k = 0; i < n; i++)
		if (!(degraded >> c[i].link & 1))
			c[k++] = c[i];
	return k;
}

unsigned
rtable_gather(const struct balance *b, const struct bal_set *s, struct cand *c)
{
	const struct bal_route *r;
	unsigned                i, n = 0;

	for (i = 0; i < s->n; i++) {
		r = &b->routes[s->route[i]];
		if (!b->links[r->link].up)
			continue;
		c[n].w = r->weight;
		c[n].route = s->route[i];
		c[n].link = r->link;
		c[n].pos = (uint8_t)i;
		n++;
	}
	if (s->profile != FLOW_PROFILE_NONE &&
	    b->profiles[s->profile].degraded != 0)
		n = drop_degraded(b->profiles[s->profile].degraded, c, n);
	return n;
}

int
rtable_cand_find(const struct cand *c, unsigned n, unsigned link)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (c[i].link == link)
			return (int)i;
	return -1;
}

/*
 * Each network's routes in order of metric, then spec order: a stable
 * counting pass by network, then each run sorted by metric (insertion
 * sort, stable; a network has a route per link or so).
 */
static void
order_build(struct balance *b, const struct rbuild *w)
{
	uint32_t i, j, v, pos = 0;
	size_t   p;

	for (p = 0; p < b->nprefixes; p++) {
		b->prefixes[p].first = pos;
		b->prefixes[p].n = 0;
		for (i = w->head[p]; i != RNONE; i = w->next[i]) {
			v = i;
			for (j = pos; j > b->prefixes[p].first &&
			     b->routes[b->order[j - 1]].metric >
				 b->routes[v].metric;
			     j--)
				b->order[j] = b->order[j - 1];
			b->order[j] = (uint16_t)v;
			pos++;
			b->prefixes[p].n++;
		}
	}
}

int
rtable_build(struct balance *b, const struct balance_spec *spec)
{
	struct rbuild w = {NULL, NULL};
	size_t        i, nr;
	int           rc = -1;

	/* A config without routes has the loader's default routes, a
	 * session popd's (balance_spec_default_routes); none here means
	 * nothing is routable. */
	nr = spec->nroutes < ROUTES_MAX ? spec->nroutes : ROUTES_MAX;
	if (nr == 0)
		return 0;
	if ((b->routes = calloc(nr, sizeof(*b->routes))) == NULL ||
	    (b->sets = calloc(nr, sizeof(*b->sets))) == NULL ||
	    (b->prefixes = calloc(nr, sizeof(*b->prefixes))) == NULL ||
	    (b->order = calloc(nr, sizeof(*b->order))) == NULL ||
	    (b->lpm = lpm_new()) == NULL ||
	    (w.next = calloc(nr, sizeof(*w.next))) == NULL ||
	    (w.head = calloc(nr, sizeof(*w.head))) == NULL)
		goto out;
	for (i = 0; i < nr; i++)
		if (route_add(b, &w, &spec->routes[i]) == -1)
			goto out;
	order_build(b, &w);
	rc = 0;
out:
	free(w.next);
	free(w.head);
	return rc;
}

void
rtable_free(struct balance *b)
{
	free(b->routes);
	free(b->sets);
	free(b->prefixes);
	free(b->order);
	lpm_free(b->lpm);
}
