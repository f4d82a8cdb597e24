#include "autoconf.h"

#include <sys/socket.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "addr.h"
#include "buf.h"
#include "ctlmsg-int.h"

_Static_assert(MOVE_JSON_MAX == 105, "the header comment says 105 bytes");
_Static_assert(
    REASSIGN_HEAD_MAX + CTL_MAX_MOVES * MOVE_JSON_MAX < CTL_MAX_BODY / 2,
    "a REASSIGN chunk must stay well under CTL_MAX_BODY");

/* ------------------------------------------------------------ encoders */

/*
 * Adds key: value to obj and takes the value's reference.  A NULL value
 * (allocation failure, or json_string() refusing bad UTF-8) or a failed
 * insertion sets *bad, so a builder checks once at the end.
 */
static void
set(json_t *obj, const char *key, json_t *value, int *bad)
{
	if (json_object_set_new(obj, key, value) == -1)
		*bad = 1;
}

static void
append(json_t *arr, json_t *value, int *bad)
{
	if (json_array_append_new(arr, value) == -1)
		*bad = 1;
}

/* 1 if s[0..size) holds a NUL, so it may be read as a C string. */
static int
terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/*
 * Serializes root (and drops it) into a frame.  jansson 2.8 and later keep
 * insertion order when dumping, so the builders fix the key order.
 */
static int
frame(json_t *root, int bad, uint8_t type, uint8_t **out, size_t *outlen)
{
	uint8_t *f = NULL;
	size_t   n;

	if (root == NULL || bad)
		goto fail;
	n = json_dumpb(root, NULL, 0, JSON_COMPACT);
	if (n == 0 || n > CTL_MAX_BODY)
		goto fail;
	if ((f = malloc(CTL_HDR_LEN + n)) == NULL)
		goto fail;
	if (json_dumpb(root, (char *)f + CTL_HDR_LEN, n, JSON_COMPACT) != n)
		goto fail;
	POKE_U32(f, (uint32_t)n);
	f[4] = type;
	json_decref(root);
	*out = f;
	*outlen = CTL_HDR_LEN + n;
	return 0;
fail:
	free(f);
	json_decref(root);
	return -1;
}

/* Hands out a frame its own decoder accepted; frees it otherwise. */
static int
deliver(uint8_t *f, size_t n, int decoded, uint8_t **out, size_t *outlen)
{
	if (decoded != CTL_OK) {
		free(f);
		return -1;
	}
	*out = f;
	*outlen = n;
	return 0;
}

/*
 * The encoders do not restate the decoders' rules: each decodes its own
 * body before handing it out, so a frame the peer would refuse is never
 * sent, and the two sides cannot drift apart.  Control messages are rare
 * enough that the extra parse costs nothing that matters.
 */
int
ctlmsg_encode_hello(const struct ctl_hello *h, uint8_t **out, size_t *outlen)
{
	struct ctl_hello check;
	json_t          *root, *links, *lan, *l;
	uint8_t         *f;
	char             buf[PREFIX_STRLEN];
	size_t           i, n;
	int              bad = 0;

	if (!terminated(h->site, sizeof(h->site)) ||
	    h->nlinks > PROTO_MAX_LINKS || h->nlan > CTL_MAX_LAN)
		return -1;
	for (i = 0; i < h->nlinks; i++)
		if (!terminated(h->links[i].name, sizeof(h->links[i].name)))
			return -1;
	if ((root = json_object()) == NULL)
		return -1;
	set(root, "version", json_integer(h->version), &bad);
	set(root, "workers", json_integer(h->workers), &bad);
	set(root, "site", json_string(h->site), &bad);
	set(root, "links", (links = json_array()), &bad);
	set(root, "lan", (lan = json_array()), &bad);
	for (i = 0; !bad && i < h->nlinks; i++) {
		append(links, (l = json_object()), &bad);
		if (bad)
			break;
		set(l, "name", json_string(h->links[i].name), &bad);
		set(l, "id", json_integer(h->links[i].id), &bad);
		set(l, "up_mbps", json_integer(h->links[i].up_mbps), &bad);
		set(l, "down_mbps", json_integer(h->links[i].down_mbps), &bad);
	}
	for (i = 0; !bad && i < h->nlan; i++)
		append(lan,
		    json_string(prefix_ntop(&h->lan[i], buf, sizeof(buf))),
		    &bad);
	if (frame(root, bad, CTL_HELLO, &f, &n) == -1)
		return -1;
	return deliver(f, n,
	    ctlmsg_decode_hello(
		f + CTL_HDR_LEN, n - CTL_HDR_LEN, &check, NULL, 0),
	    out, outlen);
}

