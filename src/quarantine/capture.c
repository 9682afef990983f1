/*
 * quarantine/capture.c
 *		Learning what a DROP, TRUNCATE or ALTER TABLE ... DROP COLUMN would
 *		take with it, by letting the server do it once and rolling it back.
 *
 * That gives exactly the server's own answer to "would this fail without
 * CASCADE?" and "what does CASCADE reach?", permission checks included:
 * the object-access hook sees every object the statement drops (OAT_DROP)
 * and every relation it truncates (OAT_TRUNCATE), in the order the server
 * takes them.  Nothing the statement did survives the rollback; other
 * extensions' hooks and a DBA's event triggers do see the attempt.
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "capture.h"

static List *captured = NIL;
static bool capturing = false;

/*
 * The caller's context: it outlives the subtransaction whose memory goes at
 * rollback, and goes itself with the statement that asked.
 */
static MemoryContext capture_context = NULL;

bool
ag_capture_active(void)
{
	return capturing;
}

void
ag_capture_note(Oid classId, Oid objectId, int32 subId)
{
	MemoryContext old = MemoryContextSwitchTo(capture_context);
	ObjectAddress *address = palloc(sizeof(ObjectAddress));

	ObjectAddressSubSet(*address, classId, objectId, subId);
	captured = lappend(captured, address);
	MemoryContextSwitchTo(old);
}

bool
ag_capture(AgUtilityRunner run, void *run_arg, bool quiet, List **result)
{
	MemoryContext caller = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool failed = false;

	*result = NIL;
	captured = NIL;
	capture_context = caller;
	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		/* the subtransaction's rollback puts the setting back */
		if (quiet)
			(void) set_config_option("client_min_messages", "warning", PGC_USERSET,
									 PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);
		capturing = true;
		run(run_arg);
		capturing = false;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		capturing = false;
		MemoryContextSwitchTo(caller);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller);
		CurrentResourceOwner = owner;
		captured = NIL;
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
			ReThrowError(edata);
		FreeErrorData(edata);
		failed = true;
	}
	PG_END_TRY();
	if (failed)
		return false;
	RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(caller);
	CurrentResourceOwner = owner;

	*result = captured;
	captured = NIL;
	return true;
}
