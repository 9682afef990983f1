/*
 * quarantine/cascade.c
 *		What a CASCADE takes with a kept column besides its values: indexes,
 *		constraints, triggers, policies, rules, statistics objects and views,
 *		written down as the SQL that makes them again; and the columns that
 *		a DROP takes from tables that stay (a column whose type is in a
 *		dropped schema), kept as an ALTER TABLE's are (column.c).
 *
 * Views that use a kept column cannot move aside, since dropping the
 * column takes them wherever they are: they are made again, by their
 * owners, with their options, grants and comments, in the order opposite
 * to the one they went in.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/dependency.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_statistic_ext.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "miscadmin.h"
#include "rewrite/rewriteSupport.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"

#include "quarantine/internal.h"

/* a relation of this statement whose own parts come back with it */
static bool
doomed_view(List *objects, Oid relid)
{
	char		relkind = get_rel_relkind(relid);

	return (relkind == RELKIND_VIEW || relkind == RELKIND_MATVIEW) &&
		ag_q_relation_captured(objects, relid);
}

/* reloptions of a view as "WITH (a='b', ...) ", or "" */
static char *
view_options(Oid relid)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	bool		isnull;
	Datum		options = SysCacheGetAttr(RELOID, tuple, Anum_pg_class_reloptions, &isnull);
	StringInfoData with;
	Datum	   *items;
	int			count;

	initStringInfo(&with);
	if (!isnull)
	{
		deconstruct_array(DatumGetArrayTypeP(options), TEXTOID, -1, false, TYPALIGN_INT,
						  &items, NULL, &count);
		for (int i = 0; i < count; i++)
		{
			char	   *option = TextDatumGetCString(items[i]);
			char	   *equals = strchr(option, '=');

			*equals = '\0';
			appendStringInfo(&with, "%s%s = %s", with.len > 0 ? ", " : "WITH (",
							 quote_identifier(option), quote_literal_cstr(equals + 1));
		}
		appendStringInfoString(&with, ") ");
	}
	ReleaseSysCache(tuple);
	return with.data;
}

/*
 * A view a CASCADE takes: it depends on the column itself, so it cannot
 * move aside and must be made again, by its owner, with its options,
 * grants and comments.
 */
static void
save_view(int64 entry, int *step, Oid relid)
{
	char	   *view = ag_q_relation_qualified(relid);
	bool		materialized = get_rel_relkind(relid) == RELKIND_MATVIEW;
	const char *kind = materialized ? "MATERIALIZED VIEW" : "VIEW";
	char	   *definition = TextDatumGetCString(DirectFunctionCall1(pg_get_viewdef,
																	 ObjectIdGetDatum(relid)));
	Relation	rel = relation_open(relid, AccessShareLock);
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	bool		isnull;
	Datum		acl = SysCacheGetAttr(RELOID, tuple, Anum_pg_class_relacl, &isnull);

	ag_q_save_restore_step(entry, step, psprintf("%s %s", kind, view),
						   ag_q_sql_text("CREATE %s %s %sAS %s", kind, view, view_options(relid), definition),
						   relid);
	if (!isnull)
		ag_q_save_grants(entry, step, DatumGetAclPCopy(acl), rel->rd_rel->relowner, "", relid);
	ReleaseSysCache(tuple);
	ag_q_save_comment(entry, step, RelationRelationId, relid, 0, psprintf("%s %s", kind, view), relid);
	for (int i = 0; i < RelationGetDescr(rel)->natts; i++)
		ag_q_save_comment(entry, step, RelationRelationId, relid, i + 1,
					 psprintf("COLUMN %s.%s", view,
							  quote_identifier(NameStr(TupleDescAttr(RelationGetDescr(rel), i)->attname))),
					 relid);
	relation_close(rel, AccessShareLock);
}

