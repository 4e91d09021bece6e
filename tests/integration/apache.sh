#!/usr/bin/env bash
# Integration tests behind Apache httpd: real Apache on 127.0.0.1 started
# from deploy/apache/sluice.conf (mod_proxy_fcgi; only paths and the port
# filled in), sluice launched by spawn-fcgi, a jobs database seeded here;
# then deploy/apache/sluice-fcgid.conf, where mod_fcgid starts sluice
# itself with --workers 0.
#
# What it pins: downloads arrive byte-exact with sluice's headers and
# Content-Length intact (not chunked: ap_trust_cgilike_cl); sluice's own
# 206/304/412/416/405 answers go through; REMOTE_USER reaches sluice only
# from the authenticated location; a wrong password never reaches sluice;
# dot segments and "//" that Apache normalises into or out of that location
# never serve the file; token 404s are identical; a client abort is logged
# as aborted:client and sluice keeps serving; a response sluice cuts short
# reaches the client as truncated within KeepAliveTimeout (at once under
# mod_fcgid); and what Apache does to the HEAD of an empty file.
#
# Usage: bash tests/integration/apache.sh   (from the top, after make)
# Needs: apache2 (apache2-bin), apache2-utils (htpasswd),
# libapache2-mod-fcgid, spawn-fcgi, libfcgi-bin (cgi-fcgi), sqlite3, curl.
# Environment: SLUICE_BIN (default build/sluice); IT_KEEP=1 keeps the
# scratch directory.
set -u

IT_TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$IT_TOP" || exit 1
. tests/integration/lib.sh

BIN=${SLUICE_BIN:-$IT_TOP/build/sluice}
[ -x "$BIN" ] || { echo "missing $BIN: run make first" >&2; exit 2; }
APACHE=$(command -v apache2 || echo /usr/sbin/apache2)
[ -x "$APACHE" ] || { echo "missing apache2" >&2; exit 2; }
for c in htpasswd spawn-fcgi cgi-fcgi sqlite3 curl sha256sum; do
	command -v "$c" >/dev/null || { echo "missing $c" >&2; exit 2; }
done
for m in mod_proxy_fcgi mod_fcgid; do
	[ -e "/usr/lib/apache2/modules/$m.so" ] ||
	    { echo "missing /usr/lib/apache2/modules/$m.so" >&2; exit 2; }
done

# Short path: unix socket paths are limited to 108 bytes.
IT_DIR=$(mktemp -d /tmp/sluice-apx.XXXXXX)
IT_ROOT=$IT_DIR/export
IT_DOCROOT=$IT_DIR/htdocs
SOCK=$IT_DIR/sluice.sock
LOG=$IT_DIR/sluice.log
AP_ERR=$IT_DIR/apache-error.log
AP_ACCESS=$IT_DIR/apache-access.log
AUTHFILE=$IT_DIR/apache-users
# The mod_fcgid Apache keeps its state apart; sluice writes under sluice/.
FC_DIR=$IT_DIR/fcgid-apache
FC_LOG=$FC_DIR/sluice/sluice.log
trap 'it_cleanup; [ -n "${IT_KEEP:-}" ] || rm -rf "$IT_DIR"' EXIT
trap 'exit 130' INT TERM

HELLO_SHA=853ff93762a06ddbf722c4ebe9ddd66d8f63ddaea97f521c3ecc20da7c976020
TOK_SHA=a81e611a041b13f078bf8ebe5dab4d4fd63fcc5594661c918bec093a2f416a7e
BIG_SIZE=52428800
SHRINK_SIZE=41943040

# ---------------------------------------------------------------- fixtures
fixtures_make() {
	mkdir -p "$IT_ROOT/data" "$IT_DOCROOT" || return 1
	printf 'hello, world\n' >"$IT_ROOT/hello.txt"
	: >"$IT_ROOT/empty.bin"
	# 50 MB: many times every buffer between sluice and the client, so a
	# client that stops reading holds sluice mid-body.
	head -c "$BIG_SIZE" /dev/urandom >"$IT_ROOT/data/big.bin"
	# Cut short while it is being sent (test_truncation).
	truncate -s "$SHRINK_SIZE" "$IT_ROOT/shrink.bin"
	# Static files for the document root. secret.txt is what an injected
	# "Location: /secret.txt" would serve: Apache turns a 200 response
	# with a local Location into an internal redirect.
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
	    ('empty', 'done', 'empty.bin', 'empty.bin', NULL, 0,
	     NULL, NULL, NULL),
	    ('big', 'done', 'data/big.bin', 'big €.bin', NULL, $BIG_SIZE,
	     '$(it_sha "$IT_ROOT/data/big.bin")', NULL, NULL),
	    ('shrink', 'done', 'shrink.bin', 'shrink.bin', NULL, $SHRINK_SIZE,
	     NULL, NULL, NULL),
	    ('crlfname', 'done', 'hello.txt',
	     'x' || char(13, 10) || 'Location: /secret.txt',
	     'text/plain', 13, NULL, NULL, NULL),
	    ('lfname', 'done', 'hello.txt',
	     'y' || char(10) || 'Location: /secret.txt',
	     'text/plain', 13, NULL, NULL, NULL);
	INSERT INTO export_jobs (id, status) VALUES ('pending', 'pending');
	EOF
	# Apache's users file: htpasswd with bcrypt hashes (Apache takes
	# plain-text passwords only on some platforms, not on Linux).
	htpasswd -c -b -B "$AUTHFILE" alice alice-pw 2>/dev/null &&
	    htpasswd -b -B "$AUTHFILE" bob bob-pw 2>/dev/null
}

