/*
 * Application rules (issue 15, item 5): "rules" as the loader reads them
 * (every refusal with its exact line), and what they do to a new flow
 * through the real engine: first match wins, port ranges are inclusive,
 * IPv6 prefixes and traffic class count, DSCP too, a flow no rule
 * matches takes the route table's profile, failover keeps a rule's flow
 * in its profile, and a reload applies new rules to new flows only.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_config.h"
#include "check_run.h"
#include "check_spec.h"
#include "config.h"
#include "engine.h"
#include "rules.h"

/* ------------------------------------------------------------ packets */

struct pk {
	int         v6;
	int         proto; /* 6 or 17, or 1/58 for an echo request */
	const char *src, *dst;
	uint16_t    sport, dport;
	uint8_t     dscp;
};

/* An IPv4 or IPv6 packet of 8 bytes of payload after its L4 header. */
static size_t
build(uint8_t *p, const struct pk *k)
{
	size_t   hl = k->v6 ? 40 : 20, l4 = k->proto == 6 ? 20 : 8;
	size_t   len = hl + l4 + 8;
	uint8_t *q = p + hl;

	memset(p, 0, len);
	if (k->v6) {
		p[0] = (uint8_t)(0x60 | (k->dscp >> 2));
		p[1] = (uint8_t)((k->dscp & 3) << 6);
		p[4] = (uint8_t)((l4 + 8) >> 8);
		p[5] = (uint8_t)(l4 + 8);
		p[6] = (uint8_t)k->proto;
		p[7] = 64;
		ck_assert_int_eq(inet_pton(AF_INET6, k->src, p + 8), 1);
		ck_assert_int_eq(inet_pton(AF_INET6, k->dst, p + 24), 1);
	} else {
		p[0] = 0x45;
		p[1] = (uint8_t)(k->dscp << 2);
		p[3] = (uint8_t)len;
		p[8] = 64;
		p[9] = (uint8_t)k->proto;
		ck_assert_int_eq(inet_pton(AF_INET, k->src, p + 12), 1);
		ck_assert_int_eq(inet_pton(AF_INET, k->dst, p + 16), 1);
	}
	if (k->proto == 1 || k->proto == 58) {
		q[0] = k->proto == 1 ? 8 : 128; /* echo request */
		q[4] = (uint8_t)(k->sport >> 8);
		q[5] = (uint8_t)k->sport;
		return len;
	}
	q[0] = (uint8_t)(k->sport >> 8);
	q[1] = (uint8_t)k->sport;
	q[2] = (uint8_t)(k->dport >> 8);
	q[3] = (uint8_t)k->dport;
	if (k->proto == 6) {
		q[12] = 5 << 4;
		q[13] = 0x02;
	} else
		q[5] = (uint8_t)(l4 + 8);
	return len;
}

/* ------------------------------------------------------------- parser */

#define LINKS    "\"links\": [" LINK1 ", " LINK2 "]"
#define PROFILES "\"profiles\": [{\"name\": \"bulk\"}, {\"name\": \"voice\"}]"

/* socketd.json with these rules (one line, so columns are easy). */
static char *
with_rules(const char *rules)
{
	static char buf[65536];

	snprintf(buf, sizeof(buf),
	    "{\"site\": \"s\", " LINKS ", " PROFILES ",\n\"rules\": %s}",
	    rules);
	return buf;
}

