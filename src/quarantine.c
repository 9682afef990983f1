/*
 * quarantine.c
 *		A DROP that destroys nothing: the objects move into the schema
 *		agentguard_quarantine, and agentguard.restore moves them back.
 *
 * What the DROP would take with it is learned from the server itself: the
 * statement is run once in a subtransaction that is rolled back, while the
 * object-access hook writes down every object it drops.  That gives exactly
 * the server's own answer to "would this fail without CASCADE?" and "what
 * does CASCADE reach?", permission checks included.  Then, as the
 * extension's owner:
 *
 *	- relations, functions and statistics objects the DROP names or takes
 *	  along are renamed to unique names and moved into the quarantine
 *	  schema, where no one else can reach them; indexes, constraints,
 *	  triggers, policies, rules, defaults, owned sequences, TOAST, grants
 *	  and comments go with their table, and a table's partitions with it;
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
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/indexing.h"
#include "catalog/objectaddress.h"
#include "catalog/partition.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_statistic_ext.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/syscache.h"

#include "agentguard.h"

#define QUARANTINE_SCHEMA "agentguard_quarantine"

PG_FUNCTION_INFO_V1(agentguard_restore);
PG_FUNCTION_INFO_V1(agentguard_purge);
PG_FUNCTION_INFO_V1(agentguard_purge_expired);

/* objects the trial DROP dropped, while one is being watched */
static List *captured = NIL;
static bool capturing = false;

/* how each dropped object is kept */
typedef enum Keeping
{
	KEEP_GOES_ALONG,			/* moves with a relation that moves */
	KEEP_MOVE,					/* renamed and moved by itself */
	KEEP_RECREATE,				/* removed; restore runs SQL to recreate it */
	KEEP_NONE					/* cannot be kept: the DROP is refused */
} Keeping;

typedef struct Moved
{
	ObjectAddress address;
	const char *sql_kind;		/* "TABLE", "VIEW", "FUNCTION", ... */
	char	   *schema;
	char	   *name;
	char	   *identity;		/* for functions: name(args), else quoted name */
	char	   *args;			/* for functions: "(argtypes)", else "" */
} Moved;

bool
ag_quarantine_capturing(void)
{
	return capturing;
}

void
ag_quarantine_note_dropped(Oid classId, Oid objectId, int32 subId)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	ObjectAddress *address = palloc(sizeof(ObjectAddress));

	ObjectAddressSubSet(*address, classId, objectId, subId);
	captured = lappend(captured, address);
	MemoryContextSwitchTo(old);
}

/*
 * Run the DROP in a subtransaction and roll it back, noting what it drops.
 * Its errors are the server's own and reach the user unchanged.
 */
static List *
trial_drop(AgUtilityRunner run, void *run_arg)
{
	MemoryContext caller = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	List	   *result = NIL;
	ListCell   *lc;

	captured = NIL;
	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
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
		list_free_deep(captured);
		captured = NIL;
		ReThrowError(edata);
	}
	PG_END_TRY();
	RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(caller);
	CurrentResourceOwner = owner;

	foreach(lc, captured)
	{
		ObjectAddress *copy = palloc(sizeof(ObjectAddress));

		*copy = *(ObjectAddress *) lfirst(lc);
		result = lappend(result, copy);
	}
	list_free_deep(captured);
	captured = NIL;
	return result;
}

static bool
captured_relation(List *objects, Oid relid)
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

/* one OID column of a catalog row found by its OID, through the syscache */
static Oid
syscache_oid(int cacheId, Oid objectId, AttrNumber column)
{
	HeapTuple	tuple = SearchSysCache1(cacheId, ObjectIdGetDatum(objectId));
	Oid			result = InvalidOid;
	bool		isnull;

	if (!HeapTupleIsValid(tuple))
		return InvalidOid;
	result = DatumGetObjectId(SysCacheGetAttr(cacheId, tuple, column, &isnull));
	ReleaseSysCache(tuple);
	return isnull ? InvalidOid : result;
}

/*
 * A copy of a row of a catalog without a syscache on its OID (pg_trigger,
 * pg_rewrite, pg_policy, pg_attrdef), or NULL.
 */
