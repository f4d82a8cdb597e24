/*
 * popd's control channel: TLS 1.3 with client certificates.  The
 * certificate names the site (its identity in popd.json); the first frame
 * must be that site's HELLO, which becomes a data-plane session keyed
 * from this TLS session and answered with WELCOME.  Anything wrong with a
 * connection (unknown identity, wrong version, bad frame) closes that one
 * connection with a logged reason and disturbs nothing else.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <netinet/in.h>
#include <openssl/err.h>
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

#define HANDSHAKE_TIMEOUT_S 10
/* Connections that have not shown a site's certificate yet: anyone can
 * open them, so they are capped, and accepting pauses when the process
 * is out of descriptors instead of spinning on accept(). */
#define MAX_PENDING    64
#define ACCEPT_PAUSE_S 1
#define READ_TIMEOUT_S 30 /* three of the Socket's keepalives */

static void conn_event(struct bufferevent *, short, void *);
static void conn_close(struct conn *, const char *);

static void
conn_free(struct conn *c)
{
	if (c->pending)
		c->pd->npending--;
	if ((*c->prevp = c->next) != NULL)
		c->next->prevp = c->prevp;
	/* The session outlives its connection, but cannot derive keys
	 * without it. */
	if (c->site != NULL && c->site->session != NULL &&
	    c->site->session->conn == c)
		c->site->session->conn = NULL;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	free(c);
}

static void
send_frame(struct conn *c, uint8_t *frame, size_t len)
{
	if (frame == NULL)
		return;
	bufferevent_write(c->bev, frame, len);
	free(frame);
}

static void
conn_drained(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_free(arg);
}

/* Tells the peer why, then closes once the BYE is flushed (or the
 * timeout fires: a peer that reads nothing cannot hold us). */
void
control_close(struct conn *c, const char *why)
{
	conn_close(c, why);
}

