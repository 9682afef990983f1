/*
 * count.c
 *		How many rows an agent session's DELETE, UPDATE, MERGE and upsert
 *		change, with what cascades and triggers change for it, in which
 *		tables; when that needs a confirmation, and what one allows.
 *
 * Every counted statement is a frame on a stack (ag_xact.frames); a
 * statement and the frames nested in it share a scope, which is what one
 * confirmation covers.  The row source of each ModifyTable is wrapped, so
 * that every row is judged before the next is fetched.  A statement whose
 * WHERE clause is missing or always true (unbounded.c marks it in its plan)
 * may change one row; any statement, agentguard.max_rows.  Past that it
 * needs a confirmation; without one it goes on only counting, and is
 * refused when it ends, its request showing how many rows it changed.
 * Rows of temporary tables, tables made in this transaction and scratch
 * tables are the agent's own and never count.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_class.h"
#include "executor/executor.h"
#include "nodes/nodeFuncs.h"
#include "parser/parsetree.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "count.h"
#include "guard.h"
#include "owner.h"
#include "quarantine.h"
#include "request.h"
#include "scratch.h"
#include "settings.h"
#include "unbounded.h"
#include "waiting.h"
#include "xact.h"

/*
 * A refused statement is counted up to this many rows (or ten times
 * agentguard.max_rows, if that is more), so that the request can say how
 * many it changes without running an enormous statement to its end.
 */
#define COUNT_BOUND_MIN		100000

typedef struct Frame Frame;

/*
 * What an ended frame changed, kept by the frame or scope it belonged to
 * until the subtransaction it ran in rolls back, when it was never changed.
 */
typedef struct Ended
{
	AgXactItem	item;			/* the subtransaction it ended in */
	void	   *holder;			/* the Frame, or the trigger scope, it counts for */
	uint64		rows;
	List	   *tables;
} Ended;

typedef enum ScopeState
{
	SCOPE_LIMITED,				/* max_rows and the one-row rule hold */
	SCOPE_APPROVED,				/* a used confirmation's limits hold */
	SCOPE_COUNTING,				/* refused: counting for the request */
	SCOPE_OBSERVED				/* observe mode or a rehearsal: counting for
								 * the warning or the record */
} ScopeState;

/*
 * What one approval covers: a statement, with every frame nested in it
 * that has no scope of its own.
 */
typedef struct AgCountScope
{
	Frame	   *owner;			/* the statement a request names, or NULL */
	ScopeState	state;
	const char *reason;			/* why it needs a confirmation */
	bool		over_limit;		/* the reason is a limit its rows passed */
	char	   *why_not;		/* why no waiting confirmation covered it */
	bool		reported;
	AgApproval	approval;

	/*
	 * At least as many as the rows it changed: every row fetched by a node
	 * that counts.  While it is small nothing is summed up; PG_UINT64_MAX
	 * when it is not known.
	 */
	uint64		bound;

	/*
	 * The rows its statements change, noted while a confirmation may come
	 * to cover them, for the quarantine to keep (quarantine.h); NULL when
	 * none will be kept.
	 */
	AgKeptRows *kept;
	bool		unnoted;		/* no confirmation could come when it began */
	char	   *code;			/* the request code its confirmation approved */
} Scope;

/*
 * Triggers fired outside any counted statement (deferred ones at COMMIT,
 * those of COPY or TRUNCATE) change rows for the top-level statement that
 * fired them: all they change counts together, from the start of it
 * (ag_xact.trigger_scope).  A confirmation's limits never reach them: its
 * scope ended with its run.
 */

/*
 * Whether the rows a ModifyTable changes are the agent's own: every table it
 * may change is temporary, was created in this transaction, or is scratch.
 * The first two are read from the open relations when it starts; the
 * scratch label only when its rows would otherwise need a confirmation.
 */
typedef enum Exemption
{
	EXEMPTION_UNKNOWN,			/* not temporary or new: scratch not yet asked */
	EXEMPT,
	NOT_EXEMPT
} Exemption;

