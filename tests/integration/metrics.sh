#!/usr/bin/env bash
# --metrics-path against a real Prometheus (issue 16): sluice (2 workers)
# behind lighttpd from deploy/lighttpd/sluice.conf, which routes
# /sluice-metrics to it for local scrapers only. Checks:
# - the page passes `promtool check metrics`;
# - figures are the pool's: responses answered by either worker, a worker
#   killed and restarted, and every count still there;
# - a scraper from another address gets lighttpd's 403;
# - a real Prometheus server scrapes it through lighttpd, and its query
#   API answers the exact counts of what this test did.
#
# Usage: bash tests/integration/metrics.sh   (from the top, after make)
# Environment: SLUICE_BIN (default build/asan/sluice); IT_KEEP=1.
set -u

IT_TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$IT_TOP" || exit 1
. tests/integration/lib.sh
. tests/integration/servers.sh

BIN=${SLUICE_BIN:-$IT_TOP/build/asan/sluice}
[ -x "$BIN" ] || { echo "missing $BIN: run make first" >&2; exit 2; }
for c in prometheus promtool lighttpd spawn-fcgi curl python3 sqlite3; do
	command -v "$c" >/dev/null ||
	    { echo "missing $c (make deps)" >&2; exit 2; }
done

it_scratch met
mkdir -p "$IT_ROOT" "$IT_DOCROOT" || exit 1
head -c 4096 /dev/urandom >"$IT_ROOT/4k.bin"
sqlite3 "$IT_DIR/jobs.db" <sql/schema.sql || exit 1
sqlite3 "$IT_DIR/jobs.db" "INSERT INTO export_jobs (id, status, file_path,
    file_size) VALUES ('m4k', 'done', '4k.bin', 4096)" || exit 1

it_sluice_start "$SOCK" "$BIN" "$LOG" --workers 2 --threads 2 \
    --metrics-path /sluice-metrics ||
    { echo "sluice did not start" >&2; exit 1; }
it_wait_workers "$SLUICE_PID" 2 10 || { echo "no 2 workers" >&2; exit 1; }
it_server_up lighttpd stream "$SOCK" ||
    { echo "lighttpd did not start" >&2; exit 1; }
MURL=$BASE/sluice-metrics

# scrape NAME: the page through lighttpd into $IT_DIR/m.NAME.
scrape() { curl -sS --max-time 10 -o "$IT_DIR/m.$1" "$MURL"; }

# metric NAME LINE: the scrape NAME has the exact line LINE.
metric() {
	it_check "metrics: $2" grep -Fxq -- "$2" "$IT_DIR/m.$1"
}

# What the test does, and so what the figures must say: 6 GETs of one
# job by one client (one download, opened once), 2 HEADs, 3 unknown ids.
for _ in 1 2 3 4 5 6; do
	curl -sS --max-time 10 -o /dev/null "$BASE/download/m4k"
done
for _ in 1 2; do curl -sS --max-time 10 -I -o /dev/null "$BASE/download/m4k"; done
for _ in 1 2 3; do curl -sS --max-time 10 -o /dev/null "$BASE/download/nope"; done

scrape a
it_check "metrics: promtool check metrics is clean" \
    promtool check metrics <"$IT_DIR/m.a"
metric a 'sluice_responses_total{status="200"} 8'
metric a 'sluice_responses_total{status="404"} 3'
metric a 'sluice_downloads_opened_total 1'
# Body bytes as the log counts them: 6 x 4096, and 3 x "not found\n".
metric a 'sluice_bytes_sent_total 24606'
metric a 'sluice_response_outcomes_total{outcome="complete"} 11'
metric a 'sluice_time_to_first_byte_seconds_count 6'
metric a 'sluice_download_duration_seconds_count 6'
metric a 'sluice_job_lookups_total{result="found"} 8'
metric a 'sluice_job_lookups_total{result="not_found"} 3'
metric a 'sluice_downloads_in_flight 0'
metric a 'sluice_worker_restarts_total 0'
it_check "metrics: the state database's batches are counted" \
    grep -Eq '^sluice_state_db_batches_total [1-9]' "$IT_DIR/m.a"
