/*
 * The programs as an operator runs them: wanpair-socketd/-popd -n on good
 * and bad configs, and wanpairctl replay on captures that gen-pcap writes
 * in every supported format.  Binaries come from $top_builddir, data from
 * $top_srcdir (set by `make check`).
 */
#include "autoconf.h"
#include "check_run.h"

#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char srcdir[1024], builddir[1024], tmpdir[256];

struct run {
	int   status; /* exit code, or -1 if killed */
	char *out;
	char *err;
};

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long  n;

	ck_assert_msg(fp != NULL, "cannot open %s", path);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = calloc(1, (size_t)n + 1);
	ck_assert(buf != NULL);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return buf;
}

/* Runs a shell command line, capturing stdout and stderr. */
static void
run(struct run *r, const char *fmt, ...)
{
	char    cmd[8192], line[9000], outp[300], errp[300];
	va_list ap;
	int     st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(outp, sizeof(outp), "%s/out", tmpdir);
	snprintf(errp, sizeof(errp), "%s/err", tmpdir);
	snprintf(
	    line, sizeof(line), "(%s) </dev/null >%s 2>%s", cmd, outp, errp);
	st = system(line);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r->out = slurp(outp);
	r->err = slurp(errp);
}

static void
run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static void
write_file(const char *name, const char *text)
{
	char  path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "w");
	ck_assert(fp != NULL);
	fputs(text, fp);
	fclose(fp);
}

static void
setup(void)
{
	const char *s = getenv("top_srcdir"), *b = getenv("top_builddir");

	snprintf(srcdir, sizeof(srcdir), "%s", s ? s : "..");
	snprintf(builddir, sizeof(builddir), "%s", b ? b : "..");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/wanpair-check-cli.XXXXXX");
	ck_assert(mkdtemp(tmpdir) != NULL);
}

