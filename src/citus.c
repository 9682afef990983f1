/*
 * citus.c
 *		agentguard on a Citus cluster.
 *
 * Citus must be loaded first (it refuses to start after a library that set
 * the planner, utility or executor hooks), so agentguard's hooks run before
 * Citus's and see every agent statement as the client sent it.  What Citus
 * adds around them is guarded here:
 *
 * - functions that reach past agentguard or destroy shards' data where no
 *   DROP or TRUNCATE names it are refused to agent sessions by their C
 *   symbol, with the others of their kind (reach.c), except on Citus's own
 *   connections;
 * - the settings that turn Citus's own safety off (DDL propagation, metadata
 *   sync, manual changes to shards), which any role may change: their check
 *   hooks are wrapped so that an agent session cannot;
 * - Citus's metadata tables (pg_dist_*), which live in pg_catalog without
 *   being system catalogs: no agent writes to them;
 * - a distributed DELETE, UPDATE or MERGE is planned as a Citus custom scan
 *   with no ModifyTable for unbounded.c to mark or count.c to count, and a
 *   single-shard one outside a transaction block commits on its worker
 *   before the coordinator has seen its rows: one that reaches every row is
 *   refused when it is planned, before anything runs.  One that names its
 *   rows is held to agentguard.max_rows by the rows Citus reports for all
 *   its shards together, once they ran: Citus runs a statement on more than
 *   one shard in a transaction block on each worker, committed only with the
 *   coordinator's transaction, so the refusal takes it all back.  A
 *   single-shard statement is one statement on one worker, whose own
 *   agentguard holds it to the limit before it commits there.
 *
 * Citus's own connections to the workers run as the same role, and Citus
 * marks them by an application name ("citus_internal gpid=...") that any
 * client can choose.  On such a connection agentguard lets Citus change its
 * settings, call its worker functions and write its metadata, as Citus must
 * for every DDL statement it propagates.  Alone, that trust is only as
 * strong as the rule that keeps agents from connecting to the nodes with
 * such a name; agentguard.citus_node_certificate makes it a client
 * certificate only Citus holds (docs/scaling.md).
 *
 * Whether Citus is loaded is known once, when agentguard loads: without it
 * every check here is one test of ag_citus_loaded.
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/transam.h"
#include "catalog/pg_namespace.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "nodes/extensible.h"
#include "parser/parsetree.h"
#include "tcop/cmdtag.h"
#include "tcop/pquery.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/lsyscache.h"

#include "capture.h"
#include "citus.h"
#include "compat.h"
#include "owner.h"
#include "protect.h"
#include "session.h"
#include "settings.h"

/* what Citus names its own connections between nodes */
#define CITUS_INTERNAL_APPLICATION_PREFIX "citus_internal gpid="

/* a setting of Citus's an agent session may not change, and why */
typedef struct GuardedSetting
{
	const char *name;
	const char *why;
	struct config_bool *conf;
	GucBoolCheckHook citus_check;
} GuardedSetting;

static GuardedSetting guarded_settings[] = {
	{.name = "citus.enable_ddl_propagation",
	.why = "Without it, DDL on a distributed table changes the coordinator's table and leaves its shards and the other nodes as they were."},
	{.name = "citus.enable_metadata_sync",
	.why = "Without it, changes to Citus's metadata are not sent to the other nodes, which go on acting on the old metadata."},
	{.name = "citus.enable_manual_changes_to_shards",
	.why = "With it, a shard can be changed directly on its worker, past the distributed table it belongs to."},
};

/*
 * A connection Citus opened from another node.  Citus names them
 * "citus_internal gpid=...", a name any client can choose; where the DBA has
 * Citus present a client certificate (citus.node_conninfo's sslcert and
 * sslkey), agentguard.citus_node_certificate names its common name, and only
 * a connection that presented it, verified by the server's ssl_ca_file, is
 * Citus's.
 */
bool
ag_citus_internal_connection(void)
{
	if (application_name == NULL ||
		strncmp(application_name, CITUS_INTERNAL_APPLICATION_PREFIX,
				strlen(CITUS_INTERNAL_APPLICATION_PREFIX)) != 0)
		return false;
	if (ag_citus_node_certificate == NULL || ag_citus_node_certificate[0] == '\0')
		return true;
	return MyProcPort != NULL && MyProcPort->peer_cert_valid &&
		MyProcPort->peer_cn != NULL &&
		strcmp(MyProcPort->peer_cn, ag_citus_node_certificate) == 0;
}

