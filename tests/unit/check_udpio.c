/*
 * Batched UDP I/O (common/udpio.c) on loopback, unprivileged.  What a user
 * would notice: 100 datagrams arrive byte-exact and in order in a handful
 * of syscalls, with GSO and GRO or without, from a connected or an
 * unconnected socket; a kernel that refuses a segmented send (EIO, EINVAL)
 * costs no datagram; a full socket buffer keeps the rest queued in order;
 * a refused datagram is counted and skipped; a strange GRO control
 * message never makes udpio read past its buffers (run under ASan).
 *
 * The run planner and the GRO cmsg parser are checked on their own,
 * without sockets, in check_udpio_pure.c.  Failures the loopback never
 * produces (EIO, EINVAL, EAGAIN, ENETUNREACH) are injected through
 * udpio_set_sys() in front of the real sendmmsg.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "check_udpio.h"
#include "udpio.h"
#include "wire.h"

/* ----------------------------------------------------------- loopback */

struct peer {
	int                     fd;
	struct sockaddr_storage ss;
	socklen_t               len;
};

/* A UDP socket on the loopback address of family, port 0: -1 when the
 * family has no loopback here (no ::1). */
static int
peer_open(struct peer *p, int family)
{
	struct sockaddr_storage ss;
	socklen_t               len;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof(*sin6);
	}
	p->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd == -1)
		return -1;
	if (bind(p->fd, (struct sockaddr *)&ss, len) == -1) {
		close(p->fd);
		return -1;
	}
	p->len = sizeof(p->ss);
	ck_assert_int_eq(
	    getsockname(p->fd, (struct sockaddr *)&p->ss, &p->len), 0);
	return 0;
}

/* Datagram i's bytes: its number, then a pattern of it. */
static void
fill(uint8_t *p, size_t len, unsigned i)
{
	size_t j;

	for (j = 0; j < len; j++)
		p[j] = (uint8_t)(i * 31 + j * 7);
}

/* Datagrams first..first+n of len bytes, written in place, to dst (NULL:
 * the socket is connected). */
static void
queue_n(struct udpio *u, unsigned first, unsigned n, size_t len,
    const struct peer *dst)
{
	unsigned i;
	uint8_t *p;
	size_t   cap;

	for (i = first; i < first + n; i++) {
		p = udpio_slot(u, &cap);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_ge(cap, len);
		fill(p, len, i);
		ck_assert_int_eq(udpio_commit(u, len,
				     dst ? (struct sockaddr *)&dst->ss : NULL,
				     dst ? dst->len : 0),
		    0);
	}
}

/*
 * Receives until `want` datagrams came or nothing came for a second;
 * checks each is the next of idx[] (NULL: 0, 1, 2, ...), len bytes, from
 * `from`.  Returns how many came.
 */
static int
recv_check(struct udpio *u, const struct peer *rx, int want, size_t len,
    const struct peer *from, const unsigned *idx)
{
	struct udpio_dgram d;
	struct pollfd      pfd = {.fd = rx->fd, .events = POLLIN};
	uint8_t            exp[UDPIO_DGRAM_MAX];
	unsigned           i;
	int                got = 0;

	while (got < want && poll(&pfd, 1, 1000) == 1) {
		ck_assert_int_ge(udpio_recv(u), 0);
		while (udpio_next(u, &d) == 1) {
			ck_assert_int_lt(got, want);
			i = idx != NULL ? idx[got] : (unsigned)got;
			ck_assert_uint_eq(d.len, len);
			fill(exp, len, i);
			ck_assert_msg(memcmp(d.data, exp, len) == 0,
			    "datagram %d is not datagram %u", got, i);
			ck_assert_uint_eq(d.fromlen, from->len);
			ck_assert(memcmp(d.from, &from->ss, from->len) == 0);
			got++;
		}
	}
	return got;
}

struct rig {
	struct peer   a, b; /* a sends to b */
	struct udpio *tx, *rx;
};

