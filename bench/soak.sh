#!/usr/bin/env bash
# The soak (issue 18): the heaviest small-file load this machine can drive,
# for minutes, then the same with a worker killed (-9) every few seconds.
# nginx in front (deploy/nginx/sluice.conf, stream mode), sluice's default
# pool (2 workers x 8 threads) under spawn-fcgi, wrk -t2 -c32 on a 1 KiB
# job. Every SOAK_SAMPLE seconds it records the state database's WAL and
# database sizes, and each worker's open fds, RssAnon and RssFile (from
# /proc/PID/status): samples.tsv, and a summary in soak.md.
#
# It fails only on something that grows without bound, or is wrong:
#   - the WAL past SOAK_WAL_MAX_MIB (README: the bound, and why);
#   - a worker that lived through the load without kills whose lowest fd
#     count of the second half of the phase is more than SOAK_FD_SLACK
#     (default 12) above the lowest of the first half (a sample swings
#     with the connections in flight, up to wrk's 32; a leak raises the
#     floor), or whose RssAnon or RssFile grew by
#     more than SOAK_RSS_GROW_KIB between its second sample and its last
#     (the first is taken before warm-up);
#   - audit rows older than the retention (plus a minute) still there at
#     the end: pruning did not keep up;
#   - any non-2xx answer while no worker is killed.
# Times are reported, never asserted.
#
# Environment (all optional):
#   SOAK_LOAD_SECS     load without kills (default 300)
#   SOAK_KILL_SECS     load with a worker killed every SOAK_KILL_EVERY s
#                      (default 300; 0 skips the phase)
#   SOAK_KILL_EVERY    default 5
#   SOAK_SAMPLE        seconds between samples (default 5)
#   SOAK_RETENTION     sluice's --audit-retention (default 120s, so that
#                      pruning runs under the load, not only after 90 days)
#   SOAK_WAL_MAX_MIB   default 32
#   SOAK_RSS_GROW_KIB  default 4096
#   SOAK_OUT           where soak.md and samples.tsv go (default
#                      bench/results)
#   SLUICE_BIN         default build/sluice
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
. tests/integration/lib.sh
. tests/integration/servers.sh

LOAD_SECS=${SOAK_LOAD_SECS:-300}
KILL_SECS=${SOAK_KILL_SECS:-300}
KILL_EVERY=${SOAK_KILL_EVERY:-5}
SAMPLE=${SOAK_SAMPLE:-5}
RETENTION=${SOAK_RETENTION:-120s}
WAL_MAX_MIB=${SOAK_WAL_MAX_MIB:-32}
RSS_GROW_KIB=${SOAK_RSS_GROW_KIB:-4096}
FD_SLACK=${SOAK_FD_SLACK:-12}
OUT=${SOAK_OUT:-$top/bench/results}
SLUICE=${SLUICE_BIN:-$top/build/sluice}
T0=$SECONDS

say() { printf 'soak: [%3ds] %s\n' "$((SECONDS - T0))" "$*"; }
fail() {
	printf 'soak: FAIL: %s\n' "$*" >&2
	exit 1
}

for c in nginx spawn-fcgi sqlite3 wrk; do
	command -v "$c" >/dev/null || fail "missing $c: run make deps"
done
[ -x "$SLUICE" ] || fail "missing $SLUICE: run make"
case $RETENTION in
*s) ret_s=${RETENTION%s} ;;
*m) ret_s=$((${RETENTION%m} * 60)) ;;
*) fail "SOAK_RETENTION: give seconds or minutes (120s, 2m)" ;;
esac

it_scratch soak
IT_TOP=$top
SAMPLER=
trap 'soak_cleanup' EXIT
soak_cleanup() {
	[ -z "$SAMPLER" ] || kill "$SAMPLER" 2>/dev/null
	it_cleanup
	[ -n "${IT_KEEP:-}" ] || rm -rf "$IT_DIR"
}
mkdir -p "$IT_ROOT" "$IT_DOCROOT" "$OUT" || fail "mkdir"
head -c 1024 /dev/urandom >"$IT_ROOT/1k.bin"
sqlite3 "$IT_DIR/jobs.db" <sql/schema.sql || fail "jobs.db"
sqlite3 "$IT_DIR/jobs.db" "INSERT INTO export_jobs (id, status, file_path, \
    file_size) VALUES ('k1', 'done', '1k.bin', 1024)" || fail "jobs.db"
