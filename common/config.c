#include "autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
#define METRIC_DEFAULT         100
#define METRIC_MAX             65535
#define STICKY_TIMEOUT_DEFAULT 10
#define STICKY_TIMEOUT_MAX     86400
#define MAX_GROUPS_DEFAULT     2048
#define MAX_GROUPS_MAX         1048576
#define FLOWS_MAX_DEFAULT      1000000
#define FLOWS_MAX_MAX          67108864
#define FLOW_TIMEOUT_MAX       604800 /* a week */
#define PROBE_INTERVAL_DEFAULT 100
/* The smallest MTU that may carry IPv6 (RFC 8200 section 5). */
#define TUN_MTU_MIN        1280
#define PROBE_INTERVAL_MIN PROTO_PROBE_INTERVAL_MIN
#define PROBE_INTERVAL_MAX PROTO_PROBE_INTERVAL_MAX
#define PROBE_DOWN_DEFAULT 3
#define PROBE_UP_DEFAULT   5
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

static const char *const failback_names[] = {
    [FAILBACK_NEW_FLOWS] = "new-flows",
    [FAILBACK_REBALANCE] = "rebalance",
};

/* The keys each object may have: anything else is an error. */
static const char *const socketd_keys[] = {"site", "links", "default_profile",
    "profiles", "routes", "flows", "probe", "failback", "pop", "tls", "tun",
    "lan", "metrics", "session_grace_s", NULL};
static const char *const popd_keys[] = {"sites", "default_profile", "profiles",
    "flows", "probe", "failback", "listen", "tls", "tun", "metrics", "limits",
    "session_grace_s", NULL};
static const char *const endpoint_keys[] = {
    "address", "data_port", "control_port", "identity", NULL};
static const char *const tls_keys[] = {"ca", "cert", "key", NULL};
static const char *const tun_keys[] = {"name", "mtu", NULL};
static const char *const metrics_keys[] = {"listen", NULL};
static const char *const limits_keys[] = {"handshakes", "handshakes_per_source",
    "handshake_timeout_s", "connections", "output_kib", "frames_per_s",
    "frame_burst", "input_kib_per_s", "input_total_kib_per_s", NULL};
static const char *const link_keys[] = {
    "name", "device", "source", "up_mbps", "down_mbps", "weight", NULL};
static const char *const profile_keys[] = {"name", "algorithm", "stickiness",
    "source_prefix", "source_prefix6", "destination_prefix",
    "destination_prefix6", "keepalive", "timeout_s", "max_groups", NULL};
static const char *const route_keys[] = {
    "network", "link", "metric", "weight", "profile", NULL};
static const char *const flows_keys[] = {"max", "tcp_timeout_s",
    "tcp_closing_timeout_s", "udp_timeout_s", "icmp_timeout_s",
    "other_timeout_s", NULL};
static const char *const probe_keys[] = {
    "interval_ms", "down_after", "up_after", NULL};
static const char *const site_keys[] = {"name", "identity", "lan", NULL};

static const struct {
	const char     *key;
	enum flow_class cls;
	uint32_t        def;
} flow_timeout_keys[] = {
    {"tcp_timeout_s", FLOW_TCP, 3600},
    {"tcp_closing_timeout_s", FLOW_TCP_CLOSING, 10},
    {"udp_timeout_s", FLOW_UDP, 60},
    {"icmp_timeout_s", FLOW_ICMP, 30},
    {"other_timeout_s", FLOW_OTHER, 60},
};

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
};

struct quoted {
	char s[QUOTE_MAX * 6 + 8]; /* every byte may become \u00XX */
};

enum name_rule {
	NAME_WORD,  /* link and profile names: [A-Za-z0-9_.-] */
	NAME_TEXT,  /* site names, identities: no control characters */
	NAME_IFNAME /* a Linux interface name */
};

static void vreport(struct cparse *, unsigned, unsigned, const char *,
    const char *, va_list) __attribute__((format(printf, 5, 0)));
static void report_at(struct cparse *, unsigned, unsigned, const char *,
    const char *, ...) __attribute__((format(printf, 5, 6)));
