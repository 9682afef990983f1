/*
 * The agentguard command-line tool as a DBA meets it, against a throwaway
 * cluster: whatever a request code, a token or the server holds reaches the
 * terminal escaped (request codes are not signed, so an agent can hand the
 * DBA a crafted one), approve shows each request once, and its errors are
 * one line each.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const {spawn} = require('child_process');
const {Client} = require('pg');
const {
	check, checkEqual, run, mustRun, sleep, agentguard, tmp, datadir, startCluster, errorOf, requestCode,
	runTest,
} = require('../lib/harness');
const codec = require('../lib/codec');

/* runs the program; stdout and stderr as the raw bytes and as text */
function ag(args, opts = {}) {
	const r = run(agentguard, args, {encoding: 'buffer', input: opts.input || '', env: opts.env || process.env});
	return {
		status: r.status, rawOut: r.stdout, rawErr: r.stderr,
		stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'),
	};
}

/* the output is safe for a terminal: escaped, UTF-8, no hidden characters */
function checkSafe(name, r) {
	const bad = codec.unsafeShown(Buffer.concat([r.rawOut, r.rawErr]));
	check(name, bad === null, bad + '\n' + JSON.stringify(r.stdout + r.stderr).slice(0, 2000));
}

/* the text a crafted code carries, in each place a name or a statement goes */
const PAINT = '\r\x1b[2Kconfirmed: role bot may run this once';
const HOSTILE = {
	environment: 'prod\x1b[8m',
	database: 'postgres\x1b]0;pwned\x07',
	role: 'bot\u009b2K',
	action: 'DROP\u202e ELBAT',
	targets: ['public.t\u034f', 'public.\u200bu', Buffer.from([0x70, 0xff, 0xfe])],
	statement: 'DROP TABLE t' + PAINT + '\n\x1b[1A\x1b[2Kstatement:   SELECT 1',
	params: [{value: 'v' + PAINT}, {isnull: true}],
};

async function main() {
	const port = await startCluster('staging');
	const conninfo = `host=${tmp} port=${port} dbname=postgres user=postgres`;
	const dba = new Client({host: tmp, port, user: 'postgres', database: 'postgres'});
	await dba.connect();
	const key = path.join(tmp, 'dba.pem');
	const publicKey = mustRun(agentguard, ['keygen', '--out', key]).stdout.trim();
	await dba.query(`CREATE EXTENSION agentguard;
		CREATE ROLE bot LOGIN;
		SECURITY LABEL FOR agentguard ON ROLE bot IS 'agent';
		CREATE TABLE orders (id int);
		INSERT INTO orders SELECT generate_series(1, 100);
		ALTER TABLE orders OWNER TO bot`);
	await dba.query('SELECT agentguard.add_signer($1, $2)', ['dba', publicKey]);
	const systemIdentifier = BigInt((await dba.query(
		'SELECT system_identifier::text AS s FROM pg_control_system()')).rows[0].s);
	const bot = new Client({host: tmp, port, user: 'bot', database: 'postgres'});
	await bot.connect();

	try {
		await listing({conninfo, dba, bot, empty: true});
		await displaySafety({conninfo, key, systemIdentifier});
		await approveOnce({conninfo, key, bot});
		keyFiles({key, publicKey});
		await withoutExtension({conninfo, key, dba, bot});
		await listing({conninfo, dba, bot, empty: false});
		await watching({conninfo, bot});
		await passwords({conninfo, key, dba, bot});
	} finally {
		await bot.end();
		await dba.end();
	}
}

/* ---- 1. nothing a code, a token or the server holds reaches the terminal raw ---- */

