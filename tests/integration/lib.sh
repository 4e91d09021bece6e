# Helpers for the integration tests: fixtures, the servers, and assertions.
# Sourced by tests/integration/run.sh. Every process started here is
# recorded by pid and stopped by pid in it_cleanup.

IT_PASS=0
IT_FAIL=0
IT_PIDS=()

it_log() { printf '%s\n' "$*"; }

it_ok() {
	IT_PASS=$((IT_PASS + 1))
	printf 'ok   %s\n' "$1"
}

it_not_ok() {
	IT_FAIL=$((IT_FAIL + 1))
	printf 'not ok %s\n' "$1"
	shift
	local l
	for l in "$@"; do printf '       %s\n' "$l"; done
}

# A free TCP port on 127.0.0.1 (nothing answers a connect to it).
it_free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# it_wait_for SECS COMMAND...: run COMMAND (a function or a program)
# every 50 ms until it succeeds (0) or SECS seconds have passed (1). The
# one way these tests wait: for a condition, never for a fixed time.
it_wait_for() {
	local end=$((${EPOCHREALTIME/./} + ${1%.*} * 1000000))
	shift
	until "$@"; do
		[ "${EPOCHREALTIME/./}" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# it_holds_for SECS COMMAND...: COMMAND keeps succeeding for SECS seconds
# (checked every 50 ms; fails at the first time it does not). For the few
# cases whose claim is "nothing happens within a window" (a stalled
# client holds sluice back), where there is no event to wait for.
it_holds_for() {
	local end=$((${EPOCHREALTIME/./} + ${1%.*} * 1000000))
	shift
	while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
		"$@" || return 1
		sleep 0.05
	done
}

it_not() { ! "$@"; }

# Does a TCP port on 127.0.0.1 accept connections?
it_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Wait until a TCP port on 127.0.0.1 accepts connections (max 5 s).
it_wait_port() { it_wait_for 5 it_port_open "$1"; }

# Wait until a unix socket exists (max 5 s).
it_wait_socket() { it_wait_for 5 test -S "$1"; }

# Is pid running? A zombie (State: Z) has exited already. (The class
# excludes the blanks too: "[[:space:]]*[^Z]" matched a zombie's line by
# taking its tab as the [^Z], so a zombie counted as running until its
# parent, often init, reaped it.)
it_alive() { grep -qs '^State:[[:space:]]*[^Z[:space:]]' "/proc/$1/status"; }

it_dead() { ! it_alive "$1"; }

# it_listens PID PORT: process PID itself holds the listening socket on
# 127.0.0.1:PORT (not another run that won the port between the probe
# and the bind).
it_listens() {
	local inode
	inode=$(awk -v p="$(printf '0100007F:%04X' "$2")" \
	    '$2 == p && $4 == "0A" { print $10; exit }' /proc/net/tcp)
	[ -n "$inode" ] &&
	    find "/proc/$1/fd" -lname "socket:\[$inode\]" 2>/dev/null | grep -q .
}

it_kill_pid() {
	local pid=$1
	[ -n "$pid" ] || return 0
	it_alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null
	it_wait_for 5 it_dead "$pid" && return 0
	kill -KILL "$pid" 2>/dev/null
	return 0
}

# it_scratch NAME: a scratch directory /tmp/sluice-NAME.XXXXXX (short:
# unix socket paths are limited to 108 bytes) with the usual names in it,
# removed at exit unless IT_KEEP is set; every recorded pid is stopped.
# SLUICE_STATE_DB points in it, so no sluice or sluicectl that a test
# starts uses the machine's /var/lib/sluice.
it_scratch() {
	IT_DIR=$(mktemp -d "/tmp/sluice-$1.XXXXXX") ||
	    { echo "mktemp failed" >&2; exit 2; }
	IT_ROOT=$IT_DIR/export
	IT_DOCROOT=$IT_DIR/htdocs
	SOCK=$IT_DIR/sluice.sock
	LOG=$IT_DIR/sluice.log
	export SLUICE_STATE_DB=$IT_DIR/sluice-state.db
	trap 'it_cleanup; [ -n "${IT_KEEP:-}" ] || rm -rf "$IT_DIR"' EXIT
	trap 'exit 130' INT TERM
}

it_cleanup() {
	local pid
	for pid in "${IT_PIDS[@]}"; do it_kill_pid "$pid"; done
	IT_PIDS=()
}

# Start sluice under spawn-fcgi on unix socket $1 with binary $2, logging to
# $3, with any further options; the supervisor's pid is left in SLUICE_PID.
it_sluice_start() {
	local sock=$1 bin=$2 log=$3
	shift 3
	rm -f "$sock" "$sock.pid"
	spawn-fcgi -s "$sock" -M 0660 -P "$sock.pid" -- "$bin" \
	    --db "$IT_DIR/jobs.db" --root "$IT_ROOT" --log-file "$log" \
	    --state-db "$IT_DIR/sluice-state.db" \
	    --url-prefix /download/,/private/download/ "$@" \
	    >/dev/null || return 1
	SLUICE_PID=$(cat "$sock.pid")
	IT_PIDS+=("$SLUICE_PID")
	it_wait_socket "$sock"
}

it_sluice_stop() {
	it_kill_pid "$SLUICE_PID"
	SLUICE_PID=
}

# curl a URL; leaves the status in R_STATUS, headers (CR stripped) in
# $IT_DIR/h.NAME and the body in $IT_DIR/b.NAME.
# usage: it_get NAME PATH [curl args...]
it_get() {
	local name=$1 path=$2
	shift 2
	R_NAME=$name
	R_STATUS=$(curl -sS --path-as-is --max-time 20 -D "$IT_DIR/h.raw" \
	    -o "$IT_DIR/b.$name" -w '%{http_code}' "$@" "$BASE$path") ||
	    R_STATUS="curl-exit-$?"
	tr -d '\r' <"$IT_DIR/h.raw" >"$IT_DIR/h.$name"
}

it_expect_status() {
	if [ "$R_STATUS" = "$1" ]; then
		it_ok "$R_NAME: status $1"
	else
		it_not_ok "$R_NAME: status $1" "got: $R_STATUS" \
		    "$(head -c 300 "$IT_DIR/b.$R_NAME" 2>/dev/null)"
	fi
}

# Exact header line, e.g. it_expect_header 'Cache-Control: private'.
it_expect_header() {
	local want=$1 name=${1%%:*} got
	got=$(grep -i "^$name:" "$IT_DIR/h.$R_NAME")
	if [ "$got" = "$want" ]; then
		it_ok "$R_NAME: $want"
	else
		it_not_ok "$R_NAME: $want" "got: ${got:-<absent>}"
	fi
}

# Header present and matching an extended regex over the whole line.
it_expect_header_re() {
	local name=$1 re=$2 got
	got=$(grep -i "^$name:" "$IT_DIR/h.$R_NAME")
	if [ -n "$got" ] && printf '%s' "$got" | grep -Eq "^$re\$"; then
		it_ok "$R_NAME: $name matches $re"
	else
		it_not_ok "$R_NAME: $name matches $re" "got: ${got:-<absent>}"
	fi
}

it_expect_no_header() {
	if grep -qi "^$1:" "$IT_DIR/h.$R_NAME"; then
		it_not_ok "$R_NAME: no $1 header" \
		    "got: $(grep -i "^$1:" "$IT_DIR/h.$R_NAME")"
	else
		it_ok "$R_NAME: no $1 header"
	fi
}

# Response status line exactly (first line of the header block).
it_expect_status_line() {
	local got
	got=$(head -n 1 "$IT_DIR/h.$R_NAME")
	if [ "$got" = "$1" ]; then
		it_ok "$R_NAME: '$1'"
	else
		it_not_ok "$R_NAME: '$1'" "got: $got"
	fi
}

it_sha() { sha256sum "$1" | cut -d' ' -f1; }

it_expect_body_sha_of() {
	local want got
	want=$(it_sha "$1")
	got=$(it_sha "$IT_DIR/b.$R_NAME")
	if [ "$want" = "$got" ]; then
		it_ok "$R_NAME: body sha256 = $(basename "$1")"
	else
		it_not_ok "$R_NAME: body sha256 = $(basename "$1")" \
		    "want $want" "got  $got ($(stat -c %s "$IT_DIR/b.$R_NAME") bytes)"
	fi
}

it_expect_body() {
	local got
	got=$(cat "$IT_DIR/b.$R_NAME")
	if [ "$got" = "$1" ]; then
		it_ok "$R_NAME: body '$1'"
	else
		it_not_ok "$R_NAME: body '$1'" "got: $(head -c 200 "$IT_DIR/b.$R_NAME")"
	fi
}

it_expect_body_empty() {
	if [ ! -s "$IT_DIR/b.$R_NAME" ]; then
		it_ok "$R_NAME: empty body"
	else
		it_not_ok "$R_NAME: empty body" \
		    "got $(stat -c %s "$IT_DIR/b.$R_NAME") bytes"
	fi
}

# After `it_get NAME PATH -I`: curl writes the header block as the output,
# so anything beyond it would be body bytes.
it_expect_head_no_body() {
	if tr -d '\r' <"$IT_DIR/b.$R_NAME" | cmp -s - "$IT_DIR/h.$R_NAME"; then
		it_ok "$R_NAME: HEAD, no body"
	else
		it_not_ok "$R_NAME: HEAD, no body" \
		    "output has $(stat -c %s "$IT_DIR/b.$R_NAME") bytes"
	fi
}

# Headers (less Date) and body of the last it_get named $1, for comparing
# two answers byte for byte.
it_dump() { grep -v '^Date:' "$IT_DIR/h.$1"; cat "$IT_DIR/b.$1"; }

# it_expect_eq DESCRIPTION WANT GOT
it_expect_eq() {
	if [ "$2" = "$3" ]; then
		it_ok "$1"
	else
		it_not_ok "$1" "want: $2" "got:  $3"
	fi
}

# it_check DESCRIPTION COMMAND...: pass when the command succeeds.
it_check() {
	local what=$1
	shift
	if "$@"; then
		it_ok "$what"
	else
		it_not_ok "$what" "command: $*"
	fi
}

# Wait up to $2 seconds for an extended regex to appear in file $1.
it_wait_grep() { it_wait_for "$2" grep -Eq -- "$3" "$1"; }

# it_count FILE ERE: lines of FILE that match.
it_count() { grep -Ec -- "$2" "$1" 2>/dev/null; }

# it_count_ge FILE ERE N: at least N lines of FILE match.
it_count_ge() { [ "$(it_count "$1" "$2")" -ge "$3" ]; }

# it_sql_is DB SQL WANT: the query's answer is WANT.
it_sql_is() { [ "$(sqlite3 -batch -noheader "$1" "$2")" = "$3" ]; }

# it_sql_true DB SQL: the query answers 1 (a condition to wait for).
it_sql_true() { it_sql_is "$1" "$2" 1; }

# sluice commits a response's end (bytes, outcome) just after it, without
# holding it up: wait (max 5 s) until the newest response of job $2 in
# state database $1 is no longer 'started'.
it_audit_wait_closed() {
	it_wait_for 5 it_sql_true "$1" "SELECT coalesce((SELECT outcome FROM
	    responses WHERE job_id = '$2' ORDER BY id DESC LIMIT 1), '')
	    != 'started'"
}

