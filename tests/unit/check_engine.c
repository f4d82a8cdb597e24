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
#include "engine.h"
#include "check_run.h"

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
	struct engine *one = engine_new(c, SIDE_UP);
	struct engine *many = engine_new(c, SIDE_UP);
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
	struct engine *one = engine_new(c, SIDE_UP);
	struct engine *many = engine_new(c, SIDE_UP);
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
	struct engine       *e = engine_new(c, SIDE_UP);
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

START_TEST(reply_is_the_same_flow)
{
	struct config       *c = conf_from(two_links);
	struct engine       *e = engine_new(c, SIDE_UP);
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
	struct engine       *e = engine_new(c, SIDE_UP);
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
	struct engine       *e = engine_new(c, SIDE_UP);
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
	tcase_add_test(tc, expiry_and_release);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(engine_suite());
}
