/*
 * Flows put straight on a link of an engine, and counted per link: what
 * the daemons' suites (check_popd, check_socketd) start from and check.
 */
#ifndef WANPAIR_CHECK_FLOWS_H
#define WANPAIR_CHECK_FLOWS_H

#include <sys/socket.h>

#include <check.h>
#include <string.h>

#include "config.h"
#include "engine.h"
#include "flow.h"
#include "tunnel.h"

/* Flow i: 10.17.0.i:1000+i <-> 203.0.113.1:443, TCP, put on `link`. */
static inline void
flows_on(struct engine *e, unsigned first, unsigned n, unsigned link)
{
	struct flow_key k;
	unsigned        i;

	for (i = first; i < first + n; i++) {
		memset(&k, 0, sizeof(k));
		k.family = AF_INET;
		k.proto = 6;
		k.a[0] = 10, k.a[1] = 17, k.a[2] = 0, k.a[3] = (uint8_t)i;
		k.b[0] = 203, k.b[1] = 0, k.b[2] = 113, k.b[3] = 1;
		k.pa = (uint16_t)(1000 + i);
		k.pb = 443;
		ck_assert_int_ge(
		    engine_flow_assign(e, &k, link, 1, now_ms()), 0);
	}
}

/* The flows on each link. */
static inline void
count(struct engine *e, uint64_t per_link[CONFIG_MAX_LINKS])
{
	memset(per_link, 0, CONFIG_MAX_LINKS * sizeof(*per_link));
	flow_table_count_links(engine_flows(e), per_link, CONFIG_MAX_LINKS);
}

#endif
