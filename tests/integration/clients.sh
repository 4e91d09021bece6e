# Real download clients behind the running web server (IT_SERVER in
# IT_MODE), as users run them: curl -C - and wget -c after a cut,
# aria2c -x 8 -s 8 and axel -n 4 (issue 12). What a download is
# (../../README.md, "Downloads and limits"): one client fetching one job,
# however many requests that takes. So each run must be ONE download in
# sluice's state database, its responses as the client made them, and the
# file byte-identical by SHA-256; on a max_downloads=1 job, aria2c and
# axel finish, and then another client gets 410.
#
# Sourced by run.sh after suite.sh; run.sh calls clients_fixtures once and
# test_clients behind each server in each mode. Each client gets an
# address of its own on loopback (it_addr), except axel, which has no
# option to bind one: it comes from 127.0.0.1, on jobs of its own. Every
# client runs under `timeout`, so a regression (axel retrying a 410 in a
# tight loop) fails the run instead of hanging it. Each client's requests
# go to the output, one line per response (status, the bytes answered or,
# offloaded, asked for, counts=1 for the one that opened the download,
# outcome), for the record.
#
# test_realip (run.sh, after the server's suite): the commented lines of
# each deploy/ config that put the real client into REMOTE_ADDR behind a
# proxy or a CDN, uncommented, do that, and ignore anyone else's
# X-Forwarded-For.

CL_SIZE=8388608		# 8 MiB: aria2c's -k 1M cuts it into 8 pieces
CL_FILE=c8m.bin
CL_NAME='Q3 Bericht – März (final).csv'
CL_ASCII='Q3 Bericht - Marz (final).csv'	# the ASCII fallback
CL_TOKEN=name-s3cret

# The file and the jobs: one unlimited job per client, and two limited to
# one download.
clients_fixtures() {
	local j sql=""
	head -c "$CL_SIZE" /dev/urandom >"$IT_ROOT/$CL_FILE" || return 1
	for j in cl-curl cl-wget cl-aria2 cl-axel cl-aria2-1 cl-axel-1; do
		sql+="INSERT INTO export_jobs (id, status, file_path, file_name,
		    file_size, max_downloads) VALUES ('$j', 'done', '$CL_FILE',
		    '$CL_FILE', $CL_SIZE, $([ "${j%-1}" = "$j" ] && echo NULL ||
		    echo 1));"
	done
	# The names clients save (README's clients table): a UTF-8 name and
	# a token, as a link from sluicectl add carries them.
	sql+="INSERT INTO export_jobs (id, status, file_path, file_name,
	    file_size, token_sha256) VALUES ('cl-name', 'done', '$CL_FILE',
	    '$CL_NAME', $CL_SIZE, '$(printf %s "$CL_TOKEN" | sha256sum |
	    cut -d' ' -f1)');"
	sqlite3 "$IT_DIR/jobs.db" "$sql"
}

# cl_run NAME SECS CMD...: run a client, bounded by SECS seconds; its exit
# status in CL_RC, its stderr in $IT_DIR/cl.NAME.err.
cl_run() {
	local name=$1 secs=$2
	shift 2
	timeout "$secs" "$@" 2>"$IT_DIR/cl.$name.err" >/dev/null
	CL_RC=$?
}

# cl_expect_file NAME FILE: the client's exit was 0 and FILE is the job's.
cl_expect_file() {
	local want got
	want=$(it_sha "$IT_ROOT/$CL_FILE")
	got=$(it_sha "$2" 2>/dev/null)
	if [ "$CL_RC" -eq 0 ] && [ "$want" = "$got" ]; then
		it_ok "$1: exit 0, the file byte-identical (sha256)"
	else
		it_not_ok "$1: exit 0, the file byte-identical (sha256)" \
		    "exit $CL_RC, $(stat -c %s "$2" 2>/dev/null || echo no) bytes" \
		    "$(head -c 300 "$IT_DIR/cl.$1.err")"
	fi
}

# cl_requests JOB: the job's responses in the order they began, one per
# line: status, the bytes answered, counts, outcome.
cl_requests() {
	access_sql "SELECT status || ' ' || range_start || '-' || range_end ||
	    ' counts=' || counts || ' ' || outcome FROM responses
	    WHERE job_id = '$1' ORDER BY id"
}

# cl_one_download NAME JOB ADDR: the job has one download, ADDR's, and
# every response of the job is part of it; it is complete. The client's
# requests go to the output.
cl_one_download() {
	local name=$1 job=$2 addr=$3 n
	it_audit_wait_all_closed "$STATE_DB" "$job"
	n=$(access_sql "SELECT count(*) FROM responses WHERE job_id = '$job'")
	it_log "     $name ($IT_SERVER, $IT_MODE): $n responses:"
	cl_requests "$job" | sed 's/^/       /'
	it_check "$name: one download ($addr), its $n responses, complete" \
	    it_wait_for 5 it_sql_is "$STATE_DB" "SELECT count(*),
	    group_concat(remote_addr), sum(responses), sum(complete)
	    FROM downloads WHERE job_id = '$job'" "1|$addr|$n|1"
	it_check "$name: the first response opened it, every other joined it" \
	    it_sql_is "$STATE_DB" "SELECT sum(counts), count(DISTINCT
	    download_id), count(download_id), (SELECT counts FROM responses
	    WHERE job_id = '$job' ORDER BY id LIMIT 1) FROM responses
	    WHERE job_id = '$job'" "1|1|$n|1"
}

