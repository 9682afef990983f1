/*
 * citus_keep.c
 *		What agentguard's own work needs on a Citus cluster.
 *
 * A distributed table's rows live in its shards, tables of their own on
 * the workers (and, for a reference table, on the coordinator too), which
 * Citus keeps in step with the table on the coordinator: DDL on the table
 * is carried to every shard in the coordinator's distributed transaction,
 * and a DROP of the table drops every shard.
 *
 * - A trial (capture.c) only learns what a statement takes on this node,
 *   and is rolled back.  Run with Citus's DDL propagation, a trial DROP
 *   would drop every shard on every node through Citus's drop trigger,
 *   holding their locks until the two-phase commit of a rollback, as the
 *   agent's own role, which each worker's agentguard refuses as a new
 *   statement.  So a trial runs with citus.enable_ddl_propagation off: the
 *   drop trigger's functions then leave the shards and metadata alone.
 * - A confirmed DROP is kept by moving the table (capture.c, move.c):
 *   ALTER TABLE ... RENAME and SET SCHEMA, which Citus carries to every
 *   shard on every node, so each node keeps its shards' rows, and restore
 *   and purge are carried the same way.  agentguard's own work turns
 *   propagation on for itself, whatever the session set (a DBA may have
 *   turned it off; without it the shards would be left behind, under
 *   names and in schemas the table no longer has).
 * - A kept TRUNCATE cannot keep a Citus table's files on this node, which
 *   hold none of its rows: truncate_citus.c keeps them in a twin placed as
 *   the table is.  A kept DROP COLUMN or ALTER COLUMN TYPE is refused.
 *
 * Whether Citus is loaded is known once, when agentguard loads (citus.c
 * finds its settings): every caller tests ag_citus_loaded first, so a
 * server without Citus pays one test of a flag.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "nodes/parsenodes.h"
#include "nodes/primnodes.h"
#include "nodes/readfuncs.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "citus_keep.h"

bool		ag_citus_loaded = false;

#define CITUS_DDL_PROPAGATION "citus.enable_ddl_propagation"

void
ag_citus_trial_stays_here(void)
{
	/* the trial's subtransaction rolls it back */
	(void) set_config_option(CITUS_DDL_PROPAGATION, "off", PGC_SUSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
}

