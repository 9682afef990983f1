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
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/inval.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/snapmgr.h"

#include "agentguard.h"
#include "request.h"

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

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
		while (start < end && is_blank(source[start]))
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
	while (end > start && is_blank(source[end - 1]))
		end--;
	*text = source ? source + start : "";
	*textlen = end - start;
}

/* statements that destroy by what they take along have no verb of their own */
static const char *
verb_of(const AgStatement *stmt)
{
	return stmt->verb ? stmt->verb : "run";
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

typedef struct BuiltRequest
{
	AgRequest	request;		/* strings point into palloc'd memory */
	uint8	   *body;
	size_t		len;
	char	   *code;			/* text form, "agr1.<base64url>" */
} BuiltRequest;

static void
build_request(const AgStatement *stmt, BuiltRequest *built)
{
	AgRequest  *request = &built->request;
	uint8	   *body;
	size_t		len;
	const char *err = NULL;
	char	   *code;
	char	   *database = get_database_name(MyDatabaseId);
	ListCell   *lc;

	memset(request, 0, sizeof(*request));
	request->system_identifier = GetSystemIdentifier();
	request->environment = ag_str(ag_environment);
	request->database = ag_str(database ? database : "");
	request->role = ag_str(GetUserNameFromId(GetAuthenticatedUserId(), false));
	request->action = ag_str(stmt->action);
	if (list_length(stmt->targets) > AG_MAX_TARGETS)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("agentguard: refused to %s %d objects in one statement",
						verb_of(stmt), list_length(stmt->targets)),
				 errdetail("One request can name at most %d objects.", AG_MAX_TARGETS),
				 errhint("Split the statement into smaller ones, each of which can be approved.")));
	foreach(lc, stmt->targets)
		request->targets[request->ntargets++] = ag_str(lfirst(lc));
	ag_request_set_statement(request, stmt->text, stmt->textlen);

	body = palloc(AG_REQUEST_MAX_BYTES);
	len = ag_request_encode(request, body, AG_REQUEST_MAX_BYTES, &err);
	built->body = body;
	built->len = len;
	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("agentguard: refused to %s %s", verb_of(stmt),
						join_targets(stmt->targets, ", ")),
				 errdetail("No request can be made for this statement: %s.", err),
				 errhint("Split the statement into smaller ones, each of which can be approved.")));
	code = palloc(ag_code_length(len) + 1);
	ag_code_format(AG_REQUEST_PREFIX, body, len, code);
	built->code = code;
}

/* the log line quotes the object list; a quote inside it is doubled */
static char *
escape_quotes(const char *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (; *s; s++)
	{
		if (*s == '"')
			appendStringInfoChar(&buf, '"');
		appendStringInfoChar(&buf, *s);
	}
	return buf.data;
}

/* the request code of a statement, for audit lines that are not refusals */
char *
ag_request_code(const AgStatement *stmt)
{
	BuiltRequest *built = palloc(sizeof(BuiltRequest));

	build_request(stmt, built);
	return built->code;
}

static void
log_outcome(const char *outcome, const AgStatement *stmt, const AgRequest *request,
			const char *code)
{
	ereport(LOG,
			(errmsg("agentguard: %s role=%s database=%s action=\"%s\" objects=\"%s\" request=%s",
					outcome,
					quote_identifier(pnstrdup(request->role.ptr, request->role.len)),
					quote_identifier(pnstrdup(request->database.ptr, request->database.len)),
					stmt->action, escape_quotes(join_targets(stmt->targets, ", ")), code),
			 errhidestmt(true),
			 errhidecontext(true)));
}

AgVerdict
ag_guard(const AgStatement *stmt, const char *reason)
{
	BuiltRequest *built;
	AgRequest  *request;
	char	   *code;
	char	   *objects;
	char	   *why_not = NULL;

	if (ag_mode == AG_MODE_OFF)
		return AG_ALLOW;

	built = palloc(sizeof(BuiltRequest));
	build_request(stmt, built);
	request = &built->request;
	code = built->code;
	objects = stmt->verb ? join_targets(stmt->targets, ", ") : (char *) stmt->action;

	if (ag_mode == AG_MODE_OBSERVE)
	{
		log_outcome("observed", stmt, request, code);
		ereport(WARNING,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("agentguard: would refuse to %s %s%s%s (observe mode)",
						verb_of(stmt), objects, reason ? ": " : "", reason ? reason : ""),
				 errdetail("request: %s\nIn enforce mode this statement needs a DBA's signed confirmation.", code)));
		return AG_OBSERVED;
	}

	if (ag_ledger_use(built->body, built->len, request, code, &why_not))
	{
		log_outcome("confirmed statement ran", stmt, request, code);
		return AG_CONFIRMED;
	}

	ag_refusals_record(built->body, built->len, request);
	log_outcome("refused", stmt, request, code);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("agentguard: refused to %s %s%s%s",
					verb_of(stmt), objects, reason ? ": " : "", reason ? reason : ""),
			 errdetail("request: %s\n%s", code,
					   why_not ? why_not : "Agent sessions need a DBA's signed confirmation for statements that destroy data."),
			 errhint("Ask a DBA to approve the request (agentguard approve, or agentguard sign and then SELECT agentguard.confirm(...)), then run the same statement again.")));
	pg_unreachable();
}

