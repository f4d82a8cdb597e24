/*
 * wanpair-socketd as the skeleton (daemon/daemon.h) runs it: its state,
 * start-up and stop, and the hooks of its control socket, counters and
 * reload.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>

#include <linux/capability.h>

#include "daemon.h"
#include "log.h"
#include "privdrop.h"
#include "socketd.h"

static void *
init(struct daemon *d, struct config *conf, struct event_base *base)
{
	struct socketd *sd;

	if ((sd = calloc(1, sizeof(*sd))) == NULL) {
		log_warn("socketd");
		return NULL;
	}
	sd->daemon = d;
	sd->conf = conf;
	sd->base = base;
	sd->started = daemon_started(d);
	sd->tundev.fd = -1;
	sd->nl_fd = -1;
	return sd;
}

/* The control side's state, then the data plane (TUN device, sockets),
 * the links' probes and events, then the control channel. */
static int
start(void *arg)
{
	return control_init(arg) == -1 || dataplane_start(arg) == -1 ||
		links_start(arg) == -1 || control_start(arg) == -1
	    ? -1
	    : 0;
}

/*
 * Detached, unprivileged: CAP_BPF goes too (the TUN device's steering
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
	return workers_run(arg);
}

static void
stop(void *arg)
{
	control_stop(arg);
	links_stop(arg);
	dataplane_stop(arg);
	free(arg);
}

static void
describe(void *arg, char *buf, size_t len)
{
	const struct socketd *sd = arg;

	snprintf(buf, len, "for site %s", sd->conf->site);
}

/* systemctl status's line: what an operator checks first. */
static void
status_line(void *arg, char *buf, size_t len)
{
	const struct socketd *sd = arg;
	size_t                i, up = 0;

	for (i = 0; i < sd->nlinks; i++)
		up += dataplane_link_up(sd, (unsigned)i) != 0;
	snprintf(buf, len, "%zu/%zu links up, control channel %s", up,
	    sd->nlinks, sd->ctl_welcomed ? "connected" : "not connected");
}

const struct daemon_ops socketd_ops = {
    .name = "wanpair-socketd",
    .default_conf = WP_CONFDIR "/socketd.json",
    .default_sock = WP_RUNDIR "/socketd.sock",
    .kind = CONFIG_SOCKETD,
    .tls_server = 0,
    .endpoint_key = "pop",
    /*
     * -u keeps no capability, and CAP_NET_ADMIN goes too, however we
     * were started: socketd needed it for its TUN device (TUNSETIFF,
     * MTU, up), which is open and set.  Nothing later does: it adds no
     * kernel routes (its "routes" are balancing), tun.mtu and tun.name
     * need a restart, and the links' sockets that a reload or a
     * reconnect opens bind to their device with SO_BINDTODEVICE, which
     * since Linux 5.7 needs no capability for a socket not bound yet
     * (socket(7)); before 5.7 it needs CAP_NET_RAW, which the unit does
     * not give either.
     */
    .keep_caps = NULL,
    .nkeep_caps = 0,
    .drop_cap = CAP_NET_ADMIN,
    .init = init,
    .start = start,
    .running = running,
    .stop = stop,
    .describe = describe,
    .status = status_line,
    .counters = socketd_counters,
    .answer = socketd_answer,
    .reload_begin = socketd_reload_begin,
    .reload_commit = socketd_reload_commit,
    .reload_abort = socketd_reload_abort,
};
