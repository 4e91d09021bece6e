#!/usr/bin/env bash
# Integration tests: real lighttpd on 127.0.0.1, sluice launched by
# spawn-fcgi, a jobs database seeded from tests/integration/seed.sql.
#
# Usage: tests/integration/run.sh   (from the top of the tree, after make)
# Environment: SLUICE_BIN (default build/asan/sluice) runs the behaviour
# cases; SLUICE_BIN_RELEASE (default build/sluice) runs the memory case,
# since AddressSanitizer's shadow memory would swamp VmHWM.
set -u

IT_TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$IT_TOP" || exit 1
. tests/integration/lib.sh
. tests/integration/pool.sh
. tests/integration/access.sh

BIN=${SLUICE_BIN:-$IT_TOP/build/asan/sluice}
BIN_RELEASE=${SLUICE_BIN_RELEASE:-$IT_TOP/build/sluice}
for b in "$BIN" "$BIN_RELEASE"; do
	[ -x "$b" ] || { echo "missing $b: run make first" >&2; exit 2; }
done

# Short path: unix socket paths are limited to 108 bytes.
IT_DIR=$(mktemp -d /tmp/sluice-it.XXXXXX)
IT_ROOT=$IT_DIR/export
IT_DOCROOT=$IT_DIR/htdocs
SOCK=$IT_DIR/sluice.sock
LOG=$IT_DIR/sluice.log
trap 'it_cleanup; [ -n "${IT_KEEP:-}" ] || rm -rf "$IT_DIR"' EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- fixtures
fixtures_make() {
	mkdir -p "$IT_ROOT/data" "$IT_ROOT/dir" "$IT_DOCROOT"
	printf 'hello, world\n' >"$IT_ROOT/hello.txt"
	: >"$IT_ROOT/empty.bin"
	head -c 1048576 /dev/urandom >"$IT_ROOT/data/1m.bin"
	head -c 1024 /dev/urandom >"$IT_ROOT/1k.bin"
	head -c 52428800 /dev/urandom >"$IT_ROOT/50m.bin"
	head -c 104857600 /dev/urandom >"$IT_ROOT/shrink.bin"
	truncate -s 5G "$IT_ROOT/big5.bin"
	mkfifo "$IT_ROOT/fifo"
	printf 'secret\n' >"$IT_DIR/secret.txt"
	ln -s ../secret.txt "$IT_ROOT/link-out.txt"
	ln -s hello.txt "$IT_ROOT/link-in.txt"
	ln -s data "$IT_ROOT/linkdir"
	# The static copy lighttpd serves for the throughput comparison.
	ln "$IT_ROOT/big5.bin" "$IT_DOCROOT/big5.bin"
	sqlite3 "$IT_DIR/jobs.db" <sql/schema.sql || return 1
	sed "s|@SECRET@|$IT_DIR/secret.txt|" tests/integration/seed.sql |
	    sqlite3 "$IT_DIR/jobs.db"
}

# ------------------------------------------------------- deploy/ checks
test_deploy_units() {
	local d=$IT_DIR/units out rc
	it_check "deploy: spawn-fcgi script parses" sh -n deploy/spawn-fcgi/sluice.sh
	if ! command -v systemd-analyze >/dev/null; then
		it_log "     (systemd-analyze not installed: units not verified)"
		return 0
	fi
	mkdir -p "$d"
	cp deploy/systemd/sluice.socket "$d/"
	# Only the binary's path differs from the shipped unit.
	sed "s|/usr/local/bin/sluice|$BIN_RELEASE|" deploy/systemd/sluice.service \
	    >"$d/sluice.service"
	out=$(cd "$d" && systemd-analyze verify ./sluice.socket ./sluice.service 2>&1)
	rc=$?
	it_check "deploy: systemd-analyze verify is clean (exit $rc)" \
	    [ "$rc" -eq 0 -a -z "$out" ]
	[ -z "$out" ] || printf '       %s\n' "$out"
}

# ------------------------------------------------------------- startup
# Each startup failure is one clear line and a non-zero exit.
startup_case() {
	local name=$1 want=$2
	shift 2
	local out rc
	out=$("$@" 2>&1 </dev/null)
	rc=$?
	if [ "$rc" -ne 0 ] && printf '%s' "$out" | grep -qi -- "$want"; then
		it_ok "startup: $name (exit $rc)"
	else
		it_not_ok "startup: $name" "exit $rc, want non-zero and '$want'" \
		    "got: $out"
	fi
}

