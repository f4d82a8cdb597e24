#include "autoconf.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pkt.h"
#include "check_run.h"

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

/*
 * For loops of millions of checks: ck_assert() reports every pass to the
 * parent process (a write per call), which turns 200k cases into seconds
 * of system time.  This reports failures only.
 */
#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			ck_abort_msg(__VA_ARGS__);                             \
	} while (0)

static const uint8_t src4[4] = {192, 0, 2, 1}; /* RFC 5737 */
static const uint8_t dst4[4] = {198, 51, 100, 7};
static const uint8_t src6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t dst6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 2};

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* IPv4 header without options in front of `l4`; returns the length. */
static size_t
ip4(uint8_t *p, uint8_t proto, uint16_t id, uint16_t frag, const uint8_t *l4,
    size_t l4len)
{
	memset(p, 0, 20);
	p[0] = 0x45;
	put16(p + 2, (uint16_t)(20 + l4len));
	put16(p + 4, id);
	put16(p + 6, frag);
	p[8] = 64;
	p[9] = proto;
	memcpy(p + 12, src4, 4);
	memcpy(p + 16, dst4, 4);
	memcpy(p + 20, l4, l4len);
	return 20 + l4len;
}

/* IPv6 header with next header `nh` in front of `pl`. */
static size_t
ip6(uint8_t *p, uint8_t nh, const uint8_t *pl, size_t pllen)
{
	memset(p, 0, 40);
	p[0] = 0x60;
	put16(p + 4, (uint16_t)pllen);
	p[6] = nh;
	p[7] = 64;
	memcpy(p + 8, src6, 16);
	memcpy(p + 24, dst6, 16);
	memcpy(p + 40, pl, pllen);
	return 40 + pllen;
}

/* A 20-byte TCP header. */
static size_t
tcp(uint8_t *p, uint16_t sport, uint16_t dport, uint8_t flags)
{
	memset(p, 0, 20);
	put16(p, sport);
	put16(p + 2, dport);
	put32(p + 4, 1000);
	p[12] = 5 << 4;
	p[13] = flags;
	put16(p + 14, 65535);
	return 20;
}

/* UDP header and `n` bytes of payload. */
static size_t
udp(uint8_t *p, uint16_t sport, uint16_t dport, size_t n)
{
	memset(p, 0, 8 + n);
	put16(p, sport);
	put16(p + 2, dport);
	put16(p + 4, (uint16_t)(8 + n));
	return 8 + n;
}

static size_t
icmp(uint8_t *p, uint8_t type, uint16_t id, uint16_t seq)
{
	memset(p, 0, 16);
	p[0] = type;
	put16(p + 4, id);
	put16(p + 6, seq);
	return 16;
}

/* An extension header of `len` bytes (a multiple of 8) next `nh`. */
static size_t
ext(uint8_t *p, uint8_t nh, size_t len)
{
	memset(p, 0, len);
	p[0] = nh;
	p[1] = (uint8_t)(len / 8 - 1);
	return len;
}

static size_t
frag6(uint8_t *p, uint8_t nh, uint16_t off, int more, uint32_t id)
{
	memset(p, 0, 8);
	p[0] = nh;
	put16(p + 2, (uint16_t)(off | (more ? 1 : 0)));
	put32(p + 4, id);
	return 8;
}

static int
parse(const uint8_t *p, size_t len, struct pkt_info *pi)
{
	return pkt_parse(p, len, 0, pi);
}

static int
valid_reason(int rc)
{
	return rc <= 0 && rc > -PKT_NREASONS &&
	    strcmp(pkt_reason_str(rc), "unknown") != 0;
}

