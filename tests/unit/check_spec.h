/*
 * The suites describe balancing as users write it, in a JSON config;
 * these helpers make the engine's spec from it as socketd and wanpairctl
 * replay do (balance_spec_from_config), so every assertion sees what a
 * daemon started from that config would do.
 */
#ifndef WANPAIR_CHECK_SPEC_H
#define WANPAIR_CHECK_SPEC_H

#include "balance.h"
#include "balspec.h"
#include "config.h"
#include "engine.h"

/* NULL if out of memory, like balance_new(). */
static inline struct balance *
balance_conf(const struct config *c, enum balance_side side)
{
	struct balance_spec spec;
	struct balance     *b;

	if (balance_spec_from_config(&spec, c, side) == -1)
		return NULL;
	b = balance_new(&spec);
	balance_spec_clear(&spec);
	return b;
}

static inline struct engine *
engine_conf(const struct config *c, enum balance_side side)
{
	struct balance_spec spec;
	struct engine      *e;

	if (balance_spec_from_config(&spec, c, side) == -1)
		return NULL;
	e = engine_new(&spec);
	balance_spec_clear(&spec);
	return e;
}

/* engine_reconfigure() to c, for the upstream engines the suites reload. */
static inline int
reconfigure_conf(struct engine *e, const struct config *c, const int *link_map,
    uint64_t now_ms, balance_move_cb cb, void *arg, size_t *moved)
{
	struct balance_spec spec;
	int                 rc;

	if (balance_spec_from_config(&spec, c, SIDE_UP) == -1)
		return -1;
	rc = engine_reconfigure(e, &spec, link_map, now_ms, cb, arg, moved);
	balance_spec_clear(&spec);
	return rc;
}

#endif
