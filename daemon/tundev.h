/*
 * A daemon's TUN device (struct tun_dev, common/tun.h) brought up and
 * down the same way by socketd and popd: open, MTU and up, the MSS
 * clamps of that MTU, and its read event on the main loop.
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

int  tundev_up(struct tun_dev *, struct event_base *, const char *name, int mtu,
     event_callback_fn, void *arg);
void tundev_close(struct tun_dev *);
/* Writes one packet to the device.  A packet it does not take (a full
 * queue, the device going) is counted in write_errors, not logged: this
 * is the packet path. */
void tundev_write(struct tun_dev *, const uint8_t *pkt, size_t len);

#endif
