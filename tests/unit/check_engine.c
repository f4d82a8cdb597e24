/*
 * The engine: the per-packet path the daemons and replay share.  Batched
 * and one-at-a-time processing must agree packet for packet; bad packets
 * are counted by reason and create no flow; a destination no route covers
 * creates no flow either.
 */
#include "autoconf.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ctlmsg.h"
#include "engine.h"
#include "check_run.h"
#include "check_spec.h"

static struct config *
conf_from(const char *text)
{
	struct config_errors errs = {0};
	struct config       *c =
	    config_parse(text, strlen(text), "t.json", CONFIG_REPLAY, &errs);

	ck_assert_msg(c != NULL, "%s", errs.n ? errs.lines[0] : "?");
	return c;
}

static const char two_links[] =
    "{\"links\": ["
    "{\"name\": \"WAN1\", \"up_mbps\": 100, \"down_mbps\": 100},"
    "{\"name\": \"WAN2\", \"up_mbps\": 20, \"down_mbps\": 20}],"
    "\"flows\": {\"max\": 4096}}";

/* IPv4 UDP from 10.0.x.y:port to dst:53, or the reply when `reply`. */
static void
udp4(uint8_t *p, uint32_t host, uint8_t dst_last, int reply)
{
	uint8_t lan[4] = {10, 0, (uint8_t)(host >> 8), (uint8_t)host};
	uint8_t inet[4] = {203, 0, 113, dst_last};

	memset(p, 0, 28);
	p[0] = 0x45;
	p[3] = 28;
	p[8] = 64;
	p[9] = 17;
	memcpy(p + 12, reply ? inet : lan, 4);
	memcpy(p + 16, reply ? lan : inet, 4);
	p[20] = reply ? 0 : 0x30;
	p[21] = reply ? 53 : (uint8_t)host;
	p[22] = reply ? 0x30 : 0;
	p[23] = reply ? (uint8_t)host : 53;
	p[25] = 8;
}

START_TEST(batch_matches_single)
{
	struct config *c = conf_from(two_links);
	struct engine *one = engine_conf(c, SIDE_UP);
	struct engine *many = engine_conf(c, SIDE_UP);
	enum { N = 300 };
	static uint8_t       pkts[N][28];
	const uint8_t       *bp[N];
	size_t               lens[N];
	struct engine_result r1, rb[N];
	int                  rcs[N], i, rc, wan1 = 0;

	/* new flows, replies, and a garbage packet in the middle */
	for (i = 0; i < N; i++) {
		udp4(pkts[i], (uint32_t)(i % 200), 1, i >= 200);
		bp[i] = pkts[i];
		lens[i] = 28;
	}
	pkts[150][0] = 0x55; /* IP version 5 */
	engine_packets(many, bp, lens, N, 0, 1000, rcs, rb);
	for (i = 0; i < N; i++) {
		rc = engine_packet(one, pkts[i], 28, 0, 1000, &r1);
		ck_assert_int_eq(rc, rcs[i]);
		if (rc != 0)
			continue;
		ck_assert_int_eq(r1.is_new, rb[i].is_new);
		ck_assert_int_eq(r1.link, rb[i].link);
		ck_assert_ptr_null(rb[i].flow);
		ck_assert_uint_eq(r1.len, 28);
		if (r1.is_new && r1.flow->link == 0)
			wan1++;
	}
	ck_assert_int_eq(rcs[150], PKT_ERR_VERSION);
	/* 199 good new flows at 100:20; the replies (200..299) are not new */
	ck_assert_int_eq(engine_stats(many)->new_flows, 199);
	ck_assert_int_eq(wan1, 166);
	ck_assert_int_eq(rb[250].is_new, 0);
	ck_assert_int_eq(engine_stats(many)->skipped[-PKT_ERR_VERSION], 1);
	ck_assert_int_eq(flow_table_count(engine_flows(many)), 199);
	engine_free(one);
	engine_free(many);
	config_free(c);
}
END_TEST

/*
 * A batch larger than the table: later packets of the batch evict the
 * flows of earlier ones.  Each packet must still get its own flow's link,
 * exactly as one at a time, and no stale flow pointer is handed out.
 */
