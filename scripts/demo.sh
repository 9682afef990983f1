#!/bin/bash
# make demo: set up what a fresh Debian machine lacks, build and install
# agentguard, start a throwaway PostgreSQL cluster in a temporary directory,
# and walk through what agentguard does when an AI agent tries to destroy
# data.  The cluster and its directory are removed when the demo ends, however
# it ends.
#
# The server refuses to run as root, so as root it runs as the unprivileged
# "postgres" user; as a normal user it runs as that user (sudo is used only to
# install packages and the extension).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	bold=$'\e[1m' dim=$'\e[2m' off=$'\e[0m'
else
	bold='' dim='' off=''
fi

step() { printf '\n%s== %s%s\n' "$bold" "$*" "$off"; }
say() { printf '%s\n' "$@"; }
note() { printf '%s%s%s\n' "$dim" "$*" "$off"; }
die() {
	printf 'demo: %s\n' "$*" >&2
	exit 1
}

# ---------------------------------------------------------------------------
# Build and install

step "0. Preparing: packages, build, install, a throwaway cluster"
scripts/setup.sh
PG_CONFIG=${PG_CONFIG:-pg_config}
command -v "$PG_CONFIG" >/dev/null || die "$PG_CONFIG not found after setup"
if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
make -s PG_CONFIG="$PG_CONFIG" >/dev/null
"${sudo[@]}" make -s PG_CONFIG="$PG_CONFIG" install >/dev/null
bindir=$("$PG_CONFIG" --bindir)
say "built and installed agentguard for $("$bindir/postgres" --version)"
say "the agentguard program is $bindir/agentguard"

# ---------------------------------------------------------------------------
# A throwaway cluster, run by an unprivileged user

if [ "$(id -u)" -eq 0 ]; then
	id postgres >/dev/null 2>&1 || die "as root the server runs as the 'postgres' user, which does not exist"
	as_server() { (cd "$dir" && runuser -u postgres -- "$@"); }
else
	as_server() { (cd "$dir" && "$@"); }
fi

dir=
cleanup() {
	local status=$?
	trap '' INT TERM
	if [ -n "$dir" ] && [ -d "$dir/data" ]; then
		as_server "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
		# a server whose pg_ctl was interrupted, or that did not stop
		if [ -f "$dir/data/postmaster.pid" ]; then
			pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null) || pid=
			case $pid in '' | *[!0-9]*) ;; *) kill -QUIT "$pid" 2>/dev/null || true ;; esac
			sleep 1
		fi
	fi
	[ -n "$dir" ] && rm -rf "$dir"
	[ $status -eq 0 ] || printf '\ndemo: stopped early (exit status %d); the demo cluster was stopped and removed\n' $status >&2
	exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
dir=$(mktemp -d "${TMPDIR:-/tmp}/agentguard-demo.XXXXXX")
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
chmod 700 "$dir"

# a port nobody listens on; the server listens only on a socket in $dir anyway
port=54320
while [ $port -lt 54420 ] && { (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null || [ -e "/tmp/.s.PGSQL.$port" ]; }; do
	port=$((port + 1))
done

log=$(as_server "$bindir/initdb" -D "$dir/data" -U postgres -A trust --no-locale -E UTF8 2>&1) ||
	{ printf '%s\n' "$log" >&2; die "initdb failed"; }
cat >>"$dir/data/postgresql.conf" <<EOF

# agentguard demo
listen_addresses = ''
port = $port
unix_socket_directories = '$dir'
shared_preload_libraries = 'agentguard'
agentguard.environment = 'demo'
EOF
as_server "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null ||
	{ cat "$dir/server.log" >&2; die "the server did not start"; }
say "started PostgreSQL in $dir (port $port, run by OS user $(as_server id -un))"
say "with shared_preload_libraries = 'agentguard' and agentguard.environment = 'demo'"

# psql ROLE [psql options...]: psql connected to the demo database as ROLE
psql_as() {
	local role=$1
	shift
	as_server "$bindir/psql" -X -h "$dir" -p "$port" -U "$role" -d "${db:-rentals}" \
		-v VERBOSITY=default "$@"
}

# ok ROLE SQL: show the statement at a psql prompt and run it; it must work
ok() {
	printf '%s%s=>%s %s\n' "$bold" "$1" "$off" "$2"
	psql_as "$1" -v ON_ERROR_STOP=1 -c "$2" 2>&1 || die "this statement should have worked"
}

# refused ROLE SQL: the same for a statement agentguard must refuse; its
# error is shown as psql prints it and kept in $last_error
refused() {
	printf '%s%s=>%s %s\n' "$bold" "$1" "$off" "$2"
	if last_error=$(psql_as "$1" -c "$2" -c '\echo (SQLSTATE :LAST_ERROR_SQLSTATE)' 2>&1); then :; fi
	say "$last_error"
	case $last_error in
	*"ERROR:  agentguard:"*"SQLSTATE 42501"*) ;;
	*) die "agentguard should have refused this statement" ;;
	esac
}

