/*
 * wanpair-popd's logic without its sockets: the daemon is a library
 * (popd/libpopd.a), so these tests build a struct popd from a
 * configuration, as popd_ops.init does, and drive what the TUN device and
 * the control channel would: which site return traffic goes to, what a
 * site's link going down or up does to its flows, and what a new HELLO of
 * the same site (a reconnect) takes over from the session before.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "config.h"
#include "daemon.h"
#include "flow.h"
#include "log.h"
#include "popd.h"

static const char popd_json[] =
    "{\"listen\": {\"address\": \"198.18.0.1\"},"
    " \"tls\": {\"ca\": \"ca.pem\", \"cert\": \"pop.pem\","
    "  \"key\": \"pop.key\"},"
    " \"sites\": ["
    "  {\"name\": \"branch-1\", \"identity\": \"b1.example.net\","
    "   \"lan\": [\"10.1.0.0/16\"]},"
    "  {\"name\": \"branch-17\", \"identity\": \"b17.example.net\","
    "   \"lan\": [\"10.17.0.0/16\", \"2001:db8:17::/48\"]},"
    "  {\"name\": \"hq\", \"identity\": \"hq.example.net\","
    "   \"lan\": [\"10.18.1.0/24\", \"192.168.0.0/16\"]}],"
    " \"flows\": {\"max\": 4096}}";

static struct popd pd;

/* A struct popd as popd_ops.init makes it, without a daemon around it. */
static void
setup(void)
{
	struct config_errors errs = {0};
	size_t               i;

	log_init("check_popd", 1, 0);
	memset(&pd, 0, sizeof(pd));
	pd.conf = config_parse(
	    popd_json, strlen(popd_json), "popd.json", CONFIG_POPD, &errs);
	ck_assert_msg(pd.conf != NULL, "%s", errs.n ? errs.lines[0] : "?");
	pd.nsites = pd.conf->nsites;
	pd.sites = calloc(pd.nsites, sizeof(*pd.sites));
	ck_assert_ptr_nonnull(pd.sites);
	for (i = 0; i < pd.nsites; i++)
		pd.sites[i].conf = &pd.conf->sites[i];
	pd.sess_mask = 7;
	pd.sess_index = calloc(pd.sess_mask + 1, sizeof(*pd.sess_index));
	ck_assert_ptr_nonnull(pd.sess_index);
	pd.tun_fd = -1;
	pd.udp_fd = -1;
}

static void
teardown(void)
{
	free(pd.sess_index);
	free(pd.sites);
	config_free(pd.conf);
}

static const char *
site_of(const char *addr)
{
	uint8_t      a[16] = {0};
	int          family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	struct site *s;

	ck_assert_int_eq(inet_pton(family, addr, a), 1);
	s = site_for(&pd, family, a);
	return s != NULL ? s->conf->name : "(none)";
}

/* Return traffic goes to the site whose LAN holds its destination
 * (popd.json refuses LANs that overlap), up to the prefixes' edges. */
START_TEST(site_by_lan_prefix)
{
	ck_assert_str_eq(site_of("10.1.2.3"), "branch-1");
	ck_assert_str_eq(site_of("10.17.0.0"), "branch-17");
	ck_assert_str_eq(site_of("10.17.255.255"), "branch-17");
	ck_assert_str_eq(site_of("10.18.1.9"), "hq");
	ck_assert_str_eq(site_of("10.18.2.9"), "(none)");
	ck_assert_str_eq(site_of("10.16.255.255"), "(none)");
	ck_assert_str_eq(site_of("192.168.7.7"), "hq");
	ck_assert_str_eq(site_of("2001:db8:17:1::5"), "branch-17");
	ck_assert_str_eq(site_of("2001:db8:18::5"), "(none)");
	ck_assert_str_eq(site_of("203.0.113.10"), "(none)");
	/* an IPv4 prefix never holds an IPv6 address with the same bytes */
	ck_assert_str_eq(site_of("a11:1::"), "(none)");
}
END_TEST

