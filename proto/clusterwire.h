/*
 * The cluster link (DESIGN.md section 8, doc/CLUSTER.md): how one popd
 * node of a cluster hands a packet to another, over UDP between the
 * members, never through corosync.  A fixed CW_HDR_LEN-byte header, all
 * integers big-endian, then the inner packet sealed with AEAD (the
 * header is the additional data) and a CW_TAG_LEN tag:
 *
 *	bytes 0-1	magic "WC" (0x57 0x43)
 *	byte 2		version (CW_VERSION)
 *	byte 3		type (enum cw_type)
 *	byte 4		flags (none defined: any set bit is refused)
 *	byte 5		hops: 1 on the first hop, at most CW_MAX_HOPS
 *	byte 6		origin: where the inner packet entered the cluster
 *	byte 7		endpoint family: 4, 6, or 0 (origin TUN)
 *	bytes 8-11	from: the sending node's id (never 0)
 *	bytes 12-15	to: the receiving node's id (never 0, never from)
 *	bytes 16-19	owner: the flow's owner as the sender knows it, 0 if
 *			unknown
 *	bytes 20-23	session: the flow's site session id, 0 if unknown
 *	bytes 24-25	endpoint port
 *	bytes 26-41	endpoint address (IPv4 in the first 4 bytes, the rest 0)
 *	bytes 42-49	generation: which key of the (from, to) pair sealed it
 *	bytes 50-57	counter: the nonce under that key, and anti-replay
 *	then		the sealed inner packet, and the tag
 *
 * The endpoint is the site's outer address and port of an origin-SITE
 * datagram as the receiving node saw it: the owner learns the site's
 * endpoint for the link from it, as it would from a datagram it received
 * itself.
 *
 * This file is the bytes only.  The keys (one per sender, receiver and
 * generation), the counters and the replay windows are common/clusterlink
 * .h's; so is opening, after which cw_inner_check() looks at what opened.
 * Encoding and decoding are pure functions: no allocation, no I/O.
 */
#ifndef WANPAIR_CLUSTERWIRE_H
#define WANPAIR_CLUSTERWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "proto.h"

#define CW_MAGIC0  0x57 /* 'W' */
#define CW_MAGIC1  0x43 /* 'C' */
#define CW_VERSION 1

#define CW_HDR_LEN   58
#define CW_TAG_LEN   16 /* AES-256-GCM, as the data plane (proto.h) */
#define CW_NONCE_LEN 12 /* from (32 bits) ‖ counter (64 bits) */
#define CW_OVERHEAD  (CW_HDR_LEN + CW_TAG_LEN)
/* Largest cluster-link datagram: a UDP payload over IPv4 (proto.h). */
#define CW_MAX_PKT WIRE_MAX_DGRAM
/* Largest inner packet.  A site's datagram larger than this cannot be
 * forwarded (it would not be MTU-sized on any link anyway). */
#define CW_MAX_INNER (CW_MAX_PKT - CW_OVERHEAD)
/* Smallest cluster-link datagram: an inner packet of one byte. */
#define CW_MIN_PKT (CW_OVERHEAD + 1)

/*
 * A packet is forwarded at most this often: receiving node to director
 * (1), director to owner or back as FIRST (2), and one more for a node
 * whose view of the members lags (3).  A node that would forward a packet
 * with CW_MAX_HOPS hops handles it if it holds the flow, or drops it and
 * counts CW_ERR_HOPS: two members that disagree about a flow cannot pass
 * its packets back and forth.
 */
#define CW_MAX_HOPS 3

/* Numbering starts at 1 so that a zeroed header is never a valid one. */
enum cw_type {
	CW_FORWARD = 1,   /* to the director, or to the owner */
	CW_FIRST = 2,     /* director to receiving node: the flow's first
			     packet, you own it (owner == to) */
	CW_OWNER_HINT = 3 /* director to receiving node: `owner` holds
			     this flow, send its packets there; the inner
			     packet only keys the flow (it was forwarded
			     already) and is never delivered */
};

/* Where the inner packet came into the cluster. */
enum cw_origin {
	CW_ORIGIN_SITE = 1, /* a site's UDP datagram (data-plane wire.h
			       format), with the site's endpoint */
	CW_ORIGIN_TUN = 2   /* an IP packet from the TUN: Internet side */
};

