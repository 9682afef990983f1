/*
 * quarantine/rows.c
 *		A confirmed DELETE, UPDATE or MERGE keeps the rows as they were
 *		before it (kind rows), with what its cascades and triggers deleted
 *		or updated in other tables.
 *
 * While the statement runs, only the place of each row its ModifyTable
 * nodes are handed is noted: the table (the tableoid junk column of an
 * inherited or partitioned target) and the TID (the ctid junk column).
 * Nothing else is copied while it runs, and statements that are not
 * confirmed note at most as many rows as their limit lets them change
 * unconfirmed, then forget them.
 *
 * When the statement and everything it caused have run, and before its
 * transaction can commit, the versions it removed are still on their pages:
 * their xmax is this transaction's own.  Each noted place is read back; a
 * version is kept when this transaction's commands since the statement began
 * deleted or updated it, and it was there before them (versions the
 * statement made itself, like an UPDATE's in-between versions, are not).  A
 * row another transaction updated first (READ COMMITTED re-checks it) is
 * followed to the version the statement changed.  Following a kept
 * version's update chain to its end says what became of the row: deleted,
 * or updated into the version whose key, xmin and cmin restore looks for.
 *
 * Each table's rows go into a table in agentguard_quarantine with its
 * columns as they are now, then, for an updated row, agentguard_change 'u',
 * agentguard_xmin, agentguard_cmin and agentguard_ctid of the row's new
 * version, agentguard_filenode of the table's storage, and the version's key
 * (the replica identity index, else the primary key) as agentguard_key_1...;
 * the member's args name the key columns.  A table without a key finds its
 * updated rows by their place instead, as long as its storage is the same
 * (VACUUM FULL and CLUSTER move rows).  A deleted
 * row has NULL there: so, when the table has no dropped columns, the
 * version it was goes in as it is, without being taken apart and made
 * again.  The table in quarantine is new: its pages are made in local
 * memory and written straight into its file (rows_write.c).  An error
 * rolls back the statement and its entry together.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_index.h"
#include "executor/executor.h"
#include "lib/stringinfo.h"
#include "storage/bufmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"

#include "compat.h"
#include "names.h"
#include "quarantine.h"
#include "quarantine/internal.h"
#include "xact.h"

/* a row the statement was handed: where it was */
typedef struct NotedRow
{
	Oid			relid;
	ItemPointerData tid;
} NotedRow;

struct AgKeptRows
{
	NotedRow   *rows;			/* in ag_xact_context, made at the first */
	uint64		count;
	uint64		room;
	uint64		limit;			/* most rows noted before it is confirmed */
	bool		confirmed;
	bool		incomplete;		/* rows passed the limit before it was */
	CommandId	first;			/* the statement's command id */
	XLogRecPtr	lsn;			/* the WAL position before it ran */
};

/* one table whose rows go into quarantine */
typedef struct KeptTable
{
	Relation	rel;
	Relation	kept;
	int			nkeys;
	AttrNumber	keys[INDEX_MAX_KEYS];
	CommandId	first;

	/*
	 * The table has no dropped columns and no values of columns added
	 * since a row was written: a deleted row goes into quarantine as it is,
	 * its missing last columns (what restore needs of an update) NULL.
	 */
	bool		same_layout;
	AgPageWriter *pages;
	MemoryContext page_context; /* the versions of one page, and their copies */
	uint64		rows;
} KeptTable;

AgKeptRows *
ag_kept_rows_start(CommandId first, uint64 limit)
{
	AgKeptRows *kept = MemoryContextAllocZero(ag_xact_context(), sizeof(AgKeptRows));

	kept->first = first;
	kept->limit = limit;
	kept->lsn = GetXLogInsertRecPtr();
	return kept;
}

/*
 * Whether the rows a ModifyTable changes are named by a TID: a DELETE,
 * UPDATE or MERGE of tables (a view's INSTEAD OF triggers and a foreign
 * table's wrapper change rows in their own ways).
 */
