/*
 * socketd's control channel: TLS 1.3 over TCP to the PoP, over one of the
 * links (the first that connects), with HELLO -> WELCOME, keepalives, and
 * a reconnect with backoff over the next link when it fails.  The data
 * plane keeps its keys across a reconnect until the next WELCOME brings
 * new ones, or session_grace_s has passed without one.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlmsg.h"
#include "log.h"
#include "proto.h"
#include "socketd.h"
#include "tls.h"

#define KEEPALIVE_S    10
#define READ_TIMEOUT_S 30 /* three keepalives missed */
#define BACKOFF_MAX_S  30

/* While more than this waits in the channel's output, no further
 * REASSIGN chunk is encoded: a failover of 100,000 flows goes out as the
 * output drains, not as megabytes of JSON in one turn of the loop. */
#define RQ_OUT_MAX (256 * 1024)
/* Moves queued beyond this many per table entry are replaced by one
 * reconciliation: a flapping link cannot pile up failovers. */
#define RQ_MOVES_PER_FLOW 2

static void connect_next(evutil_socket_t, short, void *);

/*
 * One batch of flow moves for the PoP (a failover, a failback, or the
 * reconciliation after WELCOME).  Its chunks are encoded one at a time
 * as the output drains; the moves are freed once all are sent, the rest
 * stays until the PoP has acknowledged the last chunk.
 */
struct reassign {
	struct reassign *next;
	uint8_t          dead_link; /* CTL_LINK_NONE: no link failed */
	int              failed;    /* out of memory while collecting */
	struct ctl_move *moves;
	size_t           n, max;
	size_t           nchunks, sent, acked;
};

static void
reassign_free(struct reassign *b)
{
	if (b == NULL)
		return;
	free(b->moves);
	free(b);
}

/* The channel is gone: so are the batches on it.  The reconciliation
 * after the next WELCOME restates every moved flow. */
static void
reassign_clear(struct socketd *sd)
{
	struct reassign *b;

	while ((b = sd->rq_head) != NULL) {
		sd->rq_head = b->next;
		reassign_free(b);
	}
}

static void
send_frame(struct socketd *sd, uint8_t *frame, size_t len)
{
	if (frame == NULL)
		return;
	if (sd->ctl != NULL)
		bufferevent_write(sd->ctl, frame, len);
	free(frame);
}

/* The next link after `from` that is up, or simply the next one. */
static unsigned
next_link(const struct socketd *sd, unsigned from)
{
	unsigned i, l;

	for (i = 1; i <= sd->nlinks; i++) {
		l = (from + i) % (unsigned)sd->nlinks;
		if (dataplane_link_up(sd, l))
			return l;
	}
	return (from + 1) % (unsigned)sd->nlinks;
}

static void
retry_later(struct socketd *sd)
{
	struct timeval tv = {sd->ctl_backoff, 0};

	if (sd->ctl != NULL) {
		bufferevent_free(sd->ctl);
		sd->ctl = NULL;
	}
	reassign_clear(sd);
	sd->ctl_welcomed = 0;
	sd->ctl_link = next_link(sd, sd->ctl_link);
	evtimer_add(sd->ctl_retry_ev, &tv);
	sd->ctl_backoff = sd->ctl_backoff * 2 > BACKOFF_MAX_S
	    ? BACKOFF_MAX_S
	    : sd->ctl_backoff * 2;
}

