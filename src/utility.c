/*
 * utility.c
 *		Which utility statements destroy what: the ProcessUtility hook, and
 *		the object-access backstop that sees every object a statement drops
 *		or truncates, cascades included.
 *
 * The ProcessUtility hook names the statement's own targets, so the request
 * code says what the agent typed.  The backstop catches what the statement
 * takes with it that the typed names do not show (DROP SCHEMA ... CASCADE of
 * a new schema into which an old table was moved, DROP OWNED, DROP
 * EXTENSION with member tables, TRUNCATE ... CASCADE), and asks guard.c
 * about the same statement.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/objectaccess.h"
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_authid.h"
#include "catalog/catalog.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "catalog/pg_class.h"
#include "catalog/indexing.h"
#include "catalog/pg_database.h"
#include "catalog/pg_namespace.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "agentguard.h"

/*
 * One per utility statement of an agent session being run, innermost
 * first: the backstop needs the statement that caused a drop.
 */
typedef struct UtilityFrame
{
	Node	   *parsetree;
	const char *text;
	int			textlen;
	AgStatement *statement;		/* NULL unless the statement is destructive */
	bool		permitted;		/* observed or confirmed: let its drops go */
	struct UtilityFrame *outer;
} UtilityFrame;

static UtilityFrame *current_frame = NULL;

static void refuse_protected_object(Oid classId, Oid objectId, const char *verb);

static ProcessUtility_hook_type prev_utility_hook = NULL;
static object_access_hook_type prev_object_access_hook = NULL;

static bool
object_exempt(const ObjectAddress *address)
{
	Oid			namespace;

	if (address->classId == RelationRelationId)
	{
		if (get_rel_persistence(address->objectId) == RELPERSISTENCE_TEMP)
			return true;
	}
	else if (address->classId == NamespaceRelationId)
	{
		if (isAnyTempNamespace(address->objectId))
			return true;
	}
	else if (address->classId != AuthIdRelationId &&
			 address->classId != DatabaseRelationId)
	{
		namespace = get_object_namespace(address);
		if (OidIsValid(namespace) && isAnyTempNamespace(namespace))
			return true;
	}
	return ag_object_created_in_this_xact(address->classId, address->objectId,
										  address->objectSubId);
}

static AgStatement *
new_statement(const UtilityFrame *frame, const char *action, const char *verb)
{
	AgStatement *statement = palloc0(sizeof(AgStatement));

	statement->action = action;
	statement->verb = verb;
	statement->text = frame->text;
	statement->textlen = frame->textlen;
	return statement;
}

/*
 * Adds the object to the statement's targets; remembers whether any target
 * is one the rules protect.
 */
static void
add_target(AgStatement *statement, const ObjectAddress *address, bool *protected)
{
	char	   *identity = getObjectIdentity(address, true);

	if (identity == NULL)
		return;
	refuse_protected_object(address->classId, address->objectId, "destroy");
	statement->targets = lappend(statement->targets, identity);
	if (!object_exempt(address))
		*protected = true;
}

static bool
relkind_matches(ObjectType type, char relkind)
{
	switch (type)
	{
		case OBJECT_TABLE:
			return relkind == RELKIND_RELATION || relkind == RELKIND_PARTITIONED_TABLE;
		case OBJECT_VIEW:
			return relkind == RELKIND_VIEW;
		case OBJECT_MATVIEW:
			return relkind == RELKIND_MATVIEW;
		case OBJECT_SEQUENCE:
			return relkind == RELKIND_SEQUENCE;
		case OBJECT_FOREIGN_TABLE:
			return relkind == RELKIND_FOREIGN_TABLE;
		case OBJECT_INDEX:
			return relkind == RELKIND_INDEX || relkind == RELKIND_PARTITIONED_INDEX;
		default:
			return false;
	}
}

/*
 * The DROP kinds the contract protects, with their words.  Anything else
 * (triggers, rules, policies, extensions, ...) is left to the backstop,
 * which looks at what it actually drops.
 */
