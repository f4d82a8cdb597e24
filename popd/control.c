/*
 * popd's control channel: TLS 1.3 with client certificates.  The
 * certificate names the site (its identity in popd.json); the first frame
 * must be that site's HELLO, which becomes a data-plane session keyed
 * from this TLS session and answered with WELCOME.  Anything wrong with a
 * connection (unknown identity, wrong version, bad frame) closes that one
 * connection with a logged reason and disturbs nothing else.
 *
 * What a peer may take is bounded by popd.json's "limits" (wanpair.json(5)),
 * read at each use so that a reload applies them:
 *   - before its certificate is verified, a connection is in pd->pending
 *     (common/limit.h): capped per source and in all, the oldest dropped
 *     to admit a new one; from accept to HELLO it has an absolute
 *     deadline, which no byte restarts;
 *   - a site has one connection: a newer one with its certificate
 *     replaces the older;
 *   - connections of every kind are capped in all (each is a descriptor);
 *   - what waits to be sent to a peer is capped: one that does not read
 *     is closed, not buffered without end;
 *   - frames are metered by a token bucket; a flood closes the connection.
 * Every one of these is counted ("control" in `wanpairctl counters`), and
 * what a peer causes is logged at debug, rate-limited.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "log.h"
#include "popd.h"
#include "proto.h"
#include "tls.h"
#include "tun.h"

#define READ_TIMEOUT_S 30 /* three of the Socket's keepalives */
/* A closing connection has this long to take its BYE: it still holds a
 * descriptor and counts against limits.connections. */
#define BYE_LINGER_S 2

/* Why a connection is closed: what it is counted as, and how it is
 * logged. */
enum close_kind {
	CLOSE_PEER,     /* the peer's doing: debug, rate-limited */
	CLOSE_OPERATOR, /* a reload's: info */
	CLOSE_BAD,      /* a malformed, oversized or unknown frame */
	CLOSE_FLOOD,    /* more frames than limits.frames_per_s allow */
	CLOSE_OVERFLOW  /* output past limits.output_kib: no BYE, at once */
};

static void conn_close(struct conn *, enum close_kind, const char *);

/* c is no longer its site's connection (closing or gone). */
static void
site_conn_drop(struct conn *c)
{
	if (c->site != NULL && c->site->conn == c)
		c->site->conn = NULL;
}

void
conn_free(struct conn *c)
{
	/* Every way a connection ends passes here: the one place to
	 * count those that never got their site welcomed (TLS refused,
	 * unknown certificate, bad HELLO, timeout, evicted, hung up). */
	if (!c->welcomed)
		c->pd->handshake_failures++;
	site_conn_drop(c);
	limit_pending_remove(&c->pd->pending, &c->pend);
	c->pd->nconns--;
	if (c->deadline_ev != NULL)
		event_free(c->deadline_ev);
	if (c->resume_ev != NULL)
		event_free(c->resume_ev);
	if ((*c->prevp = c->next) != NULL)
		c->next->prevp = c->prevp;
	/* The session outlives its connection, but cannot derive keys
	 * without it. */
	if (c->site != NULL && c->site->session != NULL &&
	    c->site->session->conn == c) {
		c->site->session->conn = NULL;
		/* In a cluster the members' grace starts too (sent from
		 * the loop: whoever frees a connection may hold locks). */
		csync_announce_later(c->pd, c->site->session);
	}
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	free(c);
}

/*
 * Queues a frame (and frees it).  Returns -1 if the peer's output is now
 * past limits.output_kib, which the caller must close it for: a peer
 * that does not read would otherwise grow popd without bound (each
 * KEEPALIVE it sends queues an answer).
 */
static int
send_frame(struct conn *c, uint8_t *frame, size_t len)
{
	if (frame == NULL)
		return 0;
	bufferevent_write(c->bev, frame, len);
	free(frame);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) >
	    (size_t)c->pd->conf->limits.output_kib * 1024)
		return -1;
	return 0;
}

static void
conn_drained(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_free(arg);
}

void
control_close(struct conn *c, const char *why)
{
	conn_close(c, CLOSE_OPERATOR, why);
}

/*
 * Tells the peer why, then closes once the BYE is flushed (or after
 * BYE_LINGER_S: a peer that reads nothing cannot hold us).  A peer past
 * its output bound gets no BYE: it would only queue behind the rest.
 */
