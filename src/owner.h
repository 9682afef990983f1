/*
 * owner.h
 *		Work done as the owner of the agentguard extension: SPI with a
 *		search_path an agent cannot shadow, the count of agentguard's own
 *		changes underway, and results handed back in the caller's memory.
 */
#ifndef AGENTGUARD_OWNER_H
#define AGENTGUARD_OWNER_H

#include "postgres.h"

#include "executor/spi.h"

typedef struct AgOwnerSession
{
	Oid			saved_user;		/* identity to switch back to */
	int			saved_sec_context;
	int			guc_nest_level; /* settings pinned until close */
	MemoryContext caller;		/* where results are copied to */
} AgOwnerSession;

/* the owner of the extension in this database, or InvalidOid */
extern Oid	ag_extension_owner(void);

/*
 * Connect SPI as the extension's owner (false when it is not installed), or
 * as a given role.  An error in between is cleaned up by the abort, which
 * restores the user and closes SPI.
 */
extern bool ag_owner_open(AgOwnerSession *session);
extern void ag_owner_open_as(AgOwnerSession *session, Oid role);
extern void ag_owner_close(AgOwnerSession *session);

/*
 * Run SQL with arguments (nulls as SPI takes them, or NULL); an outcome
 * other than expected is an error naming what failed.  Returns the rows.
 */
extern uint64 ag_owner_exec(const char *sql, int nargs, Oid *types, Datum *values,
							const char *nulls, int expected, const char *what);

/* a value of the last result, in the caller's memory: text or NULL, or binary */
extern char *ag_owner_text(AgOwnerSession *session, uint64 row, int column);
extern Datum ag_owner_datum(uint64 row, int column, bool *isnull);

/* agentguard's own changes, made on an agent session's behalf */
extern void ag_internal_changes_begin(void);
extern void ag_internal_changes_end(void);
extern bool ag_internal_changes_underway(void);

#endif							/* AGENTGUARD_OWNER_H */
