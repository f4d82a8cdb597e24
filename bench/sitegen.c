/*
 * bench/sitegen: many simulated sites against one real wanpair-popd, for
 * bench/sites (which builds the namespaces, the PKI and popd.json, starts
 * popd and reads this program's JSON).  Everything a site says is said
 * with the project's own code, so popd sees what a Socket sends:
 *   - one TLS 1.3 control channel per site with a client certificate of
 *     its own (P-256, made here, signed by the bench's CA), the context
 *     from tls_ctx_new() as socketd has it, HELLO and WELCOME through
 *     proto/ctlmsg, KEEPALIVE every 10 s;
 *   - data-plane keys from the TLS exporter (tls_data_key()), one tunnel
 *     per site (common/tunnel.c), probes at WELCOME's interval, datagrams
 *     sealed by tunnel_seal_udp() into udpio's batches;
 *   - return traffic injected into popd's TUN device from popd's
 *     namespace (a UDP socket opened there with setns(2)), opened here
 *     with the site's keys and checked to be for that site's LAN.
 *
 *	sitegen sites N		the popd.json "sites" array for N sites
 *	sitegen run OPTIONS	the ramp; JSON on stdout, progress on stderr
 *
 * Site i (0-based, i < 65536): name "site-i", identity "site-i.bench"
 * (subject CN and DNS subjectAltName), LAN 10.(i/256).(i%256).0/24.
 * Nothing here is a test: a figure is what was measured, and a stage
 * that fails says why ("ok": false, "error") instead of going on.
 */
#include "autoconf.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "ctlmsg.h"
#include "ctlsock.h"
#include "flow.h"
#include "keyring.h"
#include "probe.h"
#include "proto.h"
#include "tls.h"
#include "tunnel.h"
#include "udpio.h"
#include "wire.h"

#define MAX_SITES     65536 /* 10.0.0.0/8 in /24s */
#define DATA_SOCKS    16    /* the sites' UDP endpoints, shared */
#define KEEPALIVE_MS  10000 /* socketd's interval; popd closes after 30 s */
#define PUMP_BATCH    64
#define STALL_MS      300 /* no progress this long: what is out is lost */
#define HS_TIMEOUT_MS 60000
/* The steady stream (stream_*): what it carries, its sites at most, the
 * gap histogram's steps (10 us up to 100 ms) and the arrivals kept to
 * look at the time around one site's connect. */
#define STREAM_MAGIC   0x57505354u /* "WPST" */
#define STREAM_PORT    10          /* the sink's; the raw path's is the next */
#define STREAM_MAX     8
#define STREAM_STEP_US 10
#define STREAM_HIST    10000
#define STREAM_RING    (1u << 17)

enum site_state { S_IDLE, S_CONNECTING, S_UP, S_FAILED };

struct site {
	unsigned            idx;
	char                name[16];
	char                identity[32];
	uint8_t             lan[4]; /* 10.a.b.0 */
	X509               *cert;
	EVP_PKEY           *key;
	struct bufferevent *bev;
	enum site_state     state;
	uint64_t            t_start_us, hs_us;
	uint32_t            session;
	struct tunnel      *tun;
	unsigned            sock; /* data socket index */
	uint64_t            next_probe_ms, next_ka_ms;
	uint32_t            probe_seq;
	uint64_t            probe_replies;
	uint64_t            rt_start_us, rt_up_us; /* CLOCK_REALTIME */
	int                 stream; /* the stream thread's: main keeps off */
	char                why[CTL_ERRLEN + 64];
};

/* One phase's traffic counters, reset when it starts. */
struct traffic {
	int      up_on, down_on, flows_mode;
	uint64_t up_sent, up_seal_fail, up_sunk, up_lost;
	uint64_t down_sent, down_ok, down_bad, down_lost;
	uint64_t up_last_sunk, down_last_ok; /* progress, for stalls */
	uint64_t up_stalls, down_stalls;
	uint64_t up_last_ms, down_last_ms;
	uint64_t flows_next, flows_total;
	size_t   rr_up, rr_down;
};

static struct {
	/* options */
	const char *ca, *ca_key, *cert, *key, *pop_identity, *pop_netns;
	const char *ctl_path;
	struct sockaddr_storage pop_ctl, local;
	socklen_t               pop_ctl_len, local_len;
	struct wp_addr          pop_addr, sink_addr;
	uint16_t                sink_port;
	unsigned                stages[16], nstages, concurrency;
	unsigned                idle_s, traffic_s, payload, win_up, win_down;
	unsigned                flows, settle_ms;
	unsigned                stream_sites, stream_us;
	pid_t                   popd_pid;

	struct event_base *base;
	SSL_CTX           *ctx;
	struct site       *sites;
	unsigned           nsites; /* the last stage's */
	unsigned           nup, nconnecting, nfailed, next_connect;
	unsigned           failed_up; /* lost after WELCOME */
	struct site      **by_session;
	uint32_t           smask;

	int           data_fd[DATA_SOCKS];
	struct udpio *data_io[DATA_SOCKS];
	struct event *data_ev[DATA_SOCKS];
	int           sink_fd, inject_fd;
	int           stream_sink_fd, stream_inject_fd;
	int           raw_rx_fd, raw_tx_fd; /* the stream's reference */
	struct udpio *sink_io, *inject_io;
	struct event *sink_ev, *tick_ev, *up_pump, *down_pump;
	struct sockaddr_storage pop_data;
	socklen_t               pop_data_len;
	uint32_t                probe_ms;
	struct tunnel_evq       evq;
	struct tunnel_drops     drops; /* the generator's own refusals */
	uint64_t                open_replay, open_auth, open_other, no_session;
	struct traffic          t;
	int                     popd_gone;
	char                    error[512];
	long                    clk;
} g;

static void
vnote(const char *fmt, va_list ap)
{
	fprintf(stderr, "sitegen: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote(fmt, ap);
	va_end(ap);
}

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vnote(fmt, ap);
	va_end(ap);
	exit(1);
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The stream's clock: the kernel's receive timestamps (SO_TIMESTAMPNS)
 * are CLOCK_REALTIME, and one clock makes a one-way delay. */
static uint64_t
now_rt_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
site_names(
    unsigned i, char *name, size_t nlen, char *id, size_t idlen, uint8_t lan[4])
{
	snprintf(name, nlen, "site-%u", i);
	snprintf(id, idlen, "site-%u.bench", i);
	lan[0] = 10;
	lan[1] = (uint8_t)(i >> 8);
	lan[2] = (uint8_t)i;
	lan[3] = 0;
}

/* ------------------------------------------------------------ popd */

/* popd's RSS in KiB (VmRSS), or -1. */
static long
popd_rss_kib(void)
{
	char  path[64], line[256];
	FILE *f;
	long  v = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)g.popd_pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* /proc/POPD_PID/<file> into buf (a string): 0, or -1. */
static int
popd_proc(const char *file, char *buf, size_t len)
{
	char   path[64];
	FILE  *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)g.popd_pid, file);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return 0;
}

/* popd's utime + stime in clock ticks, or -1 once it is gone (a zombie
 * counts as gone). */
static long long
popd_ticks(void)
{
	char               buf[1024], *p, st;
	unsigned long long ut, stt;

	/* The command name may hold spaces and parentheses. */
	if (popd_proc("stat", buf, sizeof(buf)) == -1 ||
	    (p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2,
		"%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &st,
		&ut, &stt) != 3 ||
	    st == 'Z')
		return -1;
	return (long long)(ut + stt);
}

/* How long popd has waited for a CPU while runnable, in ns
 * (/proc/PID/schedstat, second field), or -1: a stall on a busy machine
 * may be the scheduler's, not popd's loop. */
static long long
popd_run_delay_ns(void)
{
	char               buf[128];
	unsigned long long run, wait;

	if (popd_proc("schedstat", buf, sizeof(buf)) == -1 ||
	    sscanf(buf, "%llu %llu", &run, &wait) != 2)
		return -1;
	return (long long)wait;
}

static double
self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Busy clock ticks of all CPUs together (/proc/stat: all but idle and
 * iowait), or -1: what else ran beside popd and sitegen shows in it. */
static long long
machine_busy_ticks(void)
{
	unsigned long long v[8] = {0};
	FILE              *f;
	int                n;

	if ((f = fopen("/proc/stat", "r")) == NULL)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8)
		return -1;
	return (long long)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]);
}

/* One request to popd's control socket: the result object, or NULL. */
static json_t *
popd_query(enum ctlsock_cmd cmd)
{
	struct ctlsock_req req = {.cmd = cmd};
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char              *line, *buf = NULL, err[CTLSOCK_ERRLEN];
	size_t             len = 0, cap = 0;
	json_t            *res = NULL;
	struct pollfd      pfd;
	ssize_t            n;
	int                fd;

	if (g.ctl_path == NULL)
		return NULL;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", g.ctl_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return NULL;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    (line = ctlsock_req_encode(&req)) == NULL) {
		close(fd);
		return NULL;
	}
	n = write(fd, line, strlen(line));
	free(line);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (n > 0 && len < CTLSOCK_MAX_REPLY && poll(&pfd, 1, 10000) == 1) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 1 << 20;
			if ((buf = realloc(buf, cap)) == NULL)
				break;
		}
		if ((n = read(fd, buf + len, cap - len)) <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (buf != NULL &&
	    ctlsock_reply_parse(buf, len, &res, err, sizeof(err)) != 0) {
		note("popd's control socket: %s", err);
		res = NULL;
	}
	free(buf);
	return res;
}

