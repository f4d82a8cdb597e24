#include "autoconf.h"

#include <sys/socket.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "director.h"
#include "hrw.h"

struct dmember {
	uint32_t id;
	uint32_t weight;
	uint64_t seed; /* of the id alone: order-independent */
	int      live;
};

struct director {
	struct wp_hash_key pair_key; /* the cluster's: pairs to directors */
	struct wp_hash_key flow_key; /* another of it: flows to new owners */
	struct hrw         hrw;
	struct dmember     m[DIRECTOR_MAX_MEMBERS];
	size_t             n;
};

/*
 * A member's seed: its id hashed under a fixed key, so that the seeds of
 * ids 1, 2, 3 are not related bit patterns.  The secret is in the key
 * hash h every score mixes with, so the seeds need none.
 */
static uint64_t
member_seed(uint32_t id)
{
	struct wp_hash_key k;
	uint8_t            b[4];

	wp_hash_key_fixed(&k, "wanpair cluster member");
	POKE_U32(b, id);
	return wp_siphash(&k, b, sizeof(b));
}

struct director *
director_new(const struct wp_hash_key *key)
{
	struct director *d;
	uint64_t         h;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->pair_key = *key;
	/* The takeover key: two SipHash outputs of labels under the pair
	 * key, a PRF of it, so that it says nothing of the pair key and
	 * takeovers are independent of directors. */
	h = wp_siphash(key, "takeover lo", 11);
	POKE_U64(d->flow_key.k, h);
	h = wp_siphash(key, "takeover hi", 11);
	POKE_U64(d->flow_key.k + 8, h);
	hrw_init(&d->hrw);
	return d;
}

void
director_free(struct director *d)
{
	if (d == NULL)
		return;
	OPENSSL_cleanse(d, sizeof(*d));
	free(d);
}

int
director_set_members(
    struct director *d, const struct director_member *m, size_t n)
{
	size_t i, j;

	if (n > DIRECTOR_MAX_MEMBERS)
		return -1;
	for (i = 0; i < n; i++) {
		if (m[i].id == 0 || m[i].weight == 0 ||
		    m[i].weight > DIRECTOR_WEIGHT_MAX)
			return -1;
		for (j = 0; j < i; j++)
			if (m[j].id == m[i].id)
				return -1;
	}
	for (i = 0; i < n; i++) {
		d->m[i].id = m[i].id;
		d->m[i].weight = m[i].weight;
		d->m[i].seed = member_seed(m[i].id);
		d->m[i].live = m[i].live != 0;
	}
	d->n = n;
	return 0;
}

int
director_set_live(struct director *d, uint32_t id, int live)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (d->m[i].id == id) {
			d->m[i].live = live != 0;
			return 0;
		}
	return -1;
}

uint64_t
director_pair_hash(const struct director *d, int family, const uint8_t src[16],
    const uint8_t dst[16])
{
	uint8_t b[1 + 16 + 16];
	size_t  alen = family == AF_INET ? 4 : 16;
	int     c;

	/* Both directions give the same bytes: the lower address first.
	 * The family byte keeps 4 bytes of IPv4 from meeting the same
	 * bytes at the start of an IPv6 pair. */
	c = memcmp(src, dst, alen);
	b[0] = family == AF_INET ? 4 : 6;
	memcpy(b + 1, c <= 0 ? src : dst, alen);
	memcpy(b + 1 + alen, c <= 0 ? dst : src, alen);
	return wp_siphash(&d->pair_key, b, 1 + 2 * alen);
}

/* The rendezvous winner for h over the live members but `skip`; 0 if
 * none.  The members' order does not matter: ties go to the larger seed
 * (hrw_beats()), and to the larger id should two seeds ever be equal. */
static uint32_t
rendezvous(const struct director *d, uint64_t h, uint32_t skip)
{
	const struct dmember *b = NULL, *m;
	uint32_t              xb = 0, x;
	size_t                i;

	for (i = 0; i < d->n; i++) {
		m = &d->m[i];
		if (!m->live || m->id == skip)
			continue;
		x = hrw_score(&d->hrw, h, m->seed);
		if (b == NULL ||
		    hrw_beats(x, m->weight, m->seed, xb, b->weight, b->seed) ||
		    ((uint64_t)x * b->weight == (uint64_t)xb * m->weight &&
			m->seed == b->seed && m->id > b->id)) {
			b = m;
			xb = x;
		}
	}
	return b == NULL ? 0 : b->id;
}

uint32_t
director_of(const struct director *d, int family, const uint8_t src[16],
    const uint8_t dst[16])
{
	return rendezvous(d, director_pair_hash(d, family, src, dst), 0);
}

uint32_t
director_takeover(
    const struct director *d, const struct flow_key *key, uint32_t gone)
{
	return rendezvous(d, wp_siphash(&d->flow_key, key, sizeof(*key)), gone);
}
