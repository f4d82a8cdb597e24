/*
 * The counters in the log (SIGUSR1, and at stop): the same object that
 * `wanpairctl counters` prints and the Prometheus endpoint renders
 * (metrics.h), as lines an operator reads.  One line per object: its path
 * (keys, and the "name" of array elements), then its scalar members in
 * order, "key value":
 *
 *	links WAN1: state up, cause none, ..., new_flows 5, ...
 *	sites branch-1 links WAN2: state up, tx_packets 10, ...
 *	drops: no_session 0, link_scoped 0, ...
 */
#ifndef WANPAIR_COUNTLOG_H
#define WANPAIR_COUNTLOG_H

#include <jansson.h>
#include <stddef.h>

/* The lines for c, each to emit(line, arg); then log_info() is the sink. */
void countlog_render(
    const json_t *c, void (*emit)(const char *, void *), void *arg);
/* countlog_render() to the log. */
void countlog_log(const json_t *c);

#endif
