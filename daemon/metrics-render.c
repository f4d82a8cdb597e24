/*
 * The Prometheus text rendering: the counters object (metrics.h) to the
 * text exposition format 0.0.4.  The server that serves it is metrics.c.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "metrics.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

enum scope {
	AT_ROOT,          /* the counters object itself */
	AT_ROOT_CONTROL,  /* its "control" */
	AT_ROOT_DROPS,    /* its "drops", a sample per key */
	AT_ROOT_IO,       /* its "io" */
	AT_ROOT_POOL,     /* its "flow_pool" (popd) */
	AT_ROOT_DUP,      /* its "duplicates" */
	AT_IO_OFFLOAD,    /* its "io"'s "offload" */
	AT_UNIT,          /* each unit itself */
	AT_UNIT_CONTROL,  /* each unit's "control" */
	AT_UNIT_FLOWS,    /* each unit's "flows" */
	AT_LINK,          /* each unit's "links" */
	AT_LINK_SLA,      /* each link's "sla", labelled profile="..." */
	AT_SITE_DROPS,    /* popd: each site's "drops", a sample per key */
	AT_CLUSTER,       /* popd: its "cluster" */
	AT_CLUSTER_QUEUE, /* ... its "queue" */
	AT_CLUSTER_MSGS,  /* ... its "messages" */
	AT_CLUSTER_SESS,  /* ... its "sessions" (cluster-session.c) */
	AT_MEMBER,        /* ... each of its "members", labelled node="N" */
	AT_FWD,           /* ... its "forwarding" */
	AT_FWD_PEER,      /* ... each of its "peers", labelled node="N" */
	AT_FWD_DROPS,     /* ... its "drops", a sample per key */
	AT_FWD_LINK_DROPS /* ... its "link_drops", a sample per key */
};

enum conv {
	V_NUM, /* number as is, true 1, false 0 */
	V_MS,  /* milliseconds to seconds */
	V_US,  /* microseconds to seconds */
	V_UP   /* "up" 1, anything else 0 */
};

struct family {
	const char *name;
	const char *type;
	const char *help;
	enum scope  at;
	const char *field;
	enum conv   conv;
};

/*
 * A "unit" is what has links and a flow table: socketd itself, or each
 * of popd's sites (labelled site="...").  Counters are _total (format
 * 0.0.4 and the naming conventions of prometheus.io), times in seconds.
 */
