/*
 * classify.h
 *		What a utility statement of an agent session destroys: the objects it
 *		names, and whether what it takes along must be learned by a trial.
 */
#ifndef AGENTGUARD_CLASSIFY_H
#define AGENTGUARD_CLASSIFY_H

#include "postgres.h"

#include "catalog/objectaddress.h"
#include "nodes/parsenodes.h"

#include "guard.h"

typedef struct AgClassified
{
	AgStatement *statement;		/* NULL: it destroys nothing by its kind */
	bool		protected;		/* a target is one the rules protect */
	bool		capture;		/* what it takes along needs a trial */
	List	   *retyped;		/* names of columns whose type it changes */
	const char *reason;			/* why it is guarded, when its kind does not say */
} AgClassified;

extern void ag_classify(Node *parsetree, const char *text, int textlen,
						AgClassified *classified);

/* adds what a trial of the statement dropped or truncated to its targets */
extern void ag_classify_add_captured(AgClassified *classified, List *captured);

/* temporary, or created in this transaction: nothing old is lost with it */
extern bool ag_object_exempt(const ObjectAddress *address);

/*
 * Whether losing the object loses data or a definition others use: tables,
 * views, sequences and their columns, functions, types, schemas, large
 * objects.  Indexes, constraints and TOAST go with their table.
 */
extern bool ag_object_kept(Oid classId, Oid objectId, int32 subId);

#endif							/* AGENTGUARD_CLASSIFY_H */
