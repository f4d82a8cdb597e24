/*
 * One tunnel path (common/tunnel.c) as both daemons use it: a Socket's
 * tunnel (seals up, opens down) facing a PoP's (seals down, opens up).
 * What a user would notice: a packet arrives intact, a replayed or forged
 * one does not, the keys move on after `limit` packets and both ends
 * follow, the control side hears of it by events and never twice by
 * mistake, and no (epoch, link id, counter) is ever sealed twice.
 *
 * Keys come from a fake derive: epoch e, direction up is 2e + up in every
 * byte, so the two ends derive the same keys without a TLS session.
 */
#include "autoconf.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "proto.h"
#include "tunnel.h"
#include "wire.h"

static int derive_ok = 1;
static int derives; /* fake_derive calls */

static int
fake_derive(void *arg, uint32_t epoch, int up, uint8_t worker,
    uint8_t key[AEAD_KEY_LEN])
{
	(void)arg;
	derives++;
	/* Epoch 0's keys come with the session (its channel is up then);
	 * derive_ok = 0 is the channel gone since. */
	if (!derive_ok && epoch > 0)
		return -1;
	memset(
	    key, (int)(2 * epoch + (up ? 1 : 0) + 97u * worker), AEAD_KEY_LEN);
	return 0;
}

static int
no_derive(void *arg, uint32_t epoch, int up, uint8_t worker,
    uint8_t key[AEAD_KEY_LEN])
{
	(void)arg;
	(void)epoch;
	(void)up;
	(void)worker;
	(void)key;
	return -1;
}

struct pair {
	struct tunnel    *socket, *pop;
	struct tunnel_evq sq, pq; /* each end's event queue */
};

static void
pair_new(struct pair *p, uint64_t limit, uint64_t hard)
{
	p->socket = tunnel_new(0x5e55, 1, 0, 1, fake_derive, NULL, limit, hard);
	p->pop = tunnel_new(0x5e55, 0, 0, 1, fake_derive, NULL, limit, hard);
	ck_assert_ptr_nonnull(p->socket);
	ck_assert_ptr_nonnull(p->pop);
	tunnel_evq_init(&p->sq);
	tunnel_evq_init(&p->pq);
}

/*
 * The control side after a batch: derives the keys asked for (NEED_KEY),
 * and leaves the other events on q, in order, for the test to look at.
 * Returns how many NEED_KEY it served.
 */
static int
serve_keys(struct tunnel *t, struct tunnel_evq *q)
{
	struct tunnel_evq rest;
	struct tunnel_ev  ev;
	int               n = 0;

	tunnel_evq_init(&rest);
	while (tunnel_evq_pop(q, &ev)) {
		if (ev.kind == TUNNEL_EV_NEED_KEY) {
			ck_assert_uint_eq(ev.session, tunnel_session(t));
			(void)tunnel_refill(t);
			n++;
		} else
			ck_assert_int_eq(tunnel_evq_push(&rest, &ev), 0);
	}
	while (tunnel_evq_pop(&rest, &ev))
		ck_assert_int_eq(tunnel_evq_push(q, &ev), 0);
	return n;
}

/* The next event that is not NEED_KEY (those are served), or 0. */
static int
next_ev(struct tunnel *t, struct tunnel_evq *q, struct tunnel_ev *ev)
{
	(void)serve_keys(t, q);
	return tunnel_evq_pop(q, ev);
}

static void
pair_free(struct pair *p)
{
	tunnel_free(p->socket);
	tunnel_free(p->pop);
}

/* Seals msg on link from `from`, opens it at `to`; the open's result. */
static int
send_one(struct tunnel *from, struct tunnel_evq *fq, struct tunnel *to,
    struct tunnel_evq *tq, uint8_t link, const char *msg, uint8_t *dgram,
    int *dlen, struct wire_hdr *h)
{
	uint8_t out[256];
	int     n;

	n = tunnel_seal(from, fq, WIRE_DATA, link, (const uint8_t *)msg,
	    strlen(msg), dgram, 256);
	(void)serve_keys(from, fq);
	ck_assert_int_eq(n, WIRE_OVERHEAD + (int)strlen(msg));
	*dlen = n;
	ck_assert_int_eq(wire_hdr_decode(dgram, (size_t)n, h), WIRE_OK);
	ck_assert_uint_eq(h->session, 0x5e55);
	ck_assert_uint_eq(h->link_id, link);
	n = tunnel_open(to, tq, h, dgram, (size_t)n, out, sizeof(out));
	(void)serve_keys(to, tq);
	if (n >= 0) {
		ck_assert_int_eq(n, (int)strlen(msg));
		ck_assert_mem_eq(out, msg, strlen(msg));
	}
	return n;
}

