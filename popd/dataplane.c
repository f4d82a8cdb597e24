/*
 * popd's data plane.  Up: a datagram on the data port names its session
 * and link in its header; it is checked against that link's replay
 * window, opened with the session's up key, teaches us the link's current
 * endpoint (NAT rebinding, roaming: only authenticated packets do), and
 * its inner packet goes to the TUN if its source lies in the site's LAN.
 * Down: a packet from the TUN finds its site by destination (longest
 * prefix over all sites' LANs), gets a link from the site's engine by
 * downstream weight, and is sealed and sent to that link's endpoint.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mss.h"
#include "popd.h"
#include "probe.h"
#include "proto.h"
#include "tundev.h"

#define BATCH     64
#define JUMBO_MTU 9000
#define BUFSZ     (WIRE_MAX_DGRAM + 64)

static uint8_t inner[BUFSZ];
static uint8_t dgram[BUFSZ];

/* The family and source address of an inner packet, or -1. */
static int
inner_addr(const uint8_t *p, size_t len, int dst, uint8_t *a)
{
	memset(a, 0, 16);
	if (len >= 20 && p[0] >> 4 == 4) {
		memcpy(a, p + (dst ? 16 : 12), 4);
		return AF_INET;
	}
	if (len >= 40 && p[0] >> 4 == 6) {
		memcpy(a, p + (dst ? 24 : 8), 16);
		return AF_INET6;
	}
	return -1;
}

static int
in_lan(const struct config_site *s, int family, const uint8_t *a)
{
	size_t i;

	for (i = 0; i < s->nlan; i++)
		if (prefix_contains(&s->lan[i], family, a))
			return 1;
	return 0;
}

/* The site whose LAN holds the address most specifically, or NULL. */
struct site *
site_for(struct popd *pd, int family, const uint8_t *a)
{
	struct site *best = NULL;
	size_t       i, j;
	int          bestlen = -1;

	for (i = 0; i < pd->nsites; i++)
		for (j = 0; j < pd->sites[i].conf->nlan; j++) {
			const struct wp_prefix *p = &pd->sites[i].conf->lan[j];

			if (p->len > bestlen && prefix_contains(p, family, a)) {
				best = &pd->sites[i];
				bestlen = p->len;
			}
		}
	return best;
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

/* The counter, which is the nonce, is the keyring's to choose
 * (keyring.h), by the link's wire id. */
static void
send_to_link(struct popd *pd, struct session *s, unsigned idx, uint8_t type,
    const uint8_t *pkt, size_t len)
{
	int n;

	n = tunnel_seal_count(s->tun, &pd->dataev.q, &pd->drops, type,
	    s->links[idx].id, pkt, len, dgram, sizeof(dgram));
	if (n < 0)
		return;
	if (sendto(pd->udp_fd, dgram, (size_t)n, 0,
		(struct sockaddr *)&s->endpoint[idx],
		s->endpoint_len[idx]) == -1)
		return;
	s->tx_packets[idx]++;
	s->tx_bytes[idx] += (uint64_t)n;
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
		    why, moved, buf);
}

/*
 * The Socket's word on where flows go (REASSIGN chunk), applied to the
 * return direction.  A move to a link this PoP does not know, or sees
 * down, is refused and counted: the flow stays where this side put it,
 * on a link that carries.  A flow this PoP has not seen yet is inserted,
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
		if (!known || idx == LINK_NONE || s->link_down[idx]) {
			s->ra_refused++;
			continue;
		}
		switch (engine_flow_assign(s->engine, &mv->key, idx,
		    in_lan(s->site->conf, mv->key.family, mv->key.a), now)) {
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

/*
 * A link the site has sent nothing on for down_after intervals and a
 * grace of a quarter interval is down, without waiting for the Socket to
 * say so over a control channel that may be riding that very link.  The
 * site probes every interval, so that is down_after probes missing, the
 * last of them a grace overdue: the rule socketd applies to its replies
 * (common/link.h, "Silence"), 325 ms of silence with the defaults.  The
 * ticks come every tenth of an interval (health_period()), so they add
 * 10 ms at most; a whole interval (the old period) would have added up to
 * 100 ms and missed the 350 ms failover target.  Each
 * tick looks at every session's links: a few tens of thousands of
 * comparisons for a large PoP, microseconds.
 */
