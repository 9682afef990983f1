/*
 * quarantine/truncate.c
 *		A TRUNCATE that keeps the rows it removes, by keeping their storage,
 *		and a restore that gives the storage back.
 *
 * PostgreSQL's TRUNCATE gives a table new, empty files and unlinks the old
 * ones at commit; CLUSTER and pg_repack give a table other files by
 * swapping the relfilenodes of two relations in pg_class.  A quarantined
 * TRUNCATE does the same before the real one runs: each table it empties
 * gets a twin in agentguard_quarantine with the same physical layout (the
 * same columns, dropped ones too, the same indexes), and the two swap
 * their files, each index with its twin's, and their TOAST tables.  The
 * table then holds the twin's empty files, which the TRUNCATE, left to run
 * as it would, throws away; the twin holds the old files, rows, indexes and
 * TOAST values as they were, and nothing ever schedules them for deletion.
 * Every change is a catalog change in the TRUNCATE's transaction: an abort
 * or a crash before commit leaves the table with its files and no twin.
 * The cost is that of creating a table, whatever the number of rows.
 *
 * Restore swaps back when the table is empty and its layout is still the
 * twin's; otherwise restore.c copies the rows back.  Storage that was made
 * in the same transaction, and tables whose files cannot be told apart from
 * their catalog (other table access methods, invalid indexes), keep the
 * copy that quarantine made before this file existed.
 */
#include "postgres.h"

#include "access/attmap.h"
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/toast_internals.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/heap.h"
#include "catalog/index.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_publication.h"
#include "catalog/toasting.h"
#include "commands/defrem.h"
#include "commands/tablecmds.h"
#include "commands/tablespace.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_utilcmd.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "capture.h"
#include "citus_keep.h"
#include "compat.h"
#include "quarantine.h"
#include "quarantine/internal.h"

/* the partition bound a kept partition's rows satisfy, kept as a check */
#define KEPT_BOUND "agentguard_partition_bound"

/* ---- whether files can change hands ---- */

/* files made in this transaction are the TRUNCATE's to empty in place */
static bool
storage_is_new(Relation rel)
{
	return rel->rd_createSubid != InvalidSubTransactionId ||
		ag_storage_new_subid(rel) != InvalidSubTransactionId ||
		ag_storage_first_subid(rel) != InvalidSubTransactionId;
}

/*
 * A heap table whose files, and its indexes' files, are old and say what
 * the catalog says they hold.  An index that is not valid may be missing
 * rows, and the TRUNCATE's rebuild would mark it valid.
 */
static bool
storage_can_move(Relation rel)
{
	List	   *indexes;
	ListCell   *lc;
	bool		can = true;

	if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relam != HEAP_TABLE_AM_OID ||
		rel->rd_rel->relpersistence == RELPERSISTENCE_TEMP || storage_is_new(rel))
		return false;
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);

		can = can && index->rd_index->indisvalid && index->rd_index->indisready &&
			index->rd_index->indislive && !storage_is_new(index);
		index_close(index, NoLock);
	}
	return can;
}

/* ---- the twin ---- */

/* whether the table has a check of that name */
static bool
has_check_named(TupleConstr *constr, const char *name)
{
	for (int i = 0; constr != NULL && i < constr->num_check; i++)
		if (strcmp(constr->check[i].ccname, name) == 0)
			return true;
	return false;
}

/*
 * The checks the rows satisfy: the table's own, and a partition's bound.
 * The twin keeps them, so that restore can tell whether they changed.
 */
static List *
kept_checks(Relation rel)
{
	TupleConstr *constr = RelationGetDescr(rel)->constr;
	List	   *checks = NIL;
	List	   *bound = rel->rd_rel->relispartition ? RelationGetPartitionQual(rel) : NIL;

	for (int i = 0; constr != NULL && i < constr->num_check; i++)
	{
		ConstrCheck *check = &constr->check[i];
		CookedConstraint *cooked = palloc0(sizeof(CookedConstraint));

		cooked->contype = CONSTR_CHECK;
		cooked->name = pstrdup(check->ccname);
		cooked->expr = stringToNode(check->ccbin);
		cooked->skip_validation = !check->ccvalid;
		cooked->is_local = true;
		cooked->is_no_inherit = check->ccnoinherit;
		ag_cooked_enforced(cooked, ag_check_enforced(check));
		checks = lappend(checks, cooked);
	}
	if (bound != NIL)
	{
		CookedConstraint *cooked = palloc0(sizeof(CookedConstraint));
		char	   *name = pstrdup(KEPT_BOUND);

		for (int n = 1; has_check_named(constr, name); n++)
			name = psprintf("%s%d", KEPT_BOUND, n);
		cooked->contype = CONSTR_CHECK;
		cooked->name = name;
		cooked->expr = (Node *) make_ands_explicit(bound);
		cooked->is_local = true;
		ag_cooked_enforced(cooked, true);
		checks = lappend(checks, cooked);
	}
	return checks;
}

