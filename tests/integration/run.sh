#!/usr/bin/env bash
# Integration tests: real lighttpd on 127.0.0.1, sluice launched by
# spawn-fcgi, a jobs database seeded from tests/integration/seed.sql.
#
# Usage: tests/integration/run.sh   (from the top of the tree, after make)
# Environment: SLUICE_BIN (default build/asan/sluice) runs the behaviour
# cases; SLUICE_BIN_RELEASE (default build/sluice) runs the memory case,
# since AddressSanitizer's shadow memory would swamp VmHWM. IT_MEMORY=0
# skips the memory cases (make coverage: an instrumented binary's VmHWM
# says nothing).
set -u

IT_TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$IT_TOP" || exit 1
. tests/integration/lib.sh
. tests/integration/pool.sh
. tests/integration/inflight.sh
. tests/integration/cuts.sh
. tests/integration/servers.sh
. tests/integration/suite.sh
. tests/integration/clients.sh

BIN=${SLUICE_BIN:-$IT_TOP/build/asan/sluice}
BIN_RELEASE=${SLUICE_BIN_RELEASE:-$IT_TOP/build/sluice}
for b in "$BIN" "$BIN_RELEASE"; do
	[ -x "$b" ] || { echo "missing $b: run make first" >&2; exit 2; }
done

it_scratch it

# ------------------------------------------------------- deploy/ checks
test_deploy_units() {
	local d=$IT_DIR/units out rc
	it_check "deploy: spawn-fcgi script parses" sh -n deploy/spawn-fcgi/sluice.sh
	if ! command -v systemd-analyze >/dev/null; then
		it_log "     (systemd-analyze not installed: units not verified)"
		return 0
	fi
	mkdir -p "$d"
	cp deploy/systemd/sluice.socket "$d/"
	# Only the binary's path differs from the shipped unit.
	sed "s|/usr/local/bin/sluice|$BIN_RELEASE|" deploy/systemd/sluice.service \
	    >"$d/sluice.service"
	out=$(cd "$d" && systemd-analyze verify ./sluice.socket ./sluice.service 2>&1)
	rc=$?
	it_check "deploy: systemd-analyze verify is clean (exit $rc)" \
	    [ "$rc" -eq 0 -a -z "$out" ]
	[ -z "$out" ] || printf '       %s\n' "$out"
}

# ------------------------------------------------------------- startup
# Each startup failure is one clear line and a non-zero exit.
startup_case() {
	local name=$1 want=$2
	shift 2
	local out rc
	out=$("$@" 2>&1 </dev/null)
	rc=$?
	if [ "$rc" -ne 0 ] && printf '%s' "$out" | grep -qi -- "$want"; then
		it_ok "startup: $name (exit $rc)"
	else
		it_not_ok "startup: $name" "exit $rc, want non-zero and '$want'" \
		    "got: $out"
	fi
}

test_startup() {
	local sock=$IT_DIR/startup.sock
	sqlite3 "$IT_DIR/empty.db" 'CREATE TABLE other (x);'
	startup_case "no --db" "give --db" "$BIN" --root "$IT_ROOT"
	startup_case "missing database" "No such file" \
	    "$BIN" --db "$IT_DIR/nope.db" --root "$IT_ROOT"
	startup_case "database without export_jobs" "no export_jobs table" \
	    "$BIN" --db "$IT_DIR/empty.db" --root "$IT_ROOT"
	startup_case "root not a directory" "not a directory" \
	    "$BIN" --db "$IT_DIR/jobs.db" --root "$IT_ROOT/hello.txt"
	startup_case "fd 0 not a socket" "run me under spawn-fcgi" \
	    "$BIN" --db "$IT_DIR/jobs.db" --root "$IT_ROOT"
	startup_case "unknown option" "unknown or incomplete option" \
	    "$BIN" --db "$IT_DIR/jobs.db" --root "$IT_ROOT" --bogus
	# Issue 17: mod_xsendfile follows a symlink swapped in after the
	# check; sluice says so and runs it only when told.
	startup_case "x-sendfile without --offload-symlink-race accept" \
	    "follows a symlink swapped in.*--offload-symlink-race accept" \
	    "$BIN" --db "$IT_DIR/jobs.db" --root "$IT_ROOT" \
	    --offload x-sendfile
	startup_case "--offload-symlink-race takes only accept" \
	    "want accept" "$BIN" --db "$IT_DIR/jobs.db" --root "$IT_ROOT" \
	    --offload x-sendfile --offload-symlink-race yes
	# The environment works like the options.
	startup_case "SLUICE_ROOT from the environment" "not a directory" \
	    env SLUICE_DB="$IT_DIR/jobs.db" SLUICE_ROOT="$IT_ROOT/hello.txt" \
	    "$BIN"
	# A state database sluice's user cannot write: one line that names
	# the fix, before any worker starts.
	startup_case "state database directory missing" \
	    "directory $IT_DIR/nodir: No such file.*give --state-db" \
	    "$BIN" --db "$IT_DIR/jobs.db" --root "$IT_ROOT" \
	    --state-db "$IT_DIR/nodir/state.db"
	if [ "$(id -u)" -eq 0 ]; then
		chmod 0711 "$IT_DIR"	# as it_grant_www_data does
		mkdir -p "$IT_DIR/rostate" && chmod 0755 "$IT_DIR/rostate"
		startup_case "state database directory not writable" \
		    "rostate: Permission denied .*make it sluice's" \
		    setpriv --reuid=nobody --regid=nogroup --clear-groups \
		    "$BIN" --db "$IT_DIR/jobs.db" --root "$IT_ROOT" \
		    --state-db "$IT_DIR/rostate/state.db"
	fi
	local out
	out=$("$BIN" --help)
	it_check "startup: --help names every option" \
	    grep -q -- '--url-prefix' <<<"$out"
	it_check "startup: --help names the state database's default" \
	    grep -q -- '(default /var/lib/sluice/state.db)' <<<"$out"
}
# ------------------------------------------------------------ database busy
test_busy() {
	# An exclusive lock held past sluice's 2 s busy timeout: 503.
	local t0 t1
	it_lock_db "$IT_DIR/jobs.db"
	t0=$(date +%s%N)
	it_get busy /download/hello
	t1=$(date +%s%N)
	it_expect_status 503
	it_expect_header 'Retry-After: 5'
	it_expect_body 'busy, retry later'
	it_log "     503 after $(( (t1 - t0) / 1000000 )) ms of waiting for the lock"
	it_unlock_db
	it_get afterbusy /download/hello
	it_expect_status 200
}

