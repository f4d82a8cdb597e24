/*
 * Probe payload (DESIGN.md section 4, "Links and health"): the plaintext
 * of a WIRE_PROBE and of the WIRE_PROBE_REPLY that answers it, all
 * integers big-endian.
 *
 *	bytes 0-3	sequence number, per link, from the Socket
 *	bytes 4-11	the Socket's monotonic clock, in microseconds, when
 *			the probe left
 *
 * The PoP echoes the payload unchanged on the link it came in on; only the
 * Socket reads the fields.  It matches a reply to its probe by sequence
 * and times it by its own record of when that probe left (common/link.h:
 * a reply's RTT is arrival - sent_us, to the microsecond); the time in the
 * payload is that same record, so that a capture reads as the Socket saw
 * it.  The length is exact both ways: a payload of any other size is not
 * a probe.  Encoding and decoding are pure functions: no allocation, no
 * I/O.
 *
 * Microseconds, where earlier releases sent milliseconds: a LAN or metro
 * link answers in well under a millisecond, and whole milliseconds read
 * its RTT and jitter as 0.  The layout and length did not change and the
 * PoP never reads the time, so the change needs no new PROTOCOL_VERSION:
 * a PoP of either release decodes the 12 bytes and echoes them as they
 * came, and the clock's unit is a private matter of the Socket that
 * sent them (and the only one that reads them back).
 */
#ifndef WANPAIR_PROBE_H
#define WANPAIR_PROBE_H

#include <stddef.h>
#include <stdint.h>

#define PROBE_LEN 12

struct probe {
	uint32_t seq;
	uint64_t sent_us; /* CLOCK_MONOTONIC, microseconds */
};

/* Writes PROBE_LEN bytes to out.  Returns PROBE_LEN, or -1 (nothing
 * written) if outlen is too small. */
int probe_encode(const struct probe *, uint8_t *out, size_t outlen);

/* Decodes a whole payload of `len` bytes.  Returns 0 and fills *p, or -1
 * (*p untouched) unless len is exactly PROBE_LEN. */
int probe_decode(const uint8_t *, size_t len, struct probe *);

#endif