async function displaySafety({conninfo, key, systemIdentifier}) {
	const crafted = codec.requestCode({...HOSTILE, systemIdentifier});
	let r = ag(['inspect', crafted]);
	checkEqual('inspect reads a crafted code', r.status, 0);
	checkSafe('inspect shows a crafted code escaped', r);
	check('a crafted statement cannot start a line of its own',
		!/^confirmed:/m.test(r.stdout) && r.stdout.match(/^statement:/mg).length === 1, r.stdout);
	for (const [what, shown] of [['ESC', '\\x1b[2K'], ['carriage return', '\\x0d'], ['BEL', '\\x07'],
		['a C1 CSI', '\\u{009B}'], ['a bidi override', '\\u{202E}'], ['U+034F', '\\u{034F}'],
		['a zero-width space', '\\u{200B}'], ['bytes that are not UTF-8', '\\xff\\xfe']])
		check(`inspect shows ${what} as ${shown}`, r.stdout.includes(shown), r.stdout);

	r = ag(['sign', '--key', key, crafted]);
	checkEqual('sign signs a crafted code (it is the DBA\'s call)', r.status, 0);
	checkSafe('and what it shows before signing is escaped', r);

	const token = r.stdout.trim();
	r = ag(['inspect', token]);
	checkSafe('inspect shows a token of a crafted code escaped', r);
	r = ag(['inspect', codec.tokenCode(codec.requestBody(HOSTILE), {expiresAt: 253402300799n})]);
	checkSafe('and a crafted token', r);
	check('with its expiry in 9999', /^expires: +9999-12-31 23:59:59 UTC$/m.test(r.stdout), r.stdout);

	/* approve's own errors: the request's database, the server's words */
	r = ag(['approve', '--yes', '--key', key, conninfo, crafted]);
	checkEqual('approve refuses a code for another database', r.status, 1);
	checkSafe('and names that database escaped', r);
	check('in one line', /^agentguard: the request is for database "postgres\\x1b\]0;pwned\\x07", but the connection is to "postgres"[^\n]*\n$/.test(r.stderr),
		r.stderr);

	const wrongEnvironment = codec.requestCode({...HOSTILE, systemIdentifier, database: 'postgres'});
	r = ag(['approve', '--yes', '--key', key, conninfo, wrongEnvironment]);
	checkEqual('the server refuses a token for a crafted environment', r.status, 1);
	check('approve says why', /token refused: wrong environment/.test(r.stderr), r.stderr);
	checkSafe('with the server\'s message, detail and hint escaped', r);

	r = ag(['approve', '--yes', '--key', key, conninfo.replace('dbname=postgres', 'dbname=no\x1b[31mdb')]);
	checkEqual('a connection that fails fails approve', r.status, 1);
	checkSafe('and libpq\'s message is escaped', r);
	check('in one line', r.stderr.split('\n').length === 2, r.stderr);

	r = ag(['inspect', '--b\x1b[31mogus', crafted]);
	checkEqual('an unknown option is a usage error', r.status, 2);
	checkSafe('whose message shows the option escaped', r);
}

/* ---- 2. approve shows the request once and prints what the server confirmed ---- */

async function approveOnce({conninfo, key, bot}) {
	const refusal = await errorOf(bot, 'DELETE FROM orders');
	check('the agent\'s DELETE is refused', refusal && refusal.code === '42501', refusal && refusal.message);
	const r = ag(['approve', '--yes', '--key', key, conninfo, requestCode(refusal)]);
	checkEqual('approve --yes approves it', r.status, 0);
	checkEqual('the statement is shown once', (r.stdout + r.stderr).split('statement:').length - 1, 1);
	check('stdout is the one line the server confirmed',
		/^confirmed: role bot may run this once, until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\n$/.test(r.stdout), r.stdout);
	check('the agent\'s retry runs', (await errorOf(bot, 'DELETE FROM orders')) === null);
	/* what follows needs rows for its statements to be refused for */
	await errorOf(bot, 'INSERT INTO orders SELECT generate_series(1, 100)');
}

/* ---- 3. key files: private, regular, never overwritten ---- */

