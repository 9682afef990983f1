/*
 * guard.c
 *		The one decision every hook asks for: let a destructive statement of
 *		an agent session run, refuse it with a request code, or use up a
 *		confirmation that covers it.
 *
 * Keeping it in one place keeps the error text, the request code and the
 * audit line identical whichever hook found the statement.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_namespace.h"
#include "commands/dbcommands.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/inval.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/snapmgr.h"

#include "guard.h"
#include "ledger.h"
#include "refusals.h"
#include "rehearse.h"
#include "request.h"
#include "settings.h"

static char *join_targets(List *targets, const char *separator);

/* statements that destroy by what they take along have no verb of their own */
static const char *
verb_of(const AgStatement *stmt)
{
	return stmt->verb ? stmt->verb : "run";
}

/* a list of targets for a message: the first ten, and how many more */
char *
ag_join_targets(List *targets)
{
	if (list_length(targets) > 10)
		return psprintf("%s and %d more objects",
						join_targets(list_copy_head(targets, 10), ", "),
						list_length(targets) - 10);
	return join_targets(targets, ", ");
}

static char *
join_targets(List *targets, const char *separator)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, targets)
	{
		if (buf.len > 0)
			appendStringInfoString(&buf, separator);
		appendStringInfoString(&buf, (const char *) lfirst(lc));
	}
	return buf.data;
}

/* binds the statement to one more object it destroys, once */
void
ag_statement_add_object(AgStatement *stmt, const ObjectAddress *address)
{
	ListCell   *lc;
	ObjectAddress *copy;

	foreach(lc, stmt->objects)
	{
		ObjectAddress *known = lfirst(lc);

		if (known->classId == address->classId && known->objectId == address->objectId &&
			known->objectSubId == address->objectSubId)
			return;
	}
	copy = palloc(sizeof(ObjectAddress));
	*copy = *address;
	stmt->objects = lappend(stmt->objects, copy);
}

/*
 * How much of a request the names and the parameter values may take: a
 * request names every object, but a code stays a word a DBA can paste, and
 * the digests bind what is not shown.
 */
#define SHOWN_TARGETS_BYTES 12000
#define SHOWN_PARAMS_BYTES	12000

typedef struct BuiltRequest
{
	AgRequest	request;		/* strings point into palloc'd memory */
	uint8	   *body;
	size_t		len;
	char	   *code;			/* text form, "agr1.<base64url>" */
	uint8		binding[AG_HASH_LEN];
} BuiltRequest;

static void
refuse_unrequestable(const AgStatement *stmt, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("agentguard: refused to %s %s", verb_of(stmt),
					join_targets(stmt->targets, ", ")),
			 errdetail("No request can be made for this statement: %s.", why),
			 errhint("Split the statement into smaller ones, each of which can be approved.")));
}

static void
build_targets(const AgStatement *stmt, AgRequest *request)
{
	size_t		shown = 0;
	ListCell   *lc;

	foreach(lc, stmt->targets)
	{
		const char *target = lfirst(lc);

		if (request->ntargets == AG_MAX_TARGETS ||
			shown + strlen(target) > SHOWN_TARGETS_BYTES)
		{
			request->more_targets = list_length(stmt->targets) - request->ntargets;
			break;
		}
		request->targets[request->ntargets++] = ag_str(target);
		shown += strlen(target);
	}
}

static void
build_objects(const AgStatement *stmt, AgRequest *request)
{
	int			n = list_length(stmt->objects);
	AgObjectId *ids = palloc(sizeof(AgObjectId) * Max(n, 1));
	int			i = 0;
	ListCell   *lc;

	foreach(lc, stmt->objects)
	{
		ObjectAddress *a = lfirst(lc);

		ids[i].classid = a->classId;
		ids[i].objid = a->objectId;
		ids[i].subid = a->objectSubId;
		i++;
	}
	ag_objects_digest(ids, n, request->objects_digest);
}

