/*
 * A bounded FIFO of messages waiting to be sent (popd/cluster.c: the
 * cluster's multicasts that corosync holds back with CS_ERR_TRY_AGAIN).
 * At most `max` messages of at most SENDQ_MSG_MAX bytes each, allocated
 * at sendq_new(); a push past either bound is refused and counted, never
 * grown into.  Pure: no I/O, no logging, no clock.
 */
#ifndef WANPAIR_SENDQ_H
#define WANPAIR_SENDQ_H

#include <stddef.h>
#include <stdint.h>

#include "clustersync.h"

#define SENDQ_MSG_MAX CLUSTERSYNC_MAX_LEN

struct sendq;

/* NULL if out of memory (or max is 0); sendq_free() frees it. */
struct sendq *sendq_new(size_t max);
void          sendq_free(struct sendq *);

/* Appends a copy of msg.  0, or -1 if the queue is full (counted in
 * sendq_overflows()) or len is 0 or more than SENDQ_MSG_MAX. */
int sendq_push(struct sendq *, const uint8_t *msg, size_t len);
/* The oldest message and its length, or NULL if empty; it stays queued
 * (and the pointer good) until sendq_pop() or sendq_clear(). */
const uint8_t *sendq_peek(const struct sendq *, size_t *len);
void           sendq_pop(struct sendq *);
/* Drops every message (the overflow count stays). */
void sendq_clear(struct sendq *);

size_t   sendq_depth(const struct sendq *);
size_t   sendq_max(const struct sendq *);
uint64_t sendq_overflows(const struct sendq *);

#endif
