/*
 * The order matters (capabilities(7), "Effect of user ID changes on
 * capabilities"): the bounding set is trimmed while we still hold
 * CAP_SETPCAP; PR_SET_KEEPCAPS makes the permitted set survive the
 * setresuid() away from uid 0 (the effective set is cleared regardless);
 * capset() then narrows permitted and effective to what we keep.  No
 * libcap: two structures and one system call do not justify a dependency.
 */
#include "autoconf.h"

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <linux/capability.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "privdrop.h"

/* Not in every libc's <sys/prctl.h> (Linux 4.3). */
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT           47
#define PR_CAP_AMBIENT_IS_SET    1
#define PR_CAP_AMBIENT_LOWER     3
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

static int
caps_get(uint64_t *eff, uint64_t *prm, uint64_t *inh)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct   d[_LINUX_CAPABILITY_U32S_3];

	memset(&hdr, 0, sizeof(hdr));
	memset(d, 0, sizeof(d));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capget, &hdr, d) == -1)
		return -1;
	*eff = (uint64_t)d[1].effective << 32 | d[0].effective;
	*prm = (uint64_t)d[1].permitted << 32 | d[0].permitted;
	*inh = (uint64_t)d[1].inheritable << 32 | d[0].inheritable;
	return 0;
}

static int
caps_set3(uint64_t eff, uint64_t prm, uint64_t inh)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct   d[_LINUX_CAPABILITY_U32S_3];

	memset(&hdr, 0, sizeof(hdr));
	memset(d, 0, sizeof(d));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	d[0].effective = (uint32_t)eff;
	d[1].effective = (uint32_t)(eff >> 32);
	d[0].permitted = (uint32_t)prm;
	d[1].permitted = (uint32_t)(prm >> 32);
	d[0].inheritable = (uint32_t)inh;
	d[1].inheritable = (uint32_t)(inh >> 32);
	return (int)syscall(SYS_capset, &hdr, d);
}

static int
caps_set(uint64_t keep)
{
	return caps_set3(keep, keep, 0);
}

int
privdrop_thread(void)
{
	/* Capabilities are the thread's own (capset(2) and the bounding
	 * set act on the calling thread): a data-plane thread started
	 * before the process dropped its own would keep them. */
	if (caps_set3(0, 0, 0) == -1)
		return -1;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

int
privdrop_cap_drop(int cap, char *err, size_t errlen)
{
	uint64_t bit, eff, prm, inh;

	if (cap < 0 || cap > 63) {
		snprintf(err, errlen, "capability %d out of range", cap);
		return -1;
	}
	bit = 1ULL << cap;
	if (caps_get(&eff, &prm, &inh) == -1) {
		snprintf(err, errlen, "capget: %s", strerror(errno));
		return -1;
	}
	/* The bounding set first, while CAP_SETPCAP (root's) may still be
	 * effective; without it (a unit's user) the set cannot shrink, and
	 * need not: nothing is exec'd, and no_new_privs holds. */
	if ((eff & (1ULL << CAP_SETPCAP)) != 0 &&
	    prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
	    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1) {
		snprintf(err, errlen,
		    "cannot drop capability %d from the bounding set: %s", cap,
		    strerror(errno));
		return -1;
	}
	/* Lowering the ambient set needs no privilege; EINVAL: a kernel
	 * before 4.3, which has none. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, cap, 0, 0) == -1 &&
	    errno != EINVAL) {
		snprintf(err, errlen, "PR_CAP_AMBIENT: %s", strerror(errno));
		return -1;
	}
	/* Removing capabilities is always allowed (capabilities(7)). */
	if (caps_set3(eff & ~bit, prm & ~bit, inh & ~bit) == -1) {
		snprintf(err, errlen, "capset: %s", strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(
		    err, errlen, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -1;
	}
	if (caps_get(&eff, &prm, &inh) == -1 ||
	    ((eff | prm | inh) & bit) != 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1) {
		snprintf(err, errlen, "capability %d is still held", cap);
		return -1;
	}
	return 0;
}

int
privdrop(
    const char *user, const int *caps, size_t ncaps, char *err, size_t errlen)
{
	struct passwd *pw;
	uint64_t       keep = 0, eff, prm, inh;
	uid_t          uid;
	gid_t          gid;
	size_t         i;
	int            c;

	for (i = 0; i < ncaps; i++) {
		if (caps[i] < 0 || caps[i] > 63) {
			snprintf(
			    err, errlen, "capability %d out of range", caps[i]);
			return -1;
		}
		keep |= 1ULL << caps[i];
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "user \"%s\": %s", user,
		    errno != 0 ? strerror(errno) : "no such user");
		return -1;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (uid == 0) {
		snprintf(err, errlen,
		    "user \"%s\" has uid 0: running as it drops nothing", user);
		return -1;
	}
	if (geteuid() != 0) {
		snprintf(err, errlen,
		    "cannot switch to user \"%s\": not running as root", user);
		return -1;
	}

	/* PR_CAPBSET_READ fails with EINVAL past the kernel's last
	 * capability, which ends the walk. */
	for (c = 0; c < 64 && prctl(PR_CAPBSET_READ, c, 0, 0, 0) >= 0; c++) {
		if ((keep & (1ULL << c)) != 0)
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == -1) {
			snprintf(err, errlen,
			    "user \"%s\": cannot drop capability %d from the "
			    "bounding set: %s",
			    user, c, strerror(errno));
			return -1;
		}
	}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == -1) {
		snprintf(err, errlen, "user \"%s\": PR_SET_KEEPCAPS: %s", user,
		    strerror(errno));
		return -1;
	}
	/* Only the user's primary group, as OpenBSD's daemons do: root's
	 * supplementary groups must not follow us. */
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1) {
		snprintf(err, errlen, "cannot become user \"%s\" (uid %lu): %s",
		    user, (unsigned long)uid, strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) == -1 || caps_set(keep) == -1) {
		snprintf(err, errlen,
		    "user \"%s\": cannot keep capabilities: %s", user,
		    strerror(errno));
		return -1;
	}
	/* Ambient capabilities would survive an execve(); we never exec,
	 * but nothing we were started with may outlive the drop.  EINVAL:
	 * a kernel before 4.3, which has none. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL) {
		snprintf(err, errlen, "user \"%s\": PR_CAP_AMBIENT: %s", user,
		    strerror(errno));
		return -1;
	}
	/* No set-user-ID or file-capability program can give anything back. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(err, errlen, "user \"%s\": PR_SET_NO_NEW_PRIVS: %s",
		    user, strerror(errno));
		return -1;
	}

	/* Trust, but verify: the kernel must now refuse to give root back,
	 * and exactly `caps` must be left. */
	if (setuid(0) != -1 || setgid(0) != -1) {
		snprintf(
		    err, errlen, "user \"%s\": root could be regained", user);
		return -1;
	}
	if (getuid() != uid || geteuid() != uid || getgid() != gid ||
	    getegid() != gid) {
		snprintf(err, errlen, "user \"%s\": ids did not change", user);
		return -1;
	}
	if (caps_get(&eff, &prm, &inh) == -1) {
		snprintf(err, errlen, "user \"%s\": capget: %s", user,
		    strerror(errno));
		return -1;
	}
	if (eff != keep || prm != keep || inh != 0) {
		snprintf(err, errlen,
		    "user \"%s\": capabilities are %#llx, want %#llx", user,
		    (unsigned long long)prm, (unsigned long long)keep);
		return -1;
	}
	return 0;
}
