/*
 * request.h
 *		Request codes and confirmation tokens: the words that travel between
 *		the database, the DBA's terminal and the approval page.
 *
 * Nothing here includes PostgreSQL headers, so the server, the agentguard
 * command-line tool and the fuzzers all decode with the same code.  Decoders
 * never allocate: they return views into the caller's buffer.
 *
 * Request code, text form: "agr1." base64url(body), no padding.  Body (all
 * integers big-endian, str = u16 length then bytes, no NUL inside):
 *	what the approval is bound to (the binding part, hashed for matching):
 *		u8		version (2)
 *		u64		cluster system identifier
 *		str		environment name ("" shows as "unnamed")
 *		str		database
 *		str		role (the role that logged in)
 *		str		action ("DROP TABLE", "TRUNCATE", "DELETE", ...)
 *		u8[32]	SHA-256 of the whole statement text
 *		u8[32]	objects digest: SHA-256 of the identities (catalog, object,
 *				sub-object numbers) of every object bound, sorted; all zero
 *				when none
 *		u8[32]	parameters digest: SHA-256 of the whole parameter values;
 *				all zero when the statement has none
 *	what the DBA is shown, and the limits a DML approval sets:
 *		u16		number of targets, then that many str (schema-qualified)
 *		u32		objects reached but not listed
 *		u8		flags (AG_REQ_*)
 *		str		statement text, at most AG_STATEMENT_SHOWN_MAX bytes
 *		u16		number of parameters, then for each: u16 its number ($n),
 *				u8 flags (1: NULL, 2: cut), str value (at most AG_PARAM_SHOWN_MAX bytes shown;
 *				the digest covers all of it)
 *		u64		rows: with AG_REQ_ROWS, how many rows the statement changed
 *				when it was refused; with AG_REQ_ROWS_MORE too, more than that
 *		u16		number of tables, then u32 OID each: the tables a DML
 *				statement changed when it was refused, and may change under
 *				the approval
 * The same statement from the same role always gives the same code.
 *
 * Token, text form: "agt1." base64url(body).  Body of version 2, which
 * several DBAs can sign (agentguard.required_signatures):
 *		u8		version (2)
 *		u16		length of the request body, then the request body
 *		i64		issued at, i64 expires at (Unix seconds)
 *		u8[16]	random nonce
 *		u8		number of signatures, 1 to AG_MAX_SIGNATURES, then for each:
 *		u8[8]	signer key id (first 8 bytes of SHA-256 of the public key)
 *		u8[64]	Ed25519 signature over AG_TOKEN_CONTEXT then everything
 *				before the number of signatures
 * The request body may be a batch body instead (below): one token then
 * approves every request of the batch, each once.
 * Every signature covers the same bytes, so a second signer adds one
 * without the first signing again.  A key id that is there twice is one
 * signer; the server counts distinct trusted signers.
 *
 * Version 1, written before there could be more signers, is still read;
 * it has one signature, and its signer's key id is among what it signs:
 *		u8		version (1)
 *		u16		length of the request body, then the request body
 *		u8[8]	signer key id
 *		i64		issued at, i64 expires at
 *		u8[16]	random nonce
 *		u8[64]	Ed25519 signature over AG_TOKEN_CONTEXT_V1 then all of the above
 * Each version signs under its own context string, so no signature of one
 * can be read as one of the other.
 *
 * Batch code, text form: "agb1." base64url(body).  Body:
 *		u8		AG_BATCH_VERSION
 *		u16		number of requests, 1 to AG_BATCH_MAX_REQUESTS
 *		then for each, in the order they were recorded: u16 length, request body
 * Every request names the same cluster, environment, database and role; the
 * whole body is at most AG_BATCH_MAX_BYTES.
 *
 * Public key text form: "agk1." base64url(32 raw bytes).  Private keys are
 * PKCS#8 PEM files, as OpenSSL and WebCrypto both read them.
 */
#ifndef AGENTGUARD_REQUEST_H
#define AGENTGUARD_REQUEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define AG_REQUEST_PREFIX		"agr1."
#define AG_BATCH_PREFIX			"agb1."
#define AG_TOKEN_PREFIX			"agt1."
#define AG_PUBKEY_PREFIX		"agk1."
#define AG_PREFIX_LEN			5

#define AG_REQUEST_VERSION		2
#define AG_TOKEN_VERSION		2
#define AG_TOKEN_VERSION_SINGLE	1	/* one signature; still accepted */
#define AG_TOKEN_CONTEXT		"agentguard token v2"
#define AG_TOKEN_CONTEXT_V1		"agentguard token v1"
#define AG_MAX_SIGNATURES		5