static int
rig_open(struct rig *r, int family, unsigned txflags, unsigned rxflags)
{
	struct udpio_conf tc = {.flags = txflags}, rc = {.flags = rxflags};

	if (peer_open(&r->a, family) == -1)
		return -1;
	ck_assert_int_eq(peer_open(&r->b, family), 0);
	/* 100 x 1400 bytes and their skb overhead pass the default 208 KiB
	 * of rmem only just: ask for more (unprivileged: up to rmem_max). */
	ck_assert_int_eq(udpio_bufsize(r->b.fd, 4 << 20, NULL, NULL), 0);
	r->tx = udpio_new(r->a.fd, &tc);
	r->rx = udpio_new(r->b.fd, &rc);
	ck_assert_ptr_nonnull(r->tx);
	ck_assert_ptr_nonnull(r->rx);
	return 0;
}

static void
rig_close(struct rig *r)
{
	udpio_free(r->tx);
	udpio_free(r->rx);
	close(r->a.fd);
	close(r->b.fd);
}

static void
skip_v6(void)
{
	printf("udpio: no ::1 here, IPv6 case skipped\n");
}

/* 100 x 1400 bytes, one destination, GSO on, a receiver without GRO. */
static void
batch_round_trip(int family)
{
	const struct udpio_stats *ts, *rs;
	struct rig                r;

	if (rig_open(&r, family, 0, UDPIO_NO_GRO) == -1) {
		skip_v6();
		return;
	}
	ts = udpio_stats(r.tx);
	rs = udpio_stats(r.rx);
	ck_assert_uint_eq(udpio_offloads(r.rx) & UDPIO_GRO, 0);
	queue_n(r.tx, 0, N, DGRAM, &r.b);
	ck_assert_uint_eq(udpio_pending(r.tx), N);
	ck_assert_int_eq(udpio_flush(r.tx), N);
	ck_assert_uint_eq(udpio_pending(r.tx), 0);
	ck_assert_int_eq(recv_check(r.rx, &r.b, N, DGRAM, &r.a, NULL), N);
	ck_assert_uint_eq(ts->tx_syscalls, 1);
	ck_assert_uint_eq(ts->tx_dgrams, N);
	ck_assert_uint_eq(ts->tx_bytes, N * DGRAM);
	if (udpio_offloads(r.tx) & UDPIO_GSO) {
		ck_assert_uint_eq(ts->tx_msgs, 3); /* 46 + 46 + 8 */
		ck_assert_uint_eq(ts->tx_gso_msgs, 3);
	}
	ck_assert_uint_lt(rs->rx_syscalls, N);
	ck_assert_uint_eq(rs->rx_dgrams, N);
	ck_assert_uint_eq(rs->rx_gro_split, 0);
	printf("udpio: %s, no GRO: %d datagrams in %llu sendmmsg "
	       "(%llu messages) and %llu recvmmsg\n",
	    family == AF_INET ? "IPv4" : "IPv6", N,
	    (unsigned long long)ts->tx_syscalls,
	    (unsigned long long)ts->tx_msgs,
	    (unsigned long long)rs->rx_syscalls);
	rig_close(&r);
}

START_TEST(batch_ipv4)
{
	batch_round_trip(AF_INET);
}
END_TEST

START_TEST(batch_ipv6)
{
	batch_round_trip(AF_INET6);
}
END_TEST

/*
 * The same to a GRO socket.  On loopback the kernel hands a segmented
 * skb to a socket with UDP_GRO whole (udp_unexpected_gso() is false for
 * it), so the receiver gets the sender's 3 messages and must split them.
 */
