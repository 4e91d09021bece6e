# The worker pool and its lifecycle, behind the same lighttpd. Sourced by
# tests/integration/run.sh, which has the fixtures, lighttpd on $SOCK and
# the helpers of lib.sh. Processes started here are recorded by pid and
# stopped by pid.

# Start sluice itself (not spawn-fcgi) in the background as a child of this
# shell, so its exit status can be collected; pid in DIRECT_PID.
pool_direct_start() {
	"$@" &
	DIRECT_PID=$!
	IT_PIDS+=("$DIRECT_PID")
}

# The release build started directly on this test's database, root and
# log, with the options given; pid in DIRECT_PID.
pool_sluice() {
	pool_direct_start "$BIN_RELEASE" --db "$IT_DIR/jobs.db" \
	    --root "$IT_ROOT" --log-file "$LOG" \
	    --url-prefix /download/,/private/download/ "$@"
}

# Wait (max $2 s) for pid $1 to exit; its status in DIRECT_RC.
pool_direct_wait() {
	local pid=$1 secs=$2
	if ! it_wait_for "$secs" it_dead "$pid"; then
		DIRECT_RC=timeout
		return 1
	fi
	wait "$pid" 2>/dev/null
	DIRECT_RC=$?
}

# N background downloads of PATH into $IT_DIR/par.K; curl options follow.
pool_fetch_bg() {
	local n=$1 path=$2 k
	shift 2
	POOL_CURLS=()
	for k in $(seq 1 "$n"); do
		curl -sS --max-time 60 "$@" -o "$IT_DIR/par.$k" \
		    -w '%{http_code}\n' "$BASE$path" >"$IT_DIR/par.$k.code" \
		    2>/dev/null &
		POOL_CURLS+=($!)
	done
}

# ------------------------------------------------------------ concurrency
test_pool_concurrency() {
	local want k ok=0 t0 t1 rss=0 p first
	want=$(it_sha "$IT_ROOT/50m.bin")
	first=$(access_sql "SELECT coalesce(max(id), 0) FROM responses")
	t0=$(date +%s%N)
	for k in $(seq 1 64); do
		(curl -sS --max-time 120 "$BASE/download/m50" | sha256sum |
		    cut -d' ' -f1 >"$IT_DIR/par.$k.sha") &
		POOL_CURLS+=($!)
	done
	# Mid-run: every request thread (2 x 8) is serving one.
	it_wait_started "$STATE_DB" m50 10 16 "$first"
	for p in $(it_workers "$SLUICE_PID"); do
		rss=$((rss + $(awk '/^VmRSS:/ {print $2}' "/proc/$p/status")))
	done
	wait "${POOL_CURLS[@]}"
	t1=$(date +%s%N)
	for k in $(seq 1 64); do
		[ "$(cat "$IT_DIR/par.$k.sha")" = "$want" ] && ok=$((ok + 1))
	done
	it_check "pool: 64 concurrent 50 MB downloads, $ok byte-exact" \
	    [ "$ok" -eq 64 ]
	it_log "     64 x 50 MB in $(( (t1 - t0) / 1000000 )) ms;" \
	    "workers' total RSS mid-run ${rss} kB"
}

# pool_replaced SUPERVISOR VICTIM: 2 workers again, the victim not one.
pool_replaced() {
	it_has_workers "$1" 2 && ! it_workers "$1" | grep -qx "$2"
}

# ------------------------------------------------------- kill -9, respawn
test_pool_respawn() {
	local victim t0 t1 before after row first
	before=$(it_workers "$SLUICE_PID" | tr '\n' ' ')
	first=$(access_sql "SELECT coalesce(max(id), 0) FROM responses")
	pool_fetch_bg 1 /download/m50 --limit-rate 10M
	it_wait_started "$STATE_DB" m50 5 1 "$first"
	# The worker serving it, from its audit row (only this download's:
	# the ends of earlier ones may not be committed yet).
	victim=$(access_sql "SELECT pid FROM responses WHERE id > $first AND job_id = 'm50' AND outcome = 'started' ORDER BY id DESC LIMIT 1")
	it_check "respawn: the download in flight has a 'started' row (pid $victim)" \
	    bash -c "pgrep -P $SLUICE_PID | grep -qx '$victim'"
	t0=$(date +%s%N)
	kill -KILL "$victim"
	it_check "respawn: the pool is back to 2 workers within 2 s" \
	    it_wait_for 2 pool_replaced "$SLUICE_PID" "$victim"
	t1=$(date +%s%N)
	after=$(it_workers "$SLUICE_PID" | tr '\n' ' ')
	it_log "     workers before: $before; after: $after;" \
	    "back to full strength $(( (t1 - t0) / 1000000 )) ms after kill -9"
	it_check "respawn: the death is logged" \
	    it_wait_grep "$LOG" 5 "event=worker_died pid=$victim signal=9"
	wait "${POOL_CURLS[@]}"
	row=$(access_sql "SELECT outcome FROM responses WHERE job_id = 'm50' AND pid = $victim ORDER BY id DESC LIMIT 1")
	it_check "respawn: the killed download's row is closed as lost ($row)" \
	    [ "$row" = aborted:lost ]
	it_get afterkill /download/hello
	it_expect_status 200
	it_expect_body_sha_of "$IT_ROOT/hello.txt"
	it_get afterkill2 /download/m1
	it_expect_status 200
	it_expect_body_sha_of "$IT_ROOT/data/1m.bin"
}