static void
teardown(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

/* ------------------------------------------------------------ daemons */

START_TEST(socketd_example_config_ok)
{
	struct run r;

	run(&r, "%s/socketd/wanpair-socketd -n -f %s/etc/socketd.json",
	    builddir, srcdir);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_str_eq(r.out, "configuration OK\n");
	run_free(&r);
}
END_TEST

START_TEST(popd_example_config_ok)
{
	struct run r;

	run(&r, "%s/popd/wanpair-popd -n -f %s/etc/popd.json", builddir,
	    srcdir);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_str_eq(r.out, "configuration OK\n");
	run_free(&r);
}
END_TEST

/*
 * `wanpair-popd -n` checks the site files of "sites_dir" with popd.json:
 * a mistake in one is printed with that file's name, line and column,
 * and once it is fixed the check passes.
 */
START_TEST(popd_sites_dir_checked)
{
	struct run r;
	char       dir[512];

	snprintf(dir, sizeof(dir), "%s/sites.d", tmpdir);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	write_file("popd.json",
	    "{\"listen\": {\"address\": \"198.18.0.1\"},\n"
	    " \"tls\": {\"ca\": \"ca.pem\", \"cert\": \"pop.pem\", "
	    "\"key\": \"pop.key\"},\n"
	    " \"sites_dir\": \"sites.d\"}\n");
	write_file("sites.d/branch-17.json",
	    "{\"name\": \"branch-17\",\n"
	    " \"identity\": \"branch-17.lab\",\n"
	    " \"lan\": [\"10.17.0.0/16\"],\n"
	    " \"vlan\": 17}\n");
	run(&r, "cd %s && %s/popd/wanpair-popd -n -f popd.json", tmpdir,
	    builddir);
	ck_assert_msg(r.status == 1, "exit %d", r.status);
	ck_assert_str_eq(r.err,
	    "sites.d/branch-17.json:4:2: vlan: unknown key (did you mean "
	    "\"lan\"?)\n");
	run_free(&r);

	write_file("sites.d/branch-17.json",
	    "{\"name\": \"branch-17\",\n"
	    " \"identity\": \"branch-17.lab\",\n"
	    " \"lan\": [\"10.17.0.0/16\"]}\n");
	run(&r, "cd %s && %s/popd/wanpair-popd -n -f popd.json", tmpdir,
	    builddir);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_str_eq(r.out, "configuration OK\n");
	run_free(&r);
}
END_TEST

/*
 * One error of each kind the issue names: the daemon prints exactly one
 * "FILE:LINE:COLUMN: PATH: message" line and exits 1.  Configs are laid
 * out one key per line so the expected position is plain to see.
 */
/* What every socketd config needs besides the part a test is about; it
 * comes last so the positions the tests expect stay as written. */
#define DAEMON_KEYS                                                            \
	", \"pop\": {\"address\": \"198.18.0.1\", \"identity\": "              \
	"\"pop.lab\"},\n"                                                      \
	"  \"tls\": {\"ca\": \"ca.pem\", \"cert\": \"site.pem\", "             \
	"\"key\": \"site.key\"},\n"                                            \
	"  \"lan\": [\"10.1.0.0/24\"]\n"

static const struct {
	const char *what;
	const char *json;
	const char *expect;
} bad_configs[] = {
    {"unknown key",
	"{\n"
	"  \"site\": \"branch-17\",\n"
	"  \"links\": [\n"
	"    {\"name\": \"WAN1\", \"device\": \"eth1\",\n"
	"     \"up_mbps\": 100, \"down_mbps\": 100,\n"
	"     \"colour\": \"red\"}\n"
	"  ]\n" DAEMON_KEYS "}\n",
	"bad.json:6:6: links[0].colour: unknown key"},
    {"wrong type",
	"{\n"
	"  \"site\": \"branch-17\",\n"
	"  \"links\": [\n"
	"    {\"name\": \"WAN1\", \"device\": \"eth1\",\n"
	"     \"up_mbps\": \"100\", \"down_mbps\": 100}\n"
	"  ]\n" DAEMON_KEYS "}\n",
	"bad.json:5:17: links[0].up_mbps: must be an integer, got string"},
    {"out of range",
	"{\n"
	"  \"site\": \"branch-17\",\n"
	"  \"links\": [\n"
	"    {\"name\": \"WAN1\", \"device\": \"eth1\",\n"
	"     \"up_mbps\": 100, \"down_mbps\": 100},\n"
	"    {\"name\": \"WAN2\", \"device\": \"wwan0\",\n"
	"     \"up_mbps\": 0, \"down_mbps\": 20}\n"
	"  ]\n" DAEMON_KEYS "}\n",
	"bad.json:7:17: links[1].up_mbps: must be 1..1000000, got 0"},
    {"dangling link reference",
	"{\n"
	"  \"site\": \"branch-17\",\n"
	"  \"links\": [\n"
	"    {\"name\": \"WAN1\", \"device\": \"eth1\",\n"
	"     \"up_mbps\": 100, \"down_mbps\": 100}\n"
	"  ],\n"
	"  \"routes\": [\n"
	"    {\"network\": \"0.0.0.0/0\", \"link\": \"WAN3\"}\n"
	"  ]\n" DAEMON_KEYS "}\n",
	"bad.json:8:38: routes[0].link: no link named \"WAN3\""},
    {"dangling profile reference",
	"{\n"
	"  \"site\": \"branch-17\",\n"
	"  \"links\": [\n"
	"    {\"name\": \"WAN1\", \"device\": \"eth1\",\n"
	"     \"up_mbps\": 100, \"down_mbps\": 100}\n"
	"  ],\n"
	"  \"default_profile\": \"bulk\"\n" DAEMON_KEYS "}\n",
	"bad.json:7:22: default_profile: no profile named \"bulk\""},
};

START_TEST(socketd_bad_config_one_line)
{
	struct run r;
	char       want[512];

	write_file("bad.json", bad_configs[_i].json);
	run(&r, "cd %s && %s/socketd/wanpair-socketd -n -f bad.json", tmpdir,
	    builddir);
	snprintf(want, sizeof(want), "%s\n", bad_configs[_i].expect);
	ck_assert_msg(
	    r.status == 1, "%s: exit %d", bad_configs[_i].what, r.status);
	ck_assert_msg(strcmp(r.err, want) == 0, "%s:\nwant: %sgot:  %s",
	    bad_configs[_i].what, want, r.err);
	ck_assert_str_eq(r.out, "");
	run_free(&r);
}
END_TEST

/* Every tests/data/config/bad-*.json gives exactly its .expect lines. */
START_TEST(data_bad_configs)
{
	char           dir[1100], path[1400], exp[1400];
	struct dirent *de;
	DIR           *d;
	int            n = 0;

	snprintf(dir, sizeof(dir), "%s/tests/data/config", srcdir);
	d = opendir(dir);
	ck_assert_msg(d != NULL, "no %s", dir);
	while ((de = readdir(d)) != NULL) {
		size_t      len = strlen(de->d_name);
		const char *prog;
		struct run  r;
		char       *want;

		if (strncmp(de->d_name, "bad-", 4) != 0 || len < 6 ||
		    strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		snprintf(exp, sizeof(exp), "%.*s.expect",
		    (int)(strlen(path) - 5), path);
		prog = strncmp(de->d_name, "bad-popd", 8) == 0
		    ? "popd/wanpair-popd"
		    : "socketd/wanpair-socketd";
		run(&r, "cd %s && %s/%s -n -f %s", dir, builddir, prog,
		    de->d_name);
		want = slurp(exp);
		ck_assert_msg(
		    r.status == 1, "%s: exit %d", de->d_name, r.status);
		ck_assert_msg(strcmp(r.err, want) == 0,
		    "%s:\nwant:\n%sgot:\n%s", de->d_name, want, r.err);
		free(want);
		run_free(&r);
		n++;
	}
	closedir(d);
	ck_assert_msg(n >= 4, "only %d bad configs in %s", n, dir);
}
END_TEST

START_TEST(daemon_flags)
{
	struct run r;

	run(&r, "%s/socketd/wanpair-socketd -V", builddir);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "wanpair-socketd " PACKAGE_VERSION "\n");
	run_free(&r);

	run(&r, "%s/popd/wanpair-popd -h", builddir);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "usage: wanpair-popd"));
	run_free(&r);

	run(&r, "%s/socketd/wanpair-socketd -x", builddir);
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(r.err, "usage: wanpair-socketd"));
	run_free(&r);

	run(&r, "%s/socketd/wanpair-socketd -n -f %s/missing.json", builddir,
	    tmpdir);
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(r.err, "missing.json"));
	run_free(&r);

	/* Certificates that are not there stop the daemon before it
	 * touches the network: no TUN, no socket in this namespace. */
	run(&r, "%s/socketd/wanpair-socketd -d -f %s/etc/socketd.json",
	    builddir, srcdir);
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(
	    strstr(r.err, "/etc/wanpair/ca.pem") != NULL, "%s", r.err);
	run_free(&r);
	run(&r, "%s/popd/wanpair-popd -d -f %s/etc/popd.json", builddir,
	    srcdir);
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(
	    strstr(r.err, "/etc/wanpair/ca.pem") != NULL, "%s", r.err);
	run_free(&r);
}
END_TEST

