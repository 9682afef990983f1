/*
 * quarantine/capture.c
 *		What a statement takes with it, and how each of those objects is
 *		kept.
 *
 * What a DROP, TRUNCATE or ALTER TABLE ... DROP COLUMN would take with it
 * is learned by letting the server do it once and rolling it back.
 * That gives exactly the server's own answer to "would this fail without
 * CASCADE?" and "what does CASCADE reach?", permission checks included:
 * the object-access hook sees every object the statement drops (OAT_DROP)
 * and every relation it truncates (OAT_TRUNCATE), in the order the server
 * takes them.  Nothing the statement did survives the rollback; other
 * extensions' hooks and a DBA's event triggers do see the attempt.
 *
 * Of what a DROP takes, relations, functions and statistics objects move
 * into quarantine by themselves; what is part of a relation that moves goes
 * along with it; what lives on a table that stays is removed and recreated
 * by restore; whatever else it would take cannot be kept, and the DROP is
 * refused (ag_q_keeping_of).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_index.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_statistic_ext.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"

#include "capture.h"
#include "quarantine/internal.h"

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

/* ---- how what a DROP takes is kept ---- */

/* the trial dropped this relation itself, not just a column of it */
bool
ag_q_relation_captured(List *objects, Oid relid)
{
	ListCell   *lc;

	foreach(lc, objects)
	{
		ObjectAddress *a = lfirst(lc);

		if (a->classId == RelationRelationId && a->objectId == relid && a->objectSubId == 0)
			return true;
	}
	return false;
}

/* the trial dropped this object, or a part of it */
static bool
captured_object(List *objects, Oid classId, Oid objectId)
{
	ListCell   *lc;

	foreach(lc, objects)
	{
		ObjectAddress *a = lfirst(lc);

		if (a->classId == classId && a->objectId == objectId)
			return true;
	}
	return false;
}

/* a sequence owned by a column of a relation the trial dropped */
static bool
owned_by_captured(List *objects, Oid seqid)
{
	Oid			table;
	int32		column;

	return (sequenceIsOwned(seqid, DEPENDENCY_AUTO, &table, &column) ||
			sequenceIsOwned(seqid, DEPENDENCY_INTERNAL, &table, &column)) &&
		ag_q_relation_captured(objects, table);
}

/* relations that move by themselves: everything but parts of others */
bool
ag_q_moves_alone(List *objects, Oid relid)
{
	switch (get_rel_relkind(relid))
	{
		case RELKIND_RELATION:
		case RELKIND_PARTITIONED_TABLE:
		case RELKIND_VIEW:
		case RELKIND_MATVIEW:
		case RELKIND_FOREIGN_TABLE:
			return true;
		case RELKIND_SEQUENCE:
			return !owned_by_captured(objects, relid);
		default:
			return false;
	}
}

/* kept by another entry already */
static bool
in_quarantine(const ObjectAddress *a)
{
	Oid			namespace = InvalidOid;
	Oid			quarantine = get_namespace_oid(AG_QUARANTINE_SCHEMA, true);

	if (a->classId == RelationRelationId)
		namespace = get_rel_namespace(a->objectId);
	else if (a->classId == ProcedureRelationId)
		namespace = get_func_namespace(a->objectId);
	return OidIsValid(namespace) && namespace == quarantine;
}

/* the schema an object is in, or that of the relation it is part of */
static Oid
namespace_of(const ObjectAddress *a)
{
	switch (a->classId)
	{
		case RelationRelationId:
			return get_rel_namespace(a->objectId);
		case ConstraintRelationId:
			return ag_q_syscache_oid(CONSTROID, a->objectId, Anum_pg_constraint_connamespace);
		case TriggerRelationId:
			return get_rel_namespace(ag_q_scanned_oid(TriggerRelationId, TriggerOidIndexId, Anum_pg_trigger_oid,
													  a->objectId, Anum_pg_trigger_tgrelid));
		case RewriteRelationId:
			return get_rel_namespace(ag_q_scanned_oid(RewriteRelationId, RewriteOidIndexId, Anum_pg_rewrite_oid,
													  a->objectId, Anum_pg_rewrite_ev_class));
		case PolicyRelationId:
			return get_rel_namespace(ag_q_scanned_oid(PolicyRelationId, PolicyOidIndexId, Anum_pg_policy_oid,
													  a->objectId, Anum_pg_policy_polrelid));
		case AttrDefaultRelationId:
			return get_rel_namespace(ag_q_scanned_oid(AttrDefaultRelationId, AttrDefaultOidIndexId,
													  Anum_pg_attrdef_oid, a->objectId, Anum_pg_attrdef_adrelid));
		default:
			if (!is_objectclass_supported(a->classId))
				return InvalidOid;
			return get_object_namespace(a);
	}
}

/* in a schema that the DROP takes, and that is kept whole */
static bool
in_dropped_schema(List *objects, const ObjectAddress *a)
{
	Oid			namespace = namespace_of(a);

	return OidIsValid(namespace) && captured_object(objects, NamespaceRelationId, namespace);
}

/* a relation the trial dropped that will be in quarantine, its parts with it */
bool
ag_q_relation_moves(List *objects, Oid relid)
{
	ObjectAddress address;

	ObjectAddressSet(address, RelationRelationId, relid);
	return OidIsValid(relid) && ag_q_relation_captured(objects, relid) &&
		(ag_q_moves_alone(objects, relid) || in_quarantine(&address));
}

