#include "autoconf.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <string.h>

#include "buf.h"
#include "pkt.h"

/*
 * RFC 8200, 4.1 expects a handful of extension headers per packet and
 * RFC 7112 wants the whole chain in the first fragment; a longer chain is
 * an attack on parsers like this one, not traffic.
 */
#define IPV6_MAX_EXTHDRS 16

#define IPV4_MF           0x2000 /* RFC 791, 3.1: More Fragments */
#define IPV4_OFFMASK      0x1fff /* offset in 8-octet units */
#define IPV6_FRAG_M       0x0001 /* RFC 8200, 4.5: M flag */
#define IPV6_FRAG_OFFMASK 0xfff8 /* offset, already times 8 */
#define IP_MAXPACKET      65535

/* Not in <netinet/in.h> (IANA protocol numbers). */
#define PROTO_HIP   139 /* RFC 7401 */
#define PROTO_SHIM6 140 /* RFC 5533 */

static const char *const reason_str[PKT_NREASONS] = {
    "ok",
    "truncated",
    "bad-version",
    "bad-header-length",
    "bad-length",
    "truncated-l4",
    "bad-extension-header",
    "bad-fragment",
    "fragment-without-first",
    "not-ip",
    "no-route",
    "table-full",
};

const char *
pkt_reason_str(int reason)
{
	if (reason > 0 || reason <= -PKT_NREASONS)
		return "unknown";
	return reason_str[-reason];
}

/*
 * `b` covers exactly the L4 bytes we may read: from the L4 header to the
 * end of the IP datagram or of the capture, whichever comes first, so link
 * padding is never taken for a header.  `declared` is what the IP header
 * says the L4 part is.
 */
static int
parse_l4(struct rbuf *b, size_t declared, struct pkt_info *pi)
{
	uint16_t sport, dport, id;
	uint8_t  type, doff, flags;

	switch (pi->proto) {
	case IPPROTO_TCP:
		/* RFC 9293, 3.1: data offset counts 32-bit words, min 5. */
		if (rbuf_left(b) < 20 || rbuf_peek_u16(b, 0, &sport) == -1 ||
		    rbuf_peek_u16(b, 2, &dport) == -1 ||
		    rbuf_peek_u8(b, 12, &doff) == -1 ||
		    rbuf_peek_u8(b, 13, &flags) == -1)
			return PKT_ERR_L4_TRUNCATED;
		doff >>= 4;
		if (doff < 5 || (size_t)doff * 4 > declared)
			return PKT_ERR_L4_TRUNCATED;
		pi->tcp_flags = flags;
		break;
	case IPPROTO_UDP:
		if (rbuf_left(b) < 8 || rbuf_peek_u16(b, 0, &sport) == -1 ||
		    rbuf_peek_u16(b, 2, &dport) == -1)
			return PKT_ERR_L4_TRUNCATED;
		break;
	case IPPROTO_UDPLITE:
	case IPPROTO_SCTP:
	case IPPROTO_DCCP:
		/* Each starts with source and destination port (RFC 3828,
		 * 3.1; RFC 9260, 3.1; RFC 4340, 5.1). */
		if (rbuf_peek_u16(b, 0, &sport) == -1 ||
		    rbuf_peek_u16(b, 2, &dport) == -1)
			return PKT_ERR_L4_TRUNCATED;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		/*
		 * Echo request and reply carry an identifier (RFC 792;
		 * RFC 4443, 4.1) that the reply copies: using it as both
		 * ports makes a ping and its answers one flow, and two
		 * pings between the same hosts two flows.
		 */
		if (rbuf_left(b) < 8 || rbuf_peek_u8(b, 0, &type) == -1 ||
		    rbuf_peek_u16(b, 4, &id) == -1)
			return PKT_ERR_L4_TRUNCATED;
		if ((pi->proto == IPPROTO_ICMP && (type == 8 || type == 0)) ||
		    (pi->proto == IPPROTO_ICMPV6 &&
			(type == 128 || type == 129)))
			sport = dport = id;
		else
			sport = dport = 0;
		break;
	default:
		sport = dport = 0;
		break;
	}
	pi->sport = sport;
	pi->dport = dport;
	return PKT_OK;
}

