#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "proto.h"
#include "wire.h"

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

int
wire_hdr_encode(const struct wire_hdr *h, uint8_t *out, size_t outlen)
{
	if (outlen < WIRE_HDR_LEN || h->version > 0x0f || h->type > 0x0f)
		return -1;
	out[0] = (uint8_t)(h->version << 4 | h->type);
	out[1] = h->link_id;
	put16(out + 2, h->flags);
	put32(out + 4, h->session);
	put64(out + 8, h->counter);
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
	    rbuf_get_u16(&b, &h.flags) == -1 ||
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
 * share one key, and each link counts on its own; two links therefore never
 * produce the same nonce, because their fixed fields differ, and one link
 * never repeats one, because its counter only grows and the key is
 * replaced long before it could wrap.  The two directions use different
 * keys, so the same link id on the way back is no collision either.
 */
void
wire_nonce(uint8_t link_id, uint64_t counter, uint8_t nonce[WIRE_NONCE_LEN])
{
	put32(nonce, link_id);
	put64(nonce + 4, counter);
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
