#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "link.h"

enum { SLOT_FREE = 0, SLOT_OUTSTANDING, SLOT_LOST };

#define PPM       1000000
#define SHIFT_MAX 16

static void
apply_defaults(
    struct link_health_params *p, const struct link_health_params *in)
{
	if (in != NULL)
		*p = *in;
	else
		memset(p, 0, sizeof(*p));
	if (p->interval_ms == 0)
		p->interval_ms = LINK_DEFAULT_INTERVAL_MS;
	if (p->down_after == 0)
		p->down_after = LINK_DEFAULT_DOWN_AFTER;
	if (p->up_after == 0)
		p->up_after = LINK_DEFAULT_UP_AFTER;
	if (p->timeout_ms == 0)
		p->timeout_ms = LINK_DEFAULT_TIMEOUT_MS;
	if (p->timeout_ms < p->interval_ms)
		p->timeout_ms = p->interval_ms;
	if (p->rtt_shift == 0)
		p->rtt_shift = LINK_DEFAULT_RTT_SHIFT;
	if (p->jitter_shift == 0)
		p->jitter_shift = LINK_DEFAULT_JITTER_SHIFT;
	if (p->loss_shift == 0)
		p->loss_shift = LINK_DEFAULT_LOSS_SHIFT;
	if (p->rtt_shift > SHIFT_MAX)
		p->rtt_shift = SHIFT_MAX;
	if (p->jitter_shift > SHIFT_MAX)
		p->jitter_shift = SHIFT_MAX;
	if (p->loss_shift > SHIFT_MAX)
		p->loss_shift = SHIFT_MAX;
}

void
link_health_init(
    struct link_health *lh, const struct link_health_params *p, uint64_t now_ms)
{
	memset(lh, 0, sizeof(*lh));
	apply_defaults(&lh->p, p);
	lh->up = lh->admin_up = lh->carrier_up = 1;
	lh->changed_ms = now_ms;
	snprintf(lh->reason, sizeof(lh->reason), "up at start, unverified");
}

void
link_health_set_params(
    struct link_health *lh, const struct link_health_params *p)
{
	uint32_t down_after = lh->p.down_after;

	apply_defaults(&lh->p, p);
	/* quiet_ms marks the old down_after-th probe, not the new one. */
	if (lh->p.down_after != down_after)
		lh->quiet = 0;
}

/* The caller has written lh->reason. */
static enum link_event
transition(struct link_health *lh, int up, uint64_t now_ms)
{
	lh->up = (uint8_t)up;
	lh->answers = lh->misses = 0;
	lh->changed_ms = now_ms;
	return up ? LINK_WENT_UP : LINK_WENT_DOWN;
}

/* Back to probing: a fresh start for the hysteresis counts. */
static void
reenter(struct link_health *lh)
{
	lh->answers = lh->misses = 0;
}

/*
 * x += (target - x) / 2^shift, with the step's magnitude rounded up so
 * that x reaches target exactly: truncation would leave a loss figure
 * stuck at 2^shift - 1 ppm forever after the last loss.
 */
static int64_t
ewma_toward(int64_t x, int64_t target, unsigned shift)
{
	int64_t d = target - x, r = ((int64_t)1 << shift) - 1;

	if (d >= 0)
		return x + ((d + r) >> shift);
	return x - ((-d + r) >> shift);
}

static void
rtt_sample(struct link_health *lh, uint64_t sent_us, uint64_t now_us)
{
	int64_t r, err;

	/* A clock that stepped back (it should not: monotonic) gives 0; a
	 * sample past what link_rtt_us() can show counts as that much, so
	 * that the estimators' sums stay far from overflowing. */
	if (now_us < sent_us)
		r = 0;
	else if (now_us - sent_us > UINT32_MAX)
		r = UINT32_MAX;
	else
		r = (int64_t)(now_us - sent_us);
	if (!lh->has_rtt) {
		/* RFC 6298 section 2.2. */
		lh->srtt_us = r;
		lh->rttvar_us = r / 2;
		lh->has_rtt = 1;
	} else {
		/* RFC 6298 section 2.3: RTTVAR first, from the old SRTT. */
		err = lh->srtt_us - r;
		if (err < 0)
			err = -err;
		lh->rttvar_us += (err - lh->rttvar_us) / 4;
		lh->srtt_us += (r - lh->srtt_us) / (1 << lh->p.rtt_shift);
		/* RFC 3550 section 6.4.1, on consecutive round trips. */
		err = r - lh->last_rtt_us;
		if (err < 0)
			err = -err;
		lh->jitter_us +=
		    (err - lh->jitter_us) / (1 << lh->p.jitter_shift);
	}
	lh->last_rtt_us = r;
}

