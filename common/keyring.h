/*
 * The data-plane keys of one direction of one session as one sender's
 * worker seals (or its peer opens) them, by key epoch, and the one place
 * where data-plane datagrams are sealed.
 *
 * The nonce of a datagram is its wire link id and its counter (wire.h):
 * under one key a (link id, counter) pair must be sealed at most once, or
 * AES-GCM gives away the XOR of two plaintexts and its authentication
 * key.  So the counters live here, beside the key they belong to, one per
 * wire link id; keyring_seal() takes the next one itself and no caller
 * can choose, reset or reuse a counter.  They start at 0 only with a new
 * key: a new keyring (a new TLS session: new keys, tls_data_keys()) or a
 * new epoch.  A link removed and another given its id later, a reload, a
 * control channel that reconnects while the data plane goes on: none of
 * them touches the counters of the key in use.
 *
 * AES-GCM must not seal too much under one key either: DESIGN.md section
 * 6 says rekey before 2^32 packets.  Each epoch's key is derived from the
 * TLS session (tls_data_keys with the epoch), so nothing secret crosses
 * the wire, and the data-plane header says which epoch sealed a packet by
 * its parity (WIRE_F_KEY_PHASE).  The sender moves to the next epoch after
 * `limit` packets; the receiver always holds the next epoch's key already,
 * so the first packet of a new epoch opens at once, whatever the control
 * channel's REKEY frame is doing.  Packets still in flight from the epoch
 * before are dropped: a handful at each change, which TCP retransmits.
 *
 * Deriving needs the live TLS session, which the caller reaches through
 * `derive`, and it is control work: keyring_seal() and keyring_advance()
 * never derive.  They only use the next key that keyring_new() or
 * keyring_refill() derived, and say when the slot is empty
 * (KEYRING_WANTS): the data path tells its control side, which calls
 * keyring_refill() on the main loop.  When deriving fails (channel down),
 * the sender keeps its epoch past `limit`, but never past `hard`: from
 * there keyring_seal() refuses until a next key comes or a new session
 * brings new keys.  The receiver cannot advance until then either.
 *
 * Nothing here reads a clock, logs or does I/O.
 */
#ifndef WANPAIR_KEYRING_H
#define WANPAIR_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "proto.h"

/* Fills key with epoch's key for this direction; 0, or -1. */
typedef int (*keyring_derive_fn)(
    void *arg, uint32_t epoch, uint8_t key[AEAD_KEY_LEN]);

/* A test build (configure --enable-test-limits) makes epochs short so
 * that lab tests can force rekeys; see configure.ac. */
#ifndef KEYRING_LIMIT
/* 2^31: half of the 2^32 packets a GCM key may seal, so that a slow
 * control channel still leaves margin. */
#define KEYRING_LIMIT (UINT64_C(1) << 31)
#endif
#ifndef KEYRING_HARD_LIMIT
/* 2^32 packets under one key: DESIGN.md section 6's bound.  Past it
 * nothing is sealed with that key, whatever the control channel does. */
#define KEYRING_HARD_LIMIT (UINT64_C(1) << 32)
#endif
#ifndef KEYRING_RETRY
/* Packets between two KEYRING_WANTS while a key could not be derived. */
#define KEYRING_RETRY 65536
#endif

/* One counter per link id a site may use (PROTO_MAX_LINKS: ids 0..31);
 * keyring_seal() refuses any other.  256, one per value of the wire's
 * 8-bit field, were 2 KiB a sealing keyring, a PoP holds one a site. */
#define KEYRING_LINK_IDS PROTO_MAX_LINKS

enum keyring_err {
	KEYRING_ERR_SEAL = -1,     /* too large, or a link id past the last */
	KEYRING_ERR_EXHAUSTED = -2 /* `hard` packets sealed, no next key */
};

struct keyring;

/* keyring_seal()'s *events. */
#define KEYRING_ADVANCED 0x1 /* moved to the next epoch: send REKEY */
#define KEYRING_WANTS    0x2 /* the next key's slot is empty: refill */

