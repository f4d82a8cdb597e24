/*
 * The cluster's FLOW message; see flowsync.h.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "flowsync.h"
#include "proto.h"

static const uint8_t zero12[12];

int
flowsync_entry_check(const struct flowsync_entry *e)
{
	const struct flow_key *k = &e->key;

	if (k->family != AF_INET && k->family != AF_INET6)
		return CLUSTERSYNC_EVALUE;
	if (k->family == AF_INET &&
	    (memcmp(k->a + 4, zero12, 12) != 0 ||
		memcmp(k->b + 4, zero12, 12) != 0))
		return CLUSTERSYNC_EVALUE;
	if (k->pad[0] != 0 || k->pad[1] != 0 ||
	    flow_key_order(k->a, k->pa, k->b, k->pb) > 0)
		return CLUSTERSYNC_EVALUE;
	if (e->owner == 0 ||
	    (e->link >= PROTO_MAX_LINKS && e->link != FLOWSYNC_LINK_NONE) ||
	    (e->state != FLOWSYNC_ALIVE && e->state != FLOWSYNC_GONE))
		return CLUSTERSYNC_EVALUE;
	return CLUSTERSYNC_OK;
}

int
flowsync_encode(uint32_t node, const struct flowsync_entry *e, size_t n,
    uint8_t *out, size_t outlen)
{
	struct wbuf b;
	size_t      i;

	if (node == 0 || n == 0 || n > FLOWSYNC_MAX_ENTRIES ||
	    outlen < FLOWSYNC_LEN(n))
		return -1;
	for (i = 0; i < n; i++)
		if (flowsync_entry_check(&e[i]) != CLUSTERSYNC_OK)
			return -1;
	wbuf_init(&b, out, outlen);
	if (wbuf_put_u8(&b, CLUSTERSYNC_VERSION) == -1 ||
	    wbuf_put_u8(&b, CLUSTERSYNC_FLOW) == -1 ||
	    wbuf_put_u16(&b, 0) == -1 || wbuf_put_u32(&b, node) == -1 ||
	    wbuf_put_u16(&b, (uint16_t)n) == -1 || wbuf_put_u16(&b, 0) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		const struct flow_key *k = &e[i].key;

		if (wbuf_put_u8(&b, k->family == AF_INET ? 4 : 6) == -1 ||
		    wbuf_put_u8(&b, k->proto) == -1 ||
		    wbuf_put_u16(&b, k->pa) == -1 ||
		    wbuf_put_u16(&b, k->pb) == -1 ||
		    wbuf_put_bytes(&b, k->a, 16) == -1 ||
		    wbuf_put_bytes(&b, k->b, 16) == -1 ||
		    wbuf_put_u32(&b, e[i].owner) == -1 ||
		    wbuf_put_u32(&b, e[i].session) == -1 ||
		    wbuf_put_u8(&b, e[i].link) == -1 ||
		    wbuf_put_u8(&b, e[i].state) == -1)
			return -1;
	}
	return (int)FLOWSYNC_LEN(n);
}

int
flowsync_decode(
    const uint8_t *data, size_t len, uint32_t *node, struct flowsync_entry *out)
{
	struct rbuf b;
	uint32_t    from;
	uint16_t    count, pad;
	size_t      i;
	int         t;

	if ((t = clustersync_type(data, len)) < 0)
		return t;
	if (t != CLUSTERSYNC_FLOW)
		return CLUSTERSYNC_ETYPE;
	rbuf_init(&b, data, len);
	if (len < FLOWSYNC_HDR_LEN || rbuf_skip(&b, 4) == -1 ||
	    rbuf_get_u32(&b, &from) == -1 || rbuf_get_u16(&b, &count) == -1 ||
	    rbuf_get_u16(&b, &pad) == -1)
		return CLUSTERSYNC_ELENGTH;
	if (count == 0 || count > FLOWSYNC_MAX_ENTRIES ||
	    len != FLOWSYNC_LEN(count))
		return CLUSTERSYNC_ELENGTH;
	if (from == 0 || pad != 0)
		return CLUSTERSYNC_EVALUE;
	for (i = 0; i < count; i++) {
		struct flowsync_entry *e = &out[i];
		uint8_t                fam;

		memset(e, 0, sizeof(*e));
		if (rbuf_get_u8(&b, &fam) == -1 ||
		    rbuf_get_u8(&b, &e->key.proto) == -1 ||
		    rbuf_get_u16(&b, &e->key.pa) == -1 ||
		    rbuf_get_u16(&b, &e->key.pb) == -1 ||
		    rbuf_get_bytes(&b, e->key.a, 16) == -1 ||
		    rbuf_get_bytes(&b, e->key.b, 16) == -1 ||
		    rbuf_get_u32(&b, &e->owner) == -1 ||
		    rbuf_get_u32(&b, &e->session) == -1 ||
		    rbuf_get_u8(&b, &e->link) == -1 ||
		    rbuf_get_u8(&b, &e->state) == -1)
			return CLUSTERSYNC_ELENGTH;
		e->key.family = fam == 4 ? AF_INET : fam == 6 ? AF_INET6 : 0;
		if (flowsync_entry_check(e) != CLUSTERSYNC_OK)
			return CLUSTERSYNC_EVALUE;
	}
	if (rbuf_left(&b) != 0)
		return CLUSTERSYNC_ELENGTH;
	*node = from;
	return (int)count;
}