START_TEST(parse_good)
{
	struct config     *c;
	const struct rule *r;

	c = parse_ok(
	    with_rules("["
		       "{\"name\": \"sip\", \"protocol\": \"udp\", "
		       "\"destination_port\": 5060, \"profile\": "
		       "\"voice\"},"
		       "{\"protocol\": [\"tcp\", 17], \"source\": "
		       "[\"10.1.0.0/24\", \"2001:db8::/32\", "
		       "\"10.2.0.1\"], \"destination_port\": "
		       "[\"10000-20000\", \"5061\"], \"source_port\": "
		       "\"1-2\", \"profile\": \"voice\"},"
		       "{\"dscp\": [\"EF\", \"af41\", \"CS6\", 0, "
		       "\"LE\"], \"destination\": \"::/0\", "
		       "\"profile\": \"voice\"},"
		       "{\"protocol\": \"icmp\", \"profile\": \"bulk\"},"
		       "{\"profile\": \"bulk\"}]"),
	    CONFIG_SOCKETD);
	ck_assert_uint_eq(c->nrules, 5);
	r = &c->rules[0];
	ck_assert_str_eq(r->name, "sip");
	ck_assert_int_eq(r->profile, 1);
	ck_assert_int_eq(r->any_proto, 0);
	ck_assert_int_eq(r->proto[17 >> 3], 1 << (17 & 7));
	ck_assert_int_eq(r->proto[6 >> 3], 0);
	ck_assert_uint_eq(r->ndport, 1);
	ck_assert_uint_eq(r->dport[0].lo, 5060);
	ck_assert_uint_eq(r->dport[0].hi, 5060);
	r = &c->rules[1];
	ck_assert_str_eq(r->name, "");
	ck_assert_int_eq(r->proto[6 >> 3] | r->proto[17 >> 3],
	    (1 << (6 & 7)) | (1 << (17 & 7)));
	ck_assert_uint_eq(r->nsrc, 3);
	ck_assert_uint_eq(r->src[1].addr.family, AF_INET6);
	ck_assert_uint_eq(r->src[1].len, 32);
	ck_assert_uint_eq(r->src[2].len, 32); /* an address: its host */
	ck_assert_uint_eq(r->ndport, 2);
	ck_assert_uint_eq(r->dport[0].lo, 10000);
	ck_assert_uint_eq(r->dport[0].hi, 20000);
	ck_assert_uint_eq(r->dport[1].lo, 5061);
	ck_assert_uint_eq(r->sport[0].hi, 2);
	r = &c->rules[2];
	ck_assert(r->any_proto);
	ck_assert(r->dscp ==
	    ((UINT64_C(1) << 46) | (UINT64_C(1) << 34) | (UINT64_C(1) << 48) |
		1 | (UINT64_C(1) << 1)));
	ck_assert_uint_eq(r->ndst, 1);
	/* icmp is ping of both families */
	r = &c->rules[3];
	ck_assert_int_eq((r->proto[0] >> 1) & 1, 1);
	ck_assert_int_eq((r->proto[58 >> 3] >> (58 & 7)) & 1, 1);
	ck_assert_int_eq(c->rules[4].profile, 0);
	ck_assert(c->rules[4].any_proto);
	config_free(c);

	/* popd reads them too; an empty list is no rules. */
	c = parse_ok("{\"sites\": [{\"name\": \"a\", \"identity\": \"a\", "
		     "\"lan\": [\"10.1.0.0/16\"]}], " PROFILES ", "
		     "\"rules\": [{\"source_port\": 5060, \"profile\": "
		     "\"voice\"}]}",
	    CONFIG_POPD);
	ck_assert_uint_eq(c->nrules, 1);
	config_free(c);
	c = parse_ok(with_rules("[]"), CONFIG_SOCKETD);
	ck_assert_uint_eq(c->nrules, 0);
	config_free(c);
}
END_TEST