START_TEST(batch_larger_than_table)
{
	struct config *c = conf_from(
	    "{\"links\": ["
	    "{\"name\": \"WAN1\", \"up_mbps\": 100, \"down_mbps\": 100},"
	    "{\"name\": \"WAN2\", \"up_mbps\": 20, \"down_mbps\": 20}],"
	    "\"flows\": {\"max\": 2}}");
	struct engine *one = engine_conf(c, SIDE_UP);
	struct engine *many = engine_conf(c, SIDE_UP);
	enum { N = 12 };
	static uint8_t       pkts[N][28];
	const uint8_t       *bp[N];
	size_t               lens[N];
	struct engine_result r1, rb[N];
	int                  rcs[N], i;

	for (i = 0; i < N; i++) {
		udp4(pkts[i], (uint32_t)i, 1, 0);
		bp[i] = pkts[i];
		lens[i] = 28;
	}
	engine_packets(many, bp, lens, N, 0, 1000, rcs, rb);
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(
		    engine_packet(one, pkts[i], 28, 0, 1000, &r1), 0);
		ck_assert_int_eq(rcs[i], 0);
		ck_assert_int_eq(rb[i].is_new, 1);
		ck_assert_int_eq(rb[i].link, r1.link);
		ck_assert_ptr_null(rb[i].flow);
	}
	/* 5:1 holds across the evictions: 10 on WAN1, 2 on WAN2 */
	for (i = 0, rcs[0] = 0; i < N; i++)
		rcs[0] += rb[i].link == 0;
	ck_assert_int_eq(rcs[0], 10);
	ck_assert_int_eq(flow_table_count(engine_flows(many)), 2);
	ck_assert_int_eq(flow_table_evictions(engine_flows(many)), N - 2);
	engine_free(one);
	engine_free(many);
	config_free(c);
}
END_TEST

/* An unroutable packet must not push a live flow out of a full table. */
START_TEST(no_route_keeps_full_table)
{
	struct config *c = conf_from(
	    "{\"links\": ["
	    "{\"name\": \"WAN1\", \"up_mbps\": 100, \"down_mbps\": 100}],"
	    "\"routes\": [{\"network\": \"203.0.113.0/24\", "
	    "\"link\": \"WAN1\"}],"
	    "\"flows\": {\"max\": 2}}");
	struct engine       *e = engine_conf(c, SIDE_UP);
	struct engine_result r;
	uint8_t              p[28];

	udp4(p, 1, 1, 0);
	ck_assert_int_eq(engine_packet(e, p, 28, 0, 1000, &r), 0);
	udp4(p, 2, 1, 0);
	ck_assert_int_eq(engine_packet(e, p, 28, 0, 1000, &r), 0);
	/* 198.51.100.1 is not routed */
	udp4(p, 3, 1, 0);
	p[16] = 198;
	p[17] = 51;
	p[18] = 100;
	ck_assert_int_eq(
	    engine_packet(e, p, 28, 0, 1000, &r), PKT_ERR_NO_ROUTE);
	ck_assert_int_eq(flow_table_count(engine_flows(e)), 2);
	ck_assert_int_eq(flow_table_evictions(engine_flows(e)), 0);
	engine_free(e);
	config_free(c);
}
END_TEST

/* popd's sites: engines over one pool.  One that fills the pool keeps
 * its flows; the other's new flow is skipped as table-full and counted,
 * and its REASSIGN insert refused, until the first gives entries back. */
