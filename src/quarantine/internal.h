/*
 * quarantine/internal.h
 *		What the parts of the quarantine share among themselves; nothing
 *		outside src/quarantine/ includes this.  quarantine.h and capture.h
 *		are the quarantine's interface to the rest of agentguard.
 *
 * The names here begin with ag_q_: the server's own symbols share one
 * namespace with the library's.
 */
#ifndef AGENTGUARD_QUARANTINE_INTERNAL_H
#define AGENTGUARD_QUARANTINE_INTERNAL_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "catalog/pg_attribute.h"
#include "access/xlogdefs.h"
#include "catalog/objectaddress.h"
#include "nodes/bitmapset.h"
#include "nodes/parsenodes.h"
#include "nodes/pg_list.h"
#include "utils/acl.h"
#include "utils/relcache.h"
#include "utils/timestamp.h"

#include "capture.h"
#include "guard.h"
#include "owner.h"
#include "protect.h"

/* ---- entry.c: the records of an entry ---- */

/* an object that moves into quarantine, named as it was before the move */
typedef struct Moved
{
	ObjectAddress address;
	const char *sql_kind;		/* "TABLE", "VIEW", "FUNCTION", ... */
	char	   *schema;
	char	   *name;
	char	   *args;			/* for functions: "(argtypes)", else "" */
} Moved;

/* an index dropped: only its definition is kept, as a restore step */
#define AG_INDEX_DEFINITION "INDEX DEFINITION"

/* a kept object, as agentguard.quarantine_members records it */
typedef struct Member
{
	int			position;
	char	   *sql_kind;
	bool		alone;
	char	   *original_schema;
	char	   *original_name;
	char	   *quarantined_name;
	char	   *args;
	char	   *owner;			/* of a schema */
	char	   *acl;
	/* the rows of a TRUNCATE, once restore has checked where they go */
	Oid			table;
	Oid			kept;			/* the table in quarantine that holds them */
	char	   *columns;		/* the columns both have, as SQL */
	bool		swap;			/* the kept files go back (truncate.c) */
	uint64		rows_now;		/* rows the table holds at restore */
	/* the name a relation comes back under, once restore has chosen it */
	char	   *restore_as;
} Member;

/* SQL that restore runs to put back what lived on a table that stayed */
typedef struct RestoreStep
{
	char	   *sql;
	char	   *run_as;			/* owner of the table the step alters */
} RestoreStep;

/* a quarantine entry of this database's own, as ag_q_load_entry reads it */
typedef struct Entry
{
	int64		id;
	char	   *kind;
	char	   *original_schema;
	char	   *original_name;
	char	   *quarantined_as;
	List	   *members;		/* Member, by position */
	List	   *restore_steps;	/* RestoreStep, in order */
} Entry;

/* the owner's session for a quarantine, or a WARNING where there is none */
extern bool ag_q_open_or_warn(AgOwnerSession *ls, const char *action);

/* SQL the quarantine runs on its own behalf, through SPI */
extern void ag_q_run_sql(const char *sql);
extern char *ag_q_sql_text(const char *fmt,...) pg_attribute_printf(1, 2);

/* SQL run as the owner of the table it changes (restore) */
extern void ag_q_run_sql_as(Oid role, const char *sql, bool judged);
extern uint64 ag_q_fill_as_owner(Oid table, const char *kept, const char *sql);

/* the role that puts kept rows back into a table: its owner, or see entry.c */
extern Oid	ag_q_rows_inserter(Oid relid);

/* the rows of a relation named as SQL, as this transaction sees it now */
extern uint64 ag_q_count_rows(const char *relation);

/* names, quoted for SQL */
extern char *ag_q_qualified(const char *schema, const char *name);
extern char *ag_q_relation_qualified(Oid relid);
extern char *ag_q_clipped_name(const char *prefix, const char *original);
extern char *ag_q_quarantine_name(int64 entry, int position, const char *original);
extern const char *ag_q_session_user_name(void);

/* the catalogs, read in C: no SQL, so no name an agent could shadow */
extern Oid	ag_q_syscache_oid(int cacheId, Oid objectId, AttrNumber column);
extern HeapTuple ag_q_catalog_row(Oid catalogId, Oid indexId, AttrNumber oidColumn,
								  Oid objectId, TupleDesc *desc);
extern Oid	ag_q_scanned_oid(Oid catalogId, Oid indexId, AttrNumber oidColumn,
							 Oid objectId, AttrNumber column);
extern Oid	ag_q_relation_owner(Oid relid);
extern char *ag_q_acl_text(Acl *acl);
extern Acl *ag_q_acl_from_text(const char *text);