static void
gro_round_trip(int family)
{
	const struct udpio_stats *rs;
	struct rig                r;

	if (rig_open(&r, family, 0, 0) == -1) {
		skip_v6();
		return;
	}
	rs = udpio_stats(r.rx);
	queue_n(r.tx, 0, N, DGRAM, &r.b);
	ck_assert_int_eq(udpio_flush(r.tx), N);
	ck_assert_int_eq(recv_check(r.rx, &r.b, N, DGRAM, &r.a, NULL), N);
	ck_assert_uint_eq(rs->rx_dgrams, N);
	if (rs->rx_gro_split == 0) {
		printf("udpio: %s: the kernel did not coalesce (GSO %s, GRO "
		       "%s): split path not asserted\n",
		    family == AF_INET ? "IPv4" : "IPv6",
		    udpio_offloads(r.tx) & UDPIO_GSO ? "on" : "off",
		    udpio_offloads(r.rx) & UDPIO_GRO ? "on" : "off");
	} else {
		ck_assert_uint_eq(rs->rx_msgs, 3);
		ck_assert_uint_eq(rs->rx_gro_split, 3);
		printf("udpio: %s, GRO: %d datagrams in %llu recvmmsg, %llu "
		       "messages\n",
		    family == AF_INET ? "IPv4" : "IPv6", N,
		    (unsigned long long)rs->rx_syscalls,
		    (unsigned long long)rs->rx_msgs);
	}
	rig_close(&r);
}

START_TEST(gro_ipv4)
{
	gro_round_trip(AF_INET);
}
END_TEST

START_TEST(gro_ipv6)
{
	gro_round_trip(AF_INET6);
}
END_TEST

/* ---------------------------------------------- injected syscalls */

/* What the fakes saw and how they behave. */
static struct {
	int      err;       /* refuse a segmented message with it */
	uint16_t bad_port;  /* refuse messages to it: ENETUNREACH */
	int      calls;     /* sendmmsg calls allowed, then EAGAIN (-1: any) */
	unsigned per_call;  /* messages per call at most (0: all) */
	unsigned segmented; /* messages seen with a control buffer */
} fake;

static void
fake_reset(void)
{
	memset(&fake, 0, sizeof(fake));
	fake.calls = -1;
}

static int
refused(const struct mmsghdr *m)
{
	const struct sockaddr_in *sin = m->msg_hdr.msg_name;

	if (fake.err != 0 && m->msg_hdr.msg_controllen != 0)
		return fake.err;
	if (fake.bad_port != 0 && sin != NULL &&
	    ntohs(sin->sin_port) == fake.bad_port)
		return ENETUNREACH;
	return 0;
}

/* The kernel's way: send up to the first refused message, report the
 * refusal only when it is the first. */
static int
fake_sendmmsg(int fd, struct mmsghdr *m, unsigned n, int flags)
{
	unsigned i;

	if (fake.calls == 0) {
		errno = EAGAIN;
		return -1;
	}
	if (fake.calls > 0)
		fake.calls--;
	if (fake.per_call != 0 && n > fake.per_call)
		n = fake.per_call;
	for (i = 0; i < n; i++) {
		if (m[i].msg_hdr.msg_controllen != 0)
			fake.segmented++;
		if (refused(&m[i]) != 0)
			break;
	}
	if (i == 0 && n > 0) {
		errno = refused(&m[0]);
		return -1;
	}
	return sendmmsg(fd, m, i, flags);
}

static const struct udpio_sys fake_sys = {
    .recvmmsg = recvmmsg, .sendmmsg = fake_sendmmsg};

START_TEST(offload_off)
{
	const struct udpio_stats *ts, *rs;
	struct rig                r;

	fake_reset();
	rig_open(&r, AF_INET, UDPIO_NO_OFFLOAD, UDPIO_NO_OFFLOAD);
	udpio_set_sys(r.tx, &fake_sys);
	ts = udpio_stats(r.tx);
	rs = udpio_stats(r.rx);
	ck_assert_uint_eq(udpio_offloads(r.tx), 0);
	ck_assert_uint_eq(udpio_offloads(r.rx), 0);
	queue_n(r.tx, 0, N, DGRAM, &r.b);
	ck_assert_int_eq(udpio_flush(r.tx), N);
	ck_assert_int_eq(recv_check(r.rx, &r.b, N, DGRAM, &r.a, NULL), N);
	ck_assert_uint_eq(fake.segmented, 0); /* no UDP_SEGMENT */
	ck_assert_uint_eq(ts->tx_gso_msgs, 0);
	ck_assert_uint_eq(ts->tx_msgs, N);
	ck_assert_uint_eq(ts->tx_syscalls, 2); /* 64 + 36 */
	ck_assert_uint_eq(rs->rx_gro_split, 0);
	ck_assert_uint_lt(rs->rx_syscalls, N);
	rig_close(&r);
}
END_TEST

