/*
 * Migration tools run by an agent through their own command lines, as
 * installed from npm: knex, sequelize-cli and TypeORM, each in a database of
 * its own that the agent owns.  Migrating up creates tables, adds columns and
 * inserts rows, and runs without any approval.  Migrating down drops tables
 * that hold rows: it is refused with nothing changed, neither the tables nor
 * the tool's own bookkeeping; a DBA signs the request the refusal names and
 * confirms it; the agent runs the same command again, and the dropped tables
 * are kept in quarantine.  The migrations are in test/migrations/.
 */
'use strict';

const path = require('path');
const {Client} = require('pg');
const {
	check, checkEqual, run, mustRun, agentguard, tmp, startCluster, requestCodeIn, signAndConfirm, runTest,
} = require('../lib/harness');

const bin = name => path.join(__dirname, '..', 'node_modules', '.bin', name);
const fixtures = path.join(__dirname, '..', 'migrations');

let port;
let keyFile;
const clients = [];

async function connect(user, database) {
	const c = new Client({host: tmp, port, user, database});
	c.on('error', () => {});	/* the cluster stops under it at the end */
	await c.connect();
	clients.push(c);
	return c;
}

/*
 * A database for one tool, owned by the agent, with agentguard's functions
 * and the DBA's key, since confirmations and signers live in each database;
 * returns a DBA's session in it
 */
async function freshDatabase(dba, name, publicKey) {
	await dba.query(`CREATE DATABASE ${name} OWNER agent`);
	const c = await connect('postgres', name);
	await c.query('CREATE EXTENSION agentguard');
	await c.query('SELECT agentguard.add_signer($1, $2)', ['dba', publicKey]);
	return c;
}

/*
 * Some tools colour their output whatever they are told when they believe
 * they run under a CI service (TypeORM's query log did on the CI machine), so
 * what is matched is the text without its terminal escapes.
 */
