/*
 * quarantine.h
 *		What a confirmed DROP, TRUNCATE, DROP DATABASE or ALTER TABLE ...
 *		DROP COLUMN / ALTER COLUMN ... TYPE destroys is kept
 *		aside instead, until agentguard.restore puts it back or purge
 *		destroys it for good.
 */
#ifndef AGENTGUARD_QUARANTINE_H
#define AGENTGUARD_QUARANTINE_H

#include "postgres.h"

#include "nodes/parsenodes.h"

#include "guard.h"

extern bool ag_quarantine_covers(DropStmt *drop);

/*
 * Keep what the statement destroys, given what its trial (capture.h)
 * captured; run is the statement itself, for when there is nothing to keep.
 */
extern void ag_quarantine_drop(DropStmt *drop, const AgStatement *statement, List *captured,
							   void (*run) (void *arg), void *run_arg);
extern void ag_quarantine_truncate(const AgStatement *statement, List *captured,
								   void (*run) (void *arg), void *run_arg);
extern bool ag_quarantine_covers_alter(AlterTableStmt *alter);
extern List *ag_quarantine_retyped_columns(AlterTableStmt *alter);
extern bool ag_quarantine_alter_drops(AlterTableStmt *alter);
extern void ag_quarantine_alter_table(const AgStatement *statement, List *captured,
									  void (*run) (void *arg), void *run_arg);
extern bool ag_quarantine_dropdb(DropdbStmt *stmt, bool top_level,
								 const AgStatement *statement);

/* agent sessions may not change a quarantined database, or name one */
extern void ag_quarantine_refuse_database_change(Node *parsetree);

#endif							/* AGENTGUARD_QUARANTINE_H */
