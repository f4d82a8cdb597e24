/*
 * The daemons' local control socket (DESIGN.md section 7): a UNIX stream
 * socket on which wanpairctl sends one request line and reads one reply
 * line (proto/ctlsock.h).  This file owns the socket and its clients; the
 * daemon owns the answers, through one handler.
 *
 * The socket is created mode 0660 (owner and group: the daemon's user
 * and group), so access is a matter of file permissions.  A path where a
 * daemon already answers is refused, a stale one (nobody listening) is
 * replaced.  Clients are bounded in number, in request size and in time,
 * so a local client that stalls or floods cannot hold the daemon; at the
 * bound a new client closes the oldest, so one that reconnects in a loop
 * cannot keep an operator out either.
 */
#ifndef WANPAIR_CTLSRV_H
#define WANPAIR_CTLSRV_H

#include <event2/event.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctlsock.h"

struct ctlsrv;

/*
 * Rows of a reply made a chunk at a time (sites, flows: thousands to
 * millions of rows), so that no turn of the event loop builds or sends
 * the whole of it.  ctlsrv asks for the next chunk only when the
 * client's output has drained below CTLSRV_OUT_LOW, one chunk per turn:
 * a slow reader holds at most CTLSRV_OUT_LOW plus one chunk of memory,
 * and other clients and the daemon's own events are served between
 * chunks.  The cursor therefore lives across turns in which the tables
 * change: what it guarantees is the command's to say (wanpairctl(8)).
 */
struct ctlsrv_rows {
	const char *key; /* the result's member holding the rows */
	/*
	 * Appends at most `max` rows (objects) to the array `rows`: 1 more
	 * may follow, 0 that was the last, -1 out of memory (the client is
	 * closed, its reply cut short).
	 */
	int (*next)(void *cur, json_t *rows, size_t max);
	/* Members after the rows ("shown"): a new object, or NULL. */
	json_t *(*tail)(void *cur);
	void (*free)(void *cur); /* the cursor, once the reply is over */
	void *cur;
};

/*
 * Answers one request with a reply object made by ctlsock_ok() or
 * ctlsock_error(); ctlsrv sends and frees it.  NULL means out of memory
 * (the client gets an error saying so).  A handler that fills *rows
 * (zeroed beforehand) answers in chunks: its reply's result holds the
 * members that go before the rows.  If the reply is not ok (or NULL),
 * ctlsrv frees the cursor and sends the error.
 */
typedef json_t *(*ctlsrv_handler)(
    void *arg, const struct ctlsock_req *, struct ctlsrv_rows *rows);

/* Clients served at once; one more takes the oldest one's place. */
#define CTLSRV_MAX_CLIENTS 16
/* A client has this long to send its request and take its reply, or,
 * during a reply sent in chunks, to take the next chunk. */
#define CTLSRV_TIMEOUT_S 10
/* Rows in a chunk of a streamed reply (struct ctlsrv_rows). */
#define CTLSRV_CHUNK_ROWS 256
/* The next chunk is made once a client's output is below this. */
#define CTLSRV_OUT_LOW (64 * 1024)

/*
 * Binds and listens on path.  NULL with a sentence in err (quoting the
 * path) if it cannot.  ctlsrv_close() stops serving, removes the socket
 * file and frees.
 */
struct ctlsrv *ctlsrv_open(struct event_base *, const char *path,
    ctlsrv_handler, void *arg, char *err, size_t errlen);
void           ctlsrv_close(struct ctlsrv *);
/*
 * Hands the socket file to the user a daemon started as root is about to
 * become (-u), so that the user's group reaches it.  Removing it at stop
 * needs write access to its directory: a stale socket left behind is
 * replaced at the next start.  0, or -1 with errno.
 */
int ctlsrv_chown(struct ctlsrv *, uid_t, gid_t);
/* Clients closed unanswered to make room for a newer one. */
uint64_t ctlsrv_evicted(const struct ctlsrv *);
/* The most bytes one client's output has held: the bound at work. */
uint64_t ctlsrv_out_peak(const struct ctlsrv *);
/* The longest a handler or one chunk took, in microseconds: how long
 * the control socket held the event loop in one turn at most. */
uint64_t ctlsrv_turn_max_us(const struct ctlsrv *);
/* Replies sent in chunks. */
uint64_t ctlsrv_streams(const struct ctlsrv *);

/*
 * Both daemons answer `flows` the same way: one row per flow, the site's
 * end first (the address inside `lan`, else the initiator), so one
 * conversation reads the same on both.  A table's part of the answer:
 * names[i] is link i's name; site, if not NULL, goes into each row
 * (popd).
 */
struct flow_table;
struct wp_prefix;
struct config_profile;
struct rule;
struct ctlsrv_flowsrc {
	struct flow_table      *t;
	const char *const      *names;
	size_t                  nnames;
	const struct wp_prefix *lan;
	size_t                  nlan;
	const char             *site;
	/* The profiles and rules of the config the engine balances by
	 * (flow.profile and flow.rule index them); NULL/0: shown as null. */
	const struct config_profile *profiles;
	size_t                       nprofiles;
	const struct rule           *rules;
	size_t                       nrules;
};
/* Where a walk over one table stands; zeroed: at its start. */
struct ctlsrv_flowpos {
	uint64_t serial; /* flow_table_serial(), 0 before the first step */
	uint64_t pos;    /* flow_table_walk()'s */
};
/*
 * One step of a table's flows on `link` (or any, if link < 0): about
 * `want` flows visited (flow_table_walk()), those that match appended
 * to rows as long as fewer than `room` were added; the rest of the step
 * is dropped, so room is for the caller's limit, at which the answer
 * ends.  1 if the table has more, 0 if it is done, -1 out of memory.
 * A table other than the one the walk began on (an engine made anew)
 * is done: its flows are newer than the walk, and the position means
 * nothing in it.
 */
int ctlsrv_flows_step(json_t *rows, size_t want, size_t room,
    const struct ctlsrv_flowsrc *, int link, struct ctlsrv_flowpos *,
    uint64_t now_ms);
/*
 * The answer to `reload`: rc and errs as the daemon's reload function
 * left them (0: applied, -1: refused with one line per error).  Clears
 * errs.
 */
struct config_errors;
json_t *ctlsrv_reload_answer(
    int rc, struct config_errors *errs, const char *file);
/* "tcp", "udp", "icmp", "ipv6-icmp" or the number as a string. */
const char *ctlsrv_proto_name(uint8_t proto, char buf[4]);

#endif
