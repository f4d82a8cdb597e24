#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "proto.h"
#include "wire.h"

int
wire_hdr_encode(const struct wire_hdr *h, uint8_t *out, size_t outlen)
{
	struct wbuf b;

	if (outlen < WIRE_HDR_LEN || h->version > 0x0f || h->type > 0x0f)
		return -1;
	wbuf_init(&b, out, outlen);
	if (wbuf_put_u8(&b, (uint8_t)(h->version << 4 | h->type)) == -1 ||
	    wbuf_put_u8(&b, h->link_id) == -1 ||
	    wbuf_put_u8(&b, h->worker) == -1 ||
	    wbuf_put_u8(&b, h->flags) == -1 ||
	    wbuf_put_u32(&b, h->session) == -1 ||
	    wbuf_put_u64(&b, h->counter) == -1)
		return -1;
	return WIRE_HDR_LEN;
}

int
wire_hdr_decode(const uint8_t *p, size_t len, struct wire_hdr *hdr)
{
	struct rbuf     b;
	struct wire_hdr h;
	uint8_t         vt;

	rbuf_init(&b, p, len);
	/*
	 * A datagram without room for a tag cannot authenticate, so refuse
	 * it here rather than let the data path look up a session for it.
	 */
	if (rbuf_left(&b) < WIRE_HDR_LEN + WIRE_TAG_LEN)
		return WIRE_ERR_TRUNCATED;
	if (rbuf_get_u8(&b, &vt) == -1 || rbuf_get_u8(&b, &h.link_id) == -1 ||
	    rbuf_get_u8(&b, &h.worker) == -1 ||
	    rbuf_get_u8(&b, &h.flags) == -1 ||
	    rbuf_get_u32(&b, &h.session) == -1 ||
	    rbuf_get_u64(&b, &h.counter) == -1)
		return WIRE_ERR_TRUNCATED;
	h.version = vt >> 4;
	h.type = vt & 0x0f;
	if (h.version != PROTOCOL_VERSION)
		return WIRE_ERR_VERSION;
	switch (h.type) {
	case WIRE_DATA:
	case WIRE_PROBE:
	case WIRE_PROBE_REPLY:
	case WIRE_LINK_DOWN:
	case WIRE_DUP:
		break;
	default:
		return WIRE_ERR_TYPE;
	}
	*hdr = h;
	return WIRE_OK;
}

/*
 * RFC 5116 section 3.2's construction: a fixed field (the link id,
 * zero-padded to 32 bits) followed by a counter.  All links of a direction
 * share one key (one per sender worker: each worker's keys are its own),
 * and each link counts on its own; two links therefore never produce the
 * same nonce, because their fixed fields differ, and one link never
 * repeats one, because its counter only grows and the key is replaced
 * long before it could wrap.  The two directions and the workers use
 * different keys, so the same link id on the way back or from another
 * worker is no collision either.
 */
void
wire_nonce(uint8_t link_id, uint64_t counter, uint8_t nonce[WIRE_NONCE_LEN])
{
	POKE_U32(nonce, link_id);
	POKE_U64(nonce + 4, counter);
}

const char *
wire_err_str(int err)
{
	switch (err) {
	case WIRE_OK:
		return "ok";
	case WIRE_ERR_TRUNCATED:
		return "truncated";
	case WIRE_ERR_VERSION:
		return "bad-version";
	case WIRE_ERR_TYPE:
		return "unknown-type";
	}
	return "unknown-error";
}
