#!/bin/sh
# sluice under spawn-fcgi: the same as deploy/systemd/, without systemd.
# make install puts it in $(PREFIX)/share/doc/sluice/spawn-fcgi/ with its
# paths filled in. Run it as root: spawn-fcgi binds the socket, gives it
# to the web server's group (www-data on Debian), drops to the sluice
# user, passes the socket as fd 0 and exits; sluice's own supervisor then
# keeps its workers alive (spawn-fcgi restarts nothing). In fork mode
# spawn-fcgi points stderr at /dev/null: hence --log-file.
# The directories come from tmpfiles.d (README.md, "Deploy").
# Stop with: kill -TERM "$(cat /run/sluice/sluice.pid)"   (drains)
# Rotate logs with: kill -HUP "$(cat /run/sluice/sluice.pid)"
exec spawn-fcgi -s /run/sluice/sluice.sock -M 0660 -u sluice -g sluice \
    -U sluice -G www-data -P /run/sluice/sluice.pid -- \
    /usr/local/bin/sluice --db /srv/exports/jobs.db \
    --root /srv/exports/files --state-db /var/lib/sluice/state.db \
    --log-file /var/log/sluice/sluice.log \
    --url-prefix /download/,/private/download/ \
    --workers 2 --threads 8 --drain-timeout 60
