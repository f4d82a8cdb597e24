/*
 * popd.json's "cluster" section (common/config-cluster.c): what a valid
 * one gives, every error it can draw with its position, sections cut
 * short, too large and garbled, the refusal of a reload that changes it,
 * and the cluster's CPG message (proto/clustersync.c) the same ways.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_config.h"
#include "clustersync.h"
#include "config.h"
#include "reload.h"
#include "check_run.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

#define SITE_A                                                                 \
	"\"sites\": [{\"name\": \"a\", \"identity\": \"a\", "                  \
	"\"lan\": [\"10.0.0.0/8\"]}]"
#define MEMBERS3                                                               \
	"\"members\": [{\"node\": 1, \"address\": \"198.18.50.1\"}, "          \
	"{\"node\": 2, \"address\": \"198.18.50.2\"}, "                        \
	"{\"node\": 3, \"address\": \"198.18.50.3\"}]"
#define CLUSTER_OK                                                             \
	"\"cluster\": {\"node\": 2, \"key_file\": \"cluster.key\", " MEMBERS3  \
	"}"

static void
expect_popd(const char *json, const char *want)
{
	expect_errors(json, CONFIG_POPD, want);
}

START_TEST(exact)
{
	struct config *c;
	char           a[ADDR_STRLEN];

	/* Without the section: no cluster, as before. */
	c = parse_ok("{" SITE_A "}", CONFIG_POPD);
	ck_assert_int_eq(c->cluster.enabled, 0);
	ck_assert_ptr_null(c->cluster.members);
	config_free(c);

	/* The defaults: group "wanpair", port 18462, this node's address
	 * from its member entry; key_file relative to the file. */
	c = parse_ok("{" SITE_A ", " CLUSTER_OK "}", CONFIG_POPD);
	ck_assert_int_eq(c->cluster.enabled, 1);
	ck_assert_uint_eq(c->cluster.node, 2);
	ck_assert_str_eq(c->cluster.group, "wanpair");
	ck_assert_uint_eq(c->cluster.port, 18462);
	ck_assert_str_eq(c->cluster.key_file, "cluster.key");
	ck_assert_str_eq(
	    addr_ntop(&c->cluster.address, a, sizeof(a)), "198.18.50.2");
	ck_assert_uint_eq(c->cluster.nmembers, 3);
	ck_assert_uint_eq(c->cluster.members[2].node, 3);
	ck_assert_ptr_eq(
	    config_cluster_member(&c->cluster, 3), &c->cluster.members[2]);
	ck_assert_ptr_null(config_cluster_member(&c->cluster, 4));
	config_free(c);

	/* Every key set, at the ends of the ranges; IPv6. */
	c = parse_ok("{" SITE_A ", \"cluster\": {\"node\": 255, \"group\": "
		     "\"pop-fra.1\", \"key_file\": \"/etc/k\", \"address\": "
		     "\"2001:db8::ff\", \"port\": 65535, \"members\": "
		     "[{\"node\": 1, \"address\": \"2001:db8::1\"}, "
		     "{\"node\": 255, \"address\": \"2001:db8::ff\"}]}}",
	    CONFIG_POPD);
	ck_assert_uint_eq(c->cluster.node, 255);
	ck_assert_str_eq(c->cluster.group, "pop-fra.1");
	ck_assert_uint_eq(c->cluster.port, 65535);
	ck_assert_str_eq(c->cluster.key_file, "/etc/k");
	ck_assert_int_eq(c->cluster.address.family, AF_INET6);
	config_free(c);
}
END_TEST

