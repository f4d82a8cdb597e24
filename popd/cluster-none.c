/*
 * popd built without corosync (configure --without-corosync, or libcpg
 * not found): popd.json's "cluster" section still parses, so that one
 * file serves every build, but popd refuses to start with it rather than
 * run as a single node that its peers count on as a member.
 */
#include "autoconf.h"

#include <stdio.h>

#include "cluster.h"

struct cluster *
cluster_start(struct event_base *base, const struct config_cluster *conf,
    const char *conf_file, char *err, size_t errlen)
{
	(void)base;
	(void)conf;
	snprintf(err, errlen,
	    "%s: \"cluster\": this wanpair-popd was built without corosync "
	    "(configure --with-corosync, with Debian's libcpg-dev); remove "
	    "the section to run a single node",
	    conf_file);
	return NULL;
}

void
cluster_stop(struct cluster *cl)
{
	(void)cl;
}

json_t *
cluster_json(const struct cluster *cl)
{
	(void)cl;
	return NULL;
}

/* Never called: no cluster starts in this build. */
void
cluster_set_sessions(struct cluster *cl, struct csync *cs, unsigned workers)
{
	(void)cl;
	(void)cs;
	(void)workers;
}

int
cluster_member(
    const struct cluster *cl, size_t pos, uint32_t *node, uint32_t *incarnation)
{
	(void)cl;
	(void)pos;
	*node = 0;
	*incarnation = 0;
	return 0;
}

uint32_t
cluster_incarnation(const struct cluster *cl)
{
	(void)cl;
	return 0;
}

int
cluster_mcast(struct cluster *cl, const uint8_t *msg, size_t len)
{
	(void)cl;
	(void)msg;
	(void)len;
	return -1;
}

void
cluster_set_hooks(struct cluster *cl, const struct cluster_hooks *h, void *arg)
{
	(void)cl;
	(void)h;
	(void)arg;
}

int
cluster_send(struct cluster *cl, const uint8_t *msg, size_t len)
{
	(void)cl;
	(void)msg;
	(void)len;
	return -1;
}

size_t
cluster_room(const struct cluster *cl)
{
	(void)cl;
	return 0;
}

void
cluster_flush(struct cluster *cl)
{
	(void)cl;
}
