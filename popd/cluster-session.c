/*
 * Sites' sessions across a cluster's members (doc/CLUSTER.md, "Sessions
 * across members"; issue #14 item 3).  A site's control channel lands on
 * one member, the session's holder; it multicasts the session's state
 * (SESSION, proto/clustersync.h) on CPG, sealed under a key of the
 * cluster key's, and every other member installs a backup: the same
 * session id, its keys from the holder's message instead of a TLS
 * session, so that its data plane opens the site's datagrams and seals
 * the return packets with worker bytes of its own.
 *
 * The rule that keeps a nonce from repeating: under one key a (link,
 * counter) is sealed at most once.  The keys are the Socket's, per
 * (session, epoch, direction, sender worker byte), so:
 *  - the wire's 64 worker bytes are cut into slots of W (popd's
 *    workers, the same on every member, said in the HELLO): 64 / W
 *    slots, and the WELCOME says all their bytes (popd_wire_workers());
 *  - a member's tunnels of a session start their counters at 0, and a
 *    member that restarts would do so again under the same keys.  So
 *    the holder grants each (position, incarnation) it sees joined a
 *    slot never granted before in the session (grant[], slot[]; the
 *    first incarnations slots 0 .. N - 1): a restarted process seals
 *    under bytes nobody sealed with.  Out of slots, the holder closes
 *    the site's channel so that the Socket makes a new session (its
 *    flows stay in the site's engine).  A member not granted seals
 *    nothing: csync_can_seal() says so to the data plane, and its
 *    tunnels have a random key besides;
 *  - a session id a member dropped or saw replaced is never installed
 *    again (site->cs_dead).
 *
 * State, not events: a SESSION says what the session is now, and the
 * send queue holds session ids, each at most once (s->cs->pending), the
 * message built when corosync takes it.  A ring of CSYNC_RING ids; one
 * more starts a walk over the sites that announces every session again
 * as the ring drains (as the HELLO queue's overflow), as a join does.
 *
 * Everything here runs on popd's main loop, none of it per packet.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "clusterkey.h"
#include "clustersync.h"
#include "log.h"
#include "popd.h"

/* Session ids waiting to be announced: more than a PoP has sites
 * (popd.json's bound), so that only a flood of rekeys overflows. */
#define CSYNC_RING 16384
/* A session id's top bits: the holder's position (32 members). */
#define ID_POS_SHIFT 27
#define ID_LOW_MASK  ((UINT32_C(1) << ID_POS_SHIFT) - 1)

struct cs_state {
	int own; /* this node holds its TLS session */
	/* own: its keys from the TLS session (control_derive(), or a
	 * unit test's: struct csync_membership) */
	tunnel_derive_fn tls;
	int              pending; /* in the ring (own) */
	struct csync    *cx;      /* own: to announce a link's change */
	int      ordered;  /* own: its SESSION came back in the group's order */
	int      may_seal; /* a backup granted to this incarnation */
	uint32_t holder;   /* the holder's node id */
	size_t   holder_pos;
	int      holder_gone; /* the holder left (backup) */
	int      detached;    /* the holder lost the site's channel */
	/* keys[i] holds keys (bit i): derived, or from a SESSION */
	uint64_t filled[2];
	uint8_t  sw, tw, nm; /* Socket workers, popd worker bytes, members */
	uint8_t  ww;         /* worker bytes a slot (popd's workers) */
	int      renew;      /* own: out of slots, a new session wanted (1), the
			 * channel closed for it (2) */
	uint32_t grant[CLUSTERSYNC_MEMBERS_MAX];
	uint8_t  slot[CLUSTERSYNC_MEMBERS_MAX];
	uint64_t slots_used; /* own: every slot granted in the session */
	/* backup: keys its tunnels asked for and no SESSION had, by
	 * worker byte as keys[] (the epoch wanted, 0: none), to ask the
	 * holder for (WANT) */
	uint32_t *want;
	int       wants;
	/* [sw + tw]: up (the Socket's bytes), then down */
	struct clustersync_keys keys[];
};

struct csync {
	struct popd            *pd;
	struct csync_membership ms;
	struct aead            *aead;  /* the "session" key */
	struct event           *later; /* csync_announce_later()'s flush */
	uint32_t                node;
	unsigned                pos, nmembers, workers;

	uint32_t ring[CSYNC_RING];
	size_t   head, n;
	/* a walk over the sites announcing every session this node holds
	 * (a join, an overflow), resumed as the ring has room: the next
	 * site's index, or -1 */
	long walk;

	/* scratch: one message, built or opened */
	struct clustersync_session msg;
	uint8_t                    buf[CLUSTERSYNC_SESSION_MAX];

	uint64_t sent, received, installed, updated, replaced, stepped_down;
	uint64_t bad, unknown_site, mismatch, stale, keys_missing, overflows;
	uint64_t wants_sent, wants_received, wants_answered, renewals;
	struct log_ratelimit log;
};

static void
cs_wipe_free(struct cs_state *cs)
{
	size_t n;

	if (cs == NULL)
		return;
	n = sizeof(*cs) +
	    ((size_t)cs->sw + cs->tw) *
		(sizeof(cs->keys[0]) + sizeof(cs->want[0]));
	OPENSSL_cleanse(cs, n);
	free(cs);
}

void
cs_state_free(struct cs_state *cs)
{
	cs_wipe_free(cs);
}

