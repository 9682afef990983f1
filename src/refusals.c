/*
 * refusals.c
 *		The recent refusals of the whole cluster, behind the view
 *		agentguard.requests, where a DBA (or "agentguard approve") finds the
 *		request code an agent was refused with.
 *
 * A refusal rolls its transaction back, so it cannot be kept in a table.  It
 * is kept in shared memory the way pg_stat_statements keeps its counters: a
 * hash table keyed by the SHA-256 of the request body, so that repeats of a
 * request are one entry that counts them, and a list of the entries in the
 * order they were last refused, newest first.  When agentguard.max_requests
 * entries are in use, the one refused longest ago makes room.
 *
 * The postmaster writes the entries to a file in pg_stat at shutdown (clean
 * or immediate) and reads them back at the next start, removing the file as
 * it does so.  A crash of a server process resets shared memory without
 * writing the file, so the list starts empty again, as the server's own
 * statistics do; the refusals are still in the server log.
 */
#include "postgres.h"

#include <unistd.h>

#include "fmgr.h"
#include "funcapi.h"
#include "lib/ilist.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "protect.h"
#include "refusals.h"
#include "request.h"
#include "session.h"
#include "settings.h"

PG_FUNCTION_INFO_V1(agentguard_requests);

/*
 * Room for a request in each entry.  A request that names a few objects and
 * shows its whole statement (at most AG_STATEMENT_SHOWN_MAX bytes) is far
 * smaller.  A larger one, which can only come from naming many objects, is
 * kept as a summary instead: its code is then NULL in the view (the agent's
 * error message still has it), and its objects and statement are cut.  It
 * is counted as a repeat like any other.
 */
#define REFUSAL_DATA_MAX	4096

/* what marks a cut text in the view */
#define CUT_MARK			" [...]"
#define CUT_MARK_LEN		((int) sizeof(CUT_MARK) - 1)

/* the text fields of a row of the view */
typedef struct Shown
{
	char	   *role;
	char	   *database;
	char	   *action;
	char	   *objects;
	char	   *statement;
	bool		statement_cut;
} Shown;

/* a role, database or action name is short; this only bounds a summary */
#define SUMMARY_NAME_MAX	NAMEDATALEN

#define REFUSALS_FILE		PGSTAT_STAT_PERMANENT_DIRECTORY "/agentguard_requests.stat"
#define REFUSALS_FILE_TMP	REFUSALS_FILE ".tmp"
#define REFUSALS_FILE_MAGIC 0x61677271	/* "agrq" */
#define REFUSALS_FILE_VERSION 1

#define TRANCHE_NAME		"agentguard refusals"

/*
 * One refused request, as kept and as written to the file (followed there
 * by len bytes of data).  The key comes first: it is the hash table's key.
 */
typedef struct RefusalRecord
{
	uint8		key[AG_HASH_LEN];	/* SHA-256 of the request body */
	TimestampTz refused_at;		/* the latest refusal */
	int32		times;
	int32		encoding;		/* of the database that refused it */
	uint32		len;			/* bytes in data */
	uint8		whole;			/* RECORD_REQUEST, RECORD_BATCH or RECORD_SUMMARY */
} RefusalRecord;

/* what a record's data is */
#define RECORD_SUMMARY		0
#define RECORD_REQUEST		1	/* a request body */
#define RECORD_BATCH		2	/* a rehearsal's batch body */

/*
 * A summary is five NUL-terminated strings, in the encoding of the database
 * that refused the request: role, database, action, objects, statement.
 */
#define SUMMARY_FIELDS		5

typedef struct RefusalEntry
{
	RefusalRecord r;
	dlist_node	recency;		/* in RefusalShared.newest_first */
	char		data[REFUSAL_DATA_MAX];
} RefusalEntry;

typedef struct RefusalShared
{
	LWLock	   *lock;
	dlist_head	newest_first;

	/*
	 * Raised while the list is being changed.  A process killed by an
	 * immediate shutdown in the middle of a change leaves it raised, and the
	 * postmaster then does not trust the list enough to write it out.
	 */
	bool		changing;
} RefusalShared;

static RefusalShared *shared = NULL;
static HTAB *entries = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* a request's targets, comma-separated, as the view and the audit show them */
char *
ag_request_objects(const AgRequest *request)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < request->ntargets; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendBinaryStringInfo(&buf, request->targets[i].ptr, request->targets[i].len);
	}
	return buf.data;
}

static Size
refusals_memsize(void)
{
	return add_size(MAXALIGN(sizeof(RefusalShared)),
					hash_estimate_size(ag_max_requests, sizeof(RefusalEntry)));
}

