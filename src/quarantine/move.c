/*
 * quarantine/move.c
 *		A DROP that destroys nothing: the objects move into the schema
 *		agentguard_quarantine, and agentguard.restore moves them back.
 *
 * What the DROP would take with it is learned from the server itself, by a
 * trial that is rolled back (capture.c).  Then, as the extension's owner:
 *
 *	- relations, functions and statistics objects the DROP names or takes
 *	  along are renamed to unique names and moved into the quarantine
 *	  schema, where no one else can reach them; indexes, constraints,
 *	  triggers, policies, rules, defaults, owned sequences, TOAST, grants
 *	  and comments go with their table, and a table's partitions with it;
 *	- a schema the DROP names is kept whole, under a name of agentguard's;
 *	- what lives on tables that stay (foreign keys pointing at the dropped
 *	  table, rules and defaults that use it, the partition or inheritance
 *	  link of a dropped child) is written down as the SQL that recreates it,
 *	  then removed;
 *	- anything else the DROP would destroy is refused, so nothing is lost.
 *
 * Everything happens in the DROP's transaction, so a crash leaves either
 * the objects where they were or all of them in quarantine.  Moving is a
 * catalog change: its cost does not depend on how big the table is.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_statistic_ext.h"
#include "catalog/pg_type.h"
#include "commands/comment.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/formatting.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "capture.h"
#include "citus_keep.h"
#include "ledger.h"
#include "owner.h"
#include "quarantine.h"
#include "quarantine/internal.h"
#include "settings.h"

/* how a relation is named in SQL: ALTER <kind> ... */
static const char *
relation_sql_kind(Oid relid)
{
	switch (get_rel_relkind(relid))
	{
		case RELKIND_VIEW:
			return "VIEW";
		case RELKIND_MATVIEW:
			return "MATERIALIZED VIEW";
		case RELKIND_SEQUENCE:
			return "SEQUENCE";
		case RELKIND_FOREIGN_TABLE:
			return "FOREIGN TABLE";
		case RELKIND_INDEX:
		case RELKIND_PARTITIONED_INDEX:
			return "INDEX";
		default:
			return "TABLE";
	}
}

/* the kind of an entry, as agentguard.quarantine shows it */
static const char *
entry_kind(Oid relid)
{
	switch (get_rel_relkind(relid))
	{
		case RELKIND_VIEW:
			return "view";
		case RELKIND_MATVIEW:
			return "materialized view";
		case RELKIND_SEQUENCE:
			return "sequence";
		case RELKIND_FOREIGN_TABLE:
			return "foreign table";
		case RELKIND_PARTITIONED_TABLE:
			return "partitioned table";
		default:
			return get_rel_relispartition(relid) ? "partition" : "table";
	}
}

/* an object that moves, as it is named before it does */
static Moved *
describe_moved(const ObjectAddress *a)
{
	Moved	   *m = palloc0(sizeof(Moved));

	m->address = *a;
	m->args = "";
	if (a->classId == RelationRelationId)
	{
		m->sql_kind = relation_sql_kind(a->objectId);
		m->schema = get_namespace_name(get_rel_namespace(a->objectId));
		m->name = get_rel_name(a->objectId);
	}
	else if (a->classId == ProcedureRelationId)
	{
		char	   *signature = format_procedure_qualified(a->objectId);

		m->sql_kind = get_func_prokind(a->objectId) == PROKIND_PROCEDURE ? "PROCEDURE" :
			get_func_prokind(a->objectId) == PROKIND_AGGREGATE ? "AGGREGATE" : "FUNCTION";
		m->schema = get_namespace_name(get_func_namespace(a->objectId));
		m->name = get_func_name(a->objectId);
		m->args = pstrdup(strchr(signature, '('));
	}
	else if (a->classId == TypeRelationId)
	{
		HeapTuple	tuple = SearchSysCache1(TYPEOID, ObjectIdGetDatum(a->objectId));
		Form_pg_type type = (Form_pg_type) GETSTRUCT(tuple);

		m->sql_kind = type->typtype == TYPTYPE_DOMAIN ? "DOMAIN" : "TYPE";
		m->schema = get_namespace_name(type->typnamespace);
		m->name = pstrdup(NameStr(type->typname));
		ReleaseSysCache(tuple);
	}
	else
	{
		HeapTuple	tuple = SearchSysCache1(STATEXTOID, ObjectIdGetDatum(a->objectId));
		Form_pg_statistic_ext stat = (Form_pg_statistic_ext) GETSTRUCT(tuple);

		m->sql_kind = "STATISTICS";
		m->schema = get_namespace_name(stat->stxnamespace);
		m->name = pstrdup(NameStr(stat->stxname));
		ReleaseSysCache(tuple);
	}
	return m;
}