static long long
json_int(json_t *o, const char *k)
{
	json_t *v = o != NULL ? json_object_get(o, k) : NULL;

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* ------------------------------------------------------------ PKI */

static void
ossl_die(const char *what)
{
	char buf[256];

	ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
	die("%s: %s", what, buf);
}

static int
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e;
	int             rc;

	if ((e = X509V3_EXT_conf_nid(NULL, ctx, nid, value)) == NULL)
		return -1;
	rc = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return rc == 1 ? 0 : -1;
}

/* A client certificate for s, signed by the CA: what mkcerts' leaves
 * carry, as a Socket's certificate would. */
static void
site_cert(struct site *s, X509 *ca, EVP_PKEY *cakey)
{
	X509V3_CTX ctx;
	X509      *x;
	char       san[48];
	uint64_t   serial;

	if ((s->key = EVP_EC_gen("P-256")) == NULL)
		ossl_die("P-256 key");
	if ((x = X509_new()) == NULL)
		ossl_die("certificate");
	if (RAND_bytes((unsigned char *)&serial, sizeof(serial)) != 1)
		ossl_die("serial");
	serial >>= 1; /* positive */
	snprintf(san, sizeof(san), "DNS:%s", s->identity);
	X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
	if (X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
	    X509_set_pubkey(x, s->key) != 1 ||
	    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
		MBSTRING_ASC, (const unsigned char *)s->identity, -1, -1,
		0) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(ca)) != 1 ||
	    add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
	    add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") ||
	    add_ext(x, &ctx, NID_ext_key_usage, "clientAuth") ||
	    add_ext(x, &ctx, NID_subject_alt_name, san) ||
	    X509_sign(x, cakey, EVP_sha256()) == 0)
		ossl_die(s->identity);
	s->cert = x;
}

static double
make_certs(void)
{
	EVP_PKEY *cakey;
	X509     *ca;
	FILE     *f;
	uint64_t  t0 = now_us();
	unsigned  i;

	if ((f = fopen(g.ca, "r")) == NULL)
		die("%s: %s", g.ca, strerror(errno));
	ca = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if ((f = fopen(g.ca_key, "r")) == NULL)
		die("%s: %s", g.ca_key, strerror(errno));
	cakey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (ca == NULL || cakey == NULL)
		ossl_die("the CA's certificate or key");
	for (i = 0; i < g.nsites; i++)
		site_cert(&g.sites[i], ca, cakey);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	return (double)(now_us() - t0) / 1e6;
}

/* ------------------------------------------------------------ sessions */

static uint32_t
slot_of(uint32_t id)
{
	return (id * UINT32_C(2654435761)) & g.smask;
}

static struct site *
site_by_session(uint32_t id)
{
	uint32_t i;

	for (i = slot_of(id); g.by_session[i] != NULL; i = (i + 1) & g.smask)
		if (g.by_session[i]->session == id)
			return g.by_session[i];
	return NULL;
}

static void
session_insert(struct site *s)
{
	uint32_t i;

	for (i = slot_of(s->session); g.by_session[i] != NULL;
	     i = (i + 1) & g.smask)
		;
	g.by_session[i] = s;
}

static int
site_derive(void *arg, uint32_t epoch, int up, uint8_t worker,
    uint8_t key[AEAD_KEY_LEN])
{
	struct site *s = arg;

	if (s->bev == NULL)
		return -1;
	return tls_data_key(bufferevent_openssl_get_ssl(s->bev), s->session,
	    epoch, worker, up, key);
}

/* What the data path asked of the control side: only keys, here. */
static void
drain_evq(void)
{
	struct tunnel_ev ev;
	struct site     *s;

	while (tunnel_evq_pop(&g.evq, &ev))
		if (ev.kind == TUNNEL_EV_NEED_KEY &&
		    (s = site_by_session(ev.session)) != NULL && !s->stream)
			(void)tunnel_refill(s->tun);
}