/* a ModifyTable's source of rows, wrapped to count them */
typedef struct CountedNode
{
	PlanState  *node;
	ModifyTableState *modify;
	ExecProcNodeMtd original;
	CmdType		operation;
	Oid			relid;			/* the table it changes */
	const char *unbounded;		/* why it reaches every row, or NULL */
	bool		counts_itself;	/* its rows are not in es_processed */
	bool		keeps;			/* its rows are named by source, to be kept */
	AgRowSource source;
	Exemption	exemption;
	uint64		fetched;
} CountedNode;

/* one running DELETE, UPDATE, MERGE or INSERT of an agent session */
struct Frame
{
	AgXactItem	item;			/* the subtransaction it started in */
	QueryDesc  *queryDesc;
	Frame	   *parent;
	Scope	   *scope;
	bool		counts_processed;	/* es_processed counts changed rows */
	bool		noting;			/* a confirmation could come: rows are noted */
	List	   *nodes;			/* CountedNode */
	List	   *tables;			/* OIDs of tables it changed rows in */

	/*
	 * Its own scope, when it has one, and the first node it counts: made
	 * with the frame, which lives as long as they do (to the transaction's
	 * end), so that a counted statement costs one allocation, not three.
	 */
	Scope		own_scope;
	CountedNode first_node;
};


static uint64
count_bound(void)
{
	return Max((uint64) COUNT_BOUND_MIN, (uint64) ag_max_rows * 10);
}

/* the rows ended statements changed for a frame, or for the trigger scope */
static uint64
ended_rows(void *holder)
{
	uint64		rows = 0;
	ListCell   *lc;

	foreach(lc, ag_xact.ended)
		if (((Ended *) lfirst(lc))->holder == holder)
			rows += ((Ended *) lfirst(lc))->rows;
	return rows;
}

static List *
ended_tables(List *tables, void *holder)
{
	ListCell   *lc;

	foreach(lc, ag_xact.ended)
		if (((Ended *) lfirst(lc))->holder == holder)
			tables = list_concat_unique_oid(tables, ((Ended *) lfirst(lc))->tables);
	return tables;
}

/* the frame's own tables and those of ended frames nested in it */
static List *
frame_tables(Frame *frame)
{
	return ended_tables(list_copy(frame->tables), frame);
}

static uint64
node_rows(Frame *frame, CountedNode *counted)
{
	if (counted->counts_itself || !frame->counts_processed || !frame->queryDesc->estate)
		return counted->fetched;
	return frame->queryDesc->estate->es_processed;
}

/*
 * Does every table the node may change hold only the agent's own rows?
 * Asked of the scratch label once per node, and only when its rows count.
 */
static bool
node_exempt(CountedNode *counted)
{
	if (counted->exemption == EXEMPTION_UNKNOWN)
	{
		counted->exemption = EXEMPT;
		for (int i = 0; i < counted->modify->mt_nrels; i++)
			if (!ag_table_is_scratch(RelationGetRelid(counted->modify->resultRelInfo[i].ri_RelationDesc)))
			{
				counted->exemption = NOT_EXEMPT;
				break;
			}
	}
	return counted->exemption == EXEMPT;
}

/*
 * The rows the frame changed that count: a plain INSERT's own rows never
 * do, an exempt node's neither.  Nodes not yet asked about the scratch
 * label count unless resolve says to ask now.
 */
static uint64
frame_rows_resolved(Frame *frame, bool resolve)
{
	uint64		rows = ended_rows(frame);
	ListCell   *lc;

	foreach(lc, frame->nodes)
	{
		CountedNode *counted = lfirst(lc);
		uint64		changed = node_rows(frame, counted);

		if (changed == 0 || counted->exemption == EXEMPT ||
			(resolve && node_exempt(counted)))
			continue;
		rows += changed;
	}
	return rows;
}

