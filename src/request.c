/*
 * request.c
 *		Encoding and decoding of request codes.  See request.h for the format.
 *
 * This file must build without PostgreSQL headers: the command-line tool,
 * the fuzzer and the server all link it, so a code the server prints is
 * read back by exactly the same rules everywhere.
 */
#include "request.h"

#include <string.h>
#include <stdio.h>
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
	uint8_t		b[2] = {(uint8_t) (v >> 8), (uint8_t) v};

	put_bytes(w, b, 2);
}

static void
put_u64(Writer *w, uint64_t v)
{
	uint8_t		b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t) (v >> (56 - 8 * i));
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

size_t
ag_request_encode(const AgRequest *r, uint8_t *out, size_t cap,
				  const char **err)
{
	Writer		w = {out, cap, 0, NULL};

	if (cap > AG_REQUEST_MAX_BYTES)
		w.cap = AG_REQUEST_MAX_BYTES;
	if (r->ntargets < 0 || r->ntargets > AG_MAX_TARGETS)
		w.err = "the statement names too many objects for one request";
	if (r->statement.len > AG_STATEMENT_SHOWN_MAX)
		w.err = "the shown statement text is longer than allowed";

	put_u8(&w, AG_REQUEST_VERSION);
	put_u64(&w, r->system_identifier);
	put_str(&w, r->environment);
	put_str(&w, r->database);
	put_str(&w, r->role);
	put_str(&w, r->action);
	put_u16(&w, (uint16_t) r->ntargets);
	for (int i = 0; i < r->ntargets && !w.err; i++)
		put_str(&w, r->targets[i]);
	put_bytes(&w, r->statement_hash, AG_HASH_LEN);
	put_u8(&w, r->flags);
	put_str(&w, r->statement);

	if (w.err)
	{
		if (err)
			*err = w.err;
		return 0;
	}
	return w.pos;
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

	return p ? (uint16_t) ((p[0] << 8) | p[1]) : 0;
}