# ------------------------------------------------- a locked state database
test_audit_locked() {
	it_lock_db "$STATE_DB"
	# A limited job is never served uncounted: 503.
	it_get lock:limited /download/limitlock
	it_expect_status 503
	it_expect_header 'Retry-After: 5'
	# Other jobs are served, and the failure is logged.
	it_get lock:free /download/hello
	it_expect_status 200
	it_expect_body_sha_of "$IT_ROOT/hello.txt"
	it_check "locked state db: logged as audit_error" \
	    grep -q 'event=audit_error op=begin id=hello' "$LOG"
	it_unlock_db
	it_get lock:after /download/limitlock
	it_expect_status 200
}

# ----------------------------------------------------- memory, throughput
test_memory() {
	local h1 h5
	local wpid
	wpid=$(it_workers "$SLUICE_PID")
	it_get k1 /download/k1
	it_expect_status 200
	it_expect_body_sha_of "$IT_ROOT/1k.bin"
	h1=$(it_vmhwm "$wpid")

	# Memory only: throughput beside static serving is make bench's.
	R_NAME=big5
	R_STATUS=$(curl -sS --max-time 300 -o /dev/null -w '%{http_code} %{size_download}' \
	    "$BASE/download/big5")
	h5=$(it_vmhwm "$wpid")
	it_check "memory: 5 GiB download complete ($R_STATUS)" \
	    [ "$R_STATUS" = "200 5368709120" ]
	it_log "     worker VmHWM (1 worker, $MEM_THREADS threads) after 1 KiB: ${h1} kB; after 5 GiB: ${h5} kB"
	it_check "memory: VmHWM ${h5} kB < 8 MiB" [ "$h5" -lt 8192 ]
	it_check "memory: 5 GiB VmHWM within 5% of the 1 KiB one" \
	    [ $((h5 * 100)) -le $((h1 * 105)) ]
}

# it_threads_ge PID N: the process runs at least N threads.
it_threads_ge() {
	[ "$(awk '/^Threads:/ {print $2}' "/proc/$1/status" 2>/dev/null)" \
	    -ge "$2" ] 2>/dev/null
}

# What a request thread costs: a worker's VmHWM after one 1 KiB download
# with 1 thread and with 16.
test_memory_per_thread() {
	local t h w
	for t in 1 16; do
		it_sluice_start "$SOCK" "$BIN_RELEASE" "$LOG" --workers 1 \
		    --threads "$t" || return 1
		it_wait_workers "$SLUICE_PID" 1 5
		w=$(it_workers "$SLUICE_PID")
		# Every request thread started (T of them, and the signal
		# thread) before the peak is read.
		it_wait_for 5 it_threads_ge "$w" $((t + 1))
		it_get "k1t$t" /download/k1
		it_expect_status 200
		h[$t]=$(it_vmhwm "$w")
		it_sluice_stop
	done
	it_log "     worker VmHWM after 1 KiB: ${h[1]} kB with 1 thread," \
	    "${h[16]} kB with 16: $(( (h[16] - h[1]) / 15 )) kB per thread"
	it_check "memory: a one-thread worker stays within 4.5 MiB (${h[1]} kB)" \
	    [ "${h[1]}" -le 4608 ]
	it_check "memory: a request thread costs under 512 KiB" \
	    [ $(( (h[16] - h[1]) / 15 )) -lt 512 ]
}