/* ------------------------------------------------------------- replay */

static const char replay_conf[] =
    "{\n"
    "  \"links\": [\n"
    "    {\"name\": \"WAN1\", \"up_mbps\": 100, \"down_mbps\": 50},\n"
    "    {\"name\": \"WAN2\", \"up_mbps\": 20, \"down_mbps\": 50}\n"
    "  ]\n"
    "}\n";

static json_t *
replay_json(const char *args, const char *capture, int *status)
{
	json_error_t jerr;
	struct run   r;
	json_t      *j;

	run(&r, "%s/ctl/wanpairctl replay -f %s/replay.json --json %s %s/%s",
	    builddir, tmpdir, args, tmpdir, capture);
	*status = r.status;
	ck_assert_msg(r.status == 0, "replay %s %s: exit %d: %s", args, capture,
	    r.status, r.err);
	j = json_loads(r.out, 0, &jerr);
	ck_assert_msg(j != NULL, "replay output is not JSON: %s", jerr.text);
	run_free(&r);
	return j;
}

static void
gen(const char *args, const char *file)
{
	struct run r;

	run(&r, "%s/tests/unit/gen-pcap %s -o %s/%s", builddir, args, tmpdir,
	    file);
	ck_assert_msg(r.status == 0, "gen-pcap: %s", r.err);
	run_free(&r);
}