/*
 * A keyring whose epoch 0 key is key0, epoch 1's derived at once (or at
 * a keyring_refill(), if that fails).  1 <= limit <= hard <= KEYRING_HARD_LIMIT.
 * `worker` is the sender's worker these keys are of: keyring_seal()
 * writes it in every header (wire.h), so that the receiver opens with
 * the same worker's keys.  NULL if out of memory or the limits are not
 * so.  keyring_free() it.
 */
/* keyring_new() seals and opens; keyring_new_for() only what dirs
 * (AEAD_SEAL, AEAD_OPEN, crypto.h) says, in half the memory or less: one
 * that only opens refuses keyring_seal() (KEYRING_ERR_SEAL) and holds no
 * counters, one that only seals gives keyring_open() keys that refuse. */
struct keyring *keyring_new_for(const uint8_t key0[AEAD_KEY_LEN],
    uint8_t worker, keyring_derive_fn fn, void *arg, uint64_t limit,
    uint64_t hard, int dirs);
struct keyring *keyring_new(const uint8_t key0[AEAD_KEY_LEN], uint8_t worker,
    keyring_derive_fn, void *arg, uint64_t limit, uint64_t hard);
/* keyring_new_for() whose current key is `epoch`'s (the next derived is
 * epoch + 1's): a PoP cluster member that backs a session up starts at
 * the epoch the holder announced (popd/cluster-session.c).  Only with a
 * key never sealed under before: counters start at 0. */
struct keyring *keyring_new_at(const uint8_t key[AEAD_KEY_LEN], uint32_t epoch,
    uint8_t worker, keyring_derive_fn fn, void *arg, uint64_t limit,
    uint64_t hard, int dirs);
/* Wipes and frees; NULL is fine. */
void keyring_free(struct keyring *);
/* The current epoch: for logs and REKEY. */
uint32_t keyring_epoch(const struct keyring *);
/* 1 if the next epoch's key is not there (and can be: not at the last
 * epoch). */
int keyring_wants(const struct keyring *);
/* The control side: derives the next epoch's key if it is not there.
 * 0 when it is there, -1 when deriving failed or there is none to have. */
int keyring_refill(struct keyring *);

/*
 * Sender: seals `inner` into out as one datagram of `type` for `session`
 * on wire link `link_id`: the header (wire.h) with the next counter of
 * that link id under the current key and the key's phase bit, then the
 * AEAD ciphertext (tunnel.h).  When `limit` packets are sealed under the
 * current key, moves to the next epoch first if its key is there
 * (*events gets KEYRING_ADVANCED: the caller sends REKEY).  *events gets
 * KEYRING_WANTS when the next key's slot is empty: after a move, and
 * every KEYRING_RETRY packets while past `limit` without it.  It never
 * derives.  A counter is used up once taken, even if the datagram is
 * never sent.
 *
 * Returns the datagram's length, or KEYRING_ERR_SEAL (inner too large
 * for WIRE_MAX_INNER or for outlen; no counter used) or
 * KEYRING_ERR_EXHAUSTED (the current key sealed `hard` packets and the
 * next cannot be derived: the caller drops the packet and counts it).
 * `inner` may be out + WIRE_HDR_LEN (sealing in place).
 */
int keyring_seal(struct keyring *, uint8_t type, uint8_t link_id,
    uint32_t session, const uint8_t *inner, size_t len, uint8_t *out,
    size_t outlen, int *events);

/*
 * Receiver: the key for a packet of `phase`: the current epoch's, or the
 * next one's (*is_next = 1) when the phase differs.  NULL if the next key
 * is not there.  After a packet opened with the next key, the caller
 * calls keyring_advance() (and resets its replay windows).
 */
struct aead *keyring_open(struct keyring *, int phase, int *is_next);
/* Makes the next epoch current (every link's counter starting over, as
 * the key is new); the slot of the one after is then empty
 * (keyring_wants(), keyring_refill()).  0, or -1 when the next key is not
 * there, changing nothing.  The last epoch has no next (keyring_refill()
 * derives none): a wrapped epoch would bring epoch 0's key back. */
int keyring_advance(struct keyring *);

#endif
