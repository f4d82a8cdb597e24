/*
 * The Prometheus text endpoint: a renderer from the counters object to
 * the text exposition format 0.0.4, and a small evhttp server for it.
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

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

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

/* ---------------------------------------------------------- rendering */

enum scope {
	AT_ROOT,         /* the counters object itself */
	AT_ROOT_CONTROL, /* its "control" */
	AT_ROOT_DROPS,   /* its "drops", a sample per key */
	AT_UNIT_CONTROL, /* each unit's "control" */
	AT_UNIT_FLOWS,   /* each unit's "flows" */
	AT_LINK,         /* each unit's "links" */
	AT_SITE_DROPS    /* popd: each site's "drops", a sample per key */
};

enum conv {
	V_NUM, /* number as is, true 1, false 0 */
	V_MS,  /* milliseconds to seconds */
	V_UP   /* "up" 1, anything else 0 */
};

struct family {
	const char *name;
	const char *type;
	const char *help;
	enum scope  at;
	const char *field;
	enum conv   conv;
};

/*
 * A "unit" is what has links and a flow table: socketd itself, or each
 * of popd's sites (labelled site="...").  Counters are _total (format
 * 0.0.4 and the naming conventions of prometheus.io), times in seconds.
 */
static const struct family families[] = {
    {"process_start_time_seconds", "gauge",
	"Start time of the process since the Unix epoch in seconds.", AT_ROOT,
	"start_time", V_NUM},
    {"wanpair_control_connected", "gauge", "1 while the control channel is up.",
	AT_UNIT_CONTROL, "connected", V_NUM},
    {"wanpair_reassign_sent_total", "counter",
	"Failover flow moves (REASSIGN batches) sent to the PoP.",
	AT_UNIT_CONTROL, "reassign_sent", V_NUM},
    {"wanpair_reassign_applied_total", "counter",
	"REASSIGN batches applied at both ends (socketd: acknowledged).",
	AT_UNIT_CONTROL, "reassign_applied", V_NUM},
    {"wanpair_reassign_moves_total", "counter",
	"Flows put on the link the Socket chose (REASSIGN).", AT_UNIT_CONTROL,
	"reassign_moves", V_NUM},
    {"wanpair_reassign_refused_total", "counter",
	"REASSIGN moves refused: unknown or down link.", AT_UNIT_CONTROL,
	"reassign_refused", V_NUM},
    {"wanpair_control_sessions", "gauge", "Sites with a data-plane session.",
	AT_ROOT_CONTROL, "sessions", V_NUM},
    {"wanpair_control_pending", "gauge",
	"Control connections still in their TLS handshake.", AT_ROOT_CONTROL,
	"pending", V_NUM},
    {"wanpair_control_refused_total", "counter",
	"Control connections refused at accept, for any limit.",
	AT_ROOT_CONTROL, "refused", V_NUM},
    {"wanpair_control_connections", "gauge",
	"Control connections open, in handshake and closing included.",
	AT_ROOT_CONTROL, "connections", V_NUM},
    {"wanpair_control_handshake_timeouts_total", "counter",
	"Control connections closed without HELLO by "
	"limits.handshake_timeout_s.",
	AT_ROOT_CONTROL, "handshake_timeouts", V_NUM},
    {"wanpair_control_handshakes_evicted_total", "counter",
	"Oldest pending handshakes dropped to admit a new one.",
	AT_ROOT_CONTROL, "handshakes_evicted", V_NUM},
    {"wanpair_control_refused_per_source_total", "counter",
	"Control connections refused by limits.handshakes_per_source.",
	AT_ROOT_CONTROL, "refused_per_source", V_NUM},
    {"wanpair_control_refused_connections_total", "counter",
	"Control connections refused by limits.connections.", AT_ROOT_CONTROL,
	"refused_total", V_NUM},
    {"wanpair_control_replaced_total", "counter",
	"Control connections replaced by a newer one of the same site.",
	AT_ROOT_CONTROL, "replaced", V_NUM},
    {"wanpair_control_output_overflows_total", "counter",
	"Control connections closed for not reading (limits.output_kib).",
	AT_ROOT_CONTROL, "output_overflows", V_NUM},
    {"wanpair_control_rate_limited_total", "counter",
	"Control connections closed for a frame flood (limits.frames_per_s).",
	AT_ROOT_CONTROL, "rate_limited", V_NUM},
    {"wanpair_control_input_throttled_total", "counter",
	"Control connection reads held back by limits.input_kib_per_s or "
	"limits.input_total_kib_per_s.",
	AT_ROOT_CONTROL, "input_throttled", V_NUM},
    {"wanpair_control_bad_frames_total", "counter",
	"Control connections closed for a malformed, oversized or unknown "
	"frame.",
	AT_ROOT_CONTROL, "bad_frames", V_NUM},
    {"wanpair_ctl_evicted_total", "counter",
	"Control socket clients closed to make room for a newer one.", AT_ROOT,
	"ctl_evicted", V_NUM},
    {"wanpair_metrics_evicted_total", "counter",
	"Metrics connections closed to make room for a newer one.", AT_ROOT,
	"metrics_evicted", V_NUM},
    {"wanpair_metrics_limited_total", "counter",
	"Scrapes refused (429) past their source's rate.", AT_ROOT,
	"metrics_limited", V_NUM},
    {"wanpair_sessions_expired_total", "counter",
	"Data-plane sessions ended after session_grace_s without a control "
	"channel.",
	AT_ROOT_CONTROL, "sessions_expired", V_NUM},
    {"wanpair_flows", "gauge", "Flows in the flow table.", AT_UNIT_FLOWS,
	"count", V_NUM},
    {"wanpair_flows_max", "gauge", "Size of the flow table (flows.max).",
	AT_UNIT_FLOWS, "max", V_NUM},
    {"wanpair_flows_created_total", "counter", "Flows created.", AT_UNIT_FLOWS,
	"new", V_NUM},
    {"wanpair_flow_evictions_total", "counter",
	"Flows evicted, idle longest first, from a full flow table.",
	AT_UNIT_FLOWS, "evictions", V_NUM},
    {"wanpair_link_up", "gauge", "1 if the link carries flows, 0 if down.",
	AT_LINK, "state", V_UP},
    {"wanpair_link_admin_up", "gauge", "0 if an operator took the link down.",
	AT_LINK, "admin", V_UP},
    {"wanpair_link_rtt_seconds", "gauge",
	"Smoothed round-trip time of the link's probes.", AT_LINK, "rtt_ms",
	V_MS},
    {"wanpair_link_jitter_seconds", "gauge",
	"Round-trip jitter of the link's probes.", AT_LINK, "jitter_ms", V_MS},
    {"wanpair_link_loss_ratio", "gauge",
	"Probes lost, moving average over about 64 probes, 0..1.", AT_LINK,
	"loss", V_NUM},
    {"wanpair_link_idle_seconds", "gauge",
	"Time since the site last sent an authenticated packet on the link.",
	AT_LINK, "idle_ms", V_MS},
    {"wanpair_link_tx_packets_total", "counter",
	"Datagrams sent on the link, data and probes.", AT_LINK, "tx_packets",
	V_NUM},
    {"wanpair_link_tx_bytes_total", "counter",
	"UDP payload bytes sent on the link.", AT_LINK, "tx_bytes", V_NUM},
    {"wanpair_link_rx_packets_total", "counter",
	"Authenticated datagrams received on the link.", AT_LINK, "rx_packets",
	V_NUM},
    {"wanpair_link_rx_bytes_total", "counter",
	"UDP payload bytes of authenticated datagrams received on the link.",
	AT_LINK, "rx_bytes", V_NUM},
    {"wanpair_link_tx_errors_total", "counter",
	"Datagrams the link's socket could not send.", AT_LINK, "tx_errors",
	V_NUM},
    {"wanpair_link_flows", "gauge", "Flows now on the link.", AT_LINK, "flows",
	V_NUM},
    {"wanpair_link_flows_created_total", "counter",
	"Flows placed on the link when they were created.", AT_LINK,
	"new_flows", V_NUM},
    {"wanpair_link_probes_sent_total", "counter", "Probes sent on the link.",
	AT_LINK, "probes_sent", V_NUM},
    {"wanpair_link_probes_lost_total", "counter",
	"Probes declared lost on the link.", AT_LINK, "probes_lost", V_NUM},
    {"wanpair_drops_total", "counter", "Packets dropped, by reason.",
	AT_ROOT_DROPS, NULL, V_NUM},
    {"wanpair_site_drops_total", "counter",
	"Packets from or to a site dropped, by reason.", AT_SITE_DROPS, NULL,
	V_NUM},
};