function withoutColour(text) {
	return text.replace(/\x1b\[[0-9;]*m/g, '');
}

/*
 * Runs a tool's command line as the agent.  The connection comes from the
 * libpq variables, which the tools' configurations in test/migrations read;
 * the caller's own PG* variables are left out so they cannot point it
 * elsewhere, and colour is asked off.  Returns the status and everything it printed.
 */
function tool(database, name, args) {
	const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PG')));
	Object.assign(env, {PGHOST: tmp, PGPORT: String(port), PGUSER: 'agent', PGDATABASE: database, NO_COLOR: '1', FORCE_COLOR: '0'});
	const r = run(bin(name), args, {env, cwd: path.join(__dirname, '..', '..')});
	return {status: r.status, out: withoutColour(`${r.stdout}\n${r.stderr}`)};
}

/*
 * Each table's rows (count and checksum), or that it is absent: what a
 * refusal must leave as it was.  Rows are compared as text, so a column
 * dropped or added shows too.
 */
async function snapshot(c, tables) {
	const parts = [];
	for (const t of tables) {
		const {present} = (await c.query('SELECT to_regclass($1) IS NOT NULL AS present', [`public.${c.escapeIdentifier(t)}`])).rows[0];
		if (!present) {
			parts.push(`${t}: absent`);
			continue;
		}
		const {n, h} = (await c.query(`SELECT count(*) AS n, md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) AS h
			FROM public.${c.escapeIdentifier(t)} x`)).rows[0];
		parts.push(`${t}: ${n} ${h}`);
	}
	return parts.join('; ');
}

/* the same, with the row counts only */
const rowCounts = async (c, tables) => (await snapshot(c, tables)).replace(/ [0-9a-f]{32}/g, '');

const count = async (c, sql) => Number((await c.query(sql)).rows[0].count);

/*
 * The request a refusal in this database left for the DBA, as
 * "agentguard requests" lists it (newest first): the way to the code when
 * the tool does not print the error's DETAIL line
 */
function listedRequest(database) {
	const r = mustRun(agentguard, ['requests', '--no-password', `host=${tmp} port=${port} dbname=${database} user=postgres`]);
	for (const block of r.stdout.split(/\n\s*\n/)) {
		const db = /^database: +(\S+)$/m.exec(block);
		const code = /^request: +(\S+)$/m.exec(block);
		if (db && db[1] === database && code)
			return {code: code[1], statement: (/^statement: +(.*)$/m.exec(block) || [])[1]};
	}
	return {code: null, statement: null};
}

/*
 * The tool's run must have been refused by agentguard at the given
 * statement: its output says so, and the request for that statement is the
 * newest one waiting.  Returns the request's code.
 */
function refusedAt(label, database, r, message, statement, {printsCode}) {
	check(`${label} fails`, r.status !== 0, r.out);
	check(`${label}: agentguard's refusal is shown`, message.test(r.out), r.out);
	const listed = listedRequest(database);
	checkEqual(`${label}: the request waiting is for the statement refused`, listed.statement, statement);
	if (printsCode)
		checkEqual(`${label}: the tool prints the request code, the one waiting`, requestCodeIn(r.out), listed.code);
	return listed.code;
}

/* the tables in quarantine and how many rows each kept there */
async function quarantined(c) {
	const entries = (await c.query(`SELECT kind, original_schema, original_name, quarantined_as
		FROM agentguard.quarantine ORDER BY id`)).rows;
	const shown = [];
	for (const e of entries) {
		const rows = await count(c, `SELECT count(*) FROM ${e.quarantined_as}`);
		shown.push(`${e.kind} ${e.original_schema}.${e.original_name} (${rows} rows)`);
	}
	return shown.join('; ');
}

/*
 * knex.  migrate:latest runs the whole batch, lock included, in one
 * transaction.  migrate:rollback does not: it takes the lock in a
 * transaction of its own, runs each migration's down() in its own
 * transaction, deletes its knex_migrations row after that commits, and on an
 * error releases the lock with "UPDATE knex_migrations_lock SET is_locked =
 * 0", one row without WHERE, which agentguard lets through.  So a refusal
 * undoes the migration it stopped, the lock is released, and migrations of
 * the batch undone before it stay undone.
 */
async function knex(dba, publicKey) {
	const db = await freshDatabase(dba, 'mig_knex', publicKey);
	const knexfile = ['--knexfile', path.join(fixtures, 'knex', 'knexfile.js')];
	const tables = ['customers', 'orders', 'knex_migrations'];
	const lock = async () => (await db.query('SELECT string_agg(is_locked::text, \',\') AS l FROM knex_migrations_lock')).rows[0].l;
	const bookkeeping = async () => (await db.query(
		'SELECT string_agg(name || \' \' || batch, \', \' ORDER BY id) AS b FROM knex_migrations')).rows[0].b;

	let r = tool('mig_knex', 'knex', [...knexfile, 'migrate:latest']);
	check('knex migrate:latest as the agent runs', r.status === 0 && /Batch 1 run: 2 migrations/.test(r.out), r.out);
	checkEqual('knex: the tables and rows are there', await rowCounts(db, ['customers', 'orders']),
		'customers: 5; orders: 8');
	checkEqual('knex: with the added column', await count(db, `SELECT count(*) FROM information_schema.columns
		WHERE table_name = 'customers' AND column_name = 'email'`), 1);
	checkEqual('knex: the batch is recorded', await bookkeeping(),
		'20240101000000_customers.js 1, 20240102000000_orders.js 1');
	checkEqual('knex: its lock is released (the one-row UPDATE without WHERE runs)', await lock(), '0');

	// the rollback's first destructive statement is refused; down() of the
	// newest migration rolls back, and knex releases its lock
	const before = await snapshot(db, tables);
	r = tool('mig_knex', 'knex', [...knexfile, 'migrate:rollback']);
	const dropOrders = refusedAt('knex migrate:rollback', 'mig_knex', r,
		/agentguard: refused to drop table public\.orders/, 'drop table "orders"', {printsCode: false});
	check('knex prints the message only, not the DETAIL with the code: the DBA finds it with agentguard requests',
		requestCodeIn(r.out) === null, r.out);
	checkEqual('knex: nothing changed, bookkeeping included', await snapshot(db, tables), before);
	checkEqual('knex: the lock is released after the refusal', await lock(), '0');

	// the DBA approves that one statement; the retry gets past it and is
	// refused at the next one, in the same transaction, which rolls back the
	// DROP too, and with it the use of the approval
	await signAndConfirm(db, keyFile, dropOrders);
	r = tool('mig_knex', 'knex', [...knexfile, 'migrate:rollback']);
	const dropEmail = refusedAt('knex migrate:rollback, the DROP approved', 'mig_knex', r,
		/agentguard: refused to drop column public\.customers\.email/, 'alter table "customers" drop column "email"',
		{printsCode: false});
	checkEqual('knex: nothing changed, the approved DROP rolled back', await snapshot(db, tables), before);
	checkEqual('knex: and its approval is still unused', await count(db,
		'SELECT count(*) FROM agentguard.confirmations WHERE used_at IS NULL'), 1);
	checkEqual('knex: the lock is released', await lock(), '0');

	// with both approved, the newest migration's down() commits and knex
	// deletes its row; the older one's is refused: half the batch is undone,
	// as knex does whenever a rollback fails part-way
	await signAndConfirm(db, keyFile, dropEmail);
	r = tool('mig_knex', 'knex', [...knexfile, 'migrate:rollback']);
	const dropCustomers = refusedAt('knex migrate:rollback, both approved', 'mig_knex', r,
		/agentguard: refused to drop table public\.customers/, 'drop table "customers"', {printsCode: false});
	checkEqual('knex: the newest migration is undone, the older one is not', await bookkeeping(),
		'20240101000000_customers.js 1');
	checkEqual('knex: orders is gone, customers keeps its rows without the column',
		await rowCounts(db, ['customers', 'orders']),
		'customers: 5; orders: absent');
	checkEqual('knex: orders is in quarantine with its rows, and the column with its values', await quarantined(db),
		'table public.orders (8 rows); column public.customers.email (5 rows)');
	checkEqual('knex: the lock is released', await lock(), '0');

	await signAndConfirm(db, keyFile, dropCustomers);
	r = tool('mig_knex', 'knex', [...knexfile, 'migrate:rollback']);
	check('knex migrate:rollback, the last DROP approved, runs', r.status === 0 && /Batch 1 rolled back: 1 migrations/.test(r.out), r.out);
	checkEqual('knex: the batch is gone', await bookkeeping(), null);
	checkEqual('knex: both tables are gone', await snapshot(db, ['customers', 'orders']),
		'customers: absent; orders: absent');
	checkEqual('knex: all three are in quarantine with their rows', await quarantined(db),
		'table public.orders (8 rows); column public.customers.email (5 rows); table public.customers (5 rows)');
	checkEqual('knex: every approval was used once', await count(db,
		'SELECT count(*) FROM agentguard.confirmations WHERE used_at IS NOT NULL'), 3);
	checkEqual('knex: the lock is released', await lock(), '0');
}

/*
 * sequelize-cli.  It runs a migration without a transaction of its own and
 * records it in "SequelizeMeta" after up() or down() returns; the refused
 * DROP fails alone, so the row stays.  Its error output includes the DETAIL
 * line, so the agent sees the request code.
 */
async function sequelize(dba, publicKey) {
	const db = await freshDatabase(dba, 'mig_sequelize', publicKey);
	const args = ['--config', path.join(fixtures, 'sequelize', 'config.js'),
		'--migrations-path', path.join(fixtures, 'sequelize', 'migrations'), '--env', 'test'];
	const tables = ['products', 'SequelizeMeta'];

	let r = tool('mig_sequelize', 'sequelize', ['db:migrate', ...args]);
	check('sequelize db:migrate as the agent runs', r.status === 0 && /create-products: migrated/.test(r.out), r.out);
	checkEqual('sequelize: the rows are there, with the added column', await count(db,
		'SELECT count(*) FROM products WHERE price > 0'), 6);
	checkEqual('sequelize: the migration is recorded', await count(db, 'SELECT count(*) FROM "SequelizeMeta"'), 1);

	const before = await snapshot(db, tables);
	r = tool('mig_sequelize', 'sequelize', ['db:migrate:undo', ...args]);
	const code = refusedAt('sequelize db:migrate:undo', 'mig_sequelize', r,
		/agentguard: refused to drop table public\.products/, 'DROP TABLE IF EXISTS "products"', {printsCode: true});
	checkEqual('sequelize: nothing changed, SequelizeMeta included', await snapshot(db, tables), before);

	await signAndConfirm(db, keyFile, code);
	r = tool('mig_sequelize', 'sequelize', ['db:migrate:undo', ...args]);
	check('sequelize db:migrate:undo, approved, runs', r.status === 0 && /create-products: reverted/.test(r.out), r.out);
	checkEqual('sequelize: the table is gone and so is its record', await rowCounts(db, tables),
		'products: absent; SequelizeMeta: 0');
	checkEqual('sequelize: the table is in quarantine with its rows', await quarantined(db),
		'table public.products (6 rows)');
}

/*
 * TypeORM.  migration:run and migration:revert wrap the migrations and the
 * "migrations" table's row in one transaction; the refusal rolls it all
 * back.  Its CLI prints the whole error object, DETAIL included.
 */
async function typeorm(dba, publicKey) {
	const db = await freshDatabase(dba, 'mig_typeorm', publicKey);
	const dataSource = ['-d', path.join(fixtures, 'typeorm', 'datasource.js')];
	const tables = ['invoices', 'migrations'];

	let r = tool('mig_typeorm', 'typeorm', ['migration:run', ...dataSource]);
	check('typeorm migration:run as the agent runs',
		r.status === 0 && /Migration Invoices1704067200000 has been executed successfully/.test(r.out), r.out);
	checkEqual('typeorm: the rows are there, with the added column', await count(db,
		'SELECT count(*) FROM invoices WHERE total > 0'), 7);
	checkEqual('typeorm: the migration is recorded', await count(db, 'SELECT count(*) FROM migrations'), 1);

	const before = await snapshot(db, tables);
	r = tool('mig_typeorm', 'typeorm', ['migration:revert', ...dataSource]);
	const code = refusedAt('typeorm migration:revert', 'mig_typeorm', r,
		/agentguard: refused to drop table public\.invoices/, 'DROP TABLE "invoices"', {printsCode: true});
	check('typeorm: its transaction rolled back', /query: ROLLBACK/.test(r.out), r.out);
	checkEqual('typeorm: nothing changed, the migrations table included', await snapshot(db, tables), before);

	await signAndConfirm(db, keyFile, code);
	r = tool('mig_typeorm', 'typeorm', ['migration:revert', ...dataSource]);
	check('typeorm migration:revert, approved, runs',
		r.status === 0 && /Migration Invoices1704067200000 has been reverted successfully/.test(r.out), r.out);
	checkEqual('typeorm: the table is gone and so is its record', await rowCounts(db, tables),
		'invoices: absent; migrations: 0');
	checkEqual('typeorm: the table is in quarantine with its rows', await quarantined(db),
		'table public.invoices (7 rows)');
}

async function main() {
	port = await startCluster('staging');
	const dba = await connect('postgres', 'postgres');
	keyFile = path.join(tmp, 'dba.pem');
	const publicKey = mustRun(agentguard, ['keygen', '--out', keyFile]).stdout.trim();
	await dba.query(`CREATE EXTENSION agentguard;
		CREATE ROLE agent LOGIN;
		SECURITY LABEL FOR agentguard ON ROLE agent IS 'agent'`);

	await knex(dba, publicKey);
	await sequelize(dba, publicKey);
	await typeorm(dba, publicKey);
}

runTest(main, {
	cleanup: async () => {
		for (const c of clients)
			await c.end().catch(() => {});
	},
});
