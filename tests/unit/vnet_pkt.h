/*
 * Packets and checksums the long way, for check_vnet and fuzz_vnet: a
 * receiver's view of TCP/UDP and IPv4 checksums (RFC 1071, byte pairs
 * with a pseudo-header built as an array), and a builder of TCP and UDP
 * packets over IPv4 and IPv6.  Independent of common/vnet.c on purpose.
 */
#ifndef WANPAIR_VNET_PKT_H
#define WANPAIR_VNET_PKT_H

#include <sys/socket.h>
#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"

#define F_FIN 0x01
#define F_SYN 0x02
#define F_PSH 0x08
#define F_ACK 0x10
#define F_CWR 0x80

#define MSS 1448

/* ----------------------------------------------- a receiver's view */

static inline uint32_t
sum_be16(const uint8_t *p, size_t n, uint32_t acc)
{
	while (n > 1) {
		acc += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		n -= 2;
	}
	if (n == 1)
		acc += (uint32_t)p[0] << 8;
	return acc;
}

static inline uint16_t
fold(uint32_t acc)
{
	while (acc > 0xffff)
		acc = (acc >> 16) + (acc & 0xffff);
	return (uint16_t)acc;
}

static inline size_t
l4_off(const uint8_t *p)
{
	return p[0] >> 4 == 4 ? (size_t)(p[0] & 0x0f) * 4 : 40;
}

/* The TCP/UDP pseudo-header's sum (RFC 9293, 3.1; RFC 8200, 8.1),
 * built the long way. */
static inline uint32_t
pseudo_sum(const uint8_t *p, size_t len)
{
	uint8_t ph[40];
	size_t  off = l4_off(p);

	memset(ph, 0, sizeof(ph));
	if (p[0] >> 4 == 4) {
		memcpy(ph, p + 12, 8);
		ph[9] = p[9];
		POKE_U16(ph + 10, (uint16_t)(len - off));
		return sum_be16(ph, 12, 0);
	}
	memcpy(ph, p + 8, 32);
	POKE_U32(ph + 32, (uint32_t)(len - off));
	ph[39] = p[6];
	return sum_be16(ph, 40, 0);
}

static inline uint16_t
l4_sum(const uint8_t *p, size_t len)
{
	size_t off = l4_off(p);

	return fold(sum_be16(p + off, len - off, pseudo_sum(p, len)));
}

/* A receiver's test: the sum, checksum included, is all ones. */
static inline int
l4_csum_ok(const uint8_t *p, size_t len)
{
	return l4_sum(p, len) == 0xffff;
}

static inline int
ip_csum_ok(const uint8_t *p)
{
	return p[0] >> 4 != 4 || fold(sum_be16(p, l4_off(p), 0)) == 0xffff;
}

static inline int
is_tcp(const uint8_t *p)
{
	return p[p[0] >> 4 == 4 ? 9 : 6] == IPPROTO_TCP;
}

static inline size_t
csum_at(const uint8_t *p)
{
	return l4_off(p) + (is_tcp(p) ? 16 : 6);
}

static inline void
set_csums(uint8_t *p, size_t len)
{
	uint16_t c;

	if (p[0] >> 4 == 4) {
		POKE_U16(p + 10, 0);
		POKE_U16(p + 10, (uint16_t)~fold(sum_be16(p, l4_off(p), 0)));
	}
	POKE_U16(p + csum_at(p), 0);
	c = (uint16_t)~l4_sum(p, len);
	POKE_U16(p + csum_at(p), c == 0 && !is_tcp(p) ? 0xffff : c);
}

/* ------------------------------------------------------ packets */

struct pkt_flow {
	int      v6;
	uint8_t  proto;
	uint16_t sport, dport;
	uint32_t ack;
	uint8_t  ttl;
	uint16_t win;
	size_t   optlen; /* 0 or 12: NOP NOP timestamps */
};

static inline size_t
hdrs_len(const struct pkt_flow *f)
{
	return (f->v6 ? 40 : 20) +
	    (f->proto == IPPROTO_TCP ? 20 + f->optlen : 8);
}

/* A packet of flow f with payload pay[0..n), checksums right. */
static inline size_t
mk_pkt(uint8_t *p, const struct pkt_flow *f, uint32_t seq, uint16_t id,
    uint8_t flags, const uint8_t *pay, size_t n)
{
	size_t   ip = f->v6 ? 40 : 20, hl = hdrs_len(f), len = hl + n;
	uint8_t *t = p + ip;

	memset(p, 0, hl);
	if (!f->v6) {
		p[0] = 0x45;
		POKE_U16(p + 2, (uint16_t)len);
		POKE_U16(p + 4, id);
		POKE_U16(p + 6, 0x4000); /* DF */
		p[8] = f->ttl;
		p[9] = f->proto;
		POKE_U32(p + 12, 0x0a000001);
		POKE_U32(p + 16, 0x0a000002);
	} else {
		POKE_U32(p, 0x600abcde);
		POKE_U16(p + 4, (uint16_t)(len - 40));
		p[6] = f->proto;
		p[7] = f->ttl;
		p[8] = p[24] = 0xfd;
		p[23] = 1;
		p[39] = 2;
	}
	POKE_U16(t, f->sport);
	POKE_U16(t + 2, f->dport);
	if (f->proto == IPPROTO_TCP) {
		POKE_U32(t + 4, seq);
		POKE_U32(t + 8, f->ack);
		t[12] = (uint8_t)((20 + f->optlen) / 4 << 4);
		t[13] = flags;
		POKE_U16(t + 14, f->win);
		if (f->optlen == 12) {
			POKE_U32(t + 20, 0x0101080a);
			POKE_U32(t + 24, 0xabcdef01);
			POKE_U32(t + 28, 0x00c0ffee);
		}
	} else
		POKE_U16(t + 4, (uint16_t)(8 + n));
	memcpy(p + hl, pay, n);
	set_csums(p, len);
	return len;
}

#endif