static int
parse_ipv4(struct rbuf *b, int flags, struct pkt_info *pi)
{
	struct rbuf l4;
	uint16_t    tl, id, fo;
	uint8_t     vihl, tos, proto;
	size_t      caplen = rbuf_left(b), hlen, end;
	uint32_t    off;

	if (caplen < 20)
		return PKT_ERR_TRUNCATED;
	if (rbuf_get_u8(b, &vihl) == -1 || rbuf_get_u8(b, &tos) == -1 ||
	    rbuf_get_u16(b, &tl) == -1 || rbuf_get_u16(b, &id) == -1 ||
	    rbuf_get_u16(b, &fo) == -1 || rbuf_skip(b, 1) == -1 ||
	    rbuf_get_u8(b, &proto) == -1 || rbuf_skip(b, 2) == -1 ||
	    rbuf_get_bytes(b, pi->src, 4) == -1 ||
	    rbuf_get_bytes(b, pi->dst, 4) == -1)
		return PKT_ERR_TRUNCATED;
	pi->family = AF_INET;
	pi->proto = proto;
	/* RFC 2474, 3: the ToS byte's upper six bits. */
	pi->dscp = (uint8_t)(tos >> 2);

	hlen = (size_t)(vihl & 0x0f) * 4;
	if (hlen < 20 || hlen > caplen)
		return PKT_ERR_HDRLEN;
	if (tl < hlen)
		return PKT_ERR_LENGTH;
	/*
	 * Bytes past the total length are link padding (Ethernet pads to
	 * 60); fewer bytes than it are a broken packet, unless this is a
	 * capture cut at its snap length.
	 */
	if (tl > caplen && !(flags & PKT_F_SNAPLEN))
		return PKT_ERR_LENGTH;
	end = tl < caplen ? tl : caplen;
	pi->len = tl;
	pi->l4_off = (uint16_t)hlen;

	off = (uint32_t)(fo & IPV4_OFFMASK) * 8;
	if ((fo & IPV4_MF) || off != 0) {
		pi->frag_id = id;
		/* No datagram may end past 65535 octets (RFC 791, 3.1). */
		if (off + (tl - hlen) > IP_MAXPACKET)
			return PKT_ERR_FRAGMENT;
		if (off != 0) {
			pi->frag = PKT_FRAG_LATER;
			return PKT_OK;
		}
		pi->frag = PKT_FRAG_FIRST;
	}

	if (rbuf_seek(b, hlen) == -1)
		return PKT_ERR_HDRLEN;
	rbuf_init(&l4, rbuf_ptr(b), end - hlen);
	return parse_l4(&l4, tl - hlen, pi);
}

