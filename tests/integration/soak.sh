#!/usr/bin/env bash
# The short soak of `make test` (issue 18): bench/soak.sh with 30 s of the
# heaviest small-file load and 15 s with a worker killed every 5 s, a 10 s
# audit retention, samples every 2 s. It asserts sizes only, never times:
# the WAL under its bound, each worker's fds, RssAnon and RssFile flat,
# no audit row left past the retention, no non-2xx without kills. The
# report goes to build/soak/soak.md. `make soak` runs the long one.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
SOAK_LOAD_SECS=${SOAK_LOAD_SECS:-30} SOAK_KILL_SECS=${SOAK_KILL_SECS:-15} \
    SOAK_RETENTION=${SOAK_RETENTION:-10s} SOAK_SAMPLE=${SOAK_SAMPLE:-2} \
    SOAK_OUT=${SOAK_OUT:-$top/build/soak} \
    exec bash "$top/bench/soak.sh"