START_TEST(test_v4_tcp)
{
	uint8_t         l4[64] = {0}, p[128];
	struct pkt_info pi;
	size_t          n;

	n = ip4(p, IPPROTO_TCP, 77, 0, l4,
	    tcp(l4, 40000, 443, PKT_TCP_SYN | PKT_TCP_ACK));
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.family, AF_INET);
	ck_assert_int_eq(pi.proto, IPPROTO_TCP);
	ck_assert_int_eq(pi.sport, 40000);
	ck_assert_int_eq(pi.dport, 443);
	ck_assert_int_eq(pi.tcp_flags, PKT_TCP_SYN | PKT_TCP_ACK);
	ck_assert_int_eq(pi.frag, PKT_FRAG_NONE);
	ck_assert_int_eq(pi.len, 40);
	ck_assert_int_eq(pi.l4_off, 20);
	ck_assert_mem_eq(pi.src, src4, 4);
	ck_assert_mem_eq(pi.dst, dst4, 4);
	/* IPv4 addresses leave the other 12 bytes zero (addr.h). */
	ck_assert_mem_eq(pi.src + 4, (uint8_t[12]){0}, 12);
	ck_assert_mem_eq(pi.dst + 4, (uint8_t[12]){0}, 12);
}
END_TEST

START_TEST(test_v4_options)
{
	uint8_t         p[128];
	struct pkt_info pi;

	/* IHL 6: one word of options (a NOP and an EOL) before UDP. */
	memset(p, 0, sizeof(p));
	p[0] = 0x46;
	put16(p + 2, 24 + 8);
	p[9] = IPPROTO_UDP;
	memcpy(p + 12, src4, 4);
	memcpy(p + 16, dst4, 4);
	p[20] = 1;
	udp(p + 24, 53, 33000, 0);
	ck_assert_int_eq(parse(p, 32, &pi), PKT_OK);
	ck_assert_int_eq(pi.l4_off, 24);
	ck_assert_int_eq(pi.sport, 53);
	ck_assert_int_eq(pi.dport, 33000);
}
END_TEST

START_TEST(test_v4_port_protocols)
{
	static const uint8_t protos[] = {
	    IPPROTO_UDP, 136 /* UDP-Lite */, IPPROTO_SCTP, 33 /* DCCP */};
	uint8_t         l4[64] = {0}, p[128];
	struct pkt_info pi;
	size_t          i, n;

	for (i = 0; i < NITEMS(protos); i++) {
		n = ip4(p, protos[i], 1, 0, l4, udp(l4, 5060, 5061, 8));
		ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
		ck_assert_int_eq(pi.proto, protos[i]);
		ck_assert_int_eq(pi.sport, 5060);
		ck_assert_int_eq(pi.dport, 5061);
		ck_assert_int_eq(pi.tcp_flags, 0);
	}
}
END_TEST

START_TEST(test_v4_icmp)
{
	uint8_t         l4[64] = {0}, p[128];
	struct pkt_info pi;
	size_t          n;

	/* Echo request and reply: the identifier is both ports. */
	n = ip4(p, IPPROTO_ICMP, 1, 0, l4, icmp(l4, 8, 0x1234, 1));
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.sport, 0x1234);
	ck_assert_int_eq(pi.dport, 0x1234);
	n = ip4(p, IPPROTO_ICMP, 1, 0, l4, icmp(l4, 0, 0x1234, 1));
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.sport, 0x1234);
	ck_assert_int_eq(pi.dport, 0x1234);

	/* Destination unreachable: by address pair only. */
	n = ip4(p, IPPROTO_ICMP, 1, 0, l4, icmp(l4, 3, 0x1234, 1));
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.sport, 0);
	ck_assert_int_eq(pi.dport, 0);

	/* ICMPv6 echo type numbers mean nothing in ICMPv4. */
	n = ip4(p, IPPROTO_ICMP, 1, 0, l4, icmp(l4, 128, 0x1234, 1));
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.sport, 0);

	/* An echo needs its 8-byte header. */
	n = ip4(p, IPPROTO_ICMP, 1, 0, l4, 7);
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_L4_TRUNCATED);
}
END_TEST

START_TEST(test_v4_other_proto)
{
	uint8_t         l4[8] = {0}, p[64];
	struct pkt_info pi;
	size_t          n;

	n = ip4(p, 47 /* GRE */, 1, 0, l4, 4);
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.proto, 47);
	ck_assert_int_eq(pi.sport, 0);
	ck_assert_int_eq(pi.dport, 0);
	ck_assert_int_eq(pi.l4_off, 20);

	/* Nothing at all after the header is fine for a portless protocol. */
	n = ip4(p, 50 /* ESP */, 1, 0, l4, 0);
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.len, 20);
}
END_TEST

