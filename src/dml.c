/*
 * dml.c
 *		Planner and executor hooks: what an agent session's INSERT, UPDATE,
 *		DELETE and MERGE may touch, and how many rows they may change.
 *
 * Two rules live here.  A DELETE, UPDATE or MERGE whose WHERE clause (or
 * join condition) is missing or always true is found when it is planned,
 * after the rewriter has expanded views and rules, and refused when that
 * plan starts to run, every time it runs.  And every DELETE, UPDATE or MERGE
 * is counted while it runs, with the rows that foreign-key cascades and
 * triggers change on its behalf, and stopped as soon as the count passes
 * agentguard.max_rows.  An error rolls back everything the statement did.
 *
 * These hooks run for every statement of every session, so the first thing
 * each does is leave when the session is not an agent's.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/catalog.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "utils/builtins.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/plannodes.h"
#include "optimizer/optimizer.h"
#include "optimizer/planner.h"
#include "parser/parsetree.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "agentguard.h"

/* a planner estimate this many times the limit is refused before running */
#define AG_ESTIMATE_FACTOR 10

/* remembered unbounded plans; more than this and the oldest are forgotten */
#define AG_MAX_UNBOUNDED_PLANS 64

static planner_hook_type prev_planner = NULL;
static ExecutorStart_hook_type prev_executor_start = NULL;
static ExecutorFinish_hook_type prev_executor_finish = NULL;
static ExecutorEnd_hook_type prev_executor_end = NULL;

/*
 * A statement found unbounded when it was planned.  Cached plans run many
 * times without being planned again (and are copied on the way into the
 * cache), so the refusal, or the use of a token, happens each time a plan
 * of that statement starts: the statement text, command and target say
 * which plans those are.
 */
typedef struct UnboundedPlan
{
	AgStatement *statement;
	CmdType		command;
	Oid			target;
	const char *reason;
} UnboundedPlan;

static List *unbounded_plans = NIL;

/* a ModifyTable's source of rows, wrapped to count them */
typedef struct CountedNode
{
	PlanState  *node;
	ExecProcNodeMtd original;
	bool		counts_itself;	/* rows are not counted in es_processed */
} CountedNode;

/* one running DELETE, UPDATE or MERGE of an agent session */
typedef struct Frame
{
	QueryDesc  *queryDesc;
	SubTransactionId subxid;
	bool		counts_processed;	/* es_processed counts changed rows */
	uint64		uncounted;		/* rows reaching non-canSetTag ModifyTables */
	List	   *counted_nodes;
	List	   *targets;		/* OIDs of the tables its ModifyTables name */
} Frame;

/*
 * The statement being counted: the frame at the bottom of the stack, and
 * every frame nested in it (cascades, triggers, functions).  Frames live in
 * TopTransactionContext; an abort drops the ones it ends.
 */
static List *frames = NIL;
static uint64 rows_finished = 0;
static bool limit_lifted = false;

/*
 * The statement the count belongs to.  Deferred triggers run at COMMIT,
 * after their statement ended: what they change still counts for the last
 * statement of the transaction, which is the one named if it goes over.
 */
typedef struct StatementOfRecord
{
	char	   *text;
	int			textlen;
	const char *action;
	const char *verb;
	List	   *targets;		/* OIDs */
} StatementOfRecord;

static StatementOfRecord *statement_of_record = NULL;

/* ---- unbounded statements ---- */

static bool
column_not_null(Query *query, Var *var)
{
	RangeTblEntry *rte;
	HeapTuple	tuple;
	bool		not_null = false;

	if (var->varlevelsup != 0 || var->varno < 1 || var->varno > list_length(query->rtable))
		return false;
	/* system columns (ctid, tableoid, ...) are never null */
	if (var->varattno < 0)
		return true;
	if (var->varattno == 0)
		return false;
	rte = rt_fetch(var->varno, query->rtable);
	if (rte->rtekind != RTE_RELATION)
		return false;
	tuple = SearchSysCache2(ATTNUM, ObjectIdGetDatum(rte->relid),
							Int16GetDatum(var->varattno));
	if (HeapTupleIsValid(tuple))
	{
		not_null = ((Form_pg_attribute) GETSTRUCT(tuple))->attnotnull;
		ReleaseSysCache(tuple);
	}
	return not_null;
}

static bool always_false(Query *query, Node *node);