START_TEST(shared_pool_table_full)
{
	struct config       *c = conf_from(two_links);
	struct balance_spec  spec;
	struct flow_pool    *pool = flow_pool_new(3);
	struct frag_cache   *frags = engine_frags_new();
	struct engine       *a, *b;
	struct engine_result r;
	struct flow_key      k;
	uint8_t              p[28];
	uint32_t             i;

	ck_assert_int_eq(balance_spec_from_config(&spec, c, SIDE_UP), 0);
	ck_assert_ptr_null(engine_new_shared(&spec, pool, 3, NULL));
	a = engine_new_shared(&spec, pool, 3, frags);
	b = engine_new_shared(&spec, pool, 3, frags);
	balance_spec_clear(&spec);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	for (i = 1; i <= 3; i++) {
		udp4(p, i, 1, 0);
		ck_assert_int_eq(engine_packet(a, p, 28, 0, 1000, &r), 0);
	}
	udp4(p, 9, 1, 0);
	ck_assert_int_eq(
	    engine_packet(b, p, 28, 0, 1000, &r), PKT_ERR_TABLE_FULL);
	ck_assert_int_eq(engine_stats(b)->skipped[-PKT_ERR_TABLE_FULL], 1);
	ck_assert_uint_eq(flow_table_refused(engine_flows(b)), 1);
	ck_assert_uint_eq(flow_table_count(engine_flows(a)), 3);
	memset(&k, 0, sizeof(k));
	k.family = AF_INET;
	k.proto = 17;
	ck_assert_int_eq(
	    engine_flow_assign(b, &k, 0, 0, 1000), ENGINE_ASSIGN_REFUSED);
	/* a's flows expire (UDP, 30 s by default): b's flow is let in. */
	engine_tick(a, 1000 + 3600 * 1000);
	ck_assert_uint_eq(flow_pool_used(pool), 0);
	ck_assert_int_eq(engine_packet(b, p, 28, 0, 2000, &r), 0);
	ck_assert(r.is_new);
	engine_free(a);
	engine_free(b);
	flow_pool_free(pool);
	frag_cache_free(frags);
	config_free(c);
}
END_TEST

START_TEST(reply_is_the_same_flow)
{
	struct config       *c = conf_from(two_links);
	struct engine       *e = engine_conf(c, SIDE_UP);
	struct engine_result r, back;
	uint8_t              p[28];

	udp4(p, 7, 9, 0);
	ck_assert_int_eq(engine_packet(e, p, 28, 0, 1000, &r), 0);
	ck_assert(r.is_new);
	ck_assert(r.flow->flags & FLOW_F_A_INITIATOR);
	udp4(p, 7, 9, 1);
	ck_assert_int_eq(engine_packet(e, p, 28, 0, 1001, &back), 0);
	ck_assert(!back.is_new);
	ck_assert_ptr_eq(back.flow, r.flow);
	ck_assert_uint_eq(back.flow->packets, 2);
	ck_assert_uint_eq(back.flow->bytes, 56);
	engine_free(e);
	config_free(c);
}
END_TEST

START_TEST(no_route_no_flow)
{
	/* only 198.18.0.0/15 is routed; 203.0.113.9 is not */
	struct config *c = conf_from(
	    "{\"links\": ["
	    "{\"name\": \"WAN1\", \"up_mbps\": 100, \"down_mbps\": 100}],"
	    "\"routes\": [{\"network\": \"198.18.0.0/15\", \"link\": "
	    "\"WAN1\"}]}");
	struct engine       *e = engine_conf(c, SIDE_UP);
	struct engine_result r;
	uint8_t              p[28];

	udp4(p, 1, 9, 0);
	ck_assert_int_eq(
	    engine_packet(e, p, 28, 0, 1000, &r), PKT_ERR_NO_ROUTE);
	ck_assert_ptr_null(r.flow);
	ck_assert_int_eq(flow_table_count(engine_flows(e)), 0);
	ck_assert_int_eq(engine_stats(e)->skipped[-PKT_ERR_NO_ROUTE], 1);
	engine_free(e);
	config_free(c);
}
END_TEST

static int released;

static void
count_release(void *arg, struct flow *f, enum flow_release why)
{
	(void)arg;
	(void)f;
	ck_assert(why == FLOW_RELEASE_EXPIRED || why == FLOW_RELEASE_REMOVED);
	released++;
}

/* UDP flows go after udp_timeout_s idle; the rest on engine_free. */
START_TEST(expiry_and_release)
{
	struct config *c = conf_from(
	    "{\"links\": ["
	    "{\"name\": \"WAN1\", \"up_mbps\": 100, \"down_mbps\": 100}],"
	    "\"flows\": {\"max\": 64, \"udp_timeout_s\": 5}}");
	struct engine       *e = engine_conf(c, SIDE_UP);
	struct engine_result r;
	uint8_t              p[28];
	uint32_t             i;

	released = 0;
	engine_set_release_cb(e, count_release, NULL);
	for (i = 0; i < 10; i++) {
		udp4(p, i, 1, 0);
		ck_assert_int_eq(engine_packet(e, p, 28, 0, 1000, &r), 0);
	}
	udp4(p, 100, 1, 0);
	ck_assert_int_eq(engine_packet(e, p, 28, 0, 5500, &r), 0);
	ck_assert_int_eq(released, 0);
	engine_expire(e, 6000);
	ck_assert_int_eq(released, 10);
	ck_assert_int_eq(flow_table_count(engine_flows(e)), 1);
	ck_assert_uint_eq(balance_link_active(engine_balance(e), 0), 1);
	engine_free(e);
	ck_assert_int_eq(released, 11);
	config_free(c);
}
END_TEST

