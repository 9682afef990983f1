/*
 * batch.c
 *		Batch codes: the requests a rehearsal recorded, in order, in one word
 *		that a DBA inspects and signs once (request.h gives the layout).
 *
 * A batch carries every request whole, so each one is bound, shown and
 * limited exactly as it would be alone; the batch only adds their order and
 * a bound on their number and size.  Like request.c this includes no
 * PostgreSQL headers: the server, the command-line tool and the fuzzer share
 * it, and the decoders never allocate.
 */
#include <stdio.h>
#include <string.h>

#include "request.h"
#include "text.h"

/* the version byte and the number of requests */
#define BATCH_HEAD_LEN	(1 + 2)

/* domain of the nonces a batch token's requests are confirmed under */
#define BATCH_NONCE_CONTEXT "agentguard batch request"

static bool
fail(const char **err, const char *reason)
{
	if (err)
		*err = reason;
	return false;
}

bool
ag_is_batch(const uint8_t *body, size_t len)
{
	return body != NULL && len > 0 && body[0] == AG_BATCH_VERSION;
}

size_t
ag_batch_size(int n, size_t bytes)
{
	return BATCH_HEAD_LEN + 2 * (size_t) n + bytes;
}

size_t
ag_batch_encode(const uint8_t *const *bodies, const size_t *lens, int n,
				uint8_t *out, size_t cap, const char **err)
{
	size_t		bytes = 0;
	size_t		pos = 0;

	if (n < 1)
	{
		fail(err, "a batch holds at least one request");
		return 0;
	}
	if (n > AG_BATCH_MAX_REQUESTS)
	{
		fail(err, "a batch holds at most 64 requests");
		return 0;
	}
	for (int i = 0; i < n; i++)
	{
		if (lens[i] == 0 || lens[i] > AG_REQUEST_MAX_BYTES)
		{
			fail(err, "a request of the batch is empty or too large");
			return 0;
		}
		bytes += lens[i];
	}
	if (ag_batch_size(n, bytes) > AG_BATCH_MAX_BYTES)
	{
		fail(err, "the requests are too large for one batch");
		return 0;
	}
	if (ag_batch_size(n, bytes) > cap)
	{
		fail(err, "the buffer is too small for the batch");
		return 0;
	}
	out[pos++] = AG_BATCH_VERSION;
	ag_put_be16(out + pos, (uint16_t) n);
	pos += 2;
	for (int i = 0; i < n; i++)
	{
		ag_put_be16(out + pos, (uint16_t) lens[i]);
		pos += 2;
		memcpy(out + pos, bodies[i], lens[i]);
		pos += lens[i];
	}
	return pos;
}

