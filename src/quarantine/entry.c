/*
 * quarantine/entry.c
 *		The records of a quarantine entry, and the helpers every part of
 *		the quarantine uses to write and read them.
 *
 * An entry is a row of agentguard.quarantine_entries, with a row of
 * agentguard.quarantine_members for every object it keeps and one of
 * agentguard.quarantine_saved for every step restore runs to put back what
 * lived on tables that stayed.  They are written and read with SPI, as the
 * extension's owner (owner.h), by SQL whose every name is qualified.  The
 * quarantine's own changes (renaming, moving, granting) are SQL too, built
 * here from quoted names.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/catcache.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/pg_lsn.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "citus_keep.h"
#include "ledger.h"
#include "names.h"
#include "quarantine/internal.h"
#include "settings.h"

/* SQL of the quarantine's own, run through the SPI connection that is open */
void
ag_q_run_sql(const char *sql)
{
	int			ret = SPI_execute(sql, false, 0);

	if (ret < 0)
		elog(ERROR, "agentguard: quarantine step failed (%s): %s",
			 SPI_result_code_string(ret), sql);
}

/*
 * Run SQL as the owner of the table it changes, in a restricted operation.
 * Restore has checked that it runs no code an agent could have planted
 * (code.c); running it with the owner's rights rather than agentguard's
 * keeps what built-in code remains to the owner's own reach.  Its names
 * resolve in pg_catalog first and the session's temporary schema last,
 * whatever the caller's search_path.  judged: not as one of agentguard's own
 * changes, so the usual checks apply to what it does (the saved steps);
 * agentguard's own putting back of kept values is not judged again.
 */
