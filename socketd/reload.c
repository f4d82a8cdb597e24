/*
 * socketd's part of the reload (SIGHUP, `wanpairctl reload`; the sequence
 * is daemon/daemon.h's): the configuration file is read again and either
 * applied whole or refused whole, the running one staying.
 *
 * Applied live: links added, removed and changed, weights, profiles,
 * routes, failback, probe settings, flow timeouts, the LAN, the PoP's
 * certificate name and the TLS files (read again at every reload, so a
 * renewed certificate is taken without a restart; the running channel
 * keeps its session, the next connection uses them).  Flows stay where
 * their link still is; a removed link's flows move as a dead link's do.
 *
 * Refused, since they are bound at start: site, pop.address and the PoP's
 * ports (the links' sockets are connected to them), tun.name and tun.mtu
 * (the device and the MSS clamp), flows.max (the table is sized once).
 *
 * Link ids on the wire stay with their link across reloads (a new link
 * takes the lowest free id), so the PoP's session keeps matching every
 * datagram while the control channel, when the links or the LAN changed,
 * reconnects to send the new HELLO: the PoP then holds the new inventory
 * and the data plane never stops.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <errno.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctlmsg.h"
#include "daemon.h"
#include "log.h"
#include "socketd.h"
#include "tls.h"
#include "tun.h"

/* How long a replaced control channel may take to flush its last words. */
#define LINGER_S 5

static int
same_socket(const struct config_link *a, const struct config_link *b)
{
	return strcmp(a->device, b->device) == 0 &&
	    a->source.family == b->source.family &&
	    memcmp(a->source.a, b->source.a, sizeof(a->source.a)) == 0 &&
	    a->pop.family == b->pop.family &&
	    memcmp(a->pop.a, b->pop.a, sizeof(a->pop.a)) == 0;
}

/* What the PoP learns from HELLO changed: it needs a new one. */
static int
inventory_changed(const struct socketd *sd, const struct config *n,
    const int *from, const uint8_t *id)
{
	size_t i;

	if (n->nlinks != sd->nlinks || n->nlan != sd->conf->nlan ||
	    (n->nlan > 0 &&
		memcmp(n->lan, sd->conf->lan, n->nlan * sizeof(*n->lan)) != 0))
		return 1;
	for (i = 0; i < n->nlinks; i++) {
		const struct config_link *o;

		if (from[i] < 0 || sd->links[from[i]].id != id[i])
			return 1;
		o = sd->links[from[i]].conf;
		if (strcmp(o->name, n->links[i].name) != 0 ||
		    o->up_mbps != n->links[i].up_mbps ||
		    o->down_mbps != n->links[i].down_mbps)
			return 1;
	}
	return 0;
}

/* Tells the PoP a link is gone, so that it moves its return flows off it
 * now rather than when its silence times out. */
static void
say_link_down(struct socketd *sd, uint8_t id)
{
	struct ctl_link_state ls;
	uint8_t              *frame;
	size_t                len;

	if (sd->ctl == NULL || !sd->ctl_welcomed)
		return;
	memset(&ls, 0, sizeof(ls));
	ls.link = id;
	ls.up = 0;
	if (ctlmsg_encode_link_state(&ls, &frame, &len) == 0) {
		bufferevent_write(sd->ctl, frame, len);
		free(frame);
	}
}

/*
 * The control channel starts over at once (the PoP needs a new HELLO, or
 * its link is gone), over the first link that is up.  The data plane
 * keeps its keys until the new WELCOME, as on any reconnect.
 */
static void
linger_drained(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

static void
linger_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	(void)arg;
	bufferevent_free(bev);
}

