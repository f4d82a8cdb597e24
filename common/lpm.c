#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "lpm.h"

/*
 * The trie (lpm.h says why a trie).  A node is a prefix: its key has the
 * address bits up to len and zeros after.  child[b] leads to the longer
 * prefixes whose bit `len` is b; a node without `set` is only where two
 * of them part (path compression: no node has one child unless it is a
 * prefix of the table).  Keys are two 64-bit words, most significant bit
 * first, so "holds" is two masked compares.
 */

#define NIL UINT32_MAX

struct lpm_node {
	uint64_t key[2];
	uint32_t child[2];
	uint32_t value;
	uint8_t  len;
	uint8_t  set; /* a prefix of the table, not only a branch point */
};

struct lpm {
	struct lpm_node *node;
	uint32_t         nnodes, cap;
	uint32_t         root[2]; /* IPv4, IPv6 */
	size_t           count;
};

/* The root index and address length in bits of a family, or -1. */
static inline int
fam_of(int family, unsigned *bits)
{
	if (family == AF_INET) {
		*bits = 32;
		return 0;
	}
	if (family == AF_INET6) {
		*bits = 128;
		return 1;
	}
	return -1;
}

/* Network-order bytes as numbers, most significant bit first. */
static inline uint64_t
be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline void
load(int fam, const uint8_t *a, uint64_t *k)
{
	uint32_t v4;

	if (fam == 0) {
		memcpy(&v4, a, sizeof(v4));
		k[0] = (uint64_t)ntohl(v4) << 32;
		k[1] = 0;
	} else {
		k[0] = be64(a);
		k[1] = be64(a + 8);
	}
}

/* The first n bits of a word (n 0..64). */
static inline uint64_t
himask(unsigned n)
{
	return n == 0 ? 0 : ~UINT64_C(0) << (64 - n);
}

/* 1 if x's prefix holds a: its first len bits are a's.  Masks made
 * without a branch on the common path (len below 64: every IPv4 prefix,
 * most IPv6 ones). */
static inline int
holds(const struct lpm_node *x, const uint64_t *a)
{
	unsigned n = x->len;
	uint64_t m0, m1;

	if (n < 64)
		return ((a[0] ^ x->key[0]) & ~(~UINT64_C(0) >> n)) == 0;
	m0 = ~UINT64_C(0);
	m1 = n == 64 ? 0 : ~UINT64_C(0) << (128 - n);
	return ((a[0] ^ x->key[0]) & m0) == 0 && ((a[1] ^ x->key[1]) & m1) == 0;
}

/* Bit i (0 the most significant), i < 128. */
static inline unsigned
bit(const uint64_t *k, unsigned i)
{
	return (unsigned)(k[i >> 6] >> (63 - (i & 63))) & 1;
}

/* How many leading bits a and b share, at most max. */
static unsigned
common_len(const uint64_t *a, const uint64_t *b, unsigned max)
{
	uint64_t d;
	unsigned c;

	if ((d = a[0] ^ b[0]) != 0)
		c = (unsigned)__builtin_clzll(d);
	else if ((d = a[1] ^ b[1]) != 0)
		c = 64 + (unsigned)__builtin_clzll(d);
	else
		c = 128;
	return c < max ? c : max;
}

struct lpm *
lpm_new(void)
{
	struct lpm *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->root[0] = l->root[1] = NIL;
	return l;
}

void
lpm_free(struct lpm *l)
{
	if (l == NULL)
		return;
	free(l->node);
	free(l);
}

/* Room for n more nodes, so that the links an insert holds into the
 * array stay valid while it adds them. */
static int
reserve(struct lpm *l, uint32_t n)
{
	struct lpm_node *p;
	uint32_t         cap;

	if (l->cap - l->nnodes >= n)
		return 0;
	if (l->nnodes > NIL / 2 - n)
		return -1;
	cap = l->cap == 0 ? 16 : l->cap * 2;
	if ((p = reallocarray(l->node, cap, sizeof(*p))) == NULL)
		return -1;
	l->node = p;
	l->cap = cap;
	return 0;
}

