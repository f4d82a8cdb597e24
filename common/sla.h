/*
 * Service levels of a profile (brownout avoidance): whether a link that
 * is up is good enough for a profile's flows, by its probes' loss,
 * latency and jitter over a window.  A link over any of the profile's
 * limits is "degraded" for that profile: the balance gives it no new
 * flows of the profile while a compliant link exists (balance.h,
 * balance_set_degraded()), and with on_violation "move" its flows of the
 * profile move too.
 *
 * Pure: no I/O, no clock, no logging, no allocation.  The caller keeps a
 * struct sla_state per (link, profile), calls sla_sample() at every
 * probe round with the link's figures as they stand, and acts on the
 * transition it returns; sla_reason() says why.
 *
 * A window is window_ms long.  Over it:
 *  - loss: probes lost / probes whose fate became known (lost or
 *    answered in time) during the window, from the link's cumulative
 *    counters (link_counters()): a count, not the smoothed loss, so one
 *    window is judged by its own probes.  A probe declared lost whose
 *    reply came after all (late: a CPU or a queue held it past the loss
 *    timeout) is not lost here: it was delayed, which the latency limit
 *    judges.  A probe's round trip is lost if either direction drops
 *    it: 5% loss each way reads about 9.75%;
 *  - latency: the mean over the window's probe rounds of the smoothed
 *    RTT (link_rtt_us(), RFC 6298);
 *  - jitter: the same of the RFC 3550 jitter (link_jitter_us()).
 * A window in which no probe's fate became known (a link down, no
 * session) gives no verdict: the state stays as it was.
 *
 * Hysteresis: one window over any limit makes the link degraded.  It is
 * compliant again only after good_windows consecutive windows with every
 * figure at or below three quarters of its limit (SLA_CLEAR_NUM /
 * SLA_CLEAR_DEN); a window between the two thresholds starts that count
 * over.  So a link hovering at the limit does not flap every window, and
 * one lucky window of a lossy link (with 10% loss, 20 probes all answered
 * happen one window in eight) does not bring new flows back to it.
 */
#ifndef WANPAIR_SLA_H
#define WANPAIR_SLA_H

#include <stdint.h>

#define SLA_NO_LIMIT             UINT32_MAX
#define SLA_GOOD_WINDOWS_DEFAULT 3
#define SLA_CLEAR_NUM            3
#define SLA_CLEAR_DEN            4

enum sla_action {
	SLA_AVOID = 0, /* no new flows of the profile */
	SLA_MOVE       /* ... and the profile's flows on it move away */
};

/* A profile's limits; SLA_NO_LIMIT for a figure it does not limit. */
struct sla_limits {
	uint32_t        loss_ppm;
	uint32_t        latency_us;
	uint32_t        jitter_us;
	uint32_t        window_ms; /* > 0 */
	uint32_t        good_windows;
	enum sla_action on_violation;
};

/* A link's figures at one probe round. */
struct sla_figures {
	uint64_t answered; /* cumulative probes answered in time */
	uint64_t lost;     /* cumulative probes declared lost */
	uint64_t late;     /* ... of which a reply came after all */
	uint32_t rtt_us;   /* smoothed; valid if has_rtt */
	uint32_t jitter_us;
	int      has_rtt;
};

enum sla_event { SLA_NO_CHANGE = 0, SLA_WENT_DEGRADED, SLA_WENT_COMPLIANT };

/* Private: read it through the functions below. */
struct sla_state {
	uint64_t start_ms; /* of the current window */
	uint64_t answered0, lost0, late0;
	uint64_t rtt_sum, jitter_sum;
	uint32_t rounds; /* with an RTT, in this window */
	uint32_t good;   /* consecutive good windows while degraded */
	uint8_t  started, degraded, measured;
	/* the last window's figures (measured: there was one) */
	uint32_t loss_ppm, rtt_us, jitter_us;
	uint8_t  has_rtt;
	uint64_t changed_ms;
	uint64_t violations; /* windows over a limit */
	char     reason[64];
};

/* Compliant, no window yet ("compliant"); nothing to free. */
void sla_init(struct sla_state *, uint64_t now_ms);
/*
 * One probe round's figures at now_ms.  The first call starts a window;
 * a call at or past its end judges it and starts the next.  Returns the
 * transition, once.
 */
enum sla_event sla_sample(struct sla_state *, const struct sla_limits *,
    const struct sla_figures *, uint64_t now_ms);

int sla_degraded(const struct sla_state *);
/* Why the last transition happened: "loss 9.8% > 2%", "3 windows within
 * 3/4 of the limits", or "compliant" before any; valid until the next
 * sla_sample(). */
const char *sla_reason(const struct sla_state *);
/* The last judged window's figures: 0 if no window was judged yet. */
int      sla_measured(const struct sla_state *);
uint32_t sla_loss_ppm(const struct sla_state *);
uint32_t sla_rtt_us(const struct sla_state *);
uint32_t sla_jitter_us(const struct sla_state *);
uint64_t sla_changed_ms(const struct sla_state *);
/* Windows judged over a limit so far. */
uint64_t sla_violations(const struct sla_state *);

/* "avoid" or "move". */
const char *sla_action_name(enum sla_action);

#endif
