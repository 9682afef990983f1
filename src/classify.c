/*
 * classify.c
 *		Which utility statements of an agent session destroy what.
 *
 * A statement names its targets, and the request code binds them by
 * identity (catalog and OID, and column number), so that renaming things
 * after an approval never points it at anything else.  What a statement
 * takes along that its names do not show (the partitions and children a
 * TRUNCATE reaches, what a CASCADE drops) is learned by a trial (capture.c)
 * for DROP, TRUNCATE and DROP COLUMN, and worked out here for a column
 * type change, which recurses into inheritance children and typed tables:
 * an exemption for a new parent or a new type never reaches an old table.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_largeobject.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "capture.h"
#include "classify.h"
#include "protect.h"
#include "scratch.h"
#include "session.h"

bool
ag_object_exempt(const ObjectAddress *address)
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
			 address->classId != DatabaseRelationId &&
			 address->classId != LargeObjectRelationId)
	{
		namespace = get_object_namespace(address);
		if (OidIsValid(namespace) && isAnyTempNamespace(namespace))
			return true;
	}
	return ag_object_created_in_this_xact(address->classId, address->objectId,
										  address->objectSubId);
}

bool
ag_object_kept(Oid classId, Oid objectId, int32 subId)
{
	char		relkind;

	switch (classId)
	{
		case NamespaceRelationId:
		case ProcedureRelationId:
		case LargeObjectRelationId:
			return true;
		case TypeRelationId:
			{
				/* a table's row type and array type go with the table */
				HeapTuple	tuple = SearchSysCache1(TYPEOID, ObjectIdGetDatum(objectId));
				bool		kept = false;

				if (HeapTupleIsValid(tuple))
				{
					Form_pg_type type = (Form_pg_type) GETSTRUCT(tuple);

					kept = !IsTrueArrayType(type) &&
						(!OidIsValid(type->typrelid) ||
						 get_rel_relkind(type->typrelid) == RELKIND_COMPOSITE_TYPE);
					ReleaseSysCache(tuple);
				}
				return kept;
			}
		case RelationRelationId:
			break;
		default:
			return false;
	}
	relkind = get_rel_relkind(objectId);
	if (subId > 0)
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

static AgStatement *
new_statement(const char *text, int textlen, const char *action, const char *verb)
{
	AgStatement *statement = palloc0(sizeof(AgStatement));

	statement->action = action;
	statement->verb = verb;
	statement->text = text;
	statement->textlen = textlen;
	return statement;
}

/*
 * The statement destroys the object: it is named in the request and bound
 * to it; whether it is one the rules protect is noted.
 */
static void
add_target(AgClassified *classified, const ObjectAddress *address)
{
	char	   *identity = getObjectIdentity(address, true);

	if (identity == NULL)
		return;
	ag_refuse_protected_object(address->classId, address->objectId, "destroy");
	classified->statement->targets = lappend(classified->statement->targets, identity);
	ag_statement_add_object(classified->statement, address);
	if (!ag_object_exempt(address))
		classified->protected = true;
}

/* a table a TRUNCATE empties: protected unless it destroys nothing */
static void
add_truncated(AgClassified *classified, const ObjectAddress *address)
{
	bool		was_protected = classified->protected;

	add_target(classified, address);
	if (!was_protected && classified->protected &&
		ag_truncate_destroys_nothing(address->objectId))
		classified->protected = false;
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
 * The DROP kinds the contract names, with their words.  Any other DROP
 * (extensions, collations, servers, ...) destroys only by what it takes
 * along, which its trial shows.
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

static void
classify_drop(DropStmt *drop, AgClassified *classified)
{
	bool		drops_relations;
	ListCell   *lc;

	drops_relations = drop->removeType == OBJECT_TABLE ||
		drop->removeType == OBJECT_VIEW || drop->removeType == OBJECT_MATVIEW ||
		drop->removeType == OBJECT_SEQUENCE || drop->removeType == OBJECT_INDEX ||
		drop->removeType == OBJECT_FOREIGN_TABLE;
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
			if (relation != NULL)
				relation_close(relation, NoLock);
			if (!OidIsValid(address.objectId))
				continue;
		}
		add_target(classified, &address);
		/* DROP INDEX CONCURRENTLY cannot run in a trial, and takes nothing along */
		classified->capture = !drop->concurrent;
	}
}