# cl_refused JOB ADDR: after the job's one download, another client's
# GET and its `Range: bytes=1-` both get 410.
cl_refused() {
	local s1 s2
	s1=$(curl -sS --max-time 10 --interface "$2" -o /dev/null \
	    -w '%{http_code}' "$BASE/download/$1")
	s2=$(curl -sS --max-time 10 --interface "$2" -r 1- -o /dev/null \
	    -w '%{http_code}' "$BASE/download/$1")
	it_expect_eq "$1: then another client ($2) gets 410, and 410 for bytes=1-" \
	    "410 410" "$s1 $s2"
}

# The cut: the client's first run stops after CL_CUT bytes, as if the user
# had interrupted it (the client writes into a pipe that closes). A cut
# by time is not a bound here: curl 7.88's --limit-rate lets a transfer
# start at full speed (measured on loopback: 8 MiB in 0.5 s at 1M).
CL_CUT=2097152

# curl cut, then `curl -C -`.
test_client_curl() {
	local a f=$IT_DIR/cl/curl.bin url=$BASE/download/cl-curl
	a=$(it_addr 40)
	timeout 10 curl -sS --interface "$a" "$url" 2>/dev/null |
	    head -c "$CL_CUT" >"$f"
	it_check "curl: the first run is cut ($(stat -c %s "$f") bytes)" \
	    [ "$(stat -c %s "$f")" -eq "$CL_CUT" ]
	cl_run curl 20 curl -sS --interface "$a" -C - -o "$f" "$url"
	cl_expect_file curl "$f"
	cl_one_download "curl -C -" cl-curl "$a"
}

# wget cut, then `wget -c`. wget names the file from the URL: the
# optional name segment is for that.
test_client_wget() {
	local a d=$IT_DIR/cl/wget url=$BASE/download/cl-wget/$CL_FILE
	a=$(it_addr 41)
	mkdir -p "$d"
	timeout 10 wget -q -O - --bind-address="$a" "$url" 2>/dev/null |
	    head -c "$CL_CUT" >"$d/$CL_FILE"
	it_check "wget: the first run is cut ($(stat -c %s "$d/$CL_FILE") bytes)" \
	    [ "$(stat -c %s "$d/$CL_FILE")" -eq "$CL_CUT" ]
	cl_run wget 20 wget -q -c --bind-address="$a" -P "$d" "$url"
	cl_expect_file wget "$d/$CL_FILE"
	cl_one_download "wget -c" cl-wget "$a"
}

# aria2c JOB ADDR: 8 connections, 8 pieces of 1 MiB.
cl_aria2c() {
	cl_run aria2c 20 aria2c -q -x 8 -s 8 -k 1M --interface="$2" \
	    -d "$IT_DIR/cl" -o "$1.bin" --allow-overwrite=true \
	    --auto-file-renaming=false --file-allocation=none \
	    --max-tries=3 --retry-wait=1 "$BASE/download/$1"
	cl_expect_file aria2c "$IT_DIR/cl/$1.bin"
}

# axel JOB: 4 connections, from 127.0.0.1 (axel binds no address).
cl_axel() {
	cl_run axel 20 axel -q -n 4 -o "$IT_DIR/cl/$1.bin" "$BASE/download/$1"
	cl_expect_file axel "$IT_DIR/cl/$1.bin"
}

# What each client names the file it saves, for a UTF-8 name and a
# token in the link (the README's clients table says the same), and
# that curl refuses -C - with -J. Once, behind lighttpd in stream mode:
# the names come from sluice's headers and the URL, not the server.
test_client_names() {
	local url d got c
	url="$BASE/download/cl-name/Q3%20Bericht%20%E2%80%93%20M%C3%A4rz"
	url+="%20%28final%29.csv?token=$CL_TOKEN"
	for c in "curl -fsS -OJ|$CL_ASCII" \
	    "curl -fsS -O|Q3%20Bericht%20%E2%80%93%20M%C3%A4rz%20%28final%29.csv" \
	    "wget -q|$CL_NAME?token=$CL_TOKEN" \
	    "wget -q --content-disposition|$CL_NAME" \
	    "aria2c -q|$CL_NAME" \
	    "axel -q|$CL_ASCII"; do
		d=$(mktemp -d "$IT_DIR/cl/n.XXXXXX")
		(cd "$d" && timeout 20 ${c%%|*} "$url" >/dev/null 2>&1)
		got=$(ls -A "$d")
		it_expect_eq "names: ${c%%|*} saves the file as" "${c#*|}" "$got"
	done
	python3 -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1]).headers.get_filename())' \
	    "$url" >"$IT_DIR/cl/py" 2>&1
	it_expect_eq "names: Python's get_filename() reads the fallback" \
	    "$CL_ASCII" "$(cat "$IT_DIR/cl/py")"
	d=$(mktemp -d "$IT_DIR/cl/n.XXXXXX")
	(cd "$d" && curl -fsS -C - -OJ "$url" >/dev/null 2>&1)
	it_expect_eq "names: curl refuses -C - with -J (exit 2)" 2 "$?"
	d=$(mktemp -d "$IT_DIR/cl/n.XXXXXX")
	head -c 300000 "$IT_ROOT/$CL_FILE" >"$d/report.csv"
	(cd "$d" && curl -fsS -C - -o report.csv "$url")
	CL_RC=$?
	cl_expect_file "names: curl -C - -o NAME resumes into NAME" \
	    "$d/report.csv"
}

