# A PostgreSQL cluster of a bench run's own (Debian's postgresql, run as the postgres user when we
# are root: initdb refuses root), every commit durable (fsync and synchronous commit on). Sourced by
# the benches, not run; it defines functions and nothing else.
#
#   pg_cluster_start DIR PORT [SETTING=VALUE …]   # initdb in DIR/data, listen on 127.0.0.1:PORT
#   pg_cluster_stop DIR                           # stop it (nothing when it never started)

pg_run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pg_cluster_start() {
    local dir=$1 port=$2 settings="" setting
    shift 2
    for setting in "$@"; do settings="$settings -c $setting"; done
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    pg_run "$(pg_config --bindir)/initdb" -D "$dir/data" -U inboxd --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    pg_run "$(pg_config --bindir)/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o \
        "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=on -c synchronous_commit=on$settings" \
        start >/dev/null
}

pg_cluster_stop() {
    [ -d "$1/data" ] || return 0
    pg_run "$(pg_config --bindir)/pg_ctl" -D "$1/data" -m fast -w stop >/dev/null 2>&1 || true
}