static void
classify_truncate(TruncateStmt *truncate, AgClassified *classified)
{
	ListCell   *lc;

	foreach(lc, truncate->relations)
	{
		Oid			relid = RangeVarGetRelid(lfirst_node(RangeVar, lc), NoLock, true);
		ObjectAddress address;

		if (!OidIsValid(relid))
			continue;
		ObjectAddressSet(address, RelationRelationId, relid);
		add_truncated(classified, &address);
		classified->capture = true;
	}
}

/* the tables of a composite type (CREATE TABLE ... OF, ALTER TABLE ... OF) */
static List *
typed_tables(Oid typid)
{
	Relation	catalog = table_open(RelationRelationId, AccessShareLock);
	SysScanDesc scan = systable_beginscan(catalog, InvalidOid, false, NULL, 0, NULL);
	HeapTuple	tuple;
	List	   *tables = NIL;

	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_class rel = (Form_pg_class) GETSTRUCT(tuple);

		if (rel->reloftype == typid)
			tables = lappend_oid(tables, rel->oid);
	}
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	return tables;
}

/* a table and, unless ONLY was written, its inheritance children */
static List *
with_children(Oid relid, bool recurse)
{
	if (!recurse || !has_subclass(relid))
		return list_make1_oid(relid);
	return find_all_inheritors(relid, NoLock, NULL);
}

/*
 * ALTER TABLE ... DROP COLUMN (learned by its trial), ALTER COLUMN ... TYPE
 * (in the named table, its children and, for ALTER TYPE ... CASCADE, the
 * tables of that type and theirs) and SET UNLOGGED of a table holding rows.
 */
static void
classify_alter_table(AlterTableStmt *alter, const char *text, int textlen,
					 AgClassified *classified)
{
	Oid			relid;
	List	   *tables;
	bool		drops = false;
	bool		retypes = false;
	bool		unlogs = false;
	ListCell   *lc;

	if (alter->objtype != OBJECT_TABLE && alter->objtype != OBJECT_FOREIGN_TABLE &&
		alter->objtype != OBJECT_TYPE)
		return;
	relid = RangeVarGetRelid(alter->relation, NoLock, true);
	if (!OidIsValid(relid))
		return;
	if (alter->objtype == OBJECT_TYPE)
	{
		Oid			typid = get_rel_type_id(relid);

		tables = NIL;
		foreach(lc, typed_tables(typid))
			tables = list_concat_unique_oid(tables, with_children(lfirst_oid(lc), true));
	}
	else
		tables = with_children(relid, alter->relation->inh);

	classified->statement = new_statement(text, textlen, NULL, NULL);
	foreach(lc, alter->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);
		ListCell   *tc;

		switch (cmd->subtype)
		{
			case AT_DropColumn:
				{
					AttrNumber	attnum = alter->objtype == OBJECT_TYPE ? InvalidAttrNumber :
						get_attnum(relid, cmd->name);
					ObjectAddress address;

					/* the children's columns, and what CASCADE takes, its trial shows */
					drops = true;
					classified->capture = true;
					if (attnum == InvalidAttrNumber)
						break;
					ObjectAddressSubSet(address, RelationRelationId, relid, attnum);
					add_target(classified, &address);
					break;
				}
			case AT_AlterColumnType:
				if (alter->objtype == OBJECT_TYPE && cmd->behavior != DROP_CASCADE)
					break;
				retypes = true;
				classified->retyped = lappend(classified->retyped, cmd->name);
				foreach(tc, tables)
				{
					AttrNumber	attnum = get_attnum(lfirst_oid(tc), cmd->name);
					ObjectAddress address;

					if (attnum == InvalidAttrNumber)
						continue;
					ObjectAddressSubSet(address, RelationRelationId, lfirst_oid(tc), attnum);
					add_target(classified, &address);
				}
				break;
			case AT_SetUnLogged:
				if (alter->objtype != OBJECT_TYPE && !ag_table_holds_no_rows(relid))
				{
					ObjectAddress address;

					unlogs = true;
					ObjectAddressSet(address, RelationRelationId, relid);
					add_target(classified, &address);
				}
				break;
			default:
				break;
		}
	}
	if (!drops && !retypes && !unlogs)
	{
		classified->statement = NULL;
		return;
	}
	if (alter->objtype == OBJECT_TYPE)
	{
		classified->statement->action = "ALTER TYPE";
		classified->statement->verb = "change the tables of type";
	}
	else if (drops + retypes + unlogs > 1)
	{
		StringInfoData action;

		initStringInfo(&action);
		appendStringInfoString(&action, "ALTER TABLE");
		if (drops)
			appendStringInfoString(&action, " DROP COLUMN");
		if (retypes)
			appendStringInfo(&action, "%s ALTER COLUMN TYPE", drops ? "," : "");
		if (unlogs)
			appendStringInfo(&action, "%s SET UNLOGGED", drops || retypes ? "," : "");
		classified->statement->action = action.data;
		classified->statement->verb = "change";
	}
	else
	{
		classified->statement->action = drops ? "ALTER TABLE DROP COLUMN" :
			retypes ? "ALTER TABLE ALTER COLUMN TYPE" : "ALTER TABLE SET UNLOGGED";
		classified->statement->verb = drops ? "drop column" :
			retypes ? "change the type of column" : "make unlogged";
	}
}

