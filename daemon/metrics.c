/*
 * The Prometheus text endpoint: a small evhttp server for what
 * metrics_render() (metrics-render.c) makes of the counters object.
 *
 * The server is reachable by whoever can reach its address, so it must
 * not be a way to hurt the daemon: requests are bounded (headers, no
 * body), connections are bounded in number and in life time, and every
 * scrape frees what it allocated before the reply leaves.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>

#include "config.h"
#include "metrics.h"

/*
 * Bounds of the server.  A scraper sends one small GET per interval (15 s
 * to 1 min typically), so these leave room for a handful of scrapers and
 * a curl by hand, not for a crowd.
 */
#define METRICS_MAX_CONNS   16   /* open at once; see evict_one() */
#define METRICS_HEADERS_MAX 8192 /* request line and headers, bytes */
#define METRICS_IDLE_S      5    /* evhttp's read/write timeout */
/*
 * The idle timeout restarts with every byte read, so a client trickling
 * a byte every few seconds would hold its slot for hours; no connection
 * lives longer than this.  Scrapers reconnect when a kept-alive
 * connection is closed; Prometheus's own client does.
 */
#define METRICS_LIFETIME_S 30
/*
 * Scrapes per source address: a token bucket of METRICS_BURST, refilled
 * at METRICS_PER_S.  A scrape is the costly request (a snapshot of every
 * counter, rendered), made on the loop that also carries the control
 * channels; Prometheus asks every 15 s or so, a person with curl a few
 * times.  Past the bucket: 429 without a snapshot.  Sources are kept in
 * METRICS_SOURCES entries, the least recently seen replaced.
 */
#define METRICS_BURST   20
#define METRICS_PER_S   5
#define METRICS_SOURCES 64

/* ------------------------------------------------------------- server */

/*
 * libevent 2.1's evhttp neither limits nor reports its connections, but
 * it asks us for each one's bufferevent (evhttp_set_bevcb).  We keep a
 * reference to each: evhttp's bufferevent_free() then clears its
 * callbacks without destroying it (nor closing its socket), which is how
 * a sweep tells a finished connection, and until we drop the reference
 * the fd cannot be closed and reused under us, so shutdown() on it is
 * safe.  At the limit the listener stops accepting: further clients wait
 * in the kernel's backlog, costing the daemon nothing.
 */
struct mconn {
	struct bufferevent *bev;
	struct timespec     since; /* CLOCK_MONOTONIC */
	int                 shut;
};

/*
 * Connections shut but not yet freed by evhttp (it sees end of file on
 * its next read) stay in conns[] until the sweep finds them finished: room
 * for as many as there are live ones, so that evicting never has to wait.
 */
#define METRICS_TRACKED (2 * METRICS_MAX_CONNS)

struct metrics {
	struct event_base     *base;
	struct evhttp         *http;
	struct evconnlistener *listener; /* evhttp's once bound */
	struct event          *sweep_ev;
	metrics_snapshot_fn    snapshot;
	void                  *arg;
	struct mconn           conns[METRICS_TRACKED];
	size_t                 nconns; /* tracked */
	size_t                 nlive;  /* tracked and not shut */
	int                    paused; /* listener disabled */
	uint64_t               evicted;
	uint64_t               limited; /* scrapes refused by the bucket */
	struct msource {
		uint8_t  addr[17]; /* family byte, then the address */
		uint64_t last_ms;  /* 0: unused */
		uint32_t tokens;   /* thousandths */
	} sources[METRICS_SOURCES];
};

static struct timespec
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

