#!/usr/bin/env bash
# Integration tests behind nginx, for what only nginx has: real nginx on
# 127.0.0.1 started from deploy/nginx/sluice.conf by servers.sh (only
# paths and the port filled in; deploy/nginx/sluice_fastcgi_params copied
# verbatim), sluice launched by spawn-fcgi, jobs from seed.sql.
#
# What it pins: the shipped config (parameter list, REMOTE_USER only from
# $remote_user, loopback only); server_tokens off; a wrong password is
# logged by nginx; with buffering off, a stalled client holds sluice back
# (nginx spools nothing to a temp file) and sluice ends the download when
# the client goes; nginx's error log stays free of upstream errors.
# Everything else (downloads, headers, owners and the "//" and dot
# segments nginx normalises, tokens, ...) is suite.sh's, which run.sh runs
# behind nginx in stream and offload mode.
#
# Usage: bash tests/integration/nginx.sh   (from the top, after make)
# Environment: SLUICE_BIN (default build/sluice); IT_KEEP=1 keeps the
# scratch directory.
set -u

IT_TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$IT_TOP" || exit 1
. tests/integration/lib.sh
. tests/integration/servers.sh

BIN=${SLUICE_BIN:-$IT_TOP/build/sluice}
[ -x "$BIN" ] || { echo "missing $BIN: run make first" >&2; exit 2; }
for c in nginx spawn-fcgi sqlite3 curl sha256sum; do
	command -v "$c" >/dev/null || { echo "missing $c" >&2; exit 2; }
done

it_scratch ngx
NGX_ERR=$IT_DIR/nginx-error.log

# Bigger than every buffer between sluice and a stalled client.
STALL_SIZE=67108864

# ---------------------------------------------------------------- fixtures
fixtures_make() {
	mkdir -p "$IT_ROOT" "$IT_DOCROOT" || return 1
	printf 'hello, world\n' >"$IT_ROOT/hello.txt"
	truncate -s "$STALL_SIZE" "$IT_ROOT/stall.bin"
	printf 'static file\n' >"$IT_DOCROOT/static.txt"
	sqlite3 "$IT_DIR/jobs.db" <sql/schema.sql || return 1
	sed "s|@SECRET@|$IT_DIR/secret.txt|" tests/integration/seed.sql |
	    sqlite3 "$IT_DIR/jobs.db" || return 1
	sqlite3 "$IT_DIR/jobs.db" "INSERT INTO export_jobs (id, status,
	    file_path, file_size) VALUES ('stall', 'done', 'stall.bin',
	    $STALL_SIZE);"
}

# ----------------------------------------------------------- the config
test_config() {
	it_check "config: every @PLACEHOLDER@ filled in" \
	    bash -c "! grep -v '^[[:space:]]*#' '$IT_DIR/nginx.conf' |
	        grep -q '@[A-Z]*@'"
	it_check "config: the parameter list is the shipped one" \
	    cmp -s deploy/nginx/sluice_fastcgi_params \
	    "$IT_DIR/sluice_fastcgi_params"
	it_check "config: the parameter list never sets REMOTE_USER" \
	    bash -c "! grep -Eq '^[[:space:]]*fastcgi_param[[:space:]]+REMOTE_USER' \
	        deploy/nginx/sluice_fastcgi_params"
	it_check "config: exactly one REMOTE_USER, from \$remote_user" \
	    [ "$(grep -Ec '^[[:space:]]*fastcgi_param[[:space:]]+REMOTE_USER[[:space:]]+\$remote_user;' \
	        deploy/nginx/sluice.conf)" = 1 ]
	it_check "config: Debian's fastcgi_params is not included" \
	    bash -c "! grep -Eq '^[[:space:]]*include[[:space:]]+(.*/)?fastcgi(_params|\.conf);' \
	        deploy/nginx/sluice.conf"
	it_check "config: nginx listens on 127.0.0.1 only" \
	    bash -c "[ \"\$(grep -E '^[[:space:]]*listen[[:space:]]' '$IT_DIR/nginx.conf')\" = \
	        \"\$(printf '\t\tlisten      127.0.0.1:%s;' '$SRV_PORT')\" ]"
}

