/*
 * wanpair-popd's answers on its control socket (wanpairctl): status,
 * sites, links and flows per site, counters and reload.  Requests are
 * parsed in proto/ctlsock.c and served by daemon/ctlsrv.c; this file only
 * reads the daemon's state.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctlsrv.h"
#include "log.h"
#include "popd.h"

#define PROGNAME "wanpair-popd"

/* pd->sites are in the configuration's order. */
static struct site *
site_named(struct popd *pd, const char *name)
{
	int i = config_site_index(pd->conf, name);

	return i == -1 ? NULL : &pd->sites[i];
}

static json_t *
unknown_site(const char *name)
{
	return ctlsock_error("unknown site \"%s\" (wanpairctl sites lists "
			     "them)",
	    name);
}

static size_t
links_up(const struct session *s)
{
	size_t l, up = 0;

	for (l = 0; l < s->nlinks; l++)
		up += !s->link_down[l];
	return up;
}

static json_t *
answer_status(struct popd *pd)
{
	size_t   i, sessions = 0, connected = 0;
	uint64_t flows = 0;

	for (i = 0; i < pd->nsites; i++) {
		const struct session *s = pd->sites[i].session;

		if (s == NULL)
			continue;
		sessions++;
		connected += s->conn != NULL;
		flows += flow_table_count(engine_flows(s->engine));
	}
	return json_pack("{s:s,s:s,s:i,s:s,s:I,s:I,s:i,s:i,s:i,s:I}", "daemon",
	    PROGNAME, "version", PACKAGE_VERSION, "pid", (int)getpid(),
	    "config", pd->conf->file, "started", (json_int_t)pd->started,
	    "uptime_s", (json_int_t)(time(NULL) - pd->started), "sites",
	    (int)pd->nsites, "sessions", (int)sessions, "connected",
	    (int)connected, "flows", (json_int_t)flows);
}

static json_t *
answer_sites(struct popd *pd)
{
	char    buf[PREFIX_STRLEN];
	json_t *rows, *row, *lan;
	size_t  i, j;

	if ((rows = json_array()) == NULL)
		return NULL;
	for (i = 0; i < pd->nsites; i++) {
		const struct site    *site = &pd->sites[i];
		const struct session *s = site->session;
		char                  sess[16];

		if ((lan = json_array()) == NULL)
			goto fail;
		for (j = 0; j < site->conf->nlan; j++)
			json_array_append_new(lan,
			    json_string(prefix_ntop(
				&site->conf->lan[j], buf, sizeof(buf))));
		if (s != NULL)
			snprintf(sess, sizeof(sess), "%08x", s->id);
		row = json_pack("{s:s,s:s,s:b,s:s?,s:s?,s:i,s:i,s:I,s:o}",
		    "name", site->conf->name, "identity", site->conf->identity,
		    "connected", s != NULL && s->conn != NULL, "session",
		    s != NULL ? sess : NULL, "peer",
		    s != NULL && s->conn != NULL ? s->conn->peer : NULL,
		    "links_up", s != NULL ? (int)links_up(s) : 0, "links",
		    s != NULL ? (int)s->nlinks : 0, "flows",
		    (json_int_t)(s != NULL
			    ? flow_table_count(engine_flows(s->engine))
			    : 0),
		    "lan", lan);
		if (row == NULL || json_array_append_new(rows, row) == -1)
			goto fail;
	}
	return json_pack("{s:o}", "sites", rows);
fail:
	json_decref(rows);
	return NULL;
}