test_startup() {
	local sock=$IT_DIR/startup.sock
	sqlite3 "$IT_DIR/empty.db" 'CREATE TABLE other (x);'
	startup_case "no --db" "give --db" "$BIN" --root "$IT_ROOT"
	startup_case "missing database" "No such file" \
	    "$BIN" --db "$IT_DIR/nope.db" --root "$IT_ROOT"
	startup_case "database without export_jobs" "no export_jobs table" \
	    "$BIN" --db "$IT_DIR/empty.db" --root "$IT_ROOT"
	startup_case "root not a directory" "not a directory" \
	    "$BIN" --db "$IT_DIR/jobs.db" --root "$IT_ROOT/hello.txt"
	startup_case "fd 0 not a socket" "run me under spawn-fcgi" \
	    "$BIN" --db "$IT_DIR/jobs.db" --root "$IT_ROOT"
	startup_case "unknown option" "unknown or incomplete option" \
	    "$BIN" --db "$IT_DIR/jobs.db" --root "$IT_ROOT" --bogus
	# The environment works like the options.
	startup_case "SLUICE_ROOT from the environment" "not a directory" \
	    env SLUICE_DB="$IT_DIR/jobs.db" SLUICE_ROOT="$IT_ROOT/hello.txt" \
	    "$BIN"
	local out
	out=$("$BIN" --help)
	it_check "startup: --help names every option" \
	    grep -q -- '--url-prefix' <<<"$out"
}

# ---------------------------------------------------------------- 200, HEAD
test_download() {
	local f=$IT_ROOT/hello.txt lm
	lm=$(TZ=UTC LC_ALL=C date -u -r "$f" '+%a, %d %b %Y %H:%M:%S GMT')

	it_get hello /download/hello
	it_expect_status 200
	it_expect_status_line 'HTTP/1.1 200 OK'
	it_expect_body_sha_of "$f"
	it_expect_header 'Content-Length: 13'
	it_expect_header 'Content-Type: text/plain'
	it_expect_header 'Accept-Ranges: bytes'
	it_expect_header_re ETag 'ETag: "[0-9a-f]+-d-[0-9a-f]+\.[0-9a-f]+"'
	it_expect_header "Last-Modified: $lm"
	it_expect_header "Content-Disposition: attachment; filename=\"hello.txt\"; filename*=UTF-8''hello.txt"
	it_expect_header 'X-Content-Type-Options: nosniff'
	it_expect_header 'Cache-Control: private'
	it_expect_header 'Referrer-Policy: no-referrer'
	it_expect_header 'Repr-Digest: sha-256=:hT/5N2Kgbdv3IsTr6d3WbY9j3a6pf1IcPswg2nyXYCA=:'
	it_expect_header 'X-Accel-Buffering: no'
	cp "$IT_DIR/h.hello" "$IT_DIR/h.hello.get"

	# HEAD: the headers a GET gets, and no body.
	it_get head /download/hello -I
	it_expect_status 200
	it_expect_head_no_body
	local a b
	a=$(grep -v '^Date:' "$IT_DIR/h.hello.get")
	b=$(grep -v '^Date:' "$IT_DIR/h.head")
	it_check "head: same headers as GET" [ "$a" = "$b" ]

	# The cosmetic name segment is ignored.
	it_get named '/download/hello/report%20final.csv'
	it_expect_status 200
	it_expect_body_sha_of "$f"

	it_get minimal /download/minimal
	it_expect_status 200
	it_expect_header 'Content-Type: application/octet-stream'
	it_expect_header "Content-Disposition: attachment; filename=\"minimal\"; filename*=UTF-8''minimal"
	it_expect_no_header Repr-Digest

	it_get m1 /download/m1
	it_expect_status 200
	it_expect_body_sha_of "$IT_ROOT/data/1m.bin"
	it_expect_header 'Content-Length: 1048576'

	it_get empty /download/empty
	it_expect_status 200
	it_expect_header 'Content-Length: 0'
	it_expect_body_empty

	it_get notyet /download/notyet
	it_expect_status 200
}

