#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "clusterlink.h"
#include "crypto.h"

/* HKDF label of the link keys (clusterkey_derive()); the context is
 * from ‖ the sender's incarnation ‖ to ‖ generation, big-endian. */
#define LINK_LABEL   "link"
#define LINK_CTX_LEN (4 + 4 + 4 + 8)

struct peer {
	uint32_t id;
	uint32_t inc; /* its incarnation: in the keys of what it sends */
	/* The highest generation of this incarnation authenticated before
	 * it last left: nothing at or below it opens again. */
	uint64_t floor_gen;
	int      floor_have;
	/* Sending to the peer: the key of tx_gen, the next counter. */
	struct aead *tx;
	uint64_t     tx_gen;
	uint64_t     tx_next;
	/* Receiving from it: the key and window of rx_gen once one packet
	 * authenticated (rx_have); cand holds the key of a higher
	 * generation being tried, kept so that the packets of a peer's new
	 * generation in one batch derive once. */
	struct aead         *rx;
	uint64_t             rx_gen;
	int                  rx_have;
	struct replay_window win;
	struct aead         *cand;
	uint64_t             cand_gen;
	int                  cand_have;
};

/* What is kept of a member that left: its incarnation and the floor
 * of its generations, for its return (clusterlink_peer_add()). */
struct gone {
	uint32_t id, inc;
	uint64_t floor;
};

struct clusterlink {
	struct clusterkey           key;
	uint32_t                    self;
	uint32_t                    inc; /* this process's incarnation */
	struct gone                 gone[CLUSTERLINK_MAX_PEERS];
	size_t                      ngone;
	uint64_t                    gen;   /* the next generation a key takes */
	uint64_t                    limit; /* packets per send key */
	struct peer                 peers[CLUSTERLINK_MAX_PEERS];
	size_t                      npeers;
	struct clusterlink_counters c;
};

static int
link_key(const struct clusterlink *cl, uint32_t from, uint32_t inc, uint32_t to,
    uint64_t gen, uint8_t key[AEAD_KEY_LEN])
{
	uint8_t ctx[LINK_CTX_LEN];

	POKE_U32(ctx, from);
	POKE_U32(ctx + 4, inc);
	POKE_U32(ctx + 8, to);
	POKE_U64(ctx + 12, gen);
	return clusterkey_derive(
	    &cl->key, LINK_LABEL, ctx, sizeof(ctx), key, AEAD_KEY_LEN);
}

/* A key for the context of an aead that has none of its own yet: the
 * contexts are made when a member joins, so that receiving never
 * allocates, and rekeyed before use. */
static const uint8_t nokey[AEAD_KEY_LEN];

static struct peer *
peer_find(struct clusterlink *cl, uint32_t id)
{
	size_t i;

	for (i = 0; i < cl->npeers; i++)
		if (cl->peers[i].id == id)
			return &cl->peers[i];
	return NULL;
}

static void
peer_clear(struct peer *p)
{
	aead_free(p->tx);
	aead_free(p->rx);
	aead_free(p->cand);
	OPENSSL_cleanse(p, sizeof(*p));
}

struct clusterlink *
clusterlink_new(const struct clusterkey *key, uint32_t self,
    uint32_t incarnation, uint64_t generation, uint64_t limit)
{
	struct clusterlink *cl;

	if (self == 0 || limit == 0 || limit > CLUSTERLINK_LIMIT)
		return NULL;
	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		return NULL;
	cl->key = *key;
	cl->self = self;
	cl->inc = incarnation;
	cl->gen = generation;
	cl->limit = limit;
	return cl;
}

void
clusterlink_free(struct clusterlink *cl)
{
	size_t i;

	if (cl == NULL)
		return;
	for (i = 0; i < cl->npeers; i++)
		peer_clear(&cl->peers[i]);
	clusterkey_wipe(&cl->key);
	OPENSSL_cleanse(cl, sizeof(*cl));
	free(cl);
}

