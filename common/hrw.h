/*
 * Weighted rendezvous hashing (HRW), the one implementation: the `flow`
 * balancing algorithm (pick.c) and the cluster's director and takeover
 * choice (director.c) both rank their candidates with it.
 *
 * For a key hashed to h, each candidate with seed s gets
 * u = wp_mix64(h ^ s), read as a fraction in (0, 1), and scores
 * -log2(u) / w; the least score wins.  That is an exponential race in
 * which each candidate wins with probability w / W, and a candidate's
 * score depends on the key and its own seed only: removing a candidate
 * moves only the keys it won, and the order in which candidates are
 * listed changes nothing.
 *
 * -log2(u) is computed in integers (fixed point, a table made by
 * repeated squaring), so every decision is bit-identical on every host,
 * which libm's log() does not promise: two ends of a tunnel, or the
 * members of a cluster, agree without talking.  Changing anything here
 * moves `flow`-balanced flows and breaks agreement with peers running
 * the old code.
 */
#ifndef WANPAIR_HRW_H
#define WANPAIR_HRW_H

#include <stdint.h>

#include "hash.h"

/* Table entries for the fraction of -log2(u). */
#define HRW_LOG_TAB 256
/* Fractional bits of a score: 64 << HRW_LOG_Q fits 32 bits, and so a
 * score times a 32-bit weight fits 64. */
#define HRW_LOG_Q 25

struct hrw {
	/* log2(1 + i/256) in Q25: one table for the process, made once
	 * (every balance has a struct hrw, popd one per site) */
	const uint32_t *log2tab;
};

/* Points r at the table, made at the first call (thread-safe): before
 * any score. */
void hrw_init(struct hrw *);

/*
 * -log2(u) in Q25 for u = wp_mix64(h ^ seed) / 2^64: the leading zeros
 * give the integer part, the table with linear interpolation the
 * fraction (error below 3e-6, far under what a share could show).
 */
static inline uint32_t
hrw_score(const struct hrw *r, uint64_t h, uint64_t seed)
{
	const uint32_t *t = r->log2tab;
	unsigned        lz, i;
	uint64_t        m, frac;
	uint32_t        l;

	h = wp_mix64(h ^ seed) | 1;
	lz = (unsigned)__builtin_clzll(h);
	m = h << lz;
	i = (unsigned)(m >> 55) & (HRW_LOG_TAB - 1);
	frac = (m >> 31) & 0xffffff;
	l = t[i] + (uint32_t)(((uint64_t)(t[i + 1] - t[i]) * frac) >> 24);
	return ((uint32_t)(lz + 1) << HRW_LOG_Q) - l;
}

/*
 * 1 if a candidate of score x, weight w and seed s beats the best so far
 * (xb, wb, sb): x/w < xb/wb, compared without dividing (both products fit
 * 64 bits), and on a tie the larger seed, so that the order in which
 * candidates are tried never matters.
 */
static inline int
hrw_beats(
    uint32_t x, uint32_t w, uint64_t s, uint32_t xb, uint32_t wb, uint64_t sb)
{
	uint64_t l = (uint64_t)x * wb, r = (uint64_t)xb * w;

	return l < r || (l == r && s > sb);
}

#endif
