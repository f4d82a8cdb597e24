/*
 * The control socket's request and reply lines; see ctlsock.h.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlsock.h"
#include "jsonpos.h"

#define QUOTE_MAX 48 /* bytes of a bad value quoted in a message */

static const char *const cmd_names[CTLSOCK_NCMD] = {
    [CTLSOCK_STATUS] = "status",
    [CTLSOCK_LINKS] = "links",
    [CTLSOCK_FLOWS] = "flows",
    [CTLSOCK_SITES] = "sites",
    [CTLSOCK_COUNTERS] = "counters",
    [CTLSOCK_RELOAD] = "reload",
    [CTLSOCK_LINK] = "link",
    [CTLSOCK_CLUSTER] = "cluster",
};

/* Which keys each command takes besides "command". */
#define K_LINK  0x01
#define K_SITE  0x02
#define K_LIMIT 0x04
#define K_STATE 0x08

static const unsigned cmd_keys[CTLSOCK_NCMD] = {
    [CTLSOCK_LINKS] = K_SITE,
    [CTLSOCK_FLOWS] = K_LINK | K_SITE | K_LIMIT,
    [CTLSOCK_SITES] = K_LIMIT,
    [CTLSOCK_LINK] = K_LINK | K_STATE,
};

static const struct {
	const char *name;
	unsigned    bit;
} keys[] = {
    {"link", K_LINK},
    {"site", K_SITE},
    {"limit", K_LIMIT},
    {"state", K_STATE},
};

unsigned
ctlsock_limit_max(enum ctlsock_cmd cmd)
{
	return cmd == CTLSOCK_SITES ? CTLSOCK_SITES_MAX : CTLSOCK_FLOWS_MAX;
}

const char *
ctlsock_cmd_name(enum ctlsock_cmd cmd)
{
	if ((unsigned)cmd >= CTLSOCK_NCMD)
		return NULL;
	return cmd_names[cmd];
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* A string member into dst (size bytes with the NUL), not empty. */
static int
get_name(json_t *v, const char *key, char *dst, size_t size, char *err,
    size_t errlen)
{
	char        q[QUOTE_MAX * 6 + 8];
	const char *s;
	size_t      len;

	if (!json_is_string(v))
		return fail(err, errlen, "%s: must be a string, got %s", key,
		    jsonpos_type_name(v));
	s = json_string_value(v);
	len = json_string_length(v);
	if (len == 0 || len >= size || memchr(s, '\0', len) != NULL)
		return fail(err, errlen,
		    "%s: must be 1 to %zu characters, got %s", key, size - 1,
		    jsonpos_quote(q, sizeof(q), s, len, QUOTE_MAX));
	/* Names go back into one-line answers: printable ASCII only, as
	 * the config's names are in practice. */
	if (!jsonpos_name_ok(s, len, JSONPOS_NAME_PRINTABLE))
		return fail(err, errlen,
		    "%s: printable ASCII without quotes or "
		    "backslashes, got %s",
		    key, jsonpos_quote(q, sizeof(q), s, len, QUOTE_MAX));
	memcpy(dst, s, len + 1);
	return 0;
}

int
ctlsock_req_parse(const char *buf, size_t len, struct ctlsock_req *req,
    char *err, size_t errlen)
{
	char                  q[QUOTE_MAX * 6 + 8];
	struct jsonpos_syntax serr;
	json_t               *root, *v;
	const char           *key, *s;
	unsigned              have = 0;
	size_t                i;
	int                   c;
	void                 *it;

	memset(req, 0, sizeof(*req));
	req->limit = CTLSOCK_FLOWS_DEF;
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len == 0)
		return fail(err, errlen,
		    "empty request, expected a JSON "
		    "object");
	if (len > CTLSOCK_MAX_REQUEST)
		return fail(err, errlen, "request longer than %d bytes",
		    CTLSOCK_MAX_REQUEST);
	if (memchr(buf, '\n', len) != NULL)
		return fail(err, errlen, "one request per line");
	if ((root = jsonpos_load(buf, len,
		 JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &serr)) == NULL)
		return fail(err, errlen, "not JSON at byte %zu: %s",
		    serr.position, serr.msg);
	if (!json_is_object(root)) {
		fail(err, errlen, "request must be a JSON object, got %s",
		    jsonpos_type_name(root));
		goto fail;
	}
	if ((v = json_object_get(root, "command")) == NULL) {
		fail(err, errlen, "missing key \"command\"");
		goto fail;
	}
	if (!json_is_string(v)) {
		fail(err, errlen, "command: must be a string, got %s",
		    jsonpos_type_name(v));
		goto fail;
	}
	s = json_string_value(v);
	for (c = 0; c < CTLSOCK_NCMD; c++)
		if (strcmp(s, cmd_names[c]) == 0 &&
		    strlen(cmd_names[c]) == json_string_length(v))
			break;
	if (c == CTLSOCK_NCMD) {
		fail(err, errlen, "unknown command %s",
		    jsonpos_quote(
			q, sizeof(q), s, json_string_length(v), QUOTE_MAX));
		goto fail;
	}
	req->cmd = (enum ctlsock_cmd)c;

	for (it = json_object_iter(root); it != NULL;
	     it = json_object_iter_next(root, it)) {
		key = json_object_iter_key(it);
		v = json_object_iter_value(it);
		if (strcmp(key, "command") == 0)
			continue;
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcmp(key, keys[i].name) == 0)
				break;
		if (i == sizeof(keys) / sizeof(keys[0]) ||
		    !(cmd_keys[c] & keys[i].bit)) {
			fail(err, errlen, "%s: unknown key %s", cmd_names[c],
			    jsonpos_quote(
				q, sizeof(q), key, strlen(key), QUOTE_MAX));
			goto fail;
		}
		have |= keys[i].bit;
		switch (keys[i].bit) {
		case K_LINK:
			if (get_name(v, key, req->link, sizeof(req->link), err,
				errlen) == -1)
				goto fail;
			break;
		case K_SITE:
			if (get_name(v, key, req->site, sizeof(req->site), err,
				errlen) == -1)
				goto fail;
			break;
		case K_LIMIT:
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) >
				ctlsock_limit_max(req->cmd)) {
				fail(err, errlen,
				    "limit: must be an integer 1..%u",
				    ctlsock_limit_max(req->cmd));
				goto fail;
			}
			req->limit = (uint32_t)json_integer_value(v);
			break;
		case K_STATE:
			s = json_is_string(v) ? json_string_value(v) : "";
			if (strcmp(s, "up") == 0)
				req->up = 1;
			else if (strcmp(s, "down") == 0)
				req->up = 0;
			else {
				fail(err, errlen,
				    "state: must be \"up\" or \"down\"");
				goto fail;
			}
			break;
		}
	}
	if (req->cmd == CTLSOCK_SITES && !(have & K_LIMIT))
		req->limit = 0; /* every site */
	if (req->cmd == CTLSOCK_LINK &&
	    (have & (K_LINK | K_STATE)) != (K_LINK | K_STATE)) {
		fail(err, errlen, "link: needs \"link\" and \"state\"");
		goto fail;
	}
	json_decref(root);
	return 0;