static void
conn_close(struct conn *c, enum close_kind kind, const char *why)
{
	struct popd   *pd = c->pd;
	struct timeval wt = {BYE_LINGER_S, 0};
	struct ctl_bye bye;
	uint8_t       *frame;
	size_t         len;

	if (c->closing) {
		/* Its BYE is on the way; only a peer that does not read
		 * it is cut short. */
		if (kind == CLOSE_OVERFLOW)
			conn_free(c);
		return;
	}
	site_conn_drop(c);
	switch (kind) {
	case CLOSE_BAD:
		pd->bad_frames++;
		break;
	case CLOSE_FLOOD:
		pd->rate_limited++;
		break;
	case CLOSE_OVERFLOW:
		pd->output_overflows++;
		break;
	default:
		break;
	}
	if (kind == CLOSE_OPERATOR)
		log_info("control channel from %s%s%s closed: %s", c->peer,
		    c->site != NULL ? ", site " : "",
		    c->site != NULL ? c->site->conf->name : "", why);
	else if (log_ratelimit_ok(
		     c->site != NULL ? &pd->site_log : &pd->peer_log, now_ms()))
		log_debug("control channel from %s%s%s closed: %s", c->peer,
		    c->site != NULL ? ", site " : "",
		    c->site != NULL ? c->site->conf->name : "", why);
	/* Its slot is free for the next handshake at once. */
	limit_pending_remove(&pd->pending, &c->pend);
	if (c->deadline_ev != NULL)
		evtimer_del(c->deadline_ev);
	if (kind == CLOSE_OVERFLOW) {
		conn_free(c);
		return;
	}
	memset(&bye, 0, sizeof(bye));
	snprintf(bye.reason, sizeof(bye.reason), "%s", why);
	if (ctlmsg_encode_bye(&bye, &frame, &len) == -1) {
		conn_free(c);
		return;
	}
	c->closing = 1;
	(void)send_frame(c, frame, len); /* closing anyway */
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_set_timeouts(c->bev, NULL, &wt);
	bufferevent_setcb(c->bev, NULL, conn_drained, conn_event, c);
}

/* Every announced prefix must lie inside the site's configured LAN. */
static const struct wp_prefix *
lan_outside(const struct ctl_hello *h, const struct config_site *site)
{
	size_t i, j;

	for (i = 0; i < h->nlan; i++) {
		for (j = 0; j < site->nlan; j++)
			if (h->lan[i].len >= site->lan[j].len &&
			    prefix_contains(&site->lan[j],
				h->lan[i].addr.family, h->lan[i].addr.a))
				break;
		if (j == site->nlan)
			return &h->lan[i];
	}
	return NULL;
}

/* A random id no session has: the index answers, not a walk over the
 * sites (every session is in it, popd_reload_commit() too). */
static uint32_t
new_session_id(struct popd *pd)
{
	uint32_t id;

	if (pd->csync != NULL)
		return csync_session_id(pd);
	do
		id = (uint32_t)wp_random_seed();
	while (id == 0 || session_by_id(pd, id) != NULL);
	return id;
}

void
install_routes(struct popd *pd, struct site *site)
{
	char   buf[PREFIX_STRLEN];
	size_t i;

	if (site->routes_installed)
		return;
	for (i = 0; i < site->conf->nlan; i++)
		if (route_add(pd->tundev.name, &site->conf->lan[i]) == -1)
			log_warn("site %s: route %s via %s", site->conf->name,
			    prefix_ntop(&site->conf->lan[i], buf, sizeof(buf)),
			    pd->tundev.name);
	site->routes_installed = 1;
}

/* HELLO: returns NULL, or the reason to close (and *kind). */
static const char *
on_hello(struct conn *c, const struct ctl_hello *h, char *why, size_t len,
    enum close_kind *kind)
{
	struct popd            *pd = c->pd;
	struct ctl_welcome      w;
	struct session         *s;
	const struct wp_prefix *out;
	uint8_t                *frame;
	size_t                  flen;
	char                    buf[PREFIX_STRLEN];

