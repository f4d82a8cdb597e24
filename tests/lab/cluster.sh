# shellcheck shell=bash
# tests/lab/cluster.sh: the cluster lab of issue #14 (doc/CLUSTER.md, "The
# lab"): one site (lan, edge with socketd and its two WAN links, as lab.sh's)
# and a PoP of N wanpair-popd nodes behind ECMP, each with its own corosync.
# A bash library; source it after lab.sh and pair.sh:
#
#	. tests/lab/lab.sh; . tests/lab/pair.sh; . tests/lab/cluster.sh
#	lab_trap
#	cluster_up --nodes 3		# or --nodes 1: one popd, no cluster
#
# Topology (N = 3; WAN links in 198.18.0.0/15, lab Internet 203.0.113.0/24):
#
#   lan  eth0 10.1.0.10-14/24 --- edge eth0 10.1.0.1/24     (socketd)
#   edge wan1 198.18.1.2/24   --- isp  wan1 198.18.1.1/24   WAN1 100/100 Mbit
#   edge wan2 198.18.2.2/24   --- isp  wan2 198.18.2.1/24   WAN2  20/20 Mbit
#   isp  coreK 198.18.4K.1/24 --- popK core 198.18.4K.2/24  K = 1..N
#   popK lo 198.18.0.1/32: the PoP's one service address, on every node
#   popK eth1 203.0.113.K/24  --- inet nK, ports of inet's bridge br0
#   inet br0 203.0.113.10/24 (and 2001:db8:ffff::10/64, not routed)
#   popK eth0 198.18.50.K/24  --- sw pK, ports of sw's bridge br0: the
#                                 cluster link and corosync (udpu), MTU 9000
#
# The isp reaches 198.18.0.1 by one route with a next hop per live node
# (a resilient nexthop group, cluster_routes), and inet reaches the LAN
# (10.1.0.0/24) the same way; both namespaces hash
# on L4 (net.ipv4.fib_multipath_hash_policy=1), so each UDP or TCP flow
# picks a node by its ports: a flow's packets from the site and its return
# packets from the Internet land on nodes chosen independently.  A site's
# tunnel datagrams on one WAN link are one outer flow (socketd binds one
# port per link), so everything the site sends on WAN1 lands on one node
# and everything on WAN2 on one node; the Internet's return packets spread
# by their inner flows.  The isp's nftables counters (lab.sh,
# lab_isp_nft_init) count each WAN link both ways.  IPv4 only.
#
# Each node's corosync runs in a private mount namespace with its own /run
# (corosync 3.1.7 hard-codes /run/corosync.pid) and /dev/shm (libqb's
# IPC), udpu, token 300 ms, token_coefficient 0 (a dead node is seen in
# under a second); its popd enters that mount namespace with nsenter.
# Each node routes the site's LAN into its popd's TUN (metric 1024), as a
# PoP host would: popd's own route, added when a site logs in there,
# comes first.
#
# With --nodes 1 there is pop1 alone, no sw, no corosync, and popd.json
# without a cluster section: the same site, addresses and routes (one next
# hop), for comparing one popd with a cluster.
#
# Files in LAB_DIR: socketd.json and popd.json (pair.sh's pair_configs),
# popd-nK.json (popd.json with node K's cluster section), cluster.key,
# nK/corosync.conf, popK.sock (node K's control socket: pair_ctl popK ...).
#
# Tools: those of lab.sh, and corosync, unshare and nsenter for N > 1.

[ -n "${CLUSTER_SH_LOADED:-}" ] && return 0
CLUSTER_SH_LOADED=1

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"

CLUSTER_SERVICE=198.18.0.1
CLUSTER_NODES=0
CLUSTER_GROUP=wanpair-lab
# Per node K: its corosync's and its popd's PIDs (lab_bg's), popd's log,
# and whether it is in the ECMP routes.
declare -gA CLUSTER_CPID CLUSTER_PPID CLUSTER_PLOG CLUSTER_LIVE CLUSTER_NH

