#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "frag.h"

/* A first fragment is remembered this long; RFC 8200 section 4.5 and
 * Linux (net.ipv4.ipfrag_time) both give up on reassembly after 60 s. */
#define FRAG_TIMEOUT_MS		60000
#define FRAG_ENTRIES		4096
/* Idle expiry runs at most this often; timeouts are whole seconds. */
#define EXPIRE_INTERVAL_MS	1000

struct engine {
	struct flow_table	*flows;
	struct balance		*balance;
	struct frag_cache	*frags;
	struct engine_stats	 stats;
	uint64_t		 next_expire_ms;
	uint64_t		 now_ms;	/* for releases inside the table */
	flow_release_cb		 release_cb;
	void			*release_arg;
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

struct engine *
engine_new(const struct config *conf, enum balance_side side)
{
	struct engine *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->flows = flow_table_new(conf->flows_max, &conf->flow_timeouts);
	e->balance = balance_new(conf, side);
	e->frags = frag_cache_new(FRAG_ENTRIES, FRAG_TIMEOUT_MS);
	if (e->flows == NULL || e->balance == NULL || e->frags == NULL) {
		engine_free(e);
		return NULL;
	}
	flow_table_set_release_cb(e->flows, engine_released, e);
	return e;
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	/* The table releases its flows into the balance: free it first. */
	flow_table_free(e->flows);
	balance_free(e->balance);
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
	flow_table_expire(e->flows, now_ms, 0);
	e->next_expire_ms = now_ms + EXPIRE_INTERVAL_MS;
}

static int
engine_skip(struct engine *e, int reason)
{
	if (reason < 0 && reason > -PKT_NREASONS)
		e->stats.skipped[-reason]++;
	return reason;
}

int
engine_packet(struct engine *e, const uint8_t *p, size_t len, int pkt_flags,
    uint64_t now_ms, struct engine_result *res)
{
	struct pkt_info pi;
	struct flow_key key;
	struct flow *f;
	uint64_t hash;
	int rc, src_is_a;

	res->flow = NULL;
	res->is_new = 0;
	e->now_ms = now_ms;
	if (now_ms >= e->next_expire_ms)
		engine_expire(e, now_ms);

	if ((rc = pkt_parse(p, len, pkt_flags, &pi)) != PKT_OK)
		return engine_skip(e, rc);
	if ((rc = frag_cache_resolve(e->frags, &pi, now_ms)) != PKT_OK)
		return engine_skip(e, rc);

	src_is_a = flow_key_from_pkt(&pi, &key);
	hash = flow_table_hash(e->flows, &key);
	if ((f = flow_table_lookup(e->flows, &key, hash)) == NULL) {
		f = flow_table_insert(e->flows, &key, hash, now_ms);
		if (src_is_a)
			f->flags |= FLOW_F_A_INITIATOR;
		if (balance_assign(e->balance, &pi, f, now_ms) == -1) {
			/* Nothing to release in the balance: unassigned. */
			flow_table_remove(e->flows, f);
			return engine_skip(e, PKT_ERR_NO_ROUTE);
		}
		e->stats.new_flows++;
		res->is_new = 1;
	}
	flow_table_touch(e->flows, f, now_ms, pi.len, pi.tcp_flags);
	balance_account(e->balance, f->link, pi.len, now_ms);
	e->stats.packets++;
	e->stats.bytes += pi.len;
	res->flow = f;
	res->len = pi.len;
	return 0;
}

size_t
engine_link_down(struct engine *e, unsigned link, uint64_t now_ms,
    balance_move_cb cb, void *arg)
{
	e->now_ms = now_ms;
	return balance_link_down(e->balance, e->flows, link, now_ms, cb, arg);
}

size_t
engine_link_up(struct engine *e, unsigned link, uint64_t now_ms,
    balance_move_cb cb, void *arg)
{
	e->now_ms = now_ms;
	return balance_link_up(e->balance, e->flows, link, now_ms, cb, arg);
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
