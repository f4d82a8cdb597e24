/*
 * The Prometheus endpoint: the text it renders from a counters object
 * (names, labels and their escaping, units, families without samples
 * left out, every line well formed) and the server a scraper talks to
 * (GET and HEAD /metrics, 404 elsewhere, 405 for other methods, 500 when
 * the daemon has no snapshot, oversized requests refused, connections
 * beyond the limit closed at once, and the server alive after all of it).
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>

#include "addr.h"
#include "check_run.h"
#include "metrics.h"
#include "sample_counters.h"

static json_t *
load(const char *text)
{
	json_error_t e;
	json_t      *j = json_loads(text, 0, &e);

	ck_assert_msg(j != NULL, "test JSON: %s at %d", e.text, e.position);
	return j;
}

/* The rendered text as a NUL-terminated string (caller frees). */
static char *
render(const json_t *j)
{
	struct evbuffer *b = evbuffer_new();
	char            *s;
	size_t           n;

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(metrics_render(j, b), 0);
	n = evbuffer_get_length(b);
	ck_assert_ptr_nonnull(s = malloc(n + 1));
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

static void
has_line(const char *text, const char *line)
{
	const char *p = text;
	size_t      n = strlen(line);

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
		p++;
	}
	ck_abort_msg("no line \"%s\" in:\n%s", line, text);
}

static void
no_text(const char *text, const char *what)
{
	ck_assert_msg(strstr(text, what) == NULL, "\"%s\" in:\n%s", what, text);
}

/*
 * Every line is "# HELP name text", "# TYPE name gauge|counter" or
 * "name{label="value",...} value"; a family's HELP and TYPE come once,
 * right before its samples, and every sample belongs to the family
 * announced last.  Returns the number of samples.
 */
static int
check_syntax(const char *text)
{
	char        family[128] = "", line[4096];
	const char *p = text, *nl;
	int         samples = 0;

	while (*p != '\0') {
		char  *q, *end;
		size_t len;

		ck_assert_ptr_nonnull(nl = strchr(p, '\n'));
		len = (size_t)(nl - p);
		ck_assert_uint_lt(len, sizeof(line));
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl + 1;
		if (strncmp(line, "# HELP ", 7) == 0) {
			q = line + 7;
			len = strcspn(q, " ");
			ck_assert_msg(q[len] == ' ' && q[len + 1] != '\0',
			    "HELP without text: %s", line);
			ck_assert_msg(
			    strncmp(q, family, len) != 0 || family[len] != '\0',
			    "family announced twice: %s", line);
			memcpy(family, q, len);
			family[len] = '\0';
			/* the TYPE line follows */
			ck_assert_ptr_nonnull(nl = strchr(p, '\n'));
			len = (size_t)(nl - p);
			memcpy(line, p, len);
			line[len] = '\0';
			p = nl + 1;
			snprintf(line + len, sizeof(line) - len, "%s", "");
			q = line + 7;
			ck_assert_msg(strncmp(line, "# TYPE ", 7) == 0 &&
				strncmp(q, family, strlen(family)) == 0 &&
				(strcmp(q + strlen(family), " gauge") == 0 ||
				    strcmp(q + strlen(family), " counter") ==
					0),
			    "bad TYPE after HELP %s: %s", family, line);
			if (strcmp(q + strlen(family), " counter") == 0)
				ck_assert_msg(strlen(family) > 6 &&
					strcmp(family + strlen(family) - 6,
					    "_total") == 0,
				    "counter %s does not end in _total",
				    family);
			continue;
		}
		ck_assert_msg(line[0] != '#', "stray comment: %s", line);
		/* name */
		ck_assert_msg(strncmp(line, family, strlen(family)) == 0 &&
			(line[strlen(family)] == '{' ||
			    line[strlen(family)] == ' '),
		    "sample outside its family %s: %s", family, line);
		q = line + strlen(family);
		if (*q == '{') {
			q++;
			for (;;) {
				ck_assert_msg(
				    isalpha((unsigned char)*q) || *q == '_',
				    "bad label name: %s", line);
				while (isalnum((unsigned char)*q) || *q == '_')
					q++;
				ck_assert_msg(q[0] == '=' && q[1] == '"',
				    "bad label: %s", line);
				for (q += 2; *q != '"'; q++) {
					ck_assert_msg(*q != '\0',
					    "unterminated label: %s", line);
					if (*q == '\\') {
						q++;
						ck_assert_msg(*q == '\\' ||
							*q == '"' || *q == 'n',
						    "bad escape: %s", line);
					}
				}
				q++;
				if (*q == '}')
					break;
				ck_assert_msg(
				    *q == ',', "bad labels: %s", line);
				q++;
			}
			q++;
		}
		ck_assert_msg(*q == ' ', "no value: %s", line);
		errno = 0;
		(void)strtod(q + 1, &end);
		ck_assert_msg(end != q + 1 && *end == '\0' && errno == 0,
		    "bad value: %s", line);
		samples++;
	}
	return samples;
}

