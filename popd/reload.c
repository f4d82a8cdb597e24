/*
 * popd's part of the reload (SIGHUP, `wanpairctl reload`; the sequence is
 * daemon/daemon.h's): the configuration file is read again, with the
 * site files of its sites_dir (config_load()), and either applied whole
 * or refused whole, the running one staying.  Sites are matched by name
 * wherever they are written, so a site file added or removed is a site
 * added or removed, and one moved between "sites" and a file is kept.
 *
 * Applied live: sites added (they may connect at once), sites removed
 * (their control channel is closed, their session and routes go), a
 * site's LAN (routes into the TUN device follow) and identity (its
 * channel is closed and its session, keys and flows go: they were made
 * for a certificate the site no longer accepts, so nothing may be sealed
 * or opened under them; it authenticates again), profiles, failback,
 * probe settings and flow timeouts (every session's engine is
 * reconfigured, keeping its flows), each site's flow cap (a site whose
 * cap shrinks loses its flows idle longest above it; an added site gets
 * its table over the pool now), the TLS files (read again, for
 * the next connection), and "limits" (control.c reads them at each
 * accept and frame; open connections are not closed to fit new ones).
 *
 * Refused, since they are bound at start: listen.address and the ports
 * (the sockets are bound), tun.name and tun.mtu, flows.max, and anything
 * in "cluster" (the CPG group is joined as this node at start).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "popd.h"
#include "tls.h"
#include "tun.h"

static int
has_prefix(const struct config_site *s, const struct wp_prefix *p)
{
	size_t i;

	for (i = 0; i < s->nlan; i++)
		if (memcmp(&s->lan[i], p, sizeof(*p)) == 0)
			return 1;
	return 0;
}

/* Routes into the TUN device: those of `o` that `n` lacks go, the new
 * ones come.  Either may be NULL (site added or removed). */
static void
routes_follow(
    struct popd *pd, const struct config_site *o, const struct config_site *n)
{
	char   buf[PREFIX_STRLEN];
	size_t i;

	for (i = 0; o != NULL && i < o->nlan; i++)
		if ((n == NULL || !has_prefix(n, &o->lan[i])) &&
		    route_del(pd->tundev.name, &o->lan[i]) == -1)
			log_warn("site %s: remove route %s", o->name,
			    prefix_ntop(&o->lan[i], buf, sizeof(buf)));
	for (i = 0; n != NULL && i < n->nlan; i++)
		if ((o == NULL || !has_prefix(o, &n->lan[i])) &&
		    route_add(pd->tundev.name, &n->lan[i]) == -1)
			log_warn("site %s: route %s via %s", n->name,
			    prefix_ntop(&n->lan[i], buf, sizeof(buf)),
			    pd->tundev.name);
}

static int
same_lan(const struct config_site *a, const struct config_site *b)
{
	return a->nlan == b->nlan &&
	    (a->nlan == 0 ||
		memcmp(a->lan, b->lan, a->nlan * sizeof(*a->lan)) == 0);
}

/* The index of old's profile called name, or -1. */
static int
profile_index(const struct config *old, const char *name)
{
	size_t i;

	for (i = 0; i < old->nprofiles; i++)
		if (strcmp(old->profiles[i].name, name) == 0)
			return (int)i;
	return -1;
}

/*
 * A session's engine under the new profiles; its links stay, and so do
 * the Socket's service-level verdicts on them for the profiles whose
 * name stays (the Socket tells them again only when they change).
 */
static int
session_rebalance(
    struct popd *pd, const struct config *old, struct session *s, uint64_t now)
{
	struct balance_spec spec;
	struct balance     *b;
	uint32_t           *was = NULL;
	int                 map[CONFIG_MAX_LINKS], k;
	size_t              i, l, nwas;

	if (session_spec(pd, s->links, s->nlinks, &spec) == -1)
		return -1;
	for (i = 0; i < s->nlinks; i++)
		map[i] = (int)i;
	b = engine_balance(s->engine);
	nwas = balance_nprofiles(b);
	if (nwas > 0 && (was = calloc(nwas, sizeof(*was))) == NULL) {
		balance_spec_clear(&spec);
		return -1;
	}
	for (i = 0; i < nwas; i++)
		for (l = 0; l < s->nlinks; l++)
			if (balance_degraded(b, (unsigned)i, (unsigned)l))
				was[i] |= (uint32_t)1 << l;
	if (engine_reconfigure(s->engine, &spec, map, now, NULL, NULL, NULL) ==
	    -1) {
		balance_spec_clear(&spec);
		free(was);
		return -1;
	}
	b = engine_balance(s->engine);
	for (i = 0; i < pd->conf->nprofiles; i++) {
		k = profile_index(old, pd->conf->profiles[i].name);
		if (k < 0 || (size_t)k >= nwas)
			continue;
		for (l = 0; l < s->nlinks; l++)
			if (was[k] >> l & 1)
				balance_set_degraded(
				    b, (unsigned)i, (unsigned)l, 1);
	}
	free(was);
	balance_spec_clear(&s->spec);
	s->spec = spec;
	return 0;
}

