/*
 * quarantine/truncate_citus.c
 *		A kept TRUNCATE of Citus tables: their rows kept where they live,
 *		and the TRUNCATE run as agentguard's own change.
 *
 * A distributed table's rows live in its shards, tables of their own on
 * the workers; the table on the coordinator holds none, so truncate.c's
 * swap of its files would keep nothing.  Each Citus table the TRUNCATE
 * empties gets a twin in agentguard_quarantine made a Citus table of the
 * same placement instead: a hash-distributed table's twin is colocated
 * with it (the same shard ranges on the same nodes), so that Citus carries
 * out INSERT INTO twin SELECT * FROM ONLY table on each worker, shard by
 * shard, and no row crosses the network; a reference table's twin is a
 * reference table.  A Citus table of one shard (Citus local, schema-based
 * sharding) keeps a copy on the coordinator.  It all happens in the
 * coordinator's distributed transaction, committed with the TRUNCATE or
 * rolled back with it on every node.
 *
 * Citus sends the TRUNCATE of each shard to its worker as the role that
 * runs the statement, and the worker's agentguard judges it there, where
 * no confirmation was given: an agent's confirmed TRUNCATE would be refused
 * by every worker.  The confirmation and the keeping are the
 * coordinator's, so once the rows are kept the statement runs as the
 * extension's owner, one of agentguard's own changes, with DDL
 * propagation on, once every table it reaches is locked and known to be
 * one its trial reached.  Its own TRUNCATE triggers would then run with
 * the owner's rights: a statement that would fire one is refused before
 * anything runs.  Restore copies the rows back (restore.c), as the
 * extension's owner (entry.c's ag_q_rows_inserter).
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/dependency.h"
#include "catalog/heap.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "capture.h"
#include "citus_keep.h"
#include "owner.h"
#include "quarantine.h"
#include "quarantine/internal.h"

/* a trigger of the table (locked) that a TRUNCATE run now would fire */
static void
refuse_truncate_trigger(Oid relid)
{
	Relation	rel = relation_open(relid, NoLock);
	TriggerDesc *triggers = rel->trigdesc;

	for (int i = 0; triggers != NULL && i < triggers->numtriggers; i++)
	{
		Trigger    *trigger = &triggers->triggers[i];

		/* Citus's own (citus_truncate_trigger) is internal */
		if (trigger->tgisinternal || !TRIGGER_FOR_TRUNCATE(trigger->tgtype) ||
			trigger->tgenabled == TRIGGER_DISABLED)
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("agentguard: cannot quarantine this TRUNCATE: trigger %s of %s would run",
						quote_identifier(trigger->tgname), ag_q_relation_qualified(relid)),
				 errdetail("A TRUNCATE of a Citus table is kept and then run as the owner of the agentguard extension, so that every worker lets Citus empty the shards; the trigger's code would run with that role's rights.  Nothing was changed."),
				 errhint("A DBA disables the trigger (ALTER TABLE ... DISABLE TRIGGER) or runs the TRUNCATE, from a session that is not an agent session, with agentguard.quarantine_drops other than 'all'.")));
	}
	relation_close(rel, NoLock);
}

/* a table the TRUNCATE would reach now that its trial did not */
static void
refuse_reached_since(Oid relid)
{
	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 errmsg("agentguard: cannot run this TRUNCATE: %s, a child of or referring to a table it empties, is not one it was tried on",
					ag_q_relation_qualified(relid)),
			 errdetail("A TRUNCATE of a Citus table runs as agentguard's own change, not judged again as it runs, so what it can reach must be what its trial reached: a partition, child table or foreign key was added since, or a child table is left out with ONLY.  Nothing was changed."),
			 errhint("Run the statement again for a request that covers it; name a child table rather than leave it out with ONLY.")));
}

/*
 * What the TRUNCATE empties when it runs is what its trial emptied.  The
 * trial's locks went with its rollback, and agentguard's own change is not
 * judged again as it runs, so a partition, a child or a foreign key added
 * in between would be reached unconfirmed: every table the trial emptied
 * is locked as the TRUNCATE locks it, after which none can be added, and
 * then they must all be among the tables emptied.
 */
static void
check_reach_unchanged(List *emptied)
{
	ListCell   *lc;

	foreach(lc, emptied)
		LockRelationOid(lfirst_oid(lc), AccessExclusiveLock);
	foreach(lc, emptied)
	{
		ListCell   *ic;

		foreach(ic, find_all_inheritors(lfirst_oid(lc), AccessExclusiveLock, NULL))
			if (!list_member_oid(emptied, lfirst_oid(ic)))
				refuse_reached_since(lfirst_oid(ic));
	}
	foreach(lc, heap_truncate_find_FKs(emptied))
		if (!list_member_oid(emptied, lfirst_oid(lc)))
			refuse_reached_since(lfirst_oid(lc));
}

bool
ag_q_truncate_reaches_citus(List *objects)
{
	List	   *emptied = NIL;
	ListCell   *lc;
	bool		citus = false;

	foreach(lc, objects)
	{
		ObjectAddress *a = lfirst(lc);

		if (a->objectSubId != AG_CAPTURED_TRUNCATE)
			continue;
		emptied = list_append_unique_oid(emptied, a->objectId);
		citus = citus || ag_citus_table(a->objectId);
	}
	if (!citus)
		return false;
	check_reach_unchanged(emptied);
	foreach(lc, emptied)
		refuse_truncate_trigger(lfirst_oid(lc));
	return true;
}

bool
ag_q_keep_citus_rows(Oid relid, const char *kept)
{
	char	   *table = ag_q_relation_qualified(relid);
	char	   *twin = ag_q_qualified(AG_QUARANTINE_SCHEMA, kept);
	char	   *column = NULL;

	switch (ag_citus_placement(relid, &column))
	{
		case AG_CITUS_NOT:
			return false;
		case AG_CITUS_HASH:
			ag_q_run_sql(ag_q_sql_text("CREATE TABLE %s (LIKE %s)", twin, table));
			ag_q_run_sql(ag_q_sql_text("SELECT pg_catalog.create_distributed_table(%s, %s, colocate_with => %s)",
									   quote_literal_cstr(twin), quote_literal_cstr(column),
									   quote_literal_cstr(table)));
			break;
		case AG_CITUS_REFERENCE:
			ag_q_run_sql(ag_q_sql_text("CREATE TABLE %s (LIKE %s)", twin, table));
			ag_q_run_sql(ag_q_sql_text("SELECT pg_catalog.create_reference_table(%s)", quote_literal_cstr(twin)));
			break;
		case AG_CITUS_OTHER:
			ag_q_run_sql(ag_q_sql_text("CREATE TABLE %s AS SELECT * FROM ONLY %s", twin, table));
			return true;
	}
	ag_q_run_sql(ag_q_sql_text("INSERT INTO %s SELECT * FROM ONLY %s", twin, table));
	return true;
}

void
ag_q_truncate_as_extension_owner(AgUtilityRunner run, void *run_arg)
{
	Oid			saved_user;
	int			saved_context;
	int			nest_level = NewGUCNestLevel();

	GetUserIdAndSecContext(&saved_user, &saved_context);
	SetUserIdAndSecContext(ag_extension_owner(), saved_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	ag_internal_changes_begin();
	ag_citus_own_changes_propagate();
	run(run_arg);
	ag_internal_changes_end();
	SetUserIdAndSecContext(saved_user, saved_context);
	AtEOXact_GUC(true, nest_level);
}