static uint64
scope_rows_resolved(Scope *scope, bool resolve)
{
	uint64		rows = ended_rows(scope);
	ListCell   *lc;

	foreach(lc, ag_xact.frames)
	{
		Frame	   *frame = lfirst(lc);

		if (frame->scope == scope)
			rows += frame_rows_resolved(frame, resolve);
	}
	return rows;
}

/* cheap, counting nodes whose label was not yet asked for */
static uint64
scope_rows(Scope *scope)
{
	return scope_rows_resolved(scope, false);
}

/* exact: the rows of scratch tables left out */
static uint64
scope_changed_rows(Scope *scope)
{
	return scope_rows_resolved(scope, true);
}

static List *
scope_tables(Scope *scope)
{
	List	   *tables = NIL;
	ListCell   *lc;

	/* the statement's own tables first, as the request names them */
	if (scope->owner)
		foreach(lc, scope->owner->nodes)
		{
			CountedNode *counted = lfirst(lc);

			if (counted->exemption != EXEMPT)
				tables = list_append_unique_oid(tables, counted->relid);
		}
	tables = ended_tables(tables, scope);
	foreach(lc, ag_xact.frames)
	{
		Frame	   *frame = lfirst(lc);

		if (frame->scope == scope)
			tables = ended_tables(list_concat_unique_oid(tables, frame->tables), frame);
	}
	return tables;
}

static char *
relation_identity(Oid relid)
{
	ObjectAddress address;

	ObjectAddressSet(address, RelationRelationId, relid);
	return getObjectIdentity(&address, false);
}

/* the request for a frame's statement, counted or not */
static AgStatement *
frame_statement(Frame *frame, bool counted)
{
	QueryDesc  *queryDesc = frame->queryDesc;
	PlannedStmt *plan = queryDesc->plannedstmt;
	AgStatement *statement = palloc0(sizeof(AgStatement));
	List	   *tables;
	ListCell   *lc;

	ag_statement_text(queryDesc->sourceText, plan->stmt_location, plan->stmt_len,
					  &statement->text, &statement->textlen);
	statement->action = GetCommandTagName(CreateCommandTag((Node *) plan));
	statement->verb = ag_dml_verb(plan->commandType);
	/* a SELECT or INSERT whose CTE deletes says what the CTE does */
	if (statement->verb == NULL && frame->nodes != NIL)
		statement->verb = ag_dml_verb(((CountedNode *) linitial(frame->nodes))->operation);
	/* a temporary or new table is another one at every run: none binds */
	tables = counted ? scope_tables(frame->scope) : NIL;
	foreach(lc, frame->nodes)
	{
		CountedNode *node = lfirst(lc);
		ObjectAddress address;

		if (node->exemption == EXEMPT)
			continue;
		ObjectAddressSet(address, RelationRelationId, node->relid);
		ag_statement_add_object(statement, &address);
		if (!counted)
			tables = list_append_unique_oid(tables, node->relid);
	}
	statement->params = ag_dml_params(queryDesc->params);
	foreach(lc, tables)
		statement->targets = lappend(statement->targets, relation_identity(lfirst_oid(lc)));
	if (counted)
	{
		uint64		rows = scope_changed_rows(frame->scope);

		statement->counted = true;
		statement->rows_more = rows > count_bound();
		statement->rows = statement->rows_more ? count_bound() : rows;
		statement->tables = tables;
	}
	return statement;
}

/* the scope's rows will not be kept: it is refused, observed or unconfirmed */
static void
forget_kept(Scope *scope)
{
	if (scope->kept)
		ag_kept_rows_forget(scope->kept);
	scope->kept = NULL;
}