# The children run as www-data (User/Group in the configs), so, as in
# production (deploy/spawn-fcgi/sluice.sh: -G www-data), they get the socket
# and the users file through the group, and may cross $IT_DIR. Under
# mod_fcgid sluice itself runs as www-data and writes under $FC_DIR/sluice.
# Not root: Apache ignores User/Group and everything runs as us already.
grant_www_data() {
	chmod 0711 "$IT_DIR"
	# The build tree may be unreadable to www-data (a clone in a 0700
	# directory): mod_fcgid runs a copy from the test directory.
	install -m 0755 "$BIN" "$IT_DIR/sluice-fcgid-bin" || return 1
	chmod 0640 "$AUTHFILE"
	mkdir -p "$FC_DIR/sluice" && chmod 0711 "$FC_DIR" || return 1
	[ "$(id -u)" -eq 0 ] || return 0
	chgrp www-data "$SOCK" "$AUTHFILE" &&
	    chown www-data:www-data "$FC_DIR/sluice"
}

# Fill in a deploy config: apache_conf SRC DEST PORT STATEDIR
apache_conf() {
	sed -e "s|@PORT@|$3|g" -e "s|@DOCROOT@|$IT_DOCROOT|g" \
	    -e "s|@STATEDIR@|$4|g" -e "s|@SOCKET@|$SOCK|g" \
	    -e "s|@AUTHFILE@|$AUTHFILE|g" \
	    -e "s|@SLUICE@|$IT_DIR/sluice-fcgid-bin|g" \
	    -e "s|@DB@|$IT_DIR/jobs.db|g" -e "s|@ROOT@|$IT_ROOT|g" \
	    "$1" >"$2"
}

# Start Apache in the foreground from a filled-in config; a free port can
# be taken by another test run between the probe and the bind: then Apache
# exits at once, and another port is tried.
# usage: apache_up SRC NAME STATEDIR   (sets AP_PID and AP_BASE)
apache_up() {
	local src=$1 conf=$IT_DIR/$2.conf dir=$3 port
	for _ in 1 2 3 4 5; do
		port=$(it_free_port) || return 1
		apache_conf "$src" "$conf" "$port" "$dir" || return 1
		"$APACHE" -t -f "$conf" 2>/dev/null || {
			"$APACHE" -t -f "$conf"
			return 1
		}
		"$APACHE" -f "$conf" -DFOREGROUND &
		AP_PID=$!
		IT_PIDS+=("$AP_PID")
		AP_BASE="http://127.0.0.1:$port"
		if it_wait_port "$port" && sleep 0.3 && it_alive "$AP_PID"; then
			return 0
		fi
		it_kill_pid "$AP_PID"
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

# The last response's body is one line (sluice's error bodies).
expect_one_line() {
	it_check "$R_NAME: sluice's one-line body, no file bytes" bash -c \
	    "[ \"\$(wc -l <'$IT_DIR/b.$R_NAME')\" = 1 ] &&
	        ! grep -q 'hello, world' '$IT_DIR/b.$R_NAME'"
}

# Number of requests sluice has logged.
requests() { grep -c 'event=request ' "$LOG"; }

# Make a request that reaches sluice (an unknown id named $1) and wait
# until sluice has logged it; curl sent it after every earlier answer was
# complete, so their log lines are all in by then.
sentinel() {
	curl -s -o /dev/null "$BASE/download/sentinel-$1" >/dev/null
	it_wait_grep "$LOG" 5 "id=sentinel-$1 status=404 "
}

# ----------------------------------------------------------- the config
test_config() {
	local c n
	for c in sluice sluice-fcgid; do
		it_check "config $c: every @PLACEHOLDER@ filled in" \
		    bash -c "! grep -v '^[[:space:]]*#' '$IT_DIR/$c.conf' |
		        grep -q '@[A-Z]*@'"
		it_check "config $c: Listen on 127.0.0.1 only" \
		    bash -c "[ \"\$(grep -Ei '^[[:space:]]*Listen[[:space:]]' \
		        deploy/apache/$c.conf)\" = 'Listen 127.0.0.1:@PORT@' ]"
		n=$(grep -Ec '^[[:space:]]*SetEnv[[:space:]]+ap_trust_cgilike_cl[[:space:]]+1$' \
		    "deploy/apache/$c.conf")
		it_expect_eq "config $c: ap_trust_cgilike_cl in both locations" 2 "$n"
		it_check "config $c: nothing sets REMOTE_USER but authentication" \
		    bash -c "! grep -v '^[[:space:]]*#' deploy/apache/$c.conf |
		        grep -qi 'REMOTE_USER'"
		it_check "config $c: the access log leaves out the query (tokens)" \
		    bash -c "grep -Eq '^LogFormat .*%U' deploy/apache/$c.conf &&
		        ! grep -E '^LogFormat' deploy/apache/$c.conf | grep -Eq '%(r|q)'"
		it_check "config $c: KeepAliveTimeout is short (<= 5 s)" \
		    bash -c "grep -Eq '^KeepAliveTimeout [1-5]$' deploy/apache/$c.conf"
		it_check "config $c: CGIPassAuth never on (no password to sluice)" \
		    bash -c "! grep -Eqi '^[[:space:]]*CGIPassAuth[[:space:]]+on' \
		        deploy/apache/$c.conf"
	done
	it_expect_eq "config sluice: both locations proxy to the one worker" \
	    2 "$(grep -Fxc "	ProxyPass \"unix:$SOCK|fcgi://sluice/\"" \
	        "$IT_DIR/sluice.conf")"
}

