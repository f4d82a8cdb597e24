#include "autoconf.h"

#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "balance-int.h"

/*
 * The route table of a balance: route selection by most specific prefix,
 * then lowest metric, then the profile of the first such route (DESIGN.md
 * section 5), and the live candidates of a route set.
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

static inline void
load128(const uint8_t *a, uint64_t *v)
{
	memcpy(v, a, 16);
}

static int
route_cmp(const struct bal_route *routes, uint16_t x, uint16_t y)
{
	const struct bal_route *a = &routes[x], *b = &routes[y];

	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	if (a->metric != b->metric)
		return a->metric < b->metric ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* Insertion sort: a handful of routes, and qsort has no context pointer. */
static void
order_sort(const struct bal_route *routes, uint16_t *o, size_t n)
{
	size_t   i, j;
	uint16_t v;

	for (i = 1; i < n; i++) {
		v = o[i];
		for (j = i; j > 0 && route_cmp(routes, v, o[j - 1]) < 0; j--)
			o[j] = o[j - 1];
		o[j] = v;
	}
}

static int
route_add(struct balance *b, const struct balance_route_spec *cr)
{
	struct bal_route *r;
	struct bal_set   *s;
	uint8_t           m[16];
	size_t            i;
	int               fam;

	if ((fam = fam_index(cr->network.addr.family)) == -1 ||
	    cr->link >= b->nlinks ||
	    (cr->profile != BALANCE_ROUTE_STATIC &&
		(cr->profile < 0 || (size_t)cr->profile >= b->nprofiles)))
		return 0; /* a validated config gives none of these */

	r = &b->routes[b->nroutes];
	memset(r, 0, sizeof(*r));
	memset(m, 0xff, sizeof(m));
	addr_mask(cr->network.addr.family, m, cr->network.len);
	if (cr->network.addr.family == AF_INET)
		memset(m + 4, 0, 12);
	load128(m, r->mask);
	load128(cr->network.addr.a, r->net);
	r->net[0] &= r->mask[0];
	r->net[1] &= r->mask[1];
	r->len = cr->network.len;
	r->family = cr->network.addr.family;
	r->metric = cr->metric;
	r->link = (uint8_t)cr->link;
	/* Zero would starve a route or divide by zero; the loader refuses
	 * it, a site's HELLO might not. */
	r->weight = cr->weight != 0 ? cr->weight : b->links[cr->link].weight;
	if (r->weight == 0)
		r->weight = 1;

	s = NULL;
	if (cr->profile != BALANCE_ROUTE_STATIC) {
		for (i = 0; i < b->nsets; i++) {
			struct bal_route *o = &b->routes[b->sets[i].route[0]];

			if (b->sets[i].profile == (uint8_t)cr->profile &&
			    o->family == r->family && o->len == r->len &&
			    o->metric == r->metric && o->net[0] == r->net[0] &&
			    o->net[1] == r->net[1]) {
				s = &b->sets[i];
				break;
			}
		}
	}
	if (s != NULL) {
		/* A second route over the same link in one set would only
		 * double that link's weight: the first one counts. */
		for (i = 0; i < s->n; i++)
			if (b->routes[s->route[i]].link == r->link)
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
	b->order[fam][b->norder[fam]++] = (uint16_t)b->nroutes;
	b->nroutes++;
	return 0;
}

static inline int
route_contains(const struct bal_route *r, const uint64_t *d)
{
	return ((d[0] & r->mask[0]) == r->net[0]) &
	    ((d[1] & r->mask[1]) == r->net[1]);
}

int
rtable_select(const struct balance *b, int family, const uint8_t *dst)
{
	const struct bal_route *r;
	const uint16_t         *o;
	uint64_t                d[2];
	size_t                  i, n;
	int                     fam;

	if ((fam = fam_index(family)) == -1)
		return -1;
	load128(dst, d);
	o = b->order[fam];
	n = b->norder[fam];
	for (i = 0; i < n; i++) {
		r = &b->routes[o[i]];
		if (b->links[r->link].up && route_contains(r, d))
			return r->set;
	}
	return -1;
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

int
rtable_build(struct balance *b, const struct balance_spec *spec)
{
	size_t i, nr;

	/* A config without routes has the loader's default routes, a
	 * session popd's (balance_spec_default_routes); none here means
	 * nothing is routable. */
	nr = spec->nroutes < ROUTES_MAX ? spec->nroutes : ROUTES_MAX;
	if (nr > 0 &&
	    ((b->routes = calloc(nr, sizeof(*b->routes))) == NULL ||
		(b->sets = calloc(nr, sizeof(*b->sets))) == NULL ||
		(b->order[0] = calloc(nr, sizeof(uint16_t))) == NULL ||
		(b->order[1] = calloc(nr, sizeof(uint16_t))) == NULL))
		return -1;
	for (i = 0; i < nr; i++)
		route_add(b, &spec->routes[i]);
	order_sort(b->routes, b->order[0], b->norder[0]);
	order_sort(b->routes, b->order[1], b->norder[1]);
	return 0;
}

void
rtable_free(struct balance *b)
{
	free(b->routes);
	free(b->sets);
	free(b->order[0]);
	free(b->order[1]);
}
