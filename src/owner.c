/*
 * owner.c
 *		SPI as the owner of the agentguard extension.
 *
 * agentguard's tables belong to the extension's owner and nobody else may
 * write them, so every access runs as that owner (the way the server runs
 * maintenance as a table's owner), whoever the calling session is, in a
 * restricted operation.  Names in the SQL run here are qualified, and
 * search_path is pinned to "pg_catalog, pg_temp": the session's temporary
 * schema is named last on purpose, because unnamed it would be searched
 * first for types and relations, where an agent's pg_temp.jsonb domain could
 * run the agent's code as the extension's owner.  On a Citus cluster Citus's
 * DDL propagation is on too, so that what agentguard moves, restores or
 * purges moves with every shard (citus_keep.c).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "miscadmin.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "citus_keep.h"
#include "owner.h"
#include "names.h"
#include "xact.h"

/*
 * The extension's record decides, not a schema that merely has the name.
 */
Oid
ag_extension_owner(void)
{
	Relation	catalog;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			owner = InvalidOid;

	catalog = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum(AG_SCHEMA));
	scan = systable_beginscan(catalog, ExtensionNameIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		Form_pg_extension ext = (Form_pg_extension) GETSTRUCT(tuple);

		if (ext->extnamespace == get_namespace_oid(AG_SCHEMA, true))
			owner = ext->extowner;
	}
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	return owner;
}

bool
ag_owner_open(AgOwnerSession *session)
{
	Oid			owner = ag_extension_owner();

	if (!OidIsValid(owner))
		return false;
	ag_owner_open_as(session, owner);
	return true;
}

/*
 * As a given role, for work that must happen in a database where the
 * extension may not be installed (a database quarantine).
 */
void
ag_owner_open_as(AgOwnerSession *session, Oid role)
{
	session->caller = CurrentMemoryContext;
	GetUserIdAndSecContext(&session->saved_user, &session->saved_sec_context);
	SetUserIdAndSecContext(role, session->saved_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "agentguard: SPI_connect failed");
	ag_internal_changes_begin();
	session->guc_nest_level = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	if (unlikely(ag_citus_loaded))
		ag_citus_own_changes_propagate();
}

void
ag_owner_close(AgOwnerSession *session)
{
	AtEOXact_GUC(true, session->guc_nest_level);
	ag_internal_changes_end();
	SPI_finish();
	SetUserIdAndSecContext(session->saved_user, session->saved_sec_context);
}

uint64
ag_owner_exec(const char *sql, int nargs, Oid *types, Datum *values,
			  const char *nulls, int expected, const char *what)
{
	int			ret = nargs > 0 ?
		SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0) :
		SPI_execute(sql, false, 0);

	if (ret != expected)
		elog(ERROR, "agentguard: could not %s (%s): %s", what, SPI_result_code_string(ret), sql);
	return SPI_processed;
}

char *
ag_owner_text(AgOwnerSession *session, uint64 row, int column)
{
	char	   *value = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, column);

	return value ? MemoryContextStrdup(session->caller, value) : NULL;
}

/* for values passed by value (booleans, numbers, OIDs) */
Datum
ag_owner_datum(uint64 row, int column, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, column, isnull);
}

void
ag_internal_changes_begin(void)
{
	ag_xact_needs_callbacks();
	ag_xact.internal_changes++;
}

void
ag_internal_changes_end(void)
{
	Assert(ag_xact.internal_changes > 0);
	ag_xact.internal_changes--;
}

bool
ag_internal_changes_underway(void)
{
	return ag_xact.internal_changes > 0;
}
