#!/bin/bash
# Real clients as agents, through node-postgres and the extended query
# protocol: a framework's database reset refused, approved, quarantined and
# restored; and migration tools through their own command lines (knex,
# sequelize-cli, TypeORM), migrating up freely and down only when approved.
# Needs Node.js 20 or later; without it, says so and fails, so the count
# never shrinks in silence.
set -uo pipefail
cd "$(dirname "$0")/.."

cannot_run() {
	echo "node test cannot run: $*" >&2
	exit 1
}
. scripts/node-deps.sh

status=0
for test in test/node/*.js; do
	node "$test" || status=1
done
exit $status
