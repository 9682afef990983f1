/*
 * unbounded.h
 *		DELETE, UPDATE and MERGE that would change every row of their target:
 *		found in the query tree when it is planned, and marked in the plan
 *		itself, so that every run of the plan knows it, however long the plan
 *		stays cached.
 */
#ifndef AGENTGUARD_UNBOUNDED_H
#define AGENTGUARD_UNBOUNDED_H

#include "postgres.h"

#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"

/*
 * The unbounded DELETEs, UPDATEs and MERGEs of a query (itself and its
 * data-modifying CTEs), to be marked in its plan once it is made.
 */
extern List *ag_unbounded_find(Query *query);
extern void ag_unbounded_mark(PlannedStmt *plan, List *unbounded);

/* why the rows this plan node reads are every row of the target, or NULL */
extern const char *ag_unbounded_reason(Plan *source);

#endif							/* AGENTGUARD_UNBOUNDED_H */
