/*
 * Link health: probe bookkeeping, RTT/jitter/loss estimates and the
 * up/down state machine of one WAN link, seen from one end.
 *
 * Pure: no I/O, no clock reads, no logging, no allocation.  Every call
 * takes now_ms (a monotonic clock in milliseconds) so tests drive time
 * themselves.  The caller embeds a struct link_health per link (nothing to
 * free), sends the probes, receives the replies and logs the transitions
 * this module returns, with link_reason() as the "why".
 *
 * The daemon's loop, once per interval_ms per link:
 *
 *	ev = link_tick(lh, now);          (declares old probes lost)
 *	link_probe_sent(lh, seq++, now);  (after the PROBE left)
 * and for each PROBE_REPLY carrying seq:
 *	ev = link_probe_answered(lh, seq, now);
 * and from netlink / wanpairctl:
 *	ev = link_carrier(lh, up, now);  ev = link_admin(lh, up, now);
 * Each transition is returned by exactly one call, once.
 *
 * State machine (DESIGN.md section 4, "Links and health"):
 *  - up -> down after down_after consecutive probes lost ("3 probes
 *    unanswered"), or sooner when down_after probes in a row went out
 *    with no reply to any probe since (see "Silence" below; same reason),
 *    at once on carrier loss ("carrier lost") or on admin down ("admin
 *    down");
 *  - down -> up only after up_after consecutive probes answered in time
 *    ("5 probes answered"), and only while admin up and carrier present.
 *    A loss in between starts the count over (hysteresis).
 * "Consecutive" is in the order the outcomes become known: an answer when
 * it arrives, a loss when link_tick() declares it.
 *
 * Admin down wins over everything: answers are still measured but never
 * bring the link up.  Carrier loss likewise holds the link down.  Neither
 * carrier back nor admin up brings the link up by itself: both re-enter
 * probing with the counts at zero, so the link must answer up_after probes
 * first.  A carrier that returns is not yet a path that works (DHCP,
 * PPPoE, an LTE attach or the far end may still be missing), and an
 * operator's "admin up" on a dead link must not attract flows.  Repeated
 * carrier/admin calls with the same value change nothing (netlink repeats
 * RTM_NEWLINK for unrelated changes).
 *
 * Initial state: UP, unverified (link_verified() is 0 until the first
 * answer).  The pair must carry data as soon as the session is up (there
 * is no "no link" state the flows could wait in: balance_assign() fails
 * and the packets are dropped), and a dead link costs only
 * down_after probes before its flows move to the others, without being
 * dropped.  "Down until proven" would black-hole all traffic for
 * up_after intervals at every start and every reload.  The daemon calls
 * link_carrier()/link_admin() right after init if it already knows the
 * carrier is missing or the config says admin down.
 *
 * Estimates (every reply that matches a probe we sent is an RTT sample,
 * even a late one; see link_probe_answered):
 *  - RTT: SRTT of RFC 6298 section 2.3, gain 1/8 (rtt_shift 3).
 *  - RTTVAR (internal, gain 1/4 as in RFC 6298) feeds the loss timeout.
 *  - jitter: the interarrival jitter of RFC 3550 section 6.4.1 applied to
 *    round trips, J += (|R(i) - R(i-1)| - J) / 16 (jitter_shift 4): the
 *    figure operators compare with ping tools and VoIP gear, smoother than
 *    RTTVAR.
 *  - loss: EWMA of 0 / 1000000 ppm per probe outcome, gain 1/64
 *    (loss_shift 6): a time constant of 64 probes (6.4 s at 100 ms), so
 *    1-in-20 loss reads between about 4.3% and 5.8%, not 2.5%..8.6% as
 *    with 1/16.
 * Samples and estimates are in microseconds when the daemon uses the _us
 * calls (socketd does): a LAN or metro link's RTT is a fraction of a
 * millisecond, and whole milliseconds would read it, and its jitter, as
 * 0.  The millisecond calls give samples of 1 ms resolution.
 *
 * Loss timeout: a probe is lost when unanswered after
 *	clamp(SRTT + max(G, 4 * RTTVAR), interval_ms, timeout_ms)
 * (RFC 6298 section 2.3 with K = 4), where G = max(interval_ms,
 * LINK_TIMEOUT_FLOOR_MS): the granularity of link_tick() (a finer
 * deadline could not be honoured), and at least 100 ms, which keeps a
 * steady link (RTTVAR near 0) from counting a delay spike as loss: at 10
 * ms probes a floor of one interval counted every reply a busy machine
 * read 11 ms late as lost (1% "loss" on a clean link, measured here), and
 * down_after such misses in a row took the link down.  Detection does not
 * wait for it: the silence below finds a dead link first.  Before the
 * first sample the timeout is timeout_ms (RFC
 * 6298 section 2.1 starts at 1 s for the same reason: the path is
 * unknown).  A fixed "lost when the next probe is due" would declare
 * every probe of an LTE link with a 150 ms RTT lost at a 100 ms interval;
 * a fixed generous timeout would slow detection on a 5 ms fibre to
 * (down_after - 1) * interval + timeout.  The adaptive one detects a dead
 * fibre within down_after + 2 intervals and follows a slow link.
 * Late replies do not undo a loss, do not count towards up_after, but do
 * feed the estimators: otherwise a link whose RTT jumped above the timeout
 * would have every probe declared lost and never learn its new RTT.
 *
 * Silence: the loss timeout alone is too slow to find a dead link that
 * was loaded.  A shaped access link's queue raises the RTT to hundreds of
 * milliseconds, the timeout follows (that is its job: the link works),
 * and a blackhole then takes down_after timeouts of up to timeout_ms
 * each to find: 1.5 to 2.5 s measured, against a target of 350 ms.  But
 * a queue delays replies, it does not stop them: a link that works
 * returns one reply per interval whatever its RTT, and a dead one returns
 * none.  So the link also goes down (same reason, "N probes unanswered")
 * when down_after probes have left since the last reply of any kind (in
 * time or late) and the down_after-th of them has waited the grace
 *	clamp(4 * J - (down_after - 1) * interval_ms,
 *	    max(1, interval_ms / 4), timeout_ms)
 * (link_grace_ms(); before the first sample, timeout_ms as above, so that
 * a slow link is not declared dead before its first reply could arrive).
 * That is "no reply for T" after the first unanswered probe, with
 *	T = max((down_after - 1) * interval_ms + interval_ms / 4, 4 * J)
 * (plus the phase of the RTT against the probe clock), J the jitter
 * above: the down_after probes make random loss an unlikely cause (at a
 * round-trip loss q, q^down_after a probe: 5% each way, q = 9.75%, and
 * the daemons' 10 probes make it 7.8e-11, one false alarm in some 1,600
 * days of 10 ms probes), and four times the mean difference between
 * consecutive round trips makes a late reply a cause only when the
 * link's own variation says it could not be that late: a link whose J is
 * below a quarter of those intervals (22 ms with the daemons' defaults)
 * waits the intervals and a quarter, a jittery one (an LTE link's
 * scheduling) 4 * J.  The jitter, not RTTVAR (RFC 6298's deviation from
 * the SRTT, which the loss timeout uses): what the silence must allow
 * for is a reply later than the one before it, and a queue that fills
 * and drains under load moves the RTT far from its mean (under iperf3
 * here, a blackhole took 146-174 ms to find with 4 * RTTVAR: an RTTVAR
 * of 35-40 ms) while consecutive round trips 10 ms apart differ little.  A
 * link that stops
 * answering at time c is then down by c + down_after * interval_ms +
 * grace at the latest (325 ms with this module's defaults, 102 ms with
 * the daemons', config-int.h), whatever its RTT, if the daemon calls
 * link_tick() at the grace's end (it schedules that tick: the probes'
 * own ticks are an interval apart).  The cost: a link whose delay jumps,
 * between two replies, by more than about (down_after - 2) *
 * interval_ms + grace (125 ms with this module's defaults, 82 ms with
 * the daemons'; up to an interval more depending on
 * the RTT's phase against the probe clock) is taken for dead, then back
 * after up_after answers: for that long it looks exactly like a dead
 * one.  A queue filling under load raises the delay by at most an
 * interval per interval at twice the line rate, and by its own depth
 * (tbf's latency) at most.
 * Only replies prove the link alive, not data the far end sent on it:
 * data proves the far end's direction, and a link dead upstream but
 * alive downstream (asymmetric failure, a common ISP fault) would
 * otherwise stay up forever, swallowing every packet sent on it.  A
 * reply proves both directions.  Silence does not count probes lost:
 * the loss figure stays the loss timeout's.
 *
 * Outstanding probes live in a ring of LINK_PROBE_RING slots (memory is
 * fixed).  A probe overwritten while still unanswered (the daemon sent
 * more than LINK_PROBE_RING probes within one timeout, or did not tick)
 * is counted lost at the next link_tick().  Seqs are compared for
 * equality only, so they may wrap; they must not repeat within the ring.
 */
