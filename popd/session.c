/*
 * popd's sessions and sites, on the main loop: which site an address
 * belongs to, sessions by id (the index every datagram goes through),
 * a session made from a HELLO and what a reconnect inherits, a link going
 * down or up as the PoP sees it, and the Socket's REASSIGN.  The packet
 * loops are dataplane.c's.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "linkdown.h"
#include "log.h"
#include "popd.h"
#include "tls.h"

/*
 * Which site an address is in: a longest-prefix match over every site's
 * LAN prefixes (common/lpm.h), so that return traffic costs the address's
 * length and not the number of sites.  Sites are inserted in
 * configuration order and the first value of a prefix stays: on equal
 * prefixes the site that comes first wins (popd.json refuses LANs of
 * different sites that overlap, so that only matters to a table made by
 * hand).
 */
struct lpm *
site_lpm_new(const struct config *conf)
{
	const struct wp_prefix *p;
	struct lpm             *l;
	size_t                  i, j;

	if ((l = lpm_new()) == NULL)
		return NULL;
	for (i = 0; i < conf->nsites; i++)
		for (j = 0; j < conf->sites[i].nlan; j++) {
			p = &conf->sites[i].lan[j];
			if (lpm_insert(l, p->addr.family, p->addr.a, p->len,
				(uint32_t)i) == -1) {
				lpm_free(l);
				return NULL;
			}
		}
	return l;
}

struct site_ids {
	const struct config *conf;
	struct wp_hash_key   key;
	uint32_t             mask;
	uint32_t            *slot; /* a site's index + 1; 0: empty */
};

/* SipHash of the name in lower case (ASCII, as tls_name_eq() compares);
 * -1 for a name no identity can equal (too long). */
static int
id_hash(const struct site_ids *ids, const char *name, uint64_t *h)
{
	char   low[sizeof(((struct config_site *)0)->identity)];
	size_t i;

	for (i = 0; name[i] != '\0'; i++) {
		if (i == sizeof(low))
			return -1;
		low[i] = name[i] >= 'A' && name[i] <= 'Z'
		    ? (char)(name[i] - 'A' + 'a')
		    : name[i];
	}
	*h = wp_siphash(&ids->key, low, i);
	return 0;
}

struct site_ids *
site_ids_new(const struct config *conf)
{
	struct site_ids *ids;
	uint32_t         size = 4, j;
	uint64_t         h;
	size_t           i;

	while (size < 2 * conf->nsites)
		size <<= 1;
	if ((ids = calloc(1, sizeof(*ids))) == NULL ||
	    (ids->slot = calloc(size, sizeof(*ids->slot))) == NULL ||
	    wp_hash_key_random(&ids->key) == -1) {
		site_ids_free(ids);
		return NULL;
	}
	ids->conf = conf;
	ids->mask = size - 1;
	/* popd.json refuses two sites with one identity; were there two,
	 * the first would stay, as the walk found it. */
	for (i = 0; i < conf->nsites; i++) {
		if (site_ids_find(ids, conf->sites[i].identity) != -1 ||
		    id_hash(ids, conf->sites[i].identity, &h) == -1)
			continue;
		for (j = (uint32_t)h & ids->mask; ids->slot[j] != 0;
		     j = (j + 1) & ids->mask)
			;
		ids->slot[j] = (uint32_t)i + 1;
	}
	return ids;
}

void
site_ids_free(struct site_ids *ids)
{
	if (ids == NULL)
		return;
	free(ids->slot);
	free(ids);
}

long
site_ids_find(const struct site_ids *ids, const char *name)
{
	uint64_t h;
	uint32_t j;

	if (*name == '\0' || id_hash(ids, name, &h) == -1)
		return -1;
	for (j = (uint32_t)h & ids->mask; ids->slot[j] != 0;
	     j = (j + 1) & ids->mask)
		if (tls_name_eq(
			ids->conf->sites[ids->slot[j] - 1].identity, name))
			return (long)ids->slot[j] - 1;
	return -1;
}

