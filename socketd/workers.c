/*
 * socketd's data-plane workers (struct sworker, socketd.h; DESIGN.md
 * section 3).  Worker 0 is the main loop's: its TUN device and sockets
 * are events there (dataplane.c).  Each other worker is a thread
 * (daemon/dpworker.h) that polls its own queue of the multi-queue TUN
 * device, its own socket of each link and a wake eventfd, and runs the
 * same batches as worker 0 under its mu; what they raise goes to the
 * main loop through the thread's own queue.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "socketd.h"

/* A thread's epoll tags: link place + DPW_TAG0. */

/* The link sockets a thread polls, anew for the links of
 * sd->links_gen: 0, or 1 when the set changed (the round's events may
 * name sockets that are gone).  A socket closed since left the set with
 * its last fd; one that cannot be added is counted (poll_errors) and its
 * datagrams go unread: the link's probes tell. */
static int
poll_set(void *arg)
{
	struct sworker *w = arg;
	struct socketd *sd = w->sd;
	size_t          j;

	if (w->polling && w->gen == sd->links_gen)
		return 0;
	w->polling = 1;
	for (j = 0; j < w->npolled; j++)
		(void)dpw_unpoll(&w->t, w->polled[j]);
	w->npolled = 0;
	w->gen = sd->links_gen;
	for (j = 0; j < sd->nlinks; j++) {
		int fd = sd->links[j].s.fd[w->t.id];

		if (fd < 0)
			continue;
		if (dpw_poll(&w->t, fd, DPW_TAG0 + (uint32_t)j) == -1)
			w->poll_errors++;
		else
			w->polled[w->npolled++] = fd;
	}
	return 1;
}

static void
tun_ready(void *arg)
{
	dataplane_tun_work(arg);
}

static void
sock_ready(void *arg, uint32_t tag)
{
	struct sworker *w = arg;
	struct socketd *sd = w->sd;

	if (tag - DPW_TAG0 < sd->nlinks)
		dataplane_link_work(w, &sd->links[tag - DPW_TAG0]);
}

static const struct dpw_ops socketd_dpw = {
    .tun = tun_ready,
    .sock = sock_ready,
    .stale = poll_set,
};

int
workers_init(struct socketd *sd)
{
	unsigned n = config_workers(sd->conf), i;

	if ((sd->w = calloc(n, sizeof(*sd->w))) == NULL) {
		log_warn("%u workers", n);
		return -1;
	}
	sd->nworkers = n;
	pthread_mutex_init(&sd->engine_mu, NULL);
	for (i = 0; i < n; i++) {
		struct sworker *w = &sd->w[i];

		w->sd = sd;
		dpw_init(&w->t, i, &socketd_dpw, w);
		w->q = i == 0 ? &sd->dataev.q : &w->t.own_q;
		w->td = i == 0 ? &sd->tundev : &w->t.queue;
		/* A window for every worker the PoP may have: which of them
		 * steer here is the PoP's to say, at each WELCOME. */
		dup_tx_init(&w->dtx);
		if ((w->drx = dup_rx_new(PROTO_MAX_WORKERS)) == NULL) {
			log_warn("worker %u: duplicate windows", i);
			return -1;
		}
	}
	return 0;
}

void
dataplane_world_lock(struct socketd *sd)
{
	unsigned i;

	for (i = 0; i < sd->nworkers; i++)
		dpw_lock(&sd->w[i].t);
}

void
dataplane_world_unlock(struct socketd *sd)
{
	unsigned i = sd->nworkers;

	while (i-- > 0)
		dpw_unlock(&sd->w[i].t);
}

void
workers_wake(struct socketd *sd)
{
	unsigned i;

	for (i = 1; i < sd->nworkers; i++)
		dpw_wake(&sd->w[i].t);
}

int
workers_open(struct socketd *sd)
{
	unsigned i;

	for (i = 1; i < sd->nworkers; i++)
		if (dpw_open(&sd->w[i].t, sd->base, &sd->dataev, &sd->tundev) ==
		    -1)
			return -1;
	return 0;
}

int
workers_run(struct socketd *sd)
{
	unsigned i;

	for (i = 1; i < sd->nworkers; i++)
		if (dpw_start(&sd->w[i].t) == -1)
			return -1;
	return 0;
}

void
workers_stop(struct socketd *sd)
{
	unsigned i;

	for (i = 1; sd->w != NULL && i < sd->nworkers; i++)
		dpw_stop(&sd->w[i].t);
}

void
workers_free(struct socketd *sd)
{
	unsigned i;

	if (sd->w == NULL)
		return;
	for (i = 0; i < sd->nworkers; i++) {
		dpw_free(&sd->w[i].t);
		dup_rx_free(sd->w[i].drx);
	}
	pthread_mutex_destroy(&sd->engine_mu);
	free(sd->w);
	sd->w = NULL;
	sd->nworkers = 0;
}