# ... and until no response of job $2 is in flight any more (max 5 s).
it_audit_wait_all_closed() {
	it_wait_for 5 it_sql_true "$1" "SELECT count(*) = 0 FROM responses
	    WHERE job_id = '$2' AND outcome = 'started'"
}

# Wait (max $3 s) until the state database $1 has at least $4 responses of
# job $2 in flight (outcome 'started') with an id above $5 (default 0).
it_wait_started() {
	it_wait_for "$3" it_sql_true "$1" "SELECT count(*) >= $4 FROM responses
	    WHERE job_id = '$2' AND outcome = 'started' AND id > ${5:-0}"
}

# The address of client N on loopback, 127.0.0.N (N from 2 to 254): the
# whole of 127/8 reaches lo, so a client that binds its socket to it
# before connecting is another REMOTE_ADDR, another client to
# max_downloads (curl --interface, wget --bind-address, aria2c
# --interface; cases.py's `from`).
it_addr() { echo "127.0.0.$1"; }

# The worker processes of supervisor $1.
it_workers() { pgrep -P "$1" | sort -n; }

# Supervisor $1 has exactly $2 workers.
it_has_workers() { [ "$(it_workers "$1" | wc -l)" -eq "$2" ]; }

# Wait up to $3 s until supervisor $1 has exactly $2 workers.
it_wait_workers() { it_wait_for "$3" it_has_workers "$1" "$2"; }