static Node *
strip_relabel(Node *node)
{
	while (node && IsA(node, RelabelType))
		node = (Node *) ((RelabelType *) node)->arg;
	return node;
}

/*
 * True when the condition holds for every row: a part without columns that
 * folds to true, x = x and x IS NOT NULL on a NOT NULL column, and AND/OR
 * of such.  Only column-free parts are folded, so the usual "id = $1" costs
 * no more than a look at its shape.
 */
static bool
always_true(Query *query, Node *node)
{
	if (node == NULL)
		return true;
	if (!contain_vars_of_level(node, 0))
	{
		Node	   *folded = eval_const_expressions(NULL, copyObject(node));

		return IsA(folded, Const) && ((Const *) folded)->consttype == BOOLOID &&
			!((Const *) folded)->constisnull && DatumGetBool(((Const *) folded)->constvalue);
	}
	if (IsA(node, List))
	{
		ListCell   *lc;

		foreach(lc, (List *) node)
			if (!always_true(query, lfirst(lc)))
				return false;
		return true;
	}
	if (IsA(node, BoolExpr))
	{
		BoolExpr   *b = (BoolExpr *) node;
		ListCell   *lc;

		if (b->boolop == AND_EXPR)
			return always_true(query, (Node *) b->args);
		if (b->boolop == OR_EXPR)
		{
			foreach(lc, b->args)
				if (always_true(query, lfirst(lc)))
					return true;
		}
		if (b->boolop == NOT_EXPR)
			return always_false(query, linitial(b->args));
		return false;
	}
	if (IsA(node, OpExpr) && list_length(((OpExpr *) node)->args) == 2)
	{
		OpExpr	   *op = (OpExpr *) node;
		Node	   *left = strip_relabel(linitial(op->args));
		Node	   *right = strip_relabel(lsecond(op->args));

		return IsA(left, Var) && equal(left, right) &&
			(op_mergejoinable(op->opno, exprType(left)) ||
			 op_hashjoinable(op->opno, exprType(left))) &&
			column_not_null(query, (Var *) left);
	}
	if (IsA(node, NullTest))
	{
		NullTest   *test = (NullTest *) node;
		Node	   *arg = strip_relabel((Node *) test->arg);

		return test->nulltesttype == IS_NOT_NULL && IsA(arg, Var) &&
			column_not_null(query, (Var *) arg);
	}
	if (IsA(node, BooleanTest))
	{
		BooleanTest *test = (BooleanTest *) node;

		return (test->booltesttype == IS_TRUE || test->booltesttype == IS_NOT_FALSE) &&
			always_true(query, (Node *) test->arg);
	}
	return false;
}

/* x <> x on a NOT NULL column, and false: NOT of these is always true */
static bool
always_false(Query *query, Node *node)
{
	if (IsA(node, OpExpr) && list_length(((OpExpr *) node)->args) == 2)
	{
		OpExpr	   *op = (OpExpr *) node;
		Node	   *left = strip_relabel(linitial(op->args));
		Node	   *right = strip_relabel(lsecond(op->args));
		Oid			negator = get_negator(op->opno);

		return IsA(left, Var) && equal(left, right) && OidIsValid(negator) &&
			(op_mergejoinable(negator, exprType(left)) || op_hashjoinable(negator, exprType(left))) &&
			column_not_null(query, (Var *) left);
	}
	return false;
}

/*
 * A view's INSTEAD OF trigger sees rows through the view's own query, so
 * only a table's conditions are expected to mention the table.
 */
static bool
target_is_table(Query *query)
{
	char		relkind = rt_fetch(query->resultRelation, query->rtable)->relkind;

	return relkind == RELKIND_RELATION || relkind == RELKIND_PARTITIONED_TABLE ||
		relkind == RELKIND_FOREIGN_TABLE;
}

typedef struct LooksAtContext
{
	int			varno;
	Index		sublevels_up;
} LooksAtContext;

/* as pull_varnos would find, but stopping at the first column of it */
static bool
looks_at_walker(Node *node, void *arg)
{
	LooksAtContext *context = arg;

	if (node == NULL)
		return false;
	if (IsA(node, Var))
		return (int) ((Var *) node)->varno == context->varno &&
			((Var *) node)->varlevelsup == context->sublevels_up;
	if (IsA(node, CurrentOfExpr))
		return (int) ((CurrentOfExpr *) node)->cvarno == context->varno &&
			context->sublevels_up == 0;
	if (IsA(node, Query))
	{
		bool		found;

		context->sublevels_up++;
		found = query_tree_walker((Query *) node, looks_at_walker, context, 0);
		context->sublevels_up--;
		return found;
	}
	return expression_tree_walker(node, looks_at_walker, context);
}

