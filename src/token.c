/*
 * token.c
 *		Confirmation tokens and signer keys: encode, decode, check, verify.
 *
 * A token is a request body (or a batch of them, batch.c) wrapped with when it was issued and expires, a
 * nonce, and the Ed25519 signatures of one or more DBAs over all of that;
 * request.h gives the layout of both versions, and this file is the only
 * code that writes or reads them.  Signing itself needs the private key,
 * which lives with the DBA: the command-line tool signs what
 * ag_token_message returns, and the server, which links this file too,
 * never holds a private key and has no code that signs.
 *
 * Like request.c this includes no PostgreSQL headers, so the server, the
 * command-line tool and the fuzzer all share it.  The decoders never
 * allocate and never read past the length they are given: what they return
 * points into the caller's buffer.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "request.h"
#include "text.h"

/* version byte and the request length in front of the request body */
#define TOKEN_HEAD_LEN	(1 + 2)

/* after the request body (and in version 1 the key id): times and nonce */
#define TOKEN_TIMES_NONCE_LEN	(8 + 8 + AG_NONCE_LEN)
#define SIGNATURE_ENTRY_LEN		(AG_KEY_ID_LEN + AG_SIGNATURE_LEN)

/* AG_TOKEN_MESSAGE_MAX is counted with one context string for both */
_Static_assert(sizeof(AG_TOKEN_CONTEXT_V1) == sizeof(AG_TOKEN_CONTEXT),
			   "the context strings of both versions have one length");

static bool
fail(const char **err, const char *reason)
{
	if (err)
		*err = reason;
	return false;
}

/*
 * Text that came from a terminal or a web form may carry anything.  Say so
 * plainly rather than letting base64url report "bad character" for a NUL
 * byte or a pasted smart quote.
 */
static const char *
text_defect(const char *text, size_t len, const char *what_nul,
			const char *what_nonascii)
{
	size_t		i;

	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) text[i];

		if (c == 0)
			return what_nul;
		if (c >= 0x80)
			return what_nonascii;
	}
	return NULL;
}

/*
 * How many bytes base64url text of n characters decodes to; n % 4 == 1 is
 * impossible and left for the decoder to reject.
 */
static size_t
decoded_length(size_t n)
{
	size_t		full = (n / 4) * 3;

	switch (n % 4)
	{
		case 2:
			return full + 1;
		case 3:
			return full + 2;
		default:
			return full;
	}
}

/*
 * The rules a token's times must follow, for the encoder and the decoder
 * alike, so that nothing is encoded that would not decode.
 */
static const char *
times_defect(int64_t issued_at, int64_t expires_at)
{
	/*
	 * A negative issue time is no real token, and refusing it means
	 * expires_at - issued_at can never overflow for the lifetime check.
	 */
	if (issued_at < 0)
		return "token issue time is before 1970";
	if (expires_at <= issued_at)
		return "token expires before it is issued";
	if (expires_at > AG_TIME_MAX)
		return "token expiry is after the year 9999";
	return NULL;
}

size_t
ag_token_encode(const uint8_t *request, size_t reqlen, int64_t issued_at,
				int64_t expires_at, const uint8_t nonce[AG_NONCE_LEN],
				uint8_t *out, size_t cap, const char **err)
{
	size_t		pos = 0;
	const char *defect = times_defect(issued_at, expires_at);

	if (reqlen == 0 ||
		reqlen > (ag_is_batch(request, reqlen) ? AG_BATCH_MAX_BYTES : AG_REQUEST_MAX_BYTES))
		defect = "the request is too large to sign";
	else if (cap < TOKEN_HEAD_LEN + reqlen + TOKEN_TIMES_NONCE_LEN)
		defect = "the buffer is too small for the token";
	if (defect)
	{
		fail(err, defect);
		return 0;
	}

	out[pos++] = AG_TOKEN_VERSION;
	ag_put_be16(out + pos, (uint16_t) reqlen);
	pos += 2;
	memcpy(out + pos, request, reqlen);
	pos += reqlen;
	ag_put_be64(out + pos, (uint64_t) issued_at);
	pos += 8;
	ag_put_be64(out + pos, (uint64_t) expires_at);
	pos += 8;
	memcpy(out + pos, nonce, AG_NONCE_LEN);
	pos += AG_NONCE_LEN;
	return pos;
}