START_TEST(round_trip_both_ways)
{
	struct pair     p;
	struct wire_hdr h;
	uint8_t         d[256];
	int             n;

	derive_ok = 1;
	pair_new(&p, 1000, 2000);
	ck_assert_int_eq(send_one(p.socket, &p.sq, p.pop, &p.pq, 2,
			     "hello from the LAN", d, &n, &h),
	    18);
	ck_assert_int_eq(send_one(p.pop, &p.pq, p.socket, &p.sq, 2,
			     "and back from the PoP", d, &n, &h),
	    21);
	/* Each direction has its own key: a datagram does not open at the
	 * end that sealed it. */
	ck_assert_int_eq(
	    send_one(p.socket, &p.sq, p.socket, &p.sq, 1, "mirror", d, &n, &h),
	    TUNNEL_ERR_AUTH);
	ck_assert_uint_eq(p.sq.n + p.pq.n, 0);
	pair_free(&p);
}
END_TEST

START_TEST(replay_and_forgery_refused)
{
	struct pair     p;
	struct wire_hdr h;
	uint8_t         d[256], bad[256], out[256];
	int             n;

	derive_ok = 1;
	pair_new(&p, 1000, 2000);
	ck_assert_int_ge(
	    send_one(p.socket, &p.sq, p.pop, &p.pq, 0, "once", d, &n, &h), 0);
	/* the same datagram again */
	ck_assert_int_eq(
	    tunnel_open(p.pop, &p.pq, &h, d, (size_t)n, out, sizeof(out)),
	    TUNNEL_ERR_REPLAY);
	/* a forged one: a flipped bit fails, and does not use up the
	 * counter of the genuine one that follows */
	n = tunnel_seal(p.socket, &p.sq, WIRE_DATA, 0,
	    (const uint8_t *)"genuine", 7, d, sizeof(d));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(wire_hdr_decode(d, (size_t)n, &h), WIRE_OK);
	memcpy(bad, d, (size_t)n);
	bad[n - 1] ^= 1;
	ck_assert_int_eq(
	    tunnel_open(p.pop, &p.pq, &h, bad, (size_t)n, out, sizeof(out)),
	    TUNNEL_ERR_AUTH);
	ck_assert_int_eq(
	    tunnel_open(p.pop, &p.pq, &h, d, (size_t)n, out, sizeof(out)), 7);
	/* a link id past the windows */
	h.link_id = TUNNEL_LINKS;
	ck_assert_int_eq(
	    tunnel_open(p.pop, &p.pq, &h, d, (size_t)n, out, sizeof(out)),
	    TUNNEL_ERR_LINK);
	pair_free(&p);
}
END_TEST

/* Each link has its own window: counter 0 on link 1 and on link 2 both
 * open, and a reset link takes its counters again. */
START_TEST(windows_per_link)
{
	struct pair     p;
	struct wire_hdr h1, h2;
	uint8_t         d1[256], d2[256], out[256];
	int             n1, n2;

	derive_ok = 1;
	pair_new(&p, 1000, 2000);
	ck_assert_int_eq(
	    send_one(p.socket, &p.sq, p.pop, &p.pq, 1, "one", d1, &n1, &h1), 3);
	ck_assert_int_eq(
	    send_one(p.socket, &p.sq, p.pop, &p.pq, 2, "two", d2, &n2, &h2), 3);
	ck_assert_uint_eq(h1.counter, 0);
	ck_assert_uint_eq(h2.counter, 0);
	tunnel_link_reset(p.pop, 1);
	ck_assert_int_eq(
	    tunnel_open(p.pop, &p.pq, &h1, d1, (size_t)n1, out, sizeof(out)),
	    3);
	ck_assert_int_eq(
	    tunnel_open(p.pop, &p.pq, &h2, d2, (size_t)n2, out, sizeof(out)),
	    TUNNEL_ERR_REPLAY);
	pair_free(&p);
}
END_TEST

/*
 * A PoP's tunnel keeps windows for the links the HELLO announced (ids 1
 * and 5 here) and no others: those open, each with its own window, and
 * any other link id is refused before any key is tried.  A seal at the
 * PoP goes on, and the Socket opens it.
 */