# ------------------------------------------------------------------ SIGHUP
test_pool_sighup() {
	mv "$LOG" "$LOG.1"
	kill -HUP "$SLUICE_PID"
	# Reopened: no process of the pool holds the rotated file.
	it_wait_for 5 it_no_fd_to "$LOG.1" "$SLUICE_PID" \
	    $(it_workers "$SLUICE_PID")
	it_get afterhup /download/hello/after-hup.txt
	it_expect_status 200
	it_check "SIGHUP: the workers reopened the log file" \
	    it_wait_grep "$LOG" 5 'path="/download/hello/after-hup.txt"'
	it_check "SIGHUP: nothing more went to the rotated file" \
	    bash -c "! grep -q after-hup '$LOG.1'"
}

# ----------------------------------------------------------- slow readers
# sluice cuts the reader; the client learns of it only once lighttpd has
# sent what it had buffered, so what is checked is sluice's side: the
# thread is freed and the log says why.
test_pool_slow() {
	local t0 t1 rc
	# A steady reader above the minimum gets every byte, and a clean
	# end: sluice waits for room before libfcgi's END_REQUEST.
	curl -sS --max-time 30 --limit-rate 10M -o "$IT_DIR/b.steady" \
	    "$BASE/download/m50"
	rc=$?
	it_check "steady reader: complete (curl exit $rc)" [ "$rc" -eq 0 ]
	R_NAME=steady
	it_expect_body_sha_of "$IT_ROOT/50m.bin"
	it_check "steady reader: logged complete" \
	    it_wait_grep "$LOG" 5 'id=m50 status=200 .*bytes=52428800 .*outcome=complete'

	t0=$(date +%s%N)
	pool_fetch_bg 1 /download/m50 --limit-rate 20k
	it_check "slow reader: cut off and logged as aborted:slow" \
	    it_wait_grep "$LOG" 15 'id=m50 status=200 .*outcome=aborted:slow'
	t1=$(date +%s%N)
	it_log "     cut $(( (t1 - t0) / 1000000 )) ms after it started" \
	    "(window 2 s, lighttpd had buffered the first megabytes)"
	kill "${POOL_CURLS[@]}" 2>/dev/null
	wait "${POOL_CURLS[@]}" 2>/dev/null
	it_get afterslow /download/hello
	it_expect_status 200
}

# lighttpd disables a backend for a moment after a refused connection;
# wait until requests reach sluice again (max 5 s).
pool_hello_ok() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/download/hello")" = 200 ]
}
pool_wait_ready() { it_wait_for 5 pool_hello_ok; }