static HeapTuple
catalog_row(Oid catalogId, Oid indexId, AttrNumber oidColumn, Oid objectId,
			TupleDesc *desc)
{
	Relation	catalog = table_open(catalogId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;

	ScanKeyInit(&key, oidColumn, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(objectId));
	scan = systable_beginscan(catalog, indexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		tuple = heap_copytuple(tuple);
	if (desc)
		*desc = CreateTupleDescCopy(RelationGetDescr(catalog));
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	return tuple;
}

static Oid
scanned_oid(Oid catalogId, Oid indexId, AttrNumber oidColumn, Oid objectId,
			AttrNumber column)
{
	TupleDesc	desc;
	HeapTuple	tuple = catalog_row(catalogId, indexId, oidColumn, objectId, &desc);
	bool		isnull;
	Datum		d;

	if (!HeapTupleIsValid(tuple))
		return InvalidOid;
	d = heap_getattr(tuple, column, desc, &isnull);
	return isnull ? InvalidOid : DatumGetObjectId(d);
}

static bool
owned_by_captured(List *objects, Oid seqid)
{
	Oid			table;
	int32		column;

	return (sequenceIsOwned(seqid, DEPENDENCY_AUTO, &table, &column) ||
			sequenceIsOwned(seqid, DEPENDENCY_INTERNAL, &table, &column)) &&
		captured_relation(objects, table);
}

/* relations that move by themselves: everything but parts of others */
static bool
moves_alone(List *objects, Oid relid)
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

static bool
in_quarantine(const ObjectAddress *a)
{
	Oid			namespace = InvalidOid;
	Oid			quarantine = get_namespace_oid(QUARANTINE_SCHEMA, true);

	if (a->classId == RelationRelationId)
		namespace = get_rel_namespace(a->objectId);
	else if (a->classId == ProcedureRelationId)
		namespace = get_func_namespace(a->objectId);
	return OidIsValid(namespace) && namespace == quarantine;
}

static bool
relation_moves(List *objects, Oid relid)
{
	ObjectAddress address;

	ObjectAddressSet(address, RelationRelationId, relid);
	return OidIsValid(relid) && captured_relation(objects, relid) &&
		(moves_alone(objects, relid) || in_quarantine(&address));
}

static Keeping
keeping_of(List *objects, const ObjectAddress *a)
{
	/* already in quarantine (another entry's): it stays where it is */
	if (in_quarantine(a))
		return KEEP_GOES_ALONG;
	switch (a->classId)
	{
		case RelationRelationId:
			if (a->objectSubId != 0)
				return relation_moves(objects, a->objectId) ? KEEP_GOES_ALONG : KEEP_NONE;
			if (moves_alone(objects, a->objectId))
				return KEEP_MOVE;
			switch (get_rel_relkind(a->objectId))
			{
				case RELKIND_INDEX:
				case RELKIND_PARTITIONED_INDEX:
					/* the table's or its TOAST table's: either way it goes along */
					return captured_relation(objects, syscache_oid(INDEXRELID, a->objectId,
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
				Oid			relid = syscache_oid(TYPEOID, a->objectId, Anum_pg_type_typrelid);
				Oid			element = syscache_oid(TYPEOID, a->objectId, Anum_pg_type_typelem);

				if (!OidIsValid(relid) && OidIsValid(element))
					relid = syscache_oid(TYPEOID, element, Anum_pg_type_typrelid);
				return relation_moves(objects, relid) ? KEEP_GOES_ALONG : KEEP_NONE;
			}
		case ConstraintRelationId:
			{
				Oid			relid = syscache_oid(CONSTROID, a->objectId, Anum_pg_constraint_conrelid);
				HeapTuple	tuple;
				char		contype = 0;

				if (relation_moves(objects, relid))
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
				Oid			relid = scanned_oid(TriggerRelationId, TriggerOidIndexId, Anum_pg_trigger_oid,
												a->objectId, Anum_pg_trigger_tgrelid);
				Oid			constraint = scanned_oid(TriggerRelationId, TriggerOidIndexId, Anum_pg_trigger_oid,
													 a->objectId, Anum_pg_trigger_tgconstraint);

				/* a foreign key's triggers come back with the foreign key */
				return relation_moves(objects, relid) ||
					(OidIsValid(constraint) && captured_object(objects, ConstraintRelationId, constraint)) ?
					KEEP_GOES_ALONG : KEEP_NONE;
			}
		case RewriteRelationId:
			return relation_moves(objects, scanned_oid(RewriteRelationId, RewriteOidIndexId, Anum_pg_rewrite_oid, a->objectId,
													   Anum_pg_rewrite_ev_class)) ?
				KEEP_GOES_ALONG : KEEP_RECREATE;
		case AttrDefaultRelationId:
			return relation_moves(objects, scanned_oid(AttrDefaultRelationId, AttrDefaultOidIndexId, Anum_pg_attrdef_oid, a->objectId,
													   Anum_pg_attrdef_adrelid)) ?
				KEEP_GOES_ALONG : KEEP_RECREATE;
		case PolicyRelationId:
			return relation_moves(objects, scanned_oid(PolicyRelationId, PolicyOidIndexId, Anum_pg_policy_oid, a->objectId,
													   Anum_pg_policy_polrelid)) ?
				KEEP_GOES_ALONG : KEEP_NONE;
		case ProcedureRelationId:
		case StatisticExtRelationId:
			return KEEP_MOVE;
		default:
			return KEEP_NONE;
	}
}

/* ---- SQL run as the extension's owner ---- */

static void
run_sql(const char *sql)
{
	int			ret = SPI_execute(sql, false, 0);

	if (ret < 0)
		elog(ERROR, "agentguard: quarantine step failed (%s): %s",
			 SPI_result_code_string(ret), sql);
}

static char *
sql_text(const char *fmt,...) pg_attribute_printf(1, 2);

static char *
sql_text(const char *fmt,...)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	return buf.data;
}

static char *
qualified(const char *schema, const char *name)
{
	return quote_qualified_identifier(schema, name);
}

static char *
relation_qualified(Oid relid)
{
	return qualified(get_namespace_name(get_rel_namespace(relid)), get_rel_name(relid));
}

/*
 * A name in the quarantine schema that no other entry uses and that fits
 * NAMEDATALEN whatever the original was: "q<entry>_<n>_<original>", the
 * original cut on a character boundary.
 */
static char *
quarantine_name(int64 entry, int position, const char *original)
{
	char	   *prefix = position == 0 ?
		psprintf("q" INT64_FORMAT "_", entry) :
		psprintf("q" INT64_FORMAT "_%d_", entry, position);
	int			room = NAMEDATALEN - 1 - strlen(prefix);
	int			keep = pg_mbcliplen(original, strlen(original), room);

	return psprintf("%s%.*s", prefix, keep, original);
}

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

/* SQL that recreates an object living on a table that stays, and removes it */
static void
recreate_sql(const ObjectAddress *a, char **restore_sql, char **remove_sql)
{
	switch (a->classId)
	{
		case ConstraintRelationId:
			{
				Oid			relid = syscache_oid(CONSTROID, a->objectId, Anum_pg_constraint_conrelid);
				char	   *name = get_constraint_name(a->objectId);
				char	   *definition = TextDatumGetCString(DirectFunctionCall1(pg_get_constraintdef,
																				  ObjectIdGetDatum(a->objectId)));

				*restore_sql = sql_text("ALTER TABLE %s ADD CONSTRAINT %s %s",
										relation_qualified(relid), quote_identifier(name), definition);
				*remove_sql = sql_text("ALTER TABLE %s DROP CONSTRAINT %s",
									   relation_qualified(relid), quote_identifier(name));
				break;
			}
		case RewriteRelationId:
			{
				Oid			relid = scanned_oid(RewriteRelationId, RewriteOidIndexId, Anum_pg_rewrite_oid,
												a->objectId, Anum_pg_rewrite_ev_class);
				char	   *definition = TextDatumGetCString(DirectFunctionCall1(pg_get_ruledef,
																				  ObjectIdGetDatum(a->objectId)));
				HeapTuple	tuple = catalog_row(RewriteRelationId, RewriteOidIndexId, Anum_pg_rewrite_oid,
												a->objectId, NULL);
				char	   *name = pstrdup(NameStr(((Form_pg_rewrite) GETSTRUCT(tuple))->rulename));

				*restore_sql = definition;
				*remove_sql = sql_text("DROP RULE %s ON %s", quote_identifier(name),
									   relation_qualified(relid));
				break;
			}
		case AttrDefaultRelationId:
			{
				TupleDesc	desc;
				HeapTuple	tuple = catalog_row(AttrDefaultRelationId, AttrDefaultOidIndexId,
												Anum_pg_attrdef_oid, a->objectId, &desc);
				Form_pg_attrdef def = (Form_pg_attrdef) GETSTRUCT(tuple);
				Oid			relid = def->adrelid;
				char	   *column = get_attname(relid, def->adnum, false);
				bool		isnull;
				Datum		expr = heap_getattr(tuple, Anum_pg_attrdef_adbin, desc, &isnull);
				char	   *expression = TextDatumGetCString(DirectFunctionCall2(pg_get_expr, expr,
																				 ObjectIdGetDatum(relid)));

				*restore_sql = sql_text("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s",
										relation_qualified(relid), quote_identifier(column), expression);
				*remove_sql = sql_text("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT",
									   relation_qualified(relid), quote_identifier(column));
				break;
			}
		default:
			elog(ERROR, "agentguard: cannot recreate objects of class %u", a->classId);
	}
}

static void
save_restore_step(int64 entry, int *position, const char *description, const char *restore_sql)
{
	Oid			types[4] = {INT8OID, INT4OID, TEXTOID, TEXTOID};
	Datum		values[4];

	values[0] = Int64GetDatum(entry);
	values[1] = Int32GetDatum((*position)++);
	values[2] = CStringGetTextDatum(description);
	values[3] = CStringGetTextDatum(restore_sql);
	if (SPI_execute_with_args("INSERT INTO agentguard.quarantine_saved (entry_id, position, description, restore_sql) "
							  "VALUES ($1, $2, $3, $4)", 4, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "agentguard: could not record a quarantine step");
}

static void
save_member(int64 entry, int position, const Moved *m, bool alone, const char *quarantined)
{
	Oid			types[8] = {INT8OID, INT4OID, TEXTOID, BOOLOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[8];

	values[0] = Int64GetDatum(entry);
	values[1] = Int32GetDatum(position);
	values[2] = CStringGetTextDatum(m->sql_kind);
	values[3] = BoolGetDatum(alone);
	values[4] = CStringGetTextDatum(m->schema);
	values[5] = CStringGetTextDatum(m->name);
	values[6] = CStringGetTextDatum(quarantined);
	values[7] = CStringGetTextDatum(m->args);
	if (SPI_execute_with_args("INSERT INTO agentguard.quarantine_members "
							  "(entry_id, position, sql_kind, moves_alone, original_schema, original_name, quarantined_name, args) "
							  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
							  8, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "agentguard: could not record a quarantined object");
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
	char	   *quarantined = quarantine_name(entry, own_position, m->name);
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
			part_name = quarantine_name(entry, ++(*position), pm->name);
			run_sql(sql_text("ALTER %s %s RENAME TO %s", pm->sql_kind,
							 qualified(m->schema, pm->name), quote_identifier(part_name)));
			save_member(entry, *position, pm, false, part_name);
		}
	}
	/*
	 * A function's argument types may be tables that have just moved, so its
	 * signature is taken afresh for each statement; the one saved for
	 * restore names them where they will be again by then.
	 */
	run_sql(sql_text("ALTER %s %s RENAME TO %s", m->sql_kind,
					 function ? format_procedure_qualified(m->address.objectId) :
					 qualified(m->schema, m->name),
					 quote_identifier(quarantined)));
	run_sql(sql_text("ALTER %s %s SET SCHEMA %s", m->sql_kind,
					 function ? format_procedure_qualified(m->address.objectId) :
					 qualified(m->schema, quarantined),
					 QUARANTINE_SCHEMA));
	save_member(entry, own_position, m, true, quarantined);
}

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

		if (relation_moves(objects, parent))
			return;
		tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
		bound = SysCacheGetAttr(RELOID, tuple, Anum_pg_class_relpartbound, &isnull);
		bound_text = TextDatumGetCString(DirectFunctionCall2(pg_get_expr, bound,
															 ObjectIdGetDatum(relid)));
		ReleaseSysCache(tuple);
		save_restore_step(entry, step, "partition of its parent",
						  sql_text("ALTER TABLE %s ATTACH PARTITION %s %s",
								   relation_qualified(parent), relation_qualified(relid), bound_text));
		run_sql(sql_text("ALTER TABLE %s DETACH PARTITION %s",
						 relation_qualified(parent), relation_qualified(relid)));
		return;
	}
	parents = inheritance_parents(relid);
	foreach(lc, parents)
	{
		Oid			parent = lfirst_oid(lc);

		if (relation_moves(objects, parent))
			continue;
		save_restore_step(entry, step, "child of its parent",
						  sql_text("ALTER TABLE %s INHERIT %s",
								   relation_qualified(relid), relation_qualified(parent)));
		run_sql(sql_text("ALTER TABLE %s NO INHERIT %s",
						 relation_qualified(relid), relation_qualified(parent)));
	}
}

static const char *
session_user_name(void)
{
	return GetUserNameFromId(GetSessionUserId(), false);
}

/* the relations a DROP names, in its order, that the trial dropped */
static List *
named_relations(DropStmt *drop, List *objects)
{
	List	   *relids = NIL;
	ListCell   *lc;

	foreach(lc, drop->objects)
	{
		Oid			relid = RangeVarGetRelid(makeRangeVarFromNameList(lfirst(lc)), NoLock, true);

		if (OidIsValid(relid) && captured_relation(objects, relid))
			relids = lappend_oid(relids, relid);
	}
	return relids;
}

bool
ag_quarantine_covers(DropStmt *drop)
{
	switch (drop->removeType)
	{
		case OBJECT_TABLE:
		case OBJECT_VIEW:
		case OBJECT_MATVIEW:
		case OBJECT_SEQUENCE:
		case OBJECT_FOREIGN_TABLE:
			return ag_quarantine_drops != AG_QUARANTINE_OFF;
		default:
			return false;
	}
}

void
ag_quarantine_drop(DropStmt *drop, const AgStatement *statement,
				   AgUtilityRunner run, void *run_arg)
{
	List	   *objects = trial_drop(run, run_arg);
	List	   *targets = named_relations(drop, objects);
	List	   *moves = NIL;
	AgLedgerSession ls;
	ListCell   *lc;
	int64		entry;
	int			position = 0;
	int			step = 0;
	Oid			first;
	char	   *quarantined_as;
	bool		isnull;

	if (targets == NIL)
	{
		run(run_arg);
		return;
	}
	foreach(lc, objects)
	{
		ObjectAddress *a = lfirst(lc);

		if (a->classId == RelationRelationId && a->objectSubId == 0 &&
			isAnyTempNamespace(get_rel_namespace(a->objectId)))
			continue;
		if (keeping_of(objects, a) == KEEP_NONE)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("agentguard: cannot quarantine this DROP: it would also drop %s",
							getObjectDescription(a, false)),
					 errdetail("agentguard keeps what a DROP takes away so that it can be restored, and it cannot keep that."),
					 errhint("Drop or change that object first, then run the DROP again; or set agentguard.quarantine_drops = 'off' for a drop that destroys.")));
	}
	if (!ag_ledger_open(&ls))
	{
		ereport(WARNING,
				(errmsg("agentguard: DROP not quarantined: the extension is not installed in this database"),
				 errhint("CREATE EXTENSION agentguard in every database whose drops should be recoverable.")));
		run(run_arg);
		return;
	}

	if (SPI_execute("SELECT nextval('agentguard.quarantine_ids')", false, 1) != SPI_OK_SELECT)
		elog(ERROR, "agentguard: could not number a quarantine entry");
	entry = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	first = linitial_oid(targets);
	quarantined_as = qualified(QUARANTINE_SCHEMA, quarantine_name(entry, 0, get_rel_name(first)));
	{
		Oid			types[8] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
		Datum		values[8];
		char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};

		values[0] = Int64GetDatum(entry);
		values[1] = CStringGetTextDatum(entry_kind(first));
		values[2] = CStringGetTextDatum(get_namespace_name(get_rel_namespace(first)));
		values[3] = CStringGetTextDatum(get_rel_name(first));
		values[4] = CStringGetTextDatum(quarantined_as);
		values[5] = CStringGetTextDatum(session_user_name());
		values[6] = CStringGetTextDatum(pnstrdup(statement->text, statement->textlen));
		values[7] = CStringGetTextDatum(ag_retention);
		if (SPI_execute_with_args("INSERT INTO agentguard.quarantine_entries "
								  "(id, kind, original_schema, original_name, quarantined_as, dropped_by, "
								  "dropped_at, expires_at, statement) "
								  "VALUES ($1, $2, $3, $4, $5, $6, now(), now() + $8::interval, $7)",
								  8, types, values, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "agentguard: could not record the quarantine entry");
	}

	/* temporary relations the CASCADE reaches cannot leave their schema */
	foreach(lc, objects)
	{
		ObjectAddress *a = lfirst(lc);

		if (a->classId == RelationRelationId && a->objectSubId == 0 &&
			isAnyTempNamespace(get_rel_namespace(a->objectId)) &&
			moves_alone(objects, a->objectId) &&
			get_rel_name(a->objectId) != NULL)
			run_sql(sql_text("DROP %s IF EXISTS %s CASCADE", relation_sql_kind(a->objectId),
							 relation_qualified(a->objectId)));
	}

	/* what stays behind on other tables: remember it, then remove it */
	foreach(lc, objects)
	{
		ObjectAddress *a = lfirst(lc);
		char	   *restore_sql;
		char	   *remove_sql;

		if (keeping_of(objects, a) != KEEP_RECREATE)
			continue;
		recreate_sql(a, &restore_sql, &remove_sql);
		save_restore_step(entry, &step, getObjectDescription(a, false), restore_sql);
		run_sql(remove_sql);
	}

	/* the named objects first, in the DROP's order, then what CASCADE takes */
	foreach(lc, targets)
	{
		ObjectAddress a;

		ObjectAddressSet(a, RelationRelationId, lfirst_oid(lc));
		moves = lappend(moves, describe_moved(&a));
	}
	foreach(lc, objects)
	{
		ObjectAddress *a = lfirst(lc);

		if (keeping_of(objects, a) != KEEP_MOVE ||
			(a->classId == RelationRelationId &&
			 (list_member_oid(targets, a->objectId) ||
			  isAnyTempNamespace(get_rel_namespace(a->objectId)))))
			continue;
		moves = lappend(moves, describe_moved(a));
	}
	foreach(lc, moves)
	{
		Moved	   *m = lfirst(lc);

		if (m->address.classId == RelationRelationId)
			detach_from_parent(entry, &step, m->address.objectId, objects);
	}
	foreach(lc, moves)
	{
		Moved	   *m = lfirst(lc);

		move_into_quarantine(entry, &position, m, lc == list_head(moves));
	}
	ag_ledger_audit("quarantine", statement->action,
					psprintf("%s (entry " INT64_FORMAT ", %d objects)",
							 relation_qualified(first), entry, list_length(moves)),
					NULL, quarantined_as);
	ereport(LOG,
			(errmsg("agentguard: quarantined role=%s database=%s action=\"%s\" objects=\"%s\" entry=" INT64_FORMAT " as=%s",
					quote_identifier(session_user_name()),
					quote_identifier(get_database_name(MyDatabaseId)),
					statement->action, relation_qualified(first), entry, quarantined_as),
			 errhidestmt(true)));
	ag_ledger_close(&ls);
}

