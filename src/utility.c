/*
 * utility.c
 *		The ProcessUtility hook and the object-access backstop: which
 *		utility statements of an agent session destroy what, and whether a
 *		confirmation covers exactly that.
 *
 * The ProcessUtility hook asks classify.c what a statement names and, for
 * DROP, TRUNCATE and DROP COLUMN, learns by a trial (capture.c) what it
 * takes along; the request binds all of it by identity.  The object-access
 * hook is the backstop: while the statement runs, every object it drops,
 * truncates or retypes must be one its request bound, or it is refused as
 * if it had none.  It also notes what a statement creates or alters, so
 * that no old object is left depending on a temporary one, which the end
 * of the session would drop without asking anyone.
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_largeobject.h"
#include "catalog/pg_namespace.h"
#include "commands/seclabel.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "tcop/cmdtag.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "capture.h"
#include "classify.h"
#include "guard.h"
#include "hooks.h"
#include "owner.h"
#include "policy.h"
#include "protect.h"
#include "reach.h"
#include "quarantine.h"
#include "rehearse.h"
#include "request.h"
#include "scratch.h"
#include "session.h"
#include "settings.h"

/*
 * One per utility statement of an agent session being run, innermost
 * first: the backstop needs the statement that caused a drop.
 */
typedef struct UtilityFrame
{
	Node	   *parsetree;
	const char *text;
	int			textlen;
	AgStatement *statement;		/* what it destroys, bound; NULL if nothing */
	List	   *retyped;		/* names of columns it changes the type of */
	bool		permitted;		/* observed or confirmed */
	List	   *touched;		/* ObjectAddress * it created or altered */
	MemoryContext memory;		/* lives as long as the statement */
	struct UtilityFrame *outer;
} UtilityFrame;

static UtilityFrame *current_frame = NULL;

static ProcessUtility_hook_type prev_utility_hook = NULL;
static object_access_hook_type prev_object_access_hook = NULL;