/* the SQL that recreates it becomes a restore step; then it goes */
static void
save_and_remove(int64 entry, int *step, const ObjectAddress *a)
{
	char	   *restore_sql;
	char	   *remove_sql;
	Oid			altered;

	ag_q_recreate_sql(a, &restore_sql, &remove_sql, &altered);
	ag_q_save_restore_step(entry, step, getObjectDescription(a, false), restore_sql, altered);
	ag_q_run_sql(remove_sql);
}

/*
 * Rename to a quarantine name, then move: renaming first means nothing
 * already in quarantine can collide.  Indexes and owned sequences of a
 * table are renamed too; they move with it.
 */
static void
move_into_quarantine(int64 entry, int *position, const Moved *m, bool main_object)
{
	int			own_position = main_object ? 0 : ++(*position);
	char	   *quarantined = ag_q_quarantine_name(entry, own_position, m->name);
	bool		function = m->address.classId == ProcedureRelationId;

	if (m->address.classId == RelationRelationId &&
		get_rel_relkind(m->address.objectId) != RELKIND_VIEW &&
		get_rel_relkind(m->address.objectId) != RELKIND_SEQUENCE)
	{
		Relation	rel = relation_open(m->address.objectId, AccessExclusiveLock);
		List	   *parts = RelationGetIndexList(rel);
		ListCell   *lc;
		Oid			table;
		int32		column;
		List	   *sequences = getOwnedSequences(m->address.objectId);

		relation_close(rel, NoLock);
		parts = list_concat(parts, sequences);
		foreach(lc, parts)
		{
			Oid			part = lfirst_oid(lc);
			Moved	   *pm;
			char	   *part_name;

			if (get_rel_relkind(part) == RELKIND_SEQUENCE &&
				!sequenceIsOwned(part, DEPENDENCY_AUTO, &table, &column) &&
				!sequenceIsOwned(part, DEPENDENCY_INTERNAL, &table, &column))
				continue;
			pm = palloc0(sizeof(Moved));
			ObjectAddressSet(pm->address, RelationRelationId, part);
			pm->sql_kind = relation_sql_kind(part);
			pm->schema = m->schema;
			pm->name = get_rel_name(part);
			pm->args = "";
			part_name = ag_q_quarantine_name(entry, ++(*position), pm->name);
			ag_q_run_sql(ag_q_sql_text("ALTER %s %s RENAME TO %s", pm->sql_kind,
									   ag_q_qualified(m->schema, pm->name), quote_identifier(part_name)));
			ag_q_save_member(entry, *position, pm, false, part_name);
		}
	}
	/*
	 * A function's argument types may be tables that have just moved, so its
	 * signature is taken afresh for each statement; the one saved for
	 * restore names them where they will be again by then.
	 */
	ag_q_run_sql(ag_q_sql_text("ALTER %s %s RENAME TO %s", m->sql_kind,
							   function ? format_procedure_qualified(m->address.objectId) :
							   ag_q_qualified(m->schema, m->name),
							   quote_identifier(quarantined)));
	ag_q_run_sql(ag_q_sql_text("ALTER %s %s SET SCHEMA %s", m->sql_kind,
							   function ? format_procedure_qualified(m->address.objectId) :
							   ag_q_qualified(m->schema, quarantined),
							   AG_QUARANTINE_SCHEMA));
	ag_q_save_member(entry, own_position, m, true, quarantined);
}