/* the frame and every frame nested in it move into a scope of its own */
static Scope *
own_scope(Frame *frame)
{
	Scope	   *old = frame->scope;
	Scope	   *scope;
	bool		inside = false;
	ListCell   *lc;

	if (old && old->owner == frame)
		return old;
	/* a frame's own scope, once it has one, stays its scope */
	Assert(frame->own_scope.owner == NULL);
	scope = &frame->own_scope;
	scope->owner = frame;
	scope->state = SCOPE_LIMITED;
	/* frames that already fetched rows bring them along, uncounted */
	scope->bound = old ? PG_UINT64_MAX : 0;
	if (ag_quarantine_drops != AG_QUARANTINE_OFF && frame->queryDesc->estate != NULL)
	{
		if (frame->noting)
			scope->kept = ag_kept_rows_start(frame->queryDesc->estate->es_output_cid, count_bound());
		else
			scope->unnoted = true;
	}
	foreach(lc, ag_xact.frames)
	{
		Frame	   *f = lfirst(lc);

		inside = inside || f == frame;
		if (inside && f->scope == old)
			f->scope = scope;
	}
	return scope;
}

/* report what a refused (or observed) statement changed */
static void
report(Scope *scope, Frame *frame)
{
	AgStatement *statement = frame_statement(scope->owner ? scope->owner : frame, true);
	char	   *count = psprintf("%s" UINT64_FORMAT, statement->rows_more ? "more than " : "",
								 statement->rows);

	scope->reported = true;
	ag_guard_report(statement,
					scope->over_limit ?
					psprintf("it changes %s rows, more than %s", count, scope->reason) :
					psprintf("%s; it changes %s rows", scope->reason, count),
					scope->why_not);
}

/*
 * The frame's statement needs a confirmation.  One that waits is used and
 * its limits hold from now on; without one, the statement is counted and
 * refused when it ends.
 */
static void
need_confirmation(Frame *frame, const char *reason, bool over_limit)
{
	/* what triggers change outside a statement stays together */
	Scope	   *scope = frame->scope == ag_xact.trigger_scope ? frame->scope : own_scope(frame);
	AgStatement *statement = frame_statement(frame, false);
	AgApproval	approval;
	char	   *why_not = NULL;
	MemoryContext old;

	if (ag_mode == AG_MODE_ENFORCE &&
		ag_guard_use_confirmation(statement, &approval, &why_not))
	{
		old = MemoryContextSwitchTo(ag_xact_context());
		scope->approval = approval;
		scope->approval.tables = list_copy(approval.tables);
		scope->code = pstrdup(statement->code);
		MemoryContextSwitchTo(old);
		scope->state = SCOPE_APPROVED;
		if (scope->kept)
			ag_kept_rows_confirmed(scope->kept);
		else if (scope->unnoted)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("agentguard: cannot keep the rows this statement changes: its confirmation was made after the statement started"),
					 errdetail("A statement notes the rows it changes only while a confirmation waits; nothing was changed, and the confirmation was not used."),
					 errhint("Run the statement again.")));
		return;
	}
	forget_kept(scope);
	/* the one-row rule says what stopped the statement */
	if (why_not == NULL && !over_limit)
		why_not = "Without a WHERE clause, or with one that is always true, an agent session's statement may change one row; a second one stops it, and everything it did is rolled back.";
	old = MemoryContextSwitchTo(ag_xact_context());
	scope->reason = pstrdup(reason);
	scope->over_limit = over_limit;
	scope->why_not = why_not ? pstrdup(why_not) : NULL;
	MemoryContextSwitchTo(old);
	/* a rehearsal, like observe mode, lets it run and reports it at its end */
	scope->state = ag_mode == AG_MODE_OBSERVE || ag_xact.rehearsing ?
		SCOPE_OBSERVED : SCOPE_COUNTING;
}

/*
 * A confirmed statement doing more than its request showed is refused as
 * if it had none; its use of the confirmation rolls back with it.
 */
static void
beyond_approval(Scope *scope, const char *reason, bool over_limit)
{
	MemoryContext old = MemoryContextSwitchTo(ag_xact_context());

	forget_kept(scope);
	scope->state = SCOPE_COUNTING;
	scope->reason = pstrdup(reason);
	scope->over_limit = over_limit;
	scope->why_not = pstrdup("Its confirmation covers what the statement did when it was refused, and it now does more.");
	MemoryContextSwitchTo(old);
}

