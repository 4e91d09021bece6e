#!/usr/bin/env bash
# make bench (and make bench-quick): the small-file case with the jobs and
# the state in PostgreSQL beside the same case on SQLite (issue 14).
#
# Method, as bench/run.sh's small files: a 1 KiB job, wrk requests/s
# through one web server (nginx unless told), sluice as deployed by
# default (2 workers x 8 threads under spawn-fcgi, audit on), the same
# release binary in front of each store:
#   sqlite      --db jobs.db --state-db state.db (files in the scratch
#               directory)
#   postgresql  --db and --state-db two databases of one throwaway local
#               cluster (tests/integration/pg.sh: a unix socket, no TCP),
#               made durable as a production one is (fsync and
#               synchronous_commit on; pg.sh turns them off for tests)
#   jobs-pg     the jobs in PostgreSQL, the state in SQLite: which of the
#               two stores the difference comes from
# Rounds alternate the two (sqlite, postgresql, sqlite, ...); each cell is
# the median over rounds (min-max), the ratio the median of per-round
# ratios. A checked download (status, size, every byte) before and after
# the load, and a wrk run with a non-2xx answer, make the run fail; the
# audit rows each store holds afterwards are reported (one per response:
# the audit was on). Timings are reported, never asserted.
#
# Writes $OUT/pg.md (bench/results, or build/bench-quick with
# BENCH_QUICK=1) and prints it. The cluster and every process are stopped
# by pid at exit.
#
# Environment: BENCH_QUICK=1 (one round of 1 s), BENCH_ROUNDS (default 5),
# BENCH_WRK_SECS (default 4), BENCH_OUT, BENCH_PG_SERVER (default nginx),
# SLUICE_BIN (default build/sluice), BENCH_KEEP=1 keeps the scratch
# directory.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
. tests/integration/lib.sh
. tests/integration/servers.sh
. tests/integration/pg.sh
. bench/lib.sh

QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
	ROUNDS=${BENCH_ROUNDS:-1}
	WRK_SECS=${BENCH_WRK_SECS:-1}
	OUT=${BENCH_OUT:-$top/build/bench-quick}
else
	ROUNDS=${BENCH_ROUNDS:-5}
	WRK_SECS=${BENCH_WRK_SECS:-4}
	OUT=${BENCH_OUT:-$top/bench/results}
fi
SERVER=${BENCH_PG_SERVER:-nginx}
SLUICE=${SLUICE_BIN:-$top/build/sluice}
WORKERS=2
THREADS=8
WRK_ARGS=(-t2 -c16 "-d${WRK_SECS}s")
STORES="sqlite postgresql jobs-pg"
START=$SECONDS

say() { printf 'bench pg: [%3ds] %s\n' "$((SECONDS - START))" "$*"; }
fail() {
	printf 'bench pg: FAIL: %s\n' "$*" >&2
	exit 1
}

for c in "$SERVER" spawn-fcgi sqlite3 curl wrk cmp; do
	command -v "$c" >/dev/null || fail "missing $c: run make deps"
done
[ -x "$SLUICE" ] || fail "missing $SLUICE: run make"

B=$(mktemp -d /tmp/sluice-benchpg.XXXXXX) || fail "mktemp"
chmod 0711 "$B"
IT_TOP=$top
IT_ROOT=$B/export
IT_DOCROOT=$B/htdocs
IT_DIR=$B
DATA=$B/data.tsv
NOTES=$B/notes
# sluice first (its sessions end), then the cluster.
bench_pg_cleanup() {
	local rc=$?
	it_cleanup
	pg_stop
	if [ "${BENCH_KEEP:-0}" = 1 ] || [ "$rc" -ne 0 ]; then
		rm -f "$IT_ROOT/1k.bin"
		say "scratch kept: $B"
	else
		rm -rf "$B"
	fi
}
trap bench_pg_cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$IT_ROOT" "$IT_DOCROOT" || fail "mkdir"
: >"$DATA"
: >"$NOTES"

# ------------------------------------------------------------ fixtures
head -c 1024 /dev/urandom >"$IT_ROOT/1k.bin" || fail "writing 1k.bin"
JOBS="INSERT INTO export_jobs (id, status, file_path, file_name, file_size)
    VALUES ('k1', 'done', '1k.bin', '1k.bin', 1024);"
mkdir -p "$B/sqlite" || fail "mkdir"
{ cat sql/schema.sql; echo "$JOBS"; } | sqlite3 "$B/sqlite/jobs.db" ||
    fail "seeding jobs.db"
pg_start "$B/cluster" || fail "PostgreSQL did not start"
pg_psql "ALTER SYSTEM SET fsync = on;
    ALTER SYSTEM SET synchronous_commit = on;
    ALTER SYSTEM SET full_page_writes = on;
    SELECT pg_reload_conf();" postgres >/dev/null || fail "durable settings"
pg_createdb jobs && pg_createdb state || fail "createdb"
pg_psql "$(cat sql/pg/schema.sql) $JOBS" jobs >/dev/null || fail "seeding jobs"
[ "$(pg_psql 'SHOW fsync' postgres)" = on ] || fail "fsync is not on"

