#include "autoconf.h"

#include <sys/socket.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "ctlmsg.h"
#include "jsonpos.h"

/* The peer gets no more latitude than a local configuration: proto.h. */
#define MBPS_MAX           PROTO_MBPS_MAX
#define PROBE_INTERVAL_MIN PROTO_PROBE_INTERVAL_MIN
#define PROBE_INTERVAL_MAX PROTO_PROBE_INTERVAL_MAX
#define PROBE_COUNT_MAX    PROTO_PROBE_COUNT_MAX
#define LOSS_PPM_MAX       PROTO_LOSS_PPM_MAX

/*
 * Bytes of a bad value repeated in a message: enough to recognise it,
 * little enough that path, sentence and value fit in CTL_ERRLEN.
 */
#define QUOTE_MAX 32

#define PATH_MAX_LEN 32 /* "links[31]", "lan[255]", "moves[4095][5]" */

/* A move is [address, port, address, port, protocol, link]. */
#define MOVE_FIELDS 6

/*
 * The widest move the encoder writes, with the comma after it: two IPv6
 * addresses of 39 characters (eight groups of four hex digits, the
 * longest inet_ntop() writes), in quotes, ports 65535, protocol 255, a
 * two-digit link.  And the rest of the widest chunk around the moves.
 */
#define MOVE_JSON_MAX (sizeof("[\"\",65535,\"\",65535,255,31],") - 1 + 2 * 39)
#define REASSIGN_HEAD_MAX                                                      \
	(sizeof("{\"link\":31,\"seq\":4294967295,\"last\":false,"              \
		"\"total\":4294967295,\"moves\":[]}") -                        \
	    1)

_Static_assert(MOVE_JSON_MAX == 105, "the header comment says 105 bytes");
_Static_assert(
    REASSIGN_HEAD_MAX + CTL_MAX_MOVES * MOVE_JSON_MAX < CTL_MAX_BODY / 2,
    "a REASSIGN chunk must stay well under CTL_MAX_BODY");

static const char *const type_names[] = {
    [CTL_HELLO] = "hello",
    [CTL_WELCOME] = "welcome",
    [CTL_KEEPALIVE] = "keepalive",
    [CTL_LINK_STATE] = "link_state",
    [CTL_REASSIGN] = "reassign",
    [CTL_REKEY] = "rekey",
    [CTL_BYE] = "bye",
    [CTL_REASSIGN_ACK] = "reassign_ack",
};

/* As the protocol's documents and the daemons' messages spell them. */
static const char *const type_tags[] = {
    [CTL_HELLO] = "HELLO",
    [CTL_WELCOME] = "WELCOME",
    [CTL_KEEPALIVE] = "KEEPALIVE",
    [CTL_LINK_STATE] = "LINK_STATE",
    [CTL_REASSIGN] = "REASSIGN",
    [CTL_REKEY] = "REKEY",
    [CTL_BYE] = "BYE",
    [CTL_REASSIGN_ACK] = "REASSIGN_ACK",
};

static const char *const hello_keys[] = {
    "version", "site", "links", "lan", NULL};
static const char *const link_keys[] = {
    "name", "id", "up_mbps", "down_mbps", NULL};
static const char *const welcome_keys[] = {
    "version", "session", "data_port", "probe", NULL};
static const char *const probe_keys[] = {
    "interval_ms", "down_after", "up_after", NULL};
static const char *const link_state_keys[] = {
    "link", "up", "rtt_us", "loss_ppm", NULL};
static const char *const rekey_keys[] = {"epoch", NULL};
static const char *const bye_keys[] = {"reason", NULL};
static const char *const reassign_keys[] = {
    "link", "seq", "last", "total", "moves", NULL};
static const char *const reassign_ack_keys[] = {"link", "seq", NULL};
static const char *const no_keys[] = {NULL};

enum name_rule {
	NAME_WORD, /* link names, as in the config: [A-Za-z0-9_.-] */
	NAME_TEXT  /* site, reason: no control characters */
};

