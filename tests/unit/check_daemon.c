/*
 * The skeleton (daemon/daemon.c) with a fake daemon in it, as lldpd's
 * tests swap lldpd_ops: the reload sequence asks the daemon only about a
 * file it could apply (not one that does not parse, changes a key bound
 * at start or names TLS files that do not load), commits what the
 * daemon's begin accepted, aborts what it refused, and keeps the running
 * configuration either way; the counters get the skeleton's own.
 */
#include "autoconf.h"

#include <check.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check_pki.h"
#include "check_run.h"
#include "daemon.h"
#include "log.h"
#include "reload.h"

/* What the fake daemon was asked. */
static struct fake {
	struct config *conf; /* the one it runs on */
	int            begins, commits, aborts, stops;
	int            refuse; /* its begin refuses */
} fake;

static void *
fake_init(struct daemon *d, struct config *conf, struct event_base *base)
{
	(void)d, (void)base;
	memset(&fake, 0, sizeof(fake));
	fake.conf = conf;
	return &fake;
}

static void
fake_stop(void *arg)
{
	((struct fake *)arg)->stops++;
}

static json_t *
fake_counters(void *arg)
{
	(void)arg;
	return json_pack("{s:s}", "daemon", "fake");
}

static int
fake_begin(void *arg, struct daemon_reload *r)
{
	struct fake *f = arg;

	f->begins++;
	if (f->refuse)
		return daemon_refuse(r, "sites[0]", "the fake refuses");
	return 0;
}

static void
fake_commit(void *arg, struct daemon_reload *r)
{
	struct fake *f = arg;

	f->commits++;
	f->conf = r->conf; /* r->ssl_ctx not taken: the skeleton frees it */
}

static void
fake_abort(void *arg, struct daemon_reload *r)
{
	(void)r;
	((struct fake *)arg)->aborts++;
}

static const struct daemon_ops fake_ops = {
    .name = "fake",
    .kind = CONFIG_POPD,
    .tls_server = 1,
    .endpoint_key = "listen",
    .drop_cap = -1,
    .init = fake_init,
    .stop = fake_stop,
    .counters = fake_counters,
    .reload_begin = fake_begin,
    .reload_commit = fake_commit,
    .reload_abort = fake_abort,
};

static struct event_base *base;
static struct daemon     *d;

/* popd.json in the PKI directory: listen address, TLS directory, and
 * `more` (from line 3 on) at the end of the root object. */
static void
write_conf_more(const char *listen, const char *tlsdir, const char *more)
{
	FILE *f;

	ck_assert_ptr_nonnull(f = fopen(path("popd.json"), "w"));
	ck_assert_int_gt(
	    fprintf(f,
		"{\"listen\": {\"address\": \"%s\"},\n"
		" \"tls\": {\"ca\": \"%s/ca.pem\","
		" \"cert\": \"%s/pop.pem\","
		" \"key\": \"%s/pop.key\"},\n"
		" \"sites\": [{\"name\": \"a\", \"identity\": "
		"\"a.example.net\", \"lan\": [\"10.1.0.0/16\"]}]%s}\n",
		listen, pki, tlsdir, tlsdir, more),
	    0);
	ck_assert_int_eq(fclose(f), 0);
}

static void
write_conf(const char *listen, const char *tlsdir)
{
	write_conf_more(listen, tlsdir, "");
}

static void
setup(void)
{
	struct config_errors errs = {0};
	struct config       *conf;

	log_init("check_daemon", 1, 0);
	write_conf("198.18.0.1", pki);
	conf = config_load(path("popd.json"), CONFIG_POPD, &errs);
	ck_assert_msg(conf != NULL, "%s", errs.n ? errs.lines[0] : "?");
	ck_assert_ptr_nonnull(base = event_base_new());
	ck_assert_ptr_nonnull(d = daemon_new(&fake_ops, conf, base));
	ck_assert_ptr_eq(daemon_state(d), &fake);
}

static void
teardown(void)
{
	daemon_free(d);
	ck_assert_int_eq(fake.stops, 1);
	event_base_free(base);
}