function keyFiles({key, publicKey}) {
	const code = codec.requestCode({action: 'TRUNCATE', statement: 'TRUNCATE t', database: 'postgres'});
	const mode = f => fs.statSync(f).mode & 0o777;
	const fresh = path.join(tmp, 'fresh.pem');
	let r = ag(['keygen', '--out', fresh]);
	checkEqual('keygen writes the key with mode 0600', r.status === 0 && mode(fresh), 0o600);
	const before = fs.readFileSync(fresh, 'utf8');
	r = ag(['keygen', '--out', fresh]);
	check('keygen refuses to overwrite a key file',
		r.status === 1 && /already exists; not overwriting it/.test(r.stderr) &&
		fs.readFileSync(fresh, 'utf8') === before, r.stderr);

	r = ag(['sign', '--key', key, code]);
	check('a private key file signs without a warning', r.status === 0 && !/warning/.test(r.stderr), r.stderr);
	for (const [m, who] of [[0o640, 'its group'], [0o644, 'others']]) {
		fs.chmodSync(key, m);
		r = ag(['sign', '--key', key, code]);
		check(`a key file of mode 0${m.toString(8)} gets a warning that ${who} can read it`,
			r.stderr.split('\n')[0] === `agentguard: warning: key file "${key}" can be read by ${who} ` +
			`(mode 0${m.toString(8)}): anyone who reads it can approve in your name; make it private with chmod 600`,
			r.stderr);
		check('and still signs', r.status === 0 && /^agt1\./.test(r.stdout), r.stdout);
	}
	fs.chmodSync(key, 0o600);

	r = ag(['pubkey', '--key', key]);
	checkEqual('pubkey prints the public key keygen printed, as one line', r.stdout, publicKey + '\n');
	checkEqual('and nothing else', r.status === 0 && r.stderr, '');
	fs.writeFileSync(path.join(tmp, 'dba.pub'), publicKey + '\n', {mode: 0o600});
	r = ag(['pubkey', '--key', path.join(tmp, 'dba.pub')]);
	check('pubkey of a file that holds no private key fails in one line',
		r.status === 1 && /^agentguard: could not read a private key from "[^"]*dba\.pub" [^\n]*\n$/.test(r.stderr), r.stderr);
	r = ag(['pubkey']);
	checkEqual('pubkey without --key is a usage error', r.status, 2);

	const fifo = path.join(tmp, 'key.fifo');
	mustRun('mkfifo', [fifo]);
	const started = Date.now();
	const hung = run(agentguard, ['sign', '--key', fifo, code], {timeout: 10000, encoding: 'utf8'});
	check('a FIFO as key file is refused at once, without waiting for a writer',
		hung.status === 1 && Date.now() - started < 10000, `status ${hung.status}`);
	checkEqual('in one line', hung.stderr, `agentguard: key file "${fifo}" is a FIFO, not a regular file\n`);
	for (const [file, kind] of [[tmp, 'a directory'], ['/dev/null', 'a character device']]) {
		r = ag(['approve', '--yes', '--key', file, 'dbname=nowhere', code]);
		checkEqual(`${kind} as key file is refused in one line`, r.stderr,
			`agentguard: key file "${file}" is ${kind}, not a regular file\n`);
	}
}

/* ---- 4. a database without the extension ---- */

async function withoutExtension({conninfo, key, dba}) {
	await dba.query('CREATE DATABASE bare');
	const bare = conninfo.replace('dbname=postgres', 'dbname=bare');
	const fix = 'agentguard: the agentguard extension is not installed in database "bare"; ' +
		'a superuser installs it there with: CREATE EXTENSION agentguard;\n';
	for (const args of [['approve', '--yes', '--key', key, bare], ['requests', bare], ['watch', bare]]) {
		const r = ag(args);
		check(`${args[0]} in a database without the extension says how to fix it, in one line`,
			r.status === 1 && r.stderr === fix, r.stderr);
	}
}

/* ---- 5. requests: the refusals waiting, newest first, each described ---- */

async function listing({conninfo, dba, bot, empty}) {
	let r;
	if (empty) {
		r = ag(['requests', conninfo]);
		check('requests with nothing refused says so and succeeds',
			r.status === 0 && r.stdout === '' && /no refused statement is waiting/.test(r.stderr), r.stderr);
		return;
	}
	await dba.query('CREATE TABLE "odd\x1b[2Kconfirmed: yes" (id int); ALTER TABLE "odd\x1b[2Kconfirmed: yes" OWNER TO bot');
	await errorOf(bot, 'DROP TABLE "odd\x1b[2Kconfirmed: yes"');
	await errorOf(bot, 'TRUNCATE orders');
	const view = (await dba.query('SELECT code, statement FROM agentguard.requests')).rows;
	r = ag(['requests', conninfo]);
	checkEqual('requests lists the refusals', r.status, 0);
	checkSafe('escaped', r);
	const blocks = r.stdout.split('\n\n');
	checkEqual('one block for each refusal the view holds', blocks.length, view.length);
	checkEqual('newest first, each with its code for approve',
		blocks.map(b => (/^request: +(\S+)$/m.exec(b) || [])[1]).join(' '), view.map(v => v.code).join(' '));
	check('each block says how often and when it was refused, then the request in plain words',
		blocks.every(b => /^refused \d+ times?, last at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC:\nenvironment: staging\naction: /.test(b)),
		blocks[0]);
	check('a crafted table name cannot start a line', !/^confirmed:/m.test(r.stdout), r.stdout);
	checkEqual('the newest is the TRUNCATE', (/^statement: +(.*)$/m.exec(blocks[0]) || [])[1], 'TRUNCATE orders');
}