static bool
drop_kind(ObjectType type, const char **action, const char **verb)
{
	switch (type)
	{
#define KIND(t, a, v) case t: *action = a; *verb = v; return true
			KIND(OBJECT_TABLE, "DROP TABLE", "drop table");
			KIND(OBJECT_VIEW, "DROP VIEW", "drop view");
			KIND(OBJECT_MATVIEW, "DROP MATERIALIZED VIEW", "drop materialized view");
			KIND(OBJECT_SEQUENCE, "DROP SEQUENCE", "drop sequence");
			KIND(OBJECT_FOREIGN_TABLE, "DROP FOREIGN TABLE", "drop foreign table");
			KIND(OBJECT_INDEX, "DROP INDEX", "drop index");
			KIND(OBJECT_SCHEMA, "DROP SCHEMA", "drop schema");
			KIND(OBJECT_FUNCTION, "DROP FUNCTION", "drop function");
			KIND(OBJECT_PROCEDURE, "DROP PROCEDURE", "drop procedure");
			KIND(OBJECT_ROUTINE, "DROP ROUTINE", "drop routine");
			KIND(OBJECT_AGGREGATE, "DROP AGGREGATE", "drop aggregate");
			KIND(OBJECT_TYPE, "DROP TYPE", "drop type");
			KIND(OBJECT_DOMAIN, "DROP DOMAIN", "drop domain");
#undef KIND
		default:
			return false;
	}
}

static AgStatement *
classify_drop(const UtilityFrame *frame, DropStmt *drop, bool *protected)
{
	const char *action;
	const char *verb;
	AgStatement *statement;
	bool		drops_relations;
	ListCell   *lc;

	if (!drop_kind(drop->removeType, &action, &verb))
		return NULL;
	drops_relations = drop->removeType == OBJECT_TABLE ||
		drop->removeType == OBJECT_VIEW || drop->removeType == OBJECT_MATVIEW ||
		drop->removeType == OBJECT_SEQUENCE || drop->removeType == OBJECT_INDEX ||
		drop->removeType == OBJECT_FOREIGN_TABLE;
	statement = new_statement(frame, action, verb);

	foreach(lc, drop->objects)
	{
		ObjectAddress address;

		if (drops_relations)
		{
			RangeVar   *rv = makeRangeVarFromNameList(castNode(List, lfirst(lc)));
			Oid			relid = RangeVarGetRelid(rv, NoLock, true);

			/* missing, or of another kind: the server's own error follows */
			if (!OidIsValid(relid) ||
				!relkind_matches(drop->removeType, get_rel_relkind(relid)))
				continue;
			ObjectAddressSet(address, RelationRelationId, relid);
		}
		else
		{
			Relation	relation = NULL;

			/* the lock the drop itself takes next, so no upgrade can deadlock */
			address = get_object_address(drop->removeType, lfirst(lc),
										 &relation, AccessExclusiveLock, true);
			if (!OidIsValid(address.objectId))
				continue;
		}
		add_target(statement, &address, protected);
	}
	return statement;
}

static AgStatement *
classify_truncate(const UtilityFrame *frame, TruncateStmt *truncate, bool *protected)
{
	AgStatement *statement = new_statement(frame, "TRUNCATE", "truncate");
	ListCell   *lc;

	foreach(lc, truncate->relations)
	{
		Oid			relid = RangeVarGetRelid(lfirst_node(RangeVar, lc), NoLock, true);
		ObjectAddress address;

		if (!OidIsValid(relid))
			continue;
		ObjectAddressSet(address, RelationRelationId, relid);
		add_target(statement, &address, protected);
	}
	return statement;
}

/*
 * ALTER TYPE ... DROP ATTRIBUTE or ALTER ATTRIBUTE ... TYPE with CASCADE
 * changes the columns of every table of that type.
 */
static AgStatement *
classify_alter_type(const UtilityFrame *frame, AlterTableStmt *alter, bool *protected)
{
	Oid			relid = RangeVarGetRelid(alter->relation, NoLock, true);
	Oid			typid = OidIsValid(relid) ? get_rel_type_id(relid) : InvalidOid;
	ListCell   *lc;
	AgStatement *statement;
	ObjectAddress address;

	if (!OidIsValid(typid))
		return NULL;
	foreach(lc, alter->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		if ((cmd->subtype == AT_DropColumn || cmd->subtype == AT_AlterColumnType) &&
			cmd->behavior == DROP_CASCADE)
		{
			statement = new_statement(frame, "ALTER TYPE CASCADE", "change the tables of type");
			ObjectAddressSet(address, TypeRelationId, typid);
			add_target(statement, &address, protected);
			return statement;
		}
	}
	return NULL;
}

