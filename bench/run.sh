#!/usr/bin/env bash
# make bench: sluice beside the web servers' own static serving, on this
# machine, in one run. Prints a markdown report and writes it, with the
# machine, the date and the versions, to $BENCH_OUT/latest.md, and the
# memory curve to $BENCH_OUT/memory.png (gnuplot).
#
# Method. Every case runs once per round and the rounds repeat (A B C A B C
# ...), so that a slow minute on a shared machine hits every case alike.
# Each cell is the median over rounds with the min-max; each comparison is
# the median of the per-round ratios (A/B within one round), never a ratio
# of medians.
#   big file     a page-cached random file (2 GiB), curl -o /dev/null, MB/s
#                (10^6 bytes/s from curl's time_total), behind lighttpd,
#                nginx and Apache: sluice streaming, sluice offloading
#                (X-Sendfile / X-Accel-Redirect), and the same server
#                serving the same file (hard-linked into its document root)
#                statically from the same config.
#   small files  1 KiB and 100 KiB jobs, wrk requests/s, against the same
#                server's static serving and against bench/bare.c (a libfcgi
#                responder that answers the same bytes with no lookup), run
#                as sluice is, 2 processes x 8 threads under spawn-fcgi.
#   memory       peak VmHWM of the one worker of a fresh sluice
#                (--workers 1) per download size, beside bench/naive.c, which
#                reads the whole file into memory first (the incident).
#                Files are sparse (truncate -s). One download per size.
#   concurrency  N parallel downloads of one file through one server, sluice
#                and static interleaved; aggregate MB/s, and the peak of the
#                sluice workers' summed VmRSS (sampled every 0.1 s).
#   slow clients bench/slow.sh (also alone: make bench-slow): N downloads
#                in flight at once, each read at a steady rate from its first
#                byte by build/bench/slowc, against nginx and lighttpd static
#                and sluice behind each; completed, errors, time to first
#                byte, the slowest download, the workers' summed VmHWM.
#                Quick: a smoke of 5 clients for about 2 s behind nginx.
# Every timed download is checked for status 200 and its exact size; one
# untimed download per case before the timed ones (and again after the
# load, for the small files and the concurrent batch) is compared byte for
# byte with the file (cmp on the fly, which is stronger than comparing
# SHA-256 sums and much cheaper than sha256sum here). Any wrong answer, a
# wrk run with a non-2xx answer or a connect error, or a server or
# responder that does not start, makes the run fail (exit 1).
# Timings are reported, never asserted.
#
# Environment (all optional):
#   BENCH_QUICK=1      one round, small sizes (make bench-quick); writes to
#                      build/bench-quick/ unless BENCH_OUT is set
#   BENCH_ROUNDS       rounds (default 5; quick 1)
#   BENCH_OUT          where latest.md and memory.png go (default bench/results)
#   BENCH_SERVERS      default "lighttpd nginx apache"
#   BENCH_WRK_SECS     seconds per wrk run (default 4; quick 1)
#   BENCH_BIG_SIZE     big file bytes (default 2 GiB; quick 64 MiB)
#   BENCH_CONC         parallel downloads (default 64; quick 8)
#   BENCH_CONC_SIZE    bytes each (default 50 MiB; quick 4 MiB)
#   BENCH_CONC_SERVER  default nginx
#   BENCH_BARE         the bare responder (default build/bench/bare; when
#                      missing, the bare column says n/a)
#   BENCH_KEEP=1       keep the scratch directory (/tmp/sluice-bench.*)
#   SLUICE_BIN         default build/sluice (the release build)
#   BENCH_SLOW=0       skip the slow-clients section (bench/slow.sh has
#                      its own BENCH_SLOW_* settings)
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
. tests/integration/lib.sh
. tests/integration/servers.sh
. bench/lib.sh

