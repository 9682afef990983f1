/*
 * ledger.c
 *		Signers, confirmations and their single use, and the audit table:
 *		the parts of agentguard that live in the database's own tables.
 *
 * The tables belong to the extension's owner and nobody else may write
 * them, so every access here runs as that owner (the way the server runs
 * maintenance as a table's owner), whoever the calling session is.  A token
 * is used up by an UPDATE in the transaction of the statement it approves:
 * if that statement fails or rolls back, so does the use, and two sessions
 * presenting the same token serialize on the row, so only one succeeds.
 */
#include "postgres.h"

#include "access/xlog.h"
#include "access/genam.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/varlena.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "ledger.h"
#include "owner.h"
#include "protect.h"
#include "refusals.h"
#include "request.h"
#include "session.h"
#include "settings.h"
#include "waiting.h"

PG_FUNCTION_INFO_V1(agentguard_confirm);

static Datum
bytea_datum(const void *data, size_t len)
{
	bytea	   *result = palloc(VARHDRSZ + len);

	SET_VARSIZE(result, VARHDRSZ + len);
	memcpy(VARDATA(result), data, len);
	return PointerGetDatum(result);
}

static Datum
text_datum(const char *s)
{
	return PointerGetDatum(cstring_to_text(s));
}

static Datum
agstr_datum(AgStr s)
{
	return PointerGetDatum(cstring_to_text_with_len(s.ptr, s.len));
}

static int
ledger_exec(const char *sql, int nargs, Oid *types, Datum *values, int expected)
{
	int			ret = SPI_execute_with_args(sql, nargs, types, values, NULL,
											false, 0);

	if (ret != expected)
		elog(ERROR, "agentguard: ledger query failed (%s): %s",
			 SPI_result_code_string(ret), sql);
	return (int) SPI_processed;
}

static char *
result_text(int row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

/* times in messages are UTC and ISO, whatever the session's DateStyle */
#define SQL_UTC_TIME(column) \
	"pg_catalog.to_char(" column " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"')"

/* any time a token can carry, even one a crafted token puts out of range */
static char *
show_unix_time(int64 seconds)
{
	char		buf[AG_TIME_TEXT_LEN];

	ag_format_utc(seconds, buf);
	return pstrdup(buf);
}

static char *
show_duration(int64 seconds)
{
	if (seconds % 3600 == 0)
		return psprintf("%lldh", (long long) (seconds / 3600));
	if (seconds % 60 == 0)
		return psprintf("%lldmin", (long long) (seconds / 60));
	return psprintf("%llds", (long long) seconds);
}

static char *
describe_request(const AgRequest *request)
{
	size_t		need = ag_request_describe(request, NULL, 0);
	char	   *out = palloc(need + 1);

	ag_request_describe(request, out, need + 1);
	return out;
}

static char *
hex(const uint8 *bytes, size_t len)
{
	char	   *out = palloc(len * 2 + 1);

	for (size_t i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", bytes[i]);
	return out;
}

/*
 * Text for a log line: control characters (a table named with a newline
 * could otherwise forge a second "agentguard:" line) are written as \xNN,
 * and double quotes are doubled, as the line quotes the object list.
 */
char *
ag_log_text(const char *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c < 0x20 || c == 0x7f)
			appendStringInfo(&buf, "\\x%02x", c);
		else if (c == '\\')
			appendStringInfoString(&buf, "\\\\");
		else
		{
			if (c == '"')
				appendStringInfoChar(&buf, '"');
			appendStringInfoChar(&buf, (char) c);
		}
	}
	return buf.data;
}

