/*
 * wanpairctl replay: run a capture through the daemons' own flow table and
 * balancing code, on the capture's clock, and report what each link got.
 *
 * Kept apart from the command line so the pcap fuzz target drives exactly
 * this path.  Usage: replay_init(), replay_pcap() for the capture,
 * replay_finish(), then print; replay_free() always.
 */
#ifndef WANPAIR_REPLAY_H
#define WANPAIR_REPLAY_H

#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "engine.h"

struct replay_fail {
	char     link[CONFIG_NAME_MAX];
	int      index; /* link index, set by replay_init */
	double   at_s;  /* seconds after the first packet */
	int      applied;
	uint64_t moved;
};

struct replay_link {
	uint64_t flows; /* new flows assigned to the link */
	uint64_t packets;
	uint64_t bytes;
	uint64_t moved_in;
	uint64_t moved_out;
};

struct replay_flow {
	struct flow_key key;
	uint64_t        packets;
	uint64_t        bytes;
	uint8_t         link;
	uint8_t         a_initiator;
	uint8_t         profile; /* FLOW_PROFILE_NONE: a static route */
	uint8_t         rule;    /* FLOW_RULE_NONE: the route table's */
};

struct replay {
	const struct config *conf;
	enum balance_side    side;
	struct engine       *engine;
	struct replay_fail  *fails;
	size_t               nfails;
	struct replay_link   links[CONFIG_MAX_LINKS];
	uint64_t             frames;  /* frames read from the capture */
	uint64_t             packets; /* IP packets put on a link */
	uint64_t             bytes;
	uint64_t             dropped; /* flow's link down, no live link */
	uint64_t             rule_flows[RULES_MAX]; /* new flows by rule */
	uint64_t             table_flows;           /* ... by the route table */
	uint64_t             skipped[PKT_NREASONS];
	uint64_t             first_ms, now_ms;
	int                  started;
	int                  want_flows;
	struct replay_flow  *flow_list;
	size_t               nflow_list, flow_list_cap;
	int                  oom;
};

/*
 * Resolves the --fail link names against the config.  Returns 0, or -1
 * with a message in err (unknown link, allocation).  `fails` must outlive
 * the replay.
 */
int replay_init(struct replay *, const struct config *, enum balance_side,
    struct replay_fail *fails, size_t nfails, int want_flows, char *err,
    size_t errlen);
/* Reads every frame.  Returns 0, or -1 with a message in err (a truncated
 * or unreadable capture, an unsupported link type). */
int replay_pcap(struct replay *, pcap_t *, char *err, size_t errlen);
/* Ends the replay: flows still open are collected for the flow list. */
void replay_finish(struct replay *);
void replay_free(struct replay *);

void replay_print_table(const struct replay *, FILE *, const char *name);
/* Returns 0, or -1 if the JSON could not be built or written. */
int replay_print_json(const struct replay *, FILE *);

#endif