# ---------------------------------------------------------------- public
test_public() {
	local f=$IT_ROOT/hello.txt lm etag a b n
	lm=$(TZ=UTC LC_ALL=C date -u -r "$f" '+%a, %d %b %Y %H:%M:%S GMT')

	it_get hello /download/hello
	it_expect_status_line 'HTTP/1.1 200 OK'
	it_expect_body_sha_of "$f"
	# ap_trust_cgilike_cl: sluice's Content-Length, not chunked.
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
	# Apache passes nginx's header through (and ignores it).
	it_expect_header 'X-Accel-Buffering: no'
	# ServerTokens Prod.
	it_expect_header 'Server: Apache'
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
	# HEAD ignores Range.
	it_get headrange /download/hello -I -H 'Range: bytes=0-4'
	it_expect_status 200
	it_expect_header 'Content-Length: 13'
	it_expect_no_header Content-Range

	# The empty file. GET keeps its Content-Length: 0. HEAD: sluice sends
	# Content-Length: 0 (asked directly on its socket), and Apache drops
	# it on the way out: the client sees a 200 with no length at all.
	it_get empty /download/empty
	it_expect_status_line 'HTTP/1.1 200 OK'
	it_expect_header 'Content-Length: 0'
	it_expect_no_header Transfer-Encoding
	it_expect_body_empty
	it_check "headempty: sluice itself sends Content-Length: 0" bash -c \
	    "env -i REQUEST_METHOD=HEAD REQUEST_URI=/download/empty \
	        cgi-fcgi -bind -connect '$SOCK' | tr -d '\r' |
	        grep -qx 'Content-Length: 0'"
	it_get headempty /download/empty -I
	it_expect_status_line 'HTTP/1.1 200 OK'
	it_expect_head_no_body
	it_expect_header 'Content-Type: application/octet-stream'
	# Apache 2.4.71 behaviour, pinned so that a change shows up here.
	it_expect_no_header Content-Length
	it_expect_no_header Transfer-Encoding

	# One range: sluice's 206 goes through as it is (Apache applies no
	# Range of its own to a FastCGI response).
	it_get range /download/hello -H 'Range: bytes=0-4'
	it_expect_status_line 'HTTP/1.1 206 Partial Content'
	it_expect_header 'Content-Range: bytes 0-4/13'
	it_expect_header 'Content-Length: 5'
	it_expect_no_header Transfer-Encoding
	it_expect_body 'hello'
	it_get rangeopen /download/hello -H 'Range: bytes=7-'
	it_expect_status 206
	it_expect_header 'Content-Range: bytes 7-12/13'
	it_expect_body 'world'
	# Several ranges: the whole file, 200 (sluice), never multipart.
	it_get multirange /download/hello -H 'Range: bytes=0-1,3-4'
	it_expect_status_line 'HTTP/1.1 200 OK'
	it_expect_no_header Content-Range
	it_expect_body_sha_of "$f"

	# No satisfiable range: sluice's 416 and its one-line body.
	it_get r416 /download/hello -H 'Range: bytes=100-'
	it_expect_status_line 'HTTP/1.1 416 Range Not Satisfiable'
	it_expect_header 'Content-Range: bytes */13'
	it_expect_header 'Content-Type: text/plain; charset=utf-8'
	it_expect_header "Content-Length: $(stat -c %s "$IT_DIR/b.r416")"
	it_expect_body 'range not satisfiable'

	# Not modified: sluice's 304 (it always sends a Status: line, so
	# Apache does not evaluate the conditionals itself), no body, the
	# validators and sluice's headers kept.
	it_get r304 /download/hello -H "If-None-Match: $etag"
	it_expect_status_line 'HTTP/1.1 304 Not Modified'
	it_expect_body_empty
	it_expect_header "ETag: $etag"
	it_expect_header "Last-Modified: $lm"
	it_expect_header 'Cache-Control: private'
	it_expect_no_header Transfer-Encoding
	it_expect_no_header Content-Length
	it_get r304ims /download/hello -H "If-Modified-Since: $lm"
	it_expect_status_line 'HTTP/1.1 304 Not Modified'
	it_expect_body_empty
	# A stale validator: the file.
	it_get r200inm /download/hello -H 'If-None-Match: "other"'
	it_expect_status 200
	it_expect_body_sha_of "$f"
	# Precondition failed: sluice's 412 with its body, not Apache's
	# empty one.
	it_get r412 /download/hello -H 'If-Match: "nope"'
	it_expect_status_line 'HTTP/1.1 412 Precondition Failed'
	it_expect_no_header ETag
	it_expect_header 'Content-Type: text/plain; charset=utf-8'
	it_expect_body 'precondition failed'
	it_get r412ius /download/hello \
	    -H 'If-Unmodified-Since: Thu, 01 Jan 1998 00:00:00 GMT'
	it_expect_status 412
	sentinel conditionals
	it_check "conditionals: sluice answered the 304, 412 and 416 itself" \
	    bash -c "grep -q 'id=hello status=304 ' '$LOG' &&
	        grep -q 'id=hello status=412 ' '$LOG' &&
	        grep -q 'id=hello status=416 ' '$LOG'"

	# Methods: sluice's 405 and its Allow header.
	it_get post /download/hello -d 'x=1'
	it_expect_status_line 'HTTP/1.1 405 Method Not Allowed'
	it_expect_header 'Allow: GET, HEAD'
	it_expect_body 'method not allowed'
	it_get delete /download/hello -X DELETE
	it_expect_status 405
	it_expect_header 'Allow: GET, HEAD'

	# The name segment, and 50 MB relayed whole.
	it_get named '/download/hello/report%20final.csv'
	it_expect_status 200
	it_expect_body_sha_of "$f"
	it_get big /download/big
	it_expect_status_line 'HTTP/1.1 200 OK'
	it_expect_header "Content-Length: $BIG_SIZE"
	it_expect_no_header Transfer-Encoding
	it_expect_body_sha_of "$IT_ROOT/data/big.bin"
	it_expect_header "Content-Disposition: attachment; filename=\"big _.bin\"; filename*=UTF-8''big%20%E2%82%AC.bin"
	it_expect_header 'Content-Type: application/octet-stream'
	it_get bigrange /download/big -H 'Range: bytes=1000000-2999999'
	it_expect_status 206
	it_expect_header "Content-Range: bytes 1000000-2999999/$BIG_SIZE"
	it_expect_header 'Content-Length: 2000000'
	it_expect_eq "bigrange: body = those bytes of the file" \
	    "$(tail -c +1000001 "$IT_ROOT/data/big.bin" | head -c 2000000 |
	        sha256sum | cut -d' ' -f1)" "$(it_sha "$IT_DIR/b.bigrange")"

	# Other answers through Apache.
	it_get pending /download/pending
	it_expect_status_line 'HTTP/1.1 409 Conflict'
	it_expect_header_re Retry-After 'Retry-After: [0-9]+'
	# Apache merges "//" to choose the location, but sluice reads the raw
	# REQUEST_URI and refuses the empty segment.
	it_get dslash /download//hello
	it_expect_status 400
	expect_no_file

	# Sizes: sluice's own 400 for a REQUEST_URI over 4096 bytes and an
	# If-None-Match over 1024; Apache's 400 for a header line over 8190.
	it_get longuri "/download/hello/$(printf '%05000d' 0)"
	it_expect_status 400
	it_expect_body 'bad request'
	it_get longinm /download/hello -H "If-None-Match: \"$(printf '%02000d' 0)\""
	it_expect_status 400
	it_expect_body 'bad request'
	it_get hugehdr /download/hello -H "X-Big: $(printf '%09000d' 0)"
	it_expect_status 400
	expect_no_file
	it_check "hugehdr: refused by Apache, before sluice" \
	    bash -c "! grep -q '<html' '$IT_DIR/b.longuri' &&
	        grep -qi '<html' '$IT_DIR/b.hugehdr'"

	# A file name carrying a header: sluice sanitises it. Apache takes
	# CR LF and a bare LF alike as a line end and turns a 200 with a local
	# "Location:" into an internal redirect: one Content-Disposition, no
	# Location, and never the docroot's secret.txt.
	for n in crlfname lfname; do
		it_get "$n" "/download/$n"
		it_expect_status 200
		it_expect_body_sha_of "$f"
		it_expect_no_header Location
		it_check "$n: one Content-Disposition" \
		    [ "$(grep -ci '^Content-Disposition:' "$IT_DIR/h.$n")" = 1 ]
	done

	# The static document root.
	it_get static /static.txt
	it_expect_status 200
	it_expect_body_sha_of "$IT_DOCROOT/static.txt"
}

