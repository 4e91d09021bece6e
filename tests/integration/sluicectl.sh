#!/usr/bin/env bash
# Integration tests of sluicectl, the admin tool: every subcommand against
# real databases and a real export root, and the URLs that `add` prints
# downloaded through lighttpd + sluice (spawn-fcgi).
#
# The same tests run once per backend (CTL_BACKEND), with the same
# assertions on the same output:
#   sqlite  both databases SQLite files;
#   pg      both in PostgreSQL (a throwaway cluster, pg.sh; jobs and state
#           in two databases of it), plus checks only PostgreSQL has
#           (unreachable server, init racing init, output byte for byte
#           the same as SQLite's for the same rows);
#   mixed   the jobs in PostgreSQL, the state database a SQLite file:
#           the tests whose commands read or write both (init, add,
#           list, show, audit, revoke, purge), to keep the time down.
# With CTL_BACKEND unset, the script runs itself for each, in turn. The
# help texts and progress bars touch no database: they run on sqlite only.
#
# The downloads through lighttpd run on every backend: sluice reads and
# writes PostgreSQL as sluicectl does (CTL_PG_DAEMON=0 inserts the rows
# its downloads would write instead: fake_download).
#
# Usage: bash tests/integration/sluicectl.sh   (from the top, after make)
# Environment: SLUICECTL_BIN (default build/sluicectl), SLUICE_BIN (default
# build/sluice), CTL_BACKEND (above); IT_KEEP=1 keeps the scratch
# directory.
set -u

IT_TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$IT_TOP" || exit 1

if [ -z "${CTL_BACKEND:-}" ]; then
	rc=0
	for b in sqlite pg mixed; do
		CTL_BACKEND=$b bash "$0" || rc=1
	done
	exit $rc
fi
case $CTL_BACKEND in
sqlite | pg | mixed) ;;
*) echo "CTL_BACKEND: sqlite, pg or mixed, not '$CTL_BACKEND'" >&2; exit 2 ;;
esac

. tests/integration/lib.sh
. tests/integration/servers.sh
. tests/integration/pg.sh

CTL=${SLUICECTL_BIN:-$IT_TOP/build/sluicectl}
BIN=${SLUICE_BIN:-$IT_TOP/build/sluice}
for b in "$CTL" "$BIN"; do
	[ -x "$b" ] || { echo "missing $b: run make first" >&2; exit 2; }
done

it_scratch ctl
trap 'pg_stop; it_cleanup; [ -n "${IT_KEEP:-}" ] || rm -rf "$IT_DIR"' EXIT
it_log "# sluicectl on $CTL_BACKEND"

# sluicectl's settings come from the environment, as in production (the
# state database's default is /var/lib/sluice/state.db: here, scratch).
# JOBS_PG and STATE_PG: which of the two is in PostgreSQL.
JOBS_PG= STATE_PG=
if [ "$CTL_BACKEND" != sqlite ]; then
	pg_start "$IT_DIR/pg" || exit 1
	pg_createdb state || exit 1
	JOBS_PG=1
	[ "$CTL_BACKEND" = pg ] && STATE_PG=1
fi
export SLUICE_DB=$IT_DIR/jobs.db
[ -n "$JOBS_PG" ] && SLUICE_DB=$PG_URI
export SLUICE_ROOT=$IT_ROOT
unset SLUICE_PUBLIC_URL
STATE=$IT_DIR/sluice-state.db
[ -n "$STATE_PG" ] && STATE=$(pg_uri state)
export SLUICE_STATE_DB=$STATE
DAY=86400
# Downloads through lighttpd and sluice, unless CTL_PG_DAEMON=0 (see
# above). Without them, BASE is only the URLs' prefix.
HTTP=1
[ -n "$JOBS_PG" ] && [ "${CTL_PG_DAEMON:-1}" = 0 ] && HTTP=
BASE=http://127.0.0.1:9

# ------------------------------------------------------------- helpers
# ctl NAME ARGS...: run sluicectl; stdout in $IT_DIR/o.NAME, stderr in
# $IT_DIR/e.NAME, the exit status in C_RC.
ctl() {
	C_NAME=$1
	shift
	"$CTL" "$@" >"$IT_DIR/o.$C_NAME" 2>"$IT_DIR/e.$C_NAME" </dev/null
	C_RC=$?
}

out() { cat "$IT_DIR/o.$C_NAME"; }

# A string as an extended regex that matches only it (a PostgreSQL URI
# has '?' in it).
re_quote() { printf '%s' "$1" | sed 's/[][\\.*^$?+(){}|]/\\&/g'; }

expect_rc() {
	if [ "$C_RC" = "$1" ]; then
		it_ok "$C_NAME: exit $1"
	else
		it_not_ok "$C_NAME: exit $1" "got: $C_RC" \
		    "stderr: $(head -c 400 "$IT_DIR/e.$C_NAME")" \
		    "stdout: $(head -c 400 "$IT_DIR/o.$C_NAME")"
	fi
}

# An exact line of stdout.
expect_line() {
	if grep -Fxq -- "$1" "$IT_DIR/o.$C_NAME"; then
		it_ok "$C_NAME: line '$1'"
	else
		it_not_ok "$C_NAME: line '$1'" "stdout: $(head -c 600 \
		    "$IT_DIR/o.$C_NAME")"
	fi
}

# stderr is exactly one line, matching an extended regex.
expect_err() {
	local n got
	n=$(wc -l <"$IT_DIR/e.$C_NAME")
	got=$(cat "$IT_DIR/e.$C_NAME")
	if [ "$n" -eq 1 ] && printf '%s' "$got" | grep -Eq -- "^$1\$"; then
		it_ok "$C_NAME: one error line ~ $1"
	else
		it_not_ok "$C_NAME: one error line ~ $1" "got ($n lines): $got"
	fi
}

# One python3 answers every py and expect_json (starting one takes up to
# half a second on a busy machine, and there are hundreds): it reads
# "KIND FILE" lines, KIND json (is FILE valid JSON?) or eval (the
# expression in $IT_DIR/py.expr, over FILE's JSON as d), and answers
# with the result's lines, then a line holding only ETX.
coproc PYSRV { python3 -c 'import json, sys
for line in sys.stdin:
    kind, path = line.rstrip("\n").split(" ", 1)
    try:
        d = json.load(open(path))
        if kind == "json":
            out = "valid"
        else:
            v = eval(open(sys.argv[1]).read())
            out = v if not isinstance(v, list) else " ".join(map(str, v))
    except Exception as e:
        out = "%s: %s" % (type(e).__name__, e)
    sys.stdout.write("%s\n\x03\n" % (out,))
    sys.stdout.flush()' "$IT_DIR/py.expr" 2>&1; }
IT_PIDS+=("$PYSRV_PID")
# Plain descriptors: bash keeps a coproc's from the subshells of pipelines
# (py ... | words).
exec {PY_IN}>&"${PYSRV[1]}" {PY_OUT}<&"${PYSRV[0]}"

# py_ask KIND: ask the python3 above about stdout; its answer on stdout.
py_ask() {
	local l
	printf '%s %s\n' "$1" "$IT_DIR/o.$C_NAME" >&"$PY_IN"
	while IFS= read -r l <&"$PY_OUT"; do
		[ "$l" = $'\003' ] && return 0
		printf '%s\n' "$l"
	done
	return 1
}

expect_json() {
	if [ "$(py_ask json)" = valid ]; then
		it_ok "$C_NAME: valid JSON"
	else
		it_not_ok "$C_NAME: valid JSON" "$(head -c 400 \
		    "$IT_DIR/o.$C_NAME")"
	fi
}

# py EXPR: evaluate a Python expression over the JSON in stdout (as d).
py() {
	printf '%s' "$1" >"$IT_DIR/py.expr"
	py_ask eval
}

# sql SQL, state_sql SQL: run SQL in the jobs or the state database,
# rows printed as sqlite3 -batch prints them (pg_psql prints the same).
# The tests' SQL is SQLite's; for PostgreSQL, pg_sql rewrites the few
# SQLite functions it uses. sluice writes the state database meanwhile:
# wait for its lock.
lite_sql() { sqlite3 -batch -noheader -cmd '.timeout 5000' "$1" "$2"; }
pg_sql() {
	pg_psql "$(printf '%s' "$2" | sed -e \
	    "s/last_insert_rowid()/currval(pg_get_serial_sequence('downloads', 'id'))/g" \
	    -e "s/group_concat(\([a-z_]*\))/string_agg(CAST(\1 AS TEXT), ',' ORDER BY \1)/g" \
	    -e 's/char(27)/chr(27)/g')" "$1"
}
sql() {
	if [ -n "$JOBS_PG" ]; then pg_sql sluice "$1"; else lite_sql "$SLUICE_DB" "$1"; fi
}
state_sql() {
	if [ -n "$STATE_PG" ]; then pg_sql state "$1"; else lite_sql "$STATE" "$1"; fi
}
# Everything the jobs database holds, as text (to compare before and after,
# and to search).
jobs_dump() {
	if [ -n "$JOBS_PG" ]; then
		# pg_dump 15.14 and later open with a random \restrict key.
		"$PG_BIN/pg_dump" --no-owner -d "$PG_URI" |
		    grep -v '^\\\(un\)\{0,1\}restrict '
	else
		sqlite3 "$SLUICE_DB" .dump
	fi
}

# fake_download JOB SIZE: without sluice, the rows its whole download of
# JOB (SIZE bytes) by 127.0.0.1 would have left: one complete download,
# its one response a complete 200.
fake_download() {
	local t
	t=$(now)
	state_sql "INSERT INTO downloads (job_id, remote_addr, opened_at, last_at,
	    responses, bytes_sent, file_size, covered, spans, complete) VALUES
	    ('$1', '127.0.0.1', $t, $t, 1, $2, $2, $2, '0-$(($2 - 1))', 1);
	    INSERT INTO responses (download_id, job_id, started_at, remote_addr,
	    range_start, range_end, status, counts, bytes_sent, duration_ms,
	    outcome, pid) VALUES (last_insert_rowid(), '$1', $t, '127.0.0.1', 0,
	    $(($2 - 1)), 200, 1, $2, 1, 'complete', 1)"
}
now() { date +%s; }
# Unix seconds as sluicectl prints them: "YYYY-MM-DD HH:MM:SS", UTC.
it_date() { date -u -d "@$1" '+%Y-%m-%d %H:%M:%S'; }

