#!/usr/bin/env bash
# Issue 15, what is not a plain HTTP case (those are cases/90-hardening.txt):
# a jobs database replaced by mv and an export root moved and made anew,
# both under load, behind a real web server; raw FastCGI records no web
# server sends (GET_VALUES, other roles, ABORT_REQUEST), and every
# parameter carrying a newline and a quote into the log; sluicectl add's
# refusals (content type, URL, expiry, a locked database).
#
# Usage: bash tests/integration/harden.sh [SERVER]   (after make; default
# lighttpd, in stream mode)
# Environment: SLUICE_BIN (default build/asan/sluice), SLUICECTL_BIN
# (default build/sluicectl); IT_KEEP=1 keeps the scratch directory.
set -u

IT_TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$IT_TOP" || exit 1
. tests/integration/lib.sh
. tests/integration/servers.sh
. tests/integration/suite.sh

BIN=${SLUICE_BIN:-$IT_TOP/build/asan/sluice}
CTL=${SLUICECTL_BIN:-$IT_TOP/build/sluicectl}
for b in "$BIN" "$CTL"; do
	[ -x "$b" ] || { echo "missing $b: run make first" >&2; exit 2; }
done
IT_SERVER=${1:-lighttpd} IT_MODE=stream
RAW=(python3 "$IT_TOP/tests/integration/fcgi_raw.py")
WORKERS=2 THREADS=2

it_scratch hard
STATE_DB=$IT_DIR/state.db

# ------------------------------------------------------------- helpers
# status PATH: the HTTP status of a GET through the web server.
status() {
	curl -sS --path-as-is --max-time 20 -o /dev/null -w '%{http_code}' \
	    "$BASE$1" 2>/dev/null
}

status_is() { [ "$(status "$1")" = "$2" ]; }

# N GETs of PATH all answer STATUS.
all_status() {
	local i
	for ((i = 0; i < $1; i++)); do status_is "$2" "$3" || return 1; done
}

# load_start PATH: GETs of PATH in a loop until load_stop; the statuses
# go to $IT_DIR/load.codes.
load_start() {
	: >"$IT_DIR/load.codes"
	: >"$IT_DIR/load.run"
	(while [ -e "$IT_DIR/load.run" ]; do
		status "$1" >>"$IT_DIR/load.codes"
		echo >>"$IT_DIR/load.codes"
	done) &
	LOAD_PID=$!
	IT_PIDS+=("$LOAD_PID")
}

# load_stop NAME: stop the loop; every answer it got was a 200.
load_stop() {
	local n bad
	rm -f "$IT_DIR/load.run"
	wait "$LOAD_PID"
	n=$(grep -c . "$IT_DIR/load.codes")
	bad=$(grep -vc '^200$' "$IT_DIR/load.codes")
	it_check "$1: $n requests under load, none failed ($bad not 200)" \
	    [ "$n" -gt 0 -a "$bad" -eq 0 ]
}

# -------------------------------------------------- defects 1 and 2
# An exporter publishes a regenerated database with mv: 'hello' revoked
# in it, 'fresh' new. Served at once from the new file, without a failed
# request, and one line per worker process at most.
test_db_replaced() {
	local new=$IT_DIR/jobs.new.db
	it_check "db: hello is served before" status_is /download/hello 200
	cp "$IT_DIR/jobs.db" "$new"
	sqlite3 "$new" "UPDATE export_jobs SET status = 'revoked' WHERE
	    id = 'hello'; INSERT INTO export_jobs (id, status, file_path,
	    file_size) VALUES ('fresh', 'done', 'hello.txt', 13);"
	load_start /download/minimal
	mv "$new" "$IT_DIR/jobs.db"
	it_check "db replaced: the revoked job answers 410" \
	    it_wait_for 5 status_is /download/hello 410
	it_check "db replaced: 6 of 6 answers are 410" \
	    all_status 6 /download/hello 410
	it_check "db replaced: the new job answers 200" \
	    status_is /download/fresh 200
	load_stop "db replaced"
	log_has "db replaced: logged" \
	    "event=db_reopened path=\"$IT_DIR/jobs.db\""
	it_check "db replaced: one line per worker at most" \
	    [ "$(it_count "$LOG" 'event=db_reopened')" -le "$WORKERS" ]
}

