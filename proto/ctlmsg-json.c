#include "autoconf.h"

#include <sys/socket.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctlmsg-int.h"
#include "jsonpos.h"

/*
 * The JSON toolkit of the control-message decoders: one sentence per
 * refusal, quoting the bad value, and every key of every message
 * required (a field with a default would let two versions disagree
 * silently).
 */

/* ------------------------------------------------------------ errors */

/*
 * Writes "PATH.KEY: sentence" (either part may be absent) and returns -1,
 * so that a check can end with `return dec_fail(...)`.
 */
int
dec_fail(struct dec *d, const char *path, const char *key, const char *fmt, ...)
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
const char *
dec_quote(struct quoted *q, const char *s, size_t len)
{
	return jsonpos_quote(q->s, sizeof(q->s), s, len, QUOTE_MAX);
}

/* ------------------------------------------------------------ getters */

/*
 * Each getter returns 0 with the value, or -1 having written why.  Every
 * key of every message is required: a field with a default would let two
 * versions disagree silently.
 */

int
dec_check_keys(
    struct dec *d, json_t *obj, const char *path, const char *const *known)
{
	struct quoted q;
	const char   *key;
	void         *it;

	for (it = json_object_iter(obj); it != NULL;
	     it = json_object_iter_next(obj, it)) {
		key = json_object_iter_key(it);
		if (!jsonpos_key_known(key, known))
			return dec_fail(d, path, NULL, "unknown key %s",
			    dec_quote(&q, key, strlen(key)));
	}
	return 0;
}

json_t *
dec_member(struct dec *d, json_t *obj, const char *path, const char *key)
{
	json_t *v;

	if ((v = json_object_get(obj, key)) == NULL)
		dec_fail(d, path, NULL, "missing key \"%s\"", key);
	return v;
}

/* The value v, named PATH.KEY in a message, as an integer min..max. */
int
dec_uint_in(struct dec *d, json_t *v, const char *path, const char *key,
    uint32_t min, uint32_t max, uint32_t *out)
{
	char why[96];

	if (jsonpos_uint(v, min, max, out, why, sizeof(why)) == -1)
		return dec_fail(d, path, key, "%s", why);
	return 0;
}

int
dec_get_uint(struct dec *d, json_t *obj, const char *path, const char *key,
    uint32_t min, uint32_t max, uint32_t *out)
{
	json_t *v;

	if ((v = dec_member(d, obj, path, key)) == NULL)
		return -1;
	return dec_uint_in(d, v, path, key, min, max, out);
}

int
dec_version(struct dec *d, json_t *obj, uint32_t *out)
{
	if (dec_get_uint(d, obj, NULL, "version", 0, UINT32_MAX, out) == -1)
		return -1;
	if (*out != PROTOCOL_VERSION)
		return dec_fail(d, NULL, "version",
		    "protocol version %u, this end speaks %d", *out,
		    PROTOCOL_VERSION);
	return 0;
}

/* "link" of REASSIGN and REASSIGN_ACK: absent means CTL_LINK_NONE. */
int
dec_get_dead_link(struct dec *d, json_t *obj, uint8_t *out)
{
	uint32_t link;

	if (json_object_get(obj, "link") == NULL) {
		*out = CTL_LINK_NONE;
		return 0;
	}
	if (dec_get_uint(d, obj, NULL, "link", 0, PROTO_MAX_LINKS - 1, &link) ==
	    -1)
		return -1;
	*out = (uint8_t)link;
	return 0;
}

int
dec_get_bool(
    struct dec *d, json_t *obj, const char *path, const char *key, uint8_t *out)
{
	json_t *v;

	if ((v = dec_member(d, obj, path, key)) == NULL)
		return -1;
	if (!json_is_boolean(v))
		return dec_fail(d, path, key, "must be a boolean, got %s",
		    jsonpos_type_name(v));
	*out = json_is_true(v) ? 1 : 0;
	return 0;
}

