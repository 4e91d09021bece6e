#!/usr/bin/env bash
# sluice on PostgreSQL, two hosts simulated on one machine (issue 14).
#
# One throwaway PostgreSQL cluster (pg.sh: initdb in the scratch
# directory, run as the unprivileged postgres user, a unix socket in the
# scratch directory, no TCP; stopped by pid at the end), with two
# databases: jobs (export_jobs from sql/pg/schema.sql, seeded from
# seed.sql through pgjobs.sh) and state (empty: sluice creates its own
# tables). Two sluice pools share them, each under spawn-fcgi with a host
# name of its own (a UTS namespace, so each host's rows carry its name),
# each behind its own web server on its own port:
#   host A  sluice-a, behind lighttpd, --db and --state-db as URIs
#   host B  sluice-b, behind nginx, --db and --state-db as conninfo
# Both in stream mode (offload changes who sends the bytes, not the
# store; run.sh covers it on SQLite). Then:
#   1. the suite (suite.sh's suite_all: the data cases and the shell
#      cases) against host A, then against host B, the state emptied
#      before each, as run.sh does with a fresh SQLite file;
#   2. the two hosts at once: 30 clients on 30 addresses, half on each
#      host, racing for a limit-3 job; a download begun on A and resumed
#      on B; sluicectl audit showing both;
#   3. faults: a lock on export_jobs, and one on the state's downloads,
#      held past sluice's lock timeout;
#      PostgreSQL stopped and started again under a download in flight.
#
# Usage: bash tests/integration/pgsuite.sh   (from the top, after make)
# Environment: SLUICE_BIN (default build/asan/sluice), SLUICECTL_BIN
# (default build/sluicectl), IT_KEEP=1 keeps the scratch directory,
# PGS_ONLY=suite|hosts|faults runs only that part (the fixtures and the
# two hosts always).
set -u

IT_TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$IT_TOP" || exit 1
. tests/integration/lib.sh
. tests/integration/servers.sh
. tests/integration/suite.sh
. tests/integration/pg.sh
. tests/integration/pgjobs.sh

BIN=${SLUICE_BIN:-$IT_TOP/build/asan/sluice}
CTL=${SLUICECTL_BIN:-$IT_TOP/build/sluicectl}
for b in "$BIN" "$CTL"; do
	[ -x "$b" ] || { echo "missing $b: run make first" >&2; exit 2; }
done

it_scratch pg
# sluice first (its sessions end), then the cluster.
trap 'it_cleanup; pg_stop; [ -n "${IT_KEEP:-}" ] || rm -rf "$IT_DIR"' EXIT

F64=67108864		# the fault case's file: 64 MiB
HOP=52428800		# the resumed download's: 50m.bin

# it_elapsed WHAT: one line with the time since IT_T0, and IT_T0 reset.
it_elapsed() {
	local now=${EPOCHREALTIME/./}
	echo "# time: $1: $(((now - IT_T0) / 1000)) ms"
	IT_T0=$now
}

