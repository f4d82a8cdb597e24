/*
 * The JSON configuration shared by both daemons and wanpairctl replay.
 *
 * config_parse() is a pure function of the text: it never exits, never
 * prints, and either returns a complete, validated struct config or NULL
 * with every error it found, in file order, each formatted as
 * "FILE:LINE:COLUMN: PATH: message" (PATH like links[1].up_mbps).  A JSON
 * syntax error stops at the first.  config_load() also reads popd's
 * "sites_dir" (one site a file, merged after "sites" and checked with
 * them, each file's errors naming that file); config_parse() reads no
 * directory, so its result has only the inline sites, maybe none.  Unknown keys, wrong types, values out
 * of range and dangling references are all errors.  The caller frees the
 * result with config_free() and the errors with config_errors_clear().
 * Keys, defaults and ranges are documented in wanpair.json(5).
 */
#ifndef WANPAIR_CONFIG_H
#define WANPAIR_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "balspec.h"
#include "flow.h"
#include "proto.h"
#include "rules.h"
#include "sla.h"

#define CONFIG_MAX_LINKS  PROTO_MAX_LINKS
#define CONFIG_NAME_MAX   PROTO_NAME_MAX /* link and profile names, with NUL */
#define CONFIG_SITE_MAX   PROTO_SITE_MAX
#define CONFIG_IFNAME_MAX 16            /* IFNAMSIZ */
#define CONFIG_MAX_BYTES  (1024 * 1024) /* refuse larger files */
/*
 * popd's "sites_dir": at most this many site files, each at most this
 * large, so that a directory of a million files or one huge file makes
 * the loader refuse rather than allocate without bound.  A site is a
 * name, an identity and its LAN prefixes: 16 KiB holds hundreds of them.
 */
#define CONFIG_SITE_FILES_MAX      4096
#define CONFIG_SITE_FILE_MAX_BYTES (16 * 1024)

enum config_kind {
	CONFIG_SOCKETD, /* socketd.json: everything the daemon needs */
	CONFIG_POPD,    /* popd.json: sites instead of links */
	CONFIG_REPLAY   /* socketd.json read by wanpairctl replay:
				   daemon-only keys may be absent */
};

struct config_link {
	char           name[CONFIG_NAME_MAX];
	char           device[CONFIG_IFNAME_MAX]; /* "" if unset */
	struct wp_addr source;                    /* family 0 if unset */
	uint32_t       up_mbps;
	uint32_t       down_mbps;
	uint32_t       weight; /* 0: unset (use up/down_mbps) */
	/*
	 * socketd: the PoP address the link sends to and its socket's
	 * family: its own "pop_address", else pop.address's of its
	 * source's family, else pop.address's first (the loader resolves
	 * it; family 0 in replay without "pop").  pop_own: its own.
	 */
	struct wp_addr pop;
	int            pop_own;
};

struct config_profile {
	char                name[CONFIG_NAME_MAX];
	enum balance_alg    algorithm;
	enum sticky_mode    stickiness;
	uint8_t             source_prefix;  /* IPv4, source-network */
	uint8_t             source_prefix6; /* IPv6, source-network */
	uint8_t             destination_prefix;
	uint8_t             destination_prefix6;
	enum keepalive_mode keepalive;
	uint32_t            timeout_s;
	uint32_t            max_groups;
	int                 implicit; /* added by the loader, not configured */
	/* "sla" (socketd, replay): has_sla, and its limits (sla.h) */
	int               has_sla;
	struct sla_limits sla;
	/* "duplicate": each packet on two links (common/dup.h), at most
	 * duplicate_max_pps of them a second; dup_slot is the profile's
	 * place among the duplicating ones (< DUP_MAX_PROFILES), -1 for a
	 * profile that does not duplicate. */
	int      duplicate;
	uint32_t duplicate_max_pps;
	int      dup_slot;
};

#define CONFIG_ROUTE_STATIC (-1) /* profile: takes no part in balancing */

struct config_route {
	struct wp_prefix network;
	int              link; /* index into links[] */
	uint32_t         metric;
	uint32_t         weight;   /* 0: unset (link weight, then mbps) */
	int              profile;  /* index into profiles[], or STATIC */
	int              implicit; /* added by the loader (no routes given) */
};

