/*
 * agentguard.c
 *		Loading: the preload check, then every part of agentguard in place.
 *
 * agentguard must be in shared_preload_libraries: its hooks have to be in
 * place before any session can run a statement, and a library that an agent
 * could choose not to load guards nothing.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "citus.h"
#include "compat.h"
#include "hooks.h"
#include "protect.h"
#include "refusals.h"
#include "rehearse.h"
#include "session.h"
#include "settings.h"
#include "waiting.h"
#include "xact.h"

PG_MODULE_MAGIC;

static bool loaded_by_preload = false;

PGDLLEXPORT void _PG_init(void);

PG_FUNCTION_INFO_V1(agentguard_preloaded);

static void
refuse_without_preload(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("agentguard: the library must be loaded at server start"),
			 errdetail("%s", detail),
			 errhint("Add agentguard to shared_preload_libraries in postgresql.conf, restart the server, then run CREATE EXTENSION agentguard.")));
}

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		refuse_without_preload("agentguard was loaded into a running session, where it cannot guard anything.");

	loaded_by_preload = true;
	ag_settings_define();

	/* pg_upgrade's binary-upgrade mode replays a dump: nothing to guard */
	if (IsBinaryUpgrade)
		return;

	ag_session_init();
	ag_citus_init();
	ag_protect_init();
	ag_refusals_init();
	ag_waiting_init();
	ag_rehearse_init();
	ag_install_utility_hook();
	ag_install_executor_hooks();
	ag_install_object_access_hook();
}

/*
 * Called from the extension script, so that CREATE EXTENSION fails with the
 * preload message even in a session where an earlier failed load already
 * left the library in memory.
 */
Datum
agentguard_preloaded(PG_FUNCTION_ARGS)
{
	if (!loaded_by_preload)
		refuse_without_preload("agentguard is not in shared_preload_libraries.");
	PG_RETURN_VOID();
}