static void
send_hello(struct socketd *sd)
{
	struct ctl_hello h;
	uint8_t         *frame = NULL;
	size_t           len, i;

	memset(&h, 0, sizeof(h));
	h.version = PROTOCOL_VERSION;
	/* Each worker seals under keys of its own (worker byte, wire.h). */
	h.workers = sd->nworkers;
	memcpy(h.site, sd->conf->site, sizeof(h.site));
	h.nlinks = sd->nlinks;
	for (i = 0; i < sd->nlinks; i++) {
		memcpy(h.links[i].name, sd->links[i].conf->name,
		    sizeof(h.links[i].name));
		h.links[i].id = sd->links[i].id;
		h.links[i].up_mbps = sd->links[i].conf->up_mbps;
		h.links[i].down_mbps = sd->links[i].conf->down_mbps;
	}
	h.nlan = sd->conf->nlan < CTL_MAX_LAN ? sd->conf->nlan : CTL_MAX_LAN;
	memcpy(h.lan, sd->conf->lan, h.nlan * sizeof(h.lan[0]));
	if (ctlmsg_encode_hello(&h, &frame, &len) == -1) {
		log_warnx("cannot encode HELLO");
		return;
	}
	send_frame(sd, frame, len);
}

static void
reassign_drop(struct socketd *sd, struct reassign *b)
{
	struct reassign **bp;

	for (bp = &sd->rq_head; *bp != b; bp = &(*bp)->next)
		;
	*bp = b->next;
	reassign_free(b);
}

/* The oldest batch with chunks still to send. */
static struct reassign *
reassign_unsent(struct socketd *sd)
{
	struct reassign *b;

	for (b = sd->rq_head; b != NULL && b->sent == b->nchunks; b = b->next)
		;
	return b;
}

/*
 * Encodes and writes chunks while the output is short.  Called when a
 * batch is queued and whenever the output drains (ctl_write).
 */
static void
reassign_pump(struct socketd *sd)
{
	struct reassign *b;
	uint8_t         *frame;
	size_t           len;

	while (sd->ctl != NULL && sd->ctl_welcomed &&
	    (b = reassign_unsent(sd)) != NULL &&
	    evbuffer_get_length(bufferevent_get_output(sd->ctl)) < RQ_OUT_MAX) {
		if (ctlmsg_encode_reassign_chunk(b->dead_link, b->moves, b->n,
			(uint32_t)b->sent, &frame, &len) == -1) {
			/* Not reached: every key comes from the table.  The
			 * PoP keeps its own moves for these flows. */
			log_warnx("control channel: cannot encode REASSIGN "
				  "chunk %zu of %zu; %zu moves unsaid",
			    b->sent, b->nchunks, b->n);
			reassign_drop(sd, b);
			continue;
		}
		send_frame(sd, frame, len);
		if (++b->sent == b->nchunks) {
			free(b->moves);
			b->moves = NULL;
		}
	}
}

static void
ctl_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	reassign_pump(arg);
}

struct reassign *
control_reassign_begin(struct socketd *sd, unsigned dead_link)
{
	struct reassign *b;

	if (sd->ctl == NULL || !sd->ctl_welcomed)
		return NULL;
	/* Short of memory the PoP keeps its own moves for these flows
	 * (it saw the link go too), until the next reconciliation. */
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		log_warnx("control channel: out of memory for a REASSIGN");
		return NULL;
	}
	b->dead_link = (uint8_t)dead_link;
	return b;
}

void
control_reassign_move(
    void *batch, const struct flow *f, unsigned from, unsigned to)
{
	struct reassign *b = batch;
	struct ctl_move *mv;
	size_t           max;

	(void)from;
	if (b == NULL || b->failed)
		return;
	if (b->n == b->max) {
		max = b->max == 0 ? 256 : b->max * 2;
		if ((mv = reallocarray(b->moves, max, sizeof(*mv))) == NULL) {
			b->failed = 1;
			return;
		}
		b->moves = mv;
		b->max = max;
	}
	mv = &b->moves[b->n++];
	memset(mv, 0, sizeof(*mv));
	mv->key = f->key;
	mv->link = (uint8_t)to;
}

static size_t
queued_moves(const struct socketd *sd)
{
	const struct reassign *b;
	size_t                 n = 0;

	for (b = sd->rq_head; b != NULL; b = b->next)
		if (b->sent < b->nchunks)
			n += b->n;
	return n;
}

static void reconcile(struct socketd *);