# cluster_corosync_conf FILE STATE_DIR N: a corosync.conf for a ring of
# nodes 1..N at 198.18.50.1..N (one key a line: corosync's parser refuses
# `node { name: ... }` on one line).
cluster_corosync_conf() {
	local file=$1 state=$2 n=$3 k
	{
		cat <<EOF
totem {
	version: 2
	cluster_name: wp$LAB_ID
	transport: udpu
	token: 300
	token_coefficient: 0
	crypto_cipher: none
	crypto_hash: none
}
nodelist {
EOF
		for k in $(seq "$n"); do
			cat <<EOF
	node {
		ring0_addr: 198.18.50.$k
		nodeid: $k
		name: pop$k
	}
EOF
		done
		cat <<EOF
}
quorum {
	provider: corosync_votequorum
}
logging {
	to_stderr: yes
	to_logfile: no
	to_syslog: no
	timestamp: on
}
system {
	state_dir: $state
}
EOF
	} >"$file"
}

# cluster_members N: the cluster.members array of popd.json for nodes 1..N.
cluster_members() {
	local k sep=
	printf '['
	for k in $(seq "$1"); do
		printf '%s{"node": %d, "address": "198.18.50.%d"}' "$sep" "$k" "$k"
		sep=', '
	done
	printf ']'
}

# cluster_switch N: namespace sw with bridge br0, and a veth from each of
# pop1..popN (eth0, 198.18.50.K/24) to it, jumbo frames (MTU 9000, or
# CLUSTER_LINK_MTU): the cluster link carries a site's full-size datagram
# plus 74 bytes, which 1500 would fragment (doc/CLUSTER.md; popd warns
# of it at start).  The namespaces popK must exist.
cluster_switch() {
	local k sw
	lab_ns sw || return 1
	sw=$(lab_nsname sw)
	ip -n "$sw" link add br0 type bridge || return 1
	ip -n "$sw" link set br0 up
	for k in $(seq "$1"); do
		lab_veth "pop$k" eth0 sw "p$k" &&
		    ip -n "$sw" link set "p$k" master br0 &&
		    ip -n "$sw" link set "p$k" mtu "${CLUSTER_LINK_MTU:-9000}" &&
		    ip -n "$(lab_nsname "pop$k")" link set eth0 \
		    mtu "${CLUSTER_LINK_MTU:-9000}" &&
		    lab_addr "pop$k" eth0 "198.18.50.$k/24" || return 1
	done
}

# cluster_start_corosync K: node K's corosync in a mount namespace of its
# own, where /run (its pid file) and /dev/shm (its IPC) are its own tmpfs.
# Config: LAB_DIR/nK/corosync.conf.
cluster_start_corosync() {
	local k=$1
	# shellcheck disable=SC2016 # expanded by the inner sh
	lab_bg "pop$k" unshare -m --propagation private sh -c '
		mount -t tmpfs tmpfs /run && mkdir -p /run/lock &&
		mount -t tmpfs tmpfs /dev/shm && exec corosync -f -c "$1"' \
	    sh "$LAB_DIR/n$k/corosync.conf" || return 1
	CLUSTER_CPID[$k]=$LAB_BG_PID
}

# cluster_start_corosync_in K PID: node K's corosync again, in the mount
# namespace PID (its popd) still holds, so that the popd there reaches it.
cluster_start_corosync_in() {
	lab_bg "pop$1" nsenter -t "$2" -m corosync -f -c \
	    "$LAB_DIR/n$1/corosync.conf" || return 1
	CLUSTER_CPID[$1]=$LAB_BG_PID
}

# cluster_wait_corosync K: until node K's corosync answers on its IPC (5 s).
cluster_wait_corosync() {
	for _ in $(seq 50); do
		lab_exec "pop$1" nsenter -t "${CLUSTER_CPID[$1]}" -m \
		    corosync-cfgtool -s >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	lab_log "corosync on pop$1 does not answer after 5 s"
	return 1
}

# cluster_start_popd K CONFIG: node K's popd, -d -v, control socket
# LAB_DIR/popK.sock; in its corosync's mount namespace when it has one.
# Waits until it listens on the control port (5 s).  Sets
# CLUSTER_PPID[K], CLUSTER_PLOG[K].
cluster_start_popd() {
	local k=$1 conf=$2 pre=()
	[ -z "${CLUSTER_CPID[$k]:-}" ] ||
	    pre=(nsenter -t "${CLUSTER_CPID[$k]}" -m)
	lab_bg "pop$k" "${pre[@]}" "$top_builddir/popd/wanpair-popd" -d -v \
	    -f "$conf" -s "$LAB_DIR/pop$k.sock" || return 1
	CLUSTER_PPID[$k]=$LAB_BG_PID
	# shellcheck disable=SC2034 # for the scripts that source this
	CLUSTER_PLOG[$k]=$LAB_BG_LOG
	lab_wait_listen "pop$k" tcp 18461
}