static const struct family families[] = {
    {"process_start_time_seconds", "gauge",
	"Start time of the process since the Unix epoch in seconds.", AT_ROOT,
	"start_time", V_NUM},
    {"wanpair_control_connected", "gauge", "1 while the control channel is up.",
	AT_UNIT_CONTROL, "connected", V_NUM},
    {"wanpair_site_session", "gauge",
	"1 while the site has a data-plane session (popd).", AT_UNIT, "session",
	V_NUM},
    {"wanpair_reassign_sent_total", "counter",
	"Failover flow moves (REASSIGN batches) sent to the PoP.",
	AT_UNIT_CONTROL, "reassign_sent", V_NUM},
    {"wanpair_reassign_applied_total", "counter",
	"REASSIGN batches applied at both ends (socketd: acknowledged).",
	AT_UNIT_CONTROL, "reassign_applied", V_NUM},
    {"wanpair_reassign_moves_total", "counter",
	"Flows put on the link the Socket chose (REASSIGN).", AT_UNIT_CONTROL,
	"reassign_moves", V_NUM},
    {"wanpair_reassign_refused_total", "counter",
	"REASSIGN moves refused: unknown or down link.", AT_UNIT_CONTROL,
	"reassign_refused", V_NUM},
    {"wanpair_link_down_notices_total", "counter",
	"Link-down notices on the data plane: copies sent (socketd), "
	"authentic copies received (popd).",
	AT_UNIT_CONTROL, "link_down_notices", V_NUM},
    {"wanpair_link_down_applied_total", "counter",
	"Links taken down by the Socket's link-down notice (popd).",
	AT_UNIT_CONTROL, "link_down_applied", V_NUM},
    {"wanpair_control_sessions", "gauge", "Sites with a data-plane session.",
	AT_ROOT_CONTROL, "sessions", V_NUM},
    {"wanpair_control_pending", "gauge",
	"Control connections still in their TLS handshake.", AT_ROOT_CONTROL,
	"pending", V_NUM},
    {"wanpair_control_refused_total", "counter",
	"Control connections refused at accept, for any limit.",
	AT_ROOT_CONTROL, "refused", V_NUM},
    {"wanpair_control_connections", "gauge",
	"Control connections open, in handshake and closing included.",
	AT_ROOT_CONTROL, "connections", V_NUM},
    {"wanpair_control_handshake_timeouts_total", "counter",
	"Control connections closed without HELLO by "
	"limits.handshake_timeout_s.",
	AT_ROOT_CONTROL, "handshake_timeouts", V_NUM},
    {"wanpair_control_handshake_failures_total", "counter",
	"Control connections that ended before their site was welcomed: TLS "
	"or certificate refused, bad HELLO, timed out, evicted or closed.",
	AT_ROOT_CONTROL, "handshake_failures", V_NUM},
    {"wanpair_control_handshakes_evicted_total", "counter",
	"Oldest pending handshakes dropped to admit a new one.",
	AT_ROOT_CONTROL, "handshakes_evicted", V_NUM},
    {"wanpair_control_refused_per_source_total", "counter",
	"Control connections refused by limits.handshakes_per_source.",
	AT_ROOT_CONTROL, "refused_per_source", V_NUM},
    {"wanpair_control_refused_connections_total", "counter",
	"Control connections refused by limits.connections.", AT_ROOT_CONTROL,
	"refused_total", V_NUM},
    {"wanpair_control_replaced_total", "counter",
	"Control connections replaced by a newer one of the same site.",
	AT_ROOT_CONTROL, "replaced", V_NUM},
    {"wanpair_control_output_overflows_total", "counter",
	"Control connections closed for not reading (limits.output_kib).",
	AT_ROOT_CONTROL, "output_overflows", V_NUM},
    {"wanpair_control_rate_limited_total", "counter",
	"Control connections closed for a frame flood (limits.frames_per_s).",
	AT_ROOT_CONTROL, "rate_limited", V_NUM},
    {"wanpair_control_input_throttled_total", "counter",
	"Control connection reads held back by limits.input_kib_per_s or "
	"limits.input_total_kib_per_s.",
	AT_ROOT_CONTROL, "input_throttled", V_NUM},
    {"wanpair_control_bad_frames_total", "counter",
	"Control connections closed for a malformed, oversized or unknown "
	"frame.",
	AT_ROOT_CONTROL, "bad_frames", V_NUM},
    {"wanpair_ctl_evicted_total", "counter",
	"Control socket clients closed to make room for a newer one.", AT_ROOT,
	"ctl_evicted", V_NUM},
    {"wanpair_ctl_streams_total", "counter",
	"Control socket answers sent a chunk of rows at a time.", AT_ROOT,
	"ctl_streams", V_NUM},
    {"wanpair_ctl_out_peak_bytes", "gauge",
	"The most bytes one control socket client's output has held.", AT_ROOT,
	"ctl_out_peak_bytes", V_NUM},
    {"wanpair_ctl_turn_max_seconds", "gauge",
	"The longest the control socket held the event loop at once.", AT_ROOT,
	"ctl_turn_max_us", V_US},
    {"wanpair_duplicates_sent_total", "counter",
	"Packets of duplicating profiles sent twice, on two links.",
	AT_ROOT_DUP, "sent", V_NUM},
    {"wanpair_duplicates_delivered_total", "counter",
	"First copies of duplicated packets delivered.", AT_ROOT_DUP,
	"delivered", V_NUM},
    {"wanpair_duplicates_discarded_total", "counter",
	"Second (or too late) copies of duplicated packets dropped.",
	AT_ROOT_DUP, "discarded", V_NUM},
    {"wanpair_duplicates_over_cap_total", "counter",
	"Packets of duplicating profiles sent once: over duplicate_max_pps.",
	AT_ROOT_DUP, "over_cap", V_NUM},
    {"wanpair_duplicates_single_total", "counter",
	"Packets of duplicating profiles sent once: no other link up, or too "
	"large.",
	AT_ROOT_DUP, "single", V_NUM},
    {"wanpair_duplicates_bad_total", "counter",
	"Duplicates dropped: header not decoded, or not the sender's stream.",
	AT_ROOT_DUP, "bad", V_NUM},
    {"wanpair_metrics_evicted_total", "counter",
	"Metrics connections closed to make room for a newer one.", AT_ROOT,
	"metrics_evicted", V_NUM},
    {"wanpair_metrics_limited_total", "counter",
	"Scrapes refused (429) past their source's rate.", AT_ROOT,
	"metrics_limited", V_NUM},
    {"wanpair_sessions_expired_total", "counter",
	"Data-plane sessions ended after session_grace_s without a control "
	"channel.",
	AT_ROOT_CONTROL, "sessions_expired", V_NUM},
    {"wanpair_flows", "gauge", "Flows in the flow table.", AT_UNIT_FLOWS,
	"count", V_NUM},
    {"wanpair_flows_max", "gauge",
	"Size of the flow table: flows.max (popd: the site's flows_max).",
	AT_UNIT_FLOWS, "max", V_NUM},
    {"wanpair_flows_created_total", "counter", "Flows created.", AT_UNIT_FLOWS,
	"new", V_NUM},
    {"wanpair_flow_evictions_total", "counter",
	"Flows evicted, idle longest first, from a full flow table.",
	AT_UNIT_FLOWS, "evictions", V_NUM},
    {"wanpair_flows_refused_total", "counter",
	"New flows refused: the pool had no entry and the table none to "
	"evict.",
	AT_UNIT_FLOWS, "refused", V_NUM},
    {"wanpair_flow_pool_used", "gauge",
	"Entries of popd's flow pool in the sites' tables.", AT_ROOT_POOL,
	"used", V_NUM},
    {"wanpair_flow_pool_max", "gauge", "Size of popd's flow pool (flows.max).",
	AT_ROOT_POOL, "max", V_NUM},
    {"wanpair_flow_pool_bytes", "gauge", "Memory of popd's flow pool.",
	AT_ROOT_POOL, "bytes", V_NUM},
    {"wanpair_link_up", "gauge", "1 if the link carries flows, 0 if down.",
	AT_LINK, "state", V_UP},
    {"wanpair_link_admin_up", "gauge", "0 if an operator took the link down.",
	AT_LINK, "admin", V_UP},
    {"wanpair_link_weight", "gauge",
	"The link's balancing weight: new flows go to the up links in "
	"proportion (socketd: upstream, popd: downstream).",
	AT_LINK, "weight", V_NUM},
    {"wanpair_link_rtt_seconds", "gauge",
	"Smoothed round-trip time of the link's probes.", AT_LINK, "rtt_ms",
	V_MS},
    {"wanpair_link_jitter_seconds", "gauge",
	"Round-trip jitter of the link's probes.", AT_LINK, "jitter_ms", V_MS},
    {"wanpair_link_loss_ratio", "gauge",
	"Probes lost, moving average over about 64 probes, 0..1.", AT_LINK,
	"loss", V_NUM},
    {"wanpair_link_mos", "gauge",
	"Estimated voice quality (MOS, 1..4.5) from the probes' RTT, jitter "
	"and loss: ITU-T G.107's E-model as monitoring tools simplify it.",
	AT_LINK, "mos", V_NUM},
    {"wanpair_link_idle_seconds", "gauge",
	"Time since the site last sent an authenticated packet on the link.",
	AT_LINK, "idle_ms", V_MS},
    {"wanpair_link_tx_packets_total", "counter",
	"Datagrams sent on the link, data and probes.", AT_LINK, "tx_packets",
	V_NUM},
    {"wanpair_link_tx_bytes_total", "counter",
	"UDP payload bytes sent on the link.", AT_LINK, "tx_bytes", V_NUM},
    {"wanpair_link_rx_packets_total", "counter",
	"Authenticated datagrams received on the link.", AT_LINK, "rx_packets",
	V_NUM},
    {"wanpair_link_rx_bytes_total", "counter",
	"UDP payload bytes of authenticated datagrams received on the link.",
	AT_LINK, "rx_bytes", V_NUM},
    {"wanpair_link_tx_errors_total", "counter",
	"Datagrams the link's socket could not send.", AT_LINK, "tx_errors",
	V_NUM},
    {"wanpair_link_flows", "gauge", "Flows now on the link.", AT_LINK, "flows",
	V_NUM},
    {"wanpair_link_flows_created_total", "counter",
	"Flows placed on the link when they were created.", AT_LINK,
	"new_flows", V_NUM},
    {"wanpair_link_probes_sent_total", "counter", "Probes sent on the link.",
	AT_LINK, "probes_sent", V_NUM},
    {"wanpair_link_probes_lost_total", "counter",
	"Probes declared lost on the link.", AT_LINK, "probes_lost", V_NUM},
    {"wanpair_link_sla_degraded", "gauge",
	"1 while the link is over the profile's service levels (brownout): "
	"it takes no new flows of the profile while a compliant link is up.",
	AT_LINK_SLA, "degraded", V_NUM},
    {"wanpair_link_sla_violations_total", "counter",
	"Windows in which the link was over the profile's service levels "
	"(socketd, which judges them).",
	AT_LINK_SLA, "violations", V_NUM},
    {"wanpair_udp_gso_enabled", "gauge",
	"1 while the data sockets send runs of datagrams with UDP_SEGMENT.",
	AT_IO_OFFLOAD, "udp_gso", V_NUM},
    {"wanpair_udp_gro_enabled", "gauge",
	"1 while the data sockets receive with UDP_GRO.", AT_IO_OFFLOAD,
	"udp_gro", V_NUM},
    {"wanpair_tun_reads_total", "counter", "Reads of the TUN device.",
	AT_ROOT_IO, "tun_reads", V_NUM},
    {"wanpair_tun_writes_total", "counter", "Writes to the TUN device.",
	AT_ROOT_IO, "tun_writes", V_NUM},
    {"wanpair_tun_superseg_reads_total", "counter",
	"TUN reads that were TCP or UDP super-segments (TSO/USO).", AT_ROOT_IO,
	"tun_superseg_in", V_NUM},
    {"wanpair_tun_merged_packets_total", "counter",
	"Packets written to the TUN device merged into super-segments.",
	AT_ROOT_IO, "tun_merged_out", V_NUM},
    {"wanpair_tun_split_errors_total", "counter",
	"TUN reads that could not be cut into packets, dropped.", AT_ROOT_IO,
	"tun_split_errors", V_NUM},
    {"wanpair_udp_recv_calls_total", "counter",
	"recvmmsg calls on the data sockets.", AT_ROOT_IO, "udp_recv_calls",
	V_NUM},
    {"wanpair_udp_datagrams_in_total", "counter",
	"Datagrams received on the data sockets.", AT_ROOT_IO, "udp_dgrams_in",
	V_NUM},
    {"wanpair_udp_gro_messages_total", "counter",
	"Received messages that carried several datagrams (UDP_GRO).",
	AT_ROOT_IO, "udp_gro_msgs", V_NUM},
    {"wanpair_udp_send_calls_total", "counter",
	"sendmmsg calls on the data sockets.", AT_ROOT_IO, "udp_send_calls",
	V_NUM},
    {"wanpair_udp_datagrams_out_total", "counter",
	"Datagrams the kernel took on the data sockets.", AT_ROOT_IO,
	"udp_dgrams_out", V_NUM},
    {"wanpair_udp_gso_messages_total", "counter",
	"Messages sent with UDP_SEGMENT, each a run of datagrams.", AT_ROOT_IO,
	"udp_gso_msgs", V_NUM},
    {"wanpair_udp_tx_failed_total", "counter",
	"Datagrams the kernel refused or had no room for, dropped.", AT_ROOT_IO,
	"udp_tx_failed", V_NUM},
    {"wanpair_cluster_connected", "gauge",
	"1 while popd is in its corosync CPG group.", AT_CLUSTER, "connected",
	V_NUM},
    {"wanpair_cluster_members_joined", "gauge",
	"Configured cluster members in the group, this node included.",
	AT_CLUSTER, "members_joined", V_NUM},
    {"wanpair_cluster_reconnects_total", "counter",
	"Connections to corosync made again after one was lost.", AT_CLUSTER,
	"reconnects", V_NUM},
    {"wanpair_cluster_member_joined", "gauge",
	"1 while the member is in the group, its id and address checked.",
	AT_MEMBER, "joined", V_NUM},
    {"wanpair_cluster_member_joins_total", "counter",
	"Times the member joined the group.", AT_MEMBER, "joins", V_NUM},
    {"wanpair_cluster_member_leaves_total", "counter",
	"Times the member left the group.", AT_MEMBER, "leaves", V_NUM},
    {"wanpair_cluster_queue_depth", "gauge",
	"Cluster messages waiting for corosync to take them.", AT_CLUSTER_QUEUE,
	"depth", V_NUM},
    {"wanpair_cluster_queue_overflows_total", "counter",
	"Cluster messages not queued: the send queue was full.",
	AT_CLUSTER_QUEUE, "overflows", V_NUM},
    {"wanpair_cluster_sends_deferred_total", "counter",
	"Sends corosync deferred (CS_ERR_TRY_AGAIN).", AT_CLUSTER_QUEUE,
	"try_again", V_NUM},
    {"wanpair_cluster_messages_sent_total", "counter",
	"Cluster messages multicast to the group.", AT_CLUSTER_MSGS, "sent",
	V_NUM},
    {"wanpair_cluster_messages_received_total", "counter",
	"Cluster messages delivered from the group, own ones included.",
	AT_CLUSTER_MSGS, "received", V_NUM},
    {"wanpair_cluster_messages_bad_total", "counter",
	"Cluster messages dropped as malformed.", AT_CLUSTER_MSGS, "bad",
	V_NUM},
    {"wanpair_cluster_messages_unknown_node_total", "counter",
	"HELLOs from a node id not among cluster.members, ignored.",
	AT_CLUSTER_MSGS, "unknown_node", V_NUM},
    {"wanpair_cluster_messages_conflicts_total", "counter",
	"HELLOs at another address than configured, or for a node another "
	"process is already, ignored.",
	AT_CLUSTER_MSGS, "conflicts", V_NUM},
    {"wanpair_cluster_sessions_own", "gauge",
	"Sites' sessions this node holds the control channel of, backed up "
	"to the members.",
	AT_CLUSTER_SESS, "own", V_NUM},
    {"wanpair_cluster_sessions_held", "gauge",
	"Backups of other members' sites' sessions held here.", AT_CLUSTER_SESS,
	"held", V_NUM},
    {"wanpair_cluster_sessions_sealing", "gauge",
	"Backups held here that may seal return packets (granted to this "
	"process).",
	AT_CLUSTER_SESS, "sealing", V_NUM},
    {"wanpair_cluster_sessions_sent_total", "counter",
	"SESSION messages multicast to the group.", AT_CLUSTER_SESS, "sent",
	V_NUM},
    {"wanpair_cluster_sessions_installed_total", "counter",
	"Backups installed from other members' SESSIONs.", AT_CLUSTER_SESS,
	"installed", V_NUM},
    {"wanpair_cluster_sessions_stepped_down_total", "counter",
	"Sessions this node held that a newer one at another member "
	"replaced.",
	AT_CLUSTER_SESS, "stepped_down", V_NUM},
    {"wanpair_cluster_sessions_bad_total", "counter",
	"SESSION messages that did not open or decode, dropped.",
	AT_CLUSTER_SESS, "bad", V_NUM},
    {"wanpair_cluster_packets_handled_total", "counter",
	"Packets of flows this node owns, handled here.", AT_FWD, "handled",
	V_NUM},
    {"wanpair_cluster_packets_forwarded_total", "counter",
	"Packets forwarded to another member (FORWARD).", AT_FWD, "forwarded",
	V_NUM},
    {"wanpair_cluster_firsts_sent_total", "counter",
	"Packets returned as FIRST by this node as a flow's director.", AT_FWD,
	"firsts_sent", V_NUM},
    {"wanpair_cluster_firsts_received_total", "counter",
	"FIRSTs received: flows this node came to own.", AT_FWD,
	"firsts_received", V_NUM},
    {"wanpair_cluster_hints_sent_total", "counter",
	"OWNER_HINTs sent to a receiving node.", AT_FWD, "hints_sent", V_NUM},
    {"wanpair_cluster_hints_received_total", "counter", "OWNER_HINTs received.",
	AT_FWD, "hints_received", V_NUM},
    {"wanpair_cluster_flows_owned", "gauge", "Flow entries this node owns.",
	AT_FWD, "flows_owned", V_NUM},
    {"wanpair_cluster_flow_backups", "gauge",
	"Flow entries other members own, held as backups.", AT_FWD,
	"backups_held", V_NUM},
    {"wanpair_cluster_flows_created_total", "counter",
	"Flows that got this node as their owner when they began.", AT_FWD,
	"flows_created", V_NUM},
    {"wanpair_cluster_flows_taken_over_total", "counter",
	"Flows this node took over from members that left.", AT_FWD,
	"taken_over", V_NUM},
    {"wanpair_cluster_sync_queue_depth", "gauge",
	"Flows whose backup waits to be multicast.", AT_FWD, "sync_queue_depth",
	V_NUM},
    {"wanpair_cluster_sync_queue_overflows_total", "counter",
	"Flow backups not queued (full): a full resync follows.", AT_FWD,
	"sync_queue_overflows", V_NUM},
    {"wanpair_cluster_flow_messages_sent_total", "counter",
	"FLOW messages multicast.", AT_FWD, "flow_messages_sent", V_NUM},
    {"wanpair_cluster_flow_messages_received_total", "counter",
	"FLOW messages delivered, own ones included.", AT_FWD,
	"flow_messages_received", V_NUM},
    {"wanpair_cluster_flow_messages_bad_total", "counter",
	"FLOW messages dropped as malformed or not the sender's.", AT_FWD,
	"flow_messages_bad", V_NUM},
    {"wanpair_cluster_peer_tx_packets_total", "counter",
	"Cluster-link datagrams sent to the member.", AT_FWD_PEER, "tx_packets",
	V_NUM},
    {"wanpair_cluster_peer_tx_bytes_total", "counter",
	"Cluster-link bytes sent to the member.", AT_FWD_PEER, "tx_bytes",
	V_NUM},
    {"wanpair_cluster_peer_rx_packets_total", "counter",
	"Cluster-link datagrams from the member that authenticated.",
	AT_FWD_PEER, "rx_packets", V_NUM},
    {"wanpair_cluster_peer_rx_bytes_total", "counter",
	"Cluster-link bytes from the member that authenticated.", AT_FWD_PEER,
	"rx_bytes", V_NUM},
    {"wanpair_cluster_forward_drops_total", "counter",
	"Packets the forwarding dropped, by reason.", AT_FWD_DROPS, NULL,
	V_NUM},
    {"wanpair_cluster_link_drops_total", "counter",
	"Cluster-link datagrams refused on receipt, by reason.",
	AT_FWD_LINK_DROPS, NULL, V_NUM},
    {"wanpair_drops_total", "counter", "Packets dropped, by reason.",
	AT_ROOT_DROPS, NULL, V_NUM},
    {"wanpair_site_drops_total", "counter",
	"Packets from or to a site dropped, by reason.", AT_SITE_DROPS, NULL,
	V_NUM},
};