/* writing an entry */
extern int64 ag_q_new_entry_id(void);
extern void ag_q_retention_window(TimestampTz *dropped_at, TimestampTz *expires_at);
extern XLogRecPtr ag_q_record_entry(int64 entry, const char *kind, const char *schema,
							  const char *name, const char *quarantined_as,
							  const AgStatement *statement);
extern void ag_q_record_entry_at(int64 entry, const char *kind, const char *schema,
								 const char *name, const char *quarantined_as,
								 const AgStatement *statement, XLogRecPtr lsn);
extern void ag_q_set_quarantined_as(int64 entry, const char *quarantined_as);
extern void ag_q_save_member(int64 entry, int position, const Moved *m, bool alone,
							 const char *quarantined);
extern void ag_q_save_schema_access(int64 entry, int position, const char *owner,
									const char *acl);
extern void ag_q_save_restore_step(int64 entry, int *position, const char *description,
								   const char *restore_sql, Oid altered_relation);

/* reading and forgetting one */
extern void ag_q_no_such_entry(int64 id);
extern Entry *ag_q_load_entry(int64 id);
extern void ag_q_forget_entry(int64 id);
extern bool ag_q_is_rows(const Member *m);
extern bool ag_q_is_changed_rows(const Member *m);
extern bool ag_q_is_definition(const Member *m);
extern bool ag_q_is_schema(const Member *m);
extern bool ag_q_is_routine(const Member *m);
extern Oid	ag_q_quarantined_routine(const Member *m);
extern char *ag_q_member_in_quarantine(const Member *m);

/* the audit row and log line of a new entry */
extern void ag_q_log_quarantine(const AgStatement *statement, const char *original, int64 entry,
								const char *quarantined_as, int objects, XLogRecPtr lsn);

/* the log line of a restore or a purge: done is "restored" or "purged" */
extern void ag_q_log_done(const char *done, int64 entry, const char *objects);

/* ---- rows.c, rows_restore.c: what a DELETE, UPDATE or MERGE changed ---- */

/* a member that keeps the rows a statement deleted or updated in one table */
#define AG_CHANGED_ROWS		"CHANGED ROWS"

extern void ag_q_check_changed_rows(int64 entry, Member *m, const char *new_name);
extern char *ag_q_restore_changed_rows(const Entry *e);

/* rows_write.c: the pages of a table this statement made, filled directly */
typedef struct AgPageWriter AgPageWriter;
extern AgPageWriter *ag_q_pages_start(Relation rel);
extern void ag_q_pages_add(AgPageWriter *writer, HeapTuple tuple);
extern void ag_q_pages_finish(AgPageWriter *writer);

/* ---- capture.c: how what a DROP takes is kept ---- */

typedef enum Keeping
{
	KEEP_GOES_ALONG,			/* moves with a relation that moves */
	KEEP_MOVE,					/* renamed and moved by itself */
	KEEP_RECREATE,				/* removed; restore runs SQL to recreate it */
	KEEP_WITH_COLUMN,			/* a column of a table that stays, or on one:
								 * kept as a column entry's are (cascade.c) */
	KEEP_NONE					/* cannot be kept: the DROP is refused */
} Keeping;

/* objects: the ObjectAddresses the trial (capture.h) dropped */
extern Keeping ag_q_keeping_of(List *objects, const ObjectAddress *a);
extern bool ag_q_moves_alone(List *objects, Oid relid);
extern bool ag_q_relation_captured(List *objects, Oid relid);
extern bool ag_q_relation_moves(List *objects, Oid relid);
extern bool ag_q_column_stays_kept(List *objects, Oid relid, AttrNumber attnum);

/* what a DROP names, in its order, that the trial dropped: OIDs */
extern List *ag_q_named_relations(DropStmt *drop, List *objects);
extern List *ag_q_named_schemas(DropStmt *drop, List *objects);
extern List *ag_q_named_objects(DropStmt *drop, List *objects, Oid *classId);

/* ---- move.c: what moves aside ---- */

extern void ag_q_move(int64 entry, int *position, const ObjectAddress *a);

/* ---- truncate.c: a TRUNCATE's rows kept by their files ---- */

extern bool ag_q_storage_can_return(Oid table, Oid kept, uint64 *rows_now);
extern void ag_q_return_storage(Oid table, Oid kept);

/* ---- truncate_citus.c: a TRUNCATE's rows kept in Citus's shards ---- */

/*
 * Does a TRUNCATE (its trial's objects) empty a Citus table?  Then it is
 * run as the extension's owner, and it is refused here, before anything
 * changes, if it would fire a trigger with that role's rights or reach a
 * table its trial did not (every table it empties is locked here).
 */
