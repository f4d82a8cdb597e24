#include "autoconf.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <string.h>

#include "buf.h"
#include "pkt.h"
#include "vnet.h"

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_CWR 0x80

#define TCP_CSUM_OFF 16 /* RFC 9293, 3.1 */
#define UDP_CSUM_OFF 6  /* RFC 768 */
#define UDP_HDR_LEN  8

static const char *const reason_str[VNET_NREASONS] = {
    "ok",
    "vnet-short",
    "vnet-flags",
    "vnet-gso-type",
    "vnet-gso-size",
    "vnet-csum-offset",
    "vnet-parse",
    "vnet-family",
    "vnet-proto",
    "vnet-exthdr",
    "vnet-length",
    "vnet-space",
};

const char *
vnet_reason_str(int reason)
{
	return reason <= 0 && reason > -VNET_NREASONS ? reason_str[-reason]
						      : "unknown";
}

int
vnet_hdr_decode(const uint8_t *p, size_t len, struct virtio_net_hdr *h)
{
	if (len < VNET_HDR_LEN)
		return -1;
	/* Host byte order, no padding: memcpy is the decoder. */
	memcpy(h, p, VNET_HDR_LEN);
	return 0;
}

void
vnet_hdr_encode(const struct virtio_net_hdr *h, uint8_t *p)
{
	memcpy(p, h, VNET_HDR_LEN);
}

void
vnet_hdr_plain(uint8_t *p)
{
	memset(p, 0, VNET_HDR_LEN);
}

/* ------------------------------------------------------ checksums */

static uint16_t
csum_add(uint16_t a, uint16_t b)
{
	uint32_t s = (uint32_t)a + b;

	return (uint16_t)((s & 0xffff) + (s >> 16));
}

/*
 * The one's complement sum of `len` bytes taken as big-endian 16-bit
 * words (RFC 1071), added to `sum`.  The words are added in host order
 * four bytes at a time and the result read back as bytes: a one's
 * complement sum comes out byte-swapped, not wrong, in the other order
 * (RFC 1071, 2.B), and 2^16 is 1 modulo 0xffff, so 32-bit words fold to
 * the same sum.  Never 0 unless every byte and `sum` are.
 */
static uint16_t
csum_bytes(const uint8_t *p, size_t len, uint16_t sum)
{
	uint64_t acc = 0;
	uint32_t w;
	uint16_t s;
	uint8_t  tail[4] = {0, 0, 0, 0}, b[2];

	for (; len >= 4; p += 4, len -= 4) {
		memcpy(&w, p, 4);
		acc += w;
	}
	if (len > 0) {
		memcpy(tail, p, len);
		memcpy(&w, tail, 4);
		acc += w;
	}
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	s = (uint16_t)acc;
	memcpy(b, &s, 2);
	return csum_add(PEEK_U16(b), sum);
}

/* The TCP/UDP pseudo-header's sum (RFC 9293, 3.1; RFC 8200, 8.1) of the
 * IP packet at `ip`. */
static uint16_t
csum_pseudo(const uint8_t *ip, uint8_t proto, size_t l4len)
{
	uint16_t s;

	if (ip[0] >> 4 == 4)
		s = csum_bytes(ip + 12, 8, 0);
	else
		s = csum_bytes(ip + 8, 32, 0);
	return csum_add(csum_add(s, proto), (uint16_t)l4len);
}

/* Writes the IPv4 header checksum of the `hl` bytes at `ip`. */
static void
ipv4_csum_set(uint8_t *ip, size_t hl)
{
	POKE_U16(ip + 10, 0);
	POKE_U16(ip + 10, (uint16_t)~csum_bytes(ip, hl, 0));
}

/* Writes the full TCP or UDP checksum of the packet at `ip` (`len`
 * bytes, L4 header at `l4off`). */
static void
l4_csum_set(uint8_t *ip, size_t len, size_t l4off, uint8_t proto)
{
	size_t at =
	    l4off + (proto == IPPROTO_TCP ? TCP_CSUM_OFF : UDP_CSUM_OFF);
	uint16_t c;

	POKE_U16(ip + at, 0);
	c = (uint16_t)~csum_bytes(
	    ip + l4off, len - l4off, csum_pseudo(ip, proto, len - l4off));
	/* RFC 768: a computed 0 is sent as all ones, 0 meaning none. */
	if (c == 0 && proto == IPPROTO_UDP)
		c = 0xffff;
	POKE_U16(ip + at, c);
}

/* -------------------------------------------------------- the way in */

