/*
 * quarantine/restore.c
 *		agentguard.restore(id, new_name): what a quarantine entry keeps goes
 *		back where it was, under its own name or, for the object the
 *		statement named, a new one.
 *
 * Everything is checked before anything moves, so that a refusal changes
 * nothing: who may restore, that the names are free and the schemas there,
 * and that putting rows back runs no code an agent could have planted
 * (code.c).  Then the objects move back and take their names again, the
 * rows of a TRUNCATE go back into their tables, and the saved steps
 * recreate what lived on tables that stayed, each as the owner of the table
 * it alters.  A database (an entry with a negative id) is database.c's.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_database.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "parser/parser.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "citus_keep.h"
#include "compat.h"
#include "ledger.h"
#include "owner.h"
#include "quarantine/internal.h"
#include "session.h"

PG_FUNCTION_INFO_V1(agentguard_restore);

/*
 * Where the rows of a TRUNCATE go, and what putting them there would run.
 * An empty table that reads them as they are kept takes back the files
 * they are in (truncate.c); otherwise they are copied in, into every
 * column the table still has with the type the rows have, and columns
 * added since get their defaults.  Refuses, with nothing changed, when the
 * table is gone, a column's type changed, or code would run.
 */
static void
plan_rows(int64 entry, Member *m)
{
	Oid			namespace = get_namespace_oid(m->original_schema, true);
	char	   *kept = ag_q_qualified(AG_QUARANTINE_SCHEMA, m->quarantined_name);
	Relation	rel;
	TupleDesc	desc;
	Bitmapset  *computed = NULL;
	StringInfoData columns;

	m->table = OidIsValid(namespace) ? get_relname_relid(m->original_name, namespace) : InvalidOid;
	m->kept = get_relname_relid(m->quarantined_name, get_namespace_oid(AG_QUARANTINE_SCHEMA, false));
	if (!OidIsValid(m->table))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("agentguard: table \"%s.%s\" is gone; its rows cannot go back",
						m->original_schema, m->original_name)));
	if (!OidIsValid(m->kept))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("agentguard: the kept rows of quarantine entry " INT64_FORMAT " are gone (%s)",
						entry, kept),
				 errhint("Purge the entry.")));
	initStringInfo(&columns);
	rel = relation_open(m->table, AccessExclusiveLock);
	m->swap = ag_q_storage_can_return(m->table, m->kept, &m->rows_now);
	if (m->swap)
	{
		relation_close(rel, NoLock);
		ag_q_check_rows(entry, m->table, ag_q_rows_inserter(m->table), NULL, kept);
		return;
	}
	desc = RelationGetDescr(rel);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		AttrNumber	kept_column;

		if (att->attisdropped || att->attgenerated != '\0')
			continue;
		kept_column = get_attnum(m->kept, NameStr(att->attname));
		if (kept_column == InvalidAttrNumber)
		{
			computed = bms_add_member(computed, att->attnum);
			continue;
		}
		if (get_atttype(m->kept, kept_column) != att->atttypid)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("agentguard: cannot restore quarantine entry " INT64_FORMAT ": column %s of %s is of type %s now, and its kept values are of type %s",
							entry, quote_identifier(NameStr(att->attname)), ag_q_relation_qualified(m->table),
							format_type_be(att->atttypid), format_type_be(get_atttype(m->kept, kept_column))),
					 errhint("Read the kept rows in %s and put them back yourself.", kept)));
		appendStringInfo(&columns, "%s%s", columns.len > 0 ? ", " : "",
						 quote_identifier(NameStr(att->attname)));
	}
	relation_close(rel, NoLock);
	m->columns = columns.data;
	ag_q_check_rows(entry, m->table, ag_q_rows_inserter(m->table), computed, kept);
}

/*
 * Rows a TRUNCATE removed go back into their table: their files, or a
 * copy of every column as it was (identity values too; generated columns
 * are computed).
 */