# Words (arguments, or lines of stdin) sorted bytewise, on one line.
words() {
	if [ $# -gt 0 ]; then printf '%s\n' "$@"; else cat; fi |
	    LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
}

# Lines (of stdin) on one line, in their order.
joined() { tr '\n' ' ' | sed 's/ $//'; }

# The value after "KEY" on add's key/value output.
field() { awk -v k="$1" '$1 == k { print $2; exit }' "$IT_DIR/o.$C_NAME"; }

# The path part of a URL printed for $BASE.
url_path() { printf '%s' "${1#"$BASE"}"; }

# ----------------------------------------------------------- --help, usage
test_help() {
	local cmd
	ctl help --help
	expect_rc 0
	it_check "help: names every command" bash -c "for c in init add \
	    list show revoke purge audit check; do grep -Eq \"^  \$c\" \
	    '$IT_DIR/o.help' || exit 1; done"
	expect_line "3 not found (show or revoke of an unknown id)."
	ctl help-h -h
	expect_rc 0
	for cmd in init add list show revoke purge audit check; do
		ctl "help-$cmd" "$cmd" --help
		expect_rc 0
		it_check "help-$cmd: usage line" \
		    grep -q "^usage: sluicectl $cmd" "$IT_DIR/o.help-$cmd"
		it_check "help-$cmd: exit codes documented" \
		    grep -q "2 usage error" "$IT_DIR/o.help-$cmd"
	done
	# Help before the command, and with otherwise bad arguments.
	ctl help-before --help add
	expect_rc 0
	it_check "help-before: add's help" \
	    grep -q '^usage: sluicectl add' "$IT_DIR/o.help-before"
	ctl help-add-opts add --token --help
	expect_rc 0
	it_check "help: add documents --expires units" \
	    grep -q 'unit s, m, h, d or w' "$IT_DIR/o.help-add"
}

test_usage() {
	ctl u-none
	expect_rc 2
	expect_err 'sluicectl: no command given \(see sluicectl --help\)'
	ctl u-cmd frobnicate
	expect_rc 2
	expect_err "sluicectl: unknown command 'frobnicate' .*"
	ctl u-opt list --bogus
	expect_rc 2
	expect_err "sluicectl: list: unknown option '--bogus' .*"
	ctl u-optcmd list --move
	expect_rc 2
	expect_err "sluicectl: list: unknown option '--move' .*"
	ctl u-nofile add
	expect_rc 2
	expect_err 'sluicectl: add: missing FILE .*'
	ctl u-noid show
	expect_rc 2
	ctl u-extra revoke a b
	expect_rc 2
	expect_err "sluicectl: revoke: unexpected argument 'b' .*"
	ctl u-expires add --expires 7x /etc/hostname
	expect_rc 2
	expect_err "sluicectl: add: --expires: .*got '7x'"
	ctl u-expires2 add --expires 7 /etc/hostname
	expect_rc 2
	ctl u-max add --max-downloads -1 /etc/hostname
	expect_rc 2
	ctl u-status list --status finished
	expect_rc 2
	ctl u-novalue list --status
	expect_rc 2
	expect_err 'sluicectl: list: --status needs a value'
	ctl u-flagvalue purge --dry-run=yes
	expect_rc 2
	ctl u-older purge --older-than 3d
	expect_rc 2
	ctl u-since audit --since yesterday
	expect_rc 2
	ctl u-limit audit --limit ten
	expect_rc 2
	ctl u-window show --resume-window 5x x
	expect_rc 2
	expect_err "sluicectl: show: --resume-window \(or SLUICE_RESUME_WINDOW\): want a number and a unit s, m, h, d or w \(e\.g\. 1h\), or off; got '5x'"
	ctl u-window-cmd add --resume-window 1h /etc/hostname
	expect_rc 2
	expect_err "sluicectl: add: unknown option '--resume-window' .*"
	ctl u-responses list --responses
	expect_rc 2
	C_NAME=u-nodb
	env -u SLUICE_DB "$CTL" list >"$IT_DIR/o.u-nodb" 2>"$IT_DIR/e.u-nodb"
	C_RC=$?
	expect_rc 2
	expect_err 'sluicectl: list: no jobs database: give --db or SLUICE_DB'
	C_NAME=u-noroot
	env -u SLUICE_ROOT "$CTL" check >"$IT_DIR/o.u-noroot" \
	    2>"$IT_DIR/e.u-noroot"
	C_RC=$?
	expect_rc 2
	# Before init: a clear error, and no empty database created (in
	# PostgreSQL: no table).
	ctl u-nodbfile list
	expect_rc 1
	if [ -n "$JOBS_PG" ]; then
		expect_err "sluicectl: $(re_quote "$SLUICE_DB"): prepare: relation 'export_jobs' does not exist \(run \`sluicectl init\`\)"
		it_expect_eq "u-nodbfile: no table created" "" \
		    "$(sql "SELECT to_regclass('export_jobs')")"
	else
		expect_err "sluicectl: $SLUICE_DB: no such database \(run \`sluicectl init\`\)"
		it_check "u-nodbfile: no database file created" [ ! -e "$SLUICE_DB" ]
	fi
}

# PostgreSQL only: a server that does not answer, and a database that is
# not there, are one line each (naming the database, never its
# password) and exit 1, as a missing SQLite file is.
test_pg_errors() {
	local gone="postgresql://postgres:s3cret@/sluice?host=$IT_DIR/nosock"
	ctl pg-down list --db "$gone"
	expect_rc 1
	expect_err "sluicectl: PostgreSQL postgresql://postgres:\*\*\*@/sluice\?host=$(re_quote "$IT_DIR")/nosock: connection to server on socket .* failed: .*"
	it_check "pg-down: the password is not printed" \
	    it_not grep -q s3cret "$IT_DIR/e.pg-down"
	ctl pg-down-audit audit --state-db "host=$IT_DIR/nosock dbname=x password=s3cret"
	expect_rc 1
	expect_err "sluicectl: PostgreSQL host=$IT_DIR/nosock dbname=x password=\*\*\*: connection to server .*"
	ctl pg-nodb show x --db "$(pg_uri nosuchdb)"
	expect_rc 1
	expect_err "sluicectl: PostgreSQL $(re_quote "$(pg_uri nosuchdb)"): .*database 'nosuchdb' does not exist"
	pg_createdb empty
	ctl pg-empty-audit audit --state-db "$(pg_uri empty)"
	expect_rc 1
	expect_err "sluicectl: $(re_quote "$(pg_uri empty)"): no sluice state tables \(run \`sluicectl init\`\)"
	ctl pg-empty-add add --db "$(pg_uri empty)" /etc/hostname
	expect_rc 1
	it_check "pg-empty-add: says to run init" \
	    grep -q "is it a jobs database? (run \`sluicectl init\`)" "$IT_DIR/e.pg-empty-add"
}

# PostgreSQL only: hosts running init at once on an empty database (the
# advisory lock): every one succeeds, the tables are made once.
test_pg_init_race() {
	local uri i pids=() bad=0
	pg_createdb race
	uri=$(pg_uri race)
	for i in 1 2 3 4; do
		"$CTL" init --json --db "$uri" --state-db "$uri" \
		    --root "$IT_DIR/race-root" >"$IT_DIR/o.race$i" \
		    2>"$IT_DIR/e.race$i" </dev/null &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || bad=$((bad + 1)); done
	it_expect_eq "init race: every init succeeded" 0 "$bad"
	it_expect_eq "init race: the tables made by exactly one" "1 1" \
	    "$(cat "$IT_DIR"/o.race? | python3 -c 'import json, sys
r = [json.loads(l) for l in sys.stdin]
print(sum(x["db"]["created"] for x in r), sum(x["state_db"]["created"] for x in r))')"
	it_expect_eq "init race: state_version has one row, 2" 2 \
	    "$(pg_psql "SELECT string_agg(CAST(version AS TEXT), ' ') FROM state_version" race)"
}

# ------------------------------------------------------------------ init
test_init() {
	ctl init1 init
	expect_rc 0
	expect_line "jobs database   $SLUICE_DB (created)"
	expect_line "state database  $STATE (created)"
	expect_line "export root     $IT_ROOT (created)"
	it_check "init: export root is a directory" [ -d "$IT_ROOT" ]
	if [ -n "$JOBS_PG" ]; then
		it_expect_eq "init: export_jobs table" export_jobs \
		    "$(sql "SELECT to_regclass('export_jobs')")"
	else
		it_expect_eq "init: export_jobs table" export_jobs \
		    "$(sql "SELECT name FROM sqlite_master WHERE name = 'export_jobs'")"
	fi
	if [ -n "$STATE_PG" ]; then
		it_expect_eq "init: the state tables, version 2" \
		    "download_counts downloads responses state_version 2" \
		    "$(state_sql "SELECT string_agg(table_name, ' ' ORDER BY
		        table_name) FROM information_schema.tables WHERE
		        table_schema = 'public'") $(state_sql 'SELECT version
		        FROM state_version')"
	else
		it_expect_eq "init: the state database's tables, version 2" \
		    "download_counts downloads responses 2" \
		    "$(state_sql "SELECT group_concat(name, ' ') FROM (SELECT name
		        FROM sqlite_master WHERE type = 'table' ORDER BY name)") $(
		        state_sql 'PRAGMA user_version')"
		it_expect_eq "init: state database in WAL mode" wal \
		    "$(state_sql 'PRAGMA journal_mode')"
	fi
	sql "INSERT INTO export_jobs (id, status) VALUES ('sentinel', 'pending')"
	state_sql "INSERT INTO downloads (job_id, opened_at, last_at, file_size)
	    VALUES ('sentinel', 1, 1, 1);
	    INSERT INTO responses (download_id, job_id, started_at, range_start,
	    range_end, status, counts, pid) VALUES (last_insert_rowid(),
	    'sentinel', 1, 0, 0, 200, 1, 1)"
	# Again, with --json, and global options after the command.
	ctl init2 init --json --db "$SLUICE_DB" --root "$IT_ROOT"
	expect_rc 0
	expect_json
	it_expect_eq "init2: nothing created" "False False False" \
	    "$(py '[d["db"]["created"], d["state_db"]["created"], d["root"]["created"]]')"
	it_expect_eq "init2: state db beside --db" "$STATE" "$(py 'd["state_db"]["path"]')"
	it_expect_eq "init2: jobs kept (idempotent)" 1 \
	    "$(sql "SELECT count(*) FROM export_jobs WHERE id = 'sentinel'")"
	it_expect_eq "init2: downloads and responses kept" "1 1" \
	    "$(state_sql "SELECT (SELECT count(*) FROM downloads WHERE job_id =
	        'sentinel') || ' ' || (SELECT count(*) FROM responses WHERE
	        job_id = 'sentinel')")"
	it_expect_eq "init2: a response in flight stays in flight" started \
	    "$(state_sql "SELECT outcome FROM responses WHERE job_id = 'sentinel'")"
	it_expect_eq "init2: not migrated" False "$(py 'd["state_db"]["migrated"]')"
	sql "DELETE FROM export_jobs WHERE id = 'sentinel'"
	state_sql "DELETE FROM responses; DELETE FROM downloads"
	# --state-db and nested roots.
	ctl init3 init --db "$IT_DIR/other.db" --state-db "$IT_DIR/other-state.db" \
	    --root "$IT_DIR/a/b/c"
	expect_rc 0
	it_check "init3: --state-db used" [ -f "$IT_DIR/other-state.db" ]
	it_check "init3: nested root made" [ -d "$IT_DIR/a/b/c" ]
	# Run as root, init gives a new state database to its directory's
	# owner (sluice's user, by tmpfiles.d), who must write it.
	if [ "$(id -u)" -eq 0 ]; then
		mkdir "$IT_DIR/owned" && chown nobody:nogroup "$IT_DIR/owned"
		ctl init5 init --state-db "$IT_DIR/owned/state.db"
		expect_rc 0
		it_expect_eq "init5: the new state database is its directory's owner's" \
		    nobody:nogroup "$(stat -c %U:%G "$IT_DIR/owned/state.db")"
	fi
	ctl init4 init --root /proc/nope/x
	expect_rc 1
	expect_err 'sluicectl: init: export root /proc/nope/x: .*'
}

