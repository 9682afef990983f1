/*
 * quarantine/column.c
 *		A confirmed ALTER TABLE ... DROP COLUMN or ALTER COLUMN ... TYPE
 *		destroys nothing: the column's values are kept, matched to their rows
 *		by a key, with the SQL that gives the column back everything it had.
 *
 * Before the statement runs, as the extension's owner, for every column it
 * drops or retypes (its trial names the children's columns too):
 *
 *	- the values go into a table in agentguard_quarantine beside the key
 *	  that finds their rows again: the primary key, else the replica
 *	  identity index, else a unique index over NOT NULL columns, none of
 *	  them over a column the statement destroys; a table without one keeps
 *	  each row's other columns instead, and restore finds the rows by them
 *	  (rows alike in all of them are alike: which of them gets which value
 *	  makes no difference).  Only a table with rows and nothing else to
 *	  match them by is refused, with nothing changed;
 *	- the column's type, typmod and collation are those of the kept copy;
 *	  its default, NOT NULL, identity or generation expression, comment and
 *	  grants are written down as restore steps;
 *	- what a CASCADE takes with it is written down as the SQL that makes
 *	  it again (cascade.c); a sequence the column owns moves into
 *	  quarantine.
 *
 * Then the statement itself runs.  Restore (column_restore.c) adds the
 * column back at the end of the table (PostgreSQL cannot put a column back
 * in the middle) or gives it its old type, fills it by key, and runs the
 * steps.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/comment.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "capture.h"
#include "citus_keep.h"
#include "compat.h"
#include "quarantine.h"
#include "quarantine/internal.h"
#include "scratch.h"
#include "settings.h"

/*
 * The columns the statement drops (its trial dropped them) and those it
 * retypes (the classified statement is bound to them, and nothing dropped
 * them), in that order.
 */
static List *
doomed_columns(const AgStatement *statement, List *objects)
{
	List	   *doomed = NIL;
	List	   *children = NIL;
	ListCell   *lc;

	foreach(lc, objects)
	{
		ObjectAddress *a = lfirst(lc);
		DoomedColumn *d;

		if (a->classId != RelationRelationId || a->objectSubId <= 0)
			continue;
		d = palloc0(sizeof(DoomedColumn));
		d->relid = a->objectId;
		d->attnum = a->objectSubId;
		/* the column the statement names first, its children's after */
		if (get_rel_relispartition(d->relid) || has_superclass(d->relid))
			children = lappend(children, d);
		else
			doomed = lappend(doomed, d);
	}
	doomed = list_concat(doomed, children);
	foreach(lc, statement->objects)
	{
		ObjectAddress *a = lfirst(lc);
		DoomedColumn *d;

		if (a->classId != RelationRelationId || a->objectSubId <= 0 ||
			ag_q_doomed_column(doomed, a->objectId, a->objectSubId))
			continue;
		d = palloc0(sizeof(DoomedColumn));
		d->relid = a->objectId;
		d->attnum = a->objectSubId;
		d->retyped = true;
		doomed = lappend(doomed, d);
	}
	return doomed;
}
/* the kept copy of a column at position in the entry */
static char *
kept_name(int64 entry, int position, const DoomedColumn *d)
{
	return ag_q_quarantine_name(entry, position, psprintf("%s_%s", get_rel_name(d->relid),
														  get_attname(d->relid, d->attnum, false)));
}

/*
 * Refuses, before anything changes, a statement whose CASCADE takes what
 * nothing here keeps: the columns of other tables (a column whose type is
 * the altered table's row type, say).
 */
static void
refuse_what_cannot_be_kept(List *objects, List *doomed, List *tables)
{
	ListCell   *lc;
	bool		drops = false;
	bool		retypes = false;

	/*
	 * A change of type rebuilds the column's indexes and constraints, which
	 * the trial would show as dropped: with columns dropped in the same
	 * statement, what is rebuilt could not be told from what is destroyed.
	 */
	foreach(lc, doomed)
	{
		drops = drops || !((DoomedColumn *) lfirst(lc))->retyped;
		retypes = retypes || ((DoomedColumn *) lfirst(lc))->retyped;
	}
	if (drops && retypes)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("agentguard: cannot quarantine an ALTER TABLE that both drops a column and changes the type of one"),
				 errdetail("agentguard keeps what a confirmed statement destroys; it keeps each of these apart."),
				 errhint("Run the DROP COLUMN and the ALTER COLUMN ... TYPE as two statements, each confirmed.")));
	foreach(lc, objects)
	{
		ObjectAddress *a = lfirst(lc);
		bool		kept;

		/* made and dropped within the trial (a rewrite's new storage): not destroyed */
		if (getObjectDescription(a, true) == NULL)
			continue;
		kept = a->classId == RelationRelationId && a->objectSubId > 0 ?
			list_member_oid(tables, a->objectId) :
			ag_q_keep_dependent(0, NULL, NULL, a, objects, doomed, PASS_JUDGE);

		if (!kept)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("agentguard: cannot quarantine this ALTER TABLE: it would also drop %s",
							getObjectDescription(a, false)),
					 errdetail("agentguard keeps what a confirmed statement destroys so that it can be restored, and it cannot keep that."),
					 errhint("Drop or change that object first, then run the statement again; or set agentguard.quarantine_drops = 'off' for a change that destroys.")));
	}
}