# cluster_lan_route K: node K routes the site's LAN into its popd's TUN
# (wanpair0: popd makes it, and it goes with popd, route and all).
cluster_lan_route() {
	lab_exec "pop$1" ip route replace 10.1.0.0/24 dev wanpair0 metric 1024
}

# cluster_kill_hard PID ROLE: SIGKILL a process lab_bg started (checked to
# be ours and in ROLE's namespace), reap it and forget it.
cluster_kill_hard() {
	_lab_ours "$1" "$2" || return 1
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	awk -v p="$1" '$1 != p' "$LAB_DIR/pids" >"$LAB_DIR/pids.new" &&
	    mv "$LAB_DIR/pids.new" "$LAB_DIR/pids"
}

# cluster_json K EXPR: EXPR (Python; c the cluster object, m(J) member J)
# over node K's `wanpairctl cluster --json`; nothing if it does not answer.
cluster_json() {
	"$top_builddir/ctl/wanpairctl" -s "$LAB_DIR/pop$1.sock" cluster \
	    --json 2>/dev/null | python3 -c '
import json, sys
c = json.load(sys.stdin)
def m(k): return next(x for x in c["members"] if x["node"] == k)
print(eval(sys.argv[1]))' "$2" 2>/dev/null
}

# cluster_wait_for SECONDS K EXPR: until EXPR (as cluster_json) is True on
# node K; prints the seconds it took.  After SECONDS, fails with node K's
# `wanpairctl cluster` in the file LAB_DIR/cluster-last (a file, not a
# variable: callers take the time with $(...)).
cluster_wait_for() {
	local limit=$1 k=$2 expr=$3 t0 now
	t0=$(date +%s.%N)
	while :; do
		[ "$(cluster_json "$k" "$expr")" = True ] && break
		now=$(date +%s.%N)
		if awk -v a="$t0" -v b="$now" -v l="$limit" \
		    'BEGIN { exit !(b - a > l) }'; then
			"$top_builddir/ctl/wanpairctl" -s "$LAB_DIR/pop$k.sock" \
			    cluster >"$LAB_DIR/cluster-last" 2>&1
			return 1
		fi
		sleep 0.05
	done
	awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'
}

# CLUSTER_ALL: the EXPR of a node that sees all CLUSTER_NODES joined.
cluster_all_expr() {
	echo "c[\"members_joined\"] == $CLUSTER_NODES and c[\"connected\"] and all(x[\"state\"] == \"joined\" for x in c[\"members\"])"
}

