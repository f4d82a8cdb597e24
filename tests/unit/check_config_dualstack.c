/*
 * The dual-stack underlay's keys (issue 13, item 3): popd's "listen" as
 * one object or a list of them, socketd's pop.address as one address or
 * one a family, and each link's PoP address (its own "pop_address", else
 * the one of its source's family, else the first).  The values read, and
 * the exact line every refusal draws; the list parsers also get
 * truncated, exact, oversized and garbage input.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "check_config.h"
#include "check_run.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

#define SITES                                                                  \
	"\"sites\": [{\"name\": \"a\", \"identity\": \"a\", "                  \
	"\"lan\": [\"10.1.0.0/16\"]}]"
#define TLS                                                                    \
	"\"tls\": {\"ca\": \"ca.pem\", \"cert\": \"c.pem\", \"key\": "         \
	"\"c.key\"}"

static void
assert_addr(const struct wp_addr *a, const char *want)
{
	char got[ADDR_STRLEN];

	ck_assert_int_ne(a->family, 0);
	addr_ntop(a, got, sizeof(got));
	ck_assert_str_eq(got, want);
}

/* popd.json with `listen` as its listen value. */
static struct config *
popd_with(const char *listen, char **errs)
{
	char json[4096];

	snprintf(json, sizeof(json), "{" SITES ",\n\"listen\": %s}", listen);
	return parse_joined(json, CONFIG_POPD, errs);
}

static void
popd_refused(const char *listen, const char *want)
{
	char json[4096];

	snprintf(json, sizeof(json), "{" SITES ",\n\"listen\": %s}", listen);
	expect_errors(json, CONFIG_POPD, want);
}

START_TEST(listen_object)
{
	struct config *c;
	char          *errs;

	c = popd_with(
	    "{\"address\": \"198.18.0.1\", \"data_port\": 4000}", &errs);
	ck_assert_msg(c != NULL, "%s", errs);
	free(errs);
	ck_assert_uint_eq(c->nendpoints, 1);
	assert_addr(&c->endpoints[0].address, "198.18.0.1");
	ck_assert_uint_eq(c->endpoints[0].data_port, 4000);
	ck_assert_uint_eq(c->endpoints[0].control_port, CONFIG_CONTROL_PORT);
	config_free(c);
}
END_TEST

START_TEST(listen_list)
{
	struct config *c;
	char          *errs;

	/* IPv4 and IPv6 on the same ports: IPv6 sockets are V6ONLY. */
	c = popd_with("[{\"address\": \"198.18.0.1\"},\n"
		      " {\"address\": \"2001:db8::1\", \"control_port\": 443}]",
	    &errs);
	ck_assert_msg(c != NULL, "%s", errs);
	free(errs);
	ck_assert_uint_eq(c->nendpoints, 2);
	assert_addr(&c->endpoints[0].address, "198.18.0.1");
	ck_assert_uint_eq(c->endpoints[0].data_port, CONFIG_DATA_PORT);
	ck_assert_uint_eq(c->endpoints[0].control_port, CONFIG_CONTROL_PORT);
	assert_addr(&c->endpoints[1].address, "2001:db8::1");
	ck_assert_uint_eq(c->endpoints[1].data_port, CONFIG_DATA_PORT);
	ck_assert_uint_eq(c->endpoints[1].control_port, 443);
	config_free(c);

	/* Both wildcards, and one address on two sets of ports. */
	c = popd_with("[{\"address\": \"0.0.0.0\"}, {\"address\": \"::\"},\n"
		      " {\"address\": \"::\", \"data_port\": 1, "
		      "\"control_port\": 2}]",
	    &errs);
	ck_assert_msg(c != NULL, "%s", errs);
	free(errs);
	ck_assert_uint_eq(c->nendpoints, 3);
	config_free(c);
}
END_TEST

/* Exactly CONFIG_LISTEN_MAX entries, and one too many. */
START_TEST(listen_exact_and_oversized)
{
	struct config *c;
	char           list[2048], *errs;
	size_t         i, off;

	off = (size_t)snprintf(list, sizeof(list), "[");
	for (i = 0; i < CONFIG_LISTEN_MAX; i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off,
		    "%s{\"address\": \"198.18.0.%zu\"}", i > 0 ? ", " : "",
		    i + 1);
	snprintf(list + off, sizeof(list) - off, "]");
	c = popd_with(list, &errs);
	ck_assert_msg(c != NULL, "%s", errs);
	free(errs);
	ck_assert_uint_eq(c->nendpoints, CONFIG_LISTEN_MAX);
	assert_addr(&c->endpoints[CONFIG_LISTEN_MAX - 1].address, "198.18.0.8");
	config_free(c);

	list[off] = '\0';
	snprintf(
	    list + off, sizeof(list) - off, ", {\"address\": \"198.18.0.9\"}]");
	popd_refused(
	    list, "t.json:2:11: listen: must have 1..8 entries, got 9\n");
	popd_refused(
	    "[]", "t.json:2:11: listen: must have 1..8 entries, got 0\n");
}
END_TEST