bool
ag_row_source(struct ModifyTableState *mt, AgRowSource *source)
{
	PlanState  *subplan = outerPlanState(mt);

	if ((mt->operation != CMD_DELETE && mt->operation != CMD_UPDATE &&
		 mt->operation != CMD_MERGE) || subplan == NULL)
		return false;
	source->ctid = ExecFindJunkAttributeInTlist(subplan->plan->targetlist, "ctid");
	source->tableoid = mt->mt_resultOidAttno;
	source->relid = AttributeNumberIsValid(source->tableoid) ? InvalidOid :
		RelationGetRelid(mt->resultRelInfo[0].ri_RelationDesc);
	return AttributeNumberIsValid(source->ctid);
}

void
ag_kept_rows_note(AgKeptRows *kept, const AgRowSource *source, struct TupleTableSlot *slot)
{
	bool		isnull;
	Datum		tid;
	Oid			relid = source->relid;

	if (kept->incomplete)
		return;
	if (!kept->confirmed && kept->count >= kept->limit)
	{
		ag_kept_rows_forget(kept);
		kept->incomplete = true;
		return;
	}
	tid = ExecGetJunkAttribute(slot, source->ctid, &isnull);
	/* a MERGE's source row that matched no row of the target */
	if (isnull)
		return;
	if (!OidIsValid(relid))
	{
		Datum		tableoid = ExecGetJunkAttribute(slot, source->tableoid, &isnull);

		if (isnull)
			return;
		relid = DatumGetObjectId(tableoid);
	}
	if (kept->count == kept->room)
	{
		/*
		 * Small at first: most statements change a row or a few, and what
		 * they note must cost them next to nothing.
		 */
		if (kept->rows == NULL)
		{
			kept->room = 16;
			kept->rows = MemoryContextAlloc(ag_xact_context(), kept->room * sizeof(NotedRow));
		}
		else
		{
			kept->room *= 2;
			kept->rows = repalloc_huge(kept->rows, kept->room * sizeof(NotedRow));
		}
	}
	kept->rows[kept->count].relid = relid;
	kept->rows[kept->count].tid = *(ItemPointer) DatumGetPointer(tid);
	kept->count++;
}

/* a confirmation was used: every row counts from now on */
void
ag_kept_rows_confirmed(AgKeptRows *kept)
{
	kept->confirmed = true;
}

/* nothing of it will be kept */
void
ag_kept_rows_forget(AgKeptRows *kept)
{
	if (kept->rows != NULL)
		pfree(kept->rows);
	kept->rows = NULL;
	kept->count = kept->room = 0;
}

static int
noted_order(const void *a, const void *b)
{
	const NotedRow *x = a;
	const NotedRow *y = b;

	if (x->relid != y->relid)
		return x->relid < y->relid ? -1 : 1;
	return ItemPointerCompare(unconstify(ItemPointerData *, &x->tid),
							  unconstify(ItemPointerData *, &y->tid));
}

/* the version at tid on page, in *tuple; false where there is none */
static bool
version_at(Relation rel, Page page, ItemPointer tid, HeapTuple tuple)
{
	OffsetNumber offset = ItemPointerGetOffsetNumber(tid);
	ItemId		item;

	if (offset < FirstOffsetNumber || offset > PageGetMaxOffsetNumber(page))
		return false;
	item = PageGetItemId(page, offset);
	if (!ItemIdIsNormal(item))
		return false;
	tuple->t_data = (HeapTupleHeader) PageGetItem(page, item);
	tuple->t_len = ItemIdGetLength(item);
	tuple->t_self = *tid;
	tuple->t_tableOid = RelationGetRelid(rel);
	return true;
}

/*
 * The versions at rows[0..count-1], all on one page, in copy: the page is
 * copied whole under one lock of it, rather than each version on its own;
 * NULL where there is none.  They last until copy is used again.
 */
static void
read_versions(Relation rel, const NotedRow *rows, int count, Page copy, HeapTupleData *tuples,
			  HeapTuple *versions)
{
	Buffer		buffer = ReadBuffer(rel, ItemPointerGetBlockNumber(&rows[0].tid));

	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	memcpy(copy, BufferGetPage(buffer), BLCKSZ);
	UnlockReleaseBuffer(buffer);
	for (int i = 0; i < count; i++)
		versions[i] = version_at(rel, copy, unconstify(ItemPointerData *, &rows[i].tid), &tuples[i]) ?
			&tuples[i] : NULL;
}

