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
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_database.h"
#include "catalog/pg_description.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_statistic_ext.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "postmaster/bgworker.h"
#include "storage/procarray.h"
#include "utils/json.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "agentguard.h"

#define QUARANTINE_SCHEMA "agentguard_quarantine"

PG_FUNCTION_INFO_V1(agentguard_restore);
PG_FUNCTION_INFO_V1(agentguard_purge);
PG_FUNCTION_INFO_V1(agentguard_purge_expired);

static void log_quarantine(const AgStatement *statement, const char *original, int64 entry,
						   const char *quarantined_as, int objects);

/* objects the trial DROP dropped (or TRUNCATE truncated), while watched */
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
ag_quarantine_note_truncated(Oid relid)
{
	/* a truncation is noted as the relation with sub-id -1 */
	ag_quarantine_note_dropped(RelationRelationId, relid, -1);
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
 * Run the DROP (or TRUNCATE) in a subtransaction and roll it back, noting
 * what it drops (or truncates).
 * Its errors are the server's own and reach the user unchanged.
 */
static List *
trial_drop(AgUtilityRunner run, void *run_arg, bool quiet)
{
	MemoryContext caller = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	List	   *result = NIL;
	ListCell   *lc;

	captured = NIL;
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

/* the schema an object is in, or that of the relation it is part of */
static Oid
namespace_of(const ObjectAddress *a)
{
	switch (a->classId)
	{
		case RelationRelationId:
			return get_rel_namespace(a->objectId);
		case ConstraintRelationId:
			return syscache_oid(CONSTROID, a->objectId, Anum_pg_constraint_connamespace);
		case TriggerRelationId:
			return get_rel_namespace(scanned_oid(TriggerRelationId, TriggerOidIndexId, Anum_pg_trigger_oid,
												 a->objectId, Anum_pg_trigger_tgrelid));
		case RewriteRelationId:
			return get_rel_namespace(scanned_oid(RewriteRelationId, RewriteOidIndexId, Anum_pg_rewrite_oid,
												 a->objectId, Anum_pg_rewrite_ev_class));
		case PolicyRelationId:
			return get_rel_namespace(scanned_oid(PolicyRelationId, PolicyOidIndexId, Anum_pg_policy_oid,
												 a->objectId, Anum_pg_policy_polrelid));
		case AttrDefaultRelationId:
			return get_rel_namespace(scanned_oid(AttrDefaultRelationId, AttrDefaultOidIndexId,
												 Anum_pg_attrdef_oid, a->objectId, Anum_pg_attrdef_adrelid));
		default:
			if (!is_objectclass_supported(a->classId))
				return InvalidOid;
			return get_object_namespace(a);
	}
}

static bool
in_dropped_schema(List *objects, const ObjectAddress *a)
{
	Oid			namespace = namespace_of(a);

	return OidIsValid(namespace) && captured_object(objects, NamespaceRelationId, namespace);
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
	/* a dropped schema is kept whole, with everything in it */
	if (a->classId == NamespaceRelationId || in_dropped_schema(objects, a))
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

static Oid
relation_owner(Oid relid)
{
	return syscache_oid(RELOID, relid, Anum_pg_class_relowner);
}

/*
 * Run SQL that may call code of the table's owner (a trigger, a partition
 * key, a constraint) as that owner, in a restricted operation, and not as
 * one of agentguard's own changes: the usual checks apply to what it does.
 */
static void
run_sql_as(Oid role, const char *sql)
{
	Oid			saved_user;
	int			saved_context;

	GetUserIdAndSecContext(&saved_user, &saved_context);
	SetUserIdAndSecContext(role, saved_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	ag_internal_changes_end();
	run_sql(sql);
	ag_internal_changes_begin();
	SetUserIdAndSecContext(saved_user, saved_context);
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
recreate_sql(const ObjectAddress *a, char **restore_sql, char **remove_sql, Oid *altered)
{
	switch (a->classId)
	{
		case ConstraintRelationId:
			{
				Oid			relid = syscache_oid(CONSTROID, a->objectId, Anum_pg_constraint_conrelid);
				char	   *name = get_constraint_name(a->objectId);
				char	   *definition = TextDatumGetCString(DirectFunctionCall1(pg_get_constraintdef,
																				  ObjectIdGetDatum(a->objectId)));

				*altered = relid;
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

				*altered = relid;
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

				*altered = relid;
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

/*
 * A step of restore is run as the owner of the table it alters: attaching a
 * partition or adding a foreign key evaluates that table's expressions, and
 * whatever code they call must run with its owner's rights, not agentguard's.
 */
static void
save_restore_step(int64 entry, int *position, const char *description, const char *restore_sql,
				  Oid altered_relation)
{
	Oid			types[5] = {INT8OID, INT4OID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[5];

	values[0] = Int64GetDatum(entry);
	values[1] = Int32GetDatum((*position)++);
	values[2] = CStringGetTextDatum(description);
	values[3] = CStringGetTextDatum(restore_sql);
	values[4] = CStringGetTextDatum(GetUserNameFromId(relation_owner(altered_relation), false));
	if (SPI_execute_with_args("INSERT INTO agentguard.quarantine_saved (entry_id, position, description, restore_sql, run_as) "
							  "VALUES ($1, $2, $3, $4, $5)", 5, types, values, NULL, false, 0) != SPI_OK_INSERT)
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

static void
save_schema_access(int64 entry, int position, const char *owner, const char *acl)
{
	Oid			types[4] = {INT8OID, INT4OID, TEXTOID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', acl ? ' ' : 'n'};

	values[0] = Int64GetDatum(entry);
	values[1] = Int32GetDatum(position);
	values[2] = CStringGetTextDatum(owner);
	values[3] = acl ? CStringGetTextDatum(acl) : (Datum) 0;
	if (SPI_execute_with_args("UPDATE ONLY agentguard.quarantine_members SET owner = $3, acl = $4 "
							  "WHERE entry_id = $1 AND position = $2",
							  4, types, values, nulls, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "agentguard: could not record a quarantined schema");
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
								   relation_qualified(parent), relation_qualified(relid), bound_text),
						  parent);
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
								   relation_qualified(relid), relation_qualified(parent)),
						  relid);
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

	if (drop->removeType == OBJECT_SCHEMA)
		return NIL;
	foreach(lc, drop->objects)
	{
		Oid			relid = RangeVarGetRelid(makeRangeVarFromNameList(lfirst(lc)), NoLock, true);

		if (OidIsValid(relid) && captured_relation(objects, relid))
			relids = lappend_oid(relids, relid);
	}
	return relids;
}

/* the schemas a DROP SCHEMA names, in its order, that the trial dropped */
static List *
named_schemas(DropStmt *drop, List *objects)
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

/* the next quarantine entry's number */
static int64
new_entry_id(void)
{
	bool		isnull;

	if (SPI_execute("SELECT nextval('agentguard.quarantine_ids')", false, 1) != SPI_OK_SELECT)
		elog(ERROR, "agentguard: could not number a quarantine entry");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* the entry's row, kept for agentguard.retention from now */
static void
record_entry(int64 entry, const char *kind, const char *schema, const char *name,
			 const char *quarantined_as, const AgStatement *statement)
{
	Oid			types[8] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[8];

	values[0] = Int64GetDatum(entry);
	values[1] = CStringGetTextDatum(kind);
	values[2] = CStringGetTextDatum(schema);
	values[3] = CStringGetTextDatum(name);
	values[4] = CStringGetTextDatum(quarantined_as);
	values[5] = CStringGetTextDatum(session_user_name());
	values[6] = CStringGetTextDatum(pnstrdup(statement->text, statement->textlen));
	values[7] = CStringGetTextDatum(ag_retention);
	if (SPI_execute_with_args("INSERT INTO agentguard.quarantine_entries "
							  "(id, kind, original_schema, original_name, quarantined_as, dropped_by, "
							  "dropped_at, expires_at, statement) "
							  "VALUES ($1, $2, $3, $4, $5, $6, now(), now() + $8::interval, $7)",
							  8, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "agentguard: could not record the quarantine entry");
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
	char	   *prefix = position == 0 ? psprintf("agentguard_q" INT64_FORMAT "_", entry) :
		psprintf("agentguard_q" INT64_FORMAT "_%d_", entry, position);
	int			keep = pg_mbcliplen(name, strlen(name), NAMEDATALEN - 1 - strlen(prefix));
	char	   *quarantined = psprintf("%s%.*s", prefix, keep, name);
	Oid			types[1] = {OIDOID};
	Datum		values[1];
	Moved		m = {0};
	char	   *owner;
	char	   *acl;

	values[0] = ObjectIdGetDatum(namespace);
	if (SPI_execute_with_args("SELECT pg_catalog.pg_get_userbyid(nspowner), nspacl::text "
							  "FROM pg_catalog.pg_namespace WHERE oid = $1",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "agentguard: could not read schema %s", name);
	owner = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	acl = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);

	run_sql(sql_text("ALTER SCHEMA %s RENAME TO %s", quote_identifier(name), quote_identifier(quarantined)));
	run_sql(sql_text("ALTER SCHEMA %s OWNER TO %s", quote_identifier(quarantined),
					 quote_identifier(GetUserNameFromId(GetUserId(), false))));
	run_sql(sql_text("REVOKE ALL ON SCHEMA %s FROM PUBLIC", quote_identifier(quarantined)));
	if (acl != NULL)
	{
		Oid			acltypes[2] = {TEXTOID, TEXTOID};
		Datum		aclvalues[2];

		aclvalues[0] = CStringGetTextDatum(acl);
		aclvalues[1] = CStringGetTextDatum(quarantined);
		if (SPI_execute_with_args("SELECT pg_catalog.format('REVOKE ALL ON SCHEMA %I FROM %I', $2, "
								  "pg_catalog.pg_get_userbyid(grantee)) "
								  "FROM pg_catalog.aclexplode($1::pg_catalog.aclitem[]) WHERE grantee <> 0 "
								  "GROUP BY grantee", 2, acltypes, aclvalues, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "agentguard: could not read the grants of schema %s", name);
		{
			SPITupleTable *revokes = SPI_tuptable;
			uint64		count = SPI_processed;

			for (uint64 i = 0; i < count; i++)
				run_sql(SPI_getvalue(revokes->vals[i], revokes->tupdesc, 1));
		}
	}

	m.sql_kind = "SCHEMA";
	m.schema = name;
	m.name = name;
	m.args = "";
	save_member(entry, position, &m, true, quarantined);
	save_schema_access(entry, position, owner, acl);
	return quarantined;
}

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
			return ag_quarantine_drops != AG_QUARANTINE_OFF;
		default:
			return false;
	}
}

void
ag_quarantine_drop(DropStmt *drop, const AgStatement *statement,
				   AgUtilityRunner run, void *run_arg)
{
	List	   *objects = trial_drop(run, run_arg, false);
	List	   *targets = named_relations(drop, objects);
	List	   *schemas = named_schemas(drop, objects);
	List	   *moves = NIL;
	AgLedgerSession ls;
	ListCell   *lc;
	int64		entry;
	int			position = 0;
	int			step = 0;
	Oid			first;
	char	   *quarantined_as;
	char	   *schema_names;
	char	   *original;

	if (targets == NIL && schemas == NIL)
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

	entry = new_entry_id();

	if (schemas != NIL)
	{
		first = InvalidOid;
		quarantined_as = NULL;
	}
	else
	{
		first = linitial_oid(targets);
		quarantined_as = qualified(QUARANTINE_SCHEMA, quarantine_name(entry, 0, get_rel_name(first)));
	}
	{
		char	   *schema = schemas != NIL ? get_namespace_name(linitial_oid(schemas)) :
			get_namespace_name(get_rel_namespace(first));

		/* a schema's quarantine name is only known once it is renamed */
		record_entry(entry, schemas != NIL ? "schema" : entry_kind(first), schema,
					 schemas != NIL ? schema : get_rel_name(first),
					 quarantined_as ? quarantined_as : "", statement);
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
		Oid			altered;

		if (keeping_of(objects, a) != KEEP_RECREATE)
			continue;
		recreate_sql(a, &restore_sql, &remove_sql, &altered);
		save_restore_step(entry, &step, getObjectDescription(a, false), restore_sql, altered);
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
	schema_names = schemas != NIL ? get_namespace_name(linitial_oid(schemas)) : NULL;
	original = schemas != NIL ? pstrdup(quote_identifier(schema_names)) : relation_qualified(first);
	foreach(lc, schemas)
	{
		char	   *renamed = quarantine_schema(entry, position, lfirst_oid(lc));

		if (quarantined_as == NULL)
		{
			Oid			types[2] = {INT8OID, TEXTOID};
			Datum		values[2];

			quarantined_as = pstrdup(quote_identifier(renamed));
			values[0] = Int64GetDatum(entry);
			values[1] = CStringGetTextDatum(quarantined_as);
			if (SPI_execute_with_args("UPDATE ONLY agentguard.quarantine_entries SET quarantined_as = $2 WHERE id = $1",
									  2, types, values, NULL, false, 0) != SPI_OK_UPDATE)
				elog(ERROR, "agentguard: could not record the quarantine entry");
		}
		position++;
	}
	if (schemas != NIL)
		position--;
	foreach(lc, moves)
	{
		Moved	   *m = lfirst(lc);

		move_into_quarantine(entry, &position, m, schemas == NIL && lc == list_head(moves));
	}
	log_quarantine(statement, original, entry, quarantined_as,
				   list_length(moves) + list_length(schemas));
	ag_ledger_close(&ls);
}

/* a JSON string for a C string, for the database quarantine record */
static char *
json_text(const char *s)
{
	StringInfoData buf;

	initStringInfo(&buf);
	escape_json(&buf, s);
	return buf.data;
}

/*
 * The audit row and the log line of a quarantine: who, where, what (by its
 * name before the move) and the request code of the statement.
 */
static void
log_quarantine(const AgStatement *statement, const char *original, int64 entry,
			   const char *quarantined_as, int objects)
{
	char	   *code = ag_request_code(statement);

	ag_ledger_audit("quarantine", statement->action,
					psprintf("%s (entry " INT64_FORMAT ", %d objects)", original, entry, objects),
					code, quarantined_as ? psprintf("kept as %s", quarantined_as) : NULL);
	ereport(LOG,
			(errmsg("agentguard: quarantined role=%s database=%s action=\"%s\" objects=\"%s\" request=%s entry=" INT64_FORMAT "%s%s",
					quote_identifier(session_user_name()),
					quote_identifier(get_database_name(MyDatabaseId)),
					statement->action, original, code, entry,
					quarantined_as ? " as=" : "", quarantined_as ? quarantined_as : ""),
			 errhidestmt(true)));
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
	char	   *owner;			/* of a schema */
	char	   *acl;
} Member;

typedef struct RestoreStep
{
	char	   *sql;
	char	   *run_as;			/* owner of the table the step alters */
} RestoreStep;

typedef struct Entry
{
	int64		id;
	char	   *kind;
	char	   *original_schema;
	char	   *original_name;
	char	   *quarantined_as;
	List	   *members;		/* Member, by position */
	List	   *restore_steps;	/* RestoreStep, in order */
} Entry;

static void
no_such_entry(int64 id)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("agentguard: there is no quarantine entry " INT64_FORMAT, id),
			 errhint("SELECT * FROM agentguard.quarantine lists the entries.")));
}

static Entry *
load_entry(int64 id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	Entry	   *e;

	values[0] = Int64GetDatum(id);
	if (SPI_execute_with_args("SELECT kind, original_schema, original_name, quarantined_as "
							  "FROM ONLY agentguard.quarantine_entries WHERE id = $1 FOR UPDATE",
							  1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "agentguard: could not read the quarantine");
	if (SPI_processed == 0)
		no_such_entry(id);
	e = palloc0(sizeof(Entry));
	e->id = id;
	e->kind = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	e->original_schema = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	e->original_name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	e->quarantined_as = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);

	if (SPI_execute_with_args("SELECT position, sql_kind, moves_alone, original_schema, original_name, "
							  "quarantined_name, args, owner, acl FROM ONLY agentguard.quarantine_members "
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
		m->owner = SPI_getvalue(row, desc, 8);
		m->acl = SPI_getvalue(row, desc, 9);
		e->members = lappend(e->members, m);
	}
	if (SPI_execute_with_args("SELECT restore_sql, run_as FROM ONLY agentguard.quarantine_saved "
							  "WHERE entry_id = $1 ORDER BY position",
							  1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "agentguard: could not read the quarantine");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		RestoreStep *rs = palloc(sizeof(RestoreStep));

		rs->sql = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		rs->run_as = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		e->restore_steps = lappend(e->restore_steps, rs);
	}
	return e;
}

static bool
is_rows(const Member *m)
{
	return strcmp(m->sql_kind, "ROWS") == 0;
}

/*
 * Rows a TRUNCATE removed go back into their table: every column that can
 * be written, identity values as they were.
 */
static void
restore_rows(const Member *m)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2];
	char	   *columns;

	values[0] = CStringGetTextDatum(m->original_schema);
	values[1] = CStringGetTextDatum(m->original_name);
	if (SPI_execute_with_args("SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum) "
							  "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
							  "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
							  "WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 "
							  "AND NOT a.attisdropped AND a.attgenerated = ''",
							  2, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "agentguard: could not read the columns of %s.%s", m->original_schema, m->original_name);
	columns = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (columns == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("agentguard: table \"%s.%s\" is gone; its rows cannot go back",
						m->original_schema, m->original_name)));
	/* the table's triggers fire: as its owner, and the copy is lent for it */
	{
		Oid			table = get_relname_relid(m->original_name,
											  get_namespace_oid(m->original_schema, false));
		Oid			owner = relation_owner(table);
		bool		lend = !superuser_arg(owner);
		const char *role = quote_identifier(GetUserNameFromId(owner, false));

		if (lend)
		{
			run_sql(sql_text("GRANT SELECT ON %s TO %s", qualified(QUARANTINE_SCHEMA, m->quarantined_name), role));
			run_sql(sql_text("GRANT USAGE ON SCHEMA %s TO %s", QUARANTINE_SCHEMA, role));
		}
		run_sql_as(owner, sql_text("INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s",
								   qualified(m->original_schema, m->original_name), columns, columns,
								   qualified(QUARANTINE_SCHEMA, m->quarantined_name)));
		if (lend)
			run_sql(sql_text("REVOKE USAGE ON SCHEMA %s FROM %s", QUARANTINE_SCHEMA, role));
	}
	run_sql(sql_text("DROP TABLE %s", qualified(QUARANTINE_SCHEMA, m->quarantined_name)));
}

static bool
is_schema(const Member *m)
{
	return strcmp(m->sql_kind, "SCHEMA") == 0;
}

/* a schema comes back with its owner and the grants it had */
static void
restore_schema(const Member *m, const char *name)
{
	run_sql(sql_text("ALTER SCHEMA %s RENAME TO %s", quote_identifier(m->quarantined_name),
					 quote_identifier(name)));
	run_sql(sql_text("ALTER SCHEMA %s OWNER TO %s", quote_identifier(name), quote_identifier(m->owner)));
	if (m->acl != NULL)
	{
		Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
		Datum		values[3];
		SPITupleTable *grants;
		uint64		count;

		values[0] = CStringGetTextDatum(m->acl);
		values[1] = CStringGetTextDatum(name);
		values[2] = CStringGetTextDatum(m->owner);
		if (SPI_execute_with_args("SELECT pg_catalog.format('GRANT %s ON SCHEMA %I TO %s%s', privilege_type, $2, "
								  "CASE grantee WHEN 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(grantee)) END, "
								  "CASE WHEN is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) "
								  "FROM pg_catalog.aclexplode($1::pg_catalog.aclitem[]) "
								  "WHERE grantee = 0 OR pg_catalog.pg_get_userbyid(grantee) <> $3",
								  3, types, values, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "agentguard: could not read the grants of schema %s", name);
		grants = SPI_tuptable;
		count = SPI_processed;
		for (uint64 i = 0; i < count; i++)
			run_sql(SPI_getvalue(grants->vals[i], grants->tupdesc, 1));
	}
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
	if (is_schema(m))
		return psprintf("%s CASCADE", quote_identifier(m->quarantined_name));
	return qualified(QUARANTINE_SCHEMA, m->quarantined_name);
}

/* what DROP needs for a member: a TRUNCATE's rows are a table */
static const char *
member_drop_kind(const Member *m)
{
	return is_rows(m) ? "TABLE" : m->sql_kind;
}

static void
forget_entry(int64 id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1];

	values[0] = Int64GetDatum(id);
	if (SPI_execute_with_args("DELETE FROM ONLY agentguard.quarantine_entries WHERE id = $1",
							  1, types, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "agentguard: could not update the quarantine");
}

/* a schema that comes back with the entry itself */
static bool
schema_in_entry(Entry *e, const char *schema)
{
	ListCell   *lc;

	foreach(lc, e->members)
	{
		Member	   *m = lfirst(lc);

		if (is_schema(m) && strcmp(m->original_name, schema) == 0)
			return true;
	}
	return false;
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

/* what the comment of a quarantined database says, or false if it is not one */
static bool
database_record(Oid dboid, char **original, bool *allow_connections, char **comment,
				char **quarantined, Oid *owner)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1];
	bool		isnull;

	values[0] = ObjectIdGetDatum(dboid);
	if (SPI_execute_with_args("SELECT r->>'original', (r->>'allow_connections')::boolean, r->>'comment', "
							  "d.datname, d.datdba "
							  "FROM pg_catalog.pg_database d "
							  "JOIN pg_catalog.pg_shdescription s ON s.objoid = d.oid "
							  "AND s.classoid = 'pg_catalog.pg_database'::pg_catalog.regclass, "
							  "LATERAL (SELECT s.description::jsonb AS r) j "
							  "WHERE d.oid = $1 AND d.datname LIKE 'agentguard\\_q%' "
							  "AND s.description LIKE '{\"agentguard\": 1%'",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "agentguard: could not read the quarantine");
	if (SPI_processed == 0)
		return false;
	*original = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	*allow_connections = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	*comment = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	*quarantined = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);
	*owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5, &isnull));
	return true;
}


/* a quarantined database reopens under its name (entries with negative ids) */
static char *
restore_database(int64 id, const char *new_name, AgLedgerSession *ls)
{
	char	   *original;
	char	   *comment;
	char	   *quarantined;
	bool		allow_connections;
	Oid			owner;
	const char *name;

	if (id >= 0 || -id > (int64) PG_UINT32_MAX ||
		!database_record((Oid) -id, &original, &allow_connections, &comment, &quarantined, &owner))
		no_such_entry(id);
	name = new_name ? new_name : original;
	if (!superuser_arg(ls->saved_user) && !ag_session_is_agent() && owner != ls->saved_user)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("agentguard: only a superuser or the owner of database %s can restore it", original)));
	if (OidIsValid(get_database_oid(name, true)))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_DATABASE),
				 errmsg("agentguard: cannot restore quarantine entry " INT64_FORMAT ": database \"%s\" already exists",
						id, name),
				 errhint("Restore under another name: SELECT agentguard.restore(" INT64_FORMAT ", 'new_name').", id)));
	run_sql(sql_text("ALTER DATABASE %s RENAME TO %s", quote_identifier(quarantined), quote_identifier(name)));
	run_sql(sql_text("ALTER DATABASE %s ALLOW_CONNECTIONS %s", quote_identifier(name),
					 allow_connections ? "true" : "false"));
	run_sql(sql_text("COMMENT ON DATABASE %s IS %s", quote_identifier(name),
					 comment ? quote_literal_cstr(comment) : "NULL"));
	ag_ledger_audit("restore", "database", quote_identifier(name), NULL,
					psprintf("entry " INT64_FORMAT ", was %s", id, quarantined));
	ereport(LOG,
			(errmsg("agentguard: restored role=%s database=%s entry=" INT64_FORMAT " objects=\"%s\"",
					quote_identifier(session_user_name()),
					quote_identifier(get_database_name(MyDatabaseId)), id, quote_identifier(name)),
			 errhidestmt(true)));
	return psprintf("restored database %s", quote_identifier(name));
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

	PreventCommandDuringRecovery("agentguard.restore()");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	id = PG_GETARG_INT64(0);
	if (!ag_ledger_open(&ls))
		elog(ERROR, "agentguard: the extension is not installed in this database");
	if (id < 0)
	{
		result = MemoryContextStrdup(caller, restore_database(id, new_name, &ls));
		ag_ledger_close(&ls);
		PG_RETURN_TEXT_P(cstring_to_text(result));
	}
	e = load_entry(id);
	main = main_member(e);
	main_relid = is_schema(main) ? InvalidOid :
		get_relname_relid(main->quarantined_name, get_namespace_oid(QUARANTINE_SCHEMA, false));

	/* restoring destroys nothing: agents may; others must own what comes back */
	if (!superuser_arg(ls.saved_user) && !ag_session_is_agent() &&
		!(OidIsValid(main_relid) && ag_object_ownercheck(RelationRelationId, main_relid, ls.saved_user)) &&
		!(is_schema(main) && strcmp(main->owner, GetUserNameFromId(ls.saved_user, false)) == 0))
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

		if (is_rows(m))
		{
			if (new_name != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("agentguard: the rows of a TRUNCATE go back into their own table"),
						 errhint("Restore without a new name.")));
			continue;
		}
		if (is_schema(m))
		{
			if (OidIsValid(get_namespace_oid(name, true)))
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_SCHEMA),
						 errmsg("agentguard: cannot restore quarantine entry " INT64_FORMAT ": schema \"%s\" already exists",
								id, name),
						 errhint(m == main ? "Restore under another name: SELECT agentguard.restore(" INT64_FORMAT ", 'new_name')." :
								 "Rename or drop the schema that took the name, then restore.", id)));
			continue;
		}
		if (!OidIsValid(namespace) && !schema_in_entry(e, m->original_schema))
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
		if (is_rows(m))
		{
			restore_rows(m);
			continue;
		}
		if (is_schema(m))
		{
			restore_schema(m, (m == main && new_name) ? new_name : m->original_name);
			continue;
		}
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
	{
		RestoreStep *rs = lfirst(lc);

		run_sql_as(get_role_oid(rs->run_as, false), rs->sql);
	}
	error_context_stack = context.previous;

	forget_entry(id);
	restored_as = is_schema(main) ? pstrdup(quote_identifier(new_name ? new_name : main->original_name)) :
		qualified(main->original_schema, new_name ? new_name : main->original_name);
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
			run_sql(sql_text("DROP %s IF EXISTS %s", member_drop_kind(m), where));
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

