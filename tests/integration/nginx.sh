#!/usr/bin/env bash
# Integration tests behind nginx: real nginx on 127.0.0.1 started from
# deploy/nginx/sluice.conf (only paths and the port filled in) and
# deploy/nginx/sluice_fastcgi_params (copied verbatim), sluice launched by
# spawn-fcgi, a jobs database seeded here.
#
# What it pins: downloads arrive byte-exact with sluice's headers intact;
# REMOTE_USER reaches sluice only from the auth_basic location, never from a
# client's unverified Authorization header; a wrong password never reaches
# sluice; dot segments and "//" that nginx normalises into or out of the
# authenticated location never serve the file; token 404s are identical.
#
# Usage: bash tests/integration/nginx.sh   (from the top, after make)
# Environment: SLUICE_BIN (default build/sluice); IT_KEEP=1 keeps the
# scratch directory.
set -u

IT_TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$IT_TOP" || exit 1
. tests/integration/lib.sh

BIN=${SLUICE_BIN:-$IT_TOP/build/sluice}
[ -x "$BIN" ] || { echo "missing $BIN: run make first" >&2; exit 2; }
for c in nginx spawn-fcgi sqlite3 curl sha256sum; do
	command -v "$c" >/dev/null || { echo "missing $c" >&2; exit 2; }
done

# Short path: unix socket paths are limited to 108 bytes.
IT_DIR=$(mktemp -d /tmp/sluice-ngx.XXXXXX)
IT_ROOT=$IT_DIR/export
IT_DOCROOT=$IT_DIR/htdocs
SOCK=$IT_DIR/sluice.sock
LOG=$IT_DIR/sluice.log
NGX_ERR=$IT_DIR/nginx-error.log
AUTHFILE=$IT_DIR/nginx-users
trap 'it_cleanup; [ -n "${IT_KEEP:-}" ] || rm -rf "$IT_DIR"' EXIT
trap 'exit 130' INT TERM

HELLO_SHA=853ff93762a06ddbf722c4ebe9ddd66d8f63ddaea97f521c3ecc20da7c976020
TOK_SHA=a81e611a041b13f078bf8ebe5dab4d4fd63fcc5594661c918bec093a2f416a7e
BIG_SIZE=4194304
STALL_SIZE=67108864

# ---------------------------------------------------------------- fixtures
fixtures_make() {
	mkdir -p "$IT_ROOT/data" "$IT_DOCROOT"
	printf 'hello, world\n' >"$IT_ROOT/hello.txt"
	: >"$IT_ROOT/empty.bin"
	# Bigger than every buffer between sluice and a stalled client.
	truncate -s "$STALL_SIZE" "$IT_ROOT/stall.bin"
	# Many times fastcgi_buffer_size (128k), so the relay loops.
	head -c "$BIG_SIZE" /dev/urandom >"$IT_ROOT/data/4m.bin"
	# Static files for the document root location. secret.txt is what an
	# injected X-Accel-Redirect: /secret.txt would serve.
	printf 'static file\n' >"$IT_DOCROOT/static.txt"
	printf 'secret\n' >"$IT_DOCROOT/secret.txt"
	[ "$(it_sha "$IT_ROOT/hello.txt")" = "$HELLO_SHA" ] || return 1
	sqlite3 "$IT_DIR/jobs.db" <sql/schema.sql || return 1
	sqlite3 "$IT_DIR/jobs.db" <<-EOF || return 1
	INSERT INTO export_jobs (id, status, file_path, file_name,
	    content_type, file_size, sha256, token_sha256, owner) VALUES
	    ('hello', 'done', 'hello.txt', 'hello.txt', 'text/plain', 13,
	     '$HELLO_SHA', NULL, NULL),
	    ('owned', 'done', 'hello.txt', 'hello.txt', 'text/plain', 13,
	     NULL, NULL, 'alice'),
	    ('tok', 'done', 'hello.txt', 'hello.txt', 'text/plain', 13,
	     NULL, '$TOK_SHA', NULL),
	    ('big', 'done', 'data/4m.bin', 'big €.bin', NULL, $BIG_SIZE,
	     '$(it_sha "$IT_ROOT/data/4m.bin")', NULL, NULL),
	    ('empty', 'done', 'empty.bin', 'empty.bin', NULL, 0,
	     NULL, NULL, NULL),
	    ('stall', 'done', 'stall.bin', 'stall.bin', NULL, $STALL_SIZE,
	     NULL, NULL, NULL),
	    ('crlfname', 'done', 'hello.txt',
	     'x' || char(13, 10) || 'X-Accel-Redirect: /secret.txt',
	     'text/plain', 13, NULL, NULL, NULL),
	    ('lfname', 'done', 'hello.txt',
	     'y' || char(10) || 'X-Accel-Redirect: /secret.txt',
	     'text/plain', 13, NULL, NULL, NULL);
	INSERT INTO export_jobs (id, status) VALUES ('pending', 'pending');
	EOF
	# nginx's users file: htpasswd format; {PLAIN} needs no extra package.
	printf 'alice:{PLAIN}alice-pw\nbob:{PLAIN}bob-pw\n' >"$AUTHFILE"
}