void
ag_citus_own_changes_propagate(void)
{
	/* the caller's AtEOXact_GUC at its nest level puts it back */
	(void) set_config_option(CITUS_DDL_PROPAGATION, "on", PGC_SUSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/* what a caller reads from the row it asked for: catalogId is the table's */
typedef void (*MetadataReader) (HeapTuple row, TupleDesc desc, Oid catalogId, void *arg);

/*
 * Does Citus's metadata table (in pg_catalog, where only a superuser with
 * allow_system_table_mods could make one of the name) have a row whose
 * first column is this OID?  If so, read (when given) reads it.  Without
 * CREATE EXTENSION citus in this database there is no such table, and no
 * Citus table either.  The tables are small, read in C, with no SQL an
 * agent could shadow.
 */
static bool
citus_metadata_row(const char *catalog_name, Oid oid, MetadataReader read, void *arg)
{
	Oid			catalogId = get_relname_relid(catalog_name, PG_CATALOG_NAMESPACE);
	Relation	catalog;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	row;
	bool		found;

	if (!OidIsValid(catalogId))
		return false;
	catalog = table_open(catalogId, AccessShareLock);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(oid));
	scan = systable_beginscan(catalog, InvalidOid, false, NULL, 1, &key);
	row = systable_getnext(scan);
	found = HeapTupleIsValid(row);
	if (found && read != NULL)
		read(row, RelationGetDescr(catalog), catalogId, arg);
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	return found;
}

bool
ag_citus_table(Oid relid)
{
	return citus_metadata_row("pg_dist_partition", relid, NULL, NULL);
}

/* a table's placement, and where asked for its distribution column */
typedef struct Placement
{
	Oid			relid;
	AgCitusPlacement placement;
	char	  **column;
} Placement;

/*
 * Its row in pg_dist_partition: partmethod 'h' is hash distribution, whose
 * partkey is the distribution column's Var as nodeToString wrote it;
 * partmethod 'n' with repmodel 't' (two-phase commit to every placement) is
 * a reference table.
 */
static void
read_placement(HeapTuple row, TupleDesc desc, Oid catalogId, void *arg)
{
	Placement  *p = arg;
	bool		isnull;
	char		method = DatumGetChar(heap_getattr(row, get_attnum(catalogId, "partmethod"), desc, &isnull));
	char		model = DatumGetChar(heap_getattr(row, get_attnum(catalogId, "repmodel"), desc, &isnull));
	Datum		partkey = heap_getattr(row, get_attnum(catalogId, "partkey"), desc, &isnull);

	p->placement = AG_CITUS_OTHER;
	if (method == 'h' && !isnull)
	{
		Var		   *var = (Var *) stringToNode(TextDatumGetCString(partkey));

		if (IsA(var, Var))
		{
			*p->column = get_attname(p->relid, var->varattno, false);
			p->placement = AG_CITUS_HASH;
		}
	}
	else if (method == 'n' && model == 't')
		p->placement = AG_CITUS_REFERENCE;
}

AgCitusPlacement
ag_citus_placement(Oid relid, char **column)
{
	Placement	p = {relid, AG_CITUS_NOT, column};

	(void) citus_metadata_row("pg_dist_partition", relid, read_placement, &p);
	return p.placement;
}

/*
 * The table a saved restore step alters (move.c and cascade.c write them:
 * ALTER TABLE, CREATE INDEX, CREATE TRIGGER, CREATE RULE, CREATE POLICY,
 * COMMENT ON INDEX), when it is a Citus table.
 */
bool
ag_citus_step_alters_citus_table(const char *sql)
{
	List	   *parsed = raw_parser(sql, RAW_PARSE_DEFAULT);
	Node	   *stmt = linitial_node(RawStmt, parsed)->stmt;
	RangeVar   *relation;
	Oid			relid;

	switch (nodeTag(stmt))
	{
		case T_AlterTableStmt:
			relation = ((AlterTableStmt *) stmt)->relation;
			break;
		case T_IndexStmt:
			relation = ((IndexStmt *) stmt)->relation;
			break;
		case T_CreateTrigStmt:
			relation = ((CreateTrigStmt *) stmt)->relation;
			break;
		case T_RuleStmt:
			relation = ((RuleStmt *) stmt)->relation;
			break;
		case T_CreatePolicyStmt:
			relation = ((CreatePolicyStmt *) stmt)->table;
			break;
		default:
			return false;
	}
	relid = RangeVarGetRelid(relation, NoLock, true);
	return OidIsValid(relid) && ag_citus_table(relid);
}

/* a schema of schema-based sharding, whose tables are its tenant's */
static bool
tenant_schema(Oid namespace)
{
	return OidIsValid(namespace) && citus_metadata_row("pg_dist_schema", namespace, NULL, NULL);
}

void
ag_citus_check_drop_kept(List *objects)
{
	ListCell   *lc;

	foreach(lc, objects)
	{
		ObjectAddress *a = lfirst(lc);
		Oid			namespace;

		/* a table's indexes, TOAST and types go with it: the table is named */
		if (a->classId == NamespaceRelationId)
			namespace = a->objectId;
		else if (a->classId == RelationRelationId && a->objectSubId == 0 &&
				 (get_rel_relkind(a->objectId) == RELKIND_RELATION ||
				  get_rel_relkind(a->objectId) == RELKIND_PARTITIONED_TABLE))
			namespace = get_rel_namespace(a->objectId);
		else
			continue;
		if (tenant_schema(namespace))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("agentguard: cannot quarantine this DROP: it would drop %s, of Citus's distributed schema %s",
							getObjectDescription(a, false), get_namespace_name(namespace)),
					 errdetail("agentguard keeps a dropped table by moving it into its quarantine schema, and Citus undistributes a table that leaves a distributed schema, taking every shard's rows to the coordinator."),
					 errhint("A DBA drops it, from a session that is not an agent session, with agentguard.quarantine_drops other than 'all'.")));
	}
}

void
ag_citus_check_columns_kept(List *tables)
{
	ListCell   *lc;

	foreach(lc, tables)
	{
		Oid			relid = lfirst_oid(lc);

		if (ag_citus_table(relid))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("agentguard: cannot quarantine this ALTER TABLE: %s is a Citus table",
							quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
													   get_rel_name(relid))),
					 errdetail("Its rows live in its shards, tables of their own on the workers, and agentguard would keep what the ALTER TABLE takes from the table on this node, which holds none of them: nothing was changed."),
					 errhint("A DBA runs it, from a session that is not an agent session, with agentguard.quarantine_drops other than 'all'; an agent can delete or update rows named in a WHERE clause, a batch at a time.")));
	}
}
