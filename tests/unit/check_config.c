#include "autoconf.h"

#include <sys/socket.h>

#include <check.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "check_config.h"
#include "check_run.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

static char srcdir[1024];

static void
setup(void)
{
	const char *s = getenv("top_srcdir");

	snprintf(srcdir, sizeof(srcdir), "%s", s != NULL ? s : "..");
}

static char *
slurp(const char *path, size_t *lenp)
{
	FILE *fp;
	char *buf;
	long  len;

	ck_assert_msg((fp = fopen(path, "rb")) != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
	ck_assert_int_ge(len = ftell(fp), 0);
	rewind(fp);
	ck_assert_ptr_nonnull(buf = malloc((size_t)len + 1));
	ck_assert_uint_eq(fread(buf, 1, (size_t)len, fp), (size_t)len);
	buf[len] = '\0';
	fclose(fp);
	if (lenp != NULL)
		*lenp = (size_t)len;
	return buf;
}

/* ------------------------------------------------------------ errors */

START_TEST(unknown_key)
{
	expect_socketd(
	    "{\"site\": \"s\", \"links\": [\n"
	    "  {\"name\": \"WAN1\", \"device\": \"eth1\", \"upmbps\": 100,\n"
	    "   \"up_mbps\": 100, \"down_mbps\": 100, \"colour\": \"red\"}]}",
	    "t.json:2:38: links[0].upmbps: unknown key "
	    "(did you mean \"up_mbps\"?)\n"
	    "t.json:3:38: links[0].colour: unknown key\n");
	/* popd has no links, socketd no sites. */
	expect_errors("{\"sites\": [{\"name\": \"a\", \"identity\": \"a\", "
		      "\"lan\": [\"10.1.0.0/16\"]}], \"routes\": []}",
	    CONFIG_POPD,
	    "t.json:1:69: routes: unknown key (did you mean \"rules\"?)\n");
	expect_socketd("{\"site\": \"s\", \"links\": [" LINK1 "], "
		       "\"sites\": []}",
	    "t.json:1:96: sites: unknown key (did you mean \"site\"?)\n");
}
END_TEST

START_TEST(wrong_type)
{
	expect_socketd("{\"site\": \"s\", \"links\": [{\"name\": \"WAN1\", "
		       "\"device\": \"eth1\", \"up_mbps\": \"100\", "
		       "\"down_mbps\": 100.5}]}",
	    "t.json:1:71: links[0].up_mbps: must be an integer, got string\n"
	    "t.json:1:91: links[0].down_mbps: must be an integer, got real\n");
	expect_socketd("{\"site\": 17, \"links\": {}, \"flows\": null, "
		       "\"failback\": true}",
	    "t.json:1:10: site: must be a string, got integer\n"
	    "t.json:1:23: links: must be an array, got object\n"
	    "t.json:1:36: flows: must be an object, got null\n"
	    "t.json:1:54: failback: must be a string, got boolean\n");
	expect_socketd(
	    "[]", "t.json:1:1: (root): must be an object, got array\n");
	expect_socketd(
	    "\"x\"", "t.json:1:1: (root): must be an object, got string\n");
}
END_TEST

START_TEST(out_of_range)
{
	expect_socketd(
	    "{\"site\": \"s\", \"links\": [" LINK1 ", \n"
	    "{\"name\": \"WAN2\", \"device\": \"wwan0\", \"up_mbps\": 0, "
	    "\"down_mbps\": 1000001}],\n"
	    "\"probe\": {\"interval_ms\": 5, \"down_after\": 101},\n"
	    "\"flows\": {\"max\": 0, \"tcp_timeout_s\": -1}}",
	    "t.json:2:48: links[1].up_mbps: must be 1..1000000, got 0\n"
	    "t.json:2:64: links[1].down_mbps: must be 1..1000000, got 1000001\n"
	    "t.json:3:26: probe.interval_ms: must be 10..10000, got 5\n"
	    "t.json:3:43: probe.down_after: must be 1..100, got 101\n"
	    "t.json:4:18: flows.max: must be 1..67108864, got 0\n"
	    "t.json:4:38: flows.tcp_timeout_s: must be 1..604800, got -1\n");
	/* Names are copied into fixed arrays: too long is an error. */
	expect_socketd(
	    "{\"site\": \"s\", \"links\": [{\"name\": "
	    "\"WAN_with_a_name_that_is_too_long\", \"device\": "
	    "\"a_very_long_ifname\", \"up_mbps\": 1, \"down_mbps\": 1}]}",
	    "t.json:1:34: links[0].name: must be 1..31 characters long, "
	    "got 32\n"
	    "t.json:1:80: links[0].device: must be 1..15 characters long, "
	    "got 18\n");
}
END_TEST

START_TEST(enum_value)
{
	expect_socketd(
	    "{\"site\": \"s\", \"links\": [" LINK1 "],\n"
	    "\"profiles\": [{\"name\": \"p\", \"algorithm\": \"fastest\"}],\n"
	    "\"failback\": \"never\"}",
	    "t.json:2:41: profiles[0].algorithm: must be one of ratio, flow, "
	    "source-ip, destination-ip, round-robin, random, throughput, "
	    "usage; got \"fastest\"\n"
	    "t.json:3:13: failback: must be one of new-flows, rebalance; "
	    "got \"never\"\n");
}
END_TEST

START_TEST(dangling_references)
{
	expect_socketd(
	    "{\"site\": \"s\",\n"
	    "\"links\": [" LINK1 "],\n"
	    "\"default_profile\": \"x\",\n"
	    "\"profiles\": [{\"name\": \"bulk\"}],\n"
	    "\"routes\": [{\"network\": \"0.0.0.0/0\", \"link\": \"WAN1\"},\n"
	    "  {\"network\": \"0.0.0.0/0\", \"link\": \"WAN1\", "
	    "\"profile\": \"bulk\"},\n"
	    "  {\"network\": \"0.0.0.0/0\", \"link\": \"WAN3\", "
	    "\"profile\": \"x\"}]}",
	    "t.json:3:20: default_profile: no profile named \"x\"\n"
	    "t.json:7:36: routes[2].link: no link named \"WAN3\"\n"
	    "t.json:7:55: routes[2].profile: no profile named \"x\"\n");
}
END_TEST

START_TEST(duplicate_names)
{
	expect_socketd("{\"site\": \"s\", \"links\": [" LINK1 ",\n" LINK1
		       ",\n" LINK1 "],\n"
		       "\"profiles\": [{\"name\": \"a\"}, {\"name\": \"a\"}]}",
	    "t.json:2:10: links[1].name: duplicate link name \"WAN1\" "
	    "(also links[0] at 1:34)\n"
	    "t.json:3:10: links[2].name: duplicate link name \"WAN1\" "
	    "(also links[0] at 1:34)\n"
	    "t.json:4:38: profiles[1].name: duplicate profile name \"a\" "
	    "(also profiles[0] at 4:23)\n");
}
END_TEST

START_TEST(host_bits)
{
	expect_socketd(
	    "{\"site\": \"s\", \"links\": [" LINK1 "],\n"
	    "\"routes\": [{\"network\": \"10.0.0.1/24\", \"link\": \"WAN1\"},\n"
	    "{\"network\": \"10.0.0.0/24\", \"link\": \"WAN1\"}]}",
	    "t.json:2:24: routes[0].network: host bits set after the prefix "
	    "length: \"10.0.0.1/24\"\n");
}
END_TEST

START_TEST(weight_zero)
{
	expect_socketd(
	    "{\"site\": \"s\", \"links\": [{\"name\": \"WAN1\", "
	    "\"device\": \"eth1\", \"up_mbps\": 100, \"down_mbps\": 100, "
	    "\"weight\": 0}],\n"
	    "\"routes\": [{\"network\": \"::/0\", \"link\": \"WAN1\", "
	    "\"weight\": 0, \"metric\": 65536}]}",
	    "t.json:1:104: links[0].weight: must be 1..1000000, got 0\n"
	    "t.json:2:58: routes[0].weight: must be 1..1000000, got 0\n"
	    "t.json:2:71: routes[0].metric: must be 0..65535, got 65536\n");
}
END_TEST

static char *
n_links(size_t n)
{
	char  *s, *p;
	size_t i;

	ck_assert_ptr_nonnull(s = malloc(64 + n * 80));
	p = s + sprintf(s, "{\"site\": \"s\", \"links\": [");
	for (i = 0; i < n; i++)
		p += sprintf(p,
		    "%s\n{\"name\": \"W%zu\", \"device\": \"eth%zu\", "
		    "\"up_mbps\": 10, \"down_mbps\": 10}",
		    i ? "," : "", i, i);
	strcpy(p, "]}");
	return s;
}

START_TEST(too_many_links)
{
	struct config *conf;
	char          *s;

	s = n_links(CONFIG_MAX_LINKS);
	conf = parse_ok(s, CONFIG_SOCKETD);
	ck_assert_uint_eq(conf->nlinks, CONFIG_MAX_LINKS);
	ck_assert_str_eq(conf->links[31].name, "W31");
	config_free(conf);
	free(s);

	/* One error for the 33rd, none for a route that names it. */
	s = n_links(CONFIG_MAX_LINKS + 1);
	expect_socketd(s,
	    "t.json:34:1: links[32]: too many links, at most "
	    "32\n");
	free(s);
}
END_TEST

START_TEST(missing_keys)
{
	expect_socketd(
	    "{\"links\": [\n"
	    "{\"name\": \"WAN1\", \"up_mbps\": 100}],\n"
	    "\"routes\": [{\"link\": \"WAN1\"}, {\"network\": \"::/0\"}]}",
	    "t.json:1:1: (root): missing key \"site\"\n"
	    "t.json:2:1: links[0]: missing key \"down_mbps\"\n"
	    "t.json:2:1: links[0]: needs \"device\" or \"source\"\n"
	    "t.json:3:12: routes[0]: missing key \"network\"\n"
	    "t.json:3:30: routes[1]: missing key \"link\"\n");
	expect_socketd(
	    "{\"site\": \"s\"}", "t.json:1:1: (root): missing key \"links\"\n");
	expect_socketd("{\"site\": \"s\", \"links\": []}",
	    "t.json:1:24: links: must not be empty\n");
	expect_errors(
	    "{}", CONFIG_POPD, "t.json:1:1: (root): missing key \"sites\"\n");
	expect_errors("{\"sites\": [{\"name\": \"a\", \"lan\": []}]}",
	    CONFIG_POPD,
	    "t.json:1:12: sites[0]: missing key \"identity\"\n"
	    "t.json:1:33: sites[0].lan: must not be empty\n");
}
END_TEST

/* The keys only the daemons need, written out by hand (no helper). */
static void
expect_raw(const char *json, enum config_kind kind, const char *want)
{
	struct config_errors e = {0};
	char                *got;

	ck_assert_ptr_null(
	    config_parse(json, strlen(json), "t.json", kind, &e));
	got = joined(&e);
	ck_assert_msg(strcmp(got, want) == 0, "want:\n%sgot:\n%s", want, got);
	free(got);
	config_errors_clear(&e);
}

START_TEST(daemon_keys)
{
	struct config_errors e = {0};
	struct config       *c;
	static const char    ok[] =
	    "{\"site\": \"s\", \"links\": [" LINK1 "],\n"
	    " \"pop\": {\"address\": \"2001:db8::1\", \"data_port\": 4000, "
	    "\"identity\": \"pop.lab\"},\n"
	    " \"tls\": {\"ca\": \"/etc/wanpair/ca.pem\", \"cert\": "
	    "\"site.pem\",\n"
	    "         \"key\": \"keys/site.key\"},\n"
	    " \"tun\": {\"name\": \"wp1\", \"mtu\": 1400},\n"
	    " \"lan\": [\"10.1.0.0/24\", \"2001:db8:1::/64\"]}";

	/* Missing, each at the root's "{" */
	expect_raw("{\"site\": \"s\", \"links\": [" LINK1 "]}", CONFIG_SOCKETD,
	    "t.json:1:1: (root): missing key \"pop\"\n"
	    "t.json:1:1: (root): missing key \"tls\"\n"
	    "t.json:1:1: (root): missing key \"lan\"\n");
	expect_raw("{\"sites\": [{\"name\": \"a\", \"identity\": \"a\", "
		   "\"lan\": [\"10.0.0.0/8\"]}]}",
	    CONFIG_POPD,
	    "t.json:1:1: (root): missing key \"listen\"\n"
	    "t.json:1:1: (root): missing key \"tls\"\n");
	/* replay needs none of them */
	c = config_parse("{\"links\": [" LINK1 "]}",
	    strlen("{\"links\": [" LINK1 "]}"), "t.json", CONFIG_REPLAY, &e);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->endpoints[0].data_port, CONFIG_DATA_PORT);
	ck_assert_str_eq(c->tun.name, "wanpair0");
	config_free(c);

	/* Values, defaults, and paths relative to the config's directory */
	c = config_parse(
	    ok, strlen(ok), "/srv/wp/socketd.json", CONFIG_SOCKETD, &e);
	ck_assert_msg(c != NULL, "%s", e.n ? e.lines[0] : "");
	ck_assert_int_eq(c->endpoints[0].address.family, AF_INET6);
	ck_assert_uint_eq(c->endpoints[0].data_port, 4000);
	ck_assert_uint_eq(c->endpoints[0].control_port, CONFIG_CONTROL_PORT);
	ck_assert_str_eq(c->endpoints[0].identity, "pop.lab");
	ck_assert_str_eq(c->tls.ca, "/etc/wanpair/ca.pem");
	ck_assert_str_eq(c->tls.cert, "/srv/wp/site.pem");
	ck_assert_str_eq(c->tls.key, "/srv/wp/keys/site.key");
	ck_assert_str_eq(c->tun.name, "wp1");
	ck_assert_uint_eq(c->tun.mtu, 1400);
	ck_assert_uint_eq(c->nlan, 2);
	config_free(c);

	/* Bad values */
	expect_socketd(
	    "{\"site\": \"s\", \"links\": [" LINK1 "],\n"
	    " \"pop\": {\"address\": \"pop.example\", \"data_port\": 0},\n"
	    " \"tun\": {\"mtu\": 576}, \"lan\": [\"10.1.0.1/24\"]}",
	    "t.json:2:9: pop: missing key \"identity\"\n"
	    "t.json:2:21: pop.address: must be an IP address, got "
	    "\"pop.example\"\n"
	    "t.json:2:49: pop.data_port: must be 1..65535, got 0\n"
	    "t.json:3:17: tun.mtu: must be 1280..65535, got 576\n"
	    "t.json:3:31: lan[0]: host bits set after the prefix length: "
	    "\"10.1.0.1/24\"\n");
	expect_socketd("{\"site\": \"s\", \"links\": [" LINK1 "],\n"
		       " \"tls\": {\"ca\": \"\", \"cert\": 1}}",
	    "t.json:2:9: tls: missing key \"key\"\n"
	    "t.json:2:16: tls.ca: must be a path of 1..4095 bytes\n"
	    "t.json:2:28: tls.cert: must be a string, got integer\n");
}
END_TEST

