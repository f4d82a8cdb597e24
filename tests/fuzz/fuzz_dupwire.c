#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dup.h"
#include "dupwire.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * A WIRE_DUP plaintext as both daemons read it: whatever decodes has a
 * header and at least one byte of inner packet, encodes back to the
 * very bytes it came from, and nothing shorter or longer than the
 * limits decodes.  Then the receiver's verdict on it: a stream past the
 * windows is bad, the first sight of a number is delivered and the
 * second discarded, whatever the numbers.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dup_rx *rx;
	uint8_t               out[DUPWIRE_HDR_LEN];
	struct dupwire_hdr    h;
	struct dup_counters   c;
	int                   off;
	enum dup_verdict      v;

	if ((off = dupwire_decode(data, size, &h)) == -1) {
		if (size > DUPWIRE_HDR_LEN && size <= DUPWIRE_MAX)
			abort();
		return 0;
	}
	if (off != DUPWIRE_HDR_LEN || size <= DUPWIRE_HDR_LEN ||
	    size > DUPWIRE_MAX)
		abort();
	if (dupwire_encode(&h, out, sizeof(out)) != DUPWIRE_HDR_LEN ||
	    memcmp(out, data, DUPWIRE_HDR_LEN) != 0)
		abort();

	if (rx == NULL && (rx = dup_rx_new(4)) == NULL)
		abort();
	dup_rx_reset(rx);
	memset(&c, 0, sizeof(c));
	v = dup_rx_check(rx, h.stream, h.seq, &c);
	if (h.stream >= 4) {
		if (v != DUP_BAD || c.bad != 1)
			abort();
		return 0;
	}
	/* UINT64_MAX is the one number the window never takes. */
	if (h.seq == UINT64_MAX) {
		if (v != DUP_SECOND)
			abort();
		return 0;
	}
	if (v != DUP_FIRST || c.delivered != 1)
		abort();
	if (dup_rx_check(rx, h.stream, h.seq, &c) != DUP_SECOND ||
	    c.discarded != 1)
		abort();
	return 0;
}