START_TEST(windows_only_for_its_links)
{
	struct tunnel    *socket, *pop;
	struct tunnel_evq sq, pq;
	struct wire_hdr   h1, h5, h2;
	uint8_t           d1[256], d5[256], d2[256], out[256];
	int               n1, n5, n2;

	derive_ok = 1;
	socket = tunnel_new(0x5e55, 1, 0, 1, fake_derive, NULL, 1000, 2000);
	pop = tunnel_new_links(
	    0x5e55, 0, 0, 1, 1u << 1 | 1u << 5, fake_derive, NULL, 1000, 2000);
	ck_assert_ptr_nonnull(socket);
	ck_assert_ptr_nonnull(pop);
	ck_assert_ptr_null(
	    tunnel_new_links(1, 0, 0, 1, 0, fake_derive, NULL, 1000, 2000));
	tunnel_evq_init(&sq);
	tunnel_evq_init(&pq);
	ck_assert_int_eq(
	    send_one(socket, &sq, pop, &pq, 1, "one", d1, &n1, &h1), 3);
	ck_assert_int_eq(
	    send_one(socket, &sq, pop, &pq, 5, "five", d5, &n5, &h5), 4);
	ck_assert_int_eq(
	    send_one(socket, &sq, pop, &pq, 2, "two", d2, &n2, &h2),
	    TUNNEL_ERR_LINK);
	/* replays refused on both, then link 1's window alone reset */
	ck_assert_int_eq(
	    tunnel_open(pop, &pq, &h1, d1, (size_t)n1, out, sizeof(out)),
	    TUNNEL_ERR_REPLAY);
	tunnel_link_reset(pop, 1);
	tunnel_link_reset(pop, 2); /* none: nothing happens */
	ck_assert_int_eq(
	    tunnel_open(pop, &pq, &h1, d1, (size_t)n1, out, sizeof(out)), 3);
	ck_assert_int_eq(
	    tunnel_open(pop, &pq, &h5, d5, (size_t)n5, out, sizeof(out)),
	    TUNNEL_ERR_REPLAY);
	/* down: the PoP seals on any link, the Socket opens */
	ck_assert_int_eq(
	    send_one(pop, &pq, socket, &sq, 2, "down", d2, &n2, &h2), 4);
	tunnel_free(socket);
	tunnel_free(pop);
}
END_TEST

/* After `limit` packets the sender moves to the next epoch and raises
 * REKEY once; the receiver follows on the first packet and raises
 * PEER_EPOCH once; a packet of the old epoch is then refused. */
START_TEST(epoch_advance_raises_events)
{
	struct pair      p;
	struct tunnel_ev ev;
	struct wire_hdr  h, old;
	uint8_t          d[256], od[256], out[256];
	int              i, n, on = 0;

	derive_ok = 1;
	pair_new(&p, 10, 20);
	for (i = 0; i < 10; i++) {
		ck_assert_int_eq(
		    send_one(p.socket, &p.sq, p.pop, &p.pq, 0, "e0", d, &n, &h),
		    2);
		if (i == 8) {
			memcpy(od, d, (size_t)n);
			old = h;
			on = n;
		}
	}
	ck_assert_uint_eq(p.sq.n + p.pq.n, 0);
	ck_assert_uint_eq(tunnel_tx_epoch(p.socket), 0);
	ck_assert_int_eq(
	    send_one(p.socket, &p.sq, p.pop, &p.pq, 0, "e1", d, &n, &h), 2);
	ck_assert_uint_eq(tunnel_tx_epoch(p.socket), 1);
	ck_assert_uint_eq(tunnel_rx_epoch(p.pop, 0), 1);
	ck_assert_uint_eq(h.counter, 0); /* a new key's counters */
	ck_assert_int_eq(next_ev(p.socket, &p.sq, &ev), 1);
	ck_assert_uint_eq(ev.kind, TUNNEL_EV_REKEY);
	ck_assert_uint_eq(ev.epoch, 1);
	ck_assert_uint_eq(ev.session, 0x5e55);
	ck_assert_int_eq(next_ev(p.socket, &p.sq, &ev), 0);
	ck_assert_int_eq(next_ev(p.pop, &p.pq, &ev), 1);
	ck_assert_uint_eq(ev.kind, TUNNEL_EV_PEER_EPOCH);
	ck_assert_uint_eq(ev.epoch, 1);
	ck_assert_int_eq(next_ev(p.pop, &p.pq, &ev), 0);
	/* epoch 0's 9th packet, late: the phase says "next", and epoch 2's
	 * key does not open it */
	ck_assert_int_eq(
	    tunnel_open(p.pop, &p.pq, &old, od, (size_t)on, out, sizeof(out)),
	    TUNNEL_ERR_AUTH);
	ck_assert_uint_eq(tunnel_rx_epoch(p.pop, 0), 1);
	ck_assert_uint_eq(p.pq.n, 0);
	pair_free(&p);
}
END_TEST

/* The oldest event on q is of `kind` and `epoch`; it is in *ev. */
static void
pop_kind(
    struct tunnel_evq *q, uint8_t kind, uint32_t epoch, struct tunnel_ev *ev)
{
	ck_assert_int_eq(tunnel_evq_pop(q, ev), 1);
	ck_assert_uint_eq(ev->kind, kind);
	ck_assert_uint_eq(ev->epoch, epoch);
}

