# shellcheck shell=bash
# tests/lab/pair.sh: wanpair-socketd in the lab's edge and wanpair-popd in
# its pop, started from real config files with certificates made for this
# run.  Source after lab.sh:
#
#	. tests/lab/lab.sh; . tests/lab/pair.sh
#	trap lab_cleanup EXIT INT TERM
#	lab_up --shaped && pair_up
#
# Binaries come from $top_builddir (make check sets it), else build/.
#
# Environment:
#	WANPAIR_OFFLOAD=0	both daemons' configs get "offload": false (no
#				TUN TSO/vnet headers, no UDP GSO/GRO); =1 gets
#				"offload": true.  Unset or empty (the default): no
#				"offload" key at all, so the daemons run with
#				their own default (on) and daemons that predate
#				the key still start.  Any other value: pair_configs
#				fails.
#	WANPAIR_WORKERS=N	socketd.json and popd.json get "workers": N;
#				unset or empty: no key, each daemon runs one
#				worker per CPU.
#	WANPAIR_SOCKETD_WORKERS=N, WANPAIR_POPD_WORKERS=N
#				that daemon's "workers" instead (the two
#				ends with different counts).

[ -n "${PAIR_SH_LOADED:-}" ] && return 0
PAIR_SH_LOADED=1

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
PAIR_SOCKETD_LOG=
PAIR_POPD_LOG=
PAIR_SOCKETD_PID=
PAIR_POPD_PID=

# pair_offload: "on" or "off", what WANPAIR_OFFLOAD asks of the daemons
# (unset: on, their default).
pair_offload() {
	if [ "${WANPAIR_OFFLOAD:-1}" = 0 ]; then echo off; else echo on; fi
}

# pair_offload_key: the config line WANPAIR_OFFLOAD asks for,
# '  "offload": false,' or '  "offload": true,', or nothing when it is unset
# or empty.
pair_offload_key() {
	case ${WANPAIR_OFFLOAD:-} in
	'') ;;
	0) echo '  "offload": false,' ;;
	1) echo '  "offload": true,' ;;
	*)
		lab_log "WANPAIR_OFFLOAD must be 0 or 1, not '$WANPAIR_OFFLOAD'"
		return 1
		;;
	esac
}

# pair_workers_key socketd|popd: '  "workers": N,' for that daemon's
# WANPAIR_SOCKETD_WORKERS or WANPAIR_POPD_WORKERS, else WANPAIR_WORKERS, or
# nothing.
pair_workers_key() {
	local var=WANPAIR_WORKERS n
	case $1 in
	socketd) [ -z "${WANPAIR_SOCKETD_WORKERS:-}" ] ||
	    var=WANPAIR_SOCKETD_WORKERS ;;
	popd) [ -z "${WANPAIR_POPD_WORKERS:-}" ] || var=WANPAIR_POPD_WORKERS ;;
	*) return 2 ;;
	esac
	n=${!var:-}
	case $n in
	'') ;;
	*[!0-9]*)
		lab_log "$var must be a number, not '$n'"
		return 1
		;;
	*) echo "  \"workers\": $n," ;;
	esac
}

# pair_configs [ALGORITHM]: socketd.json and popd.json in LAB_DIR, the lab's
# two links (WAN1 100/100, WAN2 20/20 Mbit) balanced by ALGORITHM (ratio).
pair_configs() {
	local alg=${1:-ratio} offload workers pworkers
	offload=$(pair_offload_key) || return 1
	[ -z "$offload" ] || offload+=$'\n'
	workers=$(pair_workers_key socketd) || return 1
	[ -z "$workers" ] || workers+=$'\n'
	pworkers=$(pair_workers_key popd) || return 1
	[ -z "$pworkers" ] || pworkers+=$'\n'
	"$top_srcdir/tests/lab/mkcerts" "$LAB_DIR/certs" || return 1
	cat >"$LAB_DIR/socketd.json" <<JSON
{
${offload}${workers}  "site": "branch-17",
  "pop": {"address": "198.18.0.1", "identity": "pop.lab"},
  "tls": {"ca": "certs/ca.pem", "cert": "certs/site.pem",
          "key": "certs/site.key"},
  "lan": ["10.1.0.0/24", "2001:db8:1::/64"],
  "links": [
    {"name": "WAN1", "device": "wan1", "up_mbps": 100, "down_mbps": 100},
    {"name": "WAN2", "device": "wan2", "up_mbps": 20, "down_mbps": 20}
  ],
  "default_profile": "lab",
  "profiles": [{"name": "lab", "algorithm": "$alg"}],
  "flows": {"max": 65536}
}
JSON
	cat >"$LAB_DIR/popd.json" <<JSON
{
${offload}${pworkers}  "listen": {"address": "198.18.0.1"},
  "tls": {"ca": "certs/ca.pem", "cert": "certs/pop.pem",
          "key": "certs/pop.key"},
  "sites": [
    {"name": "branch-17", "identity": "branch-17.lab",
     "lan": ["10.1.0.0/24", "2001:db8:1::/64"]}
  ],
  "default_profile": "lab",
  "profiles": [{"name": "lab", "algorithm": "$alg"}],
  "flows": {"max": 65536}
}
JSON
}

