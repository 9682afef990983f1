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

#include "access/genam.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_index.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_statistic_ext.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "rewrite/rewriteSupport.h"
#include "utils/fmgroids.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "parser/parse_type.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"

#include "capture.h"
#include "citus_keep.h"
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

/*
 * Safe when re-entered: what a trial runs through ProcessUtility (Citus's
 * shard statements, another extension's) is passed on untried by
 * utility.c, but a trial that starts inside another all the same keeps a
 * list of its own, and the outer trial's is put back when it ends.
 */
bool
ag_capture(AgUtilityRunner run, void *run_arg, bool quiet, List **result)
{
	MemoryContext caller = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	List	   *outer_captured = captured;
	bool		outer_capturing = capturing;
	MemoryContext outer_context = capture_context;
	volatile bool failed = false;

	*result = NIL;
	captured = NIL;
	capture_context = caller;
	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		/* the subtransaction's rollback puts the settings back */
		if (quiet)
			(void) set_config_option("client_min_messages", "warning", PGC_USERSET,
									 PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);
		capturing = true;
		if (unlikely(ag_citus_loaded))
			ag_citus_trial_stays_here();
		run(run_arg);
		capturing = outer_capturing;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		capturing = outer_capturing;
		MemoryContextSwitchTo(caller);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller);
		CurrentResourceOwner = owner;
		captured = outer_captured;
		capture_context = outer_context;
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
	captured = outer_captured;
	capture_context = outer_context;
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

/*
 * A column the trial dropped from a table that stays (its type, say, was in
 * a dropped schema): its values are kept, and the column is dropped by
 * itself (column.c).  Temporary and foreign tables hold nothing to keep.
 */
bool
ag_q_column_stays_kept(List *objects, Oid relid, AttrNumber attnum)
{
	ListCell   *lc;
	char		relkind = get_rel_relkind(relid);

	if (ag_q_relation_moves(objects, relid) || ag_q_relation_captured(objects, relid) ||
		(relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE) ||
		isAnyTempNamespace(get_rel_namespace(relid)))
		return false;
	foreach(lc, objects)
	{
		ObjectAddress *a = lfirst(lc);

		if (a->classId == RelationRelationId && a->objectId == relid &&
			(a->objectSubId == attnum || (attnum == InvalidAttrNumber && a->objectSubId > 0)))
			return true;
	}
	return false;
}

/*
 * A view the trial dropped because it uses a kept column, itself or
 * through another such view: it cannot move aside, since dropping the
 * column takes it wherever it is, so it is made again (column.c).
 */
static bool
view_uses_kept_column(List *objects, Oid view)
{
	Relation	depend;
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			rule = get_rewrite_oid(view, ViewSelectRuleName, true);
	bool		uses = false;

	if (!OidIsValid(rule))
		return false;
	depend = table_open(DependRelationId, AccessShareLock);
	ScanKeyInit(&keys[0], Anum_pg_depend_classid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(RewriteRelationId));
	ScanKeyInit(&keys[1], Anum_pg_depend_objid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(rule));
	scan = systable_beginscan(depend, DependDependerIndexId, true, NULL, 2, keys);
	while (!uses && HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tuple);

		if (dep->refclassid != RelationRelationId || dep->refobjid == view)
			continue;
		uses = (dep->refobjsubid > 0 && ag_q_column_stays_kept(objects, dep->refobjid, dep->refobjsubid)) ||
			(ag_q_relation_captured(objects, dep->refobjid) &&
			 (get_rel_relkind(dep->refobjid) == RELKIND_VIEW || get_rel_relkind(dep->refobjid) == RELKIND_MATVIEW) &&
			 view_uses_kept_column(objects, dep->refobjid));
	}
	systable_endscan(scan);
	table_close(depend, AccessShareLock);
	return uses;
}

/* what lives on a table whose columns are kept goes with them */
static bool
on_kept_column(List *objects, Oid relid)
{
	return OidIsValid(relid) && ag_q_column_stays_kept(objects, relid, InvalidAttrNumber);
}

/*
 * A type the trial dropped: a relation's row type (or its array) goes with
 * the relation; an array type with its element type; a type or domain of
 * its own moves into quarantine, its array with it.  A range type is not
 * kept: its multirange and constructor functions cannot move with it.
 */