void
ag_ledger_audit(const char *event, const char *action, const char *objects,
			 const char *request, const char *detail)
{
	Oid			types[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};

	values[0] = text_datum(event);
	values[1] = action ? text_datum(action) : (Datum) 0;
	values[2] = objects ? text_datum(objects) : (Datum) 0;
	values[3] = request ? text_datum(request) : (Datum) 0;
	values[4] = detail ? text_datum(detail) : (Datum) 0;
	for (int i = 1; i < 5; i++)
		if (values[i] == (Datum) 0)
			nulls[i] = 'n';
	if (SPI_execute_with_args("INSERT INTO agentguard.audit (event, action, objects, request, detail) "
							  "VALUES ($1, $2, $3, $4, $5)",
							  5, types, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "agentguard: could not write the audit table");
}

/*
 * Which of a token's signatures count in this database.  A signature counts
 * when its key id belongs to a signer trusted here (not removed) and it
 * verifies with that signer's key; a key id that signs twice counts once.
 */
typedef struct SignerCount
{
	int			counted;		/* distinct trusted signers, verified */
	StringInfoData names;		/* theirs, separated by ", " */
	StringInfoData log_names;	/* quoted for a log line, by "," */
	bool		forged;			/* a trusted signer's signature fails */
	const char *problem;		/* why the first that does not count does not */
	char	   *problem_detail;
	StringInfoData not_counted; /* why each that does not count does not */
} SignerCount;

static void
count_signers(const AgToken *token, SignerCount *sc)
{
	Oid			types[1] = {BYTEAOID};
	Datum		values[1];

	memset(sc, 0, sizeof(*sc));
	initStringInfo(&sc->names);
	initStringInfo(&sc->log_names);
	initStringInfo(&sc->not_counted);
	for (int i = 0; i < token->nsignatures; i++)
	{
		const uint8 *key_id = token->signatures[i].key_id;
		uint8		key[AG_PUBKEY_LEN];
		char	   *signer = NULL;
		char	   *public_key;
		char	   *removed_at = NULL;
		char	   *detail = NULL;

		values[0] = bytea_datum(key_id, AG_KEY_ID_LEN);
		ledger_exec("SELECT name, public_key, " SQL_UTC_TIME("removed_at") " FROM ONLY agentguard.signers WHERE key_id OPERATOR(pg_catalog.=) $1",
					1, types, values, SPI_OK_SELECT);
		if (SPI_processed == 0)
			detail = psprintf("No signer with key id %s is trusted in this database.",
							  hex(key_id, AG_KEY_ID_LEN));
		else
		{
			signer = result_text(0, 1);
			removed_at = result_text(0, 3);
			if (removed_at != NULL)
				detail = psprintf("Signer \"%s\" was removed at %s.", signer, removed_at);
		}
		if (detail)
		{
			if (sc->problem == NULL)
			{
				sc->problem = removed_at ? "removed signer" : "unknown signer";
				sc->problem_detail = detail;
			}
			appendStringInfo(&sc->not_counted, " %s", detail);
			continue;
		}
		public_key = result_text(0, 2);
		if (!ag_pubkey_parse(public_key, strlen(public_key), key, NULL) ||
			!ag_token_verify(token, i, key))
		{
			/* not a signature that merely does not count: the token is forged */
			sc->forged = true;
			sc->problem = "bad signature";
			sc->problem_detail = psprintf("The token does not verify with the public key of signer \"%s\": it was altered, or signed with another key.",
										  signer);
			return;
		}
		if (ag_token_find_signer(token, key_id) < i)
			appendStringInfo(&sc->not_counted, " Signer \"%s\" signed more than once and counts once.",
							 signer);
		else
		{
			if (sc->counted++ > 0)
			{
				appendStringInfoString(&sc->names, ", ");
				appendStringInfoChar(&sc->log_names, ',');
			}
			appendStringInfoString(&sc->names, signer);
			appendStringInfoString(&sc->log_names, ag_log_text(quote_identifier(signer)));
		}
	}
}

/*
 * The DETAIL of a token short of signers: how many more must sign, and why
 * the signatures it has that do not count do not.
 */
static char *
short_detail(const SignerCount *sc)
{
	int			missing = ag_required_signatures - sc->counted;

	return psprintf("agentguard.required_signatures is %d: %d more distinct trusted signer%s must sign it.%s%s%s%s",
					ag_required_signatures, missing, missing == 1 ? "" : "s",
					sc->counted > 0 ? " Signed by: " : "",
					sc->counted > 0 ? sc->names.data : "",
					sc->counted > 0 ? "." : "",
					sc->not_counted.data);
}

static void
refuse_token(const char *reason, const char *detail, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("agentguard: token refused: %s", reason),
			 detail ? errdetail("%s", detail) : 0,
			 errhint("%s", hint ? hint : "Ask the DBA to sign the request code again, as agentguard printed it.")));
}

