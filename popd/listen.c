/*
 * popd's control listener: accepting under popd.json's "limits" (a
 * connection's room under limits.connections, the pending handshakes per
 * source and in all, an absolute deadline to HELLO), the TLS context,
 * pausing when out of descriptors; and the main loop's drain of what the
 * tunnels and the datagram loop saw.  A connection, once accepted, is
 * control.c's: this file calls it, never the other way.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <errno.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataev.h"
#include "log.h"
#include "popd.h"
#include "proto.h"
#include "tls.h"

/* Accepting pauses when the process is out of descriptors instead of
 * spinning on accept(). */
#define ACCEPT_PAUSE_S 1
/*
 * The kernel's send buffer of a control connection.  What the PoP sends
 * is small (WELCOME, acknowledgements, keepalives); left to autotuning,
 * a peer that never reads would hold up to net.ipv4.tcp_wmem's maximum
 * (4 MiB by default) of kernel memory on top of limits.output_kib.
 */
#define CONN_SNDBUF (64 * 1024)
/*
 * Connections the kernel completes before popd accepts them.  Past it,
 * the kernel drops the handshake's last ACK and a client waits for a
 * SYN-ACK retransmission (1 s, then 2 s): with 16, a burst of 72 connects
 * in the lab delayed accepts by up to 3 s, every site reconnecting after
 * a restart would too.  The kernel caps it at net.core.somaxconn.
 */
#define LISTEN_BACKLOG 128

/* limits.handshake_timeout_s after accept, and still no HELLO. */
static void
conn_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	c->pd->handshake_timeouts++;
	if (log_ratelimit_ok(&c->pd->peer_log, now_ms()))
		log_debug("control channel from %s closed: no %s in %u s",
		    c->peer, c->site == NULL ? "handshake" : "HELLO",
		    c->pd->conf->limits.handshake_timeout_s);
	conn_free(c); /* mid-handshake, a BYE cannot go */
}

/* Room for one more connection under limits.connections: a closing one
 * is freed for it if need be.  0, or -1 if every one is live. */
static int
conn_room(struct popd *pd)
{
	struct conn *c, *oldest = NULL;

	if (pd->nconns < pd->conf->limits.connections)
		return 0;
	for (c = pd->conns; c != NULL; c = c->next)
		if (c->closing)
			oldest = c; /* the list is newest first */
	if (oldest == NULL)
		return -1;
	conn_free(oldest);
	return pd->nconns < pd->conf->limits.connections ? 0 : -1;
}

static void
conn_refuse(struct popd *pd, evutil_socket_t fd, const char *peer,
    uint64_t *counter, const char *why)
{
	(*counter)++;
	pd->refused++;
	if (log_ratelimit_ok(&pd->peer_log, now_ms()))
		log_debug("control channel from %s refused: %s (%llu so far)",
		    peer, why, (unsigned long long)*counter);
	close(fd);
}