/* a copy of the version at tid, or NULL where there is none */
static HeapTuple
fetch_version(Relation rel, ItemPointer tid)
{
	Buffer		buffer = ReadBuffer(rel, ItemPointerGetBlockNumber(tid));
	HeapTupleData tuple;
	HeapTuple	version = NULL;

	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	if (version_at(rel, BufferGetPage(buffer), tid, &tuple))
		version = heap_copytuple(&tuple);
	UnlockReleaseBuffer(buffer);
	return version;
}

/* deleted or updated (not only locked) by whom, or InvalidTransactionId */
static TransactionId
updater(HeapTuple version)
{
	HeapTupleHeader header = version->t_data;

	if ((header->t_infomask & HEAP_XMAX_INVALID) || HEAP_XMAX_IS_LOCKED_ONLY(header->t_infomask))
		return InvalidTransactionId;
	return HeapTupleHeaderGetUpdateXid(header);
}

/* this transaction deleted or updated it since the statement began */
static bool
removed_here(HeapTuple version, CommandId first)
{
	TransactionId xid = updater(version);

	return TransactionIdIsValid(xid) && TransactionIdIsCurrentTransactionId(xid) &&
		HeapTupleHeaderGetCmax(version->t_data) >= first;
}

/* this transaction made it since the statement began */
static bool
made_here(HeapTuple version, CommandId first)
{
	return TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(version->t_data)) &&
		HeapTupleHeaderGetCmin(version->t_data) >= first;
}

/* the next version of an updated one, or NULL where the chain ends */
static HeapTuple
next_version(Relation rel, HeapTuple version)
{
	TransactionId xid = updater(version);
	HeapTuple	next;

	if (!TransactionIdIsValid(xid) || ItemPointerEquals(&version->t_self, &version->t_data->t_ctid))
		return NULL;
	if (HeapTupleHeaderIndicatesMovedPartitions(version->t_data))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("agentguard: cannot keep the rows this statement moves to another partition of %s",
						ag_q_relation_qualified(RelationGetRelid(rel))),
				 errdetail("A confirmed statement keeps the rows it changes; a row moved between partitions cannot be put back in its place."),
				 errhint("Change the rows without moving them, or have a DBA run the statement with agentguard.quarantine_drops = 'off'.")));
	next = fetch_version(rel, &version->t_data->t_ctid);
	/* the line pointer may serve another row now */
	if (next == NULL || !TransactionIdEquals(HeapTupleHeaderGetXmin(next->t_data), xid))
		return NULL;
	return next;
}

/* a row goes into quarantine */
static void
keep_row(KeptTable *kt, HeapTuple row)
{
	ag_q_pages_add(kt->pages, row);
	kt->rows++;
}

/*
 * A row as the quarantine keeps it: the version's values, and for an
 * updated row the key, xmin and cmin of the version it became.
 */
static HeapTuple
kept_row(KeptTable *kt, HeapTuple version, HeapTuple last)
{
	TupleDesc	desc = RelationGetDescr(kt->rel);
	TupleDesc	kept_desc = RelationGetDescr(kt->kept);
	Datum	   *values = palloc0(kept_desc->natts * sizeof(Datum));
	bool	   *nulls = palloc0(kept_desc->natts * sizeof(bool));
	Datum	   *old_values = palloc(desc->natts * sizeof(Datum));
	bool	   *old_nulls = palloc(desc->natts * sizeof(bool));
	int			column = 0;

	heap_deform_tuple(version, desc, old_values, old_nulls);
	for (int i = 0; i < desc->natts; i++)
	{
		if (TupleDescAttr(desc, i)->attisdropped)
			continue;
		values[column] = old_values[i];
		nulls[column++] = old_nulls[i];
	}
	for (int i = column; i < kept_desc->natts; i++)
		nulls[i] = last == NULL;
	if (last != NULL)
	{
		values[column] = CharGetDatum('u');
		values[column + 1] = TransactionIdGetDatum(HeapTupleHeaderGetRawXmin(last->t_data));
		values[column + 2] = CommandIdGetDatum(HeapTupleHeaderGetRawCommandId(last->t_data));
		values[column + 3] = PointerGetDatum(&last->t_self);
		values[column + 4] = ObjectIdGetDatum(kt->rel->rd_rel->relfilenode);
		for (int k = 0; k < kt->nkeys; k++)
			values[column + 5 + k] = heap_getattr(last, kt->keys[k], desc, &nulls[column + 5 + k]);
	}
	return heap_form_tuple(kept_desc, values, nulls);
}