# ----------------------------------------------------------------- owner
test_owner() {
	local n
	# The public location: no authentication, so never a REMOTE_USER,
	# whatever the client says.
	it_get own:public /download/owned
	it_expect_status_line 'HTTP/1.1 403 Forbidden'
	it_expect_body 'forbidden'
	expect_no_file
	it_get own:claim /download/owned -u alice:anything
	it_expect_status 403
	expect_no_file
	it_get own:claimright /download/owned -u alice:alice-pw
	it_expect_status 403
	expect_no_file
	it_get own:claimhdr /download/owned -H 'Remote-User: alice'
	it_expect_status 403
	sentinel claims
	it_expect_eq "own:claim: sluice saw no user for any of the 4 claims" \
	    4 "$(grep -c 'id=owned status=403 .* user="" path="/download/owned"$' "$LOG")"

	# The authenticated location.
	it_get own:noauth /private/download/owned
	it_expect_status_line 'HTTP/1.1 401 Unauthorized'
	it_expect_header 'WWW-Authenticate: Basic realm="sluice"'
	expect_no_file
	it_get own:alice /private/download/owned/hello.txt -u alice:alice-pw
	it_expect_status_line 'HTTP/1.1 200 OK'
	it_expect_body_sha_of "$IT_ROOT/hello.txt"
	it_expect_header 'Content-Length: 13'
	it_expect_no_header Transfer-Encoding
	it_expect_header "Content-Disposition: attachment; filename=\"hello.txt\"; filename*=UTF-8''hello.txt"
	it_check "own:alice: sluice saw user alice" \
	    it_wait_grep "$LOG" 5 'id=owned status=200 .* user="alice" path="/private/download/owned/hello.txt"$'
	it_get own:alicerange /private/download/owned -u alice:alice-pw \
	    -H 'Range: bytes=7-11'
	it_expect_status 206
	it_expect_body 'world'
	it_get own:bob /private/download/owned -u bob:bob-pw
	it_expect_status_line 'HTTP/1.1 403 Forbidden'
	it_expect_body 'forbidden'
	it_check "own:bob: sluice saw user bob" \
	    it_wait_grep "$LOG" 5 'id=owned status=403 .* user="bob"'

	# A wrong password: Apache's 401, and sluice never sees the request.
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
	it_check "own:badpw: Apache logged the mismatch" \
	    grep -q 'user alice: authentication failure for "/private/download/owned": Password Mismatch' "$AP_ERR"

	# "//": Apache merges it (MergeSlashes On), so the private location
	# (and its password) still applies; sluice refuses the raw "//".
	it_get own:dslash //private/download/owned
	it_expect_status 401
	# With the password, sluice gets the raw "//private/download/owned",
	# which starts with none of its prefixes: 404 (or 400).
	it_get own:dslashpw //private/download/owned -u alice:alice-pw
	expect_no_file
	it_check "own:dslashpw: 400 or 404 (got $R_STATUS)" \
	    bash -c "[ '$R_STATUS' = 400 -o '$R_STATUS' = 404 ]"
	it_get own:dslash2 /private/download//owned -u alice:alice-pw
	it_expect_status 400
	expect_no_file

	# Dot segments (also percent-encoded): Apache resolves them to choose
	# the location (and whether to ask for a password); sluice sees the
	# raw REQUEST_URI with them still in it and answers 400.
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
	# ".." only drops "download": still /private/download/owned to
	# Apache, so the password is checked, and the raw ".." is 400.
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
	it_get own:dots2d /download/%2e%2e/private/download/owned -u alice:alice-pw
	expect_no_file
	it_expect_status 400
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
	# Encoded slashes: Apache's own 404 (AllowEncodedSlashes Off).
	it_get own:encslash /private%2fdownload/owned -u alice:alice-pw
	expect_no_file
	it_expect_status 404

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
	expect_one_line
	want=$(it_dump tokunknown)
	for t in '?token=guess' '?token=' '?token=s3cret-tok' \
	    '?token=S3CRET-TOKEN' '?token=s3cret-token%20' '' '?tok=s3cret-token'; do
		name="tok:${t:-none}"
		it_get "$name" "/download/tok$t"
		it_expect_status 404
		it_check "$name: the same bytes as an unknown id" \
		    [ "$(it_dump "$name")" = "$want" ]
	done
	it_get tokpriv '/private/download/tok?token=s3cret-token' -u bob:bob-pw
	it_expect_status 200
	it_expect_body_sha_of "$IT_ROOT/hello.txt"
	it_get tokprivbad '/private/download/tok?token=nope' -u bob:bob-pw
	it_expect_status 404
	it_check "tokprivbad: the same bytes as an unknown id" \
	    [ "$(it_dump tokprivbad)" = "$want" ]
	sentinel tokens
	it_check "tokens: no token in sluice's log" \
	    bash -c "! grep -Eq 's3cret|guess|token=' '$LOG'"
	it_check "tokens: no token in Apache's access log" \
	    bash -c "grep -q ' \"GET /download/tok HTTP/1.1\" 200 ' '$AP_ACCESS' &&
	        ! grep -Eq 's3cret|guess|token=' '$AP_ACCESS'"
}

