#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "dupwire.h"
#include "proto.h"

int
dupwire_encode(const struct dupwire_hdr *h, uint8_t *out, size_t outlen)
{
	struct wbuf b;

	if (outlen < DUPWIRE_HDR_LEN)
		return -1;
	wbuf_init(&b, out, outlen);
	if (wbuf_put_u32(&b, h->stream) == -1 || wbuf_put_u64(&b, h->seq) == -1)
		return -1;
	return DUPWIRE_HDR_LEN;
}

int
dupwire_decode(const uint8_t *data, size_t len, struct dupwire_hdr *out)
{
	struct rbuf        b;
	struct dupwire_hdr h;

	/* A copy of nothing would only cost the receiver a window slot. */
	if (len <= DUPWIRE_HDR_LEN || len > DUPWIRE_MAX)
		return -1;
	rbuf_init(&b, data, len);
	if (rbuf_get_u32(&b, &h.stream) == -1 || rbuf_get_u64(&b, &h.seq) == -1)
		return -1;
	*out = h;
	return DUPWIRE_HDR_LEN;
}