/* Where a decoder writes its one sentence. */
struct dec {
	char  *err;
	size_t errlen;
};

struct quoted {
	char s[QUOTE_MAX * 6 + 8]; /* every byte may become \u00XX */
};

const char *
ctlmsg_type_name(int type)
{
	if (type < 1 || type > CTL_TYPE_MAX)
		return "unknown";
	return type_names[type];
}

const char *
ctlmsg_type_tag(int type)
{
	if (type < 1 || type > CTL_TYPE_MAX)
		return "UNKNOWN";
	return type_tags[type];
}

int
ctlmsg_frame(const uint8_t *buf, size_t len, struct ctl_frame *f)
{
	struct rbuf b;
	uint32_t    blen;
	uint8_t     type;

	rbuf_init(&b, buf, len);
	if (rbuf_get_u32(&b, &blen) == -1 || rbuf_get_u8(&b, &type) == -1)
		return CTL_NEED_MORE;
	/*
	 * Refused before the body arrives: a peer announcing 4 GiB must not
	 * make the caller buffer anything.
	 */
	if (blen > CTL_MAX_BODY)
		return CTL_ERR_OVERSIZE;
	if (type < 1 || type > CTL_TYPE_MAX)
		return CTL_ERR_TYPE;
	if (rbuf_left(&b) < blen)
		return CTL_NEED_MORE;
	f->type = type;
	f->body = rbuf_ptr(&b);
	f->body_len = blen;
	f->frame_len = CTL_HDR_LEN + (size_t)blen;
	return CTL_OK;
}

/* ------------------------------------------------------------ errors */

/*
 * Writes "PATH.KEY: sentence" (either part may be absent) and returns -1,
 * so that a check can end with `return fail(...)`.
 */
static int __attribute__((format(printf, 4, 5)))
fail(struct dec *d, const char *path, const char *key, const char *fmt, ...)
{
	va_list ap;
	size_t  off;
	int     n;

	if (d->err == NULL || d->errlen == 0)
		return -1;
	if (path == NULL)
		path = "";
	if (key != NULL)
		n = snprintf(d->err, d->errlen, "%s%s%s: ", path,
		    path[0] != '\0' ? "." : "", key);
	else if (path[0] != '\0')
		n = snprintf(d->err, d->errlen, "%s: ", path);
	else
		n = 0;
	off = n < 0 ? 0 : (size_t)n;
	if (off >= d->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(d->err + off, d->errlen - off, fmt, ap);
	va_end(ap);
	return -1;
}

/* A bad value for a message: quoted, escaped, cut after QUOTE_MAX bytes. */
static const char *
quote(struct quoted *q, const char *s, size_t len)
{
	return jsonpos_quote(q->s, sizeof(q->s), s, len, QUOTE_MAX);
}

/* ------------------------------------------------------------ getters */

/*
 * Each getter returns 0 with the value, or -1 having written why.  Every
 * key of every message is required: a field with a default would let two
 * versions disagree silently.
 */

static int
check_keys(
    struct dec *d, json_t *obj, const char *path, const char *const *known)
{
	struct quoted q;
	const char   *key;
	void         *it;
	size_t        i;

	for (it = json_object_iter(obj); it != NULL;
	     it = json_object_iter_next(obj, it)) {
		key = json_object_iter_key(it);
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (known[i] == NULL)
			return fail(d, path, NULL, "unknown key %s",
			    quote(&q, key, strlen(key)));
	}
	return 0;
}

static json_t *
member(struct dec *d, json_t *obj, const char *path, const char *key)
{
	json_t *v;

	if ((v = json_object_get(obj, key)) == NULL)
		fail(d, path, NULL, "missing key \"%s\"", key);
	return v;
}

/* The value v, named PATH.KEY in a message, as an integer min..max. */
static int
uint_in(struct dec *d, json_t *v, const char *path, const char *key,
    uint32_t min, uint32_t max, uint32_t *out)
{
	json_int_t i;

	if (!json_is_integer(v))
		return fail(d, path, key, "must be an integer, got %s",
		    jsonpos_type_name(v));
	i = json_integer_value(v);
	if (i < (json_int_t)min || i > (json_int_t)max)
		return fail(d, path, key,
		    "must be %" PRIu32 "..%" PRIu32 ", got %lld", min, max,
		    (long long)i);
	*out = (uint32_t)i;
	return 0;
}

static int
get_uint(struct dec *d, json_t *obj, const char *path, const char *key,
    uint32_t min, uint32_t max, uint32_t *out)
{
	json_t *v;

	if ((v = member(d, obj, path, key)) == NULL)
		return -1;
	return uint_in(d, v, path, key, min, max, out);
}

/* "link" of REASSIGN and REASSIGN_ACK: absent means CTL_LINK_NONE. */
static int
get_dead_link(struct dec *d, json_t *obj, uint8_t *out)
{
	uint32_t link;

	if (json_object_get(obj, "link") == NULL) {
		*out = CTL_LINK_NONE;
		return 0;
	}
	if (get_uint(d, obj, NULL, "link", 0, PROTO_MAX_LINKS - 1, &link) == -1)
		return -1;
	*out = (uint8_t)link;
	return 0;
}

static int
get_bool(
    struct dec *d, json_t *obj, const char *path, const char *key, uint8_t *out)
{
	json_t *v;

	if ((v = member(d, obj, path, key)) == NULL)
		return -1;
	if (!json_is_boolean(v))
		return fail(d, path, key, "must be a boolean, got %s",
		    jsonpos_type_name(v));
	*out = json_is_true(v) ? 1 : 0;
	return 0;
}

static int
name_ok(const char *s, size_t len, enum name_rule rule)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t               i;

	for (i = 0; i < len; i++) {
		if (rule == NAME_WORD &&
		    !((p[i] >= 'a' && p[i] <= 'z') ||
			(p[i] >= 'A' && p[i] <= 'Z') ||
			(p[i] >= '0' && p[i] <= '9') || p[i] == '_' ||
			p[i] == '.' || p[i] == '-'))
			return 0;
		/* Both end up in logs, one line each. */
		if (p[i] < ' ' || p[i] == 0x7f)
			return 0;
	}
	return 1;
}

