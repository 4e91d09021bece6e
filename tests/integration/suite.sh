# The suite every web server runs, through $BASE: first the HTTP cases
# kept as data in tests/integration/cases/*.txt (run by cases.py: every
# header checked exactly, every body by SHA-256; the format is in
# cases/README), then the cases that are not one request and its answer,
# as shell functions below: what sluice logged, a resume by curl -C -,
# aborts and a file cut short mid-body, racing limits, the audit rows.
# Sourced by run.sh, which runs it behind lighttpd, nginx and Apache
# (IT_SERVER), each in stream and in offload mode (IT_MODE), started from
# deploy/ by servers.sh; tests/integration/check.sh runs the data cases
# behind lighttpd in stream mode only (make check). What only one server
# has (its config, logs, buffering, mod_fcgid) stays in nginx.sh and
# apache.sh.
#
# Offload mode: the server sends the file, so it answers Range and the
# conditionals itself, with its own reading of the RFC (and nginx with its
# own ETag). The cases check there what any server must get right: one
# range, a suffix, a resume with curl -C -, 416, 304 on the ETag and on the
# date, If-Range, a range past 4 GiB. They leave out, as cases that cannot
# apply:
# - sluice's own choices (cases/55-ranges-sluice.txt): several ranges
#   answered whole, malformed or huge specs ignored, a weak If-Range,
#   If-Match and If-Unmodified-Since (lighttpd ignores them), what a 304
#   carries;
# - what sluice's reading of the file decides (test_abort): a client that
#   hangs up, and a file cut short mid-body (the server's sendfile loop
#   has those; the audit row says `offloaded`).

# Is this run in stream mode (sluice sends the bytes)?
it_streaming() { [ "$IT_MODE" = stream ]; }

# Does sluice hand a plain GET of a file in a directory (data/1m.bin) to
# the server? Not in stream mode, nor behind lighttpd, which would follow
# a directory swapped for a symlink (sluice streams those there).
it_offloads_nested() { ! it_streaming && [ "$IT_SERVER" != lighttpd ]; }

# One value from sluice's state database.
access_sql() { sqlite3 -batch -noheader "$STATE_DB" "$1"; }

# Number of requests sluice has logged.
requests() { grep -c 'event=request ' "$LOG"; }

# log_has WHAT ERE: an assertion that sluice's log has a matching line.
log_has() { it_check "$1" grep -Eq -- "$2" "$LOG"; }

# log_lacks WHAT ERE: ... and that it has none.
log_lacks() { it_check "$1" it_not grep -Eq -- "$2" "$LOG"; }

# The fixtures every suite run and check.sh use: the export root, the
# jobs database from seed.sql. With "light", no 50 and 100 MB files (only
# the shell cases of run.sh use them).
suite_fixtures() {
	local u="$IT_ROOT/dir with space/résumé € 1+1=2 #x?.bin"
	mkdir -p "$IT_ROOT/data" "$IT_ROOT/dir" "$IT_DOCROOT" "${u%/*}" ||
	    return 1
	printf 'hello, world\n' >"$IT_ROOT/hello.txt"
	: >"$IT_ROOT/empty.bin"
	head -c 1048576 /dev/urandom >"$IT_ROOT/data/1m.bin"
	head -c 1024 /dev/urandom >"$IT_ROOT/1k.bin"
	head -c 1000 /dev/urandom >"$u"
	if [ "${1:-}" != light ]; then
		head -c 52428800 /dev/urandom >"$IT_ROOT/50m.bin"
		head -c 104857600 /dev/urandom >"$IT_ROOT/shrink.bin"
	fi
	truncate -s 5G "$IT_ROOT/big5.bin"
	mkfifo "$IT_ROOT/fifo"
	printf 'secret\n' >"$IT_DIR/secret.txt"
	ln -s ../secret.txt "$IT_ROOT/link-out.txt"
	ln -s hello.txt "$IT_ROOT/link-in.txt"
	ln -s data "$IT_ROOT/linkdir"
	suite_fixtures_offload || return 1
	# The static copy lighttpd serves for the throughput comparison.
	ln "$IT_ROOT/big5.bin" "$IT_DOCROOT/big5.bin"
	sqlite3 "$IT_DIR/jobs.db" <sql/schema.sql || return 1
	sed "s|@SECRET@|$IT_DIR/secret.txt|" tests/integration/seed.sql |
	    sqlite3 "$IT_DIR/jobs.db"
}