void
ag_q_run_sql_as(Oid role, const char *sql, bool judged)
{
	Oid			saved_user;
	int			saved_context;
	int			nest_level = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	GetUserIdAndSecContext(&saved_user, &saved_context);
	SetUserIdAndSecContext(role, saved_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	if (judged)
		ag_internal_changes_end();
	ag_q_run_sql(sql);
	if (judged)
		ag_internal_changes_begin();
	SetUserIdAndSecContext(saved_user, saved_context);
	AtEOXact_GUC(true, nest_level);
}

/*
 * SQL that puts kept values into table, run as its owner (or see
 * ag_q_rows_inserter), who may read kept only meanwhile, with none of the
 * table's triggers and rules firing (see code.c); returns how many rows it
 * wrote.
 */
uint64
ag_q_fill_as_owner(Oid table, const char *kept, const char *sql)
{
	Oid			owner = ag_q_rows_inserter(table);
	bool		lend = !superuser_arg(owner);
	const char *role = quote_identifier(GetUserNameFromId(owner, false));
	int			nest_level;
	uint64		written;

	if (lend)
	{
		ag_q_run_sql(ag_q_sql_text("GRANT SELECT ON %s TO %s", kept, role));
		ag_q_run_sql(ag_q_sql_text("GRANT USAGE ON SCHEMA %s TO %s", AG_QUARANTINE_SCHEMA, role));
	}
	nest_level = NewGUCNestLevel();
	(void) set_config_option("session_replication_role", "replica", PGC_SUSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	/* a policy that would apply is an error, not code that runs */
	(void) set_config_option("row_security", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	ag_q_run_sql_as(owner, sql, false);
	written = SPI_processed;
	AtEOXact_GUC(true, nest_level);
	if (lend)
		ag_q_run_sql(ag_q_sql_text("REVOKE USAGE ON SCHEMA %s FROM %s", AG_QUARANTINE_SCHEMA, role));
	return written;
}

/*
 * The extension owner's session for keeping what statement (its action)
 * destroys; false, with a WARNING, where the extension is not installed:
 * the statement then runs as it would without agentguard.
 */
bool
ag_q_open_or_warn(AgOwnerSession *ls, const char *action)
{
	if (ag_owner_open(ls))
		return true;
	ereport(WARNING,
			(errmsg("agentguard: %s not quarantined: the extension is not installed in this database", action),
			 errhint("CREATE EXTENSION agentguard in every database whose changes should be recoverable.")));
	return false;
}

/* SQL built from names that the caller has quoted */
char *
ag_q_sql_text(const char *fmt,...)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	return buf.data;
}

/* schema.name, each quoted as SQL needs it */
char *
ag_q_qualified(const char *schema, const char *name)
{
	return quote_qualified_identifier(schema, name);
}

/* a relation's schema-qualified name, where it is now */
char *
ag_q_relation_qualified(Oid relid)
{
	return ag_q_qualified(get_namespace_name(get_rel_namespace(relid)), get_rel_name(relid));
}

/*
 * prefix, then as much of original as fits NAMEDATALEN, cut on a character
 * boundary: the server would cut a longer name itself, and the prefix, which
 * makes the name unique, must survive.
 */
char *
ag_q_clipped_name(const char *prefix, const char *original)
{
	int			room = NAMEDATALEN - 1 - strlen(prefix);
	int			keep = pg_mbcliplen(original, strlen(original), room);

	return psprintf("%s%.*s", prefix, keep, original);
}

/*
 * A name in the quarantine schema that no other entry uses and that fits
 * NAMEDATALEN whatever the original was: "q<entry>_<n>_<original>".
 */
char *
ag_q_quarantine_name(int64 entry, int position, const char *original)
{
	char	   *prefix = position == 0 ?
		psprintf("q" INT64_FORMAT "_", entry) :
		psprintf("q" INT64_FORMAT "_%d_", entry, position);

	return ag_q_clipped_name(prefix, original);
}

/* who is quarantining or restoring, for the records and the log */
const char *
ag_q_session_user_name(void)
{
	return GetUserNameFromId(GetSessionUserId(), false);
}

/* one OID column of a catalog row found by its OID, through the syscache */
Oid
ag_q_syscache_oid(int cacheId, Oid objectId, AttrNumber column)
{
	HeapTuple	tuple = SearchSysCache1(cacheId, ObjectIdGetDatum(objectId));
	Oid			result = InvalidOid;
	bool		isnull;

	if (!HeapTupleIsValid(tuple))
		return InvalidOid;
	result = DatumGetObjectId(SysCacheGetAttr(cacheId, tuple, column, &isnull));
	ReleaseSysCache(tuple);
	return isnull ? InvalidOid : result;
}

/*
 * A copy of a row of a catalog without a syscache on its OID (pg_trigger,
 * pg_rewrite, pg_policy, pg_attrdef), or NULL.
 */
HeapTuple
ag_q_catalog_row(Oid catalogId, Oid indexId, AttrNumber oidColumn, Oid objectId,
				 TupleDesc *desc)
{
	Relation	catalog = table_open(catalogId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;

	ScanKeyInit(&key, oidColumn, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(objectId));
	scan = systable_beginscan(catalog, indexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		tuple = heap_copytuple(tuple);
	if (desc)
		*desc = CreateTupleDescCopy(RelationGetDescr(catalog));
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	return tuple;
}

/* one OID column of such a row, or InvalidOid */
Oid
ag_q_scanned_oid(Oid catalogId, Oid indexId, AttrNumber oidColumn, Oid objectId,
				 AttrNumber column)
{
	TupleDesc	desc;
	HeapTuple	tuple = ag_q_catalog_row(catalogId, indexId, oidColumn, objectId, &desc);
	bool		isnull;
	Datum		d;

	if (!HeapTupleIsValid(tuple))
		return InvalidOid;
	d = heap_getattr(tuple, column, desc, &isnull);
	return isnull ? InvalidOid : DatumGetObjectId(d);
}

/* whose rights restore's steps run with (see restore.c) */
Oid
ag_q_relation_owner(Oid relid)
{
	return ag_q_syscache_oid(RELOID, relid, Anum_pg_class_relowner);
}

/*
 * The role kept rows go back into a table as: its owner, whose rights bound
 * what built-in code remains.  Citus reaches a Citus table's shards over
 * connections of the role that runs the statement, and the owner's would
 * not see the grant of the kept rows made over the extension owner's in
 * this transaction: they go back as the extension's owner, as the restore
 * steps of a Citus table do (restore.c).
 */
Oid
ag_q_rows_inserter(Oid relid)
{
	if (unlikely(ag_citus_loaded) && ag_citus_table(relid))
		return GetUserId();
	return ag_q_relation_owner(relid);
}

uint64
ag_q_count_rows(const char *relation)
{
	bool		isnull;

	/* not read-only: the count must see the table as restore just rewrote it */
	if (SPI_execute(ag_q_sql_text("SELECT pg_catalog.count(*) FROM %s", relation), false, 1) != SPI_OK_SELECT)
		elog(ERROR, "agentguard: could not count the rows of %s", relation);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* an aclitem[] as text, with role names, as it is kept for restore */
char *
ag_q_acl_text(Acl *acl)
{
	Oid			output;
	bool		varlena;

	getTypeOutputInfo(ACLITEMARRAYOID, &output, &varlena);
	return OidOutputFunctionCall(output, PointerGetDatum(acl));
}

/* and back, when restore grants it again */
Acl *
ag_q_acl_from_text(const char *text)
{
	Oid			input;
	Oid			ioparam;

	getTypeInputInfo(ACLITEMARRAYOID, &input, &ioparam);
	return DatumGetAclP(OidInputFunctionCall(input, unconstify(char *, text), ioparam, -1));
}

/* the next quarantine entry's number */
int64
ag_q_new_entry_id(void)
{
	bool		isnull;

	if (SPI_execute("SELECT pg_catalog.nextval('agentguard.quarantine_ids'::pg_catalog.regclass)",
					false, 1) != SPI_OK_SELECT)
		elog(ERROR, "agentguard: could not number a quarantine entry");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * When a quarantine happens (the transaction's start, as now() says) and
 * when it expires: agentguard.retention later, as it is set now.
 */
void
ag_q_retention_window(TimestampTz *dropped_at, TimestampTz *expires_at)
{
	Datum		retention = DirectFunctionCall3(interval_in, CStringGetDatum(ag_retention),
												ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));

	*dropped_at = GetCurrentTransactionStartTimestamp();
	*expires_at = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
														  TimestampTzGetDatum(*dropped_at),
														  retention));
}

/*
 * Whether the installed SQL objects record an entry's WAL position (1.2 and
 * later).  After a new library is installed and before ALTER EXTENSION
 * agentguard UPDATE, it serves the tables of an older script, and an entry
 * there is kept all the same, without its position.
 */
static bool
entries_record_lsn(void)
{
	Oid			entries = get_relname_relid("quarantine_entries",
											get_namespace_oid(AG_SCHEMA, false));

	return get_attnum(entries, "lsn") != InvalidAttrNumber;
}

/* the entry's row, kept for agentguard.retention from now */
XLogRecPtr
ag_q_record_entry(int64 entry, const char *kind, const char *schema, const char *name,
				  const char *quarantined_as, const AgStatement *statement)
{
	/* recorded before the statement's objects move: recovery stops here */
	XLogRecPtr	lsn = GetXLogInsertRecPtr();

	ag_q_record_entry_at(entry, kind, schema, name, quarantined_as, statement, lsn);
	return lsn;
}

/* the same, for a statement that has run: where it began is lsn */
void
ag_q_record_entry_at(int64 entry, const char *kind, const char *schema, const char *name,
					 const char *quarantined_as, const AgStatement *statement, XLogRecPtr lsn)
{
	Oid			types[10] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		TIMESTAMPTZOID, TIMESTAMPTZOID, PG_LSNOID};
	Datum		values[10];
	TimestampTz dropped_at;
	TimestampTz expires_at;
	bool		with_lsn;

	ag_q_retention_window(&dropped_at, &expires_at);
	values[0] = Int64GetDatum(entry);
	values[1] = CStringGetTextDatum(kind);
	values[2] = CStringGetTextDatum(schema);
	values[3] = CStringGetTextDatum(name);
	values[4] = CStringGetTextDatum(quarantined_as);
	values[5] = CStringGetTextDatum(ag_q_session_user_name());
	values[6] = CStringGetTextDatum(pnstrdup(statement->text, statement->textlen));
	values[7] = TimestampTzGetDatum(dropped_at);
	values[8] = TimestampTzGetDatum(expires_at);
	values[9] = LSNGetDatum(lsn);
	with_lsn = entries_record_lsn();
	if (SPI_execute_with_args(psprintf("INSERT INTO agentguard.quarantine_entries "
									   "(id, kind, original_schema, original_name, quarantined_as, dropped_by, "
									   "dropped_at, expires_at, statement%s) "
									   "VALUES ($1, $2, $3, $4, $5, $6, $8, $9, $7%s)",
									   with_lsn ? ", lsn" : "", with_lsn ? ", $10" : ""),
							  with_lsn ? 10 : 9, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "agentguard: could not record the quarantine entry");
}

/* a DROP SCHEMA's entry is known by the first schema's name in quarantine */
void
ag_q_set_quarantined_as(int64 entry, const char *quarantined_as)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		values[2];

	values[0] = Int64GetDatum(entry);
	values[1] = CStringGetTextDatum(quarantined_as);
	if (SPI_execute_with_args("UPDATE ONLY agentguard.quarantine_entries SET quarantined_as = $2 WHERE id = $1",
							  2, types, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "agentguard: could not record the quarantine entry");
}

/* a kept object's row: alone when it moved by itself, not with its table */
void
ag_q_save_member(int64 entry, int position, const Moved *m, bool alone, const char *quarantined)
{
	Oid			types[8] = {INT8OID, INT4OID, TEXTOID, BOOLOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[8];

	values[0] = Int64GetDatum(entry);
	values[1] = Int32GetDatum(position);
	values[2] = CStringGetTextDatum(m->sql_kind);
	values[3] = BoolGetDatum(alone);
	values[4] = CStringGetTextDatum(m->schema);
	values[5] = CStringGetTextDatum(m->name);
	values[6] = CStringGetTextDatum(quarantined);
	values[7] = CStringGetTextDatum(m->args);
	if (SPI_execute_with_args("INSERT INTO agentguard.quarantine_members "
							  "(entry_id, position, sql_kind, moves_alone, original_schema, original_name, quarantined_name, args) "
							  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
							  8, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "agentguard: could not record a quarantined object");
}

/* the owner and grants of a kept schema, which restore gives back */
void
ag_q_save_schema_access(int64 entry, int position, const char *owner, const char *acl)
{
	Oid			types[4] = {INT8OID, INT4OID, TEXTOID, TEXTOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', acl ? ' ' : 'n'};

	values[0] = Int64GetDatum(entry);
	values[1] = Int32GetDatum(position);
	values[2] = CStringGetTextDatum(owner);
	values[3] = acl ? CStringGetTextDatum(acl) : (Datum) 0;
	if (SPI_execute_with_args("UPDATE ONLY agentguard.quarantine_members SET owner = $3, acl = $4 "
							  "WHERE entry_id = $1 AND position = $2",
							  4, types, values, nulls, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "agentguard: could not record a quarantined schema");
}

/*
 * A step of restore is run as the owner of the table it alters: attaching a
 * partition or adding a foreign key evaluates that table's expressions, and
 * whatever code they call must run with its owner's rights, not agentguard's.
 */
void
ag_q_save_restore_step(int64 entry, int *position, const char *description, const char *restore_sql,
					   Oid altered_relation)
{
	Oid			types[5] = {INT8OID, INT4OID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[5];

	values[0] = Int64GetDatum(entry);
	values[1] = Int32GetDatum((*position)++);
	values[2] = CStringGetTextDatum(description);
	values[3] = CStringGetTextDatum(restore_sql);
	values[4] = CStringGetTextDatum(GetUserNameFromId(ag_q_relation_owner(altered_relation), false));
	if (SPI_execute_with_args("INSERT INTO agentguard.quarantine_saved (entry_id, position, description, restore_sql, run_as) "
							  "VALUES ($1, $2, $3, $4, $5)", 5, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "agentguard: could not record a quarantine step");
}

/* one answer for an id that never was and for one that is gone */
void
ag_q_no_such_entry(int64 id)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("agentguard: there is no quarantine entry " INT64_FORMAT, id),
			 errhint("SELECT * FROM agentguard.quarantine lists the entries.")));
}

/*
 * An entry with its members and steps, its row locked: a restore and a
 * purge of the same entry wait for each other.
 */
Entry *
ag_q_load_entry(int64 id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	Entry	   *e;

	values[0] = Int64GetDatum(id);
	if (SPI_execute_with_args("SELECT kind, original_schema, original_name, quarantined_as "
							  "FROM ONLY agentguard.quarantine_entries WHERE id = $1 FOR UPDATE",
							  1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "agentguard: could not read the quarantine");
	if (SPI_processed == 0)
		ag_q_no_such_entry(id);
	e = palloc0(sizeof(Entry));
	e->id = id;
	e->kind = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	e->original_schema = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	e->original_name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3);
	e->quarantined_as = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);

	if (SPI_execute_with_args("SELECT position, sql_kind, moves_alone, original_schema, original_name, "
							  "quarantined_name, args, owner, acl FROM ONLY agentguard.quarantine_members "
							  "WHERE entry_id = $1 ORDER BY position",
							  1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "agentguard: could not read the quarantine");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	row = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Member	   *m = palloc0(sizeof(Member));
		bool		isnull;

		m->position = DatumGetInt32(SPI_getbinval(row, desc, 1, &isnull));
		m->sql_kind = SPI_getvalue(row, desc, 2);
		m->alone = DatumGetBool(SPI_getbinval(row, desc, 3, &isnull));
		m->original_schema = SPI_getvalue(row, desc, 4);
		m->original_name = SPI_getvalue(row, desc, 5);
		m->quarantined_name = SPI_getvalue(row, desc, 6);
		m->args = SPI_getvalue(row, desc, 7);
		m->owner = SPI_getvalue(row, desc, 8);
		m->acl = SPI_getvalue(row, desc, 9);
		e->members = lappend(e->members, m);
	}
	if (SPI_execute_with_args("SELECT restore_sql, run_as FROM ONLY agentguard.quarantine_saved "
							  "WHERE entry_id = $1 ORDER BY position",
							  1, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "agentguard: could not read the quarantine");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		RestoreStep *rs = palloc(sizeof(RestoreStep));

		rs->sql = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		rs->run_as = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		e->restore_steps = lappend(e->restore_steps, rs);
	}
	return e;
}

/* the members' and steps' rows go with the entry's (ON DELETE CASCADE) */
void
ag_q_forget_entry(int64 id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1];

	values[0] = Int64GetDatum(id);
	if (SPI_execute_with_args("DELETE FROM ONLY agentguard.quarantine_entries WHERE id = $1",
							  1, types, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "agentguard: could not update the quarantine");
}

/* what a member is, by the kind its row records */
bool
ag_q_is_rows(const Member *m)
{
	return strcmp(m->sql_kind, "ROWS") == 0;
}

bool
ag_q_is_changed_rows(const Member *m)
{
	return strcmp(m->sql_kind, AG_CHANGED_ROWS) == 0;
}

bool
ag_q_is_definition(const Member *m)
{
	return strcmp(m->sql_kind, AG_INDEX_DEFINITION) == 0;
}

bool
ag_q_is_schema(const Member *m)
{
	return strcmp(m->sql_kind, "SCHEMA") == 0;
}

bool
ag_q_is_routine(const Member *m)
{
	return strcmp(m->sql_kind, "FUNCTION") == 0 || strcmp(m->sql_kind, "PROCEDURE") == 0 ||
		strcmp(m->sql_kind, "AGGREGATE") == 0;
}

/*
 * The quarantined routine's OID: its name there is unique, and its argument
 * types may have moved since, so the name finds it, not the saved signature.
 */
Oid
ag_q_quarantined_routine(const Member *m)
{
	Oid			quarantine = get_namespace_oid(AG_QUARANTINE_SCHEMA, false);
	CatCList   *routines = SearchSysCacheList1(PROCNAMEARGSNSP, CStringGetDatum(m->quarantined_name));
	Oid			routine = InvalidOid;

	for (int i = 0; i < routines->n_members; i++)
	{
		Form_pg_proc proc = (Form_pg_proc) GETSTRUCT(&routines->members[i]->tuple);

		if (proc->pronamespace == quarantine)
			routine = proc->oid;
	}
	ReleaseSysCacheList(routines);
	return routine;
}

/* how to name a quarantined member in SQL, where it is now */
char *
ag_q_member_in_quarantine(const Member *m)
{
	if (ag_q_is_routine(m))
	{
		Oid			routine = ag_q_quarantined_routine(m);

		return OidIsValid(routine) ? format_procedure_qualified(routine) : NULL;
	}
	if (ag_q_is_schema(m))
		return psprintf("%s CASCADE", quote_identifier(m->quarantined_name));
	return ag_q_qualified(AG_QUARANTINE_SCHEMA, m->quarantined_name);
}

/*
 * The audit row and the log line of a quarantine: who, where, what (by its
 * name before the move) and the request code of the statement.
 */
void
ag_q_log_quarantine(const AgStatement *statement, const char *original, int64 entry,
			   const char *quarantined_as, int objects, XLogRecPtr lsn)
{
	const char *code = statement->code;
	char	   *position = psprintf("lsn %X/%X", LSN_FORMAT_ARGS(lsn));

	ag_ledger_audit("quarantine", statement->action,
					psprintf("%s (entry " INT64_FORMAT ", %d objects)", original, entry, objects),
					code, quarantined_as ? psprintf("kept as %s, %s", quarantined_as, position) : position);
	ereport(LOG,
			(errmsg("agentguard: quarantined role=%s database=%s action=\"%s\" objects=\"%s\" request=%s entry=" INT64_FORMAT "%s%s lsn=%X/%X",
					ag_log_text(quote_identifier(ag_q_session_user_name())),
					ag_log_text(quote_identifier(get_database_name(MyDatabaseId))),
					statement->action, ag_log_text(original), code, entry,
					quarantined_as ? " as=" : "", quarantined_as ? ag_log_text(quarantined_as) : "",
					LSN_FORMAT_ARGS(lsn)),
			 errhidestmt(true)));
}

/* the same words for every restore and purge, so that one search finds them */
void
ag_q_log_done(const char *done, int64 entry, const char *objects)
{
	ereport(LOG,
			(errmsg("agentguard: %s role=%s database=%s entry=" INT64_FORMAT " objects=\"%s\"",
					done, ag_log_text(quote_identifier(ag_q_session_user_name())),
					ag_log_text(quote_identifier(get_database_name(MyDatabaseId))), entry,
					ag_log_text(objects)),
			 errhidestmt(true)));
}
