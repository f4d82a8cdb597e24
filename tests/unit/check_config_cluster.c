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
    .workers = 2,
    .address = {AF_INET, {198, 18, 50, 2}},
};

START_TEST(sync_exact)
{
	struct clustersync_hello h, v6 = hello4;
	uint8_t                  buf[CLUSTERSYNC_MAX_LEN];
	static const uint8_t want[CLUSTERSYNC_HELLO_LEN] = {1, 1, 0, 0, 0, 0, 0,
	    2, 0xde, 0xad, 0xbe, 0xef, 0x48, 0x1e, 4, 2, 198, 18, 50, 2};

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
	    {1, 2, CLUSTERSYNC_ETYPE},    /* a SESSION, not a HELLO */
	    {1, 0, CLUSTERSYNC_ETYPE}, {3, 1, CLUSTERSYNC_EVALUE}, /* flags */
	    {7, 0, CLUSTERSYNC_EVALUE},                            /* node 0 */
	    {13, 0, CLUSTERSYNC_EVALUE},  /* port 0 (with byte 12 0) */
	    {14, 5, CLUSTERSYNC_EVALUE},  /* family */
	    {1, 3, CLUSTERSYNC_ETYPE},    /* a type not yet defined */
	    {15, 0, CLUSTERSYNC_EVALUE},  /* no workers */
	    {15, 65, CLUSTERSYNC_EVALUE}, /* more than PROTO_MAX_WORKERS */
	    {20, 1, CLUSTERSYNC_EVALUE},  /* IPv4 with bytes after it */
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

/* ------------------------------------------------------------ SESSION */

/* Site 3 "branch-1", session 0x08000007 (position 1), 2 Socket workers,
 * slots of 2 worker bytes, 3 members: position 0 at slot 0,
 * position 1 at slot 2 (a restarted process's), position 2 not granted;
 * 2 links, keys filled with their index. */
static void
session_sample(struct clustersync_session *m)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	m->site = 3;
	snprintf(m->site_name, sizeof(m->site_name), "branch-1");
	m->id = 0x08000007;
	m->socket_workers = 2;
	m->slot_bytes = 2;
	m->nmembers = 3;
	m->nlinks = 2;
	m->grant[0] = 0x11111111;
	m->grant[1] = 0x22222222;
	m->slot[0] = 0;
	m->slot[1] = 2;
	m->slot[2] = CLUSTERSYNC_NO_SLOT;
	m->links[0].id = 0;
	snprintf(m->links[0].name, sizeof(m->links[0].name), "fiber");
	m->links[0].up_mbps = 100;
	m->links[0].down_mbps = 500;
	m->links[0].endpoint.family = AF_INET;
	memcpy(m->links[0].endpoint.a, (uint8_t[]){203, 0, 113, 7}, 4);
	m->links[0].port = 40000;
	m->links[1].id = 5;
	m->links[1].down = 1;
	snprintf(m->links[1].name, sizeof(m->links[1].name), "lte");
	m->links[1].up_mbps = 20;
	m->links[1].down_mbps = 50;
	for (i = 0; i < 6; i++) { /* 2 Socket bytes, 2 slots of 2 */
		m->keys[i].epoch = (uint32_t)i;
		memset(m->keys[i].key[0], (int)i, 32);
		memset(m->keys[i].key[1], (int)(0x80 + i), 32);
	}
}

#define SAMPLE_LEN                                                             \
	(CLUSTERSYNC_SESSION_FIXED + 8 + 3 * CLUSTERSYNC_GRANT_LEN +           \
	    2 * CLUSTERSYNC_SESSION_LINK + 6 * CLUSTERSYNC_SESSION_KEYS)

