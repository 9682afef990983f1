/*
 * settings.c
 *		Every agentguard setting and its check hook.
 *
 * Settings are PGC_SUSET, but an agent session may belong to a superuser,
 * so the check hooks refuse every change that comes from an agent session
 * itself; agentguard.agent, the one-way switch, is the exception.
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "tcop/cmdtag.h"
#include "tcop/pquery.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/plancache.h"
#include "utils/portal.h"
#include "utils/timestamp.h"

#include "names.h"
#include "request.h"
#include "session.h"
#include "settings.h"
#include "xact.h"

int			ag_mode = AG_MODE_ENFORCE;
int			ag_scope = AG_SCOPE_AGENTS;
int			ag_max_rows = 1000;
int			ag_max_token_ttl = 3600;
int			ag_required_signatures = 1;
int			ag_quarantine_drops = AG_QUARANTINE_AGENTS;
char	   *ag_retention = NULL;
int			ag_max_requests = 1000;
char	   *ag_environment = NULL;
char	   *ag_citus_node_certificate = NULL;
bool		ag_agent_switch = false;
static bool rehearse_setting = false;

static const struct config_enum_entry mode_options[] = {
	{"enforce", AG_MODE_ENFORCE, false},
	{"observe", AG_MODE_OBSERVE, false},
	{"off", AG_MODE_OFF, false},
	{NULL, 0, false}
};

static const struct config_enum_entry scope_options[] = {
	{"agents", AG_SCOPE_AGENTS, false},
	{"all", AG_SCOPE_ALL, false},
	{NULL, 0, false}
};

static const struct config_enum_entry quarantine_options[] = {
	{"agents", AG_QUARANTINE_AGENTS, false},
	{"all", AG_QUARANTINE_ALL, false},
	{"off", AG_QUARANTINE_OFF, false},
	{NULL, 0, false}
};

/*
 * Settings are PGC_SUSET, but an agent session may belong to a superuser,
 * so the check hooks refuse every change that comes from the session itself
 * (SET, set_config(), connection options, function SET clauses, ALTER ROLE
 * and ALTER DATABASE validation).  Values from the configuration file and
 * from role and database defaults that a DBA set are left alone.
 */
static bool
setting_change_allowed(GucSource source)
{
	if (source < PGC_S_CLIENT || source == PGC_S_OVERRIDE)
		return true;
	if (InitializingParallelWorker || IsParallelWorker())
		return true;
	if (!ag_session_is_agent())
		return true;
	GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
	GUC_check_errmsg("agentguard: agent sessions cannot change agentguard settings");
	GUC_check_errdetail("Only turning agentguard.agent on is allowed in an agent session.");
	GUC_check_errhint("A DBA changes agentguard settings from a session that is not an agent.");
	return false;
}

static bool
check_int_setting(int *newval pg_attribute_unused(), void **extra pg_attribute_unused(), GucSource source)
{
	return setting_change_allowed(source);
}

static bool
check_enum_setting(int *newval pg_attribute_unused(), void **extra pg_attribute_unused(), GucSource source)
{
	return setting_change_allowed(source);
}

/*
 * Whether a value comes from a statement or a connection of this session,
 * rather than from the configuration a DBA keeps: SET, set_config() and
 * function SET clauses, connection options, the validation of ALTER ROLE,
 * ALTER DATABASE and CREATE FUNCTION ... SET, and ALTER SYSTEM, which
 * validates its value as the configuration file will be read.  The file
 * itself (at server start, where there is no session, and at every reload)
 * and the role and database defaults are the DBA's, and always apply.
 */
static bool
set_by_this_session(GucSource source)
{
	if (MyBackendType != B_BACKEND || !IsTransactionState())
		return false;
	switch (source)
	{
		case PGC_S_CLIENT:
		case PGC_S_TEST:
		case PGC_S_SESSION:
			return true;
		case PGC_S_FILE:
			return ActivePortal != NULL && ActivePortal->commandTag == CMDTAG_ALTER_SYSTEM;
		default:
			return false;
	}
}

/*
 * Under scope 'all' every session whose login role is not labelled
 * 'trusted' is an agent session, which cannot change agentguard settings
 * back: a DBA who sets it from such a session locks themselves out.  So
 * only a trusted login may set it; the configuration file always may.
 */
static bool
check_scope(int *newval, void **extra pg_attribute_unused(), GucSource source)
{
	if (!setting_change_allowed(source))
		return false;
	if (*newval == AG_SCOPE_ALL && set_by_this_session(source) && !ag_login_is_trusted())
	{
		const char *login = quote_identifier(GetUserNameFromId(GetAuthenticatedUserId(), false));

		GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		GUC_check_errmsg("agentguard: agentguard.scope = 'all' can only be set from a session whose login role is labelled 'trusted'");
		GUC_check_errdetail("Under scope 'all' every session whose login role is not labelled 'trusted' is an agent session, which cannot change agentguard settings; this session logged in as %s.",
							login);
		GUC_check_errhint("Label the DBAs' login roles first, for instance: SECURITY LABEL FOR agentguard ON ROLE %s IS 'trusted';",
						  login);
		return false;
	}
	return true;
}

