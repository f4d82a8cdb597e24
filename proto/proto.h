/*
 * Protocol constants shared by wanpair-socketd, wanpair-popd and
 * wanpairctl.  Everything here is a property of the bytes on the wire, so
 * changing a value means changing PROTOCOL_VERSION.
 */
#ifndef WANPAIR_PROTO_H
#define WANPAIR_PROTO_H

/* Carried in every data-plane header and in the first control frame. */
#define PROTOCOL_VERSION 2

/* Data-plane header in front of every datagram; it is the AEAD's AAD. */
#define WIRE_HDR_LEN 16
/* AEAD tag after the ciphertext (AES-GCM and ChaCha20-Poly1305 alike). */
#define WIRE_TAG_LEN 16
/* AEAD nonce: 32-bit link id ‖ 64-bit counter (RFC 5116 section 3.2). */
#define WIRE_NONCE_LEN 12
/* What the tunnel adds inside the UDP payload. */
#define WIRE_OVERHEAD (WIRE_HDR_LEN + WIRE_TAG_LEN)
/* Smallest datagram that can authenticate: a header and a bare tag. */
#define WIRE_MIN_DGRAM WIRE_OVERHEAD

/* Largest UDP payload over IPv4 (65535 - 20 - 8), below IPv6's 65527. */
#define WIRE_MAX_DGRAM 65507
/* Largest inner packet that fits in WIRE_MAX_DGRAM. */
#define WIRE_MAX_INNER (WIRE_MAX_DGRAM - WIRE_OVERHEAD)

/* Overhead on a link including the outer headers: IPv4 (20) + UDP (8). */
#define WIRE_LINK_OVERHEAD4 (20 + 8 + WIRE_OVERHEAD)
/* Same with an outer IPv6 header (40). */
#define WIRE_LINK_OVERHEAD6 (40 + 8 + WIRE_OVERHEAD)
/* Smallest inner MTU that may carry IPv6 (RFC 8200 section 5). */
#define WIRE_MIN_INNER_MTU 1280

/*
 * Limits a peer and a local configuration are held to alike, defined
 * once: config.c checks wanpair.json against them, ctlmsg.c every HELLO,
 * WELCOME and LINK_STATE (wanpair.json(5) documents each; a peer gets no
 * more latitude than a configuration).
 */
#define PROTO_MAX_LINKS          32      /* links of a site; link ids 0..31 */
#define PROTO_NAME_MAX           32      /* link and profile names, with NUL */
#define PROTO_SITE_MAX           64      /* site names, with NUL */
#define PROTO_MBPS_MAX           1000000 /* a link's bandwidth: 1 Tbit/s */
#define PROTO_PROBE_INTERVAL_MIN 10      /* ms */
#define PROTO_PROBE_INTERVAL_MAX 10000
#define PROTO_PROBE_COUNT_MAX    100 /* down_after, up_after */
#define PROTO_LOSS_PPM_MAX       1000000
/* Data-plane workers of one end (HELLO, WELCOME): each seals under keys
 * of its own (wire.h's worker byte), so a peer keeps this many receive
 * states at most. */
#define PROTO_MAX_WORKERS 64

#endif
