#include "autoconf.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <stdio.h>
#include <string.h>

#include "tls.h"

/* RFC 8446, 7.5: an exporter label of our own, so no other protocol
 * over a TLS session can derive the same bytes. */
#define TLS_EXPORTER_LABEL "EXPORTER-wanpair-data"

/*
 * err = "tls: <file>: <what>: <OpenSSL's reason>".  OpenSSL queues the
 * root cause first (the fopen() errno, the PEM parser) and each caller's
 * wrapping after it, so the first entry is the one that explains; the
 * rest of that failure is cleared so it cannot be quoted later.
 */
static void
tls_err(char *err, size_t errlen, const char *file, const char *what)
{
	char          reason[160];
	unsigned long e;

	if ((e = ERR_get_error()) != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	else
		(void)snprintf(reason, sizeof(reason), "unknown error");
	ERR_clear_error();
	if (file != NULL)
		(void)snprintf(
		    err, errlen, "tls: %s: %s: %s", file, what, reason);
	else
		(void)snprintf(err, errlen, "tls: %s: %s", what, reason);
}

static int
key_mismatch(unsigned long e)
{
	return ERR_GET_LIB(e) == ERR_LIB_X509 &&
	    (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH ||
		ERR_GET_REASON(e) == X509_R_KEY_TYPE_MISMATCH);
}

SSL_CTX *
tls_ctx_new(int server, const struct tls_files *files, char *err, size_t errlen)
{
	STACK_OF(X509_NAME) * names;
	SSL_CTX *ctx;

	/* Whatever an earlier caller left would otherwise be quoted as
	 * the reason for our failure. */
	ERR_clear_error();
	if (files->ca == NULL || files->cert == NULL || files->key == NULL) {
		(void)snprintf(err, errlen,
		    "tls: a CA, a certificate and a key are all required");
		return NULL;
	}
	ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (ctx == NULL) {
		tls_err(err, errlen, NULL, "cannot create a context");
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
		tls_err(err, errlen, NULL, "cannot require TLS 1.3");
		goto fail;
	}
	SSL_CTX_set_verify(
	    ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	/*
	 * No session tickets: a resumed session skips the certificate
	 * exchange, and the channel reconnects rarely enough (link
	 * failover) that a full handshake costs nothing worth saving.
	 */
	(void)SSL_CTX_set_num_tickets(ctx, 0);
	/*
	 * A connection's record buffers (about 17 KiB each way) are freed
	 * when empty: a control channel is idle nearly always, and a PoP
	 * holds one per site (10,000 sites: some 330 MiB otherwise).
	 */
	(void)SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);

	/* Only the configured CA: no default verify paths, ever. */
	if (SSL_CTX_load_verify_locations(ctx, files->ca, NULL) != 1) {
		tls_err(err, errlen, files->ca, "cannot load CA certificates");
		goto fail;
	}
	if (server) {
		/* Tells clients which CA to pick a certificate for
		 * (RFC 8446, 4.2.4); the context owns the list. */
		if ((names = SSL_load_client_CA_file(files->ca)) == NULL) {
			tls_err(err, errlen, files->ca, "cannot read CA names");
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, files->cert) != 1) {
		tls_err(err, errlen, files->cert, "cannot load certificate");
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, files->key, SSL_FILETYPE_PEM) !=
	    1) {
		/* It also checks the key against the certificate; that
		 * mistake deserves its own words. */
		tls_err(err, errlen, files->key,
		    key_mismatch(ERR_peek_error())
			? "private key does not match the certificate"
			: "cannot load private key");
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_err(err, errlen, files->key,
		    "private key does not match the certificate");
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* The peer's certificate, only if the chain verified (no reference). */
static X509 *
verified_peer(SSL *ssl)
{
	X509 *x;

	if ((x = SSL_get0_peer_certificate(ssl)) == NULL ||
	    SSL_get_verify_result(ssl) != X509_V_OK)
		return NULL;
	return x;
}

/*
 * A name fit to be an identity: no embedded NUL (a CA may sign
 * "branch-17.lab\0.evil", which C would read as "branch-17.lab"), not
 * empty, and no control characters, since identities end up in logs.
 * OpenSSL always NUL-terminates ASN1_STRING data, so strlen() stops at
 * the first NUL or at the end.
 */
static int
usable_name(const unsigned char *s, int len)
{
	int i;

	if (s == NULL || len <= 0 || (size_t)len != strlen((const char *)s))
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/*
 * Calls fn on each usable DNS subjectAltName until fn returns non-zero;
 * returns that value, or 0.  The subject CN is tried only when the
 * certificate has no DNS subjectAltName at all, usable or not (RFC 6125
 * section 6.4.4): a CA that issued a certificate for the names in its
 * SAN did not vouch for whatever its CN says.  A CN is converted to
 * UTF-8 first: it may be any of several ASN.1 string types.
 */
static int
each_name(X509 *x, int (*fn)(const char *, void *), void *arg)
{
	GENERAL_NAMES       *sans;
	const GENERAL_NAME  *gn;
	X509_NAME_ENTRY     *ne;
	const unsigned char *s;
	unsigned char       *cn = NULL;
	int                  i, n, len, ndns = 0, rc = 0;

	sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	n = sans != NULL ? sk_GENERAL_NAME_num(sans) : 0;
	for (i = 0; i < n && rc == 0; i++) {
		gn = sk_GENERAL_NAME_value(sans, i);
		if (gn->type != GEN_DNS)
			continue;
		ndns++;
		s = ASN1_STRING_get0_data(gn->d.dNSName);
		len = ASN1_STRING_length(gn->d.dNSName);
		if (usable_name(s, len))
			rc = fn((const char *)s, arg);
	}
	GENERAL_NAMES_free(sans);
	if (rc != 0 || ndns > 0)
		return rc;

	i = X509_NAME_get_index_by_NID(
	    X509_get_subject_name(x), NID_commonName, -1);
	if (i < 0 ||
	    (ne = X509_NAME_get_entry(X509_get_subject_name(x), i)) == NULL)
		return 0;
	len = ASN1_STRING_to_UTF8(&cn, X509_NAME_ENTRY_get_data(ne));
	if (len < 0) {
		ERR_clear_error();
		return 0;
	}
	if (usable_name(cn, len))
		rc = fn((const char *)cn, arg);
	OPENSSL_free(cn);
	return rc;
}

struct first_name {
	char  *out;
	size_t outlen;
	int    found; /* -1: the first name did not fit */
};

static int
take_first(const char *name, void *arg)
{
	struct first_name *f = arg;
	size_t             n = strlen(name);

	/* A cut name could be another site's: too long is no name. */
	if (n >= f->outlen) {
		f->found = -1;
	} else {
		memcpy(f->out, name, n + 1);
		f->found = 1;
	}
	return 1;
}

int
tls_peer_identity(SSL *ssl, char *out, size_t outlen)
{
	struct first_name f = {out, outlen, 0};
	X509             *x;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if ((x = verified_peer(ssl)) == NULL)
		return -1;
	(void)each_name(x, take_first, &f);
	if (f.found != 1) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

int
tls_peer_each_name(SSL *ssl, int (*fn)(const char *, void *), void *arg)
{
	X509 *x;

	if ((x = verified_peer(ssl)) == NULL)
		return 0;
	return each_name(x, fn, arg);
}

/* DNS names compare case-insensitively in ASCII only (RFC 4343); the
 * C library's strcasecmp() would follow the locale. */
int
tls_name_eq(const char *a, const char *b)
{
	unsigned char ca, cb;

	for (;; a++, b++) {
		ca = (unsigned char)*a;
		cb = (unsigned char)*b;
		if (ca >= 'A' && ca <= 'Z')
			ca += 'a' - 'A';
		if (cb >= 'A' && cb <= 'Z')
			cb += 'a' - 'A';
		if (ca != cb)
			return 0;
		if (ca == '\0')
			return 1;
	}
}

static int
same_name(const char *name, void *arg)
{
	return tls_name_eq(name, arg);
}

int
tls_peer_matches(SSL *ssl, const char *identity)
{
	X509 *x;

	if (identity == NULL || *identity == '\0' ||
	    (x = verified_peer(ssl)) == NULL)
		return 0;
	return each_name(x, same_name, (void *)(uintptr_t)identity);
}

int
tls_data_keys(SSL *ssl, uint32_t session, uint32_t epoch, uint8_t worker,
    uint8_t up[AEAD_KEY_LEN], uint8_t down[AEAD_KEY_LEN])
{
	uint8_t       km[2 * AEAD_KEY_LEN];
	unsigned char ctx[9];
	int           rc = -1;

	/* The session id, the epoch and the worker as context bind the keys
	 * to all three (RFC 8446, 7.5): another id, epoch or worker, other
	 * keys. */
	ctx[0] = (unsigned char)(session >> 24);
	ctx[1] = (unsigned char)(session >> 16);
	ctx[2] = (unsigned char)(session >> 8);
	ctx[3] = (unsigned char)session;
	ctx[4] = (unsigned char)(epoch >> 24);
	ctx[5] = (unsigned char)(epoch >> 16);
	ctx[6] = (unsigned char)(epoch >> 8);
	ctx[7] = (unsigned char)epoch;
	ctx[8] = worker;
	if (SSL_export_keying_material(ssl, km, sizeof(km), TLS_EXPORTER_LABEL,
		strlen(TLS_EXPORTER_LABEL), ctx, sizeof(ctx), 1) != 1) {
		ERR_clear_error();
		goto out;
	}
	memcpy(up, km, AEAD_KEY_LEN);
	memcpy(down, km + AEAD_KEY_LEN, AEAD_KEY_LEN);
	rc = 0;
out:
	OPENSSL_cleanse(km, sizeof(km));
	return rc;
}

int
tls_data_key(SSL *ssl, uint32_t session, uint32_t epoch, uint8_t worker, int up,
    uint8_t key[AEAD_KEY_LEN])
{
	uint8_t k[2][AEAD_KEY_LEN];
	int     rc;

	rc = tls_data_keys(ssl, session, epoch, worker, k[0], k[1]);
	if (rc == 0)
		memcpy(key, k[up ? 0 : 1], AEAD_KEY_LEN);
	OPENSSL_cleanse(k, sizeof(k));
	return rc;
}