/*
 * Columns added with a default since the rows were written are missing
 * from the rows themselves: pg_attribute holds the value they read as, and
 * the twin must hold it too.
 */
static void
copy_missing_values(Oid from, Oid to, int natts)
{
	Relation	catalog = table_open(AttributeRelationId, RowExclusiveLock);

	for (AttrNumber attnum = 1; attnum <= natts; attnum++)
	{
		HeapTuple	source = SearchSysCache2(ATTNUM, ObjectIdGetDatum(from), Int16GetDatum(attnum));
		HeapTuple	target;
		Datum		values[Natts_pg_attribute] = {0};
		bool		nulls[Natts_pg_attribute] = {0};
		bool		replace[Natts_pg_attribute] = {0};
		bool		isnull;

		if (!HeapTupleIsValid(source))
			elog(ERROR, "agentguard: column %d of relation %u is gone", attnum, from);
		values[Anum_pg_attribute_attmissingval - 1] =
			SysCacheGetAttr(ATTNUM, source, Anum_pg_attribute_attmissingval, &isnull);
		if (!((Form_pg_attribute) GETSTRUCT(source))->atthasmissing || isnull)
		{
			ReleaseSysCache(source);
			continue;
		}
		replace[Anum_pg_attribute_attmissingval - 1] = true;
		replace[Anum_pg_attribute_atthasmissing - 1] = true;
		values[Anum_pg_attribute_atthasmissing - 1] = BoolGetDatum(true);
		target = SearchSysCacheCopy2(ATTNUM, ObjectIdGetDatum(to), Int16GetDatum(attnum));
		target = heap_modify_tuple(target, RelationGetDescr(catalog), values, nulls, replace);
		CatalogTupleUpdate(catalog, &target->t_self, target);
		ReleaseSysCache(source);
	}
	table_close(catalog, RowExclusiveLock);
}

/*
 * The twin: the table's tuple descriptor (dropped columns, types,
 * storage), its NOT NULLs, generated columns and checks, its owner,
 * tablespace, persistence and options, and a TOAST table if it has one.
 * Not its defaults, identities, triggers or grants: the twin only holds
 * rows, and is never written to.
 */
static Oid
make_twin(Relation rel, const char *name)
{
	TupleDesc	source = RelationGetDescr(rel);
	TupleDesc	desc = CreateTupleDescCopy(source);
	List	   *cooked = kept_checks(rel);
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(RelationGetRelid(rel)));
	bool		isnull;
	Datum		options = SysCacheGetAttr(RELOID, tuple, Anum_pg_class_reloptions, &isnull);
	Oid			twin;

	for (int i = 0; i < desc->natts; i++)
	{
		TupleDescAttr(desc, i)->attnotnull = TupleDescAttr(source, i)->attnotnull;
		TupleDescAttr(desc, i)->attgenerated = TupleDescAttr(source, i)->attgenerated;
	}
	for (int i = 0; source->constr != NULL && i < source->constr->num_defval; i++)
	{
		AttrDefault *def = &source->constr->defval[i];
		CookedConstraint *generated;

		if (TupleDescAttr(source, def->adnum - 1)->attgenerated == '\0')
			continue;
		generated = palloc0(sizeof(CookedConstraint));
		generated->contype = CONSTR_DEFAULT;
		generated->attnum = def->adnum;
		generated->expr = stringToNode(def->adbin);
		generated->is_local = true;
		cooked = lappend(cooked, generated);
	}
	twin = heap_create_with_catalog(name, get_namespace_oid(AG_QUARANTINE_SCHEMA, false),
									rel->rd_rel->reltablespace, InvalidOid, InvalidOid, InvalidOid,
									rel->rd_rel->relowner, rel->rd_rel->relam, desc, cooked,
									RELKIND_RELATION, rel->rd_rel->relpersistence, false, false,
									ONCOMMIT_NOOP, isnull ? (Datum) 0 : options, false, false, true,
									InvalidOid, NULL);
	ReleaseSysCache(tuple);
	CommandCounterIncrement();
	copy_missing_values(RelationGetRelid(rel), twin, desc->natts);
	if (OidIsValid(rel->rd_rel->reltoastrelid))
	{
		tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(rel->rd_rel->reltoastrelid));
		options = SysCacheGetAttr(RELOID, tuple, Anum_pg_class_reloptions, &isnull);
		NewHeapCreateToastTable(twin, isnull ? (Datum) 0 : options, AccessExclusiveLock, InvalidOid);
		ReleaseSysCache(tuple);
	}
	CommandCounterIncrement();
	return twin;
}

