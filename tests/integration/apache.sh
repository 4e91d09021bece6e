#!/usr/bin/env bash
# Integration tests behind Apache httpd, for what only Apache has: real
# Apache on 127.0.0.1 started by servers.sh from deploy/apache/sluice.conf
# (mod_proxy_fcgi; only paths and the port filled in), sluice launched by
# spawn-fcgi, jobs from seed.sql; then deploy/apache/sluice-fcgid.conf,
# where mod_fcgid starts sluice itself with --workers 0.
#
# What it pins: the shipped configs (loopback, ap_trust_cgilike_cl, no
# REMOTE_USER but authentication's, no query in the access log, a short
# KeepAliveTimeout, no CGIPassAuth); ServerTokens Prod; that sluice, not
# Apache, answers the conditionals; sluice's 400 for an oversized URI or
# If-None-Match and Apache's own for an oversized header line; encoded
# slashes; that sluice sends the Content-Length: 0 that Apache drops from
# the HEAD of an empty file; Apache's logs (a wrong password, no token);
# a stalled client holds sluice back (Apache spools nothing) and its
# abort leaves the pool serving; a response sluice cuts short reaches the
# client as truncated within KeepAliveTimeout (at once under mod_fcgid);
# and the whole mod_fcgid setup. Everything else (downloads, headers,
# owners and the "//" and dot segments Apache normalises, Content-Length
# not chunked, tokens, ...) is suite.sh's, which run.sh runs behind Apache
# in stream and offload mode.
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
. tests/integration/servers.sh

BIN=${SLUICE_BIN:-$IT_TOP/build/sluice}
[ -x "$BIN" ] || { echo "missing $BIN: run make first" >&2; exit 2; }
[ -x "$IT_APACHE" ] || { echo "missing apache2" >&2; exit 2; }
for c in htpasswd spawn-fcgi cgi-fcgi sqlite3 curl sha256sum; do
	command -v "$c" >/dev/null || { echo "missing $c" >&2; exit 2; }
done
for m in mod_proxy_fcgi mod_fcgid; do
	[ -e "/usr/lib/apache2/modules/$m.so" ] ||
	    { echo "missing /usr/lib/apache2/modules/$m.so" >&2; exit 2; }
done

it_scratch apx
AP_ERR=$IT_DIR/apache-error.log
AP_ACCESS=$IT_DIR/apache-access.log
# Under mod_fcgid sluice runs as www-data and writes under sluice/.
FC_LOG=$IT_DIR/sluice/sluice.log

# seed.sql's m50 and shrink.
BIG_SIZE=52428800
SHRINK_SIZE=104857600

# ---------------------------------------------------------------- fixtures
fixtures_make() {
	mkdir -p "$IT_ROOT" "$IT_DOCROOT" "$IT_DIR/sluice" || return 1
	printf 'hello, world\n' >"$IT_ROOT/hello.txt"
	: >"$IT_ROOT/empty.bin"
	# 50 MB: many times every buffer between sluice and the client, so a
	# client that stops reading holds sluice mid-body.
	head -c "$BIG_SIZE" /dev/urandom >"$IT_ROOT/50m.bin"
	printf 'static file\n' >"$IT_DOCROOT/static.txt"
	sqlite3 "$IT_DIR/jobs.db" <sql/schema.sql || return 1
	sed "s|@SECRET@|$IT_DIR/secret.txt|" tests/integration/seed.sql |
	    sqlite3 "$IT_DIR/jobs.db" || return 1
	# The build tree may be unreadable to www-data (a clone in a 0700
	# directory): mod_fcgid runs a copy (servers.sh's @SLUICE@).
	install -m 0755 "$BIN" "$IT_DIR/sluice-fcgid-bin" || return 1
	[ "$(id -u)" -ne 0 ] || chown www-data:www-data "$IT_DIR/sluice"
}

# ------------------------------------------------------------------ helpers
# Every @PLACEHOLDER@ in the config servers.sh filled in for the running
# Apache ($IT_DIR/apache.conf), named $1.
expect_filled() {
	it_check "config $1: every @PLACEHOLDER@ filled in" \
	    bash -c "! grep -v '^[[:space:]]*#' '$IT_DIR/apache.conf' |
	        grep -q '@[A-Z]*@'"
}

# ----------------------------------------------------------- the config
test_config() {
	local c n
	for c in sluice sluice-fcgid; do
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
	expect_filled sluice
	# /download/, /private/download/ and /sluice-metrics (issue 16).
	it_expect_eq "config sluice: the three locations proxy to the one worker" \
	    3 "$(grep -Fxc "	ProxyPass \"unix:$SOCK|fcgi://sluice/\"" \
	        "$IT_DIR/apache.conf")"
}