static bool
looks_at_relation(Node *condition, int varno)
{
	LooksAtContext context = {varno, 0};

	return looks_at_walker(condition, &context);
}

static bool
merge_changes_matched_rows(Query *query)
{
	ListCell   *lc;

	foreach(lc, query->mergeActionList)
	{
		MergeAction *action = lfirst_node(MergeAction, lc);

		if (action->commandType == CMD_UPDATE || action->commandType == CMD_DELETE)
			return true;
	}
	return false;
}

/*
 * The first DELETE, UPDATE or MERGE in the query (itself or a data-modifying
 * CTE) that would change every row of its target, or NULL.
 */
static Query *
find_unbounded(Query *query, const char **reason)
{
	ListCell   *lc;
	Node	   *condition;

	foreach(lc, query->cteList)
	{
		CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);
		Query	   *found;

		if (IsA(cte->ctequery, Query) &&
			(found = find_unbounded((Query *) cte->ctequery, reason)) != NULL)
			return found;
	}

	switch (query->commandType)
	{
		case CMD_DELETE:
		case CMD_UPDATE:
			condition = query->jointree->quals;
			break;
		case CMD_MERGE:
			if (!merge_changes_matched_rows(query))
				return NULL;
			condition = ag_merge_join_condition(query);
			break;
		default:
			return NULL;
	}
	if (condition == NULL)
		*reason = "it has no WHERE clause";
	else if (always_true(query, condition))
		*reason = query->commandType == CMD_MERGE ?
			"its join condition is always true" : "its WHERE clause is always true";
	else if (target_is_table(query) && !looks_at_relation(condition, query->resultRelation))
		*reason = query->commandType == CMD_MERGE ?
			"its join condition does not look at the target's rows" :
			"its WHERE clause does not look at the rows it changes";
	else
		return NULL;
	return query;
}

static const char *
command_verb(CmdType command)
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

static char *
relation_identity(Oid relid)
{
	ObjectAddress address;

	ObjectAddressSet(address, RelationRelationId, relid);
	return getObjectIdentity(&address, false);
}

static UnboundedPlan *
find_unbounded_plan(const char *text, int textlen, CmdType command, Oid target,
					ListCell **cell)
{
	ListCell   *lc;

	foreach(lc, unbounded_plans)
	{
		UnboundedPlan *entry = lfirst(lc);

		if (entry->command == command && entry->target == target &&
			entry->statement->textlen == textlen &&
			memcmp(entry->statement->text, text, textlen) == 0)
		{
			if (cell)
				*cell = lc;
			return entry;
		}
	}
	return NULL;
}

/*
 * Remember, or forget, that plans of this statement change every row of
 * their target.  A statement planned again (after a view or rule changed,
 * say) is judged again.
 */
static void
note_unbounded(Query *query, const char *query_string, Query *unbounded,
			   const char *reason)
{
	const char *text;
	int			textlen;
	ListCell   *cell = NULL;
	Oid			target;
	UnboundedPlan *entry;
	MemoryContext old;

	if (unbounded == NULL && unbounded_plans == NIL)
		return;
	if (unbounded == NULL)
		unbounded = query;
	if (unbounded->resultRelation <= 0)
		return;
	target = rt_fetch(unbounded->resultRelation, unbounded->rtable)->relid;
	ag_statement_text(query_string, query->stmt_location, query->stmt_len, &text, &textlen);
	entry = find_unbounded_plan(text, textlen, unbounded->commandType, target, &cell);
	if (reason == NULL)
	{
		if (entry)
			unbounded_plans = list_delete_cell(unbounded_plans, cell);
		return;
	}
	if (entry)
		return;

	old = MemoryContextSwitchTo(TopMemoryContext);
	entry = palloc0(sizeof(UnboundedPlan));
	entry->statement = palloc0(sizeof(AgStatement));
	entry->statement->action = GetCommandTagName(CreateCommandTag((Node *) unbounded));
	entry->statement->verb = command_verb(unbounded->commandType);
	entry->statement->targets = list_make1(relation_identity(target));
	entry->statement->text = pnstrdup(text, textlen);
	entry->statement->textlen = textlen;
	entry->command = unbounded->commandType;
	entry->target = target;
	entry->reason = reason;
	if (list_length(unbounded_plans) >= AG_MAX_UNBOUNDED_PLANS)
		unbounded_plans = list_delete_first(unbounded_plans);
	unbounded_plans = lappend(unbounded_plans, entry);
	MemoryContextSwitchTo(old);
}

