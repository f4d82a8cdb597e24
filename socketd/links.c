/*
 * socketd's links as the main loop sees them: probe rounds, the health
 * state machine's events (probe answers, silence, carrier, the
 * operator), and what a link going down or up moves (flows by the
 * engine, LINK_STATE and REASSIGN to the PoP).  The datagram loops
 * (dataplane.c) only record what they saw on the tunnel's event queue;
 * dataev_drain() (daemon/dataev.c) hands it here, after their batch.
 *
 * Calls into dataplane.c and control.c; neither calls in here but
 * through events (probe_ev, dataev) and ctl.c's links_admin().
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlmsg.h"
#include "dataev.h"
#include "linkdown.h"
#include "log.h"
#include "probe.h"
#include "proto.h"
#include "socketd.h"
#include "tun.h"

/* Netlink messages read per readable event.  One RTM_NEWLINK is a few
 * hundred bytes; 8 KiB is netlink's own default message size. */
#define NETLINK_BATCH 64
#define NETLINK_BUFSZ 8192

static void link_changed(struct socketd *, struct slink *, enum link_event);

/* The link's rank for a duplicate's second copy, from its probes, for
 * the workers (dup.h: loss, then RTT). */
static void
link_rank(struct slink *l)
{
	atomic_store_explicit(&l->dup_rank,
	    dup_rank(link_loss_ppm(&l->health), link_rtt_us(&l->health)),
	    memory_order_relaxed);
}

static struct slink *
link_by_id(struct socketd *sd, uint8_t id)
{
	size_t i;

	for (i = 0; i < sd->nlinks; i++)
		if (sd->links[i].id == id)
			return &sd->links[i];
	return NULL;
}

/* dataev_ops: socketd has one tunnel, of its session. */
static struct tunnel *
ev_find(void *arg, uint32_t session, void **owner)
{
	struct socketd *sd = arg;

	*owner = sd;
	return sd->keyed && session == sd->session ? sd->w[0].tun : NULL;
}

/* Each worker's keys that are due, under its lock. */
static int
ev_refill(void *arg, void *owner)
{
	struct socketd *sd = arg;
	unsigned        i;
	int             rc = 0;

	(void)owner;
	for (i = 0; i < sd->nworkers; i++) {
		dpw_lock(&sd->w[i].t);
		if (sd->w[i].tun != NULL && tunnel_refill(sd->w[i].tun) == -1)
			rc = -1;
		dpw_unlock(&sd->w[i].t);
	}
	return rc;
}

/* REKEY to send; a probe answer that may bring a link up (and its flows
 * back: a table walk, REASSIGN). */
static void
ev_other(void *arg, void *owner, const struct tunnel_ev *ev)
{
	struct socketd *sd = arg;
	struct slink   *l;

	(void)owner;
	if (ev->kind == TUNNEL_EV_REKEY)
		control_send_rekey(sd, ev->epoch);
	else if (ev->kind == TUNNEL_EV_PROBE &&
	    (l = link_by_id(sd, ev->link)) != NULL) {
		link_changed(sd, l,
		    link_probe_answered_us(&l->health, ev->seq, ev->at_us));
		link_rank(l);
	}
}

static const struct dataev_ops socketd_dataev = {
    .find = ev_find,
    .event = ev_other,
    .refill = ev_refill,
    .tx_up = 1,
};

/* The moves of one link event: counted per link for the log, and
 * collected for the PoP by wire link id. */
struct failover {
	struct socketd  *sd;
	struct reassign *rq;
	size_t           to[CONFIG_MAX_LINKS];
};

static void
moved(void *arg, const struct flow *f, unsigned from, unsigned to)
{
	struct failover *fo = arg;

	fo->to[to]++;
	control_reassign_move(
	    fo->rq, f, fo->sd->links[from].id, fo->sd->links[to].id);
}

/* "; 120 flows moved: 100 to WAN2, 20 to WAN3" */
static void
moves_str(const struct failover *fo, size_t n, char *buf, size_t len)
{
	size_t i, off;
	int    k, first = 1;

	k = snprintf(buf, len, "; %zu flows moved", n);
	off = k < 0 ? 0 : (size_t)k;
	for (i = 0; i < fo->sd->nlinks && off < len; i++) {
		if (fo->to[i] == 0)
			continue;
		k = snprintf(buf + off, len - off, "%s %zu to %s",
		    first ? ":" : ",", fo->to[i], fo->sd->links[i].conf->name);
		off += k < 0 ? 0 : (size_t)k;
		first = 0;
	}
}