test_clients() {
	local c missing=""
	for c in curl wget aria2c axel; do
		command -v "$c" >/dev/null || missing+=" $c"
	done
	if [ -n "$missing" ]; then
		it_not_ok "$IT_SERVER $IT_MODE: the download clients are installed (make deps)" \
		    "missing:$missing"
		return
	fi
	rm -rf "$IT_DIR/cl"
	mkdir -p "$IT_DIR/cl"
	test_client_curl
	test_client_wget
	cl_aria2c cl-aria2 "$(it_addr 42)"
	cl_one_download "aria2c -x 8 -s 8" cl-aria2 "$(it_addr 42)"
	cl_axel cl-axel
	cl_one_download "axel -n 4" cl-axel 127.0.0.1
	# On a job limited to one download: each finishes, and then the
	# limit is reached for everyone else.
	cl_aria2c cl-aria2-1 "$(it_addr 42)"
	cl_one_download "aria2c, limit 1" cl-aria2-1 "$(it_addr 42)"
	cl_refused cl-aria2-1 "$(it_addr 43)"
	cl_axel cl-axel-1
	cl_one_download "axel, limit 1" cl-axel-1 127.0.0.1
	cl_refused cl-axel-1 "$(it_addr 43)"
	if [ "$IT_SERVER $IT_MODE" = "lighttpd stream" ]; then
		test_client_names
	fi
	rm -rf "$IT_DIR/cl"
}

# ------------------------------------------- the client behind a proxy
# realip_conf SERVER SRC: SRC (a deploy/ config) with its commented
# real-client lines uncommented (nginx realip, Apache mod_remoteip,
# lighttpd mod_extforward) and the proxies' placeholder 192.0.2.0/24
# replaced by 127.0.0.0/30, on stdout.
realip_conf() {
	local un
	case $1 in
	nginx) un='s/^([[:space:]]*)#(set_real_ip_from|real_ip_header|real_ip_recursive) /\1\2 /' ;;
	apache) un='s/^#(LoadModule remoteip_module|RemoteIP[A-Za-z]+) /\1 /' ;;
	lighttpd) un='s/^#(server\.modules \+=|extforward\.[a-z]+ =)/\1/' ;;
	*) return 1 ;;
	esac
	sed -E -e "$un" -e 's|192\.0\.2\.0/24|127.0.0.0/30|' "$2"
}

# The lines each server's config carries, commented, for a proxy or a CDN
# in front: uncommented, a request from a trusted proxy (127.0.0.1) is
# its client's, the last address in X-Forwarded-For that is not a proxy;
# anyone else's X-Forwarded-For is ignored. Starts the server from that
# config in front of the running sluice, and stops it.
test_realip() {
	local src conf=$IT_DIR/realip-$IT_SERVER.conf n want
	src=$(it_server_conf "$IT_SERVER" "$IT_MODE")
	realip_conf "$IT_SERVER" "$src" >"$conf"
	case $IT_SERVER in nginx | lighttpd) want=3 ;; apache) want=4 ;; esac
	n=$(diff "$src" "$conf" | grep -c '^>')
	it_check "realip: ${src#"$IT_TOP"/} has the $want commented real-client lines ($n)" \
	    [ "$n" -eq "$want" ]
	if ! it_server_up "$IT_SERVER" "$IT_MODE" "$SOCK" "$conf"; then
		it_not_ok "realip: $IT_SERVER starts with its real-client lines"
		return
	fi
	curl -sS -o /dev/null --max-time 10 \
	    -H 'X-Forwarded-For: 198.51.100.1, 203.0.113.7' \
	    "$BASE/download/realip-proxied"
	curl -sS -o /dev/null --max-time 10 --interface "$(it_addr 5)" \
	    -H 'X-Forwarded-For: 203.0.113.8' "$BASE/download/realip-spoof"
	it_sentinel realip
	log_has "realip: behind a trusted proxy, REMOTE_ADDR is its client" \
	    'id=realip-proxied status=404 .* remote="203\.0\.113\.7" '
	log_has "realip: anyone else's X-Forwarded-For is ignored" \
	    'id=realip-spoof status=404 .* remote="127\.0\.0\.5" '
	it_server_down
}