/*
 * Retention is written as an interval ('7 days', '12 hours') because that
 * is how DBAs think of it; interval_in does the parsing so every form the
 * server accepts elsewhere works here too.
 */
static bool
check_retention(char **newval, void **extra pg_attribute_unused(), GucSource source)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	bool		valid = true;
	Interval   *span = NULL;

	if (!setting_change_allowed(source))
		return false;
	if (*newval == NULL)
		return true;

	PG_TRY();
	{
		span = DatumGetIntervalP(DirectFunctionCall3(interval_in,
													 CStringGetDatum(*newval),
													 ObjectIdGetDatum(InvalidOid),
													 Int32GetDatum(-1)));
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcontext);
		FlushErrorState();
		valid = false;
	}
	PG_END_TRY();

	if (!valid)
	{
		GUC_check_errdetail("agentguard.retention must be an interval such as '7 days' or '12 hours'.");
		return false;
	}
	if (span->month < 0 || span->day < 0 || span->time < 0 ||
		(span->month == 0 && span->day == 0 && span->time == 0))
	{
		GUC_check_errdetail("agentguard.retention must be longer than zero.");
		return false;
	}
	return true;
}

/*
 * The switch is one-way.  The setting itself can still be reverted by
 * RESET, RESET ALL or a rollback (the GUC machinery calls no check hook for
 * those), so the latch that the assign hook sets is what decides; SHOW
 * reports the latch.
 */
static bool
check_agent_switch(bool *newval, void **extra pg_attribute_unused(), GucSource source)
{
	/*
	 * A DBA's ALTER ROLE/DATABASE ... SET agentguard.agent = on binds even
	 * when the session's own connection options said off: those are applied
	 * first and would otherwise take precedence, so the default is latched
	 * here, where the server still shows it to us.
	 */
	if (*newval && (source == PGC_S_DATABASE || source == PGC_S_USER ||
					source == PGC_S_DATABASE_USER || source == PGC_S_GLOBAL))
		ag_session_latch_switch();
	if (!*newval && ag_session_switch_latched())
	{
		GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		GUC_check_errmsg("agentguard: agentguard.agent cannot be turned off once it is on");
		GUC_check_errdetail("This session was marked as an agent session and stays one until it ends.");
		GUC_check_errhint("Open a new session to work without agentguard.agent.");
		return false;
	}
	return true;
}

static void
assign_agent_switch(bool newval, void *extra pg_attribute_unused())
{
	if (newval)
		ag_session_latch_switch();
}

static const char *
show_agent_switch(void)
{
	return ag_session_switch_latched() ? "on" : "off";
}

/*
 * A rehearsal, like the agent switch, is one-way, for the rest of its
 * transaction; the latch in ag_xact decides and SHOW reports it.  It can
 * only begin inside a transaction block: outside one each statement would
 * commit on its own before any rehearsal could stop it.  Any session may
 * begin one, agents' included: a rehearsal runs destructive statements only
 * because it never commits.
 */
static bool
check_rehearse(bool *newval, void **extra pg_attribute_unused(), GucSource source pg_attribute_unused())
{
	if (InitializingParallelWorker || IsParallelWorker())
		return true;
	if (*newval && !ag_xact.rehearsing && !IsTransactionBlock())
	{
		GUC_check_errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION);
		GUC_check_errmsg("agentguard: agentguard.rehearse can only be turned on inside a transaction block");
		GUC_check_errdetail("A rehearsal is a transaction that runs its statements and is then rolled back; outside a transaction block each statement would commit on its own.");
		GUC_check_errhint("BEGIN; SET LOCAL agentguard.rehearse = on; then the migration, then COMMIT, which is refused with the batch of requests to approve.");
		return false;
	}
	if (!*newval && ag_xact.rehearsing)
	{
		GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		GUC_check_errmsg("agentguard: agentguard.rehearse cannot be turned off during a rehearsal");
		GUC_check_errdetail("It stays on until the transaction ends, and the transaction cannot commit.");
		GUC_check_errhint("ROLLBACK ends the rehearsal; COMMIT ends it too, refused, with the batch of requests to approve.");
		return false;
	}
	return true;
}

static void
assign_rehearse(bool newval, void *extra pg_attribute_unused())
{
	if (!newval || ag_xact.rehearsing || InitializingParallelWorker || IsParallelWorker())
		return;
	ag_xact.rehearsing = true;
	ag_xact_callbacks_first();
}

static const char *
show_rehearse(void)
{
	return ag_xact.rehearsing ? "on" : "off";
}

/*
 * What an agent's plan carries was decided under the mode and scope it was
 * planned in: a plan made while mode was off has no marks of unbounded
 * statements, and one made under scope agents none for a session that
 * scope all protects.  Any change makes every cached plan be made again.
 */
