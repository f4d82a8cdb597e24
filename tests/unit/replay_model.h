/*
 * A reference for the anti-replay window (common/crypto.c), for model
 * tests: the check suite and fuzz_replay drive replay_check() and
 * replay_update() and this side by side and fail on the first answer
 * that differs.
 *
 * The reference is the window's contract written the obvious way: a
 * sorted set of every accepted counter no more than REPLAY_WINDOW below
 * the highest one.  A counter is accepted if nothing was accepted yet, or
 * it is above the highest, or it is at most REPLAY_WINDOW below it and not
 * in the set; UINT64_MAX is never accepted (crypto.c keeps top = highest
 * + 1).  No bitmap, no words, no modular indexing: none of what it checks.
 */
#ifndef WANPAIR_REPLAY_MODEL_H
#define WANPAIR_REPLAY_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "crypto.h"

struct replay_model {
	int      any; /* something accepted */
	uint64_t max; /* highest accepted */
	size_t   n;   /* counters in seen[] */
	/* Ascending, all >= max - REPLAY_WINDOW once pruned; one more slot
	 * for the counter inserted before the prune. */
	uint64_t seen[REPLAY_WINDOW + 2];
};

static inline void
replay_model_init(struct replay_model *m)
{
	m->any = 0;
	m->max = 0;
	m->n = 0;
}

/* Index of the first element >= c. */
static inline size_t
replay_model_find(const struct replay_model *m, uint64_t c)
{
	size_t lo = 0, hi = m->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (m->seen[mid] < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static inline int
replay_model_check(const struct replay_model *m, uint64_t c)
{
	size_t i;

	if (c == UINT64_MAX)
		return -1;
	if (!m->any || c > m->max)
		return 0;
	if (m->max - c > REPLAY_WINDOW)
		return -1;
	i = replay_model_find(m, c);
	return i < m->n && m->seen[i] == c ? -1 : 0;
}

/* Records c, which replay_model_check() accepted. */
static inline void
replay_model_update(struct replay_model *m, uint64_t c)
{
	size_t i, drop;

	i = replay_model_find(m, c);
	memmove(&m->seen[i + 1], &m->seen[i], (m->n - i) * sizeof(m->seen[0]));
	m->seen[i] = c;
	m->n++;
	if (!m->any || c > m->max)
		m->max = c;
	m->any = 1;
	/* Forget what fell out of the window: it is refused as too old. */
	for (drop = 0; drop < m->n && m->max - m->seen[drop] > REPLAY_WINDOW;
	     drop++)
		;
	memmove(
	    &m->seen[0], &m->seen[drop], (m->n - drop) * sizeof(m->seen[0]));
	m->n -= drop;
}

/*
 * One step of a model test: asks both sides about `c`; if both accept and
 * `authentic`, records it on both (the data path records only what
 * opened).  If `update_refused`, also calls replay_update() on a counter
 * both refused, which must leave the window as it was (crypto.c ignores
 * such updates).  Returns 0 if the two agree, -1 if they differ (*real and
 * *ref then hold the answers).
 */
static inline int
replay_model_step(struct replay_window *w, struct replay_model *m, uint64_t c,
    int authentic, int update_refused, int *real, int *ref)
{
	struct replay_window before;

	*real = replay_check(w, c);
	*ref = replay_model_check(m, c);
	if (*real != *ref)
		return -1;
	if (*real == 0 && authentic) {
		replay_update(w, c);
		replay_model_update(m, c);
		/* Recorded: the very same counter is a replay now. */
		*real = replay_check(w, c);
		*ref = replay_model_check(m, c);
		if (*real != -1 || *ref != -1)
			return -1;
	} else if (*real == -1 && update_refused) {
		before = *w;
		replay_update(w, c);
		if (memcmp(&before, w, sizeof(before)) != 0) {
			*ref = 2; /* the window moved */
			return -1;
		}
	}
	return 0;
}

/*
 * Where the next counter comes from, so that sequences explore the edges
 * and not just uniformly random 64-bit values (which all land far ahead):
 * `op` & 3 picks
 *	0: the highest plus a signed 8-bit step times 1, 64 (a word), 2048
 *	   (about the window) or 2^24, by bits 4-5 of `op`: dense runs,
 *	   jumps of whole words across the bitmap's wrap, far jumps;
 *	1: the window's back edge plus a signed 8-bit offset;
 *	2: `arg` as it is (all 64 bits);
 *	3: UINT64_MAX less an 8-bit offset.
 */
static inline uint64_t
replay_model_pick(const struct replay_model *m, uint8_t op, uint64_t arg)
{
	static const uint64_t scale[4] = {1, 64, 2048, 1ULL << 24};
	uint64_t              base = m->any ? m->max : 0;

	switch (op & 3) {
	case 0:
		/* Multiplied as unsigned: a negative step wraps, which C
		 * defines (a shift of a negative value it does not). */
		return base +
		    (uint64_t)(int64_t)(int8_t)arg * scale[(op >> 4) & 3];
	case 1:
		return base - REPLAY_WINDOW + (uint64_t)(int64_t)(int8_t)arg;
	case 2:
		return arg;
	default:
		return UINT64_MAX - (uint8_t)arg;
	}
}

#endif
