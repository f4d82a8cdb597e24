/*
 * Hashing of short keys.
 *
 * Every table indexed by bytes a peer chooses (flows, fragments,
 * stickiness groups) hashes them with SipHash-2-4 under a 16-byte key
 * drawn from the kernel's RNG for that table alone: SipHash is a PRF, so
 * without the key nobody can aim keys at one bucket, and one table's
 * layout says nothing about another's.  The implementation is libsodium's
 * crypto_shorthash (SipHash-2-4), not ours.  crypto_shorthash is plain
 * portable C with no CPU dispatch and no state, so it needs no
 * sodium_init(); the keys come from getrandom(), not from libsodium.
 *
 * The `flow` balancing algorithm needs the opposite: the same flow must
 * hash the same on both daemons and after a restart, so it uses SipHash
 * under a fixed, published key (wp_hash_key_fixed), then wp_mix64 of that
 * xor each link's seed (balance.c, pick_hash).  That is no table: anyone
 * can compute where a flow goes, and gains nothing the sender of a flow
 * does not already choose.  SipHash rather than a faster mixer because
 * its output is uniform for every input pattern: the mixer this replaced
 * (wp_hash64) let a key whose second 8-byte block equalled one of its
 * constants cancel the state, seed included, so aimed keys collided in
 * every table and hashed alike for every link.
 */
#ifndef WANPAIR_HASH_H
#define WANPAIR_HASH_H

#include <stddef.h>
#include <stdint.h>

#define WP_HASH_KEYBYTES 16

struct wp_hash_key {
	uint8_t k[WP_HASH_KEYBYTES];
};

/* A fresh secret key from getrandom() (blocks only before the kernel's
 * RNG is first seeded, early at boot).  0, or -1 if the kernel gives
 * none: callers must then fail, not hash with a guessable key. */
int wp_hash_key_random(struct wp_hash_key *);
/*
 * The fixed key of deterministic hashing, SipHash-keyed by `label` so
 * separate uses do not correlate.  Changing the label or WP_HASH_KEY_FIXED
 * changes every result: for `flow` balancing that moves hashed flows and
 * breaks agreement with a peer running the old code.
 */
void wp_hash_key_fixed(struct wp_hash_key *, const char *label);
/* SipHash-2-4 of the bytes under the key, read as a little-endian
 * integer: the same value on every host. */
uint64_t wp_siphash(const struct wp_hash_key *, const void *, size_t);
/* Finaliser: a good 64-bit to 64-bit mix (bijective); not keyed, never
 * for peer-chosen table input. */
uint64_t wp_mix64(uint64_t);
/* A random 64-bit value from the kernel (getrandom); falls back to time
 * and pid.  For ids and PRNG seeds, not for hash keys. */
uint64_t wp_random_seed(void);

#endif