START_TEST(metrics_listen)
{
	static const struct {
		const char *listen;
		int         family;
		uint16_t    port;
	} good[] = {
	    {"127.0.0.1:9469", AF_INET, 9469},
	    {"0.0.0.0:1", AF_INET, 1},
	    {"[::1]:9469", AF_INET6, 9469},
	    {"[2001:db8::7]:65535", AF_INET6, 65535},
	};
	static const char *const bad[] = {"", "127.0.0.1",
	    "127.0.0.1:", ":9469", "127.0.0.1:0", "127.0.0.1:65536",
	    "127.0.0.1:99999999999", "127.0.0.1:94a9", "127.0.0.1:+9469",
	    "127.0.0.1:9469 ", "localhost:9469", "::1:9469", "[::1]",
	    "[::1]9469", "[127.0.0.1]:9469", "[::1:9469", "2001:db8::1",
	    "1.2.3.4.5:80"};
	struct config           *c;
	char                     json[512], want[512];
	size_t                   i;

	/* absent: off */
	c = parse_ok(
	    "{\"site\": \"s\", \"links\": [" LINK1 "]}", CONFIG_SOCKETD);
	ck_assert_int_eq(c->metrics.address.family, 0);
	config_free(c);
	for (i = 0; i < NITEMS(good); i++) {
		snprintf(json, sizeof(json),
		    "{\"site\": \"s\", \"links\": [" LINK1 "], "
		    "\"metrics\": {\"listen\": \"%s\"}}",
		    good[i].listen);
		c = parse_ok(json, CONFIG_SOCKETD);
		ck_assert_int_eq(c->metrics.address.family, good[i].family);
		ck_assert_uint_eq(c->metrics.port, good[i].port);
		config_free(c);
	}
	/* popd has it too (its own "listen" spelled out: with_daemon_keys()
	 * would take the metrics' for it) */
	c = parse_ok("{\"sites\": [{\"name\": \"a\", \"identity\": \"a\", "
		     "\"lan\": [\"10.0.0.0/8\"]}], "
		     "\"listen\": {\"address\": \"198.18.0.1\"}, "
		     "\"metrics\": {\"listen\": \"[::1]:9470\"}}",
	    CONFIG_POPD);
	ck_assert_uint_eq(c->metrics.port, 9470);
	config_free(c);
	for (i = 0; i < NITEMS(bad); i++) {
		snprintf(json, sizeof(json),
		    "{\"site\": \"s\", \"links\": [" LINK1 "],\n"
		    " \"metrics\": {\"listen\": \"%s\"}}",
		    bad[i]);
		snprintf(want, sizeof(want),
		    "t.json:2:24: metrics.listen: must be \"ADDRESS:PORT\" "
		    "with "
		    "a numeric address and a port of 1..65535, IPv6 as "
		    "\"[ADDRESS]:PORT\"; got \"%s\"\n",
		    bad[i]);
		expect_socketd(json, want);
	}
	expect_socketd("{\"site\": \"s\", \"links\": [" LINK1 "],\n"
		       " \"metrics\": {\"listen\": 9469, \"port\": 1}}",
	    "t.json:2:24: metrics.listen: must be a string, got integer\n"
	    "t.json:2:30: metrics.port: unknown key\n");
	expect_socketd("{\"site\": \"s\", \"links\": [" LINK1 "],\n"
		       " \"metrics\": \"127.0.0.1:9469\"}",
	    "t.json:2:13: metrics: must be an object, got string\n");
}
END_TEST

