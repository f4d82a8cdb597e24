/*
 * Link layers of packet captures: where the IP header starts.
 *
 * capture_ip_offset() is pure: given a libpcap link type (DLT_*) and the
 * captured bytes of one frame, it finds the IP header or says why not.
 * Returns 0 with *off set, or PKT_ERR_NOT_IP (ARP, LLDP, an unknown
 * ethertype...) or PKT_ERR_TRUNCATED (the link header itself is cut off).
 * capture_linktype_supported() tells whether a capture can be read at all.
 */
#ifndef WANPAIR_CAPTURE_H
#define WANPAIR_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

int capture_linktype_supported(int dlt);
int capture_ip_offset(int dlt, const uint8_t *, size_t caplen, size_t *off);

#endif
