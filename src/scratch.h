/*
 * scratch.h
 *		Tables a DBA labelled scratch (or whose schema is): job queues,
 *		caches, sessions, whose rows agents may delete, update and truncate
 *		freely.  Dropping such a table stays protected.
 */
#ifndef AGENTGUARD_SCRATCH_H
#define AGENTGUARD_SCRATCH_H

#include "postgres.h"

#include "catalog/objectaddress.h"

#define AG_SCRATCH_LABEL "scratch"

/* SECURITY LABEL FOR agentguard on a table or schema: 'scratch' or NULL */
extern void ag_scratch_check_label(const ObjectAddress *object, const char *seclabel);

/* does the table or schema itself carry the scratch label? */
extern bool ag_scratch_labelled(const ObjectAddress *object);

/* does the table, or its schema, carry the scratch label? */
extern bool ag_table_is_scratch(Oid relid);

/* a table that holds no committed or own row now */
extern bool ag_table_holds_no_rows(Oid relid);

/* scratch, or holding no row the session could be denied */
extern bool ag_truncate_destroys_nothing(Oid relid);

#endif							/* AGENTGUARD_SCRATCH_H */