START_TEST(errors)
{
	expect_popd("{" SITE_A ",\n\"cluster\": {\"node\": 0, \"group\": "
		    "\"a b\", \"key_file\": \"\",\n\"port\": 0, \"adress\": "
		    "\"x\", \"members\": []}}",
	    "t.json:2:21: cluster.node: must be 1..255, got 0\n"
	    "t.json:2:33: cluster.group: must contain only letters, digits, "
	    "\"_\", \".\" and \"-\"; got \"a b\"\n"
	    "t.json:2:52: cluster.key_file: must be a path of 1..4095 bytes\n"
	    "t.json:3:9: cluster.port: must be 1..65535, got 0\n"
	    "t.json:3:12: cluster.adress: unknown key (did you mean "
	    "\"address\"?)\n"
	    "t.json:3:38: cluster.members: must have 1..32 members, got 0\n");
	expect_popd("{" SITE_A ",\n\"cluster\": {}}",
	    "t.json:2:12: cluster: missing key \"node\"\n"
	    "t.json:2:12: cluster: missing key \"key_file\"\n"
	    "t.json:2:12: cluster: missing key \"members\"\n");
	expect_popd("{" SITE_A ",\n\"cluster\": [1]}",
	    "t.json:2:12: cluster: must be an object, got array\n");
	/* Members: objects with both keys, unique, one family. */
	expect_popd("{" SITE_A ",\n\"cluster\": {\"node\": 1, \"key_file\": "
		    "\"k\", \"members\": [\n"
		    "{\"node\": 1, \"address\": \"198.18.50.1\"},\n"
		    "1,\n"
		    "{\"address\": \"198.18.50.3\", \"name\": \"x\"},\n"
		    "{\"node\": 1, \"address\": \"198.18.50.4\"},\n"
		    "{\"node\": 5, \"address\": \"198.18.50.1\"},\n"
		    "{\"node\": 6, \"address\": \"2001:db8::6\"},\n"
		    "{\"node\": 7, \"address\": \"pop7.example\"},\n"
		    "{\"node\": 256, \"address\": \"198.18.50.8\"}]}}",
	    "t.json:4:1: cluster.members[1]: must be an object, got integer\n"
	    "t.json:5:1: cluster.members[2]: missing key \"node\"\n"
	    "t.json:5:28: cluster.members[2].name: unknown key\n"
	    "t.json:6:10: cluster.members[3].node: node 1 is members[0] "
	    "already\n"
	    "t.json:7:24: cluster.members[4].address: 198.18.50.1 is "
	    "members[0]'s address already\n"
	    "t.json:8:24: cluster.members[5].address: must be IPv4, as "
	    "members[0].address is: one address family for the whole "
	    "cluster\n"
	    "t.json:9:24: cluster.members[6].address: must be an IP "
	    "address, got \"pop7.example\"\n"
	    "t.json:10:10: cluster.members[7].node: must be 1..255, got "
	    "256\n");
	/* This node among the members, at its own address. */
	expect_popd("{" SITE_A ",\n\"cluster\": {\"node\": 4, \"key_file\": "
		    "\"k\", " MEMBERS3 "}}",
	    "t.json:2:21: cluster.node: node 4 is not among \"members\": "
	    "every node, this one too, is listed there with its address\n");
	expect_popd("{" SITE_A ",\n\"cluster\": {\"node\": 3, \"key_file\": "
		    "\"k\", \"address\": \"198.18.50.9\", " MEMBERS3 "}}",
	    "t.json:2:52: cluster.address: must be this node's address in "
	    "\"members\" (members[2].address, 198.18.50.3); got "
	    "198.18.50.9\n");
	/* socketd has no cluster. */
	expect_socketd("{\"site\": \"s\", \"links\": [" LINK1 "], "
		       "\"cluster\": {}}",
	    "t.json:1:96: cluster: unknown key\n");
}
END_TEST

/* Every prefix of a valid section that ends inside it is refused with
 * one error, never half a cluster. */
START_TEST(truncated)
{
	const char           text[] = "{" SITE_A ", " CLUSTER_OK "}";
	struct config_errors e = {0};
	struct config       *c;
	size_t               cut, start = strlen("{" SITE_A ", ");

	for (cut = start; cut < sizeof(text) - 2; cut++) {
		c = config_parse(text, cut, "t.json", CONFIG_POPD, &e);
		ck_assert_msg(c == NULL, "cut at %zu accepted", cut);
		ck_assert_uint_eq(e.n, 1);
		config_errors_clear(&e);
	}
}
END_TEST

