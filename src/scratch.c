/*
 * scratch.c
 *		Scratch tables: the rows of a table labelled 'scratch', or of any
 *		table in a schema labelled so, are the agent's to delete, update,
 *		merge and truncate without a confirmation.
 *
 * The label is read from pg_seclabel each time it is asked for, never
 * remembered: a DBA who removes it protects the rows from the next
 * statement on.  Only a table's own label and its schema's count, not a
 * partitioned parent's or an inheritance parent's, because an agent that
 * owns a table could attach it under a scratch parent; moving a table that
 * holds rows into a scratch schema is itself guarded (classify.c).
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "catalog/catalog.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "commands/seclabel.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "citus_keep.h"
#include "protect.h"
#include "scratch.h"

void
ag_scratch_check_label(const ObjectAddress *object, const char *seclabel)
{
	Oid			namespace;

	if (object->classId == RelationRelationId)
	{
		char		relkind = get_rel_relkind(object->objectId);

		if (object->objectSubId != 0 ||
			(relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("agentguard: only tables and schemas can be labelled scratch"),
					 errhint("Label the table itself: SECURITY LABEL FOR agentguard ON TABLE name IS 'scratch'.")));
		namespace = get_rel_namespace(object->objectId);
	}
	else
		namespace = object->objectId;

	if (seclabel != NULL && strcmp(seclabel, AG_SCRATCH_LABEL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("agentguard: \"%s\" is not a valid agentguard label for a table or schema",
						seclabel),
				 errdetail("Tables and schemas take 'scratch', or NULL, which removes the label.")));
	if (ag_namespace_protected(namespace) || IsCatalogNamespace(namespace) ||
		IsToastNamespace(namespace))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("agentguard: agentguard's own objects and the system catalogs cannot be scratch")));
	if (!superuser() || !superuser_arg(GetSessionUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("agentguard: only superusers can label tables and schemas scratch"),
				 errdetail("An agent's rows in a scratch table are unprotected: the decision is a DBA's.")));
}

bool
ag_scratch_labelled(const ObjectAddress *object)
{
	char	   *label = GetSecurityLabel(object, AG_LABEL_PROVIDER);

	return label != NULL && strcmp(label, AG_SCRATCH_LABEL) == 0;
}

bool
ag_table_is_scratch(Oid relid)
{
	ObjectAddress table;
	ObjectAddress schema;

	ObjectAddressSet(table, RelationRelationId, relid);
	ObjectAddressSet(schema, NamespaceRelationId, get_rel_namespace(relid));
	return ag_scratch_labelled(&table) ||
		(OidIsValid(schema.objectId) && ag_scratch_labelled(&schema));
}

/*
 * A partitioned table holds no rows of its own (its partitions are judged
 * each by themselves); a foreign table's rows are elsewhere and cannot be
 * counted, so it is taken to hold some.  The snapshot is the latest one, not
 * the transaction's: what TRUNCATE removes is every committed row, whatever
 * this transaction's snapshot saw.
 */
bool
ag_table_holds_no_rows(Oid relid)
{
	Relation	rel;
	bool		empty;

	/* a Citus table's rows are in its shards: its table here holds none */
	if (unlikely(ag_citus_loaded) && ag_citus_table(relid))
		return false;
	rel = table_open(relid, AccessShareLock);

	if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
		empty = true;
	else if (rel->rd_rel->relkind != RELKIND_RELATION)
		empty = false;
	else
	{
		Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
		TupleTableSlot *slot = table_slot_create(rel, NULL);
		TableScanDesc scan = table_beginscan(rel, snapshot, 0, NULL);

		empty = !table_scan_getnextslot(scan, ForwardScanDirection, slot);
		table_endscan(scan);
		ExecDropSingleTupleTableSlot(slot);
		UnregisterSnapshot(snapshot);
	}
	table_close(rel, AccessShareLock);
	return empty;
}

/*
 * A TRUNCATE of the table destroys nothing agentguard protects: its rows
 * are scratch, or it holds none.  Emptiness is only looked at for a table
 * the session may truncate, so that refusals never tell an agent whether a
 * table it cannot read holds rows.
 */
bool
ag_truncate_destroys_nothing(Oid relid)
{
	if (ag_table_is_scratch(relid))
		return true;
	return pg_class_aclcheck(relid, GetUserId(), ACL_TRUNCATE) == ACLCHECK_OK &&
		ag_table_holds_no_rows(relid);
}
