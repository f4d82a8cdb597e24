# shellcheck shell=bash
# tests/lab/lab.sh: the wanpair network-namespace lab, a bash library for the
# lab tests, the demo and the benchmarks.  Source it, then:
#
#	. tests/lab/lab.sh
#	lab_trap		# or: trap lab_cleanup EXIT INT TERM
#	lab_up --shaped
#	lab_exec lan ping -c 1 10.1.0.1
#
# Lab tools, from Debian 12 (scripts/quickstart installs them;
# --no-install-recommends because wireguard-tools would otherwise pull a
# kernel image):
#
#	apt-get install -y --no-install-recommends iproute2 iputils-ping \
#	    nftables iperf3 curl python3 openssl wireguard-go wireguard-tools \
#	    openvpn tcpdump ethtool
#
# (python3 is there anyway as a dependency of clang-format; its http.server
# is the lab's web server.  wireguard-go, wireguard-tools, openvpn and
# openssl are for bench/tunnel only.)
#
# Rules the library keeps (DESIGN.md section 9): every namespace is named
# "wp${LAB_ID}-<role>" so two runs never collide; nothing is ever added to
# the root namespace (veth pairs are created directly inside the lab's
# namespaces); the lab has no link to the outside, so no packet leaves it;
# lab_cleanup kills only the PIDs that lab_bg recorded, and only while they
# still live in one of this lab's namespaces.
#
# Topology of lab_up (WAN links in 198.18.0.0/15, lab Internet in
# 203.0.113.0/24 and 2001:db8::/32, LAN 10.1.0.0/24 and 2001:db8:1::/64),
# one veth pair per line:
#
#   lan  eth0 10.1.0.10-14/24    --- edge eth0 10.1.0.1/24
#             2001:db8:1::10-14/64         2001:db8:1::1/64
#   edge wan1 198.18.1.2/24      --- isp  wan1 198.18.1.1/24  WAN1 100/100 Mbit
#   edge wan2 198.18.2.2/24      --- isp  wan2 198.18.2.1/24  WAN2  20/20 Mbit
#   isp  core 198.18.0.2/24      --- pop  core 198.18.0.1/24
#   pop  eth1 203.0.113.1/24     --- inet eth0 203.0.113.10/24
#             2001:db8:ffff::1/64          2001:db8:ffff::10/64
#
# lan and inet route by default via edge and pop; edge has two defaults
# (wan1 metric 100, wan2 metric 200); pop reaches 198.18.0.0/15 via the isp.
# The isp knows only its three connected nets: it has no route to the LAN
# nor to the lab Internet, so LAN traffic reaches the Internet only through
# the tunnel (socketd in edge, popd in pop).
#
# Background processes: lab_bg sets LAB_BG_PID and LAB_BG_LOG; call it
# directly, not inside $(...), or those two values are lost (the PID list,
# a file, is not).

[ -n "${LAB_SH_LOADED:-}" ] && return 0
LAB_SH_LOADED=1

# A short id per run: the shell's PID plus a random suffix, so that a PID
# reused by a later run still gives other names.  A caller may set its own:
# letters and digits, at most 12 (it goes into 15-byte interface names).
: "${LAB_ID:=$$$(printf %03x $((RANDOM % 4096)))}"
case $LAB_ID in
'' | *[!A-Za-z0-9]* | ?????????????*)
	echo "lab: LAB_ID must be 1-12 letters or digits, not '$LAB_ID'" >&2
	return 1
	;;
esac
# Never taken from the environment: lab_down removes it.
LAB_DIR=
LAB_BG_PID=
LAB_BG_LOG=
LAB_IPERF3_PORTS=
LAB_HTTP_PORT=80

lab_log() {
	echo "lab: $*" >&2
}

# lab_nsname ROLE: the namespace name of ROLE in this lab.
lab_nsname() {
	echo "wp${LAB_ID}-$1"
}