START_TEST(session_exact)
{
	static struct clustersync_session m, d;
	static uint8_t                    buf[CLUSTERSYNC_SESSION_BODY_MAX];
	static const uint8_t head[] = {0, 3, 8, 'b', 'r', 'a', 'n', 'c', 'h',
	    '-', '1', 0x08, 0, 0, 7, 2, 2, 3, 2, 0, 0x11, 0x11, 0x11, 0x11, 0,
	    0x22, 0x22, 0x22, 0x22, 2, 0, 0, 0, 0, 0xff, 0, 0, 'f'};
	uint8_t              hdr[CLUSTERSYNC_HDR_LEN];
	const uint8_t       *nonce, *sealed;
	size_t               n, i;
	static uint8_t       msg[CLUSTERSYNC_SESSION_MAX + 1];

	session_sample(&m);
	ck_assert_uint_eq(clustersync_session_len(&m), SAMPLE_LEN);
	ck_assert_int_eq(
	    clustersync_session_encode(&m, buf, sizeof(buf)), SAMPLE_LEN);
	ck_assert_mem_eq(buf, head, sizeof(head));
	ck_assert_int_eq(
	    clustersync_session_decode(buf, SAMPLE_LEN, &d), CLUSTERSYNC_OK);
	ck_assert_mem_eq(&d, &m, sizeof(d));
	/* Too small a buffer: nothing. */
	ck_assert_int_eq(
	    clustersync_session_encode(&m, buf, SAMPLE_LEN - 1), -1);
	/* The largest body is what CLUSTERSYNC_SESSION_BODY_MAX says. */
	memset(&m, 0, sizeof(m));
	memset(m.site_name, 'a', PROTO_SITE_MAX - 1);
	m.id = 1;
	m.socket_workers = PROTO_MAX_WORKERS;
	m.slot_bytes = 2; /* 32 slots, one a member: 64 keys */
	m.nmembers = CLUSTERSYNC_MEMBERS_MAX;
	for (i = 0; i < CLUSTERSYNC_MEMBERS_MAX; i++) {
		m.grant[i] = (uint32_t)i + 1;
		m.slot[i] = (uint8_t)(31 - i);
	}
	m.nlinks = PROTO_MAX_LINKS;
	for (i = 0; i < PROTO_MAX_LINKS; i++) {
		m.links[i].id = (uint8_t)i;
		snprintf(m.links[i].name, sizeof(m.links[i].name), "l%zu", i);
	}
	ck_assert_int_eq(clustersync_session_encode(&m, buf, sizeof(buf)),
	    CLUSTERSYNC_SESSION_BODY_MAX);
	ck_assert_int_eq(
	    clustersync_session_decode(buf, CLUSTERSYNC_SESSION_BODY_MAX, &d),
	    CLUSTERSYNC_OK);
	ck_assert_int_eq(CLUSTERSYNC_SESSION_MAX, 10927);
	/* The envelope: a SESSION header, a nonce, then what is sealed. */
	ck_assert_int_eq(clustersync_session_header(9, hdr, sizeof(hdr)),
	    CLUSTERSYNC_HDR_LEN);
	memset(msg, 0, sizeof(msg));
	memcpy(msg, hdr, sizeof(hdr));
	n = CLUSTERSYNC_SESSION_MAX;
	ck_assert_int_eq(clustersync_type(msg, n), CLUSTERSYNC_SESSION);
	ck_assert_int_eq(clustersync_envelope(msg, n, &nonce, &sealed, &i),
	    CLUSTERSYNC_SESSION);
	ck_assert_ptr_eq(nonce, msg + 8);
	ck_assert_ptr_eq(sealed, msg + 20);
	ck_assert_uint_eq(i, n - 20);
	ck_assert_int_eq(clustersync_envelope(msg, n + 1, &nonce, &sealed, &i),
	    CLUSTERSYNC_ELENGTH);
	ck_assert_int_eq(clustersync_envelope(msg, 40, &nonce, &sealed, &i),
	    CLUSTERSYNC_ELENGTH);
	/* A HELLO is no SESSION. */
	ck_assert_int_eq(clustersync_hello_encode(&hello4, msg, sizeof(msg)),
	    CLUSTERSYNC_HELLO_LEN);
	ck_assert_int_eq(clustersync_envelope(
			     msg, CLUSTERSYNC_HELLO_LEN, &nonce, &sealed, &i),
	    CLUSTERSYNC_ETYPE);
}
END_TEST

START_TEST(session_truncated_oversized)
{
	static struct clustersync_session m, d;
	static uint8_t                    buf[SAMPLE_LEN + 1];
	size_t                            len;

	session_sample(&m);
	ck_assert_int_eq(
	    clustersync_session_encode(&m, buf, sizeof(buf)), SAMPLE_LEN);
	/* Every shorter length is refused, never a partial result. */
	for (len = 0; len < SAMPLE_LEN; len++)
		ck_assert_int_lt(clustersync_session_decode(buf, len, &d), 0);
	buf[SAMPLE_LEN] = 0;
	ck_assert_int_eq(clustersync_session_decode(buf, SAMPLE_LEN + 1, &d),
	    CLUSTERSYNC_ELENGTH);
}
END_TEST