/* ---- restore and purge ---- */

typedef struct Member
{
	int			position;
	char	   *sql_kind;
	bool		alone;
	char	   *original_schema;
	char	   *original_name;
	char	   *quarantined_name;
	char	   *args;
} Member;

typedef struct Entry
{
	int64		id;
	char	   *kind;
	char	   *original_schema;
	char	   *original_name;
	char	   *quarantined_as;
	List	   *members;		/* Member, by position */
	List	   *restore_steps;	/* char *, in order */
} Entry;

static Entry *
load_entry(int64 id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	Entry	   *e;

	values[0] = Int64GetDatum(id);
	if (SPI_execute_with_args("SELECT kind, original_schema, original_name, quarantined_as "
							  "FROM agentguard.quarantine_entries WHERE id = $1 FOR UPDATE",
							  1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "agentguard: could not read the quarantine");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("agentguard: there is no quarantine entry " INT64_FORMAT, id),
				 errhint("SELECT * FROM agentguard.quarantine lists the entries.")));
	e = palloc0(sizeof(Entry));
	e->id = id;
	e->kind = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	e->original_schema = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	e->original_name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	e->quarantined_as = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);

	if (SPI_execute_with_args("SELECT position, sql_kind, moves_alone, original_schema, original_name, "
							  "quarantined_name, args FROM agentguard.quarantine_members "
							  "WHERE entry_id = $1 ORDER BY position",
							  1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "agentguard: could not read the quarantine");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	row = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Member	   *m = palloc0(sizeof(Member));
		bool		isnull;

		m->position = DatumGetInt32(SPI_getbinval(row, desc, 1, &isnull));
		m->sql_kind = SPI_getvalue(row, desc, 2);
		m->alone = DatumGetBool(SPI_getbinval(row, desc, 3, &isnull));
		m->original_schema = SPI_getvalue(row, desc, 4);
		m->original_name = SPI_getvalue(row, desc, 5);
		m->quarantined_name = SPI_getvalue(row, desc, 6);
		m->args = SPI_getvalue(row, desc, 7);
		e->members = lappend(e->members, m);
	}
	if (SPI_execute_with_args("SELECT restore_sql FROM agentguard.quarantine_saved "
							  "WHERE entry_id = $1 ORDER BY position",
							  1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "agentguard: could not read the quarantine");
	for (uint64 i = 0; i < SPI_processed; i++)
		e->restore_steps = lappend(e->restore_steps,
								   SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
	return e;
}

static bool
is_routine(const Member *m)
{
	return strcmp(m->sql_kind, "FUNCTION") == 0 || strcmp(m->sql_kind, "PROCEDURE") == 0 ||
		strcmp(m->sql_kind, "AGGREGATE") == 0;
}

/*
 * The quarantined routine's OID: its name there is unique, and its argument
 * types may have moved since, so the name finds it, not the saved signature.
 */
static Oid
quarantined_routine(const Member *m)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;

	values[0] = CStringGetTextDatum(m->quarantined_name);
	if (SPI_execute_with_args("SELECT oid FROM pg_catalog.pg_proc WHERE proname = $1 "
							  "AND pronamespace = 'agentguard_quarantine'::pg_catalog.regnamespace",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "agentguard: could not read the quarantine");
	if (SPI_processed == 0)
		return InvalidOid;
	return DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* how to name a quarantined member in SQL, where it is now */
static char *
member_in_quarantine(const Member *m)
{
	if (is_routine(m))
	{
		Oid			routine = quarantined_routine(m);

		return OidIsValid(routine) ? format_procedure_qualified(routine) : NULL;
	}
	return qualified(QUARANTINE_SCHEMA, m->quarantined_name);
}

static void
forget_entry(int64 id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1];

	values[0] = Int64GetDatum(id);
	if (SPI_execute_with_args("DELETE FROM agentguard.quarantine_entries WHERE id = $1",
							  1, types, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "agentguard: could not update the quarantine");
}

static Member *
main_member(Entry *e)
{
	return linitial(e->members);
}

static void
restore_context(void *arg)
{
	errcontext("restoring quarantine entry " INT64_FORMAT, *(int64 *) arg);
}

/* agentguard.restore(id, new_name DEFAULT NULL) */
Datum
agentguard_restore(PG_FUNCTION_ARGS)
{
	int64		id;
	char	   *new_name = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	AgLedgerSession ls;
	Entry	   *e;
	Member	   *main;
	Oid			main_relid;
	ListCell   *lc;
	ErrorContextCallback context;
	char	   *restored_as;
	MemoryContext caller = CurrentMemoryContext;
	char	   *result;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	id = PG_GETARG_INT64(0);
	if (!ag_ledger_open(&ls))
		elog(ERROR, "agentguard: the extension is not installed in this database");
	e = load_entry(id);
	main = main_member(e);
	main_relid = get_relname_relid(main->quarantined_name, get_namespace_oid(QUARANTINE_SCHEMA, false));

	/* restoring destroys nothing: agents may; others must own what comes back */
	if (!superuser_arg(ls.saved_user) && !ag_session_is_agent() &&
		!(OidIsValid(main_relid) && ag_relation_ownercheck(main_relid, ls.saved_user)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("agentguard: only a superuser or the owner of %s.%s can restore it",
						e->original_schema, e->original_name)));
	if (new_name != NULL && (new_name[0] == '\0' || strlen(new_name) >= NAMEDATALEN))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("agentguard: \"%s\" is not a usable name", new_name)));

	/* check everything first, so that a refusal changes nothing */
	foreach(lc, e->members)
	{
		Member	   *m = lfirst(lc);
		Oid			namespace = get_namespace_oid(m->original_schema, true);
		const char *name = (m == main && new_name) ? new_name : m->original_name;

		if (!OidIsValid(namespace))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_SCHEMA),
					 errmsg("agentguard: cannot restore quarantine entry " INT64_FORMAT ": schema \"%s\" is gone",
							id, m->original_schema),
					 errhint("Create schema \"%s\" again, then restore.", m->original_schema)));
		if (strcmp(m->sql_kind, "FUNCTION") != 0 && strcmp(m->sql_kind, "PROCEDURE") != 0 &&
			strcmp(m->sql_kind, "AGGREGATE") != 0 && strcmp(m->sql_kind, "STATISTICS") != 0 &&
			OidIsValid(get_relname_relid(name, namespace)))
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_TABLE),
					 errmsg("agentguard: cannot restore quarantine entry " INT64_FORMAT ": \"%s.%s\" already exists",
							id, m->original_schema, name),
					 errhint(m == main ? "Restore under another name: SELECT agentguard.restore(" INT64_FORMAT ", 'new_name')." :
							 "Rename or drop the object that took the name, then restore.", id)));
	}

	context.callback = restore_context;
	context.arg = &id;
	context.previous = error_context_stack;
	error_context_stack = &context;
	foreach(lc, e->members)
	{
		Member	   *m = lfirst(lc);

		Oid			routine;

		if (!m->alone)
			continue;
		routine = is_routine(m) ? quarantined_routine(m) : InvalidOid;
		run_sql(sql_text("ALTER %s %s SET SCHEMA %s", m->sql_kind, member_in_quarantine(m),
						 quote_identifier(m->original_schema)));
		run_sql(sql_text("ALTER %s %s RENAME TO %s", m->sql_kind,
						 OidIsValid(routine) ? format_procedure_qualified(routine) :
						 qualified(m->original_schema, m->quarantined_name),
						 quote_identifier((m == main && new_name) ? new_name : m->original_name)));
	}
	foreach(lc, e->members)
	{
		Member	   *m = lfirst(lc);

		if (m->alone)
			continue;
		run_sql(sql_text("ALTER %s %s RENAME TO %s", m->sql_kind,
						 qualified(m->original_schema, m->quarantined_name),
						 quote_identifier(m->original_name)));
	}
	foreach(lc, e->restore_steps)
		run_sql(lfirst(lc));
	error_context_stack = context.previous;

	forget_entry(id);
	restored_as = qualified(main->original_schema, new_name ? new_name : main->original_name);
	ag_ledger_audit("restore", e->kind, restored_as, NULL,
					psprintf("entry " INT64_FORMAT ", %d objects", id, list_length(e->members)));
	ereport(LOG,
			(errmsg("agentguard: restored role=%s database=%s entry=" INT64_FORMAT " objects=\"%s\"",
					quote_identifier(session_user_name()),
					quote_identifier(get_database_name(MyDatabaseId)), id, restored_as),
			 errhidestmt(true)));
	/* SPI's memory goes away at close: the answer is made in the caller's */
	result = MemoryContextStrdup(caller, psprintf("restored %s", restored_as));
	ag_ledger_close(&ls);
	PG_RETURN_TEXT_P(cstring_to_text(result));
}