START_TEST(listen_garbage)
{
	popd_refused("17",
	    "t.json:2:11: listen: must be an object or an "
	    "array of objects, got integer\n");
	popd_refused("\"198.18.0.1\"",
	    "t.json:2:11: listen: must be an object or an array of objects, "
	    "got string\n");
	popd_refused("[1, \"x\", {}, {\"address\": 7},\n"
		     " {\"address\": \"pop\", \"port\": 1}]",
	    "t.json:2:12: listen[0]: must be an object, got integer\n"
	    "t.json:2:15: listen[1]: must be an object, got string\n"
	    "t.json:2:20: listen[2]: missing key \"address\"\n"
	    "t.json:2:36: listen[3].address: must be a string, got integer\n"
	    "t.json:3:14: listen[4].address: must be an IP address, got "
	    "\"pop\"\n"
	    "t.json:3:21: listen[4].port: unknown key\n");
	/* popd has no identity to check, in either form */
	popd_refused("[{\"address\": \"::1\", \"identity\": \"pop\"}]",
	    "t.json:2:31: listen[0].identity: unknown key (the PoP names sites "
	    "in \"sites\")\n");
}
END_TEST

START_TEST(listen_duplicates)
{
	popd_refused("[{\"address\": \"198.18.0.1\"},\n"
		     " {\"address\": \"2001:db8::1\"},\n"
		     " {\"address\": \"198.18.0.1\", \"data_port\": 9}]",
	    "t.json:4:14: listen[2].address: duplicate of listen[0] (at "
	    "2:24): the same address and control port 18461\n");
	popd_refused("[{\"address\": \"2001:db8::1\", \"data_port\": 9},\n"
		     " {\"address\": \"2001:DB8:0::1\", \"data_port\": 9, "
		     "\"control_port\": 10}]",
	    "t.json:3:14: listen[1].address: duplicate of listen[0] (at "
	    "2:24): the same address and data port 9\n");
	/* The unspecified address takes the port on every address. */
	popd_refused("[{\"address\": \"198.18.0.1\"},\n"
		     " {\"address\": \"0.0.0.0\", \"control_port\": 1}]",
	    "t.json:3:14: listen[1].address: overlaps listen[0] (at 2:24): "
	    "data port 18460 on every IPv4 address is taken by the "
	    "unspecified address\n");
	popd_refused("[{\"address\": \"::\", \"data_port\": 5},\n"
		     " {\"address\": \"2001:db8::1\", \"data_port\": 6, "
		     "\"control_port\": 7},\n"
		     " {\"address\": \"::1\", \"data_port\": 5, "
		     "\"control_port\": 8}]",
	    "t.json:4:14: listen[2].address: overlaps listen[0] (at 2:24): "
	    "data port 5 on every IPv6 address is taken by the unspecified "
	    "address\n");
}
END_TEST

/* A valid text cut at every byte: refused with errors, never a crash,
 * never accepted until it is whole; the whole one, parsed. */
static struct config *
every_cut(const char *text, enum config_kind kind)
{
	struct config_errors e = {0};
	struct config       *c;
	size_t               cut, len = strlen(text);

	for (cut = 0; cut < len; cut++) {
		c = config_parse(text, cut, "t.json", kind, &e);
		ck_assert_msg(c == NULL && e.n > 0, "accepted at %zu", cut);
		config_errors_clear(&e);
	}
	c = config_parse(text, len, "t.json", kind, &e);
	ck_assert_msg(c != NULL, "%s", e.n > 0 ? e.lines[0] : "");
	return c;
}

START_TEST(listen_truncated)
{
	static const char text[] =
	    "{" SITES ", " TLS ",\n"
	    "\"listen\": [{\"address\": \"198.18.0.1\", \"data_port\": 1},\n"
	    "  {\"address\": \"2001:db8::1\", \"control_port\": 2}]}";
	struct config *c;

	c = every_cut(text, CONFIG_POPD);
	ck_assert_uint_eq(c->nendpoints, 2);
	config_free(c);
}
END_TEST