#define MAX_LABELS 3

struct labels {
	const char *name[MAX_LABELS];
	const char *value[MAX_LABELS];
	size_t      n;
};

/* Label values escape \, " and newline (format 0.0.4); nothing else. */
static int
add_escaped(struct evbuffer *b, const char *s)
{
	const char *run = s;
	int         rc = 0;

	for (; *s != '\0'; s++) {
		const char *esc = *s == '\\' ? "\\\\"
		    : *s == '"'              ? "\\\""
		    : *s == '\n'             ? "\\n"
					     : NULL;

		if (esc == NULL)
			continue;
		rc |= evbuffer_add(b, run, (size_t)(s - run));
		rc |= evbuffer_add(b, esc, 2);
		run = s + 1;
	}
	rc |= evbuffer_add(b, run, (size_t)(s - run));
	return rc;
}

/* 1 with *out set if v gives a sample, 0 if it gives none. */
static int
sample_value(const json_t *v, enum conv conv, char *out, size_t len)
{
	double d;

	if (conv == V_UP) {
		if (!json_is_string(v))
			return 0;
		snprintf(
		    out, len, "%d", strcmp(json_string_value(v), "up") == 0);
		return 1;
	}
	if (json_is_boolean(v)) {
		snprintf(out, len, "%d", json_is_true(v));
		return 1;
	}
	if (conv == V_NUM && json_is_integer(v)) {
		snprintf(out, len, "%lld", (long long)json_integer_value(v));
		return 1;
	}
	if (!json_is_number(v))
		return 0;
	d = json_number_value(v);
	if (conv == V_MS)
		d /= 1000;
	else if (conv == V_US)
		d /= 1000000;
	/* 9 digits: microseconds of an RTT, ppb of a loss ratio. */
	snprintf(out, len, "%.9g", d);
	return 1;
}

