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
	printf 'FAIL %s\n' "$1"
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

# Wait until a TCP port on 127.0.0.1 accepts connections (max ~5 s).
it_wait_port() {
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# Wait until a unix socket exists (max ~5 s).
it_wait_socket() {
	for _ in $(seq 1 100); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# Is pid running? A zombie (State: Z) has exited already.
it_alive() { grep -qs '^State:[[:space:]]*[^Z]' "/proc/$1/status"; }

it_kill_pid() {
	local pid=$1
	[ -n "$pid" ] || return 0
	it_alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 50); do
		it_alive "$pid" || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	return 0
}

# it_scratch NAME: a scratch directory /tmp/sluice-NAME.XXXXXX (short:
# unix socket paths are limited to 108 bytes) with the usual names in it,
# removed at exit unless IT_KEEP is set; every recorded pid is stopped.
it_scratch() {
	IT_DIR=$(mktemp -d "/tmp/sluice-$1.XXXXXX") ||
	    { echo "mktemp failed" >&2; exit 2; }
	IT_ROOT=$IT_DIR/export
	IT_DOCROOT=$IT_DIR/htdocs
	SOCK=$IT_DIR/sluice.sock
	LOG=$IT_DIR/sluice.log
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
it_wait_grep() {
	local file=$1 secs=$2 re=$3
	for _ in $(seq 1 $((secs * 10))); do
		grep -Eq -- "$re" "$file" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# sluice commits a download's end (bytes, outcome) just after the response,
# without holding it up: wait (max 5 s) until the newest audit row of job
# $2 in state database $1 is no longer 'started'.
it_audit_wait_closed() {
	local db=$1 job=$2
	for _ in $(seq 1 50); do
		[ "$(sqlite3 -batch -noheader "$db" "SELECT outcome FROM
		    downloads WHERE job_id = '$job' ORDER BY id DESC LIMIT 1")" \
		    != started ] && return 0
		sleep 0.1
	done
	return 1
}

# The worker processes of supervisor $1.
it_workers() { pgrep -P "$1" | sort -n; }

# Wait up to $3 s until supervisor $1 has exactly $2 workers.
it_wait_workers() {
	local n
	for _ in $(seq 1 $(($3 * 20))); do
		n=$(it_workers "$1" | wc -l)
		[ "$n" -eq "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

# Peak resident set (VmHWM, kB) of a pid.
it_vmhwm() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
