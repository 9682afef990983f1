/*
 * policy.c
 *		Statements and tables agent sessions may never use, confirmed or
 *		not: code in untrusted languages, what leaves the database, changes
 *		to agentguard's guard and state, setval of agentguard's sequences,
 *		and writes to the system catalogs or to agentguard's own tables.
 *		Functions that reach outside are reach.c's.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relation.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/catalog.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_language.h"
#include "catalog/pg_namespace.h"
#include "nodes/nodeFuncs.h"
#include "parser/parsetree.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "owner.h"
#include "policy.h"
#include "protect.h"
#include "quarantine.h"
#include "session.h"

/* ---- utility statements ---- */

static bool
names_agentguard(List *names)
{
	ListCell   *lc;

	foreach(lc, names)
		if (strcmp(strVal(lfirst(lc)), AG_SCHEMA) == 0)
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
		if (ag_name_protected(strVal(object)))
			ag_refuse_protected_object(NamespaceRelationId,
									get_namespace_oid(strVal(object), true), verb);
		return;
	}
	if (relation != NULL)
	{
		ag_refuse_protected_object(RelationRelationId,
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
		ag_refuse_protected_object(address.classId, address.objectId, verb);
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
			ag_refuse_protected_object(NamespaceRelationId,
									get_namespace_oid(strVal(object), true), "grant on");
		else if (IsA(object, RangeVar))
			ag_refuse_protected_object(RelationRelationId,
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
				ag_refuse_protected_object(address.classId, address.objectId, "grant on");
		}
	}
}

/* settings that load code into a session, now or when one starts */
static bool
setting_loads_code(const char *name)
{
	return pg_strcasecmp(name, "session_preload_libraries") == 0 ||
		pg_strcasecmp(name, "local_preload_libraries") == 0 ||
		pg_strcasecmp(name, "shared_preload_libraries") == 0 ||
		pg_strcasecmp(name, "dynamic_library_path") == 0 ||
		pg_strcasecmp(name, "jit_provider") == 0;
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
	if (setstmt->name != NULL && setting_loads_code(setstmt->name))
		ag_refuse_outright(psprintf("change %s", setstmt->name),
						   "It loads libraries into sessions, as LOAD does.");
	if (setstmt->name == NULL || strncmp(setstmt->name, "agentguard.", 11) != 0)
		return;
	/* a rehearsal is any session's, and its check hook keeps it one-way */
	if (!as_default && strcmp(setstmt->name, "agentguard.rehearse") == 0)
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
					   "Only turning agentguard.agent on, and a rehearsal, are allowed in an agent session.");
}

static void
refuse_setting_defaults(VariableSetStmt *setstmt)
{
	if (setstmt->kind == VAR_RESET_ALL)
		ag_refuse_outright("reset all settings of a role or database",
						   "RESET ALL would remove the agentguard settings a DBA chose.");
	refuse_setting_change(setstmt, true);
}

static void
refuse_copy(CopyStmt *copy)
{
	Oid			relid;

	if (copy->is_program)
		ag_refuse_outright("run COPY TO or FROM PROGRAM",
						   "A program run by the server could do anything to its files.");
	if (copy->filename != NULL)
		ag_refuse_outright("run COPY TO or FROM a server file",
						   "Writing the server's files could rewrite its configuration; use COPY ... TO STDOUT or FROM STDIN.");
	if (!copy->is_from || copy->relation == NULL)
		return;
	relid = RangeVarGetRelid(copy->relation, NoLock, true);
	if (OidIsValid(relid) && IsCatalogRelationOid(relid))
		ag_refuse_outright("change system catalogs",
						   psprintf("COPY ... FROM would write rows into %s.", get_rel_name(relid)));
	if (OidIsValid(relid))
		ag_refuse_protected_object(RelationRelationId, relid, "change");
}

/*
 * What loads or runs code in the server, or reaches outside it: ALTER
 * SYSTEM, LOAD, languages, untrusted code, a superuser's extensions, event
 * triggers, COPY with programs and files, subscriptions.
 */
