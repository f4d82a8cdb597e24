/*
 * popd's "cluster" section (DESIGN.md section 8; wanpair.json(5)): this
 * node's id, the CPG group, the cluster link's key, address and port,
 * and every member with its cluster-link address.
 *
 * Checks across the section: node ids and addresses unique, one address
 * family for the whole cluster (one cluster-link socket per node), this
 * node among the members, and "address", when given, the same as this
 * node's member entry (without it, that entry's).  Whether corosync is
 * there is not the loader's business: a build without it parses the
 * section and popd refuses it at start (popd/cluster-none.c).
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config-int.h"

static const char *const cluster_keys[] = {
    "node", "group", "key_file", "address", "port", "members", NULL};
static const char *const member_keys[] = {"node", "address", NULL};

static int
same_addr(const struct wp_addr *a, const struct wp_addr *b)
{
	return a->family == b->family && memcmp(a->a, b->a, sizeof(a->a)) == 0;
}

/* An IP address (not a name: nothing is resolved); 1, 0 absent, -1 bad. */
static int
get_addr(struct cparse *cp, json_t *o, int node, const char *key,
    struct wp_addr *out, int *vnode)
{
	struct quoted q;
	const char   *s;
	int           r;

	if ((r = cfg_get_string(cp, o, node, key, &s, vnode)) != 1)
		return r;
	if (addr_parse(s, out) == -1) {
		cfg_report(cp, *vnode, "must be an IP address, got %s",
		    cfg_quote(&q, s));
		return -1;
	}
	return 1;
}

/* Where each member's values are, for the checks across members. */
struct mpos {
	int node_ok, addr_ok; /* parsed and good */
	int nnode, anode;     /* their positions */
};

static void
parse_member(struct cparse *cp, json_t *o, int node,
    struct config_cluster_member *m, struct mpos *p)
{
	int r;

	cfg_check_keys(cp, o, node, member_keys);
	if ((r = cfg_get_uint(cp, o, node, "node", 1, CONFIG_CLUSTER_NODE_MAX,
		 &m->node)) == 0)
		cfg_missing(cp, node, "node");
	p->node_ok = r == 1;
	(void)cfg_member(cp, o, node, "node", &p->nnode);
	if ((r = get_addr(cp, o, node, "address", &m->address, &p->anode)) == 0)
		cfg_missing(cp, node, "address");
	p->addr_ok = r == 1;
}

/* Node ids and addresses unique, one family; each error at the later. */
static void
check_members(
    struct cparse *cp, const struct config_cluster *c, const struct mpos *p)
{
	char   buf[ADDR_STRLEN];
	size_t i, j;
	int    first = -1;

	for (i = 0; i < c->nmembers; i++) {
		const struct config_cluster_member *m = &c->members[i];

		for (j = 0; j < i && p[i].node_ok; j++)
			if (p[j].node_ok && c->members[j].node == m->node) {
				cfg_report(cp, p[i].nnode,
				    "node %u is members[%zu] already", m->node,
				    j);
				break;
			}
		if (!p[i].addr_ok)
			continue;
		for (j = 0; j < i; j++)
			if (p[j].addr_ok &&
			    same_addr(&c->members[j].address, &m->address)) {
				cfg_report(cp, p[i].anode,
				    "%s is members[%zu]'s address already",
				    addr_ntop(&m->address, buf, sizeof(buf)),
				    j);
				break;
			}
		if (first == -1)
			first = (int)i;
		else if (c->members[first].address.family !=
		    m->address.family) {
			cfg_report(cp, p[i].anode,
			    "must be %s, as members[%d].address is: one "
			    "address family for the whole cluster",
			    c->members[first].address.family == AF_INET
				? "IPv4"
				: "IPv6",
			    first);
		}
	}
}

/* Returns 1 with the members parsed, 0 if absent, -1 if bad. */
static int
parse_members(struct cparse *cp, struct config_cluster *c, json_t *o, int node,
    struct mpos **pp)
{
	struct mpos *p;
	json_t      *arr, *m;
	size_t       i, n;
	int          r, arrnode, mnode;

	if ((r = cfg_get_container(
		 cp, o, node, "members", JSON_ARRAY, &arr, &arrnode)) != 1) {
		if (r == 0)
			cfg_missing(cp, node, "members");
		return r;
	}
	n = json_array_size(arr);
	if (n == 0 || n > CONFIG_CLUSTER_MEMBERS_MAX) {
		cfg_report(cp, arrnode, "must have 1..%d members, got %zu",
		    CONFIG_CLUSTER_MEMBERS_MAX, n);
		return -1;
	}
	if ((c->members = calloc(n, sizeof(*c->members))) == NULL ||
	    (*pp = p = calloc(n, sizeof(*p))) == NULL) {
		cp->nomem = 1;
		return -1;
	}
	c->nmembers = n;
	for (i = 0; i < n; i++) {
		m = json_array_get(arr, i);
		mnode = jsonpos_element(cp->pos, arrnode, i);
		if (!json_is_object(m)) {
			cfg_report(cp, mnode, "must be an object, got %s",
			    jsonpos_type_name(m));
			continue;
		}
		parse_member(cp, m, mnode, &c->members[i], &p[i]);
	}
	return 1;
}

