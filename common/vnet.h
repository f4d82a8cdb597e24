/*
 * TUN offloads (IFF_VNET_HDR): one read of the TUN device may stand for
 * many packets, and many packets may go back in one write.
 *
 * Every read and write of a TUN device opened with IFF_VNET_HDR starts
 * with a struct virtio_net_hdr (VNET_HDR_LEN bytes; TUNSETVNETHDRSZ left
 * at its default, so no num_buffers).  Its fields are in host byte order:
 * a TUN device uses the legacy virtio layout unless TUNSETVNETLE/BE says
 * otherwise.  With TUNSETOFFLOAD(VNET_TUN_OFFLOADS) the kernel hands over
 * TCP super-segments of up to 64 KiB (TSO), UDP ones (USO) and packets
 * whose checksum it left for us to finish, and takes TCP super-segments
 * back, which spares a system call per MSS each way.
 *
 * vnet_split() is the way in: the bytes of one read to the IP packets
 * they stand for, each one the peer could have received from a NIC.
 * vnet_coalesce() is the way out: packets opened from the tunnel, merged
 * where TCP's receive offload (GRO) would merge them, as TUN writes.
 *
 * Both are pure: no I/O, no allocation, no global state; every byte they
 * write is in memory the caller passes, every pointer they return points
 * into the caller's input or output area and lives as long as it does.
 * They never read past the lengths given.  Errors are a negative enum
 * vnet_reason, for a counter named by vnet_reason_str().
 */
#ifndef WANPAIR_VNET_H
#define WANPAIR_VNET_H

#include <linux/if_tun.h>
#include <linux/virtio_net.h>

#include <stddef.h>
#include <stdint.h>

/* UDP segmentation offload, Linux 6.2; Debian 12's headers lack them. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

/* What the daemons ask of TUNSETOFFLOAD; a kernel before 6.2 refuses
 * the USO bits with EINVAL, and the caller may retry without them. */
#define VNET_TUN_OFFLOADS                                                      \
	(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6)

#define VNET_HDR_LEN 10 /* sizeof(struct virtio_net_hdr) */
/* The most bytes after the vnet header, either way: an IPv4 total
 * length's limit, and the kernel's legacy GSO limit (no BIG TCP). */
#define VNET_PKT_MAX  65535
#define VNET_READ_MAX (VNET_HDR_LEN + VNET_PKT_MAX)
/* Headers copied into each segment at most: IPv4 60 + TCP 60. */
#define VNET_SEG_HDR_MAX 120
/* An output area vnet_split() never finds too small for `nseg` segments. */
#define VNET_SPLIT_AREA(nseg) (VNET_PKT_MAX + (size_t)(nseg)*VNET_SEG_HDR_MAX)

enum vnet_reason {
	VNET_OK = 0,
	VNET_ERR_SHORT = -1, /* shorter than the vnet header */
	VNET_ERR_FLAGS = -2, /* vnet flags other than NEEDS_CSUM/DATA_VALID */
	VNET_ERR_GSO_TYPE = -3, /* gso_type we do not offer (UFO, unknown) */
	VNET_ERR_GSO_SIZE = -4, /* gso_size 0 with a gso_type */
	VNET_ERR_CSUM_OFF = -5, /* csum_start/csum_offset past the packet */
	VNET_ERR_PARSE = -6,    /* IP or TCP/UDP header does not parse */
	VNET_ERR_FAMILY = -7,   /* IP version not the gso_type's */
	VNET_ERR_PROTO = -8,    /* not TCP (TSO) or UDP (USO), or a fragment */
	VNET_ERR_EXTHDR = -9,   /* IPv6 extension headers: not segmented */
	VNET_ERR_LENGTH = -10,  /* too long, no payload, IP length not ours */
	VNET_ERR_SPACE =
	    -11, /* more segments or bytes than the caller's room */
	VNET_NREASONS = 12
};

const char *vnet_reason_str(int reason);

/* A packet: an IP packet (split's output, coalesce's input) or a TUN
 * write (coalesce's output: the vnet header, then the packet). */
struct vnet_seg {
	const uint8_t *p;
	size_t         len;
};

/* The vnet header at `p` (len bytes, at least VNET_HDR_LEN), or -1. */
int vnet_hdr_decode(const uint8_t *p, size_t len, struct virtio_net_hdr *);
/* Writes VNET_HDR_LEN bytes at `p`. */
void vnet_hdr_encode(const struct virtio_net_hdr *, uint8_t *p);
/* The header of a plain packet, all zero (GSO_NONE, no flags): the
 * kernel checks its checksums as it would a NIC's. */
