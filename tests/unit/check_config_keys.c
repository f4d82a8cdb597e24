/*
 * The top-level keys both daemons share that are one value each:
 * session_grace_s and offload.  Their defaults when absent, the values
 * read, and the exact line a wrong one draws.
 */
#include "autoconf.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "check_config.h"
#include "check_run.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/* The smallest file each daemon accepts, with `more` at the end of the
 * root object. */
static const char *
minimal(enum config_kind kind, const char *more, char *buf, size_t size)
{
	if (kind == CONFIG_POPD)
		(void)snprintf(buf, size,
		    "{\"sites\": [{\"name\": \"a\", \"identity\": \"a\", "
		    "\"lan\": [\"10.1.0.0/16\"]}]%s}",
		    more);
	else
		(void)snprintf(buf, size,
		    "{\"site\": \"s\", \"links\": [" LINK1 "]%s}", more);
	return buf;
}

/* session_grace_s: both daemons, 120 s by default, 1 s to a day. */
START_TEST(session_grace)
{
	char           json[256];
	struct config *conf;

	conf =
	    parse_ok(minimal(CONFIG_POPD, "", json, sizeof(json)), CONFIG_POPD);
	ck_assert_uint_eq(conf->session_grace_s, 120);
	config_free(conf);
	conf = parse_ok(minimal(CONFIG_POPD, ", \"session_grace_s\": 86400",
			    json, sizeof(json)),
	    CONFIG_POPD);
	ck_assert_uint_eq(conf->session_grace_s, 86400);
	config_free(conf);
	conf = parse_ok(minimal(CONFIG_SOCKETD, ",\n\"session_grace_s\": 1",
			    json, sizeof(json)),
	    CONFIG_SOCKETD);
	ck_assert_uint_eq(conf->session_grace_s, 1);
	config_free(conf);

	expect_errors(minimal(CONFIG_POPD, ",\n\"session_grace_s\": 0", json,
			  sizeof(json)),
	    CONFIG_POPD,
	    "t.json:2:20: session_grace_s: must be 1..86400, got 0\n");
	expect_socketd(minimal(CONFIG_SOCKETD, ",\n\"session_grace_s\": 86401",
			   json, sizeof(json)),
	    "t.json:2:20: session_grace_s: must be 1..86400, got 86401\n");
}
END_TEST

/*
 * offload: on unless a file says false, in both daemons; replay reads
 * socketd.json, so it takes the key too.
 */
START_TEST(offload_values)
{
	static const struct {
		enum config_kind kind;
		const char      *more;
		int              want;
	} cases[] = {
	    {CONFIG_SOCKETD, "", 1},
	    {CONFIG_POPD, "", 1},
	    {CONFIG_SOCKETD, ", \"offload\": true", 1},
	    {CONFIG_POPD, ", \"offload\": true", 1},
	    {CONFIG_SOCKETD, ", \"offload\": false", 0},
	    {CONFIG_POPD, ", \"offload\": false", 0},
	    {CONFIG_REPLAY, ", \"offload\": false", 0},
	};
	char           json[256];
	struct config *conf;
	size_t         i;

	for (i = 0; i < NITEMS(cases); i++) {
		conf = parse_ok(
		    minimal(cases[i].kind, cases[i].more, json, sizeof(json)),
		    cases[i].kind);
		ck_assert_msg(conf->offload == cases[i].want,
		    "%s: offload %d, want %d", json, conf->offload,
		    cases[i].want);
		config_free(conf);
	}
}
END_TEST

/* workers: absent is 0 (one per CPU at start), 1..PROTO_MAX_WORKERS;
 * popd runs one. */