# ------------------------------------------------------------ fixtures
# suite.sh's files and jobs (in SQLite, then copied into PostgreSQL), and
# the jobs of the cases below.
pgs_fixtures() {
	suite_fixtures || return 1
	head -c "$F64" /dev/urandom >"$IT_ROOT/64m.bin" || return 1
	sqlite3 "$IT_DIR/jobs.db" "INSERT INTO export_jobs (id, status,
	    file_path, file_size, max_downloads) VALUES
	    ('hosts3', 'done', 'hello.txt', 13, 3),
	    ('hop', 'done', '50m.bin', $HOP, 1),
	    ('fault64', 'done', '64m.bin', $F64, NULL)" || return 1
	pg_start "$IT_DIR/pg" || return 1
	pg_createdb jobs && pg_createdb state || return 1
	pgj_seed_sql "$IT_DIR/jobs.db" >"$IT_DIR/seed_pg.sql" || return 1
	pg_psql "$(cat sql/pg/schema.sql "$IT_DIR/seed_pg.sql")" jobs \
	    >/dev/null || return 1
	pgj_compat "$(pg_uri state)" || return 1
	# The data cases, less those of rows PostgreSQL cannot hold.
	mapfile -t PGS_CASES < <(pgj_cases_filter "$IT_DIR/cases" \
	    "$IT_TOP"/tests/integration/cases/*.txt)
	[ "${#PGS_CASES[@]}" -gt 0 ]
}

# ----------------------------------------------------------- the hosts
declare -A H_SOCK H_LOG H_PID H_SRV H_SRVPID H_BASE H_DB H_STATE H_NAME

# pgs_pool H: host H's sluice under spawn-fcgi, in a UTS namespace whose
# host name is H_NAME[H] (sluice records it in each response row); the
# supervisor's pid in H_PID[H].
pgs_pool() {
	local h=$1 sock=${H_SOCK[$1]} uts=()
	rm -f "$sock" "$sock.pid"
	command -v unshare >/dev/null &&
	    unshare --uts true 2>/dev/null &&
	    uts=(unshare --uts sh -c 'hostname "$0" && exec "$@"'
	    "${H_NAME[$h]}")
	"${uts[@]}" spawn-fcgi -s "$sock" -M 0660 -P "$sock.pid" -- "$BIN" \
	    --db "${H_DB[$h]}" --state-db "${H_STATE[$h]}" \
	    --root "$IT_ROOT" --log-file "${H_LOG[$h]}" \
	    --url-prefix /download/,/private/download/ >/dev/null || return 1
	H_PID[$h]=$(cat "$sock.pid")
	IT_PIDS+=("${H_PID[$h]}")
	it_wait_socket "$sock"
}

# pgs_host_up H SERVER: host H's pool and its web server; BASE set.
pgs_host_up() {
	local h=$1
	H_SRV[$h]=$2
	H_SOCK[$h]=$IT_DIR/$h.sock
	H_LOG[$h]=$IT_DIR/sluice-$h.log
	pgs_pool "$h" || { it_not_ok "host $h: sluice starts"; return 1; }
	if ! it_server_up "$2" stream "${H_SOCK[$h]}"; then
		it_not_ok "host $h: $2 starts from its deploy/ config"
		return 1
	fi
	H_SRVPID[$h]=$SRV_PID H_BASE[$h]=$BASE
	echo "# host $h (${H_NAME[$h]}): $2 $BASE, sluice pid ${H_PID[$h]}"
}

# pgs_use H: the suite's variables point at host H.
pgs_use() {
	IT_SERVER=${H_SRV[$1]} IT_MODE=stream BASE=${H_BASE[$1]}
	LOG=${H_LOG[$1]} SRV_PID=${H_SRVPID[$1]} SLUICE_PID=${H_PID[$1]}
	STATE_DB=${H_STATE[$1]} SOCK=${H_SOCK[$1]}
}

# pgs_quiet: no response of either host still in flight.
pgs_quiet() {
	it_sql_is "$STATE_DB" "SELECT count(*) FROM responses
	    WHERE outcome = 'started'" 0
}

# pgs_state_reset: an empty state, as a fresh SQLite file is for run.sh
# (the suite counts downloads and rows from zero), once both hosts have
# written their last rows.
pgs_state_reset() {
	it_wait_for 10 pgs_quiet ||
	    it_not_ok "state: every response closed before the reset"
	pgj_sql "$STATE_DB" "TRUNCATE downloads, responses, download_counts
	    RESTART IDENTITY" >/dev/null ||
	    it_not_ok "state: the tables emptied"
}

# ---------------------------------------------------------- the suite
# suite.sh's whole suite against host H (the state emptied first).
pgs_suite() {
	local t0=${EPOCHREALTIME/./}
	pgs_use "$1"
	echo "# ---- the suite against host $1 (${H_NAME[$1]}, $IT_SERVER)"
	pgs_state_reset
	IT_CASES="${PGS_CASES[*]}" suite_all
	it_elapsed "suite against host $1"
}

# ------------------------------------------------------ two hosts at once
# pgs_race JOB N: N first downloads of JOB at once, client k (1..N) from
# 127.0.0.(k+1), odd k on host A and even k on host B; sets RACE_OK
# (200s) and RACE_GONE (410s).
pgs_race() {
	local k h code curls=()
	RACE_OK=0 RACE_GONE=0
	for k in $(seq 1 "$2"); do
		h=B
		[ $((k % 2)) -eq 1 ] && h=A
		curl -sS --max-time 20 --interface "$(it_addr $((k + 1)))" \
		    -o /dev/null -w '%{http_code}\n' \
		    "${H_BASE[$h]}/download/$1" >"$IT_DIR/race.$k" &
		curls+=($!)
	done
	wait "${curls[@]}"
	for k in $(seq 1 "$2"); do
		code=$(cat "$IT_DIR/race.$k")
		[ "$code" = 200 ] && RACE_OK=$((RACE_OK + 1))
		[ "$code" = 410 ] && RACE_GONE=$((RACE_GONE + 1))
	done
}

# Lines of host H's log for job J with status S.
pgs_logged() { it_count "${H_LOG[$1]}" "event=request method=GET id=$2 status=$3 "; }

test_hosts_race() {
	local a b
	pgs_race hosts3 30
	it_check "two hosts: exactly 3 of 30 clients racing for a limit-3 job got 200 ($RACE_OK, $RACE_GONE gone)" \
	    [ "$RACE_OK" -eq 3 -a "$RACE_GONE" -eq 27 ]
	it_check "two hosts: 3 downloads of the limit-3 job, by 3 clients, 3 responses" \
	    it_wait_for 5 it_sql_is "$STATE_DB" "SELECT count(*),
	    count(DISTINCT remote_addr), sum(responses), sum(complete)
	    FROM downloads WHERE job_id = 'hosts3'" "3|3|3|3"
	# Each host answered its 15 clients, and the two logs add up.
	a=$(pgs_logged A hosts3 200)+$(pgs_logged B hosts3 200)
	b=$(pgs_logged A hosts3 410)+$(pgs_logged B hosts3 410)
	it_check "two hosts: the logs hold 3 200s ($a) and 27 410s ($b)" \
	    [ $((a)) -eq 3 -a $((b)) -eq 27 ]
	it_check "two hosts: each host answered 15 of the clients" \
	    [ $(($(pgs_logged A hosts3 '(200|410)'))) -eq 15 -a \
	    $(($(pgs_logged B hosts3 '(200|410)'))) -eq 15 ]
}

# A download begun on host A (the client hangs up after 1 MiB) and
# resumed on host B with curl -C -: one download, two responses, one
# from each host, every byte covered; the job is limited to one
# download, so B counting it as a second one would be a 410.
test_hosts_resume() {
	local part=$IT_DIR/b.hop addr
	addr=$(it_addr 40)
	curl -sS --max-time 20 --interface "$addr" "${H_BASE[A]}/download/hop" \
	    2>/dev/null | head -c 1048576 >"$part"
	it_check "hop: host A's response ends aborted:client" \
	    it_wait_for 10 it_sql_is "$STATE_DB" "SELECT outcome FROM
	    responses WHERE job_id = 'hop'" aborted:client
	R_NAME=hop
	R_STATUS=$(curl -sS --max-time 30 --interface "$addr" -C - -o "$part" \
	    -w '%{http_code}' "${H_BASE[B]}/download/hop")
	it_expect_status 206
	it_expect_body_sha_of "$IT_ROOT/50m.bin"
	it_audit_wait_all_closed "$STATE_DB" hop
	it_check "hop: one download of 2 responses, every byte covered, complete" \
	    it_wait_for 5 it_sql_is "$STATE_DB" "SELECT count(*), sum(responses),
	    sum(covered), sum(complete), min(remote_addr) FROM downloads
	    WHERE job_id = 'hop'" "1|2|$HOP|1|$addr"
	it_check "hop: A's response opened it, B's joined it and completed it" \
	    it_sql_is "$STATE_DB" "SELECT group_concat(host || ':' || status
	    || ':' || counts || ':' || outcome, ' ') FROM (SELECT * FROM
	    responses WHERE job_id = 'hop' ORDER BY id) AS r" \
	    "${H_NAME[A]}:200:1:aborted:client ${H_NAME[B]}:206:0:complete"
}

# sluicectl audit over the shared state: the downloads of both hosts,
# the resumed one with a response from a worker of each (sluicectl shows
# no host column: the response's pid says whose worker it was).
# With a sluicectl older than its PostgreSQL support (one that
# takes the URI for a file name) the check is skipped and says so.
test_hosts_audit() {
	local out pids
	out=$("$CTL" --db "${H_DB[A]}" --state-db "${H_STATE[A]}" --json \
	    audit --responses --limit 0 2>&1)
	if [ $? -ne 0 ] && grep -q 'no such database' <<<"$out"; then
		it_log "     (skipped: $CTL reads no PostgreSQL yet: $out)"
		return 0
	fi
	printf '%s\n' "$out" >"$IT_DIR/audit.json"
	pids=$(echo $(it_workers "${H_PID[A]}")),$(echo $(it_workers "${H_PID[B]}"))
	out=$(python3 - "$IT_DIR/audit.json" "$pids" <<-'EOF'
	import json, sys
	a, b = ({int(p) for p in s.split()} for s in sys.argv[2].split(","))
	rows = json.load(open(sys.argv[1]))
	hop = [d for d in rows if d["job_id"] == "hop"]
	h3 = [d for d in rows if d["job_id"] == "hosts3"]
	rp = [r["pid"] for d in hop for r in d["response_rows"]]
	print(len(hop), hop and hop[0]["responses"], hop and hop[0]["complete"],
	      len(rp) == 2 and rp[0] in a and rp[1] in b, len(h3))
	EOF
	)
	it_expect_eq "sluicectl audit: hop is one complete download of 2 responses, from a worker of A then one of B; hosts3 has 3 downloads" \
	    "1 2 True True 3" "$out"
}

# ---------------------------------------------------------------- faults
# pgs_get H NAME PATH: it_get on host H.
pgs_get() { BASE=${H_BASE[$1]} it_get "$2" "$3"; }

# The exporter holds export_jobs locked (ACCESS EXCLUSIVE, as a
# migration would) past sluice's lock timeout: a lookup gets 503 with
# Retry-After after a second or two, on either host, and 200 once the
# lock is gone.
test_fault_lock() {
	local h t0 ms
	pgs_lock "$(pg_uri jobs)" \
	    'LOCK TABLE export_jobs IN ACCESS EXCLUSIVE MODE'
	it_check "lock: export_jobs is held locked" \
	    it_wait_for 5 pgs_table_locked "$(pg_uri jobs)" export_jobs
	for h in A B; do
		t0=${EPOCHREALTIME/./}
		pgs_get "$h" "lock$h" /download/hello
		ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
		it_expect_status 503
		it_expect_header_re Retry-After 'Retry-After: [1-9][0-9]*'
		it_check "lock$h: 503 after ${ms} ms (a lock timeout, not a hang)" \
		    [ "$ms" -ge 900 -a "$ms" -le 3000 ]
	done
	pgs_unlock
	for h in A B; do
		pgs_get "$h" "unlock$h" /download/hello
		it_expect_status 200
		it_expect_body_sha_of "$IT_ROOT/hello.txt"
	done
}

# pgs_lock DB SQL: hold what SQL takes (in an open transaction) in a
# background psql fed through a FIFO, until pgs_unlock.
pgs_lock() {
	local fifo=$IT_DIR/pglock.fifo
	rm -f "$fifo"
	mkfifo "$fifo" || return 1
	"$PG_BIN/psql" -X -q -d "$1" <"$fifo" >/dev/null &
	PGS_LOCK_PID=$!
	IT_PIDS+=("$PGS_LOCK_PID")
	exec {PGS_LOCK_FD}>"$fifo"
	printf 'BEGIN;\n%s;\n' "$2" >&"$PGS_LOCK_FD"
}

pgs_unlock() {
	printf 'COMMIT;\n' >&"$PGS_LOCK_FD"
	exec {PGS_LOCK_FD}>&-
	wait "$PGS_LOCK_PID"
}

# pgs_table_locked DB TABLE: another session holds TABLE exclusively.
pgs_table_locked() {
	it_sql_is "$1" "SELECT count(*) FROM pg_locks l JOIN pg_class c
	    ON c.oid = l.relation WHERE c.relname = '$2'
	    AND l.mode = 'AccessExclusiveLock' AND l.granted" 1
}

# The state's downloads held locked past sluice's lock timeout (as
# test_audit_locked does to the SQLite file): a limited job is never
# served uncounted, so 503 with Retry-After, while an unlimited one is
# served; once the lock is gone, 200.
test_fault_state_lock() {
	local h t0 ms
	pgs_lock "$(pg_uri state)" 'LOCK TABLE downloads IN ACCESS EXCLUSIVE MODE'
	it_check "state lock: downloads is held locked" \
	    it_wait_for 5 pgs_table_locked "$(pg_uri state)" downloads
	for h in A B; do
		t0=${EPOCHREALTIME/./}
		pgs_get "$h" "slock$h" /download/limitlock
		ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
		it_expect_status 503
		it_expect_header_re Retry-After 'Retry-After: [1-9][0-9]*'
		it_expect_no_file
		it_check "slock$h: 503 after ${ms} ms (a lock timeout, not a hang)" \
		    [ "$ms" -ge 900 -a "$ms" -le 3000 ]
		# An unlimited job is served, its row written later.
		pgs_get "$h" "sfree$h" /download/hello
		it_expect_status 200
		it_expect_body_sha_of "$IT_ROOT/hello.txt"
	done
	pgs_unlock
	for h in A B; do
		pgs_get "$h" "sunlock$h" /download/limitlock
		it_expect_status 200
		it_expect_body_sha_of "$IT_ROOT/hello.txt"
	done
}

# pgs_up H: host H serves hello again (200, the right bytes).
pgs_up() {
	[ "$(curl -s --max-time 5 -o "$IT_DIR/b.up" -w '%{http_code}' \
	    "${H_BASE[$1]}/download/hello")" = 200 ] &&
	    cmp -s "$IT_DIR/b.up" "$IT_ROOT/hello.txt"
}

# PostgreSQL stopped (fast: every session cut) and started again while a
# 64 MiB download is read at 16 MB/s through host A: the download
# finishes byte-exact while the database is down; new requests get 503
# with Retry-After on both hosts; both serve again within a few seconds
# of the start, with the same sluice processes; and the download's end
# (complete, every byte) is in its row once the database is back.
test_fault_restart() {
	local body=$IT_DIR/b.fault64 cpid rc pids0 pids1 h t0 ms
	pids0="${H_PID[A]} $(it_workers "${H_PID[A]}") ${H_PID[B]} $(it_workers "${H_PID[B]}")"
	rm -f "$body"
	curl -sS --max-time 60 --limit-rate 16M -o "$body" \
	    -w '%{http_code} %{size_download}' "${H_BASE[A]}/download/fault64" \
	    >"$IT_DIR/fault64.out" 2>&1 &
	cpid=$!
	it_check "restart: the download is under way (its row written)" \
	    it_wait_for 10 it_sql_is "$STATE_DB" "SELECT outcome FROM responses
	    WHERE job_id = 'fault64'" started
	it_wait_for 10 it_size_ge "$body" 4194304
	pg_stop
	it_check "restart: PostgreSQL is down, the download still running" \
	    pgs_down_mid "$cpid"
	for h in A B; do
		pgs_get "$h" "down$h" /download/hello
		it_expect_status 503
		it_expect_header_re Retry-After 'Retry-After: [1-9][0-9]*'
		it_expect_no_file
	done
	wait "$cpid"
	rc=$?
	it_check "restart: the download in flight finished while PostgreSQL was down (curl exit $rc, $(cat "$IT_DIR/fault64.out"))" \
	    [ "$rc" -eq 0 -a "$(cat "$IT_DIR/fault64.out")" = "200 $F64" ]
	R_NAME=fault64
	it_expect_body_sha_of "$IT_ROOT/64m.bin"
	pgs_start_again || { it_not_ok "restart: PostgreSQL starts again"; return 1; }
	t0=${EPOCHREALTIME/./}
	for h in A B; do
		it_check "restart: host $h serves again within 10 s of the start" \
		    it_wait_for 10 pgs_up "$h"
	done
	ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
	it_log "     both hosts served again ${ms} ms after PostgreSQL was back"
	pids1="${H_PID[A]} $(it_workers "${H_PID[A]}") ${H_PID[B]} $(it_workers "${H_PID[B]}")"
	it_expect_eq "restart: the same sluice processes (no restart)" \
	    "$(echo $pids0)" "$(echo $pids1)"
	it_check "restart: the download's end is recorded: complete, $F64 bytes" \
	    it_wait_for 10 it_sql_is "$STATE_DB" "SELECT outcome, bytes_sent
	    FROM responses WHERE job_id = 'fault64'" "complete|$F64"
	it_check "restart: its download row: complete, every byte covered" \
	    it_wait_for 5 it_sql_is "$STATE_DB" "SELECT count(*), sum(complete),
	    sum(covered) FROM downloads WHERE job_id = 'fault64'" "1|1|$F64"
}

# pgs_down_mid PID: the cluster is stopped and download PID still runs.
pgs_down_mid() { [ -z "$PG_PID" ] && [ ! -S "$PG_DIR/.s.PGSQL.5432" ] && it_alive "$1"; }

# The cluster that pg_stop stopped, started again (same data, same
# socket); PG_PID is the new postmaster's.
pgs_start_again() {
	"${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/postgres.log" \
	    -w -t 30 start >/dev/null 2>&1 || return 1
	PG_PID=$(head -n 1 "$PG_DATA/postmaster.pid")
}

# ------------------------------------------------------------------ main
IT_T0=${EPOCHREALTIME/./}
pgs_fixtures || { echo "fixtures failed" >&2; exit 1; }
echo "# PostgreSQL $PG_DIR (pid $PG_PID); jobs seeded: $(pgj_sql "$(pg_uri jobs)" \
    'SELECT count(*) FROM export_jobs') rows"
H_NAME=([A]=sluice-a [B]=sluice-b)
H_DB[A]=$(pg_uri jobs)
H_STATE[A]=$(pg_uri state)
H_DB[B]="host=$PG_DIR dbname=jobs user=postgres"
H_STATE[B]="host=$PG_DIR dbname=state user=postgres"
it_elapsed fixtures
pgs_host_up A lighttpd && pgs_host_up B nginx || exit 1
it_check "startup: sluice created its state tables in the empty database" \
    it_wait_for 10 it_sql_is "${H_STATE[A]}" "SELECT count(*) FROM
    information_schema.tables WHERE table_schema = 'public' AND
    table_name IN ('downloads', 'responses', 'download_counts')" 3
it_elapsed "two hosts up"

if [ -z "${PGS_ONLY:-}" ] || [ "$PGS_ONLY" = suite ]; then
	pgs_suite A
	pgs_suite B
fi
pgs_use A
if [ -z "${PGS_ONLY:-}" ] || [ "$PGS_ONLY" = hosts ]; then
	echo "# ---- two hosts, one database"
	pgs_state_reset
	test_hosts_race
	test_hosts_resume
	test_hosts_audit
	it_elapsed "two hosts"
fi
if [ -z "${PGS_ONLY:-}" ] || [ "$PGS_ONLY" = faults ]; then
	echo "# ---- faults"
	test_fault_lock
	test_fault_state_lock
	test_fault_restart
	it_elapsed faults
fi

for h in A B; do
	it_kill_pid "${H_SRVPID[$h]}"
	it_kill_pid "${H_PID[$h]}"
	it_check "host $h: sanitizers: no report in the log" \
	    it_not grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer' \
	    "${H_LOG[$h]}"
	it_check "host $h: SIGTERM: the supervisor logs a clean exit" \
	    grep -q 'event=supervisor_exit status=clean' "${H_LOG[$h]}"
done
it_cleanup
pg_stop
echo "pgsuite: $IT_PASS passed, $IT_FAIL failed"
[ "$IT_FAIL" -eq 0 ]