/* The second line of with_rules() starts `"rules": ` (10 columns). */
START_TEST(parse_errors)
{
	expect_socketd(with_rules("[{\"profile\": \"video\"}]"),
	    "t.json:2:23: rules[0].profile: no profile named \"video\"\n");
	expect_socketd(with_rules("[{\"destination_port\": \"20-10\", "
				  "\"profile\": \"voice\"}]"),
	    "t.json:2:32: rules[0].destination_port: range \"20-10\" "
	    "starts above its end\n");
	expect_socketd(with_rules("[{\"dscp\": 64, \"profile\": \"voice\"}]"),
	    "t.json:2:20: rules[0].dscp: must be a DSCP value 0..63, got "
	    "64\n");
	expect_socketd(
	    with_rules(
		"[{\"dscp\": [\"EF\", \"XX\"], \"profile\": \"voice\"}]"),
	    "t.json:2:27: rules[0].dscp[1]: unknown DSCP name \"XX\": DF, "
	    "CS0..CS7, AF11..AF43, EF, VA, LE or a number 0..63\n");
	expect_socketd(with_rules("[{\"protocol\": \"tcpp\", \"profile\": "
				  "\"voice\"}]"),
	    "t.json:2:24: rules[0].protocol: unknown protocol \"tcpp\": tcp, "
	    "udp, icmp, icmpv6, sctp, udplite, dccp, gre, esp, ah or a "
	    "number 0..255\n");
	expect_socketd(
	    with_rules("[{\"protocol\": 256, \"profile\": \"voice\"}]"),
	    "t.json:2:24: rules[0].protocol: must be a protocol number "
	    "0..255, got 256\n");
	expect_socketd(with_rules("[{\"source_port\": \"50x\", \"profile\": "
				  "\"voice\"}]"),
	    "t.json:2:27: rules[0].source_port: must be a port 0..65535 or a "
	    "range \"LOW-HIGH\", got \"50x\"\n");
	expect_socketd(with_rules("[{\"source_port\": 65536, \"profile\": "
				  "\"voice\"}]"),
	    "t.json:2:27: rules[0].source_port: must be a port 0..65535, got "
	    "65536\n");
	expect_socketd(with_rules("[{\"protocol\": \"icmp\", "
				  "\"destination_port\": 1, \"profile\": "
				  "\"voice\"}]"),
	    "t.json:2:52: rules[0].destination_port: needs a protocol with "
	    "ports (tcp, udp, sctp, udplite, dccp)\n");
	expect_socketd(with_rules("[{\"source\": \"10.0.0.1/8\", "
				  "\"profile\": \"voice\"}]"),
	    "t.json:2:22: rules[0].source: host bits set after the prefix "
	    "length: "
	    "\"10.0.0.1/8\"\n");
	expect_socketd(with_rules("[{\"destination\": [], \"profile\": "
				  "\"voice\"}]"),
	    "t.json:2:27: rules[0].destination: must not be empty\n");
	expect_socketd(with_rules("[{\"protocol\": \"udp\"}, 7]"),
	    "t.json:2:11: rules[0]: missing key \"profile\"\n"
	    "t.json:2:32: rules[1]: must be an object, got integer\n");
	expect_socketd(with_rules("[{\"port\": 5060, \"profile\": \"voice\"}]"),
	    "t.json:2:12: rules[0].port: unknown key\n");
	expect_socketd(with_rules("[{\"source_port\": [1, 2, 3, 4, 5, 6, 7, "
				  "8, 9], \"profile\": \"voice\"}]"),
	    "t.json:2:27: rules[0].source_port: has 9 entries, at most 8\n");
}
END_TEST

START_TEST(parse_too_many)
{
	char   rules[RULES_MAX * 24 + 64], *p = rules;
	size_t i;

	/* RULES_MAX rules are fine... */
	p += sprintf(p, "[");
	for (i = 0; i < RULES_MAX; i++)
		p += sprintf(p, "%s{\"profile\": \"bulk\"}", i ? "," : "");
	sprintf(p, "]");
	config_free(parse_ok(with_rules(rules), CONFIG_SOCKETD));
	/* ...one more is not. */
	sprintf(p, ",{\"profile\": \"bulk\"}]");
	expect_socketd(with_rules(rules),
	    "t.json:2:5111: rules[255]: too many rules, at most 255\n");
}
END_TEST