/* A HELLO of branch-17 with WAN1 (100 down) and WAN2 (20 down), or with
 * the links the other way round and other wire ids. */
static void
hello(struct ctl_hello *h, int swapped)
{
	static const struct ctl_link wan1 = {"WAN1", 0, 100, 100};
	static const struct ctl_link wan2 = {"WAN2", 1, 20, 20};

	memset(h, 0, sizeof(*h));
	snprintf(h->site, sizeof(h->site), "branch-17");
	h->nlinks = 2;
	h->links[0] = swapped ? wan2 : wan1;
	h->links[1] = swapped ? wan1 : wan2;
	h->lan[0] = pd.conf->sites[1].lan[0];
	h->nlan = 1;
}

static struct session *
session(const struct ctl_hello *h, uint32_t id)
{
	static const uint8_t up[AEAD_KEY_LEN] = {1}, down[AEAD_KEY_LEN] = {2};
	struct session      *s;

	s = session_new(&pd, &pd.sites[1], NULL, h, id, up, down);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* Flow i: 10.17.0.i:1000+i <-> 203.0.113.1:443, TCP, put on `link`. */
static void
flows_on(struct session *s, unsigned first, unsigned n, unsigned link)
{
	struct flow_key k;
	unsigned        i;

	for (i = first; i < first + n; i++) {
		memset(&k, 0, sizeof(k));
		k.family = AF_INET;
		k.proto = 6;
		k.a[0] = 10, k.a[1] = 17, k.a[2] = 0, k.a[3] = (uint8_t)i;
		k.b[0] = 203, k.b[1] = 0, k.b[2] = 113, k.b[3] = 1;
		k.pa = (uint16_t)(1000 + i);
		k.pb = 443;
		ck_assert_int_ge(
		    engine_flow_assign(s->engine, &k, link, 1, now_ms()), 0);
	}
}

static void
count(struct session *s, uint64_t per_link[CONFIG_MAX_LINKS])
{
	memset(per_link, 0, CONFIG_MAX_LINKS * sizeof(*per_link));
	flow_table_count_links(
	    engine_flows(s->engine), per_link, CONFIG_MAX_LINKS);
}

/* A link that goes down takes no flow with it: its flows move to the
 * live link, and a link that comes back takes new flows again while the
 * moved ones stay (failback "new-flows"). */
START_TEST(link_down_moves_flows)
{
	struct ctl_hello h;
	struct session  *s;
	uint64_t         n[CONFIG_MAX_LINKS];

	hello(&h, 0);
	s = session(&h, 0x1001);
	flows_on(s, 1, 6, 0);
	flows_on(s, 11, 3, 1);
	count(s, n);
	ck_assert_uint_eq(n[0], 6);
	ck_assert_uint_eq(n[1], 3);

	session_link_state(s, 0, 0, "silent");
	ck_assert_int_eq(s->link_down[0], 1);
	count(s, n);
	ck_assert_uint_eq(n[0], 0);
	ck_assert_uint_eq(n[1], 9);
	/* the same news twice moves nothing more */
	session_link_state(s, 0, 0, "silent");
	count(s, n);
	ck_assert_uint_eq(n[1], 9);

	session_link_state(s, 0, 1, "heard again");
	ck_assert_int_eq(s->link_down[0], 0);
	count(s, n);
	ck_assert_uint_eq(n[0], 0);
	ck_assert_uint_eq(n[1], 9);
	session_free(s);
}
END_TEST

/* Every link down: the flows wait on their links, and the first link
 * back takes them all. */
START_TEST(all_links_down_then_one_back)
{
	struct ctl_hello h;
	struct session  *s;
	uint64_t         n[CONFIG_MAX_LINKS];

	hello(&h, 0);
	s = session(&h, 0x1002);
	flows_on(s, 1, 4, 0);
	flows_on(s, 11, 2, 1);
	session_link_state(s, 1, 0, "silent");
	session_link_state(s, 0, 0, "silent");
	count(s, n);
	ck_assert_uint_eq(n[0] + n[1], 6);
	session_link_state(s, 1, 1, "heard again");
	count(s, n);
	ck_assert_uint_eq(n[0], 0);
	ck_assert_uint_eq(n[1], 6);
	session_free(s);
}
END_TEST

/*
 * The Socket reconnects (a new HELLO, here with its links listed the
 * other way round): the new session takes over the old one's flows on
 * the same links by name, each link's endpoint and its down state, and
 * replaces it in the index by session id.
 */
START_TEST(new_hello_takes_over)
{
	struct ctl_hello    h;
	struct session     *old, *s;
	struct sockaddr_in *sin;
	uint64_t            n[CONFIG_MAX_LINKS];
	size_t              i, found_old = 0, found_new = 0;

	hello(&h, 0);
	old = session(&h, 0x2001);
	session_index_swap(&pd, NULL, old);
	flows_on(old, 1, 5, 0);
	flows_on(old, 11, 2, 1);
	sin = (struct sockaddr_in *)&old->endpoint[1];
	sin->sin_family = AF_INET;
	sin->sin_port = htons(4242);
	old->endpoint_len[1] = sizeof(*sin);
	session_link_state(old, 0, 0, "silent"); /* WAN1's 5 go to WAN2 */

	hello(&h, 1); /* WAN2 first now */
	s = session(&h, 0x2002);
	session_inherit(s, old);
	session_index_swap(&pd, old, s);
	session_free(old);

	ck_assert_str_eq(s->links[0].name, "WAN2");
	ck_assert_int_eq(s->link_down[0], 0);
	ck_assert_int_eq(s->link_down[1], 1); /* WAN1, still down */
	ck_assert_uint_eq(s->endpoint_len[0], sizeof(*sin));
	sin = (struct sockaddr_in *)&s->endpoint[0];
	ck_assert_uint_eq(ntohs(sin->sin_port), 4242);
	ck_assert_uint_eq(s->endpoint_len[1], 0);
	count(s, n);
	ck_assert_uint_eq(n[0], 7); /* all on WAN2, index 0 now */
	ck_assert_uint_eq(n[1], 0);

	for (i = 0; i <= pd.sess_mask; i++) {
		found_old +=
		    pd.sess_index[i] != NULL && pd.sess_index[i]->id == 0x2001;
		found_new += pd.sess_index[i] == s;
	}
	ck_assert_uint_eq(found_old, 0);
	ck_assert_uint_eq(found_new, 1);
	session_index_swap(&pd, s, NULL);
	session_free(s);
}
END_TEST

/* A link the new HELLO no longer announces fails over as in a reload:
 * its flows move to the links that remain. */
START_TEST(new_hello_without_a_link)
{
	struct ctl_hello h;
	struct session  *old, *s;
	uint64_t         n[CONFIG_MAX_LINKS];

	hello(&h, 0);
	old = session(&h, 0x3001);
	flows_on(old, 1, 4, 0);
	flows_on(old, 11, 3, 1);
	h.nlinks = 1; /* WAN1 only */
	s = session(&h, 0x3002);
	session_inherit(s, old);
	session_free(old);
	count(s, n);
	ck_assert_uint_eq(n[0], 7);
	session_free(s);
}
END_TEST

static Suite *
popd_suite(void)
{
	Suite *s = suite_create("popd");
	TCase *tc = tcase_create("logic");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, site_by_lan_prefix);
	tcase_add_test(tc, link_down_moves_flows);
	tcase_add_test(tc, all_links_down_then_one_back);
	tcase_add_test(tc, new_hello_takes_over);
	tcase_add_test(tc, new_hello_without_a_link);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(popd_suite());
}
