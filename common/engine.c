#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "frag.h"

/* A first fragment is remembered this long; RFC 8200 section 4.5 and
 * Linux (net.ipv4.ipfrag_time) both give up on reassembly after 60 s. */
#define FRAG_TIMEOUT_MS 60000
#define FRAG_ENTRIES    4096
/* Idle expiry runs at most this often; timeouts are whole seconds. */
#define EXPIRE_INTERVAL_MS 1000
#define EXPIRE_BUDGET      4096 /* flows released per engine_expire() */

struct engine {
	struct flow_table  *flows;
	struct balance     *balance;
	struct frag_cache  *frags;
	int                 own_frags; /* frags is freed with the engine */
	struct engine_stats stats;
	uint64_t            next_expire_ms;
	uint64_t            now_ms; /* for releases inside the table */
	flow_release_cb     release_cb;
	void               *release_arg;
};

static void
engine_released(void *arg, struct flow *f, enum flow_release why)
{
	struct engine *e = arg;

	if (f->link != FLOW_LINK_NONE)
		balance_release(e->balance, f, e->now_ms);
	if (e->release_cb != NULL)
		e->release_cb(e->release_arg, f, why);
}

static struct engine *
engine_make(const struct balance_spec *spec, struct flow_pool *pool,
    uint32_t cap, struct frag_cache *frags)
{
	struct engine *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->flows = pool != NULL
	    ? flow_table_new_shared(pool, cap, &spec->flow_timeouts)
	    : flow_table_new(spec->flows_max, &spec->flow_timeouts);
	e->balance = balance_new(spec);
	if ((e->frags = frags) == NULL) {
		e->frags = frag_cache_new(FRAG_ENTRIES, FRAG_TIMEOUT_MS);
		e->own_frags = 1;
	}
	if (e->flows == NULL || e->balance == NULL || e->frags == NULL) {
		engine_free(e);
		return NULL;
	}
	flow_table_set_release_cb(e->flows, engine_released, e);
	return e;
}

struct engine *
engine_new(const struct balance_spec *spec)
{
	return engine_make(spec, NULL, 0, NULL);
}

struct engine *
engine_new_shared(const struct balance_spec *spec, struct flow_pool *pool,
    uint32_t cap, struct frag_cache *frags)
{
	if (pool == NULL || frags == NULL) {
		errno = EINVAL;
		return NULL;
	}
	return engine_make(spec, pool, cap, frags);
}

struct frag_cache *
engine_frags_new(void)
{
	return frag_cache_new(FRAG_ENTRIES, FRAG_TIMEOUT_MS);
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	/* The table releases its flows into the balance: free it first. */
	flow_table_free(e->flows);
	balance_free(e->balance);
	if (e->own_frags)
		frag_cache_free(e->frags);
	free(e);
}

void
engine_set_release_cb(struct engine *e, flow_release_cb cb, void *arg)
{
	e->release_cb = cb;
	e->release_arg = arg;
}

void
engine_expire(struct engine *e, uint64_t now_ms)
{
	e->now_ms = now_ms;
	/* Bounded, so that the packet after a long quiet spell does not
	 * release a whole table inline; what is left goes on the next call. */
	if (flow_table_expire(e->flows, now_ms, EXPIRE_BUDGET) == EXPIRE_BUDGET)
		e->next_expire_ms = now_ms;
	else
		e->next_expire_ms = now_ms + EXPIRE_INTERVAL_MS;
}

static int
engine_skip(struct engine *e, int reason)
{
	if (reason < 0 && reason > -PKT_NREASONS)
		e->stats.skipped[-reason]++;
	return reason;
}

/* A packet between classification and the flow table. */
struct pending {
	struct pkt_info pi;
	struct flow_key key;
	uint64_t        hash;
	int             src_is_a;
};

static int
engine_classify(struct engine *e, const uint8_t *p, size_t len, int pkt_flags,
    uint64_t now_ms, struct pending *pd)
{
	int rc;

	if ((rc = pkt_parse(p, len, pkt_flags, &pd->pi)) != PKT_OK)
		return engine_skip(e, rc);
	if ((rc = frag_cache_resolve(e->frags, &pd->pi, now_ms)) != PKT_OK)
		return engine_skip(e, rc);
	pd->src_is_a = flow_key_from_pkt(&pd->pi, &pd->key);
	pd->hash = flow_table_hash(e->flows, &pd->key);
	return 0;
}

