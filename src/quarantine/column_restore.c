/*
 * quarantine/column_restore.c
 *		agentguard.restore of a column entry: the column goes back into its
 *		table (added at the end, or given its old type), its values go back
 *		into their rows by key, and restore.c then runs the steps that give
 *		it its default, constraints and the rest.
 *
 * Everything is checked first (ag_q_check_column), so that a refusal
 * changes nothing.  Rows added since get the column's default; kept values
 * whose rows are gone since are not put anywhere; the answer counts both,
 * and nothing is guessed.
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "quarantine/internal.h"

/* kept values matched by each row's other columns, not by a key */
static bool
whole_row(TupleDesc kept)
{
	return strcmp(NameStr(TupleDescAttr(kept, 0)->attname), AG_KEPT_WHOLE_ROW) == 0;
}

static bool
is_kind(const Member *m, const char *kind)
{
	return strcmp(m->sql_kind, kind) == 0;
}

/*
 * Refuses, with nothing changed, a column that cannot come back: its table
 * is gone, its name is taken (or, retyped, it is gone), its key columns
 * changed, or filling it would run code an agent could have planted.
 */
void
ag_q_check_column(int64 entry, Member *m, const char *new_name)
{
	Oid			namespace = get_namespace_oid(m->original_schema, true);
	Oid			quarantine = get_namespace_oid(AG_QUARANTINE_SCHEMA, false);
	bool		retyped = is_kind(m, COLUMN_RETYPED) || is_kind(m, COLUMN_INHERITED_RETYPED);
	char	   *kept = ag_q_qualified(AG_QUARANTINE_SCHEMA, m->quarantined_name);
	Relation	rel;
	TupleDesc	desc;
	int			keys;

	m->table = OidIsValid(namespace) ? get_relname_relid(m->original_name, namespace) : InvalidOid;
	m->kept = get_relname_relid(m->quarantined_name, quarantine);
	if (!OidIsValid(m->table))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("agentguard: cannot restore quarantine entry " INT64_FORMAT ": table \"%s.%s\" is gone",
						entry, m->original_schema, m->original_name),
				 errhint("The values of column \"%s\" are kept in %s.", ag_q_column_name(m), kept)));
	if (retyped && new_name != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("agentguard: a column whose type changed comes back under its own name"),
				 errhint("Restore without a new name.")));
	if (retyped != (get_attnum(m->table, ag_q_column_name(m)) != InvalidAttrNumber) &&
		!is_kind(m, COLUMN_INHERITED))
		ereport(ERROR,
				(errcode(retyped ? ERRCODE_UNDEFINED_COLUMN : ERRCODE_DUPLICATE_COLUMN),
				 errmsg("agentguard: cannot restore quarantine entry " INT64_FORMAT ": column \"%s\" of %s %s",
						entry, ag_q_column_name(m), ag_q_relation_qualified(m->table),
						retyped ? "is gone" : "already exists"),
				 errhint(retyped ? "Its old values are kept in %s." :
						 "Rename the column that took the name, then restore (and rename them as you like after).",
						 kept)));
	if (new_name != NULL && get_attnum(m->table, new_name) != InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_COLUMN),
				 errmsg("agentguard: cannot restore quarantine entry " INT64_FORMAT ": column \"%s\" of %s already exists",
						entry, new_name, ag_q_relation_qualified(m->table))));

	/* the key (or the whole row): every kept column but the last, as it was */
	rel = relation_open(m->kept, AccessShareLock);
	desc = RelationGetDescr(rel);
	keys = desc->natts - 1;
	for (int i = whole_row(desc) ? 1 : 0; i < keys; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		AttrNumber	now = get_attnum(m->table, NameStr(att->attname));

		if (now == InvalidAttrNumber || get_atttype(m->table, now) != att->atttypid)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("agentguard: cannot restore quarantine entry " INT64_FORMAT ": column %s of %s, which finds the rows of the kept values, is gone or of another type",
							entry, quote_identifier(NameStr(att->attname)), ag_q_relation_qualified(m->table)),
					 errhint("The values are kept in %s beside what found their rows.", kept)));
	}
	ag_q_check_column_type(entry, TupleDescAttr(desc, keys)->atttypid, kept);
	relation_close(rel, AccessShareLock);
	ag_q_check_rows(entry, m->table, ag_q_relation_owner(m->table), NULL, kept);
}

/* the column back where it was: added, or given its old type */
static void
put_back_column(const Member *m)
{
	Relation	kept = relation_open(m->kept, AccessShareLock);
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(kept), RelationGetDescr(kept)->natts - 1);
	char	   *table = ag_q_relation_qualified(m->table);
	const char *column = quote_identifier(ag_q_column_name(m));
	Oid			owner = ag_q_relation_owner(m->table);

	if (is_kind(m, COLUMN_ADDED))
		ag_q_run_sql_as(owner, ag_q_sql_text("ALTER TABLE %s ADD COLUMN %s %s", table, column,
											 ag_q_column_type_sql(att)), false);
	else if (is_kind(m, COLUMN_RETYPED))
	{
		AttrNumber	attnum = get_attnum(m->table, ag_q_column_name(m));
		HeapTuple	tuple = SearchSysCacheAttNum(m->table, attnum);
		bool		not_null = ((Form_pg_attribute) GETSTRUCT(tuple))->attnotnull;

		ReleaseSysCache(tuple);
		/* its default and NOT NULL come back as they were with the steps */
		ag_q_run_sql_as(owner, ag_q_sql_text("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT%s, ALTER COLUMN %s TYPE %s USING NULL",
											 table, column,
											 not_null ? psprintf(", ALTER COLUMN %s DROP NOT NULL", column) : "",
											 column, ag_q_column_type_sql(att)), false);
	}
	relation_close(kept, AccessShareLock);
}