/* a row-level security policy as CREATE POLICY */
static char *
policy_sql(Oid policy, Oid *relid)
{
	TupleDesc	desc;
	HeapTuple	tuple = ag_q_catalog_row(PolicyRelationId, PolicyOidIndexId, Anum_pg_policy_oid, policy, &desc);
	Form_pg_policy form = (Form_pg_policy) GETSTRUCT(tuple);
	const char *command = form->polcmd == 'r' ? "SELECT" : form->polcmd == 'a' ? "INSERT" :
		form->polcmd == 'w' ? "UPDATE" : form->polcmd == 'd' ? "DELETE" : "ALL";
	bool		isnull;
	ArrayType  *roles = DatumGetArrayTypeP(heap_getattr(tuple, Anum_pg_policy_polroles, desc, &isnull));
	Oid		   *role_oids = (Oid *) ARR_DATA_PTR(roles);
	StringInfoData sql;
	Datum		qual;

	*relid = form->polrelid;
	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE POLICY %s ON %s AS %s FOR %s TO ",
					 quote_identifier(NameStr(form->polname)), ag_q_relation_qualified(form->polrelid),
					 form->polpermissive ? "PERMISSIVE" : "RESTRICTIVE", command);
	for (int i = 0; i < ArrayGetNItems(ARR_NDIM(roles), ARR_DIMS(roles)); i++)
		appendStringInfo(&sql, "%s%s", i > 0 ? ", " : "",
						 role_oids[i] == ACL_ID_PUBLIC ? "PUBLIC" :
						 quote_identifier(GetUserNameFromId(role_oids[i], false)));
	qual = heap_getattr(tuple, Anum_pg_policy_polqual, desc, &isnull);
	if (!isnull)
		appendStringInfo(&sql, " USING (%s)",
						 TextDatumGetCString(DirectFunctionCall2(pg_get_expr, qual,
																 ObjectIdGetDatum(form->polrelid))));
	qual = heap_getattr(tuple, Anum_pg_policy_polwithcheck, desc, &isnull);
	if (!isnull)
		appendStringInfo(&sql, " WITH CHECK (%s)",
						 TextDatumGetCString(DirectFunctionCall2(pg_get_expr, qual,
																 ObjectIdGetDatum(form->polrelid))));
	return sql.data;
}

/*
 * A sequence a kept column owns would go with the column: it is set free,
 * and a restore step owns it to the column again.
 */
static void
disown_sequence(int64 entry, int *step, Oid sequence, Oid table, int32 column)
{
	char	   *name = ag_q_relation_qualified(sequence);

	ag_q_run_sql(ag_q_sql_text("ALTER SEQUENCE %s OWNED BY NONE", name));
	ag_q_save_restore_step(entry, step, psprintf("sequence %s owned by its column", name),
						   ag_q_sql_text("ALTER SEQUENCE %s OWNED BY %s.%s", name, ag_q_relation_qualified(table),
										 quote_identifier(get_attname(table, column, false))),
						   sequence);
}

/* text with the first occurrence of from made to */
static char *
renamed_once(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);

	if (at == NULL)
		return pstrdup(text);
	return psprintf("%.*s%s%s", (int) (at - text), text, to, at + strlen(from));
}

