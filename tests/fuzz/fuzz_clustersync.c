#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clustersync.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * A CPG message from another cluster member, as popd/cluster.c reads it:
 * clustersync_type() first, then the decoder of that type.  A HELLO that
 * decodes must encode back to the very bytes it came from (nothing in it
 * is ignored), the two entries must agree on what is a HELLO, and nothing
 * but exactly CLUSTERSYNC_HELLO_LEN bytes may decode.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct clustersync_hello h;
	uint8_t                  out[CLUSTERSYNC_MAX_LEN];
	int                      t, r;

	t = clustersync_type(data, size);
	r = clustersync_hello_decode(data, size, &h);
	if (r != CLUSTERSYNC_OK) {
		if (r > 0 ||
		    (t == CLUSTERSYNC_HELLO && size == CLUSTERSYNC_HELLO_LEN &&
			r != CLUSTERSYNC_EVALUE))
			abort();
		return 0;
	}
	if (t != CLUSTERSYNC_HELLO || size != CLUSTERSYNC_HELLO_LEN)
		abort();
	if (clustersync_hello_encode(&h, out, sizeof(out)) !=
	    CLUSTERSYNC_HELLO_LEN)
		abort();
	if (memcmp(out, data, size) != 0)
		abort();
	return 0;
}