# A version 1 state database (one row per response: the schema sluice
# shipped before downloads, tests/unit/state_v1.sql): the readers refuse
# it and say to run init (a sluice of version 1 may be writing it); init
# migrates it in place, keeping every row; then show and audit read it.
test_init_v1() {
	local v1=$IT_DIR/v1-state.db t
	t=$(now)
	sqlite3 -batch "$v1" <tests/unit/state_v1.sql >/dev/null
	sqlite3 -batch "$v1" "INSERT INTO downloads (job_id, started_at,
	    remote_addr, remote_user, range_start, range_end, status, counts,
	    bytes_sent, duration_ms, outcome, pid) VALUES
	    ('v1job', $t - 900, '198.51.100.1', NULL, 0, 999, 200, 1, 1000, 3000, 'complete', 7),
	    ('v1job', $t - 800, '198.51.100.1', NULL, 500, 999, 206, 0, 500, 10, 'complete', 7),
	    ('v1job', $t - 700, '198.51.100.2', 'bob', 0, 999, 206, 1, 100, 5, 'aborted:client', 7),
	    ('v1job', $t - 10, '198.51.100.3', NULL, 0, 999, 200, 1, 0, NULL, 'started', 7);
	    INSERT INTO download_counts (job_id, pruned) VALUES ('v1job', 2)"
	sql "INSERT INTO export_jobs (id, status, max_downloads, file_size)
	    VALUES ('v1job', 'done', 9, 1000)"
	ctl v1-audit audit --state-db "$v1"
	expect_rc 1
	expect_err "sluicectl: audit: $v1 is a version 1 state database \(one row per response\): run \`sluicectl init\` to migrate it \(sluice also does when it starts\)"
	ctl v1-show show v1job --state-db "$v1"
	expect_rc 1
	expect_err "sluicectl: show: $v1 is a version 1 state database .*"
	ctl v1-list list --state-db "$v1"
	expect_rc 0
	expect_err "sluicectl: list: $v1 is a version 1 state database .*"
	it_check "v1-list: USED is '-' for the job" \
	    grep -Eq '^v1job +done +1000 B +.* +never +- +' "$IT_DIR/o.v1-list"
	it_expect_eq "v1: the readers left it at version 1" 0 \
	    "$(sqlite3 -batch "$v1" 'PRAGMA user_version')"

	ctl v1-init init --state-db "$v1"
	expect_rc 0
	expect_line "state database  $v1 (migrated from version 1)"
	it_expect_eq "v1-init: version 2, every response kept, one download per counted one" \
	    "2|4|3|2" "$(sqlite3 -batch "$v1" "SELECT (SELECT user_version FROM
	        pragma_user_version), (SELECT count(*) FROM responses),
	        (SELECT count(*) FROM downloads), (SELECT pruned FROM
	        download_counts WHERE job_id = 'v1job')")"
	it_expect_eq "v1-init: the response in flight is not closed (sluice may run)" \
	    started "$(sqlite3 -batch "$v1" "SELECT outcome FROM responses
	        WHERE remote_addr = '198.51.100.3'")"
	ctl v1-init2 init --json --state-db "$v1"
	expect_rc 0
	it_expect_eq "v1-init2: already migrated" "False False" \
	    "$(py '[d["state_db"]["created"], d["state_db"]["migrated"]]')"

	ctl v1-show2 show v1job --state-db "$v1" --responses
	expect_rc 0
	it_check "v1-show2: the 200 is a complete download of the whole file" grep -Eq \
	    "^$(it_date $((t - 900))) +$(it_date $((t - 897))) +198\\.51\\.100\\.1 +- +1 +1000 +1000/1000 \\(100%\\) +yes +open\$" \
	    "$IT_DIR/o.v1-show2"
	it_check "v1-show2: the 206 from 0, size unknown" grep -Eq \
	    "^$(it_date $((t - 700))) +$(it_date $((t - 700))) +198\\.51\\.100\\.2 +bob +1 +100 +100/\\? +no +open\$" \
	    "$IT_DIR/o.v1-show2"
	it_check "v1-show2: the continuation is a response of no download" grep -Eq \
	    "^$(it_date $((t - 800))) +198\\.51\\.100\\.1 +- +206 +500-999 +500 +10 +complete\$" \
	    "$IT_DIR/o.v1-show2"
	expect_line "5 of 9 downloads used (2 pruned), 3 open"
	ctl v1-audit2 audit --state-db "$v1" --json
	expect_rc 0
	it_expect_eq "v1-audit2: the downloads, newest first" \
	    "198.51.100.3:0:1000:False:True 198.51.100.2:100:-1:False:False 198.51.100.1:1000:1000:True:False" \
	    "$(py '" ".join("%s:%s:%s:%s:%s" % (x["remote_addr"], x["covered"], x["file_size"], x["complete"], x["in_flight"]) for x in d)')"
	sql "DELETE FROM export_jobs WHERE id = 'v1job'"
}

# ------------------------------------------------------------------- add
J1= J1TOK= J1URL= J2= J3=
SRC1=$IT_DIR/src/'Q3 report €.csv'

test_add_copy() {
	local path size sha now_s created tmpfiles
	mkdir -p "$IT_DIR/src"
	head -c 3000000 /dev/urandom >"$SRC1"
	ctl add1 add "$SRC1" --token --expires 7d --max-downloads 5 \
	    --content-type 'text/csv; charset=utf-8' --url "$BASE/download/"
	expect_rc 0
	J1=$(field id)
	J1TOK=$(field token)
	J1URL=$(field url)
	it_check "add1: id is 22 base64url characters" \
	    bash -c "[[ '$J1' =~ ^[A-Za-z0-9_][A-Za-z0-9_-]{21}\$ ]]"
	it_check "add1: token is 43 base64url characters" \
	    bash -c "[[ '$J1TOK' =~ ^[A-Za-z0-9_-]{43}\$ ]]"
	it_expect_eq "add1: URL" \
	    "$BASE/download/$J1/Q3%20report%20%E2%82%AC.csv?token=$J1TOK" "$J1URL"
	it_check "add1: copy keeps the source" [ -f "$SRC1" ]
	path=$(sql "SELECT file_path FROM export_jobs WHERE id = '$J1'")
	it_check "add1: file_path is YYYY/MM/<id>-<sanitised name>" \
	    bash -c "[[ '$path' =~ ^[0-9]{4}/[0-9]{2}/$J1-Q3_report_\\.csv\$ ]]"
	it_expect_eq "add1: file_path's month is now (UTC)" \
	    "$(date -u +%Y/%m)" "${path%/*}"
	it_check "add1: the file is in place, byte-exact" \
	    cmp -s "$SRC1" "$IT_ROOT/$path"
	tmpfiles=$(find "$IT_ROOT" -name '*.tmp' | wc -l)
	it_expect_eq "add1: no temporary file left" 0 "$tmpfiles"
	size=$(stat -c %s "$SRC1")
	sha=$(it_sha "$SRC1")
	it_expect_eq "add1: row" \
	    "done|$size|$sha|Q3 report €.csv|text/csv; charset=utf-8|5|604800|1" \
	    "$(sql "SELECT status, file_size, sha256, file_name, content_type,
	        max_downloads, expires_at - created_at, CASE WHEN finished_at =
	        created_at THEN 1 ELSE 0 END FROM export_jobs WHERE id = '$J1'")"
	now_s=$(now)
	created=$(sql "SELECT created_at FROM export_jobs WHERE id = '$J1'")
	it_check "add1: created_at is now" [ $((now_s - created)) -ge 0 -a \
	    $((now_s - created)) -le 60 ]
	it_expect_eq "add1: token_sha256 is the SHA-256 of the printed token" \
	    "$(printf '%s' "$J1TOK" | sha256sum | cut -d' ' -f1)" \
	    "$(sql "SELECT token_sha256 FROM export_jobs WHERE id = '$J1'")"
	it_check "add1: the token itself is nowhere in the jobs database" \
	    it_not grep -qF -- "$J1TOK" <(jobs_dump)
	[ -n "$JOBS_PG" ] || it_check "add1: nor in its file" \
	    it_not grep -qaF -- "$J1TOK" "$SLUICE_DB"
	it_check "add1: the token line says it is shown once" \
	    grep -q "^token    $J1TOK  (shown only now" "$IT_DIR/o.add1"

	# The printed URL, through lighttpd and sluice.
	if [ -z "$HTTP" ]; then
		fake_download "$J1" "$size"
		return
	fi
	it_get dl1 "$(url_path "$J1URL")"
	it_expect_status 200
	it_expect_body_sha_of "$SRC1"
	it_expect_header "Content-Length: $size"
	it_expect_header 'Content-Type: text/csv; charset=utf-8'
	it_expect_header_re Content-Disposition \
	    "Content-Disposition: attachment; filename=\"[^\"]*\"; filename\\*=UTF-8''Q3%20report%20%E2%82%AC\\.csv"
	it_expect_header "Repr-Digest: sha-256=:$(xxd -r -p <<<"$sha" | base64 -w0):"
	it_get dl1-notoken "/download/$J1/x.csv"
	it_expect_status 404
	# The same token with its last character changed.
	local bad=${J1TOK%?}A
	[ "$bad" != "$J1TOK" ] || bad=${J1TOK%?}B
	it_get dl1-badtoken "/download/$J1?token=$bad"
	it_expect_status 404
}

test_add_move() {
	local src=$IT_DIR/src/moved.bin sha path
	head -c 400000 /dev/urandom >"$src"
	sha=$(it_sha "$src")
	ctl add2 add --move --owner alice --name 'Résumé 2024/v2.bin' \
	    --url "$BASE/private/download" "$src"
	expect_rc 0
	J2=$(field id)
	it_check "add2: --move removed the source" [ ! -e "$src" ]
	path=$(sql "SELECT file_path FROM export_jobs WHERE id = '$J2'")
	it_expect_eq "add2: moved file's sha256" "$sha" "$(it_sha "$IT_ROOT/$path")"
	it_check "add2: file_path from the source's basename" \
	    bash -c "[[ '$path' =~ ^[0-9]{4}/[0-9]{2}/$J2-moved\\.bin\$ ]]"
	it_expect_eq "add2: row" "alice|Résumé 2024/v2.bin|$sha|400000|||" \
	    "$(sql "SELECT owner, file_name, sha256, file_size, expires_at,
	        max_downloads, token_sha256 FROM export_jobs WHERE id = '$J2'")"
	# '/' cannot be in the cosmetic segment: it becomes '_'.
	it_expect_eq "add2: URL" \
	    "$BASE/private/download/$J2/R%C3%A9sum%C3%A9%202024_v2.bin" \
	    "$(field url)"
	[ -n "$HTTP" ] || return 0
	it_get dl2-public "/download/$J2"
	it_expect_status 403
	if grep -q '/private/download/' deploy/lighttpd/sluice.conf; then
		it_get dl2-alice "$(url_path "$(field url)")" -u alice:alice-pw
		it_expect_status 200
		it_expect_header 'Content-Length: 400000'
		it_check "dl2-alice: body sha256 = moved file" \
		    [ "$(it_sha "$IT_DIR/b.dl2-alice")" = "$sha" ]
		it_get dl2-bob "$(url_path "$(field url)")" -u bob:bob-pw
		it_expect_status 403
	fi
}