# Issue 17's files: the race's inside and outside copies (one marker
# each, the same size), a name that is not UTF-8, a file only its owner
# (root, as the tests run; the servers run as www-data) may read, a
# directory www-data may not search, and a 4,080-byte relative path
# (past PATH_MAX beneath the root, so only sluice's openat2 reaches it).
suite_fixtures_offload() {
	local seg p="" i
	mkdir -p "$IT_ROOT/racedir" "$IT_DIR/raceout" "$IT_ROOT/sealed" ||
	    return 1
	yes inside-race-file | head -c 65536 >"$IT_ROOT/racedir/f.bin"
	cp "$IT_ROOT/racedir/f.bin" "$IT_ROOT/raceflat.bin"
	yes OUTSIDE-SECRET | head -c 65536 >"$IT_DIR/raceout/f.bin"
	ln -s "$IT_DIR/raceout" "$IT_ROOT/racedir.swap"
	ln -s "$IT_DIR/raceout/f.bin" "$IT_ROOT/raceflat.swap"
	printf 'hello, world\n' >"$IT_ROOT/"$'lat\xe9.txt'
	printf 'hello, world\n' >"$IT_ROOT/owneronly.txt"
	chmod 0600 "$IT_ROOT/owneronly.txt"
	printf 'hello, world\n' >"$IT_ROOT/sealed/hello.txt"
	chmod 0700 "$IT_ROOT/sealed"
	seg=$(printf 'a%.0s' $(seq 199))
	for i in $(seq 20); do p="$p$seg/"; done
	mkdir -p "$IT_ROOT/$p" &&
	    (cd "$IT_ROOT/$p" && printf 'hello, world\n' >"$(printf 'f%.0s' \
	    $(seq 80))") || return 1
}