struct peer_lookup {
	const struct site_ids *ids;
	long                   first; /* lowest index matched, or -1 */
};

static int
peer_name(const char *name, void *arg)
{
	struct peer_lookup *pl = arg;
	long                i = site_ids_find(pl->ids, name);

	if (i != -1 && (pl->first == -1 || i < pl->first))
		pl->first = i;
	return 0; /* every name: the first site in order wins */
}

struct site *
site_by_peer(const struct popd *pd, SSL *ssl)
{
	struct peer_lookup pl = {pd->site_ids, -1};

	(void)tls_peer_each_name(ssl, peer_name, &pl);
	if (pl.first == -1 || (size_t)pl.first >= pd->nsites)
		return NULL;
	return &pd->sites[pl.first];
}

int
site_has(const struct config_site *s, int family, const uint8_t *a)
{
	size_t i;

	for (i = 0; i < s->nlan; i++)
		if (prefix_contains(&s->lan[i], family, a))
			return 1;
	return 0;
}

/* Every prefix holding the address, not only the longest: a site may
 * nest its own prefixes, and one of them is enough. */
int
site_holds(const struct popd *pd, const struct site *site, int family,
    const uint8_t *a)
{
	uint32_t m[LPM_MATCHES_MAX], idx = (uint32_t)(site - pd->sites);
	unsigned i;

	for (i = lpm_matches(pd->site_lpm, family, a, m, NULL); i-- > 0;)
		if (m[i] == idx)
			return 1;
	return 0;
}

struct site *
site_for(const struct popd *pd, int family, const uint8_t *a)
{
	uint32_t i;

	if (!lpm_lookup(pd->site_lpm, family, a, &i) || i >= pd->nsites)
		return NULL;
	return &pd->sites[i];
}

/*
 * Sessions by id: every datagram names one, whoever sent it, so finding
 * it must not cost a walk over all sites.  Open addressing over a table
 * at most half full, keyed by the (random, PoP-chosen) id itself.
 */
static uint32_t
index_slot(const struct popd *pd, uint32_t id)
{
	return (id * UINT32_C(2654435761)) & pd->sess_mask;
}

struct session *
session_by_id(struct popd *pd, uint32_t id)
{
	uint32_t i;

	for (i = index_slot(pd, id); pd->sess_index[i] != NULL;
	     i = (i + 1) & pd->sess_mask)
		if (pd->sess_index[i]->id == id)
			return pd->sess_index[i];
	return NULL;
}

/* Replaces `old` (may be NULL) by `s` (may be NULL) in the index. */
void
session_index_swap(struct popd *pd, struct session *old, struct session *s)
{
	uint32_t i, j, k;

	if (old != NULL) {
		for (i = index_slot(pd, old->id); pd->sess_index[i] != old;
		     i = (i + 1) & pd->sess_mask)
			;
		pd->sess_index[i] = NULL;
		/* backward shift: no tombstones (Knuth 6.4, Algorithm R) */
		for (j = (i + 1) & pd->sess_mask; pd->sess_index[j] != NULL;
		     j = (j + 1) & pd->sess_mask) {
			k = index_slot(pd, pd->sess_index[j]->id);
			if (((j - k) & pd->sess_mask) >=
			    ((j - i) & pd->sess_mask)) {
				pd->sess_index[i] = pd->sess_index[j];
				pd->sess_index[j] = NULL;
				i = j;
			}
		}
	}
	if (s != NULL) {
		for (i = index_slot(pd, s->id); pd->sess_index[i] != NULL;
		     i = (i + 1) & pd->sess_mask)
			;
		pd->sess_index[i] = s;
	}
}

static void
count_move(void *arg, const struct flow *f, unsigned from, unsigned to)
{
	size_t *to_link = arg;

	(void)f;
	(void)from;
	to_link[to]++;
}

/* The Socket says when links change and flows move, so it could say so
 * without end: a handful of info lines a second per site (link changes
 * and REASSIGN summaries together), the rest counted only. */