# lab_init: the run directory (logs, PID list, files the HTTP server serves).
# Idempotent; lab_up and lab_ns call it.
lab_init() {
	[ -n "$LAB_DIR" ] && [ -d "$LAB_DIR" ] && return 0
	LAB_DIR=$(mktemp -d "/tmp/wp${LAB_ID}.XXXXXX") || return 1
	: >"$LAB_DIR/pids"
}

# lab_can_run: 0 if this process can build a lab (root, and the kernel lets
# us add a network namespace); tests exit 77 (skipped) otherwise.
lab_can_run() {
	local ns
	[ "$(id -u)" -eq 0 ] || return 1
	command -v ip >/dev/null || return 1
	ns=$(lab_nsname probe)
	ip netns add "$ns" 2>/dev/null || return 1
	ip netns del "$ns"
}

# lab_ns ROLE: a new namespace with lo up and reverse-path filtering off.
# rp_filter must be off: the edge receives replies on wan2 for a source whose
# best route is wan1, and the tunnel's decapsulated packets on a TUN whose
# source routes elsewhere; a strict check (RFC 3704, rp_filter=1, which a new
# namespace may inherit from the host) would drop both.
lab_ns() {
	local ns
	lab_init || return 1
	ns=$(lab_nsname "$1")
	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up
	lab_sysctl "$1" net/ipv4/conf/all/rp_filter 0
	lab_sysctl "$1" net/ipv4/conf/default/rp_filter 0
}

# lab_sysctl ROLE KEY VALUE: KEY as a path under /proc/sys, inside ROLE.
lab_sysctl() {
	# shellcheck disable=SC2016 # expanded by the inner sh
	ip netns exec "$(lab_nsname "$1")" \
	    sh -c 'echo "$1" >"/proc/sys/$2"' sh "$3" "$2"
}

# lab_router ROLE: forwarding on, both families.
lab_router() {
	lab_sysctl "$1" net/ipv4/ip_forward 1
	lab_sysctl "$1" net/ipv6/conf/all/forwarding 1
}

# lab_veth ROLE_A IF_A ROLE_B IF_B: a veth pair, one end in each namespace,
# both up.  Created inside ROLE_A with its peer placed straight into ROLE_B,
# so the pair never exists in the root namespace.
lab_veth() {
	local a b
	a=$(lab_nsname "$1")
	b=$(lab_nsname "$3")
	ip -n "$a" link add "$2" type veth peer name "$4" netns "$b" ||
	    return 1
	ip -n "$a" link set "$2" up
	ip -n "$b" link set "$4" up
}

# lab_addr ROLE IF ADDR/LEN...: addresses on IF; IPv6 ones without duplicate
# address detection, which would otherwise keep them tentative (unusable as
# a source) for about a second after the link comes up.
lab_addr() {
	local ns dev a
	ns=$(lab_nsname "$1")
	dev=$2
	shift 2
	for a in "$@"; do
		case $a in
		*:*) ip -n "$ns" -6 addr add "$a" dev "$dev" nodad ;;
		*) ip -n "$ns" addr add "$a" dev "$dev" ;;
		esac || return 1
	done
}

# lab_exec ROLE CMD...: run CMD in ROLE's namespace, in the foreground.
lab_exec() {
	local ns
	ns=$(lab_nsname "$1")
	shift
	ip netns exec "$ns" "$@"
}

# lab_bg ROLE CMD...: run CMD in ROLE's namespace in the background, output to
# a log under LAB_DIR.  Sets LAB_BG_PID and LAB_BG_LOG and records the PID
# for lab_cleanup.  `ip netns exec` execs CMD, so the PID is CMD's own; CMD
# must stay in the foreground (no daemon mode) so that PID is the one to
# stop.
lab_bg() {
	local role=$1 ns
	shift
	lab_init || return 1
	ns=$(lab_nsname "$role")
	LAB_BG_LOG=$(mktemp --suffix=.log \
	    "$LAB_DIR/$role.$(basename "$1").XXXXXX") || return 1
	ip netns exec "$ns" "$@" </dev/null >"$LAB_BG_LOG" 2>&1 &
	LAB_BG_PID=$!
	echo "$LAB_BG_PID $role" >>"$LAB_DIR/pids"
}