#define SITE_A                                                                 \
	"\"sites\": [{\"name\": \"a\", \"identity\": \"a\", "                  \
	"\"lan\": [\"10.0.0.0/8\"]}]"

/* popd's "limits": the defaults wanpair.json(5) gives, every key set,
 * and every bound refused with its position. */
START_TEST(popd_limits)
{
	struct config *c;

	c = parse_ok("{" SITE_A "}", CONFIG_POPD);
	ck_assert_uint_eq(c->limits.handshakes, 64);
	ck_assert_uint_eq(c->limits.handshakes_per_source, 8);
	ck_assert_uint_eq(c->limits.handshake_timeout_s, 10);
	ck_assert_uint_eq(c->limits.connections, 1024);
	ck_assert_uint_eq(c->limits.output_kib, 256);
	ck_assert_uint_eq(c->limits.frames_per_s, 100);
	ck_assert_uint_eq(c->limits.frame_burst, 400);
	ck_assert_uint_eq(c->limits.input_kib_per_s, 1024);
	ck_assert_uint_eq(c->limits.input_total_kib_per_s, 65536);
	config_free(c);
	c = parse_ok("{" SITE_A ", \"limits\": {\"handshakes\": 4096, "
		     "\"handshakes_per_source\": 1, "
		     "\"handshake_timeout_s\": 300, \"connections\": 2, "
		     "\"output_kib\": 16, \"frames_per_s\": 1, "
		     "\"frame_burst\": 1000000, \"input_kib_per_s\": 16, "
		     "\"input_total_kib_per_s\": 1048576}}",
	    CONFIG_POPD);
	ck_assert_uint_eq(c->limits.input_kib_per_s, 16);
	ck_assert_uint_eq(c->limits.input_total_kib_per_s, 1048576);
	ck_assert_uint_eq(c->limits.handshakes, 4096);
	ck_assert_uint_eq(c->limits.handshakes_per_source, 1);
	ck_assert_uint_eq(c->limits.handshake_timeout_s, 300);
	ck_assert_uint_eq(c->limits.connections, 2);
	ck_assert_uint_eq(c->limits.output_kib, 16);
	ck_assert_uint_eq(c->limits.frames_per_s, 1);
	ck_assert_uint_eq(c->limits.frame_burst, 1000000);
	config_free(c);
	expect_errors("{" SITE_A ",\n\"limits\": {\"handshakes\": 0, "
		      "\"handshakes_per_source\": 4097,\n"
		      "\"handshake_timeout_s\": 0, \"connections\": 65537, "
		      "\"output_kib\": 15,\n\"frames_per_s\": 0, "
		      "\"frame_burst\": -1, \"handshake_timeout\": 5,\n"
		      "\"input_kib_per_s\": 15, \"input_total_kib_per_s\": 0}}",
	    CONFIG_POPD,
	    "t.json:2:26: limits.handshakes: must be 1..4096, got 0\n"
	    "t.json:2:54: limits.handshakes_per_source: must be 1..4096, "
	    "got 4097\n"
	    "t.json:3:24: limits.handshake_timeout_s: must be 1..300, got 0\n"
	    "t.json:3:42: limits.connections: must be 1..65536, got 65537\n"
	    "t.json:3:63: limits.output_kib: must be 16..65536, got 15\n"
	    "t.json:4:17: limits.frames_per_s: must be 1..100000, got 0\n"
	    "t.json:4:35: limits.frame_burst: must be 1..1000000, got -1\n"
	    "t.json:4:39: limits.handshake_timeout: unknown key (did you "
	    "mean \"handshake_timeout_s\"?)\n"
	    "t.json:5:20: limits.input_kib_per_s: must be 16..1048576, got 15\n"
	    "t.json:5:49: limits.input_total_kib_per_s: must be 16..1048576, "
	    "got 0\n");
	/* popd's only: socketd opens no listening channel */
	expect_socketd("{\"site\": \"s\", \"links\": [" LINK1 "], "
		       "\"limits\": {}}",
	    "t.json:1:96: limits: unknown key\n");
}
END_TEST