static void
restore_rows(const Member *m)
{
	char	   *kept = ag_q_qualified(AG_QUARANTINE_SCHEMA, m->quarantined_name);

	if (m->swap)
	{
		ag_q_return_storage(m->table, m->kept);
		return;
	}
	(void) ag_q_fill_as_owner(m->table, kept,
							  ag_q_sql_text("INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %s",
											ag_q_qualified(m->original_schema, m->original_name),
											m->columns, m->columns, kept));
}

/*
 * The foreign keys of a table whose kept rows went back, checked as their
 * triggers would have, which did not fire: every kept row must find its key,
 * compared with the foreign key's own operators (looked at by plan_rows).
 * A foreign key over a column that the kept rows lack is checked over the
 * whole table, and so is a table that took its files back (the twin holds
 * the table's empty ones then).  Then the twin goes.
 */
static void
check_foreign_keys(int64 entry, const Member *m)
{
	char	   *kept = ag_q_qualified(AG_QUARANTINE_SCHEMA, m->quarantined_name);
	Relation	catalog = table_open(ConstraintRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;

	ScanKeyInit(&key, Anum_pg_constraint_conrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(m->table));
	scan = systable_beginscan(catalog, ConstraintRelidTypidNameIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_constraint fk = (Form_pg_constraint) GETSTRUCT(tuple);
		int			count;
		AttrNumber	columns[INDEX_MAX_KEYS];
		AttrNumber	keys[INDEX_MAX_KEYS];
		Oid			pf_operators[INDEX_MAX_KEYS];
		Oid			pp_operators[INDEX_MAX_KEYS];
		Oid			ff_operators[INDEX_MAX_KEYS];
		StringInfoData present;
		StringInfoData absent;
		StringInfoData match;
		const char *source = kept;
		bool		full = fk->confmatchtype == FKCONSTR_MATCH_FULL;

		/*
		 * A foreign key to a partitioned table has a copy for each of its
		 * partitions, on the same table; the parent's covers them all.
		 */
		if (fk->contype != CONSTRAINT_FOREIGN ||
			(OidIsValid(fk->conparentid) &&
			 ag_q_syscache_oid(CONSTROID, fk->conparentid, Anum_pg_constraint_conrelid) == fk->conrelid))
			continue;
		DeconstructFkConstraintRow(tuple, &count, columns, keys, pf_operators, pp_operators, ff_operators,
								   NULL, NULL);
		for (int i = 0; i < count; i++)
			if (m->swap || get_attnum(m->kept, get_attname(m->table, columns[i], false)) == InvalidAttrNumber)
				source = psprintf("ONLY %s", ag_q_qualified(m->original_schema, m->original_name));
		initStringInfo(&present);
		initStringInfo(&absent);
		initStringInfo(&match);
		for (int i = 0; i < count; i++)
		{
			char	   *column = psprintf("c.%s", quote_identifier(get_attname(m->table, columns[i], false)));
			char	   *key_column = psprintf("p.%s", quote_identifier(get_attname(fk->confrelid, keys[i], false)));

			appendStringInfo(&present, "%s%s IS NOT NULL", i > 0 ? (full ? " OR " : " AND ") : "", column);
			appendStringInfo(&absent, "%s IS NULL OR ", column);
			if (i > 0)
				appendStringInfoString(&match, " AND ");
			generate_operator_clause(&match, key_column, get_atttype(fk->confrelid, keys[i]), pf_operators[i],
									 column, get_atttype(m->table, columns[i]));
		}
		if (SPI_execute(ag_q_sql_text("SELECT 1 FROM %s c WHERE (%s) AND (%sNOT EXISTS (SELECT 1 FROM %s%s p WHERE %s)) LIMIT 1",
									  source, present.data, full ? absent.data : "",
									  get_rel_relkind(fk->confrelid) == RELKIND_PARTITIONED_TABLE ? "" : "ONLY ",
									  ag_q_relation_qualified(fk->confrelid), match.data),
						false, 1) != SPI_OK_SELECT)
			elog(ERROR, "agentguard: could not check foreign key %s", NameStr(fk->conname));
		if (SPI_processed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("agentguard: cannot restore quarantine entry " INT64_FORMAT ": its rows of %s break foreign key %s",
							entry, ag_q_relation_qualified(m->table), quote_identifier(NameStr(fk->conname))),
					 errdetail("A kept row refers to a key that %s does not have now.",
							   ag_q_relation_qualified(fk->confrelid)),
					 errhint("Put the rows it refers to back into %s first, then restore again.",
							 ag_q_relation_qualified(fk->confrelid))));
	}
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	ag_q_run_sql(ag_q_sql_text("DROP TABLE %s", kept));
}

