/*
 * Two-person approval against a throwaway cluster whose
 * agentguard.required_signatures is 2: agentguard approve signs and, short
 * of signers, hands the token on instead of confirming it; the same DBA
 * approving again adds nothing that counts; a second DBA's approve confirms
 * it.  Tokens are also made here byte by byte with Node's own Ed25519, from
 * the layouts in src/request.h rather than from the C codec: a version 2
 * token with two signatures confirms, and a version 1 token (the layout
 * before there could be more signers) still confirms where one signature
 * is required, and is one short where two are.
 */
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const {Client} = require('pg');
const {
	check, checkEqual, run, mustRun, sleep, agentguard, tmp, startCluster, errorOf, requestCode, runTest,
} = require('../lib/harness');

function u16(v) {
	const b = Buffer.alloc(2);
	b.writeUInt16BE(v);
	return b;
}

function i64(v) {
	const b = Buffer.alloc(8);
	b.writeBigInt64BE(BigInt(v));
	return b;
}

/* a key file made by agentguard keygen, as Node reads it */
function loadKey(file) {
	const privateKey = crypto.createPrivateKey(fs.readFileSync(file));
	const raw = crypto.createPublicKey(privateKey).export({format: 'jwk'}).x;
	const publicKey = Buffer.from(raw, 'base64url');
	const keyId = crypto.createHash('sha256').update(publicKey).digest().subarray(0, 8);
	return {privateKey, keyId};
}

function sign(key, context, signedPart) {
	return crypto.sign(null, Buffer.concat([Buffer.from(context + '\0'), signedPart]), key.privateKey);
}

function requestBodyOf(code) {
	return Buffer.from(code.slice(5), 'base64url');
}

function times() {
	const now = Math.floor(Date.now() / 1000);
	return Buffer.concat([i64(now), i64(now + 600)]);
}

/* version 1: key id, times, nonce, one signature over all of it */
function tokenV1(code, key) {
	const req = requestBodyOf(code);
	const signed = Buffer.concat([Buffer.from([1]), u16(req.length), req, key.keyId, times(),
		crypto.randomBytes(16)]);
	return 'agt1.' + Buffer.concat([signed, sign(key, 'agentguard token v1', signed)]).toString('base64url');
}

/* version 2: times, nonce, then each signer's key id and signature */
function tokenV2(code, keys) {
	const req = requestBodyOf(code);
	const signed = Buffer.concat([Buffer.from([2]), u16(req.length), req, times(), crypto.randomBytes(16)]);
	const sigs = keys.map(k => Buffer.concat([k.keyId, sign(k, 'agentguard token v2', signed)]));
	return 'agt1.' + Buffer.concat([signed, Buffer.from([keys.length]), ...sigs]).toString('base64url');
}

async function setRequired(dba, port, n) {
	await dba.query(`ALTER SYSTEM SET agentguard.required_signatures = ${n}`);
	await dba.query('SELECT pg_reload_conf()');
	/* every new session sees it once the postmaster has read the file */
	for (let i = 0; i < 100; i++) {
		const c = new Client({host: tmp, port, user: 'postgres', database: 'postgres'});
		await c.connect();
		const {rows} = await c.query("SELECT current_setting('agentguard.required_signatures') AS v");
		await c.end();
		if (rows[0].v === String(n))
			return;
		await sleep(50);
	}
	throw new Error(`agentguard.required_signatures did not become ${n}`);
}