fail:
	json_decref(root);
	return -1;
}

/* A JSON text as one line ending in '\n'; frees nothing. */
static char *
line(const json_t *obj)
{
	char  *s, *out;
	size_t n;

	if ((s = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII)) == NULL)
		return NULL;
	n = strlen(s);
	if ((out = realloc(s, n + 2)) == NULL) {
		free(s);
		return NULL;
	}
	out[n] = '\n';
	out[n + 1] = '\0';
	return out;
}

char *
ctlsock_req_encode(const struct ctlsock_req *req)
{
	json_t *o;
	char   *s = NULL;

	if (ctlsock_cmd_name(req->cmd) == NULL)
		return NULL;
	if ((o = json_object()) == NULL)
		return NULL;
	if (json_object_set_new(
		o, "command", json_string(cmd_names[req->cmd])) == -1)
		goto out;
	if ((cmd_keys[req->cmd] & K_LINK) && req->link[0] != '\0' &&
	    json_object_set_new(o, "link", json_string(req->link)) == -1)
		goto out;
	if ((cmd_keys[req->cmd] & K_SITE) && req->site[0] != '\0' &&
	    json_object_set_new(o, "site", json_string(req->site)) == -1)
		goto out;
	if ((cmd_keys[req->cmd] & K_LIMIT) &&
	    (req->limit != 0 || req->cmd == CTLSOCK_FLOWS) &&
	    json_object_set_new(o, "limit", json_integer(req->limit)) == -1)
		goto out;
	if ((cmd_keys[req->cmd] & K_STATE) &&
	    json_object_set_new(
		o, "state", json_string(req->up ? "up" : "down")) == -1)
		goto out;
	s = line(o);
out:
	json_decref(o);
	return s;
}

json_t *
ctlsock_ok(json_t *result)
{
	if (result == NULL)
		return NULL;
	return json_pack("{s:b,s:o}", "ok", 1, "result", result);
}

static void printable_lines(char *, size_t, const char *);