/* a schema comes back with its owner and the grants it had */
static void
restore_schema(const Member *m, const char *name)
{
	static const struct
	{
		AclMode		privilege;
		const char *keyword;
	}			schema_privileges[] = {{ACL_USAGE, "USAGE"}, {ACL_CREATE, "CREATE"}};
	Oid			owner = get_role_oid(m->owner, false);
	Acl		   *acl = m->acl ? ag_q_acl_from_text(m->acl) : NULL;

	ag_q_run_sql(ag_q_sql_text("ALTER SCHEMA %s RENAME TO %s", quote_identifier(m->quarantined_name),
							   quote_identifier(name)));
	ag_q_run_sql(ag_q_sql_text("ALTER SCHEMA %s OWNER TO %s", quote_identifier(name), quote_identifier(m->owner)));
	/* the owner's own privileges came back with the ownership */
	for (int i = 0; acl != NULL && i < ACL_NUM(acl); i++)
	{
		AclItem    *item = &ACL_DAT(acl)[i];
		const char *grantee;

		if (item->ai_grantee == owner)
			continue;
		grantee = item->ai_grantee == ACL_ID_PUBLIC ? "PUBLIC" :
			quote_identifier(GetUserNameFromId(item->ai_grantee, false));
		for (int p = 0; p < (int) lengthof(schema_privileges); p++)
		{
			AclMode		privilege = schema_privileges[p].privilege;

			if (ACLITEM_GET_PRIVS(*item) & privilege)
				ag_q_run_sql(ag_q_sql_text("GRANT %s ON SCHEMA %s TO %s%s", schema_privileges[p].keyword,
										   quote_identifier(name), grantee,
										   (ACLITEM_GET_GOPTIONS(*item) & privilege) ? " WITH GRANT OPTION" : ""));
		}
	}
}

/* a schema that comes back with the entry itself */
static bool
schema_in_entry(Entry *e, const char *schema)
{
	ListCell   *lc;

	foreach(lc, e->members)
	{
		Member	   *m = lfirst(lc);

		if (ag_q_is_schema(m) && strcmp(m->original_name, schema) == 0)
			return true;
	}
	return false;
}

/* kept columns: of an ALTER TABLE, or taken from tables that stay by a DROP */
static bool
has_columns(const Entry *e)
{
	ListCell   *lc;

	foreach(lc, e->members)
		if (ag_q_is_column(lfirst(lc)))
			return true;
	return false;
}

/*
 * A TRUNCATE's rows copied back into tables that had rows again: how many
 * each had, so that no one mistakes them for kept rows.
 */
static char *
rows_added_report(const Entry *e)
{
	StringInfoData report;
	ListCell   *lc;

	initStringInfo(&report);
	foreach(lc, e->members)
	{
		Member	   *m = lfirst(lc);

		if (ag_q_is_rows(m) && m->rows_now > 0)
			appendStringInfo(&report, "%s%s had " UINT64_FORMAT " %s added since, kept beside the ones put back",
							 report.len > 0 ? "; " : " (", ag_q_qualified(m->original_schema, m->original_name),
							 m->rows_now, m->rows_now == 1 ? "row" : "rows");
	}
	if (report.len > 0)
		appendStringInfoChar(&report, ')');
	return report.data;
}

/* the member at position 0: what the statement named first */
static Member *
main_member(Entry *e)
{
	return linitial(e->members);
}

/* an error names the entry being restored */
static void
restore_context(void *arg)
{
	errcontext("restoring quarantine entry " INT64_FORMAT, *(int64 *) arg);
}