START_TEST(test_l4_truncated)
{
	uint8_t         l4[64] = {0}, p[128];
	struct pkt_info pi;
	size_t          n;

	n = ip4(p, IPPROTO_TCP, 1, 0, l4, 19);
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_L4_TRUNCATED);
	n = ip4(p, IPPROTO_UDP, 1, 0, l4, 7);
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_L4_TRUNCATED);
	n = ip4(p, IPPROTO_SCTP, 1, 0, l4, 3);
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_L4_TRUNCATED);
	n = ip4(p, IPPROTO_SCTP, 1, 0, l4, 4);
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);

	/* TCP data offset below 5 words, or past the datagram. */
	tcp(l4, 1, 2, 0);
	l4[12] = 4 << 4;
	n = ip4(p, IPPROTO_TCP, 1, 0, l4, 20);
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_L4_TRUNCATED);
	l4[12] = 6 << 4;
	n = ip4(p, IPPROTO_TCP, 1, 0, l4, 20);
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_L4_TRUNCATED);
	n = ip4(p, IPPROTO_TCP, 1, 0, l4, 24);
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.sport, 1);
}
END_TEST

START_TEST(test_v4_bad_headers)
{
	uint8_t         l4[64] = {0}, p[128];
	struct pkt_info pi;
	size_t          n;

	n = ip4(p, IPPROTO_UDP, 1, 0, l4, udp(l4, 1, 2, 0));

	ck_assert_int_eq(parse(p, 0, &pi), PKT_ERR_TRUNCATED);
	ck_assert_int_eq(parse(p, 19, &pi), PKT_ERR_TRUNCATED);

	p[0] = 0x55;
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_VERSION);
	p[0] = 0x05;
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_VERSION);
	ck_assert_int_eq(parse(p, 1, &pi), PKT_ERR_VERSION);

	p[0] = 0x44; /* IHL 4 */
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_HDRLEN);
	p[0] = 0x40;
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_HDRLEN);
	p[0] = 0x47; /* 28 bytes of header in 28 bytes: fits */
	p[9] = 47;   /* (and then GRE, no L4 header to read) */
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.l4_off, 28);
	p[9] = IPPROTO_UDP;
	p[0] = 0x48; /* 32 bytes of header in 28 */
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_HDRLEN);
	ck_assert_int_eq(pkt_parse(p, n, PKT_F_SNAPLEN, &pi), PKT_ERR_HDRLEN);
	p[0] = 0x45;

	put16(p + 2, 19); /* total length shorter than the header */
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_LENGTH);
	ck_assert_int_eq(pkt_parse(p, n, PKT_F_SNAPLEN, &pi), PKT_ERR_LENGTH);
	put16(p + 2, 0);
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_LENGTH);
	put16(p + 2, 20); /* UDP now lies past the total length */
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_L4_TRUNCATED);
}
END_TEST

START_TEST(test_v4_lengths)
{
	uint8_t         l4[64] = {0}, p[128];
	struct pkt_info pi, full;
	size_t          n;

	n = ip4(p, IPPROTO_UDP, 1, 0, l4, udp(l4, 1000, 2000, 12));
	ck_assert_int_eq(parse(p, n, &full), PKT_OK);

	/* Link padding after the datagram is ignored. */
	memset(p + n, 0xee, 20);
	ck_assert_int_eq(parse(p, n + 20, &pi), PKT_OK);
	ck_assert_mem_eq(&pi, &full, sizeof(pi));
	ck_assert_int_eq(pi.len, n);

	/* A datagram longer than the bytes: broken on a TUN, a cut capture
	 * with PKT_F_SNAPLEN, which reports the length on the wire. */
	put16(p + 2, 1500);
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_LENGTH);
	ck_assert_int_eq(pkt_parse(p, n, PKT_F_SNAPLEN, &pi), PKT_OK);
	ck_assert_int_eq(pi.len, 1500);
	ck_assert_int_eq(pi.sport, 1000);
	ck_assert_int_eq(pi.dport, 2000);
	/* ... but the headers we read must be there. */
	ck_assert_int_eq(
	    pkt_parse(p, 27, PKT_F_SNAPLEN, &pi), PKT_ERR_L4_TRUNCATED);
}
END_TEST

