/*
 * bench/sitegen: the data plane: sealed datagrams up through the sites'
 * UDP sockets to popd's sink, return traffic injected into popd's TUN
 * device and opened with the sites' keys, the pumps, the tick (keepalives,
 * probes, stalls) and the sockets.
 */
#include "autoconf.h"

#include "sitegen.h"

/* ------------------------------------------------------------ data */

size_t
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

void
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
void
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
void
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

void
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
void
run_for(uint64_t ms, int (*done)(void))
{
	uint64_t end = now_ms() + ms;

	while (now_ms() < end && !g.popd_gone && (done == NULL || !done()))
		event_base_loop(g.base, EVLOOP_ONCE);
}

/* ------------------------------------------------------------ sockets */

int
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

void
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
