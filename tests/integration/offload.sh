#!/usr/bin/env bash
# Integration tests of offload mode behind lighttpd (X-Sendfile), nginx
# (X-Accel-Redirect) and Apache (mod_xsendfile): each server started on
# 127.0.0.1 from its deploy/*/sluice-offload.conf (only paths and the port
# filled in), sluice launched by spawn-fcgi with --offload, a jobs database
# seeded here.
#
# What it pins, for each server: sluice still decides (404 token, 403
# owner, 500 for every confinement row, with no file bytes), then the
# server sends the file byte-exact with its own Content-Length, Range (206)
# and ETag (304), and sluice's Content-Disposition and nosniff; the
# X-Sendfile / X-Accel-Redirect header never reaches the client; a path
# with spaces and UTF-8 works; the audit row says `offloaded`, and the
# server's access log has the bytes.
#
# Usage: bash tests/integration/offload.sh   (from the top, after make)
# Needs: lighttpd, nginx, apache2 with libapache2-mod-xsendfile,
# spawn-fcgi, sqlite3, curl.
# Environment: SLUICE_BIN (default build/sluice); IT_KEEP=1 keeps the
# scratch directory.
set -u

IT_TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$IT_TOP" || exit 1
. tests/integration/lib.sh

BIN=${SLUICE_BIN:-$IT_TOP/build/sluice}
[ -x "$BIN" ] || { echo "missing $BIN: run make first" >&2; exit 2; }
APACHE=$(command -v apache2 || echo /usr/sbin/apache2)
for c in lighttpd nginx "$APACHE" spawn-fcgi sqlite3 curl sha256sum; do
	command -v "$c" >/dev/null || { echo "missing $c" >&2; exit 2; }
done
[ -e /usr/lib/apache2/modules/mod_xsendfile.so ] || {
	echo "missing mod_xsendfile: apt-get install libapache2-mod-xsendfile" >&2
	exit 2
}

# Short path: unix socket paths are limited to 108 bytes.
IT_DIR=$(mktemp -d /tmp/sluice-off.XXXXXX)
IT_ROOT=$IT_DIR/export
IT_DOCROOT=$IT_DIR/htdocs
SOCK=$IT_DIR/sluice.sock
LOG=$IT_DIR/sluice.log
AUTHFILE=$IT_DIR/users
STATE_DB=$IT_DIR/sluice-state.db
trap 'it_cleanup; [ -n "${IT_KEEP:-}" ] || rm -rf "$IT_DIR"' EXIT
trap 'exit 130' INT TERM

HELLO_SHA=853ff93762a06ddbf722c4ebe9ddd66d8f63ddaea97f521c3ecc20da7c976020
TOK_SHA=a81e611a041b13f078bf8ebe5dab4d4fd63fcc5594661c918bec093a2f416a7e
HELLO_B64=$(python3 -c 'import base64,sys; print(base64.b64encode(bytes.fromhex(sys.argv[1])).decode())' "$HELLO_SHA")
BIG_SIZE=4194304
UTF_DIR='dir with space'
UTF_FILE='résumé € 1+1=2 #x?.bin'

# ---------------------------------------------------------------- fixtures
fixtures_make() {
	mkdir -p "$IT_ROOT/data" "$IT_ROOT/$UTF_DIR" "$IT_DOCROOT" || return 1
	printf 'hello, world\n' >"$IT_ROOT/hello.txt"
	head -c "$BIG_SIZE" /dev/urandom >"$IT_ROOT/data/4m.bin"
	head -c 1000 /dev/urandom >"$IT_ROOT/$UTF_DIR/$UTF_FILE"
	# Outside the root: what an escape would serve.
	printf 'hello, world (secret)\n' >"$IT_DIR/secret.txt"
	ln -s hello.txt "$IT_ROOT/link.txt"
	[ "$(it_sha "$IT_ROOT/hello.txt")" = "$HELLO_SHA" ] || return 1
	sqlite3 "$IT_DIR/jobs.db" <sql/schema.sql || return 1
	sqlite3 "$IT_DIR/jobs.db" <<-EOF || return 1
	INSERT INTO export_jobs (id, status, file_path, file_name,
	    content_type, file_size, sha256, token_sha256, owner) VALUES
	    ('hello', 'done', 'hello.txt', 'hello €.txt', 'text/plain', 13,
	     '$HELLO_SHA', NULL, NULL),
	    ('owned', 'done', 'hello.txt', 'hello.txt', 'text/plain', 13,
	     NULL, NULL, 'alice'),
	    ('tok', 'done', 'hello.txt', 'hello.txt', 'text/plain', 13,
	     NULL, '$TOK_SHA', NULL),
	    ('big', 'done', 'data/4m.bin', 'big.bin', NULL, $BIG_SIZE,
	     NULL, NULL, NULL),
	    ('utf', 'done', '$UTF_DIR/$UTF_FILE', '$UTF_FILE', NULL, 1000,
	     NULL, NULL, NULL),
	    ('escape', 'done', '../secret.txt', 's.txt', NULL, 22,
	     NULL, NULL, NULL),
	    ('absolute', 'done', '$IT_DIR/secret.txt', 's.txt', NULL, 22,
	     NULL, NULL, NULL),
	    ('symlink', 'done', 'link.txt', 's.txt', NULL, 13,
	     NULL, NULL, NULL),
	    ('dotseg', 'done', 'data/../hello.txt', 's.txt', NULL, 13,
	     NULL, NULL, NULL);
	EOF
	# Users for the private location (lighttpd plain, nginx {PLAIN},
	# Apache: not used here, the file only has to exist).
	printf 'alice:alice-pw\n' >"$AUTHFILE"
	chmod 0711 "$IT_DIR"
	chmod 0644 "$AUTHFILE"
}

