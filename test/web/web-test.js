#!/usr/bin/env node
/*
 * End-to-end test of the approval page (web/index.html) in headless Chromium.
 *
 * A throwaway PostgreSQL cluster with agentguard preloaded refuses an agent's
 * TRUNCATE; the page decodes the request code from the refusal and signs it
 * with a key file made by `agentguard keygen`; the token it gives is confirmed
 * in the database, and the TRUNCATE then runs, once.  Along the way the page's
 * decoding and its token are compared with what the agentguard command-line
 * tool says about them, and the page's error messages are checked.
 *
 * Run through scripts/web-test.sh, which installs the npm packages.
 * Environment:
 *   PG_CONFIG            pg_config of the server to use (default: pg_config)
 *   CHROMIUM             browser binary (default: /usr/bin/chromium)
 *   WEB_TEST_SCREENSHOTS directory for the screenshots (default: a new temp dir)
 *   WEB_TEST_KEEP        keep the temp dir (cluster, keys, log) when set
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const {pathToFileURL} = require('url');
const {chromium} = require('playwright-core');
const {Client} = require('pg');

const repo = path.resolve(__dirname, '..', '..');
const pageUrl = pathToFileURL(path.join(repo, 'web', 'index.html')).href;
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const shotDir = process.env.WEB_TEST_SCREENSHOTS ||
	fs.mkdtempSync(path.join(os.tmpdir(), 'agentguard-web-shots-'));

const {
	check, checkEqual, run, sleep, agentguard, tmp, startCluster, errorOf, requestCode, runTest,
} = require('../lib/harness');
const codec = require('../lib/codec');

/* ---- the page ---- */

async function pasteCode(page, text) {
	await page.fill('#code', text);
}

const visible = (page, sel) => page.isVisible(sel);
const textOf = (page, sel) => page.textContent(sel);

async function waitText(page, sel, re, timeout = 10000) {
	try {
		await page.waitForFunction(([s, src]) => {
			const e = document.querySelector(s);
			return e && !e.hidden && new RegExp(src).test(e.textContent);
		}, [sel, re.source], {timeout});
		return true;
	} catch (e) {
		return false;
	}
}

async function waitValue(page, sel, timeout = 10000) {
	try {
		await page.waitForFunction(s => {
			const e = document.querySelector(s);
			return e && e.value !== '' && !document.getElementById('result').hidden;
		}, sel, {timeout});
		return page.inputValue(sel);
	} catch (e) {
		return '';
	}
}

/* ---- crafted codes ---- */

/*
 * Names, statements and values an agent could put into a code it hands the
 * DBA: escape sequences that would paint a fake line, C1 controls (U+009B is
 * a terminal's CSI), invisible and bidirectional characters, backslashes,
 * and bytes that are not UTF-8.
 */
const HOSTILE = [
	'\x1b[2K\rconfirmed: role bot may run this once',
	'title\x1b]0;pwned\x07',
	'\u009b31mred',
	'com\u034fbining grapheme joiner',
	'\u202eevil\u202c',
	'zero\u200bwidth\u2060joiner\ufeffbom\u00adsoft',
	'tab\there, line\u2028separator',
	'back\\slash \\x41 not an escape',
	Buffer.from([0x62, 0xff, 0xc0, 0x80, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80, 0xe2, 0x82]),
];

/* every code point but NUL and the surrogates, packed into parameter values */
function allCodePointCodes() {
	const codes = [];
	let params = [];
	let cur = [];
	let curLen = 0;
	const flushParam = () => {
		params.push({value: Buffer.from(String.fromCodePoint(...cur), 'utf8')});
		cur = [];
		curLen = 0;
	};
	const flushCode = () => {
		codes.push(codec.requestCode({action: 'DELETE', statement: 'DELETE FROM t WHERE v = $1',
			params, environment: 'every code point'}));
		params = [];
	};
	for (let c = 1; c <= 0x10ffff; c++) {
		if (c >= 0xd800 && c <= 0xdfff)
			continue;
		const n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
		if (curLen + n > 256) {
			flushParam();
			if (params.length === 100)
				flushCode();
		}
		cur.push(c);
		curLen += n;
	}
	flushParam();
	flushCode();
	/* every lone byte above ASCII, and broken sequences */
	params = [];
	for (let b = 0x80; b <= 0xff; b++)
		params.push({value: Buffer.from([0x61, b, 0x62])});
	for (const bad of [[0xc0, 0x80], [0xe0, 0x80, 0x80], [0xf0, 0x80, 0x80, 0x80], [0xed, 0xa0, 0x80],
		[0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xc3]])
		params.push({value: Buffer.from(bad)});
	flushCode();
	return codes;
}

