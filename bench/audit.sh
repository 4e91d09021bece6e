#!/usr/bin/env bash
# What the audit trail costs: requests per second for a 1 KiB download
# through lighttpd, with sluice's audit on and off, interleaved (on, off,
# on, off, ...) and reported as medians and the median of per-round ratios.
# Usage: bench/audit.sh [rounds] [seconds per run]   (after make; needs wrk)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tests/integration/lib.sh
. tests/integration/servers.sh
. bench/lib.sh
rounds=${1:-5}
secs=${2:-5}
command -v wrk >/dev/null || { echo "bench: wrk is missing (apt-get install wrk)" >&2; exit 2; }

IT_TOP=$top
IT_DIR=$(mktemp -d /tmp/sluice-bench.XXXXXX)
IT_ROOT=$IT_DIR/export
IT_DOCROOT=$IT_DIR/htdocs
trap 'it_cleanup; rm -rf "$IT_DIR"' EXIT
mkdir -p "$IT_ROOT" "$IT_DOCROOT"
head -c 1024 /dev/urandom >"$IT_ROOT/1k.bin"
sqlite3 "$IT_DIR/jobs.db" <sql/schema.sql
sqlite3 "$IT_DIR/jobs.db" "INSERT INTO export_jobs (id, status, file_path, file_size) VALUES ('k1', 'done', '1k.bin', 1024)"
SOCK=$IT_DIR/sluice.sock

run() {	# audit on|off -> requests per second
	it_sluice_start "$SOCK" build/sluice "$IT_DIR/sluice.log" \
	    --workers 2 --threads 8 --audit "$1" >/dev/null || exit 1
	it_wait_workers "$SLUICE_PID" 2 5
	wrk -t 2 -c 16 -d "${secs}s" "$BASE/download/k1" |
	    awk '/^Requests\/sec:/ {print $2}'
	it_sluice_stop
}

it_server_up lighttpd stream "$SOCK" >/dev/null || exit 1
data=$IT_DIR/data.tsv
for r in $(seq 1 "$rounds"); do
	a=$(run on)
	b=$(run off)
	bench_record "$data" on "$r" "$a"
	bench_record "$data" off "$r" "$b"
	echo "round $r: audit on $a req/s, off $b req/s"
done
echo "1 KiB downloads through lighttpd, 2 workers x 8 threads, wrk -t2 -c16, ${secs}s x $rounds rounds"
echo "audit on:  $(bench_cell "$data" on) req/s, median (min–max)"
echo "audit off: $(bench_cell "$data" off) req/s"
echo "on/off: median of per-round ratios $(bench_ratio_cell "$data" on off)"
