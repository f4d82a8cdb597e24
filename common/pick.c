#include "autoconf.h"

#include <string.h>

#include "balance-int.h"

/*
 * The pick algorithms of DESIGN.md section 5: which of a route set's live
 * candidates a new flow (or a group, or a flow that failover moves)
 * takes.  Each sees the candidates with their weights on this side.
 */

static inline uint64_t
splitmix64(uint64_t *s)
{
	*s += 0x9e3779b97f4a7c15ULL;
	return wp_mix64(*s);
}

/*
 * Weighted rendezvous hashing (hrw.h): the link with the least
 * -log2(u)/w wins, so each link wins with probability w/W, removing a link
 * moves only its flows and reordering the config moves none.  A link's
 * seed is the hash of its name.
 *
 * h, the SipHash of the key under a fixed key so both ends and restarts
 * agree, is uniform whatever bytes the key holds; one per flow instead of
 * one per link keeps `flow` near the cost of the other algorithms.
 */
static unsigned
pick_hash(const struct balance *b, const struct cand *c, unsigned n,
    const void *data, size_t len)
{
	unsigned best = 0, i;
	uint64_t h, sb, si;
	uint32_t xb, xi;

	h = wp_siphash(&b->flow_key, data, len);
	sb = b->links[c[0].link].seed;
	xb = hrw_score(&b->hrw, h, sb);
	for (i = 1; i < n; i++) {
		si = b->links[c[i].link].seed;
		xi = hrw_score(&b->hrw, h, si);
		if (hrw_beats(xi, c[i].w, si, xb, c[best].w, sb)) {
			best = i;
			xb = xi;
			sb = si;
		}
	}
	return best;
}

/* nginx's smooth weighted round robin: exact ratio, evenly interleaved. */
static unsigned
pick_ratio(struct balance *b, const struct cand *c, unsigned n)
{
	struct bal_route *r;
	unsigned          best = 0, i;
	int64_t           total = 0, bestcur = INT64_MIN;

	for (i = 0; i < n; i++) {
		r = &b->routes[c[i].route];
		r->cur += c[i].w;
		total += c[i].w;
		if (r->cur > bestcur) {
			bestcur = r->cur;
			best = i;
		}
	}
	b->routes[c[best].route].cur -= total;
	return best;
}

/*
 * Weighted round robin in turns: the live routes take turns in config
 * order, and a turn lasts the route's weight over the smallest live weight
 * (100:50:25 gives runs of 4, 2 and 1).  What a turn cannot use (100:33
 * makes 3.03) is carried to the route's next turn, so long-run shares are
 * exact and no run is longer than the weights demand.
 */
static unsigned
pick_rr(struct balance *b, struct bal_set *s, const struct cand *c, unsigned n)
{
	struct bal_route *r;
	unsigned          i, k;
	uint32_t          wmin, run;

	for (i = 0; i < n; i++)
		if (c[i].pos == s->rr_pos && s->rr_left > 0) {
			s->rr_left--;
			return i;
		}
	/* The turn is over, or its route went down: next live route. */
	for (k = 0; k < n && c[k].pos <= s->rr_pos; k++)
		;
	if (k == n)
		k = 0;
	wmin = c[0].w;
	for (i = 1; i < n; i++)
		if (c[i].w < wmin)
			wmin = c[i].w;
	r = &b->routes[c[k].route];
	r->rr_credit += c[k].w;
	run = (uint32_t)(r->rr_credit / wmin); /* >= 1: w >= wmin */
	r->rr_credit -= (uint64_t)run * wmin;
	s->rr_pos = c[k].pos;
	s->rr_left = run - 1;
	return k;
}

static unsigned
pick_random(struct bal_profile *p, const struct cand *c, unsigned n)
{
	uint64_t total = 0, t;
	unsigned i;

	for (i = 0; i < n; i++)
		total += c[i].w;
	/* Multiply-high maps 64 random bits onto [0, total) without the
	 * bias or the division of a modulo. */
	t = (uint64_t)(((unsigned __int128)splitmix64(&p->rng) * total) >> 64);
	for (i = 0; i < n - 1; i++) {
		if (t < c[i].w)
			return i;
		t -= c[i].w;
	}
	return n - 1;
}

/* Least load/weight, ties to the heavier link, then set order. */
static unsigned
pick_least_tput(const struct balance *b, const struct cand *c, unsigned n)
{
	unsigned best = 0, i;
	double   lb, li;

	for (i = 1; i < n; i++) {
		li = b->links[c[i].link].tput * c[best].w;
		lb = b->links[c[best].link].tput * c[i].w;
		if (li < lb || (li == lb && c[i].w > c[best].w))
			best = i;
	}
	return best;
}

static unsigned
pick_least_u(const uint64_t *load, const struct cand *c, unsigned n)
{
	unsigned          best = 0, i;
	unsigned __int128 lb, li;

	for (i = 1; i < n; i++) {
		li = (unsigned __int128)load[c[i].link] * c[best].w;
		lb = (unsigned __int128)load[c[best].link] * c[i].w;
		if (li < lb || (li == lb && c[i].w > c[best].w))
			best = i;
	}
	return best;
}

unsigned
pick_link(struct balance *b, struct bal_profile *p, struct bal_set *s,
    const struct cand *c, unsigned n, const struct bal_ctx *x)
{
	if (n == 1)
		return 0;
	switch (p->alg) {
	case BAL_RATIO:
		return pick_ratio(b, c, n);
	case BAL_FLOW:
		if (x->key != NULL)
			return pick_hash(b, c, n, x->key, sizeof(*x->key));
		return pick_hash(b, c, n, x->src, 16);
	case BAL_SOURCE_IP:
		return pick_hash(b, c, n, x->src, 16);
	case BAL_DESTINATION_IP:
		return pick_hash(b, c, n, x->dst, 16);
	case BAL_ROUND_ROBIN:
		return pick_rr(b, s, c, n);
	case BAL_RANDOM:
		return pick_random(p, c, n);
	case BAL_THROUGHPUT:
		return pick_least_tput(b, c, n);
	case BAL_USAGE:
		return pick_least_u(p->active, c, n);
	}
	return 0;
}

int
pick_is_hash(enum balance_alg a)
{
	return a == BAL_FLOW || a == BAL_SOURCE_IP || a == BAL_DESTINATION_IP;
}

void
pick_init(struct balance *b)
{
	hrw_init(&b->hrw);
}