/* the name a member comes back under: a new name is the main object's */
static const char *
restored_name(const Member *m, const Member *main, const char *new_name)
{
	if (m->restore_as)
		return m->restore_as;
	return (m == main && new_name) ? new_name : m->original_name;
}

/*
 * The constraints named after the table that no index carries (checks,
 * foreign keys, and on PostgreSQL 18 NOT NULL) take the new name too;
 * those of indexes came with their index's new name.  Names of constraints
 * are the table's own, so none can be taken by another object.
 */
static void
rename_constraints(const Member *main, const char *new_name)
{
	Oid			relid = get_relname_relid(new_name, get_namespace_oid(main->original_schema, false));
	size_t		stem = strlen(main->original_name);
	Relation	catalog = table_open(ConstraintRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	List	   *names = NIL;
	ListCell   *lc;

	ScanKeyInit(&key, Anum_pg_constraint_conrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(catalog, ConstraintRelidTypidNameIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_constraint constraint = (Form_pg_constraint) GETSTRUCT(tuple);
		const char *name = NameStr(constraint->conname);

		if (constraint->contype != CONSTRAINT_PRIMARY && constraint->contype != CONSTRAINT_UNIQUE &&
			constraint->contype != CONSTRAINT_EXCLUSION &&
			strncmp(name, main->original_name, stem) == 0 && name[stem] == '_')
			names = lappend(names, pstrdup(name));
	}
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	foreach(lc, names)
	{
		char	   *name = lfirst(lc);

		ag_q_run_sql(ag_q_sql_text("ALTER TABLE %s RENAME CONSTRAINT %s TO %s",
								   ag_q_qualified(main->original_schema, new_name),
								   quote_identifier(name),
								   quote_identifier(ag_q_clipped_name(new_name, name + stem))));
	}
}

/* wanted, or wanted with the first number that makes it free */
static char *
free_name(const char *wanted, Oid namespace, List *picked)
{
	char	   *name = pstrdup(wanted);

	for (int i = 1;; i++)
	{
		bool		taken = OidIsValid(namespace) && OidIsValid(get_relname_relid(name, namespace));
		ListCell   *lc;

		foreach(lc, picked)
			taken = taken || strcmp((char *) lfirst(lc), name) == 0;
		if (!taken)
			return name;
		name = psprintf("%d", i);
		name = psprintf("%.*s%s",
						pg_mbcliplen(wanted, strlen(wanted), NAMEDATALEN - 1 - strlen(name)),
						wanted, name);
	}
}

/*
 * Under a new name, the indexes and sequences that went with the table and
 * are named after it take the new name (customers_pkey comes back as
 * customers_old_pkey, and its constraint with it), and any of them whose
 * name is taken gets a number, as PostgreSQL names its own indexes: so an
 * entry can be restored beside another table of the same name, in any order.
 */
static void
choose_names(Entry *e, Member *main, const char *new_name)
{
	size_t		stem = strlen(main->original_name);
	List	   *picked = NIL;
	ListCell   *lc;

	if (new_name == NULL || ag_q_is_schema(main) || ag_q_is_column(main) || ag_q_is_definition(main))
		return;
	main->restore_as = pstrdup(new_name);
	picked = lappend(picked, main->restore_as);
	foreach(lc, e->members)
	{
		Member	   *m = lfirst(lc);

		if (m == main || m->alone)
			continue;
		if (strncmp(m->original_name, main->original_name, stem) == 0 && m->original_name[stem] == '_')
			m->restore_as = free_name(psprintf("%s%s", new_name, m->original_name + stem),
									  get_namespace_oid(m->original_schema, true), picked);
		else
			m->restore_as = free_name(m->original_name, get_namespace_oid(m->original_schema, true),
									  picked);
		picked = lappend(picked, m->restore_as);
	}
}

/*
 * Restoring destroys nothing: agents may; others must be a superuser or own
 * what comes back.
 */
static void
check_may_restore(const Entry *e, const Member *main, Oid user)
{
	Oid			main_relid = ag_q_is_schema(main) ? InvalidOid :
		(ag_q_is_column(main) || ag_q_is_changed_rows(main)) ?
		get_relname_relid(main->original_name,
												 get_namespace_oid(main->original_schema, true)) :
		get_relname_relid(main->quarantined_name, get_namespace_oid(AG_QUARANTINE_SCHEMA, false));

	if (!superuser_arg(user) && !ag_session_is_agent() &&
		!(OidIsValid(main_relid) && ag_object_ownercheck(RelationRelationId, main_relid, user)) &&
		!(ag_q_is_schema(main) && strcmp(main->owner, GetUserNameFromId(user, false)) == 0))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("agentguard: only a superuser or the owner of %s.%s can restore it",
						e->original_schema, e->original_name)));
}

