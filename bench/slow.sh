#!/usr/bin/env bash
# The slow-clients section of make bench (issue 13): N downloads in flight
# at once, each read at a steady rate from its first byte by
# build/bench/slowc (bench/slowc.c), against nginx and lighttpd serving the
# file statically and sluice behind each (stream mode, the deploy/
# configs, the default pool: no tuning flags on sluice). Run alone with
# `make bench-slow` (or `bash bench/slow.sh`); bench/run.sh runs it too and
# puts its table into latest.md.
#
# Method. Per case (N clients x a file at a rate) and per server: a fresh
# sluice and a fresh server in front of it; first the static file, then
# the same bytes through sluice, one slowc run each, capped at
# BENCH_SLOW_TIMEOUT seconds of wall time (nginx answers a download that
# sluice has not started within fastcgi_read_timeout, 60 s, with 504;
# lighttpd waits for ever, so there the cap ends it). Then the peak RSS
# (VmHWM) of each of sluice's workers, summed, read before stopping them.
# The web servers are configured here for thousands of connections (see
# slow_confs); everything else is the deploy/ config.
#
# Results are reported, never asserted, except: a body with the wrong
# bytes, or a static download that does not complete, fails the run
# (exit 1); in quick mode, so does any download that does not complete.
#
# Environment (all optional):
#   BENCH_QUICK=1        a smoke of slowc (make bench-quick): 5 clients,
#                        about 2 s, nginx only
#   BENCH_SLOW_CASES     "N:BYTES:RATE ..." (default "10:32MiB:1000000
#                        100:32MiB:1000000 1000:2MiB:64000"; sizes in bytes
#                        or with KiB/MiB, rates in bytes/s)
#   BENCH_SLOW_SERVERS   default "nginx lighttpd"
#   BENCH_SLOW_TIMEOUT   the cap on one slowc run, seconds (default 100)
#   BENCH_SLOW_MD        where the markdown section goes (default
#                        $BENCH_OUT/slow.md: bench/results, or
#                        build/bench-quick in quick mode)
#   BENCH_KEEP=1         keep the scratch directory
#   SLUICE_BIN           default build/sluice
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
. tests/integration/lib.sh
. tests/integration/servers.sh

QUICK=${BENCH_QUICK:-0}
[ "$QUICK" = 1 ] || QUICK=0
if [ "$QUICK" = 1 ]; then
	CASES=${BENCH_SLOW_CASES:-5:256KiB:128000}
	SERVERS=${BENCH_SLOW_SERVERS:-nginx}
	TIMEOUT=${BENCH_SLOW_TIMEOUT:-30}
	MD=${BENCH_SLOW_MD:-${BENCH_OUT:-$top/build/bench-quick}/slow.md}
else
	CASES=${BENCH_SLOW_CASES:-10:32MiB:1000000 100:32MiB:1000000 1000:2MiB:64000}
	SERVERS=${BENCH_SLOW_SERVERS:-nginx lighttpd}
	TIMEOUT=${BENCH_SLOW_TIMEOUT:-100}
	MD=${BENCH_SLOW_MD:-${BENCH_OUT:-$top/bench/results}/slow.md}
fi
SLUICE=${SLUICE_BIN:-$top/build/sluice}
SLOWC=$top/build/bench/slowc
# The bench's web servers: enough descriptors and connections for
# thousands of downloads (each through sluice holds two connections).
NGINX_CONNS=8192
NGINX_NOFILE=16384
LIGHTTPD_FDS=16384
LIGHTTPD_CONNS=8192
START=$SECONDS

say() { printf 'bench-slow: [%3ds] %s\n' "$((SECONDS - START))" "$*"; }
fail() {
	printf 'bench-slow: FAIL: %s\n' "$*" >&2
	exit 1
}

for c in lighttpd nginx spawn-fcgi sqlite3 sha256sum; do
	command -v "$c" >/dev/null || fail "missing $c: run make deps"
done
for b in "$SLUICE" "$SLOWC"; do
	[ -x "$b" ] || fail "missing $b: run make bench-slow (it builds it)"
done
# Every process started from here (servers, sluice, slowc) inherits it.
ulimit -n "$(ulimit -Hn)" || fail "ulimit -n"
NOFILE=$(ulimit -n)

B=$(mktemp -d /tmp/sluice-slow.XXXXXX) || fail "mktemp"
chmod 0711 "$B"
IT_TOP=$top
IT_ROOT=$B/export
IT_DOCROOT=$B/htdocs
IT_DIR=$B
slow_cleanup() {
	it_cleanup
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		say "scratch kept: $B"
	else
		rm -rf "$B"
	fi
}
trap slow_cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$IT_ROOT" "$IT_DOCROOT" || fail "mkdir"