MiB=1048576
GiB=1073741824
QUICK=${BENCH_QUICK:-0}
[ "$QUICK" = 1 ] || QUICK=0
if [ "$QUICK" = 1 ]; then
	ROUNDS=${BENCH_ROUNDS:-1}
	OUT=${BENCH_OUT:-$top/build/bench-quick}
	WRK_SECS=${BENCH_WRK_SECS:-1}
	BIG_SIZE=${BENCH_BIG_SIZE:-$((64 * MiB))}
	CONC=${BENCH_CONC:-8}
	CONC_SIZE=${BENCH_CONC_SIZE:-$((4 * MiB))}
	MEM_SIZES="1024 $MiB"
else
	ROUNDS=${BENCH_ROUNDS:-5}
	OUT=${BENCH_OUT:-$top/bench/results}
	# 4 s, not 5: the small files are most of the run's time, and the
	# whole run must stay under 15 minutes on 2 vCPUs shared with others.
	WRK_SECS=${BENCH_WRK_SECS:-4}
	BIG_SIZE=${BENCH_BIG_SIZE:-$((2 * GiB))}
	CONC=${BENCH_CONC:-64}
	CONC_SIZE=${BENCH_CONC_SIZE:-$((50 * MiB))}
	MEM_SIZES="1024 $MiB $((100 * MiB)) $GiB $((5 * GiB))"
fi
SERVERS=${BENCH_SERVERS:-lighttpd nginx apache}
CONC_SERVER=${BENCH_CONC_SERVER:-nginx}
SLUICE=${SLUICE_BIN:-$top/build/sluice}
NAIVE=$top/build/bench/naive
BARE=${BENCH_BARE:-$top/build/bench/bare}
# sluice as deployed by default, and the bare responder run the same way.
WORKERS=2
THREADS=8
WRK_ARGS=(-t2 -c16 "-d${WRK_SECS}s")
BENCH_START=$SECONDS
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

say() { printf 'bench: [%3ds] %s\n' "$((SECONDS - BENCH_START))" "$*"; }
fail() {
	printf 'bench: FAIL: %s\n' "$*" >&2
	exit 1
}

# ------------------------------------------------------------ preflight
for c in lighttpd nginx "$IT_APACHE" spawn-fcgi sqlite3 curl wrk gnuplot \
    cmp truncate; do
	command -v "$c" >/dev/null || fail "missing $c: run make deps"
done
[ -e /usr/lib/apache2/modules/mod_xsendfile.so ] ||
    fail "missing mod_xsendfile: run make deps"
for b in "$SLUICE" "$NAIVE"; do
	[ -x "$b" ] || fail "missing $b: run make bench (it builds it)"
done
[ -x "$BARE" ] || BARE=

# ------------------------------------------------------------- scratch
# Short path: unix socket paths are limited to 108 bytes. The web servers'
# workers run as www-data and must cross it to reach the sockets and files.
B=$(mktemp -d /tmp/sluice-bench.XXXXXX) || fail "mktemp"
chmod 0711 "$B"
IT_TOP=$top
IT_ROOT=$B/export
IT_DOCROOT=$B/htdocs
IT_DIR=$B
DATA=$B/data.tsv
NOTES=$B/notes
SAMPLER=

# On failure the logs stay (the data files go) so that the message's
# pointers to them still lead somewhere.
bench_cleanup() {
	local rc=$?
	[ -z "$SAMPLER" ] || kill "$SAMPLER" 2>/dev/null
	bench_fcgi_stop_all
	it_cleanup
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		say "scratch kept: $B"
	elif [ "$rc" -ne 0 ]; then
		rm -rf "$IT_ROOT" "$IT_DOCROOT"
		say "logs kept: $B (the data files removed)"
	else
		rm -rf "$B"
	fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$IT_ROOT" "$IT_DOCROOT" || fail "mkdir"
: >"$DATA"
: >"$NOTES"

# A human size: 1 KiB, 100 MiB, 2 GiB.
hsize() {
	awk -v b="$1" 'BEGIN {
		split("B KiB MiB GiB TiB", u, " ")
		for (i = 1; b >= 1024 && b % 1024 == 0 && i < 5; i++) b /= 1024
		printf "%d %s", b, u[i]
	}'
}

