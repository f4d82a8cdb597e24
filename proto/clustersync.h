/*
 * The messages popd's cluster members multicast to each other on their
 * corosync CPG group, AGREED-ordered (popd/cluster.c; doc/CLUSTER.md,
 * "Membership"): who is who now, and later the state they back up.  Not
 * the packets between members, which travel on the cluster link
 * (proto/clusterwire).  All integers big-endian; every message is
 *
 *	byte 0		version, CLUSTERSYNC_VERSION
 *	byte 1		type (enum clustersync_type)
 *	bytes 2-3	flags, 0 for now
 *	bytes 4-7	the sender's node id (popd.json cluster.node)
 *	bytes 8-	the body, its length exact for its type
 *
 * HELLO's body (24 bytes): the sender's incarnation (random at each
 * start: a restarted popd is a new member), its cluster-link port, the
 * address family (4 or 6), its data-plane workers (1..PROTO_MAX_WORKERS:
 * every member must run as many, doc/CLUSTER.md "Sessions across
 * members"), and 16 bytes of address (IPv4 in the first 4, the rest
 * zero).  A member sends one when it joins and again whenever another
 * process joins the group, since CPG gives a joiner none of the messages
 * sent before it came.
 *
 * SESSION (a site's session backed up, "Sessions across members") is
 * sealed: after the header, a 12-byte nonce, then the body encrypted
 * and authenticated (AES-256-GCM, 16-byte tag) under a key derived from
 * the cluster key, the header as additional data.  Here only the
 * envelope's lengths (clustersync_envelope()) and the body once opened
 * (clustersync_session_decode()); the sealing is popd's
 * (popd/cluster-session.c).  The body:
 *
 *	site index (2) | site name length n (1) | name (n, 1..63)
 *	session id (4, not 0)
 *	Socket workers S (1) | popd worker bytes T (1) | members N (1) |
 *	links L (1) | flags (1: bit 0 CLUSTERSYNC_DETACHED, the holder lost
 *	    the site's control channel; no other bit)
 *	N x granted incarnation (4): the incarnation of member k that may
 *	    seal with worker bytes k*T/N .. (k+1)*T/N - 1; 0: none yet
 *	L x link: id (1, < 32, unique) | down (1, 0 or 1) | name (32,
 *	    NUL-padded, not empty) | up Mbit/s (4) | down Mbit/s (4) |
 *	    endpoint family (1: 0 none, 4, 6) | port (2) | address (16)
 *	S + T x keys, the Socket's worker bytes (up) then popd's (down):
 *	    epoch (4, below 2^32 - 1) | that epoch's key (32) | the next
 *	    epoch's key (32)
 *
 * Its length is exact for its counts.
 *
 * WANT (a member asks the session's holder for keys it lacks: its own
 * worker bytes or the Socket's moved past what the holder announced) is
 * sealed the same way; its body:
 *
 *	site index (2) | session id (4, not 0) | entries n (1, 1..128)
 *	n x: direction (1: 1 up, the Socket's bytes; 0 down, popd's) |
 *	    worker byte (1, < 64) | epoch (4, below 2^32 - 1): the member
 *	    is at that epoch and wants the next one's key
 *
 * Decoding is pure: no allocation, no I/O, a bad message is an error
 * code for the caller to count, never a partial result.
 */
#ifndef WANPAIR_CLUSTERSYNC_H
#define WANPAIR_CLUSTERSYNC_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#include "proto.h"

#define CLUSTERSYNC_VERSION   1
#define CLUSTERSYNC_HDR_LEN   8
#define CLUSTERSYNC_HELLO_LEN (CLUSTERSYNC_HDR_LEN + 24)
/* The largest message a member's send queue slot holds (HELLO; a SESSION
 * is not queued as bytes but built when it is sent, popd/cluster-session.c). */
#define CLUSTERSYNC_MAX_LEN 1024

