#include "autoconf.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsonpos.h"

#define STR_(x) #x
#define STR(x)  STR_(x)

struct jpnode {
	int         parent;
	unsigned    index; /* place among the parent's children */
	unsigned    first; /* children: kids[first .. first+nkids) */
	unsigned    nkids;
	const char *key; /* decoded; NULL for array elements */
	size_t      keylen;
	unsigned    kline, kcol;
	unsigned    vline, vcol;
	char        type; /* '{', '[', or 0 for a scalar */
};

struct jsonpos {
	struct jpnode *nodes;
	size_t         n, cap;
	/*
	 * Children of every container, contiguous per parent: in document
	 * order for arrays (element i is kids[first + i]), sorted by key for
	 * objects (bsearch).
	 */
	struct jpnode **kids;
	char           *keys; /* decoded keys, back to back */
	size_t          keyslen;
};

struct scan {
	const unsigned char *p, *end;
	unsigned             line, col; /* of *p */
};

static void append(char *, size_t, size_t *, const char *, ...)
    __attribute__((format(printf, 4, 5)));

static void
adv(struct scan *s)
{
	/* jansson counts columns in characters, so UTF-8 continuation
	 * bytes do not move the column. */
	if (*s->p == '\n') {
		s->line++;
		s->col = 1;
	} else if ((*s->p & 0xc0) != 0x80)
		s->col++;
	s->p++;
}

static int
peek(const struct scan *s)
{
	return s->p < s->end ? *s->p : -1;
}

