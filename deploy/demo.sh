#!/usr/bin/env bash
# make demo: a real download on a fresh machine. Creates a demo export (a
# 300 MB file and its job row), starts sluice under spawn-fcgi and lighttpd
# on 127.0.0.1:${DEMO_PORT:-8080} with deploy/lighttpd/sluice.conf, prints
# the curl commands to try, and stops both on Ctrl-C.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
port=${DEMO_PORT:-8080}
size_mb=${DEMO_SIZE_MB:-300}
bin=$top/build/sluice
[ -x "$bin" ] || { echo "demo: build/sluice is missing: run make" >&2; exit 1; }
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
	echo "demo: 127.0.0.1:$port is in use; try DEMO_PORT=8081 make demo" >&2
	exit 1
fi

# A short path: unix socket paths are limited to 108 bytes.
dir=$(mktemp -d /tmp/sluice-demo.XXXXXX)
sluice_pid= lighttpd_pid=
stop() {
	trap - EXIT INT TERM
	echo
	echo "demo: stopping"
	for pid in $lighttpd_pid $sluice_pid; do
		kill "$pid" 2>/dev/null || true
	done
	# Bounded wait; a zombie (State: Z) has exited already.
	for pid in $lighttpd_pid $sluice_pid; do
		for _ in $(seq 1 50); do
			grep -qs '^State:[[:space:]]*[^Z]' "/proc/$pid/status" ||
			    break
			sleep 0.1
		done
	done
	rm -rf "$dir"
	exit 0
}
trap stop EXIT INT TERM

mkdir -p "$dir/export/2026" "$dir/htdocs"
printf 'demo:demo\n' >"$dir/users"
echo "demo: writing a ${size_mb} MB export into $dir/export"
# The exporter's side, as README.md describes it: write under a temporary
# name, fsync, rename into place, and only then commit the row as done.
head -c $((size_mb * 1024 * 1024)) /dev/urandom >"$dir/export/2026/.ledger.csv.tmp"
sync "$dir/export/2026/.ledger.csv.tmp"
mv "$dir/export/2026/.ledger.csv.tmp" "$dir/export/2026/ledger-q3.csv"
sha=$(sha256sum "$dir/export/2026/ledger-q3.csv" | cut -d' ' -f1)
id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
sqlite3 "$dir/jobs.db" <"$top/sql/schema.sql"
sqlite3 "$dir/jobs.db" "INSERT INTO export_jobs
    (id, status, file_path, file_name, content_type, file_size, sha256,
     finished_at)
    VALUES ('$id', 'done', '2026/ledger-q3.csv', 'ledger-q3-2026.csv',
     'text/csv', $((size_mb * 1024 * 1024)), '$sha', unixepoch());"

spawn-fcgi -s "$dir/sluice.sock" -M 0660 -P "$dir/sluice.pid" -- "$bin" \
    --db "$dir/jobs.db" --root "$dir/export" --log-file "$dir/sluice.log" \
    --state-db "$dir/sluice-state.db" \
    --url-prefix /download/,/private/download/ >/dev/null
sluice_pid=$(cat "$dir/sluice.pid")
sed -e "s|@PORT@|$port|g" -e "s|@DOCROOT@|$dir/htdocs|g" \
    -e "s|@STATEDIR@|$dir|g" -e "s|@SOCKET@|$dir/sluice.sock|g" \
    -e "s|@AUTHFILE@|$dir/users|g" \
    "$top/deploy/lighttpd/sluice.conf" >"$dir/lighttpd.conf"
lighttpd -D -f "$dir/lighttpd.conf" &
lighttpd_pid=$!
for _ in $(seq 1 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.1
done

url="http://127.0.0.1:$port/download/$id"
cat <<MSG

sluice is serving behind lighttpd on 127.0.0.1:$port (Ctrl-C stops both).

Download the export (curl saves it under the name sluice sends, as
ASCII; to resume a cut download, name the file: curl -C - -o NAME $url):
  curl -fOJ $url

Show the headers only:
  curl -I $url

Check it against the SHA-256 the exporter recorded:
  curl -s $url | sha256sum     # expect $sha

sluice's log, one line per request:
  tail -f $dir/sluice.log
MSG
wait "$lighttpd_pid" || true
