#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vnet.h"

#include "../unit/vnet_pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * TUN offloads, both ways; the first byte chooses.
 *
 * 0: the input is one TUN read for vnet_split(), on a copy of exactly its
 *    size.  A refusal changes no byte; a GSO read gives segments whose
 *    checksums a receiver accepts and whose payloads add up to the read's;
 *    a plain read comes back as it is, but for a finished checksum.
 * 1: the input is packets (each a 2-byte length, then its bytes) for
 *    vnet_coalesce(); every write splits back, and what comes back is
 *    the packets that went in, each one once, byte for byte (a checksum
 *    of 0xffff may come back as the equal 0).
 * 2: the input describes a TSO/USO read (family, protocol, gso_size,
 *    length, flags, then payload bytes) built by vnet_pkt.h: it splits
 *    into valid segments, and those merge and split into the same again.
 */
#define MAXPKT 128

static uint8_t area[VNET_SPLIT_AREA(MAXPKT) * 2];
/* split's segments repeat the headers: more than a read's bytes */
static uint8_t         outb[VNET_GRO_AREA(VNET_SPLIT_AREA(MAXPKT), MAXPKT)];
static struct vnet_seg segs[MAXPKT], back[MAXPKT], in[MAXPKT], w[MAXPKT];

/* Bytes of p[0..len) outside the checksums the coalescer rewrites: an
 * IPv4 header checksum and a TCP checksum of 0xffff read as 0. */
static int
same_pkt(const uint8_t *a, const uint8_t *b, size_t len)
{
	static uint8_t x[65536], y[65536];
	size_t         l4, at[2], i;

	if (memcmp(a, b, len) == 0)
		return 1;
	if (len < 20 || len > sizeof(x))
		return 0;
	memcpy(x, a, len);
	memcpy(y, b, len);
	l4 = l4_off(a);
	at[0] = a[0] >> 4 == 4 ? 10 : 0;
	at[1] = l4 + 16;
	for (i = 0; i < 2; i++) {
		if (at[i] == 0 || at[i] + 2 > len)
			continue;
		if (PEEK_U16(x + at[i]) == 0xffff)
			POKE_U16(x + at[i], 0);
		if (PEEK_U16(y + at[i]) == 0xffff)
			POKE_U16(y + at[i], 0);
	}
	return memcmp(x, y, len) == 0;
}

/* The split of a GSO read: every segment valid, the payloads add up. */
static void
check_gso_segs(const uint8_t *pkt, size_t plen, int n)
{
	size_t hl = 0, pay = 0, i;

	if (n < 1 || (size_t)n > MAXPKT)
		abort();
	for (i = 0; i < (size_t)n; i++) {
		const uint8_t *s = segs[i].p;

		if (s < area || s + segs[i].len > area + sizeof(area) ||
		    !ip_csum_ok(s) || !l4_csum_ok(s, segs[i].len))
			abort();
		hl = l4_off(s) +
		    (is_tcp(s) ? (size_t)(s[l4_off(s) + 12] >> 4) * 4 : 8);
		if (hl >= segs[i].len ||
		    memcmp(s + hl, pkt + hl + pay, segs[i].len - hl) != 0)
			abort();
		pay += segs[i].len - hl;
	}
	if (pay + hl != plen)
		abort();
}