static void
call_next_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				  ProcessUtilityContext context, ParamListInfo params,
				  QueryEnvironment *queryEnv, DestReceiver *dest,
				  QueryCompletion *qc)
{
	if (prev_utility_hook)
		prev_utility_hook(pstmt, queryString, readOnlyTree, context, params,
						  queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

/* the arguments of a ProcessUtility call, for running it later */
typedef struct UtilityCall
{
	PlannedStmt *pstmt;
	const char *queryString;
	bool		readOnlyTree;
	ProcessUtilityContext context;
	ParamListInfo params;
	QueryEnvironment *queryEnv;
	DestReceiver *dest;
	QueryCompletion *qc;
} UtilityCall;

static void
run_utility_call(void *arg)
{
	UtilityCall *call = arg;

	call_next_utility(call->pstmt, call->queryString, call->readOnlyTree,
					  call->context, call->params, call->queryEnv, call->dest,
					  call->qc);
}

/*
 * Does a DROP of a session that is not an agent's, with quarantine_drops =
 * 'all', reach anything that should be kept?  Temporary objects, objects
 * created in this transaction and agentguard's own are dropped for real.
 */
static bool
drop_worth_keeping(DropStmt *drop)
{
	ListCell   *lc;

	foreach(lc, drop->objects)
	{
		ObjectAddress address;
		Oid			namespace;
		Relation	relation = NULL;

		if (drop->removeType == OBJECT_SCHEMA)
		{
			namespace = get_namespace_oid(strVal(lfirst(lc)), true);
			ObjectAddressSet(address, NamespaceRelationId, namespace);
		}
		else
		{
			/* the lock the drop itself takes next, so no upgrade can deadlock */
			address = get_object_address(drop->removeType, lfirst(lc), &relation,
										 AccessExclusiveLock, true);
			if (relation != NULL)
				relation_close(relation, NoLock);
			if (!OidIsValid(address.objectId))
				continue;
			namespace = ag_object_namespace(address.classId, address.objectId);
		}
		if (OidIsValid(address.objectId) && !ag_object_exempt(&address) &&
			!ag_namespace_protected(namespace))
			return true;
	}
	return false;
}

/* the same for the table an ALTER TABLE ... DROP COLUMN or ALTER COLUMN TYPE alters */
static bool
alter_worth_keeping(AlterTableStmt *alter)
{
	Oid			relid = RangeVarGetRelid(alter->relation, NoLock, true);
	ObjectAddress address;

	if (!OidIsValid(relid))
		return false;
	ObjectAddressSet(address, RelationRelationId, relid);
	return !ag_object_exempt(&address) && !ag_namespace_protected(get_rel_namespace(relid));
}

static bool
quarantined_kind(Node *parsetree)
{
	return IsA(parsetree, TruncateStmt) || IsA(parsetree, DropdbStmt) ||
		(IsA(parsetree, DropStmt) && ag_quarantine_covers((DropStmt *) parsetree)) ||
		(IsA(parsetree, AlterTableStmt) && ag_quarantine_covers_alter((AlterTableStmt *) parsetree));
}

/* keep what the statement destroys instead of running it */
static void
run_quarantined(Node *parsetree, AgStatement *statement, List *captured,
				UtilityCall *call)
{
	if (IsA(parsetree, TruncateStmt))
		ag_quarantine_truncate(statement, captured, run_utility_call, call);
	else if (IsA(parsetree, DropdbStmt))
	{
		if (!ag_quarantine_dropdb((DropdbStmt *) parsetree,
								  call->context == PROCESS_UTILITY_TOPLEVEL, statement))
			run_utility_call(call);
	}
	else if (IsA(parsetree, AlterTableStmt))
		ag_quarantine_alter_table(statement, captured, run_utility_call, call);
	else
		ag_quarantine_drop((DropStmt *) parsetree, statement, captured,
						   run_utility_call, call);
}

/* quarantine_drops = 'all': a DBA's DROP and TRUNCATE are kept too */
static void
run_for_others(Node *parsetree, UtilityCall *call)
{
	AgStatement statement = {0};
	List	   *captured = NIL;

	if (ag_quarantine_drops != AG_QUARANTINE_ALL || !quarantined_kind(parsetree) ||
		(IsA(parsetree, AlterTableStmt) && !alter_worth_keeping((AlterTableStmt *) parsetree)) ||
		(IsA(parsetree, DropStmt) && !drop_worth_keeping((DropStmt *) parsetree)))
	{
		run_utility_call(call);
		return;
	}
	statement.action = GetCommandTagName(CreateCommandTag(parsetree));
	ag_statement_text(call->queryString, call->pstmt->stmt_location, call->pstmt->stmt_len,
					  &statement.text, &statement.textlen);
	ag_request_code(&statement);
	/* what a change of type takes, its own columns, is known without a trial */
	if (IsA(parsetree, AlterTableStmt))
		statement.objects = ag_quarantine_retyped_columns((AlterTableStmt *) parsetree);
	/* a TRUNCATE or ALTER TABLE runs after its trial, a DROP does not: its notices show */
	if (!IsA(parsetree, DropdbStmt) &&
		(!IsA(parsetree, AlterTableStmt) || ag_quarantine_alter_drops((AlterTableStmt *) parsetree)) &&
		!ag_capture(run_utility_call, call, !IsA(parsetree, DropStmt), &captured))
	{
		/* it fails by itself: let it, with the server's own error */
		run_utility_call(call);
		return;
	}
	run_quarantined(parsetree, &statement, captured, call);
}

static bool
object_is_temporary(Oid classId, Oid objectId)
{
	Oid			namespace;

	if (classId == NamespaceRelationId)
		return isAnyTempNamespace(objectId);
	if (classId == RelationRelationId && get_rel_persistence(objectId) == RELPERSISTENCE_TEMP)
		return true;
	namespace = ag_object_namespace(classId, objectId);
	return OidIsValid(namespace) && isAnyTempNamespace(namespace);
}

/*
 * No old object may be left depending on a temporary one: when the session
 * ends (or at DISCARD TEMP) the temporary schema is dropped with CASCADE,
 * internally, and would take the old object with it, asked of no one.
 */
static void
refuse_temporary_dependencies(UtilityFrame *frame)
{
	Relation	depend;
	ListCell   *lc;

	if (frame->touched == NIL)
		return;
	depend = table_open(DependRelationId, AccessShareLock);
	foreach(lc, frame->touched)
	{
		ObjectAddress *object = lfirst(lc);
		ScanKeyData keys[2];
		SysScanDesc scan;
		HeapTuple	tuple;

		ScanKeyInit(&keys[0], Anum_pg_depend_classid, BTEqualStrategyNumber,
					F_OIDEQ, ObjectIdGetDatum(object->classId));
		ScanKeyInit(&keys[1], Anum_pg_depend_objid, BTEqualStrategyNumber,
					F_OIDEQ, ObjectIdGetDatum(object->objectId));
		scan = systable_beginscan(depend, DependDependerIndexId, true, NULL, 2, keys);
		while (HeapTupleIsValid(tuple = systable_getnext(scan)))
		{
			Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tuple);
			ObjectAddress referenced;

			/* rows of objects gone since were deleted with them */
			if (!object_is_temporary(dep->refclassid, dep->refobjid) ||
				object_is_temporary(object->classId, object->objectId))
				continue;
			ObjectAddressSubSet(referenced, dep->refclassid, dep->refobjid, dep->refobjsubid);
			ag_refuse_outright("make an object depend on a temporary one",
							   psprintf("%s would depend on %s, and the end of the session drops that with everything that depends on it.",
										getObjectDescription(object, false),
										getObjectDescription(&referenced, false)));
		}
		systable_endscan(scan);
	}
	table_close(depend, AccessShareLock);
}

static void
agentguard_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				   ProcessUtilityContext context, ParamListInfo params,
				   QueryEnvironment *queryEnv, DestReceiver *dest,
				   QueryCompletion *qc)
{
	UtilityFrame frame = {0};
	AgClassified classified;
	UtilityCall call = {pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc};
	List	   *volatile captured = NIL;
	const char *reason = NULL;
	AgVerdict	verdict = AG_ALLOW;
	volatile bool quarantine = false;

	/*
	 * agentguard's own statements on an agent's behalf are already judged,
	 * and what a trial runs is the statement being judged.
	 */
	if (ag_internal_changes_underway() || ag_capture_active())
	{
		run_utility_call(&call);
		return;
	}
	if (unlikely(ag_rehearsing()))
		ag_rehearse_utility(pstmt->utilityStmt, context);

	/* nothing a rehearsal destroys can last, so nothing is kept */
	if (ag_rehearsing() && !ag_session_is_agent())
	{
		run_utility_call(&call);
		return;
	}

	/*
	 * A label or membership granted since this transaction last took a lock
	 * must bind this statement, not only the ones after its next lock.
	 */
	AcceptInvalidationMessages();
	frame.parsetree = pstmt->utilityStmt;
	if (!ag_session_is_agent())
	{
		run_for_others(frame.parsetree, &call);
		return;
	}

	ag_statement_text(queryString, pstmt->stmt_location, pstmt->stmt_len,
					  &frame.text, &frame.textlen);
	frame.outer = current_frame;
	frame.memory = CurrentMemoryContext;

	/* what agents may never do holds in every mode, so off stays reversible */
	ag_policy_utility(frame.parsetree);
	if (ag_mode != AG_MODE_OFF)
	{
		ag_classify(frame.parsetree, frame.text, frame.textlen, &classified);
		if (classified.statement && classified.capture)
		{
			/*
			 * The trial's notices (what a CASCADE reaches) are shown when the
			 * statement will not run after it: a DROP that is refused, or is
			 * kept in quarantine instead.
			 */
			bool		quiet = !classified.protected || !IsA(frame.parsetree, DropStmt) ||
				!quarantined_kind(frame.parsetree);

			List	   *found;
			int			named = list_length(classified.statement->targets);

			/* a statement that fails by itself is judged by what it names */
			if (ag_capture(run_utility_call, &call, quiet, &found))
			{
				captured = found;
				ag_classify_add_captured(&classified, captured);
			}
			else if (IsA(frame.parsetree, DropOwnedStmt))
				classified.protected = classified.statement->targets != NIL;
			if (list_length(classified.statement->targets) > named &&
				(named > 0 || classified.statement->verb == NULL))
			{
				classified.statement->named = named;
				reason = psprintf("it would also %s %s",
								  IsA(frame.parsetree, TruncateStmt) ? "truncate" : "drop",
								  ag_join_targets(list_copy_tail(classified.statement->targets, named)));
			}
		}
		if (reason == NULL)
			reason = classified.reason;
		frame.statement = classified.statement;
		frame.retyped = classified.retyped;
		if (classified.statement && classified.protected)
			verdict = ag_guard(frame.statement, reason);
		frame.permitted = verdict != AG_ALLOW;
		quarantine = frame.permitted && verdict != AG_REHEARSED &&
			ag_quarantine_drops != AG_QUARANTINE_OFF && quarantined_kind(frame.parsetree);
	}

	current_frame = &frame;
	PG_TRY();
	{
		if (quarantine)
			run_quarantined(frame.parsetree, frame.statement, captured, &call);
		else
			run_utility_call(&call);
		refuse_temporary_dependencies(&frame);
	}
	PG_FINALLY();
	{
		current_frame = frame.outer;
	}
	PG_END_TRY();
}