/*
 * Keep a request that is not kept yet, as the newest, making room first if
 * every entry is in use.  Callers hold the lock exclusively or are alone.
 */
static void
entry_store(const RefusalRecord *record, const char *data)
{
	RefusalEntry *entry;
	bool		found;

	if (hash_get_num_entries(entries) >= ag_max_requests)
	{
		RefusalEntry *oldest = dlist_tail_element(RefusalEntry, recency,
												  &shared->newest_first);

		dlist_delete(&oldest->recency);
		hash_search(entries, oldest->r.key, HASH_REMOVE, NULL);
	}
	entry = hash_search(entries, record->key, HASH_ENTER, &found);
	Assert(!found);
	entry->r = *record;
	memcpy(entry->data, data, record->len);
	dlist_push_head(&shared->newest_first, &entry->recency);
}

/*
 * Add s to a summary as a NUL-terminated string of at most budget bytes,
 * cut at a character boundary and marked when it does not fit or when it
 * was cut already (a long statement's shown text).
 */
static void
summary_add(StringInfo buf, const char *s, int len, bool cut, int budget)
{
	if (len + (cut ? CUT_MARK_LEN : 0) > budget)
	{
		len = pg_mbcliplen(s, len, budget - CUT_MARK_LEN);
		cut = true;
	}
	appendBinaryStringInfo(buf, s, len);
	if (cut)
		appendStringInfoString(buf, CUT_MARK);
	appendStringInfoChar(buf, '\0');
}

/*
 * The summary kept for a request too large to keep whole: every field the
 * view shows but the code.  The objects get whatever room the others leave.
 */
static void
summarize(const Shown *shown, StringInfo buf)
{
	int			statement_room = AG_STATEMENT_SHOWN_MAX + CUT_MARK_LEN;
	int			objects_room;

	summary_add(buf, shown->role, strlen(shown->role), false, SUMMARY_NAME_MAX);
	summary_add(buf, shown->database, strlen(shown->database), false, SUMMARY_NAME_MAX);
	summary_add(buf, shown->action, strlen(shown->action), false, SUMMARY_NAME_MAX);

	/* both strings end in a NUL */
	objects_room = REFUSAL_DATA_MAX - buf->len - (statement_room + 1) - 1;
	summary_add(buf, shown->objects, strlen(shown->objects), false, objects_room);
	summary_add(buf, shown->statement, strlen(shown->statement), shown->statement_cut,
				statement_room);
	Assert(buf->len <= REFUSAL_DATA_MAX);
}

/* what the view shows of a request */
static void
shown_request(const AgRequest *request, Shown *shown)
{
	StringInfoData statement;

	shown->role = pnstrdup(request->role.ptr, request->role.len);
	shown->database = pnstrdup(request->database.ptr, request->database.len);
	shown->action = pnstrdup(request->action.ptr, request->action.len);
	shown->objects = ag_request_objects(request);
	initStringInfo(&statement);
	appendBinaryStringInfo(&statement, request->statement.ptr, request->statement.len);
	shown->statement = statement.data;
	shown->statement_cut = (request->flags & AG_REQ_STATEMENT_CUT) != 0;
}

/*
 * What the view shows of a batch: its role and database, "REHEARSAL" and
 * the actions in order, every object, and the statements one a line.
 */
static void
shown_batch(const AgBatch *batch, AgRequest *scratch, Shown *shown)
{
	StringInfoData action;
	StringInfoData objects;
	StringInfoData statements;

	initStringInfo(&action);
	initStringInfo(&objects);
	initStringInfo(&statements);
	appendStringInfo(&action, "REHEARSAL (%d statement%s):", batch->n, batch->n == 1 ? "" : "s");
	for (int i = 0; i < batch->n; i++)
	{
		if (!ag_batch_request(batch, i, scratch))
			elog(ERROR, "agentguard: a kept batch does not decode");
		if (i == 0)
		{
			shown->role = pnstrdup(scratch->role.ptr, scratch->role.len);
			shown->database = pnstrdup(scratch->database.ptr, scratch->database.len);
		}
		appendStringInfo(&action, "%s %.*s", i > 0 ? "," : "",
						 (int) scratch->action.len, scratch->action.ptr);
		if (scratch->ntargets > 0)
			appendStringInfo(&objects, "%s%s", objects.len > 0 ? ", " : "",
							 ag_request_objects(scratch));
		appendStringInfo(&statements, "%s%.*s%s", i > 0 ? "\n" : "",
						 (int) scratch->statement.len, scratch->statement.ptr,
						 (scratch->flags & AG_REQ_STATEMENT_CUT) ? CUT_MARK : "");
	}
	shown->action = action.data;
	shown->objects = objects.data;
	shown->statement = statements.data;
	shown->statement_cut = false;
}