START_TEST(parse_names)
{
	static const struct {
		const char *s;
		unsigned    v;
	} ok[] = {{"DF", 0}, {"be", 0}, {"CS0", 0}, {"CS1", 8}, {"cs6", 48},
	    {"CS7", 56}, {"AF11", 10}, {"AF12", 12}, {"AF13", 14}, {"AF21", 18},
	    {"AF31", 26}, {"AF41", 34}, {"AF43", 38}, {"EF", 46}, {"VA", 44},
	    {"VOICE-ADMIT", 44}, {"LE", 1}};
	static const char *const bad[] = {
	    "", "CS8", "AF10", "AF44", "AF51", "EF1", "C", "AF4", "46", "CS"};
	static const char *const ports_bad[] = {"", "-", "1-", "-1", "1--2",
	    "65536", "1-65536", " 1", "1 ", "0x10", "+1"};
	struct rule_ports        r;
	unsigned                 v;
	size_t                   i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(rule_dscp_parse(ok[i].s, &v) == 0, "%s", ok[i].s);
		ck_assert_uint_eq(v, ok[i].v);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(
		    rule_dscp_parse(bad[i], &v) == -1, "%s accepted", bad[i]);
	ck_assert_int_eq(rule_ports_parse("0-65535", &r), 0);
	ck_assert_uint_eq(r.lo, 0);
	ck_assert_uint_eq(r.hi, 65535);
	ck_assert_int_eq(rule_ports_parse("7-7", &r), 0);
	ck_assert_int_eq(rule_ports_parse("8-7", &r), -2);
	for (i = 0; i < sizeof(ports_bad) / sizeof(ports_bad[0]); i++)
		ck_assert_msg(rule_ports_parse(ports_bad[i], &r) == -1,
		    "\"%s\" accepted", ports_bad[i]);
}
END_TEST

/* ------------------------------------------------------------ matching */

/*
 * Voice over WAN2 only, bulk over WAN1 only, so a flow's link says its
 * profile; "default" (the route table's, first at equal prefix and
 * metric) over both.
 */
#define ROUTED(rules)                                                          \
	"{\"links\": [" LINK1 ", " LINK2 "], \"profiles\": [{\"name\": "       \
	"\"default\"}, {\"name\": \"bulk\"}, {\"name\": \"voice\"}], "         \
	"\"routes\": ["                                                        \
	"{\"network\": \"0.0.0.0/0\", \"link\": \"WAN1\", \"profile\": "       \
	"\"default\"},"                                                        \
	"{\"network\": \"0.0.0.0/0\", \"link\": \"WAN2\", \"profile\": "       \
	"\"default\"},"                                                        \
	"{\"network\": \"::/0\", \"link\": \"WAN1\", \"profile\": "            \
	"\"default\"},"                                                        \
	"{\"network\": \"::/0\", \"link\": \"WAN2\", \"profile\": "            \
	"\"default\"},"                                                        \
	"{\"network\": \"0.0.0.0/0\", \"link\": \"WAN1\", \"profile\": "       \
	"\"bulk\"},"                                                           \
	"{\"network\": \"::/0\", \"link\": \"WAN1\", \"profile\": \"bulk\"},"  \
	"{\"network\": \"0.0.0.0/0\", \"link\": \"WAN2\", \"profile\": "       \
	"\"voice\"},"                                                          \
	"{\"network\": \"::/0\", \"link\": \"WAN2\", \"profile\": "            \
	"\"voice\"}], \"rules\": " rules "}"

enum { P_DEFAULT = 0, P_BULK = 1, P_VOICE = 2, WAN1 = 0, WAN2 = 1 };

struct outcome {
	int rule, profile, link;
};

/* The first packet of a new flow through the engine. */
static struct outcome
first_packet(struct engine *e, const struct pk *k, uint64_t now)
{
	struct engine_result res;
	struct outcome       o;
	uint8_t              p[128];
	size_t               len = build(p, k);

	ck_assert_int_eq(engine_packet(e, p, len, 0, now, &res), 0);
	ck_assert_int_eq(res.is_new, 1);
	ck_assert_uint_eq(res.flow->rule,
	    res.rule == -1 ? FLOW_RULE_NONE : (unsigned)res.rule);
	o.rule = res.rule;
	o.profile = res.flow->profile;
	o.link = res.link;
	return o;
}