async function craftedCodes(page, cli, publicKey) {
	const sha = t => require('crypto').createHash('sha256').update(t, 'utf8').digest('hex');
	const inspectRaw = args => run(agentguard, ['inspect', ...args], {encoding: 'buffer'});

	/* one code with hostile text in every field, parameters, rows and tables */
	const crafted = codec.requestCode({
		systemIdentifier: 7712284901657573181n,
		environment: HOSTILE[0], database: HOSTILE[1], role: HOSTILE[2], action: HOSTILE[3],
		targets: HOSTILE, moreTargets: 7,
		statement: Buffer.concat(HOSTILE.map(h => Buffer.from(h)).flatMap(b => [b, Buffer.from('\n')])),
		params: [...HOSTILE.map(value => ({value})), {isnull: true}, {value: 'x'.repeat(256), cut: true}],
		flags: 0x02 | 0x04, rows: 1000, limitTables: [16384, 16390],
	});
	const raw = inspectRaw([crafted]);
	checkEqual('agentguard inspect reads a crafted code', raw.status, 0);
	check('what agentguard inspect shows of it has no control or hidden character, and is UTF-8',
		codec.unsafeShown(raw.stdout) === null, codec.unsafeShown(raw.stdout));
	const cliText = raw.stdout.toString('utf8');
	check('a crafted line cannot start with "confirmed:"', !/^confirmed:/m.test(cliText), cliText);
	await pasteCode(page, crafted);
	checkEqual('the page shows a crafted code exactly as agentguard inspect does',
		await textOf(page, '#f-plain'), cliText);
	check('the page shows the parameters', await visible(page, '#f-params') &&
		(await textOf(page, '#f-params')).startsWith("$1 = '\\x1b[2K\\x0dconfirmed:"),
		await textOf(page, '#f-params'));
	checkEqual('the page shows the rows counted', await textOf(page, '#f-rows'),
		'more than 1000 (counting stopped there; the approval does not limit the count)');
	checkEqual('the page shows how many tables may change', await textOf(page, '#f-tables'),
		'2 tables may change');
	check('and the objects not listed', (await textOf(page, '#f-objects')).endsWith(', and 7 more'),
		await textOf(page, '#f-objects'));
	const fieldText = await page.evaluate(() => [...document.querySelectorAll('#decoded dd, #f-environment')]
		.map(e => e.textContent).join('\n'));
	check('no field of the page holds a control or hidden character',
		codec.unsafeShown(Buffer.from(fieldText, 'utf8')) === null, codec.unsafeShown(Buffer.from(fieldText, 'utf8')));
	await page.screenshot({path: path.join(shotDir, 'crafted.png'), fullPage: true});

	/* every code point and broken UTF-8: the page escapes exactly what C does */
	const codes = allCodePointCodes();
	const pageHashes = await page.evaluate(async list => {
		const hexOf = async text => [...new Uint8Array(await crypto.subtle.digest('SHA-256',
			new TextEncoder().encode(text)))].map(b => b.toString(16).padStart(2, '0')).join('');
		const out = [];
		for (const c of list) {
			const r = window.agentguard.parseRequest(c);
			out.push(await hexOf(r.error ? 'error: ' + r.error : window.agentguard.describeText(r.request)));
		}
		return out;
	}, codes);
	const differ = [];
	for (let i = 0; i < codes.length; i++) {
		const out = inspectRaw([codes[i]]);
		const text = out.status === 0 ? out.stdout.toString('utf8') :
			'error: ' + out.stderr.toString('utf8').replace(/^agentguard: /, '').trim();
		if (sha(text) !== pageHashes[i])
			differ.push(i);
	}
	let firstDiff = '';
	if (differ.length > 0) {
		const pageText = await page.evaluate(c => window.agentguard.describeText(
			window.agentguard.parseRequest(c).request), codes[differ[0]]);
		const cliLines = inspectRaw([codes[differ[0]]]).stdout.toString('utf8').split('\n');
		const pageLines = pageText.split('\n');
		const k = cliLines.findIndex((l, j) => l !== pageLines[j]);
		firstDiff = `code ${differ[0]}, line ${k}:\ncli:  ${JSON.stringify(cliLines[k])}\npage: ${JSON.stringify(pageLines[k])}`;
	}
	check(`the page and agentguard inspect escape every code point alike (${codes.length} codes)`,
		differ.length === 0, firstDiff);

	/* times: tokens across the whole range the decoder takes */
	const body = Buffer.from(crafted.slice(5), 'base64url');
	for (const [issuedAt, expiresAt] of [[0, 1], [951782399, 951868800], [1700000000, 253402300799n],
		[253402300798n, 253402300799n], [4102444799, 4102444800]]) {
		const token = codec.tokenCode(body, {issuedAt, expiresAt});
		const out = run(agentguard, ['inspect', '--public-key', publicKey, token]);
		await pasteCode(page, token);
		/* the key field emptied first, so the verdict waited for is this token's */
		await page.fill('#verify-key', '');
		await page.fill('#verify-key', publicKey);
		/* the hand-made token names a key id of its own, not this key's */
		await waitText(page, '#verify-result', /^none by /);
		checkEqual(`a token issued ${issuedAt}, expiring ${expiresAt} reads alike on the page and in the terminal`,
			await textOf(page, '#f-plain'), out.stdout);
	}
	const late = codec.tokenCode(body, {issuedAt: 0, expiresAt: 253402300800n});
	const lateCli = run(agentguard, ['inspect', late]);
	await pasteCode(page, late);
	check('a token expiring after 9999 is refused alike',
		lateCli.status === 1 && await waitText(page, '#code-error', /^token expiry is after the year 9999$/) &&
		lateCli.stderr === 'agentguard: token expiry is after the year 9999\n', lateCli.stderr);
	const times = await page.evaluate(() => [0, 951782400, -62135596800, -62135596801, 253402300799,
		253402300800, -9223372036854775808n, 9223372036854775807n].map(window.agentguard.formatUtc));
	checkEqual('the page formats any 64-bit time as ag_format_utc does', times.join('|'), [
		'1970-01-01 00:00:00 UTC', '2000-02-29 00:00:00 UTC', '0001-01-01 00:00:00 UTC',
		'out of range (-62135596801 seconds)', '9999-12-31 23:59:59 UTC',
		'out of range (253402300800 seconds)', 'out of range (-9223372036854775808 seconds)',
		'out of range (9223372036854775807 seconds)'].join('|'));
}