START_TEST(session_garbage)
{
	/* Byte offsets in the sample's body. */
	enum {
		NAMELEN = 2,
		ID = 11,
		SW = 15,
		WB = 16,
		NM = 17,
		NL = 18,
		FLAGS = 19,
		G0 = 20,                             /* first grant */
		L0 = G0 + 3 * CLUSTERSYNC_GRANT_LEN, /* first link */
		L1 = L0 + CLUSTERSYNC_SESSION_LINK,
		K0 = L0 + 2 * CLUSTERSYNC_SESSION_LINK
	};
	static const struct {
		size_t  at;
		uint8_t v;
		int     want;
	} cases[] = {
	    {NAMELEN, 0, CLUSTERSYNC_EVALUE},  /* no site name */
	    {NAMELEN, 64, CLUSTERSYNC_EVALUE}, /* too long a name */
	    {3, 0, CLUSTERSYNC_EVALUE},        /* a NUL in the name */
	    {ID + 3, 0, CLUSTERSYNC_EVALUE},   /* with bytes 11-13 0: id 0 */
	    {SW, 0, CLUSTERSYNC_EVALUE}, {SW, 65, CLUSTERSYNC_EVALUE},
	    {WB, 0, CLUSTERSYNC_EVALUE}, {WB, 65, CLUSTERSYNC_EVALUE},
	    {WB, 40, CLUSTERSYNC_EVALUE},       /* one slot: slot 2 past it */
	    {WB, 7, CLUSTERSYNC_ELENGTH},       /* 9 slots: 2 + 2 x 7 keys */
	    {G0 + 9, 32, CLUSTERSYNC_EVALUE},   /* a slot past 64 / W */
	    {G0 + 4, 2, CLUSTERSYNC_EVALUE},    /* a slot granted twice */
	    {G0 + 4, 0xff, CLUSTERSYNC_EVALUE}, /* an incarnation, no slot */
	    {G0 + 14, 1, CLUSTERSYNC_EVALUE},   /* a slot, no incarnation */
	    {G0 + 13, 1, CLUSTERSYNC_EVALUE},   /* likewise, the other way */
	    {G0 + 4, 5, CLUSTERSYNC_OK},        /* another free slot */
	    {NM, 0, CLUSTERSYNC_EVALUE}, {NM, 33, CLUSTERSYNC_EVALUE},
	    {NL, 33, CLUSTERSYNC_EVALUE}, {NL, 3, CLUSTERSYNC_ELENGTH},
	    {FLAGS, 2, CLUSTERSYNC_EVALUE}, /* a flag not defined */
	    {FLAGS, CLUSTERSYNC_DETACHED, CLUSTERSYNC_OK},
	    {L1, 0, CLUSTERSYNC_EVALUE},        /* a link id twice */
	    {L0, 32, CLUSTERSYNC_EVALUE},       /* a link id past 31 */
	    {L0 + 1, 2, CLUSTERSYNC_EVALUE},    /* down not 0 or 1 */
	    {L0 + 2, 0, CLUSTERSYNC_EVALUE},    /* an empty link name */
	    {L0 + 33, 'x', CLUSTERSYNC_EVALUE}, /* not NUL-terminated */
	    {L0 + 10, 'x', CLUSTERSYNC_EVALUE}, /* bytes after its NUL */
	    {L0 + 42, 5, CLUSTERSYNC_EVALUE},   /* endpoint family */
	    {L0 + 50, 1, CLUSTERSYNC_EVALUE},   /* IPv4 with more bytes */
	    {L1 + 42, 0, CLUSTERSYNC_OK},       /* (none already) */
	    {L1 + 44, 1, CLUSTERSYNC_EVALUE},   /* no endpoint, a port */
	    {L1 + 50, 1, CLUSTERSYNC_EVALUE},   /* no endpoint, an address */
	};
	static struct clustersync_session m, d;
	static uint8_t                    buf[SAMPLE_LEN], g[SAMPLE_LEN];
	uint32_t                          x = 7;
	size_t                            i, j, n;

	session_sample(&m);
	for (i = 0; i < NITEMS(cases); i++) {
		ck_assert_int_eq(
		    clustersync_session_encode(&m, buf, sizeof(buf)),
		    SAMPLE_LEN);
		if (cases[i].at == ID + 3)
			buf[ID] = buf[ID + 1] = buf[ID + 2] = 0;
		buf[cases[i].at] = cases[i].v;
		ck_assert_msg(clustersync_session_decode(buf, SAMPLE_LEN, &d) ==
			cases[i].want,
		    "case %zu", i);
	}
	/* An epoch with no next one. */
	ck_assert_int_eq(
	    clustersync_session_encode(&m, buf, sizeof(buf)), SAMPLE_LEN);
	memset(buf + K0, 0xff, 4);
	ck_assert_int_eq(clustersync_session_decode(buf, SAMPLE_LEN, &d),
	    CLUSTERSYNC_EVALUE);
	/* The encoder refuses what the decoder would. */
	m.links[1].id = 0;
	ck_assert_int_eq(clustersync_session_encode(&m, buf, sizeof(buf)), -1);
	session_sample(&m);
	m.keys[3].epoch = UINT32_MAX;
	ck_assert_int_eq(clustersync_session_encode(&m, buf, sizeof(buf)), -1);
	session_sample(&m);
	m.slot[0] = 2;
	ck_assert_int_eq(clustersync_session_encode(&m, buf, sizeof(buf)), -1);
	session_sample(&m);
	m.slot[2] = 0; /* not granted: NO_SLOT */
	ck_assert_int_eq(clustersync_session_encode(&m, buf, sizeof(buf)), -1);
	/* Random bodies, and the sample with random bytes changed: an error
	 * or a body that encodes back to the same bytes. */
	session_sample(&m);
	ck_assert_int_eq(
	    clustersync_session_encode(&m, buf, sizeof(buf)), SAMPLE_LEN);
	for (i = 0; i < 20000; i++) {
		if (i % 2 == 0) {
			n = i % sizeof(g);
			for (j = 0; j < n; j++) {
				x = x * 1103515245 + 12345;
				g[j] = (uint8_t)(x >> 16);
			}
		} else {
			n = SAMPLE_LEN;
			memcpy(g, buf, n);
			x = x * 1103515245 + 12345;
			g[(x >> 8) % n] = (uint8_t)(x >> 20);
		}
		if (clustersync_session_decode(g, n, &d) != CLUSTERSYNC_OK)
			continue;
		ck_assert_int_eq(
		    clustersync_session_encode(&d, buf, sizeof(buf)), (int)n);
		ck_assert_mem_eq(buf, g, n);
		ck_assert_int_eq(
		    clustersync_session_encode(&m, buf, sizeof(buf)),
		    SAMPLE_LEN);
	}
}
END_TEST