metric a 'sluice_state_db_batch_errors_total 0'
R_NAME=hdr
R_STATUS=$(curl -sS --max-time 10 -D - -o /dev/null -w '%{http_code}' \
    "$MURL" | tr -d '\r' | tee "$IT_DIR/h.hdr" | tail -1)
it_expect_status 200
it_expect_header 'Content-Type: text/plain; version=0.0.4; charset=utf-8'

# Another host's scraper: refused by lighttpd (the config's rule).
R_NAME=far
R_STATUS=$(curl -sS --max-time 10 --interface 127.0.0.2 -o /dev/null \
    -w '%{http_code}' "$MURL")
it_expect_status 403

# Pool-wide: kill a worker; its figures stay, the restart is counted.
victim=$(it_workers "$SLUICE_PID" | head -1)
kill -KILL "$victim"
it_check "metrics: the killed worker is replaced" \
    it_wait_for 10 bash -c "pgrep -P $SLUICE_PID | grep -vx $victim | \
        wc -l | grep -qx 2"
scrape b
metric b 'sluice_worker_restarts_total 1'
metric b 'sluice_responses_total{status="200"} 8'
metric b 'sluice_downloads_opened_total 1'

# A real Prometheus, scraping through lighttpd every second.
PPORT=$(it_free_port) || exit 1
mkdir -p "$IT_DIR/prom"
cat >"$IT_DIR/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: sluice
    metrics_path: /sluice-metrics
    static_configs:
      - targets: ['127.0.0.1:$SRV_PORT']
EOF
it_check "prometheus: promtool check config" \
    promtool check config "$IT_DIR/prometheus.yml"
prometheus --config.file="$IT_DIR/prometheus.yml" \
    --storage.tsdb.path="$IT_DIR/prom" \
    --web.listen-address="127.0.0.1:$PPORT" \
    >"$IT_DIR/prometheus.log" 2>&1 &
PROM_PID=$!
IT_PIDS+=("$PROM_PID")

# query EXPR: the value of a PromQL instant query (one sample), or "".
query() {
	curl -sS --max-time 5 -G "http://127.0.0.1:$PPORT/api/v1/query" \
	    --data-urlencode "query=$1" 2>/dev/null |
	    python3 -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if len(r) == 1 else "")' 2>/dev/null
}

# query_is EXPR WANT: the query answers exactly WANT.
query_is() { [ "$(query "$1")" = "$2" ]; }

it_check "prometheus: scraped sluice through lighttpd (up == 1)" \
    it_wait_for 30 query_is 'up{job="sluice"}' 1
it_check "prometheus: 200s answered, summed over status (8)" \
    it_wait_for 10 query_is 'sum(sluice_responses_total{status=~"2.."})' 8
it_check "prometheus: downloads opened (1)" \
    query_is 'sluice_downloads_opened_total' 1
it_check "prometheus: bytes sent (6 x 4096 + 30)" \
    query_is 'sluice_bytes_sent_total' 24606
it_check "prometheus: the time-to-first-byte histogram counts 6" \
    query_is 'sluice_time_to_first_byte_seconds_count' 6
it_check "prometheus: worker restarts (1)" \
    query_is 'sluice_worker_restarts_total' 1
if [ "$IT_FAIL" -ne 0 ]; then
	tail -5 "$IT_DIR/prometheus.log" | sed 's/^/       /'
fi
it_kill_pid "$PROM_PID"
it_server_down
it_sluice_stop
it_check "sanitizers: no report in sluice's log" \
    it_not grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer' "$LOG"
echo "metrics: $IT_PASS passed, $IT_FAIL failed"
[ "$IT_FAIL" -eq 0 ]
