#!/usr/bin/env bash
# The fault-injection walk (issue 20): one download, failed at each of its
# calls in turn, checked against the contract at each.
#
# build/fault/sluice (src/fault.h) fails the n-th call of one point, named
# by SLUICE_FAULT=<point>:<n>, counting from the worker's first request:
#   openat2       the open of the file beneath the root (confine.c)
#   pread         the reads of its bytes (stream.c; sluice has no
#                 sendfile: fcgi_out.c says why)
#   fcgi_write    the writev of FastCGI records to the web server
#                 (fcgi_out.c), the body's and the headers'
#   sqlite_jobs   reads, writes, syncs, truncates, size queries of the jobs
#   sqlite_state  database's files, and of the state database's (an SQLite
#                 VFS in front of "unix"); the upkeep's checkpoints and
#                 retention are not counted (not a download's)
# and logs every point's count at exit (event=fault_counts).
#
# Behind lighttpd from deploy/, in stream mode and in offload mode (where
# lighttpd sends the file: no pread), with --workers 1 --threads 1 on a
# job limited to one download of a file of several reads and records:
# a clean run counts each point's calls; then for each point and each n
# up to its count, one run: client A gets the file, then (once A's audit
# row is closed) client B, then sluice stops. Each run checks:
# - each client got the whole file (SHA-256), or a clear error status
#   (500, 503, or the server's 502 when sluice wrote nothing) with a short
#   body, or a body visibly cut (curl: partial transfer) that is a prefix
#   of the file, or for B a 410 (A's download used the limit); never a
#   hang (curl --max-time), never a wrong byte;
# - sluice logged the fault, an error after it, and a line for each
#   request; no sanitizer report, no worker died, it stopped on SIGTERM;
# - the state database: no response left 'started' (a lost record); a
#   whole file has its response 'complete' (offload: 'offloaded') and its
#   download; an error status opened no download (the limit is not used
#   up); at most one download, none without a byte handed over, and B is
#   refused 410 exactly when A's download counts.
#
# Usage: bash tests/integration/fault.sh   (from the top, after make fault)
# Environment: SLUICE_FAULT_BIN (default build/fault/sluice); FW_POINTS
# (the points to walk, default all); FW_MODES (default "stream offload");
# IT_KEEP=1 keeps the scratch directory.
set -u

IT_TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$IT_TOP" || exit 1
. tests/integration/lib.sh
. tests/integration/servers.sh

BIN=${SLUICE_FAULT_BIN:-$IT_TOP/build/fault/sluice}
[ -x "$BIN" ] || { echo "missing $BIN: run make fault first" >&2; exit 2; }
for c in lighttpd spawn-fcgi sqlite3 curl sha256sum cmp; do
	command -v "$c" >/dev/null || { echo "missing $c" >&2; exit 2; }
done

FW_POINTS=${FW_POINTS:-openat2 pread fcgi_write sqlite_jobs sqlite_state}
FW_MODES=${FW_MODES:-stream offload}
# 640 KiB and a bit: a first read of 64 KiB before the headers, then
# steps of 256 KiB, each several records.
FW_SIZE=655483
FW_A=$(it_addr 2)
FW_B=$(it_addr 3)

it_scratch flt
STATE_DB=$IT_DIR/sluice-state.db
FILE=$IT_ROOT/walk.bin

fw_fixtures() {
	mkdir -p "$IT_ROOT" "$IT_DOCROOT" || return 1
	head -c "$FW_SIZE" /dev/urandom >"$FILE" || return 1
	sqlite3 "$IT_DIR/jobs.db" <sql/schema.sql || return 1
	sqlite3 "$IT_DIR/jobs.db" "INSERT INTO export_jobs (id, status,
	    file_path, file_name, file_size, max_downloads) VALUES ('walk',
	    'done', 'walk.bin', 'walk.bin', $FW_SIZE, 1)"
}

