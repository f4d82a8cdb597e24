/*
 * bench/sitegen: what its files share: the sites, the generator's state
 * (g), the counters of a traffic phase, and the functions one file
 * calls in another.  What each file holds is said at its top.
 */
#ifndef SITEGEN_H
#define SITEGEN_H

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

struct sitegen {
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
};

extern struct sitegen g;

/* sitegen.c */
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
uint64_t now_rt_us(void);

/* sitegen-tls.c */
extern unsigned target; /* the stage's sites */
double          make_certs(void);
struct site    *site_by_session(uint32_t id);
void            drain_evq(void);
void            site_fail(struct site *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void send_frame(struct site *s, uint8_t *frame, size_t len);
void send_probe(struct site *s, uint64_t now);
void connect_more(void);

/* sitegen-data.c */
size_t udp4(uint8_t *p, const uint8_t src[4], uint16_t sport,
    const uint8_t dst[4], uint16_t dport, size_t paylen);
void   kick_pumps(void);
void   up_pump(evutil_socket_t fd, short what, void *arg);
void   down_pump(evutil_socket_t fd, short what, void *arg);
void   tick(evutil_socket_t fd, short what, void *arg);
void   run_for(uint64_t ms, int (*done)(void));
int    udp_socket(const struct sockaddr *sa, socklen_t len);
void   open_sockets(void);

/* sitegen-stream.c */
int     stream_start(void);
void    stream_pause(int on);
void    stream_stop(void);
json_t *stream_take(double *max_ms);
json_t *stream_around(uint64_t t0, uint64_t t1);
int     stream_fifo(void);

/* sitegen-ramp.c */
extern long rss0; /* popd's RSS with no sites, KiB */
long        popd_rss_kib(void);
long long   popd_ticks(void);
int         stage(unsigned n, json_t *out);
void        traffic_reset(void);
json_t     *traffic(int up, int down);
json_t     *flows_phase(void);

#endif