/*
 * agentguard's own changes to its tables and quarantine, made on behalf of
 * an agent session (using up a token, moving a table aside), are the only
 * changes to those objects an agent session may cause.  The count is reset
 * on every abort: an internal change never spans a subtransaction, so an
 * abort while it is raised is the abort of that change.
 */
static int	internal_changes = 0;

void
ag_internal_changes_begin(void)
{
	internal_changes++;
}

void
ag_internal_changes_end(void)
{
	Assert(internal_changes > 0);
	internal_changes--;
}

bool
ag_internal_changes_underway(void)
{
	return internal_changes > 0;
}

static void
reset_on_abort(XactEvent event, void *arg pg_attribute_unused())
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		internal_changes = 0;
}

static void
reset_on_subabort(SubXactEvent event, SubTransactionId mySubid pg_attribute_unused(),
				  SubTransactionId parentSubid pg_attribute_unused(),
				  void *arg pg_attribute_unused())
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		internal_changes = 0;
}


/*
 * agentguard's schemas: its tables, and quarantined objects.  A quarantine
 * schema made per event is named with the same prefix.
 */
bool
ag_namespace_protected(Oid namespace)
{
	Relation	catalog;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	bool		protected = false;

	if (!OidIsValid(namespace))
		return false;

	/*
	 * Read with SnapshotSelf: a schema created or renamed by the statement
	 * being checked is not in the syscache yet, and "CREATE SCHEMA
	 * agentguard" or "ALTER SCHEMA x RENAME TO agentguard" must be seen.
	 */
	catalog = table_open(NamespaceRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_namespace_oid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(namespace));
	scan = systable_beginscan(catalog, NamespaceOidIndexId, true, SnapshotSelf, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		const char *name = NameStr(((Form_pg_namespace) GETSTRUCT(tuple))->nspname);

		protected = strncmp(name, "agentguard", strlen("agentguard")) == 0;
	}
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	return protected;
}

/*
 * The same question for committed schemas, asked for every write of an
 * agent session: answered from a list of agentguard's schema OIDs that is
 * read again whenever pg_namespace changes.
 */
static List *protected_namespaces = NIL;
static bool protected_namespaces_valid = false;

static void
forget_protected_namespaces(Datum arg pg_attribute_unused(), int cacheid pg_attribute_unused(),
							uint32 hashvalue pg_attribute_unused())
{
	protected_namespaces_valid = false;
}

bool
ag_namespace_protected_committed(Oid namespace)
{
	if (!protected_namespaces_valid)
	{
		Relation	catalog;
		SysScanDesc scan;
		HeapTuple	tuple;
		MemoryContext old;

		list_free(protected_namespaces);
		protected_namespaces = NIL;
		catalog = table_open(NamespaceRelationId, AccessShareLock);
		scan = systable_beginscan(catalog, InvalidOid, false, NULL, 0, NULL);
		old = MemoryContextSwitchTo(TopMemoryContext);
		while (HeapTupleIsValid(tuple = systable_getnext(scan)))
		{
			Form_pg_namespace row = (Form_pg_namespace) GETSTRUCT(tuple);

			if (strncmp(NameStr(row->nspname), "agentguard", strlen("agentguard")) == 0)
				protected_namespaces = lappend_oid(protected_namespaces, row->oid);
		}
		MemoryContextSwitchTo(old);
		systable_endscan(scan);
		table_close(catalog, AccessShareLock);
		protected_namespaces_valid = true;
	}
	return list_member_oid(protected_namespaces, namespace);
}

void
ag_refuse_outright(const char *what, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("agentguard: agent sessions cannot %s", what),
			 errdetail("%s", why),
			 errhint("A DBA does this from a session that is not an agent session; no confirmation changes that.")));
}

void
ag_guard_init(void)
{
	CacheRegisterSyscacheCallback(NAMESPACEOID, forget_protected_namespaces, (Datum) 0);
	RegisterXactCallback(reset_on_abort, NULL);
	RegisterSubXactCallback(reset_on_subabort, NULL);
}