/*
 * 100 datagrams through a sendmmsg that refuses every segmented message
 * with err: 1 if they all arrived, 0 if this kernel has no GSO to refuse.
 */
static int
gso_refused(struct rig *r, int err)
{
	fake_reset();
	fake.err = err;
	rig_open(r, AF_INET, 0, UDPIO_NO_GRO);
	if (!(udpio_offloads(r->tx) & UDPIO_GSO)) {
		printf("udpio: no GSO in this kernel, %s case skipped\n",
		    strerror(err));
		rig_close(r);
		return 0;
	}
	udpio_set_sys(r->tx, &fake_sys);
	queue_n(r->tx, 0, N, DGRAM, &r->b);
	ck_assert_int_eq(udpio_flush(r->tx), N);
	ck_assert_int_eq(recv_check(r->rx, &r->b, N, DGRAM, &r->a, NULL), N);
	ck_assert_uint_eq(udpio_stats(r->tx)->tx_msgs, N);
	ck_assert_uint_eq(udpio_stats(r->tx)->tx_gso_msgs, 0);
	return 1;
}

/* EIO from a segmented send: GSO off for good, nothing lost. */
START_TEST(gso_eio_falls_back)
{
	const struct udpio_stats *ts;
	struct rig                r;

	if (!gso_refused(&r, EIO))
		return;
	ts = udpio_stats(r.tx);
	ck_assert_uint_eq(udpio_offloads(r.tx) & UDPIO_GSO, 0);
	ck_assert_uint_eq(ts->tx_gso_off, 1);
	ck_assert_uint_eq(ts->tx_err_other, 0);
	/* The next flush does not try again. */
	fake.segmented = 0;
	queue_n(r.tx, 0, 10, DGRAM, &r.b);
	ck_assert_int_eq(udpio_flush(r.tx), 10);
	ck_assert_uint_eq(fake.segmented, 0);
	ck_assert_int_eq(recv_check(r.rx, &r.b, 10, DGRAM, &r.a, NULL), 10);
	rig_close(&r);
}
END_TEST

/* EINVAL (a segment over the route's MTU): that run goes unsegmented,
 * GSO stays on for the next. */
START_TEST(gso_einval_resends_run)
{
	const struct udpio_stats *ts;
	struct rig                r;

	if (!gso_refused(&r, EINVAL))
		return;
	ts = udpio_stats(r.tx);
	ck_assert_uint_eq(ts->tx_gso_retry, 3);
	ck_assert_uint_eq(ts->tx_gso_off, 0);
	ck_assert_uint_ne(udpio_offloads(r.tx) & UDPIO_GSO, 0);
	ck_assert_uint_eq(ts->tx_err_other, 0);
	rig_close(&r);
}
END_TEST

/* A short sendmmsg goes on; EAGAIN keeps the rest, in order, for the
 * next flush. */
START_TEST(partial_and_eagain)
{
	const struct udpio_stats *ts;
	struct rig                r;

	fake_reset();
	fake.per_call = 2;
	fake.calls = 3;
	rig_open(&r, AF_INET, UDPIO_NO_OFFLOAD, UDPIO_NO_OFFLOAD);
	udpio_set_sys(r.tx, &fake_sys);
	ts = udpio_stats(r.tx);
	queue_n(r.tx, 0, N, DGRAM, &r.b);
	ck_assert_int_eq(udpio_flush(r.tx), 6);
	ck_assert_uint_eq(udpio_pending(r.tx), N - 6);
	ck_assert_uint_eq(ts->tx_eagain, 1);
	ck_assert_uint_eq(ts->tx_syscalls, 4);
	/* More queued behind the rest, then the socket drains. */
	queue_n(r.tx, N, 10, DGRAM, &r.b);
	fake.calls = -1;
	fake.per_call = 0;
	ck_assert_int_eq(udpio_flush(r.tx), N + 10 - 6);
	ck_assert_uint_eq(udpio_pending(r.tx), 0);
	ck_assert_int_eq(
	    recv_check(r.rx, &r.b, N + 10, DGRAM, &r.a, NULL), N + 10);
	/* Or the caller gives up on them. */
	fake.calls = 0;
	queue_n(r.tx, 0, 5, DGRAM, &r.b);
	ck_assert_int_eq(udpio_flush(r.tx), 0);
	udpio_discard(r.tx);
	ck_assert_uint_eq(udpio_pending(r.tx), 0);
	ck_assert_uint_eq(ts->tx_dropped, 5);
	rig_close(&r);
}
END_TEST

