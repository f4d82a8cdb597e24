/*
 * Inside the configuration loader (config.c and config-*.c): the parse
 * state, its error reporting and typed getters (config-json.c), and the
 * section parsers each file provides.  Not for use outside config*.c.
 */
#ifndef WANPAIR_CONFIG_INT_H
#define WANPAIR_CONFIG_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "jsonpos.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Ranges and defaults; wanpair.json(5) documents each one and must change
 * with it.
 */
#define MBPS_MAX               PROTO_MBPS_MAX
#define WEIGHT_MAX             1000000
#define METRIC_DEFAULT         BALANCE_METRIC_DEFAULT
#define METRIC_MAX             65535
#define STICKY_TIMEOUT_DEFAULT 10
#define STICKY_TIMEOUT_MAX     86400
#define MAX_GROUPS_DEFAULT     2048
#define MAX_GROUPS_MAX         1048576
#define SLA_WINDOW_DEFAULT     10
#define SLA_WINDOW_MAX         3600
#define SLA_MS_MAX             60000 /* latency_ms, jitter_ms */
#define SLA_GOOD_WINDOWS_MAX   1000
#define FLOWS_MAX_DEFAULT      1000000
#define FLOWS_MAX_MAX          67108864
#define FLOW_TIMEOUT_MAX       604800 /* a week */
/*
 * Probes every 10 ms, down after 10 unanswered (no reply for about 100
 * ms, link.h "Silence"), up after 30 answers (300 ms): a blackhole costs
 * at most about 100 ms and a grace, and 5% loss each way takes a link
 * down by chance once in some 1,600 days (wanpair.json(5) weighs it
 * against the probes' traffic, 7.2 kB/s each way a link over IPv4).
 */
#define PROBE_INTERVAL_DEFAULT 10
/* The smallest MTU that may carry IPv6 (RFC 8200 section 5). */
#define TUN_MTU_MIN        1280
#define PROBE_INTERVAL_MIN PROTO_PROBE_INTERVAL_MIN
#define PROBE_INTERVAL_MAX PROTO_PROBE_INTERVAL_MAX
#define PROBE_DOWN_DEFAULT 10
#define PROBE_UP_DEFAULT   30
#define PROBE_COUNT_MAX    PROTO_PROBE_COUNT_MAX
/*
 * A session without its control channel: 120 s by default is the
 * channel's read timeout (30 s, three keepalives missed) plus about six
 * reconnects at socketd's back-off (1, 2, 4, 8, 16, 30 s), so a channel
 * that comes back over any link finds its session; a site that has not
 * authenticated again in two minutes keeps no keys.  A day at most.
 */
#define SESSION_GRACE_DEFAULT 120
#define SESSION_GRACE_MIN     1
#define SESSION_GRACE_MAX     86400

/* popd's "limits" (struct config_limits) */
#define HANDSHAKES_DEFAULT            64
#define HANDSHAKES_MAX                4096
#define HANDSHAKES_PER_SOURCE_DEFAULT 8
#define HANDSHAKE_TIMEOUT_DEFAULT     10
#define HANDSHAKE_TIMEOUT_MAX         300
#define CONNECTIONS_DEFAULT           1024
#define CONNECTIONS_MAX               65536
#define OUTPUT_KIB_DEFAULT            256
#define OUTPUT_KIB_MIN                16
#define OUTPUT_KIB_MAX                65536
#define FRAMES_PER_S_DEFAULT          100
#define FRAMES_PER_S_MAX              100000
#define FRAME_BURST_DEFAULT           400
#define FRAME_BURST_MAX               1000000
/*
 * Bytes popd reads from control connections, a second: what bounds the
 * CPU a peer costs per frame (JSON decoding, a REASSIGN's moves), whatever
 * the frames are.  1 MiB/s a connection lets a failover's 100,000 moves
 * (about 2.5 MB of REASSIGN) in within a few seconds; 64 MiB/s in all
 * keeps every site's control traffic to a fraction of a core.
 */
#define INPUT_KIB_DEFAULT       1024
#define INPUT_KIB_MIN           16
#define INPUT_KIB_MAX           1048576
#define INPUT_TOTAL_KIB_DEFAULT 65536

#define QUOTE_MAX 64 /* bytes of a bad value repeated in a message */

struct cerror {
	unsigned line, col;
	size_t   seq; /* keeps equal positions in found order */
	char    *text;
};

/* A name and the index of the array entry that has it. */
struct nameref {
	const char *name;
	size_t      i;
};

struct cfg_sites;

struct cparse {
	const char      *name;
	enum config_kind kind;
	struct jsonpos  *pos;
	struct cerror   *errs;
	size_t           nerrs, errcap;
	int              nomem;
	/*
	 * Every link as configured, even past CONFIG_MAX_LINKS, so that a
	 * route naming the 33rd link draws no second error.
	 */
	struct config_link *links;
	size_t              nlinks;
	struct nameref     *linkidx, *profidx; /* sorted by name */
	size_t              nlinkidx, nprofidx;
	struct cfg_sites   *sites; /* popd: where each site was written */
};