# --------------------------------------------------- Apache's own parts
test_apache() {
	it_get hello /download/hello
	it_expect_status 200
	it_expect_body_sha_of "$IT_ROOT/hello.txt"
	# ServerTokens Prod.
	it_expect_header 'Server: Apache'

	# suite.sh pins that the client gets no Content-Length in the HEAD of
	# an empty file: Apache drops the one sluice sends.
	it_check "headempty: sluice itself sends Content-Length: 0" bash -c \
	    "env -i REQUEST_METHOD=HEAD REQUEST_URI=/download/empty \
	        cgi-fcgi -bind -connect '$SOCK' | tr -d '\r' |
	        grep -qx 'Content-Length: 0'"

	# sluice always sends a Status: line, so Apache does not evaluate
	# the conditionals itself: the 304, 412 and 416 are sluice's.
	it_get r304 /download/hello -H "If-None-Match: $(sed -n 's/^ETag: //p' "$IT_DIR/h.hello")"
	it_expect_status 304
	it_get r412 /download/hello -H 'If-Match: "nope"'
	it_expect_status 412
	it_get r416 /download/hello -H 'Range: bytes=100-'
	it_expect_status 416
	it_sentinel conditionals
	it_check "conditionals: sluice answered the 304, 412 and 416 itself" \
	    bash -c "grep -q 'id=hello status=304 ' '$LOG' &&
	        grep -q 'id=hello status=412 ' '$LOG' &&
	        grep -q 'id=hello status=416 ' '$LOG'"

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
	it_expect_no_file
	it_check "hugehdr: refused by Apache, before sluice" \
	    bash -c "! grep -q '<html' '$IT_DIR/b.longuri' &&
	        grep -qi '<html' '$IT_DIR/b.hugehdr'"

	# Encoded slashes (AllowEncodedSlashes NoDecode): no <Location>
	# matches, Apache's own 404 from the document root.
	it_get encslash /private%2fdownload/owned -u alice:alice-pw
	it_expect_no_file
	it_expect_status 404

	# A wrong password: Apache's 401 (suite.sh: sluice never sees it),
	# and Apache's own log line.
	it_get badpw /private/download/owned -u alice:wrong
	it_expect_status 401
	it_check "badpw: Apache logged the mismatch" \
	    grep -q 'user alice: authentication failure for "/private/download/owned": Password Mismatch' "$AP_ERR"

	# No token in Apache's access log (LogFormat with %U, not %r).
	it_get tokok '/download/tok?token=s3cret-token'
	it_expect_status 200
	it_get tokbad '/download/tok?token=guess'
	it_expect_status 404
	it_sentinel tokens
	it_check "tokens: no token in Apache's access log" \
	    bash -c "grep -q ' \"GET /download/tok HTTP/1.1\" 200 ' '$AP_ACCESS' &&
	        ! grep -Eq 's3cret|guess|token=' '$AP_ACCESS'"

	# The static document root.
	it_get static /static.txt
	it_expect_status 200
	it_expect_body_sha_of "$IT_DOCROOT/static.txt"
}

# sluice has logged exactly $1 requests for m50.
m50_lines_are() { [ "$(grep -c 'id=m50 ' "$LOG")" = "$1" ]; }