static int
sample(struct evbuffer *b, const char *name, const struct labels *l,
    const json_t *v, enum conv conv)
{
	char   val[64];
	size_t i;
	int    rc;

	if (v == NULL || !sample_value(v, conv, val, sizeof(val)))
		return 0;
	rc = evbuffer_add_printf(b, "%s", name) < 0;
	for (i = 0; i < l->n; i++) {
		rc |= evbuffer_add_printf(
			  b, "%s%s=\"", i == 0 ? "{" : ",", l->name[i]) < 0;
		rc |= add_escaped(b, l->value[i]);
		rc |= evbuffer_add(b, "\"", 1);
	}
	rc |= evbuffer_add_printf(b, "%s %s\n", l->n > 0 ? "}" : "", val) < 0;
	return rc != 0 ? -1 : 0;
}

static const char *
name_of(const json_t *o)
{
	const char *s = json_string_value(json_object_get(o, "name"));

	return s != NULL ? s : "";
}

/* One sample per member of `drops`: reason = key. */
static int
drop_samples(
    struct evbuffer *b, const char *name, struct labels *l, const json_t *drops)
{
	const char *key;
	json_t     *v;
	int         rc = 0;

	l->name[l->n] = "reason";
	json_object_foreach((json_t *)drops, key, v)
	{
		l->value[l->n] = key;
		l->n++;
		rc |= sample(b, name, l, v, V_NUM);
		l->n--;
	}
	return rc;
}