int
ctlmsg_encode_welcome(
    const struct ctl_welcome *w, uint8_t **out, size_t *outlen)
{
	struct ctl_welcome check;
	json_t            *root, *probe;
	uint8_t           *f;
	size_t             n;
	int                bad = 0;

	if ((root = json_object()) == NULL)
		return -1;
	set(root, "version", json_integer(w->version), &bad);
	set(root, "workers", json_integer(w->workers), &bad);
	set(root, "session", json_integer(w->session), &bad);
	set(root, "data_port", json_integer(w->data_port), &bad);
	set(root, "probe", (probe = json_object()), &bad);
	if (!bad) {
		set(probe, "interval_ms", json_integer(w->probe_interval_ms),
		    &bad);
		set(probe, "down_after", json_integer(w->probe_down_after),
		    &bad);
		set(probe, "up_after", json_integer(w->probe_up_after), &bad);
	}
	if (frame(root, bad, CTL_WELCOME, &f, &n) == -1)
		return -1;
	return deliver(f, n,
	    ctlmsg_decode_welcome(
		f + CTL_HDR_LEN, n - CTL_HDR_LEN, &check, NULL, 0),
	    out, outlen);
}

int
ctlmsg_encode_link_state(
    const struct ctl_link_state *ls, uint8_t **out, size_t *outlen)
{
	struct ctl_link_state check;
	json_t               *root, *arr;
	uint8_t              *f;
	size_t                n, i;
	int                   bad = 0;

	/* JSON has only true and false; 2 would come back as 1. */
	if (ls->up > 1 || ls->ndegraded > CTL_MAX_DEGRADED)
		return -1;
	for (i = 0; i < ls->ndegraded; i++)
		if (!terminated(ls->degraded[i], sizeof(ls->degraded[i])))
			return -1;
	if ((root = json_object()) == NULL)
		return -1;
	set(root, "link", json_integer(ls->link), &bad);
	set(root, "up", json_boolean(ls->up), &bad);
	set(root, "rtt_us", json_integer(ls->rtt_us), &bad);
	set(root, "loss_ppm", json_integer(ls->loss_ppm), &bad);
	set(root, "jitter_us", json_integer(ls->jitter_us), &bad);
	set(root, "degraded", (arr = json_array()), &bad);
	for (i = 0; !bad && i < ls->ndegraded; i++)
		append(arr, json_string(ls->degraded[i]), &bad);
	if (frame(root, bad, CTL_LINK_STATE, &f, &n) == -1)
		return -1;
	return deliver(f, n,
	    ctlmsg_decode_link_state(
		f + CTL_HDR_LEN, n - CTL_HDR_LEN, &check, NULL, 0),
	    out, outlen);
}

int
ctlmsg_encode_rekey(const struct ctl_rekey *r, uint8_t **out, size_t *outlen)
{
	json_t *root;
	int     bad = 0;

	/* Every uint32_t epoch is valid, so there is nothing to check. */
	if ((root = json_object()) == NULL)
		return -1;
	set(root, "epoch", json_integer(r->epoch), &bad);
	return frame(root, bad, CTL_REKEY, out, outlen);
}

int
ctlmsg_encode_bye(const struct ctl_bye *b, uint8_t **out, size_t *outlen)
{
	struct ctl_bye check;
	json_t        *root;
	uint8_t       *f;
	size_t         n;
	int            bad = 0;

	if (!terminated(b->reason, sizeof(b->reason)) ||
	    (root = json_object()) == NULL)
		return -1;
	set(root, "reason", json_string(b->reason), &bad);
	if (frame(root, bad, CTL_BYE, &f, &n) == -1)
		return -1;
	return deliver(f, n,
	    ctlmsg_decode_bye(
		f + CTL_HDR_LEN, n - CTL_HDR_LEN, &check, NULL, 0),
	    out, outlen);
}

int
ctlmsg_encode_keepalive(uint8_t **out, size_t *outlen)
{
	return frame(json_object(), 0, CTL_KEEPALIVE, out, outlen);
}

/* 1 if the decoded chunk b says exactly what a, with `moves`, does. */
static int
same_reassign(const struct ctl_reassign *a, const struct ctl_move *moves,
    const struct ctl_reassign *b)
{
	size_t i;

	if (a->dead_link != b->dead_link || a->seq != b->seq ||
	    a->last != b->last || a->total != b->total ||
	    a->nmoves != b->nmoves)
		return 0;
	/* Keys compare whole, padding included: flow tables hash them so. */
	for (i = 0; i < a->nmoves; i++)
		if (memcmp(&moves[i].key, &b->moves[i].key,
			sizeof(moves[i].key)) != 0 ||
		    moves[i].link != b->moves[i].link)
			return 0;
	return 1;
}