static void
skip_ws(struct scan *s)
{
	while (s->p < s->end &&
	    (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		adv(s);
}

static int
skip_string(struct scan *s)
{
	adv(s);
	while (s->p < s->end) {
		if (*s->p == '"') {
			adv(s);
			return 0;
		}
		if (*s->p == '\\') {
			adv(s);
			if (s->p == s->end)
				break;
		}
		adv(s);
	}
	return -1;
}

/* Numbers, true, false, null: jansson has checked their spelling. */
static int
skip_scalar(struct scan *s)
{
	const unsigned char *start = s->p;

	while (s->p < s->end &&
	    ((*s->p >= '0' && *s->p <= '9') || (*s->p >= 'a' && *s->p <= 'z') ||
		(*s->p >= 'A' && *s->p <= 'Z') || *s->p == '-' ||
		*s->p == '+' || *s->p == '.'))
		adv(s);
	return s->p > start ? 0 : -1;
}

static int
hex4(const unsigned char *p, unsigned *v)
{
	int i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		*v <<= 4;
		if (p[i] >= '0' && p[i] <= '9')
			*v |= p[i] - '0';
		else if (p[i] >= 'a' && p[i] <= 'f')
			*v |= p[i] - 'a' + 10;
		else if (p[i] >= 'A' && p[i] <= 'F')
			*v |= p[i] - 'A' + 10;
		else
			return -1;
	}
	return 0;
}

static size_t
utf8_put(char *dst, unsigned u)
{
	if (u < 0x80) {
		dst[0] = (char)u;
		return 1;
	}
	if (u < 0x800) {
		dst[0] = (char)(0xc0 | u >> 6);
		dst[1] = (char)(0x80 | (u & 0x3f));
		return 2;
	}
	if (u < 0x10000) {
		dst[0] = (char)(0xe0 | u >> 12);
		dst[1] = (char)(0x80 | (u >> 6 & 0x3f));
		dst[2] = (char)(0x80 | (u & 0x3f));
		return 3;
	}
	dst[0] = (char)(0xf0 | u >> 18);
	dst[1] = (char)(0x80 | (u >> 12 & 0x3f));
	dst[2] = (char)(0x80 | (u >> 6 & 0x3f));
	dst[3] = (char)(0x80 | (u & 0x3f));
	return 4;
}

static void
adv_n(struct scan *s, int n)
{
	while (n-- > 0)
		adv(s);
}

/*
 * Decodes the key string at s->p into dst the way jansson does, so that
 * keys can be found by the names jansson reports.  No escape is shorter
 * than what it decodes to, so dst needs no more room than the text.
 */
static int
decode_key(struct scan *s, char *dst, size_t *len)
{
	unsigned u, lo;
	size_t   n = 0;
	int      c;

	adv(s);
	for (;;) {
		if (s->p == s->end)
			return -1;
		c = *s->p;
		if (c == '"')
			break;
		adv(s);
		if (c != '\\') {
			dst[n++] = (char)c;
			continue;
		}
		if (s->p == s->end)
			return -1;
		c = *s->p;
		adv(s);
		switch (c) {
		case '"':
		case '\\':
		case '/':
			dst[n++] = (char)c;
			break;
		case 'b':
			dst[n++] = '\b';
			break;
		case 'f':
			dst[n++] = '\f';
			break;
		case 'n':
			dst[n++] = '\n';
			break;
		case 'r':
			dst[n++] = '\r';
			break;
		case 't':
			dst[n++] = '\t';
			break;
		case 'u':
			if (s->end - s->p < 4 || hex4(s->p, &u) == -1)
				return -1;
			adv_n(s, 4);
			if (u >= 0xdc00 && u <= 0xdfff)
				return -1;
			if (u >= 0xd800 && u <= 0xdbff) {
				if (s->end - s->p < 6 || s->p[0] != '\\' ||
				    s->p[1] != 'u' ||
				    hex4(s->p + 2, &lo) == -1 || lo < 0xdc00 ||
				    lo > 0xdfff)
					return -1;
				adv_n(s, 6);
				u = 0x10000 + ((u - 0xd800) << 10) +
				    (lo - 0xdc00);
			}
			n += utf8_put(dst + n, u);
			break;
		default:
			return -1;
		}
	}
	adv(s);
	*len = n;
	return 0;
}

/* Reads `"key" :` and leaves s at the value. */
static int
read_key(struct jsonpos *j, struct scan *s, const char **key, size_t *keylen,
    unsigned *line, unsigned *col)
{
	if (peek(s) != '"')
		return -1;
	*line = s->line;
	*col = s->col;
	*key = j->keys + j->keyslen;
	if (decode_key(s, j->keys + j->keyslen, keylen) == -1)
		return -1;
	j->keyslen += *keylen;
	skip_ws(s);
	if (peek(s) != ':')
		return -1;
	adv(s);
	skip_ws(s);
	return 0;
}

static int
add_node(struct jsonpos *j, int parent, const char *key, size_t keylen,
    unsigned kline, unsigned kcol, const struct scan *s)
{
	struct jpnode *nodes, *n;
	size_t         cap;

	if (j->n == j->cap) {
		cap = j->cap ? j->cap * 2 : 64;
		if ((nodes = reallocarray(j->nodes, cap, sizeof(*nodes))) ==
		    NULL)
			return -1;
		j->nodes = nodes;
		j->cap = cap;
	}
	n = &j->nodes[j->n];
	memset(n, 0, sizeof(*n));
	n->parent = parent;
	n->key = key;
	n->keylen = keylen;
	n->vline = s->line;
	n->vcol = s->col;
	n->kline = key != NULL ? kline : s->line;
	n->kcol = key != NULL ? kcol : s->col;
	if (parent != JSONPOS_NONE)
		n->index = j->nodes[parent].nkids++;
	return (int)j->n++;
}

static int
kid_cmp(const void *a, const void *b)
{
	const struct jpnode *x = *(const struct jpnode *const *)a;
	const struct jpnode *y = *(const struct jpnode *const *)b;
	size_t len = x->keylen < y->keylen ? x->keylen : y->keylen;
	int    c;

	if ((c = memcmp(x->key, y->key, len)) != 0)
		return c;
	return x->keylen < y->keylen ? -1 : x->keylen > y->keylen;
}

static int
link_kids(struct jsonpos *j)
{
	struct jpnode *n, *p;
	size_t         i, sum = 0;

	if ((j->kids = calloc(j->n, sizeof(*j->kids))) == NULL)
		return -1;
	for (i = 0; i < j->n; i++) {
		j->nodes[i].first = (unsigned)sum;
		sum += j->nodes[i].nkids;
		j->nodes[i].nkids = 0;
	}
	/* Document order puts every array's elements in order for free. */
	for (i = 1; i < j->n; i++) {
		n = &j->nodes[i];
		p = &j->nodes[n->parent];
		j->kids[p->first + p->nkids++] = n;
	}
	for (i = 0; i < j->n; i++) {
		n = &j->nodes[i];
		if (n->type == '{' && n->nkids > 1)
			qsort(j->kids + n->first, n->nkids, sizeof(*j->kids),
			    kid_cmp);
	}
	return 0;
}

int
jsonpos_build(const char *text, size_t len, struct jsonpos **out,
    struct jsonpos_error *err)
{
	struct jsonpos *j;
	struct scan     s;
	int             stack[JSONPOS_MAX_DEPTH];
	int             depth = 0, id, top, c;
	const char     *key = NULL;
	size_t          keylen = 0;
	unsigned        kline = 0, kcol = 0;

	*out = NULL;
	s.p = (const unsigned char *)text;
	s.end = s.p + len;
	s.line = s.col = 1;
	err->line = err->column = 0;
	err->msg = NULL;
	/* Node numbers and columns are ints and unsigneds. */
	if (len > INT_MAX / 2) {
		err->msg = "text too large to index";
		return -1;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->keys = malloc(len + 1)) == NULL)
		goto fail;

	skip_ws(&s);
	for (;;) {
		/* A value starts at s; `key` is its key inside an object. */
		if ((id = add_node(j,
			 depth > 0 ? stack[depth - 1] : JSONPOS_NONE, key,
			 keylen, kline, kcol, &s)) == -1)
			goto fail;
		c = peek(&s);
		if (c == '{' || c == '[') {
			if (depth == JSONPOS_MAX_DEPTH) {
				err->msg = "nested more than " STR(
				    JSONPOS_MAX_DEPTH) " levels deep";
				goto bad;
			}
			j->nodes[id].type = (char)c;
			stack[depth++] = id;
			adv(&s);
			skip_ws(&s);
			if (peek(&s) != (c == '{' ? '}' : ']')) {
				key = NULL;
				if (c == '{' &&
				    read_key(j, &s, &key, &keylen, &kline,
					&kcol) == -1)
					goto bad;
				continue;
			}
			adv(&s);
			depth--;
		} else if (c == '"') {
			if (skip_string(&s) == -1)
				goto bad;
		} else if (skip_scalar(&s) == -1)
			goto bad;

		/* After a value: close what ends here, find the next value. */
		for (;;) {
			skip_ws(&s);
			if (depth == 0) {
				if (s.p != s.end)
					goto bad;
				goto done;
			}
			top = stack[depth - 1];
			c = peek(&s);
			if (c == ',') {
				adv(&s);
				skip_ws(&s);
				key = NULL;
				if (j->nodes[top].type == '{' &&
				    read_key(j, &s, &key, &keylen, &kline,
					&kcol) == -1)
					goto bad;
				break;
			}
			if (c != (j->nodes[top].type == '{' ? '}' : ']'))
				goto bad;
			adv(&s);
			depth--;
		}
	}
done:
	if (link_kids(j) == -1)
		goto fail;
	*out = j;
	return 0;
bad:
	if (err->msg == NULL)
		err->msg = "unexpected character";
	err->line = s.line;
	err->column = s.col;
fail:
	if (err->msg == NULL)
		err->msg = "out of memory";
	jsonpos_free(j);
	return -1;
}

