#include "autoconf.h"

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "clusterwire.h"
#include "proto.h"

/* The endpoint family as it goes on the wire: the AF_ values are the
 * host's, not the protocol's. */
#define CW_FAMILY_NONE 0
#define CW_FAMILY_4    4
#define CW_FAMILY_6    6

static const uint8_t zero16[16];

int
cw_hdr_encode(const struct cw_hdr *h, uint8_t *out, size_t outlen)
{
	struct wbuf b;
	uint8_t     fam;

	switch (h->endpoint.family) {
	case 0:
		fam = CW_FAMILY_NONE;
		break;
	case AF_INET:
		fam = CW_FAMILY_4;
		break;
	case AF_INET6:
		fam = CW_FAMILY_6;
		break;
	default:
		return -1;
	}
	if (outlen < CW_HDR_LEN)
		return -1;
	wbuf_init(&b, out, outlen);
	if (wbuf_put_u8(&b, CW_MAGIC0) == -1 ||
	    wbuf_put_u8(&b, CW_MAGIC1) == -1 ||
	    wbuf_put_u8(&b, h->version) == -1 ||
	    wbuf_put_u8(&b, h->type) == -1 || wbuf_put_u8(&b, h->flags) == -1 ||
	    wbuf_put_u8(&b, h->hops) == -1 ||
	    wbuf_put_u8(&b, h->origin) == -1 || wbuf_put_u8(&b, fam) == -1 ||
	    wbuf_put_u32(&b, h->from) == -1 || wbuf_put_u32(&b, h->to) == -1 ||
	    wbuf_put_u32(&b, h->owner) == -1 ||
	    wbuf_put_u32(&b, h->session) == -1 ||
	    wbuf_put_u16(&b, h->port) == -1 ||
	    wbuf_put_bytes(&b, h->endpoint.a, 16) == -1 ||
	    wbuf_put_u64(&b, h->generation) == -1 ||
	    wbuf_put_u64(&b, h->counter) == -1)
		return -1;
	return CW_HDR_LEN;
}

/* The endpoint suits the origin: a site's datagram has the address and
 * port it came from, a TUN packet none (all zero, so that the header
 * bytes have one meaning). */
static int
endpoint_check(const struct cw_hdr *h)
{
	const struct wp_addr *e = &h->endpoint;

	switch (h->origin) {
	case CW_ORIGIN_SITE:
		if (h->port == 0)
			return -1;
		if (e->family == AF_INET)
			return memcmp(e->a + 4, zero16, 12) == 0 ? 0 : -1;
		return e->family == AF_INET6 ? 0 : -1;
	case CW_ORIGIN_TUN:
		if (e->family != 0 || h->port != 0 ||
		    memcmp(e->a, zero16, 16) != 0)
			return -1;
		return 0;
	}
	return -1;
}

int
cw_hdr_check(const struct cw_hdr *h)
{
	if (h->version != CW_VERSION)
		return CW_ERR_VERSION;
	switch (h->type) {
	case CW_FORWARD:
	case CW_FIRST:
	case CW_OWNER_HINT:
		break;
	default:
		return CW_ERR_TYPE;
	}
	if (h->flags != 0)
		return CW_ERR_FLAGS;
	if (h->hops == 0 || h->hops > CW_MAX_HOPS)
		return CW_ERR_HOPS;
	if (endpoint_check(h) == -1)
		return CW_ERR_ORIGIN;
	if (h->from == 0 || h->to == 0 || h->from == h->to)
		return CW_ERR_NODE;
	/* FIRST says "you own it", so it names the receiver; a hint that
	 * names nobody, or the receiver itself, says nothing. */
	if ((h->type == CW_FIRST && h->owner != h->to) ||
	    (h->type == CW_OWNER_HINT && (h->owner == 0 || h->owner == h->to)))
		return CW_ERR_OWNER;
	return CW_OK;
}