START_TEST(workers_values)
{
	char           json[256];
	struct config *conf;

	conf = parse_ok(
	    minimal(CONFIG_SOCKETD, "", json, sizeof(json)), CONFIG_SOCKETD);
	ck_assert_uint_eq(conf->workers, 0);
	ck_assert_uint_ge(config_workers(conf), 1);
	ck_assert_uint_le(config_workers(conf), PROTO_MAX_WORKERS);
	config_free(conf);
	conf = parse_ok(
	    minimal(CONFIG_SOCKETD, ", \"workers\": 64", json, sizeof(json)),
	    CONFIG_SOCKETD);
	ck_assert_uint_eq(config_workers(conf), 64);
	config_free(conf);
	conf = parse_ok(
	    minimal(CONFIG_POPD, ", \"workers\": 1", json, sizeof(json)),
	    CONFIG_POPD);
	ck_assert_uint_eq(config_workers(conf), 1);
	config_free(conf);
	expect_socketd(
	    minimal(CONFIG_SOCKETD, ",\n\"workers\": 0", json, sizeof(json)),
	    "t.json:2:12: workers: must be 1..64, got 0\n");
	expect_socketd(
	    minimal(CONFIG_SOCKETD, ",\n\"workers\": 65", json, sizeof(json)),
	    "t.json:2:12: workers: must be 1..64, got 65\n");
	conf = parse_ok(
	    minimal(CONFIG_POPD, ", \"workers\": 2", json, sizeof(json)),
	    CONFIG_POPD);
	ck_assert_uint_eq(config_workers(conf), 2);
	config_free(conf);
	expect_errors(
	    minimal(CONFIG_POPD, ",\n\"workers\": 65", json, sizeof(json)),
	    CONFIG_POPD, "t.json:2:12: workers: must be 1..64, got 65\n");
}
END_TEST

/* Only JSON's true and false: not the 1 or "no" of other formats. */
START_TEST(offload_refused)
{
	char json[256];

	expect_socketd(
	    minimal(CONFIG_SOCKETD, ",\n\"offload\": 1", json, sizeof(json)),
	    "t.json:2:12: offload: must be a boolean, got integer\n");
	expect_errors(
	    minimal(CONFIG_POPD, ",\n\"offload\": \"no\"", json, sizeof(json)),
	    CONFIG_POPD,
	    "t.json:2:12: offload: must be a boolean, got string\n");
	expect_errors(
	    minimal(CONFIG_POPD, ",\n\"offload\": null", json, sizeof(json)),
	    CONFIG_POPD, "t.json:2:12: offload: must be a boolean, got null\n");
	expect_socketd(minimal(CONFIG_SOCKETD, ",\n\"offlaod\": false", json,
			   sizeof(json)),
	    "t.json:2:1: offlaod: unknown key (did you mean \"offload\"?)\n");
}
END_TEST

/* A profile's "sla" (wanpair.json(5) SERVICE LEVELS): its limits and
 * defaults, in socketd.json and replay; popd follows the Socket. */
START_TEST(sla_values)
{
	char                     json[512];
	struct config           *conf;
	const struct sla_limits *l;

	conf =
	    parse_ok(minimal(CONFIG_SOCKETD,
			 ", \"profiles\": [{\"name\": \"bulk\"}, "
			 "{\"name\": \"voice\", \"sla\": {\"loss_pct\": 0.5, "
			 "\"latency_ms\": 150, \"jitter_ms\": 30, "
			 "\"window_s\": 2, \"good_windows\": 4, "
			 "\"on_violation\": \"move\"}}]",
			 json, sizeof(json)),
		CONFIG_SOCKETD);
	ck_assert_int_eq(conf->profiles[0].has_sla, 0);
	ck_assert_int_eq(conf->profiles[1].has_sla, 1);
	l = &conf->profiles[1].sla;
	ck_assert_uint_eq(l->loss_ppm, 5000);
	ck_assert_uint_eq(l->latency_us, 150000);
	ck_assert_uint_eq(l->jitter_us, 30000);
	ck_assert_uint_eq(l->window_ms, 2000);
	ck_assert_uint_eq(l->good_windows, 4);
	ck_assert_int_eq(l->on_violation, SLA_MOVE);
	config_free(conf);
	/* defaults: one limit given, the others none; 10 s, 3, avoid */
	conf = parse_ok(minimal(CONFIG_REPLAY,
			    ", \"profiles\": [{\"name\": \"voice\", "
			    "\"sla\": {\"loss_pct\": 2}}]",
			    json, sizeof(json)),
	    CONFIG_REPLAY);
	l = &conf->profiles[0].sla;
	ck_assert_uint_eq(l->loss_ppm, 20000);
	ck_assert_uint_eq(l->latency_us, SLA_NO_LIMIT);
	ck_assert_uint_eq(l->jitter_us, SLA_NO_LIMIT);
	ck_assert_uint_eq(l->window_ms, 10000);
	ck_assert_uint_eq(l->good_windows, 3);
	ck_assert_int_eq(l->on_violation, SLA_AVOID);
	config_free(conf);
}
END_TEST