#define MAX_LABELS 3

struct labels {
	const char *name[MAX_LABELS];
	const char *value[MAX_LABELS];
	size_t      n;
};

/* Label values escape \, " and newline (format 0.0.4); nothing else. */
static int
add_escaped(struct evbuffer *b, const char *s)
{
	const char *run = s;
	int         rc = 0;

	for (; *s != '\0'; s++) {
		const char *esc = *s == '\\' ? "\\\\"
		    : *s == '"'              ? "\\\""
		    : *s == '\n'             ? "\\n"
					     : NULL;

		if (esc == NULL)
			continue;
		rc |= evbuffer_add(b, run, (size_t)(s - run));
		rc |= evbuffer_add(b, esc, 2);
		run = s + 1;
	}
	rc |= evbuffer_add(b, run, (size_t)(s - run));
	return rc;
}

/* 1 with *out set if v gives a sample, 0 if it gives none. */
static int
sample_value(const json_t *v, enum conv conv, char *out, size_t len)
{
	double d;

	if (conv == V_UP) {
		if (!json_is_string(v))
			return 0;
		snprintf(
		    out, len, "%d", strcmp(json_string_value(v), "up") == 0);
		return 1;
	}
	if (json_is_boolean(v)) {
		snprintf(out, len, "%d", json_is_true(v));
		return 1;
	}
	if (conv == V_NUM && json_is_integer(v)) {
		snprintf(out, len, "%lld", (long long)json_integer_value(v));
		return 1;
	}
	if (!json_is_number(v))
		return 0;
	d = json_number_value(v);
	if (conv == V_MS)
		d /= 1000;
	/* 9 digits: microseconds of an RTT, ppb of a loss ratio. */
	snprintf(out, len, "%.9g", d);
	return 1;
}

