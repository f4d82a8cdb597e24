/*
 * One data-plane datagram's AEAD: the header (wire.h) as it goes on the
 * wire, authenticated as additional data, and the inner packet sealed
 * under the nonce of the header's link id and counter.  Below the
 * keyring (which chooses the counters: keyring.h) and the tunnel (which
 * keeps the keys and windows: tunnel.h), and used by both.
 */
#ifndef WANPAIR_DGRAM_H
#define WANPAIR_DGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "wire.h"

/*
 * The datagram AEAD itself.  dgram_seal writes `hdr` and seals
 * `inner` under the nonce hdr->link_id ‖ hdr->counter: the caller chooses
 * the counter, so only keyring_seal() and tests call it.
 * dgram_open authenticates the datagram's own first WIRE_HDR_LEN
 * bytes as AAD.  Both return a length or -1.
 */
int dgram_seal(struct aead *, const struct wire_hdr *, const uint8_t *inner,
    size_t len, uint8_t *out, size_t outlen);
int dgram_open(struct aead *, const struct wire_hdr *, const uint8_t *dgram,
    size_t len, uint8_t *out, size_t outlen);

#endif