/*
 * Encodes the chunk r describes, with moves[0..r->nmoves) instead of
 * r->moves.  Besides the decoder's rules, the decoded chunk must equal
 * the one given: an IPv4 key with bytes after its 4th, or with padding
 * set, would otherwise arrive as another key the PoP does not know.
 */
static int
encode_reassign(const struct ctl_reassign *r, const struct ctl_move *moves,
    uint8_t **out, size_t *outlen)
{
	const struct ctl_move *mv;
	struct ctl_reassign    check;
	json_t                *root, *arr, *m;
	uint8_t               *f;
	char                   a[ADDR_STRLEN], b[ADDR_STRLEN];
	size_t                 i, n;
	int                    bad = 0, rc;

	if (r->last > 1 || r->nmoves > CTL_MAX_MOVES ||
	    (r->nmoves > 0 && moves == NULL))
		return -1;
	if ((root = json_object()) == NULL)
		return -1;
	if (r->dead_link != CTL_LINK_NONE)
		set(root, "link", json_integer(r->dead_link), &bad);
	set(root, "seq", json_integer(r->seq), &bad);
	set(root, "last", json_boolean(r->last), &bad);
	set(root, "total", json_integer(r->total), &bad);
	set(root, "moves", (arr = json_array()), &bad);
	for (i = 0; !bad && i < r->nmoves; i++) {
		mv = &moves[i];
		/* An unknown family comes out as "?" and fails the check. */
		addr_ntop_raw(mv->key.family, mv->key.a, a, sizeof(a));
		addr_ntop_raw(mv->key.family, mv->key.b, b, sizeof(b));
		append(arr, (m = json_array()), &bad);
		if (bad)
			break;
		append(m, json_string(a), &bad);
		append(m, json_integer(mv->key.pa), &bad);
		append(m, json_string(b), &bad);
		append(m, json_integer(mv->key.pb), &bad);
		append(m, json_integer(mv->key.proto), &bad);
		append(m, json_integer(mv->link), &bad);
	}
	if (frame(root, bad, CTL_REASSIGN, &f, &n) == -1)
		return -1;
	rc = ctlmsg_decode_reassign(
	    f + CTL_HDR_LEN, n - CTL_HDR_LEN, &check, NULL, 0);
	if (rc == CTL_OK && !same_reassign(r, moves, &check))
		rc = CTL_ERR_BODY;
	ctlmsg_reassign_free(&check);
	return deliver(f, n, rc, out, outlen);
}

int
ctlmsg_encode_reassign(
    const struct ctl_reassign *r, uint8_t **out, size_t *outlen)
{
	return encode_reassign(r, r->moves, out, outlen);
}

int
ctlmsg_encode_reassign_ack(
    const struct ctl_reassign_ack *ra, uint8_t **out, size_t *outlen)
{
	struct ctl_reassign_ack check;
	json_t                 *root;
	uint8_t                *f;
	size_t                  n;
	int                     bad = 0;

	if ((root = json_object()) == NULL)
		return -1;
	if (ra->link != CTL_LINK_NONE)
		set(root, "link", json_integer(ra->link), &bad);
	set(root, "seq", json_integer(ra->seq), &bad);
	if (frame(root, bad, CTL_REASSIGN_ACK, &f, &n) == -1)
		return -1;
	return deliver(f, n,
	    ctlmsg_decode_reassign_ack(
		f + CTL_HDR_LEN, n - CTL_HDR_LEN, &check, NULL, 0),
	    out, outlen);
}

size_t
ctlmsg_reassign_chunks(size_t nflows)
{
	if (nflows == 0)
		return 1;
	/* Not (nflows + CTL_MAX_MOVES - 1) / ..., which could wrap. */
	return (nflows - 1) / CTL_MAX_MOVES + 1;
}

int
ctlmsg_encode_reassign_chunk(uint8_t dead_link, const struct ctl_move *moves,
    size_t nflows, uint32_t seq, uint8_t **out, size_t *outlen)
{
	struct ctl_reassign r;
	size_t              nchunks, from;

	if ((uint64_t)nflows > UINT32_MAX)
		return -1;
	nchunks = ctlmsg_reassign_chunks(nflows);
	if (seq >= nchunks)
		return -1;
	from = (size_t)seq * CTL_MAX_MOVES;
	memset(&r, 0, sizeof(r));
	r.dead_link = dead_link;
	r.seq = seq;
	r.last = seq == nchunks - 1;
	r.total = (uint32_t)nflows;
	r.nmoves =
	    nflows - from < CTL_MAX_MOVES ? nflows - from : CTL_MAX_MOVES;
	return encode_reassign(
	    &r, r.nmoves > 0 ? moves + from : NULL, out, outlen);
}
