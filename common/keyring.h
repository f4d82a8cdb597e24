/*
 * The data-plane keys of one direction of one session, by key epoch.
 *
 * AES-GCM must not seal too much under one key: DESIGN.md section 6 says
 * rekey before 2^32 packets.  Each epoch's key is derived from the TLS
 * session (tls_data_keys with the epoch), so nothing secret crosses the
 * wire, and the data-plane header says which epoch sealed a packet by its
 * parity (WIRE_F_KEY_PHASE).  The sender moves to the next epoch after
 * `limit` packets; the receiver always holds the next epoch's key already,
 * so the first packet of a new epoch opens at once, whatever the control
 * channel's REKEY frame is doing.  Packets still in flight from the epoch
 * before are dropped: a handful at each change, which TCP retransmits.
 *
 * Deriving needs the live TLS session, which the caller reaches through
 * `derive`; when it fails (channel down), the sender keeps its epoch and
 * the receiver cannot advance until a new session brings new keys.
 * Nothing here reads a clock or does I/O.
 */
#ifndef WANPAIR_KEYRING_H
#define WANPAIR_KEYRING_H

#include <stdint.h>

#include "crypto.h"

/* Fills key with epoch's key for this direction; 0, or -1. */
typedef int (*keyring_derive_fn)(
    void *arg, uint32_t epoch, uint8_t key[AEAD_KEY_LEN]);

/* 2^31: half of the 2^32 packets a GCM key may seal, so that a slow
 * control channel still leaves margin. */
#ifndef KEYRING_LIMIT /* a test build may make epochs short */
#define KEYRING_LIMIT (UINT64_C(1) << 31)
#endif
/* Packets between two attempts to derive a key that could not be. */
#define KEYRING_RETRY 65536

struct keyring {
	uint32_t          epoch;  /* of cur */
	struct aead      *cur;    /* epoch */
	struct aead      *next;   /* epoch + 1, NULL if not derived yet */
	uint64_t          sealed; /* packets sealed under cur */
	uint64_t          limit;
	uint64_t          retry_at; /* sealed count of the next try */
	keyring_derive_fn derive;
	void             *arg;
};

/* Epoch 0's key (given) and epoch 1's (derived).  0, or -1. */
int  keyring_init(struct keyring *, const uint8_t key0[AEAD_KEY_LEN],
     keyring_derive_fn, void *arg, uint64_t limit);
void keyring_free(struct keyring *);
/* The derive callback's argument changes (a new control connection). */
void keyring_set_arg(struct keyring *, void *arg);

/*
 * Sender: the key to seal the next packet with, and its phase bit.  When
 * `limit` packets are sealed under the current key, moves to the next
 * epoch first (*advanced = 1: the caller resets its nonce counters and
 * sends REKEY).  Never NULL after a successful init.
 */
struct aead *keyring_seal(struct keyring *, int *phase, int *advanced);

/*
 * Receiver: the key for a packet of `phase`: the current epoch's, or the
 * next one's (*is_next = 1) when the phase differs.  NULL if the next key
 * is not there.  After a packet opened with the next key, the caller
 * calls keyring_advance() (and resets its replay windows).
 */
struct aead *keyring_open(struct keyring *, int phase, int *is_next);
/* Makes the next epoch current and derives the one after.  0, or -1 (the
 * new epoch is current anyway; its successor will be derived later). */
int keyring_advance(struct keyring *);

#endif