START_TEST(syntax_error)
{
	/* One line, however many other problems follow. */
	expect_socketd("{\"site\": 1,\n  \"links\": [" LINK1 ",]\n}",
	    "t.json:2:82: (syntax): unexpected token near ']'\n");
	/* Columns from 1, also before a line's first character. */
	expect_socketd("",
	    "t.json:1:1: (syntax): unexpected token near "
	    "end of file\n");
	expect_socketd("{\"site\": \"s\",\n",
	    "t.json:2:1: (syntax): string or '}' expected near "
	    "end of file\n");
	/* A byte that is not UTF-8 is placed at itself. */
	expect_socketd(
	    "\xff", "t.json:1:1: (syntax): unable to decode byte 0xff\n");
	expect_socketd(
	    "{\n\xff}", "t.json:2:1: (syntax): unable to decode byte 0xff\n");
	expect_socketd("{\"site\": \"\xc3\xa9\xff\"}",
	    "t.json:1:12: (syntax): unable to decode byte 0xff near "
	    "'\"\\xc3\\xa9'\n");
	/* A byte order mark is named, not an "invalid token". */
	expect_socketd("\xef\xbb\xbf{\"site\": \"s\"}",
	    "t.json:1:1: (syntax): a UTF-8 byte order mark (EF BB BF) at the "
	    "start, which JSON does not allow (RFC 8259 section 8.1)\n");
	/* No jansson flag name in a message. */
	expect_socketd("{\"site\": \"a\\u0000\"}",
	    "t.json:1:18: (syntax): \\u0000 is not allowed near "
	    "'\"a\\u0000\"'\n");
	expect_socketd("{\"site\": \"s\", \"site\": \"t\"}",
	    "t.json:1:20: (syntax): duplicate object key near '\"site\"'\n");
	/* jansson quotes the bad token raw; the line stays printable. */
	expect_socketd("{\"site\": \"a\001\"}",
	    "t.json:1:11: (syntax): control character 0x1 near '\"a'\n");
}
END_TEST

START_TEST(errors_in_file_order)
{
	/* Checked profiles, links, routes, flows; reported as written. */
	expect_socketd(
	    "{\"flows\": {\"max\": 0},\n"
	    "\"routes\": [{\"network\": \"10.0.0.0/8\", \"link\": \"WAN9\"}],\n"
	    "\"links\": [{\"name\": \"WAN1\", \"device\": \"eth1\", "
	    "\"up_mbps\": 0, \"down_mbps\": 1}],\n"
	    "\"profiles\": [{\"name\": \"p\", \"algorithm\": \"x\"}],\n"
	    "\"site\": \"\"}",
	    "t.json:1:19: flows.max: must be 1..67108864, got 0\n"
	    "t.json:2:46: routes[0].link: no link named \"WAN9\"\n"
	    "t.json:3:57: links[0].up_mbps: must be 1..1000000, got 0\n"
	    "t.json:4:41: profiles[0].algorithm: must be one of ratio, flow, "
	    "source-ip, destination-ip, round-robin, random, throughput, "
	    "usage; got \"x\"\n"
	    "t.json:5:9: site: must be 1..63 bytes long, got 0\n");
}
END_TEST

START_TEST(stickiness_options)
{
	expect_socketd(
	    "{\"site\": \"s\", \"links\": [" LINK1 "],\n"
	    "\"profiles\": [\n"
	    "{\"name\": \"a\", \"max_groups\": 10, \"keepalive\": \"usage\"},\n"
	    "{\"name\": \"b\", \"stickiness\": \"source-ip\", "
	    "\"source_prefix\": 16},\n"
	    "{\"name\": \"c\", \"stickiness\": \"source-network\", "
	    "\"keepalive\": \"forever\", \"timeout_s\": 5},\n"
	    "{\"name\": \"d\", \"stickiness\": \"destination-ip\", "
	    "\"timeout_s\": 0}]}",
	    "t.json:3:29: profiles[0].max_groups: has no effect without "
	    "stickiness\n"
	    "t.json:3:46: profiles[0].keepalive: has no effect without "
	    "stickiness\n"
	    "t.json:4:59: profiles[1].source_prefix: has no effect unless "
	    "stickiness is source-network\n"
	    "t.json:5:84: profiles[2].timeout_s: has no effect with "
	    "keepalive forever\n"
	    "t.json:6:60: profiles[3].timeout_s: must be 1..86400, got 0\n");
}
END_TEST

/* ------------------------------------------------------------ values */