/*
 * Refuses, before anything has moved, when a member cannot come back: its
 * name is taken, its schema is gone, or (for rows) plan_rows says why.
 */
static void
check_member(int64 id, Entry *e, Member *m, const Member *main, const char *new_name)
{
	Oid			namespace = get_namespace_oid(m->original_schema, true);
	const char *name = restored_name(m, main, new_name);

	if (ag_q_is_column(m))
	{
		ag_q_check_column(id, m, m == main ? new_name : NULL);
		return;
	}
	if (ag_q_is_definition(m) && new_name != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("agentguard: a dropped index comes back under its own name"),
				 errhint("Restore without a new name, then ALTER INDEX ... RENAME.")));
	if (ag_q_is_changed_rows(m))
	{
		ag_q_check_changed_rows(id, m, new_name);
		return;
	}
	if (ag_q_is_rows(m))
	{
		if (new_name == NULL)
		{
			plan_rows(id, m);
			return;
		}
		if (list_length(e->members) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("agentguard: the rows of a TRUNCATE of several tables go back into their own tables"),
					 errdetail("Quarantine entry " INT64_FORMAT " keeps the rows of %d tables; only the rows of one table become a table of a new name.",
							   id, list_length(e->members)),
					 errhint("Restore without a new name, or read the kept rows in schema %s.", AG_QUARANTINE_SCHEMA)));
		/* they become a table of the new name: checked as a table's name is */
	}
	if (ag_q_is_schema(m))
	{
		if (OidIsValid(get_namespace_oid(name, true)))
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_SCHEMA),
					 errmsg("agentguard: cannot restore quarantine entry " INT64_FORMAT ": schema \"%s\" already exists",
							id, name),
					 errhint(m == main ? "Restore under another name: SELECT agentguard.restore(" INT64_FORMAT ", 'new_name')." :
							 "Rename or drop the schema that took the name, then restore.", id)));
		return;
	}
	if (!OidIsValid(namespace) && !schema_in_entry(e, m->original_schema))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_SCHEMA),
				 errmsg("agentguard: cannot restore quarantine entry " INT64_FORMAT ": schema \"%s\" is gone",
						id, m->original_schema),
				 errhint("Create schema \"%s\" again, then restore.", m->original_schema)));
	if ((strcmp(m->sql_kind, "FUNCTION") != 0 && strcmp(m->sql_kind, "PROCEDURE") != 0 &&
		 strcmp(m->sql_kind, "AGGREGATE") != 0 && strcmp(m->sql_kind, "STATISTICS") != 0 &&
		 OidIsValid(get_relname_relid(name, namespace))) ||
		((strcmp(m->sql_kind, "TYPE") == 0 || strcmp(m->sql_kind, "DOMAIN") == 0) &&
		 OidIsValid(GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, PointerGetDatum(name),
									ObjectIdGetDatum(namespace)))))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_TABLE),
				 errmsg("agentguard: cannot restore quarantine entry " INT64_FORMAT ": \"%s.%s\" already exists",
						id, m->original_schema, name),
				 errhint(m == main ? "Restore under another name: SELECT agentguard.restore(" INT64_FORMAT ", 'new_name')." :
						 "Rename or drop the object that took the name, then restore.", id)));
}