# ------------------------------------------------------------ fixtures
# id, file (relative to the export root), bytes. Random bytes except the
# memory files, which are sparse.
JOBS=$B/jobs.sql
job() {
	local cols="id, status, file_path, file_name, file_size"
	printf "INSERT INTO export_jobs (%s) VALUES ('%s', 'done', '%s', '%s', %s);\n" \
	    "$cols" "$1" "$2" "$2" "$3" >>"$JOBS"
}
random_file() {
	head -c "$2" /dev/urandom >"$IT_ROOT/$1" || fail "writing $1"
	ln "$IT_ROOT/$1" "$IT_DOCROOT/$1" || fail "linking $1"
}
say "scratch $B; making $(hsize "$BIG_SIZE") of random data"
: >"$JOBS"
random_file big.bin "$BIG_SIZE"
job big big.bin "$BIG_SIZE"
random_file 1k.bin 1024
job k1 1k.bin 1024
random_file 100k.bin 102400
job k100 100k.bin 102400
random_file conc.bin "$CONC_SIZE"
job conc conc.bin "$CONC_SIZE"
for n in $MEM_SIZES; do
	truncate -s "$n" "$IT_ROOT/mem-$n.bin" || fail "truncate"
	job "mem-$n" "mem-$n.bin" "$n"
done
# Page-cache the files the timed cases read.
cat "$IT_ROOT/big.bin" "$IT_ROOT/conc.bin" >/dev/null

# --------------------------------------------------------- the checks
# check_get and run_wrk: bench/lib.sh.

# time_get URL BYTES: one timed download to /dev/null; prints MB/s.
time_get() {
	local out code got t
	out=$(curl -sS --max-time 900 -o /dev/null \
	    -w '%{http_code} %{size_download} %{time_total}' "$1") ||
	    { echo "curl $1: ${out:-exit $?}" >&2; return 1; }
	read -r code got t <<<"$out"
	if [ "$code" != 200 ] || [ "$got" != "$2" ]; then
		echo "$1: status $code, $got bytes; want 200, $2" >&2
		return 1
	fi
	awk -v b="$2" -v t="$t" 'BEGIN { printf "%.1f\n", b / t / 1e6 }'
}

# ------------------------------------------------------- the instances
# An instance: its own directory $B/NAME (config, logs, jobs database and
# sluice's state database), a FastCGI backend on $B/NAME/s.sock and a web
# server in front of it. Several run at once, each from its own
# directory: the helpers of servers.sh take it from IT_DIR.
declare -A URL SPID SRVPID FPIDS

inst_dir() {
	IT_DIR=$B/$1
	mkdir -p "$IT_DIR" || fail "mkdir $IT_DIR"
	if [ ! -e "$IT_DIR/jobs.db" ]; then
		cat sql/schema.sql "$JOBS" | sqlite3 "$IT_DIR/jobs.db" ||
		    fail "seeding $IT_DIR/jobs.db"
	fi
}

# inst_sluice NAME SERVER MODE WORKERS: a fresh sluice for NAME (stream,
# or offloading to SERVER), WORKERS x $THREADS, audit on (the defaults).
inst_sluice() {
	local name=$1 srv=$2 mode=$3 workers=$4 opts=()
	inst_dir "$name"
	# shellcheck disable=SC2046
	[ "$mode" != offload ] || opts=(--offload $(it_offload_arg "$srv"))
	it_sluice_start "$IT_DIR/s.sock" "$SLUICE" "$IT_DIR/sluice.log" \
	    --workers "$workers" --threads "$THREADS" "${opts[@]}" ||
	    fail "$name: sluice did not start (see $IT_DIR/sluice.log)"
	it_grant_www_data "$IT_DIR/s.sock"
	it_wait_workers "$SLUICE_PID" "$workers" 10 ||
	    fail "$name: sluice has not $workers workers"
	SPID[$name]=$SLUICE_PID
}

# Stopping is asynchronous: SIGTERM now (sluice then drains, which takes
# a second or two even when idle), and bench_reap waits for all of them at
# the end of a phase, so that the stops overlap.
STOPPING=()
inst_stop_pid() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null
	STOPPING+=("$1")
}
bench_reap() {
	local p
	for p in "${STOPPING[@]}"; do it_kill_pid "$p"; done
	STOPPING=()
}