/*
 * NEEDS_CSUM: the kernel put the pseudo-header's sum in the field and
 * left the rest to the device (include/linux/skbuff.h, "CHECKSUM_PARTIAL"),
 * which sums from csum_start to the end, field included.  That is all a
 * NIC knows; it also knows UDP's rule when the field is UDP's.
 */
static void
csum_finish(uint8_t *pkt, size_t len, size_t start, size_t off)
{
	struct pkt_info pi;
	uint16_t        c;

	c = (uint16_t)~csum_bytes(pkt + start, len - start, 0);
	if (c == 0 && pkt_parse(pkt, len, 0, &pi) == PKT_OK &&
	    pi.proto == IPPROTO_UDP && pi.frag == PKT_FRAG_NONE &&
	    pi.l4_off == start && off == UDP_CSUM_OFF)
		c = 0xffff;
	POKE_U16(pkt + start + off, c);
}

/* The headers of a super-segment, as parsed from it. */
struct gso_hdrs {
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
	size_t  iphl;  /* IP header, options included: the L4 offset */
	size_t  hl;    /* IP and TCP/UDP headers: copied into every segment */
};

static int
gso_parse(const uint8_t *pkt, size_t len, uint8_t gso, struct gso_hdrs *hd)
{
	struct pkt_info pi;

	if (pkt_parse(pkt, len, 0, &pi) != PKT_OK)
		return VNET_ERR_PARSE;
	if ((gso == VIRTIO_NET_HDR_GSO_TCPV4 && pi.family != AF_INET) ||
	    (gso == VIRTIO_NET_HDR_GSO_TCPV6 && pi.family != AF_INET6))
		return VNET_ERR_FAMILY;
	/* Link padding has no place in a super-segment. */
	if (pi.len != len)
		return VNET_ERR_LENGTH;
	if (pi.family == AF_INET6 && pi.l4_off != 40)
		return VNET_ERR_EXTHDR;
	if (pi.frag != PKT_FRAG_NONE)
		return VNET_ERR_PROTO;
	hd->iphl = pi.l4_off;
	if (gso == VIRTIO_NET_HDR_GSO_UDP_L4) {
		if (pi.proto != IPPROTO_UDP)
			return VNET_ERR_PROTO;
		hd->hl = hd->iphl + UDP_HDR_LEN;
	} else {
		if (pi.proto != IPPROTO_TCP)
			return VNET_ERR_PROTO;
		/* pkt_parse() checked the data offset against the length. */
		hd->hl = hd->iphl + (size_t)(pkt[hd->iphl + 12] >> 4) * 4;
	}
	hd->proto = pi.proto;
	if (hd->hl >= len)
		return VNET_ERR_LENGTH;
	return VNET_OK;
}

/* The IP header of a segment `len` bytes long, the `i`th (from 0). */
static void
seg_ip(
    uint8_t *s, const struct gso_hdrs *hd, size_t len, uint16_t id0, size_t i)
{
	if (s[0] >> 4 == 4) {
		POKE_U16(s + 2, (uint16_t)len);
		POKE_U16(s + 4, (uint16_t)(id0 + i));
		ipv4_csum_set(s, hd->iphl);
	} else
		POKE_U16(s + 4, (uint16_t)(len - 40));
}

static int
gso_segment(const uint8_t *pkt, size_t len, const struct gso_hdrs *hd,
    size_t gso, uint8_t *out, size_t outsize, struct vnet_seg *segs,
    size_t maxsegs)
{
	const uint8_t *l4 = pkt + hd->iphl;
	size_t         pay = len - hd->hl, nseg, i, off, n, at = 0;
	uint32_t       seq = 0;
	uint16_t       id0 = 0;
	uint8_t       *s, flags = 0;

	nseg = (pay + gso - 1) / gso;
	/* nseg <= 65535 and hl <= 120: no overflow. */
	if (nseg > maxsegs || nseg * hd->hl + pay > outsize)
		return VNET_ERR_SPACE;
	if (pkt[0] >> 4 == 4)
		id0 = PEEK_U16(pkt + 4);
	if (hd->proto == IPPROTO_TCP) {
		seq = PEEK_U32(l4 + 4);
		flags = l4[13];
	}
	for (i = 0, off = 0; i < nseg; i++, off += n) {
		n = pay - off < gso ? pay - off : gso;
		s = out + at;
		memcpy(s, pkt, hd->hl);
		memcpy(s + hd->hl, pkt + hd->hl + off, n);
		seg_ip(s, hd, hd->hl + n, id0, i);
		if (hd->proto == IPPROTO_TCP) {
			/* As tcp_gso_segment(): FIN and PSH end the data,
			 * CWR answers ECE once (RFC 3168, 6.1.2). */
			POKE_U32(s + hd->iphl + 4, seq + (uint32_t)off);
			s[hd->iphl + 13] = flags;
			if (i + 1 < nseg)
				s[hd->iphl + 13] &=
				    (uint8_t) ~(TCP_FIN | TCP_PSH);
			if (i > 0)
				s[hd->iphl + 13] &= (uint8_t)~TCP_CWR;
		} else
			POKE_U16(s + hd->iphl + 4, (uint16_t)(UDP_HDR_LEN + n));
		l4_csum_set(s, hd->hl + n, hd->iphl, hd->proto);
		segs[i].p = s;
		segs[i].len = hd->hl + n;
		at += hd->hl + n;
	}
	return (int)nseg;
}