static void check_frame(Frame *frame);

/* are the frame's rows so far within what its scope allows? */
static pg_noinline void
check_frame_fully(Frame *frame)
{
	Scope	   *scope = frame->scope;
	ListCell   *lc;

	switch (scope->state)
	{
		case SCOPE_LIMITED:
			foreach(lc, frame->nodes)
			{
				CountedNode *counted = lfirst(lc);

				if (counted->unbounded && node_rows(frame, counted) > 1 &&
					!node_exempt(counted))
				{
					need_confirmation(frame, counted->unbounded, false);
					check_frame(frame);
					return;
				}
			}
			if (ag_max_rows > 0 && scope->bound > (uint64) ag_max_rows &&
				scope_rows(scope) > (uint64) ag_max_rows &&
				scope_changed_rows(scope) > (uint64) ag_max_rows)
			{
				need_confirmation(scope->owner ? scope->owner : frame,
								  psprintf("agentguard.max_rows (%d)", ag_max_rows), true);
				check_frame(frame);
			}
			break;
		case SCOPE_APPROVED:
			if (scope->approval.limits_rows && scope->bound > scope->approval.rows &&
				scope_rows(scope) > scope->approval.rows &&
				scope_changed_rows(scope) > scope->approval.rows)
				beyond_approval(scope, psprintf("the " UINT64_FORMAT " its confirmation allows",
												scope->approval.rows), true);
			break;
		case SCOPE_COUNTING:
			if (!scope->reported && scope->bound > count_bound() &&
				scope_rows(scope) > count_bound())
				report(scope, frame);
			break;
		case SCOPE_OBSERVED:
			break;
	}
}

/*
 * Asked before every row a counted node fetches: the first row of a limited
 * scope passes neither the one-row rule nor a limit, and leaves at once.
 */
static inline void
check_frame(Frame *frame)
{
	if (likely(frame->scope->state == SCOPE_LIMITED && frame->scope->bound <= 1))
		return;
	check_frame_fully(frame);
}

static CountedNode *
find_counted(PlanState *node, Frame **owner)
{
	ListCell   *lc;
	ListCell   *nc;

	foreach(lc, ag_xact.frames)
	{
		Frame	   *frame = lfirst(lc);

		foreach(nc, frame->nodes)
		{
			CountedNode *counted = lfirst(nc);

			if (counted->node == node)
			{
				*owner = frame;
				return counted;
			}
		}
	}
	elog(ERROR, "agentguard: a counted plan node was lost");
	pg_unreachable();
}

/* the first row a node changes in a table its scope's approval does not name */
static void
reach_table(Frame *frame, CountedNode *counted)
{
	Scope	   *scope = frame->scope;
	MemoryContext old;

	if (list_member_oid(frame->tables, counted->relid))
		return;
	old = MemoryContextSwitchTo(ag_xact_context());
	frame->tables = lappend_oid(frame->tables, counted->relid);
	MemoryContextSwitchTo(old);
	if (scope->state == SCOPE_APPROVED && scope->approval.limits_rows &&
		!list_member_oid(scope->approval.tables, counted->relid))
		beyond_approval(scope, psprintf("it changes rows in %s, which its confirmation does not name",
										relation_identity(counted->relid)), false);
}

static TupleTableSlot *
counting_exec_proc_node(PlanState *node)
{
	Frame	   *frame;
	CountedNode *counted = find_counted(node, &frame);
	TupleTableSlot *slot;

	/* every row fetched so far has been changed: judge them before the next */
	check_frame(frame);
	slot = counted->original(node);
	if (!TupIsNull(slot))
	{
		counted->fetched++;
		if (counted->exemption != EXEMPT)
		{
			if (frame->scope->bound < PG_UINT64_MAX)
				frame->scope->bound++;
			reach_table(frame, counted);
			if (frame->scope->kept && counted->keeps)
				ag_kept_rows_note(frame->scope->kept, &counted->source, slot);
		}
	}
	return slot;
}

