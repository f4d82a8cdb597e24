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

/*
 * socketd's "pop" or popd's "listen": an address and two ports.  Required
 * by the daemons, optional for replay (which opens no socket).
 */
void
cfg_parse_endpoint(
    struct cparse *cp, struct config *conf, json_t *root, const char *key)
{
	struct config_endpoint *e = &conf->endpoint;
	struct quoted           q;
	const char             *s;
	json_t                 *o;
	uint32_t                port;
	int                     r, node, snode;

	if ((r = cfg_get_container(cp, root, 0, key, JSON_OBJECT, &o, &node)) ==
		0 &&
	    cp->kind != CONFIG_REPLAY)
		cfg_missing(cp, 0, key);
	if (r != 1)
		return;
	cfg_check_keys(cp, o, node, endpoint_keys);
	if ((r = cfg_get_string(cp, o, node, "address", &s, &snode)) == 0)
		cfg_missing(cp, node, "address");
	else if (r == 1 && addr_parse(s, &e->address) == -1)
		cfg_report(cp, snode, "must be an IP address, got %s",
		    cfg_quote(&q, s));
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