/*
 * Copies of a link-down notice sent on each live link.  The notice is
 * what lets the PoP move the dead link's return flows at once (its own
 * judgement is silence: down_after intervals; the control channel's
 * LINK_STATE may have to wait for a new handshake when the channel rode
 * the dead link), so one lost datagram must not cost that: with loss p
 * on every live link, all copies are lost with p^(3 * live links).
 * Copies sent back to back share a burst of loss; a second link does
 * not.  8 bytes of payload each, 60 on the wire over IPv4: nothing.
 */
#define LINKDOWN_COPIES 3

/* Tells the PoP, over every link still up, that l went down. */
static void
link_down_notice(struct socketd *sd, const struct slink *l)
{
	struct linkdown ld;
	uint8_t         p[LINKDOWN_LEN];
	size_t          i;
	int             k;

	if (!sd->keyed)
		return;
	memset(&ld, 0, sizeof(ld));
	ld.link = l->id;
	switch (link_cause(&l->health)) {
	case LINK_CAUSE_ADMIN:
		ld.cause = LINKDOWN_ADMIN;
		break;
	case LINK_CAUSE_CARRIER:
		ld.cause = LINKDOWN_CARRIER;
		break;
	default:
		ld.cause = LINKDOWN_PROBES;
		break;
	}
	/* 0 is no notice's number (linkdown.h). */
	if (++sd->linkdown_seq == 0)
		sd->linkdown_seq = 1;
	ld.seq = sd->linkdown_seq;
	if (linkdown_encode(&ld, p, sizeof(p)) != LINKDOWN_LEN)
		return;
	for (i = 0; i < sd->nlinks; i++) {
		if (&sd->links[i] == l || !dataplane_link_up(sd, (unsigned)i))
			continue;
		for (k = 0; k < LINKDOWN_COPIES; k++) {
			dataplane_send(
			    sd, &sd->links[i], WIRE_LINK_DOWN, p, sizeof(p));
			sd->linkdown_sent++;
		}
	}
}

/*
 * A link changed state.  Down: its flows move to the live links by their
 * profiles (or stay, dropped, if none is up); up: new flows use it again,
 * with failback "rebalance" flows return to it, and flows stranded while
 * no link was up move to it.  The PoP hears the link state, then the
 * moves (REASSIGN; a failover says so even when nothing moved); a link
 * that went down is announced on the data plane first (a link-down
 * notice on every live link), and the control channel's messages stay
 * the record.
 */
static void
link_changed(struct socketd *sd, struct slink *l, enum link_event ev)
{
	struct failover fo;
	uint64_t        now = now_ms();
	unsigned idx = (unsigned)(l - sd->links); /* not l->id: see reload.c */
	size_t   n;
	char     buf[64 + CONFIG_MAX_LINKS * (CONFIG_NAME_MAX + 24)];

	if (ev == LINK_NO_CHANGE)
		return;
	/* Workers read the link's state from here on (a packet in flight
	 * may still go out on a link that just went down). */
	atomic_store(&l->up, link_state(&l->health) == LINK_UP);
	/* The PoP first: the table walk below takes time with many
	 * flows, and the notice lets the PoP do its own walk meanwhile. */
	if (ev == LINK_WENT_DOWN)
		link_down_notice(sd, l);
	memset(&fo, 0, sizeof(fo));
	fo.sd = sd;
	pthread_mutex_lock(&sd->engine_mu);
	if (ev == LINK_WENT_DOWN) {
		fo.rq = control_reassign_begin(sd, l->id);
		n = engine_link_down(sd->engine, idx, now, moved, &fo);
	} else {
		fo.rq = control_reassign_begin(sd, CTL_LINK_NONE);
		n = engine_link_up(sd->engine, idx, now, moved, &fo);
		n += engine_link_rehome(sd->engine, now, moved, &fo);
	}
	pthread_mutex_unlock(&sd->engine_mu);
	moves_str(&fo, n, buf, sizeof(buf));
	if (ev == LINK_WENT_DOWN)
		log_info("link %s down: %s%s", l->conf->name,
		    link_reason(&l->health), buf);
	else
		log_info("link %s up: %s, rtt %.1f ms%s", l->conf->name,
		    link_reason(&l->health), link_rtt_us(&l->health) / 1000.0,
		    buf);
	control_link_state(sd, idx);
	if (ev == LINK_WENT_DOWN || n > 0)
		control_reassign_send(sd, fo.rq);
	else
		control_reassign_cancel(fo.rq);
}