size_t
ag_token_assemble(const uint8_t *signed_part, size_t signed_len,
				  const AgSignature *signatures, int n, uint8_t *out,
				  size_t cap, const char **err)
{
	size_t		pos = signed_len;

	if (n < 1 || n > AG_MAX_SIGNATURES)
	{
		fail(err, "a token carries 1 to 5 signatures");
		return 0;
	}
	if (signed_len == 0 || signed_part[0] != AG_TOKEN_VERSION)
	{
		fail(err, "only a version 2 token takes more signatures");
		return 0;
	}
	if (cap < signed_len + 1 + (size_t) n * SIGNATURE_ENTRY_LEN)
	{
		fail(err, "the buffer is too small for the token");
		return 0;
	}
	if (out != signed_part)
		memmove(out, signed_part, signed_len);
	out[pos++] = (uint8_t) n;
	for (int i = 0; i < n; i++)
	{
		memcpy(out + pos, signatures[i].key_id, AG_KEY_ID_LEN);
		pos += AG_KEY_ID_LEN;
		memcpy(out + pos, signatures[i].signature, AG_SIGNATURE_LEN);
		pos += AG_SIGNATURE_LEN;
	}
	return pos;
}

/*
 * The context string, NUL included, keeps a token signature from being valid
 * for anything else the same key might ever sign, and the version's own
 * string keeps a signature of one layout from being read in the other.
 */
size_t
ag_token_message(const uint8_t *signed_part, size_t len, uint8_t *out)
{
	const char *context = (len > 0 && signed_part[0] == AG_TOKEN_VERSION_SINGLE) ?
		AG_TOKEN_CONTEXT_V1 : AG_TOKEN_CONTEXT;
	memcpy(out, context, sizeof(AG_TOKEN_CONTEXT));
	memcpy(out + sizeof(AG_TOKEN_CONTEXT), signed_part, len);
	return sizeof(AG_TOKEN_CONTEXT) + len;
}

/* the times and nonce at body + pos, checked */
static bool
decode_times_nonce(const uint8_t *body, size_t pos, AgToken *t,
				   const char **err)
{
	const char *defect;

	t->issued_at = ag_get_be64_signed(body + pos);
	t->expires_at = ag_get_be64_signed(body + pos + 8);
	memcpy(t->nonce, body + pos + 16, AG_NONCE_LEN);
	if ((defect = times_defect(t->issued_at, t->expires_at)) != NULL)
		return fail(err, defect);
	return true;
}

/* version 1: key id, times, nonce, one signature over all before it */
static bool
decode_single(const uint8_t *body, size_t len, size_t pos, AgToken *t,
			  const char **err)
{
	if (len - pos < AG_KEY_ID_LEN + TOKEN_TIMES_NONCE_LEN + AG_SIGNATURE_LEN)
		return fail(err, "token is truncated");
	if (len - pos > AG_KEY_ID_LEN + TOKEN_TIMES_NONCE_LEN + AG_SIGNATURE_LEN)
		return fail(err, "token has trailing bytes");
	memcpy(t->signatures[0].key_id, body + pos, AG_KEY_ID_LEN);
	pos += AG_KEY_ID_LEN;
	if (!decode_times_nonce(body, pos, t, err))
		return false;
	pos += TOKEN_TIMES_NONCE_LEN;
	t->signed_len = pos;
	memcpy(t->signatures[0].signature, body + pos, AG_SIGNATURE_LEN);
	t->nsignatures = 1;
	return true;
}