/*
 * Under a new name a TRUNCATE's rows become a table of their own beside the
 * table they came from, which keeps the rows it has now: the twin holding
 * them (truncate.c) leaves the quarantine under the new name, with its
 * indexes named after it as DefineIndex named them after the twin.  It has
 * the table's columns, NOT NULLs, checks, indexes and owner, as the table
 * had them at the TRUNCATE; not its defaults, triggers, foreign keys or
 * grants.
 */
static void
rows_as_table(const Member *m, const char *new_name)
{
	Oid			namespace = get_namespace_oid(m->original_schema, false);
	Oid			twin = get_relname_relid(m->quarantined_name, get_namespace_oid(AG_QUARANTINE_SCHEMA, false));
	size_t		stem = strlen(m->quarantined_name);
	Relation	rel;
	List	   *indexes;
	ListCell   *lc;

	rel = table_open(twin, AccessShareLock);
	indexes = RelationGetIndexList(rel);
	table_close(rel, AccessShareLock);
	ag_q_run_sql(ag_q_sql_text("ALTER TABLE %s SET SCHEMA %s", ag_q_qualified(AG_QUARANTINE_SCHEMA, m->quarantined_name),
							   quote_identifier(m->original_schema)));
	ag_q_run_sql(ag_q_sql_text("ALTER TABLE %s RENAME TO %s", ag_q_qualified(m->original_schema, m->quarantined_name),
							   quote_identifier(new_name)));
	foreach(lc, indexes)
	{
		char	   *index = get_rel_name(lfirst_oid(lc));
		/* a long twin name is cut short in its indexes' names */
		const char *suffix = strncmp(index, m->quarantined_name, stem) == 0 ? index + stem : "_idx";
		char	   *wanted = psprintf("%.*s%s", pg_mbcliplen(new_name, strlen(new_name), NAMEDATALEN - 1 - strlen(suffix)),
									  new_name, suffix);

		ag_q_run_sql(ag_q_sql_text("ALTER INDEX %s RENAME TO %s", ag_q_qualified(m->original_schema, index),
								   quote_identifier(free_name(wanted, namespace, NIL))));
	}
}

/*
 * The members move back to their schemas and take their names again: first
 * those that moved by themselves (and the rows, and the schemas), then the
 * parts that came back with their tables, which only need their names.
 */
static void
put_back_members(const Entry *e, const Member *main, const char *new_name)
{
	ListCell   *lc;

	foreach(lc, e->members)
	{
		Member	   *m = lfirst(lc);
		Oid			routine;

		if (!m->alone || ag_q_is_column(m) || ag_q_is_changed_rows(m))
			continue;
		if (ag_q_is_rows(m))
		{
			if (new_name != NULL)
				rows_as_table(m, new_name);
			else
				restore_rows(m);
			continue;
		}
		if (ag_q_is_schema(m))
		{
			restore_schema(m, restored_name(m, main, new_name));
			continue;
		}
		routine = ag_q_is_routine(m) ? ag_q_quarantined_routine(m) : InvalidOid;
		ag_q_run_sql(ag_q_sql_text("ALTER %s %s SET SCHEMA %s", m->sql_kind, ag_q_member_in_quarantine(m),
								   quote_identifier(m->original_schema)));
		ag_q_run_sql(ag_q_sql_text("ALTER %s %s RENAME TO %s", m->sql_kind,
								   OidIsValid(routine) ? format_procedure_qualified(routine) :
								   ag_q_qualified(m->original_schema, m->quarantined_name),
								   quote_identifier(restored_name(m, main, new_name))));
	}
	foreach(lc, e->members)
	{
		Member	   *m = lfirst(lc);

		/* an index's definition comes back with the steps */
		if (m->alone || ag_q_is_definition(m))
			continue;
		ag_q_run_sql(ag_q_sql_text("ALTER %s %s RENAME TO %s", m->sql_kind,
								   ag_q_qualified(m->original_schema, m->quarantined_name),
								   quote_identifier(restored_name(m, main, new_name))));
	}
}