# The data cases against this server and mode (IT_CASES: other files).
suite_cases() {
	# shellcheck disable=SC2086
	it_cases "$IT_SERVER" "$IT_MODE" \
	    ${IT_CASES:-"$IT_TOP"/tests/integration/cases/*.txt}
}

# ------------------------------------------------- what the cases logged
# After the data cases: sluice's log lines for them, and the state they
# left. it_sentinel first, so that every earlier line is in.
test_file_errors_log() {
	it_sentinel files
	log_has "confinement: escapes are logged as security events" \
	    'event=security reason=escape id=dotdot '
	log_has "confinement: absolute path logged as a security event" \
	    'event=security reason=absolute_path id=absolute '
	log_has "confinement: symlink logged as a security event" \
	    'event=security reason=symlink id=linkout '
	log_has "size mismatch is logged" \
	    'reason=size_mismatch id=sizediff .*expected=12 actual=13'
	log_has "FIFO is refused as not regular (no hang)" \
	    'reason=not_regular id=fifo '
	log_has "confinement: a dot segment is logged as a security event" \
	    'event=security reason=path_not_plain id=dotin '
}

test_logging() {
	local want='bytes=13 .*outcome=complete'
	it_streaming || want='bytes=0 .*outcome=offloaded'
	log_has "log: one request line per answered request" \
	    "event=request method=GET id=hello status=200 reason=ok range=- counts=1 $want"
	log_lacks "log: the token never reaches the log" 's3cret'
	log_lacks "log: no body byte reaches the log" 'hello, world'
	log_lacks "tokens: no token reaches the log" 's3cret|guess|token='
	log_has "own:alice: sluice saw user alice" \
	    'id=owned status=200 .* user="alice" path="/private/download/owned/hello.txt"( |$)'
	log_has "own:bob: sluice saw user bob" 'id=owned status=403 .* user="bob"'
}

# -------------------------------------------- curl -C -, and what counts
test_ranges_curl() {
	local n counts want
	# curl -C -: resume a partial download, and get the same bytes.
	head -c 300000 "$IT_ROOT/data/1m.bin" >"$IT_DIR/b.resume"
	R_NAME=resume
	R_STATUS=$(curl -sS --max-time 20 -C - -o "$IT_DIR/b.resume" \
	    -w '%{http_code}' "$BASE/download/m1")
	it_expect_status 206
	it_expect_body_sha_of "$IT_ROOT/data/1m.bin"
	it_sentinel resume
	# The cases m1 and seg0 opened this client's download of m1 and
	# joined it; the resume joins it too.
	if ! it_offloads_nested; then
		log_has "resume: logged as joining the client's open download" \
		    'id=m1 status=206 reason=ok range=300000-1048575 counts=0 bytes=748576 .*outcome=complete'
	else
		log_has "resume: logged as an offloaded 206 joining the client's open download" \
		    'id=m1 status=206 reason=ok range=300000-1048575 counts=0 bytes=0 .*outcome=offloaded'
	fi
	# One client, one download: its first 200/206 of m1 opened it
	# (counts=1), every later one joined it, the segment from byte 0
	# (case seg0) too.
	log_has "counting: a segment from byte 0 joins the open download" \
	    'id=m1 status=20[06] reason=ok range=0-524287 counts=0 '
	counts=$(grep -E 'event=request method=GET id=m1 status=20[06] ' "$LOG" |
	    sed -n 's/.* counts=\([0-9]*\) .*/\1/p' | tr -d '\n')
	n=${#counts}
	want=1$(printf '%*s' $((n - 1)) '' | tr ' ' 0)
	it_expect_eq "counting: m1's first 200/206 opened the download, the $((n - 1)) later ones joined it" \
	    "$want" "$counts"
	it_check "counting: m1 has one download (127.0.0.1) of $n responses" \
	    it_wait_for 5 it_sql_is "$STATE_DB" "SELECT count(*), sum(responses),
	    group_concat(remote_addr) FROM downloads WHERE job_id = 'm1'" \
	    "1|$n|127.0.0.1"
	log_lacks "counting: HEAD and 304 never count" \
	    'method=HEAD .*counts=1|status=304 .*counts=1'
	# wget -c of a file it has whole: Range: bytes=<size>-, a 416, and
	# the log says which range (offloaded, the server answers it).
	it_streaming || return 0
	mkdir -p "$IT_DIR/w416" && cp "$IT_ROOT/data/1m.bin" "$IT_DIR/w416/m1"
	(cd "$IT_DIR/w416" && wget -q -c -T 20 "$BASE/download/m1") || :
	log_has "416: wget -c of a whole file is logged with its Range" \
	    'id=m1 status=416 reason=[a-z_]+ range="bytes=1048576-" counts=0 '
}

# ---------------------------------------------------- abort and truncation
test_abort() {
	it_streaming || return 0
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
	it_shrink_get shrink
	it_log "     truncation: $GOT bytes, the cut reached curl after $MS ms"
	it_check "truncation: logged as error:short_read" \
	    it_wait_grep "$LOG" 10 'id=shrink status=200 .*outcome=error:short_read'
	it_get aftershrink /download/hello
	it_expect_status 200
}

# ---------------------------------------------------------- owner, mod_auth
# What sluice saw of the clients' claims: REMOTE_USER only from the
# authenticated location, never from a client's unverified Authorization
# header; a wrong password never reaches sluice. The requests whose
# answer alone is the point are cases/70-owner.txt.
test_owner() {
	local n
	# Public location: no REMOTE_USER, whatever the client claims.
	n=$(it_count "$LOG" 'id=owned status=403 .* user="" path="/download/owned"( |$)')
	it_get own:public /download/owned
	it_expect_status 403
	it_expect_body 'forbidden'
	it_get own:publicclaim /download/owned -u alice:alice-pw
	it_expect_status 403
	it_get own:claim /download/owned -u alice:anything
	it_expect_status 403
	it_get own:claimhdr /download/owned -H 'Remote-User: alice'
	it_expect_status 403
	it_sentinel claims
	it_expect_eq "owner: sluice saw no user for any of the 4 claims" \
	    $((n + 4)) \
	    "$(it_count "$LOG" 'id=owned status=403 .* user="" path="/download/owned"( |$)')"

	# A wrong password, an unknown user, a malformed header: the
	# server's 401, and sluice never sees the request.
	n=$(requests)
	it_get own:badpw /private/download/owned -u alice:wrong
	it_expect_status 401
	it_expect_no_file
	it_get own:nouser /private/download/owned -u mallory:alice-pw
	it_expect_status 401
	# lighttpd answers a malformed Authorization header 400.
	it_get own:hdronly /private/download/owned -H 'Authorization: Basic !!'
	if [ "$IT_SERVER" = lighttpd ]; then
		it_expect_status 400
	else
		it_expect_status 401
	fi
	it_expect_no_file
	it_sentinel badpw
	it_expect_eq "own:badpw: no request reached sluice (only the sentinel)" \
	    $((n + 1)) "$(requests)"

	it_check "owner: the file went out only to alice (2 requests)" \
	    [ "$(it_count "$LOG" 'id=owned status=20[06] ')" -eq 2 ]
	it_expect_eq "owner: every 200/206 for owned was alice's" \
	    "$(it_count "$LOG" 'id=owned status=20[06] ')" \
	    "$(it_count "$LOG" 'id=owned status=20[06] .* user="alice" ')"
}

# race JOB N: N simultaneous first downloads of JOB, client k (1..N) from
# address 127.0.0.(k+1), so N clients; sets RACE_OK (200s) and RACE_GONE
# (410s).
race() {
	local k code curls=()
	RACE_OK=0 RACE_GONE=0
	for k in $(seq 1 "$2"); do
		curl -sS --max-time 20 --interface "$(it_addr $((k + 1)))" \
		    -o /dev/null -w '%{http_code}\n' \
		    "$BASE/download/$1" >"$IT_DIR/race.$k" &
		curls+=($!)
	done
	wait "${curls[@]}"
	for k in $(seq 1 "$2"); do
		code=$(cat "$IT_DIR/race.$k")
		[ "$code" = 200 ] && RACE_OK=$((RACE_OK + 1))
		[ "$code" = 410 ] && RACE_GONE=$((RACE_GONE + 1))
	done
}

# race_segments JOB FILE N: one client (127.0.0.1) asks for FILE in N
# ranges at once, N simultaneous requests; sets SEG_OK (206s) and leaves
# the pieces joined in $IT_DIR/b.segments.
race_segments() {
	local k size step a b curls=()
	size=$(stat -c %s "$2")
	step=$(((size + $3 - 1) / $3))
	SEG_OK=0
	for k in $(seq 0 $(($3 - 1))); do
		a=$((k * step)) b=$(((k + 1) * step - 1))
		[ "$b" -lt "$size" ] || b=$((size - 1))
		curl -sS --max-time 20 -r "$a-$b" -o "$IT_DIR/seg.$k" \
		    -w '%{http_code}\n' "$BASE/download/$1" \
		    >"$IT_DIR/seg.$k.code" &
		curls+=($!)
	done
	wait "${curls[@]}"
	: >"$IT_DIR/b.segments"
	for k in $(seq 0 $(($3 - 1))); do
		[ "$(cat "$IT_DIR/seg.$k.code")" = 206 ] && SEG_OK=$((SEG_OK + 1))
		cat "$IT_DIR/seg.$k" >>"$IT_DIR/b.segments"
	done
}

# --------------------------------------------------------- download limits
# One client after another is cases/80-limits.txt; here what they left in
# the state database, and clients racing.
test_limits() {
	# 127.0.0.1 opened limit1's one download and joined it three times;
	# 127.0.0.2's three requests got 410 and left no row.
	it_check "limits: limit1 has one download, 127.0.0.1's: 4 responses, complete" \
	    it_wait_for 5 it_sql_is "$STATE_DB" "SELECT count(*),
	    group_concat(remote_addr), sum(responses), sum(complete)
	    FROM downloads WHERE job_id = 'limit1'" "1|127.0.0.1|4|1"
	it_check "limits: limit1's 4 responses: the first opened the download, 3 joined it" \
	    [ "$(access_sql "SELECT group_concat(counts, '') FROM (SELECT counts
	    FROM responses WHERE job_id = 'limit1' ORDER BY id) AS r")" = 1000 ]
	it_check "limits: the other client's 3 requests were refused" \
	    [ "$(it_count "$LOG" 'id=limit1 status=410 .* remote="127\.0\.0\.2" ')" -eq 3 ]

	# Ten clients (ten addresses) at once for a job limited to one.
	race race1 10
	it_check "race: exactly one of 10 racing clients got 200 ($RACE_OK, $RACE_GONE gone)" \
	    [ "$RACE_OK" -eq 1 -a "$RACE_GONE" -eq 9 ]
	# Thirty clients at once for a job limited to three: the check and
	# the opening are one step, so a batch cannot let a fourth through.
	race race3 30
	it_check "race: exactly 3 of 30 racing clients of a limit-3 job got 200 ($RACE_OK, $RACE_GONE gone)" \
	    [ "$RACE_OK" -eq 3 -a "$RACE_GONE" -eq 27 ]
	it_check "race: 3 downloads of the limit-3 job, by 3 clients, 3 responses" \
	    it_wait_for 5 it_sql_is "$STATE_DB" "SELECT count(*),
	    count(DISTINCT remote_addr), sum(responses) FROM downloads
	    WHERE job_id = 'race3'" "3|3|3"
	# Thirty segments of one client at once, on a job limited to one:
	# the first opens the download, the 29 others join it.
	race_segments raceseg "$IT_ROOT/data/1m.bin" 30
	it_check "race: all 30 racing segments of one client got 206 ($SEG_OK)" \
	    [ "$SEG_OK" -eq 30 ]
	R_NAME=segments
	it_expect_body_sha_of "$IT_ROOT/data/1m.bin"
	it_audit_wait_all_closed "$STATE_DB" raceseg
	it_check "race: the 30 segments are one download: 30 responses, every byte covered, complete" \
	    it_wait_for 5 it_sql_is "$STATE_DB" "SELECT count(*), sum(responses),
	    sum(covered), sum(complete) FROM downloads WHERE job_id = 'raceseg'" \
	    "1|30|1048576|1"
	it_check "race: one of the 30 responses opened it" \
	    [ "$(access_sql "SELECT count(*), sum(counts), count(DISTINCT
	    download_id) FROM responses WHERE job_id = 'raceseg'")" = "30|1|1" ]
}

# ------------------------------------------------------------ audit trail
test_audit() {
	local row logbytes
	# Offloaded: the bytes are the server's (its access log has them).
	local full='1048576|complete' part='1000|complete'
	! it_offloads_nested || { full='0|offloaded'; part='0|offloaded'; }
	it_get aud:complete /download/audited
	it_expect_status 200
	it_wait_grep "$LOG" 5 'id=audited status=200 '
	it_audit_wait_closed "$STATE_DB" audited
	row=$(access_sql "SELECT status, counts, range_start, range_end, bytes_sent, outcome, remote_addr FROM responses WHERE job_id = 'audited' ORDER BY id DESC LIMIT 1")
	it_check "audit: complete row ($row)" \
	    [ "$row" = "200|1|0|1048575|$full|127.0.0.1" ]
	it_get aud:range /download/audited -H 'Range: bytes=1000-1999'
	it_expect_status 206
	it_wait_grep "$LOG" 5 'id=audited status=20[06] .*range=1000-1999 '
	it_audit_wait_closed "$STATE_DB" audited
	row=$(access_sql "SELECT status, counts, range_start, range_end, bytes_sent, outcome FROM responses WHERE job_id = 'audited' ORDER BY id DESC LIMIT 1")
	it_check "audit: range row ($row)" \
	    [ "$row" = "206|0|1000|1999|$part" ]
	it_get aud:owner /private/download/owned -u alice:alice-pw
	it_check "audit: the authenticated user is recorded" \
	    it_wait_for 5 it_sql_is "$STATE_DB" "SELECT remote_user FROM responses WHERE job_id = 'owned' ORDER BY id DESC LIMIT 1" alice
	it_check "audit: 304, HEAD and errors leave no row" \
	    [ "$(access_sql "SELECT count(*) FROM responses WHERE status NOT IN (200, 206)")" = 0 ]
	it_streaming || return 0
	# A client that hangs up: the row and the log agree on the bytes.
	curl -sS --max-time 20 "$BASE/download/audited50" 2>/dev/null |
	    head -c 1048576 >/dev/null
	it_wait_grep "$LOG" 10 'id=audited50 status=200 .*outcome=aborted:client'
	it_audit_wait_closed "$STATE_DB" audited50
	logbytes=$(grep 'id=audited50 status=200' "$LOG" | tail -n 1 |
	    sed 's/.* bytes=\([0-9]*\) .*/\1/')
	row=$(access_sql "SELECT bytes_sent, outcome FROM responses WHERE job_id = 'audited50' ORDER BY id DESC LIMIT 1")
	it_check "audit: client-aborted row ($row, log bytes=$logbytes)" \
	    [ "$row" = "$logbytes|aborted:client" -a "$logbytes" -lt 52428800 ]
}

# Offloaded: the server's access log has the bytes sluice cannot know (read
# after the server stopped: lighttpd writes its log in batches).
test_server_log() {
	it_streaming && return 0
	it_check "$IT_SERVER: access log has the offloaded 200's bytes" \
	    grep -Eq 'GET /download/m1[" ].* 200 1048576 ' \
	    "$IT_DIR/$IT_SERVER-access.log"
}

# --------------------------------------------------- offload (issue 17)
# Every shipped config drops privileges: the processes that serve
# (lighttpd itself, nginx's and Apache's children) run as www-data when
# the server is started as root. lighttpd as root read every X-Sendfile
# path as root.
test_privileges() {
	local users
	[ "$(id -u)" -eq 0 ] || return 0
	if [ "$IT_SERVER" = lighttpd ]; then
		users=$(ps -o user= -p "$SRV_PID")
	else
		users=$(ps -o user= --ppid "$SRV_PID" | sort -u)
	fi
	it_expect_eq "$IT_SERVER $IT_MODE: the serving processes run as www-data" \
	    www-data "$(echo $users)"
}

# Item 3: an answer that delivers nothing leaves no download (the data
# cases asked: a 304, a 412, a 416, and in offload mode the files a
# server could not open), so the job's one download is still there for
# another client. A withdrawn download is freed with the audit writer's
# next batch, hence the wait.
test_nothing_counted() {
	local job jobs="lim304 lim412 lim416"
	if ! it_streaming; then
		jobs="$jobs owneronly"
		[ "$IT_SERVER" != lighttpd ] || jobs="$jobs latin1"
	fi
	it_sentinel nothing
	for job in $jobs; do
		it_check "counting: $job's answer left no download" \
		    it_wait_for 5 it_sql_is "$STATE_DB" "SELECT count(*)
		    FROM downloads WHERE job_id = '$job'" 0
	done
	for job in lim304 lim412 lim416; do
		it_get "$job:next" "/download/$job" --interface "$(it_addr 5)"
		it_expect_status 200
		it_expect_body_sha_of "$IT_ROOT/hello.txt"
	done
}

# race_run JOB REAL SWAP: race.py for 3 s against JOB while REAL (under
# the root) and SWAP (a symlink beside it, to the outside copy) trade
# places; no byte of the outside file may reach a client.
race_run() {
	local out rc
	out=$(python3 tests/integration/race.py --url "$BASE/download/$1" \
	    --path "$IT_ROOT/$2" --swap "$IT_ROOT/$3" --marker OUTSIDE-SECRET \
	    --sha256 "$(sha256sum <"$IT_ROOT/racedir/f.bin" | cut -d' ' -f1)" \
	    --seconds 3 2>&1)
	rc=$?
	it_check "race $1: a symlink swapped in during downloads never leaks a byte from outside ($out)" \
	    [ "$rc" -eq 0 ]
}

# Item 1: a directory under the root, and the file itself, swapped for a
# symlink to the same name outside while downloads run (renameat2,
# RENAME_EXCHANGE). nginx opens each segment with O_NOFOLLOW
# (disable_symlinks); lighttpd only the last one, so sluice streams a
# nested path there. Apache's mod_xsendfile follows symlinks: sluice
# refuses x-sendfile without --offload-symlink-race accept (run.sh,
# test_startup), and the race is not run behind it.
test_offload_race() {
	it_streaming && return 0
	[ "$IT_SERVER" = apache ] && return 0
	race_run racedir racedir racedir.swap
	race_run raceflat raceflat.bin raceflat.swap
}

# Item 6: no log anywhere holds a token (the server's error and access
# logs, sluice's), after toksealed made the server's own open fail
# (cases/40-files.txt). Read after the server stopped (lighttpd writes
# its logs in batches).
test_token_logs() {
	local f found=""
	for f in "$IT_DIR"/*.log; do
		grep -q 's3cret' "$f" && found="$found ${f##*/}"
	done
	it_check "$IT_SERVER $IT_MODE: no log holds a token (${found:-none})" \
	    [ -z "$found" ]
}

# The whole suite behind the running server, in IT_SERVER and IT_MODE.
suite_all() {
	suite_cases
	test_file_errors_log
	test_ranges_curl
	test_logging
	test_abort
	test_owner
	test_limits
	test_audit
	test_nothing_counted
	test_privileges
	test_offload_race
}
