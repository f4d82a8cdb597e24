/*
 * Batched UDP I/O over one socket: recvmmsg with UDP_GRO on the way in,
 * sendmmsg with UDP_SEGMENT on the way out (DESIGN.md section 3, "64 KiB
 * per syscall").  A pure I/O layer: the caller owns the socket (opens,
 * binds, connects and closes it) and one struct udpio per socket per
 * worker; udpio_new() allocates every buffer the packet path uses, so
 * nothing here allocates, logs or makes a syscall per datagram.
 *
 * Receiving: udpio_recv() is one recvmmsg(MSG_DONTWAIT) of up to `batch`
 * messages; with GRO a message is a coalesced run of datagrams from one
 * source, which udpio_next() hands out one datagram at a time as views
 * into udpio's buffers, valid until the next udpio_recv().
 *
 * Sending: the caller writes each datagram straight into the send arena
 * (udpio_slot(), then udpio_commit() with its length and destination) or
 * copies one in (udpio_queue()); datagrams are packed back to back, so a
 * run of equal-sized datagrams to one destination is one contiguous
 * iovec, sent as one message with a UDP_SEGMENT cmsg.  udpio_flush() sends
 * what is queued in as few sendmmsg calls as it can.
 *
 * Offloads fall back on their own: no UDP_SEGMENT in the kernel, or EIO
 * from a segmented send (an egress device without checksum offload),
 * turns GSO off for this socket; a kernel that refuses UDP_GRO keeps the
 * plain batched path.  UDPIO_NO_OFFLOAD (`"offload": false`) turns both
 * off from the start.
 */
#ifndef WANPAIR_UDPIO_H
#define WANPAIR_UDPIO_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"

/* Messages per recvmmsg/sendmmsg by default (DESIGN.md: "up to 64"). */
#define UDPIO_BATCH 64
/* Above UIO_MAXIOV the kernel caps vlen anyway. */
#define UDPIO_BATCH_MAX 1024
/* Segments per UDP_SEGMENT message: the kernel's UDP_MAX_SEGMENTS was 64
 * before Linux 6.x raised it; 64 works on every kernel with GSO. */
#define UDPIO_GSO_SEGS 64
/* A segmented message's payload, all segments: the largest UDP payload
 * of an IPv4 (65535 - 20 - 8) or IPv6 (65535 - 40 - 8) packet. */
#define UDPIO_GSO_BYTES4 65507
#define UDPIO_GSO_BYTES6 65487
/* A receive buffer with GRO on: a coalesced message is at most one UDP
 * payload, so anything smaller could truncate a run of datagrams. */
#define UDPIO_GRO_SIZE 65536
/* The largest datagram udpio_slot() offers room for. */
#define UDPIO_DGRAM_MAX 65535

enum udpio_flags {
	UDPIO_NO_OFFLOAD = 1 << 0, /* neither GSO nor GRO ("offload": false) */
	UDPIO_NO_GRO = 1 << 1,     /* GSO only: small receive buffers */
	UDPIO_PKTINFO = 1 << 2     /* report each datagram's local address */
};

/*
 * Sizes; a zero field takes its default.  Memory is about
 * batch * rx_size + tx_size + tx_max * 40 bytes: the defaults (64 x 64 KiB
 * with GRO, 1 MiB, 4096) make 5.2 MiB, fine for popd's socket per listen entry; a
 * socket per link (socketd) wants less, say batch 8 and tx_size 128 KiB
 * (0.7 MiB).
 */
struct udpio_conf {
	unsigned batch;   /* messages per syscall, <= UDPIO_BATCH_MAX */
	size_t   rx_size; /* bytes per received message (default
			     UDPIO_GRO_SIZE; raised to it with GRO on) */
	size_t   tx_size; /* bytes of queued datagrams (default 1 MiB) */
	unsigned tx_max;  /* datagrams queued (default batch * 64) */
	unsigned flags;   /* enum udpio_flags */
};

/* Offloads in use now: UDPIO_GSO, UDPIO_GRO (udpio_offloads()). */
#define UDPIO_GSO 1
#define UDPIO_GRO 2

/*
 * Counters since udpio_new(), for a daemon to export.  Datagrams are what
 * the caller sees; messages are what the kernel saw (a segmented or
 * coalesced message is many datagrams).
 */
