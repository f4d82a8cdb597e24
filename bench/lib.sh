# shellcheck shell=bash
# bench/lib.sh: what every bench/* script needs before it measures, so
# that each runs on a fresh Debian 12 machine or says why not.  Source it
# after tests/lab/lab.sh:
#
#	. "$top/bench/lib.sh" || exit 1
#	need_tools ip:iproute2 iperf3:iperf3 ...
#	need_lab
#	need_built "$b" popd/wanpair-popd ...
#
# Each of these exits 77 (skipped, as automake counts it and as
# scripts/quickstart bench reports it) with one line on stderr naming what
# is missing; a usage error stays exit status 2 and a failed measurement 1.

# The lab's own tools (tests/lab/lab.sh, pair.sh, mkcerts): every bench
# that builds namespaces needs them.
# shellcheck disable=SC2034 # read by the scripts that source this
BENCH_LAB_TOOLS="ip:iproute2 tc:iproute2 ss:iproute2 nft:nftables
	ethtool:ethtool ping:iputils-ping timeout:coreutils python3:python3
	openssl:openssl"

# bench_note MESSAGE...: one line on stderr, prefixed with the bench's name.
bench_note() {
	echo "bench/${0##*/}: $*" >&2
}

# _bench_missing TOOL:PACKAGE...: those whose TOOL is not on PATH.
_bench_missing() {
	local t
	for t in "$@"; do
		command -v "${t%%:*}" >/dev/null || echo "$t"
	done
}

# _bench_pkgs TOOL:PACKAGE...: the packages, each once, space-separated.
_bench_pkgs() {
	local t
	for t in "$@"; do echo "${t#*:}"; done | sort -u | tr '\n' ' ' |
	    sed 's/ $//'
}

# need_tools TOOL:PACKAGE...: every TOOL on PATH.  As root with apt-get,
# the Debian PACKAGEs of the missing ones are installed, unattended and
# without recommends (wireguard-tools would pull a kernel image), after
# an `apt-get update` (a fresh machine or container has no package lists;
# nothing is asked of the network when nothing is missing).  Otherwise,
# or if that fails, the missing tools and their packages are named and
# the script exits 77.
need_tools() {
	local miss pkgs
	miss=$(_bench_missing "$@")
	[ -n "$miss" ] || return 0
	# shellcheck disable=SC2086 # one TOOL:PACKAGE a word
	pkgs=$(_bench_pkgs $miss)
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
		bench_note "installing $pkgs"
		export DEBIAN_FRONTEND=noninteractive
		timeout 300 apt-get update -qq </dev/null >&2 ||
		    bench_note "apt-get update failed"
		# shellcheck disable=SC2086 # package names, word-split
		timeout 900 apt-get install -y -qq --no-install-recommends \
		    $pkgs </dev/null >&2 ||
		    bench_note "apt-get install $pkgs failed"
		miss=$(_bench_missing "$@")
		[ -n "$miss" ] || return 0
		# shellcheck disable=SC2086 # one TOOL:PACKAGE a word
		pkgs=$(_bench_pkgs $miss)
	fi
	bench_note "skipped: missing $(for t in $miss; do echo "${t%%:*}"; done |
	    tr '\n' ' ')(Debian: apt-get install --no-install-recommends" \
	    "$pkgs)"
	if [ "$(id -u)" -ne 0 ]; then
		bench_note "run it as root and it installs them"
	fi
	exit 77
}

# need_lab: root and network namespaces, else exit 77.
need_lab() {
	lab_can_run && return 0
	bench_note "skipped: needs root and network namespaces"
	exit 77
}

# need_built DIR FILE...: each FILE built and executable under DIR (a build
# tree), else exit 77 naming it.
need_built() {
	local dir=$1 f
	shift
	for f in "$@"; do
		[ -x "$dir/$f" ] && continue
		bench_note "skipped: not built: no $dir/$f (build first, e.g." \
		    "scripts/quickstart bench, or set top_builddir=DIR)"
		exit 77
	done
}
