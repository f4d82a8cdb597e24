/*
 * TCP MSS clamping on SYNs, so that no packet of a TCP connection through
 * the tunnel needs fragmenting (the tunnel adds WIRE_LINK_OVERHEAD*).
 *
 * mss_clamp() is pure: given an IPv4 or IPv6 packet (bytes from the IP
 * header), if it is a TCP SYN whose MSS option exceeds `mss`, the option
 * is lowered to `mss` and the TCP checksum updated incrementally
 * (RFC 1624).  A SYN without an MSS option is left alone (the peer then
 * assumes 536 / 1220, below any tunnel MTU).  Never reads past `len`.
 * Returns 1 if the packet was changed, 0 if not.
 */
#ifndef WANPAIR_MSS_H
#define WANPAIR_MSS_H

#include <stddef.h>
#include <stdint.h>

int mss_clamp(uint8_t *pkt, size_t len, uint16_t mss);
/* The MSS that fits an inner MTU: MTU - IP header (20 or 40) - TCP (20). */
uint16_t mss_for_mtu(int family, int mtu);

#endif
