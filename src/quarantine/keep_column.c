/*
 * quarantine/keep_column.c
 *		How one column is kept: its values beside the key that finds their
 *		rows again (or beside each row's other columns), and what it had
 *		besides (type, default, NOT NULL, identity, generation, comment,
 *		grants) as restore steps.  An ALTER TABLE's columns (column.c) and
 *		the columns a DROP takes from tables that stay (cascade.c) are kept
 *		the same way.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/comment.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "compat.h"
#include "quarantine/internal.h"
#include "scratch.h"

/* a column the statement destroys */
bool
ag_q_is_column(const Member *m)
{
	return strstr(m->sql_kind, "COLUMN") != NULL;
}

/* a kept column's name: its member's args are ".name" */
const char *
ag_q_column_name(const Member *m)
{
	return m->args + 1;
}

bool
ag_q_doomed_column(List *doomed, Oid relid, AttrNumber attnum)
{
	ListCell   *lc;

	foreach(lc, doomed)
	{
		DoomedColumn *d = lfirst(lc);

		if (d->relid == relid && d->attnum == attnum)
			return true;
	}
	return false;
}


/*
 * The index whose columns find a row again after the statement: the primary
 * key, else the replica identity, else a unique index over NOT NULL columns;
 * never one over a column the statement destroys, an expression or a
 * predicate, nor one whose types cannot be compared for equality.
 */
static Oid
row_key(Relation rel, List *doomed)
{
	List	   *indexes = RelationGetIndexList(rel);
	Oid			chosen = InvalidOid;
	int			chosen_rank = 0;
	ListCell   *lc;

	foreach(lc, indexes)
	{
		HeapTuple	tuple = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(lfirst_oid(lc)));
		Form_pg_index index = (Form_pg_index) GETSTRUCT(tuple);
		bool		usable = index->indisunique && index->indimmediate && index->indisvalid &&
			heap_attisnull(tuple, Anum_pg_index_indexprs, NULL) &&
			heap_attisnull(tuple, Anum_pg_index_indpred, NULL);
		int			rank = index->indisprimary ? 3 : index->indisreplident ? 2 : 1;

		for (int i = 0; usable && i < index->indnkeyatts; i++)
		{
			AttrNumber	attnum = index->indkey.values[i];
			Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);

			usable = attnum > 0 && !ag_q_doomed_column(doomed, RelationGetRelid(rel), attnum) &&
				(att->attnotnull || index->indisprimary) &&
				OidIsValid(lookup_type_cache(att->atttypid, TYPECACHE_EQ_OPR)->eq_opr);
		}
		if (usable && rank > chosen_rank)
		{
			chosen = index->indexrelid;
			chosen_rank = rank;
		}
		ReleaseSysCache(tuple);
	}
	return chosen;
}

/* the key's columns as a select list, quoted */
static char *
key_columns(Oid index, Relation rel)
{
	HeapTuple	tuple = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(index));
	Form_pg_index form = (Form_pg_index) GETSTRUCT(tuple);
	StringInfoData list;

	initStringInfo(&list);
	for (int i = 0; i < form->indnkeyatts; i++)
		appendStringInfo(&list, "%s, ", quote_identifier(NameStr(TupleDescAttr(RelationGetDescr(rel),
																			   form->indkey.values[i] - 1)->attname)));
	ReleaseSysCache(tuple);
	return list.data;
}

/*
 * Without a key, a row is known by its other columns, as a replica identity
 * FULL knows it: the kept copy holds them, after a first column named
 * AG_KEPT_WHOLE_ROW that says so; "" when there is none to hold.
 */
static char *
whole_row(Relation rel, List *doomed)
{
	TupleDesc	desc = RelationGetDescr(rel);
	StringInfoData list;

	initStringInfo(&list);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || att->attgenerated != '\0' ||
			ag_q_doomed_column(doomed, RelationGetRelid(rel), att->attnum))
			continue;
		appendStringInfo(&list, "%s, ", quote_identifier(NameStr(att->attname)));
	}
	if (list.len == 0)
		return "";
	return psprintf("true AS %s, %s", AG_KEPT_WHOLE_ROW, list.data);
}