START_TEST(render_socketd)
{
	json_t *j = load(socketd_json);
	char   *t = render(j);

	ck_assert_int_gt(check_syntax(t), 30);
	has_line(t, "# HELP wanpair_build_info The daemon and its version.");
	has_line(t, "# TYPE wanpair_build_info gauge");
	has_line(t,
	    "wanpair_build_info{daemon=\"wanpair-socketd\",version=\"1.2\"} 1");
	has_line(t, "# TYPE process_start_time_seconds gauge");
	has_line(t, "process_start_time_seconds 1700000000");
	has_line(t, "wanpair_control_connected 1");
	has_line(t, "wanpair_flows 3");
	has_line(t, "wanpair_flows_max 1000");
	has_line(t, "# TYPE wanpair_flow_evictions_total counter");
	has_line(t, "wanpair_flow_evictions_total 2");
	has_line(t, "wanpair_flows_created_total 40");
	has_line(t, "wanpair_link_up{link=\"WAN1\"} 1");
	has_line(t, "wanpair_link_up{link=\"WAN2\"} 0");
	has_line(t, "wanpair_link_admin_up{link=\"WAN2\"} 0");
	/* milliseconds become seconds */
	has_line(t, "wanpair_link_rtt_seconds{link=\"WAN1\"} 0.0125");
	has_line(t, "wanpair_link_jitter_seconds{link=\"WAN1\"} 0.00025");
	has_line(t, "wanpair_link_loss_ratio{link=\"WAN1\"} 0.015625");
	has_line(t, "wanpair_link_loss_ratio{link=\"WAN2\"} 0");
	/* a link never answered has no RTT: no sample rather than 0 */
	no_text(t, "wanpair_link_rtt_seconds{link=\"WAN2\"}");
	no_text(t, "wanpair_link_jitter_seconds{link=\"WAN2\"}");
	/* the estimated MOS as it is, a score, with no MOS before an RTT */
	has_line(t, "# TYPE wanpair_link_mos gauge");
	has_line(t, "wanpair_link_mos{link=\"WAN1\"} 4.25");
	no_text(t, "wanpair_link_mos{link=\"WAN2\"}");
	has_line(t, "wanpair_link_tx_packets_total{link=\"WAN1\"} 100");
	has_line(t, "wanpair_link_tx_bytes_total{link=\"WAN1\"} 15000");
	has_line(t, "wanpair_link_rx_packets_total{link=\"WAN1\"} 90");
	has_line(t, "wanpair_link_rx_bytes_total{link=\"WAN1\"} 9000");
	has_line(t, "wanpair_link_tx_errors_total{link=\"WAN2\"} 7");
	has_line(t, "wanpair_link_flows{link=\"WAN2\"} 1");
	has_line(t, "wanpair_link_flows_created_total{link=\"WAN1\"} 30");
	has_line(t, "wanpair_link_probes_lost_total{link=\"WAN2\"} 5");
	/* service levels: labelled by profile, a link without any has none */
	has_line(t, "# TYPE wanpair_link_sla_degraded gauge");
	has_line(
	    t, "wanpair_link_sla_degraded{link=\"WAN1\",profile=\"voice\"} 1");
	has_line(t, "# TYPE wanpair_link_sla_violations_total counter");
	has_line(t,
	    "wanpair_link_sla_violations_total{link=\"WAN1\","
	    "profile=\"voice\"} 3");
	no_text(t, "wanpair_link_sla_degraded{link=\"WAN2\"");
	has_line(t, "wanpair_drops_total{reason=\"no_session\"} 4");
	has_line(t, "wanpair_drops_total{reason=\"unparsable\"} 0");
	has_line(t, "wanpair_drops_total{reason=\"key_exhausted\"} 3");
	has_line(t, "wanpair_udp_gso_enabled 1");
	has_line(t, "wanpair_udp_gro_enabled 0");
	has_line(t, "# TYPE wanpair_tun_reads_total counter");
	has_line(t, "wanpair_tun_reads_total 20");
	has_line(t, "wanpair_udp_gso_messages_total 7");
	/* popd's families are not announced empty */
	no_text(t, "wanpair_control_sessions");
	no_text(t, "wanpair_site_drops_total");
	no_text(t, "wanpair_link_idle_seconds");
	no_text(t, "site=");
	free(t);
	json_decref(j);
}
END_TEST

