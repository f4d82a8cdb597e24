/*
 * The parts of common/udpio.c that need no network, for check_udpio: the
 * run planner (which datagrams become one UDP_SEGMENT message) and the
 * parsing of UDP_GRO control messages, including the ones a kernel should
 * never send (truncated, zero, negative, past the control buffer), fed
 * through an injected recvmmsg and read under ASan in the sanitizer build.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_udpio.h"
#include "udpio.h"

/* ------------------------------------------------------------ planner */

/* q[i] of lens[i] bytes, packed, to port dst[i] of 127.0.0.1 (0:
 * connected). */
static void
fill_q(struct udpio_txd *q, size_t n, const size_t *lens, const int *dst)
{
	uint32_t off = 0;
	size_t   i;

	memset(q, 0, n * sizeof(*q));
	for (i = 0; i < n; i++) {
		q[i].off = off;
		q[i].len = (uint32_t)lens[i];
		off += q[i].len;
		if (dst == NULL || dst[i] == 0)
			continue;
		q[i].dstlen = sizeof(struct sockaddr_in);
		q[i].dst.sin.sin_family = AF_INET;
		q[i].dst.sin.sin_port = htons((uint16_t)dst[i]);
		q[i].dst.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	}
}

static void
assert_run(const struct udpio_run *r, size_t first, size_t n, unsigned seg)
{
	ck_assert_uint_eq(r->first, first);
	ck_assert_uint_eq(r->n, n);
	ck_assert_uint_eq(r->seg, seg);
}

START_TEST(plan_one_destination)
{
	struct udpio_txd q[N];
	struct udpio_run runs[N];
	size_t           lens[N], i, nr;
	int              dst[N];

	for (i = 0; i < N; i++) {
		lens[i] = DGRAM;
		dst[i] = 4000;
	}
	fill_q(q, N, lens, dst);
	/* 46 x 1400 = 64400 fits in 65507, 47 would not. */
	nr = udpio_plan(q, N, UDPIO_GSO_SEGS, UDPIO_GSO_BYTES4, runs, N);
	ck_assert_uint_eq(nr, 3);
	assert_run(&runs[0], 0, 46, DGRAM);
	assert_run(&runs[1], 46, 46, DGRAM);
	assert_run(&runs[2], 92, 8, DGRAM);
	ck_assert_uint_eq(runs[0].bytes, 46 * DGRAM);
	/* No GSO: a message each; maxruns bounds a round. */
	ck_assert_uint_eq(udpio_plan(q, N, 1, UDPIO_GSO_BYTES4, runs, N), N);
	assert_run(&runs[99], 99, 1, 0);
	ck_assert_uint_eq(udpio_plan(q, N, 1, UDPIO_GSO_BYTES4, runs, 64), 64);
	/* Connected: no destination at all, the same runs. */
	fill_q(q, N, lens, NULL);
	ck_assert_uint_eq(
	    udpio_plan(q, N, UDPIO_GSO_SEGS, UDPIO_GSO_BYTES4, runs, N), 3);
}
END_TEST

START_TEST(plan_mixed_sizes_and_destinations)
{
	/* A run ends after a shorter datagram, before a longer one, at a
	 * new destination, and never takes a zero-length one. */
	static const size_t lens[] = {1400, 1400, 1400, 1000, 1400, 1400, 1000,
	    1400, 1400, 1400, 1400, 1400, 100, 0, 0, 50, 50};
	static const int    dst[] = {
	       1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 1, 1, 1, 1, 1, 1, 1};
	struct udpio_txd q[17];
	struct udpio_run runs[17];
	size_t           nr;

	fill_q(q, 17, lens, dst);
	nr = udpio_plan(q, 17, UDPIO_GSO_SEGS, UDPIO_GSO_BYTES4, runs, 17);
	ck_assert_uint_eq(nr, 8);
	assert_run(&runs[0], 0, 4, 1400); /* 3 x 1400 + 1000 */
	ck_assert_uint_eq(runs[0].bytes, 5200);
	assert_run(&runs[1], 4, 3, 1400);  /* 1400 1400 1000 */
	assert_run(&runs[2], 7, 1, 0);     /* 1400, then destination 2 */
	assert_run(&runs[3], 8, 2, 1400);  /* to 2 */
	assert_run(&runs[4], 10, 3, 1400); /* 1400 1400 100 */
	assert_run(&runs[5], 13, 1, 0);    /* 0 */
	assert_run(&runs[6], 14, 1, 0);    /* 0 */
	assert_run(&runs[7], 15, 2, 50);
}
END_TEST