/*
 * Two-person approval: with agentguard.required_signatures = 2, a token one
 * DBA signed with the CLI is pasted, a second DBA's key adds its signature on
 * the page, exactly as agentguard sign --key FILE TOKEN adds it, and the
 * co-signed token confirms like the CLI's, where the one-signature token was
 * refused without being used up.
 */
async function coSigning({page, cli, dba, bot, code, keyFile, otherKey, other}) {
	await dba.query('SELECT agentguard.add_signer($1, $2)', ['second', other]);
	await dba.query('ALTER SYSTEM SET agentguard.required_signatures = 2');
	await dba.query('SELECT pg_reload_conf()');
	for (let i = 0; i < 100; i++) {
		if ((await dba.query("SELECT current_setting('agentguard.required_signatures') AS v")).rows[0].v === '2')
			break;
		await sleep(100);
	}
	await bot.query('INSERT INTO t SELECT generate_series(1, 10)');
	const refusal = await errorOf(bot, 'TRUNCATE t');
	const refused = requestCode(refusal);
	check('the TRUNCATE is refused again, with a code', refused !== null, refusal && refusal.message);
	const first = cli(['sign', '--key', keyFile, refused]).stdout.trim();
	const short = await errorOf(dba, `SELECT agentguard.confirm('${first}')`);
	check('one signature of two is refused, saying one more is needed',
		short && /has 1 of the 2/.test(short.message) && /1 more distinct trusted signer/.test(short.detail),
		short && short.message + ' / ' + short.detail);

	await pasteCode(page, first);
	check('the page shows the token\'s one signature', await waitText(page, '#t-signatures', /^1 \(1 distinct signer\)$/));
	await page.setInputFiles('#key', otherKey);
	await waitText(page, '#key-status', /key loaded/);
	await page.click('#sign');
	const cosigned = await waitValue(page, '#token');
	check('the page adds a signature', /^agt1\./.test(cosigned) && cosigned !== first,
		cosigned || await textOf(page, '#sign-error'));
	check('and says the token now has two signers',
		await waitText(page, '#validity', /now has 2 \(2 distinct signers\).*required_signatures/),
		await textOf(page, '#validity'));
	await page.screenshot({path: path.join(shotDir, 'cosigned.png'), fullPage: true});
	checkEqual('the page co-signs exactly as agentguard sign --key FILE TOKEN does',
		cosigned, cli(['sign', '--key', otherKey, first]).stdout.trim());
	const inspected = cli(['inspect', '--public-key', other, cosigned]);
	check('agentguard inspect finds the second signer\'s signature valid',
		inspected.status === 0 && /^signatures: +2 \(2 distinct signers\)$/m.test(inspected.stdout) &&
		/^signature: +valid for /m.test(inspected.stdout), inspected.stdout + inspected.stderr);
	await pasteCode(page, cosigned);
	await page.fill('#verify-key', other);
	await waitText(page, '#verify-result', /^valid for agk1\./);
	checkEqual('the co-signed token reads alike on the page and in the terminal',
		await textOf(page, '#f-plain'), inspected.stdout);

	/* the same key again: added, said, and counted once */
	await page.click('#sign');
	const twice = await waitValue(page, '#token');
	check('signing twice with one key is said to count once',
		await waitText(page, '#ttl-note', /counts a signer once/));
	const once = await errorOf(dba, `SELECT agentguard.confirm('${cli(['sign', '--key', keyFile, first]).stdout.trim()}')`);
	check('the same signer twice counts once at confirm', once && /has 1 of the 2/.test(once.message),
		once && once.message);
	check('the twice-signed page token has three signatures of two signers',
		/^signatures: +3 \(2 distinct signers\)$/m.test(cli(['inspect', twice]).stdout));

	checkEqual('the co-signed token confirms',
		await errorOf(dba, `SELECT agentguard.confirm('${cosigned}')`), null);
	checkEqual('and the agent\'s TRUNCATE runs', await errorOf(bot, 'TRUNCATE t'), null);
	checkEqual('the table is empty again', (await bot.query('SELECT count(*)::int AS n FROM t')).rows[0].n, 0);

	await dba.query('ALTER SYSTEM RESET agentguard.required_signatures');
	await dba.query('SELECT pg_reload_conf()');
	await page.setInputFiles('#key', keyFile);
	await waitText(page, '#key-status', /key loaded/);
}

