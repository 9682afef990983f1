/*
 * ledger.c
 *		The SQL face of requests and confirmations: inspecting codes and
 *		tokens, signers, confirmations and their single use.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "agentguard.h"
#include "request.h"

PG_FUNCTION_INFO_V1(agentguard_inspect);

static char *
describe_request(const AgRequest *request)
{
	size_t		need = ag_request_describe(request, NULL, 0);
	char	   *out = palloc(need + 1);

	ag_request_describe(request, out, need + 1);
	return out;
}

static const char *
show_unix_time(int64 seconds)
{
	return timestamptz_to_str(time_t_to_timestamptz((pg_time_t) seconds));
}

/* agentguard.inspect(code): what a request code or token says, in words */
Datum
agentguard_inspect(PG_FUNCTION_ARGS)
{
	text	   *input = PG_GETARG_TEXT_PP(0);
	const char *code = VARDATA_ANY(input);
	size_t		len = VARSIZE_ANY_EXHDR(input);
	uint8	   *buf = palloc(AG_TOKEN_MAX_BYTES);
	const char *err = NULL;

	if (len >= AG_PREFIX_LEN && memcmp(code, AG_TOKEN_PREFIX, AG_PREFIX_LEN) == 0)
	{
		AgToken    *token = palloc(sizeof(AgToken));

		if (!ag_token_parse(code, len, buf, AG_TOKEN_MAX_BYTES, token, &err))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("agentguard: %s", err)));
		PG_RETURN_TEXT_P(cstring_to_text(psprintf("token approving:\n%sissued at:   %s\nexpires at:  %s\n",
												  describe_request(&token->request),
												  show_unix_time(token->issued_at),
												  show_unix_time(token->expires_at))));
	}
	else
	{
		AgRequest  *request = palloc(sizeof(AgRequest));

		if (!ag_request_parse(code, len, buf, AG_TOKEN_MAX_BYTES, NULL, request, &err))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("agentguard: %s", err)));
		PG_RETURN_TEXT_P(cstring_to_text(describe_request(request)));
	}
}