/*
 * A table moved into a schema labelled scratch leaves its rows to agents:
 * one holding rows is guarded like the TRUNCATE it would make free.
 */
static void
classify_set_schema(AlterObjectSchemaStmt *stmt, const char *text, int textlen,
					AgClassified *classified)
{
	Oid			relid;
	Oid			namespace;
	ObjectAddress address;

	if (stmt->objectType != OBJECT_TABLE || stmt->relation == NULL)
		return;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	namespace = get_namespace_oid(stmt->newschema, true);
	if (!OidIsValid(relid) || !OidIsValid(namespace) || ag_table_is_scratch(relid))
		return;
	ObjectAddressSet(address, NamespaceRelationId, namespace);
	if (!ag_scratch_labelled(&address) || ag_table_holds_no_rows(relid))
		return;
	classified->statement = new_statement(text, textlen, "ALTER TABLE SET SCHEMA", "move");
	classified->reason = psprintf("it holds rows, and schema %s is scratch: agents may delete its tables' rows freely",
								  quote_identifier(stmt->newschema));
	ObjectAddressSet(address, RelationRelationId, relid);
	add_target(classified, &address);
}

/*
 * Roles named by a statement.  Every DROP ROLE is guarded; a change to a
 * role (its attributes, password, name, settings or members) only when the
 * role is not an agent's: an agent may not make itself a DBA's rights.
 */
static void
classify_roles(List *roles, bool only_others, bool protects, AgClassified *classified)
{
	bool		was_protected = classified->protected;

	ListCell   *lc;

	foreach(lc, roles)
	{
		Node	   *role = lfirst(lc);
		Oid			roleid;
		ObjectAddress address;

		if (IsA(role, RoleSpec))
			roleid = get_rolespec_oid((RoleSpec *) role, true);
		else if (IsA(role, AccessPriv))
			roleid = ((AccessPriv *) role)->priv_name ?
				get_role_oid(((AccessPriv *) role)->priv_name, true) : InvalidOid;
		else
			roleid = get_role_oid(strVal(role), true);
		if (!OidIsValid(roleid) || (only_others && ag_role_is_agent(roleid)))
			continue;
		ObjectAddressSet(address, AuthIdRelationId, roleid);
		add_target(classified, &address);
	}
	if (!protects)
		classified->protected = was_protected;
}

/* the roles CREATE ROLE ... IN ROLE makes the new role a member of */
static List *
roles_joined(CreateRoleStmt *create)
{
	ListCell   *lc;

	foreach(lc, create->options)
	{
		DefElem    *option = lfirst_node(DefElem, lc);

		if (strcmp(option->defname, "addroleto") == 0)
			return (List *) option->arg;
	}
	return NIL;
}

static void
classify_role_change(Node *parsetree, const char *text, int textlen,
					 AgClassified *classified)
{
	List	   *roles = NIL;

	switch (nodeTag(parsetree))
	{
		case T_AlterRoleStmt:
			roles = list_make1(((AlterRoleStmt *) parsetree)->role);
			break;
		case T_AlterRoleSetStmt:
			if (((AlterRoleSetStmt *) parsetree)->role != NULL)
				roles = list_make1(((AlterRoleSetStmt *) parsetree)->role);
			break;
		case T_RenameStmt:
			roles = list_make1(makeString(((RenameStmt *) parsetree)->subname));
			break;
		case T_GrantRoleStmt:
			roles = ((GrantRoleStmt *) parsetree)->granted_roles;
			break;
		case T_CreateRoleStmt:
			roles = roles_joined((CreateRoleStmt *) parsetree);
			break;
		default:
			break;
	}
	classified->statement = new_statement(text, textlen,
										  GetCommandTagName(CreateCommandTag(parsetree)),
										  "change role");
	classify_roles(roles, true, true, classified);
	if (classified->statement->targets == NIL)
		classified->statement = NULL;
}