/* WANT: a member asks the holder for the keys after the epochs it is at. */
START_TEST(want_codec)
{
	static const uint8_t want[] = {
	    0, 3, 0x08, 0, 0, 7, 2, 1, 0, 0, 0, 0, 4, 0, 5, 0, 0, 0, 1};
	static const struct {
		size_t  at;
		uint8_t v;
		int     want;
	} cases[] = {
	    {5, 0, CLUSTERSYNC_EVALUE},   /* with bytes 2-4 0: id 0 */
	    {6, 0, CLUSTERSYNC_EVALUE},   /* no entry */
	    {6, 129, CLUSTERSYNC_EVALUE}, /* too many */
	    {6, 3, CLUSTERSYNC_ELENGTH},  /* more than there are */
	    {7, 2, CLUSTERSYNC_EVALUE},   /* a direction not 0 or 1 */
	    {8, 64, CLUSTERSYNC_EVALUE},  /* a worker byte past 63 */
	};
	struct clustersync_want w, d;
	uint8_t                 buf[CLUSTERSYNC_WANT_BODY_MAX + 1], g[64];
	uint32_t                x = 11;
	size_t                  i, j, n;
	static uint8_t          env[36 + CLUSTERSYNC_WANT_BODY_MAX + 1];
	const uint8_t          *nonce, *sealed;

	memset(&w, 0, sizeof(w));
	w.site = 3;
	w.id = 0x08000007;
	w.n = 2;
	w.e[0].up = 1;
	w.e[0].epoch = 4;
	w.e[1].byte = 5;
	w.e[1].epoch = 1;
	ck_assert_int_eq(
	    clustersync_want_encode(&w, buf, sizeof(buf)), (int)sizeof(want));
	ck_assert_mem_eq(buf, want, sizeof(want));
	ck_assert_int_eq(
	    clustersync_want_decode(buf, sizeof(want), &d), CLUSTERSYNC_OK);
	ck_assert_mem_eq(&d, &w, sizeof(d));
	ck_assert_int_eq(
	    clustersync_want_encode(&w, buf, sizeof(want) - 1), -1);
	/* Truncated, one byte more. */
	for (n = 0; n < sizeof(want); n++)
		ck_assert_int_lt(clustersync_want_decode(want, n, &d), 0);
	memcpy(buf, want, sizeof(want));
	buf[sizeof(want)] = 0;
	ck_assert_int_eq(clustersync_want_decode(buf, sizeof(want) + 1, &d),
	    CLUSTERSYNC_ELENGTH);
	/* The largest. */
	w.n = CLUSTERSYNC_WANT_MAX_ENTRIES;
	ck_assert_int_eq(clustersync_want_encode(&w, buf, sizeof(buf)),
	    CLUSTERSYNC_WANT_BODY_MAX);
	w.n = CLUSTERSYNC_WANT_MAX_ENTRIES + 1;
	ck_assert_int_eq(clustersync_want_encode(&w, buf, sizeof(buf)), -1);
	/* Each field out of range; an epoch with no next one. */
	for (i = 0; i < NITEMS(cases); i++) {
		memcpy(buf, want, sizeof(want));
		if (cases[i].at == 5)
			buf[2] = 0;
		buf[cases[i].at] = cases[i].v;
		ck_assert_msg(clustersync_want_decode(buf, sizeof(want), &d) ==
			cases[i].want,
		    "case %zu", i);
	}
	memcpy(buf, want, sizeof(want));
	memset(buf + 9, 0xff, 4);
	ck_assert_int_eq(
	    clustersync_want_decode(buf, sizeof(want), &d), CLUSTERSYNC_EVALUE);
	/* Its envelope: 36 bytes around a body of 13 to 775. */
	memset(env, 0, sizeof(env));
	ck_assert_int_eq(
	    clustersync_sealed_header(CLUSTERSYNC_WANT, 2, env, 8), 8);
	ck_assert_int_eq(
	    clustersync_envelope(env, 36 + 13, &nonce, &sealed, &n),
	    CLUSTERSYNC_WANT);
	ck_assert_uint_eq(n, 13 + 16);
	ck_assert_int_eq(
	    clustersync_envelope(env, 36 + 12, &nonce, &sealed, &n),
	    CLUSTERSYNC_ELENGTH);
	ck_assert_int_eq(
	    clustersync_envelope(
		env, 36 + CLUSTERSYNC_WANT_BODY_MAX, &nonce, &sealed, &n),
	    CLUSTERSYNC_WANT);
	ck_assert_int_eq(
	    clustersync_envelope(
		env, 36 + CLUSTERSYNC_WANT_BODY_MAX + 1, &nonce, &sealed, &n),
	    CLUSTERSYNC_ELENGTH);
	/* Random bodies: an error, or one that encodes back to itself. */
	for (i = 0; i < 50000; i++) {
		n = i % sizeof(g);
		for (j = 0; j < n; j++) {
			x = x * 1103515245 + 12345;
			g[j] = (uint8_t)(x >> 16);
		}
		if (n > 8 && i % 2 == 0) {
			g[6] = (uint8_t)((n - 7) / 6);
			for (j = 7; j + 1 < n; j += 6) {
				g[j] &= 1;
				g[j + 1] &= 63;
			}
		}
		if (clustersync_want_decode(g, n, &d) != CLUSTERSYNC_OK)
			continue;
		ck_assert_int_eq(
		    clustersync_want_encode(&d, buf, sizeof(buf)), (int)n);
		ck_assert_mem_eq(buf, g, n);
	}
}
END_TEST