#define EXPECT(e, k, r, p, l)                                                  \
	do {                                                                   \
		struct outcome o_ = first_packet(e, k, 1000);                  \
		ck_assert_msg(                                                 \
		    o_.rule == (r) && o_.profile == (p) && o_.link == (l),     \
		    "%s: rule %d profile %d link %d, want %d %d %d", #k,       \
		    o_.rule, o_.profile, o_.link, r, p, l);                    \
	} while (0)

static const char sip_rtp_ef[] =
    ROUTED("[{\"name\": \"sip\", \"protocol\": \"udp\", \"destination_port\": "
	   "5060, \"profile\": \"voice\"},"
	   "{\"name\": \"rtp\", \"protocol\": \"udp\", \"destination_port\": "
	   "\"10000-20000\", \"profile\": \"voice\"},"
	   "{\"name\": \"ef\", \"dscp\": \"EF\", \"profile\": \"voice\"},"
	   "{\"name\": \"mgmt\", \"protocol\": \"tcp\", \"source\": "
	   "\"2001:db8:1::/48\", \"destination\": [\"2001:db8:ff::/48\"], "
	   "\"destination_port\": 22, \"profile\": \"voice\"},"
	   "{\"name\": \"web\", \"protocol\": \"tcp\", \"destination_port\": "
	   "[80, 443], \"profile\": \"bulk\"}]");

START_TEST(match_rules)
{
	struct config  *c = parse_ok(sip_rtp_ef, CONFIG_REPLAY);
	struct engine  *e = engine_conf(c, SIDE_UP);
	const struct pk sip = {0, 17, "10.1.0.5", "192.0.2.1", 5060, 5060, 0};
	const struct pk rtp_lo = {
	    0, 17, "10.1.0.5", "192.0.2.2", 30000, 10000, 0};
	const struct pk rtp_hi = {
	    0, 17, "10.1.0.5", "192.0.2.2", 30001, 20000, 0};
	const struct pk below = {
	    0, 17, "10.1.0.5", "192.0.2.2", 30002, 9999, 0};
	const struct pk above = {
	    0, 17, "10.1.0.5", "192.0.2.2", 30003, 20001, 0};
	/* tcp to 5060: the sip rule is udp only */
	const struct pk tcp5060 = {
	    0, 6, "10.1.0.5", "192.0.2.1", 30004, 5060, 0};
	const struct pk ef4 = {
	    0, 6, "10.1.0.6", "198.51.100.1", 40000, 8443, 46};
	const struct pk ef6 = {
	    1, 6, "2001:db8:1::6", "2001:db8:ff::1", 40001, 8443, 46};
	const struct pk af41 = {
	    0, 6, "10.1.0.6", "198.51.100.1", 40002, 8443, 34};
	/* first match wins: EF web traffic is voice (rule ef), not bulk */
	const struct pk ef_web = {
	    0, 6, "10.1.0.7", "198.51.100.2", 40003, 443, 46};
	const struct pk web = {0, 6, "10.1.0.7", "198.51.100.2", 40004, 443, 0};
	const struct pk ssh6 = {
	    1, 6, "2001:db8:1:2::9", "2001:db8:ff:3::1", 40005, 22, 0};
	const struct pk ssh6_out = {
	    1, 6, "2001:db8:2::9", "2001:db8:ff:3::1", 40006, 22, 0};
	const struct pk ping = {0, 1, "10.1.0.8", "192.0.2.9", 5060, 5060, 0};

	ck_assert_ptr_nonnull(e);
	EXPECT(e, &sip, 0, P_VOICE, WAN2);
	EXPECT(e, &rtp_lo, 1, P_VOICE, WAN2);
	EXPECT(e, &rtp_hi, 1, P_VOICE, WAN2);
	EXPECT(e, &ef4, 2, P_VOICE, WAN2);
	EXPECT(e, &ef6, 2, P_VOICE, WAN2);
	EXPECT(e, &ef_web, 2, P_VOICE, WAN2);
	EXPECT(e, &ssh6, 3, P_VOICE, WAN2);
	EXPECT(e, &web, 4, P_BULK, WAN1);
	/* No rule: the route table's profile (default), over either link. */
	ck_assert_int_eq(first_packet(e, &below, 1000).rule, -1);
	ck_assert_int_eq(first_packet(e, &above, 1000).profile, P_DEFAULT);
	ck_assert_int_eq(first_packet(e, &tcp5060, 1000).rule, -1);
	ck_assert_int_eq(first_packet(e, &af41, 1000).rule, -1);
	ck_assert_int_eq(first_packet(e, &ssh6_out, 1000).rule, -1);
	/* an echo id is no port: the sip rule must not see 5060 in it */
	ck_assert_int_eq(first_packet(e, &ping, 1000).rule, -1);
	engine_free(e);
	config_free(c);
}
END_TEST