# Defaults: name from the basename, no expiry, no limit, no owner or token,
# octet-stream; the base URL from SLUICE_PUBLIC_URL (a '/' is added).
test_add_defaults() {
	local src=$IT_DIR/src/plain.txt
	printf 'plain text\n' >"$src"
	C_NAME=add3
	SLUICE_PUBLIC_URL="$BASE/download" "$CTL" add "$src" \
	    >"$IT_DIR/o.add3" 2>"$IT_DIR/e.add3"
	C_RC=$?
	expect_rc 0
	J3=$(field id)
	it_expect_eq "add3: URL from SLUICE_PUBLIC_URL" \
	    "$BASE/download/$J3/plain.txt" "$(field url)"
	it_check "add3: no token line" bash -c "! grep -q '^token' '$IT_DIR/o.add3'"
	expect_line "expires  never"
	it_expect_eq "add3: row defaults" \
	    "plain.txt|application/octet-stream|11||||" \
	    "$(sql "SELECT file_name, content_type, file_size, expires_at,
	        max_downloads, owner, token_sha256 FROM export_jobs
	        WHERE id = '$J3'")"
	if [ -n "$HTTP" ]; then
		it_get dl3 "$(url_path "$(field url)")"
		it_expect_status 200
		it_expect_body 'plain text'
	else
		fake_download "$J3" 11
	fi
	# Default base URL, --expires never, and --json.
	ctl add4 add --json --expires never "$src"
	expect_rc 0
	expect_json
	it_expect_eq "add4: default URL" \
	    "http://localhost/download/$(py 'd["id"]')/plain.txt" "$(py 'd["url"]')"
	it_expect_eq "add4: JSON fields" "done 11 None None" \
	    "$(py '" ".join(str(x) for x in [d["status"], d["file_size"], d["expires_at"], d["token"]])')"
	# Each unit of --expires.
	local u s
	for u in 90s:90 30m:1800 2h:7200 3d:259200 2w:1209600; do
		ctl "add-exp-${u%%:*}" add --json --expires "${u%%:*}" "$src"
		s=$(py 'd["id"]')
		it_expect_eq "add --expires ${u%%:*}: expires_at - created_at" "${u#*:}" \
		    "$(sql "SELECT expires_at - created_at FROM export_jobs WHERE id = '$s'")"
	done
}

# --move across file systems: copy, commit, then remove the source.
test_add_move_xdev() {
	local d src sha id
	for d in /dev/shm /run /var/tmp "$HOME"; do
		[ -d "$d" ] && [ -w "$d" ] || continue
		[ "$(stat -c %d "$d")" != "$(stat -c %d "$IT_DIR")" ] || continue
		src=$(mktemp "$d/sluice-ctl-xdev.XXXXXX") || continue
		head -c 300000 /dev/urandom >"$src"
		sha=$(it_sha "$src")
		ctl add-xdev add --json --move "$src"
		expect_rc 0
		id=$(py 'd["id"]')
		it_check "add-xdev: source removed" [ ! -e "$src" ]
		it_expect_eq "add-xdev: copied file sha256" "$sha" \
		    "$(it_sha "$IT_ROOT/$(py 'd["file_path"]')")"
		it_expect_eq "add-xdev: row sha256" "$sha" \
		    "$(sql "SELECT sha256 FROM export_jobs WHERE id = '$id'")"
		rm -f "$src"
		return
	done
	it_log "     (no second file system: --move across file systems not tested)"
}

test_add_refused() {
	local before files_before
	before=$(sql 'SELECT count(*) FROM export_jobs')
	files_before=$(find "$IT_ROOT" | sort | sha256sum)
	mkdir -p "$IT_DIR/src/adir"
	mkfifo "$IT_DIR/src/fifo"
	ln -s plain.txt "$IT_DIR/src/link.txt"
	ctl add-dir add "$IT_DIR/src/adir"
	expect_rc 1
	expect_err "sluicectl: add: .*/adir: a directory: only regular files can be added"
	ctl add-fifo add "$IT_DIR/src/fifo"
	expect_rc 1
	expect_err "sluicectl: add: .*/fifo: a FIFO: only regular files can be added"
	ctl add-dev add /dev/null
	expect_rc 1
	expect_err "sluicectl: add: /dev/null: a device: .*"
	ctl add-missing add "$IT_DIR/src/nope"
	expect_rc 1
	expect_err "sluicectl: add: .*/nope: No such file or directory"
	ctl add-movelink add --move "$IT_DIR/src/link.txt"
	expect_rc 1
	expect_err "sluicectl: add: .*/link.txt: a symlink: .*"
	it_check "add-movelink: the symlink is still there" [ -L "$IT_DIR/src/link.txt" ]
	ctl add-badtype add --content-type "$(printf 'text/plain\r\nX-Evil: 1')" \
	    "$IT_DIR/src/plain.txt"
	expect_rc 2
	ctl add-nodb add --db "$IT_DIR/nope.db" "$IT_DIR/src/plain.txt"
	expect_rc 1
	expect_err "sluicectl: $IT_DIR/nope.db: no such database .*"
	ctl add-noroot add --root "$IT_DIR/noroot" "$IT_DIR/src/plain.txt"
	expect_rc 1
	it_expect_eq "add refused: no row added" "$before" \
	    "$(sql 'SELECT count(*) FROM export_jobs')"
	it_expect_eq "add refused: nothing new in the root" "$files_before" \
	    "$(find "$IT_ROOT" | sort | sha256sum)"
}

# ------------------------------------------------------------------ list
test_list() {
	local n t
	n=$(sql 'SELECT count(*) FROM export_jobs')
	ctl list list
	expect_rc 0
	it_check "list: header" grep -Eq '^ID +STATUS +SIZE +CREATED +EXPIRES +USED +OWNER +TOKEN +NAME$' \
	    "$IT_DIR/o.list"
	it_expect_eq "list: one line per job" "$((n + 1))" "$(wc -l <"$IT_DIR/o.list")"
	# J1 (limit 5) was downloaded once through sluice (test_add_copy).
	it_check "list: J1's row (UTF-8 name, token, size, 1 of 5 used)" \
	    grep -Eq "^$J1 +done +2\\.9 MiB .* +1/5 +- +yes +Q3 report €\\.csv$" "$IT_DIR/o.list"
	it_check "list: J3 (no limit, downloaded once)" \
	    grep -Eq "^$J3 +done +11 B .* never +1/- +- +- +plain\\.txt$" "$IT_DIR/o.list"
	ctl list-json list --json
	expect_rc 0
	expect_json
	it_expect_eq "list-json: every job" "$n" "$(py 'len(d)')"
	it_expect_eq "list-json: J1's name" 'Q3 report €.csv' \
	    "$(py "[j['file_name'] for j in d if j['id'] == '$J1'][0]")"
	it_check "list-json: never the token" \
	    bash -c "! grep -qF -- '$J1TOK' '$IT_DIR/o.list-json'"
	it_expect_eq "list-json: downloads used, as counted in the state database" \
	    "$(sql "SELECT id FROM export_jobs ORDER BY id" | while read -r j; do
	        printf '%s:%s\n' "$j" "$(state_sql "SELECT count(*) FROM downloads
	            WHERE job_id = '$j'")"; done | joined)" \
	    "$(py '"\n".join("%s:%s" % (j["id"], j["downloads_used"]) for j in sorted(d, key=lambda j: j["id"]))' | joined)"
	ctl list-nostate list --state-db "$IT_DIR/nostate.db"
	expect_rc 0
	it_check "list-nostate: USED is '-' without a state database" \
	    grep -Eq "^$J1 +done +2\\.9 MiB .* +- +- +yes +Q3 report €\\.csv$" "$IT_DIR/o.list-nostate"
	it_check "list-nostate: no state database created" [ ! -e "$IT_DIR/nostate.db" ]
	ctl list-nostate-json list --json --state-db "$IT_DIR/nostate.db"
	it_expect_eq "list-nostate --json: downloads_used null" True \
	    "$(py 'all(j["downloads_used"] is None for j in d)')"

	sql "UPDATE export_jobs SET status = 'failed', error = 'disk full' WHERE id = '$J3'"
	ctl list-failed list --status failed --json
	expect_rc 0
	it_expect_eq "list --status failed" "$J3" "$(py '[j["id"] for j in d]')"
	ctl list-done list --status done --json
	it_expect_eq "list --status done: count" \
	    "$(sql "SELECT count(*) FROM export_jobs WHERE status = 'done'")" \
	    "$(py 'len(d)')"
	it_expect_eq "list --status done: all done" True \
	    "$(py 'all(j["status"] == "done" for j in d)')"
	ctl list-owner list --owner alice --json
	expect_rc 0
	it_expect_eq "list --owner alice" "$J2" "$(py '[j["id"] for j in d]')"
	ctl list-owner-none list --owner mallory --json
	it_expect_eq "list --owner mallory: empty array" "[]" "$(out | tr -d '\n ')"

	t=$(now)
	sql "UPDATE export_jobs SET expires_at = $t - 10 WHERE id = '$J3'"
	ctl list-expired list --expired --json
	expect_rc 0
	expect_json
	it_expect_eq "list --expired" "$(sql "SELECT id FROM export_jobs
	    WHERE expires_at <= $t ORDER BY id" | tr '\n' ' ' | sed 's/ $//')" \
	    "$(py '" ".join(sorted(j["id"] for j in d))')"
	it_expect_eq "list --expired: J1 (7d) not in it" False \
	    "$(py "any(j['id'] == '$J1' for j in d)")"
	ctl list-expired-tbl list --expired --status failed
	it_check "list --expired table: '(expired)' shown" \
	    grep -Eq "^$J3 +failed .*\\(expired\\)" "$IT_DIR/o.list-expired-tbl"
	sql "UPDATE export_jobs SET status = 'done', error = NULL,
	    expires_at = NULL WHERE id = '$J3'"
}

