#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "tunnel.h"

struct tunnel {
	uint32_t             session;
	int                  tx_up;
	tunnel_derive_fn     derive;
	void                *arg;
	struct keyring      *tx, *rx;
	uint64_t             exhausted; /* packets tx refused */
	uint64_t             keyless;   /* rx: next-phase packets, no key */
	struct replay_window window[TUNNEL_LINKS];
};

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
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

/* An event of this tunnel; `link` is NEED_KEY's direction (1: up). */
static void
push(struct tunnel *t, struct tunnel_evq *q, uint8_t kind, uint32_t epoch,
    int link)
{
	struct tunnel_ev ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.session = t->session;
	ev.epoch = epoch;
	ev.link = (uint8_t)link;
	ev.count = t->exhausted;
	(void)tunnel_evq_push(q, &ev);
}

static int
derive_tx(void *arg, uint32_t epoch, uint8_t key[AEAD_KEY_LEN])
{
	struct tunnel *t = arg;

	return t->derive(t->arg, epoch, t->tx_up, key);
}

static int
derive_rx(void *arg, uint32_t epoch, uint8_t key[AEAD_KEY_LEN])
{
	struct tunnel *t = arg;

	return t->derive(t->arg, epoch, !t->tx_up, key);
}

struct tunnel *
tunnel_new(uint32_t session, int tx_up, const uint8_t tx_key[AEAD_KEY_LEN],
    const uint8_t rx_key[AEAD_KEY_LEN], tunnel_derive_fn derive, void *arg,
    uint64_t limit, uint64_t hard)
{
	struct tunnel *t;
	size_t         i;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->session = session;
	t->tx_up = tx_up;
	t->derive = derive;
	t->arg = arg;
	for (i = 0; i < TUNNEL_LINKS; i++)
		replay_init(&t->window[i]);
	/* New keys, so counters from 0: the only way they start over
	 * besides a new epoch (keyring.h). */
	if ((t->tx = keyring_new(tx_key, derive_tx, t, limit, hard)) == NULL ||
	    (t->rx = keyring_new(rx_key, derive_rx, t, limit, hard)) == NULL) {
		tunnel_free(t);
		return NULL;
	}
	return t;
}

void
tunnel_free(struct tunnel *t)
{
	if (t == NULL)
		return;
	keyring_free(t->tx);
	keyring_free(t->rx);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}

int
tunnel_refill(struct tunnel *t)
{
	int tx = keyring_refill(t->tx), rx = keyring_refill(t->rx);

	/* The last epoch has nothing next, and that is no failure. */
	return (tx == -1 && keyring_wants(t->tx)) ||
		(rx == -1 && keyring_wants(t->rx))
	    ? -1
	    : 0;
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
tunnel_rx_epoch(const struct tunnel *t)
{
	return keyring_epoch(t->rx);
}

void
tunnel_link_reset(struct tunnel *t, uint8_t link_id)
{
	if (link_id < TUNNEL_LINKS)
		replay_init(&t->window[link_id]);
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
		push(t, q, TUNNEL_EV_REKEY, keyring_epoch(t->tx), 0);
	if (events & KEYRING_WANTS)
		push(t, q, TUNNEL_EV_NEED_KEY, keyring_epoch(t->tx) + 1,
		    t->tx_up);
	if (n == KEYRING_ERR_EXHAUSTED) {
		/* Said once, then every 65536 packets: the control side
		 * logs it, with the daemon's count. */
		if ((t->exhausted++ & 0xffff) == 0)
			push(
			    t, q, TUNNEL_EV_EXHAUSTED, keyring_epoch(t->tx), 0);
		return TUNNEL_ERR_EXHAUSTED;
	}
	return n < 0 ? TUNNEL_ERR_SEAL : n;
}

int
tunnel_open(struct tunnel *t, struct tunnel_evq *q, const struct wire_hdr *hdr,
    const uint8_t *dgram, size_t len, uint8_t *out, size_t outlen)
{
	struct replay_window *w;
	struct aead          *key;
	size_t                i;
	int                   n, is_next;

	if (hdr->link_id >= TUNNEL_LINKS)
		return TUNNEL_ERR_LINK;
	w = &t->window[hdr->link_id];
	key =
	    keyring_open(t->rx, (hdr->flags & WIRE_F_KEY_PHASE) != 0, &is_next);
	if (key == NULL) {
		/* The peer moved on and the key it moved to could not be
		 * derived yet: ask again, every KEYRING_RETRY of these. */
		if (t->keyless++ % KEYRING_RETRY == 0)
			push(t, q, TUNNEL_EV_NEED_KEY, keyring_epoch(t->rx) + 1,
			    !t->tx_up);
		return TUNNEL_ERR_REPLAY;
	}
	/* A new epoch's counters start over: its first packets are checked
	 * against fresh windows below, not this one. */
	if (!is_next && replay_check(w, hdr->counter) == -1)
		return TUNNEL_ERR_REPLAY;
	if ((n = dgram_open(key, hdr, dgram, len, out, outlen)) == -1)
		return TUNNEL_ERR_AUTH;
	if (is_next) {
		(void)keyring_advance(t->rx);
		t->keyless = 0;
		for (i = 0; i < TUNNEL_LINKS; i++)
			replay_init(&t->window[i]);
		push(t, q, TUNNEL_EV_PEER_EPOCH, keyring_epoch(t->rx), 0);
		push(t, q, TUNNEL_EV_NEED_KEY, keyring_epoch(t->rx) + 1,
		    !t->tx_up);
	}
	replay_update(w, hdr->counter);
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
	else if (n == TUNNEL_ERR_LINK)
		d->bad_header++;
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
