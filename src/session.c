/*
 * session.c
 *		Is this session an agent?  Role labels, role membership, the one-way
 *		switch, and the objects this transaction created.
 *
 * The answer is asked on every guarded statement of every session, so it
 * is cached per (login role, session user, current user) and only recomputed
 * when one of those changes or when pg_authid or pg_auth_members send an
 * invalidation.  Label changes make their own pg_authid invalidation (see
 * agentguard_relabel), because pg_shseclabel has no syscache that would.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_shseclabel.h"
#include "commands/seclabel.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "compat.h"
#include "names.h"
#include "scratch.h"
#include "session.h"
#include "xact.h"

typedef enum AgLabel
{
	AG_LABEL_NONE,
	AG_LABEL_TRUSTED,
	AG_LABEL_AGENT
} AgLabel;

typedef struct LabelledRole
{
	Oid			roleid;
	AgLabel		label;
} LabelledRole;

/* every role that carries an agentguard label, read from pg_shseclabel */
static LabelledRole *labelled_roles = NULL;
static int	labelled_count = 0;
static int	labelled_capacity = 0;
static bool labels_valid = false;

static bool switch_latched = false;

/*
 * Whether every session is protected but the trusted (agentguard.scope =
 * 'all'), as settings.c last set it.
 */
static bool scope_all = false;

/* an object (other than a whole relation) created in this transaction */
typedef struct CreatedObject
{
	AgXactItem	item;
	ObjectAddress address;
} CreatedObject;

static void
forget_labels(Datum arg pg_attribute_unused(), int cacheid pg_attribute_unused(), uint32 hashvalue pg_attribute_unused())
{
	labels_valid = false;
	ag_session_answer.valid = false;
}

static void
forget_answer(Datum arg pg_attribute_unused(), int cacheid pg_attribute_unused(), uint32 hashvalue pg_attribute_unused())
{
	ag_session_answer.valid = false;
}

