/*
 * One tunnel path: what both daemons do to a data-plane datagram between
 * the UDP socket and the TUN device.  A tunnel is one session as one of
 * an end's workers sees it: the keys it seals with (tx, one keyring:
 * keyring.h, the worker's own), and for each of the peer's workers the
 * keys it opens that worker's datagrams with (another keyring) and one
 * anti-replay window per wire link id.  The header's worker byte
 * (wire.h) picks them.  socketd's tx is the session's up direction,
 * popd's is down.
 *
 * The tunnel is state the caller owns (tunnel_new/tunnel_free); there
 * are no globals and no packet buffers in here: the caller passes its
 * own, so that each worker can have its buffers and its tunnels.
 *
 * Nothing here logs, reads a socket or touches the flow table.  What the
 * control side must hear (an epoch to announce with REKEY, the peer's move
 * to its next epoch, a key that sealed all it may, a probe answered) is
 * pushed on a bounded event queue (struct tunnel_evq) that the caller owns,
 * one per datagram loop: the loop drains it on the main loop after its
 * batch (an event made active, say), never in the middle of it.
 *
 * Deriving a key is control work too: tunnel_seal() and tunnel_open()
 * only use the next epoch's key derived ahead, and push NEED_KEY when its
 * slot is empty; the control side answers with tunnel_refill(), which
 * calls the caller's tunnel_derive_fn.
 */
#ifndef WANPAIR_TUNNEL_H
#define WANPAIR_TUNNEL_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "keyring.h"
#include "udpio.h"
#include "dgram.h"
#include "wire.h"

/* Wire link ids a tunnel keeps a replay window for: CONFIG_MAX_LINKS.
 * Both daemons refuse higher ids before opening anything. */
#define TUNNEL_LINKS 32
/* tunnel_new_links()'s `links`: every link id below TUNNEL_LINKS. */
#define TUNNEL_ALL_LINKS UINT32_MAX

enum tunnel_err {
	TUNNEL_ERR_SEAL = -1,      /* too large for out or the wire */
	TUNNEL_ERR_EXHAUSTED = -2, /* the key sealed all it may, no next */
	TUNNEL_ERR_REPLAY = -3,    /* seen already, too old, or no key */
	TUNNEL_ERR_AUTH = -4,      /* does not authenticate */
	TUNNEL_ERR_LINK = -5,      /* link id >= TUNNEL_LINKS */
	TUNNEL_ERR_FULL = -6,      /* no room in the send queue */
	TUNNEL_ERR_WORKER = -7,    /* from a worker the peer does not have */
	TUNNEL_ERR_STEER = -8      /* another worker of ours opens it */
};

enum tunnel_ev_kind {
	TUNNEL_EV_REKEY = 1,  /* tx moved to `epoch`: send REKEY */
	TUNNEL_EV_PEER_EPOCH, /* rx: the peer's packets moved to `epoch` */
	TUNNEL_EV_EXHAUSTED,  /* tx refused its 1st (65537th, ...) packet */
	TUNNEL_EV_PROBE,      /* a probe answered on `link`: seq, at_us */
	TUNNEL_EV_LINK_BACK,  /* a down `link` probes again (popd) */
	TUNNEL_EV_NEED_KEY,   /* `epoch`'s key is wanted: tunnel_refill();
				 `link` is 1 for the up direction's */
	TUNNEL_EV_LINK_DOWN,  /* the Socket's notice that `link` died
				 (popd, proto/linkdown.h): seq, cause */
	TUNNEL_EV_ENDPOINT    /* popd in a cluster: `link` came from a new
				 endpoint (the members are told) */
};

struct tunnel_ev {
	uint8_t  kind;    /* enum tunnel_ev_kind */
	uint8_t  link;    /* wire link id (PROBE, LINK_*) */
	uint8_t  worker;  /* whose keys: REKEY, EXHAUSTED and tx NEED_KEY
			     this end's, PEER_EPOCH and rx NEED_KEY the
			     peer's worker */
	uint8_t  cause;   /* LINK_DOWN: enum linkdown_cause */
	uint32_t session; /* of the tunnel that raised it */
	uint32_t epoch;   /* REKEY, PEER_EPOCH */
	uint32_t seq;     /* PROBE: the probe's sequence number; LINK_DOWN:
			     the notice's */
	uint64_t at_us;   /* PROBE: when the answer arrived (now_us()) */
	uint64_t count;   /* EXHAUSTED: packets refused by this tunnel */
};

/* A burst of 64 datagrams raises a few events at most; more pile up only
 * if nobody drains, and are then counted in `lost`, not kept. */
#define TUNNEL_EVQ_LEN 256

struct tunnel_evq {
	struct tunnel_ev ev[TUNNEL_EVQ_LEN];
	size_t           head, n;
	uint64_t         lost;
};

void tunnel_evq_init(struct tunnel_evq *);
/* 0, or -1 when full (the event is counted in `lost`). */
int tunnel_evq_push(struct tunnel_evq *, const struct tunnel_ev *);
/* 1 and the oldest event in *ev, or 0 when empty. */
int tunnel_evq_pop(struct tunnel_evq *, struct tunnel_ev *);