inst_sluice_stop() {
	inst_stop_pid "${SPID[$1]}"
	SPID[$1]=
}

# inst_fcgi NAME NPROC COMMAND...: another responder on NAME's socket.
inst_fcgi() {
	local name=$1 n=$2
	shift 2
	inst_dir "$name"
	bench_fcgi_start "$IT_DIR/s.sock" "$n" "$@" ||
	    fail "$name: $* did not start under spawn-fcgi"
	it_grant_www_data "$IT_DIR/s.sock"
	FPIDS[$name]=$FCGI_PIDS
}

# The responders hold no state and need no drain: SIGKILL (libfcgi turns
# SIGTERM into a flag that a thread blocked in accept() never looks at).
inst_fcgi_stop() {
	local p
	for p in ${FPIDS[$1]}; do
		kill -KILL "$p" 2>/dev/null
		STOPPING+=("$p")
	done
	FPIDS[$1]=
}

# inst_server NAME SERVER MODE: the web server in front of NAME's socket.
inst_server() {
	inst_dir "$1"
	it_server_up "$2" "$3" "$IT_DIR/s.sock" ||
	    fail "$1: $2 ($3) did not start (see $IT_DIR/*error.log)"
	URL[$1]=$BASE
	SRVPID[$1]=$SRV_PID
}

inst_server_stop() {
	inst_stop_pid "${SRVPID[$1]}"
	SRVPID[$1]=
}

# The last audit row of instance NAME says the file was offloaded.
expect_offloaded() {
	local got
	for _ in $(seq 1 20); do
		got=$(sqlite3 "$B/$1/sluice-state.db" \
		    "SELECT outcome FROM responses ORDER BY id DESC LIMIT 1" \
		    2>/dev/null)
		[ "$got" = offloaded ] && return 0
		sleep 0.1
	done
	echo "$1: last audit outcome '$got', want 'offloaded'" >&2
	return 1
}

# ============================================================ big file
say "big file: $(hsize "$BIG_SIZE"), $ROUNDS rounds; servers: $SERVERS"
for s in $SERVERS; do
	inst_sluice "$s-st" "$s" stream "$WORKERS"
	inst_server "$s-st" "$s" stream
	inst_sluice "$s-of" "$s" offload "$WORKERS"
	inst_server "$s-of" "$s" offload
	# One untimed, checked download of each case (also a warm-up).
	check_get "${URL[$s-st]}/big.bin" "$IT_ROOT/big.bin" ||
	    fail "$s static"
	check_get "${URL[$s-st]}/download/big" "$IT_ROOT/big.bin" ||
	    fail "$s stream"
	check_get "${URL[$s-of]}/download/big" "$IT_ROOT/big.bin" ||
	    fail "$s offload"
	expect_offloaded "$s-of" || fail "$s offload"
done
for r in $(seq 1 "$ROUNDS"); do
	line=
	for s in $SERVERS; do
		for m in static stream offload; do
			case $m in
			static) u=${URL[$s-st]}/big.bin ;;
			stream) u=${URL[$s-st]}/download/big ;;
			offload) u=${URL[$s-of]}/download/big ;;
			esac
			v=$(time_get "$u" "$BIG_SIZE") || fail "$s $m"
			bench_record "$DATA" "big/$s/$m" "$r" "$v"
			line="$line $s/$m $v"
		done
	done
	say "big round $r/$ROUNDS (MB/s):$line"
done
for s in $SERVERS; do
	inst_server_stop "$s-of"
	inst_sluice_stop "$s-of"
done
bench_reap