static uint64_t
get_u64(Reader *rd)
{
	const uint8_t *p = get_bytes(rd, 8);
	uint64_t	v = 0;

	if (!p)
		return 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
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

bool
ag_request_decode(const uint8_t *body, size_t len, AgRequest *r,
				  const char **err)
{
	Reader		rd = {body, len, 0, NULL};
	const uint8_t *hash;
	uint8_t		version;

	memset(r, 0, sizeof(*r));
	if (len > AG_REQUEST_MAX_BYTES)
		rd.err = "request is too large";

	version = get_u8(&rd);
	if (!rd.err && version != AG_REQUEST_VERSION)
		rd.err = "request has an unknown version (this agentguard reads version 1)";
	r->system_identifier = get_u64(&rd);
	r->environment = get_str(&rd);
	r->database = get_str(&rd);
	r->role = get_str(&rd);
	r->action = get_str(&rd);
	r->ntargets = get_u16(&rd);
	if (!rd.err && r->ntargets > AG_MAX_TARGETS)
		rd.err = "request names too many objects";
	for (int i = 0; i < r->ntargets && !rd.err; i++)
		r->targets[i] = get_str(&rd);
	hash = get_bytes(&rd, AG_HASH_LEN);
	if (hash)
		memcpy(r->statement_hash, hash, AG_HASH_LEN);
	r->flags = get_u8(&rd);
	if (!rd.err && (r->flags & ~AG_REQ_STATEMENT_CUT) != 0)
		rd.err = "request has unknown flags";
	r->statement = get_str(&rd);
	if (!rd.err && r->statement.len > AG_STATEMENT_SHOWN_MAX)
		rd.err = "request statement text is longer than allowed";
	if (!rd.err && r->action.len == 0)
		rd.err = "request names no action";
	if (!rd.err && rd.pos != len)
		rd.err = "request has trailing bytes";

	if (rd.err)
	{
		if (err)
			*err = rd.err;
		if (r->ntargets > AG_MAX_TARGETS)
			r->ntargets = 0;
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

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool
ag_request_parse(const char *text, size_t textlen, uint8_t *buf, size_t cap,
				 size_t *bodylen, AgRequest *r, const char **err)
{
	long		n;

	while (textlen > 0 && is_space(text[0]))
	{
		text++;
		textlen--;
	}
	while (textlen > 0 && is_space(text[textlen - 1]))
		textlen--;

	memset(r, 0, sizeof(*r));
	if (textlen == 0)
	{
		*err = "the request code is empty";
		return false;
	}
	if (textlen < AG_PREFIX_LEN || memcmp(text, AG_REQUEST_PREFIX, AG_PREFIX_LEN) != 0)
	{
		if (textlen >= AG_PREFIX_LEN && memcmp(text, "agr", 3) == 0)
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
	if (approved->ntargets != actual->ntargets)
		return AG_WRONG_TARGET;
	for (int i = 0; i < approved->ntargets; i++)
		if (!str_eq(approved->targets[i], actual->targets[i]))
			return AG_WRONG_TARGET;
	if (memcmp(approved->statement_hash, actual->statement_hash, AG_HASH_LEN) != 0)
		return AG_WRONG_STATEMENT;
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
			return "wrong target";
		case AG_WRONG_STATEMENT:
			return "wrong statement";
	}
	return "unknown";
}

/* ---- description ---- */

typedef struct Text
{
	char	   *out;
	size_t		cap;
	size_t		len;
} Text;

static void
text_put(Text *t, const char *p, size_t n)
{
	if (t->cap > 0 && t->len < t->cap - 1)
	{
		size_t		room = t->cap - 1 - t->len;

		memcpy(t->out + t->len, p, n < room ? n : room);
		t->out[t->len + (n < room ? n : room)] = '\0';
	}
	t->len += n;
}

static void
text_cstr(Text *t, const char *s)
{
	text_put(t, s, strlen(s));
}

/*
 * Control characters in names and statements would let a crafted code
 * rewrite the DBA's terminal (or hide a line), so they are shown escaped.
 * Newlines and tabs in the statement stay readable.
 */
static void
text_shown(Text *t, AgStr s, bool keep_layout)
{
	for (size_t i = 0; i < s.len; i++)
	{
		unsigned char c = (unsigned char) s.ptr[i];

		if (c < 0x20 || c == 0x7f)
		{
			char		esc[8];

			if (keep_layout && (c == '\n' || c == '\t'))
			{
				text_put(t, (const char *) &s.ptr[i], 1);
				if (c == '\n')
					text_cstr(t, "             ");
				continue;
			}
			snprintf(esc, sizeof(esc), "\\x%02x", c);
			text_cstr(t, esc);
		}
		else
			text_put(t, (const char *) &s.ptr[i], 1);
	}
}

size_t
ag_request_describe(const AgRequest *r, char *out, size_t cap)
{
	Text		t = {out, cap, 0};
	char		num[32];

	if (cap > 0)
		out[0] = '\0';
	text_cstr(&t, "environment: ");
	if (r->environment.len == 0)
		text_cstr(&t, "unnamed");
	else
		text_shown(&t, r->environment, false);
	text_cstr(&t, "\naction:      ");
	text_shown(&t, r->action, false);
	text_cstr(&t, "\nobjects:     ");
	if (r->ntargets == 0)
		text_cstr(&t, "(none named)");
	for (int i = 0; i < r->ntargets; i++)
	{
		if (i > 0)
			text_cstr(&t, ", ");
		text_shown(&t, r->targets[i], false);
	}
	text_cstr(&t, "\ndatabase:    ");
	text_shown(&t, r->database, false);
	snprintf(num, sizeof(num), "%llu", (unsigned long long) r->system_identifier);
	text_cstr(&t, "\ncluster:     ");
	text_cstr(&t, num);
	text_cstr(&t, "\nrole:        ");
	text_shown(&t, r->role, false);
	text_cstr(&t, "\nstatement:   ");
	text_shown(&t, r->statement, true);
	if (r->flags & AG_REQ_STATEMENT_CUT)
		text_cstr(&t, " [...] (cut for display; the approval covers the whole statement)");
	text_cstr(&t, "\n");
	return t.len;
}