# ------------------------------------------------------ nginx's own parts
test_nginx() {
	it_get hello /download/hello
	it_expect_status 200
	it_expect_body_sha_of "$IT_ROOT/hello.txt"
	# server_tokens off.
	it_expect_header 'Server: nginx'
	# The static location (the benchmarks' baseline).
	it_get static /static.txt
	it_expect_status 200
	it_expect_body_sha_of "$IT_DOCROOT/static.txt"
	it_expect_header 'Content-Length: 12'
	# A wrong password: nginx's 401 (suite.sh: sluice never sees it),
	# and nginx's own log line.
	it_get badpw /private/download/owned -u alice:wrong
	it_expect_status 401
	it_check "badpw: nginx logged the mismatch" \
	    grep -q 'user "alice": password mismatch' "$NGX_ERR"
}

# ---------------------------------------------------------- back-pressure
# A client that reads the status line and then nothing: with buffering off,
# nginx holds at most fastcgi_buffer_size, so sluice cannot finish 64 MiB.
# With buffering on, nginx would drain sluice into a temp file at once.
test_backpressure() {
	local line
	if ! exec 3<>"/dev/tcp/127.0.0.1/$SRV_PORT"; then
		it_not_ok "stall: connect"
		return
	fi
	printf 'GET /download/stall HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
	IFS= read -r -t 5 line <&3
	it_expect_eq "stall: the response has begun" 'HTTP/1.1 200 OK' "${line%$'\r'}"
	# No event to wait for: the claim is that nothing ends for 2 s.
	it_check "stall: for 2 s sluice is still sending (nginx buffers nothing)" \
	    it_holds_for 2 it_not grep -q 'id=stall ' "$LOG"
	it_check "stall: nginx did not spool to a temp file" \
	    bash -c "! grep -q 'buffered to a temporary file' '$NGX_ERR'"
	exec 3<&-
	it_check "stall: sluice ends the download when the client goes" \
	    it_wait_grep "$LOG" 10 'id=stall status=200 '
	it_check "stall: ... as incomplete, not as sent" \
	    bash -c "grep 'id=stall status=200 ' '$LOG' | grep -vq 'outcome=complete'"
}

# ------------------------------------------------------- nginx's error log
test_nginx_log() {
	local bad
	bad=$(grep -E 'upstream sent|invalid header|upstream prematurely|buffered to a temporary file|while reading (response header|upstream)|\[(crit|alert|emerg)\]' \
	    "$NGX_ERR")
	if [ -z "$bad" ]; then
		it_ok "nginx: no upstream errors or spooling in its error log"
	else
		it_not_ok "nginx: no upstream errors or spooling in its error log" \
		    "$(printf '%s\n' "$bad" | head -n 5)"
	fi
	it_check "nginx: nothing spooled to fastcgi temp files" \
	    bash -c "[ -z \"\$(find '$IT_DIR/nginx-fastcgi' -type f)\" ]"
}

# ------------------------------------------------------------------- run
fixtures_make || { echo "fixtures failed" >&2; exit 1; }
it_sluice_start "$SOCK" "$BIN" "$LOG" ||
    { echo "sluice did not start" >&2; cat "$LOG" >&2; exit 1; }
it_server_up nginx stream "$SOCK" ||
    { echo "nginx did not start" >&2; cat "$NGX_ERR" >&2; exit 1; }
echo "# nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') $BASE, sluice pid $SLUICE_PID"
test_config
test_nginx
test_backpressure
test_nginx_log
it_check "sluice: no sanitizer report in its log" \
    bash -c "! grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer' '$LOG'"

echo "nginx: $IT_PASS passed, $IT_FAIL failed"
[ "$IT_FAIL" -eq 0 ]