/*
 * An agent's plan carries what was decided when it was made: a plan made
 * while mode was off has no marks of unbounded statements, and one made
 * under scope agents none for a session that scope all protects.  So a
 * change of either makes every cached plan be made again.
 */
static void
assign_mode(int newval, void *extra pg_attribute_unused())
{
	if (newval != ag_mode)
		ResetPlanCache();
}

static void
assign_scope(int newval, void *extra pg_attribute_unused())
{
	if (newval != ag_scope)
		ResetPlanCache();
	ag_session_set_scope_all(newval == AG_SCOPE_ALL);
}

void
ag_settings_define(void)
{
	DefineCustomEnumVariable("agentguard.mode",
							 "What agentguard does with destructive statements from agent sessions.",
							 "enforce refuses them unless confirmed, observe only warns and logs, off does nothing.",
							 &ag_mode, AG_MODE_ENFORCE, mode_options,
							 PGC_SUSET, 0,
							 check_enum_setting, assign_mode, NULL);

	DefineCustomEnumVariable("agentguard.scope",
							 "Which sessions agentguard protects.",
							 "agents protects agent sessions; all protects every session except roles labelled trusted.",
							 &ag_scope, AG_SCOPE_AGENTS, scope_options,
							 PGC_SUSET, 0,
							 check_scope, assign_scope, NULL);

	DefineCustomIntVariable("agentguard.max_rows",
							"Most rows one DELETE, UPDATE or MERGE of an agent session may change without a confirmation.",
							"0 turns the row limit off; the rule against unbounded statements stays.",
							&ag_max_rows, 1000, 0, INT_MAX,
							PGC_SUSET, 0,
							check_int_setting, NULL, NULL);

	DefineCustomIntVariable("agentguard.max_token_ttl",
							"Longest lifetime of a confirmation token that is accepted.",
							NULL,
							&ag_max_token_ttl, 3600, 1, 7 * 24 * 3600,
							PGC_SUSET, GUC_UNIT_S,
							check_int_setting, NULL, NULL);

	/*
	 * Read when a token is confirmed and again when it is used, so raising
	 * it holds back confirmations that are waiting too.
	 */
	DefineCustomIntVariable("agentguard.required_signatures",
							"How many distinct trusted signers a confirmation token needs.",
							"2 or more: one DBA signs, others add their signatures with agentguard sign --key FILE TOKEN.",
							&ag_required_signatures, 1, 1, AG_MAX_SIGNATURES,
							PGC_SUSET, 0,
							check_int_setting, NULL, NULL);

	DefineCustomEnumVariable("agentguard.quarantine_drops",
							 "Whose confirmed DROPs move objects into quarantine instead of destroying them.",
							 NULL,
							 &ag_quarantine_drops, AG_QUARANTINE_AGENTS, quarantine_options,
							 PGC_SUSET, 0,
							 check_enum_setting, NULL, NULL);

	DefineCustomStringVariable("agentguard.retention",
							   "How long quarantined objects are kept before purge_expired removes them.",
							   NULL,
							   &ag_retention, "7 days",
							   PGC_SUSET, 0,
							   check_retention, NULL, NULL);

	DefineCustomIntVariable("agentguard.max_requests",
							"How many recent refusals agentguard.requests keeps.",
							NULL,
							&ag_max_requests, 1000, 10, 1000000,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("agentguard.environment",
							   "Name of this cluster's environment (production, staging, ...), part of every request.",
							   "A staging cluster cloned from production shares its system identifier; this name keeps their approvals apart.",
							   &ag_environment, "",
							   PGC_SIGHUP, 0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("agentguard.citus_node_certificate",
							   "Common name of the client certificate Citus's connections between nodes present.",
							   "Set, a connection is Citus's own only if it presented that certificate, verified by ssl_ca_file; empty, its application name alone says so.",
							   &ag_citus_node_certificate, "",
							   PGC_SIGHUP, 0,
							   NULL, NULL, NULL);

	DefineCustomBoolVariable("agentguard.agent",
							 "Marks this session as an agent session, for the rest of the session.",
							 "Once on, it cannot be turned off: SET, RESET and ROLLBACK leave the session an agent session.",
							 &ag_agent_switch, false,
							 PGC_USERSET, 0,
							 check_agent_switch, assign_agent_switch, show_agent_switch);

	DefineCustomBoolVariable("agentguard.rehearse",
							 "Makes this transaction a rehearsal: destructive statements run, and COMMIT is refused with a batch of the requests they need.",
							 "Only inside a transaction block; once on, it stays on until the transaction ends.",
							 &rehearse_setting, false,
							 PGC_USERSET, GUC_NO_RESET_ALL | GUC_NOT_IN_SAMPLE,
							 check_rehearse, assign_rehearse, show_rehearse);

	MarkGUCPrefixReserved(AG_LIBRARY);
}

