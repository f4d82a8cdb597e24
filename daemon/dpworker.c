/*
 * A data-plane worker's thread (dpworker.h): its fds, its loop, its
 * events handed to the main loop, its end.
 */
#include "autoconf.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "dpworker.h"
#include "log.h"
#include "privdrop.h"
#include "tundev.h"

/* Events one epoll_wait() takes: the wake eventfd, the TUN queue and
 * up to this many sockets' (a round takes the rest next time). */
#define DPW_EVENTS 64

void
dpw_init(struct dpw *w, unsigned id, const struct dpw_ops *ops, void *arg)
{
	memset(w, 0, sizeof(*w));
	atomic_init(&w->want, 0);
	w->id = id;
	pthread_mutex_init(&w->mu, NULL);
	w->epfd = w->wakefd = w->kickfd = -1;
	w->queue.fd = -1;
	tunnel_evq_init(&w->own_q);
	w->ops = ops;
	w->arg = arg;
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
	struct dpw      *w = arg;
	struct tunnel_ev ev[TUNNEL_EVQ_LEN];
	uint64_t         v;
	size_t           n = 0, i;

	(void)what;
	(void)!read(fd, &v, sizeof(v));
	dpw_lock(w);
	while (n < TUNNEL_EVQ_LEN && tunnel_evq_pop(&w->own_q, &ev[n]))
		n++;
	dpw_unlock(w);
	for (i = 0; i < n; i++)
		(void)tunnel_evq_push(&w->de->q, &ev[i]);
	dataev_drain(w->de);
}

int
dpw_poll(struct dpw *w, int fd, uint32_t tag)
{
	struct epoll_event e;

	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN;
	e.data.u32 = tag;
	return epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &e);
}

int
dpw_unpoll(struct dpw *w, int fd)
{
	return epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
}

int
dpw_open(struct dpw *w, struct event_base *base, struct dataev *de,
    const struct tun_dev *dev)
{
	w->de = de;
	if (tundev_queue(&w->queue, dev) == -1)
		return -1;
	if ((w->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (w->kickfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		log_warn("worker %u: eventfd", w->id);
		return -1;
	}
	if ((w->kick_ev = event_new(
		 base, w->kickfd, EV_READ | EV_PERSIST, kick_cb, w)) == NULL ||
	    event_add(w->kick_ev, NULL) == -1) {
		log_warnx("worker %u: cannot watch its events", w->id);
		return -1;
	}
	/* What the thread polls for its whole life: its wake eventfd and
	 * its TUN queue. */
	if ((w->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    dpw_poll(w, w->wakefd, DPW_TAG_WAKE) == -1 ||
	    dpw_poll(w, w->queue.fd, DPW_TAG_TUN) == -1) {
		log_warn("worker %u: epoll", w->id);
		return -1;
	}
	return 0;
}

static void *
dpw_main(void *arg)
{
	struct dpw        *w = arg;
	struct epoll_event evs[2 + DPW_EVENTS];
	uint64_t           v;
	uint32_t           u;
	int                n, i, kick;

	(void)privdrop_thread();
	/* What the daemon polls besides, before the first round. */
	if (w->ops->stale != NULL) {
		pthread_mutex_lock(&w->mu);
		(void)w->ops->stale(w->arg);
		pthread_mutex_unlock(&w->mu);
	}
	for (;;) {
		n = epoll_wait(
		    w->epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])), -1);
		/* The main loop first, if it waits: for as long as it takes
		 * to get mu, never for its hold. */
		while (atomic_load_explicit(&w->want, memory_order_acquire))
			sched_yield();
		pthread_mutex_lock(&w->mu);
		if (w->stop) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		if (w->ops->stale != NULL && w->ops->stale(w->arg)) {
			pthread_mutex_unlock(&w->mu);
			continue;
		}
		for (i = 0; i < n; i++) {
			u = evs[i].data.u32;
			if (u == DPW_TAG_WAKE)
				(void)!read(w->wakefd, &v, sizeof(v));
			else if (u == DPW_TAG_TUN)
				w->ops->tun(w->arg);
			else
				w->ops->sock(w->arg, u);
		}
		kick = w->own_q.n > 0;
		pthread_mutex_unlock(&w->mu);
		if (kick)
			poke(w->kickfd);
	}
	return NULL;
}

int
dpw_start(struct dpw *w)
{
	sigset_t all, old;
	int      rc;

	/* Signals are the main loop's. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&w->thread, NULL, dpw_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_warnx("worker %u: %s", w->id, strerror(rc));
		return -1;
	}
	w->started = 1;
	return 0;
}

void
dpw_lock(struct dpw *w)
{
	atomic_store_explicit(&w->want, 1, memory_order_release);
	pthread_mutex_lock(&w->mu);
	atomic_store_explicit(&w->want, 0, memory_order_release);
}

void
dpw_unlock(struct dpw *w)
{
	pthread_mutex_unlock(&w->mu);
}

void
dpw_wake(struct dpw *w)
{
	if (w->started)
		poke(w->wakefd);
}

void
dpw_stop(struct dpw *w)
{
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

void
dpw_free(struct dpw *w)
{
	pthread_mutex_destroy(&w->mu);
}