# ------------------------------------------------------- Content-Disposition
test_disposition() {
	it_get utf8name /download/utf8name
	it_expect_status 200
	it_expect_header "Content-Disposition: attachment; filename=\"__ 2024.csv\"; filename*=UTF-8''%E6%8A%A5%E5%91%8A%202024.csv"
	it_expect_header 'Content-Type: application/octet-stream'

	it_get quotes /download/quotes
	it_expect_status 200
	it_expect_header "Content-Disposition: attachment; filename=\"a_b_c_d.txt\"; filename*=UTF-8''a%22b%5Cc%25d.txt"

	# U+202E would show "invoice...exe" as "invoiceexe.pdf": dropped.
	it_get bidi /download/bidi
	it_expect_status 200
	it_expect_header "Content-Disposition: attachment; filename=\"invoicefdp.exe\"; filename*=UTF-8''invoicefdp.exe"

	# CR LF in the name never becomes a header of its own.
	it_get crlfname /download/crlfname
	it_expect_status 200
	it_expect_no_header X-Accel-Redirect
	it_expect_header "Content-Disposition: attachment; filename=\"xX-Accel-Redirect: /secret.txt\"; filename*=UTF-8''xX-Accel-Redirect%3A%20%2Fsecret.txt"
	it_expect_body_sha_of "$IT_ROOT/hello.txt"

	# CR LF in the content type: refused whole (500), nothing injected.
	it_get crlftype /download/crlftype
	it_expect_status 500
	it_expect_no_header X-Injected
	it_expect_body 'internal error'
}

# ----------------------------------------------------------- errors, 4xx
test_errors() {
	local p
	# Malformed paths: 400 whatever the job, even an existing one.
	for p in /download/hello/x/y /download//hello /download/hello/ \
	    /download/hello/.. /download/hello/. /download/hello/%2e%2e \
	    /download/hell%6f /download/hello%2fx /download/ \
	    "/download/hello/..?token=x" \
	    "/download/$(printf 'a%.0s' $(seq 1 65))"; do
		it_get "bad:$(printf '%s' "$p" | tr '/' '_')" "$p"
		it_expect_status 400
		it_expect_body 'bad request'
		it_expect_header 'Content-Type: text/plain; charset=utf-8'
		it_expect_header 'Referrer-Policy: no-referrer'
	done
	# A 64-character id is valid syntax (and unknown here).
	it_get id64 "/download/$(printf 'a%.0s' $(seq 1 64))"
	it_expect_status 404

	it_get post /download/hello -X POST -d x=1
	it_expect_status 405
	it_expect_header 'Allow: GET, HEAD'
	it_expect_body 'method not allowed'
	it_get delete /download/hello -X DELETE
	it_expect_status 405
	it_expect_header 'Allow: GET, HEAD'

	# Unknown id, missing token and wrong token: the same 404, byte for byte.
	it_get unknown /download/no-such-job
	it_expect_status 404
	it_expect_body 'not found'
	it_get notoken /download/tok
	it_expect_status 404
	it_get badtoken '/download/tok?token=guess'
	it_expect_status 404
	local u n w
	u=$(grep -v '^Date:' "$IT_DIR/h.unknown"; cat "$IT_DIR/b.unknown")
	n=$(grep -v '^Date:' "$IT_DIR/h.notoken"; cat "$IT_DIR/b.notoken")
	w=$(grep -v '^Date:' "$IT_DIR/h.badtoken"; cat "$IT_DIR/b.badtoken")
	it_check "404: unknown id, no token and wrong token answer alike" \
	    [ "$u" = "$n" -a "$u" = "$w" ]
	it_get token '/download/tok/hello.txt?token=s3cret-token'
	it_expect_status 200
	it_expect_body_sha_of "$IT_ROOT/hello.txt"

	it_get owned /download/owned
	it_expect_status 403
	it_expect_body 'forbidden'

	it_get pending /download/pending
	it_expect_status 409
	it_expect_header 'Retry-After: 30'
	it_get running /download/running
	it_expect_status 409
	it_expect_header 'Retry-After: 30'
	for p in failed revoked expired; do
		it_get "$p" "/download/$p"
		it_expect_status 410
		it_expect_body 'this download is no longer available'
	done
	# Oversized values: 400, never a silent cut.
	it_get longheader /download/hello -H "If-None-Match: \"$(head -c 2000 /dev/zero | tr '\0' x)\""
	it_expect_status 400
	it_get longuri "/download/hello/$(head -c 5000 /dev/zero | tr '\0' x).csv"
	it_expect_status 400

	it_get headgone /download/revoked -I
	it_expect_status 410
	it_expect_head_no_body
}