# ------------------------------------------------------------------ show
# Seeded downloads of J2 (given a limit of 5 here): A, whole and done two
# hours ago (closed); B, two cut responses a minute ago (open for the
# window); C, a response in flight (open whatever the window); a response
# of no download; one pruned download. And one of J3. J2's own rows
# (alice's download through lighttpd) go first, so that the counts are
# these. A response in flight names this shell's pid: sluice's upkeep
# closes the rows of workers that no longer exist.
seed_downloads() {
	local t=$1
	state_sql "DELETE FROM responses WHERE job_id = '$J2';
	    DELETE FROM downloads WHERE job_id = '$J2';
	    INSERT INTO downloads (job_id, remote_addr, remote_user,
	    opened_at, last_at, responses, bytes_sent, file_size, covered, spans,
	    complete) VALUES
	    ('$J2', '192.0.2.7', 'alice', $t - 7200, $t - 7119, 1, 400000, 400000, 400000, '0-399999', 1);
	    INSERT INTO responses (download_id, job_id, started_at, remote_addr,
	    remote_user, range_start, range_end, status, counts, bytes_sent,
	    duration_ms, outcome, pid) VALUES
	    (last_insert_rowid(), '$J2', $t - 7200, '192.0.2.7', 'alice', 0, 399999, 200, 1, 400000, 81000, 'complete', 4242);
	    INSERT INTO downloads (job_id, remote_addr, remote_user, opened_at,
	    last_at, responses, bytes_sent, file_size, covered, spans, complete)
	    VALUES ('$J2', '192.0.2.8', 'alice', $t - 600, $t - 60, 2, 10000, 400000, 6000, '0-5999', 0);
	    INSERT INTO responses (download_id, job_id, started_at, remote_addr,
	    remote_user, range_start, range_end, status, counts, bytes_sent,
	    duration_ms, outcome, pid) VALUES
	    (last_insert_rowid(), '$J2', $t - 600, '192.0.2.8', 'alice', 0, 399999, 200, 1, 5000, 12, 'aborted:client', 4243),
	    (last_insert_rowid(), '$J2', $t - 61, '192.0.2.8', 'alice', 1000, 399999, 206, 0, 5000, 900, 'aborted:client', 4243);
	    INSERT INTO downloads (job_id, remote_addr, remote_user, opened_at,
	    last_at, responses, bytes_sent, file_size, covered, spans, complete)
	    VALUES ('$J2', '192.0.2.9', NULL, $t - 30, $t - 30, 1, 0, 400000, 0, '', 0);
	    INSERT INTO responses (download_id, job_id, started_at, remote_addr,
	    range_start, range_end, status, counts, pid) VALUES
	    (last_insert_rowid(), '$J2', $t - 30, '192.0.2.9', 0, 399999, 200, 1, $$);
	    INSERT INTO responses (download_id, job_id, started_at, remote_addr,
	    range_start, range_end, status, counts, bytes_sent, duration_ms,
	    outcome, pid) VALUES
	    (NULL, '$J2', $t - 20, '192.0.2.10', 0, 399999, 200, 0, 0, 3, 'aborted:client', 4245);
	    INSERT INTO download_counts (job_id, pruned) VALUES ('$J2', 1);
	    INSERT INTO downloads (job_id, remote_addr, opened_at, last_at,
	    responses, bytes_sent, file_size, covered, spans, complete)
	    VALUES ('$J3', '192.0.2.11', $t - 5000, $t - 5000, 1, 11, 11, 11, '0-10', 1);
	    INSERT INTO responses (download_id, job_id, started_at, remote_addr,
	    range_start, range_end, status, counts, bytes_sent, duration_ms,
	    outcome, pid) VALUES
	    (last_insert_rowid(), '$J3', $t - 5000, '192.0.2.11', 0, 10, 200, 1, 11, 1, 'complete', 4246)"
}

SEED_T=
test_show() {
	local t ra rb rc
	t=$(now)
	SEED_T=$t
	seed_downloads "$t"
	sql "UPDATE export_jobs SET max_downloads = 5 WHERE id = '$J2'"
	ctl list-used list
	it_check "list: J2 has used 4 of 5 (3 rows, 1 pruned)" \
	    grep -Eq "^$J2 +done +390\\.6 KiB .* never +4/5 +alice +- +Résumé 2024/v2\\.bin$" "$IT_DIR/o.list-used"
	it_check "list: J3 2 of no limit" \
	    grep -Eq "^$J3 +done .* +2/- +- +- +plain\\.txt$" "$IT_DIR/o.list-used"
	ctl show show "$J2"
	expect_rc 0
	expect_line "downloads, from state database: $STATE"
	expect_line "id             $J2"
	expect_line "status         done"
	expect_line "file_name      Résumé 2024/v2.bin"
	expect_line "owner          alice"
	expect_line "file_size      400000 (390.6 KiB)"
	expect_line "expires_at     never"
	expect_line "max_downloads  5"
	expect_line "token_sha256   - (no token needed)"
	it_check "show: the downloads header" grep -Eq \
	    '^OPENED +LAST +ADDR +USER +RESP +BYTES +COVERED +COMPLETE +STATE$' \
	    "$IT_DIR/o.show"
	ra="^$(it_date $((t - 7200))) +$(it_date $((t - 7119))) +192\\.0\\.2\\.7 +alice +1 +400000 +400000/400000 \\(100%\\) +yes +closed\$"
	rb="^$(it_date $((t - 600))) +$(it_date $((t - 60))) +192\\.0\\.2\\.8 +alice +2 +10000 +6000/400000 \\(1\\.5%\\) +no +open\$"
	rc="^$(it_date $((t - 30))) +$(it_date $((t - 30))) +192\\.0\\.2\\.9 +- +1 +0 +0/400000 \\(0\\.0%\\) +no +open\$"
	it_check "show: A, whole, closed" grep -Eq "$ra" "$IT_DIR/o.show"
	it_check "show: B, 1.5% covered, open in the window" grep -Eq "$rb" "$IT_DIR/o.show"
	it_check "show: C, in flight, open" grep -Eq "$rc" "$IT_DIR/o.show"
	it_expect_eq "show: oldest first, nothing else" "A B C" \
	    "$(grep -E '^[0-9]{4}-' "$IT_DIR/o.show" | awk '{ print $5 }' |
	        sed 's/192\.0\.2\.7/A/; s/192\.0\.2\.8/B/; s/192\.0\.2\.9/C/' | joined)"
	expect_line "4 of 5 downloads used (1 pruned), 2 open"
	it_check "show: no responses without --responses" \
	    bash -c "! grep -q STARTED '$IT_DIR/o.show'"
	# The window decides open or closed; C stays open, in flight.
	ctl show-w0 show "$J2" --resume-window 0
	expect_line "4 of 5 downloads used (1 pruned), 1 open"
	it_check "show --resume-window 0: B closed" grep -Eq "${rb% +open\$} +closed\$" \
	    "$IT_DIR/o.show-w0"
	ctl show-w30 show "$J2" --resume-window 30s
	expect_line "4 of 5 downloads used (1 pruned), 1 open"
	C_NAME=show-env
	SLUICE_RESUME_WINDOW=off "$CTL" show "$J2" >"$IT_DIR/o.show-env" 2>"$IT_DIR/e.show-env"
	C_RC=$?
	expect_rc 0
	expect_line "4 of 5 downloads used (1 pruned), 1 open"
	ctl show-w3h show "$J2" --resume-window 3h
	expect_line "4 of 5 downloads used (1 pruned), 3 open"

	test_show_responses "$t" "$rb"
	test_show_json
	sql "UPDATE export_jobs SET max_downloads = NULL WHERE id = '$J2'"
	ctl show-nolimit show "$J2"
	expect_line "4 downloads used (1 pruned), no limit, 2 open"
	ctl show-nostate show "$J2" --state-db "$IT_DIR/nostate.db"
	expect_rc 0
	expect_line "downloads: unknown (no state database $IT_DIR/nostate.db yet)"
	it_check "show-nostate: no state database created" [ ! -e "$IT_DIR/nostate.db" ]

	ctl show-tok show "$J1"
	it_check "show: never the token" \
	    bash -c "! grep -qF -- '$J1TOK' '$IT_DIR/o.show-tok'"
	ctl show-unknown show nosuchjob
	expect_rc 3
	expect_err "sluicectl: show: no job 'nosuchjob'"
	it_check "show-unknown: nothing on stdout" [ ! -s "$IT_DIR/o.show-unknown" ]
	# Columns the exporter added are shown too.
	sql "ALTER TABLE export_jobs ADD COLUMN exporter_note TEXT"
	sql "UPDATE export_jobs SET exporter_note = 'hi' || char(27) || '[31m' WHERE id = '$J2'"
	ctl show-extra show "$J2"
	expect_line "exporter_note  hi?[31m"
	ctl show-extra-json show --json "$J2"
	expect_json
	it_expect_eq "show-extra-json: escape kept, escaped" 'hi\u001b[31m' \
	    "$(grep -o '"exporter_note":"[^"]*"' "$IT_DIR/o.show-extra-json" | cut -d'"' -f4)"
}

# show --responses: each download's responses beneath it, indented, and
# the job's responses of no download after.
test_show_responses() {
	local t=$1 rb=$2
	ctl show-resp show "$J2" --responses
	expect_rc 0
	it_expect_eq "show --responses: B, then its responses beneath" \
	    "$(printf '%s\n' "    STARTED              STATUS  RANGE         BYTES     MS  OUTCOME" \
	        "    $(it_date $((t - 600)))     200  0-399999       5000     12  aborted:client" \
	        "    $(it_date $((t - 61)))     206  1000-399999    5000    900  aborted:client")" \
	    "$(grep -E -A3 "$rb" "$IT_DIR/o.show-resp" | tail -n 3)"
	it_check "show --responses: C's response in flight" grep -Eq \
	    "^    $(it_date $((t - 30))) +200 +0-399999 +0 +- +started\$" \
	    "$IT_DIR/o.show-resp"
	expect_line "responses of no download:"
	it_check "show --responses: the response of no download" grep -Eq \
	    "^$(it_date $((t - 20))) +192\\.0\\.2\\.10 +- +200 +0-399999 +0 +3 +aborted:client\$" \
	    "$IT_DIR/o.show-resp"
	it_expect_eq "show --responses: one response line per response" 5 \
	    "$(grep -Ec '(complete|aborted:client|started)$' "$IT_DIR/o.show-resp")"
}

test_show_json() {
	ctl show-json show "$J2" --json
	expect_rc 0
	expect_json
	it_expect_eq "show-json: the job" "$J2 alice 400000 5" \
	    "$(py '" ".join(str(d["job"][k]) for k in ("id", "owner", "file_size", "max_downloads"))')"
	it_expect_eq "show-json: used, pruned, open" "4 1 2" \
	    "$(py '" ".join(str(d[k]) for k in ("downloads_used", "downloads_pruned", "downloads_open"))')"
	it_expect_eq "show-json: the downloads, oldest first" \
	    "192.0.2.7:1:400000:400000:0-399999:True:False:False 192.0.2.8:2:10000:6000:0-5999:False:False:True 192.0.2.9:1:0:0::False:True:True" \
	    "$(py '" ".join("%s:%s:%s:%s:%s:%s:%s:%s" % (x["remote_addr"], x["responses"], x["bytes_sent"], x["covered"], x["spans"], x["complete"], x["in_flight"], x["open"]) for x in d["downloads"])')"
	it_expect_eq "show-json: only its own" True \
	    "$(py "all(x['job_id'] == '$J2' for x in d['downloads'])")"
	it_expect_eq "show-json: no responses unless asked" "False False" \
	    "$(py '[any("response_rows" in x for x in d["downloads"]), "responses_without_download" in d]')"
	ctl show-json-resp show "$J2" --json --responses
	expect_rc 0
	expect_json
	it_expect_eq "show-json --responses: nested per download" \
	    "200:0:400000:complete|200:0:5000:aborted:client 206:1000:5000:aborted:client|200:0:0:started" \
	    "$(py '"|".join(" ".join("%s:%s:%s:%s" % (r["status"], r["range_start"], r["bytes_sent"], r["outcome"]) for r in x["response_rows"]) for x in d["downloads"])')"
	it_expect_eq "show-json --responses: each under its own download" True \
	    "$(py 'all(r["download_id"] == x["id"] for x in d["downloads"] for r in x["response_rows"])')"
	it_expect_eq "show-json --responses: of no download" "192.0.2.10 None 0" \
	    "$(py '" ".join(str(r[k]) for r in d["responses_without_download"] for k in ("remote_addr", "download_id", "counts"))')"
}