# The workers run as www-data (deploy/nginx/sluice.conf), so, as in
# production (deploy/spawn-fcgi/sluice.sh: -G www-data), they get the
# socket and the users file through the group, and may cross $IT_DIR.
# Not root: nginx ignores `user` and its workers are us already.
grant_www_data() {
	chmod 0711 "$IT_DIR"
	chmod 0640 "$AUTHFILE"
	[ "$(id -u)" -eq 0 ] || return 0
	chgrp www-data "$SOCK" "$AUTHFILE"
}

# Start nginx from the shipped config; sets NGINX_PID and BASE. The
# parameter list is copied verbatim beside the config, which includes it
# by a relative path (relative to the config file's directory).
nginx_start() {
	local port
	port=$(it_free_port) || return 1
	cp deploy/nginx/sluice_fastcgi_params "$IT_DIR/" || return 1
	sed -e "s|@PORT@|$port|g" -e "s|@DOCROOT@|$IT_DOCROOT|g" \
	    -e "s|@STATEDIR@|$IT_DIR|g" -e "s|@SOCKET@|$SOCK|g" \
	    -e "s|@AUTHFILE@|$AUTHFILE|g" \
	    deploy/nginx/sluice.conf >"$IT_DIR/nginx.conf" || return 1
	nginx -t -q -p "$IT_DIR/" -c "$IT_DIR/nginx.conf" \
	    -g 'daemon off;' || return 1
	nginx -p "$IT_DIR/" -c "$IT_DIR/nginx.conf" -g 'daemon off;' &
	NGINX_PID=$!
	IT_PIDS+=("$NGINX_PID")
	BASE="http://127.0.0.1:$port"
	it_wait_port "$port"
}

# A free port can be taken by another test run between the probe and the
# bind: then nginx exits at once, and another port is tried.
nginx_up() {
	for _ in 1 2 3 4 5; do
		if nginx_start && sleep 0.3 && it_alive "$NGINX_PID"; then
			return 0
		fi
		it_kill_pid "$NGINX_PID"
	done
	return 1
}

# ------------------------------------------------------------------ helpers
# The last response was not a download: status not 200/206 and no byte of
# the file (hello.txt) in the body.
expect_no_file() {
	if [ "$R_STATUS" != 200 ] && [ "$R_STATUS" != 206 ] &&
	    ! grep -q 'hello, world' "$IT_DIR/b.$R_NAME"; then
		it_ok "$R_NAME: not the file (status $R_STATUS)"
	else
		it_not_ok "$R_NAME: not the file" "status $R_STATUS" \
		    "$(head -c 200 "$IT_DIR/b.$R_NAME")"
	fi
}

# Number of requests sluice has logged.
requests() { grep -c 'event=request ' "$LOG"; }

# Make a request that reaches sluice (an unknown id named $1) and wait
# until sluice has logged it. sluice logs a request before it ends the
# response (FCGX_Finish_r), and curl sent this one after every earlier
# answer was complete, so their lines are all in by then.
sentinel() {
	curl -s -o /dev/null "$BASE/download/sentinel-$1" >/dev/null
	it_wait_grep "$LOG" 5 "id=sentinel-$1 status=404 "
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
	        \"\$(printf '\t\tlisten      127.0.0.1:%s;' '${BASE##*:}')\" ]"
}