async function main() {
	const port = await startCluster('production');
	const conninfo = `host=${tmp} port=${port} dbname=postgres user=postgres`;
	const dba = new Client({host: tmp, port, user: 'postgres', database: 'postgres'});
	await dba.connect();
	const keyFiles = ['alice', 'bob'].map(n => path.join(tmp, n + '.pem'));
	for (const [i, name] of ['alice', 'bob'].entries()) {
		const pub = mustRun(agentguard, ['keygen', '--out', keyFiles[i]]).stdout.trim();
		if (i === 0)
			await dba.query(`CREATE EXTENSION agentguard;
				CREATE ROLE bot LOGIN;
				SECURITY LABEL FOR agentguard ON ROLE bot IS 'agent';
				CREATE TABLE orders (id int);
				ALTER TABLE orders OWNER TO bot`);
		await dba.query('SELECT agentguard.add_signer($1, $2)', [name, pub]);
	}
	const [alice, bob] = keyFiles.map(loadKey);
	const bot = new Client({host: tmp, port, user: 'bot', database: 'postgres'});
	await bot.connect();
	const fill = () => dba.query('INSERT INTO orders SELECT generate_series(1, 100)');
	const rows = async () => (await dba.query('SELECT count(*)::int AS n FROM orders')).rows[0].n;
	const waiting = async () => (await dba.query(
		'SELECT count(*)::int AS n FROM agentguard.confirmations WHERE used_at IS NULL')).rows[0].n;
	const refusal = async () => requestCode(await errorOf(bot, 'TRUNCATE orders'));

	try {
		await setRequired(dba, port, 2);
		await fill();

		/* approve by one DBA: signed, shown as short, handed on */
		let code = await refusal();
		check('TRUNCATE refused with a request code', code);
		let r = run(agentguard, ['approve', '--key', keyFiles[0], '--yes', conninfo, code]);
		checkEqual('approve short of signers exits 0', r.status, 0);
		check('approve says the database needs two signers',
			/needs the signatures of 2 distinct trusted signers/.test(r.stderr), r.stderr);
		check('approve says the token has 1 of the 2', /has 1 of the 2 distinct signers/.test(r.stderr), r.stderr);
		const token = r.stdout.trim();
		check('approve prints the token to hand on', /^agt1\.[A-Za-z0-9_-]+$/.test(token), r.stdout);
		checkEqual('nothing was confirmed', await waiting(), 0);
		checkEqual('the statement is still refused', (await errorOf(bot, 'TRUNCATE orders')).code, '42501');

		/* the same DBA again: a second signature that does not count */
		r = run(agentguard, ['approve', '--key', keyFiles[0], '--yes', conninfo, token]);
		check('approving one\'s own token again warns', /signed this token already/.test(r.stderr), r.stderr);
		check('and still has 1 of the 2', /has 1 of the 2 distinct signers/.test(r.stderr), r.stderr);
		let e = await errorOf(dba, `SELECT agentguard.confirm('${r.stdout.trim()}')`);
		check('confirm of the same signer twice is refused',
			e && /has 1 of the 2 distinct trusted signers/.test(e.message) &&
			/1 more distinct trusted signer must sign it/.test(e.detail) && /agentguard sign/.test(e.hint),
			e && [e.message, e.detail, e.hint].join('\n'));

		/* a second DBA approves the token: co-signed and confirmed */
		r = run(agentguard, ['approve', '--key', keyFiles[1], '--yes', conninfo, token]);
		checkEqual('the second DBA\'s approve exits 0', r.status, 0);
		check('the second DBA sees the first signature', /signatures: +1 \(1 distinct signer\)/.test(r.stderr), r.stderr);
		check('and confirms it', /^confirmed: role bot may run this once/.test(r.stdout), r.stdout + r.stderr);
		checkEqual('the agent\'s retry runs', await errorOf(bot, 'TRUNCATE orders'), null);
		checkEqual('the table was truncated', await rows(), 0);

		/* a version 2 token made here, two signatures */
		await fill();
		code = await refusal();
		checkEqual('a hand-made version 2 token with two signers confirms',
			await errorOf(dba, `SELECT agentguard.confirm('${tokenV2(code, [bob, alice])}')`), null);
		checkEqual('and its statement runs', await errorOf(bot, 'TRUNCATE orders'), null);

		/* a version 1 token: one signature short where two are required */
		await fill();
		code = await refusal();
		const v1 = tokenV1(code, alice);
		check('inspect reads a version 1 token',
			/signatures: +1 \(1 distinct signer\)/.test(mustRun(agentguard, ['inspect', v1]).stdout));
		e = await errorOf(dba, `SELECT agentguard.confirm('${v1}')`);
		check('a version 1 token is one signer short where two are required',
			e && /has 1 of the 2/.test(e.message), e && e.message);
		r = run(agentguard, ['sign', '--key', keyFiles[1], v1]);
		check('a version 1 token cannot take another signature',
			r.status === 1 && /version 1, which carries one signature only/.test(r.stderr), r.stderr);

		/* ... and works where one is */
		await setRequired(dba, port, 1);
		checkEqual('a version 1 token confirms where one signature is required',
			await errorOf(dba, `SELECT agentguard.confirm('${v1}')`), null);
		checkEqual('and its statement runs', await errorOf(bot, 'TRUNCATE orders'), null);
		checkEqual('once', await rows(), 0);
	} finally {
		await bot.end();
		await dba.end();
	}
}

runTest(main);