/* A session index for nsites: at most half full, as dataplane.c sizes
 * it. */
static uint32_t
index_size(size_t nsites)
{
	uint32_t size = 4;

	while (size < 2 * nsites)
		size <<= 1;
	return size;
}

/* What begin prepared for commit (or abort to free). */
struct pending {
	struct site     *ns;    /* the new sites */
	struct engine  **eng;   /* by new site: its engine if it is added */
	uint8_t         *idchg; /* by new site: identity changed */
	struct session **idx;   /* the new session index */
	struct lpm      *lpm;   /* the new sites' LAN prefixes */
	struct site_ids *ids;   /* the new sites' identities */
	int              world; /* the world lock and the engines' held */
};

int
popd_reload_begin(void *arg, struct daemon_reload *r)
{
	struct popd    *pd = arg;
	struct config  *n = r->conf, *o = r->old;
	struct pending *p;
	uint64_t        now = now_ms();
	size_t          i;

	if ((r->priv = p = calloc(1, sizeof(*p))) == NULL ||
	    (p->ns = calloc(n->nsites, sizeof(*p->ns))) == NULL ||
	    (p->idchg = calloc(n->nsites + 1, 1)) == NULL ||
	    (p->eng = calloc(n->nsites + 1, sizeof(*p->eng))) == NULL ||
	    (p->idx = calloc(index_size(n->nsites), sizeof(*p->idx))) == NULL ||
	    (p->lpm = site_lpm_new(n)) == NULL ||
	    (p->ids = site_ids_new(n)) == NULL)
		return daemon_refuse(r, "sites", "out of memory");
	if (daemon_reload_metrics(pd->daemon, r) == -1)
		return -1;
	/* Engines last: the last step that can fail (out of memory; the
	 * engines it reached keep the new profiles, which are valid, and
	 * indexes grown for caps that did not come are only larger).
	 * pd->conf is the new one only while session_spec() reads it.
	 * From here the workers wait (the world lock, held until commit or
	 * abort), so that no batch sees half of the new sites. */
	popd_world_lock(pd);
	pthread_mutex_lock(&pd->engine_mu);
	p->world = 1;
	pd->conf = n;
	for (i = 0; i < n->nsites; i++) {
		int k = config_site_index(o, n->sites[i].name);

		if (k == -1
			? (p->eng[i] = site_engine_new(pd, &n->sites[i])) ==
			    NULL
			: flow_table_reserve(engine_flows(pd->sites[k].engine),
			      n->sites[i].flows_max) == -1) {
			pd->conf = o;
			return daemon_refuse(r, "flows",
			    "out of memory for site %s's %u flows",
			    n->sites[i].name, n->sites[i].flows_max);
		}
	}
	for (i = 0; i < pd->nsites; i++)
		if (pd->sites[i].session != NULL &&
		    session_rebalance(pd, o, pd->sites[i].session, now) == -1) {
			pd->conf = o;
			return daemon_refuse(r, "profiles",
			    "out of memory for site %s",
			    pd->sites[i].conf->name);
		}
	pd->conf = o;
	return 0;
}

void
popd_reload_abort(void *arg, struct daemon_reload *r)
{
	struct popd    *pd = arg;
	struct pending *p = r->priv;
	size_t          i;

	if (p != NULL) {
		/* Engines exist only past the world lock: the pool is the
		 * workers' too. */
		for (i = 0; p->eng != NULL && i < r->conf->nsites; i++)
			engine_free(p->eng[i]);
		if (p->world) {
			pthread_mutex_unlock(&pd->engine_mu);
			popd_world_unlock(pd);
		}
		free(p->eng);
		lpm_free(p->lpm);
		site_ids_free(p->ids);
		free(p->idx);
		free(p->idchg);
		free(p->ns);
	}
	free(p);
	r->priv = NULL;
}

