/*
 * wanpair-socketd's logic without its TUN device: the daemon is a library
 * (socketd/libsocketd.a), so these tests build a struct socketd from a
 * configuration file, as socketd_ops.init does, open its links' sockets
 * on loopback (dataplane_links_start(): a link needs only a source
 * address), and drive what the operator and a reload would: a link taken
 * down moves its flows, and a reload adds, removes and keeps links with
 * their wire ids, sockets and flows, or is refused whole.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_flows.h"
#include "check_pki.h"
#include "check_run.h"
#include "config.h"
#include "daemon.h"
#include "flow.h"
#include "log.h"
#include "socketd.h"

/* socketd.json in the PKI directory: the TLS files and the links. */
#define SOCKETD_JSON                                                           \
	"{\"site\": \"branch-17\","                                            \
	" \"pop\": {\"address\": \"127.0.0.1\", \"identity\": \"pop.lab\","    \
	"  \"data_port\": 9, \"control_port\": 9},"                            \
	" \"tls\": {\"ca\": \"%s/ca.pem\", \"cert\": \"%s/site.pem\","         \
	"  \"key\": \"%s/site.key\"},"                                         \
	" \"lan\": [\"10.17.0.0/16\"], \"flows\": {\"max\": 4096},"            \
	" \"workers\": %u, \"links\": [%s]}"

#define LINK(name, source, up)                                                 \
	"{\"name\": \"" name "\", \"source\": \"" source "\","                 \
	" \"up_mbps\": " #up ", \"down_mbps\": " #up "}"

static const char three_links[] = LINK("WAN1", "127.0.0.1", 100) "," LINK(
    "WAN2", "127.0.0.1", 20) "," LINK("WAN3", "127.0.0.1", 20);

static struct event_base *base;
static struct daemon     *d;
static struct socketd    *sd;               /* d's */
static unsigned           conf_workers = 1; /* the next write_conf()'s */

static void
write_conf(const char *links)
{
	FILE *f;

	ck_assert_ptr_nonnull(f = fopen(path("socketd.json"), "w"));
	ck_assert_int_gt(
	    fprintf(f, SOCKETD_JSON, pki, pki, pki, conf_workers, links), 0);
	ck_assert_int_eq(fclose(f), 0);
}

static void
setup(void)
{
	struct config_errors errs = {0};
	struct config       *conf;

	log_init("check_socketd", 1, 0);
	write_conf(three_links);
	conf = config_load(path("socketd.json"), CONFIG_SOCKETD, &errs);
	ck_assert_msg(conf != NULL, "%s", errs.n ? errs.lines[0] : "?");
	ck_assert_ptr_nonnull(base = event_base_new());
	ck_assert_ptr_nonnull(d = daemon_new(&socketd_ops, conf, base));
	sd = daemon_state(d);
	/* socketd_ops.start but the TUN device: the control channel tries
	 * 127.0.0.1:9 and waits to try again (the loop never runs here) */
	ck_assert_int_eq(control_init(sd), 0);
	ck_assert_int_eq(dataplane_links_start(sd), 0);
	ck_assert_int_eq(links_start(sd), 0);
	ck_assert_int_eq(control_start(sd), 0);
}

static void
teardown(void)
{
	daemon_free(d); /* socketd_ops.stop: links, engine */
	event_base_free(base);
}

/* The place of the link named `name` in sd->links. */
static unsigned
place(const char *name)
{
	size_t i;

	for (i = 0; i < sd->nlinks; i++)
		if (strcmp(sd->links[i].conf->name, name) == 0)
			return (unsigned)i;
	ck_abort_msg("no link %s", name);
	return 0;
}

static int
fd_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

/* Every link of the file, in its order, its place its wire id, each with
 * its own socket and a reader armed. */
START_TEST(links_from_config)
{
	size_t i;

	ck_assert_uint_eq(sd->nlinks, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_uint_eq(sd->links[i].id, i);
		ck_assert_int_ge(sd->links[i].s.fd[0], 0);
		ck_assert_ptr_nonnull(sd->links[i].ev);
		ck_assert(event_pending(sd->links[i].ev, EV_READ, NULL));
		ck_assert_ptr_eq(sd->links[i].conf, &sd->conf->links[i]);
		ck_assert(dataplane_link_up(sd, (unsigned)i));
	}
	ck_assert_int_ne(sd->links[0].s.fd[0], sd->links[1].s.fd[0]);
	ck_assert_str_eq(sd->links[2].conf->name, "WAN3");
}
END_TEST