static bool
same_str(AgStr a, AgStr b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

bool
ag_batch_decode(const uint8_t *body, size_t len, AgBatch *b, AgRequest *scratch,
				const char **err)
{
	size_t		pos = BATCH_HEAD_LEN;
	uint64_t	cluster = 0;
	AgStr		where[3] = {{NULL, 0}, {NULL, 0}, {NULL, 0}};

	memset(b, 0, sizeof(*b));
	if (body == NULL || len == 0)
		return fail(err, "the batch is empty");
	if (len > AG_BATCH_MAX_BYTES)
		return fail(err, "the batch is too long");
	if (body[0] != AG_BATCH_VERSION)
		return fail(err, "the batch version is not supported");
	if (len < BATCH_HEAD_LEN)
		return fail(err, "the batch is truncated");
	b->n = ag_get_be16(body + 1);
	if (b->n == 0)
		return fail(err, "the batch holds no request");
	if (b->n > AG_BATCH_MAX_REQUESTS)
		return fail(err, "the batch holds more than 64 requests");
	for (int i = 0; i < b->n; i++)
	{
		size_t		reqlen;

		if (len - pos < 2)
			return fail(err, "the batch is truncated");
		reqlen = ag_get_be16(body + pos);
		pos += 2;
		if (reqlen > len - pos)
			return fail(err, "the batch is truncated");
		if (!ag_request_decode(body + pos, reqlen, scratch, err))
			return false;
		if (i == 0)
		{
			cluster = scratch->system_identifier;
			where[0] = scratch->environment;
			where[1] = scratch->database;
			where[2] = scratch->role;
		}
		else if (scratch->system_identifier != cluster ||
				 !same_str(scratch->environment, where[0]) ||
				 !same_str(scratch->database, where[1]) ||
				 !same_str(scratch->role, where[2]))
			return fail(err, "the requests of the batch name different clusters, environments, databases or roles");
		b->bodies[i] = body + pos;
		b->lens[i] = reqlen;
		pos += reqlen;
	}
	if (pos != len)
		return fail(err, "the batch has trailing bytes");
	return true;
}

bool
ag_batch_parse(const char *text, size_t textlen, uint8_t *buf, size_t cap,
			   size_t *bodylen, AgBatch *b, AgRequest *scratch, const char **err)
{
	long		n;

	memset(b, 0, sizeof(*b));
	if (text == NULL)
		return fail(err, "the batch code is empty");
	ag_trim(&text, &textlen);
	if (textlen == 0)
		return fail(err, "the batch code is empty");
	if (!ag_has_prefix(text, textlen, AG_BATCH_PREFIX))
	{
		if (ag_has_prefix(text, textlen, "agb"))
			return fail(err, "the batch code has an unknown version (this agentguard reads agb1.)");
		return fail(err, "this is not a batch code (it must begin with \"agb1.\")");
	}
	if (textlen - AG_PREFIX_LEN > ag_base64url_length(AG_BATCH_MAX_BYTES))
		return fail(err, "the batch code is too long");
	n = ag_base64url_decode(text + AG_PREFIX_LEN, textlen - AG_PREFIX_LEN, buf, cap);
	if (n < 0)
		return fail(err, "the batch code is damaged (not valid base64url)");
	if (bodylen)
		*bodylen = (size_t) n;
	return ag_batch_decode(buf, (size_t) n, b, scratch, err);
}

bool
ag_batch_request(const AgBatch *b, int i, AgRequest *r)
{
	if (i < 0 || i >= b->n)
		return false;
	return ag_request_decode(b->bodies[i], b->lens[i], r, NULL);
}

void
ag_batch_nonce(const uint8_t token_nonce[AG_NONCE_LEN], int i,
			   uint8_t out[AG_NONCE_LEN])
{
	uint8_t		input[sizeof(BATCH_NONCE_CONTEXT) + AG_NONCE_LEN + 2];
	uint8_t		hash[AG_HASH_LEN];

	memcpy(input, BATCH_NONCE_CONTEXT, sizeof(BATCH_NONCE_CONTEXT));
	memcpy(input + sizeof(BATCH_NONCE_CONTEXT), token_nonce, AG_NONCE_LEN);
	ag_put_be16(input + sizeof(BATCH_NONCE_CONTEXT) + AG_NONCE_LEN, (uint16_t) i);
	ag_sha256(input, sizeof(input), hash);
	memcpy(out, hash, AG_NONCE_LEN);
}

/* text into out at *len, never past cap - 1, always NUL-terminated */
static void
put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
	if (cap > 0 && *len < cap - 1)
	{
		size_t		room = cap - 1 - *len;

		memcpy(out + *len, s, n < room ? n : room);
		out[*len + (n < room ? n : room)] = '\0';
	}
	*len += n;
}

static void
put_shown(char *out, size_t cap, size_t *len, AgStr s)
{
	size_t		need = ag_escape_shown(s.ptr, s.len, false, NULL, 0);

	if (cap > 0 && *len < cap)
		ag_escape_shown(s.ptr, s.len, false, out + *len, cap - *len);
	*len += need;
}

size_t
ag_batch_describe(const AgBatch *b, AgRequest *scratch, char *out, size_t cap)
{
	size_t		len = 0;
	char		line[96];

	if (cap > 0)
		out[0] = '\0';
	if (b->n < 1 || !ag_batch_request(b, 0, scratch))
		return 0;
	snprintf(line, sizeof(line), "batch:       %d statement%s from one rehearsal; each may run once\n",
			 b->n, b->n == 1 ? "" : "s");
	put(out, cap, &len, line, strlen(line));
	put(out, cap, &len, "environment: ", 13);
	if (scratch->environment.len == 0)
		put(out, cap, &len, "unnamed", 7);
	else
		put_shown(out, cap, &len, scratch->environment);
	put(out, cap, &len, "\ndatabase:    ", 14);
	put_shown(out, cap, &len, scratch->database);
	snprintf(line, sizeof(line), "\ncluster:     %llu\nrole:        ",
			 (unsigned long long) scratch->system_identifier);
	put(out, cap, &len, line, strlen(line));
	put_shown(out, cap, &len, scratch->role);
	put(out, cap, &len, "\n", 1);
	for (int i = 0; i < b->n; i++)
	{
		size_t		need;

		if (!ag_batch_request(b, i, scratch))
			return 0;
		snprintf(line, sizeof(line), "\n--- statement %d of %d ---\n", i + 1, b->n);
		put(out, cap, &len, line, strlen(line));
		need = ag_request_describe(scratch, NULL, 0);
		if (cap > 0 && len < cap)
			ag_request_describe(scratch, out + len, cap - len);
		len += need;
	}
	return len;
}
