#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clustersync.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * A SESSION or WANT from another cluster member (popd/cluster-session.c):
 * the envelope, as the whole message, and the bodies as they are once
 * opened (the input itself: the fuzzer cannot forge the AEAD's tag, so
 * the bodies' decoders are fed directly).  A body that decodes must have exactly the
 * length its counts say and encode back to the very bytes it came from;
 * an envelope that passes lies within the bounds.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct clustersync_session s;
	static struct clustersync_want    w;
	static uint8_t                    out[CLUSTERSYNC_SESSION_BODY_MAX];
	const uint8_t                    *nonce, *sealed;
	size_t                            sealedlen;
	int                               r;

	r = clustersync_envelope(data, size, &nonce, &sealed, &sealedlen);
	if (r > 0) {
		if (size > CLUSTERSYNC_SESSION_MAX ||
		    (r != CLUSTERSYNC_SESSION && r != CLUSTERSYNC_WANT) ||
		    clustersync_type(data, size) != r ||
		    nonce != data + CLUSTERSYNC_HDR_LEN ||
		    sealed + sealedlen != data + size ||
		    sealedlen < CLUSTERSYNC_TAG_LEN)
			abort();
	}
	/* A WANT's body, the same way. */
	r = clustersync_want_decode(data, size, &w);
	if (r > 0)
		abort();
	if (r == CLUSTERSYNC_OK &&
	    (size != 7 + (size_t)w.n * CLUSTERSYNC_WANT_ENTRY ||
		clustersync_want_encode(&w, out, sizeof(out)) != (int)size ||
		memcmp(out, data, size) != 0))
		abort();
	r = clustersync_session_decode(data, size, &s);
	if (r != CLUSTERSYNC_OK) {
		if (r > 0)
			abort();
		return 0;
	}
	if (size > CLUSTERSYNC_SESSION_BODY_MAX ||
	    clustersync_session_len(&s) != size)
		abort();
	/* Each granted position its own slot below T, none without. */
	for (r = 0; r < s.nmembers; r++) {
		int q;

		if ((s.grant[r] == 0) != (s.slot[r] == CLUSTERSYNC_NO_SLOT) ||
		    (s.grant[r] != 0 &&
			s.slot[r] >= PROTO_MAX_WORKERS / s.slot_bytes))
			abort();
		for (q = 0; q < r; q++)
			if (s.grant[q] != 0 && s.slot[q] == s.slot[r] &&
			    s.grant[r] != 0)
				abort();
	}
	if (clustersync_session_encode(&s, out, sizeof(out)) != (int)size)
		abort();
	if (memcmp(out, data, size) != 0)
		abort();
	return 0;
}