START_TEST(test_v4_fragments)
{
	uint8_t         l4[64] = {0}, p[128];
	struct pkt_info pi;
	size_t          n;

	/* First fragment: MF, offset 0, carries the ports. */
	n = ip4(p, IPPROTO_UDP, 0xbeef, 0x2000, l4, udp(l4, 4000, 53, 16));
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.frag, PKT_FRAG_FIRST);
	ck_assert_int_eq(pi.frag_id, 0xbeef);
	ck_assert_int_eq(pi.sport, 4000);
	ck_assert_int_eq(pi.dport, 53);

	/* DF alone is not a fragment. */
	n = ip4(p, IPPROTO_UDP, 0xbeef, 0x4000, l4, udp(l4, 4000, 53, 16));
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.frag, PKT_FRAG_NONE);

	/* Later fragments, with or without MF: no L4 header to read, even
	 * if the data happens to be shorter than one. */
	memset(l4, 0xaa, sizeof(l4));
	n = ip4(p, IPPROTO_UDP, 0xbeef, 0x2000 | 3, l4, 24);
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.frag, PKT_FRAG_LATER);
	ck_assert_int_eq(pi.frag_id, 0xbeef);
	ck_assert_int_eq(pi.proto, IPPROTO_UDP);
	ck_assert_int_eq(pi.sport, 0);
	ck_assert_int_eq(pi.dport, 0);
	ck_assert_int_eq(pi.l4_off, 20);
	n = ip4(p, IPPROTO_TCP, 0xbeef, 5, l4, 3);
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.frag, PKT_FRAG_LATER);

	/* A first fragment must still hold the whole L4 header
	 * (RFC 1858 tiny fragments). */
	n = ip4(p, IPPROTO_TCP, 0xbeef, 0x2000, l4, 8);
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_L4_TRUNCATED);

	/* The last octet may sit at 65535 but not past it. */
	n = ip4(p, IPPROTO_UDP, 1, 8191, l4, 7);
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	n = ip4(p, IPPROTO_UDP, 1, 8191, l4, 8);
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_FRAGMENT);
	n = ip4(p, IPPROTO_UDP, 1, 0x2000 | 8190, l4, 16);
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_FRAGMENT);
}
END_TEST

START_TEST(test_v6_basic)
{
	uint8_t         l4[64] = {0}, p[128];
	struct pkt_info pi;
	size_t          n;

	n = ip6(p, IPPROTO_TCP, l4, tcp(l4, 50000, 22, PKT_TCP_FIN));
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.family, AF_INET6);
	ck_assert_int_eq(pi.proto, IPPROTO_TCP);
	ck_assert_int_eq(pi.sport, 50000);
	ck_assert_int_eq(pi.dport, 22);
	ck_assert_int_eq(pi.tcp_flags, PKT_TCP_FIN);
	ck_assert_int_eq(pi.len, 60);
	ck_assert_int_eq(pi.l4_off, 40);
	ck_assert_mem_eq(pi.src, src6, 16);
	ck_assert_mem_eq(pi.dst, dst6, 16);

	n = ip6(p, IPPROTO_UDP, l4, udp(l4, 546, 547, 3));
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.sport, 546);
	ck_assert_int_eq(pi.dport, 547);

	n = ip6(p, IPPROTO_ICMPV6, l4, icmp(l4, 128, 0x0102, 9));
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.sport, 0x0102);
	ck_assert_int_eq(pi.dport, 0x0102);
	n = ip6(p, IPPROTO_ICMPV6, l4, icmp(l4, 129, 0x0102, 9));
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.sport, 0x0102);
	n = ip6(p, IPPROTO_ICMPV6, l4, icmp(l4, 135, 0x0102, 9));
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.sport, 0);
	ck_assert_int_eq(pi.dport, 0);
	n = ip6(p, IPPROTO_ICMPV6, l4, 7);
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_L4_TRUNCATED);
}
END_TEST

