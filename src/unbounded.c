/*
 * unbounded.c
 *		DELETE, UPDATE and MERGE whose WHERE clause (or join condition) is
 *		missing, always true, or does not look at the rows it changes.
 *
 * The rule is judged on the query tree when the statement is planned, after
 * the rewriter has expanded views and rules.  What it finds is written into
 * the plan: the ModifyTable's source of rows gets a Result node above it
 * whose one-time filter is a constant that names the reason.  A plan carries
 * its own verdict wherever it is cached or copied, and nothing outside it
 * has to remember which plans were unbounded: no cache can forget one.
 * The filter is always true; the executor hook (dml.c) recognises the node
 * and holds such a statement to one changed row without a confirmation.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "compat.h"
#include "unbounded.h"

/* the start of the marker's text, which no folded user constant keeps */
#define MARKER_PREFIX "agentguard: "

typedef struct Unbounded
{
	CmdType		command;
	Oid			target;
	const char *reason;
} Unbounded;

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

/*
 * The usual "id = $1" or "id = 42": a column of the target against a value.
 * It looks at the rows it changes and is not x = x, so neither walk below
 * is needed to know that.
 */
static bool
compares_a_column(Query *query, Node *condition)
{
	OpExpr	   *op;
	Node	   *left;
	Node	   *right;

	if (!IsA(condition, OpExpr) || list_length(((OpExpr *) condition)->args) != 2)
		return false;
	op = (OpExpr *) condition;
	left = strip_relabel(linitial(op->args));
	right = strip_relabel(lsecond(op->args));
	return IsA(left, Var) && ((Var *) left)->varlevelsup == 0 &&
		(int) ((Var *) left)->varno == query->resultRelation &&
		(IsA(right, Const) || IsA(right, Param));
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
 * Why the DELETE, UPDATE or MERGE query would change every row of its
 * target, or NULL.
 */
static const char *
unbounded_reason(Query *query)
{
	Node	   *condition;

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
		return "it has no WHERE clause";
	if (compares_a_column(query, condition))
		return NULL;
	if (always_true(query, condition))
		return query->commandType == CMD_MERGE ?
			"its join condition is always true" : "its WHERE clause is always true";
	if (target_is_table(query) && !looks_at_relation(condition, query->resultRelation))
		return query->commandType == CMD_MERGE ?
			"its join condition does not look at the target's rows" :
			"its WHERE clause does not look at the rows it changes";
	return NULL;
}

List *
ag_unbounded_find(Query *query)
{
	List	   *found = NIL;
	ListCell   *lc;
	const char *reason;

	foreach(lc, query->cteList)
	{
		CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);

		if (IsA(cte->ctequery, Query))
			found = list_concat(found, ag_unbounded_find((Query *) cte->ctequery));
	}
	if (query->resultRelation > 0 && (reason = unbounded_reason(query)) != NULL)
	{
		Unbounded  *u = palloc(sizeof(Unbounded));

		u->command = query->commandType;
		u->target = rt_fetch(query->resultRelation, query->rtable)->relid;
		u->reason = reason;
		found = lappend(found, u);
	}
	return found;
}

static bool
is_marker(Node *qual)
{
	NullTest   *test;
	Const	   *c;

	if (qual == NULL || !IsA(qual, List) || list_length((List *) qual) != 1)
		return false;
	test = (NullTest *) linitial((List *) qual);
	if (!IsA(test, NullTest) || test->nulltesttype != IS_NOT_NULL || !IsA(test->arg, Const))
		return false;
	c = (Const *) test->arg;
	return c->consttype == TEXTOID && !c->constisnull &&
		VARSIZE_ANY_EXHDR(DatumGetPointer(c->constvalue)) >= strlen(MARKER_PREFIX) &&
		memcmp(VARDATA_ANY(DatumGetPointer(c->constvalue)), MARKER_PREFIX, strlen(MARKER_PREFIX)) == 0;
}

const char *
ag_unbounded_reason(Plan *source)
{
	Const	   *c;

	if (source == NULL || !IsA(source, Result) || !is_marker(((Result *) source)->resconstantqual))
		return NULL;
	c = (Const *) ((NullTest *) linitial((List *) ((Result *) source)->resconstantqual))->arg;
	return TextDatumGetCString(c->constvalue) + strlen(MARKER_PREFIX);
}

