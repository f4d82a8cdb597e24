/*
 * Certificates for the suites that need real ones: tests/lab/mkcerts' CA,
 * pop and site certificates in a fresh directory under /tmp, made once
 * per suite (tcase_add_unchecked_fixture(tc, make_pki, remove_pki)).
 * A suite without the openssl command skips: its main() is
 * `return check_run_pki("check_x", x_suite);`.
 */
#ifndef WANPAIR_CHECK_PKI_H
#define WANPAIR_CHECK_PKI_H

#include <sys/wait.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"

/* mkcerts' output: the directory. */
#define PKI_TEMPLATE "/tmp/check_pki.XXXXXX"
static char pki[sizeof(PKI_TEMPLATE)];

/* PKI_DIR/name, in one of four buffers: valid for four calls. */
static inline const char *
path(const char *name)
{
	static char buf[4][PATH_MAX];
	static int  next;
	char       *p = buf[next++ % 4];

	(void)snprintf(p, PATH_MAX, "%s/%s", pki, name);
	return p;
}

static inline void
remove_pki(void)
{
	char cmd[PATH_MAX + 16];

	if (pki[0] == '\0')
		return;
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pki);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", pki);
}

static inline void
make_pki(void)
{
	const char *top = getenv("top_srcdir");
	char        script[PATH_MAX];
	pid_t       pid;
	int         status;

	if (top == NULL || *top == '\0')
		top = "..";
	(void)snprintf(script, sizeof(script), "%s/tests/lab/mkcerts", top);
	memcpy(pki, PKI_TEMPLATE, sizeof(pki));
	if (mkdtemp(pki) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	if ((pid = fork()) == -1) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		execl("/bin/sh", "sh", script, pki, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "%s %s failed\n", script, pki);
		remove_pki();
		exit(1);
	}
}

/*
 * check_run() of the suite, or the one reason to skip (77, Automake's
 * SKIP): no openssl command to make the certificates with.
 */
static inline int
check_run_pki(const char *prog, Suite *(*suite)(void))
{
	if (system("command -v openssl >/dev/null 2>&1") != 0) {
		fprintf(stderr,
		    "%s: SKIP: the openssl command is not installed "
		    "(needed by tests/lab/mkcerts)\n",
		    prog);
		return 77;
	}
	return check_run(suite());
}

#endif
