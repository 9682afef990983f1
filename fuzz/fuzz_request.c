/*
 * fuzz_request.c
 *		libFuzzer entry over the request and token decoders.
 *
 * The same bytes go to every decoder, as text and as a binary body, because
 * the server feeds them whatever an agent or a DBA pastes.  Besides "does
 * not crash" it checks the properties the rest of agentguard relies on:
 *	- a body that decodes re-encodes to exactly the same bytes, so one
 *	  request has one code and a code cannot be altered without changing it;
 *	- a code or token that parses is exactly the canonical text of its body
 *	  (after trimming white space), so a used token cannot come back under
 *	  another spelling;
 *	- descriptions stay inside their buffer and are NUL-terminated, whatever
 *	  the buffer size.
 * Any violation aborts, which libFuzzer reports as a crash.
 *
 * Build and run with "make fuzz" (mk/cli.mk).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SMALL_DESC	24
#define LARGE_DESC	(256 * 1024)

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

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '\f' || c == '\v';
}

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
	check(strlen(small) < SMALL_DESC, "describe overran a small buffer");
	if (need_large < LARGE_DESC)
	{
		check(strlen(large) == need_large, "describe returned a wrong length");
		check(strncmp(small, large, strlen(small)) == 0,
			  "a cut description is not a prefix of the whole");
	}
	free(large);
	free(small);
}

/* the body must be the one and only encoding of what it decodes to */
static void
check_roundtrip(const uint8_t *body, size_t len, const AgRequest *r)
{
	uint8_t    *out = xmalloc(AG_REQUEST_MAX_BYTES);
	const char *err = NULL;
	size_t		n;

	n = ag_request_encode(r, out, AG_REQUEST_MAX_BYTES, &err);
	check(n == len, "a decoded request re-encodes to another length");
	check(memcmp(out, body, len) == 0,
		  "a decoded request re-encodes to other bytes");
	check(ag_request_compare(r, r) == AG_MATCH,
		  "a request does not match itself");
	free(out);
}

/* the trimmed text must equal the canonical text of the decoded body */
static void
check_canonical_text(const char *prefix, const char *text, size_t len,
					 const uint8_t *body, size_t bodylen)
{
	char	   *canon = xmalloc(ag_code_length(bodylen) + 1);

	while (len > 0 && is_space(text[0]))
	{
		text++;
		len--;
	}
	while (len > 0 && is_space(text[len - 1]))
		len--;
	ag_code_format(prefix, body, bodylen, canon);
	check(strlen(canon) == ag_code_length(bodylen),
		  "ag_code_length disagrees with ag_code_format");
	check(len == strlen(canon) && memcmp(text, canon, len) == 0,
		  "a code parsed from a non-canonical spelling");
	free(canon);
}

static void
check_token(const AgToken *t, const uint8_t *body, size_t len)
{
	static const uint8_t zero_key[AG_PUBKEY_LEN];

	check(t->request_body == body + 3, "token request body misplaced");
	check(t->signed_part == body, "token signed part misplaced");
	check(t->signed_len + AG_SIGNATURE_LEN == len,
		  "token signed part has the wrong length");
	check(t->expires_at > t->issued_at, "token times out of order");
	check_roundtrip(t->request_body, t->request_len, &t->request);
	check_describe(&t->request);

	/* fuzzed bytes carry no valid signature; exercise the path anyway */
	check(!ag_token_verify(t, zero_key), "a fuzzed token verified");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *) data;
	const char *err;
	uint8_t    *buf;
	AgRequest  *r = xmalloc(sizeof(AgRequest));
	AgToken    *t = xmalloc(sizeof(AgToken));
	uint8_t		key[AG_PUBKEY_LEN];
	size_t		bodylen = 0;

	/* text forms, into a buffer exactly as big as the largest body */
	buf = xmalloc(AG_REQUEST_MAX_BYTES);
	err = NULL;
	if (ag_request_parse(text, size, buf, AG_REQUEST_MAX_BYTES, &bodylen, r,
						 &err))
	{
		check_roundtrip(buf, bodylen, r);
		check_canonical_text(AG_REQUEST_PREFIX, text, size, buf, bodylen);
		check_describe(r);
	}
	else
		check(err != NULL, "request parse failed without a reason");
	free(buf);

	buf = xmalloc(AG_TOKEN_MAX_BYTES);
	err = NULL;
	if (ag_token_parse(text, size, buf, AG_TOKEN_MAX_BYTES, t, &err))
	{
		check_token(t, buf, t->signed_len + AG_SIGNATURE_LEN);
		check_canonical_text(AG_TOKEN_PREFIX, text, size, buf,
							 t->signed_len + AG_SIGNATURE_LEN);
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
	{
		check_roundtrip(data, size, r);
		check_describe(r);
	}
	else
		check(err != NULL, "request decode failed without a reason");

	err = NULL;
	if (ag_token_decode(data, size, t, &err))
		check_token(t, data, size);
	else
		check(err != NULL, "token decode failed without a reason");

	free(t);
	free(r);
	return 0;
}