# ----------------------------------------------------------------- audit
test_audit() {
	local t=$SEED_T n
	ctl audit audit
	expect_rc 0
	expect_line "state database: $STATE"
	it_check "audit: header" grep -Eq '^OPENED +LAST +JOB +ADDR +USER +RESP +BYTES +COVERED +COMPLETE +STATE$' \
	    "$IT_DIR/o.audit"
	it_check "audit: J2's download B, with its job" grep -Eq \
	    "^$(it_date $((t - 600))) +$(it_date $((t - 60))) +$J2 +192\\.0\\.2\\.8 +alice +2 +10000 +6000/400000 \\(1\\.5%\\) +no +open\$" \
	    "$IT_DIR/o.audit"
	ctl audit-json audit --json
	expect_rc 0
	expect_json
	n=$(state_sql 'SELECT count(*) FROM downloads')
	it_expect_eq "audit: every download (fewer than 50)" "$n" "$(py 'len(d)')"
	it_expect_eq "audit: newest opened first" True \
	    "$(py 'all(d[i]["id"] > d[i+1]["id"] for i in range(len(d)-1))')"
	ctl audit-job audit --job "$J2" --json
	expect_rc 0
	expect_json
	it_expect_eq "audit --job: its downloads, newest first" \
	    "192.0.2.9 192.0.2.8 192.0.2.7" "$(py '[x["remote_addr"] for x in d]')"
	# --since: active since (last activity, or a response in flight).
	state_sql "UPDATE downloads SET last_at = $t - 7000 WHERE remote_addr = '192.0.2.9'"
	ctl audit-since audit --since 1h --job "$J2" --json
	expect_rc 0
	expect_json
	it_expect_eq "audit --since 1h: B (a minute ago), C (in flight), not A" \
	    "192.0.2.9 192.0.2.8" "$(py '[x["remote_addr"] for x in d]')"
	state_sql "UPDATE downloads SET last_at = $t - 30 WHERE remote_addr = '192.0.2.9'"
	ctl audit-since-unix audit --since "$((t - 100))" --json
	it_expect_eq "audit --since UNIX" \
	    "$(state_sql "SELECT id FROM downloads WHERE last_at >= $t - 100" | words)" \
	    "$(py '"\n".join(str(x["id"]) for x in d)' | words)"
	ctl audit-limit audit --limit 1 --json
	expect_rc 0
	it_expect_eq "audit --limit 1: the newest" \
	    "$(state_sql 'SELECT max(id) FROM downloads')" \
	    "$(py '[x["id"] for x in d]')"
	ctl audit-resp audit --job "$J2" --responses --limit 2
	expect_rc 0
	it_expect_eq "audit --responses --limit 2: C and B, their responses beneath" \
	    "D R D R R" \
	    "$(grep -vE '^(OPENED|    STARTED|state database: )' "$IT_DIR/o.audit-resp" |
	        sed -E 's/^    .*/R/; s/^[0-9].*/D/' | joined)"
	ctl audit-resp-json audit --responses --json --limit 0
	expect_rc 0
	expect_json
	it_expect_eq "audit --responses --json: every response of every download" \
	    "$(state_sql 'SELECT count(*) FROM responses WHERE download_id IS NOT NULL')" \
	    "$(py 'sum(len(x["response_rows"]) for x in d)')"
	it_expect_eq "audit --responses --json: each under its own download" True \
	    "$(py 'all(r["download_id"] == x["id"] for x in d for r in x["response_rows"])')"
	ctl audit-nostate audit --state-db "$IT_DIR/nostate.db"
	expect_rc 1
	expect_err "sluicectl: $IT_DIR/nostate.db: no such database \\(run \`sluicectl init\`\\)"
	it_check "audit-nostate: no state database created" [ ! -e "$IT_DIR/nostate.db" ]
	# J1's real download through lighttpd and sluice (test_add_copy): one
	# download of the whole file, its one response complete.
	ctl audit-real audit --job "$J1" --json --responses
	expect_rc 0
	it_expect_eq "audit: sluice's own record of J1's download" \
	    "1 3000000 3000000 3000000 True 0-2999999 | 200 1 3000000 complete" \
	    "$(py '" ".join(str(d[-1][k]) for k in ("responses", "bytes_sent", "covered", "file_size", "complete", "spans")) + " | " + " ".join(str(d[-1]["response_rows"][0][k]) for k in ("status", "counts", "bytes_sent", "outcome"))')"
}

# ---------------------------------------------------------------- revoke
test_revoke() {
	ctl revoke revoke "$J1"
	expect_rc 0
	expect_line "revoked $J1 (was done)"
	it_expect_eq "revoke: status" revoked \
	    "$(sql "SELECT status FROM export_jobs WHERE id = '$J1'")"
	if [ -n "$HTTP" ]; then
		it_get dl1-revoked "$(url_path "$J1URL")"
		it_expect_status 410
	fi
	ctl revoke-again revoke --json "$J1"
	expect_rc 0
	expect_json
	it_expect_eq "revoke again: was revoked" "revoked revoked" \
	    "$(py 'd["status"] + " " + d["previous"]')"
	ctl revoke-unknown revoke nosuchjob
	expect_rc 3
	expect_err "sluicectl: revoke: no job 'nosuchjob'"
	ctl revoke-unknown-json revoke --json nosuchjob
	expect_rc 3
}

# ----------------------------------------------------------------- check
K1= K2= K3=
test_check() {
	local src=$IT_DIR/src/k.bin p
	head -c 100000 /dev/urandom >"$src"
	ctl check-ok check
	expect_rc 0
	expect_line "check: $(sql "SELECT count(*) FROM export_jobs WHERE status = 'done'") done jobs, 0 with problems"
	ctl check-ok-hash check --hash --json
	expect_rc 0
	expect_json
	it_expect_eq "check --hash: no problems" "0 0" \
	    "$(py '" ".join(str(x) for x in [len(d["problems"]), d["checked"] - d["ok"]])')"

	ctl k1 add --json "$src"; K1=$(py 'd["id"]')
	ctl k2 add --json "$src"; K2=$(py 'd["id"]')
	ctl k3 add --json "$src"; K3=$(py 'd["id"]')
	p=$(sql "SELECT file_path FROM export_jobs WHERE id = '$K1'")
	truncate -s 50000 "$IT_ROOT/$p"
	p=$(sql "SELECT file_path FROM export_jobs WHERE id = '$K2'")
	rm "$IT_ROOT/$p"
	ctl check-bad check
	expect_rc 1
	it_check "check: the truncated file" grep -Eq \
	    "^$K1 +[0-9/]+/$K1-k\\.bin +size differs: the file has 50000 bytes, the job says 100000$" \
	    "$IT_DIR/o.check-bad"
	it_check "check: the missing file" grep -Eq "^$K2 +.* +missing$" "$IT_DIR/o.check-bad"
	expect_line "check: $(sql "SELECT count(*) FROM export_jobs WHERE status = 'done'") done jobs, 2 with problems"
	ctl check-bad-json check --json
	expect_rc 1
	expect_json
	it_expect_eq "check --json: the two problems" "$(words "$K1" "$K2")" \
	    "$(py '"\n".join(x["id"] for x in d["problems"])' | words)"

	# Same size, one byte changed: only --hash sees it.
	p=$(sql "SELECT file_path FROM export_jobs WHERE id = '$K3'")
	python3 -c 'import sys
f = open(sys.argv[1], "r+b"); f.seek(5000); b = f.read(1)
f.seek(5000); f.write(bytes([b[0] ^ 0xff])); f.close()' "$IT_ROOT/$p"
	sql "UPDATE export_jobs SET status = 'revoked' WHERE id IN ('$K1', '$K2')"
	ctl check-size check
	expect_rc 0
	ctl check-hash check --hash
	expect_rc 1
	it_check "check --hash: the changed file" grep -Eq \
	    "^$K3 +.* +sha256 differs: the file has $(it_sha "$IT_ROOT/$p")$" \
	    "$IT_DIR/o.check-hash"

	# Paths that leave the root, a symlink, a directory: reported, not read.
	mkdir -p "$IT_DIR/outside" "$IT_ROOT/adir"
	printf 'secret\n' >"$IT_DIR/outside/secret.txt"
	ln -s ../outside "$IT_ROOT/evil"
	ln -s ../outside/secret.txt "$IT_ROOT/evil.txt"
	sql "INSERT INTO export_jobs (id, status, file_path, file_size) VALUES
	    ('esc-dotdot', 'done', '../outside/secret.txt', 7),
	    ('esc-abs', 'done', '$IT_DIR/outside/secret.txt', 7),
	    ('esc-linkdir', 'done', 'evil/secret.txt', 7),
	    ('esc-link', 'done', 'evil.txt', 7),
	    ('esc-dir', 'done', 'adir', 0)"
	ctl check-esc check --json
	expect_rc 1
	it_expect_eq "check: escapes reported" \
	    "esc-abs:file_path is not beneath the root (absolute, empty or '..') esc-dir:not a regular file esc-dotdot:file_path is not beneath the root (absolute, empty or '..') esc-link:a symlink (or a non-directory) on the path esc-linkdir:a symlink (or a non-directory) on the path" \
	    "$(py '" ".join(sorted(x["id"] + ":" + x["problem"] for x in d["problems"] if x["id"].startswith("esc-")))')"
	sql "UPDATE export_jobs SET status = 'revoked' WHERE id = '$K3' OR id LIKE 'esc-%'"
	sql "UPDATE export_jobs SET finished_at = NULL, created_at = 0 WHERE id LIKE 'esc-%'"
}

