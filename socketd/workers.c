/*
 * socketd's data-plane workers (struct sworker, socketd.h; DESIGN.md
 * section 3).  Worker 0 is the main loop's: its TUN device and sockets
 * are events there (dataplane.c).  Each other worker is a thread that
 * polls its own queue of the multi-queue TUN device, its own socket of
 * each link and an eventfd the main loop wakes it with, and runs the
 * same batches as worker 0 under its mu.  What its batches raise (a
 * probe answered, a key wanted) waits in its own queue; an eventfd tells
 * the main loop, which moves the events to dataev's queue and drains it
 * there, as it does worker 0's.  A thread gives up every capability
 * before its first batch (privdrop_thread()) and never logs.
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
#include "privdrop.h"
#include "socketd.h"
#include "tundev.h"

/* What a thread's epoll events stand for: the wake eventfd, its TUN
 * queue, then link place + POLL_LINK0. */
#define POLL_WAKE  0
#define POLL_TUN   1
#define POLL_LINK0 2

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
		w->id = i;
		pthread_mutex_init(&w->mu, NULL);
		w->epfd = w->wakefd = w->kickfd = -1;
		w->queue.fd = -1;
		tunnel_evq_init(&w->own_q);
		w->q = i == 0 ? &sd->dataev.q : &w->own_q;
		w->td = i == 0 ? &sd->tundev : &w->queue;
	}
	return 0;
}

void
dataplane_world_lock(struct socketd *sd)
{
	unsigned i;

	for (i = 0; i < sd->nworkers; i++)
		pthread_mutex_lock(&sd->w[i].mu);
}

void
dataplane_world_unlock(struct socketd *sd)
{
	unsigned i = sd->nworkers;

	while (i-- > 0)
		pthread_mutex_unlock(&sd->w[i].mu);
}

static void
poke(int fd)
{
	uint64_t one = 1;

	if (fd >= 0)
		(void)!write(fd, &one, sizeof(one));
}

void
workers_wake(struct socketd *sd)
{
	unsigned i;

	for (i = 1; i < sd->nworkers; i++)
		if (sd->w[i].started)
			poke(sd->w[i].wakefd);
}

/* A thread's events, for the main loop: moved to dataev's queue and
 * handled there, as worker 0's are. */
static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sworker  *w = arg;
	struct socketd  *sd = w->sd;
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
		(void)tunnel_evq_push(&sd->dataev.q, &ev[i]);
	dataev_drain(&sd->dataev);
}

/* The link sockets a thread polls, anew for the links of
 * sd->links_gen; under its mu.  A socket closed since left the set with
 * its last fd; one that cannot be added is counted (poll_errors) and its
 * datagrams go unread: the link's probes tell. */
static void
poll_set(struct sworker *w)
{
	struct socketd    *sd = w->sd;
	struct epoll_event e;
	size_t             j;

	for (j = 0; j < w->npolled; j++)
		(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->polled[j], NULL);
	w->npolled = 0;
	w->gen = sd->links_gen;
	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN;
	for (j = 0; j < sd->nlinks; j++) {
		int fd = sd->links[j].s.fd[w->id];

		if (fd < 0)
			continue;
		e.data.u32 = POLL_LINK0 + (uint32_t)j;
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &e) == -1)
			w->poll_errors++;
		else
			w->polled[w->npolled++] = fd;
	}
}

static void *
worker_main(void *arg)
{
	struct sworker    *w = arg;
	struct socketd    *sd = w->sd;
	struct epoll_event evs[POLL_LINK0 + CONFIG_MAX_LINKS];
	uint64_t           v;
	uint32_t           u;
	int                n, i, kick;

	(void)privdrop_thread();
	pthread_mutex_lock(&w->mu);
	poll_set(w);
	pthread_mutex_unlock(&w->mu);
	for (;;) {
		n = epoll_wait(
		    w->epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])), -1);
		pthread_mutex_lock(&w->mu);
		if (w->stop) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		/* A new link table: what the events name may be gone. */
		if (w->gen != sd->links_gen) {
			poll_set(w);
			pthread_mutex_unlock(&w->mu);
			continue;
		}
		for (i = 0; i < n; i++) {
			u = evs[i].data.u32;
			if (u == POLL_WAKE)
				(void)!read(w->wakefd, &v, sizeof(v));
			else if (u == POLL_TUN) {
				w->batch_ms = now_ms();
				dataplane_tun_work(w);
			} else if (u - POLL_LINK0 < sd->nlinks)
				dataplane_link_work(
				    w, &sd->links[u - POLL_LINK0]);
		}
		kick = w->own_q.n > 0;
		pthread_mutex_unlock(&w->mu);
		if (kick)
			poke(w->kickfd);
	}
	return NULL;
}

int
workers_open(struct socketd *sd)
{
	struct epoll_event e;
	unsigned           i;

	for (i = 1; i < sd->nworkers; i++) {
		struct sworker *w = &sd->w[i];

		if (tundev_queue(&w->queue, &sd->tundev) == -1)
			return -1;
		if ((w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) ==
			-1 ||
		    (w->kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) ==
			-1) {
			log_warn("worker %u: eventfd", i);
			return -1;
		}
		if ((w->kick_ev = event_new(sd->base, w->kickfd,
			 EV_READ | EV_PERSIST, kick_cb, w)) == NULL ||
		    event_add(w->kick_ev, NULL) == -1) {
			log_warnx("worker %u: cannot watch its events", i);
			return -1;
		}
		/* What the thread polls besides its link sockets: its wake
		 * eventfd and its TUN queue, for its whole life. */
		memset(&e, 0, sizeof(e));
		e.events = EPOLLIN;
		if ((w->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
			log_warn("worker %u: epoll", i);
			return -1;
		}
		e.data.u32 = POLL_WAKE;
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wakefd, &e) == -1) {
			log_warn("worker %u: epoll", i);
			return -1;
		}
		e.data.u32 = POLL_TUN;
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->td->fd, &e) == -1) {
			log_warn("worker %u: epoll", i);
			return -1;
		}
	}
	return 0;
}

int
workers_run(struct socketd *sd)
{
	sigset_t all, old;
	unsigned i;
	int      rc;

	for (i = 1; i < sd->nworkers; i++) {
		struct sworker *w = &sd->w[i];

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
workers_stop(struct socketd *sd)
{
	unsigned i;

	for (i = 1; sd->w != NULL && i < sd->nworkers; i++) {
		struct sworker *w = &sd->w[i];

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
workers_free(struct socketd *sd)
{
	unsigned i;

	if (sd->w == NULL)
		return;
	for (i = 0; i < sd->nworkers; i++)
		pthread_mutex_destroy(&sd->w[i].mu);
	pthread_mutex_destroy(&sd->engine_mu);
	free(sd->w);
	sd->w = NULL;
	sd->nworkers = 0;
}
