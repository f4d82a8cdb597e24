/*
 * Reload of a running engine (engine_reconfigure, balance_reconfigure):
 * new flows follow the new weights, existing flows keep their link, a
 * removed link's flows move like a dead link's, a flow that no route
 * covers any more is removed, and a dead link stays dead.  Time is
 * injected: every call takes now_ms.
 */
#include "autoconf.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
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

#define LINK(n, mbps)                                                          \
	"{\"name\": \"" n "\", \"up_mbps\": " #mbps ", \"down_mbps\": " #mbps  \
	"}"

/* IPv4 UDP from 10.0.x.y:(0x3000 + low byte) to 203.0.113.dst:53. */
static void
udp4(uint8_t *p, uint32_t host, uint8_t dst_last)
{
	uint8_t lan[4] = {10, 0, (uint8_t)(host >> 8), (uint8_t)host};
	uint8_t inet[4] = {203, 0, 113, dst_last};

	memset(p, 0, 28);
	p[0] = 0x45;
	p[3] = 28;
	p[8] = 64;
	p[9] = 17;
	memcpy(p + 12, lan, 4);
	memcpy(p + 16, inet, 4);
	p[20] = 0x30;
	p[21] = (uint8_t)host;
	p[23] = 53;
	p[25] = 8;
}

/* Sends one packet of flow `host`; returns its link, is_new in *is_new. */
static int
send1(struct engine *e, uint32_t host, uint8_t dst, uint64_t now, int *is_new)
{
	struct engine_result r;
	uint8_t              p[28];

	udp4(p, host, dst);
	ck_assert_int_eq(engine_packet(e, p, sizeof(p), 0, now, &r), 0);
	if (is_new != NULL)
		*is_new = r.is_new;
	return r.link;
}

/* Opens flows [first, first + n) to dst and counts them per link. */
static void
open_flows(struct engine *e, uint32_t first, unsigned n, uint8_t dst,
    uint64_t now, unsigned *per_link, uint8_t *link_of)
{
	unsigned i;
	int      l, is_new;

	for (i = 0; i < n; i++) {
		l = send1(e, first + i, dst, now, &is_new);
		ck_assert_int_eq(is_new, 1);
		per_link[l]++;
		if (link_of != NULL)
			link_of[first + i] = (uint8_t)l;
	}
}

START_TEST(reweight_new_flows_follow)
{
	struct config   *c1 = conf_from("{\"links\": [" LINK("WAN1",
	      100) ", " LINK("WAN2", 20) "], \"flows\": {\"max\": 4096}}");
	struct config   *c2 = conf_from("{\"links\": [" LINK("WAN1",
	      20) ", " LINK("WAN2", 100) "], \"flows\": {\"max\": 4096}}");
	struct engine   *e = engine_conf(c1, SIDE_UP);
	static const int same[] = {0, 1};
	unsigned         before[2] = {0}, after[2] = {0};
	uint8_t          link_of[200];
	size_t           moved = 99;
	unsigned         i;
	int              is_new;

	open_flows(e, 0, 60, 1, 1000, before, link_of);
	ck_assert_uint_eq(before[0], 50);
	ck_assert_uint_eq(before[1], 10);

	ck_assert_int_eq(
	    reconfigure_conf(e, c2, same, 2000, NULL, NULL, &moved), 0);
	ck_assert_uint_eq(moved, 0);
	ck_assert_uint_eq(balance_link_weight(engine_balance(e), 0), 20);
	ck_assert_uint_eq(balance_link_weight(engine_balance(e), 1), 100);
	/* every existing flow is still there, on its link */
	ck_assert_uint_eq(flow_table_count(engine_flows(e)), 60);
	for (i = 0; i < 60; i++) {
		ck_assert_int_eq(send1(e, i, 1, 3000, &is_new), link_of[i]);
		ck_assert_int_eq(is_new, 0);
	}
	/* the active counts were rebuilt from the table */
	ck_assert_uint_eq(balance_link_active(engine_balance(e), 0), 50);
	ck_assert_uint_eq(balance_link_active(engine_balance(e), 1), 10);
	/* new flows: 1:5 now */
	open_flows(e, 100, 60, 1, 3000, after, NULL);
	ck_assert_uint_eq(after[0], 10);
	ck_assert_uint_eq(after[1], 50);
	engine_free(e);
	config_free(c1);
	config_free(c2);
}
END_TEST

static unsigned moves_from[3], moves_to[3];

static void
count_move(void *arg, const struct flow *f, unsigned from, unsigned to)
{
	(void)arg;
	ck_assert(f->flags & FLOW_F_MOVED);
	moves_from[from]++;
	moves_to[to]++;
}

/*
 * WAN2 is removed from the middle: WAN1 keeps index 0, WAN3 becomes 1.
 * WAN2's flows move to the others by weight; the rest stay put.
 */