static void
accept_conn(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct popd_listen         *lsn = arg;
	struct popd                *pd = lsn->pd;
	const struct config_limits *lim = &pd->conf->limits;
	struct timeval              ht = {lim->handshake_timeout_s, 0};
	struct limit_pending_entry *old;
	struct limit_src            src;
	struct conn                *c;
	SSL                        *ssl;
	struct wp_addr              peer;
	char                        a[ADDR_STRLEN] = "?";
	int                         sndbuf = CONN_SNDBUF;

	(void)l;
	(void)salen;
	if (addr_from_sockaddr(sa, &peer) == 0)
		addr_ntop(&peer, a, sizeof(a));
	if (conn_room(pd) == -1) {
		conn_refuse(pd, fd, a, &pd->refused_total,
		    "limits.connections reached");
		return;
	}
	limit_src_from(&src, sa);
	for (;;) {
		switch (limit_pending_check(&pd->pending, &src, lim->handshakes,
		    lim->handshakes_per_source, &old)) {
		case LIMIT_REFUSE_SOURCE:
			conn_refuse(pd, fd, a, &pd->refused_per_source,
			    "limits.handshakes_per_source pending from there");
			return;
		case LIMIT_EVICT:
			/* The oldest handshake makes room (sshd's
			 * MaxStartups): slow ones cannot keep a quick one
			 * out. */
			c = (struct conn *)((char *)old -
			    offsetof(struct conn, pend));
			pd->handshakes_evicted++;
			if (log_ratelimit_ok(&pd->peer_log, now_ms()))
				log_debug("control channel from %s closed: "
					  "oldest of limits.handshakes "
					  "pending, dropped for %s",
				    c->peer, a);
			conn_free(c);
			continue;
		case LIMIT_ADMIT:
			break;
		}
		break;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (ssl = SSL_new(pd->ssl_ctx)) == NULL) {
		free(c);
		close(fd);
		return;
	}
	c->pd = pd;
	c->lsn = lsn->idx;
	pd->nconns++;
	limit_pending_add(&pd->pending, &c->pend, &src);
	limit_bucket_init(&c->frames, now_ms(), lim->frame_burst);
	if ((c->next = pd->conns) != NULL)
		c->next->prevp = &c->next;
	c->prevp = &pd->conns;
	pd->conns = c;
	snprintf(c->peer, sizeof(c->peer), "%s", a);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) ==
	    -1)
		log_debug("control channel from %s: SO_SNDBUF: %s", a,
		    strerror(errno));
	c->bev = bufferevent_openssl_socket_new(pd->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		SSL_free(ssl);
		close(fd);
		conn_free(c); /* unlinks it */
		return;
	}
	/* An absolute deadline, not a read timeout, which each byte would
	 * restart: a byte every few seconds held a slot for ever. */
	limit_bucket_init(&c->input, now_ms(), lim->input_kib_per_s * 1024);
	if ((c->deadline_ev = evtimer_new(pd->base, conn_deadline, c)) ==
		NULL ||
	    (c->resume_ev = evtimer_new(pd->base, conn_resume, c)) == NULL ||
	    evtimer_add(c->deadline_ev, &ht) == -1) {
		conn_free(c);
		return;
	}
	bufferevent_setcb(c->bev, conn_read, NULL, conn_event, c);
	bufferevent_setwatermark(
	    c->bev, EV_READ, 0, CTL_HDR_LEN + CTL_MAX_BODY);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* The TLS context first: bad certificate files stop the daemon before
 * it touches the network. */
int
control_init(struct popd *pd)
{
	limit_pending_init(&pd->pending);
	return (pd->ssl_ctx = daemon_tls_ctx(pd->daemon)) == NULL ? -1 : 0;
}

static void
accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct popd *pd = arg;
	size_t       i;

	(void)fd;
	(void)what;
	for (i = 0; i < pd->nlsn; i++)
		if (pd->lsn[i].listener != NULL)
			evconnlistener_enable(pd->lsn[i].listener);
}

/* accept() failed: out of descriptors (or memory), most likely.  Pause
 * rather than spin: the listening socket stays readable meanwhile. */
static void
accept_error(struct evconnlistener *l, void *arg)
{
	struct popd   *pd = ((struct popd_listen *)arg)->pd;
	struct timeval tv = {ACCEPT_PAUSE_S, 0};

	if (log_ratelimit_ok(&pd->peer_log, now_ms()))
		log_warn(
		    "control channel: accept; pausing %d s", ACCEPT_PAUSE_S);
	evconnlistener_disable(l);
	evtimer_add(pd->accept_ev, &tv);
}

/* dataev_ops: popd's tunnels are its sessions', found by id.  One that
 * ended since is gone from the index, and its events with it. */
static struct tunnel *
ev_find(void *arg, uint32_t session, void **owner)
{
	struct session *s = session_by_id(arg, session);

	*owner = s;
	return s != NULL ? s->tun[0] : NULL;
}

/* Each worker's keys of the session that are due, under its lock. */
static int
ev_refill(void *arg, void *owner)
{
	struct popd    *pd = arg;
	struct session *s = owner;
	unsigned        i;
	int             rc = 0;

	for (i = 0; i < s->ntun; i++) {
		dpw_lock(&pd->w[i].t);
		if (tunnel_refill(s->tun[i]) == -1)
			rc = -1;
		dpw_unlock(&pd->w[i].t);
	}
	/* A worker byte moved to its next epoch (the Socket's, or this
	 * node's after REKEY): the members get the epoch after. */
	csync_announce(pd, s);
	return rc;
}

static void
ev_who(void *owner, char *buf, size_t len)
{
	const struct session *s = owner;

	snprintf(buf, len, "site %s: ", s->site->conf->name);
}

