#!/usr/bin/env bash
# The quick integration check (part of `make check`): the HTTP cases kept
# as data (tests/integration/cases/*.txt, run by cases.py) behind one web
# server in one mode, lighttpd in stream mode unless told otherwise. The
# fixtures are the suite's without its 50 and 100 MB files; the shell
# cases (aborts, races, logs, the pool) are run.sh's.
#
# Usage: bash tests/integration/check.sh [SERVER [MODE]]   (after make)
# Environment: SLUICE_BIN (default build/asan/sluice); IT_KEEP=1 keeps the
# scratch directory.
set -u

IT_TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$IT_TOP" || exit 1
. tests/integration/lib.sh
. tests/integration/servers.sh
. tests/integration/suite.sh

BIN=${SLUICE_BIN:-$IT_TOP/build/asan/sluice}
[ -x "$BIN" ] || { echo "missing $BIN: run make first" >&2; exit 2; }
IT_SERVER=${1:-lighttpd} IT_MODE=${2:-stream}

it_scratch chk
STATE_DB=$IT_DIR/state.db
opts=(--state-db "$STATE_DB")
# shellcheck disable=SC2046
[ "$IT_MODE" = stream ] || opts+=(--offload $(it_offload_arg "$IT_SERVER"))
suite_fixtures light || { echo "fixtures failed" >&2; exit 1; }
it_sluice_start "$SOCK" "$BIN" "$LOG" "${opts[@]}" ||
    { echo "sluice did not start" >&2; exit 1; }
it_server_up "$IT_SERVER" "$IT_MODE" "$SOCK" ||
    { echo "$IT_SERVER did not start" >&2; exit 1; }
echo "# $IT_SERVER $IT_MODE $BASE, sluice pid $SLUICE_PID"
suite_cases
it_server_down
it_sluice_stop
it_check "sanitizers: no report in sluice's log" \
    it_not grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer' "$LOG"
echo "check: $IT_PASS passed, $IT_FAIL failed"
[ "$IT_FAIL" -eq 0 ]
