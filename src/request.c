/*
 * request.c
 *		Encoding and decoding of request codes.  See request.h for the format.
 *
 * This file must build without PostgreSQL headers: the command-line tool,
 * the fuzzer and the server all link it, so a code the server prints is
 * read back by exactly the same rules everywhere.
 */
#include "request.h"
#include "text.h"

#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <openssl/evp.h>

static const char b64url_alphabet[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

AgStr
ag_str(const char *cstring)
{
	AgStr		s;

	s.ptr = cstring;
	s.len = cstring ? strlen(cstring) : 0;
	return s;
}

void
ag_sha256(const void *data, size_t len, uint8_t out[AG_HASH_LEN])
{
	unsigned int outlen = AG_HASH_LEN;

	EVP_Digest(data, len, out, &outlen, EVP_sha256(), NULL);
}

/*
 * The shown statement is cut on a UTF-8 character boundary so that the
 * DBA's terminal never receives half a character.  Other server encodings
 * may lose a partial character at the cut; the hash still covers it all.
 */
void
ag_request_set_statement(AgRequest *r, const char *stmt, size_t len)
{
	size_t		shown = len;

	ag_sha256(stmt, len, r->statement_hash);
	r->flags = 0;
	if (len > AG_STATEMENT_SHOWN_MAX)
	{
		shown = AG_STATEMENT_SHOWN_MAX;
		while (shown > 0 && (((unsigned char) stmt[shown]) & 0xC0) == 0x80)
			shown--;
		r->flags |= AG_REQ_STATEMENT_CUT;
	}
	r->statement.ptr = stmt;
	r->statement.len = shown;
}

/* ---- the statement a request names ---- */

/*
 * Where the comments and white space before a statement end.  PostgreSQL 18
 * starts a statement at its first token and older versions at the end of the
 * previous one, so a leading comment is left out on every version: a request
 * then names the same text whichever server refused it.  No token can begin
 * with a comment opener, so this cannot eat into the statement itself; an
 * unterminated comment is left in place.
 */
static int
skip_leading_comments(const char *source, int start, int end)
{
	for (;;)
	{
		while (start < end && ag_is_space(source[start]))
			start++;
		if (end - start >= 2 && source[start] == '-' && source[start + 1] == '-')
		{
			while (start < end && source[start] != '\n' && source[start] != '\r')
				start++;
		}
		else if (end - start >= 2 && source[start] == '/' && source[start + 1] == '*')
		{
			int			depth = 0;
			int			i = start;

			/* comments nest, as in the server's lexer */
			while (i + 1 < end)
			{
				if (source[i] == '/' && source[i + 1] == '*')
				{
					depth++;
					i += 2;
				}
				else if (source[i] == '*' && source[i + 1] == '/')
				{
					i += 2;
					if (--depth == 0)
						break;
				}
				else
					i++;
			}
			if (depth != 0)
				return start;
			start = i;
		}
		else
			return start;
	}
}

/*
 * The statement alone out of a possibly multi-statement source string,
 * without the comments and white space before it or the white space after.
 * location -1 means the whole string, and len 0 means "to the end", as in
 * RawStmt.
 */
void
ag_statement_text(const char *source, int location, int len,
				  const char **text, int *textlen)
{
	int			total = source ? strlen(source) : 0;
	int			start = 0;
	int			end = total;

	if (location >= 0 && location <= total)
	{
		start = location;
		if (len > 0 && location + len <= total)
			end = location + len;
	}
	if (source)
		start = skip_leading_comments(source, start, end);
	while (end > start && ag_is_space(source[end - 1]))
		end--;
	*text = source ? source + start : "";
	*textlen = end - start;
}

/* ---- encoding ---- */

typedef struct Writer
{
	uint8_t    *out;
	size_t		cap;
	size_t		pos;
	const char *err;
} Writer;

static void
put_bytes(Writer *w, const void *p, size_t n)
{
	if (w->err)
		return;
	if (n > w->cap - w->pos)
	{
		w->err = "request is too large";
		return;
	}
	memcpy(w->out + w->pos, p, n);
	w->pos += n;
}

static void
put_u8(Writer *w, uint8_t v)
{
	put_bytes(w, &v, 1);
}

static void
put_u16(Writer *w, uint16_t v)
{
	uint8_t		b[2];

	ag_put_be16(b, v);
	put_bytes(w, b, 2);
}

static void
put_u32(Writer *w, uint32_t v)
{
	uint8_t		b[4];

	ag_put_be32(b, v);
	put_bytes(w, b, 4);
}

static void
put_u64(Writer *w, uint64_t v)
{
	uint8_t		b[8];

	ag_put_be64(b, v);
	put_bytes(w, b, 8);
}

static void
put_str(Writer *w, AgStr s)
{
	if (w->err)
		return;
	if (s.len > UINT16_MAX)
	{
		w->err = "a name or statement in the request is too long";
		return;
	}
	if (s.len > 0 && memchr(s.ptr, '\0', s.len) != NULL)
	{
		w->err = "a name or statement in the request contains a NUL byte";
		return;
	}
	put_u16(w, (uint16_t) s.len);
	put_bytes(w, s.ptr, s.len);
}

/* the part of the body an approval is bound to; see request.h */
static void
put_binding(Writer *w, const AgRequest *r)
{
	put_u8(w, AG_REQUEST_VERSION);
	put_u64(w, r->system_identifier);
	put_str(w, r->environment);
	put_str(w, r->database);
	put_str(w, r->role);
	put_str(w, r->action);
	put_bytes(w, r->statement_hash, AG_HASH_LEN);
	put_bytes(w, r->objects_digest, AG_HASH_LEN);
	put_bytes(w, r->params_digest, AG_HASH_LEN);
}

static const char *
request_defect(const AgRequest *r)
{
	if (r->ntargets < 0 || r->ntargets > AG_MAX_TARGETS)
		return "the statement names too many objects for one request";
	if (r->statement.len > AG_STATEMENT_SHOWN_MAX)
		return "the shown statement text is longer than allowed";
	if (r->nparams < 0 || r->nparams > AG_MAX_PARAMS)
		return "the statement has too many parameters for one request";
	for (int i = 0; i < r->nparams; i++)
		if (r->params[i].value.len > AG_PARAM_SHOWN_MAX ||
			(r->params[i].isnull && (r->params[i].value.len != 0 || r->params[i].cut)))
			return "a shown parameter value is longer than allowed";
	if (r->nlimit_tables < 0 || r->nlimit_tables > AG_MAX_LIMIT_TABLES)
		return "the statement changes too many tables for one request";
	if ((r->flags & ~AG_REQ_FLAGS) != 0 ||
		((r->flags & AG_REQ_ROWS_MORE) && !(r->flags & AG_REQ_ROWS)))
		return "the request has unknown flags";
	if (!(r->flags & AG_REQ_ROWS) && (r->rows != 0 || r->nlimit_tables != 0))
		return "the request has rows but no count";
	return NULL;
}

size_t
ag_request_encode(const AgRequest *r, uint8_t *out, size_t cap,
				  const char **err)
{
	Writer		w = {out, cap, 0, NULL};

	if (cap > AG_REQUEST_MAX_BYTES)
		w.cap = AG_REQUEST_MAX_BYTES;
	w.err = request_defect(r);

	put_binding(&w, r);
	put_u16(&w, (uint16_t) r->ntargets);
	for (int i = 0; i < r->ntargets && !w.err; i++)
		put_str(&w, r->targets[i]);
	put_u32(&w, r->more_targets);
	put_u8(&w, r->flags);
	put_str(&w, r->statement);
	put_u16(&w, (uint16_t) r->nparams);
	for (int i = 0; i < r->nparams && !w.err; i++)
	{
		put_u16(&w, r->params[i].number);
		put_u8(&w, (r->params[i].isnull ? 1 : 0) | (r->params[i].cut ? 2 : 0));
		put_str(&w, r->params[i].value);
	}
	put_u64(&w, r->rows);
	put_u16(&w, (uint16_t) r->nlimit_tables);
	for (int i = 0; i < r->nlimit_tables && !w.err; i++)
		put_u32(&w, r->limit_tables[i]);

	if (w.err)
	{
		if (err)
			*err = w.err;
		return 0;
	}
	return w.pos;
}

bool
ag_request_binding_hash(const AgRequest *r, uint8_t out[AG_HASH_LEN])
{
	uint8_t		buf[AG_REQUEST_MAX_BYTES];
	Writer		w = {buf, sizeof(buf), 0, NULL};

	put_binding(&w, r);
	if (w.err)
		return false;
	ag_sha256(buf, w.pos, out);
	return true;
}

static int
compare_object_ids(const void *a, const void *b)
{
	const AgObjectId *x = a;
	const AgObjectId *y = b;

	if (x->classid != y->classid)
		return x->classid < y->classid ? -1 : 1;
	if (x->objid != y->objid)
		return x->objid < y->objid ? -1 : 1;
	if (x->subid != y->subid)
		return x->subid < y->subid ? -1 : 1;
	return 0;
}

void
ag_objects_digest(AgObjectId *objects, int n, uint8_t out[AG_HASH_LEN])
{
	EVP_MD_CTX *ctx;
	unsigned int outlen = AG_HASH_LEN;

	memset(out, 0, AG_HASH_LEN);
	if (n <= 0)
		return;
	qsort(objects, (size_t) n, sizeof(AgObjectId), compare_object_ids);
	ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (int i = 0; i < n; i++)
	{
		uint8_t		b[12];

		if (i > 0 && compare_object_ids(&objects[i - 1], &objects[i]) == 0)
			continue;
		ag_put_be32(b, objects[i].classid);
		ag_put_be32(b + 4, objects[i].objid);
		ag_put_be32(b + 8, (uint32_t) objects[i].subid);
		EVP_DigestUpdate(ctx, b, sizeof(b));
	}
	EVP_DigestFinal_ex(ctx, out, &outlen);
	EVP_MD_CTX_free(ctx);
}

void
ag_params_digest(const AgParam *params, int n, uint8_t out[AG_HASH_LEN])
{
	EVP_MD_CTX *ctx;
	unsigned int outlen = AG_HASH_LEN;

	memset(out, 0, AG_HASH_LEN);
	if (n <= 0)
		return;
	ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (int i = 0; i < n; i++)
	{
		/* its number, NULL or a length, then the value: no two lists hash alike */
		uint8_t		head[11] = {(uint8_t) (params[i].number >> 8), (uint8_t) params[i].number,
		params[i].isnull ? 1 : 0};
		uint64_t	len = params[i].isnull ? 0 : params[i].value.len;

		ag_put_be64(head + 3, len);
		EVP_DigestUpdate(ctx, head, sizeof(head));
		if (len > 0)
			EVP_DigestUpdate(ctx, params[i].value.ptr, len);
	}
	EVP_DigestFinal_ex(ctx, out, &outlen);
	EVP_MD_CTX_free(ctx);
}

/* ---- decoding ---- */

typedef struct Reader
{
	const uint8_t *in;
	size_t		len;
	size_t		pos;
	const char *err;
} Reader;

static const uint8_t *
get_bytes(Reader *rd, size_t n)
{
	const uint8_t *p;

	if (rd->err)
		return NULL;
	if (n > rd->len - rd->pos)
	{
		rd->err = "request is truncated";
		return NULL;
	}
	p = rd->in + rd->pos;
	rd->pos += n;
	return p;
}

static uint8_t
get_u8(Reader *rd)
{
	const uint8_t *p = get_bytes(rd, 1);

	return p ? p[0] : 0;
}

static uint16_t
get_u16(Reader *rd)
{
	const uint8_t *p = get_bytes(rd, 2);

	return p ? ag_get_be16(p) : 0;
}

static uint32_t
get_u32(Reader *rd)
{
	const uint8_t *p = get_bytes(rd, 4);

	return p ? ag_get_be32(p) : 0;
}

static uint64_t
get_u64(Reader *rd)
{
	const uint8_t *p = get_bytes(rd, 8);

	return p ? ag_get_be64(p) : 0;
}

static AgStr
get_str(Reader *rd)
{
	AgStr		s = {"", 0};
	size_t		n = get_u16(rd);
	const uint8_t *p = get_bytes(rd, n);

	if (!p)
		return s;
	if (n > 0 && memchr(p, '\0', n) != NULL)
	{
		rd->err = "request contains a NUL byte";
		return s;
	}
	s.ptr = (const char *) p;
	s.len = n;
	return s;
}

static void
get_hash(Reader *rd, uint8_t out[AG_HASH_LEN])
{
	const uint8_t *p = get_bytes(rd, AG_HASH_LEN);

	if (p)
		memcpy(out, p, AG_HASH_LEN);
}

bool
ag_request_decode(const uint8_t *body, size_t len, AgRequest *r,
				  const char **err)
{
	Reader		rd = {body, len, 0, NULL};
	uint8_t		version;
	const char *defect;

	memset(r, 0, sizeof(*r));
	if (len > AG_REQUEST_MAX_BYTES)
		rd.err = "request is too large";

	version = get_u8(&rd);
	if (!rd.err && version != AG_REQUEST_VERSION)
		rd.err = "request has an unknown version (this agentguard reads version 2)";
	r->system_identifier = get_u64(&rd);
	r->environment = get_str(&rd);
	r->database = get_str(&rd);
	r->role = get_str(&rd);
	r->action = get_str(&rd);
	get_hash(&rd, r->statement_hash);
	get_hash(&rd, r->objects_digest);
	get_hash(&rd, r->params_digest);
	r->ntargets = get_u16(&rd);
	if (!rd.err && r->ntargets > AG_MAX_TARGETS)
		rd.err = "request names too many objects";
	for (int i = 0; i < r->ntargets && !rd.err; i++)
		r->targets[i] = get_str(&rd);
	r->more_targets = get_u32(&rd);
	r->flags = get_u8(&rd);
	r->statement = get_str(&rd);
	r->nparams = get_u16(&rd);
	if (!rd.err && r->nparams > AG_MAX_PARAMS)
		rd.err = "request has too many parameters";
	for (int i = 0; i < r->nparams && !rd.err; i++)
	{
		uint8_t		flags;

		r->params[i].number = get_u16(&rd);
		flags = get_u8(&rd);
		if (!rd.err && flags > 3)
			rd.err = "request has a damaged parameter";
		r->params[i].isnull = (flags & 1) != 0;
		r->params[i].cut = (flags & 2) != 0;
		r->params[i].value = get_str(&rd);
	}
	r->rows = get_u64(&rd);
	r->nlimit_tables = get_u16(&rd);
	if (!rd.err && r->nlimit_tables > AG_MAX_LIMIT_TABLES)
		rd.err = "request names too many tables";
	for (int i = 0; i < r->nlimit_tables && !rd.err; i++)
		r->limit_tables[i] = get_u32(&rd);
	if (!rd.err && (defect = request_defect(r)) != NULL)
		rd.err = defect;
	if (!rd.err && r->action.len == 0)
		rd.err = "request names no action";
	if (!rd.err && rd.pos != len)
		rd.err = "request has trailing bytes";

	if (rd.err)
	{
		if (err)
			*err = rd.err;
		r->ntargets = 0;
		r->nparams = 0;
		r->nlimit_tables = 0;
		return false;
	}
	return true;
}

/* ---- base64url, no padding ---- */

size_t
ag_base64url_length(size_t nbytes)
{
	return (nbytes / 3) * 4 + ((nbytes % 3) ? (nbytes % 3) + 1 : 0);
}

void
ag_base64url_encode(const uint8_t *in, size_t len, char *out)
{
	size_t		i = 0;
	char	   *o = out;

	for (; i + 3 <= len; i += 3)
	{
		uint32_t	v = ((uint32_t) in[i] << 16) | (in[i + 1] << 8) | in[i + 2];

		*o++ = b64url_alphabet[(v >> 18) & 63];
		*o++ = b64url_alphabet[(v >> 12) & 63];
		*o++ = b64url_alphabet[(v >> 6) & 63];
		*o++ = b64url_alphabet[v & 63];
	}
	if (len - i == 1)
	{
		uint32_t	v = (uint32_t) in[i] << 16;

		*o++ = b64url_alphabet[(v >> 18) & 63];
		*o++ = b64url_alphabet[(v >> 12) & 63];
	}
	else if (len - i == 2)
	{
		uint32_t	v = ((uint32_t) in[i] << 16) | (in[i + 1] << 8);

		*o++ = b64url_alphabet[(v >> 18) & 63];
		*o++ = b64url_alphabet[(v >> 12) & 63];
		*o++ = b64url_alphabet[(v >> 6) & 63];
	}
	*o = '\0';
}

static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Strict: a length of 1 mod 4 never comes out of an encoder, and the unused
 * low bits of the last character must be zero, so every byte string has
 * exactly one text form and a code cannot be altered without changing it.
 */
long
ag_base64url_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	size_t		outlen;
	size_t		o = 0;
	uint32_t	acc = 0;
	int			bits = 0;

	if (len % 4 == 1)
		return -1;
	outlen = (len / 4) * 3 + ((len % 4) ? (len % 4) - 1 : 0);
	if (outlen > cap)
		return -1;
	for (size_t i = 0; i < len; i++)
	{
		int			v = b64url_value((unsigned char) in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t) v;
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			out[o++] = (uint8_t) (acc >> bits);
		}
		acc &= (1u << bits) - 1;
	}
	if (acc != 0)
		return -1;
	return (long) o;
}