/* the column's type as SQL, with its typmod and any collation of its own */
char *
ag_q_column_type_sql(Form_pg_attribute att)
{
	char	   *type = format_type_extended(att->atttypid, att->atttypmod,
											FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY);

	if (OidIsValid(att->attcollation) && att->attcollation != get_typcollation(att->atttypid))
	{
		HeapTuple	tuple = SearchSysCache1(COLLOID, ObjectIdGetDatum(att->attcollation));
		Form_pg_collation collation = (Form_pg_collation) GETSTRUCT(tuple);

		type = psprintf("%s COLLATE %s", type,
						ag_q_qualified(get_namespace_name(collation->collnamespace),
									   NameStr(collation->collname)));
		ReleaseSysCache(tuple);
	}
	return type;
}

/* the column's default or generation expression, as SQL, or NULL */
static char *
column_expression(Relation rel, AttrNumber attnum)
{
	TupleConstr *constr = RelationGetDescr(rel)->constr;

	for (int i = 0; constr != NULL && i < constr->num_defval; i++)
		if (constr->defval[i].adnum == attnum)
			return TextDatumGetCString(DirectFunctionCall2(pg_get_expr,
														   CStringGetTextDatum(constr->defval[i].adbin),
														   ObjectIdGetDatum(RelationGetRelid(rel))));
	return NULL;
}

/*
 * The privileges of one ACL item as GRANT names them, each followed by
 * columns ("(c)") for a column's, or by nothing for a relation's.
 */
static char *
privilege_words(AclMode privileges, const char *columns)
{
	static const struct
	{
		AclMode		mode;
		const char *word;
	}			words[] = {
		{ACL_SELECT, "SELECT"}, {ACL_INSERT, "INSERT"}, {ACL_UPDATE, "UPDATE"},
		{ACL_DELETE, "DELETE"}, {ACL_TRUNCATE, "TRUNCATE"}, {ACL_REFERENCES, "REFERENCES"},
		{ACL_TRIGGER, "TRIGGER"}
	};
	StringInfoData list;

	initStringInfo(&list);
	for (int i = 0; i < (int) lengthof(words); i++)
		if (privileges & words[i].mode)
			appendStringInfo(&list, "%s%s%s", list.len > 0 ? ", " : "", words[i].word, columns);
	return list.data;
}

/*
 * The grants of an ACL on relid as restore steps: columns is "(c)" for a
 * column's grants, "" for the relation's; the owner's own privileges come
 * with the object.
 */
void
ag_q_save_grants(int64 entry, int *step, Acl *acl, Oid owner, const char *columns, Oid relid)
{
	char	   *on_what = ag_q_relation_qualified(relid);

	for (int i = 0; acl != NULL && i < ACL_NUM(acl); i++)
	{
		AclItem    *item = &ACL_DAT(acl)[i];
		AclMode		plain = ACLITEM_GET_PRIVS(*item) & ~ACLITEM_GET_GOPTIONS(*item);
		AclMode		with_option = ACLITEM_GET_GOPTIONS(*item);
		const char *grantee;

		if (item->ai_grantee == owner)
			continue;
		grantee = item->ai_grantee == ACL_ID_PUBLIC ? "PUBLIC" :
			quote_identifier(GetUserNameFromId(item->ai_grantee, false));
		if (plain)
			ag_q_save_restore_step(entry, step, "grant",
								   ag_q_sql_text("GRANT %s ON %s TO %s", privilege_words(plain, columns), on_what, grantee),
								   relid);
		if (with_option)
			ag_q_save_restore_step(entry, step, "grant",
								   ag_q_sql_text("GRANT %s ON %s TO %s WITH GRANT OPTION",
												 privilege_words(with_option, columns), on_what, grantee),
								   relid);
	}
}

/* a comment, as a restore step */
void
ag_q_save_comment(int64 entry, int *step, Oid classId, Oid objectId, int32 subId,
			 const char *on_what, Oid relid)
{
	char	   *comment = GetComment(objectId, classId, subId);

	if (comment != NULL)
		ag_q_save_restore_step(entry, step, "comment",
							   ag_q_sql_text("COMMENT ON %s IS %s", on_what, quote_literal_cstr(comment)),
							   relid);
}

