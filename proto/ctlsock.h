/*
 * The local control socket's messages (DESIGN.md section 7): what
 * wanpairctl asks a running daemon and what it answers.
 *
 * The socket is a UNIX stream socket (/run/wanpair/socketd.sock,
 * /run/wanpair/popd.sock, mode 0660).  A client sends one request, a JSON
 * object on one line ended by '\n'; the daemon sends one reply, a JSON
 * object ended by '\n', and closes.  One line each way keeps the socket
 * usable by hand:
 *
 *   $ echo '{"command":"links"}' | socat - UNIX:/run/wanpair/socketd.sock
 *
 * Requests:
 *
 *   {"command":"status"}
 *   {"command":"links"}                     popd: [, "site":"branch-17"]
 *   {"command":"flows"[, "link":"WAN1"][, "limit":100][, "site":"..."]}
 *   {"command":"sites"[, "limit":100]}      popd only
 *   {"command":"cluster"}                   popd only
 *   {"command":"counters"}
 *   {"command":"reload"}
 *   {"command":"link", "link":"WAN1", "state":"down"|"up"}   socketd only
 *
 * Replies: {"ok":true,"result":{...}} or {"ok":false,"error":"..."}, the
 * error a sentence for the operator that quotes what was wrong.  What a
 * result holds is the daemon's business and is documented in
 * wanpairctl(8); this file only frames it.
 *
 * The parsers are pure and take bytes from anyone who can open the socket
 * (a local user in the wanpair group): unknown commands, unknown keys,
 * keys the command does not take and values out of range are refused
 * with a sentence in `err`, never guessed at.
 */
#ifndef WANPAIR_CTLSOCK_H
#define WANPAIR_CTLSOCK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* A request is small; anything longer is not one. */
#define CTLSOCK_MAX_REQUEST 4096
/*
 * The largest reply a client accepts.  `flows --limit` is capped below so
 * a reply stays well inside it: 100,000 rows of at most ~300 bytes.
 */
#define CTLSOCK_MAX_REPLY (64u * 1024 * 1024)
#define CTLSOCK_FLOWS_DEF 1000
#define CTLSOCK_FLOWS_MAX 100000
/* `sites` shows every site unless limited; a row is ~250 bytes plus its
 * LAN prefixes, so a million stays inside CTLSOCK_MAX_REPLY too. */
#define CTLSOCK_SITES_MAX 1000000
#define CTLSOCK_ERRLEN    512 /* > 64 + a quoted value (QUOTE_MAX) */

enum ctlsock_cmd {
	CTLSOCK_STATUS = 0,
	CTLSOCK_LINKS,
	CTLSOCK_FLOWS,
	CTLSOCK_SITES,
	CTLSOCK_COUNTERS,
	CTLSOCK_RELOAD,
	CTLSOCK_LINK,    /* admin state of one link */
	CTLSOCK_CLUSTER, /* popd's cluster members */
	CTLSOCK_NCMD
};

struct ctlsock_req {
	enum ctlsock_cmd cmd;
	char             link[PROTO_NAME_MAX]; /* "" if not given */
	char             site[PROTO_SITE_MAX]; /* "" if not given */
	uint32_t         limit; /* flows: 1..FLOWS_MAX; sites: 0 (all) or
				   1..SITES_MAX */
	int              up;    /* link: the admin state asked for */
};

/* The largest "limit" the command takes. */
unsigned ctlsock_limit_max(enum ctlsock_cmd);
/* "status", "links", ...; NULL for a value outside the enum. */
const char *ctlsock_cmd_name(enum ctlsock_cmd);

/*
 * One request line (the '\n' may be absent or included).  0 with *req
 * filled, or -1 with a sentence in err.  A missing limit is
 * CTLSOCK_FLOWS_DEF for flows, 0 (every site) for sites.
 */
int ctlsock_req_parse(const char *buf, size_t len, struct ctlsock_req *req,
    char *err, size_t errlen);
/* The request as a line ending in '\n'; malloc'd, the caller frees.
 * NULL on allocation failure. */
char *ctlsock_req_encode(const struct ctlsock_req *);

/* Reply objects for the daemon; each steals `result`.  NULL on
 * allocation failure. */
json_t *ctlsock_ok(json_t *result);
json_t *ctlsock_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* The reply as a line ending in '\n'; malloc'd, the caller frees. */
char *ctlsock_reply_encode(const json_t *reply);

/*
 * A reply written in parts, for results too long to build whole (the
 * daemon streams `sites` and `flows` a chunk of rows at a time).  The
 * bytes are those of one ordinary reply line, so a client cannot tell:
 *
 *   {"ok":true,"result":{<head's members>,"KEY":[row,row,...],<tail's>}}
 *
 * Each function hands its bytes to cb (jansson's json_dump_callback_t:
 * 0, or -1 to stop) and returns 0, or -1 if cb refused or a value could
 * not be encoded.  head and tail are objects (tail may be NULL); a row
 * is an object, `first` for the first row only.
 */
int ctlsock_stream_head(
    const json_t *head, const char *key, json_dump_callback_t cb, void *data);
int ctlsock_stream_row(
    const json_t *row, int first, json_dump_callback_t cb, void *data);
int ctlsock_stream_tail(
    const json_t *tail, json_dump_callback_t cb, void *data);

/*
 * A reply as the client read it (up to EOF).  0: *result is the result
 * object (the caller json_decref()s it).  1: the daemon refused; its
 * sentence is in err.  -1: the bytes are not a reply; err says why.
 */
int ctlsock_reply_parse(
    const char *buf, size_t len, json_t **result, char *err, size_t errlen);

#endif