/*
 * DROP DATABASE cannot run inside a function, and purge is one.  The drop
 * runs instead in a background worker, in a transaction of its own, while
 * the caller waits; the caller has already checked who may purge, so the
 * worker connects as the bootstrap superuser, which any role may lack the
 * LOGIN for.  Like DROP DATABASE itself, this cannot be rolled back, so it is
 * refused inside a transaction block.
 */
typedef struct PurgeWorkerArgs
{
	Oid			connect_to;
	Oid			database;
} PurgeWorkerArgs;

PGDLLEXPORT void ag_purge_database_worker(Datum main_arg);

void
ag_purge_database_worker(Datum main_arg pg_attribute_unused())
{
	PurgeWorkerArgs args;
	char	   *name;

	memcpy(&args, MyBgworkerEntry->bgw_extra, sizeof(args));
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(args.connect_to, BOOTSTRAP_SUPERUSERID,
											  BGWORKER_BYPASS_ALLOWCONN);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	/* a restore that won the race has given it back its name: leave it */
	name = get_database_name(args.database);
	if (name && strncmp(name, "agentguard_q", strlen("agentguard_q")) == 0)
	{
		ag_internal_changes_begin();
		dropdb(name, true, false);
		ag_internal_changes_end();
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
}

static void
purge_database(int64 id, const char *quarantined)
{
	Oid			dboid = (Oid) -id;
	BackgroundWorker worker = {0};
	BackgroundWorkerHandle *handle;
	PurgeWorkerArgs args = {MyDatabaseId, dboid};
	pid_t		pid;

	if (IsTransactionBlock())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("agentguard: a quarantined database cannot be purged inside a transaction block"),
				 errdetail("Quarantine entry " INT64_FORMAT " is database %s; dropping it cannot be rolled back.",
						   id, quote_identifier(quarantined)),
				 errhint("Run SELECT agentguard.purge(" INT64_FORMAT ") on its own.", id)));
	snprintf(worker.bgw_name, BGW_MAXLEN, "agentguard purge of database %u", dboid);
	snprintf(worker.bgw_type, BGW_MAXLEN, "agentguard purge");
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "agentguard");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "ag_purge_database_worker");
	memcpy(worker.bgw_extra, &args, sizeof(args));
	worker.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle) ||
		WaitForBackgroundWorkerStartup(handle, &pid) == BGWH_POSTMASTER_DIED ||
		WaitForBackgroundWorkerShutdown(handle) == BGWH_POSTMASTER_DIED)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("agentguard: could not start a background worker to drop database %s",
						quote_identifier(quarantined)),
				 errhint("Raise max_worker_processes, or run DROP DATABASE %s from a session that is not an agent's.",
						 quote_identifier(quarantined))));
	AcceptInvalidationMessages();
	InvalidateCatalogSnapshot();
	if (SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum(dboid)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("agentguard: could not drop database %s", quote_identifier(quarantined)),
				 errdetail("The background worker that drops it failed; the server log says why."),
				 errhint("Make sure nothing is connected to it, then purge again.")));
}