# ---------------------------------------------------------------- public
test_public() {
	local f=$IT_ROOT/hello.txt lm etag a b
	lm=$(TZ=UTC LC_ALL=C date -u -r "$f" '+%a, %d %b %Y %H:%M:%S GMT')

	it_get hello /download/hello
	it_expect_status_line 'HTTP/1.1 200 OK'
	it_expect_body_sha_of "$f"
	it_expect_header 'Content-Length: 13'
	it_expect_no_header Transfer-Encoding
	it_expect_header 'Content-Type: text/plain'
	it_expect_header 'Accept-Ranges: bytes'
	it_expect_header_re ETag 'ETag: "[0-9a-f]+-d-[0-9a-f]+\.[0-9a-f]+"'
	it_expect_header "Last-Modified: $lm"
	it_expect_header "Content-Disposition: attachment; filename=\"hello.txt\"; filename*=UTF-8''hello.txt"
	it_expect_header 'X-Content-Type-Options: nosniff'
	it_expect_header 'Cache-Control: private'
	it_expect_header 'Referrer-Policy: no-referrer'
	it_expect_header 'Repr-Digest: sha-256=:hT/5N2Kgbdv3IsTr6d3WbY9j3a6pf1IcPswg2nyXYCA=:'
	# nginx consumes X-Accel-* and never shows them to the client.
	it_expect_no_header X-Accel-Buffering
	it_expect_header 'Server: nginx'
	etag=$(sed -n 's/^ETag: //p' "$IT_DIR/h.hello")
	cp "$IT_DIR/h.hello" "$IT_DIR/h.hello.get"

	# HEAD: the headers a GET gets (Content-Length included), no body.
	it_get head /download/hello -I
	it_expect_status_line 'HTTP/1.1 200 OK'
	it_expect_head_no_body
	it_expect_header 'Content-Length: 13'
	a=$(grep -v '^Date:' "$IT_DIR/h.hello.get")
	b=$(grep -v '^Date:' "$IT_DIR/h.head")
	it_check "head: the same headers as GET" [ "$a" = "$b" ]
	# HEAD of an empty file keeps its Content-Length: 0 (Apache drops it).
	it_get headempty /download/empty -I
	it_expect_status 200
	it_expect_header 'Content-Length: 0'
	it_expect_head_no_body
	it_get empty /download/empty
	it_expect_status_line 'HTTP/1.1 200 OK'
	it_expect_header 'Content-Length: 0'
	it_expect_body_empty

	# One range: sluice's 206 goes through as it is (nginx applies no
	# Range of its own to a FastCGI response).
	it_get range /download/hello -H 'Range: bytes=0-4'
	it_expect_status_line 'HTTP/1.1 206 Partial Content'
	it_expect_header 'Content-Range: bytes 0-4/13'
	it_expect_header 'Content-Length: 5'
	it_expect_body 'hello'
	it_get rangeopen /download/hello -H 'Range: bytes=7-'
	it_expect_status 206
	it_expect_header 'Content-Range: bytes 7-12/13'
	it_expect_body 'world'
	# Several ranges: the whole file, 200 (sluice), not nginx's multipart.
	it_get multirange /download/hello -H 'Range: bytes=0-1,3-4'
	it_expect_status_line 'HTTP/1.1 200 OK'
	it_expect_no_header Content-Range
	it_expect_body_sha_of "$f"
	# HEAD ignores Range.
	it_get headrange /download/hello -I -H 'Range: bytes=0-4'
	it_expect_status 200
	it_expect_header 'Content-Length: 13'
	it_expect_no_header Content-Range

	# No satisfiable range: sluice's 416 and its one-line body.
	it_get r416 /download/hello -H 'Range: bytes=100-'
	it_expect_status_line 'HTTP/1.1 416 Range Not Satisfiable'
	it_expect_header 'Content-Range: bytes */13'
	it_expect_header 'Content-Type: text/plain; charset=utf-8'
	it_expect_header_re Content-Length 'Content-Length: [1-9][0-9]*'
	it_check "r416: body is one line, no file bytes" bash -c \
	    "[ \"\$(wc -l <'$IT_DIR/b.r416')\" = 1 ] &&
	        ! grep -q 'hello, world' '$IT_DIR/b.r416'"

	# Not modified: 304, no body, the validators kept.
	it_get r304 /download/hello -H "If-None-Match: $etag"
	it_expect_status_line 'HTTP/1.1 304 Not Modified'
	it_expect_body_empty
	it_expect_header "ETag: $etag"
	it_expect_no_header Transfer-Encoding
	it_get r304ims /download/hello -H "If-Modified-Since: $lm"
	it_expect_status 304
	it_expect_body_empty
	# Precondition failed: sluice's 412, not an empty one from nginx.
	it_get r412 /download/hello -H 'If-Match: "nope"'
	it_expect_status_line 'HTTP/1.1 412 Precondition Failed'
	it_expect_no_header ETag
	it_check "r412: sluice's one-line body" bash -c \
	    "[ \"\$(wc -l <'$IT_DIR/b.r412')\" = 1 ]"

	# The name segment, and a 4 MiB file relayed through the 128k buffer.
	it_get named '/download/hello/report%20final.csv'
	it_expect_status 200
	it_expect_body_sha_of "$f"
	it_get big /download/big
	it_expect_status_line 'HTTP/1.1 200 OK'
	it_expect_header "Content-Length: $BIG_SIZE"
	it_expect_body_sha_of "$IT_ROOT/data/4m.bin"
	it_expect_header "Content-Disposition: attachment; filename=\"big _.bin\"; filename*=UTF-8''big%20%E2%82%AC.bin"
	it_expect_header 'Content-Type: application/octet-stream'
	it_get bigrange /download/big -H 'Range: bytes=1000000-2999999'
	it_expect_status 206
	it_expect_header "Content-Range: bytes 1000000-2999999/$BIG_SIZE"
	it_expect_header 'Content-Length: 2000000'
	it_expect_eq "bigrange: body = those bytes of the file" \
	    "$(tail -c +1000001 "$IT_ROOT/data/4m.bin" | head -c 2000000 |
	        sha256sum | cut -d' ' -f1)" "$(it_sha "$IT_DIR/b.bigrange")"

	# Other answers through nginx.
	it_get post /download/hello -d 'x=1'
	it_expect_status_line 'HTTP/1.1 405 Method Not Allowed'
	it_expect_header 'Allow: GET, HEAD'
	it_get pending /download/pending
	it_expect_status 409
	it_expect_header_re Retry-After 'Retry-After: [0-9]+'
	# nginx merges "//" to choose the location, but sluice reads the raw
	# REQUEST_URI and refuses the empty segment.
	it_get dslash /download//hello
	it_expect_status 400
	expect_no_file

	# A file name carrying a header: sluice sanitises it, and nginx,
	# which takes CR LF and a bare LF alike as a line end, sees one
	# Content-Disposition and no X-Accel-Redirect (else: secret.txt).
	for n in crlfname lfname; do
		it_get "$n" "/download/$n"
		it_expect_status 200
		it_expect_body_sha_of "$f"
		it_check "$n: one Content-Disposition" \
		    [ "$(grep -ci '^Content-Disposition:' "$IT_DIR/h.$n")" = 1 ]
		it_check "$n: not the docroot's secret" \
		    bash -c "! grep -q secret '$IT_DIR/b.$n'"
	done

	# The static location (the benchmarks' baseline).
	it_get static /static.txt
	it_expect_status 200
	it_expect_body_sha_of "$IT_DOCROOT/static.txt"
	it_expect_header 'Content-Length: 12'
}