/* how an object the trial dropped is kept */
Keeping
ag_q_keeping_of(List *objects, const ObjectAddress *a)
{
	/* already in quarantine (another entry's): it stays where it is */
	if (in_quarantine(a))
		return KEEP_GOES_ALONG;
	/* a dropped schema is kept whole, with everything in it */
	if (a->classId == NamespaceRelationId || in_dropped_schema(objects, a))
		return KEEP_GOES_ALONG;
	switch (a->classId)
	{
		case RelationRelationId:
			if (a->objectSubId != 0)
				return ag_q_relation_moves(objects, a->objectId) ? KEEP_GOES_ALONG : KEEP_NONE;
			if (ag_q_moves_alone(objects, a->objectId))
				return KEEP_MOVE;
			switch (get_rel_relkind(a->objectId))
			{
				case RELKIND_INDEX:
				case RELKIND_PARTITIONED_INDEX:
					/* the table's or its TOAST table's: either way it goes along */
					return ag_q_relation_captured(objects, ag_q_syscache_oid(INDEXRELID, a->objectId,
																		Anum_pg_index_indrelid)) ?
						KEEP_GOES_ALONG : KEEP_NONE;
				case RELKIND_TOASTVALUE:
				case RELKIND_SEQUENCE:
					return KEEP_GOES_ALONG;
				default:
					return KEEP_NONE;
			}
		case TypeRelationId:
			{
				Oid			relid = ag_q_syscache_oid(TYPEOID, a->objectId, Anum_pg_type_typrelid);
				Oid			element = ag_q_syscache_oid(TYPEOID, a->objectId, Anum_pg_type_typelem);

				if (!OidIsValid(relid) && OidIsValid(element))
					relid = ag_q_syscache_oid(TYPEOID, element, Anum_pg_type_typrelid);
				return ag_q_relation_moves(objects, relid) ? KEEP_GOES_ALONG : KEEP_NONE;
			}
		case ConstraintRelationId:
			{
				Oid			relid = ag_q_syscache_oid(CONSTROID, a->objectId, Anum_pg_constraint_conrelid);
				HeapTuple	tuple;
				char		contype = 0;

				if (ag_q_relation_moves(objects, relid))
					return KEEP_GOES_ALONG;
				tuple = SearchSysCache1(CONSTROID, ObjectIdGetDatum(a->objectId));
				if (HeapTupleIsValid(tuple))
				{
					contype = ((Form_pg_constraint) GETSTRUCT(tuple))->contype;
					ReleaseSysCache(tuple);
				}
				return contype == CONSTRAINT_FOREIGN && OidIsValid(relid) ?
					KEEP_RECREATE : KEEP_NONE;
			}
		case TriggerRelationId:
			{
				Oid			relid = ag_q_scanned_oid(TriggerRelationId, TriggerOidIndexId, Anum_pg_trigger_oid,
													 a->objectId, Anum_pg_trigger_tgrelid);
				Oid			constraint = ag_q_scanned_oid(TriggerRelationId, TriggerOidIndexId, Anum_pg_trigger_oid,
														  a->objectId, Anum_pg_trigger_tgconstraint);

				/* a foreign key's triggers come back with the foreign key */
				return ag_q_relation_moves(objects, relid) ||
					(OidIsValid(constraint) && captured_object(objects, ConstraintRelationId, constraint)) ?
					KEEP_GOES_ALONG : KEEP_NONE;
			}
		case RewriteRelationId:
			return ag_q_relation_moves(objects, ag_q_scanned_oid(RewriteRelationId, RewriteOidIndexId, Anum_pg_rewrite_oid, a->objectId,
																 Anum_pg_rewrite_ev_class)) ?
				KEEP_GOES_ALONG : KEEP_RECREATE;
		case AttrDefaultRelationId:
			return ag_q_relation_moves(objects, ag_q_scanned_oid(AttrDefaultRelationId, AttrDefaultOidIndexId, Anum_pg_attrdef_oid, a->objectId,
																 Anum_pg_attrdef_adrelid)) ?
				KEEP_GOES_ALONG : KEEP_RECREATE;
		case PolicyRelationId:
			return ag_q_relation_moves(objects, ag_q_scanned_oid(PolicyRelationId, PolicyOidIndexId, Anum_pg_policy_oid, a->objectId,
																 Anum_pg_policy_polrelid)) ?
				KEEP_GOES_ALONG : KEEP_NONE;
		case ProcedureRelationId:
		case StatisticExtRelationId:
			return KEEP_MOVE;
		default:
			return KEEP_NONE;
	}
}

/* the relations a DROP names, in its order, that the trial dropped */
List *
ag_q_named_relations(DropStmt *drop, List *objects)
{
	List	   *relids = NIL;
	ListCell   *lc;

	if (drop->removeType == OBJECT_SCHEMA)
		return NIL;
	foreach(lc, drop->objects)
	{
		Oid			relid = RangeVarGetRelid(makeRangeVarFromNameList(lfirst(lc)), NoLock, true);

		if (OidIsValid(relid) && ag_q_relation_captured(objects, relid))
			relids = lappend_oid(relids, relid);
	}
	return relids;
}

/* the schemas a DROP SCHEMA names, in its order, that the trial dropped */
List *
ag_q_named_schemas(DropStmt *drop, List *objects)
{
	List	   *namespaces = NIL;
	ListCell   *lc;

	if (drop->removeType != OBJECT_SCHEMA)
		return NIL;
	foreach(lc, drop->objects)
	{
		Oid			namespace = get_namespace_oid(strVal(lfirst(lc)), true);

		if (OidIsValid(namespace) && captured_object(objects, NamespaceRelationId, namespace))
			namespaces = lappend_oid(namespaces, namespace);
	}
	return namespaces;
}