/* SQL that recreates an object living on a table that stays, and removes it */
void
ag_q_recreate_sql(const ObjectAddress *a, char **restore_sql, char **remove_sql, Oid *altered)
{
	switch (a->classId)
	{
		case ConstraintRelationId:
			{
				Oid			relid = ag_q_syscache_oid(CONSTROID, a->objectId, Anum_pg_constraint_conrelid);
				char	   *name = get_constraint_name(a->objectId);
				char	   *definition = TextDatumGetCString(DirectFunctionCall1(pg_get_constraintdef,
																				  ObjectIdGetDatum(a->objectId)));

				*altered = relid;
				*restore_sql = ag_q_sql_text("ALTER TABLE %s ADD CONSTRAINT %s %s",
											 ag_q_relation_qualified(relid), quote_identifier(name), definition);
				*remove_sql = ag_q_sql_text("ALTER TABLE %s DROP CONSTRAINT %s",
											ag_q_relation_qualified(relid), quote_identifier(name));
				break;
			}
		case RewriteRelationId:
			{
				Oid			relid = ag_q_scanned_oid(RewriteRelationId, RewriteOidIndexId, Anum_pg_rewrite_oid,
													 a->objectId, Anum_pg_rewrite_ev_class);
				char	   *definition = TextDatumGetCString(DirectFunctionCall1(pg_get_ruledef,
																				  ObjectIdGetDatum(a->objectId)));
				HeapTuple	tuple = ag_q_catalog_row(RewriteRelationId, RewriteOidIndexId, Anum_pg_rewrite_oid,
													 a->objectId, NULL);
				char	   *name = pstrdup(NameStr(((Form_pg_rewrite) GETSTRUCT(tuple))->rulename));

				*altered = relid;
				*restore_sql = definition;
				*remove_sql = ag_q_sql_text("DROP RULE %s ON %s", quote_identifier(name),
											ag_q_relation_qualified(relid));
				break;
			}
		case AttrDefaultRelationId:
			{
				TupleDesc	desc;
				HeapTuple	tuple = ag_q_catalog_row(AttrDefaultRelationId, AttrDefaultOidIndexId,
													 Anum_pg_attrdef_oid, a->objectId, &desc);
				Form_pg_attrdef def = (Form_pg_attrdef) GETSTRUCT(tuple);
				Oid			relid = def->adrelid;
				char	   *column = get_attname(relid, def->adnum, false);
				bool		isnull;
				Datum		expr = heap_getattr(tuple, Anum_pg_attrdef_adbin, desc, &isnull);
				char	   *expression = TextDatumGetCString(DirectFunctionCall2(pg_get_expr, expr,
																				 ObjectIdGetDatum(relid)));

				*altered = relid;
				*restore_sql = ag_q_sql_text("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s",
											 ag_q_relation_qualified(relid), quote_identifier(column), expression);
				*remove_sql = ag_q_sql_text("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT",
											ag_q_relation_qualified(relid), quote_identifier(column));
				break;
			}
		case TriggerRelationId:
			{
				Oid			relid = ag_q_scanned_oid(TriggerRelationId, TriggerOidIndexId, Anum_pg_trigger_oid,
													 a->objectId, Anum_pg_trigger_tgrelid);
				HeapTuple	tuple = ag_q_catalog_row(TriggerRelationId, TriggerOidIndexId, Anum_pg_trigger_oid,
													 a->objectId, NULL);

				*altered = relid;
				*restore_sql = TextDatumGetCString(DirectFunctionCall1(pg_get_triggerdef,
																	   ObjectIdGetDatum(a->objectId)));
				*remove_sql = ag_q_sql_text("DROP TRIGGER %s ON %s",
											quote_identifier(NameStr(((Form_pg_trigger) GETSTRUCT(tuple))->tgname)),
											ag_q_relation_qualified(relid));
				break;
			}
		case PolicyRelationId:
			{
				Oid			relid;
				HeapTuple	tuple = ag_q_catalog_row(PolicyRelationId, PolicyOidIndexId, Anum_pg_policy_oid,
													 a->objectId, NULL);

				*restore_sql = policy_sql(a->objectId, &relid);
				*altered = relid;
				*remove_sql = ag_q_sql_text("DROP POLICY %s ON %s",
											quote_identifier(NameStr(((Form_pg_policy) GETSTRUCT(tuple))->polname)),
											ag_q_relation_qualified(relid));
				break;
			}
		case RelationRelationId:
			/* an index */
			*altered = ag_q_syscache_oid(INDEXRELID, a->objectId, Anum_pg_index_indrelid);
			*restore_sql = pg_get_indexdef_string(a->objectId);
			/* a partitioned table's index is built on its partitions again too */
			if (get_rel_relkind(a->objectId) == RELKIND_PARTITIONED_INDEX)
				*restore_sql = renamed_once(*restore_sql, " ON ONLY ", " ON ");
			*remove_sql = ag_q_sql_text("DROP INDEX %s", ag_q_relation_qualified(a->objectId));
			break;
		default:
			elog(ERROR, "agentguard: cannot recreate objects of class %u", a->classId);
	}
}

