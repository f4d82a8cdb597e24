#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "probe.h"

int
probe_encode(const struct probe *p, uint8_t *out, size_t outlen)
{
	struct wbuf b;

	if (outlen < PROBE_LEN)
		return -1;
	wbuf_init(&b, out, outlen);
	if (wbuf_put_u32(&b, p->seq) == -1 ||
	    wbuf_put_u64(&b, p->sent_us) == -1)
		return -1;
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
	    rbuf_get_u64(&b, &p.sent_us) == -1 || rbuf_left(&b) != 0)
		return -1;
	*out = p;
	return 0;
}
