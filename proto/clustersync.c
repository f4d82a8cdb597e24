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
	    wbuf_put_u8(&b, h->workers) == -1 ||
	    wbuf_put_bytes(&b, a, sizeof(a)) == -1)
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
	if (type != CLUSTERSYNC_HELLO && type != CLUSTERSYNC_SESSION &&
	    type != CLUSTERSYNC_WANT && type != CLUSTERSYNC_FLOW)
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
	uint8_t                  fam, a[16];
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
	    rbuf_get_u8(&b, &h.workers) == -1 ||
	    rbuf_get_bytes(&b, a, sizeof(a)) == -1 || rbuf_left(&b) != 0)
		return CLUSTERSYNC_ELENGTH;
	/* Node 0 is nobody's (popd.json: 1..255); the rest is checked
	 * against the configured members by the receiver. */
	if (h.node == 0 || h.port == 0 || h.workers == 0 ||
	    h.workers > PROTO_MAX_WORKERS)
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

int
clustersync_sealed_header(
    uint8_t type, uint32_t node, uint8_t *out, size_t outlen)
{
	struct wbuf b;

	wbuf_init(&b, out, outlen);
	return put_hdr(&b, type, node) == -1 ? -1 : CLUSTERSYNC_HDR_LEN;
}

int
clustersync_session_header(uint32_t node, uint8_t *out, size_t outlen)
{
	return clustersync_sealed_header(
	    CLUSTERSYNC_SESSION, node, out, outlen);
}

int
clustersync_envelope(const uint8_t *data, size_t len, const uint8_t **nonce,
    const uint8_t **sealed, size_t *sealedlen)
{
	size_t min, max;
	int    t;

	if ((t = clustersync_type(data, len)) < 0)
		return t;
	if (t == CLUSTERSYNC_SESSION) {
		/* The smallest body: a site of one letter, one worker each
		 * way, one member, no link. */
		min = CLUSTERSYNC_SESSION_FIXED + 1 + 4 +
		    2 * CLUSTERSYNC_SESSION_KEYS;
		max = CLUSTERSYNC_SESSION_BODY_MAX;
	} else if (t == CLUSTERSYNC_WANT) {
		min = 7 + CLUSTERSYNC_WANT_ENTRY;
		max = CLUSTERSYNC_WANT_BODY_MAX;
	} else
		return CLUSTERSYNC_ETYPE;
	if (len < CLUSTERSYNC_SEAL_OVERHEAD + min ||
	    len > CLUSTERSYNC_SEAL_OVERHEAD + max)
		return CLUSTERSYNC_ELENGTH;
	*nonce = data + CLUSTERSYNC_HDR_LEN;
	*sealed = data + CLUSTERSYNC_HDR_LEN + CLUSTERSYNC_NONCE_LEN;
	*sealedlen = len - CLUSTERSYNC_HDR_LEN - CLUSTERSYNC_NONCE_LEN;
	return t;
}

int
clustersync_want_encode(
    const struct clustersync_want *w, uint8_t *out, size_t outlen)
{
	struct wbuf b;
	size_t      i, len = 7 + (size_t)w->n * CLUSTERSYNC_WANT_ENTRY;

	if (w->id == 0 || w->n == 0 || w->n > CLUSTERSYNC_WANT_MAX_ENTRIES ||
	    len > outlen)
		return -1;
	wbuf_init(&b, out, outlen);
	if (wbuf_put_u16(&b, w->site) == -1 || wbuf_put_u32(&b, w->id) == -1 ||
	    wbuf_put_u8(&b, w->n) == -1)
		return -1;
	for (i = 0; i < w->n; i++)
		if (w->e[i].up > 1 || w->e[i].byte >= PROTO_MAX_WORKERS ||
		    w->e[i].epoch == UINT32_MAX ||
		    wbuf_put_u8(&b, w->e[i].up) == -1 ||
		    wbuf_put_u8(&b, w->e[i].byte) == -1 ||
		    wbuf_put_u32(&b, w->e[i].epoch) == -1)
			return -1;
	return (int)len;
}