# ---------------------------------------------------------- client abort
# A client that reads the status line, stalls, then goes away in the
# middle of 50 MB. Apache never spools a response to disk, so sluice is
# still sending after 2 s (held back by the socket buffers); when the
# client goes, Apache drops its connection to sluice, which logs
# aborted:client, and the pool keeps serving with the same workers.
test_client_abort() {
	local line before after n
	before=$(it_workers "$SLUICE_PID" | tr '\n' ' ')
	n=$(grep -c 'id=big ' "$LOG")
	if ! exec 3<>"/dev/tcp/127.0.0.1/${BASE##*:}"; then
		it_not_ok "abort: connect"
		return
	fi
	printf 'GET /download/big HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
	IFS= read -r -t 5 line <&3
	it_expect_eq "abort: the response has begun" 'HTTP/1.1 200 OK' "${line%$'\r'}"
	sleep 2
	it_check "abort: after 2 s sluice is still sending (Apache spools nothing)" \
	    [ "$(grep -c 'id=big ' "$LOG")" = "$n" ]
	exec 3<&-
	it_check "abort: sluice logs the download as aborted:client" \
	    it_wait_grep "$LOG" 10 'id=big status=200 .*outcome=aborted:client '
	it_get afterabort /download/hello
	it_expect_status_line 'HTTP/1.1 200 OK'
	it_expect_body_sha_of "$IT_ROOT/hello.txt"
	it_check "abort: the supervisor is alive" it_alive "$SLUICE_PID"
	after=$(it_workers "$SLUICE_PID" | tr '\n' ' ')
	it_expect_eq "abort: the same workers serve (none died)" "$before" "$after"
}

