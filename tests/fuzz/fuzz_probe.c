#include "autoconf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "link.h"
#include "mos.h"
#include "probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * The probe payload as both daemons read it: popd decodes a WIRE_PROBE's
 * plaintext and re-encodes it as the reply, socketd decodes the reply.
 * Whatever decodes must encode back to the very bytes it came from (else
 * the PoP would answer with a probe the Socket never sent), and nothing
 * but exactly PROBE_LEN bytes may decode.
 *
 * Then what socketd makes of a reply, with the fields as the clock: a
 * probe sent at sent_us and answered seq microseconds later is an RTT
 * sample of seq (link_rtt_us() is 32 bits), whatever the clock reads,
 * and the MOS of any figures the link can hold is within 1..4.5.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t            out[PROBE_LEN];
	struct probe       p, again;
	struct link_health lh;
	uint64_t           answered;
	double             mos;

	if (probe_decode(data, size, &p) == -1) {
		if (size == PROBE_LEN)
			abort();
		return 0;
	}
	if (size != PROBE_LEN)
		abort();
	if (probe_encode(&p, out, sizeof(out)) != PROBE_LEN)
		abort();
	if (memcmp(out, data, PROBE_LEN) != 0)
		abort();
	if (probe_decode(out, sizeof(out), &again) != 0 || again.seq != p.seq ||
	    again.sent_us != p.sent_us)
		abort();

	link_health_init(&lh, NULL, p.sent_us / 1000);
	link_probe_sent_us(&lh, p.seq, p.sent_us);
	answered = p.sent_us + p.seq;
	if (answered < p.sent_us) /* past the clock's end: answered at once */
		answered = p.sent_us;
	(void)link_probe_answered_us(&lh, p.seq, answered);
	if (link_counters(&lh)->answered != 1 ||
	    link_rtt_us(&lh) != answered - p.sent_us)
		abort();
	mos = mos_estimate(
	    link_rtt_us(&lh), link_jitter_us(&lh), link_loss_ppm(&lh));
	if (!(mos >= 1 && mos <= 4.5))
		abort();
	mos = mos_estimate(
	    p.seq, (uint32_t)p.sent_us, (uint32_t)(p.sent_us >> 32));
	if (!(mos >= 1 && mos <= 4.5))
		abort();
	return 0;
}