/* the remembered unbounded statement a plan about to run belongs to */
static UnboundedPlan *
unbounded_plan_of(QueryDesc *queryDesc)
{
	PlannedStmt *plan = queryDesc->plannedstmt;
	const char *text;
	int			textlen;
	ListCell   *lc;

	if (unbounded_plans == NIL)
		return NULL;
	ag_statement_text(queryDesc->sourceText, plan->stmt_location, plan->stmt_len,
					  &text, &textlen);
	foreach(lc, plan->resultRelations)
	{
		UnboundedPlan *entry = find_unbounded_plan(text, textlen, plan->commandType,
												   rt_fetch(lfirst_int(lc), plan->rtable)->relid,
												   NULL);

		if (entry)
			return entry;
	}
	/* a data-modifying CTE inside a statement of another command */
	foreach(lc, unbounded_plans)
	{
		UnboundedPlan *entry = lfirst(lc);

		if (plan->hasModifyingCTE && entry->statement->textlen == textlen &&
			memcmp(entry->statement->text, text, textlen) == 0)
			return entry;
	}
	return NULL;
}

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

/*
 * Built-in and C functions that reach outside what agentguard sees: they
 * write the server's files, open connections of their own, or change rows
 * without a DELETE or UPDATE.  Known by their C symbol, so an alias made
 * under another name is known too.
 */
static const char *const unguarded_functions[] = {
	"be_lo_export", "be_lo_import", "be_lo_import_with_oid",
	"pg_file_write", "pg_file_write_v1_1", "pg_file_rename", "pg_file_rename_v1_1",
	"pg_file_unlink", "pg_file_unlink_v1_1", "pg_file_sync",
	"dblink_exec", "dblink_record", "dblink_connect", "dblink_connect_u",
	"dblink_send_query", "dblink_open", "dblink_get_result",
	"heap_force_kill", "heap_force_freeze",
	NULL
};

/* the C symbol of an internal or C function, or NULL */
static char *
function_symbol(Oid funcid)
{
	HeapTuple	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	Form_pg_proc proc;
	bool		isnull;
	char	   *symbol = NULL;

	if (!HeapTupleIsValid(tuple))
		return NULL;
	proc = (Form_pg_proc) GETSTRUCT(tuple);
	if (proc->prolang == INTERNALlanguageId || proc->prolang == ClanguageId)
		symbol = TextDatumGetCString(SysCacheGetAttr(PROCOID, tuple, Anum_pg_proc_prosrc, &isnull));
	ReleaseSysCache(tuple);
	return symbol;
}

static bool
reaches_outside(Oid funcid)
{
	char	   *symbol;

	/* built-in functions are known by their OID, without a catalog lookup */
	if (funcid < FirstGenbkiObjectId)
		return funcid == F_LO_EXPORT || funcid == F_LO_IMPORT_TEXT || funcid == F_LO_IMPORT_TEXT_OID;
	symbol = function_symbol(funcid);
	for (int i = 0; symbol && unguarded_functions[i]; i++)
		if (strcmp(symbol, unguarded_functions[i]) == 0)
			return true;
	return false;
}

/*
 * The executor is about to set up a call of funcid in an agent session
 * (OAT_FUNCTION_EXECUTE, for every function, operator, aggregate and
 * set-returning call it prepares, however the statement reached it).
 */
void
ag_check_function_execute(Oid funcid)
{
	if (reaches_outside(funcid))
		ag_refuse_outright(psprintf("call %s()", get_func_name(funcid)),
						   "It reaches outside what agentguard can see: the server's files, another connection, or rows changed without DELETE or UPDATE.");
}

/*
 * setval on agentguard's own sequences would make entries collide.  Only a
 * role that may write those sequences, a superuser, needs the look at
 * setval's arguments, which only the query tree has.
 */