/* members * workers past the header's 64 worker bytes: refused where
 * "workers" is. */
START_TEST(workers_bound)
{
	struct config *c;

	/* 3 members of 21 workers are 63 bytes: fine. */
	c = parse_ok(
	    "{" SITE_A ", \"workers\": 21, " CLUSTER_OK "}", CONFIG_POPD);
	ck_assert_uint_eq(c->workers * c->cluster.nmembers, 63);
	config_free(c);
	/* Without "workers": checked at start, against the CPUs. */
	c = parse_ok("{" SITE_A ", " CLUSTER_OK "}", CONFIG_POPD);
	ck_assert_uint_eq(c->workers, 0);
	config_free(c);
	/* 22 are 66. */
	expect_popd("{" SITE_A ", \"workers\": 22, " CLUSTER_OK "}",
	    "t.json:1:79: workers: 22 workers make 2 slots of the data plane "
	    "header's 64 worker bytes, fewer than the cluster's 3 members: at "
	    "most 21 workers\n");
	/* Without a cluster, 64 workers are fine, as before. */
	c = parse_ok("{" SITE_A ", \"workers\": 64}", CONFIG_POPD);
	config_free(c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("config_cluster");
	TCase *tc = tcase_create("cluster");

	tcase_add_test(tc, exact);
	tcase_add_test(tc, session_exact);
	tcase_add_test(tc, session_truncated_oversized);
	tcase_add_test(tc, session_garbage);
	tcase_add_test(tc, workers_bound);
	tcase_add_test(tc, want_codec);
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
