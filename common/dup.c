#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dup.h"
#include "proto.h"

void
dup_counters_add(struct dup_counters *to, const struct dup_counters *c)
{
	to->sent += c->sent;
	to->delivered += c->delivered;
	to->discarded += c->discarded;
	to->over_cap += c->over_cap;
	to->single += c->single;
	to->bad += c->bad;
}

uint64_t
dup_rank(uint32_t loss_ppm, uint32_t rtt_us)
{
	uint64_t r = (uint64_t)loss_ppm << 32 | rtt_us;

	/* Keep DUP_RANK_DOWN for links that are down. */
	return r == DUP_RANK_DOWN ? r - 1 : r;
}

int
dup_pick(const uint64_t *rank, unsigned n, unsigned primary)
{
	unsigned i;
	int      best = -1;

	for (i = 0; i < n; i++) {
		if (i == primary || rank[i] == DUP_RANK_DOWN)
			continue;
		if (best == -1 || rank[i] < rank[best])
			best = (int)i;
	}
	return best;
}

void
dup_tx_init(struct dup_tx *t)
{
	memset(t, 0, sizeof(*t));
}

int
dup_tx_admit(struct dup_tx *t, unsigned slot, uint32_t pps, uint64_t now_ms,
    struct dup_counters *c)
{
	uint32_t burst = pps / 10 > 10 ? pps / 10 : 10;

	if (slot >= DUP_MAX_PROFILES || pps == 0 ||
	    !limit_bucket_take(&t->bucket[slot], now_ms, pps, burst)) {
		c->over_cap++;
		return 0;
	}
	return 1;
}

uint64_t
dup_tx_next(struct dup_tx *t)
{
	return t->seq++;
}

struct dup_rx *
dup_rx_new(unsigned nstreams)
{
	struct dup_rx *r;

	if (nstreams == 0 || nstreams > PROTO_MAX_WORKERS)
		return NULL;
	if ((r = calloc(1, sizeof(*r) + nstreams * sizeof(r->win[0]))) == NULL)
		return NULL;
	r->nstreams = nstreams;
	dup_rx_reset(r);
	return r;
}

void
dup_rx_free(struct dup_rx *r)
{
	free(r);
}

void
dup_rx_reset(struct dup_rx *r)
{
	unsigned i;

	for (i = 0; i < r->nstreams; i++)
		replay_init(&r->win[i]);
}

enum dup_verdict
dup_rx_check(
    struct dup_rx *r, uint32_t stream, uint64_t seq, struct dup_counters *c)
{
	if (stream >= r->nstreams) {
		c->bad++;
		return DUP_BAD;
	}
	if (replay_check(&r->win[stream], seq) != 0) {
		c->discarded++;
		return DUP_SECOND;
	}
	replay_update(&r->win[stream], seq);
	c->delivered++;
	return DUP_FIRST;
}

void
dup_profiles_from_config(struct dup_profile out[DUP_PROFILE_TABLE],
    const struct config *conf, unsigned workers)
{
	const struct config_profile *p;
	size_t                       i;

	for (i = 0; i < DUP_PROFILE_TABLE; i++) {
		out[i].pps = 0;
		out[i].slot = -1;
	}
	for (i = 0; i < conf->nprofiles && i < DUP_PROFILE_TABLE; i++) {
		p = &conf->profiles[i];
		if (!p->duplicate || p->dup_slot < 0)
			continue;
		out[i].slot = p->dup_slot;
		out[i].pps = p->duplicate_max_pps / (workers > 0 ? workers : 1);
		if (out[i].pps == 0)
			out[i].pps = 1;
	}
}
