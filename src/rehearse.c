/*
 * rehearse.c
 *		A rehearsal: a transaction in which destructive statements run as
 *		if confirmed, each request they would have needed is recorded in
 *		order, and the commit is refused with one batch code naming them all.
 *
 * A rehearsal runs what the guard would refuse only because nothing it does
 * can last.  So every way to commit is refused: COMMIT, END and PREPARE
 * TRANSACTION as statements (ending the transaction block, so the client is
 * left outside it, as after a failed deferred constraint), and any other
 * commit (a procedure's, the end of a multi-statement string) in the
 * transaction callback's pre-commit work, which xact.c keeps ahead of other
 * extensions' callbacks.  What would reach past the rollback is refused as
 * it is tried: writes to foreign tables, COPY to or from programs and to
 * server files, and the functions policy.c lists.
 *
 * The requests live in ag_xact, in TopTransactionContext; a subtransaction
 * that rolls back leaves them, since its statement did run in the
 * rehearsal and will run in the real migration.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "ledger.h"
#include "refusals.h"
#include "rehearse.h"
#include "request.h"
#include "xact.h"

void
ag_rehearse_refuse(const char *what, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("agentguard: a rehearsal cannot %s", what),
			 errdetail("%s", why),
			 errhint("A rehearsal (agentguard.rehearse) only runs what its rollback takes back; do this outside the rehearsal.")));
}

void
ag_rehearse_record(const uint8 *body, size_t len, const char *what)
{
	int			n = list_length(ag_xact.rehearsed) + 1;
	MemoryContext old;
	bytea	   *copy;

	if (n > AG_BATCH_MAX_REQUESTS ||
		ag_batch_size(n, ag_xact.rehearsed_bytes + len) > AG_BATCH_MAX_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("agentguard: this rehearsal needs more approvals than one batch can carry"),
				 errdetail("One batch carries at most %d requests in %d bytes; this statement would be request %d, of %zu bytes, after %zu bytes.",
						   AG_BATCH_MAX_REQUESTS, AG_BATCH_MAX_BYTES, n, len,
						   ag_xact.rehearsed_bytes),
				 errhint("Rehearse the migration in smaller transactions, and have a batch approved for each.")));
	old = MemoryContextSwitchTo(TopTransactionContext);
	copy = palloc(VARHDRSZ + len);
	SET_VARSIZE(copy, VARHDRSZ + len);
	memcpy(VARDATA(copy), body, len);
	ag_xact.rehearsed = lappend(ag_xact.rehearsed, copy);
	MemoryContextSwitchTo(old);
	ag_xact.rehearsed_bytes += len;
	ereport(NOTICE,
			(errmsg("agentguard: rehearsal recorded request %d: %s", n, what)));
}

/*
 * One line of the refusal's DETAIL per request, its action and objects, and
 * all the objects for the log line.
 */
static void
describe_requests(StringInfo lines, StringInfo objects, AgRequest *scratch)
{
	ListCell   *lc;
	int			i = 0;

	foreach(lc, ag_xact.rehearsed)
	{
		bytea	   *body = lfirst(lc);
		char	   *these;

		if (!ag_request_decode((uint8 *) VARDATA(body), VARSIZE(body) - VARHDRSZ, scratch, NULL))
			elog(ERROR, "agentguard: a rehearsed request does not decode");
		these = ag_request_objects(scratch);
		appendStringInfo(lines, "\n%d. %s %s", ++i,
						 pnstrdup(scratch->action.ptr, scratch->action.len), these);
		if (these[0] != '\0')
			appendStringInfo(objects, "%s%s", objects->len > 0 ? ", " : "", these);
	}
}

/* the batch code of what the rehearsal recorded */
static char *
batch_code(uint8 **body, size_t *len)
{
	int			n = list_length(ag_xact.rehearsed);
	const uint8 **bodies = palloc(sizeof(uint8 *) * n);
	size_t	   *lens = palloc(sizeof(size_t) * n);
	const char *err = NULL;
	char	   *code;
	int			i = 0;
	ListCell   *lc;

	foreach(lc, ag_xact.rehearsed)
	{
		bytea	   *request = lfirst(lc);

		bodies[i] = (uint8 *) VARDATA(request);
		lens[i++] = VARSIZE(request) - VARHDRSZ;
	}
	*body = palloc(AG_BATCH_MAX_BYTES);
	*len = ag_batch_encode(bodies, lens, n, *body, AG_BATCH_MAX_BYTES, &err);
	if (*len == 0)
		elog(ERROR, "agentguard: the rehearsal's batch cannot be made: %s", err);
	code = palloc(ag_code_length(*len) + 1);
	ag_code_format(AG_BATCH_PREFIX, *body, *len, code);
	return code;
}

/*
 * The commit of a rehearsal, however it was reached: refused, with the
 * batch a DBA approves.  The batch is kept with the recent refusals, as a
 * refused statement's request is, since the transaction rolls back.
 */