/* One refused destination among good ones: counted, skipped, the rest
 * sent in the same flush. */
START_TEST(refused_destination_skipped)
{
	static const unsigned     idx[] = {0, 1, 2, 3, 4, 8, 9, 10, 11, 12};
	const struct udpio_stats *ts;
	struct rig                r;
	struct peer               bad;

	fake_reset();
	rig_open(&r, AF_INET, 0, UDPIO_NO_GRO);
	bad = r.b;
	((struct sockaddr_in *)&bad.ss)->sin_port = htons(9);
	fake.bad_port = 9;
	udpio_set_sys(r.tx, &fake_sys);
	ts = udpio_stats(r.tx);
	queue_n(r.tx, 0, 5, DGRAM, &r.b);
	queue_n(r.tx, 5, 3, DGRAM, &bad);
	queue_n(r.tx, 8, 5, DGRAM, &r.b);
	ck_assert_int_eq(udpio_flush(r.tx), 10);
	ck_assert_uint_eq(ts->tx_err_unreach, 3);
	ck_assert_int_eq(recv_check(r.rx, &r.b, 10, DGRAM, &r.a, idx), 10);
	rig_close(&r);
}
END_TEST

/* socketd's link sockets are connected: no msg_name; a closed port
 * answers ECONNREFUSED on a later send, which is counted and skipped. */
START_TEST(connected_socket)
{
	const struct udpio_stats *ts;
	struct rig                r;
	struct peer               gone;
	int                       i;

	rig_open(&r, AF_INET, 0, UDPIO_NO_GRO);
	ts = udpio_stats(r.tx);
	ck_assert_int_eq(
	    connect(r.a.fd, (struct sockaddr *)&r.b.ss, r.b.len), 0);
	queue_n(r.tx, 0, N, DGRAM, NULL);
	ck_assert_int_eq(udpio_flush(r.tx), N);
	ck_assert_int_eq(recv_check(r.rx, &r.b, N, DGRAM, &r.a, NULL), N);
	ck_assert_uint_eq(ts->tx_syscalls, 1);

	ck_assert_int_eq(peer_open(&gone, AF_INET), 0);
	close(gone.fd);
	ck_assert_int_eq(
	    connect(r.a.fd, (struct sockaddr *)&gone.ss, gone.len), 0);
	for (i = 0; i < 3; i++) {
		queue_n(r.tx, 0, 1, DGRAM, NULL);
		(void)udpio_flush(r.tx);
		ck_assert_uint_eq(udpio_pending(r.tx), 0);
		usleep(10000); /* the ICMP error comes back */
	}
	ck_assert_uint_ge(ts->tx_err_refused, 1);
	ck_assert_uint_eq(ts->tx_err_refused + ts->tx_dgrams, N + 3);
	rig_close(&r);
}
END_TEST