static bool
agstr_equals(AgStr s, const char *cstring)
{
	return s.len == strlen(cstring) && memcmp(s.ptr, cstring, s.len) == 0;
}

/* a name from a token, for a message a DBA reads: nothing in it is hidden */
static char *
agstr_shown(AgStr s)
{
	size_t		need = ag_escape_shown(s.ptr, s.len, false, NULL, 0);
	char	   *out = palloc(need + 1);

	ag_escape_shown(s.ptr, s.len, false, out, need + 1);
	return out;
}

static char *
agstr_cstring(AgStr s)
{
	return pnstrdup(s.ptr, s.len);
}

/*
 * One request a token approves, with the nonce its confirmation is
 * recorded under: a single token's own, or for request i of a batch token
 * one made from it, so that each request of a batch is used once.
 */
typedef struct TokenPart
{
	const uint8 *body;
	size_t		len;
	AgRequest  *request;
	uint8		nonce[AG_NONCE_LEN];
} TokenPart;

static int
token_parts(const AgToken *token)
{
	return token->is_batch ? token->batch.n : 1;
}

static void
token_part(const AgToken *token, int i, TokenPart *part)
{
	if (!token->is_batch)
	{
		part->body = token->request_body;
		part->len = token->request_len;
		part->request = unconstify(AgRequest *, &token->request);
		memcpy(part->nonce, token->nonce, AG_NONCE_LEN);
		return;
	}
	part->request = palloc(sizeof(AgRequest));
	/* the batch decoded whole, so each request does */
	if (!ag_batch_request(&token->batch, i, part->request))
		elog(ERROR, "agentguard: a request of a batch token does not decode");
	part->body = token->batch.bodies[i];
	part->len = token->batch.lens[i];
	ag_batch_nonce(token->nonce, i, part->nonce);
}

/*
 * The request of a token that a confirmation row (by its nonce) stands for,
 * if it is bound as binding: a row whose token says otherwise is damaged.
 */
static bool
token_part_of(const AgToken *token, const bytea *nonce, const uint8 *binding,
			  TokenPart *part)
{
	uint8		part_binding[AG_HASH_LEN];

	if (VARSIZE_ANY_EXHDR(nonce) != AG_NONCE_LEN)
		return false;
	for (int i = 0; i < token_parts(token); i++)
	{
		token_part(token, i, part);
		if (memcmp(part->nonce, VARDATA_ANY(nonce), AG_NONCE_LEN) == 0)
			return ag_request_binding_hash(part->request, part_binding) &&
				memcmp(part_binding, binding, AG_HASH_LEN) == 0;
	}
	return false;
}

/* when the last request of the token was used, if every one was; or NULL */
static char *
token_used_at(const AgToken *token)
{
	Oid			nonce_type = BYTEAOID;
	char	   *used_at = NULL;

	for (int i = 0; i < token_parts(token); i++)
	{
		TokenPart	part;
		Datum		nonce;

		token_part(token, i, &part);
		nonce = bytea_datum(part.nonce, AG_NONCE_LEN);
		ledger_exec("SELECT " SQL_UTC_TIME("used_at") " FROM ONLY agentguard.confirmations WHERE nonce OPERATOR(pg_catalog.=) $1 AND used_at IS NOT NULL",
					1, &nonce_type, &nonce, SPI_OK_SELECT);
		if (SPI_processed == 0)
			return NULL;
		if (used_at == NULL || strcmp(result_text(0, 1), used_at) > 0)
			used_at = result_text(0, 1);
	}
	return used_at;
}

/*
 * Refuses the token unless it may be accepted here and now: signed by as
 * many distinct trusted signers as agentguard.required_signatures asks for,
 * within agentguard.max_token_ttl, for this cluster, environment and
 * database, issued and not expired, and not used before.  *sc says who
 * signed it.  Runs inside the caller's owner session.
 */