# _lab_ours PID ROLE: is PID alive (not a zombie) and still inside ROLE's
# namespace?  Guards against signalling a PID the system reused.
_lab_ours() {
	local pid=$1 ns ino stat
	ns=$(lab_nsname "$2")
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ] || return 1
	ino=$(stat -L -c %i "/run/netns/$ns" 2>/dev/null) || return 1
	[ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" = "net:[$ino]" ]
}

# _lab_stop PID ROLE...: SIGTERM the given recorded processes, wait up to
# 3 s for them to go, SIGKILL what is left, reap.
_lab_stop() {
	local pid role alive left=
	while [ $# -ge 2 ]; do
		_lab_ours "$1" "$2" && kill -TERM "$1" 2>/dev/null
		left+=" $1:$2"
		shift 2
	done
	for _ in $(seq 30); do
		alive=
		for pid in $left; do
			_lab_ours "${pid%%:*}" "${pid#*:}" && alive=1
		done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	for pid in $left; do
		role=${pid#*:}
		pid=${pid%%:*}
		if _lab_ours "$pid" "$role"; then
			lab_log "pid $pid ($role) ignored SIGTERM, sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null
		fi
		wait "$pid" 2>/dev/null
	done
	return 0
}

# lab_kill PID: stop one process that lab_bg started (a test stopping a
# daemon), and forget it.  PIDs lab_bg did not record are refused.
lab_kill() {
	local pid=$1 role
	[ -n "$LAB_DIR" ] && [ -f "$LAB_DIR/pids" ] || return 1
	role=$(awk -v p="$pid" '$1 == p { print $2; exit }' "$LAB_DIR/pids")
	if [ -z "$role" ]; then
		lab_log "lab_kill: $pid was not started by lab_bg"
		return 1
	fi
	_lab_stop "$pid" "$role"
	awk -v p="$pid" '$1 != p' "$LAB_DIR/pids" >"$LAB_DIR/pids.new" &&
	    mv "$LAB_DIR/pids.new" "$LAB_DIR/pids"
}

# lab_down: stop every recorded process, delete every namespace of this
# LAB_ID, remove LAB_DIR (kept, and its path printed, with LAB_KEEP=1).
# Safe to call twice; returns 0.
lab_down() {
	local ns pids
	if [ -n "$LAB_DIR" ] && [ -s "$LAB_DIR/pids" ]; then
		# shellcheck disable=SC2046 # "pid role" pairs, word-split
		_lab_stop $(cat "$LAB_DIR/pids")
		: >"$LAB_DIR/pids"
	fi
	for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
		case $ns in
		"wp${LAB_ID}-"*) ;;
		*) continue ;;
		esac
		# Not ours to kill (not recorded), but worth a word: the
		# namespace outlives its name while they run.
		pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
		[ -z "$pids" ] ||
		    lab_log "$ns: processes not started by lab_bg still run: $pids"
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "$LAB_DIR" ] && [ -d "$LAB_DIR" ]; then
		if [ -n "${LAB_KEEP:-}" ]; then
			lab_log "kept $LAB_DIR"
		else
			rm -rf "$LAB_DIR"
		fi
	fi
	LAB_DIR=
	return 0
}