void vnet_hdr_plain(uint8_t *p);

/*
 * One TUN read (`len` bytes at `buf`: vnet header, then the packet) to
 * the IP packets it stands for, in order, as segs[0..n).  Returns n >= 1
 * or a negative enum vnet_reason; on error nothing of buf has changed.
 *
 * - GSO_NONE: the packet itself, segs[0] pointing into buf (no copy).
 *   With NEEDS_CSUM the checksum is finished in place in buf: the field
 *   at csum_start + csum_offset holds the pseudo-header's sum, and gets
 *   the complement of the sum from csum_start to the end (a UDP result of
 *   0 is sent as 0xffff, RFC 768).  No header is parsed otherwise.
 * - TCPV4/TCPV6 (ECN or not), UDP_L4: cut after the IP and TCP/UDP
 *   headers (parsed from the packet; hdr_len is not trusted) every
 *   gso_size bytes of payload; each segment is written to `out` (its
 *   headers, then its payload), with its IP length, IPv4 id (+1 each)
 *   and header checksum, TCP sequence number, flags (FIN and PSH on the
 *   last only, CWR on the first only) or UDP length, and a full TCP/UDP
 *   checksum.  IPv4 options are copied; IPv6 extension headers are
 *   refused (VNET_ERR_EXTHDR), as are IP fragments.
 *
 * `out` needs the segments' bytes, at most VNET_SPLIT_AREA(maxsegs);
 * more than `maxsegs` segments or too small an `out` is VNET_ERR_SPACE.
 * No packet is longer than VNET_PKT_MAX (VNET_ERR_LENGTH).
 */
int vnet_split(uint8_t *buf, size_t len, uint8_t *out, size_t outsize,
    struct vnet_seg *segs, size_t maxsegs);

/* The coalescer's limits: packets looked at together (a longer batch is
 * taken in runs of this many, and no super-segment spans two), groups
 * open at once (the oldest closes when a new flow needs a slot), and
 * segments in one super-segment. */
#define VNET_GRO_BATCH 128
#define VNET_GRO_FLOWS 16
#define VNET_GRO_SEGS  64
/* An output area vnet_coalesce() never finds too small: `bytes` the sum
 * of the `n` packets' lengths; every write adds a vnet header, merging
 * only takes headers away. */
#define VNET_GRO_AREA(bytes, n) ((size_t)(bytes) + (size_t)(n)*VNET_HDR_LEN)

struct vnet_gro_stats {
	size_t writes;   /* TUN writes made */
	size_t merged;   /* packets that went into a super-segment */
	size_t csum_bad; /* TCP packets written alone: checksum wrong */
};

/*
 * Packets in[0..n) (IP packets, in arrival order) to TUN writes
 * w[0..m), each a vnet header and a packet copied into `out`.  Returns m
 * or VNET_ERR_SPACE (maxw < n, or `out` smaller than VNET_GRO_AREA):
 * then nothing is to be written.  `st` may be NULL; it is added to.
 *
 * Consecutive segments of one TCP flow merge into one super-segment
 * (GSO TCPV4/TCPV6, gso_size the first one's payload, NEEDS_CSUM with
 * the pseudo-header sum in the checksum field) when they would split
 * back into the very same packets: same addresses, ports, ACK, window,
 * options, TTL/hop limit, ToS/traffic class and flow label, DF, IPv4 ids
 * +1 each, no IPv4 options, fragments or IPv6 extension headers, the
 * sequence contiguous, flags ACK (ACK|PSH on the last only), payload
 * gso_size (shorter on the last only), at most VNET_GRO_SEGS and 65535
 * bytes.  Everything else is written alone with a plain header,
 * unchanged.  Flows may interleave: each flow keeps its order, and a
 * super-segment is written where its first packet was.
 *
 * Merging drops the segments' own checksums, and the kernel checks a
 * NEEDS_CSUM packet it delivers locally not at all (only a NIC computes
 * it, if the packet leaves the box); so each TCP and IPv4 header checksum
 * is verified before a segment merges, and one that fails is written
 * alone, unchanged, for the kernel to drop and count: the tunnel's
 * authentication covers the path between the daemons, not what a LAN
 * host sent into it.
 */
int vnet_coalesce(const struct vnet_seg *in, size_t n, uint8_t *out,
    size_t outsize, struct vnet_seg *w, size_t maxw, struct vnet_gro_stats *st);

#endif