declare -A DB STATE URL SPID
DB[sqlite]=$B/sqlite/jobs.db STATE[sqlite]=$B/sqlite/state.db
DB[postgresql]=$(pg_uri jobs) STATE[postgresql]=$(pg_uri state)
DB[jobs-pg]=$(pg_uri jobs) STATE[jobs-pg]=$B/jobs-pg/state.db

# inst STORE: sluice on STORE and the server in front of it.
inst() {
	IT_DIR=$B/$1
	mkdir -p "$IT_DIR" || fail "mkdir $IT_DIR"
	it_sluice_start "$IT_DIR/s.sock" "$SLUICE" "$IT_DIR/sluice.log" \
	    --db "${DB[$1]}" --state-db "${STATE[$1]}" \
	    --workers "$WORKERS" --threads "$THREADS" ||
	    fail "$1: sluice did not start (see $IT_DIR/sluice.log)"
	it_wait_workers "$SLUICE_PID" "$WORKERS" 10 ||
	    fail "$1: sluice has not $WORKERS workers (see $IT_DIR/sluice.log)"
	SPID[$1]=$SLUICE_PID
	it_server_up "$SERVER" stream "$IT_DIR/s.sock" ||
	    fail "$1: $SERVER did not start (see $IT_DIR/*error.log)"
	URL[$1]=$BASE/download/k1
	IT_DIR=$B
}

# state STORE SQL: a query of STORE's state database.
state() {
	if [ "$1" = postgresql ]; then
		pg_psql "$2" state
	else
		sqlite3 -batch -noheader "${STATE[$1]}" "$2"
	fi
}

# rows STORE: the audit rows STORE's state holds.
rows() { state "$1" 'SELECT count(*) FROM responses'; }

# closed STORE: no response of STORE's is still in flight.
closed() {
	[ "$(state "$1" "SELECT count(*) FROM responses
	    WHERE outcome = 'started'")" = 0 ]
}

# ---------------------------------------------------------------- load
say "1 KiB through $SERVER, wrk ${WRK_ARGS[*]}, $ROUNDS round(s): $STORES"
for s in $STORES; do
	inst "$s"
	check_get "${URL[$s]}" "$IT_ROOT/1k.bin" || fail "$s: a checked download"
done
for r in $(seq 1 "$ROUNDS"); do
	line=
	for s in $STORES; do
		v=$(run_wrk "${URL[$s]}") || fail "$s: wrk"
		bench_record "$DATA" "$s" "$r" "$v"
		line="$line $s $v"
	done
	say "round $r/$ROUNDS (req/s):$line"
done
for s in $STORES; do
	check_get "${URL[$s]}" "$IT_ROOT/1k.bin" ||
	    fail "$s: a checked download after the load"
done
# The last responses' ends are written in a batch just after them.
declare -A ROWS
for s in $STORES; do
	it_wait_for 5 closed "$s" || fail "$s: responses still open after 5 s"
	ROWS[$s]=$(rows "$s")
done

# -------------------------------------------------------------- report
ver() { "$@" 2>&1 | head -n 1; }
report() {
	echo "## Small file on PostgreSQL: 1 KiB, wrk ${WRK_ARGS[*]} through $SERVER, requests/s"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $([ "$QUICK" = 1 ] && echo 'quick (make bench-quick: proves the harness, not the numbers)' || echo 'full (make bench)'), $ROUNDS round(s), $((SECONDS - START)) s; nproc $(nproc), load average at the end $(cut -d' ' -f1-3 /proc/loadavg)."
	echo "sluice $(git rev-parse --short HEAD 2>/dev/null || echo unknown), ${SLUICE#"$top"/}, $WORKERS workers x $THREADS threads, audit on; the same binary on each store. PostgreSQL $(pg_psql 'SHOW server_version' postgres | cut -d' ' -f1), one local cluster on a unix socket, fsync and synchronous_commit on; SQLite $(ver sqlite3 --version | cut -d' ' -f1) (state: WAL, synchronous=NORMAL)."
	echo
	echo "| store | requests/s | audit rows after the run |"
	echo "|---|---|---|"
	echo "| SQLite: jobs.db, state.db | $(bench_cell "$DATA" sqlite) | ${ROWS[sqlite]} |"
	echo "| PostgreSQL: jobs, state | $(bench_cell "$DATA" postgresql) | ${ROWS[postgresql]} |"
	echo "| PostgreSQL ÷ SQLite | $(bench_ratio_cell "$DATA" postgresql sqlite) | |"
	echo "| PostgreSQL jobs, SQLite state | $(bench_cell "$DATA" jobs-pg) | ${ROWS[jobs-pg]} |"
	echo "| (PostgreSQL jobs, SQLite state) ÷ SQLite | $(bench_ratio_cell "$DATA" jobs-pg sqlite) | |"
	if [ -s "$NOTES" ]; then
		echo
		sed 's/^/- /' "$NOTES"
	fi
}
mkdir -p "$OUT" || fail "mkdir $OUT"
report >"$OUT/pg.md" || fail "writing $OUT/pg.md"
cat "$OUT/pg.md"
say "wrote $OUT/pg.md"