/* a database entry (negative id), guarded unless the caller has done that */
static void
purge_database_entry(int64 id, bool guard)
{
	MemoryContext caller_context = CurrentMemoryContext;
	AgLedgerSession ls;
	char	   *original;
	char	   *comment;
	char	   *quarantined;
	bool		allow_connections;
	Oid			owner;

	ag_ledger_open(&ls);
	if (-id > (int64) PG_UINT32_MAX ||
		!database_record((Oid) -id, &original, &allow_connections, &comment, &quarantined, &owner))
		no_such_entry(id);
	quarantined = MemoryContextStrdup(caller_context, quarantined);
	original = MemoryContextStrdup(caller_context, original);
	ag_ledger_close(&ls);
	if (!ag_object_ownercheck(DatabaseRelationId, (Oid) -id, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_DATABASE, quarantined);
	if (guard)
		guard_purge(quarantined);
	purge_database(id, quarantined);
	ag_ledger_open(&ls);
	ag_ledger_audit("purge", "database", quote_identifier(original), NULL,
					psprintf("entry " INT64_FORMAT ", was %s", id, quarantined));
	ag_ledger_close(&ls);
	ereport(LOG,
			(errmsg("agentguard: purged role=%s database=%s entry=" INT64_FORMAT " objects=\"%s\"",
					quote_identifier(session_user_name()),
					quote_identifier(get_database_name(MyDatabaseId)), id, quote_identifier(original)),
			 errhidestmt(true)));
}

/* agentguard.purge(id) */
Datum
agentguard_purge(PG_FUNCTION_ARGS)
{
	int64		id = PG_GETARG_INT64(0);
	MemoryContext caller_context = CurrentMemoryContext;
	AgLedgerSession ls;
	char	   *quarantined_as;

	PreventCommandDuringRecovery("agentguard.purge()");
	if (!ag_ledger_open(&ls))
		elog(ERROR, "agentguard: the extension is not installed in this database");
	if (id < 0)
	{
		ag_ledger_close(&ls);
		purge_database_entry(id, true);
		PG_RETURN_VOID();
	}
	/* the entry lives in SPI's memory, gone once the ledger is closed */
	quarantined_as = MemoryContextStrdup(caller_context, load_entry(id)->quarantined_as);
	ag_ledger_close(&ls);
	guard_purge(quarantined_as);
	ag_ledger_open(&ls);
	purge_entry(load_entry(id));
	ag_ledger_close(&ls);
	PG_RETURN_VOID();
}

/* agentguard.purge_expired(): purge entries past their expiry */
Datum
agentguard_purge_expired(PG_FUNCTION_ARGS)
{
	MemoryContext caller_context = CurrentMemoryContext;
	AgLedgerSession ls;
	int64	   *ids;
	int64	   *database_ids;
	int			count;
	int			databases;

	PreventCommandDuringRecovery("agentguard.purge_expired()");
	guard_purge("expired quarantine entries");
	if (!ag_ledger_open(&ls))
		elog(ERROR, "agentguard: the extension is not installed in this database");
	if (SPI_execute("SELECT id FROM ONLY agentguard.quarantine_entries WHERE expires_at <= now() ORDER BY id",
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
	if (SPI_execute("SELECT -d.oid::bigint FROM pg_catalog.pg_database d "
					"JOIN pg_catalog.pg_shdescription s ON s.objoid = d.oid "
					"AND s.classoid = 'pg_catalog.pg_database'::pg_catalog.regclass "
					"WHERE d.datname LIKE 'agentguard\\_q%' AND s.description LIKE '{\"agentguard\": 1%' "
					"AND (s.description::jsonb->>'expires_at')::timestamptz <= now() ORDER BY 1",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "agentguard: could not read the quarantine");
	databases = (int) SPI_processed;
	database_ids = MemoryContextAlloc(caller_context, sizeof(int64) * Max(databases, 1));
	for (int i = 0; i < databases; i++)
	{
		bool		isnull;

		database_ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	ag_ledger_close(&ls);
	if (databases > 0 && IsTransactionBlock())
	{
		ereport(NOTICE,
				(errmsg("agentguard: %d expired quarantined databases were left, because a database cannot be dropped inside a transaction block",
						databases),
				 errhint("Run SELECT agentguard.purge_expired() on its own.")));
		databases = 0;
	}
	for (int i = 0; i < databases; i++)
		purge_database_entry(database_ids[i], false);
	PG_RETURN_INT32(count + databases);
}

/* ---- TRUNCATE ---- */

/*
 * A TRUNCATE keeps the rows it removes: each table it truncates (the named
 * ones, their partitions and children, and what CASCADE reaches) is copied
 * into quarantine first, then truncated for real.  Copying costs time in
 * proportion to the rows; make bench measures it.  Restore puts the rows
 * back, failing on any constraint with nothing changed.
 */
void
ag_quarantine_truncate(const AgStatement *statement, AgUtilityRunner run, void *run_arg)
{
	/* the real TRUNCATE follows and says what it cascades to */
	List	   *objects = trial_drop(run, run_arg, true);
	List	   *tables = NIL;
	AgLedgerSession ls;
	ListCell   *lc;
	int64		entry;
	int			position = 0;
	Oid			first;
	char	   *original;

	foreach(lc, objects)
	{
		ObjectAddress *a = lfirst(lc);

		if (a->objectSubId == -1 && get_rel_relkind(a->objectId) != RELKIND_PARTITIONED_TABLE &&
			!isAnyTempNamespace(get_rel_namespace(a->objectId)))
			tables = list_append_unique_oid(tables, a->objectId);
	}
	if (tables == NIL || !ag_ledger_open(&ls))
	{
		if (tables != NIL)
			ereport(WARNING,
					(errmsg("agentguard: TRUNCATE not quarantined: the extension is not installed in this database")));
		run(run_arg);
		return;
	}
	entry = new_entry_id();
	first = linitial_oid(tables);
	original = relation_qualified(first);
	record_entry(entry, "truncate", get_namespace_name(get_rel_namespace(first)), get_rel_name(first),
				 qualified(QUARANTINE_SCHEMA, quarantine_name(entry, 0, get_rel_name(first))), statement);
	foreach(lc, tables)
	{
		Oid			relid = lfirst_oid(lc);
		Moved		m = {0};
		char	   *copy = quarantine_name(entry, position, get_rel_name(relid));

		run_sql(sql_text("CREATE TABLE %s AS SELECT * FROM ONLY %s",
						 qualified(QUARANTINE_SCHEMA, copy), relation_qualified(relid)));
		m.sql_kind = "ROWS";
		m.schema = get_namespace_name(get_rel_namespace(relid));
		m.name = get_rel_name(relid);
		m.args = "";
		save_member(entry, position++, &m, true, copy);
	}
	log_quarantine(statement, original, entry, NULL, list_length(tables));
	ag_ledger_close(&ls);
	run(run_arg);
}

/* ---- DROP DATABASE ---- */

#define DATABASE_RECORD_PREFIX "{\"agentguard\": 1"

/*
 * A database is renamed and closed to connections.  Its record has to be
 * readable from every database, and a database's own tables are not, so it
 * lives in the shared catalog with the database: its comment holds it, as
 * JSON.  The view agentguard.quarantine reads it from there, with the
 * database's OID, negated, as the entry's id.
 *
 * Returns false when the DROP should just run (the database does not exist,
 * is the current one, or is already in quarantine): the server then gives
 * its own answer.
 */
bool
ag_quarantine_dropdb(DropdbStmt *stmt, bool top_level, const AgStatement *statement)
{
	Oid			dboid = get_database_oid(stmt->dbname, true);
	HeapTuple	tuple;
	Form_pg_database db;
	bool		allow_connections;
	bool		force = false;
	char	   *quarantined;
	char	   *comment;
	char	   *record;
	AgLedgerSession ls;
	ListCell   *lc;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];

	if (!OidIsValid(dboid) || dboid == MyDatabaseId ||
		strncmp(stmt->dbname, "agentguard_q", strlen("agentguard_q")) == 0)
		return false;
	PreventInTransactionBlock(top_level, "DROP DATABASE");
	if (!ag_object_ownercheck(DatabaseRelationId, dboid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_DATABASE, stmt->dbname);
	tuple = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dboid));
	if (!HeapTupleIsValid(tuple))
		return false;
	db = (Form_pg_database) GETSTRUCT(tuple);
	if (db->datistemplate)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot drop a template database")));
	allow_connections = db->datallowconn;
	ReleaseSysCache(tuple);
	foreach(lc, stmt->options)
	{
		DefElem    *option = lfirst_node(DefElem, lc);

		if (strcmp(option->defname, "force") == 0)
			force = true;
	}
	if (force)
		TerminateOtherDBBackends(dboid);

	ag_ledger_open_as(&ls, BOOTSTRAP_SUPERUSERID);
	values[0] = ObjectIdGetDatum(dboid);
	types[0] = OIDOID;
	if (SPI_execute_with_args("SELECT pg_catalog.shobj_description($1, 'pg_database')",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "agentguard: could not read the comment of database %s", stmt->dbname);
	comment = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	types[0] = TEXTOID;
	quarantined = psprintf("agentguard_q%u_%.*s", dboid,
						   pg_mbcliplen(stmt->dbname, strlen(stmt->dbname),
										NAMEDATALEN - 1 - (int) strlen(psprintf("agentguard_q%u_", dboid))),
						   stmt->dbname);
	values[0] = CStringGetTextDatum(psprintf("{\"agentguard\": 1, \"original\": %s, \"dropped_by\": %s, "
											 "\"allow_connections\": %s, \"comment\": %s, \"statement\": %s, ",
											 json_text(stmt->dbname), json_text(session_user_name()),
											 allow_connections ? "true" : "false",
											 comment ? json_text(comment) : "null",
											 json_text(pnstrdup(statement->text, statement->textlen))));
	if (SPI_execute_with_args(psprintf("SELECT $1 || '\"dropped_at\": ' || to_json(now())::text || "
									   "', \"expires_at\": ' || to_json(now() + %s::interval)::text || '}'",
									   quote_literal_cstr(ag_retention)),
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "agentguard: could not write the quarantine record");
	record = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	run_sql(sql_text("ALTER DATABASE %s RENAME TO %s", quote_identifier(stmt->dbname),
					 quote_identifier(quarantined)));
	run_sql(sql_text("ALTER DATABASE %s ALLOW_CONNECTIONS false", quote_identifier(quarantined)));
	run_sql(sql_text("COMMENT ON DATABASE %s IS %s", quote_identifier(quarantined),
					 quote_literal_cstr(record)));
	ereport(LOG,
			(errmsg("agentguard: quarantined role=%s database=%s action=\"%s\" objects=\"%s\" request=%s entry=-%u as=%s",
					quote_identifier(session_user_name()),
					quote_identifier(get_database_name(MyDatabaseId)),
					statement->action, quote_identifier(stmt->dbname), ag_request_code(statement),
					dboid, quarantined),
			 errhidestmt(true)));
	ag_ledger_close(&ls);
	return true;
}
