/*
 * The control socket server; see ctlsrv.h.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <limits.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "config.h"
#include "ctlsrv.h"
#include "flow.h"

struct ctlclient {
	struct ctlsrv      *srv;
	struct bufferevent *bev;
	struct event       *deadline; /* the whole exchange, not per read */
	int                 answered;
	int                 streaming; /* rows' chunks still to come */
	int                 first;     /* no row written yet */
	struct event       *more_ev;   /* a chunk that wrote nothing */
	struct ctlsrv_rows  rows;
	TAILQ_ENTRY(ctlclient) entry;
};

struct ctlsrv {
	struct event_base *base;
	int                fd;
	struct event      *accept_ev;
	struct event      *resume_ev; /* accepting again after EMFILE */
	ctlsrv_handler     handler;
	void              *arg;
	unsigned           nclients;
	uint64_t           evicted;      /* clients closed to make room */
	uint64_t           out_peak;     /* bytes in one client's output */
	uint64_t           turn_max_us;  /* a handler's or a chunk's time */
	uint64_t           streams;      /* replies sent in chunks */
	TAILQ_HEAD(, ctlclient) clients; /* oldest first */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static void accept_client(evutil_socket_t, short, void *);

static uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* What one turn's work for a client took (the client may be gone). */
static void
note_turn(struct ctlsrv *srv, uint64_t t0)
{
	uint64_t took = mono_us() - t0;

	if (took > srv->turn_max_us)
		srv->turn_max_us = took;
}

/* The output a client holds after a turn: the bound at work. */
static void
note_out(struct ctlclient *c)
{
	size_t len = evbuffer_get_length(bufferevent_get_output(c->bev));

	if (len > c->srv->out_peak)
		c->srv->out_peak = len;
}

static void
rows_free(struct ctlclient *c)
{
	if (c->rows.free != NULL)
		c->rows.free(c->rows.cur);
	memset(&c->rows, 0, sizeof(c->rows));
	c->streaming = 0;
}

static void
client_free(struct ctlclient *c)
{
	struct ctlsrv *srv = c->srv;

	rows_free(c);
	TAILQ_REMOVE(&srv->clients, c, entry);
	if (c->deadline != NULL)
		event_free(c->deadline);
	if (c->more_ev != NULL)
		event_free(c->more_ev);
	bufferevent_free(c->bev);
	free(c);
	srv->nclients--;
}

static void
client_send(struct ctlclient *c, json_t *reply)
{
	char *s;

	c->answered = 1;
	if (reply == NULL)
		reply = ctlsock_error("out of memory");
	if (reply == NULL || (s = ctlsock_reply_encode(reply)) == NULL) {
		json_decref(reply);
		client_free(c);
		return;
	}
	json_decref(reply);
	/* Only the write side matters now; close once it has drained. */
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_add(bufferevent_get_output(c->bev), s, strlen(s)) == -1)
		client_free(c);
	else
		note_out(c);
	free(s);
}

static int
to_output(const char *buf, size_t len, void *arg)
{
	return evbuffer_add(arg, buf, len);
}

/*
 * The next chunk of a reply in rows: called once when the reply starts
 * and then from client_write(), when the output has drained below
 * CTLSRV_OUT_LOW, so one chunk per turn at most.
 */
static void
stream_chunk(struct ctlclient *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct timeval   tv = {CTLSRV_TIMEOUT_S, 0};
	json_t          *batch, *row, *tail;
	size_t           i;
	int              more, rc;

	if ((batch = json_array()) == NULL ||
	    (more = c->rows.next(c->rows.cur, batch, CTLSRV_CHUNK_ROWS)) == -1)
		goto fail;
	json_array_foreach(batch, i, row)
	{
		if (ctlsock_stream_row(row, c->first, to_output, out) == -1)
			goto fail;
		c->first = 0;
	}
	json_decref(batch);
	batch = NULL;
	if (more == 0) {
		tail = c->rows.tail != NULL ? c->rows.tail(c->rows.cur) : NULL;
		rc = ctlsock_stream_tail(tail, to_output, out);
		json_decref(tail);
		if (rc == -1)
			goto fail;
		rows_free(c);
		/* Back to "written when empty": client_write() closes. */
		bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	}
	/* A reader that keeps taking chunks keeps its slot (until the
	 * CTLSRV_MAX_CLIENTS-th newer client); one that stops is closed. */
	evtimer_add(c->deadline, &tv);
	note_out(c);
	/* Writing is what calls client_write() again: a chunk that found
	 * no rows (flows of other links, sites without flows) and left the
	 * output empty asks for the next turn itself. */
	if (c->streaming && evbuffer_get_length(out) == 0)
		event_active(c->more_ev, EV_TIMEOUT, 0);
	return;
fail:
	json_decref(batch);
	client_free(c);
}

