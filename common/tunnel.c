#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "tunnel.h"

/* What this end opens from one of the peer's workers: that worker's
 * keys and a replay window per wire link id.  Only it ever sees that
 * worker's counters, so the windows of two workers never meet. */
#define NO_SLOT 0xff

struct tunnel_rx {
	struct tunnel  *t;
	uint8_t         worker;
	struct keyring *keys;
	uint64_t        keyless; /* next-phase packets, no key */
	/* one per link of the tunnel's, by t->slot: a site announces a
	 * few of the 32 link ids, and each window is 264 bytes */
	struct replay_window *window;
};

struct tunnel {
	uint32_t          session;
	int               tx_up;
	uint8_t           worker; /* this end's: which peer workers it opens */
	uint8_t           tx_worker; /* the byte tx seals under (worker but
				      in a PoP cluster: tunnel_start) */
	unsigned          workers;   /* this end's: opens peer worker w only
				      if w % workers == worker */
	unsigned          peer_workers;
	tunnel_derive_fn  derive;
	void             *arg;
	struct keyring   *tx;
	uint64_t          exhausted; /* packets tx refused */
	struct tunnel_rx *rx;        /* [peer_workers] */
	unsigned          nlinks;    /* windows per rx */
	uint8_t slot[TUNNEL_LINKS];  /* link id -> window, or NO_SLOT */
};

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void
tunnel_evq_init(struct tunnel_evq *q)
{
	memset(q, 0, sizeof(*q));
}

int
tunnel_evq_push(struct tunnel_evq *q, const struct tunnel_ev *ev)
{
	if (q->n == TUNNEL_EVQ_LEN) {
		q->lost++;
		return -1;
	}
	q->ev[(q->head + q->n) % TUNNEL_EVQ_LEN] = *ev;
	q->n++;
	return 0;
}

int
tunnel_evq_pop(struct tunnel_evq *q, struct tunnel_ev *ev)
{
	if (q->n == 0)
		return 0;
	*ev = q->ev[q->head];
	q->head = (q->head + 1) % TUNNEL_EVQ_LEN;
	q->n--;
	return 1;
}

/* An event of this tunnel about `worker`'s keys; `link` is NEED_KEY's
 * direction (1: up). */
static void
push(struct tunnel *t, struct tunnel_evq *q, uint8_t kind, uint32_t epoch,
    int link, uint8_t worker)
{
	struct tunnel_ev ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.session = t->session;
	ev.epoch = epoch;
	ev.link = (uint8_t)link;
	ev.worker = worker;
	ev.count = t->exhausted;
	(void)tunnel_evq_push(q, &ev);
}

static int
derive_tx(void *arg, uint32_t epoch, uint8_t key[AEAD_KEY_LEN])
{
	struct tunnel *t = arg;

	return t->derive(t->arg, epoch, t->tx_up, t->tx_worker, key);
}

static int
derive_rx(void *arg, uint32_t epoch, uint8_t key[AEAD_KEY_LEN])
{
	struct tunnel_rx *r = arg;

	return r->t->derive(r->t->arg, epoch, !r->t->tx_up, r->worker, key);
}

struct tunnel *
tunnel_new(uint32_t session, int tx_up, unsigned worker, unsigned peer_workers,
    tunnel_derive_fn derive, void *arg, uint64_t limit, uint64_t hard)
{
	return tunnel_new_links(session, tx_up, worker, peer_workers,
	    TUNNEL_ALL_LINKS, derive, arg, limit, hard);
}

/* A tunnel with keys and windows for the peer workers p steered to this
 * one, wire_steer(p, session, steer) == worker, all of them for steer 0
 * (tunnel_set_workers() to come). */
static struct tunnel *tunnel_make(uint32_t session, int tx_up, unsigned worker,
    unsigned steer, unsigned peer_workers, uint32_t links,
    const struct tunnel_start *st, tunnel_derive_fn derive, void *arg,
    uint64_t limit, uint64_t hard);

struct tunnel *
tunnel_new_links(uint32_t session, int tx_up, unsigned worker,
    unsigned peer_workers, uint32_t links, tunnel_derive_fn derive, void *arg,
    uint64_t limit, uint64_t hard)
{
	return tunnel_make(session, tx_up, worker, 0, peer_workers, links, NULL,
	    derive, arg, limit, hard);
}

struct tunnel *
tunnel_new_steered(uint32_t session, int tx_up, unsigned worker,
    unsigned workers, unsigned peer_workers, uint32_t links,
    tunnel_derive_fn derive, void *arg, uint64_t limit, uint64_t hard)
{
	return tunnel_new_at(session, tx_up, worker, workers, peer_workers,
	    links, NULL, derive, arg, limit, hard);
}