# cluster_routes: the ECMP routes of the isp (to the service address) and
# of inet (to the LAN) over the nodes K with CLUSTER_LIVE[K] = 1.  With
# none live, both routes go.
#
# Each route's next hops are a resilient nexthop group (`ip nexthop ...
# type resilient`, CLUSTER_NH_BUCKETS buckets), as a router in front of
# anycast servers hashes: a node withdrawn moves only its own buckets to
# the others, and a node announced again takes only the buckets idle for
# CLUSTER_NH_IDLE seconds, so the flows that run (the site's control
# channel, with a keepalive every 10 s; a link's tunnel datagrams) stay
# where they are and new ones spread over all.  With plain multipath
# routes a node's return rehashed a third of the running flows onto it,
# and it reset the site's control channel if that was one of them.
CLUSTER_NH_BUCKETS=64
CLUSTER_NH_IDLE=20
cluster_routes() {
	local k ns ids=() group
	for k in $(seq "$CLUSTER_NODES"); do
		[ "${CLUSTER_LIVE[$k]:-0}" = 1 ] || continue
		ids+=("$k")
		[ "${CLUSTER_NH[$k]:-0}" = 1 ] && continue
		lab_exec isp ip nexthop add id "$k" via "198.18.4$k.2" \
		    dev "core$k" &&
		    lab_exec inet ip nexthop add id "$k" via "203.0.113.$k" \
		    dev br0 || return 1
		CLUSTER_NH[$k]=1
	done
	if [ ${#ids[@]} -eq 0 ]; then
		# The group's routes go with it.
		lab_exec isp ip nexthop del id 100 2>/dev/null
		lab_exec inet ip nexthop del id 100 2>/dev/null
		return 0
	fi
	group=$(IFS=/ && echo "${ids[*]}")
	for ns in isp inet; do
		lab_exec "$ns" ip nexthop replace id 100 group "$group" \
		    type resilient buckets "$CLUSTER_NH_BUCKETS" \
		    idle_timer "$CLUSTER_NH_IDLE" || return 1
	done
	lab_exec isp ip route replace "$CLUSTER_SERVICE/32" nhid 100 &&
	    lab_exec inet ip route replace 10.1.0.0/24 nhid 100
}

# cluster_withdraw K / cluster_announce K: node K out of the ECMP routes
# (what the provider's routing does when a node dies: BFD, BGP) or back.
cluster_withdraw() {
	CLUSTER_LIVE[$1]=0
	cluster_routes
}

cluster_announce() {
	CLUSTER_LIVE[$1]=1
	cluster_routes
}

# cluster_net N [--shaped|--unshaped]: the namespaces and links above for
# N nodes (1 to 9), the routes, the isp's counters, the WAN rates
# (--shaped, the default, as lab_up).  No daemon.
cluster_net() {
	local n=$1 shaped k inet
	shaped=$(_lab_shaped_opt "${2:---shaped}") || return 2
	case $n in
	[1-9]) ;;
	*)
		lab_log "cluster_net: 1 to 9 nodes, not '$n'"
		return 2
		;;
	esac
	CLUSTER_NODES=$n
	lab_site_up || return 1
	lab_ns inet || return 1
	inet=$(lab_nsname inet)
	ip -n "$inet" link add br0 type bridge || return 1
	ip -n "$inet" link set br0 up
	# The IPv6 address is lab_http_start's (it binds both); IPv6 is not
	# routed through the PoP here.
	lab_addr inet br0 203.0.113.10/24 2001:db8:ffff::10/64 || return 1
	for k in $(seq "$n"); do
		lab_ns "pop$k" || return 1
		lab_router "pop$k"
		lab_veth isp "core$k" "pop$k" core &&
		    lab_veth "pop$k" eth1 inet "n$k" &&
		    ip -n "$inet" link set "n$k" master br0 || return 1
		# The PoP's side of the WAN without UDP segmentation
		# offload, as lab_up's (see lab_site_up).
		lab_exec "pop$k" ethtool -K core tx-udp-segmentation off ||
		    return 1
		lab_addr isp "core$k" "198.18.4$k.1/24" &&
		    lab_addr "pop$k" core "198.18.4$k.2/24" &&
		    lab_addr "pop$k" lo "$CLUSTER_SERVICE/32" &&
		    lab_addr "pop$k" eth1 "203.0.113.$k/24" || return 1
		lab_exec "pop$k" ip route add 198.18.0.0/15 via "198.18.4$k.1"
		CLUSTER_LIVE[$k]=1
	done
	[ "$n" -eq 1 ] || cluster_switch "$n" || return 1
	lab_sysctl isp net/ipv4/fib_multipath_hash_policy 1 &&
	    lab_sysctl inet net/ipv4/fib_multipath_hash_policy 1 &&
	    cluster_routes || return 1
	lab_isp_nft_init || return 1
	[ "$shaped" -eq 0 ] || lab_shape
}

