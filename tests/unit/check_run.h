/*
 * The main() of every check suite: run it with CK_NORMAL (Check prints
 * its "Checks: N, Failures: F, Errors: E" line, which quickstart counts)
 * and exit non-zero if any test failed.
 */
#ifndef WANPAIR_CHECK_RUN_H
#define WANPAIR_CHECK_RUN_H

#include <check.h>
#include <stdlib.h>

static inline int
check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int      failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
