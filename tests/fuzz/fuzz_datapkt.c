#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "tunnel.h"
#include "proto.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * The seeds in corpus/fuzz_datapkt that are valid datagrams were sealed
 * with this key, so the fuzzer starts from packets that open and mutates
 * them into ones that must not.
 */
static const uint8_t fuzz_key[AEAD_KEY_LEN] = {0x77, 0x61, 0x6e, 0x70, 0x61,
    0x69, 0x72, 0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x64, 0x61, 0x74, 0x61,
    0x70, 0x6b, 0x74, 0x2d, 0x6b, 0x65, 0x79, 0x2d, 0x30, 0x31, 0x32, 0x33,
    0x34, 0x35, 0x36};

static struct aead         *aead;
static struct replay_window window;
static uint64_t             sent;

static uint8_t dgram[WIRE_MAX_DGRAM];
static uint8_t inner[WIRE_MAX_DGRAM];

/*
 * The receive path as popd runs it: decode, replay check, open, record
 * only what opened.  The window is static, so a run also drives it
 * through whatever order of counters the inputs come in.  The datagram is
 * opened even when the window refuses its counter (popd would drop it
 * first): one early seed with a high counter would otherwise keep every
 * later input away from dgram_open().
 */
static void
receive(const uint8_t *data, size_t size)
{
	struct wire_hdr h;
	int             fresh, n;

	if (wire_hdr_decode(data, size, &h) != WIRE_OK)
		return;
	fresh = replay_check(&window, h.counter) == 0;
	n = dgram_open(aead, &h, data, size, inner, sizeof(inner));
	if (n == -1)
		return;
	if ((size_t)n != size - WIRE_OVERHEAD)
		abort();
	if (!fresh)
		return;
	replay_update(&window, h.counter);
	if (replay_check(&window, h.counter) != -1)
		abort();
}

/*
 * The send path with the input as the inner packet: whatever the bytes,
 * sealing then opening gives them back, and the header reads back as
 * written.
 */
static void
round_trip(const uint8_t *data, size_t size)
{
	struct wire_hdr h = {.version = PROTOCOL_VERSION,
	    .type = WIRE_DATA,
	    .link_id = (uint8_t)size,
	    .session = 0x01020304,
	    .counter = sent++};
	struct wire_hdr d;
	int             n;

	n = dgram_seal(aead, &h, data, size, dgram, sizeof(dgram));
	if (size > WIRE_MAX_INNER) {
		if (n != -1)
			abort();
		return;
	}
	if (n < 0 || (size_t)n != size + WIRE_OVERHEAD)
		abort();
	if (wire_hdr_decode(dgram, (size_t)n, &d) != WIRE_OK)
		abort();
	if (d.link_id != h.link_id || d.counter != h.counter ||
	    d.session != h.session || d.type != h.type || d.flags != h.flags ||
	    d.worker != h.worker)
		abort();
	/* In place, as the data path opens. */
	if (dgram_open(aead, &d, dgram, (size_t)n, dgram + WIRE_HDR_LEN,
		(size_t)n - WIRE_HDR_LEN) != (int)size)
		abort();
	if (size > 0 && memcmp(dgram + WIRE_HDR_LEN, data, size) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (aead == NULL) {
		if ((aead = aead_new(fuzz_key)) == NULL)
			abort();
		replay_init(&window);
	}
	receive(data, size);
	round_trip(data, size);
	return 0;
}