static bool
is_setval(Oid funcid)
{
	char	   *symbol;

	if (funcid == F_SETVAL_REGCLASS_INT8 || funcid == F_SETVAL_REGCLASS_INT8_BOOL)
		return true;
	if (funcid < FirstGenbkiObjectId)
		return false;
	symbol = function_symbol(funcid);
	return symbol && (strcmp(symbol, "setval_oid") == 0 || strcmp(symbol, "setval3_oid") == 0);
}

static void
refuse_setval_of_protected(FuncExpr *call)
{
	Const	   *sequence;

	if (!is_setval(call->funcid))
		return;
	sequence = (Const *) linitial(call->args);
	if (IsA(sequence, Const) && !sequence->constisnull &&
		ag_namespace_protected_committed(get_rel_namespace(DatumGetObjectId(sequence->constvalue))))
		ag_refuse_outright("change agentguard's sequences",
						   "Quarantine entries are numbered by them.");
}

static bool
setval_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncExpr))
		refuse_setval_of_protected((FuncExpr *) node);
	else if (IsA(node, Query))
		return query_tree_walker((Query *) node, setval_walker, context, 0);
	return expression_tree_walker(node, setval_walker, context);
}

static PlannedStmt *
agentguard_planner(Query *parse, const char *query_string, int cursorOptions,
				   ParamListInfo boundParams)
{
	if (ag_session_is_agent() && !ag_internal_changes_underway() && superuser())
		(void) query_tree_walker(parse, setval_walker, NULL, 0);

	/* the planner scribbles on the query, so look before it does */
	if (changes_rows(parse->commandType, parse->hasModifyingCTE) &&
		ag_mode != AG_MODE_OFF && ag_session_is_agent())
	{
		const char *reason = NULL;
		Query	   *unbounded = find_unbounded(parse, &reason);

		note_unbounded(parse, query_string, unbounded, reason);
	}

	if (prev_planner)
		return prev_planner(parse, query_string, cursorOptions, boundParams);
	return standard_planner(parse, query_string, cursorOptions, boundParams);
}

/* ---- counting rows ---- */

static uint64
rows_so_far(void)
{
	uint64		total = rows_finished;
	ListCell   *lc;

	foreach(lc, frames)
	{
		Frame	   *frame = lfirst(lc);

		if (frame->counts_processed && frame->queryDesc->estate)
			total += frame->queryDesc->estate->es_processed;
		total += frame->uncounted;
	}
	return total;
}

/* remember the statement the agent ran, the outermost counted one */
static void
record_statement(Frame *outermost)
{
	QueryDesc  *queryDesc = outermost->queryDesc;
	PlannedStmt *plan = queryDesc->plannedstmt;
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	const char *text;

	statement_of_record = palloc0(sizeof(StatementOfRecord));
	ag_statement_text(queryDesc->sourceText, plan->stmt_location, plan->stmt_len,
					  &text, &statement_of_record->textlen);
	statement_of_record->text = pnstrdup(text, statement_of_record->textlen);
	statement_of_record->action = GetCommandTagName(CreateCommandTag((Node *) plan));
	statement_of_record->verb = command_verb(plan->commandType);
	statement_of_record->targets = list_copy(outermost->targets);
	MemoryContextSwitchTo(old);
}

/* the request for it, made only when it goes over the limit */
static AgStatement *
counted_statement(void)
{
	AgStatement *statement = palloc0(sizeof(AgStatement));
	ListCell   *lc;

	statement->text = statement_of_record->text;
	statement->textlen = statement_of_record->textlen;
	statement->action = statement_of_record->action;
	statement->verb = statement_of_record->verb;
	foreach(lc, statement_of_record->targets)
		statement->targets = lappend(statement->targets, relation_identity(lfirst_oid(lc)));
	return statement;
}

/*
 * The statement went past the limit, or is about to: it needs a
 * confirmation, which also lifts the limit for the rest of it.
 */
static void
over_the_limit(const char *reason)
{
	if (limit_lifted)
		return;
	if (ag_guard(counted_statement(), reason) != AG_ALLOW)
		limit_lifted = true;
}

static void
check_rows(void)
{
	uint64		total;

	if (limit_lifted || ag_max_rows <= 0)
		return;
	total = rows_so_far();
	if (total > (uint64) ag_max_rows)
		over_the_limit(psprintf("it would change more than %d rows (agentguard.max_rows)",
								ag_max_rows));
}