/* The health ticks' period: a tenth of the probe interval, 1 ms at least. */
struct timeval *
health_period(const struct popd *pd, struct timeval *tv)
{
	uint32_t us = pd->conf->probe_interval_ms * 100;

	if (us < 1000)
		us = 1000;
	tv->tv_sec = us / 1000000;
	tv->tv_usec = (suseconds_t)(us % 1000000);
	return tv;
}

/*
 * A session is kept when its control channel drops, so that traffic goes
 * on until the next HELLO (DESIGN.md section 6), but not for ever: with
 * no channel it cannot rekey and nobody vouches for the site any more.
 * After session_grace_s without one it ends: keys wiped, flows dropped.
 * The routes into the TUN device stay (the site is still configured),
 * so its return traffic is dropped here rather than routed elsewhere.
 * Returns 1 if the session was freed.
 */
static int
session_expire(struct popd *pd, struct site *site, uint64_t now)
{
	struct session *s = site->session;

	if (s->conn != NULL) {
		s->detached_ms = 0;
		return 0;
	}
	if (s->detached_ms == 0) {
		s->detached_ms = now;
		return 0;
	}
	if (now - s->detached_ms < (uint64_t)pd->conf->session_grace_s * 1000)
		return 0;
	log_info("site %s: session %u ended: no control channel for %u s",
	    site->conf->name, s->id, pd->conf->session_grace_s);
	session_index_swap(pd, s, NULL);
	session_free(s);
	site->session = NULL;
	pd->sessions_expired++;
	return 1;
}

static void
health_tick(evutil_socket_t fd, short what, void *arg)
{
	struct popd *pd = arg;
	uint64_t     now = now_ms(), quiet;
	size_t       i, l;
	char         why[64];

	(void)fd;
	(void)what;
	quiet =
	    (uint64_t)pd->conf->probe_down_after * pd->conf->probe_interval_ms +
	    (pd->conf->probe_interval_ms / 4 > 0
		    ? pd->conf->probe_interval_ms / 4
		    : 1);
	for (i = 0; i < pd->nsites; i++) {
		struct session *s = pd->sites[i].session;

		if (s != NULL && session_expire(pd, &pd->sites[i], now))
			continue;
		if (s != NULL) /* flows expire with no packet too */
			engine_tick(s->engine, now);
		for (l = 0; s != NULL && l < s->nlinks; l++) {
			if (s->link_down[l] || s->rx_last_ms[l] == 0 ||
			    now - s->rx_last_ms[l] < quiet)
				continue;
			snprintf(why, sizeof(why),
			    "nothing from the site in %llu ms",
			    (unsigned long long)(now - s->rx_last_ms[l]));
			session_link_state(s, (unsigned)l, 0, why);
		}
	}
}

static void
udp_read(evutil_socket_t fd, short what, void *arg)
{
	struct popd            *pd = arg;
	struct sockaddr_storage from;
	socklen_t               fromlen;
	struct wire_hdr         hdr;
	struct session         *s;
	uint8_t                 src[16];
	ssize_t                 n;
	unsigned                idx;
	int                     len, i, family;

	(void)what;
	for (i = 0; i < BATCH; i++) {
		fromlen = sizeof(from);
		if ((n = recvfrom(fd, dgram, sizeof(dgram), 0,
			 (struct sockaddr *)&from, &fromlen)) == -1)
			break;
		/* A site's TUN MTU follows its links' MTU: allow jumbo
		 * frames, refuse anything larger before any cipher work. */
		if ((size_t)n > (size_t)(pd->tundev.mtu > JUMBO_MTU
					? pd->tundev.mtu
					: JUMBO_MTU) +
			    WIRE_OVERHEAD ||
		    wire_hdr_decode(dgram, (size_t)n, &hdr) != WIRE_OK ||
		    hdr.link_id >= CONFIG_MAX_LINKS) {
			pd->drops.bad_header++;
			continue;
		}
		if ((s = session_by_id(pd, hdr.session)) == NULL ||
		    (idx = s->index_of[hdr.link_id]) == LINK_NONE) {
			pd->drops.no_session++;
			continue;
		}
		if ((len = tunnel_open_count(s->tun, &pd->dataev.q, &pd->drops,
			 &hdr, dgram, (size_t)n, inner, sizeof(inner))) < 0)
			continue;
		s->rx_last_ms[idx] = now_ms();
		if (s->link_down[idx] && hdr.type == WIRE_PROBE &&
		    ++s->probes_back[idx] >= pd->conf->probe_up_after) {
			/* Up, and the flows that come back, on the main
			 * loop after this batch. */
			struct tunnel_ev ev = {.kind = TUNNEL_EV_LINK_BACK};

			ev.link = hdr.link_id;
			ev.session = s->id;
			(void)tunnel_evq_push(&pd->dataev.q, &ev);
		}
		s->rx_packets[idx]++;
		s->rx_bytes[idx] += (uint64_t)n;
		if (s->endpoint_len[idx] != fromlen ||
		    memcmp(&s->endpoint[idx], &from, fromlen) != 0) {
			memcpy(&s->endpoint[idx], &from, fromlen);
			s->endpoint_len[idx] = fromlen;
			log_debug("site %s link %s: new endpoint",
			    s->site->conf->name, s->links[idx].name);
		}
		if (hdr.type == WIRE_PROBE) {
			struct probe pr;
			uint8_t      reply[PROBE_LEN];

			/* Echo only what decodes as a probe: the reply is
			 * re-encoded, never the peer's bytes sent back. */
			if (probe_decode(inner, (size_t)len, &pr) == -1) {
				pd->drop_parse++;
				continue;
			}
			(void)probe_encode(&pr, reply, sizeof(reply));
			send_to_link(
			    pd, s, idx, WIRE_PROBE_REPLY, reply, sizeof(reply));
			continue;
		}
		if (hdr.type != WIRE_DATA)
			continue;
		/* A site may only send from its own LAN: anything else would
		 * let one site spoof another, or the Internet. */
		if ((family = inner_addr(inner, (size_t)len, 0, src)) == -1 ||
		    !in_lan(s->site->conf, family, src)) {
			s->site->drop_spoofed++;
			continue;
		}
		tundev_write(&pd->tundev, inner, (size_t)len);
	}
	dataev_kick(&pd->dataev);
}