struct tunnel *
tunnel_new_at(uint32_t session, int tx_up, unsigned worker, unsigned workers,
    unsigned peer_workers, uint32_t links, const struct tunnel_start *st,
    tunnel_derive_fn derive, void *arg, uint64_t limit, uint64_t hard)
{
	if (workers == 0 || workers > PROTO_MAX_WORKERS || worker >= workers)
		return NULL;
	return tunnel_make(session, tx_up, worker, workers, peer_workers, links,
	    st, derive, arg, limit, hard);
}

static struct tunnel *
tunnel_make(uint32_t session, int tx_up, unsigned worker, unsigned steer,
    unsigned peer_workers, uint32_t links, const struct tunnel_start *st,
    tunnel_derive_fn derive, void *arg, uint64_t limit, uint64_t hard)
{
	static const struct tunnel_start none;
	uint32_t                         e;
	unsigned                         tx_worker;

	struct tunnel *t;
	uint8_t        key[AEAD_KEY_LEN];
	size_t         i, j;

	if (st == NULL) {
		tx_worker = worker;
		st = &none;
	} else
		tx_worker = st->tx_worker;
	if (worker >= PROTO_MAX_WORKERS || tx_worker >= PROTO_MAX_WORKERS ||
	    peer_workers == 0 || peer_workers > PROTO_MAX_WORKERS || links == 0)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	memset(t->slot, NO_SLOT, sizeof(t->slot));
	for (j = 0; j < TUNNEL_LINKS; j++)
		if (links & UINT32_C(1) << j)
			t->slot[j] = (uint8_t)t->nlinks++;
	t->session = session;
	t->tx_up = tx_up;
	t->worker = (uint8_t)worker;
	t->tx_worker = (uint8_t)tx_worker;
	t->workers = steer != 0 ? steer : 1;
	t->peer_workers = peer_workers;
	t->derive = derive;
	t->arg = arg;
	if ((t->rx = calloc(peer_workers, sizeof(*t->rx))) == NULL)
		goto fail;
	/* New keys, so counters from 0: the only way they start over
	 * besides a new epoch (keyring.h). */
	if (derive_tx(t, st->tx_epoch, key) == -1 ||
	    (t->tx = keyring_new_at(key, st->tx_epoch, t->tx_worker, derive_tx,
		 t, limit, hard, AEAD_SEAL)) == NULL)
		goto fail;
	for (i = 0; i < peer_workers; i++) {
		struct tunnel_rx *r = &t->rx[i];

		r->t = t;
		r->worker = (uint8_t)i;
		/* Another worker of ours opens what that one seals: no
		 * keys, no windows here. */
		if (steer != 0 &&
		    wire_steer((unsigned)i, session, steer) != worker)
			continue;
		if ((r->window = calloc(t->nlinks, sizeof(*r->window))) == NULL)
			goto fail;
		for (j = 0; j < t->nlinks; j++)
			replay_init(&r->window[j]);
		e = st->rx_epoch != NULL ? st->rx_epoch[i] : 0;
		if (derive_rx(r, e, key) == -1 ||
		    (r->keys = keyring_new_at(key, e, r->worker, derive_rx, r,
			 limit, hard, AEAD_OPEN)) == NULL)
			goto fail;
	}
	OPENSSL_cleanse(key, sizeof(key));
	return t;
fail:
	OPENSSL_cleanse(key, sizeof(key));
	tunnel_free(t);
	return NULL;
}

void
tunnel_free(struct tunnel *t)
{
	size_t i;

	if (t == NULL)
		return;
	keyring_free(t->tx);
	if (t->rx != NULL) {
		for (i = 0; i < t->peer_workers; i++) {
			keyring_free(t->rx[i].keys);
			free(t->rx[i].window);
		}
		OPENSSL_cleanse(t->rx, t->peer_workers * sizeof(*t->rx));
		free(t->rx);
	}
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}

/* 1 if k could not give its next key, and has one to give. */
static int
refill_failed(struct keyring *k)
{
	/* The last epoch has nothing next, and that is no failure. */
	return keyring_refill(k) == -1 && keyring_wants(k);
}

int
tunnel_refill(struct tunnel *t)
{
	int    failed = refill_failed(t->tx);
	size_t i;

	for (i = 0; i < t->peer_workers; i++)
		if (t->rx[i].keys != NULL)
			failed |= refill_failed(t->rx[i].keys);
	return failed ? -1 : 0;
}

unsigned
tunnel_peer_workers(const struct tunnel *t)
{
	return t->peer_workers;
}

