/*
 * An estimated voice quality for a link: a MOS (mean opinion score,
 * 1 "bad" .. 4.5 "best a narrowband call gets") from the figures the
 * probes measure, as network monitoring tools commonly show it.
 *
 * Pure: no I/O, no state.
 */
#ifndef WANPAIR_MOS_H
#define WANPAIR_MOS_H

#include <stdint.h>

/* The MOS, 1.0 .. 4.5, for a round-trip time and jitter in microseconds
 * and a loss in parts per million (link_rtt_us(), link_jitter_us(),
 * link_loss_ppm()). */
double mos_estimate(uint32_t rtt_us, uint32_t jitter_us, uint32_t loss_ppm);

#endif