/* Only a flow's first packet counts: the reply and later packets of an
 * existing flow do not look at the rules (a reply marked EF changes
 * nothing). */
START_TEST(match_first_packet_only)
{
	struct config  *c = parse_ok(sip_rtp_ef, CONFIG_REPLAY);
	struct engine  *e = engine_conf(c, SIDE_UP);
	const struct pk out = {0, 6, "10.1.0.7", "198.51.100.2", 40004, 443, 0};
	const struct pk back = {
	    0, 6, "198.51.100.2", "10.1.0.7", 443, 40004, 46};
	struct engine_result res;
	uint8_t              p[128];
	size_t               len;

	EXPECT(e, &out, 4, P_BULK, WAN1);
	len = build(p, &back);
	ck_assert_int_eq(engine_packet(e, p, len, 0, 1001, &res), 0);
	ck_assert_int_eq(res.is_new, 0);
	ck_assert_int_eq(res.link, WAN1);
	ck_assert_int_eq(res.flow->profile, P_BULK);
	ck_assert_int_eq(res.flow->rule, 4);
	engine_free(e);
	config_free(c);
}
END_TEST

/*
 * Without routes, each rule's profile gets the default routes too: it
 * balances over every link in its own algorithm.  Here voice hashes
 * (`flow`) while the default is ratio.
 */
START_TEST(match_implicit_routes)
{
	struct config *c = parse_ok(
	    "{\"links\": [" LINK1 ", " LINK2 "], \"profiles\": [{\"name\": "
	    "\"voice\", \"algorithm\": \"usage\"}], \"rules\": [{\"dscp\": "
	    "\"EF\", \"profile\": \"voice\"}]}",
	    CONFIG_REPLAY);
	struct engine *e;
	struct pk      k = {0, 17, "10.1.0.5", "192.0.2.1", 1000, 53, 46};
	struct outcome o;
	int            on[2] = {0, 0}, i;

	/* the loader's "default" first, then voice: 2 links x 2 families */
	ck_assert_uint_eq(c->nroutes, 8);
	ck_assert_int_eq(c->routes[0].profile, 1);
	ck_assert_int_eq(c->routes[4].profile, 0);
	ck_assert_ptr_nonnull(e = engine_conf(c, SIDE_UP));
	for (i = 0; i < 12; i++) {
		k.sport = (uint16_t)(1000 + i);
		o = first_packet(e, &k, 1000);
		ck_assert_int_eq(o.rule, 0);
		ck_assert_int_eq(o.profile, 0);
		on[o.link]++;
	}
	/* usage at 100:20: 10 and 2 */
	ck_assert_int_eq(on[0], 10);
	ck_assert_int_eq(on[1], 2);
	k.dscp = 0;
	k.sport = 2000;
	o = first_packet(e, &k, 1000);
	ck_assert_int_eq(o.rule, -1);
	ck_assert_int_eq(o.profile, 1);
	engine_free(e);
	config_free(c);
}
END_TEST

/*
 * A rule whose profile has no route to the destination gives way to the
 * route table; and when its profile's only link goes down, its flow
 * goes where the route table says, and comes back in the rule's profile
 * on failback "rebalance".
 */
