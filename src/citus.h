/*
 * citus.h
 *		agentguard on a Citus cluster: Citus's side doors refused to agent
 *		sessions, its settings that would turn its own safety off kept, its
 *		metadata tables guarded like the catalogs, and distributed DELETEs
 *		and UPDATEs that reach every row refused before they run (citus.c).
 *		Nothing here costs a server without Citus more than one test of
 *		ag_citus_loaded.
 */
#ifndef AGENTGUARD_CITUS_H
#define AGENTGUARD_CITUS_H

#include "postgres.h"

#include "executor/execdesc.h"
#include "nodes/pg_list.h"
#include "nodes/plannodes.h"

#include "citus_keep.h"

/* at load time, after Citus has defined its settings: sets ag_citus_loaded */
extern void ag_citus_init(void);

/* a connection Citus opened from another node, by what it presents */
extern bool ag_citus_internal_connection(void);

/* an agent's statement is about to start: no writes to Citus's metadata */
extern void ag_citus_check_writes(PlannedStmt *plannedstmt);

/*
 * An agent's DELETE, UPDATE or MERGE has been planned, with unbounded the
 * statements of it that reach every row of their target (unbounded.c).
 */
extern void ag_citus_check_plan(PlannedStmt *plannedstmt, List *unbounded);

/* the same, for a statement whose rows quarantine_drops = 'all' keeps */
extern void ag_citus_check_kept_plan(PlannedStmt *plannedstmt, List *unbounded);

/* it has run on every shard: what they changed together, to the row limit */
extern void ag_citus_check_rows(QueryDesc *queryDesc);

#endif							/* AGENTGUARD_CITUS_H */
