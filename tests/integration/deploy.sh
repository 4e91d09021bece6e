#!/usr/bin/env bash
# README.md's deployment, followed literally (issue 16): the shell blocks
# of "Deploy: from make install to a download" marked
# `<!-- deploy: all -->` and `<!-- deploy: lighttpd -->` are read from the
# README itself and run in order, as root, with only these changes:
# - every absolute path moves into a scratch directory $T (the machine's
#   /usr/local, /srv/exports, /var/lib/sluice, /run/sluice,
#   /var/log/sluice, /etc/lighttpd, /var/log/lighttpd, /var/www/html, /tmp
#   are left alone), and `make install` gets the same directories as
#   PREFIX, STATEDIR, RUNDIR, LOGDIR and EXPORTS;
# - SLUICE_STATE_DB names the scratch state database, because sluicectl's
#   default (/var/lib/sluice/state.db) is compiled in;
# - `make` runs in the source tree; port 80 and http://localhost/ become
#   a free port on 127.0.0.1;
# - `systemctl restart lighttpd` starts `lighttpd -D` in the background
#   (no systemd here), and `<id>` is the id `sluicectl add` printed.
# sluice runs as the unprivileged `sluice` user (which the README's
# systemd-sysusers step creates on this machine, as it would on a real
# one), lighttpd's workers as www-data. Then `make uninstall` must leave
# nothing behind. If the README's blocks change, this runs the new ones.
#
# Usage: bash tests/integration/deploy.sh   (as root, after make)
set -u

IT_TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$IT_TOP" || exit 1
. tests/integration/lib.sh

if [ "$(id -u)" -ne 0 ]; then
	echo "deploy: needs root (the README's steps are root's); skipped"
	exit 0
fi
for c in systemd-sysusers systemd-tmpfiles spawn-fcgi lighttpd curl; do
	command -v "$c" >/dev/null ||
	    { echo "missing $c (make deps)" >&2; exit 2; }
done

it_scratch dep
T=$IT_DIR
chmod 0755 "$T"
PORT=$(it_free_port) || exit 1
# What a Debian machine with lighttpd has, in the scratch tree.
mkdir -p "$T/etc/lighttpd" "$T/var/log/lighttpd" "$T/var/www/html" \
    "$T/tmp" "$T/home" || exit 1
chown www-data:www-data "$T/var/log/lighttpd"

# The README's blocks for lighttpd, in order, as one script.
awk '
	/^<!-- deploy: (all|lighttpd) -->$/ { want = 1; next }
	want && /^```sh$/ { inside = 1; next }
	inside && /^```$/ { inside = 0; want = 0; n++; next }
	inside { print }
	END { if (n < 5) exit 1 }
' README.md >"$T/steps.sh" ||
    { echo "deploy: README.md lacks the marked deploy blocks" >&2; exit 1; }
it_check "deploy: README has the install, init, start, lighttpd and download steps" \
    grep -q 'systemctl restart lighttpd' "$T/steps.sh"

# Paths move under @T@ first, and @T@ becomes $T last: $T is itself under
# /tmp, which is one of the paths that move.
inst="PREFIX=@T@/usr/local STATEDIR=@T@/var/lib/sluice"
inst="$inst RUNDIR=@T@/run/sluice LOGDIR=@T@/var/log/sluice"
inst="$inst EXPORTS=@T@/srv/exports"
sed -e "s#\(/usr/local\|/srv/exports\|/var/lib/sluice\|/run/sluice\|/var/log/sluice\|/etc/lighttpd\|/var/log/lighttpd\|/var/www/html\)#@T@&#g" \
    -e "s#/tmp\([/ \"]\|\$\)#@T@/tmp\1#g" \
    -e "s|^make install\$|make -C $IT_TOP install $inst|" \
    -e "s|^make\$|make -C $IT_TOP|" \
    -e "s|http://localhost/|http://127.0.0.1:$PORT/|g" \
    -e "s/@PORT@|80|/@PORT@|$PORT|/" \
    -e "s|^systemctl restart lighttpd\$|lighttpd -D -f @T@/etc/lighttpd/lighttpd.conf \\& echo \$! >@T@/lighttpd.pid; for _ in \$(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null \\&\\& break; sleep 0.1; done|" \
    -e "s|^\\(sluicectl add .*\\)\$|\\1 \\| tee @T@/add.out|" \
    -e "s|<id>|\$(awk '\$1 == \"id\" {print \$2}' @T@/add.out)|" \
    -e "s|@T@|$T|g" \
    "$T/steps.sh" >"$T/run.sh"
inst=${inst//@T@/$T}
echo "# the README's steps, as run (scratch $T):"
sed 's/^/#   /' "$T/run.sh"

# Run them; stop what they started by the pids they leave.
(cd "$T/home" && PATH=$T/usr/local/bin:$PATH \
    SLUICE_STATE_DB=$T/var/lib/sluice/state.db \
    bash -eo pipefail "$T/run.sh") >"$T/out" 2>&1
rc=$?
[ -s "$T/run/sluice/sluice.pid" ] && IT_PIDS+=("$(cat "$T/run/sluice/sluice.pid")")
[ -s "$T/lighttpd.pid" ] && IT_PIDS+=("$(cat "$T/lighttpd.pid")")
it_check "deploy: every step of the README ran (exit $rc)" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/       /' "$T/out" | tail -20

it_check "deploy: the download is the file, byte for byte" \
    cmp "$T/tmp/report.csv" "$T/tmp/Report Q3.csv"
it_check "deploy: sluicectl audit says which state database it read" \
    grep -Fxq "state database: $T/var/lib/sluice/state.db" "$T/out"
# The end of a download reaches the state database within about 100 ms
# (README, "The audit trail"): ask again until it shows.
audit_complete() {
	SLUICE_STATE_DB=$T/var/lib/sluice/state.db \
	    "$T/usr/local/bin/sluicectl" audit --since 1h 2>/dev/null |
	    grep -Eq ' 127\.0\.0\.1 +- +1 +16 +16/16 \(100%\) +yes +open$'
}
it_check "deploy: sluicectl audit lists the download, complete" \
    it_wait_for 5 audit_complete
spid=$(cat "$T/run/sluice/sluice.pid" 2>/dev/null)
it_expect_eq "deploy: sluice runs as the sluice user" sluice \
    "$(ps -o user= -p "${spid:-0}" 2>/dev/null | tr -d ' ')"
it_expect_eq "deploy: its state database is sluice's" sluice \
    "$(stat -c %U "$T/var/lib/sluice/state.db" 2>/dev/null)"
it_check "deploy: the man pages are installed and render" \
    bash -c "MANWIDTH=80 man -l $T/usr/local/share/man/man8/sluice.8 |
        grep -q '^SYNOPSIS'"

it_cleanup
make -s -C "$IT_TOP" uninstall $inst >/dev/null
it_expect_eq "deploy: make uninstall leaves no file behind" "" \
    "$(find "$T/usr/local" -type f)"
echo "deploy: $IT_PASS passed, $IT_FAIL failed"
[ "$IT_FAIL" -eq 0 ]