static Keeping
keeping_of_type(List *objects, Oid typid)
{
	HeapTuple	tuple = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	Form_pg_type type;
	Keeping		keeping;

	if (!HeapTupleIsValid(tuple))
		return KEEP_NONE;
	type = (Form_pg_type) GETSTRUCT(tuple);
	if (type->typtype == TYPTYPE_RANGE || type->typtype == TYPTYPE_MULTIRANGE)
		keeping = KEEP_NONE;
	else if (OidIsValid(type->typelem) && IsTrueArrayType(type))
		keeping = keeping_of_type(objects, type->typelem) == KEEP_NONE ? KEEP_NONE : KEEP_GOES_ALONG;
	else if (OidIsValid(type->typrelid) && get_rel_relkind(type->typrelid) != RELKIND_COMPOSITE_TYPE)
		keeping = ag_q_relation_moves(objects, type->typrelid) ? KEEP_GOES_ALONG : KEEP_NONE;
	else
		keeping = KEEP_MOVE;
	ReleaseSysCache(tuple);
	return keeping;
}

/* the column a default (pg_attrdef) belongs to */
static AttrNumber
default_column(Oid attrdef)
{
	HeapTuple	tuple = ag_q_catalog_row(AttrDefaultRelationId, AttrDefaultOidIndexId, Anum_pg_attrdef_oid,
										 attrdef, NULL);

	return HeapTupleIsValid(tuple) ? ((Form_pg_attrdef) GETSTRUCT(tuple))->adnum : InvalidAttrNumber;
}

/* a constraint a child has from its parent, or a partition from its parent's */
static bool
inherited_constraint(Oid constraint)
{
	HeapTuple	tuple = SearchSysCache1(CONSTROID, ObjectIdGetDatum(constraint));
	bool		inherited = false;

	if (HeapTupleIsValid(tuple))
	{
		Form_pg_constraint form = (Form_pg_constraint) GETSTRUCT(tuple);

		inherited = form->coninhcount > 0 || OidIsValid(form->conparentid);
		ReleaseSysCache(tuple);
	}
	return inherited;
}