static void
tun_read(evutil_socket_t fd, short what, void *arg)
{
	struct popd         *pd = arg;
	struct engine_result res;
	struct session      *s;
	struct site         *site;
	uint8_t              dst[16];
	ssize_t              n;
	int                  i, family;

	(void)what;
	for (i = 0; i < BATCH; i++) {
		if ((n = read(fd, inner, sizeof(inner))) <= 0)
			break;
		if ((family = inner_addr(inner, (size_t)n, 1, dst)) == -1 ||
		    (site = site_for(pd, family, dst)) == NULL ||
		    (s = site->session) == NULL) {
			pd->drop_no_site++;
			continue;
		}
		(void)mss_clamp(inner, (size_t)n,
		    family == AF_INET6 ? pd->tundev.mss6 : pd->tundev.mss4);
		if (engine_packet(
			s->engine, inner, (size_t)n, 0, now_ms(), &res) != 0) {
			pd->drop_parse++;
			continue;
		}
		if (res.is_new)
			s->new_flows[res.link]++;
		if (s->link_down[res.link]) {
			/* Every link of the site is down (else the flow would
			 * have moved): the flow stays for when one returns. */
			site->drop_no_link++;
			continue;
		}
		if (s->endpoint_len[res.link] == 0) {
			/* The Socket has not spoken on that link yet. */
			site->drop_no_endpoint++;
			continue;
		}
		send_to_link(pd, s, res.link, WIRE_DATA, inner, (size_t)n);
	}
	dataev_kick(&pd->dataev);
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

struct session *
session_new(struct popd *pd, struct site *site, struct conn *conn,
    const struct ctl_hello *h, uint32_t id, const uint8_t up[AEAD_KEY_LEN],
    const uint8_t down[AEAD_KEY_LEN], tunnel_derive_fn derive)
{
	struct session *s;
	size_t          i;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->site = site;
	s->conn = conn;
	s->id = id;
	s->nlinks = h->nlinks;
	memset(s->index_of, LINK_NONE, sizeof(s->index_of));
	for (i = 0; i < h->nlinks; i++) {
		s->links[i] = h->links[i];
		s->index_of[h->links[i].id] = (uint8_t)i;
	}
	/* New keys, from this session's TLS connection: the only way
	 * counters start at 0 (keyring.h).  Nothing of an old session's
	 * keys is ever carried over (session_inherit()). */
	if ((s->tun = tunnel_new(id, 0, down, up, derive, s, KEYRING_LIMIT,
		 KEYRING_HARD_LIMIT)) == NULL) {
		free(s);
		return NULL;
	}
	/* A link never heard from goes down like a silent one. */
	for (i = 0; i < h->nlinks; i++)
		s->rx_last_ms[i] = now_ms();
	if (session_spec(pd, h->links, h->nlinks, &s->spec) == -1 ||
	    (s->engine = engine_new(&s->spec)) == NULL) {
		session_free(s);
		return NULL;
	}
	return s;
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
	struct engine *e;
	int            map[CONFIG_MAX_LINKS];
	size_t         i, j;
	uint8_t        o;

	/*
	 * The flows first: the old session's table, re-pointed at this
	 * session's links by name, so that a reconnect keeps every return
	 * flow on its link and the two ends go on agreeing (the Socket
	 * restates only the flows it moved).  A link the site no longer
	 * announces fails over as in a reload.
	 */
	if (old != NULL) {
		for (i = 0; i < old->nlinks; i++) {
			map[i] = -1;
			for (j = 0; j < s->nlinks; j++)
				if (strcmp(old->links[i].name,
					s->links[j].name) == 0)
					map[i] = (int)j;
		}
		if (engine_reconfigure(old->engine, &s->spec, map, now_ms(),
			NULL, NULL, NULL) == 0) {
			e = s->engine;
			s->engine = old->engine;
			old->engine = e;
		}
	}

	for (i = 0; old != NULL && i < s->nlinks; i++) {
		o = old->index_of[s->links[i].id];
		if (o == LINK_NONE ||
		    strcmp(old->links[o].name, s->links[i].name) != 0)
			continue;
		memcpy(
		    &s->endpoint[i], &old->endpoint[o], sizeof(s->endpoint[i]));
		s->endpoint_len[i] = old->endpoint_len[o];
		s->rx_last_ms[i] = old->rx_last_ms[o];
		if (old->link_down[o])
			session_link_state(
			    s, (unsigned)i, 0, "down in the session before");
	}
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	engine_free(s->engine);
	balance_spec_clear(&s->spec);
	tunnel_free(s->tun);
	free(s);
}

static int
udp_open(struct popd *pd)
{
	const struct wp_addr   *a = &pd->conf->endpoint.address;
	struct sockaddr_storage ss;
	socklen_t               sslen;

	sslen = addr_to_sockaddr(a, pd->conf->endpoint.data_port, &ss);
	pd->udp_fd =
	    socket(a->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (pd->udp_fd == -1 ||
	    bind(pd->udp_fd, (struct sockaddr *)&ss, sslen) == -1) {
		log_warn("data port %u", pd->conf->endpoint.data_port);
		return -1;
	}
	return 0;
}

int
dataplane_start(struct popd *pd)
{
	struct timeval tv;
	uint32_t       size = 4;

	while (size < 2 * pd->nsites)
		size <<= 1;
	if ((pd->sess_index = calloc(size, sizeof(*pd->sess_index))) == NULL)
		return -1;
	pd->sess_mask = size - 1;
	int overhead;

	if (udp_open(pd) == -1)
		return -1;
	pd->udp_ev =
	    event_new(pd->base, pd->udp_fd, EV_READ | EV_PERSIST, udp_read, pd);
	if (pd->udp_ev == NULL || event_add(pd->udp_ev, NULL) == -1)
		return -1;
	overhead = pd->conf->endpoint.address.family == AF_INET6
	    ? WIRE_LINK_OVERHEAD6
	    : WIRE_LINK_OVERHEAD4;
	if (tundev_up(&pd->tundev, pd->base, pd->conf->tun.name,
		pd->conf->tun.mtu != 0 ? (int)pd->conf->tun.mtu
				       : 1500 - overhead,
		tun_read, pd) == -1)
		return -1;
	pd->health_ev = event_new(pd->base, -1, EV_PERSIST, health_tick, pd);
	if (pd->health_ev == NULL ||
	    event_add(pd->health_ev, health_period(pd, &tv)) == -1)
		return -1;
	log_info("%s up, MTU %d", pd->tundev.name, pd->tundev.mtu);
	return 0;
}

void
dataplane_stop(struct popd *pd)
{
	size_t i;

	for (i = 0; i < pd->nsites; i++)
		session_free(pd->sites[i].session);
	free(pd->sess_index);
	if (pd->health_ev != NULL)
		event_free(pd->health_ev);
	if (pd->udp_ev != NULL)
		event_free(pd->udp_ev);
	if (pd->udp_fd > 0)
		close(pd->udp_fd);
	tundev_close(&pd->tundev);
}
