/*
 * `wanpairctl cluster` as a table: popd's cluster result (wanpairctl(8);
 * the object is popd/cluster.c's cluster_json()), one line for the
 * node, one row per member, and the send queue and message counts.
 */
#include "autoconf.h"

#include <jansson.h>
#include <stdio.h>

#include "daemonctl.h"

static const char *
s_of(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "-";
}

static long long
n_of(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

void
print_cluster(const json_t *r)
{
	const json_t *rows = json_object_get(r, "members"), *m;
	const json_t *q = json_object_get(r, "queue");
	const json_t *msg = json_object_get(r, "messages");
	char          since[24], cs[16], pid[16];
	size_t        i;

	printf("group %s, this node %lld (%s, port %lld), %s", s_of(r, "group"),
	    n_of(r, "node"), s_of(r, "address"), n_of(r, "port"),
	    json_is_true(json_object_get(r, "connected"))
		? "connected to corosync"
		: "not connected to corosync");
	if (json_is_true(json_object_get(r, "connected")))
		printf(" (node %lld)", n_of(r, "corosync_nodeid"));
	printf("\n%lld of %zu members joined\n", n_of(r, "members_joined"),
	    json_array_size(rows));
	printf("%-5s %-40s %-7s %8s %9s %8s\n", "NODE", "ADDRESS", "STATE",
	    "SINCE", "COROSYNC", "PID");
	json_array_foreach(rows, i, m)
	{
		if (json_object_get(m, "corosync_nodeid") != NULL) {
			snprintf(
			    cs, sizeof(cs), "%lld", n_of(m, "corosync_nodeid"));
			snprintf(pid, sizeof(pid), "%lld", n_of(m, "pid"));
		} else {
			snprintf(cs, sizeof(cs), "-");
			snprintf(pid, sizeof(pid), "-");
		}
		printf("%-5lld %-40s %-7s %8s %9s %8s%s\n", n_of(m, "node"),
		    s_of(m, "address"), s_of(m, "state"),
		    ctl_duration(n_of(m, "since_s"), since), cs, pid,
		    json_is_true(json_object_get(m, "self")) ? "  (this node)"
							     : "");
	}
	printf("queue %lld of %lld, %lld overflows, %lld sends deferred; "
	       "messages %lld sent, %lld received, %lld bad, %lld from "
	       "unknown nodes, %lld conflicting; %lld reconnects\n",
	    n_of(q, "depth"), n_of(q, "max"), n_of(q, "overflows"),
	    n_of(q, "try_again"), n_of(msg, "sent"), n_of(msg, "received"),
	    n_of(msg, "bad"), n_of(msg, "unknown_node"), n_of(msg, "conflicts"),
	    n_of(r, "reconnects"));
}