static struct cs_state *
cs_alloc(unsigned sw, unsigned tw, unsigned ww)
{
	struct cs_state *cs;
	size_t           n = (size_t)sw + tw;

	if ((cs = calloc(1,
		 sizeof(*cs) +
		     n * (sizeof(cs->keys[0]) + sizeof(cs->want[0])))) == NULL)
		return NULL;
	cs->want = (uint32_t *)(void *)(cs->keys + n);
	cs->sw = (uint8_t)sw;
	cs->tw = (uint8_t)tw;
	cs->ww = (uint8_t)ww;
	memset(cs->slot, CLUSTERSYNC_NO_SLOT, sizeof(cs->slot));
	return cs;
}

unsigned
popd_wire_workers(const struct popd *pd)
{
	/* A cluster: every slot's bytes (see above); the loader made sure
	 * there are at least as many slots as members. */
	if (pd->cl_members > 0)
		return PROTO_MAX_WORKERS / pd->nworkers * pd->nworkers;
	return pd->nworkers;
}

/* The slot this process seals a session with: its grant's, else its
 * position's (a backup not granted seals nothing: csync_can_seal()). */
static unsigned
my_slot(const struct popd *pd, const struct cs_state *cs)
{
	if (cs == NULL || pd->cl_pos >= CLUSTERSYNC_MEMBERS_MAX ||
	    cs->slot[pd->cl_pos] == CLUSTERSYNC_NO_SLOT)
		return pd->cl_pos;
	return cs->slot[pd->cl_pos];
}

int
csync_can_seal(const struct popd *pd, const struct session *s)
{
	(void)pd;
	return s->cs == NULL || s->cs->own ||
	    __atomic_load_n(&s->cs->may_seal, __ATOMIC_RELAXED);
}

static void
later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct csync *cx = arg;

	(void)fd;
	(void)what;
	cx->ms.flush(cx->ms.arg);
}

int
csync_start_with(struct popd *pd, const struct csync_membership *ms, char *err,
    size_t errlen)
{
	const struct config_cluster *c = &pd->conf->cluster;
	struct clusterkey            key;
	struct csync                *cx;
	uint8_t                      k[32];
	size_t                       i;

	for (i = 0; i < c->nmembers && c->members[i].node != c->node; i++)
		;
	if (i == c->nmembers) {
		snprintf(err, errlen, "cluster: node %u is no member", c->node);
		return -1;
	}
	if (clusterkey_load(c->key_file, &key, err, errlen) == -1)
		return -1;
	if ((cx = calloc(1, sizeof(*cx))) == NULL ||
	    clusterkey_session_key(&key, k) == -1 ||
	    (cx->aead = aead_new(k)) == NULL) {
		clusterkey_wipe(&key);
		OPENSSL_cleanse(k, sizeof(k));
		free(cx);
		snprintf(err, errlen, "cluster: cannot set up the session key");
		return -1;
	}
	clusterkey_wipe(&key);
	OPENSSL_cleanse(k, sizeof(k));
	if ((cx->later = event_new(pd->base, -1, 0, later_cb, cx)) == NULL) {
		aead_free(cx->aead);
		free(cx);
		snprintf(err, errlen, "cluster: out of memory");
		return -1;
	}
	cx->pd = pd;
	cx->ms = *ms;
	cx->node = c->node;
	cx->pos = (unsigned)i;
	cx->nmembers = (unsigned)c->nmembers;
	cx->workers = pd->nworkers;
	cx->log.interval_ms = 1000;
	cx->log.burst = 10;
	cx->walk = -1;
	pd->cl_pos = cx->pos;
	pd->cl_members = cx->nmembers;
	pd->csync = cx;
	return 0;
}

static int
ms_member(void *arg, size_t pos, uint32_t *node, uint32_t *inc)
{
	return cluster_member(arg, pos, node, inc);
}

static uint32_t
ms_incarnation(void *arg)
{
	return cluster_incarnation(arg);
}

static int
ms_mcast(void *arg, const uint8_t *msg, size_t len)
{
	return cluster_mcast(arg, msg, len);
}

static void
ms_flush(void *arg)
{
	cluster_flush(arg);
}

int
csync_start(struct popd *pd, char *err, size_t errlen)
{
	const struct csync_membership ms = {ms_member, ms_incarnation, ms_mcast,
	    ms_flush, control_derive, pd->cluster};

	if (csync_start_with(pd, &ms, err, errlen) == -1)
		return -1;
	cluster_set_sessions(pd->cluster, pd->csync, pd->nworkers);
	return 0;
}

void
csync_stop(struct popd *pd)
{
	if (pd->csync == NULL)
		return;
	aead_free(pd->csync->aead);
	if (pd->csync->later != NULL)
		event_free(pd->csync->later);
	OPENSSL_cleanse(pd->csync, sizeof(*pd->csync));
	free(pd->csync);
	pd->csync = NULL;
}

uint32_t
csync_session_id(struct popd *pd)
{
	uint32_t id;

	do
		id = ((uint32_t)wp_random_seed() & ID_LOW_MASK) |
		    (uint32_t)pd->cl_pos << ID_POS_SHIFT;
	while ((id & ID_LOW_MASK) == 0 || session_by_id(pd, id) != NULL);
	return id;
}

