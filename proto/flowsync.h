/*
 * The FLOW message of popd's cluster (doc/CLUSTER.md, "Flow backups"):
 * flow entries a member owns, multicast AGREED on the CPG group so that
 * every member holds a backup and forwards a flow's packets straight to
 * its owner, and takes the flow over when the owner leaves.  State, not
 * events: an entry says what the flow is now (owner, site session, site
 * link), or that it is gone; the newest received wins.
 *
 * The message is a clustersync message (clustersync.h: version, type
 * CLUSTERSYNC_FLOW, flags 0, the sender's node id), then, big-endian:
 *
 *	bytes 8-9	count: entries that follow, 1..FLOWSYNC_MAX_ENTRIES
 *	bytes 10-11	0
 *	then count entries of FLOWSYNC_ENTRY_LEN (48) bytes:
 *	  byte 0	family: 4 or 6 (the key's AF_INET, AF_INET6)
 *	  byte 1	IP protocol
 *	  bytes 2-3	port of a
 *	  bytes 4-5	port of b
 *	  bytes 6-21	address a (IPv4 in the first 4 bytes, the rest 0)
 *	  bytes 22-37	address b (likewise)
 *	  bytes 38-41	owner: a node id, never 0
 *	  bytes 42-45	the site session the flow is of (0: unknown)
 *	  byte 46	site link: a wire link id < PROTO_MAX_LINKS, or
 *			FLOWSYNC_LINK_NONE (not assigned yet)
 *	  byte 47	state: FLOWSYNC_ALIVE or FLOWSYNC_GONE
 *
 * The key must be in normal form (flowkey.h: a sorts first), so that a
 * backup is found by the lookup either direction of the flow makes.
 * Decoding is pure and exact: a message is whole and valid or refused.
 */
#ifndef WANPAIR_FLOWSYNC_H
#define WANPAIR_FLOWSYNC_H

#include <stddef.h>
#include <stdint.h>

#include "clustersync.h"
#include "flowkey.h"

#define FLOWSYNC_HDR_LEN   (CLUSTERSYNC_HDR_LEN + 4)
#define FLOWSYNC_ENTRY_LEN 48
/* As many as one CLUSTERSYNC_MAX_LEN message holds: 21. */
#define FLOWSYNC_MAX_ENTRIES                                                   \
	((CLUSTERSYNC_MAX_LEN - FLOWSYNC_HDR_LEN) / FLOWSYNC_ENTRY_LEN)
#define FLOWSYNC_LEN(n)                                                        \
	((size_t)FLOWSYNC_HDR_LEN + (size_t)(n)*FLOWSYNC_ENTRY_LEN)
#define FLOWSYNC_LINK_NONE 0xff

enum flowsync_state {
	FLOWSYNC_ALIVE = 1, /* the flow is owner's, on link */
	FLOWSYNC_GONE = 2   /* the owner dropped it: forget the backup */
};

struct flowsync_entry {
	struct flow_key key;   /* normal form */
	uint32_t        owner; /* node id, not 0 */
	uint32_t        session;
	uint8_t         link;  /* wire link id, or FLOWSYNC_LINK_NONE */
	uint8_t         state; /* enum flowsync_state */
};

/*
 * Writes a FLOW message from node `node` with n entries (1 to
 * FLOWSYNC_MAX_ENTRIES) into out.  Returns its length, FLOWSYNC_LEN(n),
 * or -1 (nothing that counts written): n out of range, outlen too small,
 * an entry that would not decode (flowsync_entry_check()).
 */
int flowsync_encode(uint32_t node, const struct flowsync_entry *e, size_t n,
    uint8_t *out, size_t outlen);

/*
 * Decodes a whole FLOW message of len bytes into e[] (room for
 * FLOWSYNC_MAX_ENTRIES).  Returns the number of entries (1 or more) and
 * the sender in *node, or a negative enum clustersync_err, e[] then
 * holding nothing the caller may use: ESHORT, EVERSION, ETYPE (not a
 * FLOW), ELENGTH (not exactly FLOWSYNC_LEN(count), count 0 or above the
 * maximum), EVALUE (a field out of range: sender 0, reserved bytes not
 * 0, a family, a key not normal, owner 0, a link, a state).
 */
int flowsync_decode(
    const uint8_t *, size_t len, uint32_t *node, struct flowsync_entry *e);

/* CLUSTERSYNC_OK if an entry is one the decoder accepts, else
 * CLUSTERSYNC_EVALUE. */
int flowsync_entry_check(const struct flowsync_entry *);

#endif