START_TEST(queue_limits)
{
	struct udpio_conf   c = {.tx_max = 4, .tx_size = 4096, .batch = 2};
	struct sockaddr_in6 big[2];
	struct peer         p;
	struct udpio       *u;
	uint8_t             buf[3000] = {0};
	size_t              cap;
	int                 i;

	ck_assert_int_eq(peer_open(&p, AF_INET), 0);
	ck_assert_ptr_nonnull(u = udpio_new(p.fd, &c));
	ck_assert_ptr_nonnull(udpio_slot(u, &cap));
	ck_assert_uint_eq(cap, 4096);
	/* Longer than the slot, or a destination larger than any. */
	ck_assert_int_eq(udpio_commit(u, 4097, NULL, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(
	    udpio_commit(u, 10, (struct sockaddr *)big, sizeof(big)), -1);
	ck_assert_int_eq(udpio_queue(u, buf, 3000, NULL, 0), 0);
	ck_assert_int_eq(udpio_queue(u, buf, 3000, NULL, 0), -1);
	ck_assert_int_eq(errno, ENOBUFS);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(udpio_queue(u, buf, 100, NULL, 0), 0);
	ck_assert_ptr_null(udpio_slot(u, &cap)); /* tx_max */
	ck_assert_uint_eq(udpio_pending(u), 4);
	udpio_discard(u);
	ck_assert_uint_eq(udpio_stats(u)->tx_dropped, 4);
	ck_assert_ptr_nonnull(udpio_slot(u, &cap));
	ck_assert_uint_eq(cap, 4096);
	udpio_free(u);
	/* Out of range, or not a socket. */
	c.batch = UDPIO_BATCH_MAX + 1;
	ck_assert_ptr_null(udpio_new(p.fd, &c));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(udpio_new(-1, NULL));
	close(p.fd);
}
END_TEST

/* With UDPIO_PKTINFO each datagram says where it arrived. */
static void
pktinfo_case(int family)
{
	struct udpio_conf  c = {.flags = UDPIO_PKTINFO};
	struct udpio_dgram d;
	struct peer        a, b;
	struct udpio      *tx, *rx;
	struct wp_addr     want;
	struct pollfd      pfd;
	uint8_t            one = 1;

	if (peer_open(&a, family) == -1) {
		skip_v6();
		return;
	}
	ck_assert_int_eq(peer_open(&b, family), 0);
	ck_assert_ptr_nonnull(tx = udpio_new(a.fd, NULL));
	ck_assert_ptr_nonnull(rx = udpio_new(b.fd, &c));
	ck_assert_int_eq(
	    addr_from_sockaddr((struct sockaddr *)&b.ss, &want), 0);
	ck_assert_int_eq(
	    udpio_queue(tx, &one, 1, (struct sockaddr *)&b.ss, b.len), 0);
	ck_assert_int_eq(udpio_flush(tx), 1);
	pfd.fd = b.fd;
	pfd.events = POLLIN;
	ck_assert_int_eq(poll(&pfd, 1, 1000), 1);
	ck_assert_int_eq(udpio_recv(rx), 1);
	ck_assert_int_eq(udpio_next(rx, &d), 1);
	ck_assert_int_eq(d.ifindex, (int)if_nametoindex("lo"));
	ck_assert_int_eq(d.local.family, family);
	ck_assert(memcmp(d.local.a, want.a, sizeof(want.a)) == 0);
	udpio_free(tx);
	udpio_free(rx);
	close(a.fd);
	close(b.fd);
}

START_TEST(pktinfo_ipv4)
{
	pktinfo_case(AF_INET);
}
END_TEST

START_TEST(pktinfo_ipv6)
{
	pktinfo_case(AF_INET6);
}
END_TEST

START_TEST(socket_buffers)
{
	struct peer p;
	int         rcv = 0, snd = 0;

	ck_assert_int_eq(peer_open(&p, AF_INET), 0);
	ck_assert_int_eq(udpio_bufsize(p.fd, 1 << 20, &rcv, &snd), 0);
	/* The kernel doubles what it takes; unprivileged it takes at most
	 * net.core.rmem_max, which may be less than asked. */
	ck_assert_int_gt(rcv, 0);
	ck_assert_int_gt(snd, 0);
	printf("udpio: asked 1 MiB, socket buffers rcv %d snd %d\n", rcv, snd);
	close(p.fd);
}
END_TEST

/*
 * The kernel's steering in a SO_REUSEPORT group of 4 (udpio_steer_workers())
 * is wire_steer() of each datagram's worker byte and session: 256
 * datagrams, 8 sessions of a one-worker peer (worker byte 0) and 32
 * sessions of a three-worker one, each read by the socket wire_steer()
 * names; and the one-worker peers' sessions reach every socket, not the
 * first only.  A datagram too short for a session goes to socket 0.
 */
START_TEST(steer_by_worker_and_session)
{
	enum { NSOCK = 4 };
	struct sockaddr_in sin;
	socklen_t          len = sizeof(sin);
	int fd[NSOCK], tx, one = 1, i, k, got[NSOCK] = {0}, hit[NSOCK] = {0};
	uint8_t d[16];

	for (i = 0; i < NSOCK; i++) {
		ck_assert_int_ge(
		    fd[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), 0);
		ck_assert_int_eq(setsockopt(fd[i], SOL_SOCKET, SO_REUSEPORT,
				     &one, sizeof(one)),
		    0);
		if (i == 0) {
			memset(&sin, 0, sizeof(sin));
			sin.sin_family = AF_INET;
			sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			ck_assert_int_eq(
			    bind(fd[0], (struct sockaddr *)&sin, sizeof(sin)),
			    0);
			ck_assert_int_eq(
			    getsockname(fd[0], (struct sockaddr *)&sin, &len),
			    0);
		} else
			ck_assert_int_eq(
			    bind(fd[i], (struct sockaddr *)&sin, sizeof(sin)),
			    0);
	}
	ck_assert_int_eq(udpio_steer_workers(fd[0], NSOCK), 0);
	ck_assert_int_ge(tx = socket(AF_INET, SOCK_DGRAM, 0), 0);
	for (k = 0; k < 40; k++) {
		uint32_t session = 0x9e3779b9u * (uint32_t)(k + 1);
		unsigned worker = k < 8 ? 0 : (unsigned)k % 3;
		unsigned want = wire_steer(worker, session, NSOCK);
		uint8_t  r[16];

		memset(d, 0, sizeof(d));
		d[2] = (uint8_t)worker;
		d[4] = (uint8_t)(session >> 24);
		d[5] = (uint8_t)(session >> 16);
		d[6] = (uint8_t)(session >> 8);
		d[7] = (uint8_t)session;
		ck_assert_int_eq(sendto(tx, d, sizeof(d), 0,
				     (struct sockaddr *)&sin, sizeof(sin)),
		    (ssize_t)sizeof(d));
		ck_assert_int_eq(
		    poll(&(struct pollfd){fd[want], POLLIN, 0}, 1, 1000), 1);
		ck_assert_int_eq(
		    recv(fd[want], r, sizeof(r), 0), (ssize_t)sizeof(r));
		got[want]++;
		if (k < 8)
			hit[want] = 1;
	}
	for (i = 0; i < NSOCK; i++)
		ck_assert_int_gt(got[i], 0);
	ck_assert_int_ge(hit[0] + hit[1] + hit[2] + hit[3], 3);
	/* 3 bytes: no session word: socket 0 */
	ck_assert_int_eq(
	    sendto(tx, d, 3, 0, (struct sockaddr *)&sin, sizeof(sin)), 3);
	ck_assert_int_eq(poll(&(struct pollfd){fd[0], POLLIN, 0}, 1, 1000), 1);
	close(tx);
	for (i = 0; i < NSOCK; i++)
		close(fd[i]);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("udpio");
	TCase *io = tcase_create("loopback");

	suite_add_tcase(s, udpio_pure_tcase());
	tcase_add_test(io, batch_ipv4);
	tcase_add_test(io, batch_ipv6);
	tcase_add_test(io, gro_ipv4);
	tcase_add_test(io, gro_ipv6);
	tcase_add_test(io, offload_off);
	tcase_add_test(io, gso_eio_falls_back);
	tcase_add_test(io, gso_einval_resends_run);
	tcase_add_test(io, partial_and_eagain);
	tcase_add_test(io, refused_destination_skipped);
	tcase_add_test(io, connected_socket);
	tcase_add_test(io, queue_limits);
	tcase_add_test(io, pktinfo_ipv4);
	tcase_add_test(io, pktinfo_ipv6);
	tcase_add_test(io, socket_buffers);
	tcase_add_test(io, steer_by_worker_and_session);
	suite_add_tcase(s, io);
	return check_run(s);
}
