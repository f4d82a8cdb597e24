/*
 * The cluster key: 32 random bytes that every popd node of one cluster
 * holds in a file (doc/CLUSTER.md), from which all the cluster's keys are
 * derived with HKDF-SHA-256 (crypto.h): the cluster link's keys, one per
 * sender, receiver and generation (clusterlink.h), and the director's
 * SipHash key (director.h), so that nobody without the file can aim flows
 * at one member.
 *
 * The file holds the key as 64 hexadecimal digits or as 44 characters of
 * standard base64 (`openssl rand -hex 32`, `openssl rand -base64 32`),
 * optionally followed by one newline, nothing else; it is a regular file
 * with no permission for group or others.  Nothing here logs or exits:
 * clusterkey_load() says what is wrong in the caller's buffer, quoting
 * the path.
 */
#ifndef WANPAIR_CLUSTERKEY_H
#define WANPAIR_CLUSTERKEY_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"

#define CLUSTERKEY_LEN 32
/* Longest file accepted: 64 hex digits and a CR LF would be 66; more is
 * not a key file, and is refused before it is read whole. */
#define CLUSTERKEY_FILE_MAX 128

struct clusterkey {
	uint8_t k[CLUSTERKEY_LEN];
};

/*
 * Reads the key file at `path` into *key.  0, or -1 with a sentence in
 * err ("PATH: what is wrong"): cannot open, not a regular file,
 * permissions give group or others access (with the mode and the chmod
 * that fixes it), or clusterkey_parse()'s reason.  *key is wiped on -1.
 */
int clusterkey_load(
    const char *path, struct clusterkey *key, char *err, size_t errlen);

/*
 * The file's contents, `len` bytes (no NUL needed), to a key: 0, or -1
 * with *why (if not NULL) a static sentence.  Pure.
 */
int clusterkey_parse(
    const char *text, size_t len, struct clusterkey *key, const char **why);

/*
 * `outlen` bytes derived for `label` (a constant naming the use) and
 * `ctx` (what the key is bound to: node ids, a generation), with
 * HKDF-SHA-256.  0, or -1 (OpenSSL failed).
 */
int clusterkey_derive(const struct clusterkey *, const char *label,
    const uint8_t *ctx, size_t ctxlen, uint8_t *out, size_t outlen);

/* The director's SipHash key (director.h): 0, or -1. */
int clusterkey_hash_key(const struct clusterkey *, struct wp_hash_key *);

/* The AES-256-GCM key that seals the SESSION messages on CPG (label
 * "session", no context; popd/cluster-session.c): 0, or -1. */
int clusterkey_session_key(const struct clusterkey *, uint8_t out[32]);

/* Clears the key. */
void clusterkey_wipe(struct clusterkey *);

#endif
