/*
 * codec.js: request codes, tokens and public keys for the approval page,
 * mirrored from the PostgreSQL-free codec of the server and the agentguard
 * program (src/request.h gives the formats, src/request.c and src/token.c
 * the rules).  Decoding, the plain-words description and the escaping of
 * shown text follow those files rule for rule, so the page shows exactly
 * what `agentguard inspect` prints and reads exactly what the server reads;
 * test/web/web-test.js compares the two over every code point.
 *
 * Nothing here touches the page or the network.  It defines one frozen
 * object, window.agentguardCodec, that agentguard.js uses.
 */
'use strict';

(function () {
	const REQUEST_PREFIX = 'agr1.';
	const TOKEN_PREFIX = 'agt1.';
	const PUBKEY_PREFIX = 'agk1.';
	const PREFIX_LEN = 5;
	const REQUEST_VERSION = 2;
	const TOKEN_VERSION = 2;
	const TOKEN_VERSION_SINGLE = 1;	/* one signature; still read */
	const TOKEN_CONTEXT = 'agentguard token v2';	/* signed with its NUL */
	const TOKEN_CONTEXT_V1 = 'agentguard token v1';
	const MAX_SIGNATURES = 5;
	const MAX_TARGETS = 256;
	const STATEMENT_SHOWN_MAX = 2048;
	const MAX_PARAMS = 100;
	const PARAM_SHOWN_MAX = 256;
	const MAX_LIMIT_TABLES = 256;
	const REQUEST_MAX_BYTES = 32768;
	/* a rehearsal's batch: request.h, batch.c */
	const BATCH_PREFIX = 'agb1.';
	const BATCH_VERSION = 0xb1;
	const BATCH_MAX_REQUESTS = 64;
	const BATCH_MAX_BYTES = 60000;
	const TOKEN_MAX_BYTES = BATCH_MAX_BYTES + 512;
	const HASH_LEN = 32;
	const KEY_ID_LEN = 8;
	const NONCE_LEN = 16;
	const SIGNATURE_LEN = 64;
	const PUBKEY_LEN = 32;
	const REQ_STATEMENT_CUT = 0x01;
	const REQ_ROWS = 0x02;
	const REQ_ROWS_MORE = 0x04;
	const REQ_FLAGS = 0x07;
	const TIME_MAX = 253402300799n;	/* 9999-12-31 23:59:59 UTC */
	const TIME_MIN = -62135596800n;	/* 0001-01-01 00:00:00 UTC */
	const TIMES_NONCE_LEN = 8 + 8 + NONCE_LEN;
	const SIGNATURE_ENTRY_LEN = KEY_ID_LEN + SIGNATURE_LEN;

	/* ---- bytes and base64url (strict, as ag_base64url_decode) ---- */

	const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
	const B64URL_VALUE = new Int16Array(128).fill(-1);
	for (let i = 0; i < 64; i++)
		B64URL_VALUE[B64URL.charCodeAt(i)] = i;

	function base64urlLength(n) {
		return Math.floor(n / 3) * 4 + (n % 3 ? n % 3 + 1 : 0);
	}

	function base64urlEncode(bytes) {
		let out = '';
		let i = 0;
		for (; i + 3 <= bytes.length; i += 3) {
			const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
			out += B64URL[(v >> 18) & 63] + B64URL[(v >> 12) & 63] +
				B64URL[(v >> 6) & 63] + B64URL[v & 63];
		}
		if (bytes.length - i === 1) {
			const v = bytes[i] << 16;
			out += B64URL[(v >> 18) & 63] + B64URL[(v >> 12) & 63];
		} else if (bytes.length - i === 2) {
			const v = (bytes[i] << 16) | (bytes[i + 1] << 8);
			out += B64URL[(v >> 18) & 63] + B64URL[(v >> 12) & 63] + B64URL[(v >> 6) & 63];
		}
		return out;
	}

	/*
	 * Returns the bytes, or null for a character outside the alphabet, a
	 * length no encoder produces, or unused low bits that are not zero: every
	 * byte string has exactly one text form.
	 */
	function base64urlDecode(text) {
		const n = text.length;
		if (n % 4 === 1)
			return null;
		const out = new Uint8Array(Math.floor(n / 4) * 3 + (n % 4 ? n % 4 - 1 : 0));
		let acc = 0;
		let bits = 0;
		let o = 0;
		for (let i = 0; i < n; i++) {
			const c = text.charCodeAt(i);
			const v = c < 128 ? B64URL_VALUE[c] : -1;
			if (v < 0)
				return null;
			acc = (acc << 6) | v;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				out[o++] = (acc >> bits) & 0xff;
			}
			acc &= (1 << bits) - 1;
		}
		if (acc !== 0)
			return null;
		return out;
	}

	function hex(bytes) {
		let s = '';
		for (const b of bytes)
			s += b.toString(16).padStart(2, '0');
		return s;
	}

	function concat(...parts) {
		let len = 0;
		for (const p of parts)
			len += p.length;
		const out = new Uint8Array(len);
		let pos = 0;
		for (const p of parts) {
			out.set(p, pos);
			pos += p.length;
		}
		return out;
	}

	function putBigEndian(out, pos, value, nbytes) {
		let v = BigInt.asUintN(nbytes * 8, BigInt(value));
		for (let i = nbytes - 1; i >= 0; i--) {
			out[pos + i] = Number(v & 0xffn);
			v >>= 8n;
		}
	}

	/* ---- request bodies (ag_request_decode) ---- */

	class Reader {
		constructor(bytes) {
			this.in = bytes;
			this.pos = 0;
			this.err = null;
		}
		bytes(n) {
			if (this.err)
				return null;
			if (n > this.in.length - this.pos) {
				this.err = 'request is truncated';
				return null;
			}
			const p = this.in.subarray(this.pos, this.pos + n);
			this.pos += n;
			return p;
		}
		u8() {
			const p = this.bytes(1);
			return p ? p[0] : 0;
		}
		u16() {
			const p = this.bytes(2);
			return p ? (p[0] << 8) | p[1] : 0;
		}
		u32() {
			const p = this.bytes(4);
			return p ? ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0 : 0;
		}
		u64() {
			const p = this.bytes(8);
			let v = 0n;
			if (!p)
				return v;
			for (const b of p)
				v = (v << 8n) | BigInt(b);
			return v;
		}
		str() {
			const n = this.u16();
			const p = this.bytes(n);
			if (!p)
				return new Uint8Array(0);
			if (p.includes(0)) {
				this.err = 'request contains a NUL byte';
				return new Uint8Array(0);
			}
			return p;
		}
	}

	/* request_defect in src/request.c: what no encoder produces */
	function requestDefect(r) {
		if (r.statement.length > STATEMENT_SHOWN_MAX)
			return 'the shown statement text is longer than allowed';
		for (const p of r.params)
			if (p.value.length > PARAM_SHOWN_MAX || (p.isnull && (p.value.length !== 0 || p.cut)))
				return 'a shown parameter value is longer than allowed';
		if ((r.flags & ~REQ_FLAGS) !== 0 || ((r.flags & REQ_ROWS_MORE) && !(r.flags & REQ_ROWS)))
			return 'the request has unknown flags';
		if (!(r.flags & REQ_ROWS) && (r.rows !== 0n || r.limitTables.length !== 0))
			return 'the request has rows but no count';
		return null;
	}

	/* Returns {request} or {error}, as ag_request_decode. */
	function decodeRequest(body) {
		const rd = new Reader(body);
		const r = {};
		if (body.length > REQUEST_MAX_BYTES)
			rd.err = 'request is too large';
		const version = rd.u8();
		if (!rd.err && version !== REQUEST_VERSION)
			rd.err = 'request has an unknown version (this agentguard reads version 2)';
		r.systemIdentifier = rd.u64();
		r.environment = rd.str();
		r.database = rd.str();
		r.role = rd.str();
		r.action = rd.str();
		r.statementHash = rd.bytes(HASH_LEN);
		r.objectsDigest = rd.bytes(HASH_LEN);
		r.paramsDigest = rd.bytes(HASH_LEN);
		const ntargets = rd.u16();
		if (!rd.err && ntargets > MAX_TARGETS)
			rd.err = 'request names too many objects';
		r.targets = [];
		for (let i = 0; i < ntargets && !rd.err; i++)
			r.targets.push(rd.str());
		r.moreTargets = rd.u32();
		r.flags = rd.u8();
		r.statement = rd.str();
		const nparams = rd.u16();
		if (!rd.err && nparams > MAX_PARAMS)
			rd.err = 'request has too many parameters';
		r.params = [];
		for (let i = 0; i < nparams && !rd.err; i++) {
			const number = rd.u16();
			const flags = rd.u8();
			if (!rd.err && flags > 3)
				rd.err = 'request has a damaged parameter';
			r.params.push({number: number, isnull: (flags & 1) !== 0, cut: (flags & 2) !== 0,
				value: rd.str()});
		}
		r.rows = rd.u64();
		const ntables = rd.u16();
		if (!rd.err && ntables > MAX_LIMIT_TABLES)
			rd.err = 'request names too many tables';
		r.limitTables = [];
		for (let i = 0; i < ntables && !rd.err; i++)
			r.limitTables.push(rd.u32());
		if (!rd.err)
			rd.err = requestDefect(r);
		if (!rd.err && r.action.length === 0)
			rd.err = 'request names no action';
		if (!rd.err && rd.pos !== body.length)
			rd.err = 'request has trailing bytes';
		if (rd.err)
			return {error: rd.err};
		r.body = body;
		return {request: r};
	}

	function sameBytes(a, b) {
		return a.length === b.length && a.every((v, i) => v === b[i]);
	}

	/*
	 * ag_batch_decode: {request} or {error}.  The request is the batch's
	 * first, with body the batch's bytes and batch every request in order.
	 */
	function decodeBatch(body) {
		if (body.length === 0)
			return {error: 'the batch is empty'};
		if (body.length > BATCH_MAX_BYTES)
			return {error: 'the batch is too long'};
		if (body[0] !== BATCH_VERSION)
			return {error: 'the batch version is not supported'};
		if (body.length < 3)
			return {error: 'the batch is truncated'};
		const n = (body[1] << 8) | body[2];
		if (n === 0)
			return {error: 'the batch holds no request'};
		if (n > BATCH_MAX_REQUESTS)
			return {error: 'the batch holds more than 64 requests'};
		const requests = [];
		let pos = 3;
		for (let i = 0; i < n; i++) {
			if (body.length - pos < 2)
				return {error: 'the batch is truncated'};
			const len = (body[pos] << 8) | body[pos + 1];
			pos += 2;
			if (len > body.length - pos)
				return {error: 'the batch is truncated'};
			const r = decodeRequest(body.subarray(pos, pos + len));
			if (r.error)
				return r;
			const q = r.request;
			if (i > 0 && (q.systemIdentifier !== requests[0].systemIdentifier ||
				!sameBytes(q.environment, requests[0].environment) ||
				!sameBytes(q.database, requests[0].database) || !sameBytes(q.role, requests[0].role)))
				return {error: 'the requests of the batch name different clusters, environments, databases or roles'};
			requests.push(q);
			pos += len;
		}
		if (pos !== body.length)
			return {error: 'the batch has trailing bytes'};
		return {request: Object.assign({}, requests[0], {body, batch: requests})};
	}

	/* ---- text pasted in ---- */

	function isSpace(c) {
		return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
	}

	function trimSpace(s) {
		let a = 0;
		let b = s.length;
		while (a < b && isSpace(s[a]))
			a++;
		while (b > a && isSpace(s[b - 1]))
			b--;
		return s.slice(a, b);
	}

	/* ag_batch_parse, for a rehearsal's batch code */
	function parseBatch(text) {
		if (!text.startsWith(BATCH_PREFIX))
			return {error: 'the batch code has an unknown version (this agentguard reads agb1.)'};
		if (text.length - PREFIX_LEN > base64urlLength(BATCH_MAX_BYTES))
			return {error: 'the batch code is too long'};
		const body = base64urlDecode(text.slice(PREFIX_LEN));
		if (body === null)
			return {error: 'the batch code is damaged (not valid base64url)'};
		return decodeBatch(body);
	}

	/* ag_request_parse, or ag_batch_parse for a batch code: {request} or {error} */
	function parseRequest(text) {
		if (text.length === 0)
			return {error: 'the request code is empty'};
		if (text.startsWith('agb'))
			return parseBatch(text);
		if (!text.startsWith(REQUEST_PREFIX)) {
			if (text.length >= PREFIX_LEN && text.startsWith('agr'))
				return {error: 'the request code has an unknown version (this agentguard reads agr1.)'};
			if (text.startsWith('agk'))
				return {error: 'this is a public key (agk1...), not a request code: paste the code from the refusal\'s "request:" line'};
			return {error: 'this is not a request code (it must begin with "agr1.")'};
		}
		if (base64urlLength(REQUEST_MAX_BYTES) < text.length - PREFIX_LEN)
			return {error: 'the request code is too long'};
		const body = base64urlDecode(text.slice(PREFIX_LEN));
		if (body === null)
			return {error: 'the request code is damaged (not valid base64url)'};
		return decodeRequest(body);
	}

	/* ---- tokens (ag_token_encode, ag_token_decode, ag_token_parse) ---- */

	/* times_defect: the rules a token's times follow, encoded or decoded */
	function timesDefect(issuedAt, expiresAt) {
		if (issuedAt < 0n)
			return 'token issue time is before 1970';
		if (expiresAt <= issuedAt)
			return 'token expires before it is issued';
		if (expiresAt > TIME_MAX)
			return 'token expiry is after the year 9999';
		return null;
	}

	/*
	 * ag_token_encode: the signed part of a new (version 2) token, what
	 * every signature covers.
	 */
	function encodeToken(requestBody, issuedAt, expiresAt, nonce) {
		const reqlen = requestBody.length;
		const defect = timesDefect(BigInt(issuedAt), BigInt(expiresAt));
		if (defect)
			throw new Error(defect);
		if (reqlen === 0 || reqlen > (requestBody[0] === BATCH_VERSION ? BATCH_MAX_BYTES : REQUEST_MAX_BYTES))
			throw new Error('the request is too large to sign');
		const body = new Uint8Array(3 + reqlen + TIMES_NONCE_LEN);
		let pos = 0;
		body[pos++] = TOKEN_VERSION;
		putBigEndian(body, pos, reqlen, 2);
		pos += 2;
		body.set(requestBody, pos);
		pos += reqlen;
		putBigEndian(body, pos, issuedAt, 8);
		pos += 8;
		putBigEndian(body, pos, expiresAt, 8);
		pos += 8;
		body.set(nonce, pos);
		return body;
	}

	/* ag_token_assemble: the signed part, then [{keyId, signature}] */
	function assembleToken(signedPart, signatures) {
		if (signatures.length < 1 || signatures.length > MAX_SIGNATURES)
			throw new Error('a token carries 1 to 5 signatures');
		if (signedPart[0] !== TOKEN_VERSION)
			throw new Error('only a version 2 token takes more signatures');
		return concat(signedPart, new Uint8Array([signatures.length]),
			...signatures.flatMap(s => [s.keyId, s.signature]));
	}

	const CONTEXT_BYTES = concat(new TextEncoder().encode(TOKEN_CONTEXT), new Uint8Array([0]));
	const CONTEXT_V1_BYTES = concat(new TextEncoder().encode(TOKEN_CONTEXT_V1), new Uint8Array([0]));

	/* ag_token_message: what a token's signatures cover, by its version */
	function tokenMessage(signedPart) {
		return concat(signedPart[0] === TOKEN_VERSION_SINGLE ? CONTEXT_V1_BYTES : CONTEXT_BYTES, signedPart);
	}

	/* ag_token_find_signer: the first signature with this key id, or -1 */
	function findSigner(t, keyId) {
		const want = hex(keyId);
		return t.signatures.findIndex(s => hex(s.keyId) === want);
	}

	/* ag_token_distinct_signers */
	function distinctSigners(t) {
		return new Set(t.signatures.map(s => hex(s.keyId))).size;
	}

	function decodeTimesNonce(view, body, pos, t) {
		t.issuedAt = view.getBigInt64(pos);
		t.expiresAt = view.getBigInt64(pos + 8);
		t.nonce = body.subarray(pos + 16, pos + 16 + NONCE_LEN);
		return timesDefect(t.issuedAt, t.expiresAt);
	}

	/* ag_token_decode, both versions */
	function decodeToken(body) {
		if (body.length === 0)
			return {error: 'token is empty'};
		if (body.length > TOKEN_MAX_BYTES)
			return {error: 'token is too long'};
		if (body[0] !== TOKEN_VERSION && body[0] !== TOKEN_VERSION_SINGLE)
			return {error: 'token version is not supported'};
		if (body.length < 3)
			return {error: 'token is truncated'};
		const reqlen = (body[1] << 8) | body[2];
		if (reqlen === 0)
			return {error: 'token names no request'};
		if (reqlen > body.length - 3)
			return {error: 'token is truncated'};
		const isBatch = body[3] === BATCH_VERSION;
		if (isBatch && body[0] !== TOKEN_VERSION)
			return {error: 'a batch is signed only in a version 2 token'};
		const req = isBatch ? decodeBatch(body.subarray(3, 3 + reqlen)) : decodeRequest(body.subarray(3, 3 + reqlen));
		if (req.error)
			return req;
		let pos = 3 + reqlen;
		const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
		const t = {request: req.request, version: body[0], signatures: []};
		if (t.version === TOKEN_VERSION_SINGLE) {
			const tail = KEY_ID_LEN + TIMES_NONCE_LEN + SIGNATURE_LEN;
			if (body.length - pos < tail)
				return {error: 'token is truncated'};
			if (body.length - pos > tail)
				return {error: 'token has trailing bytes'};
			const keyId = body.subarray(pos, pos + KEY_ID_LEN);
			pos += KEY_ID_LEN;
			const defect = decodeTimesNonce(view, body, pos, t);
			if (defect)
				return {error: defect};
			pos += TIMES_NONCE_LEN;
			t.signedPart = body.subarray(0, pos);
			t.signatures.push({keyId, signature: body.subarray(pos, pos + SIGNATURE_LEN)});
			return {token: t};
		}
		if (body.length - pos < TIMES_NONCE_LEN + 1)
			return {error: 'token is truncated'};
		const defect = decodeTimesNonce(view, body, pos, t);
		if (defect)
			return {error: defect};
		pos += TIMES_NONCE_LEN;
		t.signedPart = body.subarray(0, pos);
		const n = body[pos++];
		if (n === 0)
			return {error: 'token carries no signature'};
		if (n > MAX_SIGNATURES)
			return {error: 'token carries more than 5 signatures'};
		if (body.length - pos < n * SIGNATURE_ENTRY_LEN)
			return {error: 'token is truncated'};
		if (body.length - pos > n * SIGNATURE_ENTRY_LEN)
			return {error: 'token has trailing bytes'};
		for (let i = 0; i < n; i++, pos += SIGNATURE_ENTRY_LEN)
			t.signatures.push({
				keyId: body.subarray(pos, pos + KEY_ID_LEN),
				signature: body.subarray(pos + KEY_ID_LEN, pos + SIGNATURE_ENTRY_LEN),
			});
		return {token: t};
	}

	function parseToken(text) {
		if (text.length === 0)
			return {error: 'token is empty'};
		if (text.length > PREFIX_LEN + base64urlLength(TOKEN_MAX_BYTES))
			return {error: 'token is too long'};
		if (!text.startsWith(TOKEN_PREFIX))
			return {error: 'token version is not supported'};
		const body = base64urlDecode(text.slice(PREFIX_LEN));
		if (body === null || body.length === 0)
			return {error: body === null ? 'token is not valid base64url' : 'token is empty'};
		return decodeToken(body);
	}

	function parsePublicKey(text) {
		text = trimSpace(text);
		if (text.length === 0)
			return {error: 'public key is empty'};
		if (text.startsWith('-----BEGIN'))
			return {error: 'this is a PEM file, not a public key (use the line agentguard keygen printed)'};
		if (text.startsWith(TOKEN_PREFIX))
			return {error: 'this is a token, not a public key'};
		if (text.startsWith(REQUEST_PREFIX))
			return {error: 'this is a request code, not a public key'};
		if (!text.startsWith(PUBKEY_PREFIX))
			return {error: 'not a public key (a public key starts with "agk1.")'};
		if (text.length !== PREFIX_LEN + 43)
			return {error: 'public key has the wrong length'};
		const key = base64urlDecode(text.slice(PREFIX_LEN));
		if (key === null || key.length !== PUBKEY_LEN)
			return {error: 'public key is not valid base64url'};
		return {key};
	}

	/* ---- plain words (ag_request_describe) ---- */

	const INDENT = '             ';	/* under "statement:   " */

	/*
	 * is_hidden_code_point in src/request.c: invisible, or changes how what
	 * follows is shown (C1 controls, of which U+009B is a terminal's CSI;
	 * bidirectional marks and overrides; zero-width and other invisible
	 * format characters; line and paragraph separators; variation selectors
	 * and tag characters).  The same list as the C code, so that the page
	 * and the terminal show a crafted name the same way.
	 */
	function isHiddenCodePoint(cp) {
		return (cp >= 0x80 && cp <= 0x9f) || cp === 0xad || cp === 0x34f ||
			cp === 0x61c || cp === 0x115f || cp === 0x1160 || cp === 0x17b4 ||
			cp === 0x17b5 || (cp >= 0x180b && cp <= 0x180f) ||
			(cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
			(cp >= 0x2060 && cp <= 0x206f) || cp === 0x3164 ||
			(cp >= 0xfe00 && cp <= 0xfe0f) || cp === 0xfeff || cp === 0xffa0 ||
			(cp >= 0xfff0 && cp <= 0xfffb) || (cp >= 0x1d173 && cp <= 0x1d17a) ||
			(cp >= 0xe0000 && cp <= 0xe0fff);
	}

	/*
	 * utf8_sequence in src/request.c: [length, code point] of the
	 * well-formed UTF-8 sequence at bytes[i], or [0, 0] (overlong forms,
	 * surrogates and values past U+10FFFF are not well-formed).
	 */
	function utf8Sequence(bytes, i) {
		const b = bytes[i];
		let len;
		let v;
		if (b < 0x80)
			return [1, b];
		if (b >= 0xc2 && b <= 0xdf)
			[len, v] = [2, b & 0x1f];
		else if (b >= 0xe0 && b <= 0xef)
			[len, v] = [3, b & 0x0f];
		else if (b >= 0xf0 && b <= 0xf4)
			[len, v] = [4, b & 0x07];
		else
			return [0, 0];
		if (len > bytes.length - i)
			return [0, 0];
		for (let k = 1; k < len; k++) {
			if ((bytes[i + k] & 0xc0) !== 0x80)
				return [0, 0];
			v = (v << 6) | (bytes[i + k] & 0x3f);
		}
		if ((len === 3 && v < 0x800) || (len === 4 && (v < 0x10000 || v > 0x10ffff)) ||
			(v >= 0xd800 && v <= 0xdfff))
			return [0, 0];
		return [len, v];
	}

	const hex2 = n => n.toString(16).padStart(2, '0');

	/*
	 * ag_escape_shown: text shown to a person, made unambiguous.  Bytes that
	 * are not UTF-8 become \xNN, control characters \xNN, hidden code points
	 * \u{XXXX}, a backslash \\.  keepLayout keeps newlines (followed by
	 * indent) and tabs.  What is decoded from a code only ever reaches the
	 * page through this and textContent, never as HTML.
	 */
	function shown(bytes, keepLayout, indent = '') {
		let out = '';
		let i = 0;
		while (i < bytes.length) {
			const [n, cp] = utf8Sequence(bytes, i);
			if (n === 0) {
				out += '\\x' + hex2(bytes[i]);
				i++;
				continue;
			}
			if (keepLayout && (cp === 0x0a || cp === 0x09))
				out += cp === 0x0a ? '\n' + indent : '\t';
			else if (cp === 0x5c)
				out += '\\\\';
			else if (cp < 0x20 || cp === 0x7f)
				out += '\\x' + hex2(cp);
			else if (isHiddenCodePoint(cp))
				out += '\\u{' + cp.toString(16).toUpperCase().padStart(4, '0') + '}';
			else
				out += String.fromCodePoint(cp);
			i += n;
		}
		return out;
	}

	const CUT_NOTE = ' [...] (cut for display; the approval covers the whole statement)';
	const PARAM_CUT_NOTE = ' [...] (cut for display; the approval covers the whole value)';

	/*
	 * The fields of a batch: where and for whom once, every action, object
	 * and statement in order, parameters and rows numbered by statement.
	 */
	function batchFields(r) {
		const each = r.batch.map(q => describeFields(q));
		const numbered = (list, i) => list.map(x => (i + 1) + '. ' + x);
		const rows = each.flatMap((f, i) => f.rows === null ? [] : numbered([f.rows], i));
		return Object.assign({}, each[0], {
			action: 'batch of ' + each.length + ' statement' + (each.length === 1 ? '' : 's') +
				': ' + each.map(f => f.action).join(', '),
			objects: each.map(f => f.objects).join(', '),
			statement: each.map((f, i) => (i + 1) + '. ' + f.statement + (f.cut ? CUT_NOTE : '')).join('\n' + INDENT),
			cut: false,
			params: each.flatMap((f, i) => numbered(f.params, i)),
			rows: rows.length === 0 ? null : rows.join('\n'),
			tables: rows.length === 0 ? null :
				each.flatMap((f, i) => f.tables === null ? [] : numbered([f.tables], i)).join('\n'),
		});
	}

	function describeFields(r) {
		if (r.batch)
			return batchFields(r);
		const rowsCounted = (r.flags & REQ_ROWS) !== 0;
		const more = (r.flags & REQ_ROWS_MORE) !== 0;
		return {
			environment: r.environment.length === 0 ? 'unnamed' : shown(r.environment, false),
			unnamed: r.environment.length === 0,
			action: shown(r.action, false),
			objects: (r.targets.length === 0 ? '(none named)' :
				r.targets.map(t => shown(t, false)).join(', ')) +
				(r.moreTargets > 0 ? ', and ' + r.moreTargets + ' more' : ''),
			database: shown(r.database, false),
			cluster: r.systemIdentifier.toString(10),
			role: shown(r.role, false),
			statement: shown(r.statement, true, INDENT),
			cut: (r.flags & REQ_STATEMENT_CUT) !== 0,
			params: r.params.map(p => '$' + p.number + ' = ' +
				(p.isnull ? 'NULL' : "'" + shown(p.value, false) + "'" + (p.cut ? PARAM_CUT_NOTE : ''))),
			rows: !rowsCounted ? null : (more ? 'more than ' : '') + r.rows.toString(10) +
				(more ? ' (counting stopped there; the approval does not limit the count)' :
					' (counted when it was refused; the approval allows at most this many)'),
			tables: !rowsCounted ? null : r.limitTables.length +
				(r.limitTables.length === 1 ? ' table may change' : ' tables may change'),
		};
	}

	/* the lines `agentguard inspect` prints for a batch: ag_batch_describe */
	function batchText(r) {
		const f = describeFields(r.batch[0]);
		const n = r.batch.length;
		let out = 'batch:       ' + n + ' statement' + (n === 1 ? '' : 's') +
			' from one rehearsal; each may run once\n' +
			'environment: ' + f.environment + '\n' +
			'database:    ' + f.database + '\n' +
			'cluster:     ' + f.cluster + '\n' +
			'role:        ' + f.role + '\n';
		r.batch.forEach((q, i) => {
			out += '\n--- statement ' + (i + 1) + ' of ' + n + ' ---\n' + describeText(q);
		});
		return out;
	}

	/* the lines `agentguard inspect` prints for a request */
	function describeText(r) {
		if (r.batch)
			return batchText(r);
		const f = describeFields(r);
		let out = 'environment: ' + f.environment + '\n' +
			'action:      ' + f.action + '\n' +
			'objects:     ' + f.objects + '\n' +
			'database:    ' + f.database + '\n' +
			'cluster:     ' + f.cluster + '\n' +
			'role:        ' + f.role + '\n' +
			'statement:   ' + f.statement + (f.cut ? CUT_NOTE : '');
		f.params.forEach((p, i) => {
			out += (i === 0 ? '\nparameters:  ' : '\n' + INDENT) + p;
		});
		if (f.rows !== null)
			out += '\nrows:        ' + f.rows + '\ntables:      ' + f.tables;
		return out + '\n';
	}

	/* ---- times and durations ---- */

	/* days since 1970-01-01 to a civil date, as civil_from_days in C */
	function civilFromDays(days) {
		const z = days + 719468;
		const era = Math.trunc((z >= 0 ? z : z - 146096) / 146097);
		const doe = z - era * 146097;
		const yoe = Math.trunc((doe - Math.trunc(doe / 1460) + Math.trunc(doe / 36524) -
			Math.trunc(doe / 146096)) / 365);
		const doy = doe - (365 * yoe + Math.trunc(yoe / 4) - Math.trunc(yoe / 100));
		const mp = Math.trunc((5 * doy + 2) / 153);
		const day = doy - Math.trunc((153 * mp + 2) / 5) + 1;
		const month = mp < 10 ? mp + 3 : mp - 9;
		return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day];
	}

	/* ag_format_utc: any 64-bit time, out of range ones said so */
	function formatUtc(seconds) {
		const s = BigInt(seconds);
		if (s < TIME_MIN || s > TIME_MAX)
			return 'out of range (' + s.toString() + ' seconds)';
		let days = Number(s / 86400n);
		let rest = Number(s % 86400n);
		if (rest < 0) {
			rest += 86400;
			days--;
		}
		const [year, month, day] = civilFromDays(days);
		const p = n => String(n).padStart(2, '0');
		return String(year).padStart(4, '0') + '-' + p(month) + '-' + p(day) + ' ' +
			p(Math.trunc(rest / 3600)) + ':' + p(Math.trunc(rest / 60) % 60) + ':' + p(rest % 60) + ' UTC';
	}

	function formatDuration(seconds) {
		const s = BigInt(seconds);
		if (s % 86400n === 0n)
			return (s / 86400n) + 'd';
		if (s % 3600n === 0n)
			return (s / 3600n) + 'h';
		if (s % 60n === 0n)
			return (s / 60n) + 'm';
		return s + 's';
	}

	const MAX_TTL_SECONDS = 30 * 24 * 60 * 60;
	const TTL_SYNTAX = 'must be a number with an optional unit s, m, h or d (like 90s, 15m, 1h)';

	/* parse_duration in the command-line tool: {seconds} or {error} */
	function parseDuration(text) {
		const m = /^([0-9]+)([smhd]?)$/.exec(trimSpace(text));
		if (!m)
			return {error: TTL_SYNTAX};
		const unit = {'': 1, s: 1, m: 60, h: 3600, d: 86400}[m[2]];
		const digits = m[1].replace(/^0+(?=.)/, '');
		if (digits.length > 8 || Number(digits) > MAX_TTL_SECONDS)
			return {error: 'is longer than the 30 days this tool signs for'};
		const value = Number(digits);
		if (value === 0)
			return {error: 'must be more than zero'};
		if (value > MAX_TTL_SECONDS / unit)
			return {error: 'is longer than the 30 days this tool signs for'};
		return {seconds: value * unit};
	}

	window.agentguardCodec = Object.freeze({
		TOKEN_PREFIX, PUBKEY_PREFIX, KEY_ID_LEN, NONCE_LEN, SIGNATURE_LEN, PUBKEY_LEN, INDENT,
		TOKEN_VERSION, MAX_SIGNATURES,
		base64urlEncode, base64urlDecode, hex, trimSpace, parseRequest, decodeToken, parseToken,
		parsePublicKey, encodeToken, assembleToken, tokenMessage, findSigner, distinctSigners,
		describeFields, describeText, formatUtc, formatDuration, parseDuration,
	});
})();
