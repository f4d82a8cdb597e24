/*
 * What the configuration suites (check_config, check_config_keys) parse
 * with: a valid link to build socketd.json from, the daemon-only keys
 * added to a test's config, and parse_ok() / expect_errors(), which
 * compare every error line a config draws with what the test wants.
 */
#ifndef WANPAIR_CHECK_CONFIG_H
#define WANPAIR_CHECK_CONFIG_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* A valid socketd.json to which tests add or break things. */
#define LINK1                                                                  \
	"{\"name\": \"WAN1\", \"device\": \"eth1\", \"up_mbps\": 100, "        \
	"\"down_mbps\": 100}"
#define LINK2                                                                  \
	"{\"name\": \"WAN2\", \"device\": \"wwan0\", \"up_mbps\": 20, "        \
	"\"down_mbps\": 20}"

/* All error lines, each ending in a newline, as the daemon prints them. */
static inline char *
joined(const struct config_errors *e)
{
	size_t i, len = 1;
	char  *s;

	for (i = 0; i < e->n; i++)
		len += strlen(e->lines[i]) + 1;
	ck_assert_ptr_nonnull(s = malloc(len));
	s[0] = '\0';
	for (i = 0; i < e->n; i++) {
		strcat(s, e->lines[i]);
		strcat(s, "\n");
	}
	return s;
}

/*
 * The keys only a running daemon needs (socketd: pop, tls, lan; popd:
 * listen, tls), added at the end of the root object when a test's config
 * lacks them, so that the positions of everything a test wrote stay as
 * written.  Returns a malloc'd copy.
 */
static inline char *
with_daemon_keys(const char *json, enum config_kind kind)
{
	static const char *const sock[][2] = {
	    {"\"pop\"",
		"\"pop\": {\"address\": \"198.18.0.1\", \"identity\": "
		"\"pop.lab\"}"},
	    {"\"tls\"",
		"\"tls\": {\"ca\": \"ca.pem\", \"cert\": \"c.pem\", "
		"\"key\": \"c.key\"}"},
	    {"\"lan\"", "\"lan\": [\"10.1.0.0/24\"]"}};
	static const char *const popd[][2] = {
	    {"\"listen\"", "\"listen\": {\"address\": \"198.18.0.1\"}"},
	    {"\"tls\"",
		"\"tls\": {\"ca\": \"ca.pem\", \"cert\": \"c.pem\", "
		"\"key\": \"c.key\"}"}};
	const char *const(*keys)[2] = kind == CONFIG_POPD ? popd : sock;
	size_t nkeys = kind == CONFIG_POPD ? 2 : 3, i, end;
	char  *out;

	ck_assert_ptr_nonnull(out = malloc(strlen(json) + 512));
	strcpy(out, json);
	end = strlen(out);
	while (end > 0 && out[end - 1] != '}')
		end--;
	if (kind == CONFIG_REPLAY || end == 0 || json[0] != '{')
		return out;
	out[end - 1] = '\0';
	for (i = 0; i < nkeys; i++)
		if (strstr(json, keys[i][0]) == NULL) {
			/* no comma after the "{" of an empty object */
			if (strspn(out + 1, " \t\n") != strlen(out + 1))
				strcat(out, ", ");
			strcat(out, keys[i][1]);
		}
	strcat(out, "}");
	strcat(out, json + end);
	return out;
}

/* Parses a test's config (daemon keys added); *errs gets every error line. */
static inline struct config *
parse_joined(const char *json_in, enum config_kind kind, char **errs)
{
	struct config_errors e = {0};
	struct config       *conf;
	char                *json = with_daemon_keys(json_in, kind);

	conf = config_parse(json, strlen(json), "t.json", kind, &e);
	free(json);
	*errs = joined(&e);
	config_errors_clear(&e);
	return conf;
}

static inline struct config *
parse_ok(const char *json, enum config_kind kind)
{
	struct config *conf;
	char          *errs;

	conf = parse_joined(json, kind, &errs);
	ck_assert_msg(
	    conf != NULL && errs[0] == '\0', "config refused:\n%s", errs);
	free(errs);
	return conf;
}

/* The config is refused with exactly `want` (lines joined by \n). */
static inline void
expect_errors(const char *json, enum config_kind kind, const char *want)
{
	struct config *conf;
	char          *got;

	conf = parse_joined(json, kind, &got);
	ck_assert_msg(conf == NULL, "config accepted, wanted:\n%s", want);
	ck_assert_msg(strcmp(got, want) == 0, "want:\n%sgot:\n%s", want, got);
	free(got);
}

static inline void
expect_socketd(const char *json, const char *want)
{
	expect_errors(json, CONFIG_SOCKETD, want);
}

#endif