struct cs_state *
csync_own_state(struct popd *pd, unsigned socket_workers)
{
	struct cs_state *cs;

	if (pd->csync == NULL ||
	    (cs = cs_alloc(
		 socket_workers, popd_wire_workers(pd), pd->nworkers)) == NULL)
		return NULL;
	cs->own = 1;
	cs->cx = pd->csync;
	cs->tls = pd->csync->ms.derive;
	cs->may_seal = 1;
	cs->holder = pd->csync->node;
	cs->holder_pos = pd->cl_pos;
	cs->nm = (uint8_t)pd->cl_members;
	cs->grant[pd->cl_pos] = pd->csync->ms.incarnation(pd->csync->ms.arg);
	cs->slot[pd->cl_pos] = (uint8_t)pd->cl_pos;
	cs->slots_used = UINT64_C(1) << pd->cl_pos;
	return cs;
}

/* The backup's key of (epoch, direction, byte), or -1. */
static int
backup_key(const struct cs_state *cs, uint32_t epoch, int up, unsigned byte,
    uint8_t key[AEAD_KEY_LEN])
{
	const struct clustersync_keys *k;

	unsigned i = up ? byte : cs->sw + byte;

	if ((up ? byte >= cs->sw : byte >= cs->tw) ||
	    !(cs->filled[i / 64] & UINT64_C(1) << i % 64))
		return -1;
	k = &cs->keys[i];
	if (epoch == k->epoch)
		memcpy(key, k->key[0], AEAD_KEY_LEN);
	else if (epoch == k->epoch + 1)
		memcpy(key, k->key[1], AEAD_KEY_LEN);
	else
		return -1;
	return 0;
}

int
csync_derive(void *arg, uint32_t epoch, int up, uint8_t worker,
    uint8_t key[AEAD_KEY_LEN])
{
	struct session  *s = arg;
	struct cs_state *cs = s->cs;

	if (cs == NULL)
		return control_derive(arg, epoch, up, worker, key);
	/* The holder without its channel: what it announced last. */
	if (cs->own)
		return cs->tls(arg, epoch, up, worker, key) == 0
		    ? 0
		    : backup_key(cs, epoch, up, worker, key);
	if (!up && !cs->may_seal) {
		/* Not granted to this incarnation: a key nobody has, so
		 * that nothing sealed here repeats a nonce (see above). */
		if (getrandom(key, AEAD_KEY_LEN, 0) != AEAD_KEY_LEN)
			return -1;
		return 0;
	}
	if (backup_key(cs, epoch, up, worker, key) == 0)
		return 0;
	/* An epoch the holder has not announced: asked for (WANT, sent
	 * by csync_announce() after the refill), and asked again by the
	 * tunnel's next NEED_KEY until a SESSION brings it. */
	if ((up ? worker < cs->sw : worker < cs->tw) && epoch > 0) {
		uint32_t *w = &cs->want[up ? worker : cs->sw + worker];

		if (epoch > *w)
			*w = epoch;
		cs->wants = 1;
	}
	return -1;
}

void
csync_tunnel_start(const struct popd *pd, const struct session *s, unsigned w,
    struct tunnel_start *st, uint32_t rx_epoch[PROTO_MAX_WORKERS])
{
	const struct cs_state *cs = s->cs;
	unsigned               p;

	memset(st, 0, sizeof(*st));
	st->tx_worker = my_slot(pd, cs) * pd->nworkers + w;
	if (cs == NULL || cs->own)
		return;
	/* A backup starts where the holder's message says each worker
	 * byte is: the Socket's bytes at their epochs; its own at theirs
	 * (0 for a session new to it: nobody sealed with them). */
	for (p = 0; p < cs->sw && p < PROTO_MAX_WORKERS; p++)
		rx_epoch[p] = cs->keys[p].epoch;
	st->rx_epoch = rx_epoch;
	if (st->tx_worker < cs->tw)
		st->tx_epoch =
		    cs->may_seal ? cs->keys[cs->sw + st->tx_worker].epoch : 0;
}

int
csync_vouched(const struct session *s)
{
	return s->cs != NULL && !s->cs->own && !s->cs->holder_gone &&
	    !s->cs->detached;
}

/* ------------------------------------------------------------ sending */

static void
ring_push(struct csync *cx, struct session *s)
{
	if (s->cs->pending)
		return;
	if (cx->n == CSYNC_RING) {
		/* Full: everything again, from the first site, as the
		 * ring drains. */
		cx->overflows++;
		cx->walk = 0;
		return;
	}
	cx->ring[(cx->head + cx->n) % CSYNC_RING] = s->id;
	cx->n++;
	s->cs->pending = 1;
}

void
csync_announce(struct popd *pd, struct session *s)
{
	/* A backup asks for what its tunnels lacked (csync_derive()). */
	if (pd->csync == NULL || s->cs == NULL ||
	    (!s->cs->own && !s->cs->wants))
		return;
	ring_push(pd->csync, s);
	pd->csync->ms.flush(pd->csync->ms.arg);
}

void
csync_announce_later(struct popd *pd, struct session *s)
{
	if (pd->csync == NULL || s->cs == NULL || !s->cs->own)
		return;
	ring_push(pd->csync, s);
	event_active(pd->csync->later, EV_TIMEOUT, 0);
}

/* The holder's view of the site's links is the members' (doc/CLUSTER.md,
 * "Link health across members"): a change goes to them in the next
 * SESSION.  Under pd->engine_mu (session_link_state()): sent from the
 * loop's next turn, as csync_announce_later(). */
void
csync_link_changed(struct session *s)
{
	if (s->cs == NULL || !s->cs->own || s->cs->cx == NULL)
		return;
	ring_push(s->cs->cx, s);
	event_active(s->cs->cx->later, EV_TIMEOUT, 0);
}

/* Where the holder heard each link from, for the links this node has
 * not heard yet: its replies can go before the site's first datagram
 * here, and it may own flows on a link that lands on another member.
 * From the first listen entry of the family.  Under pd->engine_mu. */