static double
link_num(json_t *j, int link, const char *key)
{
	json_t *v = json_object_get(
	    json_array_get(json_object_get(j, "links"), (size_t)link), key);

	ck_assert_msg(v != NULL, "links[%d].%s missing", link, key);
	return json_number_value(v);
}

/* The figure: 100:20 with ratio gives flow shares 0.833/0.167. */
static void
assert_ratio(json_t *j, int nflows)
{
	ck_assert_str_eq(json_string_value(json_object_get(j, "side")), "up");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(j, "flows")), nflows);
	ck_assert_msg(fabs(link_num(j, 0, "flow_share") - 0.8333) <= 0.005,
	    "WAN1 flow share %f", link_num(j, 0, "flow_share"));
	ck_assert_msg(fabs(link_num(j, 1, "flow_share") - 0.1667) <= 0.005,
	    "WAN2 flow share %f", link_num(j, 1, "flow_share"));
	ck_assert(fabs(link_num(j, 0, "weight_share") - 0.8333) < 0.0001);
	ck_assert_int_eq((int)link_num(j, 0, "weight"), 100);
}

START_TEST(replay_ratio_shares)
{
	json_t *j;
	int     st;

	write_file("replay.json", replay_conf);
	gen("-n 6000 -p 4 -t 20 -a 25", "c.pcap");
	j = replay_json("", "c.pcap", &st);
	assert_ratio(j, 6000);
	/* ratio is exact: 5000 and 1000 */
	ck_assert_int_eq((int)link_num(j, 0, "flows"), 5000);
	ck_assert_int_eq((int)link_num(j, 1, "flows"), 1000);
	/* both directions of each conversation are one flow */
	ck_assert_int_eq(
	    json_integer_value(json_object_get(j, "packets")), 24000);
	ck_assert_int_eq(json_integer_value(json_object_get(
			     json_object_get(j, "skipped"), "not-ip")),
	    25);
	json_decref(j);
}
END_TEST

/* The same traffic in every container and link layer gives the same
 * answer. */
static const char *const formats[] = {
    "-l sll",
    "-l sll2",
    "-l raw",
    "-F pcapng",
    "-F pcapng -l sll2",
    "-6 40",
    "-6 100 -l raw",
};

START_TEST(replay_formats)
{
	char    args[128];
	json_t *j;
	int     st;

	write_file("replay.json", replay_conf);
	snprintf(args, sizeof(args), "-n 3000 -p 2 %s", formats[_i]);
	gen(args, "f.cap");
	j = replay_json("", "f.cap", &st);
	assert_ratio(j, 3000);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(j, "packets")), 6000);
	json_decref(j);
}
END_TEST

START_TEST(replay_side_down)
{
	json_t *j;
	int     st;

	write_file("replay.json", replay_conf);
	gen("-n 2000 -p 2", "c.pcap");
	j = replay_json("--side down", "c.pcap", &st);
	ck_assert_str_eq(json_string_value(json_object_get(j, "side")), "down");
	ck_assert_int_eq((int)link_num(j, 0, "flows"), 1000);
	ck_assert_int_eq((int)link_num(j, 1, "flows"), 1000);
	json_decref(j);
}
END_TEST

/*
 * --fail WAN1@5 in a 10 s capture: every WAN1 flow open at 5 s moves to
 * WAN2 and is counted; later flows all go to WAN2; every flow ends on
 * WAN2.
 */