static bool
is_foreign_key(const ObjectAddress *a)
{
	HeapTuple	tuple;
	bool		foreign = false;

	if (a->classId != ConstraintRelationId)
		return false;
	tuple = SearchSysCache1(CONSTROID, ObjectIdGetDatum(a->objectId));
	if (HeapTupleIsValid(tuple))
	{
		foreign = ((Form_pg_constraint) GETSTRUCT(tuple))->contype == CONSTRAINT_FOREIGN;
		ReleaseSysCache(tuple);
	}
	return foreign;
}

/* what stays behind on other tables: remember how to recreate it, then remove it */
void
ag_q_remove_what_is_recreated(int64 entry, int *step, List *objects)
{
	List	   *recreated = NIL;
	ListCell   *lc;
	int			count;
	char	  **restore_sql;
	char	  **remove_sql;
	Oid		   *altered;

	foreach(lc, objects)
		if (ag_q_keeping_of(objects, lfirst(lc)) == KEEP_RECREATE)
			recreated = lappend(recreated, lfirst(lc));
	count = list_length(recreated);
	restore_sql = palloc(sizeof(char *) * (count + 1));
	remove_sql = palloc(sizeof(char *) * (count + 1));
	altered = palloc(sizeof(Oid) * (count + 1));
	foreach(lc, recreated)
		ag_q_recreate_sql(lfirst(lc), &restore_sql[foreach_current_index(lc)],
						  &remove_sql[foreach_current_index(lc)], &altered[foreach_current_index(lc)]);

	/* made again in this order: a foreign key after the key it uses */
	for (int foreign_keys = 0; foreign_keys <= 1; foreign_keys++)
	{
		foreach(lc, recreated)
		{
			int			i = foreach_current_index(lc);

			if (is_foreign_key(lfirst(lc)) == (foreign_keys == 1))
				ag_q_save_restore_step(entry, step, getObjectDescription(lfirst(lc), false),
									   restore_sql[i], altered[i]);
		}
	}
	/* removed in the order the trial dropped them, dependents first */
	for (int i = 0; i < count; i++)
		ag_q_run_sql(remove_sql[i]);
}

/*
 * A relation (or a column of one) the CASCADE takes: an index or a view
 * saved to be made again, a TOAST table that comes with its table, a
 * sequence a dropped column owns set free to move.
 */
static bool
keep_dependent_relation(int64 entry, List **moving, int *step, const ObjectAddress *a,
						List *doomed, DependentPass pass)
{
	if (a->objectSubId > 0)
		return ag_q_doomed_column(doomed, a->objectId, a->objectSubId);
	switch (get_rel_relkind(a->objectId))
	{
		case RELKIND_INDEX:
		case RELKIND_PARTITIONED_INDEX:
			/* a constraint's index comes with it, a partition's with its parent's */
			if (pass == PASS_TABLE_PARTS && !OidIsValid(get_index_constraint(a->objectId)) &&
				!get_rel_relispartition(a->objectId))
				ag_q_save_restore_step(entry, step, getObjectDescription(a, false),
									   TextDatumGetCString(DirectFunctionCall1(pg_get_indexdef,
																			   ObjectIdGetDatum(a->objectId))),
									   ag_q_syscache_oid(INDEXRELID, a->objectId, Anum_pg_index_indrelid));
			return true;
		case RELKIND_VIEW:
		case RELKIND_MATVIEW:
			if (pass == PASS_VIEWS)
				save_view(entry, step, a->objectId);
			return true;
		case RELKIND_TOASTVALUE:
			return true;
		case RELKIND_SEQUENCE:
			{
				Oid			table;
				int32		column;

				/* an identity column's comes back with it */
				if (sequenceIsOwned(a->objectId, DEPENDENCY_INTERNAL, &table, &column))
					return ag_q_doomed_column(doomed, table, column);
				if (!sequenceIsOwned(a->objectId, DEPENDENCY_AUTO, &table, &column) ||
					!ag_q_doomed_column(doomed, table, column))
					return false;
				if (pass == PASS_TABLE_PARTS)
				{
					disown_sequence(entry, step, a->objectId, table, column);
					*moving = lappend(*moving, (ObjectAddress *) a);
				}
				return true;
			}
		default:
			return false;
	}
}