/* version 2: times, nonce, then 1 to 5 key ids with their signatures */
static bool
decode_multiple(const uint8_t *body, size_t len, size_t pos, AgToken *t,
				const char **err)
{
	int			n;

	if (len - pos < TOKEN_TIMES_NONCE_LEN + 1)
		return fail(err, "token is truncated");
	if (!decode_times_nonce(body, pos, t, err))
		return false;
	pos += TOKEN_TIMES_NONCE_LEN;
	t->signed_len = pos;
	n = body[pos++];
	if (n == 0)
		return fail(err, "token carries no signature");
	if (n > AG_MAX_SIGNATURES)
		return fail(err, "token carries more than 5 signatures");
	if (len - pos < (size_t) n * SIGNATURE_ENTRY_LEN)
		return fail(err, "token is truncated");
	if (len - pos > (size_t) n * SIGNATURE_ENTRY_LEN)
		return fail(err, "token has trailing bytes");
	for (int i = 0; i < n; i++)
	{
		memcpy(t->signatures[i].key_id, body + pos, AG_KEY_ID_LEN);
		pos += AG_KEY_ID_LEN;
		memcpy(t->signatures[i].signature, body + pos, AG_SIGNATURE_LEN);
		pos += AG_SIGNATURE_LEN;
	}
	t->nsignatures = n;
	return true;
}

bool
ag_token_decode(const uint8_t *body, size_t len, AgToken *t, const char **err)
{
	size_t		reqlen;
	bool		ok;

	memset(t, 0, sizeof(*t));

	if (body == NULL || len == 0)
		return fail(err, "token is empty");
	if (len > AG_TOKEN_MAX_BYTES)
		return fail(err, "token is too long");
	if (body[0] != AG_TOKEN_VERSION && body[0] != AG_TOKEN_VERSION_SINGLE)
		return fail(err, "token version is not supported");
	if (len < TOKEN_HEAD_LEN)
		return fail(err, "token is truncated");

	reqlen = ag_get_be16(body + 1);
	if (reqlen == 0)
		return fail(err, "token names no request");
	if (reqlen > len - TOKEN_HEAD_LEN)
		return fail(err, "token is truncated");

	/*
	 * The request keeps its own canonical bytes: the server compares the
	 * decoded request with the statement at hand, and the signatures cover
	 * these exact bytes.  A batch token shows its first request there; the
	 * batch says the rest.
	 */
	if (ag_is_batch(body + TOKEN_HEAD_LEN, reqlen))
	{
		if (body[0] != AG_TOKEN_VERSION)
			return fail(err, "a batch is signed only in a version 2 token");
		if (!ag_batch_decode(body + TOKEN_HEAD_LEN, reqlen, &t->batch, &t->request, err) ||
			!ag_batch_request(&t->batch, 0, &t->request))
			return false;
		t->is_batch = true;
	}
	else if (!ag_request_decode(body + TOKEN_HEAD_LEN, reqlen, &t->request, err))
		return false;
	t->request_body = body + TOKEN_HEAD_LEN;
	t->request_len = reqlen;
	t->version = body[0];
	t->signed_part = body;

	if (t->version == AG_TOKEN_VERSION_SINGLE)
		ok = decode_single(body, len, TOKEN_HEAD_LEN + reqlen, t, err);
	else
		ok = decode_multiple(body, len, TOKEN_HEAD_LEN + reqlen, t, err);
	if (ok)
		t->len = len;
	return ok;
}