START_TEST(replay_failover)
{
	json_t *j, *fo, *list, *f;
	size_t  i;
	double  moved;
	int     st;

	write_file("replay.json", replay_conf);
	gen("-n 6000 -p 2 -t 10", "c.pcap");
	j = replay_json("--flows --fail WAN1@5", "c.pcap", &st);
	fo = json_array_get(json_object_get(j, "failovers"), 0);
	ck_assert_ptr_nonnull(fo);
	ck_assert_str_eq(
	    json_string_value(json_object_get(fo, "link")), "WAN1");
	ck_assert(json_is_true(json_object_get(fo, "applied")));
	moved = json_number_value(json_object_get(fo, "moved"));
	/* 3000 flows start before 5 s; 5/6 of them were on WAN1 */
	ck_assert_msg(fabs(moved - 2500) <= 2, "moved %f", moved);
	ck_assert(link_num(j, 0, "moved_out") == moved);
	ck_assert(link_num(j, 1, "moved_in") == moved);
	ck_assert_int_eq((int)link_num(j, 1, "moved_out"), 0);
	/* flows created after the failure all went to WAN2 */
	ck_assert_int_eq(
	    (int)(link_num(j, 0, "flows") + link_num(j, 1, "flows")), 6000);
	ck_assert_int_eq((int)link_num(j, 0, "flows"), 2500);
	list = json_object_get(j, "flow_list");
	ck_assert_int_eq(json_array_size(list), 6000);
	json_array_foreach(list, i, f) ck_assert_str_eq(
	    json_string_value(json_object_get(f, "link")), "WAN2");
	json_decref(j);
}
END_TEST

START_TEST(replay_flow_list_direction)
{
	json_t *j, *f;
	size_t  i;
	int     st;

	write_file("replay.json", replay_conf);
	gen("-n 10 -p 4", "c.pcap");
	j = replay_json("--flows", "c.pcap", &st);
	ck_assert_int_eq(json_array_size(json_object_get(j, "flow_list")), 10);
	/* src is whoever sent the first packet: the LAN host, although
	 * half of each flow's packets come back the other way */
	json_array_foreach(json_object_get(j, "flow_list"), i, f)
	{
		const char *src = json_string_value(json_object_get(f, "src"));
		const char *dst = json_string_value(json_object_get(f, "dst"));
		json_int_t  dport =
		    json_integer_value(json_object_get(f, "dport"));

		ck_assert_msg(strncmp(src, "10.1.", 5) == 0, "src %s", src);
		ck_assert_msg(
		    strncmp(dst, "203.0.113.", 10) == 0, "dst %s", dst);
		ck_assert(dport == 443 || dport == 53);
		ck_assert_int_ge(
		    json_integer_value(json_object_get(f, "sport")), 10000);
		ck_assert_int_eq(
		    json_integer_value(json_object_get(f, "packets")), 4);
	}
	json_decref(j);
}
END_TEST

START_TEST(replay_table)
{
	struct run r;

	write_file("replay.json", replay_conf);
	gen("-n 600 -p 1", "c.pcap");
	run(&r, "%s/ctl/wanpairctl replay -f %s/replay.json %s/c.pcap",
	    builddir, tmpdir, tmpdir);
	ck_assert_msg(r.status == 0, "%s", r.err);
	ck_assert_ptr_nonnull(strstr(r.out, "WAN1"));
	ck_assert_ptr_nonnull(strstr(r.out, "83.33%"));
	ck_assert_ptr_nonnull(strstr(r.out, "      500"));
	run_free(&r);
}
END_TEST

/*
 * The rule set on a capture (gen-pcap -A): SIP and RTP ports to
 * voice, DSCP EF to voice, the rest bulk; voice routes over WAN2 only,
 * bulk over WAN1, so each flow's link shows its profile too.  Every flow
 * of the capture gets its rule, profile and link checked, and the table
 * counts the flows per rule.
 */
static const char rules_conf[] =
    "{\"links\": [\n"
    "  {\"name\": \"WAN1\", \"up_mbps\": 100, \"down_mbps\": 100},\n"
    "  {\"name\": \"WAN2\", \"up_mbps\": 20, \"down_mbps\": 20}],\n"
    " \"profiles\": [{\"name\": \"bulk\"}, {\"name\": \"voice\"}],\n"
    " \"routes\": [\n"
    "  {\"network\": \"0.0.0.0/0\", \"link\": \"WAN1\", \"profile\": "
    "\"bulk\"},\n"
    "  {\"network\": \"::/0\", \"link\": \"WAN1\", \"profile\": \"bulk\"},\n"
    "  {\"network\": \"0.0.0.0/0\", \"link\": \"WAN2\", \"profile\": "
    "\"voice\"},\n"
    "  {\"network\": \"::/0\", \"link\": \"WAN2\", \"profile\": "
    "\"voice\"}],\n"
    " \"rules\": [\n"
    "  {\"name\": \"sip\", \"protocol\": \"udp\", \"destination_port\": "
    "5060, \"profile\": \"voice\"},\n"
    "  {\"name\": \"rtp\", \"protocol\": \"udp\", \"destination_port\": "
    "\"10000-20000\", \"profile\": \"voice\"},\n"
    "  {\"name\": \"ef\", \"dscp\": \"EF\", \"profile\": \"voice\"},\n"
    "  {\"profile\": \"bulk\"}]}\n";