/* The next generation toward p: a key no (self, p, generation) had. */
static int
tx_rekey(struct clusterlink *cl, struct peer *p)
{
	uint8_t k[AEAD_KEY_LEN];
	int     r = -1;

	if (cl->gen == UINT64_MAX)
		return -1;
	if (link_key(cl, cl->self, cl->inc, p->id, cl->gen, k) == -1)
		goto out;
	if (p->tx == NULL)
		p->tx = aead_new(k);
	else if (aead_rekey(p->tx, k) == -1) {
		aead_free(p->tx);
		p->tx = NULL;
	}
	if (p->tx == NULL)
		goto out;
	p->tx_gen = cl->gen++;
	p->tx_next = 0;
	r = 0;
out:
	OPENSSL_cleanse(k, sizeof(k));
	return r;
}

/* The record of member id that left, or NULL. */
static struct gone *
gone_find(struct clusterlink *cl, uint32_t id)
{
	size_t i;

	for (i = 0; i < cl->ngone; i++)
		if (cl->gone[i].id == id)
			return &cl->gone[i];
	return NULL;
}

static void
gone_drop(struct clusterlink *cl, struct gone *g)
{
	size_t i = (size_t)(g - cl->gone);

	memmove(&cl->gone[i], &cl->gone[i + 1],
	    (cl->ngone - i - 1) * sizeof(cl->gone[0]));
	cl->ngone--;
}

int
clusterlink_peer_add(struct clusterlink *cl, uint32_t id, uint32_t incarnation)
{
	struct peer *p;
	struct gone *g;

	if (id == 0 || id == cl->self || peer_find(cl, id) != NULL ||
	    cl->npeers == CLUSTERLINK_MAX_PEERS)
		return -1;
	p = &cl->peers[cl->npeers];
	memset(p, 0, sizeof(*p));
	p->id = id;
	p->inc = incarnation;
	/* Back in the same life (a partition, corosync lost and found):
	 * what it sent before it left stays refused.  Another life's
	 * packets do not authenticate: its keys had another incarnation. */
	if ((g = gone_find(cl, id)) != NULL) {
		if (g->inc == incarnation) {
			p->floor_gen = g->floor;
			p->floor_have = 1;
		}
		gone_drop(cl, g);
	}
	if ((p->rx = aead_new(nokey)) == NULL ||
	    (p->cand = aead_new(nokey)) == NULL || tx_rekey(cl, p) == -1) {
		peer_clear(p);
		return -1;
	}
	replay_init(&p->win);
	cl->npeers++;
	return 0;
}

int
clusterlink_peer_remove(struct clusterlink *cl, uint32_t id)
{
	struct peer *p;
	struct gone *g;
	size_t       i;

	if ((p = peer_find(cl, id)) == NULL)
		return -1;
	if (p->rx_have || p->floor_have) {
		if ((g = gone_find(cl, id)) != NULL)
			gone_drop(cl, g);
		if (cl->ngone == CLUSTERLINK_MAX_PEERS) /* the oldest goes */
			gone_drop(cl, &cl->gone[0]);
		g = &cl->gone[cl->ngone++];
		g->id = id;
		g->inc = p->inc;
		/* rx_gen, once set, is above any floor (the floor and
		 * below never open). */
		g->floor = p->rx_have ? p->rx_gen : p->floor_gen;
	}
	i = (size_t)(p - cl->peers);
	peer_clear(p);
	if (i != cl->npeers - 1)
		cl->peers[i] = cl->peers[cl->npeers - 1];
	memset(&cl->peers[cl->npeers - 1], 0, sizeof(cl->peers[0]));
	cl->npeers--;
	return 0;
}

int
clusterlink_seal(struct clusterlink *cl, struct cw_hdr *h, const uint8_t *inner,
    size_t len, uint8_t *out, size_t outlen)
{
	struct peer *p;
	uint8_t      nonce[CW_NONCE_LEN];
	int          n;

	if ((p = peer_find(cl, h->to)) == NULL || p->tx == NULL || len == 0 ||
	    len > CW_MAX_INNER || outlen < CW_OVERHEAD + len)
		goto fail;
	h->version = CW_VERSION;
	h->from = cl->self;
	if (cw_hdr_check(h) != CW_OK)
		goto fail;
	if (p->tx_next >= cl->limit) {
		if (tx_rekey(cl, p) == -1)
			goto fail;
		cl->c.rekeyed++;
	}
	h->generation = p->tx_gen;
	h->counter = p->tx_next++;
	if (cw_hdr_encode(h, out, outlen) != CW_HDR_LEN)
		goto fail;
	cw_nonce(h->from, h->counter, nonce);
	n = aead_seal(
	    p->tx, nonce, out, CW_HDR_LEN, inner, len, out + CW_HDR_LEN);
	if (n == -1)
		goto fail;
	cl->c.sealed++;
	return CW_HDR_LEN + n;
fail:
	cl->c.seal_fail++;
	return -1;
}