/* A string of min..size-1 bytes obeying `rule`, copied into dst. */
static int
get_name(struct dec *d, json_t *obj, const char *path, const char *key,
    size_t min, char *dst, size_t size, enum name_rule rule)
{
	struct quoted q;
	const char   *s;
	json_t       *v;
	size_t        len;

	if ((v = member(d, obj, path, key)) == NULL)
		return -1;
	if (!json_is_string(v))
		return fail(d, path, key, "must be a string, got %s",
		    jsonpos_type_name(v));
	s = json_string_value(v);
	/* jansson refuses \u0000 unless told otherwise, so len is strlen. */
	len = json_string_length(v);
	if (len < min || len >= size) {
		if (min == 0)
			return fail(d, path, key,
			    "must be at most %zu bytes long, got %zu", size - 1,
			    len);
		return fail(d, path, key, "must be %zu..%zu %s long, got %zu",
		    min, size - 1, rule == NAME_WORD ? "characters" : "bytes",
		    len);
	}
	if (!name_ok(s, len, rule)) {
		if (rule == NAME_WORD)
			return fail(d, path, key,
			    "must contain only letters, digits, \"_\", "
			    "\".\" and \"-\"; got %s",
			    quote(&q, s, len));
		return fail(d, path, key,
		    "must not contain control characters; got %s",
		    quote(&q, s, len));
	}
	memcpy(dst, s, len + 1);
	return 0;
}

static int
get_array(struct dec *d, json_t *obj, const char *path, const char *key,
    size_t min, size_t max, json_t **out)
{
	json_t *v;
	size_t  n;

	if ((v = member(d, obj, path, key)) == NULL)
		return -1;
	if (!json_is_array(v))
		return fail(d, path, key, "must be an array, got %s",
		    jsonpos_type_name(v));
	n = json_array_size(v);
	if (n < min || n > max)
		return fail(d, path, key, "must have %zu..%zu entries, got %zu",
		    min, max, n);
	*out = v;
	return 0;
}