/* is the object one the confirmed statement's request bound? */
static bool
statement_binds(const AgStatement *statement, const ObjectAddress *address)
{
	ListCell   *lc;

	if (statement == NULL)
		return false;
	foreach(lc, statement->objects)
	{
		ObjectAddress *bound = lfirst(lc);

		if (bound->classId == address->classId && bound->objectId == address->objectId &&
			bound->objectSubId == address->objectSubId)
			return true;
	}
	return false;
}

/* the statement of a frame, naming one more object it reaches */
static AgStatement *
statement_with(const UtilityFrame *frame, const ObjectAddress *address,
			   const char *identity, const char *action, const char *verb)
{
	AgStatement *statement = palloc0(sizeof(AgStatement));

	if (frame && frame->statement)
		*statement = *frame->statement;
	else if (frame)
	{
		/* a statement whose name does not say it destroys: DROP EXTENSION, say */
		statement->action = GetCommandTagName(CreateCommandTag(frame->parsetree));
		statement->text = frame->text;
		statement->textlen = frame->textlen;
	}
	else
	{
		/* reached without a utility statement of an agent session around it */
		statement->action = action;
		statement->verb = verb;
		ag_statement_text(debug_query_string, -1, 0, &statement->text, &statement->textlen);
	}
	statement->targets = lappend(list_copy(statement->targets), (char *) identity);
	statement->objects = list_copy(statement->objects);
	ag_statement_add_object(statement, address);
	return statement;
}

