/*
 * quarantine/database.c
 *		A DROP DATABASE that destroys nothing: the database is kept aside,
 *		with a record of what it was, until agentguard.restore reopens it or
 *		purge drops it for good.
 *
 * A database is renamed, closed to connections and given to the bootstrap
 * superuser, so that its owner can no longer rename it, open it or drop it;
 * the view agentguard.quarantine lists it with the database's OID, negated,
 * as the entry's id.
 *
 * Its record has to be readable from every database, and a database's own
 * tables are not, so it lives in the shared catalog with the database: a
 * security label of provider agentguard on it, as JSON, in pg_shseclabel.
 * agentguard writes it in C (SetSecurityLabel), past the label provider,
 * which refuses every SECURITY LABEL statement on a database, a DBA's too:
 * no session can forge a record, change it or take it away; quarantine
 * writes it, restore and purge remove it.  (1.0 kept it in the database's
 * comment, which the database's owner could write; the update to 1.1 adopts
 * those records.)
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "catalog/pg_shdescription.h"
#include "catalog/pg_shseclabel.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "commands/seclabel.h"
#include "miscadmin.h"
#include "storage/procarray.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/syscache.h"

#include "compat.h"
#include "ledger.h"
#include "owner.h"
#include "protect.h"
#include "quarantine.h"
#include "quarantine/internal.h"
#include "session.h"

/* the database is in quarantine: it has a record of agentguard's */
bool
ag_q_database_has_record(Oid dboid)
{
	ObjectAddress address;

	ObjectAddressSet(address, DatabaseRelationId, dboid);
	return GetSecurityLabel(&address, AG_LABEL_PROVIDER) != NULL;
}

/* a string of the record, or NULL */
static char *
record_string(Jsonb *record, const char *key)
{
	JsonbValue *value = getKeyJsonValueFromContainer(&record->root, key, strlen(key), NULL);

	if (value == NULL || value->type != jbvString)
		return NULL;
	return pnstrdup(value->val.string.val, value->val.string.len);
}

/* a time as the record keeps it, in text */
static TimestampTz
timestamptz_from_text(const char *text)
{
	return DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in, CStringGetDatum(text),
												   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
}

/* the record of a quarantined database, or false if it is not one */
bool
ag_q_database_record(Oid dboid, DatabaseRecord *record)
{
	ObjectAddress address;
	char	   *label;
	Jsonb	   *json;
	JsonbValue *value;
	char	   *expires_at;

	ObjectAddressSet(address, DatabaseRelationId, dboid);
	label = GetSecurityLabel(&address, AG_LABEL_PROVIDER);
	if (label == NULL || (record->quarantined = get_database_name(dboid)) == NULL)
		return false;
	json = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(label)));
	record->original = record_string(json, "original");
	record->comment = record_string(json, "comment");
	record->owner_name = record_string(json, "owner_name");
	value = getKeyJsonValueFromContainer(&json->root, "allow_connections", strlen("allow_connections"), NULL);
	record->allow_connections = value != NULL && value->type == jbvBool && value->val.boolean;
	value = getKeyJsonValueFromContainer(&json->root, "owner", strlen("owner"), NULL);
	record->owner = value != NULL && value->type == jbvNumeric ?
		(Oid) DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(value->val.numeric))) : InvalidOid;
	expires_at = record_string(json, "expires_at");
	if (record->original == NULL || record->owner_name == NULL || !OidIsValid(record->owner) ||
		expires_at == NULL)
		elog(ERROR, "agentguard: the quarantine record of database %u is not one agentguard wrote", dboid);
	record->expires_at = timestamptz_from_text(expires_at);
	return true;
}

/* a time as to_json writes it */
static void
append_json_time(StringInfo buf, TimestampTz t)
{
	appendStringInfo(buf, "\"%s\"", JsonEncodeDateTime(NULL, TimestampTzGetDatum(t), TIMESTAMPTZOID, NULL));
}