START_TEST(oversized)
{
	char  *json, *p;
	size_t i;

	/* 33 members: one more than a cluster may have. */
	json = malloc(8192);
	ck_assert_ptr_nonnull(json);
	p = json +
	    sprintf(json,
		"{" SITE_A ",\n\"cluster\": {\"node\": 1, "
		"\"key_file\": \"k\", \"members\": [");
	for (i = 1; i <= 33; i++)
		p +=
		    sprintf(p, "%s{\"node\": %zu, \"address\": \"10.9.0.%zu\"}",
			i > 1 ? ", " : "", i, i);
	strcpy(p, "]}}");
	expect_popd(json,
	    "t.json:2:52: cluster.members: must have 1..32 members, got 33\n");
	free(json);
	/* A group corosync cannot hold (struct cpg_name: 128 bytes). */
	json = malloc(1024);
	ck_assert_ptr_nonnull(json);
	p = json + sprintf(json, "{" SITE_A ",\n\"cluster\": {\"group\": \"");
	memset(p, 'g', 128);
	strcpy(p + 128, "\", \"node\": 1, \"key_file\": \"k\", " MEMBERS3 "}}");
	expect_popd(json,
	    "t.json:2:22: cluster.group: must be 1..127 characters long, got "
	    "128\n");
	free(json);
	expect_popd("{" SITE_A ",\n\"cluster\": {\"node\": 4294967297, "
		    "\"key_file\": \"k\", " MEMBERS3 "}}",
	    "t.json:2:21: cluster.node: must be 1..255, got 4294967297\n");
}
END_TEST

/* Random bytes put in place of each byte of the section: refused or
 * accepted, never a crash or a leak (ASan), and never accepted with
 * an error. */
START_TEST(garbage)
{
	const char           base[] = "{" SITE_A ", " CLUSTER_OK "}";
	char                 text[sizeof(base)];
	struct config_errors e = {0};
	struct config       *c;
	uint32_t             x = 7;
	size_t               i, at, start = strlen("{" SITE_A ", ");

	for (i = 0; i < 20000; i++) {
		memcpy(text, base, sizeof(base));
		x = x * 1103515245 + 12345;
		at = start + (x >> 8) % (sizeof(base) - 1 - start);
		x = x * 1103515245 + 12345;
		text[at] = i % 2
		    ? (char)(x >> 16)
		    : "{}[]\",:0123456789 \"aenu-."[(x >> 16) % 26];
		c = config_parse(
		    text, sizeof(base) - 1, "t.json", CONFIG_POPD, &e);
		ck_assert((c == NULL) == (e.n > 0));
		config_free(c);
		config_errors_clear(&e);
	}
}
END_TEST