/* an object that moves by itself, at the next position of the entry */
void
ag_q_move(int64 entry, int *position, const ObjectAddress *a)
{
	move_into_quarantine(entry, position, describe_moved(a), false);
}

/* the parents a table inherits from, as OIDs */
static List *
inheritance_parents(Oid relid)
{
	Relation	catalog = table_open(InheritsRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	List	   *parents = NIL;

	ScanKeyInit(&key, Anum_pg_inherits_inhrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(catalog, InheritsRelidSeqnoIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
		parents = lappend_oid(parents, ((Form_pg_inherits) GETSTRUCT(tuple))->inhparent);
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	return parents;
}

/*
 * A partition or inheritance child whose parent stays must leave it, or the
 * parent would still show its rows; restore puts the link back.
 */
static void
detach_from_parent(int64 entry, int *step, Oid relid, List *objects)
{
	List	   *parents = NIL;
	ListCell   *lc;
	HeapTuple	tuple;

	if (get_rel_relispartition(relid))
	{
		Oid			parent = get_partition_parent(relid, false);
		Datum		bound;
		bool		isnull;
		char	   *bound_text;

		if (ag_q_relation_moves(objects, parent))
			return;
		tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
		bound = SysCacheGetAttr(RELOID, tuple, Anum_pg_class_relpartbound, &isnull);
		bound_text = TextDatumGetCString(DirectFunctionCall2(pg_get_expr, bound,
															 ObjectIdGetDatum(relid)));
		ReleaseSysCache(tuple);
		ag_q_save_restore_step(entry, step, "partition of its parent",
							   ag_q_sql_text("ALTER TABLE %s ATTACH PARTITION %s %s",
											 ag_q_relation_qualified(parent), ag_q_relation_qualified(relid), bound_text),
							   parent);
		ag_q_run_sql(ag_q_sql_text("ALTER TABLE %s DETACH PARTITION %s",
								   ag_q_relation_qualified(parent), ag_q_relation_qualified(relid)));
		return;
	}
	parents = inheritance_parents(relid);
	foreach(lc, parents)
	{
		Oid			parent = lfirst_oid(lc);

		if (ag_q_relation_moves(objects, parent))
			continue;
		ag_q_save_restore_step(entry, step, "child of its parent",
							   ag_q_sql_text("ALTER TABLE %s INHERIT %s",
											 ag_q_relation_qualified(relid), ag_q_relation_qualified(parent)),
							   relid);
		ag_q_run_sql(ag_q_sql_text("ALTER TABLE %s NO INHERIT %s",
								   ag_q_relation_qualified(relid), ag_q_relation_qualified(parent)));
	}
}

/*
 * A kept table's own foreign keys to tables that stay would tie those
 * tables to the quarantine: dropping one later, approved or not, would fail
 * on them, or take them from the kept table.  They are written down as the
 * SQL that adds them back at restore, and removed.  A partition's inherited
 * foreign keys go with its parent's.
 */
static void
detach_foreign_keys(int64 entry, int *step, List *objects)
{
	Relation	catalog = table_open(ConstraintRelationId, AccessShareLock);
	ListCell   *lc;

	foreach(lc, objects)
	{
		ObjectAddress *a = lfirst(lc);
		ScanKeyData key;
		SysScanDesc scan;
		HeapTuple	tuple;
		List	   *detached = NIL;
		ListCell   *dc;

		if (a->classId != RelationRelationId || a->objectSubId != 0 ||
			isAnyTempNamespace(get_rel_namespace(a->objectId)))
			continue;
		ScanKeyInit(&key, Anum_pg_constraint_conrelid, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(a->objectId));
		scan = systable_beginscan(catalog, ConstraintRelidTypidNameIndexId, true, NULL, 1, &key);
		while (HeapTupleIsValid(tuple = systable_getnext(scan)))
		{
			Form_pg_constraint fk = (Form_pg_constraint) GETSTRUCT(tuple);

			if (fk->contype == CONSTRAINT_FOREIGN && !OidIsValid(fk->conparentid) &&
				!ag_q_relation_captured(objects, fk->confrelid))
				detached = lappend_oid(detached, fk->oid);
		}
		systable_endscan(scan);
		foreach(dc, detached)
		{
			ObjectAddress constraint;

			ObjectAddressSet(constraint, ConstraintRelationId, lfirst_oid(dc));
			save_and_remove(entry, step, &constraint);
		}
	}
	table_close(catalog, AccessShareLock);
}

/*
 * A schema is kept whole under a name of agentguard's: renamed, given to
 * the extension's owner and closed to everyone else, so its objects are out
 * of reach though nothing in it changed.  The owner and the grants it had
 * are kept for restore.
 */
static char *
quarantine_schema(int64 entry, int position, Oid namespace)
{
	char	   *name = get_namespace_name(namespace);
	char	   *prefix = position == 0 ? psprintf(AG_QUARANTINE_PREFIX INT64_FORMAT "_", entry) :
		psprintf(AG_QUARANTINE_PREFIX INT64_FORMAT "_%d_", entry, position);
	char	   *quarantined = ag_q_clipped_name(prefix, name);
	Moved		m = {0};
	HeapTuple	tuple = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(namespace));
	Oid			owner;
	Acl		   *acl = NULL;
	List	   *grantees = NIL;
	ListCell   *lc;
	Datum		datum;
	bool		isnull;

	/* read from the catalog in C: no SQL, so no name an agent could shadow */
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "agentguard: could not read schema %s", name);
	owner = ((Form_pg_namespace) GETSTRUCT(tuple))->nspowner;
	datum = SysCacheGetAttr(NAMESPACEOID, tuple, Anum_pg_namespace_nspacl, &isnull);
	if (!isnull)
		acl = DatumGetAclPCopy(datum);
	ReleaseSysCache(tuple);
	for (int i = 0; acl != NULL && i < ACL_NUM(acl); i++)
		if (ACL_DAT(acl)[i].ai_grantee != ACL_ID_PUBLIC)
			grantees = list_append_unique_oid(grantees, ACL_DAT(acl)[i].ai_grantee);

	ag_q_run_sql(ag_q_sql_text("ALTER SCHEMA %s RENAME TO %s", quote_identifier(name), quote_identifier(quarantined)));
	ag_q_run_sql(ag_q_sql_text("ALTER SCHEMA %s OWNER TO %s", quote_identifier(quarantined),
							   quote_identifier(GetUserNameFromId(GetUserId(), false))));
	ag_q_run_sql(ag_q_sql_text("REVOKE ALL ON SCHEMA %s FROM PUBLIC", quote_identifier(quarantined)));
	foreach(lc, grantees)
		ag_q_run_sql(ag_q_sql_text("REVOKE ALL ON SCHEMA %s FROM %s", quote_identifier(quarantined),
								   quote_identifier(GetUserNameFromId(lfirst_oid(lc), false))));

	m.sql_kind = "SCHEMA";
	m.schema = name;
	m.name = name;
	m.args = "";
	ag_q_save_member(entry, position, &m, true, quarantined);
	ag_q_save_schema_access(entry, position, GetUserNameFromId(owner, false), acl ? ag_q_acl_text(acl) : NULL);
	return quarantined;
}

/* the DROPs that quarantine keeps what they take, when it is on */
bool
ag_quarantine_covers(DropStmt *drop)
{
	switch (drop->removeType)
	{
		case OBJECT_SCHEMA:
		case OBJECT_TABLE:
		case OBJECT_VIEW:
		case OBJECT_MATVIEW:
		case OBJECT_SEQUENCE:
		case OBJECT_FOREIGN_TABLE:
		case OBJECT_TYPE:
		case OBJECT_DOMAIN:
		case OBJECT_FUNCTION:
		case OBJECT_PROCEDURE:
		case OBJECT_ROUTINE:
		case OBJECT_AGGREGATE:
		case OBJECT_INDEX:
			return ag_quarantine_drops != AG_QUARANTINE_OFF;
		default:
			return false;
	}
}

/*
 * Refuses the DROP, before anything changes, when it would take something
 * that cannot be kept.  Temporary relations are not kept: they are dropped
 * for real (drop_temporary_relations).
 */
static void
refuse_what_cannot_be_kept(List *objects)
{
	ListCell   *lc;

	foreach(lc, objects)
	{
		ObjectAddress *a = lfirst(lc);

		if (a->classId == RelationRelationId && a->objectSubId == 0 &&
			isAnyTempNamespace(get_rel_namespace(a->objectId)))
			continue;
		if (ag_q_keeping_of(objects, a) == KEEP_NONE)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("agentguard: cannot quarantine this DROP: it would also drop %s",
							getObjectDescription(a, false)),
					 errdetail("agentguard keeps what a DROP takes away so that it can be restored, and it cannot keep that."),
					 errhint("Drop or change that object first, then run the DROP again; or set agentguard.quarantine_drops = 'off' for a drop that destroys.")));
	}
}

