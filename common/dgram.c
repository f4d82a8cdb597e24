#include "autoconf.h"

#include "dgram.h"
#include "proto.h"

/*
 * The header goes first and is then authenticated as the bytes just
 * written, so what the receiver checks is exactly what went on the wire.
 * `inner` may be out + WIRE_HDR_LEN (the caller left headroom and seals in
 * place); any other overlap with the header would be overwritten before
 * it is read.
 */
int
dgram_seal(struct aead *a, const struct wire_hdr *hdr, const uint8_t *inner,
    size_t len, uint8_t *out, size_t outlen)
{
	uint8_t nonce[WIRE_NONCE_LEN];
	int     n;

	if (len > WIRE_MAX_INNER || outlen < WIRE_OVERHEAD + len)
		return -1;
	if (wire_hdr_encode(hdr, out, outlen) != WIRE_HDR_LEN)
		return -1;
	wire_nonce(hdr->link_id, hdr->counter, nonce);
	n = aead_seal(
	    a, nonce, out, WIRE_HDR_LEN, inner, len, out + WIRE_HDR_LEN);
	if (n == -1)
		return -1;
	return WIRE_HDR_LEN + n;
}

/*
 * The AAD is the datagram's own first WIRE_HDR_LEN bytes, not a
 * re-encoding of `hdr`: a field the decoder ignored or normalised is still
 * covered.  Only the nonce comes from `hdr`; if it was not decoded from
 * this datagram, the nonce is wrong and the packet does not open.
 */
int
dgram_open(struct aead *a, const struct wire_hdr *hdr, const uint8_t *dgram,
    size_t len, uint8_t *out, size_t outlen)
{
	uint8_t nonce[WIRE_NONCE_LEN];

	if (len < WIRE_OVERHEAD || len > WIRE_MAX_DGRAM ||
	    outlen < len - WIRE_OVERHEAD)
		return -1;
	wire_nonce(hdr->link_id, hdr->counter, nonce);
	return aead_open(a, nonce, dgram, WIRE_HDR_LEN, dgram + WIRE_HDR_LEN,
	    len - WIRE_HDR_LEN, out);
}
