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
 * With agentguard.quarantine_drops = 'all', a DELETE, UPDATE or MERGE of
 * a session that is not an agent's whose WHERE clause is missing or always
 * true keeps the rows it changes, with what its cascades and triggers
 * change, as an agent's confirmed statement does (count.c): its plan is
 * marked as an agent's is, and its row sources are wrapped to note them.
 *
 * In a rehearsal, of any session, no statement writes to a foreign table,
 * and each one that ends puts agentguard's transaction callbacks back in
 * front (rehearse.c).
 *
 * These hooks run for every statement of every session, so the first thing
 * each does is leave when the session is not an agent's, or the statement
 * only reads.
 */
#include "postgres.h"

#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/planner.h"
#include "parser/parsetree.h"
#include "tcop/utility.h"
#include "utils/memutils.h"

#include "citus.h"
#include "count.h"
#include "guard.h"
#include "hooks.h"
#include "owner.h"
#include "policy.h"
#include "quarantine.h"
#include "rehearse.h"
#include "request.h"
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

/* ---- quarantine_drops = 'all': what other sessions' statements change ---- */

/* a statement whose rows are kept, with the statements nested in it */
typedef struct AgKeeping
{
	AgXactItem	item;			/* the subtransaction it started in */
	QueryDesc  *queryDesc;
	AgKeptRows *kept;
	Oid			target;			/* the table it names */
} AgKeeping;

/* a row source of it, or of a statement nested in it, wrapped */
typedef struct KeptNode
{
	AgXactItem	item;
	QueryDesc  *queryDesc;
	PlanState  *node;
	ExecProcNodeMtd original;
	AgRowSource source;
} KeptNode;

static TupleTableSlot *
keeping_exec_proc_node(PlanState *node)
{
	ListCell   *lc;

	foreach(lc, ag_xact.kept_nodes)
	{
		KeptNode   *kn = lfirst(lc);

		if (kn->node == node)
		{
			TupleTableSlot *slot = kn->original(node);

			if (!TupIsNull(slot) && ag_xact.keeping != NULL)
				ag_kept_rows_note(ag_xact.keeping->kept, &kn->source, slot);
			return slot;
		}
	}
	elog(ERROR, "agentguard: a kept plan node was lost");
	pg_unreachable();
}

/* the table of the first ModifyTable whose row source reads every row */
static bool
find_unbounded(PlanState *planstate, void *context)
{
	if (planstate == NULL)
		return false;
	if (IsA(planstate, ModifyTableState) && outerPlanState(planstate) != NULL &&
		ag_unbounded_reason(outerPlanState(planstate)->plan) != NULL)
	{
		*(Oid *) context = rt_fetch(((ModifyTable *) planstate->plan)->nominalRelation,
									planstate->state->es_range_table)->relid;
		return true;
	}
	return planstate_tree_walker(planstate, find_unbounded, context);
}

/* every ModifyTable whose rows are named by their TIDs */
static bool
wrap_for_keeping(PlanState *planstate, void *context)
{
	AgRowSource source;

	if (planstate == NULL)
		return false;
	if (IsA(planstate, ModifyTableState) &&
		ag_row_source((ModifyTableState *) planstate, &source))
	{
		PlanState  *subplan = outerPlanState(planstate);
		KeptNode   *kn = ag_xact_item(sizeof(KeptNode));
		MemoryContext old = MemoryContextSwitchTo(ag_xact_context());

		kn->queryDesc = context;
		kn->node = subplan;
		kn->original = subplan->ExecProcNodeReal;
		kn->source = source;
		ag_xact.kept_nodes = lappend(ag_xact.kept_nodes, kn);
		MemoryContextSwitchTo(old);
		subplan->ExecProcNodeReal = keeping_exec_proc_node;
	}
	return planstate_tree_walker(planstate, wrap_for_keeping, context);
}

/* a statement that reads every row it changes, or one nested in such */
static pg_noinline void
keep_for_others(QueryDesc *queryDesc)
{
	Oid			target = InvalidOid;

	if (ag_xact.keeping == NULL)
	{
		if (!find_unbounded(queryDesc->planstate, &target))
			return;
		ag_xact.keeping = ag_xact_item(sizeof(AgKeeping));
		ag_xact.keeping->queryDesc = queryDesc;
		ag_xact.keeping->target = target;
		ag_xact.keeping->kept = ag_kept_rows_start(queryDesc->estate->es_output_cid, PG_UINT64_MAX);
		ag_kept_rows_confirmed(ag_xact.keeping->kept);
	}
	wrap_for_keeping(queryDesc->planstate, queryDesc);
}