/*
 * The entry's row, named after the first schema a DROP SCHEMA names or the
 * first relation a DROP names.  Returns where that relation will be kept;
 * a schema's quarantine name is only known once it is renamed, so for a
 * DROP SCHEMA it is NULL until move_schemas knows it.
 */
static char *
record_drop_entry(int64 entry, const Moved *first, List *schemas, const AgStatement *statement,
				  XLogRecPtr *lsn)
{
	char	   *quarantined_as = NULL;
	char	   *schema;
	const char *kind;

	if (schemas == NIL)
		quarantined_as = ag_q_qualified(AG_QUARANTINE_SCHEMA, ag_q_quarantine_name(entry, 0, first->name));
	schema = schemas != NIL ? get_namespace_name(linitial_oid(schemas)) : first->schema;
	if (schemas != NIL)
		kind = "schema";
	else if (first->address.classId == TypeRelationId || first->address.classId == ProcedureRelationId)
		kind = "definition";	/* what it is, quarantine_objects says */
	else
		kind = entry_kind(first->address.objectId);
	*lsn = ag_q_record_entry(entry, kind, schema, schemas != NIL ? schema : first->name,
							 quarantined_as ? quarantined_as : "", statement);
	return quarantined_as;
}

/* temporary relations the CASCADE reaches cannot leave their schema */
static void
drop_temporary_relations(List *objects)
{
	ListCell   *lc;

	foreach(lc, objects)
	{
		ObjectAddress *a = lfirst(lc);

		if (a->classId == RelationRelationId && a->objectSubId == 0 &&
			isAnyTempNamespace(get_rel_namespace(a->objectId)) &&
			ag_q_moves_alone(objects, a->objectId) &&
			get_rel_name(a->objectId) != NULL)
			ag_q_run_sql(ag_q_sql_text("DROP %s IF EXISTS %s CASCADE", relation_sql_kind(a->objectId),
									   ag_q_relation_qualified(a->objectId)));
	}
}