static int
sample(struct evbuffer *b, const char *name, const struct labels *l,
    const json_t *v, enum conv conv)
{
	char   val[64];
	size_t i;
	int    rc;

	if (v == NULL || !sample_value(v, conv, val, sizeof(val)))
		return 0;
	rc = evbuffer_add_printf(b, "%s", name) < 0;
	for (i = 0; i < l->n; i++) {
		rc |= evbuffer_add_printf(
			  b, "%s%s=\"", i == 0 ? "{" : ",", l->name[i]) < 0;
		rc |= add_escaped(b, l->value[i]);
		rc |= evbuffer_add(b, "\"", 1);
	}
	rc |= evbuffer_add_printf(b, "%s %s\n", l->n > 0 ? "}" : "", val) < 0;
	return rc != 0 ? -1 : 0;
}

static const char *
name_of(const json_t *o)
{
	const char *s = json_string_value(json_object_get(o, "name"));

	return s != NULL ? s : "";
}

/* One sample per member of `drops`: reason = key. */
static int
drop_samples(
    struct evbuffer *b, const char *name, struct labels *l, const json_t *drops)
{
	const char *key;
	json_t     *v;
	int         rc = 0;

	l->name[l->n] = "reason";
	json_object_foreach((json_t *)drops, key, v)
	{
		l->value[l->n] = key;
		l->n++;
		rc |= sample(b, name, l, v, V_NUM);
		l->n--;
	}
	return rc;
}