int
vnet_split(uint8_t *buf, size_t len, uint8_t *out, size_t outsize,
    struct vnet_seg *segs, size_t maxsegs)
{
	struct virtio_net_hdr h;
	struct gso_hdrs       hd;
	uint8_t              *pkt, gso;
	size_t                plen;
	int                   rc;

	if (vnet_hdr_decode(buf, len, &h) == -1)
		return VNET_ERR_SHORT;
	pkt = buf + VNET_HDR_LEN;
	plen = len - VNET_HDR_LEN;
	if (plen > VNET_PKT_MAX)
		return VNET_ERR_LENGTH;
	if (h.flags &
	    ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
		return VNET_ERR_FLAGS;
	if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    (size_t)h.csum_start + h.csum_offset + 2 > plen)
		return VNET_ERR_CSUM_OFF;
	gso = h.gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	switch (h.gso_type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		if (maxsegs < 1)
			return VNET_ERR_SPACE;
		if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
			csum_finish(pkt, plen, h.csum_start, h.csum_offset);
		segs[0].p = pkt;
		segs[0].len = plen;
		return 1;
	case VIRTIO_NET_HDR_GSO_TCPV4:
	case VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN:
	case VIRTIO_NET_HDR_GSO_TCPV6:
	case VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN:
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		break;
	default:
		return VNET_ERR_GSO_TYPE;
	}
	if (h.gso_size == 0)
		return VNET_ERR_GSO_SIZE;
	/*
	 * The field at csum_start + csum_offset holds a partial sum; every
	 * segment's checksum is computed whole below, so neither it nor
	 * hdr_len (wrong in forwarded packets) is used.
	 */
	if ((rc = gso_parse(pkt, plen, gso, &hd)) != VNET_OK)
		return rc;
	return gso_segment(
	    pkt, plen, &hd, h.gso_size, out, outsize, segs, maxsegs);
}

/* ------------------------------------------------------- the way out */

/* One packet of a run, as the coalescer sees it. */
struct gro_pkt {
	uint16_t iphl; /* L4 offset */
	uint16_t thl;  /* TCP header; 0: not TCP, or a fragment (no flow) */
	uint16_t pay;  /* TCP payload */
	uint8_t  cand; /* may be merged with its neighbours */
	int16_t  grp;  /* its group, or -1: written alone */
	int16_t  next; /* the next member of its group, or -1 */
};

/* Packets that become one super-segment, at its first packet's place. */
struct gro_grp {
	int16_t  first, last;
	uint16_t count;
	uint16_t gso;      /* the first packet's payload */
	uint32_t seq_next; /* the sequence number the next member must have */
	size_t   bytes;    /* the super-segment's IP length so far */
};

/*
 * A TCP packet (not a fragment) has a flow; it may merge if, besides, it
 * is exactly its IP length long, has no IPv4 options or IPv6 extension
 * headers, carries data with ACK or ACK|PSH, and its checksums are right.
 */
static void
gro_classify(
    const uint8_t *p, size_t len, struct gro_pkt *g, struct vnet_gro_stats *st)
{
	struct pkt_info pi;
	size_t          thl;

	memset(g, 0, sizeof(*g));
	g->grp = g->next = -1;
	if (pkt_parse(p, len, 0, &pi) != PKT_OK || pi.proto != IPPROTO_TCP ||
	    pi.frag != PKT_FRAG_NONE)
		return;
	thl = (size_t)(p[pi.l4_off + 12] >> 4) * 4;
	g->iphl = pi.l4_off;
	g->thl = (uint16_t)thl;
	if (pi.len != len || len <= pi.l4_off + thl)
		return;
	g->pay = (uint16_t)(len - pi.l4_off - thl);
	if (pi.l4_off != (pi.family == AF_INET ? 20 : 40))
		return;
	if (p[pi.l4_off + 13] != TCP_ACK &&
	    p[pi.l4_off + 13] != (TCP_ACK | TCP_PSH))
		return;
	if ((pi.family == AF_INET && csum_bytes(p, 20, 0) != 0xffff) ||
	    csum_bytes(p + pi.l4_off, len - pi.l4_off,
		csum_pseudo(p, IPPROTO_TCP, len - pi.l4_off)) != 0xffff) {
		if (st != NULL)
			st->csum_bad++;
		return;
	}
	g->cand = 1;
}

