#!/bin/bash
# Throughput with and without agentguard, side by side in one run: pgbench's
# select-only and TPC-B-like scripts, prepared protocol, several clients,
# (1) without the library, (2) with it for an ordinary role, (3) with it for
# an agent role.  Rounds are interleaved so drift hits every variant alike;
# the median of each is printed with its ratio to (1).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh

SECONDS_PER_RUN=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
CLIENTS=${BENCH_CLIENTS:-4}
SCALE=${BENCH_SCALE:-10}

init_cluster
start_server agentguard
as_pg "$PGBIN/pgbench" -i -q -s "$SCALE" -h "$W" -p "$PORT" -U postgres postgres >/dev/null 2>&1
psql_q <<'SQL'
CREATE EXTENSION agentguard;
CREATE ROLE bench_app LOGIN;
CREATE ROLE bench_agent LOGIN;
SECURITY LABEL FOR agentguard ON ROLE bench_agent IS 'agent';
GRANT ALL ON ALL TABLES IN SCHEMA public TO bench_app, bench_agent;
VACUUM ANALYZE;
SQL

run() { # user, extra pgbench flags -> tps
	as_pg "$PGBIN/pgbench" -M prepared -c "$CLIENTS" -j 2 -T "$SECONDS_PER_RUN" -n "$2" \
		-h "$W" -p "$PORT" -U "$1" postgres 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

declare -A results
for round in $(seq "$ROUNDS"); do
	echo "round $round of $ROUNDS" >&2
	start_server ''
	for script in --builtin=select-only --builtin=tpcb-like; do results["none$script"]+="$(run bench_app "$script") "; done
	start_server agentguard
	for script in --builtin=select-only --builtin=tpcb-like; do
		results["ordinary$script"]+="$(run bench_app "$script") "
		results["agent$script"]+="$(run bench_agent "$script") "
	done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
printf '\n%-12s %-22s %12s %8s\n' script variant "tps (median)" ratio
for script in --builtin=select-only --builtin=tpcb-like; do
	name=${script#--builtin=}
	base=$(echo "${results[none$script]}" | median)
	for variant in none ordinary agent; do
		tps=$(echo "${results[$variant$script]}" | median)
		label=$(case $variant in none) echo "no agentguard" ;; ordinary) echo "agentguard, ordinary" ;; agent) echo "agentguard, agent" ;; esac)
		printf '%-12s %-22s %12.0f %8.4f\n' "$name" "$label" "$tps" "$(echo "$tps / $base" | bc -l)"
	done
done
