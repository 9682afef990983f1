/*
 * quarantine/rows_restore.c
 *		agentguard.restore of a rows entry: the rows a DELETE, UPDATE or
 *		MERGE deleted go back into their tables, and the rows it updated get
 *		their old values back.
 *
 * Each table's rows go back as its owner, with its triggers and rules not
 * firing (entry.c's ag_q_fill_as_owner), tables that others refer to first.
 * A deleted row goes back unless a row with its key is there again; an
 * updated row gets its old values only where its key still finds the very
 * version the statement left (same xmin and cmin): a row changed again since
 * is left as it is (a table without a key: the same place, xmin and cmin,
 * while its storage was not rewritten).  The answer counts both.  Everything is checked first
 * (ag_q_check_changed_rows), so that a refusal changes nothing; restore.c
 * then checks the restored rows' foreign keys and drops the kept copies.
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
#include "utils/varlena.h"

#include "names.h"
#include "quarantine/internal.h"

/* what restore writes into a table, and how it finds its rows */
typedef struct RowsPlan
{
	StringInfoData inserted;	/* the columns a deleted row goes back with */
	StringInfoData updated;		/* "c = k.c" for each column an update sets back */
	StringInfoData old_key;		/* a row with a deleted row's key is there */
	StringInfoData new_key;		/* the row an update made is there */
	Bitmapset  *computed;		/* columns added since: their defaults */
} RowsPlan;

/* "t.column = k.kept_column", with the type's own equality */
static void
append_match(StringInfo match, const char *column, const char *kept_column, Oid type)
{
	if (match->len > 0)
		appendStringInfoString(match, " AND ");
	generate_operator_clause(match, psprintf("t.%s", column), type,
							 lookup_type_cache(type, TYPECACHE_EQ_OPR)->eq_opr,
							 psprintf("k.%s", kept_column), type);
}

/*
 * The columns the kept rows go back with: those the table has now, of the
 * type they were kept with; refuses, naming the column, where a type
 * changed.  The key must be there as it was.
 */
static void
plan_rows(int64 entry, const Member *m, RowsPlan *plan)
{
	char	   *kept = ag_q_qualified(AG_QUARANTINE_SCHEMA, m->quarantined_name);
	Relation	rel = relation_open(m->table, ShareRowExclusiveLock);
	TupleDesc	desc = RelationGetDescr(rel);
	List	   *keys = NIL;
	ListCell   *lc;

	initStringInfo(&plan->inserted);
	initStringInfo(&plan->updated);
	initStringInfo(&plan->old_key);
	initStringInfo(&plan->new_key);
	plan->computed = NULL;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		const char *name = quote_identifier(NameStr(att->attname));
		AttrNumber	kept_column;

		if (att->attisdropped || att->attgenerated != '\0')
			continue;
		kept_column = get_attnum(m->kept, NameStr(att->attname));
		if (kept_column == InvalidAttrNumber)
		{
			plan->computed = bms_add_member(plan->computed, att->attnum);
			continue;
		}
		if (get_atttype(m->kept, kept_column) != att->atttypid)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("agentguard: cannot restore quarantine entry " INT64_FORMAT ": column %s of %s is of type %s now, and its kept values are of type %s",
							entry, name, ag_q_relation_qualified(m->table), format_type_be(att->atttypid),
							format_type_be(get_atttype(m->kept, kept_column))),
					 errhint("Read the kept rows in %s and put them back yourself.", kept)));
		appendStringInfo(&plan->inserted, "%s%s", plan->inserted.len > 0 ? ", " : "", name);
		/* an UPDATE cannot set an identity GENERATED ALWAYS */
		if (att->attidentity != ATTRIBUTE_IDENTITY_ALWAYS)
			appendStringInfo(&plan->updated, "%s%s = k.%s", plan->updated.len > 0 ? ", " : "", name, name);
	}
	relation_close(rel, NoLock);

	if (!SplitIdentifierString(pstrdup(m->args), ',', &keys))
		elog(ERROR, "agentguard: the key of quarantine entry " INT64_FORMAT " is damaged", entry);
	foreach(lc, keys)
	{
		const char *column = lfirst(lc);
		AttrNumber	now = get_attnum(m->table, column);
		char	   *kept_key = psprintf("agentguard_key_%d", foreach_current_index(lc) + 1);
		Oid			type = get_atttype(m->kept, get_attnum(m->kept, kept_key));

		if (now == InvalidAttrNumber || get_atttype(m->table, now) != type)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("agentguard: cannot restore quarantine entry " INT64_FORMAT ": column %s of %s, which finds the kept rows' rows, is gone or of another type",
							entry, quote_identifier(column), ag_q_relation_qualified(m->table)),
					 errhint("Read the kept rows in %s and put them back yourself.", kept)));
		append_match(&plan->old_key, quote_identifier(column), quote_identifier(column), type);
		append_match(&plan->new_key, quote_identifier(column), kept_key, type);
	}
}