/* Same addresses and ports, both with a flow. */
static int
gro_same_flow(const struct vnet_seg *a, const struct gro_pkt *ga,
    const struct vnet_seg *b, const struct gro_pkt *gb)
{
	if (ga->thl == 0 || gb->thl == 0 || a->p[0] >> 4 != b->p[0] >> 4)
		return 0;
	if (a->p[0] >> 4 == 4 ? memcmp(a->p + 12, b->p + 12, 8) != 0
			      : memcmp(a->p + 8, b->p + 8, 32) != 0)
		return 0;
	return memcmp(a->p + ga->iphl, b->p + gb->iphl, 4) == 0;
}

/*
 * Whether `c` may follow the group's members: the fields a split copies
 * from the first segment are equal, those it derives follow on (IPv4 id,
 * sequence number), and the result stays within bounds.  Both are
 * candidates of one flow, so both headers are there.
 */
static int
gro_fits(const struct gro_grp *g, const struct vnet_seg *in,
    const struct gro_pkt *pk, const struct vnet_seg *c,
    const struct gro_pkt *gc)
{
	const struct gro_pkt *gf = &pk[g->first];
	const uint8_t        *f = in[g->first].p, *l = in[g->last].p;
	const uint8_t        *ft = f + gf->iphl, *ct = c->p + gc->iphl;

	if (!gc->cand || gc->thl != gf->thl || gc->pay > g->gso ||
	    g->count >= VNET_GRO_SEGS || g->bytes + gc->pay > VNET_PKT_MAX)
		return 0;
	if (f[0] >> 4 == 4) {
		/* version/IHL and ToS, flags (DF), TTL */
		if (memcmp(f, c->p, 2) != 0 ||
		    memcmp(f + 6, c->p + 6, 3) != 0 ||
		    PEEK_U16(c->p + 4) != (uint16_t)(PEEK_U16(l + 4) + 1))
			return 0;
	} else {
		/* traffic class and flow label, hop limit */
		if (memcmp(f, c->p, 4) != 0 || f[7] != c->p[7])
			return 0;
	}
	/* ACK number, data offset, window, urgent pointer, options */
	return PEEK_U32(ct + 4) == g->seq_next &&
	    memcmp(ft + 8, ct + 8, 5) == 0 &&
	    memcmp(ft + 14, ct + 14, 2) == 0 &&
	    memcmp(ft + 18, ct + 18, gf->thl - 18) == 0;
}

/* A member that ends the group: shorter than gso_size, or PSH. */
static int
gro_last(
    const struct gro_grp *g, const struct vnet_seg *c, const struct gro_pkt *gc)
{
	return gc->pay < g->gso || (c->p[gc->iphl + 13] & TCP_PSH);
}

/* Assigns the packets of a run, in[0..n), to groups. */
static void
gro_group(const struct vnet_seg *in, size_t n, struct gro_pkt *pk,
    struct gro_grp *grps, struct vnet_gro_stats *st)
{
	int16_t         open[VNET_GRO_FLOWS]; /* groups, oldest first */
	size_t          nopen = 0, ngrp = 0, i, j;
	struct gro_grp *g;