/* A SESSION's envelope and body. */
#define CLUSTERSYNC_NONCE_LEN     12
#define CLUSTERSYNC_TAG_LEN       16
#define CLUSTERSYNC_MEMBERS_MAX   32 /* popd.json's cluster.members */
#define CLUSTERSYNC_SESSION_FIXED (2 + 1 + 4 + 4 + 1)
/* A grant: a position's incarnation (4) and its worker byte slot (1). */
#define CLUSTERSYNC_GRANT_LEN 5
#define CLUSTERSYNC_NO_SLOT   0xff
/* A SESSION's flags. */
#define CLUSTERSYNC_DETACHED     0x01
#define CLUSTERSYNC_SESSION_LINK (1 + 1 + PROTO_NAME_MAX + 4 + 4 + 1 + 2 + 16)
#define CLUSTERSYNC_SESSION_KEYS (4 + 2 * 32)
#define CLUSTERSYNC_SESSION_BODY_MAX                                           \
	(CLUSTERSYNC_SESSION_FIXED + (PROTO_SITE_MAX - 1) +                    \
	    CLUSTERSYNC_MEMBERS_MAX * CLUSTERSYNC_GRANT_LEN +                  \
	    PROTO_MAX_LINKS * CLUSTERSYNC_SESSION_LINK +                       \
	    2 * PROTO_MAX_WORKERS * CLUSTERSYNC_SESSION_KEYS)
#define CLUSTERSYNC_SEAL_OVERHEAD                                              \
	(CLUSTERSYNC_HDR_LEN + CLUSTERSYNC_NONCE_LEN + CLUSTERSYNC_TAG_LEN)
#define CLUSTERSYNC_WANT_MAX_ENTRIES (2 * PROTO_MAX_WORKERS)
#define CLUSTERSYNC_WANT_ENTRY       6
#define CLUSTERSYNC_WANT_BODY_MAX                                              \
	(7 + CLUSTERSYNC_WANT_MAX_ENTRIES * CLUSTERSYNC_WANT_ENTRY)
/* The largest SESSION: 10,927 bytes (64 + 64 worker bytes, 32 links, 32
 * members, a 63-byte site name); anything longer is refused. */
#define CLUSTERSYNC_SESSION_MAX                                                \
	(CLUSTERSYNC_SEAL_OVERHEAD + CLUSTERSYNC_SESSION_BODY_MAX)

enum clustersync_type {
	CLUSTERSYNC_HELLO = 1,   /* a member's node id and cluster link */
	CLUSTERSYNC_SESSION = 2, /* a site's session, sealed */
	CLUSTERSYNC_WANT = 3,    /* a member asks for keys, sealed */
	CLUSTERSYNC_FLOW = 4,    /* flow entries a member owns (flowsync.h) */
	/* 5: RESYNC (a member asks for everything again), reserved */
};

enum clustersync_err {
	CLUSTERSYNC_OK = 0,
	CLUSTERSYNC_ESHORT = -1,   /* shorter than the header */
	CLUSTERSYNC_EVERSION = -2, /* another version */
	CLUSTERSYNC_ETYPE = -3,    /* a type this version does not know */
	CLUSTERSYNC_ELENGTH = -4,  /* not the exact length of its type */
	CLUSTERSYNC_EVALUE = -5    /* a field out of its range */
};

struct clustersync_hello {
	uint32_t       node;
	uint32_t       incarnation;
	uint16_t       port;
	uint8_t        workers; /* 1..PROTO_MAX_WORKERS */
	struct wp_addr address;
};

struct clustersync_link {
	uint8_t        id;
	uint8_t        down; /* as the holder sees it */
	char           name[PROTO_NAME_MAX];
	uint32_t       up_mbps, down_mbps;
	struct wp_addr endpoint; /* family 0: not known to the holder */
	uint16_t       port;
};

/* One sender worker byte's keys: epoch's and epoch + 1's. */
struct clustersync_keys {
	uint32_t epoch;
	uint8_t  key[2][32];
};

struct clustersync_want_entry {
	uint8_t  up; /* 1: the Socket's byte; 0: popd's */
	uint8_t  byte;
	uint32_t epoch; /* the member's now: it wants epoch + 1's key */
};