# ----------------------------------------------- the file: 500, confinement
test_file_errors() {
	local id
	for id in missing isdir fifo sizediff nopath nosize dotdot dotdot2 \
	    absolute linkout linkin dirlink; do
		it_get "file:$id" "/download/$id"
		it_expect_status 500
		it_expect_body 'internal error'
		it_expect_no_header Content-Disposition
	done
	it_check "confinement: the secret never left the log or a body" \
	    bash -c "! grep -rq secret '$IT_DIR'/b.file:*"
	it_check "confinement: escapes are logged as security events" \
	    grep -q 'event=security reason=escape id=dotdot ' "$LOG"
	it_check "confinement: absolute path logged as a security event" \
	    grep -q 'event=security reason=absolute_path id=absolute ' "$LOG"
	it_check "confinement: symlink logged as a security event" \
	    grep -q 'event=security reason=symlink id=linkout ' "$LOG"
	it_check "size mismatch is logged" \
	    grep -q 'reason=size_mismatch id=sizediff .*expected=12 actual=13' \
	    "$LOG"
	it_check "FIFO is refused as not regular (no hang)" \
	    grep -q 'reason=not_regular id=fifo ' "$LOG"
	# The worker is still serving after all that.
	it_get after /download/hello
	it_expect_status 200
}