static int
site_log_ok(struct site *site, uint64_t now)
{
	if (site->link_log.interval_ms == 0) {
		site->link_log.interval_ms = 1000;
		site->link_log.burst = 10;
	}
	return log_ratelimit_ok(&site->link_log, now);
}

/*
 * A site's link goes down or up, as the PoP sees it.  Down: the site's
 * return flows on it move to its live links (by downstream weight), or
 * stay, dropped, if none is up; up: new flows use it again.
 */
void
session_link_state(struct session *s, unsigned idx, int up, const char *why)
{
	uint64_t now = now_ms();
	size_t   moved, to[CONFIG_MAX_LINKS] = {0}, i, off;
	char     buf[CONFIG_MAX_LINKS * (CONFIG_NAME_MAX + 24)];
	int      k;

	if (s->link_down[idx] == !up)
		return;
	s->link_down[idx] = !up;
	s->probes_back[idx] = 0;
	if (!up)
		moved = engine_link_down(s->engine, idx, now, count_move, to);
	else {
		/* Flows left on a dead link while no link was up come to
		 * this one.  (Failback rebalancing is the Socket's: it
		 * sends the moves.) */
		moved = engine_link_up(s->engine, idx, now, count_move, to);
		moved += engine_link_rehome(s->engine, now, count_move, to);
	}
	buf[0] = '\0';
	for (i = 0, off = 0; i < s->nlinks && off < sizeof(buf); i++) {
		if (to[i] == 0)
			continue;
		k = snprintf(buf + off, sizeof(buf) - off, "%s %zu to %s",
		    off == 0 ? ":" : ",", to[i], s->links[i].name);
		off += k < 0 ? 0 : (size_t)k;
	}
	if (site_log_ok(s->site, now))
		log_info("site %s link %s %s: %s; %zu flows moved%s",
		    s->site->conf->name, s->links[idx].name, up ? "up" : "down",
		    why, moved,
		    buf); /* In a cluster the holder's view is the members' too. */
	if (s->cs != NULL)
		csync_link_changed(s);
}

void
session_link_sla(struct session *s, const struct config *conf, unsigned idx,
    const struct ctl_link_state *ls)
{
	struct balance *b = engine_balance(s->engine);
	uint64_t        now = now_ms();
	size_t          p, i;
	int             want;

	if (idx >= s->nlinks)
		return;
	for (p = 0; p < conf->nprofiles && p < balance_nprofiles(b); p++) {
		for (i = 0, want = 0; i < ls->ndegraded && !want; i++)
			want = strcmp(ls->degraded[i],
				   conf->profiles[p].name) == 0;
		if (want == balance_degraded(b, (unsigned)p, idx))
			continue;
		balance_set_degraded(b, (unsigned)p, idx, want);
		if (site_log_ok(s->site, now))
			log_info("site %s link %s %s for profile %s (the "
				 "Socket's verdict)",
			    s->site->conf->name, s->links[idx].name,
			    want ? "degraded" : "compliant again",
			    conf->profiles[p].name);
	}
}