db=postgres psql_as postgres -q -c 'CREATE DATABASE rentals' >/dev/null

# ---------------------------------------------------------------------------
# The story

step "1. A small production database"
say "A car-rental company keeps its customers and their reservations in"
say "PostgreSQL. The role app_owner owns the tables; the team's AI coding"
say "agent logs in as coding_agent, a member of app_owner, so as far as"
say "PostgreSQL's own privileges go it may do anything to those tables,"
say "including dropping them. That is how the agents in the well-known"
say "incidents could delete production data: their credentials allowed it."
psql_as postgres -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE EXTENSION agentguard;
CREATE ROLE app_owner NOLOGIN;
CREATE ROLE coding_agent LOGIN IN ROLE app_owner;
CREATE ROLE app_user LOGIN;
GRANT CREATE ON SCHEMA public TO app_owner, app_user;
SET ROLE app_owner;
CREATE TABLE customers (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name    text NOT NULL,
    email   text NOT NULL UNIQUE
);
CREATE TABLE reservations (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customers,
    car         text NOT NULL,
    pick_up     date NOT NULL,
    drop_off    date NOT NULL
);
INSERT INTO customers (name, email)
SELECT 'Customer ' || g, 'customer' || g || '@example.com'
FROM generate_series(1, 200) g;
INSERT INTO reservations (customer_id, car, pick_up, drop_off)
SELECT 1 + g % 200,
       (ARRAY['Corolla', 'Golf', 'Model 3', 'Clio', 'Transit'])[1 + g % 5],
       date '2026-05-01' + g % 90,
       date '2026-05-01' + g % 90 + 1 + g % 7
FROM generate_series(1, 1500) g;
-- an import from the old booking system, kept "just in case"
CREATE TABLE legacy_bookings AS
SELECT g AS id, 'booking ' || g AS note FROM generate_series(1, 300) g;
GRANT SELECT, INSERT ON customers, reservations TO app_user;
SQL
ok postgres "SELECT (SELECT count(*) FROM customers) AS customers, (SELECT count(*) FROM reservations) AS reservations;"

step "2. An AI agent's role is labelled"
say "The DBA marks the agent's role with a security label. Every session that"
say "logs in as coding_agent (or as any member of it) is now an agent session."
ok postgres "SECURITY LABEL FOR agentguard ON ROLE coding_agent IS 'agent';"
ok coding_agent "SELECT current_user, agentguard.is_agent_session();"
ok app_user "SELECT current_user, agentguard.is_agent_session();"

step "3. The agent does its ordinary work"
say "Reading and writing data is not affected."
ok coding_agent "SELECT car, count(*) FROM reservations GROUP BY car ORDER BY car;"
ok coding_agent "INSERT INTO reservations (customer_id, car, pick_up, drop_off) VALUES (42, 'Golf', '2026-06-01', '2026-06-04');"

step "4. The agent tries to drop a table"
say "Say the agent hits a migration problem and decides, on its own, that"
say "dropping the table is the fix. agentguard refuses the statement:"
refused coding_agent "DROP TABLE reservations;"
code=$(printf '%s\n' "$last_error" | sed -n 's/^DETAIL:  request: \([^[:space:]]*\)$/\1/p')
[ -n "$code" ] || die "no request code in the refusal"
say ""
say "The error has SQLSTATE 42501 (insufficient_privilege), a DETAIL whose first"
say "line is the request code, and a HINT. The refusal is also written to the"
say "server log:"
sleep 0.2
line=$(grep -F 'LOG:  agentguard: refused' "$dir/server.log" | tail -n 1 | sed 's/^.*LOG:/LOG:/') || true
[ -n "$line" ] || die "the refusal is not in the server log"
say "  $line"

