#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flowsync.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * A FLOW message from another cluster member, as popd/forward.c reads it
 * (proto/flowsync.h): a message that decodes must encode back to the
 * very bytes it came from, be exactly FLOWSYNC_LEN(count) bytes, and be
 * a FLOW to clustersync_type(); every entry must pass the check.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct flowsync_entry e[FLOWSYNC_MAX_ENTRIES];
	uint8_t               out[CLUSTERSYNC_MAX_LEN];
	uint32_t              node;
	int                   r, i;

	r = flowsync_decode(data, size, &node, e);
	if (r < 0)
		return 0;
	if (r == 0 || r > (int)FLOWSYNC_MAX_ENTRIES ||
	    size != FLOWSYNC_LEN((size_t)r) ||
	    clustersync_type(data, size) != CLUSTERSYNC_FLOW || node == 0)
		abort();
	for (i = 0; i < r; i++)
		if (flowsync_entry_check(&e[i]) != CLUSTERSYNC_OK)
			abort();
	if (flowsync_encode(node, e, (size_t)r, out, sizeof(out)) != (int)size)
		abort();
	if (memcmp(out, data, size) != 0)
		abort();
	return 0;
}