static AgStatement *
classify_alter_table(const UtilityFrame *frame, AlterTableStmt *alter, bool *protected)
{
	AgStatement *statement;
	bool		drops = false;
	bool		retypes = false;
	Oid			relid;
	ListCell   *lc;

	if (alter->objtype == OBJECT_TYPE)
		return classify_alter_type(frame, alter, protected);
	if (alter->objtype != OBJECT_TABLE && alter->objtype != OBJECT_FOREIGN_TABLE)
		return NULL;
	relid = RangeVarGetRelid(alter->relation, NoLock, true);
	if (!OidIsValid(relid))
		return NULL;

	statement = new_statement(frame, NULL, NULL);
	foreach(lc, alter->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);
		ObjectAddress address;
		AttrNumber	attnum;

		if (cmd->subtype == AT_DropColumn)
			drops = true;
		else if (cmd->subtype == AT_AlterColumnType)
			retypes = true;
		else
			continue;
		attnum = get_attnum(relid, cmd->name);
		if (attnum == InvalidAttrNumber)
			continue;
		ObjectAddressSubSet(address, RelationRelationId, relid, attnum);
		add_target(statement, &address, protected);
	}
	if (!drops && !retypes)
		return NULL;
	if (drops && retypes)
	{
		statement->action = "ALTER TABLE DROP COLUMN, ALTER COLUMN TYPE";
		statement->verb = "drop or change the type of columns";
	}
	else if (drops)
	{
		statement->action = "ALTER TABLE DROP COLUMN";
		statement->verb = "drop column";
	}
	else
	{
		statement->action = "ALTER TABLE ALTER COLUMN TYPE";
		statement->verb = "change the type of column";
	}
	return statement;
}

static AgStatement *
classify_roles(const UtilityFrame *frame, List *roles, const char *action,
			   const char *verb, bool *protected)
{
	AgStatement *statement = new_statement(frame, action, verb);
	ListCell   *lc;

	foreach(lc, roles)
	{
		Oid			roleid = get_rolespec_oid(lfirst(lc), true);
		ObjectAddress address;

		if (!OidIsValid(roleid))
			continue;
		ObjectAddressSet(address, AuthIdRelationId, roleid);
		add_target(statement, &address, protected);
	}
	return statement;
}

/*
 * The destructive statement this is, or NULL.  *protected says whether any
 * of its existing targets is one the rules protect (not temporary, not
 * created in this transaction).
 */
