/*
 * xact.c
 *		The one home of agentguard's per-transaction state.
 *
 * Everything in it lives in agentguard's transaction context, which the
 * end of the transaction resets; the callbacks drop the pointers, and drop
 * the items a rolled-back subtransaction added: rows it changed were never
 * changed, a confirmation it used was never used, objects it created were
 * never created.  An internal change never spans a subtransaction, so any
 * abort while one is raised is the abort of that change.
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/memutils.h"

#include "names.h"
#include "xact.h"

AgTransaction ag_xact;

static MemoryContext backend_context = NULL;

/*
 * A context of agentguard's own rather than TopTransactionContext: reset,
 * it keeps its first block, so an agent's statements (in single-statement
 * transactions too) do not pay a malloc and free each for what they count.
 */
static MemoryContext xact_context = NULL;

MemoryContext
ag_backend_context(void)
{
	if (backend_context == NULL)
		backend_context = AllocSetContextCreate(TopMemoryContext, AG_LIBRARY,
												ALLOCSET_SMALL_SIZES);
	return backend_context;
}

MemoryContext
ag_xact_context(void)
{
	ag_xact_needs_callbacks();
	if (xact_context == NULL)
		xact_context = AllocSetContextCreate(TopMemoryContext, AG_LIBRARY " transaction",
											 ALLOCSET_DEFAULT_SIZES);
	return xact_context;
}

void *
ag_xact_item(size_t size)
{
	AgXactItem *item = MemoryContextAllocZero(ag_xact_context(), size);

	Assert(size >= sizeof(AgXactItem));
	item->subxid = GetCurrentSubTransactionId();
	return item;
}

static List *
forget_items(List *items, SubTransactionId aborted)
{
	ListCell   *lc;

	foreach(lc, items)
		if (((AgXactItem *) lfirst(lc))->subxid >= aborted)
			items = foreach_delete_current(items, lc);
	return items;
}

static AgCommitCheck commit_check = NULL;

void
ag_xact_set_commit_check(AgCommitCheck check)
{
	commit_check = check;
}

static void
end_transaction(XactEvent event, void *arg pg_attribute_unused())
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			if (ag_xact.rehearsing && commit_check != NULL)
				commit_check();
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			/* inline for a struct this small: no memset call per transaction */
			MemSet(&ag_xact, 0, sizeof(ag_xact));
			if (xact_context != NULL)
				MemoryContextReset(xact_context);
			break;
		default:
			break;
	}
}

static void
end_subtransaction(SubXactEvent event, SubTransactionId mySubid,
				   SubTransactionId parentSubid pg_attribute_unused(),
				   void *arg pg_attribute_unused())
{
	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	ag_xact.internal_changes = 0;
	ag_xact.created = forget_items(ag_xact.created, mySubid);
	ag_xact.frames = forget_items(ag_xact.frames, mySubid);
	ag_xact.ended = forget_items(ag_xact.ended, mySubid);
	ag_xact.kept_nodes = forget_items(ag_xact.kept_nodes, mySubid);
	if (ag_xact.keeping && ((AgXactItem *) ag_xact.keeping)->subxid >= mySubid)
		ag_xact.keeping = NULL;
}

/*
 * The callbacks are registered the first time a transaction has anything
 * for them to reset (an item or allocation in agentguard's transaction
 * context, an internal change, a rehearsal, confirmations read), and stay:
 * a session that never has any, most sessions, pays nothing at the end of
 * its transactions.  What else waits for the first state (dml.c's hooks at
 * the end of a statement) is told then.
 */
bool		ag_xact_callbacks_registered = false;

static AgFirstState first_state = NULL;

void
ag_xact_set_first_state(AgFirstState hook)
{
	first_state = hook;
	if (ag_xact_callbacks_registered)
		first_state();
}

void
ag_xact_register_callbacks(void)
{
	RegisterXactCallback(end_transaction, NULL);
	RegisterSubXactCallback(end_subtransaction, NULL);
	ag_xact_callbacks_registered = true;
	if (first_state != NULL)
		first_state();
}

void
ag_xact_callbacks_first(void)
{
	ag_xact_needs_callbacks();
	UnregisterXactCallback(end_transaction, NULL);
	RegisterXactCallback(end_transaction, NULL);
}