static void
check_token_acceptable(const AgToken *token, SignerCount *sc)
{
	const AgRequest *request = &token->request;
	char	   *database = get_database_name(MyDatabaseId);
	int64		now = (int64) timestamptz_to_time_t(GetCurrentTimestamp());
	uint64		sysid = GetSystemIdentifier();
	char	   *used_at;

	count_signers(token, sc);
	if (sc->forged || sc->counted == 0)
		refuse_token(sc->problem, sc->problem_detail,
					 "A superuser trusts a DBA's key with agentguard.add_signer; the token must be signed with it.");
	if (token->expires_at - token->issued_at > ag_max_token_ttl)
		refuse_token("its lifetime is longer than agentguard.max_token_ttl allows",
					 psprintf("The token is valid for %s; at most %s is accepted.",
							  show_duration(token->expires_at - token->issued_at),
							  show_duration(ag_max_token_ttl)),
					 "Sign again with a shorter --ttl.");
	if (request->system_identifier != sysid)
		refuse_token("wrong cluster",
					 psprintf("The token is for cluster %llu; this is cluster %llu.",
							  (unsigned long long) request->system_identifier,
							  (unsigned long long) sysid),
					 "A token works only on the cluster whose refusal it answers; sign the request code this cluster printed.");
	if (!agstr_equals(request->environment, ag_environment))
		refuse_token("wrong environment",
					 psprintf("The token is for environment \"%s\"; this is \"%s\".",
							  request->environment.len ? agstr_shown(request->environment) : "unnamed",
							  ag_environment[0] ? ag_environment : "unnamed"),
					 "A token works only in the environment whose refusal it answers; sign the request code this environment printed.");
	if (!agstr_equals(request->database, database))
		refuse_token("wrong database",
					 psprintf("The token is for database \"%s\"; this is \"%s\".",
							  agstr_shown(request->database), database),
					 psprintf("Run agentguard.confirm in database \"%s\".",
							  agstr_shown(request->database)));
	if (token->issued_at > now + 300)
		refuse_token("it was issued in the future",
					 psprintf("It says it was issued at %s; the server's clock says %s.",
							  show_unix_time(token->issued_at), show_unix_time(now)),
					 "Check the clock of the machine that signed it.");
	if (token->expires_at <= now)
		refuse_token("it has expired",
					 psprintf("It expired at %s.", show_unix_time(token->expires_at)),
					 "Ask the DBA to sign the request code again.");

	used_at = token_used_at(token);
	if (used_at != NULL)
		refuse_token("it was already used",
					 psprintf("It was used at %s; a token lets %s run once.", used_at,
							  token->is_batch ? "each statement of its batch" : "its statement"),
					 "Ask the DBA to sign the request code again if the statement must run again.");

	/*
	 * Last, so that what no further signature could mend is said first.
	 * The token is not recorded, so the same token with more signatures
	 * is still good.
	 */
	if (sc->counted < ag_required_signatures)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("agentguard: token refused: it has %d of the %d distinct trusted signers this cluster requires",
						sc->counted, ag_required_signatures),
				 errdetail("%s", short_detail(sc)),
				 errhint("Another DBA adds a signature with agentguard sign --key FILE TOKEN (or on the approval page); then confirm the token it prints.")));
}

/*
 * Confirming a waiting token again changes nothing, unless it comes back
 * with other signatures over the same request and nonce: one that a raised
 * agentguard.required_signatures holds back is co-signed and confirmed
 * again.  A used one stays used.
 */
#define CONFIRMATION_UPGRADE \
	"ON CONFLICT (nonce) DO UPDATE SET token = EXCLUDED.token, signer = EXCLUDED.signer, " \
	"confirmed_at = EXCLUDED.confirmed_at, confirmed_by = EXCLUDED.confirmed_by " \
	"WHERE confirmations.used_at IS NULL " \
	"AND confirmations.request_hash OPERATOR(pg_catalog.=) EXCLUDED.request_hash " \
	"AND confirmations.token OPERATOR(pg_catalog.<>) EXCLUDED.token"