static AgStatement *
classify(const UtilityFrame *frame, bool *protected)
{
	Node	   *parsetree = frame->parsetree;

	*protected = false;
	switch (nodeTag(parsetree))
	{
		case T_DropStmt:
			return classify_drop(frame, (DropStmt *) parsetree, protected);
		case T_TruncateStmt:
			return classify_truncate(frame, (TruncateStmt *) parsetree, protected);
		case T_AlterTableStmt:
			return classify_alter_table(frame, (AlterTableStmt *) parsetree, protected);
		case T_DropdbStmt:
			{
				DropdbStmt *dropdb = (DropdbStmt *) parsetree;
				AgStatement *statement = new_statement(frame, "DROP DATABASE", "drop database");
				Oid			dbid = get_database_oid(dropdb->dbname, true);
				ObjectAddress address;

				if (OidIsValid(dbid))
				{
					ObjectAddressSet(address, DatabaseRelationId, dbid);
					add_target(statement, &address, protected);
				}
				return statement;
			}
		case T_DropRoleStmt:
			return classify_roles(frame, ((DropRoleStmt *) parsetree)->roles,
								  "DROP ROLE", "drop role", protected);
		case T_DropOwnedStmt:
			{
				AgStatement *statement =
					classify_roles(frame, ((DropOwnedStmt *) parsetree)->roles,
								   "DROP OWNED", "drop everything owned by", protected);

				/* what a role owns is never all new */
				*protected = statement->targets != NIL;
				return statement;
			}
		default:
			return NULL;
	}
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
static Oid
object_namespace(Oid classId, Oid objectId)
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
static void
refuse_protected_object(Oid classId, Oid objectId, const char *verb)
{
	Oid			namespace;

	if (ag_internal_changes_underway() || !OidIsValid(objectId))
		return;
	namespace = object_namespace(classId, objectId);
	if (namespace == PG_CATALOG_NAMESPACE)
		ag_refuse_outright(psprintf("%s objects in pg_catalog", verb),
						   "Objects there are part of the system catalogs, which every session trusts.");
	if (ag_namespace_protected(namespace))
		ag_refuse_outright(psprintf("%s agentguard's own objects", verb),
						   "agentguard's schemas hold its signers, confirmations, audit trail and quarantine.");
}

static bool
names_agentguard(List *names)
{
	ListCell   *lc;

	foreach(lc, names)
		if (strcmp(strVal(lfirst(lc)), "agentguard") == 0)
			return true;
	return false;
}

/*
 * Leaving a role labelled for agentguard (REVOKE it from a member) would
 * take its members' sessions out of agentguard's sight.
 */
static void
refuse_leaving_labelled(GrantRoleStmt *revoke)
{
	ListCell   *lc;

	foreach(lc, revoke->granted_roles)
	{
		AccessPriv *role = lfirst_node(AccessPriv, lc);
		Oid			roleid = role->priv_name ? get_role_oid(role->priv_name, true) : InvalidOid;

		if (OidIsValid(roleid) && ag_role_labelled(roleid))
			ag_refuse_outright("revoke membership in a role labelled for agentguard",
							   psprintf("Role %s carries an agentguard label; leaving it would end an agent session's protection.",
										role->priv_name));
	}
}

/*
 * Code in an untrusted language (C, internal, plperlu, plpython3u, ...) can
 * do anything the server's operating-system user can.
 */
static void
refuse_untrusted_language(List *options)
{
	const char *language = "sql";
	ListCell   *lc;
	HeapTuple	tuple;
	bool		trusted = true;

	foreach(lc, options)
	{
		DefElem    *option = lfirst_node(DefElem, lc);

		if (strcmp(option->defname, "language") == 0)
			language = strVal(option->arg);
	}
	tuple = SearchSysCache1(LANGNAME, CStringGetDatum(language));
	if (!HeapTupleIsValid(tuple))
		return;
	trusted = ((Form_pg_language) GETSTRUCT(tuple))->lanpltrusted;
	ReleaseSysCache(tuple);
	if (!trusted)
		ag_refuse_outright(psprintf("run or create code in the untrusted language %s", language),
						   "Untrusted code can load libraries and write the server's files.");
}

/*
 * RENAME, SET SCHEMA and OWNER TO are judged before they run: afterwards the
 * object may no longer be where it was, and the object-access hook would
 * look at its new place.
 */
static void
refuse_protected_target(ObjectType type, RangeVar *relation, Node *object,
						const char *verb)
{
	Relation	rel = NULL;
	ObjectAddress address;

	if (type == OBJECT_SCHEMA && object != NULL && IsA(object, String))
	{
		if (strncmp(strVal(object), "agentguard", strlen("agentguard")) == 0)
			refuse_protected_object(NamespaceRelationId,
									get_namespace_oid(strVal(object), true), verb);
		return;
	}
	if (relation != NULL)
	{
		refuse_protected_object(RelationRelationId,
								RangeVarGetRelid(relation, NoLock, true), verb);
		return;
	}
	if (object == NULL)
		return;

	/*
	 * Only the kinds agentguard's schemas hold, in the node form each
	 * statement gives them: types arrive as a name list, not a TypeName.
	 */
	switch (type)
	{
		case OBJECT_TYPE:
		case OBJECT_DOMAIN:
			if (!IsA(object, List))
				return;
			object = (Node *) makeTypeNameFromNameList((List *) object);
			break;
		case OBJECT_FUNCTION:
		case OBJECT_PROCEDURE:
		case OBJECT_ROUTINE:
		case OBJECT_AGGREGATE:
			if (!IsA(object, ObjectWithArgs))
				return;
			break;
		case OBJECT_STATISTIC_EXT:
			if (!IsA(object, List))
				return;
			break;
		default:
			return;
	}
	address = get_object_address(type, object, &rel, AccessShareLock, true);
	if (rel != NULL)
		relation_close(rel, NoLock);
	if (OidIsValid(address.objectId))
		refuse_protected_object(address.classId, address.objectId, verb);
}

/*
 * GRANT and REVOKE change who may write agentguard's tables and call its
 * functions, and fire no object-access hook, so they are judged here.
 */
static void
refuse_protected_grant(GrantStmt *grant)
{
	ListCell   *lc;

	foreach(lc, grant->objects)
	{
		Node	   *object = lfirst(lc);

		if (grant->targtype == ACL_TARGET_ALL_IN_SCHEMA)
			refuse_protected_object(NamespaceRelationId,
									get_namespace_oid(strVal(object), true), "grant on");
		else if (IsA(object, RangeVar))
			refuse_protected_object(RelationRelationId,
									RangeVarGetRelid((RangeVar *) object, NoLock, true), "grant on");
		else if (grant->targtype == ACL_TARGET_OBJECT &&
				 (grant->objtype == OBJECT_SCHEMA || grant->objtype == OBJECT_FUNCTION ||
				  grant->objtype == OBJECT_PROCEDURE || grant->objtype == OBJECT_ROUTINE ||
				  grant->objtype == OBJECT_TYPE || grant->objtype == OBJECT_DOMAIN))
		{
			Relation	relation = NULL;
			ObjectAddress address = get_object_address(grant->objtype, object, &relation,
													   AccessShareLock, true);

			if (OidIsValid(address.objectId))
				refuse_protected_object(address.classId, address.objectId, "grant on");
		}
	}
}

/*
 * SET, RESET, and ALTER ROLE/DATABASE ... SET or RESET of an agentguard
 * setting.  The check hooks see SET (it is validated) but not RESET, and a
 * non-superuser's SET is stopped by the server before any check hook with
 * a message that does not say why, so both are judged here; turning
 * agentguard.agent on is the one change an agent may make.
 */
static void
refuse_setting_change(VariableSetStmt *setstmt, bool as_default)
{
	if (setstmt->name != NULL && strcmp(setstmt->name, "allow_system_table_mods") == 0)
		ag_refuse_outright("change allow_system_table_mods",
						   "It would let the session rewrite the system catalogs.");
	if (setstmt->name == NULL || strncmp(setstmt->name, "agentguard.", 11) != 0)
		return;
	if (strcmp(setstmt->name, "agentguard.agent") == 0)
	{
		bool		on;

		/* in the session the latch decides, and its check hook explains */
		if (!as_default)
			return;
		if (setstmt->kind == VAR_SET_VALUE &&
			parse_bool(ExtractSetVariableArgs(setstmt), &on) && on)
			return;
	}
	ag_refuse_outright("change agentguard settings",
					   "Only turning agentguard.agent on is allowed in an agent session.");
}

static void
refuse_setting_defaults(VariableSetStmt *setstmt)
{
	if (setstmt->kind == VAR_RESET_ALL)
		ag_refuse_outright("reset all settings of a role or database",
						   "RESET ALL would remove the agentguard settings a DBA chose.");
	refuse_setting_change(setstmt, true);
}

/*
 * Statements an agent session may never run, confirmed or not: they would
 * switch the guard off or reach outside the database.
 */
static void
refuse_forbidden(Node *parsetree)
{
	switch (nodeTag(parsetree))
	{
		case T_AlterTableStmt:
			{
				AlterTableStmt *alter = (AlterTableStmt *) parsetree;
				Oid			relid = RangeVarGetRelid(alter->relation, NoLock, true);
				ListCell   *lc;

				if (OidIsValid(relid))
					refuse_protected_object(RelationRelationId, relid, "alter");
				foreach(lc, alter->cmds)
				{
					AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

					if (cmd->subtype == AT_AddInherit && cmd->def && IsA(cmd->def, RangeVar))
						refuse_protected_object(RelationRelationId,
												RangeVarGetRelid((RangeVar *) cmd->def, NoLock, true),
												"inherit from");
				}
				break;
			}
		case T_GrantStmt:
			refuse_protected_grant((GrantStmt *) parsetree);
			break;
		case T_RenameStmt:
			{
				RenameStmt *rename = (RenameStmt *) parsetree;

				refuse_protected_target(rename->renameType == OBJECT_SCHEMA ? OBJECT_SCHEMA :
										rename->renameType, rename->relation,
										rename->renameType == OBJECT_SCHEMA ?
										(Node *) makeString(rename->subname) : rename->object,
										"rename");
				break;
			}
		case T_AlterObjectSchemaStmt:
			{
				AlterObjectSchemaStmt *move = (AlterObjectSchemaStmt *) parsetree;

				refuse_protected_target(move->objectType, move->relation, move->object, "move");
				break;
			}
		case T_AlterOwnerStmt:
			{
				AlterOwnerStmt *owner = (AlterOwnerStmt *) parsetree;

				refuse_protected_target(owner->objectType, owner->relation, owner->object,
										"change the owner of");
				break;
			}
		case T_VariableSetStmt:
			refuse_setting_change((VariableSetStmt *) parsetree, false);
			break;
		case T_AlterRoleSetStmt:
			refuse_setting_defaults(((AlterRoleSetStmt *) parsetree)->setstmt);
			break;
		case T_AlterDatabaseSetStmt:
			refuse_setting_defaults(((AlterDatabaseSetStmt *) parsetree)->setstmt);
			break;
		case T_AlterSystemStmt:
			ag_refuse_outright("run ALTER SYSTEM",
							   "ALTER SYSTEM could change agentguard's own settings.");
			break;
		case T_LoadStmt:
			ag_refuse_outright("run LOAD",
							   "Loading code into the server could switch agentguard off.");
			break;
		case T_CopyStmt:
			{
				CopyStmt   *copy = (CopyStmt *) parsetree;
				Oid			relid;

				if (copy->is_program)
					ag_refuse_outright("run COPY TO or FROM PROGRAM",
									   "A program run by the server could do anything to its files.");
				if (copy->filename != NULL)
					ag_refuse_outright("run COPY TO or FROM a server file",
									   "Writing the server's files could rewrite its configuration; use COPY ... TO STDOUT or FROM STDIN.");
				if (!copy->is_from || copy->relation == NULL)
					break;
				relid = RangeVarGetRelid(copy->relation, NoLock, true);
				if (OidIsValid(relid) && IsCatalogRelationOid(relid))
					ag_refuse_outright("change system catalogs",
									   psprintf("COPY ... FROM would write rows into %s.", get_rel_name(relid)));
				if (OidIsValid(relid))
					refuse_protected_object(RelationRelationId, relid, "change");
				break;
			}
		case T_GrantRoleStmt:
			if (!((GrantRoleStmt *) parsetree)->is_grant)
				refuse_leaving_labelled((GrantRoleStmt *) parsetree);
			break;
		case T_AlterRoleStmt:
			{
				AlterRoleStmt *alter = (AlterRoleStmt *) parsetree;
				Oid			roleid = get_rolespec_oid(alter->role, true);

				/* ALTER GROUP labelled DROP USER ... */
				if (alter->action < 0 && OidIsValid(roleid) && ag_role_labelled(roleid))
					ag_refuse_outright("take members out of a role labelled for agentguard",
									   "Leaving an agent role would end an agent session's protection.");
				break;
			}
		case T_CreateStmt:
			{
				ListCell   *lc;

				foreach(lc, ((CreateStmt *) parsetree)->inhRelations)
					refuse_protected_object(RelationRelationId,
											RangeVarGetRelid(lfirst_node(RangeVar, lc), NoLock, true),
											"inherit from");
				break;
			}
		case T_CreateEventTrigStmt:
		case T_AlterEventTrigStmt:
			ag_refuse_outright("create or change event triggers",
							   "An event trigger runs its code in every session, a DBA's included.");
			break;
		case T_CommentStmt:
			{
				CommentStmt *comment = (CommentStmt *) parsetree;
				Relation	rel = NULL;
				ObjectAddress address;

				/* the object node as COMMENT itself reads it, with its lock */
				if (comment->objtype == OBJECT_DATABASE || comment->objtype == OBJECT_ROLE ||
					comment->objtype == OBJECT_TABLESPACE)
					break;
				address = get_object_address(comment->objtype, comment->object, &rel,
											 ShareUpdateExclusiveLock, true);
				if (rel != NULL)
					relation_close(rel, NoLock);
				if (OidIsValid(address.objectId))
					refuse_protected_object(address.classId, address.objectId, "comment on");
				break;
			}
		case T_CreatePLangStmt:
			ag_refuse_outright("create procedural languages",
							   "A language handler is code loaded into the server.");
			break;
		case T_CreateExtensionStmt:
			if (superuser())
				ag_refuse_outright("create extensions as a superuser",
								   "An extension's script runs as a superuser and can load code or reach outside the database.");
			break;
		case T_CreateFunctionStmt:
			/* a trusted extension's script is the DBA's choice, not the agent's */
			if (!creating_extension)
				refuse_untrusted_language(((CreateFunctionStmt *) parsetree)->options);
			break;
		case T_DoStmt:
			refuse_untrusted_language(((DoStmt *) parsetree)->args);
			break;
		case T_AlterDefaultPrivilegesStmt:
			{
				ListCell   *lc;

				foreach(lc, ((AlterDefaultPrivilegesStmt *) parsetree)->options)
				{
					DefElem    *option = lfirst_node(DefElem, lc);
					ListCell   *sc;

					if (strcmp(option->defname, "schemas") != 0)
						continue;
					foreach(sc, (List *) option->arg)
						refuse_protected_object(NamespaceRelationId,
												get_namespace_oid(strVal(lfirst(sc)), true),
												"change default privileges in");
				}
				break;
			}
		case T_AlterExtensionStmt:
			if (strcmp(((AlterExtensionStmt *) parsetree)->extname, "agentguard") == 0)
				ag_refuse_outright("alter the agentguard extension",
								   "The extension's objects hold its signers, tokens and quarantine.");
			break;
		case T_AlterExtensionContentsStmt:
			if (strcmp(((AlterExtensionContentsStmt *) parsetree)->extname, "agentguard") == 0)
				ag_refuse_outright("alter the agentguard extension",
								   "The extension's objects hold its signers, tokens and quarantine.");
			break;
		case T_DropStmt:
			if (((DropStmt *) parsetree)->removeType == OBJECT_EXTENSION &&
				names_agentguard(((DropStmt *) parsetree)->objects))
				ag_refuse_outright("drop the agentguard extension",
								   "The extension's objects hold its signers, tokens and quarantine.");
			break;
		default:
			break;
	}
}

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

		if (drop->removeType == OBJECT_SCHEMA)
		{
			namespace = get_namespace_oid(strVal(lfirst(lc)), true);
			ObjectAddressSet(address, NamespaceRelationId, namespace);
		}
		else
		{
			Oid			relid = RangeVarGetRelid(makeRangeVarFromNameList(lfirst(lc)), NoLock, true);

			if (!OidIsValid(relid) || !relkind_matches(drop->removeType, get_rel_relkind(relid)))
				continue;
			namespace = get_rel_namespace(relid);
			ObjectAddressSet(address, RelationRelationId, relid);
		}
		if (OidIsValid(address.objectId) && !object_exempt(&address) &&
			!ag_namespace_protected(namespace))
			return true;
	}
	return false;
}

