/*
 * inspect.c
 *		agentguard.inspect(code): what a request code, a batch code or a
 *		token says, in the words agentguard inspect prints.
 *
 * Only the codec is used: nothing is looked up and nothing changes, so an
 * agent session may call it on whatever it was refused with.
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "compat.h"
#include "request.h"
#include "text.h"

PG_FUNCTION_INFO_V1(agentguard_inspect);

static char *
request_text(const AgRequest *request)
{
	size_t		need = ag_request_describe(request, NULL, 0);
	char	   *out = palloc(need + 1);

	ag_request_describe(request, out, need + 1);
	return out;
}

static char *
batch_text(const AgBatch *batch, AgRequest *scratch)
{
	size_t		need = ag_batch_describe(batch, scratch, NULL, 0);
	char	   *out = palloc(need + 1);

	ag_batch_describe(batch, scratch, out, need + 1);
	return out;
}

static void
malformed(const char *what, const char *err)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("agentguard: the %s is malformed: %s", what, err)));
}

static char *
inspect_token(const char *code, size_t len)
{
	uint8	   *buf = palloc(AG_TOKEN_MAX_BYTES);
	AgToken    *token = palloc(sizeof(AgToken));
	AgRequest  *scratch = palloc(sizeof(AgRequest));
	const char *err = NULL;
	StringInfoData out;
	char		when[AG_TIME_TEXT_LEN];
	char		key_id[2 * AG_KEY_ID_LEN + 1];

	if (!ag_token_parse(code, len, buf, AG_TOKEN_MAX_BYTES, token, &err))
		malformed("token", err);
	initStringInfo(&out);
	appendStringInfo(&out, "token approving:\n%ssignatures:  %d\n",
					 token->is_batch ? batch_text(&token->batch, scratch) :
					 request_text(&token->request),
					 token->nsignatures);
	for (int i = 0; i < token->nsignatures; i++)
	{
		ag_hex(token->signatures[i].key_id, AG_KEY_ID_LEN, key_id);
		appendStringInfo(&out, "signer key id: %s\n", key_id);
	}
	ag_format_utc(token->issued_at, when);
	appendStringInfo(&out, "issued at:   %s\n", when);
	ag_format_utc(token->expires_at, when);
	appendStringInfo(&out, "expires at:  %s\n", when);
	return out.data;
}

/* agentguard.inspect(code) */
Datum
agentguard_inspect(PG_FUNCTION_ARGS)
{
	text	   *input = PG_GETARG_TEXT_PP(0);
	const char *code = VARDATA_ANY(input);
	size_t		len = VARSIZE_ANY_EXHDR(input);
	uint8	   *buf = palloc(AG_TOKEN_MAX_BYTES);
	AgRequest  *request = palloc(sizeof(AgRequest));
	const char *trimmed = code;
	size_t		trimmed_len = len;
	const char *err = NULL;

	ag_trim(&trimmed, &trimmed_len);
	if (ag_has_prefix(trimmed, trimmed_len, AG_TOKEN_PREFIX))
		PG_RETURN_TEXT_P(cstring_to_text(inspect_token(code, len)));
	if (ag_has_prefix(trimmed, trimmed_len, AG_BATCH_PREFIX))
	{
		AgBatch    *batch = palloc(sizeof(AgBatch));

		if (!ag_batch_parse(code, len, buf, AG_TOKEN_MAX_BYTES, NULL, batch, request, &err))
			malformed("batch code", err);
		PG_RETURN_TEXT_P(cstring_to_text(batch_text(batch, request)));
	}
	if (!ag_request_parse(code, len, buf, AG_TOKEN_MAX_BYTES, NULL, request, &err))
		malformed("request code", err);
	PG_RETURN_TEXT_P(cstring_to_text(request_text(request)));
}