struct udpio_stats {
	uint64_t rx_syscalls;  /* recvmmsg calls */
	uint64_t rx_msgs;      /* messages received */
	uint64_t rx_dgrams;    /* datagram views handed out by udpio_recv */
	uint64_t rx_bytes;     /* their bytes */
	uint64_t rx_gro_split; /* messages split into >1 datagram by GRO */
	uint64_t rx_trunc;     /* messages dropped: larger than rx_size */
	uint64_t rx_bad_cmsg;  /* messages dropped: control data truncated */
	uint64_t rx_errors;    /* recvmmsg failures other than EAGAIN */
	uint64_t tx_syscalls;  /* sendmmsg calls */
	uint64_t tx_msgs;      /* messages the kernel took */
	uint64_t tx_dgrams;    /* datagrams in them */
	uint64_t tx_bytes;     /* their bytes */
	uint64_t tx_gso_msgs;  /* of tx_msgs, sent with UDP_SEGMENT */
	uint64_t tx_gso_off;   /* GSO turned off: EIO (0 or 1) */
	uint64_t tx_gso_retry; /* segmented runs refused (EINVAL, EMSGSIZE)
				  and resent unsegmented */
	uint64_t tx_eagain;    /* flushes stopped by a full socket buffer */
	uint64_t tx_dropped;   /* datagrams dropped by udpio_discard() */
	/* Datagrams the kernel refused, skipped, by errno: */
	uint64_t tx_err_refused; /* ECONNREFUSED (connected socket) */
	uint64_t tx_err_unreach; /* ENETUNREACH, EHOSTUNREACH */
	uint64_t tx_err_msgsize; /* EMSGSIZE */
	uint64_t tx_err_nobufs;  /* ENOBUFS (a full device queue) */
	uint64_t tx_err_other;   /* anything else, EDESTADDRREQ say */
};

/* One received datagram: a view into udpio's buffer, writable (open it
 * in place), valid until the next udpio_recv() or udpio_free(). */
struct udpio_dgram {
	uint8_t               *data;
	size_t                 len;
	const struct sockaddr *from; /* the source; popd learns endpoints */
	socklen_t              fromlen;
	/* With UDPIO_PKTINFO: where it arrived (ifindex 0 and local.family
	 * 0 when the kernel did not say). */
	int            ifindex;
	struct wp_addr local;
};

struct udpio;

/*
 * An udpio over `fd` (a nonblocking or blocking UDP socket; every call
 * uses MSG_DONTWAIT).  Sets UDP_GRO on fd, or clears it when GRO is off
 * (an earlier udpio may have set it), and IP_PKTINFO/IPV6_RECVPKTINFO
 * with UDPIO_PKTINFO.  conf may be NULL for the defaults.  NULL with
 * errno set (ENOMEM, EINVAL for sizes out of range); udpio_free() frees,
 * and leaves fd open.
 */
struct udpio *udpio_new(int fd, const struct udpio_conf *);
void          udpio_free(struct udpio *);
/* UDPIO_GSO | UDPIO_GRO as they are now. */
unsigned                  udpio_offloads(const struct udpio *);
const struct udpio_stats *udpio_stats(const struct udpio *);

/*
 * One recvmmsg: the number of datagrams received (> 0), 0 when there was
 * nothing (EAGAIN), or -1 with errno (ECONNREFUSED after an ICMP error on
 * a connected socket, say; counted in rx_errors).  Messages that cannot be
 * split safely are dropped and counted, never handed out.
 */
int udpio_recv(struct udpio *);
/* The next datagram of the last udpio_recv() into *d: 1, or 0 when all
 * have been handed out. */
int udpio_next(struct udpio *, struct udpio_dgram *d);

/*
 * Room for the next datagram: a pointer into the send arena and in *cap
 * the bytes it may take (at most UDPIO_DGRAM_MAX).  NULL when the queue
 * is full (flush first).  Write the datagram there, then udpio_commit().
 * A caller that needs more than *cap flushes and asks again.
 */
uint8_t *udpio_slot(struct udpio *, size_t *cap);
/*
 * Queues the len bytes written at the last udpio_slot() for dst (NULL
 * on a connected socket, which is then sent with no msg_name).  0, or -1
 * with errno EINVAL (len over the slot's cap, dstlen over a sockaddr_in6).
 */
int udpio_commit(
    struct udpio *, size_t len, const struct sockaddr *dst, socklen_t dstlen);