# ----------------------------------------------------------------- purge
test_purge() {
	local t src=$IT_DIR/src/p.bin id before after
	t=$(now)
	# The escape rows from test_check are purged in test_purge_escapes.
	sql "UPDATE export_jobs SET created_at = $t + $DAY WHERE id LIKE 'esc-%'"
	sql "UPDATE export_jobs SET finished_at = $t WHERE id IN ('$K1', '$K2', '$K3')"
	head -c 5000 /dev/urandom >"$src"
	for id in P_REV P_EXP P_NEWREV P_DONE P_EXPNEW P_SHARE; do
		ctl "p-$id" add --json "$src"
		eval "$id=\$(py 'd[\"id\"]')"
	done
	# Old revoked, old expired, young revoked, old but valid, expired but
	# young, and a revoked job sharing P_DONE's file (its own file goes).
	rm "$IT_ROOT/$(sql "SELECT file_path FROM export_jobs WHERE id = '$P_SHARE'")"
	sql "UPDATE export_jobs SET status = 'revoked', finished_at = $t - 40 * $DAY WHERE id = '$P_REV';
	    UPDATE export_jobs SET expires_at = $t - 35 * $DAY, finished_at = $t - 40 * $DAY WHERE id = '$P_EXP';
	    UPDATE export_jobs SET status = 'revoked', finished_at = $t - 5 * $DAY WHERE id = '$P_NEWREV';
	    UPDATE export_jobs SET finished_at = $t - 400 * $DAY, expires_at = $t + $DAY WHERE id = '$P_DONE';
	    UPDATE export_jobs SET expires_at = $t - 1, finished_at = $t - 2 * $DAY WHERE id = '$P_EXPNEW';
	    UPDATE export_jobs SET status = 'revoked', finished_at = $t - 40 * $DAY,
	        file_path = (SELECT file_path FROM export_jobs WHERE id = '$P_DONE') WHERE id = '$P_SHARE';
	    INSERT INTO export_jobs (id, status, created_at, error) VALUES
	        ('p-failed-old', 'failed', $t - 50 * $DAY, 'boom'),
	        ('p-failed-new', 'failed', $t - 2 * $DAY, 'boom');
	    INSERT INTO export_jobs (id, status, created_at, expires_at) VALUES
	        ('p-pending-old', 'pending', $t - 90 * $DAY, $t - 60 * $DAY),
	        ('p-running-old', 'running', $t - 90 * $DAY, $t - 60 * $DAY);"
	state_sql "INSERT INTO downloads (job_id, remote_addr, opened_at,
	    last_at, responses, bytes_sent, file_size, covered, spans, complete)
	    VALUES ('$P_REV', '192.0.2.20', $t - 41 * $DAY, $t - 41 * $DAY, 1,
	    5000, 5000, 5000, '0-4999', 1);
	    INSERT INTO responses (download_id, job_id, started_at, range_start,
	    range_end, status, counts, bytes_sent, outcome, pid) VALUES
	    (last_insert_rowid(), '$P_REV', $t - 41 * $DAY, 0, 4999, 200, 1,
	    5000, 'complete', 1)"
	P_REV_FILE=$IT_ROOT/$(sql "SELECT file_path FROM export_jobs WHERE id = '$P_REV'")
	P_EXP_FILE=$IT_ROOT/$(sql "SELECT file_path FROM export_jobs WHERE id = '$P_EXP'")
	P_DONE_FILE=$IT_ROOT/$(sql "SELECT file_path FROM export_jobs WHERE id = '$P_DONE'")
	P_NEWREV_FILE=$IT_ROOT/$(sql "SELECT file_path FROM export_jobs WHERE id = '$P_NEWREV'")
	it_check "purge: fixtures in place" \
	    test -f "$P_REV_FILE" -a -f "$P_EXP_FILE" -a -f "$P_DONE_FILE"

	# --dry-run: the list, and nothing changes.
	before=$( (jobs_dump; find "$IT_ROOT" | sort) | sha256sum)
	ctl purge-dry purge --dry-run
	expect_rc 0
	after=$( (jobs_dump; find "$IT_ROOT" | sort) | sha256sum)
	it_expect_eq "purge --dry-run: database and root unchanged" "$before" "$after"
	it_check "purge --dry-run: lists the old revoked job" \
	    grep -Eq "^$P_REV +revoked +.* would delete$" "$IT_DIR/o.purge-dry"
	it_check "purge --dry-run: lists the old expired job" \
	    grep -Eq "^$P_EXP +expired +.* would delete$" "$IT_DIR/o.purge-dry"
	it_check "purge --dry-run: lists the old failed job" \
	    grep -Eq "^p-failed-old +failed +.* would delete$" "$IT_DIR/o.purge-dry"
	expect_line "purge: dry run: 4 jobs older than 30 days would be deleted (14.6 KiB of files); nothing changed"
	ctl purge-dry-json purge --dry-run --json
	expect_json
	it_expect_eq "purge --dry-run --json: the eligible jobs" \
	    "$(words "$P_REV" "$P_EXP" "$P_SHARE" p-failed-old)" \
	    "$(py '"\n".join(j["id"] for j in d["jobs"])' | words)"

	ctl purge purge --json
	expect_rc 0
	expect_json
	it_expect_eq "purge: counts" "4 2 0" \
	    "$(py '" ".join(str(d[k]) for k in ("deleted", "files_removed", "errors"))')"
	it_expect_eq "purge: rows gone" 0 "$(sql "SELECT count(*) FROM export_jobs
	    WHERE id IN ('$P_REV', '$P_EXP', '$P_SHARE', 'p-failed-old')")"
	it_check "purge: old revoked job's file removed" [ ! -e "$P_REV_FILE" ]
	it_check "purge: old expired job's file removed" [ ! -e "$P_EXP_FILE" ]
	it_check "purge: the shared file kept for P_DONE" [ -f "$P_DONE_FILE" ]
	it_expect_eq "purge: P_SHARE's result" "deleted; file kept: another job names it" \
	    "$(py "[j['result'] for j in d['jobs'] if j['id'] == '$P_SHARE'][0]")"
	it_expect_eq "purge: the others stay" \
	    "$(words "$P_DONE" "$P_EXPNEW" "$P_NEWREV" p-failed-new p-pending-old p-running-old)" \
	    "$(sql "SELECT id FROM export_jobs WHERE id IN ('$P_NEWREV', '$P_DONE',
	        '$P_EXPNEW', 'p-failed-new', 'p-pending-old', 'p-running-old')" | words)"
	it_check "purge: the young revoked job's file stays" [ -f "$P_NEWREV_FILE" ]
	it_expect_eq "purge: audit rows stay (history)" "1 1" \
	    "$(state_sql "SELECT (SELECT count(*) FROM downloads WHERE job_id =
	        '$P_REV') || ' ' || (SELECT count(*) FROM responses WHERE
	        job_id = '$P_REV')")"
	ctl purge-again purge
	expect_rc 0
	expect_line "purge: 0 jobs deleted, 0 files removed (0 B), 0 errors"

	# --older-than 3: now the 5-day-old revoked job goes too.
	ctl purge-3 purge --older-than 3
	expect_rc 0
	it_check "purge --older-than 3: the 5-day-old revoked job" \
	    grep -Eq "^$P_NEWREV +revoked +.* deleted, file removed$" "$IT_DIR/o.purge-3"
	it_check "purge --older-than 3: its file" [ ! -e "$P_NEWREV_FILE" ]
	it_expect_eq "purge --older-than 3: p-failed-new (2 days) still there" 1 \
	    "$(sql "SELECT count(*) FROM export_jobs WHERE id = 'p-failed-new'")"
	ctl purge-0 purge --older-than 0
	expect_rc 0
	it_expect_eq "purge --older-than 0: expired and failed, never pending or running" \
	    "p-pending-old p-running-old" \
	    "$(sql "SELECT id FROM export_jobs WHERE id IN ('$P_EXPNEW',
	        'p-failed-new', 'p-pending-old', 'p-running-old') ORDER BY id" |
	        tr '\n' ' ' | sed 's/ $//')"
	it_expect_eq "purge: P_DONE still there" 1 \
	    "$(sql "SELECT count(*) FROM export_jobs WHERE id = '$P_DONE'")"
}

# Rows whose file_path leaves the root: the file outside is never touched.
test_purge_escapes() {
	local n
	sql "UPDATE export_jobs SET created_at = 0 WHERE id LIKE 'esc-%'"
	ctl purge-esc purge --older-than 0
	expect_rc 1
	it_check "purge-esc: the outside file survives" \
	    [ "$(cat "$IT_DIR/outside/secret.txt")" = secret ]
	it_check "purge-esc: the symlink itself was removed, not its target" \
	    [ ! -L "$IT_ROOT/evil.txt" ]
	it_check "purge-esc: the symlinked directory is still a symlink" \
	    [ -L "$IT_ROOT/evil" ]
	it_check "purge-esc: the directory is still there" [ -d "$IT_ROOT/adir" ]
	it_expect_eq "purge-esc: rows kept where the file could not be removed" \
	    "esc-dir esc-linkdir" \
	    "$(sql "SELECT id FROM export_jobs WHERE id LIKE 'esc-%' ORDER BY id" |
	        tr '\n' ' ' | sed 's/ $//')"
	n=$(grep -c '^sluicectl: purge: esc-' "$IT_DIR/e.purge-esc")
	it_expect_eq "purge-esc: one error line per refused job" 4 "$n"
	sql "DELETE FROM export_jobs WHERE id LIKE 'esc-%'"
}

# A long run: progress lines on stderr (not a terminal: every 1000 jobs).
test_purge_progress() {
	local t
	t=$(now)
	sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
	    WHERE i < 1200) INSERT INTO export_jobs (id, status, created_at)
	    SELECT 'bulk-' || i, 'failed', $t - 60 * $DAY FROM n"
	ctl purge-bulk purge
	expect_rc 0
	it_expect_eq "purge-bulk: progress line on stderr" "purge: 1000/1200 jobs" \
	    "$(cat "$IT_DIR/e.purge-bulk")"
	expect_line "purge: 1200 jobs deleted, 0 files removed (0 B), 0 errors"
	it_expect_eq "purge-bulk: all gone" 0 \
	    "$(sql "SELECT count(*) FROM export_jobs WHERE id LIKE 'bulk-%'")"
}