# fw_get NAME ADDR: GET the job as client ADDR into b.NAME; its status
# in R_STATUS, curl's exit in R_RC.
fw_get() {
	R_NAME=$1
	R_STATUS=$(curl -sS --max-time 10 --interface "$2" -D "$IT_DIR/h.$1" \
	    -o "$IT_DIR/b.$1" -w '%{http_code}' "$BASE/download/walk" \
	    2>"$IT_DIR/e.$1")
	R_RC=$?
	[ -e "$IT_DIR/b.$1" ] || : >"$IT_DIR/b.$1"
}

# What the last fw_get got: whole, error, gone (410), cut, or bad:<why>.
fw_class() {
	local size
	size=$(stat -c %s "$IT_DIR/b.$R_NAME")
	if [ "$R_RC" -eq 0 ] && [ "$R_STATUS" = 200 ]; then
		if [ "$(it_sha "$IT_DIR/b.$R_NAME")" = "$FW_SHA" ]; then
			echo whole
		else
			echo "bad:wrong_bytes($size)"
		fi
	elif [ "$R_RC" -eq 0 ] && [ "$size" -lt 1024 ] &&
	    [[ $R_STATUS =~ ^(500|502|503)$ ]]; then
		echo error
	elif [ "$R_RC" -eq 0 ] && [ "$size" -lt 1024 ] &&
	    [ "$R_STATUS" = 410 ]; then
		echo gone
	elif [ "$R_RC" -eq 18 ] && [ "$R_STATUS" = 200 ] &&
	    [ "$size" -lt "$FW_SIZE" ]; then
		if cmp -s -n "$size" "$IT_DIR/b.$R_NAME" "$FILE"; then
			echo cut
		else
			echo "bad:cut_wrong_bytes($size)"
		fi
	else
		echo "bad:status=$R_STATUS,curl=$R_RC,size=$size"
	fi
}

# The state database after a run, in one query: for A and for B their
# downloads and their responses' outcomes, then the responses left
# 'started', the downloads, and those with no byte handed over.
fw_state() {
	local IFS='|'
	# shellcheck disable=SC2046
	set -- $(sqlite3 -batch -noheader "$STATE_DB" "SELECT
	    (SELECT count(*) FROM downloads WHERE remote_addr = '$FW_A'),
	    (SELECT coalesce(group_concat(outcome), '') FROM responses
	    WHERE remote_addr = '$FW_A'),
	    (SELECT count(*) FROM downloads WHERE remote_addr = '$FW_B'),
	    (SELECT coalesce(group_concat(outcome), '') FROM responses
	    WHERE remote_addr = '$FW_B'),
	    (SELECT count(*) FROM responses WHERE outcome = 'started'),
	    (SELECT count(*) FROM downloads),
	    (SELECT count(*) FROM downloads WHERE covered = 0)")
	DL_A=${1:-?} RESP_A=${2:-} DL_B=${3:-?} RESP_B=${4:-}
	STARTED=${5:-?} DLS=${6:-?} EMPTY=${7:-?}
}

# fw_client_ok CLASS DOWNLOADS OUTCOMES: the state database agrees with
# what a client got (CLASS), given its downloads and its responses'
# outcomes; prints why not, and fails, when it does not.
fw_client_ok() {
	local class=$1 dl=$2 resp=$3
	case $class in
	whole)
		[ "$dl" = 1 ] && [ "$resp" = "$FW_WHOLE" ] && return 0
		echo "whole file but downloads=$dl responses=$resp" ;;
	error|gone)
		[ "$dl" = 0 ] && return 0
		echo "$class, yet a download was counted (responses=$resp)" ;;
	cut)
		[[ $resp =~ ^(error:io|error:short_read|aborted:client)$ ]] &&
		    return 0
		echo "cut but responses=$resp" ;;
	*)
		echo "$class" ;;
	esac
	return 1
}