# ------------------------------------------- Range and conditional requests
test_ranges() {
	local f=$IT_ROOT/hello.txt etag lm old future
	etag=$(sed -n 's/^ETag: //p' "$IT_DIR/h.hello.get")
	lm=$(sed -n 's/^Last-Modified: //p' "$IT_DIR/h.hello.get")
	old='Sun, 06 Nov 1994 08:49:37 GMT'
	future='Fri, 01 Jan 2100 00:00:00 GMT'

	it_get range /download/hello -H 'Range: bytes=0-4'
	it_expect_status 206
	it_expect_status_line 'HTTP/1.1 206 Partial Content'
	it_expect_body 'hello'
	it_expect_header 'Content-Range: bytes 0-4/13'
	it_expect_header 'Content-Length: 5'
	it_expect_header 'Content-Type: text/plain'
	it_expect_header 'Accept-Ranges: bytes'
	it_expect_header "ETag: $etag"
	it_expect_header "Last-Modified: $lm"
	it_expect_header 'Repr-Digest: sha-256=:hT/5N2Kgbdv3IsTr6d3WbY9j3a6pf1IcPswg2nyXYCA=:'
	it_expect_header "Content-Disposition: attachment; filename=\"hello.txt\"; filename*=UTF-8''hello.txt"
	it_expect_header 'Cache-Control: private'
	it_expect_header 'Referrer-Policy: no-referrer'

	it_get suffix /download/hello -H 'Range: bytes=-6'
	it_expect_status 206
	it_expect_header 'Content-Range: bytes 7-12/13'
	it_expect_body 'world'
	it_get clamp /download/hello -H 'Range: bytes=7-99999999999999999999999'
	it_expect_status 206
	it_expect_header 'Content-Range: bytes 7-12/13'
	it_expect_header 'Content-Length: 6'

	# Unsatisfiable: 416 with the current length, and no file bytes.
	local r
	for r in 'bytes=13-' 'bytes=-0' 'bytes=18446744073709551616-'; do
		it_get "416:$r" /download/hello -H "Range: $r"
		it_expect_status 416
		it_expect_status_line 'HTTP/1.1 416 Range Not Satisfiable'
		it_expect_header 'Content-Range: bytes */13'
		it_expect_body 'range not satisfiable'
		it_expect_no_header Content-Disposition
	done
	# Ignored: the whole file, 200 (several ranges, another unit,
	# malformed specs, and HEAD, to which Range never applies).
	for r in 'bytes=0-1,3-4' 'items=0-5' 'bytes=5-1' 'bytes=abc' \
	    'bytes=1-2-3'; do
		it_get "200:$r" /download/hello -H "Range: $r"
		it_expect_status 200
		it_expect_no_header Content-Range
		it_expect_header 'Content-Length: 13'
		it_expect_body_sha_of "$f"
	done
	it_get headrange /download/hello -I -H 'Range: bytes=0-4'
	it_expect_status 200
	it_expect_header 'Content-Length: 13'
	it_expect_no_header Content-Range

	# 304 keeps the validators, Cache-Control and Content-Disposition,
	# and drops Content-Length, Content-Type and Repr-Digest (§15.4.5).
	it_get inm /download/hello -H "If-None-Match: $etag"
	it_expect_status 304
	it_expect_status_line 'HTTP/1.1 304 Not Modified'
	it_expect_header "ETag: $etag"
	it_expect_header "Last-Modified: $lm"
	it_expect_header 'Cache-Control: private'
	it_expect_header "Content-Disposition: attachment; filename=\"hello.txt\"; filename*=UTF-8''hello.txt"
	it_expect_header 'Referrer-Policy: no-referrer'
	it_expect_no_header Content-Type
	it_expect_no_header Repr-Digest
	it_expect_no_header Content-Range
	it_expect_body_empty
	it_get inmweak /download/hello -H "If-None-Match: \"x\", W/$etag"
	it_expect_status 304
	it_get inmhead /download/hello -I -H "If-None-Match: $etag"
	it_expect_status 304
	# If-None-Match present: If-Modified-Since is ignored.
	it_get inmims /download/hello -H 'If-None-Match: "other"' \
	    -H "If-Modified-Since: $future"
	it_expect_status 200
	it_expect_body_sha_of "$f"
	it_get ims /download/hello -H "If-Modified-Since: $lm"
	it_expect_status 304
	it_get imsold /download/hello -H "If-Modified-Since: $old"
	it_expect_status 200
	it_get imsbad /download/hello -H 'If-Modified-Since: yesterday'
	it_expect_status 200

	it_get ifmatch /download/hello -H "If-Match: $etag"
	it_expect_status 200
	it_get ifmatchbad /download/hello -H 'If-Match: "stale"'
	it_expect_status 412
	it_expect_status_line 'HTTP/1.1 412 Precondition Failed'
	it_expect_body 'precondition failed'
	it_expect_header 'Content-Type: text/plain; charset=utf-8'
	it_expect_no_header Content-Disposition
	it_get ifmatchweak /download/hello -H "If-Match: W/$etag"
	it_expect_status 412
	it_get ius /download/hello -H "If-Unmodified-Since: $old"
	it_expect_status 412
	it_get iusok /download/hello -H "If-Unmodified-Since: $lm"
	it_expect_status 200
	# 412 before 416, 304 before 206.
	it_get order412 /download/hello -H 'If-Match: "stale"' -H 'Range: bytes=99-'
	it_expect_status 412
	it_get order304 /download/hello -H "If-None-Match: $etag" -H 'Range: bytes=0-4'
	it_expect_status 304

	# If-Range: only the current strong ETag or the exact date keep Range.
	it_get ifrange /download/hello -H "If-Range: $etag" -H 'Range: bytes=7-'
	it_expect_status 206
	it_expect_body 'world'
	it_get ifrangedate /download/hello -H "If-Range: $lm" -H 'Range: bytes=7-'
	it_expect_status 206
	it_get ifrangestale /download/hello -H 'If-Range: "stale"' -H 'Range: bytes=7-'
	it_expect_status 200
	it_expect_body_sha_of "$f"
	it_get ifrangeold /download/hello -H "If-Range: $old" -H 'Range: bytes=7-'
	it_expect_status 200

	# curl -C -: resume a partial download, and get the same bytes.
	head -c 300000 "$IT_ROOT/data/1m.bin" >"$IT_DIR/b.resume"
	R_NAME=resume
	R_STATUS=$(curl -sS --max-time 20 -C - -o "$IT_DIR/b.resume" \
	    -w '%{http_code}' "$BASE/download/m1")
	it_expect_status 206
	it_expect_body_sha_of "$IT_ROOT/data/1m.bin"
	it_check "resume: logged as a continuation that does not count" \
	    grep -q 'id=m1 status=206 reason=ok range=300000-1048575 counts=0 bytes=748576 ' "$LOG"
	# A segmented download's first piece counts, its others do not.
	it_get seg0 /download/m1 -H 'Range: bytes=0-524287'
	it_expect_status 206
	it_check "counting: a 206 from byte 0 counts" \
	    grep -q 'id=m1 status=206 reason=ok range=0-524287 counts=1 ' "$LOG"
	it_check "counting: HEAD and 304 never count" \
	    bash -c "! grep -Eq 'method=HEAD .*counts=1|status=304 .*counts=1' '$LOG'"

	# A range past 4 GiB on the 5 GiB sparse file.
	it_get range4g /download/big5 -H 'Range: bytes=4294967306-4294967315'
	it_expect_status 206
	it_expect_header 'Content-Range: bytes 4294967306-4294967315/5368709120'
	it_expect_header 'Content-Length: 10'
	head -c 10 /dev/zero >"$IT_DIR/ten-zeros"
	it_expect_body_sha_of "$IT_DIR/ten-zeros"
}

