/*
 * quarantine/purge.c
 *		Destroying what the quarantine keeps, for good: agentguard.purge(id)
 *		for one entry, agentguard.purge_expired() for every entry past its
 *		expiry.
 *
 * Purging destroys, so an agent session needs a DBA's confirmation for it,
 * as for any other destructive statement.  A quarantined database is
 * dropped by a background worker, because DROP DATABASE cannot run inside a
 * function.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "compat.h"
#include "guard.h"
#include "ledger.h"
#include "owner.h"
#include "quarantine/internal.h"
#include "request.h"
#include "session.h"

PG_FUNCTION_INFO_V1(agentguard_purge);
PG_FUNCTION_INFO_V1(agentguard_purge_expired);

/* what DROP needs for a member: kept rows and a column's values are tables */
static const char *
member_drop_kind(const Member *m)
{
	return ag_q_is_rows(m) || ag_q_is_column(m) || ag_q_is_changed_rows(m) ? "TABLE" : m->sql_kind;
}

/* an error names the entry, and why dropping its objects may fail */
static void
purge_context(void *arg)
{
	errcontext("purging quarantine entry " INT64_FORMAT " (objects of other entries may depend on it)",
			   *(int64 *) arg);
}

/* what the entry kept, named as restore names it: a schema, a column, an object */
static char *
entry_objects(const Entry *e)
{
	Member	   *main = linitial(e->members);

	if (ag_q_is_schema(main))
		return pstrdup(quote_identifier(main->original_name));
	if (ag_q_is_column(main))
		return psprintf("%s.%s", ag_q_qualified(main->original_schema, main->original_name),
						quote_identifier(ag_q_column_name(main)));
	return ag_q_qualified(e->original_schema, e->original_name);
}

/* an entry of this database's own: its objects are dropped, its records go */
static void
purge_entry(Entry *e)
{
	ErrorContextCallback context;

	/*
	 * Dependents come after what they depend on, so dropping from the end
	 * needs no CASCADE, which could reach objects of other entries.
	 */
	context.callback = purge_context;
	context.arg = &e->id;
	context.previous = error_context_stack;
	error_context_stack = &context;
	for (int i = list_length(e->members) - 1; i >= 0; i--)
	{
		Member	   *m = list_nth(e->members, i);
		char	   *where = m->alone ? ag_q_member_in_quarantine(m) : NULL;

		if (where)
			ag_q_run_sql(ag_q_sql_text("DROP %s IF EXISTS %s", member_drop_kind(m), where));
	}
	error_context_stack = context.previous;
	ag_q_forget_entry(e->id);
	ag_ledger_audit("purge", e->kind, entry_objects(e), NULL,
					psprintf("entry " INT64_FORMAT ", was %s", e->id, e->quarantined_as));
	ag_q_log_done("purged", e->id, entry_objects(e));
}

/* purging destroys: an agent session needs a DBA's confirmation for it */
static void
guard_purge(const char *what)
{
	AgStatement statement = {0};

	if (!ag_session_is_agent())
		return;
	statement.action = "PURGE";
	statement.verb = "purge";
	statement.targets = list_make1(pstrdup(what));
	ag_statement_text(debug_query_string, -1, 0, &statement.text, &statement.textlen);
	ag_guard(&statement, NULL);
}

/*
 * DROP DATABASE cannot run inside a function, and purge is one.  The drop
 * runs instead in a background worker, in a transaction of its own, while
 * the caller waits; the caller has already checked who may purge, so the
 * worker connects as the bootstrap superuser, which any role may lack the
 * LOGIN for.  Like DROP DATABASE itself, this cannot be rolled back, so it is
 * refused inside a transaction block.
 */
typedef struct PurgeWorkerArgs
{
	Oid			connect_to;
	Oid			database;
} PurgeWorkerArgs;

PGDLLEXPORT void ag_purge_database_worker(Datum main_arg);

