#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "balance-int.h"

/*
 * Failover and failback (DESIGN.md section 4): a link that goes down
 * takes its flows and sticky groups to the live links, walking only its
 * own flows; one that comes back takes new flows, and with failback
 * "rebalance" each profile's flows return to the weight ratio.
 */

struct walk {
	struct balance    *b;
	struct flow_table *t; /* NULL: a flow in no table */
	unsigned           link;
	uint64_t           now;
	balance_move_cb    cb;
	void              *arg;
	size_t             moved;
	unsigned           profile; /* balance_sla_move() */
	/* rebalance */
	uint32_t *count;   /* [set][link]: flows in their set */
	uint32_t *target;  /* [set][link] */
	uint32_t *outside; /* [set]: flows on a non-candidate */
	int       pass;
};

static void
walk_init(struct walk *w, struct balance *b, struct flow_table *t,
    unsigned link, uint64_t now, balance_move_cb cb, void *arg)
{
	memset(w, 0, sizeof(*w));
	w->b = b;
	w->t = t;
	w->link = link;
	w->now = now;
	w->cb = cb;
	w->arg = arg;
}

static void
move(struct walk *w, struct flow *f, uint8_t profile, uint8_t link)
{
	struct balance *b = w->b;
	unsigned        from = f->link;

	if (link == from && profile == f->profile)
		return;
	if (profile != f->profile) {
		/* A group belongs to its profile: leaving one leaves it.  A
		 * rule's flow leaves its rule's profile only when no route
		 * of it is left (rtable_select_flow()). */
		bal_unplace(b, f, w->now);
		f->group = 0;
	} else {
		/* Same profile: the flow keeps its group reference. */
		bal_uncount(b, from, profile);
		flow_table_set_link(w->t, f, FLOW_LINK_NONE);
	}
	bal_place(b, w->t, f, profile, link);
	if (link == from)
		return;
	f->flags |= FLOW_F_MOVED;
	w->moved++;
	if (w->cb != NULL)
		w->cb(w->arg, f, from, link);
}

/*
 * Where a flow belongs now: its live group's link if that is a candidate
 * for its destination, else its route set's algorithm.  Returns 0 and the
 * profile and link, or -1 if nothing matches.
 */
static int
replace(struct walk *w, struct flow *f, uint8_t *profile, uint8_t *link)
{
	struct cand       c[BALANCE_MAX_LINKS];
	struct balance   *b = w->b;
	struct bal_group *g;
	struct bal_set   *s;
	struct bal_ctx    x;
	unsigned          n;
	int               si, i;

	bal_ctx_from_flow(&x, f);
	if ((si = rtable_select_flow(b, f, x.family, x.dst)) == -1)
		return -1;
	s = &b->sets[si];
	*profile = s->profile;
	if (s->profile == FLOW_PROFILE_NONE) {
		*link = b->routes[s->route[0]].link;
		return 0;
	}
	n = rtable_gather(b, s, c);
	if (s->profile == f->profile &&
	    (g = sticky_flow_group(b, f, w->now)) != NULL &&
	    (i = rtable_cand_find(c, n, g->link)) != -1) {
		*link = c[i].link;
		return 0;
	}
	*link = c[pick_link(b, &b->profiles[s->profile], s, c, n, &x)].link;
	return 0;
}

static int
down_flow(void *arg, struct flow *f)
{
	struct walk *w = arg;
	uint8_t      profile, link;

	if (f->link != w->link)
		return 0;
	if (replace(w, f, &profile, &link) == 0)
		move(w, f, profile, link);
	return 0;
}

/* A changed set of live routes restarts smooth WRR, so the ratio among
 * the new set is exact from the first flow. */
static void
ratio_restart(struct balance *b)
{
	size_t i;

	for (i = 0; i < b->nroutes; i++)
		b->routes[i].cur = 0;
}

