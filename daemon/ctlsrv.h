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
 * Answers one request with a reply object made by ctlsock_ok() or
 * ctlsock_error(); ctlsrv sends and frees it.  NULL means out of memory
 * (the client gets an error saying so).
 */
typedef json_t *(*ctlsrv_handler)(void *arg, const struct ctlsock_req *);

/* Clients served at once; one more takes the oldest one's place. */
#define CTLSRV_MAX_CLIENTS 16
/* A client has this long to send its request and take its reply. */
#define CTLSRV_TIMEOUT_S 10

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

/*
 * Both daemons answer `flows` the same way: one row per flow, the site's
 * end first (the address inside `lan`, else the initiator), so one
 * conversation reads the same on both.  Appends to rows the flows of one
 * table whose link is `link` (or any, if link < 0) until rows holds
 * `limit`; returns how many matched in all, shown or not.  names[i] is
 * link i's name; site, if not NULL, goes into each row (popd).
 */
struct flow_table;
struct wp_prefix;
size_t ctlsrv_flows(json_t *rows, struct flow_table *, int link,
    const char *const *names, size_t nnames, const struct wp_prefix *lan,
    size_t nlan, const char *site, size_t limit, uint64_t now_ms);
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
