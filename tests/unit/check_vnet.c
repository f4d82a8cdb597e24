/*
 * TUN offloads (common/vnet.c).  What a user would notice: a TCP or UDP
 * super-segment the kernel hands over leaves as the packets a NIC would
 * have sent (payload intact, sequence numbers, IP ids, lengths, flags and
 * checksums a receiver accepts), a malformed read is refused, and packets
 * merged on the way out split back into exactly the packets that came in,
 * while anything that must not merge (a gap, a retransmission, a changed
 * header, a bad checksum, SYN) is written as it came.
 *
 * Checksums are checked as a receiver would, from the bytes with the
 * test's own one's complement sum, not with the module's.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check_run.h"
#include "vnet.h"

#include "vnet_pkt.h"

static uint8_t payload[70000];

static const struct pkt_flow tcp4 = {
    0, IPPROTO_TCP, 40000, 5201, 0x11223344, 64, 501, 12};
static const struct pkt_flow tcp6 = {
    1, IPPROTO_TCP, 40001, 5201, 0x55667788, 63, 502, 12};

/* What the kernel hands over for a TSO/USO send: one packet with all the
 * payload and the pseudo-header's partial sum in the checksum field. */
static size_t
mk_super(uint8_t *b, const struct pkt_flow *f, uint8_t gso_type, uint16_t gso,
    uint32_t seq, uint8_t flags, size_t n)
{
	struct virtio_net_hdr h;
	size_t                len;
	uint8_t              *p = b + VNET_HDR_LEN;

	len = mk_pkt(p, f, seq, 7, flags, payload, n);
	POKE_U16(p + csum_at(p), fold(pseudo_sum(p, len)));
	memset(&h, 0, sizeof(h));
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.gso_type = gso_type;
	h.hdr_len = (uint16_t)hdrs_len(f);
	h.gso_size = gso;
	h.csum_start = (uint16_t)l4_off(p);
	h.csum_offset = (uint16_t)(csum_at(p) - l4_off(p));
	vnet_hdr_encode(&h, b);
	return VNET_HDR_LEN + len;
}

static uint8_t         rd[VNET_READ_MAX + 64];
static uint8_t         area[1 << 21];
static struct vnet_seg segs[4096];

/* --------------------------------------------------- the way in */

static void
check_segments(const struct pkt_flow *f, int n, size_t gso, size_t total,
    uint32_t seq0, uint8_t flags)
{
	size_t hl = hdrs_len(f), off = 0, l4;
	int    i;

	ck_assert_int_eq(n, (int)((total + gso - 1) / gso));
	for (i = 0; i < n; i++) {
		const uint8_t *s = segs[i].p;
		size_t         len = segs[i].len, pl = len - hl;

		ck_assert_uint_eq(pl, i + 1 < n ? gso : total - off);
		ck_assert_mem_eq(s + hl, payload + off, pl);
		ck_assert_msg(ip_csum_ok(s), "segment %d: IPv4 checksum", i);
		ck_assert_msg(l4_csum_ok(s, len), "segment %d: L4 checksum", i);
		l4 = l4_off(s);
		if (f->v6)
			ck_assert_uint_eq(PEEK_U16(s + 4), len - 40);
		else {
			ck_assert_uint_eq(PEEK_U16(s + 2), len);
			ck_assert_uint_eq(PEEK_U16(s + 4), 7 + i);
		}
		if (f->proto == IPPROTO_TCP) {
			ck_assert_uint_eq(
			    PEEK_U32(s + l4 + 4), (uint32_t)(seq0 + off));
			ck_assert_uint_eq(s[l4 + 13] & F_ACK, F_ACK);
			ck_assert_uint_eq(s[l4 + 13] & (F_FIN | F_PSH),
			    i + 1 == n ? flags & (F_FIN | F_PSH) : 0);
			ck_assert_uint_eq(
			    s[l4 + 13] & F_CWR, i == 0 ? flags & F_CWR : 0);
			ck_assert_mem_eq(s + l4 + 20,
			    rd + VNET_HDR_LEN + l4 + 20, f->optlen);
		} else
			ck_assert_uint_eq(PEEK_U16(s + l4 + 4), 8 + pl);
		off += pl;
	}
	ck_assert_uint_eq(off, total);
}

