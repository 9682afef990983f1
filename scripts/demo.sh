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

# AGENTGUARD_DEMO_INSTALLED=1 runs the demo with agentguard as PG_CONFIG's
# server already has it installed, and builds and installs nothing (make
# test-package runs it so against the Debian package).
PG_CONFIG=${PG_CONFIG:-pg_config}
if [ -n "${AGENTGUARD_DEMO_INSTALLED:-}" ]; then
	step "0. Preparing: agentguard as installed, a throwaway cluster"
	bindir=$("$PG_CONFIG" --bindir) || die "$PG_CONFIG not found"
	[ -x "$bindir/agentguard" ] || die "$bindir/agentguard is not installed"
	[ -f "$("$PG_CONFIG" --pkglibdir)/agentguard.so" ] || die "agentguard.so is not installed for $PG_CONFIG"
	say "using agentguard as installed for $("$bindir/postgres" --version)"
else
	step "0. Preparing: packages, build, install, a throwaway cluster"
	scripts/setup.sh
	command -v "$PG_CONFIG" >/dev/null || die "$PG_CONFIG not found after setup"
	if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
	make -s PG_CONFIG="$PG_CONFIG" >/dev/null
	"${sudo[@]}" make -s PG_CONFIG="$PG_CONFIG" install >/dev/null
	bindir=$("$PG_CONFIG" --bindir)
	say "built and installed agentguard for $("$bindir/postgres" --version)"
fi
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
CREATE TABLE legacy_bookings (id int PRIMARY KEY, note text);
INSERT INTO legacy_bookings SELECT g, 'booking ' || g FROM generate_series(1, 300) g;
GRANT SELECT, INSERT ON customers, reservations TO app_user;
SQL
ok postgres "SELECT (SELECT count(*) FROM customers) AS customers, (SELECT count(*) FROM reservations) AS reservations, (SELECT count(*) FROM legacy_bookings) AS legacy_bookings;"

step "2. An AI agent's role is labelled"
say "The DBA marks the agent's role with a security label. Every session that"
say "logs in as coding_agent (or as any member of it) is now an agent session."
ok postgres "SECURITY LABEL FOR agentguard ON ROLE coding_agent IS 'agent';"
ok coding_agent "SELECT current_user, agentguard.is_agent_session();"
ok app_user "SELECT current_user, agentguard.is_agent_session();"

step "3. The agent does its ordinary work"
say "Reading and writing data is not affected, and neither is the agent's"
say "scratch work: temporary tables, and tables it created earlier in the same"
say "transaction, may be dropped."
ok coding_agent "SELECT car, count(*) FROM reservations GROUP BY car ORDER BY car;"
ok coding_agent "INSERT INTO reservations (customer_id, car, pick_up, drop_off) VALUES (42, 'Golf', '2026-06-01', '2026-06-04');"
ok coding_agent "BEGIN; CREATE TABLE import_batch (line text); DROP TABLE import_batch; COMMIT;"
say ""
say "Roles that are not agents are left alone entirely:"
ok app_user "CREATE TABLE scratch (note text); DROP TABLE scratch;"

step "4. A DELETE needs a WHERE clause, and a limit"
say "A DELETE (or UPDATE, or MERGE) without a WHERE clause is refused wherever"
say "it sits: in a function, behind a view or a rule, in a prepared statement."
refused coding_agent "DELETE FROM reservations;"
say ""
say "So is one that would change more than agentguard.max_rows rows (1000), with"
say "what foreign-key cascades and triggers change counted in:"
refused coding_agent "DELETE FROM reservations WHERE id > 100;"
say ""
say "A bounded DELETE runs as usual. The agent removes the test booking it made:"
ok coding_agent "DELETE FROM reservations WHERE id = 1501;"

step "5. The agent tries to drop a table"
say "Say the agent hits a migration problem and decides, on its own, that"
say "dropping the table is the fix. agentguard refuses the statement:"
refused coding_agent "DROP TABLE reservations;"
say ""
say "The error has SQLSTATE 42501 (insufficient_privilege), a DETAIL whose first"
say "line is the request code, and a HINT. The refusal rolled back the agent's"
say "transaction and changed nothing. It is also in the server log:"
sleep 0.2
line=$(grep -F 'LOG:  agentguard: refused' "$dir/server.log" | tail -n 1 | sed 's/^.*LOG:/LOG:/') || true
[ -n "$line" ] || die "the refusal is not in the server log"
say "  $line"
say ""
say "Hiding the statement in dynamic SQL changes nothing:"
refused coding_agent "DO \$\$ BEGIN EXECUTE 'TRUNCATE customers CASCADE'; END \$\$;"
ok coding_agent "SELECT (SELECT count(*) FROM customers) AS customers, (SELECT count(*) FROM reservations) AS reservations;"

step "6. The agent asks for something the DBA may approve"
say "The agent's real task is to remove legacy_bookings, an obsolete import."
say "That is refused like any other DROP:"
refused coding_agent "DROP TABLE legacy_bookings;"
code=$(printf '%s\n' "$last_error" | sed -n 's/^DETAIL:  request: \([^[:space:]]*\)$/\1/p')
[ -n "$code" ] || die "no request code in the refusal"