/* a map of a table's columns to themselves */
static AttrMap *
same_columns_map(Relation rel)
{
	AttrMap    *same = make_attrmap(RelationGetDescr(rel)->natts);

	for (int i = 0; i < same->maplen; i++)
		same->attnums[i] = i + 1;
	return same;
}

/*
 * Each index of the table made again on the twin, in the same tablespace
 * and with the same options: its files hold the same format.
 */
static void
clone_indexes(Relation rel, Oid twin, const char *name)
{
	ListCell   *lc;
	AttrMap    *same = same_columns_map(rel);

	foreach(lc, RelationGetIndexList(rel))
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);
		Oid			constraint;
		Oid			tablespace = OidIsValid(index->rd_rel->reltablespace) ?
			index->rd_rel->reltablespace : MyDatabaseTableSpace;
		IndexStmt  *stmt = generateClonedIndexStmt(makeRangeVar(AG_QUARANTINE_SCHEMA, pstrdup(name), -1),
												   index, same, &constraint);

		/* named by DefineIndex after the twin, where no name is taken */
		stmt->idxname = NULL;
		stmt->tableSpace = get_tablespace_name(tablespace);
		(void) ag_define_index(twin, stmt);
		index_close(index, NoLock);
	}
	CommandCounterIncrement();
}

/* ---- comparing ---- */

/* a relation's reloptions, or an index column's opclass options */
static bool
same_options(Datum a, bool a_null, Datum b, bool b_null)
{
	if (a_null || b_null)
		return a_null == b_null;
	return datumIsEqual(a, b, false, -1);
}

static bool
same_reloptions(Oid a, Oid b)
{
	HeapTuple	ta = SearchSysCache1(RELOID, ObjectIdGetDatum(a));
	HeapTuple	tb = SearchSysCache1(RELOID, ObjectIdGetDatum(b));
	bool		na;
	bool		nb;
	Datum		oa = SysCacheGetAttr(RELOID, ta, Anum_pg_class_reloptions, &na);
	Datum		ob = SysCacheGetAttr(RELOID, tb, Anum_pg_class_reloptions, &nb);
	bool		result = same_options(oa, na, ob, nb);

	ReleaseSysCache(ta);
	ReleaseSysCache(tb);
	return result;
}

/*
 * Two indexes of tables with the same columns (same: the map between
 * them), whose files can change hands: the same access method, keys,
 * expressions, predicate, operator classes and their options, orderings,
 * collations, uniqueness, options and tablespace.
 */