# The checks of one run whose fault is $1 (none: the clean run), where
# A got $2 and B $3 (fw_class).
fw_check() {
	local what=$1 ca=$2 cb=$3 msgs=() m
	fw_state
	[ "$ca" != gone ] || msgs+=("client A refused 410")
	m=$(fw_client_ok "$ca" "$DL_A" "$RESP_A") || msgs+=("client A: $m")
	m=$(fw_client_ok "$cb" "$DL_B" "$RESP_B") || msgs+=("client B: $m")
	[ "$STARTED" = 0 ] || msgs+=("$STARTED response(s) left 'started'")
	[ "$DLS" = 0 ] || [ "$DLS" = 1 ] ||
	    msgs+=("$DLS downloads on a job limited to 1")
	[ "$EMPTY" = 0 ] ||
	    msgs+=("$EMPTY download(s) counted with no byte handed over")
	# B is refused exactly when A's download counts.
	if [ "$cb" = gone ] && [ "$DL_A" != 1 ]; then
		msgs+=("client B refused 410 with no download of A's")
	elif [ "$DL_A" = 1 ] && [[ $cb =~ ^(whole|cut)$ ]]; then
		msgs+=("client B served past A's counted download")
	fi
	grep -Eq "event=request .*id=walk .*remote=\"?$FW_A\"? " "$LOG" ||
	    msgs+=("no log line for A's request")
	grep -Eq "event=request .*id=walk .*remote=\"?$FW_B\"? " "$LOG" ||
	    msgs+=("no log line for B's request")
	! grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer' "$LOG" ||
	    msgs+=("sanitizer report in the log")
	! grep -q 'event=worker_died' "$LOG" || msgs+=("a worker died")
	grep -q 'event=fault_counts' "$LOG" ||
	    msgs+=("the worker did not exit through its drain")
	# A fault that changed the answers is logged after it; one that
	# changed nothing may have been absorbed (SQLite ignores a failed
	# size query of the WAL after a commit).
	if [ "$what" != none ] && [ "$ca/$cb" != whole/gone ] &&
	    grep -q 'event=fault_injected' "$LOG" && ! sed -n '/event=fault_injected/,$p' "$LOG" | grep -Eq \
	    'event=[a-z_]*error|outcome=(aborted|error)'; then
		msgs+=("no error logged after the fault")
	fi
	[ "${#msgs[@]}" -eq 0 ] && return 0
	it_not_ok "$MODE $what: A $ca, B $cb" "${msgs[@]}" \
	    "log: $(grep -E 'fault_|level=warn|event=request' "$LOG" |
	    cut -c 1-220 | tr '\n' '|')"
	return 1
}

# fw_run WHAT: one run with fault WHAT (<point>:<n>, or none); the
# classes of A's and B's answers in FW_CA and FW_CB, whether the fault
# fired in FW_FIRED. Fails when a check fails.
fw_run() {
	local what=$1 ok=0
	rm -f "$STATE_DB" "$STATE_DB-wal" "$STATE_DB-shm" "$IT_DIR"/b.*
	: >"$LOG"
	if [ "$what" = none ]; then unset SLUICE_FAULT; else
		export SLUICE_FAULT=$what; fi
	if ! it_sluice_start "$SOCK" "$BIN" "$LOG" --workers 1 --threads 1 \
	    "${FW_OPTS[@]}"; then
		unset SLUICE_FAULT
		it_not_ok "$MODE $what: sluice starts" "$(tail -n 3 "$LOG")"
		return 1
	fi
	unset SLUICE_FAULT
	fw_get A "$FW_A"
	FW_CA=$(fw_class) FW_SA=$R_STATUS
	# A's row is closed (its end committed, retried if need be) before
	# B asks: B then finds the limit as A left it.
	it_wait_for 5 it_sql_true "$STATE_DB" "SELECT count(*) = 0 FROM
	    responses WHERE outcome = 'started'" 2>/dev/null
	fw_get B "$FW_B"
	FW_CB=$(fw_class) FW_SB=$R_STATUS
	kill -TERM "$SLUICE_PID" 2>/dev/null
	if ! it_wait_for 5 it_dead "$SLUICE_PID"; then
		it_not_ok "$MODE $what: sluice stops on SIGTERM within 5 s"
		ok=1
	fi
	it_sluice_stop
	FW_FIRED=0
	grep -q 'event=fault_injected' "$LOG" && FW_FIRED=1
	fw_check "$what" "$FW_CA" "$FW_CB" || ok=1
	return $ok
}

# The count of point $1 in the last run's fault_counts line.
fw_count() {
	sed -n "s/.*event=fault_counts.* $1=\([0-9]*\).*/\1/p" "$LOG" | head -n 1
}