/* Fills key with epoch's key for the up (up = 1) or down direction, as
 * the sender's worker `worker` seals it (tls_data_key()). */
typedef int (*tunnel_derive_fn)(void *arg, uint32_t epoch, int up,
    uint8_t worker, uint8_t key[AEAD_KEY_LEN]);

struct tunnel;

/*
 * A tunnel for `session` as this end's worker `worker` (< PROTO_MAX_WORKERS)
 * sees it, sealing under that worker's keys and opening what any of the
 * peer's `peer_workers` (1..PROTO_MAX_WORKERS, as HELLO or WELCOME said)
 * sealed; tx_up says which direction tx is.  Every key comes from
 * `derive`: epoch 0's now, each next one ahead (tunnel_refill()).  Epochs
 * end after `limit` packets, and no key seals more than `hard`
 * (keyring.h: KEYRING_LIMIT and KEYRING_HARD_LIMIT in the daemons).
 * NULL when out of memory, a key cannot be derived, or the limits or
 * worker counts are wrong.  tunnel_free() it.
 */
struct tunnel *tunnel_new(uint32_t session, int tx_up, unsigned worker,
    unsigned peer_workers, tunnel_derive_fn derive, void *arg, uint64_t limit,
    uint64_t hard);
/* The same, opening only the link ids whose bit is set in `links` (bit
 * n: link id n; a datagram on another is TUNNEL_ERR_LINK): an anti-replay
 * window (264 bytes) per link and peer worker, not per link id.  A PoP
 * passes the links a HELLO announced.  tunnel_new() is TUNNEL_ALL_LINKS;
 * NULL too for links 0. */
struct tunnel *tunnel_new_links(uint32_t session, int tx_up, unsigned worker,
    unsigned peer_workers, uint32_t links, tunnel_derive_fn derive, void *arg,
    uint64_t limit, uint64_t hard);
/* The same for an end of `workers` workers (tunnel_set_workers()): keys
 * and windows only for the peer's workers p steered to this one
 * (wire_steer(p, session, workers) == worker, wire.h), the others' never
 * derived nor allocated.  NULL too if worker is not
 * below workers. */
struct tunnel *tunnel_new_steered(uint32_t session, int tx_up, unsigned worker,
    unsigned workers, unsigned peer_workers, uint32_t links,
    tunnel_derive_fn derive, void *arg, uint64_t limit, uint64_t hard);
/*
 * Where a tunnel's keys start, for a popd of a cluster (doc/CLUSTER.md,
 * "Sessions across members"): tx seals under worker byte tx_worker (the
 * member's range, k * workers + worker) from epoch tx_epoch, and what
 * the peer's worker p sends opens from epoch rx_epoch[p] (NULL: 0), the
 * epochs the session's holder announced.
 */
struct tunnel_start {
	unsigned        tx_worker;
	uint32_t        tx_epoch;
	const uint32_t *rx_epoch; /* [peer_workers], or NULL */
};

/* tunnel_new_steered() with keys from *st (NULL: tx_worker = worker, every
 * epoch 0, as tunnel_new_steered()). */
struct tunnel *tunnel_new_at(uint32_t session, int tx_up, unsigned worker,
    unsigned workers, unsigned peer_workers, uint32_t links,
    const struct tunnel_start *st, tunnel_derive_fn derive, void *arg,
    uint64_t limit, uint64_t hard);
/* Wipes the keys and frees; NULL is fine. */
void     tunnel_free(struct tunnel *);
uint32_t tunnel_session(const struct tunnel *);
uint32_t tunnel_tx_epoch(const struct tunnel *);
/* The epoch of what the peer's worker `worker` sends (0 past its
 * workers). */
uint32_t tunnel_rx_epoch(const struct tunnel *, unsigned worker);
/* The peer's workers, as tunnel_new() was told. */
unsigned tunnel_peer_workers(const struct tunnel *);
/*
 * This end runs `workers` workers, each with a tunnel of its own for the
 * session (1 until told): the tunnel of worker w opens only what the
 * peer's workers p with wire_steer(p, session, workers) == w sealed
 * (wire.h; TUNNEL_ERR_STEER for the others), so that each of the peer's
 * (worker, link) replay windows is in one tunnel only and no datagram is
 * accepted twice, whichever socket took it.  0, or -1 if workers is 0, over PROTO_MAX_WORKERS,
 * not above this tunnel's worker, or would open a peer worker whose keys
 * tunnel_new_steered() left out.
 */
int tunnel_set_workers(struct tunnel *, unsigned workers);
/* The control side, on NEED_KEY: derives the next epoch's keys that are
 * not there.  0, or -1 if deriving failed (asked again later). */
int tunnel_refill(struct tunnel *);
/* Forgets what link_id received (a new link took a removed one's id). */
void tunnel_link_reset(struct tunnel *, uint8_t link_id);

/*
 * Seals `inner` as a datagram of `type` on wire link `link_id` into out:
 * header, then ciphertext and tag, under the next counter of that link id
 * (keyring_seal(): no counter is handed out twice under one key).
 * Returns its length, TUNNEL_ERR_SEAL or TUNNEL_ERR_EXHAUSTED (drop and
 * count it).  May push REKEY, NEED_KEY or EXHAUSTED on q.  `inner` may be
 * out + WIRE_HDR_LEN.
 */