/* does the ALTER TABLE have a subcommand of this type */
static bool
alter_has(AlterTableStmt *alter, AlterTableType subtype)
{
	ListCell   *lc;

	foreach(lc, alter->cmds)
		if (lfirst_node(AlterTableCmd, lc)->subtype == subtype)
			return true;
	return false;
}

/* the covered ALTER TABLEs: those that drop or retype a table's columns */
bool
ag_quarantine_covers_alter(AlterTableStmt *alter)
{
	return alter->objtype == OBJECT_TABLE && ag_quarantine_drops != AG_QUARANTINE_OFF &&
		(alter_has(alter, AT_DropColumn) || alter_has(alter, AT_AlterColumnType));
}

/* one that drops columns: what else it takes, only its trial can tell */
bool
ag_quarantine_alter_drops(AlterTableStmt *alter)
{
	return alter_has(alter, AT_DropColumn);
}

/*
 * The columns an ALTER TABLE retypes, in the named table and, unless ONLY
 * was written, its children, as ObjectAddresses: for a session that is not
 * an agent's, whose statement no one classified (quarantine_drops = 'all').
 */
List *
ag_quarantine_retyped_columns(AlterTableStmt *alter)
{
	Oid			relid = RangeVarGetRelid(alter->relation, NoLock, true);
	List	   *tables;
	List	   *columns = NIL;
	ListCell   *lc;

	if (!OidIsValid(relid))
		return NIL;
	tables = alter->relation->inh ? find_all_inheritors(relid, NoLock, NULL) : list_make1_oid(relid);
	foreach(lc, alter->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);
		ListCell   *tc;

		if (cmd->subtype != AT_AlterColumnType)
			continue;
		foreach(tc, tables)
		{
			AttrNumber	attnum = get_attnum(lfirst_oid(tc), cmd->name);
			ObjectAddress *address = palloc(sizeof(ObjectAddress));

			if (attnum == InvalidAttrNumber)
				continue;
			ObjectAddressSubSet(*address, RelationRelationId, lfirst_oid(tc), attnum);
			columns = lappend(columns, address);
		}
	}
	return columns;
}

void
ag_quarantine_alter_table(const AgStatement *statement, List *objects,
						  AgUtilityRunner run, void *run_arg)
{
	List	   *doomed = doomed_columns(statement, objects);
	List	   *tables = NIL;
	AgOwnerSession ls;
	ListCell   *lc;
	int64		entry;
	XLogRecPtr	lsn;
	int			position = 0;
	int			step = 0;
	List	   *moving = NIL;
	DoomedColumn *first;
	char	   *original;
	char	   *quarantined_as;

	/* temporary tables, and columns of foreign tables, which hold no values here */
	foreach(lc, doomed)
	{
		DoomedColumn *d = lfirst(lc);
		char		relkind = get_rel_relkind(d->relid);

		if (isAnyTempNamespace(get_rel_namespace(d->relid)) ||
			(relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE))
			doomed = foreach_delete_current(doomed, lc);
		else
			tables = list_append_unique_oid(tables, d->relid);
	}
	if (doomed == NIL)
	{
		run(run_arg);
		return;
	}
	refuse_what_cannot_be_kept(objects, doomed, tables);
	if (unlikely(ag_citus_loaded))
		ag_citus_check_columns_kept(tables);
	if (!ag_q_open_or_warn(&ls, "ALTER TABLE"))
	{
		run(run_arg);
		return;
	}

	entry = ag_q_new_entry_id();
	first = linitial(doomed);
	original = psprintf("%s.%s", ag_q_relation_qualified(first->relid),
						quote_identifier(get_attname(first->relid, first->attnum, false)));
	lsn = ag_q_record_entry(entry, "column", get_namespace_name(get_rel_namespace(first->relid)),
							psprintf("%s.%s", get_rel_name(first->relid),
									 get_attname(first->relid, first->attnum, false)),
							"", statement);
	quarantined_as = NULL;
	foreach(lc, doomed)
	{
		char	   *kept = kept_name(entry, position, lfirst(lc));

		ag_q_save_member(entry, position++, ag_q_keep_column(entry, &step, lfirst(lc), doomed, kept), true, kept);
		if (quarantined_as == NULL)
			quarantined_as = ag_q_qualified(AG_QUARANTINE_SCHEMA, kept);
	}
	ag_q_set_quarantined_as(entry, quarantined_as);
	for (DependentPass pass = PASS_TABLE_PARTS; pass <= PASS_ON_TOP; pass++)
	{
		/* views are made again in the order opposite to the one they went in */
		if (pass == PASS_VIEWS)
		{
			for (int i = list_length(objects) - 1; i >= 0; i--)
				(void) ag_q_keep_dependent(entry, &moving, &step, list_nth(objects, i), objects, doomed, pass);
			continue;
		}
		foreach(lc, objects)
			(void) ag_q_keep_dependent(entry, &moving, &step, lfirst(lc), objects, doomed, pass);
	}
	foreach(lc, moving)
		ag_q_move(entry, &position, lfirst(lc));
	ag_q_log_quarantine(statement, original, entry, quarantined_as, position, lsn);
	ag_owner_close(&ls);
	run(run_arg);
}
