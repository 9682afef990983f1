#!/bin/bash
# Quarantining and restoring a dropped table costs a catalog change, not a
# copy: time DROP (quarantined), restore, and a plain DROP for tables of 10
# thousand and 10 million rows, printed as ratios to the plain DROP.  A
# quarantined TRUNCATE keeps the table's files by a catalog change too: it
# and its restore are printed as ratios to a plain TRUNCATE.  A kept column
# does copy its values, with their key: a
# quarantined DROP COLUMN and its restore, beside a plain DROP COLUMN, for
# tables of 10 thousand and 1 million rows.  A DELETE and an UPDATE without
# WHERE (kept under quarantine_drops = 'all', as a confirmed agent's are) are
# timed beside the plain statements, for tables of 100 thousand rows; each
# runs in a transaction that is rolled back, so every round has the same rows.
# The rollback does not take back the WAL and the files written: a kept
# DELETE's copy of its rows (pages written straight into the kept table's
# file, WAL-logged) about doubles the WAL the DELETE itself writes, and that
# WAL is most of what keeping adds (docs/quarantine.md).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh

SIZES=${BENCH_QUARANTINE_ROWS:-"10000 10000000"}
COLUMN_SIZES=${BENCH_COLUMN_ROWS:-"10000 1000000"}
ROWS_SIZES=${BENCH_ROWS_ROWS:-"100000"}
REPEAT=${BENCH_REPEAT:-3}
init_cluster
start_server agentguard
psql_q -c 'CREATE EXTENSION agentguard' postgres

ms() { # SQL -> elapsed milliseconds of its last statement
	psql_q -c '\timing on' -c "$1" postgres | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n 1
}
in_rollback_ms() { # setting SQL -> elapsed milliseconds of SQL, run in a transaction rolled back
	psql_q -c "VACUUM" -c "SET agentguard.quarantine_drops = '$1'" -c '\timing on' -c 'BEGIN' -c "$2" -c 'ROLLBACK' postgres |
		sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | sed -n 2p
}
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
make_table() { # name rows
	psql_q -c "CREATE TABLE $1 (id bigint PRIMARY KEY, payload text);
		INSERT INTO $1 SELECT g, md5(g::text) FROM generate_series(1, $2) g;
		CHECKPOINT;" postgres >/dev/null
}

print_rows() { # rows baseline-times (variable label)...
	local rows=$1 base value
	base=$(echo "$2" | median)
	shift 2
	while [ $# -gt 0 ]; do
		value=$(echo "${!1}" | median)
		printf '%-12s %-22s %12.2f %8.2f\n' "$rows" "$2" "$value" "$(echo "$value / $base" | bc -l)"
		shift 2
	done
}

printf '\n%-12s %-22s %12s %8s\n' rows operation "ms (median)" ratio
for rows in $SIZES; do
	plain="" quarantine="" restore=""
	make_table "keep_$rows" "$rows"
	for i in $(seq "$REPEAT"); do
		quarantine+="$(ms "SET agentguard.quarantine_drops = 'all'; DROP TABLE keep_$rows") "
		restore+="$(ms "SELECT agentguard.restore(max(id)) FROM agentguard.quarantine") "
	done
	# a plain DROP needs a fresh table each time; big ones are made once
	plain_runs=$REPEAT
	[ "$rows" -gt 1000000 ] && plain_runs=1
	for i in $(seq "$plain_runs"); do
		make_table "gone_$rows" "$rows"
		plain+="$(ms "SET agentguard.quarantine_drops = 'off'; DROP TABLE gone_$rows") "
	done
	print_rows "$rows" "$plain" plain "DROP, destroyed" quarantine "DROP, quarantined" restore "restore"

	# a quarantined TRUNCATE's restore puts the rows back for the next round
	truncated="" truncate_restore="" plain=""
	for i in $(seq "$REPEAT"); do
		truncated+="$(ms "SET agentguard.quarantine_drops = 'all'; TRUNCATE keep_$rows") "
		truncate_restore+="$(ms "SELECT agentguard.restore(max(id)) FROM agentguard.quarantine") "
	done
	for i in $(seq "$plain_runs"); do
		make_table "gone_$rows" "$rows"
		plain+="$(ms "SET agentguard.quarantine_drops = 'off'; TRUNCATE gone_$rows") "
		psql_q -c "DROP TABLE gone_$rows" postgres >/dev/null
	done
	print_rows "$rows" "$plain" plain "TRUNCATE, destroyed" truncated "TRUNCATE, quarantined" \
		truncate_restore "restore"
	psql_q -c "DROP TABLE keep_$rows" postgres >/dev/null
done

# a column's values are copied beside the key; the plain DROP COLUMN only
# marks the column dropped, so it is the same for any size
for rows in $COLUMN_SIZES; do
	plain="" quarantine="" restore=""
	make_table "cols_$rows" "$rows"
	for i in $(seq "$REPEAT"); do
		quarantine+="$(ms "SET agentguard.quarantine_drops = 'all'; ALTER TABLE cols_$rows DROP COLUMN payload") "
		restore+="$(ms "SELECT agentguard.restore(max(id)) FROM agentguard.quarantine") "
		plain+="$(ms "SET agentguard.quarantine_drops = 'off'; ALTER TABLE cols_$rows ADD COLUMN spare text;
			ALTER TABLE cols_$rows DROP COLUMN spare") "
	done
	print_rows "$rows" "$plain" plain "DROP COLUMN, destroyed" quarantine "DROP COLUMN, quarantined" \
		restore "restore"
	psql_q -c "DROP TABLE cols_$rows" postgres >/dev/null
done

# a kept DELETE or UPDATE copies the rows it changes once, after it has run
for rows in $ROWS_SIZES; do
	make_table "dml_$rows" "$rows"
	for statement in "DELETE FROM dml_$rows" "UPDATE dml_$rows SET payload = payload || 'x'"; do
		plain="" kept=""
		for i in $(seq "$REPEAT"); do
			plain+="$(in_rollback_ms off "$statement") "
			kept+="$(in_rollback_ms all "$statement") "
		done
		print_rows "$rows" "$plain" plain "${statement%% *}, destroyed" kept "${statement%% *}, kept"
	done
	psql_q -c "DROP TABLE dml_$rows" postgres >/dev/null
done
