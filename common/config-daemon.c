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

#include "config-int.h"

static const char *const endpoint_keys[] = {
    "address", "data_port", "control_port", "identity", NULL};
static const char *const tls_keys[] = {"ca", "cert", "key", NULL};
static const char *const tun_keys[] = {"name", "mtu", NULL};
static const char *const metrics_keys[] = {"listen", NULL};
static const char *const limits_keys[] = {"handshakes", "handshakes_per_source",
    "handshake_timeout_s", "connections", "output_kib", "frames_per_s",
    "frame_burst", "input_kib_per_s", "input_total_kib_per_s", NULL};
static const char *const probe_keys[] = {
    "interval_ms", "down_after", "up_after", NULL};

void
cfg_parse_probe(struct cparse *cp, struct config *conf, json_t *root)
{
	json_t *o;
	int     node;

	if (cfg_get_container(cp, root, 0, "probe", JSON_OBJECT, &o, &node) !=
	    1)
		return;
	cfg_check_keys(cp, o, node, probe_keys);
	(void)cfg_get_uint(cp, o, node, "interval_ms", PROBE_INTERVAL_MIN,
	    PROBE_INTERVAL_MAX, &conf->probe_interval_ms);
	(void)cfg_get_uint(cp, o, node, "down_after", 1, PROBE_COUNT_MAX,
	    &conf->probe_down_after);
	(void)cfg_get_uint(
	    cp, o, node, "up_after", 1, PROBE_COUNT_MAX, &conf->probe_up_after);
}

/* "IPv4" or "IPv6", for messages. */
static const char *
family_name(int family)
{
	return family == AF_INET6 ? "IPv6" : "IPv4";
}

static int
addr_same(const struct wp_addr *a, const struct wp_addr *b)
{
	return a->family == b->family && memcmp(a->a, b->a, sizeof(a->a)) == 0;
}

static int
addr_unspecified(const struct wp_addr *a)
{
	static const uint8_t zero[sizeof(a->a)];

	return memcmp(a->a, zero, sizeof(zero)) == 0;
}

/* Where a node's value is, for "also at LINE:COL" in messages. */
static void
value_at(struct cparse *cp, int node, unsigned *line, unsigned *col)
{
	jsonpos_value_at(cp->pos, node, line, col);
}

/* One address string into *a: 1, or -1 having reported why. */
static int
endpoint_addr(struct cparse *cp, json_t *v, int node, struct wp_addr *a)
{
	struct quoted q;

	if (!json_is_string(v)) {
		cfg_report(
		    cp, node, "must be a string, got %s", jsonpos_type_name(v));
		return -1;
	}
	if (addr_parse(json_string_value(v), a) == -1) {
		cfg_report(cp, node, "must be an IP address, got %s",
		    cfg_quote(&q, json_string_value(v)));
		return -1;
	}
	return 1;
}

/*
 * socketd's pop.address: one address, or an array of at most one
 * address a family, each an endpoint with pop's ports and identity.
 */
static void
pop_addresses(
    struct cparse *cp, struct config *conf, json_t *o, int node, size_t *n)
{
	struct wp_addr a;
	unsigned       line, col;
	json_t        *v, *arr;
	size_t         i, j, len;
	int            vnode, anode;

	*n = 0;
	if ((arr = cfg_member(cp, o, node, "address", &anode)) == NULL) {
		cfg_missing(cp, node, "address");
		return;
	}
	if (json_is_string(arr)) {
		if (endpoint_addr(cp, arr, anode, &a) == 1)
			conf->endpoints[(*n)++].address = a;
		return;
	}
	if (!json_is_array(arr)) {
		cfg_report(cp, anode,
		    "must be an IP address or an array of them, got %s",
		    jsonpos_type_name(arr));
		return;
	}
	if ((len = json_array_size(arr)) == 0 || len > CONFIG_POP_ADDR_MAX) {
		cfg_report(cp, anode,
		    "must have 1..%d addresses (one a family), got %zu",
		    CONFIG_POP_ADDR_MAX, len);
		return;
	}
	for (i = 0; i < len; i++) {
		v = json_array_get(arr, i);
		vnode = jsonpos_element(cp->pos, anode, i);
		if (endpoint_addr(cp, v, vnode, &a) != 1)
			continue;
		for (j = 0; j < *n; j++)
			if (conf->endpoints[j].address.family == a.family)
				break;
		if (j < *n) {
			value_at(cp, jsonpos_element(cp->pos, anode, j), &line,
			    &col);
			cfg_report(cp, vnode,
			    "a second %s address (also pop.address[%zu] at "
			    "%u:%u): one a family, a link takes the one of "
			    "its family unless it has its own pop_address",
			    family_name(a.family), j, line, col);
			continue;
		}
		conf->endpoints[(*n)++].address = a;
	}
}

