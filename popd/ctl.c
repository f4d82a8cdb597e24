/*
 * wanpair-popd's answers on its control socket (wanpairctl): status,
 * sites, links and flows per site, counters and reload.  Requests are
 * parsed in proto/ctlsock.c and served by daemon/ctlsrv.c; this file only
 * reads the daemon's state.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
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

/*
 * The table holding a site's flows, NULL while it has none: the one
 * place that knows where popd keeps them (each site's engine, over
 * pd->flow_pool, kept from one session to the next).
 */
static struct flow_table *
site_flows(const struct site *site)
{
	return site->engine != NULL ? engine_flows(site->engine) : NULL;
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
		flows += flow_table_count(site_flows(&pd->sites[i]));
	}
	return json_pack("{s:s,s:s,s:i,s:s,s:I,s:I,s:i,s:i,s:i,s:I,s:i}",
	    "daemon", PROGNAME, "version", PACKAGE_VERSION, "pid",
	    (int)getpid(), "config", pd->conf->file, "started",
	    (json_int_t)pd->started, "uptime_s",
	    (json_int_t)(time(NULL) - pd->started), "sites", (int)pd->nsites,
	    "sessions", (int)sessions, "connected", (int)connected, "flows",
	    (json_int_t)flows, "workers", (int)pd->nworkers);
}

/*
 * A walk over the sites that spans event-loop turns (`sites`, `flows`
 * answered a chunk at a time) goes by name, not by index: a reload
 * between two chunks replaces pd->sites, and after one the walk goes on
 * from the first site whose name sorts after the last one done.  So a
 * site present throughout is seen once, none twice; one added or
 * removed meanwhile may or may not be.
 */
struct site_ref {
	const char *name; /* pd->sites[i].conf's, valid while gen holds */
	size_t      i;
};

struct site_walk {
	struct popd     *pd;
	uint64_t         gen;
	struct site_ref *order; /* by name; NULL until the first step */
	size_t           n, at; /* at: the next in order */
	char             done[CONFIG_SITE_MAX]; /* last one finished */
};

static int
ref_cmp(const void *a, const void *b)
{
	return strcmp(((const struct site_ref *)a)->name,
	    ((const struct site_ref *)b)->name);
}

/* The site the walk stands at, NULL at the end; -1 out of memory. */
static int
site_walk_at(struct site_walk *w, struct site **site)
{
	struct popd *pd = w->pd;
	size_t       i, lo, hi;

	*site = NULL;
	if (w->order == NULL || w->gen != pd->sites_gen) {
		free(w->order);
		w->n = 0;
		if ((w->order = calloc(pd->nsites + 1, sizeof(*w->order))) ==
		    NULL)
			return -1;
		for (i = 0; i < pd->nsites; i++)
			w->order[i] =
			    (struct site_ref){pd->sites[i].conf->name, i};
		w->n = pd->nsites;
		qsort(w->order, w->n, sizeof(*w->order), ref_cmp);
		w->gen = pd->sites_gen;
		/* names are never "": every one sorts after the start */
		for (lo = 0, hi = w->n; lo < hi;) {
			i = lo + (hi - lo) / 2;
			if (strcmp(w->order[i].name, w->done) <= 0)
				lo = i + 1;
			else
				hi = i;
		}
		w->at = lo;
	}
	if (w->at < w->n)
		*site = &pd->sites[w->order[w->at].i];
	return 0;
}

static void
site_walk_next(struct site_walk *w)
{
	snprintf(w->done, sizeof(w->done), "%s", w->order[w->at].name);
	w->at++;
}

