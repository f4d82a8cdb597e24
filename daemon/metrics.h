/*
 * The Prometheus text endpoint (exposition format 0.0.4) of both daemons.
 *
 * There is one source of numbers: the daemon's counters object, the same
 * JSON `wanpairctl counters --json` prints (socketd_counters(),
 * popd_counters()).  The endpoint asks for a fresh one on every scrape and
 * renders it with metrics_render(), so the two views cannot disagree.
 *
 * The counters object (fields absent or null are not known and produce no
 * sample):
 *
 *	daemon      "wanpair-socketd" | "wanpair-popd"
 *	version     PACKAGE_VERSION
 *	start_time  unix seconds the process started
 *	control     socketd: {"state": "up" | "connecting" | "down",
 *	            "connected": bool (WELCOME received), "link": name,
 *	            "reassign_sent": failover batches (REASSIGN) queued for
 *	            the PoP, "reassign_applied": ... acknowledged whole,
 *	            "link_down_notices": link-down notices (copies) sent on
 *	            the data plane (proto/linkdown.h),
 *	            "sessions_expired": keys dropped after session_grace_s
 *	            without a channel}
 *	            popd: {"sessions": sites with a session, "pending":
 *	            handshakes under way, "connections": control
 *	            connections open (pending and closing included),
 *	            "refused": connections refused at accept, the sum of
 *	            "refused_per_source" (limits.handshakes_per_source) and
 *	            "refused_total" (limits.connections),
 *	            "handshake_timeouts": closed without HELLO in
 *	            limits.handshake_timeout_s, "handshake_failures":
 *	            connections that ended before WELCOME for any reason
 *	            (these two included), "handshakes_evicted": oldest
 *	            pending dropped to admit a new one, "replaced": closed
 *	            for a newer connection of the same site,
 *	            "output_overflows": closed past limits.output_kib,
 *	            "rate_limited": closed past limits.frames_per_s,
 *	            "bad_frames": closed for a malformed, oversized or
 *	            unknown frame, "input_throttled": reads held back
 *	            by limits.input_kib_per_s or input_total_kib_per_s,
 *	            "sessions_expired": sessions ended after
 *	            session_grace_s without a channel}
 *	flows       socketd: {"count", "max", "evictions", "new"} of the flow
 *	            table; popd has one per site (below)
 *	flow_pool   popd: {"used": entries in the sites' tables, "max":
 *	            flows.max, "bytes": its memory}, allocated at start
 *	links       socketd: [{"name", "state": "up" | "down", "cause":
 *	            "none" | "admin" | "carrier" | "probes", "admin": "up" |
 *	            "down", "rtt_ms", "jitter_ms" (microsecond precision; null
 *	            before the first answered probe), "loss" (0..1), "mos"
 *	            (estimated voice quality, 1..4.5, common/mos.h; null
 *	            before the first answered probe), "tx_packets", "tx_bytes",
 *	            "rx_packets", "rx_bytes", "tx_errors", "flows" (now on the
 *	            link), "new_flows" (ever placed on it), "probes_sent",
 *	            "probes_answered", "probes_lost", "weight": the
 *	            balancing weight, by upstream, "sla": [one per profile
 *	            with service levels: {"profile", "degraded": bool,
 *	            "reason", "since_s", "violations": windows over a limit,
 *	            the last window's "loss", "rtt_ms", "jitter_ms"}]}]
 *	sites       popd: [{"name", "session": bool, "control":
 *	            {"connected": bool, "link_down_notices": the Socket's
 *	            link-down notices received (every authentic copy),
 *	            "link_down_applied": ... that took a link down,
 *	            "reassign_applied": REASSIGN batches
 *	            applied, "reassign_moves": flows put on the Socket's
 *	            link, "reassign_refused": moves to an unknown or down
 *	            link}, "flows": {as above, "max" the site's flows_max,
 *	            and "refused": new flows with no entry to be had},
 *	            "links":
 *	            [{"name", "state", "tx_packets", "tx_bytes", "rx_packets",
 *	            "rx_bytes", "flows", "new_flows", "idle_ms",
 *	            "endpoint_changes": the site's address on the link moved
 *	            (NAT rebinding, roaming), "weight": by downstream,
 *	            "sla": [{"profile", "degraded": bool: the Socket's
 *	            verdict}, one per profile of popd.json]}],
 *	            "drops":
 *	            {reason: count}}]  (popd does not probe: no rtt, jitter,
 *	            loss or mos)
 *	drops       {reason: packets dropped}, every drop counter the daemon
 *	            keeps, reason in snake_case; both daemons have
 *	            "bad_header", "no_session", "replayed",
 *	            "unauthenticated", "key_exhausted" (not sealed: the key
 *	            reached its hard limit and the next could not be
 *	            derived, keyring.h) and "tun_write" (opened, but the TUN
 *	            device did not take it), dataev_drops_json()
 *	io          {"offload": {"tun": "tso4 tso6 uso4 uso6" (those in use,
 *	            "" for none), "udp_gso": bool, "udp_gro": bool},
 *	            "tun_reads", "tun_writes", "tun_superseg_in",
 *	            "tun_merged_out", "tun_split_errors", "udp_recv_calls",
 *	            "udp_dgrams_in", "udp_gro_msgs", "udp_send_calls",
 *	            "udp_dgrams_out", "udp_gso_msgs", "udp_tx_failed"}
 *	            (dataev_io_json(); as wanpair_tun_* and wanpair_udp_*)
 *	cluster     popd with a "cluster" section only (popd/cluster.c):
 *	            {"node": this node's id, "group": the CPG group,
 *	            "address", "port": this node's cluster link,
 *	            "connected": bool (in the CPG group), "corosync_nodeid"
 *	            (0 while not connected), "group_processes": processes in
 *	            the group at the last change, "members_joined",
 *	            "reconnects": connections to corosync made again,
 *	            "members": [{"node", "address", "state": "joined" |
 *	            "left" | "unknown" (not seen since start), "joined":
 *	            bool, "self": bool, "since": unix seconds of the state
 *	            (0: never), "since_s" (-1: never), "joins", "leaves",
 *	            and while joined "corosync_nodeid", "pid"}], "queue":
 *	            {"depth", "max", "overflows": messages not queued, full,
 *	            "try_again": sends corosync deferred}, "messages":
 *	            {"sent", "received", "bad": malformed, "unknown_node":
 *	            HELLOs of an id not configured, "conflicts": HELLOs at
 *	            another address, or for a node another process is},
 *	            "sessions": {"own": sites' sessions this node holds,
 *	            "held": backups of other members', "sealing": backups
 *	            granted to this process, "pending": SESSIONs waiting,
 *	            "sent", "received", "installed", "updated",
 *	            "replaced", "stepped_down", "bad": did not open or
 *	            decode, "unknown_site": a site this node has not at
 *	            that index, "mismatch": other members or workers, or
 *	            an id not of its sender's position, "stale": an id
 *	            replaced or ended here, "keys_missing", "wants_sent",
 *	            "wants_received", "wants_answered": WANTs of keys a
 *	            backup lacked (sent), of this node's sessions
 *	            (received, and those that brought keys), "overflows",
 *	            "worker_bytes": members * workers}}
 *	            (popd/cluster-session.c; doc/CLUSTER.md),
 *	            "forwarding" (popd/forward.c): {"handled", "forwarded",
 *	            "firsts_sent", "firsts_received", "hints_sent",
 *	            "hints_received", "flows_owned", "backups_held",
 *	            "flows_max", "flows_created", "taken_over",
 *	            "sync_queue_depth",
 *	            "sync_queue_max", "sync_queue_overflows",
 *	            "flow_messages_sent", "flow_messages_received",
 *	            "flow_messages_bad", "flow_entries_sent", "sealed",
 *	            "opened", "peers": [{"node", "live": bool, "tx_packets",
 *	            "tx_bytes", "rx_packets", "rx_bytes"}], "drops":
 *	            {reason: packets}, "link_drops": {cw_err_str(): datagrams}}}
 *	            (wanpair_cluster_*, members and peers labelled node="N",
 *	            drops reason="...")
 *	duplicates  {"sent": packets of duplicating profiles sent twice,
 *	            "delivered": first copies delivered, "discarded":
 *	            second or too late copies dropped, "over_cap": sent
 *	            once over duplicate_max_pps, "single": sent once with
 *	            no other link up or too large, "bad": a WIRE_DUP whose
 *	            header does not decode} (common/dup.h; popd: every
 *	            site's; as wanpair_duplicates_*)
 *	ctl_evicted, metrics_evicted  clients of the control socket and of
 *	            this endpoint closed to make room for a newer one;
 *	metrics_limited  scrapes refused (429) past their source's rate
 *
 * tx/rx are as seen by the daemon reporting them: socketd's tx is
 * upstream, popd's tx downstream.  All counts are since the process
 * started (a reload keeps them).
 *
 * Functions return 0 or -1; none logs: metrics_new() says why in err.
 */