static void
split_case(const struct pkt_flow *f, uint8_t type, size_t gso, size_t total,
    uint8_t flags)
{
	size_t len;
	int    n;

	len = mk_super(rd, f, type, (uint16_t)gso, 0xfffff000, flags, total);
	n = vnet_split(rd, len, area, sizeof(area), segs, 4096);
	ck_assert_msg(n > 0, "split: %s", vnet_reason_str(n));
	check_segments(f, n, gso, total, 0xfffff000, flags);
}

START_TEST(split_tcp)
{
	const uint8_t all = F_ACK | F_PSH | F_FIN | F_CWR;

	/* 44 full segments and a short one; the sequence number wraps */
	split_case(&tcp4, VIRTIO_NET_HDR_GSO_TCPV4, MSS, 44 * MSS + 700, all);
	split_case(&tcp6, VIRTIO_NET_HDR_GSO_TCPV6, MSS, 44 * MSS + 700, all);
	split_case(&tcp4, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN,
	    MSS, 45 * MSS, F_ACK | F_CWR);
	/* one segment only; the largest IPv4 packet; gso_size 1 */
	split_case(&tcp6, VIRTIO_NET_HDR_GSO_TCPV6, MSS, 100, F_ACK | F_PSH);
	split_case(&tcp4, VIRTIO_NET_HDR_GSO_TCPV4, 9000, 65535 - 52, F_ACK);
	split_case(&tcp4, VIRTIO_NET_HDR_GSO_TCPV4, 1, 3000, F_ACK | F_FIN);
}
END_TEST

START_TEST(split_udp)
{
	struct pkt_flow u4 = tcp4, u6 = tcp6;

	u4.proto = u6.proto = IPPROTO_UDP;
	split_case(&u4, VIRTIO_NET_HDR_GSO_UDP_L4, 1200, 40 * 1200 + 1, 0);
	split_case(&u6, VIRTIO_NET_HDR_GSO_UDP_L4, 1200, 40 * 1200 + 1, 0);
	split_case(&u6, VIRTIO_NET_HDR_GSO_UDP_L4, 1452, 65535 - 48, 0);
}
END_TEST

static void
set_hdr(uint8_t flags, uint8_t type, uint16_t gso, uint16_t start, uint16_t off)
{
	struct virtio_net_hdr h;

	ck_assert_int_eq(vnet_hdr_decode(rd, VNET_HDR_LEN, &h), 0);
	h.flags = flags;
	h.gso_type = type;
	h.gso_size = gso;
	h.csum_start = start;
	h.csum_offset = off;
	vnet_hdr_encode(&h, rd);
}

/* NEEDS_CSUM without GSO: finished in place, a receiver accepts it. */
START_TEST(split_csum)
{
	struct pkt_flow u4 = tcp4;
	size_t          len, at;
	uint16_t        partial;
	int             n;

	len = mk_super(rd, &tcp6, 0, 0, 1, F_ACK, 999);
	n = vnet_split(rd, len, area, sizeof(area), segs, 1);
	ck_assert_int_eq(n, 1);
	ck_assert_ptr_eq(segs[0].p, rd + VNET_HDR_LEN);
	ck_assert_uint_eq(segs[0].len, len - VNET_HDR_LEN);
	ck_assert(l4_csum_ok(segs[0].p, segs[0].len));

	/* A UDP sum of all ones: the checksum is 0, sent as 0xffff.  The
	 * last payload word is chosen to make it so. */
	u4.proto = IPPROTO_UDP;
	len = mk_super(rd, &u4, 0, 0, 0, 0, 100);
	at = VNET_HDR_LEN + 26;
	partial = PEEK_U16(rd + at);
	POKE_U16(rd + at, 0);
	POKE_U16(rd + len - 2, 0);
	POKE_U16(rd + len - 2, (uint16_t)~l4_sum(rd + VNET_HDR_LEN, len - 10));
	ck_assert_uint_eq(l4_sum(rd + VNET_HDR_LEN, len - 10), 0xffff);
	POKE_U16(rd + at, partial);
	ck_assert_int_eq(vnet_split(rd, len, area, sizeof(area), segs, 1), 1);
	ck_assert_uint_eq(PEEK_U16(rd + VNET_HDR_LEN + 26), 0xffff);
	ck_assert(l4_csum_ok(segs[0].p, segs[0].len));
	/* The same packet as a USO read of one segment: the checksum
	 * computed whole is 0 as well, and must be sent as 0xffff. */
	set_hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_UDP_L4, 1000,
	    20, 6);
	ck_assert_int_eq(vnet_split(rd, len, area, sizeof(area), segs, 1), 1);
	ck_assert_ptr_eq(segs[0].p, area);
	ck_assert_uint_eq(PEEK_U16(area + 26), 0xffff);
	ck_assert(l4_csum_ok(segs[0].p, segs[0].len));
}
END_TEST

