/*
 * popd's data-plane workers (struct pworker, popd.h; DESIGN.md section
 * 3), as socketd's.  Worker 0 runs on the main loop: its TUN device and
 * data sockets are events there (dataplane.c).  Each other worker is a
 * thread (daemon/dpworker.h) that polls its own queue of the
 * multi-queue TUN device, its own socket of each listen entry's group
 * and a wake eventfd, and runs the same batches as worker 0 under its
 * mu; what they raise goes to the main loop through the thread's own
 * queue.  The listen entries are fixed (a reload changes none), so a
 * thread's epoll set is made once, before it starts.
 */
#include "autoconf.h"

#include <stdlib.h>

#include "log.h"
#include "popd.h"

static void
tun_ready(void *arg)
{
	dataplane_tun_work(arg);
}

/* Tag: listen entry + DPW_TAG0. */
static void
sock_ready(void *arg, uint32_t tag)
{
	struct pworker *w = arg;

	if (tag - DPW_TAG0 < w->pd->nlsn)
		dataplane_udp_work(w, &w->pd->lsn[tag - DPW_TAG0]);
}

static const struct dpw_ops popd_dpw = {
    .tun = tun_ready,
    .sock = sock_ready,
};

int
popd_workers_init(struct popd *pd)
{
	unsigned n = config_workers(pd->conf), i;

	if ((pd->w = calloc(n, sizeof(*pd->w))) == NULL) {
		log_warn("%u workers", n);
		return -1;
	}
	pd->nworkers = n;
	pthread_mutex_init(&pd->engine_mu, NULL);
	for (i = 0; i < n; i++) {
		struct pworker *w = &pd->w[i];

		w->pd = pd;
		dpw_init(&w->t, i, &popd_dpw, w);
		w->q = i == 0 ? &pd->dataev.q : &w->t.own_q;
		w->td = i == 0 ? &pd->tundev : &w->t.queue;
	}
	return 0;
}

void
popd_world_lock(struct popd *pd)
{
	unsigned i;

	for (i = 0; i < pd->nworkers; i++)
		dpw_lock(&pd->w[i].t);
}

void
popd_world_unlock(struct popd *pd)
{
	unsigned i = pd->nworkers;

	while (i-- > 0)
		dpw_unlock(&pd->w[i].t);
}

int
popd_workers_open(struct popd *pd)
{
	unsigned i;
	size_t   l;

	for (i = 1; i < pd->nworkers; i++) {
		struct pworker *w = &pd->w[i];

		if (dpw_open(&w->t, pd->base, &pd->dataev, &pd->tundev) == -1)
			return -1;
		for (l = 0; l < pd->nlsn; l++)
			if (dpw_poll(&w->t, pd->lsn[l].udp_fd[i],
				DPW_TAG0 + (uint32_t)l) == -1) {
				log_warn("worker %u: epoll", i);
				return -1;
			}
	}
	return 0;
}

int
popd_workers_run(struct popd *pd)
{
	unsigned i;

	for (i = 1; i < pd->nworkers; i++)
		if (dpw_start(&pd->w[i].t) == -1)
			return -1;
	return 0;
}

void
popd_workers_stop(struct popd *pd)
{
	unsigned i;

	for (i = 1; pd->w != NULL && i < pd->nworkers; i++)
		dpw_stop(&pd->w[i].t);
}

void
popd_workers_free(struct popd *pd)
{
	unsigned i;

	if (pd->w == NULL)
		return;
	for (i = 0; i < pd->nworkers; i++)
		dpw_free(&pd->w[i].t);
	pthread_mutex_destroy(&pd->engine_mu);
	free(pd->w);
	pd->w = NULL;
	pd->nworkers = 0;
}