bool
ag_token_parse(const char *text, size_t textlen, uint8_t *buf, size_t cap,
			   AgToken *t, const char **err)
{
	const char *defect;
	long		got;

	memset(t, 0, sizeof(*t));

	if (text == NULL)
		return fail(err, "token is empty");
	ag_trim(&text, &textlen);
	if (textlen == 0)
		return fail(err, "token is empty");

	/* checked before looking at the characters, so huge input costs little */
	if (textlen > AG_PREFIX_LEN + ag_base64url_length(AG_TOKEN_MAX_BYTES))
		return fail(err, "token is too long");

	defect = text_defect(text, textlen, "token contains a NUL byte",
						 "token contains non-ASCII characters");
	if (defect)
		return fail(err, defect);

	if (!ag_has_prefix(text, textlen, AG_TOKEN_PREFIX))
	{
		if (ag_has_prefix(text, textlen, AG_REQUEST_PREFIX) ||
			ag_has_prefix(text, textlen, AG_BATCH_PREFIX))
			return fail(err, "this is a request code, not a token; sign it first");
		if (textlen >= AG_PREFIX_LEN && memcmp(text, "agt", 3) == 0 &&
			text[4] == '.')
			return fail(err, "token version is not supported");
		return fail(err, "not a token (a token starts with \"" AG_TOKEN_PREFIX "\")");
	}
	text += AG_PREFIX_LEN;
	textlen -= AG_PREFIX_LEN;
	if (textlen == 0)
		return fail(err, "token is empty");

	if (decoded_length(textlen) > cap)
		return fail(err, "token is too long");
	got = ag_base64url_decode(text, textlen, buf, cap);
	if (got < 0)
		return fail(err, "token is not valid base64url");

	return ag_token_decode(buf, (size_t) got, t, err);
}

bool
ag_token_verify(const AgToken *t, int i, const uint8_t public_key[AG_PUBKEY_LEN])
{
	/* Ed25519 in OpenSSL signs in one shot, so the message is built whole */
	uint8_t		msg[AG_TOKEN_MESSAGE_MAX];
	uint8_t		kid[AG_KEY_ID_LEN];
	size_t		msglen;
	EVP_PKEY   *pkey = NULL;
	EVP_MD_CTX *ctx = NULL;
	bool		ok = false;

	if (t == NULL || public_key == NULL || t->signed_part == NULL ||
		t->signed_len == 0 || t->signed_len > AG_TOKEN_MAX_BYTES ||
		i < 0 || i >= t->nsignatures)
		return false;

	/*
	 * A signature that names one signer and verifies with another is not
	 * what its signer produced, and is not accepted as theirs: the server
	 * counts signers by the key ids a token names.
	 */
	ag_key_id(public_key, kid);
	if (CRYPTO_memcmp(kid, t->signatures[i].key_id, AG_KEY_ID_LEN) != 0)
		return false;

	msglen = ag_token_message(t->signed_part, t->signed_len, msg);

	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
									   public_key, AG_PUBKEY_LEN);
	if (pkey == NULL)
		goto done;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		goto done;
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1)
		goto done;
	ok = (EVP_DigestVerify(ctx, t->signatures[i].signature, AG_SIGNATURE_LEN,
						   msg, msglen) == 1);

done:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);

	/*
	 * A failed verification leaves entries on OpenSSL's error queue; in the
	 * server that queue is shared with the SSL connection, which would
	 * misread them later as its own errors.
	 */
	ERR_clear_error();
	return ok;
}

int
ag_token_find_signer(const AgToken *t, const uint8_t key_id[AG_KEY_ID_LEN])
{
	for (int i = 0; i < t->nsignatures; i++)
		if (memcmp(t->signatures[i].key_id, key_id, AG_KEY_ID_LEN) == 0)
			return i;
	return -1;
}

int
ag_token_distinct_signers(const AgToken *t)
{
	int			n = 0;

	for (int i = 0; i < t->nsignatures; i++)
		if (ag_token_find_signer(t, t->signatures[i].key_id) == i)
			n++;
	return n;
}

/*
 * Encodings of the eight points of small order (and their non-canonical
 * spellings), compared with the sign bit masked off.  A signer key among
 * them would accept signatures that prove nothing about who made them, and
 * no real key generator produces one, so such a key is a mistake or a trap.
 */
