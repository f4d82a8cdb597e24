/*
 * wanpair-socketd's answers on its control socket (wanpairctl): status,
 * links, flows, counters, reload and the links' admin state.  Requests
 * are parsed in proto/ctlsock.c and served by daemon/ctlsrv.c; this file
 * only reads the daemon's state, and changes it only through the
 * functions SIGHUP and link health use too.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctlsrv.h"
#include "log.h"
#include "socketd.h"

#define PROGNAME "wanpair-socketd"

/* The link named `name`, or -1: sd->links are in the configuration's
 * order. */
static int
link_index(const struct socketd *sd, const char *name)
{
	return config_link_index(sd->conf, name);
}

static json_t *
unknown_link(const struct socketd *sd, const char *name)
{
	char   list[CONFIG_MAX_LINKS * (CONFIG_NAME_MAX + 2)];
	size_t i, off = 0;

	list[0] = '\0';
	for (i = 0; i < sd->nlinks && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
		    i > 0 ? ", " : "", sd->links[i].conf->name);
	return ctlsock_error("unknown link \"%s\" (links: %s)", name, list);
}

static json_t *
answer_status(struct socketd *sd)
{
	struct flow_table *t = engine_flows(sd->engine);
	const char        *state;
	char               sess[16];
	size_t             i, up = 0, count, max;

	pthread_mutex_lock(&sd->engine_mu);
	count = flow_table_count(t);
	max = flow_table_max(t);
	pthread_mutex_unlock(&sd->engine_mu);
	for (i = 0; i < sd->nlinks; i++)
		up += dataplane_link_up(sd, (unsigned)i);
	state = socketd_control_state(sd);
	snprintf(sess, sizeof(sess), "%08x", sd->session);
	return json_pack("{s:s,s:s,s:i,s:s,s:s,s:I,s:I,s:{s:s,s:s?,s:s?},"
			 "s:i,s:i,s:I,s:I,s:i}",
	    "daemon", PROGNAME, "version", PACKAGE_VERSION, "pid",
	    (int)getpid(), "config", sd->conf->file, "site", sd->conf->site,
	    "started", (json_int_t)sd->started, "uptime_s",
	    (json_int_t)(time(NULL) - sd->started), "control", "state", state,
	    "link", sd->ctl != NULL ? sd->links[sd->ctl_link].conf->name : NULL,
	    "session", sd->keyed ? sess : NULL, "links_up", (int)up, "links",
	    (int)sd->nlinks, "flows", (json_int_t)count, "flows_max",
	    (json_int_t)max, "workers", (int)sd->nworkers);
}

static json_t *
answer_links(struct socketd *sd)
{
	uint64_t flows[CONFIG_MAX_LINKS] = {0};
	uint64_t now = now_ms();
	json_t  *rows, *row;
	size_t   i;

	pthread_mutex_lock(&sd->engine_mu);
	flow_table_count_links(
	    engine_flows(sd->engine), flows, CONFIG_MAX_LINKS);
	pthread_mutex_unlock(&sd->engine_mu);
	if ((rows = json_array()) == NULL)
		return NULL;
	for (i = 0; i < sd->nlinks; i++) {
		const struct slink       *l = &sd->links[i];
		const struct link_health *h = &l->health;
		struct slink_counters     k;
		char                      pop[ADDR_STRLEN] = "";

		dataplane_link_counters(sd, l, &k);
		if (l->conf->pop.family != 0)
			addr_ntop(&l->conf->pop, pop, sizeof(pop));
		row = json_pack(
		    "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:f,s:f,s:f,s:o,s:i,"
		    "s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o*,s:o*}",
		    "name", l->conf->name, "device", l->conf->device, "pop",
		    pop, "state", link_state(h) == LINK_UP ? "up" : "down",
		    "status", link_status_str(h), "reason", link_reason(h),
		    "admin", h->admin_up ? "up" : "down", "carrier",
		    h->carrier_up, "rtt_ms", link_rtt_us(h) / 1000.0,
		    "jitter_ms", link_jitter_us(h) / 1000.0, "loss",
		    link_loss_ppm(h) / 1e6, "mos", socketd_link_mos(h),
		    "up_mbps", (int)l->conf->up_mbps, "down_mbps",
		    (int)l->conf->down_mbps, "weight",
		    (int)config_link_weight(sd->conf, i, 0), "since_s",
		    (json_int_t)((now - link_changed_ms(h)) / 1000), "flows",
		    (json_int_t)flows[i], "new_flows", (json_int_t)k.new_flows,
		    "tx_packets", (json_int_t)k.tx_packets, "tx_bytes",
		    (json_int_t)k.tx_bytes, "rx_packets",
		    (json_int_t)k.rx_packets, "rx_bytes",
		    (json_int_t)k.rx_bytes, "degraded",
		    socketd_link_sla(sd, (unsigned)i, 1), "sla",
		    socketd_link_sla(sd, (unsigned)i, 0));
		if (row == NULL || json_array_append_new(rows, row) == -1) {
			json_decref(rows);
			return NULL;
		}
	}
	return json_pack("{s:o}", "links", rows);
}

