/*
 * capture_ip_offset: where the IP header starts in a captured frame, for
 * every link type replay accepts, and what happens with frames that are
 * cut short, carry no IP, or are garbage.
 */
#include "autoconf.h"

#include <check.h>
#include <pcap/dlt.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "pkt.h"
#include "check_run.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

static size_t
eth(uint8_t *f, const uint16_t *types, int ntypes)
{
	size_t n = 12;
	int    i;

	memset(f, 0xaa, 12);
	for (i = 0; i < ntypes; i++) {
		f[n++] = types[i] >> 8;
		f[n++] = types[i] & 0xff;
		if (i + 1 < ntypes) {
			f[n++] = 0x00; /* VLAN TCI */
			f[n++] = 0x0a;
		}
	}
	f[n++] = 0x45; /* start of an IPv4 header */
	return n;
}

START_TEST(ethernet_ipv4_ipv6)
{
	uint8_t  f[64];
	uint16_t t4[] = {0x0800}, t6[] = {0x86dd};
	size_t   off = 99, n;

	n = eth(f, t4, 1);
	ck_assert_int_eq(capture_ip_offset(DLT_EN10MB, f, n, &off), 0);
	ck_assert_uint_eq(off, 14);
	n = eth(f, t6, 1);
	ck_assert_int_eq(capture_ip_offset(DLT_EN10MB, f, n, &off), 0);
	ck_assert_uint_eq(off, 14);
}
END_TEST

START_TEST(ethernet_vlan_tags)
{
	uint8_t  f[64];
	uint16_t one[] = {0x8100, 0x0800};
	uint16_t qinq[] = {0x88a8, 0x8100, 0x86dd};
	uint16_t old[] = {0x9100, 0x0800};
	uint16_t five[] = {0x8100, 0x8100, 0x8100, 0x8100, 0x8100, 0x0800};
	size_t   off, n;

	n = eth(f, one, 2);
	ck_assert_int_eq(capture_ip_offset(DLT_EN10MB, f, n, &off), 0);
	ck_assert_uint_eq(off, 18);
	n = eth(f, qinq, 3);
	ck_assert_int_eq(capture_ip_offset(DLT_EN10MB, f, n, &off), 0);
	ck_assert_uint_eq(off, 22);
	n = eth(f, old, 2);
	ck_assert_int_eq(capture_ip_offset(DLT_EN10MB, f, n, &off), 0);
	ck_assert_uint_eq(off, 18);
	/* more tags than any real network stacks */
	n = eth(f, five, 6);
	ck_assert_int_eq(
	    capture_ip_offset(DLT_EN10MB, f, n, &off), PKT_ERR_NOT_IP);
}
END_TEST

START_TEST(ethernet_not_ip)
{
	uint8_t  f[64];
	uint16_t arp[] = {0x0806}, lldp[] = {0x88cc},
		 vlan_arp[] = {0x8100, 0x0806};
	size_t off, n;

	n = eth(f, arp, 1);
	ck_assert_int_eq(
	    capture_ip_offset(DLT_EN10MB, f, n, &off), PKT_ERR_NOT_IP);
	n = eth(f, lldp, 1);
	ck_assert_int_eq(
	    capture_ip_offset(DLT_EN10MB, f, n, &off), PKT_ERR_NOT_IP);
	n = eth(f, vlan_arp, 2);
	ck_assert_int_eq(
	    capture_ip_offset(DLT_EN10MB, f, n, &off), PKT_ERR_NOT_IP);
}
END_TEST

/* Every cut of the link header is "truncated", never a read past it. */
START_TEST(truncated_link_headers)
{
	uint8_t  f[64], *copy;
	uint16_t one[] = {0x8100, 0x0800};
	size_t   off, n, cut;

	n = eth(f, one, 2) - 1; /* the link header only */
	for (cut = 0; cut < n; cut++) {
		copy = malloc(cut ? cut : 1);
		memcpy(copy, f, cut);
		ck_assert_int_eq(capture_ip_offset(DLT_EN10MB, copy, cut, &off),
		    PKT_ERR_TRUNCATED);
		free(copy);
	}
	for (cut = 0; cut < 16; cut++) {
		memset(f, 0, sizeof(f));
		f[14] = 0x08;
		copy = malloc(cut ? cut : 1);
		memcpy(copy, f, cut);
		ck_assert_int_eq(
		    capture_ip_offset(DLT_LINUX_SLL, copy, cut, &off),
		    PKT_ERR_TRUNCATED);
		free(copy);
	}
	for (cut = 0; cut < 20; cut++) {
		memset(f, 0, sizeof(f));
		f[0] = 0x08;
		copy = malloc(cut ? cut : 1);
		memcpy(copy, f, cut);
		ck_assert_int_eq(
		    capture_ip_offset(DLT_LINUX_SLL2, copy, cut, &off),
		    PKT_ERR_TRUNCATED);
		free(copy);
	}
	ck_assert_int_eq(
	    capture_ip_offset(DLT_NULL, f, 3, &off), PKT_ERR_TRUNCATED);
}
END_TEST