extern bool ag_q_truncate_reaches_citus(List *objects);

/*
 * A Citus table's rows copied into a twin kept (unqualified) placed as it
 * is; false, with nothing done, for a table that is not Citus's.
 */
extern bool ag_q_keep_citus_rows(Oid relid, const char *kept);

/* the statement, its rows kept, run as agentguard's own change */
extern void ag_q_truncate_as_extension_owner(AgUtilityRunner run, void *run_arg);

/* ---- keep_column.c: how a column is kept ---- */

/* the members a kept column is, by what restore does with it */
#define COLUMN_ADDED		"COLUMN"	/* added back, then filled */
#define COLUMN_INHERITED	"INHERITED COLUMN"	/* comes back with its parent's */
#define COLUMN_RETYPED		"COLUMN TYPE"	/* given its old type back, then filled */
#define COLUMN_INHERITED_RETYPED "INHERITED COLUMN TYPE"
#define COLUMN_GENERATED	"GENERATED COLUMN"	/* computed again */

/* the first column of kept values matched to their rows by the whole row */
#define AG_KEPT_WHOLE_ROW	"agentguard_whole_row"

/* a column a statement destroys */
typedef struct DoomedColumn
{
	Oid			relid;
	AttrNumber	attnum;
	bool		retyped;		/* its values change type; else it is dropped */
} DoomedColumn;

extern bool ag_q_is_column(const Member *m);
extern bool ag_q_doomed_column(List *doomed, Oid relid, AttrNumber attnum);
extern Moved *ag_q_keep_column(int64 entry, int *step, const DoomedColumn *d, List *doomed,
							   const char *kept);
extern void ag_q_save_grants(int64 entry, int *step, Acl *acl, Oid owner, const char *columns,
							 Oid relid);
extern void ag_q_save_comment(int64 entry, int *step, Oid classId, Oid objectId, int32 subId,
							  const char *on_what, Oid relid);
extern const char *ag_q_column_name(const Member *m);
extern char *ag_q_column_type_sql(Form_pg_attribute att);

/* ---- cascade.c: what is written down to be made again ---- */

extern void ag_q_recreate_sql(const ObjectAddress *a, char **restore_sql, char **remove_sql,
							  Oid *altered);
extern void ag_q_remove_what_is_recreated(int64 entry, int *step, List *objects);

/* the order in which restore recreates what a CASCADE took */
typedef enum DependentPass
{
	PASS_TABLE_PARTS,			/* indexes, constraints but foreign keys */
	PASS_FOREIGN_KEYS,			/* after the keys they refer to */
	PASS_VIEWS,					/* after what they use, dependents last */
	PASS_ON_TOP,				/* triggers, policies, rules, statistics */
	PASS_JUDGE					/* nothing saved: only whether it is kept */
} DependentPass;

extern bool ag_q_keep_dependent(int64 entry, List **moving, int *step, const ObjectAddress *a,
								List *objects, List *doomed, DependentPass pass);
extern List *ag_q_keep_columns_of_drop(int64 entry, int *step, List *objects);
extern void ag_q_record_kept_columns(int64 entry, int position, List *kept);

/* ---- column_restore.c: a kept column's restore ---- */

extern void ag_q_check_column(int64 entry, Member *m, const char *new_name);
extern char *ag_q_restore_columns(const Entry *e);
extern void ag_q_columns_done(const Entry *e, const Member *main, const char *new_name);

/* ---- code.c: restore runs no code an agent could have planted ---- */

extern void ag_q_check_rows(int64 entry, Oid relid, Oid inserter, Bitmapset *computed,
							const char *kept);
extern void ag_q_check_restore_step(int64 entry, const RestoreStep *rs);
extern void ag_q_check_column_type(int64 entry, Oid typid, const char *kept);

/* ---- database.c: DROP DATABASE ---- */

/* the record of a quarantined database; its entry's id is its OID, negated */
typedef struct DatabaseRecord
{
	char	   *original;		/* the name it had */
	char	   *quarantined;	/* the name it has */
	bool		allow_connections;	/* as it was */
	char	   *comment;		/* as it was, or NULL */
	Oid			owner;			/* as it was; the bootstrap superuser owns it now */
	char	   *owner_name;
	TimestampTz expires_at;
} DatabaseRecord;

extern bool ag_q_database_has_record(Oid dboid);
extern bool ag_q_database_record(Oid dboid, DatabaseRecord *record);
extern List *ag_q_expired_databases(void);

/* restore of an entry with a negative id; ls is the open owner session */
extern char *ag_q_restore_database(int64 id, const char *new_name, AgOwnerSession *ls);

#endif							/* AGENTGUARD_QUARANTINE_INTERNAL_H */
