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
#include "socketd.h"

#define PROGNAME "wanpair-socketd"

/* A link's RTT or jitter in ms, null until a probe was answered. */
static json_t *
ms_or_null(const struct link_health *h, uint32_t us)
{
	const struct link_counters *c = link_counters(h);

	return c->answered + c->late > 0 ? json_real(us / 1000.0) : json_null();
}

static json_t *
link_json(const struct slink *l, uint64_t flows, uint32_t weight)
{
	const struct link_health   *h = &l->health;
	const struct link_counters *c = link_counters(h);
	static const char *const    causes[] = {
	       [LINK_CAUSE_NONE] = "none",
	       [LINK_CAUSE_ADMIN] = "admin",
	       [LINK_CAUSE_CARRIER] = "carrier",
	       [LINK_CAUSE_PROBES] = "probes",
        };
	uint64_t txp, txb, txe;

	dataplane_link_tx(l, &txp, &txb, &txe);

	return json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:f,s:I,s:I,s:I,s:I,s:I,"
			 "s:I,s:I,s:I,s:I,s:I,s:I}",
	    "name", l->conf->name, "state",
	    link_state(h) == LINK_UP ? "up" : "down", "cause",
	    causes[link_cause(h)], "admin", h->admin_up ? "up" : "down",
	    "rtt_ms", ms_or_null(h, link_rtt_us(h)), "jitter_ms",
	    ms_or_null(h, link_jitter_us(h)), "loss", link_loss_ppm(h) / 1e6,
	    "tx_packets", (json_int_t)txp, "tx_bytes", (json_int_t)txb,
	    "rx_packets", (json_int_t)l->rx_packets, "rx_bytes",
	    (json_int_t)l->rx_bytes, "tx_errors", (json_int_t)txe, "flows",
	    (json_int_t)flows, "new_flows", (json_int_t)l->new_flows,
	    "probes_sent", (json_int_t)c->sent, "probes_answered",
	    (json_int_t)c->answered, "probes_lost", (json_int_t)c->lost,
	    "weight", (json_int_t)weight);
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
	struct socketd          *sd = arg;
	const struct dataev_drop own[] = {
	    {"link_scoped", sd->drop_link_scoped},
	    {"unparsable", sd->drop_parse},
	    {"all_links_down", sd->drop_link_down},
	};
	struct flow_table *t = engine_flows(sd->engine);
	uint64_t           flows[CONFIG_MAX_LINKS] = {0};
	json_t            *links, *link, *drops, *j;
	const char        *state;
	struct udpio      *ios[CONFIG_MAX_LINKS];
	size_t             i;

	/* One walk of the table rather than balance_link_active(): static
	 * routes' flows are on a link too, and `wanpairctl links` counts
	 * the same way. */
	flow_table_count_links(t, flows, CONFIG_MAX_LINKS);
	if ((links = json_array()) == NULL)
		return NULL;
	for (i = 0; i < sd->nlinks; i++)
		if ((link = link_json(&sd->links[i], flows[i],
			 config_link_weight(sd->conf, i, 0))) == NULL ||
		    json_array_append_new(links, link) == -1) {
			json_decref(links);
			return NULL;
		}
	if ((drops = dataev_drops_json(&sd->drops, &sd->tundev, own,
		 sizeof(own) / sizeof(own[0]))) == NULL) {
		json_decref(links);
		return NULL;
	}
	state = socketd_control_state(sd);
	for (i = 0; i < sd->nlinks; i++)
		ios[i] = sd->links[i].uio;
	j = json_pack("{s:s,s:s,s:I,s:s,s:{s:s,s:b,s:s?,s:I,s:I,s:I},"
		      "s:{s:I,s:I,s:I,s:I},s:o,s:o,s:o*}",
	    "daemon", PROGNAME, "version", PACKAGE_VERSION, "start_time",
	    (json_int_t)sd->started, "site", sd->conf->site, "control", "state",
	    state, "connected", sd->ctl_welcomed, "link",
	    sd->ctl != NULL ? sd->links[sd->ctl_link].conf->name : NULL,
	    "reassign_sent", (json_int_t)sd->reassign_sent, "reassign_applied",
	    (json_int_t)sd->reassign_applied, "sessions_expired",
	    (json_int_t)sd->sessions_expired, "flows", "count",
	    (json_int_t)flow_table_count(t), "max",
	    (json_int_t)flow_table_max(t), "evictions",
	    (json_int_t)flow_table_evictions(t), "new",
	    (json_int_t)engine_stats(sd->engine)->new_flows, "links", links,
	    "drops", drops, "io", dataev_io_json(&sd->tundev, ios, sd->nlinks));
	return j;
}