START_TEST(linux_cooked)
{
	uint8_t f[40];
	size_t  off;

	memset(f, 0, sizeof(f));
	f[14] = 0x86; /* SLL: protocol at 14 */
	f[15] = 0xdd;
	ck_assert_int_eq(capture_ip_offset(DLT_LINUX_SLL, f, 17, &off), 0);
	ck_assert_uint_eq(off, 16);
	f[14] = 0x08;
	f[15] = 0x06; /* ARP */
	ck_assert_int_eq(
	    capture_ip_offset(DLT_LINUX_SLL, f, 17, &off), PKT_ERR_NOT_IP);

	memset(f, 0, sizeof(f));
	f[0] = 0x08; /* SLL2: protocol first */
	ck_assert_int_eq(capture_ip_offset(DLT_LINUX_SLL2, f, 21, &off), 0);
	ck_assert_uint_eq(off, 20);
}
END_TEST

START_TEST(raw_and_loopback)
{
	uint8_t f[8] = {0x45};
	uint8_t null_le[8] = {2, 0, 0, 0, 0x45}; /* host order, x86 */
	uint8_t null_be[8] = {0, 0, 0, 2, 0x45};
	uint8_t loop6[8] = {0, 0, 0, 24, 0x60}; /* OpenBSD AF_INET6 */
	uint8_t loop_x[8] = {0, 0, 0, 17};      /* not an IP family */
	size_t  off;

	ck_assert_int_eq(capture_ip_offset(DLT_RAW, f, 1, &off), 0);
	ck_assert_uint_eq(off, 0);
	ck_assert_int_eq(capture_ip_offset(DLT_NULL, null_le, 5, &off), 0);
	ck_assert_uint_eq(off, 4);
	ck_assert_int_eq(capture_ip_offset(DLT_NULL, null_be, 5, &off), 0);
	ck_assert_int_eq(capture_ip_offset(DLT_LOOP, loop6, 5, &off), 0);
	ck_assert_int_eq(
	    capture_ip_offset(DLT_LOOP, loop_x, 5, &off), PKT_ERR_NOT_IP);
}
END_TEST

START_TEST(supported_linktypes)
{
	ck_assert(capture_linktype_supported(DLT_EN10MB));
	ck_assert(capture_linktype_supported(DLT_LINUX_SLL));
	ck_assert(capture_linktype_supported(DLT_LINUX_SLL2));
	ck_assert(capture_linktype_supported(DLT_RAW));
	ck_assert(!capture_linktype_supported(DLT_IEEE802_11));
	ck_assert(!capture_linktype_supported(DLT_USB_LINUX));
}
END_TEST

/* Random frames of random link types: a known answer, an offset inside
 * the frame, never a crash (the sanitizer build watches reads). */
START_TEST(garbage)
{
	static const int dlts[] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2,
	    DLT_RAW, DLT_NULL, DLT_LOOP};
	uint64_t         x = 0x9e3779b97f4a7c15ULL;
	int              i;

	for (i = 0; i < 100000; i++) {
		size_t   len, off = 0, j;
		uint8_t *f;
		int      rc, dlt;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		len = x % 48;
		dlt = dlts[(x >> 8) % 6];
		f = malloc(len ? len : 1);
		for (j = 0; j < len; j++)
			f[j] = (uint8_t)(x >> (j % 56));
		/* Half the Ethernet frames get a VLAN tag and a quarter an
		 * IPv4 type, so the tag walk and the success path both run. */
		if (len > 13 && (x & 1)) {
			f[12] = 0x81;
			f[13] = 0x00;
		} else if (len > 13 && (x & 2)) {
			f[12] = 0x08;
			f[13] = 0x00;
		}
		rc = capture_ip_offset(dlt, f, len, &off);
		ck_assert(
		    rc == 0 || rc == PKT_ERR_NOT_IP || rc == PKT_ERR_TRUNCATED);
		if (rc == 0)
			ck_assert_uint_le(off, len);
		free(f);
	}
}
END_TEST

static Suite *
capture_suite(void)
{
	Suite *s = suite_create("capture");
	TCase *tc = tcase_create("link layers");

	tcase_add_test(tc, ethernet_ipv4_ipv6);
	tcase_add_test(tc, ethernet_vlan_tags);
	tcase_add_test(tc, ethernet_not_ip);
	tcase_add_test(tc, truncated_link_headers);
	tcase_add_test(tc, linux_cooked);
	tcase_add_test(tc, raw_and_loopback);
	tcase_add_test(tc, supported_linktypes);
	tcase_add_test(tc, garbage);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(capture_suite());
}