static void site_fail(struct site *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
site_fail(struct site *s, const char *fmt, ...)
{
	va_list ap;

	if (s->state == S_FAILED)
		return;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
	if (s->state == S_CONNECTING)
		g.nconnecting--;
	if (s->state == S_UP) {
		g.nup--;
		g.failed_up++;
	}
	g.nfailed++;
	s->state = S_FAILED;
	/* The tunnel stays (its session id stays in the index) but can
	 * derive nothing more: bev is gone. */
	if (s->bev != NULL) {
		bufferevent_free(s->bev);
		s->bev = NULL;
	}
	if (g.nfailed <= 5)
		note("%s: %s", s->name, s->why);
}

static void
send_frame(struct site *s, uint8_t *frame, size_t len)
{
	if (frame == NULL)
		return;
	bufferevent_write(s->bev, frame, len);
	free(frame);
}

static void
send_probe(struct site *s, uint64_t now)
{
	struct probe pr = {s->probe_seq++, now};
	uint8_t      p[PROBE_LEN];

	(void)probe_encode(&pr, p, sizeof(p));
	(void)tunnel_seal_udp(s->tun, &g.evq, &g.drops, g.data_io[s->sock],
	    WIRE_PROBE, 0, p, sizeof(p), (struct sockaddr *)&g.pop_data,
	    g.pop_data_len);
}

static void connect_more(void);

static void
on_welcome(struct site *s, const struct ctl_welcome *w)
{
	uint64_t now = now_ms();

	if (w->version != PROTOCOL_VERSION) {
		site_fail(s, "WELCOME of protocol version %u", w->version);
		return;
	}
	if (g.pop_data_len == 0) {
		g.pop_data_len =
		    addr_to_sockaddr(&g.pop_addr, w->data_port, &g.pop_data);
		g.probe_ms = w->probe_interval_ms;
	}
	s->session = w->session;
	if ((s->tun = tunnel_new(w->session, 1, 0, w->workers, site_derive, s,
		 KEYRING_LIMIT, KEYRING_HARD_LIMIT)) == NULL) {
		site_fail(s, "cannot derive the data-plane keys");
		return;
	}
	session_insert(s);
	s->hs_us = now_us() - s->t_start_us;
	s->rt_up_us = now_rt_us();
	s->state = S_UP;
	g.nconnecting--;
	g.nup++;
	/* At once, as socketd does: popd learns the link's endpoint (a
	 * stream site's from the stream thread's socket, later). */
	if (!s->stream) {
		send_probe(s, now);
		(void)udpio_send(g.data_io[s->sock]);
	}
	s->next_probe_ms = now + g.probe_ms;
	s->next_ka_ms = now + KEEPALIVE_MS;
	connect_more();
}

static void
ctl_read(struct bufferevent *bev, void *arg)
{
	struct site     *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct ctl_frame f;
	struct ctl_msg   m;
	char             err[CTL_ERRLEN];
	uint8_t         *p;
	size_t           len, need;
	int              rc;

	while ((len = evbuffer_get_length(in)) >= CTL_HDR_LEN) {
		p = evbuffer_pullup(in, CTL_HDR_LEN);
		need = ctlmsg_frame_need(p);
		if ((rc = ctlmsg_frame(p, CTL_HDR_LEN, &f)) < 0) {
			site_fail(s, "bad frame from popd (%d)", rc);
			return;
		}
		if (len < need)
			return;
		p = evbuffer_pullup(in, (ssize_t)need);
		if (ctlmsg_frame(p, need, &f) != CTL_OK ||
		    ctlmsg_decode(&f, &m, err, sizeof(err)) != CTL_OK) {
			site_fail(s, "undecodable frame from popd: %s", err);
			return;
		}
		evbuffer_drain(in, need);
		switch (m.type) {
		case CTL_WELCOME:
			if (s->state == S_CONNECTING)
				on_welcome(s, &m.u.welcome);
			break;
		case CTL_BYE:
			site_fail(s, "popd said BYE: %s", m.u.bye.reason);
			break;
		default: /* KEEPALIVE answers, REKEY notices */
			break;
		}
		ctlmsg_msg_free(&m);
		if (s->state == S_FAILED)
			return;
	}
}

static void
ctl_event(struct bufferevent *bev, short what, void *arg)
{
	struct site     *s = arg;
	struct ctl_hello h;
	uint8_t         *frame = NULL;
	size_t           len;
	unsigned long    e;
	char             buf[160];

	if (what & BEV_EVENT_CONNECTED) {
		if (!tls_peer_matches(
			bufferevent_openssl_get_ssl(bev), g.pop_identity)) {
			site_fail(
			    s, "popd's certificate is not %s", g.pop_identity);
			return;
		}
		memset(&h, 0, sizeof(h));
		h.version = PROTOCOL_VERSION;
		h.workers = 1;
		snprintf(h.site, sizeof(h.site), "%s", s->name);
		h.nlinks = 1;
		snprintf(h.links[0].name, sizeof(h.links[0].name), "WAN1");
		h.links[0].id = 0;
		h.links[0].up_mbps = 1000;
		h.links[0].down_mbps = 1000;
		h.nlan = 1;
		h.lan[0].addr.family = AF_INET;
		memcpy(h.lan[0].addr.a, s->lan, 4);
		h.lan[0].len = 24;
		if (ctlmsg_encode_hello(&h, &frame, &len) == -1) {
			site_fail(s, "cannot encode HELLO");
			return;
		}
		send_frame(s, frame, len);
		return;
	}
	if ((e = bufferevent_get_openssl_error(bev)) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		ERR_clear_error();
	} else if (what & BEV_EVENT_EOF)
		snprintf(buf, sizeof(buf), "popd closed the connection");
	else
		snprintf(
		    buf, sizeof(buf), "%s", strerror(EVUTIL_SOCKET_ERROR()));
	site_fail(s, "control channel: %s", buf);
}

static void
site_connect(struct site *s)
{
	SSL *ssl;

	s->state = S_CONNECTING;
	g.nconnecting++;
	s->t_start_us = now_us();
	s->rt_start_us = now_rt_us();
	if ((ssl = SSL_new(g.ctx)) == NULL ||
	    SSL_use_certificate(ssl, s->cert) != 1 ||
	    SSL_use_PrivateKey(ssl, s->key) != 1) {
		SSL_free(ssl);
		site_fail(s, "cannot set up TLS");
		return;
	}
	s->bev = bufferevent_openssl_socket_new(
	    g.base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		SSL_free(ssl);
		site_fail(s, "cannot make a bufferevent");
		return;
	}
	bufferevent_setcb(s->bev, ctl_read, NULL, ctl_event, s);
	bufferevent_enable(s->bev, EV_READ);
	if (bufferevent_socket_connect(s->bev, (struct sockaddr *)&g.pop_ctl,
		(int)g.pop_ctl_len) == -1)
		site_fail(s, "connect: %s", strerror(errno));
}

/* Up to `concurrency` handshakes at once, up to the stage's target. */
static unsigned target;

static void
connect_more(void)
{
	while (g.nconnecting < g.concurrency && g.next_connect < target &&
	    g.nfailed == 0)
		site_connect(&g.sites[g.next_connect++]);
}

/* ------------------------------------------------------------ data */

static size_t
udp4(uint8_t *p, const uint8_t src[4], uint16_t sport, const uint8_t dst[4],
    uint16_t dport, size_t paylen)
{
	size_t   len = 28 + paylen, i;
	uint32_t sum = 0;

	memset(p, 0, 28);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[6] = 0x40; /* DF */
	p[8] = 64;
	p[9] = 17;
	memcpy(p + 12, src, 4);
	memcpy(p + 16, dst, 4);
	for (i = 0; i < 20; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	p[10] = (uint8_t)(~sum >> 8);
	p[11] = (uint8_t)~sum;
	p[20] = (uint8_t)(sport >> 8);
	p[21] = (uint8_t)sport;
	p[22] = (uint8_t)(dport >> 8);
	p[23] = (uint8_t)dport;
	p[24] = (uint8_t)((8 + paylen) >> 8);
	p[25] = (uint8_t)(8 + paylen);
	/* UDP checksum 0: none (RFC 768), which IPv4 allows. */
	memset(p + 28, 0xa5, paylen);
	return len;
}

/* A datagram from popd on a site's socket: open it with that site's
 * keys. */
static void
data_dgram(const struct udpio_dgram *d)
{
	struct wire_hdr hdr;
	struct site    *s;
	uint8_t         inner[2048];
	int             n;

	if (wire_hdr_decode(d->data, d->len, &hdr) != WIRE_OK ||
	    (s = site_by_session(hdr.session)) == NULL || s->tun == NULL ||
	    s->stream) {
		g.no_session++;
		return;
	}
	n = tunnel_open(
	    s->tun, &g.evq, &hdr, d->data, d->len, inner, sizeof(inner));
	if (n < 0) {
		if (n == TUNNEL_ERR_REPLAY)
			g.open_replay++;
		else if (n == TUNNEL_ERR_AUTH)
			g.open_auth++;
		else
			g.open_other++;
		return;
	}
	if (hdr.type == WIRE_PROBE_REPLY) {
		s->probe_replies++;
		return;
	}
	if (hdr.type != WIRE_DATA)
		return;
	/* Return traffic must be for this site's LAN: popd found the site
	 * by destination. */
	if (n >= 20 && (inner[0] >> 4) == 4 &&
	    memcmp(inner + 16, s->lan, 3) == 0)
		g.t.down_ok++;
	else
		g.t.down_bad++;
}

static void
kick_pumps(void)
{
	if (g.t.up_on)
		event_active(g.up_pump, EV_TIMEOUT, 0);
	if (g.t.down_on)
		event_active(g.down_pump, EV_TIMEOUT, 0);
}

static void
data_read(evutil_socket_t fd, short what, void *arg)
{
	struct udpio      *io = arg;
	struct udpio_dgram d;
	int                i;

	(void)fd;
	(void)what;
	for (i = 0; i < 8 && udpio_recv(io) > 0; i++)
		while (udpio_next(io, &d))
			data_dgram(&d);
	drain_evq();
	kick_pumps();
}

static void
sink_read(evutil_socket_t fd, short what, void *arg)
{
	struct udpio_dgram d;
	int                i;

	(void)fd;
	(void)what;
	(void)arg;
	for (i = 0; i < 8 && udpio_recv(g.sink_io) > 0; i++)
		while (udpio_next(g.sink_io, &d))
			g.t.up_sunk++;
	kick_pumps();
}

static struct site *
next_up(size_t *rr)
{
	unsigned i;

	for (i = 0; i < g.nsites; i++) {
		struct site *s = &g.sites[(*rr)++ % g.nsites];

		if (s->state == S_UP && !s->stream)
			return s;
	}
	return NULL;
}

/* Sealed data from the sites, round robin, to the sink in popd's
 * namespace; no more than win_up of them unaccounted for. */
static void
up_pump(evutil_socket_t fd, short what, void *arg)
{
	uint8_t      inner[2048];
	struct site *s;
	unsigned     i, k;
	uint8_t      src[4];
	size_t       len;
	uint8_t      dst[4];
	int          n;

	(void)fd;
	(void)what;
	(void)arg;
	memcpy(dst, g.sink_addr.a, 4);
	for (i = 0; i < PUMP_BATCH && g.t.up_on &&
	     g.t.up_sent - g.t.up_sunk - g.t.up_lost < g.win_up;
	     i++) {
		if ((s = next_up(&g.t.rr_up)) == NULL)
			break;
		memcpy(src, s->lan, 4);
		src[3] = 1;
		len = udp4(inner, src, 7, dst, g.sink_port, g.payload);
		n = tunnel_seal_udp(s->tun, &g.evq, &g.drops,
		    g.data_io[s->sock], WIRE_DATA, 0, inner, len,
		    (struct sockaddr *)&g.pop_data, g.pop_data_len);
		if (n < 0)
			g.t.up_seal_fail++;
		else
			g.t.up_sent++;
	}
	for (k = 0; k < DATA_SOCKS; k++)
		(void)udpio_send(g.data_io[k]);
	drain_evq();
	if (g.t.up_on && i == PUMP_BATCH)
		event_active(g.up_pump, EV_TIMEOUT, 0);
}

/* Return traffic into popd's TUN device: to each site's LAN in turn (one
 * flow per site), or in the flows phase flow after flow (each a new
 * 5-tuple), no more than win_down unaccounted for. */
static void
down_pump(evutil_socket_t fd, short what, void *arg)
{
	uint8_t            payload[2048];
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct site       *s;
	unsigned           i;
	uint64_t           k;

	(void)fd;
	(void)what;
	(void)arg;
	memset(payload, 0x5a, g.payload);
	for (i = 0; i < PUMP_BATCH && g.t.down_on &&
	     g.t.down_sent - g.t.down_ok - g.t.down_bad - g.t.down_lost <
		 g.win_down;
	     i++) {
		if (g.t.flows_mode) {
			if (g.t.flows_next >= g.t.flows_total) {
				g.t.down_on = 0;
				break;
			}
			/* Flow j: site j % N, the k-th of that site's:
			 * host 1..250, then the next destination port. */
			s = &g.sites[g.t.flows_next % g.nsites];
			k = g.t.flows_next / g.nsites;
			g.t.flows_next++;
			if (s->stream) {
				/* the stream's: the flow goes to the next */
				g.t.flows_total++;
				continue;
			}
			if (s->state != S_UP)
				continue;
			memcpy(&sin.sin_addr, s->lan, 4);
			((uint8_t *)&sin.sin_addr)[3] = (uint8_t)(1 + k % 250);
			sin.sin_port = htons((uint16_t)(1024 + k / 250));
		} else {
			if ((s = next_up(&g.t.rr_down)) == NULL)
				break;
			memcpy(&sin.sin_addr, s->lan, 4);
			((uint8_t *)&sin.sin_addr)[3] = 1;
			sin.sin_port = htons(7);
		}
		if (udpio_queue(g.inject_io, payload, g.payload,
			(struct sockaddr *)&sin, sizeof(sin)) == -1) {
			(void)udpio_send(g.inject_io);
			if (udpio_queue(g.inject_io, payload, g.payload,
				(struct sockaddr *)&sin, sizeof(sin)) == -1)
				break;
		}
		g.t.down_sent++;
	}
	(void)udpio_send(g.inject_io);
	if (g.t.down_on && i == PUMP_BATCH)
		event_active(g.down_pump, EV_TIMEOUT, 0);
}

/* ------------------------------------------------------------ the tick */

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	uint64_t now = now_ms(), nowu = now_us();
	uint8_t *frame;
	size_t   len;
	unsigned i, k;

	(void)fd;
	(void)what;
	(void)arg;
	if (popd_ticks() < 0)
		g.popd_gone = 1;
	for (i = 0; i < g.next_connect; i++) {
		struct site *s = &g.sites[i];

		if (s->state == S_CONNECTING &&
		    nowu - s->t_start_us > (uint64_t)HS_TIMEOUT_MS * 1000)
			site_fail(
			    s, "no WELCOME within %d s", HS_TIMEOUT_MS / 1000);
		if (s->state != S_UP)
			continue;
		if (now >= s->next_ka_ms) {
			if (ctlmsg_encode_keepalive(&frame, &len) == 0)
				send_frame(s, frame, len);
			s->next_ka_ms = now + KEEPALIVE_MS;
		}
		if (now >= s->next_probe_ms && !s->stream) {
			send_probe(s, now);
			s->next_probe_ms += g.probe_ms;
			if (s->next_probe_ms <= now)
				s->next_probe_ms = now + g.probe_ms;
		}
	}
	for (k = 0; k < DATA_SOCKS; k++)
		(void)udpio_send(g.data_io[k]);
	drain_evq();
	/* A window that stopped moving: what is out is lost (a full
	 * queue somewhere), so the pump can go on. */
	if (g.t.up_sunk != g.t.up_last_sunk) {
		g.t.up_last_sunk = g.t.up_sunk;
		g.t.up_last_ms = now;
	} else if (now - g.t.up_last_ms > STALL_MS) {
		if (g.t.up_sent - g.t.up_sunk > g.t.up_lost)
			g.t.up_stalls++;
		g.t.up_lost = g.t.up_sent - g.t.up_sunk;
		g.t.up_last_ms = now;
	}
	if (g.t.down_ok + g.t.down_bad != g.t.down_last_ok) {
		g.t.down_last_ok = g.t.down_ok + g.t.down_bad;
		g.t.down_last_ms = now;
	} else if (now - g.t.down_last_ms > STALL_MS) {
		if (g.t.down_sent - g.t.down_ok - g.t.down_bad > g.t.down_lost)
			g.t.down_stalls++;
		g.t.down_lost = g.t.down_sent - g.t.down_ok - g.t.down_bad;
		g.t.down_last_ms = now;
	}
	kick_pumps();
	connect_more();
}

/* Runs the loop for ms, or until done() says so (if given). */
static void
run_for(uint64_t ms, int (*done)(void))
{
	uint64_t end = now_ms() + ms;

	while (now_ms() < end && !g.popd_gone && (done == NULL || !done()))
		event_base_loop(g.base, EVLOOP_ONCE);
}

/* ------------------------------------------------------------ sockets */

static int
udp_socket(const struct sockaddr *sa, socklen_t len)
{
	int fd;

	if ((fd = socket(sa->sa_family,
		 SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, sa, len) == -1)
		die("UDP socket: %s", strerror(errno));
	(void)udpio_bufsize(fd, 16 * 1024 * 1024, NULL, NULL);
	return fd;
}

static struct event *
read_event(int fd, event_callback_fn cb, void *arg)
{
	struct event *ev;

	if ((ev = event_new(g.base, fd, EV_READ | EV_PERSIST, cb, arg)) ==
		NULL ||
	    event_priority_set(ev, 0) == -1 || event_add(ev, NULL) == -1)
		die("event");
	return ev;
}

/* The sink and the injector live in popd's namespace: opened there,
 * they stay there (a socket keeps the namespace it was made in). */
static void
pop_sockets(void)
{
	struct sockaddr_storage ss;
	socklen_t               len;
	int                     self, pop;

	if ((self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) == -1 ||
	    (pop = open(g.pop_netns, O_RDONLY | O_CLOEXEC)) == -1)
		die("%s: %s", g.pop_netns, strerror(errno));
	if (setns(pop, CLONE_NEWNET) == -1)
		die("setns %s: %s", g.pop_netns, strerror(errno));
	len = addr_to_sockaddr(&g.sink_addr, g.sink_port, &ss);
	g.sink_fd = udp_socket((struct sockaddr *)&ss, len);
	len = addr_to_sockaddr(&g.sink_addr, 0, &ss);
	g.inject_fd = udp_socket((struct sockaddr *)&ss, len);
	len = addr_to_sockaddr(&g.sink_addr, STREAM_PORT, &ss);
	g.stream_sink_fd = udp_socket((struct sockaddr *)&ss, len);
	len = addr_to_sockaddr(&g.sink_addr, 0, &ss);
	g.stream_inject_fd = udp_socket((struct sockaddr *)&ss, len);
	len = addr_to_sockaddr(&g.pop_addr, STREAM_PORT + 1, &ss);
	g.raw_rx_fd = udp_socket((struct sockaddr *)&ss, len);
	if (setns(self, CLONE_NEWNET) == -1)
		die("setns back: %s", strerror(errno));
	close(self);
	close(pop);
}

static void
open_sockets(void)
{
	struct udpio_conf uc = {.batch = 64, .flags = UDPIO_NO_GRO};
	unsigned          k;

	for (k = 0; k < DATA_SOCKS; k++) {
		g.data_fd[k] =
		    udp_socket((struct sockaddr *)&g.local, g.local_len);
		if ((g.data_io[k] = udpio_new(g.data_fd[k], &uc)) == NULL)
			die("udpio: %s", strerror(errno));
		g.data_ev[k] =
		    read_event(g.data_fd[k], data_read, g.data_io[k]);
	}
	pop_sockets();
	if ((g.sink_io = udpio_new(g.sink_fd, &uc)) == NULL ||
	    (g.inject_io = udpio_new(g.inject_fd, &uc)) == NULL)
		die("udpio: %s", strerror(errno));
	g.sink_ev = read_event(g.sink_fd, sink_read, NULL);
}

/* ------------------------------------------------------------ the stream */

/*
 * A steady stream through popd while the ramp connects sites, to measure
 * how long connecting sites stalls the packets of sites already up.  The
 * first --stream-sites sites (connected before the first stage) are the
 * stream thread's alone from then on: their tunnels, a data socket each,
 * a sink (STREAM_PORT) and an injector in popd's namespace.  Every
 * --stream-us it sends, for each, one datagram up (sealed, through popd
 * into its TUN device, on to the sink) and one down (into popd's TUN
 * device, sealed by popd to the site's socket).  A datagram carries its
 * send time; the gap is the time between two arrivals of one site's
 * stream in one direction, taken from the kernel's receive timestamps
 * (SO_TIMESTAMPNS), so this thread's own lateness in reading does not
 * count; its lateness in sending does, and is reported beside
 * ("send_gap_max_ms").  A thread of its own, so that the generator's
 * loop, busy with handshakes, does not delay the stream.  Beside it, the
 * same datagrams go plain from this namespace to a socket on popd's side
 * of the veth ("raw"): the path without popd, whose gaps at the same
 * time are what the machine (scheduler, softirqs) did to any packet.
 */
struct gapstat {
	uint64_t n, sent, recv, max_us, delay_max_us;
	uint64_t max_wait_us; /* popd runnable, not running, in that gap */
	uint32_t hist[STREAM_HIST + 1];
};

struct arrival {
	uint64_t t_us;
	uint32_t gap_us;
	uint8_t  dir; /* 0 up, 1 down, 2 raw */
};

static struct {
	pthread_t       th;
	pthread_mutex_t mu;
	int             run, started, paused, fifo;
	unsigned        n;
	struct site    *site[STREAM_MAX];
	int             fd[STREAM_MAX];
	struct udpio   *io[STREAM_MAX];
	uint64_t        last[3][STREAM_MAX]; /* last arrival, per direction */
	/* popd's run_delay (ns) at each last arrival: how much of a gap
	 * popd spent waiting for a CPU (/proc/PID/schedstat) */
	uint64_t last_wait[3][STREAM_MAX];
	int      schedstat_fd;
	/* under mu: the window's figures and the recent arrivals */
	struct gapstat  w[3];
	uint64_t        send_gap_max_us;
	struct arrival *ring;
	uint64_t        nring;
} sm = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void
stream_payload(uint8_t *p, unsigned k, uint64_t seq)
{
	uint64_t t = now_rt_us();
	uint32_t v[6] = {htonl(STREAM_MAGIC), htonl(k),
	    htonl((uint32_t)(seq >> 32)), htonl((uint32_t)seq),
	    htonl((uint32_t)(t >> 32)), htonl((uint32_t)t)};

	memcpy(p, v, sizeof(v));
}

/* popd's run_delay in ns so far, or 0. */
static uint64_t
popd_wait_ns(void)
{
	char               buf[128];
	unsigned long long run, wait;
	ssize_t            n;

	if (sm.schedstat_fd < 0 ||
	    (n = pread(sm.schedstat_fd, buf, sizeof(buf) - 1, 0)) <= 0)
		return 0;
	buf[n] = '\0';
	return sscanf(buf, "%llu %llu", &run, &wait) == 2 ? wait : 0;
}

/* One arrival of stream k's datagram in direction dir at t (payload p of
 * len bytes). */
static void
stream_arrival(int dir, const uint8_t *p, size_t len, uint64_t t)
{
	uint32_t        v[6];
	unsigned        k;
	uint64_t        sent, gap = 0, wait, gwait;
	struct gapstat *w = &sm.w[dir];

	if (len < sizeof(v))
		return;
	memcpy(v, p, sizeof(v));
	if (ntohl(v[0]) != STREAM_MAGIC || (k = ntohl(v[1])) >= sm.n)
		return;
	sent = (uint64_t)ntohl(v[4]) << 32 | ntohl(v[5]);
	wait = dir < 2 ? popd_wait_ns() : 0;
	if (sm.last[dir][k] != 0 && t > sm.last[dir][k])
		gap = t - sm.last[dir][k];
	gwait = sm.last[dir][k] != 0 && wait > sm.last_wait[dir][k]
	    ? (wait - sm.last_wait[dir][k]) / 1000
	    : 0;
	sm.last[dir][k] = t;
	sm.last_wait[dir][k] = wait;
	pthread_mutex_lock(&sm.mu);
	w->recv++;
	if (gap > 0) {
		w->n++;
		w->hist[gap / STREAM_STEP_US < STREAM_HIST
			? gap / STREAM_STEP_US
			: STREAM_HIST]++;
		if (gap > w->max_us) {
			w->max_us = gap;
			w->max_wait_us = gwait;
		}
		sm.ring[sm.nring++ % STREAM_RING] =
		    (struct arrival){t, (uint32_t)gap, (uint8_t)dir};
	}
	if (t > sent && t - sent > w->delay_max_us)
		w->delay_max_us = t - sent;
	pthread_mutex_unlock(&sm.mu);
}

/* The kernel's receive time of msg, or now. */
static uint64_t
rx_time(struct msghdr *msg)
{
	struct cmsghdr *c;
	struct timespec ts;

	for (c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c))
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_TIMESTAMPNS) {
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			return (uint64_t)ts.tv_sec * 1000000 +
			    (uint64_t)ts.tv_nsec / 1000;
		}
	return now_rt_us();
}