void
popd_reload_commit(void *arg, struct daemon_reload *r)
{
	struct popd    *pd = arg;
	struct config  *n = r->conf, *o = r->old;
	struct pending *p = r->priv;
	struct site    *ns = p->ns;
	uint8_t        *idchg = p->idchg;
	struct conn    *c, *next;
	int             k, cur;
	size_t          i, j, added = 0, removed = 0, lanchg = 0;

	for (j = 0; j < n->nsites; j++) {
		ns[j].conf = &n->sites[j];
		if ((k = config_site_index(o, n->sites[j].name)) == -1) {
			ns[j].engine = p->eng[j];
			added++;
			continue;
		}
		ns[j].engine = pd->sites[k].engine;
		flow_table_set_cap(
		    engine_flows(ns[j].engine), n->sites[j].flows_max);
		ns[j].drop_table_full = pd->sites[k].drop_table_full;
		ns[j].session = pd->sites[k].session;
		memcpy(
		    ns[j].cs_dead, pd->sites[k].cs_dead, sizeof(ns[j].cs_dead));
		ns[j].cs_dead_next = pd->sites[k].cs_dead_next;
		idchg[j] = !tls_name_eq(
		    n->sites[j].identity, pd->sites[k].conf->identity);
		ns[j].routes_installed = pd->sites[k].routes_installed;
		ns[j].drop_spoofed = pd->sites[k].drop_spoofed;
		ns[j].drop_no_endpoint = pd->sites[k].drop_no_endpoint;
		ns[j].drop_no_link = pd->sites[k].drop_no_link;
		ns[j].link_log = pd->sites[k].link_log;
		if (ns[j].session != NULL)
			ns[j].session->site = &ns[j];
		if (!same_lan(pd->sites[k].conf, &n->sites[j])) {
			lanchg++;
			if (ns[j].routes_installed)
				routes_follow(
				    pd, pd->sites[k].conf, &n->sites[j]);
		}
	}
	/* Connections follow their site; a removed site's, or one whose
	 * certificate identity changed, are closed. */
	for (c = pd->conns; c != NULL; c = next) {
		next = c->next;
		if (c->site == NULL)
			continue;
		k = config_site_index(n, c->site->conf->name);
		if (k == -1 || idchg[k]) {
			if (c->site->session != NULL &&
			    c->site->session->conn == c)
				c->site->session->conn = NULL;
			log_info("site %s: %s", c->site->conf->name,
			    k == -1 ? "removed from the configuration"
				    : "identity changed");
			c->site = k == -1 ? NULL : &ns[k];
			control_close(c,
			    k == -1 ? "site removed"
				    : "identity "
				      "changed");
			continue;
		}
		cur = c->site->conn == c;
		c->site = &ns[k];
		if (cur)
			ns[k].conn = c;
	}
	for (i = 0; i < pd->nsites; i++) {
		struct site *s = &pd->sites[i];

		if (config_site_index(n, s->conf->name) != -1)
			continue;
		removed++;
		if (s->routes_installed)
			routes_follow(pd, s->conf, NULL);
		if (s->session != NULL) {
			session_index_swap(pd, s->session, NULL);
			session_free(s->session);
		}
		engine_free(s->engine); /* its flows go back to the pool */
	}
	/* A changed identity ends the session even without a channel (one
	 * kept for its grace period): its keys belong to the old one. */
	for (j = 0; j < n->nsites; j++) {
		if (!idchg[j] || ns[j].session == NULL)
			continue;
		log_info("site %s: identity changed, session %u ended",
		    n->sites[j].name, ns[j].session->id);
		session_end(pd, &ns[j]);
	}
	free(idchg);
	free(p->eng);
	free(pd->sess_index);
	pd->sess_index = p->idx;
	pd->sess_mask = index_size(n->nsites) - 1;
	for (j = 0; j < n->nsites; j++)
		if (ns[j].session != NULL)
			session_index_swap(pd, NULL, ns[j].session);
	/* The site lookup changes with the sites, never one without the
	 * other: the trie's values are indexes into ns. */
	free(pd->sites);
	pd->sites = ns;
	pd->nsites = n->nsites;
	pd->sites_gen++;
	lpm_free(pd->site_lpm);
	pd->site_lpm = p->lpm;
	site_ids_free(pd->site_ids);
	pd->site_ids = p->ids;
	SSL_CTX_free(pd->ssl_ctx); /* a live SSL holds its own reference */
	pd->ssl_ctx = r->ssl_ctx;
	r->ssl_ctx = NULL;
	pd->conf = n;
	/* The health ticks keep their tenth of the new interval, as the data
	 * plane set them at start (it once got the whole interval here, and
	 * a failover took up to an interval longer after a reload). */
	if (n->probe_interval_ms != o->probe_interval_ms &&
	    pd->health_ev != NULL) {
		struct timeval tv;

		event_del(pd->health_ev);
		event_add(pd->health_ev, health_period(pd, &tv));
	}
	pthread_mutex_unlock(&pd->engine_mu);
	popd_world_unlock(pd);
	log_info("reloaded %s: %zu sites (%zu added, %zu removed, %zu with a "
		 "new LAN), %zu profiles, failback %s",
	    n->file, n->nsites, added, removed, lanchg, n->nprofiles,
	    n->failback == FAILBACK_REBALANCE ? "rebalance" : "new-flows");
	free(p);
	r->priv = NULL;
}