/* it has run, with its cascades and triggers: its rows are kept */
static pg_noinline void
keep_finish(QueryDesc *queryDesc)
{
	PlannedStmt *plan = queryDesc->plannedstmt;
	AgStatement statement = {0};
	AgKeptRows *kept = ag_xact.keeping->kept;

	if (ag_xact.keeping->queryDesc != queryDesc || kept == NULL)
		return;
	ag_xact.keeping->kept = NULL;
	statement.action = GetCommandTagName(CreateCommandTag((Node *) plan));
	ag_statement_text(queryDesc->sourceText, plan->stmt_location, plan->stmt_len,
					  &statement.text, &statement.textlen);
	ag_request_code(&statement);
	ag_kept_rows_keep(kept, &statement, ag_xact.keeping->target);
}

/* its wrapped nodes go; the statement kept for, when it ends, too */
static pg_noinline void
keep_end(QueryDesc *queryDesc)
{
	ListCell   *lc;

	foreach(lc, ag_xact.kept_nodes)
		if (((KeptNode *) lfirst(lc))->queryDesc == queryDesc)
			ag_xact.kept_nodes = foreach_delete_current(ag_xact.kept_nodes, lc);
	if (ag_xact.keeping->queryDesc == queryDesc)
	{
		if (ag_xact.keeping->kept != NULL)
			ag_kept_rows_forget(ag_xact.keeping->kept);
		ag_xact.keeping = NULL;
	}
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

	/* ag_session_is_agent() has just made the answer valid for these roles */
	bool		superuser = ag_session_answer.superuser;

	if (ag_mode != AG_MODE_OFF && changes_rows(parse->commandType, parse->hasModifyingCTE))
		unbounded = ag_unbounded_find(parse);
	result = plan(parse, query_string, cursorOptions, boundParams);
	if (superuser)
		ag_policy_check_plan(result);
	if (unbounded != NIL)
	{
		if (unlikely(ag_citus_loaded))
			ag_citus_check_plan(result, unbounded);
		ag_unbounded_mark(result, unbounded);
	}
	return result;
}

/* quarantine_drops = 'all': what reads every row is marked, as for agents */
static pg_noinline PlannedStmt *
plan_for_others(Query *parse, const char *query_string, int cursorOptions,
				ParamListInfo boundParams)
{
	List	   *unbounded = NIL;
	PlannedStmt *result;

	if (changes_rows(parse->commandType, parse->hasModifyingCTE) && !ag_internal_changes_underway())
		unbounded = ag_unbounded_find(parse);
	result = plan(parse, query_string, cursorOptions, boundParams);
	if (unbounded != NIL)
	{
		if (unlikely(ag_citus_loaded))
			ag_citus_check_kept_plan(result, unbounded);
		ag_unbounded_mark(result, unbounded);
	}
	return result;
}