# ------------------------------------------------------------ database busy
test_busy() {
	# An exclusive lock held past sluice's 2 s busy timeout: 503.
	local holder t0 t1
	(printf 'BEGIN EXCLUSIVE;\n'; sleep 4; printf 'COMMIT;\n') |
	    sqlite3 "$IT_DIR/jobs.db" &
	holder=$!
	sleep 0.5
	t0=$(date +%s%N)
	it_get busy /download/hello
	t1=$(date +%s%N)
	it_expect_status 503
	it_expect_header 'Retry-After: 5'
	it_expect_body 'busy, retry later'
	it_log "     503 after $(( (t1 - t0) / 1000000 )) ms of waiting for the lock"
	wait "$holder"
	it_get afterbusy /download/hello
	it_expect_status 200
}

# ---------------------------------------------------------------- logging
test_logging() {
	it_check "log: one request line per answered request" \
	    grep -q 'event=request method=GET id=hello status=200 reason=ok range=- counts=1 bytes=13 .*outcome=complete' "$LOG"
	it_check "log: the token never reaches the log" \
	    bash -c "! grep -q s3cret '$LOG'"
	it_check "log: no body byte reaches the log" \
	    bash -c "! grep -q 'hello, world' '$LOG'"
}

# ---------------------------------------------------- abort and truncation
test_abort() {
	# A client that hangs up after 1 MiB of 50 MB.
	curl -sS --max-time 20 "$BASE/download/m50" 2>/dev/null |
	    head -c 1048576 >/dev/null
	it_check "abort: logged as aborted" \
	    it_wait_grep "$LOG" 10 'id=m50 status=200 .*outcome=aborted:client'
	it_get afterabort /download/m1
	it_expect_status 200
	it_expect_body_sha_of "$IT_ROOT/data/1m.bin"

	# The file shrinks while a slow client reads it: the download must
	# fail visibly, never end "complete" or padded.
	local rc cutter
	(sleep 1; truncate -s 1M "$IT_ROOT/shrink.bin") &
	cutter=$!
	curl -sS --max-time 30 --limit-rate 2M -o "$IT_DIR/b.shrink" \
	    "$BASE/download/shrink" 2>/dev/null
	rc=$?
	wait "$cutter"
	it_check "truncation: curl sees a partial transfer (exit $rc)" \
	    [ "$rc" -eq 18 ]
	it_check "truncation: fewer bytes than Content-Length arrived" \
	    [ "$(stat -c %s "$IT_DIR/b.shrink")" -lt 104857600 ]
	it_check "truncation: logged as error:short_read" \
	    it_wait_grep "$LOG" 10 'id=shrink status=200 .*outcome=error:short_read'
	it_get aftershrink /download/hello
	it_expect_status 200
}

# ----------------------------------------------------- memory, throughput
test_memory() {
	local h1 h5 t0 t1 ts1 ts0 s_ms st_ms
	local wpid
	wpid=$(it_workers "$SLUICE_PID")
	it_get k1 /download/k1
	it_expect_status 200
	it_expect_body_sha_of "$IT_ROOT/1k.bin"
	h1=$(it_vmhwm "$wpid")

	# Warm the page cache so both sides read from memory.
	cat "$IT_ROOT/big5.bin" >/dev/null
	t0=$(date +%s%N)
	R_NAME=big5
	R_STATUS=$(curl -sS --max-time 300 -o /dev/null -w '%{http_code} %{size_download}' \
	    "$BASE/download/big5")
	t1=$(date +%s%N)
	h5=$(it_vmhwm "$wpid")
	it_check "memory: 5 GiB download complete ($R_STATUS)" \
	    [ "$R_STATUS" = "200 5368709120" ]
	ts0=$(date +%s%N)
	curl -sS --max-time 300 -o /dev/null "$BASE/big5.bin"
	ts1=$(date +%s%N)
	s_ms=$(( (t1 - t0) / 1000000 ))
	st_ms=$(( (ts1 - ts0) / 1000000 ))
	it_log "     worker VmHWM (1 worker, $MEM_THREADS threads) after 1 KiB: ${h1} kB; after 5 GiB: ${h5} kB"
	it_log "     5 GiB: sluice ${s_ms} ms, lighttpd static ${st_ms} ms," \
	    "ratio $(awk -v a="$st_ms" -v b="$s_ms" 'BEGIN {printf "%.2f", a / b}')"
	it_check "memory: VmHWM ${h5} kB < 8 MiB" [ "$h5" -lt 8192 ]
	it_check "memory: 5 GiB VmHWM within 5% of the 1 KiB one" \
	    [ $((h5 * 100)) -le $((h1 * 105)) ]
}