# ----------------------------------------------------------------- owner
test_owner() {
	local n
	# The public location: never a REMOTE_USER, whatever the client says.
	it_get own:public /download/owned
	it_expect_status_line 'HTTP/1.1 403 Forbidden'
	it_expect_body 'forbidden'
	expect_no_file
	# A claimed, unverified Basic header: nginx fills $remote_user from
	# it, but the public location must not pass it.
	it_get own:claim /download/owned -u alice:anything
	it_expect_status 403
	expect_no_file
	it_get own:claimright /download/owned -u alice:alice-pw
	it_expect_status 403
	expect_no_file
	it_get own:claimhdr /download/owned -H 'Remote-User: alice'
	it_expect_status 403

	# The authenticated location.
	it_get own:noauth /private/download/owned
	it_expect_status_line 'HTTP/1.1 401 Unauthorized'
	it_expect_header 'WWW-Authenticate: Basic realm="sluice"'
	expect_no_file
	it_get own:alice /private/download/owned/hello.txt -u alice:alice-pw
	it_expect_status_line 'HTTP/1.1 200 OK'
	it_expect_body_sha_of "$IT_ROOT/hello.txt"
	it_expect_header 'Content-Length: 13'
	it_expect_header "Content-Disposition: attachment; filename=\"hello.txt\"; filename*=UTF-8''hello.txt"
	it_check "own:alice: sluice saw user alice" \
	    it_wait_grep "$LOG" 5 'id=owned status=200 .* user="?alice"? path="?/private/download/owned/hello.txt"?$'
	it_get own:alicerange /private/download/owned -u alice:alice-pw \
	    -H 'Range: bytes=7-11'
	it_expect_status 206
	it_expect_body 'world'
	it_get own:bob /private/download/owned -u bob:bob-pw
	it_expect_status_line 'HTTP/1.1 403 Forbidden'
	it_expect_body 'forbidden'
	it_check "own:bob: sluice saw user bob" \
	    it_wait_grep "$LOG" 5 'id=owned status=403 .* user="?bob"?'

	# A wrong password: nginx's 401, and sluice never sees the request.
	n=$(requests)
	it_get own:badpw /private/download/owned -u alice:wrong
	it_expect_status_line 'HTTP/1.1 401 Unauthorized'
	expect_no_file
	it_get own:nouser /private/download/owned -u mallory:alice-pw
	it_expect_status 401
	it_get own:hdronly /private/download/owned -H 'Authorization: Basic !!'
	it_expect_status 401
	sentinel badpw
	it_expect_eq "own:badpw: no request reached sluice (only the sentinel)" \
	    $((n + 1)) "$(requests)"
	it_check "own:badpw: nginx logged the mismatch" \
	    grep -q 'user "alice": password mismatch' "$NGX_ERR"

	# "//": nginx merges it, so the private location (and its password)
	# still applies; sluice refuses the raw "//" anyway.
	it_get own:dslash //private/download/owned
	it_expect_status 401
	# With the password, sluice gets the raw "//private/download/owned",
	# which starts with none of its prefixes: 404 (reason=outside_prefix).
	it_get own:dslashpw //private/download/owned -u alice:alice-pw
	expect_no_file
	it_check "own:dslashpw: 400 or 404 (got $R_STATUS)" \
	    bash -c "[ '$R_STATUS' = 400 -o '$R_STATUS' = 404 ]"
	it_get own:dslash2 /private/download//owned -u alice:alice-pw
	it_expect_status 400
	expect_no_file

	# Dot segments: nginx resolves them to choose the location (and
	# whether to ask for a password), sluice sees the raw REQUEST_URI
	# with them still in it and answers 400.
	# Out of the private location into the public one: no password
	# check, and no REMOTE_USER either.
	it_get own:dots1 /private/download/../../download/owned -u alice:wrong
	expect_no_file
	it_expect_status 400
	it_get own:dots1b /private/download/../../download/owned -u alice:alice-pw
	expect_no_file
	it_expect_status 400
	it_get own:dots1c /private/download/%2e%2e/%2E%2E/download/owned -u alice:wrong
	expect_no_file
	it_expect_status 400
	it_get own:dots1d /private/download/owned/../../../download/owned
	expect_no_file
	it_expect_status 400
	# "/private/download/../download/owned" looks like it leaves, but
	# ".." only drops "download": it is /private/download/owned to nginx,
	# so the password is checked, and the raw ".." is 400 for sluice.
	it_get own:dots1e /private/download/../download/owned -u alice:wrong
	expect_no_file
	it_expect_status 401
	it_get own:dots1f /private/download/../download/owned -u alice:alice-pw
	expect_no_file
	it_expect_status 400
	it_get own:dots1g /private/download/%2e%2e/download/owned -u alice:wrong
	expect_no_file
	it_expect_status 401
	# Into the private location from the public one:
	it_get own:dots2 /download/owned/../../private/download/owned
	expect_no_file
	it_expect_status 401
	it_get own:dots2b /download/owned/../../private/download/owned -u bob:bob-pw
	expect_no_file
	it_expect_status 400
	it_get own:dots2c /download/owned/../../private/download/owned -u alice:alice-pw
	expect_no_file
	it_expect_status 400
	it_get own:dots2d /download/../private/download/owned -u alice:wrong
	expect_no_file
	it_expect_status 401
	# Normalised to the bare prefix, or with a "." segment:
	it_get own:dots3 /private/download/owned/.. -u alice:alice-pw
	expect_no_file
	it_expect_status 400
	it_get own:dots3b /private/download/./owned -u alice:alice-pw
	expect_no_file
	it_expect_status 400
	it_get own:dots3c /private/download/owned/. -u alice:alice-pw
	expect_no_file
	it_expect_status 400
	it_get own:dots3d /private/download/x/../owned -u alice:alice-pw
	expect_no_file
	it_expect_status 400

	sentinel owner
	it_check "owner: the file went out only to alice (2 requests)" \
	    [ "$(grep -Ec 'id=owned status=20[06] ' "$LOG")" -eq 2 ]
	it_expect_eq "owner: every 200/206 for owned was alice's" \
	    "$(grep -Ec 'id=owned status=20[06] ' "$LOG")" \
	    "$(grep -Ec 'id=owned status=20[06] .* user="alice" ' "$LOG")"
}