/*
 * One version the statement removed goes into quarantine, with what became
 * of its row: deleted, or updated into its last version.
 */
static void
keep_version(KeptTable *kt, HeapTuple version)
{
	HeapTuple	last = version;
	HeapTuple	next;

	while ((next = next_version(kt->rel, last)) != NULL)
	{
		last = next;
		if (!removed_here(last, kt->first))
			break;
	}
	if (last == version || removed_here(last, kt->first))
	{
		keep_row(kt, kt->same_layout ? version : kept_row(kt, version, NULL));
		return;
	}
	keep_row(kt, kept_row(kt, version, last));
}

/*
 * The version a noted row names that the statement removed: itself, or
 * where READ COMMITTED followed it to; NULL when the statement left the row
 * alone (a MERGE that did nothing with it) or made it itself.
 */
static HeapTuple
removed_version(KeptTable *kt, HeapTuple version, bool *followed)
{
	*followed = false;
	while (version != NULL && !removed_here(version, kt->first))
	{
		version = next_version(kt->rel, version);
		*followed = true;
	}
	if (version == NULL || made_here(version, kt->first))
		return NULL;
	return version;
}

/* the columns that find a row again: the replica identity's, or the key's */
static void
find_key(KeptTable *kt)
{
	Oid			index = RelationGetReplicaIndex(kt->rel);
	Relation	index_rel;

	if (!OidIsValid(index))
		index = ag_primary_key_index(kt->rel);
	kt->nkeys = 0;
	if (!OidIsValid(index))
		return;
	index_rel = index_open(index, AccessShareLock);
	kt->nkeys = index_rel->rd_index->indnkeyatts;
	for (int k = 0; k < kt->nkeys; k++)
		kt->keys[k] = index_rel->rd_index->indkey.values[k];
	index_close(index_rel, AccessShareLock);
}

/*
 * The table in quarantine for a table's rows, made like it by CREATE TABLE
 * AS, with what restore needs after its columns; returns the key's columns,
 * as SQL, for the member's record.
 */
static char *
make_kept_table(KeptTable *kt, const char *kept_name)
{
	TupleDesc	desc = RelationGetDescr(kt->rel);
	StringInfoData keys;
	StringInfoData names;
	char	   *kept = ag_q_qualified(AG_QUARANTINE_SCHEMA, kept_name);

	initStringInfo(&keys);
	initStringInfo(&names);
	for (int k = 0; k < kt->nkeys; k++)
	{
		const char *name = quote_identifier(NameStr(TupleDescAttr(desc, kt->keys[k] - 1)->attname));

		appendStringInfo(&keys, ", t.%s AS agentguard_key_%d", name, k + 1);
		appendStringInfo(&names, "%s%s", k > 0 ? ", " : "", name);
	}
	ag_q_run_sql(ag_q_sql_text("CREATE TABLE %s AS SELECT t.*, NULL::pg_catalog.\"char\" AS agentguard_change, "
							   "NULL::pg_catalog.xid AS agentguard_xmin, NULL::pg_catalog.cid AS agentguard_cmin, "
							   "NULL::pg_catalog.tid AS agentguard_ctid, NULL::pg_catalog.oid AS agentguard_filenode%s "
							   "FROM ONLY %s AS t WITH NO DATA",
							   kept, keys.data, ag_q_relation_qualified(RelationGetRelid(kt->rel))));
	kt->kept = table_open(get_relname_relid(kept_name, get_namespace_oid(AG_QUARANTINE_SCHEMA, false)),
						  RowExclusiveLock);
	return names.data;
}

