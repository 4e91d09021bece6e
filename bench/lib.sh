# shellcheck shell=bash
# Helpers shared by bench/run.sh, bench/pg.sh and bench/audit.sh:
# statistics over per-round values, the checked download and the wrk run,
# and FastCGI responders other than sluice started under spawn-fcgi.
# Sourced after tests/integration/lib.sh (IT_PIDS, it_*).
#
# Per-round values live in a data file, one line per measurement:
#     KEY <TAB> ROUND <TAB> VALUE
# so that a comparison is the median of per-round ratios, A/B taken within
# the same round, never a ratio of two medians.

# bench_record FILE KEY ROUND VALUE
bench_record() { printf '%s\t%s\t%s\n' "$2" "$3" "$4" >>"$1"; }

# Numbers on stdin, one per line -> "median min max" (the median of an even
# count is the mean of the two middle values). Fails on no input.
bench_summary() {
	sort -g | awk '{ v[NR] = $1 }
	    END {
		if (NR == 0) exit 1
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		print m, v[1], v[NR]
	    }'
}

# bench_values FILE KEY: the values of KEY, one per line.
bench_values() { awk -F'\t' -v k="$2" '$1 == k { print $3 }' "$1"; }

# bench_ratios FILE KEY_A KEY_B: A/B for each round that has both.
bench_ratios() {
	awk -F'\t' -v a="$2" -v b="$3" '
	    $1 == a { x[$2] = $3 } $1 == b { y[$2] = $3 }
	    END { for (r in x) if ((r in y) && y[r] > 0) print x[r] / y[r] }' "$1"
}

# bench_fmt NUMBER: 3 significant-ish digits, no exponent.
bench_fmt() {
	awk -v v="$1" 'BEGIN {
		a = v < 0 ? -v : v
		if (a >= 100) printf "%.0f", v
		else if (a >= 10) printf "%.1f", v
		else printf "%.2f", v
	}'
}

# bench_cell FILE KEY: "median (min–max)" of KEY's values, or "n/a".
bench_cell() {
	local s m lo hi
	s=$(bench_values "$1" "$2" | bench_summary) || { echo "n/a"; return; }
	read -r m lo hi <<<"$s"
	if [ "$(bench_values "$1" "$2" | wc -l)" -eq 1 ]; then
		bench_fmt "$m"
	else
		echo "$(bench_fmt "$m") ($(bench_fmt "$lo")–$(bench_fmt "$hi"))"
	fi
}

# bench_ratio_cell FILE KEY_A KEY_B: median of per-round ratios (min–max).
bench_ratio_cell() {
	local s m lo hi
	s=$(bench_ratios "$1" "$2" "$3" | bench_summary) || { echo "n/a"; return; }
	read -r m lo hi <<<"$s"
	if [ "$(bench_ratios "$1" "$2" "$3" | wc -l)" -eq 1 ]; then
		printf '%.2f\n' "$m"
	else
		printf '%.2f (%.2f–%.2f)\n' "$m" "$lo" "$hi"
	fi
}

# bench_fcgi_start SOCKET NPROC COMMAND...: a FastCGI responder (not sluice)
# under spawn-fcgi, NPROC processes accepting on the socket as fd 0. Their
# pids are left in FCGI_PIDS and added to IT_PIDS and BENCH_KILL_PIDS.
BENCH_KILL_PIDS=()
bench_fcgi_start() {
	local sock=$1 n=$2
	shift 2
	rm -f "$sock" "$sock.pid"
	spawn-fcgi -s "$sock" -M 0660 -F "$n" -P "$sock.pid" -- "$@" \
	    >/dev/null || return 1
	# One pid per line, the last one without a newline.
	FCGI_PIDS=$(<"$sock.pid")
	# shellcheck disable=SC2206
	IT_PIDS+=($FCGI_PIDS)
	# shellcheck disable=SC2206
	BENCH_KILL_PIDS+=($FCGI_PIDS)
	it_wait_socket "$sock"
}

# At exit, before it_cleanup: SIGKILL every responder at once (it_cleanup
# would give each 5 s to obey a SIGTERM that libfcgi only notes in a flag).
bench_fcgi_stop_all() {
	local p
	for p in "${BENCH_KILL_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	BENCH_KILL_PIDS=()
}

# ------------------------------------------------ a checked get, a wrk run
# Both need B (the scratch directory), NOTES (a file for the report's
# notes) and WRK_ARGS (wrk's options, less the URL).

# check_get URL FILE: one download, status 200, exactly FILE's size, and
# byte for byte FILE (cmp on the fly: no copy on disk, and stronger than
# comparing hashes). Complains on stderr and fails otherwise.
check_get() {
	local url=$1 file=$2 size code got st
	size=$(stat -c %s "$file")
	curl -sS --max-time 900 -w '%{stderr}\n%{http_code} %{size_download}\n' \
	    "$url" 2>"$B/check.err" | cmp -s - "$file"
	st=("${PIPESTATUS[@]}")
	read -r code got < <(tail -n 1 "$B/check.err")
	if [ "${code:-}" != 200 ] || [ "${got:-}" != "$size" ]; then
		echo "$url: status ${code:-none}, ${got:-0} bytes; want 200," \
		    "$size ($(head -n 1 "$B/check.err"))" >&2
		return 1
	fi
	if [ "${st[0]}" != 0 ] || [ "${st[1]}" != 0 ]; then
		echo "$url: $size bytes but not those of $file (curl exit" \
		    "${st[0]}, cmp exit ${st[1]})" >&2
		return 1
	fi
}

# run_wrk URL: requests/s. A non-2xx answer, a connect error or no request
# at all fails; other socket errors are noted in the report.
run_wrk() {
	local out rps errs
	out=$(wrk "${WRK_ARGS[@]}" "$1" 2>&1) ||
	    { echo "wrk $1: $out" >&2; return 1; }
	printf '== wrk %s %s\n%s\n' "${WRK_ARGS[*]}" "$1" "$out" >>"$B/wrk.log"
	if grep -q 'Non-2xx' <<<"$out"; then
		echo "wrk $1: $(grep 'Non-2xx' <<<"$out")" >&2
		return 1
	fi
	errs=$(sed -n 's/^ *Socket errors: //p' <<<"$out")
	case $errs in
	"" | "connect 0,"*) ;;
	*) echo "wrk $1: socket errors: $errs" >&2; return 1 ;;
	esac
	[ -z "$errs" ] || echo "wrk $1: socket errors: $errs" >>"$NOTES"
	rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
	awk -v r="${rps:-0}" 'BEGIN { exit !(r > 0) }' ||
	    { echo "wrk $1: no requests answered" >&2; return 1; }
	echo "$rps"
}