static int
older(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void
conn_shut(struct metrics *m, struct mconn *c)
{
	(void)shutdown(bufferevent_getfd(c->bev), SHUT_RDWR);
	c->shut = 1;
	m->nlive--;
}

/* The peer's address (port left out), or family 0 if unknown. */
static void
conn_peer(const struct mconn *c, struct sockaddr_storage *ss)
{
	socklen_t len = sizeof(*ss);

	memset(ss, 0, sizeof(*ss));
	if (getpeername(
		bufferevent_getfd(c->bev), (struct sockaddr *)ss, &len) == -1)
		memset(ss, 0, sizeof(*ss));
	else if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = 0;
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = 0;
}

/*
 * All slots live and a client more: the oldest connection of the source
 * address that holds the most slots makes room.  Waiting in the backlog
 * instead let a client that reconnects as soon as it is closed keep every
 * slot, and a scraper from elsewhere out for good.  Now a source can take
 * slots only from itself once it holds more than anyone else: a scraper
 * from another address keeps its slot and gets in.  (Clients behind one
 * address, e.g. all on loopback, share its slots oldest first: a scrape
 * is answered as soon as its request is read, so it holds its slot for
 * milliseconds.)  O(n^2) in 16 slots.
 */
static void
evict_one(struct metrics *m)
{
	struct sockaddr_storage peer[METRICS_TRACKED];
	size_t                  i, j, most = 0, n, victim = SIZE_MAX;

	for (i = 0; i < m->nconns; i++)
		if (!m->conns[i].shut)
			conn_peer(&m->conns[i], &peer[i]);
	for (i = 0; i < m->nconns; i++) {
		if (m->conns[i].shut)
			continue;
		for (n = 0, j = 0; j < m->nconns; j++)
			n += !m->conns[j].shut &&
			    memcmp(&peer[i], &peer[j], sizeof(peer[i])) == 0;
		if (n > most ||
		    (n == most &&
			older(&m->conns[i].since, &m->conns[victim].since))) {
			most = n;
			victim = i;
		}
	}
	if (victim != SIZE_MAX) {
		conn_shut(m, &m->conns[victim]);
		m->evicted++;
	}
}

/*
 * Forgets finished connections and ends those past their lifetime:
 * shutdown() rather than close(), so that evhttp sees end of file (or a
 * failed write) and frees the connection itself.  Accepts again if there
 * is room.
 */
static void
sweep(struct metrics *m)
{
	bufferevent_data_cb  rd, wr;
	bufferevent_event_cb ev;
	struct timespec      now = mono();
	size_t               i = 0;

	while (i < m->nconns) {
		struct mconn *c = &m->conns[i];

		bufferevent_getcb(c->bev, &rd, &wr, &ev, NULL);
		if (rd == NULL && wr == NULL && ev == NULL) {
			if (!c->shut)
				m->nlive--;
			bufferevent_decref(c->bev);
			*c = m->conns[--m->nconns];
			continue;
		}
		if (!c->shut &&
		    now.tv_sec - c->since.tv_sec >= METRICS_LIFETIME_S)
			conn_shut(m, c);
		i++;
	}
	if (m->paused && m->nconns < METRICS_TRACKED) {
		m->paused = 0;
		evconnlistener_enable(m->listener);
	}
}

static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sweep(arg);
}

/* evhttp's new connection: called from within its accept. */
static struct bufferevent *
on_connection(struct event_base *base, void *arg)
{
	struct metrics     *m = arg;
	struct bufferevent *bev;
	struct mconn       *c;

	if ((bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) ==
	    NULL)
		return NULL; /* evhttp tries its own, and fails likewise */
	if (m->nlive >= METRICS_MAX_CONNS || m->nconns == METRICS_TRACKED)
		sweep(m);
	if (m->nlive >= METRICS_MAX_CONNS)
		evict_one(m);
	if (m->nconns < METRICS_TRACKED) {
		bufferevent_incref(bev);
		c = &m->conns[m->nconns++];
		c->bev = bev;
		c->since = mono();
		c->shut = 0;
		m->nlive++;
	}
	/* The listener's accept loop checks this after each connection:
	 * only shut connections evhttp has not freed yet fill the table. */
	if (m->nconns == METRICS_TRACKED && !m->paused) {
		evconnlistener_disable(m->listener);
		m->paused = 1;
	}
	return bev;
}

/* EMFILE and the like: accepting again at once would spin; the sweep
 * retries within a second. */
static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct metrics *m = arg;

	evconnlistener_disable(lev);
	m->paused = 1;
}