static void
load_labels(void)
{
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tuple;

	labelled_count = 0;
	rel = table_open(SharedSecLabelRelationId, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_shseclabel row = (Form_pg_shseclabel) GETSTRUCT(tuple);
		bool		isnull;
		Datum		provider;
		Datum		label;
		char	   *value;

		if (row->classoid != AuthIdRelationId)
			continue;
		provider = heap_getattr(tuple, Anum_pg_shseclabel_provider,
								RelationGetDescr(rel), &isnull);
		if (isnull || strcmp(TextDatumGetCString(provider), AG_LABEL_PROVIDER) != 0)
			continue;
		label = heap_getattr(tuple, Anum_pg_shseclabel_label,
							 RelationGetDescr(rel), &isnull);
		if (isnull)
			continue;
		value = TextDatumGetCString(label);

		if (labelled_count == labelled_capacity)
		{
			labelled_capacity = Max(16, labelled_capacity * 2);
			if (labelled_roles == NULL)
				labelled_roles = MemoryContextAlloc(ag_backend_context(),
													labelled_capacity * sizeof(LabelledRole));
			else
				labelled_roles = repalloc(labelled_roles,
										  labelled_capacity * sizeof(LabelledRole));
		}
		labelled_roles[labelled_count].roleid = row->objoid;
		labelled_roles[labelled_count].label =
			strcmp(value, "agent") == 0 ? AG_LABEL_AGENT : AG_LABEL_TRUSTED;
		labelled_count++;
		pfree(value);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	labels_valid = true;
}

/*
 * A role's own label decides.  Without one, the labelled roles it belongs
 * to decide, and agent wins over trusted.  Membership is real membership:
 * superuser status is not membership in anything.
 */
static AgLabel
effective_label(Oid roleid)
{
	AgLabel		inherited = AG_LABEL_NONE;

	for (int i = 0; i < labelled_count; i++)
		if (labelled_roles[i].roleid == roleid)
			return labelled_roles[i].label;

	for (int i = 0; i < labelled_count; i++)
	{
		if (labelled_roles[i].label <= inherited)
			continue;
		if (is_member_of_role_nosuper(roleid, labelled_roles[i].roleid))
			inherited = labelled_roles[i].label;
	}
	return inherited;
}

/*
 * Plans made while the session was not an agent's were never checked for
 * unbounded DELETE and UPDATE (that costs ordinary sessions nothing); when
 * the session becomes an agent's, every cached plan is made again.
 */
static bool
note_answer(bool agent)
{
	static bool was_agent = false;

	if (agent && !was_agent)
		ResetPlanCache();
	was_agent = agent;
	return agent;
}

/* whether a role carries an agentguard label of its own */
bool
ag_role_labelled(Oid roleid)
{
	if (!labels_valid)
		load_labels();
	for (int i = 0; i < labelled_count; i++)
		if (labelled_roles[i].roleid == roleid)
			return true;
	return false;
}

/* whether a role is an agent's: labelled 'agent', itself or through a group */
bool
ag_role_is_agent(Oid roleid)
{
	if (!labels_valid)
		load_labels();
	return effective_label(roleid) == AG_LABEL_AGENT;
}

/*
 * Whether the role that logged in is labelled 'trusted', itself or through a
 * group: the sessions that agentguard.scope = 'all' leaves alone.  Reads the
 * labels, so only inside a transaction.
 */
bool
ag_login_is_trusted(void)
{
	if (!labels_valid)
		load_labels();
	return effective_label(GetAuthenticatedUserId()) == AG_LABEL_TRUSTED;
}

AgSessionAnswer ag_session_answer = {false, false, false, InvalidOid};

/* the roles' labels decide: any of them an agent's, or scope 'all' unless the login is trusted */
static bool
roles_are_agent(Oid login_role, Oid session_user, Oid current_user)
{
	AgLabel		login_label;

	if (!labels_valid)
		load_labels();
	login_label = effective_label(login_role);
	if (login_label == AG_LABEL_AGENT ||
		effective_label(session_user) == AG_LABEL_AGENT ||
		effective_label(current_user) == AG_LABEL_AGENT)
		return true;
	return scope_all && login_label != AG_LABEL_TRUSTED;
}

/*
 * The answer for roles other than the last ones, or after something that
 * decides it changed; ag_session_is_agent (session.h) asks here only then.
 */
bool
ag_session_is_agent_slow(void)
{
	Oid			session_user = GetSessionUserId();
	Oid			current_user = GetUserId();
	bool		agent;

	if (switch_latched)
		agent = true;
	/* only client backends and background workers run as a role */
	else if (MyBackendType != B_BACKEND && MyBackendType != B_BG_WORKER)
		agent = false;
	/* every statement runs in a transaction; outside one, keep what we knew */
	else if (!IsTransactionState())
		return ag_session_answer.valid && ag_session_answer.agent;
	else
		agent = roles_are_agent(GetAuthenticatedUserId(), session_user, current_user);

	agent = note_answer(agent);
	/* whether the role is a superuser is read in a transaction: ask again there */
	if (!IsTransactionState())
		return agent;
	ag_session_answer.agent = agent;
	ag_session_answer.superuser = superuser_arg(current_user);
	ag_session_answer.current_user = current_user;
	ag_session_answer.valid = true;
	return agent;
}

void
ag_session_latch_switch(void)
{
	/* plans made before were never checked as an agent's: make them again */
	if (!switch_latched)
		ResetPlanCache();
	switch_latched = true;
	ag_session_answer.valid = false;
}

bool
ag_session_switch_latched(void)
{
	return switch_latched;
}

/*
 * The label provider.  Core lets any CREATEROLE role run SECURITY LABEL on
 * roles, so the hook itself insists on a superuser, as both current and
 * session user so that neither SET ROLE nor a SECURITY DEFINER function can
 * lend the right.
 */
static void
agentguard_relabel(const ObjectAddress *object, const char *seclabel)
{
	if (ag_session_is_agent())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("agentguard: agent sessions cannot change agentguard labels"),
				 errhint("A DBA labels roles from a session that is not an agent.")));

	/*
	 * On a database, agentguard's label is the record of its quarantine;
	 * agentguard writes it itself, without this hook
	 * (quarantine/database.c), and no SECURITY LABEL statement may forge,
	 * change or remove it.
	 */
	if (object->classId == DatabaseRelationId)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("agentguard: the agentguard label of a database is its quarantine record, which only agentguard writes"),
				 errhint("agentguard.restore() and agentguard.purge() are the ways to change a quarantined database.")));
	if (object->classId == RelationRelationId || object->classId == NamespaceRelationId)
	{
		ag_scratch_check_label(object, seclabel);
		return;
	}
	if (object->classId != AuthIdRelationId)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("agentguard: labels apply only to roles, tables and schemas"),
				 errhint("Use SECURITY LABEL FOR agentguard ON ROLE name IS 'agent', or ON TABLE or SCHEMA name IS 'scratch'.")));
	if (seclabel != NULL &&
		strcmp(seclabel, "agent") != 0 && strcmp(seclabel, "trusted") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("agentguard: \"%s\" is not a valid agentguard label", seclabel),
				 errdetail("Valid labels are 'agent', 'trusted' and NULL, which removes the label.")));
	if (!superuser() || !superuser_arg(GetSessionUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("agentguard: only superusers can label roles for agentguard")));

	/* make every backend, this one included, read the labels again */
	CacheInvalidateCatalog(AuthIdRelationId);
}

