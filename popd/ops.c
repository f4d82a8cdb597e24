/*
 * wanpair-popd as the skeleton (daemon/daemon.h) runs it: its state,
 * start-up and stop, and the hooks of its control socket, counters and
 * reload.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>

#include <linux/capability.h>

#include "daemon.h"
#include "log.h"
#include "popd.h"
#include "privdrop.h"

/*
 * What -u keeps: CAP_NET_ADMIN, for as long as popd runs: a site's
 * routes into the TUN device are added when it logs in (control.c,
 * install_routes()) and follow its LAN on a reload (reload.c).
 */
static const int keep_caps[] = {CAP_NET_ADMIN};

static void *
init(struct daemon *d, struct config *conf, struct event_base *base)
{
	struct popd *pd;
	size_t       i;

	if ((pd = calloc(1, sizeof(*pd))) == NULL ||
	    (pd->sites = calloc(conf->nsites, sizeof(*pd->sites))) == NULL)
		fatal("sites");
	pd->daemon = d;
	pd->conf = conf;
	pd->base = base;
	pd->started = daemon_started(d);
	pd->tundev.fd = -1;
	for (i = 0; i < CONFIG_LISTEN_MAX; i++) {
		size_t k;

		for (k = 0; k < PROTO_MAX_WORKERS; k++)
			pd->lsn[i].udp_fd[k] = -1;
	}
	if (popd_workers_init(pd) == -1)
		fatal("workers");
	pd->nsites = conf->nsites;
	/* Every flow the PoP will hold, allocated now: a site that connects
	 * later costs its session, not a table (flow.h, flow_pool). */
	if ((pd->flow_pool = flow_pool_new(conf->flows_max)) == NULL)
		fatal("flows.max %u", conf->flows_max);
	if ((pd->frags = engine_frags_new()) == NULL)
		fatal("fragment cache");
	for (i = 0; i < pd->nsites; i++) {
		pd->sites[i].conf = &conf->sites[i];
		if ((pd->sites[i].engine =
			    site_engine_new(pd, &conf->sites[i])) == NULL)
			fatal("site %s: flow table", conf->sites[i].name);
	}
	if ((pd->site_lpm = site_lpm_new(conf)) == NULL ||
	    (pd->site_ids = site_ids_new(conf)) == NULL)
		fatal("sites");
	return pd;
}

/* The cluster (first: a build or a key that cannot have one refuses
 * before anything else is opened), the control side's state, then the
 * data plane (TUN device, sockets), then the control channel. */
static int
start(void *arg)
{
	struct popd *pd = arg;
	size_t       i;

	if (popd_cluster_start(pd) == -1 || control_init(pd) == -1 ||
	    dataplane_start(pd) == -1)
		return -1;
	/* Datagrams and return traffic before handshakes and timers
	 * (daemon.h): a site connecting must not hold the others'
	 * packets. */
	for (i = 0; i < pd->nlsn; i++)
		if (pd->lsn[i].udp_ev != NULL &&
		    event_priority_set(pd->lsn[i].udp_ev, DAEMON_PRIO_DATA) ==
			-1) {
			log_warnx(
			    "cannot put the data plane first in the loop");
			return -1;
		}
	if (pd->tundev.ev != NULL &&
	    event_priority_set(pd->tundev.ev, DAEMON_PRIO_DATA) == -1) {
		log_warnx("cannot put the data plane first in the loop");
		return -1;
	}
	return control_start(pd);
}

/*
 * Detached, unprivileged: CAP_BPF goes (the TUN device's steering
 * program is loaded: dataplane_start()), then the workers' threads
 * start, with nothing to inherit.
 */
static int
running(void *arg)
{
	char err[256];

	if (privdrop_cap_drop(CAP_BPF, err, sizeof(err)) == -1) {
		log_warnx("CAP_BPF: %s", err);
		return -1;
	}
	return popd_workers_run(arg);
}

static void
stop(void *arg)
{
	struct popd *pd = arg;
	size_t       i;

	cluster_stop(pd->cluster);
	csync_stop(pd);
	control_stop(pd);
	dataplane_stop(pd);
	/* After the workers, which forward through it. */
	fwd_stop(pd->fwd);
	pd->fwd = NULL;
	/* The tables before their pool. */
	for (i = 0; i < pd->nsites; i++)
		engine_free(pd->sites[i].engine);
	flow_pool_free(pd->flow_pool);
	frag_cache_free(pd->frags);
	lpm_free(pd->site_lpm);
	site_ids_free(pd->site_ids);
	popd_workers_free(pd);
	free(pd->sites);
	free(pd);
}

static void
describe(void *arg, char *buf, size_t len)
{
	const struct popd *pd = arg;

	snprintf(buf, len, "with %zu sites", pd->nsites);
}

/* systemctl status's line: what an operator checks first. */
static void
status_line(void *arg, char *buf, size_t len)
{
	const struct popd *pd = arg;
	size_t             i, up = 0;

	for (i = 0; i < pd->nsites; i++)
		up += pd->sites[i].session != NULL &&
		    pd->sites[i].session->conn != NULL;
	snprintf(buf, len, "%zu/%zu sites connected", up, pd->nsites);
}

const struct daemon_ops popd_ops = {
    .name = "wanpair-popd",
    .default_conf = WP_CONFDIR "/popd.json",
    .default_sock = WP_RUNDIR "/popd.sock",
    .kind = CONFIG_POPD,
    .tls_server = 1,
    .endpoint_key = "listen",
    .keep_caps = keep_caps,
    .nkeep_caps = 1,
    .drop_cap = -1,
    .init = init,
    .start = start,
    .running = running,
    .stop = stop,
    .describe = describe,
    .status = status_line,
    .counters = popd_counters,
    .answer = popd_answer,
    .reload_begin = popd_reload_begin,
    .reload_commit = popd_reload_commit,
    .reload_abort = popd_reload_abort,
};