static void
agentguard_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				   ProcessUtilityContext context, ParamListInfo params,
				   QueryEnvironment *queryEnv, DestReceiver *dest,
				   QueryCompletion *qc)
{
	UtilityFrame frame;
	bool		protected;
	UtilityCall call = {pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc};
	volatile bool quarantine = false;

	/* agentguard's own statements on an agent's behalf are already judged */
	if (ag_internal_changes_underway())
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
		if (ag_quarantine_drops == AG_QUARANTINE_ALL &&
			((IsA(frame.parsetree, DropStmt) &&
			  ag_quarantine_covers((DropStmt *) frame.parsetree) &&
			  drop_worth_keeping((DropStmt *) frame.parsetree)) ||
			 IsA(frame.parsetree, TruncateStmt) || IsA(frame.parsetree, DropdbStmt)))
		{
			AgStatement statement = {0};

			statement.action = GetCommandTagName(CreateCommandTag(frame.parsetree));
			ag_statement_text(queryString, pstmt->stmt_location, pstmt->stmt_len,
							  &statement.text, &statement.textlen);
			if (IsA(frame.parsetree, TruncateStmt))
				ag_quarantine_truncate(&statement, run_utility_call, &call);
			else if (IsA(frame.parsetree, DropdbStmt))
			{
				if (!ag_quarantine_dropdb((DropdbStmt *) frame.parsetree,
										  context == PROCESS_UTILITY_TOPLEVEL, &statement))
					run_utility_call(&call);
			}
			else
				ag_quarantine_drop((DropStmt *) frame.parsetree, &statement, run_utility_call, &call);
		}
		else
			run_utility_call(&call);
		return;
	}

	ag_statement_text(queryString, pstmt->stmt_location, pstmt->stmt_len,
					  &frame.text, &frame.textlen);
	frame.permitted = false;
	frame.outer = current_frame;

	/* what agents may never do holds in every mode, so off stays reversible */
	refuse_forbidden(frame.parsetree);
	if (ag_mode != AG_MODE_OFF)
	{
		frame.statement = classify(&frame, &protected);
		if (frame.statement && protected)
			frame.permitted = ag_guard(frame.statement, NULL) != AG_ALLOW;
		quarantine = frame.permitted && ag_quarantine_drops != AG_QUARANTINE_OFF &&
			(IsA(frame.parsetree, TruncateStmt) || IsA(frame.parsetree, DropdbStmt) ||
			 (IsA(frame.parsetree, DropStmt) && ag_quarantine_covers((DropStmt *) frame.parsetree)));
	}
	else
		frame.statement = NULL;

	current_frame = &frame;
	PG_TRY();
	{
		if (quarantine && IsA(frame.parsetree, TruncateStmt))
			ag_quarantine_truncate(frame.statement, run_utility_call, &call);
		else if (quarantine && IsA(frame.parsetree, DropdbStmt))
		{
			if (!ag_quarantine_dropdb((DropdbStmt *) frame.parsetree,
									  context == PROCESS_UTILITY_TOPLEVEL, frame.statement))
				run_utility_call(&call);
		}
		else if (quarantine)
			ag_quarantine_drop((DropStmt *) frame.parsetree, frame.statement,
							   run_utility_call, &call);
		else
			run_utility_call(&call);
	}
	PG_FINALLY();
	{
		current_frame = frame.outer;
	}
	PG_END_TRY();
}