# bytes SIZE: 32MiB -> 33554432.
bytes() {
	case $1 in
	*KiB) echo $((${1%KiB} * 1024)) ;;
	*MiB) echo $((${1%MiB} * 1048576)) ;;
	*) echo $(($1)) ;;
	esac
}
# 1000000 -> "1 MB/s", 64000 -> "64 kB/s" (10^3 bytes, as the issue's).
hrate() {
	awk -v r="$1" 'BEGIN {
		if (r >= 1e6) printf "%g MB/s", r / 1e6
		else if (r >= 1e3) printf "%g kB/s", r / 1e3
		else printf "%d B/s", r
	}'
}

# ------------------------------------------------------------ fixtures
# One random file per size, in the export root and hard-linked into the
# document root; a job for each (id slow-BYTES).
JOBS=$B/jobs.sql
: >"$JOBS"
declare -A SHA
for c in $CASES; do
	IFS=: read -r _ sz _ <<<"$c"
	n=$(bytes "$sz")
	[ -z "${SHA[$n]:-}" ] || continue
	f=slow-$n.bin
	head -c "$n" /dev/urandom >"$IT_ROOT/$f" || fail "writing $f"
	ln "$IT_ROOT/$f" "$IT_DOCROOT/$f" || fail "linking $f"
	SHA[$n]=$(sha256sum "$IT_ROOT/$f" | cut -d' ' -f1)
	printf "INSERT INTO export_jobs (id, status, file_path, file_name, file_size) VALUES ('slow-%s', 'done', '%s', '%s', %s);\n" \
	    "$n" "$f" "$f" "$n" >>"$JOBS"
done

# The deploy/ configs with the limits for thousands of connections, set
# to this run's (the shipped configs carry the same lines): nginx
# worker_connections (client and upstream connections both count) and
# worker_rlimit_nofile; lighttpd server.max-fds and
# server.max-connections (replacing any the config sets).
slow_confs() {
	sed -e "s/^\([[:space:]]*worker_connections\) .*/\1 $NGINX_CONNS;/" \
	    -e "s/^worker_rlimit_nofile .*/worker_rlimit_nofile $NGINX_NOFILE;/" \
	    deploy/nginx/sluice.conf >"$B/nginx-slow.conf" || return 1
	grep -q "worker_connections $NGINX_CONNS;" "$B/nginx-slow.conf" &&
	    grep -q "^worker_rlimit_nofile $NGINX_NOFILE;" \
	    "$B/nginx-slow.conf" || return 1
	{
		grep -Ev '^[[:space:]]*server\.max-(fds|connections)' \
		    deploy/lighttpd/sluice.conf
		echo "server.max-fds = $LIGHTTPD_FDS"
		echo "server.max-connections = $LIGHTTPD_CONNS"
	} >"$B/lighttpd-slow.conf"
}
slow_confs || fail "deriving the servers' configs from deploy/"

# ------------------------------------------------------------ the runs
# A fresh sluice (the default pool) and SERVER in front of it, in
# $B/NAME; sets SPID, BASE and SRV_PID.
slow_up() {
	local name=$1 srv=$2
	IT_DIR=$B/$name
	mkdir -p "$IT_DIR" || fail "mkdir $IT_DIR"
	cat sql/schema.sql "$JOBS" | sqlite3 "$IT_DIR/jobs.db" ||
	    fail "seeding $IT_DIR/jobs.db"
	it_sluice_start "$IT_DIR/s.sock" "$SLUICE" "$IT_DIR/sluice.log" ||
	    fail "$name: sluice did not start (see $IT_DIR/sluice.log)"
	SPID=$SLUICE_PID
	it_grant_www_data "$IT_DIR/s.sock"
	it_wait_for 10 has_workers "$SPID" ||
	    fail "$name: sluice has no workers"
	it_server_up "$srv" stream "$IT_DIR/s.sock" "$B/$srv-slow.conf" ||
	    fail "$name: $srv did not start (see $IT_DIR/*error.log)"
}

has_workers() { [ -n "$(it_workers "$1")" ]; }

# Sum of the VmHWM (kB) of supervisor $1's workers now.
workers_hwm() {
	local w sum=0 v
	for w in $(it_workers "$1"); do
		v=$(it_vmhwm "$w")
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

# slow_run ROWNAME N BYTES RATE URL: one slowc run; its summary line goes
# into $B/rows as "ROWNAME line". Fails on slowc's usage error (2).
slow_run() {
	local row=$1 n=$2 size=$3 rate=$4 url=$5 out rc
	out=$("$SLOWC" -n "$n" -r "$rate" -l "$size" -s "${SHA[$size]}" \
	    -t "$TIMEOUT" "$url" 2>>"$B/slowc.err")
	rc=$?
	[ "$rc" -le 1 ] && [ -n "$out" ] ||
	    fail "slowc $url: exit $rc ($(tail -n 3 "$B/slowc.err"))"
	printf '%s %s\n' "$row" "$out" >>"$B/rows"
	say "$row: ${out#slowc }"
	LAST=$out
}

# The value of KEY in slowc's summary line $1.
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

: >"$B/rows"
for c in $CASES; do
	IFS=: read -r n sz rate <<<"$c"
	size=$(bytes "$sz")
	say "$n clients x $sz at $(hrate "$rate"); servers: $SERVERS"
	for s in $SERVERS; do
		slow_up "slow-$n-$s" "$s"
		slow_run "$n $s static" "$n" "$size" "$rate" \
		    "$BASE/slow-$size.bin"
		[ "$(field "$LAST" completed)" = "$n" ] ||
		    fail "$s static: not every download completed"
		slow_run "$n $s sluice" "$n" "$size" "$rate" \
		    "$BASE/download/slow-$size"
		[ "$(field "$LAST" edigest)" = 0 ] ||
		    fail "sluice behind $s: a body with the wrong bytes"
		[ "$QUICK" = 0 ] || [ "$(field "$LAST" completed)" = "$n" ] ||
		    fail "sluice behind $s: not every download completed"
		echo "$n $s $(workers_hwm "$SPID") $(it_workers "$SPID" |
		    wc -l)" >>"$B/hwm"
		it_server_down
		it_sluice_stop
	done