static void report(struct cparse *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static void report_key(struct cparse *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

const char *
config_algorithm_name(enum balance_alg a)
{
	return (size_t)a < sizeof(algorithm_names) / sizeof(algorithm_names[0])
	    ? algorithm_names[a]
	    : "?";
}

const char *
config_stickiness_name(enum sticky_mode s)
{
	return (size_t)s <
		sizeof(stickiness_names) / sizeof(stickiness_names[0])
	    ? stickiness_names[s]
	    : "?";
}

const char *
config_keepalive_name(enum keepalive_mode k)
{
	return (size_t)k < sizeof(keepalive_names) / sizeof(keepalive_names[0])
	    ? keepalive_names[k]
	    : "?";
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
config_route_weight(
    const struct config *conf, const struct config_route *r, int downstream)
{
	if (r->weight != 0)
		return r->weight;
	return config_link_weight(conf, (size_t)r->link, downstream);
}

/* ------------------------------------------------------------ errors */

static void
vreport(struct cparse *cp, unsigned line, unsigned col, const char *path,
    const char *fmt, va_list ap)
{
	struct cerror *errs;
	char           msg[1024];
	size_t         cap;
	int            len;

	if (cp->nomem)
		return;
	if (cp->nerrs == cp->errcap) {
		cap = cp->errcap ? cp->errcap * 2 : 16;
		if ((errs = reallocarray(cp->errs, cap, sizeof(*errs))) ==
		    NULL) {
			cp->nomem = 1;
			return;
		}
		cp->errs = errs;
		cp->errcap = cap;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	errs = &cp->errs[cp->nerrs];
	len = snprintf(
	    NULL, 0, "%s:%u:%u: %s: %s", cp->name, line, col, path, msg);
	if (len < 0 || (errs->text = malloc((size_t)len + 1)) == NULL) {
		cp->nomem = 1;
		return;
	}
	snprintf(errs->text, (size_t)len + 1, "%s:%u:%u: %s: %s", cp->name,
	    line, col, path, msg);
	errs->line = line;
	errs->col = col;
	errs->seq = cp->nerrs++;
}

static void
report_at(struct cparse *cp, unsigned line, unsigned col, const char *path,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(cp, line, col, path, fmt, ap);
	va_end(ap);
}

/* An error about a value: points at the value. */
static void
report(struct cparse *cp, int node, const char *fmt, ...)
{
	char     path[512];
	unsigned line, col;
	va_list  ap;

	jsonpos_value_at(cp->pos, node, &line, &col);
	jsonpos_path(cp->pos, node, path, sizeof(path));
	va_start(ap, fmt);
	vreport(cp, line, col, path, fmt, ap);
	va_end(ap);
}

/* An error about a key itself (unknown key): points at the key. */
static void
report_key(struct cparse *cp, int node, const char *fmt, ...)
{
	char     path[512];
	unsigned line, col;
	va_list  ap;

	jsonpos_key_at(cp->pos, node, &line, &col);
	jsonpos_path(cp->pos, node, path, sizeof(path));
	va_start(ap, fmt);
	vreport(cp, line, col, path, fmt, ap);
	va_end(ap);
}

static int
cerror_cmp(const void *a, const void *b)
{
	const struct cerror *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Hands the errors, in file order, to the caller; frees what is left. */
static void
flush_errors(struct cparse *cp, struct config_errors *out)
{
	char **lines;
	size_t i;

	if (cp->nomem) {
		/* A partial list would look complete; say only why. */
		for (i = 0; i < cp->nerrs; i++)
			free(cp->errs[i].text);
		cp->nerrs = 0;
		cp->nomem = 0;
		report_at(cp, 0, 0, "(memory)", "out of memory");
	}
	if (cp->nerrs > 1)
		qsort(cp->errs, cp->nerrs, sizeof(*cp->errs), cerror_cmp);
	lines = NULL;
	if (out != NULL && cp->nerrs > 0 &&
	    (lines = reallocarray(
		 out->lines, out->n + cp->nerrs, sizeof(*lines))) != NULL) {
		out->lines = lines;
		for (i = 0; i < cp->nerrs; i++)
			out->lines[out->n++] = cp->errs[i].text;
	} else
		for (i = 0; i < cp->nerrs; i++)
			free(cp->errs[i].text);
	free(cp->errs);
	cp->errs = NULL;
	cp->nerrs = cp->errcap = 0;
}

void
config_errors_clear(struct config_errors *errs)
{
	size_t i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->n; i++)
		free(errs->lines[i]);
	free(errs->lines);
	errs->lines = NULL;
	errs->n = 0;
}

/* Quotes a bad value for a message: escaped, cut after QUOTE_MAX bytes. */
static const char *
quote(struct quoted *q, const char *s)
{
	return jsonpos_quote(q->s, sizeof(q->s), s, strlen(s), QUOTE_MAX);
}

/* ------------------------------------------------------------ keys */

static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[33], i, j, diag, up, best;

	if (la >= NELEM(row) || lb >= NELEM(row))
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			best = diag + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The known key a typo most likely meant, or NULL. */
static const char *
suggest(const char *key, const char *const *known)
{
	const char *best = NULL;
	size_t      d, bestd = 3, i;

	for (i = 0; known[i] != NULL; i++) {
		d = edit_distance(key, known[i]);
		/* Two edits turn "max" into almost anything short. */
		if (d < bestd && 2 * d < strlen(known[i])) {
			best = known[i];
			bestd = d;
		}
	}
	return best;
}

static void
check_keys(
    struct cparse *cp, json_t *obj, int objnode, const char *const *known)
{
	const char *key, *hint;
	void       *it;
	size_t      i;

	for (it = json_object_iter(obj); it != NULL;
	     it = json_object_iter_next(obj, it)) {
		key = json_object_iter_key(it);
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (known[i] != NULL)
			continue;
		if ((hint = suggest(key, known)) != NULL)
			report_key(cp, jsonpos_member(cp->pos, objnode, key),
			    "unknown key (did you mean \"%s\"?)", hint);
		else
			report_key(cp, jsonpos_member(cp->pos, objnode, key),
			    "unknown key");
	}
}

static void
missing(struct cparse *cp, int objnode, const char *key)
{
	report(cp, objnode, "missing key \"%s\"", key);
}

/* The member `key` of obj, or NULL; *node is its position. */
static json_t *
member(struct cparse *cp, json_t *obj, int objnode, const char *key, int *node)
{
	json_t *v;

	v = json_object_get(obj, key);
	*node =
	    v != NULL ? jsonpos_member(cp->pos, objnode, key) : JSONPOS_NONE;
	return v;
}

/*
 * The getters return 1 when the key is there and its value is good, 0 when
 * the key is absent (the caller decides whether that is an error), and -1
 * when the value is bad, which they have reported.
 */
static int
get_uint(struct cparse *cp, json_t *obj, int objnode, const char *key,
    uint32_t min, uint32_t max, uint32_t *out)
{
	json_int_t i;
	json_t    *v;
	int        node;

	if ((v = member(cp, obj, objnode, key, &node)) == NULL)
		return 0;
	if (!json_is_integer(v)) {
		report(cp, node, "must be an integer, got %s",
		    jsonpos_type_name(v));
		return -1;
	}
	i = json_integer_value(v);
	if (i < (json_int_t)min || i > (json_int_t)max) {
		report(cp, node, "must be %" PRIu32 "..%" PRIu32 ", got %lld",
		    min, max, (long long)i);
		return -1;
	}
	*out = (uint32_t)i;
	return 1;
}

static int
get_string(struct cparse *cp, json_t *obj, int objnode, const char *key,
    const char **out, int *node)
{
	json_t *v;

	if ((v = member(cp, obj, objnode, key, node)) == NULL)
		return 0;
	if (!json_is_string(v)) {
		report(cp, *node, "must be a string, got %s",
		    jsonpos_type_name(v));
		return -1;
	}
	*out = json_string_value(v);
	return 1;
}

/* An object or array member. */
static int
get_container(struct cparse *cp, json_t *obj, int objnode, const char *key,
    json_type type, json_t **out, int *node)
{
	json_t *v;

	if ((v = member(cp, obj, objnode, key, node)) == NULL)
		return 0;
	if (json_typeof(v) != type) {
		report(cp, *node, "must be %s, got %s",
		    type == JSON_OBJECT ? "an object" : "an array",
		    jsonpos_type_name(v));
		return -1;
	}
	*out = v;
	return 1;
}

static int
get_enum(struct cparse *cp, json_t *obj, int objnode, const char *key,
    const char *const *names, size_t nnames, int *out)
{
	struct quoted q;
	const char   *s;
	char          list[256];
	size_t        i, off = 0;
	int           r, node;

	if ((r = get_string(cp, obj, objnode, key, &s, &node)) != 1)
		return r;
	for (i = 0; i < nnames; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (int)i;
			return 1;
		}
	list[0] = '\0';
	for (i = 0; i < nnames && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
		    i > 0 ? ", " : "", names[i]);
	report(cp, node, "must be one of %s; got %s", list, quote(&q, s));
	return -1;
}

static int
name_ok(const char *s, enum name_rule rule)
{
	const unsigned char *p = (const unsigned char *)s;

	switch (rule) {
	case NAME_WORD:
		for (; *p != '\0'; p++)
			if (!((*p >= 'a' && *p <= 'z') ||
				(*p >= 'A' && *p <= 'Z') ||
				(*p >= '0' && *p <= '9') || *p == '_' ||
				*p == '.' || *p == '-'))
				return 0;
		return 1;
	case NAME_IFNAME:
		/* What the kernel's dev_valid_name() refuses. */
		if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
			return 0;
		for (; *p != '\0'; p++)
			if (*p == '/' || *p == ':' || *p <= ' ' || *p == 0x7f)
				return 0;
		return 1;
	case NAME_TEXT:
		/* They end up in logs and control messages, one per line. */
		for (; *p != '\0'; p++)
			if (*p < ' ' || *p == 0x7f)
				return 0;
		return 1;
	}
	return 0;
}

/* A string of 1..size-1 bytes that obeys `rule`, copied into dst. */
static int
get_name(struct cparse *cp, json_t *obj, int objnode, const char *key,
    char *dst, size_t size, enum name_rule rule)
{
	struct quoted q;
	const char   *s;
	size_t        len;
	int           r, node;

	if ((r = get_string(cp, obj, objnode, key, &s, &node)) != 1)
		return r;
	len = strlen(s);
	if (len == 0 || len >= size) {
		report(cp, node, "must be 1..%zu %s long, got %zu", size - 1,
		    rule == NAME_TEXT ? "bytes" : "characters", len);
		return -1;
	}
	if (!name_ok(s, rule)) {
		switch (rule) {
		case NAME_WORD:
			report(cp, node,
			    "must contain only letters, digits, "
			    "\"_\", \".\" and \"-\"; got %s",
			    quote(&q, s));
			break;
		case NAME_IFNAME:
			report(cp, node,
			    "must be an interface name (no \"/\", "
			    "\":\" or spaces, not \".\" or \"..\"); got %s",
			    quote(&q, s));
			break;
		case NAME_TEXT:
			report(cp, node,
			    "must not contain control characters; "
			    "got %s",
			    quote(&q, s));
			break;
		}
		return -1;
	}
	memcpy(dst, s, len + 1);
	return 1;
}

/* ------------------------------------------------------------ names */

static int
nameref_cmp(const void *a, const void *b)
{
	const struct nameref *x = a, *y = b;
	int                   c;

	if ((c = strcmp(x->name, y->name)) != 0)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

/*
 * strcmp() with ASCII letters folded to lower case, as tls.c compares a
 * certificate's names (RFC 4343); strcasecmp() would follow the locale.
 */
static int
ascii_casecmp(const char *a, const char *b)
{
	unsigned char ca, cb;

	for (;; a++, b++) {
		ca = (unsigned char)*a;
		cb = (unsigned char)*b;
		if (ca >= 'A' && ca <= 'Z')
			ca += 'a' - 'A';
		if (cb >= 'A' && cb <= 'Z')
			cb += 'a' - 'A';
		if (ca != cb || ca == '\0')
			return (int)ca - (int)cb;
	}
}

static int
nameref_casecmp(const void *a, const void *b)
{
	const struct nameref *x = a, *y = b;
	int                   c;

	if ((c = ascii_casecmp(x->name, y->name)) != 0)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

static int
nameref_find_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct nameref *)elem)->name);
}

/*
 * Sorts refs by name and reports every name already used by an earlier
 * entry, at arr[i].key, with where that entry's is: "duplicate link name
 * "WAN1" (also links[0] at 3:14)".  With `nocase` names that differ only
 * in ASCII case are the same (certificate identities: tls.c matches them
 * so).  Sorting keeps this O(n log n) for configs with thousands of
 * entries.
 */
static void
check_duplicates(struct cparse *cp, struct nameref *refs, size_t n, int arrnode,
    const char *arr, const char *key, const char *what, int nocase)
{
	struct quoted q;
	size_t        i, first = 0;
	unsigned      line, col;
	int           node;

	if (n > 1)
		qsort(refs, n, sizeof(*refs),
		    nocase ? nameref_casecmp : nameref_cmp);
	for (i = 1; i < n; i++) {
		if ((nocase ? ascii_casecmp(refs[i].name, refs[first].name)
			    : strcmp(refs[i].name, refs[first].name)) != 0) {
			first = i;
			continue;
		}
		node = jsonpos_member(cp->pos,
		    jsonpos_element(cp->pos, arrnode, refs[first].i), key);
		jsonpos_value_at(cp->pos, node, &line, &col);
		node = jsonpos_member(
		    cp->pos, jsonpos_element(cp->pos, arrnode, refs[i].i), key);
		report(cp, node, "duplicate %s %s (also %s[%zu] at %u:%u)",
		    what, quote(&q, refs[i].name), arr, refs[first].i, line,
		    col);
	}
}

/* Index of the entry named `name`, or -1. */
static int
find_name(const struct nameref *refs, size_t n, const char *name)
{
	const struct nameref *r;

	if (refs == NULL)
		return -1;
	r = bsearch(name, refs, n, sizeof(*refs), nameref_find_cmp);
	return r != NULL ? (int)r->i : -1;
}

/* ------------------------------------------------------------ sections */

static void
profile_defaults(struct config_profile *p)
{
	memset(p, 0, sizeof(*p));
	p->algorithm = BAL_RATIO;
	p->stickiness = STICKY_NONE;
	p->source_prefix = 24;
	p->source_prefix6 = 64;
	p->destination_prefix = 24;
	p->destination_prefix6 = 64;
	p->keepalive = KEEPALIVE_TIMEOUT;
	p->timeout_s = STICKY_TIMEOUT_DEFAULT;
	p->max_groups = MAX_GROUPS_DEFAULT;
}

/* source_prefix and friends: a value, and whether it applies at all. */
static void
profile_prefix(struct cparse *cp, json_t *o, int node, const char *key,
    uint32_t max, uint8_t *out, int applies, const char *mode)
{
	uint32_t v;
	int      vnode;

	if (get_uint(cp, o, node, key, 1, max, &v) != 1)
		return;
	*out = (uint8_t)v;
	if (!applies) {
		(void)member(cp, o, node, key, &vnode);
		report(
		    cp, vnode, "has no effect unless stickiness is %s", mode);
	}
}

static void
parse_profile(struct cparse *cp, json_t *o, int node, struct config_profile *p)
{
	uint32_t min_timeout;
	int      r_sticky, r_keep, r, v, vnode, known, none;

	check_keys(cp, o, node, profile_keys);
	if (get_name(
		cp, o, node, "name", p->name, sizeof(p->name), NAME_WORD) == 0)
		missing(cp, node, "name");
	if (get_enum(cp, o, node, "algorithm", algorithm_names,
		NELEM(algorithm_names), &v) == 1)
		p->algorithm = (enum balance_alg)v;
	if ((r_sticky = get_enum(cp, o, node, "stickiness", stickiness_names,
		 NELEM(stickiness_names), &v)) == 1)
		p->stickiness = (enum sticky_mode)v;
	if ((r_keep = get_enum(cp, o, node, "keepalive", keepalive_names,
		 NELEM(keepalive_names), &v)) == 1)
		p->keepalive = (enum keepalive_mode)v;

	/* With a bad stickiness we cannot tell what applies: say nothing. */
	known = r_sticky != -1;
	none = known && p->stickiness == STICKY_NONE;

	profile_prefix(cp, o, node, "source_prefix", 32, &p->source_prefix,
	    !known || p->stickiness == STICKY_SOURCE_NETWORK, "source-network");
	profile_prefix(cp, o, node, "source_prefix6", 128, &p->source_prefix6,
	    !known || p->stickiness == STICKY_SOURCE_NETWORK, "source-network");
	profile_prefix(cp, o, node, "destination_prefix", 32,
	    &p->destination_prefix,
	    !known || p->stickiness == STICKY_DESTINATION_NETWORK,
	    "destination-network");
	profile_prefix(cp, o, node, "destination_prefix6", 128,
	    &p->destination_prefix6,
	    !known || p->stickiness == STICKY_DESTINATION_NETWORK,
	    "destination-network");

	if (r_keep == 1 && none) {
		(void)member(cp, o, node, "keepalive", &vnode);
		report(cp, vnode, "has no effect without stickiness");
	}

	/* Under usage, 0 means "drop the group with its last flow". */
	if (p->keepalive == KEEPALIVE_USAGE ||
	    p->keepalive == KEEPALIVE_FOREVER)
		p->timeout_s = 0;
	min_timeout = r_keep == -1 || p->keepalive == KEEPALIVE_USAGE ? 0 : 1;
	if ((r = get_uint(cp, o, node, "timeout_s", min_timeout,
		 STICKY_TIMEOUT_MAX, &p->timeout_s)) == 1) {
		(void)member(cp, o, node, "timeout_s", &vnode);
		if (none)
			report(cp, vnode, "has no effect without stickiness");
		else if (r_keep == 1 && p->keepalive == KEEPALIVE_FOREVER)
			report(cp, vnode,
			    "has no effect with keepalive "
			    "forever");
	}
	if (get_uint(cp, o, node, "max_groups", 1, MAX_GROUPS_MAX,
		&p->max_groups) == 1 &&
	    none) {
		(void)member(cp, o, node, "max_groups", &vnode);
		report(cp, vnode, "has no effect without stickiness");
	}
}

static void
parse_profiles(struct cparse *cp, struct config *conf, json_t *root)
{
	json_t *arr, *o;
	size_t  i, n;
	int     arrnode, node;

	if (get_container(
		cp, root, 0, "profiles", JSON_ARRAY, &arr, &arrnode) != 1 ||
	    (n = json_array_size(arr)) == 0)
		return;
	if ((conf->profiles = calloc(n, sizeof(*conf->profiles))) == NULL ||
	    (cp->profidx = calloc(n, sizeof(*cp->profidx))) == NULL) {
		cp->nomem = 1;
		return;
	}
	conf->nprofiles = n;
	for (i = 0; i < n; i++) {
		o = json_array_get(arr, i);
		node = jsonpos_element(cp->pos, arrnode, i);
		profile_defaults(&conf->profiles[i]);
		if (!json_is_object(o))
			report(cp, node, "must be an object, got %s",
			    jsonpos_type_name(o));
		else
			parse_profile(cp, o, node, &conf->profiles[i]);
		if (conf->profiles[i].name[0] != '\0') {
			cp->profidx[cp->nprofidx].name = conf->profiles[i].name;
			cp->profidx[cp->nprofidx++].i = i;
		}
	}
	check_duplicates(cp, cp->profidx, cp->nprofidx, arrnode, "profiles",
	    "name", "profile name", 0);
}

static void
parse_default_profile(struct cparse *cp, struct config *conf, json_t *root)
{
	struct quoted q;
	const char   *s;
	int           node, i;

	if (get_string(cp, root, 0, "default_profile", &s, &node) != 1)
		return;
	if ((i = find_name(cp->profidx, cp->nprofidx, s)) == -1)
		report(cp, node, "no profile named %s", quote(&q, s));
	else
		conf->default_profile = i;
}

static void
parse_link(struct cparse *cp, json_t *o, int node, struct config_link *l)
{
	struct quoted q;
	const char   *s;
	int           r_dev, r_src, snode;

	check_keys(cp, o, node, link_keys);
	if (get_name(
		cp, o, node, "name", l->name, sizeof(l->name), NAME_WORD) == 0)
		missing(cp, node, "name");
	r_dev = get_name(
	    cp, o, node, "device", l->device, sizeof(l->device), NAME_IFNAME);
	if ((r_src = get_string(cp, o, node, "source", &s, &snode)) == 1 &&
	    addr_parse(s, &l->source) == -1)
		report(
		    cp, snode, "must be an IP address, got %s", quote(&q, s));
	if (get_uint(cp, o, node, "up_mbps", 1, MBPS_MAX, &l->up_mbps) == 0)
		missing(cp, node, "up_mbps");
	if (get_uint(cp, o, node, "down_mbps", 1, MBPS_MAX, &l->down_mbps) == 0)
		missing(cp, node, "down_mbps");
	(void)get_uint(cp, o, node, "weight", 1, WEIGHT_MAX, &l->weight);
	/* replay never opens a socket, so it needs neither. */
	if (cp->kind == CONFIG_SOCKETD && r_dev == 0 && r_src == 0)
		report(cp, node, "needs \"device\" or \"source\"");
}

static void
parse_links(struct cparse *cp, struct config *conf, json_t *root)
{
	json_t *arr, *o;
	size_t  i, n;
	int     r, arrnode, node;

	if ((r = get_container(
		 cp, root, 0, "links", JSON_ARRAY, &arr, &arrnode)) == 0)
		missing(cp, 0, "links");
	if (r != 1)
		return;
	if ((n = json_array_size(arr)) == 0) {
		report(cp, arrnode, "must not be empty");
		return;
	}
	if ((cp->links = calloc(n, sizeof(*cp->links))) == NULL ||
	    (cp->linkidx = calloc(n, sizeof(*cp->linkidx))) == NULL) {
		cp->nomem = 1;
		return;
	}
	cp->nlinks = n;
	for (i = 0; i < n; i++) {
		o = json_array_get(arr, i);
		node = jsonpos_element(cp->pos, arrnode, i);
		if (i == CONFIG_MAX_LINKS)
			report(cp, node, "too many links, at most %d",
			    CONFIG_MAX_LINKS);
		if (!json_is_object(o))
			report(cp, node, "must be an object, got %s",
			    jsonpos_type_name(o));
		else
			parse_link(cp, o, node, &cp->links[i]);
		if (cp->links[i].name[0] != '\0') {
			cp->linkidx[cp->nlinkidx].name = cp->links[i].name;
			cp->linkidx[cp->nlinkidx++].i = i;
		}
	}
	conf->nlinks = n < CONFIG_MAX_LINKS ? n : CONFIG_MAX_LINKS;
	memcpy(conf->links, cp->links, conf->nlinks * sizeof(*conf->links));
	check_duplicates(cp, cp->linkidx, cp->nlinkidx, arrnode, "links",
	    "name", "link name", 0);
}

static void
parse_route(struct cparse *cp, json_t *o, int node, struct config_route *rt)
{
	struct quoted q;
	const char   *s, *why;
	int           r, i, vnode;

	check_keys(cp, o, node, route_keys);
	if ((r = get_string(cp, o, node, "network", &s, &vnode)) == 0)
		missing(cp, node, "network");
	else if (r == 1 && prefix_parse(s, &rt->network, &why) == -1)
		report(cp, vnode, "%s: %s", why, quote(&q, s));
	if ((r = get_string(cp, o, node, "link", &s, &vnode)) == 0)
		missing(cp, node, "link");
	else if (r == 1) {
		if ((i = find_name(cp->linkidx, cp->nlinkidx, s)) == -1)
			report(cp, vnode, "no link named %s", quote(&q, s));
		else
			rt->link = i;
	}
	(void)get_uint(cp, o, node, "metric", 0, METRIC_MAX, &rt->metric);
	(void)get_uint(cp, o, node, "weight", 1, WEIGHT_MAX, &rt->weight);
	if (get_string(cp, o, node, "profile", &s, &vnode) == 1) {
		if ((i = find_name(cp->profidx, cp->nprofidx, s)) == -1)
			report(cp, vnode, "no profile named %s", quote(&q, s));
		else
			rt->profile = i;
	}
}

static void
parse_routes(struct cparse *cp, struct config *conf, json_t *root)
{
	struct config_route *rt;
	json_t              *arr, *o;
	size_t               i, n;
	int                  arrnode, node;

	if (get_container(cp, root, 0, "routes", JSON_ARRAY, &arr, &arrnode) !=
		1 ||
	    (n = json_array_size(arr)) == 0)
		return;
	if ((conf->routes = calloc(n, sizeof(*conf->routes))) == NULL) {
		cp->nomem = 1;
		return;
	}
	conf->nroutes = n;
	for (i = 0; i < n; i++) {
		rt = &conf->routes[i];
		rt->link = -1;
		rt->metric = METRIC_DEFAULT;
		rt->profile = conf->default_profile >= 0 ? conf->default_profile
							 : CONFIG_ROUTE_STATIC;
		o = json_array_get(arr, i);
		node = jsonpos_element(cp->pos, arrnode, i);
		if (!json_is_object(o))
			report(cp, node, "must be an object, got %s",
			    jsonpos_type_name(o));
		else
			parse_route(cp, o, node, rt);
	}
}

/* Where a site's LAN prefix sits: sites[site].lan[lan]. */
struct lanref {
	const struct wp_prefix *p;
	size_t                  site, lan;
};

static int
lanref_cmp(const void *a, const void *b)
{
	const struct lanref *x = a, *y = b;
	int                  c;

	if (x->p->addr.family != y->p->addr.family)
		return x->p->addr.family < y->p->addr.family ? -1 : 1;
	if ((c = memcmp(x->p->addr.a, y->p->addr.a, sizeof(x->p->addr.a))) != 0)
		return c;
	if (x->p->len != y->p->len)
		return x->p->len < y->p->len ? -1 : 1;
	if (x->site != y->site)
		return x->site < y->site ? -1 : 1;
	return x->lan < y->lan ? -1 : x->lan > y->lan;
}

static void
report_overlap(struct cparse *cp, int arrnode, const struct lanref *a,
    const struct lanref *b)
{
	const struct lanref *later, *earlier;
	char                 pa[PREFIX_STRLEN], pb[PREFIX_STRLEN];
	int                  node;

	/* The error goes on whichever comes later in the file. */
	if (a->site > b->site || (a->site == b->site && a->lan > b->lan)) {
		later = a;
		earlier = b;
	} else {
		later = b;
		earlier = a;
	}
	node = jsonpos_element(cp->pos,
	    jsonpos_member(
		cp->pos, jsonpos_element(cp->pos, arrnode, later->site), "lan"),
	    later->lan);
	report(cp, node, "\"%s\" overlaps \"%s\" (sites[%zu].lan[%zu])",
	    prefix_ntop(later->p, pa, sizeof(pa)),
	    prefix_ntop(earlier->p, pb, sizeof(pb)), earlier->site,
	    earlier->lan);
}

/*
 * A packet for a LAN address must belong to exactly one site, so LAN
 * prefixes of different sites may not overlap (one site may nest its own).
 * Sorted by address then length, every prefix follows the prefixes that
 * contain it, so a stack of the enclosing prefixes finds each overlap in
 * one pass.  Equal prefixes share one stack entry that remembers the first
 * site and the first other site, which keeps the stack within 129 entries.
 */
static void
check_lan_overlaps(struct cparse *cp, struct config *conf, int arrnode)
{
	struct {
		const struct lanref *first, *other;
	} stack[129];
	struct lanref       *refs;
	const struct lanref *x, *partner;
	size_t               n = 0, depth = 0, i, j, k;

	for (i = 0; i < conf->nsites; i++)
		n += conf->sites[i].nlan;
	if (n < 2)
		return;
	if ((refs = calloc(n, sizeof(*refs))) == NULL) {
		cp->nomem = 1;
		return;
	}
	n = 0;
	for (i = 0; i < conf->nsites; i++)
		for (j = 0; j < conf->sites[i].nlan; j++)
			if (conf->sites[i].lan[j].addr.family != 0) {
				refs[n].p = &conf->sites[i].lan[j];
				refs[n].site = i;
				refs[n++].lan = j;
			}
	qsort(refs, n, sizeof(*refs), lanref_cmp);
	for (i = 0; i < n; i++) {
		x = &refs[i];
		while (depth > 0 &&
		    !prefix_contains(stack[depth - 1].first->p,
			x->p->addr.family, x->p->addr.a))
			depth--;
		/* The most specific enclosing prefix of another site. */
		partner = NULL;
		for (k = depth; k-- > 0 && partner == NULL;) {
			if (stack[k].first->site != x->site)
				partner = stack[k].first;
			else if (stack[k].other != NULL)
				partner = stack[k].other;
		}
		if (partner != NULL)
			report_overlap(cp, arrnode, partner, x);
		if (depth > 0 && stack[depth - 1].first->p->len == x->p->len) {
			if (stack[depth - 1].other == NULL &&
			    stack[depth - 1].first->site != x->site)
				stack[depth - 1].other = x;
		} else if (depth < NELEM(stack)) {
			stack[depth].first = x;
			stack[depth++].other = NULL;
		}
	}
	free(refs);
}

/* A non-empty array of prefixes (no host bits): 1, 0 if absent, -1. */
static int
get_prefix_list(struct cparse *cp, json_t *obj, int objnode, const char *key,
    struct wp_prefix **out, size_t *nout)
{
	struct quoted q;
	const char   *why;
	json_t       *arr, *v;
	size_t        i, n;
	int           r, node, vnode;

	if ((r = get_container(
		 cp, obj, objnode, key, JSON_ARRAY, &arr, &node)) != 1)
		return r;
	if ((n = json_array_size(arr)) == 0) {
		report(cp, node, "must not be empty");
		return -1;
	}
	if ((*out = calloc(n, sizeof(**out))) == NULL) {
		cp->nomem = 1;
		return -1;
	}
	*nout = n;
	for (i = 0; i < n; i++) {
		v = json_array_get(arr, i);
		vnode = jsonpos_element(cp->pos, node, i);
		if (!json_is_string(v))
			report(cp, vnode, "must be a string, got %s",
			    jsonpos_type_name(v));
		else if (prefix_parse(json_string_value(v), &(*out)[i], &why) ==
		    -1)
			report(cp, vnode, "%s: %s", why,
			    quote(&q, json_string_value(v)));
	}
	return 1;
}

static void
parse_site(struct cparse *cp, json_t *o, int node, struct config_site *site)
{
	check_keys(cp, o, node, site_keys);
	if (get_name(cp, o, node, "name", site->name, sizeof(site->name),
		NAME_TEXT) == 0)
		missing(cp, node, "name");
	if (get_name(cp, o, node, "identity", site->identity,
		sizeof(site->identity), NAME_TEXT) == 0)
		missing(cp, node, "identity");
	if (get_prefix_list(cp, o, node, "lan", &site->lan, &site->nlan) == 0)
		missing(cp, node, "lan");
}

static void
parse_sites(struct cparse *cp, struct config *conf, json_t *root)
{
	struct nameref *names, *ids;
	size_t          i, n, nnames = 0, nids = 0;
	json_t         *arr, *o;
	int             r, arrnode, node;

	if ((r = get_container(
		 cp, root, 0, "sites", JSON_ARRAY, &arr, &arrnode)) == 0)
		missing(cp, 0, "sites");
	if (r != 1)
		return;
	if ((n = json_array_size(arr)) == 0) {
		report(cp, arrnode, "must not be empty");
		return;
	}
	if ((conf->sites = calloc(n, sizeof(*conf->sites))) == NULL) {
		cp->nomem = 1;
		return;
	}
	conf->nsites = n;
	for (i = 0; i < n; i++) {
		o = json_array_get(arr, i);
		node = jsonpos_element(cp->pos, arrnode, i);
		if (!json_is_object(o))
			report(cp, node, "must be an object, got %s",
			    jsonpos_type_name(o));
		else
			parse_site(cp, o, node, &conf->sites[i]);
	}

	names = calloc(n, sizeof(*names));
	ids = calloc(n, sizeof(*ids));
	if (names == NULL || ids == NULL) {
		cp->nomem = 1;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (conf->sites[i].name[0] != '\0') {
			names[nnames].name = conf->sites[i].name;
			names[nnames++].i = i;
		}
		if (conf->sites[i].identity[0] != '\0') {
			ids[nids].name = conf->sites[i].identity;
			ids[nids++].i = i;
		}
	}
	check_duplicates(
	    cp, names, nnames, arrnode, "sites", "name", "site name", 0);
	check_duplicates(
	    cp, ids, nids, arrnode, "sites", "identity", "identity", 1);
	check_lan_overlaps(cp, conf, arrnode);
out:
	free(names);
	free(ids);
}

static void
parse_flows(struct cparse *cp, struct config *conf, json_t *root)
{
	json_t *o;
	size_t  i;
	int     node;

	if (get_container(cp, root, 0, "flows", JSON_OBJECT, &o, &node) != 1)
		return;
	check_keys(cp, o, node, flows_keys);
	(void)get_uint(cp, o, node, "max", 1, FLOWS_MAX_MAX, &conf->flows_max);
	for (i = 0; i < NELEM(flow_timeout_keys); i++)
		(void)get_uint(cp, o, node, flow_timeout_keys[i].key, 1,
		    FLOW_TIMEOUT_MAX,
		    &conf->flow_timeouts.s[flow_timeout_keys[i].cls]);
}

static void
parse_probe(struct cparse *cp, struct config *conf, json_t *root)
{
	json_t *o;
	int     node;

	if (get_container(cp, root, 0, "probe", JSON_OBJECT, &o, &node) != 1)
		return;
	check_keys(cp, o, node, probe_keys);
	(void)get_uint(cp, o, node, "interval_ms", PROBE_INTERVAL_MIN,
	    PROBE_INTERVAL_MAX, &conf->probe_interval_ms);
	(void)get_uint(cp, o, node, "down_after", 1, PROBE_COUNT_MAX,
	    &conf->probe_down_after);
	(void)get_uint(
	    cp, o, node, "up_after", 1, PROBE_COUNT_MAX, &conf->probe_up_after);
}

/*
 * socketd's "pop" or popd's "listen": an address and two ports.  Required
 * by the daemons, optional for replay (which opens no socket).
 */
static void
parse_endpoint(
    struct cparse *cp, struct config *conf, json_t *root, const char *key)
{
	struct config_endpoint *e = &conf->endpoint;
	struct quoted           q;
	const char             *s;
	json_t                 *o;
	uint32_t                port;
	int                     r, node, snode;

	if ((r = get_container(cp, root, 0, key, JSON_OBJECT, &o, &node)) ==
		0 &&
	    cp->kind != CONFIG_REPLAY)
		missing(cp, 0, key);
	if (r != 1)
		return;
	check_keys(cp, o, node, endpoint_keys);
	if ((r = get_string(cp, o, node, "address", &s, &snode)) == 0)
		missing(cp, node, "address");
	else if (r == 1 && addr_parse(s, &e->address) == -1)
		report(
		    cp, snode, "must be an IP address, got %s", quote(&q, s));
	/* Which certificate is the PoP: without it, any certificate the
	 * CA signed (another site's, too) could pose as the PoP. */
	if (cp->kind != CONFIG_POPD &&
	    get_name(cp, o, node, "identity", e->identity, sizeof(e->identity),
		NAME_TEXT) == 0 &&
	    cp->kind == CONFIG_SOCKETD)
		missing(cp, node, "identity");
	else if (cp->kind == CONFIG_POPD &&
	    json_object_get(o, "identity") != NULL)
		report_key(cp, jsonpos_member(cp->pos, node, "identity"),
		    "unknown key (the PoP names sites in \"sites\")");
	if (get_uint(cp, o, node, "data_port", 1, 65535, &port) == 1)
		e->data_port = (uint16_t)port;
	if (get_uint(cp, o, node, "control_port", 1, 65535, &port) == 1)
		e->control_port = (uint16_t)port;
}

/* A path, resolved against the config file's directory if relative. */
static int
get_path(
    struct cparse *cp, json_t *obj, int objnode, const char *key, char **out)
{
	const char *s, *slash;
	int         r, node;
	size_t      dirlen;

	if ((r = get_string(cp, obj, objnode, key, &s, &node)) != 1)
		return r;
	if (*s == '\0' || strlen(s) >= PATH_MAX) {
		report(cp, node, "must be a path of 1..%d bytes", PATH_MAX - 1);
		return -1;
	}
	slash = strrchr(cp->name, '/');
	dirlen = slash == NULL ? 0 : (size_t)(slash - cp->name) + 1;
	if (*s == '/' || dirlen == 0)
		*out = strdup(s);
	else if (asprintf(out, "%.*s%s", (int)dirlen, cp->name, s) == -1)
		*out = NULL;
	if (*out == NULL) {
		cp->nomem = 1;
		return -1;
	}
	return 1;
}

static void
parse_tls(struct cparse *cp, struct config *conf, json_t *root)
{
	json_t *o;
	int     r, node;

	if ((r = get_container(cp, root, 0, "tls", JSON_OBJECT, &o, &node)) ==
		0 &&
	    cp->kind != CONFIG_REPLAY)
		missing(cp, 0, "tls");
	if (r != 1)
		return;
	check_keys(cp, o, node, tls_keys);
	if (get_path(cp, o, node, "ca", &conf->tls.ca) == 0)
		missing(cp, node, "ca");
	if (get_path(cp, o, node, "cert", &conf->tls.cert) == 0)
		missing(cp, node, "cert");
	if (get_path(cp, o, node, "key", &conf->tls.key) == 0)
		missing(cp, node, "key");
}

static void
parse_tun(struct cparse *cp, struct config *conf, json_t *root)
{
	json_t *o;
	int     node;

	if (get_container(cp, root, 0, "tun", JSON_OBJECT, &o, &node) != 1)
		return;
	check_keys(cp, o, node, tun_keys);
	(void)get_name(cp, o, node, "name", conf->tun.name,
	    sizeof(conf->tun.name), NAME_IFNAME);
	(void)get_uint(cp, o, node, "mtu", TUN_MTU_MIN, 65535, &conf->tun.mtu);
}

static void
parse_limits(struct cparse *cp, struct config *conf, json_t *root)
{
	struct config_limits *l = &conf->limits;
	json_t               *o;
	int                   node;

	if (get_container(cp, root, 0, "limits", JSON_OBJECT, &o, &node) != 1)
		return;
	check_keys(cp, o, node, limits_keys);
	(void)get_uint(
	    cp, o, node, "handshakes", 1, HANDSHAKES_MAX, &l->handshakes);
	(void)get_uint(cp, o, node, "handshakes_per_source", 1, HANDSHAKES_MAX,
	    &l->handshakes_per_source);
	(void)get_uint(cp, o, node, "handshake_timeout_s", 1,
	    HANDSHAKE_TIMEOUT_MAX, &l->handshake_timeout_s);
	(void)get_uint(
	    cp, o, node, "connections", 1, CONNECTIONS_MAX, &l->connections);
	(void)get_uint(cp, o, node, "output_kib", OUTPUT_KIB_MIN,
	    OUTPUT_KIB_MAX, &l->output_kib);
	(void)get_uint(
	    cp, o, node, "frames_per_s", 1, FRAMES_PER_S_MAX, &l->frames_per_s);
	(void)get_uint(
	    cp, o, node, "frame_burst", 1, FRAME_BURST_MAX, &l->frame_burst);
	(void)get_uint(cp, o, node, "input_kib_per_s", INPUT_KIB_MIN,
	    INPUT_KIB_MAX, &l->input_kib_per_s);
	(void)get_uint(cp, o, node, "input_total_kib_per_s", INPUT_KIB_MIN,
	    INPUT_KIB_MAX, &l->input_total_kib_per_s);
}

/*
 * "ADDRESS:PORT", IPv6 in brackets ("[::1]:9469") as in URLs (RFC 3986
 * section 3.2.2): without them "::1:9469" would be a valid address with
 * no port.  Numeric only: the endpoint is bound before anything could
 * resolve a name, and a name could change between reloads.
 */
static int
hostport_parse(const char *s, struct wp_addr *addr, uint16_t *port)
{
	char        host[ADDR_STRLEN + 1];
	const char *p, *colon;
	size_t      len;
	unsigned    v = 0;
	int         bracketed = *s == '[';

	if (bracketed) {
		if ((p = strchr(s, ']')) == NULL || p[1] != ':')
			return -1;
		len = (size_t)(p - s - 1);
		s++;
		colon = p + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL ||
		    memchr(s, ':', (size_t)(colon - s)) != NULL)
			return -1;
		len = (size_t)(colon - s);
	}
	if (len == 0 || len >= sizeof(host))
		return -1;
	memcpy(host, s, len);
	host[len] = '\0';
	if (addr_parse(host, addr) == -1 ||
	    (addr->family == AF_INET6) != bracketed)
		return -1;
	for (p = colon + 1; *p >= '0' && *p <= '9' && v <= 65535; p++)
		v = v * 10 + (unsigned)(*p - '0');
	if (p == colon + 1 || *p != '\0' || v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static void
parse_metrics(struct cparse *cp, struct config *conf, json_t *root)
{
	struct quoted q;
	const char   *s;
	json_t       *o;
	int           node, snode;

	if (get_container(cp, root, 0, "metrics", JSON_OBJECT, &o, &node) != 1)
		return;
	check_keys(cp, o, node, metrics_keys);
	if (get_string(cp, o, node, "listen", &s, &snode) == 1 &&
	    hostport_parse(s, &conf->metrics.address, &conf->metrics.port) ==
		-1) {
		memset(&conf->metrics, 0, sizeof(conf->metrics));
		report(cp, snode,
		    "must be \"ADDRESS:PORT\" with a numeric address and a "
		    "port of 1..65535, IPv6 as \"[ADDRESS]:PORT\"; got %s",
		    quote(&q, s));
	}
}

static void
parse_root(struct cparse *cp, struct config *conf, json_t *root)
{
	int v;

	check_keys(
	    cp, root, 0, cp->kind == CONFIG_POPD ? popd_keys : socketd_keys);
	if (cp->kind != CONFIG_POPD &&
	    get_name(cp, root, 0, "site", conf->site, sizeof(conf->site),
		NAME_TEXT) == 0 &&
	    cp->kind == CONFIG_SOCKETD)
		missing(cp, 0, "site");
	/* Profiles first: links and routes refer to them by name. */
	parse_profiles(cp, conf, root);
	parse_default_profile(cp, conf, root);
	if (cp->kind == CONFIG_POPD)
		parse_sites(cp, conf, root);
	else {
		parse_links(cp, conf, root);
		parse_routes(cp, conf, root);
	}
	parse_flows(cp, conf, root);
	parse_probe(cp, conf, root);
	parse_endpoint(
	    cp, conf, root, cp->kind == CONFIG_POPD ? "listen" : "pop");
	parse_tls(cp, conf, root);
	parse_tun(cp, conf, root);
	parse_metrics(cp, conf, root);
	if (cp->kind == CONFIG_POPD)
		parse_limits(cp, conf, root);
	if (cp->kind != CONFIG_POPD &&
	    get_prefix_list(cp, root, 0, "lan", &conf->lan, &conf->nlan) == 0 &&
	    cp->kind == CONFIG_SOCKETD)
		missing(cp, 0, "lan");
	if (get_enum(cp, root, 0, "failback", failback_names,
		NELEM(failback_names), &v) == 1)
		conf->failback = (enum failback_mode)v;
	(void)get_uint(cp, root, 0, "session_grace_s", SESSION_GRACE_MIN,
	    SESSION_GRACE_MAX, &conf->session_grace_s);
}

/*
 * What the loader adds to a valid config.  Without routes every link
 * carries 0.0.0.0/0 and ::/0 in the default profile, or in a profile
 * named "default", added if there is none.  popd has no routes: it
 * balances a site's return traffic in that same profile, so it always
 * gets a default_profile.
 */
static void
add_implicit(struct cparse *cp, struct config *conf)
{
	struct config_profile *profiles;
	int                    prof;

	if (cp->kind != CONFIG_POPD && conf->nroutes > 0)
		return;
	if ((prof = conf->default_profile) == -1 &&
	    (prof = find_name(cp->profidx, cp->nprofidx, "default")) == -1) {
		if ((profiles = reallocarray(conf->profiles,
			 conf->nprofiles + 1, sizeof(*profiles))) == NULL) {
			cp->nomem = 1;
			return;
		}
		conf->profiles = profiles;
		prof = (int)conf->nprofiles++;
		profile_defaults(&profiles[prof]);
		memcpy(profiles[prof].name, "default", sizeof("default"));
		profiles[prof].implicit = 1;
	}
	if (cp->kind == CONFIG_POPD) {
		conf->default_profile = prof;
		return;
	}
	if (config_default_routes(conf, prof) == -1)
		cp->nomem = 1;
}

int
config_default_routes(struct config *conf, int profile)
{
	struct config_route *rt;
	size_t               i;

	if (conf->nroutes > 0 || conf->nlinks == 0)
		return 0;
	if ((conf->routes = calloc(conf->nlinks * 2, sizeof(*conf->routes))) ==
	    NULL)
		return -1;
	for (i = 0; i < conf->nlinks * 2; i++) {
		rt = &conf->routes[i];
		/* Zeroed: 0.0.0.0/0 and ::/0 need only the family. */
		rt->network.addr.family = i % 2 == 0 ? AF_INET : AF_INET6;
		rt->link = (int)(i / 2);
		rt->metric = METRIC_DEFAULT;
		rt->profile = profile;
		rt->implicit = 1;
	}
	conf->nroutes = conf->nlinks * 2;
	return 0;
}

/* ------------------------------------------------------------ entry */

static struct config *
config_new(enum config_kind kind, const char *name)
{
	struct config *conf;
	size_t         i;

	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		return NULL;
	if ((conf->file = strdup(name)) == NULL) {
		free(conf);
		return NULL;
	}
	conf->kind = kind;
	conf->default_profile = -1;
	conf->flows_max = FLOWS_MAX_DEFAULT;
	for (i = 0; i < NELEM(flow_timeout_keys); i++)
		conf->flow_timeouts.s[flow_timeout_keys[i].cls] =
		    flow_timeout_keys[i].def;
	conf->probe_interval_ms = PROBE_INTERVAL_DEFAULT;
	conf->probe_down_after = PROBE_DOWN_DEFAULT;
	conf->probe_up_after = PROBE_UP_DEFAULT;
	conf->failback = FAILBACK_NEW_FLOWS;
	conf->session_grace_s = SESSION_GRACE_DEFAULT;
	conf->endpoint.data_port = CONFIG_DATA_PORT;
	conf->endpoint.control_port = CONFIG_CONTROL_PORT;
	memcpy(conf->tun.name, CONFIG_TUN_NAME, sizeof(CONFIG_TUN_NAME));
	conf->limits.handshakes = HANDSHAKES_DEFAULT;
	conf->limits.handshakes_per_source = HANDSHAKES_PER_SOURCE_DEFAULT;
	conf->limits.handshake_timeout_s = HANDSHAKE_TIMEOUT_DEFAULT;
	conf->limits.connections = CONNECTIONS_DEFAULT;
	conf->limits.output_kib = OUTPUT_KIB_DEFAULT;
	conf->limits.frames_per_s = FRAMES_PER_S_DEFAULT;
	conf->limits.frame_burst = FRAME_BURST_DEFAULT;
	conf->limits.input_kib_per_s = INPUT_KIB_DEFAULT;
	conf->limits.input_total_kib_per_s = INPUT_TOTAL_KIB_DEFAULT;
	return conf;
}

struct config *
config_parse(const char *text, size_t len, const char *name,
    enum config_kind kind, struct config_errors *errs)
{
	struct jsonpos_error  perr;
	struct config        *conf = NULL;
	struct cparse         cp;
	struct jsonpos_syntax serr;
	json_t               *root = NULL;

	memset(&cp, 0, sizeof(cp));
	cp.name = name != NULL ? name : "-";
	cp.kind = kind;
	if (len > CONFIG_MAX_BYTES) {
		report_at(&cp, 0, 0, "(file)", "larger than %d bytes",
		    CONFIG_MAX_BYTES);
		goto out;
	}
	/*
	 * Any root, so that a list or a number is told apart from a syntax
	 * error; duplicate keys are refused because the last one would
	 * silently win.
	 */
	if ((root = jsonpos_load(text, len,
		 JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &serr)) == NULL) {
		report_at(
		    &cp, serr.line, serr.column, "(syntax)", "%s", serr.msg);
		goto out;
	}
	if (jsonpos_build(text, len, &cp.pos, &perr) == -1) {
		report_at(
		    &cp, perr.line, perr.column, "(syntax)", "%s", perr.msg);
		goto out;
	}
	if ((conf = config_new(kind, cp.name)) == NULL) {
		cp.nomem = 1;
		goto out;
	}
	if (!json_is_object(root))
		report(&cp, 0, "must be an object, got %s",
		    jsonpos_type_name(root));
	else
		parse_root(&cp, conf, root);
	if (cp.nerrs == 0 && !cp.nomem)
		add_implicit(&cp, conf);
out:
	if (cp.nerrs > 0 || cp.nomem) {
		config_free(conf);
		conf = NULL;
	}
	flush_errors(&cp, errs);
	free(cp.links);
	free(cp.linkidx);
	free(cp.profidx);
	jsonpos_free(cp.pos);
	json_decref(root);
	return conf;
}

struct config *
config_load(const char *path, enum config_kind kind, struct config_errors *errs)
{
	struct config *conf = NULL;
	struct cparse  cp;
	struct stat    st;
	char          *text = NULL;
	size_t         len = 0;
	ssize_t        n;
	int            fd;

	memset(&cp, 0, sizeof(cp));
	cp.name = path;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		report_at(
		    &cp, 0, 0, "(file)", "cannot open: %s", strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		report_at(
		    &cp, 0, 0, "(file)", "cannot read: %s", strerror(EISDIR));
		goto out;
	}
	/* One byte more than allowed tells "too large" from "just fits". */
	if ((text = malloc(CONFIG_MAX_BYTES + 1)) == NULL) {
		cp.nomem = 1;
		goto out;
	}
	while (len < CONFIG_MAX_BYTES + 1) {
		n = read(fd, text + len, CONFIG_MAX_BYTES + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			report_at(&cp, 0, 0, "(file)", "cannot read: %s",
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	conf = config_parse(text, len, path, kind, errs);
out:
	if (fd != -1)
		close(fd);
	free(text);
	flush_errors(&cp, errs);
	return conf;
}

void
config_free(struct config *conf)
{
	size_t i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->nsites; i++)
		free(conf->sites[i].lan);
	free(conf->sites);
	free(conf->lan);
	free(conf->tls.ca);
	free(conf->tls.cert);
	free(conf->tls.key);
	free(conf->routes);
	free(conf->profiles);
	free(conf->file);
	free(conf);
}
