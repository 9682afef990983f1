#!/bin/bash
# Instructions per statement that agentguard adds, counted by callgrind in a
# single-user backend: exact, so it holds on a noisy machine.  Statements
# alternate an indexed SELECT and a one-row UPDATE, as in pgbench.  Printed
# as ratios to a server without the library, for an ordinary session and for
# an agent session.
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
    "VACUUM ANALYZE acc;\n")
for prelude in ('', 'SET agentguard.agent = on;'):
    for k in (0, n):
        out = [prelude] if prelude else []
        for i in range(k):
            a = random.randint(1, 10000)
            out.append(f"SELECT abalance FROM acc WHERE aid = {a};" if i % 2 == 0
                       else f"UPDATE acc SET abalance = abalance + 1 WHERE aid = {a};")
        tag = 'agent' if prelude else 'plain'
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
agent=$(per_statement agentguard agent)
printf '\n%-24s %14s %8s\n' variant instr/stmt ratio
printf '%-24s %14d %8.4f\n' "no agentguard" "$base" 1
printf '%-24s %14d %8.4f\n' "agentguard, ordinary" "$ordinary" "$(echo "$ordinary / $base" | bc -l)"
printf '%-24s %14d %8.4f\n' "agentguard, agent" "$agent" "$(echo "$agent / $base" | bc -l)"