static TupleTableSlot *
counting_exec_proc_node(PlanState *node)
{
	ListCell   *lc;
	ListCell   *nc;

	foreach(lc, frames)
	{
		Frame	   *frame = lfirst(lc);

		foreach(nc, frame->counted_nodes)
		{
			CountedNode *counted = lfirst(nc);
			TupleTableSlot *slot;

			if (counted->node != node)
				continue;
			/* every row fetched so far has been changed: stop before the next */
			check_rows();
			slot = counted->original(node);
			if (counted->counts_itself && !TupIsNull(slot))
				frame->uncounted++;
			return slot;
		}
	}
	elog(ERROR, "agentguard: a counted plan node was lost");
	pg_unreachable();
}

static bool
analyzed(Oid relid)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	bool		result = false;

	if (HeapTupleIsValid(tuple))
	{
		result = ((Form_pg_class) GETSTRUCT(tuple))->reltuples >= 0;
		ReleaseSysCache(tuple);
	}
	return result;
}

/*
 * Wrap the row source of every ModifyTable that deletes, updates or merges,
 * and add up what the planner expects them to change.
 */
static bool
wrap_modify_tables(PlanState *planstate, void *context)
{
	Frame	   *frame = ((void **) context)[0];
	double	   *estimate = ((void **) context)[1];

	if (planstate == NULL)
		return false;
	if (IsA(planstate, ModifyTableState))
	{
		ModifyTableState *mt = (ModifyTableState *) planstate;
		PlanState  *source = outerPlanState(mt);

		/* an upsert counts like an UPDATE of every row it reaches */
		if ((mt->operation == CMD_DELETE || mt->operation == CMD_UPDATE ||
			 mt->operation == CMD_MERGE ||
			 (mt->operation == CMD_INSERT &&
			  ((ModifyTable *) mt->ps.plan)->onConflictAction == ONCONFLICT_UPDATE)) &&
			source != NULL)
		{
			MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
			CountedNode *counted = palloc(sizeof(CountedNode));
			Index		named = ((ModifyTable *) mt->ps.plan)->nominalRelation;
			Oid			relid = rt_fetch(named, planstate->state->es_range_table)->relid;

			counted->node = source;
			counted->original = source->ExecProcNodeReal;
			counted->counts_itself = !mt->canSetTag;
			frame->counted_nodes = lappend(frame->counted_nodes, counted);
			frame->targets = list_append_unique_oid(frame->targets, relid);
			MemoryContextSwitchTo(old);
			source->ExecProcNodeReal = counting_exec_proc_node;
			/* estimates for tables never analyzed are guesses; count instead */
			if (source->plan->plan_rows > (double) ag_max_rows * AG_ESTIMATE_FACTOR &&
				analyzed(relid))
				*estimate += source->plan->plan_rows;
		}
	}
	return planstate_tree_walker(planstate, wrap_modify_tables, context);
}

static Frame *
find_frame(QueryDesc *queryDesc)
{
	ListCell   *lc;

	foreach(lc, frames)
	{
		Frame	   *frame = lfirst(lc);

		if (frame->queryDesc == queryDesc)
			return frame;
	}
	return NULL;
}

static void
start_counting(QueryDesc *queryDesc, bool confirmed)
{
	Frame	   *frame = MemoryContextAllocZero(TopTransactionContext, sizeof(Frame));
	double		estimate = 0;
	void	   *context[2] = {frame, &estimate};
	MemoryContext old;

	/* a new statement, unless a deferred trigger works for the last one */
	bool		new_statement = frames == NIL &&
		(statement_of_record == NULL ||
		 DatumGetInt32(DirectFunctionCall1(pg_trigger_depth, (Datum) 0)) == 0);

	if (new_statement)
	{
		rows_finished = 0;
		limit_lifted = false;
	}
	if (confirmed)
		limit_lifted = true;

	frame->queryDesc = queryDesc;
	frame->subxid = GetCurrentSubTransactionId();
	old = MemoryContextSwitchTo(TopTransactionContext);
	frames = lappend(frames, frame);
	MemoryContextSwitchTo(old);

	wrap_modify_tables(queryDesc->planstate, context);
	if (new_statement)
		record_statement(frame);

	/*
	 * es_processed counts the rows a DELETE, UPDATE or MERGE changed; for an
	 * INSERT, only an upsert's are changes.  A plain INSERT still stays on
	 * the stack, so that what its triggers change counts for it.
	 */
	switch (queryDesc->plannedstmt->commandType)
	{
		case CMD_DELETE:
		case CMD_UPDATE:
		case CMD_MERGE:
			frame->counts_processed = true;
			break;
		case CMD_INSERT:
			frame->counts_processed = frame->counted_nodes != NIL;
			break;
		default:
			frame->counts_processed = false;
			break;
	}
	if (!limit_lifted && ag_max_rows > 0 &&
		estimate > (double) ag_max_rows * AG_ESTIMATE_FACTOR)
		over_the_limit(psprintf("the planner expects it to change about %.0f rows, more than agentguard.max_rows (%d)",
								estimate, ag_max_rows));
}