json_t *
session_sla_json(
    const struct session *s, const struct config *conf, unsigned idx, int all)
{
	const struct balance *b = engine_balance(s->engine);
	json_t               *arr, *v;
	size_t                p;
	int                   d;

	if ((arr = json_array()) == NULL)
		return NULL;
	for (p = 0; p < conf->nprofiles && p < balance_nprofiles(b); p++) {
		d = balance_degraded(b, (unsigned)p, idx);
		if (!all && !d)
			continue;
		v = all ? json_pack("{s:s,s:b}", "profile",
			      conf->profiles[p].name, "degraded", d)
			: json_string(conf->profiles[p].name);
		if (v == NULL || json_array_append_new(arr, v) == -1) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* Does the Socket's word keep link idx down?  Only while another link is
 * up: with every link down, a link the Socket may not hear beats none,
 * and its word that the link is up again rides a control channel that
 * may have no link to reconnect over yet. */
static int
socket_holds_down(const struct session *s, unsigned idx)
{
	size_t j;

	if (!s->socket_down[idx])
		return 0;
	for (j = 0; j < s->nlinks; j++)
		if (j != idx && !s->link_down[j])
			return 1;
	return 0;
}

int
session_probe_back(struct session *s, unsigned idx, uint32_t up_after)
{
	if (!s->link_down[idx] || socket_holds_down(s, idx))
		return 0;
	if (s->probes_back[idx] < UINT32_MAX)
		s->probes_back[idx]++;
	return s->probes_back[idx] >= up_after;
}

int
session_link_back(const struct session *s, unsigned idx, uint32_t up_after)
{
	return s->link_down[idx] && !socket_holds_down(s, idx) &&
	    s->probes_back[idx] >= up_after;
}

/*
 * The Socket's link-down notice (proto/linkdown.h), authenticated and
 * opened by the data plane: the link's return flows move now, not when
 * LINK_STATE arrives over a control channel that may have to be made
 * again first.  The first copy of a notice acts; the others, and any
 * older than the last one applied to that link (serial-number order,
 * RFC 1982), are only counted.
 */
void
session_link_down_notice(
    struct session *s, uint8_t link, uint8_t cause, uint32_t seq)
{
	unsigned idx;
	char     why[64];

	s->site->linkdown_rx++;
	idx = link < CONFIG_MAX_LINKS ? s->index_of[link] : LINK_NONE;
	if (idx == LINK_NONE || (int32_t)(seq - s->linkdown_seq[idx]) <= 0)
		return;
	s->linkdown_seq[idx] = seq;
	s->socket_down[idx] = 1;
	if (s->link_down[idx])
		return;
	snprintf(why, sizeof(why), "the Socket's notice (%s)",
	    linkdown_cause_str(cause));
	session_link_state(s, idx, 0, why);
	s->site->linkdown_applied++;
}

/*
 * The Socket's word on where flows go (REASSIGN chunk), applied to the
 * return direction.  A move to a link this PoP does not know, or sees
 * down, is refused and counted: the flow stays where this side put it,
 * on a link that carries.  In a cluster "sees down" is the Socket's word
 * (socket_down: its LINK_STATE or notice, or the holder's relaying it),
 * the only view the members share.  A flow this PoP has not seen yet is inserted,
 * so its first return packet already takes the Socket's link; the LAN
 * side of its key is taken as the initiator (sites open connections).
 */
void
session_reassign(struct session *s, const struct ctl_reassign *r)
{
	const struct ctl_move *mv;
	uint64_t               now = now_ms();
	size_t                 i;
	unsigned               idx;
	int                    known;
	char                   off[CONFIG_NAME_MAX + 32] = "";

	if (r->seq == 0)
		s->ra_moved = s->ra_inserted = s->ra_same = s->ra_refused = 0;
	known = r->dead_link == CTL_LINK_NONE ||
	    (r->dead_link < CONFIG_MAX_LINKS &&
		s->index_of[r->dead_link] != LINK_NONE);
	for (i = 0; i < r->nmoves; i++) {
		mv = &r->moves[i];
		idx = mv->link < CONFIG_MAX_LINKS ? s->index_of[mv->link]
						  : LINK_NONE;
		if (!known || idx == LINK_NONE ||
		    (s->cs != NULL ? s->socket_down[idx] : s->link_down[idx])) {
			s->ra_refused++;
			continue;
		}
		switch (engine_flow_assign(s->engine, &mv->key, idx,
		    site_has(s->site->conf, mv->key.family, mv->key.a), now)) {
		case ENGINE_ASSIGN_MOVED:
			s->ra_moved++;
			break;
		case ENGINE_ASSIGN_INSERTED:
			s->ra_inserted++;
			break;
		case ENGINE_ASSIGN_SAME:
			s->ra_same++;
			break;
		default:
			s->ra_refused++;
		}
	}
	if (!r->last)
		return;
	s->reassign_moved += s->ra_moved;
	s->reassign_inserted += s->ra_inserted;
	s->reassign_refused += s->ra_refused;
	s->reassign_batches++;
	if (!known)
		snprintf(
		    off, sizeof(off), " off unknown link %u", r->dead_link);
	else if (r->dead_link != CTL_LINK_NONE)
		snprintf(off, sizeof(off), " off link %s",
		    s->links[s->index_of[r->dead_link]].name);
	if (site_log_ok(s->site, now_ms()))
		log_info("site %s: the Socket's flow moves%s: %zu moved, %zu "
			 "inserted, %zu already there, %zu refused",
		    s->site->conf->name, off, s->ra_moved, s->ra_inserted,
		    s->ra_same, s->ra_refused);
}

int
session_spec(const struct popd *pd, const struct ctl_link *links, size_t nlinks,
    struct balance_spec *spec)
{
	size_t i;

	/* popd.json has profiles and flows but no links: the spec's links
	 * and routes are the site's. */
	if (balance_spec_from_config(spec, pd->conf, SIDE_DOWN) == -1)
		return -1;
	/* Failback moves are the Socket's to choose (REASSIGN): two
	 * engines rebalancing on their own would pick different flows. */
	spec->failback = FAILBACK_NEW_FLOWS;
	spec->nlinks =
	    nlinks < BALANCE_MAX_LINKS ? (unsigned)nlinks : BALANCE_MAX_LINKS;
	for (i = 0; i < spec->nlinks; i++) {
		memcpy(spec->links[i].name, links[i].name,
		    sizeof(spec->links[i].name));
		spec->links[i].weight = links[i].down_mbps;
	}
	if (balance_spec_default_routes(spec, pd->conf->default_profile) ==
	    -1) {
		balance_spec_clear(spec);
		return -1;
	}
	return 0;
}

/*
 * The site's flows, re-pointed at a new session's links by name, so that
 * a reconnect keeps every return flow on its link and the two ends go on
 * agreeing (the Socket restates only the flows it moved).  A link the
 * site no longer announces fails over as in a reload.  Every link is up
 * afterwards, as the new session's link_down says: what was down in the
 * session before is taken down again by session_inherit(), and an
 * expired session's down links are news no longer.
 */
static int
engine_repoint(struct engine *e, const struct balance_spec *spec)
{
	const struct balance *b = engine_balance(e);
	int                   map[BALANCE_MAX_LINKS];
	unsigned              i, j;
	uint64_t              now = now_ms();

	for (i = 0; i < balance_nlinks(b); i++) {
		map[i] = -1;
		for (j = 0; j < spec->nlinks; j++)
			if (strcmp(balance_link_name(b, i),
				spec->links[j].name) == 0)
				map[i] = (int)j;
	}
	if (engine_reconfigure(e, spec, map, now, NULL, NULL, NULL) == -1)
		return -1;
	for (i = 0; i < spec->nlinks; i++)
		(void)engine_link_up(e, i, now, NULL, NULL);
	return 0;
}

/* A session's per-link arrays, one link's worth (session_new()). */
#define PER_LINK_BYTES                                                         \
	(sizeof(struct sockaddr_storage) + 7 * sizeof(uint64_t) +              \
	    sizeof(struct ctl_link) + sizeof(socklen_t) +                      \
	    2 * sizeof(uint32_t) + 3 * sizeof(uint8_t))
/* Each array's start keeps the alignment its type needs: the struct's
 * size and every array before it are multiples of it. */
_Static_assert(
    sizeof(struct session) % _Alignof(struct sockaddr_storage) == 0 &&
	sizeof(struct tunnel *) % _Alignof(struct sockaddr_storage) == 0 &&
	sizeof(struct sockaddr_storage) % _Alignof(uint64_t) == 0 &&
	_Alignof(struct ctl_link) <= _Alignof(uint32_t) &&
	sizeof(struct ctl_link) % _Alignof(uint32_t) == 0 &&
	_Alignof(socklen_t) <= _Alignof(uint32_t),
    "session_new()'s layout of the per-link arrays");

struct session *
session_make(struct popd *pd, struct site *site, struct conn *conn,
    const struct ctl_hello *h, uint32_t id, tunnel_derive_fn derive,
    struct cs_state *cs)
{
	struct session     *s;
	struct tunnel_start st;
	uint32_t            rx_epoch[PROTO_MAX_WORKERS];
	size_t              i, n = h->nlinks > 0 ? h->nlinks : 1;
	uint32_t            ids = 0;
	uint8_t            *p;
	unsigned            w;

	/* The struct, its tunnels by worker, then its per-link arrays,
	 * most aligned first. */
	if ((s = calloc(1,
		 sizeof(*s) + pd->nworkers * sizeof(*s->tun) +
		     n * PER_LINK_BYTES)) == NULL) {
		cs_state_free(cs);
		return NULL;
	}
	s->cs = cs;
	s->tun = (struct tunnel **)(void *)(s + 1);
	s->ntun = pd->nworkers;
	p = (uint8_t *)(s->tun + pd->nworkers);
	s->endpoint = (struct sockaddr_storage *)(void *)p;
	p += n * sizeof(*s->endpoint);
	s->endpoint_moves = (uint64_t *)(void *)p;
	s->new_flows = s->endpoint_moves + n;
	s->tx_packets = s->new_flows + n;
	s->tx_bytes = s->tx_packets + n;
	s->rx_packets = s->tx_bytes + n;
	s->rx_bytes = s->rx_packets + n;
	s->rx_last_ms = s->rx_bytes + n;
	p = (uint8_t *)(s->rx_last_ms + n);
	s->links = (struct ctl_link *)(void *)p;
	p += n * sizeof(*s->links);
	s->endpoint_len = (socklen_t *)(void *)p;
	s->probes_back = (uint32_t *)(s->endpoint_len + n);
	s->linkdown_seq = s->probes_back + n;
	s->link_down = (uint8_t *)(s->linkdown_seq + n);
	s->endpoint_lsn = s->link_down + n;
	s->socket_down = s->endpoint_lsn + n;
	s->site = site;
	s->conn = conn;
	s->id = id;
	s->nlinks = h->nlinks;
	memset(s->index_of, LINK_NONE, sizeof(s->index_of));
	for (i = 0; i < h->nlinks; i++) {
		s->links[i] = h->links[i];
		s->index_of[h->links[i].id] = (uint8_t)i;
		ids |= UINT32_C(1) << h->links[i].id;
	}
	/* New keys, from this session's TLS connection: the only way
	 * counters start at 0 (keyring.h).  Nothing of an old session's
	 * keys is ever carried over (session_inherit()). */
	/* Windows for the announced links only (udp_dgram() drops the rest
	 * before the tunnel): 8 KiB less a site of one link.  A tunnel per
	 * worker, each opening what the Socket's workers steered to it. */
	/* In a cluster each member seals with worker bytes of its own
	 * (csync_tunnel_start()). */
	for (w = 0; w < pd->nworkers; w++) {
		csync_tunnel_start(pd, s, w, &st, rx_epoch);
		if ((s->tun[w] = tunnel_new_at(id, 0, w, pd->nworkers,
			 h->workers, ids, &st, derive, s, KEYRING_LIMIT,
			 KEYRING_HARD_LIMIT)) == NULL) {
			session_free(s);
			return NULL;
		}
	}
	/* Duplicates' numbers by popd worker, and a window per Socket
	 * worker, whose streams they are (dupwire.h). */
	if ((s->dtx = calloc(pd->nworkers, sizeof(*s->dtx))) == NULL ||
	    (s->drx = dup_rx_new(h->workers)) == NULL) {
		session_free(s);
		return NULL;
	}
	/* A link never heard from goes down like a silent one. */
	for (i = 0; i < h->nlinks; i++)
		s->rx_last_ms[i] = now_ms();
	if (session_spec(pd, h->links, h->nlinks, &s->spec) == -1) {
		session_free(s);
		return NULL;
	}
	return s;
}

int
session_attach(struct session *s)
{
	if (engine_repoint(s->site->engine, &s->spec) == -1)
		return -1;
	s->engine = s->site->engine;
	return 0;
}

struct session *
session_new(struct popd *pd, struct site *site, struct conn *conn,
    const struct ctl_hello *h, uint32_t id, tunnel_derive_fn derive)
{
	struct session *s;

	if ((s = session_make(pd, site, conn, h, id, derive, NULL)) == NULL)
		return NULL;
	if (session_attach(s) == -1) {
		session_free(s);
		return NULL;
	}
	return s;
}

int
session_install(struct popd *pd, struct session *s)
{
	struct site *site = s->site;

	popd_world_lock(pd);
	pthread_mutex_lock(&pd->engine_mu);
	if (session_attach(s) == -1) {
		pthread_mutex_unlock(&pd->engine_mu);
		popd_world_unlock(pd);
		session_free(s);
		return -1;
	}
	session_inherit(s, site->session);
	/* In a cluster the id it replaces is never installed again. */
	if (site->session != NULL && site->session->id != s->id)
		csync_ended(site->session);
	session_index_swap(pd, site->session, s);
	session_free(site->session);
	site->session = s;
	pthread_mutex_unlock(&pd->engine_mu);
	popd_world_unlock(pd);
	return 0;
}

struct engine *
site_engine_new(const struct popd *pd, const struct config_site *conf)
{
	struct balance_spec spec;
	struct engine      *e;

	if (session_spec(pd, NULL, 0, &spec) == -1)
		return NULL;
	e = engine_new_shared(&spec, pd->flow_pool, conf->flows_max, pd->frags);
	balance_spec_clear(&spec);
	return e;
}

void
session_end(struct popd *pd, struct site *site)
{
	if (site->session == NULL)
		return;
	/* In a cluster its id is never installed again here. */
	csync_ended(site->session);
	session_index_swap(pd, site->session, NULL);
	session_free(site->session);
	site->session = NULL;
	flow_table_clear(engine_flows(site->engine));
}

/*
 * A new session of the same site (the control channel came back, maybe
 * over another link) keeps what the old one knew of each link: where it
 * is and whether it is down.  Otherwise a dead link would look alive to
 * the new session until its silence timed out again, and return traffic
 * would be sent into it meanwhile.
 */
void
session_inherit(struct session *s, struct session *old)
{
	size_t  i;
	uint8_t o;

	for (i = 0; old != NULL && i < s->nlinks; i++) {
		o = old->index_of[s->links[i].id];
		if (o == LINK_NONE ||
		    strcmp(old->links[o].name, s->links[i].name) != 0)
			continue;
		memcpy(
		    &s->endpoint[i], &old->endpoint[o], sizeof(s->endpoint[i]));
		s->endpoint_len[i] = old->endpoint_len[o];
		s->endpoint_lsn[i] = old->endpoint_lsn[o];
		s->rx_last_ms[i] = old->rx_last_ms[o];
		/* In a cluster the old session's states were another
		 * member's word, or the Socket's: it restates every link
		 * it sees down after WELCOME, and a backup takes its
		 * holder's from the SESSION (cluster-session.c). */
		if (old->link_down[o] && s->cs == NULL)
			session_link_state(
			    s, (unsigned)i, 0, "down in the session before");
	}
}

void
session_free(struct session *s)
{
	unsigned w;

	if (s == NULL)
		return;
	balance_spec_clear(&s->spec);
	for (w = 0; w < s->ntun; w++)
		tunnel_free(s->tun[w]);
	free(s->dtx);
	dup_rx_free(s->drx);
	cs_state_free(s->cs);
	free(s);
}
