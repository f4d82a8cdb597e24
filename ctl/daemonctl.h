/*
 * wanpairctl's commands that talk to a running daemon (daemonctl.c).
 */
#ifndef WANPAIR_DAEMONCTL_H
#define WANPAIR_DAEMONCTL_H

/*
 * argv[0] is the command (status, links, flows, sites, counters, reload,
 * link), the rest its arguments.  sockopt is -s's argument (socketd,
 * popd or a path) or NULL; json is 1 for --json given before the
 * command.  Returns the exit status, or -1 if argv[0] is not one of
 * these commands.
 */
int daemonctl(int argc, char *argv[], const char *sockopt, int json);

#endif
