/*
 * dml.c
 *		Executor hooks: what an agent session's INSERT, UPDATE, DELETE and
 *		MERGE may touch.
 *
 * These hooks run for every statement of every session, so the first thing
 * each does is leave when the session is not an agent's.
 */
#include "postgres.h"

#include "catalog/catalog.h"
#include "executor/executor.h"
#include "nodes/plannodes.h"
#include "parser/parsetree.h"
#include "utils/lsyscache.h"

#include "agentguard.h"

static ExecutorStart_hook_type prev_executor_start = NULL;

/*
 * Writes to system catalogs or to agentguard's own tables would change what
 * agentguard decides, so no agent session makes them, whatever its rights;
 * agentguard's own bookkeeping on its behalf is the exception.
 */
static void
refuse_protected_writes(PlannedStmt *plannedstmt)
{
	ListCell   *lc;

	if (ag_internal_changes_underway())
		return;
	foreach(lc, plannedstmt->resultRelations)
	{
		RangeTblEntry *rte = rt_fetch(lfirst_int(lc), plannedstmt->rtable);

		if (rte->rtekind != RTE_RELATION)
			continue;
		if (IsCatalogRelationOid(rte->relid))
			ag_refuse_outright("change system catalogs",
							   psprintf("The statement writes to %s.", get_rel_name(rte->relid)));
		if (ag_namespace_protected(get_rel_namespace(rte->relid)))
			ag_refuse_outright("change agentguard's tables",
							   psprintf("The statement writes to %s.%s; only agentguard's own functions change them.",
									   get_namespace_name(get_rel_namespace(rte->relid)),
									   get_rel_name(rte->relid)));
	}
}

static void
agentguard_executor_start(QueryDesc *queryDesc, int eflags)
{
	PlannedStmt *plannedstmt = queryDesc->plannedstmt;

	if ((plannedstmt->commandType != CMD_SELECT || plannedstmt->hasModifyingCTE) &&
		ag_session_is_agent())
		refuse_protected_writes(plannedstmt);

	if (prev_executor_start)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

void
ag_install_executor_hooks(void)
{
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = agentguard_executor_start;
}