#define AG_MAX_TARGETS			256
#define AG_STATEMENT_SHOWN_MAX	2048
#define AG_MAX_PARAMS			100
#define AG_PARAM_SHOWN_MAX		256
#define AG_MAX_LIMIT_TABLES		256
/* largest request body accepted; keeps every code well under 100 kB */
#define AG_REQUEST_MAX_BYTES	32768
/*
 * A batch: the requests a rehearsal recorded, in order.  Its first byte can
 * never begin a request body, so a token's payload says which it is.
 */
#define AG_BATCH_VERSION		0xB1
#define AG_BATCH_MAX_REQUESTS	64
/* under 64 kB, as a token's payload length is 16 bits; ~80 kB of text */
#define AG_BATCH_MAX_BYTES		60000
/* room for the largest batch, its times, nonce and five signatures */
#define AG_TOKEN_MAX_BYTES	(AG_BATCH_MAX_BYTES + 512)

#define AG_HASH_LEN				32
#define AG_KEY_ID_LEN			8
#define AG_NONCE_LEN			16
#define AG_SIGNATURE_LEN		64
#define AG_PUBKEY_LEN			32

#define AG_REQ_STATEMENT_CUT	0x01	/* the shown statement is a prefix */
#define AG_REQ_ROWS				0x02	/* rows and tables were counted */
#define AG_REQ_ROWS_MORE		0x04	/* counting stopped at rows */
#define AG_REQ_FLAGS			0x07

/* a view of bytes owned by somebody else; not NUL-terminated */
typedef struct AgStr
{
	const char *ptr;
	size_t		len;
} AgStr;

/* an object by its catalog identity, as PostgreSQL's ObjectAddress */
typedef struct AgObjectId
{
	uint32_t	classid;
	uint32_t	objid;
	int32_t		subid;
} AgObjectId;

typedef struct AgParam
{
	uint16_t	number;			/* $n of the statement */
	bool		isnull;
	bool		cut;			/* value shows only the start of it */
	AgStr		value;			/* shown text; whole for the digest */
} AgParam;

typedef struct AgRequest
{
	uint64_t	system_identifier;
	AgStr		environment;
	AgStr		database;
	AgStr		role;
	AgStr		action;
	uint8_t		statement_hash[AG_HASH_LEN];
	uint8_t		objects_digest[AG_HASH_LEN];
	uint8_t		params_digest[AG_HASH_LEN];
	int			ntargets;
	AgStr		targets[AG_MAX_TARGETS];
	uint32_t	more_targets;
	uint8_t		flags;
	AgStr		statement;		/* shown text; all of it unless CUT */
	int			nparams;
	AgParam		params[AG_MAX_PARAMS];
	uint64_t	rows;
	int			nlimit_tables;
	uint32_t	limit_tables[AG_MAX_LIMIT_TABLES];
} AgRequest;

/* a batch's requests, as views of their bodies in the caller's buffer */
typedef struct AgBatch
{
	int			n;
	const uint8_t *bodies[AG_BATCH_MAX_REQUESTS];
	size_t		lens[AG_BATCH_MAX_REQUESTS];
} AgBatch;

typedef struct AgSignature
{
	uint8_t		key_id[AG_KEY_ID_LEN];
	uint8_t		signature[AG_SIGNATURE_LEN];
} AgSignature;

typedef struct AgToken
{
	int			version;		/* AG_TOKEN_VERSION or _SINGLE */
	AgRequest	request;		/* of a batch token: its first request */
	bool		is_batch;		/* request_body is a batch body */
	AgBatch		batch;
	const uint8_t *request_body;	/* the request's (or batch's) canonical bytes */
	size_t		request_len;
	int64_t		issued_at;
	int64_t		expires_at;
	uint8_t		nonce[AG_NONCE_LEN];
	int			nsignatures;	/* 1 to AG_MAX_SIGNATURES, in token order */
	AgSignature signatures[AG_MAX_SIGNATURES];
	const uint8_t *signed_part;		/* what every signature covers */
	size_t		signed_len;
	size_t		len;			/* the whole body */
} AgToken;

/* Which part of a request a token was not issued for, in binding order. */
typedef enum AgMismatch
{
	AG_MATCH = 0,
	AG_WRONG_CLUSTER,
	AG_WRONG_ENVIRONMENT,
	AG_WRONG_DATABASE,
	AG_WRONG_ROLE,
	AG_WRONG_ACTION,
	AG_WRONG_TARGET,
	AG_WRONG_STATEMENT,
	AG_WRONG_PARAMETERS
} AgMismatch;

/* ---- request.c: request codes, base64url, hashing ---- */

extern AgStr ag_str(const char *cstring);

