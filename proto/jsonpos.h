/*
 * Where the keys and values of a JSON text sit, for error messages.
 *
 * jansson parses the configuration but keeps no source positions, and an
 * error that names links[1].up_mbps without a line makes the user go and
 * count.  So once jansson has accepted a text, jsonpos_build() scans the
 * same bytes once more and records, for every value, the line and column
 * of its key and of the value itself, and its place in the tree.  It is
 * not a second parser: it trusts jansson for the grammar, decodes nothing
 * but object keys (to find them by the names jansson gives), and fails
 * rather than guesses if the text surprises it.
 *
 * Nodes are numbered in document order; the root is node 0.  Lines and
 * columns are 1-based and count Unicode characters, as jansson's own
 * syntax errors do.  Lookups are O(log n) in the size of one object and
 * O(1) in an array, so a configuration with many thousands of routes
 * costs no more to report on than a small one.
 *
 * Nesting deeper than JSONPOS_MAX_DEPTH is refused: no configuration
 * needs more than four levels, and the scanner's stack is fixed.
 *
 * Functions taking a node accept JSONPOS_NONE and then return JSONPOS_NONE
 * (lookups) or position 0:0 and path "?" so that a caller never needs a
 * special case for a value it could not place.
 */
#ifndef WANPAIR_JSONPOS_H
#define WANPAIR_JSONPOS_H

#include <stddef.h>
#include <stdint.h>

#define JSONPOS_MAX_DEPTH 64
#define JSONPOS_NONE      (-1)

struct jsonpos;

struct jsonpos_error {
	unsigned    line;
	unsigned    column;
	const char *msg; /* static */
};

/*
 * Indexes a text jansson has accepted.  Returns 0 and the index in *out
 * (free it with jsonpos_free()), or -1 with *err saying where and why.
 */
int  jsonpos_build(const char *text, size_t len, struct jsonpos **out,
     struct jsonpos_error *err);
void jsonpos_free(struct jsonpos *);

/* The member `key` of an object node, or JSONPOS_NONE. */
int jsonpos_member(const struct jsonpos *, int obj, const char *key);
/* Element i of an array node, or JSONPOS_NONE. */
int jsonpos_element(const struct jsonpos *, int arr, size_t i);

/* Where the node's value starts (an object's or array's opening bracket). */
void jsonpos_value_at(
    const struct jsonpos *, int node, unsigned *line, unsigned *column);
/* Where the node's key starts; for an array element or the root, the
 * value. */
void jsonpos_key_at(
    const struct jsonpos *, int node, unsigned *line, unsigned *column);

/*
 * Writes the node's path, like links[1].up_mbps, "(root)" for the root.
 * Keys that are not plain words are written ["like this"], escaped, and
 * long ones are cut, so a path is always one short printable line.
 * Returns buf; truncates to fit `size`.
 */
char *jsonpos_path(const struct jsonpos *, int node, char *buf, size_t size);

/*
 * Escapes s[0..len) for a one-line message: JSON escapes for '"', '\\' and
 * control characters, \xNN for bytes that are not UTF-8.  At most `max`
 * bytes of s are used, whole characters only; "..." marks a cut.  Returns
 * buf; truncates to fit `size`.
 */
char *jsonpos_escape(
    char *buf, size_t size, const char *s, size_t len, size_t max);

/*
 * Helpers for the messages about JSON values that the config loader and
 * the control-message decoders both write.  jsonpos_quote() puts s (len
 * bytes) in double quotes, escaped as jsonpos_escape() does and cut after
 * max bytes, into buf (room for max * 6 + 8 bytes suffices); it returns
 * buf.  jsonpos_printable() copies src with control characters and
 * non-ASCII bytes as \xNN, so that jansson's own messages, which quote
 * tokens raw, stay one printable line.  jsonpos_type_name() names a
 * value's type as messages do: object, array, string, integer, real,
 * boolean or null.
 */
const char *jsonpos_quote(
    char *buf, size_t size, const char *s, size_t len, size_t max);
void        jsonpos_printable(char *dst, size_t size, const char *src);
const char *jsonpos_type_name(const struct json_t *);

/*
 * The names the strict readers (config, control messages, control socket)
 * accept, checked in one place: jsonpos_name_ok() is 1 if s[0..len) is a
 * name of that kind.  Names end up in logs and one-line answers, so none
 * may hold a control character.
 */
enum jsonpos_name {
	JSONPOS_NAME_WORD,     /* link and profile names: [A-Za-z0-9_.-] */
	JSONPOS_NAME_TEXT,     /* site names, identities, reasons */
	JSONPOS_NAME_IFNAME,   /* what the kernel's dev_valid_name() takes */
	JSONPOS_NAME_PRINTABLE /* ASCII 0x21..0x7e but '"' and '\\' */
};
int jsonpos_name_ok(const char *s, size_t len, enum jsonpos_name rule);
/*
 * An integer min..max: 0 with *out, or -1 with the sentence the readers
 * report ("must be an integer, got string", "must be 1..32, got 0") in
 * why (64 bytes suffice).
 */
int jsonpos_uint(const struct json_t *v, uint32_t min, uint32_t max,
    uint32_t *out, char *why, size_t whylen);
/* 1 if key is one of known[] (NULL-terminated), else 0. */
int jsonpos_key_known(const char *key, const char *const *known);

/*
 * A syntax error from jsonpos_load(): where (line and column from 1, as
 * wanpair.json(5) promises; position in bytes from 0) and a printable
 * one-line message.
 */
struct jsonpos_syntax {
	unsigned line;
	unsigned column;
	size_t   position;
	char     msg[160 * 4]; /* jansson's text, every byte maybe \xNN */
};

/*
 * json_loadb() for every strict reader here (config, control messages,
 * control socket): the same flags, the same refusals, and the error in
 * words a user can act on.  jansson reports a position at column 0 when
 * the error is before a line's first character (an empty text, the end of
 * a line, a byte that is not UTF-8); here it is column 1, and an undecodable
 * byte is placed at itself rather than at the character before it.  A
 * UTF-8 byte order mark, which jansson calls an invalid token, is named,
 * and no jansson flag name appears in a message.  Returns the value (the
 * caller decrefs) or NULL with *err set.
 */
struct json_t *jsonpos_load(
    const char *text, size_t len, size_t flags, struct jsonpos_syntax *err);

#endif
