/*
 * wanpairctl top's screen (topframe.c): what two samples of a daemon's
 * status, links and flows show.  Pure: no socket, no terminal, no clock;
 * top.c asks the daemon and draws.
 */
#ifndef WANPAIR_TOPFRAME_H
#define WANPAIR_TOPFRAME_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define TOP_KEY_MAX 192

/* A flow of a sample, by its site and 5-tuple, and its counters then. */
struct top_flow_seen {
	char     key[TOP_KEY_MAX];
	uint64_t bytes, packets;
};

/* The results of status, links and flows (the objects wanpairctl's
 * --json prints) and when they were asked for.  Zeroed: no sample. */
struct top_sample {
	json_t               *status, *links, *flows;
	struct top_flow_seen *seen; /* the flows, sorted by key */
	size_t                nseen;
	double                t; /* seconds, any monotonic origin */
};

/*
 * Fills s from the three results, which it takes (json_decref()s them on
 * failure too), taken at time t.  0, or -1 on allocation failure with s
 * zeroed.
 */
int top_sample_set(struct top_sample *s, json_t *status, json_t *links,
    json_t *flows, double t);
/* Releases what s holds and zeroes it; a zeroed s is fine. */
void top_sample_free(struct top_sample *s);

/*
 * One screen as text, malloc'd (the caller frees), its length in *lenp:
 * two header lines, the links with their rates and shares between prev
 * and cur (a '-' where prev is a zeroed sample), and the nflows busiest
 * flows between them.  live adds "q quits" to the header.  NULL on
 * allocation failure.
 */
char *top_frame(const struct top_sample *prev, const struct top_sample *cur,
    double interval, size_t nflows, int live, size_t *lenp);

#endif