static int
get_object(struct dec *d, json_t *obj, const char *path, const char *key,
    const char *const *known, json_t **out)
{
	json_t *v;

	if ((v = member(d, obj, path, key)) == NULL)
		return -1;
	if (!json_is_object(v))
		return fail(d, path, key, "must be an object, got %s",
		    jsonpos_type_name(v));
	*out = v;
	/* Only the root holds objects, so the key is the whole path. */
	return check_keys(d, v, key, known);
}

/*
 * The body as a JSON object with only `known` keys.  Trailing bytes are
 * refused (json_loadb checks for the end unless told not to), and so are
 * duplicate keys: with two "up" keys, which one would the peer have meant?
 * jansson caps nesting at 2048 levels, so a deep body cannot exhaust the
 * stack.
 */
static json_t *
load(struct dec *d, const uint8_t *body, size_t len, const char *const *known)
{
	struct jsonpos_syntax serr;
	json_t               *root;

	if (len == 0) {
		fail(d, NULL, NULL, "empty body, expected a JSON object");
		return NULL;
	}
	if (len > CTL_MAX_BODY) {
		fail(d, NULL, NULL, "body larger than %d bytes", CTL_MAX_BODY);
		return NULL;
	}
	if ((root = jsonpos_load((const char *)body, len,
		 JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &serr)) == NULL) {
		fail(d, NULL, NULL, "not JSON at byte %zu: %s", serr.position,
		    serr.msg);
		return NULL;
	}
	if (!json_is_object(root)) {
		fail(d, NULL, NULL, "body must be a JSON object, got %s",
		    jsonpos_type_name(root));
		goto fail;
	}
	if (check_keys(d, root, NULL, known) == -1)
		goto fail;
	return root;
fail:
	json_decref(root);
	return NULL;
}

/* ------------------------------------------------------------ decoders */

static int
decode_link(struct dec *d, json_t *o, const char *path, struct ctl_link *l)
{
	uint32_t id;

	if (!json_is_object(o))
		return fail(d, path, NULL, "must be an object, got %s",
		    jsonpos_type_name(o));
	if (check_keys(d, o, path, link_keys) == -1 ||
	    get_name(d, o, path, "name", 1, l->name, sizeof(l->name),
		NAME_WORD) == -1 ||
	    get_uint(d, o, path, "id", 0, PROTO_MAX_LINKS - 1, &id) == -1 ||
	    get_uint(d, o, path, "up_mbps", 1, MBPS_MAX, &l->up_mbps) == -1 ||
	    get_uint(d, o, path, "down_mbps", 1, MBPS_MAX, &l->down_mbps) == -1)
		return -1;
	l->id = (uint8_t)id;
	return 0;
}