/* GSO_NONE without flags: the bytes as they are, garbage included. */
START_TEST(split_plain)
{
	uint8_t b[64];

	memset(b, 0xa5, sizeof(b));
	vnet_hdr_plain(b);
	ck_assert_int_eq(vnet_split(b, sizeof(b), area, 0, segs, 1), 1);
	ck_assert_ptr_eq(segs[0].p, b + VNET_HDR_LEN);
	ck_assert_uint_eq(segs[0].len, 54);
	ck_assert_uint_eq(b[40], 0xa5);
	ck_assert_int_eq(vnet_split(b, VNET_HDR_LEN, area, 0, segs, 1), 1);
	ck_assert_uint_eq(segs[0].len, 0);
}
END_TEST

/* ------------------------------------------------ refused reads */

static uint8_t save[sizeof(rd)];

/* vnet_split() of rd[0..len) must fail with `want` and change nothing. */
static void
refused(size_t len, size_t maxsegs, size_t outsize, int want)
{
	int rc;

	memcpy(save, rd, sizeof(rd));
	rc = vnet_split(rd, len, area, outsize, segs, maxsegs);
	ck_assert_msg(rc == want, "got %s (%d), want %s", vnet_reason_str(rc),
	    rc, vnet_reason_str(want));
	ck_assert_mem_eq(rd, save, sizeof(rd));
}

