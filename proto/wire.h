/*
 * Data-plane header (DESIGN.md section 4): the 16 bytes in front of every
 * tunnelled datagram, all integers big-endian.
 *
 *	byte 0		version (high 4 bits) | type (low 4 bits)
 *	byte 1		link id
 *	byte 2		worker: the sender's worker that sealed it
 *	byte 3		flags
 *	bytes 4-7	session id, assigned by popd at login
 *	bytes 8-15	counter, per (key, direction, link)
 *	then		AEAD ciphertext and a WIRE_TAG_LEN tag
 *
 * Each worker of a sender seals under keys of its own (derived with its
 * worker id, common/tls.h), counting per link from 0 under each: the
 * worker byte tells the receiver which keys and which replay windows a
 * datagram belongs to.  Version 1 had no worker byte (bytes 2-3 were
 * flags) and is refused.
 *
 * The header is the AEAD's additional data, so none of it is secret but
 * all of it is authenticated.  Encoding and decoding are pure functions:
 * no allocation, no I/O, no global state.
 */
#ifndef WANPAIR_WIRE_H
#define WANPAIR_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* Numbering starts at 1 so that a zeroed header is never a valid one. */
enum wire_type {
	WIRE_DATA = 1,        /* an encrypted inner IP packet */
	WIRE_PROBE = 2,       /* RTT/loss probe, answered on the same link */
	WIRE_PROBE_REPLY = 3, /* the answer to a WIRE_PROBE */
	WIRE_LINK_DOWN = 4,   /* Socket to PoP: a link died (linkdown.h) */
	WIRE_DUP = 5 /* one of two copies of an inner packet (dupwire.h) */
};

enum wire_err {
	WIRE_OK = 0,
	WIRE_ERR_TRUNCATED = -1, /* shorter than header + tag */
	WIRE_ERR_VERSION = -2,   /* version is not PROTOCOL_VERSION */
	WIRE_ERR_TYPE = -3       /* type is not an enum wire_type */
};

/* The parity of the key epoch that sealed the packet (keyring.h): the
 * receiver picks its current key or the next one by it. */
#define WIRE_F_KEY_PHASE 0x01

struct wire_hdr {
	uint8_t  version; /* 4 bits on the wire */
	uint8_t  type;    /* enum wire_type, 4 bits on the wire */
	uint8_t  link_id;
	uint8_t  worker; /* < the sender's workers (HELLO, WELCOME) */
	uint8_t  flags;  /* WIRE_F_*; others sent as 0 */
	uint32_t session;
	uint64_t counter;
};

/*
 * Writes the WIRE_HDR_LEN header bytes to out.  Returns WIRE_HDR_LEN, or
 * -1 (nothing written) if outlen is too small or version or type does not
 * fit in its 4 bits.  Any version and type that fit are written, so tests
 * can build the headers a decoder must refuse.
 */
int wire_hdr_encode(const struct wire_hdr *, uint8_t *out, size_t outlen);

/*
 * Decodes the header at the start of a whole datagram of `len` bytes.
 * Returns WIRE_OK and fills *hdr, or a negative enum wire_err and leaves
 * *hdr untouched.  The ciphertext starts at WIRE_HDR_LEN and its tag is
 * the last WIRE_TAG_LEN bytes.  Flags are passed up as received: they are
 * authenticated, so the data path decides what to do with unknown ones.
 */
int wire_hdr_decode(const uint8_t *, size_t len, struct wire_hdr *);

/*
 * Which of an end's `workers` workers receives and opens the datagrams the
 * peer's worker `worker` seals in session `session`, and keeps their
 * replay windows: the peer's workers in turn, from an offset the session
 * gives.  The offset spreads the sessions of peers with fewer workers
 * than this end (a PoP's many one-worker Sockets) over all of its
 * workers; without it every such session landed on worker 0.
 * udpio_steer_workers()'s program computes the same in the kernel.
 */
static inline unsigned
wire_steer(unsigned worker, uint32_t session, unsigned workers)
{
	return (worker + session % workers) % workers;
}

/* The WIRE_NONCE_LEN-byte AEAD nonce for a packet of link_id. */
void wire_nonce(
    uint8_t link_id, uint64_t counter, uint8_t nonce[WIRE_NONCE_LEN]);

/* Short name of a wire_hdr_decode() result, as used in counters. */
const char *wire_err_str(int);

#endif