static void
conn_close(struct conn *c, const char *why)
{
	struct timeval wt = {HANDSHAKE_TIMEOUT_S, 0};
	struct ctl_bye bye;
	uint8_t       *frame;
	size_t         len;

	log_info("control channel from %s%s%s closed: %s", c->peer,
	    c->site != NULL ? ", site " : "",
	    c->site != NULL ? c->site->conf->name : "", why);
	memset(&bye, 0, sizeof(bye));
	snprintf(bye.reason, sizeof(bye.reason), "%s", why);
	if (ctlmsg_encode_bye(&bye, &frame, &len) == -1) {
		conn_free(c);
		return;
	}
	send_frame(c, frame, len);
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

static uint32_t
new_session_id(struct popd *pd)
{
	uint32_t id;
	size_t   i;

	for (;;) {
		id = (uint32_t)wp_random_seed();
		if (id == 0)
			continue;
		for (i = 0; i < pd->nsites; i++)
			if (pd->sites[i].session != NULL &&
			    pd->sites[i].session->id == id)
				break;
		if (i == pd->nsites)
			return id;
	}
}

static void
install_routes(struct popd *pd, struct site *site)
{
	char   buf[PREFIX_STRLEN];
	size_t i;

	if (site->routes_installed)
		return;
	for (i = 0; i < site->conf->nlan; i++)
		if (route_add(pd->tun_name, &site->conf->lan[i]) == -1)
			log_warn("site %s: route %s via %s", site->conf->name,
			    prefix_ntop(&site->conf->lan[i], buf, sizeof(buf)),
			    pd->tun_name);
	site->routes_installed = 1;
}

/* HELLO: returns NULL, or the reason to close. */
static const char *
on_hello(struct conn *c, const struct ctl_frame *f, char *why, size_t len)
{
	struct popd            *pd = c->pd;
	struct ctl_hello       *h;
	struct ctl_welcome      w;
	struct session         *s;
	const struct wp_prefix *out;
	uint8_t                 up[AEAD_KEY_LEN], down[AEAD_KEY_LEN];
	uint8_t                *frame;
	size_t                  flen;
	char                    err[CTL_ERRLEN], buf[PREFIX_STRLEN];
	SSL                    *ssl = bufferevent_openssl_get_ssl(c->bev);

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return "out of memory";
	if (ctlmsg_decode_hello(f->body, f->body_len, h, err, sizeof(err)) !=
	    CTL_OK) {
		snprintf(why, len, "bad HELLO: %s", err);
		goto fail;
	}
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
	if (tls_data_keys(ssl, w.session, 0, up, down) == -1 ||
	    (s = session_new(pd, c->site, c, h, w.session, up, down)) == NULL) {
		snprintf(why, len, "cannot set up the session");
		goto fail;
	}
	OPENSSL_cleanse(up, sizeof(up));
	OPENSSL_cleanse(down, sizeof(down));
	session_inherit(s, c->site->session);
	session_index_swap(pd, c->site->session, s);
	session_free(c->site->session);
	c->site->session = s;
	install_routes(pd, c->site);

	memset(&w, 0, sizeof(w));
	w.version = PROTOCOL_VERSION;
	w.session = s->id;
	w.data_port = pd->conf->endpoint.data_port;
	w.probe_interval_ms = pd->conf->probe_interval_ms;
	w.probe_down_after = pd->conf->probe_down_after;
	w.probe_up_after = pd->conf->probe_up_after;
	if (ctlmsg_encode_welcome(&w, &frame, &flen) == -1) {
		snprintf(why, len, "cannot encode WELCOME");
		goto fail;
	}
	send_frame(c, frame, flen);
	c->welcomed = 1;
	log_info("site %s: session %u, %zu links", c->site->conf->name, s->id,
	    s->nlinks);
	free(h);
	return NULL;
fail:
	OPENSSL_cleanse(up, sizeof(up));
	OPENSSL_cleanse(down, sizeof(down));
	free(h);
	return why;
}

int
control_derive(
    struct session *s, uint32_t epoch, int up, uint8_t key[AEAD_KEY_LEN])
{
	uint8_t k[2][AEAD_KEY_LEN];
	int     rc;

	/* Keys come from the TLS session: none once it is gone. */
	if (s->conn == NULL)
		return -1;
	rc = tls_data_keys(bufferevent_openssl_get_ssl(s->conn->bev), s->id,
	    epoch, k[0], k[1]);
	if (rc == 0)
		memcpy(key, k[up ? 0 : 1], AEAD_KEY_LEN);
	OPENSSL_cleanse(k, sizeof(k));
	return rc;
}

void
control_send_rekey(struct session *s, uint32_t epoch)
{
	struct ctl_rekey r = {epoch};
	uint8_t         *frame;
	size_t           len;

	log_info(
	    "site %s: downstream key epoch %u", s->site->conf->name, epoch);
	if (s->conn != NULL && ctlmsg_encode_rekey(&r, &frame, &len) == 0)
		send_frame(s->conn, frame, len);
}

/* One frame: NULL, or the reason to close. */
static const char *
on_frame(struct conn *c, const struct ctl_frame *f, char *why, size_t len)
{
	uint8_t *frame;
	size_t   flen;
	char     err[CTL_ERRLEN];

	if (!c->welcomed && f->type != CTL_HELLO) {
		snprintf(
		    why, len, "%s before HELLO", ctlmsg_type_name(f->type));
		return why;
	}
	switch (f->type) {
	case CTL_HELLO:
		if (c->welcomed)
			return "a second HELLO";
		return on_hello(c, f, why, len);
	case CTL_KEEPALIVE:
		if (ctlmsg_decode_keepalive(
			f->body, f->body_len, err, sizeof(err)) != CTL_OK) {
			snprintf(why, len, "bad KEEPALIVE: %s", err);
			return why;
		}
		/* Answer, so the Socket's read timeout sees a live PoP. */
		if (ctlmsg_encode_keepalive(&frame, &flen) == 0)
			send_frame(c, frame, flen);
		return NULL;
	case CTL_BYE:
		return "the Socket said BYE";
	case CTL_REKEY:
		/* Notice only: the phase bit of the data already said it. */
		if (ctlmsg_decode_rekey(f->body, f->body_len,
			&(struct ctl_rekey){0}, err, sizeof(err)) != CTL_OK) {
			snprintf(why, len, "bad REKEY: %s", err);
			return why;
		}
		return NULL;
	case CTL_LINK_STATE: {
		struct ctl_link_state ls;
		struct session       *sess = c->site->session;

		if (ctlmsg_decode_link_state(f->body, f->body_len, &ls, err,
			sizeof(err)) != CTL_OK) {
			snprintf(why, len, "bad LINK_STATE: %s", err);
			return why;
		}
		if (sess != NULL && ls.link < CONFIG_MAX_LINKS &&
		    sess->index_of[ls.link] != LINK_NONE)
			session_link_state(sess, sess->index_of[ls.link], ls.up,
			    ls.up ? "the Socket sees it up"
				  : "the Socket sees it down");
		return NULL;
	}
	case CTL_REASSIGN: {
		struct ctl_reassign     ra;
		struct ctl_reassign_ack ack;

		if (ctlmsg_decode_reassign(f->body, f->body_len, &ra, err,
			sizeof(err)) != CTL_OK) {
			snprintf(why, len, "bad REASSIGN: %s", err);
			return why;
		}
		/* The session this connection's HELLO made. */
		if (c->site->session != NULL)
			session_reassign(c->site->session, &ra);
		ack.link = ra.dead_link;
		ack.seq = ra.seq;
		log_debug("site %s: REASSIGN chunk %u%s, %zu moves",
		    c->site->conf->name, ra.seq, ra.last ? " (last)" : "",
		    ra.nmoves);
		ctlmsg_reassign_free(&ra);
		if (ctlmsg_encode_reassign_ack(&ack, &frame, &flen) == 0)
			send_frame(c, frame, flen);
		return NULL;
	}
	}
	return "unknown frame type";
}

static void
conn_read(struct bufferevent *bev, void *arg)
{
	struct conn     *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct ctl_frame f;
	const uint8_t   *p;
	const char      *bad;
	char             why[CTL_ERRLEN + 64];
	size_t           len, need;

	while ((len = evbuffer_get_length(in)) >= CTL_HDR_LEN) {
		p = evbuffer_pullup(in, CTL_HDR_LEN);
		if (ctlmsg_frame(p, CTL_HDR_LEN, &f) < 0) {
			conn_close(c, "bad frame header (type or length)");
			return;
		}
		need = CTL_HDR_LEN +
		    ((size_t)p[0] << 24 | (size_t)p[1] << 16 |
			(size_t)p[2] << 8 | p[3]);
		if (len < need)
			return;
		p = evbuffer_pullup(in, (ssize_t)need);
		if (ctlmsg_frame(p, need, &f) != CTL_OK) {
			conn_close(c, "bad frame");
			return;
		}
		if ((bad = on_frame(c, &f, why, sizeof(why))) != NULL) {
			conn_close(c, bad);
			return;
		}
		evbuffer_drain(in, f.frame_len);
	}
}

static void
conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn   *c = arg;
	struct popd   *pd = c->pd;
	struct timeval rt = {READ_TIMEOUT_S, 0};
	SSL           *ssl = bufferevent_openssl_get_ssl(bev);
	char           id[200], buf[300];
	unsigned long  e;
	size_t         i;

	if (what & BEV_EVENT_CONNECTED) {
		/* The handshake verified the chain; now the name. */
		for (i = 0; i < pd->nsites; i++)
			if (tls_peer_matches(ssl, pd->sites[i].conf->identity))
				break;
		if (i == pd->nsites) {
			if (tls_peer_identity(ssl, id, sizeof(id)) == -1)
				snprintf(id, sizeof(id), "?");
			snprintf(buf, sizeof(buf),
			    "certificate identity \"%s\" is no site of this "
			    "PoP",
			    id);
			conn_close(c, buf);
			return;
		}
		c->site = &pd->sites[i];
		c->pending = 0;
		pd->npending--;
		bufferevent_set_timeouts(bev, &rt, NULL);
		log_info("control channel from %s: site %s", c->peer,
		    c->site->conf->name);
		return;
	}
	/* Before a site's certificate, anyone can cause these: debug,
	 * and rate-limited. */
	if (c->site == NULL && !log_ratelimit_ok(&pd->peer_log, now_ms()))
		;
	else if ((e = bufferevent_get_openssl_error(bev)) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		if (c->site == NULL)
			log_debug("control channel from %s: %s", c->peer, buf);
		else
			log_info("control channel from %s: %s", c->peer, buf);
	} else if (what & BEV_EVENT_TIMEOUT)
		log_info("control channel from %s: timed out", c->peer);
	else
		log_info("control channel from %s: closed", c->peer);
	ERR_clear_error();
	conn_free(c);
}