# The export root moved away and a new one put in its place (by rename,
# so that it never stands empty), then the old one deleted: served from
# the new one, without a failed request.
test_root_replaced() {
	local new=$IT_DIR/export.new
	mkdir "$new" && cp -p "$IT_ROOT/hello.txt" "$new/" || return
	load_start /download/minimal
	mv "$IT_ROOT" "$IT_DIR/export.old"
	mv "$new" "$IT_ROOT"
	it_check "root replaced: logged" \
	    it_wait_grep "$LOG" 5 "event=root_reopened path=\"$IT_ROOT\""
	# Every thread has had time to look (REOPEN_CHECK_MS is 100).
	it_wait_for 5 all_status 8 /download/minimal 200
	rm -rf "$IT_DIR/export.old"
	it_check "root replaced: 6 of 6 answers are 200 once the old is gone" \
	    all_status 6 /download/minimal 200
	load_stop "root replaced"
	log_lacks "root replaced: no file was missing" \
	    'reason=missing id=minimal'
}

# ------------------------------------------------------------ defect 6
raw() { "${RAW[@]}" "$SOCK" "$@" >"$IT_DIR/raw.out" 2>&1; }
raw_has() { grep -Fxq -- "$1" "$IT_DIR/raw.out"; }
raw_refused() { raw_has "end app=0 protocol=3" && raw_has stdout=0; }

test_fcgi_records() {
	local n role
	# Connections at once: half the worker's descriptor limit (a
	# download holds its file too), in each worker.
	n=$(sed -n 's/.*event=nofile limit=\([0-9]*\).*/\1/p' "$LOG" | head -1)
	n=$((n / 2 * WORKERS))
	raw get-values
	it_check "GET_VALUES: answered with the pool's numbers" \
	    raw_has "FCGI_MAX_CONNS=$n"
	it_check "GET_VALUES: FCGI_MAX_REQS" raw_has "FCGI_MAX_REQS=$n"
	it_check "GET_VALUES: FCGI_MPXS_CONNS" raw_has "FCGI_MPXS_CONNS=0"
	for role in 2 3 9; do
		raw role "$role" /download/hello
		it_check "role $role: refused with FCGI_UNKNOWN_ROLE, no body" \
		    raw_refused
	done
	raw role 1 /download/hello
	it_check "role 1 (responder): served" raw_has "end app=0 protocol=0"
	log_has "roles: the refusal is logged" \
	    'event=fcgi_refused reason=unknown_role role=2'
	# 5 GiB: without the abort it would run for a minute.
	timeout 30 "${RAW[@]}" "$SOCK" abort /download/big5 100000 \
	    >"$IT_DIR/raw.out" 2>&1
	it_check "ABORT_REQUEST: the response ends (END_REQUEST)" \
	    raw_has "end app=1 protocol=0"
	it_check "ABORT_REQUEST: logged aborted:client" \
	    it_wait_grep "$LOG" 5 'id=big5 status=200 .*outcome=aborted:client'
	it_check "after the raw records: the pool still serves" \
	    status_is /download/hello 200
}

# ------------------------------------------------------------ defect 5
# Every parameter sluice reads, and a few it does not, with a newline and
# a quote that would forge a field and a whole line; each request is
# logged, and every line still parses as logfmt, with one event each.
test_log_quoting() {
	local evil='x\n\" event=security reason=forged user=\"root' p
	for p in REMOTE_ADDR REMOTE_USER REQUEST_URI QUERY_STRING \
	    REQUEST_METHOD HTTP_RANGE HTTP_IF_MATCH HTTP_IF_NONE_MATCH \
	    HTTP_IF_MODIFIED_SINCE HTTP_IF_UNMODIFIED_SINCE HTTP_IF_RANGE \
	    HTTP_USER_AGENT SCRIPT_NAME; do
		raw params /download/minimal "$p=$evil"
	done
	raw params "/download/minimal?token=$evil"
	curl -sS -o /dev/null "$BASE/download/minimal?x=%22%20q=%22" \
	    -H 'If-None-Match: "a" event=security' -H 'Range: bytes="'
	it_sentinel quoting
	it_check "log: a forged parameter never starts a line or a field" \
	    python3 - "$LOG" <<'EOF'
import re, sys
field = re.compile(r'\s*([a-z_]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)(?=\s|$)')
bad = 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    line = line.rstrip("\n")
    keys, pos = [], 0
    while pos < len(line):
        m = field.match(line, pos)
        if not m:
            break
        keys.append(m.group(1))
        pos = m.end()
    if pos != len(line) or keys.count("event") != 1 or \
            keys[:4] != ["time", "level", "pid", "event"]:
        print("unparsed: " + line[:200])
        bad += 1
    elif "forged" in line and "event=security" in line.split('"')[0]:
        bad += 1
sys.exit(1 if bad else 0)
EOF
}

