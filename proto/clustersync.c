/*
 * The cluster's CPG messages; see clustersync.h.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "clustersync.h"

static int
put_hdr(struct wbuf *b, uint8_t type, uint32_t node)
{
	return wbuf_put_u8(b, CLUSTERSYNC_VERSION) == -1 ||
		wbuf_put_u8(b, type) == -1 || wbuf_put_u16(b, 0) == -1 ||
		wbuf_put_u32(b, node) == -1
	    ? -1
	    : 0;
}

int
clustersync_hello_encode(
    const struct clustersync_hello *h, uint8_t *out, size_t outlen)
{
	struct wbuf b;
	uint8_t     a[16] = {0};
	uint8_t     fam;

	if (outlen < CLUSTERSYNC_HELLO_LEN)
		return -1;
	if (h->address.family == AF_INET) {
		fam = 4;
		memcpy(a, h->address.a, 4);
	} else if (h->address.family == AF_INET6) {
		fam = 6;
		memcpy(a, h->address.a, 16);
	} else
		return -1;
	wbuf_init(&b, out, outlen);
	if (put_hdr(&b, CLUSTERSYNC_HELLO, h->node) == -1 ||
	    wbuf_put_u32(&b, h->incarnation) == -1 ||
	    wbuf_put_u16(&b, h->port) == -1 || wbuf_put_u8(&b, fam) == -1 ||
	    wbuf_put_u8(&b, 0) == -1 || wbuf_put_bytes(&b, a, sizeof(a)) == -1)
		return -1;
	return CLUSTERSYNC_HELLO_LEN;
}

int
clustersync_type(const uint8_t *data, size_t len)
{
	struct rbuf b;
	uint8_t     ver, type;
	uint16_t    flags;

	if (len < CLUSTERSYNC_HDR_LEN)
		return CLUSTERSYNC_ESHORT;
	rbuf_init(&b, data, len);
	if (rbuf_get_u8(&b, &ver) == -1 || rbuf_get_u8(&b, &type) == -1 ||
	    rbuf_get_u16(&b, &flags) == -1)
		return CLUSTERSYNC_ESHORT;
	if (ver != CLUSTERSYNC_VERSION)
		return CLUSTERSYNC_EVERSION;
	if (type != CLUSTERSYNC_HELLO && type != CLUSTERSYNC_FLOW)
		return CLUSTERSYNC_ETYPE;
	if (flags != 0)
		return CLUSTERSYNC_EVALUE;
	return type;
}

int
clustersync_hello_decode(
    const uint8_t *data, size_t len, struct clustersync_hello *out)
{
	static const uint8_t     zero[12];
	struct clustersync_hello h;
	struct rbuf              b;
	uint8_t                  fam, pad, a[16];
	int                      t;

	if ((t = clustersync_type(data, len)) < 0)
		return t;
	if (t != CLUSTERSYNC_HELLO)
		return CLUSTERSYNC_ETYPE;
	if (len != CLUSTERSYNC_HELLO_LEN)
		return CLUSTERSYNC_ELENGTH;
	memset(&h, 0, sizeof(h));
	rbuf_init(&b, data, len);
	if (rbuf_skip(&b, 4) == -1 || rbuf_get_u32(&b, &h.node) == -1 ||
	    rbuf_get_u32(&b, &h.incarnation) == -1 ||
	    rbuf_get_u16(&b, &h.port) == -1 || rbuf_get_u8(&b, &fam) == -1 ||
	    rbuf_get_u8(&b, &pad) == -1 ||
	    rbuf_get_bytes(&b, a, sizeof(a)) == -1 || rbuf_left(&b) != 0)
		return CLUSTERSYNC_ELENGTH;
	/* Node 0 is nobody's (popd.json: 1..255); the rest is checked
	 * against the configured members by the receiver. */
	if (h.node == 0 || h.port == 0 || pad != 0)
		return CLUSTERSYNC_EVALUE;
	if (fam == 4) {
		if (memcmp(a + 4, zero, sizeof(zero)) != 0)
			return CLUSTERSYNC_EVALUE;
		h.address.family = AF_INET;
		memcpy(h.address.a, a, 4);
	} else if (fam == 6) {
		h.address.family = AF_INET6;
		memcpy(h.address.a, a, 16);
	} else
		return CLUSTERSYNC_EVALUE;
	*out = h;
	return CLUSTERSYNC_OK;
}

const char *
clustersync_strerror(int err)
{
	switch (err) {
	case CLUSTERSYNC_ESHORT:
		return "short";
	case CLUSTERSYNC_EVERSION:
		return "version";
	case CLUSTERSYNC_ETYPE:
		return "type";
	case CLUSTERSYNC_ELENGTH:
		return "length";
	case CLUSTERSYNC_EVALUE:
		return "value";
	default:
		return "?";
	}
}
