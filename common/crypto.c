#include "autoconf.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "crypto.h"

/*
 * Two contexts, because an EVP_CIPHER_CTX is either an encrypting or a
 * decrypting one: a daemon only ever uses one of them per key (the
 * directions have separate keys), but tests and benchmarks seal and open
 * with the same object.
 *
 * No copy of the key is kept here: it lives only in the key schedules
 * inside the contexts, and EVP_CIPHER_CTX_free() clears those (OpenSSL 3's
 * AES-GCM provider frees its context with OPENSSL_clear_free()).
 */
struct aead {
	EVP_CIPHER_CTX *enc;
	EVP_CIPHER_CTX *dec;
};

/*
 * Loads cipher and key once, and fixes the IV length: per packet only the
 * nonce is set, which is what makes reusing the context cheap.  12 bytes
 * is GCM's default IV length, but setting it says that the nonce layout
 * (wire_nonce) depends on it, and GCM with any other length would hash
 * the IV instead of using it as the counter block (SP 800-38D 7.1).
 */
static int
ctx_init(EVP_CIPHER_CTX *ctx, const uint8_t *key, int enc)
{
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) !=
	    1)
		return -1;
	if (EVP_CIPHER_CTX_ctrl(
		ctx, EVP_CTRL_GCM_SET_IVLEN, AEAD_NONCE_LEN, NULL) != 1)
		return -1;
	if (EVP_CipherInit_ex(ctx, NULL, NULL, key, NULL, enc) != 1)
		return -1;
	return 0;
}

struct aead *
aead_new(const uint8_t key[AEAD_KEY_LEN])
{
	return aead_new_for(key, AEAD_SEAL | AEAD_OPEN);
}

struct aead *
aead_new_for(const uint8_t key[AEAD_KEY_LEN], int dirs)
{
	struct aead *a;

	if ((dirs & (AEAD_SEAL | AEAD_OPEN)) == 0 ||
	    (a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	if ((dirs & AEAD_SEAL) &&
	    ((a->enc = EVP_CIPHER_CTX_new()) == NULL ||
		ctx_init(a->enc, key, 1) == -1))
		goto fail;
	if ((dirs & AEAD_OPEN) &&
	    ((a->dec = EVP_CIPHER_CTX_new()) == NULL ||
		ctx_init(a->dec, key, 0) == -1))
		goto fail;
	return a;
fail:
	aead_free(a);
	return NULL;
}

void
aead_free(struct aead *a)
{
	if (a == NULL)
		return;
	EVP_CIPHER_CTX_free(a->enc);
	EVP_CIPHER_CTX_free(a->dec);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

int
aead_rekey(struct aead *a, const uint8_t key[AEAD_KEY_LEN])
{
	if (EVP_CipherInit_ex(a->enc, NULL, NULL, key, NULL, 1) != 1 ||
	    EVP_CipherInit_ex(a->dec, NULL, NULL, key, NULL, 0) != 1)
		return -1;
	return 0;
}

int
hkdf_sha256(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt,
    size_t saltlen, const uint8_t *info, size_t infolen, uint8_t *out,
    size_t outlen)
{
	EVP_KDF     *kdf;
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM   params[5], *p = params;
	int          r = -1;

	if ((kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL)) == NULL)
		return -1;
	if ((kctx = EVP_KDF_CTX_new(kdf)) == NULL)
		goto out;
	/* OSSL_PARAM takes non-const pointers; EVP_KDF_derive only reads
	 * them. */
	*p++ = OSSL_PARAM_construct_utf8_string(
	    OSSL_KDF_PARAM_DIGEST, (char *)(uintptr_t) "SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(
	    OSSL_KDF_PARAM_KEY, (void *)(uintptr_t)ikm, ikmlen);
	*p++ = OSSL_PARAM_construct_octet_string(
	    OSSL_KDF_PARAM_SALT, (void *)(uintptr_t)salt, saltlen);
	*p++ = OSSL_PARAM_construct_octet_string(
	    OSSL_KDF_PARAM_INFO, (void *)(uintptr_t)info, infolen);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, outlen, params) != 1)
		goto out;
	r = 0;
out:
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return r;
}

/*
 * EVP counts in int.  Packets are at most 64 KiB, so the limit is never
 * reached by the data path; it only keeps a caller's size_t from being
 * truncated into a short (or negative) length.
 */
#define AEAD_MAX_LEN ((size_t)INT_MAX - AEAD_TAG_LEN)

int
aead_seal(struct aead *a, const uint8_t nonce[AEAD_NONCE_LEN],
    const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len,
    uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = a->enc;
	int             n, fin;

	if (ctx == NULL || len > AEAD_MAX_LEN || aadlen > AEAD_MAX_LEN)
		return -1;
	if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1)
		return -1;
	if (aadlen > 0 &&
	    EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1)
		return -1;
	n = 0;
	if (len > 0 && EVP_EncryptUpdate(ctx, out, &n, in, (int)len) != 1)
		return -1;
	if (EVP_EncryptFinal_ex(ctx, out + n, &fin) != 1)
		return -1;
	if ((size_t)n + (size_t)fin != len)
		return -1;
	if (EVP_CIPHER_CTX_ctrl(
		ctx, EVP_CTRL_GCM_GET_TAG, AEAD_TAG_LEN, out + len) != 1)
		return -1;
	return (int)(len + AEAD_TAG_LEN);
}

