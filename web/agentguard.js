/*
 * agentguard.js: the approval page.  Decodes request codes (agr1...) and
 * tokens (agt1...) and signs a request with the DBA's Ed25519 key, in this
 * browser tab only.
 *
 * The formats are those of src/request.h; decoding follows src/request.c and
 * src/token.c rule for rule, and signing follows mint_token() in
 * src/cli/agentguard.c, so a token made here is one the server accepts and
 * `agentguard inspect` reads like its own.
 *
 * Nothing here talks to the network: there is no fetch, XHR, WebSocket or
 * form submission, and the page's Content-Security-Policy forbids them too.
 * Untrusted text (everything decoded from a code) is only ever put into the
 * page with textContent, never as HTML.
 */
'use strict';

(function () {
	const REQUEST_PREFIX = 'agr1.';
	const TOKEN_PREFIX = 'agt1.';
	const PUBKEY_PREFIX = 'agk1.';
	const PREFIX_LEN = 5;
	const REQUEST_VERSION = 1;
	const TOKEN_VERSION = 1;
	const TOKEN_CONTEXT = 'agentguard token v1';	/* signed with its NUL */
	const MAX_TARGETS = 256;
	const STATEMENT_SHOWN_MAX = 2048;
	const REQUEST_MAX_BYTES = 32768;
	const TOKEN_MAX_BYTES = REQUEST_MAX_BYTES + 128;
	const HASH_LEN = 32;
	const KEY_ID_LEN = 8;
	const NONCE_LEN = 16;
	const SIGNATURE_LEN = 64;
	const PUBKEY_LEN = 32;
	const STATEMENT_CUT = 0x01;
	const TOKEN_TAIL_LEN = KEY_ID_LEN + 8 + 8 + NONCE_LEN + SIGNATURE_LEN;
	const DEFAULT_TTL = '15m';
	const MAX_TTL_SECONDS = 30 * 24 * 60 * 60;
	const MAX_KEY_FILE_BYTES = 64 * 1024;

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

	/* Returns {request} or {error}. */
	function decodeRequest(body) {
		const rd = new Reader(body);
		const r = {};
		if (body.length > REQUEST_MAX_BYTES)
			rd.err = 'request is too large';
		const version = rd.u8();
		if (!rd.err && version !== REQUEST_VERSION)
			rd.err = 'request has an unknown version (this agentguard reads version 1)';
		r.systemIdentifier = rd.u64();
		r.environment = rd.str();
		r.database = rd.str();
		r.role = rd.str();
		r.action = rd.str();
		const ntargets = rd.u16();
		if (!rd.err && ntargets > MAX_TARGETS)
			rd.err = 'request names too many objects';
		r.targets = [];
		for (let i = 0; i < ntargets && !rd.err; i++)
			r.targets.push(rd.str());
		r.statementHash = rd.bytes(HASH_LEN);
		r.flags = rd.u8();
		if (!rd.err && (r.flags & ~STATEMENT_CUT) !== 0)
			rd.err = 'request has unknown flags';
		r.statement = rd.str();
		if (!rd.err && r.statement.length > STATEMENT_SHOWN_MAX)
			rd.err = 'request statement text is longer than allowed';
		if (!rd.err && r.action.length === 0)
			rd.err = 'request names no action';
		if (!rd.err && rd.pos !== body.length)
			rd.err = 'request has trailing bytes';
		if (rd.err)
			return {error: rd.err};
		r.body = body;
		return {request: r};
	}

	/* ---- what the DBA pastes ---- */

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

	/*
	 * The code alone, from what was pasted: a bare code, or the whole error
	 * text (the word after "request:").  Returns {text, note} or {error}.
	 */
	function extractCode(pasted) {
		const text = trimSpace(pasted);
		if (!/[ \t\n\r\f\v]/.test(text))
			return {text};
		const words = text.split(/[ \t\n\r\f\v]+/).filter(w => /^ag[rtk]1\./.test(w));
		const distinct = [...new Set(words)];
		if (distinct.length === 1)
			return {text: distinct[0], note: 'took the code ' + distinct[0].slice(0, 5) +
				'… from the pasted text'};
		if (distinct.length > 1)
			return {error: 'the pasted text holds more than one code; paste one at a time'};
		return {error: 'this is not a request code (it must begin with "agr1."): paste only the word after "request:" in the refusal'};
	}

	function asciiDefect(text) {
		for (let i = 0; i < text.length; i++) {
			const c = text.charCodeAt(i);
			if (c === 0)
				return 'the code contains a NUL byte';
			if (c >= 0x80)
				return 'the code contains non-ASCII characters (copied with quotes or other decoration?)';
		}
		return null;
	}

	/* ag_request_parse: {request} or {error} */
	function parseRequest(text) {
		if (text.length === 0)
			return {error: 'the request code is empty'};
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

	/* ---- tokens (ag_token_decode, ag_token_parse) ---- */

	function decodeToken(body) {
		if (body.length === 0)
			return {error: 'token is empty'};
		if (body.length > TOKEN_MAX_BYTES)
			return {error: 'token is too long'};
		if (body[0] !== TOKEN_VERSION)
			return {error: 'token version is not supported'};
		if (body.length < 3)
			return {error: 'token is truncated'};
		const reqlen = (body[1] << 8) | body[2];
		if (reqlen === 0)
			return {error: 'token names no request'};
		if (reqlen > body.length - 3)
			return {error: 'token is truncated'};
		const req = decodeRequest(body.subarray(3, 3 + reqlen));
		if (req.error)
			return req;
		let pos = 3 + reqlen;
		if (body.length - pos < TOKEN_TAIL_LEN)
			return {error: 'token is truncated'};
		if (body.length - pos > TOKEN_TAIL_LEN)
			return {error: 'token has trailing bytes'};
		const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
		const t = {request: req.request};
		t.keyId = body.subarray(pos, pos + KEY_ID_LEN);
		pos += KEY_ID_LEN;
		t.issuedAt = view.getBigInt64(pos);
		pos += 8;
		t.expiresAt = view.getBigInt64(pos);
		pos += 8;
		t.nonce = body.subarray(pos, pos + NONCE_LEN);
		pos += NONCE_LEN;
		if (t.issuedAt < 0n)
			return {error: 'token issue time is before 1970'};
		if (t.expiresAt <= t.issuedAt)
			return {error: 'token expires before it is issued'};
		t.signedPart = body.subarray(0, pos);
		t.signature = body.subarray(pos, pos + SIGNATURE_LEN);
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

	const utf8 = new TextDecoder('utf-8', {fatal: false});
	const INDENT = '             ';	/* under "statement:   " */

	/*
	 * Control characters are shown escaped, as the command-line tool does,
	 * so a crafted code cannot hide or fake a line.  The page also escapes
	 * what a terminal would not show either but a browser would act on:
	 * C1 controls, bidirectional overrides, zero-width and other invisible
	 * format characters, and line or paragraph separators.
	 */
	function shown(bytes, keepLayout) {
		let out = '';
		for (const ch of utf8.decode(bytes)) {
			const c = ch.codePointAt(0);
			if (c < 0x20 || c === 0x7f) {
				if (keepLayout && c === 0x0a)
					out += '\n' + INDENT;
				else if (keepLayout && c === 0x09)
					out += '\t';
				else
					out += '\\x' + c.toString(16).padStart(2, '0');
			} else if ((c >= 0x80 && c <= 0x9f) || /[\p{Cf}\p{Zl}\p{Zp}]/u.test(ch)) {
				out += '\\u' + c.toString(16).padStart(4, '0');
			} else
				out += ch;
		}
		return out;
	}

	function describeFields(r) {
		return {
			environment: r.environment.length === 0 ? 'unnamed' : shown(r.environment, false),
			unnamed: r.environment.length === 0,
			action: shown(r.action, false),
			objects: r.targets.length === 0 ? '(none named)' :
				r.targets.map(t => shown(t, false)).join(', '),
			database: shown(r.database, false),
			cluster: r.systemIdentifier.toString(10),
			role: shown(r.role, false),
			statement: shown(r.statement, true),
			cut: (r.flags & STATEMENT_CUT) !== 0,
		};
	}

	const CUT_NOTE = ' [...] (cut for display; the approval covers the whole statement)';

	/* the lines `agentguard inspect` prints for a request */
	function describeText(r) {
		const f = describeFields(r);
		return 'environment: ' + f.environment + '\n' +
			'action:      ' + f.action + '\n' +
			'objects:     ' + f.objects + '\n' +
			'database:    ' + f.database + '\n' +
			'cluster:     ' + f.cluster + '\n' +
			'role:        ' + f.role + '\n' +
			'statement:   ' + f.statement + (f.cut ? CUT_NOTE : '') + '\n';
	}

	/* ---- times and durations ---- */

	function formatUtc(seconds) {
		const s = BigInt(seconds);
		if (s < -8640000000000n || s > 8640000000000n)
			return s.toString() + ' seconds after 1970-01-01 UTC';
		const d = new Date(Number(s) * 1000);
		const p = n => String(n).padStart(2, '0');
		return d.getUTCFullYear() + '-' + p(d.getUTCMonth() + 1) + '-' + p(d.getUTCDate()) +
			' ' + p(d.getUTCHours()) + ':' + p(d.getUTCMinutes()) + ':' + p(d.getUTCSeconds()) + ' UTC';
	}

	function formatLocal(seconds) {
		const s = Number(seconds);
		if (!Number.isSafeInteger(s) || Math.abs(s) > 8640000000000)
			return '';
		return new Date(s * 1000).toLocaleString();
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

	/* ---- the private key file ---- */

	const KEY_ALGORITHMS = {
		'2b6570': 'Ed25519',
		'2b6571': 'Ed448',
		'2b656e': 'X25519',
		'2b656f': 'X448',
		'2a864886f70d010101': 'RSA',
		'2a864886f70d01010a': 'RSA-PSS',
		'2a8648ce3d0201': 'EC',
		'2a8648ce380401': 'DSA',
	};

	class KeyFileError extends Error {}

	/* minimal DER reading: one TLV at pos; {tag, start, end} */
	function derItem(der, pos) {
		if (pos + 2 > der.length)
			throw new KeyFileError('the key file is damaged (its PEM content is cut short)');
		const tag = der[pos];
		let len = der[pos + 1];
		let start = pos + 2;
		if (len & 0x80) {
			const n = len & 0x7f;
			if (n === 0 || n > 3 || start + n > der.length)
				throw new KeyFileError('the key file is damaged (its PEM content is not a valid key)');
			len = 0;
			for (let i = 0; i < n; i++)
				len = len * 256 + der[start + i];
			start += n;
		}
		if (start + len > der.length)
			throw new KeyFileError('the key file is damaged (its PEM content is cut short)');
		return {tag, start, end: start + len};
	}

	/* the algorithm a PKCS#8 PrivateKeyInfo names: its OID in hex */
	function pkcs8Algorithm(der) {
		const outer = derItem(der, 0);
		if (outer.tag !== 0x30)
			throw new KeyFileError('the key file does not hold a PKCS#8 private key');
		const version = derItem(der, outer.start);
		if (version.tag !== 0x02)
			throw new KeyFileError('the key file does not hold a PKCS#8 private key');
		const alg = derItem(der, version.end);
		if (alg.tag !== 0x30)
			throw new KeyFileError('the key file does not hold a PKCS#8 private key');
		const oid = derItem(der, alg.start);
		if (oid.tag !== 0x06)
			throw new KeyFileError('the key file does not hold a PKCS#8 private key');
		return hex(der.subarray(oid.start, oid.end));
	}

	function notEd25519(name, what) {
		return new KeyFileError('"' + name + '" is ' + what + ', not an Ed25519 key; ' +
			'agentguard signs only with Ed25519 keys (make one with agentguard keygen)');
	}

	function webCryptoMissing() {
		return !(window.crypto && window.crypto.subtle);
	}

	const NO_WEBCRYPTO = 'this browser offers no Web Crypto here (it needs a secure context: open the file directly, or serve it over https); sign with "agentguard sign" instead';
	const NO_ED25519 = 'this browser cannot sign with Ed25519 (Web Crypto Ed25519 needs Chrome or Edge 137+, Firefox 129+ or Safari 17+); sign with "agentguard sign" instead';

	/*
	 * Read the PEM file agentguard keygen wrote.  Returns {privateKey (not
	 * extractable), publicKey (raw bytes), keyId}.
	 */
	async function loadKeyFile(file) {
		const name = file.name;
		if (webCryptoMissing())
			throw new KeyFileError(NO_WEBCRYPTO);
		if (file.size === 0)
			throw new KeyFileError('"' + name + '" is empty');
		if (file.size > MAX_KEY_FILE_BYTES)
			throw new KeyFileError('"' + name + '" is too large to be a key file (expected the small PEM file agentguard keygen wrote)');
		const raw = new Uint8Array(await file.arrayBuffer());
		const text = new TextDecoder('latin1').decode(raw);
		raw.fill(0);

		const trimmed = trimSpace(text);
		if (trimmed.startsWith(PUBKEY_PREFIX))
			throw new KeyFileError('"' + name + '" holds a public key (agk1...); pick the private key file that agentguard keygen wrote');
		const pem = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(text);
		if (!pem) {
			if (trimmed.includes('-----BEGIN'))
				throw new KeyFileError('"' + name + '" is a damaged PEM file (its END line is missing)');
			throw new KeyFileError('"' + name + '" is not a PEM key file (expected the file agentguard keygen wrote, which begins "-----BEGIN PRIVATE KEY-----")');
		}
		const label = pem[1];
		if (label === 'OPENSSH PRIVATE KEY')
			throw new KeyFileError('"' + name + '" is an OpenSSH key; agentguard reads PKCS#8 PEM keys (make one with agentguard keygen)');
		if (label === 'ENCRYPTED PRIVATE KEY')
			throw new KeyFileError('"' + name + '" is protected with a passphrase; this page reads unencrypted keys as agentguard keygen writes them');
		if (label === 'PUBLIC KEY')
			throw new KeyFileError('"' + name + '" holds a public key; pick the private key file');
		if (label === 'RSA PRIVATE KEY')
			throw notEd25519(name, 'an RSA key');
		if (label === 'EC PRIVATE KEY')
			throw notEd25519(name, 'an EC key');
		if (label === 'DSA PRIVATE KEY')
			throw notEd25519(name, 'a DSA key');
		if (label !== 'PRIVATE KEY')
			throw new KeyFileError('"' + name + '" holds a ' + label.toLowerCase().replace(/ key$/, '') +
				' key or other PEM data ("' + label + '"), not the private key agentguard keygen writes');

		let der;
		try {
			const bin = atob(pem[2].replace(/[ \t\r\n]+/g, ''));
			der = new Uint8Array(bin.length);
			for (let i = 0; i < bin.length; i++)
				der[i] = bin.charCodeAt(i);
		} catch (e) {
			throw new KeyFileError('"' + name + '" is a damaged PEM file (its content is not valid base64)');
		}

		try {
			const oid = pkcs8Algorithm(der);
			if (oid !== '2b6570') {
				const alg = KEY_ALGORITHMS[oid];
				throw notEd25519(name, alg ? (/^[AEIOUR]/.test(alg) ? 'an ' : 'a ') + alg + ' key' : 'a key of another kind');
			}
			let privateKey;
			let publicKey;
			try {
				/*
				 * Web Crypto has no call that derives the public half from an
				 * Ed25519 private key, but its JWK export carries it ("x").
				 * The extractable copy lives only for that export; signing
				 * uses a copy that cannot be exported.
				 */
				const tmp = await crypto.subtle.importKey('pkcs8', der, {name: 'Ed25519'}, true, ['sign']);
				const jwk = await crypto.subtle.exportKey('jwk', tmp);
				publicKey = base64urlDecode(jwk.x || '');
				jwk.d = '';
				privateKey = await crypto.subtle.importKey('pkcs8', der, {name: 'Ed25519'}, false, ['sign']);
			} catch (e) {
				if (e && e.name === 'NotSupportedError')
					throw new KeyFileError(NO_ED25519);
				throw new KeyFileError('"' + name + '" is a damaged key file (the browser could not read it as an Ed25519 private key)');
			}
			if (!publicKey || publicKey.length !== PUBKEY_LEN)
				throw new KeyFileError('could not get the public half of the key');
			const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', publicKey));
			return {
				name,
				privateKey,
				publicKey,
				keyId: digest.slice(0, KEY_ID_LEN),
				publicKeyText: PUBKEY_PREFIX + base64urlEncode(publicKey),
			};
		} finally {
			der.fill(0);
		}
	}

	/* ---- signing (mint_token) ---- */

	const CONTEXT_BYTES = concat(new TextEncoder().encode(TOKEN_CONTEXT), new Uint8Array([0]));

	async function verifyToken(t, publicKey) {
		const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', publicKey));
		if (hex(digest.slice(0, KEY_ID_LEN)) !== hex(t.keyId))
			return false;
		const pub = await crypto.subtle.importKey('raw', publicKey, {name: 'Ed25519'}, false, ['verify']);
		return crypto.subtle.verify('Ed25519', pub, t.signature, concat(CONTEXT_BYTES, t.signedPart));
	}

	async function mintToken(key, requestBody, ttlSeconds) {
		const reqlen = requestBody.length;
		if (reqlen === 0 || reqlen > REQUEST_MAX_BYTES)
			throw new Error('the request is too large to sign');
		const issuedAt = Math.floor(Date.now() / 1000);
		const expiresAt = issuedAt + ttlSeconds;
		const body = new Uint8Array(3 + reqlen + TOKEN_TAIL_LEN);
		let pos = 0;
		body[pos++] = TOKEN_VERSION;
		putBigEndian(body, pos, reqlen, 2);
		pos += 2;
		body.set(requestBody, pos);
		pos += reqlen;
		body.set(key.keyId, pos);
		pos += KEY_ID_LEN;
		putBigEndian(body, pos, issuedAt, 8);
		pos += 8;
		putBigEndian(body, pos, expiresAt, 8);
		pos += 8;
		crypto.getRandomValues(body.subarray(pos, pos + NONCE_LEN));
		pos += NONCE_LEN;

		/* the context string, NUL included, then everything so far */
		const message = concat(CONTEXT_BYTES, body.subarray(0, pos));
		const signature = new Uint8Array(await crypto.subtle.sign('Ed25519', key.privateKey, message));
		if (signature.length !== SIGNATURE_LEN)
			throw new Error('signing failed');
		body.set(signature, pos);

		/* read it back the way the server will, as agentguard sign does */
		const check = decodeToken(body);
		if (check.error)
			throw new Error('internal error: the new token does not decode: ' + check.error);
		if (hex(check.token.request.body) !== hex(requestBody))
			throw new Error('internal error: the new token names another request');
		if (!(await verifyToken(check.token, key.publicKey)))
			throw new Error('internal error: the new token does not verify');
		return {text: TOKEN_PREFIX + base64urlEncode(body), issuedAt, expiresAt};
	}

	/* ---- the page ---- */

	const $ = id => document.getElementById(id);

	const el = {
		code: $('code'),
		codeError: $('code-error'),
		codeNote: $('code-note'),
		decoded: $('decoded'),
		decodedHeading: $('decoded-heading'),
		environment: $('f-environment'),
		environmentNote: $('f-environment-note'),
		action: $('f-action'),
		objects: $('f-objects'),
		database: $('f-database'),
		cluster: $('f-cluster'),
		role: $('f-role'),
		statement: $('f-statement'),
		cut: $('f-cut'),
		plain: $('f-plain'),
		tokenFacts: $('token-facts'),
		keyId: $('t-keyid'),
		issued: $('t-issued'),
		expires: $('t-expires'),
		validFor: $('t-validfor'),
		nonce: $('t-nonce'),
		verifyKey: $('verify-key'),
		verifyResult: $('verify-result'),
		signSection: $('sign-section'),
		keyFile: $('key'),
		keyStatus: $('key-status'),
		keyError: $('key-error'),
		ttl: $('ttl'),
		ttlError: $('ttl-error'),
		sign: $('sign'),
		signReady: $('sign-ready'),
		signError: $('sign-error'),
		result: $('result'),
		token: $('token'),
		sql: $('sql'),
		validity: $('validity'),
		ttlNote: $('ttl-note'),
		copyStatus: $('copy-status'),
		browserError: $('browser-error'),
	};

	const state = {
		request: null,	/* decoded request code, ready to sign */
		token: null,	/* decoded token, shown for inspection */
		key: null,
		keyLoading: null,
	};

	function setText(node, text) {
		node.textContent = text;
		node.hidden = text === '';
	}

	function clearResult() {
		el.result.hidden = true;
		el.token.value = '';
		el.sql.value = '';
		setText(el.copyStatus, '');
		setText(el.signError, '');
	}

	function showRequest(r, asToken) {
		const f = describeFields(r);
		el.environment.textContent = f.environment;
		el.environment.classList.toggle('unnamed', f.unnamed);
		setText(el.environmentNote, f.unnamed ?
			'agentguard.environment is not set on that cluster' : '');
		el.action.textContent = f.action;
		el.objects.textContent = f.objects;
		el.database.textContent = f.database;
		el.cluster.textContent = f.cluster;
		el.role.textContent = f.role;
		el.statement.textContent = f.statement.split('\n' + INDENT).join('\n');
		el.cut.hidden = !f.cut;
		el.decodedHeading.textContent = asToken ? 'This token approves' : 'This request asks for';
		el.decoded.hidden = false;
	}

	function plainToken(t, verdict) {
		const now = BigInt(Math.floor(Date.now() / 1000));
		return 'token approving:\n' + describeText(t.request) +
			'signer key id: ' + hex(t.keyId) + '\n' +
			'issued:        ' + formatUtc(t.issuedAt) + '\n' +
			'expires:       ' + formatUtc(t.expiresAt) + (t.expiresAt <= now ? ' EXPIRED' : '') + '\n' +
			'valid for:     ' + formatDuration(t.expiresAt - t.issuedAt) + '\n' +
			'nonce:         ' + hex(t.nonce) + '\n' +
			'signature:     ' + verdict + '\n';
	}

	function showToken(t) {
		const now = BigInt(Math.floor(Date.now() / 1000));
		showRequest(t.request, true);
		el.keyId.textContent = hex(t.keyId);
		el.issued.textContent = formatUtc(t.issuedAt);
		const local = formatLocal(t.expiresAt);
		el.expires.textContent = formatUtc(t.expiresAt) + (local ? ' (' + local + ' here)' : '') +
			(t.expiresAt <= now ? ' — EXPIRED' : '');
		el.expires.classList.toggle('expired', t.expiresAt <= now);
		el.validFor.textContent = formatDuration(t.expiresAt - t.issuedAt);
		el.nonce.textContent = hex(t.nonce);
		el.tokenFacts.hidden = false;
		checkSignature();
	}

	let verifyRun = 0;

	async function checkSignature() {
		const run = ++verifyRun;
		const t = state.token;
		if (!t)
			return;
		const text = el.verifyKey.value;
		let verdict = 'not checked (give a public key to check it)';
		let cls = '';
		if (trimSpace(text) !== '') {
			const k = parsePublicKey(text);
			if (k.error) {
				verdict = 'not checked: ' + k.error;
				cls = 'bad';
			} else if (webCryptoMissing()) {
				verdict = 'not checked: ' + NO_WEBCRYPTO;
				cls = 'bad';
			} else {
				let ok;
				try {
					ok = await verifyToken(t, k.key);
				} catch (e) {
					ok = null;
				}
				if (run !== verifyRun)
					return;
				const pub = PUBKEY_PREFIX + base64urlEncode(k.key);
				if (ok === null) {
					verdict = 'not checked: ' + NO_ED25519;
					cls = 'bad';
				} else if (ok) {
					verdict = 'valid for ' + pub;
					cls = 'good';
				} else {
					verdict = 'DOES NOT VERIFY with ' + pub;
					cls = 'bad';
				}
			}
		}
		el.verifyResult.textContent = verdict;
		el.verifyResult.className = 'verdict ' + cls;
		el.plain.textContent = plainToken(t, verdict);
	}

	function onCodeInput() {
		state.request = null;
		state.token = null;
		clearResult();
		setText(el.codeError, '');
		setText(el.codeNote, '');
		el.decoded.hidden = true;
		el.tokenFacts.hidden = true;
		el.code.removeAttribute('aria-invalid');
		updateSignButton();

		const pasted = el.code.value;
		if (trimSpace(pasted) === '')
			return;
		const fail = msg => {
			setText(el.codeError, msg);
			el.code.setAttribute('aria-invalid', 'true');
		};
		const ex = extractCode(pasted);
		if (ex.error)
			return fail(ex.error);
		if (ex.note)
			setText(el.codeNote, ex.note);
		const defect = asciiDefect(ex.text);
		if (defect)
			return fail(defect);

		if (ex.text.startsWith('agt')) {
			const t = parseToken(ex.text);
			if (t.error)
				return fail(t.error);
			state.token = t.token;
			showToken(t.token);
			setText(el.codeNote, 'This is a token, not a request code: below is what it approves. ' +
				'To sign, paste the request code (agr1...) from the refusal instead.');
			updateSignButton();
			return;
		}
		const r = parseRequest(ex.text);
		if (r.error)
			return fail(r.error);
		state.request = r.request;
		showRequest(r.request, false);
		el.plain.textContent = describeText(r.request);
		updateSignButton();
	}

	function onTtlInput() {
		clearResult();
		const d = parseDuration(el.ttl.value);
		if (d.error) {
			setText(el.ttlError, 'time to live "' + trimSpace(el.ttl.value) + '" ' + d.error);
			el.ttl.setAttribute('aria-invalid', 'true');
		} else {
			setText(el.ttlError, '');
			el.ttl.removeAttribute('aria-invalid');
		}
		updateSignButton();
	}

	async function onKeyChange() {
		clearResult();
		state.key = null;
		setText(el.keyError, '');
		setText(el.keyStatus, '');
		el.keyFile.removeAttribute('aria-invalid');
		const file = el.keyFile.files && el.keyFile.files[0];
		if (!file) {
			updateSignButton();
			return;
		}
		setText(el.keyStatus, 'reading ' + file.name + '…');
		const loading = loadKeyFile(file);
		state.keyLoading = loading;
		try {
			const key = await loading;
			if (state.keyLoading !== loading)
				return;
			state.key = key;
			setText(el.keyStatus, 'key loaded from ' + key.name + ': key id ' + hex(key.keyId) +
				', public key ' + key.publicKeyText);
		} catch (e) {
			if (state.keyLoading !== loading)
				return;
			setText(el.keyStatus, '');
			setText(el.keyError, e instanceof KeyFileError ? e.message :
				'could not read "' + file.name + '": ' + (e && e.message ? e.message : e));
			el.keyFile.setAttribute('aria-invalid', 'true');
		} finally {
			if (state.keyLoading === loading)
				state.keyLoading = null;
			updateSignButton();
		}
	}

	/*
	 * The button stays usable and says what is missing, rather than going
	 * grey without a reason.
	 */
	function updateSignButton() {
		const missing = [];
		if (!state.request)
			missing.push(state.token ? 'a request code (a token is pasted)' : 'a request code');
		if (!state.key && !state.keyLoading)
			missing.push('your key file');
		if (parseDuration(el.ttl.value).error)
			missing.push('a valid lifetime');
		el.sign.classList.toggle('not-ready', missing.length > 0);
		el.signReady.textContent = missing.length ? 'needs ' + missing.join(', ') : 'ready to sign';
	}

	async function onSign() {
		clearResult();
		if (!state.request) {
			setText(el.signError, state.token ?
				'a token is already signed: paste the request code (agr1...) to sign a new one' :
				'paste a request code (agr1...) first');
			return;
		}
		if (state.keyLoading) {
			try {
				await state.keyLoading;
			} catch (e) {
				/* reported by onKeyChange */
			}
		}
		if (!state.key) {
			setText(el.signError, el.keyError.textContent ||
				'pick your private key file (the one agentguard keygen wrote) first');
			if (!el.keyError.textContent)
				el.keyFile.focus();
			return;
		}
		const d = parseDuration(el.ttl.value);
		if (d.error) {
			setText(el.signError, 'time to live "' + trimSpace(el.ttl.value) + '" ' + d.error);
			el.ttl.focus();
			return;
		}
		const request = state.request;
		let minted;
		try {
			minted = await mintToken(state.key, request.body, d.seconds);
		} catch (e) {
			setText(el.signError, e && e.name === 'NotSupportedError' ? NO_ED25519 :
				(e && e.message ? e.message : String(e)));
			return;
		}
		if (state.request !== request)
			return;		/* the code changed while signing */
		el.token.value = minted.text;
		el.sql.value = "SELECT agentguard.confirm('" + minted.text + "');";
		/* tall enough to show it all in most windows, without a scrollbar */
		el.token.rows = el.sql.rows = Math.min(12, Math.ceil(el.sql.value.length / 80) + 1);
		const local = formatLocal(minted.expiresAt);
		el.validity.textContent = 'valid for ' + formatDuration(d.seconds) + ', until ' +
			formatUtc(minted.expiresAt) + (local ? ' (' + local + ' here)' : '') +
			', for environment ' + describeFields(request).environment;
		setText(el.ttlNote, d.seconds > 3600 ?
			'note: the server refuses tokens valid for longer than agentguard.max_token_ttl (1h unless changed)' : '');
		el.result.hidden = false;
		el.token.focus();
		el.token.select();
	}

	async function copyFrom(id) {
		const field = $(id);
		if (!field.value)
			return;
		let done = false;
		try {
			if (navigator.clipboard && navigator.clipboard.writeText) {
				await navigator.clipboard.writeText(field.value);
				done = true;
			}
		} catch (e) {
			done = false;
		}
		if (!done) {
			field.focus();
			field.select();
			try {
				done = document.execCommand('copy');
			} catch (e) {
				done = false;
			}
		}
		setText(el.copyStatus, done ? 'copied ' + (id === 'sql' ? 'the SQL' : 'the token') :
			'could not copy: it is selected, press Ctrl+C (or ⌘C)');
	}

	function init() {
		el.code.addEventListener('input', onCodeInput);
		el.ttl.addEventListener('input', onTtlInput);
		el.keyFile.addEventListener('change', onKeyChange);
		el.verifyKey.addEventListener('input', checkSignature);
		el.sign.addEventListener('click', onSign);
		for (const button of document.querySelectorAll('button[data-copy]'))
			button.addEventListener('click', () => copyFrom(button.dataset.copy));
		if (!el.ttl.value)
			el.ttl.value = DEFAULT_TTL;
		if (webCryptoMissing())
			setText(el.browserError, NO_WEBCRYPTO + '. Decoding still works.');
		document.documentElement.classList.add('js');
		/* a browser may keep what was typed across a reload */
		onCodeInput();
		onTtlInput();
		if (el.keyFile.files && el.keyFile.files.length)
			onKeyChange();
	}

	/* for a test or a curious DBA at the console; the page does not need it */
	window.agentguard = {
		parseRequest, parseToken, parsePublicKey, describeText, parseDuration,
		base64urlEncode, base64urlDecode,
	};

	init();
})();
