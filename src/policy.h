/*
 * policy.h
 *		What agent sessions may never do with statements and tables, whatever
 *		their rights: the outright refusals the utility, planner and
 *		executor hooks apply.
 */
#ifndef AGENTGUARD_POLICY_H
#define AGENTGUARD_POLICY_H

#include "postgres.h"

#include "nodes/parsenodes.h"
#include "executor/execdesc.h"
#include "nodes/plannodes.h"

/* a utility statement an agent session may never run, refused outright */
extern void ag_policy_utility(Node *parsetree);

/* a superuser agent's plan: no setval of agentguard's own sequences */
extern void ag_policy_check_plan(PlannedStmt *plannedstmt);

/* no writes to system catalogs (before the executor starts) or agentguard's tables (after) */
extern void ag_policy_check_catalog_writes(PlannedStmt *plannedstmt);
extern void ag_policy_check_own_writes(QueryDesc *queryDesc);

#endif							/* AGENTGUARD_POLICY_H */