static void
accept_conn(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct popd   *pd = arg;
	struct timeval ht = {HANDSHAKE_TIMEOUT_S, 0};
	struct conn   *c;
	SSL           *ssl;
	char           a[ADDR_STRLEN];

	(void)l;
	(void)salen;
	if (pd->npending >= MAX_PENDING) {
		pd->refused++;
		if (log_ratelimit_ok(&pd->peer_log, now_ms()))
			log_debug("control channel: %zu handshakes under way, "
				  "refusing more (%llu so far)",
			    pd->npending, (unsigned long long)pd->refused);
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (ssl = SSL_new(pd->ssl_ctx)) == NULL) {
		free(c);
		close(fd);
		return;
	}
	c->pd = pd;
	c->pending = 1;
	pd->npending++;
	if ((c->next = pd->conns) != NULL)
		c->next->prevp = &c->next;
	c->prevp = &pd->conns;
	pd->conns = c;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, a,
		    sizeof(a));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, a,
		    sizeof(a));
	snprintf(c->peer, sizeof(c->peer), "%s", a);
	c->bev = bufferevent_openssl_socket_new(pd->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		SSL_free(ssl);
		close(fd);
		conn_free(c); /* unlinks it */
		return;
	}
	bufferevent_setcb(c->bev, conn_read, NULL, conn_event, c);
	bufferevent_set_timeouts(c->bev, &ht, NULL);
	bufferevent_setwatermark(
	    c->bev, EV_READ, 0, CTL_HDR_LEN + CTL_MAX_BODY);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* The TLS context first: bad certificate files stop the daemon before
 * it touches the network. */