void
jsonpos_free(struct jsonpos *j)
{
	if (j == NULL)
		return;
	free(j->nodes);
	free(j->kids);
	free(j->keys);
	free(j);
}

static int
valid(const struct jsonpos *j, int node)
{
	return j != NULL && node >= 0 && (size_t)node < j->n;
}

int
jsonpos_member(const struct jsonpos *j, int obj, const char *key)
{
	struct jpnode        want, *wantp = &want, **found;
	const struct jpnode *o;

	if (!valid(j, obj) || j->nodes[obj].type != '{')
		return JSONPOS_NONE;
	o = &j->nodes[obj];
	want.key = key;
	want.keylen = strlen(key);
	found = bsearch(
	    &wantp, j->kids + o->first, o->nkids, sizeof(*j->kids), kid_cmp);
	return found != NULL ? (int)(*found - j->nodes) : JSONPOS_NONE;
}

int
jsonpos_element(const struct jsonpos *j, int arr, size_t i)
{
	const struct jpnode *a;

	if (!valid(j, arr) || j->nodes[arr].type != '[')
		return JSONPOS_NONE;
	a = &j->nodes[arr];
	if (i >= a->nkids)
		return JSONPOS_NONE;
	return (int)(j->kids[a->first + i] - j->nodes);
}

void
jsonpos_value_at(
    const struct jsonpos *j, int node, unsigned *line, unsigned *column)
{
	*line = valid(j, node) ? j->nodes[node].vline : 0;
	*column = valid(j, node) ? j->nodes[node].vcol : 0;
}

void
jsonpos_key_at(
    const struct jsonpos *j, int node, unsigned *line, unsigned *column)
{
	*line = valid(j, node) ? j->nodes[node].kline : 0;
	*column = valid(j, node) ? j->nodes[node].kcol : 0;
}

static void
append(char *buf, size_t size, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int     r;

	if (*off >= size)
		return;
	va_start(ap, fmt);
	r = vsnprintf(buf + *off, size - *off, fmt, ap);
	va_end(ap);
	if (r > 0)
		*off += (size_t)r;
}

static int
plain_word(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 64)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
			s[i] == '-'))
			return 0;
	return 1;
}

char *
jsonpos_path(const struct jsonpos *j, int node, char *buf, size_t size)
{
	int                  chain[JSONPOS_MAX_DEPTH + 1];
	const struct jpnode *n;
	char                 esc[128];
	size_t               depth = 0, off = 0, k;
	int                  i;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	if (!valid(j, node)) {
		append(buf, size, &off, "?");
		return buf;
	}
	if (node == 0) {
		append(buf, size, &off, "(root)");
		return buf;
	}
	for (i = node; i > 0 && depth < sizeof(chain) / sizeof(chain[0]);
	     i = j->nodes[i].parent)
		chain[depth++] = i;
	for (k = depth; k-- > 0;) {
		n = &j->nodes[chain[k]];
		if (n->key == NULL)
			append(buf, size, &off, "[%u]", n->index);
		else if (plain_word(n->key, n->keylen))
			append(buf, size, &off, "%s%.*s",
			    k == depth - 1 ? "" : ".", (int)n->keylen, n->key);
		else
			append(buf, size, &off, "[\"%s\"]",
			    jsonpos_escape(
				esc, sizeof(esc), n->key, n->keylen, 32));
	}
	return buf;
}