/*
 * What moves by itself, as Moved: the named relations first, in the DROP's
 * order, then what CASCADE takes.
 */
static List *
objects_to_move(List *targets, Oid target_class, List *objects)
{
	List	   *moves = NIL;
	ListCell   *lc;

	foreach(lc, targets)
	{
		ObjectAddress a;

		ObjectAddressSet(a, target_class, lfirst_oid(lc));
		moves = lappend(moves, describe_moved(&a));
	}
	foreach(lc, objects)
	{
		ObjectAddress *a = lfirst(lc);

		if (ag_q_keeping_of(objects, a) != KEEP_MOVE ||
			(a->classId == target_class && list_member_oid(targets, a->objectId)) ||
			(a->classId == RelationRelationId && isAnyTempNamespace(get_rel_namespace(a->objectId))))
			continue;
		moves = lappend(moves, describe_moved(a));
	}
	return moves;
}

/*
 * The schemas a DROP SCHEMA names, kept whole at positions 0, 1, ...; the
 * entry is known by the first one's new name.  Returns the position the
 * objects that move by themselves are numbered after.
 */
static int
move_schemas(int64 entry, List *schemas, char **quarantined_as)
{
	ListCell   *lc;
	int			position = 0;

	foreach(lc, schemas)
	{
		char	   *renamed = quarantine_schema(entry, position, lfirst_oid(lc));

		if (*quarantined_as == NULL)
		{
			*quarantined_as = pstrdup(quote_identifier(renamed));
			ag_q_set_quarantined_as(entry, *quarantined_as);
		}
		position++;
	}
	return schemas != NIL ? position - 1 : 0;
}

