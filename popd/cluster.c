/*
 * popd's cluster membership on corosync's CPG (cluster.h; doc/CLUSTER.md,
 * "Membership").  Corosync tells which processes are in the group
 * (confchg); each popd tells, in an AGREED-ordered HELLO, which node of
 * popd.json it is, and each receiver checks that against its own
 * "members" before it counts the sender as that node.  A process that
 * names no configured node, or another node's address, is logged and
 * ignored.  A member leaves when corosync says its process left the
 * group (its popd or its corosync died, or it left), logged once.
 *
 * The CPG fd is one event on popd's loop: cpg_dispatch(CS_DISPATCH_ALL)
 * runs the callbacks when it is readable.  If corosync goes away (an
 * error from dispatch or send: the fd hung up), every other member is
 * unknown, so left, and popd connects again with back-off until it is
 * back, as pacemaker's daemons and conntrackd's CPG channel do.
 *
 * The send queue is bounded: corosync may refuse a multicast for a while
 * (CS_ERR_TRY_AGAIN, its flow control), and the queue waits for it, up
 * to CLUSTER_QUEUE_MAX messages.  One more is an overflow, counted; the
 * way back from one is the full resync a member gets when it joins (now:
 * this node's HELLO again), as conntrackd's FTFW resyncs when its queue
 * overflows.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <corosync/corotypes.h>
#include <corosync/cpg.h>
#include <event2/event.h>
#include <jansson.h>

#include "clusterkey.h"
#include "clustersync.h"
#include "cluster.h"
#include "log.h"
#include "sendq.h"
#include "tunnel.h" /* now_ms() */

/* Reconnecting to corosync: 100 ms, doubling, at most 5 s apart. */
#define RECONNECT_MIN_MS 100
#define RECONNECT_MAX_MS 5000
/* A send corosync refused for now (CS_ERR_TRY_AGAIN) is tried again. */
#define RETRY_MS 10

enum mstate {
	M_NEVER,  /* not seen since popd started */
	M_JOINED, /* in the group, its HELLO checked */
	M_LEFT    /* was joined, and its process left the group */
};

struct member {
	uint32_t       node; /* popd.json's */
	struct wp_addr address;
	enum mstate    state;
	time_t         since; /* of the state, 0 for M_NEVER */
	/* the CPG process that said it is this node (while joined) */
	uint32_t cs_nodeid, pid, incarnation;
	uint64_t joins, leaves;
};

struct cluster {
	struct event_base *base;
	char               conf_file[256]; /* for messages */
	uint32_t           node;
	struct cpg_name    group;
	struct wp_addr     address;
	uint16_t           port;
	uint32_t           incarnation;

	struct member  members[CONFIG_CLUSTER_MEMBERS_MAX];
	size_t         nmembers;
	struct member *self;

	/* corosync */
	cpg_handle_t  h;
	int           connected; /* initialised and joined */
	int           broken;    /* a send failed: reconnect pending */
	uint32_t      local_nodeid;
	struct event *fd_ev, *retry_ev, *reconnect_ev;
	unsigned      reconnect_ms;
	int           warned; /* "cannot reach corosync", once an outage */
	/* the group's processes at the last confchg */
	struct cpg_address group_now[CPG_MEMBERS_MAX];
	size_t             ngroup;

	/* the send queue, a ring */
	struct sendq *q;
	int           hello_queued; /* coalesced: one HELLO waits at most */
	int           resync;       /* an overflow: say everything again */

	/* the forwarding's (popd/forward.h) */
	struct cluster_hooks hooks;
	void                *hooks_arg;
	/* the sessions' sync (cluster-session.c), and this node's
	 * workers, which every member's HELLO must say alike */
	struct csync *cs;
	unsigned      workers;

	uint64_t             sent, received, try_again, reconnects;
	uint64_t             bad, unknown_node, conflicts;
	struct log_ratelimit peer_log;
};

static void connect_corosync(struct cluster *);

static const char *
reason_name(uint32_t reason)
{
	switch (reason) {
	case CPG_REASON_LEAVE:
		return "left the group";
	case CPG_REASON_NODEDOWN:
		return "its corosync node is down";
	case CPG_REASON_PROCDOWN:
		return "its process ended";
	default:
		return "gone";
	}
}

static const char *
state_name(enum mstate s)
{
	return s == M_JOINED ? "joined" : s == M_LEFT ? "left" : "unknown";
}