/* ---- protected tables ---- */

/*
 * Writes to system catalogs or to agentguard's own tables would change what
 * agentguard decides, so no agent session makes them, whatever its rights;
 * agentguard's own bookkeeping on its behalf is the exception.
 */
static void
refuse_protected_writes(PlannedStmt *plannedstmt)
{
	ListCell   *lc;

	foreach(lc, plannedstmt->resultRelations)
	{
		RangeTblEntry *rte = rt_fetch(lfirst_int(lc), plannedstmt->rtable);

		if (rte->rtekind != RTE_RELATION)
			continue;
		if (IsCatalogRelationOid(rte->relid))
			ag_refuse_outright("change system catalogs",
							   psprintf("The statement writes to %s.", get_rel_name(rte->relid)));
		if (ag_namespace_protected_committed(get_rel_namespace(rte->relid)))
			ag_refuse_outright("change agentguard's tables",
							   psprintf("The statement writes to %s.%s; only agentguard's own functions change them.",
										get_namespace_name(get_rel_namespace(rte->relid)),
										get_rel_name(rte->relid)));
	}
}

/* ---- hooks ---- */

static void
agentguard_executor_start(QueryDesc *queryDesc, int eflags)
{
	PlannedStmt *plannedstmt = queryDesc->plannedstmt;
	bool		guarded = false;
	bool		confirmed = false;

	if (plannedstmt->commandType != CMD_SELECT || plannedstmt->hasModifyingCTE)
	{
		if (!ag_internal_changes_underway() && ag_session_is_agent())
		{
			UnboundedPlan *unbounded;

			refuse_protected_writes(plannedstmt);
			guarded = ag_mode != AG_MODE_OFF &&
				counted_command(plannedstmt->commandType, plannedstmt->hasModifyingCTE) &&
				(eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0;
			if (guarded && (unbounded = unbounded_plan_of(queryDesc)) != NULL)
				confirmed = ag_guard(unbounded->statement, unbounded->reason) != AG_ALLOW;
		}
	}

	if (prev_executor_start)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	if (guarded)
		start_counting(queryDesc, confirmed);
}

static void
agentguard_executor_finish(QueryDesc *queryDesc)
{
	if (prev_executor_finish)
		prev_executor_finish(queryDesc);
	else
		standard_ExecutorFinish(queryDesc);

	/* cascades and AFTER triggers have run now */
	if (frames != NIL && find_frame(queryDesc) != NULL)
		check_rows();
}

static void
agentguard_executor_end(QueryDesc *queryDesc)
{
	Frame	   *frame = frames != NIL ? find_frame(queryDesc) : NULL;

	if (frame)
	{
		/* the rows it changed stay part of the statement that caused it */
		if (frame->counts_processed && queryDesc->estate)
			rows_finished += queryDesc->estate->es_processed;
		rows_finished += frame->uncounted;
		while (llast(frames) != frame)
			frames = list_delete_last(frames);
		frames = list_delete_last(frames);
	}

	if (prev_executor_end)
		prev_executor_end(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

static void
forget_frames(XactEvent event, void *arg pg_attribute_unused())
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PREPARE || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PARALLEL_ABORT)
	{
		frames = NIL;
		rows_finished = 0;
		limit_lifted = false;
		statement_of_record = NULL;
	}
}

/* rows changed in a subtransaction that rolled back were never changed */
static void
forget_aborted_frames(SubXactEvent event, SubTransactionId mySubid,
					  SubTransactionId parentSubid pg_attribute_unused(),
					  void *arg pg_attribute_unused())
{
	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	while (frames != NIL && ((Frame *) llast(frames))->subxid >= mySubid)
		frames = list_delete_last(frames);
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
	RegisterXactCallback(forget_frames, NULL);
	RegisterSubXactCallback(forget_aborted_frames, NULL);
}