/* `wanpairctl link WAN2 down`: its flows go to the live links, in
 * proportion.  `up` again is not up yet: the link must answer its probes
 * first (probe.up_after), and nothing moves or is lost meanwhile. */
START_TEST(admin_down_moves_flows)
{
	uint64_t n[CONFIG_MAX_LINKS];

	flows_on(sd->engine, 1, 6, 0);
	flows_on(sd->engine, 11, 12, 1);
	count(sd->engine, n);
	ck_assert_uint_eq(n[1], 12);
	links_admin(sd, 1, 0);
	ck_assert(!dataplane_link_up(sd, 1));
	ck_assert_uint_eq(link_cause(&sd->links[1].health), LINK_CAUSE_ADMIN);
	count(sd->engine, n);
	ck_assert_uint_eq(n[1], 0);
	ck_assert_uint_eq(n[0] + n[2], 18);
	/* 100:20 on WAN1:WAN3, the 12 moved flows split about 5:1 */
	ck_assert_uint_ge(n[0], 6 + 8);
	ck_assert_uint_ge(n[2], 1);
	/* the same order again changes nothing */
	links_admin(sd, 1, 0);
	count(sd->engine, n);
	ck_assert_uint_eq(n[0] + n[2], 18);
	links_admin(sd, 1, 1);
	ck_assert(!dataplane_link_up(sd, 1));
	ck_assert_uint_eq(link_cause(&sd->links[1].health), LINK_CAUSE_PROBES);
	count(sd->engine, n);
	ck_assert_uint_eq(n[0] + n[1] + n[2], 18);
}
END_TEST

/*
 * A reload through the skeleton (daemon_reload(), as SIGHUP and
 * `wanpairctl reload` run it): WAN2 removed, WAN4 added, WAN1
 * re-weighted.  WAN1 and WAN3 keep their wire ids, sockets and flows;
 * WAN4 takes the lowest free id (WAN2's, 1); WAN2's socket is closed and
 * its flows move to live links, none lost.
 */
START_TEST(reload_links)
{
	struct config_errors errs = {0};
	uint64_t             n[CONFIG_MAX_LINKS];
	int                  fd1, fd2, fd3;
	unsigned             w1, w3, w4;

	flows_on(sd->engine, 1, 4, 0);
	flows_on(sd->engine, 11, 6, 1);
	flows_on(sd->engine, 21, 2, 2);
	fd1 = sd->links[0].s.fd[0];
	fd2 = sd->links[1].s.fd[0];
	fd3 = sd->links[2].s.fd[0];
	sd->links[0].tx_packets = 77;

	write_conf(LINK("WAN3", "127.0.0.1", 20) "," LINK(
	    "WAN1", "127.0.0.1", 50) "," LINK("WAN4", "127.0.0.1", 10));
	ck_assert_int_eq(daemon_reload(d, &errs), 0);
	ck_assert_uint_eq(errs.n, 0);

	ck_assert_uint_eq(sd->nlinks, 3);
	w1 = place("WAN1");
	w3 = place("WAN3");
	w4 = place("WAN4");
	ck_assert_uint_eq(w3, 0); /* the new file's order */
	ck_assert_uint_eq(sd->links[w1].id, 0);
	ck_assert_uint_eq(sd->links[w3].id, 2);
	ck_assert_uint_eq(sd->links[w4].id, 1);
	ck_assert_int_eq(sd->links[w1].s.fd[0], fd1);
	ck_assert_int_eq(sd->links[w3].s.fd[0], fd3);
	ck_assert_int_ne(sd->links[w4].s.fd[0], fd2);
	ck_assert(!fd_open(fd2));
	ck_assert_uint_eq(sd->links[w1].tx_packets, 77); /* counters stay */
	ck_assert_uint_eq(sd->links[w1].conf->up_mbps, 50);
	ck_assert(event_pending(sd->links[w4].ev, EV_READ, NULL));
	ck_assert_ptr_eq(
	    event_get_callback_arg(sd->links[w1].ev), &sd->links[w1]);
	count(sd->engine, n);
	ck_assert_uint_eq(n[w1] + n[w3] + n[w4], 12); /* none lost */
	ck_assert_uint_ge(n[w1], 4);
	ck_assert_uint_ge(n[w3], 2);
	/* service levels judged anew, for the new table of links (the
	 * implicit profile has none: no state to show) */
	ck_assert_uint_eq(sd->sla_nlinks, 3);
	ck_assert_uint_eq(sd->sla_nprofiles, sd->conf->nprofiles);
	ck_assert_int_eq(links_sla_any(sd), 0);
	ck_assert_ptr_null(links_sla(sd, w4, 0));
}
END_TEST