/* A reload may not change the cluster: one refusal naming the key. */
START_TEST(reload_refused)
{
	static const struct {
		const char *section, *path;
	} cases[] = {
	    {"", "cluster"},
	    {", \"cluster\": {\"node\": 1, \"key_file\": "
	     "\"cluster.key\", " MEMBERS3 "}",
		"cluster.node"},
	    {", \"cluster\": {\"node\": 2, \"group\": \"x\", \"key_file\": "
	     "\"cluster.key\", " MEMBERS3 "}",
		"cluster.group"},
	    {", \"cluster\": {\"node\": 2, \"key_file\": "
	     "\"other.key\", " MEMBERS3 "}",
		"cluster.key_file"},
	    {", \"cluster\": {\"node\": 2, \"port\": 1, \"key_file\": "
	     "\"cluster.key\", " MEMBERS3 "}",
		"cluster.port"},
	    {", \"cluster\": {\"node\": 2, \"key_file\": \"cluster.key\", "
	     "\"members\": [{\"node\": 2, \"address\": \"198.18.50.2\"}]}",
		"cluster.members"},
	    {", \"cluster\": {\"node\": 2, \"key_file\": \"cluster.key\", "
	     "\"members\": [{\"node\": 1, \"address\": \"198.18.50.7\"}, "
	     "{\"node\": 2, \"address\": \"198.18.50.2\"}, "
	     "{\"node\": 3, \"address\": \"198.18.50.3\"}]}",
		"cluster.members"},
	};
	struct reload_where  w = {"t.json", NULL};
	struct config_errors errs = {0};
	struct config       *o, *n;
	char                 json[1024], want[256];
	size_t               i;

	o = parse_ok("{" SITE_A ", " CLUSTER_OK "}", CONFIG_POPD);
	/* The same section again: nothing to refuse. */
	n = parse_ok("{" SITE_A ", " CLUSTER_OK "}", CONFIG_POPD);
	ck_assert_ptr_null(config_cluster_diff(&o->cluster, &n->cluster));
	ck_assert_int_eq(reload_fixed_keys(o, n, "listen", &w, &errs), 0);
	ck_assert_uint_eq(errs.n, 0);
	config_free(n);
	for (i = 0; i < NITEMS(cases); i++) {
		snprintf(
		    json, sizeof(json), "{" SITE_A "%s}", cases[i].section);
		n = parse_ok(json, CONFIG_POPD);
		ck_assert_str_eq(config_cluster_diff(&o->cluster, &n->cluster),
		    cases[i].path);
		ck_assert_int_eq(
		    reload_fixed_keys(o, n, "listen", &w, &errs), -1);
		ck_assert_uint_eq(errs.n, 1);
		snprintf(want, sizeof(want),
		    "t.json:0:0: %s: changing it needs a restart",
		    cases[i].path);
		ck_assert_str_eq(errs.lines[0], want);
		config_errors_clear(&errs);
		config_free(n);
	}
	config_free(o);
}
END_TEST

/* ------------------------------------------------------------ clustersync */

static const struct clustersync_hello hello4 = {
    .node = 2,
    .incarnation = 0xdeadbeef,
    .port = 18462,
    .address = {AF_INET, {198, 18, 50, 2}},
};

START_TEST(sync_exact)
{
	struct clustersync_hello h, v6 = hello4;
	uint8_t                  buf[CLUSTERSYNC_MAX_LEN];
	static const uint8_t want[CLUSTERSYNC_HELLO_LEN] = {1, 1, 0, 0, 0, 0, 0,
	    2, 0xde, 0xad, 0xbe, 0xef, 0x48, 0x1e, 4, 0, 198, 18, 50, 2};

	ck_assert_int_eq(clustersync_hello_encode(&hello4, buf, sizeof(buf)),
	    CLUSTERSYNC_HELLO_LEN);
	ck_assert_mem_eq(buf, want, sizeof(want));
	ck_assert_int_eq(
	    clustersync_type(buf, CLUSTERSYNC_HELLO_LEN), CLUSTERSYNC_HELLO);
	ck_assert_int_eq(
	    clustersync_hello_decode(buf, CLUSTERSYNC_HELLO_LEN, &h),
	    CLUSTERSYNC_OK);
	ck_assert_mem_eq(&h, &hello4, sizeof(h));

	v6.address.family = AF_INET6;
	memset(v6.address.a, 0x20, 16);
	ck_assert_int_eq(clustersync_hello_encode(&v6, buf, sizeof(buf)),
	    CLUSTERSYNC_HELLO_LEN);
	ck_assert_int_eq(
	    clustersync_hello_decode(buf, CLUSTERSYNC_HELLO_LEN, &h),
	    CLUSTERSYNC_OK);
	ck_assert_mem_eq(&h.address, &v6.address, sizeof(h.address));
	/* Too small a buffer, or no address: nothing to send. */
	ck_assert_int_eq(
	    clustersync_hello_encode(&hello4, buf, CLUSTERSYNC_HELLO_LEN - 1),
	    -1);
	v6.address.family = 0;
	ck_assert_int_eq(clustersync_hello_encode(&v6, buf, sizeof(buf)), -1);
}
END_TEST