static struct member *
member_of(struct cluster *cl, uint32_t node)
{
	size_t i;

	for (i = 0; i < cl->nmembers; i++)
		if (cl->members[i].node == node)
			return &cl->members[i];
	return NULL;
}

/* The member a CPG process is, if it said so. */
static struct member *
member_at(struct cluster *cl, uint32_t nodeid, uint32_t pid)
{
	size_t i;

	for (i = 0; i < cl->nmembers; i++)
		if (cl->members[i].state == M_JOINED &&
		    cl->members[i].cs_nodeid == nodeid &&
		    cl->members[i].pid == pid)
			return &cl->members[i];
	return NULL;
}

static int
in_group(const struct cluster *cl, uint32_t nodeid, uint32_t pid)
{
	size_t i;

	for (i = 0; i < cl->ngroup; i++)
		if (cl->group_now[i].nodeid == nodeid &&
		    cl->group_now[i].pid == pid)
			return 1;
	return 0;
}

static int
is_me(const struct cluster *cl, uint32_t nodeid, uint32_t pid)
{
	return nodeid == cl->local_nodeid && pid == (uint32_t)getpid();
}

static void
set_left(struct cluster *cl, struct member *m, const char *why)
{
	char a[ADDR_STRLEN];

	if (m->state != M_JOINED)
		return;
	m->state = M_LEFT;
	m->since = time(NULL);
	m->leaves++;
	if (cl->hooks.member != NULL)
		cl->hooks.member(cl->hooks_arg, m->node, 0, 0);
	if (cl->cs != NULL && m != cl->self)
		csync_member_left(cl->cs, (size_t)(m - cl->members));
	if (m == cl->self)
		log_info("cluster: this node (%u) is out of group %.*s: %s",
		    m->node, (int)cl->group.length, cl->group.value, why);
	else
		log_info("cluster: node %u (%s) left: %s", m->node,
		    addr_ntop(&m->address, a, sizeof(a)), why);
}

/* ------------------------------------------------------------ sending */

int
cluster_mcast(struct cluster *cl, const uint8_t *msg, size_t len)
{
	struct iovec iov = {(void *)(uintptr_t)msg, len};
	cs_error_t   cs;

	if (!cl->connected || cl->broken)
		return -1;
	cs = cpg_mcast_joined(cl->h, CPG_TYPE_AGREED, &iov, 1);
	if (cs == CS_ERR_TRY_AGAIN) {
		struct timeval tv = {0, RETRY_MS * 1000};

		cl->try_again++;
		event_add(cl->retry_ev, &tv);
		return 1;
	}
	if (cs != CS_OK) {
		log_warnx("cluster: cannot send to group %.*s: %s",
		    (int)cl->group.length, cl->group.value, cs_strerror(cs));
		/* The connection is gone or broken: start over, but not
		 * from inside cpg_dispatch(), which may be what called us. */
		cl->broken = 1;
		event_active(cl->reconnect_ev, EV_TIMEOUT, 0);
		return -1;
	}
	cl->sent++;
	return 0;
}

static void
flush(struct cluster *cl)
{
	const uint8_t *msg;
	size_t         len;

	while ((msg = sendq_peek(cl->q, &len)) != NULL)
		if (cluster_mcast(cl, msg, len) != 0)
			return;
		else {
			if (msg[1] == CLUSTERSYNC_HELLO)
				cl->hello_queued = 0;
			sendq_pop(cl->q);
		}
	/* The HELLOs first: a SESSION's receiver knows its sender. */
	if (cl->cs != NULL)
		(void)csync_flush(cl->cs);
}

void
cluster_flush(struct cluster *cl)
{
	flush(cl);
}

static int
enqueue(struct cluster *cl, const uint8_t *msg, size_t len)
{
	if (sendq_push(cl->q, msg, len) == -1) {
		/* Full (counted by the queue): a full resync once it has
		 * room is the way back. */
		cl->resync = 1;
		return -1;
	}
	return 0;
}

static void
send_hello(struct cluster *cl)
{
	struct clustersync_hello h = {
	    .node = cl->node,
	    .incarnation = cl->incarnation,
	    .port = cl->port,
	    .workers = (uint8_t)cl->workers,
	    .address = cl->address,
	};
	uint8_t buf[CLUSTERSYNC_HELLO_LEN];
	int     len;

	if (!cl->connected || cl->hello_queued)
		return;
	if ((len = clustersync_hello_encode(&h, buf, sizeof(buf))) < 0)
		return;
	if (enqueue(cl, buf, (size_t)len) == 0)
		cl->hello_queued = 1;
	flush(cl);
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *cl = arg;

	(void)fd;
	(void)what;
	flush(cl);
	/* The queue overflowed: once it has room, a full resync. */
	if (cl->resync && sendq_depth(cl->q) < sendq_max(cl->q)) {
		cl->resync = 0;
		send_hello(cl);
	}
}

