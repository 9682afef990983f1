#!/bin/bash
# Instructions per statement that agentguard adds, counted by callgrind in a
# single-user backend: exact, so it holds on a noisy machine.  Statements
# alternate an indexed SELECT and a one-row UPDATE, as in pgbench.  Printed
# as ratios to a server without the library, for an ordinary session, an
# agent session of an ordinary role, and one of a superuser (which also has
# its setval calls looked at).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh

N=${BENCH_STATEMENTS:-3000}
init_cluster
python3 - "$W" "$N" <<'PY'
import random, sys
w, n = sys.argv[1], int(sys.argv[2])
random.seed(1)
open(f'{w}/setup.sql', 'w').write(
    "CREATE TABLE acc(aid int primary key, abalance int not null default 0, filler text);\n"
    "INSERT INTO acc SELECT g, 0, repeat('x', 80) FROM generate_series(1, 10000) g;\n"
    "VACUUM ANALYZE acc;\n"
    "CREATE ROLE bench_agent;\n"
    "GRANT SELECT, UPDATE ON acc TO bench_agent;\n")
preludes = {'plain': '', 'role': 'SET ROLE bench_agent;',
            'agent': 'SET ROLE bench_agent; SET agentguard.agent = on;',
            'superagent': 'SET agentguard.agent = on;'}
for tag, prelude in preludes.items():
    for k in (0, n):
        out = [prelude] if prelude else []
        for i in range(k):
            a = random.randint(1, 10000)
            out.append(f"SELECT abalance FROM acc WHERE aid = {a};" if i % 2 == 0
                       else f"UPDATE acc SET abalance = abalance + 1 WHERE aid = {a};")
        open(f'{w}/{tag}{k}.sql', 'w').write("\n".join(out) + "\n")
PY
chmod a+r "$W"/*.sql
single() { as_pg "$PGBIN/postgres" --single -D "$W/data" postgres <"$1" >/dev/null 2>&1 || true; }
conf() { sed -i '/^shared_preload_libraries/d' "$W/data/postgresql.conf"; [ -n "$1" ] && echo "shared_preload_libraries = '$1'" >>"$W/data/postgresql.conf"; true; }
count() { # file -> instructions
	as_pg valgrind --tool=callgrind --callgrind-out-file="$W/cg.out" "$PGBIN/postgres" --single -D "$W/data" postgres <"$1" >/dev/null 2>"$W/vg.err"
	grep -o "Collected : [0-9]*" "$W/vg.err" | awk '{print $3}'
}
per_statement() { # libs, tag
	conf "$1"
	local a b
	a=$(count "$W/${2}0.sql")
	b=$(count "$W/${2}$N.sql")
	echo $(((b - a) / N))
}
single "$W/setup.sql"
base=$(per_statement '' plain)
ordinary=$(per_statement agentguard plain)
superagent=$(per_statement agentguard superagent)
# an ordinary role pays the server's own permission checks: its baseline is
# the same role without the library
role_base=$(per_statement '' role)
agent=$(per_statement agentguard agent)
row() { printf '%-34s %14d %8.4f\n' "$1" "$2" "$(echo "$2 / $3" | bc -l)"; }
printf '\n%-34s %14s %8s\n' variant instr/stmt ratio
row "superuser, no agentguard" "$base" "$base"
row "superuser, agentguard, ordinary" "$ordinary" "$base"
row "superuser, agentguard, agent" "$superagent" "$base"
row "ordinary role, no agentguard" "$role_base" "$role_base"
row "ordinary role, agentguard, agent" "$agent" "$role_base"
