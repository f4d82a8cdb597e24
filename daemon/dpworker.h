/*
 * A data-plane worker's thread, both daemons' (socketd/workers.c,
 * popd/workers.c; DESIGN.md section 3).  Worker 0 runs on the main loop
 * and has none of this but its mu; each other worker is a thread that
 * polls, in an epoll set of its own, an eventfd the main loop wakes it
 * with, its own queue of the multi-queue TUN device and whatever sockets
 * the daemon adds (dpw_poll()), and runs the daemon's batches under its
 * mu.  What its batches raise (tunnel_evq events) waits in own_q; an
 * eventfd tells the main loop, which moves them to the daemon's dataev
 * queue and drains it there, as it does worker 0's.  A thread gives up
 * every capability before its first batch (privdrop_thread()) and never
 * logs.
 */
#ifndef WANPAIR_DPWORKER_H
#define WANPAIR_DPWORKER_H

#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "dataev.h"
#include "tun.h"
#include "tunnel.h"

/* The epoll tags dpw_main() handles itself; a daemon's start here. */
#define DPW_TAG_WAKE 0
#define DPW_TAG_TUN  1
#define DPW_TAG0     2

struct dpw;

/* The daemon's side of a worker's loop, called under w->mu. */
struct dpw_ops {
	/* The TUN queue is readable. */
	void (*tun)(void *arg);
	/* A socket the daemon added with tag (DPW_TAG0 and up) is. */
	void (*sock)(void *arg, uint32_t tag);
	/* Before the first round, and before each round's events: NULL,
	 * or 1 to drop them and poll again (socketd: a new link table, its
	 * sockets set anew). */
	int (*stale)(void *arg);
};

struct dpw {
	unsigned          id;
	pthread_mutex_t   mu;
	pthread_t         thread;
	int               started; /* the thread runs */
	int               stop;    /* under mu: the thread ends */
	int               epfd;    /* threads: what they poll */
	int               wakefd;  /* eventfd: the main loop wakes it */
	int               kickfd;  /* eventfd: events for the main loop */
	struct event     *kick_ev;
	struct tun_dev    queue; /* threads: their TUN queue */
	struct tunnel_evq own_q; /* threads: their events */
	struct dataev    *de;    /* the main loop's, own_q drains into */
	/* the main loop waits for mu (dpw_lock()): the thread lets it
	 * have it before taking it again */
	atomic_int            want;
	const struct dpw_ops *ops;
	void                 *arg; /* the ops' */
};

/* Worker id, nothing open yet. */
void dpw_init(struct dpw *, unsigned id, const struct dpw_ops *, void *arg);
/* A thread's fds, as root before it starts: dev's next queue, the two
 * eventfds, the kick event on base (into de) and the epoll set with the
 * wake eventfd and the TUN queue.  0, or -1 logged. */
int dpw_open(struct dpw *, struct event_base *, struct dataev *,
    const struct tun_dev *dev);
/* fd into the thread's epoll set with tag (DPW_TAG0 and up), or out:
 * 0, or -1 with errno. */
int dpw_poll(struct dpw *, int fd, uint32_t tag);
int dpw_unpoll(struct dpw *, int fd);
/* The thread, all signals blocked: 0, or -1 logged. */
int dpw_start(struct dpw *);
/*
 * The main loop's hold of a worker's mu.  A busy thread lets go of mu
 * between batches only for an epoll_wait() that returns at once, and a
 * mutex is not fair: a plain lock from the main loop could wait behind
 * batch after batch (the review measured up to 636 ms on a loaded
 * machine).  So the main loop says it wants mu, and the thread waits
 * (yielding) until it has had it.
 */
void dpw_lock(struct dpw *);
void dpw_unlock(struct dpw *);
/* Wakes the thread (it polls anew). */
void dpw_wake(struct dpw *);
/* Joins the thread and closes what dpw_open() opened. */
void dpw_stop(struct dpw *);
/* The mutex, once no one holds it. */
void dpw_free(struct dpw *);

#endif