static void
fill_endpoints(
    struct popd *pd, struct session *s, const struct clustersync_session *m)
{
	size_t i;

	for (i = 0; i < s->nlinks; i++) {
		const struct clustersync_link *l = &m->links[i];
		struct sockaddr_storage       *ss = &s->endpoint[i];

		if (s->endpoint_len[i] != 0 || l->endpoint.family == 0 ||
		    pd->conf->nendpoints == 0 ||
		    pd->conf->endpoints[0].address.family != l->endpoint.family)
			continue;
		memset(ss, 0, sizeof(*ss));
		if (l->endpoint.family == AF_INET) {
			struct sockaddr_in *in = (void *)ss;

			in->sin_family = AF_INET;
			in->sin_port = htons(l->port);
			memcpy(&in->sin_addr, l->endpoint.a, 4);
			s->endpoint_len[i] = sizeof(*in);
		} else {
			struct sockaddr_in6 *in6 = (void *)ss;

			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons(l->port);
			memcpy(&in6->sin6_addr, l->endpoint.a, 16);
			s->endpoint_len[i] = sizeof(*in6);
		}
		s->endpoint_lsn[i] = 0;
	}
}

/* The holder's link states, in m, applied to its backup s: the
 * endpoints it lacks; the holder's down holds a link down here as the Socket's own word would
 * (socket_down: its probes arriving here bring it back only with no
 * other link up), its up brings it back. */
static void
apply_links(
    struct popd *pd, struct session *s, const struct clustersync_session *m)
{
	unsigned i, idx;

	pthread_mutex_lock(&pd->engine_mu);
	fill_endpoints(pd, s, m);
	for (i = 0; i < m->nlinks; i++) {
		idx = m->links[i].id < CONFIG_MAX_LINKS
		    ? s->index_of[m->links[i].id]
		    : LINK_NONE;
		if (idx == LINK_NONE)
			continue;
		s->socket_down[idx] = m->links[i].down;
		session_link_state(s, idx, !m->links[i].down,
		    m->links[i].down ? "the holder sees it down"
				     : "the holder sees it up");
	}
	pthread_mutex_unlock(&pd->engine_mu);
}

/* The walk, as far as the ring has room. */
static void
walk_more(struct csync *cx)
{
	struct popd    *pd = cx->pd;
	struct session *s;

	while (cx->walk >= 0 && (size_t)cx->walk < pd->nsites &&
	    cx->n < CSYNC_RING) {
		s = pd->sites[cx->walk].session;
		cx->walk++;
		if (s != NULL && s->cs != NULL && s->cs->own)
			ring_push(cx, s);
	}
	if (cx->walk >= 0 && (size_t)cx->walk >= pd->nsites)
		cx->walk = -1;
}

void
csync_resync(struct csync *cx)
{
	cx->walk = 0;
	walk_more(cx);
}

/* The key of one worker byte, fresh from the TLS session if there is one
 * (this node holds s), else what was announced last. */
static void
fill_keys(
    struct session *s, unsigned idx, int up, unsigned byte, uint32_t epoch)
{
	struct clustersync_keys k;

	/* The same epoch's keys are the same: derived once. */
	if ((s->cs->filled[idx / 64] & UINT64_C(1) << idx % 64) &&
	    s->cs->keys[idx].epoch == epoch)
		return;
	k.epoch = epoch;
	if (s->cs->tls(s, epoch, up, (uint8_t)byte, k.key[0]) == 0 &&
	    s->cs->tls(s, epoch + 1, up, (uint8_t)byte, k.key[1]) == 0) {
		s->cs->keys[idx] = k;
		s->cs->filled[idx / 64] |= UINT64_C(1) << idx % 64;
	}
	OPENSSL_cleanse(&k, sizeof(k));
}

static void
to_addr(const struct sockaddr_storage *ss, socklen_t len, struct wp_addr *a,
    uint16_t *port)
{
	memset(a, 0, sizeof(*a));
	*port = 0;
	if (len == 0)
		return;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		a->family = AF_INET;
		memcpy(a->a, &in->sin_addr, 4);
		*port = ntohs(in->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;

		a->family = AF_INET6;
		memcpy(a->a, &in6->sin6_addr, 16);
		*port = ntohs(in6->sin6_port);
	}
	if (*port == 0)
		memset(a, 0, sizeof(*a));
}

/* Whether popd worker byte b is in a slot granted now. */
static int
granted(const struct cs_state *cs, unsigned b)
{
	unsigned i;

	for (i = 0; i < cs->nm; i++)
		if (cs->grant[i] != 0 && cs->slot[i] == b / cs->ww)
			return 1;
	return 0;
}

/* Each position's live incarnation gets a slot of its own, never granted
 * before in the session: its position's if that is free, else the
 * lowest free one.  Out of slots: no grant, and the session is renewed
 * (csync_flush() closes the site's channel). */
static void
grant_slots(struct csync *cx, struct session *s)
{
	struct cs_state *cs = s->cs;
	unsigned         i, k, nslots = cs->tw / cs->ww;
	uint32_t         node, inc;

	for (i = 0; i < cs->nm; i++) {
		if (!cx->ms.member(cx->ms.arg, i, &node, &inc) || inc == 0 ||
		    cs->grant[i] == inc)
			continue;
		k = i;
		if (k >= nslots || (cs->slots_used & UINT64_C(1) << k))
			for (k = 0;
			     k < nslots && (cs->slots_used & UINT64_C(1) << k);
			     k++)
				;
		if (k == nslots) {
			if (cs->renew == 0) {
				cs->renew = 1;
				cx->renewals++;
			}
			continue;
		}
		cs->grant[i] = inc;
		cs->slot[i] = (uint8_t)k;
		cs->slots_used |= UINT64_C(1) << k;
	}
}