START_TEST(split_refused)
{
	const uint8_t NC = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		      T4 = VIRTIO_NET_HDR_GSO_TCPV4;
	struct pkt_flow u4 = tcp4;
	size_t          len, i, plen, need;

	for (i = 0; i < VNET_HDR_LEN; i++)
		refused(i, 64, sizeof(area), VNET_ERR_SHORT);
	len = mk_super(rd, &tcp4, T4, MSS, 1, F_ACK, 10 * MSS);
	plen = len - VNET_HDR_LEN;
	need = 10 * 52 + 10 * MSS;
	/* exact room works: 10 segments, `need` bytes */
	ck_assert_int_eq(vnet_split(rd, len, area, need, segs, 10), 10);
	refused(len, 9, sizeof(area), VNET_ERR_SPACE);
	refused(len, 10, need - 1, VNET_ERR_SPACE);
	refused(len, 0, sizeof(area), VNET_ERR_SPACE);

	set_hdr(0x04, T4, MSS, 20, 16);
	refused(len, 64, sizeof(area), VNET_ERR_FLAGS);
	set_hdr(NC, VIRTIO_NET_HDR_GSO_UDP, MSS, 20, 16); /* UFO */
	refused(len, 64, sizeof(area), VNET_ERR_GSO_TYPE);
	set_hdr(NC, 2, MSS, 20, 16);
	refused(len, 64, sizeof(area), VNET_ERR_GSO_TYPE);
	set_hdr(NC, VIRTIO_NET_HDR_GSO_UDP_L4 | VIRTIO_NET_HDR_GSO_ECN, MSS, 20,
	    16);
	refused(len, 64, sizeof(area), VNET_ERR_GSO_TYPE);
	set_hdr(NC, VIRTIO_NET_HDR_GSO_ECN, 0, 20, 16);
	refused(len, 64, sizeof(area), VNET_ERR_GSO_TYPE);
	set_hdr(NC, T4, 0, 20, 16);
	refused(len, 64, sizeof(area), VNET_ERR_GSO_SIZE);
	/* the checksum field's last byte is the packet's last byte: fine */
	set_hdr(NC, T4, MSS, (uint16_t)(plen - 18), 16);
	ck_assert_int_eq(vnet_split(rd, len, area, sizeof(area), segs, 64), 10);
	set_hdr(NC, T4, MSS, (uint16_t)(plen - 17), 16);
	refused(len, 64, sizeof(area), VNET_ERR_CSUM_OFF);
	set_hdr(NC, T4, MSS, 0xffff, 0xffff);
	refused(len, 64, sizeof(area), VNET_ERR_CSUM_OFF);
	set_hdr(NC, 0, 0, 20, (uint16_t)(plen - 21));
	refused(len, 64, sizeof(area), VNET_ERR_CSUM_OFF);

	set_hdr(0, T4, MSS, 0, 0);
	refused(len - 1, 64, sizeof(area), VNET_ERR_PARSE); /* truncated */
	refused(VNET_HDR_LEN + 30, 64, sizeof(area), VNET_ERR_PARSE);
	refused(len + 1, 64, sizeof(area), VNET_ERR_LENGTH); /* trailing */
	refused(VNET_READ_MAX + 1, 64, sizeof(area), VNET_ERR_LENGTH);
	set_hdr(0, VIRTIO_NET_HDR_GSO_TCPV6, MSS, 0, 0);
	refused(len, 64, sizeof(area), VNET_ERR_FAMILY);
	set_hdr(0, VIRTIO_NET_HDR_GSO_UDP_L4, MSS, 0, 0);
	refused(len, 64, sizeof(area), VNET_ERR_PROTO);
	rd[VNET_HDR_LEN + 6] |= 0x20; /* MF: a fragment */
	set_hdr(0, T4, MSS, 0, 0);
	refused(len, 64, sizeof(area), VNET_ERR_PROTO);
	rd[VNET_HDR_LEN] = 0x55; /* IP version 5 */
	refused(len, 64, sizeof(area), VNET_ERR_PARSE);
	memset(rd + VNET_HDR_LEN, 0xff, plen);
	refused(len, 64, sizeof(area), VNET_ERR_PARSE);

	len = mk_super(rd, &tcp4, T4, MSS, 1, F_ACK, 0); /* no payload */
	refused(len, 64, sizeof(area), VNET_ERR_LENGTH);
	u4.proto = IPPROTO_UDP;
	len = mk_super(rd, &u4, T4, MSS, 1, 0, 3000);
	refused(len, 64, sizeof(area), VNET_ERR_PROTO);
	len = mk_super(rd, &tcp6, T4, MSS, 1, F_ACK, 3000);
	refused(len, 64, sizeof(area), VNET_ERR_FAMILY);

	/* IPv6 with a hop-by-hop header (PadN) before TCP: refused */
	len =
	    mk_super(rd, &tcp6, VIRTIO_NET_HDR_GSO_TCPV6, MSS, 1, F_ACK, 3000);
	memmove(rd + VNET_HDR_LEN + 48, rd + VNET_HDR_LEN + 40, len - 50);
	memcpy(rd + VNET_HDR_LEN + 40, "\x06\x00\x01\x04\x00\x00\x00\x00", 8);
	rd[VNET_HDR_LEN + 6] = 0;
	POKE_U16(rd + VNET_HDR_LEN + 4, (uint16_t)(len + 8 - 50));
	refused(len + 8, 64, sizeof(area), VNET_ERR_EXTHDR);

	ck_assert_str_eq(vnet_reason_str(VNET_ERR_SPACE), "vnet-space");
	ck_assert_str_eq(vnet_reason_str(-VNET_NREASONS), "unknown");
	ck_assert_str_eq(vnet_reason_str(1), "unknown");
}
END_TEST