#ifndef WANPAIR_LINK_H
#define WANPAIR_LINK_H

#include <stdint.h>

/* Outstanding probes remembered: 2.56 s at 10 ms probes, beyond the
 * largest loss timeout (timeout_ms, 1 s by default), so that a slow
 * link's probes are answered, not pushed out and counted lost. */
#define LINK_PROBE_RING 256

/* This module's defaults, for a caller that passes none (the unit
 * tests); the daemons pass their configuration's, whose defaults
 * (config-int.h, wanpair.json(5)) probe faster. */
#define LINK_DEFAULT_INTERVAL_MS  100
#define LINK_DEFAULT_DOWN_AFTER   3
#define LINK_DEFAULT_UP_AFTER     5
#define LINK_DEFAULT_TIMEOUT_MS   1000
#define LINK_DEFAULT_RTT_SHIFT    3 /* 1/8, RFC 6298 alpha */
#define LINK_DEFAULT_JITTER_SHIFT 4 /* 1/16, RFC 3550 section 6.4.1 */
#define LINK_DEFAULT_LOSS_SHIFT   6 /* 1/64 */
/* How much longer both daemons wait when every link is silent at once
 * (link_tick_hold()): a process starved of CPU on a busy box stalls for
 * 100-150 ms now and then (measured here with 10 ms probes: 144 ms of
 * silence on both links at once), which 10 probes 10 ms apart would take
 * for the death of every link. */