/* The message of one session this node holds, in cx->msg: 0, or -1 if
 * a key is missing. */
static int
build(struct csync *cx, struct session *s)
{
	struct popd                *pd = cx->pd;
	struct cs_state            *cs = s->cs;
	struct clustersync_session *m = &cx->msg;
	uint32_t                    e;
	uint32_t                    epoch[2 * PROTO_MAX_WORKERS];
	unsigned                    i, w;

	/* The wire's site index has 16 bits. */
	if (s->site - pd->sites > UINT16_MAX)
		return -1;
	memset(m, 0, sizeof(*m));
	m->site = (uint16_t)(s->site - pd->sites);
	snprintf(m->site_name, sizeof(m->site_name), "%s", s->site->conf->name);
	m->id = s->id;
	m->socket_workers = cs->sw;
	m->slot_bytes = cs->ww;
	m->nmembers = cs->nm;
	grant_slots(cx, s);
	memcpy(m->grant, cs->grant, sizeof(m->grant));
	memcpy(m->slot, cs->slot, sizeof(m->slot));
	m->nlinks = (uint8_t)s->nlinks;
	/* Without its channel the holder vouches for the session no more:
	 * the members' grace starts (session_grace_s), as its own. */
	m->flags = s->conn == NULL ? CLUSTERSYNC_DETACHED : 0;
	pthread_mutex_lock(&pd->engine_mu);
	for (i = 0; i < s->nlinks; i++) {
		struct clustersync_link *l = &m->links[i];

		l->id = s->links[i].id;
		l->down = s->link_down[i] ? 1 : 0;
		memcpy(l->name, s->links[i].name, sizeof(l->name));
		l->up_mbps = s->links[i].up_mbps;
		l->down_mbps = s->links[i].down_mbps;
		to_addr(&s->endpoint[i], s->endpoint_len[i], &l->endpoint,
		    &l->port);
	}
	pthread_mutex_unlock(&pd->engine_mu);
	/* Each worker byte at its epoch now, read under its worker's
	 * lock, derived after; the other members' bytes at what was said
	 * last (their tunnels' moves are theirs: see doc/CLUSTER.md). */
	for (i = 0; i < (unsigned)cs->sw + cs->tw; i++)
		epoch[i] = cs->keys[i].epoch;
	for (w = 0; w < pd->nworkers; w++) {
		dpw_lock(&pd->w[w].t);
		for (i = 0; i < cs->sw; i++)
			if (wire_steer(i, s->id, pd->nworkers) == w &&
			    (e = tunnel_rx_epoch(s->tun[w], i)) > epoch[i])
				epoch[i] = e;
		i = cs->sw + my_slot(pd, cs) * pd->nworkers + w;
		if (i < (unsigned)cs->sw + cs->tw)
			epoch[i] = tunnel_tx_epoch(s->tun[w]);
		dpw_unlock(&pd->w[w].t);
	}
	for (i = 0; i < (unsigned)cs->sw + cs->tw; i++) {
		/* The bytes of slots granted now; the others' keys are
		 * nobody's to use, neither derived nor sent. */
		if (i >= cs->sw && !granted(cs, i - cs->sw))
			continue;
		fill_keys(
		    s, i, i < cs->sw, i < cs->sw ? i : i - cs->sw, epoch[i]);
		/* Never a key not derived: nothing goes (cannot be, but
		 * for a TLS export that failed from the start). */
		if (!(cs->filled[i / 64] & UINT64_C(1) << i % 64))
			return -1;
	}
	/* The Socket's bytes, then each granted position's slot's. */
	memcpy(m->keys, cs->keys, (size_t)cs->sw * sizeof(cs->keys[0]));
	for (i = 0, e = cs->sw; i < cs->nm; i++)
		if (cs->grant[i] != 0)
			for (w = 0; w < cs->ww; w++)
				m->keys[e++] =
				    cs->keys[cs->sw + cs->slot[i] * cs->ww + w];
	return 0;
}

/* Seals the n-byte body of a `type` message into cx->buf: its length,
 * or -1. */
static int
seal_body(struct csync *cx, uint8_t type, const uint8_t *body, int n)
{
	uint8_t *nonce = cx->buf + CLUSTERSYNC_HDR_LEN;

	if (n < 0 ||
	    clustersync_sealed_header(
		type, cx->node, cx->buf, sizeof(cx->buf)) < 0 ||
	    getrandom(nonce, CLUSTERSYNC_NONCE_LEN, 0) != CLUSTERSYNC_NONCE_LEN)
		return -1;
	/* A random 96-bit nonce: a cluster sends far fewer than the 2^32
	 * messages under one key that random nonces allow. */
	if (aead_seal(cx->aead, nonce, cx->buf, CLUSTERSYNC_HDR_LEN, body,
		(size_t)n,
		cx->buf + CLUSTERSYNC_HDR_LEN + CLUSTERSYNC_NONCE_LEN) < 0)
		return -1;
	return CLUSTERSYNC_HDR_LEN + CLUSTERSYNC_NONCE_LEN + n +
	    CLUSTERSYNC_TAG_LEN;
}