static bool
same_index(Oid a, Oid b, AttrMap *same)
{
	Relation	ia = index_open(a, AccessShareLock);
	Relation	ib = index_open(b, AccessShareLock);
	int			natts = IndexRelationGetNumberOfKeyAttributes(ia);
	bool		result;

	result = ia->rd_rel->relam == ib->rd_rel->relam &&
		ia->rd_rel->reltablespace == ib->rd_rel->reltablespace &&
		ia->rd_rel->relpersistence == ib->rd_rel->relpersistence &&
		RelationGetDescr(ia)->natts == RelationGetDescr(ib)->natts &&
		natts == IndexRelationGetNumberOfKeyAttributes(ib) &&
		CompareIndexInfo(BuildIndexInfo(ia), BuildIndexInfo(ib), ia->rd_indcollation, ib->rd_indcollation,
						 ia->rd_opfamily, ib->rd_opfamily, same) &&
		memcmp(ia->rd_indoption, ib->rd_indoption, natts * sizeof(int16)) == 0 &&
		same_reloptions(a, b);
	if (result)
	{
		bool		isnull;
		oidvector  *ca = (oidvector *) DatumGetPointer(SysCacheGetAttr(INDEXRELID, ia->rd_indextuple,
																	   Anum_pg_index_indclass, &isnull));
		oidvector  *cb = (oidvector *) DatumGetPointer(SysCacheGetAttr(INDEXRELID, ib->rd_indextuple,
																	   Anum_pg_index_indclass, &isnull));

		result = memcmp(ca->values, cb->values, natts * sizeof(Oid)) == 0;
	}
	for (int i = 1; result && i <= RelationGetDescr(ia)->natts; i++)
	{
		Datum		oa = get_attoptions(a, i);
		Datum		ob = get_attoptions(b, i);

		result = same_options(oa, oa == (Datum) 0, ob, ob == (Datum) 0);
	}
	index_close(ia, NoLock);
	index_close(ib, NoLock);
	return result;
}

/* a column's generation expression, or NULL */
static Node *
generation_of(TupleDesc desc, AttrNumber attnum)
{
	for (int i = 0; desc->constr != NULL && i < desc->constr->num_defval; i++)
		if (desc->constr->defval[i].adnum == attnum)
			return stringToNode(desc->constr->defval[i].adbin);
	return NULL;
}

/* what pg_attribute says a column reads as where a row lacks it */
static bool
same_missing_value(Oid a, Oid b, AttrNumber attnum)
{
	HeapTuple	ta = SearchSysCache2(ATTNUM, ObjectIdGetDatum(a), Int16GetDatum(attnum));
	HeapTuple	tb = SearchSysCache2(ATTNUM, ObjectIdGetDatum(b), Int16GetDatum(attnum));
	bool		na;
	bool		nb;
	Datum		va = SysCacheGetAttr(ATTNUM, ta, Anum_pg_attribute_attmissingval, &na);
	Datum		vb = SysCacheGetAttr(ATTNUM, tb, Anum_pg_attribute_attmissingval, &nb);
	bool		result = same_options(va, na, vb, nb);

	ReleaseSysCache(ta);
	ReleaseSysCache(tb);
	return result;
}

/*
 * The kept rows read the same in the table as in its twin, and satisfy
 * what the table asks of its rows now: the same columns, dropped ones too,
 * with the same types, collations, generation expressions and values for
 * rows that lack them; no NOT NULL, check or partition bound that the
 * twin does not have.
 */
static bool
same_rows(Relation table, Relation twin)
{
	TupleDesc	dt = RelationGetDescr(table);
	TupleDesc	dq = RelationGetDescr(twin);
	TupleConstr *ct = dt->constr;
	TupleConstr *cq = dq->constr;
	List	   *required = NIL;
	ListCell   *lc;

	if (dt->natts != dq->natts)
		return false;
	for (int i = 0; i < dt->natts; i++)
	{
		Form_pg_attribute at = TupleDescAttr(dt, i);
		Form_pg_attribute aq = TupleDescAttr(dq, i);

		if (at->attisdropped != aq->attisdropped || at->attlen != aq->attlen ||
			at->attalign != aq->attalign || at->attbyval != aq->attbyval)
			return false;
		if (at->attisdropped)
			continue;
		if (at->atttypid != aq->atttypid || at->atttypmod != aq->atttypmod ||
			at->attcollation != aq->attcollation || (at->attnotnull && !aq->attnotnull) ||
			at->attgenerated != aq->attgenerated || at->atthasmissing != aq->atthasmissing ||
			(at->atthasmissing && !same_missing_value(RelationGetRelid(table), RelationGetRelid(twin), i + 1)) ||
			(at->attgenerated != '\0' && !equal(generation_of(dt, i + 1), generation_of(dq, i + 1))))
			return false;
	}
	for (int i = 0; ct != NULL && i < ct->num_check; i++)
		required = lappend(required, &ct->check[i]);
	if (table->rd_rel->relispartition && RelationGetPartitionQual(table) != NIL)
	{
		ConstrCheck *bound = palloc0(sizeof(ConstrCheck));

		bound->ccbin = nodeToString(make_ands_explicit(RelationGetPartitionQual(table)));
		bound->ccvalid = true;
		required = lappend(required, bound);
	}
	foreach(lc, required)
	{
		ConstrCheck *need = lfirst(lc);
		bool		found = false;

		for (int i = 0; !found && cq != NULL && i < cq->num_check; i++)
			found = (cq->check[i].ccvalid || !need->ccvalid) &&
				(ag_check_enforced(&cq->check[i]) || !ag_check_enforced(need)) &&
				equal(stringToNode(need->ccbin), stringToNode(cq->check[i].ccbin));
		if (!found)
			return false;
	}
	return true;
}

