#!/bin/bash
# Instructions per statement that agentguard adds, counted by callgrind in a
# single-user backend: exact, so it holds on a noisy machine.  Statements
# alternate an indexed SELECT and a one-row UPDATE, as in pgbench.  Measured
# as users run it: in a database where CREATE EXTENSION agentguard was done
# (and, labelled, in one without it), printed as ratios to the same server
# and database without the library: an ordinary session, an agent session
# of an ordinary role, and one of a superuser (which also has its setval
# calls looked at).  Beside them, in the same run, other extensions that
# hook every statement, where they are installed (Debian's
# postgresql-15-pgaudit and postgresql-15-set-user; scripts/bench-anchors.sh
# installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh

N=${BENCH_STATEMENTS:-3000}
init_cluster
python3 - "$W" "$N" <<'PY'
import random, sys
w, n = sys.argv[1], int(sys.argv[2])
random.seed(1)
table = ("CREATE TABLE acc(aid int primary key, abalance int not null default 0, filler text);\n"
         "INSERT INTO acc SELECT g, 0, repeat('x', 80) FROM generate_series(1, 10000) g;\n"
         "VACUUM ANALYZE acc;\n"
         "GRANT SELECT, UPDATE ON acc TO bench_agent;\n")
open(f'{w}/setup.sql', 'w').write(
    "CREATE ROLE bench_agent;\n"
    "CREATE DATABASE noext;\n"
    "CREATE EXTENSION agentguard;\n" + table)
open(f'{w}/setup_noext.sql', 'w').write(table)
preludes = {'plain': '', 'role': 'SET ROLE bench_agent;',
            'agent': 'SET ROLE bench_agent; SET agentguard.agent = on;',
            'superagent': 'SET agentguard.agent = on;'}
# every variant runs the same statements
statements = []
for i in range(n):
    a = random.randint(1, 10000)
    statements.append(f"SELECT abalance FROM acc WHERE aid = {a};" if i % 2 == 0
                      else f"UPDATE acc SET abalance = abalance + 1 WHERE aid = {a};")
# one statement of each kind first, in every file: what a session pays once
# (caches filled, agentguard's first look at its confirmations) is not a
# cost per statement
warmup = ["SELECT abalance FROM acc WHERE aid = 1;",
          "UPDATE acc SET abalance = abalance + 1 WHERE aid = 1;"]
for tag, prelude in preludes.items():
    for k in (0, n):
        out = ([prelude] if prelude else []) + warmup + statements[:k]
        open(f'{w}/{tag}{k}.sql', 'w').write("\n".join(out) + "\n")
PY
chmod a+r "$W"/*.sql
# preload LIBS ('' = none) for the server about to run
conf() { sed -i '/^shared_preload_libraries/d' "$W/data/postgresql.conf"; [ -n "$1" ] && echo "shared_preload_libraries = '$1'" >>"$W/data/postgresql.conf"; true; }
single() { # libs, database, file
	conf "$1"
	as_pg "$PGBIN/postgres" --single -D "$W/data" "$2" <"$3" >"$W/single.out" 2>&1 ||
		{ cat "$W/single.out" >&2; exit 1; }
	if grep -q ERROR "$W/single.out"; then cat "$W/single.out" >&2; exit 1; fi
}
count() { # libs, database, file -> instructions
	# every count starts from the same cluster: UPDATEs leave dead rows, and
	# even VACUUM FULL leaves catalogs and counters changed
	rm -rf "$W/data"
	cp -a "$W/pristine" "$W/data"
	conf "$1"
	as_pg valgrind --tool=callgrind --callgrind-out-file="$W/cg.out" "$PGBIN/postgres" --single -D "$W/data" "$2" <"$3" >/dev/null 2>"$W/vg.err"
	grep -o "Collected : [0-9]*" "$W/vg.err" | awk '{print $3}'
}
per_statement() { # libs, database, tag
	local a b
	a=$(count "$1" "$2" "$W/${3}0.sql")
	b=$(count "$1" "$2" "$W/${3}$N.sql")
	echo $(((b - a) / N))
}
installed() { [ -f "$("$PG_CONFIG" --pkglibdir)/$1.so" ]; }

single agentguard postgres "$W/setup.sql"
single '' noext "$W/setup_noext.sql"
anchors=()
for lib in pgaudit set_user; do
	if installed "$lib"; then
		anchors+=("$lib")
		single "$lib" postgres <(echo "CREATE EXTENSION $lib;")
	fi
done
# every count starts from a copy of this
as_pg "$PGBIN/postgres" --single -D "$W/data" postgres <<<"CHECKPOINT;" >/dev/null 2>&1
cp -a "$W/data" "$W/pristine"

row() { printf '%-46s %14d %8.4f\n' "$1" "$2" "$(echo "$2 / $3" | bc -l)"; }
base=$(per_statement '' postgres plain)
printf '\n%-46s %14s %8s\n' variant instr/stmt ratio
row "superuser, no library" "$base" "$base"
row "superuser, agentguard, ordinary session" "$(per_statement agentguard postgres plain)" "$base"
row "superuser, agentguard, agent session" "$(per_statement agentguard postgres superagent)" "$base"
# an ordinary role pays the server's own permission checks: its baseline is
# the same role without the library
role_base=$(per_statement '' postgres role)
row "ordinary role, no library" "$role_base" "$role_base"
row "ordinary role, agentguard, ordinary session" "$(per_statement agentguard postgres role)" "$role_base"
row "ordinary role, agentguard, agent session" "$(per_statement agentguard postgres agent)" "$role_base"
noext_base=$(per_statement '' noext plain)
row "no extension in the database, no library" "$noext_base" "$noext_base"
row "no extension in the database, agentguard" "$(per_statement agentguard noext plain)" "$noext_base"
printf '\nother extensions, for scale (superuser, ordinary session):\n'
for lib in "${anchors[@]}"; do
	row "$lib" "$(per_statement "$lib" postgres plain)" "$base"
done
[ ${#anchors[@]} -gt 0 ] || echo "  (none installed: run scripts/bench-anchors.sh as root)"
