/*
 * popd's data-plane workers (struct pworker, popd.h; DESIGN.md section
 * 3), as socketd's (socketd/workers.c).  Worker 0 runs on the main
 * loop: its TUN device and data sockets are events there (dataplane.c).
 * Each other worker is a thread that polls its own queue of the
 * multi-queue TUN device, its own socket of each listen entry's group
 * and an eventfd the main loop wakes it with, and runs the same batches
 * as worker 0 under its mu.  What its batches raise (a rekey to
 * announce, a key wanted, a link probing again) waits in its own queue;
 * an eventfd tells the main loop, which moves the events to dataev's
 * queue and drains it there, as it does worker 0's.  A thread gives up
 * every capability before its first batch (privdrop_thread()) and never
 * logs.
 */
#include "autoconf.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "popd.h"
#include "privdrop.h"
#include "tundev.h"

/* What a thread's epoll events stand for: the wake eventfd, its TUN
 * queue, then listen entry + POLL_LSN0. */
#define POLL_WAKE 0
#define POLL_TUN  1
#define POLL_LSN0 2

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
		w->id = i;
		pthread_mutex_init(&w->mu, NULL);
		w->epfd = w->wakefd = w->kickfd = -1;
		w->queue.fd = -1;
		tunnel_evq_init(&w->own_q);
		w->q = i == 0 ? &pd->dataev.q : &w->own_q;
		w->td = i == 0 ? &pd->tundev : &w->queue;
	}
	return 0;
}

void
popd_world_lock(struct popd *pd)
{
	unsigned i;

	for (i = 0; i < pd->nworkers; i++)
		pthread_mutex_lock(&pd->w[i].mu);
}

void
popd_world_unlock(struct popd *pd)
{
	unsigned i = pd->nworkers;

	while (i-- > 0)
		pthread_mutex_unlock(&pd->w[i].mu);
}

static void
poke(int fd)
{
	uint64_t one = 1;

	if (fd >= 0)
		(void)!write(fd, &one, sizeof(one));
}

/* A thread's events, for the main loop: moved to dataev's queue and
 * handled there, as worker 0's are. */
static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pworker  *w = arg;
	struct popd     *pd = w->pd;
	struct tunnel_ev ev[TUNNEL_EVQ_LEN];
	uint64_t         v;
	size_t           n = 0, i;

	(void)what;
	(void)!read(fd, &v, sizeof(v));
	pthread_mutex_lock(&w->mu);
	while (n < TUNNEL_EVQ_LEN && tunnel_evq_pop(&w->own_q, &ev[n]))
		n++;
	pthread_mutex_unlock(&w->mu);
	for (i = 0; i < n; i++)
		(void)tunnel_evq_push(&pd->dataev.q, &ev[i]);
	dataev_drain(&pd->dataev);
}

static void *
worker_main(void *arg)
{
	struct pworker    *w = arg;
	struct popd       *pd = w->pd;
	struct epoll_event evs[POLL_LSN0 + CONFIG_LISTEN_MAX];
	uint64_t           v;
	uint32_t           u;
	int                n, i, kick;

	(void)privdrop_thread();
	for (;;) {
		n = epoll_wait(
		    w->epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])), -1);
		pthread_mutex_lock(&w->mu);
		if (w->stop) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		for (i = 0; i < n; i++) {
			u = evs[i].data.u32;
			if (u == POLL_WAKE)
				(void)!read(w->wakefd, &v, sizeof(v));
			else if (u == POLL_TUN)
				dataplane_tun_work(w);
			else if (u - POLL_LSN0 < pd->nlsn)
				dataplane_udp_work(w, &pd->lsn[u - POLL_LSN0]);
		}
		kick = w->own_q.n > 0;
		pthread_mutex_unlock(&w->mu);
		if (kick)
			poke(w->kickfd);
	}
	return NULL;
}

int
popd_workers_open(struct popd *pd)
{
	struct epoll_event e;
	unsigned           i;
	size_t             l;

	for (i = 1; i < pd->nworkers; i++) {
		struct pworker *w = &pd->w[i];

		if (tundev_queue(&w->queue, &pd->tundev) == -1)
			return -1;
		if ((w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) ==
			-1 ||
		    (w->kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) ==
			-1) {
			log_warn("worker %u: eventfd", i);
			return -1;
		}
		if ((w->kick_ev = event_new(pd->base, w->kickfd,
			 EV_READ | EV_PERSIST, kick_cb, w)) == NULL ||
		    event_add(w->kick_ev, NULL) == -1) {
			log_warnx("worker %u: cannot watch its events", i);
			return -1;
		}
		/* What the thread polls, for its whole life: its wake
		 * eventfd, its TUN queue and its data socket of each
		 * listen entry (a reload changes none of them). */
		memset(&e, 0, sizeof(e));
		e.events = EPOLLIN;
		if ((w->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
			log_warn("worker %u: epoll", i);
			return -1;
		}
		e.data.u32 = POLL_WAKE;
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &e) == -1)
			goto fail;
		e.data.u32 = POLL_TUN;
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->td->fd, &e) == -1)
			goto fail;
		for (l = 0; l < pd->nlsn; l++) {
			e.data.u32 = POLL_LSN0 + (uint32_t)l;
			if (epoll_ctl(w->epfd, EPOLL_CTL_ADD,
				pd->lsn[l].udp_fd[i], &e) == -1)
				goto fail;
		}
	}
	return 0;
fail:
	log_warn("worker %u: epoll", i);
	return -1;
}

int
popd_workers_run(struct popd *pd)
{
	sigset_t all, old;
	unsigned i;
	int      rc;

	for (i = 1; i < pd->nworkers; i++) {
		struct pworker *w = &pd->w[i];

		/* Signals are the main loop's. */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		rc = pthread_create(&w->thread, NULL, worker_main, w);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rc != 0) {
			log_warnx("worker %u: %s", i, strerror(rc));
			return -1;
		}
		w->started = 1;
	}
	return 0;
}

void
popd_workers_stop(struct popd *pd)
{
	unsigned i;

	for (i = 1; pd->w != NULL && i < pd->nworkers; i++) {
		struct pworker *w = &pd->w[i];

		if (w->started) {
			pthread_mutex_lock(&w->mu);
			w->stop = 1;
			pthread_mutex_unlock(&w->mu);
			poke(w->wakefd);
			pthread_join(w->thread, NULL);
			w->started = 0;
		}
		if (w->kick_ev != NULL)
			event_free(w->kick_ev);
		w->kick_ev = NULL;
		if (w->epfd >= 0)
			close(w->epfd);
		if (w->wakefd >= 0)
			close(w->wakefd);
		if (w->kickfd >= 0)
			close(w->kickfd);
		w->epfd = w->wakefd = w->kickfd = -1;
		tundev_close(&w->queue);
	}
}

void
popd_workers_free(struct popd *pd)
{
	unsigned i;

	if (pd->w == NULL)
		return;
	for (i = 0; i < pd->nworkers; i++)
		pthread_mutex_destroy(&pd->w[i].mu);
	pthread_mutex_destroy(&pd->engine_mu);
	free(pd->w);
	pd->w = NULL;
	pd->nworkers = 0;
}