	if (h->version != PROTOCOL_VERSION) {
		snprintf(why, len, "protocol version %u, this PoP speaks %d",
		    h->version, PROTOCOL_VERSION);
		goto fail;
	}
	if (strcmp(h->site, c->site->conf->name) != 0) {
		snprintf(why, len,
		    "HELLO names site \"%s\", the certificate "
		    "site \"%s\"",
		    h->site, c->site->conf->name);
		goto fail;
	}
	if ((out = lan_outside(h, c->site->conf)) != NULL) {
		snprintf(why, len,
		    "LAN %s is not the site's in this PoP's "
		    "configuration",
		    prefix_ntop(out, buf, sizeof(buf)));
		goto fail;
	}
	w.session = new_session_id(pd);
	/* Its keys (a tunnel per worker) first: the workers do not see it
	 * yet.  Then they wait: the old session's tunnels go, and the
	 * site's engine turns to the new links. */
	if ((s = session_make(pd, c->site, c, h, w.session,
		 pd->csync != NULL ? csync_derive : control_derive,
		 csync_own_state(pd, h->workers))) == NULL) {
		snprintf(why, len, "cannot set up the session");
		goto fail;
	}
	if (session_install(pd, s) == -1) {
		snprintf(why, len, "cannot set up the session");
		goto fail;
	}
	install_routes(pd, c->site);
	/* The members get its keys before the Socket can use them. */
	csync_announce(pd, s);

	memset(&w, 0, sizeof(w));
	w.version = PROTOCOL_VERSION;
	/* The Socket derives a key of each worker's, and steers what it
	 * sends to them by its own worker byte (tunnel_set_workers()). */
	w.workers = popd_wire_workers(pd);
	w.session = s->id;
	/* The data port of the listen entry the Socket reached: the one
	 * beside the address it knows (wanpair-socketd(8)). */
	w.data_port = pd->conf->endpoints[c->lsn].data_port;
	w.probe_interval_ms = pd->conf->probe_interval_ms;
	w.probe_down_after = pd->conf->probe_down_after;
	w.probe_up_after = pd->conf->probe_up_after;
	if (ctlmsg_encode_welcome(&w, &frame, &flen) == -1) {
		snprintf(why, len, "cannot encode WELCOME");
		goto fail;
	}
	c->welcomed = 1;
	evtimer_del(c->deadline_ev);
	/* Info, for the operator, but a site's certificate can reconnect
	 * in a loop: rate-limited. */
	if (log_ratelimit_ok(&pd->site_log, now_ms()))
		log_info("site %s: session %u, %zu links", c->site->conf->name,
		    s->id, s->nlinks);
	if (send_frame(c, frame, flen) == -1) {
		*kind = CLOSE_OVERFLOW;
		return "output over limits.output_kib";
	}
	return NULL;
fail:
	return why;
}

int
control_derive(void *arg, uint32_t epoch, int up, uint8_t worker,
    uint8_t key[AEAD_KEY_LEN])
{
	struct session *s = arg;

	/* Keys come from the TLS session: none once it is gone. */
	if (s->conn == NULL)
		return -1;
	return tls_data_key(bufferevent_openssl_get_ssl(s->conn->bev), s->id,
	    epoch, worker, up, key);
}

void
control_send_rekey(struct session *s, uint32_t epoch)
{
	struct ctl_rekey r = {epoch};
	uint8_t         *frame;
	size_t           len;

	log_info(
	    "site %s: downstream key epoch %u", s->site->conf->name, epoch);
	if (s->conn != NULL && !s->conn->closing &&
	    ctlmsg_encode_rekey(&r, &frame, &len) == 0 &&
	    send_frame(s->conn, frame, len) == -1)
		conn_close(s->conn, CLOSE_OVERFLOW,
		    "output over limits.output_kib (the peer does not read)");
}

/* A token for a frame: 0 if the connection has sent too many. */
static int
frame_allowed(struct conn *c)
{
	const struct config_limits *l = &c->pd->conf->limits;

	return limit_bucket_take(
	    &c->frames, now_ms(), l->frames_per_s, l->frame_burst);
}

#define FLOODED  "more than limits.frames_per_s frames"
#define OVERFLOW "output over limits.output_kib (the peer does not read)"

/* What a Socket may send; anything else closes as an unknown frame. */
#define FROM_SOCKET                                                            \
	(1u << CTL_HELLO | 1u << CTL_KEEPALIVE | 1u << CTL_BYE |               \
	    1u << CTL_REKEY | 1u << CTL_LINK_STATE | 1u << CTL_REASSIGN)

/* One decoded message: NULL, or the reason to close (and *kind). */
static const char *
on_msg(struct conn *c, const struct ctl_msg *m, char *why, size_t len,
    enum close_kind *kind)
{
	uint8_t *frame;
	size_t   flen;