size_t
balance_link_down(struct balance *b, struct flow_table *t, unsigned link,
    uint64_t now_ms, balance_move_cb cb, void *arg)
{
	struct walk w;

	if (link >= b->nlinks)
		return 0;
	b->links[link].up = 0;
	ratio_restart(b);
	sticky_link_down(b, link, now_ms);
	walk_init(&w, b, t, link, now_ms, cb, arg);
	/* The dead link's flows only: its list, not the table. */
	if (t != NULL)
		flow_table_foreach_link(t, (uint8_t)link, down_flow, &w);
	return w.moved;
}

/* The flows of w->profile on w->link. */
static int
sla_flow(void *arg, struct flow *f)
{
	struct walk *w = arg;
	uint8_t      profile, link;

	if (f->link != w->link || f->profile != w->profile)
		return 0;
	/* replace() leaves degraded links out while a compliant one lives:
	 * a flow with none stays where it is. */
	if (replace(w, f, &profile, &link) == 0 &&
	    !balance_degraded(w->b, profile, link))
		move(w, f, profile, link);
	return 0;
}

size_t
balance_sla_move(struct balance *b, struct flow_table *t, unsigned link,
    unsigned profile, uint64_t now_ms, balance_move_cb cb, void *arg)
{
	struct walk w;

	if (link >= b->nlinks || profile >= b->nprofiles || t == NULL ||
	    !(b->profiles[profile].degraded >> link & 1))
		return 0;
	walk_init(&w, b, t, link, now_ms, cb, arg);
	w.profile = profile;
	flow_table_foreach_link(t, (uint8_t)link, sla_flow, &w);
	return w.moved;
}

/*
 * Rebalance, pass 0: flows that follow a group or a hash, and flows whose
 * best route set changed profile, go where they now belong; the rest are
 * counted per set and link.  Pass 1: links above their share of a set
 * give flows to the links furthest below it.
 */
static int
up_flow(void *arg, struct flow *f)
{
	struct walk    *w = arg;
	struct balance *b = w->b;
	struct cand     c[BALANCE_MAX_LINKS];
	struct bal_set *s;
	struct bal_ctx  x;
	uint32_t       *cnt, *tgt;
	uint8_t         profile, link;
	unsigned        n, i, best;
	int             si;

	if (f->link >= b->nlinks)
		return 0;
	bal_ctx_from_flow(&x, f);
	if ((si = rtable_select_flow(b, f, x.family, x.dst)) == -1)
		return 0;
	s = &b->sets[si];
	if (s->profile == FLOW_PROFILE_NONE || s->profile != f->profile ||
	    pick_is_hash(b->profiles[s->profile].alg) ||
	    sticky_flow_group(b, f, w->now) != NULL) {
		if (w->pass == 0 && replace(w, f, &profile, &link) == 0)
			move(w, f, profile, link);
		return 0;
	}
	if (w->count == NULL)
		return 0;
	cnt = &w->count[(size_t)si * BALANCE_MAX_LINKS];
	tgt = &w->target[(size_t)si * BALANCE_MAX_LINKS];
	n = rtable_gather(b, s, c);
	if (w->pass == 0) {
		if (rtable_cand_find(c, n, f->link) != -1)
			cnt[f->link]++;
		else
			w->outside[si]++;
		return 0;
	}
	if (rtable_cand_find(c, n, f->link) != -1 &&
	    cnt[f->link] <= tgt[f->link])
		return 0;
	best = 0;
	for (i = 1; i < n; i++)
		if ((int64_t)tgt[c[i].link] - cnt[c[i].link] >
		    (int64_t)tgt[c[best].link] - cnt[c[best].link])
			best = i;
	if (cnt[c[best].link] >= tgt[c[best].link])
		return 0;
	if (rtable_cand_find(c, n, f->link) != -1)
		cnt[f->link]--;
	cnt[c[best].link]++;
	move(w, f, f->profile, c[best].link);
	return 0;
}