# ========================================================= small files
# The stream instances stay: static and sluice. The bare responder gets
# its own instance per server and size.
for sz in 1k 100k; do
	case $sz in 1k) job=k1 ;; 100k) job=k100 ;; esac
	say "small file $sz: wrk ${WRK_ARGS[*]}, $ROUNDS rounds"
	for s in $SERVERS; do
		check_get "${URL[$s-st]}/$sz.bin" "$IT_ROOT/$sz.bin" ||
		    fail "$s static $sz"
		check_get "${URL[$s-st]}/download/$job" "$IT_ROOT/$sz.bin" ||
		    fail "$s sluice $sz"
		[ -n "$BARE" ] || continue
		inst_fcgi "$s-b$sz" "$WORKERS" "$BARE" --file "$IT_ROOT/$sz.bin" \
		    --threads "$THREADS"
		inst_server "$s-b$sz" "$s" stream
		check_get "${URL[$s-b$sz]}/download/$job" "$IT_ROOT/$sz.bin" ||
		    fail "$s bare $sz"
	done
	for r in $(seq 1 "$ROUNDS"); do
		line=
		for s in $SERVERS; do
			for m in static sluice bare; do
				case $m in
				static) u=${URL[$s-st]}/$sz.bin ;;
				sluice) u=${URL[$s-st]}/download/$job ;;
				bare)
					[ -n "$BARE" ] || continue
					u=${URL[$s-b$sz]}/download/$job
					;;
				esac
				v=$(run_wrk "$u") || fail "$s $m $sz"
				bench_record "$DATA" "small/$sz/$s/$m" "$r" "$v"
				line="$line $s/$m $v"
			done
		done
		say "small $sz round $r/$ROUNDS (req/s):$line"
	done
	# The last checks, after the load: still the right bytes.
	for s in $SERVERS; do
		check_get "${URL[$s-st]}/download/$job" "$IT_ROOT/$sz.bin" ||
		    fail "$s sluice $sz after wrk"
		[ -n "$BARE" ] || continue
		inst_server_stop "$s-b$sz"
		inst_fcgi_stop "$s-b$sz"
	done
done
for s in $SERVERS; do
	inst_server_stop "$s-st"
	inst_sluice_stop "$s-st"
done
bench_reap

# ============================================================== memory
# One nginx (stream config); behind it, per size, a fresh sluice with one
# worker, then a fresh naive responder, on the same socket.
say "memory: $(for n in $MEM_SIZES; do printf '%s, ' "$(hsize "$n")"; done)sluice --workers 1 vs naive"
MEMDAT=$B/memory.dat
printf '# bytes sluice_worker_kib naive_kib\n' >"$MEMDAT"
for n in $MEM_SIZES; do
	f=mem-$n.bin
	inst_sluice mem nginx stream 1
	# The server once, after the first backend made the socket it needs.
	[ -n "${URL[mem]:-}" ] || inst_server mem nginx stream
	w=$(it_workers "${SPID[mem]}")
	check_get "${URL[mem]}/download/mem-$n" "$IT_ROOT/$f" ||
	    fail "sluice memory $(hsize "$n")"
	hs=$(it_vmhwm "$w")
	inst_sluice_stop mem
	# The naive responder needs the whole file in memory: skip it (and
	# say so) rather than let the kernel kill it, or a neighbour.
	avail=$(awk '/^MemAvailable:/ { printf "%.0f", $2 * 1024 }' /proc/meminfo)
	if [ "$avail" -lt $((n + 2 * GiB)) ]; then
		hn=-
		echo "naive $(hsize "$n") skipped: MemAvailable $((avail / MiB)) MiB" >>"$NOTES"
	else
		inst_fcgi mem 1 "$NAIVE" --file "$IT_ROOT/$f"
		np=${FPIDS[mem]}
		check_get "${URL[mem]}/download/mem-$n" "$IT_ROOT/$f" ||
		    fail "naive memory $(hsize "$n")"
		hn=$(it_vmhwm "$np")
		inst_fcgi_stop mem
	fi
	printf '%s %s %s\n' "$n" "$hs" "$hn" >>"$MEMDAT"
	say "memory $(hsize "$n"): sluice worker $hs kB, naive $hn kB"
	# The sparse files fill the page cache with zeros: let it go.
	[ "${BENCH_KEEP:-0}" = 1 ] || [ "$n" -lt "$GiB" ] || rm -f "$IT_ROOT/$f"