void
control_reassign_send(struct socketd *sd, struct reassign *b)
{
	struct reassign **tail;

	if (b == NULL)
		return;
	if (sd->ctl == NULL || !sd->ctl_welcomed) {
		/* The channel went in between (it rode the dead link). */
		reassign_free(b);
		return;
	}
	if (b->failed) {
		log_warnx("control channel: out of memory for a REASSIGN of "
			  "more than %zu moves",
		    b->n);
		reassign_free(b);
		return;
	}
	b->nchunks = ctlmsg_reassign_chunks(b->n);
	for (tail = &sd->rq_head; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = b;
	sd->reassign_sent++;
	if (queued_moves(sd) > (size_t)RQ_MOVES_PER_FLOW * sd->conf->flows_max)
		reconcile(sd);
	reassign_pump(sd);
}

void
control_reassign_cancel(struct reassign *b)
{
	reassign_free(b);
}

struct moved_walk {
	struct socketd  *sd;
	struct reassign *b;
};

static int
add_moved(void *arg, struct flow *f)
{
	struct moved_walk *w = arg;
	uint8_t            id;

	if (!(f->flags & FLOW_F_MOVED) || f->link >= w->sd->nlinks)
		return 0;
	id = w->sd->links[f->link].id;
	control_reassign_move(w->b, f, id, id);
	return 0;
}

/*
 * Tells the PoP where every flow that ever moved is now: after WELCOME
 * (its session, and its flow table, may be new; failovers while the
 * channel was down went unsaid), or in place of a queue grown too long.
 * Batches not yet started are dropped: this says all they would.
 */
static void
reconcile(struct socketd *sd)
{
	struct reassign **bp, *b;
	struct moved_walk w;

	for (bp = &sd->rq_head; (b = *bp) != NULL;) {
		if (b->sent == 0) {
			*bp = b->next;
			reassign_free(b);
		} else
			bp = &b->next;
	}
	if ((b = control_reassign_begin(sd, CTL_LINK_NONE)) == NULL)
		return;
	w.sd = sd;
	w.b = b;
	pthread_mutex_lock(&sd->engine_mu);
	flow_table_foreach(engine_flows(sd->engine), add_moved, &w);
	pthread_mutex_unlock(&sd->engine_mu);
	if (b->n == 0 && !b->failed) {
		reassign_free(b);
		return;
	}
	log_info(
	    "control channel: telling the PoP where %zu moved flows are", b->n);
	control_reassign_send(sd, b);
}

/* The PoP applied a chunk.  Chunks are answered in order. */
static int
on_reassign_ack(struct socketd *sd, const struct ctl_reassign_ack *a)
{
	struct reassign *b = sd->rq_head;

	if (b == NULL || b->acked >= b->sent || a->link != b->dead_link ||
	    a->seq != b->acked) {
		/* A chunk of a batch a reconciliation replaced. */
		log_debug("control channel: REASSIGN_ACK link %u seq %u "
			  "matches nothing sent",
		    a->link, a->seq);
		return 0;
	}
	log_debug("control channel: the PoP applied REASSIGN chunk %zu of "
		  "%zu",
	    b->acked + 1, b->nchunks);
	if (++b->acked < b->nchunks)
		return 0;
	sd->reassign_applied++;
	log_debug("control channel: %zu flow moves applied at both ends", b->n);
	sd->rq_head = b->next;
	reassign_free(b);
	return 0;
}

/* 1 if the link is degraded for any profile. */
static int
link_sla_degraded(const struct socketd *sd, unsigned link)
{
	const struct sla_state *st;
	size_t                  i;

	for (i = 0; i < sd->conf->nprofiles; i++)
		if ((st = links_sla(sd, link, i)) != NULL && sla_degraded(st))
			return 1;
	return 0;
}

static int
on_welcome(struct socketd *sd, const struct ctl_welcome *w)
{
	size_t i;

	if (w->version != PROTOCOL_VERSION) {
		log_warnx("PoP speaks protocol version %u, we speak %d",
		    w->version, PROTOCOL_VERSION);
		return -1;
	}
	/* The keys come from this TLS session (control_derive()), which
	 * counts as welcomed from here. */
	sd->ctl_welcomed = 1;
	if (dataplane_new_session(sd, w->session, w->workers, control_derive) ==
	    -1) {
		sd->ctl_welcomed = 0;
		return -1;
	}
	sd->ctl_backoff = 1;
	log_info("session %u with the PoP over link %s", w->session,
	    sd->links[sd->ctl_link].conf->name);
	dataplane_set_port(
	    sd, &sd->links[sd->ctl_link].conf->pop, w->data_port);
	/* The PoP may hold a fresh session: tell it which links are down,
	 * or degraded for a profile. */
	for (i = 0; i < sd->nlinks; i++)
		if (!dataplane_link_up(sd, (unsigned)i) ||
		    link_sla_degraded(sd, (unsigned)i))
			control_link_state(sd, (unsigned)i);
	reconcile(sd);
	return 0;
}

int
control_derive(void *arg, uint32_t epoch, int up, uint8_t worker,
    uint8_t key[AEAD_KEY_LEN])
{
	struct socketd *sd = arg;

	/* Keys come from the TLS session: none while it is down. */
	if (sd->ctl == NULL || !sd->ctl_welcomed)
		return -1;
	return tls_data_key(bufferevent_openssl_get_ssl(sd->ctl), sd->session,
	    epoch, worker, up, key);
}

void
control_send_rekey(struct socketd *sd, uint32_t epoch)
{
	struct ctl_rekey r = {epoch};
	uint8_t         *frame;
	size_t           len;

	log_info("upstream key epoch %u", epoch);
	/* A notice only: a channel still in its handshake does without. */
	if (sd->ctl_welcomed && ctlmsg_encode_rekey(&r, &frame, &len) == 0)
		send_frame(sd, frame, len);
}

/*
 * Tells the PoP a link's state.  When the control channel's own link went
 * down, the channel moves to a live link at once: waiting for its read
 * timeout would leave the PoP without word for 30 s.
 */
void
control_link_state(struct socketd *sd, unsigned link)
{
	const struct link_health *lh = &sd->links[link].health;
	const struct sla_state   *st;
	struct ctl_link_state     ls;
	uint8_t                  *frame;
	size_t                    len, i;

	if (sd->ctl != NULL && link == sd->ctl_link &&
	    link_state(lh) == LINK_DOWN) {
		struct timeval now = {0, 0};

		log_info("control channel: link %s is down, moving",
		    sd->links[link].conf->name);
		sd->ctl_backoff = 1;
		retry_later(sd);
		/*
		 * Over a live link, at once: until the new channel's
		 * WELCOME restates the dead link, the PoP keeps sending on
		 * it, and only the silence would tell it otherwise
		 * (bench/failover: 330 ms instead of a handshake).  The
		 * back-off is for links that refuse, not for this move.
		 */
		if (dataplane_link_up(sd, sd->ctl_link)) {
			evtimer_del(sd->ctl_retry_ev);
			evtimer_add(sd->ctl_retry_ev, &now);
		}
		return;
	}
	memset(&ls, 0, sizeof(ls));
	ls.link = sd->links[link].id;
	ls.up = link_state(lh) == LINK_UP;
	ls.rtt_us = link_rtt_us(lh);
	ls.loss_ppm = link_loss_ppm(lh);
	ls.jitter_us = link_jitter_us(lh);
	/* The profiles it is degraded for (the PoP knows them by name);
	 * past CTL_MAX_DEGRADED, the PoP does not hear of the rest. */
	for (i = 0; i < sd->conf->nprofiles && ls.ndegraded < CTL_MAX_DEGRADED;
	     i++)
		if ((st = links_sla(sd, link, i)) != NULL && sla_degraded(st))
			snprintf(ls.degraded[ls.ndegraded++],
			    sizeof(ls.degraded[0]), "%s",
			    sd->conf->profiles[i].name);
	if (sd->ctl_welcomed &&
	    ctlmsg_encode_link_state(&ls, &frame, &len) == 0)
		send_frame(sd, frame, len);
}

/* One frame; -1 closes the channel. */
static int
on_frame(struct socketd *sd, const struct ctl_frame *f)
{
	struct ctl_msg m;
	char           err[CTL_ERRLEN];
	int            rc = -1;

	if (!sd->ctl_welcomed && f->type != CTL_WELCOME && f->type != CTL_BYE) {
		log_warnx(
		    "PoP sent %s before WELCOME", ctlmsg_type_name(f->type));
		return -1;
	}
	if (f->type == CTL_HELLO || f->type == CTL_REASSIGN ||
	    (f->type == CTL_WELCOME && sd->ctl_welcomed))
		return -1;
	if (ctlmsg_decode(f, &m, err, sizeof(err)) != CTL_OK) {
		log_warnx("control channel: bad %s: %s",
		    ctlmsg_type_tag(f->type), err);
		return -1;
	}
	switch (m.type) {
	case CTL_WELCOME:
		rc = on_welcome(sd, &m.u.welcome);
		break;
	case CTL_KEEPALIVE:
	case CTL_REKEY:      /* notice only: the data's phase bit said it */
	case CTL_LINK_STATE: /* the PoP's view: our own probes decide */
		rc = 0;
		break;
	case CTL_BYE:
		log_warnx("PoP closed the control channel: %s", m.u.bye.reason);
		break;
	case CTL_REASSIGN_ACK:
		rc = on_reassign_ack(sd, &m.u.reassign_ack);
		break;
	}
	ctlmsg_msg_free(&m);
	return rc;
}

/*
 * Takes whole frames off the input.  The header alone says whether a
 * frame can be good (type, length), so an oversized one is refused before
 * its body is buffered; a bad frame closes the channel.
 */
static void
ctl_read(struct bufferevent *bev, void *arg)
{
	struct socketd  *sd = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct ctl_frame f;
	const uint8_t   *p;
	size_t           len, need;

	while ((len = evbuffer_get_length(in)) >= CTL_HDR_LEN) {
		p = evbuffer_pullup(in, CTL_HDR_LEN);
		if (ctlmsg_frame(p, CTL_HDR_LEN, &f) < 0) {
			log_warnx("control channel: bad frame header from "
				  "the PoP");
			goto close;
		}
		need = ctlmsg_frame_need(p);
		if (len < need)
			return;
		p = evbuffer_pullup(in, (ssize_t)need);
		if (ctlmsg_frame(p, need, &f) != CTL_OK ||
		    on_frame(sd, &f) == -1)
			goto close;
		evbuffer_drain(in, f.frame_len);
	}
	return;
close:
	retry_later(sd);
}

static void
ctl_event(struct bufferevent *bev, short what, void *arg)
{
	struct socketd *sd = arg;
	unsigned long   e;
	char            buf[256];

	if (what & BEV_EVENT_CONNECTED) {
		/* The chain is verified; now that it is the PoP's. */
		if (!tls_peer_matches(bufferevent_openssl_get_ssl(bev),
			sd->conf->endpoints[0].identity)) {
			if (tls_peer_identity(bufferevent_openssl_get_ssl(bev),
				buf, sizeof(buf)) == -1)
				snprintf(buf, sizeof(buf), "?");
			log_warnx("control channel over link %s: the peer is "
				  "\"%s\", not the PoP \"%s\"",
			    sd->links[sd->ctl_link].conf->name, buf,
			    sd->conf->endpoints[0].identity);
			retry_later(sd);
			return;
		}
		log_info("control channel up over link %s",
		    sd->links[sd->ctl_link].conf->name);
		send_hello(sd);
		return;
	}
	if ((e = bufferevent_get_openssl_error(bev)) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		log_warnx("control channel over link %s: %s",
		    sd->links[sd->ctl_link].conf->name, buf);
	} else if (what & BEV_EVENT_TIMEOUT)
		log_warnx("control channel over link %s: no word from the PoP "
			  "in %d s",
		    sd->links[sd->ctl_link].conf->name, READ_TIMEOUT_S);
	else if (what & BEV_EVENT_EOF)
		log_warnx("control channel over link %s: closed by the PoP",
		    sd->links[sd->ctl_link].conf->name);
	else
		log_warnx("control channel over link %s: %s",
		    sd->links[sd->ctl_link].conf->name,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	retry_later(sd);
}

static void
keepalive(evutil_socket_t fd, short what, void *arg)
{
	struct socketd *sd = arg;
	uint8_t        *frame;
	size_t          len;

	(void)fd;
	(void)what;
	if (sd->ctl != NULL && sd->ctl_welcomed &&
	    ctlmsg_encode_keepalive(&frame, &len) == 0)
		send_frame(sd, frame, len);
}

static void
connect_next(evutil_socket_t unused, short what, void *arg)
{
	struct socketd         *sd = arg;
	struct sockaddr_storage ss;
	struct timeval          rt = {READ_TIMEOUT_S, 0};
	char                    err[256];
	socklen_t               sslen;
	SSL                    *ssl;
	int                     fd;

	(void)unused;
	(void)what;
	/* Over the link chosen, to that link's PoP address: the first of
	 * the family the link has (wanpair-socketd(8)). */
	sslen = dataplane_pop_sockaddr(sd, sd->links[sd->ctl_link].conf,
	    sd->conf->endpoints[0].control_port, &ss);
	if ((fd = link_socket(sd->links[sd->ctl_link].conf, SOCK_STREAM, err,
		 sizeof(err))) == -1) {
		log_warnx("control channel: %s", err);
		retry_later(sd);
		return;
	}
	if ((ssl = SSL_new(sd->ssl_ctx)) == NULL) {
		close(fd);
		retry_later(sd);
		return;
	}
	sd->ctl = bufferevent_openssl_socket_new(sd->base, fd, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (sd->ctl == NULL) {
		SSL_free(ssl);
		close(fd);
		retry_later(sd);
		return;
	}
	bufferevent_setcb(sd->ctl, ctl_read, ctl_write, ctl_event, sd);
	bufferevent_set_timeouts(sd->ctl, &rt, NULL);
	/* ctl_write (more REASSIGN chunks) once half the output is gone */
	bufferevent_setwatermark(sd->ctl, EV_WRITE, RQ_OUT_MAX / 2, 0);
	bufferevent_setwatermark(
	    sd->ctl, EV_READ, 0, CTL_HDR_LEN + CTL_MAX_BODY);
	bufferevent_enable(sd->ctl, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(
		sd->ctl, (struct sockaddr *)&ss, (int)sslen) == -1) {
		log_warnx("control channel over link %s: cannot connect",
		    sd->links[sd->ctl_link].conf->name);
		retry_later(sd);
	}
}

/* The TLS context first: bad certificate files stop the daemon before
 * it touches the network. */
int
control_init(struct socketd *sd)
{
	return (sd->ssl_ctx = daemon_tls_ctx(sd->daemon)) == NULL ? -1 : 0;
}

int
control_start(struct socketd *sd)
{
	struct timeval ka = {KEEPALIVE_S, 0};

	sd->ctl_backoff = 1;
	sd->ctl_retry_ev = evtimer_new(sd->base, connect_next, sd);
	sd->keepalive_ev = event_new(sd->base, -1, EV_PERSIST, keepalive, sd);
	if (sd->ctl_retry_ev == NULL || sd->keepalive_ev == NULL ||
	    event_add(sd->keepalive_ev, &ka) == -1)
		return -1;
	connect_next(-1, 0, sd);
	return 0;
}

void
control_stop(struct socketd *sd)
{
	if (sd->ctl != NULL)
		bufferevent_free(sd->ctl);
	reassign_clear(sd);
	if (sd->ctl_retry_ev != NULL)
		event_free(sd->ctl_retry_ev);
	if (sd->keepalive_ev != NULL)
		event_free(sd->keepalive_ev);
	SSL_CTX_free(sd->ssl_ctx);
}