/* 1 if the request's source may scrape now (and takes a token). */
static int
source_may_scrape(struct metrics *m, struct evhttp_request *req)
{
	const struct sockaddr *sa =
	    evhttp_connection_get_addr(evhttp_request_get_connection(req));
	struct msource *e = NULL, *lru = &m->sources[0];
	struct timespec ts = mono();
	uint64_t        now, add;
	struct wp_addr  peer;
	uint8_t         key[17];
	size_t          i;

	memset(key, 0, sizeof(key));
	if (addr_from_sockaddr(sa, &peer) == 0) {
		key[0] = peer.family == AF_INET ? 4 : 6;
		memcpy(key + 1, peer.a, peer.family == AF_INET ? 4 : 16);
	}
	/* +1: 0 marks an unused entry */
	now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + 1;
	for (i = 0; i < METRICS_SOURCES && e == NULL; i++) {
		if (m->sources[i].last_ms != 0 &&
		    memcmp(m->sources[i].addr, key, sizeof(key)) == 0)
			e = &m->sources[i];
		else if (m->sources[i].last_ms < lru->last_ms)
			lru = &m->sources[i];
	}
	if (e == NULL) {
		e = lru;
		memcpy(e->addr, key, sizeof(key));
		e->tokens = METRICS_BURST * 1000;
	} else {
		add = (now - e->last_ms) * METRICS_PER_S;
		e->tokens = add >= METRICS_BURST * 1000 ||
			e->tokens + add >= METRICS_BURST * 1000
		    ? METRICS_BURST * 1000
		    : e->tokens + (uint32_t)add;
	}
	e->last_ms = now;
	if (e->tokens < 1000) {
		m->limited++;
		return 0;
	}
	e->tokens -= 1000;
	return 1;
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct metrics          *m = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char              *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type     cmd = evhttp_request_get_command(req);
	struct evkeyvalq        *hdrs;
	struct evbuffer         *body = NULL;
	json_t                  *c = NULL;
	char                     len[32];

	/* evhttp parses a CONNECT target as an authority (host:port), so
	 * "CONNECT /metrics" has no path: its raw target is the path. */
	if (cmd == EVHTTP_REQ_CONNECT)
		path = evhttp_request_get_uri(req);
	if (path == NULL || strcmp(path, "/metrics") != 0) {
		evhttp_send_error(req, HTTP_NOTFOUND, NULL);
		return;
	}
	/* HEAD is GET without the body (RFC 9110 section 9.3.2). */
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		/* not evhttp_send_error(), which drops the Allow header
		 * that RFC 9110 section 15.5.6 requires */
		if ((body = evbuffer_new()) == NULL ||
		    evbuffer_add_printf(body, "GET or HEAD only\n") < 0) {
			evhttp_send_error(req, HTTP_INTERNAL, NULL);
			goto out;
		}
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		evhttp_send_reply(
		    req, HTTP_BADMETHOD, "Method Not Allowed", body);
		goto out;
	}
	if (!source_may_scrape(m, req)) {
		/* not evhttp_send_error(), which drops Retry-After */
		if ((body = evbuffer_new()) == NULL ||
		    evbuffer_add_printf(body, "too many scrapes\n") < 0) {
			evhttp_send_error(req, HTTP_INTERNAL, NULL);
			goto out;
		}
		evhttp_add_header(
		    evhttp_request_get_output_headers(req), "Retry-After", "1");
		evhttp_send_reply(req, 429, "Too Many Requests", body);
		goto out;
	}
	if ((body = evbuffer_new()) == NULL ||
	    (c = m->snapshot(m->arg)) == NULL ||
	    metrics_render(c, body) == -1) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		goto out;
	}
	hdrs = evhttp_request_get_output_headers(req);
	evhttp_add_header(
	    hdrs, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	if (cmd == EVHTTP_REQ_HEAD) {
		/* evhttp 2.1 would send a body with HEAD too */
		snprintf(len, sizeof(len), "%zu", evbuffer_get_length(body));
		evhttp_add_header(hdrs, "Content-Length", len);
		evhttp_send_reply(req, HTTP_OK, "OK", NULL);
	} else
		evhttp_send_reply(req, HTTP_OK, "OK", body);
out:
	json_decref(c);
	if (body != NULL)
		evbuffer_free(body);
}