START_TEST(defaults)
{
	struct config               *conf;
	const struct config_profile *p;

	conf = parse_ok(
	    "{\"site\": \"branch-17\", \"links\": [" LINK1 ", " LINK2 "],\n"
	    "\"profiles\": [{\"name\": \"bulk\"}, {\"name\": \"u\", "
	    "\"stickiness\": \"source-network\", \"keepalive\": \"usage\"}],\n"
	    "\"routes\": [{\"network\": \"198.51.100.0/24\", "
	    "\"link\": \"WAN2\"}]}",
	    CONFIG_SOCKETD);
	ck_assert_str_eq(conf->file, "t.json");
	ck_assert_str_eq(conf->site, "branch-17");
	ck_assert_int_eq(conf->kind, CONFIG_SOCKETD);
	ck_assert_uint_eq(conf->flows_max, 1000000);
	ck_assert_uint_eq(conf->flow_timeouts.s[FLOW_TCP], 3600);
	ck_assert_uint_eq(conf->flow_timeouts.s[FLOW_TCP_CLOSING], 10);
	ck_assert_uint_eq(conf->flow_timeouts.s[FLOW_UDP], 60);
	ck_assert_uint_eq(conf->flow_timeouts.s[FLOW_ICMP], 30);
	ck_assert_uint_eq(conf->flow_timeouts.s[FLOW_OTHER], 60);
	ck_assert_uint_eq(conf->probe_interval_ms, 10);
	ck_assert_uint_eq(conf->probe_down_after, 10);
	ck_assert_uint_eq(conf->probe_up_after, 30);
	ck_assert_int_eq(conf->failback, FAILBACK_NEW_FLOWS);
	ck_assert_int_eq(conf->default_profile, -1);

	ck_assert_uint_eq(conf->nprofiles, 2);
	p = &conf->profiles[0];
	ck_assert_int_eq(p->algorithm, BAL_RATIO);
	ck_assert_int_eq(p->stickiness, STICKY_NONE);
	ck_assert_int_eq(p->keepalive, KEEPALIVE_TIMEOUT);
	ck_assert_uint_eq(p->timeout_s, 10);
	ck_assert_uint_eq(p->max_groups, 2048);
	ck_assert_uint_eq(p->source_prefix, 24);
	ck_assert_uint_eq(p->source_prefix6, 64);
	ck_assert_uint_eq(p->destination_prefix, 24);
	ck_assert_uint_eq(p->destination_prefix6, 64);
	ck_assert_int_eq(p->implicit, 0);
	/* Under usage keepalive the group goes with its last flow. */
	ck_assert_uint_eq(conf->profiles[1].timeout_s, 0);

	/* No default_profile: a route without profile is static. */
	ck_assert_uint_eq(conf->nroutes, 1);
	ck_assert_int_eq(conf->routes[0].profile, CONFIG_ROUTE_STATIC);
	ck_assert_int_eq(conf->routes[0].link, 1);
	ck_assert_uint_eq(conf->routes[0].metric, 100);
	ck_assert_uint_eq(conf->routes[0].weight, 0);
	ck_assert_int_eq(conf->routes[0].implicit, 0);
	ck_assert_uint_eq(conf->links[0].weight, 0);
	ck_assert_int_eq(conf->links[0].source.family, 0);
	config_free(conf);
}
END_TEST

START_TEST(values)
{
	struct config               *conf;
	const struct config_profile *p;
	char                         buf[PREFIX_STRLEN];

	conf = parse_ok(
	    "{\"site\": \"Zürich\", \"links\": [" LINK1 ", "
	    "{\"name\": \"WAN2\", \"source\": \"2001:db8::2\", \"up_mbps\": "
	    "20, "
	    "\"down_mbps\": 50, \"weight\": 7}],\n"
	    "\"default_profile\": \"bulk\",\n"
	    "\"profiles\": [{\"name\": \"voice\", \"algorithm\": \"usage\", "
	    "\"stickiness\": \"destination-network\", "
	    "\"destination_prefix\": 16, \"destination_prefix6\": 48, "
	    "\"keepalive\": \"deadline\", \"timeout_s\": 600, "
	    "\"max_groups\": 1048576}, {\"name\": \"bulk\", "
	    "\"algorithm\": \"round-robin\"}],\n"
	    "\"routes\": [{\"network\": \"0.0.0.0/0\", \"link\": \"WAN1\"},\n"
	    "{\"network\": \"2001:db8:5::/48\", \"link\": \"WAN2\", "
	    "\"metric\": 0, \"weight\": 3, \"profile\": \"voice\"}],\n"
	    "\"flows\": {\"max\": 67108864, \"udp_timeout_s\": 604800},\n"
	    "\"probe\": {\"interval_ms\": 10000, \"down_after\": 1, "
	    "\"up_after\": 100},\n"
	    "\"failback\": \"rebalance\",\n"
	    /* WAN2's source is IPv6: the PoP needs an IPv6 address */
	    "\"pop\": {\"address\": [\"198.18.0.1\", \"2001:db8::1\"], "
	    "\"identity\": \"pop.lab\"}}",
	    CONFIG_SOCKETD);
	ck_assert_str_eq(conf->site, "Zürich");
	ck_assert_str_eq(conf->links[0].device, "eth1");
	ck_assert_int_eq(conf->links[1].source.family, AF_INET6);
	ck_assert_str_eq(conf->links[1].device, "");
	ck_assert_int_eq(conf->default_profile, 1);
	p = &conf->profiles[0];
	ck_assert_int_eq(p->algorithm, BAL_USAGE);
	ck_assert_int_eq(p->stickiness, STICKY_DESTINATION_NETWORK);
	ck_assert_uint_eq(p->destination_prefix, 16);
	ck_assert_uint_eq(p->destination_prefix6, 48);
	ck_assert_int_eq(p->keepalive, KEEPALIVE_DEADLINE);
	ck_assert_uint_eq(p->timeout_s, 600);
	ck_assert_uint_eq(p->max_groups, 1048576);
	ck_assert_int_eq(conf->profiles[1].algorithm, BAL_ROUND_ROBIN);
	/* Without "profile" a route belongs to default_profile. */
	ck_assert_int_eq(conf->routes[0].profile, 1);
	ck_assert_int_eq(conf->routes[1].profile, 0);
	ck_assert_str_eq(
	    prefix_ntop(&conf->routes[1].network, buf, sizeof(buf)),
	    "2001:db8:5::/48");
	ck_assert_uint_eq(conf->routes[1].metric, 0);
	ck_assert_uint_eq(conf->flows_max, 67108864);
	ck_assert_uint_eq(conf->flow_timeouts.s[FLOW_UDP], 604800);
	ck_assert_uint_eq(conf->flow_timeouts.s[FLOW_TCP], 3600);
	ck_assert_uint_eq(conf->probe_interval_ms, 10000);
	ck_assert_uint_eq(conf->probe_down_after, 1);
	ck_assert_uint_eq(conf->probe_up_after, 100);
	ck_assert_int_eq(conf->failback, FAILBACK_REBALANCE);

	/* Weight: route, else link, else the side's bandwidth. */
	ck_assert_uint_eq(config_route_weight(conf, &conf->routes[1], 0), 3);
	ck_assert_uint_eq(config_route_weight(conf, &conf->routes[0], 0), 100);
	ck_assert_uint_eq(config_link_weight(conf, 1, 0), 7);
	conf->links[1].weight = 0;
	ck_assert_uint_eq(config_link_weight(conf, 1, 0), 20);
	ck_assert_uint_eq(config_link_weight(conf, 1, 1), 50);
	config_free(conf);
}
END_TEST