# ------------------------------------------- --listen, drain, stale/live
test_pool_listen_drain() {
	local want k ok=0 code rc row logbytes first burst=() n
	want=$(it_sha "$IT_ROOT/50m.bin")

	# --listen on the unix socket lighttpd uses, sluice started directly.
	pool_sluice --listen "unix:$SOCK" \
	    --workers 2 --threads 4 --drain-timeout 30
	it_wait_socket "$SOCK"
	it_wait_workers "$DIRECT_PID" 2 5
	pool_wait_ready
	it_get listenunix /download/hello
	it_expect_status 200
	it_expect_body_sha_of "$IT_ROOT/hello.txt"

	# A second instance must not take over a live socket.
	out=$("$BIN_RELEASE" --db "$IT_DIR/jobs.db" --root "$IT_ROOT" \
	    --listen "unix:$SOCK" 2>&1 </dev/null)
	rc=$?
	it_check "listen: a live socket is refused (exit $rc)" \
	    bash -c "[ $rc -ne 0 ] && grep -q 'is live' <<<'$out'"

	# SIGTERM with 3 downloads in flight: all 3 complete exactly, no
	# new request is accepted, and the supervisor exits 0. Beside them,
	# small downloads in a tight loop, so that ends are queued for the
	# audit writer when the drain begins.
	first=$(access_sql "SELECT coalesce(max(id), 0) FROM responses")
	pool_fetch_bg 3 /download/m50 --limit-rate 15M
	for k in 1 2 3 4; do
		(for _ in $(seq 1 400); do
			curl -s -o /dev/null "$BASE/download/hello" || break
		done) &
		burst+=($!)
	done
	it_wait_started "$STATE_DB" m50 10 3 "$first"
	# Draining: the supervisor and both workers have said so (each
	# shuts the listening socket first).
	n=$(it_count "$LOG" 'event=drain reason=shutdown ')
	kill -TERM "$DIRECT_PID"
	it_wait_for 5 it_count_ge "$LOG" 'event=drain reason=shutdown ' $((n + 3))
	it_get duringdrain /download/hello/during-drain
	it_check "drain: a new request is refused (status $R_STATUS)" \
	    [ "$R_STATUS" = 503 ]
	wait "${POOL_CURLS[@]}"
	for k in 1 2 3; do
		code=$(cat "$IT_DIR/par.$k.code")
		[ "$code" = 200 ] && [ "$(it_sha "$IT_DIR/par.$k")" = "$want" ] &&
		    ok=$((ok + 1))
	done
	it_check "drain: $ok of 3 downloads in flight completed exactly" \
	    [ "$ok" -eq 3 ]
	pool_direct_wait "$DIRECT_PID" 10
	it_check "drain: the supervisor exits 0 (got $DIRECT_RC)" \
	    [ "$DIRECT_RC" = 0 ]
	kill "${burst[@]}" 2>/dev/null
	wait "${burst[@]}" 2>/dev/null
	# The workers committed every queued end before they exited.
	row=$(access_sql "SELECT count(*), sum(outcome = 'complete') FROM
	    responses WHERE id > $first")
	it_check "drain: every audit row is closed after SIGTERM ($row rows|complete)" \
	    [ "${row%%|*}" -gt 3 -a "${row%%|*}" = "${row##*|}" ]
	row=$(access_sql "SELECT group_concat(bytes_sent || ':' || outcome)
	    FROM responses WHERE id > $first AND job_id = 'm50'")
	it_check "drain: the 3 long downloads' rows are complete ($row)" \
	    [ "$row" = "52428800:complete,52428800:complete,52428800:complete" ]
	it_check "drain: the refused request never reached a worker" \
	    bash -c "! grep -q during-drain '$LOG'"
	it_check "drain: its socket file is removed" [ ! -e "$SOCK" ]

	# Past --drain-timeout, what is left is cut and logged.
	pool_sluice --listen "unix:$SOCK" \
	    --workers 1 --threads 2 --drain-timeout 1
	it_wait_socket "$SOCK"
	it_wait_workers "$DIRECT_PID" 1 5
	pool_wait_ready
	first=$(access_sql "SELECT coalesce(max(id), 0) FROM responses")
	pool_fetch_bg 1 /download/m50 --limit-rate 2M
	it_wait_started "$STATE_DB" m50 10 1 "$first"
	kill -TERM "$DIRECT_PID"
	wait "${POOL_CURLS[@]}"
	pool_direct_wait "$DIRECT_PID" 10
	it_check "drain timeout: the supervisor exits 0 (got $DIRECT_RC)" \
	    [ "$DIRECT_RC" = 0 ]
	it_check "drain timeout: the download is logged aborted:shutdown" \
	    grep -q 'id=m50 status=200 .*outcome=aborted:shutdown' "$LOG"
	logbytes=$(grep 'id=m50 status=200 .*outcome=aborted:shutdown' "$LOG" |
	    tail -n 1 | sed 's/.* bytes=\([0-9]*\) .*/\1/')
	row=$(access_sql "SELECT bytes_sent, outcome FROM responses WHERE job_id = 'm50' ORDER BY id DESC LIMIT 1")
	it_check "drain timeout: the audit row agrees ($row, log $logbytes)" \
	    [ "$row" = "$logbytes|aborted:shutdown" ]
	it_check "drain timeout: the client saw a short body" \
	    [ "$(stat -c %s "$IT_DIR/par.1")" -lt 52428800 ]

	# A stale socket (its process died) is replaced.
	pool_sluice --listen "unix:$SOCK" \
	    --workers 0 --threads 2
	it_wait_socket "$SOCK"
	# disown: bash would report the killed job on stderr.
	disown "$DIRECT_PID"
	kill -KILL "$DIRECT_PID"
	it_wait_for 5 it_dead "$DIRECT_PID"
	it_check "stale: the dead process left its socket file" [ -S "$SOCK" ]
	pool_sluice --listen "unix:$SOCK" \
	    --workers 0 --threads 2
	it_check "stale: the socket is replaced" \
	    it_wait_grep "$LOG" 5 'removing stale socket'
	pool_wait_ready
	it_get stale /download/hello
	it_expect_status 200
	kill -TERM "$DIRECT_PID"
	pool_direct_wait "$DIRECT_PID" 10
	it_check "--workers 0: exits 0 on SIGTERM (got $DIRECT_RC)" \
	    [ "$DIRECT_RC" = 0 ]
}

# ---------------------------------------------------------- --max-requests
# A recycle is graceful: the old worker finishes its downloads with no
# deadline, and a replacement accepts at once.
test_pool_max_requests() {
	local first second k ok=0 want t0 t1 last
	want=$(it_sha "$IT_ROOT/50m.bin")
	last=$(access_sql "SELECT coalesce(max(id), 0) FROM responses")
	pool_sluice --listen "unix:$SOCK" --workers 1 --threads 4 \
	    --max-requests 2 --drain-timeout 1
	it_wait_socket "$SOCK"
	it_wait_workers "$DIRECT_PID" 1 5
	pool_wait_ready			# request 1
	first=$(it_workers "$DIRECT_PID")
	pool_fetch_bg 1 /download/m50 --limit-rate 10M	# request 2: recycle
	it_wait_started "$STATE_DB" m50 5 1 "$last"
	t0=$(date +%s%N)
	for k in 1 2 3 4; do
		[ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' \
		    "$BASE/download/hello")" = 200 ] && ok=$((ok + 1))
	done
	t1=$(date +%s%N)
	it_check "max-requests: new requests answered during the recycle ($ok of 4 in $(( (t1 - t0) / 1000000 )) ms)" \
	    [ "$ok" -eq 4 ]
	second=$(it_workers "$DIRECT_PID" | grep -vx "$first" | head -n 1)
	it_check "max-requests: a replacement worker runs beside the old one ($first, $second)" \
	    [ -n "$second" ]
	wait "${POOL_CURLS[@]}"
	it_check "max-requests: the old worker's download completed exactly, past --drain-timeout" \
	    [ "$(cat "$IT_DIR/par.1.code")" = 200 -a "$(it_sha "$IT_DIR/par.1")" = "$want" ]
	it_check "max-requests: logged as a recycle, then retired" \
	    it_wait_grep "$LOG" 5 "event=worker_retired pid=$first"
	kill -TERM "$DIRECT_PID"
	pool_direct_wait "$DIRECT_PID" 10
}

# ------------------------------------------------------- --listen on TCP
test_pool_tcp() {
	local port out
	port=$(it_free_port)
	pool_sluice \
	    --listen "127.0.0.1:$port" --workers 1 --threads 1
	it_wait_port "$port"
	out=$(env -i REQUEST_METHOD=GET REQUEST_URI=/download/hello \
	    REMOTE_ADDR=127.0.0.1 \
	    cgi-fcgi -bind -connect "127.0.0.1:$port" 2>&1 | tr -d '\r')
	it_check "listen tcp: Status line over FastCGI" \
	    grep -qx 'Status: 200 OK' <<<"$out"
	it_check "listen tcp: the body" grep -qx 'hello, world' <<<"$out"
	kill -TERM "$DIRECT_PID"
	pool_direct_wait "$DIRECT_PID" 10
	it_check "listen tcp: exits 0 on SIGTERM (got $DIRECT_RC)" \
	    [ "$DIRECT_RC" = 0 ]
	# [::1]: cgi-fcgi speaks no IPv6, so check the kernel's listener.
	if [ -e /proc/net/if_inet6 ]; then
		port=$(it_free_port)
		pool_sluice \
		    --listen "[::1]:$port" --workers 0 --threads 1
		it_check "listen [::1]:$port: listening" \
		    it_wait_for 5 grep -qi \
		    "^ *[0-9]*: 0*10*:$(printf '%04X' "$port") .* 0A " \
		    /proc/net/tcp6
		kill -TERM "$DIRECT_PID"
		pool_direct_wait "$DIRECT_PID" 10
	fi
	out=$("$BIN_RELEASE" --db "$IT_DIR/jobs.db" --root "$IT_ROOT" \
	    --listen "nowhere" 2>&1 </dev/null)
	it_check "listen: a bad address is one clear line" \
	    grep -q 'want unix:/path' <<<"$out"
}
