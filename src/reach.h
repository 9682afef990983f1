/*
 * reach.h
 *		Functions that reach outside what agentguard sees, destroy what no
 *		statement names, or last past a rollback, by the C function that
 *		runs for them.
 */
#ifndef AGENTGUARD_REACH_H
#define AGENTGUARD_REACH_H

#include "postgres.h"

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
ag_reach_known_nothing(Oid funcid)
{
	return funcid < ag_builtin_reach_size && ag_builtin_reach[funcid] == AG_REACH_NONE;
}

/* the same, a built-in not judged yet judged now; false for other functions */
extern bool ag_reach_nothing(Oid funcid);

/* the executor is about to set up a call of funcid in an agent session */
extern void ag_reach_agent_call(Oid funcid);

/* the executor is about to set up a call of funcid in a rehearsal */
extern void ag_reach_rehearsal_call(Oid funcid);

#endif							/* AGENTGUARD_REACH_H */