step "5. Nothing was lost"
ok coding_agent "SELECT count(*) AS reservations FROM reservations;"

step "6. The DBA reads the request"
say "The request code says exactly what was refused. The agentguard program"
say "decodes it; it needs no connection to the database:"
printf '%s$%s agentguard inspect %s\n' "$bold" "$off" "$code"
"$bindir/agentguard" inspect "$code"
say ""
say "(The same is available in SQL as agentguard.inspect(code).)"

step "7. TRUNCATE is refused too, however it is reached"
refused coding_agent "TRUNCATE reservations;"
say ""
say "Hiding the statement in dynamic SQL changes nothing:"
refused coding_agent "DO \$\$ BEGIN EXECUTE 'TRUNCATE customers CASCADE'; END \$\$;"
say ""
say "Both tables still hold every row:"
ok coding_agent "SELECT (SELECT count(*) FROM customers) AS customers, (SELECT count(*) FROM reservations) AS reservations;"

step "8. A DBA approves one statement"
say "The agent's real task is to remove legacy_bookings, an obsolete import."
say "That is refused like any other DROP:"
refused coding_agent "DROP TABLE legacy_bookings;"
code=$(printf '%s\n' "$last_error" | sed -n 's/^DETAIL:  request: \([^[:space:]]*\)$/\1/p')
[ -n "$code" ] || die "no request code in the refusal"
say ""
say "The DBA makes a signing key once. The private key stays in a file on the"
say "DBA's side; the database only learns the public key:"
key=$dir/dba-key.pem
printf '%s$%s agentguard keygen --out dba-key.pem\n' "$bold" "$off"
pub=$("$bindir/agentguard" keygen --out "$key")
say "$pub"
ok postgres "SELECT agentguard.add_signer('dba', '$pub');"
say ""
say "The DBA reads the request, decides it is fine, and signs it:"
printf '%s$%s agentguard sign --key dba-key.pem --ttl 15m %s\n' "$bold" "$off" "$code"
token=$("$bindir/agentguard" sign --key "$key" --ttl 15m "$code")
say "$token"
say ""
say "The token is confirmed in the database, from the DBA's session or the"
say "agent's (here the agent's), and the agent runs the same statement again:"
ok coding_agent "SELECT agentguard.confirm('$token');"
say ""
say "The token covers that one statement and nothing else:"
refused coding_agent "DROP TABLE reservations;"
ok coding_agent "DROP TABLE legacy_bookings;"
say ""
say "It worked once; the token is used up:"
refused coding_agent "SELECT agentguard.confirm('$token');"
say ""
say "(agentguard approve, planned, will do the DBA's part in one command:"
say "show the request, ask, sign and confirm.)"

step "9. Everyone else is unaffected"
say "app_user has no label, so agentguard leaves its sessions alone: it can"
say "create a scratch table and drop it again as usual."
ok app_user "CREATE TABLE scratch (note text);"
ok app_user "INSERT INTO scratch VALUES ('testing');"
ok app_user "DROP TABLE scratch;"
say ""
say "The agent's own scratch work is exempt too: temporary tables, and tables"
say "it created earlier in the same transaction, may be dropped or truncated."
ok coding_agent "CREATE TEMP TABLE tmp_report AS SELECT * FROM customers LIMIT 10; DROP TABLE tmp_report;"
ok coding_agent "BEGIN; CREATE TABLE import_batch (line text); TRUNCATE import_batch; DROP TABLE import_batch; COMMIT;"

step "Done"
say "agentguard refused each of the agent's attempts to destroy data, with a"
say "request code a DBA can read; the one statement a DBA approved with a"
say "signed token ran, once. Reading and writing data, other roles, and the"
say "agent's own scratch tables were not affected."
say "README.md says what is built and what is planned, and how to install"
say "agentguard into a real server; docs/ has the details."
note "(stopping the demo cluster and removing $dir)"