START_TEST(removed_link_flows_move)
{
	struct config *c1 =
	    conf_from("{\"links\": [" LINK("WAN1", 10) ", " LINK("WAN2",
		10) ", " LINK("WAN3", 10) "], \"flows\": {\"max\": 4096}}");
	struct config   *c2 = conf_from("{\"links\": [" LINK(
	      "WAN1", 10) ", " LINK("WAN3", 10) "], \"flows\": {\"max\": 4096}}");
	struct engine   *e = engine_conf(c1, SIDE_UP);
	static const int map[] = {0, -1, 1};
	unsigned         before[3] = {0}, after[2] = {0};
	uint8_t          link_of[100];
	size_t           moved = 0;
	unsigned         i;
	int              l, is_new;

	open_flows(e, 0, 90, 1, 1000, before, link_of);
	ck_assert_uint_eq(before[1], 30);
	memset(moves_from, 0, sizeof(moves_from));
	memset(moves_to, 0, sizeof(moves_to));
	ck_assert_int_eq(
	    reconfigure_conf(e, c2, map, 2000, count_move, NULL, &moved), 0);
	ck_assert_uint_eq(moved, 30);
	ck_assert_uint_eq(moves_from[1], 30);
	ck_assert_uint_eq(moves_to[0] + moves_to[1], 30);
	/* equal weights: the 30 split evenly */
	ck_assert_uint_eq(moves_to[0], 15);
	ck_assert_uint_eq(balance_nlinks(engine_balance(e)), 2);
	ck_assert_str_eq(balance_link_name(engine_balance(e), 1), "WAN3");
	ck_assert_uint_eq(flow_table_count(engine_flows(e)), 90);
	for (i = 0; i < 90; i++) {
		l = send1(e, i, 1, 3000, &is_new);
		ck_assert_int_eq(is_new, 0);
		if (link_of[i] == 0)
			ck_assert_int_eq(l, 0);
		else if (link_of[i] == 2)
			ck_assert_int_eq(l, 1);
		after[l]++;
	}
	ck_assert_uint_eq(after[0], 45);
	ck_assert_uint_eq(after[1], 45);
	ck_assert_uint_eq(balance_link_active(engine_balance(e), 0), 45);
	ck_assert_uint_eq(balance_link_active(engine_balance(e), 1), 45);
	engine_free(e);
	config_free(c1);
	config_free(c2);
}
END_TEST

/* A destination only the removed link routed: its flows are removed and
 * its next packet finds no route; other flows are untouched. */
START_TEST(unrouted_flows_removed)
{
	struct config *c1 =
	    conf_from("{\"links\": [" LINK("WAN1", 10) ", " LINK("WAN2",
		10) "],"
		    "\"default_profile\": \"bulk\","
		    "\"profiles\": [{\"name\": \"bulk\", \"algorithm\": "
		    "\"ratio\"}],"
		    "\"routes\": ["
		    "{\"network\": \"0.0.0.0/0\", \"link\": \"WAN1\"},"
		    "{\"network\": \"203.0.113.9/32\", \"link\": \"WAN2\"}],"
		    "\"flows\": {\"max\": 4096}}");
	struct config       *c2 = conf_from("{\"links\": [" LINK(
		  "WAN1", 10) "],"
				    "\"default_profile\": \"bulk\","
				    "\"profiles\": [{\"name\": \"bulk\", "
				    "\"algorithm\": \"ratio\"}],"
				    "\"routes\": [{\"network\": \"0.0.0.0/0\", "
				    "\"link\": \"WAN1\"},"
				    "{\"network\": \"198.51.100.0/24\", "
				    "\"link\": \"WAN1\"}],"
				    "\"flows\": {\"max\": 4096}}");
	struct engine       *e = engine_conf(c1, SIDE_UP);
	static const int     map[] = {0, -1};
	unsigned             n[2] = {0};
	struct engine_result r;
	uint8_t              p[28];
	size_t               moved = 0;

	open_flows(e, 0, 10, 1, 1000, n, NULL);
	open_flows(e, 100, 5, 9, 1000, n, NULL);
	ck_assert_uint_eq(n[0], 10);
	ck_assert_uint_eq(n[1], 5);
	ck_assert_int_eq(
	    reconfigure_conf(e, c2, map, 2000, NULL, NULL, &moved), 0);
	/* 203.0.113.9 now matches 0.0.0.0/0 over WAN1: the flows move */
	ck_assert_uint_eq(moved, 5);
	ck_assert_uint_eq(flow_table_count(engine_flows(e)), 15);
	config_free(c2);

	/* Now a config in which 203.0.113.0/24 has no route at all. */
	c2 = conf_from("{\"links\": [" LINK("WAN1", 10) ", " LINK(
	    "WAN2", 10) "],"
			"\"default_profile\": \"bulk\","
			"\"profiles\": [{\"name\": \"bulk\", "
			"\"algorithm\": \"ratio\"}],"
			"\"routes\": [{\"network\": \"198.51.100.0/24\", "
			"\"link\": \"WAN1\"}],"
			"\"flows\": {\"max\": 4096}}");
	ck_assert_int_eq(
	    reconfigure_conf(e, c2, (int[]){-1}, 3000, NULL, NULL, &moved), 0);
	ck_assert_uint_eq(moved, 0);
	ck_assert_uint_eq(flow_table_count(engine_flows(e)), 0);
	ck_assert_uint_eq(balance_link_active(engine_balance(e), 0), 0);
	udp4(p, 0, 1);
	ck_assert_int_eq(
	    engine_packet(e, p, sizeof(p), 0, 4000, &r), PKT_ERR_NO_ROUTE);
	engine_free(e);
	config_free(c1);
	config_free(c2);
}
END_TEST