uint32_t
link_timeout_ms(const struct link_health *lh)
{
	int64_t  g, v, rto_us;
	uint64_t ms;

	if (!lh->has_rtt)
		return lh->p.timeout_ms;
	g = (int64_t)(lh->p.interval_ms > LINK_TIMEOUT_FLOOR_MS
		    ? lh->p.interval_ms
		    : LINK_TIMEOUT_FLOOR_MS) *
	    1000;
	v = 4 * lh->rttvar_us;
	rto_us = lh->srtt_us + (g > v ? g : v);
	ms = ((uint64_t)rto_us + 999) / 1000;
	if (ms < lh->p.interval_ms)
		ms = lh->p.interval_ms;
	if (ms > lh->p.timeout_ms)
		ms = lh->p.timeout_ms;
	return (uint32_t)ms;
}

uint32_t
link_grace_ms(const struct link_health *lh)
{
	uint32_t floor = lh->p.interval_ms / 4;
	uint64_t g, wait;

	if (!lh->has_rtt)
		return link_timeout_ms(lh);
	if (floor == 0)
		floor = 1;
	/* 4 * the jitter (link.h), in whole ms rounded up, less what the
	 * down_after - 1 intervals before the last probe already wait. */
	g = ((uint64_t)(lh->jitter_us > 0 ? lh->jitter_us : 0) * 4 + 999) /
	    1000;
	wait = (uint64_t)(lh->p.down_after - 1) * lh->p.interval_ms;
	g = g > wait ? g - wait : 0;
	if (g < floor)
		g = floor;
	if (g > lh->p.timeout_ms)
		g = lh->p.timeout_ms;
	return (uint32_t)g;
}

void
link_probe_sent_us(struct link_health *lh, uint32_t seq, uint64_t now_us)
{
	struct link_probe_slot *s = &lh->ring[lh->head];

	if (lh->quiet < UINT32_MAX && ++lh->quiet == lh->p.down_after)
		lh->quiet_ms = now_us / 1000;

	/* Saturate: a daemon that never ticks must not wrap the count. */
	if (s->state == SLOT_OUTSTANDING && lh->evicted < UINT32_MAX)
		lh->evicted++;
	s->seq = seq;
	s->sent_us = now_us;
	s->state = SLOT_OUTSTANDING;
	lh->head = (lh->head + 1) % LINK_PROBE_RING;
	lh->c.sent++;
}

void
link_probe_sent(struct link_health *lh, uint32_t seq, uint64_t now_ms)
{
	link_probe_sent_us(lh, seq, now_ms * 1000);
}

enum link_event
link_probe_answered_us(struct link_health *lh, uint32_t seq, uint64_t now_us)
{
	struct link_probe_slot *s = NULL;
	uint32_t                i, k;

	/* Newest first: if a seq did repeat, the fresh probe is the one. */
	for (i = 1; i <= LINK_PROBE_RING; i++) {
		k = (lh->head + LINK_PROBE_RING - i) % LINK_PROBE_RING;
		if (lh->ring[k].state != SLOT_FREE && lh->ring[k].seq == seq) {
			s = &lh->ring[k];
			break;
		}
	}
	if (s == NULL) {
		lh->c.ignored++;
		return LINK_NO_CHANGE;
	}
	rtt_sample(lh, s->sent_us, now_us);
	/* Any reply, even a late one, proves the link carries packets both
	 * ways: the silence starts over. */
	lh->quiet = 0;
	if (s->state == SLOT_LOST) {
		s->state = SLOT_FREE;
		lh->c.late++;
		return LINK_NO_CHANGE;
	}
	s->state = SLOT_FREE;
	lh->c.answered++;
	lh->verified = 1;
	lh->loss_ppm = ewma_toward(lh->loss_ppm, 0, lh->p.loss_shift);
	lh->misses = 0;
	if (lh->up || !lh->admin_up || !lh->carrier_up)
		return LINK_NO_CHANGE;
	if (++lh->answers < lh->p.up_after)
		return LINK_NO_CHANGE;
	snprintf(lh->reason, sizeof(lh->reason), "%u probe%s answered",
	    lh->answers, lh->answers == 1 ? "" : "s");
	return transition(lh, 1, now_us / 1000);
}

enum link_event
link_probe_answered(struct link_health *lh, uint32_t seq, uint64_t now_ms)
{
	return link_probe_answered_us(lh, seq, now_ms * 1000);
}

/* One probe lost; LINK_WENT_DOWN when it completes down_after, unless
 * held (link_tick_hold(): the silence decides then). */
static enum link_event
lost(struct link_health *lh, uint64_t now_ms, int held)
{
	lh->c.lost++;
	lh->loss_ppm = ewma_toward(lh->loss_ppm, PPM, lh->p.loss_shift);
	lh->answers = 0;
	if (lh->misses < UINT32_MAX)
		lh->misses++;
	if (!lh->up || held || lh->misses < lh->p.down_after)
		return LINK_NO_CHANGE;
	snprintf(lh->reason, sizeof(lh->reason), "%u probe%s unanswered",
	    lh->misses, lh->misses == 1 ? "" : "s");
	return transition(lh, 0, now_ms);
}