# ---------------------------------------------------------------- tokens
test_tokens() {
	local t name want
	it_get tokok '/download/tok?token=s3cret-token'
	it_expect_status_line 'HTTP/1.1 200 OK'
	it_expect_body_sha_of "$IT_ROOT/hello.txt"
	it_expect_header 'Content-Length: 13'
	it_get tokunknown /download/no-such-job
	it_expect_status_line 'HTTP/1.1 404 Not Found'
	it_expect_header 'Content-Type: text/plain; charset=utf-8'
	it_check "tokunknown: a short one-line body" bash -c \
	    "[ \"\$(wc -l <'$IT_DIR/b.tokunknown')\" = 1 ]"
	want=$(it_dump tokunknown)
	for t in '?token=guess' '?token=' '?token=s3cret-tok' \
	    '?token=S3CRET-TOKEN' '?token=s3cret-token%20' '' '?tok=s3cret-token'; do
		name="tok:${t:-none}"
		it_get "$name" "/download/tok$t"
		it_expect_status 404
		it_check "$name: the same bytes as an unknown id" \
		    [ "$(it_dump "$name")" = "$want" ]
	done
	# The token in the private location works the same way.
	it_get tokpriv '/private/download/tok?token=s3cret-token' -u bob:bob-pw
	it_expect_status 200
	it_expect_body_sha_of "$IT_ROOT/hello.txt"
	it_get tokprivbad '/private/download/tok?token=nope' -u bob:bob-pw
	it_expect_status 404
	it_check "tokprivbad: the same bytes as an unknown id" \
	    [ "$(it_dump tokprivbad)" = "$want" ]
	sentinel tokens
	it_check "tokens: no token reaches sluice's log" \
	    bash -c "! grep -Eq 's3cret|guess|token=' '$LOG'"
}