/*
 * The UPDATE that finds each kept value's row by the row's other columns,
 * compared as text (so that any type compares, and NULL with NULL): rows
 * alike in all of them are numbered, here and in the kept copy, and paired
 * by number, since which of them gets which value makes no difference.
 */
static char *
whole_row_fill(TupleDesc desc, const char *table, const char *column, const char *kept)
{
	StringInfoData row;
	StringInfoData kept_row;
	StringInfoData match;

	initStringInfo(&row);
	initStringInfo(&kept_row);
	initStringInfo(&match);
	for (int i = 1; i < desc->natts - 1; i++)
	{
		const char *name = quote_identifier(NameStr(TupleDescAttr(desc, i)->attname));

		appendStringInfo(&row, "%s%s::pg_catalog.text COLLATE pg_catalog.\"C\"", i > 1 ? ", " : "", name);
		appendStringInfo(&kept_row, "%sk.%s", i > 1 ? ", " : "", name);
		appendStringInfo(&match, " AND t.%s::pg_catalog.text IS NOT DISTINCT FROM k.%s::pg_catalog.text",
						 name, name);
	}
	return ag_q_sql_text("UPDATE ONLY %s AS t SET %s = k.%s "
						 "FROM (SELECT ctid AS agentguard_row, pg_catalog.row_number() OVER (PARTITION BY %s) AS agentguard_n FROM ONLY %s) AS r, "
						 "(SELECT %s, k.%s, pg_catalog.row_number() OVER (PARTITION BY %s) AS agentguard_n FROM %s AS k) AS k "
						 "WHERE t.ctid OPERATOR(pg_catalog.=) r.agentguard_row AND r.agentguard_n OPERATOR(pg_catalog.=) k.agentguard_n%s",
						 table, column, column, row.data, table, kept_row.data, column, row.data, kept, match.data);
}

/*
 * The kept values go back into their rows, found by the key, as the
 * table's owner; returns how many rows got their value.
 */
static uint64
fill_column(const Member *m, uint64 *kept_count)
{
	char	   *kept = ag_q_qualified(AG_QUARANTINE_SCHEMA, m->quarantined_name);
	Relation	rel = relation_open(m->kept, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	const char *column = quote_identifier(ag_q_column_name(m));
	StringInfoData match;

	bool		by_row = whole_row(desc);
	char	   *table = ag_q_relation_qualified(m->table);
	char	   *sql;

	initStringInfo(&match);
	if (by_row)
		sql = whole_row_fill(desc, table, column, kept);
	else
	{
		for (int i = 0; i < desc->natts - 1; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);
			const char *name = quote_identifier(NameStr(att->attname));

			if (i > 0)
				appendStringInfoString(&match, " AND ");
			generate_operator_clause(&match, psprintf("t.%s", name), att->atttypid,
									 lookup_type_cache(att->atttypid, TYPECACHE_EQ_OPR)->eq_opr,
									 psprintf("k.%s", name), att->atttypid);
		}
		sql = ag_q_sql_text("UPDATE ONLY %s AS t SET %s = k.%s FROM %s AS k WHERE %s",
							table, column, column, kept, match.data);
	}
	relation_close(rel, AccessShareLock);
	*kept_count = ag_q_count_rows(kept);
	if (desc->natts == 1)
		return 0;
	return ag_q_fill_as_owner(m->table, kept, sql);
}

/*
 * Every column of the entry back in its table and filled, before the steps
 * that give it its default, constraints and the rest run; returns what
 * restore's answer says of the rows.
 */
char *
ag_q_restore_columns(const Entry *e)
{
	StringInfoData report;
	uint64		filled = 0;
	uint64		kept = 0;
	uint64		rows = 0;
	ListCell   *lc;

	initStringInfo(&report);
	foreach(lc, e->members)
		if (ag_q_is_column(lfirst(lc)))
			put_back_column(lfirst(lc));
	foreach(lc, e->members)
	{
		Member	   *m = lfirst(lc);
		uint64		kept_here;

		if (!ag_q_is_column(m) || is_kind(m, COLUMN_GENERATED) ||
			!RELKIND_HAS_STORAGE(get_rel_relkind(m->table)))
			continue;
		filled += fill_column(m, &kept_here);
		kept += kept_here;
		rows += ag_q_count_rows(psprintf("ONLY %s", ag_q_relation_qualified(m->table)));
	}
	appendStringInfo(&report, " (" UINT64_FORMAT " values went back into their rows", filled);
	if (rows > filled)
		appendStringInfo(&report, "; " UINT64_FORMAT " rows added since have no kept value", rows - filled);
	if (kept > filled)
		appendStringInfo(&report, "; " UINT64_FORMAT " kept values belong to rows deleted since and were not restored",
						 kept - filled);
	appendStringInfoChar(&report, ')');
	return report.data;
}

/* after the steps: the new name, and the kept values go */
void
ag_q_columns_done(const Entry *e, const Member *main, const char *new_name)
{
	ListCell   *lc;

	if (new_name != NULL && ag_q_is_column(main))
		ag_q_run_sql_as(ag_q_relation_owner(main->table),
						ag_q_sql_text("ALTER TABLE %s RENAME COLUMN %s TO %s",
									  ag_q_relation_qualified(main->table), quote_identifier(ag_q_column_name(main)),
									  quote_identifier(new_name)), true);
	foreach(lc, e->members)
	{
		Member	   *m = lfirst(lc);

		if (ag_q_is_column(m))
			ag_q_run_sql(ag_q_sql_text("DROP TABLE %s", ag_q_qualified(AG_QUARANTINE_SCHEMA, m->quarantined_name)));
	}
}
