# A throwaway PostgreSQL cluster for the integration tests: shell
# functions to source. Self-contained (it needs nothing from lib.sh), so
# that any test can use it.
#
#   . tests/integration/pg.sh
#   pg_start "$IT_DIR/pg" || exit 1   # initdb, start, create db "sluice"
#   sluicectl --db "$PG_URI" ...       # postgresql:///sluice?host=...&user=postgres
#   pg_psql "SELECT count(*) FROM export_jobs"
#   pg_createdb other; pg_uri other    # another database, and its URI
#   pg_stop                            # also safe to call twice
#
# The cluster lives in DIR (data in DIR/data, its log in DIR/postgres.log)
# and listens only on a unix socket in DIR: listen_addresses is empty, so
# there is no TCP at all, and no system service is used or changed. Local
# connections are trusted (no password). fsync is off: the data is thrown
# away, and the tests are faster for it.
#
# Run as root (as in CI), the cluster runs as the unprivileged `postgres`
# user that Debian's postgresql package creates: DIR is given to it, and
# any parent of DIR that postgres cannot traverse and that we own (a
# mktemp -d directory is 0700) gets o+x. Run as another user, the cluster
# runs as that user.
#
# Variables set by pg_start: PG_DIR (DIR), PG_DATA (DIR/data), PG_PID
# (the postmaster's pid), PG_URI (the "sluice" database's URI). PG_BIN
# (where initdb, pg_ctl and psql are) may be set before pg_start; by
# default the newest /usr/lib/postgresql/*/bin.
#
# The caller stops the cluster: call pg_stop from the test's EXIT trap
# (pg_stop only ever stops the postmaster of PG_PID, by pid).

PG_DIR= PG_DATA= PG_PID= PG_URI=
PG_RUN=()

# The postgres binaries: $PG_BIN, else the newest installed major version.
pg_bin() {
	if [ -z "${PG_BIN:-}" ]; then
		PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null |
		    sort -V | tail -n 1)
	fi
	[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] || {
		echo "pg.sh: no PostgreSQL server binaries (initdb) found;" \
		    "install postgresql" >&2
		return 1
	}
}

# Let the cluster's user reach DIR: o+x on each parent it cannot traverse
# that we own (never / and never a directory of someone else's).
pg_traverse() {
	local d=$1
	while d=$(dirname "$d") && [ "$d" != / ]; do
		"${PG_RUN[@]}" test -x "$d" && continue
		if [ "$(stat -c %u "$d")" = "$(id -u)" ]; then
			chmod o+x "$d" || return 1
		else
			echo "pg.sh: postgres cannot reach $d" >&2
			return 1
		fi
	done
}

# pg_start DIR: a new cluster in DIR (which must not hold one), started,
# with a database "sluice"; sets PG_DIR, PG_DATA, PG_PID and PG_URI.
# Returns 0, or 1 after saying why on stderr (then nothing is running).
pg_start() {
	local dir=$1
	pg_bin || return 1
	case $dir in /*) ;; *) dir=$PWD/$dir ;; esac
	PG_DIR=$dir PG_DATA=$dir/data
	mkdir -p "$dir" || return 1
	if [ "$(id -u)" -eq 0 ]; then
		PG_RUN=(runuser -u postgres --)
		chown postgres:postgres "$dir" || return 1
		pg_traverse "$dir" || return 1
	else
		PG_RUN=()
	fi
	chmod 0700 "$dir" || return 1
	if ! "${PG_RUN[@]}" "$PG_BIN/initdb" -D "$PG_DATA" -U postgres \
	    -A trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
		echo "pg.sh: initdb failed: see $dir/initdb.log" >&2
		return 1
	fi
	# Only the socket in DIR; only local (socket) connections, trusted.
	cat >>"$PG_DATA/postgresql.conf" <<-EOF
	listen_addresses = ''
	unix_socket_directories = '$dir'
	fsync = off
	synchronous_commit = off
	full_page_writes = off
	EOF
	printf 'local all all trust\n' >"$PG_DATA/pg_hba.conf"
	if ! "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -l \
	    "$dir/postgres.log" -w -t 30 start >/dev/null 2>&1; then
		echo "pg.sh: the server did not start: see $dir/postgres.log" >&2
		PG_PID=$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null)
		pg_stop
		return 1
	fi
	PG_PID=$(head -n 1 "$PG_DATA/postmaster.pid")
	PG_URI=$(pg_uri sluice)
	pg_createdb sluice || { pg_stop; return 1; }
}

# pg_uri NAME: the URI of database NAME in the cluster.
pg_uri() { printf 'postgresql:///%s?host=%s&user=postgres\n' "$1" "$PG_DIR"; }

# pg_createdb NAME: a new, empty database NAME.
pg_createdb() {
	pg_psql "CREATE DATABASE \"$1\"" postgres >/dev/null
}

# pg_psql SQL [DB]: run SQL (one statement or several; read as a script,
# so each statement's rows are printed) in database DB (default sluice).
# Rows come as sqlite3 -batch -noheader prints them: columns separated
# by '|', NULL as nothing, no header or footer. Stops at the first error
# (on stderr) and then returns non-zero.
pg_psql() {
	printf '%s\n' "$1" | "$PG_BIN/psql" -X -q -A -t -F '|' \
	    -v ON_ERROR_STOP=1 -d "$(pg_uri "${2:-sluice}")" -f -
}

# pg_stop: stop the cluster (fast: sessions are cut), by its pid; kill it
# if it is still there after 10 s. Nothing to do when none was started.
pg_stop() {
	local i
	[ -n "$PG_PID" ] || return 0
	if kill -0 "$PG_PID" 2>/dev/null; then
		"${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 10 \
		    stop >/dev/null 2>&1
		for i in $(seq 1 100); do
			kill -0 "$PG_PID" 2>/dev/null || break
			[ "$i" -lt 100 ] && sleep 0.1
		done
		kill -0 "$PG_PID" 2>/dev/null && kill -KILL "$PG_PID"
	fi
	PG_PID=
}
