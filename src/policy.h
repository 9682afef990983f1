/*
 * policy.h
 *		What agent sessions may never do with functions and tables, whatever
 *		their rights: the outright refusals the executor and planner hooks
 *		apply.
 */
#ifndef AGENTGUARD_POLICY_H
#define AGENTGUARD_POLICY_H

#include "postgres.h"

#include "nodes/parsenodes.h"
#include "executor/execdesc.h"
#include "nodes/plannodes.h"

/* a utility statement an agent session may never run, refused outright */
extern void ag_policy_utility(Node *parsetree);

/*
 * What each built-in function reaches, by OID: judged once per backend by
 * the C function the server runs for it, which no catalog change alters.
 * AG_REACH_NONE: nothing that any rule looks at.
 */
#define AG_REACH_NONE 0
#define AG_REACH_UNKNOWN 0xFF
extern uint8 *ag_builtin_reach;
extern Oid	ag_builtin_reach_size;

/*
 * A call that no rule of an agent session or rehearsal looks at: a built-in
 * known to reach nothing, most calls of every statement.  Asked before
 * anything else, without a call, so that it costs a few loads.
 */
static inline bool
ag_policy_known_to_reach_nothing(Oid funcid)
{
	return funcid < ag_builtin_reach_size && ag_builtin_reach[funcid] == AG_REACH_NONE;
}

/* the same, a built-in not judged yet judged now; false for other functions */
extern bool ag_policy_reaches_nothing(Oid funcid);

/* the executor is about to set up a call of funcid in an agent session */
extern void ag_policy_function_execute(Oid funcid);

/* the executor is about to set up a call of funcid in a rehearsal */
extern void ag_policy_rehearsal_function(Oid funcid);

/* a superuser agent's plan: no setval of agentguard's own sequences */
extern void ag_policy_check_plan(PlannedStmt *plannedstmt);

/* no writes to system catalogs (before the executor starts) or agentguard's tables (after) */
extern void ag_policy_check_catalog_writes(PlannedStmt *plannedstmt);
extern void ag_policy_check_own_writes(QueryDesc *queryDesc);

#endif							/* AGENTGUARD_POLICY_H */