/* The samples of one family, for every unit, link or reason it has. */
static int
family_samples(struct evbuffer *b, const struct family *f, const json_t *root)
{
	const json_t *sites = json_object_get(root, "sites");
	const json_t *unit, *link;
	struct labels l = {{NULL}, {NULL}, 0};
	size_t        i, j, nunits;
	int           rc = 0;

	switch (f->at) {
	case AT_ROOT:
		return sample(
		    b, f->name, &l, json_object_get(root, f->field), f->conv);
	case AT_ROOT_CONTROL:
		return sample(b, f->name, &l,
		    json_object_get(json_object_get(root, "control"), f->field),
		    f->conv);
	case AT_ROOT_DROPS:
		return drop_samples(
		    b, f->name, &l, json_object_get(root, "drops"));
	default:
		break;
	}
	/* Per unit: popd's sites, or socketd itself. */
	nunits = json_is_array(sites) ? json_array_size(sites) : 1;
	for (i = 0; i < nunits; i++) {
		const json_t *links;

		l.n = 0;
		unit = root;
		if (json_is_array(sites)) {
			unit = json_array_get(sites, i);
			l.name[0] = "site";
			l.value[0] = name_of(unit);
			l.n = 1;
		}
		switch (f->at) {
		case AT_UNIT_CONTROL:
			rc |= sample(b, f->name, &l,
			    json_object_get(
				json_object_get(unit, "control"), f->field),
			    f->conv);
			break;
		case AT_UNIT_FLOWS:
			rc |= sample(b, f->name, &l,
			    json_object_get(
				json_object_get(unit, "flows"), f->field),
			    f->conv);
			break;
		case AT_LINK:
			links = json_object_get(unit, "links");
			l.name[l.n] = "link";
			l.n++;
			json_array_foreach((json_t *)links, j, link)
			{
				l.value[l.n - 1] = name_of(link);
				rc |= sample(b, f->name, &l,
				    json_object_get(link, f->field), f->conv);
			}
			break;
		case AT_SITE_DROPS:
			if (json_is_array(sites))
				rc |= drop_samples(b, f->name, &l,
				    json_object_get(unit, "drops"));
			break;
		default:
			break;
		}
	}
	return rc;
}

int
metrics_render(const json_t *c, struct evbuffer *out)
{
	struct evbuffer *tmp = NULL;
	struct labels    l = {{"daemon", "version"}, {NULL}, 2};
	size_t           i;
	int              rc = -1;

	l.value[0] = json_string_value(json_object_get(c, "daemon"));
	l.value[1] = json_string_value(json_object_get(c, "version"));
	if (l.value[0] == NULL || (tmp = evbuffer_new()) == NULL)
		goto out;
	if (l.value[1] == NULL)
		l.value[1] = "";
	if (evbuffer_add_printf(out,
		"# HELP wanpair_build_info The daemon and its version.\n"
		"# TYPE wanpair_build_info gauge\n") < 0 ||
	    sample(out, "wanpair_build_info", &l, json_true(), V_NUM) == -1)
		goto out;
	for (i = 0; i < NELEM(families); i++) {
		const struct family *f = &families[i];

		if (family_samples(tmp, f, c) != 0)
			goto out;
		/* A family without samples (popd has no rtt, socketd no
		 * sessions) is left out rather than announced empty. */
		if (evbuffer_get_length(tmp) == 0)
			continue;
		if (evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n",
			f->name, f->help, f->name, f->type) < 0 ||
		    evbuffer_add_buffer(out, tmp) == -1)
			goto out;
	}
	rc = 0;
out:
	if (tmp != NULL)
		evbuffer_free(tmp);
	return rc;
}

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
