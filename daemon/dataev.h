/*
 * The data plane's events, on the main loop: what both daemons do with
 * the tunnel_evq (common/tunnel.h) that their datagram loop fills, after
 * the batch.  Keys (NEED_KEY: derive; PEER_EPOCH, EXHAUSTED: log) are
 * handled here alike; announcing an epoch (REKEY) and link events (a
 * probe answered, a link probing again) go to the daemon's hook.
 */
#ifndef WANPAIR_DATAEV_H
#define WANPAIR_DATAEV_H

#include <event2/event.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "dup.h"
#include "tun.h"
#include "tunnel.h"
#include "udpio.h"

struct dataev_ops {
	/* The tunnel of `session` and the hooks' `owner` for it (socketd:
	 * the daemon; popd: the session), or NULL: the session is gone
	 * and its events with it. */
	struct tunnel *(*find)(void *arg, uint32_t session, void **owner);
	/* What log lines about owner start with ("site NAME: "), or NULL:
	 * nothing. */
	void (*who)(void *owner, char *buf, size_t len);
	/* REKEY (the tunnel sealed its first packet of an epoch: tell the
	 * peer), PROBE, LINK_BACK. */
	void (*event)(void *arg, void *owner, const struct tunnel_ev *);
	/* NEED_KEY when set (a daemon with a tunnel per worker, each
	 * under its lock): 0, or -1 when a key cannot be derived yet;
	 * else tunnel_refill() on find()'s tunnel. */
	int (*refill)(void *arg, void *owner);
	/* 1 if this end seals the up direction (socketd), 0 (popd). */
	int tx_up;
};

/* A datagram loop's queue, and the main-loop event that drains it. */
struct dataev {
	struct tunnel_evq        q;
	struct event            *ev;
	const struct dataev_ops *ops;
	void                    *arg; /* the hooks' */
};

/* An empty queue and its event on base: 0, or -1. */
int dataev_start(
    struct dataev *, struct event_base *, const struct dataev_ops *, void *arg);
/* Frees the event; events still queued are dropped. */
void dataev_stop(struct dataev *);
/* After a batch: if it pushed anything, the main loop drains it next
 * (dataev_drain()), not the datagram loop now. */
void dataev_kick(struct dataev *);
/* Handles every event on the queue, oldest first. */
void dataev_drain(struct dataev *);

/* The "duplicates" object of the counters (daemon/metrics.h): sent,
 * delivered, discarded, over_cap, single, bad.  NULL if out of memory. */
json_t *dataev_dup_json(const struct dup_counters *);

/* A daemon's own drop reason, for dataev_drops_json(). */
struct dataev_drop {
	const char *name;
	uint64_t    n;
};

/* The counters' "drops" object: what both daemons count (bad_header,
 * no_session, replayed, unauthenticated, key_exhausted, tun_write: the
 * TUN devices' write_errors, wrong_worker), then the daemon's own
 * reasons.  NULL if out of memory. */
json_t *dataev_drops_json(const struct tunnel_drops *, uint64_t tun_write,
    const struct dataev_drop *own, size_t nown);

/*
 * The counters' "io" object: how the data path meets the kernel.
 * "offload": the TUN device's offloads ("tso4 tso6 uso4 uso6", "" for
 * none) and whether the sockets send with UDP_SEGMENT and receive with
 * UDP_GRO now (an offload the kernel refuses is turned off on its own);
 * then the system calls and what each carried: TUN reads and writes,
 * super-segments read, packets written merged, reads that could not be
 * cut; recvmmsg/sendmmsg calls, datagrams, messages sent segmented and
 * received coalesced, datagrams the kernel refused or had no room for.
 * The TUN figures are summed over td[0..ntd) (a device's queues, one
 * per worker; ntd >= 1), the sockets' over io[0..nio).  NULL if out of
 * memory.
 */
json_t *dataev_io_json(const struct tun_dev *const *td, size_t ntd,
    struct udpio *const *io, size_t nio);

#endif