size_t
ag_code_length(size_t body_len)
{
	return AG_PREFIX_LEN + ag_base64url_length(body_len);
}

void
ag_code_format(const char *prefix, const uint8_t *body, size_t len, char *out)
{
	memcpy(out, prefix, AG_PREFIX_LEN);
	ag_base64url_encode(body, len, out + AG_PREFIX_LEN);
}

bool
ag_request_parse(const char *text, size_t textlen, uint8_t *buf, size_t cap,
				 size_t *bodylen, AgRequest *r, const char **err)
{
	long		n;

	ag_trim(&text, &textlen);
	memset(r, 0, sizeof(*r));
	if (textlen == 0)
	{
		*err = "the request code is empty";
		return false;
	}
	if (!ag_has_prefix(text, textlen, AG_REQUEST_PREFIX))
	{
		if (textlen >= AG_PREFIX_LEN && ag_has_prefix(text, textlen, "agr"))
			*err = "the request code has an unknown version (this agentguard reads agr1.)";
		else
			*err = "this is not a request code (it must begin with \"agr1.\")";
		return false;
	}
	if (ag_base64url_length(AG_REQUEST_MAX_BYTES) < textlen - AG_PREFIX_LEN)
	{
		*err = "the request code is too long";
		return false;
	}
	n = ag_base64url_decode(text + AG_PREFIX_LEN, textlen - AG_PREFIX_LEN, buf, cap);
	if (n < 0)
	{
		*err = "the request code is damaged (not valid base64url)";
		return false;
	}
	if (bodylen)
		*bodylen = (size_t) n;
	return ag_request_decode(buf, (size_t) n, r, err);
}