#ifndef WANPAIR_METRICS_H
#define WANPAIR_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>

#include "addr.h"

/* Returns a new counters object (the endpoint json_decref()s it), or NULL
 * (the scrape fails with 500). */
typedef json_t *(*metrics_snapshot_fn)(void *arg);

struct metrics;

/*
 * Listens on addr:port and serves GET (and HEAD) /metrics; other paths
 * 404, other methods 405.  Returns NULL with err set if the socket cannot
 * be bound.  metrics_free() stops it; NULL is fine there.
 */
struct metrics *metrics_new(struct event_base *, const struct wp_addr *,
    uint16_t port, metrics_snapshot_fn, void *arg, char *err, size_t errlen);
void            metrics_free(struct metrics *);
/* Connections closed to make room for a newer one (evict_one()). */
uint64_t metrics_evicted(const struct metrics *);
/* Scrapes refused with 429: their source address asked too often. */
uint64_t metrics_limited(const struct metrics *);

/*
 * Where a daemon's endpoint should be, at start and at each reload: *cur
 * (listening on *at, or NULL) is left alone if `want` is where it is
 * already; otherwise the new endpoint is bound first and the old one
 * freed, so a failure leaves the running one in place.  want's family 0
 * turns it off.  Returns 1 if it now listens somewhere new (where says
 * "ADDR:PORT", IPv6 in brackets), 0 if nothing changed or it was turned
 * off, -1 with err set ("cannot listen on ADDR:PORT: why").
 */
struct config_metrics;
int metrics_place(struct metrics **cur, struct config_metrics *at,
    const struct config_metrics *want, struct event_base *, metrics_snapshot_fn,
    void *arg, char *where, size_t wherelen, char *err, size_t errlen);

/*
 * Appends the exposition text for a counters object to out.  -1 if the
 * object is not one (no "daemon") or on allocation failure; out may then
 * hold part of the text.
 */
int metrics_render(const json_t *counters, struct evbuffer *out);

#endif
