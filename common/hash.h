/*
 * 64-bit hashing of short keys.
 *
 * wp_hash64() is deterministic for a given seed on every host and across
 * restarts: the `flow` balancing algorithm relies on that so both ends and
 * a restarted daemon map a flow to the same link.  Tables that a peer can
 * fill use a random seed instead, so nobody can aim collisions at them.
 * It is a fast mixing hash, not a cryptographic one.
 */
#ifndef WANPAIR_HASH_H
#define WANPAIR_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t wp_hash64(const void *, size_t, uint64_t seed);
/* Finaliser: a good 64-bit to 64-bit mix (bijective). */
uint64_t wp_mix64(uint64_t);
/* A random seed from the kernel (getrandom); falls back to time and pid. */
uint64_t wp_random_seed(void);

#endif