STATE=$IT_DIR/sluice-state.db

it_sluice_start "$SOCK" "$SLUICE" "$LOG" --audit-retention "$RETENTION" ||
    fail "sluice did not start (see $LOG)"
it_wait_workers "$SLUICE_PID" 2 10 || fail "sluice has not 2 workers"
it_server_up nginx stream "$SOCK" >/dev/null || fail "nginx did not start"
URL=$BASE/download/k1
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL")" = 200 ] ||
    fail "the first download of $URL did not answer 200"

# samples.tsv: t phase pid fds rss_anon_kib rss_file_kib wal_bytes db_bytes
SAMPLES=$IT_DIR/samples.tsv
printf 't\tphase\tpid\tfds\tanon_kib\tfile_kib\twal_bytes\tdb_bytes\n' \
    >"$SAMPLES"
PHASE_FILE=$IT_DIR/phase
echo load >"$PHASE_FILE"
sample_loop() {
	local t0=$SECONDS p fds anon file wal db ph
	while :; do
		wal=$(stat -c %s "$STATE-wal" 2>/dev/null || echo 0)
		db=$(stat -c %s "$STATE" 2>/dev/null || echo 0)
		ph=$(<"$PHASE_FILE")
		for p in $(it_workers "$SLUICE_PID"); do
			fds=$(ls "/proc/$p/fd" 2>/dev/null | wc -l)
			anon=$(awk '/^RssAnon:/ {print $2}' "/proc/$p/status" 2>/dev/null)
			file=$(awk '/^RssFile:/ {print $2}' "/proc/$p/status" 2>/dev/null)
			[ -n "$anon" ] || continue
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
			    "$((SECONDS - t0))" "$ph" "$p" "$fds" "$anon" \
			    "$file" "$wal" "$db"
		done >>"$SAMPLES"
		sleep "$SAMPLE"
	done
}
sample_loop &
SAMPLER=$!

# wrk for $1 seconds -> "requests non2xx socket_errors"
soak_wrk() {
	local out req bad err
	out=$(wrk -t2 -c32 "-d$1s" "$URL" 2>&1) || { echo "0 -1 -1"; return; }
	printf '%s\n' "$out" >>"$IT_DIR/wrk.log"
	req=$(awk '/requests in/ {print $1}' <<<"$out")
	bad=$(awk -F': ' '/Non-2xx/ {print $2}' <<<"$out")
	err=$(sed -n 's/^ *Socket errors: //p' <<<"$out")
	echo "${req:-0} ${bad:-0} ${err:-none}"
}

say "phase 1: ${LOAD_SECS}s of wrk -t2 -c32 on 1 KiB, no kills"
read -r req1 bad1 err1 <<<"$(soak_wrk "$LOAD_SECS")"
say "phase 1: $req1 requests, $bad1 non-2xx, socket errors: $err1"
req2=0 bad2=0 err2=none kills=0
if [ "$KILL_SECS" -gt 0 ]; then
	echo kill >"$PHASE_FILE"
	say "phase 2: ${KILL_SECS}s of the same, a worker killed every ${KILL_EVERY}s"
	soak_wrk "$KILL_SECS" >"$IT_DIR/phase2" &
	wrkpid=$!
	IT_PIDS+=("$wrkpid")
	end=$((SECONDS + KILL_SECS - 1))
	while [ "$SECONDS" -lt "$end" ] && it_alive "$wrkpid"; do
		sleep "$KILL_EVERY"
		v=$(it_workers "$SLUICE_PID" | shuf -n 1)
		[ -n "$v" ] && kill -KILL "$v" 2>/dev/null && kills=$((kills + 1))
	done
	wait "$wrkpid"
	read -r req2 bad2 err2 <"$IT_DIR/phase2"
	say "phase 2: $req2 requests, $bad2 non-2xx, $kills workers killed, socket errors: $err2"
	# Let the pool come back, and the last ends land.
	it_wait_workers "$SLUICE_PID" 2 10
