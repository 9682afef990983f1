/*
 * guard.h
 *		The one decision every hook asks for: let a destructive statement of
 *		an agent session run, refuse it with a request code, or use up a
 *		confirmation that covers it.
 */
#ifndef AGENTGUARD_GUARD_H
#define AGENTGUARD_GUARD_H

#include "postgres.h"

#include "catalog/objectaddress.h"
#include "nodes/params.h"
#include "nodes/pg_list.h"
#include "nodes/nodes.h"

#include "ledger.h"

/*
 * A destructive statement, as the hooks describe it to guard.c.  The
 * request names targets (schema-qualified identities, char *) to the DBA and
 * is bound to objects (ObjectAddress *), the identities of what the
 * statement destroys: renaming things after the approval never points it at
 * anything else.
 */
typedef struct AgStatement
{
	const char *action;			/* "DROP TABLE", "TRUNCATE", ... */
	const char *verb;			/* plain words: "drop table", ... */
	List	   *targets;
	int			named;			/* how many targets the statement itself names */
	List	   *objects;
	const char *text;			/* the statement alone, trimmed */
	int			textlen;
	const char *code;			/* its request code, once the guard made it */

	/* a DELETE, UPDATE or MERGE also shows and is bound to: */
	List	   *params;			/* AgParam * with whole values */

	/* and, once counted, limits its approval to: */
	bool		counted;
	uint64		rows;			/* rows it changed when refused */
	bool		rows_more;		/* counting stopped at rows */
	List	   *tables;			/* OIDs of the tables it changed */
} AgStatement;

/* guard.c: the one decision */
typedef enum AgVerdict
{
	AG_ALLOW,					/* nothing to protect, or mode off */
	AG_OBSERVED,				/* observe mode: warned, let it run */
	AG_CONFIRMED,				/* a confirmation covers it; it was used */
	AG_REHEARSED				/* a rehearsal recorded its request: it runs,
								 * and nothing it does can last */
} AgVerdict;

extern void ag_statement_add_object(AgStatement *stmt, const ObjectAddress *address);
extern AgVerdict ag_guard(AgStatement *stmt, const char *reason);
extern bool ag_guard_use_confirmation(AgStatement *stmt, AgApproval *approval,
									  char **why_not);
extern void ag_guard_report(AgStatement *stmt, const char *reason,
							const char *why_not);

/* a DML statement's verb and the parameter values it is bound to */
extern const char *ag_dml_verb(CmdType command);
extern List *ag_dml_params(ParamListInfo params);

/* the request code of a statement the guard did not judge, into stmt->code */
extern void ag_request_code(AgStatement *stmt);

/* targets for a message: the first ten, and how many more */
extern char *ag_join_targets(List *targets);

#endif							/* AGENTGUARD_GUARD_H */