START_TEST(sla_refused)
{
	char json[512];

	expect_socketd(minimal(CONFIG_SOCKETD,
			   ",\n\"profiles\": [{\"name\": \"v\", \"sla\": "
			   "{\"loss_pct\": 100}}]",
			   json, sizeof(json)),
	    "t.json:2:48: profiles[0].sla.loss_pct: must be a percentage "
	    "from 0 to below 100, got 100\n");
	expect_socketd(minimal(CONFIG_SOCKETD,
			   ",\n\"profiles\": [{\"name\": \"v\", \"sla\": "
			   "{\"loss_pct\": \"2%\"}}]",
			   json, sizeof(json)),
	    "t.json:2:48: profiles[0].sla.loss_pct: must be a number, got "
	    "string\n");
	expect_socketd(minimal(CONFIG_SOCKETD,
			   ",\n\"profiles\": [{\"name\": \"v\", \"sla\": "
			   "{\"latency_ms\": 0, \"window_s\": 3601}}]",
			   json, sizeof(json)),
	    "t.json:2:50: profiles[0].sla.latency_ms: must be 1..60000, got "
	    "0\n"
	    "t.json:2:65: profiles[0].sla.window_s: must be 1..3600, got "
	    "3601\n");
	expect_socketd(minimal(CONFIG_SOCKETD,
			   ",\n\"profiles\": [{\"name\": \"v\", \"sla\": "
			   "{\"window_s\": 5}}]",
			   json, sizeof(json)),
	    "t.json:2:35: profiles[0].sla: sets no limit: give loss_pct, "
	    "latency_ms or jitter_ms\n");
	expect_socketd(minimal(CONFIG_SOCKETD,
			   ",\n\"profiles\": [{\"name\": \"v\", \"sla\": "
			   "{\"loss_pct\": 1, \"on_violation\": \"drop\"}}]",
			   json, sizeof(json)),
	    "t.json:2:67: profiles[0].sla.on_violation: must be one of "
	    "avoid, move; got \"drop\"\n");
	expect_socketd(minimal(CONFIG_SOCKETD,
			   ",\n\"profiles\": [{\"name\": \"v\", \"sla\": "
			   "{\"loss\": 1}}]",
			   json, sizeof(json)),
	    "t.json:2:35: profiles[0].sla: sets no limit: give loss_pct, "
	    "latency_ms or jitter_ms\n"
	    "t.json:2:36: profiles[0].sla.loss: unknown key\n");
	expect_errors(minimal(CONFIG_POPD,
			  ",\n\"profiles\": [{\"name\": \"v\", \"sla\": "
			  "{\"loss_pct\": 2}}]",
			  json, sizeof(json)),
	    CONFIG_POPD,
	    "t.json:2:28: profiles[0].sla: only in socketd.json: the PoP "
	    "follows the Socket's verdicts (LINK_STATE)\n");
}
END_TEST

/*
 * A profile's duplicate: off by default, with a cap of 1000 packets a
 * second when on; the cap alone is a mistake, and so is a ninth
 * duplicating profile (each costs every sender a rate bucket).  popd
 * reads the same keys for its return traffic.
 */