int
ctlmsg_decode_hello(const uint8_t *body, size_t len, struct ctl_hello *h,
    char *err, size_t errlen)
{
	struct dec    d = {err, errlen};
	struct quoted q;
	const char   *why, *s;
	json_t       *root, *links = NULL, *lan = NULL, *v;
	char          path[PATH_MAX_LEN];
	size_t        i, j;
	int           rc = CTL_ERR_BODY;

	memset(h, 0, sizeof(*h));
	if ((root = load(&d, body, len, hello_keys)) == NULL)
		goto out;
	if (get_uint(&d, root, NULL, "version", 0, UINT32_MAX, &h->version) ==
		-1 ||
	    get_name(&d, root, NULL, "site", 1, h->site, sizeof(h->site),
		NAME_TEXT) == -1 ||
	    get_array(&d, root, NULL, "links", 1, PROTO_MAX_LINKS, &links) ==
		-1 ||
	    get_array(&d, root, NULL, "lan", 0, CTL_MAX_LAN, &lan) == -1)
		goto out;

	h->nlinks = json_array_size(links);
	for (i = 0; i < h->nlinks; i++) {
		snprintf(path, sizeof(path), "links[%zu]", i);
		if (decode_link(
			&d, json_array_get(links, i), path, &h->links[i]) == -1)
			goto out;
		/*
		 * The PoP keys its per-link state by id and reports by name;
		 * either repeated would merge two links into one.
		 */
		for (j = 0; j < i; j++) {
			if (strcmp(h->links[j].name, h->links[i].name) == 0) {
				fail(&d, path, "name",
				    "duplicate link name %s (also links[%zu])",
				    quote(&q, h->links[i].name,
					strlen(h->links[i].name)),
				    j);
				goto out;
			}
			if (h->links[j].id == h->links[i].id) {
				fail(&d, path, "id",
				    "duplicate link id %u (also links[%zu])",
				    h->links[i].id, j);
				goto out;
			}
		}
	}

	h->nlan = json_array_size(lan);
	for (i = 0; i < h->nlan; i++) {
		snprintf(path, sizeof(path), "lan[%zu]", i);
		v = json_array_get(lan, i);
		if (!json_is_string(v)) {
			fail(&d, path, NULL, "must be a string, got %s",
			    jsonpos_type_name(v));
			goto out;
		}
		s = json_string_value(v);
		if (prefix_parse(s, &h->lan[i], &why) == -1) {
			fail(&d, path, NULL, "%s; got %s", why,
			    quote(&q, s, json_string_length(v)));
			goto out;
		}
	}
	rc = CTL_OK;
out:
	if (rc != CTL_OK)
		memset(h, 0, sizeof(*h));
	json_decref(root);
	return rc;
}

int
ctlmsg_decode_welcome(const uint8_t *body, size_t len, struct ctl_welcome *w,
    char *err, size_t errlen)
{
	struct dec d = {err, errlen};
	json_t    *root, *probe = NULL;
	uint32_t   port;
	int        rc = CTL_ERR_BODY;

	memset(w, 0, sizeof(*w));
	if ((root = load(&d, body, len, welcome_keys)) == NULL)
		goto out;
	if (get_uint(&d, root, NULL, "version", 0, UINT32_MAX, &w->version) ==
		-1 ||
	    get_uint(&d, root, NULL, "session", 1, UINT32_MAX, &w->session) ==
		-1 ||
	    get_uint(&d, root, NULL, "data_port", 1, UINT16_MAX, &port) == -1 ||
	    get_object(&d, root, NULL, "probe", probe_keys, &probe) == -1 ||
	    get_uint(&d, probe, "probe", "interval_ms", PROBE_INTERVAL_MIN,
		PROBE_INTERVAL_MAX, &w->probe_interval_ms) == -1 ||
	    get_uint(&d, probe, "probe", "down_after", 1, PROBE_COUNT_MAX,
		&w->probe_down_after) == -1 ||
	    get_uint(&d, probe, "probe", "up_after", 1, PROBE_COUNT_MAX,
		&w->probe_up_after) == -1)
		goto out;
	w->data_port = (uint16_t)port;
	rc = CTL_OK;
out:
	if (rc != CTL_OK)
		memset(w, 0, sizeof(*w));
	json_decref(root);
	return rc;
}

int
ctlmsg_decode_link_state(const uint8_t *body, size_t len,
    struct ctl_link_state *ls, char *err, size_t errlen)
{
	struct dec d = {err, errlen};
	json_t    *root;
	uint32_t   link;
	int        rc = CTL_ERR_BODY;

	memset(ls, 0, sizeof(*ls));
	if ((root = load(&d, body, len, link_state_keys)) == NULL)
		goto out;
	if (get_uint(&d, root, NULL, "link", 0, PROTO_MAX_LINKS - 1, &link) ==
		-1 ||
	    get_bool(&d, root, NULL, "up", &ls->up) == -1 ||
	    get_uint(&d, root, NULL, "rtt_us", 0, UINT32_MAX, &ls->rtt_us) ==
		-1 ||
	    get_uint(&d, root, NULL, "loss_ppm", 0, LOSS_PPM_MAX,
		&ls->loss_ppm) == -1)
		goto out;
	ls->link = (uint8_t)link;
	rc = CTL_OK;
out:
	if (rc != CTL_OK)
		memset(ls, 0, sizeof(*ls));
	json_decref(root);
	return rc;
}