/* the record as agentguard writes it; the view agentguard.quarantine reads it */
static char *
database_record_json(const char *original, const char *dropped_by, Oid owner,
					 bool allow_connections, const char *comment, const char *statement,
					 TimestampTz dropped_at, TimestampTz expires_at, XLogRecPtr lsn)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"agentguard\": 1, \"original\": ");
	escape_json(&buf, original);
	appendStringInfoString(&buf, ", \"dropped_by\": ");
	escape_json(&buf, dropped_by);
	appendStringInfo(&buf, ", \"owner\": %u, \"owner_name\": ", owner);
	escape_json(&buf, GetUserNameFromId(owner, false));
	appendStringInfo(&buf, ", \"allow_connections\": %s, \"comment\": ",
					 allow_connections ? "true" : "false");
	if (comment)
		escape_json(&buf, comment);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfoString(&buf, ", \"statement\": ");
	escape_json(&buf, statement);
	appendStringInfoString(&buf, ", \"dropped_at\": ");
	append_json_time(&buf, dropped_at);
	appendStringInfoString(&buf, ", \"expires_at\": ");
	append_json_time(&buf, expires_at);
	/* a record 1.0 kept has none */
	if (XLogRecPtrIsInvalid(lsn))
		appendStringInfoString(&buf, ", \"lsn\": null}");
	else
		appendStringInfo(&buf, ", \"lsn\": \"%X/%X\"}", LSN_FORMAT_ARGS(lsn));
	return buf.data;
}

/* the comment of a database, read from the shared catalog, or NULL */
static char *
database_comment(Oid dboid)
{
	Relation	catalog = table_open(SharedDescriptionRelationId, AccessShareLock);
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tuple;
	char	   *comment = NULL;

	ScanKeyInit(&keys[0], Anum_pg_shdescription_objoid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(dboid));
	ScanKeyInit(&keys[1], Anum_pg_shdescription_classoid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(DatabaseRelationId));
	scan = systable_beginscan(catalog, SharedDescriptionObjIndexId, true, NULL, 2, keys);
	if (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		description = heap_getattr(tuple, Anum_pg_shdescription_description,
											   RelationGetDescr(catalog), &isnull);

		if (!isnull)
			comment = TextDatumGetCString(description);
	}
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	return comment;
}

/* for the order of entry ids, which are OIDs negated */
static int
newest_first(const ListCell *a, const ListCell *b)
{
	Oid			x = lfirst_oid(a);
	Oid			y = lfirst_oid(b);

	return x > y ? -1 : x < y ? 1 : 0;
}

/* databases with a record of agentguard's, as OIDs, newest first */
static List *
recorded_databases(void)
{
	Relation	catalog = table_open(SharedSecLabelRelationId, AccessShareLock);
	SysScanDesc scan = systable_beginscan(catalog, InvalidOid, false, NULL, 0, NULL);
	HeapTuple	tuple;
	List	   *databases = NIL;

	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_shseclabel row = (Form_pg_shseclabel) GETSTRUCT(tuple);
		bool		isnull;
		Datum		provider;

		if (row->classoid != DatabaseRelationId)
			continue;
		provider = heap_getattr(tuple, Anum_pg_shseclabel_provider, RelationGetDescr(catalog), &isnull);
		if (!isnull && strcmp(TextDatumGetCString(provider), AG_LABEL_PROVIDER) == 0)
			databases = lappend_oid(databases, row->objoid);
	}
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	list_sort(databases, newest_first);
	return databases;
}

/* the quarantined databases whose record has expired, in the order of their ids */
List *
ag_q_expired_databases(void)
{
	List	   *expired = NIL;
	ListCell   *lc;

	foreach(lc, recorded_databases())
	{
		DatabaseRecord record;

		if (ag_q_database_record(lfirst_oid(lc), &record) &&
			record.expires_at <= GetCurrentTransactionStartTimestamp())
			expired = lappend_oid(expired, lfirst_oid(lc));
	}
	return expired;
}

/*
 * Returns false when the DROP should just run (the database does not exist,
 * is the current one, or is already in quarantine): the server then gives
 * its own answer.
 */
