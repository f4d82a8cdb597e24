#include "autoconf.h"

#include <openssl/crypto.h>
#include <string.h>

#include "keyring.h"

static struct aead *
derive(struct keyring *k, uint32_t epoch)
{
	uint8_t      key[AEAD_KEY_LEN];
	struct aead *a = NULL;

	if (k->derive(k->arg, epoch, key) == 0)
		a = aead_new(key);
	OPENSSL_cleanse(key, sizeof(key));
	return a;
}

int
keyring_init(struct keyring *k, const uint8_t key0[AEAD_KEY_LEN],
    keyring_derive_fn fn, void *arg, uint64_t limit)
{
	memset(k, 0, sizeof(*k));
	k->derive = fn;
	k->arg = arg;
	k->limit = limit;
	if ((k->cur = aead_new(key0)) == NULL)
		return -1;
	k->next = derive(k, 1);
	return 0;
}

void
keyring_free(struct keyring *k)
{
	aead_free(k->cur);
	aead_free(k->next);
	memset(k, 0, sizeof(*k));
}

void
keyring_set_arg(struct keyring *k, void *arg)
{
	k->arg = arg;
}

int
keyring_advance(struct keyring *k)
{
	if (k->next == NULL && (k->next = derive(k, k->epoch + 1)) == NULL)
		return -1;
	aead_free(k->cur);
	k->cur = k->next;
	k->epoch++;
	k->sealed = 0;
	k->retry_at = 0;
	k->next = derive(k, k->epoch + 1);
	return k->next == NULL ? -1 : 0;
}

struct aead *
keyring_seal(struct keyring *k, int *phase, int *advanced)
{
	uint32_t before = k->epoch;

	*advanced = 0;
	if (k->sealed >= k->limit && k->sealed >= k->retry_at) {
		/* Without the next key (no channel) the current one goes
		 * on, and deriving is tried again every KEYRING_RETRY
		 * packets, not on each: a tunnel that stops is worse. */
		if (keyring_advance(k) == -1 && k->epoch == before)
			k->retry_at = k->sealed + KEYRING_RETRY;
		*advanced = k->epoch != before;
	}
	k->sealed++;
	*phase = (int)(k->epoch & 1);
	return k->cur;
}

struct aead *
keyring_open(struct keyring *k, int phase, int *is_next)
{
	*is_next = (uint32_t)phase != (k->epoch & 1);
	return *is_next ? k->next : k->cur;
}
