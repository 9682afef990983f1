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

/*
 * The rows a confirmed DELETE, UPDATE or MERGE changes (rows.c): while it
 * runs, where each row its ModifyTable nodes (and the cascades and triggers
 * nested in it) change was; when it has run, those rows as they were
 * before it are kept, as one entry of kind rows.
 */
typedef struct AgKeptRows AgKeptRows;

/* how a ModifyTable's source row names the row it changes */
typedef struct AgRowSource
{
	Oid			relid;			/* the one table it changes, or InvalidOid */
	AttrNumber	tableoid;		/* else the junk column naming the table */
	AttrNumber	ctid;			/* the junk column with the row's place */
} AgRowSource;

struct ModifyTableState;
struct TupleTableSlot;

/*
 * A statement starts being noted: first is its command id; until it is
 * confirmed, only up to limit rows are noted.
 */
extern AgKeptRows *ag_kept_rows_start(CommandId first, uint64 limit);
extern bool ag_row_source(struct ModifyTableState *mt, AgRowSource *source);
extern void ag_kept_rows_note(AgKeptRows *kept, const AgRowSource *source,
							  struct TupleTableSlot *slot);
extern void ag_kept_rows_confirmed(AgKeptRows *kept);
extern void ag_kept_rows_forget(AgKeptRows *kept);

/* the statement and what it caused have run: keep what it changed */
extern void ag_kept_rows_keep(AgKeptRows *kept, const AgStatement *statement, Oid target);

/* agent sessions may not change a quarantined database, or name one */
extern void ag_quarantine_refuse_database_change(Node *parsetree);

#endif							/* AGENTGUARD_QUARANTINE_H */