/*
 * A rehearsal's batch: the agent rehearses a migration of two statements,
 * the page shows the batch code from its refused COMMIT exactly as
 * agentguard inspect does, every statement of it, and signs it into one
 * token, with which each statement runs once, in another order.
 */
async function rehearsedBatch({page, cli, dba, bot, keyFile}) {
	await dba.query(`CREATE TABLE w1 (id int); INSERT INTO w1 SELECT generate_series(1, 5);
		CREATE TABLE w2 (id int); INSERT INTO w2 SELECT generate_series(1, 5);
		ALTER TABLE w1 OWNER TO bot; ALTER TABLE w2 OWNER TO bot`);
	await bot.query('BEGIN');
	await bot.query('SET LOCAL agentguard.rehearse = on');
	await bot.query('TRUNCATE w1');
	await bot.query('DELETE FROM w2');
	const refusal = await errorOf(bot, 'COMMIT');
	const batch = requestCode(refusal);
	check('the rehearsal\'s COMMIT is refused with a batch code', refusal && refusal.code === '42501' &&
		batch && batch.startsWith('agb1.'), refusal ? refusal.message + ' / ' + refusal.detail : 'it committed');
	const inspected = cli(['inspect', batch]).stdout;
	await pasteCode(page, batch);
	checkEqual('the page shows the batch exactly as agentguard inspect does', await textOf(page, '#f-plain'), inspected);
	checkEqual('the page says it is a rehearsal\'s batch', await textOf(page, '#decoded-heading'),
		'This rehearsal\'s batch asks for (each statement once)');
	checkEqual('the page names both statements in order', await textOf(page, '#f-statement'),
		'1. TRUNCATE w1\n2. DELETE FROM w2');
	checkEqual('and the rows the DELETE changed', await textOf(page, '#f-rows'),
		'2. 5 (counted when it was refused; the approval allows at most this many)');
	await page.setInputFiles('#key', keyFile);
	await waitText(page, '#key-status', /key loaded/);
	await page.click('#sign');
	const token = await waitValue(page, '#token');
	check('the page signs the batch into one token', /^agt1\./.test(token), token || await textOf(page, '#sign-error'));
	await page.screenshot({path: path.join(shotDir, 'batch.png'), fullPage: true});
	let confirmed = '';
	try {
		confirmed = (await dba.query('SELECT agentguard.confirm($1) AS c', [token])).rows[0].c;
	} catch (e) {
		confirmed = e.message;
	}
	check('agentguard.confirm accepts it for both statements',
		/^confirmed: role bot may run each of these 2 statements once/.test(confirmed), confirmed);
	const deleted = await errorOf(bot, 'DELETE FROM w2');
	const truncated = await errorOf(bot, 'TRUNCATE w1');
	check('each statement of the batch runs, in another order', deleted === null && truncated === null,
		(deleted || truncated || {}).message);
	await bot.query('INSERT INTO w2 SELECT generate_series(1, 5)');
	const again = await errorOf(bot, 'DELETE FROM w2');
	check('once: the DELETE again is refused', again && again.code === '42501', again ? again.message : 'it ran');
}