# ---------------------------------------------------------- defect 4, 7
ctl() {
	C_NAME=$1
	shift
	"$CTL" --db "$IT_DIR/jobs.db" --root "$IT_ROOT" "$@" \
	    >"$IT_DIR/o.$C_NAME" 2>"$IT_DIR/e.$C_NAME" </dev/null
	C_RC=$?
}

# ctl_is RC ERE: exit RC, and stderr matches ERE (-: stderr is empty).
ctl_is() {
	[ "$C_RC" = "$1" ] || return 1
	if [ "$2" = - ]; then
		[ ! -s "$IT_DIR/e.$C_NAME" ]
	else
		grep -Eq -- "$2" "$IT_DIR/e.$C_NAME"
	fi
}

ctl_expect() {
	it_check "$C_NAME: exit $1 (got $C_RC), stderr '$2'" ctl_is "$1" "$2"
}

test_ctl_add() {
	local f=$IT_DIR/add.txt
	printf 'hello, world\n' >"$f"
	ctl type-bare add --content-type text "$f"
	ctl_expect 2 'content-type must be a media type'
	ctl type-empty add --content-type '' "$f"
	ctl_expect 2 'content-type must be a media type'
	ctl type-crlf add --content-type $'text/plain\r\nX-A: 1' "$f"
	ctl_expect 2 'content-type must be a media type'
	ctl type-ok add --content-type 'text/csv; charset=utf-8' "$f"
	ctl_expect 0 -
	ctl url-crlf add --url $'http://127.0.0.1/download/\r\nX-A: 1' "$f"
	ctl_expect 2 'url must not contain control characters'
	ctl url-tab add --url $'http://127.0.0.1/\tx/' "$f"
	ctl_expect 2 'url must not contain control characters'
	ctl expires-0d add --expires 0d "$f"
	ctl_expect 2 'expires must be at least 1s'
	ctl expires-0s add --expires 0s "$f"
	ctl_expect 2 'expires must be at least 1s'
	ctl expires-1s add --expires 1s "$f"
	ctl_expect 0 -
	it_lock_db "$IT_DIR/jobs.db" || { it_not_ok "locked: lock taken"; return; }
	ctl locked add "$f"
	it_unlock_db
	ctl_expect 1 'is locked by another process'
	it_check "locked: not called a missing jobs database" \
	    it_not grep -q 'is it a jobs database' "$IT_DIR/e.locked"
}

# The content types sluice served as application/octet-stream (the
# cases) were logged once each, with the value quoted.
test_type_logged() {
	it_check "typebare: served" status_is /download/typebare 200
	log_has "content type: a malformed one is logged as a warning" \
	    'level=warn .*event=bad_value field=content_type id=typebare value="text" served=application/octet-stream'
	log_lacks "content type: an empty one is the default, not a warning" \
	    'field=content_type id=typeempty'
}

# ---------------------------------------------------------------- run
suite_fixtures light || { echo "fixtures failed" >&2; exit 1; }
it_sluice_start "$SOCK" "$BIN" "$LOG" --state-db "$STATE_DB" \
    --workers "$WORKERS" --threads "$THREADS" ||
    { echo "sluice did not start" >&2; exit 1; }
it_server_up "$IT_SERVER" "$IT_MODE" "$SOCK" ||
    { echo "$IT_SERVER did not start" >&2; exit 1; }
echo "# $IT_SERVER $IT_MODE $BASE, sluice pid $SLUICE_PID"
IT_CASES=$IT_TOP/tests/integration/cases/90-hardening.txt suite_cases
test_type_logged
test_fcgi_records
test_log_quoting
test_db_replaced
test_root_replaced
test_ctl_add
it_server_down
it_sluice_stop
it_check "sanitizers: no report in sluice's log" \
    it_not grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer' "$LOG"
echo "harden: $IT_PASS passed, $IT_FAIL failed"
[ "$IT_FAIL" -eq 0 ]