/* The ports, and the identity where the kind has one, of one object. */
static void
endpoint_object(
    struct cparse *cp, json_t *o, int node, struct config_endpoint *e)
{
	uint32_t port;

	/* Which certificate is the PoP: without it, any certificate the
	 * CA signed (another site's, too) could pose as the PoP. */
	if (cp->kind != CONFIG_POPD &&
	    cfg_get_name(cp, o, node, "identity", e->identity,
		sizeof(e->identity), JSONPOS_NAME_TEXT) == 0 &&
	    cp->kind == CONFIG_SOCKETD)
		cfg_missing(cp, node, "identity");
	else if (cp->kind == CONFIG_POPD &&
	    json_object_get(o, "identity") != NULL)
		cfg_report_key(cp, jsonpos_member(cp->pos, node, "identity"),
		    "unknown key (the PoP names sites in \"sites\")");
	if (cfg_get_uint(cp, o, node, "data_port", 1, 65535, &port) == 1)
		e->data_port = (uint16_t)port;
	if (cfg_get_uint(cp, o, node, "control_port", 1, 65535, &port) == 1)
		e->control_port = (uint16_t)port;
}

/* One of popd's listen entries: 1 if it has a valid address. */
static int
listen_entry(struct cparse *cp, json_t *o, int node, struct config_endpoint *e)
{
	json_t *v;
	int     vnode, r = -1;

	cfg_check_keys(cp, o, node, endpoint_keys);
	if ((v = cfg_member(cp, o, node, "address", &vnode)) == NULL)
		cfg_missing(cp, node, "address");
	else
		r = endpoint_addr(cp, v, vnode, &e->address);
	endpoint_object(cp, o, node, e);
	return r;
}

/*
 * Two listen entries that the kernel would not let both bind: one family,
 * the same address or one of them the unspecified one (0.0.0.0 or ::,
 * every address of the family), and a port in common (UDP data or TCP
 * control).  An IPv4 and an IPv6 entry never clash: IPv6 sockets are
 * IPV6_V6ONLY.
 */
static void
listen_clashes(struct cparse *cp, struct config *conf, int arrnode, size_t n)
{
	const struct config_endpoint *a, *b;
	const char                   *what;
	unsigned                      line, col, port;
	size_t                        i, j;
	int                           node;

	for (j = 1; j < n; j++) {
		b = &conf->endpoints[j];
		for (i = 0; i < j; i++) {
			a = &conf->endpoints[i];
			if (a->address.family != b->address.family ||
			    (!addr_same(&a->address, &b->address) &&
				!addr_unspecified(&a->address) &&
				!addr_unspecified(&b->address)))
				continue;
			if (a->data_port == b->data_port) {
				what = "data";
				port = a->data_port;
			} else if (a->control_port == b->control_port) {
				what = "control";
				port = a->control_port;
			} else
				continue;
			value_at(cp,
			    jsonpos_member(cp->pos,
				jsonpos_element(cp->pos, arrnode, i),
				"address"),
			    &line, &col);
			node = jsonpos_member(cp->pos,
			    jsonpos_element(cp->pos, arrnode, j), "address");
			if (addr_same(&a->address, &b->address))
				cfg_report(cp, node,
				    "duplicate of listen[%zu] (at %u:%u): the "
				    "same address and %s port %u",
				    i, line, col, what, port);
			else
				cfg_report(cp, node,
				    "overlaps listen[%zu] (at %u:%u): %s port "
				    "%u on every %s address is taken by the "
				    "unspecified address",
				    i, line, col, what, port,
				    family_name(a->address.family));
			break;
		}
	}
}