bool
ag_quarantine_dropdb(DropdbStmt *stmt, bool top_level, const AgStatement *statement)
{
	Oid			dboid = get_database_oid(stmt->dbname, true);
	HeapTuple	tuple;
	Form_pg_database db;
	bool		allow_connections;
	Oid			owner;
	bool		force = false;
	char	   *quarantined;
	char	   *comment;
	TimestampTz dropped_at;
	TimestampTz expires_at;
	XLogRecPtr	lsn;
	ObjectAddress address;
	AgOwnerSession ls;
	ListCell   *lc;

	if (!OidIsValid(dboid) || dboid == MyDatabaseId || ag_q_database_has_record(dboid))
		return false;
	PreventInTransactionBlock(top_level, "DROP DATABASE");
	if (!ag_object_ownercheck(DatabaseRelationId, dboid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_DATABASE, stmt->dbname);
	tuple = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dboid));
	if (!HeapTupleIsValid(tuple))
		return false;
	db = (Form_pg_database) GETSTRUCT(tuple);
	if (db->datistemplate)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot drop a template database")));
	allow_connections = db->datallowconn;
	owner = db->datdba;
	ReleaseSysCache(tuple);
	foreach(lc, stmt->options)
	{
		DefElem    *option = lfirst_node(DefElem, lc);

		if (strcmp(option->defname, "force") == 0)
			force = true;
	}
	if (force)
		TerminateOtherDBBackends(dboid);

	ag_owner_open_as(&ls, BOOTSTRAP_SUPERUSERID);
	comment = database_comment(dboid);
	quarantined = ag_q_clipped_name(psprintf(AG_QUARANTINE_PREFIX "%u_", dboid), stmt->dbname);
	ag_q_retention_window(&dropped_at, &expires_at);
	/* before the database is renamed: recovery stops here */
	lsn = GetXLogInsertRecPtr();
	ag_q_run_sql(ag_q_sql_text("ALTER DATABASE %s RENAME TO %s", quote_identifier(stmt->dbname),
							   quote_identifier(quarantined)));
	ag_q_run_sql(ag_q_sql_text("ALTER DATABASE %s ALLOW_CONNECTIONS false", quote_identifier(quarantined)));
	ag_q_run_sql(ag_q_sql_text("ALTER DATABASE %s OWNER TO %s", quote_identifier(quarantined),
							   quote_identifier(GetUserNameFromId(BOOTSTRAP_SUPERUSERID, false))));
	if (comment)
		ag_q_run_sql(ag_q_sql_text("COMMENT ON DATABASE %s IS NULL", quote_identifier(quarantined)));
	ObjectAddressSet(address, DatabaseRelationId, dboid);
	SetSecurityLabel(&address, AG_LABEL_PROVIDER,
					 database_record_json(stmt->dbname, ag_q_session_user_name(), owner, allow_connections,
										  comment, pnstrdup(statement->text, statement->textlen),
										  dropped_at, expires_at, lsn));
	ereport(LOG,
			(errmsg("agentguard: quarantined role=%s database=%s action=\"%s\" objects=\"%s\" request=%s entry=-%u as=%s lsn=%X/%X",
					ag_log_text(quote_identifier(ag_q_session_user_name())),
					ag_log_text(quote_identifier(get_database_name(MyDatabaseId))),
					statement->action, ag_log_text(quote_identifier(stmt->dbname)), statement->code,
					dboid, ag_log_text(quarantined), LSN_FORMAT_ARGS(lsn)),
			 errhidestmt(true)));
	ag_owner_close(&ls);
	return true;
}

/*
 * A quarantined database reopens under its name (entries with negative
 * ids), with its owner, comment and connection setting.
 */