/*
 * Keys are derived on the control side only: sealing and opening use the
 * keys derived ahead and ask (NEED_KEY) for the next; a receiver whose
 * control side has not answered yet refuses the peer's new epoch, asks
 * again, and opens it once the key is there.
 */
START_TEST(keys_only_on_refill)
{
	struct pair      p;
	struct tunnel_ev ev;
	uint8_t          d[256], out[256];
	struct wire_hdr  h;
	int              i, n;

	derive_ok = 1;
	pair_new(&p, 2, 100);
	derives = 0;
	for (i = 0; i < 3; i++) /* the 3rd moves tx to epoch 1 */
		ck_assert_int_gt(tunnel_seal(p.socket, &p.sq, WIRE_DATA, 0,
				     (const uint8_t *)"x", 1, d, sizeof(d)),
		    0);
	ck_assert_int_eq(derives, 0);
	pop_kind(&p.sq, TUNNEL_EV_REKEY, 1, &ev);
	pop_kind(&p.sq, TUNNEL_EV_NEED_KEY, 2, &ev);
	ck_assert_uint_eq(ev.link, 1); /* socketd's tx is up */
	ck_assert_int_eq(tunnel_refill(p.socket), 0);
	ck_assert_int_eq(derives, 1);
	/* the PoP opens epoch 1's first packet with the key it had, and
	 * asks for epoch 2's: nobody answers yet */
	ck_assert_int_eq(wire_hdr_decode(d, WIRE_OVERHEAD + 1, &h), WIRE_OK);
	ck_assert_int_eq(tunnel_open(p.pop, &p.pq, &h, d, WIRE_OVERHEAD + 1,
			     out, sizeof(out)),
	    1);
	ck_assert_int_eq(derives, 1);
	pop_kind(&p.pq, TUNNEL_EV_PEER_EPOCH, 1, &ev);
	pop_kind(&p.pq, TUNNEL_EV_NEED_KEY, 2, &ev);
	ck_assert_uint_eq(ev.link, 1); /* the PoP's rx is up */
	/* the Socket moves to epoch 2: its packet cannot open yet */
	for (i = 0; i < 2; i++)
		n = tunnel_seal(p.socket, &p.sq, WIRE_DATA, 0,
		    (const uint8_t *)"y", 1, d, sizeof(d));
	ck_assert_uint_eq(tunnel_tx_epoch(p.socket), 2);
	ck_assert_int_eq(wire_hdr_decode(d, (size_t)n, &h), WIRE_OK);
	ck_assert_int_eq(
	    tunnel_open(p.pop, &p.pq, &h, d, (size_t)n, out, sizeof(out)),
	    TUNNEL_ERR_REPLAY);
	ck_assert_int_eq(tunnel_evq_pop(&p.pq, &ev), 1);
	ck_assert_uint_eq(ev.kind, TUNNEL_EV_NEED_KEY); /* asked again */
	ck_assert_int_eq(tunnel_evq_pop(&p.pq, &ev), 0);
	ck_assert_int_eq(tunnel_refill(p.pop), 0);
	ck_assert_int_eq(
	    tunnel_open(p.pop, &p.pq, &h, d, (size_t)n, out, sizeof(out)), 1);
	ck_assert_uint_eq(tunnel_rx_epoch(p.pop, 0), 2);
	pair_free(&p);
}
END_TEST

/* Without a next key, the current one seals up to `hard` and then
 * refuses; the control side hears it once, not per packet. */
START_TEST(exhausted_raised_once)
{
	struct pair      p;
	struct tunnel_ev ev;
	uint8_t          d[256];
	int              i, n, refused = 0;

	derive_ok = 0;
	pair_new(&p, 4, 6);
	for (i = 0; i < 100; i++) {
		n = tunnel_seal(p.socket, &p.sq, WIRE_DATA, 0,
		    (const uint8_t *)"x", 1, d, sizeof(d));
		if (n == TUNNEL_ERR_EXHAUSTED)
			refused++;
		else
			ck_assert_int_gt(n, 0);
	}
	ck_assert_int_eq(refused, 94);
	ck_assert_int_eq(next_ev(p.socket, &p.sq, &ev), 1);
	ck_assert_uint_eq(ev.kind, TUNNEL_EV_EXHAUSTED);
	ck_assert_uint_eq(ev.epoch, 0);
	ck_assert_int_eq(next_ev(p.socket, &p.sq, &ev), 0);
	/* the channel is back: the next key is derived, REKEY raised */
	derive_ok = 1;
	for (i = 0; i < KEYRING_RETRY + 200 && tunnel_tx_epoch(p.socket) == 0;
	     i++) {
		(void)tunnel_seal(p.socket, &p.sq, WIRE_DATA, 0,
		    (const uint8_t *)"x", 1, d, sizeof(d));
		(void)serve_keys(p.socket, &p.sq);
	}
	ck_assert_uint_eq(tunnel_tx_epoch(p.socket), 1);
	ck_assert_int_eq(next_ev(p.socket, &p.sq, &ev), 1);
	ck_assert_uint_eq(ev.kind, TUNNEL_EV_REKEY);
	pair_free(&p);
}
END_TEST