/* udpio_slot(), a copy of buf and udpio_commit(): 0, or -1 with errno
 * ENOBUFS when it does not fit (flush first) or EINVAL. */
int udpio_queue(struct udpio *, const void *buf, size_t len,
    const struct sockaddr *dst, socklen_t dstlen);
/* Datagrams queued and not yet sent. */
size_t udpio_pending(const struct udpio *);

/*
 * Sends everything queued: runs of datagrams to the same destination
 * with the same size (the last may be shorter and ends the run), at most
 * UDPIO_GSO_SEGS and UDPIO_GSO_BYTES4/6 bytes, become one UDP_SEGMENT
 * message each, all in as few sendmmsg calls as `batch` allows.
 *
 * Returns the datagrams the kernel took.  A datagram the kernel refuses
 * (ECONNREFUSED, ENETUNREACH, ...) is counted by errno and skipped.  A
 * full socket buffer (EAGAIN) stops the flush and leaves the rest queued,
 * in order: flush again when the socket is writable, or udpio_discard().
 * A flush never retries a refusal, so it always ends.
 */
int udpio_flush(struct udpio *);
/* Drops what is queued (counted in tx_dropped). */
void udpio_discard(struct udpio *);
/* The data path's flush: udpio_flush(), then what a full socket buffer
 * left is dropped (udpio_discard()), as a full device queue would drop
 * it, rather than kept for a writable event.  Returns what went out. */
int udpio_send(struct udpio *);
/* Datagrams queued that did not go out: refused by the kernel, or
 * dropped. */
uint64_t udpio_tx_failed(const struct udpio_stats *);

/*
 * Socket buffers of `bytes` each way: SO_RCVBUFFORCE/SO_SNDBUFFORCE
 * (CAP_NET_ADMIN, past net.core.[rw]mem_max), else SO_RCVBUF/SO_SNDBUF
 * (capped by the sysctl).  What the kernel then reports (twice what it
 * took, socket(7)) in *rcv and *snd if not NULL.  0, or -1 with errno.
 */
int udpio_bufsize(int fd, int bytes, int *rcv, int *snd);
/*
 * The kernel's choice in fd's SO_REUSEPORT group of sockets, once all
 * are bound: wire_steer() (wire.h) of a datagram's worker byte and
 * session (bytes 2 and 4-7 of the UDP payload) over `workers`, the place
 * of that worker's socket in the group (the order they were bound in),
 * so that each datagram reaches the worker whose tunnel holds its
 * sender's replay windows.  What is too short for them goes to socket 0,
 * and is refused there.  0, or -1 with errno.
 */
int udpio_steer_workers(int fd, unsigned workers);

/*
 * The run planner, pure, over the queue: the queued datagrams q[0..nq)
 * grouped into messages, at most maxruns.  A run of one datagram has seg
 * 0 (no UDP_SEGMENT); max_segs 1 plans with no GSO at all.  Returns the
 * number of runs; the datagrams they cover are a prefix of q.
 */
union udpio_sa {
	struct sockaddr     sa;
	struct sockaddr_in  sin;
	struct sockaddr_in6 sin6;
};

struct udpio_txd {
	uint32_t       off;    /* in the send arena */
	uint32_t       len;    /* bytes */
	socklen_t      dstlen; /* 0: connected, no msg_name */
	union udpio_sa dst;
};

struct udpio_run {
	size_t   first, n; /* datagrams q[first..first + n) */
	size_t   bytes;    /* their length together */
	uint16_t seg;      /* segment size, 0 for an unsegmented message */
};

size_t udpio_plan(const struct udpio_txd *q, size_t nq, unsigned max_segs,
    size_t max_bytes, struct udpio_run *runs, size_t maxruns);

/*
 * The size a UDP_GRO control message gives (the kernel writes an int;
 * a two-byte one is read too), 0 when there is none or it is too short.
 * -1 when msg_flags has MSG_CTRUNC: the boundaries are then unknown.
 */
int udpio_gro_size(const struct msghdr *);

/* For tests only: the syscalls udpio calls, to inject their results. */
struct udpio_sys {
	int (*recvmmsg)(
	    int, struct mmsghdr *, unsigned, int, struct timespec *);
	int (*sendmmsg)(int, struct mmsghdr *, unsigned, int);
};
void udpio_set_sys(struct udpio *, const struct udpio_sys *);

#endif