static void
fuzz_split(const uint8_t *data, size_t size)
{
	uint8_t              *b;
	struct virtio_net_hdr h;
	int                   n;
	size_t                i;

	if ((b = malloc(size ? size : 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(b, data, size);
	n = vnet_split(b, size, area, sizeof(area), segs, MAXPKT);
	if (n < 0) {
		if (size > 0 && memcmp(b, data, size) != 0)
			abort();
	} else if (vnet_hdr_decode(data, size, &h) == -1)
		abort();
	else if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE)
		check_gso_segs(b + VNET_HDR_LEN, size - VNET_HDR_LEN, n);
	else {
		if (n != 1 || segs[0].p != b + VNET_HDR_LEN ||
		    segs[0].len != size - VNET_HDR_LEN)
			abort();
		for (i = 0; i < size; i++)
			if (b[i] != data[i] &&
			    (!(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) ||
				i < VNET_HDR_LEN + (size_t)h.csum_start +
					h.csum_offset ||
				i >= VNET_HDR_LEN + (size_t)h.csum_start +
					h.csum_offset + 2))
				abort();
	}
	free(b);
}

/* Splits writes w[0..nw) back into back[], the segments' bytes into
 * dst[0..room); returns how many. */
static size_t
split_back(int nw, uint8_t *dst, size_t room)
{
	static uint8_t wb[VNET_READ_MAX];
	size_t         nb = 0, at = 0;
	int            k, m;

	for (k = 0; k < nw; k++) {
		if (w[k].len > sizeof(wb))
			abort();
		memcpy(wb, w[k].p, w[k].len);
		m = vnet_split(
		    wb, w[k].len, dst + at, room - at, back + nb, MAXPKT - nb);
		if (m < 1)
			abort();
		if (back[nb].p == wb + VNET_HDR_LEN) {
			/* a plain write: keep its packet past wb's reuse */
			memcpy(dst + at, back[nb].p, back[nb].len);
			back[nb].p = dst + at;
		}
		for (; m > 0; m--, nb++)
			at += back[nb].len;
	}
	return nb;
}

static void
fuzz_coalesce(const uint8_t *data, size_t size)
{
	uint8_t used[MAXPKT];
	size_t  n = 0, len, nb, i, j;
	int     nw;

	while (size >= 2 && n < MAXPKT) {
		len = PEEK_U16(data);
		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		in[n].p = data;
		in[n++].len = len;
		data += len;
		size -= len;
	}
	nw = vnet_coalesce(in, n, outb, sizeof(outb), w, MAXPKT, NULL);
	if (nw < 0 || (size_t)nw > n)
		abort();
	/* Packets of 65536 bytes or more cannot be TUN reads. */
	for (i = 0; i < n; i++)
		if (in[i].len > VNET_PKT_MAX)
			return;
	if ((nb = split_back(nw, area, sizeof(area))) != n)
		abort();
	memset(used, 0, sizeof(used));
	for (i = 0; i < nb; i++) {
		for (j = 0; j < n; j++)
			if (!used[j] && in[j].len == back[i].len &&
			    same_pkt(in[j].p, back[i].p, in[j].len))
				break;
		if (j == n)
			abort();
		used[j] = 1;
	}
}

static void
fuzz_built(const uint8_t *data, size_t size)
{
	static uint8_t        rd[VNET_READ_MAX], pay[VNET_PKT_MAX];
	struct virtio_net_hdr h;
	struct pkt_flow       f;
	size_t                total, hl, i;
	int                   n, nw;

	if (size < 7)
		return;
	memset(&f, 0, sizeof(f));
	f.v6 = data[0] & 1;
	f.proto = data[0] & 2 ? IPPROTO_UDP : IPPROTO_TCP;
	f.optlen = data[0] & 4 ? 12 : 0;
	f.ttl = 64;
	memset(&h, 0, sizeof(h));
	h.gso_size = PEEK_U16(data + 1);
	h.gso_type = f.proto == IPPROTO_UDP ? VIRTIO_NET_HDR_GSO_UDP_L4
	    : f.v6                          ? VIRTIO_NET_HDR_GSO_TCPV6
					    : VIRTIO_NET_HDR_GSO_TCPV4;
	hl = hdrs_len(&f);
	total = PEEK_U16(data + 3) % (VNET_PKT_MAX - hl) + 1;
	for (i = 0; i < total; i++)
		pay[i] = size > 7 ? data[7 + i % (size - 7)] : 0;
	mk_pkt(rd + VNET_HDR_LEN, &f, PEEK_U16(data + 5), 1,
	    (data[0] & 0xf8) | F_ACK, pay, total);
	vnet_hdr_encode(&h, rd);
	n = vnet_split(rd, VNET_HDR_LEN + hl + total, area, sizeof(area) / 2,
	    segs, MAXPKT);
	if (h.gso_size == 0 ? n != VNET_ERR_GSO_SIZE
		: (total + h.gso_size - 1) / h.gso_size > MAXPKT
		? n != VNET_ERR_SPACE
		: n < 1)
		abort();
	if (n < 1)
		return;
	check_gso_segs(rd + VNET_HDR_LEN, hl + total, n);
	/* The segments merge back (TCP) and split into themselves. */
	memcpy(in, segs, (size_t)n * sizeof(segs[0]));
	nw = vnet_coalesce(in, (size_t)n, outb, sizeof(outb), w, MAXPKT, NULL);
	if (nw < 1 ||
	    split_back(nw, area + sizeof(area) / 2, sizeof(area) / 2) !=
		(size_t)n)
		abort();
	for (i = 0; i < (size_t)n; i++)
		if (back[i].len != in[i].len ||
		    !same_pkt(back[i].p, in[i].p, in[i].len))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_split(data + 1, size - 1);
		break;
	case 1:
		fuzz_coalesce(data + 1, size - 1);
		break;
	default:
		fuzz_built(data + 1, size - 1);
		break;
	}
	return 0;
}