START_TEST(event_queue_bounded)
{
	struct tunnel_evq q;
	struct tunnel_ev  ev = {.kind = TUNNEL_EV_PROBE};
	uint32_t          i;

	tunnel_evq_init(&q);
	for (i = 0; i < TUNNEL_EVQ_LEN + 10; i++) {
		ev.seq = i;
		ck_assert_int_eq(
		    tunnel_evq_push(&q, &ev), i < TUNNEL_EVQ_LEN ? 0 : -1);
	}
	ck_assert_uint_eq(q.lost, 10);
	for (i = 0; i < TUNNEL_EVQ_LEN; i++) {
		ck_assert_int_eq(tunnel_evq_pop(&q, &ev), 1);
		ck_assert_uint_eq(ev.seq, i); /* oldest first */
	}
	ck_assert_int_eq(tunnel_evq_pop(&q, &ev), 0);
}
END_TEST

/*
 * Batches across four links and many epochs: every datagram opens at the
 * other end in order, and no (epoch, link id, counter) is sealed twice.
 */
#define BATCH 64
/*
 * This end in two workers, the peer in four: each of the peer's workers
 * opens in exactly one of ours (wire_steer()), and the other refuses it
 * before any window sees it, so a datagram handed to both is accepted
 * once.
 */
START_TEST(workers_split_rx)
{
	struct tunnel      *s[4], *p[2], *lone;
	struct tunnel_evq   q;
	struct tunnel_drops drops;
	struct wire_hdr     h;
	uint8_t             d[64], out[64];
	int                 n, i, mine;

	derive_ok = 1;
	tunnel_evq_init(&q);
	memset(&drops, 0, sizeof(drops));
	for (i = 0; i < 4; i++)
		ck_assert_ptr_nonnull(s[i] = tunnel_new(0x5e55, 1, (unsigned)i,
					  2, fake_derive, NULL, 100, 1000));
	for (i = 0; i < 2; i++) {
		ck_assert_ptr_nonnull(p[i] = tunnel_new(0x5e55, 0, (unsigned)i,
					  4, fake_derive, NULL, 100, 1000));
		ck_assert_int_eq(tunnel_set_workers(p[i], 2), 0);
	}
	/* Worker 1 of one: no such thing. */
	ck_assert_int_eq(tunnel_set_workers(p[1], 1), -1);
	ck_assert_int_eq(tunnel_set_workers(p[1], 0), -1);
	ck_assert_int_eq(tunnel_set_workers(p[1], PROTO_MAX_WORKERS + 1), -1);
	for (i = 0; i < 4; i++) {
		n = tunnel_seal(s[i], &q, WIRE_DATA, 0, (const uint8_t *)"once",
		    4, d, sizeof(d));
		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(wire_hdr_decode(d, (size_t)n, &h), WIRE_OK);
		mine = (int)wire_steer((unsigned)i, 0x5e55, 2);
		ck_assert_int_eq(tunnel_open_count(p[1 - mine], &q, &drops, &h,
				     d, (size_t)n, out, sizeof(out)),
		    TUNNEL_ERR_STEER);
		ck_assert_int_eq(tunnel_open_count(p[mine], &q, &drops, &h, d,
				     (size_t)n, out, sizeof(out)),
		    4);
		ck_assert_int_eq(tunnel_open_count(p[1 - mine], &q, &drops, &h,
				     d, (size_t)n, out, sizeof(out)),
		    TUNNEL_ERR_STEER);
		ck_assert_int_eq(tunnel_open_count(p[mine], &q, &drops, &h, d,
				     (size_t)n, out, sizeof(out)),
		    TUNNEL_ERR_REPLAY);
	}
	ck_assert_uint_eq(drops.wrong_worker, 8);
	ck_assert_uint_eq(drops.replay, 4);
	ck_assert_uint_eq(drops.auth + drops.bad_header, 0);
	/* A worker's tunnel never told how many there are opens nothing
	 * but worker 0's... of which it is not: everything is refused. */
	ck_assert_ptr_nonnull(
	    lone = tunnel_new(0x5e55, 0, 1, 4, fake_derive, NULL, 100, 1000));
	ck_assert_int_eq(
	    tunnel_open(lone, &q, &h, d, (size_t)n, out, sizeof(out)),
	    TUNNEL_ERR_STEER);
	tunnel_free(lone);
	for (i = 0; i < 4; i++)
		tunnel_free(s[i]);
	tunnel_free(p[0]);
	tunnel_free(p[1]);
}
END_TEST