fi
echo idle >"$PHASE_FILE"
sleep "$((SAMPLE + 1))"
kill "$SAMPLER" 2>/dev/null
wait "$SAMPLER" 2>/dev/null
SAMPLER=

old=$(sqlite3 -cmd '.timeout 5000' "$STATE" "SELECT count(*) FROM responses \
    WHERE started_at < strftime('%s', 'now') - $ret_s - 60 AND \
    outcome <> 'started'")
rows=$(sqlite3 -cmd '.timeout 5000' "$STATE" "SELECT count(*) FROM responses")
dls=$(sqlite3 -cmd '.timeout 5000' "$STATE" "SELECT count(*) || ' (' || coalesce(sum(responses), 0) || ' responses)' FROM downloads")
pruned=$(sqlite3 -cmd '.timeout 5000' "$STATE" "SELECT coalesce(sum(pruned), 0) FROM download_counts")
used=$(sqlite3 -cmd '.timeout 5000' "$STATE" "SELECT (p.page_count - f.freelist_count) * s.page_size FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() s")
aerr=$(grep -c 'event=audit_error' "$LOG")
lost=$(grep -c 'event=audit_lost' "$LOG")
it_sluice_stop

# ----------------------------------------------------------- the verdict
problems=$IT_DIR/problems
: >"$problems"
awk -F'\t' -v walmax=$((WAL_MAX_MIB * 1048576)) -v grow="$RSS_GROW_KIB" \
    -v fdslack="$FD_SLACK" '
	NR == 1 { next }
	$7 > wal { wal = $7 }
	# Per worker, only in the phase without kills: the second sample
	# (warm) and the last.
	$2 == "load" {
		n[$3]++
		if (n[$3] == 2) { a0[$3] = $5; r0[$3] = $6 }
		if (n[$3] >= 2) { a1[$3] = $5; r1[$3] = $6 }
		fd[$3, n[$3]] = $4
	}
	END {
		if (wal > walmax)
			printf "WAL reached %d bytes (bound %d)\n", wal, walmax
		for (p in n) {
			if (n[p] < 3) continue
			# fds: each connection in flight holds one (as many as
			# the load has, since the event loop: not bounded by
			# the threads), so a sample swings with the load; a
			# leak raises the floor. The lowest in the first half
			# of the warm samples against the lowest in the second.
			h = int((n[p] + 2) / 2)
			f0[p] = f1[p] = -1
			for (i = 2; i <= n[p]; i++) {
				v = fd[p, i]
				if (i <= h && (f0[p] < 0 || v < f0[p])) f0[p] = v
				if (i > h && (f1[p] < 0 || v < f1[p])) f1[p] = v
			}
			if (f1[p] - f0[p] > fdslack)
				printf "worker %s: fds %d -> %d\n", p, f0[p], f1[p]
			if (a1[p] - a0[p] > grow)
				printf "worker %s: RssAnon %d -> %d KiB\n", p, a0[p], a1[p]
			if (r1[p] - r0[p] > grow)
				printf "worker %s: RssFile %d -> %d KiB\n", p, r0[p], r1[p]
		}
	}' "$SAMPLES" >>"$problems"
[ "$old" -eq 0 ] ||
    echo "$old audit rows older than the retention ($RETENTION) + 60 s left: pruning fell behind" >>"$problems"
[ "$bad1" = 0 ] || echo "phase 1 (no kills): $bad1 non-2xx answers" >>"$problems"
[ "$req1" -gt 0 ] || echo "phase 1: wrk answered no request" >>"$problems"