START_TEST(implicit_routes_and_profile)
{
	struct config *conf;
	char           buf[PREFIX_STRLEN];
	size_t         i;

	/* No profile at all: an implicit "default" carries the routes. */
	conf = parse_ok("{\"site\": \"s\", \"links\": [" LINK1 ", " LINK2 "]}",
	    CONFIG_SOCKETD);
	ck_assert_uint_eq(conf->nprofiles, 1);
	ck_assert_str_eq(conf->profiles[0].name, "default");
	ck_assert_int_eq(conf->profiles[0].algorithm, BAL_RATIO);
	ck_assert_int_eq(conf->profiles[0].implicit, 1);
	ck_assert_int_eq(conf->default_profile, -1);
	ck_assert_uint_eq(conf->nroutes, 4);
	for (i = 0; i < 4; i++) {
		ck_assert_str_eq(
		    prefix_ntop(&conf->routes[i].network, buf, sizeof(buf)),
		    i % 2 ? "::/0" : "0.0.0.0/0");
		ck_assert_int_eq(conf->routes[i].link, (int)i / 2);
		ck_assert_uint_eq(conf->routes[i].metric, 100);
		ck_assert_int_eq(conf->routes[i].profile, 0);
		ck_assert_int_eq(conf->routes[i].implicit, 1);
	}
	ck_assert_uint_eq(config_route_weight(conf, &conf->routes[2], 0), 20);
	config_free(conf);

	/* A configured "default" is used, not duplicated. */
	conf = parse_ok(
	    "{\"site\": \"s\", \"links\": [" LINK1 "], "
	    "\"profiles\": [{\"name\": \"x\"}, {\"name\": \"default\", "
	    "\"algorithm\": \"flow\"}], \"routes\": []}",
	    CONFIG_SOCKETD);
	ck_assert_uint_eq(conf->nprofiles, 2);
	ck_assert_uint_eq(conf->nroutes, 2);
	ck_assert_int_eq(conf->routes[0].profile, 1);
	ck_assert_int_eq(conf->routes[1].profile, 1);
	config_free(conf);

	/* default_profile wins over a profile named "default". */
	conf = parse_ok("{\"site\": \"s\", \"links\": [" LINK1 "], "
			"\"default_profile\": \"x\", \"profiles\": [{\"name\": "
			"\"default\"}, {\"name\": \"x\"}]}",
	    CONFIG_SOCKETD);
	ck_assert_uint_eq(conf->nprofiles, 2);
	ck_assert_int_eq(conf->default_profile, 1);
	ck_assert_int_eq(conf->routes[0].profile, 1);
	ck_assert_int_eq(conf->routes[1].profile, 1);
	config_free(conf);
}
END_TEST

START_TEST(popd_kind)
{
	struct config *conf;
	char           buf[PREFIX_STRLEN];

	conf = parse_ok(
	    "{\"sites\": [{\"name\": \"branch-17\", \"identity\": "
	    "\"branch-17.example.net\", \"lan\": [\"10.17.0.0/16\", "
	    "\"2001:db8:17::/48\", \"10.17.1.0/24\"]}, {\"name\": \"hq\", "
	    "\"identity\": \"hq\", \"lan\": [\"10.1.0.0/16\"]}]}",
	    CONFIG_POPD);
	ck_assert_uint_eq(conf->nsites, 2);
	ck_assert_uint_eq(conf->nlinks, 0);
	ck_assert_uint_eq(conf->nroutes, 0);
	ck_assert_str_eq(conf->sites[0].name, "branch-17");
	ck_assert_str_eq(conf->sites[0].identity, "branch-17.example.net");
	ck_assert_uint_eq(conf->sites[0].nlan, 3);
	ck_assert_str_eq(prefix_ntop(&conf->sites[0].lan[1], buf, sizeof(buf)),
	    "2001:db8:17::/48");
	/* popd balances return traffic in the (implicit) default profile. */
	ck_assert_int_eq(conf->default_profile, 0);
	ck_assert_str_eq(conf->profiles[0].name, "default");
	ck_assert_int_eq(conf->profiles[0].implicit, 1);
	config_free(conf);

	expect_errors("{\"sites\": [\n"
		      "{\"name\": \"a\", \"identity\": \"a.example\", "
		      "\"lan\": [\"10.0.0.0/8\"]},\n"
		      "{\"name\": \"b\", \"identity\": \"a.example\", "
		      "\"lan\": [\"10.2.0.0/16\", \"192.168.0.0/24\"]},\n"
		      "{\"name\": \"a\", \"identity\": \"c\", "
		      "\"lan\": [\"192.168.0.0/16\"]}]}",
	    CONFIG_POPD,
	    "t.json:3:27: sites[1].identity: duplicate identity \"a.example\" "
	    "(also sites[0] at 2:27)\n"
	    "t.json:3:48: sites[1].lan[0]: \"10.2.0.0/16\" overlaps "
	    "\"10.0.0.0/8\" (sites[0].lan[0])\n"
	    "t.json:4:10: sites[2].name: duplicate site name \"a\" "
	    "(also sites[0] at 2:10)\n"
	    "t.json:4:40: sites[2].lan[0]: \"192.168.0.0/16\" overlaps "
	    "\"192.168.0.0/24\" (sites[1].lan[1])\n");

	/*
	 * popd matches a certificate's names without regard to ASCII case
	 * (tls.c), so identities that differ only in case name one
	 * certificate: the second site could never be told from the first.
	 * Site names stay case-sensitive.
	 */
	expect_errors("{\"sites\": [\n"
		      "{\"name\": \"a\", \"identity\": \"Branch.Example\", "
		      "\"lan\": [\"10.0.0.0/8\"]},\n"
		      "{\"name\": \"A\", \"identity\": \"branch.example\", "
		      "\"lan\": [\"192.168.0.0/16\"]}]}",
	    CONFIG_POPD,
	    "t.json:3:27: sites[1].identity: duplicate identity "
	    "\"branch.example\" (also sites[0] at 2:27)\n");
}
END_TEST

/*
 * popd's one pool of flows.max: each site's cap is its own flows_max,
 * else flows.site_max, else an equal share of what is left; caps that
 * promise more than the pool are refused where they are written.
 */
#define SITE_N(n, own)                                                         \
	"{\"name\": \"s" #n "\", \"identity\": \"s" #n "\", \"lan\": "         \
	"[\"10." #n ".0.0/16\"]" own "}"