/* whole values bind; cut ones are shown, on a character boundary */
static void
build_params(const AgStatement *stmt, AgRequest *request)
{
	int			n = list_length(stmt->params);
	AgParam    *whole = palloc(sizeof(AgParam) * Max(n, 1));
	int			each;
	int			i = 0;
	ListCell   *lc;

	if (n > AG_MAX_PARAMS)
		refuse_unrequestable(stmt, psprintf("it has %d parameters, and one request shows at most %d",
											n, AG_MAX_PARAMS));
	each = n > 0 ? Min(AG_PARAM_SHOWN_MAX, SHOWN_PARAMS_BYTES / n) : 0;
	foreach(lc, stmt->params)
	{
		AgParam    *param = lfirst(lc);
		AgParam    *shown = &request->params[i];

		whole[i] = *param;
		*shown = *param;
		if (!param->isnull && param->value.len > (size_t) each)
		{
			shown->value.len = pg_mbcliplen(param->value.ptr, param->value.len, each);
			shown->cut = true;
		}
		i++;
	}
	request->nparams = n;
	ag_params_digest(whole, n, request->params_digest);
}

static void
build_counts(const AgStatement *stmt, AgRequest *request)
{
	ListCell   *lc;

	if (!stmt->counted)
		return;
	if (list_length(stmt->tables) > AG_MAX_LIMIT_TABLES)
		refuse_unrequestable(stmt, psprintf("it changes rows in %d tables, and one request names at most %d",
											list_length(stmt->tables), AG_MAX_LIMIT_TABLES));
	request->flags |= AG_REQ_ROWS | (stmt->rows_more ? AG_REQ_ROWS_MORE : 0);
	request->rows = stmt->rows;
	foreach(lc, stmt->tables)
		request->limit_tables[request->nlimit_tables++] = lfirst_oid(lc);
}

static void
build_request(const AgStatement *stmt, BuiltRequest *built)
{
	AgRequest  *request = &built->request;
	uint8	   *body;
	size_t		len;
	const char *err = NULL;
	char	   *code;
	char	   *database = get_database_name(MyDatabaseId);

	memset(request, 0, sizeof(*request));
	request->system_identifier = GetSystemIdentifier();
	request->environment = ag_str(ag_environment);
	request->database = ag_str(database ? database : "");
	request->role = ag_str(GetUserNameFromId(GetAuthenticatedUserId(), false));
	request->action = ag_str(stmt->action);
	ag_request_set_statement(request, stmt->text, stmt->textlen);
	build_targets(stmt, request);
	build_objects(stmt, request);
	build_params(stmt, request);
	build_counts(stmt, request);

	body = palloc(AG_REQUEST_MAX_BYTES);
	len = ag_request_encode(request, body, AG_REQUEST_MAX_BYTES, &err);
	if (len == 0)
		refuse_unrequestable(stmt, err);
	if (!ag_request_binding_hash(request, built->binding))
		refuse_unrequestable(stmt, "its names are too long");
	built->body = body;
	built->len = len;
	code = palloc(ag_code_length(len) + 1);
	ag_code_format(AG_REQUEST_PREFIX, body, len, code);
	built->code = code;
}

/* the request code of a statement, for audit lines that are not refusals */
void
ag_request_code(AgStatement *stmt)
{
	BuiltRequest *built = palloc(sizeof(BuiltRequest));

	build_request(stmt, built);
	stmt->code = built->code;
}

static void
log_outcome(const char *outcome, const AgStatement *stmt, const AgRequest *request,
			const char *code)
{
	ereport(LOG,
			(errmsg("agentguard: %s role=%s database=%s action=\"%s\" objects=\"%s\" request=%s",
					outcome,
					ag_log_text(quote_identifier(pnstrdup(request->role.ptr, request->role.len))),
					ag_log_text(quote_identifier(pnstrdup(request->database.ptr, request->database.len))),
					stmt->action, ag_log_text(join_targets(stmt->targets, ", ")), code),
			 errhidestmt(true),
			 errhidecontext(true)));
}

/* what the message names: the statement's own targets, the rest is its reason */
static char *
shown_objects(const AgStatement *stmt)
{
	List	   *shown = stmt->named > 0 ? list_copy_head(stmt->targets, stmt->named) : stmt->targets;

	if (!stmt->verb)
		return (char *) stmt->action;
	return ag_join_targets(shown);
}

/* how a request names what a DML statement does to its table */
const char *
ag_dml_verb(CmdType command)
{
	switch (command)
	{
		case CMD_DELETE:
			return "delete from";
		case CMD_UPDATE:
			return "update";
		case CMD_MERGE:
			return "merge into";
		default:
			return NULL;
	}
}