# lab_cleanup [STATUS]: for `trap lab_cleanup EXIT INT TERM`.  Tears the lab
# down (lab_down) and exits, with STATUS or else the status it was entered
# with, so that INT or TERM end the script instead of resuming it after the
# handler.  (Bash runs a trap only once the foreground command returns, so a
# signal during a 3 s iperf3 takes effect after it.)
lab_cleanup() {
	local rc=$?
	[ $# -eq 0 ] || rc=$1
	trap - EXIT INT TERM
	lab_down
	exit "$rc"
}

# lab_trap: the traps, with the conventional 128 + signal number as the exit
# status on INT and TERM (a bare `trap lab_cleanup EXIT INT TERM` exits with
# whatever the interrupted command returned, possibly 0).
lab_trap() {
	trap lab_cleanup EXIT
	trap 'lab_cleanup 130' INT
	trap 'lab_cleanup 143' TERM
}

# lab_up [--shaped|--unshaped]: the two-WAN lab (see the top of this file).
# --shaped (the default) puts the WAN rates on the links: WAN1 100/100 Mbit,
# WAN2 20/20 Mbit.
lab_up() {
	local shaped
	shaped=$(_lab_shaped_opt "${1:---shaped}") || return 2
	lab_site_up || return 1
	lab_ns pop && lab_ns inet || return 1
	lab_veth isp core pop core &&
	    lab_veth pop eth1 inet eth0 || return 1
	# The PoP's side of the WAN, as the edge's in lab_site_up.
	lab_exec pop ethtool -K core tx-udp-segmentation off || return 1

	lab_addr isp core 198.18.0.2/24 || return 1

	lab_router pop
	lab_addr pop core 198.18.0.1/24 &&
	    lab_addr pop eth1 203.0.113.1/24 2001:db8:ffff::1/64 || return 1
	lab_exec pop ip route add 198.18.0.0/15 via 198.18.0.2

	lab_addr inet eth0 203.0.113.10/24 2001:db8:ffff::10/64 || return 1
	lab_exec inet ip route add default via 203.0.113.1
	lab_exec inet ip -6 route add default via 2001:db8:ffff::1

	lab_isp_nft_init || return 1
	[ "$shaped" -eq 0 ] || lab_shape || return 1
}

# _lab_shaped_opt --shaped|--unshaped: prints 1 or 0.
_lab_shaped_opt() {
	case $1 in
	--shaped) echo 1 ;;
	--unshaped) echo 0 ;;
	*)
		lab_log "unknown option $1"
		return 2
		;;
	esac
}

# lab_site_up: the site's half of the lab, shared by lab_up and the
# cluster lab (tests/lab/cluster.sh): lan, edge and the isp with the two
# WAN links and their addresses, the edge's routes; no PoP side, no
# shaping, no nftables.
lab_site_up() {
	lab_init || return 1
	lab_ns lan && lab_ns edge && lab_ns isp || return 1

	lab_veth lan eth0 edge eth0 &&
	    lab_veth edge wan1 isp wan1 &&
	    lab_veth edge wan2 isp wan2 || return 1
	# The daemons' sides of the WAN as physical NICs without UDP
	# segmentation offload: a run of datagrams sent as one (UDP_SEGMENT)
	# is cut into datagrams at the sender's device, so single datagrams
	# cross the links, as on a wire, and a sniffer there sees each one.
	# (A veth would carry the run whole to the other daemon's socket.)
	# The PoP's side is its caller's.
	lab_exec edge ethtool -K wan1 tx-udp-segmentation off &&
	    lab_exec edge ethtool -K wan2 tx-udp-segmentation off || return 1

	lab_addr lan eth0 10.1.0.10/24 10.1.0.11/24 10.1.0.12/24 \
	    10.1.0.13/24 10.1.0.14/24 2001:db8:1::10/64 2001:db8:1::11/64 \
	    2001:db8:1::12/64 2001:db8:1::13/64 2001:db8:1::14/64 || return 1
	lab_exec lan ip route add default via 10.1.0.1
	lab_exec lan ip -6 route add default via 2001:db8:1::1

	lab_router edge
	lab_addr edge eth0 10.1.0.1/24 2001:db8:1::1/64 &&
	    lab_addr edge wan1 198.18.1.2/24 &&
	    lab_addr edge wan2 198.18.2.2/24 || return 1
	# Both defaults exist, wan1 preferred: a socket bound to wan2
	# (SO_BINDTODEVICE) only matches routes through wan2, so it takes
	# the metric 200 one and leaves by wan2.
	lab_exec edge ip route add default via 198.18.1.1 dev wan1 metric 100
	lab_exec edge ip route add default via 198.18.2.1 dev wan2 metric 200

	lab_router isp
	lab_addr isp wan1 198.18.1.1/24 && lab_addr isp wan2 198.18.2.1/24
}