/*
 * A worker's tunnel made for its end's workers derives and keeps the keys
 * of the peer's workers steered to it only: at 32 workers a side, the
 * others' keys and windows were 30 times what a session needs.  It opens
 * those workers' datagrams, refuses the others' as steered elsewhere, and
 * cannot be told it opens them all.
 */
START_TEST(workers_steered_keys_only)
{
	struct tunnel      *s[4], *p, *p0, *all;
	struct tunnel_evq   q;
	struct tunnel_drops drops;
	struct wire_hdr     h;
	uint8_t             d[256], out[64];
	int                 n, i, before;

	derive_ok = 1;
	tunnel_evq_init(&q);
	memset(&drops, 0, sizeof(drops));
	for (i = 0; i < 4; i++)
		ck_assert_ptr_nonnull(s[i] = tunnel_new(0x5e55, 1, (unsigned)i,
					  2, fake_derive, NULL, 100, 1000));
	before = derives;
	ck_assert_ptr_nonnull(
	    all = tunnel_new(0x5e55, 0, 1, 4, fake_derive, NULL, 100, 1000));
	ck_assert_int_eq(tunnel_set_workers(all, 2), 0);
	n = derives - before; /* tx and the 4 peer workers' */
	before = derives;
	ck_assert_ptr_nonnull(
	    p = tunnel_new_steered(0x5e55, 0, 1, 2, 4, TUNNEL_ALL_LINKS,
		fake_derive, NULL, 100, 1000));
	/* tx and the two peer workers steered to it only (0 and 2 in
	 * session 0x5e55: wire_steer()), each keyring deriving its
	 * epoch and the next: two keyrings' fewer */
	ck_assert_int_eq(derives - before, n - 4);
	ck_assert_uint_eq(tunnel_rx_epoch(p, 0), 0);
	for (i = 0; i < 4; i++) {
		n = tunnel_seal(s[i], &q, WIRE_DATA, 0, (const uint8_t *)"once",
		    4, d, sizeof(d));
		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(wire_hdr_decode(d, (size_t)n, &h), WIRE_OK);
		ck_assert_int_eq(tunnel_open_count(p, &q, &drops, &h, d,
				     (size_t)n, out, sizeof(out)),
		    wire_steer((unsigned)i, 0x5e55, 2) == 1 ? 4
							    : TUNNEL_ERR_STEER);
	}
	ck_assert_uint_eq(drops.wrong_worker, 2);
	/* Worker 0 of one would open workers 1 and 3 too, whose keys are
	 * not there. */
	ck_assert_int_eq(tunnel_set_workers(p, 2), 0);
	ck_assert_ptr_nonnull(
	    p0 = tunnel_new_steered(0x5e55, 0, 0, 2, 4, TUNNEL_ALL_LINKS,
		fake_derive, NULL, 100, 1000));
	ck_assert_int_eq(tunnel_set_workers(p0, 1), -1);
	ck_assert_int_eq(tunnel_set_workers(p0, 4), 0);
	tunnel_free(p0);
	ck_assert_ptr_null(tunnel_new_steered(0x5e55, 0, 2, 2, 4,
	    TUNNEL_ALL_LINKS, fake_derive, NULL, 100, 1000));
	/* Refill and link reset pass over what is not there. */
	ck_assert_int_eq(tunnel_refill(p), 0);
	tunnel_link_reset(p, 0);
	tunnel_free(p);
	tunnel_free(all);
	for (i = 0; i < 4; i++)
		tunnel_free(s[i]);
}
END_TEST

/*
 * Two workers of one Socket seal under keys of their own, each counting
 * from 0, and the PoP opens each with that worker's keys and windows: the
 * same (link, counter) from both is no replay, a replay from either is
 * one, and a worker byte changed in flight opens nothing.
 */