/* ------------------------------------------------------ service levels */

int
links_sla_reset(struct socketd *sd)
{
	uint64_t now = now_ms();
	size_t   i, n;

	free(sd->sla);
	sd->sla = NULL;
	sd->sla_nprofiles = sd->sla_nlinks = 0;
	n = sd->conf->nprofiles * sd->nlinks;
	if (n == 0)
		return 0;
	if ((sd->sla = calloc(n, sizeof(*sd->sla))) == NULL) {
		log_warnx("no memory for service levels: none judged");
		return -1;
	}
	for (i = 0; i < n; i++)
		sla_init(&sd->sla[i], now);
	sd->sla_nprofiles = sd->conf->nprofiles;
	sd->sla_nlinks = sd->nlinks;
	return 0;
}

const struct sla_state *
links_sla(const struct socketd *sd, unsigned link, size_t profile)
{
	if (sd->sla == NULL || link >= sd->sla_nlinks ||
	    profile >= sd->sla_nprofiles || profile >= sd->conf->nprofiles ||
	    !sd->conf->profiles[profile].has_sla)
		return NULL;
	return &sd->sla[link * sd->sla_nprofiles + profile];
}

int
links_sla_any(const struct socketd *sd)
{
	size_t i;

	for (i = 0; sd->sla != NULL && i < sd->sla_nlinks * sd->sla_nprofiles;
	     i++)
		if (sla_degraded(&sd->sla[i]))
			return 1;
	return 0;
}

static int
sla_log_ok(struct socketd *sd, uint64_t now)
{
	if (sd->sla_log.interval_ms == 0) {
		sd->sla_log.interval_ms = 1000;
		sd->sla_log.burst = 10;
	}
	return log_ratelimit_ok(&sd->sla_log, now);
}

/*
 * One probe round of a link's service levels: each profile with an "sla"
 * judges the window that ended, if one did.  A change goes to the
 * balance (new flows of the profile avoid the link, or use it again),
 * with on_violation "move" takes the profile's flows off it, and reaches
 * the PoP: LINK_STATE with the profiles the link is degraded for, then
 * the moves (REASSIGN, no link failed).
 */
static void
sla_round(struct socketd *sd, unsigned idx, uint64_t now)
{
	struct slink                *l = &sd->links[idx];
	const struct link_counters  *c = link_counters(&l->health);
	const struct config_profile *p;
	struct sla_figures           fig;
	struct sla_state            *st;
	struct failover              fo;
	enum sla_event               ev;
	size_t                       i, n;
	char buf[64 + CONFIG_MAX_LINKS * (CONFIG_NAME_MAX + 24)];

	if (sd->sla == NULL || idx >= sd->sla_nlinks)
		return;
	memset(&fig, 0, sizeof(fig));
	fig.answered = c->answered;
	fig.lost = c->lost;
	fig.late = c->late;
	fig.rtt_us = link_rtt_us(&l->health);
	fig.jitter_us = link_jitter_us(&l->health);
	fig.has_rtt = c->answered + c->late > 0;
	for (i = 0; i < sd->sla_nprofiles; i++) {
		p = &sd->conf->profiles[i];
		if (!p->has_sla)
			continue;
		st = &sd->sla[idx * sd->sla_nprofiles + i];
		if ((ev = sla_sample(st, &p->sla, &fig, now)) == SLA_NO_CHANGE)
			continue;
		sd->sla_changes++;
		memset(&fo, 0, sizeof(fo));
		fo.sd = sd;
		n = 0;
		pthread_mutex_lock(&sd->engine_mu);
		balance_set_degraded(engine_balance(sd->engine), (unsigned)i,
		    idx, ev == SLA_WENT_DEGRADED);
		if (ev == SLA_WENT_DEGRADED &&
		    p->sla.on_violation == SLA_MOVE) {
			fo.rq = control_reassign_begin(sd, CTL_LINK_NONE);
			n = engine_sla_move(
			    sd->engine, idx, (unsigned)i, now, moved, &fo);
		}
		pthread_mutex_unlock(&sd->engine_mu);
		buf[0] = '\0';
		if (fo.rq != NULL || n > 0)
			moves_str(&fo, n, buf, sizeof(buf));
		if (sla_log_ok(sd, now))
			log_info("link %s %s for profile %s: %s%s",
			    l->conf->name,
			    ev == SLA_WENT_DEGRADED ? "degraded"
						    : "compliant again",
			    p->name, sla_reason(st), buf);
		/* The verdict first, so that the PoP's new return flows
		 * avoid the link before the moves land.  A link that is
		 * down says nothing (the PoP has it down; coming up, its
		 * LINK_STATE carries the verdicts), least of all the
		 * control channel's: that would move the channel again. */
		if (dataplane_link_up(sd, idx))
			control_link_state(sd, idx);
		if (n > 0)
			control_reassign_send(sd, fo.rq);
		else
			control_reassign_cancel(fo.rq);
	}
}