/*
 * An index cannot move out of its table's schema: DROP INDEX keeps its
 * definition instead, as the SQL that builds it again (with its tablespace
 * and comment), and what its CASCADE takes (another table's foreign key over
 * it) the same way; restore builds them again.  Indexes of constraints are
 * the constraints' (DROP INDEX refuses them), temporary ones are not kept.
 * DROP INDEX CONCURRENTLY has no trial and takes nothing along.
 */
static void
quarantine_drop_index(DropStmt *drop, const AgStatement *statement, List *objects,
					  AgUtilityRunner run, void *run_arg)
{
	List	   *indexes = NIL;
	List	   *kept = NIL;
	List	   *comments = NIL;
	char	   *original;
	AgOwnerSession ls;
	ListCell   *lc;
	int64		entry;
	XLogRecPtr	lsn;
	int			step = 0;
	int			position = 0;
	Oid			first;

	foreach(lc, drop->objects)
	{
		Oid			relid = RangeVarGetRelid(makeRangeVarFromNameList(lfirst(lc)), NoLock, true);
		ObjectAddress *address;

		if (!OidIsValid(relid) ||
			(get_rel_relkind(relid) != RELKIND_INDEX && get_rel_relkind(relid) != RELKIND_PARTITIONED_INDEX) ||
			isAnyTempNamespace(get_rel_namespace(relid)) || OidIsValid(get_index_constraint(relid)))
			continue;
		indexes = lappend_oid(indexes, relid);
		if (drop->concurrent)
		{
			address = palloc(sizeof(ObjectAddress));
			ObjectAddressSet(*address, RelationRelationId, relid);
			objects = lappend(objects, address);
		}
	}
	if (indexes == NIL)
	{
		run(run_arg);
		return;
	}
	refuse_what_cannot_be_kept(objects);
	if (!ag_q_open_or_warn(&ls, "DROP INDEX"))
	{
		run(run_arg);
		return;
	}
	entry = ag_q_new_entry_id();
	first = linitial_oid(indexes);
	lsn = ag_q_record_entry(entry, "definition", get_namespace_name(get_rel_namespace(first)), get_rel_name(first),
							"", statement);
	/* named and read before the indexes go; comments are made after the indexes */
	foreach(lc, indexes)
	{
		Oid			relid = lfirst_oid(lc);
		Moved	   *m = palloc0(sizeof(Moved));

		m->sql_kind = AG_INDEX_DEFINITION;
		m->schema = get_namespace_name(get_rel_namespace(relid));
		m->name = get_rel_name(relid);
		m->args = "";
		/* the comment step runs as the table's owner, as the index's does */
		ObjectAddressSet(m->address, RelationRelationId,
						 ag_q_syscache_oid(INDEXRELID, relid, Anum_pg_index_indrelid));
		kept = lappend(kept, m);
		comments = lappend(comments, GetComment(relid, RelationRelationId, 0));
	}
	original = ag_q_relation_qualified(first);
	ag_q_remove_what_is_recreated(entry, &step, objects);
	foreach(lc, kept)
	{
		Moved	   *m = lfirst(lc);
		char	   *comment = list_nth(comments, foreach_current_index(lc));

		ag_q_save_member(entry, position++, m, false, "");
		if (comment != NULL)
			ag_q_save_restore_step(entry, &step, "comment",
								   ag_q_sql_text("COMMENT ON INDEX %s IS %s", ag_q_qualified(m->schema, m->name),
												 quote_literal_cstr(comment)),
								   m->address.objectId);
	}
	ag_q_log_quarantine(statement, original, entry, NULL, position, lsn);
	ag_owner_close(&ls);
}

