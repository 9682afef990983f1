/*
 * token.c
 *		Confirmation tokens and signer keys: decode, check, verify.
 *
 * A token is a request body wrapped with who signed it, when, a nonce and an
 * Ed25519 signature.  This file only reads and verifies tokens; minting them
 * needs a private key, which lives with the DBA, so that code is in the
 * command-line tool and never in the server.
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

/* bytes after the request body: key id, two times, nonce, signature */
#define TOKEN_TAIL_LEN	(AG_KEY_ID_LEN + 8 + 8 + AG_NONCE_LEN + AG_SIGNATURE_LEN)

/* version byte and the request length in front of the request body */
#define TOKEN_HEAD_LEN	(1 + 2)

static bool
fail(const char **err, const char *reason)
{
	if (err)
		*err = reason;
	return false;
}

static uint64_t
get_be64(const uint8_t *p)
{
	uint64_t	v = 0;
	int			i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/*
 * Two's complement without relying on implementation-defined conversion of
 * out-of-range unsigned values.
 */
static int64_t
get_be64_signed(const uint8_t *p)
{
	uint64_t	u = get_be64(p);

	if (u <= (uint64_t) INT64_MAX)
		return (int64_t) u;
	return -(int64_t) (~u) - 1;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '\f' || c == '\v';
}

/*
 * Narrow [*text, *text + *len) to exclude surrounding white space; people
 * paste tokens with a trailing newline, and that is not a defect.
 */
static void
trim(const char **text, size_t *len)
{
	while (*len > 0 && is_space((*text)[0]))
	{
		(*text)++;
		(*len)--;
	}
	while (*len > 0 && is_space((*text)[*len - 1]))
		(*len)--;
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

static bool
has_prefix(const char *text, size_t len, const char *prefix)
{
	return len >= AG_PREFIX_LEN && memcmp(text, prefix, AG_PREFIX_LEN) == 0;
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

bool
ag_token_decode(const uint8_t *body, size_t len, AgToken *t, const char **err)
{
	size_t		reqlen;
	size_t		pos;

	memset(t, 0, sizeof(*t));

	if (body == NULL || len == 0)
		return fail(err, "token is empty");
	if (len > AG_TOKEN_MAX_BYTES)
		return fail(err, "token is too long");
	if (body[0] != AG_TOKEN_VERSION)
		return fail(err, "token version is not supported");
	if (len < TOKEN_HEAD_LEN)
		return fail(err, "token is truncated");

	reqlen = ((size_t) body[1] << 8) | body[2];
	if (reqlen == 0)
		return fail(err, "token names no request");
	if (reqlen > len - TOKEN_HEAD_LEN)
		return fail(err, "token is truncated");

	/*
	 * The request keeps its own canonical bytes: the server compares the
	 * decoded request with the statement at hand, and the signature covers
	 * these exact bytes.
	 */
	if (!ag_request_decode(body + TOKEN_HEAD_LEN, reqlen, &t->request, err))
		return false;
	t->request_body = body + TOKEN_HEAD_LEN;
	t->request_len = reqlen;

	pos = TOKEN_HEAD_LEN + reqlen;
	if (len - pos < TOKEN_TAIL_LEN)
		return fail(err, "token is truncated");
	if (len - pos > TOKEN_TAIL_LEN)
		return fail(err, "token has trailing bytes");

	memcpy(t->key_id, body + pos, AG_KEY_ID_LEN);
	pos += AG_KEY_ID_LEN;
	t->issued_at = get_be64_signed(body + pos);
	pos += 8;
	t->expires_at = get_be64_signed(body + pos);
	pos += 8;
	memcpy(t->nonce, body + pos, AG_NONCE_LEN);
	pos += AG_NONCE_LEN;

	/*
	 * A negative issue time is no real token, and refusing it here means
	 * expires_at - issued_at can never overflow for the lifetime check.
	 */
	if (t->issued_at < 0)
		return fail(err, "token issue time is before 1970");
	if (t->expires_at <= t->issued_at)
		return fail(err, "token expires before it is issued");

	t->signed_part = body;
	t->signed_len = pos;
	memcpy(t->signature, body + pos, AG_SIGNATURE_LEN);

	return true;
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
	trim(&text, &textlen);
	if (textlen == 0)
		return fail(err, "token is empty");

	/* checked before looking at the characters, so huge input costs little */
	if (textlen > AG_PREFIX_LEN + ag_base64url_length(AG_TOKEN_MAX_BYTES))
		return fail(err, "token is too long");

	defect = text_defect(text, textlen, "token contains a NUL byte",
						 "token contains non-ASCII characters");
	if (defect)
		return fail(err, defect);

	if (!has_prefix(text, textlen, AG_TOKEN_PREFIX))
	{
		if (has_prefix(text, textlen, AG_REQUEST_PREFIX))
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
ag_token_verify(const AgToken *t, const uint8_t public_key[AG_PUBKEY_LEN])
{
	/* Ed25519 in OpenSSL signs in one shot, so the message is built whole */
	uint8_t		msg[sizeof(AG_TOKEN_CONTEXT) + AG_TOKEN_MAX_BYTES];
	uint8_t		kid[AG_KEY_ID_LEN];
	size_t		msglen;
	EVP_PKEY   *pkey = NULL;
	EVP_MD_CTX *ctx = NULL;
	bool		ok = false;

	if (t == NULL || public_key == NULL || t->signed_part == NULL ||
		t->signed_len == 0 || t->signed_len > AG_TOKEN_MAX_BYTES)
		return false;

	/*
	 * The key id is signed too, so a mismatch could not forge anything; but
	 * a token that names one signer and verifies with another is not what
	 * its signer produced, and should not be accepted as theirs.
	 */
	ag_key_id(public_key, kid);
	if (CRYPTO_memcmp(kid, t->key_id, AG_KEY_ID_LEN) != 0)
		return false;

	/*
	 * The context string, NUL included, keeps a token signature from being
	 * valid for anything else the same key might ever sign.
	 */
	memcpy(msg, AG_TOKEN_CONTEXT, sizeof(AG_TOKEN_CONTEXT));
	memcpy(msg + sizeof(AG_TOKEN_CONTEXT), t->signed_part, t->signed_len);
	msglen = sizeof(AG_TOKEN_CONTEXT) + t->signed_len;

	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
									   public_key, AG_PUBKEY_LEN);
	if (pkey == NULL)
		goto done;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		goto done;
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1)
		goto done;
	ok = (EVP_DigestVerify(ctx, t->signature, AG_SIGNATURE_LEN,
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
	trim(&text, &len);
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

	if (!has_prefix(text, len, AG_PUBKEY_PREFIX))
	{
		if (has_prefix(text, len, AG_TOKEN_PREFIX))
			return fail(err, "this is a token, not a public key");
		if (has_prefix(text, len, AG_REQUEST_PREFIX))
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