done
inst_server_stop mem
bench_reap

# ========================================================= concurrency
# CONC parallel downloads of one file through one server: sluice (a fresh
# pool, the defaults) and the same server's static serving, interleaved.
say "concurrency: $CONC x $(hsize "$CONC_SIZE") through $CONC_SERVER, $ROUNDS rounds"
inst_dir conc
inst_sluice conc "$CONC_SERVER" stream "$WORKERS"
inst_server conc "$CONC_SERVER" stream

# sample_rss SUPERVISOR FILE: the peak of the workers' summed VmRSS (kB).
sample_rss() {
	local peak=0 sum v w
	while :; do
		sum=0
		for w in $(it_workers "$1"); do
			v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$w/status" \
			    2>/dev/null)
			sum=$((sum + ${v:-0}))
		done
		if [ "$sum" -gt "$peak" ]; then
			peak=$sum
			echo "$peak" >"$2"
		fi
		sleep 0.1
	done
}

# parallel_get URL [cmp]: CONC downloads at once; prints MB/s. Each
# must be a 200 of CONC_SIZE bytes; with "cmp", each body is also compared
# byte for byte with conc.bin (then the time measures cmp too: untimed use
# only).
parallel_get() {
	local url=$1 cmp=${2:-} i t0 t1 pids=() bad=0 code got
	t0=$(date +%s.%N)
	for i in $(seq 1 "$CONC"); do
		if [ -z "$cmp" ]; then
			curl -sS --max-time 900 -o /dev/null \
			    -w '%{stderr}\n%{http_code} %{size_download}\n' \
			    "$url" 2>"$B/conc.$i" &
		else
			curl -sS --max-time 900 \
			    -w '%{stderr}\n%{http_code} %{size_download}\n' \
			    "$url" 2>"$B/conc.$i" |
			    cmp -s - "$IT_ROOT/conc.bin" &
		fi
		pids+=($!)
	done
	# A pipeline's status is cmp's, a lone curl's its own.
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || {
			echo "$url: download $((i + 1)): exit $?" >&2
			bad=1
		}
	done
	t1=$(date +%s.%N)
	for i in $(seq 1 "$CONC"); do
		read -r code got < <(tail -n 1 "$B/conc.$i")
		[ "${code:-}" = 200 ] && [ "${got:-}" = "$CONC_SIZE" ] && continue
		echo "$url: download $i of $CONC: status ${code:-none}," \
		    "${got:-0} bytes; want 200, $CONC_SIZE" >&2
		bad=1
	done
	[ "$bad" = 0 ] || return 1
	awk -v n="$CONC" -v b="$CONC_SIZE" -v t0="$t0" -v t1="$t1" \
	    'BEGIN { printf "%.1f\n", n * b / (t1 - t0) / 1e6 }'
}

sample_rss "${SPID[conc]}" "$B/rss.peak" &
SAMPLER=$!
for r in $(seq 1 "$ROUNDS"); do
	a=$(parallel_get "${URL[conc]}/download/conc" -) ||
	    fail "concurrent sluice downloads"
	b=$(parallel_get "${URL[conc]}/conc.bin" -) ||
	    fail "concurrent static downloads"
	bench_record "$DATA" "conc/sluice" "$r" "$a"
	bench_record "$DATA" "conc/static" "$r" "$b"
	say "concurrency round $r/$ROUNDS (MB/s aggregate): sluice $a static $b"
done
# Every body, byte for byte, through sluice once more (untimed: comparing
# them all at once would measure cmp too).
parallel_get "${URL[conc]}/download/conc" cmp >/dev/null ||
    fail "concurrent sluice downloads: bytes"
kill "$SAMPLER" 2>/dev/null
wait "$SAMPLER" 2>/dev/null
SAMPLER=
RSS_PEAK=$(cat "$B/rss.peak" 2>/dev/null || echo 0)
HWM_SUM=0
for w in $(it_workers "${SPID[conc]}"); do
	HWM_SUM=$((HWM_SUM + $(it_vmhwm "$w")))
done
inst_server_stop conc
inst_sluice_stop conc
bench_reap

