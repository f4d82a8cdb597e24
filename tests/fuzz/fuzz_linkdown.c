#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linkdown.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * The link-down notice as popd reads it from a WIRE_LINK_DOWN's
 * plaintext.  Only exactly LINKDOWN_LEN bytes may decode; whatever
 * decodes has a known cause and a number, encodes back to the very
 * bytes it came from (no byte of it was skipped), and decodes again to
 * the same fields.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t         out[LINKDOWN_LEN];
	struct linkdown ld, again;

	if (linkdown_decode(data, size, &ld) == -1)
		return 0;
	if (size != LINKDOWN_LEN || ld.seq == 0 ||
	    strcmp(linkdown_cause_str(ld.cause), "unknown") == 0)
		abort();
	if (linkdown_encode(&ld, out, sizeof(out)) != LINKDOWN_LEN)
		abort();
	if (memcmp(out, data, LINKDOWN_LEN) != 0)
		abort();
	if (linkdown_decode(out, sizeof(out), &again) != 0 ||
	    again.link != ld.link || again.cause != ld.cause ||
	    again.seq != ld.seq)
		abort();
	return 0;
}