/*
 * Record one request of a confirmed token as waiting (or co-signed again),
 * with its audit row and log line.
 */
static void
record_confirmation(const AgToken *token, int i, text *token_text,
					const SignerCount *sc, const char *database)
{
	TokenPart	part;
	char	   *code;
	char	   *objects;
	uint8		binding[AG_HASH_LEN];
	Oid			types[10] = {BYTEAOID, BYTEAOID, BYTEAOID, TEXTOID, TEXTOID, TEXTOID,
	TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID};
	Datum		values[10];

	token_part(token, i, &part);
	if (!ag_request_binding_hash(part.request, binding))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("agentguard: the token is malformed: its request is too large")));
	code = palloc(ag_code_length(part.len) + 1);
	ag_code_format(AG_REQUEST_PREFIX, part.body, part.len, code);
	objects = ag_request_objects(part.request);

	values[0] = bytea_datum(part.nonce, AG_NONCE_LEN);
	values[1] = bytea_datum(binding, AG_HASH_LEN);
	values[2] = bytea_datum(part.body, part.len);
	values[3] = PointerGetDatum(token_text);
	values[4] = agstr_datum(part.request->role);
	values[5] = agstr_datum(part.request->action);
	values[6] = text_datum(objects);
	values[7] = text_datum(sc->names.data);
	values[8] = TimestampTzGetDatum(time_t_to_timestamptz((pg_time_t) token->issued_at));
	values[9] = TimestampTzGetDatum(time_t_to_timestamptz((pg_time_t) token->expires_at));
	if (ledger_exec("INSERT INTO agentguard.confirmations (nonce, request_hash, request, token, role, "
					"action, objects, signer, issued_at, expires_at) "
					"VALUES ($1, $2, $3, pg_catalog.btrim($4), $5, $6, $7, $8, $9, $10) "
					CONFIRMATION_UPGRADE,
					10, types, values, SPI_OK_INSERT) > 0)
	{
		ag_confirmation_made();
		ag_ledger_audit("confirm", agstr_cstring(part.request->action), objects, code,
						psprintf("role %s, %s %s, expires %s%s",
								 agstr_cstring(part.request->role),
								 sc->counted == 1 ? "signer" : "signers", sc->names.data,
								 show_unix_time(token->expires_at),
								 token->is_batch ? psprintf(", statement %d of a batch of %d", i + 1, token->batch.n) : ""));
	}
	ereport(LOG,
			(errmsg("agentguard: confirmed role=%s database=%s action=\"%s\" objects=\"%s\" request=%s signer=%s expires=\"%s\"",
					ag_log_text(quote_identifier(agstr_cstring(part.request->role))),
					ag_log_text(quote_identifier(database)),
					ag_log_text(agstr_cstring(part.request->action)),
					ag_log_text(objects), code, sc->log_names.data,
					show_unix_time(token->expires_at)),
			 errhidestmt(true)));
}

/*
 * agentguard.confirm(token): verify it and let its statement, or each
 * statement of its batch, run once
 */
