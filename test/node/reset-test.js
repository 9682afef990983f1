/*
 * Statements an ORM sends with parameters (the extended query protocol), and
 * a framework's database reset, run by an agent through node-postgres:
 * "DROP SCHEMA public CASCADE; CREATE SCHEMA public;".  It is refused; a DBA
 * signs the request with the agentguard program and confirms it; the agent
 * runs the reset again, which now quarantines the schema; the DBA restores
 * it, and every row is back.
 */
'use strict';

const path = require('path');
const {Client} = require('pg');
const {
	check, checkEqual, mustRun, agentguard, tmp, startCluster, errorOf, requestCode, runTest,
} = require('../lib/harness');

const state = `
	SELECT string_agg(t || ':' || n, ' ' ORDER BY t) FROM (
		SELECT 'customers' AS t, count(*) || ':' || md5(string_agg(c::text, ',' ORDER BY id)) AS n FROM public.customers c
		UNION ALL
		SELECT 'bookings', count(*) || ':' || md5(string_agg(b::text, ',' ORDER BY id)) FROM public.bookings b
		UNION ALL
		SELECT 'objects', count(*)::text FROM pg_class WHERE relnamespace = 'public'::regnamespace
		UNION ALL
		SELECT 'views', string_agg(viewname, ',' ORDER BY viewname) FROM pg_views WHERE schemaname = 'public'
		UNION ALL
		SELECT 'report view', count(*)::text FROM reports.daily
	) s`;

const clients = [];