START_TEST(reload_applied)
{
	struct config_errors errs = {0};
	struct config       *before = fake.conf;

	ck_assert_int_eq(daemon_reload(d, &errs), 0);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_int_eq(fake.begins, 1);
	ck_assert_int_eq(fake.commits, 1);
	ck_assert_int_eq(fake.aborts, 0);
	ck_assert_ptr_ne(fake.conf, before);
	ck_assert_str_eq(fake.conf->file, path("popd.json"));
	/* and again, from the configuration the first one made */
	ck_assert_int_eq(daemon_reload(d, &errs), 0);
	ck_assert_int_eq(fake.commits, 2);
}
END_TEST

START_TEST(reload_refused_by_the_daemon)
{
	struct config_errors errs = {0};
	struct config       *before = fake.conf;

	fake.refuse = 1;
	ck_assert_int_eq(daemon_reload(d, &errs), -1);
	ck_assert_int_eq(fake.begins, 1);
	ck_assert_int_eq(fake.aborts, 1);
	ck_assert_int_eq(fake.commits, 0);
	ck_assert_ptr_eq(fake.conf, before);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_ptr_nonnull(strstr(errs.lines[0],
	    "popd.json:3:12: "
	    "sites[0]: the fake refuses"));
	config_errors_clear(&errs);
}
END_TEST

/* What the skeleton refuses never reaches the daemon. */
START_TEST(reload_refused_before_the_daemon)
{
	struct config_errors errs = {0};
	FILE                *f;

	write_conf("198.18.0.2", pki);
	ck_assert_int_eq(daemon_reload(d, &errs), -1);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_ptr_nonnull(strstr(errs.lines[0],
	    "popd.json:1:13: listen.address: changing it needs a restart"));
	config_errors_clear(&errs);

	write_conf("198.18.0.1", "/nonexistent");
	ck_assert_int_eq(daemon_reload(d, &errs), -1);
	ck_assert_ptr_nonnull(strstr(errs.lines[0], "popd.json:2:2: tls: "));
	config_errors_clear(&errs);

	ck_assert_ptr_nonnull(f = fopen(path("popd.json"), "w"));
	fputs("{\"listen\": ", f);
	fclose(f);
	ck_assert_int_eq(daemon_reload(d, &errs), -1);
	ck_assert_uint_ge(errs.n, 1);
	config_errors_clear(&errs);

	ck_assert_int_eq(fake.begins, 0);
	ck_assert_int_eq(fake.commits + fake.aborts, 0);
}
END_TEST

/*
 * offload is bound when the TUN device and the sockets are opened: a
 * reload that turns it off is refused at the key, one that writes out
 * the default changes nothing and is applied.
 */
START_TEST(reload_offload)
{
	struct config_errors errs = {0};
	char                 want[PATH_MAX + 64];

	write_conf_more("198.18.0.1", pki, ",\n \"offload\": false");
	ck_assert_int_eq(daemon_reload(d, &errs), -1);
	ck_assert_uint_eq(errs.n, 1);
	snprintf(want, sizeof(want),
	    "%s:4:2: offload: changing it needs a restart", path("popd.json"));
	ck_assert_str_eq(errs.lines[0], want);
	config_errors_clear(&errs);
	ck_assert_int_eq(fake.begins, 0);
	ck_assert_int_eq(fake.conf->offload, 1);

	write_conf_more("198.18.0.1", pki, ",\n \"offload\": true");
	ck_assert_int_eq(daemon_reload(d, &errs), 0);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_int_eq(fake.commits, 1);
	ck_assert_int_eq(fake.conf->offload, 1);
}
END_TEST

/* popd.json with `listen` as its listen value. */
static void
write_listen(const char *listen)
{
	FILE *f;

	ck_assert_ptr_nonnull(f = fopen(path("popd.json"), "w"));
	fprintf(f,
	    "{\"listen\": %s,\n"
	    " \"tls\": {\"ca\": \"%s/ca.pem\", \"cert\": \"%s/pop.pem\","
	    " \"key\": \"%s/pop.key\"},\n"
	    " \"sites\": [{\"name\": \"a\", \"identity\": "
	    "\"a.example.net\", \"lan\": [\"10.1.0.0/16\"]}]}\n",
	    listen, pki, pki, pki);
	ck_assert_int_eq(fclose(f), 0);
}

