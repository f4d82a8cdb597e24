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
#include "tundev.h"

#define PROGNAME "wanpair-popd"

/* A session's links; popd does not probe, so no rtt, jitter or loss. */
static json_t *
links_json(const struct session *s, const struct config *conf, uint64_t now)
{
	uint64_t flows[CONFIG_MAX_LINKS] = {0};
	json_t  *links, *link;
	size_t   i;

	flow_table_count_links(
	    engine_flows(s->engine), flows, CONFIG_MAX_LINKS);
	if ((links = json_array()) == NULL)
		return NULL;
	/* idle_ms: a worker's batch clock may be ahead of now, which was
	 * read before the engine's lock. */
	for (i = 0; i < s->nlinks; i++) {
		link = json_pack(
		    "{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o*}",
		    "name", s->links[i].name, "state",
		    s->link_down[i] ? "down" : "up", "tx_packets",
		    (json_int_t)s->tx_packets[i], "tx_bytes",
		    (json_int_t)s->tx_bytes[i], "rx_packets",
		    (json_int_t)s->rx_packets[i], "rx_bytes",
		    (json_int_t)s->rx_bytes[i], "flows", (json_int_t)flows[i],
		    "new_flows", (json_int_t)s->new_flows[i], "idle_ms",
		    (json_int_t)(now > s->rx_last_ms[i] ? now - s->rx_last_ms[i]
							: 0),
		    "endpoint_changes", (json_int_t)s->endpoint_moves[i],
		    "weight", (json_int_t)s->spec.links[i].weight, "sla",
		    session_sla_json(s, conf, (unsigned)i, 1));
		if (link == NULL || json_array_append_new(links, link) == -1) {
			json_decref(links);
			return NULL;
		}
	}
	return links;
}

static json_t *
site_json(const struct site *site, const struct config *conf, uint64_t now)
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
	links = s != NULL ? links_json(s, conf, now) : json_array();
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

/*
 * The workers' drops, TUN and socket figures, each worker still while it
 * is between batches (the world lock: a few structs' worth): "drops",
 * "io" and "workers" in *drops, *io, *wk, or -1 out of memory.
 */
static int
workers_json(
    struct popd *pd, json_t **drops, json_t **io, json_t **wk, json_t **dup)
{
	struct dup_counters dc;
	struct dataev_drop  own[] = {
	     {"no_site", 0}, {"unparsable", 0}, {"no_grant", 0}};
	struct tunnel_drops   d;
	struct udpio         *ios[CONFIG_LISTEN_MAX * PROTO_MAX_WORKERS];
	const struct tun_dev *tds[PROTO_MAX_WORKERS];
	uint64_t              tun_write = 0;
	size_t                i, nio = 0;
	unsigned              k;

	memset(&d, 0, sizeof(d));
	memset(&dc, 0, sizeof(dc));
	*wk = json_array();
	popd_world_lock(pd);
	for (k = 0; k < pd->nworkers; k++) {
		const struct pworker *w = &pd->w[k];
		uint64_t              out = 0, in = 0;

		tunnel_drops_add(&d, &w->drops);
		own[0].n += w->drop_no_site;
		own[1].n += w->drop_parse;
		own[2].n += w->drop_no_grant;
		dup_counters_add(&dc, &w->dupc);
		tun_write += w->td->write_errors;
		tds[k] = w->td;
		for (i = 0; i < pd->nlsn; i++) {
			struct udpio *u = pd->lsn[i].uio[k];

			ios[nio++] = u;
			if (u != NULL) {
				out += udpio_stats(u)->tx_dgrams;
				in += udpio_stats(u)->rx_dgrams;
			}
		}
		if (*wk != NULL &&
		    json_array_append_new(*wk,
			json_pack("{s:I,s:I,s:I,s:I}", "tun_packets_in",
			    (json_int_t)tundev_stats(w->td)->pkts_in,
			    "udp_dgrams_out", (json_int_t)out, "udp_dgrams_in",
			    (json_int_t)in, "events_lost",
			    (json_int_t)w->q->lost)) == -1) {
			json_decref(*wk);
			*wk = NULL;
		}
	}
	*drops =
	    dataev_drops_json(&d, tun_write, own, sizeof(own) / sizeof(own[0]));
	*io = dataev_io_json(tds, pd->nworkers, ios, nio);
	popd_world_unlock(pd);
	*dup = dataev_dup_json(&dc);
	if (*drops != NULL && *io != NULL && *wk != NULL && *dup != NULL)
		return 0;
	json_decref(*dup);
	json_decref(*drops);
	json_decref(*io);
	json_decref(*wk);
	return -1;
}

json_t *
popd_counters(void *arg)
{
	struct popd *pd = arg;
	uint64_t     now = now_ms();
	json_t      *sites, *site, *control, *drops, *io, *wk, *cl, *dup, *j;
	size_t       i, sessions = 0;

	if ((sites = json_array()) == NULL)
		return NULL;
	/* What the workers write of each site, a site at a time. */
	for (i = 0; i < pd->nsites; i++) {
		sessions += pd->sites[i].session != NULL;
		pthread_mutex_lock(&pd->engine_mu);
		site = site_json(&pd->sites[i], pd->conf, now);
		pthread_mutex_unlock(&pd->engine_mu);
		if (site == NULL || json_array_append_new(sites, site) == -1) {
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
	if (workers_json(pd, &drops, &io, &wk, &dup) == -1) {
		json_decref(control);
		json_decref(sites);
		return NULL;
	}
	cl = pd->cluster != NULL ? popd_cluster_json(pd) : NULL;
	pthread_mutex_lock(&pd->engine_mu);
	j = json_pack("{s:s,s:s,s:I,s:o,s:{s:I,s:I,s:I},s:o,s:o,s:o,s:o,s:o*,"
		      "s:o}",
	    "daemon", PROGNAME, "version", PACKAGE_VERSION, "start_time",
	    (json_int_t)pd->started, "control", control, "flow_pool", "used",
	    (json_int_t)flow_pool_used(pd->flow_pool), "max",
	    (json_int_t)flow_pool_max(pd->flow_pool), "bytes",
	    (json_int_t)flow_pool_memory(pd->flow_pool), "sites", sites,
	    "drops", drops, "io", io, "workers", wk, "cluster", cl,
	    "duplicates", dup);
	pthread_mutex_unlock(&pd->engine_mu);
	return j;
}
