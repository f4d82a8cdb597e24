#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "clusterkey.h"
#include "crypto.h"

#define HEX_CHARS 64 /* 32 bytes */
#define B64_CHARS 44 /* 32 bytes: 43 characters and one '=' */

/* HKDF's salt: separates wanpair's cluster keys from anything else ever
 * derived from the same 32 bytes.  Changing it changes every key. */
static const char SALT[] = "wanpair cluster key v1";

int
clusterkey_parse(
    const char *text, size_t len, struct clusterkey *key, const char **why)
{
	const char *end = NULL, *w;
	size_t      n = 0;
	int         rc;
	unsigned    i, acc = 0;

	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len == HEX_CHARS)
		rc = sodium_hex2bin(
		    key->k, sizeof(key->k), text, len, NULL, &n, &end);
	else if (len == B64_CHARS)
		rc = sodium_base642bin(key->k, sizeof(key->k), text, len, NULL,
		    &n, &end, sodium_base64_VARIANT_ORIGINAL);
	else {
		w = "not a key: 32 bytes as 64 hex digits or 44 base64 "
		    "characters, and at most one newline";
		goto fail;
	}
	if (rc != 0 || n != sizeof(key->k) || end != text + len) {
		w = len == HEX_CHARS ? "not 64 hex digits"
				     : "not 44 characters of base64";
		goto fail;
	}
	for (i = 0; i < sizeof(key->k); i++)
		acc |= key->k[i];
	if (acc == 0) {
		w = "all zero: not a random key";
		goto fail;
	}
	return 0;
fail:
	clusterkey_wipe(key);
	if (why != NULL)
		*why = w;
	return -1;
}

int
clusterkey_load(
    const char *path, struct clusterkey *key, char *err, size_t errlen)
{
	struct stat st;
	char        text[CLUSTERKEY_FILE_MAX + 1];
	const char *why;
	size_t      len = 0;
	ssize_t     n;
	int         fd, r = -1;

	/* O_NONBLOCK: a FIFO in the key's place must not hang a start. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) ==
		-1 ||
	    fstat(fd, &st) == -1) {
		snprintf(
		    err, errlen, "%s: cannot open: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	/* As ssh does with private keys: a secret others can read is no
	 * longer the cluster's alone, and one they can write is not ours. */
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, errlen,
		    "%s: permissions %04o give group or others access to the "
		    "cluster key (chmod 600 %s)",
		    path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	while (len < sizeof(text)) {
		n = read(fd, text + len, sizeof(text) - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s: cannot read: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CLUSTERKEY_FILE_MAX) {
		snprintf(err, errlen, "%s: not a key: larger than %d bytes",
		    path, CLUSTERKEY_FILE_MAX);
		goto out;
	}
	if (clusterkey_parse(text, len, key, &why) == -1) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto out;
	}
	r = 0;
out:
	OPENSSL_cleanse(text, sizeof(text));
	if (fd != -1)
		close(fd);
	if (r == -1)
		clusterkey_wipe(key);
	return r;
}

int
clusterkey_derive(const struct clusterkey *key, const char *label,
    const uint8_t *ctx, size_t ctxlen, uint8_t *out, size_t outlen)
{
	uint8_t info[64];
	size_t  ll = strlen(label);
	int     r;

	/* info = label ‖ 0 ‖ ctx: the NUL keeps a label that is a prefix of
	 * another from meeting it with a shifted ctx. */
	if (ll + 1 + ctxlen > sizeof(info))
		return -1;
	memcpy(info, label, ll);
	info[ll] = 0;
	if (ctxlen > 0)
		memcpy(info + ll + 1, ctx, ctxlen);
	r = hkdf_sha256(key->k, sizeof(key->k), (const uint8_t *)SALT,
	    sizeof(SALT) - 1, info, ll + 1 + ctxlen, out, outlen);
	OPENSSL_cleanse(info, sizeof(info));
	return r;
}

int
clusterkey_hash_key(const struct clusterkey *key, struct wp_hash_key *hk)
{
	return clusterkey_derive(
	    key, "director", NULL, 0, hk->k, sizeof(hk->k));
}

int
clusterkey_session_key(const struct clusterkey *key, uint8_t out[32])
{
	return clusterkey_derive(key, "session", NULL, 0, out, 32);
}

void
clusterkey_wipe(struct clusterkey *key)
{
	OPENSSL_cleanse(key->k, sizeof(key->k));
}