static void
purge_context(void *arg)
{
	errcontext("purging quarantine entry " INT64_FORMAT " (objects of other entries may depend on it)",
			   *(int64 *) arg);
}

static void
purge_entry(Entry *e)
{
	ErrorContextCallback context;

	/*
	 * Dependents come after what they depend on, so dropping from the end
	 * needs no CASCADE, which could reach objects of other entries.
	 */
	context.callback = purge_context;
	context.arg = &e->id;
	context.previous = error_context_stack;
	error_context_stack = &context;
	for (int i = list_length(e->members) - 1; i >= 0; i--)
	{
		Member	   *m = list_nth(e->members, i);
		char	   *where = m->alone ? member_in_quarantine(m) : NULL;

		if (where)
			run_sql(sql_text("DROP %s IF EXISTS %s", m->sql_kind, where));
	}
	error_context_stack = context.previous;
	forget_entry(e->id);
	ag_ledger_audit("purge", e->kind, qualified(e->original_schema, e->original_name), NULL,
					psprintf("entry " INT64_FORMAT ", was %s", e->id, e->quarantined_as));
	ereport(LOG,
			(errmsg("agentguard: purged role=%s database=%s entry=" INT64_FORMAT " objects=\"%s\"",
					quote_identifier(session_user_name()),
					quote_identifier(get_database_name(MyDatabaseId)), e->id,
					qualified(e->original_schema, e->original_name)),
			 errhidestmt(true)));
}