static void
reconnect(struct socketd *sd)
{
	struct timeval lt = {LINGER_S, 0};
	unsigned       i;

	if (sd->ctl != NULL) {
		/* What was just written (a removed link's LINK_STATE) still
		 * goes out: the old channel closes once it is flushed. */
		bufferevent_setcb(
		    sd->ctl, NULL, linger_drained, linger_event, NULL);
		bufferevent_disable(sd->ctl, EV_READ);
		bufferevent_set_timeouts(sd->ctl, NULL, &lt);
		linger_drained(sd->ctl, NULL);
		sd->ctl = NULL;
	}
	sd->ctl_welcomed = 0;
	sd->ctl_link = 0;
	for (i = 0; i < sd->nlinks; i++)
		if (dataplane_link_up(sd, i)) {
			sd->ctl_link = i;
			break;
		}
	sd->ctl_backoff = 1;
	event_del(sd->ctl_retry_ev);
	event_active(sd->ctl_retry_ev, EV_TIMEOUT, 0);
}

static void
profile_names(const struct config *c, char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < c->nprofiles && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i > 0 ? "," : "", c->profiles[i].name);
}

/* What begin prepared for commit (or abort to undo). */
struct pending {
	struct links_plan plan;
	size_t            nremoved, moved;
	int               world; /* begin took the world lock */
};

int
socketd_reload_begin(void *arg, struct daemon_reload *r)
{
	struct socketd     *sd = arg;
	struct config      *n = r->conf, *o = r->old;
	struct pending     *p;
	uint32_t            used = 0;
	char                err[TLS_ERRLEN], path[32];
	size_t              i, j;
	int                 rc;
	struct balance_spec spec;

	if ((r->priv = p = calloc(1, sizeof(*p))) == NULL)
		return daemon_refuse(r, "links", "out of memory");
	p->plan.now = now_ms();
	for (i = 0; i < CONFIG_MAX_LINKS; i++)
		dataplane_lsocks_init(&p->plan.news[i]);
	/* Links by name: old index -> new index, and back. */
	for (i = 0; i < sd->nlinks; i++) {
		p->plan.map[i] = config_link_index(n, sd->links[i].conf->name);
		if (p->plan.map[i] == -1)
			p->nremoved++;
		else
			used |= 1U << sd->links[i].id;
	}
	for (j = 0; j < n->nlinks; j++) {
		p->plan.from[j] = config_link_index(o, n->links[j].name);
		if (p->plan.from[j] != -1 &&
		    (size_t)p->plan.from[j] >= sd->nlinks)
			p->plan.from[j] = -1;
		if (p->plan.from[j] != -1) {
			p->plan.id[j] = sd->links[p->plan.from[j]].id;
			continue;
		}
		/* A new link takes the lowest id no kept link has. */
		for (p->plan.id[j] = 0; used & (1U << p->plan.id[j]);
		     p->plan.id[j]++)
			;
		used |= 1U << p->plan.id[j];
	}
	/* New sockets before anything changes: a device that is not there
	 * refuses the reload, not half of it. */
	for (j = 0; j < n->nlinks; j++) {
		if (p->plan.from[j] != -1 &&
		    same_socket(sd->links[p->plan.from[j]].conf, &n->links[j]))
			continue;
		snprintf(path, sizeof(path), "links[%zu]", j);
		if (dataplane_link_open(sd, &n->links[j], &p->plan.news[j], err,
			sizeof(err)) == -1)
			return daemon_refuse(r, path, "%s", err);
	}
	if (daemon_reload_metrics(sd->daemon, r) == -1)
		return -1;
	/* The last step that can fail. */
	if (balance_spec_from_config(&spec, n, SIDE_UP) == -1) {
		balance_spec_clear(&spec);
		return daemon_refuse(r, "links", "out of memory");
	}
	/* From here the engine numbers links as n does: the workers wait
	 * (the world lock, held until commit's new link table) so that no
	 * batch picks a link by the new numbers from the old table. */
	dataplane_world_lock(sd);
	pthread_mutex_lock(&sd->engine_mu);
	rc = engine_reconfigure(
	    sd->engine, &spec, p->plan.map, p->plan.now, NULL, NULL, &p->moved);
	pthread_mutex_unlock(&sd->engine_mu);
	if (rc == -1) {
		dataplane_world_unlock(sd);
		balance_spec_clear(&spec);
		return daemon_refuse(r, "links", "out of memory");
	}
	p->world = 1;
	balance_spec_clear(&spec);
	return 0;
}

