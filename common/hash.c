#include "autoconf.h"

#include <sys/random.h>
#include <sys/time.h>

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"

/* The odd constants are the golden ratio and two primes of the murmur3 /
 * splitmix64 finalisers; any odd constants with good bit dispersion work. */
#define K0 0x9e3779b97f4a7c15ULL
#define K1 0xbf58476d1ce4e5b9ULL
#define K2 0x94d049bb133111ebULL

uint64_t
wp_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= K1;
	x ^= x >> 27;
	x *= K2;
	x ^= x >> 31;
	return x;
}

static inline uint64_t
load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	/* Hash the bytes, not the host's integer: same value on every host. */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/* 128-bit multiply folded to 64: mixes every input bit into the output. */
static inline uint64_t
mulfold(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

uint64_t
wp_hash64(const void *key, size_t len, uint64_t seed)
{
	const uint8_t *p = key;
	uint64_t       h = seed ^ K0 ^ ((uint64_t)len * K1);
	uint8_t        tail[8];

	while (len >= 16) {
		h = mulfold(load64(p) ^ K1 ^ h, load64(p + 8) ^ K2);
		p += 16;
		len -= 16;
	}
	if (len >= 8) {
		h = mulfold(load64(p) ^ K1 ^ h, K2);
		p += 8;
		len -= 8;
	}
	if (len > 0) {
		memset(tail, 0, sizeof(tail));
		memcpy(tail, p, len);
		h = mulfold(load64(tail) ^ K2 ^ h, K1);
	}
	return wp_mix64(h);
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