struct config_site {
	char              name[CONFIG_SITE_MAX];
	char              identity[256]; /* certificate CN or SAN */
	struct wp_prefix *lan;
	size_t            nlan;
	/* Its flows in popd's pool of flows.max, at most: its own
	 * "flows_max", else flows.site_max, else a fair share (the loader
	 * resolves it; flows_max_own says whether it was its own). */
	uint32_t flows_max;
	int      flows_max_own;
};

/* Default UDP port of the data plane and TCP port of the control channel. */
#define CONFIG_DATA_PORT    18460
#define CONFIG_CONTROL_PORT 18461
#define CONFIG_TUN_NAME     "wanpair0"

/*
 * popd's "listen": at most this many addresses, each with its own ports
 * (one UDP data socket and one TCP control listener each).  socketd's
 * "pop.address": one address a family at most, since a link takes the
 * PoP address of its own family.
 */
#define CONFIG_LISTEN_MAX   8
#define CONFIG_POP_ADDR_MAX 2

/* socketd's "pop" (where to connect) and popd's "listen" (where to bind). */
struct config_endpoint {
	struct wp_addr address;       /* family 0 if unset (replay) */
	char           identity[256]; /* socketd: the PoP's certificate name */
	uint16_t       data_port;
	uint16_t       control_port;
};

/* Paths, absolute: the loader resolves relative ones against the
 * directory of the config file.  NULL if unset (replay). */
struct config_tls {
	char *ca;
	char *cert;
	char *key;
};

struct config_tun {
	char     name[CONFIG_IFNAME_MAX];
	uint32_t mtu; /* 0: derived from the links' MTU */
};

/* "metrics": where the Prometheus endpoint listens (daemon/metrics.h). */
struct config_metrics {
	struct wp_addr address; /* family 0: no endpoint (the default) */
	uint16_t       port;
};

/*
 * popd's "limits": what the control channel's peers may take, before and
 * after they authenticate (popd/control.c).  Read at each use, so a
 * reload applies them at once.
 */
struct config_limits {
	uint32_t handshakes;            /* TLS handshakes pending, in all */
	uint32_t handshakes_per_source; /* ... from one /32 or IPv6 /64 */
	uint32_t handshake_timeout_s;   /* from accept to HELLO, absolute */
	uint32_t connections;           /* control connections, in all */
	uint32_t output_kib;            /* queued for one peer that does
					   not read */
	uint32_t frames_per_s;          /* frames a connection may send */
	uint32_t frame_burst;           /* ... saved up */
	uint32_t input_kib_per_s;       /* bytes one connection may send */
	uint32_t input_total_kib_per_s; /* ... all connections together */
};

/*
 * popd's "cluster" (DESIGN.md section 8): several popd nodes as one PoP,
 * their membership on corosync CPG (popd/cluster.c).  Node ids are the
 * configuration's, not corosync's: 1..CONFIG_CLUSTER_NODE_MAX, so that
 * one byte of the cluster's formats names a node.  Every key is bound at
 * start: a reload that changes any refuses (daemon/reload.c).
 */
#define CONFIG_CLUSTER_NODE_MAX    255
#define CONFIG_CLUSTER_MEMBERS_MAX 32
/* corosync's struct cpg_name holds 128 bytes, without a NUL. */
#define CONFIG_CLUSTER_GROUP_MAX 128
#define CONFIG_CLUSTER_PORT      18462
#define CONFIG_CLUSTER_GROUP     "wanpair"

struct config_cluster_member {
	uint32_t       node;
	struct wp_addr address; /* its cluster-link address */
};

struct config_cluster {
	int      enabled; /* the section is there */
	uint32_t node;    /* this node's id, one of members[] */
	char     group[CONFIG_CLUSTER_GROUP_MAX]; /* the CPG group */
	char    *key_file;      /* the cluster link's key; absolute, as tls's */
	struct wp_addr address; /* this node's cluster-link address */
	uint16_t       port;    /* the cluster link's UDP port, every node's */
	struct config_cluster_member *members; /* in configuration order */
	size_t                        nmembers;
};

struct config {
	char            *file; /* as given to config_load() */
	enum config_kind kind;
	char             site[CONFIG_SITE_MAX];

	struct config_link links[CONFIG_MAX_LINKS];
	size_t             nlinks;