START_TEST(render_popd)
{
	json_t *j = load(popd_json);
	char   *t = render(j);

	ck_assert_int_gt(check_syntax(t), 15);
	has_line(
	    t, "wanpair_build_info{daemon=\"wanpair-popd\",version=\"1.2\"} 1");
	has_line(t, "process_start_time_seconds 1700000001");
	has_line(t, "wanpair_control_sessions 1");
	has_line(t, "wanpair_control_pending 0");
	has_line(t, "wanpair_control_refused_total 3");
	has_line(t, "wanpair_control_connections 2");
	has_line(t, "# TYPE wanpair_control_connections gauge");
	has_line(t, "wanpair_control_handshake_timeouts_total 4");
	has_line(t, "wanpair_control_handshakes_evicted_total 5");
	has_line(t, "wanpair_control_refused_per_source_total 1");
	has_line(t, "wanpair_control_refused_connections_total 2");
	has_line(t, "wanpair_control_replaced_total 6");
	has_line(t, "wanpair_control_output_overflows_total 7");
	has_line(t, "wanpair_control_rate_limited_total 8");
	has_line(t, "wanpair_control_bad_frames_total 9");
	has_line(t, "wanpair_control_input_throttled_total 10");
	has_line(t, "wanpair_control_connected{site=\"branch-17\"} 1");
	has_line(t, "wanpair_control_connected{site=\"hq\"} 0");
	has_line(t, "wanpair_flows{site=\"branch-17\"} 5");
	/* no session, no flow table: no sample */
	no_text(t, "wanpair_flows{site=\"hq\"}");
	has_line(t, "wanpair_link_up{site=\"branch-17\",link=\"WAN1\"} 1");
	has_line(t,
	    "wanpair_link_idle_seconds{site=\"branch-17\","
	    "link=\"WAN1\"} 0.25");
	has_line(t,
	    "wanpair_link_tx_packets_total{site=\"branch-17\","
	    "link=\"WAN1\"} 11");
	has_line(t, "wanpair_link_flows{site=\"branch-17\",link=\"WAN1\"} 5");
	has_line(t, "wanpair_drops_total{reason=\"bad_header\"} 9");
	has_line(t, "wanpair_drops_total{reason=\"key_exhausted\"} 5");
	has_line(t,
	    "wanpair_site_drops_total{site=\"branch-17\","
	    "reason=\"spoofed\"} 1");
	has_line(t,
	    "wanpair_site_drops_total{site=\"hq\",reason=\"no_endpoint\"} 2");
	/* the Socket's verdicts, for every profile of popd.json */
	has_line(t,
	    "wanpair_link_sla_degraded{site=\"branch-17\",link=\"WAN1\","
	    "profile=\"voice\"} 1");
	has_line(t,
	    "wanpair_link_sla_degraded{site=\"branch-17\",link=\"WAN1\","
	    "profile=\"bulk\"} 0");
	/* popd does not judge: no violations */
	no_text(t, "wanpair_link_sla_violations_total");
	/* popd does not probe */
	no_text(t, "wanpair_link_rtt_seconds");
	no_text(t, "wanpair_link_loss_ratio");
	no_text(t, "wanpair_link_mos");
	free(t);
	json_decref(j);
}
END_TEST