# ------------------------------------------------------ prune and vacuum
# 40-day-old rows (sluice's own retention, 90 days, leaves them): prune
# --older-than 30d deletes the finished responses and the downloads last
# active before then, keeps the response in flight and its download, and
# keeps the pruned downloads counted (download_counts).
test_prune() {
	local t used
	t=$(( $(now) - 40 * DAY ))
	state_sql "INSERT INTO downloads (id, job_id, remote_addr, opened_at,
	    last_at, responses, bytes_sent, file_size, covered, spans, complete)
	    VALUES (9001, 'prune-a', '192.0.2.30', $t, $t, 2, 10, 10, 10, '0-9', 1),
	    (9002, 'prune-a', '192.0.2.31', $t, $t, 1, 3, 10, 3, '0-2', 0),
	    (9003, 'prune-a', '192.0.2.32', $t, $t, 1, 0, 10, 0, '', 0);
	    INSERT INTO responses (download_id, job_id, started_at, range_start,
	    range_end, status, counts, outcome, pid) VALUES
	    (9001, 'prune-a', $t, 0, 9, 200, 1, 'complete', 1),
	    (9001, 'prune-a', $t, 5, 9, 206, 0, 'complete', 1),
	    (9002, 'prune-a', $t, 0, 9, 200, 1, 'aborted:client', 1),
	    (9003, 'prune-a', $t, 0, 9, 200, 1, 'started', $$)"
	used=$(state_sql "SELECT (SELECT count(*) FROM downloads WHERE job_id =
	    'prune-a') + coalesce((SELECT pruned FROM download_counts WHERE
	    job_id = 'prune-a'), 0)")
	ctl prune-bad prune --older-than 30
	expect_rc 2
	expect_err "sluicectl: prune: --older-than: want a number and a unit .*"
	ctl prune-keep prune --older-than 42d --json
	expect_rc 0
	it_expect_eq "prune --older-than 42d: nothing of 40 or 41 days" 0 "$(py 'd["pruned"]')"
	ctl prune prune --older-than 30d
	expect_rc 0
	# prune-a: 3 responses and 2 downloads; P_REV's (41 days): 1 and 1.
	expect_line "pruned 7 audit row(s) started more than 2592000 s ago"
	it_expect_eq "prune: the response in flight and its download kept" \
	    "started 9003" \
	    "$(state_sql "SELECT group_concat(outcome) FROM responses WHERE job_id = 'prune-a'") $(state_sql "SELECT group_concat(id) FROM downloads WHERE job_id = 'prune-a'")"
	it_expect_eq "prune: the pruned downloads still count" "$used 2" \
	    "$(state_sql "SELECT (SELECT count(*) FROM downloads WHERE job_id =
	        'prune-a') + (SELECT pruned FROM download_counts WHERE job_id =
	        'prune-a'), (SELECT pruned FROM download_counts WHERE job_id =
	        'prune-a')" | tr '|' ' ')"
	ctl prune-list list --json
	it_expect_eq "prune: list still reads the state database" True \
	    "$(py 'all(j["downloads_used"] is not None for j in d)')"
	ctl vacuum vacuum --json
	expect_rc 0
	expect_json
	if [ -n "$STATE_PG" ]; then
		it_expect_eq "vacuum: the state tables' sizes" True \
		    "$(py 'd["bytes_before"] > 0 and d["bytes_after"] > 0')"
	else
		it_expect_eq "vacuum: the WAL is empty after it" 0 \
		    "$(stat -c %s "$STATE-wal" 2>/dev/null || echo 0)"
	fi
}

# ------------------------------------------------- progress bars (tty)
# add and check --hash draw a bar with rate and time left on a terminal
# (script(1) gives them one), and nothing at all when stderr is not one.
test_progress_bars() {
	local big=$IT_DIR/src/big.bin
	truncate -s 256M "$big"
	ctl big-notty add "$big" --name big.bin --json
	expect_rc 0
	it_expect_eq "progress: no bar when stderr is not a terminal" "" \
	    "$(cat "$IT_DIR/e.big-notty")"
	script -qec "$CTL add $big --name big2.bin" "$IT_DIR/ts.add" \
	    >/dev/null 2>&1 </dev/null
	it_check "progress: add on a terminal shows the copy's bar" \
	    grep -Eq 'copying \[=+>? *\] +[0-9]+%  [0-9.]+ [KMG]?i?B/s  [0-9:-]+ left' \
	    "$IT_DIR/ts.add"
	it_check "progress: add's bar ends at 100%" \
	    grep -q 'copying \[========================\] 100%' "$IT_DIR/ts.add"
	ctl check-notty check --hash
	it_check "progress: check --hash draws nothing off a terminal" \
	    it_not grep -q 'check --hash \[' "$IT_DIR/e.check-notty"
	script -qec "$CTL check --hash" "$IT_DIR/ts.check" \
	    >/dev/null 2>&1 </dev/null
	it_check "progress: check --hash on a terminal shows the hash's bar" \
	    grep -Eq 'check --hash \[=*>? *\] +[0-9]+%  [0-9.]+ [KMG]?i?B/s' \
	    "$IT_DIR/ts.check"
	sql "DELETE FROM export_jobs WHERE file_name IN ('big.bin', 'big2.bin')"
	find "$IT_ROOT" -name '*big*.bin' -delete
}

# ------------------------------------------ the same output, byte for byte
# PostgreSQL only: the same jobs and downloads in SQLite files and in a
# PostgreSQL database, and every reading command's output (tables and
# JSON) compared byte for byte, the database's name aside. The rows have
# fixed times, NULLs, a UTF-8 name, ids that sort differently by locale,
# a download in flight and a response of no download.
TWIN_SQL="INSERT INTO export_jobs (id, status, file_path, file_name,
    content_type, file_size, sha256, owner, token_sha256, created_at,
    finished_at, expires_at, max_downloads, error) VALUES
    ('Zeta', 'done', '2030/01/z.bin', 'Zé ü.bin', 'text/plain', 5, NULL,
    'alice', NULL, 1700000000, 1700000100, NULL, 3, NULL),
    ('alpha', 'failed', NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    1700000000, NULL, 1700000500, NULL, 'disk full'),
    ('_under', 'revoked', '2030/01/u.bin', 'u.bin', NULL, 7, NULL, NULL,
    NULL, 1600000000, 1600000000, 1600000001, NULL, NULL),
    ('nocreated', 'pending', NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, 0, NULL)"
TWIN_STATE_SQL="INSERT INTO downloads (id, job_id, remote_addr, remote_user,
    opened_at, last_at, responses, bytes_sent, file_size, covered, spans,
    complete) VALUES
    (1, 'Zeta', '192.0.2.1', 'alice', 1700000200, 1700000300, 2, 7, 5, 5,
    '0-4', 1),
    (2, 'Zeta', '192.0.2.2', NULL, 1700000400, 1700000400, 1, 0, 5, 0, '',
    0);
    INSERT INTO responses (id, download_id, job_id, started_at, remote_addr,
    remote_user, range_start, range_end, status, counts, bytes_sent,
    duration_ms, outcome, pid) VALUES
    (1, 1, 'Zeta', 1700000200, '192.0.2.1', 'alice', 0, 4, 200, 1, 2, 40,
    'aborted:client', 7),
    (2, 1, 'Zeta', 1700000290, '192.0.2.1', 'alice', 2, 4, 206, 0, 5, 10,
    'complete', 7),
    (3, 2, 'Zeta', 1700000400, '192.0.2.2', NULL, 0, 4, 200, 1, 0, NULL,
    'started', $$),
    (4, NULL, 'Zeta', 1700000450, '192.0.2.3', NULL, 0, 4, 200, 0, 0, 1,
    'aborted:client', 7);
    INSERT INTO download_counts (job_id, pruned) VALUES ('Zeta', 4)"

test_same_output() {
	local tdb=$IT_DIR/twin.db tstate=$IT_DIR/twin-state.db turi cmd n=0 bad=0
	turi=$(pg_uri twin)
	# A collation that is not bytewise, where the server has ICU: sluicectl
	# must still sort as SQLite does.
	pg_psql "CREATE DATABASE twin TEMPLATE template0 LOCALE_PROVIDER icu
	    ICU_LOCALE 'en-US' LOCALE 'C'" postgres >/dev/null 2>&1 ||
	    pg_createdb twin
	"$CTL" init --db "$tdb" --state-db "$tstate" --root "$IT_DIR/twin-root" \
	    >/dev/null &&
	    "$CTL" init --db "$turi" --state-db "$turi" --root "$IT_DIR/twin-root" \
	    >/dev/null || { it_not_ok "twin: init"; return; }
	lite_sql "$tdb" "$TWIN_SQL"
	lite_sql "$tstate" "$TWIN_STATE_SQL"
	pg_sql twin "$TWIN_SQL; $TWIN_STATE_SQL"
	while IFS= read -r cmd; do
		n=$((n + 1))
		# shellcheck disable=SC2086
		"$CTL" $cmd --db "$tdb" --state-db "$tstate" >"$IT_DIR/twin-l.$n" 2>&1
		echo "exit $?" >>"$IT_DIR/twin-l.$n"
		# shellcheck disable=SC2086
		"$CTL" $cmd --db "$turi" --state-db "$turi" 2>&1 |
		    sed -e "s|$turi|$tstate|g" >"$IT_DIR/twin-p.$n"
		echo "exit ${PIPESTATUS[0]}" >>"$IT_DIR/twin-p.$n"
		if ! cmp -s "$IT_DIR/twin-l.$n" "$IT_DIR/twin-p.$n"; then
			bad=$((bad + 1))
			it_not_ok "twin: sluicectl $cmd: the same output" \
			    "$(diff "$IT_DIR/twin-l.$n" "$IT_DIR/twin-p.$n" | head -n 20)"
		fi
	done <<-'EOF'
	list
	list --json
	list --status done --owner alice
	list --expired --json
	show Zeta
	show Zeta --responses
	show Zeta --json --responses
	show alpha --json
	show nocreated
	show nosuch
	audit
	audit --responses --json --limit 0
	audit --job Zeta --since 1700000350 --responses
	audit --limit 1 --json
	check
	check --json
	purge --dry-run --older-than 0
	purge --dry-run --json
	EOF
	[ "$bad" -eq 0 ] && it_ok "twin: $n commands print the same on SQLite and PostgreSQL"
	it_check "twin: the comparison saw downloads" \
	    grep -q '192.0.2.2' "$IT_DIR/twin-p.6"
}

# ------------------------------------------------------------------ run
mkdir -p "$IT_DOCROOT"
# FULL: every test of the databases (not in the mixed run).
FULL=1
[ "$CTL_BACKEND" = mixed ] && FULL=
[ "$CTL_BACKEND" = sqlite ] && test_help
test_usage
test_init
test_init_v1
if [ -n "$HTTP" ]; then
	# it_sluice_start's --db and --state-db are the SQLite files.
	dbs=()
	[ -n "$JOBS_PG" ] && dbs=(--db "$SLUICE_DB" --state-db "$STATE")
	it_sluice_start "$SOCK" "$BIN" "$LOG" "${dbs[@]}" ||
	    { echo "sluice did not start" >&2; cat "$LOG" >&2; exit 1; }
	it_server_up lighttpd stream "$SOCK" ||
	    { echo "lighttpd did not start" >&2; exit 1; }
fi
if [ "$CTL_BACKEND" = pg ]; then
	test_pg_errors
	test_pg_init_race
	test_same_output
fi
test_add_copy
test_add_move
test_add_defaults
[ -n "$FULL" ] && test_add_move_xdev
[ -n "$FULL" ] && test_add_refused
test_list
test_show
test_audit
test_revoke
[ -n "$FULL" ] && test_check
test_purge
[ -n "$FULL" ] && test_purge_escapes
[ -n "$FULL" ] && test_purge_progress
[ -n "$FULL" ] && test_prune
# The bars are about files and terminals, not the database: once.
[ "$CTL_BACKEND" = sqlite ] && test_progress_bars
[ -n "$HTTP" ] && it_check "sluice: no sanitizer report in its log" \
    bash -c "! grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer' '$LOG'"

echo "sluicectl ($CTL_BACKEND): $IT_PASS passed, $IT_FAIL failed"
[ "$IT_FAIL" -eq 0 ]