/*
 * popd's listen entries are bound at start: the object form written as a
 * one-entry list is the same configuration, one entry more is refused at
 * "listen".
 */
START_TEST(reload_listen_list)
{
	struct config_errors errs = {0};
	char                 want[PATH_MAX + 64];

	write_listen("[{\"address\": \"198.18.0.1\"}]");
	ck_assert_int_eq(daemon_reload(d, &errs), 0);
	ck_assert_int_eq(fake.commits, 1);

	write_listen("[{\"address\": \"198.18.0.1\"}, "
		     "{\"address\": \"2001:db8::1\"}]");
	ck_assert_int_eq(daemon_reload(d, &errs), -1);
	ck_assert_uint_eq(errs.n, 1);
	snprintf(want, sizeof(want),
	    "%s:1:2: listen: changing it needs a restart (2 addresses, were "
	    "1)",
	    path("popd.json"));
	ck_assert_str_eq(errs.lines[0], want);
	config_errors_clear(&errs);
	ck_assert_int_eq(fake.commits, 1);
}
END_TEST

/* What reload_fixed_keys() says from conf[0] to conf[1] (every line,
 * each ending in a newline), and that it says nothing from conf[0] to
 * itself. */
static void
fixed_refusals(const char *const conf[2], enum config_kind kind,
    const char *key, const char *want)
{
	struct config_errors errs = {0};
	struct reload_where  w = {.file = "t.json", .pos = NULL};
	struct config       *c[2];
	char                 got[1024] = "";
	size_t               i;

	for (i = 0; i < 2; i++)
		ck_assert_ptr_nonnull(
		    c[i] = config_parse(
			conf[i], strlen(conf[i]), "t.json", kind, &errs));
	ck_assert_int_eq(reload_fixed_keys(c[0], c[1], key, &w, &errs), -1);
	for (i = 0; i < errs.n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s\n",
		    errs.lines[i]);
	ck_assert_str_eq(got, want);
	config_errors_clear(&errs);
	ck_assert_int_eq(reload_fixed_keys(c[0], c[0], key, &w, &errs), 0);
	config_free(c[0]);
	config_free(c[1]);
}

/* Each entry's address and ports are refused at their own key; socketd's
 * pop addresses and pop's ports too. */
#define SITE "{\"name\": \"a\", \"identity\": \"a\", \"lan\": [\"10.0.0.0/8\"]}"
START_TEST(fixed_keys_per_entry)
{
	static const char *const popd[] = {
	    "{\"listen\": [{\"address\": \"198.18.0.1\"}, "
	    "{\"address\": \"2001:db8::1\"}], \"tls\": {\"ca\": \"a\", "
	    "\"cert\": \"b\", \"key\": \"c\"}, \"sites\": [" SITE "]}",
	    "{\"listen\": [{\"address\": \"198.18.0.1\"}, "
	    "{\"address\": \"2001:db8::2\", \"data_port\": 1}], \"tls\": "
	    "{\"ca\": \"a\", \"cert\": \"b\", \"key\": \"c\"}, "
	    "\"sites\": [" SITE "]}",
	};
	static const char *const sock[] = {
	    "{\"site\": \"s\", \"links\": [{\"name\": \"W\", "
	    "\"device\": \"e\", \"up_mbps\": 1, \"down_mbps\": 1}], "
	    "\"lan\": [\"10.0.0.0/8\"], \"tls\": {\"ca\": \"a\", "
	    "\"cert\": \"b\", \"key\": \"c\"}, \"pop\": {\"identity\": "
	    "\"p\", \"address\": [\"198.18.0.1\", \"2001:db8::1\"]}}",
	    "{\"site\": \"s\", \"links\": [{\"name\": \"W\", "
	    "\"device\": \"e\", \"up_mbps\": 1, \"down_mbps\": 1}], "
	    "\"lan\": [\"10.0.0.0/8\"], \"tls\": {\"ca\": \"a\", "
	    "\"cert\": \"b\", \"key\": \"c\"}, \"pop\": {\"identity\": "
	    "\"p\", \"control_port\": 9, \"address\": [\"198.18.0.1\", "
	    "\"2001:db8::9\"]}}",
	};

	fixed_refusals(popd, CONFIG_POPD, "listen",
	    "t.json:0:0: listen[1].address: changing it needs a restart\n"
	    "t.json:0:0: listen[1].data_port: changing it needs a restart\n");
	fixed_refusals(sock, CONFIG_SOCKETD, "pop",
	    "t.json:0:0: pop.control_port: changing it needs a restart\n"
	    "t.json:0:0: pop.address[1]: changing it needs a restart\n");
}
END_TEST