struct quoted {
	char s[QUOTE_MAX * 6 + 8]; /* every byte may become \u00XX */
};

/*
 * config-json.c: errors with their positions (report points at a value,
 * report_key at its key; flush_errors hands them over in file order),
 * key checks, and typed getters that report what they refuse.
 */
void cfg_report_at(struct cparse *, unsigned, unsigned, const char *,
    const char *, ...) __attribute__((format(printf, 5, 6)));
void cfg_report(struct cparse *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));
void cfg_report_key(struct cparse *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));
void        cfg_flush_errors(struct cparse *cp, struct config_errors *out);
const char *cfg_quote(struct quoted *q, const char *s);
void        cfg_check_keys(
	   struct cparse *cp, json_t *obj, int objnode, const char *const *known);
void    cfg_missing(struct cparse *cp, int objnode, const char *key);
json_t *cfg_member(
    struct cparse *cp, json_t *obj, int objnode, const char *key, int *node);
int cfg_get_uint(struct cparse *cp, json_t *obj, int objnode, const char *key,
    uint32_t min, uint32_t max, uint32_t *out);
int cfg_get_string(struct cparse *cp, json_t *obj, int objnode, const char *key,
    const char **out, int *node);
int cfg_get_container(struct cparse *cp, json_t *obj, int objnode,
    const char *key, json_type type, json_t **out, int *node);
int cfg_get_enum(struct cparse *cp, json_t *obj, int objnode, const char *key,
    const char *const *names, size_t nnames, int *out);
int cfg_get_name(struct cparse *cp, json_t *obj, int objnode, const char *key,
    char *dst, size_t size, enum jsonpos_name rule);
int cfg_get_bool(
    struct cparse *cp, json_t *obj, int objnode, const char *key, int *out);
void cfg_sort_names(struct nameref *refs, size_t n, int nocase);
int  cfg_name_cmp(const char *a, const char *b, int nocase);
void cfg_check_duplicates(struct cparse *cp, struct nameref *refs, size_t n,
    int arrnode, const char *arr, const char *key, const char *what,
    int nocase);
int  cfg_find_name(const struct nameref *refs, size_t n, const char *name);

/*
 * config.c: a file read whole, at most max bytes, with `regular` only a
 * regular file (else an error at 0:0 "(file)"); the caller frees *text.
 * A text to JSON with cp->pos built (else a "(syntax)" error).  Both
 * return 0, or -1 having reported why.
 */
int cfg_read_file(struct cparse *cp, const char *path, size_t max, int regular,
    char **text, size_t *len);
int cfg_load_json(
    struct cparse *cp, const char *text, size_t len, json_t **root);

/* config-links.c: links, routes, LAN prefixes. */
void cfg_parse_links(struct cparse *cp, struct config *conf, json_t *root);
void cfg_parse_routes(struct cparse *cp, struct config *conf, json_t *root);
int  cfg_get_prefix_list(struct cparse *cp, json_t *obj, int objnode,
     const char *key, struct wp_prefix **out, size_t *nout);

/*
 * config-sites.c: popd's sites.  cfg_parse_sites() reads "sites" and
 * "sites_dir"; cfg_finish_sites() reads sites_dir's files if `readdir`,
 * then checks the merged list (unique names and identities, LANs that do
 * not overlap), each error in the file of the site it is about.
 * cfg_sites_failed() is 1 if a site file drew an error;
 * cfg_sites_flush() hands those errors over after the main file's, file
 * by file in name order, and frees what cfg_parse_sites() made.
 */
void cfg_parse_sites(struct cparse *cp, struct config *conf, json_t *root);
void cfg_finish_sites(struct cparse *cp, struct config *conf, int readdir);
int  cfg_sites_failed(const struct cparse *cp);
void cfg_sites_flush(struct cparse *cp, struct config_errors *out);

/* config-daemon.c: probe, endpoints, TLS, TUN, limits, metrics. */
void cfg_parse_probe(struct cparse *cp, struct config *conf, json_t *root);
void cfg_parse_endpoint(
    struct cparse *cp, struct config *conf, json_t *root, const char *key);
/* After links and pop: each link's PoP address (config_link.pop). */
void cfg_resolve_pops(struct cparse *cp, struct config *conf);
int  cfg_get_path(
     struct cparse *cp, json_t *obj, int objnode, const char *key, char **out);
void cfg_parse_tls(struct cparse *cp, struct config *conf, json_t *root);
void cfg_parse_tun(struct cparse *cp, struct config *conf, json_t *root);
void cfg_parse_limits(struct cparse *cp, struct config *conf, json_t *root);
void cfg_parse_metrics(struct cparse *cp, struct config *conf, json_t *root);

/* config-rules.c: "rules" (after profiles: they name one). */
void cfg_parse_rules(struct cparse *cp, struct config *conf, json_t *root);

/* config-cluster.c: popd's "cluster". */
void cfg_parse_cluster(struct cparse *cp, struct config *conf, json_t *root);
void cfg_cluster_free(struct config_cluster *);
void cfg_check_cluster_workers(
    struct cparse *cp, struct config *conf, json_t *root);

#endif
