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
	char err[512];

	if (!pd->conf->cluster.enabled)
		return 0;
	if ((pd->cluster = cluster_start(pd->base, &pd->conf->cluster,
		 pd->conf->file, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	return 0;
}

json_t *
popd_cluster_answer(struct popd *pd)
{
	json_t *j;

	if (pd->cluster == NULL)
		return ctlsock_error("no cluster: %s has no \"cluster\" "
				     "section",
		    pd->conf->file);
	if ((j = cluster_json(pd->cluster)) == NULL)
		return NULL;
	return ctlsock_ok(j);
}
