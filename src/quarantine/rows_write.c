/*
 * quarantine/rows_write.c
 *		The table that keeps a statement's rows is filled page by page,
 *		each page made here and written straight into its file, as CLUSTER
 *		and CREATE INDEX write theirs.
 *
 * The table is new, made by this statement, and no other session can see
 * it: no other backend can read or write its pages.  Going through shared
 * buffers would cost, for each page, a buffer taken from another use, a
 * page of zeroes written to extend the file and, in a new session, a fault
 * to map the buffer's memory; here one page is made in local memory and
 * written once.
 *
 * Crash safety is heap_multi_insert's: each page is WAL-logged before it is
 * written, by the very record heap_multi_insert writes for a page it starts
 * (XLOG_HEAP2_MULTI_INSERT with XLOG_HEAP_INIT_PAGE), so that recovery and
 * a standby make the page again with heap's own replay; its rows, without
 * their headers, take about two thirds of the page's bytes in WAL.  Under
 * wal_level minimal a table made in this transaction skips WAL, and commit
 * syncs its file instead (storage.c's pending syncs).  Logical decoding
 * passes these rows by, as it does CLUSTER's: the table exists on no
 * subscriber.
 *
 * A page written outside shared buffers is not one a checkpoint knows to
 * sync: the file's sync is asked of the next checkpoint once each segment
 * is whole, and where a checkpoint began while the pages were written (it
 * may have passed the file by, and a crash would replay WAL only from it),
 * the file is synced at once.  The tuples are this transaction's and this
 * command's, as heap_multi_insert makes them; a value stored out of line
 * goes into the table's own TOAST table.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/heapam_xlog.h"
#include "access/heaptoast.h"
#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "access/xloginsert.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "storage/smgr.h"
#include "utils/rel.h"

#include "compat.h"
#include "quarantine/internal.h"

struct AgPageWriter
{
	Relation	rel;
	Page		page;			/* the page being filled, in local memory */
	char	   *wal;			/* its rows as its WAL record has them */
	BlockNumber block;			/* its number */
	bool		filling;		/* it holds a row */
	bool		wal_logged;		/* pages are WAL-logged */
	XLogRecPtr	redo;			/* the checkpoint redo pointer at the start */
	TransactionId xid;
	CommandId	cid;
};

AgPageWriter *
ag_q_pages_start(Relation rel)
{
	AgPageWriter *writer = palloc0(sizeof(AgPageWriter));

	writer->rel = rel;
	writer->page = ag_page_alloc();
	writer->wal = palloc(BLCKSZ);
	writer->block = RelationGetNumberOfBlocks(rel);
	writer->wal_logged = RelationNeedsWAL(rel);
	writer->redo = GetRedoRecPtr();
	writer->xid = GetCurrentTransactionId();
	writer->cid = GetCurrentCommandId(true);
	return writer;
}

/*
 * The full page's WAL record, as heap_multi_insert writes it for a page it
 * starts: the rows in the order of their line pointers, each a short header
 * and its bytes after the tuple header; replay sets xmin and the line
 * pointers' places.  Its rows take less room in WAL than the page, so they
 * fit in BLCKSZ.
 */
static void
log_page(AgPageWriter *writer)
{
	xl_heap_multi_insert record = {0};
	char	   *end = writer->wal;
	XLogRecPtr	lsn;

	record.ntuples = PageGetMaxOffsetNumber(writer->page);
	for (OffsetNumber offset = FirstOffsetNumber; offset <= record.ntuples; offset++)
	{
		ItemId		item = PageGetItemId(writer->page, offset);
		HeapTupleHeader tuple = (HeapTupleHeader) PageGetItem(writer->page, item);
		xl_multi_insert_tuple *header = (xl_multi_insert_tuple *) SHORTALIGN(end);

		header->datalen = ItemIdGetLength(item) - SizeofHeapTupleHeader;
		header->t_infomask2 = tuple->t_infomask2;
		header->t_infomask = tuple->t_infomask;
		header->t_hoff = tuple->t_hoff;
		end = (char *) header + SizeOfMultiInsertTuple;
		memcpy(end, (char *) tuple + SizeofHeapTupleHeader, header->datalen);
		end += header->datalen;
	}
	Assert(end - writer->wal <= BLCKSZ);
	XLogBeginInsert();
	XLogRegisterData((char *) &record, SizeOfHeapMultiInsert);
	XLogRegisterBlock(0, ag_relation_storage(writer->rel), MAIN_FORKNUM, writer->block, writer->page,
					  REGBUF_STANDARD | REGBUF_WILL_INIT);
	XLogRegisterBufData(0, writer->wal, end - writer->wal);
	lsn = XLogInsert(RM_HEAP2_ID, XLOG_HEAP2_MULTI_INSERT | XLOG_HEAP_INIT_PAGE);
	PageSetLSN(writer->page, lsn);
}