Datum
agentguard_confirm(PG_FUNCTION_ARGS)
{
	text	   *token_text = PG_GETARG_TEXT_PP(0);
	uint8	   *buf = palloc(AG_TOKEN_MAX_BYTES);
	AgToken    *token = palloc(sizeof(AgToken));
	const char *err = NULL;
	SignerCount sc;
	char	   *database = get_database_name(MyDatabaseId);
	char	   *described;
	AgOwnerSession ls;

	PreventCommandDuringRecovery("agentguard.confirm()");
	if (!ag_token_parse(VARDATA_ANY(token_text), VARSIZE_ANY_EXHDR(token_text),
						buf, AG_TOKEN_MAX_BYTES, token, &err))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("agentguard: the token is malformed: %s", err),
				 errhint("Pass the whole line \"agentguard sign\" printed, which begins with \"%s\".",
						 AG_TOKEN_PREFIX)));
	token_text = cstring_to_text_with_len(VARDATA_ANY(token_text), VARSIZE_ANY_EXHDR(token_text));

	ag_owner_open(&ls);
	check_token_acceptable(token, &sc);
	for (int i = 0; i < token_parts(token); i++)
		record_confirmation(token, i, token_text, &sc, database);
	ag_owner_close(&ls);

	/* SPI's memory is gone; what is returned is made in the caller's */
	if (token->is_batch)
	{
		AgRequest  *scratch = palloc(sizeof(AgRequest));
		size_t		need = ag_batch_describe(&token->batch, scratch, NULL, 0);

		described = palloc(need + 1);
		ag_batch_describe(&token->batch, scratch, described, need + 1);
		PG_RETURN_TEXT_P(cstring_to_text(psprintf("confirmed: role %s may run each of these %d statements once, in any order, until %s\n%s",
												  agstr_shown(token->request.role), token->batch.n,
												  show_unix_time(token->expires_at),
												  described)));
	}
	described = describe_request(&token->request);
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("confirmed: role %s may run this once, until %s\n%s",
											  agstr_shown(token->request.role),
											  show_unix_time(token->expires_at),
											  described)));
}

/*
 * Why the nearest waiting confirmation does not cover this request, for the
 * refusal's DETAIL; NULL when none is waiting.  The role's own
 * confirmations come first, newest first.
 */
static char *
explain_mismatch(const AgRequest *actual)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	bytea	   *body;
	AgRequest  *approved;

	values[0] = agstr_datum(actual->role);
	ledger_exec("SELECT request FROM ONLY agentguard.confirmations "
				"WHERE used_at IS NULL AND expires_at OPERATOR(pg_catalog.>) pg_catalog.clock_timestamp() "
				"ORDER BY role OPERATOR(pg_catalog.=) $1 DESC, confirmed_at DESC LIMIT 1",
				1, types, values, SPI_OK_SELECT);
	if (SPI_processed == 0)
		return NULL;
	body = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	approved = palloc(sizeof(AgRequest));
	if (!ag_request_decode((uint8 *) VARDATA_ANY(body), VARSIZE_ANY_EXHDR(body), approved, NULL))
		return NULL;
	return psprintf("A confirmation is waiting, but not for this: %s.",
					ag_mismatch_name(ag_request_compare(approved, actual)));
}

/* what the used token's request lets its statement do, in the caller's memory */
static void
fill_approval(const AgRequest *approved, AgApproval *approval, MemoryContext caller)
{
	MemoryContext spi = MemoryContextSwitchTo(caller);

	approval->limits_rows = (approved->flags & AG_REQ_ROWS) != 0 &&
		(approved->flags & AG_REQ_ROWS_MORE) == 0;
	approval->rows = approved->rows;
	approval->tables = NIL;
	for (int i = 0; i < approved->nlimit_tables; i++)
		approval->tables = lappend_oid(approval->tables, approved->limit_tables[i]);
	MemoryContextSwitchTo(spi);
}

/*
 * Use up a confirmation whose request is bound exactly as this one (same
 * statement, objects and parameters, from the same role in the same place),
 * in the current transaction.  Returns true if one was used, with what it
 * allows in *approval; otherwise *why_not may say what the closest
 * confirmation lacks.
 */