/* A link whose source address is not on this machine refuses the reload
 * whole, saying which link and why; the running links stay as they were,
 * sockets and all. */
START_TEST(reload_refused)
{
	struct config_errors errs = {0};
	int                  fd[3];
	size_t               i;

	for (i = 0; i < 3; i++)
		fd[i] = sd->links[i].s.fd[0];
	write_conf(LINK("WAN1", "127.0.0.1", 100) "," LINK(
	    "WAN2", "127.0.0.1", 20) "," LINK("WAN9", "192.0.2.99", 5));
	ck_assert_int_eq(daemon_reload(d, &errs), -1);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_msg(strstr(errs.lines[0],
			  ": links[2]: link WAN9: bind to "
			  "source: ") != NULL,
	    "%s", errs.lines[0]);
	config_errors_clear(&errs);
	ck_assert_uint_eq(sd->nlinks, 3);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(sd->links[i].s.fd[0], fd[i]);
		ck_assert(fd_open(fd[i]));
		ck_assert_uint_eq(sd->links[i].id, i);
	}
	ck_assert_str_eq(sd->links[2].conf->name, "WAN3");
}
END_TEST

/* A configuration's TUN MTU: the worst link's, IPv6 ones 20 bytes
 * dearer; tun.mtu overrides it. */
START_TEST(tun_mtu_per_family)
{
	static const struct {
		const char *pop, *links, *tun;
		int         mtu;
	} cases[] = {
	    {"\"127.0.0.1\"", LINK("A", "127.0.0.1", 1), "", 1440},
	    {"[\"127.0.0.1\", \"::1\"]",
		LINK("A", "127.0.0.1", 1) "," LINK("B", "::1", 1), "", 1420},
	    {"[\"::1\"]", LINK("B", "::1", 1), "", 1420},
	    {"[\"127.0.0.1\", \"::1\"]",
		LINK("A", "127.0.0.1", 1) "," LINK("B", "::1", 1),
		", \"tun\": {\"mtu\": 1300}", 1300},
	};
	struct config_errors e = {0};
	struct config       *c;
	char                 json[1024];
	size_t               i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(json, sizeof(json),
		    "{\"site\": \"s\", \"lan\": [\"10.0.0.0/8\"], "
		    "\"tls\": {\"ca\": \"a\", \"cert\": \"b\", "
		    "\"key\": \"c\"}, \"pop\": {\"identity\": \"p\", "
		    "\"address\": %s}, \"links\": [%s]%s}",
		    cases[i].pop, cases[i].links, cases[i].tun);
		c = config_parse(
		    json, strlen(json), "t.json", CONFIG_SOCKETD, &e);
		ck_assert_msg(c != NULL, "%s", e.n > 0 ? e.lines[0] : "");
		ck_assert_int_eq(dataplane_tun_mtu(c), cases[i].mtu);
		config_free(c);
	}
}
END_TEST

/*
 * A link to an IPv6 PoP address has an IPv6 socket connected to it, on
 * pop.data_port until a WELCOME over a channel to that address names
 * another port; a link to another address keeps pop.data_port.
 */
