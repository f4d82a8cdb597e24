/*
 * wanpairctl top: the live view of a daemon's links and flows (top.c).
 */
#ifndef WANPAIR_TOP_H
#define WANPAIR_TOP_H

/*
 * argv[0] is "top", the rest its options (-d seconds, -n flows); sockopt
 * is wanpairctl's -s argument or NULL.  Returns the exit status: 0 (q, or
 * the one frame written when stdout is not a terminal), 1 (the daemon did
 * not answer, with a line on stderr), 2 (a usage error).  SIGINT, SIGTERM
 * and SIGHUP end it too: the terminal put back, it dies of the signal.
 */
int top_main(int argc, char *argv[], const char *sockopt);

#endif