START_TEST(match_fallback_and_failover)
{
	struct config *c = parse_ok(
	    "{\"links\": [" LINK1 ", " LINK2 "], \"failback\": \"rebalance\", "
	    "\"profiles\": [{\"name\": \"bulk\"}, {\"name\": \"voice\"}], "
	    "\"routes\": ["
	    "{\"network\": \"0.0.0.0/0\", \"link\": \"WAN1\", \"profile\": "
	    "\"bulk\"},"
	    "{\"network\": \"192.0.2.0/24\", \"link\": \"WAN2\", \"profile\": "
	    "\"voice\"},"
	    "{\"network\": \"192.0.2.0/24\", \"link\": \"WAN1\", \"profile\": "
	    "\"bulk\"}],"
	    "\"rules\": [{\"protocol\": \"udp\", \"profile\": \"voice\"}]}",
	    CONFIG_REPLAY);
	struct engine *e = engine_conf(c, SIDE_UP);
	struct pk      in = {0, 17, "10.1.0.5", "192.0.2.1", 1000, 53, 0};
	struct pk      off = {0, 17, "10.1.0.5", "198.51.100.1", 1000, 53, 0};
	struct engine_result res;
	uint8_t              p[128];
	size_t               len;

	/* 198.51.100.0/24 has no voice route: bulk, by the route table */
	EXPECT(e, &off, -1, 0, WAN1);
	EXPECT(e, &in, 0, 1, WAN2);
	ck_assert_uint_eq(engine_link_down(e, WAN2, 2000, NULL, NULL), 1);
	len = build(p, &in);
	ck_assert_int_eq(engine_packet(e, p, len, 0, 2001, &res), 0);
	ck_assert_int_eq(res.link, WAN1);
	ck_assert_int_eq(res.flow->profile, 0);
	ck_assert_int_eq(res.flow->rule, 0);
	ck_assert_uint_eq(engine_link_up(e, WAN2, 3000, NULL, NULL), 1);
	ck_assert_int_eq(engine_packet(e, p, len, 0, 3001, &res), 0);
	ck_assert_int_eq(res.link, WAN2);
	ck_assert_int_eq(res.flow->profile, 1);
	engine_free(e);
	config_free(c);
}
END_TEST

/* A reload: the new rules apply to new flows, existing flows keep their
 * link. */
START_TEST(reload_new_flows_only)
{
	struct config       *c1 = parse_ok(ROUTED("[{\"protocol\": \"udp\", "
							"\"profile\": \"voice\"}]"),
		  CONFIG_REPLAY);
	struct config       *c2 = parse_ok(ROUTED("[{\"protocol\": \"udp\", "
							"\"profile\": \"bulk\"}]"),
		  CONFIG_REPLAY);
	struct engine       *e = engine_conf(c1, SIDE_UP);
	struct pk            k = {0, 17, "10.1.0.5", "192.0.2.1", 1000, 53, 0};
	struct engine_result res;
	int                  map[2] = {0, 1};
	uint8_t              p[128];
	size_t               len;

	EXPECT(e, &k, 0, P_VOICE, WAN2);
	ck_assert_int_eq(
	    reconfigure_conf(e, c2, map, 2000, NULL, NULL, NULL), 0);
	len = build(p, &k);
	ck_assert_int_eq(engine_packet(e, p, len, 0, 2001, &res), 0);
	ck_assert_int_eq(res.is_new, 0);
	ck_assert_int_eq(res.link, WAN2);
	k.sport = 1001;
	EXPECT(e, &k, 0, P_BULK, WAN1);
	engine_free(e);
	config_free(c1);
	config_free(c2);
}
END_TEST

/*
 * popd: the rules of popd.json pick the profile of a site's return flows,
 * as popd sees them: the first packet popd balances is the reply, from
 * the Internet to the site, so a rule for SIP replies names the server's
 * port as the source.  The spec is built as popd's session_spec() builds
 * it: popd's profiles and rules, the site's links, default routes in the
 * default profile and in each rule's.
 */