/* A timer's tick expires idle flows when no packet comes at all (the
 * daemons call engine_tick() from their timers), and only once it is
 * due. */
START_TEST(tick_expires_without_packets)
{
	struct config *c = conf_from(
	    "{\"links\": ["
	    "{\"name\": \"WAN1\", \"up_mbps\": 100, \"down_mbps\": 100}],"
	    "\"flows\": {\"max\": 64, \"udp_timeout_s\": 2}}");
	struct engine       *e = engine_conf(c, SIDE_UP);
	struct engine_result r;
	uint8_t              p[28];
	uint32_t             i;

	released = 0;
	engine_set_release_cb(e, count_release, NULL);
	for (i = 0; i < 8; i++) {
		udp4(p, i, 1, 0);
		ck_assert_int_eq(engine_packet(e, p, 28, 0, 1000, &r), 0);
	}
	engine_tick(e, 2500); /* not idle long enough */
	ck_assert_int_eq(flow_table_count(engine_flows(e)), 8);
	engine_tick(e, 4000);
	ck_assert_int_eq(released, 8);
	ck_assert_int_eq(flow_table_count(engine_flows(e)), 0);
	engine_free(e);
	config_free(c);
}
END_TEST

/* ------------------------------------------------- reassignment */

/* IPv4 UDP flow number i (0..2^24): 10.x.y.z:40000 -> 203.0.113.1:53,
 * or its reply. */