# lab_shape: the WAN rates.  tbf on both ends of each WAN veth: the edge's
# egress shapes upstream, the isp's egress toward the edge downstream.
#
# Why these numbers:
# - burst: the bucket must refill faster than tbf is woken to send.  The
#   old rule is burst >= rate/HZ (100 Mbit / 250 Hz = 50 KB); tbf now
#   sleeps on an hrtimer, but TCP on a veth hands it 64 KB GSO packets, and
#   a packet larger than the bucket is cut into MTU segments (tbf_segment)
#   at a CPU cost.  So the bucket holds one full GSO packet: 128 KB on WAN1
#   (10 ms of line rate), 64 KB on WAN2 (26 ms).  The burst adds at most that
#   many bytes above the rate per idle period, under 0.5% of a 3 s test.
# - latency 50 ms: the queue tbf keeps behind the bucket (limit = rate *
#   latency + burst: 750 KB on WAN1, 190 KB on WAN2).  A single TCP flow
#   on a sub-millisecond veth needs a queue of a few packets to keep the
#   link busy while it recovers from a loss; 50 ms is a realistic access
#   link buffer and lets one stream reach >90% of the rate.
# No netem: this kernel has none (DESIGN.md section 9).
lab_shape() {
	local role
	for role in edge isp; do
		lab_exec "$role" tc qdisc replace dev wan1 root tbf \
		    rate 100mbit burst 128kb latency 50ms || return 1
		lab_exec "$role" tc qdisc replace dev wan2 root tbf \
		    rate 20mbit burst 64kb latency 50ms || return 1
	done
}

# lab_unshape: remove the WAN rates (the links run at veth speed).
lab_unshape() {
	local role
	for role in edge isp; do
		lab_exec "$role" tc qdisc del dev wan1 root 2>/dev/null
		lab_exec "$role" tc qdisc del dev wan2 root 2>/dev/null
	done
	return 0
}

# lab_edge_tunnel_routes TUNDEV: after socketd made (and raised) its TUN in
# edge, send everything that comes from the LAN (iif eth0) into it.  The
# local table (pref 0) is consulted first, so the LAN still reaches the
# edge's own addresses; the edge's own traffic (probes, the encapsulated
# packets on wan1/wan2) keeps the main table.
# Calling it again (a restarted socketd) replaces the earlier ones.
lab_edge_tunnel_routes() {
	local dev=$1
	lab_exec edge ip rule del pref 1000 2>/dev/null
	lab_exec edge ip -6 rule del pref 1000 2>/dev/null
	lab_exec edge ip rule add pref 1000 iif eth0 lookup 100 &&
	    lab_exec edge ip route replace default dev "$dev" table 100 &&
	    lab_exec edge ip -6 rule add pref 1000 iif eth0 lookup 100 &&
	    lab_exec edge ip -6 route replace default dev "$dev" table 100
}