START_TEST(sync_truncated_oversized)
{
	struct clustersync_hello h;
	uint8_t                  buf[CLUSTERSYNC_HELLO_LEN + 1];
	size_t                   len;

	ck_assert_int_eq(clustersync_hello_encode(&hello4, buf, sizeof(buf)),
	    CLUSTERSYNC_HELLO_LEN);
	for (len = 0; len < CLUSTERSYNC_HDR_LEN; len++)
		ck_assert_int_eq(
		    clustersync_hello_decode(buf, len, &h), CLUSTERSYNC_ESHORT);
	for (; len < CLUSTERSYNC_HELLO_LEN; len++)
		ck_assert_int_eq(clustersync_hello_decode(buf, len, &h),
		    CLUSTERSYNC_ELENGTH);
	buf[CLUSTERSYNC_HELLO_LEN] = 0;
	ck_assert_int_eq(
	    clustersync_hello_decode(buf, CLUSTERSYNC_HELLO_LEN + 1, &h),
	    CLUSTERSYNC_ELENGTH);
}
END_TEST

START_TEST(sync_garbage)
{
	static const struct {
		size_t  at;
		uint8_t v;
		int     want;
	} cases[] = {
	    {0, 2, CLUSTERSYNC_EVERSION}, /* another version */
	    {1, 2, CLUSTERSYNC_ETYPE},    /* a type not yet defined */
	    {1, 0, CLUSTERSYNC_ETYPE}, {3, 1, CLUSTERSYNC_EVALUE}, /* flags */
	    {7, 0, CLUSTERSYNC_EVALUE},                            /* node 0 */
	    {13, 0, CLUSTERSYNC_EVALUE}, /* port 0 (with byte 12 0) */
	    {14, 5, CLUSTERSYNC_EVALUE}, /* family */
	    {15, 1, CLUSTERSYNC_EVALUE}, /* the zero byte */
	    {20, 1, CLUSTERSYNC_EVALUE}, /* IPv4 with bytes after it */
	};
	struct clustersync_hello h;
	uint8_t                  buf[CLUSTERSYNC_HELLO_LEN], g[64];
	uint32_t                 x = 3;
	size_t                   i, j, n;
	int                      r;

	for (i = 0; i < NITEMS(cases); i++) {
		ck_assert_int_eq(
		    clustersync_hello_encode(&hello4, buf, sizeof(buf)),
		    CLUSTERSYNC_HELLO_LEN);
		if (cases[i].at == 13)
			buf[12] = 0;
		buf[cases[i].at] = cases[i].v;
		memset(&h, 0xa5, sizeof(h));
		ck_assert_int_eq(clustersync_hello_decode(buf, sizeof(buf), &h),
		    cases[i].want);
		/* *h untouched on a refusal */
		ck_assert_uint_eq(h.node, 0xa5a5a5a5);
	}
	ck_assert_str_eq(clustersync_strerror(CLUSTERSYNC_EVALUE), "value");
	ck_assert_str_eq(clustersync_strerror(7), "?");
	/* Random messages: an error or a HELLO that encodes back to them. */
	for (i = 0; i < 100000; i++) {
		n = i % sizeof(g);
		for (j = 0; j < n; j++) {
			x = x * 1103515245 + 12345;
			g[j] = (uint8_t)(x >> 16);
		}
		if (n >= 2 && i % 3 == 0) {
			g[0] = CLUSTERSYNC_VERSION;
			g[1] = CLUSTERSYNC_HELLO;
		}
		if ((r = clustersync_hello_decode(g, n, &h)) != CLUSTERSYNC_OK)
			continue;
		ck_assert_int_eq(clustersync_hello_encode(&h, buf, sizeof(buf)),
		    CLUSTERSYNC_HELLO_LEN);
		ck_assert_mem_eq(buf, g, n);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("config_cluster");
	TCase *tc = tcase_create("cluster");

	tcase_add_test(tc, exact);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, truncated);
	tcase_add_test(tc, oversized);
	tcase_add_test(tc, garbage);
	tcase_add_test(tc, reload_refused);
	tcase_add_test(tc, sync_exact);
	tcase_add_test(tc, sync_truncated_oversized);
	tcase_add_test(tc, sync_garbage);
	suite_add_tcase(s, tc);
	return check_run(s);
}