/* Everything waiting on fd: the sink's plain datagrams (up), or a
 * stream site's sealed ones (down, site k). */
static void
stream_drain(int fd, int k, struct tunnel_evq *q)
{
	uint8_t         buf[2048], inner[2048];
	char            cbuf[CMSG_SPACE(sizeof(struct timespec))];
	struct iovec    iov = {buf, sizeof(buf)};
	struct msghdr   msg;
	struct wire_hdr hdr;
	ssize_t         n;
	int             m, i;

	for (i = 0; i < 256; i++) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		if ((n = recvmsg(fd, &msg, MSG_DONTWAIT)) <= 0)
			return;
		if (k < 0) {
			stream_arrival(
			    k == -1 ? 0 : 2, buf, (size_t)n, rx_time(&msg));
			continue;
		}
		if (wire_hdr_decode(buf, (size_t)n, &hdr) != WIRE_OK ||
		    hdr.type != WIRE_DATA || hdr.session != sm.site[k]->session)
			continue;
		m = tunnel_open(sm.site[k]->tun, q, &hdr, buf, (size_t)n, inner,
		    sizeof(inner));
		if (m >= 28 && (inner[0] >> 4) == 4)
			stream_arrival(
			    1, inner + 28, (size_t)m - 28, rx_time(&msg));
	}
}

