/*
 * wanpair-socketd's counters: one JSON snapshot of everything an operator
 * counts, the result of `wanpairctl counters` and the source the
 * Prometheus endpoint renders (schema in daemon/metrics.h), but for what
 * daemon_counters() adds.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "log.h"
#include "mos.h"
#include "socketd.h"
#include "tundev.h"

#define PROGNAME "wanpair-socketd"

/* A link's RTT or jitter in ms, null until a probe was answered. */
static json_t *
ms_or_null(const struct link_health *h, uint32_t us)
{
	const struct link_counters *c = link_counters(h);

	return c->answered + c->late > 0 ? json_real(us / 1000.0) : json_null();
}

json_t *
socketd_link_mos(const struct link_health *h)
{
	const struct link_counters *c = link_counters(h);

	if (c->answered + c->late == 0)
		return json_null();
	return json_real(
	    mos_estimate(link_rtt_us(h), link_jitter_us(h), link_loss_ppm(h)));
}

json_t *
socketd_link_sla(const struct socketd *sd, unsigned link, int names_only)
{
	const struct sla_state *st;
	uint64_t                now = now_ms();
	json_t                 *arr, *v;
	size_t                  i;
	int                     m;

	if ((arr = json_array()) == NULL)
		return NULL;
	for (i = 0; i < sd->conf->nprofiles; i++) {
		if ((st = links_sla(sd, link, i)) == NULL)
			continue;
		if (names_only && !sla_degraded(st))
			continue;
		m = sla_measured(st);
		v = names_only
		    ? json_string(sd->conf->profiles[i].name)
		    : json_pack("{s:s,s:b,s:s,s:I,s:I,s:o,s:o,s:o}", "profile",
			  sd->conf->profiles[i].name, "degraded",
			  sla_degraded(st), "reason", sla_reason(st), "since_s",
			  (json_int_t)((now - sla_changed_ms(st)) / 1000),
			  "violations", (json_int_t)sla_violations(st), "loss",
			  m ? json_real(sla_loss_ppm(st) / 1e6) : json_null(),
			  "rtt_ms",
			  m ? json_real(sla_rtt_us(st) / 1e3) : json_null(),
			  "jitter_ms",
			  m ? json_real(sla_jitter_us(st) / 1e3) : json_null());
		if (v == NULL || json_array_append_new(arr, v) == -1) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *
link_json(
    struct socketd *sd, const struct slink *l, uint64_t flows, uint32_t weight)
{
	const struct link_health   *h = &l->health;
	const struct link_counters *c = link_counters(h);
	static const char *const    causes[] = {
	       [LINK_CAUSE_NONE] = "none",
	       [LINK_CAUSE_ADMIN] = "admin",
	       [LINK_CAUSE_CARRIER] = "carrier",
	       [LINK_CAUSE_PROBES] = "probes",
        };
	struct slink_counters k;

	dataplane_link_counters(sd, l, &k);

	return json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:f,s:o,s:I,s:I,s:I,s:I,"
			 "s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o*}",
	    "name", l->conf->name, "state",
	    link_state(h) == LINK_UP ? "up" : "down", "cause",
	    causes[link_cause(h)], "admin", h->admin_up ? "up" : "down",
	    "rtt_ms", ms_or_null(h, link_rtt_us(h)), "jitter_ms",
	    ms_or_null(h, link_jitter_us(h)), "loss", link_loss_ppm(h) / 1e6,
	    "mos", socketd_link_mos(h), "tx_packets", (json_int_t)k.tx_packets,
	    "tx_bytes", (json_int_t)k.tx_bytes, "rx_packets",
	    (json_int_t)k.rx_packets, "rx_bytes", (json_int_t)k.rx_bytes,
	    "tx_errors", (json_int_t)k.tx_errors, "flows", (json_int_t)flows,
	    "new_flows", (json_int_t)k.new_flows, "probes_sent",
	    (json_int_t)c->sent, "probes_answered", (json_int_t)c->answered,
	    "probes_lost", (json_int_t)c->lost, "weight", (json_int_t)weight,
	    "sla", socketd_link_sla(sd, (unsigned)(l - sd->links), 0));
}

const char *
socketd_control_state(const struct socketd *sd)
{
	if (sd->ctl == NULL)
		return "down";
	return sd->ctl_welcomed ? "up" : "connecting";
}

json_t *
socketd_counters(void *arg)
{
	struct socketd    *sd = arg;
	struct dataev_drop own[] = {
	    {"link_scoped", 0},
	    {"unparsable", 0},
	    {"all_links_down", 0},
	    {"not_from_pop", 0},
	};
	struct tunnel_drops   d;
	struct dup_counters   dc;
	struct flow_table    *t = engine_flows(sd->engine);
	uint64_t              flows[CONFIG_MAX_LINKS] = {0}, tun_write = 0;
	uint64_t              fcount, fmax, fevict, fnew;
	json_t               *links, *link, *drops, *io, *wk, *j, *dup;
	const char           *state;
	const struct tun_dev *tds[PROTO_MAX_WORKERS];
	struct udpio         *ios[CONFIG_MAX_LINKS * PROTO_MAX_WORKERS];
	size_t                i, nio = 0;
	unsigned              k;

	/* One walk of the table rather than balance_link_active(): static
	 * routes' flows are on a link too, and `wanpairctl links` counts
	 * the same way. */
	pthread_mutex_lock(&sd->engine_mu);
	flow_table_count_links(t, flows, CONFIG_MAX_LINKS);
	fcount = flow_table_count(t);
	fmax = flow_table_max(t);
	fevict = flow_table_evictions(t);
	fnew = engine_stats(sd->engine)->new_flows;
	pthread_mutex_unlock(&sd->engine_mu);
	if ((links = json_array()) == NULL)
		return NULL;
	for (i = 0; i < sd->nlinks; i++)
		if ((link = link_json(sd, &sd->links[i], flows[i],
			 config_link_weight(sd->conf, i, 0))) == NULL ||
		    json_array_append_new(links, link) == -1) {
			json_decref(links);
			return NULL;
		}
	/* The workers' counters, each still while it is between batches. */
	memset(&d, 0, sizeof(d));
	memset(&dc, 0, sizeof(dc));
	wk = json_array();
	dataplane_world_lock(sd);
	for (k = 0; k < sd->nworkers; k++) {
		const struct sworker *w = &sd->w[k];
		uint64_t              out = 0, in = 0;

		tunnel_drops_add(&d, &w->drops);
		own[0].n += w->drop_link_scoped;
		own[1].n += w->drop_parse;
		own[2].n += w->drop_link_down;
		own[3].n += w->drop_foreign;
		dup_counters_add(&dc, &w->dupc);
		tun_write += w->td->write_errors;
		tds[k] = w->td;
		for (i = 0; i < sd->nlinks; i++) {
			struct udpio *u = sd->links[i].s.uio[k];

			ios[nio++] = u;
			if (u != NULL) {
				out += udpio_stats(u)->tx_dgrams;
				in += udpio_stats(u)->rx_dgrams;
			}
		}
		if (wk != NULL &&
		    json_array_append_new(wk,
			json_pack("{s:I,s:I,s:I,s:I,s:I}", "tun_packets_in",
			    (json_int_t)tundev_stats(w->td)->pkts_in,
			    "udp_dgrams_out", (json_int_t)out, "udp_dgrams_in",
			    (json_int_t)in, "events_lost",
			    (json_int_t)w->q->lost, "poll_errors",
			    (json_int_t)w->poll_errors)) == -1) {
			json_decref(wk);
			wk = NULL;
		}
	}
	drops =
	    dataev_drops_json(&d, tun_write, own, sizeof(own) / sizeof(own[0]));
	io = dataev_io_json(tds, sd->nworkers, ios, nio);
	dataplane_world_unlock(sd);
	dup = dataev_dup_json(&dc);
	if (drops == NULL || wk == NULL || dup == NULL) {
		json_decref(dup);
		json_decref(links);
		json_decref(io);
		json_decref(drops);
		json_decref(wk);
		return NULL;
	}
	state = socketd_control_state(sd);
	j = json_pack("{s:s,s:s,s:I,s:s,s:{s:s,s:b,s:s?,s:I,s:I,s:I,s:I},"
		      "s:{s:I,s:I,s:I,s:I},s:o,s:o,s:o*,s:o,s:o}",
	    "daemon", PROGNAME, "version", PACKAGE_VERSION, "start_time",
	    (json_int_t)sd->started, "site", sd->conf->site, "control", "state",
	    state, "connected", sd->ctl_welcomed, "link",
	    sd->ctl != NULL ? sd->links[sd->ctl_link].conf->name : NULL,
	    "reassign_sent", (json_int_t)sd->reassign_sent, "reassign_applied",
	    (json_int_t)sd->reassign_applied, "link_down_notices",
	    (json_int_t)sd->linkdown_sent, "sessions_expired",
	    (json_int_t)sd->sessions_expired, "flows", "count",
	    (json_int_t)fcount, "max", (json_int_t)fmax, "evictions",
	    (json_int_t)fevict, "new", (json_int_t)fnew, "links", links,
	    "drops", drops, "io", io, "workers", wk, "duplicates", dup);
	return j;
}
