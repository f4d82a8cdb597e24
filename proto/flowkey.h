/*
 * A flow's key in its normal form, as REASSIGN carries it (ctlmsg.h) and
 * the flow tables of both daemons hold it (flow.h).
 *
 * Both directions of a conversation give the same key: the (address,
 * port) end that sorts lower is `a`.  Both daemons compute the key of a
 * packet on their own, so this order is part of the protocol: a move
 * whose key is not normal would match no flow at the other end.
 */
#ifndef WANPAIR_FLOWKEY_H
#define WANPAIR_FLOWKEY_H

#include <stdint.h>
#include <string.h>

struct flow_key {
	uint8_t  a[16]; /* IPv4 in the first 4 bytes, the rest zero */
	uint8_t  b[16];
	uint16_t pa; /* port of a (host order) */
	uint16_t pb;
	uint8_t  proto;
	uint8_t  family;
	uint8_t  pad[2]; /* always zero: keys are hashed whole */
};

/*
 * Orders two ends: negative if (x, px) comes first in a normal key, 0 if
 * the ends are the same, positive if (y, py) does.
 */
static inline int
flow_key_order(
    const uint8_t x[16], uint16_t px, const uint8_t y[16], uint16_t py)
{
	int c = memcmp(x, y, 16);

	if (c == 0)
		c = px < py ? -1 : px > py;
	return c;
}

#endif