/* A link that was down before the reload is still down after it: new
 * flows avoid it until its probes bring it back. */
START_TEST(down_link_stays_down)
{
	struct config *c1 = conf_from("{\"links\": [" LINK(
	    "WAN1", 10) ", " LINK("WAN2", 10) "], \"flows\": {\"max\": 4096}}");
	struct config *c2 =
	    conf_from("{\"links\": [" LINK("WAN0", 10) ", " LINK("WAN2",
		10) ", " LINK("WAN1", 30) "], \"flows\": {\"max\": 4096}}");
	struct engine   *e = engine_conf(c1, SIDE_UP);
	static const int map[] = {2, 1};
	unsigned         n[3] = {0};

	engine_link_down(e, 1, 1000, NULL, NULL);
	ck_assert_int_eq(
	    reconfigure_conf(e, c2, map, 2000, NULL, NULL, NULL), 0);
	ck_assert(!balance_link_is_up(engine_balance(e), 1));
	ck_assert(balance_link_is_up(engine_balance(e), 0)); /* new: up */
	ck_assert(balance_link_is_up(engine_balance(e), 2));
	open_flows(e, 0, 40, 1, 3000, n, NULL);
	ck_assert_uint_eq(n[1], 0);
	ck_assert_uint_eq(n[0], 10);
	ck_assert_uint_eq(n[2], 30);
	engine_link_up(e, 1, 4000, NULL, NULL);
	ck_assert(balance_link_is_up(engine_balance(e), 1));
	engine_free(e);
	config_free(c1);
	config_free(c2);
}
END_TEST

/*
 * Sticky source-ip: after a reload the kept flows rebuild their groups,
 * so a new flow from a source that had flows goes where they are, even
 * though the new weights would send most flows elsewhere.
 */
START_TEST(sticky_groups_rebuilt)
{
	static const char prof[] =
	    "\"default_profile\": \"s\","
	    "\"profiles\": [{\"name\": \"s\", \"algorithm\": \"ratio\","
	    "\"stickiness\": \"source-ip\", \"keepalive\": \"usage\"}],"
	    "\"flows\": {\"max\": 4096}}";
	char                 t1[512], t2[512];
	struct config       *c1, *c2;
	struct engine       *e;
	static const int     same[] = {0, 1};
	struct engine_result r;
	uint8_t              p[28];
	uint8_t              link_of[20];
	unsigned             i, n[2] = {0};

	snprintf(t1, sizeof(t1),
	    "{\"links\": [" LINK("WAN1", 10) ", " LINK("WAN2", 10) "], %s",
	    prof);
	snprintf(t2, sizeof(t2),
	    "{\"links\": [" LINK("WAN1", 1) ", " LINK("WAN2", 1000) "], %s",
	    prof);
	c1 = conf_from(t1);
	c2 = conf_from(t2);
	e = engine_conf(c1, SIDE_UP);
	/* ten sources (10.0.0.0..9), one flow each: five per link */
	open_flows(e, 0, 10, 1, 1000, n, link_of);
	ck_assert_uint_eq(n[0], 5);
	ck_assert_int_eq(
	    reconfigure_conf(e, c2, same, 2000, NULL, NULL, NULL), 0);
	/* a second flow of each source (another destination) follows it */
	for (i = 0; i < 10; i++) {
		udp4(p, i, 2);
		ck_assert_int_eq(
		    engine_packet(e, p, sizeof(p), 0, 3000, &r), 0);
		ck_assert_int_eq(r.is_new, 1);
		ck_assert_int_eq(r.link, link_of[i]);
	}
	engine_free(e);
	config_free(c1);
	config_free(c2);
}
END_TEST

static Suite *
reload_suite(void)
{
	Suite *s = suite_create("reload");
	TCase *tc = tcase_create("engine");

	tcase_add_test(tc, reweight_new_flows_follow);
	tcase_add_test(tc, removed_link_flows_move);
	tcase_add_test(tc, unrouted_flows_removed);
	tcase_add_test(tc, down_link_stays_down);
	tcase_add_test(tc, sticky_groups_rebuilt);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(reload_suite());
}
