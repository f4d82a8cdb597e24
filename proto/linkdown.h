/*
 * Link-down notice: the plaintext of a WIRE_LINK_DOWN, sealed like data
 * and sent by the Socket over its live links when one of its links goes
 * down, all integers big-endian.
 *
 *	byte 0		the dead link's wire id
 *	byte 1		why (enum linkdown_cause)
 *	bytes 2-3	zero
 *	bytes 4-7	notice number, from the Socket, one per link-down
 *			event (not per copy), never 0
 *
 * The control channel's LINK_STATE and REASSIGN stay the record of a
 * failover; this only lets the PoP move the dead link's return flows
 * without waiting for them, which matters most when the channel rode
 * the dead link and must first be made again (a TCP and TLS handshake).
 * The Socket sends a few copies on each live link, since any of them may
 * be lost; the PoP acts on the first copy of each notice and counts the
 * rest (a notice is new for its link when its number is past the last
 * one applied there, in serial-number order, RFC 1982), so copies, and
 * a copy late enough to arrive after the link came back, change nothing.
 *
 * The length is exact and the zero bytes must be zero, so that a later
 * release that needs more says so with a new wire type, not with bytes
 * an old PoP would skip.  Encoding and decoding are pure functions: no
 * allocation, no I/O.
 */
#ifndef WANPAIR_LINKDOWN_H
#define WANPAIR_LINKDOWN_H

#include <stddef.h>
#include <stdint.h>

#define LINKDOWN_LEN 8

enum linkdown_cause {
	LINKDOWN_CARRIER = 1, /* the device lost its carrier (netlink) */
	LINKDOWN_PROBES = 2,  /* probes went unanswered */
	LINKDOWN_ADMIN = 3    /* the operator took it down */
};

struct linkdown {
	uint8_t  link;  /* wire link id of the dead link */
	uint8_t  cause; /* enum linkdown_cause */
	uint32_t seq;   /* the notice's number, not 0 */
};

/* Writes LINKDOWN_LEN bytes to out.  Returns LINKDOWN_LEN, or -1
 * (nothing written) if outlen is too small, the cause is not an enum
 * linkdown_cause or seq is 0. */
int linkdown_encode(const struct linkdown *, uint8_t *out, size_t outlen);

/* Decodes a whole payload of `len` bytes.  Returns 0 and fills *ld, or
 * -1 (*ld untouched) unless len is exactly LINKDOWN_LEN, the cause is
 * known, the zero bytes are zero and seq is not 0. */
int linkdown_decode(const uint8_t *, size_t len, struct linkdown *);

/* "carrier lost", "probes unanswered", "admin down", or "unknown". */
const char *linkdown_cause_str(uint8_t cause);

#endif
