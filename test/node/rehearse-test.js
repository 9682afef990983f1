/*
 * A migration rehearsed through knex's own command line, as an agent runs
 * it: with AGENTGUARD_REHEARSE set, the migration's destructive steps (a
 * DROP COLUMN, a DROP TABLE, a DELETE without WHERE) run in a rehearsal, and
 * knex's commit of it fails with the batch, leaving nothing changed, knex's
 * bookkeeping included.  The DBA approves the batch, the newest refusal,
 * with agentguard approve; the agent runs the same command without the
 * rehearsal, and every step runs, once.  The migrations are in
 * test/migrations/knex-rehearse/.
 */
'use strict';

const path = require('path');
const {Client} = require('pg');
const {check, checkEqual, run, mustRun, agentguard, tmp, startCluster, runTest} = require('../lib/harness');

const knexBin = path.join(__dirname, '..', 'node_modules', '.bin', 'knex');
const knexfile = ['--knexfile', path.join(__dirname, '..', 'migrations', 'knex-rehearse', 'knexfile.js')];

let port;
const clients = [];

async function connect(user, database) {
	const c = new Client({host: tmp, port, user, database});
	c.on('error', () => {});	/* the cluster stops under it at the end */
	await c.connect();
	clients.push(c);
	return c;
}

/* knex's command line as the agent; rehearse sets AGENTGUARD_REHEARSE */
function knex(args, rehearse) {
	const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PG') &&
		k !== 'AGENTGUARD_REHEARSE'));
	Object.assign(env, {PGHOST: tmp, PGPORT: String(port), PGUSER: 'agent', PGDATABASE: 'mig_rehearse',
		NO_COLOR: '1', FORCE_COLOR: '0'}, rehearse ? {AGENTGUARD_REHEARSE: '1'} : {});
	const r = run(knexBin, [...knexfile, ...args], {env, cwd: path.join(__dirname, '..', '..')});
	return {status: r.status, out: `${r.stdout}\n${r.stderr}`.replace(/\x1b\[[0-9;]*m/g, '')};
}

/* what the migration changes, as text: columns, tables, rows, bookkeeping */
async function state(db) {
	return (await db.query(`SELECT
		(SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns
		 WHERE table_name = 'accounts') AS accounts_columns,
		(SELECT count(*) FROM accounts) AS accounts,
		to_regclass('old_audit') IS NOT NULL AS old_audit,
		(SELECT count(*) FROM sessions) AS sessions,
		(SELECT string_agg(name, ',' ORDER BY id) FROM knex_migrations) AS migrated,
		(SELECT string_agg(is_locked::text, ',') FROM knex_migrations_lock) AS locked`)).rows[0];
}

async function main() {
	port = await startCluster('staging');
	const dba = await connect('postgres', 'postgres');
	const keyFile = path.join(tmp, 'dba.pem');
	const publicKey = mustRun(agentguard, ['keygen', '--out', keyFile]).stdout.trim();
	await dba.query(`CREATE EXTENSION agentguard;
		CREATE ROLE agent LOGIN;
		SECURITY LABEL FOR agentguard ON ROLE agent IS 'agent'`);
	await dba.query('CREATE DATABASE mig_rehearse OWNER agent');
	const db = await connect('postgres', 'mig_rehearse');
	await db.query('CREATE EXTENSION agentguard');
	await db.query('SELECT agentguard.add_signer($1, $2)', ['dba', publicKey]);

	let r = knex(['migrate:up'], false);
	check('knex migrate:up creates the tables', r.status === 0, r.out);
	const before = await state(db);
	checkEqual('before: the column, the table and the rows are there',
		JSON.stringify(before), JSON.stringify({accounts_columns: 'id,name,legacy_code', accounts: '6', old_audit: true,
			sessions: '4', migrated: '20240101000000_accounts.js', locked: '0'}));

	r = knex(['migrate:up'], true);
	check('the rehearsed migration fails at its commit', r.status !== 0 &&
		/agentguard: this transaction was a rehearsal and cannot commit; 3 statements in it need approval/.test(r.out), r.out);
	checkEqual('nothing changed, knex\'s bookkeeping included, and its lock is released',
		JSON.stringify(await state(db)), JSON.stringify(before));

	const listed = mustRun(agentguard, ['requests', '--no-password',
		`host=${tmp} port=${port} dbname=mig_rehearse user=postgres`]).stdout;
	check('agentguard requests lists the batch with its three statements',
		/^request: +agb1\./m.test(listed) && /alter table "accounts" drop column "legacy_code"/.test(listed) &&
		/drop table "old_audit"/.test(listed) && /delete from "sessions"/.test(listed), listed);

	const approved = run(agentguard, ['approve', '--yes', '--key', keyFile,
		`host=${tmp} port=${port} dbname=mig_rehearse user=postgres`]);
	check('agentguard approve confirms the batch, the newest refusal',
		approved.status === 0 && /^confirmed: role agent may run each of these 3 statements once/.test(approved.stdout),
		approved.stdout + approved.stderr);

	r = knex(['migrate:up'], false);
	check('the migration, run for real, commits', r.status === 0, r.out);
	checkEqual('every step ran', JSON.stringify(await state(db)), JSON.stringify({accounts_columns: 'id,name',
		accounts: '6', old_audit: false, sessions: '0',
		migrated: '20240101000000_accounts.js,20240102000000_cleanup.js', locked: '0'}));
	checkEqual('each statement used its approval once', JSON.stringify((await db.query(
		'SELECT count(*) FILTER (WHERE used_at IS NOT NULL) AS used, count(*) AS all FROM agentguard.confirmations')).rows[0]),
	JSON.stringify({used: '3', all: '3'}));
	checkEqual('what the migration destroyed is kept in quarantine', (await db.query(
		`SELECT string_agg(kind || ' ' || original_name, ', ' ORDER BY kind) AS q FROM agentguard.quarantine`)).rows[0].q,
	'column accounts.legacy_code, rows sessions, table old_audit');
}

runTest(main, {
	cleanup: async () => {
		for (const c of clients)
			await c.end().catch(() => {});
	},
});