/* popd's "listen": one object, or an array of 1..CONFIG_LISTEN_MAX. */
static void
parse_listen(struct cparse *cp, struct config *conf, json_t *root)
{
	json_t *v, *o;
	size_t  i, n;
	int     node, onode, bad = 0;

	if ((v = cfg_member(cp, root, 0, "listen", &node)) == NULL) {
		cfg_missing(cp, 0, "listen");
		return;
	}
	if (json_is_object(v)) {
		if (listen_entry(cp, v, node, &conf->endpoints[0]) == 1)
			conf->nendpoints = 1;
		return;
	}
	if (!json_is_array(v)) {
		cfg_report(cp, node,
		    "must be an object or an array of objects, got %s",
		    jsonpos_type_name(v));
		return;
	}
	if ((n = json_array_size(v)) == 0 || n > CONFIG_LISTEN_MAX) {
		cfg_report(cp, node, "must have 1..%d entries, got %zu",
		    CONFIG_LISTEN_MAX, n);
		return;
	}
	for (i = 0; i < n; i++) {
		o = json_array_get(v, i);
		onode = jsonpos_element(cp->pos, node, i);
		conf->endpoints[i].data_port = CONFIG_DATA_PORT;
		conf->endpoints[i].control_port = CONFIG_CONTROL_PORT;
		if (!json_is_object(o)) {
			cfg_report(cp, onode, "must be an object, got %s",
			    jsonpos_type_name(o));
			bad = 1;
		} else if (listen_entry(cp, o, onode, &conf->endpoints[i]) != 1)
			bad = 1;
	}
	if (bad)
		return;
	conf->nendpoints = n;
	listen_clashes(cp, conf, node, n);
}

/*
 * socketd's "pop" or popd's "listen".  Required by the daemons, optional
 * for replay (which opens no socket).
 */
void
cfg_parse_endpoint(
    struct cparse *cp, struct config *conf, json_t *root, const char *key)
{
	json_t *o;
	size_t  i, n;
	int     r, node;

	if (cp->kind == CONFIG_POPD) {
		parse_listen(cp, conf, root);
		return;
	}
	if ((r = cfg_get_container(cp, root, 0, key, JSON_OBJECT, &o, &node)) ==
		0 &&
	    cp->kind != CONFIG_REPLAY)
		cfg_missing(cp, 0, key);
	if (r != 1)
		return;
	cfg_check_keys(cp, o, node, endpoint_keys);
	pop_addresses(cp, conf, o, node, &n);
	endpoint_object(cp, o, node, &conf->endpoints[0]);
	for (i = 1; i < n; i++) {
		struct wp_addr a = conf->endpoints[i].address;

		conf->endpoints[i] = conf->endpoints[0];
		conf->endpoints[i].address = a;
	}
	conf->nendpoints = n;
}

/*
 * Each socketd link's PoP address (config_link.pop), once links and pop
 * are read: its own pop_address, which must be of its source's family;
 * else pop.address's of its source's family, which must exist; else
 * pop.address's first.
 */
void
cfg_resolve_pops(struct cparse *cp, struct config *conf)
{
	struct config_link *l;
	unsigned            line = 0, col = 0;
	size_t              i, e;
	int                 arrnode, lnode, snode, pnode;

	if (conf->nendpoints == 0 || cp->links == NULL)
		return;
	arrnode = jsonpos_member(cp->pos, 0, "links");
	for (i = 0; i < cp->nlinks; i++) {
		l = &cp->links[i];
		lnode = jsonpos_element(cp->pos, arrnode, i);
		snode = jsonpos_member(cp->pos, lnode, "source");
		if (l->pop_own) {
			if (l->source.family == 0 ||
			    l->source.family == l->pop.family)
				continue;
			value_at(cp, snode, &line, &col);
			cfg_report(cp,
			    jsonpos_member(cp->pos, lnode, "pop_address"),
			    "is an %s address but links[%zu].source (at "
			    "%u:%u) is %s: a link reaches the PoP over its "
			    "own family",
			    family_name(l->pop.family), i, line, col,
			    family_name(l->source.family));
			continue;
		}
		if (l->source.family == 0) {
			l->pop = conf->endpoints[0].address;
			continue;
		}
		for (e = 0; e < conf->nendpoints; e++)
			if (conf->endpoints[e].address.family ==
			    l->source.family)
				break;
		if (e < conf->nendpoints) {
			l->pop = conf->endpoints[e].address;
			continue;
		}
		if (cp->kind != CONFIG_SOCKETD)
			continue;
		pnode = jsonpos_member(
		    cp->pos, jsonpos_member(cp->pos, 0, "pop"), "address");
		value_at(cp, pnode, &line, &col);
		cfg_report(cp, snode,
		    "is an %s address but pop.address (at %u:%u) has no %s "
		    "address: add one there, or give the link a pop_address",
		    family_name(l->source.family), line, col,
		    family_name(l->source.family));
	}
	for (i = 0; i < conf->nlinks; i++)
		conf->links[i].pop = cp->links[i].pop;
}

/* A path, resolved against the config file's directory if relative. */
int
cfg_get_path(
    struct cparse *cp, json_t *obj, int objnode, const char *key, char **out)
{
	const char *s, *slash;
	int         r, node;
	size_t      dirlen;