/* whether the table's rows can go into quarantine as they are */
static bool
same_layout(TupleDesc desc)
{
	if (desc->constr != NULL && desc->constr->missing != NULL)
		return false;
	for (int i = 0; i < desc->natts; i++)
		if (TupleDescAttr(desc, i)->attisdropped)
			return false;
	return true;
}

/*
 * The noted rows of one table, in TID order, page by page: versions the
 * statement removed go into quarantine; those reached by following a row
 * another transaction updated first come back in *followed.
 */
static void
keep_noted(KeptTable *kt, const NotedRow *rows, uint64 count, List **followed)
{
	HeapTupleData tuples[MaxHeapTuplesPerPage];
	HeapTuple	versions[MaxHeapTuplesPerPage];
	Page		copy = palloc(BLCKSZ);
	uint64		i = 0;

	while (i < count)
	{
		int			on_page = 0;
		MemoryContext old;

		old = MemoryContextSwitchTo(kt->page_context);

		while (i + on_page < count && on_page < MaxHeapTuplesPerPage &&
			   ItemPointerGetBlockNumber(&rows[i + on_page].tid) == ItemPointerGetBlockNumber(&rows[i].tid))
			on_page++;
		read_versions(kt->rel, &rows[i], on_page, copy, tuples, versions);
		for (int v = 0; v < on_page; v++)
		{
			HeapTuple	version;
			bool		was_followed;

			/* an UPDATE ... FROM hands one row over for each row it joins */
			if (i + v > 0 && ItemPointerEquals(unconstify(ItemPointerData *, &rows[i + v].tid),
											   unconstify(ItemPointerData *, &rows[i + v - 1].tid)))
				continue;
			version = removed_version(kt, versions[v], &was_followed);
			if (version == NULL)
				continue;
			if (was_followed)
			{
				MemoryContextSwitchTo(old);
				*followed = lappend(*followed, heap_copytuple(version));
				MemoryContextSwitchTo(kt->page_context);
			}
			else
				keep_version(kt, version);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(kt->page_context);
		i += on_page;
	}
}

/*
 * The rows of one table (rows[0..count-1], in TID order) go into
 * quarantine; returns how many.
 */
static uint64
keep_table(int64 entry, int position, Oid relid, const NotedRow *rows, uint64 count,
		   CommandId first)
{
	KeptTable	kt = {0};
	Moved		m = {0};
	char	   *kept_name = ag_q_quarantine_name(entry, position, get_rel_name(relid));
	List	   *followed = NIL;
	MemoryContext old;
	ListCell   *lc;

	kt.rel = table_open(relid, AccessShareLock);
	if (kt.rel->rd_tableam != GetHeapamTableAmRoutine())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("agentguard: cannot keep the rows this statement changes in %s: its access method is not heap",
						ag_q_relation_qualified(relid)),
				 errhint("Have a DBA run the statement with agentguard.quarantine_drops = 'off'.")));
	kt.first = first;
	kt.same_layout = same_layout(RelationGetDescr(kt.rel));
	find_key(&kt);
	m.sql_kind = AG_CHANGED_ROWS;
	m.schema = get_namespace_name(get_rel_namespace(relid));
	m.name = get_rel_name(relid);
	m.args = make_kept_table(&kt, kept_name);
	ag_q_save_member(entry, position, &m, true, kept_name);

	kt.pages = ag_q_pages_start(kt.kept);
	kt.page_context = AllocSetContextCreate(CurrentMemoryContext, "agentguard kept rows page",
											ALLOCSET_DEFAULT_SIZES);
	keep_noted(&kt, rows, count, &followed);

	/* versions reached by following a row: once, and not if noted themselves */
	foreach(lc, followed)
	{
		HeapTuple	version = lfirst(lc);
		NotedRow	key = {relid, version->t_self};
		bool		seen = bsearch(&key, rows, count, sizeof(NotedRow), noted_order) != NULL;

		for (ListCell *before = list_head(followed); !seen && before != lc;
			 before = lnext(followed, before))
			seen = ItemPointerEquals(&version->t_self, &((HeapTuple) lfirst(before))->t_self);
		if (!seen)
		{
			old = MemoryContextSwitchTo(kt.page_context);
			keep_version(&kt, version);
			MemoryContextSwitchTo(old);
			MemoryContextReset(kt.page_context);
		}
	}
	ag_q_pages_finish(kt.pages);
	MemoryContextDelete(kt.page_context);
	table_close(kt.kept, NoLock);
	table_close(kt.rel, NoLock);
	return kt.rows;
}