/* This node among the members, and its address theirs. */
static void
check_self(struct cparse *cp, struct config_cluster *c, const struct mpos *p,
    int nodenode, int addr_r, int addrnode)
{
	char   a[ADDR_STRLEN], b[ADDR_STRLEN];
	size_t i;

	for (i = 0; i < c->nmembers; i++)
		if (p[i].node_ok && c->members[i].node == c->node)
			break;
	if (i == c->nmembers) {
		cfg_report(cp, nodenode,
		    "node %u is not among \"members\": every node, this one "
		    "too, is listed there with its address",
		    c->node);
		return;
	}
	if (!p[i].addr_ok)
		return;
	if (addr_r == 0)
		c->address = c->members[i].address;
	else if (addr_r == 1 && !same_addr(&c->address, &c->members[i].address))
		cfg_report(cp, addrnode,
		    "must be this node's address in \"members\" "
		    "(members[%zu].address, %s); got %s",
		    i, addr_ntop(&c->members[i].address, a, sizeof(a)),
		    addr_ntop(&c->address, b, sizeof(b)));
}

void
cfg_parse_cluster(struct cparse *cp, struct config *conf, json_t *root)
{
	struct config_cluster *c = &conf->cluster;
	struct mpos           *p = NULL;
	json_t                *o;
	uint32_t               port;
	int node, node_r, nodenode, addr_r, addrnode, members_r;

	if (cfg_get_container(cp, root, 0, "cluster", JSON_OBJECT, &o, &node) !=
	    1)
		return;
	c->enabled = 1;
	memcpy(c->group, CONFIG_CLUSTER_GROUP, sizeof(CONFIG_CLUSTER_GROUP));
	c->port = CONFIG_CLUSTER_PORT;
	cfg_check_keys(cp, o, node, cluster_keys);
	if ((node_r = cfg_get_uint(cp, o, node, "node", 1,
		 CONFIG_CLUSTER_NODE_MAX, &c->node)) == 0)
		cfg_missing(cp, node, "node");
	(void)cfg_member(cp, o, node, "node", &nodenode);
	(void)cfg_get_name(cp, o, node, "group", c->group, sizeof(c->group),
	    JSONPOS_NAME_WORD);
	if (cfg_get_path(cp, o, node, "key_file", &c->key_file) == 0)
		cfg_missing(cp, node, "key_file");
	if (cfg_get_uint(cp, o, node, "port", 1, 65535, &port) == 1)
		c->port = (uint16_t)port;
	addr_r = get_addr(cp, o, node, "address", &c->address, &addrnode);
	members_r = parse_members(cp, c, o, node, &p);
	if (members_r == 1) {
		check_members(cp, c, p);
		if (node_r == 1)
			check_self(cp, c, p, nodenode, addr_r, addrnode);
	}
	free(p);
}

void
cfg_cluster_free(struct config_cluster *c)
{
	free(c->key_file);
	free(c->members);
	c->key_file = NULL;
	c->members = NULL;
	c->nmembers = 0;
}

const struct config_cluster_member *
config_cluster_member(const struct config_cluster *c, uint32_t node)
{
	size_t i;

	for (i = 0; i < c->nmembers; i++)
		if (c->members[i].node == node)
			return &c->members[i];
	return NULL;
}

const char *
config_cluster_diff(
    const struct config_cluster *a, const struct config_cluster *b)
{
	size_t i;

	if (a->enabled != b->enabled)
		return "cluster";
	if (!a->enabled)
		return NULL;
	if (a->node != b->node)
		return "cluster.node";
	if (strcmp(a->group, b->group) != 0)
		return "cluster.group";
	if (strcmp(a->key_file, b->key_file) != 0)
		return "cluster.key_file";
	if (!same_addr(&a->address, &b->address))
		return "cluster.address";
	if (a->port != b->port)
		return "cluster.port";
	if (a->nmembers != b->nmembers)
		return "cluster.members";
	for (i = 0; i < a->nmembers; i++)
		if (a->members[i].node != b->members[i].node ||
		    !same_addr(&a->members[i].address, &b->members[i].address))
			return "cluster.members";
	return NULL;
}

/*
 * A cluster's members seal a site's return packets each with worker
 * bytes of its own (doc/CLUSTER.md, "Sessions across members"): the
 * wire's PROTO_MAX_WORKERS bytes are cut into slots of `workers` bytes,
 * one slot a member process, so there must be a slot for each member
 * (and the ones left over are for members that restart).  Run after
 * "workers" and "cluster" are read; "workers" absent is checked at
 * start, against the CPUs (popd/cluster-ctl.c).
 */
void
cfg_check_cluster_workers(struct cparse *cp, struct config *conf, json_t *root)
{
	int node;

	if (!conf->cluster.enabled || conf->workers == 0 ||
	    conf->cluster.nmembers == 0 ||
	    conf->cluster.nmembers * conf->workers <= PROTO_MAX_WORKERS)
		return;
	(void)cfg_member(cp, root, 0, "workers", &node);
	cfg_report(cp, node,
	    "%u workers make %u slots of the data plane header's %d worker "
	    "bytes, fewer than the cluster's %zu members: at most %zu "
	    "workers",
	    conf->workers, PROTO_MAX_WORKERS / conf->workers, PROTO_MAX_WORKERS,
	    conf->cluster.nmembers, PROTO_MAX_WORKERS / conf->cluster.nmembers);
}