# ------------------------------------------------------ Apache's error log
# Before test_truncation, which makes proxy_fcgi errors on purpose.
test_apache_log() {
	local bad
	bad=$(grep -E '\[(proxy|proxy_fcgi|http|core):(error|crit|alert|emerg)\]|AH01068|AH01070|AH00526' \
	    "$AP_ERR")
	if [ -z "$bad" ]; then
		it_ok "apache: no proxy or header errors in its error log"
	else
		it_not_ok "apache: no proxy or header errors in its error log" \
		    "$(printf '%s\n' "$bad" | head -n 5)"
	fi
}

# ------------------------------------------------------------ truncation
# The file shrinks while it is being sent: sluice stops (never pads) and
# ends the FastCGI request without END_REQUEST. The client must see a
# truncated download, not a complete one; with Apache it sees so only when
# KeepAliveTimeout expires (mod_proxy_fcgi holds the connection until
# then).
test_truncation() {
	local kat rc cutter t0 t1 ms got sent
	kat=$(sed -n 's/^KeepAliveTimeout[[:space:]]*//p' "$IT_DIR/sluice.conf")
	rm -f "$IT_DIR/b.shrink"
	# Cut the file once the client has 2 MB of it.
	(for _ in $(seq 1 100); do
		[ "$(stat -c %s "$IT_DIR/b.shrink" 2>/dev/null || echo 0)" -ge 2097152 ] &&
		    break
		sleep 0.05
	done
	truncate -s 1M "$IT_ROOT/shrink.bin") &
	cutter=$!
	t0=$(date +%s%N)
	curl -sS --max-time 20 --limit-rate 20M -D "$IT_DIR/h.raw" \
	    -o "$IT_DIR/b.shrink" "$BASE/download/shrink" 2>/dev/null
	rc=$?
	t1=$(date +%s%N)
	wait "$cutter"
	tr -d '\r' <"$IT_DIR/h.raw" >"$IT_DIR/h.shrink"
	R_NAME=shrink
	it_expect_header "Content-Length: $SHRINK_SIZE"
	it_expect_no_header Transfer-Encoding
	it_check "truncation: curl sees a partial transfer (exit $rc)" \
	    [ "$rc" -eq 18 ]
	got=$(stat -c %s "$IT_DIR/b.shrink")
	it_check "truncation: fewer bytes than Content-Length arrived ($got)" \
	    [ "$got" -lt "$SHRINK_SIZE" ]
	it_check "truncation: logged as error:short_read" \
	    it_wait_grep "$LOG" 10 'id=shrink status=200 .*outcome=error:short_read'
	sent=$(sed -n 's/.*id=shrink status=200 .* bytes=\([0-9]*\) .*/\1/p' "$LOG")
	it_expect_eq "truncation: the client got exactly what sluice sent (no padding)" \
	    "$sent" "$got"
	ms=$(((t1 - t0) / 1000000))
	it_log "     the client saw the truncation after ${ms} ms (KeepAliveTimeout ${kat} s)"
	it_check "truncation: seen within KeepAliveTimeout + 3 s (${ms} ms)" \
	    [ "$ms" -lt $(((kat + 3) * 1000)) ]
	it_check "truncation: Apache logs the aborted FastCGI response" \
	    grep -q 'AH01075: Error dispatching request' "$AP_ERR"
	it_get aftershrink /download/hello
	it_expect_status 200
}

