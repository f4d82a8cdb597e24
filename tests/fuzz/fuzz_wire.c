#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * Anything a decoder accepts must encode back to the very bytes it came
 * from: the receiver authenticates the header bytes as received, so a
 * field that decoding dropped or altered would be a field nobody checked.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t         out[WIRE_HDR_LEN];
	struct wire_hdr h;
	int             rc;

	rc = wire_hdr_decode(data, size, &h);
	switch (rc) {
	case WIRE_OK:
		break;
	case WIRE_ERR_TRUNCATED:
	case WIRE_ERR_VERSION:
	case WIRE_ERR_TYPE:
		return 0;
	default:
		abort();
	}
	if (size < WIRE_MIN_DGRAM)
		abort();
	if (wire_hdr_encode(&h, out, sizeof(out)) != WIRE_HDR_LEN)
		abort();
	if (memcmp(out, data, WIRE_HDR_LEN) != 0)
		abort();
	return 0;
}
