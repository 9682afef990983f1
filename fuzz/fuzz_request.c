/*
 * fuzz_request.c
 *		libFuzzer entry over the request and token decoders, and over what is
 *		done with the values they return.
 *
 * The same bytes go to every decoder, as text and as a binary body, because
 * the server feeds them whatever an agent or a DBA pastes; and to the code
 * that handles decoded values, since a crafted token once crashed the
 * server there rather than in a decoder.  Besides "does not crash" it checks
 * the properties the rest of agentguard relies on:
 *	- a body that decodes re-encodes to exactly the same bytes, so one
 *	  request has one code and a code cannot be altered without changing it;
 *	  a token of either version is the bytes of its layout, and the
 *	  signatures of a version 2 token, in any order and with one repeated,
 *	  make a token over the same signed bytes that counts the same distinct
 *	  signers;
 *	  its binding hash is the SHA-256 of the binding part of those bytes, the
 *	  same for the re-encoded request, and changes with any binding;
 *	- a code or token that parses is exactly the canonical text of its body
 *	  (after trimming white space), so a used token cannot come back under
 *	  another spelling;
 *	- descriptions stay inside their buffer and are NUL-terminated, whatever
 *	  the buffer size, and hold nothing a terminal would act on;
 *	- ag_escape_shown, on any bytes, gives valid UTF-8 with no control
 *	  character (newlines and tabs only when asked to keep the layout) and no
 *	  hidden code point, and can be read back to exactly the bytes it was
 *	  given, so what it shows is unambiguous;
 *	- ag_format_utc, on any 64-bit time (the decoded ones included), gives
 *	  either a date that converts back to the same second or "out of range";
 *	- object digests ignore order and repeats;
 *	- a batch code or body (a rehearsal's) is the one encoding of its
 *	  requests, each checked as a request alone; they all name one cluster,
 *	  environment, database and role; each has a nonce of its own, and the
 *	  batch's description behaves as a request's does.
 * Any violation aborts, which libFuzzer reports as a crash.
 *
 * Build and run with "make fuzz" (mk/cli.mk).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"
#include "text.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SMALL_DESC	24
#define LARGE_DESC	(256 * 1024)

/* bytes in the binding part of a body before its strings: version, cluster */
#define BINDING_HEAD	(1 + 8)

static void
check(bool ok, const char *what)
{
	if (!ok)
	{
		fprintf(stderr, "fuzz_request: %s\n", what);
		abort();
	}
}

/* heap buffers of exact size, so that AddressSanitizer sees any overrun */
static void *
xmalloc(size_t n)
{
	void	   *p = malloc(n);

	check(p != NULL, "out of memory");
	return p;
}

/* ---- shown text ---- */

/*
 * Code points that must never reach a terminal or a page as they are: they
 * reorder what follows (bidirectional embeddings, overrides and isolates),
 * or show nothing at all (zero-width characters, the combining grapheme
 * joiner, the byte order mark, line and paragraph separators, tags).
 * Written down here, apart from the codec's own list, so that a code point
 * dropped from that list is caught.
 */