START_TEST(test_v6_lengths)
{
	uint8_t         l4[64] = {0}, p[160];
	struct pkt_info pi, full;
	size_t          n;

	n = ip6(p, IPPROTO_UDP, l4, udp(l4, 7, 9, 10));
	ck_assert_int_eq(parse(p, 39, &pi), PKT_ERR_TRUNCATED);
	ck_assert_int_eq(parse(p, n, &full), PKT_OK);
	memset(p + n, 0, 30);
	ck_assert_int_eq(parse(p, n + 30, &pi), PKT_OK);
	ck_assert_mem_eq(&pi, &full, sizeof(pi));

	put16(p + 4, 1000);
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_LENGTH);
	ck_assert_int_eq(pkt_parse(p, n, PKT_F_SNAPLEN, &pi), PKT_OK);
	ck_assert_int_eq(pi.len, 1040);
	ck_assert_int_eq(pi.sport, 7);

	/* Jumbogram (RFC 2675). */
	put16(p + 4, 0);
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_LENGTH);
	ck_assert_int_eq(pkt_parse(p, n, PKT_F_SNAPLEN, &pi), PKT_ERR_LENGTH);

	/* Payload length short of the UDP header that follows in the
	 * buffer: the bytes past it are padding, not UDP. */
	put16(p + 4, 6);
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_L4_TRUNCATED);

	/* No next header: nothing to read after it. */
	n = ip6(p, 59, l4, 4);
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.proto, 59);
	ck_assert_int_eq(pi.sport, 0);
	ck_assert_int_eq(pi.l4_off, 40);
}
END_TEST

START_TEST(test_v6_exthdrs)
{
	uint8_t         pl[512] = {0}, p[600];
	struct pkt_info pi;
	size_t          n, off;

	/* Hop-by-hop, routing, destination options, AH, then TCP. */
	off = ext(pl, IPPROTO_ROUTING, 8);
	off += ext(pl + off, IPPROTO_DSTOPTS, 24);
	off += ext(pl + off, IPPROTO_AH, 8);
	/* AH counts 32-bit words minus 2 (RFC 4302): 2 -> 16 bytes. */
	pl[off] = IPPROTO_TCP;
	pl[off + 1] = 2;
	memset(pl + off + 2, 0xab, 14);
	off += 16;
	off += tcp(pl + off, 8080, 1234, PKT_TCP_RST);
	n = ip6(p, IPPROTO_HOPOPTS, pl, off);
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.proto, IPPROTO_TCP);
	ck_assert_int_eq(pi.sport, 8080);
	ck_assert_int_eq(pi.dport, 1234);
	ck_assert_int_eq(pi.tcp_flags, PKT_TCP_RST);
	ck_assert_int_eq(pi.l4_off, 40 + 8 + 24 + 8 + 16);

	/* Mobility, HIP and shim6 headers are walked too. */
	off = ext(pl, 139, 16);
	off += ext(pl + off, 140, 8);
	off += ext(pl + off, IPPROTO_UDP, 8);
	off += udp(pl + off, 1, 2, 0);
	n = ip6(p, 135, pl, off);
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.proto, IPPROTO_UDP);
	ck_assert_int_eq(pi.l4_off, 40 + 32);
	ck_assert_int_eq(pi.dport, 2);

	/* Destination options ending in no next header. */
	off = ext(pl, 59, 8);
	n = ip6(p, IPPROTO_DSTOPTS, pl, off);
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.proto, 59);
	ck_assert_int_eq(pi.l4_off, 48);

	/* ESP ends the walk: the rest is ciphertext. */
	off = ext(pl, 50, 8);
	off += 16;
	n = ip6(p, IPPROTO_DSTOPTS, pl, off);
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.proto, 50);
	ck_assert_int_eq(pi.sport, 0);
}
END_TEST