/* ------------------------------------------------------------ socketd */

/* socketd.json with `links` and `pop` as given. */
static char *
socketd_json(const char *links, const char *pop)
{
	char *json;

	ck_assert_int_ne(
	    asprintf(&json,
		"{\"site\": \"s\", \"lan\": [\"10.1.0.0/24\"], "
		"" TLS ",\n\"links\": [%s],\n\"pop\": {\"identity\": "
		"\"pop.lab\", \"address\": %s}}",
		links, pop),
	    -1);
	return json;
}

static struct config *
socketd_ok(const char *links, const char *pop)
{
	struct config *c;
	char          *json = socketd_json(links, pop);

	c = parse_ok(json, CONFIG_SOCKETD);
	free(json);
	return c;
}

static void
socketd_refused(const char *links, const char *pop, const char *want)
{
	char *json = socketd_json(links, pop);

	expect_socketd(json, want);
	free(json);
}

#define V4LINK(name, src)                                                      \
	"{\"name\": \"" name "\", \"source\": \"" src "\", "                   \
	"\"up_mbps\": 100, \"down_mbps\": 100}"

START_TEST(pop_addresses)
{
	struct config *c;

	/* One address, the old form: every link's. */
	c = socketd_ok(LINK1 ", " LINK2, "\"198.18.0.1\"");
	ck_assert_uint_eq(c->nendpoints, 1);
	assert_addr(&c->endpoints[0].address, "198.18.0.1");
	assert_addr(&c->links[0].pop, "198.18.0.1");
	assert_addr(&c->links[1].pop, "198.18.0.1");
	ck_assert_int_eq(c->links[0].pop_own, 0);
	config_free(c);

	/* One a family: a link of a source takes its family's, a link of
	 * a device only the first, pop_address its own. */
	c = socketd_ok(V4LINK("A", "198.18.1.2") ", " V4LINK("B",
			   "2001:db8:2::2") ", " LINK1 ",\n"
					    "{\"name\": \"C\", \"device\": "
					    "\"wwan0\", \"up_mbps\": 1, "
					    "\"down_mbps\": 1, "
					    "\"pop_address\": \"2001:db8::7\"}",
	    "[\"198.18.0.1\", \"2001:db8::1\"]");
	ck_assert_uint_eq(c->nendpoints, 2);
	assert_addr(&c->endpoints[1].address, "2001:db8::1");
	ck_assert_str_eq(c->endpoints[1].identity, "pop.lab");
	ck_assert_uint_eq(c->endpoints[1].data_port, CONFIG_DATA_PORT);
	assert_addr(&c->links[0].pop, "198.18.0.1");
	assert_addr(&c->links[1].pop, "2001:db8::1");
	assert_addr(&c->links[2].pop, "198.18.0.1");
	assert_addr(&c->links[3].pop, "2001:db8::7");
	ck_assert_int_eq(c->links[3].pop_own, 1);
	config_free(c);

	/* IPv6 first: a device-only link goes over IPv6. */
	c = socketd_ok(LINK1, "[\"2001:db8::1\", \"198.18.0.1\"]");
	assert_addr(&c->links[0].pop, "2001:db8::1");
	config_free(c);
}
END_TEST

START_TEST(pop_address_refusals)
{
	socketd_refused(LINK1, "[]",
	    "t.json:3:43: pop.address: must have 1..2 addresses (one a "
	    "family), got 0\n");
	socketd_refused(LINK1, "[\"198.18.0.1\", \"2001:db8::1\", \"::2\"]",
	    "t.json:3:43: pop.address: must have 1..2 addresses (one a "
	    "family), got 3\n");
	socketd_refused(LINK1, "{\"v4\": \"198.18.0.1\"}",
	    "t.json:3:43: pop.address: must be an IP address or an array of "
	    "them, got object\n");
	socketd_refused(LINK1, "[\"198.18.0.1\", 7]",
	    "t.json:3:58: pop.address[1]: must be a string, got integer\n");
	socketd_refused(LINK1, "[\"pop.lab\"]",
	    "t.json:3:44: pop.address[0]: must be an IP address, got "
	    "\"pop.lab\"\n");
	socketd_refused(LINK1, "[\"198.18.0.1\", \"198.18.0.2\"]",
	    "t.json:3:58: pop.address[1]: a second IPv4 address (also "
	    "pop.address[0] at 3:44): one a family, a link takes the one of "
	    "its family unless it has its own pop_address\n");
	socketd_refused(LINK1, "[\"::1\", \"2001:db8::1\"]",
	    "t.json:3:51: pop.address[1]: a second IPv6 address (also "
	    "pop.address[0] at 3:44): one a family, a link takes the one of "
	    "its family unless it has its own pop_address\n");
}
END_TEST