# cluster_configs [ALGORITHM]: pair.sh's socketd.json and popd.json, the
# cluster key and, for N > 1, node K's popd-nK.json (popd.json with a
# cluster section) and nK/corosync.conf.
cluster_configs() {
	local k
	pair_configs "$@" || return 1
	[ "$CLUSTER_NODES" -gt 1 ] || return 0
	(umask 077 && openssl rand -hex 32 >"$LAB_DIR/cluster.key") ||
	    return 1
	for k in $(seq "$CLUSTER_NODES"); do
		mkdir -p "$LAB_DIR/n$k/state" || return 1
		cluster_corosync_conf "$LAB_DIR/n$k/corosync.conf" \
		    "$LAB_DIR/n$k/state" "$CLUSTER_NODES" || return 1
		python3 - "$LAB_DIR/popd.json" "$LAB_DIR/popd-n$k.json" "$k" \
		    "$(cluster_members "$CLUSTER_NODES")" "$CLUSTER_GROUP" <<'EOF' || return 1
import json, sys
c = json.load(open(sys.argv[1]))
c["cluster"] = {"node": int(sys.argv[3]), "group": sys.argv[5],
                "key_file": "cluster.key",
                "members": json.loads(sys.argv[4])}
json.dump(c, open(sys.argv[2], "w"), indent=2)
EOF
	done
}

# cluster_popd_conf K: the config node K's popd runs with.
cluster_popd_conf() {
	if [ "$CLUSTER_NODES" -gt 1 ]; then
		echo "$LAB_DIR/popd-n$1.json"
	else
		echo "$LAB_DIR/popd.json"
	fi
}

# cluster_start_node K: node K's corosync (N > 1) and popd, and node K
# back in the ECMP routes.  Does not wait for the membership.
cluster_start_node() {
	local k=$1
	if [ "$CLUSTER_NODES" -gt 1 ]; then
		cluster_start_corosync "$k" && cluster_wait_corosync "$k" ||
		    return 1
	fi
	cluster_start_popd "$k" "$(cluster_popd_conf "$k")" &&
	    cluster_lan_route "$k" && cluster_announce "$k"
}

# cluster_kill_node K: node K dies: SIGKILL to its popd and its corosync,
# at once; then its next hops are withdrawn (as the provider's routing
# would).  Sets CLUSTER_KILLED_AT (date +%s.%N, the moment of the kill).
cluster_kill_node() {
	local k=$1 p=${CLUSTER_PPID[$1]} c=${CLUSTER_CPID[$1]:-}
	_lab_ours "$p" "pop$k" || return 1
	[ -z "$c" ] || _lab_ours "$c" "pop$k" || return 1
	# shellcheck disable=SC2034 # for the scripts that source this
	CLUSTER_KILLED_AT=$(date +%s.%N)
	kill -KILL "$p" ${c:+"$c"} 2>/dev/null
	# Withdrawn at once, as a router's BFD would within tens of ms;
	# then the two reaped.
	cluster_withdraw "$k"
	wait "$p" ${c:+"$c"} 2>/dev/null
	awk -v p="$p" -v c="$c" '$1 != p && $1 != c' "$LAB_DIR/pids" \
	    >"$LAB_DIR/pids.new" && mv "$LAB_DIR/pids.new" "$LAB_DIR/pids"
	CLUSTER_PPID[$k]=
	CLUSTER_CPID[$k]=
}

# cluster_stop_popds: SIGTERM every node's popd (before lab_down stops
# the corosyncs, so that their logs end with a stop, not corosync lost).
cluster_stop_popds() {
	local k
	for k in $(seq "$CLUSTER_NODES"); do
		[ -z "${CLUSTER_PPID[$k]:-}" ] || lab_kill "${CLUSTER_PPID[$k]}"
		CLUSTER_PPID[$k]=
	done
}

# cluster_wait_members SECONDS: every node sees all N joined (N > 1).
cluster_wait_members() {
	local k
	[ "$CLUSTER_NODES" -gt 1 ] || return 0
	for k in $(seq "$CLUSTER_NODES"); do
		cluster_wait_for "$1" "$k" "$(cluster_all_expr)" >/dev/null || {
			lab_log "pop$k does not see the $CLUSTER_NODES members:"
			cat "$LAB_DIR/cluster-last" >&2
			return 1
		}
	done
}