START_TEST(test_v6_bad_exthdrs)
{
	uint8_t         pl[512] = {0}, p[600];
	struct pkt_info pi;
	size_t          n, off, i;

	/* Hop-by-hop anywhere but first (RFC 8200, 4.3). */
	off = ext(pl, IPPROTO_HOPOPTS, 8);
	off += ext(pl + off, 59, 8);
	n = ip6(p, IPPROTO_DSTOPTS, pl, off);
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_EXTHDR);

	/* Length runs past the payload length, and past the bytes. */
	off = ext(pl, IPPROTO_UDP, 8);
	pl[1] = 3;
	n = ip6(p, IPPROTO_DSTOPTS, pl, 24);
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_EXTHDR);
	put16(p + 4, 100);
	ck_assert_int_eq(pkt_parse(p, n, PKT_F_SNAPLEN, &pi), PKT_ERR_EXTHDR);

	/* Cut inside the first two bytes of a header. */
	n = ip6(p, IPPROTO_ROUTING, pl, 1);
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_EXTHDR);
	n = ip6(p, IPPROTO_FRAGMENT, pl, 7);
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_EXTHDR);

	/* Sixteen headers are allowed, seventeen are not. */
	for (off = 0, i = 0; i < 16; i++)
		off += ext(pl + off, i < 15 ? IPPROTO_DSTOPTS : 59, 8);
	n = ip6(p, IPPROTO_DSTOPTS, pl, off);
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.l4_off, 40 + 16 * 8);
	for (off = 0, i = 0; i < 17; i++)
		off += ext(pl + off, i < 16 ? IPPROTO_DSTOPTS : 59, 8);
	n = ip6(p, IPPROTO_DSTOPTS, pl, off);
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_EXTHDR);

	/* Two fragment headers. */
	off = frag6(pl, IPPROTO_FRAGMENT, 0, 1, 5);
	off += frag6(pl + off, IPPROTO_UDP, 0, 1, 5);
	off += udp(pl + off, 1, 2, 0);
	n = ip6(p, IPPROTO_FRAGMENT, pl, off);
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_EXTHDR);
}
END_TEST

START_TEST(test_v6_fragments)
{
	uint8_t         pl[512] = {0}, p[600];
	struct pkt_info pi;
	size_t          n, off;

	/* First fragment behind a routing header. */
	off = ext(pl, IPPROTO_FRAGMENT, 8);
	off += frag6(pl + off, IPPROTO_UDP, 0, 1, 0xdeadbeef);
	off += udp(pl + off, 4500, 4500, 32);
	n = ip6(p, IPPROTO_ROUTING, pl, off);
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.frag, PKT_FRAG_FIRST);
	ck_assert_int_eq(pi.frag_id, 0xdeadbeef);
	ck_assert_int_eq(pi.proto, IPPROTO_UDP);
	ck_assert_int_eq(pi.sport, 4500);
	ck_assert_int_eq(pi.l4_off, 56);

	/* Later fragment: the data after the header is not parsed. */
	off = frag6(pl, IPPROTO_UDP, 1232, 1, 0xdeadbeef);
	memset(pl + off, 0x55, 3);
	n = ip6(p, IPPROTO_FRAGMENT, pl, off + 3);
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.frag, PKT_FRAG_LATER);
	ck_assert_int_eq(pi.frag_id, 0xdeadbeef);
	ck_assert_int_eq(pi.proto, IPPROTO_UDP);
	ck_assert_int_eq(pi.sport, 0);
	ck_assert_int_eq(pi.dport, 0);
	ck_assert_int_eq(pi.l4_off, 48);

	/* Atomic fragment (RFC 6946): a whole packet. */
	off = frag6(pl, IPPROTO_UDP, 0, 0, 9);
	off += udp(pl + off, 10, 20, 0);
	n = ip6(p, IPPROTO_FRAGMENT, pl, off);
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
	ck_assert_int_eq(pi.frag, PKT_FRAG_NONE);
	ck_assert_int_eq(pi.sport, 10);

	/* Reassembled payload past 65535 octets (RFC 8200, 4.5):
	 * 65528 + (16 - 8) = 65536. */
	off = frag6(pl, IPPROTO_UDP, 65528, 0, 9);
	n = ip6(p, IPPROTO_FRAGMENT, pl, off + 8);
	ck_assert_int_eq(parse(p, n, &pi), PKT_ERR_FRAGMENT);
	n = ip6(p, IPPROTO_FRAGMENT, pl, off + 7);
	ck_assert_int_eq(parse(p, n, &pi), PKT_OK);
}
END_TEST

