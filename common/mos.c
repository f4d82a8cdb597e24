/*
 * The E-model of ITU-T G.107 rates a call by a transmission rating R
 * (0..100) built from impairments: delay, echo, the codec, packet loss.
 * Monitoring tools that only see a network path (no codec, no handset)
 * reduce it to three inputs, taking the codec as G.711 (no codec
 * impairment of its own); the reduction below is the one they widely
 * share, not the full recommendation:
 *
 *  - effective latency = latency + 2 * jitter + 10 ms: jitter costs about
 *    twice its size in the receiver's de-jitter buffer, and the codec and
 *    packetisation add some 10 ms;
 *  - R starts at 93.2 (G.107's default rating with every impairment at
 *    its default) and loses effective latency / 40 below 160 ms, and
 *    (effective latency - 120) / 10 from 160 ms on, where delay starts to
 *    make people talk over each other (the two meet at 160 ms: R 89.2);
 *  - R loses 2.5 per percent of packets lost;
 *  - MOS = 1 + 0.035 R + 7e-6 R (R - 60) (100 - R), G.107's own mapping
 *    (its Annex B), which it defines as 1 for R <= 0 and 4.5 for
 *    R >= 100: the cubic alone would climb again below 0 (a link losing
 *    everything would score 4.5), and it dips a hair under 1 just above
 *    0, hence the clamp to 1..4.5 as well.
 *
 * "Latency" here is the probes' round-trip time, as those tools feed it
 * their ping's average; G.107's figure is one-way, mouth to ear, so the
 * estimate errs on the side of a worse score on a long path (300 ms of
 * RTT reads 3.8, "fair", where 150 ms each way would still read "good").
 */
#include "autoconf.h"

#include <stdint.h>

#include "mos.h"

double
mos_estimate(uint32_t rtt_us, uint32_t jitter_us, uint32_t loss_ppm)
{
	double eff, r, mos;

	eff = rtt_us / 1000.0 + 2 * (jitter_us / 1000.0) + 10;
	if (eff < 160)
		r = 93.2 - eff / 40;
	else
		r = 93.2 - (eff - 120) / 10;
	r -= 2.5 * (loss_ppm / 10000.0);
	if (r <= 0)
		return 1;
	if (r >= 100)
		return 4.5;
	mos = 1 + 0.035 * r + 0.000007 * r * (r - 60) * (100 - r);
	return mos < 1 ? 1 : mos > 4.5 ? 4.5 : mos;
}