/* ----------------------------------------------------- the way out */

#define NPKT 200

static uint8_t         pk[NPKT][1600];
static struct vnet_seg in[NPKT], wr[NPKT], back[4096];
static uint8_t         gout[NPKT * 1700];
static size_t          nback;

static void
put(size_t i, const struct pkt_flow *f, uint32_t seq, uint16_t id, uint8_t fl,
    size_t n)
{
	in[i].p = pk[i];
	in[i].len = mk_pkt(pk[i], f, seq, id, fl, payload + (i % 40) * MSS, n);
}

/* Packets i0..i0+n of one flow, in order, MSS each. */
static void
run(size_t i0, size_t n, const struct pkt_flow *f, uint32_t seq, size_t step)
{
	size_t i;

	for (i = 0; i < n; i++)
		put(i0 + i * step, f, seq + (uint32_t)(i * MSS),
		    (uint16_t)(100 + i), F_ACK, MSS);
}

static int
coalesce(size_t n, struct vnet_gro_stats *st)
{
	int nw;

	nw = vnet_coalesce(in, n, gout, sizeof(gout), wr, NPKT, st);
	ck_assert_msg(nw > 0, "coalesce: %s", vnet_reason_str(nw));
	return nw;
}

/* A flow's packets as a key: protocol and source port, or none. */
static uint32_t
key(const struct vnet_seg *s)
{
	if (s->len < 48 || (s->p[0] >> 4 != 4 && s->p[0] >> 4 != 6))
		return 0;
	return (uint32_t)s->p[s->p[0] >> 4 == 4 ? 9 : 6] << 16 |
	    PEEK_U16(s->p + l4_off(s->p));
}

/*
 * Splits every write back as the way in would (into back[]) and checks
 * that each flow's packets come out as they went in, byte for byte, in
 * their order; want[k], if given, is how many packets write k holds.
 */
static void
check_writes(size_t n, int nw, const int *want, size_t nwant)
{
	size_t at = 0, i, j, a, b;
	int    k, m;

	if (want != NULL)
		ck_assert_int_eq(nw, (int)nwant);
	nback = 0;
	for (k = 0; k < nw; k++) {
		uint8_t *w = area + at;

		memcpy(w, wr[k].p, wr[k].len);
		at += wr[k].len;
		m = vnet_split(w, wr[k].len, area + at, sizeof(area) - at,
		    back + nback, 4096 - nback);
		ck_assert_msg(m > 0, "write %d: %s", k, vnet_reason_str(m));
		if (want != NULL)
			ck_assert_int_eq(m, want[k]);
		for (j = 0; j < (size_t)m; j++)
			at += back[nback + j].p == w + VNET_HDR_LEN
			    ? 0
			    : back[nback + j].len;
		nback += (size_t)m;
	}
	ck_assert_uint_eq(nback, n);
	for (i = 0; i < n; i++) {
		/* the i-th input is the how-many-th of its flow? */
		for (a = 0, j = 0; j < i; j++)
			a += key(&in[j]) == key(&in[i]);
		for (b = 0, j = 0; j < nback; j++) {
			if (key(&back[j]) != key(&in[i]) || b++ != a)
				continue;
			ck_assert_uint_eq(back[j].len, in[i].len);
			ck_assert_mem_eq(back[j].p, in[i].p, in[i].len);
			break;
		}
		ck_assert_msg(j < nback, "packet %zu lost", i);
	}
}