struct clustersync_want {
	uint16_t                      site;
	uint32_t                      id;
	uint8_t                       n;
	struct clustersync_want_entry e[CLUSTERSYNC_WANT_MAX_ENTRIES];
};

/* A SESSION's body (about 11 KiB: allocate it, do not put it on a
 * worker's stack). */
struct clustersync_session {
	uint16_t site;
	char     site_name[PROTO_SITE_MAX];
	uint32_t id;
	uint8_t  socket_workers; /* S */
	uint8_t  slot_bytes;     /* W: a slot's worker bytes */
	uint8_t  nmembers;       /* N */
	uint8_t  nlinks;         /* L */
	uint8_t  flags;          /* CLUSTERSYNC_DETACHED */
	/* position k's granted incarnation (0: none) and the slot it
	 * seals with: worker bytes slot * W .. slot * W + W - 1;
	 * CLUSTERSYNC_NO_SLOT with incarnation 0, else below 64 / W and
	 * no two positions' alike */
	uint32_t                grant[CLUSTERSYNC_MEMBERS_MAX];
	uint8_t                 slot[CLUSTERSYNC_MEMBERS_MAX];
	struct clustersync_link links[PROTO_MAX_LINKS];
	/* up: [0, S) the Socket's worker bytes; then, for each granted
	 * position in order, its slot's W bytes (clustersync_session_nkeys()) */
	struct clustersync_keys keys[2 * PROTO_MAX_WORKERS];
};

/* Writes a HELLO into out.  Returns its length, or -1 (nothing written
 * that counts) if outlen is too small or the address is not IPv4/IPv6. */
int clustersync_hello_encode(
    const struct clustersync_hello *, uint8_t *out, size_t outlen);

/* The type of a whole message of len bytes, with its header checked:
 * CLUSTERSYNC_HELLO or CLUSTERSYNC_FLOW, or a negative enum
 * clustersync_err. */
int clustersync_type(const uint8_t *, size_t len);

/* Decodes a whole HELLO.  Returns CLUSTERSYNC_OK with *h filled, or a
 * negative enum clustersync_err with *h untouched. */
int clustersync_hello_decode(
    const uint8_t *, size_t len, struct clustersync_hello *h);

/* The body's length for s's counts (0 if a count is out of range). */
size_t clustersync_session_len(const struct clustersync_session *);
/* Its keys: S, and W for each granted position. */
size_t clustersync_session_nkeys(const struct clustersync_session *);
/* Writes s's body into out: its length, or -1 (a count or field out of
 * range, or outlen too small). */
int clustersync_session_encode(
    const struct clustersync_session *, uint8_t *out, size_t outlen);
/* Decodes a whole body (opened): CLUSTERSYNC_OK with *s filled, or a
 * negative enum clustersync_err (*s then unspecified). */
int clustersync_session_decode(
    const uint8_t *, size_t len, struct clustersync_session *s);
/* A WANT's body: its length (7 + 6 n), or -1 (a field out of range, or
 * outlen too small); the decoder as clustersync_session_decode(). */
int clustersync_want_encode(
    const struct clustersync_want *, uint8_t *out, size_t outlen);
int clustersync_want_decode(
    const uint8_t *, size_t len, struct clustersync_want *w);
/* A whole sealed message's envelope (SESSION or WANT): its type, with
 * *nonce at its nonce and *sealed, *sealedlen the ciphertext and tag, or
 * a negative enum clustersync_err (another type, shorter than its
 * smallest body's envelope, longer than its largest's). */
int clustersync_envelope(const uint8_t *, size_t len, const uint8_t **nonce,
    const uint8_t **sealed, size_t *sealedlen);
/* Writes a SESSION's header (8 bytes) for sender node into out. */
int clustersync_session_header(uint32_t node, uint8_t *out, size_t outlen);
/* The same for a sealed message of `type`. */
int clustersync_sealed_header(
    uint8_t type, uint32_t node, uint8_t *out, size_t outlen);

/* "short", "version", ... for an enum clustersync_err; "?" otherwise. */
const char *clustersync_strerror(int err);

#endif