/*
 * The statement alone out of a possibly multi-statement source string,
 * without the comments and white space before it or the white space after.
 * location -1 means the whole string, and len 0 means "to the end", as in
 * PostgreSQL's RawStmt.
 */
extern void ag_statement_text(const char *source, int location, int len,
							  const char **text, int *textlen);

/*
 * Fill r->statement_hash, r->statement and r->flags from the full statement
 * text; r->statement points into stmt.
 */
extern void ag_request_set_statement(AgRequest *r, const char *stmt, size_t len);

/*
 * The digest of a set of objects (sorted and deduplicated in place), for
 * objects_digest; all zero for none.
 */
extern void ag_objects_digest(AgObjectId *objects, int n,
							  uint8_t out[AG_HASH_LEN]);

/*
 * The digest of parameter values (whole, not cut), for params_digest; all
 * zero for none.
 */
extern void ag_params_digest(const AgParam *params, int n,
							 uint8_t out[AG_HASH_LEN]);

/*
 * What an approval is matched by: SHA-256 of the binding part of r's body.
 * Two requests with the same binding hash are the same statement by the same
 * role on the same objects with the same parameters; rows and tables are
 * limits, not part of it.  Returns false when r cannot be encoded.
 */
extern bool ag_request_binding_hash(const AgRequest *r, uint8_t out[AG_HASH_LEN]);

/*
 * Canonical body of r into out (cap bytes).  Returns the body length, or 0
 * when r breaks a limit (too many targets, a field too long, a NUL byte, or
 * a body above AG_REQUEST_MAX_BYTES); *err then says which.
 */
extern size_t ag_request_encode(const AgRequest *r, uint8_t *out, size_t cap,
								const char **err);

/* Text form "agr1.<base64url>" of a body; out needs ag_code_length(len)+1. */
extern size_t ag_code_length(size_t body_len);
extern void ag_code_format(const char *prefix, const uint8_t *body,
						   size_t len, char *out);

/*
 * Decode a body.  Strings in *r point into body.  Returns false and sets
 * *err to a one-line reason on any defect; never reads past len.
 */
extern bool ag_request_decode(const uint8_t *body, size_t len, AgRequest *r,
							  const char **err);

/*
 * Parse the text form (prefix, base64url, body) into buf (cap bytes) and
 * decode it.  Surrounding white space is ignored.
 */
extern bool ag_request_parse(const char *text, size_t textlen, uint8_t *buf,
							 size_t cap, size_t *bodylen, AgRequest *r,
							 const char **err);

/* First binding in which "actual" differs from what "approved" names. */
extern AgMismatch ag_request_compare(const AgRequest *approved,
									 const AgRequest *actual);
extern const char *ag_mismatch_name(AgMismatch m);

/*
 * Plain-words description, several lines, environment first.  Writes at most
 * cap bytes including the NUL; returns the length it needed.
 */
extern size_t ag_request_describe(const AgRequest *r, char *out, size_t cap);

/*
 * Text shown to a person, made unambiguous: control characters (C0, C1,
 * DEL), bidirectional overrides, invisible and zero-width characters and
 * bytes that are not UTF-8 are written as \x and two hex digits, or as \u
 * and the code point in hex between braces; a backslash as \\.  keep_layout
 * leaves newlines and tabs as they are.  Writes at most cap bytes including
 * the NUL; returns the length it needed.
 */
extern size_t ag_escape_shown(const char *s, size_t len, bool keep_layout,
							  char *out, size_t cap);

/*
 * Unix seconds as "YYYY-MM-DD HH:MM:SS UTC" for any value: years outside
 * 0001-9999 are shown as "out of range (N seconds)".  out needs
 * AG_TIME_TEXT_LEN bytes.
 */
#define AG_TIME_TEXT_LEN 64
extern void ag_format_utc(int64_t seconds, char *out);
/* the latest time a token may name: 9999-12-31 23:59:59 UTC */
#define AG_TIME_MAX		INT64_C(253402300799)

extern size_t ag_base64url_length(size_t nbytes);
extern void ag_base64url_encode(const uint8_t *in, size_t len, char *out);
/* returns decoded length, or -1 on a character outside the alphabet,
 * padding, a length that no encoding produces, or more than cap bytes */
extern long ag_base64url_decode(const char *in, size_t len, uint8_t *out,
								size_t cap);

extern void ag_sha256(const void *data, size_t len, uint8_t out[AG_HASH_LEN]);

/* ---- batch.c: the requests of a rehearsal, in one code ---- */

/* whether a body (a token's payload, say) is a batch rather than a request */
extern bool ag_is_batch(const uint8_t *body, size_t len);

