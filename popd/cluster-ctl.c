/*
 * popd's cluster as its control socket and its start see it: `wanpairctl
 * cluster` (wanpairctl(8)) and the start of cluster.h from popd's ops.
 * Built with and without corosync: without it, cluster_start() is
 * cluster-none.c's, which refuses.
 */
#include "autoconf.h"

#include "log.h"
#include "popd.h"

int
popd_cluster_start(struct popd *pd)
{
	char                              err[512];
	static const struct cluster_hooks hooks = {
	    .member = fwd_member,
	    .message = fwd_message,
	    .resync = fwd_resync,
	};

	if (!pd->conf->cluster.enabled)
		return 0;
	if (pd->conf->cluster.nmembers * pd->nworkers > PROTO_MAX_WORKERS) {
		/* "workers" given is refused by the loader; this is the
		 * default, one per CPU. */
		log_warnx(
		    "%s: \"cluster\": %zu members of %u workers (one "
		    "per CPU) are more than the %d worker bytes of the "
		    "data plane: set \"workers\" to %zu at most, the same "
		    "on every member",
		    pd->conf->file, pd->conf->cluster.nmembers, pd->nworkers,
		    PROTO_MAX_WORKERS,
		    PROTO_MAX_WORKERS / pd->conf->cluster.nmembers);
		return -1;
	}
	if ((pd->cluster = cluster_start(pd->base, &pd->conf->cluster,
		 pd->conf->file, err, sizeof(err))) == NULL ||
	    (pd->fwd = fwd_start(pd, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	if (csync_start(pd, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	cluster_set_hooks(pd->cluster, &hooks, pd->fwd);
	return 0;
}

json_t *
popd_cluster_json(struct popd *pd)
{
	json_t *j, *f;

	if ((j = cluster_json(pd->cluster)) == NULL)
		return NULL;
	if ((f = fwd_json(pd->fwd)) != NULL)
		json_object_set_new(j, "forwarding", f);
	return j;
}

json_t *
popd_cluster_answer(struct popd *pd)
{
	json_t *j;

	if (pd->cluster == NULL)
		return ctlsock_error("no cluster: %s has no \"cluster\" "
				     "section",
		    pd->conf->file);
	if ((j = popd_cluster_json(pd)) == NULL)
		return NULL;
	return ctlsock_ok(j);
}