/* Probes for the stream's sites at WELCOME's interval, paused or not, as
 * a Socket sends them: popd takes a link that hears nothing down, and
 * only probes bring it back up. */
static void
stream_probes(struct tunnel_evq *q, struct tunnel_drops *drops, uint64_t *next)
{
	uint64_t now = now_ms();
	uint8_t  p[PROBE_LEN];
	unsigned k;

	if (now < *next)
		return;
	*next = now + g.probe_ms;
	for (k = 0; k < sm.n; k++) {
		struct probe pr = {sm.site[k]->probe_seq++, now};

		(void)probe_encode(&pr, p, sizeof(p));
		(void)tunnel_seal_udp(sm.site[k]->tun, q, drops, sm.io[k],
		    WIRE_PROBE, 0, p, sizeof(p), (struct sockaddr *)&g.pop_data,
		    g.pop_data_len);
		(void)udpio_send(sm.io[k]);
	}
}

static void *
stream_main(void *arg)
{
	struct tunnel_evq   q;
	struct tunnel_drops drops;
	struct pollfd       pfd[STREAM_MAX + 2];
	struct sockaddr_in  to = {.sin_family = AF_INET};
	struct sockaddr_in  raw = {.sin_family = AF_INET};
	struct timespec     tmo;
	uint8_t             inner[2048], src[4], *payload;
	uint64_t            next = now_rt_us(), now, last_send = 0, seq = 0;
	uint64_t            next_probe = 0;
	size_t              len;
	unsigned            k;

	(void)arg;
	tunnel_evq_init(&q);
	memset(&drops, 0, sizeof(drops));
	pfd[0].fd = g.stream_sink_fd;
	pfd[0].events = POLLIN;
	for (k = 0; k < sm.n; k++) {
		pfd[k + 1].fd = sm.fd[k];
		pfd[k + 1].events = POLLIN;
	}
	pfd[sm.n + 1].fd = g.raw_rx_fd;
	pfd[sm.n + 1].events = POLLIN;
	memcpy(&raw.sin_addr, g.pop_addr.a, 4);
	raw.sin_port = htons(STREAM_PORT + 1);
	while (__atomic_load_n(&sm.run, __ATOMIC_RELAXED)) {
		stream_probes(&q, &drops, &next_probe);
		if (__atomic_load_n(&sm.paused, __ATOMIC_RELAXED)) {
			/* The next gap starts from the next arrival. */
			memset(sm.last, 0, sizeof(sm.last));
			last_send = 0;
			tmo.tv_sec = 0;
			tmo.tv_nsec = 1000000;
			(void)ppoll(pfd, sm.n + 2, &tmo, NULL);
			stream_drain(pfd[0].fd, -1, &q);
			for (k = 0; k < sm.n; k++)
				stream_drain(pfd[k + 1].fd, (int)k, &q);
			stream_drain(g.raw_rx_fd, -2, &q);
			memset(sm.last, 0, sizeof(sm.last));
			next = now_rt_us();
			continue;
		}
		now = now_rt_us();
		if (now >= next) {
			for (k = 0; k < sm.n; k++) {
				struct site *s = sm.site[k];

				memcpy(src, s->lan, 4);
				src[3] = 1;
				len = udp4(inner, src, 7, g.sink_addr.a,
				    STREAM_PORT, g.payload);
				stream_payload(inner + 28, k, seq);
				(void)tunnel_seal_udp(s->tun, &q, &drops,
				    sm.io[k], WIRE_DATA, 0, inner, len,
				    (struct sockaddr *)&g.pop_data,
				    g.pop_data_len);
				(void)udpio_send(sm.io[k]);
				payload = inner + 28;
				stream_payload(payload, k, seq);
				memcpy(&to.sin_addr, s->lan, 4);
				((uint8_t *)&to.sin_addr)[3] = 2;
				to.sin_port = htons(7);
				(void)sendto(g.stream_inject_fd, payload,
				    g.payload, 0, (struct sockaddr *)&to,
				    sizeof(to));
			}
			stream_payload(inner, 0, seq);
			(void)sendto(g.raw_tx_fd, inner, g.payload, 0,
			    (struct sockaddr *)&raw, sizeof(raw));
			seq++;
			pthread_mutex_lock(&sm.mu);
			sm.w[0].sent += sm.n;
			sm.w[1].sent += sm.n;
			sm.w[2].sent++;
			if (last_send != 0 &&
			    now - last_send > sm.send_gap_max_us)
				sm.send_gap_max_us = now - last_send;
			pthread_mutex_unlock(&sm.mu);
			last_send = now;
			next += g.stream_us;
			if (next <= now) /* late: no burst to catch up */
				next = now + g.stream_us;
			while (tunnel_evq_pop(&q, &(struct tunnel_ev){0}))
				;
		}
		now = now_rt_us();
		tmo.tv_sec = 0;
		tmo.tv_nsec = next > now ? (long)(next - now) * 1000 : 0;
		if (ppoll(pfd, sm.n + 2, &tmo, NULL) <= 0)
			continue;
		if (pfd[0].revents & POLLIN)
			stream_drain(pfd[0].fd, -1, &q);
		for (k = 0; k < sm.n; k++)
			if (pfd[k + 1].revents & POLLIN)
				stream_drain(pfd[k + 1].fd, (int)k, &q);
		if (pfd[sm.n + 1].revents & POLLIN)
			stream_drain(g.raw_rx_fd, -2, &q);
	}
	return NULL;
}

static int
stream_all_up(void)
{
	return g.nfailed > 0 || (g.nup >= g.stream_sites && g.nconnecting == 0);
}

/* The stream's sites up (before the first stage), then its thread. 0, or
 * -1 with g.error. */