void
cluster_set_hooks(struct cluster *cl, const struct cluster_hooks *h, void *arg)
{
	cl->hooks = *h;
	cl->hooks_arg = arg;
}

int
cluster_send(struct cluster *cl, const uint8_t *msg, size_t len)
{
	if (!cl->connected || enqueue(cl, msg, len) == -1)
		return -1;
	flush(cl);
	return 0;
}

size_t
cluster_room(const struct cluster *cl)
{
	return cl->connected ? sendq_max(cl->q) - sendq_depth(cl->q) : 0;
}

/* ------------------------------------------------------------ callbacks */

static void
on_hello(struct cluster *cl, uint32_t nodeid, uint32_t pid,
    const struct clustersync_hello *h)
{
	struct member *m;
	char           a[ADDR_STRLEN], b[ADDR_STRLEN];
	uint64_t       now = now_ms();

	if ((m = member_of(cl, h->node)) == NULL) {
		cl->unknown_node++;
		if (log_ratelimit_ok(&cl->peer_log, now))
			log_warnx("cluster: a process in group %.*s "
				  "(corosync node %u, pid %u) says it is "
				  "node %u, which %s's cluster.members "
				  "lacks: ignored",
			    (int)cl->group.length, cl->group.value, nodeid, pid,
			    h->node, cl->conf_file);
		return;
	}
	if (h->workers != cl->workers) {
		/* Its worker bytes would not be those its position gives
		 * (doc/CLUSTER.md, "Sessions across members"). */
		cl->conflicts++;
		if (log_ratelimit_ok(&cl->peer_log, now))
			log_warnx("cluster: node %u (corosync node %u, pid %u) "
				  "runs %u workers, this node %u: every member "
				  "must run as many; ignored",
			    h->node, nodeid, pid, h->workers, cl->workers);
		return;
	}
	if (memcmp(&h->address, &m->address, sizeof(m->address)) != 0 ||
	    h->port != cl->port) {
		cl->conflicts++;
		if (log_ratelimit_ok(&cl->peer_log, now))
			log_warnx("cluster: corosync node %u, pid %u says it "
				  "is node %u at %s port %u; %s has node %u "
				  "at %s port %u: ignored",
			    nodeid, pid, h->node,
			    addr_ntop(&h->address, a, sizeof(a)), h->port,
			    cl->conf_file, m->node,
			    addr_ntop(&m->address, b, sizeof(b)), cl->port);
		return;
	}
	if ((m == cl->self) != is_me(cl, nodeid, pid) ||
	    (m->state == M_JOINED &&
		(m->cs_nodeid != nodeid || m->pid != pid) &&
		in_group(cl, m->cs_nodeid, m->pid))) {
		/* Two processes say they are one node: the first keeps it. */
		cl->conflicts++;
		if (log_ratelimit_ok(&cl->peer_log, now))
			log_warnx("cluster: corosync node %u, pid %u says it "
				  "is node %u, which %s: ignored",
			    nodeid, pid, h->node,
			    m == cl->self ? "is this node"
					  : "another process is already");
		return;
	}
	if (m->state == M_JOINED && m->cs_nodeid == nodeid && m->pid == pid)
		return; /* said again, for a newcomer */
	m->state = M_JOINED;
	m->since = time(NULL);
	m->cs_nodeid = nodeid;
	m->pid = pid;
	m->incarnation = h->incarnation;
	m->joins++;
	if (cl->hooks.member != NULL)
		cl->hooks.member(cl->hooks_arg, m->node, 1, m->incarnation);
	if (m == cl->self)
		log_info("cluster: this node (%u, %s) is in group %.*s",
		    m->node, addr_ntop(&m->address, a, sizeof(a)),
		    (int)cl->group.length, cl->group.value);
	else
		log_info("cluster: node %u (%s) joined", m->node,
		    addr_ntop(&m->address, a, sizeof(a)));
	/* It heard none of this node's sessions: all of them again. */
	if (m != cl->self && cl->cs != NULL)
		csync_resync(cl->cs);
}

