/*
 * gen-pcap: writes a synthetic capture for the replay tests.
 *
 * Every flow is a TCP or UDP conversation (IPv4, or IPv6 for a share of
 * them) between a LAN host and a lab "Internet" host; its packets go both
 * ways, so replay must fold both directions into one flow.  Flows start
 * evenly over the span; their packets follow 10 ms apart.  Output is
 * pcap (through libpcap) or pcapng (written here: libpcap cannot write
 * it), with the chosen link layer.
 *
 * -A writes the application mix of the rules test instead (apps[]): a
 * SIP call's signalling and media, DSCP-marked and plain TCP, in both
 * families, one flow each.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

#define MAXPKT 1600

struct event {
	uint64_t t_us;
	uint32_t flow;
	uint32_t idx;
};

static int    opt_flows = 1000, opt_pkts = 4, opt_v6pct = 0, opt_nonip = 0;
static double opt_span = 10.0;
static int    opt_dlt = DLT_EN10MB;
static int    opt_apps = 0;

/* -A: flow i is apps[i], LAN side first; dscp marks the LAN's packets. */
static const struct app {
	int         v6, tcp;
	const char *lan, *inet;
	uint16_t    lport, rport;
	uint8_t     dscp;
} apps[] = {
    {0, 0, "10.1.0.10", "192.0.2.10", 5060, 5060, 0},   /* SIP */
    {0, 0, "10.1.0.10", "192.0.2.20", 16384, 10000, 0}, /* RTP, low end */
    {0, 0, "10.1.0.10", "192.0.2.20", 16386, 20000, 0}, /* RTP, high end */
    {1, 0, "2001:db8:1::10", "2001:db8:ffff::20", 16388, 12000, 0},
    {0, 1, "10.1.0.11", "203.0.113.5", 40000, 443, 46}, /* EF */
    {1, 1, "2001:db8:1::11", "2001:db8:ffff::5", 40001, 8443, 46},
    {0, 1, "10.1.0.12", "203.0.113.6", 40002, 443, 0},   /* bulk */
    {0, 0, "10.1.0.12", "203.0.113.7", 40003, 20001, 0}, /* past RTP */
    {0, 1, "10.1.0.12", "203.0.113.8", 40004, 443, 34},  /* AF41 */
};
#define NAPPS (sizeof(apps) / sizeof(apps[0]))
static int opt_pcapng = 0;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: gen-pcap [-n flows] [-p packets-per-flow] "
	    "[-t span-seconds] [-6 ipv6-percent] [-a non-ip-frames] [-A]\n"
	    "    [-l en10mb|sll|sll2|raw] [-F pcap|pcapng] -o file\n");
	exit(2);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* Builds the IP packet of event (flow, idx) into p; returns its length. */
static size_t
build_ip(uint32_t flow, uint32_t idx, uint8_t *p)
{
	int      v6 = (int)(flow % 100) < opt_v6pct;
	int      tcp = flow % 2 == 0;
	int      reply = idx % 2 == 1;
	uint8_t  lan[16] = {0}, inet[16] = {0};
	uint16_t lport = 10000 + flow % 50000, rport = tcp ? 443 : 53;
	size_t   payload = 40 + (flow * 7 + idx * 13) % 1000, l4, hl;
	uint8_t *src, *dst, *q, dscp = 0;
	uint16_t sport, dport;

	if (opt_apps) {
		const struct app *a = &apps[flow % NAPPS];

		v6 = a->v6;
		tcp = a->tcp;
		inet_pton(v6 ? AF_INET6 : AF_INET, a->lan, lan);
		inet_pton(v6 ? AF_INET6 : AF_INET, a->inet, inet);
		lport = a->lport;
		rport = a->rport;
		dscp = reply ? 0 : a->dscp;
	} else if (v6) {
		inet_pton(AF_INET6, "2001:db8:1::", lan);
		inet_pton(AF_INET6, "2001:db8:ffff::", inet);
		lan[12] = flow >> 24;
		lan[13] = flow >> 16;
		lan[14] = flow >> 8;
		lan[15] = flow;
		inet[15] = 1 + flow % 200;
	} else {
		lan[0] = 10;
		lan[1] = 1 + (flow >> 16) % 250;
		lan[2] = flow >> 8;
		lan[3] = flow;
		inet[0] = 203;
		inet[1] = 0;
		inet[2] = 113;
		inet[3] = 1 + flow % 200;
	}
	src = reply ? inet : lan;
	dst = reply ? lan : inet;
	sport = reply ? rport : lport;
	dport = reply ? lport : rport;
	l4 = tcp ? 20 : 8;

	memset(p, 0, MAXPKT);
	if (v6) {
		hl = 40;
		p[0] = (uint8_t)(0x60 | dscp >> 2);
		p[1] = (uint8_t)((dscp & 3) << 6);
		put16(p + 4, (uint16_t)(l4 + payload));
		p[6] = tcp ? 6 : 17;
		p[7] = 64;
		memcpy(p + 8, src, 16);
		memcpy(p + 24, dst, 16);
	} else {
		hl = 20;
		p[0] = 0x45;
		p[1] = (uint8_t)(dscp << 2);
		put16(p + 2, (uint16_t)(hl + l4 + payload));
		put16(p + 4, (uint16_t)(flow * 31 + idx));
		p[8] = 64;
		p[9] = tcp ? 6 : 17;
		memcpy(p + 12, src, 4);
		memcpy(p + 16, dst, 4);
	}
	q = p + hl;
	put16(q, sport);
	put16(q + 2, dport);
	if (tcp) {
		q[12] = 5 << 4;
		q[13] = idx == 0 ? 0x02 : 0x10; /* SYN, then ACK */
	} else
		put16(q + 4, (uint16_t)(8 + payload));
	return hl + l4 + payload;
}