/*
 * Citus runs commands of its own in the session while it carries out a DDL
 * statement: for a TRUNCATE or LOCK it locks the tables on every node with
 * metadata, itself included, by "SET citus.enable_ddl_propagation TO 'off';
 * LOCK ...; SET citus.enable_ddl_propagation TO 'on'".  Those changes come
 * while the statement the client sent is a DDL statement; an agent's own
 * SET, set_config() in a query, DO or CALL are not.
 */
static const char *const ddl_tag_prefixes[] = {
	"CREATE ", "ALTER ", "DROP ", "TRUNCATE ", "LOCK ", "GRANT", "REVOKE",
	"COMMENT", "SECURITY LABEL", "VACUUM", "ANALYZE", "REINDEX", "CLUSTER",
	NULL
};

static bool
running_ddl(void)
{
	const char *tag;

	if (ActivePortal == NULL)
		return false;
	tag = GetCommandTagName(ActivePortal->commandTag);
	for (int i = 0; ddl_tag_prefixes[i]; i++)
		if (strncmp(tag, ddl_tag_prefixes[i], strlen(ddl_tag_prefixes[i])) == 0)
			return true;
	return false;
}

/*
 * As agentguard's own settings' check hooks (settings.c): a change that
 * comes from the session itself (SET, set_config(), connection options,
 * function SET clauses, ALTER ROLE and ALTER DATABASE validation) is refused
 * in an agent session; values from the configuration file and from the
 * defaults a DBA set stay the DBA's.  What Citus changes while it carries
 * out a DDL statement is let through.
 */
static bool
setting_check(GuardedSetting *setting, bool *newval, void **extra, GucSource source)
{
	if (setting->citus_check != NULL && !setting->citus_check(newval, extra, source))
		return false;
	if (source < PGC_S_CLIENT || source == PGC_S_OVERRIDE)
		return true;
	if (*newval == *setting->conf->variable)
		return true;
	if (InitializingParallelWorker || IsParallelWorker() || !IsTransactionState())
		return true;
	if (ag_internal_changes_underway() || ag_capture_active() ||
		ag_citus_internal_connection() || !ag_session_is_agent())
		return true;
	if (source == PGC_S_SESSION && running_ddl())
		return true;
	GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
	GUC_check_errmsg("agentguard: agent sessions cannot change %s", setting->name);
	GUC_check_errdetail("%s", setting->why);
	GUC_check_errhint("A DBA changes it from a session that is not an agent session.");
	return false;
}

static bool
check_ddl_propagation(bool *newval, void **extra, GucSource source)
{
	return setting_check(&guarded_settings[0], newval, extra, source);
}

static bool
check_metadata_sync(bool *newval, void **extra, GucSource source)
{
	return setting_check(&guarded_settings[1], newval, extra, source);
}

static bool
check_manual_changes(bool *newval, void **extra, GucSource source)
{
	return setting_check(&guarded_settings[2], newval, extra, source);
}

static const GucBoolCheckHook guarded_checks[] = {
	check_ddl_propagation, check_metadata_sync, check_manual_changes
};

/*
 * Citus defines its settings in its own _PG_init, which has run by now:
 * finding them is how agentguard knows Citus is loaded.  Each guarded one
 * gets agentguard's check in front of Citus's own.
 */
void
ag_citus_init(void)
{
	int			count;
	struct config_generic **variables = ag_guc_variables(&count);

	for (int i = 0; i < count; i++)
	{
		for (int s = 0; s < (int) lengthof(guarded_settings); s++)
		{
			struct config_bool *conf;

			if (variables[i]->vartype != PGC_BOOL ||
				strcmp(variables[i]->name, guarded_settings[s].name) != 0)
				continue;
			conf = (struct config_bool *) variables[i];
			guarded_settings[s].conf = conf;
			guarded_settings[s].citus_check = conf->check_hook;
			conf->check_hook = guarded_checks[s];
			ag_citus_loaded = true;
		}
	}
}

/*
 * Citus's metadata tables are made by CREATE EXTENSION citus in pg_catalog:
 * every table there that is not a system catalog is an extension's, and no
 * agent writes to it, as to the catalogs (policy.c).  A trial of a DROP runs
 * Citus's drop trigger, which unmarks the table's objects in pg_dist_object,
 * and is rolled back.
 */
