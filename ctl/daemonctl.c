/*
 * wanpairctl's commands that talk to a running daemon over its control
 * socket (proto/ctlsock.h): status, links, flows, sites, counters,
 * reload and link.  Each prints a table, or with --json the daemon's
 * result as it came, pretty-printed.  Any failure is one line on stderr
 * (a refused reload: one per configuration error, then a last line
 * saying the running configuration stays) and exit status 1; a usage
 * error is exit status 2.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlsock.h"
#include "daemonctl.h"

#define SOCKETD_SOCK WP_RUNDIR "/socketd.sock"
#define POPD_SOCK    WP_RUNDIR "/popd.sock"
#define TIMEOUT_S    15

static int
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/*
 * -s socketd, -s popd, -s PATH, or nothing: then the one daemon whose
 * socket exists here.  `sites` only makes sense on the PoP, so it looks
 * there first, and so does `cluster`.  NULL with a message printed if there is no answer.
 */
static const char *
socket_path(const char *opt, enum ctlsock_cmd cmd)
{
	int s, p;

	if (opt != NULL) {
		if (strcmp(opt, "socketd") == 0)
			return SOCKETD_SOCK;
		if (strcmp(opt, "popd") == 0)
			return POPD_SOCK;
		return opt;
	}
	s = exists(SOCKETD_SOCK);
	p = exists(POPD_SOCK);
	if (cmd == CTLSOCK_SITES || cmd == CTLSOCK_CLUSTER)
		return POPD_SOCK;
	if (s && p) {
		fprintf(stderr,
		    "wanpairctl: both wanpair-socketd and wanpair-popd run "
		    "here; choose one with -s socketd or -s popd\n");
		return NULL;
	}
	return p ? POPD_SOCK : SOCKETD_SOCK;
}

static const char *
daemon_of(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base != NULL ? base + 1 : path;
	if (strcmp(base, "popd.sock") == 0)
		return "wanpair-popd";
	if (strcmp(base, "socketd.sock") == 0)
		return "wanpair-socketd";
	return "the daemon";
}

/* Sends one request, returns the whole reply (malloc'd, NUL-terminated)
 * or NULL with the reason in err. */