/*
 * The page goes into the file; a segment's last page, or the table's,
 * asks the next checkpoint to sync its segment, now that it is whole.
 */
static void
write_page(AgPageWriter *writer, bool last)
{
	if (writer->wal_logged)
		log_page(writer);
	PageSetChecksumInplace(writer->page, writer->block);
	smgrextend(RelationGetSmgr(writer->rel), MAIN_FORKNUM, writer->block, (char *) writer->page,
			   !last && writer->block % RELSEG_SIZE != RELSEG_SIZE - 1);
	writer->block++;
	writer->filling = false;
}

/*
 * A row joins the table: tuple, whose header is made this transaction's
 * insert (its memory is the caller's to change), its out-of-line values
 * stored in the table's own TOAST table.
 */
void
ag_q_pages_add(AgPageWriter *writer, HeapTuple tuple)
{
	HeapTupleHeader header = tuple->t_data;
	HeapTuple	stored = tuple;
	OffsetNumber offset;
	HeapTupleHeader placed;

	header->t_infomask &= ~HEAP_XACT_MASK;
	header->t_infomask2 &= ~HEAP2_XACT_MASK;
	header->t_infomask |= HEAP_XMAX_INVALID;
	HeapTupleHeaderSetXmin(header, writer->xid);
	HeapTupleHeaderSetCmin(header, writer->cid);
	HeapTupleHeaderSetXmax(header, InvalidTransactionId);
	tuple->t_tableOid = RelationGetRelid(writer->rel);
	if (HeapTupleHasExternal(tuple) || tuple->t_len > TOAST_TUPLE_THRESHOLD)
		stored = heap_toast_insert_or_update(writer->rel, tuple, NULL,
											 HEAP_INSERT_SKIP_FSM | HEAP_INSERT_NO_LOGICAL);
	if (MAXALIGN(stored->t_len) > MaxHeapTupleSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("agentguard: a row kept in %s is too big: %zu bytes",
						RelationGetRelationName(writer->rel), (size_t) stored->t_len),
				 errdetail("A page holds at most %zu bytes of a row.", (size_t) MaxHeapTupleSize)));

	if (writer->filling && PageGetHeapFreeSpace(writer->page) < MAXALIGN(stored->t_len))
		write_page(writer, false);
	if (!writer->filling)
	{
		PageInit(writer->page, BLCKSZ, 0);
		writer->filling = true;
	}
	offset = PageAddItem(writer->page, (Item) stored->t_data, stored->t_len, InvalidOffsetNumber,
						 false, true);
	if (offset == InvalidOffsetNumber)
		elog(ERROR, "agentguard: a kept row did not fit on an empty page");
	placed = (HeapTupleHeader) PageGetItem(writer->page, PageGetItemId(writer->page, offset));
	ItemPointerSet(&placed->t_ctid, writer->block, offset);
}

/* the last page goes into the file, and the file is safe from a crash */
void
ag_q_pages_finish(AgPageWriter *writer)
{
	if (writer->filling)
		write_page(writer, true);
	if (writer->wal_logged && GetRedoRecPtr() != writer->redo)
		smgrimmedsync(RelationGetSmgr(writer->rel), MAIN_FORKNUM);
}