# Fill in a deploy config: fill SRC DEST PORT
fill() {
	sed -e "s|@PORT@|$3|g" -e "s|@DOCROOT@|$IT_DOCROOT|g" \
	    -e "s|@STATEDIR@|$IT_DIR|g" -e "s|@SOCKET@|$SOCK|g" \
	    -e "s|@AUTHFILE@|$AUTHFILE|g" -e "s|@ROOT@|$IT_ROOT|g" \
	    "$1" >"$2"
}

# Start sluice with --offload $1.
sluice_up() {
	it_sluice_start "$SOCK" "$BIN" "$LOG" --workers 1 --threads 4 \
	    --offload "$1" || return 1
	# The servers' workers run as www-data (as root only).
	[ "$(id -u)" -ne 0 ] || chgrp www-data "$SOCK"
}

# Start a server (lighttpd, nginx or apache) from its offload config; sets
# SRV_PID and BASE. A port taken between probe and bind: try another.
server_up() {
	local srv=$1 port conf=$IT_DIR/$1.conf
	for _ in 1 2 3 4 5; do
		port=$(it_free_port) || return 1
		case $srv in
		lighttpd)
			fill deploy/lighttpd/sluice-offload.conf "$conf" "$port"
			lighttpd -tt -f "$conf" >/dev/null || return 1
			lighttpd -D -f "$conf" &
			;;
		nginx)
			cp deploy/nginx/sluice_fastcgi_params "$IT_DIR/"
			fill deploy/nginx/sluice-offload.conf "$conf" "$port"
			nginx -t -q -p "$IT_DIR/" -c "$conf" \
			    -g 'daemon off;' || return 1
			nginx -p "$IT_DIR/" -c "$conf" -g 'daemon off;' &
			;;
		apache)
			fill deploy/apache/sluice-offload.conf "$conf" "$port"
			"$APACHE" -t -f "$conf" 2>/dev/null ||
			    { "$APACHE" -t -f "$conf"; return 1; }
			"$APACHE" -f "$conf" -DFOREGROUND &
			;;
		esac
		SRV_PID=$!
		IT_PIDS+=("$SRV_PID")
		BASE="http://127.0.0.1:$port"
		if it_wait_port "$port" && sleep 0.3 && it_alive "$SRV_PID"; then
			return 0
		fi
		it_kill_pid "$SRV_PID"
	done
	return 1
}

# ------------------------------------------------------------------ helpers
# The last response carried no byte of any file: status 500 (sluice's)
# and none of hello.txt / secret.txt in the body.
expect_500_no_file() {
	if [ "$R_STATUS" = 500 ] &&
	    ! grep -q 'hello, world' "$IT_DIR/b.$R_NAME"; then
		it_ok "$R_NAME: 500, no file bytes"
	else
		it_not_ok "$R_NAME: 500, no file bytes" "status $R_STATUS" \
		    "$(head -c 200 "$IT_DIR/b.$R_NAME")"
	fi
}

# Neither offload header reaches the client.
expect_no_offload_header() {
	if grep -Eqi '^(x-sendfile|x-accel-redirect|x-lighttpd-send-file):' \
	    "$IT_DIR/h.$R_NAME"; then
		it_not_ok "$R_NAME: no offload header to the client" \
		    "$(grep -Ei '^x-' "$IT_DIR/h.$R_NAME")"
	else
		it_ok "$R_NAME: no offload header to the client"
	fi
}

# Wait until sluice has logged a request for id $1 (max 5 s).
logged() {
	it_wait_grep "$LOG" 5 "event=request .*id=$1 " &&
	    it_audit_wait_closed "$STATE_DB" "$1"
}