static void
gro_40(const struct pkt_flow *f)
{
	struct virtio_net_hdr h;
	struct vnet_gro_stats st = {0, 0, 0};
	const int             want[] = {40};
	const uint8_t        *ip;
	size_t                hl = hdrs_len(f), iphl = f->v6 ? 40 : 20;

	run(0, 40, f, 0xffff0000, 1);
	put(39, f, 0xffff0000 + 39 * MSS, 139, F_ACK | F_PSH, 1000);
	ck_assert_int_eq(coalesce(40, &st), 1);
	ck_assert_uint_eq(st.writes, 1);
	ck_assert_uint_eq(st.merged, 40);
	ck_assert_uint_eq(wr[0].len, VNET_HDR_LEN + hl + 39 * MSS + 1000);
	ck_assert_int_eq(vnet_hdr_decode(wr[0].p, wr[0].len, &h), 0);
	ck_assert_uint_eq(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	ck_assert_uint_eq(h.gso_type,
	    f->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4);
	ck_assert_uint_eq(h.gso_size, MSS);
	ck_assert_uint_eq(h.hdr_len, hl);
	ck_assert_uint_eq(h.csum_start, iphl);
	ck_assert_uint_eq(h.csum_offset, 16);
	ip = wr[0].p + VNET_HDR_LEN;
	ck_assert(ip_csum_ok(ip));
	ck_assert_uint_eq(PEEK_U16(ip + (f->v6 ? 4 : 2)),
	    wr[0].len - VNET_HDR_LEN - (f->v6 ? 40 : 0));
	/* CHECKSUM_PARTIAL: the field holds the pseudo-header's sum */
	ck_assert_uint_eq(PEEK_U16(ip + iphl + 16),
	    fold(pseudo_sum(ip, wr[0].len - VNET_HDR_LEN)));
	ck_assert_uint_eq(ip[iphl + 13], F_ACK | F_PSH);
	check_writes(40, 1, want, 1);
}

START_TEST(gro_one_flow)
{
	gro_40(&tcp4);
	gro_40(&tcp6);
}
END_TEST

START_TEST(gro_interleaved)
{
	struct pkt_flow b = tcp4;
	struct vnet_seg s;
	const int       want[] = {20, 20, 20};
	size_t          i;

	b.sport = 40002;
	run(0, 20, &tcp4, 1, 3);
	run(1, 20, &b, 1, 3);
	run(2, 20, &tcp6, 1, 3);
	ck_assert_int_eq(coalesce(60, NULL), 3);
	for (i = 0; i < 3; i++) {
		/* each flow's super-segment, where its first packet was */
		s.p = wr[i].p + VNET_HDR_LEN;
		s.len = wr[i].len - VNET_HDR_LEN;
		ck_assert_uint_eq(key(&s), key(&in[i]));
	}
	check_writes(60, 3, want, 3);
}
END_TEST

enum breaker {
	GAP,
	RETRANS,
	ACKNUM,
	PSH_MID,
	TTL,
	BADSUM,
	SYN,
	SHORT,
	IPID,
	WINDOW,
	NBREAKERS
};

static void
rewrite(size_t i, uint32_t seq_add, uint32_t ack_add, uint8_t fl_or)
{
	uint8_t *t = pk[i] + l4_off(pk[i]);

	POKE_U32(t + 4, PEEK_U32(t + 4) + seq_add);
	POKE_U32(t + 8, PEEK_U32(t + 8) + ack_add);
	t[13] |= fl_or;
	set_csums(pk[i], in[i].len);
}

START_TEST(gro_breakers)
{
	static const int       split5[] = {5, 5}, alone5[] = {5, 1, 4};
	const struct pkt_flow *fs[] = {&tcp4, &tcp6};
	struct vnet_gro_stats  st;
	size_t                 i, k, fi;
	int                    nw;

	for (fi = 0; fi < 2; fi++)
		for (k = 0; k < NBREAKERS; k++) {
			const struct pkt_flow *f = fs[fi];
			const int             *want = split5;

			run(0, 10, f, 5000, 1);
			switch (k) {
			case GAP:
				for (i = 5; i < 10; i++)
					rewrite(i, MSS, 0, 0);
				break;
			case RETRANS:
				put(5, f, 5000 + 2 * MSS, 105, F_ACK, MSS);
				want = alone5;
				break;
			case ACKNUM:
				for (i = 5; i < 10; i++)
					rewrite(i, 0, 1, 0);
				break;
			case PSH_MID:
				rewrite(4, 0, 0, F_PSH);
				break;
			case TTL:
				pk[5][f->v6 ? 7 : 8]--;
				set_csums(pk[5], in[5].len);
				want = alone5;
				break;
			case BADSUM:
				pk[5][100] ^= 1;
				want = alone5;
				break;
			case SYN:
				rewrite(5, 0, 0, F_SYN);
				want = alone5;
				break;
			case SHORT:
				put(4, f, 5000 + 4 * MSS, 104, F_ACK, 700);
				for (i = 5; i < 10; i++)
					rewrite(i, (uint32_t)(700 - MSS), 0, 0);
				break;
			case IPID:
				if (f->v6)
					continue;
				for (i = 5; i < 10; i++) {
					POKE_U16(
					    pk[i] + 4, (uint16_t)(i + 200));
					set_csums(pk[i], in[i].len);
				}
				break;
			case WINDOW:
				for (i = 5; i < 10; i++) {
					POKE_U16(pk[i] + l4_off(pk[i]) + 14, 9);
					set_csums(pk[i], in[i].len);
				}
				break;
			}
			memset(&st, 0, sizeof(st));
			nw = coalesce(10, &st);
			ck_assert_uint_eq(st.csum_bad, k == BADSUM);
			check_writes(10, nw, want, want == split5 ? 2 : 3);
		}
}
END_TEST

/* At most VNET_GRO_SEGS segments and 65535 bytes; other packets pass
 * unchanged and break no flow's group. */
START_TEST(gro_limits)
{
	static const int segs64[] = {64, 6}, bytes[] = {45, 5},
			 other[] = {5, 1, 1, 1, 5, 1};
	struct pkt_flow u = tcp4;
	size_t          i;

	for (i = 0; i < 70; i++)
		put(i, &tcp6, (uint32_t)(i * 500), 0, F_ACK, 500);
	check_writes(70, coalesce(70, NULL), segs64, 2);
	run(0, 50, &tcp4, 1, 1);
	check_writes(50, coalesce(50, NULL), bytes, 2);

	u.proto = IPPROTO_UDP;
	run(0, 5, &tcp4, 1, 1);
	put(5, &u, 0, 0, 0, 300);
	memset(pk[6], 0xee, 3); /* garbage */
	in[6].len = 3;
	put(7, &tcp4, 1 + 5 * MSS, 0, F_ACK | F_FIN, 0); /* closes the group */
	run(8, 5, &tcp4, 1 + 5 * MSS, 1);
	put(13, &tcp6, 0, 0, F_SYN, 0);
	ck_assert_int_eq(coalesce(14, NULL), 6);
	ck_assert_uint_eq(wr[2].len, VNET_HDR_LEN + 3);
	check_writes(14, 6, other, 6);
}
END_TEST

START_TEST(gro_space)
{
	size_t i, need = 0;

	run(0, 10, &tcp4, 1, 1);
	for (i = 0; i < 10; i++)
		need += in[i].len + VNET_HDR_LEN;
	ck_assert_uint_eq(VNET_GRO_AREA(need - 100, 10), need);
	ck_assert_int_eq(
	    vnet_coalesce(in, 10, gout, need, wr, 9, NULL), VNET_ERR_SPACE);
	ck_assert_int_eq(vnet_coalesce(in, 10, gout, need - 1, wr, 10, NULL),
	    VNET_ERR_SPACE);
	ck_assert_int_eq(vnet_coalesce(in, 10, gout, need, wr, 10, NULL), 1);
	ck_assert_int_eq(vnet_coalesce(in, 0, gout, 0, wr, 0, NULL), 0);
}
END_TEST

/* ------------------------------------------------------ properties */

static uint64_t rng;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

/* Random flows, sizes, PSH, gaps, retransmissions, bad checksums, runs
 * longer than VNET_GRO_BATCH: every flow's packets come back intact. */
START_TEST(prop_gro_roundtrip)
{
	struct pkt_flow fl[3];
	uint32_t        seq[3], size;
	uint16_t        id[3];
	size_t          n, i, f, nf;
	uint64_t        seed;

	for (seed = 1; seed <= 300; seed++) {
		rng = seed * 0x9e3779b97f4a7c15ULL;
		nf = 1 + rnd(3);
		for (f = 0; f < nf; f++) {
			fl[f] = rnd(2) ? tcp6 : tcp4;
			fl[f].sport = (uint16_t)(41000 + f);
			fl[f].optlen = rnd(2) ? 12 : 0;
			seq[f] = rnd(UINT32_MAX);
			id[f] = (uint16_t)rnd(65536);
		}
		n = 1 + rnd(NPKT);
		for (i = 0; i < n; i++) {
			f = rnd((uint32_t)nf);
			size = rnd(5) ? MSS : 1 + rnd(MSS);
			put(i, &fl[f], seq[f], id[f]++,
			    F_ACK | (rnd(20) ? 0 : F_PSH), size);
			if (rnd(50) == 0)
				pk[i][in[i].len - 1] ^= 0x40;
			seq[f] += size;
			if (rnd(30) == 0)
				seq[f] += 1000;
			else if (rnd(30) == 0)
				seq[f] -= size;
		}
		check_writes(n, coalesce(n, NULL), NULL, 0);
	}
}
END_TEST

static uint8_t segbuf[VNET_SPLIT_AREA(NPKT)];

/* Random super-segments split into valid segments, which merge back
 * into ceil(n / VNET_GRO_SEGS) writes that split into them again. */
START_TEST(prop_split_roundtrip)
{
	struct pkt_flow f;
	size_t          total, gso, nseg, i, hl;
	uint64_t        seed;
	int             n, want[(NPKT + VNET_GRO_SEGS - 1) / VNET_GRO_SEGS];

	for (seed = 1; seed <= 300; seed++) {
		rng = seed * 0xd1b54a32d192ed03ULL;
		f = rnd(2) ? tcp6 : tcp4;
		f.optlen = rnd(2) ? 12 : 0;
		hl = hdrs_len(&f);
		total = 1 + rnd((uint32_t)(VNET_PKT_MAX - hl));
		gso = 1 + rnd(rnd(2) ? 9000 : MSS);
		if (gso < total / NPKT + 1)
			gso = total / NPKT + 1;
		split_case(&f,
		    f.v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4,
		    gso, total, F_ACK);
		nseg = (total + gso - 1) / gso;
		for (i = 0, hl = 0; i < nseg; i++) {
			memcpy(segbuf + hl, segs[i].p, segs[i].len);
			in[i].p = segbuf + hl;
			in[i].len = segs[i].len;
			hl += segs[i].len;
		}
		for (i = 0; i * VNET_GRO_SEGS < nseg; i++)
			want[i] = (int)(nseg - i * VNET_GRO_SEGS < VNET_GRO_SEGS
				? nseg - i * VNET_GRO_SEGS
				: VNET_GRO_SEGS);
		n = coalesce(nseg, NULL);
		check_writes(nseg, n, want, i);
	}
}
END_TEST

static Suite *
vnet_suite(void)
{
	Suite *s = suite_create("vnet");
	TCase *tc = tcase_create("core");
	size_t i;

	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + (i >> 8));
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, split_tcp);
	tcase_add_test(tc, split_udp);
	tcase_add_test(tc, split_csum);
	tcase_add_test(tc, split_plain);
	tcase_add_test(tc, split_refused);
	tcase_add_test(tc, gro_one_flow);
	tcase_add_test(tc, gro_interleaved);
	tcase_add_test(tc, gro_breakers);
	tcase_add_test(tc, gro_limits);
	tcase_add_test(tc, gro_space);
	tcase_add_test(tc, prop_gro_roundtrip);
	tcase_add_test(tc, prop_split_roundtrip);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(vnet_suite());
}