/* a constraint the CASCADE takes: saved to be made again in its pass, unless it comes back with another */
static bool
keep_dependent_constraint(int64 entry, int *step, const ObjectAddress *a, DependentPass pass)
{
	char	   *restore_sql;
	char	   *remove_sql;
	Oid			relid;
	HeapTuple	tuple = SearchSysCache1(CONSTROID, ObjectIdGetDatum(a->objectId));
	Form_pg_constraint constraint = (Form_pg_constraint) GETSTRUCT(tuple);
	bool		foreign = constraint->contype == CONSTRAINT_FOREIGN;
	bool		of_table = OidIsValid(constraint->conrelid);

	/*
	 * An inherited one comes back with its parent's, a NOT NULL
	 * constraint (PostgreSQL 18) with SET NOT NULL.
	 */
	bool		inherited = constraint->coninhcount > 0 || OidIsValid(constraint->conparentid) ||
		constraint->contype == 'n';

	ReleaseSysCache(tuple);
	if (!of_table)
		return false;
	if (!inherited && pass == (foreign ? PASS_FOREIGN_KEYS : PASS_TABLE_PARTS))
	{
		ag_q_recreate_sql(a, &restore_sql, &remove_sql, &relid);
		ag_q_save_restore_step(entry, step, getObjectDescription(a, false), restore_sql, relid);
	}
	return true;
}

/*
 * One object the statement's CASCADE takes besides its columns, in the
 * pass it belongs to: saved as the SQL that recreates it, left to come back
 * with something else, or refused (returns false) when nothing keeps it.  A
 * sequence a dropped column owns is set free and added to *moving, for the
 * caller to move into quarantine.
 */