/*
 * Why a cluster-link datagram was dropped: every reason has a counter
 * (CW_NREASONS of them, indexed by -reason).  The decoder returns the
 * first ten; common/clusterlink.h the others, which need the keys.
 */
enum cw_err {
	CW_OK = 0,
	CW_ERR_TRUNCATED = -1, /* shorter than CW_MIN_PKT */
	CW_ERR_OVERSIZED = -2, /* longer than CW_MAX_PKT */
	CW_ERR_MAGIC = -3,     /* not "WC": not a cluster-link datagram */
	CW_ERR_VERSION = -4,   /* version is not CW_VERSION */
	CW_ERR_TYPE = -5,      /* not an enum cw_type */
	CW_ERR_FLAGS = -6,     /* a flag this version does not define */
	CW_ERR_HOPS = -7,      /* hops 0, or past CW_MAX_HOPS */
	CW_ERR_ORIGIN = -8,    /* not an enum cw_origin, or an endpoint
				  that does not suit it */
	CW_ERR_NODE = -9,      /* from or to 0, or from == to */
	CW_ERR_OWNER = -10,    /* FIRST not to its owner, HINT without one */
	CW_ERR_NOT_MINE = -11, /* `to` is another node */
	CW_ERR_PEER = -12,     /* `from` is not a member we know */
	CW_ERR_STALE = -13,    /* a generation older than the sender's */
	CW_ERR_REPLAY = -14,   /* counter seen, or behind the window */
	CW_ERR_TAG = -15,      /* does not authenticate */
	CW_ERR_INNER = -16     /* opened, but the inner packet is not one of
				  its origin (cw_inner_check) */
};
#define CW_NREASONS 17 /* counters indexed by -enum cw_err; 0 unused */

struct cw_hdr {
	uint8_t        version;
	uint8_t        type;   /* enum cw_type */
	uint8_t        flags;  /* none defined yet */
	uint8_t        hops;   /* 1..CW_MAX_HOPS */
	uint8_t        origin; /* enum cw_origin */
	uint32_t       from;
	uint32_t       to;
	uint32_t       owner;
	uint32_t       session;
	struct wp_addr endpoint; /* family AF_INET, AF_INET6, or 0 */
	uint16_t       port;     /* host order */
	uint64_t       generation;
	uint64_t       counter;
};

/*
 * Writes the CW_HDR_LEN header bytes to out.  Returns CW_HDR_LEN, or -1
 * (nothing written) if outlen is too small or the endpoint's family is
 * not AF_INET, AF_INET6 or 0.  It writes any other values as they are,
 * so that tests can build the headers a decoder must refuse: a sender
 * checks with cw_hdr_check() first (clusterlink does).
 */
int cw_hdr_encode(const struct cw_hdr *, uint8_t *out, size_t outlen);

/*
 * Decodes and checks the header at the start of a whole datagram of
 * `len` bytes.  Returns CW_OK and fills *hdr, or the first reason (enum
 * cw_err, CW_ERR_TRUNCATED to CW_ERR_OWNER) it is refused, leaving *hdr
 * untouched.  The sealed inner packet starts at CW_HDR_LEN and ends with
 * the tag, the datagram's last CW_TAG_LEN bytes.
 */
int cw_hdr_decode(const uint8_t *, size_t len, struct cw_hdr *);

/* The checks of cw_hdr_decode() past the bytes: CW_OK or a reason. */
int cw_hdr_check(const struct cw_hdr *);

/*
 * The hop count a node forwards a received packet with: hops + 1, or
 * CW_ERR_HOPS when the packet has made CW_MAX_HOPS already: then the
 * node handles it if it holds the flow, or drops it and counts.
 */
int cw_forward_hops(const struct cw_hdr *);

/* The CW_NONCE_LEN-byte AEAD nonce: from ‖ counter (RFC 5116 3.2). */
void cw_nonce(uint32_t from, uint64_t counter, uint8_t nonce[CW_NONCE_LEN]);

/*
 * After opening: CW_OK if the `len` bytes are a packet of their origin,
 * a site's data-plane datagram (WIRE_MIN_DGRAM to WIRE_MAX_DGRAM bytes)
 * or an IP packet (version 4 with at least 20 bytes, 6 with at least
 * 40), else CW_ERR_INNER.  It reads only the first byte.
 */
int cw_inner_check(uint8_t origin, const uint8_t *, size_t len);

/* Short name of an enum cw_err, as used in counters. */
const char *cw_err_str(int);

#endif