/*
 * Refuses, with nothing changed, rows that cannot go back: their table is
 * gone, a column's type changed, or putting them back would run code an
 * agent could have planted.
 */
void
ag_q_check_changed_rows(int64 entry, Member *m, const char *new_name)
{
	Oid			namespace = get_namespace_oid(m->original_schema, true);
	RowsPlan	plan;

	if (new_name != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("agentguard: the rows of a DELETE, UPDATE or MERGE go back into their own tables"),
				 errhint("Restore without a new name.")));
	m->table = OidIsValid(namespace) ? get_relname_relid(m->original_name, namespace) : InvalidOid;
	m->kept = get_relname_relid(m->quarantined_name, get_namespace_oid(AG_QUARANTINE_SCHEMA, false));
	if (!OidIsValid(m->table))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("agentguard: cannot restore quarantine entry " INT64_FORMAT ": table \"%s.%s\" is gone",
						entry, m->original_schema, m->original_name),
				 errhint("Its kept rows are in %s.", ag_q_qualified(AG_QUARANTINE_SCHEMA, m->quarantined_name))));
	plan_rows(entry, m, &plan);
	ag_q_check_rows(entry, m->table, ag_q_rows_inserter(m->table), plan.computed,
					ag_q_qualified(AG_QUARANTINE_SCHEMA, m->quarantined_name));
}

/* the kept rows of one table go back; returns how many did */
static uint64
restore_table(int64 entry, const Member *m, uint64 *kept_rows)
{
	char	   *kept = ag_q_qualified(AG_QUARANTINE_SCHEMA, m->quarantined_name);
	char	   *table = ag_q_qualified(m->original_schema, m->original_name);
	RowsPlan	plan;
	uint64		back;

	plan_rows(entry, m, &plan);
	back = ag_q_fill_as_owner(m->table, kept,
							  ag_q_sql_text("INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s AS k "
											"WHERE k.agentguard_change IS NULL%s%s%s%s",
											table, plan.inserted.data, plan.inserted.data, kept,
											plan.old_key.len > 0 ? " AND NOT EXISTS (SELECT FROM ONLY " : "",
											plan.old_key.len > 0 ? table : "",
											plan.old_key.len > 0 ? " AS t WHERE " : "",
											plan.old_key.len > 0 ? psprintf("%s)", plan.old_key.data) : ""));
	/* without a key, the place the update left the row in, on the same storage */
	if (plan.new_key.len == 0)
		appendStringInfo(&plan.new_key, "t.ctid OPERATOR(pg_catalog.=) k.agentguard_ctid "
						 "AND k.agentguard_filenode OPERATOR(pg_catalog.=) '%u'::pg_catalog.oid",
						 ag_q_syscache_oid(RELOID, m->table, Anum_pg_class_relfilenode));
	if (plan.updated.len > 0)
		back += ag_q_fill_as_owner(m->table, kept,
								   ag_q_sql_text("UPDATE ONLY %s AS t SET %s FROM %s AS k "
												 "WHERE k.agentguard_change OPERATOR(pg_catalog.=) 'u'::pg_catalog.\"char\" AND %s "
												 "AND t.xmin OPERATOR(pg_catalog.=) k.agentguard_xmin "
												 "AND t.cmin OPERATOR(pg_catalog.=) k.agentguard_cmin",
												 table, plan.updated.data, kept, plan.new_key.data));
	*kept_rows = ag_q_count_rows(kept);
	return back;
}

/*
 * Every table's rows back, parents first (the order the members were kept
 * in); returns what restore's answer says of them.
 */
char *
ag_q_restore_changed_rows(const Entry *e)
{
	uint64		back = 0;
	uint64		kept = 0;
	ListCell   *lc;

	foreach(lc, e->members)
	{
		uint64		kept_here;

		back += restore_table(e->id, lfirst(lc), &kept_here);
		kept += kept_here;
	}
	if (kept > back)
		return psprintf(" (" UINT64_FORMAT " rows went back; " UINT64_FORMAT " rows changed since were left as they are)",
						back, kept - back);
	return psprintf(" (" UINT64_FORMAT " rows went back)", back);
}