/* every session plans through here: others leave at once */
static PlannedStmt *
agentguard_planner(Query *parse, const char *query_string, int cursorOptions,
				   ParamListInfo boundParams)
{
	if (likely(!ag_session_is_agent()) || ag_internal_changes_underway())
	{
		if (unlikely(ag_quarantine_drops == AG_QUARANTINE_ALL))
			return plan_for_others(parse, query_string, cursorOptions, boundParams);
		return plan(parse, query_string, cursorOptions, boundParams);
	}
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

	ag_policy_check_catalog_writes(plannedstmt);
	if (unlikely(ag_citus_loaded))
		ag_citus_check_writes(plannedstmt);
	counted = ag_mode != AG_MODE_OFF &&
		counted_command(plannedstmt->commandType, plannedstmt->hasModifyingCTE) &&
		(eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0;
	start(queryDesc, eflags);
	ag_policy_check_own_writes(queryDesc);
	if (counted)
		ag_count_start(queryDesc);
	/* a cascade of a kept statement, run as an agent's table's owner */
	if (unlikely(ag_xact.keeping != NULL) && (eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0)
		keep_for_others(queryDesc);
}

/* quarantine_drops = 'all', or a statement kept already: rows may be kept */
static pg_noinline void
start_keeping(QueryDesc *queryDesc, int eflags)
{
	start(queryDesc, eflags);
	if (!ag_internal_changes_underway() && (eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0)
		keep_for_others(queryDesc);
}

/* a statement that writes: a rehearsal's, an agent's, or one kept for others */
static pg_noinline void
start_writing(QueryDesc *queryDesc, int eflags)
{
	if (unlikely(ag_rehearsing()))
		ag_rehearse_check_writes(queryDesc->plannedstmt);
	if (likely(!ag_session_is_agent()) || ag_internal_changes_underway())
	{
		if (unlikely(ag_quarantine_drops == AG_QUARANTINE_ALL || ag_xact.keeping != NULL))
			start_keeping(queryDesc, eflags);
		else
			start(queryDesc, eflags);
	}
	else
		start_for_agent(queryDesc, eflags);
}

/*
 * Reads are an agent's too, unless they write through a CTE.  Each of the
 * executor hooks hands the common case on with nothing else to do, so that
 * it costs a test and a jump.
 */
static void
agentguard_executor_start(QueryDesc *queryDesc, int eflags)
{
	PlannedStmt *plannedstmt = queryDesc->plannedstmt;

	/* it writes to no table: a rehearsal has nothing to refuse in it */
	if (plannedstmt->commandType == CMD_SELECT && !plannedstmt->hasModifyingCTE)
		start(queryDesc, eflags);
	else
		start_writing(queryDesc, eflags);
}

static void
finish(QueryDesc *queryDesc)
{
	if (prev_executor_finish)
		prev_executor_finish(queryDesc);
	else
		standard_ExecutorFinish(queryDesc);
}

static pg_noinline void
finish_counted(QueryDesc *queryDesc)
{
	finish(queryDesc);
	/* cascades and AFTER triggers have run now */
	if (ag_xact.frames != NIL)
	{
		if (unlikely(ag_citus_loaded))
			ag_citus_check_rows(queryDesc);
		ag_count_finish(queryDesc);
	}
	if (unlikely(ag_xact.keeping != NULL))
		keep_finish(queryDesc);
}

/*
 * A statement counted or kept is on ag_xact.frames or is ag_xact.keeping
 * from its start to its end; what runs nested in it (AFTER triggers) comes
 * and goes within: asked before it finishes, the answer is the one after.
 */
static void
agentguard_executor_finish(QueryDesc *queryDesc)
{
	if (likely(ag_xact.frames == NIL && ag_xact.keeping == NULL))
		finish(queryDesc);
	else
		finish_counted(queryDesc);
}

static void
end(QueryDesc *queryDesc)
{
	if (prev_executor_end)
		prev_executor_end(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

static pg_noinline void
end_counted(QueryDesc *queryDesc)
{
	if (ag_xact.frames != NIL)
		ag_count_end(queryDesc);
	if (unlikely(ag_xact.keeping != NULL))
		keep_end(queryDesc);
	end(queryDesc);
	/* a foreign scan may have registered its callbacks ahead of ours */
	if (unlikely(ag_rehearsing()))
		ag_xact_callbacks_first();
}

static void
agentguard_executor_end(QueryDesc *queryDesc)
{
	if (likely(ag_xact.frames == NIL && ag_xact.keeping == NULL && !ag_rehearsing()))
		end(queryDesc);
	else
		end_counted(queryDesc);
}

/*
 * What the hooks at the end of a statement do is for statements counted or
 * kept, and for rehearsals: state of agentguard's (xact.c), which none of
 * most sessions' transactions ever has.  They are installed when the
 * session's first such state is made, before the statement that made it
 * finishes, and stay.  Another library's hooks installed after agentguard
 * loaded are chained to as well as before.
 */
static void
install_statement_end_hooks(void)
{
	prev_executor_finish = ExecutorFinish_hook;
	ExecutorFinish_hook = agentguard_executor_finish;
	prev_executor_end = ExecutorEnd_hook;
	ExecutorEnd_hook = agentguard_executor_end;
}

void
ag_install_executor_hooks(void)
{
	prev_planner = planner_hook;
	planner_hook = agentguard_planner;
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = agentguard_executor_start;
	ag_xact_set_first_state(install_statement_end_hooks);
}