	switch (m->type) {
	case CTL_HELLO:
		*kind = CLOSE_PEER;
		return on_hello(c, &m->u.hello, why, len, kind);
	case CTL_KEEPALIVE:
		/* Answer, so the Socket's read timeout sees a live PoP. */
		if (ctlmsg_encode_keepalive(&frame, &flen) == 0 &&
		    send_frame(c, frame, flen) == -1) {
			*kind = CLOSE_OVERFLOW;
			return OVERFLOW;
		}
		return NULL;
	case CTL_REKEY:
		/* Notice only: the phase bit of the data already said it. */
		return NULL;
	case CTL_LINK_STATE: {
		const struct ctl_link_state *ls = &m->u.link_state;
		struct session              *sess = c->site->session;

		if (sess != NULL && ls->link < CONFIG_MAX_LINKS &&
		    sess->index_of[ls->link] != LINK_NONE) {
			pthread_mutex_lock(&c->pd->engine_mu);
			/* The rank of a duplicate's second copy (dup.h). */
			sess->dup_rank[sess->index_of[ls->link]] =
			    dup_rank(ls->loss_ppm, ls->rtt_us);
			sess->socket_down[sess->index_of[ls->link]] = !ls->up;
			session_link_state(sess, sess->index_of[ls->link],
			    ls->up,
			    ls->up ? "the Socket sees it up"
				   : "the Socket sees it down");
			session_link_sla(
			    sess, c->pd->conf, sess->index_of[ls->link], ls);
			pthread_mutex_unlock(&c->pd->engine_mu);
		}
		return NULL;
	}
	case CTL_REASSIGN: {
		const struct ctl_reassign *ra = &m->u.reassign;
		struct ctl_reassign_ack    ack;

		if (ra->nmoves < CTL_MAX_MOVES && !frame_allowed(c)) {
			*kind = CLOSE_FLOOD;
			return FLOODED;
		}
		/* The session this connection's HELLO made. */
		if (c->site->session != NULL) {
			pthread_mutex_lock(&c->pd->engine_mu);
			session_reassign(c->site->session, ra);
			pthread_mutex_unlock(&c->pd->engine_mu);
		}
		ack.link = ra->dead_link;
		ack.seq = ra->seq;
		log_debug("site %s: REASSIGN chunk %u%s, %zu moves",
		    c->site->conf->name, ra->seq, ra->last ? " (last)" : "",
		    ra->nmoves);
		if (ctlmsg_encode_reassign_ack(&ack, &frame, &flen) == 0 &&
		    send_frame(c, frame, flen) == -1) {
			*kind = CLOSE_OVERFLOW;
			return OVERFLOW;
		}
		return NULL;
	}
	}
	return "unknown frame type";
}

/* One frame: NULL, or the reason to close (and *kind). */
static const char *
on_frame(struct conn *c, const struct ctl_frame *f, char *why, size_t len,
    enum close_kind *kind)
{
	struct ctl_msg m;
	const char    *rc;
	char           err[CTL_ERRLEN];

	*kind = CLOSE_BAD;
	/*
	 * Every frame takes a token but a full REASSIGN chunk, checked
	 * once decoded: CTL_MAX_MOVES moves are over 100 kB of JSON, so
	 * bandwidth bounds them as it bounds data, and a failover of any
	 * size must pass.
	 */
	if (f->type != CTL_REASSIGN && !frame_allowed(c)) {
		*kind = CLOSE_FLOOD;
		return FLOODED;
	}
	if (!c->welcomed && f->type != CTL_HELLO) {
		snprintf(
		    why, len, "%s before HELLO", ctlmsg_type_name(f->type));
		return why;
	}
	if (f->type > CTL_TYPE_MAX || !(FROM_SOCKET & 1u << f->type))
		return "unknown frame type";
	if (f->type == CTL_HELLO && c->welcomed)
		return "a second HELLO";
	/* A BYE's body is not read: the Socket is going either way. */
	if (f->type == CTL_BYE) {
		*kind = CLOSE_PEER;
		return "the Socket said BYE";
	}
	if (ctlmsg_decode(f, &m, err, sizeof(err)) != CTL_OK) {
		snprintf(why, len, "bad %s: %s", ctlmsg_type_tag(f->type), err);
		return why;
	}
	rc = on_msg(c, &m, why, len, kind);
	ctlmsg_msg_free(&m);
	return rc;
}

/*
 * Charges a frame's bytes to its connection's and to all connections'
 * input buckets: 0, or the milliseconds before the connection's next frame
 * may be decoded.  Bytes, not frames, bound what a peer costs: a frame can
 * be a 1 MiB REASSIGN.
 */
static uint64_t
input_charge(struct conn *c, size_t bytes)
{
	const struct config_limits *l = &c->pd->conf->limits;
	uint64_t                    now = now_ms(), w1, w2;
	uint32_t                    one = l->input_kib_per_s * 1024;
	uint32_t                    all = l->input_total_kib_per_s * 1024;

	w1 = limit_bucket_charge(&c->input, now, one, one, (uint32_t)bytes);
	w2 = limit_bucket_charge(
	    &c->pd->input_total, now, all, all, (uint32_t)bytes);
	return w1 > w2 ? w1 : w2;
}