# ------------------------------------------------------------------- main
# One run of the suite behind SERVER in MODE (stream or offload), with a
# sluice of its own (own log and state database) and the server started
# from its deploy/ config.
suite_run() {
	IT_SERVER=$1 IT_MODE=$2
	LOG=$IT_DIR/sluice-$1-$2.log
	STATE_DB=$IT_DIR/state-$1-$2.db
	local opts=(--state-db "$STATE_DB")
	# shellcheck disable=SC2046
	[ "$2" = stream ] || opts+=(--offload $(it_offload_arg "$1"))
	echo "# ---- $1, $2 mode"
	IT_T0=${EPOCHREALTIME/./}
	rm -f "$IT_DIR/$1-access.log"
	if ! it_sluice_start "$SOCK" "$BIN" "$LOG" "${opts[@]}"; then
		it_not_ok "$1 $2: sluice starts"
		return
	fi
	if ! it_server_up "$1" "$2" "$SOCK"; then
		it_not_ok "$1 $2: the server starts from its deploy/ config"
		it_sluice_stop
		return
	fi
	echo "# $1 $BASE, sluice $(basename "$(dirname "$BIN")")/sluice pid $SLUICE_PID"
	suite_all
	test_clients
	it_server_down
	test_server_log
	test_token_logs
	test_realip
	it_sluice_stop
	it_check "$1 $2: sanitizers: no report in the log" \
	    bash -c "! grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer' '$LOG'"
	it_check "$1 $2: SIGTERM: the supervisor logs a clean exit" \
	    grep -q 'event=supervisor_exit status=clean' "$LOG"
	it_elapsed "$1 $2"
}

# it_elapsed WHAT: one line with the time since IT_T0, and IT_T0 reset.
it_elapsed() {
	local now=${EPOCHREALTIME/./}
	echo "# time: $1: $(((now - IT_T0) / 1000)) ms"
	IT_T0=$now
}

IT_T0=${EPOCHREALTIME/./}
suite_fixtures && clients_fixtures ||
    { echo "fixtures failed" >&2; exit 1; }
it_elapsed fixtures
test_startup
test_deploy_units
it_elapsed "startup and deploy checks"
# IT_ONLY=cuts: only the cuts behind each server (a quick edit loop).
if [ "${IT_ONLY:-}" = cuts ]; then
	test_cuts
	it_cleanup
	echo "integration: $IT_PASS passed, $IT_FAIL failed"
	[ "$IT_FAIL" -eq 0 ]
	exit
fi

for srv in ${IT_SERVERS:-lighttpd nginx apache}; do
	for mode in ${IT_MODES:-stream offload}; do
		suite_run "$srv" "$mode"
	done
done

test_cuts

# What is sluice's alone (a locked database), once, behind lighttpd.
IT_SERVER=lighttpd IT_MODE=stream
LOG=$IT_DIR/sluice.log
STATE_DB=$IT_DIR/sluice-state.db
it_sluice_start "$SOCK" "$BIN" "$LOG" --state-db "$STATE_DB" ||
    { echo "sluice did not start" >&2; exit 1; }
it_server_up lighttpd stream "$SOCK" ||
    { echo "lighttpd did not start" >&2; exit 1; }
test_busy
test_audit_locked
it_sluice_stop
it_elapsed "locked databases"

# The pool, with the release build: 2 workers x 8 threads.
LOG=$IT_DIR/sluice-pool.log
it_sluice_start "$SOCK" "$BIN_RELEASE" "$LOG" --workers 2 --threads 8 ||
    { echo "sluice did not start" >&2; exit 1; }
it_wait_workers "$SLUICE_PID" 2 5
echo "# pool: release build, 2 workers x 8 threads, supervisor $SLUICE_PID"
test_pool_concurrency
it_elapsed "pool: 64 concurrent downloads"
test_pool_respawn
test_pool_sighup
it_sluice_stop
it_elapsed "pool: respawn, SIGHUP"
# A reader slower than 1 MB/s over 2 s is cut off.
it_sluice_start "$SOCK" "$BIN_RELEASE" "$LOG" --workers 1 --threads 2 \
    --min-rate 1000000 --rate-window 2 ||
    { echo "sluice did not start" >&2; exit 1; }
test_pool_slow
it_sluice_stop
it_elapsed "pool: slow readers"
test_pool_listen_drain
it_elapsed "pool: listen, drain"
test_pool_max_requests
test_pool_tcp
it_elapsed "pool: max-requests, tcp"
test_inflight_params
it_elapsed "in flight: params deadline"
test_inflight_many
it_elapsed "in flight: 40 downloads, 1 thread"

# Memory with the release build (ASan's shadow memory would swamp VmHWM).
if [ "${IT_MEMORY:-1}" != 0 ]; then
	LOG=$IT_DIR/sluice-release.log
	MEM_THREADS=4
	it_sluice_start "$SOCK" "$BIN_RELEASE" "$LOG" --workers 1 \
	    --threads "$MEM_THREADS" ||
	    { echo "sluice did not start" >&2; exit 1; }
	it_wait_workers "$SLUICE_PID" 1 5
	echo "# release build, supervisor pid $SLUICE_PID"
	test_memory
	it_sluice_stop
	it_elapsed "memory: 5 GiB"
	test_memory_per_thread
	it_elapsed "memory: per thread"
fi
it_cleanup

echo "integration: $IT_PASS passed, $IT_FAIL failed"
[ "$IT_FAIL" -eq 0 ]
