# The jobs and the state in PostgreSQL, for the integration suites and
# bench/pg.sh: the jobs seed translated from SQLite, and the suite's
# state queries answered by psql. Sourced after lib.sh. The cluster
# itself (start, stop) is pg.sh's.
#
# The seed. tests/integration/seed.sql is SQLite's (char(), zeroblob(),
# unixepoch(), X'..' blobs). Rather than keep a second copy by hand,
# suite_fixtures loads it into SQLite as always, and pgj_seed_sql reads
# the rows back out of that database as PostgreSQL INSERTs: every text
# value as hex bytes decoded as UTF-8, every integer as it is. So a row
# added to seed.sql reaches PostgreSQL unchanged. A few rows test what
# only SQLite can hold (a value of the wrong type, bytes that are not
# UTF-8); PostgreSQL's typed columns refuse those, so they are left out
# (PGJ_SKIP, with why), and so are the cases that ask for them.

# id: why PostgreSQL cannot hold the row (seed.sql has the row itself).
declare -A PGJ_SKIP=(
	[latin1]="file_path is not UTF-8: a UTF8 database refuses the bytes"
	[expreal]="expires_at is a REAL: a bigint column cannot hold 4102444800.5"
	[exptext]="expires_at is a TEXT ('tomorrow'): a bigint column refuses it"
)

# The contract's columns (DESIGN.md 1), by type.
PGJ_TEXT="id status file_path file_name content_type sha256 owner
    token_sha256 error"
PGJ_INT="file_size created_at finished_at expires_at max_downloads"

# pgj_seed_sql SQLITE_DB: the export_jobs rows of SQLITE_DB, less PGJ_SKIP,
# as PostgreSQL INSERTs on stdout. Fails (and says which) on any other
# row with a non-integer in an integer column: PostgreSQL would refuse
# it, so it must be added to PGJ_SKIP with a reason, or fixed.
pgj_seed_sql() {
	local db=$1 c cols="" vals="" skip="" bad id
	for c in $PGJ_TEXT; do
		cols+="${cols:+, }$c"
		vals+="${vals:+ || ', ' || }CASE WHEN $c IS NULL THEN 'NULL'
		    ELSE 'convert_from(decode(''' || hex($c) ||
		    ''', ''hex''), ''UTF8'')' END"
	done
	for c in $PGJ_INT; do
		cols+=", $c"
		vals+=" || ', ' || coalesce($c, 'NULL')"
	done
	for id in "${!PGJ_SKIP[@]}"; do skip+="${skip:+, }'$id'"; done
	bad=$(sqlite3 -batch -noheader "$db" "SELECT id FROM export_jobs
	    WHERE id NOT IN ($skip) AND ($(for c in $PGJ_INT; do
	    printf "typeof(%s) NOT IN ('integer', 'null') OR " "$c"; done) 0)")
	if [ -n "$bad" ]; then
		echo "pgj_seed_sql: rows PostgreSQL cannot hold:" $bad >&2
		return 1
	fi
	for id in "${!PGJ_SKIP[@]}"; do
		printf -- '-- left out: %s: %s\n' "$id" "${PGJ_SKIP[$id]}"
	done
	sqlite3 -batch -noheader "$db" "SELECT 'INSERT INTO export_jobs
	    ($cols) VALUES (' || $vals || ');' FROM export_jobs
	    WHERE id NOT IN ($skip) ORDER BY rowid"
}

# pgj_cases_filter OUTDIR FILE...: copies of the case files in OUTDIR
# without the cases that ask for a job of PGJ_SKIP (their requests name
# /download/<id> or /private/download/<id>); the comments stay. Prints
# the copies' paths.
pgj_cases_filter() {
	local out=$1 f ids
	shift
	ids=$(IFS='|'; echo "${!PGJ_SKIP[*]}")
	mkdir -p "$out" || return 1
	for f in "$@"; do
		awk -v ids="$ids" '
		function flush() {
			for (i = 1; i <= n; i++)
				if (!drop || buf[i] ~ /^[[:space:]]*(#|$)/)
					print buf[i]
			n = 0; drop = 0
		}
		/^[[:space:]]*(\[[^]]*\][[:space:]]*)?(case|define)[[:space:]]/ {
			flush()
		}
		{
			buf[++n] = $0
			if ($0 ~ "^[[:space:]]*[A-Z]+ /(private/)?download/(" ids ")([/?]|$)")
				drop = 1
		}
		END { flush() }' "$f" >"$out/${f##*/}" || return 1
		echo "$out/${f##*/}"
	done
}

# Is $1 a PostgreSQL connection string (a URI or key=value conninfo)?
pgj_is_pg() {
	case $1 in
	postgresql://* | postgres://* | [a-z]*=*) return 0 ;;
	*) return 1 ;;
	esac
}

# pgj_sql DB SQL: the query's rows, columns joined by '|' as sqlite3
# prints them. The schema compat (pgj_compat) comes after public in the
# search path, so the suite's SQLite queries (group_concat) run as they
# are.
pgj_sql() {
	PGOPTIONS='-c search_path=public,compat' psql -X -q -A -t -F '|' \
	    -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}

# SQLite's group_concat(x [, sep]) for the suite's queries, in a schema
# of its own in the state database (not in sluice's search path). The
# order is that of the rows fed, as in SQLite.
pgj_compat() {
	pgj_sql "$1" "CREATE SCHEMA IF NOT EXISTS compat;
	CREATE OR REPLACE FUNCTION compat.gc_step(acc text, v anyelement,
	    sep text) RETURNS text LANGUAGE sql IMMUTABLE AS
	    \$\$ SELECT CASE WHEN v IS NULL THEN acc WHEN acc IS NULL
	    THEN v::text ELSE acc || sep || v::text END \$\$;
	CREATE OR REPLACE FUNCTION compat.gc_step(acc text, v anyelement)
	    RETURNS text LANGUAGE sql IMMUTABLE AS
	    \$\$ SELECT compat.gc_step(acc, v, ',') \$\$;
	CREATE OR REPLACE AGGREGATE compat.group_concat(anyelement)
	    (SFUNC = compat.gc_step, STYPE = text);
	CREATE OR REPLACE AGGREGATE compat.group_concat(anyelement, text)
	    (SFUNC = compat.gc_step, STYPE = text);" >/dev/null
}

# lib.sh's it_sql_is, for either store. PostgreSQL answers a comparison
# t or f where SQLite answers 1 or 0: a lone t/f is read as 1/0, so the
# suite's conditions (it_sql_true) hold on both.
it_sql_is() {
	local got
	if pgj_is_pg "$1"; then
		got=$(pgj_sql "$1" "$2" 2>/dev/null) || return 1
		case $got in t) got=1 ;; f) got=0 ;; esac
	else
		got=$(sqlite3 -batch -noheader "$1" "$2")
	fi
	[ "$got" = "$3" ]
}

# suite.sh's access_sql (one value from STATE_DB), for either store.
access_sql() {
	if pgj_is_pg "$STATE_DB"; then
		pgj_sql "$STATE_DB" "$1"
	else
		sqlite3 -batch -noheader "$STATE_DB" "$1"
	fi
}