/* how a relation, or a column of one, that the trial dropped is kept */
static Keeping
keeping_of_relation(List *objects, const ObjectAddress *a)
{
	if (a->objectSubId != 0)
		return ag_q_relation_moves(objects, a->objectId) ? KEEP_GOES_ALONG :
			ag_q_column_stays_kept(objects, a->objectId, a->objectSubId) ? KEEP_WITH_COLUMN : KEEP_NONE;
	if ((get_rel_relkind(a->objectId) == RELKIND_VIEW || get_rel_relkind(a->objectId) == RELKIND_MATVIEW) &&
		view_uses_kept_column(objects, a->objectId))
		return KEEP_WITH_COLUMN;
	if (ag_q_moves_alone(objects, a->objectId))
		return KEEP_MOVE;
	switch (get_rel_relkind(a->objectId))
	{
		case RELKIND_INDEX:
		case RELKIND_PARTITIONED_INDEX:
			{
				Oid			table = ag_q_syscache_oid(INDEXRELID, a->objectId, Anum_pg_index_indrelid);

				/*
				 * The table's or its TOAST table's: either way it
				 * goes along.  On a table that stays, one that uses
				 * what the DROP takes (a function) is made again; a
				 * constraint's comes with it, a partition's with its
				 * parent's.
				 */
				if (ag_q_relation_captured(objects, table))
					return KEEP_GOES_ALONG;
				if (on_kept_column(objects, table))
					return KEEP_WITH_COLUMN;
				return OidIsValid(get_index_constraint(a->objectId)) ||
					get_rel_relispartition(a->objectId) ? KEEP_GOES_ALONG : KEEP_RECREATE;
			}
		case RELKIND_TOASTVALUE:
		case RELKIND_SEQUENCE:
			return KEEP_GOES_ALONG;
		case RELKIND_COMPOSITE_TYPE:
			/* a composite type's columns are its type's */
			return captured_object(objects, TypeRelationId, get_rel_type_id(a->objectId)) ?
				KEEP_GOES_ALONG : KEEP_NONE;
		default:
			return KEEP_NONE;
	}
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
			return keeping_of_relation(objects, a);
		case TypeRelationId:
			return keeping_of_type(objects, a->objectId);
		case ConstraintRelationId:
			{
				Oid			relid = ag_q_syscache_oid(CONSTROID, a->objectId, Anum_pg_constraint_conrelid);

				if (ag_q_relation_moves(objects, relid))
					return KEEP_GOES_ALONG;
				/* a domain's check moves with its domain */
				if (!OidIsValid(relid))
					return captured_object(objects, TypeRelationId,
										   ag_q_syscache_oid(CONSTROID, a->objectId, Anum_pg_constraint_contypid)) ?
						KEEP_GOES_ALONG : KEEP_NONE;
				/*
				 * A table that stays loses it (a foreign key to a dropped
				 * table, a check that calls a dropped function): it is made
				 * again on restore; an inherited one comes back with its
				 * parent's.
				 */
				return inherited_constraint(a->objectId) ? KEEP_GOES_ALONG : KEEP_RECREATE;
			}
		case TriggerRelationId:
			{
				Oid			relid = ag_q_scanned_oid(TriggerRelationId, TriggerOidIndexId, Anum_pg_trigger_oid,
													 a->objectId, Anum_pg_trigger_tgrelid);
				Oid			constraint = ag_q_scanned_oid(TriggerRelationId, TriggerOidIndexId, Anum_pg_trigger_oid,
														  a->objectId, Anum_pg_trigger_tgconstraint);

				/*
				 * A foreign key's triggers come back with the foreign key, a
				 * partition's clone with its parent's; another trigger of a
				 * table that stays (its function is dropped) is made again.
				 */
				if (ag_q_relation_moves(objects, relid) ||
					(OidIsValid(constraint) && captured_object(objects, ConstraintRelationId, constraint)))
					return KEEP_GOES_ALONG;
				if (on_kept_column(objects, relid))
					return KEEP_WITH_COLUMN;
				return OidIsValid(ag_q_scanned_oid(TriggerRelationId, TriggerOidIndexId, Anum_pg_trigger_oid,
												   a->objectId, Anum_pg_trigger_tgparentid)) ?
					KEEP_GOES_ALONG : KEEP_RECREATE;
			}
		case RewriteRelationId:
			{
				Oid			relid = ag_q_scanned_oid(RewriteRelationId, RewriteOidIndexId, Anum_pg_rewrite_oid,
													 a->objectId, Anum_pg_rewrite_ev_class);

				return ag_q_relation_moves(objects, relid) ? KEEP_GOES_ALONG :
					on_kept_column(objects, relid) ||
					(ag_q_relation_captured(objects, relid) && view_uses_kept_column(objects, relid)) ?
					KEEP_WITH_COLUMN : KEEP_RECREATE;
			}
		case AttrDefaultRelationId:
			{
				Oid			relid = ag_q_scanned_oid(AttrDefaultRelationId, AttrDefaultOidIndexId,
													 Anum_pg_attrdef_oid, a->objectId, Anum_pg_attrdef_adrelid);

				/* a kept column's default comes back with it; another's is made again */
				return ag_q_relation_moves(objects, relid) ? KEEP_GOES_ALONG :
					ag_q_column_stays_kept(objects, relid, default_column(a->objectId)) ?
					KEEP_WITH_COLUMN : KEEP_RECREATE;
			}
		case PolicyRelationId:
			{
				Oid			relid = ag_q_scanned_oid(PolicyRelationId, PolicyOidIndexId, Anum_pg_policy_oid,
													 a->objectId, Anum_pg_policy_polrelid);

				return ag_q_relation_moves(objects, relid) ? KEEP_GOES_ALONG :
					on_kept_column(objects, relid) ? KEEP_WITH_COLUMN : KEEP_RECREATE;
			}
		case StatisticExtRelationId:
			return on_kept_column(objects, ag_q_syscache_oid(STATEXTOID, a->objectId,
															 Anum_pg_statistic_ext_stxrelid)) ?
				KEEP_WITH_COLUMN : KEEP_MOVE;
		case ProcedureRelationId:
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

/*
 * The types, domains or routines a DROP TYPE, DROP DOMAIN, DROP FUNCTION,
 * PROCEDURE, ROUTINE or AGGREGATE names, in its order, that the trial
 * dropped, with their catalog in *classId; NIL for any other DROP.
 */
List *
ag_q_named_objects(DropStmt *drop, List *objects, Oid *classId)
{
	List	   *named = NIL;
	ListCell   *lc;

	switch (drop->removeType)
	{
		case OBJECT_TYPE:
		case OBJECT_DOMAIN:
			*classId = TypeRelationId;
			break;
		case OBJECT_FUNCTION:
		case OBJECT_PROCEDURE:
		case OBJECT_ROUTINE:
		case OBJECT_AGGREGATE:
			*classId = ProcedureRelationId;
			break;
		default:
			return NIL;
	}
	foreach(lc, drop->objects)
	{
		Oid			oid = *classId == TypeRelationId ?
			LookupTypeNameOid(NULL, lfirst_node(TypeName, lc), true) :
			LookupFuncWithArgs(drop->removeType, lfirst_node(ObjectWithArgs, lc), true);

		if (OidIsValid(oid) && captured_object(objects, *classId, oid))
			named = lappend_oid(named, oid);
	}
	return named;
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