/*
 * The table's indexes, each with the twin's index whose files can take its
 * place, in the order of RelationGetIndexList(table); NIL, with *matched
 * false, when they do not pair one to one.
 */
static List *
paired_indexes(Relation table, Relation twin, bool *matched)
{
	List	   *left = list_copy(RelationGetIndexList(twin));
	List	   *pairs = NIL;
	AttrMap    *same = same_columns_map(table);
	ListCell   *lc;

	*matched = list_length(left) == list_length(RelationGetIndexList(table));
	foreach(lc, RelationGetIndexList(table))
	{
		Oid			index = lfirst_oid(lc);
		Oid			partner = InvalidOid;
		ListCell   *pc;

		foreach(pc, left)
			if (!OidIsValid(partner) && same_index(index, lfirst_oid(pc), same))
				partner = lfirst_oid(pc);
		*matched = *matched && OidIsValid(partner);
		if (!*matched)
			return NIL;
		left = list_delete_oid(left, partner);
		pairs = lappend_oid(pairs, partner);
	}
	return pairs;
}

/* ---- swapping ---- */

/* the pg_toast_<table> naming of a TOAST table and its index, kept true */
static void
name_toast(Oid toast, Oid owner, const char *suffix)
{
	RenameRelationInternal(toast, psprintf("pg_toast_%u%s", owner, suffix), true, false);
	RenameRelationInternal(toast_get_valid_index(toast, AccessExclusiveLock),
						   psprintf("pg_toast_%u%s_index", owner, suffix), true, true);
	CommandCounterIncrement();
}

/*
 * The relation cache marks files made in this transaction: WAL skipping
 * under wal_level = minimal and the syncs at commit go by them.  Files that
 * change hands take their marks along: the relation that now has new files
 * is marked so, the one that has the older files takes the other's marks
 * (CLUSTER does the same).  One side is always old: a table given new files
 * in this transaction keeps its rows by a copy.
 */
static void
swap_storage_marks(Oid r1, Oid r2)
{
	Relation	rel1 = relation_open(r1, NoLock);
	Relation	rel2 = relation_open(r2, NoLock);
	bool		new1 = storage_is_new(rel1);
	bool		new2 = storage_is_new(rel2);

	if (new1 != new2)
	{
		Relation	now_new = new2 ? rel1 : rel2;
		Relation	now_old = new2 ? rel2 : rel1;

		now_old->rd_createSubid = now_new->rd_createSubid;
		ag_storage_new_subid(now_old) = ag_storage_new_subid(now_new);
		ag_storage_first_subid(now_old) = ag_storage_first_subid(now_new);
		ag_assume_new_storage(now_new);
	}
	relation_close(rel1, NoLock);
	relation_close(rel2, NoLock);
}

/*
 * Two relations swap their files, with what pg_class says of the files
 * (sizes, visibility, the oldest XID and MultiXactId in them) and, for
 * tables, their TOAST tables: the values of the rows point at their TOAST
 * table by its OID, so the TOAST table goes with the rows, and its
 * dependency and name follow.  CLUSTER's swap_relation_files, without the
 * rewrite.
 */