/* the worker's entry point, named in its BackgroundWorker */
void
ag_purge_database_worker(Datum main_arg pg_attribute_unused())
{
	PurgeWorkerArgs args;
	char	   *name;

	memcpy(&args, MyBgworkerEntry->bgw_extra, sizeof(args));
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(args.connect_to, BOOTSTRAP_SUPERUSERID,
											  BGWORKER_BYPASS_ALLOWCONN);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	/* a restore that won the race has taken its record away: leave it */
	name = get_database_name(args.database);
	if (name && ag_q_database_has_record(args.database))
	{
		ag_internal_changes_begin();
		dropdb(name, true, false);
		ag_internal_changes_end();
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/* drops a quarantined database through the worker, and waits for it */
static void
purge_database(int64 id, const char *quarantined)
{
	Oid			dboid = (Oid) -id;
	BackgroundWorker worker = {0};
	BackgroundWorkerHandle *handle;
	PurgeWorkerArgs args = {MyDatabaseId, dboid};
	pid_t		pid;

	if (IsTransactionBlock())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("agentguard: a quarantined database cannot be purged inside a transaction block"),
				 errdetail("Quarantine entry " INT64_FORMAT " is database %s; dropping it cannot be rolled back.",
						   id, quote_identifier(quarantined)),
				 errhint("Run SELECT agentguard.purge(" INT64_FORMAT ") on its own.", id)));
	snprintf(worker.bgw_name, BGW_MAXLEN, "agentguard purge of database %u", dboid);
	snprintf(worker.bgw_type, BGW_MAXLEN, "agentguard purge");
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, AG_LIBRARY);
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "ag_purge_database_worker");
	memcpy(worker.bgw_extra, &args, sizeof(args));
	worker.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle) ||
		WaitForBackgroundWorkerStartup(handle, &pid) == BGWH_POSTMASTER_DIED ||
		WaitForBackgroundWorkerShutdown(handle) == BGWH_POSTMASTER_DIED)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("agentguard: could not start a background worker to drop database %s",
						quote_identifier(quarantined)),
				 errhint("Raise max_worker_processes, or run DROP DATABASE %s from a session that is not an agent's.",
						 quote_identifier(quarantined))));
	AcceptInvalidationMessages();
	InvalidateCatalogSnapshot();
	if (SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum(dboid)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("agentguard: could not drop database %s", quote_identifier(quarantined)),
				 errdetail("The background worker that drops it failed; the server log says why."),
				 errhint("Make sure nothing is connected to it, then purge again.")));
}

/* a database entry (negative id), guarded unless the caller has done that */
static void
purge_database_entry(int64 id, bool guard)
{
	DatabaseRecord record;
	AgOwnerSession ls;

	if (-id > (int64) PG_UINT32_MAX || !ag_q_database_record((Oid) -id, &record))
		ag_q_no_such_entry(id);
	/* the bootstrap superuser owns it now: its owner is the one it had */
	if (!superuser() && record.owner != GetUserId())
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_DATABASE, record.quarantined);
	if (guard)
		guard_purge(record.quarantined);
	purge_database(id, record.quarantined);
	ag_owner_open(&ls);
	ag_ledger_audit("purge", "database", quote_identifier(record.original), NULL,
					psprintf("entry " INT64_FORMAT ", was %s", id, record.quarantined));
	ag_owner_close(&ls);
	ag_q_log_done("purged", id, quote_identifier(record.original));
}

/* agentguard.purge(id) */
Datum
agentguard_purge(PG_FUNCTION_ARGS)
{
	int64		id = PG_GETARG_INT64(0);
	MemoryContext caller_context = CurrentMemoryContext;
	AgOwnerSession ls;
	char	   *quarantined_as;

	PreventCommandDuringRecovery("agentguard.purge()");
	if (!ag_owner_open(&ls))
		elog(ERROR, "agentguard: the extension is not installed in this database");
	if (id < 0)
	{
		ag_owner_close(&ls);
		purge_database_entry(id, true);
		PG_RETURN_VOID();
	}
	/* the entry lives in SPI's memory, gone once the ledger is closed */
	quarantined_as = MemoryContextStrdup(caller_context, ag_q_load_entry(id)->quarantined_as);
	ag_owner_close(&ls);
	guard_purge(quarantined_as);
	ag_owner_open(&ls);
	purge_entry(ag_q_load_entry(id));
	ag_owner_close(&ls);
	PG_RETURN_VOID();
}

/* agentguard.purge_expired(): purge entries past their expiry */
Datum
agentguard_purge_expired(PG_FUNCTION_ARGS)
{
	AgOwnerSession ls;
	int64	   *ids;
	int			count;
	List	   *databases;
	ListCell   *lc;

	PreventCommandDuringRecovery("agentguard.purge_expired()");
	guard_purge("expired quarantine entries");
	if (!ag_owner_open(&ls))
		elog(ERROR, "agentguard: the extension is not installed in this database");
	if (SPI_execute("SELECT id FROM ONLY agentguard.quarantine_entries "
					"WHERE expires_at OPERATOR(pg_catalog.<=) pg_catalog.now() ORDER BY id",
					false, 0) != SPI_OK_SELECT)
		elog(ERROR, "agentguard: could not read the quarantine");
	count = (int) SPI_processed;
	ids = palloc(sizeof(int64) * Max(count, 1));
	for (int i = 0; i < count; i++)
	{
		bool		isnull;

		ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	for (int i = 0; i < count; i++)
		purge_entry(ag_q_load_entry(ids[i]));
	ag_owner_close(&ls);

	databases = ag_q_expired_databases();
	if (databases != NIL && IsTransactionBlock())
	{
		ereport(NOTICE,
				(errmsg("agentguard: %d expired quarantined databases were left, because a database cannot be dropped inside a transaction block",
						list_length(databases)),
				 errhint("Run SELECT agentguard.purge_expired() on its own.")));
		databases = NIL;
	}
	foreach(lc, databases)
		purge_database_entry(-(int64) lfirst_oid(lc), false);
	PG_RETURN_INT32(count + list_length(databases));
}
