/*
 * count.h
 *		The rows a running DELETE, UPDATE, MERGE or upsert of an agent
 *		session changes, and what a confirmation lets it change (count.c).
 *		The executor hooks (dml.c) call these for every counted statement.
 */
#ifndef AGENTGUARD_COUNT_H
#define AGENTGUARD_COUNT_H

#include "postgres.h"

#include "executor/execdesc.h"

/* after ExecutorStart: wrap its row sources and push its frame */
extern void ag_count_start(QueryDesc *queryDesc);

/*
 * The executor hooks call these two only while a frame is on the stack
 * (ag_xact.frames), which spares every other statement the call.
 */

/* after ExecutorFinish: judge everything it changed, refuse if it must */
extern void ag_count_finish(QueryDesc *queryDesc);

/* before ExecutorEnd: pop its frame */
extern void ag_count_end(QueryDesc *queryDesc);

#endif							/* AGENTGUARD_COUNT_H */