	for (i = 0; i < n; i++) {
		gro_classify(in[i].p, in[i].len, &pk[i], st);
		for (j = 0; j < nopen; j++)
			if (gro_same_flow(&in[grps[open[j]].first],
				&pk[grps[open[j]].first], &in[i], &pk[i]))
				break;
		if (j < nopen) {
			g = &grps[open[j]];
			if (gro_fits(g, in, pk, &in[i], &pk[i])) {
				pk[g->last].next = (int16_t)i;
				pk[i].grp = open[j];
				g->last = (int16_t)i;
				g->count++;
				g->seq_next += pk[i].pay;
				g->bytes += pk[i].pay;
				if (!gro_last(g, &in[i], &pk[i]))
					continue;
			}
			/* Closed: a packet of its flow that did not fit,
			 * or its last.  Either way the flow's order holds:
			 * the group is written before this packet. */
			memmove(&open[j], &open[j + 1],
			    (nopen - j - 1) * sizeof(open[0]));
			nopen--;
			if (pk[i].grp >= 0)
				continue;
		}
		if (!pk[i].cand)
			continue;
		g = &grps[ngrp];
		pk[i].grp = (int16_t)ngrp++;
		g->first = g->last = (int16_t)i;
		g->count = 1;
		g->gso = pk[i].pay;
		g->seq_next = PEEK_U32(in[i].p + pk[i].iphl + 4) + pk[i].pay;
		g->bytes = in[i].len;
		if (in[i].p[pk[i].iphl + 13] & TCP_PSH)
			continue;
		if (nopen == VNET_GRO_FLOWS) {
			memmove(
			    &open[0], &open[1], (nopen - 1) * sizeof(open[0]));
			nopen--;
		}
		open[nopen++] = pk[i].grp;
	}
}

/* Writes the group's super-segment at `o`; returns its length. */
static size_t
gro_write(const struct gro_grp *g, const struct vnet_seg *in,
    const struct gro_pkt *pk, uint8_t *o)
{
	struct virtio_net_hdr h;
	const struct gro_pkt *gf = &pk[g->first];
	uint8_t              *ip = o + VNET_HDR_LEN;
	size_t                at, hl = (size_t)gf->iphl + gf->thl;
	int16_t               m;

	memcpy(ip, in[g->first].p, in[g->first].len);
	at = in[g->first].len;
	for (m = gf->next; m >= 0; m = pk[m].next) {
		memcpy(ip + at, in[m].p + hl, pk[m].pay);
		at += pk[m].pay;
	}
	if (ip[0] >> 4 == 4) {
		POKE_U16(ip + 2, (uint16_t)at);
		ipv4_csum_set(ip, gf->iphl);
	} else
		POKE_U16(ip + 4, (uint16_t)(at - 40));
	/* The last one's PSH. */
	ip[gf->iphl + 13] = in[g->last].p[gf->iphl + 13];
	/* CHECKSUM_PARTIAL: the pseudo-header's sum, not complemented. */
	POKE_U16(ip + gf->iphl + TCP_CSUM_OFF,
	    csum_pseudo(ip, IPPROTO_TCP, at - gf->iphl));

	memset(&h, 0, sizeof(h));
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.gso_type = ip[0] >> 4 == 4 ? VIRTIO_NET_HDR_GSO_TCPV4
				     : VIRTIO_NET_HDR_GSO_TCPV6;
	h.hdr_len = (uint16_t)hl;
	h.gso_size = g->gso;
	h.csum_start = gf->iphl;
	h.csum_offset = TCP_CSUM_OFF;
	vnet_hdr_encode(&h, o);
	return VNET_HDR_LEN + at;
}

int
vnet_coalesce(const struct vnet_seg *in, size_t n, uint8_t *out, size_t outsize,
    struct vnet_seg *w, size_t maxw, struct vnet_gro_stats *st)
{
	struct gro_pkt pk[VNET_GRO_BATCH];
	struct gro_grp grps[VNET_GRO_BATCH];
	size_t         need = 0, at = 0, nw = 0, base, run, i, len;
	int16_t        gi;

	if (maxw < n)
		return VNET_ERR_SPACE;
	for (i = 0; i < n; i++) {
		if (in[i].len > SIZE_MAX - VNET_HDR_LEN - need)
			return VNET_ERR_SPACE;
		need += VNET_HDR_LEN + in[i].len;
	}
	if (need > outsize || n > INT32_MAX)
		return VNET_ERR_SPACE;

	for (base = 0; base < n; base += run) {
		run = n - base < VNET_GRO_BATCH ? n - base : VNET_GRO_BATCH;
		gro_group(in + base, run, pk, grps, st);
		for (i = 0; i < run; i++) {
			gi = pk[i].grp;
			if (gi >= 0 && grps[gi].count > 1) {
				if (grps[gi].first != (int16_t)i)
					continue;
				len = gro_write(
				    &grps[gi], in + base, pk, out + at);
				if (st != NULL)
					st->merged += grps[gi].count;
			} else {
				vnet_hdr_plain(out + at);
				if (in[base + i].len > 0)
					memcpy(out + at + VNET_HDR_LEN,
					    in[base + i].p, in[base + i].len);
				len = VNET_HDR_LEN + in[base + i].len;
			}
			w[nw].p = out + at;
			w[nw].len = len;
			nw++;
			at += len;
		}
	}
	if (st != NULL)
		st->writes += nw;
	return (int)nw;
}
