/*
 * Request codes and tokens made by hand, for tests: the v2 request body and
 * the token body of src/request.h, written with any content at all, such as
 * the crafted codes an agent could hand a DBA (request codes are not
 * signed).  Tokens made here carry whatever signature bytes they are given,
 * so they decode but never verify.
 */
'use strict';

const crypto = require('crypto');

function bytesOf(v) {
	if (v === undefined || v === null)
		return Buffer.alloc(0);
	return Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8');
}

function u8(v) {
	return Buffer.from([v]);
}

function u16(v) {
	const b = Buffer.alloc(2);
	b.writeUInt16BE(v);
	return b;
}

function u32(v) {
	const b = Buffer.alloc(4);
	b.writeUInt32BE(v);
	return b;
}

function u64(v) {
	const b = Buffer.alloc(8);
	b.writeBigUInt64BE(BigInt.asUintN(64, BigInt(v)));
	return b;
}

function str(v) {
	const b = bytesOf(v);
	return Buffer.concat([u16(b.length), b]);
}

function hash(v) {
	return v === undefined ? Buffer.alloc(32) : bytesOf(v);
}

/*
 * The body of a request.  r: {systemIdentifier, environment, database,
 * role, action, statement, statementHash, objectsDigest, paramsDigest,
 * targets, moreTargets, flags, params: [{number, isnull, cut, value}], rows,
 * limitTables}; strings may be Buffers, to carry bytes that are not UTF-8.
 */
function requestBody(r) {
	const statement = bytesOf(r.statement);
	const params = r.params || [];
	const tables = r.limitTables || [];
	return Buffer.concat([
		u8(2),
		u64(r.systemIdentifier || 0),
		str(r.environment), str(r.database), str(r.role), str(r.action),
		r.statementHash ? hash(r.statementHash) : crypto.createHash('sha256').update(statement).digest(),
		hash(r.objectsDigest), hash(r.paramsDigest),
		u16((r.targets || []).length), ...(r.targets || []).map(str),
		u32(r.moreTargets || 0),
		u8(r.flags || 0),
		str(statement),
		u16(params.length),
		...params.map((p, i) => Buffer.concat([u16(p.number === undefined ? i + 1 : p.number),
			u8((p.isnull ? 1 : 0) | (p.cut ? 2 : 0)), str(p.value)])),
		u64(r.rows || 0),
		u16(tables.length), ...tables.map(u32),
	]);
}

function base64url(bytes) {
	return Buffer.from(bytes).toString('base64url');
}

function requestCode(r) {
	return 'agr1.' + base64url(requestBody(r));
}

/* a token body around a request body: {keyId, issuedAt, expiresAt, nonce, signature} */
function tokenCode(body, t = {}) {
	const i64 = v => {
		const b = Buffer.alloc(8);
		b.writeBigInt64BE(BigInt(v));
		return b;
	};
	return 'agt1.' + base64url(Buffer.concat([
		u8(1), u16(body.length), body,
		t.keyId || Buffer.alloc(8, 0x11),
		i64(t.issuedAt === undefined ? 1700000000 : t.issuedAt),
		i64(t.expiresAt === undefined ? 1700000900 : t.expiresAt),
		t.nonce || Buffer.alloc(16, 0x22),
		t.signature || Buffer.alloc(64, 0x33),
	]));
}

/*
 * What a shown text may never contain, once escaped: a C0 or C1 control
 * (newline and tab aside when layout is kept), DEL, a code point that
 * ag_escape_shown hides, or bytes that are not UTF-8.  Returns a description
 * of the first offence, or null.
 */
function unsafeShown(text, keepLayout = true) {
	const buf = Buffer.isBuffer(text) ? text : Buffer.from(text, 'latin1');
	let decoded;
	try {
		decoded = new TextDecoder('utf-8', {fatal: true}).decode(buf);
	} catch (e) {
		return 'bytes that are not UTF-8';
	}
	for (const ch of decoded) {
		const c = ch.codePointAt(0);
		if (keepLayout && (c === 0x0a || c === 0x09))
			continue;
		if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
			return 'control character U+' + c.toString(16).padStart(4, '0');
		if (c === 0x34f || c === 0x61c || c === 0xad || c === 0xfeff || c === 0x3164 ||
			(c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) ||
			(c >= 0x2060 && c <= 0x206f) || (c >= 0xfe00 && c <= 0xfe0f) ||
			(c >= 0xe0000 && c <= 0xe0fff))
			return 'hidden character U+' + c.toString(16).padStart(4, '0');
	}
	return null;
}

module.exports = {requestBody, requestCode, tokenCode, unsafeShown, base64url};