#define LINK_SILENT_HOLD_MS 400
/* The loss timeout's floor (G in "Loss timeout" above). */
#define LINK_TIMEOUT_FLOOR_MS 100

/* Zero in any field means its default.  Shifts above 16 are clamped;
 * timeout_ms below interval_ms is raised to interval_ms. */
struct link_health_params {
	uint32_t interval_ms; /* probe period, also the timeout floor */
	uint32_t down_after;  /* consecutive losses: up -> down */
	uint32_t up_after;    /* consecutive answers: down -> up */
	uint32_t timeout_ms;  /* initial and largest loss timeout */
	uint8_t  rtt_shift;   /* SRTT gain 2^-shift */
	uint8_t  jitter_shift;
	uint8_t  loss_shift;
};

enum link_event { LINK_NO_CHANGE = 0, LINK_WENT_UP, LINK_WENT_DOWN };

enum link_state { LINK_DOWN = 0, LINK_UP };

/* Why a link is down; the first that applies, in this order. */
enum link_cause {
	LINK_CAUSE_NONE = 0, /* up */
	LINK_CAUSE_ADMIN,    /* link_admin(0) */
	LINK_CAUSE_CARRIER,  /* link_carrier(0) */
	LINK_CAUSE_PROBES    /* probing: waiting for up_after answers */
};

struct link_counters {
	uint64_t sent;     /* link_probe_sent() calls */
	uint64_t answered; /* replies in time */
	uint64_t lost;     /* probes declared lost */
	uint64_t late;     /* replies to probes already declared lost */
	uint64_t ignored;  /* unknown or duplicate seqs */
};

/* Private: read it through the functions below. */
struct link_probe_slot {
	uint64_t sent_us;
	uint32_t seq;
	uint8_t  state; /* free, outstanding or lost */
};

struct link_health {
	struct link_health_params p; /* with defaults applied */
	struct link_probe_slot    ring[LINK_PROBE_RING];
	uint32_t                  head;    /* next slot written */
	uint32_t                  evicted; /* overwritten unanswered */
	int64_t                   srtt_us, rttvar_us, jitter_us, last_rtt_us;
	int64_t                   loss_ppm;
	uint32_t                  answers, misses; /* consecutive */
	uint32_t                  quiet;    /* probes sent since a reply */
	uint64_t                  quiet_ms; /* the down_after-th one left */
	uint8_t                   up, admin_up, carrier_up;
	uint8_t                   verified, has_rtt;
	uint64_t                  changed_ms;
	struct link_counters      c;
	char                      reason[48];
};