/*
 * Note a refusal.  Called by the guard just before it raises the error, so
 * only statements that were really refused are kept, and by a rehearsal's
 * refused commit with its batch body (request is then its first request).
 */
void
ag_refusals_record(const uint8 *body, size_t len, const AgRequest *request)
{
	RefusalRecord record;
	StringInfoData summary;
	const char *data;
	RefusalEntry *entry;

	Assert(shared != NULL);

	memset(&record, 0, sizeof(record));
	ag_sha256(body, len, record.key);
	record.refused_at = GetCurrentTimestamp();
	record.times = 1;
	record.encoding = GetDatabaseEncoding();
	if (len <= REFUSAL_DATA_MAX)
	{
		record.whole = ag_is_batch(body, len) ? RECORD_BATCH : RECORD_REQUEST;
		data = (const char *) body;
		record.len = len;
	}
	else
	{
		Shown		shown;
		AgBatch		batch;

		if (ag_is_batch(body, len))
		{
			AgRequest  *scratch = palloc(sizeof(AgRequest));

			if (!ag_batch_decode(body, len, &batch, scratch, NULL))
				elog(ERROR, "agentguard: a refused batch does not decode");
			shown_batch(&batch, scratch, &shown);
		}
		else
			shown_request(request, &shown);
		record.whole = RECORD_SUMMARY;
		initStringInfo(&summary);
		summarize(&shown, &summary);
		data = summary.data;
		record.len = summary.len;
	}

	LWLockAcquire(shared->lock, LW_EXCLUSIVE);
	shared->changing = true;
	entry = hash_search(entries, record.key, HASH_FIND, NULL);
	if (entry != NULL)
	{
		if (entry->r.times < PG_INT32_MAX)
			entry->r.times++;
		entry->r.refused_at = record.refused_at;
		dlist_move_head(&shared->newest_first, &entry->recency);
	}
	else
		entry_store(&record, data);
	shared->changing = false;
	LWLockRelease(shared->lock);
}

/* a string of the refusing database, as text of this one */
static Datum
text_from(const char *s, size_t len, int encoding)
{
	char	   *copy = pnstrdup(s, len);

	return PointerGetDatum(cstring_to_text(pg_any_to_server(copy, len, encoding)));
}

static bool
summary_valid(const char *data, uint32 len)
{
	int			strings = 0;

	if (len == 0 || data[len - 1] != '\0')
		return false;
	for (uint32 i = 0; i < len; i++)
		if (data[i] == '\0')
			strings++;
	return strings == SUMMARY_FIELDS;
}

/*
 * Whether a record read back from the file is one this module could have
 * written; the file is ours, but it sits in the data directory.
 */
static bool
record_valid(const RefusalRecord *record, const char *data, AgRequest *scratch)
{
	uint8		hash[AG_HASH_LEN];
	const char *err;

	AgBatch		batch;

	if (record->times < 1 || record->whole > RECORD_BATCH ||
		!PG_VALID_BE_ENCODING(record->encoding))
		return false;
	if (record->whole == RECORD_SUMMARY)
		return summary_valid(data, record->len);
	ag_sha256(data, record->len, hash);
	if (memcmp(hash, record->key, AG_HASH_LEN) != 0)
		return false;
	if (record->whole == RECORD_BATCH)
		return ag_batch_decode((const uint8 *) data, record->len, &batch, scratch, &err);
	return ag_request_decode((const uint8 *) data, record->len, scratch, &err);
}

/*
 * Read the file the last shutdown wrote, oldest entry first, and remove it:
 * a crash from now on must not bring back what this run forgets.
 */