/*
 * Every table the ModifyTable may change is temporary or was created in this
 * transaction: it holds no row anyone else wrote.  A new parent of an old
 * table does not pass: the old one is among the tables it changes.
 */
static bool
own_rows(ModifyTableState *mt)
{
	for (int i = 0; i < mt->mt_nrels; i++)
	{
		Relation	rel = mt->resultRelInfo[i].ri_RelationDesc;

		if (rel->rd_rel->relpersistence != RELPERSISTENCE_TEMP &&
			rel->rd_createSubid == InvalidSubTransactionId)
			return false;
	}
	return true;
}

/* wrap the row source of a ModifyTable that deletes, updates, merges or upserts */
static void
wrap_modify_table(ModifyTableState *mt, Frame *frame)
{
	ModifyTable *plan = (ModifyTable *) mt->ps.plan;
	PlanState  *source = outerPlanState(mt);
	MemoryContext old;
	CountedNode *counted;

	/* an upsert counts like an UPDATE of every row it reaches */
	if (source == NULL ||
		!(mt->operation == CMD_DELETE || mt->operation == CMD_UPDATE || mt->operation == CMD_MERGE ||
		  (mt->operation == CMD_INSERT && plan->onConflictAction == ONCONFLICT_UPDATE)))
		return;
	old = MemoryContextSwitchTo(ag_xact_context());
	counted = frame->nodes == NIL ? &frame->first_node : palloc0(sizeof(CountedNode));
	counted->node = source;
	counted->modify = mt;
	counted->exemption = own_rows(mt) ? EXEMPT : EXEMPTION_UNKNOWN;
	counted->original = source->ExecProcNodeReal;
	counted->operation = mt->operation;
	counted->relid = rt_fetch(plan->nominalRelation, mt->ps.state->es_range_table)->relid;
	counted->unbounded = ag_unbounded_reason(source->plan);
	counted->counts_itself = !mt->canSetTag;
	counted->keeps = frame->noting && counted->exemption != EXEMPT &&
		ag_row_source(mt, &counted->source);
	frame->nodes = lappend(frame->nodes, counted);
	MemoryContextSwitchTo(old);
	source->ExecProcNodeReal = counting_exec_proc_node;
}

static bool
wrap_modify_tables_walker(PlanState *planstate, void *context)
{
	if (planstate == NULL)
		return false;
	if (IsA(planstate, ModifyTableState))
		wrap_modify_table((ModifyTableState *) planstate, context);
	return planstate_tree_walker(planstate, wrap_modify_tables_walker, context);
}

/*
 * Every ModifyTable of the plan.  One below the top lives in a subplan (a
 * data-modifying WITH), so a plan without subplans has at most the top one,
 * and the common case needs no walk.
 */
static void
wrap_modify_tables(QueryDesc *queryDesc, Frame *frame)
{
	if (queryDesc->plannedstmt->subplans == NIL)
	{
		if (IsA(queryDesc->planstate, ModifyTableState))
			wrap_modify_table((ModifyTableState *) queryDesc->planstate, frame);
	}
	else
		(void) wrap_modify_tables_walker(queryDesc->planstate, frame);
}

static Scope *
current_trigger_scope(void)
{
	if (ag_xact.trigger_scope == NULL ||
		ag_xact.trigger_statement != GetCurrentStatementStartTimestamp())
	{
		ag_xact.trigger_scope = MemoryContextAllocZero(ag_xact_context(), sizeof(Scope));
		ag_xact.trigger_scope->state = SCOPE_LIMITED;
		ag_xact.trigger_statement = GetCurrentStatementStartTimestamp();
	}
	return ag_xact.trigger_scope;
}

