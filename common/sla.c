#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "sla.h"

#define PPM 1000000

void
sla_init(struct sla_state *s, uint64_t now_ms)
{
	memset(s, 0, sizeof(*s));
	s->changed_ms = now_ms;
	snprintf(s->reason, sizeof(s->reason), "compliant");
}

static void
window_start(struct sla_state *s, const struct sla_figures *f, uint64_t now)
{
	s->start_ms = now;
	s->answered0 = f->answered;
	s->lost0 = f->lost;
	s->late0 = f->late;
	s->rtt_sum = s->jitter_sum = 0;
	s->rounds = 0;
	s->started = 1;
}

/* Below a limit's clear threshold (3/4 of it). */
static int
clear(uint32_t v, uint32_t limit)
{
	if (limit == SLA_NO_LIMIT)
		return 1;
	return (uint64_t)v * SLA_CLEAR_DEN <= (uint64_t)limit * SLA_CLEAR_NUM;
}

static int
over(uint32_t v, uint32_t limit)
{
	return limit != SLA_NO_LIMIT && v > limit;
}

/* "loss 9.8% > 2%, jitter 40.0 ms > 30 ms" */
static void
violation_str(struct sla_state *s, const struct sla_limits *l, int lat)
{
	size_t off = 0;
	int    k;

	s->reason[0] = '\0';
	if (over(s->loss_ppm, l->loss_ppm)) {
		k = snprintf(s->reason, sizeof(s->reason), "loss %.1f%% > %g%%",
		    s->loss_ppm / 1e4, l->loss_ppm / 1e4);
		off = k < 0 ? 0 : (size_t)k;
	}
	if (lat && over(s->rtt_us, l->latency_us) && off < sizeof(s->reason)) {
		k = snprintf(s->reason + off, sizeof(s->reason) - off,
		    "%slatency %.1f ms > %g ms", off > 0 ? ", " : "",
		    s->rtt_us / 1e3, l->latency_us / 1e3);
		off += k < 0 ? 0 : (size_t)k;
	}
	if (lat && over(s->jitter_us, l->jitter_us) && off < sizeof(s->reason))
		snprintf(s->reason + off, sizeof(s->reason) - off,
		    "%sjitter %.1f ms > %g ms", off > 0 ? ", " : "",
		    s->jitter_us / 1e3, l->jitter_us / 1e3);
}

/* Judges the window that just ended. */
static enum sla_event
judge(struct sla_state *s, const struct sla_limits *l,
    const struct sla_figures *f, uint64_t now)
{
	uint64_t answered, lost, late, done;
	int      bad, good, lat;

	answered = f->answered - s->answered0;
	lost = f->lost - s->lost0;
	late = f->late - s->late0;
	done = answered + lost;
	if (done == 0)
		return SLA_NO_CHANGE; /* nothing known: no verdict */
	s->measured = 1;
	/* A late reply may belong to a probe of the window before. */
	lost = late < lost ? lost - late : 0;
	s->loss_ppm = (uint32_t)(lost * PPM / done);
	lat = s->rounds > 0;
	s->has_rtt = (uint8_t)lat;
	s->rtt_us = lat ? (uint32_t)(s->rtt_sum / s->rounds) : 0;
	s->jitter_us = lat ? (uint32_t)(s->jitter_sum / s->rounds) : 0;

	bad = over(s->loss_ppm, l->loss_ppm) ||
	    (lat &&
		(over(s->rtt_us, l->latency_us) ||
		    over(s->jitter_us, l->jitter_us)));
	/* Without an RTT, latency and jitter cannot be shown clear. */
	good = clear(s->loss_ppm, l->loss_ppm) &&
	    (lat ? clear(s->rtt_us, l->latency_us) &&
			clear(s->jitter_us, l->jitter_us)
		 : l->latency_us == SLA_NO_LIMIT &&
			l->jitter_us == SLA_NO_LIMIT);
	if (bad)
		s->violations++;
	if (!s->degraded) {
		if (!bad)
			return SLA_NO_CHANGE;
		violation_str(s, l, lat);
		s->degraded = 1;
		s->good = 0;
		s->changed_ms = now;
		return SLA_WENT_DEGRADED;
	}
	if (!good) {
		s->good = 0;
		return SLA_NO_CHANGE;
	}
	if (++s->good < (l->good_windows > 0 ? l->good_windows : 1))
		return SLA_NO_CHANGE;
	snprintf(s->reason, sizeof(s->reason),
	    "%u window%s within %d/%d of the limits", s->good,
	    s->good == 1 ? "" : "s", SLA_CLEAR_NUM, SLA_CLEAR_DEN);
	s->degraded = 0;
	s->good = 0;
	s->changed_ms = now;
	return SLA_WENT_COMPLIANT;
}

enum sla_event
sla_sample(struct sla_state *s, const struct sla_limits *l,
    const struct sla_figures *f, uint64_t now_ms)
{
	enum sla_event ev = SLA_NO_CHANGE;

	/* Counters that went back (a link re-made by a reload) start a
	 * window over rather than wrap. */
	if (!s->started || f->answered < s->answered0 || f->lost < s->lost0 ||
	    f->late < s->late0 || now_ms < s->start_ms)
		window_start(s, f, now_ms);
	else if (now_ms - s->start_ms >= l->window_ms) {
		ev = judge(s, l, f, now_ms);
		window_start(s, f, now_ms);
	}
	/* This round's figures belong to the window it opens. */
	if (f->has_rtt) {
		s->rtt_sum += f->rtt_us;
		s->jitter_sum += f->jitter_us;
		s->rounds++;
	}
	return ev;
}

int
sla_degraded(const struct sla_state *s)
{
	return s->degraded;
}

const char *
sla_reason(const struct sla_state *s)
{
	return s->reason;
}

int
sla_measured(const struct sla_state *s)
{
	return s->measured;
}

uint32_t
sla_loss_ppm(const struct sla_state *s)
{
	return s->loss_ppm;
}

uint32_t
sla_rtt_us(const struct sla_state *s)
{
	return s->rtt_us;
}

uint32_t
sla_jitter_us(const struct sla_state *s)
{
	return s->jitter_us;
}

uint64_t
sla_changed_ms(const struct sla_state *s)
{
	return s->changed_ms;
}

uint64_t
sla_violations(const struct sla_state *s)
{
	return s->violations;
}

const char *
sla_action_name(enum sla_action a)
{
	return a == SLA_MOVE ? "move" : "avoid";
}