# fw_walk MODE: the clean run, then every point's every call.
fw_walk() {
	local p n m count fired runs fail summary=""
	MODE=$1
	FW_OPTS=()
	FW_WHOLE=complete
	if [ "$MODE" = offload ]; then
		FW_OPTS=(--offload lighttpd)
		FW_WHOLE=offloaded
	fi
	# sluice is started anew for each run: the socket's name is made
	# now, so that it_server_up gives the directory to www-data (new
	# sockets in it are then the group's).
	[ -e "$SOCK" ] || : >"$SOCK"
	it_server_up lighttpd "$MODE" "$SOCK" ||
	    { it_not_ok "$MODE: lighttpd starts"; return; }
	if fw_run none && [ "$FW_CA" = whole ] && [ "$FW_CB" = gone ]; then
		it_ok "$MODE clean: A gets the file, B 410, the trail complete"
	else
		it_not_ok "$MODE clean: A whole and B 410" "A $FW_CA, B $FW_CB"
		it_server_down
		return
	fi
	echo "# $MODE clean run: $(grep -o 'event=fault_counts.*' "$LOG" |
	    sed 's/ fault=.*//')"
	declare -A counts
	for p in $FW_POINTS; do counts[$p]=$(fw_count "$p"); done
	for p in $FW_POINTS; do
		count=${counts[$p]:-0}
		fired=0 runs=0 fail=0
		declare -A seen=()
		for n in $(seq 1 "$count"); do
			runs=$((runs + 1))
			fw_run "$p:$n" || fail=$((fail + 1))
			fired=$((fired + FW_FIRED))
			m="A $FW_CA B $FW_CB"
			seen[$m]=$((${seen[$m]:-0} + 1))
			[ -z "${FW_VERBOSE:-}" ] || echo "# $MODE $p:$n A $FW_CA" \
			    "$FW_SA B $FW_CB $FW_SB fired $FW_FIRED"
		done
		summary="$summary $p=$count"
		if [ "$count" -eq 0 ]; then
			it_ok "$MODE $p: no call in a download"
		elif [ "$fail" -eq 0 ] && [ "$fired" -gt 0 ]; then
			m="the contract holds at each of $count calls"
			it_ok "$MODE $p: $m ($fired faults fired)"
		elif [ "$fired" -eq 0 ]; then
			it_not_ok "$MODE $p: no fault fired in $runs runs"
		fi
		for m in "${!seen[@]}"; do
			echo "#     $m: ${seen[$m]}"
		done
	done
	echo "# $MODE calls in a clean download:$summary"
	it_server_down
}

# fw_parallel: each mode walked by a copy of this script of its own (its
# own directory, lighttpd and sluice), side by side: a run mostly waits
# (for a start, a curl, a drain), so on 2 cores both modes take 67 s
# where one after the other took 87.
fw_parallel() {
	local mode pids=() tail
	for mode in $FW_MODES; do
		FW_CHILD=1 FW_MODES=$mode bash "$0" >"$IT_DIR/walk.$mode" 2>&1 &
		pids+=($!)
		IT_PIDS+=($!)
	done
	wait "${pids[@]}"
	for mode in $FW_MODES; do
		cat "$IT_DIR/walk.$mode"
		tail=$(tail -n 1 "$IT_DIR/walk.$mode")
		if [[ $tail =~ ^fault:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
			IT_PASS=$((IT_PASS + BASH_REMATCH[1]))
			IT_FAIL=$((IT_FAIL + BASH_REMATCH[2]))
		else
			it_not_ok "$mode: the walk ran to its end" "$tail"
		fi
	done
}

t0=$SECONDS
if [ -z "${FW_CHILD:-}" ] && [ "$(wc -w <<<"$FW_MODES")" -gt 1 ]; then
	fw_parallel
else
	fw_fixtures || { echo "fixtures failed" >&2; exit 1; }
	FW_SHA=$(it_sha "$FILE")
	for mode in $FW_MODES; do fw_walk "$mode"; done
fi
echo "fault: $IT_PASS passed, $IT_FAIL failed ($((SECONDS - t0)) s)"
[ "$IT_FAIL" -eq 0 ]