/* Seals cx->msg (a SESSION) into cx->buf: its length, or -1. */
static int
seal(struct csync *cx)
{
	uint8_t body[CLUSTERSYNC_SESSION_BODY_MAX];
	int     r;

	r = seal_body(cx, CLUSTERSYNC_SESSION, body,
	    clustersync_session_encode(&cx->msg, body, sizeof(body)));
	OPENSSL_cleanse(body, sizeof(body));
	OPENSSL_cleanse(&cx->msg, sizeof(cx->msg));
	return r;
}

/* A backup's WANT of the keys its tunnels lacked, into cx->buf. */
static int
seal_want(struct csync *cx, struct session *s)
{
	struct clustersync_want w;
	uint8_t                 body[CLUSTERSYNC_WANT_BODY_MAX];
	unsigned                i;

	if (s->site - cx->pd->sites > UINT16_MAX)
		return -1;
	memset(&w, 0, sizeof(w));
	w.site = (uint16_t)(s->site - cx->pd->sites);
	w.id = s->id;
	for (i = 0; i < (unsigned)s->cs->sw + s->cs->tw &&
	     w.n < CLUSTERSYNC_WANT_MAX_ENTRIES;
	     i++) {
		if (s->cs->want[i] == 0)
			continue;
		w.e[w.n].up = i < s->cs->sw;
		w.e[w.n].byte = (uint8_t)(i < s->cs->sw ? i : i - s->cs->sw);
		w.e[w.n].epoch = s->cs->want[i] - 1;
		w.n++;
	}
	return seal_body(cx, CLUSTERSYNC_WANT, body,
	    w.n > 0 ? clustersync_want_encode(&w, body, sizeof(body)) : -1);
}

int
csync_flush(struct csync *cx)
{
	struct session  *s;
	struct cs_state *cs;
	int              len, r;

	for (walk_more(cx); cx->n > 0; walk_more(cx)) {
		s = session_by_id(cx->pd, cx->ring[cx->head]);
		cs = s != NULL ? s->cs : NULL;
		if (cs != NULL && (cs->own || cs->wants)) {
			if (!cs->own)
				len = seal_want(cx, s);
			else if (build(cx, s) == 0)
				len = seal(cx);
			else {
				len = -1;
				OPENSSL_cleanse(&cx->msg, sizeof(cx->msg));
			}
			if (len >= 0 &&
			    (r = cx->ms.mcast(
				 cx->ms.arg, cx->buf, (size_t)len)) != 0) {
				OPENSSL_cleanse(cx->buf, sizeof(cx->buf));
				return r;
			}
			/* len < 0: a key missing, or no WANT to make:
			 * nothing sent, and the id leaves the queue */
			if (len >= 0 && cs->own)
				cx->sent++;

			else if (len >= 0)
				cx->wants_sent++;
			if (!cs->own) {
				memset(cs->want, 0,
				    ((size_t)cs->sw + cs->tw) *
					sizeof(cs->want[0]));
				cs->wants = 0;
			}
			cs->pending = 0;
			if (cs->own && cs->renew == 1 && s->conn != NULL) {
				/* Out of slots: the Socket reconnects, to a
				 * new session with every slot free. */
				cs->renew = 2;
				control_close(s->conn,
				    "a new session: out of worker byte slots "
				    "for the cluster's members");
			}
		}
		cx->head = (cx->head + 1) % CSYNC_RING;
		cx->n--;
	}
	OPENSSL_cleanse(cx->buf, sizeof(cx->buf));
	return 0;
}

/* ------------------------------------------------------------ receiving */

static int
dead(const struct site *site, uint32_t id)
{
	size_t i;

	for (i = 0; i < (sizeof(site->cs_dead) / sizeof(site->cs_dead[0])); i++)
		if (site->cs_dead[i] == id)
			return 1;
	return 0;
}

static void
bury(struct site *site, uint32_t id)
{
	site->cs_dead[site->cs_dead_next++ %
	    (sizeof(site->cs_dead) / sizeof(site->cs_dead[0]))] = id;
}

void
csync_ended(struct session *s)
{
	if (s->cs != NULL && !dead(s->site, s->id))
		bury(s->site, s->id);
}

/* The message's keys and grants into a backup's state. */
static void
take(struct csync *cx, struct cs_state *cs, const struct clustersync_session *m,
    size_t pos, uint32_t node)
{
	unsigned i, w, k;

	cs->holder = node;
	cs->holder_pos = pos;
	cs->holder_gone = 0;
	cs->detached = (m->flags & CLUSTERSYNC_DETACHED) != 0;
	cs->nm = m->nmembers;
	memcpy(cs->grant, m->grant, sizeof(cs->grant));
	memcpy(cs->slot, m->slot, sizeof(cs->slot));
	/* The keys it brings, by worker byte: the Socket's, then each
	 * granted position's slot's (csync_deliver() checked that the
	 * message's slots are this node's: W the same). */
	memset(cs->filled, 0, sizeof(cs->filled));
	memcpy(cs->keys, m->keys, (size_t)cs->sw * sizeof(cs->keys[0]));
	for (i = 0; i < cs->sw; i++)
		cs->filled[i / 64] |= UINT64_C(1) << i % 64;
	for (i = 0, k = cs->sw; i < cs->nm; i++) {
		if (m->grant[i] == 0)
			continue;
		for (w = 0; w < cs->ww; w++, k++) {
			unsigned b = cs->sw + m->slot[i] * cs->ww + w;

			if (b >= (unsigned)cs->sw + cs->tw)
				continue;
			cs->keys[b] = m->keys[k];
			cs->filled[b / 64] |= UINT64_C(1) << b % 64;
		}
	}
	/* Granted to this process, at a slot whose bytes it has. */
	__atomic_store_n(&cs->may_seal,
	    m->grant[cx->pos] != 0 &&
		m->grant[cx->pos] == cx->ms.incarnation(cx->ms.arg) &&
		((unsigned)m->slot[cx->pos] + 1) * cx->workers <= cs->tw,
	    __ATOMIC_RELAXED);
}