/* the value of an identity sequence, as restore sets it again */
static char *
identity_position(Relation rel, AttrNumber attnum, const char *table, const char *column)
{
	Oid			sequence = ag_identity_sequence(rel, attnum);

	if (SPI_execute(ag_q_sql_text("SELECT last_value, is_called FROM %s", ag_q_relation_qualified(sequence)),
					true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "agentguard: could not read identity sequence %u", sequence);
	return ag_q_sql_text("SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence(%s, %s), %s, %s::pg_catalog.bool)",
						 quote_literal_cstr(table), quote_literal_cstr(column),
						 SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1),
						 quote_literal_cstr(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2)));
}

/*
 * A column's settings of its own, as restore steps for this table alone:
 * statistics target, storage, compression and options (n_distinct, ...).
 */
static void
save_column_settings(int64 entry, int *step, Oid relid, Form_pg_attribute att, HeapTuple tuple)
{
	char	   *alter = psprintf("ALTER TABLE ONLY %s ALTER COLUMN %s", ag_q_relation_qualified(relid),
								 quote_identifier(NameStr(att->attname)));
	bool		isnull;
	Datum		value = SysCacheGetAttr(ATTNUM, tuple, Anum_pg_attribute_attstattarget, &isnull);
	int			target = ag_attstattarget(value, isnull);

	if (target >= 0)
		ag_q_save_restore_step(entry, step, "statistics target",
							   ag_q_sql_text("%s SET STATISTICS %d", alter, target), relid);
	if (att->attstorage != get_typstorage(att->atttypid))
		ag_q_save_restore_step(entry, step, "storage",
							   ag_q_sql_text("%s SET STORAGE %s", alter,
											 att->attstorage == TYPSTORAGE_PLAIN ? "PLAIN" :
											 att->attstorage == TYPSTORAGE_EXTERNAL ? "EXTERNAL" :
											 att->attstorage == TYPSTORAGE_MAIN ? "MAIN" : "EXTENDED"), relid);
	if (att->attcompression == 'p' || att->attcompression == 'l')
		ag_q_save_restore_step(entry, step, "compression",
							   ag_q_sql_text("%s SET COMPRESSION %s", alter,
											 att->attcompression == 'p' ? "pglz" : "lz4"), relid);
	value = SysCacheGetAttr(ATTNUM, tuple, Anum_pg_attribute_attoptions, &isnull);
	if (!isnull)
	{
		Datum	   *items;
		int			count;
		StringInfoData options;

		deconstruct_array(DatumGetArrayTypeP(value), TEXTOID, -1, false, TYPALIGN_INT,
						  &items, NULL, &count);
		initStringInfo(&options);
		for (int i = 0; i < count; i++)
		{
			char	   *option = TextDatumGetCString(items[i]);
			char	   *equals = strchr(option, '=');

			/* the server's own (some builds keep a pg_attver there), not a user's */
			if (equals == NULL || strncmp(option, "pg_", 3) == 0)
				continue;
			*equals = '\0';
			appendStringInfo(&options, "%s%s = %s", options.len > 0 ? ", " : "", quote_identifier(option),
							 quote_literal_cstr(equals + 1));
		}
		if (options.len > 0)
			ag_q_save_restore_step(entry, step, "options",
								   ag_q_sql_text("%s SET (%s)", alter, options.data), relid);
	}
}

/*
 * What a dropped column had besides its values, as restore steps: how it
 * is computed, its default, identity and NOT NULL (set where it was made,
 * so they reach its children), then its comment and grants.
 */
