#include "autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "config-int.h"

/* ------------------------------------------------------------ errors */

static void vreport(struct cparse *, unsigned, unsigned, const char *,
    const char *, va_list) __attribute__((format(printf, 5, 0)));

static void
vreport(struct cparse *cp, unsigned line, unsigned col, const char *path,
    const char *fmt, va_list ap)
{
	struct cerror *errs;
	char           msg[1024];
	size_t         cap;
	int            len;

	if (cp->nomem)
		return;
	if (cp->nerrs == cp->errcap) {
		cap = cp->errcap ? cp->errcap * 2 : 16;
		if ((errs = reallocarray(cp->errs, cap, sizeof(*errs))) ==
		    NULL) {
			cp->nomem = 1;
			return;
		}
		cp->errs = errs;
		cp->errcap = cap;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	errs = &cp->errs[cp->nerrs];
	len = snprintf(
	    NULL, 0, "%s:%u:%u: %s: %s", cp->name, line, col, path, msg);
	if (len < 0 || (errs->text = malloc((size_t)len + 1)) == NULL) {
		cp->nomem = 1;
		return;
	}
	snprintf(errs->text, (size_t)len + 1, "%s:%u:%u: %s: %s", cp->name,
	    line, col, path, msg);
	errs->line = line;
	errs->col = col;
	errs->seq = cp->nerrs++;
}

void
cfg_report_at(struct cparse *cp, unsigned line, unsigned col, const char *path,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(cp, line, col, path, fmt, ap);
	va_end(ap);
}

/* An error about a value: points at the value. */
void
cfg_report(struct cparse *cp, int node, const char *fmt, ...)
{
	char     path[512];
	unsigned line, col;
	va_list  ap;

	jsonpos_value_at(cp->pos, node, &line, &col);
	jsonpos_path(cp->pos, node, path, sizeof(path));
	va_start(ap, fmt);
	vreport(cp, line, col, path, fmt, ap);
	va_end(ap);
}

/* An error about a key itself (unknown key): points at the key. */
void
cfg_report_key(struct cparse *cp, int node, const char *fmt, ...)
{
	char     path[512];
	unsigned line, col;
	va_list  ap;

	jsonpos_key_at(cp->pos, node, &line, &col);
	jsonpos_path(cp->pos, node, path, sizeof(path));
	va_start(ap, fmt);
	vreport(cp, line, col, path, fmt, ap);
	va_end(ap);
}

static int
cerror_cmp(const void *a, const void *b)
{
	const struct cerror *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Hands the errors, in file order, to the caller; frees what is left. */
void
cfg_flush_errors(struct cparse *cp, struct config_errors *out)
{
	char **lines;
	size_t i;

	if (cp->nomem) {
		/* A partial list would look complete; say only why. */
		for (i = 0; i < cp->nerrs; i++)
			free(cp->errs[i].text);
		cp->nerrs = 0;
		cp->nomem = 0;
		cfg_report_at(cp, 0, 0, "(memory)", "out of memory");
	}
	if (cp->nerrs > 1)
		qsort(cp->errs, cp->nerrs, sizeof(*cp->errs), cerror_cmp);
	lines = NULL;
	if (out != NULL && cp->nerrs > 0 &&
	    (lines = reallocarray(
		 out->lines, out->n + cp->nerrs, sizeof(*lines))) != NULL) {
		out->lines = lines;
		for (i = 0; i < cp->nerrs; i++)
			out->lines[out->n++] = cp->errs[i].text;
	} else
		for (i = 0; i < cp->nerrs; i++)
			free(cp->errs[i].text);
	free(cp->errs);
	cp->errs = NULL;
	cp->nerrs = cp->errcap = 0;
}

void
config_errors_clear(struct config_errors *errs)
{
	size_t i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->n; i++)
		free(errs->lines[i]);
	free(errs->lines);
	errs->lines = NULL;
	errs->n = 0;
}

/* Quotes a bad value for a message: escaped, cut after QUOTE_MAX bytes. */
const char *
cfg_quote(struct quoted *q, const char *s)
{
	return jsonpos_quote(q->s, sizeof(q->s), s, strlen(s), QUOTE_MAX);
}

/* ------------------------------------------------------------ keys */

static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[33], i, j, diag, up, best;

	if (la >= NELEM(row) || lb >= NELEM(row))
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			best = diag + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The known key a typo most likely meant, or NULL. */
static const char *
suggest(const char *key, const char *const *known)
{
	const char *best = NULL;
	size_t      d, bestd = 3, i;

	for (i = 0; known[i] != NULL; i++) {
		d = edit_distance(key, known[i]);
		/* Two edits turn "max" into almost anything short. */
		if (d < bestd && 2 * d < strlen(known[i])) {
			best = known[i];
			bestd = d;
		}
	}
	return best;
}

void
cfg_check_keys(
    struct cparse *cp, json_t *obj, int objnode, const char *const *known)
{
	const char *key, *hint;
	void       *it;

	for (it = json_object_iter(obj); it != NULL;
	     it = json_object_iter_next(obj, it)) {
		key = json_object_iter_key(it);
		if (jsonpos_key_known(key, known))
			continue;
		if ((hint = suggest(key, known)) != NULL)
			cfg_report_key(cp,
			    jsonpos_member(cp->pos, objnode, key),
			    "unknown key (did you mean \"%s\"?)", hint);
		else
			cfg_report_key(cp,
			    jsonpos_member(cp->pos, objnode, key),
			    "unknown key");
	}
}

void
cfg_missing(struct cparse *cp, int objnode, const char *key)
{
	cfg_report(cp, objnode, "missing key \"%s\"", key);
}

/* The member `key` of obj, or NULL; *node is its position. */
json_t *
cfg_member(
    struct cparse *cp, json_t *obj, int objnode, const char *key, int *node)
{
	json_t *v;

	v = json_object_get(obj, key);
	*node =
	    v != NULL ? jsonpos_member(cp->pos, objnode, key) : JSONPOS_NONE;
	return v;
}

/*
 * The getters return 1 when the key is there and its value is good, 0 when
 * the key is absent (the caller decides whether that is an error), and -1
 * when the value is bad, which they have reported.
 */
int
cfg_get_uint(struct cparse *cp, json_t *obj, int objnode, const char *key,
    uint32_t min, uint32_t max, uint32_t *out)
{
	json_t *v;
	char    why[96];
	int     node;

	if ((v = cfg_member(cp, obj, objnode, key, &node)) == NULL)
		return 0;
	if (jsonpos_uint(v, min, max, out, why, sizeof(why)) == -1) {
		cfg_report(cp, node, "%s", why);
		return -1;
	}
	return 1;
}

int
cfg_get_string(struct cparse *cp, json_t *obj, int objnode, const char *key,
    const char **out, int *node)
{
	json_t *v;

	if ((v = cfg_member(cp, obj, objnode, key, node)) == NULL)
		return 0;
	if (!json_is_string(v)) {
		cfg_report(cp, *node, "must be a string, got %s",
		    jsonpos_type_name(v));
		return -1;
	}
	*out = json_string_value(v);
	return 1;
}

/* An object or array member. */
int
cfg_get_container(struct cparse *cp, json_t *obj, int objnode, const char *key,
    json_type type, json_t **out, int *node)
{
	json_t *v;

	if ((v = cfg_member(cp, obj, objnode, key, node)) == NULL)
		return 0;
	if (json_typeof(v) != type) {
		cfg_report(cp, *node, "must be %s, got %s",
		    type == JSON_OBJECT ? "an object" : "an array",
		    jsonpos_type_name(v));
		return -1;
	}
	*out = v;
	return 1;
}

int
cfg_get_enum(struct cparse *cp, json_t *obj, int objnode, const char *key,
    const char *const *names, size_t nnames, int *out)
{
	struct quoted q;
	const char   *s;
	char          list[256];
	size_t        i, off = 0;
	int           r, node;

	if ((r = cfg_get_string(cp, obj, objnode, key, &s, &node)) != 1)
		return r;
	for (i = 0; i < nnames; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return 1;
		}
	list[0] = '\0';
	for (i = 0; i < nnames && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
		    i > 0 ? ", " : "", names[i]);
	cfg_report(
	    cp, node, "must be one of %s; got %s", list, cfg_quote(&q, s));
	return -1;
}

/* A string of 1..size-1 bytes that obeys `rule`, copied into dst. */
int
cfg_get_name(struct cparse *cp, json_t *obj, int objnode, const char *key,
    char *dst, size_t size, enum jsonpos_name rule)
{
	struct quoted q;
	const char   *s;
	size_t        len;
	int           r, node;

	if ((r = cfg_get_string(cp, obj, objnode, key, &s, &node)) != 1)
		return r;
	len = strlen(s);
	if (len == 0 || len >= size) {
		cfg_report(cp, node, "must be 1..%zu %s long, got %zu",
		    size - 1,
		    rule == JSONPOS_NAME_TEXT ? "bytes" : "characters", len);
		return -1;
	}
	if (!jsonpos_name_ok(s, len, rule)) {
		switch (rule) {
		case JSONPOS_NAME_WORD:
			cfg_report(cp, node,
			    "must contain only letters, digits, "
			    "\"_\", \".\" and \"-\"; got %s",
			    cfg_quote(&q, s));
			break;
		case JSONPOS_NAME_IFNAME:
			cfg_report(cp, node,
			    "must be an interface name (no \"/\", "
			    "\":\" or spaces, not \".\" or \"..\"); got %s",
			    cfg_quote(&q, s));
			break;
		case JSONPOS_NAME_TEXT:
		case JSONPOS_NAME_PRINTABLE: /* not in a configuration */
			cfg_report(cp, node,
			    "must not contain control characters; "
			    "got %s",
			    cfg_quote(&q, s));
			break;
		}
		return -1;
	}
	memcpy(dst, s, len + 1);
	return 1;
}

/* JSON's true or false, as 1 or 0: not 1, 0, "yes" or "no". */
int
cfg_get_bool(
    struct cparse *cp, json_t *obj, int objnode, const char *key, int *out)
{
	json_t *v;
	int     node;

	if ((v = cfg_member(cp, obj, objnode, key, &node)) == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		cfg_report(cp, node, "must be a boolean, got %s",
		    jsonpos_type_name(v));
		return -1;
	}
	*out = json_is_true(v) ? 1 : 0;
	return 1;
}

/* ------------------------------------------------------------ names */

static int
nameref_cmp(const void *a, const void *b)
{
	const struct nameref *x = a, *y = b;
	int                   c;

	if ((c = strcmp(x->name, y->name)) != 0)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

/*
 * strcmp() with ASCII letters folded to lower case, as tls.c compares a
 * certificate's names (RFC 4343); strcasecmp() would follow the locale.
 */
static int
ascii_casecmp(const char *a, const char *b)
{
	unsigned char ca, cb;

	for (;; a++, b++) {
		ca = (unsigned char)*a;
		cb = (unsigned char)*b;
		if (ca >= 'A' && ca <= 'Z')
			ca += 'a' - 'A';
		if (cb >= 'A' && cb <= 'Z')
			cb += 'a' - 'A';
		if (ca != cb || ca == '\0')
			return (int)ca - (int)cb;
	}
}

static int
nameref_casecmp(const void *a, const void *b)
{
	const struct nameref *x = a, *y = b;
	int                   c;

	if ((c = ascii_casecmp(x->name, y->name)) != 0)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

static int
nameref_find_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct nameref *)elem)->name);
}