START_TEST(plan_gaps_and_growth)
{
	static const size_t lens[] = {1000, 1400, 1400};
	struct udpio_txd    q[3];
	struct udpio_run    runs[3];

	fill_q(q, 3, lens, NULL);
	/* 1000 then 1400: a longer one cannot follow. */
	ck_assert_uint_eq(
	    udpio_plan(q, 3, UDPIO_GSO_SEGS, UDPIO_GSO_BYTES4, runs, 3), 2);
	assert_run(&runs[0], 0, 1, 0);
	assert_run(&runs[1], 1, 2, 1400);
	/* Not adjacent in the arena: not one iovec, not one run. */
	q[2].off += 1;
	ck_assert_uint_eq(
	    udpio_plan(q, 3, UDPIO_GSO_SEGS, UDPIO_GSO_BYTES4, runs, 3), 3);
}
END_TEST

/* n datagrams of len bytes, connected, planned under max_bytes. */
static size_t
plan_same(size_t n, size_t len, size_t max_bytes, struct udpio_run *runs)
{
	struct udpio_txd q[N];
	size_t           lens[N], i;

	ck_assert_uint_le(n, N);
	for (i = 0; i < n; i++)
		lens[i] = len;
	fill_q(q, n, lens, NULL);
	return udpio_plan(q, n, UDPIO_GSO_SEGS, max_bytes, runs, N);
}

START_TEST(plan_caps)
{
	struct udpio_txd q[2];
	struct udpio_run runs[N];
	size_t           lens[2];

	ck_assert_uint_eq(plan_same(N, 100, UDPIO_GSO_BYTES4, runs), 2);
	assert_run(&runs[0], 0, 64, 100); /* the segment cap */
	assert_run(&runs[1], 64, 36, 100);
	/* 9000-byte jumbo datagrams: 7 x 9000 = 63000, 8 would not fit. */
	ck_assert_uint_eq(plan_same(10, 9000, UDPIO_GSO_BYTES6, runs), 2);
	assert_run(&runs[0], 0, 7, 9000);
	assert_run(&runs[1], 7, 3, 9000);
	/* The byte cap is inclusive: 5 x 13097 = 65485 <= 65487 ... */
	ck_assert_uint_eq(plan_same(6, 13097, UDPIO_GSO_BYTES6, runs), 2);
	assert_run(&runs[0], 0, 5, 13097);
	ck_assert_uint_eq(runs[0].bytes, 65485);
	/* ... and nothing past it: 65487 exactly, then one over. */
	lens[0] = 65487 - 13097;
	lens[1] = 13097;
	fill_q(q, 2, lens, NULL);
	ck_assert_uint_eq(
	    udpio_plan(q, 2, UDPIO_GSO_SEGS, UDPIO_GSO_BYTES6, runs, N), 1);
	lens[0]++;
	fill_q(q, 2, lens, NULL);
	ck_assert_uint_eq(
	    udpio_plan(q, 2, UDPIO_GSO_SEGS, UDPIO_GSO_BYTES6, runs, N), 2);
}
END_TEST

/* A control buffer holding one cmsg of level/type with dlen data bytes
 * of value v (int or u16 by dlen) and claiming cmsg_len. */