# ======================================================== slow clients
# Its own script (servers tuned for thousands of connections, its own
# scratch directory); its markdown section goes into the report.
if [ "${BENCH_SLOW:-1}" != 0 ]; then
	say "slow clients (bench/slow.sh)"
	BENCH_QUICK=$QUICK BENCH_SLOW_MD=$B/slow.md SLUICE_BIN=$SLUICE \
	    bash bench/slow.sh || fail "slow clients (bench/slow.sh)"
fi
if [ "${BENCH_SLOW:-1}" != 0 ] && [ "$QUICK" != 1 ]; then
	say "idle connections (bench/idle.sh)"
	BENCH_IDLE_MD=$B/idle.md SLUICE_BIN=$SLUICE bash bench/idle.sh \
	    >/dev/null || fail "idle connections (bench/idle.sh)"
fi

# ============================================================== report
ELAPSED=$((SECONDS - BENCH_START))
mkdir -p "$OUT" || fail "mkdir $OUT"

ver() { "$@" 2>&1 | head -n 1; }
kib_mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
mode_text() {
	if [ "$QUICK" = 1 ]; then
		echo "quick (make bench-quick: small sizes; proves the harness, not the numbers)"
	else
		echo "full (make bench)"
	fi
}

report() {
	local s sz n hs hn m
	echo "# sluice benchmark"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(mode_text), $ROUNDS round(s), ${ELAPSED} s."
	echo
	echo "## Machine and versions"
	echo
	echo "- CPU: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), nproc $(nproc)"
	echo "- RAM: $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo); load average at the start $LOAD_START, at the end $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- kernel: $(uname -sr)"
	echo "- sluice: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- 2>/dev/null || echo ' (uncommitted changes)'), $SLUICE, $WORKERS workers x $THREADS threads, audit on"
	echo "- $(ver lighttpd -v | cut -d' ' -f1), $(ver nginx -v | sed 's/^nginx version: //'), $(ver "$IT_APACHE" -v | sed 's/^Server version: //')"
	echo "- SQLite $(ver sqlite3 --version | cut -d' ' -f1), libfcgi $(dpkg-query -W -f='${Version}' libfcgi0ldbl 2>/dev/null), $(ver spawn-fcgi -v | cut -d' ' -f1-2)"
	echo "- $(ver curl --version | cut -d' ' -f1-2), $(ver wrk -v | cut -d' ' -f1-2), $(ver gnuplot --version)"
	echo
	echo "Each cell: median over the rounds (min–max). Each ratio: the median of the per-round ratios (min–max)."
	echo
	echo "## Big file: $(hsize "$BIG_SIZE"), page-cached, curl -o /dev/null, MB/s"
	echo
	echo "| server | static | sluice stream | stream ÷ static | sluice offload | offload ÷ static |"
	echo "|---|---|---|---|---|---|"
	for s in $SERVERS; do
		echo "| $s | $(bench_cell "$DATA" "big/$s/static") |" \
		    "$(bench_cell "$DATA" "big/$s/stream") |" \
		    "$(bench_ratio_cell "$DATA" "big/$s/stream" "big/$s/static") |" \
		    "$(bench_cell "$DATA" "big/$s/offload") |" \
		    "$(bench_ratio_cell "$DATA" "big/$s/offload" "big/$s/static") |"
	done
	echo
	echo "## Small files: wrk ${WRK_ARGS[*]}, requests/s"
	echo
	if [ -z "$BARE" ]; then
		echo "bare: n/a (build/bench/bare not built: bench/bare.c is missing)."
	else
		echo "bare: ${BARE#"$top"/}$([ -z "${BENCH_BARE:-}" ] || echo ' (BENCH_BARE)'), a libfcgi responder answering the same bytes with no lookup, $WORKERS processes x $THREADS threads under spawn-fcgi."
	fi
	echo
	echo "| server | file | static | sluice | bare | sluice ÷ static | sluice ÷ bare |"
	echo "|---|---|---|---|---|---|---|"
	for sz in 1k 100k; do
		for s in $SERVERS; do
			m="small/$sz/$s"
			echo "| $s | $(hsize "$(stat -c %s "$IT_DOCROOT/$sz.bin")") |" \
			    "$(bench_cell "$DATA" "$m/static") |" \
			    "$(bench_cell "$DATA" "$m/sluice") |" \
			    "$(bench_cell "$DATA" "$m/bare") |" \
			    "$(bench_ratio_cell "$DATA" "$m/sluice" "$m/static") |" \
			    "$(bench_ratio_cell "$DATA" "$m/sluice" "$m/bare") |"
		done
	done
	echo
	echo "## Memory: peak RSS (VmHWM) per download size, through nginx"
	echo
	echo "sluice: the one worker of a fresh \`--workers 1 --threads $THREADS\` pool per size. naive: bench/naive.c, which reads the whole file into memory before sending it (the incident): one process, one thread, no SQLite, so its floor is lower. Sparse files, one download each."
	echo
	echo "| download | sluice worker | naive |"
	echo "|---|---|---|"
	while read -r n hs hn; do
		case $n in '#'*) continue ;; esac
		if [ "$hn" = - ]; then
			hn="skipped (too little free memory)"
		else
			hn=$(kib_mib "$hn")
		fi
		echo "| $(hsize "$n") | $(kib_mib "$hs") | $hn |"
	done <"$MEMDAT"
	awk '!/^#/ { if (!first) first = $2; last = $2; lastn = $1 }
	    END { printf "\nsluice worker at the largest size vs 1 KiB: %+.1f%%.\n",
		(last - first) * 100 / first }' "$MEMDAT"
	echo
	echo "![memory curve](memory.png)"
	echo
	echo "## Concurrency: $CONC parallel downloads of $(hsize "$CONC_SIZE") through $CONC_SERVER"
	echo
	echo "Aggregate MB/s = all bytes / wall time of the batch. sluice has $((WORKERS * THREADS)) deciding threads; a download in flight is not a thread. Each download checked by status and size; then one more batch through sluice, each body compared byte for byte with the file."
	echo
	echo "| | aggregate MB/s |"
	echo "|---|---|"
	echo "| static | $(bench_cell "$DATA" conc/static) |"
	echo "| sluice ($WORKERS x $THREADS) | $(bench_cell "$DATA" conc/sluice) |"
	echo "| sluice ÷ static | $(bench_ratio_cell "$DATA" conc/sluice conc/static) |"
	echo
	echo "sluice workers' total RSS: peak $(kib_mib "$RSS_PEAK") (sum of VmRSS, sampled every 0.1 s); sum of their VmHWM $(kib_mib "$HWM_SUM")."
	if [ -s "$B/slow.md" ]; then
		echo
		cat "$B/slow.md"
	fi
	if [ -s "$B/idle.md" ]; then
		echo
		cat "$B/idle.md"
	fi
	if [ -s "$NOTES" ]; then
		echo
		echo "## Notes"
		echo
		sed 's/^/- /' "$NOTES"
	fi
}

report >"$OUT/latest.md" || fail "writing $OUT/latest.md"

gnuplot <<EOF || fail "gnuplot"
set terminal pngcairo size 900,560 font ",11"
set output "$OUT/memory.png"
set title "Peak RSS of one download (VmHWM), sluice worker vs read-the-whole-file"
set logscale xy
set xlabel "download size"
set ylabel "peak RSS, MiB"
set xtics ("1 KiB" 1024, "1 MiB" $MiB, "100 MiB" $((100 * MiB)), "1 GiB" $GiB, "5 GiB" $((5 * GiB)))
set xrange [512:$((10 * GiB))]
set grid
set key top left
set datafile missing "-"
plot "$MEMDAT" using 1:(\$2/1024) with linespoints lw 2 pt 7 title "sluice worker", \
     "$MEMDAT" using 1:(\$3/1024) with linespoints lw 2 pt 5 title "naive (reads the whole file first)"
EOF

cat "$OUT/latest.md"
say "wrote $OUT/latest.md and $OUT/memory.png in ${ELAPSED} s"
