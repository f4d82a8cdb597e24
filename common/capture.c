#include "autoconf.h"

#include <pcap/dlt.h>

#include "buf.h"
#include "capture.h"
#include "pkt.h"

#define ETHERTYPE_IPV4     0x0800
#define ETHERTYPE_IPV6     0x86dd
#define ETHERTYPE_VLAN     0x8100 /* IEEE 802.1Q */
#define ETHERTYPE_QINQ     0x88a8 /* IEEE 802.1ad */
#define ETHERTYPE_QINQ_OLD 0x9100 /* pre-standard QinQ, still seen */
/* More stacked tags than this is not a real network. */
#define MAX_VLAN_TAGS 4

/* libpcap's LINKTYPE_IPV4/IPV6 are mapped to these DLT values. */
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif
#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

int
capture_linktype_supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_NULL:
	case DLT_LOOP:
		return 1;
	}
	return 0;
}

static int
ethertype_ip(uint16_t type)
{
	return type == ETHERTYPE_IPV4 || type == ETHERTYPE_IPV6;
}

static int
ethernet(struct rbuf *b, size_t *off)
{
	uint16_t type;
	int      tags = 0;

	/* destination and source MAC */
	if (rbuf_skip(b, 12) == -1 || rbuf_get_u16(b, &type) == -1)
		return PKT_ERR_TRUNCATED;
	while (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ ||
	    type == ETHERTYPE_QINQ_OLD) {
		if (++tags > MAX_VLAN_TAGS)
			return PKT_ERR_NOT_IP;
		/* tag control information, then the inner type */
		if (rbuf_skip(b, 2) == -1 || rbuf_get_u16(b, &type) == -1)
			return PKT_ERR_TRUNCATED;
	}
	if (!ethertype_ip(type))
		return PKT_ERR_NOT_IP;
	*off = b->off;
	return 0;
}

/* BSD loopback: a 4-byte address family, host order for DLT_NULL and
 * network order for DLT_LOOP.  The IPv6 value differs per BSD. */
static int
loopback(struct rbuf *b, int dlt, size_t *off)
{
	uint32_t af;

	if (rbuf_get_u32(b, &af) == -1)
		return PKT_ERR_TRUNCATED;
	if (dlt == DLT_NULL && (af & 0xffff) == 0)
		af = __builtin_bswap32(af);
	switch (af) {
	case 2:  /* AF_INET everywhere */
	case 10: /* Linux AF_INET6 */
	case 24: /* OpenBSD, NetBSD AF_INET6 */
	case 28: /* FreeBSD AF_INET6 */
	case 30: /* macOS AF_INET6 */
		*off = b->off;
		return 0;
	}
	return PKT_ERR_NOT_IP;
}

int
capture_ip_offset(int dlt, const uint8_t *p, size_t caplen, size_t *off)
{
	struct rbuf b;
	uint16_t    type;

	rbuf_init(&b, p, caplen);
	switch (dlt) {
	case DLT_EN10MB:
		return ethernet(&b, off);
	case DLT_LINUX_SLL:
		/* 16 bytes: packet type, ARPHRD, address length, 8-byte
		 * address, then the protocol (ethertype) at offset 14. */
		if (rbuf_peek_u16(&b, 14, &type) == -1)
			return PKT_ERR_TRUNCATED;
		if (!ethertype_ip(type))
			return PKT_ERR_NOT_IP;
		*off = 16;
		return 0;
	case DLT_LINUX_SLL2:
		/* 20 bytes, the protocol first. */
		if (rbuf_peek_u16(&b, 0, &type) == -1 || caplen < 20)
			return PKT_ERR_TRUNCATED;
		if (!ethertype_ip(type))
			return PKT_ERR_NOT_IP;
		*off = 20;
		return 0;
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		*off = 0;
		return 0;
	case DLT_NULL:
	case DLT_LOOP:
		return loopback(&b, dlt, off);
	}
	return PKT_ERR_NOT_IP;
}