static char *
ask(const char *path, const struct ctlsock_req *req, size_t *lenp, char *err,
    size_t errlen)
{
	struct sockaddr_un sun;
	struct timeval     tv = {TIMEOUT_S, 0};
	char              *line = NULL, *buf = NULL, *nb;
	size_t             len = 0, cap = 0, off;
	ssize_t            n;
	int                s = -1;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return NULL;
	}
	(void)setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == ENOENT)
			snprintf(err, errlen,
			    "%s is not running (no control "
			    "socket %s)",
			    daemon_of(path), path);
		else if (errno == ECONNREFUSED)
			snprintf(err, errlen,
			    "%s is not running (nobody "
			    "answers on %s)",
			    daemon_of(path), path);
		else if (errno == EAGAIN)
			snprintf(err, errlen,
			    "%s is busy (too many control "
			    "clients); try again",
			    daemon_of(path));
		else if (errno == EACCES || errno == EPERM)
			snprintf(err, errlen,
			    "%s: permission denied (run as "
			    "root or as a member of the socket's group)",
			    path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if ((line = ctlsock_req_encode(req)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (off = 0; off < strlen(line); off += (size_t)n)
		/* MSG_NOSIGNAL: a daemon that closes first is an error
		 * line, not a silent death by SIGPIPE. */
		if ((n = send(s, line + off, strlen(line) - off,
			 MSG_NOSIGNAL)) <= 0) {
			snprintf(err, errlen, "%s: %s", path,
			    n == 0 ? "closed" : strerror(errno));
			goto fail;
		}
	for (;;) {
		/* The reply, its newline, and one byte to see it is longer. */
		if (len >= CTLSOCK_MAX_REPLY + 2) {
			snprintf(err, errlen, "%s: reply longer than %u bytes",
			    path, CTLSOCK_MAX_REPLY);
			goto fail;
		}
		if (cap - len < 65536 && cap < CTLSOCK_MAX_REPLY + 2) {
			cap = cap == 0 ? 65536 : cap * 2;
			if (cap > CTLSOCK_MAX_REPLY + 2)
				cap = CTLSOCK_MAX_REPLY + 2;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			buf = nb;
		}
		if ((n = read(s, buf + len, cap - len)) == 0)
			break;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			/* The daemon answered and closed with bytes of ours
			 * unread: Linux resets; the answer is whole. */
			if (errno == ECONNRESET && len > 0 &&
			    buf[len - 1] == '\n')
				break;
			snprintf(err, errlen, "%s: %s", path,
			    errno == EAGAIN ? "no answer within 15 seconds"
					    : strerror(errno));
			goto fail;
		}
		len += (size_t)n;
	}
	if (buf == NULL && (buf = malloc(1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	buf[len] = '\0';
	free(line);
	close(s);
	*lenp = len;
	return buf;
fail:
	free(line);
	free(buf);
	close(s);
	return NULL;
}

const char *
daemonctl_socket(const char *sockopt, enum ctlsock_cmd cmd)
{
	return socket_path(sockopt, cmd);
}

json_t *
daemonctl_ask(
    const char *path, const struct ctlsock_req *req, char *err, size_t errlen)
{
	json_t *result = NULL;
	char   *reply, sub[8192];
	size_t  len;
	int     rc;

	if ((reply = ask(path, req, &len, err, errlen)) == NULL)
		return NULL;
	rc = ctlsock_reply_parse(reply, len, &result, sub, sizeof(sub));
	free(reply);
	if (rc == 0)
		return result;
	if (rc == 1)
		snprintf(err, errlen, "%s", sub);
	else
		snprintf(err, errlen, "%s: %s", path, sub);
	return NULL;
}

/* ------------------------------------------------------------ tables */

static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "-";
}

static json_int_t
num(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static double
real(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

/* A link's "mos" with 2 decimals, "-" while it has none (null: no probe
 * answered yet). */
static const char *
mos(const json_t *l, char buf[24])
{
	const json_t *v = json_object_get(l, "mos");

	if (!json_is_number(v))
		return "-";
	snprintf(buf, 24, "%.2f", json_number_value(v));
	return buf;
}

/* 1234567 -> "1.2M": tables stay narrow; --json has the exact figure. */
static const char *
human(json_int_t v, char buf[24])
{
	static const char units[] = "kMGTPE";
	double            d = (double)v;
	int               u = -1;

	if (v < 10000) {
		snprintf(buf, 24, "%lld", (long long)v);
		return buf;
	}
	while (d >= 1000 && u < 5) {
		d /= 1000;
		u++;
	}
	snprintf(buf, 24, "%.1f%c", d, units[u]);
	return buf;
}

static const char *
duration(json_int_t s, char buf[24])
{
	if (s < 0)
		snprintf(buf, 24, "-");
	else if (s < 60)
		snprintf(buf, 24, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(buf, 24, "%lldm%02llds", (long long)s / 60,
		    (long long)s % 60);
	else if (s < 86400)
		snprintf(buf, 24, "%lldh%02lldm", (long long)s / 3600,
		    (long long)s / 60 % 60);
	else
		snprintf(buf, 24, "%lldd%02lldh", (long long)s / 86400,
		    (long long)s / 3600 % 24);
	return buf;
}

static void
print_status(const json_t *r)
{
	const json_t *c = json_object_get(r, "control");
	char          d[24];

	printf("%s %s, pid %lld, up %s\n", str(r, "daemon"), str(r, "version"),
	    (long long)num(r, "pid"), duration(num(r, "uptime_s"), d));
	printf("%-10s %s\n", "config", str(r, "config"));
	if (json_object_get(r, "site") != NULL) {
		printf("%-10s %s\n", "site", str(r, "site"));
		printf("%-10s %s", "control", str(c, "state"));
		if (json_is_string(json_object_get(c, "link")))
			printf(" over %s", str(c, "link"));
		if (json_is_string(json_object_get(c, "session")))
			printf(", session %s", str(c, "session"));
		printf("\n%-10s %lld of %lld up\n", "links",
		    (long long)num(r, "links_up"), (long long)num(r, "links"));
		printf("%-10s %lld of %lld\n", "flows",
		    (long long)num(r, "flows"), (long long)num(r, "flows_max"));
	} else {
		printf("%-10s %lld configured, %lld with a session, %lld "
		       "connected\n",
		    "sites", (long long)num(r, "sites"),
		    (long long)num(r, "sessions"),
		    (long long)num(r, "connected"));
		printf("%-10s %lld\n", "flows", (long long)num(r, "flows"));
	}
}

/* lead + "degraded for voice, video" from a link's "degraded" (the
 * profiles it is over the service levels of), or "". */
static const char *
degraded_str(const json_t *l, const char *lead, char *buf, size_t len)
{
	const json_t *v;
	size_t        i, off = 0;
	int           k;

	buf[0] = '\0';
	json_array_foreach(json_object_get(l, "degraded"), i, v)
	{
		if (!json_is_string(v) || off >= len)
			continue;
		k = snprintf(buf + off, len - off, "%s%s%s", i == 0 ? lead : "",
		    i == 0 ? "degraded for " : ", ", json_string_value(v));
		off += k < 0 ? 0 : (size_t)k;
	}
	return buf;
}

static void
print_links(const json_t *r)
{
	const json_t *rows = json_object_get(r, "links"), *l;
	char          a[24], b[24], c[24], d[24], e[24], f[24], g[256];
	size_t        i;
	int           pop;

	if (json_array_size(rows) == 0) {
		printf("no links (no site has said hello yet)\n");
		return;
	}
	pop = json_object_get(json_array_get(rows, 0), "site") != NULL;
	if (pop)
		printf("%-16s %-10s %-5s %6s %7s %7s %7s %7s %7s %8s\n", "SITE",
		    "LINK", "STATE", "WEIGHT", "FLOWS", "TX-PKTS", "TX-BYTES",
		    "RX-PKTS", "RX-BYTES", "IDLE-MS");
	else
		printf("%-10s %-10s %-5s %8s %8s %6s %4s %6s %7s %7s %7s "
		       "%7s %7s %7s  %s\n",
		    "LINK", "DEVICE", "STATE", "RTT-MS", "JITTER", "LOSS",
		    "MOS", "WEIGHT", "FLOWS", "TX-PKTS", "TX-BYTES", "RX-PKTS",
		    "RX-BYTES", "SINCE", "STATUS");
	json_array_foreach(rows, i, l)
	{
		if (pop)
			printf("%-16s %-10s %-5s %6lld %7lld %7s %7s %7s %7s "
			       "%8lld%s\n",
			    str(l, "site"), str(l, "name"), str(l, "state"),
			    (long long)num(l, "weight"),
			    (long long)num(l, "flows"),
			    human(num(l, "tx_packets"), a),
			    human(num(l, "tx_bytes"), b),
			    human(num(l, "rx_packets"), c),
			    human(num(l, "rx_bytes"), d),
			    (long long)num(l, "idle_ms"),
			    degraded_str(l, "  ", g, sizeof(g)));
		else
			printf("%-10s %-10s %-5s %8.3f %8.3f %5.1f%% %4s %6lld "
			       "%7lld %7s %7s %7s %7s %7s  %s%s\n",
			    str(l, "name"), str(l, "device"), str(l, "state"),
			    real(l, "rtt_ms"), real(l, "jitter_ms"),
			    real(l, "loss") * 100, mos(l, f),
			    (long long)num(l, "weight"),
			    (long long)num(l, "flows"),
			    human(num(l, "tx_packets"), a),
			    human(num(l, "tx_bytes"), b),
			    human(num(l, "rx_packets"), c),
			    human(num(l, "rx_bytes"), d),
			    duration(num(l, "since_s"), e), str(l, "status"),
			    degraded_str(l, ", ", g, sizeof(g)));
	}
}

static void
print_flows(const json_t *r)
{
	const json_t *rows = json_object_get(r, "flows"), *f;
	char          src[72], dst[72], a[24], b[24], c[24], d[24];
	size_t        i;
	int           pop = 0;

	if (json_array_size(rows) > 0)
		pop = json_object_get(json_array_get(rows, 0), "site") != NULL;
	if (pop)
		printf("%-16s ", "SITE");
	printf("%-9s %-41s %-41s %-10s %-10s %7s %7s %7s %7s\n", "PROTO",
	    "SOURCE", "DESTINATION", "LINK", "PROFILE", "PACKETS", "BYTES",
	    "AGE", "IDLE");
	json_array_foreach(rows, i, f)
	{
		snprintf(src, sizeof(src),
		    strchr(str(f, "src"), ':') ? "[%s]:%lld" : "%s:%lld",
		    str(f, "src"), (long long)num(f, "sport"));
		snprintf(dst, sizeof(dst),
		    strchr(str(f, "dst"), ':') ? "[%s]:%lld" : "%s:%lld",
		    str(f, "dst"), (long long)num(f, "dport"));
		if (pop)
			printf("%-16s ", str(f, "site"));
		printf("%-9s %-41s %-41s %-10s %-10s %7s %7s %7s %7s%s\n",
		    str(f, "proto"), src, dst, str(f, "link"),
		    str(f, "profile"), human(num(f, "packets"), a),
		    human(num(f, "bytes"), b), duration(num(f, "age_s"), c),
		    duration(num(f, "idle_s"), d),
		    json_is_true(json_object_get(f, "moved")) ? " moved" : "");
	}
	printf("%lld of %lld flows shown\n", (long long)num(r, "shown"),
	    (long long)num(r, "total"));
}

static void
print_sites(const json_t *r)
{
	const json_t *rows = json_object_get(r, "sites"), *s, *p;
	char          links[48];
	size_t        i, j;

	printf("%-16s %-24s %-9s %-8s %-6s %7s  %s\n", "SITE", "IDENTITY",
	    "CONNECTED", "SESSION", "LINKS", "FLOWS", "LAN");
	json_array_foreach(rows, i, s)
	{
		snprintf(links, sizeof(links), "%lld/%lld",
		    (long long)num(s, "links_up"), (long long)num(s, "links"));
		printf("%-16s %-24s %-9s %-8s %-6s %7lld  ", str(s, "name"),
		    str(s, "identity"),
		    json_is_true(json_object_get(s, "connected")) ? "yes"
								  : "no",
		    str(s, "session"), links, (long long)num(s, "flows"));
		json_array_foreach(json_object_get(s, "lan"), j, p)
		    printf("%s%s", j > 0 ? " " : "", json_string_value(p));
		printf("\n");
	}
	/* Older daemons send no total; a full list needs no footer. */
	if (json_object_get(r, "total") != NULL &&
	    num(r, "shown") < num(r, "total"))
		printf("%lld of %lld sites shown\n", (long long)num(r, "shown"),
		    (long long)num(r, "total"));
}

/* The cluster's forwarding (popd/forward.c's fwd_json()): flows, the
 * packets handled and forwarded, one row per peer, the drops that
 * happened (every reason is in --json). */
static void
print_forwarding(const json_t *f)
{
	const json_t *peers = json_object_get(f, "peers"), *p, *v;
	const char   *key;
	size_t        i;
	int           any = 0;

	if (!json_is_object(f))
		return;
	printf("flows %lld owned, %lld backups held (of %lld), %lld taken "
	       "over; sync queue %lld of %lld, %lld overflows; FLOW messages "
	       "%lld sent, %lld received, %lld bad\n",
	    (long long)num(f, "flows_owned"), (long long)num(f, "backups_held"),
	    (long long)num(f, "flows_max"), (long long)num(f, "taken_over"),
	    (long long)num(f, "sync_queue_depth"),
	    (long long)num(f, "sync_queue_max"),
	    (long long)num(f, "sync_queue_overflows"),
	    (long long)num(f, "flow_messages_sent"),
	    (long long)num(f, "flow_messages_received"),
	    (long long)num(f, "flow_messages_bad"));
	printf("packets %lld handled here, %lld forwarded; FIRST %lld sent, "
	       "%lld received; hints %lld sent, %lld received\n",
	    (long long)num(f, "handled"), (long long)num(f, "forwarded"),
	    (long long)num(f, "firsts_sent"),
	    (long long)num(f, "firsts_received"),
	    (long long)num(f, "hints_sent"),
	    (long long)num(f, "hints_received"));
	printf("%-5s %-5s %12s %14s %12s %14s\n", "PEER", "LIVE", "TX PACKETS",
	    "TX BYTES", "RX PACKETS", "RX BYTES");
	json_array_foreach(peers, i, p)
	{
		printf("%-5lld %-5s %12lld %14lld %12lld %14lld\n",
		    (long long)num(p, "node"),
		    json_is_true(json_object_get(p, "live")) ? "yes" : "no",
		    (long long)num(p, "tx_packets"),
		    (long long)num(p, "tx_bytes"),
		    (long long)num(p, "rx_packets"),
		    (long long)num(p, "rx_bytes"));
	}
	printf("drops:");
	json_object_foreach((json_t *)json_object_get(f, "drops"), key, v)
	{
		if (json_integer_value(v) != 0) {
			printf(
			    " %s %lld", key, (long long)json_integer_value(v));
			any = 1;
		}
	}
	json_object_foreach((json_t *)json_object_get(f, "link_drops"), key, v)
	{
		if (json_integer_value(v) != 0) {
			printf(
			    " %s %lld", key, (long long)json_integer_value(v));
			any = 1;
		}
	}
	printf("%s\n", any ? "" : " none");
}

/* `wanpairctl cluster` as a table: popd/cluster.c's cluster_json(), one
 * line for the node, one row per member, the send queue and messages,
 * the sessions (popd/cluster-session.c). */
static void
print_cluster(const json_t *r)
{
	const json_t *rows = json_object_get(r, "members"), *m;
	const json_t *q = json_object_get(r, "queue");
	const json_t *msg = json_object_get(r, "messages"), *ss;
	char          since[24], cs[16], pid[16];
	size_t        i;

	printf("group %s, this node %lld (%s, port %lld), %s", str(r, "group"),
	    (long long)num(r, "node"), str(r, "address"),
	    (long long)num(r, "port"),
	    json_is_true(json_object_get(r, "connected"))
		? "connected to corosync"
		: "not connected to corosync");
	if (json_is_true(json_object_get(r, "connected")))
		printf(" (node %lld)", (long long)num(r, "corosync_nodeid"));
	printf("\n%lld of %zu members joined\n",
	    (long long)num(r, "members_joined"), json_array_size(rows));
	printf("%-5s %-40s %-7s %8s %9s %8s\n", "NODE", "ADDRESS", "STATE",
	    "SINCE", "COROSYNC", "PID");
	json_array_foreach(rows, i, m)
	{
		if (json_object_get(m, "corosync_nodeid") != NULL) {
			snprintf(cs, sizeof(cs), "%lld",
			    (long long)num(m, "corosync_nodeid"));
			snprintf(
			    pid, sizeof(pid), "%lld", (long long)num(m, "pid"));
		} else {
			snprintf(cs, sizeof(cs), "-");
			snprintf(pid, sizeof(pid), "-");
		}
		printf("%-5lld %-40s %-7s %8s %9s %8s%s\n",
		    (long long)num(m, "node"), str(m, "address"),
		    str(m, "state"), duration(num(m, "since_s"), since), cs,
		    pid,
		    json_is_true(json_object_get(m, "self")) ? "  (this node)"
							     : "");
	}
	printf("queue %lld of %lld, %lld overflows, %lld sends deferred; "
	       "messages %lld sent, %lld received, %lld bad, %lld from "
	       "unknown nodes, %lld conflicting; %lld reconnects\n",
	    (long long)num(q, "depth"), (long long)num(q, "max"),
	    (long long)num(q, "overflows"), (long long)num(q, "try_again"),
	    (long long)num(msg, "sent"), (long long)num(msg, "received"),
	    (long long)num(msg, "bad"), (long long)num(msg, "unknown_node"),
	    (long long)num(msg, "conflicts"), (long long)num(r, "reconnects"));
	print_forwarding(json_object_get(r, "forwarding"));
	if ((ss = json_object_get(r, "sessions")) != NULL)
		printf("sessions %lld held here, %lld backed up from other "
		       "members (%lld may seal), %lld worker bytes; SESSIONs "
		       "%lld sent, %lld installed, %lld stepped down, %lld "
		       "bad, %lld stale; WANTs %lld sent, %lld received\n",
		    (long long)num(ss, "own"), (long long)num(ss, "held"),
		    (long long)num(ss, "sealing"),
		    (long long)num(ss, "worker_bytes"),
		    (long long)num(ss, "sent"), (long long)num(ss, "installed"),
		    (long long)num(ss, "stepped_down"),
		    (long long)num(ss, "bad"), (long long)num(ss, "stale"),
		    (long long)num(ss, "wants_sent"),
		    (long long)num(ss, "wants_received"));
}

/* Counters are a tree; as a table, one "path value" line per leaf. */
static void
print_tree(const char *path, const json_t *v)
{
	const char *key;
	json_t     *c;
	char        sub[256];
	size_t      i;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, c)
		{
			snprintf(sub, sizeof(sub), "%s%s%s", path,
			    path[0] != '\0' ? "." : "", key);
			print_tree(sub, c);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, c)
		{
			const char *name =
			    json_string_value(json_object_get(c, "name"));

			if (name != NULL)
				snprintf(
				    sub, sizeof(sub), "%s[%s]", path, name);
			else
				snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			print_tree(sub, c);
		}
	} else if (json_is_string(v))
		printf("%-48s %s\n", path, json_string_value(v));
	else if (json_is_integer(v))
		printf("%-48s %lld\n", path, (long long)json_integer_value(v));
	else if (json_is_real(v))
		printf("%-48s %g\n", path, json_real_value(v));
	else if (json_is_boolean(v))
		printf("%-48s %s\n", path, json_is_true(v) ? "true" : "false");
}

/* ------------------------------------------------------------ commands */

static void
cmd_usage(FILE *fp, const char *cmd)
{
	if (strcmp(cmd, "flows") == 0)
		fprintf(fp,
		    "usage: wanpairctl [-s socket] flows [--link L] "
		    "[--limit N] [--site S] [--json]\n");
	else if (strcmp(cmd, "sites") == 0)
		fprintf(fp,
		    "usage: wanpairctl [-s socket] sites [--limit N] "
		    "[--json]\n");
	else if (strcmp(cmd, "links") == 0)
		fprintf(fp,
		    "usage: wanpairctl [-s socket] links [--site S] "
		    "[--json]\n");
	else if (strcmp(cmd, "link") == 0)
		fprintf(fp,
		    "usage: wanpairctl [-s socket] link L down|up "
		    "[--json]\n");
	else
		fprintf(fp, "usage: wanpairctl [-s socket] %s [--json]\n", cmd);
}

static int
copy_name(char *dst, size_t size, const char *what, const char *src)
{
	if (strlen(src) == 0 || strlen(src) >= size) {
		fprintf(stderr,
		    "wanpairctl: %s \"%s\": must be 1 to %zu characters\n",
		    what, src, size - 1);
		return -1;
	}
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

int
daemonctl(int argc, char *argv[], const char *sockopt, int json)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"link", required_argument, NULL, 'l'},
	    {"limit", required_argument, NULL, 'n'},
	    {"site", required_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	struct ctlsock_req req;
	const char        *cmd = argv[0], *path;
	char               err[8192], *end;
	json_t            *result = NULL;
	unsigned long      n;
	int                ch, c;

	memset(&req, 0, sizeof(req));
	req.limit = CTLSOCK_FLOWS_DEF;
	for (c = 0; c < CTLSOCK_NCMD; c++)
		if (strcmp(cmd, ctlsock_cmd_name((enum ctlsock_cmd)c)) == 0)
			break;
	if (c == CTLSOCK_NCMD)
		return -1;
	req.cmd = (enum ctlsock_cmd)c;
	if (req.cmd == CTLSOCK_SITES)
		req.limit = 0; /* every site */
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = 1;
			break;
		case 'l':
			if (req.cmd != CTLSOCK_FLOWS)
				goto usage;
			if (copy_name(req.link, sizeof(req.link), "--link",
				optarg) == -1)
				return 2;
			break;
		case 'n':
			if (req.cmd != CTLSOCK_FLOWS &&
			    req.cmd != CTLSOCK_SITES)
				goto usage;
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' ||
			    *end != '\0' || errno != 0 || n < 1 ||
			    n > ctlsock_limit_max(req.cmd)) {
				fprintf(stderr,
				    "wanpairctl: --limit \"%s\": must be a "
				    "number from 1 to %u\n",
				    optarg, ctlsock_limit_max(req.cmd));
				return 2;
			}
			req.limit = (uint32_t)n;
			break;
		case 'S':
			if (req.cmd != CTLSOCK_FLOWS &&
			    req.cmd != CTLSOCK_LINKS)
				goto usage;
			if (copy_name(req.site, sizeof(req.site), "--site",
				optarg) == -1)
				return 2;
			break;
		case 'h':
			cmd_usage(stdout, cmd);
			return 0;
		default:
			goto usage;
		}
	}
	argc -= optind;
	argv += optind;
	if (req.cmd == CTLSOCK_LINK) {
		if (argc != 2)
			goto usage;
		if (copy_name(req.link, sizeof(req.link), "link", argv[0]) ==
		    -1)
			return 2;
		if (strcmp(argv[1], "up") == 0)
			req.up = 1;
		else if (strcmp(argv[1], "down") != 0) {
			fprintf(stderr,
			    "wanpairctl: link %s: expected down or up, got "
			    "\"%s\"\n",
			    argv[0], argv[1]);
			return 2;
		}
	} else if (argc != 0)
		goto usage;

	if ((path = socket_path(sockopt, req.cmd)) == NULL)
		return 1;
	if ((result = daemonctl_ask(path, &req, err, sizeof(err))) == NULL) {
		fprintf(stderr, "wanpairctl: %s\n", err);
		return 1;
	}
	if (json) {
		json_dumpf(result, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("\n");
	} else {
		switch (req.cmd) {
		case CTLSOCK_STATUS:
			print_status(result);
			break;
		case CTLSOCK_LINKS:
			print_links(result);
			break;
		case CTLSOCK_FLOWS:
			print_flows(result);
			break;
		case CTLSOCK_SITES:
			print_sites(result);
			break;
		case CTLSOCK_CLUSTER:
			print_cluster(result);
			break;
		case CTLSOCK_COUNTERS:
			print_tree("", result);
			break;
		case CTLSOCK_RELOAD:
			printf("%s reloaded\n", str(result, "config"));
			break;
		case CTLSOCK_LINK:
			printf("link %s: admin %s, %s\n", str(result, "link"),
			    str(result, "admin"), str(result, "state"));
			break;
		case CTLSOCK_NCMD:
			break;
		}
	}
	json_decref(result);
	return fflush(stdout) == 0 ? 0 : 1;
usage:
	cmd_usage(stderr, cmd);
	return 2;
}