# ---------------------------------------------------------- client abort
# A client that reads the status line, stalls, then goes away in the
# middle of 50 MB. Apache never spools a response to disk, so sluice is
# still sending after 2 s (held back by the socket buffers); when the
# client goes, Apache drops its connection to sluice, which logs
# aborted:client, and the pool keeps serving with the same workers.
test_client_abort() {
	local line before after n
	before=$(it_workers "$SLUICE_PID" | tr '\n' ' ')
	n=$(grep -c 'id=m50 ' "$LOG")
	if ! exec 3<>"/dev/tcp/127.0.0.1/$SRV_PORT"; then
		it_not_ok "abort: connect"
		return
	fi
	printf 'GET /download/m50 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
	IFS= read -r -t 5 line <&3
	it_expect_eq "abort: the response has begun" 'HTTP/1.1 200 OK' "${line%$'\r'}"
	# No event to wait for: the claim is that nothing ends for 2 s.
	it_check "abort: for 2 s sluice is still sending (Apache spools nothing)" \
	    it_holds_for 2 m50_lines_are "$n"
	exec 3<&-
	it_check "abort: sluice logs the download as aborted:client" \
	    it_wait_grep "$LOG" 10 'id=m50 status=200 .*outcome=aborted:client '
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
# ends the FastCGI request short of its Content-Length (END_REQUEST, then
# close). The client must see a truncated download, not a complete one;
# with Apache it sees so only when KeepAliveTimeout expires (Apache holds
# the connection until then, and logs nothing: sluice's log has it).
test_truncation() {
	local kat sent
	kat=$(sed -n 's/^KeepAliveTimeout[[:space:]]*//p' "$IT_DIR/apache.conf")
	it_shrink_get shrink
	it_expect_header "Content-Length: $SHRINK_SIZE"
	it_expect_no_header Transfer-Encoding
	it_check "shrink: logged as error:short_read" \
	    it_wait_grep "$LOG" 10 'id=shrink status=200 .*outcome=error:short_read'
	sent=$(sed -n 's/.*id=shrink status=200 .* bytes=\([0-9]*\) .*/\1/p' "$LOG")
	it_expect_eq "shrink: the client got exactly what sluice sent (no padding)" \
	    "$sent" "$GOT"
	it_log "     the client saw the truncation after ${MS} ms (KeepAliveTimeout ${kat} s)"
	it_check "shrink: seen within KeepAliveTimeout + 3 s (${MS} ms)" \
	    [ "$MS" -lt $(((kat + 3) * 1000)) ]
	it_get aftershrink /download/hello
	it_expect_status 200
}

# -------------------------------------------------------------- mod_fcgid
# None of the pids is running.
fcgid_dead() {
	local p
	for p in "$@"; do it_alive "$p" && return 1; done
	return 0
}

# Wait up to 5 s until none of the pids is running.
fcgid_gone() { it_wait_for 5 fcgid_dead "$@"; }

# Apache starts sluice itself (sluice-fcgid.conf): fd 0 is mod_fcgid's
# socket, the settings come from FcgidInitialEnv, --workers 0. It runs
# after the mod_proxy_fcgi Apache has stopped, in the same directory.
test_fcgid() {
	local pids p u
	if ! it_server_up apache stream "$SOCK" deploy/apache/sluice-fcgid.conf; then
		it_not_ok "fcgid: Apache starts" "$(tail -n 5 "$AP_ERR" 2>/dev/null)"
		return
	fi
	echo "# mod_fcgid: $BASE, Apache pid $SRV_PID"
	expect_filled sluice-fcgid
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
	it_get fc:big /download/m50
	it_expect_status 200
	it_expect_header "Content-Length: $BIG_SIZE"
	it_expect_body_sha_of "$IT_ROOT/50m.bin"
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

	# A response sluice cuts short: mod_fcgid too holds the client's
	# connection until KeepAliveTimeout, then the client sees the cut.
	it_shrink_get fc:shrink
	it_check "fc:shrink: logged as error:short_read" \
	    it_wait_grep "$FC_LOG" 10 'id=shrink status=200 .*outcome=error:short_read'
	it_log "     mod_fcgid: the client saw the truncation after ${MS} ms"
	it_check "fc:shrink: seen within KeepAliveTimeout + 3 s (${MS} ms)" \
	    [ "$MS" -lt 6000 ]

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
	it_server_down
	it_check "fcgid: stopping Apache stopped its sluice processes" \
	    fcgid_gone $pids
}

# --min-rate under mod_fcgid (issue 17): the shipped config with a
# minimum a 20 kB/s reader cannot meet; the reader is cut, logged
# aborted:slow, and once it reads fast it sees the cut at once.
test_fcgid_slow() {
	local src=$IT_DIR/sluice-fcgid-slow.conf out rc
	sed 's|--workers 0 --threads 1|& --min-rate 300000 --rate-window 2|' \
	    deploy/apache/sluice-fcgid.conf >"$src"
	if ! it_server_up apache stream "$SOCK" "$src"; then
		it_not_ok "fcgid slow: Apache starts"
		return
	fi
	rm -f "$IT_DIR/flag.fcslow"
	python3 tests/integration/slowread.py "$BASE/download/m50" 20000 \
	    "$IT_DIR/flag.fcslow" 60 >"$IT_DIR/fcslow.out" &
	local reader=$!
	IT_PIDS+=("$reader")
	it_check "fcgid slow: cut as aborted:slow" \
	    it_wait_grep "$FC_LOG" 20 'id=m50 status=200 .*outcome=aborted:slow'
	touch "$IT_DIR/flag.fcslow"
	wait "$reader"
	rc=$?
	out=$(cat "$IT_DIR/fcslow.out")
	it_check "fcgid slow: the client sees the cut ($out)" [ "$rc" -eq 0 ]
	it_server_down
}

# ------------------------------------------------------------------- run
T0=$(date +%s)
fixtures_make || { echo "fixtures failed" >&2; exit 1; }
it_sluice_start "$SOCK" "$BIN" "$LOG" ||
    { echo "sluice did not start" >&2; cat "$LOG" >&2; exit 1; }
it_server_up apache stream "$SOCK" ||
    { echo "apache did not start" >&2; cat "$AP_ERR" >&2; exit 1; }
echo "# $("$IT_APACHE" -v | sed -n 's/^Server version: //p') $BASE, sluice pid $SLUICE_PID"
test_config
test_apache
test_client_abort
test_apache_log
test_truncation
it_server_down
test_fcgid
test_fcgid_slow
# Under mod_fcgid, sluice's stderr goes to Apache's error log.
it_check "sluice: no sanitizer report in its logs" \
    bash -c "! cat '$LOG' '$FC_LOG' '$AP_ERR' 2>/dev/null |
        grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer'"

echo "# $(($(date +%s) - T0)) s"
echo "apache: $IT_PASS passed, $IT_FAIL failed"
[ "$IT_FAIL" -eq 0 ]