/* Up, unverified, admin up, carrier present, no estimates; changed_ms =
 * now_ms.  params may be NULL (all defaults).  Nothing to free. */
void link_health_init(
    struct link_health *, const struct link_health_params *, uint64_t now_ms);
/* Reload: new parameters, state, counts and estimates kept.  A link now
 * past a new down_after or up_after changes state at its next outcome.
 * A new down_after starts the count of probes sent since the last reply
 * over (the loss timeout still runs meanwhile). */
void link_health_set_params(
    struct link_health *, const struct link_health_params *);

/* A PROBE carrying seq left at now_ms (now_us). */
void link_probe_sent(struct link_health *, uint32_t seq, uint64_t now_ms);
void link_probe_sent_us(struct link_health *, uint32_t seq, uint64_t now_us);
/*
 * A PROBE_REPLY carrying seq arrived at now_ms.  An outstanding probe:
 * RTT sample, counts towards up_after, may return LINK_WENT_UP.  A probe
 * already declared lost: RTT sample only (counted late).  Unknown seq or
 * a second reply: ignored (counted).  Never returns LINK_WENT_DOWN.
 */
enum link_event link_probe_answered(
    struct link_health *, uint32_t seq, uint64_t now_ms);
enum link_event link_probe_answered_us(
    struct link_health *, uint32_t seq, uint64_t now_us);
/* Declares lost the probes older than the loss timeout, oldest first.
 * May return LINK_WENT_DOWN, never LINK_WENT_UP. */
enum link_event link_tick(struct link_health *, uint64_t now_ms);
/*
 * link_tick(), but probes hold_ms longer: neither the silence nor
 * down_after losses take the link down before the down_after-th probe
 * since the last reply has waited its grace and hold_ms (the losses are
 * counted all the same).  For a daemon that finds every link silent at
 * once: that is its own stall, or its peer's, more likely than every
 * link dying in the same instant, and with no link left to move the
 * flows to, taking them down gains nothing (and costs up_after answers
 * when the stall ends).
 */
enum link_event link_tick_hold(
    struct link_health *, uint64_t now_ms, uint32_t hold_ms);
/* Probes sent since the last reply (in time or late): the count the
 * silence rule compares with down_after. */
uint32_t link_quiet(const struct link_health *);
/* Carrier (IFF_LOWER_UP) of the link's device.  Loss: LINK_WENT_DOWN if
 * the link was up.  Return: LINK_NO_CHANGE, probing starts over. */
enum link_event link_carrier(struct link_health *, int up, uint64_t now_ms);
/* Admin state.  Down: LINK_WENT_DOWN if the link was up.  Up:
 * LINK_NO_CHANGE, probing starts over. */
enum link_event link_admin(struct link_health *, int up, uint64_t now_ms);

/* A short sentence for the last transition ("3 probes unanswered",
 * "5 probes answered", "carrier lost", "admin down", or "up at start,
 * unverified"), stored in the struct: valid until its next call. */
const char *link_reason(const struct link_health *);
/* "up", "up (unverified)", "down (probing)", "down (no carrier)" or
 * "down (admin)"; a static string. */
const char *link_status_str(const struct link_health *);

enum link_state link_state(const struct link_health *);
enum link_cause link_cause(const struct link_health *);
/* 1 once any probe was answered in time since init. */
int link_verified(const struct link_health *);
/* 0 until the first sample. */
uint32_t link_rtt_us(const struct link_health *);
uint32_t link_jitter_us(const struct link_health *);
uint32_t link_loss_ppm(const struct link_health *);
/* The loss timeout link_tick() applies now. */
uint32_t link_timeout_ms(const struct link_health *);
/* How long the down_after-th probe sent since the last reply may wait
 * before the link is declared down (see "Silence" above).  A daemon that
 * ticks only when it probes should also tick this long after each probe
 * (modulo interval_ms: an interval's own tick comes anyway). */
uint32_t link_grace_ms(const struct link_health *);
/* now_ms of the last transition (or of init). */
uint64_t                    link_changed_ms(const struct link_health *);
const struct link_counters *link_counters(const struct link_health *);

#endif