# What a request thread costs: a worker's VmHWM after one 1 KiB download
# with 1 thread and with 16.
test_memory_per_thread() {
	local t h w
	for t in 1 16; do
		it_sluice_start "$SOCK" "$BIN_RELEASE" "$LOG" --workers 1 \
		    --threads "$t" || return 1
		it_wait_workers "$SLUICE_PID" 1 5
		sleep 0.3
		w=$(it_workers "$SLUICE_PID")
		it_get "k1t$t" /download/k1
		it_expect_status 200
		h[$t]=$(it_vmhwm "$w")
		it_sluice_stop
	done
	it_log "     worker VmHWM after 1 KiB: ${h[1]} kB with 1 thread," \
	    "${h[16]} kB with 16: $(( (h[16] - h[1]) / 15 )) kB per thread"
	it_check "memory: a request thread costs under 1 MiB" \
	    [ $(( (h[16] - h[1]) / 15 )) -lt 1024 ]
}

# ------------------------------------------------------------------- main
fixtures_make || { echo "fixtures failed" >&2; exit 1; }
test_startup
test_deploy_units

it_sluice_start "$SOCK" "$BIN" "$LOG" || { echo "sluice did not start" >&2; exit 1; }
it_lighttpd_start "$SOCK" || { echo "lighttpd did not start" >&2; exit 1; }
echo "# lighttpd $BASE, sluice $(basename "$(dirname "$BIN")")/sluice pid $SLUICE_PID"
test_download
test_disposition
test_ranges
test_errors
test_file_errors
test_logging
test_abort
test_busy
STATE_DB=$IT_DIR/sluice-state.db
test_tokens
test_owner
test_limits
test_audit
test_audit_locked
it_check "sanitizers: no report in the log" \
    bash -c "! grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer' '$LOG'"
it_sluice_stop
it_check "SIGTERM: the supervisor logs a clean exit" \
    grep -q 'event=supervisor_exit status=clean' "$LOG"

# The pool, with the release build: 2 workers x 8 threads.
LOG=$IT_DIR/sluice-pool.log
it_sluice_start "$SOCK" "$BIN_RELEASE" "$LOG" --workers 2 --threads 8 ||
    { echo "sluice did not start" >&2; exit 1; }
it_wait_workers "$SLUICE_PID" 2 5
echo "# pool: release build, 2 workers x 8 threads, supervisor $SLUICE_PID"
test_pool_concurrency
test_pool_respawn
test_pool_sighup
it_sluice_stop
# A reader slower than 1 MB/s over 2 s is cut off.
it_sluice_start "$SOCK" "$BIN_RELEASE" "$LOG" --workers 1 --threads 2 \
    --min-rate 1000000 --rate-window 2 ||
    { echo "sluice did not start" >&2; exit 1; }
test_pool_slow
it_sluice_stop
test_pool_listen_drain
test_pool_max_requests
test_pool_tcp

# Memory with the release build (ASan's shadow memory would swamp VmHWM).
LOG=$IT_DIR/sluice-release.log
MEM_THREADS=4
it_sluice_start "$SOCK" "$BIN_RELEASE" "$LOG" --workers 1 \
    --threads "$MEM_THREADS" || { echo "sluice did not start" >&2; exit 1; }
it_wait_workers "$SLUICE_PID" 1 5
echo "# release build, supervisor pid $SLUICE_PID"
test_memory
it_sluice_stop
test_memory_per_thread
it_cleanup

echo "integration: $IT_PASS passed, $IT_FAIL failed"
[ "$IT_FAIL" -eq 0 ]