void
ag_citus_check_writes(PlannedStmt *plannedstmt)
{
	ListCell   *lc;

	if (ag_citus_internal_connection() || ag_capture_active())
		return;
	foreach(lc, plannedstmt->resultRelations)
	{
		RangeTblEntry *rte = rt_fetch(lfirst_int(lc), plannedstmt->rtable);

		if (rte->rtekind == RTE_RELATION && rte->relid >= FirstNormalObjectId &&
			get_rel_namespace(rte->relid) == PG_CATALOG_NAMESPACE)
			ag_refuse_outright("change Citus's metadata",
							   psprintf("The statement writes to pg_catalog.%s, which the nodes of the cluster act on as they act on the system catalogs.",
										get_rel_name(rte->relid)));
	}
}

/* a plan whose statement Citus runs on the nodes that hold the rows */
static bool
citus_plan(PlannedStmt *plannedstmt)
{
	Plan	   *top = plannedstmt->planTree;

	return top != NULL && IsA(top, CustomScan) &&
		strncmp(((CustomScan *) top)->methods->CustomName, "Citus ", 6) == 0;
}

/*
 * Citus plans a distributed DELETE, UPDATE or MERGE as a custom scan that
 * sends it to the shards: there is no ModifyTable whose rows agentguard
 * could count before they change, and a single-shard statement outside a
 * transaction block commits on its worker before the coordinator learns
 * how many rows it changed.  One that reaches every row is refused now,
 * before anything runs, confirmed or not: no confirmation could be held to
 * the rows it would change, and none of them would be kept.  In observe
 * mode it is only reported.
 */
void
ag_citus_check_plan(PlannedStmt *plannedstmt, List *unbounded)
{
	if (unbounded == NIL || !citus_plan(plannedstmt))
		return;
	ereport(ag_mode == AG_MODE_ENFORCE ? ERROR : WARNING,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("agentguard: agent sessions cannot %s every row of a distributed table",
					plannedstmt->commandType == CMD_UPDATE ? "update" :
					plannedstmt->commandType == CMD_MERGE ? "merge into" : "delete"),
			 errdetail("Its WHERE clause is missing, always true, or does not look at the rows it changes, and Citus runs it on the workers, where agentguard cannot hold it to a number of rows before they commit or keep what it changes."),
			 errhint("Name the rows in the WHERE clause, or have a DBA run it from a session that is not an agent session.")));
}

/*
 * agentguard.quarantine_drops = 'all' keeps the rows any session's DELETE,
 * UPDATE or MERGE that reaches every row changes, from the plan's
 * ModifyTable.  Citus's plan of a distributed one has none, and the rows
 * change on the workers: not kept, it does not run.
 */
void
ag_citus_check_kept_plan(PlannedStmt *plannedstmt, List *unbounded)
{
	if (unbounded == NIL || !citus_plan(plannedstmt))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("agentguard: cannot quarantine the rows of this %s: it reaches every row of a distributed table",
					plannedstmt->commandType == CMD_UPDATE ? "UPDATE" :
					plannedstmt->commandType == CMD_MERGE ? "MERGE" : "DELETE"),
			 errdetail("agentguard.quarantine_drops = 'all' keeps what such a statement changes, and Citus changes the rows on the workers, where agentguard cannot keep them: nothing was changed."),
			 errhint("Name the rows in the WHERE clause, or run it with agentguard.quarantine_drops other than 'all'.")));
}

/*
 * An agent's distributed DELETE, UPDATE or MERGE has run on every shard it
 * reaches: what they changed together is held to agentguard.max_rows.  The
 * rows are Citus's count of the shards' results, once each: rows of shards
 * on this node that Citus ran through the executor here are not added again.
 */
void
ag_citus_check_rows(QueryDesc *queryDesc)
{
	PlannedStmt *plannedstmt = queryDesc->plannedstmt;
	uint64		rows;

	if (!citus_plan(plannedstmt) || queryDesc->estate == NULL || ag_max_rows == 0 ||
		(plannedstmt->commandType != CMD_DELETE && plannedstmt->commandType != CMD_UPDATE &&
		 plannedstmt->commandType != CMD_MERGE))
		return;
	rows = queryDesc->estate->es_processed;
	if (rows <= (uint64) ag_max_rows)
		return;
	ereport(ag_mode == AG_MODE_ENFORCE ? ERROR : WARNING,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("agentguard: agent sessions cannot change more than agentguard.max_rows (%d) rows of a distributed table in one statement",
					ag_max_rows),
			 errdetail("It changed " UINT64_FORMAT " rows on the shards, which Citus commits together with this transaction: refusing it takes them all back.",
					   rows),
			 errhint("Change fewer rows at a time, or have a DBA run it from a session that is not an agent session.")));
}