struct metrics *
metrics_new(struct event_base *base, const struct wp_addr *addr, uint16_t port,
    metrics_snapshot_fn snapshot, void *arg, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct metrics         *m;
	socklen_t               sslen;
	const struct timeval    sweep_tv = {1, 0};

	sslen = addr_to_sockaddr(addr, port, &ss);
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	m->base = base;
	m->snapshot = snapshot;
	m->arg = arg;
	if ((m->http = evhttp_new(base)) == NULL ||
	    (m->sweep_ev = event_new(base, -1, EV_PERSIST, on_sweep, m)) ==
		NULL ||
	    event_add(m->sweep_ev, &sweep_tv) == -1) {
		snprintf(err, errlen, "cannot set up the HTTP server");
		goto fail;
	}
	evhttp_set_max_headers_size(m->http, METRICS_HEADERS_MAX);
	evhttp_set_max_body_size(m->http, 0);
	evhttp_set_timeout(m->http, METRICS_IDLE_S);
	/* Every method reaches on_request, which answers 405; evhttp's own
	 * refusal would be 501, "not implemented by the server at all". */
	evhttp_set_allowed_methods(m->http,
	    EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
		EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
		EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(m->http, on_request, m);
	evhttp_set_bevcb(m->http, on_connection, m);
	/* The callback is evhttp's, set by evhttp_bind_listener(). */
	/* "[::]:9469" means IPv6 only, as it says: IPv4 is "0.0.0.0:9469". */
	m->listener = evconnlistener_new_bind(base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE |
		LEV_OPT_DISABLED |
		(addr->family == AF_INET6 ? LEV_OPT_BIND_IPV6ONLY : 0),
	    METRICS_MAX_CONNS, (struct sockaddr *)&ss, (int)sslen);
	if (m->listener == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		goto fail;
	}
	if (evhttp_bind_listener(m->http, m->listener) == NULL) {
		evconnlistener_free(m->listener);
		m->listener = NULL;
		snprintf(err, errlen, "cannot set up the HTTP server");
		goto fail;
	}
	evconnlistener_set_error_cb(m->listener, on_accept_error);
	evconnlistener_enable(m->listener);
	return m;
fail:
	metrics_free(m);
	return NULL;
}

uint64_t
metrics_evicted(const struct metrics *m)
{
	return m != NULL ? m->evicted : 0;
}

uint64_t
metrics_limited(const struct metrics *m)
{
	return m != NULL ? m->limited : 0;
}

void
metrics_free(struct metrics *m)
{
	size_t i;

	if (m == NULL)
		return;

	if (m->sweep_ev != NULL)
		event_free(m->sweep_ev);
	/* the listener and every connection (which our references keep
	 * from being destroyed until the loop below) */
	if (m->http != NULL)
		evhttp_free(m->http);
	for (i = 0; i < m->nconns; i++)
		bufferevent_decref(m->conns[i].bev);
	free(m);
}

int
metrics_place(struct metrics **cur, struct config_metrics *at,
    const struct config_metrics *want, struct event_base *base,
    metrics_snapshot_fn snapshot, void *arg, char *where, size_t wherelen,
    char *err, size_t errlen)
{
	struct metrics *m = NULL;
	char            addr[ADDR_STRLEN], why[128];

	if (*cur != NULL && at->address.family == want->address.family &&
	    memcmp(at->address.a, want->address.a, 16) == 0 &&
	    at->port == want->port)
		return 0;
	(void)addr_ntop(&want->address, addr, sizeof(addr));
	snprintf(where, wherelen,
	    want->address.family == AF_INET6 ? "[%s]:%u" : "%s:%u", addr,
	    want->port);
	if (want->address.family != 0 &&
	    (m = metrics_new(base, &want->address, want->port, snapshot, arg,
		 why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", where, why);
		return -1;
	}
	metrics_free(*cur);
	*cur = m;
	*at = *want;
	return m != NULL;
}