START_TEST(popd_return_flows)
{
	struct config *c = parse_ok(
	    "{\"sites\": [{\"name\": \"a\", \"identity\": \"a\", \"lan\": "
	    "[\"10.1.0.0/16\"]}], \"default_profile\": \"bulk\", "
	    "\"profiles\": [{\"name\": \"bulk\"}, {\"name\": \"voice\", "
	    "\"algorithm\": \"usage\"}], \"rules\": [{\"protocol\": \"udp\", "
	    "\"source_port\": 5060, \"profile\": \"voice\"}]}",
	    CONFIG_POPD);
	struct balance_spec spec;
	struct engine      *e;
	struct pk      reply = {0, 17, "192.0.2.1", "10.1.0.5", 5060, 5060, 0};
	struct pk      web = {0, 6, "203.0.113.1", "10.1.0.5", 443, 40000, 0};
	struct outcome o;

	ck_assert_int_eq(c->default_profile, 0);
	ck_assert_int_eq(balance_spec_from_config(&spec, c, SIDE_DOWN), 0);
	ck_assert_uint_eq(rule_set_count(spec.rules), 1);
	spec.nlinks = 2;
	snprintf(spec.links[0].name, sizeof(spec.links[0].name), "WAN1");
	snprintf(spec.links[1].name, sizeof(spec.links[1].name), "WAN2");
	spec.links[0].weight = 100;
	spec.links[1].weight = 20;
	ck_assert_int_eq(
	    balance_spec_default_routes(&spec, c->default_profile), 0);
	ck_assert_uint_eq(spec.nroutes, 8);
	ck_assert_int_eq(spec.routes[0].profile, 0);
	ck_assert_int_eq(spec.routes[7].profile, 1);
	ck_assert_ptr_nonnull(e = engine_new(&spec));
	balance_spec_clear(&spec);
	o = first_packet(e, &reply, 1000);
	ck_assert_int_eq(o.rule, 0);
	ck_assert_int_eq(o.profile, 1);
	o = first_packet(e, &web, 1000);
	ck_assert_int_eq(o.rule, -1);
	ck_assert_int_eq(o.profile, 0);
	engine_free(e);
	config_free(c);
}
END_TEST

START_TEST(pkt_dscp)
{
	struct pkt_info pi;
	uint8_t         p[128];
	struct pk       k4 = {0, 17, "10.0.0.1", "10.0.0.2", 1, 2, 46};
	struct pk       k6 = {1, 17, "2001:db8::1", "2001:db8::2", 1, 2, 46};
	size_t          len;
	unsigned        d;

	for (d = 0; d < 64; d += 7) {
		k4.dscp = k6.dscp = (uint8_t)d;
		len = build(p, &k4);
		p[1] |= 3; /* ECN bits are not DSCP */
		ck_assert_int_eq(pkt_parse(p, len, 0, &pi), 0);
		ck_assert_uint_eq(pi.dscp, d);
		len = build(p, &k6);
		p[1] |= 0x30; /* ECN, in the IPv6 traffic class */
		p[1] |= 0x0f; /* the flow label's first bits */
		ck_assert_int_eq(pkt_parse(p, len, 0, &pi), 0);
		ck_assert_uint_eq(pi.dscp, d);
	}
}
END_TEST

static Suite *
rules_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_test(tc, parse_good);
	tcase_add_test(tc, parse_errors);
	tcase_add_test(tc, parse_too_many);
	tcase_add_test(tc, parse_names);
	suite_add_tcase(s, tc);
	tc = tcase_create("match");
	tcase_add_test(tc, match_rules);
	tcase_add_test(tc, match_first_packet_only);
	tcase_add_test(tc, match_implicit_routes);
	tcase_add_test(tc, match_fallback_and_failover);
	tcase_add_test(tc, reload_new_flows_only);
	tcase_add_test(tc, popd_return_flows);
	tcase_add_test(tc, pkt_dscp);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(rules_suite());
}
