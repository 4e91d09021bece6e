# Every server-side cut is seen by the client at once (issue 13), behind
# lighttpd, nginx and Apache from their deploy/ configs: the file shrank,
# the reader was too slow (--min-rate), the drain deadline passed, the
# worker was killed. The client (slowread.py) reads slowly until sluice
# has cut, then as fast as it can: it must then meet the end of the
# connection, short of Content-Length, within a few seconds, where a cut
# the server took for a complete response would leave it waiting for the
# server's keep-alive timeout (nginx: 75 s). Sourced by run.sh; sluice is
# the release build under spawn-fcgi, stopped by pid.

CUT_WAIT=5	# seconds the client may take to see the end, once told

# cut_read NAME PATH [RATE]: a slow read of PATH (RATE bytes/s, default
# 1 MB/s, above --min-rate) in the background; the flag file
# $IT_DIR/flag.NAME tells it to speed up. Its pid in CUT_PID.
cut_read() {
	rm -f "$IT_DIR/flag.$1"
	python3 tests/integration/slowread.py "$BASE$2" "${3:-1000000}" \
	    "$IT_DIR/flag.$1" 60 >"$IT_DIR/cut.$1" &
	CUT_PID=$!
	IT_PIDS+=("$CUT_PID")
}

# cut_seen SRV NAME LOGRE: once sluice has logged LOGRE, tell the client;
# it must see a short body within CUT_WAIT seconds.
cut_seen() {
	local srv=$1 name=$2 re=$3 rc out
	it_check "$srv $name: sluice cuts it ($re)" it_wait_grep "$LOG" 20 "$re"
	touch "$IT_DIR/flag.$name"
	wait "$CUT_PID"
	rc=$?
	out=$(cat "$IT_DIR/cut.$name")
	it_check "$srv $name: the client sees the cut ($out)" [ "$rc" -eq 0 ]
	it_check "$srv $name: within ${CUT_WAIT} s of it" awk -v w="$CUT_WAIT" \
	    '{ split($4, f, "="); exit !(f[2] >= 0 && f[2] < w) }' \
	    "$IT_DIR/cut.$name"
}

# The worker has file $1 open: its download is in flight.
cut_has_open() {
	ls -l /proc/"$(it_workers "$SLUICE_PID")"/fd 2>/dev/null | grep -q "$1"
}
cut_in_flight() {
	it_wait_for 10 cut_has_open "$1" ||
	    it_not_ok "cuts: the download of $1 did not start"
}

cut_sluice() {
	it_sluice_start "$SOCK" "$BIN_RELEASE" "$LOG" --workers 1 \
	    --threads 2 --min-rate 300000 --rate-window 2 --drain-timeout 1 ||
	    { it_not_ok "cuts: sluice starts"; return 1; }
	it_wait_workers "$SLUICE_PID" 1 5
}

test_cuts_on() {
	local srv=$1 wpid
	LOG=$IT_DIR/sluice-cuts-$srv.log
	cut_sluice || return
	it_server_up "$srv" stream "$SOCK" ||
	    { it_not_ok "$srv: starts"; it_sluice_stop; return; }
	echo "# cuts behind $srv $BASE"
	# A reader slower than --min-rate.
	cut_read slow /download/m50 100000
	cut_seen "$srv" slow 'id=m50 status=200 .*outcome=aborted:slow'
	# The file shrinks under a reader.
	truncate -s 0 "$IT_ROOT/shrink.bin"
	truncate -s 104857600 "$IT_ROOT/shrink.bin"
	cut_read shrink /download/shrink
	cut_in_flight shrink.bin
	truncate -s 1M "$IT_ROOT/shrink.bin"
	touch "$IT_DIR/flag.shrink"
	cut_seen "$srv" shrink 'id=shrink status=200 .*outcome=error:short_read'
	# The worker is killed mid-download.
	cut_read kill /download/m50
	cut_in_flight 50m.bin
	wpid=$(it_workers "$SLUICE_PID")
	kill -KILL $wpid
	it_check "$srv kill: the worker died" \
	    it_wait_grep "$LOG" 5 'event=worker_died'
	touch "$IT_DIR/flag.kill"
	cut_seen "$srv" kill 'event=worker_died'
	it_wait_workers "$SLUICE_PID" 1 5
	# The web server itself stops (SIGTERM) mid-download: its shutdown,
	# not a client leaving (issue 17: Apache closes its connections
	# before its process exits; sluice watches the process go).
	cut_read srvstop /download/audited50
	cut_in_flight 50m.bin
	it_server_down
	it_check "$srv stops: the cut download is aborted:shutdown" \
	    it_wait_grep "$LOG" 5 'id=audited50 status=200 .*outcome=aborted:shutdown'
	it_check "$srv stops: not aborted:client" it_not grep -q \
	    'id=audited50 status=200 .*outcome=aborted:client' "$LOG"
	wait "$CUT_PID"
	it_server_up "$srv" stream "$SOCK" ||
	    { it_not_ok "$srv: starts again"; it_sluice_stop; return; }
	# A client that leaves is still one: aborted:client.
	cut_read leave /download/audited50
	cut_in_flight 50m.bin
	kill "$CUT_PID"
	it_check "$srv client leaves: aborted:client" \
	    it_wait_grep "$LOG" 5 'id=audited50 status=200 .*outcome=aborted:client'
	wait "$CUT_PID"
	# The drain deadline (--drain-timeout 1) passes.
	cut_read drain /download/m50
	cut_in_flight 50m.bin
	kill -TERM "$SLUICE_PID"
	cut_seen "$srv" drain 'id=m50 status=200 .*outcome=aborted:shutdown'
	it_sluice_stop
	it_server_down
}

test_cuts() {
	local srv
	for srv in ${IT_SERVERS:-lighttpd nginx apache}; do
		test_cuts_on "$srv"
	done
	it_elapsed "cuts behind each server"
}