# ---------------------------------------------------------- back-pressure
# A client that reads the status line and then nothing: with buffering off,
# nginx holds at most fastcgi_buffer_size, so sluice cannot finish 64 MiB.
# With buffering on, nginx would drain sluice into a temp file at once.
test_backpressure() {
	local line
	if ! exec 3<>"/dev/tcp/127.0.0.1/${BASE##*:}"; then
		it_not_ok "stall: connect"
		return
	fi
	printf 'GET /download/stall HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
	IFS= read -r -t 5 line <&3
	it_expect_eq "stall: the response has begun" 'HTTP/1.1 200 OK' "${line%$'\r'}"
	sleep 2
	it_check "stall: after 2 s sluice is still sending (nginx buffers nothing)" \
	    bash -c "! grep -q 'id=stall ' '$LOG'"
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
grant_www_data || { echo "could not grant www-data access" >&2; exit 1; }
nginx_up || { echo "nginx did not start" >&2; cat "$NGX_ERR" >&2; exit 1; }
echo "# nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') $BASE, sluice pid $SLUICE_PID"
test_config
test_public
test_owner
test_tokens
test_backpressure
test_nginx_log
it_check "sluice: no sanitizer report in its log" \
    bash -c "! grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer' '$LOG'"

echo "nginx: $IT_PASS passed, $IT_FAIL failed"
[ "$IT_FAIL" -eq 0 ]