int
clustersync_want_decode(
    const uint8_t *data, size_t len, struct clustersync_want *w)
{
	struct rbuf b;
	size_t      i;

	memset(w, 0, sizeof(*w));
	rbuf_init(&b, data, len);
	if (rbuf_get_u16(&b, &w->site) == -1 ||
	    rbuf_get_u32(&b, &w->id) == -1 || rbuf_get_u8(&b, &w->n) == -1)
		return CLUSTERSYNC_ELENGTH;
	if (w->id == 0 || w->n == 0 || w->n > CLUSTERSYNC_WANT_MAX_ENTRIES)
		return CLUSTERSYNC_EVALUE;
	if (len != 7 + (size_t)w->n * CLUSTERSYNC_WANT_ENTRY)
		return CLUSTERSYNC_ELENGTH;
	for (i = 0; i < w->n; i++) {
		(void)rbuf_get_u8(&b, &w->e[i].up);
		(void)rbuf_get_u8(&b, &w->e[i].byte);
		(void)rbuf_get_u32(&b, &w->e[i].epoch);
		if (w->e[i].up > 1 || w->e[i].byte >= PROTO_MAX_WORKERS ||
		    w->e[i].epoch == UINT32_MAX)
			return CLUSTERSYNC_EVALUE;
	}
	return CLUSTERSYNC_OK;
}

/* The counts' ranges, shared by the encoder and the decoder. */
static int
counts_ok(size_t namelen, unsigned sw, unsigned wb, unsigned n, unsigned l)
{
	return namelen >= 1 && namelen < PROTO_SITE_MAX && sw >= 1 &&
	    sw <= PROTO_MAX_WORKERS && wb >= 1 && wb <= PROTO_MAX_WORKERS &&
	    n >= 1 && n <= CLUSTERSYNC_MEMBERS_MAX && l <= PROTO_MAX_LINKS;
}

/* The grants: a slot with each incarnation and none without, below
 * 64 / W, no two alike. */
static int
grants_ok(const struct clustersync_session *s)
{
	uint64_t used = 0;
	size_t   i;

	for (i = 0; i < s->nmembers; i++) {
		if (s->grant[i] == 0 && s->slot[i] == CLUSTERSYNC_NO_SLOT)
			continue;
		if (s->grant[i] == 0 ||
		    s->slot[i] >= PROTO_MAX_WORKERS / s->slot_bytes ||
		    (used & UINT64_C(1) << s->slot[i]))
			return 0;
		used |= UINT64_C(1) << s->slot[i];
	}
	return 1;
}

size_t
clustersync_session_len(const struct clustersync_session *s)
{
	size_t nl = strnlen(s->site_name, PROTO_SITE_MAX);

	if (!counts_ok(
		nl, s->socket_workers, s->slot_bytes, s->nmembers, s->nlinks))
		return 0;
	return CLUSTERSYNC_SESSION_FIXED + nl +
	    (size_t)s->nmembers * CLUSTERSYNC_GRANT_LEN +
	    (size_t)s->nlinks * CLUSTERSYNC_SESSION_LINK +
	    clustersync_session_nkeys(s) * CLUSTERSYNC_SESSION_KEYS;
}

size_t
clustersync_session_nkeys(const struct clustersync_session *s)
{
	size_t i, g = 0;

	for (i = 0; i < s->nmembers && i < CLUSTERSYNC_MEMBERS_MAX; i++)
		g += s->grant[i] != 0;
	return s->socket_workers + g * s->slot_bytes;
}

/* A link name: NUL-terminated, not empty, zero after the NUL. */
static int
name_ok(const char *n, size_t size)
{
	size_t l = strnlen(n, size), i;

	if (l == 0 || l == size)
		return 0;
	for (i = l; i < size; i++)
		if (n[i] != '\0')
			return 0;
	return 1;
}