/* Every prefix of a valid packet: an error without PKT_F_SNAPLEN; with
 * it, the same answer as the whole packet once the headers are in. */
START_TEST(test_every_prefix)
{
	uint8_t         pkts[8][256], l4[64], pl[128];
	size_t          lens[8], need[8], np = 0, i, k, off;
	struct pkt_info pi, full;
	int             rc;

	lens[np] = ip4(pkts[np], IPPROTO_TCP, 1, 0, l4, tcp(l4, 1, 2, 0x12));
	need[np++] = 40;
	lens[np] = ip4(pkts[np], IPPROTO_UDP, 1, 0, l4, udp(l4, 1, 2, 20));
	need[np++] = 28;
	lens[np] = ip4(pkts[np], IPPROTO_ICMP, 1, 0, l4, icmp(l4, 8, 3, 4));
	need[np++] = 28;
	lens[np] = ip6(pkts[np], IPPROTO_TCP, l4, tcp(l4, 1, 2, 0x10));
	need[np++] = 60;
	off = ext(pl, IPPROTO_FRAGMENT, 16);
	off += frag6(pl + off, IPPROTO_UDP, 0, 1, 7);
	off += udp(pl + off, 5, 6, 8);
	lens[np] = ip6(pkts[np], IPPROTO_HOPOPTS, pl, off);
	need[np++] = 40 + 16 + 8 + 8;
	lens[np] = ip6(pkts[np], IPPROTO_ICMPV6, l4, icmp(l4, 129, 3, 4));
	need[np++] = 48;

	for (i = 0; i < np; i++) {
		ck_assert_int_eq(parse(pkts[i], lens[i], &full), PKT_OK);
		for (k = 0; k < lens[i]; k++) {
			rc = parse(pkts[i], k, &pi);
			ck_assert_msg(rc < 0 && valid_reason(rc),
			    "packet %zu prefix %zu: %d", i, k, rc);
			rc = pkt_parse(pkts[i], k, PKT_F_SNAPLEN, &pi);
			ck_assert_msg(valid_reason(rc), "%d", rc);
			if (k >= need[i]) {
				ck_assert_msg(rc == PKT_OK,
				    "packet %zu prefix %zu: %s", i, k,
				    pkt_reason_str(rc));
				ck_assert_mem_eq(&pi, &full, sizeof(pi));
			} else
				ck_assert_msg(
				    rc < 0, "packet %zu prefix %zu", i, k);
		}
	}
}
END_TEST

static uint64_t
xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int
has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == 136 ||
	    proto == IPPROTO_SCTP || proto == 33 || proto == IPPROTO_ICMP ||
	    proto == IPPROTO_ICMPV6;
}

/* Random bytes, half of them behind a plausible first byte so that they
 * reach past the version check. */