void
ag_session_note_created(Oid classId, Oid objectId, int32 subId)
{
	CreatedObject *created;
	MemoryContext old;

	/* whole relations are known from the relation cache */
	if (classId == RelationRelationId && subId == 0)
		return;
	created = ag_xact_item(sizeof(CreatedObject));
	ObjectAddressSubSet(created->address, classId, objectId, subId);
	old = MemoryContextSwitchTo(ag_xact_context());
	ag_xact.created = lappend(ag_xact.created, created);
	MemoryContextSwitchTo(old);
}

/* settings.c says which sessions agentguard.scope protects */
void
ag_session_set_scope_all(bool all)
{
	if (all != scope_all)
		ag_session_answer.valid = false;
	scope_all = all;
}

/*
 * Relations are judged by the relation cache's creation bookkeeping, which
 * survives ALTERs (pg_class xmin does not) and is reset on rollback of the
 * creating subtransaction.  Columns of such a relation are new too.
 */
bool
ag_object_created_in_this_xact(Oid classId, Oid objectId, int32 subId)
{
	ListCell   *lc;

	if (classId == RelationRelationId)
	{
		Relation	rel = RelationIdGetRelation(objectId);

		if (rel != NULL)
		{
			bool		created = rel->rd_createSubid != InvalidSubTransactionId;

			RelationClose(rel);
			if (created || subId == 0)
				return created;
		}
	}
	foreach(lc, ag_xact.created)
	{
		ObjectAddress *address = &((CreatedObject *) lfirst(lc))->address;

		if (address->classId == classId && address->objectId == objectId &&
			address->objectSubId == subId)
			return true;
	}
	return false;
}

/*
 * The session user changes at SET SESSION AUTHORIZATION, its RESET and its
 * rollback, all through the session_authorization setting's assign hook
 * (otherwise only when a process starts, before any answer): wrapped, it
 * drops the answer, so that no statement pays for comparing the session
 * user too.
 */
static GucStringAssignHook server_assign_session_authorization = NULL;

static void
assign_session_authorization(const char *newval, void *extra)
{
	if (server_assign_session_authorization != NULL)
		server_assign_session_authorization(newval, extra);
	ag_session_answer.valid = false;
}

static void
watch_session_user(void)
{
	int			count;
	struct config_generic **variables = ag_guc_variables(&count);

	for (int i = 0; i < count; i++)
	{
		struct config_string *conf;

		if (variables[i]->vartype != PGC_STRING ||
			strcmp(variables[i]->name, "session_authorization") != 0)
			continue;
		conf = (struct config_string *) variables[i];
		server_assign_session_authorization = conf->assign_hook;
		conf->assign_hook = assign_session_authorization;
		return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("agentguard: this server has no session_authorization setting"),
			 errdetail("agentguard learns of changes of the session user through it.")));
}

void
ag_session_init(void)
{
	register_label_provider(AG_LABEL_PROVIDER, agentguard_relabel);
	CacheRegisterSyscacheCallback(AUTHOID, forget_labels, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMMEMROLE, forget_answer, (Datum) 0);
	watch_session_user();
}

PG_FUNCTION_INFO_V1(agentguard_is_agent_session);

/* lets a DBA (and the tests) see how agentguard classifies this session */
Datum
agentguard_is_agent_session(PG_FUNCTION_ARGS)
{
	AcceptInvalidationMessages();
	PG_RETURN_BOOL(ag_session_is_agent());
}
