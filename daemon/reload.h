/*
 * What both daemons' reload shares: refusing a new configuration with
 * the same "FILE:LINE:COLUMN: PATH: message" lines config_load() writes,
 * for the things only the daemon can judge (a key that needs a restart,
 * a certificate that does not load, a link socket that cannot be
 * opened).  The position is that of the key in the new file, found with
 * jsonpos; a key the new file lacks (its default applies) is reported at
 * the closest enclosing value that exists.
 *
 * Pure: reads the file, never logs, never exits.  Ownership: lines are
 * appended to the caller's struct config_errors, freed with
 * config_errors_clear(); reload_where_free() frees the index.
 */
#ifndef WANPAIR_RELOAD_H
#define WANPAIR_RELOAD_H

#include <stdarg.h>

#include "config.h"

struct reload_where {
	const char     *file; /* not copied: must outlive this */
	struct jsonpos *pos;  /* NULL if the file could not be indexed */
};

/* Indexes `file` (already accepted by config_load()); never fails: without
 * an index, errors say line 0, column 0. */
void reload_where_init(struct reload_where *, const char *file);
void reload_where_free(struct reload_where *);

/*
 * Appends "FILE:LINE:COLUMN: PATH: message" to errs.  path is dotted with
 * indices, as config errors write it ("pop.address", "links[2].device").
 * Returns -1 if the line could not be allocated (it is then lost), else 0.
 */
int reload_refuse(struct reload_where *, struct config_errors *,
    const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * The keys both daemons bind at start: the endpoint (`endpoint_key` is
 * "pop" or "listen"), tun.name, tun.mtu, flows.max, offload and popd's
 * "cluster" (its first key that differs).  One
 * refusal, "changing it needs a restart", per key that differs; -1 if
 * any.
 */
int reload_fixed_keys(const struct config *o, const struct config *n,
    const char *endpoint_key, struct reload_where *, struct config_errors *);

#endif