int
control_init(struct popd *pd)
{
	struct tls_files files = {
	    pd->conf->tls.ca, pd->conf->tls.cert, pd->conf->tls.key};
	char err[TLS_ERRLEN];

	if ((pd->ssl_ctx = tls_ctx_new(1, &files, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	return 0;
}

static void
accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct popd *pd = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(pd->listener);
}

/* accept() failed: out of descriptors (or memory), most likely.  Pause
 * rather than spin: the listening socket stays readable meanwhile. */
static void
accept_error(struct evconnlistener *l, void *arg)
{
	struct popd   *pd = arg;
	struct timeval tv = {ACCEPT_PAUSE_S, 0};

	if (log_ratelimit_ok(&pd->peer_log, now_ms()))
		log_warn(
		    "control channel: accept; pausing %d s", ACCEPT_PAUSE_S);
	evconnlistener_disable(l);
	evtimer_add(pd->accept_ev, &tv);
}

int
control_start(struct popd *pd)
{
	const struct wp_addr   *a = &pd->conf->endpoint.address;
	struct sockaddr_storage ss;
	struct sockaddr_in     *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6    *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t               sslen;

	memset(&ss, 0, sizeof(ss));
	if (a->family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(pd->conf->endpoint.control_port);
		memcpy(&sin->sin_addr, a->a, 4);
		sslen = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(pd->conf->endpoint.control_port);
		memcpy(&sin6->sin6_addr, a->a, 16);
		sslen = sizeof(*sin6);
	}
	pd->listener = evconnlistener_new_bind(pd->base, accept_conn, pd,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    16, (struct sockaddr *)&ss, (int)sslen);
	if (pd->listener == NULL) {
		log_warn("control port %u", pd->conf->endpoint.control_port);
		return -1;
	}
	evconnlistener_set_error_cb(pd->listener, accept_error);
	if ((pd->accept_ev = evtimer_new(pd->base, accept_resume, pd)) == NULL)
		return -1;
	pd->peer_log.interval_ms = 1000;
	pd->peer_log.burst = 10;
	return 0;
}

void
control_stop(struct popd *pd)
{
	if (pd->listener != NULL)
		evconnlistener_free(pd->listener);
	if (pd->accept_ev != NULL)
		event_free(pd->accept_ev);
	SSL_CTX_free(pd->ssl_ctx);
}
