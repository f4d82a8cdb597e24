/*
 * IPv4/IPv6 packet classification: the fields a flow is keyed on.
 *
 * pkt_parse() is a pure function over bytes that start at the IP header
 * (what a TUN device or a capture's link layer hands over).  It reads
 * through the bounded reader (buf.h) only, never past `len`, and never
 * writes outside *out.  Return PKT_OK (0) or a negative enum pkt_reason;
 * pkt_reason_str() gives the short name used in counters ("truncated").
 */
#ifndef WANPAIR_PKT_H
#define WANPAIR_PKT_H

#include <stddef.h>
#include <stdint.h>

enum pkt_reason {
	PKT_OK = 0,
	PKT_ERR_TRUNCATED = -1,    /* shorter than the IP header */
	PKT_ERR_VERSION = -2,      /* IP version neither 4 nor 6 */
	PKT_ERR_HDRLEN = -3,       /* IPv4 IHL < 5 or past the end */
	PKT_ERR_LENGTH = -4,       /* IP total length inconsistent */
	PKT_ERR_L4_TRUNCATED = -5, /* TCP/UDP/ICMP header cut off */
	PKT_ERR_EXTHDR = -6,       /* IPv6 extension header chain bad */
	PKT_ERR_FRAGMENT = -7,     /* impossible fragment (offset/len) */
	PKT_ERR_FRAG_NO_HEAD = -8, /* later fragment, first never seen
					   (set by frag_cache, not pkt_parse) */
	PKT_ERR_NOT_IP = -9,       /* link layer carried no IP (capture) */
	PKT_ERR_NO_ROUTE = -10,    /* no route/link for the flow (engine) */
	PKT_ERR_TABLE_FULL = -11,  /* shared flow pool empty, none to evict */
	PKT_NREASONS = 12
};

/*
 * Flags for pkt_parse().  PKT_F_SNAPLEN: the bytes may be a capture cut at
 * a snap length, so an IP total length larger than `len` is accepted (the
 * headers we need must still be present).  Without it (TUN), the total
 * length must match `len` exactly, modulo trailing link padding.
 */
#define PKT_F_SNAPLEN 0x01

enum pkt_frag {
	PKT_FRAG_NONE = 0, /* not a fragment */
	PKT_FRAG_FIRST,    /* offset 0, more fragments: carries ports */
	PKT_FRAG_LATER     /* offset > 0: ports unknown (sport = dport = 0) */
};

/* TCP flags we act on (closing state). */
#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04
#define PKT_TCP_ACK 0x10

struct pkt_info {
	uint8_t  family;    /* AF_INET or AF_INET6 */
	uint8_t  proto;     /* upper-layer protocol after ext hdrs */
	uint8_t  tcp_flags; /* TCP only */
	uint8_t  frag;      /* enum pkt_frag */
	uint8_t  dscp;      /* DSCP, 0..63: IPv4 ToS or IPv6 class >> 2 */
	uint8_t  src[16];   /* IPv4 in the first 4 bytes, rest 0 */
	uint8_t  dst[16];
	uint16_t sport;   /* TCP/UDP port; ICMP echo id; else 0 */
	uint16_t dport;   /* likewise (ICMP echo: the id again) */
	uint32_t frag_id; /* IPv4 id or IPv6 fragment id */
	uint32_t len;     /* IP total length (bytes on the wire) */
	uint16_t l4_off;  /* offset of the L4 header */
};

int pkt_parse(const uint8_t *, size_t len, int flags, struct pkt_info *out);
const char *pkt_reason_str(int reason);

#endif