static const uint8_t small_order_keys[][AG_PUBKEY_LEN] = {
	/* y = 0, order 4 */
	{0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
	/* y = 1, the identity */
	{0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
	/* order 8 */
	{0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0,
		0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
		0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39,
	0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
	/* order 8 */
	{0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f,
		0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f,
		0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6,
	0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
	/* y = p - 1, order 2 */
	{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}
};

/*
 * Whether a public key is one we refuse to trust: a point of small order,
 * or a y coordinate written non-canonically (p <= y < 2^255), which no
 * encoder produces and which covers the spellings p and p + 1 of y = 0, 1.
 */
static bool
pubkey_is_weak(const uint8_t key[AG_PUBKEY_LEN])
{
	size_t		i;
	size_t		k;
	bool		noncanonical;

	for (k = 0; k < sizeof(small_order_keys) / sizeof(small_order_keys[0]); k++)
	{
		if (memcmp(key, small_order_keys[k], AG_PUBKEY_LEN - 1) == 0 &&
			(key[AG_PUBKEY_LEN - 1] & 0x7f) == small_order_keys[k][AG_PUBKEY_LEN - 1])
			return true;
	}

	/* little-endian y >= 2^255 - 19: top byte 0x7f, then 0xff..., low >= 0xed */
	noncanonical = (key[AG_PUBKEY_LEN - 1] & 0x7f) == 0x7f && key[0] >= 0xed;
	for (i = 1; noncanonical && i < AG_PUBKEY_LEN - 1; i++)
		if (key[i] != 0xff)
			noncanonical = false;
	return noncanonical;
}

bool
ag_pubkey_parse(const char *text, size_t len, uint8_t out[AG_PUBKEY_LEN],
				const char **err)
{
	uint8_t		key[AG_PUBKEY_LEN];
	const char *defect;
	long		got;

	if (text == NULL)
		return fail(err, "public key is empty");
	ag_trim(&text, &len);
	if (len == 0)
		return fail(err, "public key is empty");
	if (len >= 10 && memcmp(text, "-----BEGIN", 10) == 0)
		return fail(err, "this is a PEM file, not a public key (use the line agentguard keygen printed)");
	if (len > AG_PUBKEY_TEXT_LEN + 64)
		return fail(err, "public key is too long");

	defect = text_defect(text, len, "public key contains a NUL byte",
						 "public key contains non-ASCII characters");
	if (defect)
		return fail(err, defect);

	if (!ag_has_prefix(text, len, AG_PUBKEY_PREFIX))
	{
		if (ag_has_prefix(text, len, AG_TOKEN_PREFIX))
			return fail(err, "this is a token, not a public key");
		if (ag_has_prefix(text, len, AG_REQUEST_PREFIX))
			return fail(err, "this is a request code, not a public key");
		return fail(err, "not a public key (a public key starts with \"" AG_PUBKEY_PREFIX "\")");
	}
	if (len != AG_PUBKEY_TEXT_LEN)
		return fail(err, "public key has the wrong length");

	got = ag_base64url_decode(text + AG_PREFIX_LEN, len - AG_PREFIX_LEN,
							  key, sizeof(key));
	if (got != AG_PUBKEY_LEN)
		return fail(err, "public key is not valid base64url");
	if (pubkey_is_weak(key))
		return fail(err, "public key is not a usable Ed25519 key");

	memcpy(out, key, AG_PUBKEY_LEN);
	return true;
}

void
ag_pubkey_format(const uint8_t key[AG_PUBKEY_LEN], char *out)
{
	memcpy(out, AG_PUBKEY_PREFIX, AG_PREFIX_LEN);
	ag_base64url_encode(key, AG_PUBKEY_LEN, out + AG_PREFIX_LEN);
	out[AG_PUBKEY_TEXT_LEN] = '\0';
}

void
ag_key_id(const uint8_t key[AG_PUBKEY_LEN], uint8_t out[AG_KEY_ID_LEN])
{
	uint8_t		hash[AG_HASH_LEN];

	ag_sha256(key, AG_PUBKEY_LEN, hash);
	memcpy(out, hash, AG_KEY_ID_LEN);
}
