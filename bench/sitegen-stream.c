/*
 * bench/sitegen: the steady stream through popd while the ramp connects
 * sites (its own thread), and its gap statistics.
 */
#include "autoconf.h"

#include "sitegen.h"

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
		struct probe pr = {sm.site[k]->probe_seq++, now * 1000};

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
int
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
void
stream_pause(int on)
{
	if (sm.started)
		__atomic_store_n(&sm.paused, on, __ATOMIC_RELAXED);
}

void
stream_stop(void)
{
	if (!sm.started)
		return;
	__atomic_store_n(&sm.run, 0, __ATOMIC_RELAXED);
	pthread_join(sm.th, NULL);
	sm.started = 0;
}

/* Whether the stream thread got SCHED_FIFO (for the output). */
int
stream_fifo(void)
{
	return sm.fifo;
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
json_t *
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
json_t *
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