/*
 * How many bytes a batch body of n requests whose bodies add up to bytes
 * takes; callers check it against AG_BATCH_MAX_BYTES as requests are added.
 */
extern size_t ag_batch_size(int n, size_t bytes);

/*
 * The batch body of n request bodies into out (cap bytes).  Returns its
 * length, or 0 and *err when the batch breaks a limit.
 */
extern size_t ag_batch_encode(const uint8_t *const *bodies, const size_t *lens,
							  int n, uint8_t *out, size_t cap, const char **err);

/*
 * Decode a batch body: every request in it must decode (scratch holds each
 * in turn) and name the cluster, environment, database and role of the
 * first.  *b points into body.
 */
extern bool ag_batch_decode(const uint8_t *body, size_t len, AgBatch *b,
							AgRequest *scratch, const char **err);

/* Parse the text form "agb1.<base64url>" into buf and decode it. */
extern bool ag_batch_parse(const char *text, size_t textlen, uint8_t *buf,
						   size_t cap, size_t *bodylen, AgBatch *b,
						   AgRequest *scratch, const char **err);

/* Request i of a decoded batch into r (it decoded once; it decodes again). */
extern bool ag_batch_request(const AgBatch *b, int i, AgRequest *r);

/*
 * What a confirmation of request i of a batch token is recorded under: its
 * own nonce, made from the token's, so each request is used once.
 */
extern void ag_batch_nonce(const uint8_t token_nonce[AG_NONCE_LEN], int i,
						   uint8_t out[AG_NONCE_LEN]);

/*
 * Plain words for a whole batch: how many statements, where and for whom,
 * then each request as ag_request_describe shows it.  scratch holds each
 * request in turn.  Writes at most cap bytes including the NUL; returns the
 * length it needed.
 */
extern size_t ag_batch_describe(const AgBatch *b, AgRequest *scratch,
								char *out, size_t cap);

/* ---- token.c: tokens, keys, Ed25519 ---- */

/*
 * The signed part of a new token (version 2, everything its signatures
 * cover) into out, cap bytes.  Times follow the decoder's rules (issued at
 * 1970 or later, expiring after that and by AG_TIME_MAX).  Returns the
 * length, or 0 and *err.
 */
extern size_t ag_token_encode(const uint8_t *request, size_t reqlen,
							  int64_t issued_at, int64_t expires_at,
							  const uint8_t nonce[AG_NONCE_LEN],
							  uint8_t *out, size_t cap, const char **err);

/*
 * A whole version 2 token body into out (cap bytes): the signed part, then
 * the n signatures, 1 to AG_MAX_SIGNATURES.  signed_part may lie at the
 * start of out.  Returns the length, or 0 and *err.
 */
extern size_t ag_token_assemble(const uint8_t *signed_part, size_t signed_len,
								const AgSignature *signatures, int n,
								uint8_t *out, size_t cap, const char **err);

/*
 * What a token's signatures cover: the context string of the version that
 * signed_part begins with, NUL included, then signed_part.  out needs
 * AG_TOKEN_MESSAGE_MAX bytes; returns the length.
 */
#define AG_TOKEN_MESSAGE_MAX	(sizeof(AG_TOKEN_CONTEXT) + AG_TOKEN_MAX_BYTES)
extern size_t ag_token_message(const uint8_t *signed_part, size_t len,
							   uint8_t *out);

/* Either version; what t holds points into body. */
extern bool ag_token_decode(const uint8_t *body, size_t len, AgToken *t,
							const char **err);
extern bool ag_token_parse(const char *text, size_t textlen, uint8_t *buf,
						   size_t cap, AgToken *t, const char **err);

/* whether signature i of t is valid for public_key, whose key id it names */
extern bool ag_token_verify(const AgToken *t, int i,
							const uint8_t public_key[AG_PUBKEY_LEN]);

/* index of the first signature with this key id, or -1 */
extern int	ag_token_find_signer(const AgToken *t,
								 const uint8_t key_id[AG_KEY_ID_LEN]);

/* how many distinct key ids sign t: the most it can count for */
extern int	ag_token_distinct_signers(const AgToken *t);

extern bool ag_pubkey_parse(const char *text, size_t len,
							uint8_t out[AG_PUBKEY_LEN], const char **err);
/* out needs AG_PREFIX_LEN + 43 + 1 bytes */
#define AG_PUBKEY_TEXT_LEN (AG_PREFIX_LEN + 43)
extern void ag_pubkey_format(const uint8_t key[AG_PUBKEY_LEN], char *out);
extern void ag_key_id(const uint8_t key[AG_PUBKEY_LEN],
					  uint8_t out[AG_KEY_ID_LEN]);

#endif							/* AGENTGUARD_REQUEST_H */