static int
engine_apply(struct engine *e, const struct pending *pd, uint64_t now_ms,
    struct engine_result *res)
{
	struct flow *f;
	int          rule;

	res->rule = -1;
	f = flow_table_lookup(e->flows, &pd->key, pd->hash);
	if (f == NULL) {
		/* Before inserting: in a full table the insert evicts. */
		if (!balance_routable(e->balance, &pd->pi))
			return engine_skip(e, PKT_ERR_NO_ROUTE);
		if ((f = flow_table_insert(
			 e->flows, &pd->key, pd->hash, now_ms)) == NULL)
			return engine_skip(e, PKT_ERR_TABLE_FULL);
		if (pd->src_is_a)
			f->flags |= FLOW_F_A_INITIATOR;
		/* Rules look at the first packet only: the flow remembers
		 * the profile and link they led to. */
		rule = balance_rule_match(e->balance, &pd->pi);
		if (balance_assign_rule(
			e->balance, e->flows, &pd->pi, f, rule, now_ms) == -1) {
			/* Not reached: routable was just asked.  Nothing to
			 * release in the balance: the flow is unassigned. */
			flow_table_remove(e->flows, f);
			return engine_skip(e, PKT_ERR_NO_ROUTE);
		}
		e->stats.new_flows++;
		res->is_new = 1;
		if (f->rule != FLOW_RULE_NONE)
			res->rule = f->rule;
	}
	flow_table_touch(e->flows, f, now_ms, pd->pi.len, pd->pi.tcp_flags);
	balance_account(e->balance, f->link, pd->pi.len, now_ms);
	e->stats.packets++;
	e->stats.bytes += pd->pi.len;
	res->flow = f;
	res->link = f->link;
	res->profile = f->profile;
	res->len = pd->pi.len;
	return 0;
}

void
engine_tick(struct engine *e, uint64_t now_ms)
{
	e->now_ms = now_ms;
	if (now_ms >= e->next_expire_ms)
		engine_expire(e, now_ms);
}

int
engine_packet(struct engine *e, const uint8_t *p, size_t len, int pkt_flags,
    uint64_t now_ms, struct engine_result *res)
{
	struct pending pd;
	int            rc;

	memset(res, 0, sizeof(*res));
	res->rule = -1;
	engine_tick(e, now_ms);
	if ((rc = engine_classify(e, p, len, pkt_flags, now_ms, &pd)) != 0)
		return rc;
	return engine_apply(e, &pd, now_ms, res);
}

void
engine_packets(struct engine *e, const uint8_t *const *pkts, const size_t *lens,
    unsigned n, int pkt_flags, uint64_t now_ms, int *rcs,
    struct engine_result *res)
{
	struct pending pd[ENGINE_BATCH_MAX];
	unsigned       i, base, m;

	engine_tick(e, now_ms);
	for (base = 0; base < n; base += m) {
		m = n - base < ENGINE_BATCH_MAX ? n - base : ENGINE_BATCH_MAX;
		for (i = 0; i < m; i++) {
			memset(&res[base + i], 0, sizeof(res[0]));
			res[base + i].rule = -1;
			rcs[base + i] = engine_classify(e, pkts[base + i],
			    lens[base + i], pkt_flags, now_ms, &pd[i]);
			if (rcs[base + i] == 0)
				flow_table_prefetch(e->flows, pd[i].hash);
		}
		for (i = 0; i < m; i++) {
			if (rcs[base + i] != 0)
				continue;
			rcs[base + i] =
			    engine_apply(e, &pd[i], now_ms, &res[base + i]);
			/* A later insert of this chunk may evict this flow
			 * and reuse its entry: hand out no pointer. */
			res[base + i].flow = NULL;
		}
	}
}

size_t
engine_link_down(struct engine *e, unsigned link, uint64_t now_ms,
    balance_move_cb cb, void *arg)
{
	e->now_ms = now_ms;
	return balance_link_down(e->balance, e->flows, link, now_ms, cb, arg);
}

size_t
engine_sla_move(struct engine *e, unsigned link, unsigned profile,
    uint64_t now_ms, balance_move_cb cb, void *arg)
{
	e->now_ms = now_ms;
	return balance_sla_move(
	    e->balance, e->flows, link, profile, now_ms, cb, arg);
}