START_TEST(popd_flow_caps)
{
	struct config *c;

	c = parse_ok("{\"flows\": {\"max\": 1000}, \"sites\": [" SITE_N(
			 1, "") ", " SITE_N(2,
			 ", \"flows_max\": 400") ", " SITE_N(3, "") "]}",
	    CONFIG_POPD);
	ck_assert_uint_eq(c->flows_max, 1000);
	ck_assert_uint_eq(c->flows_site_max, 0);
	ck_assert_uint_eq(c->sites[0].flows_max, 300);
	ck_assert_int_eq(c->sites[0].flows_max_own, 0);
	ck_assert_uint_eq(c->sites[1].flows_max, 400);
	ck_assert_int_eq(c->sites[1].flows_max_own, 1);
	ck_assert_uint_eq(c->sites[2].flows_max, 300);
	config_free(c);
	/* The default pool, one site: all of it. */
	c = parse_ok("{" SITE_A "}", CONFIG_POPD);
	ck_assert_uint_eq(c->sites[0].flows_max, c->flows_max);
	config_free(c);
	c = parse_ok("{\"flows\": {\"max\": 1000, \"site_max\": 100}, "
		     "\"sites\": [" SITE_N(1, "") ", " SITE_N(2, "") "]}",
	    CONFIG_POPD);
	ck_assert_uint_eq(c->flows_site_max, 100);
	ck_assert_uint_eq(c->sites[0].flows_max, 100);
	ck_assert_uint_eq(c->sites[1].flows_max, 100);
	config_free(c);

	expect_errors("{\"flows\": {\"max\": 1000, \"site_max\": 1001},\n"
		      "\"sites\": [" SITE_N(1, ", \"flows_max\": 1001") "]}",
	    CONFIG_POPD,
	    "t.json:1:37: flows.site_max: 1001 is more than flows.max "
	    "(1000)\n"
	    "t.json:2:81: sites[0].flows_max: 1001 is more than flows.max "
	    "(1000)\n");
	expect_errors("{\"flows\": {\"max\": 1000, \"site_max\": 600},\n"
		      "\"sites\": [" SITE_N(1, "") ", " SITE_N(2, "") "]}",
	    CONFIG_POPD,
	    "t.json:2:10: sites: the sites' flows_max add up to 1200 (2 at "
	    "flows.site_max 600), more than flows.max (1000)\n");
	expect_errors("{\"flows\": {\"max\": 1000},\n\"sites\": [" SITE_N(
			  1, ", \"flows_max\": 600") ", " SITE_N(2,
			  ", \"flows_max\": 500") "]}",
	    CONFIG_POPD,
	    "t.json:2:10: sites: the sites' own flows_max add up to 1100, "
	    "more than flows.max (1000)\n");
	expect_errors("{\"flows\": {\"max\": 1},\n\"sites\": [" SITE_N(
			  1, "") ", " SITE_N(2, "") "]}",
	    CONFIG_POPD,
	    "t.json:2:10: sites: flows.max (1) leaves no flow for each of "
	    "the 2 sites without flows_max\n");
	expect_errors("{\"flows\": {\"max\": 10},\n\"sites\": [" SITE_N(
			  1, ", \"flows_max\": 0") "]}",
	    CONFIG_POPD,
	    "t.json:2:81: sites[0].flows_max: must be 1..67108864, got 0\n");
	/* socketd has no pool to share. */
	expect_socketd("{\"site\": \"s\", \"links\": [" LINK1 "], "
		       "\"flows\": {\"site_max\": 5}}",
	    "t.json:1:106: flows.site_max: unknown key\n");
}
END_TEST

START_TEST(replay_kind)
{
	struct config *conf;

	/* replay opens no sockets: no site, no device needed. */
	conf = parse_ok("{\"links\": [{\"name\": \"A\", \"up_mbps\": 5, "
			"\"down_mbps\": 1}]}",
	    CONFIG_REPLAY);
	ck_assert_str_eq(conf->site, "");
	ck_assert_int_eq(conf->kind, CONFIG_REPLAY);
	ck_assert_uint_eq(conf->nroutes, 2);
	config_free(conf);
}
END_TEST

START_TEST(positions)
{
	/* Columns count characters, as jansson's do. */
	expect_socketd("{\"site\": \"Zürich\", \"links\": 5}",
	    "t.json:1:29: links: must be an array, got integer\n");
	/* An escaped key is the same key; odd keys are quoted in paths. */
	expect_socketd("{\"site\": \"s\", \"li\\u006eks\": [{\"name\": \"W\", "
		       "\"device\": \"e\", \"up_mbps\": 0, \"down_mbps\": 1, "
		       "\"a.b\\n\": 1}]}",
	    "t.json:1:70: links[0].up_mbps: must be 1..1000000, got 0\n"
	    "t.json:1:89: links[0][\"a.b\\n\"]: unknown key\n");
	/* Deep nesting is refused, not recursed into. */
	{
		char s[300];
		int  i;

		strcpy(s, "{\"x\": ");
		for (i = 0; i < 70; i++)
			strcat(s, "[");
		for (i = 0; i < 70; i++)
			strcat(s, "]");
		strcat(s, "}");
		expect_socketd(s,
		    "t.json:1:70: (syntax): nested more than 64 "
		    "levels deep\n");
	}
}
END_TEST

START_TEST(many_routes)
{
	struct config *conf;
	char          *s, *p;
	size_t         i, n = 5000;

	ck_assert_ptr_nonnull(s = malloc(200 + n * 64));
	p = s +
	    sprintf(s,
		"{\"site\": \"s\", \"links\": [" LINK1 "],\n"
		"\"routes\": [");
	for (i = 0; i < n; i++)
		p += sprintf(p,
		    "%s\n{\"network\": \"10.%zu.%zu.0/24\", "
		    "\"link\": \"WAN1\"}",
		    i ? "," : "", i / 256, i % 256);
	strcpy(p, "]}");
	conf = parse_ok(s, CONFIG_SOCKETD);
	ck_assert_uint_eq(conf->nroutes, n);
	config_free(conf);

	/* The last one is found where it is. */
	p = strstr(s, "\"WAN1\"}]}");
	memcpy(p, "\"WAN9\"", 6);
	expect_socketd(s,
	    "t.json:5002:39: routes[4999].link: no link named "
	    "\"WAN9\"\n");
	free(s);
}
END_TEST

/* ------------------------------------------------------------ robustness */

/* Never a crash, never a config with errors or NULL without one. */
static void
parse_any(const char *text, size_t len, enum config_kind kind)
{
	struct config_errors e = {0};
	struct config       *conf;

	conf = config_parse(text, len, "t.json", kind, &e);
	ck_assert_msg((conf == NULL) == (e.n > 0),
	    "len %zu: conf %p, %zu "
	    "errors",
	    len, (void *)conf, e.n);
	config_free(conf);
	config_errors_clear(&e);
}