static void
deliver_cb(cpg_handle_t h, const struct cpg_name *group, uint32_t nodeid,
    uint32_t pid, void *msg, size_t len)
{
	struct clustersync_hello hello;
	struct cluster          *cl;
	int                      t;

	(void)group;
	if (cpg_context_get(h, (void **)&cl) != CS_OK || cl == NULL)
		return;
	cl->received++;
	if ((t = clustersync_type(msg, len)) == CLUSTERSYNC_SESSION ||
	    t == CLUSTERSYNC_WANT) {
		struct member *m = member_at(cl, nodeid, pid);

		/* Only a joined member's (its HELLO came first); what it
		 * holds is checked by the sessions' sync. */
		if (m != NULL && cl->cs != NULL) {
			csync_deliver(cl->cs, (size_t)(m - cl->members),
			    m->node, msg, len);
			return;
		}
		t = CLUSTERSYNC_EVALUE;
	} else if (t == CLUSTERSYNC_HELLO &&
	    (t = clustersync_hello_decode(msg, len, &hello)) ==
		CLUSTERSYNC_OK) {
		on_hello(cl, nodeid, pid, &hello);
		return;
	}
	if (t == CLUSTERSYNC_FLOW) {
		struct member *m = member_at(cl, nodeid, pid);

		/* Only from a process that said which member it is. */
		if (m != NULL && cl->hooks.message != NULL) {
			cl->hooks.message(cl->hooks_arg, m->node, msg, len);
			return;
		}
		t = CLUSTERSYNC_EVALUE;
	}
	cl->bad++;
	if (log_ratelimit_ok(&cl->peer_log, now_ms()))
		log_debug("cluster: a %zu-byte message from corosync node %u, "
			  "pid %u: %s: dropped",
		    len, nodeid, pid, clustersync_strerror(t));
}

static void
confchg_cb(cpg_handle_t h, const struct cpg_name *group,
    const struct cpg_address *members, size_t nmembers,
    const struct cpg_address *left, size_t nleft,
    const struct cpg_address *joined, size_t njoined)
{
	struct cluster *cl;
	struct member  *m;
	size_t          i;

	(void)group;
	(void)joined;
	if (cpg_context_get(h, (void **)&cl) != CS_OK || cl == NULL)
		return;
	if (nmembers > CPG_MEMBERS_MAX)
		nmembers = CPG_MEMBERS_MAX;
	memcpy(cl->group_now, members, nmembers * sizeof(*members));
	cl->ngroup = nmembers;
	for (i = 0; i < nleft; i++)
		if ((m = member_at(cl, left[i].nodeid, left[i].pid)) != NULL)
			set_left(cl, m, reason_name(left[i].reason));
	/* Whoever is no longer in the group has left, whatever the lists
	 * said (a confchg after a partition can list many at once). */
	for (i = 0; i < cl->nmembers; i++) {
		m = &cl->members[i];
		if (m->state == M_JOINED && !in_group(cl, m->cs_nodeid, m->pid))
			set_left(cl, m, "not in the group");
	}
	/* A newcomer has heard nothing said before it came: each member
	 * says who it is again, and the forwarding resyncs its flows. */
	if (njoined > 0) {
		send_hello(cl);
		if (cl->hooks.resync != NULL)
			cl->hooks.resync(cl->hooks_arg);
	}
}

/* ------------------------------------------------------------ corosync */

/* Closes the connection to corosync; `why`, if not NULL, is why every
 * member now counts as left (NULL: popd is stopping, nothing to say). */
static void
disconnect(struct cluster *cl, const char *why)
{
	size_t i;

	if (cl->fd_ev != NULL) {
		event_free(cl->fd_ev);
		cl->fd_ev = NULL;
	}
	if (cl->h != 0) {
		if (cl->connected)
			(void)cpg_leave(cl->h, &cl->group);
		(void)cpg_finalize(cl->h);
		cl->h = 0;
	}
	if (cl->connected && why != NULL)
		for (i = 0; i < cl->nmembers; i++)
			set_left(cl, &cl->members[i], why);
	cl->connected = 0;
	cl->broken = 0;
	cl->ngroup = 0;
	/* What waits was for the old group; a new join says it again. */
	sendq_clear(cl->q);
	cl->hello_queued = 0;
	cl->resync = 0;
	event_del(cl->retry_ev);
}

void
cluster_set_sessions(struct cluster *cl, struct csync *cs, unsigned workers)
{
	cl->cs = cs;
	cl->workers = workers;
}