/* sql with "<before><old><after>" made "<before><new><after>", where it occurs */
static char *
renamed_in(const char *sql, const char *before, const char *old, const char *after,
		   const char *new)
{
	char	   *pattern = psprintf("%s%s%s", before, old, after);
	const char *at = strstr(sql, pattern);

	if (at == NULL)
		return (char *) sql;
	return psprintf("%.*s%s%s%s%s", (int) (at - sql), sql, before, new, after,
					at + strlen(pattern));
}

/*
 * A step saved when the table was dropped names it as it was: the SQL that
 * re-adds another table's foreign key to it (REFERENCES), its own foreign
 * keys and inheritance link (ALTER TABLE), its partition bound (ATTACH
 * PARTITION).  Under a new name each names the restored table.  The SQL is
 * agentguard's own, written with every name qualified (pg_get_constraintdef
 * under search_path pg_catalog), so the old name appears in exactly these
 * places.
 */
static char *
step_for_new_name(const char *sql, const Member *main, const char *new_name)
{
	char	   *old = ag_q_qualified(main->original_schema, main->original_name);
	char	   *new = ag_q_qualified(main->original_schema, new_name);
	char	   *altered = psprintf("ALTER TABLE %s ", old);

	sql = renamed_in(sql, "REFERENCES ", old, "(", new);
	sql = renamed_in(sql, "ATTACH PARTITION ", old, " ", new);
	if (strncmp(sql, altered, strlen(altered)) == 0)
		sql = psprintf("ALTER TABLE %s %s", new, sql + strlen(altered));
	return (char *) sql;
}

/*
 * CREATE INDEX needs CREATE on the table's schema besides its ownership,
 * and the owner may have made the index under a grant it no longer has (or
 * a DBA made it).  The schema's CREATE is lent to the owner for that one
 * step; returns the schema lent, or InvalidOid.
 */
static Oid
lend_schema_for_index(const RestoreStep *rs, Oid role)
{
	RawStmt    *raw = linitial_node(RawStmt, raw_parser(rs->sql, RAW_PARSE_DEFAULT));
	Oid			namespace;

	if (!IsA(raw->stmt, IndexStmt))
		return InvalidOid;
	namespace = get_rel_namespace(RangeVarGetRelid(((IndexStmt *) raw->stmt)->relation, NoLock, false));
	if (ag_namespace_aclcheck(namespace, role, ACL_CREATE) == ACLCHECK_OK)
		return InvalidOid;
	ag_q_run_sql(ag_q_sql_text("GRANT CREATE ON SCHEMA %s TO %s", quote_identifier(get_namespace_name(namespace)),
							   quote_identifier(rs->run_as)));
	return namespace;
}

/*
 * Once every member is back: the foreign keys of the rows (a TRUNCATE's
 * tables may refer to each other, so all rows go back first), then the
 * saved steps, each checked for planted code and run as the owner of the
 * table it alters (on a Citus cluster, a Citus table's as the extension's
 * owner, whose connections to the workers moved its shards back).
 */
static void
finish_restore(int64 id, const Entry *e, const Member *main, const char *new_name)
{
	ListCell   *lc;

	foreach(lc, e->members)
	{
		Member	   *m = lfirst(lc);

		/* rows that became a table of their own have no foreign keys */
		if ((ag_q_is_rows(m) && new_name == NULL) || ag_q_is_changed_rows(m))
			check_foreign_keys(id, m);
	}
	foreach(lc, e->restore_steps)
	{
		RestoreStep *rs = lfirst(lc);
		Oid			role = get_role_oid(rs->run_as, false);
		Oid			lent;

		if (new_name != NULL && !ag_q_is_schema(main) && !ag_q_is_column(main))
			rs->sql = step_for_new_name(rs->sql, main, new_name);
		ag_q_check_restore_step(id, rs);
		/* Citus reaches the shards over the connections of the role that moved them back */
		if (unlikely(ag_citus_loaded) && ag_citus_step_alters_citus_table(rs->sql))
			role = GetUserId();
		lent = lend_schema_for_index(rs, role);
		ag_q_run_sql_as(role, rs->sql, true);
		if (OidIsValid(lent))
			ag_q_run_sql(ag_q_sql_text("REVOKE CREATE ON SCHEMA %s FROM %s",
									   quote_identifier(get_namespace_name(lent)), quote_identifier(rs->run_as)));
	}
}