# it_no_fd_to FILE PID...: none of the processes has FILE open (after a
# log rotation: every one of them reopened its log).
it_no_fd_to() {
	local p
	for p in "${@:2}"; do
		find "/proc/$p/fd" -lname "$1" 2>/dev/null | grep -q . &&
		    return 1
	done
	return 0
}

# Make a request that reaches sluice (an unknown id named $1), and wait
# until sluice has logged it. sluice logs a request before it ends the
# response, and curl sent this one after every earlier answer was
# complete, so their lines are all in by then.
it_sentinel() {
	curl -s -o /dev/null "$BASE/download/sentinel-$1"
	it_wait_grep "$LOG" 5 "id=sentinel-$1 status=404 "
}

# The last response was not a download: status not 200/206 and no byte
# of hello.txt in the body.
it_expect_no_file() {
	if [ "$R_STATUS" != 200 ] && [ "$R_STATUS" != 206 ] &&
	    ! grep -q 'hello, world' "$IT_DIR/b.$R_NAME"; then
		it_ok "$R_NAME: not the file (status $R_STATUS)"
	else
		it_not_ok "$R_NAME: not the file" "status $R_STATUS" \
		    "$(head -c 200 "$IT_DIR/b.$R_NAME")"
	fi
}

# it_cases SERVER MODE FILE...: the HTTP cases in FILE... (cases.py)
# against $BASE; their ok/not ok lines, counted into IT_PASS/IT_FAIL.
it_cases() {
	local srv=$1 mode=$2 out tail p f
	shift 2
	out=$IT_DIR/cases-$srv-$mode.out
	python3 "$IT_TOP/tests/integration/cases.py" --base "$BASE" \
	    --root "$IT_ROOT" --server "$srv" --mode "$mode" "$@" >"$out" 2>&1
	cat "$out"
	tail=$(tail -n 1 "$out")
	if [[ $tail =~ ^cases:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
		p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
		IT_PASS=$((IT_PASS + p)) IT_FAIL=$((IT_FAIL + f))
	else
		it_not_ok "$srv $mode: the cases ran" "$tail"
	fi
}

# it_shrink_get NAME [RATE]: download shrink.bin (from 100 MB) into
# b.NAME, and cut the file to 1 MB once the client has 2 MB of it. Sets
# RC (curl's exit), MS (how long the client waited) and GOT (the bytes it
# got), and checks that the client saw a partial transfer.
it_shrink_get() {
	local name=$1 rate=${2:-20M} cutter t0 t1
	truncate -s 0 "$IT_ROOT/shrink.bin"
	truncate -s 104857600 "$IT_ROOT/shrink.bin"
	rm -f "$IT_DIR/b.$name"
	(it_wait_for 10 it_size_ge "$IT_DIR/b.$name" 2097152
	truncate -s 1M "$IT_ROOT/shrink.bin") &
	cutter=$!
	t0=$(date +%s%N)
	curl -sS --max-time 30 --limit-rate "$rate" -D "$IT_DIR/h.raw" \
	    -o "$IT_DIR/b.$name" "$BASE/download/shrink" 2>/dev/null
	RC=$?
	t1=$(date +%s%N)
	wait "$cutter"
	tr -d '\r' <"$IT_DIR/h.raw" >"$IT_DIR/h.$name"
	R_NAME=$name
	MS=$(((t1 - t0) / 1000000))
	GOT=$(stat -c %s "$IT_DIR/b.$name")
	it_check "$name: curl sees a partial transfer (exit $RC)" [ "$RC" -eq 18 ]
	it_check "$name: fewer bytes than Content-Length arrived ($GOT)" \
	    [ "$GOT" -lt 104857600 ]
}

# it_size_ge FILE N: FILE exists and has at least N bytes.
it_size_ge() { [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$2" ]; }

# it_lock_db DB [SQL]: hold an exclusive lock on DB (sqlite3 reading a
# FIFO) until it_unlock_db; returns once another writer is refused.
it_lock_db() {
	IT_LOCK_FIFO=$IT_DIR/lock.fifo
	rm -f "$IT_LOCK_FIFO"
	mkfifo "$IT_LOCK_FIFO" || return 1
	sqlite3 "$1" <"$IT_LOCK_FIFO" >/dev/null &
	IT_LOCK_PID=$!
	IT_PIDS+=("$IT_LOCK_PID")
	exec {IT_LOCK_FD}>"$IT_LOCK_FIFO"
	printf '.timeout 5000\nBEGIN EXCLUSIVE;\nSELECT 1;\n' >&"$IT_LOCK_FD"
	it_wait_for 5 it_not sqlite3 "$1" 'BEGIN IMMEDIATE; ROLLBACK;' \
	    2>/dev/null
}

it_unlock_db() {
	printf 'COMMIT;\n' >&"$IT_LOCK_FD"
	exec {IT_LOCK_FD}>&-
	wait "$IT_LOCK_PID"
}

# Peak resident set (VmHWM, kB) of a pid.
it_vmhwm() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