static int
put_addr(struct wbuf *b, const struct wp_addr *a, uint16_t port)
{
	uint8_t raw[16] = {0}, fam = 0;

	if (a->family == AF_INET) {
		fam = 4;
		memcpy(raw, a->a, 4);
	} else if (a->family == AF_INET6) {
		fam = 6;
		memcpy(raw, a->a, 16);
	} else if (a->family != 0 || port != 0)
		return -1;
	return wbuf_put_u8(b, fam) == -1 || wbuf_put_u16(b, port) == -1 ||
		wbuf_put_bytes(b, raw, sizeof(raw)) == -1
	    ? -1
	    : 0;
}

int
clustersync_session_encode(
    const struct clustersync_session *s, uint8_t *out, size_t outlen)
{
	const struct clustersync_link *l;
	struct wbuf                    b;
	size_t                         len = clustersync_session_len(s), nl, i;
	uint32_t                       seen = 0;

	if (len == 0 || len > outlen || s->id == 0)
		return -1;
	nl = strnlen(s->site_name, PROTO_SITE_MAX);
	wbuf_init(&b, out, outlen);
	if (wbuf_put_u16(&b, s->site) == -1 ||
	    wbuf_put_u8(&b, (uint8_t)nl) == -1 ||
	    wbuf_put_bytes(&b, s->site_name, nl) == -1 ||
	    wbuf_put_u32(&b, s->id) == -1 ||
	    wbuf_put_u8(&b, s->socket_workers) == -1 ||
	    wbuf_put_u8(&b, s->slot_bytes) == -1 ||
	    wbuf_put_u8(&b, s->nmembers) == -1 ||
	    wbuf_put_u8(&b, s->nlinks) == -1 ||
	    (s->flags & ~CLUSTERSYNC_DETACHED) != 0 ||
	    wbuf_put_u8(&b, s->flags) == -1)
		return -1;
	if (!grants_ok(s))
		return -1;
	for (i = 0; i < s->nmembers; i++)
		if (wbuf_put_u32(&b, s->grant[i]) == -1 ||
		    wbuf_put_u8(&b, s->slot[i]) == -1)
			return -1;
	for (i = 0; i < s->nlinks; i++) {
		l = &s->links[i];
		if (l->id >= PROTO_MAX_LINKS || (seen & UINT32_C(1) << l->id) ||
		    l->down > 1 || !name_ok(l->name, sizeof(l->name)))
			return -1;
		seen |= UINT32_C(1) << l->id;
		if (wbuf_put_u8(&b, l->id) == -1 ||
		    wbuf_put_u8(&b, l->down) == -1 ||
		    wbuf_put_bytes(&b, l->name, sizeof(l->name)) == -1 ||
		    wbuf_put_u32(&b, l->up_mbps) == -1 ||
		    wbuf_put_u32(&b, l->down_mbps) == -1 ||
		    put_addr(&b, &l->endpoint, l->port) == -1)
			return -1;
	}
	for (i = 0; i < clustersync_session_nkeys(s); i++)
		if (s->keys[i].epoch == UINT32_MAX ||
		    wbuf_put_u32(&b, s->keys[i].epoch) == -1 ||
		    wbuf_put_bytes(
			&b, s->keys[i].key, sizeof(s->keys[i].key)) == -1)
			return -1;
	return (int)len;
}

static int
get_addr(struct rbuf *b, struct wp_addr *a, uint16_t *port)
{
	static const uint8_t zero[16];
	uint8_t              fam, raw[16];

	if (rbuf_get_u8(b, &fam) == -1 || rbuf_get_u16(b, port) == -1 ||
	    rbuf_get_bytes(b, raw, sizeof(raw)) == -1)
		return CLUSTERSYNC_ELENGTH;
	memset(a, 0, sizeof(*a));
	if (fam == 0) {
		if (*port != 0 || memcmp(raw, zero, 16) != 0)
			return CLUSTERSYNC_EVALUE;
		return CLUSTERSYNC_OK;
	}
	if (*port == 0)
		return CLUSTERSYNC_EVALUE;
	if (fam == 4) {
		if (memcmp(raw + 4, zero, 12) != 0)
			return CLUSTERSYNC_EVALUE;
		a->family = AF_INET;
		memcpy(a->a, raw, 4);
	} else if (fam == 6) {
		a->family = AF_INET6;
		memcpy(a->a, raw, 16);
	} else
		return CLUSTERSYNC_EVALUE;
	return CLUSTERSYNC_OK;
}