/* Wraps the IP packet in the link layer; returns the frame length. */
static size_t
frame(uint8_t *f, const uint8_t *ip, size_t iplen, int nonip)
{
	uint16_t type = nonip ? 0x0806 : (ip[0] >> 4 == 6 ? 0x86dd : 0x0800);
	size_t   hl = 0;

	switch (opt_dlt) {
	case DLT_EN10MB:
		memset(f, 0, 14);
		f[0] = 0x02; /* locally administered MACs */
		f[6] = 0x02;
		f[11] = 1;
		put16(f + 12, type);
		hl = 14;
		break;
	case DLT_LINUX_SLL:
		memset(f, 0, 16);
		put16(f + 2, 1); /* ARPHRD_ETHER */
		put16(f + 4, 6);
		put16(f + 14, type);
		hl = 16;
		break;
	case DLT_LINUX_SLL2:
		memset(f, 0, 20);
		put16(f, type);
		f[8] = 0;
		f[9] = 1; /* ARPHRD_ETHER */
		f[11] = 6;
		hl = 20;
		break;
	default:
		break;
	}
	if (nonip) {
		/* an ARP request body: enough to be a frame, not IP */
		memset(f + hl, 0, 28);
		return hl + 28;
	}
	memcpy(f + hl, ip, iplen);
	return hl + iplen;
}

