/*
 * Longest-prefix match over IPv4 and IPv6 prefixes, each mapped to a
 * small value: popd's sites by LAN prefix, a balance's routes by network.
 *
 * A path-compressed binary radix trie, one root per family, its nodes in
 * one array (indices, not pointers).  Chosen over DIR-24-8 for IPv4
 * because a balance has one of these and popd has a balance per session:
 * DIR-24-8's 32 MiB first level per table, times thousands of sessions,
 * is out of the question, while the trie costs two nodes (64 bytes) per
 * prefix at most and nothing per unused address space.  A lookup
 * visits only nodes whose prefix holds the address, each longer than the
 * one before: at most 33 (IPv4) or 129 (IPv6) steps, whatever the
 * number of prefixes.
 *
 * Built on the control side (lpm_insert() allocates); read on the packet
 * path: lpm_lookup() and lpm_matches() allocate nothing, log nothing and
 * write nothing but their out-parameters, so a table may be read while
 * nobody inserts.  A table is never changed in place under readers:
 * callers build a new one and swap the pointer (popd's reload).
 *
 * Addresses are raw network-order bytes of their family (4 or 16), as
 * struct wp_addr holds them; an IPv4 prefix never holds an IPv6 address,
 * whatever its bytes.
 */
#ifndef WANPAIR_LPM_H
#define WANPAIR_LPM_H

#include <stddef.h>
#include <stdint.h>

/* Prefixes that can hold one address: lengths 0..128. */
#define LPM_MATCHES_MAX 129

struct lpm;

/* An empty table, or NULL if out of memory.  lpm_free(NULL) is a no-op. */
struct lpm *lpm_new(void);
void        lpm_free(struct lpm *);

/*
 * Adds family's prefix addr/len (bits past len are ignored) with `value`.
 * Returns 0 if added, 1 if that prefix is already in the table (its first
 * value stays: callers insert in the order that wins ties, e.g. sites in
 * configuration order), or -1 if the family or length is invalid or
 * memory ran out (the table is unchanged and still usable).
 */
int lpm_insert(struct lpm *, int family, const uint8_t *addr, unsigned len,
    uint32_t value);

/* The value of exactly that prefix: 1 with *value set, else 0. */
int lpm_find(const struct lpm *, int family, const uint8_t *addr, unsigned len,
    uint32_t *value);

/* The value of the longest prefix that holds addr: 1 with *value set,
 * else 0 (no such prefix, or not AF_INET/AF_INET6). */
int lpm_lookup(
    const struct lpm *, int family, const uint8_t *addr, uint32_t *value);

/*
 * Every prefix that holds addr, as the trie meets them: least specific
 * first, so out[n - 1] is the longest match and walking out[] backwards
 * visits them from most to least specific.  Their values into out[] (and
 * their lengths into len[], unless NULL); returns n, at most
 * LPM_MATCHES_MAX.  For callers that take the most specific match that
 * passes a test of their own (rtable.c: a route with a live link).
 */
unsigned lpm_matches(const struct lpm *, int family, const uint8_t *addr,
    uint32_t out[LPM_MATCHES_MAX], uint8_t len[LPM_MATCHES_MAX]);

/* Prefixes in the table, and the bytes it holds (table and nodes). */
size_t lpm_count(const struct lpm *);
size_t lpm_memory(const struct lpm *);

#endif
