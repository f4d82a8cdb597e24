/*
 * TLS 1.3 for the control channel, with certificates both ways.
 *
 * Both ends verify the peer against one configured CA (no system store:
 * a wanpair deployment is its own PKI).  The PoP maps the client
 * certificate's identity to a site: a DNS name in subjectAltName, or
 * the subject CN when the certificate has no DNS subjectAltName.  Data-plane keys come from the TLS session through
 * SSL_export_keying_material (RFC 8446 section 7.5) with wanpair's own
 * label, one key per direction, so they change with every session and
 * are never sent.  Functions return 0 / -1 with a sentence in err (with
 * OpenSSL's own reason where there is one); nothing here prints.
 */
#ifndef WANPAIR_TLS_H
#define WANPAIR_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define TLS_ERRLEN 256

struct tls_files {
	const char *ca;   /* PEM CA certificate(s) that sign the peers */
	const char *cert; /* PEM certificate (chain) of this end */
	const char *key;  /* PEM private key of this end */
};

/*
 * A context for one role: server (popd) or client (socketd).  TLS 1.3
 * only, peer certificate required and verified against files->ca, key
 * checked against the certificate.  NULL on error, with err set (quoting
 * the file that failed).
 */
SSL_CTX *tls_ctx_new(
    int server, const struct tls_files *, char *err, size_t errlen);

/*
 * The verified peer certificate's identity: the first usable DNS
 * subjectAltName; the subject CN only if there is no DNS subjectAltName
 * (RFC 6125 section 6.4.4).  Returns 0, or -1 if the session has no
 * verified peer certificate or no usable name.
 */
int tls_peer_identity(SSL *, char *out, size_t outlen);

/*
 * 1 if `identity` names the verified peer: equal to any DNS
 * subjectAltName, or to the subject CN if the certificate has no DNS
 * subjectAltName (exact, case-insensitive; no wildcards).
 */
int tls_peer_matches(SSL *, const char *identity);

/*
 * Calls fn on each name of the verified peer that tls_peer_matches()
 * would accept (each usable DNS subjectAltName, or the subject CN if
 * there is none), in certificate order, until fn returns non-zero;
 * returns that value, or 0 (also with no verified peer).  For a caller
 * that looks names up in an index rather than comparing one identity.
 */
int tls_peer_each_name(SSL *, int (*fn)(const char *, void *), void *);

/* 1 if two names are one identity as tls_peer_matches() compares them:
 * equal but for the case of ASCII letters; else 0. */
int tls_name_eq(const char *, const char *);

/*
 * The two data-plane keys of this session for one key epoch and one
 * sender's worker, bound to the session id the PoP assigned: `up` (what
 * the Socket's worker `worker` seals) and `down` (what the PoP's worker
 * `worker` seals).  Same result on both ends.  Epochs let a long session
 * change keys before a key has sealed too much (keyring.h); workers seal
 * under keys of their own, so their counters never meet (wire.h).  0, or
 * -1.
 */
int tls_data_keys(SSL *, uint32_t session, uint32_t epoch, uint8_t worker,
    uint8_t up[AEAD_KEY_LEN], uint8_t down[AEAD_KEY_LEN]);
/* One of the two: `up` nonzero for the Socket-to-PoP key (a
 * tunnel_derive_fn's direction).  0, or -1 with `key` untouched. */
int tls_data_key(SSL *, uint32_t session, uint32_t epoch, uint8_t worker,
    int up, uint8_t key[AEAD_KEY_LEN]);

#endif
