/*
 * Privilege drop for a daemon started as root without a service manager
 * (`-u user`): once the TUN device and every socket are open, become
 * `user` and keep only the capabilities the daemon still uses at run time
 * (CAP_NET_ADMIN: routes, the TUN device's MTU and flags).  Linux only.
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

#endif
