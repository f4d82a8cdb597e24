/*
 * Reproducible pseudo-random numbers for check suites (splitmix64): a
 * failing garbage or distribution case must fail the same way on the
 * next run and on every machine.  Not for anything secret.
 */
#ifndef WANPAIR_CHECK_RNG_H
#define WANPAIR_CHECK_RNG_H

#include <stdint.h>

static inline uint64_t
rng_next(uint64_t *s)
{
	uint64_t z;

	z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

#endif