step "7. The DBA sees the refusals and reads the request"
say "agentguard.requests lists the recent refusals, newest first. A superuser"
say "or a member of pg_monitor may read it; an agent session may not."
ok postgres "SELECT to_char(refused_at, 'HH24:MI:SS') AS refused_at, role, action, objects, statement, times FROM agentguard.requests;"
say "The request code in the refusal says exactly what would run. The agentguard"
say "program decodes it without connecting to anything:"
printf '%s$%s agentguard inspect %s\n' "$bold" "$off" "$code"
"$bindir/agentguard" inspect "$code"

step "8. The DBA approves it in one step"
say "Once, the DBA makes a signing key. The private key stays in a file on the"
say "DBA's side; the database only learns the public key:"
key=$dir/dba-key.pem
printf '%s$%s agentguard keygen --out dba-key.pem\n' "$bold" "$off"
pub=$("$bindir/agentguard" keygen --out "$key" 2>/dev/null)
say "$pub"
ok postgres "SELECT agentguard.add_signer('dba', '$pub');"
say ""
say "agentguard approve shows the newest refusal in the database, asks (--yes"
say "answers for this demo), signs it and confirms it in the database."
note "(PGHOST, PGPORT and PGUSER point at the demo server)"
printf '%s$%s agentguard approve --yes --key dba-key.pem dbname=rentals\n' "$bold" "$off"
PGHOST=$dir PGPORT=$port PGUSER=postgres "$bindir/agentguard" approve --yes --key "$key" dbname=rentals 2>&1 ||
	die "agentguard approve failed"

step "9. The agent retries, and the DROP runs, once"
ok coding_agent "DROP TABLE legacy_bookings;"
ok coding_agent "SELECT to_regclass('legacy_bookings') AS legacy_bookings;"
say "To every user the table is gone. But a confirmed DROP does not destroy: the"
say "table, its rows and its index are in quarantine, kept for 7 days"
say "(agentguard.retention):"
ok postgres "SELECT id, kind, original_name, quarantined_as, dropped_by, expires_at - dropped_at AS kept_for FROM agentguard.quarantine;"

step "10. A week later, someone needs the old bookings"
entry=$(psql_as postgres -XAt -c "SELECT id FROM agentguard.quarantine WHERE original_name = 'legacy_bookings'")
ok postgres "SELECT agentguard.restore($entry);"
ok coding_agent "SELECT count(*) AS legacy_bookings FROM legacy_bookings;"
say ""
say "Every row is back. The approval was used up when the DROP ran, so the same"
say "DROP is refused again:"
refused coding_agent "DROP TABLE legacy_bookings;"

step "11. A migration with several destructive steps, rehearsed"
migration="ALTER TABLE reservations DROP COLUMN drop_off; DROP TABLE legacy_bookings; DELETE FROM reservations WHERE pick_up < date '2026-07-15';"
say "The agent's next migration drops a column, drops legacy_bookings for good"
say "and deletes old reservations. Run as it is, it would be refused at its first"
say "step, then at the next once that one is approved, and so on. Instead the"
say "agent rehearses it: with agentguard.rehearse on, the steps run as if"
say "approved, so the migration sees what it expects, each is recorded, and the"
say "COMMIT is refused with one code for all of them; everything rolls back:"
refused coding_agent "BEGIN; SET LOCAL agentguard.rehearse = on; $migration SELECT count(*) AS reservations_left FROM reservations; COMMIT;"
ok coding_agent "SELECT count(*) AS reservations, (SELECT count(*) FROM legacy_bookings) AS legacy_bookings FROM reservations;"

step "12. The DBA approves the whole migration at once, and it runs"
say "The batch is the newest refusal: agentguard approve shows every statement"
say "of it, with the rows the DELETE changed, and one token approves them all."
printf '%s$%s agentguard approve --yes --key dba-key.pem dbname=rentals\n' "$bold" "$off"
PGHOST=$dir PGPORT=$port PGUSER=postgres "$bindir/agentguard" approve --yes --key "$key" dbname=rentals 2>&1 ||
	die "agentguard approve failed"
say ""
say "The agent runs the migration for real; each approved statement runs once,"
say "and what it destroys is kept in quarantine:"
ok coding_agent "BEGIN; $migration COMMIT;"
ok postgres "SELECT id, kind, original_name, dropped_by FROM agentguard.quarantine ORDER BY id;"
say "A statement that is not in the batch is refused as before:"
refused coding_agent "ALTER TABLE reservations DROP COLUMN car;"

step "Done"
say "agentguard refused each of the agent's attempts to destroy data, with a"
say "request code a DBA can read and find in agentguard.requests. The one"
say "statement the DBA approved with agentguard approve ran, once, and the"
say "table it dropped came back whole with agentguard.restore. A migration of"
say "several steps was rehearsed and approved at once, with one token. Reading and"
say "writing data, bounded DELETEs, other roles and the agent's scratch work"
say "were not affected."
say "README.md says what agentguard keeps and what it does not, and how to"
say "install it into a real server; docs/runbook.md has the DBA's procedures."
note "(stopping the demo cluster and removing $dir)"
