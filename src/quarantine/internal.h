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
#include "access/xlogdefs.h"
#include "catalog/objectaddress.h"
#include "nodes/bitmapset.h"
#include "nodes/parsenodes.h"
#include "nodes/pg_list.h"
#include "utils/acl.h"
#include "utils/timestamp.h"

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

/* SQL the quarantine runs on its own behalf, through SPI */
extern void ag_q_run_sql(const char *sql);
extern char *ag_q_sql_text(const char *fmt,...) pg_attribute_printf(1, 2);

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
extern bool ag_q_is_schema(const Member *m);
extern bool ag_q_is_routine(const Member *m);
extern Oid	ag_q_quarantined_routine(const Member *m);
extern char *ag_q_member_in_quarantine(const Member *m);

/* the log line of a restore or a purge: done is "restored" or "purged" */
extern void ag_q_log_done(const char *done, int64 entry, const char *objects);

/* ---- capture.c: how what a DROP takes is kept ---- */

typedef enum Keeping
{
	KEEP_GOES_ALONG,			/* moves with a relation that moves */
	KEEP_MOVE,					/* renamed and moved by itself */
	KEEP_RECREATE,				/* removed; restore runs SQL to recreate it */
	KEEP_NONE					/* cannot be kept: the DROP is refused */
} Keeping;

/* objects: the ObjectAddresses the trial (capture.h) dropped */
extern Keeping ag_q_keeping_of(List *objects, const ObjectAddress *a);
extern bool ag_q_moves_alone(List *objects, Oid relid);
extern bool ag_q_relation_captured(List *objects, Oid relid);
extern bool ag_q_relation_moves(List *objects, Oid relid);

/* what a DROP names, in its order, that the trial dropped: OIDs */
extern List *ag_q_named_relations(DropStmt *drop, List *objects);
extern List *ag_q_named_schemas(DropStmt *drop, List *objects);

/* ---- code.c: restore runs no code an agent could have planted ---- */

extern void ag_q_check_rows(int64 entry, Oid relid, Oid inserter, Bitmapset *computed,
							const char *kept);
extern void ag_q_check_restore_step(int64 entry, const RestoreStep *rs);

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