	if ((r = cfg_get_string(cp, obj, objnode, key, &s, &node)) != 1)
		return r;
	if (*s == '\0' || strlen(s) >= PATH_MAX) {
		cfg_report(
		    cp, node, "must be a path of 1..%d bytes", PATH_MAX - 1);
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

void
cfg_parse_tls(struct cparse *cp, struct config *conf, json_t *root)
{
	json_t *o;
	int     r, node;

	if ((r = cfg_get_container(
		 cp, root, 0, "tls", JSON_OBJECT, &o, &node)) == 0 &&
	    cp->kind != CONFIG_REPLAY)
		cfg_missing(cp, 0, "tls");
	if (r != 1)
		return;
	cfg_check_keys(cp, o, node, tls_keys);
	if (cfg_get_path(cp, o, node, "ca", &conf->tls.ca) == 0)
		cfg_missing(cp, node, "ca");
	if (cfg_get_path(cp, o, node, "cert", &conf->tls.cert) == 0)
		cfg_missing(cp, node, "cert");
	if (cfg_get_path(cp, o, node, "key", &conf->tls.key) == 0)
		cfg_missing(cp, node, "key");
}

void
cfg_parse_tun(struct cparse *cp, struct config *conf, json_t *root)
{
	json_t *o;
	int     node;

	if (cfg_get_container(cp, root, 0, "tun", JSON_OBJECT, &o, &node) != 1)
		return;
	cfg_check_keys(cp, o, node, tun_keys);
	(void)cfg_get_name(cp, o, node, "name", conf->tun.name,
	    sizeof(conf->tun.name), JSONPOS_NAME_IFNAME);
	(void)cfg_get_uint(
	    cp, o, node, "mtu", TUN_MTU_MIN, 65535, &conf->tun.mtu);
}

void
cfg_parse_limits(struct cparse *cp, struct config *conf, json_t *root)
{
	struct config_limits *l = &conf->limits;
	json_t               *o;
	int                   node;

	if (cfg_get_container(cp, root, 0, "limits", JSON_OBJECT, &o, &node) !=
	    1)
		return;
	cfg_check_keys(cp, o, node, limits_keys);
	(void)cfg_get_uint(
	    cp, o, node, "handshakes", 1, HANDSHAKES_MAX, &l->handshakes);
	(void)cfg_get_uint(cp, o, node, "handshakes_per_source", 1,
	    HANDSHAKES_MAX, &l->handshakes_per_source);
	(void)cfg_get_uint(cp, o, node, "handshake_timeout_s", 1,
	    HANDSHAKE_TIMEOUT_MAX, &l->handshake_timeout_s);
	(void)cfg_get_uint(
	    cp, o, node, "connections", 1, CONNECTIONS_MAX, &l->connections);
	(void)cfg_get_uint(cp, o, node, "output_kib", OUTPUT_KIB_MIN,
	    OUTPUT_KIB_MAX, &l->output_kib);
	(void)cfg_get_uint(
	    cp, o, node, "frames_per_s", 1, FRAMES_PER_S_MAX, &l->frames_per_s);
	(void)cfg_get_uint(
	    cp, o, node, "frame_burst", 1, FRAME_BURST_MAX, &l->frame_burst);
	(void)cfg_get_uint(cp, o, node, "input_kib_per_s", INPUT_KIB_MIN,
	    INPUT_KIB_MAX, &l->input_kib_per_s);
	(void)cfg_get_uint(cp, o, node, "input_total_kib_per_s", INPUT_KIB_MIN,
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

void
cfg_parse_metrics(struct cparse *cp, struct config *conf, json_t *root)
{
	struct quoted q;
	const char   *s;
	json_t       *o;
	int           node, snode;

	if (cfg_get_container(cp, root, 0, "metrics", JSON_OBJECT, &o, &node) !=
	    1)
		return;
	cfg_check_keys(cp, o, node, metrics_keys);
	if (cfg_get_string(cp, o, node, "listen", &s, &snode) == 1 &&
	    hostport_parse(s, &conf->metrics.address, &conf->metrics.port) ==
		-1) {
		memset(&conf->metrics, 0, sizeof(conf->metrics));
		cfg_report(cp, snode,
		    "must be \"ADDRESS:PORT\" with a numeric address and a "
		    "port of 1..65535, IPv6 as \"[ADDRESS]:PORT\"; got %s",
		    cfg_quote(&q, s));
	}
}