static void
refuse_code_and_outside(Node *parsetree)
{
	switch (nodeTag(parsetree))
	{
		case T_AlterSystemStmt:
			ag_refuse_outright("run ALTER SYSTEM",
							   "ALTER SYSTEM could change agentguard's own settings.");
			break;
		case T_LoadStmt:
			ag_refuse_outright("run LOAD",
							   "Loading code into the server could switch agentguard off.");
			break;
		case T_CopyStmt:
			refuse_copy((CopyStmt *) parsetree);
			break;
		case T_CreateSubscriptionStmt:
		case T_AlterSubscriptionStmt:
			ag_refuse_outright("create or change subscriptions",
							   "A subscription's apply worker connects outside the session and changes rows unguarded.");
			break;
		case T_CreateEventTrigStmt:
		case T_AlterEventTrigStmt:
			ag_refuse_outright("create or change event triggers",
							   "An event trigger runs its code in every session, a DBA's included.");
			break;
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
		default:
			break;
	}
}

/* the settings, labels and memberships that decide who agentguard guards */
static void
refuse_guard_changes(Node *parsetree)
{
	switch (nodeTag(parsetree))
	{
		case T_VariableSetStmt:
			refuse_setting_change((VariableSetStmt *) parsetree, false);
			break;
		case T_AlterRoleSetStmt:
			refuse_setting_defaults(((AlterRoleSetStmt *) parsetree)->setstmt);
			break;
		case T_AlterDatabaseSetStmt:
			refuse_setting_defaults(((AlterDatabaseSetStmt *) parsetree)->setstmt);
			break;
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
		case T_AlterExtensionStmt:
			if (strcmp(((AlterExtensionStmt *) parsetree)->extname, AG_SCHEMA) == 0)
				ag_refuse_outright("alter the agentguard extension",
								   "The extension's objects hold its signers, tokens and quarantine.");
			break;
		case T_AlterExtensionContentsStmt:
			if (strcmp(((AlterExtensionContentsStmt *) parsetree)->extname, AG_SCHEMA) == 0)
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
refuse_protected_alter_table(AlterTableStmt *alter)
{
	Oid			relid = RangeVarGetRelid(alter->relation, NoLock, true);
	ListCell   *lc;

	if (OidIsValid(relid))
		ag_refuse_protected_object(RelationRelationId, relid, "alter");
	foreach(lc, alter->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		if (cmd->subtype == AT_AddInherit && cmd->def && IsA(cmd->def, RangeVar))
			ag_refuse_protected_object(RelationRelationId,
									   RangeVarGetRelid((RangeVar *) cmd->def, NoLock, true),
									   "inherit from");
	}
}

static void
refuse_protected_comment(CommentStmt *comment)
{
	Relation	rel = NULL;
	ObjectAddress address;

	/* the object node as COMMENT itself reads it, with its lock */
	if (comment->objtype == OBJECT_DATABASE || comment->objtype == OBJECT_ROLE ||
		comment->objtype == OBJECT_TABLESPACE)
		return;
	address = get_object_address(comment->objtype, comment->object, &rel,
								 ShareUpdateExclusiveLock, true);
	if (rel != NULL)
		relation_close(rel, NoLock);
	if (OidIsValid(address.objectId))
		ag_refuse_protected_object(address.classId, address.objectId, "comment on");
}

/* agentguard's own objects, as statements name them before they run */
static void
refuse_protected_targets(Node *parsetree)
{
	ListCell   *lc;

	switch (nodeTag(parsetree))
	{
		case T_AlterTableStmt:
			refuse_protected_alter_table((AlterTableStmt *) parsetree);
			break;
		case T_GrantStmt:
			refuse_protected_grant((GrantStmt *) parsetree);
			break;
		case T_RenameStmt:
			{
				RenameStmt *rename = (RenameStmt *) parsetree;

				refuse_protected_target(rename->renameType, rename->relation,
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
		case T_CreateStmt:
			foreach(lc, ((CreateStmt *) parsetree)->inhRelations)
				ag_refuse_protected_object(RelationRelationId,
										   RangeVarGetRelid(lfirst_node(RangeVar, lc), NoLock, true),
										   "inherit from");
			break;
		case T_CommentStmt:
			refuse_protected_comment((CommentStmt *) parsetree);
			break;
		case T_AlterDefaultPrivilegesStmt:
			foreach(lc, ((AlterDefaultPrivilegesStmt *) parsetree)->options)
			{
				DefElem    *option = lfirst_node(DefElem, lc);
				ListCell   *sc;

				if (strcmp(option->defname, "schemas") != 0)
					continue;
				foreach(sc, (List *) option->arg)
					ag_refuse_protected_object(NamespaceRelationId,
											   get_namespace_oid(strVal(lfirst(sc)), true),
											   "change default privileges in");
			}
			break;
		default:
			break;
	}
}

/*
 * Statements an agent session may never run, confirmed or not: they would
 * switch the guard off, change agentguard's own objects, or reach outside
 * the database.
 */
void
ag_policy_utility(Node *parsetree)
{
	ag_quarantine_refuse_database_change(parsetree);
	refuse_code_and_outside(parsetree);
	refuse_guard_changes(parsetree);
	refuse_protected_targets(parsetree);
}

/*
 * setval on agentguard's own sequences would make entries collide.  Only a
 * role that may write those sequences, a superuser, needs this look, taken
 * once the statement is planned.  The planner lists in relationOids every
 * relation the plan reads and every regclass constant it holds, in
 * subqueries and inlined SQL functions too (setrefs.c); a constant naming one
 * of agentguard's sequences is refused, whatever function it is handed to
 * (setval, nextval, or a function of another name on the same C symbol).
 * Each relation in the plan's range table is in relationOids once (views'
 * too from 16): when the list is no longer than the range table's relations,
 * it holds no constant, the usual case, and nothing is looked up.  Otherwise
 * only an OID that relationOids holds more often than the range table does
 * is.
 */
static int
range_table_uses(List *rtable, Oid relid)
{
	ListCell   *lc;
	int			uses = 0;

	foreach(lc, rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_RELATION && (relid == InvalidOid || rte->relid == relid))
			uses++;
	}
	return uses;
}

static int
oid_list_uses(List *oids, Oid oid)
{
	ListCell   *lc;
	int			uses = 0;

	foreach(lc, oids)
	{
		if (lfirst_oid(lc) == oid)
			uses++;
	}
	return uses;
}

void
ag_policy_check_plan(PlannedStmt *plannedstmt)
{
	ListCell   *lc;

	if (list_length(plannedstmt->relationOids) <= range_table_uses(plannedstmt->rtable, InvalidOid))
		return;
	foreach(lc, plannedstmt->relationOids)
	{
		Oid			relid = lfirst_oid(lc);

		/* agentguard's sequences are made by CREATE EXTENSION */
		if (relid < FirstNormalObjectId ||
			oid_list_uses(plannedstmt->relationOids, relid) <= range_table_uses(plannedstmt->rtable, relid))
			continue;
		if (get_rel_relkind(relid) == RELKIND_SEQUENCE &&
			ag_namespace_protected_committed(get_rel_namespace(relid)))
			ag_refuse_outright("change agentguard's sequences",
							   psprintf("Quarantine entries are numbered by them, and the statement names %s as a value.",
										get_rel_name(relid)));
	}
}

/* the schema of a range table entry's relation: from the open relation where the executor has one */
static Oid
relation_namespace(EState *estate, Index rti, Oid relid)
{
	Relation	rel = estate->es_relations != NULL ? estate->es_relations[rti - 1] : NULL;

	return rel != NULL ? RelationGetNamespace(rel) : get_rel_namespace(relid);
}

/*
 * Writes to system catalogs would change what agentguard decides, so no
 * agent session makes them, whatever its rights.  Known from the OID alone,
 * so asked before the executor starts.
 */
void
ag_policy_check_catalog_writes(PlannedStmt *plannedstmt)
{
	ListCell   *lc;

	foreach(lc, plannedstmt->resultRelations)
	{
		RangeTblEntry *rte = rt_fetch(lfirst_int(lc), plannedstmt->rtable);

		if (rte->rtekind == RTE_RELATION && IsCatalogRelationOid(rte->relid))
			ag_refuse_outright("change system catalogs",
							   psprintf("The statement writes to %s.", get_rel_name(rte->relid)));
	}
}

/*
 * Nor writes to agentguard's own tables, agentguard's own bookkeeping on its
 * behalf aside.  Asked once the executor has started, before any row is
 * touched: the tables written are open by then, and their schema is read
 * from them rather than looked up.
 */
void
ag_policy_check_own_writes(QueryDesc *queryDesc)
{
	PlannedStmt *plannedstmt = queryDesc->plannedstmt;
	ListCell   *lc;

	foreach(lc, plannedstmt->resultRelations)
	{
		RangeTblEntry *rte = rt_fetch(lfirst_int(lc), plannedstmt->rtable);

		if (rte->rtekind == RTE_RELATION &&
			ag_namespace_protected_committed(relation_namespace(queryDesc->estate, lfirst_int(lc), rte->relid)))
			ag_refuse_outright("change agentguard's tables",
							   psprintf("The statement writes to %s.%s; only agentguard's own functions change them.",
										get_namespace_name(get_rel_namespace(rte->relid)),
										get_rel_name(rte->relid)));
	}
}
