/*
 * A daemon's TUN device (struct tun_dev, common/tun.h) brought up and
 * down the same way by socketd and popd: open, offloads, MTU and up, the
 * MSS clamps of that MTU, its read event on the main loop, and the
 * batched packet I/O of the data path.
 *
 * With offload (`"offload": true`, the default) the device is opened
 * with IFF_VNET_HDR and TSO/USO (tun_offload()): one read may carry up
 * to 64 KiB of one TCP flow, which tundev_read() cuts into the IP
 * packets it stands for (vnet_split()); and the packets the data path
 * queues for the device (tundev_slot(), tundev_commit()) go out at
 * tundev_flush() as few writes as GRO would make of them
 * (vnet_coalesce()).  Without, one read is one packet and a packet
 * queued is written at once.  Either way the buffers are allocated once,
 * by tundev_up(): nothing here allocates or logs per packet.
 *
 * tundev_up() returns 0, or -1 having logged why (the device's name and
 * strerror); what it opened stays in the tun_dev for tundev_close(),
 * which frees and closes whatever is there.
 */
#ifndef WANPAIR_TUNDEV_H
#define WANPAIR_TUNDEV_H

#include <event2/event.h>
#include <stddef.h>
#include <stdint.h>

#include "tun.h"

/* What the device did not take or could not be cut, for the counters. */
struct tundev_stats {
	uint64_t reads, writes; /* system calls */
	uint64_t pkts_in;       /* packets read (after cutting) */
	uint64_t pkts_out;      /* packets queued for writing */
	uint64_t split_errors;  /* reads refused by vnet_split() */
	uint64_t csum_bad;      /* packets not merged: bad checksum */
	uint64_t superseg_in;   /* reads that were super-segments */
	uint64_t merged_out;    /* packets written in a super-segment */
};

/* mq: a multi-queue device (IFF_MULTI_QUEUE), this its first queue;
 * tundev_queue() opens the others. */
int tundev_up(struct tun_dev *, struct event_base *, const char *name, int mtu,
    int offload, int mq, event_callback_fn, void *arg);
/* Another queue of dev (opened with mq) in q: same offloads and MTU,
 * buffers of its own, no event (its worker polls q->fd).  0, or -1
 * logged. */
int  tundev_queue(struct tun_dev *q, const struct tun_dev *dev);
void tundev_close(struct tun_dev *);
/* The data path over an fd that is already open (tundev_up()'s, or a
 * socketpair standing in for the device in check suites), with or
 * without vnet headers: 0, or -1.  No event with a NULL base. */
int tundev_attach(struct tun_dev *, struct event_base *, int fd, int mtu,
    int vnet, event_callback_fn, void *arg);
/* The TUN_F_* offloads in use (0 without offload). */
unsigned                   tundev_offloads(const struct tun_dev *);
const struct tundev_stats *tundev_stats(const struct tun_dev *);

/* One packet the device gave: writable (an MSS clamp), valid until the
 * next tundev_read(). */
typedef void (*tundev_pkt_fn)(void *arg, uint8_t *pkt, size_t len);
/* Up to `reads` reads of the device, each packet to fn in order;
 * returns the packets.  Stops at EAGAIN. */
size_t tundev_read(struct tun_dev *, unsigned reads, tundev_pkt_fn, void *);
/* Packets by the batch: the segments of one super-segment, or as many
 * plain reads as fit in the read buffer; valid until fn returns. */
typedef void (*tundev_batch_fn)(
    void *arg, uint8_t *const *pkts, const size_t *lens, unsigned n);
/* tundev_read(), handing fn a batch at a time. */
size_t tundev_read_batch(
    struct tun_dev *, unsigned reads, tundev_batch_fn, void *);

/* Room for the next packet to the device, *cap bytes (at least
 * WIRE_MAX_INNER); write it there, then tundev_commit() its length, or
 * nothing to drop it. */
uint8_t *tundev_slot(struct tun_dev *, size_t *cap);
void     tundev_commit(struct tun_dev *, size_t len);
/* Writes what is queued (with offload: merged where GRO would merge).
 * A packet the device does not take is counted in write_errors. */
void tundev_flush(struct tun_dev *);
/* One packet, written at once (the control side's). */
void tundev_write(struct tun_dev *, const uint8_t *pkt, size_t len);

#endif