void
ag_classify(Node *parsetree, const char *text, int textlen, AgClassified *classified)
{
	const char *action;
	const char *verb;

	memset(classified, 0, sizeof(*classified));
	switch (nodeTag(parsetree))
	{
		case T_DropStmt:
			if (!drop_kind(((DropStmt *) parsetree)->removeType, &action, &verb))
			{
				/* destroys only by what it takes along, which its trial shows */
				action = GetCommandTagName(CreateCommandTag(parsetree));
				verb = NULL;
				classified->capture = true;
			}
			classified->statement = new_statement(text, textlen, action, verb);
			classify_drop((DropStmt *) parsetree, classified);
			/* a trigger, a policy, an extension: only what it takes along counts */
			if (verb == NULL)
				classified->protected = false;
			break;
		case T_TruncateStmt:
			classified->statement = new_statement(text, textlen, "TRUNCATE", "truncate");
			classify_truncate((TruncateStmt *) parsetree, classified);
			break;
		case T_AlterTableStmt:
			classify_alter_table((AlterTableStmt *) parsetree, text, textlen, classified);
			break;
		case T_AlterObjectSchemaStmt:
			classify_set_schema((AlterObjectSchemaStmt *) parsetree, text, textlen, classified);
			break;
		case T_DropdbStmt:
			{
				Oid			dbid = get_database_oid(((DropdbStmt *) parsetree)->dbname, true);
				ObjectAddress address;

				classified->statement = new_statement(text, textlen, "DROP DATABASE", "drop database");
				if (OidIsValid(dbid))
				{
					ObjectAddressSet(address, DatabaseRelationId, dbid);
					add_target(classified, &address);
				}
				break;
			}
		case T_DropRoleStmt:
			classified->statement = new_statement(text, textlen, "DROP ROLE", "drop role");
			classify_roles(((DropRoleStmt *) parsetree)->roles, false, true, classified);
			break;
		case T_DropOwnedStmt:
			/* what it drops is whatever the roles own: its trial shows it */
			classified->statement = new_statement(text, textlen, "DROP OWNED",
												  "drop everything owned by");
			classify_roles(((DropOwnedStmt *) parsetree)->roles, false, false, classified);
			classified->capture = true;
			break;
		case T_RenameStmt:
			if (((RenameStmt *) parsetree)->renameType == OBJECT_ROLE)
				classify_role_change(parsetree, text, textlen, classified);
			break;
		case T_AlterRoleStmt:
		case T_AlterRoleSetStmt:
		case T_GrantRoleStmt:
		case T_CreateRoleStmt:
			classify_role_change(parsetree, text, textlen, classified);
			break;
		default:
			break;
	}
}

/* an extension's members come back with CREATE EXTENSION: its drop names them once */
static bool
member_of_captured_extension(const ObjectAddress *address, List *captured)
{
	Oid			extension = getExtensionOfObject(address->classId, address->objectId);
	ListCell   *lc;

	if (!OidIsValid(extension))
		return false;
	foreach(lc, captured)
	{
		ObjectAddress *a = lfirst(lc);

		if (a->classId == ExtensionRelationId && a->objectId == extension)
			return true;
	}
	return false;
}

void
ag_classify_add_captured(AgClassified *classified, List *captured)
{
	ListCell   *lc;

	foreach(lc, captured)
	{
		ObjectAddress address = *(ObjectAddress *) lfirst(lc);
		ListCell   *known;
		bool		named = false;
		bool		truncated = address.objectSubId == AG_CAPTURED_TRUNCATE;

		if (truncated)
			address.objectSubId = 0;
		if (!ag_object_kept(address.classId, address.objectId, address.objectSubId))
			continue;
		foreach(known, classified->statement->objects)
		{
			ObjectAddress *k = lfirst(known);

			named = named || (k->classId == address.classId && k->objectId == address.objectId &&
							  k->objectSubId == address.objectSubId);
		}
		if (named || ag_object_exempt(&address) || member_of_captured_extension(&address, captured))
			continue;
		if (truncated)
			add_truncated(classified, &address);
		else
			add_target(classified, &address);
	}
}