static json_t *
site_row(const struct site *site)
{
	const struct session *s = site->session;
	char                  buf[PREFIX_STRLEN], sess[16];
	json_t               *lan;
	size_t                j;

	if ((lan = json_array()) == NULL)
		return NULL;
	for (j = 0; j < site->conf->nlan; j++)
		if (json_array_append_new(lan,
			json_string(prefix_ntop(
			    &site->conf->lan[j], buf, sizeof(buf)))) == -1) {
			json_decref(lan);
			return NULL;
		}
	if (s != NULL)
		snprintf(sess, sizeof(sess), "%08x", s->id);
	return json_pack("{s:s,s:s,s:b,s:s?,s:s?,s:i,s:i,s:I,s:o}", "name",
	    site->conf->name, "identity", site->conf->identity, "connected",
	    s != NULL && s->conn != NULL, "session", s != NULL ? sess : NULL,
	    "peer", s != NULL && s->conn != NULL ? s->conn->peer : NULL,
	    "links_up", s != NULL ? (int)links_up(s) : 0, "links",
	    s != NULL ? (int)s->nlinks : 0, "flows",
	    (json_int_t)(site_flows(site) != NULL
		    ? flow_table_count(site_flows(site))
		    : 0),
	    "lan", lan);
}

/* `sites` and `flows`, a chunk at a time (ctlsrv_rows). */
struct rows_cursor {
	struct site_walk sw;
	size_t           limit, shown;
	/* flows */
	char                  only[CONFIG_SITE_MAX]; /* --site, "" all */
	char                  link[CONFIG_NAME_MAX]; /* --link, "" any */
	char                  cur[CONFIG_SITE_MAX];  /* fp's site */
	struct ctlsrv_flowpos fp;
};

static void
cursor_free(void *cur)
{
	struct rows_cursor *w = cur;

	free(w->sw.order);
	free(w);
}

static json_t *
cursor_tail(void *cur)
{
	const struct rows_cursor *w = cur;

	return json_pack("{s:I}", "shown", (json_int_t)w->shown);
}

static int
sites_next_locked(void *cur, json_t *rows, size_t max)
{
	struct rows_cursor *w = cur;
	struct site        *site;
	json_t             *row;
	size_t              n;

	for (n = 0; n < max && w->shown < w->limit; n++) {
		if (site_walk_at(&w->sw, &site) == -1)
			return -1;
		if (site == NULL)
			return 0;
		if ((row = site_row(site)) == NULL ||
		    json_array_append_new(rows, row) == -1)
			return -1;
		w->shown++;
		site_walk_next(&w->sw);
	}
	if (w->shown >= w->limit || site_walk_at(&w->sw, &site) == -1)
		return 0;
	return site != NULL;
}

/* A step of a streamed answer reads what the workers write (sessions'
 * links, the flow tables): under the engine's lock. */
static int
sites_next(void *cur, json_t *rows, size_t max)
{
	struct rows_cursor *w = cur;
	int                 rc;

	pthread_mutex_lock(&w->sw.pd->engine_mu);
	rc = sites_next_locked(cur, rows, max);
	pthread_mutex_unlock(&w->sw.pd->engine_mu);
	return rc;
}

static struct rows_cursor *
cursor_new(struct popd *pd, uint32_t limit)
{
	struct rows_cursor *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->sw.pd = pd;
	w->limit = limit != 0 ? limit : SIZE_MAX;
	return w;
}

static json_t *
answer_sites(
    struct popd *pd, const struct ctlsock_req *req, struct ctlsrv_rows *rows)
{
	struct rows_cursor *w;

	if ((w = cursor_new(pd, req->limit)) == NULL)
		return NULL;
	*rows = (struct ctlsrv_rows){
	    "sites", sites_next, cursor_tail, cursor_free, w};
	return ctlsock_ok(json_pack("{s:I}", "total", (json_int_t)pd->nsites));
}