START_TEST(profile_duplicate)
{
	char           json[1024], more[900];
	struct config *conf;
	int            i, off;

	conf = parse_ok(minimal(CONFIG_SOCKETD,
			    ", \"profiles\": [{\"name\": \"bulk\"}, "
			    "{\"name\": \"voice\", \"duplicate\": true}, "
			    "{\"name\": \"video\", \"duplicate\": true, "
			    "\"duplicate_max_pps\": 50}]",
			    json, sizeof(json)),
	    CONFIG_SOCKETD);
	ck_assert_uint_ge(conf->nprofiles, 3); /* and the implicit default */
	ck_assert_int_eq(conf->profiles[0].duplicate, 0);
	ck_assert_int_eq(conf->profiles[0].dup_slot, -1);
	ck_assert_int_eq(conf->profiles[1].duplicate, 1);
	ck_assert_int_eq(conf->profiles[1].dup_slot, 0);
	ck_assert_uint_eq(conf->profiles[1].duplicate_max_pps, 1000);
	ck_assert_int_eq(conf->profiles[2].dup_slot, 1);
	ck_assert_uint_eq(conf->profiles[2].duplicate_max_pps, 50);
	config_free(conf);
	conf = parse_ok(minimal(CONFIG_POPD,
			    ", \"profiles\": [{\"name\": \"voice\", "
			    "\"duplicate\": true, \"duplicate_max_pps\": "
			    "1000000}]",
			    json, sizeof(json)),
	    CONFIG_POPD);
	ck_assert_int_eq(conf->profiles[0].duplicate, 1);
	ck_assert_uint_eq(conf->profiles[0].duplicate_max_pps, 1000000);
	config_free(conf);

	expect_socketd(minimal(CONFIG_SOCKETD,
			   ",\n\"profiles\": [{\"name\": \"v\", "
			   "\"duplicate\": 1}]",
			   json, sizeof(json)),
	    "t.json:2:41: profiles[0].duplicate: must be a boolean, got "
	    "integer\n");
	expect_socketd(minimal(CONFIG_SOCKETD,
			   ",\n\"profiles\": [{\"name\": \"v\", "
			   "\"duplicate\": true, \"duplicate_max_pps\": 0}]",
			   json, sizeof(json)),
	    "t.json:2:68: profiles[0].duplicate_max_pps: must be "
	    "1..1000000, got 0\n");
	expect_socketd(minimal(CONFIG_SOCKETD,
			   ",\n\"profiles\": [{\"name\": \"v\", "
			   "\"duplicate_max_pps\": 10}]",
			   json, sizeof(json)),
	    "t.json:2:49: profiles[0].duplicate_max_pps: has no effect "
	    "without duplicate\n");
	off = snprintf(more, sizeof(more), ",\n\"profiles\": [");
	for (i = 0; i < 9; i++)
		off += snprintf(more + off, sizeof(more) - (size_t)off,
		    "%s{\"name\": \"p%d\", \"duplicate\": true}",
		    i > 0 ? ", " : "", i);
	(void)snprintf(more + off, sizeof(more) - (size_t)off, "]");
	expect_socketd(minimal(CONFIG_SOCKETD, more, json, sizeof(json)),
	    "t.json:2:322: profiles[8].duplicate: at most 8 profiles may "
	    "duplicate\n");
}
END_TEST

static Suite *
config_keys_suite(void)
{
	Suite *s = suite_create("config_keys");
	TCase *tc = tcase_create("top-level");

	tcase_add_test(tc, session_grace);
	tcase_add_test(tc, offload_values);
	tcase_add_test(tc, offload_refused);
	tcase_add_test(tc, workers_values);
	tcase_add_test(tc, sla_values);
	tcase_add_test(tc, sla_refused);
	suite_add_tcase(s, tc);
	tc = tcase_create("profiles");
	tcase_add_test(tc, profile_duplicate);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(config_keys_suite());
}