int
cluster_member(
    const struct cluster *cl, size_t pos, uint32_t *node, uint32_t *incarnation)
{
	if (pos >= cl->nmembers)
		return 0;
	*node = cl->members[pos].node;
	*incarnation = cl->members[pos].incarnation;
	return cl->members[pos].state == M_JOINED;
}

uint32_t
cluster_incarnation(const struct cluster *cl)
{
	return cl->incarnation;
}

static void
fd_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *cl = arg;
	cs_error_t      cs;

	(void)fd;
	(void)what;
	cs = cpg_dispatch(cl->h, CS_DISPATCH_ALL);
	if (cs == CS_OK || cs == CS_ERR_TRY_AGAIN)
		return;
	log_warnx("cluster: lost corosync (%s); every other member is "
		  "unknown until it is back",
	    cs_strerror(cs));
	connect_corosync(cl);
}

static void
reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	connect_corosync(arg);
}

static void
retry_later(struct cluster *cl, const char *what, cs_error_t cs)
{
	struct timeval tv;

	if (!cl->warned)
		log_warnx("cluster: cannot %s corosync's group %.*s: %s; "
			  "trying again, every %u s at most",
		    what, (int)cl->group.length, cl->group.value,
		    cs_strerror(cs), RECONNECT_MAX_MS / 1000);
	cl->warned = 1;
	tv.tv_sec = cl->reconnect_ms / 1000;
	tv.tv_usec = (cl->reconnect_ms % 1000) * 1000;
	event_add(cl->reconnect_ev, &tv);
	cl->reconnect_ms = cl->reconnect_ms * 2 > RECONNECT_MAX_MS
	    ? RECONNECT_MAX_MS
	    : cl->reconnect_ms * 2;
}

/* (Re)connects: what there was is closed first. */
static void
connect_corosync(struct cluster *cl)
{
	cpg_model_v1_data_t model = {
	    .model = CPG_MODEL_V1,
	    .cpg_deliver_fn = deliver_cb,
	    .cpg_confchg_fn = confchg_cb,
	};
	cs_error_t cs;
	int        fd;

	if (cl->h != 0 || cl->connected)
		cl->reconnects++;
	disconnect(cl, "lost corosync");
	if ((cs = cpg_model_initialize(&cl->h, CPG_MODEL_V1,
		 (cpg_model_data_t *)&model, cl)) != CS_OK) {
		cl->h = 0;
		retry_later(cl, "reach", cs);
		return;
	}
	if ((cs = cpg_local_get(cl->h, &cl->local_nodeid)) != CS_OK ||
	    (cs = cpg_fd_get(cl->h, &fd)) != CS_OK ||
	    (cs = cpg_join(cl->h, &cl->group)) != CS_OK) {
		disconnect(cl, NULL);
		retry_later(cl, "join", cs);
		return;
	}
	if ((cl->fd_ev = event_new(
		 cl->base, fd, EV_READ | EV_PERSIST, fd_cb, cl)) == NULL ||
	    event_add(cl->fd_ev, NULL) == -1) {
		disconnect(cl, NULL);
		retry_later(cl, "watch", CS_ERR_NO_MEMORY);
		return;
	}
	cl->connected = 1;
	cl->reconnect_ms = RECONNECT_MIN_MS;
	if (cl->warned)
		log_info("cluster: corosync is back");
	cl->warned = 0;
	log_info("cluster: node %u joining group %.*s as corosync node %u",
	    cl->node, (int)cl->group.length, cl->group.value, cl->local_nodeid);
	/* Our own join comes as a confchg, which sends the HELLO. */
}

/* The key is the cluster link's (popd/forward.c loads it again): read
 * first, so that a node without a usable one refuses to start before it
 * joins the group. */
static int
check_key(const char *path, char *err, size_t errlen)
{
	struct clusterkey k;
	char              e[512];

	if (clusterkey_load(path, &k, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "cluster.key_file %s", e);
		return -1;
	}
	clusterkey_wipe(&k);
	return 0;
}