/* One sample per cluster member (or forwarding peer), node="N". */
static int
member_samples(struct evbuffer *b, const struct family *f, const json_t *root)
{
	const json_t *m, *cl = json_object_get(root, "cluster");
	struct labels l = {{"node"}, {NULL}, 1};
	char          node[16];
	size_t        i;
	int           rc = 0;

	json_array_foreach(f->at == AT_FWD_PEER
		? json_object_get(json_object_get(cl, "forwarding"), "peers")
		: json_object_get(cl, "members"),
	    i, m)
	{
		snprintf(node, sizeof(node), "%lld",
		    (long long)json_integer_value(json_object_get(m, "node")));
		l.value[0] = node;
		rc |= sample(
		    b, f->name, &l, json_object_get(m, f->field), f->conv);
	}
	return rc;
}

/* The samples of one family, for every unit, link or reason it has. */
static int
family_samples(struct evbuffer *b, const struct family *f, const json_t *root)
{
	const json_t *sites = json_object_get(root, "sites");
	const json_t *unit, *link;
	struct labels l = {{NULL}, {NULL}, 0};
	size_t        i, j, nunits;
	int           rc = 0;

	switch (f->at) {
	case AT_ROOT:
		return sample(
		    b, f->name, &l, json_object_get(root, f->field), f->conv);
	case AT_ROOT_CONTROL:
		return sample(b, f->name, &l,
		    json_object_get(json_object_get(root, "control"), f->field),
		    f->conv);
	case AT_ROOT_DROPS:
		return drop_samples(
		    b, f->name, &l, json_object_get(root, "drops"));
	case AT_ROOT_IO:
		return sample(b, f->name, &l,
		    json_object_get(json_object_get(root, "io"), f->field),
		    f->conv);
	case AT_ROOT_POOL:
		return sample(b, f->name, &l,
		    json_object_get(
			json_object_get(root, "flow_pool"), f->field),
		    f->conv);
	case AT_ROOT_DUP:
		return sample(b, f->name, &l,
		    json_object_get(
			json_object_get(root, "duplicates"), f->field),
		    f->conv);
	case AT_IO_OFFLOAD:
		return sample(b, f->name, &l,
		    json_object_get(
			json_object_get(json_object_get(root, "io"), "offload"),
			f->field),
		    f->conv);
	case AT_CLUSTER:
		return sample(b, f->name, &l,
		    json_object_get(json_object_get(root, "cluster"), f->field),
		    f->conv);
	case AT_CLUSTER_QUEUE:
	case AT_CLUSTER_MSGS:
	case AT_CLUSTER_SESS:
		return sample(b, f->name, &l,
		    json_object_get(
			json_object_get(json_object_get(root, "cluster"),
			    f->at == AT_CLUSTER_QUEUE      ? "queue"
				: f->at == AT_CLUSTER_MSGS ? "messages"
							   : "sessions"),
			f->field),
		    f->conv);
	case AT_MEMBER:
	case AT_FWD_PEER:
		return member_samples(b, f, root);
	case AT_FWD:
		return sample(b, f->name, &l,
		    json_object_get(
			json_object_get(
			    json_object_get(root, "cluster"), "forwarding"),
			f->field),
		    f->conv);
	case AT_FWD_DROPS:
	case AT_FWD_LINK_DROPS:
		return drop_samples(b, f->name, &l,
		    json_object_get(
			json_object_get(
			    json_object_get(root, "cluster"), "forwarding"),
			f->at == AT_FWD_DROPS ? "drops" : "link_drops"));
	default:
		break;
	}
	/* Per unit: popd's sites, or socketd itself. */
	nunits = json_is_array(sites) ? json_array_size(sites) : 1;
	for (i = 0; i < nunits; i++) {
		const json_t *links;

		l.n = 0;
		unit = root;
		if (json_is_array(sites)) {
			unit = json_array_get(sites, i);
			l.name[0] = "site";
			l.value[0] = name_of(unit);
			l.n = 1;
		}
		switch (f->at) {
		case AT_UNIT:
			/* socketd's root is no site: its fields are not */
			if (json_is_array(sites))
				rc |= sample(b, f->name, &l,
				    json_object_get(unit, f->field), f->conv);
			break;
		case AT_UNIT_CONTROL:
			rc |= sample(b, f->name, &l,
			    json_object_get(
				json_object_get(unit, "control"), f->field),
			    f->conv);
			break;
		case AT_UNIT_FLOWS:
			rc |= sample(b, f->name, &l,
			    json_object_get(
				json_object_get(unit, "flows"), f->field),
			    f->conv);
			break;
		case AT_LINK:
			links = json_object_get(unit, "links");
			l.name[l.n] = "link";
			l.n++;
			json_array_foreach((json_t *)links, j, link)
			{
				l.value[l.n - 1] = name_of(link);
				rc |= sample(b, f->name, &l,
				    json_object_get(link, f->field), f->conv);
			}
			break;
		case AT_LINK_SLA:
			links = json_object_get(unit, "links");
			l.name[l.n] = "link";
			l.name[l.n + 1] = "profile";
			l.n += 2;
			json_array_foreach((json_t *)links, j, link)
			{
				const json_t *p;
				size_t        k;

				l.value[l.n - 2] = name_of(link);
				json_array_foreach(
				    json_object_get(link, "sla"), k, p)
				{
					l.value[l.n - 1] = json_string_value(
					    json_object_get(p, "profile"));
					if (l.value[l.n - 1] == NULL)
						continue;
					rc |= sample(b, f->name, &l,
					    json_object_get(p, f->field),
					    f->conv);
				}
			}
			break;
		case AT_SITE_DROPS:
			if (json_is_array(sites))
				rc |= drop_samples(b, f->name, &l,
				    json_object_get(unit, "drops"));
			break;
		default:
			break;
		}
	}
	return rc;
}