done

# ------------------------------------------------------------ the table
# The errors of a summary line: each non-2xx status, then each other
# ending, "52 × 504, 3 timeout"; "0" if none.
errors() {
	local l=$1 out="" k v code cnt pair
	for pair in $(field "$l" codes | tr ',' ' '); do
		code=${pair%:*} cnt=${pair#*:}
		case $code in 2??|-) continue ;; esac
		out="$out, $cnt × $code"
	done
	for k in eshort edigest econnect etimeout eproto; do
		v=$(field "$l" "$k")
		[ "${v:-0}" = 0 ] || out="$out, $v ${k#e}"
	done
	echo "${out:-, 0}" | cut -c3-
}

secs() {
	case $1 in
	-) echo - ;;
	*) awk -v t="$1" 'BEGIN { printf(t < 10 ? "%.3f s" : "%.1f s", t) }' ;;
	esac
}

table() {
	local row n s what l hwm nw none
	echo "## Slow clients: N downloads in flight, each at a steady rate"
	echo
	echo "build/bench/slowc (bench/slowc.c): N HTTP/1.1 GETs at once, each reading at most rate × t bytes t seconds after its first byte, SO_RCVBUF 16 KiB, MSS 1448 (an Ethernet link's: loopback's 64 KiB MSS lets the server's send buffer absorb megabytes per download); every body's SHA-256 checked. Completed = 2xx, full length, byte-exact. TTFB from the start of connect, over the downloads that got a byte. One run per cell, capped at $TIMEOUT s (then: timeout). sluice: stream mode, the default pool (no tuning flags), a fresh one per row pair; peak RSS = the sum of its workers' VmHWM at the end. Servers: deploy/ configs plus nginx \`worker_connections $NGINX_CONNS\`, \`worker_rlimit_nofile $NGINX_NOFILE\`; lighttpd \`server.max-fds = $LIGHTTPD_FDS\`, \`server.max-connections = $LIGHTTPD_CONNS\`; \`ulimit -n\` $NOFILE."
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), sluice $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (src/ changed)'), nproc $(nproc), load average at the end $(cut -d' ' -f1-3 /proc/loadavg)."
	for c in $CASES; do
		IFS=: read -r n sz rate <<<"$c"
		echo
		echo "### $n clients × $sz at $(hrate "$rate")"
		echo
		echo "| | completed | errors | TTFB median | TTFB p95 | TTFB max | slowest download | sluice workers' peak RSS |"
		echo "|---|---|---|---|---|---|---|---|"
		for s in $SERVERS; do
			for what in static sluice; do
				l=$(awk -v k="$n $s $what" \
				    'index($0, k " slowc ") == 1' "$B/rows")
				hwm=-
				if [ "$what" = sluice ]; then
					read -r _ _ hwm nw < <(awk -v n="$n" \
					    -v s="$s" '$1 == n && $2 == s' \
					    "$B/hwm")
					hwm="$(awk -v k="$hwm" 'BEGIN { printf "%.1f MiB", k / 1024 }') ($nw workers)"
				fi
				none=$(( $(field "$l" n) - $(field "$l" ttfb_n) ))
				[ "$none" = 0 ] && none= || none=" ($none had none)"
				echo "| $s $([ "$what" = static ] && echo static || echo '→ sluice') |" \
				    "$(field "$l" completed)/$n |" \
				    "$(errors "$l") |" \
				    "$(secs "$(field "$l" ttfb_med)") |" \
				    "$(secs "$(field "$l" ttfb_p95)") |" \
				    "$(secs "$(field "$l" ttfb_max)")$none |" \
				    "$(secs "$(field "$l" slowest)") |" \
				    "$hwm |"
			done
		done
	done
}

mkdir -p "$(dirname "$MD")" || fail "mkdir for $MD"
table >"$MD" || fail "writing $MD"
cat "$MD"
say "wrote $MD in $((SECONDS - START)) s"