/* A new backup of m for site, in place of its session (of another id). */
static int
install(struct csync *cx, struct site *site,
    const struct clustersync_session *m, size_t pos, uint32_t node)
{
	struct popd     *pd = cx->pd;
	struct ctl_hello h;
	struct cs_state *cs;
	struct session  *s;
	size_t           i;

	memset(&h, 0, sizeof(h));
	h.version = PROTOCOL_VERSION;
	h.workers = m->socket_workers;
	snprintf(h.site, sizeof(h.site), "%s", site->conf->name);
	h.nlinks = m->nlinks;
	for (i = 0; i < m->nlinks; i++) {
		memcpy(
		    h.links[i].name, m->links[i].name, sizeof(h.links[i].name));
		h.links[i].id = m->links[i].id;
		h.links[i].up_mbps = m->links[i].up_mbps;
		h.links[i].down_mbps = m->links[i].down_mbps;
	}
	if ((cs = cs_alloc(m->socket_workers, popd_wire_workers(pd),
		 cx->workers)) == NULL)
		return -1;
	take(cx, cs, m, pos, node);
	if ((s = session_make(pd, site, NULL, &h, m->id, csync_derive, cs)) ==
	    NULL)
		return -1;
	if (session_install(pd, s) == -1)
		return -1;
	/* Its return traffic may arrive here: into the TUN device. */
	install_routes(pd, site);
	return 0;
}

/* A member's WANT: the keys it lacks of a session this node holds,
 * derived and announced (another's, or a session gone: nothing). */
static void
on_want(struct csync *cx, size_t pos, const uint8_t *body, size_t len)
{
	struct clustersync_want w;
	struct session         *s;
	size_t                  i, idx;
	int                     more = 0;

	if (clustersync_want_decode(body, len, &w) != CLUSTERSYNC_OK) {
		cx->bad++;
		return;
	}
	if (pos == cx->pos || w.site >= cx->pd->nsites ||
	    (s = cx->pd->sites[w.site].session) == NULL || s->id != w.id ||
	    s->cs == NULL || !s->cs->own)
		return;
	cx->wants_received++;
	for (i = 0; i < w.n; i++) {
		if (w.e[i].up ? w.e[i].byte >= s->cs->sw
			      : w.e[i].byte >= s->cs->tw)
			continue;
		idx = w.e[i].up ? w.e[i].byte : s->cs->sw + w.e[i].byte;
		if (w.e[i].epoch <= s->cs->keys[idx].epoch)
			continue; /* said already; the SESSION is on its way */
		fill_keys(
		    s, (unsigned)idx, w.e[i].up, w.e[i].byte, w.e[i].epoch);
		more |= s->cs->keys[idx].epoch == w.e[i].epoch;
	}
	if (more) {
		cx->wants_answered++;
		csync_announce(cx->pd, s);
	}
}

void
csync_deliver(
    struct csync *cx, size_t pos, uint32_t node, const uint8_t *msg, size_t len)
{
	struct popd                *pd = cx->pd;
	struct clustersync_session *m = &cx->msg;
	const uint8_t              *nonce, *sealed;
	struct site                *site;
	struct session             *s;
	uint8_t                     body[CLUSTERSYNC_SESSION_BODY_MAX];
	size_t                      sealedlen;
	int                         n, r, could;
	unsigned                    w;