static uint32_t
node_new(
    struct lpm *l, const uint64_t *k, unsigned len, int set, uint32_t value)
{
	struct lpm_node *x = &l->node[l->nnodes];

	x->key[0] = k[0] & himask(len < 64 ? len : 64);
	x->key[1] = k[1] & himask(len > 64 ? len - 64 : 0);
	x->child[0] = x->child[1] = NIL;
	x->len = (uint8_t)len;
	x->set = (uint8_t)set;
	x->value = set ? value : 0;
	return l->nnodes++;
}

int
lpm_insert(struct lpm *l, int family, const uint8_t *addr, unsigned len,
    uint32_t value)
{
	struct lpm_node *x;
	uint64_t         k[2];
	uint32_t        *link, at, g;
	unsigned         bits, c;
	int              fam;

	if ((fam = fam_of(family, &bits)) == -1 || len > bits ||
	    reserve(l, 2) == -1)
		return -1;
	load(fam, addr, k);
	link = &l->root[fam];
	while ((at = *link) != NIL) {
		x = &l->node[at];
		c = common_len(k, x->key, len < x->len ? len : x->len);
		if (c == x->len) {
			/* x's prefix holds the new one (or is it). */
			if (x->len == len) {
				if (x->set)
					return 1;
				x->set = 1;
				x->value = value;
				l->count++;
				return 0;
			}
			link = &x->child[bit(k, x->len)];
			continue;
		}
		if (c == len) {
			/* The new prefix holds x: it goes above. */
			g = node_new(l, k, len, 1, value);
			l->node[g].child[bit(x->key, len)] = at;
		} else {
			/* They part at bit c: a branch point above both. */
			g = node_new(l, k, c, 0, 0);
			l->node[g].child[bit(x->key, c)] = at;
			l->node[g].child[bit(k, c)] =
			    node_new(l, k, len, 1, value);
		}
		*link = g;
		l->count++;
		return 0;
	}
	*link = node_new(l, k, len, 1, value);
	l->count++;
	return 0;
}

int
lpm_find(const struct lpm *l, int family, const uint8_t *addr, unsigned len,
    uint32_t *value)
{
	const struct lpm_node *x;
	uint64_t               a[2];
	uint32_t               at;
	unsigned               bits;
	int                    fam;

	if ((fam = fam_of(family, &bits)) == -1 || len > bits)
		return 0;
	load(fam, addr, a);
	for (at = l->root[fam]; at != NIL && l->node[at].len <= len;) {
		x = &l->node[at];
		if (!holds(x, a))
			return 0;
		if (x->len == len) {
			if (x->set)
				*value = x->value;
			return x->set;
		}
		at = x->child[bit(a, x->len)];
	}
	return 0;
}

/*
 * Every step goes to a longer prefix and stops at the address length:
 * at most bits + 1 nodes whatever the table holds.
 */
unsigned
lpm_matches(const struct lpm *l, int family, const uint8_t *addr,
    uint32_t out[LPM_MATCHES_MAX], uint8_t len[LPM_MATCHES_MAX])
{
	const struct lpm_node *x;
	uint64_t               a[2];
	uint32_t               at;
	unsigned               bits, n = 0;
	int                    fam;

	if ((fam = fam_of(family, &bits)) == -1)
		return 0;
	load(fam, addr, a);
	for (at = l->root[fam]; at != NIL; at = x->child[bit(a, x->len)]) {
		x = &l->node[at];
		if (!holds(x, a))
			break;
		if (x->set) {
			if (len != NULL)
				len[n] = x->len;
			out[n++] = x->value;
		}
		if (x->len == bits)
			break;
	}
	return n;
}

/* The last match is the longest. */
int
lpm_lookup(
    const struct lpm *l, int family, const uint8_t *addr, uint32_t *value)
{
	uint32_t m[LPM_MATCHES_MAX];
	unsigned n;

	if ((n = lpm_matches(l, family, addr, m, NULL)) == 0)
		return 0;
	*value = m[n - 1];
	return 1;
}

size_t
lpm_count(const struct lpm *l)
{
	return l->count;
}

size_t
lpm_memory(const struct lpm *l)
{
	return sizeof(*l) + (size_t)l->cap * sizeof(*l->node);
}