/* does a table have a foreign key to another one of the list? */
static bool
refers_to_any(Oid relid, List *tables)
{
	Relation	rel = table_open(relid, AccessShareLock);
	bool		refers = false;
	ListCell   *lc;

	foreach(lc, RelationGetFKeyList(rel))
	{
		ForeignKeyCacheInfo *fk = lfirst(lc);

		refers = refers || (fk->confrelid != relid && list_member_oid(tables, fk->confrelid));
	}
	table_close(rel, AccessShareLock);
	return refers;
}

/*
 * The tables, those that others refer to first, so that restore puts
 * parents back before their children (a cycle keeps its order).
 */
static List *
parents_first(List *tables)
{
	List	   *ordered = NIL;

	while (tables != NIL)
	{
		ListCell   *lc;
		Oid			next = linitial_oid(tables);

		foreach(lc, tables)
			if (!refers_to_any(lfirst_oid(lc), tables))
			{
				next = lfirst_oid(lc);
				break;
			}
		ordered = lappend_oid(ordered, next);
		tables = list_delete_oid(tables, next);
	}
	return ordered;
}

/* the tables whose rows are kept: tables, but temporary ones, as noted */
static List *
kept_tables(AgKeptRows *kept)
{
	List	   *tables = NIL;

	for (uint64 i = 0; i < kept->count; i++)
	{
		Oid			relid = kept->rows[i].relid;

		if ((i == 0 || relid != kept->rows[i - 1].relid) &&
			get_rel_relkind(relid) == RELKIND_RELATION &&
			get_rel_persistence(relid) != RELPERSISTENCE_TEMP)
			tables = lappend_oid(tables, relid);
	}
	return parents_first(tables);
}

void
ag_kept_rows_keep(AgKeptRows *kept, const AgStatement *statement, Oid target)
{
	AgOwnerSession ls;
	List	   *tables;
	ListCell   *lc;
	int64		entry;
	int			position = 0;
	uint64		rows = 0;
	char	   *original = ag_q_relation_qualified(target);

	if (kept->incomplete)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("agentguard: cannot keep the rows this statement changes: it changed more than " UINT64_FORMAT " rows before its confirmation was used",
						kept->limit),
				 errhint("Run the part that needs no confirmation as a statement of its own.")));
	qsort(kept->rows, kept->count, sizeof(NotedRow), noted_order);
	tables = kept_tables(kept);
	if (tables == NIL || !ag_q_open_or_warn(&ls, statement->action))
		return;
	entry = ag_q_new_entry_id();
	ag_q_record_entry_at(entry, "rows", get_namespace_name(get_rel_namespace(target)), get_rel_name(target),
						 ag_q_qualified(AG_QUARANTINE_SCHEMA,
										ag_q_quarantine_name(entry, 0, get_rel_name(linitial_oid(tables)))),
						 statement, kept->lsn);
	foreach(lc, tables)
	{
		Oid			relid = lfirst_oid(lc);
		uint64		start = 0;
		uint64		end;

		while (kept->rows[start].relid != relid)
			start++;
		for (end = start; end < kept->count && kept->rows[end].relid == relid; end++)
			;
		rows += keep_table(entry, position++, relid, &kept->rows[start], end - start, kept->first);
	}
	ag_q_log_quarantine(statement, psprintf("%s (" UINT64_FORMAT " rows)", original, rows), entry,
						NULL, position, kept->lsn);
	ag_owner_close(&ls);
	ag_kept_rows_forget(kept);
}