char *
ag_q_restore_database(int64 id, const char *new_name, AgOwnerSession *ls)
{
	DatabaseRecord record;
	const char *name;
	ObjectAddress address;

	if (id >= 0 || -id > (int64) PG_UINT32_MAX || !ag_q_database_record((Oid) -id, &record))
		ag_q_no_such_entry(id);
	name = new_name ? new_name : record.original;
	if (!superuser_arg(ls->saved_user) && !ag_session_is_agent() && record.owner != ls->saved_user)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("agentguard: only a superuser or the owner of database %s can restore it",
						record.original)));
	if (name[0] == '\0' || strlen(name) >= NAMEDATALEN || ag_name_protected(name))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("agentguard: \"%s\" is not a usable name", name),
				 ag_name_protected(name) ?
				 errdetail("Database names beginning with agentguard are kept for agentguard's quarantine.") : 0));
	if (OidIsValid(get_database_oid(name, true)))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_DATABASE),
				 errmsg("agentguard: cannot restore quarantine entry " INT64_FORMAT ": database \"%s\" already exists",
						id, name),
				 errhint("Restore under another name: SELECT agentguard.restore(" INT64_FORMAT ", 'new_name').", id)));
	ag_q_run_sql(ag_q_sql_text("ALTER DATABASE %s RENAME TO %s", quote_identifier(record.quarantined),
							   quote_identifier(name)));
	ag_q_run_sql(ag_q_sql_text("ALTER DATABASE %s ALLOW_CONNECTIONS %s", quote_identifier(name),
							   record.allow_connections ? "true" : "false"));
	if (SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(record.owner)))
		ag_q_run_sql(ag_q_sql_text("ALTER DATABASE %s OWNER TO %s", quote_identifier(name),
								   quote_identifier(GetUserNameFromId(record.owner, false))));
	else
		ereport(WARNING,
				(errmsg("agentguard: role %s, which owned database %s, is gone; the database stays with %s",
						quote_identifier(record.owner_name), quote_identifier(name),
						quote_identifier(GetUserNameFromId(BOOTSTRAP_SUPERUSERID, false))),
				 errhint("Give it to its new owner with ALTER DATABASE %s OWNER TO ...", quote_identifier(name))));
	ag_q_run_sql(ag_q_sql_text("COMMENT ON DATABASE %s IS %s", quote_identifier(name),
							   record.comment ? quote_literal_cstr(record.comment) : "NULL"));
	ObjectAddressSet(address, DatabaseRelationId, (Oid) -id);
	SetSecurityLabel(&address, AG_LABEL_PROVIDER, NULL);
	ag_ledger_audit("restore", "database", quote_identifier(name), NULL,
					psprintf("entry " INT64_FORMAT ", was %s", id, record.quarantined));
	ag_q_log_done("restored", id, quote_identifier(name));
	return psprintf("restored database %s", quote_identifier(name));
}

/* names like those of quarantined databases are agentguard's */
static void
refuse_reserved_database_name(const char *name)
{
	if (name != NULL && ag_name_protected(name))
		ag_refuse_outright(psprintf("name a database %s", quote_identifier(name)),
						   "Database names beginning with agentguard are kept for agentguard's quarantine.");
}

/* verb is what the statement would do to the database, in plain words */
static void
refuse_quarantined_database(const char *name, const char *verb)
{
	Oid			dboid = name ? get_database_oid(name, true) : InvalidOid;

	if (OidIsValid(dboid) && ag_q_database_has_record(dboid))
		ag_refuse_outright(psprintf("%s database %s, which is in agentguard's quarantine", verb,
									quote_identifier(name)),
						   "A quarantined database changes only through agentguard.restore() and agentguard.purge().");
}

/*
 * What agent sessions may not do to databases, in every mode and with no
 * confirmation: give one a name like those of quarantined databases, or
 * change one in quarantine (restore and purge are the ways).
 */
