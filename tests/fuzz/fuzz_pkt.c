#include "autoconf.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "frag.h"
#include "pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * The whole upstream classification path on one input: parse (as from a
 * TUN and as from a capture), fragment follow-up, key, then a small flow
 * table that stays full and evicts.  The table and cache persist across
 * inputs so that their state, not just the parser, sees hostile keys.
 */
#define FLOWS_MAX 32

static struct flow_table *flows;
static struct frag_cache *frags;
static uint64_t           now_ms;

static const struct flow_timeouts tmo = {{60, 5, 30, 10, 20}};

static void
check_info(const struct pkt_info *pi, size_t size, int flags)
{
	static const uint8_t zero[12];

	if (pi->family != AF_INET && pi->family != AF_INET6)
		abort();
	if (pi->frag > PKT_FRAG_LATER)
		abort();
	if (pi->l4_off > size || pi->l4_off > pi->len)
		abort();
	if (!(flags & PKT_F_SNAPLEN) && pi->len > size)
		abort();
	if (pi->family == AF_INET &&
	    (memcmp(pi->src + 4, zero, 12) != 0 ||
		memcmp(pi->dst + 4, zero, 12) != 0))
		abort();
	if (pi->frag == PKT_FRAG_LATER && (pi->sport != 0 || pi->dport != 0))
		abort();
}

static void
check_key(const struct pkt_info *pi)
{
	struct pkt_info r = *pi;
	struct flow_key k1, k2;
	int             a1, a2;

	memcpy(r.src, pi->dst, sizeof(r.src));
	memcpy(r.dst, pi->src, sizeof(r.dst));
	r.sport = pi->dport;
	r.dport = pi->sport;
	a1 = flow_key_from_pkt(pi, &k1);
	a2 = flow_key_from_pkt(&r, &k2);
	/* Both directions, one key; exactly one side is `a` unless the
	 * two endpoints are the same. */
	if (memcmp(&k1, &k2, sizeof(k1)) != 0)
		abort();
	if (a1 == a2 &&
	    (memcmp(pi->src, pi->dst, 16) != 0 || pi->sport != pi->dport))
		abort();
	if (k1.pad[0] != 0 || k1.pad[1] != 0)
		abort();
}

static void
account(const struct pkt_info *pi)
{
	struct flow_key k;
	struct flow    *f;
	uint64_t        h;
	int             src_is_a;

	src_is_a = flow_key_from_pkt(pi, &k);
	h = flow_table_hash(flows, &k);
	if ((f = flow_table_lookup(flows, &k, h)) == NULL) {
		f = flow_table_insert(flows, &k, h, now_ms);
		if (src_is_a)
			f->flags |= FLOW_F_A_INITIATOR;
		if (flow_table_lookup(flows, &k, h) != f)
			abort();
	}
	if (memcmp(&f->key, &k, sizeof(k)) != 0)
		abort();
	flow_table_touch(flows, f, now_ms, pi->len, pi->tcp_flags);
	/* Some inputs end their flow, as a RST would on the engine's side
	 * of the house. */
	if (pi->tcp_flags & PKT_TCP_RST) {
		flow_table_remove(flows, f);
		if (flow_table_lookup(flows, &k, h) != NULL)
			abort();
	}
	if (flow_table_count(flows) > FLOWS_MAX)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt_info pi, snap;
	int             rc, rc_snap;

	if (flows == NULL) {
		flows = flow_table_new(FLOWS_MAX, &tmo);
		frags = frag_cache_new(16, 30000);
		if (flows == NULL || frags == NULL)
			abort();
	}
	now_ms += 1000;

	rc = pkt_parse(data, size, 0, &pi);
	rc_snap = pkt_parse(data, size, PKT_F_SNAPLEN, &snap);
	if (strcmp(pkt_reason_str(rc), "unknown") == 0 ||
	    strcmp(pkt_reason_str(rc_snap), "unknown") == 0)
		abort();
	if (rc_snap == PKT_OK)
		check_info(&snap, size, PKT_F_SNAPLEN);
	if (rc != PKT_OK)
		return 0;
	check_info(&pi, size, 0);
	/* A snap length only relaxes the length rule: what parses whole
	 * parses the same as a capture. */
	if (rc_snap != PKT_OK || memcmp(&pi, &snap, sizeof(pi)) != 0)
		abort();

	rc = frag_cache_resolve(frags, &pi, now_ms);
	if (rc != PKT_OK && rc != PKT_ERR_FRAG_NO_HEAD)
		abort();
	if (rc != PKT_OK)
		return 0;
	check_key(&pi);
	account(&pi);
	if (now_ms % 7000 == 0)
		(void)flow_table_expire(flows, now_ms, 4);
	return 0;
}
