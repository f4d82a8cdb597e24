/*
 * Privilege drop for a daemon started as root without a service manager
 * (`-u user`): once the TUN device and every socket are open, become
 * `user` and keep only the capabilities the daemon still uses at run time
 * (popd's CAP_NET_ADMIN: the sites' routes; socketd keeps none).  Linux
 * only.
 *
 * Returns 0 / -1; on -1 a message quoting the user goes into err (always
 * NUL-terminated) and the process may be half-changed: the caller must
 * exit.  Nothing here prints or exits.
 */
#ifndef WANPAIR_PRIVDROP_H
#define WANPAIR_PRIVDROP_H

#include <stddef.h>

/*
 * caps: the capability numbers (CAP_NET_ADMIN, ...) to keep, permitted and
 * effective; every other one leaves the permitted, effective, inheritable
 * and bounding sets.  The process also gets no_new_privs, and the
 * function checks that root cannot be regained (setuid(0) fails) and that
 * exactly `caps` remain.
 */
int privdrop(
    const char *user, const int *caps, size_t ncaps, char *err, size_t errlen);

/*
 * Gives up one capability for good, whoever we run as: it leaves the
 * effective, permitted, inheritable and ambient sets, and the bounding set
 * too if CAP_SETPCAP is effective (root; a unit's user cannot, and needs
 * not: no_new_privs is set, and nothing is exec'd).  For what a daemon
 * needs only while it starts (socketd's CAP_NET_ADMIN: its TUN device).
 * 0, or -1 with err set.
 */
int privdrop_cap_drop(int cap, char *err, size_t errlen);
/* The calling thread gives up every capability, for good (a data-plane
 * worker needs none: its fds are open): 0, or -1 with errno. */
int privdrop_thread(void);

#endif