static int
cmp_event(const void *a, const void *b)
{
	const struct event *x = a, *y = b;

	if (x->t_us != y->t_us)
		return x->t_us < y->t_us ? -1 : 1;
	if (x->flow != y->flow)
		return x->flow < y->flow ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* pcapng: Section Header, Interface Description, Enhanced Packet blocks
 * (draft-ietf-opsawg-pcapng), little-endian as written on this host. */
static void
ng_block(FILE *fp, uint32_t type, const void *body, size_t len)
{
	uint32_t             total = (uint32_t)(12 + ((len + 3) & ~(size_t)3));
	static const uint8_t zero[4];

	fwrite(&type, 4, 1, fp);
	fwrite(&total, 4, 1, fp);
	fwrite(body, 1, len, fp);
	fwrite(zero, 1, ((len + 3) & ~(size_t)3) - len, fp);
	fwrite(&total, 4, 1, fp);
}

int
main(int argc, char *argv[])
{
	const char    *out = NULL;
	struct event  *ev;
	size_t         nev, i;
	uint8_t        ip[MAXPKT], fr[MAXPKT + 32];
	pcap_t        *dead = NULL;
	pcap_dumper_t *dump = NULL;
	FILE          *fp = NULL;
	int            ch;

	while ((ch = getopt(argc, argv, "6:Aa:F:l:n:o:p:t:")) != -1) {
		switch (ch) {
		case '6':
			opt_v6pct = atoi(optarg);
			break;
		case 'A':
			opt_apps = 1;
			break;
		case 'a':
			opt_nonip = atoi(optarg);
			break;
		case 'F':
			opt_pcapng = strcmp(optarg, "pcapng") == 0;
			break;
		case 'l':
			if (strcmp(optarg, "en10mb") == 0)
				opt_dlt = DLT_EN10MB;
			else if (strcmp(optarg, "sll") == 0)
				opt_dlt = DLT_LINUX_SLL;
			else if (strcmp(optarg, "sll2") == 0)
				opt_dlt = DLT_LINUX_SLL2;
			else if (strcmp(optarg, "raw") == 0)
				opt_dlt = DLT_RAW;
			else
				usage();
			break;
		case 'n':
			opt_flows = atoi(optarg);
			break;
		case 'o':
			out = optarg;
			break;
		case 'p':
			opt_pkts = atoi(optarg);
			break;
		case 't':
			opt_span = atof(optarg);
			break;
		default:
			usage();
		}
	}
	if (opt_apps)
		opt_flows = (int)NAPPS;
	if (out == NULL || opt_flows < 1 || opt_pkts < 1 || opt_span <= 0)
		usage();
	if (opt_dlt == DLT_RAW)
		opt_nonip = 0;

	nev = (size_t)opt_flows * (size_t)opt_pkts + (size_t)opt_nonip;
	if ((ev = calloc(nev, sizeof(*ev))) == NULL)
		return 1;
	for (i = 0; i < (size_t)opt_flows * (size_t)opt_pkts; i++) {
		uint32_t flow = (uint32_t)(i / (size_t)opt_pkts);
		uint32_t idx = (uint32_t)(i % (size_t)opt_pkts);

		ev[i].flow = flow;
		ev[i].idx = idx;
		ev[i].t_us = (uint64_t)(opt_span * 1e6 * flow / opt_flows) +
		    (uint64_t)idx * 10000;
	}
	for (; i < nev; i++) {
		/* non-IP frames spread over the span, flow = UINT32_MAX */
		ev[i].flow = UINT32_MAX;
		ev[i].idx = (uint32_t)i;
		ev[i].t_us = (uint64_t)(opt_span * 1e6 * (double)(i % 97) / 97);
	}
	qsort(ev, nev, sizeof(*ev), cmp_event);

	if (opt_pcapng) {
		uint8_t  shb[16], idb[8];
		uint32_t magic = 0x1a2b3c4d, snap = 65535;
		uint16_t major = 1, minor = 0, lt = (uint16_t)opt_dlt;
		int64_t  seclen = -1;

		if ((fp = fopen(out, "wb")) == NULL) {
			perror(out);
			return 1;
		}
		memcpy(shb, &magic, 4);
		memcpy(shb + 4, &major, 2);
		memcpy(shb + 6, &minor, 2);
		memcpy(shb + 8, &seclen, 8);
		ng_block(fp, 0x0a0d0d0a, shb, sizeof(shb));
		memset(idb, 0, sizeof(idb));
		memcpy(idb, &lt, 2);
		memcpy(idb + 4, &snap, 4);
		ng_block(fp, 1, idb, sizeof(idb));
	} else {
		if ((dead = pcap_open_dead(opt_dlt, 65535)) == NULL ||
		    (dump = pcap_dump_open(dead, out)) == NULL) {
			fprintf(stderr, "gen-pcap: %s: %s\n", out,
			    dead ? pcap_geterr(dead) : "pcap_open_dead");
			return 1;
		}
	}

	for (i = 0; i < nev; i++) {
		/* 2026-01-01 00:00:00 UTC, so timestamps look real */
		uint64_t t = 1767225600ULL * 1000000 + ev[i].t_us;
		int      nonip = ev[i].flow == UINT32_MAX;
		size_t iplen = nonip ? 0 : build_ip(ev[i].flow, ev[i].idx, ip);
		size_t len = frame(fr, ip, iplen, nonip);

		if (opt_pcapng) {
			uint8_t  epb[20 + sizeof(fr)];
			uint32_t w[5] = {0, (uint32_t)(t >> 32), (uint32_t)t,
			    (uint32_t)len, (uint32_t)len};

			memcpy(epb, w, sizeof(w));
			memcpy(epb + 20, fr, len);
			ng_block(fp, 6, epb, 20 + len);
		} else {
			struct pcap_pkthdr h;

			h.ts.tv_sec = (time_t)(t / 1000000);
			h.ts.tv_usec = (suseconds_t)(t % 1000000);
			h.caplen = h.len = (bpf_u_int32)len;
			pcap_dump((u_char *)dump, &h, fr);
		}
	}
	if (opt_pcapng) {
		if (fclose(fp) != 0) {
			perror(out);
			return 1;
		}
	} else {
		pcap_dump_close(dump);
		pcap_close(dead);
	}
	free(ev);
	return 0;
}
