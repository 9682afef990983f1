/*
 * dml.c
 *		Planner and executor hooks for agent sessions' DELETE, UPDATE, MERGE
 *		and INSERT.
 *
 * The planner hook judges whether a statement's WHERE clause is missing or
 * always true (unbounded.c) before the planner rewrites the query, and
 * writes the verdict into the plan; a superuser agent's queries are walked
 * for what policy.c forbids them.  The executor hooks refuse writes agent
 * sessions may never make (policy.c) and have count.c count every row a
 * counted statement changes, with what cascades and triggers change for it.
 *
 * In a rehearsal, of any session, no statement writes to a foreign table,
 * and each one that ends puts agentguard's transaction callbacks back in
 * front (rehearse.c).
 *
 * These hooks run for every statement of every session, so the first thing
 * each does is leave when the session is not an agent's.
 */
#include "postgres.h"

#include "executor/executor.h"
#include "miscadmin.h"
#include "optimizer/planner.h"

#include "count.h"
#include "hooks.h"
#include "owner.h"
#include "policy.h"
#include "rehearse.h"
#include "session.h"
#include "settings.h"
#include "unbounded.h"
#include "xact.h"

static planner_hook_type prev_planner = NULL;
static ExecutorStart_hook_type prev_executor_start = NULL;
static ExecutorFinish_hook_type prev_executor_finish = NULL;
static ExecutorEnd_hook_type prev_executor_end = NULL;

static bool
changes_rows(CmdType command, bool modifying_cte)
{
	return command == CMD_DELETE || command == CMD_UPDATE ||
		command == CMD_MERGE || modifying_cte;
}

/* what the executor counts: also INSERT, whose ON CONFLICT may update */
static bool
counted_command(CmdType command, bool modifying_cte)
{
	return changes_rows(command, modifying_cte) || command == CMD_INSERT;
}

/* ---- hooks ---- */

static PlannedStmt *
plan(Query *parse, const char *query_string, int cursorOptions, ParamListInfo boundParams)
{
	if (prev_planner)
		return prev_planner(parse, query_string, cursorOptions, boundParams);
	return standard_planner(parse, query_string, cursorOptions, boundParams);
}

/* an agent's query is looked at before the planner scribbles on it */
static pg_noinline PlannedStmt *
plan_for_agent(Query *parse, const char *query_string, int cursorOptions,
			   ParamListInfo boundParams)
{
	List	   *unbounded = NIL;
	PlannedStmt *result;

	if (superuser())
		ag_policy_check_query(parse);
	if (ag_mode != AG_MODE_OFF && changes_rows(parse->commandType, parse->hasModifyingCTE))
		unbounded = ag_unbounded_find(parse);
	result = plan(parse, query_string, cursorOptions, boundParams);
	if (unbounded != NIL)
		ag_unbounded_mark(result, unbounded);
	return result;
}

/* every session plans through here: others leave at once */
static PlannedStmt *
agentguard_planner(Query *parse, const char *query_string, int cursorOptions,
				   ParamListInfo boundParams)
{
	if (likely(!ag_session_is_agent()) || ag_internal_changes_underway())
		return plan(parse, query_string, cursorOptions, boundParams);
	return plan_for_agent(parse, query_string, cursorOptions, boundParams);
}

static void
start(QueryDesc *queryDesc, int eflags)
{
	if (prev_executor_start)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

static pg_noinline void
start_for_agent(QueryDesc *queryDesc, int eflags)
{
	PlannedStmt *plannedstmt = queryDesc->plannedstmt;
	bool		counted;

	ag_policy_check_writes(plannedstmt);
	counted = ag_mode != AG_MODE_OFF &&
		counted_command(plannedstmt->commandType, plannedstmt->hasModifyingCTE) &&
		(eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0;
	start(queryDesc, eflags);
	if (counted)
		ag_count_start(queryDesc);
}

/* reads are an agent's too, unless they write through a CTE */
static void
agentguard_executor_start(QueryDesc *queryDesc, int eflags)
{
	PlannedStmt *plannedstmt = queryDesc->plannedstmt;

	if (unlikely(ag_rehearsing()))
		ag_rehearse_check_writes(plannedstmt);
	if ((plannedstmt->commandType == CMD_SELECT && !plannedstmt->hasModifyingCTE) ||
		likely(!ag_session_is_agent()) || ag_internal_changes_underway())
		start(queryDesc, eflags);
	else
		start_for_agent(queryDesc, eflags);
}

static void
agentguard_executor_finish(QueryDesc *queryDesc)
{
	if (prev_executor_finish)
		prev_executor_finish(queryDesc);
	else
		standard_ExecutorFinish(queryDesc);

	/* cascades and AFTER triggers have run now */
	if (ag_xact.frames != NIL)
		ag_count_finish(queryDesc);
}

static void
agentguard_executor_end(QueryDesc *queryDesc)
{
	if (ag_xact.frames != NIL)
		ag_count_end(queryDesc);

	if (prev_executor_end)
		prev_executor_end(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);

	/* a foreign scan may have registered its callbacks ahead of ours */
	if (unlikely(ag_rehearsing()))
		ag_xact_callbacks_first();
}

void
ag_install_executor_hooks(void)
{
	prev_planner = planner_hook;
	planner_hook = agentguard_planner;
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = agentguard_executor_start;
	prev_executor_finish = ExecutorFinish_hook;
	ExecutorFinish_hook = agentguard_executor_finish;
	prev_executor_end = ExecutorEnd_hook;
	ExecutorEnd_hook = agentguard_executor_end;
}