/*
 * A statement destroys an object the rules protect: it must be one its
 * request bound.  Otherwise it is refused, naming that object too, as if
 * no confirmation covered it.
 */
static void
backstop(Oid classId, Oid objectId, int subId, const char *action, const char *verb)
{
	ObjectAddress address;
	AgStatement *statement;
	char	   *identity;
	char	   *reason = NULL;

	ObjectAddressSubSet(address, classId, objectId, subId);
	if (ag_object_exempt(&address))
		return;
	if (current_frame && current_frame->permitted &&
		statement_binds(current_frame->statement, &address))
		return;
	/* a large object's identity is a bare number */
	identity = classId == LargeObjectRelationId ? getObjectDescription(&address, true) :
		getObjectIdentity(&address, true);
	if (identity == NULL)
		return;
	if (current_frame)
		reason = psprintf(current_frame->permitted ?
						  "it would also %s %s %s, which its confirmation does not name" :
						  "it would also %s %s %s",
						  verb, getObjectTypeDescription(&address, true), identity);
	statement = statement_with(current_frame, &address, identity, action, verb);
	if (ag_guard(statement, reason) != AG_ALLOW && current_frame)
		current_frame->statement = statement;
}

/* the type of one of these columns changes: ALTER TABLE recursing, say */
static bool
column_retyped(Oid relid, int subId)
{
	char	   *name;
	ListCell   *lc;

	if (current_frame == NULL || current_frame->retyped == NIL || subId <= 0)
		return false;
	name = get_attname(relid, (AttrNumber) subId, true);
	foreach(lc, current_frame->retyped)
		if (name && strcmp(name, (char *) lfirst(lc)) == 0)
			return true;
	return false;
}

/*
 * A column default's hook names its table and column, not the default: the
 * default's own identity is what pg_depend records.
 */
