# The three web servers, started on 127.0.0.1 from the configs in deploy/,
# filled in only with paths and a port. Sourced after lib.sh, by the
# integration suites and by bench/.
#
# Needs IT_DIR, IT_ROOT, IT_DOCROOT and IT_TOP. Every server started here
# goes into IT_PIDS, so it_cleanup stops it by its pid.

IT_APACHE=$(command -v apache2 || echo /usr/sbin/apache2)

# Which deploy/ config a server runs in a mode: stream or offload.
it_server_conf() {
	case $2 in
	stream) echo "$IT_TOP/deploy/$1/sluice.conf" ;;
	offload) echo "$IT_TOP/deploy/$1/sluice-offload.conf" ;;
	*) return 1 ;;
	esac
}

# The --offload value sluice takes behind a server in offload mode, and
# behind Apache the option that accepts mod_xsendfile's symlink race
# (README, "Offload mode"): words for an array, none with a space.
it_offload_arg() {
	case $1 in
	nginx) echo x-accel-redirect:/_sluice_files/ ;;
	lighttpd) echo lighttpd ;;
	*) echo x-sendfile --offload-symlink-race accept ;;
	esac
}

# Users alice and bob (passwords alice-pw, bob-pw) in the server's own
# format: lighttpd's plain file, nginx's {PLAIN} scheme, Apache's bcrypt
# (Apache on Linux takes no plain-text passwords). Prints the file's path.
it_users_file() {
	local f=$IT_DIR/users.$1
	if [ ! -e "$f" ]; then
		case $1 in
		lighttpd) printf 'alice:alice-pw\nbob:bob-pw\n' >"$f" ;;
		nginx) printf 'alice:{PLAIN}alice-pw\nbob:{PLAIN}bob-pw\n' >"$f" ;;
		apache)
			htpasswd -c -b -B "$f" alice alice-pw 2>/dev/null &&
			    htpasswd -b -B "$f" bob bob-pw 2>/dev/null || return 1
			;;
		esac
		chmod 0640 "$f"
		[ "$(id -u)" -ne 0 ] || chgrp www-data "$f"
	fi
	echo "$f"
}

# it_fill SRC DEST PORT SOCKET AUTHFILE: a deploy config with every
# @NAME@ filled in.
it_fill() {
	sed -e "s|@PORT@|$3|g" -e "s|@DOCROOT@|$IT_DOCROOT|g" \
	    -e "s|@STATEDIR@|$IT_DIR|g" -e "s|@SOCKET@|$4|g" \
	    -e "s|@AUTHFILE@|$5|g" -e "s|@ROOT@|$IT_ROOT|g" \
	    -e "s|@DB@|$IT_DIR/jobs.db|g" \
	    -e "s|@SLUICE@|${IT_FCGID_BIN:-$IT_DIR/sluice-fcgid-bin}|g" \
	    "$1" >"$2"
}

# As root, the servers' workers run as www-data (as in production, where
# deploy/spawn-fcgi/sluice.sh gives the socket group www-data): they get
# the socket through the group, and may cross $IT_DIR. $IT_DIR is setgid
# www-data, so that a socket made later (sluice restarted, or binding
# --listen itself, mode 0660) is theirs too while the server runs on:
# lighttpd, like nginx and Apache, serves as www-data (issue 17).
it_grant_www_data() {
	chmod 0711 "$IT_DIR"
	[ "$(id -u)" -ne 0 ] || { chgrp www-data "$1" "$IT_DIR" &&
	    chmod 2711 "$IT_DIR"; }
}

# One attempt: start SERVER from config SRC on PORT; sets SRV_PID.
it_server_exec() {
	local srv=$1 src=$2 port=$3 sock=$4 conf=$IT_DIR/$1.conf users
	users=$(it_users_file "$srv") || return 1
	it_fill "$src" "$conf" "$port" "$sock" "$users" || return 1
	case $srv in
	lighttpd)
		# It opens its logs once it runs as www-data (as root).
		if [ "$(id -u)" -eq 0 ]; then
			touch "$IT_DIR/lighttpd-error.log" \
			    "$IT_DIR/lighttpd-access.log" &&
			    chown www-data:www-data "$IT_DIR/lighttpd-error.log" \
			    "$IT_DIR/lighttpd-access.log" || return 1
		fi
		lighttpd -tt -f "$conf" >/dev/null || return 1
		lighttpd -D -f "$conf" &
		;;
	nginx)
		# The parameter list is included by a path relative to the
		# config's directory: copied verbatim beside it.
		cp "$IT_TOP/deploy/nginx/sluice_fastcgi_params" "$IT_DIR/" ||
		    return 1
		nginx -t -q -p "$IT_DIR/" -c "$conf" -g 'daemon off;' ||
		    return 1
		nginx -p "$IT_DIR/" -c "$conf" -g 'daemon off;' &
		;;
	apache)
		"$IT_APACHE" -t -f "$conf" 2>/dev/null ||
		    { "$IT_APACHE" -t -f "$conf"; return 1; }
		"$IT_APACHE" -f "$conf" -DFOREGROUND &
		;;
	*) return 1 ;;
	esac
	SRV_PID=$!
	IT_PIDS+=("$SRV_PID")
}

# The server either listens on its port itself, or has exited (another
# run took the port between the probe and the bind).
it_server_settled() { it_listens "$1" "$2" || it_dead "$1"; }

# it_server_up SERVER MODE SOCKET [SRC]: start lighttpd, nginx or apache
# in mode stream or offload (or from config SRC) in front of sluice on
# SOCKET; sets SRV_PID, SRV_PORT and BASE. A free port can be taken by
# another run between the probe and the bind: then the server exits at
# once, and another port is tried. Ready means the server's own process
# holds the listening socket (it_listens), not only that the port answers.
it_server_up() {
	local srv=$1 mode=$2 sock=$3 src=${4:-}
	[ -n "$src" ] || src=$(it_server_conf "$srv" "$mode") || return 1
	it_grant_www_data "$sock"
	for _ in 1 2 3 4 5; do
		SRV_PORT=$(it_free_port) || return 1
		it_server_exec "$srv" "$src" "$SRV_PORT" "$sock" || return 1
		BASE="http://127.0.0.1:$SRV_PORT"
		if it_wait_for 10 it_server_settled "$SRV_PID" "$SRV_PORT" &&
		    it_listens "$SRV_PID" "$SRV_PORT"; then
			return 0
		fi
		it_kill_pid "$SRV_PID"
	done
	return 1
}

it_server_down() {
	it_kill_pid "$SRV_PID"
	SRV_PID=
}