/* A string of min..size-1 bytes obeying `rule`, copied into dst. */
int
dec_get_name(struct dec *d, json_t *obj, const char *path, const char *key,
    size_t min, char *dst, size_t size, enum jsonpos_name rule)
{
	struct quoted q;
	const char   *s;
	json_t       *v;
	size_t        len;

	if ((v = dec_member(d, obj, path, key)) == NULL)
		return -1;
	if (!json_is_string(v))
		return dec_fail(d, path, key, "must be a string, got %s",
		    jsonpos_type_name(v));
	s = json_string_value(v);
	/* jansson refuses \u0000 unless told otherwise, so len is strlen. */
	len = json_string_length(v);
	if (len < min || len >= size) {
		if (min == 0)
			return dec_fail(d, path, key,
			    "must be at most %zu bytes long, got %zu", size - 1,
			    len);
		return dec_fail(d, path, key,
		    "must be %zu..%zu %s long, got %zu", min, size - 1,
		    rule == JSONPOS_NAME_WORD ? "characters" : "bytes", len);
	}
	if (!jsonpos_name_ok(s, len, rule)) {
		if (rule == JSONPOS_NAME_WORD)
			return dec_fail(d, path, key,
			    "must contain only letters, digits, \"_\", "
			    "\".\" and \"-\"; got %s",
			    dec_quote(&q, s, len));
		return dec_fail(d, path, key,
		    "must not contain control characters; got %s",
		    dec_quote(&q, s, len));
	}
	memcpy(dst, s, len + 1);
	return 0;
}

int
dec_get_array(struct dec *d, json_t *obj, const char *path, const char *key,
    size_t min, size_t max, json_t **out)
{
	json_t *v;
	size_t  n;

	if ((v = dec_member(d, obj, path, key)) == NULL)
		return -1;
	if (!json_is_array(v))
		return dec_fail(d, path, key, "must be an array, got %s",
		    jsonpos_type_name(v));
	n = json_array_size(v);
	if (n < min || n > max)
		return dec_fail(d, path, key,
		    "must have %zu..%zu entries, got %zu", min, max, n);
	*out = v;
	return 0;
}

int
dec_get_object(struct dec *d, json_t *obj, const char *path, const char *key,
    const char *const *known, json_t **out)
{
	json_t *v;

	if ((v = dec_member(d, obj, path, key)) == NULL)
		return -1;
	if (!json_is_object(v))
		return dec_fail(d, path, key, "must be an object, got %s",
		    jsonpos_type_name(v));
	*out = v;
	/* Only the root holds objects, so the key is the whole path. */
	return dec_check_keys(d, v, key, known);
}

/*
 * The body as a JSON object with only `known` keys.  Trailing bytes are
 * refused (json_loadb checks for the end unless told not to), and so are
 * duplicate keys: with two "up" keys, which one would the peer have meant?
 * jansson caps nesting at 2048 levels, so a deep body cannot exhaust the
 * stack.
 */
json_t *
dec_load(
    struct dec *d, const uint8_t *body, size_t len, const char *const *known)
{
	struct jsonpos_syntax serr;
	json_t               *root;

	if (len == 0) {
		dec_fail(d, NULL, NULL, "empty body, expected a JSON object");
		return NULL;
	}
	if (len > CTL_MAX_BODY) {
		dec_fail(
		    d, NULL, NULL, "body larger than %d bytes", CTL_MAX_BODY);
		return NULL;
	}
	if ((root = jsonpos_load((const char *)body, len,
		 JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &serr)) == NULL) {
		dec_fail(d, NULL, NULL, "not JSON at byte %zu: %s",
		    serr.position, serr.msg);
		return NULL;
	}
	if (!json_is_object(root)) {
		dec_fail(d, NULL, NULL, "body must be a JSON object, got %s",
		    jsonpos_type_name(root));
		goto fail;
	}
	if (dec_check_keys(d, root, NULL, known) == -1)
		goto fail;
	return root;
fail:
	json_decref(root);
	return NULL;
}