static int
site_links(json_t *rows, const struct site *site, uint64_t now)
{
	const struct session *s = site->session;
	uint64_t              flows[CONFIG_MAX_LINKS] = {0};
	json_t               *row;
	size_t                l;

	flow_table_count_links(
	    engine_flows(s->engine), flows, CONFIG_MAX_LINKS);
	for (l = 0; l < s->nlinks; l++) {
		row = json_pack(
		    "{s:s,s:s,s:s,s:i,s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I,"
		    "s:I,s:b}",
		    "site", site->conf->name, "name", s->links[l].name, "state",
		    s->link_down[l] ? "down" : "up", "up_mbps",
		    (int)s->links[l].up_mbps, "down_mbps",
		    (int)s->links[l].down_mbps, "weight",
		    (int)s->spec.links[l].weight, "idle_ms",
		    s->rx_last_ms[l] != 0 ? (json_int_t)(now - s->rx_last_ms[l])
					  : (json_int_t)-1,
		    "flows", (json_int_t)flows[l], "new_flows",
		    (json_int_t)s->new_flows[l], "tx_packets",
		    (json_int_t)s->tx_packets[l], "tx_bytes",
		    (json_int_t)s->tx_bytes[l], "rx_packets",
		    (json_int_t)s->rx_packets[l], "rx_bytes",
		    (json_int_t)s->rx_bytes[l], "endpoint",
		    s->endpoint_len[l] != 0);
		if (row == NULL || json_array_append_new(rows, row) == -1)
			return -1;
	}
	return 0;
}

static json_t *
answer_links(struct popd *pd, const struct ctlsock_req *req)
{
	struct site *only = NULL;
	json_t      *rows;
	size_t       i;

	if (req->site[0] != '\0' && (only = site_named(pd, req->site)) == NULL)
		return unknown_site(req->site);
	if ((rows = json_array()) == NULL)
		return NULL;
	for (i = 0; i < pd->nsites; i++) {
		if ((only != NULL && only != &pd->sites[i]) ||
		    pd->sites[i].session == NULL)
			continue;
		if (site_links(rows, &pd->sites[i], now_ms()) == -1) {
			json_decref(rows);
			return NULL;
		}
	}
	return ctlsock_ok(json_pack("{s:o}", "links", rows));
}

static json_t *
answer_flows(struct popd *pd, const struct ctlsock_req *req)
{
	const char  *names[CONFIG_MAX_LINKS];
	struct site *only = NULL;
	json_t      *rows;
	size_t       i, l, total = 0;
	int          link, known = req->link[0] == '\0';

	if (req->site[0] != '\0' && (only = site_named(pd, req->site)) == NULL)
		return unknown_site(req->site);
	if ((rows = json_array()) == NULL)
		return NULL;
	for (i = 0; i < pd->nsites; i++) {
		struct session *s = pd->sites[i].session;

		if ((only != NULL && only != &pd->sites[i]) || s == NULL)
			continue;
		link = -1;
		for (l = 0; l < s->nlinks; l++) {
			names[l] = s->links[l].name;
			if (strcmp(names[l], req->link) == 0)
				link = (int)l;
		}
		/* Sites name their links independently: a name unknown to
		 * this one matches none of its flows. */
		if (req->link[0] != '\0' && link < 0)
			continue;
		known = 1;
		total += ctlsrv_flows(rows, engine_flows(s->engine), link,
		    names, s->nlinks, pd->sites[i].conf->lan,
		    pd->sites[i].conf->nlan, pd->sites[i].conf->name,
		    req->limit, now_ms());
	}
	if (!known) {
		json_decref(rows);
		return ctlsock_error("unknown link \"%s\": no connected site "
				     "has a link of that name",
		    req->link);
	}
	return ctlsock_ok(json_pack("{s:I,s:I,s:o}", "total", (json_int_t)total,
	    "shown", (json_int_t)json_array_size(rows), "flows", rows));
}

json_t *
popd_answer(void *arg, const struct ctlsock_req *req)
{
	struct popd *pd = arg;

	switch (req->cmd) {
	case CTLSOCK_STATUS:
		return ctlsock_ok(answer_status(pd));
	case CTLSOCK_SITES:
		return ctlsock_ok(answer_sites(pd));
	case CTLSOCK_LINKS:
		return answer_links(pd, req);
	case CTLSOCK_FLOWS:
		return answer_flows(pd, req);
	case CTLSOCK_LINK:
		return ctlsock_error("link: a site's links are the site's to "
				     "steer; run wanpairctl link on its "
				     "wanpair-socketd");
	case CTLSOCK_CLUSTER:
		return popd_cluster_answer(pd);
	case CTLSOCK_COUNTERS:
	case CTLSOCK_RELOAD: /* the skeleton's (daemon/daemon.c) */
	case CTLSOCK_NCMD:
		break;
	}
	return ctlsock_error("unknown command");
}