# -------------------------------------------------------------- mod_fcgid
# Wait up to 5 s until none of the pids is running.
fcgid_gone() {
	local p
	for _ in $(seq 1 50); do
		for p in "$@"; do it_alive "$p" && break; done
		it_alive "$p" || return 0
		sleep 0.1
	done
	return 1
}

fcgid_truncation() {
	local rc cutter t0 t1 ms got
	truncate -s 0 "$IT_ROOT/shrink.bin"
	truncate -s "$SHRINK_SIZE" "$IT_ROOT/shrink.bin"
	rm -f "$IT_DIR/b.fc:shrink"
	(for _ in $(seq 1 100); do
		[ "$(stat -c %s "$IT_DIR/b.fc:shrink" 2>/dev/null || echo 0)" -ge 2097152 ] &&
		    break
		sleep 0.05
	done
	truncate -s 1M "$IT_ROOT/shrink.bin") &
	cutter=$!
	t0=$(date +%s%N)
	curl -sS --max-time 20 --limit-rate 20M -o "$IT_DIR/b.fc:shrink" \
	    "$BASE/download/shrink" 2>/dev/null
	rc=$?
	t1=$(date +%s%N)
	wait "$cutter"
	it_check "fc:shrink: curl sees a partial transfer (exit $rc)" \
	    [ "$rc" -eq 18 ]
	got=$(stat -c %s "$IT_DIR/b.fc:shrink")
	it_check "fc:shrink: fewer bytes than Content-Length arrived ($got)" \
	    [ "$got" -lt "$SHRINK_SIZE" ]
	it_check "fc:shrink: logged as error:short_read" \
	    it_wait_grep "$FC_LOG" 10 'id=shrink status=200 .*outcome=error:short_read'
	ms=$(((t1 - t0) / 1000000))
	it_log "     mod_fcgid: the client saw the truncation after ${ms} ms"
	it_check "fc:shrink: seen without a KeepAliveTimeout wait (${ms} ms < 2500)" \
	    [ "$ms" -lt 2500 ]
}