struct cluster *
cluster_start(struct event_base *base, const struct config_cluster *conf,
    const char *conf_file, char *err, size_t errlen)
{
	struct cluster *cl;
	size_t          i;

	if (check_key(conf->key_file, err, errlen) == -1)
		return NULL;
	if ((cl = calloc(1, sizeof(*cl))) == NULL ||
	    (cl->q = sendq_new(CLUSTER_QUEUE_MAX)) == NULL ||
	    (cl->retry_ev = evtimer_new(base, retry_cb, cl)) == NULL ||
	    (cl->reconnect_ev = evtimer_new(base, reconnect_cb, cl)) == NULL) {
		snprintf(err, errlen, "cluster: out of memory");
		cluster_stop(cl);
		return NULL;
	}
	cl->base = base;
	snprintf(cl->conf_file, sizeof(cl->conf_file), "%s", conf_file);
	cl->node = conf->node;
	cl->group.length = (uint32_t)strlen(conf->group);
	memcpy(cl->group.value, conf->group, cl->group.length);
	cl->address = conf->address;
	cl->port = conf->port;
	if (getrandom(&cl->incarnation, sizeof(cl->incarnation), 0) !=
	    sizeof(cl->incarnation))
		cl->incarnation = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	for (i = 0; i < conf->nmembers; i++) {
		cl->members[i].node = conf->members[i].node;
		cl->members[i].address = conf->members[i].address;
		if (conf->members[i].node == conf->node)
			cl->self = &cl->members[i];
	}
	cl->nmembers = conf->nmembers;
	cl->peer_log.interval_ms = 1000;
	cl->peer_log.burst = 10;
	cl->reconnect_ms = RECONNECT_MIN_MS;
	connect_corosync(cl);
	return cl;
}

void
cluster_stop(struct cluster *cl)
{
	if (cl == NULL)
		return;
	if (cl->retry_ev != NULL)
		disconnect(cl, NULL);
	if (cl->retry_ev != NULL)
		event_free(cl->retry_ev);
	if (cl->reconnect_ev != NULL)
		event_free(cl->reconnect_ev);
	sendq_free(cl->q);
	free(cl);
}

/* ------------------------------------------------------------ counters */

json_t *
cluster_json(const struct cluster *cl)
{
	const struct member *m;
	char                 a[ADDR_STRLEN], group[CPG_MAX_NAME_LENGTH + 1];
	json_t              *rows, *row, *j;
	size_t               i, joined = 0;
	time_t               now = time(NULL);

	if (cl == NULL || (rows = json_array()) == NULL)
		return NULL;
	for (i = 0; i < cl->nmembers; i++) {
		m = &cl->members[i];
		joined += m->state == M_JOINED;
		row = json_pack("{s:I,s:s,s:s,s:b,s:b,s:I,s:I,s:I,s:I}", "node",
		    (json_int_t)m->node, "address",
		    addr_ntop(&m->address, a, sizeof(a)), "state",
		    state_name(m->state), "joined", m->state == M_JOINED,
		    "self", m == cl->self, "since",
		    (json_int_t)(m->since != 0 ? m->since : 0), "since_s",
		    (json_int_t)(m->since != 0 ? now - m->since : -1), "joins",
		    (json_int_t)m->joins, "leaves", (json_int_t)m->leaves);
		if (row != NULL && m->state == M_JOINED)
			json_object_set_new(
			    row, "corosync_nodeid", json_integer(m->cs_nodeid));
		if (row != NULL && m->state == M_JOINED)
			json_object_set_new(row, "pid", json_integer(m->pid));
		if (row == NULL || json_array_append_new(rows, row) == -1) {
			json_decref(rows);
			return NULL;
		}
	}
	memcpy(group, cl->group.value, cl->group.length);
	group[cl->group.length] = '\0';
	j = json_pack("{s:I,s:s,s:s,s:I,s:b,s:I,s:I,s:I,s:I,s:o,"
		      "s:{s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I,s:I,s:I}}",
	    "node", (json_int_t)cl->node, "group", group, "address",
	    addr_ntop(&cl->address, a, sizeof(a)), "port", (json_int_t)cl->port,
	    "connected", cl->connected, "corosync_nodeid",
	    (json_int_t)(cl->connected ? cl->local_nodeid : 0),
	    "group_processes", (json_int_t)cl->ngroup, "members_joined",
	    (json_int_t)joined, "reconnects", (json_int_t)cl->reconnects,
	    "members", rows, "queue", "depth", (json_int_t)sendq_depth(cl->q),
	    "max", (json_int_t)sendq_max(cl->q), "overflows",
	    (json_int_t)sendq_overflows(cl->q), "try_again",
	    (json_int_t)cl->try_again, "messages", "sent", (json_int_t)cl->sent,
	    "received", (json_int_t)cl->received, "bad", (json_int_t)cl->bad,
	    "unknown_node", (json_int_t)cl->unknown_node, "conflicts",
	    (json_int_t)cl->conflicts);
	if (j != NULL && cl->cs != NULL)
		json_object_set_new(j, "sessions", csync_json(cl->cs));
	return j;
}