static void
swap_files(Oid r1, Oid r2)
{
	Relation	catalog = table_open(RelationRelationId, RowExclusiveLock);
	HeapTuple	t1 = SearchSysCacheCopy1(RELOID, ObjectIdGetDatum(r1));
	HeapTuple	t2 = SearchSysCacheCopy1(RELOID, ObjectIdGetDatum(r2));
	Form_pg_class c1 = (Form_pg_class) GETSTRUCT(t1);
	Form_pg_class c2 = (Form_pg_class) GETSTRUCT(t2);

#define SWAP_FIELD(type, field) \
	do { type swapped_ = c1->field; c1->field = c2->field; c2->field = swapped_; } while (0)
	SWAP_FIELD(Oid, relfilenode);
	SWAP_FIELD(int32, relpages);
	SWAP_FIELD(float4, reltuples);
	SWAP_FIELD(int32, relallvisible);
	SWAP_FIELD(TransactionId, relfrozenxid);
	SWAP_FIELD(MultiXactId, relminmxid);
	SWAP_FIELD(Oid, reltoastrelid);
#undef SWAP_FIELD
	ag_swap_allfrozen(c1, c2);
	CatalogTupleUpdate(catalog, &t1->t_self, t1);
	CatalogTupleUpdate(catalog, &t2->t_self, t2);
	table_close(catalog, RowExclusiveLock);
	if (OidIsValid(c1->reltoastrelid))
		changeDependencyFor(RelationRelationId, c1->reltoastrelid, RelationRelationId, r2, r1);
	if (OidIsValid(c2->reltoastrelid))
		changeDependencyFor(RelationRelationId, c2->reltoastrelid, RelationRelationId, r1, r2);

	swap_storage_marks(r1, r2);
	ag_forget_storage(r1);
	ag_forget_storage(r2);
	CommandCounterIncrement();
	if (OidIsValid(c1->reltoastrelid))
		name_toast(c1->reltoastrelid, r1, "_swapping");
	if (OidIsValid(c2->reltoastrelid))
		name_toast(c2->reltoastrelid, r2, "");
	if (OidIsValid(c1->reltoastrelid))
		name_toast(c1->reltoastrelid, r1, "");
}

/* a table and its twin swap files, and each index with its partner's */
static void
swap_storage(Relation table, Relation twin, List *partners)
{
	ListCell   *lc;
	ListCell   *pc;

	swap_files(RelationGetRelid(table), RelationGetRelid(twin));
	forboth(lc, RelationGetIndexList(table), pc, partners)
		swap_files(lfirst_oid(lc), lfirst_oid(pc));
}

/* ---- TRUNCATE ---- */

/*
 * The table's rows kept by their files: the twin made, checked against
 * the table as restore will check it, and the files swapped.  False, with
 * no twin left, when that cannot be done: the rows are then copied.
 */
static bool
keep_storage(Relation rel, const char *name)
{
	Oid			twin_id;
	Relation	twin;
	List	   *partners;
	bool		matched;
	ObjectAddress address;

	if (!storage_can_move(rel))
		return false;
	twin_id = make_twin(rel, name);
	clone_indexes(rel, twin_id, name);
	twin = table_open(twin_id, AccessExclusiveLock);
	partners = paired_indexes(rel, twin, &matched);
	if (!matched || !same_rows(rel, twin))
	{
		table_close(twin, NoLock);
		ObjectAddressSet(address, RelationRelationId, twin_id);
		performDeletion(&address, DROP_RESTRICT, PERFORM_DELETION_INTERNAL);
		CommandCounterIncrement();
		return false;
	}
	swap_storage(rel, twin, partners);
	table_close(twin, NoLock);
	return true;
}

/*
 * A TRUNCATE keeps the rows it removes: each table it empties (the named
 * ones, their partitions and children, and what CASCADE reaches) keeps its
 * files in quarantine, or, where they cannot move, a copy of its rows (a
 * Citus table: truncate_citus.c); then the TRUNCATE runs as it would.
 * Restore puts the rows back.
 */