/* purging destroys: an agent session needs a DBA's confirmation for it */
static void
guard_purge(const char *what)
{
	AgStatement statement = {0};

	if (!ag_session_is_agent())
		return;
	statement.action = "PURGE";
	statement.verb = "purge";
	statement.targets = list_make1(pstrdup(what));
	ag_statement_text(debug_query_string, -1, 0, &statement.text, &statement.textlen);
	ag_guard(&statement, NULL);
}

/* agentguard.purge(id) */
Datum
agentguard_purge(PG_FUNCTION_ARGS)
{
	int64		id = PG_GETARG_INT64(0);
	AgLedgerSession ls;
	Entry	   *e;

	if (!ag_ledger_open(&ls))
		elog(ERROR, "agentguard: the extension is not installed in this database");
	e = load_entry(id);
	ag_ledger_close(&ls);
	guard_purge(e->quarantined_as);
	ag_ledger_open(&ls);
	purge_entry(load_entry(id));
	ag_ledger_close(&ls);
	PG_RETURN_VOID();
}

/* agentguard.purge_expired(): purge entries past their expiry */
Datum
agentguard_purge_expired(PG_FUNCTION_ARGS)
{
	AgLedgerSession ls;
	int64	   *ids;
	int			count;

	guard_purge("expired quarantine entries");
	if (!ag_ledger_open(&ls))
		elog(ERROR, "agentguard: the extension is not installed in this database");
	if (SPI_execute("SELECT id FROM agentguard.quarantine_entries WHERE expires_at <= now() ORDER BY id",
					false, 0) != SPI_OK_SELECT)
		elog(ERROR, "agentguard: could not read the quarantine");
	count = (int) SPI_processed;
	ids = palloc(sizeof(int64) * Max(count, 1));
	for (int i = 0; i < count; i++)
	{
		bool		isnull;

		ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	for (int i = 0; i < count; i++)
		purge_entry(load_entry(ids[i]));
	ag_ledger_close(&ls);
	PG_RETURN_INT32(count);
}