static int
stream_start(void)
{
	struct udpio_conf uc = {.batch = 8, .flags = UDPIO_NO_GRO};
	int               on = 1;
	unsigned          k;

	if (g.stream_sites == 0)
		return 0;
	for (k = 0; k < g.stream_sites; k++)
		g.sites[k].stream = 1;
	target = g.stream_sites;
	connect_more();
	run_for(UINT64_C(120) * 1000, stream_all_up);
	if (g.nup < g.stream_sites) {
		snprintf(g.error, sizeof(g.error),
		    "the stream's %u sites did not connect: %s", g.stream_sites,
		    g.sites[0].why);
		return -1;
	}
	if ((sm.ring = calloc(STREAM_RING, sizeof(*sm.ring))) == NULL)
		die("out of memory");
	{
		char path[64];

		snprintf(
		    path, sizeof(path), "/proc/%d/schedstat", (int)g.popd_pid);
		sm.schedstat_fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (setsockopt(g.stream_sink_fd, SOL_SOCKET, SO_TIMESTAMPNS, &on,
		sizeof(on)) == -1 ||
	    setsockopt(
		g.raw_rx_fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) == -1)
		die("SO_TIMESTAMPNS: %s", strerror(errno));
	g.raw_tx_fd = udp_socket((struct sockaddr *)&g.local, g.local_len);
	sm.n = g.stream_sites;
	for (k = 0; k < sm.n; k++) {
		sm.site[k] = &g.sites[k];
		sm.fd[k] = udp_socket((struct sockaddr *)&g.local, g.local_len);
		if (setsockopt(sm.fd[k], SOL_SOCKET, SO_TIMESTAMPNS, &on,
			sizeof(on)) == -1 ||
		    (sm.io[k] = udpio_new(sm.fd[k], &uc)) == NULL)
			die("stream socket: %s", strerror(errno));
	}
	sm.run = 1;
	if (pthread_create(&sm.th, NULL, stream_main, NULL) != 0)
		die("stream thread");
	/* Ahead of the generator's own loop (which is busy with the
	 * handshakes) when root may: the stream measures popd, not how
	 * this process shares two cores.  It sleeps between datagrams. */
	{
		struct sched_param sp = {.sched_priority = 20};

		sm.fifo = pthread_setschedparam(sm.th, SCHED_FIFO, &sp) == 0;
	}
	sm.started = 1;
	note("stream: %u sites, a datagram each way every %u us%s", sm.n,
	    g.stream_us, sm.fifo ? " (SCHED_FIFO)" : "");
	return 0;
}

/* Paused while popd's idle cost and the traffic are measured, which the
 * stream would add to. */
static void
stream_pause(int on)
{
	if (sm.started)
		__atomic_store_n(&sm.paused, on, __ATOMIC_RELAXED);
}

static void
stream_stop(void)
{
	if (!sm.started)
		return;
	__atomic_store_n(&sm.run, 0, __ATOMIC_RELAXED);
	pthread_join(sm.th, NULL);
	sm.started = 0;
}

/* The gap below which a share p of the window's gaps lie, in ms (the
 * histogram's step; the largest if it is past the histogram). */
static double
gap_quantile(const struct gapstat *w, double p)
{
	uint64_t need = (uint64_t)((double)w->n * p + 0.999999), c = 0;
	unsigned i;

	if (w->n == 0)
		return -1;
	for (i = 0; i < STREAM_HIST; i++)
		if ((c += w->hist[i]) >= need)
			return (double)(i + 1) * STREAM_STEP_US / 1e3;
	return (double)w->max_us / 1e3;
}

static json_t *
gap_json(const struct gapstat *w)
{
	return json_pack("{s:I,s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:f}", "sent",
	    (json_int_t)w->sent, "received", (json_int_t)w->recv, "gaps",
	    (json_int_t)w->n, "max_ms", w->n ? (double)w->max_us / 1e3 : -1.0,
	    "p999_ms", gap_quantile(w, 0.999), "p99_ms", gap_quantile(w, 0.99),
	    "median_ms", gap_quantile(w, 0.5), "delay_max_ms",
	    (double)w->delay_max_us / 1e3, "max_popd_wait_ms",
	    (double)w->max_wait_us / 1e3);
}

/* The stream's figures since the last call (which starts a window), as
 * JSON, or NULL without a stream; max_ms is the larger direction's. */
static json_t *
stream_take(double *max_ms)
{
	json_t *o;

	if (!sm.started)
		return NULL;
	pthread_mutex_lock(&sm.mu);
	o = json_pack("{s:o,s:o,s:o,s:f}", "up", gap_json(&sm.w[0]), "down",
	    gap_json(&sm.w[1]), "raw", gap_json(&sm.w[2]), "send_gap_max_ms",
	    (double)sm.send_gap_max_us / 1e3);
	if (max_ms != NULL)
		*max_ms =
		    (double)(sm.w[0].max_us > sm.w[1].max_us ? sm.w[0].max_us
							     : sm.w[1].max_us) /
		    1e3;
	memset(sm.w, 0, sizeof(sm.w));
	sm.send_gap_max_us = 0;
	pthread_mutex_unlock(&sm.mu);
	return o;
}

/* The longest gap of each direction that overlaps [t0, t1] (CLOCK_REALTIME
 * us), from the arrivals kept: what a connect in that time cost the
 * stream. */
static json_t *
stream_around(uint64_t t0, uint64_t t1)
{
	uint64_t max[3] = {0, 0, 0}, n[3] = {0, 0, 0}, i, from;
	json_t  *o;

	if (!sm.started)
		return NULL;
	pthread_mutex_lock(&sm.mu);
	from = sm.nring > STREAM_RING ? sm.nring - STREAM_RING : 0;
	for (i = from; i < sm.nring; i++) {
		const struct arrival *a = &sm.ring[i % STREAM_RING];

		if (a->t_us < t0 || a->t_us - a->gap_us > t1)
			continue;
		n[a->dir]++;
		if (a->gap_us > max[a->dir])
			max[a->dir] = a->gap_us;
	}
	pthread_mutex_unlock(&sm.mu);
	o = json_pack("{s:f,s:f,s:f,s:I,s:I,s:f}", "up_max_ms",
	    n[0] ? (double)max[0] / 1e3 : -1.0, "down_max_ms",
	    n[1] ? (double)max[1] / 1e3 : -1.0, "raw_max_ms",
	    n[2] ? (double)max[2] / 1e3 : -1.0, "up_arrivals", (json_int_t)n[0],
	    "down_arrivals", (json_int_t)n[1], "window_ms",
	    (double)(t1 - t0) / 1e3);
	return o;
}

/* ------------------------------------------------------------ phases */

static int
stage_done(void)
{
	return g.nfailed > 0 || (g.nup >= target && g.nconnecting == 0);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double
ticks_s(long long t)
{
	return (double)t / (double)g.clk;
}

static long rss0;

/* Popd's state as its control socket says: sessions, connected, flows. */
static void
add_status(json_t *o)
{
	json_t *st = popd_query(CTLSOCK_STATUS);

	json_object_set_new(
	    o, "popd_sessions", json_integer(json_int(st, "sessions")));
	json_object_set_new(
	    o, "popd_connected", json_integer(json_int(st, "connected")));
	json_object_set_new(
	    o, "popd_flows", json_integer(json_int(st, "flows")));
	json_decref(st);
}

/* One stage of the ramp: sites up to n, then idle.  0, or -1. */
static int
stage(unsigned n, json_t *out)
{
	json_t   *o = json_object(), *sj;
	uint64_t  t0, t1, *hs, replies0 = 0, replies1 = 0;
	long long c0, c1, c2, w0, w1;
	unsigned  first = g.next_connect, i, m;
	long      rss;
	double    secs, idle, gap = -1;

	target = n;
	note("stage %u sites: connecting %u more, %u at a time", n, n - first,
	    g.concurrency);
	stream_pause(0);
	run_for(50, NULL); /* the stream flowing again before the first */
	json_decref(stream_take(NULL));
	c0 = popd_ticks();
	w0 = popd_run_delay_ns();
	t0 = now_us();
	connect_more();
	run_for(UINT64_C(3600) * 1000, stage_done);
	t1 = now_us();
	c1 = popd_ticks();
	w1 = popd_run_delay_ns();
	/* The stream while this stage's sites connected. */
	if ((sj = stream_take(&gap)) != NULL)
		json_object_set_new(o, "stream", sj);
	json_array_append_new(out, o);
	json_object_set_new(o, "sites", json_integer(n));
	json_object_set_new(o, "connected", json_integer(g.nup));
	if (g.popd_gone || g.nfailed > 0 || g.nup < n) {
		for (i = 0; i < g.nsites && g.sites[i].state != S_FAILED; i++)
			;
		snprintf(g.error, sizeof(g.error),
		    "stage %u: %u of %u sites connected; %s%s%s", n, g.nup, n,
		    g.popd_gone ? "popd exited" : "",
		    i < g.nsites ? (g.popd_gone ? "; " : "") : "",
		    i < g.nsites ? g.sites[i].why : "");
		if (i < g.nsites)
			json_object_set_new(o, "first_failure",
			    json_pack("{s:s,s:s}", "site", g.sites[i].name,
				"reason", g.sites[i].why));
		json_object_set_new(o, "failed", json_integer(g.nfailed));
		rss = popd_rss_kib();
		json_object_set_new(o, "rss_kib", json_integer(rss));
		add_status(o);
		return -1;
	}
	secs = (double)(t1 - t0) / 1e6;
	m = n - first;
	hs = calloc(m ? m : 1, sizeof(*hs));
	for (i = 0; i < m; i++)
		hs[i] = g.sites[first + i].hs_us;
	qsort(hs, m, sizeof(*hs), cmp_u64);
	json_object_set_new(o, "new_sites", json_integer(m));
	json_object_set_new(o, "handshake_s", json_real(secs));
	json_object_set_new(
	    o, "handshakes_per_s", json_real(secs > 0 ? m / secs : 0));
	json_object_set_new(o, "handshake_ms",
	    json_pack("{s:f,s:f,s:f}", "median", hs[m / 2] / 1e3, "p99",
		hs[(size_t)m * 99 / 100] / 1e3, "max", hs[m - 1] / 1e3));
	free(hs);
	json_object_set_new(o, "popd_cpu_ms_per_handshake",
	    json_real(m ? ticks_s(c1 - c0) * 1e3 / m : 0));
	/* popd's share of the stage spent runnable but waiting for a CPU */
	json_object_set_new(o, "popd_run_wait_pct",
	    json_real(w0 >= 0 && w1 >= 0 && secs > 0
		    ? (double)(w1 - w0) / 1e9 / secs * 100
		    : -1));

	/* The stream around the stage's last site's connect (from its
	 * TCP connect to a little after its WELCOME). */
	run_for(100, NULL);
	if (m > 0 &&
	    (sj = stream_around(g.sites[n - 1].rt_start_us,
		 g.sites[n - 1].rt_up_us + 20000)) != NULL) {
		json_object_set_new(
		    sj, "site", json_string(g.sites[n - 1].name));
		json_object_set_new(o, "stream_last_connect", sj);
	}
	stream_pause(1);
	if (gap >= 0)
		note(
		    "stage %u sites: the stream's longest gap %.2f ms", n, gap);

	/* Idle: keepalives and probes only, all n sites connected. */
	run_for(g.settle_ms, NULL);
	for (i = 0; i < n; i++)
		replies0 += g.sites[i].probe_replies;
	c1 = popd_ticks();
	t0 = now_us();
	run_for((uint64_t)g.idle_s * 1000, NULL);
	c2 = popd_ticks();
	t1 = now_us();
	for (i = 0; i < n; i++)
		replies1 += g.sites[i].probe_replies;
	rss = popd_rss_kib();
	idle = (double)(t1 - t0) / 1e6;
	if (g.popd_gone || c2 < 0) {
		snprintf(g.error, sizeof(g.error),
		    "stage %u: popd exited while idle", n);
		return -1;
	}
	json_object_set_new(o, "rss_kib", json_integer(rss));
	json_object_set_new(
	    o, "rss_kib_per_site", json_real((double)(rss - rss0) / n));
	json_object_set_new(o, "idle_s", json_real(idle));
	json_object_set_new(
	    o, "idle_cpu_pct", json_real(ticks_s(c2 - c1) / idle * 100));
	json_object_set_new(o, "idle_cpu_us_per_s_per_site",
	    json_real(ticks_s(c2 - c1) / idle / n * 1e6));
	/* Every site's probes answered while idle: its session works. */
	json_object_set_new(o, "probe_replies_per_s",
	    json_real((double)(replies1 - replies0) / idle));
	add_status(o);
	note("stage %u sites: %.0f handshakes/s, popd RSS %ld KiB, idle CPU "
	     "%.1f%%",
	    n, secs > 0 ? m / secs : 0, rss, ticks_s(c2 - c1) / idle * 100);
	return g.nfailed > 0 ? -1 : 0;
}

static void
traffic_reset(void)
{
	memset(&g.t, 0, sizeof(g.t));
	g.t.up_last_ms = g.t.down_last_ms = now_ms();
}

/* Traffic for traffic_s seconds: up, down or both.  Figures counted in
 * the window only. */
static json_t *
traffic(int up, int down)
{
	json_t   *o = json_object();
	uint64_t  t0, t1, sunk0, ok0, sunk1, ok1, sent0, dsent0;
	uint64_t  ul0, dl0, us0, ds0;
	long long c0, c1, m0, m1;
	double    secs, self0, self1, others;

	traffic_reset();
	g.t.up_on = up;
	g.t.down_on = down;
	kick_pumps();
	/* A second to fill the pipes, then the window. */
	run_for(1000, NULL);
	sunk0 = g.t.up_sunk;
	ok0 = g.t.down_ok;
	sent0 = g.t.up_sent;
	dsent0 = g.t.down_sent;
	ul0 = g.t.up_lost;
	dl0 = g.t.down_lost;
	us0 = g.t.up_stalls;
	ds0 = g.t.down_stalls;
	c0 = popd_ticks();
	m0 = machine_busy_ticks();
	self0 = self_cpu_s();
	t0 = now_us();
	run_for((uint64_t)g.traffic_s * 1000, NULL);
	t1 = now_us();
	c1 = popd_ticks();
	m1 = machine_busy_ticks();
	self1 = self_cpu_s();
	sunk1 = g.t.up_sunk;
	ok1 = g.t.down_ok;
	secs = (double)(t1 - t0) / 1e6;
	g.t.up_on = g.t.down_on = 0;
	run_for(500, NULL);
	/* Lost: given up for lost after STALL_MS without progress (a full
	 * queue dropped them), which also stalls the window that long. */
	if (up)
		json_object_set_new(o, "up",
		    json_pack("{s:I,s:I,s:f,s:I,s:I}", "sent",
			(json_int_t)(g.t.up_sent - sent0), "delivered",
			(json_int_t)(sunk1 - sunk0), "pps",
			(double)(sunk1 - sunk0) / secs, "lost",
			(json_int_t)(g.t.up_lost - ul0), "stalls",
			(json_int_t)(g.t.up_stalls - us0)));
	if (down)
		json_object_set_new(o, "down",
		    json_pack("{s:I,s:I,s:f,s:I,s:I}", "injected",
			(json_int_t)(g.t.down_sent - dsent0), "opened",
			(json_int_t)(ok1 - ok0), "pps",
			(double)(ok1 - ok0) / secs, "lost",
			(json_int_t)(g.t.down_lost - dl0), "stalls",
			(json_int_t)(g.t.down_stalls - ds0)));
	json_object_set_new(
	    o, "pps", json_real((double)(sunk1 - sunk0 + ok1 - ok0) / secs));
	json_object_set_new(
	    o, "misrouted", json_integer((json_int_t)g.t.down_bad));
	json_object_set_new(o, "seconds", json_real(secs));
	json_object_set_new(o, "popd_cpu_pct",
	    json_real(c0 >= 0 && c1 >= 0 ? ticks_s(c1 - c0) / secs * 100 : -1));
	json_object_set_new(
	    o, "sitegen_cpu_pct", json_real((self1 - self0) / secs * 100));
	/* The machine's busy time less popd's and sitegen's: other work on
	 * a shared machine, and the kernel's softirq time that no process
	 * was charged with. */
	others = ticks_s(m1 - m0 - (c1 - c0)) - (self1 - self0);
	json_object_set_new(o, "others_cpu_pct",
	    json_real(m0 >= 0 && m1 >= 0 && c0 >= 0 && c1 >= 0
		    ? others / secs * 100
		    : -1));
	note("traffic%s%s: %.0f packets/s through popd, popd CPU %.0f%%",
	    up ? " up" : "", down ? " down" : "",
	    (double)(sunk1 - sunk0 + ok1 - ok0) / secs,
	    c0 >= 0 && c1 >= 0 ? ticks_s(c1 - c0) / secs * 100 : -1.0);
	return o;
}

static int
flows_done(void)
{
	return !g.t.down_on &&
	    g.t.down_sent == g.t.down_ok + g.t.down_bad + g.t.down_lost;
}

/* g.flows distinct 5-tuples into popd's TUN, spread over the sites:
 * each a flow of popd's; its RSS before and after. */
static json_t *
flows_phase(void)
{
	json_t  *o = json_object(), *st;
	long     rss_a, rss_b;
	uint64_t t0, t1;

	note("flows: %u distinct 5-tuples over %u sites", g.flows, g.nup);
	st = popd_query(CTLSOCK_STATUS);
	json_object_set_new(
	    o, "popd_flows_before", json_integer(json_int(st, "flows")));
	json_decref(st);
	rss_a = popd_rss_kib();
	traffic_reset();
	g.t.flows_mode = 1;
	g.t.flows_total = g.flows;
	g.t.down_on = 1;
	t0 = now_us();
	kick_pumps();
	run_for(UINT64_C(600) * 1000, flows_done);
	t1 = now_us();
	run_for(g.settle_ms, NULL);
	rss_b = popd_rss_kib();
	json_object_set_new(o, "flows", json_integer(g.flows));
	json_object_set_new(
	    o, "injected", json_integer((json_int_t)g.t.down_sent));
	json_object_set_new(
	    o, "returned", json_integer((json_int_t)g.t.down_ok));
	json_object_set_new(o, "seconds", json_real((double)(t1 - t0) / 1e6));
	json_object_set_new(o, "rss_before_kib", json_integer(rss_a));
	json_object_set_new(o, "rss_kib", json_integer(rss_b));
	st = popd_query(CTLSOCK_STATUS);
	json_object_set_new(
	    o, "popd_flows", json_integer(json_int(st, "flows")));
	json_decref(st);
	note("flows: %llu returned of %llu injected, popd holds %lld, RSS %ld "
	     "KiB",
	    (unsigned long long)g.t.down_ok, (unsigned long long)g.t.down_sent,
	    json_int(o, "popd_flows"), rss_b);
	g.t.flows_mode = 0;
	return o;
}

/* ------------------------------------------------------------ main */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: sitegen sites N\n"
	    "       sitegen run --ca FILE --ca-key FILE --cert FILE --key "
	    "FILE\n"
	    "           --pop ADDR --pop-identity NAME --local ADDR\n"
	    "           --pop-netns PATH --sink ADDR --popd-pid PID\n"
	    "           [--ctl SOCKET] [--stages N,N,...] [--concurrency N]\n"
	    "           [--idle-seconds N] [--seconds N] [--payload BYTES]\n"
	    "           [--flows N] [--control-port N] [--window-up N]\n"
	    "           [--window-down N] [--stream-sites N] [--stream-us "
	    "US]\n");
	exit(2);
}

