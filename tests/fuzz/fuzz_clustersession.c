#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clustersync.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * A SESSION from another cluster member (popd/cluster-session.c): its
 * envelope, as the whole message, and its body as it is once opened (the
 * input itself: the fuzzer cannot forge the AEAD's tag, so the body's
 * decoder is fed directly).  A body that decodes must have exactly the
 * length its counts say and encode back to the very bytes it came from;
 * an envelope that passes lies within the bounds.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct clustersync_session s;
	static uint8_t                    out[CLUSTERSYNC_SESSION_BODY_MAX];
	const uint8_t                    *nonce, *sealed;
	size_t                            sealedlen;
	int                               r;

	r = clustersync_envelope(data, size, &nonce, &sealed, &sealedlen);
	if (r == CLUSTERSYNC_OK) {
		if (size > CLUSTERSYNC_SESSION_MAX ||
		    clustersync_type(data, size) != CLUSTERSYNC_SESSION ||
		    nonce != data + CLUSTERSYNC_HDR_LEN ||
		    sealed + sealedlen != data + size ||
		    sealedlen < CLUSTERSYNC_TAG_LEN)
			abort();
	} else if (r > 0)
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
	if (clustersync_session_encode(&s, out, sizeof(out)) != (int)size)
		abort();
	if (memcmp(out, data, size) != 0)
		abort();
	return 0;
}