/* Sorts refs by name, then by index: equal names in the order given. */
void
cfg_sort_names(struct nameref *refs, size_t n, int nocase)
{
	if (n > 1)
		qsort(refs, n, sizeof(*refs),
		    nocase ? nameref_casecmp : nameref_cmp);
}

/* strcmp(), or with `nocase` ascii_casecmp(). */
int
cfg_name_cmp(const char *a, const char *b, int nocase)
{
	return nocase ? ascii_casecmp(a, b) : strcmp(a, b);
}

/*
 * Sorts refs by name and reports every name already used by an earlier
 * entry, at arr[i].key, with where that entry's is: "duplicate link name
 * "WAN1" (also links[0] at 3:14)".  With `nocase` names that differ only
 * in ASCII case are the same (certificate identities: tls.c matches them
 * so).  Sorting keeps this O(n log n) for configs with thousands of
 * entries.
 */
void
cfg_check_duplicates(struct cparse *cp, struct nameref *refs, size_t n,
    int arrnode, const char *arr, const char *key, const char *what, int nocase)
{
	struct quoted q;
	size_t        i, first = 0;
	unsigned      line, col;
	int           node;

	cfg_sort_names(refs, n, nocase);
	for (i = 1; i < n; i++) {
		if (cfg_name_cmp(refs[i].name, refs[first].name, nocase) != 0) {
			first = i;
			continue;
		}
		node = jsonpos_member(cp->pos,
		    jsonpos_element(cp->pos, arrnode, refs[first].i), key);
		jsonpos_value_at(cp->pos, node, &line, &col);
		node = jsonpos_member(
		    cp->pos, jsonpos_element(cp->pos, arrnode, refs[i].i), key);
		cfg_report(cp, node, "duplicate %s %s (also %s[%zu] at %u:%u)",
		    what, cfg_quote(&q, refs[i].name), arr, refs[first].i, line,
		    col);
	}
}

