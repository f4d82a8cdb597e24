/*
 * The TUN device and the few routing changes the daemons make, on Linux
 * (tun-linux.c, netlink-linux.c).  Returns 0 / -1 with errno set;
 * nothing here prints or exits.
 */
#ifndef WANPAIR_TUN_H
#define WANPAIR_TUN_H

#include <stddef.h>

#include "addr.h"

/*
 * Opens (creating if needed) the TUN device `name` (IFF_TUN | IFF_NO_PI:
 * bare IP packets), non-blocking and close-on-exec.  The kernel's name
 * goes into ifname (at least IFNAMSIZ bytes).  Returns the fd, or -1.
 */
int tun_open(const char *name, char *ifname, size_t ifnamelen);
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

#endif