START_TEST(workers_own_keys)
{
	struct tunnel      *w[2], *pop;
	struct tunnel_evq   q;
	struct tunnel_drops drops;
	struct tunnel_ev    ev;
	struct wire_hdr     h[2];
	uint8_t             d[2][64], out[64];
	int                 n[2], i;

	derive_ok = 1;
	tunnel_evq_init(&q);
	memset(&drops, 0, sizeof(drops));
	w[0] = tunnel_new(0x5e55, 1, 0, 1, fake_derive, NULL, 2, 100);
	w[1] = tunnel_new(0x5e55, 1, 1, 1, fake_derive, NULL, 2, 100);
	pop = tunnel_new(0x5e55, 0, 0, 2, fake_derive, NULL, 2, 100);
	ck_assert(w[0] != NULL && w[1] != NULL && pop != NULL);
	ck_assert_uint_eq(tunnel_peer_workers(pop), 2);
	for (i = 0; i < 2; i++) {
		n[i] = tunnel_seal(w[i], &q, WIRE_DATA, 0,
		    (const uint8_t *)"same", 4, d[i], sizeof(d[i]));
		ck_assert_int_gt(n[i], 0);
		ck_assert_int_eq(
		    wire_hdr_decode(d[i], (size_t)n[i], &h[i]), WIRE_OK);
		ck_assert_uint_eq(h[i].worker, i);
		ck_assert_uint_eq(h[i].counter, 0);
	}
	/* One nonce, two keys: the ciphertexts differ. */
	ck_assert(memcmp(d[0] + WIRE_HDR_LEN, d[1] + WIRE_HDR_LEN,
		      (size_t)n[0] - WIRE_HDR_LEN) != 0);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(tunnel_open_count(pop, &q, &drops, &h[i], d[i],
				     (size_t)n[i], out, sizeof(out)),
		    4);
		ck_assert_mem_eq(out, "same", 4);
	}
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(tunnel_open_count(pop, &q, &drops, &h[i], d[i],
				     (size_t)n[i], out, sizeof(out)),
		    TUNNEL_ERR_REPLAY);
	ck_assert_uint_eq(drops.replay, 2);
	/* Worker 1's datagram said to be worker 0's: worker 0's key and the
	 * header as additional data, neither matches. */
	d[1][2] = 0;
	h[1].worker = 0;
	d[1][15] = 1; /* a counter worker 0's window has not seen */
	h[1].counter = 1;
	ck_assert_int_eq(tunnel_open_count(pop, &q, &drops, &h[1], d[1],
			     (size_t)n[1], out, sizeof(out)),
	    TUNNEL_ERR_AUTH);
	/* A worker the Socket does not have: a bad header. */
	d[1][2] = 2;
	h[1].worker = 2;
	ck_assert_int_eq(tunnel_open_count(pop, &q, &drops, &h[1], d[1],
			     (size_t)n[1], out, sizeof(out)),
	    TUNNEL_ERR_WORKER);
	ck_assert_uint_eq(drops.auth, 1);
	ck_assert_uint_eq(drops.bad_header, 1);

	/* Worker 1 moves to its next epoch alone; the PoP follows it for
	 * worker 1 only, and worker 0's epoch-0 packets still open. */
	for (i = 0; i < 3; i++) {
		n[1] = tunnel_seal(w[1], &q, WIRE_DATA, 1,
		    (const uint8_t *)"next", 4, d[1], sizeof(d[1]));
		ck_assert_int_gt(n[1], 0);
	}
	while (tunnel_evq_pop(&q, &ev))
		if (ev.kind == TUNNEL_EV_NEED_KEY)
			(void)tunnel_refill(pop);
	ck_assert_uint_eq(tunnel_tx_epoch(w[1]), 1);
	ck_assert_uint_eq(tunnel_tx_epoch(w[0]), 0);
	ck_assert_int_eq(wire_hdr_decode(d[1], (size_t)n[1], &h[1]), WIRE_OK);
	ck_assert_int_eq(
	    tunnel_open(pop, &q, &h[1], d[1], (size_t)n[1], out, sizeof(out)),
	    4);
	ck_assert_uint_eq(tunnel_rx_epoch(pop, 1), 1);
	ck_assert_uint_eq(tunnel_rx_epoch(pop, 0), 0);
	n[0] = tunnel_seal(w[0], &q, WIRE_DATA, 0, (const uint8_t *)"more", 4,
	    d[0], sizeof(d[0]));
	ck_assert_int_eq(wire_hdr_decode(d[0], (size_t)n[0], &h[0]), WIRE_OK);
	ck_assert_uint_eq(h[0].counter, 1);
	ck_assert_int_eq(
	    tunnel_open(pop, &q, &h[0], d[0], (size_t)n[0], out, sizeof(out)),
	    4);
	tunnel_free(w[0]);
	tunnel_free(w[1]);
	tunnel_free(pop);
}
END_TEST