static void
udp4_flow(uint8_t *p, uint32_t i, int reply)
{
	uint8_t lan[4] = {
	    10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
	uint8_t inet[4] = {203, 0, 113, 1};

	udp4(p, 0, 1, reply);
	memcpy(p + 12, reply ? inet : lan, 4);
	memcpy(p + 16, reply ? lan : inet, 4);
	p[reply ? 22 : 20] = 40000 >> 8;
	p[reply ? 23 : 21] = 40000 & 0xff;
}

/* Three links whose up and down weights differ, so the Socket's engine
 * (SIDE_UP) and the PoP's (SIDE_DOWN) choose differently on their own. */
static const char three_links[] =
    "{\"links\": ["
    "{\"name\": \"WAN1\", \"up_mbps\": 100, \"down_mbps\": 30},"
    "{\"name\": \"WAN2\", \"up_mbps\": 20, \"down_mbps\": 100},"
    "{\"name\": \"WAN3\", \"up_mbps\": 50, \"down_mbps\": 10}],"
    "\"flows\": {\"max\": 131072}}";

struct moves {
	struct ctl_move *mv;
	size_t           n, max;
	size_t           to[CONFIG_MAX_LINKS];
};

static void
collect(void *arg, const struct flow *f, unsigned from, unsigned to)
{
	struct moves *m = arg;

	ck_assert_uint_ne(from, to);
	ck_assert_uint_eq(f->link, to);
	ck_assert(f->flags & FLOW_F_MOVED);
	ck_assert_uint_lt(m->n, m->max);
	memset(&m->mv[m->n], 0, sizeof(m->mv[0]));
	m->mv[m->n].key = f->key;
	m->mv[m->n].link = (uint8_t)to;
	m->n++;
	m->to[to]++;
}

struct compare {
	struct engine *other;
	size_t         same, flows;
};

static int
same_link(void *arg, struct flow *f)
{
	struct compare    *c = arg;
	struct flow_table *t = engine_flows(c->other);
	struct flow       *g =
	    flow_table_lookup(t, &f->key, flow_table_hash(t, &f->key));

	c->flows++;
	if (g != NULL && g->link == f->link)
		c->same++;
	return 0;
}

/*
 * Issue 5's figure: 100,000 flows on WAN1 when it dies.  The Socket's
 * moves go out in ceil(100000 / 4096) = 25 REASSIGN chunks; the PoP,
 * which has already moved the same flows its own way (its probes saw the
 * link go), applies the decoded chunks in order, and afterwards both
 * engines list the same link for every flow, with true per-link counts.
 */
START_TEST(reassign_100k_flows)
{
	enum { NFLOWS = 100000 };
	struct config       *c = conf_from(three_links);
	struct engine       *sock = engine_conf(c, SIDE_UP);
	struct engine       *pop = engine_conf(c, SIDE_DOWN);
	struct engine_result r;
	struct moves         m = {0};
	struct compare       cmp = {0};
	struct ctl_reassign  ra;
	struct ctl_frame     f;
	uint8_t              p[28], *out;
	size_t               outlen, nchunks, applied = 0, l;
	uint32_t             i, seq;
	char                 err[CTL_ERRLEN];
	int                  rc;

	m.max = NFLOWS;
	ck_assert_ptr_nonnull(m.mv = calloc(m.max, sizeof(*m.mv)));
	/* Every flow opens while only WAN1 is up, at both ends. */
	for (l = 1; l < 3; l++) {
		engine_link_down(sock, (unsigned)l, 0, NULL, NULL);
		engine_link_down(pop, (unsigned)l, 0, NULL, NULL);
	}
	for (i = 0; i < NFLOWS; i++) {
		udp4_flow(p, i, 0);
		ck_assert_int_eq(engine_packet(sock, p, 28, 0, 1000, &r), 0);
		udp4_flow(p, i, 1);
		ck_assert_int_eq(engine_packet(pop, p, 28, 0, 1001, &r), 0);
		ck_assert_uint_eq(r.link, 0);
	}
	for (l = 1; l < 3; l++) {
		ck_assert_uint_eq(
		    engine_link_up(sock, (unsigned)l, 2000, NULL, NULL), 0);
		ck_assert_uint_eq(
		    engine_link_up(pop, (unsigned)l, 2000, NULL, NULL), 0);
	}

	ck_assert_uint_eq(engine_link_down(sock, 0, 3000, collect, &m), NFLOWS);
	ck_assert_uint_eq(m.n, NFLOWS);
	ck_assert_uint_eq(m.to[0], 0);
	/* 20:50 by up weight */
	ck_assert_uint_eq(m.to[1], NFLOWS * 2 / 7);
	ck_assert_uint_eq(engine_link_down(pop, 0, 3100, NULL, NULL), NFLOWS);

	nchunks = ctlmsg_reassign_chunks(m.n);
	ck_assert_uint_eq(
	    nchunks, (NFLOWS + CTL_MAX_MOVES - 1) / CTL_MAX_MOVES);
	ck_assert_uint_eq(nchunks, 25);
	for (seq = 0; seq < nchunks; seq++) {
		ck_assert_int_eq(ctlmsg_encode_reassign_chunk(
				     0, m.mv, m.n, seq, &out, &outlen),
		    0);
		ck_assert_int_eq(ctlmsg_frame(out, outlen, &f), CTL_OK);
		ck_assert_int_eq(f.type, CTL_REASSIGN);
		ck_assert_int_eq(ctlmsg_decode_reassign(
				     f.body, f.body_len, &ra, err, sizeof(err)),
		    CTL_OK);
		ck_assert_uint_eq(ra.seq, seq);
		ck_assert_uint_eq(ra.last, seq == nchunks - 1);
		for (i = 0; i < ra.nmoves; i++) {
			rc = engine_flow_assign(
			    pop, &ra.moves[i].key, ra.moves[i].link, 0, 3200);
			ck_assert(rc == ENGINE_ASSIGN_SAME ||
			    rc == ENGINE_ASSIGN_MOVED);
			applied++;
		}
		ctlmsg_reassign_free(&ra);
		free(out);
	}
	ck_assert_uint_eq(applied, NFLOWS);
	ck_assert_uint_eq(flow_table_count(engine_flows(pop)), NFLOWS);

	cmp.other = pop;
	flow_table_foreach(engine_flows(sock), same_link, &cmp);
	ck_assert_uint_eq(cmp.flows, NFLOWS);
	ck_assert_uint_eq(cmp.same, NFLOWS);
	for (l = 0; l < 3; l++)
		ck_assert_uint_eq(
		    balance_link_active(engine_balance(pop), (unsigned)l),
		    balance_link_active(engine_balance(sock), (unsigned)l));
	ck_assert_uint_eq(balance_link_active(engine_balance(pop), 1), m.to[1]);
	free(m.mv);
	engine_free(sock);
	engine_free(pop);
	config_free(c);
}
END_TEST

/*
 * engine_flow_assign() on a flow the PoP has (moved, or already there),
 * on one it does not have (inserted, and its traffic then follows), and
 * on links it must refuse (unknown, down): a refusal changes nothing.
 */
START_TEST(flow_assign)
{
	struct config       *c = conf_from(two_links);
	struct engine       *e = engine_conf(c, SIDE_DOWN);
	struct balance      *b = engine_balance(e);
	struct engine_result r;
	struct flow_key      k;
	struct flow         *f;
	struct pkt_info      pi;
	uint8_t              p[28];

	released = 0;
	engine_set_release_cb(e, count_release, NULL);
	udp4_flow(p, 1, 1);
	ck_assert_int_eq(engine_packet(e, p, 28, 0, 1000, &r), 0);
	ck_assert_uint_eq(r.link, 0);
	k = r.flow->key;
	ck_assert_int_eq(
	    engine_flow_assign(e, &k, 1, 0, 1100), ENGINE_ASSIGN_MOVED);
	f = flow_table_lookup(
	    engine_flows(e), &k, flow_table_hash(engine_flows(e), &k));
	ck_assert_ptr_eq(f, r.flow);
	ck_assert_uint_eq(f->link, 1);
	ck_assert(f->flags & FLOW_F_MOVED);
	ck_assert_uint_eq(balance_link_active(b, 0), 0);
	ck_assert_uint_eq(balance_link_active(b, 1), 1);
	ck_assert_int_eq(
	    engine_flow_assign(e, &k, 1, 0, 1200), ENGINE_ASSIGN_SAME);
	ck_assert_uint_eq(balance_link_active(b, 1), 1);
	/* its next packet goes where the peer said */
	ck_assert_int_eq(engine_packet(e, p, 28, 0, 1300, &r), 0);
	ck_assert(!r.is_new);
	ck_assert_uint_eq(r.link, 1);

	/* refused: a link the engine does not have, and a link down */
	ck_assert_int_eq(
	    engine_flow_assign(e, &k, 2, 0, 1400), ENGINE_ASSIGN_REFUSED);
	ck_assert_int_eq(
	    engine_flow_assign(e, &k, 255, 0, 1400), ENGINE_ASSIGN_REFUSED);
	engine_link_down(e, 0, 1400, NULL, NULL);
	ck_assert_int_eq(
	    engine_flow_assign(e, &k, 0, 0, 1500), ENGINE_ASSIGN_REFUSED);
	ck_assert_uint_eq(f->link, 1);
	ck_assert_uint_eq(balance_link_active(b, 1), 1);
	engine_link_up(e, 0, 1600, NULL, NULL);

	/* absent: inserted on the peer's link (the weights would say WAN1),
	 * and the first packet here is no new flow */
	memset(&pi, 0, sizeof(pi));
	ck_assert_int_eq(
	    pkt_parse((udp4_flow(p, 2, 0), p), 28, 0, &pi), PKT_OK);
	ck_assert_int_eq(flow_key_from_pkt(&pi, &k), 1);
	ck_assert_int_eq(
	    engine_flow_assign(e, &k, 1, 1, 1700), ENGINE_ASSIGN_INSERTED);
	ck_assert_uint_eq(flow_table_count(engine_flows(e)), 2);
	ck_assert_uint_eq(balance_link_active(b, 1), 2);
	udp4_flow(p, 2, 1);
	ck_assert_int_eq(engine_packet(e, p, 28, 0, 1800, &r), 0);
	ck_assert(!r.is_new);
	ck_assert_uint_eq(r.link, 1);
	ck_assert(r.flow->flags & FLOW_F_MOVED);
	ck_assert(r.flow->flags & FLOW_F_A_INITIATOR);
	ck_assert_uint_eq(engine_stats(e)->new_flows, 1);
	/* an absent key on a refused link is not inserted */
	udp4_flow(p, 3, 0);
	ck_assert_int_eq(pkt_parse(p, 28, 0, &pi), PKT_OK);
	flow_key_from_pkt(&pi, &k);
	ck_assert_int_eq(
	    engine_flow_assign(e, &k, 7, 1, 1900), ENGINE_ASSIGN_REFUSED);
	ck_assert_uint_eq(flow_table_count(engine_flows(e)), 2);

	/* the counts come back to zero as the flows leave */
	engine_free(e);
	ck_assert_int_eq(released, 2);
	config_free(c);
}
END_TEST

/*
 * Every link down: flows stay (on the last link to die), their packets
 * still find them; when one link returns with failback "new-flows",
 * engine_link_up() moves nothing, but the flows stranded on the dead link
 * move to it through engine_link_rehome(), the same flows.
 */
START_TEST(all_down_then_one_back)
{
	struct config       *c = conf_from(two_links);
	struct engine       *e = engine_conf(c, SIDE_UP);
	struct balance      *b = engine_balance(e);
	struct engine_result r;
	struct moves         m = {0};
	uint8_t              p[28];
	uint32_t             i;

	m.max = 64;
	ck_assert_ptr_nonnull(m.mv = calloc(m.max, sizeof(*m.mv)));
	for (i = 0; i < 12; i++) {
		udp4_flow(p, i, 0);
		ck_assert_int_eq(engine_packet(e, p, 28, 0, 1000, &r), 0);
	}
	ck_assert_uint_eq(balance_link_active(b, 0), 10);
	ck_assert_uint_eq(engine_link_down(e, 0, 2000, NULL, NULL), 10);
	ck_assert_uint_eq(engine_link_down(e, 1, 3000, NULL, NULL), 0);
	ck_assert_uint_eq(balance_link_active(b, 1), 12);
	/* no link: no move, nothing lost, packets still find their flow */
	ck_assert_uint_eq(engine_link_rehome(e, 3500, collect, &m), 0);
	udp4_flow(p, 3, 1);
	ck_assert_int_eq(engine_packet(e, p, 28, 0, 4000, &r), 0);
	ck_assert(!r.is_new);
	ck_assert_uint_eq(r.link, 1);
	ck_assert_uint_eq(flow_table_count(engine_flows(e)), 12);

	ck_assert_uint_eq(engine_link_up(e, 0, 5000, collect, &m), 0);
	ck_assert_uint_eq(engine_link_rehome(e, 5000, collect, &m), 12);
	ck_assert_uint_eq(m.to[0], 12);
	ck_assert_uint_eq(balance_link_active(b, 0), 12);
	ck_assert_uint_eq(balance_link_active(b, 1), 0);
	ck_assert_int_eq(engine_packet(e, p, 28, 0, 5100, &r), 0);
	ck_assert(!r.is_new);
	ck_assert_uint_eq(r.link, 0);
	/* nothing left to rehome; WAN2's return moves nothing (new-flows) */
	ck_assert_uint_eq(engine_link_rehome(e, 5200, collect, &m), 0);
	ck_assert_uint_eq(engine_link_up(e, 1, 5300, collect, &m), 0);
	ck_assert_uint_eq(engine_stats(e)->new_flows, 12);
	free(m.mv);
	engine_free(e);
	config_free(c);
}
END_TEST

static Suite *
engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc = tcase_create("packets");

	tcase_add_test(tc, batch_matches_single);
	tcase_add_test(tc, batch_larger_than_table);
	tcase_add_test(tc, no_route_keeps_full_table);
	tcase_add_test(tc, reply_is_the_same_flow);
	tcase_add_test(tc, no_route_no_flow);
	tcase_add_test(tc, shared_pool_table_full);
	tcase_add_test(tc, expiry_and_release);
	tcase_add_test(tc, tick_expires_without_packets);
	suite_add_tcase(s, tc);
	tc = tcase_create("reassign");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, reassign_100k_flows);
	tcase_add_test(tc, flow_assign);
	tcase_add_test(tc, all_down_then_one_back);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(engine_suite());
}
