# Shared by the benchmarks: a throwaway cluster run by an unprivileged user.
# Sourced, not run.  Sets: PGBIN, W (work dir), as_pg, start_server, stop_server.

PG_CONFIG=${PG_CONFIG:-pg_config}
PGBIN=$("$PG_CONFIG" --bindir)
W=$(mktemp -d "${TMPDIR:-/tmp}/agentguard-bench.XXXXXX")
if [ "$(id -u)" -eq 0 ]; then
	chown postgres "$W"
	as_pg() { runuser -u postgres -- "$@"; }
else
	as_pg() { "$@"; }
fi
PORT=${BENCH_PORT:-55432}
export PGHOST=$W PGPORT=$PORT PGDATABASE=postgres
cleanup() {
	as_pg "$PGBIN/pg_ctl" -D "$W/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT

init_cluster() {
	as_pg "$PGBIN/initdb" -D "$W/data" -A trust -U postgres >/dev/null
	cat >>"$W/data/postgresql.conf" <<CONF
port = $PORT
unix_socket_directories = '$W'
listen_addresses = ''
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
max_connections = 50
CONF
}

# start_server LIBS: restart with shared_preload_libraries = LIBS ('' = none)
start_server() {
	as_pg "$PGBIN/pg_ctl" -D "$W/data" -m fast stop >/dev/null 2>&1 || true
	sed -i '/^shared_preload_libraries/d' "$W/data/postgresql.conf"
	[ -n "$1" ] && echo "shared_preload_libraries = '$1'" >>"$W/data/postgresql.conf"
	as_pg "$PGBIN/pg_ctl" -D "$W/data" -l "$W/log" -w start >/dev/null
}

psql_q() { as_pg "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$W" -p "$PORT" -U postgres "$@"; }