# cluster_up [--nodes N] [--shaped|--unshaped] [ALGORITHM]: the lab, the
# configs, every node (corosync, popd), the membership complete, then
# socketd, its session (with whichever node its control channel lands on)
# and the edge's routing of the LAN into its tunnel.  N defaults to 3.
cluster_up() {
	local n=3 shape=--shaped k
	while [ $# -gt 0 ]; do
		case $1 in
		--nodes)
			n=$2
			shift 2
			;;
		--shaped | --unshaped)
			shape=$1
			shift
			;;
		*) break ;;
		esac
	done
	cluster_net "$n" "$shape" && cluster_configs "$@" || return 1
	for k in $(seq "$n"); do
		if [ "$n" -gt 1 ]; then
			cluster_start_corosync "$k" || return 1
		fi
	done
	for k in $(seq "$n"); do
		if [ "$n" -gt 1 ]; then
			cluster_wait_corosync "$k" || return 1
		fi
		cluster_start_popd "$k" "$(cluster_popd_conf "$k")" &&
		    cluster_lan_route "$k" || return 1
	done
	cluster_wait_members 15 && pair_start_socketd &&
	    pair_wait_log "$PAIR_SOCKETD_LOG" "session [0-9]* with the PoP" &&
	    lab_edge_tunnel_routes wanpair0
}

# cluster_ctl K COMMAND...: wanpairctl against node K's popd.
cluster_ctl() {
	local k=$1
	shift
	"$top_builddir/ctl/wanpairctl" -s "$LAB_DIR/pop$k.sock" "$@"
}

# _cluster_each FILE DEFAULT FUNC: FUNC K's output for every node K, as one
# JSON object {"K": output}, into FILE; DEFAULT where FUNC fails.
_cluster_each() {
	local k
	{
		printf '{'
		for k in $(seq "$CLUSTER_NODES"); do
			[ "$k" -eq 1 ] || printf ','
			printf '"%d": ' "$k"
			"$3" "$k" || printf '%s' "$2"
		done
		printf '}\n'
	} >"$1"
}

_cluster_counters() {
	cluster_ctl "$1" counters --json 2>/dev/null
}

_cluster_rows() {
	[ -n "${CLUSTER_PPID[$1]:-}" ] || return 1
	cluster_ctl "$1" flows --json --limit 100000 2>/dev/null | python3 -c '
import json, sys
print(json.dumps(json.load(sys.stdin)["flows"]))' 2>/dev/null
}

# cluster_counters_all FILE: every node's `counters --json` as one JSON
# object {"K": counters, or null if it does not answer}, into FILE.
cluster_counters_all() {
	_cluster_each "$1" null _cluster_counters
}

# cluster_flows_all FILE: every live node's `flows --json` rows, as one
# JSON object {"K": [rows]} ([] for a node that is down or does not
# answer), into FILE.
cluster_flows_all() {
	_cluster_each "$1" '[]' _cluster_rows
}

# cluster_datapath_missing: the fields of issue #14's data path that some
# live node's `wanpairctl cluster --json` lacks (doc/CLUSTER.md, "What the
# lab reads"), space-separated; nothing if every node has them all.
cluster_datapath_missing() {
	local k
	for k in $(seq "$CLUSTER_NODES"); do
		[ -n "${CLUSTER_PPID[$k]:-}" ] || continue
		cluster_ctl "$k" cluster --json 2>/dev/null | python3 -c '
import json, sys
c = json.load(sys.stdin)
for p in ["forwarding.flows_owned", "forwarding.backups_held",
          "forwarding.flows_created", "forwarding.taken_over",
          "forwarding.handled", "forwarding.forwarded",
          "sessions.held", "sessions.own"]:
    o = c
    for k in p.split("."):
        o = o.get(k) if isinstance(o, dict) else None
    if not isinstance(o, int) or isinstance(o, bool):
        print(p)
if not all(isinstance(p.get(f), int) for p in
           c.get("forwarding", {}).get("peers", [{}])
           for f in ("tx_packets", "rx_packets")):
    print("forwarding.peers[].tx_packets,rx_packets")
' 2>/dev/null || echo "a-cluster-answer"
	done | sort -u | tr '\n' ' ' | sed 's/ $//'
}

# cluster_down: every popd stopped, then the whole lab (lab_down); a
# cluster_up may follow, with a new LAB_DIR.
cluster_down() {
	cluster_stop_popds
	lab_down
	CLUSTER_CPID=()
	CLUSTER_PPID=()
	# shellcheck disable=SC2034 # for the scripts that source this
	CLUSTER_PLOG=()
	CLUSTER_LIVE=()
	CLUSTER_NH=()
	CLUSTER_NODES=0
}