START_TEST(link_socket_family)
{
	struct config_link      c6, c4;
	struct sockaddr_storage ss;
	struct lsocks           s;
	socklen_t               len = sizeof(ss);
	char                    err[256];
	int                     fd;

	memset(&c6, 0, sizeof(c6));
	snprintf(c6.name, sizeof(c6.name), "V6");
	ck_assert_int_eq(addr_parse("::1", &c6.pop), 0);
	c4 = c6;
	ck_assert_int_eq(addr_parse("127.0.0.1", &c4.pop), 0);
	fd = dataplane_link_open(sd, &c6, &s, err, sizeof(err)) == -1 ? -1
								      : s.fd[0];
	if (fd == -1)
		ck_assert_msg(strstr(err, "socket:") != NULL, "%s", err);
	if (fd == -1)
		return; /* no IPv6 on this machine */
	ck_assert_int_eq(getpeername(fd, (struct sockaddr *)&ss, &len), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 9);
	dataplane_link_close(&s);

	dataplane_set_port(sd, &c6.pop, 7777);
	ck_assert_uint_gt(dataplane_pop_sockaddr(sd, &c6, 0, &ss), 0);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 7777);
	ck_assert_uint_gt(dataplane_pop_sockaddr(sd, &c4, 0, &ss), 0);
	ck_assert_int_eq(ss.ss_family, AF_INET);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), 9);
	c4.pop.family = 0;
	ck_assert_uint_eq(dataplane_pop_sockaddr(sd, &c4, 0, &ss), 0);
}
END_TEST

/* What arrives on fd within a second: its byte count, or -1. */
static ssize_t
recv_within(int fd, uint8_t *buf, size_t len)
{
	struct pollfd p = {fd, POLLIN, 0};

	if (poll(&p, 1, 1000) != 1)
		return -1;
	return recv(fd, buf, len, MSG_DONTWAIT);
}

static void
setup_two(void)
{
	conf_workers = 2;
	setup();
	conf_workers = 1;
}

/*
 * Two workers: each link is a group of two unconnected sockets on one
 * port, and the kernel hands each datagram to the socket of worker (its
 * byte 2, the worker byte, modulo 2), whatever the sender's port.
 */
START_TEST(workers_steer_by_worker_byte)
{
	struct sockaddr_in a[2], peer;
	socklen_t          len;
	uint8_t            dg[32], got[64];
	int                s, i, b;

	ck_assert_uint_eq(sd->nworkers, 2);
	for (i = 0; i < 2; i++) {
		ck_assert_int_ge(sd->links[0].s.fd[i], 0);
		ck_assert_ptr_nonnull(sd->links[0].s.uio[i]);
		len = sizeof(a[i]);
		ck_assert_int_eq(getsockname(sd->links[0].s.fd[i],
				     (struct sockaddr *)&a[i], &len),
		    0);
		len = sizeof(peer);
		ck_assert_int_eq(getpeername(sd->links[0].s.fd[i],
				     (struct sockaddr *)&peer, &len),
		    -1);
	}
	ck_assert_uint_eq(a[0].sin_port, a[1].sin_port);
	ck_assert_int_eq(sd->links[1].s.fd[2], -1);
	ck_assert_int_ge(s = socket(AF_INET, SOCK_DGRAM, 0), 0);
	memset(dg, 0, sizeof(dg));
	for (b = 0; b < 4; b++) {
		dg[2] = (uint8_t)b;
		dg[20] = (uint8_t)(0xa0 + b);
		ck_assert_int_eq(sendto(s, dg, sizeof(dg), 0,
				     (struct sockaddr *)&a[0], sizeof(a[0])),
		    (ssize_t)sizeof(dg));
		ck_assert_int_eq(
		    recv_within(sd->links[0].s.fd[b % 2], got, sizeof(got)),
		    (ssize_t)sizeof(dg));
		ck_assert_uint_eq(got[20], 0xa0 + b);
		ck_assert_int_eq(recv(sd->links[0].s.fd[(b + 1) % 2], got,
				     sizeof(got), MSG_DONTWAIT),
		    -1);
	}
	close(s);
}
END_TEST

static Suite *
socketd_suite(void)
{
	Suite *s = suite_create("socketd");
	TCase *tc = tcase_create("links");
	TCase *two = tcase_create("workers");

	tcase_add_unchecked_fixture(tc, make_pki, remove_pki);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, links_from_config);
	tcase_add_test(tc, admin_down_moves_flows);
	tcase_add_test(tc, reload_links);
	tcase_add_test(tc, reload_refused);
	tcase_add_test(tc, tun_mtu_per_family);
	tcase_add_test(tc, link_socket_family);
	suite_add_tcase(s, tc);
	tcase_add_unchecked_fixture(two, make_pki, remove_pki);
	tcase_add_checked_fixture(two, setup_two, teardown);
	tcase_add_test(two, workers_steer_by_worker_byte);
	suite_add_tcase(s, two);
	return s;
}

int
main(void)
{
	return check_run_pki("check_socketd", socketd_suite);
}