void
ag_count_start(QueryDesc *queryDesc)
{
	Frame	   *frame = ag_xact_item(sizeof(Frame));
	MemoryContext old;

	frame->queryDesc = queryDesc;
	frame->parent = ag_xact.frames != NIL ? llast(ag_xact.frames) : NULL;
	/* noting costs every statement: only where a confirmation could come */
	frame->noting = ag_quarantine_drops != AG_QUARANTINE_OFF && ag_confirmation_may_wait();
	wrap_modify_tables(queryDesc, frame);

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
			{
				ListCell   *lc;

				/* its own rows count only when they are an upsert's updates */
				foreach(lc, frame->nodes)
					if (!((CountedNode *) lfirst(lc))->counts_itself)
						frame->counts_processed = true;
				break;
			}
		default:
			frame->counts_processed = false;
			break;
	}
	old = MemoryContextSwitchTo(ag_xact_context());
	ag_xact.frames = lappend(ag_xact.frames, frame);
	MemoryContextSwitchTo(old);
	if (frame->parent)
		frame->scope = frame->parent->scope;
	else if (DatumGetInt32(DirectFunctionCall1(pg_trigger_depth, (Datum) 0)) > 0)
		frame->scope = current_trigger_scope();
	else
		frame->scope = own_scope(frame);
}

static Frame *
find_frame(QueryDesc *queryDesc)
{
	ListCell   *lc;

	foreach(lc, ag_xact.frames)
	{
		Frame	   *frame = lfirst(lc);

		if (frame->queryDesc == queryDesc)
			return frame;
	}
	return NULL;
}

/*
 * A confirmed statement's rows, as they were before it, go into quarantine;
 * any other's are forgotten.
 */
static void
keep_rows(Frame *frame)
{
	Scope	   *scope = frame->scope;
	AgKeptRows *kept = scope->kept;
	AgStatement *statement;

	scope->kept = NULL;
	if (scope->state != SCOPE_APPROVED || frame->nodes == NIL)
	{
		ag_kept_rows_forget(kept);
		return;
	}
	statement = frame_statement(frame, false);
	statement->code = scope->code;
	ag_kept_rows_keep(kept, statement, ((CountedNode *) linitial(frame->nodes))->relid);
}

/* the statement and what it caused (cascades, AFTER triggers) have run */
void
ag_count_finish(QueryDesc *queryDesc)
{
	Frame	   *frame = find_frame(queryDesc);

	if (frame != NULL)
	{
		check_frame(frame);
		if ((frame->scope->owner == frame ||
			 (frame->scope == ag_xact.trigger_scope && frame->parent == NULL)) &&
			!frame->scope->reported &&
			(frame->scope->state == SCOPE_COUNTING || frame->scope->state == SCOPE_OBSERVED))
			report(frame->scope, frame);
		if (frame->scope->owner == frame && frame->scope->kept)
			keep_rows(frame);
	}
}

/* the statement's frame leaves the stack, its rows kept where they count */
void
ag_count_end(QueryDesc *queryDesc)
{
	Frame	   *frame = find_frame(queryDesc);

	if (frame)
	{
		void	   *holder = NULL;

		/*
		 * What it changed stays part of the statement that caused it; what
		 * ended inside it is now part of what it changed.
		 */
		if (frame->parent && frame->parent->scope == frame->scope)
			holder = frame->parent;
		else if (frame->parent == NULL && frame->scope == ag_xact.trigger_scope)
			holder = frame->scope;
		if (holder)
		{
			Ended	   *ended = ag_xact_item(sizeof(Ended));
			MemoryContext old = MemoryContextSwitchTo(ag_xact_context());
			ListCell   *lc;

			ended->holder = holder;
			ended->rows = frame_rows_resolved(frame, true);
			ended->tables = frame_tables(frame);
			foreach(lc, ag_xact.ended)
				if (((Ended *) lfirst(lc))->holder == frame)
					ag_xact.ended = foreach_delete_current(ag_xact.ended, lc);
			ag_xact.ended = lappend(ag_xact.ended, ended);
			MemoryContextSwitchTo(old);
		}
		while (llast(ag_xact.frames) != frame)
			ag_xact.frames = list_delete_last(ag_xact.frames);
		ag_xact.frames = list_delete_last(ag_xact.frames);
	}
}