int
tunnel_set_workers(struct tunnel *t, unsigned workers)
{
	size_t i;

	if (workers == 0 || workers > PROTO_MAX_WORKERS || t->worker >= workers)
		return -1;
	/* Each peer worker this would open must have its keys here. */
	for (i = 0; i < t->peer_workers; i++)
		if (wire_steer((unsigned)i, t->session, workers) == t->worker &&
		    t->rx[i].keys == NULL)
			return -1;
	t->workers = workers;
	return 0;
}

uint32_t
tunnel_session(const struct tunnel *t)
{
	return t->session;
}

uint32_t
tunnel_tx_epoch(const struct tunnel *t)
{
	return keyring_epoch(t->tx);
}

uint32_t
tunnel_rx_epoch(const struct tunnel *t, unsigned worker)
{
	return worker < t->peer_workers && t->rx[worker].keys != NULL
	    ? keyring_epoch(t->rx[worker].keys)
	    : 0;
}

void
tunnel_link_reset(struct tunnel *t, uint8_t link_id)
{
	size_t i;

	if (link_id >= TUNNEL_LINKS || t->slot[link_id] == NO_SLOT)
		return;
	for (i = 0; i < t->peer_workers; i++)
		if (t->rx[i].window != NULL)
			replay_init(&t->rx[i].window[t->slot[link_id]]);
}

int
tunnel_seal(struct tunnel *t, struct tunnel_evq *q, uint8_t type,
    uint8_t link_id, const uint8_t *inner, size_t len, uint8_t *out,
    size_t outlen)
{
	int n, events;

	n = keyring_seal(
	    t->tx, type, link_id, t->session, inner, len, out, outlen, &events);
	if (events & KEYRING_ADVANCED)
		push(t, q, TUNNEL_EV_REKEY, keyring_epoch(t->tx), 0, t->worker);
	if (events & KEYRING_WANTS)
		push(t, q, TUNNEL_EV_NEED_KEY, keyring_epoch(t->tx) + 1,
		    t->tx_up, t->worker);
	if (n == KEYRING_ERR_EXHAUSTED) {
		/* Said once, then every 65536 packets: the control side
		 * logs it, with the daemon's count. */
		if ((t->exhausted++ & 0xffff) == 0)
			push(t, q, TUNNEL_EV_EXHAUSTED, keyring_epoch(t->tx), 0,
			    t->worker);
		return TUNNEL_ERR_EXHAUSTED;
	}
	return n < 0 ? TUNNEL_ERR_SEAL : n;
}

int
tunnel_open(struct tunnel *t, struct tunnel_evq *q, const struct wire_hdr *hdr,
    const uint8_t *dgram, size_t len, uint8_t *out, size_t outlen)
{
	struct tunnel_rx     *r;
	struct replay_window *w;
	struct aead          *key;
	size_t                i;
	int                   n, is_next;

	if (hdr->link_id >= TUNNEL_LINKS || t->slot[hdr->link_id] == NO_SLOT)
		return TUNNEL_ERR_LINK;
	/* Each of the peer's workers has its replay windows in exactly one
	 * of this end's tunnels: a datagram another worker's socket took
	 * (steering gone wrong, a socket reopened) is refused here, never
	 * checked against a second, fresh window. */
	if (hdr->worker >= t->peer_workers)
		return TUNNEL_ERR_WORKER;
	if (wire_steer(hdr->worker, t->session, t->workers) != t->worker)
		return TUNNEL_ERR_STEER;
	r = &t->rx[hdr->worker];
	w = &r->window[t->slot[hdr->link_id]];
	key = keyring_open(
	    r->keys, (hdr->flags & WIRE_F_KEY_PHASE) != 0, &is_next);
	if (key == NULL) {
		/* The peer moved on and the key it moved to could not be
		 * derived yet: ask again, every KEYRING_RETRY of these. */
		if (r->keyless++ % KEYRING_RETRY == 0)
			push(t, q, TUNNEL_EV_NEED_KEY,
			    keyring_epoch(r->keys) + 1, !t->tx_up, r->worker);
		return TUNNEL_ERR_REPLAY;
	}
	/* A new epoch's counters start over: its first packets are checked
	 * against fresh windows below, not this one. */
	if (!is_next && replay_check(w, hdr->counter) == -1)
		return TUNNEL_ERR_REPLAY;
	if ((n = dgram_open(key, hdr, dgram, len, out, outlen)) == -1)
		return TUNNEL_ERR_AUTH;
	if (is_next) {
		(void)keyring_advance(r->keys);
		r->keyless = 0;
		for (i = 0; i < t->nlinks; i++)
			replay_init(&r->window[i]);
		push(t, q, TUNNEL_EV_PEER_EPOCH, keyring_epoch(r->keys), 0,
		    r->worker);
		push(t, q, TUNNEL_EV_NEED_KEY, keyring_epoch(r->keys) + 1,
		    !t->tx_up, r->worker);
	}
	replay_update(w, hdr->counter);
	return n;
}