static unsigned long
num(const char *s, unsigned long lo, unsigned long hi, const char *what)
{
	char         *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < lo || v > hi)
		die("%s: \"%s\" is not a number from %lu to %lu", what, s, lo,
		    hi);
	return v;
}

static void
print_sites(unsigned n)
{
	char     name[16], id[32];
	uint8_t  lan[4];
	unsigned i;

	printf("[");
	for (i = 0; i < n; i++) {
		site_names(i, name, sizeof(name), id, sizeof(id), lan);
		printf("%s\n {\"name\": \"%s\", \"identity\": \"%s\", "
		       "\"lan\": [\"%u.%u.%u.0/24\"]}",
		    i ? "," : "", name, id, lan[0], lan[1], lan[2]);
	}
	printf("]\n");
}

static void
parse_addr(const char *s, struct wp_addr *a, const char *what)
{
	if (addr_parse(s, a) == -1 || a->family != AF_INET)
		die("%s: \"%s\" is not an IPv4 address", what, s);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {{"ca", 1, NULL, 'a'},
	    {"ca-key", 1, NULL, 'A'}, {"cert", 1, NULL, 'c'},
	    {"key", 1, NULL, 'k'}, {"pop", 1, NULL, 'p'},
	    {"pop-identity", 1, NULL, 'i'}, {"local", 1, NULL, 'l'},
	    {"pop-netns", 1, NULL, 'n'}, {"sink", 1, NULL, 'S'},
	    {"popd-pid", 1, NULL, 'P'}, {"ctl", 1, NULL, 'C'},
	    {"stages", 1, NULL, 's'}, {"concurrency", 1, NULL, 'j'},
	    {"idle-seconds", 1, NULL, 'I'}, {"seconds", 1, NULL, 't'},
	    {"payload", 1, NULL, 'b'}, {"flows", 1, NULL, 'f'},
	    {"control-port", 1, NULL, 'o'}, {"window-up", 1, NULL, 'U'},
	    {"window-down", 1, NULL, 'D'}, {"stream-sites", 1, NULL, 'T'},
	    {"stream-us", 1, NULL, 'u'}, {NULL, 0, NULL, 0}};
	struct wp_addr             local;
	struct tls_files           tf;
	char                       err[TLS_ERRLEN], *tok, *save;
	json_t                    *out, *stages, *tr;
	unsigned                   ctl_port = 18461, i, k;
	double                     certs_s;
	int                        ch, rc = 0;
	uint32_t                   size;

	if (argc == 3 && strcmp(argv[1], "sites") == 0) {
		print_sites((unsigned)num(argv[2], 1, MAX_SITES, "sites"));
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "run") != 0)
		usage();
	argc--;
	argv++;
	g.concurrency = 64;
	g.idle_s = 5;
	g.traffic_s = 5;
	g.payload = 64;
	g.flows = 1000000;
	g.win_up = 2048;
	g.win_down = 128;
	g.settle_ms = 1000;
	g.stream_sites = 1;
	g.stream_us = 500;
	g.sink_port = 9;
	g.stages[0] = 100;
	g.stages[1] = 1000;
	g.stages[2] = 10000;
	g.nstages = 3;
	memset(&local, 0, sizeof(local));
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			g.ca = optarg;
			break;
		case 'A':
			g.ca_key = optarg;
			break;
		case 'c':
			g.cert = optarg;
			break;
		case 'k':
			g.key = optarg;
			break;
		case 'p':
			parse_addr(optarg, &g.pop_addr, "--pop");
			break;
		case 'i':
			g.pop_identity = optarg;
			break;
		case 'l':
			parse_addr(optarg, &local, "--local");
			break;
		case 'n':
			g.pop_netns = optarg;
			break;
		case 'S':
			parse_addr(optarg, &g.sink_addr, "--sink");
			break;
		case 'P':
			g.popd_pid =
			    (pid_t)num(optarg, 1, 1 << 22, "--popd-pid");
			break;
		case 'C':
			g.ctl_path = optarg;
			break;
		case 's':
			g.nstages = 0;
			for (tok = strtok_r(optarg, ",", &save); tok != NULL;
			     tok = strtok_r(NULL, ",", &save)) {
				if (g.nstages == 16)
					die("--stages: at most 16");
				g.stages[g.nstages] = (unsigned)num(
				    tok, 1, MAX_SITES, "--stages");
				if (g.nstages > 0 &&
				    g.stages[g.nstages] <=
					g.stages[g.nstages - 1])
					die("--stages must grow");
				g.nstages++;
			}
			break;
		case 'j':
			g.concurrency =
			    (unsigned)num(optarg, 1, 4096, "--concurrency");
			break;
		case 'I':
			g.idle_s =
			    (unsigned)num(optarg, 1, 600, "--idle-seconds");
			break;
		case 't':
			g.traffic_s =
			    (unsigned)num(optarg, 1, 600, "--seconds");
			break;
		case 'b':
			g.payload = (unsigned)num(optarg, 1, 1400, "--payload");
			break;
		case 'f':
			g.flows = (unsigned)num(optarg, 0, 64000000, "--flows");
			break;
		case 'U':
			g.win_up =
			    (unsigned)num(optarg, 1, 65536, "--window-up");
			break;
		case 'D':
			g.win_down =
			    (unsigned)num(optarg, 1, 65536, "--window-down");
			break;
		case 'T':
			g.stream_sites = (unsigned)num(
			    optarg, 0, STREAM_MAX, "--stream-sites");
			break;
		case 'u':
			g.stream_us =
			    (unsigned)num(optarg, 100, 100000, "--stream-us");
			break;
		case 'o':
			ctl_port =
			    (unsigned)num(optarg, 1, 65535, "--control-port");
			break;
		default:
			usage();
		}
	}
	if (g.ca == NULL || g.ca_key == NULL || g.cert == NULL ||
	    g.key == NULL || g.pop_addr.family == 0 || local.family == 0 ||
	    g.pop_identity == NULL || g.pop_netns == NULL ||
	    g.sink_addr.family == 0 || g.popd_pid == 0 || g.nstages == 0)
		usage();
	g.clk = sysconf(_SC_CLK_TCK);
	g.nsites = g.stages[g.nstages - 1];
	g.pop_ctl_len =
	    addr_to_sockaddr(&g.pop_addr, (uint16_t)ctl_port, &g.pop_ctl);
	g.local_len = addr_to_sockaddr(&local, 0, &g.local);

	if ((g.sites = calloc(g.nsites, sizeof(*g.sites))) == NULL)
		die("out of memory");
	for (size = 4; size < 2 * g.nsites; size <<= 1)
		;
	if ((g.by_session = calloc(size, sizeof(*g.by_session))) == NULL)
		die("out of memory");
	g.smask = size - 1;
	for (i = 0; i < g.nsites; i++) {
		g.sites[i].idx = i;
		g.sites[i].sock = i % DATA_SOCKS;
		site_names(i, g.sites[i].name, sizeof(g.sites[i].name),
		    g.sites[i].identity, sizeof(g.sites[i].identity),
		    g.sites[i].lan);
	}
	note("%u client certificates (P-256), signed by %s", g.nsites, g.ca);
	certs_s = make_certs();
	note("certificates made in %.1f s", certs_s);
	tf.ca = g.ca;
	tf.cert = g.cert;
	tf.key = g.key;
	if ((g.ctx = tls_ctx_new(0, &tf, err, sizeof(err))) == NULL)
		die("%s", err);

	if ((g.base = event_base_new()) == NULL ||
	    event_base_priority_init(g.base, 2) == -1)
		die("event base");
	tunnel_evq_init(&g.evq);
	open_sockets();
	if ((g.up_pump = event_new(g.base, -1, 0, up_pump, NULL)) == NULL ||
	    (g.down_pump = event_new(g.base, -1, 0, down_pump, NULL)) == NULL ||
	    event_priority_set(g.up_pump, 1) == -1 ||
	    event_priority_set(g.down_pump, 1) == -1 ||
	    (g.tick_ev = event_new(g.base, -1, EV_PERSIST, tick, NULL)) ==
		NULL ||
	    event_priority_set(g.tick_ev, 0) == -1)
		die("event");
	{
		/* Every 10 ms: probes go out in the tick that finds them
		 * due, so a coarser tick sends them in bursts (500 at
		 * 10,000 sites every 50 ms), which popd's one datagram loop
		 * serves in order and the stream waits behind; sites of
		 * their own probe at independent times. */
		struct timeval tv = {0, 10000};

		event_add(g.tick_ev, &tv);
	}
	traffic_reset();

	out = json_object();
	stages = json_array();
	json_object_set_new(out, "sites_max", json_integer(g.nsites));
	json_object_set_new(out, "certs_s", json_real(certs_s));
	json_object_set_new(out, "concurrency", json_integer(g.concurrency));
	json_object_set_new(out, "payload_bytes", json_integer(g.payload));
	/* what one entry of popd's flow pool is (flows.max of them) */
	json_object_set_new(out, "flow_entry_bytes",
	    json_integer((json_int_t)sizeof(struct flow)));
	rss0 = popd_rss_kib();
	json_object_set_new(out, "rss_kib_no_sites", json_integer(rss0));
	json_object_set_new(out, "stages", stages);
	if (g.stream_sites >= g.stages[0])
		die("--stream-sites must be fewer than the first stage's "
		    "sites");
	rc = stream_start();
	json_object_set_new(out, "stream",
	    json_pack("{s:i,s:i,s:b}", "sites", g.stream_sites, "interval_us",
		g.stream_us, "sched_fifo", sm.fifo));
	for (k = 0; rc == 0 && k < g.nstages; k++)
		if ((rc = stage(g.stages[k], stages)) == -1)
			break;
	stream_stop();
	json_object_set_new(out, "probe_interval_ms", json_integer(g.probe_ms));
	if (rc == 0) {
		tr = json_object();
		json_object_set_new(out, "traffic", tr);
		json_object_set_new(tr, "sites", json_integer(g.nup));
		json_object_set_new(tr, "up", traffic(1, 0));
		json_object_set_new(tr, "down", traffic(0, 1));
		json_object_set_new(tr, "both", traffic(1, 1));
		if (g.popd_gone) {
			snprintf(g.error, sizeof(g.error),
			    "popd exited during the traffic");
			rc = -1;
		}
	}
	if (rc == 0 && g.flows > 0) {
		json_object_set_new(out, "flows", flows_phase());
		if (g.popd_gone) {
			snprintf(g.error, sizeof(g.error),
			    "popd exited during the flows");
			rc = -1;
		}
	}
	if (rc == 0 && g.nfailed > 0) {
		snprintf(g.error, sizeof(g.error),
		    "%u sites lost their control channel", g.nfailed);
		rc = -1;
	}
	json_object_set_new(out, "sitegen_drops",
	    json_pack("{s:I,s:I,s:I,s:I}", "no_session",
		(json_int_t)g.no_session, "replay", (json_int_t)g.open_replay,
		"auth", (json_int_t)g.open_auth, "other",
		(json_int_t)g.open_other));
	json_object_set_new(out, "ok", json_boolean(rc == 0));
	if (rc != 0)
		json_object_set_new(out, "error", json_string(g.error));
	json_dumpf(out, stdout, JSON_INDENT(1));
	putchar('\n');
	fflush(stdout);
	/* The OS frees the rest; a 10,000-site teardown is not measured. */
	_exit(rc == 0 ? 0 : 1);
}