START_TEST(truncated)
{
	static const struct {
		const char      *file;
		enum config_kind kind;
	} files[] = {
	    {"etc/socketd.json", CONFIG_SOCKETD},
	    {"etc/popd.json", CONFIG_POPD},
	};
	struct config_errors e = {0};
	char                 path[1100], *text;
	size_t               i, len, cut;

	for (i = 0; i < NITEMS(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", srcdir, files[i].file);
		text = slurp(path, &len);
		for (cut = 0; cut < len; cut++)
			parse_any(text, cut, files[i].kind);
		/* A prefix that ends inside the root object is never OK. */
		for (cut = 0; cut < len - 2; cut++) {
			ck_assert_ptr_null(config_parse(
			    text, cut, "t.json", files[i].kind, &e));
			ck_assert_uint_eq(e.n, 1);
			config_errors_clear(&e);
		}
		free(text);
	}
}
END_TEST

START_TEST(garbage)
{
	static const char *const samples[] = {
	    "\0\0\0\0",
	    "\xff\xfe{}",
	    "{\"site\": \"\xc3\x28\"}",
	    "{\"a\": \"\\ud800\"}",
	    "{\"a\": 1e999}",
	    "{\"a\": 99999999999999999999}",
	    "nul",
	    "{\"links\": [1, [2]]}",
	    "{\"site\": \"s\", \"links\": [null, true, \"x\", 1.5]}",
	    "\xef\xbb\xbf{}",
	};
	char     buf[512];
	uint32_t x = 1;
	size_t   i, j, n;

	for (i = 0; i < NITEMS(samples); i++) {
		parse_any(samples[i], strlen(samples[i]) + (i == 0 ? 4 : 0),
		    CONFIG_SOCKETD);
		parse_any(samples[i], strlen(samples[i]), CONFIG_POPD);
	}
	/* Random bytes, and random bytes from the JSON alphabet. */
	for (i = 0; i < 20000; i++) {
		n = i % sizeof(buf);
		for (j = 0; j < n; j++) {
			x = x * 1103515245 + 12345;
			buf[j] = i % 2
			    ? (char)(x >> 16)
			    : "{}[]\",:0123456789 \"aenu-."[(x >> 16) % 26];
		}
		parse_any(buf, n, (enum config_kind)(i % 3));
	}
}
END_TEST

START_TEST(oversized)
{
	struct config_errors e = {0};
	struct config       *conf;
	char                *text;
	size_t               len = CONFIG_MAX_BYTES;

	/* Exactly the limit loads; one byte more does not. */
	ck_assert_ptr_nonnull(text = malloc(len + 1));
	memset(text, ' ', len + 1);
	memcpy(text, "{\"site\": \"s\", \"links\": [" LINK1 "]}",
	    strlen("{\"site\": \"s\", \"links\": [" LINK1 "]}"));
	conf = config_parse(text, len, "big.json", CONFIG_REPLAY, &e);
	ck_assert_ptr_nonnull(conf);
	config_free(conf);
	conf = config_parse(text, len + 1, "big.json", CONFIG_REPLAY, &e);
	ck_assert_ptr_null(conf);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_str_eq(
	    e.lines[0], "big.json:0:0: (file): larger than 1048576 bytes");
	config_errors_clear(&e);
	free(text);
}
END_TEST

START_TEST(load_files)
{
	struct config_errors e = {0};
	struct config       *conf;
	char                 path[1100];

	snprintf(path, sizeof(path), "%s/etc/socketd.json", srcdir);
	conf = config_load(path, CONFIG_SOCKETD, &e);
	ck_assert_msg(conf != NULL, "%s: %s", path, e.n ? e.lines[0] : "");
	ck_assert_str_eq(conf->file, path);
	ck_assert_uint_ge(conf->nlinks, 2);
	config_free(conf);
	/* replay reads the daemon's file too. */
	conf = config_load(path, CONFIG_REPLAY, &e);
	ck_assert_ptr_nonnull(conf);
	config_free(conf);

	snprintf(path, sizeof(path), "%s/etc/popd.json", srcdir);
	conf = config_load(path, CONFIG_POPD, &e);
	ck_assert_msg(conf != NULL, "%s: %s", path, e.n ? e.lines[0] : "");
	ck_assert_uint_ge(conf->nsites, 2);
	config_free(conf);

	ck_assert_ptr_null(
	    config_load("/nonexistent/socketd.json", CONFIG_SOCKETD, &e));
	ck_assert_uint_eq(e.n, 1);
	ck_assert_str_eq(e.lines[0],
	    "/nonexistent/socketd.json:0:0: (file): "
	    "cannot open: No such file or directory");
	/* Errors accumulate until cleared. */
	ck_assert_ptr_null(config_load(srcdir, CONFIG_SOCKETD, &e));
	ck_assert_uint_eq(e.n, 2);
	config_errors_clear(&e);
	ck_assert_uint_eq(e.n, 0);
	config_errors_clear(&e);
	config_errors_clear(NULL);
	config_free(NULL);
}
END_TEST

/* Every tests/data/config/bad-*.json gives exactly its .expect lines. */
START_TEST(data_configs)
{
	struct config_errors e = {0};
	struct config       *conf;
	struct dirent       *de;
	enum config_kind     kind;
	char                 dir[1100], path[1400], *text, *want, *got;
	size_t               len, nbad = 0, ngood = 0;
	DIR                 *d;

	snprintf(dir, sizeof(dir), "%s/tests/data/config", srcdir);
	ck_assert_msg((d = opendir(dir)) != NULL, "no %s", dir);
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		kind = strstr(de->d_name, "popd") != NULL ? CONFIG_POPD
							  : CONFIG_SOCKETD;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		text = slurp(path, &len);
		conf = config_parse(text, len, de->d_name, kind, &e);
		got = joined(&e);
		if (strncmp(de->d_name, "good-", 5) == 0) {
			ck_assert_msg(conf != NULL, "%s:\n%s", de->d_name, got);
			ngood++;
		} else if (strncmp(de->d_name, "bad-", 4) == 0) {
			snprintf(path + strlen(path) - 5, 8, ".expect");
			want = slurp(path, NULL);
			ck_assert_msg(conf == NULL, "%s accepted", de->d_name);
			ck_assert_msg(strcmp(got, want) == 0,
			    "%s:\nwant:\n%sgot:\n%s", de->d_name, want, got);
			free(want);
			nbad++;
		}
		config_free(conf);
		config_errors_clear(&e);
		free(got);
		free(text);
	}
	closedir(d);
	ck_assert_uint_ge(nbad, 10);
	ck_assert_uint_ge(ngood, 2);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, unknown_key);
	tcase_add_test(tc, wrong_type);
	tcase_add_test(tc, out_of_range);
	tcase_add_test(tc, enum_value);
	tcase_add_test(tc, dangling_references);
	tcase_add_test(tc, duplicate_names);
	tcase_add_test(tc, host_bits);
	tcase_add_test(tc, weight_zero);
	tcase_add_test(tc, too_many_links);
	tcase_add_test(tc, missing_keys);
	tcase_add_test(tc, daemon_keys);
	tcase_add_test(tc, metrics_listen);
	tcase_add_test(tc, popd_limits);
	tcase_add_test(tc, syntax_error);
	tcase_add_test(tc, errors_in_file_order);
	tcase_add_test(tc, stickiness_options);
	tcase_add_test(tc, positions);
	tcase_add_test(tc, many_routes);
	suite_add_tcase(s, tc);

	tc = tcase_create("values");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, values);
	tcase_add_test(tc, implicit_routes_and_profile);
	tcase_add_test(tc, popd_kind);
	tcase_add_test(tc, popd_flow_caps);
	tcase_add_test(tc, replay_kind);
	suite_add_tcase(s, tc);

	tc = tcase_create("robustness");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, truncated);
	tcase_add_test(tc, garbage);
	tcase_add_test(tc, oversized);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, load_files);
	tcase_add_test(tc, data_configs);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(config_suite());
}
