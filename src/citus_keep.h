/*
 * citus_keep.h
 *		What agentguard's own work needs on a Citus cluster: a trial that
 *		stays on this node, changes of its own that reach every node, and
 *		which tables keep their rows in shards (citus_keep.c).  Nothing here
 *		is called without Citus: every caller tests ag_citus_loaded first.
 */
#ifndef AGENTGUARD_CITUS_KEEP_H
#define AGENTGUARD_CITUS_KEEP_H

#include "postgres.h"

#include "nodes/pg_list.h"

/* Citus was loaded before agentguard, at server start (set by citus.c) */
extern bool ag_citus_loaded;

/* in a trial's subtransaction: Citus changes this node only */
extern void ag_citus_trial_stays_here(void);

/*
 * In agentguard's own SPI work, at a new GUC nest level: Citus carries its
 * DDL to every node, whatever the session set.
 */
extern void ag_citus_own_changes_propagate(void);

/* is the relation a Citus table (distributed, reference or Citus local)? */
extern bool ag_citus_table(Oid relid);

/* how a Citus table's rows are placed */
typedef enum AgCitusPlacement
{
	AG_CITUS_NOT,				/* not a Citus table */
	AG_CITUS_HASH,				/* hash-distributed: shards on the workers */
	AG_CITUS_REFERENCE,			/* one shard, a copy on every node */
	AG_CITUS_OTHER				/* Citus local, single-shard, append or range */
} AgCitusPlacement;

/* and, for a hash-distributed one, *column: its distribution column */
extern AgCitusPlacement ag_citus_placement(Oid relid, char **column);

/*
 * Does a saved restore step alter a Citus table?  Citus gives each role
 * connections of its own to the workers, which do not see what another
 * role's did in the same transaction: such a step runs as the role that
 * moved the tables back, not as the table's owner.
 */
extern bool ag_citus_step_alters_citus_table(const char *sql);

/*
 * Before a confirmed DROP is kept: refuses one that takes a table of a
 * distributed (tenant) schema, which Citus undistributes when it leaves
 * its schema.  objects are the trial's ObjectAddresses.
 */
extern void ag_citus_check_drop_kept(List *objects);

/*
 * Before a confirmed ALTER TABLE ... DROP COLUMN or ALTER COLUMN TYPE is
 * kept: refuses one that changes a Citus table, whose rows live in shards
 * that keeping on this node cannot reach.  tables are OIDs.
 */
extern void ag_citus_check_columns_kept(List *tables);

#endif							/* AGENTGUARD_CITUS_KEEP_H */