/* `flows`, a chunk at a time (ctlsrv_rows): one table, walked in steps
 * (ctlsrv_flows_step(), flow_table_walk() say what a reader gets). */
struct flows_cursor {
	struct socketd       *sd;
	char                  link[CONFIG_NAME_MAX]; /* "" any */
	size_t                limit, shown;
	struct ctlsrv_flowpos fp;
};

static int
flows_next(void *cur, json_t *rows, size_t max)
{
	struct flows_cursor  *w = cur;
	struct socketd       *sd = w->sd;
	const char           *names[CONFIG_MAX_LINKS];
	struct ctlsrv_flowsrc src;
	size_t                i, before = json_array_size(rows);
	int                   link = -1, rc;

	/* By name each step: a reload between two may renumber links. */
	if (w->link[0] != '\0' && (link = link_index(sd, w->link)) < 0)
		return 0;
	for (i = 0; i < sd->nlinks; i++)
		names[i] = sd->links[i].conf->name;
	src = (struct ctlsrv_flowsrc){engine_flows(sd->engine), names,
	    sd->nlinks, sd->conf->lan, sd->conf->nlan, NULL, sd->conf->profiles,
	    sd->conf->nprofiles, sd->conf->rules, sd->conf->nrules};
	pthread_mutex_lock(&sd->engine_mu);
	rc = ctlsrv_flows_step(
	    rows, max, w->limit - w->shown, &src, link, &w->fp, now_ms());
	pthread_mutex_unlock(&sd->engine_mu);
	w->shown += json_array_size(rows) - before;
	return rc == 1 && w->shown >= w->limit ? 0 : rc;
}

static json_t *
flows_tail(void *cur)
{
	const struct flows_cursor *w = cur;

	return json_pack("{s:I}", "shown", (json_int_t)w->shown);
}

static json_t *
answer_flows(
    struct socketd *sd, const struct ctlsock_req *req, struct ctlsrv_rows *rows)
{
	struct flow_table   *t = engine_flows(sd->engine);
	struct flows_cursor *w;
	int                  link = -1;
	uint32_t             total;

	if (req->link[0] != '\0' && (link = link_index(sd, req->link)) < 0)
		return unknown_link(sd, req->link);
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->sd = sd;
	memcpy(w->link, req->link, sizeof(w->link));
	w->limit = req->limit;
	/* What the table holds now: the walk is not a snapshot. */
	pthread_mutex_lock(&sd->engine_mu);
	total = link < 0 ? flow_table_count(t)
			 : flow_table_link_count(t, (uint8_t)link);
	pthread_mutex_unlock(&sd->engine_mu);
	*rows = (struct ctlsrv_rows){"flows", flows_next, flows_tail, free, w};
	return ctlsock_ok(json_pack("{s:I}", "total", (json_int_t)total));
}

json_t *
socketd_answer(
    void *arg, const struct ctlsock_req *req, struct ctlsrv_rows *rows)
{
	struct socketd *sd = arg;
	int             link;

	switch (req->cmd) {
	case CTLSOCK_STATUS:
		return ctlsock_ok(answer_status(sd));
	case CTLSOCK_LINKS:
	case CTLSOCK_FLOWS:
		/* One site here: another's name matches nothing. */
		if (req->site[0] != '\0' &&
		    strcmp(req->site, sd->conf->site) != 0)
			return ctlsock_error("unknown site \"%s\": this "
					     "wanpair-socketd serves %s",
			    req->site, sd->conf->site);
		if (req->cmd == CTLSOCK_LINKS)
			return ctlsock_ok(answer_links(sd));
		return answer_flows(sd, req, rows);
	case CTLSOCK_LINK:
		if ((link = link_index(sd, req->link)) < 0)
			return unknown_link(sd, req->link);
		links_admin(sd, (unsigned)link, req->up);
		return ctlsock_ok(json_pack("{s:s,s:s,s:s}", "link", req->link,
		    "admin", req->up ? "up" : "down", "state",
		    dataplane_link_up(sd, (unsigned)link) ? "up" : "down"));
	case CTLSOCK_SITES:
		return ctlsock_error("sites: wanpair-socketd serves one "
				     "site (%s); ask wanpair-popd",
		    sd->conf->site);
	case CTLSOCK_CLUSTER:
		return ctlsock_error("cluster: a cluster is of wanpair-popd "
				     "nodes; ask wanpair-popd");
	case CTLSOCK_COUNTERS:
	case CTLSOCK_RELOAD: /* the skeleton's (daemon/daemon.c) */
	case CTLSOCK_NCMD:
		break;
	}
	return ctlsock_error("unknown command");
}