int
clustersync_session_decode(
    const uint8_t *data, size_t len, struct clustersync_session *s)
{
	struct clustersync_link *l;
	struct rbuf              b;
	uint8_t                  nl;
	uint32_t                 seen = 0;
	size_t                   i;
	int                      r;

	memset(s, 0, sizeof(*s));
	rbuf_init(&b, data, len);
	if (rbuf_get_u16(&b, &s->site) == -1 || rbuf_get_u8(&b, &nl) == -1)
		return CLUSTERSYNC_ELENGTH;
	if (nl == 0 || nl >= PROTO_SITE_MAX)
		return CLUSTERSYNC_EVALUE;
	if (rbuf_get_bytes(&b, s->site_name, nl) == -1 ||
	    rbuf_get_u32(&b, &s->id) == -1 ||
	    rbuf_get_u8(&b, &s->socket_workers) == -1 ||
	    rbuf_get_u8(&b, &s->slot_bytes) == -1 ||
	    rbuf_get_u8(&b, &s->nmembers) == -1 ||
	    rbuf_get_u8(&b, &s->nlinks) == -1 ||
	    rbuf_get_u8(&b, &s->flags) == -1)
		return CLUSTERSYNC_ELENGTH;
	if (strnlen(s->site_name, nl) != nl || s->id == 0 ||
	    (s->flags & ~CLUSTERSYNC_DETACHED) != 0 ||
	    !counts_ok(
		nl, s->socket_workers, s->slot_bytes, s->nmembers, s->nlinks))
		return CLUSTERSYNC_EVALUE;
	/* The grants say how many keys follow. */
	for (i = 0; i < s->nmembers; i++)
		if (rbuf_get_u32(&b, &s->grant[i]) == -1 ||
		    rbuf_get_u8(&b, &s->slot[i]) == -1)
			return CLUSTERSYNC_ELENGTH;
	if (!grants_ok(s))
		return CLUSTERSYNC_EVALUE;
	if (len != clustersync_session_len(s))
		return CLUSTERSYNC_ELENGTH;
	for (i = 0; i < s->nlinks; i++) {
		l = &s->links[i];
		(void)rbuf_get_u8(&b, &l->id);
		(void)rbuf_get_u8(&b, &l->down);
		(void)rbuf_get_bytes(&b, l->name, sizeof(l->name));
		(void)rbuf_get_u32(&b, &l->up_mbps);
		(void)rbuf_get_u32(&b, &l->down_mbps);
		if ((r = get_addr(&b, &l->endpoint, &l->port)) !=
		    CLUSTERSYNC_OK)
			return r;
		if (l->id >= PROTO_MAX_LINKS || (seen & UINT32_C(1) << l->id) ||
		    l->down > 1 || !name_ok(l->name, sizeof(l->name)))
			return CLUSTERSYNC_EVALUE;
		seen |= UINT32_C(1) << l->id;
	}
	for (i = 0; i < clustersync_session_nkeys(s); i++) {
		(void)rbuf_get_u32(&b, &s->keys[i].epoch);
		(void)rbuf_get_bytes(
		    &b, s->keys[i].key, sizeof(s->keys[i].key));
		if (s->keys[i].epoch == UINT32_MAX)
			return CLUSTERSYNC_EVALUE;
	}
	return rbuf_left(&b) == 0 ? CLUSTERSYNC_OK : CLUSTERSYNC_ELENGTH;
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