int
tunnel_reopen(struct tunnel *t, const struct wire_hdr *hdr,
    const uint8_t *dgram, size_t len, uint8_t *out, size_t outlen)
{
	struct tunnel_rx *r;
	struct aead      *key;
	int               n, is_next;

	if (hdr->link_id >= TUNNEL_LINKS || t->slot[hdr->link_id] == NO_SLOT)
		return TUNNEL_ERR_LINK;
	if (hdr->worker >= t->peer_workers)
		return TUNNEL_ERR_WORKER;
	if (wire_steer(hdr->worker, t->session, t->workers) != t->worker)
		return TUNNEL_ERR_STEER;
	r = &t->rx[hdr->worker];
	key = keyring_open(
	    r->keys, (hdr->flags & WIRE_F_KEY_PHASE) != 0, &is_next);
	/* A datagram opened before was under the current key: the next
	 * one would have become current then. */
	if (key == NULL || is_next ||
	    !replay_seen(&r->window[t->slot[hdr->link_id]], hdr->counter))
		return TUNNEL_ERR_REPLAY;
	if ((n = dgram_open(key, hdr, dgram, len, out, outlen)) == -1)
		return TUNNEL_ERR_AUTH;
	return n;
}

int
tunnel_seal_count(struct tunnel *t, struct tunnel_evq *q,
    struct tunnel_drops *d, uint8_t type, uint8_t link_id, const uint8_t *inner,
    size_t len, uint8_t *out, size_t outlen)
{
	int n = tunnel_seal(t, q, type, link_id, inner, len, out, outlen);

	d->key_exhausted += n == TUNNEL_ERR_EXHAUSTED;
	return n;
}

int
tunnel_open_count(struct tunnel *t, struct tunnel_evq *q,
    struct tunnel_drops *d, const struct wire_hdr *hdr, const uint8_t *dgram,
    size_t len, uint8_t *out, size_t outlen)
{
	int n = tunnel_open(t, q, hdr, dgram, len, out, outlen);

	if (n >= 0)
		return n;
	if (n == TUNNEL_ERR_AUTH)
		d->auth++;
	else if (n == TUNNEL_ERR_LINK || n == TUNNEL_ERR_WORKER)
		d->bad_header++;
	else if (n == TUNNEL_ERR_STEER)
		d->wrong_worker++;
	else
		d->replay++;
	return n;
}

int
tunnel_seal_udp(struct tunnel *t, struct tunnel_evq *q, struct tunnel_drops *d,
    struct udpio *io, uint8_t type, uint8_t link_id, const uint8_t *inner,
    size_t len, const struct sockaddr *dst, socklen_t dstlen)
{
	uint8_t *slot;
	size_t   cap = 0;
	int      n;

	if ((slot = udpio_slot(io, &cap)) == NULL ||
	    cap < len + WIRE_OVERHEAD) {
		(void)udpio_send(io);
		if ((slot = udpio_slot(io, &cap)) == NULL ||
		    cap < len + WIRE_OVERHEAD)
			return TUNNEL_ERR_FULL;
	}
	n = tunnel_seal_count(t, q, d, type, link_id, inner, len, slot, cap);
	if (n >= 0 && udpio_commit(io, (size_t)n, dst, dstlen) == -1)
		return TUNNEL_ERR_SEAL;
	return n;
}

size_t
tunnel_seal_batch(
    struct tunnel *t, struct tunnel_evq *q, struct tunnel_msg *m, size_t n)
{
	size_t i, ok = 0;

	for (i = 0; i < n; i++) {
		m[i].res = tunnel_seal(t, q, m[i].type, m[i].link, m[i].in,
		    m[i].len, m[i].out, m[i].cap);
		ok += m[i].res >= 0;
	}
	return ok;
}

size_t
tunnel_open_batch(
    struct tunnel *t, struct tunnel_evq *q, struct tunnel_msg *m, size_t n)
{
	size_t i, ok = 0;

	for (i = 0; i < n; i++) {
		m[i].res = tunnel_open(
		    t, q, &m[i].hdr, m[i].in, m[i].len, m[i].out, m[i].cap);
		ok += m[i].res >= 0;
	}
	return ok;
}

void
tunnel_drops_add(struct tunnel_drops *dst, const struct tunnel_drops *src)
{
	dst->bad_header += src->bad_header;
	dst->no_session += src->no_session;
	dst->replay += src->replay;
	dst->auth += src->auth;
	dst->key_exhausted += src->key_exhausted;
	dst->wrong_worker += src->wrong_worker;
}
