#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"

static const char *const algorithm_names[] = {
	[BAL_RATIO] = "ratio",
	[BAL_FLOW] = "flow",
	[BAL_SOURCE_IP] = "source-ip",
	[BAL_DESTINATION_IP] = "destination-ip",
	[BAL_ROUND_ROBIN] = "round-robin",
	[BAL_RANDOM] = "random",
	[BAL_THROUGHPUT] = "throughput",
	[BAL_USAGE] = "usage",
};

static const char *const stickiness_names[] = {
	[STICKY_NONE] = "none",
	[STICKY_SOURCE_IP] = "source-ip",
	[STICKY_SOURCE_NETWORK] = "source-network",
	[STICKY_DESTINATION_IP] = "destination-ip",
	[STICKY_DESTINATION_NETWORK] = "destination-network",
};

static const char *const keepalive_names[] = {
	[KEEPALIVE_DEADLINE] = "deadline",
	[KEEPALIVE_FOREVER] = "forever",
	[KEEPALIVE_TIMEOUT] = "timeout",
	[KEEPALIVE_USAGE] = "usage",
};

const char *
config_algorithm_name(enum balance_alg a)
{
	return (size_t)a < sizeof(algorithm_names) / sizeof(algorithm_names[0])
	    ? algorithm_names[a] : "?";
}

const char *
config_stickiness_name(enum sticky_mode s)
{
	return (size_t)s < sizeof(stickiness_names) /
	    sizeof(stickiness_names[0]) ? stickiness_names[s] : "?";
}

const char *
config_keepalive_name(enum keepalive_mode k)
{
	return (size_t)k < sizeof(keepalive_names) /
	    sizeof(keepalive_names[0]) ? keepalive_names[k] : "?";
}

uint32_t
config_link_weight(const struct config *conf, size_t link, int downstream)
{
	const struct config_link *l = &conf->links[link];

	if (l->weight != 0)
		return l->weight;
	return downstream ? l->down_mbps : l->up_mbps;
}

uint32_t
config_route_weight(const struct config *conf, const struct config_route *r,
    int downstream)
{
	if (r->weight != 0)
		return r->weight;
	return config_link_weight(conf, (size_t)r->link, downstream);
}