static void
refuse_commit(void)
{
	AgRequest  *first = palloc(sizeof(AgRequest));
	StringInfoData list;
	StringInfoData objects;
	uint8	   *body;
	size_t		len;
	char	   *code;
	int			n = list_length(ag_xact.rehearsed);

	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("agentguard: this transaction was a rehearsal and cannot commit; nothing in it needs approval"),
				 errdetail("agentguard.rehearse was on: everything the transaction did is rolled back. None of its statements would have been refused."),
				 errhint("Run it again without agentguard.rehearse.")));

	code = batch_code(&body, &len);
	initStringInfo(&list);
	initStringInfo(&objects);
	describe_requests(&list, &objects, first);
	(void) ag_request_decode((uint8 *) VARDATA(linitial(ag_xact.rehearsed)),
							 VARSIZE(linitial(ag_xact.rehearsed)) - VARHDRSZ, first, NULL);
	ag_refusals_record(body, len, first);
	ereport(LOG,
			(errmsg("agentguard: refused role=%s database=%s action=\"REHEARSAL (%d statement%s)\" objects=\"%s\" request=%s",
					ag_log_text(quote_identifier(pnstrdup(first->role.ptr, first->role.len))),
					ag_log_text(quote_identifier(pnstrdup(first->database.ptr, first->database.len))),
					n, n == 1 ? "" : "s", ag_log_text(objects.data), code),
			 errhidestmt(true),
			 errhidecontext(true)));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("agentguard: this transaction was a rehearsal and cannot commit; %d statement%s in it need%s approval",
					n, n == 1 ? "" : "s", n == 1 ? "s" : ""),
			 errdetail("request: %s\nagentguard.rehearse was on: everything the transaction did is rolled back. These statements need a DBA's signed confirmation, in this order:%s",
					   code, list.data),
			 errhint("Ask a DBA to approve the batch (agentguard approve, or agentguard sign and then SELECT agentguard.confirm(...)); then run the transaction again without agentguard.rehearse, and each of these statements may run once.")));
}

/* a transaction statement in a rehearsal: nothing that commits */
static void
refuse_transaction_statement(TransactionStmt *stmt, ProcessUtilityContext context)
{
	switch (stmt->kind)
	{
		case TRANS_STMT_COMMIT:
		case TRANS_STMT_PREPARE:
		case TRANS_STMT_COMMIT_PREPARED:

			/*
			 * At the top level the block is marked as ending first, so the
			 * refusal ends the transaction: the client is not left in an
			 * aborted block to roll back by hand.  Nothing else commits
			 * before the refusal.
			 */
			if (context == PROCESS_UTILITY_TOPLEVEL && IsTransactionBlock())
				(void) EndTransactionBlock(false);
			refuse_commit();
			break;
		default:
			break;
	}
}

/* does a write to relid reach a foreign table, itself or a partition of it? */
static bool
writes_foreign(Oid relid)
{
	ListCell   *lc;

	switch (get_rel_relkind(relid))
	{
		case RELKIND_FOREIGN_TABLE:
			return true;
		case RELKIND_PARTITIONED_TABLE:
			foreach(lc, find_all_inheritors(relid, NoLock, NULL))
				if (get_rel_relkind(lfirst_oid(lc)) == RELKIND_FOREIGN_TABLE)
					return true;
			return false;
		default:
			return false;
	}
}

static void
refuse_foreign_write(Oid relid)
{
	if (writes_foreign(relid))
		ag_rehearse_refuse(psprintf("write to foreign table %s", get_rel_name(relid)),
						   "A foreign table's rows live in another server, whose own transaction may commit what this rehearsal's rollback cannot take back.");
}

void
ag_rehearse_utility(Node *parsetree, ProcessUtilityContext context)
{
	if (IsA(parsetree, TransactionStmt))
		refuse_transaction_statement((TransactionStmt *) parsetree, context);
	else if (IsA(parsetree, CopyStmt))
	{
		CopyStmt   *copy = (CopyStmt *) parsetree;
		Oid			relid;

		if (copy->is_program)
			ag_rehearse_refuse("run COPY TO or FROM PROGRAM",
							   "What the program does is not rolled back.");
		if (copy->filename != NULL && !copy->is_from)
			ag_rehearse_refuse("run COPY TO a server file",
							   "The file it writes is not rolled back.");
		if (copy->is_from && copy->relation != NULL &&
			OidIsValid(relid = RangeVarGetRelid(copy->relation, NoLock, true)))
			refuse_foreign_write(relid);
	}
}

void
ag_rehearse_check_writes(PlannedStmt *plannedstmt)
{
	ListCell   *lc;

	foreach(lc, plannedstmt->resultRelations)
	{
		RangeTblEntry *rte = rt_fetch(lfirst_int(lc), plannedstmt->rtable);

		if (rte->rtekind == RTE_RELATION)
			refuse_foreign_write(rte->relid);
	}
}

void
ag_rehearse_init(void)
{
	ag_xact_set_commit_check(refuse_commit);
}