/* a Result above source, passing its rows through unchanged */
static Plan *
marked_source(Plan *source, const char *reason, int plan_node_id)
{
	Result	   *gate = makeNode(Result);
	NullTest   *marker = makeNode(NullTest);
	ListCell   *lc;

	/* the costs, widths and flags of what it passes through */
	memcpy(&gate->plan, source, sizeof(Plan));
	gate->plan.type = T_Result;
	gate->plan.plan_node_id = plan_node_id;
	gate->plan.targetlist = NIL;
	gate->plan.qual = NIL;
	gate->plan.initPlan = NIL;
	gate->plan.extParam = bms_copy(source->extParam);
	gate->plan.allParam = bms_copy(source->allParam);
	gate->plan.lefttree = source;
	gate->plan.righttree = NULL;
	foreach(lc, source->targetlist)
	{
		TargetEntry *te = lfirst_node(TargetEntry, lc);

		gate->plan.targetlist = lappend(gate->plan.targetlist,
										makeTargetEntry((Expr *) makeVarFromTargetEntry(OUTER_VAR, te),
														te->resno, te->resname, te->resjunk));
	}
	marker->arg = (Expr *) makeConst(TEXTOID, -1, InvalidOid, -1,
									 CStringGetTextDatum(psprintf(MARKER_PREFIX "%s", reason)),
									 false, false);
	marker->nulltesttype = IS_NOT_NULL;
	marker->location = -1;
	gate->resconstantqual = (Node *) list_make1(marker);
	return (Plan *) gate;
}

typedef struct MarkContext
{
	PlannedStmt *plan;
	List	   *unbounded;
	int			next_node_id;
} MarkContext;

static void
mark_node(Plan *node, MarkContext *context)
{
	ModifyTable *mt;
	ListCell   *lc;

	if (node == NULL || !IsA(node, ModifyTable))
		return;
	mt = (ModifyTable *) node;
	foreach(lc, context->unbounded)
	{
		Unbounded  *u = lfirst(lc);

		if (u->command == mt->operation &&
			u->target == rt_fetch(mt->nominalRelation, context->plan->rtable)->relid &&
			!ag_unbounded_reason(outerPlan(node)))
		{
			outerPlan(node) = marked_source(outerPlan(node), u->reason, context->next_node_id++);
			return;
		}
	}
}

static int	max_node_id(Plan *node);

static int
max_node_id_of(List *plans)
{
	int			id = 0;
	ListCell   *lc;

	foreach(lc, plans)
		id = Max(id, max_node_id(lfirst(lc)));
	return id;
}

/* the highest plan node id in use, so that the new node's is unique */
static int
max_node_id(Plan *node)
{
	int			id;

	if (node == NULL)
		return 0;
	id = Max(node->plan_node_id, Max(max_node_id(node->lefttree), max_node_id(node->righttree)));
	switch (nodeTag(node))
	{
		case T_Append:
			return Max(id, max_node_id_of(((Append *) node)->appendplans));
		case T_MergeAppend:
			return Max(id, max_node_id_of(((MergeAppend *) node)->mergeplans));
		case T_BitmapAnd:
			return Max(id, max_node_id_of(((BitmapAnd *) node)->bitmapplans));
		case T_BitmapOr:
			return Max(id, max_node_id_of(((BitmapOr *) node)->bitmapplans));
		case T_SubqueryScan:
			return Max(id, max_node_id(((SubqueryScan *) node)->subplan));
		case T_CustomScan:
			return Max(id, max_node_id_of(((CustomScan *) node)->custom_plans));
		default:
			return id;
	}
}

/*
 * Mark the ModifyTable nodes of the unbounded statements: the plan's own
 * and those of its data-modifying CTEs, which are subplans.
 */
void
ag_unbounded_mark(PlannedStmt *plan, List *unbounded)
{
	MarkContext context = {plan, unbounded, 0};
	ListCell   *lc;

	context.next_node_id = Max(max_node_id(plan->planTree), max_node_id_of(plan->subplans)) + 1;
	mark_node(plan->planTree, &context);
	foreach(lc, plan->subplans)
		mark_node(lfirst(lc), &context);
}
