# Downloads in flight are not threads (issue 13), behind the same
# lighttpd as run.sh, with the release build started directly on its
# socket. Sourced by tests/integration/run.sh (fixtures, lighttpd on $SOCK,
# the helpers of lib.sh and pool.sh). Processes are stopped by pid.

# Stop the directly started sluice and wait for it.
inflight_stop() {
	kill -TERM "$DIRECT_PID" 2>/dev/null
	pool_direct_wait "$DIRECT_PID" 20
}

# ------------------------------------------------ params under a deadline
# A 1 x 1 pool with --params-timeout 1: 40 silent connections and 10 that
# trickle a request a byte at a time delay nobody, and are closed and
# logged once their second is up.
test_inflight_params() {
	local out n
	pool_sluice --listen "unix:$SOCK" --workers 1 --threads 1 \
	    --params-timeout 1
	it_wait_socket "$SOCK"
	pool_wait_ready
	python3 tests/integration/fcgi_raw.py "$SOCK" idle 40 10 6 \
	    >"$IT_DIR/idle.out" &
	local idle=$!
	IT_PIDS+=("$idle")
	sleep 0.3
	it_get params:during /download/hello
	it_expect_status 200
	it_expect_body_sha_of "$IT_ROOT/hello.txt"
	wait "$idle"
	out=$(cat "$IT_DIR/idle.out")
	it_check "params: all 50 idle or trickling connections closed ($out)" \
	    grep -q '^closed=50 of 50 ' "$IT_DIR/idle.out"
	it_check "params: none closed before the deadline ($out)" \
	    awk '{ split($4, f, "="); exit !(f[2] >= 0.9) }' "$IT_DIR/idle.out"
	n=$(it_count "$LOG" 'event=params_timeout ')
	it_check "params: each close logged ($n lines)" [ "$n" -ge 50 ]
	inflight_stop
}

# ------------------------------------------------ many downloads, 1 thread
# 40 downloads of 50 MiB at once through a 1 x 1 pool: every one complete
# and exact, and the worker's peak memory within 8 MiB plus 64 KiB per
# download in flight.
test_inflight_many() {
	local want k ok=0 wpid hwm bound n0
	want=$(it_sha "$IT_ROOT/50m.bin")
	n0=$(it_count "$LOG" 'id=m50 status=200 .*outcome=complete')
	pool_sluice --listen "unix:$SOCK" --workers 1 --threads 1
	it_wait_socket "$SOCK"
	it_wait_workers "$DIRECT_PID" 1 5
	pool_wait_ready
	wpid=$(it_workers "$DIRECT_PID")
	pool_fetch_bg 40 /download/m50 --limit-rate 25M
	wait "${POOL_CURLS[@]}"
	for k in $(seq 1 40); do
		[ "$(cat "$IT_DIR/par.$k.code")" = 200 ] &&
		    [ "$(it_sha "$IT_DIR/par.$k")" = "$want" ] && ok=$((ok + 1))
	done
	it_check "in flight: $ok of 40 downloads through 1 thread exact" \
	    [ "$ok" -eq 40 ]
	hwm=$(it_vmhwm "$wpid")
	bound=$((8192 + 40 * 64))
	it_log "     worker VmHWM with 40 in flight: $hwm kB (bound $bound)"
	it_check "in flight: VmHWM $hwm kB within 8 MiB + 64 KiB each" \
	    [ "$hwm" -le "$bound" ]
	it_check "in flight: 40 more logged complete" it_wait_for 5 \
	    it_count_ge "$LOG" 'id=m50 status=200 .*outcome=complete' \
	    $((n0 + 40))
	inflight_stop
}
