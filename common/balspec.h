/*
 * A balancing spec: everything an engine (engine.h) and its balance
 * (balance.h) are built from, and nothing else.  socketd and wanpairctl
 * replay fill it from their config (balance_spec_from_config); popd fills
 * it per session from the links the site's HELLO announces and its own
 * profiles, with no config of the site's.
 *
 * Weights are already those of one side: a link's is what it weighs on
 * the side the spec was made for (its configured weight, else its up_mbps
 * for socketd, its down_mbps for popd); a route's is its own, or 0 for
 * its link's.  Only ratios matter.
 *
 * Ownership: the arrays belong to the spec and balance_spec_clear() frees
 * them; engine_new(), balance_new() and the reconfigure calls copy what
 * they need, so a spec may be cleared as soon as they return.
 */
#ifndef WANPAIR_BALSPEC_H
#define WANPAIR_BALSPEC_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "flow.h"
#include "rules.h"

#define BALANCE_MAX_LINKS 32
#define BALANCE_NAME_MAX  32 /* link names, with NUL */
/* The metric of the routes balance_spec_default_routes() adds, as of the
 * loader's: wanpair.json(5) documents it as the default of a route. */
#define BALANCE_METRIC_DEFAULT 100

enum balance_side {
	SIDE_UP = 0, /* socketd: LAN -> PoP, weights from up_mbps */
	SIDE_DOWN    /* popd: PoP -> site, weights from down_mbps */
};

enum balance_alg {
	BAL_RATIO = 0,      /* smooth weighted round robin over new flows */
	BAL_FLOW,           /* weighted rendezvous hash of the 5-tuple */
	BAL_SOURCE_IP,      /* weighted rendezvous hash of the source */
	BAL_DESTINATION_IP, /* weighted rendezvous hash of the destination */
	BAL_ROUND_ROBIN,    /* weighted round robin in runs */
	BAL_RANDOM,         /* weighted random */
	BAL_THROUGHPUT,     /* least measured throughput / weight */
	BAL_USAGE           /* fewest active flows / weight */
};

enum sticky_mode {
	STICKY_NONE = 0,
	STICKY_SOURCE_IP,
	STICKY_SOURCE_NETWORK,
	STICKY_DESTINATION_IP,
	STICKY_DESTINATION_NETWORK
};

enum keepalive_mode {
	KEEPALIVE_DEADLINE = 0, /* group lives timeout_s after creation */
	KEEPALIVE_FOREVER,      /* until evicted by max_groups */
	KEEPALIVE_TIMEOUT,      /* timeout_s after the group's last new flow */
	KEEPALIVE_USAGE         /* while it has active flows, then timeout_s */
};

enum failback_mode {
	FAILBACK_NEW_FLOWS = 0, /* existing flows stay where they are */
	FAILBACK_REBALANCE      /* flows return to the weight ratio */
};

struct balance_link_spec {
	char     name[BALANCE_NAME_MAX]; /* seeds `flow` hashing: both ends
					    must spell it alike */
	uint32_t weight;                 /* on this side */
};

struct balance_profile_spec {
	enum balance_alg    algorithm;
	enum sticky_mode    stickiness;
	uint8_t             prefix4; /* *-network: the group's IPv4 prefix */
	uint8_t             prefix6; /* ... and IPv6 prefix length */
	enum keepalive_mode keepalive;
	uint32_t            timeout_s;
	uint32_t            max_groups;
};

#define BALANCE_ROUTE_STATIC (-1) /* profile: takes no part in balancing */

struct balance_route_spec {
	struct wp_prefix network;
	unsigned         link; /* index into links[] */
	uint32_t         metric;
	uint32_t         weight;  /* 0: the link's */
	int              profile; /* index into profiles[], or STATIC */
};

struct balance_spec {
	struct balance_link_spec links[BALANCE_MAX_LINKS];
	unsigned                 nlinks;

	struct balance_profile_spec *profiles;
	size_t                       nprofiles;

	/* In config order: it breaks ties of prefix and metric, and orders
	 * the links of a route set (round-robin turns, `throughput` ties). */
	struct balance_route_spec *routes;
	size_t                     nroutes;

	/* Application rules (rules.h), their profiles indexes into
	 * profiles[]: a reference, NULL for none. */
	struct rule_set *rules;

	enum failback_mode   failback;
	uint32_t             flows_max; /* the flow table's size, fixed */
	struct flow_timeouts flow_timeouts;
};

struct config;

/*
 * Fills *spec from a validated config for one side: its links with their
 * weight on that side, profiles, routes (the loader's default routes if
 * none were configured), failback and flows.  Returns 0, or -1 on
 * allocation failure with *spec empty.  Free with balance_spec_clear().
 */
int balance_spec_from_config(
    struct balance_spec *spec, const struct config *, enum balance_side);
/*
 * One 0.0.0.0/0 and one ::/0 route per link in `profile`, then the same
 * in each other profile a rule names (so that a rule's profile balances
 * over every link), as the loader adds them to a config without routes
 * (DESIGN.md section 5); popd calls it for the links a HELLO announces.
 * Does nothing if the spec has routes or no links.  Returns 0, or -1 on
 * allocation failure.
 */
int balance_spec_default_routes(struct balance_spec *spec, int profile);
/* Frees the arrays and zeroes *spec; safe on a zeroed spec. */
void balance_spec_clear(struct balance_spec *spec);

#endif