START_TEST(test_garbage)
{
	static const uint8_t first[] = {0x45, 0x46, 0x4f, 0x60, 0x6f};
	static const uint8_t zero[12];
	uint8_t              p[256];
	struct pkt_info      pi;
	uint64_t             s = 0x9e3779b97f4a7c15ULL;
	size_t               len, j;
	int                  i, rc, flags, ok = 0;

	for (i = 0; i < 200000; i++) {
		len = xorshift(&s) % sizeof(p);
		for (j = 0; j < len; j++)
			p[j] = (uint8_t)xorshift(&s);
		if (len > 0 && (i & 1))
			p[0] = first[xorshift(&s) % NITEMS(first)];
		if (len > 8 && (i & 2)) {
			/* A total length that fits, to get to L4. */
			if (p[0] >> 4 == 4)
				put16(p + 2, (uint16_t)len);
			else
				put16(p + 4, (uint16_t)(len - 40));
		}
		flags = (i & 4) ? PKT_F_SNAPLEN : 0;
		memset(&pi, 0xa5, sizeof(pi));
		rc = pkt_parse(p, len, flags, &pi);
		/* pkt_parse never claims what only the engine knows. */
		CHECK(valid_reason(rc) && rc != PKT_ERR_FRAG_NO_HEAD &&
			rc != PKT_ERR_NOT_IP && rc != PKT_ERR_NO_ROUTE,
		    "case %d: rc %d", i, rc);
		if (rc != PKT_OK)
			continue;
		ok++;
		CHECK(pi.family == AF_INET || pi.family == AF_INET6,
		    "case %d: family %d", i, pi.family);
		CHECK(pi.frag <= PKT_FRAG_LATER, "case %d: frag", i);
		CHECK(pi.l4_off <= len && pi.l4_off <= pi.len,
		    "case %d: l4_off %u", i, pi.l4_off);
		CHECK(flags || pi.len <= len, "case %d: len %u", i, pi.len);
		CHECK(pi.family == AF_INET6 ||
			(memcmp(pi.src + 4, zero, 12) == 0 &&
			    memcmp(pi.dst + 4, zero, 12) == 0),
		    "case %d: IPv4 address spills", i);
		CHECK((pi.frag != PKT_FRAG_LATER && has_ports(pi.proto)) ||
			(pi.sport == 0 && pi.dport == 0),
		    "case %d: ports", i);
		CHECK(pi.proto == IPPROTO_TCP || pi.tcp_flags == 0,
		    "case %d: tcp_flags", i);
		CHECK(pi.frag != PKT_FRAG_NONE || pi.frag_id == 0,
		    "case %d: frag_id", i);
	}
	/* The garbage must have exercised the success path too. */
	ck_assert_int_gt(ok, 1000);
}
END_TEST

START_TEST(test_reason_str)
{
	static const struct {
		int         rc;
		const char *s;
	} want[] = {
	    {PKT_OK, "ok"},
	    {PKT_ERR_TRUNCATED, "truncated"},
	    {PKT_ERR_VERSION, "bad-version"},
	    {PKT_ERR_HDRLEN, "bad-header-length"},
	    {PKT_ERR_LENGTH, "bad-length"},
	    {PKT_ERR_L4_TRUNCATED, "truncated-l4"},
	    {PKT_ERR_EXTHDR, "bad-extension-header"},
	    {PKT_ERR_FRAGMENT, "bad-fragment"},
	    {PKT_ERR_FRAG_NO_HEAD, "fragment-without-first"},
	    {PKT_ERR_NOT_IP, "not-ip"},
	    {PKT_ERR_NO_ROUTE, "no-route"},
	    {PKT_ERR_TABLE_FULL, "table-full"},
	    {1, "unknown"},
	    {-PKT_NREASONS, "unknown"},
	    {-1000, "unknown"},
	};
	size_t i;

	for (i = 0; i < NITEMS(want); i++)
		ck_assert_str_eq(pkt_reason_str(want[i].rc), want[i].s);
}
END_TEST

static Suite *
pkt_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("pkt");

	tc = tcase_create("ipv4");
	tcase_add_test(tc, test_v4_tcp);
	tcase_add_test(tc, test_v4_options);
	tcase_add_test(tc, test_v4_port_protocols);
	tcase_add_test(tc, test_v4_icmp);
	tcase_add_test(tc, test_v4_other_proto);
	tcase_add_test(tc, test_l4_truncated);
	tcase_add_test(tc, test_v4_bad_headers);
	tcase_add_test(tc, test_v4_lengths);
	tcase_add_test(tc, test_v4_fragments);
	suite_add_tcase(s, tc);

	tc = tcase_create("ipv6");
	tcase_add_test(tc, test_v6_basic);
	tcase_add_test(tc, test_v6_lengths);
	tcase_add_test(tc, test_v6_exthdrs);
	tcase_add_test(tc, test_v6_bad_exthdrs);
	tcase_add_test(tc, test_v6_fragments);
	suite_add_tcase(s, tc);

	tc = tcase_create("robustness");
	tcase_add_test(tc, test_every_prefix);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_reason_str);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	return check_run(pkt_suite());
}