static int
drop(struct clusterlink *cl, int reason)
{
	cl->c.drops[-reason]++;
	return reason;
}

/*
 * The AAD is the datagram's own header bytes, not a re-encoding of *h:
 * what is authenticated is exactly what came off the wire.
 */
static int
open_with(struct aead *a, const struct cw_hdr *h, const uint8_t *pkt,
    size_t len, uint8_t *out)
{
	uint8_t nonce[CW_NONCE_LEN];

	cw_nonce(h->from, h->counter, nonce);
	return aead_open(
	    a, nonce, pkt, CW_HDR_LEN, pkt + CW_HDR_LEN, len - CW_HDR_LEN, out);
}

int
clusterlink_open(struct clusterlink *cl, const uint8_t *pkt, size_t len,
    struct cw_hdr *hout, uint8_t *out, size_t outlen)
{
	struct cw_hdr h;
	struct peer  *p;
	struct aead  *tmp;
	uint8_t       k[AEAD_KEY_LEN];
	int           rc, n;

	if ((rc = cw_hdr_decode(pkt, len, &h)) != CW_OK)
		return drop(cl, rc);
	if (h.to != cl->self)
		return drop(cl, CW_ERR_NOT_MINE);
	if ((p = peer_find(cl, h.from)) == NULL)
		return drop(cl, CW_ERR_PEER);
	/* The caller's buffer: cw_hdr_decode() held len to CW_MAX_PKT, so
	 * one of CW_MAX_INNER bytes always fits. */
	if (outlen < len - CW_OVERHEAD)
		return drop(cl, CW_ERR_OVERSIZED);
	if ((p->rx_have && h.generation < p->rx_gen) ||
	    (p->floor_have && h.generation <= p->floor_gen))
		return drop(cl, CW_ERR_STALE);
	if (p->rx_have && h.generation == p->rx_gen) {
		if (replay_check(&p->win, h.counter) == -1)
			return drop(cl, CW_ERR_REPLAY);
		if ((n = open_with(p->rx, &h, pkt, len, out)) == -1)
			return drop(cl, CW_ERR_TAG);
	} else {
		/* A generation newer than the one we follow (or the first
		 * we see): its key, and a fresh window if it opens. */
		if (h.counter == UINT64_MAX)
			return drop(cl, CW_ERR_REPLAY);
		if (!p->cand_have || p->cand_gen != h.generation) {
			p->cand_have = 0;
			rc = link_key(
			    cl, h.from, p->inc, cl->self, h.generation, k);
			if (rc == 0)
				rc = aead_rekey(p->cand, k);
			OPENSSL_cleanse(k, sizeof(k));
			if (rc == -1)
				return drop(cl, CW_ERR_TAG);
			p->cand_have = 1;
			p->cand_gen = h.generation;
		}
		if ((n = open_with(p->cand, &h, pkt, len, out)) == -1)
			return drop(cl, CW_ERR_TAG);
		tmp = p->rx;
		p->rx = p->cand;
		p->cand = tmp;
		p->cand_have = 0;
		p->rx_gen = h.generation;
		p->rx_have = 1;
		replay_init(&p->win);
		cl->c.followed++;
	}
	/* Authentic from here: the counter is recorded even if the inner
	 * packet is refused, so that its replay is a replay. */
	replay_update(&p->win, h.counter);
	if ((rc = cw_inner_check(h.origin, out, (size_t)n)) != CW_OK)
		return drop(cl, rc);
	cl->c.opened++;
	*hout = h;
	return n;
}

const struct clusterlink_counters *
clusterlink_counters(const struct clusterlink *cl)
{
	return &cl->c;
}