json_t *
ctlsock_error(const char *fmt, ...)
{
	char    buf[4096], safe[sizeof(buf)];
	json_t *r;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if ((r = json_pack("{s:b,s:s}", "ok", 0, "error", buf)) != NULL)
		return r;
	/* Not UTF-8 (a quoted value, or a cut in the middle of a
	 * character): say it with the odd bytes as \xNN instead. */
	printable_lines(safe, sizeof(safe), buf);
	return json_pack("{s:b,s:s}", "ok", 0, "error", safe);
}

char *
ctlsock_reply_encode(const json_t *reply)
{
	return line(reply);
}

#define DUMP_FLAGS (JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY)

static int
put(const char *s, json_dump_callback_t cb, void *data)
{
	return cb(s, strlen(s), data);
}

/* A member's name and colon, encoded as json_dumps() does. */
static int
name(const char *key, json_dump_callback_t cb, void *data)
{
	json_t *k;
	int     rc;

	if ((k = json_string(key)) == NULL)
		return -1;
	rc = json_dump_callback(k, cb, data, DUMP_FLAGS);
	json_decref(k);
	return rc == -1 ? -1 : put(":", cb, data);
}

int
ctlsock_stream_head(
    const json_t *head, const char *key, json_dump_callback_t cb, void *data)
{
	const char *k;
	json_t     *v;

	if (!json_is_object(head) ||
	    put("{\"ok\":true,\"result\":{", cb, data) == -1)
		return -1;
	json_object_foreach((json_t *)head, k, v)
	{
		if (name(k, cb, data) == -1 ||
		    json_dump_callback(v, cb, data, DUMP_FLAGS) == -1 ||
		    put(",", cb, data) == -1)
			return -1;
	}
	if (name(key, cb, data) == -1)
		return -1;
	return put("[", cb, data);
}

int
ctlsock_stream_row(
    const json_t *row, int first, json_dump_callback_t cb, void *data)
{
	if (!json_is_object(row) || (!first && put(",", cb, data) == -1))
		return -1;
	return json_dump_callback(row, cb, data, DUMP_FLAGS);
}

int
ctlsock_stream_tail(const json_t *tail, json_dump_callback_t cb, void *data)
{
	const char *k;
	json_t     *v;

	if (put("]", cb, data) == -1)
		return -1;
	if (tail != NULL) {
		if (!json_is_object(tail))
			return -1;
		json_object_foreach((json_t *)tail, k, v)
		{
			if (put(",", cb, data) == -1 ||
			    name(k, cb, data) == -1 ||
			    json_dump_callback(v, cb, data, DUMP_FLAGS) == -1)
				return -1;
		}
	}
	return put("}}\n", cb, data);
}

/*
 * A refusal may be several lines (reload: one per config error).  Each
 * line is made printable on its own so the line breaks survive and
 * nothing else reaches the terminal raw.
 */
static void
printable_lines(char *dst, size_t size, const char *src)
{
	char        one[1024], part[sizeof(one)];
	const char *nl;
	size_t      n, off = 0;

	dst[0] = '\0';
	while (off + 1 < size) {
		nl = strchr(src, '\n');
		n = nl != NULL ? (size_t)(nl - src) : strlen(src);
		if (n >= sizeof(part))
			n = sizeof(part) - 1;
		memcpy(part, src, n);
		part[n] = '\0';
		jsonpos_printable(one, sizeof(one), part);
		off += (size_t)snprintf(
		    dst + off, size - off, "%s%s", off > 0 ? "\n" : "", one);
		if (nl == NULL || off >= size)
			break;
		src = nl + 1;
	}
}

int
ctlsock_reply_parse(
    const char *buf, size_t len, json_t **result, char *err, size_t errlen)
{
	struct jsonpos_syntax serr;
	json_t               *root, *ok, *v;
	int                   rc = -1;

	*result = NULL;
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len == 0)
		return fail(err, errlen,
		    "the daemon closed the connection "
		    "without an answer");
	if (len > CTLSOCK_MAX_REPLY)
		return fail(err, errlen, "reply longer than %u bytes",
		    CTLSOCK_MAX_REPLY);
	if ((root = jsonpos_load(buf, len, JSON_REJECT_DUPLICATES, &serr)) ==
	    NULL)
		return fail(err, errlen, "reply is not JSON at byte %zu: %s",
		    serr.position, serr.msg);
	ok = json_object_get(root, "ok");
	if (json_is_true(ok)) {
		v = json_object_get(root, "result");
		if (!json_is_object(v)) {
			fail(err, errlen, "reply has no result object");
			goto out;
		}
		*result = json_incref(v);
		rc = 0;
	} else if (json_is_false(ok)) {
		v = json_object_get(root, "error");
		printable_lines(err, errlen,
		    json_is_string(v) ? json_string_value(v)
				      : "refused without a reason");
		rc = 1;
	} else
		fail(err, errlen, "reply has no \"ok\"");
out:
	json_decref(root);
	return rc;
}