static int
parse_ipv6(struct rbuf *b, int flags, struct pkt_info *pi)
{
	struct rbuf r;
	uint32_t    fid;
	uint16_t    plen, offlg, vtc;
	uint8_t     nh, hlen;
	size_t      caplen = rbuf_left(b), tl, end, pos, len, n, off;
	int         seen_frag = 0;

	if (caplen < 40)
		return PKT_ERR_TRUNCATED;
	if (rbuf_get_u16(b, &vtc) == -1 || rbuf_skip(b, 2) == -1 ||
	    rbuf_get_u16(b, &plen) == -1 || rbuf_get_u8(b, &nh) == -1 ||
	    rbuf_skip(b, 1) == -1 || rbuf_get_bytes(b, pi->src, 16) == -1 ||
	    rbuf_get_bytes(b, pi->dst, 16) == -1)
		return PKT_ERR_TRUNCATED;
	pi->family = AF_INET6;
	/* Traffic class: bits 4..11; DSCP its upper six (RFC 8200, 7). */
	pi->dscp = (uint8_t)((vtc >> 6) & 0x3f);

	/*
	 * Payload length 0 means a jumbogram (RFC 2675) whose length hides
	 * in a hop-by-hop option; no link we tunnel over carries one.
	 */
	if (plen == 0)
		return PKT_ERR_LENGTH;
	tl = 40 + (size_t)plen;
	if (tl > caplen && !(flags & PKT_F_SNAPLEN))
		return PKT_ERR_LENGTH;
	end = tl < caplen ? tl : caplen;
	pi->len = (uint32_t)tl;

	/* `r` covers the payload we may read; pos = 40 + r.off. */
	rbuf_init(&r, rbuf_ptr(b), end - 40);
	for (n = 0;; n++) {
		pos = 40 + r.off;
		switch (nh) {
		case IPPROTO_HOPOPTS:
			/* RFC 8200, 4.1: only right after the IPv6 header. */
			if (n != 0)
				return PKT_ERR_EXTHDR;
			/* FALLTHROUGH */
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_MH:
		case PROTO_HIP:
		case PROTO_SHIM6:
			/* Length in 8-octet units, not counting the first 8
			 * (RFC 8200, 4.3, 4.4, 4.6; the later headers follow
			 * the same format, RFC 6564). */
			if (rbuf_peek_u8(&r, 1, &hlen) == -1)
				return PKT_ERR_EXTHDR;
			len = ((size_t)hlen + 1) * 8;
			break;
		case IPPROTO_AH:
			/* RFC 4302, 2.2: in 32-bit words, minus 2. */
			if (rbuf_peek_u8(&r, 1, &hlen) == -1)
				return PKT_ERR_EXTHDR;
			len = ((size_t)hlen + 2) * 4;
			break;
		case IPPROTO_FRAGMENT:
			/* RFC 8200, 4.1: at most once per packet. */
			if (seen_frag++ || n == IPV6_MAX_EXTHDRS ||
			    rbuf_peek_u8(&r, 0, &nh) == -1 ||
			    rbuf_peek_u16(&r, 2, &offlg) == -1 ||
			    rbuf_peek_u32(&r, 4, &fid) == -1)
				return PKT_ERR_EXTHDR;
			(void)rbuf_skip(&r, 8);
			/* Offset 0 and no M flag: an atomic fragment, a
			 * whole packet (RFC 6946). */
			if ((offlg & (IPV6_FRAG_OFFMASK | IPV6_FRAG_M)) == 0)
				continue;
			pi->frag_id = fid;
			off = offlg & IPV6_FRAG_OFFMASK;
			/*
			 * RFC 8200, 4.5: drop a fragment whose reassembled
			 * payload would pass 65535 octets.  That payload is
			 * the headers before this one, the offset and this
			 * fragment's data: off + plen - 8.
			 */
			if (off + (size_t)plen - 8 > IP_MAXPACKET)
				return PKT_ERR_FRAGMENT;
			if (off == 0) {
				pi->frag = PKT_FRAG_FIRST;
				continue;
			}
			/* What follows is data; `nh` names its first
			 * header, all we can know without the first. */
			pi->frag = PKT_FRAG_LATER;
			pi->proto = nh;
			if (pos + 8 > UINT16_MAX)
				return PKT_ERR_EXTHDR;
			pi->l4_off = (uint16_t)(pos + 8);
			return PKT_OK;
		default:
			goto upper;
		}
		if (n == IPV6_MAX_EXTHDRS || rbuf_left(&r) < len ||
		    rbuf_peek_u8(&r, 0, &nh) == -1)
			return PKT_ERR_EXTHDR;
		(void)rbuf_skip(&r, len);
	}
upper:
	pi->proto = nh;
	if (pos > UINT16_MAX)
		return PKT_ERR_EXTHDR;
	pi->l4_off = (uint16_t)pos;
	if (nh == IPPROTO_NONE)
		return PKT_OK;
	return parse_l4(&r, tl - pos, pi);
}

int
pkt_parse(const uint8_t *p, size_t len, int flags, struct pkt_info *out)
{
	struct rbuf b;
	uint8_t     v;

	memset(out, 0, sizeof(*out));
	rbuf_init(&b, p, len);
	if (rbuf_peek_u8(&b, 0, &v) == -1)
		return PKT_ERR_TRUNCATED;
	switch (v >> 4) {
	case 4:
		return parse_ipv4(&b, flags, out);
	case 6:
		return parse_ipv6(&b, flags, out);
	default:
		return PKT_ERR_VERSION;
	}
}