static bool
must_be_hidden(uint32_t cp)
{
	return cp == 0x34f || cp == 0x61c || (cp >= 0x200b && cp <= 0x200f) ||
		(cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
		cp == 0x2060 || cp == 0xfeff || (cp >= 0xe0000 && cp <= 0xe007f);
}

/*
 * Valid UTF-8 with no C0 control (newline and tab aside when keep_layout),
 * no DEL, no C1 control and nothing must_be_hidden.  Written from the UTF-8
 * definition, apart from the codec's own decoder, so that the two check each
 * other.
 */
static void
check_terminal_safe(const char *s, size_t len, bool keep_layout)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		i = 0;

	while (i < len)
	{
		uint32_t	cp;
		size_t		n;

		if (p[i] < 0x80)
		{
			check(p[i] >= 0x20 || (keep_layout && (p[i] == '\n' || p[i] == '\t')),
				  "shown text holds a control character");
			check(p[i] != 0x7f, "shown text holds DEL");
			i++;
			continue;
		}
		n = (p[i] & 0xe0) == 0xc0 ? 2 : (p[i] & 0xf0) == 0xe0 ? 3 : (p[i] & 0xf8) == 0xf0 ? 4 : 0;
		check(n > 0 && n <= len - i, "shown text is not UTF-8");
		cp = p[i] & (0x7f >> n);
		for (size_t k = 1; k < n; k++)
		{
			check((p[i + k] & 0xc0) == 0x80, "shown text is not UTF-8");
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		check(!(n == 2 && cp < 0x80) && !(n == 3 && cp < 0x800) &&
			  !(n == 4 && (cp < 0x10000 || cp > 0x10ffff)) &&
			  !(cp >= 0xd800 && cp <= 0xdfff), "shown text is not UTF-8");
		check(cp > 0x9f, "shown text holds a C1 control");
		check(!must_be_hidden(cp), "shown text holds an invisible or bidirectional character");
		i += n;
	}
}

/*
 * Escaping what was already escaped changes nothing but its backslashes: so
 * it holds nothing ag_escape_shown would hide (no invisible code point, no
 * bidirectional override), by the codec's own list.
 */
static void
check_nothing_hidden(const char *s, size_t len, bool keep_layout)
{
	size_t		need = ag_escape_shown(s, len, keep_layout, NULL, 0);
	char	   *again = xmalloc(need + 1);
	size_t		k = 0;

	ag_escape_shown(s, len, keep_layout, again, need + 1);
	for (size_t i = 0; i < len; i++)
	{
		check(k < need && again[k] == s[i], "shown text holds something that escaping changes");
		k++;
		if (s[i] == '\\')
		{
			check(k < need && again[k] == '\\', "a backslash was not doubled");
			k++;
		}
	}
	check(k == need, "escaping shown text added to it");
	free(again);
}

/* UTF-8 of any value up to U+10FFFF, surrogates too: \u{} may name them */
static size_t
put_utf8(uint32_t cp, uint8_t *out)
{
	if (cp < 0x80)
	{
		out[0] = (uint8_t) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		out[0] = (uint8_t) (0xc0 | (cp >> 6));
		out[1] = (uint8_t) (0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000)
	{
		out[0] = (uint8_t) (0xe0 | (cp >> 12));
		out[1] = (uint8_t) (0x80 | ((cp >> 6) & 0x3f));
		out[2] = (uint8_t) (0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (uint8_t) (0xf0 | (cp >> 18));
	out[1] = (uint8_t) (0x80 | ((cp >> 12) & 0x3f));
	out[2] = (uint8_t) (0x80 | ((cp >> 6) & 0x3f));
	out[3] = (uint8_t) (0x80 | (cp & 0x3f));
	return 4;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Read escaped text back into bytes: \\, \xNN and \u{X...} are the only
 * escapes, and every other byte stands for itself.  Returns the length, or
 * aborts on an escape that is not one.
 */
static size_t
unescape(const char *s, size_t len, uint8_t *out)
{
	size_t		o = 0;
	size_t		i = 0;

	while (i < len)
	{
		uint32_t	cp = 0;

		if (s[i] != '\\')
		{
			out[o++] = (uint8_t) s[i++];
			continue;
		}
		check(i + 1 < len, "escaped text ends in a lone backslash");
		if (s[i + 1] == '\\')
		{
			out[o++] = '\\';
			i += 2;
			continue;
		}
		if (s[i + 1] == 'x')
		{
			check(i + 3 < len && hex_value(s[i + 2]) >= 0 && hex_value(s[i + 3]) >= 0,
				  "a \\x escape without two hex digits");
			out[o++] = (uint8_t) (hex_value(s[i + 2]) * 16 + hex_value(s[i + 3]));
			i += 4;
			continue;
		}
		check(s[i + 1] == 'u' && i + 2 < len && s[i + 2] == '{', "an unknown escape");
		i += 3;
		while (i < len && s[i] != '}')
		{
			check(hex_value(s[i]) >= 0 && cp <= 0x10ffff, "a \\u escape is not hex");
			cp = cp * 16 + (uint32_t) hex_value(s[i++]);
		}
		check(i < len && cp <= 0x10ffff, "a \\u escape is not closed");
		i++;
		o += put_utf8(cp, out + o);
	}
	return o;
}

static void
check_escape(const uint8_t *data, size_t size, bool keep_layout)
{
	const char *s = (const char *) data;
	size_t		need = ag_escape_shown(s, size, keep_layout, NULL, 0);
	char	   *out = xmalloc(need + 1);
	char	   *small = xmalloc(SMALL_DESC);
	uint8_t    *back = xmalloc(need + 1);

	check(ag_escape_shown(s, size, keep_layout, out, need + 1) == need,
		  "escape needs depend on the buffer");
	check(strlen(out) == need, "escape returned a wrong length");
	ag_escape_shown(s, size, keep_layout, small, SMALL_DESC);
	check(strlen(small) < SMALL_DESC && strncmp(small, out, strlen(small)) == 0,
		  "a cut escape is not a prefix of the whole");
	check_terminal_safe(out, need, keep_layout);
	check_nothing_hidden(out, need, keep_layout);
	check(unescape(out, need, back) == size && memcmp(back, data, size) == 0,
		  "escaped text does not read back to what was escaped");
	free(back);
	free(small);
	free(out);
}

/* ---- times ---- */

/* days since 1970-01-01 of a civil date; the inverse of request.c's */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t		era;
	int64_t		yoe;
	int64_t		doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static void
check_time(int64_t seconds)
{
	/* 0001-01-01 00:00:00 UTC */
	const int64_t earliest = INT64_C(-62135596800);
	char		text[AG_TIME_TEXT_LEN + 8];
	long long	y;
	int			mo,
				d,
				h,
				mi,
				s,
				used = 0;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	memset(text, 'X', sizeof(text));
	ag_format_utc(seconds, text);
	check(memchr(text, '\0', AG_TIME_TEXT_LEN) != NULL, "a time overran its buffer");
	if (seconds < earliest || seconds > AG_TIME_MAX)
	{
		char		want[AG_TIME_TEXT_LEN];

		snprintf(want, sizeof(want), "out of range (%lld seconds)", (long long) seconds);
		check(strcmp(text, want) == 0, "an out-of-range time is not said so");
		return;
	}
	check(strlen(text) == 23 &&
		  sscanf(text, "%4lld-%2d-%2d %2d:%2d:%2d UTC%n", &y, &mo, &d, &h, &mi, &s, &used) == 6 &&
		  used == 23, "a time is not YYYY-MM-DD HH:MM:SS UTC");
	check(y >= 1 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 && d <= mdays[mo - 1] &&
		  h < 24 && mi < 60 && s < 60, "a time has a field out of range");
	check(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s == seconds,
		  "a formatted time is not the second it was given");
}

/* ---- requests ---- */

static void
check_describe(const AgRequest *r)
{
	char	   *small = xmalloc(SMALL_DESC);
	char	   *large = xmalloc(LARGE_DESC);
	size_t		need_small;
	size_t		need_large;

	need_small = ag_request_describe(r, small, SMALL_DESC);
	need_large = ag_request_describe(r, large, LARGE_DESC);
	check(need_small == need_large, "describe needs depend on the buffer");
	check(ag_request_describe(r, NULL, 0) == need_large, "describe needs depend on the buffer");
	check(strlen(small) < SMALL_DESC, "describe overran a small buffer");
	if (need_large < LARGE_DESC)
	{
		check(strlen(large) == need_large, "describe returned a wrong length");
		check(strncmp(small, large, strlen(small)) == 0,
			  "a cut description is not a prefix of the whole");
		check_terminal_safe(large, need_large, true);
		check_nothing_hidden(large, need_large, true);
	}
	free(large);
	free(small);
}

/* where the binding part of a canonical body ends: see request.h */
static size_t
binding_length(const AgRequest *r)
{
	return BINDING_HEAD + 2 + r->environment.len + 2 + r->database.len +
		2 + r->role.len + 2 + r->action.len + 3 * AG_HASH_LEN;
}

/*
 * The binding hash is the SHA-256 of the binding bytes of the code, the same
 * for a request read back from its own encoding, and a change to any of the
 * digests it binds changes both the hash and what the comparison names.
 */
static void
check_binding(const uint8_t *body, size_t len, const AgRequest *r,
			  const AgRequest *again)
{
	uint8_t		hash[AG_HASH_LEN];
	uint8_t		direct[AG_HASH_LEN];
	uint8_t		other[AG_HASH_LEN];
	AgRequest  *changed = xmalloc(sizeof(AgRequest));

	check(binding_length(r) <= len, "the binding part is longer than the body");
	check(ag_request_binding_hash(r, hash), "a decoded request has no binding hash");
	ag_sha256(body, binding_length(r), direct);
	check(memcmp(hash, direct, AG_HASH_LEN) == 0,
		  "the binding hash is not the hash of the code's binding bytes");
	check(ag_request_binding_hash(again, other) && memcmp(hash, other, AG_HASH_LEN) == 0,
		  "a re-encoded request has another binding hash");
	check(ag_request_compare(r, again) == AG_MATCH, "a re-encoded request does not match");

	memcpy(changed, r, sizeof(AgRequest));
	changed->params_digest[len % AG_HASH_LEN] ^= 1;
	check(ag_request_compare(r, changed) == AG_WRONG_PARAMETERS,
		  "other parameters are not named as such");
	check(ag_request_binding_hash(changed, other) && memcmp(hash, other, AG_HASH_LEN) != 0,
		  "the binding hash ignores the parameters");
	memcpy(changed, r, sizeof(AgRequest));
	changed->objects_digest[0] ^= 0x80;
	check(ag_request_compare(r, changed) == AG_WRONG_TARGET,
		  "other objects are not named as such");
	check(ag_request_binding_hash(changed, other) && memcmp(hash, other, AG_HASH_LEN) != 0,
		  "the binding hash ignores the objects");
	memcpy(changed, r, sizeof(AgRequest));
	changed->rows = r->rows + 1;
	changed->nlimit_tables = 0;
	check(ag_request_binding_hash(changed, other) && memcmp(hash, other, AG_HASH_LEN) == 0,
		  "the binding hash depends on the rows counted");
	free(changed);
}

/*
 * The body must be the one and only encoding of what it decodes to, and what
 * it decodes to must be handled without surprise: its description, its
 * binding, the mismatch names of a comparison.
 */
static void
check_request(const uint8_t *body, size_t len, const AgRequest *r)
{
	uint8_t    *out = xmalloc(AG_REQUEST_MAX_BYTES);
	AgRequest  *again = xmalloc(sizeof(AgRequest));
	const char *err = NULL;
	size_t		n;

	n = ag_request_encode(r, out, AG_REQUEST_MAX_BYTES, &err);
	check(n == len, "a decoded request re-encodes to another length");
	check(memcmp(out, body, len) == 0,
		  "a decoded request re-encodes to other bytes");
	check(ag_request_decode(out, n, again, &err),
		  "a re-encoded request does not decode");
	check_binding(body, len, r, again);
	for (int m = AG_MATCH; m <= AG_WRONG_PARAMETERS; m++)
		check(strlen(ag_mismatch_name((AgMismatch) m)) > 0, "a mismatch has no name");
	check_describe(r);
	free(again);
	free(out);
}

/* ---- batches ---- */

/*
 * A batch body is the one encoding of its requests, each of which is the
 * one encoding of itself; every request names the first one's cluster,
 * environment, database and role; each has a nonce of its own; and the
 * description, cut or whole, stays in its buffer and shows nothing hidden.
 */
static void
check_batch(const uint8_t *body, size_t len, const AgBatch *b)
{
	uint8_t    *out = xmalloc(AG_BATCH_MAX_BYTES);
	AgRequest  *first = xmalloc(sizeof(AgRequest));
	AgRequest  *r = xmalloc(sizeof(AgRequest));
	char	   *small = xmalloc(SMALL_DESC);
	char	   *large = xmalloc(LARGE_DESC);
	uint8_t		nonce[AG_NONCE_LEN] = {0};
	uint8_t		nonces[AG_BATCH_MAX_REQUESTS][AG_NONCE_LEN];
	const char *err = NULL;
	size_t		n;
	size_t		need;

	check(ag_is_batch(body, len), "a decoded batch does not say it is one");
	check(b->n >= 1 && b->n <= AG_BATCH_MAX_REQUESTS, "batch size out of range");
	n = ag_batch_encode(b->bodies, b->lens, b->n, out, AG_BATCH_MAX_BYTES, &err);
	check(n == len && memcmp(out, body, len) == 0,
		  "a decoded batch re-encodes to other bytes");
	check(ag_batch_request(b, 0, first), "the first request of a batch does not decode");
	for (int i = 0; i < b->n; i++)
	{
		check(b->bodies[i] >= body && b->bodies[i] + b->lens[i] <= body + len,
			  "a request of a batch lies outside it");
		check(ag_batch_request(b, i, r), "a request of a batch does not decode");
		check(r->system_identifier == first->system_identifier &&
			  r->role.len == first->role.len && r->database.len == first->database.len &&
			  r->environment.len == first->environment.len,
			  "the requests of a batch name different places or roles");
		check_request(b->bodies[i], b->lens[i], r);
		ag_batch_nonce(nonce, i, nonces[i]);
		for (int k = 0; k < i; k++)
			check(memcmp(nonces[i], nonces[k], AG_NONCE_LEN) != 0,
				  "two requests of a batch share a nonce");
	}
	check(!ag_batch_request(b, b->n, r), "a request past the last one decoded");

	need = ag_batch_describe(b, r, small, SMALL_DESC);
	check(strlen(small) < SMALL_DESC, "batch describe overran a small buffer");
	check(ag_batch_describe(b, r, NULL, 0) == need, "batch describe needs depend on the buffer");
	if (need < LARGE_DESC)
	{
		check(ag_batch_describe(b, r, large, LARGE_DESC) == need && strlen(large) == need,
			  "batch describe returned a wrong length");
		check(strncmp(small, large, strlen(small)) == 0,
			  "a cut batch description is not a prefix of the whole");
		check_terminal_safe(large, need, true);
		check_nothing_hidden(large, need, true);
	}
	free(large);
	free(small);
	free(r);
	free(first);
	free(out);
}

/* the trimmed text must equal the canonical text of the decoded body */
static void
check_canonical_text(const char *prefix, const char *text, size_t len,
					 const uint8_t *body, size_t bodylen)
{
	char	   *canon = xmalloc(ag_code_length(bodylen) + 1);

	ag_trim(&text, &len);
	ag_code_format(prefix, body, bodylen, canon);
	check(strlen(canon) == ag_code_length(bodylen),
		  "ag_code_length disagrees with ag_code_format");
	check(len == strlen(canon) && memcmp(text, canon, len) == 0,
		  "a code parsed from a non-canonical spelling");
	free(canon);
}

/*
 * A version 1 token, written here byte by byte from request.h rather than
 * by the codec (which no longer writes them), so that the decoder's reading
 * of the old layout is checked against the layout itself.
 */
static size_t
write_single(const AgToken *t, uint8_t *out)
{
	size_t		pos = 0;

	out[pos++] = AG_TOKEN_VERSION_SINGLE;
	ag_put_be16(out + pos, (uint16_t) t->request_len);
	pos += 2;
	memcpy(out + pos, t->request_body, t->request_len);
	pos += t->request_len;
	memcpy(out + pos, t->signatures[0].key_id, AG_KEY_ID_LEN);
	pos += AG_KEY_ID_LEN;
	ag_put_be64(out + pos, (uint64_t) t->issued_at);
	pos += 8;
	ag_put_be64(out + pos, (uint64_t) t->expires_at);
	pos += 8;
	memcpy(out + pos, t->nonce, AG_NONCE_LEN);
	pos += AG_NONCE_LEN;
	memcpy(out + pos, t->signatures[0].signature, AG_SIGNATURE_LEN);
	return pos + AG_SIGNATURE_LEN;
}

/*
 * The signatures of a version 2 token: any of them, in any order, make a
 * token over the same signed bytes, and the distinct signers counted are
 * the distinct key ids, however often one repeats.
 */
static void
check_signatures(const AgToken *t)
{
	AgSignature sigs[AG_MAX_SIGNATURES];
	uint8_t    *out = xmalloc(AG_TOKEN_MAX_BYTES);
	AgToken    *again = xmalloc(sizeof(AgToken));
	const char *err = NULL;
	int			distinct = ag_token_distinct_signers(t);
	int			n = t->nsignatures;
	size_t		len;

	check(distinct >= 1 && distinct <= n, "distinct signers out of range");
	for (int i = 0; i < n; i++)
	{
		int			first = ag_token_find_signer(t, t->signatures[i].key_id);

		check(first >= 0 && first <= i, "a signer is not found where it signs");
		sigs[n - 1 - i] = t->signatures[i];
	}

	len = ag_token_assemble(t->signed_part, t->signed_len, sigs, n, out,
							AG_TOKEN_MAX_BYTES, &err);
	check(len == t->len, "reordered signatures make a token of another length");
	check(ag_token_decode(out, len, again, &err), "reordered signatures do not decode");
	check(again->signed_len == t->signed_len &&
		  memcmp(again->signed_part, t->signed_part, t->signed_len) == 0,
		  "reordered signatures sign other bytes");
	check(ag_token_distinct_signers(again) == distinct,
		  "reordering signatures changed how many signers count");

	/* one signature repeated, as a co-signer who signs twice would */
	if (n < AG_MAX_SIGNATURES)
	{
		sigs[n] = t->signatures[0];
		len = ag_token_assemble(t->signed_part, t->signed_len, sigs, n + 1,
								out, AG_TOKEN_MAX_BYTES, &err);
		check(len == t->len + AG_KEY_ID_LEN + AG_SIGNATURE_LEN &&
			  ag_token_decode(out, len, again, &err),
			  "a repeated signature does not make a token");
		check(ag_token_distinct_signers(again) == distinct,
			  "a repeated signer counted twice");
	}
	else
		check(ag_token_assemble(t->signed_part, t->signed_len, sigs, n + 1,
								out, AG_TOKEN_MAX_BYTES, &err) == 0,
			  "a token took more signatures than it may carry");
	free(again);
	free(out);
}

/*
 * A token re-encodes to its own bytes, its request is handled like any
 * other, and its times format, as the server shows them in its messages.
 */
static void
check_token(const AgToken *t, const uint8_t *body, size_t len)
{
	static const uint8_t zero_key[AG_PUBKEY_LEN];
	uint8_t    *out = xmalloc(AG_TOKEN_MAX_BYTES);
	const char *err = NULL;
	size_t		n;

	check(t->len == len, "token length misread");
	check(t->request_body == body + 3, "token request body misplaced");
	check(t->signed_part == body, "token signed part misplaced");
	check(t->nsignatures >= 1 && t->nsignatures <= AG_MAX_SIGNATURES,
		  "token signatures out of range");
	check(t->issued_at >= 0 && t->expires_at > t->issued_at && t->expires_at <= AG_TIME_MAX,
		  "token times out of order or out of range");
	if (t->version == AG_TOKEN_VERSION_SINGLE)
	{
		check(t->nsignatures == 1 && t->signed_len + AG_SIGNATURE_LEN == len,
			  "a version 1 token has the wrong signed part");
		n = write_single(t, out);
		check(n == len && memcmp(out, body, n) == 0,
			  "a decoded version 1 token is not the bytes it was read from");
	}
	else
	{
		check(t->version == AG_TOKEN_VERSION, "token of an unknown version decoded");
		n = ag_token_encode(t->request_body, t->request_len, t->issued_at,
							t->expires_at, t->nonce, out, AG_TOKEN_MAX_BYTES,
							&err);
		check(n == t->signed_len && memcmp(out, body, n) == 0,
			  "a decoded token's signed part re-encodes to other bytes");
		n = ag_token_assemble(out, n, t->signatures, t->nsignatures, out,
							  AG_TOKEN_MAX_BYTES, &err);
		check(n == len && memcmp(out, body, n) == 0,
			  "a decoded token re-assembles to other bytes");
		check_signatures(t);
	}
	if (t->is_batch)
	{
		check(t->version == AG_TOKEN_VERSION, "a batch in a version 1 token decoded");
		check_batch(t->request_body, t->request_len, &t->batch);
	}
	else
		check_request(t->request_body, t->request_len, &t->request);
	check_time(t->issued_at);
	check_time(t->expires_at);
	check_time(t->expires_at - t->issued_at);

	/* fuzzed bytes carry no valid signature; exercise the path anyway */
	for (int i = 0; i < t->nsignatures; i++)
		check(!ag_token_verify(t, i, zero_key), "a fuzzed token verified");
	check(!ag_token_verify(t, t->nsignatures, zero_key),
		  "a signature past the last one verified");
	free(out);
}

/* digests of the same objects in another order, or repeated, are equal */
static void
check_objects_digest(const uint8_t *data, size_t size)
{
	int			n = (int) (size / 12 < 64 ? size / 12 : 64);
	AgObjectId *ids = xmalloc(sizeof(AgObjectId) * (2 * (size_t) n + 1));
	uint8_t		digest[AG_HASH_LEN];
	uint8_t		again[AG_HASH_LEN];

	for (int i = 0; i < n; i++)
	{
		ids[i].classid = ag_get_be32(data + 12 * i);
		ids[i].objid = ag_get_be32(data + 12 * i + 4);
		ids[i].subid = (int32_t) ag_get_be32(data + 12 * i + 8);
		ids[2 * n - 1 - i] = ids[i];
	}
	ag_objects_digest(ids, n, digest);
	ag_objects_digest(ids + n, n, again);
	check(memcmp(digest, again, AG_HASH_LEN) == 0, "the objects digest depends on their order");
	ag_objects_digest(ids, 2 * n, again);
	check(memcmp(digest, again, AG_HASH_LEN) == 0, "the objects digest counts repeats");
	free(ids);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *) data;
	const char *err;
	uint8_t    *buf;
	AgRequest  *r = xmalloc(sizeof(AgRequest));
	AgToken    *t = xmalloc(sizeof(AgToken));
	AgBatch    *b = xmalloc(sizeof(AgBatch));
	uint8_t		key[AG_PUBKEY_LEN];
	size_t		bodylen = 0;

	/* text forms, into a buffer exactly as big as the largest body */
	buf = xmalloc(AG_REQUEST_MAX_BYTES);
	err = NULL;
	if (ag_request_parse(text, size, buf, AG_REQUEST_MAX_BYTES, &bodylen, r,
						 &err))
	{
		check_request(buf, bodylen, r);
		check_canonical_text(AG_REQUEST_PREFIX, text, size, buf, bodylen);
	}
	else
		check(err != NULL, "request parse failed without a reason");
	free(buf);

	buf = xmalloc(AG_BATCH_MAX_BYTES);
	err = NULL;
	if (ag_batch_parse(text, size, buf, AG_BATCH_MAX_BYTES, &bodylen, b, r, &err))
	{
		check_batch(buf, bodylen, b);
		check_canonical_text(AG_BATCH_PREFIX, text, size, buf, bodylen);
	}
	else
		check(err != NULL, "batch parse failed without a reason");
	free(buf);

	buf = xmalloc(AG_TOKEN_MAX_BYTES);
	err = NULL;
	if (ag_token_parse(text, size, buf, AG_TOKEN_MAX_BYTES, t, &err))
	{
		check_token(t, buf, t->len);
		check_canonical_text(AG_TOKEN_PREFIX, text, size, buf, t->len);
	}
	else
		check(err != NULL, "token parse failed without a reason");
	free(buf);

	err = NULL;
	if (ag_pubkey_parse(text, size, key, &err))
	{
		char		back[AG_PUBKEY_TEXT_LEN + 1];

		ag_pubkey_format(key, back);
		check_canonical_text(AG_PUBKEY_PREFIX, text, size,
							 key, AG_PUBKEY_LEN);
		check(strlen(back) == AG_PUBKEY_TEXT_LEN, "public key text length");
	}
	else
		check(err != NULL, "public key parse failed without a reason");

	/* binary forms, straight from libFuzzer's exact-size buffer */
	err = NULL;
	if (ag_request_decode(data, size, r, &err))
		check_request(data, size, r);
	else
		check(err != NULL, "request decode failed without a reason");

	err = NULL;
	if (ag_batch_decode(data, size, b, r, &err))
		check_batch(data, size, b);
	else
		check(err != NULL, "batch decode failed without a reason");

	err = NULL;
	if (ag_token_decode(data, size, t, &err))
		check_token(t, data, size);
	else
		check(err != NULL, "token decode failed without a reason");

	/* the same bytes as text to show, as times, as object identities */
	check_escape(data, size, false);
	check_escape(data, size, true);
	for (size_t i = 0; i + 8 <= size && i < 64; i += 8)
		check_time(ag_get_be64_signed(data + i));
	check_objects_digest(data, size);

	free(b);
	free(t);
	free(r);
	return 0;
}