void
conn_read(struct bufferevent *bev, void *arg)
{
	struct conn     *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct ctl_frame f;
	const uint8_t   *p;
	const char      *bad;
	char             why[CTL_ERRLEN + 64];
	size_t           len, need;
	enum close_kind  kind;
	uint64_t         wait;
	struct timeval   tv;

	if (c->closing)
		return;
	while ((len = evbuffer_get_length(in)) >= CTL_HDR_LEN) {
		p = evbuffer_pullup(in, CTL_HDR_LEN);
		if (ctlmsg_frame(p, CTL_HDR_LEN, &f) < 0) {
			conn_close(
			    c, CLOSE_BAD, "bad frame header (type or length)");
			return;
		}
		need = ctlmsg_frame_need(p);
		if (len < need)
			return;
		p = evbuffer_pullup(in, (ssize_t)need);
		if (ctlmsg_frame(p, need, &f) != CTL_OK) {
			conn_close(c, CLOSE_BAD, "bad frame");
			return;
		}
		if ((bad = on_frame(c, &f, why, sizeof(why), &kind)) != NULL) {
			conn_close(c, kind, bad);
			return;
		}
		evbuffer_drain(in, f.frame_len);
		if ((wait = input_charge(c, f.frame_len)) > 0) {
			/* Not a byte more until conn_resume(): what is
			 * buffered waits, and TCP slows the peer down. */
			c->pd->input_throttled++;
			bufferevent_disable(bev, EV_READ);
			tv.tv_sec = (time_t)(wait / 1000);
			tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
			evtimer_add(c->resume_ev, &tv);
			return;
		}
	}
}

/* The input limits allow the connection's next frames now. */
void
conn_resume(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->closing)
		return;
	bufferevent_enable(c->bev, EV_READ);
	conn_read(c->bev, c); /* what was buffered meanwhile */
}

/* The site's other connection, if any, goes: one connection a site,
 * found through the site (a walk over every connection cost about a
 * millisecond a handshake at 10,000 sites), and c becomes it. */
void
conn_take_site(struct conn *c)
{
	struct conn *o = c->site->conn;

	if (o != NULL && o != c && !o->closing) {
		c->pd->replaced++;
		conn_close(o, CLOSE_PEER,
		    "replaced by a newer connection of the site");
	}
	c->site->conn = c;
}

void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn   *c = arg;
	struct popd   *pd = c->pd;
	struct timeval rt = {READ_TIMEOUT_S, 0};
	SSL           *ssl = bufferevent_openssl_get_ssl(bev);
	char           id[200], buf[300];
	unsigned long  e;
	int            loggable;

	if (what & BEV_EVENT_CONNECTED) {
		/* The handshake verified the chain; now the name, in the
		 * index of identities (a walk over every site cost 4-5 ms
		 * of the loop a handshake at 10,000 sites). */
		if ((c->site = site_by_peer(pd, ssl)) == NULL) {
			if (tls_peer_identity(ssl, id, sizeof(id)) == -1)
				snprintf(id, sizeof(id), "?");
			snprintf(buf, sizeof(buf),
			    "certificate identity \"%s\" is no site of this "
			    "PoP",
			    id);
			conn_close(c, CLOSE_PEER, buf);
			return;
		}
		limit_pending_remove(&pd->pending, &c->pend);
		conn_take_site(c);
		/* The deadline stays until HELLO: a certificate alone gets
		 * no more time than a handshake. */
		bufferevent_set_timeouts(bev, &rt, NULL);
		if (log_ratelimit_ok(&pd->site_log, now_ms()))
			log_info("control channel from %s: site %s", c->peer,
			    c->site->conf->name);
		return;
	}
	/* Anyone can cause these, a site's certificate too: debug, and
	 * rate-limited. */
	loggable = log_ratelimit_ok(
	    c->site != NULL ? &pd->site_log : &pd->peer_log, now_ms());
	if (!loggable)
		;
	else if ((e = bufferevent_get_openssl_error(bev)) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		log_debug("control channel from %s: %s", c->peer, buf);
	} else if (what & BEV_EVENT_TIMEOUT)
		log_debug("control channel from %s: timed out", c->peer);
	else
		log_debug("control channel from %s: closed", c->peer);
	ERR_clear_error();
	conn_free(c);
}
