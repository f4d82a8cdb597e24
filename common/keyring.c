#include "autoconf.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "dgram.h"
#include "keyring.h"
#include "proto.h"
#include "wire.h"

struct keyring {
	uint32_t          epoch;    /* of cur */
	struct aead      *cur;      /* epoch */
	struct aead      *next;     /* epoch + 1, NULL if not derived yet */
	uint64_t          sealed;   /* packets sealed under cur */
	uint64_t          attempts; /* keyring_seal() calls under cur */
	uint64_t          retry_at; /* attempts at the next KEYRING_WANTS */
	uint64_t          limit, hard;
	keyring_derive_fn derive;
	void             *arg;
	uint8_t           worker; /* the header's: whose keys these are */
	int               dirs;   /* AEAD_SEAL, AEAD_OPEN: its keys' use */
	/* next counter of each wire link id under cur: the nonce's half
	 * that changes; zeroed only with a new key.  A keyring that only
	 * opens has none (2 KiB a keyring, a PoP holds two per site). */
	uint64_t counter[];
};

#define COUNTERS_SIZE(dirs)                                                    \
	((dirs)&AEAD_SEAL ? KEYRING_LINK_IDS * sizeof(uint64_t) : 0)

static struct aead *
derive(struct keyring *k, uint32_t epoch)
{
	uint8_t      key[AEAD_KEY_LEN];
	struct aead *a = NULL;

	if (k->derive(k->arg, epoch, key) == 0)
		a = aead_new_for(key, k->dirs);
	OPENSSL_cleanse(key, sizeof(key));
	return a;
}

struct keyring *
keyring_new(const uint8_t key0[AEAD_KEY_LEN], uint8_t worker,
    keyring_derive_fn fn, void *arg, uint64_t limit, uint64_t hard)
{
	return keyring_new_for(
	    key0, worker, fn, arg, limit, hard, AEAD_SEAL | AEAD_OPEN);
}

struct keyring *
keyring_new_for(const uint8_t key0[AEAD_KEY_LEN], uint8_t worker,
    keyring_derive_fn fn, void *arg, uint64_t limit, uint64_t hard, int dirs)
{
	return keyring_new_at(key0, 0, worker, fn, arg, limit, hard, dirs);
}

struct keyring *
keyring_new_at(const uint8_t key[AEAD_KEY_LEN], uint32_t epoch, uint8_t worker,
    keyring_derive_fn fn, void *arg, uint64_t limit, uint64_t hard, int dirs)
{
	struct keyring *k;

	if (limit == 0 || hard < limit || hard > KEYRING_HARD_LIMIT ||
	    (dirs & (AEAD_SEAL | AEAD_OPEN)) == 0)
		return NULL;
	if ((k = calloc(1, sizeof(*k) + COUNTERS_SIZE(dirs))) == NULL)
		return NULL;
	k->dirs = dirs;
	k->derive = fn;
	k->arg = arg;
	k->worker = worker;
	k->limit = limit;
	k->hard = hard;
	if ((k->cur = aead_new_for(key, dirs)) == NULL) {
		free(k);
		return NULL;
	}
	k->epoch = epoch;
	if (epoch != UINT32_MAX)
		k->next = derive(k, epoch + 1);
	return k;
}

int
keyring_wants(const struct keyring *k)
{
	return k->next == NULL && k->epoch != UINT32_MAX;
}

int
keyring_refill(struct keyring *k)
{
	if (!keyring_wants(k))
		return k->next != NULL ? 0 : -1;
	return (k->next = derive(k, k->epoch + 1)) == NULL ? -1 : 0;
}

void
keyring_free(struct keyring *k)
{
	if (k == NULL)
		return;
	aead_free(k->cur);
	aead_free(k->next);
	OPENSSL_cleanse(k, sizeof(*k) + COUNTERS_SIZE(k->dirs));
	free(k);
}

uint32_t
keyring_epoch(const struct keyring *k)
{
	return k->epoch;
}

int
keyring_advance(struct keyring *k)
{
	if (k->next == NULL)
		return -1;
	aead_free(k->cur);
	k->cur = k->next;
	k->epoch++;
	/* A new key, so its nonces start over: the only place a counter
	 * goes back. */
	k->sealed = 0;
	k->attempts = 0;
	k->retry_at = 0;
	memset(k->counter, 0, COUNTERS_SIZE(k->dirs));
	k->next = NULL; /* keyring_refill()'s, on the control side */
	return 0;
}

int
keyring_seal(struct keyring *k, uint8_t type, uint8_t link_id, uint32_t session,
    const uint8_t *inner, size_t len, uint8_t *out, size_t outlen, int *events)
{
	struct wire_hdr hdr;
	int             n;

	*events = 0;
	if (!(k->dirs & AEAD_SEAL) || link_id >= KEYRING_LINK_IDS ||
	    len > WIRE_MAX_INNER || outlen < WIRE_OVERHEAD + len)
		return KEYRING_ERR_SEAL;
	if (k->sealed >= k->limit) {
		if (keyring_advance(k) == 0)
			*events = KEYRING_ADVANCED | KEYRING_WANTS;
		else if (k->attempts >= k->retry_at && keyring_wants(k)) {
			/* Without the next key (no channel) the current
			 * one goes on up to `hard`, and the caller hears
			 * again every KEYRING_RETRY packets, not on each. */
			k->retry_at = k->attempts + KEYRING_RETRY;
			*events = KEYRING_WANTS;
		}
	}
	k->attempts++;
	if (k->sealed >= k->hard)
		return KEYRING_ERR_EXHAUSTED;
	memset(&hdr, 0, sizeof(hdr));
	hdr.version = PROTOCOL_VERSION;
	hdr.type = type;
	hdr.link_id = link_id;
	hdr.worker = k->worker;
	hdr.flags = (k->epoch & 1) ? WIRE_F_KEY_PHASE : 0;
	hdr.session = session;
	/* Taken before sealing, so that no failure below can hand the
	 * same counter out twice.  sealed < hard <= 2^32 bounds every
	 * counter far below its 64 bits. */
	hdr.counter = k->counter[link_id]++;
	k->sealed++;
	n = dgram_seal(k->cur, &hdr, inner, len, out, outlen);
	return n == -1 ? KEYRING_ERR_SEAL : n;
}

struct aead *
keyring_open(struct keyring *k, int phase, int *is_next)
{
	*is_next = (uint32_t)phase != (k->epoch & 1);
	return *is_next ? k->next : k->cur;
}
