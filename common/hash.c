#include "autoconf.h"

#include <sys/random.h>
#include <sys/time.h>

#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"

/* "wanpair flowhash" in ASCII: any published constant will do, as long
 * as it never changes (see hash.h). */
static const uint8_t WP_HASH_KEY_FIXED[WP_HASH_KEYBYTES] = {0x77, 0x61, 0x6e,
    0x70, 0x61, 0x69, 0x72, 0x20, 0x66, 0x6c, 0x6f, 0x77, 0x68, 0x61, 0x73,
    0x68};

#if crypto_shorthash_BYTES != 8 || crypto_shorthash_KEYBYTES != WP_HASH_KEYBYTES
#error "crypto_shorthash is expected to be SipHash-2-4 (8 bytes, 16-byte key)"
#endif

uint64_t
wp_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

uint64_t
wp_siphash(const struct wp_hash_key *key, const void *p, size_t len)
{
	uint8_t  out[crypto_shorthash_BYTES];
	uint64_t v = 0;
	int      i;

	(void)crypto_shorthash(out, p, len, key->k);
	/* SipHash's output is defined as little-endian bytes. */
	for (i = 7; i >= 0; i--)
		v = v << 8 | out[i];
	return v;
}

int
wp_hash_key_random(struct wp_hash_key *key)
{
	size_t  got = 0;
	ssize_t n;

	while (got < sizeof(key->k)) {
		n = getrandom(key->k + got, sizeof(key->k) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

void
wp_hash_key_fixed(struct wp_hash_key *key, const char *label)
{
	struct wp_hash_key base;
	uint64_t           lo, hi;
	int                i;

	memcpy(base.k, WP_HASH_KEY_FIXED, sizeof(base.k));
	lo = wp_siphash(&base, label, strlen(label));
	base.k[0] ^= 1; /* a second, independent half */
	hi = wp_siphash(&base, label, strlen(label));
	for (i = 0; i < 8; i++) {
		key->k[i] = (uint8_t)(lo >> (8 * i));
		key->k[8 + i] = (uint8_t)(hi >> (8 * i));
	}
}

uint64_t
wp_random_seed(void)
{
	uint64_t       seed;
	struct timeval tv;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed))
		return seed;
	gettimeofday(&tv, NULL);
	return wp_mix64((uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec) ^
	    (uint64_t)getpid();
}
