/*
 * The data plane's events, on the main loop: what both daemons do with
 * the tunnel_evq (common/tunnel.h) that their datagram loop fills, after
 * the batch.  Keys (NEED_KEY: derive; PEER_EPOCH, EXHAUSTED: log) are
 * handled here alike; announcing an epoch (REKEY) and link events (a
 * probe answered, a link probing again) go to the daemon's hook.
 */
#ifndef WANPAIR_DATAEV_H
#define WANPAIR_DATAEV_H

#include <stddef.h>
#include <stdint.h>

#include "tunnel.h"

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
	/* 1 if this end seals the up direction (socketd), 0 (popd). */
	int tx_up;
};

/* Handles every event on q, oldest first. */
void dataev_drain(struct tunnel_evq *q, const struct dataev_ops *, void *arg);

#endif