enum link_event
link_tick(struct link_health *lh, uint64_t now_ms)
{
	return link_tick_hold(lh, now_ms, 0);
}

enum link_event
link_tick_hold(struct link_health *lh, uint64_t now_ms, uint32_t hold_ms)
{
	enum link_event ev = LINK_NO_CHANGE;
	uint32_t        timeout = link_timeout_ms(lh), i, k;
	uint64_t        sent_ms;
	int             held = hold_ms > 0;

	/* Evicted probes were sent before anything still in the ring. */
	for (; lh->evicted > 0; lh->evicted--)
		if (lost(lh, now_ms, held) != LINK_NO_CHANGE)
			ev = LINK_WENT_DOWN;
	for (i = 0; i < LINK_PROBE_RING; i++) {
		k = (lh->head + i) % LINK_PROBE_RING;
		/* In whole ms, as the timeout: sent_us / 1000 is the
		 * now_ms() of the instant the probe left (tunnel.h). */
		sent_ms = lh->ring[k].sent_us / 1000;
		if (lh->ring[k].state != SLOT_OUTSTANDING || now_ms < sent_ms ||
		    now_ms - sent_ms < timeout)
			continue;
		lh->ring[k].state = SLOT_LOST;
		if (lost(lh, now_ms, held) != LINK_NO_CHANGE)
			ev = LINK_WENT_DOWN;
	}
	/* Silence (link.h): down_after probes since the last reply, the
	 * down_after-th past its grace (and the hold). */
	if (lh->up && lh->quiet >= lh->p.down_after && now_ms >= lh->quiet_ms &&
	    now_ms - lh->quiet_ms >= (uint64_t)link_grace_ms(lh) + hold_ms) {
		snprintf(lh->reason, sizeof(lh->reason),
		    "%u probe%s unanswered", lh->quiet,
		    lh->quiet == 1 ? "" : "s");
		ev = transition(lh, 0, now_ms);
	}
	return ev;
}

enum link_event
link_carrier(struct link_health *lh, int up, uint64_t now_ms)
{
	up = up != 0;
	if (up == lh->carrier_up)
		return LINK_NO_CHANGE;
	lh->carrier_up = (uint8_t)up;
	if (up) {
		reenter(lh);
		return LINK_NO_CHANGE;
	}
	if (!lh->up)
		return LINK_NO_CHANGE;
	snprintf(lh->reason, sizeof(lh->reason), "carrier lost");
	return transition(lh, 0, now_ms);
}

enum link_event
link_admin(struct link_health *lh, int up, uint64_t now_ms)
{
	up = up != 0;
	if (up == lh->admin_up)
		return LINK_NO_CHANGE;
	lh->admin_up = (uint8_t)up;
	if (up) {
		reenter(lh);
		return LINK_NO_CHANGE;
	}
	if (!lh->up)
		return LINK_NO_CHANGE;
	snprintf(lh->reason, sizeof(lh->reason), "admin down");
	return transition(lh, 0, now_ms);
}

const char *
link_reason(const struct link_health *lh)
{
	return lh->reason;
}

const char *
link_status_str(const struct link_health *lh)
{
	switch (link_cause(lh)) {
	case LINK_CAUSE_NONE:
		return lh->verified ? "up" : "up (unverified)";
	case LINK_CAUSE_ADMIN:
		return "down (admin)";
	case LINK_CAUSE_CARRIER:
		return "down (no carrier)";
	case LINK_CAUSE_PROBES:
		break;
	}
	return "down (probing)";
}

enum link_state
link_state(const struct link_health *lh)
{
	return lh->up ? LINK_UP : LINK_DOWN;
}

enum link_cause
link_cause(const struct link_health *lh)
{
	if (lh->up)
		return LINK_CAUSE_NONE;
	if (!lh->admin_up)
		return LINK_CAUSE_ADMIN;
	if (!lh->carrier_up)
		return LINK_CAUSE_CARRIER;
	return LINK_CAUSE_PROBES;
}

uint32_t
link_quiet(const struct link_health *lh)
{
	return lh->quiet;
}

int
link_verified(const struct link_health *lh)
{
	return lh->verified;
}

static uint32_t
clamp32(int64_t v)
{
	if (v < 0)
		return 0;
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

uint32_t
link_rtt_us(const struct link_health *lh)
{
	return clamp32(lh->srtt_us);
}

uint32_t
link_jitter_us(const struct link_health *lh)
{
	return clamp32(lh->jitter_us);
}

uint32_t
link_loss_ppm(const struct link_health *lh)
{
	return clamp32(lh->loss_ppm);
}

uint64_t
link_changed_ms(const struct link_health *lh)
{
	return lh->changed_ms;
}

const struct link_counters *
link_counters(const struct link_health *lh)
{
	return &lh->c;
}