bool
ag_q_keep_dependent(int64 entry, List **moving, int *step, const ObjectAddress *a, List *objects,
					List *doomed, DependentPass pass)
{
	char	   *restore_sql;
	char	   *remove_sql;
	Oid			relid;

	switch (a->classId)
	{
		case RelationRelationId:
			return keep_dependent_relation(entry, moving, step, a, doomed, pass);
		case TypeRelationId:
			/* a view's row type comes back with it */
			relid = ag_q_syscache_oid(TYPEOID, a->objectId, Anum_pg_type_typrelid);
			if (!OidIsValid(relid))
				relid = ag_q_syscache_oid(TYPEOID, ag_q_syscache_oid(TYPEOID, a->objectId, Anum_pg_type_typelem),
										  Anum_pg_type_typrelid);
			return OidIsValid(relid) && doomed_view(objects, relid);
		case ConstraintRelationId:
			return keep_dependent_constraint(entry, step, a, pass);
		case TriggerRelationId:
			{
				TupleDesc	desc;
				HeapTuple	tuple = ag_q_catalog_row(TriggerRelationId, TriggerOidIndexId, Anum_pg_trigger_oid,
													 a->objectId, &desc);
				Form_pg_trigger trigger = (Form_pg_trigger) GETSTRUCT(tuple);

				/* a foreign key's come with it, a partition's clone with its parent's */
				if (pass == PASS_ON_TOP && !trigger->tgisinternal && !OidIsValid(trigger->tgparentid))
					ag_q_save_restore_step(entry, step, getObjectDescription(a, false),
										   TextDatumGetCString(DirectFunctionCall1(pg_get_triggerdef,
																				   ObjectIdGetDatum(a->objectId))),
										   trigger->tgrelid);
				return true;
			}
		case PolicyRelationId:
			if (pass == PASS_ON_TOP)
			{
				restore_sql = policy_sql(a->objectId, &relid);
				ag_q_save_restore_step(entry, step, getObjectDescription(a, false), restore_sql, relid);
			}
			return true;
		case RewriteRelationId:
			relid = ag_q_scanned_oid(RewriteRelationId, RewriteOidIndexId, Anum_pg_rewrite_oid,
									 a->objectId, Anum_pg_rewrite_ev_class);
			/* a view's own rule is the view */
			if (pass == PASS_ON_TOP &&
				!(doomed_view(objects, relid) &&
				  strcmp(NameStr(((Form_pg_rewrite) GETSTRUCT(ag_q_catalog_row(RewriteRelationId, RewriteOidIndexId,
																			  Anum_pg_rewrite_oid, a->objectId,
																			  NULL)))->rulename),
						 ViewSelectRuleName) == 0))
			{
				ag_q_recreate_sql(a, &restore_sql, &remove_sql, &relid);
				ag_q_save_restore_step(entry, step, getObjectDescription(a, false), restore_sql, relid);
			}
			return true;
		case AttrDefaultRelationId:
			{
				Oid			table = ag_q_scanned_oid(AttrDefaultRelationId, AttrDefaultOidIndexId,
													 Anum_pg_attrdef_oid, a->objectId, Anum_pg_attrdef_adrelid);

				/* a kept column's default comes back with it; another's is remade */
				if (pass == PASS_ON_TOP && !ag_q_relation_captured(objects, table))
				{
					TupleDesc	desc;
					HeapTuple	tuple = ag_q_catalog_row(AttrDefaultRelationId, AttrDefaultOidIndexId,
														 Anum_pg_attrdef_oid, a->objectId, &desc);

					if (!ag_q_doomed_column(doomed, table, ((Form_pg_attrdef) GETSTRUCT(tuple))->adnum))
					{
						ag_q_recreate_sql(a, &restore_sql, &remove_sql, &relid);
						ag_q_save_restore_step(entry, step, getObjectDescription(a, false), restore_sql, relid);
					}
				}
				return true;
			}
		case StatisticExtRelationId:
			if (pass == PASS_ON_TOP)
				ag_q_save_restore_step(entry, step, getObjectDescription(a, false),
									   TextDatumGetCString(DirectFunctionCall1(pg_get_statisticsobjdef,
																			   ObjectIdGetDatum(a->objectId))),
									   ag_q_syscache_oid(STATEXTOID, a->objectId, Anum_pg_statistic_ext_stxrelid));
			return true;
		default:
			return false;
	}
}

/* what the trial dropped that goes when a kept column of a table that stays does */
static bool
goes_with_column(const ObjectAddress *a)
{
	switch (a->classId)
	{
		case RelationRelationId:
			switch (get_rel_relkind(a->objectId))
			{
				case RELKIND_VIEW:
				case RELKIND_MATVIEW:
					return true;
				case RELKIND_INDEX:
				case RELKIND_PARTITIONED_INDEX:
					/* a constraint's index went with its constraint */
					return !OidIsValid(get_index_constraint(a->objectId));
				default:
					return false;
			}
		case TriggerRelationId:
		case PolicyRelationId:
		case StatisticExtRelationId:
			return true;
		case RewriteRelationId:
			/* a view's own rule goes with the view */
			return strcmp(NameStr(((Form_pg_rewrite) GETSTRUCT(ag_q_catalog_row(RewriteRelationId, RewriteOidIndexId,
																			 Anum_pg_rewrite_oid, a->objectId,
																			 NULL)))->rulename),
						  ViewSelectRuleName) != 0;
		default:
			return false;
	}
}

/*
 * A DROP whose CASCADE takes columns of tables that stay (a column whose
 * type is in a dropped schema): each is kept as a column entry's is, with
 * what lives on it, and then goes by itself, after what lives on it, in the
 * order the trial dropped them.  This comes before anything moves, so that
 * the steps name everything where restore puts it back; the members it
 * returns are recorded once the positions after the moved objects are
 * known (ag_q_record_kept_columns).
 */