/* `wanpairctl counters` and the metrics: the daemon's object and the
 * skeleton's evictions. */
START_TEST(counters_have_the_skeletons)
{
	json_t *j = daemon_counters(d);

	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(
	    json_string_value(json_object_get(j, "daemon")), "fake");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(j, "ctl_evicted")), 0);
	ck_assert_ptr_nonnull(json_object_get(j, "metrics_evicted"));
	ck_assert_ptr_nonnull(json_object_get(j, "metrics_limited"));
	json_decref(j);
}
END_TEST

/* What ran, in order: 'C' a control callback, 'D' the data event. */
static char ran[32];
static int  nran, pipefd[2];

static void
spin_us(long us)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while (
	    (b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000 <
	    us);
}

/* A control callback as long as a TLS handshake step; the first makes
 * a datagram arrive. */
static void
control_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (nran == 0)
		ck_assert_int_eq(write(pipefd[1], "x", 1), 1);
	spin_us(DAEMON_SLICE_US + 500);
	ran[nran++] = 'C';
}

static void
data_cb(evutil_socket_t fd, short what, void *arg)
{
	char c;

	(void)what;
	(void)arg;
	ck_assert_int_eq(read(fd, &c, 1), 1);
	ran[nran++] = 'D';
}

/*
 * Ten control callbacks ready at once, each longer than the slice, and a
 * datagram arriving during the first: the data event runs right after
 * that one, not after all ten (which would have held it 15 ms).
 */
START_TEST(data_before_control)
{
	struct event_base *b;
	struct event      *ctl[10], *data;
	int                i;

	ck_assert_ptr_nonnull(b = daemon_base_new());
	ck_assert_int_eq(pipe(pipefd), 0);
	ck_assert_ptr_nonnull(data = event_new(b, pipefd[0],
				  EV_READ | EV_PERSIST, data_cb, NULL));
	ck_assert_int_eq(event_priority_set(data, DAEMON_PRIO_DATA), 0);
	ck_assert_int_eq(event_add(data, NULL), 0);
	for (i = 0; i < 10; i++) {
		ck_assert_ptr_nonnull(
		    ctl[i] = event_new(b, -1, 0, control_cb, NULL));
		event_active(ctl[i], EV_TIMEOUT, 0);
	}
	for (i = 0; i < 100 && nran < 11; i++)
		ck_assert_int_ne(event_base_loop(b, EVLOOP_NONBLOCK), -1);
	ran[nran] = '\0';
	ck_assert_str_eq(ran, "CDCCCCCCCCC");
	for (i = 0; i < 10; i++)
		event_free(ctl[i]);
	event_free(data);
	close(pipefd[0]);
	close(pipefd[1]);
	event_base_free(b);
}
END_TEST

static Suite *
daemon_suite(void)
{
	Suite *s = suite_create("daemon");
	TCase *tc = tcase_create("skeleton");

	tcase_add_unchecked_fixture(tc, make_pki, remove_pki);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, reload_applied);
	tcase_add_test(tc, reload_refused_by_the_daemon);
	tcase_add_test(tc, reload_refused_before_the_daemon);
	tcase_add_test(tc, reload_offload);
	tcase_add_test(tc, reload_listen_list);
	tcase_add_test(tc, fixed_keys_per_entry);
	tcase_add_test(tc, counters_have_the_skeletons);
	suite_add_tcase(s, tc);
	tc = tcase_create("loop");
	tcase_add_test(tc, data_before_control);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run_pki("check_daemon", daemon_suite);
}