/* A link's family and its PoP address's: the refusal names both. */
START_TEST(link_family)
{
	socketd_refused(LINK1 ",\n" V4LINK("WAN2", "2001:db8:2::2"),
	    "\"198.18.0.1\"",
	    "t.json:3:28: links[1].source: is an IPv6 address but pop.address "
	    "(at 4:43) has no IPv6 address: add one there, or give the link "
	    "a pop_address\n");
	socketd_refused(
	    "{\"name\": \"W\", \"source\": \"198.18.1.2\", \"up_mbps\": 1, "
	    "\"down_mbps\": 1,\n \"pop_address\": \"2001:db8::1\"}",
	    "[\"198.18.0.1\", \"2001:db8::1\"]",
	    "t.json:3:17: links[0].pop_address: is an IPv6 address but "
	    "links[0].source (at 2:35) is IPv4: a link reaches the PoP over "
	    "its "
	    "own family\n");
	socketd_refused(
	    "{\"name\": \"W\", \"device\": \"eth1\", \"up_mbps\": 1, "
	    "\"down_mbps\": 1, \"pop_address\": \"pop\"}",
	    "\"198.18.0.1\"",
	    "t.json:2:88: links[0].pop_address: must be an IP address, got "
	    "\"pop\"\n");
}
END_TEST

/* replay reads links without a pop: no PoP address, no refusal. */
START_TEST(replay_without_pop)
{
	struct config_errors e = {0};
	struct config       *c;
	static const char    json[] =
	    "{\"links\": [{\"name\": \"W\", \"source\": \"2001:db8::2\", "
	    "\"up_mbps\": 1, \"down_mbps\": 1}]}";

	c = config_parse(json, strlen(json), "t.json", CONFIG_REPLAY, &e);
	ck_assert_msg(c != NULL, "%s", e.n > 0 ? e.lines[0] : "");
	ck_assert_uint_eq(c->nendpoints, 0);
	ck_assert_int_eq(c->links[0].pop.family, 0);
	config_free(c);
}
END_TEST

/* pop.address lists cut at every byte, and random bytes in its place. */
START_TEST(pop_truncated_and_garbage)
{
	struct config_errors e = {0};
	struct config       *c;
	char                *text, buf[64 + 1];
	size_t               i, j;
	uint32_t             x = 7;

	text = socketd_json(
	    V4LINK("A", "198.18.1.2") ", " V4LINK("B", "2001:db8:2::2"),
	    "[\"198.18.0.1\", \"2001:db8::1\"]");
	c = every_cut(text, CONFIG_SOCKETD);
	assert_addr(&c->links[1].pop, "2001:db8::1");
	config_free(c);
	free(text);
	for (i = 0; i < 5000; i++) {
		for (j = 0; j < i % 64; j++) {
			x = x * 1103515245 + 12345;
			buf[j] = "[]{}\",:0123456789abcdef.: "[(x >> 16) % 27];
		}
		buf[j] = '\0';
		text = socketd_json(LINK1, buf);
		c = config_parse(
		    text, strlen(text), "t.json", CONFIG_SOCKETD, &e);
		ck_assert((c == NULL) == (e.n > 0));
		config_free(c);
		config_errors_clear(&e);
		free(text);
		c = popd_with(buf, &text);
		ck_assert((c == NULL) == (text[0] != '\0'));
		config_free(c);
		free(text);
	}
}
END_TEST

static Suite *
dualstack_suite(void)
{
	Suite *s = suite_create("config_dualstack");
	TCase *tc;

	tc = tcase_create("popd");
	tcase_add_test(tc, listen_object);
	tcase_add_test(tc, listen_list);
	tcase_add_test(tc, listen_exact_and_oversized);
	tcase_add_test(tc, listen_garbage);
	tcase_add_test(tc, listen_duplicates);
	tcase_add_test(tc, listen_truncated);
	suite_add_tcase(s, tc);

	tc = tcase_create("socketd");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, pop_addresses);
	tcase_add_test(tc, pop_address_refusals);
	tcase_add_test(tc, link_family);
	tcase_add_test(tc, replay_without_pop);
	tcase_add_test(tc, pop_truncated_and_garbage);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(dualstack_suite());
}