static void
save_column_steps(int64 entry, int *step, Relation rel, Form_pg_attribute att, bool root,
				  bool retyped)
{
	Oid			relid = RelationGetRelid(rel);
	char	   *table = ag_q_relation_qualified(relid);
	const char *column = quote_identifier(NameStr(att->attname));
	char	   *expression = att->atthasdef ? column_expression(rel, att->attnum) : NULL;
	bool		isnull;
	Datum		acl;
	HeapTuple	tuple;

	if (root)
	{
		if (att->attgenerated != '\0' && !retyped)
			ag_q_save_restore_step(entry, step, "generated column",
								   ag_q_sql_text("ALTER TABLE %s ADD COLUMN %s %s GENERATED ALWAYS AS (%s) STORED",
												 table, column, ag_q_column_type_sql(att), expression), relid);
		else if (expression != NULL)
			ag_q_save_restore_step(entry, step, "default",
								   ag_q_sql_text("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s",
												 table, column, expression), relid);
		if (att->attnotnull)
			ag_q_save_restore_step(entry, step, "NOT NULL",
								   ag_q_sql_text("ALTER TABLE %s ALTER COLUMN %s SET NOT NULL", table, column),
								   relid);
		if (att->attidentity != '\0' && !retyped)
		{
			ag_q_save_restore_step(entry, step, "identity",
								   ag_q_sql_text("ALTER TABLE %s ALTER COLUMN %s ADD GENERATED %s AS IDENTITY",
												 table, column,
												 att->attidentity == ATTRIBUTE_IDENTITY_ALWAYS ? "ALWAYS" : "BY DEFAULT"),
								   relid);
			ag_q_save_restore_step(entry, step, "identity position",
								   identity_position(rel, att->attnum, table, NameStr(att->attname)), relid);
		}
	}
	tuple = SearchSysCacheAttNum(relid, att->attnum);
	save_column_settings(entry, step, relid, att, tuple);
	if (retyped)
	{
		ReleaseSysCache(tuple);
		return;
	}
	ag_q_save_comment(entry, step, RelationRelationId, relid, att->attnum,
				 psprintf("COLUMN %s.%s", table, column), relid);
	acl = SysCacheGetAttr(ATTNUM, tuple, Anum_pg_attribute_attacl, &isnull);
	if (!isnull)
		ag_q_save_grants(entry, step, DatumGetAclPCopy(acl), rel->rd_rel->relowner,
					psprintf(" (%s)", column), relid);
	ReleaseSysCache(tuple);
}

/*
 * Keep one column: its values beside their rows' key in the quarantine
 * schema's table named kept, and what it had besides, as restore steps.
 * Returns its member, for the caller to record.
 */
Moved *
ag_q_keep_column(int64 entry, int *step, const DoomedColumn *d, List *doomed, const char *kept)
{
	Relation	rel = relation_open(d->relid, AccessExclusiveLock);
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), d->attnum - 1);
	char	   *column = pstrdup(NameStr(att->attname));
	bool		root = att->attinhcount == 0;
	bool		stored = RELKIND_HAS_STORAGE(rel->rd_rel->relkind);
	Oid			key = row_key(rel, doomed);
	char	   *match = OidIsValid(key) ? key_columns(key, rel) : whole_row(rel, doomed);
	Moved	   *m = palloc0(sizeof(Moved));

	if (stored && match[0] == '\0' && !ag_table_holds_no_rows(d->relid))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("agentguard: cannot keep column %s of %s: the table has nothing else to match its rows by",
						quote_identifier(column), ag_q_relation_qualified(d->relid)),
				 errdetail("agentguard keeps a column's values beside what finds their rows again: a key, or else the row's other columns. This table has neither, so the values could not be put back where they were, and nothing ran."),
				 errhint("Add a primary key, then run the statement again; or set agentguard.quarantine_drops = 'off' for a change that destroys.")));
	ag_q_run_sql(ag_q_sql_text("CREATE TABLE %s AS SELECT %s%s FROM ONLY %s",
							   ag_q_qualified(AG_QUARANTINE_SCHEMA, kept), match,
							   quote_identifier(column), ag_q_relation_qualified(d->relid)));
	m->sql_kind = att->attgenerated != '\0' && !d->retyped ? COLUMN_GENERATED :
		d->retyped ? (root ? COLUMN_RETYPED : COLUMN_INHERITED_RETYPED) :
		(root ? COLUMN_ADDED : COLUMN_INHERITED);
	m->schema = get_namespace_name(RelationGetNamespace(rel));
	m->name = pstrdup(RelationGetRelationName(rel));
	/* quarantine_objects shows original_name || args: "table.column" */
	m->args = psprintf(".%s", column);
	save_column_steps(entry, step, rel, att, root, d->retyped);
	relation_close(rel, NoLock);
	return m;
}