/* REKEY to send (which may close a connection that does not read); a
 * silent link that probes again: its flows come back (a table walk);
 * the Socket's word that a link died: its flows leave it. */
static void
ev_other(void *arg, void *owner, const struct tunnel_ev *ev)
{
	struct popd    *pd = arg;
	struct session *s = owner;
	unsigned        idx;

	if (ev->kind == TUNNEL_EV_REKEY) {
		/* Each worker's tunnel says so as it seals its first packet
		 * of the epoch: the Socket hears it once. */
		if (ev->epoch + 1 > s->rekey_said) {
			s->rekey_said = ev->epoch + 1;
			/* The members first (doc/CLUSTER.md). */
			csync_announce(pd, s);
			control_send_rekey(s, ev->epoch);
		}
		return;
	}

	if (ev->kind == TUNNEL_EV_ENDPOINT) {
		/* The holder's next SESSION carries it (a backup: nothing). */
		if (s->cs != NULL)
			csync_link_changed(s);
		return;
	}
	if (ev->kind == TUNNEL_EV_LINK_DOWN) {
		pthread_mutex_lock(&pd->engine_mu);
		session_link_down_notice(s, ev->link, ev->cause, ev->seq);
		pthread_mutex_unlock(&pd->engine_mu);
		return;
	}
	if (ev->kind != TUNNEL_EV_LINK_BACK)
		return;
	idx = ev->link < CONFIG_MAX_LINKS ? s->index_of[ev->link] : LINK_NONE;
	pthread_mutex_lock(&pd->engine_mu);
	if (idx != LINK_NONE &&
	    session_link_back(s, idx, pd->conf->probe_up_after))
		session_link_state(s, idx, 1, "probes arrive again");
	pthread_mutex_unlock(&pd->engine_mu);
}

static const struct dataev_ops popd_dataev = {
    .find = ev_find,
    .who = ev_who,
    .event = ev_other,
    .refill = ev_refill,
};

/*
 * Listen entry i's control listener, IPV6_V6ONLY as its data socket
 * (dataplane_bind()): evconnlistener_new_bind() cannot set that before
 * bind, so the socket is made there.
 */
static int
listener_open(struct popd *pd, size_t i)
{
	const struct config_endpoint *e = &pd->conf->endpoints[i];
	struct popd_listen           *l = &pd->lsn[i];
	char                          a[ADDR_STRLEN] = "?";
	int                           fd;

	addr_ntop(&e->address, a, sizeof(a));
	l->pd = pd;
	l->idx = (unsigned)i;
	if ((fd = dataplane_bind(&e->address, e->control_port, SOCK_STREAM)) ==
	    -1) {
		log_warn("control port %s %u", a, e->control_port);
		return -1;
	}
	l->listener = evconnlistener_new(pd->base, accept_conn, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, LISTEN_BACKLOG, fd);
	if (l->listener == NULL) {
		log_warn("control port %s %u: listen", a, e->control_port);
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(l->listener, accept_error);
	log_info("listening on %s: control port %u, data port %u", a,
	    e->control_port, e->data_port);
	return 0;
}

int
control_start(struct popd *pd)
{
	size_t i;

	for (i = 0; i < pd->conf->nendpoints; i++)
		if (listener_open(pd, i) == -1)
			return -1;
	if ((pd->accept_ev = evtimer_new(pd->base, accept_resume, pd)) == NULL)
		return -1;
	if (dataev_start(&pd->dataev, pd->base, &popd_dataev, pd) == -1)
		return -1;
	limit_bucket_init(&pd->input_total, now_ms(),
	    pd->conf->limits.input_total_kib_per_s * 1024);
	pd->peer_log.interval_ms = 1000;
	pd->peer_log.burst = 10;
	pd->site_log.interval_ms = 1000;
	pd->site_log.burst = 10;
	return 0;
}

void
control_stop(struct popd *pd)
{
	size_t i;

	while (pd->conns != NULL) /* no BYE: the peer sees the close */
		conn_free(pd->conns);
	for (i = 0; i < CONFIG_LISTEN_MAX; i++)
		if (pd->lsn[i].listener != NULL) {
			evconnlistener_free(pd->lsn[i].listener);
			pd->lsn[i].listener = NULL;
		}
	if (pd->accept_ev != NULL)
		event_free(pd->accept_ev);
	dataev_stop(&pd->dataev);
	SSL_CTX_free(pd->ssl_ctx);
}
