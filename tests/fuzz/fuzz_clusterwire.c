#include "autoconf.h"

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clusterkey.h"
#include "clusterlink.h"
#include "clusterwire.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * The seeds in corpus/fuzz_clusterwire that are valid datagrams were
 * sealed by node 1 (incarnation 1) for node 2, generation 1000, under
 * this cluster key
 * (the bytes 00 01 .. 1f, as check_clusterwire's), so the fuzzer starts
 * from packets that open and mutates them into ones that must not.
 */
static const char fuzz_key[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

static struct clusterlink *rx; /* node 2: the receiver of the seeds */
static struct clusterlink *tx; /* node 3: seals the round trips */

static uint8_t pkt[CW_MAX_PKT];
static uint8_t inner[CW_MAX_PKT];

static void
setup(void)
{
	struct clusterkey ck;

	if (clusterkey_parse(fuzz_key, sizeof(fuzz_key) - 1, &ck, NULL) == -1)
		abort();
	rx = clusterlink_new(&ck, 2, 2, 1, CLUSTERLINK_LIMIT);
	tx = clusterlink_new(&ck, 3, 3, 1, CLUSTERLINK_LIMIT);
	if (rx == NULL || tx == NULL || clusterlink_peer_add(rx, 1, 1) == -1 ||
	    clusterlink_peer_add(rx, 3, 3) == -1 ||
	    clusterlink_peer_add(tx, 2, 2) == -1)
		abort();
	clusterkey_wipe(&ck);
}

/*
 * What the decoder accepts passes cw_hdr_check() and encodes back to the
 * very bytes it came from: the receiver authenticates the header bytes
 * as received, so a field decoding dropped or altered would be a field
 * nobody checked.
 */
static void
decode(const uint8_t *data, size_t size)
{
	struct cw_hdr h;
	uint8_t       out[CW_HDR_LEN];
	int           rc;

	rc = cw_hdr_decode(data, size, &h);
	if (rc > CW_OK || rc < CW_ERR_OWNER)
		abort();
	if (rc != CW_OK)
		return;
	if (size < CW_MIN_PKT || size > CW_MAX_PKT ||
	    cw_hdr_check(&h) != CW_OK || h.hops > CW_MAX_HOPS)
		abort();
	if (cw_hdr_encode(&h, out, sizeof(out)) != CW_HDR_LEN ||
	    memcmp(out, data, CW_HDR_LEN) != 0)
		abort();
}

/*
 * The receive path as a node runs it.  The state is static, so a run
 * drives the windows and generations through whatever order the inputs
 * come in; what opened once is a replay the next time.
 */
static void
receive(const uint8_t *data, size_t size)
{
	struct cw_hdr h;
	int           n;

	n = clusterlink_open(rx, data, size, &h, inner, sizeof(inner));
	if (n < 0) {
		if (n < -(CW_NREASONS - 1))
			abort();
		return;
	}
	if ((size_t)n != size - CW_OVERHEAD || h.to != 2 ||
	    cw_inner_check(h.origin, inner, (size_t)n) != CW_OK)
		abort();
	if (clusterlink_open(rx, data, size, &h, inner, sizeof(inner)) !=
	    CW_ERR_REPLAY)
		abort();
}

/* The input as a site's datagram from node 3: it seals, and opens to the
 * same bytes. */
static void
round_trip(const uint8_t *data, size_t size)
{
	struct cw_hdr h, d;
	int           n;

	memset(&h, 0, sizeof(h));
	h.type = CW_FORWARD;
	h.hops = 1;
	h.origin = CW_ORIGIN_SITE;
	h.to = 2;
	h.endpoint.family = AF_INET6;
	h.endpoint.a[0] = 0x20;
	h.port = 4500;
	n = clusterlink_seal(tx, &h, data, size, pkt, sizeof(pkt));
	if (size == 0 || size > CW_MAX_INNER) {
		if (n != -1)
			abort();
		return;
	}
	if (n != (int)(size + CW_OVERHEAD))
		abort();
	n = clusterlink_open(rx, pkt, (size_t)n, &d, inner, sizeof(inner));
	if (size < WIRE_MIN_DGRAM) {
		if (n != CW_ERR_INNER)
			abort();
		return;
	}
	if (n != (int)size || memcmp(inner, data, size) != 0 ||
	    d.counter != h.counter || d.from != 3)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (rx == NULL)
		setup();
	decode(data, size);
	receive(data, size);
	round_trip(data, size);
	return 0;
}