/* A link's device lost or regained its carrier (netlink). */
static void
carrier_event(void *arg, unsigned ifindex, int carrier)
{
	struct socketd *sd = arg;
	size_t          i;

	for (i = 0; i < sd->nlinks; i++)
		if (sd->links[i].ifindex == ifindex && ifindex != 0)
			link_changed(sd, &sd->links[i],
			    link_carrier(
				&sd->links[i].health, carrier, now_ms()));
}

static void
netlink_read(evutil_socket_t fd, short what, void *arg)
{
	uint8_t buf[NETLINK_BUFSZ];
	ssize_t n;
	int     i;

	(void)what;
	for (i = 0; i < NETLINK_BATCH; i++) {
		if ((n = recv(fd, buf, sizeof(buf), 0)) <= 0)
			return;
		(void)link_events_parse(buf, (size_t)n, carrier_event, arg);
	}
}

/*
 * The hold for link i's tick (link_tick_hold()): none when another link
 * that is up has answered well after link i last did (half of
 * down_after probes later at least), LINK_SILENT_HOLD_MS when none has.
 * A dead link among live ones goes down as fast as its probes say; every
 * link falling silent together is more likely this process, or the PoP,
 * starved of CPU than every link dying in the same instant (and with no
 * live link to move the flows to, taking the last one down gains
 * nothing).  "Well after": in a stall of the PoP, the link whose last
 * reply before it happened to be lost (5% loss) falls silent a probe or
 * two before the others, and must not count as singled out.
 */
static uint32_t
silent_hold(const struct socketd *sd, size_t i)
{
	uint32_t q = link_quiet(&sd->links[i].health), m;
	size_t   j;

	m = sd->conf->probe_down_after / 2 > 0 ? sd->conf->probe_down_after / 2
					       : 1;
	for (j = 0; j < sd->nlinks; j++)
		if (j != i && dataplane_link_up(sd, (unsigned)j) &&
		    link_quiet(&sd->links[j].health) + m <= q)
			return 0;
	return LINK_SILENT_HOLD_MS;
}

/*
 * A grace after a probe round (link_grace_ms(): a quarter interval, more
 * on a link whose 4 * jitter exceeds its down_after - 1 intervals; modulo
 * the interval): the link whose down_after-th probe since its last reply
 * has waited its grace is declared down now, not at the next round.  That
 * is what keeps a blackhole's detection within down_after intervals and a
 * quarter (102 ms with the defaults) instead of an interval more.
 */
static void
grace_tick(evutil_socket_t fd, short what, void *arg)
{
	struct socketd *sd = arg;
	uint64_t        t = now_ms();
	size_t          i;

	(void)fd;
	(void)what;
	if (!sd->keyed)
		return;
	for (i = 0; i < sd->nlinks; i++)
		link_changed(sd, &sd->links[i],
		    link_tick_hold(
			&sd->links[i].health, t, silent_hold(sd, i)));
}

/*
 * Every probe interval: declare old probes lost, then probe every link.
 * A probe carries its sequence number and the time it left, in
 * microseconds; the PoP echoes it on the same link.
 */
