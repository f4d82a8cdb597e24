#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "probe.h"

int
probe_encode(const struct probe *p, uint8_t *out, size_t outlen)
{
	size_t i;

	if (outlen < PROBE_LEN)
		return -1;
	for (i = 0; i < 4; i++)
		out[i] = (uint8_t)(p->seq >> (24 - 8 * i));
	for (i = 0; i < 8; i++)
		out[4 + i] = (uint8_t)(p->sent_ms >> (56 - 8 * i));
	return PROBE_LEN;
}

int
probe_decode(const uint8_t *data, size_t len, struct probe *out)
{
	struct rbuf  b;
	struct probe p;

	/* Exact: trailing bytes would be bytes nobody reads, and a reply
	 * the PoP padded or cut is not the probe that was sent. */
	if (len != PROBE_LEN)
		return -1;
	rbuf_init(&b, data, len);
	if (rbuf_get_u32(&b, &p.seq) == -1 ||
	    rbuf_get_u64(&b, &p.sent_ms) == -1 || rbuf_left(&b) != 0)
		return -1;
	*out = p;
	return 0;
}