# ------------------------------------------------------------ the report
summary() {	# column of samples.tsv in phase $2 -> "first max last"
	awk -F'\t' -v c="$1" -v ph="$2" 'NR > 1 && (ph == "" || $2 == ph) {
		if (first == "") first = $c
		if ($c > max) max = $c
		last = $c
	} END { print (first == "" ? "- - -" : first " " max " " last) }' "$SAMPLES"
}
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
{
	echo "# Soak: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	echo "nginx (stream) -> sluice 2 workers x 8 threads, wrk -t2 -c32, 1 KiB job;"
	echo "--audit-retention $RETENTION; samples every ${SAMPLE}s."
	echo
	echo "| phase | seconds | requests | non-2xx | socket errors |"
	echo "|---|---|---|---|---|"
	echo "| no kills | $LOAD_SECS | $req1 | $bad1 | $err1 |"
	echo "| kill -9 every ${KILL_EVERY}s ($kills kills) | $KILL_SECS | $req2 | $bad2 | $err2 |"
	echo
	read -r a b c <<<"$(summary 7 "")"
	echo "- WAL bytes: first $(mib "$a") MiB, max $(mib "$b") MiB, last $(mib "$c") MiB (bound $WAL_MAX_MIB MiB)"
	read -r a b c <<<"$(summary 8 "")"
	echo "- state db file: first $(mib "$a") MiB, max $(mib "$b") MiB, last $(mib "$c") MiB"
	echo "- responses kept at the end: $rows; downloads kept: $dls, pruned: $pruned (wrk is one client: its responses join one download); $(mib "$used") MiB of pages in use"
	[ "$rows" -gt 0 ] && echo "- pages in use per million rows: $(awk -v u="$used" -v r="$rows" 'BEGIN { printf "%.0f MiB", u / r * 1e6 / 1048576 }')"
	echo "- log: $aerr audit_error lines, $lost audit_lost lines"
	echo
	echo "Workers during the phase without kills (second sample -> last; KiB):"
	echo
	echo "| pid | samples | fds | RssAnon | RssFile |"
	echo "|---|---|---|---|---|"
	awk -F'\t' 'NR > 1 && $2 == "load" {
		n[$3]++
		if (n[$3] == 2) { f0[$3] = $4; a0[$3] = $5; r0[$3] = $6 }
		if (n[$3] >= 2) { f1[$3] = $4; a1[$3] = $5; r1[$3] = $6 }
	} END { for (p in n) if (n[p] >= 2)
		printf "| %s | %d | %d -> %d | %d -> %d | %d -> %d |\n", p, n[p],
		    f0[p], f1[p], a0[p], a1[p], r0[p], r1[p] }' "$SAMPLES"
	echo
	echo "Over time (every ~30 s; the workers summed):"
	echo
	echo "| t (s) | phase | workers | fds | RssAnon KiB | RssFile KiB | WAL MiB | db MiB |"
	echo "|---|---|---|---|---|---|---|---|"
	awk -F'\t' -v every=30 'NR > 1 {
		k = $1
		if (!(k in seen)) { order[++m] = k; seen[k] = 1; ph[k] = $2; w[k] = $7; d[k] = $8 }
		nw[k]++; f[k] += $4; a[k] += $5; r[k] += $6
	} END {
		last = -every
		for (i = 1; i <= m; i++) {
			k = order[i]
			if (k - last < every && i != m) continue
			last = k
			printf "| %d | %s | %d | %d | %d | %d | %.1f | %.1f |\n", k, ph[k],
			    nw[k], f[k], a[k], r[k], w[k] / 1048576, d[k] / 1048576
		}
	}' "$SAMPLES"
	echo
	if [ -s "$problems" ]; then
		echo "**FAILED:**"
		sed 's/^/- /' "$problems"
	else
		echo "Nothing grew without bound."
	fi
} >"$OUT/soak.md"
cp "$SAMPLES" "$OUT/soak-samples.tsv"
cat "$OUT/soak.md"
[ ! -s "$problems" ] || fail "$(tr '\n' ';' <"$problems")"
say "ok: report in $OUT/soak.md"
