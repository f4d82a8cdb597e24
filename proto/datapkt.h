/*
 * A whole data-plane datagram: the 16-byte header (wire.h) as AAD, then
 * the inner packet sealed with the (key, direction) AEAD under the nonce
 * link_id ‖ counter.
 *
 * Receiving is two steps because the header picks the key and the replay
 * window: wire_hdr_decode(), look up session and link, replay_check(),
 * datapkt_open(), then replay_update() only if it opened.
 */
#ifndef WANPAIR_DATAPKT_H
#define WANPAIR_DATAPKT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "wire.h"

/*
 * Writes header + sealed `inner` into out (outlen >= WIRE_OVERHEAD + len).
 * Returns the datagram length, or -1 (buffer too small, inner too large
 * for WIRE_MAX_INNER, or the cipher failed).
 *
 * The caller chooses the counter, which is half the nonce: only
 * keyring_seal() (keyring.h), which owns the counters, and tests call
 * this.  The daemons seal through keyring_seal().
 */
int datapkt_seal(struct aead *, const struct wire_hdr *, const uint8_t *inner,
    size_t len, uint8_t *out, size_t outlen);

/*
 * Opens the datagram whose header `hdr` was decoded from its first
 * WIRE_HDR_LEN bytes.  Writes the inner packet to out (outlen >= len -
 * WIRE_OVERHEAD) and returns its length, or -1 if it does not
 * authenticate (a bit flipped anywhere, header included) or does not fit.
 */
int datapkt_open(struct aead *, const struct wire_hdr *, const uint8_t *dgram,
    size_t len, uint8_t *out, size_t outlen);

#endif
