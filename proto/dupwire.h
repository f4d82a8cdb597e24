/*
 * Duplicate header: the start of a WIRE_DUP datagram's plaintext, all
 * integers big-endian, followed by the inner IP packet.
 *
 *	bytes 0-3	stream: whose sequence this is
 *	bytes 4-11	sequence number in that stream, from 0
 *	then		the inner IP packet, as a WIRE_DATA carries it
 *
 * A profile with "duplicate" (wanpair.json(5)) has each packet of its
 * flows sealed twice, on two links, each copy under its own link's
 * counter like any datagram (the header is inside the AEAD: a copy
 * cannot be forged or replayed).  The receiver delivers the first copy
 * of each (stream, sequence) and drops the second, by a bounded window
 * per stream (common/dup.h).  Today a stream is one sending worker's
 * (the datagram header's worker byte): a sender numbers its duplicated
 * packets once per worker, so the stream must equal that byte and a
 * receiver refuses any other; the field leaves room for more streams per
 * worker without a new PROTOCOL_VERSION.
 *
 * Encoding and decoding are pure functions: no allocation, no I/O.
 */
#ifndef WANPAIR_DUPWIRE_H
#define WANPAIR_DUPWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define DUPWIRE_HDR_LEN 12

struct dupwire_hdr {
	uint32_t stream;
	uint64_t seq;
};

/* Writes DUPWIRE_HDR_LEN bytes to out.  Returns DUPWIRE_HDR_LEN, or -1
 * (nothing written) if outlen is too small. */
int dupwire_encode(const struct dupwire_hdr *, uint8_t *out, size_t outlen);

/*
 * Decodes the header of a whole WIRE_DUP plaintext of `len` bytes.
 * Returns the offset of the inner packet (DUPWIRE_HDR_LEN) and fills *h,
 * or -1 (*h untouched) if len leaves no room for a header and an inner
 * packet of at least one byte, or more than DUPWIRE_MAX bytes.  What the
 * inner packet is, the data path judges as for WIRE_DATA.
 */
int dupwire_decode(const uint8_t *, size_t len, struct dupwire_hdr *);

/* The largest WIRE_DUP plaintext: header and the largest inner packet
 * a datagram can carry (WIRE_MAX_INNER). */
#define DUPWIRE_MAX WIRE_MAX_INNER

#endif