int
aead_open(struct aead *a, const uint8_t nonce[AEAD_NONCE_LEN],
    const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len,
    uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = a->dec;
	uint8_t         tag[AEAD_TAG_LEN];
	size_t          clen;
	int             n, fin;

	if (ctx == NULL || len < AEAD_TAG_LEN ||
	    len > AEAD_MAX_LEN + AEAD_TAG_LEN || aadlen > AEAD_MAX_LEN)
		return -1;
	clen = len - AEAD_TAG_LEN;
	/* EVP takes the expected tag through a non-const pointer (it only
	 * copies it): hand it a copy rather than cast const away. */
	memcpy(tag, in + clen, AEAD_TAG_LEN);
	if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1)
		return -1;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, AEAD_TAG_LEN, tag) !=
	    1)
		return -1;
	if (aadlen > 0 &&
	    EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1)
		return -1;
	n = 0;
	if (clen > 0 && EVP_DecryptUpdate(ctx, out, &n, in, (int)clen) != 1)
		return -1;
	/* The tag is compared here, in constant time, by OpenSSL. */
	if (EVP_DecryptFinal_ex(ctx, out + n, &fin) != 1)
		return -1;
	if ((size_t)n + (size_t)fin != clen)
		return -1;
	return (int)clen;
}

/*
 * Anti-replay window, RFC 6479 section 2.
 *
 * Bit (c mod 64) of word (c / 64) mod REPLAY_WORDS stands for counter c.
 * The word holding the highest counter is only partly used, so the
 * window is the REPLAY_WORDS - 1 words behind it: counters up to
 * REPLAY_WINDOW below the highest are tracked exactly, older ones are
 * refused.  Moving ahead clears only the words the window slides over, so
 * an update is O(1) words however far it jumps (at most REPLAY_WORDS).
 *
 * replay_check() and replay_update() are separate because the counter in
 * the header is not authenticated until the packet has opened: checking
 * first rejects replays before paying for decryption, and recording only
 * after decryption means a forged packet with a huge counter cannot slide
 * the window forward and make every genuine packet after it look too old
 * (RFC 6479 section 2; RFC 4303 section 3.4.3 gives the same order for
 * ESP).
 *
 * `top` is the highest counter + 1 so that zero can mean "nothing seen"
 * while counter 0 stays usable.  The price is that UINT64_MAX cannot be
 * recorded, so it is refused; a sender rekeys after 2^32 packets
 * (DESIGN.md section 6) and never gets near it.
 */

#define REPLAY_WORD_BITS 64

void
replay_init(struct replay_window *w)
{
	memset(w, 0, sizeof(*w));
}

static size_t
replay_word(uint64_t counter)
{
	return (size_t)((counter / REPLAY_WORD_BITS) % REPLAY_WORDS);
}

static uint64_t
replay_bit(uint64_t counter)
{
	return 1ULL << (counter % REPLAY_WORD_BITS);
}

int
replay_check(const struct replay_window *w, uint64_t counter)
{
	if (counter == UINT64_MAX)
		return -1;
	if (counter >= w->top)
		return 0;
	/* Here top > counter >= 0, so top - 1 is the highest seen. */
	if (w->top - 1 - counter > REPLAY_WINDOW)
		return -1;
	if (w->bits[replay_word(counter)] & replay_bit(counter))
		return -1;
	return 0;
}

int
replay_seen(const struct replay_window *w, uint64_t counter)
{
	if (counter == UINT64_MAX || counter >= w->top ||
	    w->top - 1 - counter > REPLAY_WINDOW)
		return 0;
	return (w->bits[replay_word(counter)] & replay_bit(counter)) != 0;
}

void
replay_update(struct replay_window *w, uint64_t counter)
{
	uint64_t cur, next, i, n;

	/*
	 * A counter replay_check() refuses would set a bit in a word that
	 * now stands for newer counters: ignore it rather than corrupt the
	 * window.
	 */
	if (counter == UINT64_MAX)
		return;
	if (counter < w->top && w->top - 1 - counter > REPLAY_WINDOW)
		return;
	if (counter >= w->top) {
		if (w->top > 0) {
			cur = (w->top - 1) / REPLAY_WORD_BITS;
			next = counter / REPLAY_WORD_BITS;
			n = next - cur;
			if (n > REPLAY_WORDS)
				n = REPLAY_WORDS;
			for (i = 1; i <= n; i++)
				w->bits[(cur + i) % REPLAY_WORDS] = 0;
		}
		w->top = counter + 1;
	}
	w->bits[replay_word(counter)] |= replay_bit(counter);
}
