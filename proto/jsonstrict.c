#include "autoconf.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "jsonpos.h"

/*
 * The strict JSON helpers the config loader, the control-message decoders
 * and the control socket share (jsonpos.h): one loader, escaping and
 * quoting for messages, name rules, known keys, integer ranges.  The
 * position index is jsonpos.c.
 */

/* Length of the valid UTF-8 character at s, 0 if it is not one. */
static size_t
utf8_len(const unsigned char *s, size_t len)
{
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (n > len)
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* Overlong forms, surrogates, beyond U+10FFFF. */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return n;
}

char *
jsonpos_escape(char *buf, size_t size, const char *str, size_t len, size_t max)
{
	const unsigned char *s = (const unsigned char *)str;
	char                 piece[8];
	size_t               i = 0, off = 0, n, plen;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	while (i < len) {
		n = utf8_len(s + i, len - i);
		if (i + (n ? n : 1) > max) {
			if (off + 3 < size) {
				memcpy(buf + off, "...", 4);
				off += 3;
			}
			break;
		}
		if (n == 0)
			snprintf(piece, sizeof(piece), "\\x%02x", s[i]);
		else if (s[i] == '"' || s[i] == '\\')
			snprintf(piece, sizeof(piece), "\\%c", s[i]);
		else if (s[i] == '\n')
			snprintf(piece, sizeof(piece), "\\n");
		else if (s[i] == '\r')
			snprintf(piece, sizeof(piece), "\\r");
		else if (s[i] == '\t')
			snprintf(piece, sizeof(piece), "\\t");
		else if (s[i] < 0x20 || s[i] == 0x7f)
			snprintf(piece, sizeof(piece), "\\u%04x", s[i]);
		else {
			memcpy(piece, s + i, n);
			piece[n] = '\0';
		}
		plen = strlen(piece);
		/* Never cut an escape or a character in half. */
		if (off + plen >= size)
			break;
		memcpy(buf + off, piece, plen + 1);
		off += plen;
		i += n ? n : 1;
	}
	return buf;
}

const char *
jsonpos_quote(char *buf, size_t size, const char *s, size_t len, size_t max)
{
	size_t n;

	buf[0] = '"';
	jsonpos_escape(buf + 1, size - 2, s, len, max);
	n = strlen(buf);
	buf[n] = '"';
	buf[n + 1] = '\0';
	return buf;
}

void
jsonpos_printable(char *dst, size_t size, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t               off = 0;

	for (; *s != '\0' && off + 5 < size; s++) {
		if (*s < ' ' || *s >= 0x7f)
			off += (size_t)snprintf(
			    dst + off, size - off, "\\x%02x", *s);
		else
			dst[off++] = (char)*s;
	}
	dst[off] = '\0';
}

const char *
jsonpos_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "real";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	default:
		return "null";
	}
}

json_t *
jsonpos_load(
    const char *text, size_t len, size_t flags, struct jsonpos_syntax *err)
{
	/* What jansson adds to the NUL refusal: a flag of its API. */
	static const char nul_flag[] = " without JSON_ALLOW_NUL";
	json_error_t      jerr;
	json_t           *root;
	char             *p;

	memset(err, 0, sizeof(*err));
	/* RFC 8259 section 8.1: a JSON text carries no byte order mark. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		err->line = err->column = 1;
		snprintf(err->msg, sizeof(err->msg),
		    "a UTF-8 byte order mark (EF BB BF) at the start, which "
		    "JSON does not allow (RFC 8259 section 8.1)");
		return NULL;
	}
	if ((root = json_loadb(text, len, flags, &jerr)) != NULL)
		return root;
	if ((p = strstr(jerr.text, nul_flag)) != NULL)
		memmove(p, p + sizeof(nul_flag) - 1,
		    strlen(p + sizeof(nul_flag) - 1) + 1);
	jsonpos_printable(err->msg, sizeof(err->msg), jerr.text);
	err->line = jerr.line > 0 ? (unsigned)jerr.line : 1;
	err->column = jerr.column > 0 ? (unsigned)jerr.column : 0;
	/* jansson places a bad byte at the last character it decoded. */
	if (json_error_code(&jerr) == json_error_invalid_utf8)
		err->column++;
	if (err->column == 0)
		err->column = 1;
	err->position = jerr.position > 0 ? (size_t)jerr.position : 0;
	return NULL;
}

int
jsonpos_name_ok(const char *s, size_t len, enum jsonpos_name rule)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t               i;

	/* "." and ".." would be directories in /sys/class/net. */
	if (rule == JSONPOS_NAME_IFNAME &&
	    ((len == 1 && p[0] == '.') ||
		(len == 2 && p[0] == '.' && p[1] == '.')))
		return 0;
	for (i = 0; i < len; i++) {
		if (p[i] < ' ' || p[i] == 0x7f)
			return 0;
		switch (rule) {
		case JSONPOS_NAME_WORD:
			if (!((p[i] >= 'a' && p[i] <= 'z') ||
				(p[i] >= 'A' && p[i] <= 'Z') ||
				(p[i] >= '0' && p[i] <= '9') || p[i] == '_' ||
				p[i] == '.' || p[i] == '-'))
				return 0;
			break;
		case JSONPOS_NAME_IFNAME:
			if (p[i] == '/' || p[i] == ':' || p[i] == ' ')
				return 0;
			break;
		case JSONPOS_NAME_PRINTABLE:
			if (p[i] <= ' ' || p[i] > 0x7e || p[i] == '"' ||
			    p[i] == '\\')
				return 0;
			break;
		case JSONPOS_NAME_TEXT:
			break;
		}
	}
	return 1;
}

int
jsonpos_key_known(const char *key, const char *const *known)
{
	size_t i;

	for (i = 0; known[i] != NULL; i++)
		if (strcmp(key, known[i]) == 0)
			return 1;
	return 0;
}

int
jsonpos_uint(const json_t *v, uint32_t min, uint32_t max, uint32_t *out,
    char *why, size_t whylen)
{
	json_int_t i;

	if (!json_is_integer(v)) {
		snprintf(why, whylen, "must be an integer, got %s",
		    jsonpos_type_name(v));
		return -1;
	}
	i = json_integer_value(v);
	if (i < (json_int_t)min || i > (json_int_t)max) {
		snprintf(why, whylen,
		    "must be %" PRIu32 "..%" PRIu32 ", got %lld", min, max,
		    (long long)i);
		return -1;
	}
	*out = (uint32_t)i;
	return 0;
}