# lab_isp_nft_init: an nftables table "wplab" in the isp namespace.
# - chain "count" (forward, priority -10): one named counter per WAN link
#   and direction, wan1_up (edge -> pop), wan1_down (pop -> edge), wan2_up,
#   wan2_down.  Forwarded packets only, so ARP, neighbour discovery and
#   pings to the isp itself never show up.
# - chain "loss" (forward, priority 0, after the counters): empty, for
#   lab_wan_loss / lab_wan_blackhole or a test's own rules.  Dropping here,
#   in a router, is loss on the receiver's side of the link: a drop in the
#   sender's own egress is retried by the sender (DESIGN.md section 9).
# lab_up calls it; calling it again resets the counters and the loss rules.
lab_isp_nft_init() {
	# Declaring the table before deleting it makes the delete succeed on
	# a first run and the whole file idempotent (nft 1.0.6 has no
	# "destroy"); nft applies the file as one transaction.
	lab_exec isp nft -f - <<'EOF'
table inet wplab
delete table inet wplab
table inet wplab {
	counter wan1_up { }
	counter wan1_down { }
	counter wan2_up { }
	counter wan2_down { }
	chain count {
		type filter hook forward priority -10; policy accept;
		iifname "wan1" counter name "wan1_up"
		oifname "wan1" counter name "wan1_down"
		iifname "wan2" counter name "wan2_up"
		oifname "wan2" counter name "wan2_down"
	}
	chain loss {
		type filter hook forward priority 0; policy accept;
	}
}
EOF
}

# lab_wan_counters: the isp's per-link counters, one line each:
#	wan1 up packets N bytes N
# in the order wan1 up, wan1 down, wan2 up, wan2 down.
lab_wan_counters() {
	local link dir
	for link in wan1 wan2; do
		for dir in up down; do
			echo "$link $dir packets $(lab_wan_counter "$link" \
			    "$dir" packets) bytes $(lab_wan_counter "$link" \
			    "$dir" bytes)"
		done
	done
}

# lab_wan_counter wan1|wan2 up|down packets|bytes: one number.
lab_wan_counter() {
	lab_exec isp nft list counter inet wplab "$1_$2" |
	    awk -v k="$3" '{ for (i = 1; i < NF; i++) if ($i == k) {
		print $(i + 1); exit } }'
}

# lab_wan_bytes wan1|wan2 tx|rx, lab_wan_packets ...: the edge's own
# interface statistics (tx = upstream, rx = downstream), everything the
# link carried including ARP and neighbour discovery.
lab_wan_bytes() {
	lab_exec edge cat "/sys/class/net/$1/statistics/$2_bytes"
}

lab_wan_packets() {
	lab_exec edge cat "/sys/class/net/$1/statistics/$2_packets"
}

# _lab_nft_unloss TAG: remove the loss-chain rules tagged TAG.
_lab_nft_unloss() {
	local h
	for h in $(lab_exec isp nft -a list chain inet wplab loss |
	    awk -v t="comment \"$1\"" 'index($0, t) { print $NF }'); do
		lab_exec isp nft delete rule inet wplab loss handle "$h"
	done
}

# lab_wan_loss wan1|wan2 up|down PERCENT: drop PERCENT % of the packets the
# link carries in that direction, at random (0 removes the rule, 100 drops
# everything).  Replaces an earlier setting for the same link and direction.
lab_wan_loss() {
	local link=$1 dir=$2 pct=$3 match
	case $dir in
	up) match="iifname \"$link\"" ;;
	down) match="oifname \"$link\"" ;;
	*) return 2 ;;
	esac
	_lab_nft_unloss "$link-$dir"
	[ "$pct" -gt 0 ] || return 0
	if [ "$pct" -ge 100 ]; then
		lab_exec isp nft add rule inet wplab loss "$match" \
		    drop comment "\"$link-$dir\""
	else
		lab_exec isp nft add rule inet wplab loss "$match" \
		    numgen random mod 100 "<" "$pct" drop comment "\"$link-$dir\""
	fi
}

# lab_wan_blackhole wan1|wan2 on|off: the link silently drops everything in
# both directions while its carrier stays up (what a dead ISP looks like).
lab_wan_blackhole() {
	local pct=0
	[ "$2" = on ] && pct=100
	lab_wan_loss "$1" up "$pct" && lab_wan_loss "$1" down "$pct"
}