static void
put_cmsg(struct msghdr *h, size_t dlen, size_t cmsg_len, int v)
{
	struct cmsghdr *c = CMSG_FIRSTHDR(h);
	uint16_t        v16 = (uint16_t)v;

	ck_assert_ptr_nonnull(c);
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_GRO;
	c->cmsg_len = cmsg_len;
	if (dlen == sizeof(int))
		memcpy(CMSG_DATA(c), &v, sizeof(v));
	else if (dlen == sizeof(v16))
		memcpy(CMSG_DATA(c), &v16, sizeof(v16));
	h->msg_controllen = CMSG_SPACE(dlen);
}

START_TEST(gro_size_parse)
{
	union {
		struct cmsghdr c;
		uint8_t        b[64];
	} ctl;
	struct msghdr h = {.msg_control = &ctl, .msg_controllen = sizeof(ctl)};

	memset(&ctl, 0, sizeof(ctl));
	put_cmsg(&h, sizeof(int), CMSG_LEN(sizeof(int)), 1400);
	ck_assert_int_eq(udpio_gro_size(&h), 1400);
	put_cmsg(&h, 2, CMSG_LEN(2), 1200);
	ck_assert_int_eq(udpio_gro_size(&h), 1200);
	put_cmsg(&h, sizeof(int), CMSG_LEN(sizeof(int)), 0);
	ck_assert_int_eq(udpio_gro_size(&h), 0);
	put_cmsg(&h, sizeof(int), CMSG_LEN(sizeof(int)), -5);
	ck_assert_int_eq(udpio_gro_size(&h), 0);
	put_cmsg(&h, sizeof(int), CMSG_LEN(1), 1400); /* too short */
	ck_assert_int_eq(udpio_gro_size(&h), 0);
	h.msg_controllen = 0;
	ck_assert_int_eq(udpio_gro_size(&h), 0);
	h.msg_controllen = sizeof(ctl);
	put_cmsg(&h, sizeof(int), CMSG_LEN(sizeof(int)), 1400);
	h.msg_flags = MSG_CTRUNC;
	ck_assert_int_eq(udpio_gro_size(&h), -1);
}
END_TEST

/*
 * What a fake recvmmsg returns, message by message: its length, the
 * cmsg (data bytes, claimed cmsg_len, value; dlen 0 for none), its
 * msg_flags, the datagrams udpio must make of it, and, when `tight` is
 * not 0, the control buffer is an allocation of its own that holds the
 * header and tight - 1 data bytes, whatever cmsg_len claims: ASan sees
 * any read past it.
 */
static const struct fake_msg {
	size_t len, dlen, cmsg_len;
	int    v, flags;
	size_t views, tight;
} fake_msgs[] = {
    {5, sizeof(int), CMSG_LEN(sizeof(int)), 1, 0, 5, 0},    /* bytes */
    {3000, sizeof(int), CMSG_LEN(sizeof(int)), 0, 0, 1, 0}, /* size 0 */
    {3000, sizeof(int), CMSG_LEN(1), 1000, 0, 1, 0},        /* short */
    {3000, sizeof(int), CMSG_LEN(sizeof(int)), 1000, MSG_CTRUNC, 0, 0},
    {3000, 2, CMSG_LEN(2), 1000, 0, 3, 0},                    /* u16 */
    {100, sizeof(int), CMSG_LEN(sizeof(int)), 5000, 0, 1, 0}, /* > len */
    {100, sizeof(int), CMSG_LEN(sizeof(int)), -7, 0, 1, 0},   /* < 0 */
    {3000, 0, 0, 0, MSG_TRUNC, 0, 0},                         /* too big */
    {2500, sizeof(int), CMSG_LEN(sizeof(int)), 1000, 0, 3,
	0},                /* 1000 1000 500 */
    {0, 0, 0, 0, 0, 1, 0}, /* empty */
    /* Claims 4 data bytes; the buffer ends after the header, or after
     * 2 data bytes. */
    {3000, 0, CMSG_LEN(sizeof(int)), 0, 0, 1, 1},
    {3000, 0, CMSG_LEN(sizeof(int)), 0, 0, 1, 3},
};
#define NFAKE (sizeof(fake_msgs) / sizeof(fake_msgs[0]))