START_TEST(replay_rules)
{
	static const struct {
		const char *dst;
		int         dport;
		const char *rule, *profile, *link;
	} want[] = {
	    {"192.0.2.10", 5060, "sip", "voice", "WAN2"},
	    {"192.0.2.20", 10000, "rtp", "voice", "WAN2"},
	    {"192.0.2.20", 20000, "rtp", "voice", "WAN2"},
	    {"2001:db8:ffff::20", 12000, "rtp", "voice", "WAN2"},
	    /* EF on 443: the ef rule comes before the catch-all */
	    {"203.0.113.5", 443, "ef", "voice", "WAN2"},
	    {"2001:db8:ffff::5", 8443, "ef", "voice", "WAN2"},
	    {"203.0.113.6", 443, "rules[3]", "bulk", "WAN1"},
	    {"203.0.113.7", 20001, "rules[3]", "bulk", "WAN1"},
	    {"203.0.113.8", 443, "rules[3]", "bulk", "WAN1"}, /* AF41 */
	};
	static const char *const counts[] = {
	    "sip              voice                    1\n",
	    "rtp              voice                    3\n",
	    "ef               voice                    2\n",
	    "rules[3]         bulk                     3\n",
	    "(route table)    -                        0\n"};
	json_t    *j, *f;
	struct run r;
	size_t     i, k, seen = 0;
	int        st;

	write_file("replay.json", rules_conf);
	gen("-A -p 4 -t 1", "apps.pcap");
	j = replay_json("--flows", "apps.pcap", &st);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "flow_list")),
	    sizeof(want) / sizeof(want[0]));
	json_array_foreach(json_object_get(j, "flow_list"), i, f)
	{
		const char *dst = json_string_value(json_object_get(f, "dst"));
		json_int_t  dport =
		    json_integer_value(json_object_get(f, "dport"));

		for (k = 0; k < sizeof(want) / sizeof(want[0]); k++)
			if (strcmp(want[k].dst, dst) == 0 &&
			    want[k].dport == dport)
				break;
		ck_assert_msg(k < sizeof(want) / sizeof(want[0]),
		    "unexpected flow to %s port %d", dst, (int)dport);
		ck_assert_str_eq(json_string_value(json_object_get(f, "rule")),
		    want[k].rule);
		ck_assert_str_eq(
		    json_string_value(json_object_get(f, "profile")),
		    want[k].profile);
		ck_assert_str_eq(json_string_value(json_object_get(f, "link")),
		    want[k].link);
		seen |= (size_t)1 << k;
	}
	ck_assert_uint_eq(
	    seen, ((size_t)1 << (sizeof(want) / sizeof(want[0]))) - 1);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(
		json_array_get(json_object_get(j, "rules"), 1), "flows")),
	    3);
	json_decref(j);

	run(&r, "%s/ctl/wanpairctl replay -f %s/replay.json %s/apps.pcap",
	    builddir, tmpdir, tmpdir);
	ck_assert_msg(r.status == 0, "%s", r.err);
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		ck_assert_msg(strstr(r.out, counts[i]) != NULL,
		    "no line \"%s\" in:\n%s", counts[i], r.out);
	run_free(&r);
}
END_TEST