# lab_wan_link wan1|wan2 up|down: set the isp's end of the link down or up;
# the edge sees the carrier go (a veth reports its peer's state).
lab_wan_link() {
	lab_exec isp ip link set "$1" "$2"
}

# lab_wait_listen ROLE tcp|udp PORT [ADDR]: wait up to 5 s for a listening
# socket on PORT (and ADDR when given) in ROLE.
lab_wait_listen() {
	local role=$1 proto=$2 port=$3 addr=${4:-} opt=-ltnH
	[ "$proto" = udp ] && opt=-lunH
	for _ in $(seq 50); do
		if lab_exec "$role" ss $opt "sport = :$port" |
		    grep -qF -- "${addr}"; then
			return 0
		fi
		sleep 0.1
	done
	lab_log "nothing listens on $proto port $port in $role after 5 s"
	return 1
}

# lab_iperf3_servers ROLE N [FIRST_PORT]: N iperf3 servers in ROLE, on ports
# FIRST_PORT (default 5201) onwards, all addresses; one server runs one test
# at a time, so parallel tests take one port each.  Sets LAB_IPERF3_PORTS.
lab_iperf3_servers() {
	local role=$1 n=$2 port=${3:-5201}
	LAB_IPERF3_PORTS=
	for _ in $(seq "$n"); do
		lab_bg "$role" iperf3 -s -p "$port" || return 1
		LAB_IPERF3_PORTS+="${LAB_IPERF3_PORTS:+ }$port"
		port=$((port + 1))
	done
	for port in $LAB_IPERF3_PORTS; do
		lab_wait_listen "$role" tcp "$port" || return 1
	done
}

# lab_http_start [SIZE...]: an HTTP server in inet on port 80 of
# 203.0.113.10 and [2001:db8:ffff::10], serving files of random bytes named
# after their size (SIZE as head -c takes it; default 1M 10M 100M, i.e.
# /1M, /10M, /100M) and SHA256SUMS.  The files are in $LAB_DIR/www.
lab_http_start() {
	local www s
	lab_init || return 1
	www=$LAB_DIR/www
	mkdir -p "$www" || return 1
	[ $# -gt 0 ] || set -- 1M 10M 100M
	for s in "$@"; do
		head -c "$s" /dev/urandom >"$www/$s" || return 1
	done
	(cd "$www" && sha256sum -- "$@" >SHA256SUMS) || return 1
	# http.server picks the address family from --bind; one server per
	# family.  It is a ThreadingHTTPServer, so parallel downloads work.
	lab_bg inet python3 -m http.server --bind 203.0.113.10 \
	    --directory "$www" "$LAB_HTTP_PORT" || return 1
	lab_bg inet python3 -m http.server --bind 2001:db8:ffff::10 \
	    --directory "$www" "$LAB_HTTP_PORT" || return 1
	lab_wait_listen inet tcp "$LAB_HTTP_PORT" 203.0.113.10 &&
	    lab_wait_listen inet tcp "$LAB_HTTP_PORT" 2001:db8:ffff::10
}

# lab_arb_up: the A-R-B path of the benchmarks (DESIGN.md section 9), no
# shaping: client --- router --- server over veths.
#	client eth0 198.18.10.2/24, default via 198.18.10.1
#	router eth0 198.18.10.1/24, eth1 198.18.11.1/24, forwarding
#	server eth0 198.18.11.2/24, default via 198.18.11.1
lab_arb_up() {
	lab_init || return 1
	lab_ns client && lab_ns router && lab_ns server || return 1
	lab_veth client eth0 router eth0 &&
	    lab_veth router eth1 server eth0 || return 1
	lab_router router
	lab_addr client eth0 198.18.10.2/24 &&
	    lab_addr router eth0 198.18.10.1/24 &&
	    lab_addr router eth1 198.18.11.1/24 &&
	    lab_addr server eth0 198.18.11.2/24 || return 1
	lab_exec client ip route add default via 198.18.10.1 &&
	    lab_exec server ip route add default via 198.18.11.1
}