bool
ag_ledger_use(const uint8 *binding, const AgRequest *request,
			  AgApproval *approval, char **why_not)
{
	AgOwnerSession ls;
	Oid			types[2] = {BYTEAOID, INT4OID};
	Datum		values[2];
	int			candidates;
	char	   *problem = NULL;
	bool		used = false;
	MemoryContext caller = CurrentMemoryContext;

	*why_not = NULL;
	memset(approval, 0, sizeof(*approval));
	if (!ag_owner_open(&ls))
	{
		*why_not = pstrdup("agentguard is not installed in this database, so no confirmation can be used here (CREATE EXTENSION agentguard).");
		return false;
	}

	values[0] = bytea_datum(binding, AG_HASH_LEN);
	ledger_exec("SELECT nonce, token, expires_at OPERATOR(pg_catalog.<=) pg_catalog.clock_timestamp(), " SQL_UTC_TIME("used_at")
				" FROM ONLY agentguard.confirmations WHERE request_hash OPERATOR(pg_catalog.=) $1"
				" ORDER BY used_at IS NULL DESC, confirmed_at DESC",
				1, types, values, SPI_OK_SELECT);
	candidates = (int) SPI_processed;
	if (candidates > 0)
	{
		SPITupleTable *rows = SPI_tuptable;

		/* waiting ones come first; the first one's problem is the one told */
		for (int i = 0; i < candidates && !used; i++)
		{
			bool		isnull;
			Datum		nonce = SPI_getbinval(rows->vals[i], rows->tupdesc, 1, &isnull);
			char	   *token_text = SPI_getvalue(rows->vals[i], rows->tupdesc, 2);
			bool		expired = DatumGetBool(SPI_getbinval(rows->vals[i], rows->tupdesc, 3, &isnull));
			char	   *used_at = SPI_getvalue(rows->vals[i], rows->tupdesc, 4);
			uint8	   *buf = palloc(AG_TOKEN_MAX_BYTES);
			AgToken    *token = palloc(sizeof(AgToken));
			TokenPart	part;
			SignerCount sc;
			char	   *this_problem = NULL;

			if (used_at != NULL)
				this_problem = psprintf("The confirmation for this statement was already used at %s.", used_at);
			/* the row says it was verified; check again, the signer may be gone */
			else if (!ag_token_parse(token_text, strlen(token_text), buf, AG_TOKEN_MAX_BYTES, token, NULL) ||
					 !token_part_of(token, DatumGetByteaPP(nonce), binding, &part))
				this_problem = pstrdup("The confirmation for this statement is damaged.");
			/* the server's clock as C reads it, not a function a session could replace */
			else if (expired || token->expires_at <= (int64) timestamptz_to_time_t(GetCurrentTimestamp()))
				this_problem = pstrdup("The confirmation for this statement has expired.");
			else if (token->expires_at - token->issued_at > ag_max_token_ttl)
				this_problem = psprintf("The confirmation for this statement lives longer than agentguard.max_token_ttl (%s) now allows.",
										show_duration(ag_max_token_ttl));
			else if (count_signers(token, &sc), sc.forged || sc.counted == 0)
				this_problem = psprintf("The confirmation for this statement is no longer valid (%s): %s",
										sc.problem, sc.problem_detail);
			else if (sc.counted < ag_required_signatures)
				this_problem = psprintf("The confirmation for this statement has %d of the %d distinct trusted signers this cluster now requires: %s",
										sc.counted, ag_required_signatures, short_detail(&sc));
			else
			{
				values[0] = nonce;
				values[1] = Int32GetDatum(MyProcPid);
				if (ledger_exec("UPDATE ONLY agentguard.confirmations SET used_at = pg_catalog.clock_timestamp(), used_by_pid = $2 "
								"WHERE nonce OPERATOR(pg_catalog.=) $1 AND used_at IS NULL",
								2, types, values, SPI_OK_UPDATE) == 1)
				{
					/* the audit names the request the DBA approved, counts and all */
					char	   *approved = palloc(ag_code_length(part.len) + 1);

					ag_code_format(AG_REQUEST_PREFIX, part.body, part.len, approved);
					ag_ledger_audit("use", agstr_cstring(request->action),
									ag_request_objects(part.request), approved,
									psprintf("role %s, %s %s", agstr_cstring(request->role),
											 sc.counted == 1 ? "signer" : "signers", sc.names.data));
					fill_approval(part.request, approval, caller);
					used = true;
				}
				else
					this_problem = pstrdup("The confirmation for this statement was just used by another session.");
			}
			if (problem == NULL)
				problem = this_problem;
		}
	}
	if (!used && problem == NULL)
		problem = explain_mismatch(request);
	if (problem)
	{
		MemoryContext spi = MemoryContextSwitchTo(caller);

		*why_not = pstrdup(problem);
		MemoryContextSwitchTo(spi);
	}
	ag_owner_close(&ls);
	return used;
}