/*
 * The values of the parameters the statement uses, as their types print
 * them: a prepared statement, the extended protocol, or PL/pgSQL variables,
 * whose fetch hook answers only for the ones this statement reads.
 */
List *
ag_dml_params(ParamListInfo params)
{
	List	   *result = NIL;

	if (params == NULL)
		return NIL;
	for (int i = 0; i < params->numParams; i++)
	{
		ParamExternData workspace;
		ParamExternData *param;
		AgParam    *shown;

		param = params->paramFetch ?
			params->paramFetch(params, i + 1, false, &workspace) : &params->params[i];
		if (param == NULL || !OidIsValid(param->ptype))
			continue;
		shown = palloc0(sizeof(AgParam));
		shown->number = (uint16) Min(i + 1, PG_UINT16_MAX);
		shown->isnull = param->isnull;
		if (!param->isnull)
		{
			Oid			output;
			bool		varlena;

			getTypeOutputInfo(param->ptype, &output, &varlena);
			shown->value = ag_str(OidOutputFunctionCall(output, param->value));
		}
		result = lappend(result, shown);
	}
	return result;
}

/*
 * Use up a confirmation that covers exactly this statement, if one waits.
 * Only in enforce mode: observe mode uses nothing up.
 */
bool
ag_guard_use_confirmation(AgStatement *stmt, AgApproval *approval, char **why_not)
{
	BuiltRequest *built;

	/* a rehearsal records what the statement needs, and uses nothing up */
	*why_not = NULL;
	if (ag_rehearsing())
		return false;
	built = palloc(sizeof(BuiltRequest));
	build_request(stmt, built);
	stmt->code = built->code;
	if (!ag_ledger_use(built->binding, &built->request, approval, why_not))
		return false;
	log_outcome("confirmed statement ran", stmt, &built->request, built->code);
	return true;
}

/*
 * A rehearsal: record the request, and let it run.  Observe mode: warn and
 * log, and let it run.  Enforce mode: refuse, with the request a DBA can
 * approve.
 */
void
ag_guard_report(AgStatement *stmt, const char *reason, const char *why_not)
{
	BuiltRequest *built = palloc(sizeof(BuiltRequest));
	char	   *objects = shown_objects(stmt);

	build_request(stmt, built);
	stmt->code = built->code;
	if (ag_rehearsing())
	{
		ag_rehearse_record(built->body, built->len,
						   psprintf("%s %s%s%s", verb_of(stmt), objects,
									reason ? ": " : "", reason ? reason : ""));
		return;
	}
	if (ag_mode == AG_MODE_OBSERVE)
	{
		log_outcome("observed", stmt, &built->request, built->code);
		ereport(WARNING,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("agentguard: would refuse to %s %s%s%s (observe mode)",
						verb_of(stmt), objects, reason ? ": " : "", reason ? reason : ""),
				 errdetail("request: %s\nIn enforce mode this statement needs a DBA's signed confirmation.",
						   built->code)));
		return;
	}
	ag_refusals_record(built->body, built->len, &built->request);
	log_outcome("refused", stmt, &built->request, built->code);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("agentguard: refused to %s %s%s%s",
					verb_of(stmt), objects, reason ? ": " : "", reason ? reason : ""),
			 errdetail("request: %s\n%s", built->code,
					   why_not ? why_not : "Agent sessions need a DBA's signed confirmation for statements that destroy data."),
			 errhint("Ask a DBA to approve the request (agentguard approve, or agentguard sign and then SELECT agentguard.confirm(...)), then run the same statement again.")));
}

AgVerdict
ag_guard(AgStatement *stmt, const char *reason)
{
	AgApproval	approval;
	char	   *why_not = NULL;

	if (ag_mode == AG_MODE_OFF)
		return AG_ALLOW;
	if (ag_rehearsing())
	{
		ag_guard_report(stmt, reason, NULL);
		return AG_REHEARSED;
	}
	if (ag_mode == AG_MODE_ENFORCE && ag_guard_use_confirmation(stmt, &approval, &why_not))
		return AG_CONFIRMED;
	ag_guard_report(stmt, reason, why_not);
	return AG_OBSERVED;
}