static uint8_t *tight_ctl[NFAKE];

static int
fake_recvmmsg(
    int fd, struct mmsghdr *m, unsigned n, int flags, struct timespec *tmo)
{
	const struct fake_msg *f;
	struct msghdr         *h;
	struct cmsghdr        *c;
	unsigned               i;

	(void)fd, (void)flags, (void)tmo;
	ck_assert_uint_ge(n, NFAKE);
	for (i = 0; i < NFAKE; i++) {
		f = &fake_msgs[i];
		h = &m[i].msg_hdr;
		ck_assert_uint_ge(h->msg_iov[0].iov_len, f->len);
		memset(h->msg_iov[0].iov_base, (int)i, f->len);
		m[i].msg_len = (unsigned)f->len;
		h->msg_flags = f->flags;
		h->msg_namelen = sizeof(struct sockaddr_in);
		memset(h->msg_name, 0, sizeof(struct sockaddr_in));
		if (f->cmsg_len == 0) {
			h->msg_controllen = 0;
		} else if (f->tight != 0) {
			h->msg_controllen = CMSG_LEN(0) + f->tight - 1;
			tight_ctl[i] = calloc(1, h->msg_controllen);
			ck_assert_ptr_nonnull(tight_ctl[i]);
			h->msg_control = tight_ctl[i];
			c = CMSG_FIRSTHDR(h);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_GRO;
			c->cmsg_len = f->cmsg_len;
		} else {
			put_cmsg(h, f->dlen, f->cmsg_len, f->v);
		}
	}
	return (int)NFAKE;
}

START_TEST(gro_cmsg_defensive)
{
	static const struct udpio_sys sys = {
	    .recvmmsg = fake_recvmmsg, .sendmmsg = sendmmsg};
	const struct udpio_stats *rs;
	struct udpio_dgram        d;
	struct udpio             *u;
	size_t                    i, v, want = 0, off;
	int                       fd;

	/* Any UDP socket: the fake recvmmsg never reads it. */
	ck_assert_int_ne(fd = socket(AF_INET, SOCK_DGRAM, 0), -1);
	ck_assert_ptr_nonnull(u = udpio_new(fd, NULL));
	udpio_set_sys(u, &sys);
	rs = udpio_stats(u);
	for (i = 0; i < NFAKE; i++)
		want += fake_msgs[i].views;
	ck_assert_int_eq(udpio_recv(u), (int)want);
	for (i = 0; i < NFAKE; i++) {
		const struct fake_msg *f = &fake_msgs[i];
		size_t seg = f->views > 1 ? (size_t)f->v : f->len;

		for (v = 0, off = 0; v < f->views; v++, off += d.len) {
			ck_assert_int_eq(udpio_next(u, &d), 1);
			ck_assert_uint_eq(
			    d.len, f->len - off < seg ? f->len - off : seg);
			if (d.len > 0)
				ck_assert_uint_eq(d.data[0], i);
		}
		ck_assert_uint_eq(off, f->len * (f->views > 0));
	}
	ck_assert_int_eq(udpio_next(u, &d), 0);
	ck_assert_uint_eq(rs->rx_bad_cmsg, 1);
	ck_assert_uint_eq(rs->rx_trunc, 1);
	ck_assert_uint_eq(rs->rx_gro_split, 3);
	ck_assert_uint_eq(rs->rx_dgrams, want);
	udpio_free(u);
	for (i = 0; i < NFAKE; i++)
		free(tight_ctl[i]);
	close(fd);
}
END_TEST

TCase *
udpio_pure_tcase(void)
{
	TCase *tc = tcase_create("pure");

	tcase_add_test(tc, plan_one_destination);
	tcase_add_test(tc, plan_mixed_sizes_and_destinations);
	tcase_add_test(tc, plan_gaps_and_growth);
	tcase_add_test(tc, plan_caps);
	tcase_add_test(tc, gro_size_parse);
	tcase_add_test(tc, gro_cmsg_defensive);
	return tc;
}
