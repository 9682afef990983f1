/*
 * Shared by the Node.js tests: TAP-like reporting that ends in "N passed,
 * N failed", running programs, and a throwaway cluster with agentguard
 * preloaded (run by "postgres" when the test runs as root, since the server
 * will not run as root).
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const net = require('net');
const {spawnSync} = require('child_process');

/* ---- reporting: TAP-like lines, then "N passed, N failed" ---- */

let passed = 0;
let failed = 0;
let n = 0;

function check(name, ok, info) {
	n++;
	if (ok) {
		passed++;
		console.log(`ok ${n} - ${name}`);
	} else {
		failed++;
		console.log(`not ok ${n} - ${name}`);
		if (info !== undefined)
			for (const line of String(info).split('\n'))
				console.log(`#   ${line}`);
	}
	return ok;
}

function checkEqual(name, got, want) {
	return check(name, got === want, `got:  ${JSON.stringify(got)}\nwant: ${JSON.stringify(want)}`);
}

/* ---- processes ---- */

function run(cmd, args, opts = {}) {
	const r = spawnSync(cmd, args, {encoding: 'utf8', ...opts});
	if (r.error)
		throw new Error(`${cmd}: ${r.error.message}`);
	return {status: r.status, stdout: r.stdout, stderr: r.stderr};
}

function mustRun(cmd, args, opts) {
	const r = run(cmd, args, opts);
	if (r.status !== 0)
		throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
	return r;
}

const isRoot = process.getuid && process.getuid() === 0;

/* the server will not run as root: as root, run it as "postgres" */
function asServerUser(cmd, args) {
	return isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

function freePort() {
	return new Promise((resolve, reject) => {
		const srv = net.createServer();
		srv.unref();
		srv.on('error', reject);
		srv.listen(0, '127.0.0.1', () => {
			const {port} = srv.address();
			srv.close(() => resolve(port));
		});
	});
}

const sleep = ms => new Promise(r => setTimeout(r, ms));

/* ---- the cluster ---- */

const pgConfig = process.env.PG_CONFIG || 'pg_config';
const bindir = mustRun(pgConfig, ['--bindir']).stdout.trim();
const agentguard = path.join(bindir, 'agentguard');

function serverBin(name) {
	for (const dir of [bindir, '/usr/lib/postgresql/15/bin']) {
		const p = path.join(dir, name);
		if (fs.existsSync(p))
			return p;
	}
	throw new Error(`cannot find ${name} in ${bindir}`);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'agentguard-test-'));
const datadir = path.join(tmp, 'data');
const logfile = path.join(tmp, 'server.log');
let serverStarted = false;

async function startCluster(environment = 'staging') {
	if (isRoot) {
		const uid = Number(mustRun('id', ['-u', 'postgres']).stdout.trim());
		const gid = Number(mustRun('id', ['-g', 'postgres']).stdout.trim());
		fs.chownSync(tmp, uid, gid);
	}
	fs.chmodSync(tmp, 0o755);
	let [cmd, args] = asServerUser(serverBin('initdb'),
		['-D', datadir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
	mustRun(cmd, args);
	const port = await freePort();
	fs.appendFileSync(path.join(datadir, 'postgresql.conf'), [
		`port = ${port}`,
		"listen_addresses = ''",
		`unix_socket_directories = '${tmp}'`,
		"shared_preload_libraries = 'agentguard'",
		`agentguard.environment = '${environment}'`,
		'fsync = off',
		'',
	].join('\n'));
	[cmd, args] = asServerUser(serverBin('pg_ctl'), ['-D', datadir, '-l', logfile, '-w', '-t', '60', 'start']);
	mustRun(cmd, args);
	serverStarted = true;
	return port;
}

function stopCluster() {
	if (!serverStarted)
		return;
	const [cmd, args] = asServerUser(serverBin('pg_ctl'), ['-D', datadir, '-m', 'immediate', '-w', 'stop']);
	run(cmd, args);
	serverStarted = false;
}

/* the error a statement fails with, or null */
async function errorOf(client, sql) {
	try {
		await client.query(sql);
		return null;
	} catch (e) {
		return e;
	}
}

function requestCode(err) {
	const m = err && err.detail && /^request: (\S+)$/m.exec(err.detail);
	return m ? m[1] : null;
}

/*
 * The request code in a program's output, for clients that print the DETAIL
 * line of the error themselves (on its own line, or inside a dump of the
 * error object, where it ends at the quoted "\n"); null if none
 */
function requestCodeIn(text) {
	const m = /request: (agr1\.[A-Za-z0-9_-]+)/.exec(text || '');
	return m ? m[1] : null;
}

/*
 * What a DBA does to approve a request: sign its code with the agentguard
 * program and the key, then confirm the token in the refusal's database
 * (client is a DBA's session there)
 */
async function signAndConfirm(client, keyFile, code) {
	const token = mustRun(agentguard, ['sign', '--key', keyFile, '--ttl', '10m', code]).stdout.trim();
	await client.query('SELECT agentguard.confirm($1)', [token]);
}


function summary() {
	console.log(`${passed} passed, ${failed} failed`);
	return failed === 0 && passed > 0 ? 0 : 1;
}

/*
 * Runs a test's main(): an error that escapes it is a failed check, shown
 * with the end of the server log; then cleanup(), the cluster stopped, the
 * temporary directory removed (unless keep), and the summary, whose verdict
 * is the exit status.
 */
function runTest(main, {cleanup = async () => {}, keep = false} = {}) {
	return main()
		.catch(e => {
			check('the test ran to the end', false, e && e.stack ? e.stack : e);
			if (fs.existsSync(logfile))
				console.log('# server log (last lines):\n' +
					fs.readFileSync(logfile, 'utf8').split('\n').slice(-30).map(l => '#   ' + l).join('\n'));
		})
		.finally(async () => {
			await cleanup();
			stopCluster();
			if (keep)
				console.log(`# kept ${tmp}`);
			else
				fs.rmSync(tmp, {recursive: true, force: true});
			process.exitCode = summary();
		});
}

module.exports = {
	check, checkEqual, run, mustRun, isRoot, sleep, bindir, agentguard,
	tmp, datadir, logfile, startCluster, stopCluster, errorOf, requestCode, requestCodeIn, signAndConfirm,
	runTest,
};
