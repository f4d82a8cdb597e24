/*
 * Counters objects as the daemons return them (daemon_ops.counters plus
 * what daemon_counters() adds), abridged: the input of the suites of
 * their renderings, Prometheus (check_metrics) and the log
 * (check_countlog).
 */
#ifndef WANPAIR_SAMPLE_COUNTERS_H
#define WANPAIR_SAMPLE_COUNTERS_H

/* What socketd_counters() returns, abridged: one link probed, one not. */
static const char socketd_json[] =
    "{\"daemon\": \"wanpair-socketd\", \"version\": \"1.2\","
    " \"start_time\": 1700000000, \"site\": \"branch-17\","
    " \"control\": {\"state\": \"up\", \"connected\": true, \"link\": "
    "\"WAN1\"},"
    " \"flows\": {\"count\": 3, \"max\": 1000, \"evictions\": 2, \"new\": 40},"
    " \"links\": ["
    "  {\"name\": \"WAN1\", \"state\": \"up\", \"admin\": \"up\","
    "   \"rtt_ms\": 12.5, \"jitter_ms\": 0.25, \"loss\": 0.015625,"
    "   \"mos\": 4.25,"
    "   \"tx_packets\": 100, \"tx_bytes\": 15000, \"rx_packets\": 90,"
    "   \"rx_bytes\": 9000, \"tx_errors\": 0, \"flows\": 2, \"new_flows\": 30,"
    "   \"probes_sent\": 50, \"probes_answered\": 49, \"probes_lost\": 1,"
    "   \"sla\": [{\"profile\": \"voice\", \"degraded\": true,"
    "    \"reason\": \"loss 9.8% > 2%\", \"since_s\": 4, \"violations\": 3,"
    "    \"loss\": 0.0975, \"rtt_ms\": 12.5, \"jitter_ms\": 0.25}]},"
    "  {\"name\": \"WAN2\", \"state\": \"down\", \"admin\": \"down\","
    "   \"rtt_ms\": null, \"jitter_ms\": null, \"loss\": 0, \"mos\": null,"
    "   \"tx_packets\": 0, \"tx_bytes\": 0, \"rx_packets\": 0,"
    "   \"rx_bytes\": 0, \"tx_errors\": 7, \"flows\": 1, \"new_flows\": 10,"
    "   \"probes_sent\": 5, \"probes_answered\": 0, \"probes_lost\": 5}],"
    " \"drops\": {\"no_session\": 4, \"unparsable\": 0,"
    " \"key_exhausted\": 3},"
    " \"io\": {\"offload\": {\"tun\": \"tso4 tso6\", \"udp_gso\": true,"
    "  \"udp_gro\": false}, \"tun_reads\": 20, \"udp_gso_msgs\": 7}}";

/* What popd_counters() returns, abridged: one site without a session. */
static const char popd_json[] =
    "{\"daemon\": \"wanpair-popd\", \"version\": \"1.2\","
    " \"start_time\": 1700000001,"
    " \"control\": {\"sessions\": 1, \"pending\": 0, \"refused\": 3,"
    "  \"connections\": 2, \"handshake_timeouts\": 4,"
    "  \"handshakes_evicted\": 5, \"refused_per_source\": 1,"
    "  \"refused_total\": 2, \"replaced\": 6, \"output_overflows\": 7,"
    "  \"rate_limited\": 8, \"bad_frames\": 9, \"input_throttled\": 10},"
    " \"sites\": ["
    "  {\"name\": \"branch-17\", \"session\": true,"
    "   \"control\": {\"connected\": true},"
    "   \"flows\": {\"count\": 5, \"max\": 1000, \"evictions\": 0, "
    "\"new\": 6},"
    "   \"links\": [{\"name\": \"WAN1\", \"state\": \"up\", \"tx_packets\": "
    "11, \"tx_bytes\": 1100, \"rx_packets\": 12, \"rx_bytes\": 1200,"
    "    \"flows\": 5, \"new_flows\": 6, \"idle_ms\": 250,"
    "    \"sla\": [{\"profile\": \"bulk\", \"degraded\": false},"
    "     {\"profile\": \"voice\", \"degraded\": true}]}],"
    "   \"drops\": {\"spoofed\": 1, \"no_endpoint\": 0}},"
    "  {\"name\": \"hq\", \"session\": false, \"control\": {\"connected\": "
    "false},"
    "   \"flows\": null, \"links\": [],"
    "   \"drops\": {\"spoofed\": 0, \"no_endpoint\": 2}}],"
    " \"drops\": {\"bad_header\": 9, \"no_site\": 1,"
    " \"key_exhausted\": 5}}";

#endif