/* Worker ids and counts outside what the wire carries are refused. */
START_TEST(workers_bounded)
{
	derive_ok = 1;
	ck_assert_ptr_null(
	    tunnel_new(1, 1, PROTO_MAX_WORKERS, 1, fake_derive, NULL, 2, 100));
	ck_assert_ptr_null(tunnel_new(1, 1, 0, 0, fake_derive, NULL, 2, 100));
	ck_assert_ptr_null(tunnel_new(
	    1, 1, 0, PROTO_MAX_WORKERS + 1, fake_derive, NULL, 2, 100));
	tunnel_free(tunnel_new(1, 1, PROTO_MAX_WORKERS - 1, PROTO_MAX_WORKERS,
	    fake_derive, NULL, 2, 100));
	/* Epoch 0's keys cannot be had: no tunnel. */
	ck_assert_ptr_null(tunnel_new(1, 1, 0, 1, no_derive, NULL, 2, 100));
}
END_TEST

#define ROUNDS 40
#define SEALED (BATCH * ROUNDS)
#define LIMIT  300

START_TEST(batches_never_seal_twice)
{
	static uint8_t    in[BATCH][32], dg[BATCH][128], out[BATCH][128];
	static uint64_t   seen[SEALED];
	struct tunnel_msg m[BATCH];
	struct pair       p;
	struct tunnel_ev  ev;
	size_t            i, j, k, nseen = 0, rekeys = 0;
	uint32_t          epoch = 0;

	derive_ok = 1;
	pair_new(&p, LIMIT, 2 * LIMIT);
	for (k = 0; k < ROUNDS; k++) {
		memset(m, 0, sizeof(m));
		for (i = 0; i < BATCH; i++) {
			memset(in[i], (int)(k + i), sizeof(in[i]));
			m[i].in = in[i];
			m[i].len = sizeof(in[i]);
			m[i].out = dg[i];
			m[i].cap = sizeof(dg[i]);
			m[i].type = WIRE_DATA;
			m[i].link = (uint8_t)(i % 4);
		}
		ck_assert_uint_eq(
		    tunnel_seal_batch(p.socket, &p.sq, m, BATCH), BATCH);
		while (next_ev(p.socket, &p.sq, &ev)) {
			ck_assert_uint_eq(ev.kind, TUNNEL_EV_REKEY);
			rekeys++;
		}
		for (i = 0; i < BATCH; i++) {
			struct wire_hdr h;

			ck_assert_int_eq(
			    wire_hdr_decode(dg[i], (size_t)m[i].res, &h),
			    WIRE_OK);
			/* the phase flips once per epoch */
			if ((uint32_t)((h.flags & WIRE_F_KEY_PHASE) != 0) !=
			    (epoch & 1))
				epoch++;
			seen[nseen] = (uint64_t)epoch << 40 |
			    (uint64_t)h.link_id << 32 | h.counter;
			for (j = 0; j < nseen; j++)
				ck_assert_msg(seen[j] != seen[nseen],
				    "epoch %u link %u counter %llu sealed "
				    "twice",
				    epoch, h.link_id,
				    (unsigned long long)h.counter);
			nseen++;
			m[i].in = dg[i];
			m[i].len = (size_t)m[i].res;
			m[i].out = out[i];
			m[i].cap = sizeof(out[i]);
			m[i].hdr = h;
		}
		ck_assert_uint_eq(
		    tunnel_open_batch(p.pop, &p.pq, m, BATCH), BATCH);
		while (next_ev(p.pop, &p.pq, &ev))
			ck_assert_uint_eq(ev.kind, TUNNEL_EV_PEER_EPOCH);
		for (i = 0; i < BATCH; i++) {
			ck_assert_int_eq(m[i].res, (int)sizeof(in[i]));
			ck_assert_mem_eq(out[i], in[i], sizeof(in[i]));
		}
	}
	ck_assert_uint_eq(rekeys, SEALED / LIMIT - (SEALED % LIMIT == 0));
	ck_assert_uint_eq(tunnel_tx_epoch(p.socket), rekeys);
	ck_assert_uint_eq(tunnel_rx_epoch(p.pop, 0), rekeys);
	pair_free(&p);
}
END_TEST

static Suite *
tunnel_suite(void)
{
	Suite *s = suite_create("tunnel");
	TCase *tc = tcase_create("tunnel");

	tcase_add_test(tc, round_trip_both_ways);
	tcase_add_test(tc, replay_and_forgery_refused);
	tcase_add_test(tc, windows_per_link);
	tcase_add_test(tc, windows_only_for_its_links);
	tcase_add_test(tc, epoch_advance_raises_events);
	tcase_add_test(tc, exhausted_raised_once);
	tcase_add_test(tc, keys_only_on_refill);
	tcase_add_test(tc, event_queue_bounded);
	tcase_add_test(tc, batches_never_seal_twice);
	tcase_add_test(tc, workers_own_keys);
	tcase_add_test(tc, workers_split_rx);
	tcase_add_test(tc, workers_steered_keys_only);
	tcase_add_test(tc, workers_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(tunnel_suite());
}
