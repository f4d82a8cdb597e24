/*
 * The tunnel path through socketd with its I/O swapped (datapath.h): what
 * the LAN sends arrives at the PoP and back, with offloads and without,
 * and 100,000 packets each way allocate nothing (issue 12: preallocated
 * buffers, no per-packet malloc).  Allocations are counted by a hook:
 * glibc's malloc family replaced in this program, or the sanitizers'
 * hooks in an ASan build (which replaces malloc itself).
 */
#include "autoconf.h"

#include <check.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>

#include "check_run.h"
#include "datapath.h"

static volatile int      counting;
static volatile uint64_t allocs;

#if defined(__SANITIZE_ADDRESS__)
/* The sanitizer runtime's (gcc's and clang's); gcc installs no header
 * for it, so declared here as the runtime defines it. */
int __sanitizer_install_malloc_and_free_hooks(
    void (*)(const volatile void *, size_t), void (*)(const volatile void *));

static void
on_malloc(const volatile void *p, size_t n)
{
	(void)p;
	(void)n;
	if (counting)
		allocs++;
}

static void
on_free(const volatile void *p)
{
	(void)p;
}

static void
hooks(void)
{
	(void)__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}
#else
/* glibc's own, under the names this program's malloc replaces. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void  __libc_free(void *);

void *
malloc(size_t n)
{
	if (counting)
		allocs++;
	return __libc_malloc(n);
}

void *
calloc(size_t a, size_t b)
{
	if (counting)
		allocs++;
	return __libc_calloc(a, b);
}

void *
realloc(void *p, size_t n)
{
	if (counting)
		allocs++;
	return __libc_realloc(p, n);
}

void
free(void *p)
{
	__libc_free(p);
}

static void
hooks(void)
{
}
#endif

#define PACKETS 100000

static struct harness h;

static void
up(int vnet)
{
	ck_assert_int_eq(harness_up(&h, vnet), 0);
}

/* What the LAN sends reaches the PoP, each datagram authentic. */
static void
seal_arrives(int vnet)
{
	json_t  *c, *io;
	unsigned i;

	up(vnet);
	for (i = 0; i < 20; i++)
		ck_assert_uint_eq(harness_seal(&h, 44, 1), 44);
	if (vnet)
		ck_assert_uint_eq(tundev_stats(&h.sd->tundev)->superseg_in, 20);
	ck_assert_uint_eq(h.sd->links[0].wc[0].new_flows, 1);
	/* what `wanpairctl counters` says of it */
	c = socketd_counters(h.sd);
	io = json_object_get(c, "io");
	ck_assert_ptr_nonnull(io);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(io, "tun_superseg_in")),
	    vnet ? 20 : 0);
	ck_assert_int_eq(json_integer_value(json_object_get(io, "tun_reads")),
	    vnet ? 20 : 20 * 44);
	/* and the session's first probe */
	ck_assert_int_eq(
	    json_integer_value(json_object_get(io, "udp_dgrams_out")),
	    20 * 44 + 1);
	ck_assert_int_eq(json_is_true(json_object_get(
			     json_object_get(io, "offload"), "udp_gso")),
	    vnet);
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(io, "offload"), "tun")),
	    "");
	json_decref(c);
	harness_down(&h);
}

START_TEST(seal_plain)
{
	seal_arrives(0);
}
END_TEST

START_TEST(seal_offload)
{
	seal_arrives(1);
}
END_TEST

/* What the PoP sends reaches the LAN; with offload, merged into fewer
 * writes than packets. */
static void
open_arrives(int vnet)
{
	const struct tundev_stats *st;
	unsigned                   i;

	up(vnet);
	for (i = 0; i < 20; i++)
		ck_assert_uint_eq(harness_open(&h, 32), 32);
	st = tundev_stats(&h.sd->tundev);
	ck_assert_uint_eq(st->pkts_out, 640);
	if (vnet) {
		ck_assert_uint_eq(st->merged_out, 640);
		ck_assert_uint_le(st->writes, 40);
	} else
		ck_assert_uint_eq(st->writes, 640);
	ck_assert_uint_eq(h.sd->w[0].drops.auth + h.sd->w[0].drops.replay, 0);
	harness_down(&h);
}

START_TEST(open_plain)
{
	open_arrives(0);
}
END_TEST

START_TEST(open_offload)
{
	open_arrives(1);
}
END_TEST

/* The hook sees an allocation, whatever makes it (here OpenSSL's). */
START_TEST(hook_counts)
{
	void *volatile p;

	hooks();
	allocs = 0;
	counting = 1;
	p = malloc(16);
	free(p);
	p = EVP_CIPHER_CTX_new();
	EVP_CIPHER_CTX_free(p);
	counting = 0;
	ck_assert_uint_ge(allocs, 2);
}
END_TEST

/* Key epochs the two ends have moved through, each way. */
static uint64_t
epochs(void)
{
	return (uint64_t)tunnel_tx_epoch(h.sd->w[0].tun) +
	    tunnel_rx_epoch(h.sd->w[0].tun, 0) + tunnel_tx_epoch(h.peer) +
	    tunnel_rx_epoch(h.peer, 0);
}

/*
 * PACKETS each way after a warm-up round: not one allocation per packet.
 * The one thing allowed is a new epoch's key (tunnel_refill(), the
 * control side, with a fresh cipher context): every 2^31 packets in a
 * release build, so never here, but every 4096 in a test build
 * (--enable-test-limits, quickstart's ASan build), at most
 * ALLOCS_PER_EPOCH each.
 */
#define ALLOCS_PER_EPOCH 16

static void
no_allocation(int vnet)
{
	uint64_t up_n = 0, down_n = 0, e0;

	hooks();
	up(vnet);
	(void)harness_seal(&h, 44, 0);
	(void)harness_open(&h, 44);
	e0 = epochs();
	allocs = 0;
	counting = 1;
	while (up_n < PACKETS)
		up_n += harness_seal(&h, 44, 0) > 0 ? 44 : 1;
	while (down_n < PACKETS)
		down_n += harness_open(&h, 44) > 0 ? 44 : 1;
	counting = 0;
	ck_assert_msg(allocs <= (epochs() - e0) * ALLOCS_PER_EPOCH,
	    "%llu allocations over %llu + %llu packets and %llu key epochs",
	    (unsigned long long)allocs, (unsigned long long)up_n,
	    (unsigned long long)down_n, (unsigned long long)(epochs() - e0));
	if (KEYRING_LIMIT > 2 * PACKETS)
		ck_assert_uint_eq(allocs, 0);
	ck_assert_uint_ge(h.sent_up, PACKETS);
	ck_assert_uint_ge(h.got_down, PACKETS);
	harness_down(&h);
}

START_TEST(no_allocation_plain)
{
	no_allocation(0);
}
END_TEST

START_TEST(no_allocation_offload)
{
	no_allocation(1);
}
END_TEST

static Suite *
datapath_suite(void)
{
	Suite *s = suite_create("datapath");
	TCase *tc = tcase_create("paths");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, seal_plain);
	tcase_add_test(tc, seal_offload);
	tcase_add_test(tc, open_plain);
	tcase_add_test(tc, open_offload);
	tcase_add_test(tc, hook_counts);
	tcase_add_test(tc, no_allocation_plain);
	tcase_add_test(tc, no_allocation_offload);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(datapath_suite());
}
