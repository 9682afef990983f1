/*
 * capture.h
 *		What a statement destroys, learned from the server itself: the
 *		statement runs once in a subtransaction that is rolled back, while
 *		the object-access hook writes down every object it drops or
 *		truncates.
 */
#ifndef AGENTGUARD_CAPTURE_H
#define AGENTGUARD_CAPTURE_H

#include "postgres.h"

#include "catalog/objectaddress.h"
#include "nodes/pg_list.h"

/* a truncated relation is noted with this sub-id */
#define AG_CAPTURED_TRUNCATE	(-1)

typedef void (*AgUtilityRunner) (void *arg);

/*
 * Run the statement and roll it back; *captured gets the ObjectAddresses it
 * dropped or truncated, in order.  Returns false when the statement failed
 * (its own run will fail the same way, with the server's own error), having
 * swallowed the error; a cancel is passed on.  quiet keeps its notices out
 * of the client's sight.
 */
extern bool ag_capture(AgUtilityRunner run, void *run_arg, bool quiet, List **captured);

/* for the object-access hook: is a capture running, and note an object */
extern bool ag_capture_active(void);
extern void ag_capture_note(Oid classId, Oid objectId, int32 subId);

#endif							/* AGENTGUARD_CAPTURE_H */