/* Label values escape backslash, double quote and newline, and only
 * those (format 0.0.4); HELP texts are fixed and need none. */
START_TEST(label_escaping)
{
	json_t *j = load(popd_json);
	char   *t;

	json_object_set_new(json_array_get(json_object_get(j, "sites"), 1),
	    "name", json_string("a\"b\\c\nd{e}=,f\tg\xc3\xa9"));
	t = render(j);
	check_syntax(t);
	has_line(t,
	    "wanpair_control_connected{site=\"a\\\"b\\\\c\\nd{e}=,"
	    "f\tg\xc3\xa9\"} 0");
	free(t);
	json_decref(j);
}
END_TEST

START_TEST(render_refuses)
{
	struct evbuffer *b = evbuffer_new();
	json_t          *j;

	/* Not a counters object: nothing to say which daemon it is. */
	j = load("{\"links\": []}");
	ck_assert_int_eq(metrics_render(j, b), -1);
	json_decref(j);
	/* Wrong types are skipped, not rendered as garbage. */
	j = load("{\"daemon\": \"x\", \"start_time\": \"yesterday\","
		 " \"flows\": {\"count\": [1]}, \"links\": {\"name\": 1},"
		 " \"drops\": [1, 2]}");
	ck_assert_int_eq(metrics_render(j, b), 0);
	json_decref(j);
	{
		size_t n = evbuffer_get_length(b);
		char  *s = malloc(n + 1);

		evbuffer_remove(b, s, n);
		s[n] = '\0';
		ck_assert_int_eq(check_syntax(s), 1); /* build_info only */
		free(s);
	}
	evbuffer_free(b);
}
END_TEST

/* ------------------------------------------------------------ server */

struct snap {
	json_t *j;     /* returned (with a new reference) unless NULL */
	int     calls; /* snapshots taken */
};

static json_t *
snapshot(void *arg)
{
	struct snap *s = arg;

	s->calls++;
	return s->j != NULL ? json_incref(s->j) : NULL;
}

static struct event_base *base;
static struct metrics    *m;
static struct snap        snap;
static uint16_t           port;

static void
server_up(void)
{
	struct wp_addr a;
	char           err[128];
	int            i;

	signal(SIGPIPE, SIG_IGN);
	ck_assert_ptr_nonnull(base = event_base_new());
	ck_assert_int_eq(addr_parse("127.0.0.1", &a), 0);
	snap.j = load(socketd_json);
	snap.calls = 0;
	/* A port no other test holds: a few tries from a pid-derived one. */
	for (i = 0; i < 50 && m == NULL; i++) {
		port = (uint16_t)(20000 + (getpid() * 7 + i * 131) % 30000);
		m = metrics_new(
		    base, &a, port, snapshot, &snap, err, sizeof(err));
	}
	ck_assert_msg(m != NULL, "metrics_new: %s", err);
}

static void
server_down(void)
{
	metrics_free(m);
	m = NULL;
	event_base_free(base);
	json_decref(snap.j);
}