void
ag_quarantine_refuse_database_change(Node *parsetree)
{
	switch (nodeTag(parsetree))
	{
		case T_CreatedbStmt:
			refuse_reserved_database_name(((CreatedbStmt *) parsetree)->dbname);
			break;
		case T_RenameStmt:
			{
				RenameStmt *rename = (RenameStmt *) parsetree;

				if (rename->renameType != OBJECT_DATABASE)
					break;
				refuse_quarantined_database(rename->subname, "rename");
				refuse_reserved_database_name(rename->newname);
				break;
			}
		case T_AlterDatabaseStmt:
			refuse_quarantined_database(((AlterDatabaseStmt *) parsetree)->dbname, "alter");
			break;
		case T_AlterDatabaseSetStmt:
			refuse_quarantined_database(((AlterDatabaseSetStmt *) parsetree)->dbname, "alter");
			break;
		case T_AlterDatabaseRefreshCollStmt:
			refuse_quarantined_database(((AlterDatabaseRefreshCollStmt *) parsetree)->dbname, "alter");
			break;
		case T_AlterRoleSetStmt:
			refuse_quarantined_database(((AlterRoleSetStmt *) parsetree)->database, "change settings in");
			break;
		case T_AlterOwnerStmt:
			if (((AlterOwnerStmt *) parsetree)->objectType == OBJECT_DATABASE)
				refuse_quarantined_database(strVal(((AlterOwnerStmt *) parsetree)->object),
											"change the owner of");
			break;
		case T_CommentStmt:
			if (((CommentStmt *) parsetree)->objtype == OBJECT_DATABASE)
				refuse_quarantined_database(strVal(((CommentStmt *) parsetree)->object), "comment on");
			break;
		case T_SecLabelStmt:
			if (((SecLabelStmt *) parsetree)->objtype == OBJECT_DATABASE)
				refuse_quarantined_database(strVal(((SecLabelStmt *) parsetree)->object), "label");
			break;
		case T_GrantStmt:
			{
				GrantStmt  *grant = (GrantStmt *) parsetree;
				ListCell   *lc;

				if (grant->objtype != OBJECT_DATABASE)
					break;
				foreach(lc, grant->objects)
					refuse_quarantined_database(strVal(lfirst(lc)),
												grant->is_grant ? "grant privileges on" : "revoke privileges on");
				break;
			}
		default:
			break;
	}
}

/* what a record of 1.0 held, on the database that it is adopted for */
typedef struct OldRecord
{
	Oid			database;
	char	   *name;
	Oid			owner;
	char	   *original;
	char	   *dropped_by;
	bool		allow_connections;
	char	   *comment;
	char	   *statement;
	TimestampTz dropped_at;
	TimestampTz expires_at;
} OldRecord;

/*
 * The record of 1.0 a comment holds, or false when it holds none: a comment
 * that is not JSON, or has no name, drop time and expiry, must not stop the
 * update, so it is read in a subtransaction.
 */
static bool
old_record(const char *comment, OldRecord *record)
{
	MemoryContext caller = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool complete = false;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(caller);
	PG_TRY();
	{
		Jsonb	   *json = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(comment)));
		JsonbValue *value = getKeyJsonValueFromContainer(&json->root, "allow_connections",
														 strlen("allow_connections"), NULL);
		char	   *dropped_at = record_string(json, "dropped_at");
		char	   *expires_at = record_string(json, "expires_at");

		record->original = record_string(json, "original");
		record->dropped_by = record_string(json, "dropped_by");
		record->allow_connections = value != NULL && value->type == jbvBool && value->val.boolean;
		record->comment = record_string(json, "comment");
		record->statement = record_string(json, "statement");
		if (record->original && record->dropped_by && dropped_at && expires_at)
		{
			record->dropped_at = timestamptz_from_text(dropped_at);
			record->expires_at = timestamptz_from_text(expires_at);
			complete = true;
		}
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(caller);
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(caller);
	CurrentResourceOwner = owner;
	return complete;
}

PG_FUNCTION_INFO_V1(agentguard_adopt_database_records);

