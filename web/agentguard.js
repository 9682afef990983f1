/*
 * agentguard.js: the approval page.  Decodes request codes (agr1...) and
 * tokens (agt1...), signs a request with the DBA's Ed25519 key, and adds
 * that key's signature to a token another DBA signed (for a database whose
 * agentguard.required_signatures asks for more than one), in this browser
 * tab only.
 *
 * The codes and tokens themselves are codec.js's business, which mirrors the
 * server's codec; this file reads the key file, signs with Web Crypto the
 * way `agentguard sign` signs, and runs the page.
 *
 * Nothing here talks to the network: there is no fetch, XHR, WebSocket or
 * form submission, and the page's Content-Security-Policy forbids them too.
 * Untrusted text (everything decoded from a code) is only ever put into the
 * page with textContent, never as HTML.
 */
'use strict';

(function () {
	const {
		TOKEN_PREFIX, PUBKEY_PREFIX, KEY_ID_LEN, NONCE_LEN, SIGNATURE_LEN, PUBKEY_LEN, INDENT,
		TOKEN_VERSION, MAX_SIGNATURES,
		base64urlEncode, base64urlDecode, hex, trimSpace, parseRequest, decodeToken, parseToken,
		parsePublicKey, encodeToken, assembleToken, tokenMessage, findSigner, distinctSigners,
		describeFields, describeText, formatUtc, formatDuration, parseDuration,
	} = window.agentguardCodec;
	const DEFAULT_TTL = '15m';
	const MAX_KEY_FILE_BYTES = 64 * 1024;

	/* ---- what the DBA pastes ---- */

	/*
	 * The code alone, from what was pasted: a bare code, or the whole error
	 * text (the word after "request:").  Returns {text, note} or {error}.
	 */
	function extractCode(pasted) {
		const text = trimSpace(pasted);
		if (!/[ \t\n\r\f\v]/.test(text))
			return {text};
		const words = text.split(/[ \t\n\r\f\v]+/).filter(w => /^ag[rbtk]1\./.test(w));
		const distinct = [...new Set(words)];
		if (distinct.length === 1)
			return {text: distinct[0], note: 'took the code ' + distinct[0].slice(0, 5) +
				'… from the pasted text'};
		if (distinct.length > 1)
			return {error: 'the pasted text holds more than one code; paste one at a time'};
		return {error: 'this is not a request code (it must begin with "agr1.", or "agb1." for a rehearsal\'s batch): paste only the word after "request:" in the refusal'};
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

	function formatLocal(seconds) {
		const s = Number(seconds);
		if (!Number.isSafeInteger(s) || Math.abs(s) > 8640000000000)
			return '';
		return new Date(s * 1000).toLocaleString();
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

	/* ---- signing (the CLI's sign_request and cosign_token, with Web Crypto) ---- */

	/* whether signature i of t is valid for publicKey, whose key id it names */
	async function verifyToken(t, i, publicKey) {
		const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', publicKey));
		if (hex(digest.slice(0, KEY_ID_LEN)) !== hex(t.signatures[i].keyId))
			return false;
		const pub = await crypto.subtle.importKey('raw', publicKey, {name: 'Ed25519'}, false, ['verify']);
		return crypto.subtle.verify('Ed25519', pub, t.signatures[i].signature, tokenMessage(t.signedPart));
	}

	async function signatureOf(key, signedPart) {
		const signature = new Uint8Array(await crypto.subtle.sign('Ed25519', key.privateKey,
			tokenMessage(signedPart)));
		if (signature.length !== SIGNATURE_LEN)
			throw new Error('signing failed');
		return {keyId: key.keyId, signature};
	}

	/*
	 * Read a new token back the way the server will, as agentguard sign
	 * does: it names the request and signature i, this key's, verifies.
	 */
	async function checkedToken(key, body, requestBody, i) {
		const check = decodeToken(body);
		if (check.error)
			throw new Error('internal error: the new token does not decode: ' + check.error);
		if (hex(check.token.request.body) !== hex(requestBody))
			throw new Error('internal error: the new token names another request');
		if (!(await verifyToken(check.token, i, key.publicKey)))
			throw new Error('internal error: the new token does not verify');
		return check.token;
	}

	async function mintToken(key, requestBody, ttlSeconds) {
		const issuedAt = Math.floor(Date.now() / 1000);
		const expiresAt = issuedAt + ttlSeconds;
		const nonce = crypto.getRandomValues(new Uint8Array(NONCE_LEN));
		const signedPart = encodeToken(requestBody, issuedAt, expiresAt, nonce);
		const body = assembleToken(signedPart, [await signatureOf(key, signedPart)]);
		const token = await checkedToken(key, body, requestBody, 0);
		return {text: TOKEN_PREFIX + base64urlEncode(body), token};
	}

	/*
	 * One more signature on a token another DBA signed.  Its first signer
	 * chose what it approves and until when; this adds a signature over the
	 * same bytes.  Returns {text, token, again}: again when this key had
	 * signed already, which the server counts once.
	 */
	async function cosignToken(key, t) {
		if (t.version !== TOKEN_VERSION)
			throw new Error('this token is of version ' + t.version +
				', which carries one signature only; sign the request code instead');
		if (t.signatures.length >= MAX_SIGNATURES)
			throw new Error('this token already carries ' + MAX_SIGNATURES + ' signatures, the most a token can carry');
		if (t.expiresAt <= BigInt(Math.floor(Date.now() / 1000)))
			throw new Error('this token expired at ' + formatUtc(t.expiresAt) +
				'; ask for the request to be signed again');
		const again = findSigner(t, key.keyId) >= 0;
		const body = assembleToken(t.signedPart, [...t.signatures, await signatureOf(key, t.signedPart)]);
		const token = await checkedToken(key, body, t.request.body, t.signatures.length);
		return {text: TOKEN_PREFIX + base64urlEncode(body), token, again};
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
		paramsRow: $('f-params-row'),
		params: $('f-params'),
		rowsRow: $('f-rows-row'),
		rows: $('f-rows'),
		tables: $('f-tables'),
		plain: $('f-plain'),
		tokenFacts: $('token-facts'),
		signatures: $('t-signatures'),
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
		el.params.textContent = f.params.join('\n');
		el.paramsRow.hidden = f.params.length === 0;
		el.rows.textContent = f.rows === null ? '' : f.rows;
		el.tables.textContent = f.tables === null ? '' : f.tables;
		el.rowsRow.hidden = f.rows === null;
		if (r.batch)
			el.decodedHeading.textContent = asToken ? 'This token approves a rehearsal\'s batch (each statement once)' :
				'This rehearsal\'s batch asks for (each statement once)';
		else
			el.decodedHeading.textContent = asToken ? 'This token approves' : 'This request asks for';
		el.decoded.hidden = false;
	}

	/* "N (M distinct signers)", as agentguard inspect says it */
	function signatureCount(t) {
		const distinct = distinctSigners(t);
		return t.signatures.length + ' (' + distinct + ' distinct signer' + (distinct === 1 ? '' : 's') + ')';
	}

	/* each signature's key id, " (again)" after a repeated one */
	function signerKeyIds(t) {
		return t.signatures.map((sig, i) =>
			hex(sig.keyId) + (findSigner(t, sig.keyId) < i ? ' (again)' : ''));
	}

	function plainToken(t, verdict) {
		const now = BigInt(Math.floor(Date.now() / 1000));
		return 'token approving:\n' + describeText(t.request) +
			'signatures:    ' + signatureCount(t) + '\n' +
			signerKeyIds(t).map(k => 'signer key id: ' + k + '\n').join('') +
			'issued:        ' + formatUtc(t.issuedAt) + '\n' +
			'expires:       ' + formatUtc(t.expiresAt) + (t.expiresAt <= now ? ' EXPIRED' : '') + '\n' +
			'valid for:     ' + formatDuration(t.expiresAt - t.issuedAt) + '\n' +
			'nonce:         ' + hex(t.nonce) + '\n' +
			'signature:     ' + verdict + '\n';
	}

	function showToken(t) {
		const now = BigInt(Math.floor(Date.now() / 1000));
		showRequest(t.request, true);
		el.signatures.textContent = signatureCount(t);
		el.keyId.textContent = signerKeyIds(t).join(', ');
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
				/* as inspect --public-key: valid if a signature of that key verifies */
				let ok = 'none';
				try {
					const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', k.key));
					for (let i = 0; i < t.signatures.length && ok !== true; i++)
						if (hex(t.signatures[i].keyId) === hex(digest.slice(0, KEY_ID_LEN)))
							ok = await verifyToken(t, i, k.key);
				} catch (e) {
					ok = null;
				}
				if (run !== verifyRun)
					return;
				const pub = PUBKEY_PREFIX + base64urlEncode(k.key);
				if (ok === null) {
					verdict = 'not checked: ' + NO_ED25519;
					cls = 'bad';
				} else if (ok === true) {
					verdict = 'valid for ' + pub;
					cls = 'good';
				} else if (ok === 'none') {
					verdict = 'none by ' + pub;
					cls = 'bad';
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
			setText(el.codeNote, 'This is a token: below is what it approves and who signed it. ' +
				'Sign adds your signature to it, for a database whose agentguard.required_signatures ' +
				'asks for more than one signer. To sign a new token, paste the request code (agr1...) instead.');
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
		if (!state.request && !state.token)
			missing.push('a request code or a token');
		if (!state.key && !state.keyLoading)
			missing.push('your key file');
		/* a co-signer keeps the lifetime the first signer chose */
		el.ttl.disabled = state.token !== null;
		if (!state.token && parseDuration(el.ttl.value).error)
			missing.push('a valid lifetime');
		el.sign.classList.toggle('not-ready', missing.length > 0);
		el.signReady.textContent = missing.length ? 'needs ' + missing.join(', ') :
			state.token ? 'ready to add your signature to the token' : 'ready to sign';
	}

	async function onSign() {
		clearResult();
		if (!state.request && !state.token) {
			setText(el.signError, 'paste a request code (agr1...), or a token (agt1...) to add your signature to, first');
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
		if (state.token)
			return cosign(state.token);
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
		const local = formatLocal(minted.token.expiresAt);
		showResult(minted.text, 'valid for ' + formatDuration(d.seconds) + ', until ' +
			formatUtc(minted.token.expiresAt) + (local ? ' (' + local + ' here)' : '') +
			', for environment ' + describeFields(request).environment);
		setText(el.ttlNote, d.seconds > 3600 ?
			'note: the server refuses tokens valid for longer than agentguard.max_token_ttl (1h unless changed)' : '');
	}

	async function cosign(t) {
		let signed;
		try {
			signed = await cosignToken(state.key, t);
		} catch (e) {
			setText(el.signError, e && e.name === 'NotSupportedError' ? NO_ED25519 :
				(e && e.message ? e.message : String(e)));
			return;
		}
		if (state.token !== t)
			return;		/* the token changed while signing */
		const local = formatLocal(t.expiresAt);
		showResult(signed.text, 'your signature is added: the token now has ' + signatureCount(signed.token) +
			', valid until ' + formatUtc(t.expiresAt) + (local ? ' (' + local + ' here)' : '') +
			'. The database confirms it once it has as many distinct signers as its ' +
			'agentguard.required_signatures asks for (this page cannot read that setting: it talks to no server).');
		setText(el.ttlNote, signed.again ?
			'note: this key had signed this token already; the server counts a signer once, so another signer is needed' : '');
	}

	function showResult(text, validity) {
		el.token.value = text;
		el.sql.value = "SELECT agentguard.confirm('" + text + "');";
		/* tall enough to show it all in most windows, without a scrollbar */
		el.token.rows = el.sql.rows = Math.min(12, Math.ceil(el.sql.value.length / 80) + 1);
		el.validity.textContent = validity;
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
		parseRequest, parseToken, parsePublicKey, describeText, parseDuration, formatUtc,
		base64urlEncode, base64urlDecode,
	};

	init();
})();