# Apache starts sluice itself (sluice-fcgid.conf): fd 0 is mod_fcgid's
# socket, the settings come from FcgidInitialEnv, --workers 0.
test_fcgid() {
	local pids p u
	if ! apache_up deploy/apache/sluice-fcgid.conf sluice-fcgid "$FC_DIR"; then
		it_not_ok "fcgid: Apache starts" "$(tail -n 5 "$FC_DIR/apache-error.log" 2>/dev/null)"
		return
	fi
	FC_PID=$AP_PID
	BASE=$AP_BASE
	echo "# mod_fcgid: $BASE, Apache pid $FC_PID"
	it_get fc:hello /download/hello
	it_expect_status_line 'HTTP/1.1 200 OK'
	it_expect_body_sha_of "$IT_ROOT/hello.txt"
	it_expect_header 'Content-Length: 13'
	it_expect_no_header Transfer-Encoding
	it_expect_header "Content-Disposition: attachment; filename=\"hello.txt\"; filename*=UTF-8''hello.txt"
	it_expect_header 'Repr-Digest: sha-256=:hT/5N2Kgbdv3IsTr6d3WbY9j3a6pf1IcPswg2nyXYCA=:'
	it_get fc:head /download/hello -I
	it_expect_status 200
	it_expect_header 'Content-Length: 13'
	it_expect_head_no_body
	# The same as mod_proxy_fcgi: Content-Length: 0 dropped from HEAD.
	it_get fc:headempty /download/empty -I
	it_expect_status 200
	it_expect_no_header Content-Length
	it_get fc:range /download/hello -H 'Range: bytes=7-11'
	it_expect_status_line 'HTTP/1.1 206 Partial Content'
	it_expect_body 'world'
	it_get fc:big /download/big
	it_expect_status 200
	it_expect_header "Content-Length: $BIG_SIZE"
	it_expect_body_sha_of "$IT_ROOT/data/big.bin"
	it_get fc:owned /download/owned -u alice:alice-pw
	it_expect_status 403
	it_get fc:alice /private/download/owned -u alice:alice-pw
	it_expect_status 200
	it_expect_body_sha_of "$IT_ROOT/hello.txt"
	it_get fc:badpw /private/download/owned -u alice:wrong
	it_expect_status 401
	it_get fc:tokbad '/download/tok?token=nope'
	it_expect_status 404
	it_expect_body 'not found'

	# A response sluice cuts short: mod_fcgid, unlike mod_proxy_fcgi,
	# closes the client's connection at once (no KeepAliveTimeout wait).
	fcgid_truncation

	it_check "fcgid: sluice logged the alice download with user alice" \
	    it_wait_grep "$FC_LOG" 5 'id=owned status=200 .* user="alice" '
	it_check "fcgid: sluice ran with --workers 0 on fd 0" \
	    grep -Eq 'event=startup .*url_prefix="/download/,/private/download/" listen="fd0" workers=0 threads=1 ' "$FC_LOG"
	pids=$(sed -n 's/.* pid=\([0-9]*\) event=startup .*/\1/p' "$FC_LOG" | sort -u)
	for p in $pids; do IT_PIDS+=("$p"); done
	it_check "fcgid: mod_fcgid started sluice ($(echo $pids))" [ -n "$pids" ]
	if [ "$(id -u)" -eq 0 ]; then
		p=${pids%%$'\n'*}
		u=$(ps -o user= -p "$p" 2>/dev/null)
		it_expect_eq "fcgid: sluice runs as www-data" www-data "${u// /}"
	fi
	it_kill_pid "$FC_PID"
	it_check "fcgid: stopping Apache stopped its sluice processes" \
	    fcgid_gone $pids
}

# ------------------------------------------------------------------- run
T0=$(date +%s)
fixtures_make || { echo "fixtures failed" >&2; exit 1; }
it_sluice_start "$SOCK" "$BIN" "$LOG" ||
    { echo "sluice did not start" >&2; cat "$LOG" >&2; exit 1; }
grant_www_data || { echo "could not grant www-data access" >&2; exit 1; }
apache_up deploy/apache/sluice.conf sluice "$IT_DIR" ||
    { echo "apache did not start" >&2; cat "$AP_ERR" >&2; exit 1; }
BASE=$AP_BASE
# The fcgid config is filled in now (and checked by test_config) with a
# placeholder port; test_fcgid fills it in again with its own.
apache_conf deploy/apache/sluice-fcgid.conf "$IT_DIR/sluice-fcgid.conf" 1 \
    "$FC_DIR"
echo "# $("$APACHE" -v | sed -n 's/^Server version: //p') $BASE, sluice pid $SLUICE_PID"
test_config
test_public
test_owner
test_tokens
test_client_abort
test_apache_log
test_truncation
test_fcgid
# Under mod_fcgid, sluice's stderr goes to Apache's error log.
it_check "sluice: no sanitizer report in its logs" \
    bash -c "! cat '$LOG' '$FC_LOG' '$FC_DIR/apache-error.log' 2>/dev/null |
        grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer'"

echo "# $(($(date +%s) - T0)) s"
echo "apache: $IT_PASS passed, $IT_FAIL failed"
[ "$IT_FAIL" -eq 0 ]