static Oid
attrdef_oid(Oid relid, int32 attnum)
{
	Relation	catalog = table_open(AttrDefaultRelationId, AccessShareLock);
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			result = InvalidOid;

	ScanKeyInit(&keys[0], Anum_pg_attrdef_adrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	ScanKeyInit(&keys[1], Anum_pg_attrdef_adnum, BTEqualStrategyNumber,
				F_INT2EQ, Int16GetDatum((int16) attnum));
	/* the default was written by this very command */
	scan = systable_beginscan(catalog, AttrDefaultIndexId, true, SnapshotSelf, 2, keys);
	if (HeapTupleIsValid(tuple = systable_getnext(scan)))
		result = ((Form_pg_attrdef) GETSTRUCT(tuple))->oid;
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	return result;
}

static void
note_touched(Oid classId, Oid objectId)
{
	ListCell   *lc;
	ObjectAddress *address;
	MemoryContext old;

	if (current_frame == NULL)
		return;
	foreach(lc, current_frame->touched)
	{
		address = lfirst(lc);
		if (address->classId == classId && address->objectId == objectId)
			return;
	}
	old = MemoryContextSwitchTo(current_frame->memory);
	address = palloc(sizeof(ObjectAddress));
	ObjectAddressSet(*address, classId, objectId);
	current_frame->touched = lappend(current_frame->touched, address);
	MemoryContextSwitchTo(old);
}

/* roles an agent session creates are agents' too */
static void
label_new_role(Oid roleid)
{
	ObjectAddress address;

	ObjectAddressSet(address, AuthIdRelationId, roleid);
	SetSecurityLabel(&address, AG_LABEL_PROVIDER, "agent");
	CacheInvalidateCatalog(AuthIdRelationId);
}

static pg_noinline void
object_changed(ObjectAccessType access, Oid classId, Oid objectId, int subId, void *arg)
{
	/* a trial: only watch */
	if (ag_capture_active())
	{
		if (access == OAT_DROP)
			ag_capture_note(classId, objectId, subId);
		else if (access == OAT_TRUNCATE)
			ag_capture_note(RelationRelationId, objectId, AG_CAPTURED_TRUNCATE);
		return;
	}
	if (ag_internal_changes_underway())
		return;

	switch (access)
	{
		case OAT_POST_CREATE:
			if (!ag_session_is_agent())
				break;
			ag_refuse_protected_object(classId, objectId, "create");
			if (!(classId == RelationRelationId && subId == 0))
				ag_session_note_created(classId, objectId, subId);
			if (classId == AuthIdRelationId)
				label_new_role(objectId);
			note_touched(classId, classId == AttrDefaultRelationId ?
						 attrdef_oid(objectId, subId) : objectId);
			break;
		case OAT_POST_ALTER:
			if (!ag_session_is_agent())
				break;
			ag_refuse_protected_object(classId, objectId, "alter");
			note_touched(classId, objectId);
			if (ag_mode != AG_MODE_OFF && classId == RelationRelationId &&
				column_retyped(objectId, subId) && ag_object_kept(classId, objectId, subId))
				backstop(classId, objectId, subId, "ALTER TABLE ALTER COLUMN TYPE",
						 "change the type of");
			break;
		case OAT_DROP:
			if (!ag_session_is_agent())
				break;
			ag_refuse_protected_object(classId, objectId, "drop");
			if (ag_mode != AG_MODE_OFF &&
				(((ObjectAccessDrop *) arg)->dropflags & PERFORM_DELETION_INTERNAL) == 0 &&
				ag_object_kept(classId, objectId, subId))
			{
				if (classId == LargeObjectRelationId)
					backstop(classId, objectId, subId, "LO_UNLINK", "unlink");
				else
					backstop(classId, objectId, subId, "DROP", "drop");
			}
			break;
		case OAT_TRUNCATE:
			if (!ag_session_is_agent())
				break;
			ag_refuse_protected_object(RelationRelationId, objectId, "truncate");

			/*
			 * The server holds the table's lock now: what it is judged to
			 * hold is what the TRUNCATE removes.
			 */
			if (ag_mode != AG_MODE_OFF && !ag_truncate_destroys_nothing(objectId))
				backstop(RelationRelationId, objectId, 0, "TRUNCATE", "truncate");
			break;
		default:
			break;
	}
}

/* an agent session's, or a rehearsal's, function about to be called */
static inline void
function_executes(Oid funcid)
{
	if (ag_reach_nothing(funcid))
		return;
	if (unlikely(ag_session_is_agent()))
		ag_reach_agent_call(funcid);
	if (unlikely(ag_rehearsing()))
		ag_reach_rehearsal_call(funcid);
}

/* another hook, an event other than a function's execution, or a function not known to reach nothing */
static pg_noinline void
object_access_other(ObjectAccessType access, Oid classId, Oid objectId,
					int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);
	if (access != OAT_FUNCTION_EXECUTE)
		object_changed(access, classId, objectId, subId, arg);
	else
		function_executes(objectId);
}

/*
 * Every function an expression calls, in every statement of every session,
 * comes through here (OAT_FUNCTION_EXECUTE): a built-in known to reach
 * nothing, whoever's session it is, is done with at once.
 */
static void
agentguard_object_access(ObjectAccessType access, Oid classId, Oid objectId,
						 int subId, void *arg)
{
	if (likely(prev_object_access_hook == NULL && access == OAT_FUNCTION_EXECUTE &&
			   ag_reach_known_nothing(objectId)))
		return;
	object_access_other(access, classId, objectId, subId, arg);
}

void
ag_install_utility_hook(void)
{
	prev_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = agentguard_utility;
}

void
ag_install_object_access_hook(void)
{
	prev_object_access_hook = object_access_hook;
	object_access_hook = agentguard_object_access;
}
