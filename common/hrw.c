#include "autoconf.h"

#include <pthread.h>
#include <stdint.h>

#include "hrw.h"

static uint32_t       log2tab[HRW_LOG_TAB + 1];
static pthread_once_t log2tab_once = PTHREAD_ONCE_INIT;

/*
 * log2(1 + i/256) in Q25, by repeated squaring in integers: the table,
 * and so every rendezvous decision, is bit-identical on every host.
 */
static void
log2tab_make(void)
{
	uint32_t *t = log2tab;
	unsigned  i, k;
	uint64_t  x, v;

	for (i = 0; i < HRW_LOG_TAB; i++) {
		x = (1ULL << 62) + ((uint64_t)i << 54); /* Q62 in [1, 2) */
		v = 0;
		for (k = 1; k <= HRW_LOG_Q + 1; k++) {
			x = (uint64_t)(((unsigned __int128)x * x) >> 62);
			if (x >= (1ULL << 63)) {
				x >>= 1;
				v |= 1ULL << (HRW_LOG_Q + 1 - k);
			}
		}
		t[i] = (uint32_t)((v + 1) >> 1);
	}
	t[HRW_LOG_TAB] = 1U << HRW_LOG_Q;
}

void
hrw_init(struct hrw *r)
{
	(void)pthread_once(&log2tab_once, log2tab_make);
	r->log2tab = log2tab;
}
