#!/bin/sh
# sluice under spawn-fcgi: the same as deploy/systemd/, without systemd.
# spawn-fcgi binds the socket, passes it as fd 0 and exits; sluice's own
# supervisor then keeps its workers alive (spawn-fcgi restarts nothing).
# In fork mode spawn-fcgi points stderr at /dev/null: use --log-file.
# Stop with: kill -TERM "$(cat /run/sluice/sluice.pid)"   (drains)
# Rotate logs with: kill -HUP "$(cat /run/sluice/sluice.pid)"
exec spawn-fcgi -s /run/sluice/sluice.sock -M 0660 -u sluice -g sluice \
    -U sluice -G www-data -P /run/sluice/sluice.pid -- \
    /usr/local/bin/sluice --db /srv/exports/jobs.db \
    --root /srv/exports/files --log-file /var/log/sluice/sluice.log \
    --workers 2 --threads 8 --drain-timeout 60