static void
refusals_load(void)
{
	FILE	   *file;
	uint32		magic;
	uint32		version;
	int32		count;
	RefusalRecord record;
	char	   *data = palloc(REFUSAL_DATA_MAX);
	AgRequest  *scratch = palloc(sizeof(AgRequest));

	file = AllocateFile(REFUSALS_FILE, PG_BINARY_R);
	if (file == NULL)
	{
		if (errno != ENOENT)
			ereport(LOG,
					(errcode_for_file_access(),
					 errmsg("agentguard: could not read file \"%s\": %m", REFUSALS_FILE)));
		return;
	}

	if (fread(&magic, sizeof(magic), 1, file) != 1 ||
		fread(&version, sizeof(version), 1, file) != 1 ||
		fread(&count, sizeof(count), 1, file) != 1 ||
		magic != REFUSALS_FILE_MAGIC || version != REFUSALS_FILE_VERSION ||
		count < 0)
		goto damaged;
	for (int32 i = 0; i < count; i++)
	{
		if (fread(&record, sizeof(record), 1, file) != 1 ||
			record.len > REFUSAL_DATA_MAX ||
			fread(data, 1, record.len, file) != record.len ||
			!record_valid(&record, data, scratch) ||
			hash_search(entries, record.key, HASH_FIND, NULL) != NULL)
			goto damaged;
		entry_store(&record, data);
	}
	if (fread(&magic, sizeof(magic), 1, file) != 1 || magic != REFUSALS_FILE_MAGIC)
		goto damaged;
	goto done;

damaged:
	ereport(LOG,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("agentguard: ignoring the rest of damaged file \"%s\"", REFUSALS_FILE),
			 errdetail("agentguard.requests starts with the %ld recent refusals read before the damage.",
					   hash_get_num_entries(entries))));
done:
	FreeFile(file);
	unlink(REFUSALS_FILE);
	pfree(scratch);
	pfree(data);
}

/*
 * on_shmem_exit callback of the postmaster: write the entries out, oldest
 * first, so that reading them back in order rebuilds the list.  Nothing
 * else runs by now, so no lock is taken.
 */
static void
refusals_shmem_shutdown(int code, Datum arg pg_attribute_unused())
{
	FILE	   *file;
	uint32		magic = REFUSALS_FILE_MAGIC;
	uint32		version = REFUSALS_FILE_VERSION;
	int32		count;
	dlist_iter	iter;

	/* after a crash shared memory is not to be trusted */
	if (code != 0 || shared == NULL)
		return;
	if (shared->changing)
	{
		ereport(LOG,
				(errmsg("agentguard: not saving the recent refusals: a server process stopped while changing them")));
		return;
	}

	file = AllocateFile(REFUSALS_FILE_TMP, PG_BINARY_W);
	if (file == NULL)
		goto failed;
	count = hash_get_num_entries(entries);
	if (fwrite(&magic, sizeof(magic), 1, file) != 1 ||
		fwrite(&version, sizeof(version), 1, file) != 1 ||
		fwrite(&count, sizeof(count), 1, file) != 1)
		goto failed;
	dlist_reverse_foreach(iter, &shared->newest_first)
	{
		RefusalEntry *entry = dlist_container(RefusalEntry, recency, iter.cur);

		if (fwrite(&entry->r, sizeof(entry->r), 1, file) != 1 ||
			fwrite(entry->data, 1, entry->r.len, file) != entry->r.len)
			goto failed;
	}
	if (fwrite(&magic, sizeof(magic), 1, file) != 1)
		goto failed;
	if (FreeFile(file) != 0)
	{
		file = NULL;
		goto failed;
	}
	(void) durable_rename(REFUSALS_FILE_TMP, REFUSALS_FILE, LOG);
	return;

failed:
	ereport(LOG,
			(errcode_for_file_access(),
			 errmsg("agentguard: could not write file \"%s\": %m", REFUSALS_FILE_TMP),
			 errdetail("The recent refusals in agentguard.requests are not kept across this restart.")));
	if (file != NULL)
		FreeFile(file);
	unlink(REFUSALS_FILE_TMP);
}

static void
refusals_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(refusals_memsize());
	RequestNamedLWLockTranche(TRANCHE_NAME, 1);
}

static void
refusals_shmem_startup(void)
{
	bool		found;
	HASHCTL		info;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	/* the postmaster gets here again after a crash */
	shared = NULL;
	entries = NULL;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("agentguard refusals", sizeof(RefusalShared), &found);
	if (!found)
	{
		shared->lock = &(GetNamedLWLockTranche(TRANCHE_NAME))->lock;
		dlist_init(&shared->newest_first);
		shared->changing = false;
	}
	info.keysize = AG_HASH_LEN;
	info.entrysize = sizeof(RefusalEntry);
	entries = ShmemInitHash("agentguard refusals hash",
							ag_max_requests, ag_max_requests,
							&info, HASH_ELEM | HASH_BLOBS);
	LWLockRelease(AddinShmemInitLock);

	/* the postmaster, or a single-user backend, keeps them across restarts */
	if (!IsUnderPostmaster)
		on_shmem_exit(refusals_shmem_shutdown, (Datum) 0);

	/* no other process runs yet when the memory is new */
	if (!found)
		refusals_load();
}