async function main() {
	const port = await startCluster('production');
	const connect = async (user, options) => {
		const c = new Client({host: tmp, port, user, database: 'postgres', options});
		c.on('error', () => {});	/* the cluster stops under it at the end */
		await c.connect();
		clients.push(c);
		return c;
	};
	const dba = await connect('postgres');
	const keyFile = path.join(tmp, 'dba.pem');
	const publicKey = mustRun(agentguard, ['keygen', '--out', keyFile]).stdout.trim();

	await dba.query(`
		CREATE EXTENSION agentguard;
		CREATE ROLE app_agent LOGIN;
		SECURITY LABEL FOR agentguard ON ROLE app_agent IS 'agent';
		ALTER SCHEMA public OWNER TO app_agent;
		GRANT CREATE ON DATABASE postgres TO app_agent;
		CREATE SCHEMA reports AUTHORIZATION app_agent;
	`);
	await dba.query('SELECT agentguard.add_signer($1, $2)', ['dba', publicKey]);

	// the application's data, made by the agent's own migrations
	const agent = await connect('app_agent');
	await agent.query(`
		CREATE TABLE public.customers (id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE);
		CREATE TABLE public.bookings (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			customer_id int NOT NULL REFERENCES public.customers ON DELETE CASCADE,
			car text, starts date, ends date CHECK (ends >= starts));
		CREATE INDEX bookings_by_customer ON public.bookings (customer_id);
		CREATE VIEW public.active AS SELECT * FROM public.bookings WHERE ends >= date '2026-05-01';
		CREATE VIEW reports.daily AS SELECT starts, count(*) FROM public.bookings GROUP BY starts;
		INSERT INTO public.customers (name, email)
			SELECT 'customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, 500) g;
		INSERT INTO public.bookings (customer_id, car, starts, ends)
			SELECT 1 + g % 500, 'car ' || (g % 37), date '2026-04-01' + g % 60, date '2026-04-03' + g % 60
			FROM generate_series(1, 3000) g;
	`);
	const before = (await dba.query(state)).rows[0].string_agg;

	// the extended query protocol, as an ORM sends statements with parameters
	let err = await errorOf(agent, {text: 'UPDATE public.customers SET name = $1', values: ['x']});
	check('an UPDATE with parameters and no WHERE is refused',
		err && err.code === '42501' && /^agentguard: refused to update public\.customers/.test(err.message),
		err && err.message);
	err = await errorOf(agent, {text: 'DELETE FROM public.bookings WHERE customer_id > $1', values: [0]});
	check('a DELETE whose parameter reaches all 3000 rows is refused by the row limit',
		err && err.code === '42501' && /^agentguard: /.test(err.message), err && err.message);
	err = await errorOf(agent, {name: 'drop_customers', text: 'DROP TABLE public.customers CASCADE'});
	check('a named prepared DROP is refused',
		err && err.code === '42501' && /^agentguard: refused to drop table public\.customers/.test(err.message),
		err && err.message);
	err = await errorOf(agent, {text: 'UPDATE public.customers SET name = $1 WHERE id = $2', values: ['customer 1', 1]});
	check('a bounded UPDATE with parameters runs', err === null, err && err.message);
	checkEqual('nothing changed', (await dba.query(state)).rows[0].string_agg, before);

	// the reset, as a framework sends it: one statement at a time
	const reset = 'DROP SCHEMA public CASCADE';
	err = await errorOf(agent, reset);
	check('the reset is refused', err && err.code === '42501' && /^agentguard: refused to drop schema public/.test(err.message),
		err && err.message);
	const code = requestCode(err);
	check('with a request code', code !== null, err && err.detail);
	checkEqual('nothing changed', (await dba.query(state)).rows[0].string_agg, before);

	// the DBA reads the request, signs it, and confirms it for the agent
	const shown = mustRun(agentguard, ['inspect', code]).stdout;
	check('inspect shows the environment first', /^environment: production$/m.test(shown.split('\n')[0]), shown);
	check('and the statement', /^statement: +DROP SCHEMA public CASCADE$/m.test(shown), shown);
	const token = mustRun(agentguard, ['sign', '--key', keyFile, '--ttl', '10m', code]).stdout.trim();
	await dba.query('SELECT agentguard.confirm($1)', [token]);

	// the agent retries: the schema goes to quarantine, and it makes a new one
	err = await errorOf(agent, reset);
	check('the confirmed reset runs', err === null, err && err.message);
	err = await errorOf(agent, 'CREATE SCHEMA public');
	check('and the framework makes a new public schema', err === null, err && err.message);
	err = await errorOf(agent, 'CREATE TABLE public.customers (id int)');
	check('and new tables in it', err === null, err && err.message);
	const entries = (await dba.query(`SELECT id, kind, original_name FROM agentguard.quarantine`)).rows;
	checkEqual('one quarantine entry, a schema', entries.map(e => `${e.kind} ${e.original_name}`).join(';'), 'schema public');
	const gone = (await dba.query(`SELECT to_regclass('reports.daily') IS NULL AS gone`)).rows[0].gone;
	check('the view in another schema went with it', gone === true);
	err = await errorOf(agent, reset);
	check('running the reset again is refused: the token was used', err && /refused to drop schema public/.test(err.message),
		err && err.message);

	// the DBA puts it back: the new empty schema goes, the old one returns
	await dba.query('DROP SCHEMA public CASCADE');
	const restored = (await dba.query('SELECT agentguard.restore($1)', [entries[0].id])).rows[0].restore;
	checkEqual('restore says what came back', restored, 'restored public');
	checkEqual('every row, object and view is back', (await dba.query(state)).rows[0].string_agg, before);
	const owner = (await dba.query(`SELECT pg_get_userbyid(nspowner) AS o FROM pg_namespace WHERE nspname = 'public'`)).rows[0].o;
	checkEqual('with its owner', owner, 'app_agent');
	err = await errorOf(agent, `INSERT INTO public.bookings (customer_id, car, starts, ends) VALUES (1, 'x', '2026-01-01', '2026-01-02')`);
	check('and the application works on it again', err === null, err && err.message);

}

runTest(main, {
	cleanup: async () => {
		for (const c of clients)
			await c.end().catch(() => {});
	},
});