void
ag_quarantine_truncate(const AgStatement *statement, List *objects,
					   AgUtilityRunner run, void *run_arg)
{
	List	   *tables = NIL;
	AgOwnerSession ls;
	ListCell   *lc;
	int64		entry;
	XLogRecPtr	lsn;
	int			position = 0;
	Oid			first;
	char	   *original;
	bool		citus = false;

	foreach(lc, objects)
	{
		ObjectAddress *a = lfirst(lc);

		if (a->objectSubId == AG_CAPTURED_TRUNCATE && get_rel_relkind(a->objectId) != RELKIND_PARTITIONED_TABLE &&
			!isAnyTempNamespace(get_rel_namespace(a->objectId)))
			tables = list_append_unique_oid(tables, a->objectId);
	}
	if (unlikely(ag_citus_loaded))
		citus = ag_q_truncate_reaches_citus(objects);
	if (tables == NIL || !ag_q_open_or_warn(&ls, "TRUNCATE"))
	{
		run(run_arg);
		return;
	}
	entry = ag_q_new_entry_id();
	first = linitial_oid(tables);
	original = ag_q_relation_qualified(first);
	lsn = ag_q_record_entry(entry, "truncate", get_namespace_name(get_rel_namespace(first)), get_rel_name(first),
							ag_q_qualified(AG_QUARANTINE_SCHEMA, ag_q_quarantine_name(entry, 0, get_rel_name(first))),
							statement);
	foreach(lc, tables)
	{
		Oid			relid = lfirst_oid(lc);
		Moved		m = {0};
		char	   *kept = ag_q_quarantine_name(entry, position, get_rel_name(relid));
		Relation	rel = table_open(relid, AccessExclusiveLock);

		if (!(citus && ag_q_keep_citus_rows(relid, kept)) && !keep_storage(rel, kept))
			ag_q_run_sql(ag_q_sql_text("CREATE TABLE %s AS SELECT * FROM ONLY %s",
									   ag_q_qualified(AG_QUARANTINE_SCHEMA, kept), ag_q_relation_qualified(relid)));
		table_close(rel, NoLock);
		m.sql_kind = "ROWS";
		m.schema = get_namespace_name(get_rel_namespace(relid));
		m.name = get_rel_name(relid);
		m.args = "";
		ag_q_save_member(entry, position++, &m, true, kept);
	}
	ag_q_log_quarantine(statement, original, entry, NULL, list_length(tables), lsn);
	ag_owner_close(&ls);
	if (citus)
		ag_q_truncate_as_extension_owner(run, run_arg);
	else
		run(run_arg);
}

/* ---- restore ---- */

/* the rows a table holds now, committed ones included that began after us */
static uint64
rows_in(Relation rel)
{
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	TableScanDesc scan = table_beginscan(rel, snapshot, 0, NULL);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	uint64		rows = 0;

	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
		rows++;
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	UnregisterSnapshot(snapshot);
	return rows;
}

/*
 * Whether the table (locked by the caller) can take back the files its
 * kept rows are in: it holds no row, reads them as its twin does, its
 * indexes pair with the twin's one to one, and no publication would miss
 * the rows coming back (logical replication sends inserts, not files).
 * *rows_now: how many rows it holds.
 */
bool
ag_q_storage_can_return(Oid table, Oid kept, uint64 *rows_now)
{
	Relation	rel;
	Relation	twin;
	PublicationDesc published;
	bool		matched = false;
	bool		can;

	/* a Citus table's rows are in its shards, not in its files here */
	if (unlikely(ag_citus_loaded) && ag_citus_table(table))
	{
		*rows_now = ag_q_count_rows(psprintf("ONLY %s", ag_q_relation_qualified(table)));
		return false;
	}
	rel = table_open(table, AccessExclusiveLock);
	twin = table_open(kept, AccessExclusiveLock);
	*rows_now = rows_in(rel);
	RelationBuildPublicationDesc(rel, &published);
	can = *rows_now == 0 && !published.pubactions.pubinsert && storage_can_move(rel) &&
		twin->rd_rel->relkind == RELKIND_RELATION && !storage_is_new(twin) &&
		twin->rd_rel->relam == rel->rd_rel->relam &&
		twin->rd_rel->relowner == rel->rd_rel->relowner &&
		twin->rd_rel->relpersistence == rel->rd_rel->relpersistence &&
		twin->rd_rel->reltablespace == rel->rd_rel->reltablespace &&
		same_rows(rel, twin);
	if (can)
		(void) paired_indexes(rel, twin, &matched);
	table_close(twin, NoLock);
	table_close(rel, NoLock);
	return can && matched;
}

/*
 * The table takes its kept files back and the twin the table's empty
 * ones, which go when restore drops the twin.
 */
void
ag_q_return_storage(Oid table, Oid kept)
{
	Relation	rel = table_open(table, AccessExclusiveLock);
	Relation	twin = table_open(kept, AccessExclusiveLock);
	bool		matched;
	List	   *partners = paired_indexes(rel, twin, &matched);

	if (!matched)
		elog(ERROR, "agentguard: the indexes of %s no longer pair with those of its kept rows",
			 ag_q_relation_qualified(table));
	swap_storage(rel, twin, partners);
	table_close(twin, NoLock);
	table_close(rel, NoLock);
}
