/*
 * Data-plane cryptography: AES-256-GCM through OpenSSL EVP, and the
 * anti-replay window.
 *
 * One struct aead per key and direction, made once and reused for every
 * packet (EVP_CIPHER_CTX set up with the key at creation; per packet only
 * the nonce changes): no allocation on the packet path.
 *
 * The replay window follows RFC 6479: a bitmap of recent counters in
 * 64-bit words, moved forward a word at a time, so a check is O(1) and a
 * jump far ahead clears the bitmap instead of shifting it.  Counters are
 * checked before decryption (cheap rejection) and recorded only after the
 * packet authenticated, so a forged packet cannot move the window.
 */
#ifndef WANPAIR_CRYPTO_H
#define WANPAIR_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define AEAD_KEY_LEN   32
#define AEAD_TAG_LEN   16
#define AEAD_NONCE_LEN 12

struct aead;

/* What a struct aead is for: a key seals one direction and opens the
 * other, so each end needs only one context per key (about 1.1 KiB). */
#define AEAD_SEAL 0x1
#define AEAD_OPEN 0x2

/* NULL on failure (OpenSSL error).  The key is copied into the context.
 * aead_new() can seal and open; aead_new_for() only what `dirs`
 * (AEAD_SEAL, AEAD_OPEN or both) says: the other refuses (-1). */
struct aead *aead_new(const uint8_t key[AEAD_KEY_LEN]);
struct aead *aead_new_for(const uint8_t key[AEAD_KEY_LEN], int dirs);
/* Clears the key material. */
void aead_free(struct aead *);
/* Replaces the key of an existing context, allocating nothing: 0, or -1
 * (the context must then not be used until a rekey succeeds). */
int aead_rekey(struct aead *, const uint8_t key[AEAD_KEY_LEN]);

/*
 * Encrypts `len` bytes of `in` into `out` and appends the tag: `out` needs
 * len + AEAD_TAG_LEN bytes (in == out is allowed).  Returns the bytes
 * written, or -1.
 */
int aead_seal(struct aead *, const uint8_t nonce[AEAD_NONCE_LEN],
    const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len,
    uint8_t *out);
/*
 * Checks the tag at the end of `in` (len includes it) and decrypts into
 * `out` (len - AEAD_TAG_LEN bytes; in == out allowed).  Returns the
 * plaintext length, or -1 if the packet does not authenticate; on -1 the
 * contents of `out` are unspecified and must not be used.
 */
int aead_open(struct aead *, const uint8_t nonce[AEAD_NONCE_LEN],
    const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t len,
    uint8_t *out);

/*
 * HKDF with SHA-256 (RFC 5869), extract then expand, through OpenSSL's
 * EVP_KDF: `outlen` bytes of key from the secret `ikm`, bound to `salt`
 * and `info`.  0, or -1.  For keys made from a configured secret (the
 * cluster key, clusterkey.h); the tunnels' keys come from TLS (tls.h).
 */
int hkdf_sha256(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt,
    size_t saltlen, const uint8_t *info, size_t infolen, uint8_t *out,
    size_t outlen);

/* 2048 counters of reordering tolerated: enough for a fast link's jitter
 * across a batch, small enough to stay in two cache lines. */
#define REPLAY_WORDS  32
#define REPLAY_WINDOW ((REPLAY_WORDS - 1) * 64)

struct replay_window {
	uint64_t top; /* highest counter accepted so far, + 1 (0: none) */
	uint64_t bits[REPLAY_WORDS];
};

void replay_init(struct replay_window *);
/* 0 if `counter` is new and inside the window, -1 if seen or too old. */
int replay_check(const struct replay_window *, uint64_t counter);
/* Records an authenticated counter (after replay_check said 0). */
void replay_update(struct replay_window *, uint64_t counter);
/* 1 if `counter` was recorded and is still inside the window, else 0. */
int replay_seen(const struct replay_window *, uint64_t counter);

#endif