/* ---- comparison ---- */

static bool
str_eq(AgStr a, AgStr b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

AgMismatch
ag_request_compare(const AgRequest *approved, const AgRequest *actual)
{
	if (approved->system_identifier != actual->system_identifier)
		return AG_WRONG_CLUSTER;
	if (!str_eq(approved->environment, actual->environment))
		return AG_WRONG_ENVIRONMENT;
	if (!str_eq(approved->database, actual->database))
		return AG_WRONG_DATABASE;
	if (!str_eq(approved->role, actual->role))
		return AG_WRONG_ROLE;
	if (!str_eq(approved->action, actual->action))
		return AG_WRONG_ACTION;
	if (memcmp(approved->objects_digest, actual->objects_digest, AG_HASH_LEN) != 0)
		return AG_WRONG_TARGET;
	if (memcmp(approved->statement_hash, actual->statement_hash, AG_HASH_LEN) != 0)
		return AG_WRONG_STATEMENT;
	if (memcmp(approved->params_digest, actual->params_digest, AG_HASH_LEN) != 0)
		return AG_WRONG_PARAMETERS;
	return AG_MATCH;
}

const char *
ag_mismatch_name(AgMismatch m)
{
	switch (m)
	{
		case AG_MATCH:
			return "matches";
		case AG_WRONG_CLUSTER:
			return "wrong cluster";
		case AG_WRONG_ENVIRONMENT:
			return "wrong environment";
		case AG_WRONG_DATABASE:
			return "wrong database";
		case AG_WRONG_ROLE:
			return "wrong role";
		case AG_WRONG_ACTION:
			return "wrong action";
		case AG_WRONG_TARGET:
			return "other objects (renamed, replaced or reached since)";
		case AG_WRONG_STATEMENT:
			return "wrong statement";
		case AG_WRONG_PARAMETERS:
			return "other parameter values";
	}
	return "unknown";
}