int
ctlmsg_decode_rekey(const uint8_t *body, size_t len, struct ctl_rekey *r,
    char *err, size_t errlen)
{
	struct dec d = {err, errlen};
	json_t    *root;
	int        rc = CTL_ERR_BODY;

	memset(r, 0, sizeof(*r));
	if ((root = load(&d, body, len, rekey_keys)) == NULL)
		goto out;
	if (get_uint(&d, root, NULL, "epoch", 0, UINT32_MAX, &r->epoch) == -1)
		goto out;
	rc = CTL_OK;
out:
	if (rc != CTL_OK)
		memset(r, 0, sizeof(*r));
	json_decref(root);
	return rc;
}

int
ctlmsg_decode_bye(const uint8_t *body, size_t len, struct ctl_bye *b, char *err,
    size_t errlen)
{
	struct dec d = {err, errlen};
	json_t    *root;
	int        rc = CTL_ERR_BODY;

	memset(b, 0, sizeof(*b));
	if ((root = load(&d, body, len, bye_keys)) == NULL)
		goto out;
	if (get_name(&d, root, NULL, "reason", 0, b->reason, sizeof(b->reason),
		NAME_TEXT) == -1)
		goto out;
	rc = CTL_OK;
out:
	if (rc != CTL_OK)
		memset(b, 0, sizeof(*b));
	json_decref(root);
	return rc;
}

int
ctlmsg_decode_keepalive(
    const uint8_t *body, size_t len, char *err, size_t errlen)
{
	struct dec d = {err, errlen};
	json_t    *root;

	if ((root = load(&d, body, len, no_keys)) == NULL)
		return CTL_ERR_BODY;
	json_decref(root);
	return CTL_OK;
}

/*
 * Element i of a move, named moves[N][i] in a message.  Callers checked
 * that the move has MOVE_FIELDS elements.
 */
static int
move_uint(struct dec *d, json_t *mv, const char *path, size_t i, uint32_t max,
    uint32_t *out)
{
	/* path is at most PATH_MAX_LEN - 1 bytes: room for "[N]" too */
	char epath[PATH_MAX_LEN + 24];

	snprintf(epath, sizeof(epath), "%s[%zu]", path, i);
	return uint_in(d, json_array_get(mv, i), epath, NULL, 0, max, out);
}

/* An address of the move; the second must have the family of `first`. */
static int
move_addr(struct dec *d, json_t *mv, const char *path, size_t i,
    const struct wp_addr *first, struct wp_addr *out)
{
	struct quoted q;
	const char   *s;
	json_t       *v;
	char          epath[PATH_MAX_LEN];

	snprintf(epath, sizeof(epath), "%s[%zu]", path, i);
	v = json_array_get(mv, i);
	if (!json_is_string(v))
		return fail(d, epath, NULL, "must be a string, got %s",
		    jsonpos_type_name(v));
	s = json_string_value(v);
	/* inet_pton() stops at a NUL; jansson refuses \u0000 in strings. */
	if (addr_parse(s, out) == -1)
		return fail(d, epath, NULL,
		    "not an IPv4 or IPv6 address; got %s",
		    quote(&q, s, json_string_length(v)));
	if (first != NULL && out->family != first->family)
		return fail(d, epath, NULL,
		    "an %s address in an %s flow; got %s",
		    out->family == AF_INET ? "IPv4" : "IPv6",
		    first->family == AF_INET ? "IPv4" : "IPv6",
		    quote(&q, s, json_string_length(v)));
	return 0;
}

static int
decode_move(
    struct dec *d, json_t *v, size_t i, uint8_t dead, struct ctl_move *mv)
{
	struct wp_addr a, b;
	uint32_t       pa, pb, proto, link;
	char           path[PATH_MAX_LEN];
	int            c;

