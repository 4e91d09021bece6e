# Access control, download limits and the audit trail, behind the same
# lighttpd (mod_auth guards /private/download/). Sourced by run.sh.

STATE_DB=
# One value from sluice's state database.
access_sql() { sqlite3 -batch -noheader "$STATE_DB" "$1"; }

# ------------------------------------------------------------------ tokens
test_tokens() {
	local name want t
	it_get tokok '/download/tok?token=s3cret-token'
	it_expect_status 200
	it_expect_body_sha_of "$IT_ROOT/hello.txt"
	it_get tokunknown /download/no-such-job
	want=$(it_dump tokunknown)
	# Wrong, missing, truncated, NUL, SQL-looking: the same 404 bytes.
	for t in 'guess' '' 's3cret-tok' \
	    "%27%20OR%20%271%27%3D%271" 's3cret-token%20' 'S3CRET-TOKEN'; do
		name="tok:$t"
		it_get "$name" "/download/tok?token=$t"
		it_expect_status 404
		it_check "$name: the same bytes as an unknown id" \
		    [ "$(it_dump "$name")" = "$want" ]
	done
	# lighttpd itself refuses a %00 in the query (its own 400); sluice's
	# own answer (no token: 404) is pinned by the unit tests.
	it_get toknul '/download/tok?token=s3cret-token%00'
	it_check "toknul: refused (status $R_STATUS), no file bytes" \
	    bash -c "[ '$R_STATUS' = 400 -o '$R_STATUS' = 404 ] &&
	        ! grep -q 'hello, world' '$IT_DIR/b.toknul'"
	it_get toknone /download/tok
	it_check "toknone: the same bytes as an unknown id" \
	    [ "$(it_dump toknone)" = "$want" ]
	# 10 KB: refused before any file byte (by lighttpd or by sluice).
	it_get toklong "/download/tok?token=$(head -c 10240 /dev/zero | tr '\0' a)"
	it_check "toklong: refused (status $R_STATUS)" \
	    bash -c "[ '$R_STATUS' = 400 ] || [ '$R_STATUS' = 414 ] || [ '$R_STATUS' = 431 ]"
	it_check "toklong: no file bytes" \
	    bash -c "! grep -q 'hello, world' '$IT_DIR/b.toklong'"
	it_check "tokens: no token reaches the log" \
	    bash -c "! grep -Eq 's3cret|guess|token=' '$LOG'"
}

# ---------------------------------------------------------- owner, mod_auth
test_owner() {
	# Public location: no REMOTE_USER, whatever the client claims.
	it_get own:public /download/owned
	it_expect_status 403
	it_get own:publicclaim /download/owned -u alice:alice-pw
	it_expect_status 403
	# The authenticated location.
	it_get own:noauth /private/download/owned
	it_expect_status 401
	it_get own:alice /private/download/owned/hello.txt -u alice:alice-pw
	it_expect_status 200
	it_expect_body_sha_of "$IT_ROOT/hello.txt"
	it_get own:bob /private/download/owned -u bob:bob-pw
	it_expect_status 403
	it_expect_body 'forbidden'
	it_get own:badpw /private/download/owned -u alice:wrong
	it_expect_status 401
	it_check "owner: a wrong password never reaches sluice" \
	    bash -c "! grep -q 'user=\"alice\" path=\"/private/download/owned\"' <(grep status=403 '$LOG')"
	# Dot segments that leave the authenticated location after
	# normalisation never reach the owner's file.
	it_get own:dots1 /private/download/../download/owned -u alice:wrong
	it_check "own:dots1: no file (status $R_STATUS)" \
	    bash -c "[ '$R_STATUS' = 400 -o '$R_STATUS' = 401 -o '$R_STATUS' = 403 ]"
	it_get own:dots2 /private/download/owned/.. -u alice:alice-pw
	it_expect_status 400
	it_get own:dots3 /download/../private/download/owned
	it_expect_status 401
	it_get own:dots4 /download/owned/../../private/download/owned -u bob:bob-pw
	it_check "own:dots4: not the file (status $R_STATUS)" \
	    bash -c "[ '$R_STATUS' != 200 ]"
	it_check "owner: alice's file went out exactly once" \
	    [ "$(grep -c 'id=owned status=200' "$LOG")" -eq 1 ]
}

