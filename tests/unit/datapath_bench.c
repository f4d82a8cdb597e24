/*
 * datapath_bench seal|open PACKETS plain|offload: PACKETS 1400-byte TCP
 * segments (rounds of 44) through socketd's tunnel path with its I/O
 * swapped (datapath.h), for callgrind: tests/check-instructions counts
 * the instructions of measure_seal() or measure_open() alone
 * (--toggle-collect), which do nothing but hand the prepared packets to
 * the daemon, run its turn of the event loop, and take what came out.
 * Building and sealing the input happens before, outside.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datapath.h"

#define ROUND 44

static struct harness h;
static uint8_t        super[VNET_READ_MAX]; /* seal, offload: one read */
static size_t         superlen;
static uint8_t        plain[ROUND][SEG + 64]; /* seal, plain: 44 reads */
static size_t         plainlen[ROUND];
static uint8_t       *sealed; /* open: every datagram, prepared */
static size_t        *sealedlen;

size_t measure_seal(unsigned rounds);
size_t measure_open(unsigned rounds);

static void
prepare_seal(void)
{
	static const uint8_t  pay[ROUND * SEG];
	struct pkt_flow       f = {0, IPPROTO_TCP, 40000, 443, 1, 64, 65535, 0};
	struct virtio_net_hdr vh;
	unsigned              i;

	memset(&vh, 0, sizeof(vh));
	vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	vh.gso_size = SEG;
	vnet_hdr_encode(&vh, super);
	superlen = VNET_HDR_LEN +
	    mk_pkt(super + VNET_HDR_LEN, &f, 1000, 1, F_ACK, pay, sizeof(pay));
	for (i = 0; i < ROUND; i++)
		plainlen[i] = mk_pkt(
		    plain[i], &f, 1000 + i * SEG, (uint16_t)i, F_ACK, pay, SEG);
}

static void
prepare_open(unsigned n)
{
	static const uint8_t pay[SEG];
	struct pkt_flow      f = {0, IPPROTO_TCP, 443, 40000, 7, 64, 65535, 0};
	uint8_t              seg[SEG + 64];
	size_t               len;
	unsigned             i;
	int                  d;

	sealed = malloc((size_t)n * (SEG + 128));
	sealedlen = calloc(n, sizeof(*sealedlen));
	if (sealed == NULL || sealedlen == NULL)
		exit(1);
	for (i = 0; i < n; i++) {
		len = mk_pkt(seg, &f, 5000 + i * SEG, (uint16_t)i, F_ACK, pay,
		    sizeof(pay));
		d = tunnel_seal(h.peer, &h.pq, WIRE_DATA, 0, seg, len,
		    sealed + (size_t)i * (SEG + 128), SEG + 128);
		if (d <= 0)
			exit(1);
		sealedlen[i] = (size_t)d;
		harness_peer_keys(&h);
	}
}

/* Drains what came out at fd, counting datagrams or reads. */
static size_t
drain(int fd)
{
	size_t got = 0;

	while (recv(fd, h_dgram, sizeof(h_dgram), 0) > 0)
		got++;
	return got;
}

size_t
measure_seal(unsigned rounds)
{
	size_t   got = 0;
	unsigned r, i;

	for (r = 0; r < rounds; r++) {
		if (h.vnet)
			(void)send(h.tun[1], super, superlen, 0);
		else
			for (i = 0; i < ROUND; i++)
				(void)send(h.tun[1], plain[i], plainlen[i], 0);
		(void)event_base_loop(h.base, EVLOOP_NONBLOCK);
		got += drain(h.pop);
	}
	return got;
}

size_t
measure_open(unsigned rounds)
{
	size_t   got = 0, k;
	unsigned r, i;

	for (r = 0; r < rounds; r++) {
		for (i = 0; i < ROUND; i++) {
			k = (size_t)r * ROUND + i;
			(void)sendto(h.pop, sealed + k * (SEG + 128),
			    sealedlen[k], 0, (struct sockaddr *)&h.link,
			    sizeof(h.link));
		}
		(void)event_base_loop(h.base, EVLOOP_NONBLOCK);
		got += drain(h.tun[1]);
	}
	return got;
}

int
main(int argc, char **argv)
{
	unsigned n, rounds;
	size_t   got;
	int      open;

	if (argc != 4 ||
	    (strcmp(argv[1], "seal") != 0 && strcmp(argv[1], "open") != 0) ||
	    (n = (unsigned)strtoul(argv[2], NULL, 10)) < ROUND ||
	    (strcmp(argv[3], "plain") != 0 &&
		strcmp(argv[3], "offload") != 0)) {
		fprintf(stderr,
		    "usage: datapath_bench seal|open PACKETS plain|offload\n");
		return 2;
	}
	open = strcmp(argv[1], "open") == 0;
	rounds = n / ROUND;
	if (harness_up(&h, strcmp(argv[3], "offload") == 0) == -1)
		return 1;
	/* warm-up: the flow is in the table, every buffer touched */
	(void)harness_seal(&h, ROUND, 0);
	(void)harness_open(&h, ROUND);
	h.seq_in = 5000;
	prepare_seal();
	if (open)
		prepare_open(rounds * ROUND);
	got = open ? measure_open(rounds) : measure_seal(rounds);
	printf("%s %s: %u packets in, %zu %s out\n", argv[1], argv[3],
	    rounds * ROUND, got, open ? "writes" : "datagrams");
	harness_down(&h);
	free(sealed);
	free(sealedlen);
	return got == 0;
}