int tunnel_seal(struct tunnel *, struct tunnel_evq *q, uint8_t type,
    uint8_t link_id, const uint8_t *inner, size_t len, uint8_t *out,
    size_t outlen);

/*
 * Opens the datagram whose header the caller decoded into hdr (and
 * matched to this tunnel by hdr->session): the keys and replay windows
 * of the peer's worker hdr->worker, replay window of hdr->link_id, key
 * by the phase bit, authentication, then the window records the
 * counter.  The first packet under that worker's next epoch makes it
 * current for that worker, starts its windows over and pushes
 * PEER_EPOCH and NEED_KEY (for the epoch after).
 * Returns the inner length (written to out, which may be dgram +
 * WIRE_HDR_LEN), or TUNNEL_ERR_REPLAY, TUNNEL_ERR_AUTH, TUNNEL_ERR_LINK,
 * TUNNEL_ERR_WORKER.
 */
int tunnel_open(struct tunnel *, struct tunnel_evq *q,
    const struct wire_hdr *hdr, const uint8_t *dgram, size_t len, uint8_t *out,
    size_t outlen);

/*
 * Opens again a datagram this tunnel opened already: its counter must be
 * one the window recorded (and still holds), under the current key; the
 * window and the keys are left as they are, no event is pushed.  For a
 * PoP whose cluster member returned a site's datagram it had forwarded
 * (popd/forward.c: FIRST), over the authenticated, replay-checked
 * cluster link.  Returns as tunnel_open(); TUNNEL_ERR_REPLAY for a
 * counter never accepted or out of the window.
 */
int tunnel_reopen(struct tunnel *, const struct wire_hdr *hdr,
    const uint8_t *dgram, size_t len, uint8_t *out, size_t outlen);

/* What a data path drops, by reason (the counters' "drops"). */
struct tunnel_drops {
	uint64_t bad_header;    /* not a datagram of ours: the caller's */
	uint64_t no_session;    /* no such session or link here: caller's */
	uint64_t replay;        /* seen, too old, or its key not there */
	uint64_t auth;          /* does not authenticate */
	uint64_t key_exhausted; /* the tx key sealed all it may */
	uint64_t wrong_worker;  /* a peer worker another worker opens */
};

/* Adds each of src's counts to dst's (workers' drops summed). */
void tunnel_drops_add(struct tunnel_drops *dst, const struct tunnel_drops *src);

/* tunnel_seal() and tunnel_open(), counting what they refuse in d (a
 * link id past TUNNEL_LINKS or a worker past the peer's as a bad
 * header, a worker of the peer's that another worker of ours opens as
 * wrong_worker).  A seal too large for the
 * wire is the caller's to count. */
int tunnel_seal_count(struct tunnel *, struct tunnel_evq *,
    struct tunnel_drops *d, uint8_t type, uint8_t link_id, const uint8_t *inner,
    size_t len, uint8_t *out, size_t outlen);
int tunnel_open_count(struct tunnel *, struct tunnel_evq *,
    struct tunnel_drops *d, const struct wire_hdr *hdr, const uint8_t *dgram,
    size_t len, uint8_t *out, size_t outlen);

/*
 * tunnel_seal_count() straight into io's send queue (common/udpio.h) for
 * dst (NULL on a connected socket), sending what io holds first when it
 * is full (udpio_send()).  Returns the datagram's length, a TUNNEL_ERR_*,
 * or TUNNEL_ERR_FULL: no room even then.
 */
int tunnel_seal_udp(struct tunnel *, struct tunnel_evq *,
    struct tunnel_drops *d, struct udpio *io, uint8_t type, uint8_t link_id,
    const uint8_t *inner, size_t len, const struct sockaddr *dst,
    socklen_t dstlen);

/* One datagram of a batch: the caller's buffers, and the result. */
struct tunnel_msg {
	const uint8_t  *in;   /* inner (seal) or datagram (open) */
	size_t          len;  /* of in */
	uint8_t        *out;  /* datagram (seal) or inner (open) */
	size_t          cap;  /* of out */
	uint8_t         type; /* seal: WIRE_* */
	uint8_t         link; /* seal: wire link id */
	struct wire_hdr hdr;  /* open: decoded by the caller */
	int             res;  /* length or TUNNEL_ERR_*, per call above */
};

/* tunnel_seal() / tunnel_open() over msgs[0..n), in order; returns how
 * many succeeded. */
size_t tunnel_seal_batch(
    struct tunnel *, struct tunnel_evq *, struct tunnel_msg *, size_t n);
size_t tunnel_open_batch(
    struct tunnel *, struct tunnel_evq *, struct tunnel_msg *, size_t n);

/* CLOCK_MONOTONIC in milliseconds: the daemons' time for probes, health
 * and flows. */
uint64_t now_ms(void);
/* The same clock in microseconds, for probe round trips: now_us() / 1000
 * is what now_ms() returns at that instant (both truncate). */
uint64_t now_us(void);

#endif