/* the steps, in this order, all in the DROP's transaction (see quarantine.h) */
void
ag_quarantine_drop(DropStmt *drop, const AgStatement *statement, List *objects,
				   AgUtilityRunner run, void *run_arg)
{
	Oid			target_class;
	List	   *named = ag_q_named_objects(drop, objects, &target_class);
	List	   *targets = named != NIL ? named : ag_q_named_relations(drop, objects);
	List	   *schemas = ag_q_named_schemas(drop, objects);
	List	   *moves;
	AgOwnerSession ls;
	ListCell   *lc;
	int64		entry;
	XLogRecPtr	lsn;
	int			position;
	int			step = 0;
	Moved	   *first;
	char	   *quarantined_as;
	char	   *original;
	List	   *kept_columns;

	if (drop->removeType == OBJECT_INDEX)
	{
		quarantine_drop_index(drop, statement, objects, run, run_arg);
		return;
	}
	if (named == NIL)
		target_class = RelationRelationId;
	if (targets == NIL && schemas == NIL)
	{
		run(run_arg);
		return;
	}
	refuse_what_cannot_be_kept(objects);
	if (unlikely(ag_citus_loaded))
		ag_citus_check_drop_kept(objects);
	if (!ag_q_open_or_warn(&ls, "DROP"))
	{
		run(run_arg);
		return;
	}

	entry = ag_q_new_entry_id();
	moves = objects_to_move(targets, target_class, objects);
	first = schemas != NIL ? NULL : linitial(moves);
	quarantined_as = record_drop_entry(entry, first, schemas, statement, &lsn);
	drop_temporary_relations(objects);
	ag_q_remove_what_is_recreated(entry, &step, objects);
	kept_columns = ag_q_keep_columns_of_drop(entry, &step, objects);
	foreach(lc, moves)
	{
		Moved	   *m = lfirst(lc);

		if (m->address.classId == RelationRelationId)
			detach_from_parent(entry, &step, m->address.objectId, objects);
	}
	detach_foreign_keys(entry, &step, objects);
	/* named as it was, before anything is renamed */
	original = schemas != NIL ? pstrdup(quote_identifier(get_namespace_name(linitial_oid(schemas)))) :
		ag_q_qualified(first->schema, first->name);
	position = move_schemas(entry, schemas, &quarantined_as);
	foreach(lc, moves)
		move_into_quarantine(entry, &position, lfirst(lc), schemas == NIL && lc == list_head(moves));
	ag_q_record_kept_columns(entry, position + 1, kept_columns);
	ag_q_log_quarantine(statement, original, entry, quarantined_as,
						position + 1 + list_length(kept_columns), lsn);
	ag_owner_close(&ls);
}
