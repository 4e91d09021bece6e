#!/usr/bin/env bash
# Idle connections (issue 13): N connections open to sluice's socket that
# send nothing (or trickle a request a byte at a time), and beside them a
# normal 1 KiB download through nginx, timed with curl. sluice is the
# default pool (stream mode, --params-timeout 5); the idle connections are
# closed by it after 5 s, so the downloads are timed within the first
# seconds. Reported, never asserted. Run alone with `bash bench/idle.sh`;
# bench/run.sh runs it after the slow clients.
#
# Environment (all optional):
#   BENCH_IDLE_N     idle connections (default 1000)
#   BENCH_IDLE_MD    where the markdown goes (default
#                    bench/results/idle.md)
#   SLUICE_BIN       default build/sluice
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
. tests/integration/lib.sh
. tests/integration/servers.sh

IT_TOP=$top
N=${BENCH_IDLE_N:-1000}
MD=${BENCH_IDLE_MD:-$top/bench/results/idle.md}
SLUICE=${SLUICE_BIN:-$top/build/sluice}
fail() { echo "bench-idle: $*" >&2; exit 1; }

ulimit -n "$(ulimit -Hn)" 2>/dev/null
it_scratch bench-idle
mkdir -p "$IT_ROOT" "$IT_DOCROOT" || fail "mkdir"
head -c 1024 /dev/urandom >"$IT_ROOT/k1.bin" || fail "k1.bin"
{ cat sql/schema.sql
  echo "INSERT INTO export_jobs (id, status, file_path, file_size)" \
      "VALUES ('k1', 'done', 'k1.bin', 1024);"; } |
    sqlite3 "$IT_DIR/jobs.db" || fail "jobs.db"
it_sluice_start "$SOCK" "$SLUICE" "$LOG" || fail "sluice did not start"
it_wait_for 10 it_has_workers "$SLUICE_PID" 2 || fail "no workers"
it_server_up nginx stream "$SOCK" || fail "nginx did not start"

# Five 1 KiB downloads, one after another: time to first byte and total,
# seconds, one "ttfb total code" line each.
idle_time() {
	local k
	for k in 1 2 3 4 5; do
		curl -s -o /dev/null --max-time 10 -w \
		    '%{time_starttransfer} %{time_total} %{http_code}\n' \
		    "$BASE/download/k1"
	done
}

{ echo "# alone"; idle_time; } >"$IT_DIR/times"
python3 tests/integration/fcgi_raw.py "$SOCK" idle "$N" 0 7 \
    >"$IT_DIR/idle.out" &
IDLE=$!
IT_PIDS+=("$IDLE")
sleep 1
{ echo "# with $N idle"; idle_time; } >>"$IT_DIR/times"
wait "$IDLE"
python3 tests/integration/fcgi_raw.py "$SOCK" idle 0 "$N" 7 \
    >"$IT_DIR/trickle.out" &
IDLE=$!
IT_PIDS+=("$IDLE")
sleep 1
{ echo "# with $N trickling"; idle_time; } >>"$IT_DIR/times"
wait "$IDLE"
cat "$IT_DIR/times"

# One markdown row per block: the worst of five, and every code.
awk -v n="$N" '
/^#/ { if (name != "") row(); name = substr($0, 3); max_t = 0; max_a = 0;
       codes = ""; next }
{ if ($1 > max_t) max_t = $1; if ($2 > max_a) max_a = $2;
  codes = codes (codes == "" ? "" : " ") $3 }
function row() { printf "| %s | %.3f | %.3f | %s |\n", name, max_t,
    max_a, codes }
END { row() }' "$IT_DIR/times" >"$IT_DIR/rows"
{
	echo "## Idle connections"
	echo
	echo "A 1 KiB download through nginx (deploy config) to sluice (default pool), five times in a row: alone, then with $N connections open to sluice's socket that send nothing, then with $N that send a request a byte every 0.2 s (tests/integration/fcgi_raw.py idle). Seconds, the worst of five."
	echo
	echo "| beside | time to first byte | total | statuses |"
	echo "|---|---|---|---|"
	cat "$IT_DIR/rows"
	echo
	echo "Closed by sluice after --params-timeout: idle $(cat "$IT_DIR/idle.out"); trickling $(cat "$IT_DIR/trickle.out")."
} >"$MD"
cat "$MD"
it_server_down
it_sluice_stop
