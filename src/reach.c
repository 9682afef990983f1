/*
 * reach.c
 *		Functions that reach outside what agentguard sees (the server's
 *		files, other connections, rows changed without DELETE or UPDATE),
 *		destroy what no statement names, or last past a rollback: known by
 *		the C function that runs for them, refused to agent sessions and in
 *		rehearsals when the executor sets up their call.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "utils/builtins.h"
#include "utils/fmgrtab.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "capture.h"
#include "citus.h"
#include "owner.h"
#include "protect.h"
#include "reach.h"
#include "rehearse.h"
#include "xact.h"

/*
 * C symbols of built-in and extension functions that reach outside what
 * agentguard sees.  Known by symbol, so an alias made under another name is
 * known too.
 */
static const char *const outside_symbols[] = {
	"be_lo_export", "be_lo_import", "be_lo_import_with_oid",
	"pg_file_write", "pg_file_write_v1_1", "pg_file_rename", "pg_file_rename_v1_1",
	"pg_file_unlink", "pg_file_unlink_v1_1", "pg_file_sync",
	"dblink_exec", "dblink_record", "dblink_connect", "dblink_connect_u",
	"dblink_send_query", "dblink_open", "dblink_get_result",
	"heap_force_kill", "heap_force_freeze",
	NULL
};

/*
 * Citus's: master_run_on_worker, behind every run_command_on_*, runs SQL on
 * other nodes over connections of its own, each committed on its own; the
 * others destroy a distributed table's shards or a table's local rows where
 * no DROP or TRUNCATE names them.  Citus calls them itself over its own
 * connections between nodes (citus.c), which are let through.
 */
static const char *const citus_run_symbols[] = {
	"master_run_on_worker",
	NULL
};
static const char *const citus_shard_dropping_symbols[] = {
	"citus_drop_all_shards", "master_drop_all_shards",
	"truncate_local_data_after_distributing_table",
	"worker_drop_distributed_table", "worker_drop_shell_table",
	NULL
};

/*
 * Functions that read the server's files or list its directories, by the
 * start of their C symbol: a signing key or a password file on the host is
 * not the agent's to read.
 */
static const char *const file_reader_prefixes[] = {
	"pg_read_file", "pg_read_binary_file", "pg_stat_file", "pg_ls_", "pg_logdir_ls",
	NULL
};

/*
 * Functions that destroy data no statement of agentguard's sees, and that
 * name what they destroy only in their arguments: a large object truncated
 * through its descriptor.
 */
static const char *const destroying_symbols[] = {
	"be_lo_truncate", "be_lo_truncate64",
	NULL
};

/*
 * Functions whose effect no rollback takes back, refused in a rehearsal
 * (any session's): a sequence set, a replication slot or origin made,
 * moved or dropped, changes consumed from a slot, a logical message sent at
 * once, a server file written, another connection's work.  nextval is not
 * among them: a rehearsal that inserts rows leaves gaps in a sequence, as
 * any rolled-back insert does.
 */
static const char *const lasting_symbols[] = {
	"setval_oid", "setval3_oid",
	"pg_create_physical_replication_slot", "pg_create_logical_replication_slot",
	"pg_drop_replication_slot", "pg_replication_slot_advance",
	"pg_copy_logical_replication_slot_a", "pg_copy_logical_replication_slot_b",
	"pg_copy_logical_replication_slot_c", "pg_copy_physical_replication_slot_a",
	"pg_copy_physical_replication_slot_b",
	"pg_logical_slot_get_changes", "pg_logical_slot_get_binary_changes",
	"pg_replication_origin_create", "pg_replication_origin_drop",
	"pg_replication_origin_advance", "pg_replication_origin_session_setup",
	"pg_replication_origin_session_reset", "pg_replication_origin_xact_setup",
	"pg_replication_origin_xact_reset",
	"pg_logical_emit_message_text", "pg_logical_emit_message_bytea",
	NULL
};

typedef enum Reach
{
	REACH_NONE = AG_REACH_NONE,
	REACH_OUTSIDE,
	REACH_FILES,
	REACH_DESTROYS,
	REACH_LASTING,				/* harmless but for a rehearsal */
	REACH_CITUS_RUN,			/* REACH_OUTSIDE, but for Citus's own use */
	REACH_CITUS_SHARDS			/* REACH_DESTROYS, but for Citus's own use */
} Reach;

static bool
among(const char *symbol, const char *const *symbols)
{
	for (int i = 0; symbols[i]; i++)
		if (strcmp(symbol, symbols[i]) == 0)
			return true;
	return false;
}

static Reach
reach_of_symbol(const char *symbol)
{
	if (among(symbol, outside_symbols))
		return REACH_OUTSIDE;
	if (among(symbol, destroying_symbols))
		return REACH_DESTROYS;
	if (among(symbol, lasting_symbols))
		return REACH_LASTING;
	if (among(symbol, citus_run_symbols))
		return REACH_CITUS_RUN;
	if (among(symbol, citus_shard_dropping_symbols))
		return REACH_CITUS_SHARDS;
	for (int i = 0; file_reader_prefixes[i]; i++)
		if (strncmp(symbol, file_reader_prefixes[i], strlen(file_reader_prefixes[i])) == 0 &&
			(strcmp(file_reader_prefixes[i], "pg_ls_") != 0 || strstr(symbol, "dir") != NULL))
			return REACH_FILES;
	return REACH_NONE;
}

