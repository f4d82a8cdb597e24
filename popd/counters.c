/*
 * wanpair-popd's counters: one JSON snapshot of everything an operator
 * counts, per site and per link, the result of `wanpairctl counters` and
 * the source the Prometheus endpoint renders (schema in daemon/metrics.h),
 * but for what daemon_counters() adds.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "log.h"
#include "popd.h"

#define PROGNAME "wanpair-popd"

/* A session's links; popd does not probe, so no rtt, jitter or loss. */
static json_t *
links_json(const struct session *s, uint64_t now)
{
	uint64_t flows[CONFIG_MAX_LINKS] = {0};
	json_t  *links, *link;
	size_t   i;

	flow_table_count_links(
	    engine_flows(s->engine), flows, CONFIG_MAX_LINKS);
	if ((links = json_array()) == NULL)
		return NULL;
	for (i = 0; i < s->nlinks; i++) {
		link = json_pack(
		    "{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "name",
		    s->links[i].name, "state", s->link_down[i] ? "down" : "up",
		    "tx_packets", (json_int_t)s->tx_packets[i], "tx_bytes",
		    (json_int_t)s->tx_bytes[i], "rx_packets",
		    (json_int_t)s->rx_packets[i], "rx_bytes",
		    (json_int_t)s->rx_bytes[i], "flows", (json_int_t)flows[i],
		    "new_flows", (json_int_t)s->new_flows[i], "idle_ms",
		    (json_int_t)(now - s->rx_last_ms[i]), "endpoint_changes",
		    (json_int_t)s->endpoint_moves[i], "weight",
		    (json_int_t)s->spec.links[i].weight);
		if (link == NULL || json_array_append_new(links, link) == -1) {
			json_decref(links);
			return NULL;
		}
	}
	return links;
}

static json_t *
site_json(const struct site *site, uint64_t now)
{
	const struct session *s = site->session;
	struct flow_table    *t = engine_flows(site->engine);
	json_t               *flows, *links;

	/* The site's share of the pool: "max" its cap (flows_max) */
	flows = json_pack("{s:I,s:I,s:I,s:I,s:I}", "count",
	    (json_int_t)flow_table_count(t), "max",
	    (json_int_t)flow_table_max(t), "evictions",
	    (json_int_t)flow_table_evictions(t), "refused",
	    (json_int_t)flow_table_refused(t), "new",
	    (json_int_t)engine_stats(site->engine)->new_flows);
	if (flows == NULL)
		return NULL;
	links = s != NULL ? links_json(s, now) : json_array();
	return json_pack(
	    "{s:s,s:b,s:{s:b,s:I,s:I,s:I,s:I,s:I},s:o,s:o,s:{s:I,s:I,s:I,s:I}}",
	    "name", site->conf->name, "session", s != NULL, "control",
	    "connected", s != NULL && s->conn != NULL && s->conn->welcomed,
	    "link_down_notices", (json_int_t)site->linkdown_rx,
	    "link_down_applied", (json_int_t)site->linkdown_applied,
	    "reassign_applied",
	    (json_int_t)(s != NULL ? s->reassign_batches : 0), "reassign_moves",
	    (json_int_t)(s != NULL ? s->reassign_moved + s->reassign_inserted
				   : 0),
	    "reassign_refused",
	    (json_int_t)(s != NULL ? s->reassign_refused : 0), "flows", flows,
	    "links", links, "drops", "spoofed", (json_int_t)site->drop_spoofed,
	    "no_endpoint", (json_int_t)site->drop_no_endpoint, "no_link",
	    (json_int_t)site->drop_no_link, "table_full",
	    (json_int_t)site->drop_table_full);
}

json_t *
popd_counters(void *arg)
{
	struct popd             *pd = arg;
	const struct dataev_drop own[] = {
	    {"no_site", pd->drop_no_site},
	    {"unparsable", pd->drop_parse},
	};
	uint64_t              now = now_ms();
	json_t               *sites, *site, *control, *drops, *j;
	struct udpio         *ios[CONFIG_LISTEN_MAX];
	const struct tun_dev *tds[1] = {&pd->tundev};
	size_t                i, sessions = 0;

	for (i = 0; i < pd->nlsn; i++)
		ios[i] = pd->lsn[i].uio;
	if ((sites = json_array()) == NULL)
		return NULL;
	for (i = 0; i < pd->nsites; i++) {
		sessions += pd->sites[i].session != NULL;
		if ((site = site_json(&pd->sites[i], now)) == NULL ||
		    json_array_append_new(sites, site) == -1) {
			json_decref(sites);
			return NULL;
		}
	}
	if ((control = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
				 "s:I,s:I,s:I,s:I,s:I}",
		 "sessions", (json_int_t)sessions, "pending",
		 (json_int_t)pd->pending.n, "refused", (json_int_t)pd->refused,
		 "connections", (json_int_t)pd->nconns, "handshake_timeouts",
		 (json_int_t)pd->handshake_timeouts, "handshakes_evicted",
		 (json_int_t)pd->handshakes_evicted, "refused_per_source",
		 (json_int_t)pd->refused_per_source, "refused_total",
		 (json_int_t)pd->refused_total, "replaced",
		 (json_int_t)pd->replaced, "output_overflows",
		 (json_int_t)pd->output_overflows, "rate_limited",
		 (json_int_t)pd->rate_limited, "bad_frames",
		 (json_int_t)pd->bad_frames, "sessions_expired",
		 (json_int_t)pd->sessions_expired, "input_throttled",
		 (json_int_t)pd->input_throttled, "handshake_failures",
		 (json_int_t)pd->handshake_failures)) == NULL) {
		json_decref(sites);
		return NULL;
	}
	if ((drops = dataev_drops_json(&pd->drops, pd->tundev.write_errors, own,
		 sizeof(own) / sizeof(own[0]))) == NULL) {
		json_decref(control);
		json_decref(sites);
		return NULL;
	}
	j = json_pack("{s:s,s:s,s:I,s:o,s:{s:I,s:I,s:I},s:o,s:o,s:o*,s:o*}",
	    "daemon", PROGNAME, "version", PACKAGE_VERSION, "start_time",
	    (json_int_t)pd->started, "control", control, "flow_pool", "used",
	    (json_int_t)flow_pool_used(pd->flow_pool), "max",
	    (json_int_t)flow_pool_max(pd->flow_pool), "bytes",
	    (json_int_t)flow_pool_memory(pd->flow_pool), "sites", sites,
	    "drops", drops, "io", dataev_io_json(tds, 1, ios, pd->nlsn),
	    "cluster", cluster_json(pd->cluster));
	return j;
}