# pair_wait_log FILE PATTERN [SECONDS]: wait until FILE has a line
# matching PATTERN (default 10 s).
pair_wait_log() {
	local i
	for i in $(seq $((${3:-10} * 10))); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	lab_log "no \"$2\" in $1 after ${3:-10} s:"
	tail -n 20 "$1" >&2
	return 1
}

# pair_start_popd / pair_start_socketd [CONFIG]: one daemon, in the
# foreground of its namespace (-d), verbose.
pair_start_popd() {
	# -vv: failed handshakes (peer-caused) are logged at debug
	lab_bg pop "$top_builddir/popd/wanpair-popd" -d -vv \
	    -f "${1:-$LAB_DIR/popd.json}" -s "$LAB_DIR/popd.sock" || return 1
	PAIR_POPD_PID=$LAB_BG_PID
	PAIR_POPD_LOG=$LAB_BG_LOG
	lab_wait_listen pop tcp 18461
}

pair_start_socketd() {
	lab_bg edge "$top_builddir/socketd/wanpair-socketd" -d -v \
	    -f "${1:-$LAB_DIR/socketd.json}" -s "$LAB_DIR/socketd.sock" ||
	    return 1
	PAIR_SOCKETD_PID=$LAB_BG_PID
	PAIR_SOCKETD_LOG=$LAB_BG_LOG
}

# pair_up [ALGORITHM]: configs, both daemons, a session, and the edge's
# policy routing of the LAN into the tunnel.
pair_up() {
	pair_configs "$@" && pair_start_popd && pair_start_socketd &&
	    pair_wait_log "$PAIR_SOCKETD_LOG" "session [0-9]* with the PoP" &&
	    lab_edge_tunnel_routes wanpair0 &&
	    lab_log "socketd: $(grep -o '[0-9]* workers*' "$PAIR_SOCKETD_LOG" |
		head -n 1), popd: $(grep -o '[0-9]* workers*' "$PAIR_POPD_LOG" |
		head -n 1), offload $(pair_offload)"
}

# pair_ctl socketd|popd COMMAND [ARG...]: wanpairctl against that daemon's
# control socket (a path in LAB_DIR: UNIX sockets are not per namespace).
pair_ctl() {
	local d=$1
	shift
	"$top_builddir/ctl/wanpairctl" -s "$LAB_DIR/$d.sock" "$@"
}

# pair_counter socketd|popd EXPR: the value of EXPR, Python over the
# daemon's counters as `wanpairctl counters --json` gives them: c, the
# object; link(NAME), socketd's link of that name; site(NAME), popd's site.
# Prints nothing (and fails) if the daemon does not answer.
pair_counter() {
	pair_ctl "$1" counters --json 2>/dev/null | python3 -c '
import json, sys
c = json.load(sys.stdin)
def link(n): return next(x for x in c["links"] if x["name"] == n)
def site(n): return next(x for x in c["sites"] if x["name"] == n)
print(eval(sys.argv[1]))' "$2"
}

# pair_counters: both daemons log their counters (SIGUSR1), for the record.
pair_counters() {
	kill -USR1 "$PAIR_SOCKETD_PID" "$PAIR_POPD_PID" 2>/dev/null
	sleep 0.3
}