int
cw_hdr_decode(const uint8_t *p, size_t len, struct cw_hdr *hdr)
{
	struct rbuf   b;
	struct cw_hdr h;
	uint8_t       m0, m1, fam;
	int           rc;

	if (len < CW_MIN_PKT)
		return CW_ERR_TRUNCATED;
	if (len > CW_MAX_PKT)
		return CW_ERR_OVERSIZED;
	memset(&h, 0, sizeof(h));
	rbuf_init(&b, p, len);
	if (rbuf_get_u8(&b, &m0) == -1 || rbuf_get_u8(&b, &m1) == -1 ||
	    rbuf_get_u8(&b, &h.version) == -1 ||
	    rbuf_get_u8(&b, &h.type) == -1 || rbuf_get_u8(&b, &h.flags) == -1 ||
	    rbuf_get_u8(&b, &h.hops) == -1 ||
	    rbuf_get_u8(&b, &h.origin) == -1 || rbuf_get_u8(&b, &fam) == -1 ||
	    rbuf_get_u32(&b, &h.from) == -1 || rbuf_get_u32(&b, &h.to) == -1 ||
	    rbuf_get_u32(&b, &h.owner) == -1 ||
	    rbuf_get_u32(&b, &h.session) == -1 ||
	    rbuf_get_u16(&b, &h.port) == -1 ||
	    rbuf_get_bytes(&b, h.endpoint.a, 16) == -1 ||
	    rbuf_get_u64(&b, &h.generation) == -1 ||
	    rbuf_get_u64(&b, &h.counter) == -1)
		return CW_ERR_TRUNCATED;
	if (m0 != CW_MAGIC0 || m1 != CW_MAGIC1)
		return CW_ERR_MAGIC;
	switch (fam) {
	case CW_FAMILY_NONE:
		h.endpoint.family = 0;
		break;
	case CW_FAMILY_4:
		h.endpoint.family = AF_INET;
		break;
	case CW_FAMILY_6:
		h.endpoint.family = AF_INET6;
		break;
	default:
		/* No family fits either origin: cw_hdr_check() says
		 * CW_ERR_ORIGIN, after what it checks first. */
		h.endpoint.family = 0xff;
		break;
	}
	if ((rc = cw_hdr_check(&h)) != CW_OK)
		return rc;
	*hdr = h;
	return CW_OK;
}

int
cw_forward_hops(const struct cw_hdr *h)
{
	if (h->hops >= CW_MAX_HOPS)
		return CW_ERR_HOPS;
	return h->hops + 1;
}

/*
 * RFC 5116 section 3.2's construction, as wire_nonce(): a fixed field
 * (the sender's node id) and a counter.  The key is already one per
 * (from, to, generation), so the counter alone would do; the node id in
 * front costs nothing and keeps two senders apart should they ever share
 * a key by mistake.
 */
void
cw_nonce(uint32_t from, uint64_t counter, uint8_t nonce[CW_NONCE_LEN])
{
	POKE_U32(nonce, from);
	POKE_U64(nonce + 4, counter);
}

int
cw_inner_check(uint8_t origin, const uint8_t *p, size_t len)
{
	switch (origin) {
	case CW_ORIGIN_SITE:
		if (len < WIRE_MIN_DGRAM || len > WIRE_MAX_DGRAM)
			return CW_ERR_INNER;
		return CW_OK;
	case CW_ORIGIN_TUN:
		if (len < 20)
			return CW_ERR_INNER;
		if (p[0] >> 4 == 4)
			return CW_OK;
		if (p[0] >> 4 == 6 && len >= 40)
			return CW_OK;
		return CW_ERR_INNER;
	}
	return CW_ERR_INNER;
}

const char *
cw_err_str(int err)
{
	switch (err) {
	case CW_OK:
		return "ok";
	case CW_ERR_TRUNCATED:
		return "truncated";
	case CW_ERR_OVERSIZED:
		return "oversized";
	case CW_ERR_MAGIC:
		return "bad-magic";
	case CW_ERR_VERSION:
		return "bad-version";
	case CW_ERR_TYPE:
		return "unknown-type";
	case CW_ERR_FLAGS:
		return "unknown-flags";
	case CW_ERR_HOPS:
		return "hop-limit";
	case CW_ERR_ORIGIN:
		return "bad-origin";
	case CW_ERR_NODE:
		return "bad-node";
	case CW_ERR_OWNER:
		return "bad-owner";
	case CW_ERR_NOT_MINE:
		return "not-mine";
	case CW_ERR_PEER:
		return "unknown-peer";
	case CW_ERR_STALE:
		return "stale-generation";
	case CW_ERR_REPLAY:
		return "replay";
	case CW_ERR_TAG:
		return "bad-tag";
	case CW_ERR_INNER:
		return "bad-inner";
	}
	return "unknown-error";
}