static void
stream_more(evutil_socket_t fd, short what, void *arg)
{
	struct ctlclient *c = arg;
	struct ctlsrv    *srv = c->srv;
	uint64_t          t0 = mono_us();

	(void)fd;
	(void)what;
	if (c->streaming)
		stream_chunk(c); /* may free c */
	note_turn(srv, t0);
}

static void
client_stream(struct ctlclient *c, json_t *reply)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (reply == NULL || !json_is_true(json_object_get(reply, "ok"))) {
		rows_free(c);
		client_send(c, reply);
		return;
	}
	c->answered = 1;
	bufferevent_disable(c->bev, EV_READ);
	if (ctlsock_stream_head(json_object_get(reply, "result"), c->rows.key,
		to_output, out) == -1) {
		json_decref(reply);
		client_free(c);
		return;
	}
	json_decref(reply);
	if (c->more_ev == NULL &&
	    (c->more_ev = evtimer_new(c->srv->base, stream_more, c)) == NULL) {
		client_free(c);
		return;
	}
	c->streaming = 1;
	c->first = 1;
	c->srv->streams++;
	bufferevent_setwatermark(c->bev, EV_WRITE, CTLSRV_OUT_LOW, 0);
	stream_chunk(c);
}

static void
client_read(struct bufferevent *bev, void *arg)
{
	struct ctlclient   *c = arg;
	struct ctlsrv      *srv;
	struct ctlsock_req  req;
	struct evbuffer    *in = bufferevent_get_input(bev);
	struct evbuffer_ptr eol;
	char                err[CTLSOCK_ERRLEN];
	char               *line;
	json_t             *reply;
	size_t              len;
	uint64_t            t0;

	if (c->answered)
		return;
	eol = evbuffer_search_eol(in, NULL, &len, EVBUFFER_EOL_LF);
	if (eol.pos == -1) {
		if (evbuffer_get_length(in) > CTLSOCK_MAX_REQUEST)
			client_send(c,
			    ctlsock_error("request longer than %d "
					  "bytes",
				CTLSOCK_MAX_REQUEST));
		return;
	}
	len = (size_t)eol.pos;
	if (len > CTLSOCK_MAX_REQUEST) {
		client_send(c,
		    ctlsock_error(
			"request longer than %d bytes", CTLSOCK_MAX_REQUEST));
		return;
	}
	if ((line = (char *)evbuffer_pullup(in, (ev_ssize_t)len)) == NULL &&
	    len > 0) {
		client_send(c, NULL);
		return;
	}
	if (ctlsock_req_parse(line, len, &req, err, sizeof(err)) == -1) {
		client_send(c, ctlsock_error("%s", err));
		return;
	}
	srv = c->srv;
	t0 = mono_us();
	memset(&c->rows, 0, sizeof(c->rows));
	reply = srv->handler(srv->arg, &req, &c->rows);
	if (c->rows.next != NULL)
		client_stream(c, reply); /* may free c */
	else
		client_send(c, reply);
	note_turn(srv, t0);
}