/*
 * What the backstop protects when a statement takes it along: anything
 * holding rows or definitions others use (tables, views, sequences,
 * functions, types, schemas).  Indexes, constraints and TOAST go with their
 * table and come back with it; dropping them alone destroys no data.
 */
static bool
backstop_protects(Oid classId, Oid objectId, int subId)
{
	char		relkind;

	switch (classId)
	{
		case NamespaceRelationId:
		case ProcedureRelationId:
			return true;
		case TypeRelationId:
			{
				/* a table's row type and array type go with the table */
				HeapTuple	tuple = SearchSysCache1(TYPEOID, ObjectIdGetDatum(objectId));
				bool		protects = false;

				if (HeapTupleIsValid(tuple))
				{
					Form_pg_type type = (Form_pg_type) GETSTRUCT(tuple);

					protects = !IsTrueArrayType(type) &&
						(!OidIsValid(type->typrelid) ||
						 get_rel_relkind(type->typrelid) == RELKIND_COMPOSITE_TYPE);
					ReleaseSysCache(tuple);
				}
				return protects;
			}
		case RelationRelationId:
			break;
		default:
			return false;
	}
	relkind = get_rel_relkind(objectId);
	if (subId != 0)
		return relkind == RELKIND_RELATION || relkind == RELKIND_PARTITIONED_TABLE ||
			relkind == RELKIND_FOREIGN_TABLE;
	switch (relkind)
	{
		case RELKIND_RELATION:
		case RELKIND_PARTITIONED_TABLE:
		case RELKIND_MATVIEW:
		case RELKIND_VIEW:
		case RELKIND_FOREIGN_TABLE:
		case RELKIND_SEQUENCE:
			return true;
		default:
			return false;
	}
}

