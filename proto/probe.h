/*
 * Probe payload (DESIGN.md section 4, "Links and health"): the plaintext
 * of a WIRE_PROBE and of the WIRE_PROBE_REPLY that answers it, all
 * integers big-endian.
 *
 *	bytes 0-3	sequence number, per link, from the Socket
 *	bytes 4-11	the Socket's clock (ms) when the probe left
 *
 * The PoP echoes the payload unchanged on the link it came in on; only the
 * Socket reads the fields (RTT = now - sent_ms, loss by sequence).  The
 * length is exact both ways: a payload of any other size is not a probe.
 * Encoding and decoding are pure functions: no allocation, no I/O.
 */
#ifndef WANPAIR_PROBE_H
#define WANPAIR_PROBE_H

#include <stddef.h>
#include <stdint.h>

#define PROBE_LEN 12

struct probe {
	uint32_t seq;
	uint64_t sent_ms;
};

/* Writes PROBE_LEN bytes to out.  Returns PROBE_LEN, or -1 (nothing
 * written) if outlen is too small. */
int probe_encode(const struct probe *, uint8_t *out, size_t outlen);

/* Decodes a whole payload of `len` bytes.  Returns 0 and fills *p, or -1
 * (*p untouched) unless len is exactly PROBE_LEN. */
int probe_decode(const uint8_t *, size_t len, struct probe *);

#endif