	struct config_profile *profiles;
	size_t                 nprofiles;
	int                    default_profile; /* index, or -1 if none */

	struct config_route *routes;
	size_t               nroutes;

	/* "rules", in file order (rules.h): their profile is an index into
	 * profiles[]; ruleset is them compiled, NULL without rules, what
	 * balancing specs take a reference to. */
	struct rule     *rules;
	size_t           nrules;
	struct rule_set *ruleset;

	uint32_t             flows_max;
	uint32_t             flows_site_max; /* popd: 0 = a fair share */
	struct flow_timeouts flow_timeouts;

	uint32_t probe_interval_ms;
	uint32_t probe_down_after;
	uint32_t probe_up_after;

	enum failback_mode failback;

	/* how long a data-plane session outlives its control channel */
	uint32_t session_grace_s;

	/*
	 * 1: TUN with IFF_VNET_HDR and TSO/USO, UDP with UDP_SEGMENT and
	 * UDP_GRO, each one the kernel has; 0: one packet per read, write
	 * and datagram.  Bound at start.
	 */
	int offload;

	/*
	 * Data-plane workers (DESIGN.md section 3): socketd's each read a
	 * queue of the TUN device and have their own UDP socket per link;
	 * 0 when absent: one per CPU (config_workers()).  popd runs one
	 * (the key takes 1 only).  Bound at start.
	 */
	uint32_t workers;

	struct config_site *sites; /* popd: "sites", then sites_dir's */
	size_t              nsites;
	char               *sites_dir; /* as tls paths are; NULL: none */

	/*
	 * popd: one per "listen" entry, in file order.  socketd: one per
	 * address of pop.address, each with pop's ports and identity.
	 * nendpoints is 0 only in replay without "pop"; endpoints[0] has
	 * the default ports even then.
	 */
	struct config_endpoint endpoints[CONFIG_LISTEN_MAX];
	size_t                 nendpoints;
	struct config_tls      tls;
	struct config_tun      tun;
	struct config_metrics  metrics;
	struct config_limits   limits;  /* popd */
	struct config_cluster  cluster; /* popd; enabled 0 without one */
	struct wp_prefix      *lan;     /* socketd: the site's LAN, for HELLO */
	size_t                 nlan;
};

struct config_errors {
	char **lines; /* "FILE:LINE:COLUMN: PATH: message" */
	size_t n;
};

/* Reads and parses a file; on a read error, one error line says why. */
struct config *config_load(
    const char *path, enum config_kind, struct config_errors *);
/* `name` is what error lines start with (usually the path). */
struct config *config_parse(const char *text, size_t len, const char *name,
    enum config_kind, struct config_errors *);
/*
 * A config without routes gets one 0.0.0.0/0 and one ::/0 route per link
 * in `profile`, then the same in each other profile a rule names
 * (DESIGN.md section 5); the loader calls it.  Does nothing if routes
 * exist.  Returns 0, or -1 on allocation failure.
 */
int  config_default_routes(struct config *, int profile);
void config_free(struct config *);
void config_errors_clear(struct config_errors *);

/* Names used in the JSON and in output ("ratio", "source-network", ...). */
const char *config_algorithm_name(enum balance_alg);
const char *config_stickiness_name(enum sticky_mode);
const char *config_keepalive_name(enum keepalive_mode);
/* The weight a route has on one side (route, else link, else mbps). */
uint32_t config_route_weight(
    const struct config *, const struct config_route *, int downstream);
/* The weight a link has on one side (link weight, else mbps). */
uint32_t config_link_weight(const struct config *, size_t link, int downstream);
/* The index of the link (socketd) or site (popd) of that name, or -1. */
int config_link_index(const struct config *, const char *name);
/* The workers to run: conf->workers, or when 0 one per online CPU, at
 * most PROTO_MAX_WORKERS. */
unsigned config_workers(const struct config *);
int      config_site_index(const struct config *, const char *name);
/*
 * The first key of two "cluster" sections that differs ("cluster" itself
 * when one has the section and the other not, "cluster.members" for any
 * change to the members), or NULL if they are the same.
 */
const char *config_cluster_diff(
    const struct config_cluster *, const struct config_cluster *);
/* The member of that node id, or NULL. */
const struct config_cluster_member *config_cluster_member(
    const struct config_cluster *, uint32_t node);

#endif