/* agentguard.restore(id, new_name DEFAULT NULL) */
Datum
agentguard_restore(PG_FUNCTION_ARGS)
{
	int64		id;
	char	   *new_name = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	AgOwnerSession ls;
	Entry	   *e;
	Member	   *main;
	ListCell   *lc;
	ErrorContextCallback context;
	char	   *restored_as;
	const char *rows_report;
	MemoryContext caller = CurrentMemoryContext;
	char	   *result;

	PreventCommandDuringRecovery("agentguard.restore()");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	id = PG_GETARG_INT64(0);
	if (!ag_owner_open(&ls))
		elog(ERROR, "agentguard: the extension is not installed in this database");
	if (id < 0)
	{
		result = MemoryContextStrdup(caller, ag_q_restore_database(id, new_name, &ls));
		ag_owner_close(&ls);
		PG_RETURN_TEXT_P(cstring_to_text(result));
	}
	e = ag_q_load_entry(id);
	main = main_member(e);
	check_may_restore(e, main, ls.saved_user);
	if (new_name != NULL && (new_name[0] == '\0' || strlen(new_name) >= NAMEDATALEN))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("agentguard: \"%s\" is not a usable name", new_name)));

	/* check everything first, so that a refusal changes nothing */
	choose_names(e, main, new_name);
	foreach(lc, e->members)
		check_member(id, e, lfirst(lc), main, new_name);

	context.callback = restore_context;
	context.arg = &id;
	context.previous = error_context_stack;
	error_context_stack = &context;
	put_back_members(e, main, new_name);
	/* columns after their types are back, before the steps that need them */
	if (has_columns(e))
		rows_report = ag_q_restore_columns(e);
	else if (ag_q_is_changed_rows(main))
		rows_report = ag_q_restore_changed_rows(e);
	else if (ag_q_is_rows(main) && new_name != NULL)
		rows_report = psprintf(" (the rows the TRUNCATE removed from %s, as a table of their own)",
							   ag_q_qualified(main->original_schema, main->original_name));
	else
		rows_report = rows_added_report(e);
	finish_restore(id, e, main, new_name);
	if (has_columns(e))
		ag_q_columns_done(e, main, ag_q_is_column(main) ? new_name : NULL);
	/* after the steps: the foreign keys they add back are named after it too */
	if (new_name != NULL && !ag_q_is_schema(main) && !ag_q_is_rows(main) && !ag_q_is_column(main))
		rename_constraints(main, new_name);
	error_context_stack = context.previous;

	ag_q_forget_entry(id);
	if (ag_q_is_schema(main))
		restored_as = pstrdup(quote_identifier(new_name ? new_name : main->original_name));
	else if (ag_q_is_column(main))
		restored_as = psprintf("%s.%s", ag_q_qualified(main->original_schema, main->original_name),
							   quote_identifier(new_name ? new_name : ag_q_column_name(main)));
	else if (ag_q_is_changed_rows(main))
		restored_as = ag_q_qualified(e->original_schema, e->original_name);
	else
		restored_as = ag_q_qualified(main->original_schema, new_name ? new_name : main->original_name);
	ag_ledger_audit("restore", e->kind, restored_as, NULL,
					psprintf("entry " INT64_FORMAT ", %d objects", id, list_length(e->members)));
	ag_q_log_done("restored", id, restored_as);
	/* SPI's memory goes away at close: the answer is made in the caller's */
	result = MemoryContextStrdup(caller, psprintf("restored %s%s", restored_as, rows_report));
	ag_owner_close(&ls);
	PG_RETURN_TEXT_P(cstring_to_text(result));
}
