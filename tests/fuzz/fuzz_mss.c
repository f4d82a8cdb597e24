#include "autoconf.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mss.h"
#include "pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * MSS clamping writes into packets a LAN host or the Internet chose.  On
 * a copy of exactly the input's size (so AddressSanitizer sees any byte
 * past it), with several MSS values: 0 means not one byte changed; 1
 * means the input is a SYN pkt_parse() accepts and only its TCP
 * checksum and option bytes changed, without moving the one's
 * complement sum of the header (a right checksum stays right), and a
 * second clamp finds nothing to do.
 */
static const uint16_t mss_values[] = {0, 536, 1220, 1380, 1400, 65535};

/* Folded one's complement sum, with +0 and -0 the same (RFC 1071). */
static uint32_t
sum16(const uint8_t *p, size_t len)
{
	uint32_t s = 0;
	size_t   i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s == 0xffff ? 0 : s;
}

static void
check_changed(const uint8_t *orig, const uint8_t *p, size_t size)
{
	struct pkt_info pi;
	size_t          l4, hl;

	if (pkt_parse(orig, size, 0, &pi) != PKT_OK ||
	    pi.proto != IPPROTO_TCP || pi.frag == PKT_FRAG_LATER ||
	    !(pi.tcp_flags & PKT_TCP_SYN))
		abort();
	l4 = pi.l4_off;
	if (l4 + 20 > size)
		abort();
	hl = (size_t)(orig[l4 + 12] >> 4) * 4;
	if (hl < 20 || l4 + hl > size)
		abort();
	/* IP and TCP header up to the checksum, urgent pointer, data */
	if (memcmp(p, orig, l4 + 16) != 0 ||
	    memcmp(p + l4 + 18, orig + l4 + 18, 2) != 0 ||
	    memcmp(p + l4 + hl, orig + l4 + hl, size - l4 - hl) != 0)
		abort();
	if (sum16(p + l4, hl) != sum16(orig + l4, hl))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p;
	size_t   i;
	int      rc;

	if ((p = malloc(size ? size : 1)) == NULL)
		abort();
	for (i = 0; i < sizeof(mss_values) / sizeof(mss_values[0]); i++) {
		if (size > 0)
			memcpy(p, data, size);
		rc = mss_clamp(p, size, mss_values[i]);
		if (rc == 0) {
			if (size > 0 && memcmp(p, data, size) != 0)
				abort();
			continue;
		}
		if (rc != 1)
			abort();
		check_changed(data, p, size);
		if (mss_clamp(p, size, mss_values[i]) != 0)
			abort();
	}
	free(p);
	return 0;
}