/* Options may follow the capture; --flows lists flows in the table. */
START_TEST(replay_options_after_capture)
{
	struct run r;

	write_file("replay.json", replay_conf);
	gen("-n 6 -p 2", "c.pcap");
	run(&r, "%s/ctl/wanpairctl replay %s/c.pcap -f %s/replay.json --flows",
	    builddir, tmpdir, tmpdir);
	ck_assert_msg(r.status == 0, "%s", r.err);
	ck_assert_ptr_nonnull(strstr(r.out, "destination"));
	ck_assert_ptr_nonnull(strstr(r.out, "203.0.113.6"));
	run_free(&r);
}
END_TEST

START_TEST(replay_errors)
{
	struct run r;

	write_file("replay.json", replay_conf);
	write_file("notacapture.pcap", "this is not a capture\n");
	run(&r,
	    "%s/ctl/wanpairctl replay -f %s/replay.json %s/notacapture.pcap",
	    builddir, tmpdir, tmpdir);
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(r.err,
	    "notacapture.pcap: not a readable "
	    "pcap or pcapng capture"));
	ck_assert_str_eq(r.out, "");
	run_free(&r);

	/* cut in the middle of a record */
	gen("-n 100 -p 2", "c.pcap");
	run(&r,
	    "head -c 5000 %s/c.pcap > %s/cut.pcap && %s/ctl/wanpairctl "
	    "replay -f %s/replay.json %s/cut.pcap",
	    tmpdir, tmpdir, builddir, tmpdir, tmpdir);
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(strstr(r.err, "truncated") != NULL, "%s", r.err);
	ck_assert_str_eq(r.out, "");
	run_free(&r);

	run(&r,
	    "%s/ctl/wanpairctl replay -f %s/replay.json --fail WAN9@1 "
	    "%s/c.pcap",
	    builddir, tmpdir, tmpdir);
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(r.err, "no link named \"WAN9\""));
	run_free(&r);

	run(&r,
	    "%s/ctl/wanpairctl replay -f %s/replay.json --fail WAN1@soon "
	    "%s/c.pcap",
	    builddir, tmpdir, tmpdir);
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "got \"soon\""));
	run_free(&r);

	/* a time past any capture would overflow the clock: refused */
	run(&r,
	    "%s/ctl/wanpairctl replay -f %s/replay.json --fail WAN1@1e20 "
	    "%s/c.pcap",
	    builddir, tmpdir, tmpdir);
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "got \"1e20\""));
	run_free(&r);

	run(&r,
	    "%s/ctl/wanpairctl replay -f %s/replay.json --side sideways "
	    "%s/c.pcap",
	    builddir, tmpdir, tmpdir);
	ck_assert_int_eq(r.status, 2);
	run_free(&r);

	/* a bad config is reported like the daemons report it */
	write_file("replay.json", "{\"links\": []}\n");
	run(&r, "cd %s && %s/ctl/wanpairctl replay -f replay.json c.pcap",
	    tmpdir, builddir);
	ck_assert_int_eq(r.status, 1);
	ck_assert_msg(strncmp(r.err, "replay.json:1:", 14) == 0, "%s", r.err);
	run_free(&r);

	run(&r, "%s/ctl/wanpairctl frobnicate", builddir);
	ck_assert_int_eq(r.status, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "unknown command \"frobnicate\""));
	run_free(&r);
}
END_TEST

static Suite *
cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("daemons");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, socketd_example_config_ok);
	tcase_add_test(tc, popd_example_config_ok);
	tcase_add_test(tc, popd_sites_dir_checked);
	tcase_add_loop_test(tc, socketd_bad_config_one_line, 0,
	    (int)(sizeof(bad_configs) / sizeof(bad_configs[0])));
	tcase_add_test(tc, data_bad_configs);
	tcase_add_test(tc, daemon_flags);
	suite_add_tcase(s, tc);

	tc = tcase_create("replay");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, replay_ratio_shares);
	tcase_add_loop_test(
	    tc, replay_formats, 0, (int)(sizeof(formats) / sizeof(formats[0])));
	tcase_add_test(tc, replay_side_down);
	tcase_add_test(tc, replay_failover);
	tcase_add_test(tc, replay_flow_list_direction);
	tcase_add_test(tc, replay_table);
	tcase_add_test(tc, replay_rules);
	tcase_add_test(tc, replay_options_after_capture);
	tcase_add_test(tc, replay_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(cli_suite());
}
