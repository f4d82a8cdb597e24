/* check_udpio's two halves: the pure one (check_udpio_pure.c) gives its
 * test case to the loopback one's main(). */
#ifndef WANPAIR_CHECK_UDPIO_H
#define WANPAIR_CHECK_UDPIO_H

#include <check.h>

#define N     100
#define DGRAM 1400

TCase *udpio_pure_tcase(void);

#endif