	cx->received++;
	if ((r = clustersync_envelope(msg, len, &nonce, &sealed, &sealedlen)) <
		0 ||
	    (n = aead_open(cx->aead, nonce, msg, CLUSTERSYNC_HDR_LEN, sealed,
		 sealedlen, body)) < 0 ||
	    (r == CLUSTERSYNC_SESSION &&
		clustersync_session_decode(body, (size_t)n, m) !=
		    CLUSTERSYNC_OK)) {
		cx->bad++;
		if (log_ratelimit_ok(&cx->log, now_ms()))
			log_debug("cluster: a %zu-byte SESSION from node %u "
				  "does not open or decode: dropped",
			    len, node);
		goto out;
	}
	if (r == CLUSTERSYNC_WANT) {
		on_want(cx, pos, body, (size_t)n);
		goto out;
	}
	if (m->site >= pd->nsites ||
	    strcmp(pd->sites[m->site].conf->name, m->site_name) != 0) {
		cx->unknown_site++;
		if (log_ratelimit_ok(&cx->log, now_ms()))
			log_warnx("cluster: node %u has a session of site %s "
				  "(its site %u), which is not this node's "
				  "site %u: every member has the same sites in "
				  "the same order",
			    node, m->site_name, m->site, m->site);
		goto out;
	}
	site = &pd->sites[m->site];
	s = site->session;
	if (pos == cx->pos) {
		/* This node's own, back: from here on it is in the group's
		 * order, and a session of the site another member
		 * announces later replaces it. */
		if (s != NULL && s->id == m->id && s->cs != NULL && s->cs->own)
			s->cs->ordered = 1;
		goto out;
	}
	if (m->nmembers != cx->nmembers || m->slot_bytes != cx->workers ||
	    m->id >> ID_POS_SHIFT != pos) {
		cx->mismatch++;
		goto out;
	}
	if (dead(site, m->id)) {
		cx->stale++; /* replaced here already: never back */
		goto out;
	}
	if (s != NULL && s->id == m->id && s->cs != NULL && !s->cs->own &&
	    s->cs->sw == m->socket_workers) {
		/* A grant is never withdrawn or moved while its
		 * incarnation lives (grant_slots()): a message without
		 * this process's grant, once it had one, is older than
		 * one taken (replayed into the group).  Taken, it would
		 * stop the sealing, and the next message would make the
		 * tunnels again from counter 0 under keys they used. */
		if (s->cs->may_seal &&
		    (m->grant[cx->pos] != s->cs->grant[cx->pos] ||
			m->slot[cx->pos] != s->cs->slot[cx->pos])) {
			cx->stale++;
			goto out;
		}
		/* The same session, newer keys or grants. */
		could = s->cs->may_seal;
		take(cx, s->cs, m, pos, node);
		if (!could && s->cs->may_seal) {
			/* Granted now: tunnels with the real keys, never
			 * sealed with here (the old ones had random keys). */
			if (install(cx, site, m, pos, node) == 0) {
				apply_links(pd, site->session, m);
				cx->updated++;
			}
			goto out;
		}
		for (w = 0; w < s->ntun; w++) {
			dpw_lock(&pd->w[w].t);
			if (tunnel_refill(s->tun[w]) == -1)
				cx->keys_missing++;
			dpw_unlock(&pd->w[w].t);
		}
		apply_links(pd, s, m);
		cx->updated++;
		/* Still short of a key: the holder is asked. */
		csync_announce(pd, s);
		goto out;
	}
	if (s != NULL && s->id == m->id) {
		cx->mismatch++;
		goto out;
	}
	if (s != NULL && s->cs != NULL && !s->cs->own && !s->cs->detached &&
	    (m->flags & CLUSTERSYNC_DETACHED)) {
		/* Another session whose holder lost the channel cannot be
		 * newer than one whose holder has it. */
		bury(site, m->id);
		cx->stale++;
		goto out;
	}
	if (s != NULL && s->cs != NULL && s->cs->own &&
	    (!s->cs->ordered ||
		((m->flags & CLUSTERSYNC_DETACHED) && s->conn != NULL))) {
		/* Announced before this node's own in the group's order,
		 * which every member sees alike: ours is the newer, and
		 * the other member steps down when ours reaches it.  Or
		 * one whose holder lost the site's channel, against ours
		 * that has it (two parts of the group meeting again). */
		bury(site, m->id);
		cx->stale++;
		goto out;
	}
	if (s != NULL && s->cs != NULL && s->cs->own) {
		/* The site's control channel is at another member now
		 * (the group's order says which came last): this node's
		 * session steps down to a backup of that one. */
		cx->stepped_down++;
		if (site->conn != NULL)
			control_close(site->conn,
			    "the site's control channel "
			    "is at another cluster member");
		log_info("site %s: session %u is now node %u's session %u",
		    site->conf->name, s->id, node, m->id);
	}
	if (install(cx, site, m, pos, node) == -1) {
		if (log_ratelimit_ok(&cx->log, now_ms()))
			log_warnx("site %s: cannot back up node %u's session "
				  "%u",
			    site->conf->name, node, m->id);
		goto out;
	}
	apply_links(pd, site->session, m);
	if (s != NULL)
		cx->replaced++;
	cx->installed++;
out:
	OPENSSL_cleanse(body, sizeof(body));
	OPENSSL_cleanse(m, sizeof(*m));
}

void
csync_member_left(struct csync *cx, size_t pos)
{
	struct popd *pd = cx->pd;
	size_t       i;

	for (i = 0; i < pd->nsites; i++) {
		struct session *s = pd->sites[i].session;

		if (s != NULL && s->cs != NULL && !s->cs->own &&
		    s->cs->holder_pos == pos)
			s->cs->holder_gone = 1;
	}
}

json_t *
csync_json(const struct csync *cx)
{
	const struct popd *pd = cx->pd;
	size_t             i, own = 0, held = 0, sealing = 0;

	for (i = 0; i < pd->nsites; i++) {
		const struct session *s = pd->sites[i].session;

		if (s == NULL || s->cs == NULL)
			continue;
		if (s->cs->own)
			own++;
		else {
			held++;
			sealing += s->cs->may_seal != 0;
		}
	}
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
			 "s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
	    "own", (json_int_t)own, "held", (json_int_t)held, "sealing",
	    (json_int_t)sealing, "pending", (json_int_t)cx->n, "sent",
	    (json_int_t)cx->sent, "received", (json_int_t)cx->received,
	    "installed", (json_int_t)cx->installed, "updated",
	    (json_int_t)cx->updated, "replaced", (json_int_t)cx->replaced,
	    "stepped_down", (json_int_t)cx->stepped_down, "bad",
	    (json_int_t)cx->bad, "unknown_site", (json_int_t)cx->unknown_site,
	    "mismatch", (json_int_t)cx->mismatch, "stale",
	    (json_int_t)cx->stale, "keys_missing", (json_int_t)cx->keys_missing,
	    "wants_sent", (json_int_t)cx->wants_sent, "wants_received",
	    (json_int_t)cx->wants_received, "wants_answered",
	    (json_int_t)cx->wants_answered, "overflows",
	    (json_int_t)cx->overflows, "renewals", (json_int_t)cx->renewals,
	    "worker_bytes", (json_int_t)popd_wire_workers(pd));
}
