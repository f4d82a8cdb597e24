/*
 * The TUN device and the few routing changes the daemons make, on Linux
 * (tun-linux.c, netlink-linux.c).  Returns 0 / -1 with errno set;
 * nothing here prints or exits.
 */
#ifndef WANPAIR_TUN_H
#define WANPAIR_TUN_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct event;

/*
 * A daemon's TUN device as its main loop holds it (socketd and popd
 * alike): fd -1 until tun_open(); the MSS clamps follow the MTU
 * (mss.h); ev is the libevent read event, the daemon's to free.
 */
struct tundev_io;

struct tun_dev {
	int               fd;
	char              name[IFNAMSIZ];
	int               mtu;
	uint16_t          mss4, mss6;
	struct event     *ev;
	uint64_t          write_errors; /* packets the device did not take */
	struct tundev_io *io;           /* daemon/tundev.c's buffers */
};

/*
 * Opens (creating if needed) the TUN device `name` (IFF_TUN | IFF_NO_PI:
 * bare IP packets), non-blocking and close-on-exec.  The kernel's name
 * goes into ifname (at least IFNAMSIZ bytes).  Returns the fd, or -1.
 */
int tun_open(const char *name, char *ifname, size_t ifnamelen);
/* tun_open(), with IFF_VNET_HDR if vnet: every read and write then
 * starts with a struct virtio_net_hdr (common/vnet.h). */
int tun_open_vnet(const char *name, char *ifname, size_t ifnamelen, int vnet);
/* tun_open_vnet(), and with mq one queue of a multi-queue device
 * (IFF_MULTI_QUEUE): each open adds a queue, which the kernel fills with
 * whole flows (by their hash); every queue takes writes.  A device made
 * without mq refuses a queue with EINVAL, and the other way round. */
int tun_open_queue(
    const char *name, char *ifname, size_t ifnamelen, int vnet, int mq);
/* TUNSETOFFLOAD on a device opened with vnet: the TUN_F_* bits of
 * `want` the kernel took (without the USO ones on a kernel before 6.2,
 * which refuses them), or -1 with errno. */
int tun_offload(int fd, unsigned want);
/*
 * On a multi-queue device: the queue of each packet is a hash of its
 * flow (TUNSETSTEERINGEBPF), not the kernel's choice, which learns from
 * writes and would put every flow on the queue its replies are written
 * to.  Needs CAP_BPF or CAP_SYS_ADMIN.  0, or -1 with errno.
 */
int tun_steer_flows(int fd);
/* Sets the MTU and brings the interface up. */
int tun_up(const char *ifname, int mtu);
/* The MTU of any interface (a WAN link's device), or -1. */
int if_get_mtu(const char *ifname);
/* The interface index, or 0 if there is none. */
unsigned if_index(const char *ifname);

/* Adds (or replaces) a route for `prefix` through interface `ifname`
 * (rtnetlink RTM_NEWROUTE, scope link, protocol static). */
int route_add(const char *ifname, const struct wp_prefix *);
/* Removes it again; a route already gone is not an error. */
int route_del(const char *ifname, const struct wp_prefix *);

/*
 * Carrier events: a NETLINK_ROUTE socket subscribed to link changes
 * (RTMGRP_LINK), non-blocking; the caller reads it when readable and
 * hands the bytes to link_events_parse(), which calls cb once per link
 * message: the interface index and whether its carrier is there
 * (RTM_NEWLINK with IFF_LOWER_UP; RTM_DELLINK counts as no carrier).  The
 * kernel repeats RTM_NEWLINK for unrelated changes, so cb sees the same
 * state again: link_carrier() ignores repeats.  The parser is pure and
 * never reads past len; it returns the number of link messages, or -1.
 */
typedef void (*link_event_cb)(void *arg, unsigned ifindex, int carrier);

int link_events_open(void);
int link_events_parse(
    const uint8_t *buf, size_t len, link_event_cb cb, void *arg);

#endif