/* the C symbol of an internal or C function, or NULL */
static char *
function_symbol(HeapTuple tuple)
{
	Form_pg_proc proc = (Form_pg_proc) GETSTRUCT(tuple);
	bool		isnull;

	if (proc->prolang != INTERNALlanguageId && proc->prolang != ClanguageId)
		return NULL;
	return TextDatumGetCString(SysCacheGetAttr(PROCOID, tuple, Anum_pg_proc_prosrc, &isnull));
}

/*
 * What runs for a built-in function's OID is the server's own table of C
 * functions (fmgrtab.h), whatever pg_proc says, and it never changes in a
 * running server: each built-in an agent session calls is judged by its C
 * name once per backend, and every later call costs one array lookup.
 * Other functions of the bootstrap catalog are SQL; the rest are judged by
 * the C symbol pg_proc gives them.
 */
uint8	   *ag_builtin_reach = NULL;	/* Reach by OID, 0 .. fmgr_last_builtin_oid */
Oid			ag_builtin_reach_size = 0;

static pg_noinline Reach
function_reach_slow(Oid funcid)
{
	HeapTuple	tuple;
	char	   *symbol;
	Reach		reach = REACH_NONE;

	if (ag_builtin_reach == NULL)
	{
		ag_builtin_reach = MemoryContextAlloc(ag_backend_context(), fmgr_last_builtin_oid + 1);
		memset(ag_builtin_reach, AG_REACH_UNKNOWN, fmgr_last_builtin_oid + 1);
		ag_builtin_reach_size = fmgr_last_builtin_oid + 1;
	}
	if (funcid <= fmgr_last_builtin_oid &&
		fmgr_builtin_oid_index[funcid] != InvalidOidBuiltinMapping)
	{
		ag_builtin_reach[funcid] =
			(uint8) reach_of_symbol(fmgr_builtins[fmgr_builtin_oid_index[funcid]].funcName);
		return (Reach) ag_builtin_reach[funcid];
	}
	if (funcid < FirstGenbkiObjectId)
		return REACH_NONE;
	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	if (!HeapTupleIsValid(tuple))
		return REACH_NONE;
	symbol = function_symbol(tuple);
	if (symbol)
		reach = reach_of_symbol(symbol);
	ReleaseSysCache(tuple);
	return reach;
}

/* a built-in judged before costs one array lookup; only built-ins are cached */
static inline Reach
function_reach(Oid funcid)
{
	if (likely(funcid < ag_builtin_reach_size && ag_builtin_reach[funcid] != AG_REACH_UNKNOWN))
		return (Reach) ag_builtin_reach[funcid];
	return function_reach_slow(funcid);
}

/* a built-in is judged in any session; other functions only in an agent's */
bool
ag_reach_nothing(Oid funcid)
{
	if (funcid > fmgr_last_builtin_oid || fmgr_builtin_oid_index[funcid] == InvalidOidBuiltinMapping)
		return false;
	return function_reach(funcid) == REACH_NONE;
}

/*
 * What the executor is about to call, when a rule may look at it: agentguard's
 * own work (a trial, its SQL on the agent's behalf) is let through, asked
 * only of the rare function that reaches anything.
 */
static Reach
reach_of_call(Oid funcid)
{
	Reach		reach = function_reach(funcid);

	if (likely(reach == REACH_NONE) || ag_capture_active() || ag_internal_changes_underway())
		return REACH_NONE;
	if ((reach == REACH_CITUS_RUN || reach == REACH_CITUS_SHARDS) && ag_citus_internal_connection())
		return REACH_NONE;
	return reach;
}

/*
 * OAT_FUNCTION_EXECUTE: the executor sets up a call of funcid (a function,
 * operator, aggregate or set-returning call, however the statement reached
 * it) in an agent session.
 */
void
ag_reach_agent_call(Oid funcid)
{
	const char *why;

	switch (reach_of_call(funcid))
	{
		case REACH_OUTSIDE:
		case REACH_CITUS_RUN:
			why = "It reaches outside what agentguard can see: the server's files, another connection, or rows changed without DELETE or UPDATE.";
			break;
		case REACH_FILES:
			why = "It reads the server's files or directories, where signing keys and passwords may lie.";
			break;
		case REACH_DESTROYS:
			why = "It destroys a large object's data where no request can name it; lo_unlink of the object can be confirmed instead.";
			break;
		case REACH_CITUS_SHARDS:
			why = "It is one of Citus's side doors: it destroys shards' rows where no DROP or TRUNCATE names them.";
			break;
		default:
			return;
	}
	ag_refuse_outright(psprintf("call %s()", get_func_name(funcid)), why);
}

/*
 * OAT_FUNCTION_EXECUTE in a rehearsal, of any session: what reaches outside
 * or lasts past the rollback would make the rehearsal's work outlive it.
 */
void
ag_reach_rehearsal_call(Oid funcid)
{
	Reach		reach = reach_of_call(funcid);

	if (reach == REACH_OUTSIDE || reach == REACH_CITUS_RUN || reach == REACH_LASTING)
		ag_rehearse_refuse(psprintf("call %s()", get_func_name(funcid)),
						   "Its effect would outlast the rollback that ends every rehearsal: another connection's work, a server file, a sequence's value, a replication slot or origin.");
}