List *
ag_q_keep_columns_of_drop(int64 entry, int *step, List *objects)
{
	List	   *doomed = NIL;
	List	   *on_them = NIL;	/* what goes with them: judged before anything changes */
	List	   *moving = NIL;	/* stays empty: a sequence of theirs moves with the DROP */
	List	   *kept = NIL;
	ListCell   *lc;
	int			n = 0;

	foreach(lc, objects)
	{
		ObjectAddress *a = lfirst(lc);
		DoomedColumn *d;

		if (ag_q_keeping_of(objects, a) != KEEP_WITH_COLUMN)
			continue;
		if (a->classId != RelationRelationId || a->objectSubId <= 0)
		{
			on_them = lappend(on_them, a);
			continue;
		}
		d = palloc0(sizeof(DoomedColumn));
		d->relid = a->objectId;
		d->attnum = a->objectSubId;
		doomed = lappend(doomed, d);
	}
	if (doomed == NIL)
		return NIL;
	foreach(lc, doomed)
	{
		/* not a name a moved object can have: theirs are q<entry>_<n>_... */
		char	   *name = ag_q_clipped_name(psprintf("q" INT64_FORMAT "_c%d_", entry, ++n),
											 psprintf("%s_%s", get_rel_name(((DoomedColumn *) lfirst(lc))->relid),
													  get_attname(((DoomedColumn *) lfirst(lc))->relid,
																  ((DoomedColumn *) lfirst(lc))->attnum, false)));
		Moved	   *m = ag_q_keep_column(entry, step, lfirst(lc), doomed, name);

		kept = lappend(kept, list_make2(m, name));
	}
	for (DependentPass pass = PASS_TABLE_PARTS; pass <= PASS_ON_TOP; pass++)
	{
		for (int i = 0; i < list_length(on_them); i++)
		{
			/* views are made again in the order opposite to the one they went in */
			ObjectAddress *a = list_nth(on_them, pass == PASS_VIEWS ? list_length(on_them) - 1 - i : i);

			(void) ag_q_keep_dependent(entry, &moving, step, a, objects, doomed, pass);
		}
	}
	/* a sequence a kept column owns moves into quarantine by itself (capture.c) */
	foreach(lc, objects)
	{
		ObjectAddress *a = lfirst(lc);
		Oid			table;
		int32		column;

		if (a->classId == RelationRelationId && a->objectSubId == 0 &&
			get_rel_relkind(a->objectId) == RELKIND_SEQUENCE &&
			sequenceIsOwned(a->objectId, DEPENDENCY_AUTO, &table, &column) &&
			ag_q_doomed_column(doomed, table, column))
			disown_sequence(entry, step, a->objectId, table, column);
	}
	foreach(lc, on_them)
	{
		ObjectAddress *a = lfirst(lc);

		if (getObjectDescription(a, true) != NULL && goes_with_column(a))
			performDeletion(a, DROP_RESTRICT, PERFORM_DELETION_INTERNAL);
	}
	foreach(lc, doomed)
	{
		DoomedColumn *d = lfirst(lc);
		ObjectAddress column;

		/* a child's column went with its parent's */
		ObjectAddressSubSet(column, RelationRelationId, d->relid, d->attnum);
		if (getObjectDescription(&column, true) != NULL)
			performDeletion(&column, DROP_RESTRICT, PERFORM_DELETION_INTERNAL);
	}
	return kept;
}

/* the members ag_q_keep_columns_of_drop kept, from the next free position */
void
ag_q_record_kept_columns(int64 entry, int position, List *kept)
{
	ListCell   *lc;

	foreach(lc, kept)
	{
		List	   *pair = lfirst(lc);

		ag_q_save_member(entry, position++, linitial(pair), true, lsecond(pair));
	}
}