/* ---- 6. watch: new refusals as they happen, until interrupted ---- */

function collect(child) {
	const out = {stdout: '', stderr: ''};
	child.stdout.on('data', d => { out.stdout += d; });
	child.stderr.on('data', d => { out.stderr += d; });
	out.exited = new Promise(resolve => child.on('exit', (code, signal) => resolve({code, signal})));
	return out;
}

async function until(test, ms = 15000) {
	for (const end = Date.now() + ms; Date.now() < end; await sleep(100))
		if (test())
			return true;
	return test();
}

async function watching({conninfo, bot}) {
	const child = spawn(agentguard, ['watch', conninfo], {stdio: ['ignore', 'pipe', 'pipe']});
	const out = collect(child);
	check('watch says it is watching', await until(() => /watching for refusals/.test(out.stderr)), out.stderr);
	await errorOf(bot, 'DELETE FROM orders WHERE true');
	check('a new refusal is printed as it happens',
		await until(() => /^statement: +DELETE FROM orders WHERE true$/m.test(out.stdout)), out.stdout);
	await errorOf(bot, 'TRUNCATE orders');
	check('and a repeated one again, with its count',
		await until(() => /^refused 2 times, [^\n]*\n(.*\n)*statement: +TRUNCATE orders$/m.test(out.stdout)), out.stdout);
	child.kill('SIGINT');
	const {code} = await out.exited;
	checkEqual('Ctrl+C ends it with status 0', code, 0);
	checkEqual('one block each, and none for what was refused before it started',
		out.stdout.split('\n\n').map(b => (/^statement: +(.*)$/m.exec(b) || [])[1]).join(' | '),
		'DELETE FROM orders WHERE true | TRUNCATE orders');
}

/* ---- 7. a password, asked on the terminal as psql asks it ---- */

/* a shell word for sh -c */
const quote = w => "'" + String(w).replace(/'/g, "'\\''") + "'";

async function passwords({conninfo, key, dba, bot}) {
	await dba.query("CREATE ROLE pwdba LOGIN SUPERUSER PASSWORD 'sekrit'");
	const hba = path.join(datadir, 'pg_hba.conf');
	fs.writeFileSync(hba, 'local all pwdba scram-sha-256\n' + fs.readFileSync(hba, 'utf8'));
	await dba.query('SELECT pg_reload_conf()');
	await sleep(500);
	const asPwdba = conninfo.replace('user=postgres', 'user=pwdba');
	const env = {...process.env, PGPASSFILE: '/nonexistent'};
	delete env.PGPASSWORD;

	let refusal = await errorOf(bot, 'DELETE FROM orders');
	let r = run('setsid', ['-w', agentguard, 'approve', '--yes', '--key', key, asPwdba, requestCode(refusal)],
		{env, encoding: 'utf8'});
	checkEqual('without a terminal, approve says a password is wanted and how to give it', r.stderr,
		'agentguard: the server wants a password for user "pwdba", and there is no terminal to ask for it ' +
		'(give it in a password file, in PGPASSWORD or as password= in CONNINFO)\n');
	r = ag(['requests', '--no-password', asPwdba], {env});
	check('--no-password never asks', r.status === 1 && /--no-password forbids asking for it/.test(r.stderr), r.stderr);

	const cmd = [agentguard, 'approve', '--yes', '--key', key, asPwdba, requestCode(refusal)].map(quote).join(' ');
	const child = spawn('script', ['-qec', cmd, '/dev/null'], {env, stdio: ['pipe', 'pipe', 'pipe']});
	const out = collect(child);
	const asked = await until(() => /Password for user pwdba: $/.test(out.stdout));
	check('approve asks for the password on the terminal', asked, out.stdout + out.stderr);
	child.stdin.write('sekrit\n');
	const {code} = await out.exited;
	checkEqual('and connects with it', code, 0);
	check('and approves', /^confirmed: role bot may run this once/m.test(out.stdout), out.stdout);
	check('the password is not echoed', !out.stdout.includes('sekrit'), out.stdout);
	check('the agent\'s retry runs', (await errorOf(bot, 'DELETE FROM orders')) === null);
}

runTest(main);