void
socketd_reload_abort(void *arg, struct daemon_reload *r)
{
	struct pending *p = r->priv;
	size_t          j;

	if (p != NULL && p->world)
		dataplane_world_unlock(arg);
	for (j = 0; p != NULL && j < CONFIG_MAX_LINKS; j++)
		dataplane_link_close(&p->plan.news[j]);
	free(p);
	r->priv = NULL;
}

void
socketd_reload_commit(void *arg, struct daemon_reload *r)
{
	struct socketd    *sd = arg;
	struct config     *n = r->conf, *o = r->old;
	struct pending    *p = r->priv;
	struct links_tally t;
	char               summary[512], p1[256], p2[256];
	size_t             i, off;
	int                hello, ctl_gone = 0, mtu, degraded;

	hello = inventory_changed(sd, n, p->plan.from, p->plan.id);
	for (i = 0; i < sd->nlinks; i++) {
		if (p->plan.map[i] != -1)
			continue;
		say_link_down(sd, sd->links[i].id);
		if ((unsigned)i == sd->ctl_link)
			ctl_gone = 1;
	}
	if (!ctl_gone && sd->ctl_link < sd->nlinks)
		sd->ctl_link = (unsigned)p->plan.map[sd->ctl_link];
	dataplane_links_set(sd, n, &p->plan, &t);
	dataplane_world_unlock(sd);
	p->world = 0;
	workers_wake(sd);
	if (n->probe_interval_ms != o->probe_interval_ms) {
		struct timeval pr = {n->probe_interval_ms / 1000,
		    (n->probe_interval_ms % 1000) * 1000};

		event_del(sd->probe_ev);
		event_add(sd->probe_ev, &pr);
	}
	SSL_CTX_free(sd->ssl_ctx); /* a live SSL holds its own reference */
	sd->ssl_ctx = r->ssl_ctx;
	r->ssl_ctx = NULL;
	/* The engine's new balance has every link compliant: so do the
	 * judges, and a PoP told otherwise hears it (a new session, after
	 * a reconnect, starts that way anyway). */
	degraded = links_sla_any(sd);
	sd->conf = n;
	(void)links_sla_reset(sd);
	if (hello || ctl_gone)
		reconnect(sd);
	else if (degraded)
		for (i = 0; i < sd->nlinks; i++)
			if (dataplane_link_up(sd, (unsigned)i))
				control_link_state(sd, (unsigned)i);

	profile_names(o, p1, sizeof(p1));
	profile_names(n, p2, sizeof(p2));
	off = (size_t)snprintf(summary, sizeof(summary),
	    "%zu links (%zu added, %zu removed, %zu re-weighted, %zu "
	    "reopened), %zu flows moved, %zu routes, profiles %s",
	    n->nlinks, t.added, p->nremoved, t.changed, t.reopened, p->moved,
	    n->nroutes, p2);
	if (strcmp(p1, p2) != 0 && off < sizeof(summary))
		off += (size_t)snprintf(
		    summary + off, sizeof(summary) - off, " (were %s)", p1);
	if ((hello || ctl_gone) && off < sizeof(summary))
		snprintf(summary + off, sizeof(summary) - off,
		    "; control channel reconnects with the new inventory");
	log_info("reloaded %s: %s", n->file, summary);
	/* The device's MTU (and the MSS clamp) is set at start, and
	 * CAP_NET_ADMIN is gone: a link added over IPv6, or on a device of
	 * a smaller MTU, gets datagrams the kernel sends in fragments. */
	if ((mtu = dataplane_tun_mtu(n)) < sd->tundev.mtu)
		log_warnx("the links now fit a TUN MTU of %d, %s has %d until "
			  "a restart: larger packets leave in fragments",
		    mtu, sd->tundev.name, sd->tundev.mtu);
	free(p);
	r->priv = NULL;
}