# --------------------------------------------------------------- the checks
# run_server NAME MODE
run_server() {
	local srv=$1 mode=$2 etag want got
	it_log "# $srv (--offload $mode)"
	rm -f "$STATE_DB" "$STATE_DB-wal" "$STATE_DB-shm"
	if ! sluice_up "$mode"; then
		it_not_ok "$srv: sluice starts"
		return
	fi
	if ! server_up "$srv"; then
		it_not_ok "$srv: server starts from its offload config"
		it_sluice_stop
		return
	fi

	it_get "$srv-hello" /download/hello
	it_expect_status 200
	it_expect_body_sha_of "$IT_ROOT/hello.txt"
	it_expect_header 'Content-Length: 13'
	it_expect_header "Content-Disposition: attachment; filename=\"hello _.txt\"; filename*=UTF-8''hello%20%E2%82%AC.txt"
	it_expect_header 'X-Content-Type-Options: nosniff'
	it_expect_header 'Content-Type: text/plain'
	it_expect_header "Repr-Digest: sha-256=:$HELLO_B64:"
	expect_no_offload_header
	etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]: //p' "$IT_DIR/h.$srv-hello")
	it_expect_eq "$srv-hello: the server's ETag" yes \
	    "$([ -n "$etag" ] && echo yes || echo no)"
	logged hello
	got=$(sqlite3 "$STATE_DB" "SELECT status, counts, bytes_sent, outcome
	    FROM downloads WHERE job_id = 'hello' ORDER BY id DESC LIMIT 1")
	it_expect_eq "$srv-hello: audit row" "200|1|0|offloaded" "$got"
	it_check "$srv-hello: sluice logs outcome=offloaded" \
	    grep -Eq 'id=hello status=200 .*outcome=offloaded' "$LOG"

	it_get "$srv-range" /download/big -H 'Range: bytes=100-1123'
	it_expect_status 206
	it_expect_header "Content-Range: bytes 100-1123/$BIG_SIZE"
	want=$(tail -c +101 "$IT_ROOT/data/4m.bin" | head -c 1024 | sha256sum |
	    cut -d' ' -f1)
	it_expect_eq "$srv-range: the right 1024 bytes" "$want" \
	    "$(it_sha "$IT_DIR/b.$srv-range")"
	expect_no_offload_header
	logged big
	got=$(sqlite3 "$STATE_DB" "SELECT status, range_start, range_end,
	    counts, outcome FROM downloads WHERE job_id = 'big'
	    ORDER BY id DESC LIMIT 1")
	it_expect_eq "$srv-range: audit row (continuation, not counted)" \
	    "206|100|1123|0|offloaded" "$got"

	it_get "$srv-big" /download/big
	it_expect_status 200
	it_expect_body_sha_of "$IT_ROOT/data/4m.bin"
	it_expect_header "Content-Length: $BIG_SIZE"

	it_get "$srv-inm" /download/hello -H "If-None-Match: $etag"
	it_expect_status 304
	it_expect_body_empty

	it_get "$srv-head" /download/hello -I
	it_expect_status 200
	it_expect_header 'Content-Length: 13'
	it_expect_head_no_body

	it_get "$srv-tok-ok" '/download/tok?token=s3cret-token'
	it_expect_status 200
	it_get "$srv-tok-bad" '/download/tok?token=wrong'
	it_expect_status 404
	it_get "$srv-unknown" /download/nosuchjob
	it_expect_status 404
	it_expect_eq "$srv: wrong token identical to unknown id" \
	    "$(it_dump "$srv-unknown")" "$(it_dump "$srv-tok-bad")"

	it_get "$srv-owned" /download/owned
	it_expect_status 403

	it_get "$srv-utf" /download/utf
	it_expect_status 200
	it_expect_body_sha_of "$IT_ROOT/$UTF_DIR/$UTF_FILE"
	it_expect_header 'Content-Length: 1000'

	for j in escape absolute symlink dotseg; do
		it_get "$srv-$j" "/download/$j"
		expect_500_no_file
	done

	if [ "$srv" = nginx ]; then
		it_get "$srv-internal" /_sluice_files/hello.txt
		it_expect_status 404
	fi

	# The server's access log carries what sluice cannot know (read
	# after the server stopped: lighttpd writes its log in batches).
	it_kill_pid "$SRV_PID"
	it_check "$srv: access log has the offloaded 200's bytes" \
	    grep -Eq "GET /download/big[\" ].* 200 $BIG_SIZE " \
	    "$IT_DIR/$srv-access.log"
	it_sluice_stop
}

# ------------------------------------------------------------------- main
fixtures_make || { echo "fixtures failed" >&2; exit 2; }

run_server lighttpd x-sendfile
run_server nginx x-accel-redirect:/_sluice_files/
run_server apache x-sendfile

printf 'offload: %d passed, %d failed\n' "$IT_PASS" "$IT_FAIL"
[ "$IT_FAIL" -eq 0 ]
