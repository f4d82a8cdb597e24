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
 * address family (4 or 6), a zero byte, and 16 bytes of address (IPv4 in
 * the first 4, the rest zero).  A member sends one when it joins and
 * again whenever another process joins the group, since CPG gives a
 * joiner none of the messages sent before it came.
 *
 * Decoding is pure: no allocation, no I/O, a bad message is an error
 * code for the caller to count, never a partial result.
 */
#ifndef WANPAIR_CLUSTERSYNC_H
#define WANPAIR_CLUSTERSYNC_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define CLUSTERSYNC_VERSION   1
#define CLUSTERSYNC_HDR_LEN   8
#define CLUSTERSYNC_HELLO_LEN (CLUSTERSYNC_HDR_LEN + 24)
/* The largest message now: what a member's send queue slot holds. */
#define CLUSTERSYNC_MAX_LEN 1024

enum clustersync_type {
	CLUSTERSYNC_HELLO = 1, /* a member's node id and cluster link */
	/* 2: SESSION (a site's session backed up), reserved */
	CLUSTERSYNC_FLOW = 3, /* flow entries a member owns (flowsync.h) */
	/* 4: RESYNC (a member asks for everything again), reserved */
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
	struct wp_addr address;
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

/* "short", "version", ... for an enum clustersync_err; "?" otherwise. */
const char *clustersync_strerror(int err);

#endif
