#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "linkdown.h"

static int
cause_ok(uint8_t cause)
{
	return cause >= LINKDOWN_CARRIER && cause <= LINKDOWN_ADMIN;
}

int
linkdown_encode(const struct linkdown *ld, uint8_t *out, size_t outlen)
{
	struct wbuf b;

	if (outlen < LINKDOWN_LEN || !cause_ok(ld->cause) || ld->seq == 0)
		return -1;
	wbuf_init(&b, out, outlen);
	if (wbuf_put_u8(&b, ld->link) == -1 ||
	    wbuf_put_u8(&b, ld->cause) == -1 || wbuf_put_u16(&b, 0) == -1 ||
	    wbuf_put_u32(&b, ld->seq) == -1)
		return -1;
	return LINKDOWN_LEN;
}

int
linkdown_decode(const uint8_t *data, size_t len, struct linkdown *out)
{
	struct rbuf     b;
	struct linkdown ld;
	uint16_t        zero;

	if (len != LINKDOWN_LEN)
		return -1;
	rbuf_init(&b, data, len);
	if (rbuf_get_u8(&b, &ld.link) == -1 ||
	    rbuf_get_u8(&b, &ld.cause) == -1 || rbuf_get_u16(&b, &zero) == -1 ||
	    rbuf_get_u32(&b, &ld.seq) == -1 || rbuf_left(&b) != 0)
		return -1;
	if (!cause_ok(ld.cause) || zero != 0 || ld.seq == 0)
		return -1;
	*out = ld;
	return 0;
}

const char *
linkdown_cause_str(uint8_t cause)
{
	switch (cause) {
	case LINKDOWN_CARRIER:
		return "carrier lost";
	case LINKDOWN_PROBES:
		return "probes unanswered";
	case LINKDOWN_ADMIN:
		return "admin down";
	}
	return "unknown";
}
