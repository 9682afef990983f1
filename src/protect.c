/*
 * protect.c
 *		agentguard's own objects (its schemas, the quarantine) and the system
 *		catalogs: no agent session creates, alters, drops or truncates them,
 *		superuser or not; only agentguard's own functions change them.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_trigger.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "owner.h"
#include "protect.h"
#include "xact.h"

/* agentguard's schemas, quarantined schemas and databases all begin so */
bool
ag_name_protected(const char *name)
{
	return strncmp(name, AG_NAME_PREFIX, strlen(AG_NAME_PREFIX)) == 0;
}

/*
 * agentguard's schemas: its tables, and quarantined objects.  A quarantine
 * schema made per event is named with the same prefix.
 */
bool
ag_namespace_protected(Oid namespace)
{
	Relation	catalog;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	bool		protected = false;

	if (!OidIsValid(namespace))
		return false;

	/*
	 * Read with SnapshotSelf: a schema created or renamed by the statement
	 * being checked is not in the syscache yet, and "CREATE SCHEMA
	 * agentguard" or "ALTER SCHEMA x RENAME TO agentguard" must be seen.
	 */
	catalog = table_open(NamespaceRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_namespace_oid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(namespace));
	scan = systable_beginscan(catalog, NamespaceOidIndexId, true, SnapshotSelf, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		const char *name = NameStr(((Form_pg_namespace) GETSTRUCT(tuple))->nspname);

		protected = ag_name_protected(name);
	}
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	return protected;
}

/*
 * The same question for committed schemas, asked for every write of an
 * agent session: answered from a list of agentguard's schema OIDs that is
 * read again whenever pg_namespace changes.
 */
static List *protected_namespaces = NIL;
static bool protected_namespaces_valid = false;

static void
forget_protected_namespaces(Datum arg pg_attribute_unused(), int cacheid pg_attribute_unused(),
							uint32 hashvalue pg_attribute_unused())
{
	protected_namespaces_valid = false;
}

bool
ag_namespace_protected_committed(Oid namespace)
{
	if (!protected_namespaces_valid)
	{
		Relation	catalog;
		SysScanDesc scan;
		HeapTuple	tuple;
		List	   *found = NIL;
		MemoryContext old;

		catalog = table_open(NamespaceRelationId, AccessShareLock);
		scan = systable_beginscan(catalog, InvalidOid, false, NULL, 0, NULL);
		while (HeapTupleIsValid(tuple = systable_getnext(scan)))
		{
			Form_pg_namespace row = (Form_pg_namespace) GETSTRUCT(tuple);

			if (ag_name_protected(NameStr(row->nspname)))
				found = lappend_oid(found, row->oid);
		}
		systable_endscan(scan);
		table_close(catalog, AccessShareLock);
		list_free(protected_namespaces);
		old = MemoryContextSwitchTo(ag_backend_context());
		protected_namespaces = list_copy(found);
		MemoryContextSwitchTo(old);
		protected_namespaces_valid = true;
	}
	return list_member_oid(protected_namespaces, namespace);
}

void
ag_refuse_outright(const char *what, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("agentguard: agent sessions cannot %s", what),
			 errdetail("%s", why),
			 errhint("A DBA does this from a session that is not an agent session; no confirmation changes that.")));
}

/*
 * One OID column of a catalog row, read with SnapshotSelf: object-access
 * hooks run before the command counter moves on, when the syscache cannot
 * see an object created or changed by the statement itself.
 */
static Oid
catalog_oid_column(Oid catalogId, Oid oidIndexId, AttrNumber oidColumn,
				   Oid objectId, AttrNumber column)
{
	Relation	catalog;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			result = InvalidOid;

	catalog = table_open(catalogId, AccessShareLock);
	ScanKeyInit(&key, oidColumn, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(objectId));
	scan = systable_beginscan(catalog, oidIndexId, true, SnapshotSelf, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		d = heap_getattr(tuple, column, RelationGetDescr(catalog), &isnull);

		if (!isnull)
			result = DatumGetObjectId(d);
	}
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	return result;
}

static Oid
relation_namespace(Oid relid)
{
	return catalog_oid_column(RelationRelationId, ClassOidIndexId, Anum_pg_class_oid,
							  relid, Anum_pg_class_relnamespace);
}

/* the namespace an object lives in, or that of the relation it is part of */
Oid
ag_object_namespace(Oid classId, Oid objectId)
{
	switch (classId)
	{
		case NamespaceRelationId:
			return objectId;
		case RelationRelationId:
			return relation_namespace(objectId);
		case TriggerRelationId:
			return relation_namespace(catalog_oid_column(classId, TriggerOidIndexId, Anum_pg_trigger_oid,
														 objectId, Anum_pg_trigger_tgrelid));
		case RewriteRelationId:
			return relation_namespace(catalog_oid_column(classId, RewriteOidIndexId, Anum_pg_rewrite_oid,
														 objectId, Anum_pg_rewrite_ev_class));
		case PolicyRelationId:
			return relation_namespace(catalog_oid_column(classId, PolicyOidIndexId, Anum_pg_policy_oid,
														 objectId, Anum_pg_policy_polrelid));
		case AttrDefaultRelationId:
			return relation_namespace(catalog_oid_column(classId, AttrDefaultOidIndexId, Anum_pg_attrdef_oid,
														 objectId, Anum_pg_attrdef_adrelid));
		default:
			if (!is_objectclass_supported(classId) ||
				get_object_attnum_namespace(classId) == InvalidAttrNumber)
				return InvalidOid;
			return catalog_oid_column(classId, get_object_oid_index(classId),
									  get_object_attnum_oid(classId), objectId,
									  get_object_attnum_namespace(classId));
	}
}

/*
 * Objects in agentguard's schemas, and the schemas themselves, change only
 * through agentguard's own functions: no agent session creates, alters,
 * drops or truncates them, superuser or not.
 */
void
ag_refuse_protected_object(Oid classId, Oid objectId, const char *verb)
{
	Oid			namespace;

	if (ag_internal_changes_underway() || !OidIsValid(objectId))
		return;
	namespace = ag_object_namespace(classId, objectId);
	if (namespace == PG_CATALOG_NAMESPACE)
		ag_refuse_outright(psprintf("%s objects in pg_catalog", verb),
						   "Objects there are part of the system catalogs, which every session trusts.");
	if (ag_namespace_protected(namespace))
		ag_refuse_outright(psprintf("%s agentguard's own objects", verb),
						   "agentguard's schemas hold its signers, confirmations, audit trail and quarantine.");
}


void
ag_protect_init(void)
{
	CacheRegisterSyscacheCallback(NAMESPACEOID, forget_protected_namespaces, (Datum) 0);
}