static void
backstop(Oid classId, Oid objectId, int subId, const char *action, const char *verb)
{
	ObjectAddress address;
	AgStatement *statement;
	char	   *identity;
	char	   *reason = NULL;

	if (current_frame && current_frame->permitted)
		return;
	ObjectAddressSubSet(address, classId, objectId, subId);
	if (object_exempt(&address))
		return;

	identity = getObjectIdentity(&address, true);
	if (identity == NULL)
		return;

	if (current_frame)
	{
		reason = psprintf("it would also %s %s %s", verb,
						  getObjectTypeDescription(&address, true), identity);
		statement = current_frame->statement;
		if (statement == NULL)
		{
			/* a statement whose name does not say it destroys: DROP EXTENSION, say */
			statement = new_statement(current_frame,
									  GetCommandTagName(CreateCommandTag(current_frame->parsetree)),
									  NULL);
			statement->targets = list_make1(identity);
		}
	}
	else
	{
		/* reached without a utility statement of an agent session around it */
		UtilityFrame outside = {0};

		ag_statement_text(debug_query_string, -1, 0, &outside.text, &outside.textlen);
		statement = new_statement(&outside, action, verb);
		statement->targets = list_make1(identity);
	}
	if (ag_guard(statement, reason) != AG_ALLOW && current_frame)
		current_frame->permitted = true;
}