/* Each set's share per link, largest remainder first, set order on ties. */
static void
up_targets(struct walk *w)
{
	struct balance *b = w->b;
	struct cand     c[BALANCE_MAX_LINKS];
	uint64_t        total, wsum, given, rem[BALANCE_MAX_LINKS];
	uint32_t       *cnt, *tgt;
	unsigned        n, i, k;
	size_t          si;

	for (si = 0; si < b->nsets; si++) {
		cnt = &w->count[si * BALANCE_MAX_LINKS];
		tgt = &w->target[si * BALANCE_MAX_LINKS];
		if ((n = rtable_gather(b, &b->sets[si], c)) == 0)
			continue;
		total = w->outside[si];
		wsum = 0;
		for (i = 0; i < n; i++) {
			total += cnt[c[i].link];
			wsum += c[i].w;
		}
		given = 0;
		for (i = 0; i < n; i++) {
			unsigned __int128 q = (unsigned __int128)total * c[i].w;

			tgt[c[i].link] = (uint32_t)(q / wsum);
			rem[i] = (uint64_t)(q % wsum);
			given += tgt[c[i].link];
		}
		for (; given < total; given++) {
			for (k = 0, i = 1; i < n; i++)
				if (rem[i] > rem[k])
					k = i;
			tgt[c[k].link]++;
			rem[k] = 0;
		}
	}
}

size_t
balance_link_up(struct balance *b, struct flow_table *t, unsigned link,
    uint64_t now_ms, balance_move_cb cb, void *arg)
{
	struct walk w;

	if (link >= b->nlinks || b->links[link].up)
		return 0;
	b->links[link].up = 1;
	ratio_restart(b);
	if (b->failback != FAILBACK_REBALANCE || t == NULL)
		return 0;

	/* Groups that failover moved away go home, and their flows follow. */
	sticky_link_up(b, link, now_ms);

	/* Rebalancing weighs every flow against its share: a walk of the
	 * table, unlike failover. */
	walk_init(&w, b, t, link, now_ms, cb, arg);
	/* Without memory the ratio pass is skipped; hashes and groups still
	 * move back. */
	if (b->nsets > 0 &&
	    ((w.count = calloc(
		  b->nsets * BALANCE_MAX_LINKS, sizeof(uint32_t))) == NULL ||
		(w.target = calloc(
		     b->nsets * BALANCE_MAX_LINKS, sizeof(uint32_t))) == NULL ||
		(w.outside = calloc(b->nsets, sizeof(uint32_t))) == NULL)) {
		free(w.count);
		free(w.target);
		w.count = w.target = NULL;
	}
	w.pass = 0;
	flow_table_foreach(t, up_flow, &w);
	if (w.count != NULL) {
		up_targets(&w);
		w.pass = 1;
		flow_table_foreach(t, up_flow, &w);
	}
	free(w.count);
	free(w.target);
	free(w.outside);
	return w.moved;
}

int
balance_set_link(struct balance *b, struct flow_table *t, struct flow *f,
    unsigned link, uint64_t now_ms)
{
	struct walk    w;
	struct bal_ctx x;
	int            si;

	if (link >= b->nlinks || !b->links[link].up)
		return -1;
	if (f->link == FLOW_LINK_NONE) {
		/* Counted in the profile its destination selects, as if
		 * balance_assign() had chosen the link; no group. */
		bal_ctx_from_flow(&x, f);
		si = rtable_select(b, x.family, x.dst);
		f->group = 0;
		bal_place(b, t, f,
		    si == -1 ? FLOW_PROFILE_NONE : b->sets[si].profile,
		    (uint8_t)link);
		return 0;
	}
	walk_init(&w, b, t, link, now_ms, NULL, NULL);
	/* The flow keeps its profile and group: only its link is the
	 * peer's to say. */
	move(&w, f, f->profile, (uint8_t)link);
	return 0;
}