	snprintf(path, sizeof(path), "moves[%zu]", i);
	if (!json_is_array(v))
		return fail(d, path, NULL, "must be an array, got %s",
		    jsonpos_type_name(v));
	if (json_array_size(v) != MOVE_FIELDS)
		return fail(d, path, NULL,
		    "must be [address, port, address, port, protocol, link], "
		    "got %zu entries",
		    json_array_size(v));
	if (move_addr(d, v, path, 0, NULL, &a) == -1 ||
	    move_uint(d, v, path, 1, UINT16_MAX, &pa) == -1 ||
	    move_addr(d, v, path, 2, &a, &b) == -1 ||
	    move_uint(d, v, path, 3, UINT16_MAX, &pb) == -1 ||
	    move_uint(d, v, path, 4, UINT8_MAX, &proto) == -1 ||
	    move_uint(d, v, path, 5, PROTO_MAX_LINKS - 1, &link) == -1)
		return -1;
	if (link == dead) {
		snprintf(path, sizeof(path), "moves[%zu][5]", i);
		return fail(d, path, NULL,
		    "link %" PRIu32 " is the link that failed", link);
	}
	/*
	 * The order flow_key_from_pkt() gives: the lower (address, port)
	 * first.  The PoP finds the flow by this key; a reversed one would
	 * silently match nothing.
	 */
	c = flow_key_order(a.a, (uint16_t)pa, b.a, (uint16_t)pb);
	if (c > 0)
		return fail(d, path, NULL,
		    "not a normalised flow key: the lower address (then port) "
		    "comes first");
	memcpy(mv->key.a, a.a, sizeof(mv->key.a));
	memcpy(mv->key.b, b.a, sizeof(mv->key.b));
	mv->key.pa = (uint16_t)pa;
	mv->key.pb = (uint16_t)pb;
	mv->key.proto = (uint8_t)proto;
	mv->key.family = a.family;
	mv->link = (uint8_t)link;
	return 0;
}

int
ctlmsg_decode_reassign(const uint8_t *body, size_t len, struct ctl_reassign *r,
    char *err, size_t errlen)
{
	struct dec d = {err, errlen};
	json_t    *root, *moves = NULL;
	size_t     i;
	int        rc = CTL_ERR_BODY;

	memset(r, 0, sizeof(*r));
	/* load() refuses a body over CTL_MAX_BODY before parsing it. */
	if ((root = load(&d, body, len, reassign_keys)) == NULL)
		goto out;
	if (get_dead_link(&d, root, &r->dead_link) == -1 ||
	    get_uint(&d, root, NULL, "seq", 0, UINT32_MAX, &r->seq) == -1 ||
	    get_bool(&d, root, NULL, "last", &r->last) == -1 ||
	    get_uint(&d, root, NULL, "total", 0, UINT32_MAX, &r->total) == -1 ||
	    get_array(&d, root, NULL, "moves", 0, CTL_MAX_MOVES, &moves) == -1)
		goto out;
	r->nmoves = json_array_size(moves);
	if (r->nmoves > r->total) {
		fail(&d, NULL, "total",
		    "must be at least %zu, the moves in this chunk; got "
		    "%" PRIu32,
		    r->nmoves, r->total);
		goto out;
	}
	/* Bounded by CTL_MAX_MOVES above: at most a few hundred kB. */
	if (r->nmoves > 0 &&
	    (r->moves = calloc(r->nmoves, sizeof(*r->moves))) == NULL) {
		fail(&d, NULL, NULL, "out of memory for %zu moves", r->nmoves);
		goto out;
	}
	for (i = 0; i < r->nmoves; i++)
		if (decode_move(&d, json_array_get(moves, i), i, r->dead_link,
			&r->moves[i]) == -1)
			goto out;
	rc = CTL_OK;
out:
	if (rc != CTL_OK) {
		free(r->moves);
		memset(r, 0, sizeof(*r));
	}
	json_decref(root);
	return rc;
}

void
ctlmsg_reassign_free(struct ctl_reassign *r)
{
	if (r == NULL)
		return;
	free(r->moves);
	memset(r, 0, sizeof(*r));
}