# --------------------------------------------------------- download limits
test_limits() {
	local k ok=0 gone=0 code
	it_get lim:first /download/limit1
	it_expect_status 200
	# A resumed download and a HEAD do not count: still allowed.
	it_get lim:resume /download/limit1 -H 'Range: bytes=5-'
	it_expect_status 206
	it_expect_body ', world'
	it_get lim:head /download/limit1 -I
	it_expect_status 200
	# A second full download: the limit is reached.
	it_get lim:second /download/limit1
	it_expect_status 410
	it_expect_body 'this download is no longer available'
	it_get lim:zero /download/limit1 -H 'Range: bytes=0-4'
	it_expect_status 410
	it_get lim:none /download/limit0
	it_expect_status 410
	it_check "limits: the counted rows" \
	    [ "$(access_sql "SELECT count(*) FROM downloads WHERE job_id = 'limit1' AND counts = 1")" = 1 ]

	# Ten simultaneous first downloads of a job limited to one.
	for k in $(seq 1 10); do
		curl -sS --max-time 20 -o /dev/null -w '%{http_code}\n' \
		    "$BASE/download/race1" >"$IT_DIR/race.$k" &
		POOL_CURLS+=($!)
	done
	wait "${POOL_CURLS[@]}"
	POOL_CURLS=()
	for k in $(seq 1 10); do
		code=$(cat "$IT_DIR/race.$k")
		[ "$code" = 200 ] && ok=$((ok + 1))
		[ "$code" = 410 ] && gone=$((gone + 1))
	done
	it_check "race: exactly one of 10 racing first downloads got 200 ($ok, $gone gone)" \
	    [ "$ok" -eq 1 -a "$gone" -eq 9 ]

	# Thirty at once for a job limited to three: the rows of one commit
	# are counted in order, so a batch cannot let a fourth through.
	ok=0 gone=0
	for k in $(seq 1 30); do
		curl -sS --max-time 20 -o /dev/null -w '%{http_code}\n' \
		    "$BASE/download/race3" >"$IT_DIR/race.$k" &
		POOL_CURLS+=($!)
	done
	wait "${POOL_CURLS[@]}"
	POOL_CURLS=()
	for k in $(seq 1 30); do
		code=$(cat "$IT_DIR/race.$k")
		[ "$code" = 200 ] && ok=$((ok + 1))
		[ "$code" = 410 ] && gone=$((gone + 1))
	done
	it_check "race: exactly 3 of 30 racing downloads of a limit-3 job got 200 ($ok, $gone gone)" \
	    [ "$ok" -eq 3 -a "$gone" -eq 27 ]
	it_check "race: 3 counted rows for the limit-3 job" \
	    [ "$(access_sql "SELECT count(*) FROM downloads WHERE job_id = 'race3' AND counts = 1")" = 3 ]
}

# ------------------------------------------------------------ audit trail
test_audit() {
	local row logbytes
	it_get aud:complete /download/audited
	it_expect_status 200
	it_audit_wait_closed "$STATE_DB" audited
	row=$(access_sql "SELECT status, counts, range_start, range_end, bytes_sent, outcome, remote_addr FROM downloads WHERE job_id = 'audited' ORDER BY id DESC LIMIT 1")
	it_check "audit: complete row ($row)" \
	    [ "$row" = "200|1|0|1048575|1048576|complete|127.0.0.1" ]
	it_get aud:range /download/audited -H 'Range: bytes=1000-1999'
	it_audit_wait_closed "$STATE_DB" audited
	row=$(access_sql "SELECT status, counts, range_start, range_end, bytes_sent, outcome FROM downloads WHERE job_id = 'audited' ORDER BY id DESC LIMIT 1")
	it_check "audit: range row ($row)" \
	    [ "$row" = "206|0|1000|1999|1000|complete" ]
	# A client that hangs up: the row and the log agree on the bytes.
	curl -sS --max-time 20 "$BASE/download/audited50" 2>/dev/null |
	    head -c 1048576 >/dev/null
	it_wait_grep "$LOG" 10 'id=audited50 status=200 .*outcome=aborted:client'
	it_audit_wait_closed "$STATE_DB" audited50
	logbytes=$(grep 'id=audited50 status=200' "$LOG" | tail -n 1 |
	    sed 's/.* bytes=\([0-9]*\) .*/\1/')
	row=$(access_sql "SELECT bytes_sent, outcome FROM downloads WHERE job_id = 'audited50' ORDER BY id DESC LIMIT 1")
	it_check "audit: client-aborted row ($row, log bytes=$logbytes)" \
	    [ "$row" = "$logbytes|aborted:client" -a "$logbytes" -lt 52428800 ]
	it_get aud:owner /private/download/owned -u alice:alice-pw
	it_check "audit: the authenticated user is recorded" \
	    [ "$(access_sql "SELECT remote_user FROM downloads WHERE job_id = 'owned' ORDER BY id DESC LIMIT 1")" = alice ]
	it_check "audit: 304, HEAD and errors leave no row" \
	    [ "$(access_sql "SELECT count(*) FROM downloads WHERE status NOT IN (200, 206)")" = 0 ]
}

# ------------------------------------------------- a locked state database
test_audit_locked() {
	local holder
	(printf '.timeout 5000\nBEGIN EXCLUSIVE;\nSELECT 1;\n'; sleep 6;
	    printf 'COMMIT;\n') | sqlite3 "$STATE_DB" >/dev/null &
	holder=$!
	# Until another writer is refused, the lock is not held yet.
	for _ in $(seq 1 50); do
		sqlite3 "$STATE_DB" 'BEGIN IMMEDIATE; ROLLBACK;' 2>/dev/null ||
		    break
		sleep 0.05
	done
	# A limited job is never served uncounted: 503.
	it_get lock:limited /download/limitlock
	it_expect_status 503
	it_expect_header 'Retry-After: 5'
	# Other jobs are served, and the failure is logged.
	it_get lock:free /download/hello
	it_expect_status 200
	it_expect_body_sha_of "$IT_ROOT/hello.txt"
	it_check "locked state db: logged as audit_error" \
	    grep -q 'event=audit_error op=begin id=hello' "$LOG"
	wait "$holder"
	it_get lock:after /download/limitlock
	it_expect_status 200
}
