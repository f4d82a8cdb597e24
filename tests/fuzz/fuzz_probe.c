#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * The probe payload as both daemons read it: popd decodes a WIRE_PROBE's
 * plaintext and re-encodes it as the reply, socketd decodes the reply.
 * Whatever decodes must encode back to the very bytes it came from (else
 * the PoP would answer with a probe the Socket never sent), and nothing
 * but exactly PROBE_LEN bytes may decode.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t      out[PROBE_LEN];
	struct probe p, again;

	if (probe_decode(data, size, &p) == -1) {
		if (size == PROBE_LEN)
			abort();
		return 0;
	}
	if (size != PROBE_LEN)
		abort();
	if (probe_encode(&p, out, sizeof(out)) != PROBE_LEN)
		abort();
	if (memcmp(out, data, PROBE_LEN) != 0)
		abort();
	if (probe_decode(out, sizeof(out), &again) != 0 || again.seq != p.seq ||
	    again.sent_ms != p.sent_ms)
		abort();
	return 0;
}