size_t
engine_link_up(struct engine *e, unsigned link, uint64_t now_ms,
    balance_move_cb cb, void *arg)
{
	e->now_ms = now_ms;
	return balance_link_up(e->balance, e->flows, link, now_ms, cb, arg);
}

struct unrouted {
	struct flow **f;
	size_t        n, max;
};

static int
find_unrouted(void *arg, struct flow *f)
{
	struct unrouted *u = arg;

	if (f->link != FLOW_LINK_NONE)
		return 0;
	u->f[u->n++] = f;
	return u->n == u->max;
}

int
engine_reconfigure(struct engine *e, const struct balance_spec *spec,
    const int *link_map, uint64_t now_ms, balance_move_cb cb, void *arg,
    size_t *moved)
{
	struct balance *b;
	struct flow    *one;
	struct unrouted u = {&one, 0, 1};
	size_t          stranded, n, i;

	b = balance_reconfigure(e->balance, spec, e->flows, link_map, now_ms,
	    cb, arg, &n, &stranded);
	if (b == NULL)
		return -1;
	balance_free(e->balance);
	e->balance = b;
	e->now_ms = now_ms;
	flow_table_set_timeouts(e->flows, &spec->flow_timeouts);
	/*
	 * A walk must not remove: collect the flows left without a route,
	 * then remove them (entries never move, the pointers hold).  Only the
	 * unassigned flows' list is walked.  Short of memory, one walk per
	 * flow: slow, but a reload that takes away every route of some
	 * destination is rare.
	 */
	if (stranded > 1 && (u.f = calloc(stranded, sizeof(*u.f))) != NULL)
		u.max = stranded;
	else
		u.f = &one;
	while (stranded > 0) {
		u.n = 0;
		flow_table_foreach_link(
		    e->flows, FLOW_LINK_NONE, find_unrouted, &u);
		if (u.n == 0)
			break;
		for (i = 0; i < u.n; i++)
			flow_table_remove(e->flows, u.f[i]);
		stranded -= u.n < stranded ? u.n : stranded;
	}
	if (u.f != &one)
		free(u.f);
	if (moved != NULL)
		*moved = n;
	return 0;
}

size_t
engine_link_rehome(
    struct engine *e, uint64_t now_ms, balance_move_cb cb, void *arg)
{
	unsigned l, n = balance_nlinks(e->balance);
	size_t   moved = 0;

	e->now_ms = now_ms;
	/* Taking a down link down again moves what is still on it, now
	 * that there is somewhere to go; only links with flows cost a walk. */
	for (l = 0; l < n; l++)
		if (!balance_link_is_up(e->balance, l) &&
		    balance_link_active(e->balance, l) > 0)
			moved += balance_link_down(
			    e->balance, e->flows, l, now_ms, cb, arg);
	return moved;
}

int
engine_flow_assign(struct engine *e, const struct flow_key *key, unsigned link,
    int a_initiator, uint64_t now_ms)
{
	struct flow *f;
	uint64_t     hash;
	int          rc = ENGINE_ASSIGN_MOVED;

	if (link >= balance_nlinks(e->balance) ||
	    !balance_link_is_up(e->balance, link))
		return ENGINE_ASSIGN_REFUSED;
	e->now_ms = now_ms;
	hash = flow_table_hash(e->flows, key);
	if ((f = flow_table_lookup(e->flows, key, hash)) == NULL) {
		if ((f = flow_table_insert(e->flows, key, hash, now_ms)) ==
		    NULL)
			return ENGINE_ASSIGN_REFUSED;
		if (a_initiator)
			f->flags |= FLOW_F_A_INITIATOR;
		rc = ENGINE_ASSIGN_INSERTED;
	} else if (f->link == link)
		return ENGINE_ASSIGN_SAME;
	/* Not refused: the link was checked above. */
	(void)balance_set_link(e->balance, e->flows, f, link, now_ms);
	f->flags |= FLOW_F_MOVED;
	return rc;
}

const struct engine_stats *
engine_stats(const struct engine *e)
{
	return &e->stats;
}

struct flow_table *
engine_flows(struct engine *e)
{
	return e->flows;
}

struct balance *
engine_balance(struct engine *e)
{
	return e->balance;
}