/* ---- the test ---- */

async function main() {
	const port = await startCluster();
	const connect = async user => {
		const c = new Client({host: tmp, port, user, database: 'postgres'});
		await c.connect();
		return c;
	};
	const dba = await connect('postgres');
	const cli = args => run(agentguard, args);

	/* a key, trusted in the database */
	const keyFile = path.join(tmp, 'dba.pem');
	const keygen = cli(['keygen', '--out', keyFile]);
	check('agentguard keygen makes a key', keygen.status === 0, keygen.stderr);
	const publicKey = keygen.stdout.trim();
	const keyIdLine = cli(['inspect', publicKey]).stdout.match(/key id: ([0-9a-f]+)/);
	const cliKeyId = keyIdLine ? keyIdLine[1] : '?';

	await dba.query('CREATE EXTENSION agentguard');
	await dba.query('SELECT agentguard.add_signer($1, $2)', ['dba', publicKey]);
	await dba.query(`CREATE ROLE bot LOGIN;
		SECURITY LABEL FOR agentguard ON ROLE bot IS 'agent';
		CREATE TABLE t (id int);
		INSERT INTO t SELECT generate_series(1, 100);
		ALTER TABLE t OWNER TO bot`);
	const systemIdentifier = (await dba.query(
		'SELECT system_identifier::text AS s FROM pg_control_system()')).rows[0].s;

	/* the agent is refused */
	const bot = await connect('bot');
	const refusal = await errorOf(bot, 'TRUNCATE t');
	check('the agent\'s TRUNCATE is refused with 42501', refusal && refusal.code === '42501',
		refusal ? refusal.message : 'it ran');
	const code = requestCode(refusal);
	check('the refusal carries a request code', code && code.startsWith('agr1.'),
		refusal && refusal.detail);
	const cliDescribe = cli(['inspect', code]).stdout;

	/* the browser (playwright gives it a fresh profile; HOME is ours too) */
	const profile = fs.mkdtempSync(path.join(tmp, 'chromium-'));
	const browser = await chromium.launch({
		executablePath: chromiumPath,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
		env: {...process.env, HOME: profile, XDG_CONFIG_HOME: profile, XDG_CACHE_HOME: profile},
		timeout: 60000,
	});
	try {
		const context = await browser.newContext({viewport: {width: 1000, height: 900}});
		const page = await context.newPage();
		const requests = [];
		const problems = [];
		page.on('request', r => requests.push(r.url()));
		page.on('pageerror', e => problems.push('page error: ' + e.message));
		page.on('console', m => {
			if (m.type() === 'error' || m.type() === 'warning')
				problems.push(`console ${m.type()}: ${m.text()}`);
		});
		await page.goto(pageUrl);
		check('the page loads its script (no CSP or script errors)',
			await page.evaluate(() => typeof window.agentguard === 'object'), problems.join('\n'));

		/* decoding, environment first */
		await pasteCode(page, code);
		check('the decoded request appears at once', await visible(page, '#decoded'));
		checkEqual('environment shown', await textOf(page, '#f-environment'), 'staging');
		checkEqual('action shown', await textOf(page, '#f-action'), 'TRUNCATE');
		checkEqual('objects shown', await textOf(page, '#f-objects'), 'public.t');
		checkEqual('database shown', await textOf(page, '#f-database'), 'postgres');
		checkEqual('cluster shown in decimal as pg_control_system() shows it',
			await textOf(page, '#f-cluster'), systemIdentifier);
		checkEqual('role shown', await textOf(page, '#f-role'), 'bot');
		checkEqual('statement shown', await textOf(page, '#f-statement'), 'TRUNCATE t');
		check('not marked as cut', !(await visible(page, '#f-cut')));
		checkEqual('plain text matches agentguard inspect', await textOf(page, '#f-plain'), cliDescribe);
		const layout = await page.evaluate(() => {
			const env = document.getElementById('f-environment');
			const act = document.getElementById('f-action');
			return {
				envTop: env.getBoundingClientRect().top,
				actTop: act.getBoundingClientRect().top,
				envSize: parseFloat(getComputedStyle(env).fontSize),
				actSize: parseFloat(getComputedStyle(act).fontSize),
			};
		});
		check('environment comes first and largest',
			layout.envTop < layout.actTop && layout.envSize >= 1.5 * layout.actSize, JSON.stringify(layout));

		/* the whole error text pasted: the code is found in it */
		await pasteCode(page, `ERROR:  ${refusal.message}\nDETAIL:  ${refusal.detail}\nHINT:  ${refusal.hint}`);
		checkEqual('the code is found in a pasted error message', await textOf(page, '#f-plain'), cliDescribe);

		/* bad input */
		await pasteCode(page, 'hello');
		check('a word that is no code is refused clearly',
			await waitText(page, '#code-error', /not a request code/), await textOf(page, '#code-error'));
		check('nothing is decoded for it', !(await visible(page, '#decoded')));
		await pasteCode(page, code.slice(0, -3));
		check('a damaged code gets an error', await waitText(page, '#code-error', /request|code/));
		await pasteCode(page, code.slice(0, 10) + '\u201d');
		check('typographic quotes are named', await waitText(page, '#code-error', /non-ASCII/));

		/* malformed codes and tokens of any length: an error, never an exception */
		const robust = await page.evaluate(([c, seed]) => {
			const ag = window.agentguard;
			const body = ag.base64urlDecode(c.slice(5));
			let state = seed;
			const rand = () => (state = (state * 1103515245 + 12345) >>> 0) / 4294967296;
			const failures = [];
			const tryBoth = bytes => {
				for (const [prefix, parse] of [['agr1.', ag.parseRequest], ['agt1.', ag.parseToken]]) {
					try {
						const r = parse(prefix + ag.base64urlEncode(bytes));
						if (!r || (!r.error && !r.request && !r.token))
							failures.push('no answer for ' + prefix);
					} catch (e) {
						failures.push(prefix + ': ' + e.message);
					}
				}
			};
			for (let len = 0; len <= body.length + 200; len++)
				tryBoth(body.slice(0, len));
			for (let i = 0; i < 3000; i++) {
				const b = Uint8Array.from(body);
				for (let k = 0; k < 1 + Math.floor(rand() * 4); k++)
					b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
				tryBoth(b);
				const t = new Uint8Array(3 + b.length + 104);
				t[0] = 1; t[1] = b.length >> 8; t[2] = b.length & 255;
				t.set(b, 3);
				tryBoth(t.slice(0, Math.floor(rand() * t.length) + 1));
			}
			return failures.slice(0, 5);
		}, [code, 12345]);
		check('malformed codes and tokens give errors, never exceptions', robust.length === 0, robust.join('\n'));

		/* wrong key files */
		await pasteCode(page, code);
		const wrongKeys = [
			['notes.txt', 'just some text\n', /not a PEM key file/],
			['dba.pub', publicKey + '\n', /public key/],
		];
		const openssl = run('sh', ['-c', 'command -v openssl']).stdout.trim();
		if (openssl) {
			for (const [name, args] of [['rsa.pem', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024']],
				['ec.pem', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']]]) {
				const out = run(openssl, ['genpkey', ...args]);
				if (out.status === 0)
					wrongKeys.push([name, out.stdout, name === 'rsa.pem' ? /RSA key, not an Ed25519 key/ :
						/EC key, not an Ed25519 key/]);
			}
		}
		for (const [name, content, re] of wrongKeys) {
			const file = path.join(tmp, name);
			fs.writeFileSync(file, content);
			await page.setInputFiles('#key', file);
			check(`a wrong key file (${name}) is refused clearly`, await waitText(page, '#key-error', re),
				await textOf(page, '#key-error'));
			if (name === 'rsa.pem')
				await page.screenshot({path: path.join(shotDir, 'wrong-key.png'), fullPage: true});
			await page.click('#sign');
			check(`Sign with the wrong key (${name}) gives no token`,
				await waitText(page, '#sign-error', /./) && !(await visible(page, '#result')));
		}

		/* the real key */
		await page.setInputFiles('#key', keyFile);
		check('the key file loads and shows its key id',
			await waitText(page, '#key-status', new RegExp('key id ' + cliKeyId)),
			(await textOf(page, '#key-status')) + ' / ' + (await textOf(page, '#key-error')));
		checkEqual('time to live defaults to 15m', await page.inputValue('#ttl'), '15m');
		await page.click('#sign');
		const token = await waitValue(page, '#token');
		check('Sign gives a token', /^agt1\.[A-Za-z0-9_-]+$/.test(token), token || await textOf(page, '#sign-error'));
		checkEqual('the SQL is ready to copy', await page.inputValue('#sql'),
			`SELECT agentguard.confirm('${token}');`);
		check('validity shown', await waitText(page, '#validity', /valid for 15m, until .* UTC.*staging/),
			await textOf(page, '#validity'));

		await page.screenshot({path: path.join(shotDir, 'signed.png'), fullPage: true});

		/* the CLI reads the page's token as one of its own */
		const inspected = cli(['inspect', '--public-key', publicKey, token]);
		check('agentguard inspect --public-key verifies the page\'s token',
			inspected.status === 0 && /^signature: +valid for /m.test(inspected.stdout),
			inspected.stdout + inspected.stderr);
		checkEqual('the token approves exactly the request',
			inspected.stdout.split('\n').slice(1, 8).join('\n') + '\n', cliDescribe);
		check('the token names the signer', inspected.stdout.includes(`signer key id: ${cliKeyId}\n`),
			inspected.stdout);
		check('the token is valid for 15m', /^valid for: +15m$/m.test(inspected.stdout), inspected.stdout);
		const cliSigned = cli(['sign', '--key', keyFile, code]);
		const cliToken = cliSigned.stdout.trim();
		check('agentguard sign signs the same code', cliSigned.status === 0, cliSigned.stderr);
		checkEqual('page and CLI tokens have the same length', token.length, cliToken.length);
		const shape = text => text.split('\n').filter(l => !/^(issued|expires|nonce):/.test(l)).join('\n');
		checkEqual('page and CLI tokens inspect alike (but for times and nonce)',
			shape(inspected.stdout), shape(cli(['inspect', '--public-key', publicKey, cliToken]).stdout));

		/* the page reads tokens back, like agentguard inspect */
		await pasteCode(page, token);
		check('a pasted token is decoded, not signed',
			await waitText(page, '#code-note', /^This is a token: below is what it approves/) &&
			(await textOf(page, '#decoded-heading')) === 'This token approves');
		await page.fill('#verify-key', publicKey);
		check('the page verifies the token\'s signature', await waitText(page, '#verify-result', /^valid for agk1\./));
		await page.click('#decoded summary');
		await page.screenshot({path: path.join(shotDir, 'token.png'), fullPage: true});
		checkEqual('token plain text matches agentguard inspect --public-key',
			await textOf(page, '#f-plain'), inspected.stdout);
		check('a pasted token can take another signature',
			await waitText(page, '#sign-ready', /add your signature/));
		const otherKey = path.join(tmp, 'other.pem');
		const other = cli(['keygen', '--out', otherKey]).stdout.trim();
		await page.fill('#verify-key', other);
		check('a public key that did not sign is said so', await waitText(page, '#verify-result', /^none by agk1\./));
		const altered = token.slice(0, -40) + (token[token.length - 40] === 'A' ? 'B' : 'A') + token.slice(-39);
		await pasteCode(page, altered);
		await page.fill('#verify-key', publicKey);
		check('a signature altered does not verify', await waitText(page, '#verify-result', /^DOES NOT VERIFY with agk1\./));

		/* the database accepts the page's token, once */
		const before = await errorOf(bot, 'TRUNCATE t');
		check('still refused before confirmation', before && before.code === '42501');
		let confirmed = null;
		try {
			confirmed = (await dba.query('SELECT agentguard.confirm($1) AS c', [token])).rows[0].c;
		} catch (e) {
			confirmed = null;
			check('agentguard.confirm accepts the page\'s token', false, e.message);
		}
		if (confirmed !== null)
			check('agentguard.confirm accepts the page\'s token', typeof confirmed === 'string' && confirmed.length > 0,
				confirmed);
		const ran = await errorOf(bot, 'TRUNCATE t');
		check('the agent\'s TRUNCATE now runs', ran === null, ran && ran.message);
		checkEqual('the table is empty', (await bot.query('SELECT count(*)::int AS n FROM t')).rows[0].n, 0);
		await bot.query('INSERT INTO t VALUES (1)');
		const again = await errorOf(bot, 'TRUNCATE t');
		check('and only once: the next TRUNCATE is refused', again && again.code === '42501',
			again ? again.message : 'it ran');
		const reuse = await errorOf(dba, `SELECT agentguard.confirm('${token}')`);
		check('the used token is not accepted again', reuse !== null);

		await rehearsedBatch({page, cli, dba, bot, keyFile});

		await coSigning({page, cli, dba, bot, code, keyFile, otherKey, other});

		/* keyboard only, another lifetime: Tab from the TTL to Sign, Enter */
		await pasteCode(page, code);
		await page.fill('#ttl', '15x');
		check('a bad lifetime is named', await waitText(page, '#ttl-error', /15x.*must be a number/));
		await page.fill('#ttl', '10m');
		check('a good lifetime clears the error', !(await visible(page, '#ttl-error')));
		await page.focus('#ttl');
		await page.keyboard.press('Tab');
		checkEqual('Tab from the lifetime reaches Sign',
			await page.evaluate(() => document.activeElement.id), 'sign');
		await page.keyboard.press('Enter');
		const token10 = await waitValue(page, '#token');
		const inspected10 = cli(['inspect', '--public-key', publicKey, token10]);
		check('a 10m token signed from the keyboard verifies',
			inspected10.status === 0 && /^valid for: +10m$/m.test(inspected10.stdout), inspected10.stdout + inspected10.stderr);
		await page.fill('#ttl', '2h');
		await page.click('#sign');
		check('a lifetime above 1h is signed with a warning',
			await waitText(page, '#ttl-note', /max_token_ttl/));

		/* an unnamed environment, control characters, a statement cut for display */
		await dba.query("ALTER SYSTEM SET agentguard.environment = ''");
		await dba.query('SELECT pg_reload_conf()');
		/* the postmaster reloads before it tells this backend to */
		for (let i = 0; i < 100; i++) {
			if ((await dba.query('SHOW agentguard.environment')).rows[0]['agentguard.environment'] === '')
				break;
			await sleep(100);
		}
		await dba.query('CREATE TABLE "odd\x1bname" (id int); ALTER TABLE "odd\x1bname" OWNER TO bot');
		const bot2 = await connect('bot');
		const longSql = 'DROP TABLE "odd\x1bname" /* \u202eevil\u202c ' + 'x'.repeat(2100) + ' */';
		const refusal2 = await errorOf(bot2, longSql);
		const code2 = requestCode(refusal2);
		check('a second refusal carries a code', code2 !== null, refusal2 && refusal2.message);
		await pasteCode(page, code2);
		check('an empty environment shows as unnamed',
			await waitText(page, '#f-environment', /^unnamed$/) && await visible(page, '#f-environment-note'));
		check('control characters are escaped', (await textOf(page, '#f-objects')).includes('\\x1b'),
			await textOf(page, '#f-objects'));
		check('bidirectional overrides are escaped',
			(await textOf(page, '#f-statement')).includes('\\u{202E}evil\\u{202C}'), await textOf(page, '#f-statement'));
		check('a long statement is marked as cut for display', await visible(page, '#f-cut'));
		checkEqual('plain text matches agentguard inspect', await textOf(page, '#f-plain'),
			cli(['inspect', code2]).stdout);
		await page.screenshot({path: path.join(shotDir, 'unnamed-cut.png'), fullPage: true});
		await bot2.end();

		await craftedCodes(page, cli, publicKey);

		/* nothing left the page */
		const offPage = requests.filter(u => !u.startsWith('file:'));
		check('the page made no network requests', offPage.length === 0, offPage.join('\n'));
		check('the page logged no errors', problems.length === 0, problems.join('\n'));
		await context.close();
	} finally {
		await browser.close();
		await bot.end();
		await dba.end();
	}
}

runTest(main, {
	keep: process.env.WEB_TEST_KEEP,
	cleanup: async () => console.log(`# screenshots in ${shotDir}`),
});