static int
site_links(json_t *rows, const struct site *site, const struct config *conf,
    uint64_t now)
{
	const struct session *s = site->session;
	uint64_t              flows[CONFIG_MAX_LINKS] = {0};
	json_t               *row;
	size_t                l;

	flow_table_count_links(site_flows(site), flows, CONFIG_MAX_LINKS);
	for (l = 0; l < s->nlinks; l++) {
		row = json_pack(
		    "{s:s,s:s,s:s,s:i,s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I,"
		    "s:I,s:b,s:o*}",
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
		    s->endpoint_len[l] != 0, "degraded",
		    session_sla_json(s, conf, (unsigned)l, 0));
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
	int          rc;

	if (req->site[0] != '\0' && (only = site_named(pd, req->site)) == NULL)
		return unknown_site(req->site);
	if ((rows = json_array()) == NULL)
		return NULL;
	for (i = 0; i < pd->nsites; i++) {
		if ((only != NULL && only != &pd->sites[i]) ||
		    pd->sites[i].session == NULL)
			continue;
		/* The engine's lock a site at a time: every site's links
		 * at once held the workers for the whole answer. */
		pthread_mutex_lock(&pd->engine_mu);
		rc = site_links(rows, &pd->sites[i], pd->conf, now_ms());
		pthread_mutex_unlock(&pd->engine_mu);
		if (rc == -1) {
			json_decref(rows);
			return NULL;
		}
	}
	return ctlsock_ok(json_pack("{s:o}", "links", rows));
}

/* The site's link of that name, -1 if it has none (yet). */
static int
site_link(const struct site *site, const char *name)
{
	const struct session *s = site->session;
	size_t                l;

	for (l = 0; s != NULL && l < s->nlinks; l++)
		if (strcmp(s->links[l].name, name) == 0)
			return (int)l;
	return -1;
}

/*
 * One step of `flows`: about max flows of the site the walk stands at
 * (ctlsrv_flows_step()), or, for sites with nothing to show, up to max
 * of them passed over.
 */
static int
flows_next_locked(void *cur, json_t *rows, size_t max)
{
	struct rows_cursor   *w = cur;
	const char           *names[CONFIG_MAX_LINKS];
	struct ctlsrv_flowsrc src;
	struct site          *site;
	struct flow_table    *t;
	size_t                l, n, had, before = json_array_size(rows);
	int                   link = -1, rc = 0, i;

	for (n = 0; n < max && w->shown < w->limit; n++) {
		if (w->only[0] != '\0') {
			i = config_site_index(w->sw.pd->conf, w->only);
			site =
			    i < 0 || w->sw.at > 0 ? NULL : &w->sw.pd->sites[i];
		} else if (site_walk_at(&w->sw, &site) == -1)
			return -1;
		if (site == NULL)
			return 0;
		if (strcmp(w->cur, site->conf->name) != 0) {
			snprintf(
			    w->cur, sizeof(w->cur), "%s", site->conf->name);
			memset(&w->fp, 0, sizeof(w->fp));
		}
		t = site_flows(site);
		if (w->link[0] != '\0')
			link = site_link(site, w->link);
		if (t != NULL && (w->link[0] == '\0' || link >= 0)) {
			for (l = 0;
			     site->session != NULL && l < site->session->nlinks;
			     l++)
				names[l] = site->session->links[l].name;
			src = (struct ctlsrv_flowsrc){t, names, l,
			    site->conf->lan, site->conf->nlan, site->conf->name,
			    w->sw.pd->conf->profiles, w->sw.pd->conf->nprofiles,
			    w->sw.pd->conf->rules, w->sw.pd->conf->nrules};
			had = json_array_size(rows);
			rc = ctlsrv_flows_step(rows, max, w->limit - w->shown,
			    &src, link, &w->fp, now_ms());
			w->shown += json_array_size(rows) - had;
			if (rc == -1)
				return -1;
		} else
			rc = 0;
		if (rc == 0) {
			if (w->only[0] != '\0')
				w->sw.at = 1;
			else
				site_walk_next(&w->sw);
		}
		/*
		 * A step that made rows, or left the table unfinished, was
		 * this call's work (about max flows or 16 * max homes); a
		 * site whose whole walk gave nothing (no flows, none on the
		 * link) costs one of max, its index being read to the end
		 * within one step's bound.
		 */
		if (t != NULL && (rc == 1 || json_array_size(rows) > before))
			break;
	}
	return w->shown < w->limit;
}

static int
flows_next(void *cur, json_t *rows, size_t max)
{
	struct rows_cursor *w = cur;
	int                 rc;

	pthread_mutex_lock(&w->sw.pd->engine_mu);
	rc = flows_next_locked(cur, rows, max);
	pthread_mutex_unlock(&w->sw.pd->engine_mu);
	return rc;
}

static json_t *
answer_flows(
    struct popd *pd, const struct ctlsock_req *req, struct ctlsrv_rows *rows)
{
	struct site        *only = NULL;
	struct rows_cursor *w;
	struct flow_table  *t;
	size_t              i, total = 0;
	int                 link, known = req->link[0] == '\0';

	if (req->site[0] != '\0' && (only = site_named(pd, req->site)) == NULL)
		return unknown_site(req->site);
	/* What the tables hold now, in O(sites): the walk is no snapshot. */
	for (i = 0; i < pd->nsites; i++) {
		if ((only != NULL && only != &pd->sites[i]) ||
		    (t = site_flows(&pd->sites[i])) == NULL)
			continue;
		link = -1;
		/* Sites name their links independently: a name unknown to
		 * this one matches none of its flows. */
		if (req->link[0] != '\0' &&
		    (link = site_link(&pd->sites[i], req->link)) < 0)
			continue;
		known = 1;
		total += link < 0 ? flow_table_count(t)
				  : flow_table_link_count(t, (uint8_t)link);
	}
	if (!known)
		return ctlsock_error("unknown link \"%s\": no connected site "
				     "has a link of that name",
		    req->link);
	if ((w = cursor_new(pd, req->limit)) == NULL)
		return NULL;
	memcpy(w->only, req->site, sizeof(w->only));
	memcpy(w->link, req->link, sizeof(w->link));
	*rows = (struct ctlsrv_rows){
	    "flows", flows_next, cursor_tail, cursor_free, w};
	return ctlsock_ok(json_pack("{s:I}", "total", (json_int_t)total));
}

static json_t *
answer_locked(
    struct popd *pd, const struct ctlsock_req *req, struct ctlsrv_rows *rows)
{
	switch (req->cmd) {
	case CTLSOCK_STATUS:
		return ctlsock_ok(answer_status(pd));
	case CTLSOCK_SITES:
		return answer_sites(pd, req, rows);
	case CTLSOCK_FLOWS:
		return answer_flows(pd, req, rows);
	case CTLSOCK_LINK:
		return ctlsock_error("link: a site's links are the site's to "
				     "steer; run wanpairctl link on its "
				     "wanpair-socketd");
	case CTLSOCK_CLUSTER:
		return popd_cluster_answer(pd);
	case CTLSOCK_LINKS: /* popd_answer()'s, outside this lock */
	case CTLSOCK_COUNTERS:
	case CTLSOCK_RELOAD: /* the skeleton's (daemon/daemon.c) */
	case CTLSOCK_NCMD:
		break;
	}
	return ctlsock_error("unknown command");
}

/* What the workers write (sessions' links, the flow tables) is read
 * under the engine's lock: `links` takes it a site at a time, the others
 * read a count or two per site under one hold. */
json_t *
popd_answer(void *arg, const struct ctlsock_req *req, struct ctlsrv_rows *rows)
{
	struct popd *pd = arg;
	json_t      *j;

	if (req->cmd == CTLSOCK_LINKS)
		return answer_links(pd, req);
	pthread_mutex_lock(&pd->engine_mu);
	j = answer_locked(pd, req, rows);
	pthread_mutex_unlock(&pd->engine_mu);
	return j;
}
