/*
 * rehearse.h
 *		A rehearsal (agentguard.rehearse): the requests its destructive
 *		statements would have needed, recorded in order, and the refusal of
 *		every way it could commit or reach past its own rollback.
 */
#ifndef AGENTGUARD_REHEARSE_H
#define AGENTGUARD_REHEARSE_H

#include "postgres.h"

#include "nodes/plannodes.h"
#include "tcop/utility.h"

#include "compat.h"
#include "xact.h"

/* whether this transaction is a rehearsal */
static inline bool
ag_rehearsing(void)
{
	return ag_xact.rehearsing;
}

/* puts the refusal of a rehearsal's commit in place (at _PG_init) */
extern void ag_rehearse_init(void);

/*
 * Record a request the rehearsal's statement would have needed; what names
 * it in the notice.  Past what one batch carries, the statement fails.
 */
extern void ag_rehearse_record(const uint8 *body, size_t len, const char *what);

/* a utility statement in a rehearsal: COMMIT, PREPARE, COPY to files ... */
extern void ag_rehearse_utility(Node *parsetree, ProcessUtilityContext context);

/* a statement in a rehearsal about to write: not to foreign tables */
extern void ag_rehearse_check_writes(PlannedStmt *plannedstmt);

/* refuse what a rehearsal cannot do, in plain words */
extern ag_noreturn_before void ag_rehearse_refuse(const char *what, const char *why) ag_noreturn_after;

#endif							/* AGENTGUARD_REHEARSE_H */
