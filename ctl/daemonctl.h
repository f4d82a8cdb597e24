/*
 * wanpairctl's commands that talk to a running daemon (daemonctl.c).
 */
#ifndef WANPAIR_DAEMONCTL_H
#define WANPAIR_DAEMONCTL_H

#include <jansson.h>
#include <stddef.h>

#include "ctlsock.h"

/*
 * argv[0] is the command (status, links, flows, sites, counters, reload,
 * link), the rest its arguments.  sockopt is -s's argument (socketd,
 * popd or a path) or NULL; json is 1 for --json given before the
 * command.  Returns the exit status, or -1 if argv[0] is not one of
 * these commands.
 */
int daemonctl(int argc, char *argv[], const char *sockopt, int json);

/*
 * The control socket to ask for cmd: -s's argument (sockopt, or NULL:
 * the one daemon running here).  NULL, with a line on stderr, when both
 * daemons run and sockopt does not choose.
 */
const char *daemonctl_socket(const char *sockopt, enum ctlsock_cmd cmd);

/*
 * One request to the daemon at path, its reply read whole (at most
 * CTLSOCK_MAX_REPLY bytes, 15 s without a byte ends the wait).  The
 * result object (the caller json_decref()s it), or NULL with the reason
 * in err: a sentence for "wanpairctl: " to precede, on several lines
 * when the daemon refused with several.
 */
json_t *daemonctl_ask(
    const char *path, const struct ctlsock_req *req, char *err, size_t errlen);

#endif