int
ctlmsg_decode_reassign_ack(const uint8_t *body, size_t len,
    struct ctl_reassign_ack *a, char *err, size_t errlen)
{
	struct dec d = {err, errlen};
	json_t    *root;
	int        rc = CTL_ERR_BODY;

	memset(a, 0, sizeof(*a));
	if ((root = load(&d, body, len, reassign_ack_keys)) == NULL)
		goto out;
	if (get_dead_link(&d, root, &a->link) == -1 ||
	    get_uint(&d, root, NULL, "seq", 0, UINT32_MAX, &a->seq) == -1)
		goto out;
	rc = CTL_OK;
out:
	if (rc != CTL_OK)
		memset(a, 0, sizeof(*a));
	json_decref(root);
	return rc;
}

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
	json_t               *root;
	uint8_t              *f;
	size_t                n;
	int                   bad = 0;

	/* JSON has only true and false; 2 would come back as 1. */
	if (ls->up > 1 || (root = json_object()) == NULL)
		return -1;
	set(root, "link", json_integer(ls->link), &bad);
	set(root, "up", json_boolean(ls->up), &bad);
	set(root, "rtt_us", json_integer(ls->rtt_us), &bad);
	set(root, "loss_ppm", json_integer(ls->loss_ppm), &bad);
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

/* ------------------------------------------------------------ any type */

int
ctlmsg_decode(
    const struct ctl_frame *f, struct ctl_msg *m, char *err, size_t errlen)
{
	const uint8_t *b = f->body;
	size_t         n = f->body_len;

	memset(m, 0, sizeof(*m));
	m->type = f->type;
	switch (f->type) {
	case CTL_HELLO:
		return ctlmsg_decode_hello(b, n, &m->u.hello, err, errlen);
	case CTL_WELCOME:
		return ctlmsg_decode_welcome(b, n, &m->u.welcome, err, errlen);
	case CTL_KEEPALIVE:
		return ctlmsg_decode_keepalive(b, n, err, errlen);
	case CTL_LINK_STATE:
		return ctlmsg_decode_link_state(
		    b, n, &m->u.link_state, err, errlen);
	case CTL_REKEY:
		return ctlmsg_decode_rekey(b, n, &m->u.rekey, err, errlen);
	case CTL_BYE:
		return ctlmsg_decode_bye(b, n, &m->u.bye, err, errlen);
	case CTL_REASSIGN:
		return ctlmsg_decode_reassign(
		    b, n, &m->u.reassign, err, errlen);
	case CTL_REASSIGN_ACK:
		return ctlmsg_decode_reassign_ack(
		    b, n, &m->u.reassign_ack, err, errlen);
	}
	snprintf(err, errlen, "unknown message type %u", f->type);
	return CTL_ERR_TYPE;
}

void
ctlmsg_msg_free(struct ctl_msg *m)
{
	if (m != NULL && m->type == CTL_REASSIGN)
		ctlmsg_reassign_free(&m->u.reassign);
}

int
ctlmsg_encode(const struct ctl_msg *m, uint8_t **out, size_t *outlen)
{
	switch (m->type) {
	case CTL_HELLO:
		return ctlmsg_encode_hello(&m->u.hello, out, outlen);
	case CTL_WELCOME:
		return ctlmsg_encode_welcome(&m->u.welcome, out, outlen);
	case CTL_KEEPALIVE:
		return ctlmsg_encode_keepalive(out, outlen);
	case CTL_LINK_STATE:
		return ctlmsg_encode_link_state(&m->u.link_state, out, outlen);
	case CTL_REKEY:
		return ctlmsg_encode_rekey(&m->u.rekey, out, outlen);
	case CTL_BYE:
		return ctlmsg_encode_bye(&m->u.bye, out, outlen);
	case CTL_REASSIGN:
		return ctlmsg_encode_reassign(&m->u.reassign, out, outlen);
	case CTL_REASSIGN_ACK:
		return ctlmsg_encode_reassign_ack(
		    &m->u.reassign_ack, out, outlen);
	}
	return -1;
}