static void
agentguard_object_access(ObjectAccessType access, Oid classId, Oid objectId,
						 int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);

	/* a trial DROP for the quarantine: only watch */
	if (ag_quarantine_capturing())
	{
		if (access == OAT_DROP)
			ag_quarantine_note_dropped(classId, objectId, subId);
		else if (access == OAT_TRUNCATE)
			ag_quarantine_note_truncated(objectId);
		return;
	}
	if (ag_internal_changes_underway())
		return;

	switch (access)
	{
		case OAT_POST_CREATE:
			if (!ag_session_is_agent())
				break;
			refuse_protected_object(classId, objectId, "create");
			if (!(classId == RelationRelationId && subId == 0))
				ag_session_note_created(classId, objectId, subId);
			break;
		case OAT_POST_ALTER:
			if (ag_session_is_agent())
				refuse_protected_object(classId, objectId, "alter");
			break;
		case OAT_DROP:
			if (!ag_session_is_agent())
				break;
			refuse_protected_object(classId, objectId, "drop");
			if (ag_mode != AG_MODE_OFF &&
				(((ObjectAccessDrop *) arg)->dropflags & PERFORM_DELETION_INTERNAL) == 0 &&
				backstop_protects(classId, objectId, subId))
				backstop(classId, objectId, subId, "DROP", "drop");
			break;
		case OAT_FUNCTION_EXECUTE:
			if (ag_session_is_agent())
				ag_check_function_execute(objectId);
			break;
		case OAT_TRUNCATE:
			if (!ag_session_is_agent())
				break;
			refuse_protected_object(RelationRelationId, objectId, "truncate");
			if (ag_mode != AG_MODE_OFF)
				backstop(RelationRelationId, objectId, 0, "TRUNCATE", "truncate");
			break;
		default:
			break;
	}
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