static void
probe_round(struct socketd *sd)
{
	uint8_t        p[PROBE_LEN];
	struct probe   pr;
	uint64_t       t = now_ms(), sent_us;
	uint32_t       off[CONFIG_MAX_LINKS], g;
	struct timeval tv;
	size_t         i, j, noff = 0;

	/* flows expire with no packet too */
	pthread_mutex_lock(&sd->engine_mu);
	engine_tick(sd->engine, t);
	pthread_mutex_unlock(&sd->engine_mu);
	if (!sd->keyed)
		return;
	for (i = 0; i < sd->nlinks; i++) {
		struct slink *l = &sd->links[i];

		link_changed(
		    sd, l, link_tick_hold(&l->health, t, silent_hold(sd, i)));
		sla_round(sd, (unsigned)i, t);
		link_rank(l);
		/* Each link's own time: sealing and sending the others'
		 * probes (and waiting for worker 0's lock) takes tens of
		 * microseconds, which the later links' RTT would count. */
		sent_us = now_us();
		pr.seq = l->probe_seq;
		pr.sent_us = sent_us;
		(void)probe_encode(&pr, p, sizeof(p));
		dataplane_send(sd, l, WIRE_PROBE, p, sizeof(p));
		link_probe_sent_us(&l->health, l->probe_seq++, sent_us);
		/* A grace of whole intervals ends at a round's own tick. */
		g = link_grace_ms(&l->health) % sd->conf->probe_interval_ms;
		for (j = 0; j < noff && off[j] != g; j++)
			;
		if (g != 0 && j == noff && noff < CONFIG_MAX_LINKS)
			off[noff++] = g;
	}
	dataev_kick(&sd->dataev);
	/* One tick per distinct grace, one millisecond late: now_ms()
	 * truncates, and the tick must not come a hair before the grace is
	 * over.  A one-shot event frees itself; event_base_free() frees one
	 * still pending at exit. */
	for (j = 0; j < noff; j++) {
		g = off[j] + 1;
		tv.tv_sec = g / 1000;
		tv.tv_usec = (suseconds_t)(g % 1000) * 1000;
		if (event_base_once(
			sd->base, -1, EV_TIMEOUT, grace_tick, sd, &tv) == -1)
			log_debug("cannot schedule the probes' grace tick");
	}
}

/*
 * The operator's `wanpairctl link L down|up`.  Down moves the link's
 * flows at once, as a dead link's; up only lets probing start over, so
 * the link returns after up_after answers like any other.
 */
void
links_admin(struct socketd *sd, unsigned link, int up)
{
	struct slink *l = &sd->links[link];

	log_info("link %s: admin %s by the operator", l->conf->name,
	    up ? "up" : "down");
	link_changed(sd, l, link_admin(&l->health, up, now_ms()));
}

/* Every probe interval (probe_ev), and at once when a session starts. */
static void
probe(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dataplane_session_expire(arg);
	probe_round(arg);
}

int
links_start(struct socketd *sd)
{
	struct timeval pr = {sd->conf->probe_interval_ms / 1000,
	    (sd->conf->probe_interval_ms % 1000) * 1000};

	if (dataev_start(&sd->dataev, sd->base, &socketd_dataev, sd) == -1)
		return -1;
	(void)links_sla_reset(sd);
	/* Carrier loss takes a link down at once, before its probes could
	 * tell; without the netlink socket, the probes still will. */
	if ((sd->nl_fd = link_events_open()) == -1)
		log_warn("netlink: no carrier events; probes only");
	else if ((sd->nl_ev = event_new(sd->base, sd->nl_fd,
		      EV_READ | EV_PERSIST, netlink_read, sd)) == NULL ||
	    event_add(sd->nl_ev, NULL) == -1)
		return -1;
	sd->probe_ev = event_new(sd->base, -1, EV_PERSIST, probe, sd);
	if (sd->probe_ev == NULL || event_add(sd->probe_ev, &pr) == -1)
		return -1;
	return 0;
}

void
links_stop(struct socketd *sd)
{
	if (sd->probe_ev != NULL)
		event_free(sd->probe_ev);
	sd->probe_ev = NULL;
	if (sd->nl_ev != NULL)
		event_free(sd->nl_ev);
	sd->nl_ev = NULL;
	if (sd->nl_fd > 0)
		close(sd->nl_fd);
	sd->nl_fd = -1;
	dataev_stop(&sd->dataev);
	free(sd->sla);
	sd->sla = NULL;
	sd->sla_nprofiles = sd->sla_nlinks = 0;
}