/*
 * The update from 1.0 turns the records 1.0 kept in the comments of
 * quarantined databases into records of 1.1, and gives those databases to
 * the bootstrap superuser.  A comment is adopted only where it looks like
 * agentguard's own work: a database named agentguard_q<its own OID>_...,
 * closed to connections, whose comment is a record with a name, a drop time
 * and an expiry.  Any other comment that looks like a record (a forgery, or
 * a database a DBA reopened) is left as it is and named in a WARNING.  Runs
 * only from the extension's update script.
 */
Datum
agentguard_adopt_database_records(PG_FUNCTION_ARGS)
{
	Relation	catalog;
	SysScanDesc scan;
	HeapTuple	tuple;
	List	   *candidates = NIL;
	List	   *adopted = NIL;
	ListCell   *lc;
	AgOwnerSession ls;

	if (!creating_extension || !superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("agentguard: records are adopted only by ALTER EXTENSION agentguard UPDATE")));
	catalog = table_open(DatabaseRelationId, AccessShareLock);
	scan = systable_beginscan(catalog, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tuple);

		if (strncmp(NameStr(db->datname), AG_QUARANTINE_PREFIX, strlen(AG_QUARANTINE_PREFIX)) == 0)
			candidates = lappend_oid(candidates, db->oid);
	}
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);

	/* read first: a comment that is no record is read in a subtransaction */
	foreach(lc, candidates)
	{
		Oid			dboid = lfirst_oid(lc);
		char	   *comment = database_comment(dboid);
		char	   *prefix = psprintf(AG_QUARANTINE_PREFIX "%u_", dboid);
		OldRecord  *old = palloc0(sizeof(OldRecord));
		HeapTuple	dbtuple;
		bool		closed;

		if (comment == NULL || strncmp(comment, "{\"agentguard\": 1", strlen("{\"agentguard\": 1")) != 0 ||
			ag_q_database_has_record(dboid))
			continue;
		dbtuple = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dboid));
		if (!HeapTupleIsValid(dbtuple))
			continue;
		old->database = dboid;
		old->name = pstrdup(NameStr(((Form_pg_database) GETSTRUCT(dbtuple))->datname));
		old->owner = ((Form_pg_database) GETSTRUCT(dbtuple))->datdba;
		closed = !((Form_pg_database) GETSTRUCT(dbtuple))->datallowconn;
		ReleaseSysCache(dbtuple);
		if (closed && strncmp(old->name, prefix, strlen(prefix)) == 0 && old_record(comment, old))
			adopted = lappend(adopted, old);
		else
			ereport(WARNING,
					(errmsg("agentguard: the comment of database %s looks like a quarantine record of 1.0, but not like one agentguard wrote; it is not adopted",
							quote_identifier(old->name)),
					 errdetail("agentguard 1.0 named a quarantined database agentguard_q<its OID>_<name>, closed it to connections and wrote its name, drop time and expiry."),
					 errhint("If it is a quarantined database, rename it back and give it its owner with ALTER DATABASE.")));
	}

	ag_owner_open_as(&ls, BOOTSTRAP_SUPERUSERID);
	foreach(lc, adopted)
	{
		OldRecord  *old = lfirst(lc);
		ObjectAddress address;

		ag_q_run_sql(ag_q_sql_text("ALTER DATABASE %s OWNER TO %s", quote_identifier(old->name),
								   quote_identifier(GetUserNameFromId(BOOTSTRAP_SUPERUSERID, false))));
		ag_q_run_sql(ag_q_sql_text("COMMENT ON DATABASE %s IS NULL", quote_identifier(old->name)));
		ObjectAddressSet(address, DatabaseRelationId, old->database);
		SetSecurityLabel(&address, AG_LABEL_PROVIDER,
						 database_record_json(old->original, old->dropped_by, old->owner, old->allow_connections,
											  old->comment, old->statement ? old->statement : "",
											  old->dropped_at, old->expires_at, InvalidXLogRecPtr));
		ereport(NOTICE,
				(errmsg("agentguard: quarantined database %s (was %s) now keeps its record as a security label",
						quote_identifier(old->name), quote_identifier(old->original))));
	}
	ag_owner_close(&ls);
	PG_RETURN_INT32(list_length(adopted));
}