void
ag_refusals_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = refusals_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = refusals_shmem_startup;
}

enum
{
	COL_CODE,
	COL_REFUSED_AT,
	COL_ROLE,
	COL_DATABASE,
	COL_ACTION,
	COL_OBJECTS,
	COL_STATEMENT,
	COL_TIMES,
	NUM_COLS
};

/* one row of the view, allocated in the current (per-row) memory context */
static void
entry_values(const RefusalEntry *entry, AgRequest *request,
			 Datum *values, bool *nulls)
{
	int			encoding = entry->r.encoding;

	memset(nulls, 0, NUM_COLS * sizeof(bool));
	values[COL_REFUSED_AT] = TimestampTzGetDatum(entry->r.refused_at);
	values[COL_TIMES] = Int32GetDatum(entry->r.times);

	if (entry->r.whole != RECORD_SUMMARY)
	{
		const uint8 *body = (const uint8 *) entry->data;
		bool		batch = entry->r.whole == RECORD_BATCH;
		const char *err;
		char	   *code;
		char	   *statement;
		Shown		shown;
		AgBatch		decoded;

		/* checked when it was kept or read back from the file */
		if (batch ? !ag_batch_decode(body, entry->r.len, &decoded, request, &err) :
			!ag_request_decode(body, entry->r.len, request, &err))
			elog(ERROR, "agentguard: a kept request does not decode: %s", err);
		if (batch)
			shown_batch(&decoded, request, &shown);
		else
			shown_request(request, &shown);

		code = palloc(ag_code_length(entry->r.len) + 1);
		ag_code_format(batch ? AG_BATCH_PREFIX : AG_REQUEST_PREFIX, body, entry->r.len, code);
		values[COL_CODE] = CStringGetTextDatum(code);
		values[COL_ROLE] = text_from(shown.role, strlen(shown.role), encoding);
		values[COL_DATABASE] = text_from(shown.database, strlen(shown.database), encoding);
		values[COL_ACTION] = text_from(shown.action, strlen(shown.action), encoding);
		values[COL_OBJECTS] = text_from(shown.objects, strlen(shown.objects), encoding);
		statement = shown.statement_cut ? psprintf("%s%s", shown.statement, CUT_MARK) : shown.statement;
		values[COL_STATEMENT] = text_from(statement, strlen(statement), encoding);
	}
	else
	{
		const char *field = entry->data;
		static const int columns[SUMMARY_FIELDS] = {
			COL_ROLE, COL_DATABASE, COL_ACTION, COL_OBJECTS, COL_STATEMENT
		};

		nulls[COL_CODE] = true;
		for (int i = 0; i < SUMMARY_FIELDS; i++)
		{
			size_t		len = strlen(field);

			values[columns[i]] = text_from(field, len, encoding);
			field += len + 1;
		}
	}
}

/*
 * agentguard._requests(), behind the view agentguard.requests.  EXECUTE is
 * granted to pg_monitor only; agent sessions are refused here as well,
 * since a superuser's agent session passes every privilege check.
 */
Datum
agentguard_requests(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext rowcontext;
	AgRequest  *request;
	dlist_iter	iter;

	if (ag_session_is_agent())
		ag_refuse_outright("read agentguard.requests",
						   "It shows which statements sessions were refused, with the request codes a DBA signs.");
	if (shared == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("agentguard: recent refusals are not kept in this server process"),
				 errdetail("agentguard keeps them only when it is loaded at server start and not in binary upgrade mode.")));

	InitMaterializedSRF(fcinfo, 0);
	request = palloc(sizeof(AgRequest));
	rowcontext = AllocSetContextCreate(CurrentMemoryContext,
									   "agentguard requests row",
									   ALLOCSET_DEFAULT_SIZES);

	/* an error below (say, text that this database cannot hold) releases the lock */
	LWLockAcquire(shared->lock, LW_SHARED);
	dlist_foreach(iter, &shared->newest_first)
	{
		RefusalEntry *entry = dlist_container(RefusalEntry, recency, iter.cur);
		Datum		values[NUM_COLS];
		bool		nulls[NUM_COLS];
		MemoryContext old = MemoryContextSwitchTo(rowcontext);

		entry_values(entry, request, values, nulls);
		MemoryContextSwitchTo(old);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextReset(rowcontext);
	}
	LWLockRelease(shared->lock);

	MemoryContextDelete(rowcontext);
	pfree(request);
	return (Datum) 0;
}