static void
client_write(struct bufferevent *bev, void *arg)
{
	struct ctlclient *c = arg;
	struct ctlsrv    *srv = c->srv;
	uint64_t          t0;

	if (c->streaming) {
		t0 = mono_us();
		stream_chunk(c); /* may free c */
		note_turn(srv, t0);
		return;
	}
	if (c->answered &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		client_free(c);
}

static void
client_event(struct bufferevent *bev, short what, void *arg)
{
	struct ctlclient *c = arg;

	(void)bev;
	/* EOF before a newline: a request sent without one (echo -n). */
	if ((what & BEV_EVENT_EOF) && !c->answered &&
	    evbuffer_get_length(bufferevent_get_input(bev)) > 0) {
		evbuffer_add(bufferevent_get_input(bev), "\n", 1);
		client_read(bev, c);
		return;
	}
	client_free(c);
}

/*
 * bufferevent timeouts restart with every byte, so a client trickling
 * one byte every few seconds would keep its slot for hours, and sixteen
 * of them would lock the operator out: the exchange as a whole has
 * CTLSRV_TIMEOUT_S.
 */
static void
client_expired(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	client_free(arg);
}

static void
resume_accept(evutil_socket_t fd, short what, void *arg)
{
	struct ctlsrv *srv = arg;

	(void)fd;
	(void)what;
	event_add(srv->accept_ev, NULL);
}

static void
accept_client(evutil_socket_t fd, short what, void *arg)
{
	struct ctlsrv    *srv = arg;
	struct ctlclient *c;
	struct timeval    tv = {CTLSRV_TIMEOUT_S, 0};
	struct timeval    pause = {1, 0};
	int               s;

	(void)what;
	/*
	 * Full: the newcomer takes the oldest client's slot rather than
	 * wait in the backlog.  Otherwise a client that reconnects as soon
	 * as it is closed keeps CTLSRV_MAX_CLIENTS slots for ever, and an
	 * operator's `wanpairctl status` waits behind it (the backlog has no
	 * order among waiting connects).  A real exchange is one line each
	 * way, answered as soon as it is read: a client is read within a
	 * loop iteration or two of its accept (one accept per iteration),
	 * and would need CTLSRV_MAX_CLIENTS accepts after it to be evicted.
	 */
	if ((s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
		/* Out of descriptors: the client stays in the backlog;
		 * retrying at once would spin. */
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			event_del(srv->accept_ev);
			event_add(srv->resume_ev, &pause);
		}
		return;
	}
	if (srv->nclients >= CTLSRV_MAX_CLIENTS) {
		srv->evicted++;
		client_free(TAILQ_FIRST(&srv->clients));
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(s);
		return;
	}
	c->srv = srv;
	if ((c->bev = bufferevent_socket_new(
		 srv->base, s, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(s);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&srv->clients, c, entry);
	if ((c->deadline = evtimer_new(srv->base, client_expired, c)) == NULL ||
	    evtimer_add(c->deadline, &tv) == -1) {
		srv->nclients++; /* client_free() counts it out */
		client_free(c);
		return;
	}
	bufferevent_setcb(c->bev, client_read, client_write, client_event, c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_setwatermark(c->bev, EV_READ, 0, CTLSOCK_MAX_REQUEST + 2);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	srv->nclients++;
}

uint64_t
ctlsrv_evicted(const struct ctlsrv *srv)
{
	return srv != NULL ? srv->evicted : 0;
}

uint64_t
ctlsrv_out_peak(const struct ctlsrv *srv)
{
	return srv != NULL ? srv->out_peak : 0;
}

uint64_t
ctlsrv_turn_max_us(const struct ctlsrv *srv)
{
	return srv != NULL ? srv->turn_max_us : 0;
}

uint64_t
ctlsrv_streams(const struct ctlsrv *srv)
{
	return srv != NULL ? srv->streams : 0;
}

/*
 * Is the socket file at sun stale?  Only ECONNREFUSED says so: nobody
 * listens (a daemon that died).  A daemon that answers, or one whose
 * backlog is full (EAGAIN: the connect is non-blocking, so a busy daemon
 * cannot hang this one's start), is not to be replaced.  0 stale, -1
 * with errno (0 if a daemon answered).
 */
static int
stale(const struct sockaddr_un *sun)
{
	int s, rc;

	if ((s = socket(
		 AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(s, (const struct sockaddr *)sun, sizeof(*sun)) == 0) {
		errno = 0;
		rc = -1;
	} else
		rc = errno == ECONNREFUSED ? 0 : -1;
	close(s);
	return rc;
}

struct ctlsrv *
ctlsrv_open(struct event_base *base, const char *path, ctlsrv_handler handler,
    void *arg, char *err, size_t errlen)
{
	struct ctlsrv     *srv;
	struct sockaddr_un sun;
	char               cwd[PATH_MAX], abs[PATH_MAX + 110];
	struct stat        st;
	mode_t             old;
	int                rc;

	/* The daemon moves to "/" when it detaches, and removes the socket
	 * when it stops: a relative path is made absolute now. */
	if (path[0] != '/') {
		if (getcwd(cwd, sizeof(cwd)) == NULL ||
		    (size_t)snprintf(abs, sizeof(abs), "%s/%s", cwd, path) >=
			sizeof(abs)) {
			snprintf(err, errlen,
			    "control socket \"%s\": cannot make it absolute",
			    path);
			return NULL;
		}
		path = abs;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen,
		    "control socket \"%s\": longer than %zu bytes", path,
		    sizeof(sun.sun_path) - 1);
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((srv = calloc(1, sizeof(*srv))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->fd = -1;
	TAILQ_INIT(&srv->clients);
	srv->base = base;
	srv->handler = handler;
	srv->arg = arg;
	/* Under systemd, RuntimeDirectory= made it; started by hand as
	 * root, the first start makes it. */
	if (strncmp(path, WP_RUNDIR "/", strlen(WP_RUNDIR) + 1) == 0 &&
	    mkdir(WP_RUNDIR, 0755) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "control socket \"%s\": mkdir %s: %s",
		    path, WP_RUNDIR, strerror(errno));
		goto fail;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen,
			    "control socket \"%s\": exists and is not a socket",
			    path);
			goto fail;
		}
		if (stale(&sun) == -1) {
			snprintf(err, errlen, "control socket \"%s\": %s", path,
			    errno == 0 ? "a daemon already answers there"
				       : strerror(errno));
			goto fail;
		}
		(void)unlink(path);
	}
	if ((srv->fd = socket(AF_UNIX,
		 SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		goto fail;
	}
	/* bind() creates the file with the umask applied: 0660 from the
	 * start, so there is no moment when others could connect. */
	old = umask(0117);
	rc = bind(srv->fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc == -1) {
		snprintf(err, errlen, "control socket \"%s\": %s", path,
		    strerror(errno));
		goto fail;
	}
	memcpy(srv->path, path, strlen(path) + 1);
	if (listen(srv->fd, 16) == -1) {
		snprintf(err, errlen, "control socket \"%s\": listen: %s", path,
		    strerror(errno));
		goto fail;
	}
	srv->accept_ev =
	    event_new(base, srv->fd, EV_READ | EV_PERSIST, accept_client, srv);
	srv->resume_ev = evtimer_new(base, resume_accept, srv);
	if (srv->accept_ev == NULL || srv->resume_ev == NULL ||
	    event_add(srv->accept_ev, NULL) == -1) {
		snprintf(err, errlen, "control socket: cannot watch it");
		goto fail;
	}
	return srv;
fail:
	ctlsrv_close(srv);
	return NULL;
}

int
ctlsrv_chown(struct ctlsrv *srv, uid_t uid, gid_t gid)
{
	return chown(srv->path, uid, gid);
}

void
ctlsrv_close(struct ctlsrv *srv)
{
	if (srv == NULL)
		return;
	/* Clients still connected lose their answer: the daemon is going. */
	while (!TAILQ_EMPTY(&srv->clients))
		client_free(TAILQ_FIRST(&srv->clients));
	if (srv->accept_ev != NULL)
		event_free(srv->accept_ev);
	if (srv->resume_ev != NULL)
		event_free(srv->resume_ev);
	if (srv->fd != -1) {
		close(srv->fd);
		if (srv->path[0] != '\0')
			(void)unlink(srv->path);
	}
	free(srv);
}

/* ------------------------------------------------------------ answers */

const char *
ctlsrv_proto_name(uint8_t proto, char buf[4])
{
	switch (proto) {
	case 1:
		return "icmp";
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 58:
		return "ipv6-icmp";
	}
	snprintf(buf, 4, "%u", proto);
	return buf;
}

struct flows_walk {
	json_t                      *rows;
	const struct ctlsrv_flowsrc *src;
	int                          link;
	size_t                       room; /* rows this step may still add */
	uint64_t                     now;
	int                          nomem;
};

static int
in_lan(const struct ctlsrv_flowsrc *src, int family, const uint8_t *a)
{
	size_t i;

	for (i = 0; i < src->nlan; i++)
		if (prefix_contains(&src->lan[i], family, a))
			return 1;
	return 0;
}

/*
 * Which end of the key is the site's: the one inside its LAN if exactly
 * one is, else the initiator.  So a row reads "LAN host -> Internet
 * host" on both daemons, though popd mostly sees a flow's reply first.
 */
static int
site_side(const struct ctlsrv_flowsrc *src, const struct flow *f)
{
	int a = in_lan(src, f->key.family, f->key.a);
	int b = in_lan(src, f->key.family, f->key.b);

	if (a != b)
		return a ? 'a' : 'b';
	return (f->flags & FLOW_F_A_INITIATOR) ? 'a' : 'b';
}

/* A rule by its name, else its place in "rules". */
static json_t *
rule_label(const struct rule *rules, unsigned i, char *buf, size_t len)
{
	if (rules[i].name[0] != '\0')
		return json_string(rules[i].name);
	snprintf(buf, len, "rules[%u]", i);
	return json_string(buf);
}

static void
flow_row(void *arg, struct flow *f)
{
	struct flows_walk           *w = arg;
	const struct ctlsrv_flowsrc *src = w->src;
	const uint8_t               *a = f->key.a, *b = f->key.b;
	uint16_t                     pa = f->key.pa, pb = f->key.pb;
	char                         s[64], d[64], pbuf[4], rbuf[16];
	const char                  *link;
	json_t                      *row;

	if ((w->link >= 0 && f->link != w->link) || w->room == 0)
		return;
	if (site_side(src, f) == 'b') {
		a = f->key.b;
		b = f->key.a;
		pa = f->key.pb;
		pb = f->key.pa;
	}
	link = f->link < src->nnames ? src->names[f->link] : NULL;
	row = json_pack("{s:s,s:s,s:i,s:s,s:i,s:s?,s:I,s:I,s:I,s:I,s:b}",
	    "proto", ctlsrv_proto_name(f->key.proto, pbuf), "src",
	    addr_ntop_raw(f->key.family, a, s, sizeof(s)), "sport", pa, "dst",
	    addr_ntop_raw(f->key.family, b, d, sizeof(d)), "dport", pb, "link",
	    link, "packets", (json_int_t)f->packets, "bytes",
	    (json_int_t)f->bytes, "age_s",
	    (json_int_t)((w->now - f->first_ms) / 1000), "idle_s",
	    (json_int_t)((w->now - f->last_ms) / 1000), "moved",
	    (f->flags & FLOW_F_MOVED) != 0);
	if (row != NULL && f->profile < src->nprofiles &&
	    json_object_set_new(row, "profile",
		json_string(src->profiles[f->profile].name)) == -1) {
		json_decref(row);
		row = NULL;
	}
	if (row != NULL && f->rule < src->nrules &&
	    json_object_set_new(row, "rule",
		rule_label(src->rules, f->rule, rbuf, sizeof(rbuf))) == -1) {
		json_decref(row);
		row = NULL;
	}
	if (row != NULL && src->site != NULL &&
	    json_object_set_new(row, "site", json_string(src->site)) == -1) {
		json_decref(row);
		row = NULL;
	}
	if (row == NULL || json_array_append_new(w->rows, row) == -1) {
		w->nomem = 1;
		return;
	}
	w->room--;
}

int
ctlsrv_flows_step(json_t *rows, size_t want, size_t room,
    const struct ctlsrv_flowsrc *src, int link, struct ctlsrv_flowpos *fp,
    uint64_t now_ms)
{
	struct flows_walk w = {rows, src, link, room, now_ms, 0};
	uint64_t          serial = flow_table_serial(src->t);

	if (fp->serial == 0)
		fp->serial = serial;
	else if (fp->serial != serial)
		return 0;
	/*
	 * The step's budget is flows visited, not rows made: with a link
	 * asked for, a step over other links' flows makes fewer rows, and
	 * the next step goes on.  Flows past `room` are dropped: room is
	 * what the caller's limit leaves, and reaching it ends the answer.
	 */
	(void)flow_table_walk(src->t, &fp->pos, flow_row, &w, want);
	if (w.nomem)
		return -1;
	return fp->pos < FLOW_WALK_END;
}

json_t *
ctlsrv_reload_answer(int rc, struct config_errors *errs, const char *file)
{
	char   buf[4096];
	size_t i, off = 0;

	if (rc == 0) {
		config_errors_clear(errs);
		return ctlsock_ok(json_pack("{s:s}", "config", file));
	}
	snprintf(buf, sizeof(buf), "refused (the daemon's log says why)");
	for (i = 0; i < errs->n && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s",
		    i > 0 ? "\n" : "", errs->lines[i]);
	config_errors_clear(errs);
	return ctlsock_error("%s\nthe running configuration stays", buf);
}
