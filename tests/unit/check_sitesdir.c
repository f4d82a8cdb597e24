/*
 * popd's "sites_dir" (wanpair.json(5)): one site a file, read by
 * config_load() after the inline "sites".  Each test writes popd.json and
 * its sites.d into a fresh temporary directory and checks what a user
 * would see: which sites popd gets, in which order, and the exact error
 * lines, each naming the file, line and column of the mistake.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "check_config.h"
#include "check_run.h"

static char tmp[64];

/* tmp/name, in one of four buffers: valid for four calls. */
static const char *
at(const char *name)
{
	static char buf[4][PATH_MAX];
	static int  next;
	char       *p = buf[next++ % 4];

	(void)snprintf(p, PATH_MAX, "%s/%s", tmp, name);
	return p;
}

static void
setup(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/check_sitesdir.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	ck_assert_int_eq(mkdir(at("sites.d"), 0755), 0);
}

static void
teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	ck_assert_int_eq(system(cmd), 0);
}

static void
put(const char *name, const char *text)
{
	FILE *f;

	ck_assert_ptr_nonnull(f = fopen(at(name), "w"));
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/*
 * popd.json with sites_dir (the value as JSON, or NULL: no key) on line 3,
 * its value at column 15, and the inline sites (or NULL: no key) from
 * line 5 (line 4 without sites_dir).
 */
static void
put_main(const char *dir, const char *sites)
{
	char text[PATH_MAX + 8192];

	snprintf(text, sizeof(text),
	    "{\"listen\": {\"address\": \"198.18.0.1\"},\n"
	    " \"tls\": {\"ca\": \"ca.pem\", \"cert\": \"c.pem\", "
	    "\"key\": \"c.key\"}%s%s%s%s%s\n}\n",
	    dir != NULL ? ",\n \"sites_dir\": " : "", dir != NULL ? dir : "",
	    sites != NULL ? ",\n \"sites\": [\n" : "",
	    sites != NULL ? sites : "", sites != NULL ? "]" : "");
	put("popd.json", text);
}

/* A site file: name, identity and one LAN prefix, all on line 1. */
static void
put_site(const char *file, const char *name, const char *id, const char *lan)
{
	char text[512];

	snprintf(text, sizeof(text),
	    "{\"name\": \"%s\", \"identity\": \"%s\", \"lan\": [\"%s\"]}\n",
	    name, id, lan);
	put(file, text);
}

static struct config *
load_ok(void)
{
	struct config_errors e = {0};
	struct config       *conf;
	char                *got;

	conf = config_load(at("popd.json"), CONFIG_POPD, &e);
	got = joined(&e);
	ck_assert_msg(conf != NULL && e.n == 0, "refused:\n%s", got);
	free(got);
	config_errors_clear(&e);
	return conf;
}

/* Refused with exactly these lines; "@" in want stands for tmp. */
static void
load_fails(const char *want)
{
	struct config_errors e = {0};
	struct config       *conf;
	char                 w[8192], *got;
	const char          *p;
	size_t               n = 0;

	for (p = want; *p != '\0' && n + strlen(tmp) + 1 < sizeof(w); p++)
		if (*p == '@') {
			memcpy(w + n, tmp, strlen(tmp));
			n += strlen(tmp);
		} else
			w[n++] = *p;
	w[n] = '\0';
	conf = config_load(at("popd.json"), CONFIG_POPD, &e);
	got = joined(&e);
	ck_assert_msg(conf == NULL, "accepted, wanted:\n%s", w);
	ck_assert_msg(strcmp(got, w) == 0, "want:\n%sgot:\n%s", w, got);
	free(got);
	config_errors_clear(&e);
}

/* ------------------------------------------------------------ accepted */

/*
 * Site files come after the inline sites, sorted by name whatever order
 * the directory lists them in; dotfiles, editor and packager leftovers,
 * other suffixes, directories, FIFOs and links to /dev/null (a masked
 * file, as systemd masks units) are not site files, even when broken.
 */
START_TEST(merged_in_order)
{
	struct config *conf;
	char           buf[PREFIX_STRLEN];

	put_main("\"sites.d\"",
	    "{\"name\": \"hq\", \"identity\": \"hq.lab\", "
	    "\"lan\": [\"10.1.0.0/16\"]}");
	put_site("sites.d/b-site.json", "branch-b", "b.lab", "10.3.0.0/16");
	put_site("sites.d/a-site.json", "branch-a", "a.lab", "10.2.0.0/16");
	put_site("sites.d/10-z.json", "branch-z", "z.lab", "10.4.0.0/16");
	put("sites.d/README", "not json");
	put("sites.d/.hidden.json", "{");
	put("sites.d/.a-site.json.swp", "{");
	put("sites.d/a-site.json~", "{");
	put("sites.d/#a-site.json#", "{");
	put("sites.d/a-site.json.dpkg-old", "{");
	put("sites.d/a-site.JSON", "{");
	ck_assert_int_eq(mkdir(at("sites.d/dir.json"), 0755), 0);
	ck_assert_int_eq(mkfifo(at("sites.d/fifo.json"), 0600), 0);
	ck_assert_int_eq(symlink("/dev/null", at("sites.d/masked.json")), 0);

	conf = load_ok();
	ck_assert_str_eq(conf->sites_dir, at("sites.d"));
	ck_assert_uint_eq(conf->nsites, 4);
	ck_assert_str_eq(conf->sites[0].name, "hq");
	ck_assert_str_eq(conf->sites[1].name, "branch-z"); /* "10-z.json" */
	ck_assert_str_eq(conf->sites[2].name, "branch-a");
	ck_assert_str_eq(conf->sites[3].name, "branch-b");
	ck_assert_str_eq(conf->sites[2].identity, "a.lab");
	ck_assert_uint_eq(conf->sites[3].nlan, 1);
	ck_assert_str_eq(prefix_ntop(&conf->sites[3].lan[0], buf, sizeof(buf)),
	    "10.3.0.0/16");
	config_free(conf);
}
END_TEST

/*
 * With a sites_dir, "sites" may be absent or empty; a symbolic link to a
 * site file is one; an absolute sites_dir is taken as it is.
 */
START_TEST(files_only)
{
	struct config *conf;
	char           dir[PATH_MAX + 2];

	put_site("a.json", "branch-a", "a.lab", "10.2.0.0/16");
	ck_assert_int_eq(symlink(at("a.json"), at("sites.d/a.json")), 0);
	put_main("\"sites.d\"", NULL);
	conf = load_ok();
	ck_assert_uint_eq(conf->nsites, 1);
	ck_assert_str_eq(conf->sites[0].name, "branch-a");
	config_free(conf);

	snprintf(dir, sizeof(dir), "\"%s\"", at("sites.d"));
	put_main(dir, "");
	conf = load_ok();
	ck_assert_uint_eq(conf->nsites, 1);
	ck_assert_str_eq(conf->sites_dir, at("sites.d"));
	config_free(conf);
}
END_TEST

/*
 * config_parse() reads no directory (it is a pure function of the text,
 * and fuzzed): it gives the inline sites and the resolved sites_dir.
 */
START_TEST(parse_reads_no_directory)
{
	static const char text[] =
	    "{\"listen\": {\"address\": \"198.18.0.1\"},"
	    " \"tls\": {\"ca\": \"ca.pem\", \"cert\": \"c.pem\", \"key\": "
	    "\"c.key\"}, \"sites_dir\": \"/nonexistent/sites.d\"}";
	struct config_errors e = {0};
	struct config       *conf;

	conf = config_parse(
	    text, strlen(text), "/etc/wanpair/popd.json", CONFIG_POPD, &e);
	ck_assert_msg(conf != NULL, "%s", e.n ? e.lines[0] : "");
	ck_assert_uint_eq(conf->nsites, 0);
	ck_assert_str_eq(conf->sites_dir, "/nonexistent/sites.d");
	config_free(conf);
}
END_TEST

/* Exactly CONFIG_SITE_FILES_MAX files load. */
START_TEST(files_max)
{
	struct config *conf;
	char           file[64], name[32], lan[32];
	int            i;

	put_main("\"sites.d\"", NULL);
	for (i = 0; i < CONFIG_SITE_FILES_MAX; i++) {
		snprintf(file, sizeof(file), "sites.d/s%05d.json", i);
		snprintf(name, sizeof(name), "s%d", i);
		snprintf(lan, sizeof(lan), "10.%d.%d.0/24", i / 256, i % 256);
		put_site(file, name, name, lan);
	}
	conf = load_ok();
	ck_assert_uint_eq(conf->nsites, CONFIG_SITE_FILES_MAX);
	ck_assert_str_eq(conf->sites[CONFIG_SITE_FILES_MAX - 1].name, "s4095");
	config_free(conf);

	/* One more is refused without reading any. */
	put("sites.d/zzz.json", "{");
	load_fails("@/popd.json:3:15: sites_dir: more than 4096 site files "
		   "in \"@/sites.d\"\n");
}
END_TEST

/* ------------------------------------------------------------ refused */

/* Errors inside a site file name it, with positions in it. */
START_TEST(errors_in_a_file)
{
	put_main("\"sites.d\"",
	    "{\"name\": \"hq\", \"identity\": \"hq.lab\", "
	    "\"lan\": [\"10.1.0.0/16\"]}");
	put("sites.d/a.json",
	    "{\"name\": \"branch-a\",\n"
	    " \"identity\": \"a.lab\",\n"
	    " \"lan\": [\"10.2.0.0/16\",]\n"
	    "}\n");
	load_fails("@/sites.d/a.json:3:24: (syntax): unexpected token near "
		   "']'\n");

	/* Every error of every file, the main file's first, then the
	 * files' in name order, each in its file's order. */
	put_main("\"sites.d\"",
	    "{\"name\": \"hq\", \"identity\": \"hq.lab\", "
	    "\"lan\": [\"10.1.0.0/16\"], \"colour\": 1}");
	put("sites.d/a.json",
	    "{\"name\": \"branch-a\",\n"
	    " \"lan\": [\"10.2.0.1/16\"],\n"
	    " \"idnetity\": \"a.lab\"}\n");
	put("sites.d/b.json", "[\"branch-b\"]\n");
	put("sites.d/c.json", "");
	load_fails("@/popd.json:5:62: sites[0].colour: unknown key\n"
		   "@/sites.d/a.json:1:1: (root): missing key \"identity\"\n"
		   "@/sites.d/a.json:2:10: lan[0]: host bits set after the "
		   "prefix length: \"10.2.0.1/16\"\n"
		   "@/sites.d/a.json:3:2: idnetity: unknown key (did you "
		   "mean \"identity\"?)\n"
		   "@/sites.d/b.json:1:1: (root): must be an object, got "
		   "array\n"
		   "@/sites.d/c.json:1:1: (syntax): unexpected token near end "
		   "of file\n");
}
END_TEST

/*
 * A name or identity used twice, or LANs that overlap, across the inline
 * sites and the files: the error is in the later one's file and says
 * where the other is.
 */
START_TEST(duplicates_across_files)
{
	put_main("\"sites.d\"",
	    "{\"name\": \"hq\", \"identity\": \"hq.lab\", "
	    "\"lan\": [\"10.1.0.0/16\"]}");
	put_site("sites.d/a.json", "hq", "a.lab", "10.2.0.0/16");
	put_site("sites.d/b.json", "branch-b", "HQ.lab", "10.3.0.0/16");
	put_site("sites.d/c.json", "branch-c", "c.lab", "10.1.2.0/24");
	put_site("sites.d/d.json", "branch-b", "d.lab", "10.2.128.0/17");
	load_fails(
	    "@/sites.d/a.json:1:10: name: duplicate site name \"hq\" (also "
	    "sites[0] at @/popd.json:5:10)\n"
	    "@/sites.d/b.json:1:34: identity: duplicate identity \"HQ.lab\" "
	    "(also sites[0] at @/popd.json:5:28)\n"
	    "@/sites.d/c.json:1:51: lan[0]: \"10.1.2.0/24\" overlaps "
	    "\"10.1.0.0/16\" (sites[0].lan[0] at @/popd.json:5:46)\n"
	    "@/sites.d/d.json:1:10: name: duplicate site name \"branch-b\" "
	    "(also @/sites.d/b.json:1:10)\n"
	    "@/sites.d/d.json:1:51: lan[0]: \"10.2.128.0/17\" overlaps "
	    "\"10.2.0.0/16\" (lan[0] at @/sites.d/a.json:1:45)\n");
}
END_TEST

/* One byte more than CONFIG_SITE_FILE_MAX_BYTES is refused, naming the
 * file; exactly that many loads. */
START_TEST(oversized_file)
{
	struct config    *conf;
	char             *text;
	size_t            len = CONFIG_SITE_FILE_MAX_BYTES;
	static const char site[] = "{\"name\": \"a\", \"identity\": \"a\", "
				   "\"lan\": [\"10.2.0.0/16\"]}";
	FILE             *f;

	put_main("\"sites.d\"", NULL);
	ck_assert_ptr_nonnull(text = malloc(len + 1));
	memset(text, ' ', len + 1);
	memcpy(text, site, strlen(site));
	ck_assert_ptr_nonnull(f = fopen(at("sites.d/big.json"), "w"));
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	conf = load_ok();
	ck_assert_uint_eq(conf->nsites, 1);
	config_free(conf);

	ck_assert_ptr_nonnull(f = fopen(at("sites.d/big.json"), "w"));
	ck_assert_uint_eq(fwrite(text, 1, len + 1, f), len + 1);
	ck_assert_int_eq(fclose(f), 0);
	free(text);
	load_fails("@/sites.d/big.json:0:0: (file): larger than 16384 bytes\n");
}
END_TEST

/*
 * A sites_dir that does not exist, or is not a directory, is an error at
 * start (a typo would otherwise start a PoP that serves nobody); so is a
 * PoP left with no site at all.
 */
START_TEST(missing_or_empty_directory)
{
	put_main("\"nope.d\"",
	    "{\"name\": \"hq\", \"identity\": \"hq.lab\", "
	    "\"lan\": [\"10.1.0.0/16\"]}");
	load_fails("@/popd.json:3:15: sites_dir: cannot open \"@/nope.d\": No "
		   "such file or directory\n");
	put_main("\"popd.json\"", NULL);
	load_fails("@/popd.json:3:15: sites_dir: cannot open \"@/popd.json\": "
		   "Not a directory\n");

	put("sites.d/README", "put site files here");
	put_main("\"sites.d\"", NULL);
	load_fails("@/popd.json:3:15: sites_dir: no sites: \"@/sites.d\" has "
		   "no site files and there is no \"sites\"\n");
	put_main("\"sites.d\"", "");
	load_fails("@/popd.json:3:15: sites_dir: no sites: \"@/sites.d\" has "
		   "no site files and \"sites\" is empty\n");
	/* Without sites_dir, "sites" stays required and non-empty. */
	put_main(NULL, "");
	load_fails("@/popd.json:3:11: sites: must not be empty\n");
}
END_TEST

/* Refused, with every error line in the site file's name; never
 * accepted, never a crash. */
static void
refused_in(const char *file, const char *text, size_t len)
{
	struct config_errors e = {0};
	FILE                *f;
	size_t               i;

	ck_assert_ptr_nonnull(f = fopen(at(file), "w"));
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_ptr_null(config_load(at("popd.json"), CONFIG_POPD, &e));
	ck_assert_uint_ge(e.n, 1);
	for (i = 0; i < e.n; i++)
		ck_assert_msg(
		    strncmp(e.lines[i], at(file), strlen(at(file))) == 0,
		    "%zu bytes: %s", len, e.lines[i]);
	config_errors_clear(&e);
}

/* Every truncation of a good site file, and garbage, is refused in that
 * file's name. */
START_TEST(truncated_and_garbage)
{
	static const char good[] =
	    "{\"name\": \"branch-a\", \"identity\": \"a.lab\", "
	    "\"lan\": [\"10.2.0.0/16\", \"2001:db8:2::/48\"]}";
	char     junk[256];
	unsigned seed = 17;
	size_t   len, i, j;

	put_main("\"sites.d\"", NULL);
	for (len = 0; len < strlen(good); len++)
		refused_in("sites.d/a.json", good, len);
	for (i = 0; i < 200; i++) {
		len = (size_t)rand_r(&seed) % sizeof(junk);
		for (j = 0; j < len; j++)
			junk[j] = (char)rand_r(&seed);
		if (len > 0 && (junk[0] == '{' || junk[0] == '['))
			junk[0] = '?';
		refused_in("sites.d/a.json", junk, len);
	}
}
END_TEST

/* What sites_dir itself must be. */
START_TEST(bad_value)
{
	put_main("\"\"", NULL);
	load_fails("@/popd.json:3:15: sites_dir: must be a path of 1..4095 "
		   "bytes\n");
	put_main("[\"sites.d\"]", NULL);
	load_fails("@/popd.json:3:15: sites_dir: must be a string, got "
		   "array\n");
	put_main("\"sites\\n.d\"", NULL);
	load_fails("@/popd.json:3:15: sites_dir: must not contain control "
		   "characters; got \"sites\\n.d\"\n");
}
END_TEST

/* socketd.json has no sites_dir. */
START_TEST(socketd_has_none)
{
	expect_socketd("{\"site\": \"s\", \"links\": [" LINK1 "],\n"
		       "\"sites_dir\": \"sites.d\"}",
	    "t.json:2:1: sites_dir: unknown key\n");
}
END_TEST

static Suite *
sitesdir_suite(void)
{
	Suite *s = suite_create("sitesdir");
	TCase *tc;

	tc = tcase_create("accepted");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, merged_in_order);
	tcase_add_test(tc, files_only);
	tcase_add_test(tc, parse_reads_no_directory);
	tcase_add_test(tc, files_max);
	suite_add_tcase(s, tc);

	tc = tcase_create("refused");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, errors_in_a_file);
	tcase_add_test(tc, duplicates_across_files);
	tcase_add_test(tc, oversized_file);
	tcase_add_test(tc, truncated_and_garbage);
	tcase_add_test(tc, missing_or_empty_directory);
	tcase_add_test(tc, bad_value);
	tcase_add_test(tc, socketd_has_none);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(sitesdir_suite());
}