/* Index of the entry named `name`, or -1. */
int
cfg_find_name(const struct nameref *refs, size_t n, const char *name)
{
	const struct nameref *r;

	if (refs == NULL)
		return -1;
	r = bsearch(name, refs, n, sizeof(*refs), nameref_find_cmp);
	return r != NULL ? (int)r->i : -1;
}

/*
 * A JSON text, any root, so that a list or a number is told apart from a
 * syntax error; duplicate keys are refused because the last one would
 * silently win.
 */
int
cfg_load_json(struct cparse *cp, const char *text, size_t len, json_t **root)
{
	struct jsonpos_error  perr;
	struct jsonpos_syntax serr;

	if ((*root = jsonpos_load(text, len,
		 JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &serr)) == NULL) {
		cfg_report_at(
		    cp, serr.line, serr.column, "(syntax)", "%s", serr.msg);
		return -1;
	}
	if (jsonpos_build(text, len, &cp->pos, &perr) == -1) {
		cfg_report_at(
		    cp, perr.line, perr.column, "(syntax)", "%s", perr.msg);
		json_decref(*root);
		*root = NULL;
		return -1;
	}
	return 0;
}

int
cfg_read_file(struct cparse *cp, const char *path, size_t max, int regular,
    char **text, size_t *len)
{
	struct stat st;
	ssize_t     n;
	int         fd, r = -1;

	*text = NULL;
	*len = 0;
	/* O_NONBLOCK: a FIFO put in a file's place must not hang a reload. */
	if ((fd = open(path,
		 O_RDONLY | O_CLOEXEC | (regular ? O_NONBLOCK : 0))) == -1 ||
	    fstat(fd, &st) == -1) {
		cfg_report_at(
		    cp, 0, 0, "(file)", "cannot open: %s", strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		cfg_report_at(
		    cp, 0, 0, "(file)", "cannot read: %s", strerror(EISDIR));
		goto out;
	}
	if (regular && !S_ISREG(st.st_mode)) {
		cfg_report_at(cp, 0, 0, "(file)", "not a regular file");
		goto out;
	}
	/* One byte more than allowed tells "too large" from "just fits". */
	if ((*text = malloc(max + 1)) == NULL) {
		cp->nomem = 1;
		goto out;
	}
	while (*len < max + 1) {
		n = read(fd, *text + *len, max + 1 - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			cfg_report_at(cp, 0, 0, "(file)", "cannot read: %s",
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	if (*len > max) {
		cfg_report_at(cp, 0, 0, "(file)", "larger than %zu bytes", max);
		goto out;
	}
	r = 0;
out:
	if (fd != -1)
		close(fd);
	if (r == -1) {
		free(*text);
		*text = NULL;
	}
	return r;
}