int
metrics_render(const json_t *c, struct evbuffer *out)
{
	struct evbuffer *tmp = NULL;
	struct labels    l = {{"daemon", "version"}, {NULL}, 2};
	size_t           i;
	int              rc = -1;

	l.value[0] = json_string_value(json_object_get(c, "daemon"));
	l.value[1] = json_string_value(json_object_get(c, "version"));
	if (l.value[0] == NULL || (tmp = evbuffer_new()) == NULL)
		goto out;
	if (l.value[1] == NULL)
		l.value[1] = "";
	if (evbuffer_add_printf(out,
		"# HELP wanpair_build_info The daemon and its version.\n"
		"# TYPE wanpair_build_info gauge\n") < 0 ||
	    sample(out, "wanpair_build_info", &l, json_true(), V_NUM) == -1)
		goto out;
	for (i = 0; i < NELEM(families); i++) {
		const struct family *f = &families[i];

		if (family_samples(tmp, f, c) != 0)
			goto out;
		/* A family without samples (popd has no rtt, socketd no
		 * sessions) is left out rather than announced empty. */
		if (evbuffer_get_length(tmp) == 0)
			continue;
		if (evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n",
			f->name, f->help, f->name, f->type) < 0 ||
		    evbuffer_add_buffer(out, tmp) == -1)
			goto out;
	}
	rc = 0;
out:
	if (tmp != NULL)
		evbuffer_free(tmp);
	return rc;
}