static int
client(void)
{
	struct sockaddr_in sin;
	int                fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* Runs the server's loop until fd has something to read (or closes);
 * 1 if it does within about 3 s. */
static int
wait_readable(int fd)
{
	struct pollfd p = {fd, POLLIN, 0};
	int           i;

	for (i = 0; i < 300; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (poll(&p, 1, 10) == 1)
			return 1;
	}
	return 0;
}

/* Lets the server accept and read what is pending. */
static void
spin(void)
{
	int i;

	for (i = 0; i < 20; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

/* Sends req on a new connection; the whole answer until the server
 * closes (requests say "Connection: close"), NUL-terminated. */
static char *
exchange_on(int fd, const char *req, size_t reqlen)
{
	static char buf[1 << 20];
	size_t      n = 0;
	ssize_t     r;

	if (reqlen > 0)
		ck_assert_int_eq(send(fd, req, reqlen, 0), (ssize_t)reqlen);
	for (;;) {
		ck_assert_msg(wait_readable(fd), "no answer to %.40s", req);
		r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	return buf;
}

static char *
exchange(const char *req)
{
	return exchange_on(client(), req, strlen(req));
}

/*
 * The answer's head, without waiting for the server to close: evhttp
 * keeps a connection open after any answer to CONNECT, "Connection:
 * close" or not (the idle timeout ends it).  The head of a short answer
 * comes in one segment on loopback.
 */
static char *
exchange_head(const char *req)
{
	static char buf[4096];
	int         fd = client();
	ssize_t     r;

	ck_assert_int_eq(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	ck_assert_msg(wait_readable(fd), "no answer to %.40s", req);
	r = recv(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	buf[r > 0 ? r : 0] = '\0';
	return buf;
}

static int
status_of(const char *answer)
{
	int code = 0;

	ck_assert_msg(sscanf(answer, "HTTP/1.%*d %d", &code) == 1,
	    "not an HTTP answer: %.80s", answer);
	return code;
}

START_TEST(serve_metrics)
{
	char *a, *body, *want;

	server_up();
	a = exchange("GET /metrics HTTP/1.1\r\nHost: x\r\n"
		     "Connection: close\r\n\r\n");
	ck_assert_int_eq(status_of(a), 200);
	ck_assert_msg(strstr(a,
			  "\r\nContent-Type: text/plain; version=0.0.4; "
			  "charset=utf-8\r\n") != NULL,
	    "%s", a);
	ck_assert_ptr_nonnull(body = strstr(a, "\r\n\r\n"));
	body += 4;
	want = render(snap.j);
	ck_assert_str_eq(body, want);
	free(want);
	ck_assert_int_eq(snap.calls, 1);

	/* A query string is not part of the path. */
	a = exchange("GET /metrics?x=1 HTTP/1.0\r\n\r\n");
	ck_assert_int_eq(status_of(a), 200);

	/* HEAD: the headers only */
	a = exchange("HEAD /metrics HTTP/1.1\r\nHost: x\r\n"
		     "Connection: close\r\n\r\n");
	ck_assert_int_eq(status_of(a), 200);
	ck_assert_ptr_nonnull(body = strstr(a, "\r\n\r\n"));
	ck_assert_str_eq(body, "\r\n\r\n");
	server_down();
}
END_TEST

START_TEST(serve_errors)
{
	static const char *const paths[] = {
	    "/", "/metric", "/metrics/", "/metricsx", "/favicon.ico", "*"};
	static const char *const methods[] = {
	    "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT"};
	char   req[256], *a;
	size_t i;

	server_up();
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", paths[i]);
		a = exchange(req);
		ck_assert_msg(status_of(a) == 404 || status_of(a) == 400,
		    "%s: %.40s", paths[i], a);
	}
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		snprintf(req, sizeof(req),
		    "%s /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
		    "Connection: close\r\n\r\n",
		    methods[i]);
		a = strcmp(methods[i], "CONNECT") == 0 ? exchange_head(req)
						       : exchange(req);
		ck_assert_msg(status_of(a) == 405, "%s: %.40s", methods[i], a);
		ck_assert_msg(strstr(a, "\r\nAllow: GET, HEAD\r\n") != NULL,
		    "%s: %s", methods[i], a);
	}
	/* evhttp reads a CONNECT target as host:port: /metrics is still
	 * the one path, anything else 404 (or 400 if evhttp refuses it) */
	{
		static const char *const targets[] = {
		    "/", "/metricsx", "127.0.0.1:9469", "x:1/metrics"};

		for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
			snprintf(req, sizeof(req),
			    "CONNECT %s HTTP/1.1\r\nHost: x\r\n"
			    "Connection: close\r\n\r\n",
			    targets[i]);
			a = exchange_head(req);
			ck_assert_msg(
			    status_of(a) == 404 || status_of(a) == 400,
			    "CONNECT %s: %.40s", targets[i], a);
		}
	}
	/* A body, which a scrape never has, is refused before it is read. */
	a = exchange("GET /metrics HTTP/1.1\r\nHost: x\r\n"
		     "Content-Length: 100000\r\nConnection: close\r\n\r\n");
	ck_assert_int_ge(status_of(a), 400);
	/* Garbage instead of a request line */
	{
		/* a TLS ClientHello's first bytes, NULs and all */
		static const char tls[] =
		    "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n";

		a = exchange_on(client(), tls, sizeof(tls) - 1);
	}
	ck_assert_msg(a[0] == '\0' || status_of(a) == 400, "%.40s", a);
	/* The daemon has no snapshot to give (allocation failure) */
	json_decref(snap.j);
	snap.j = NULL;
	a = exchange("GET /metrics HTTP/1.0\r\n\r\n");
	ck_assert_int_eq(status_of(a), 500);
	snap.j = load(socketd_json);
	/* none of that took the server down */
	a = exchange("GET /metrics HTTP/1.0\r\n\r\n");
	ck_assert_int_eq(status_of(a), 200);
	server_down();
}
END_TEST

START_TEST(serve_oversized)
{
	static char req[64 * 1024];
	char       *a;
	size_t      n;

	server_up();
	/* Headers past 8 KiB: refused, not buffered without end. */
	n = (size_t)snprintf(
	    req, sizeof(req), "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: ");
	memset(req + n, 'a', 20000);
	n += 20000;
	n += (size_t)snprintf(req + n, sizeof(req) - n, "\r\n\r\n");
	a = exchange_on(client(), req, n);
	ck_assert_msg(a[0] == '\0' || status_of(a) >= 400, "%.60s", a);
	/* A request line as long */
	n = (size_t)snprintf(req, sizeof(req), "GET /");
	memset(req + n, 'b', 20000);
	n += 20000;
	n += (size_t)snprintf(req + n, sizeof(req) - n, " HTTP/1.0\r\n\r\n");
	a = exchange_on(client(), req, n);
	ck_assert_msg(a[0] == '\0' || status_of(a) >= 400, "%.60s", a);
	ck_assert_int_eq(snap.calls, 0);
	a = exchange("GET /metrics HTTP/1.0\r\n\r\n");
	ck_assert_int_eq(status_of(a), 200);
	server_down();
}
END_TEST

/* A connection to the server from source address src (127.0.0.0/8). */
static int
client_from(const char *src)
{
	struct sockaddr_in sin;
	int                fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, src, &sin.sin_addr), 1);
	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

#define LIMIT 16 /* METRICS_MAX_CONNS */

START_TEST(serve_connection_limit)
{
	static const char get[] = "GET /metrics HTTP/1.0\r\n\r\n";
	int               idle[LIMIT], fd, i;
	struct pollfd     p;
	char             *a, c1;

	server_up();
	/* LIMIT idle connections, each accepted by the server */
	for (i = 0; i < LIMIT; i++) {
		p = (struct pollfd){idle[i] = client(), POLLIN, 0};
		spin();
		ck_assert_int_eq(poll(&p, 1, 0), 0);
	}
	/* One more takes the oldest one's slot, and is answered at once */
	fd = client();
	a = exchange_on(fd, get, strlen(get));
	ck_assert_int_eq(status_of(a), 200);
	ck_assert_uint_eq(metrics_evicted(m), 1);
	p = (struct pollfd){idle[0], POLLIN, 0};
	ck_assert_int_eq(poll(&p, 1, 0), 1); /* closed: end of file */
	ck_assert_int_eq(recv(idle[0], &c1, 1, 0), 0);
	close(idle[0]);
	/* the other idle ones still get their answer */
	a = exchange_on(idle[1], get, strlen(get));
	ck_assert_int_eq(status_of(a), 200);
	for (i = 2; i < LIMIT; i++)
		close(idle[i]);
	/* every slot comes back once its client left (from addresses of
	 * their own: one would run out of scrapes, serve_rate_limit) */
	for (i = 0; i < 2 * LIMIT; i++) {
		char src[32];

		snprintf(src, sizeof(src), "127.0.1.%d", i + 1);
		a = exchange_on(client_from(src), get, strlen(get));
		ck_assert_int_eq(status_of(a), 200);
	}
	server_down();
}
END_TEST

/*
 * A client on 127.0.0.1 that holds every slot and reconnects each one the
 * server closes at once cannot keep a scraper on 127.0.0.2 out: each
 * scrape is answered well within the idle timeout (5 s) that used to be
 * the only way a slot came free.
 */
START_TEST(serve_reconnect_loop)
{
	static const char get[] = "GET /metrics HTTP/1.0\r\n\r\n";
	int               hog[LIMIT + 4], fd, i, k;
	struct pollfd     p;
	struct timespec   t0, t1;
	char              buf[1 << 16];
	size_t            n;
	ssize_t           r;
	double            took;

	server_up();
	for (i = 0; i < LIMIT + 4; i++) {
		hog[i] = client_from("127.0.0.1");
		spin();
	}
	for (k = 0; k < 3; k++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		fd = client_from("127.0.0.2");
		ck_assert_int_eq(
		    send(fd, get, strlen(get), 0), (ssize_t)strlen(get));
		n = 0;
		for (took = 0; took < 10;) {
			/* the hog: a closed connection is opened again */
			for (i = 0; i < LIMIT + 4; i++) {
				p = (struct pollfd){hog[i], POLLIN, 0};
				if (poll(&p, 1, 0) == 1 &&
				    recv(hog[i], buf, sizeof(buf), 0) <= 0) {
					close(hog[i]);
					hog[i] = client_from("127.0.0.1");
				}
			}
			event_base_loop(base, EVLOOP_NONBLOCK);
			p = (struct pollfd){fd, POLLIN, 0};
			if (poll(&p, 1, 1) == 1) {
				r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
				if (r <= 0)
					break;
				n += (size_t)r;
			}
			clock_gettime(CLOCK_MONOTONIC, &t1);
			took = (double)(t1.tv_sec - t0.tv_sec) +
			    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		}
		buf[n] = '\0';
		close(fd);
		ck_assert_msg(n > 0 && status_of(buf) == 200,
		    "scrape %d: no answer in %.1f s", k, took);
		ck_assert_msg(
		    took < 2.0, "scrape %d answered after %.2f s", k, took);
	}
	ck_assert_uint_gt(metrics_evicted(m), 0);
	for (i = 0; i < LIMIT + 4; i++)
		close(hog[i]);
	server_down();
}
END_TEST

/*
 * Scrapes from one address past its bucket (20, then 5 a second) get 429
 * without a snapshot, and count; another address is not affected.
 */
START_TEST(serve_rate_limit)
{
	static const char get[] = "GET /metrics HTTP/1.0\r\n\r\n";
	char             *a;
	int               i, ok = 0, limited = 0;

	server_up();
	for (i = 0; i < 30; i++) {
		a = exchange_on(client_from("127.0.0.1"), get, strlen(get));
		if (status_of(a) == 200)
			ok++;
		else if (status_of(a) == 429 &&
		    strstr(a, "\r\nRetry-After: 1\r\n") != NULL)
			limited++;
	}
	/* 20, and one more for each 200 ms the loop took */
	ck_assert_int_ge(ok, 20);
	ck_assert_int_lt(ok, 30);
	ck_assert_int_eq(ok + limited, 30);
	ck_assert_int_eq(snap.calls, ok);
	ck_assert_uint_eq(metrics_limited(m), (unsigned)limited);
	a = exchange_on(client_from("127.0.0.2"), get, strlen(get));
	ck_assert_int_eq(status_of(a), 200);
	/* a second later the first has five again */
	usleep(1100 * 1000);
	a = exchange_on(client_from("127.0.0.1"), get, strlen(get));
	ck_assert_int_eq(status_of(a), 200);
	server_down();
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("render");

	tcase_add_test(tc, render_socketd);
	tcase_add_test(tc, render_popd);
	tcase_add_test(tc, label_escaping);
	tcase_add_test(tc, render_refuses);
	suite_add_tcase(s, tc);
	tc = tcase_create("server");
	tcase_add_test(tc, serve_metrics);
	tcase_add_test(tc, serve_errors);
	tcase_add_test(tc, serve_oversized);
	tcase_add_test(tc, serve_connection_limit);
	tcase_add_test(tc, serve_reconnect_loop);
	tcase_add_test(tc, serve_rate_limit);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(metrics_suite());
}
