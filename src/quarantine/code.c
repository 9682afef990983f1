/*
 * quarantine/code.c
 *		Restore's check that it runs no code an agent could have planted.
 *
 * Putting rows back runs the table's code: triggers and rules, the defaults
 * and generated columns it computes, check constraints and the checks of its
 * columns' domains, the expressions and operator classes of its indexes, the
 * partition keys of its parents, row-level security policies.  An agent can
 * plant code in any of these after its rows went into quarantine, and a
 * restore runs in whichever session calls it, a DBA's unguarded one
 * included.  So a restore runs none of it:
 *
 *	- the rows go back with session_replication_role = replica, so ordinary
 *	  triggers and rules do not fire and the rows come back as they were;
 *	  foreign keys, whose triggers do not fire either, are checked by
 *	  agentguard afterwards (check_foreign_keys, in restore.c);
 *	- before any row moves, restore refuses, naming what it found, when a
 *	  trigger or rule would fire all the same (ENABLE ALWAYS or ENABLE
 *	  REPLICA), when row-level security is forced on the table, or when an
 *	  expression it would evaluate calls a function an agent could have
 *	  written (in any language but C and internal, which agent sessions
 *	  cannot create functions in), a built-in one that runs code handed to it
 *	  at run time, or a volatile one (which can reach outside the row: change
 *	  settings, send notifications, read files).
 *
 * The steps of a restore that evaluate expressions get the same check:
 * attaching a partition, adding a foreign key back, and making again an
 * index, a constraint or a generated column that a kept column had.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_cast.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_index.h"
#include "catalog/pg_language.h"
#include "catalog/pg_partitioned_table.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_range.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "parser/parse_type.h"
#include "parser/parser.h"
#include "rewrite/rewriteDefine.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "quarantine/internal.h"

/* what one check has looked at, and what it found */
typedef struct CodeCheck
{
	const char *where;			/* whose expression is being looked at */
	List	   *types;			/* types already looked at */
	List	   *families;		/* operator families already looked at */
	List	   *found;			/* char *: what would run, one line each */
	bool		step;			/* found in a saved step, not the table's own */
} CodeCheck;

/* built-in code that runs code it is handed: SQL text, a type named at run time */
static const char *const code_runners[] = {
	"query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema",
	"cursor_to_xml", "cursor_to_xmlschema",
	"table_to_xml", "table_to_xmlschema", "table_to_xml_and_xmlschema",
	"schema_to_xml", "schema_to_xmlschema", "schema_to_xml_and_xmlschema",
	"database_to_xml", "database_to_xmlschema", "database_to_xml_and_xmlschema",
	"ts_stat1", "ts_stat2", "tsquery_rewrite_query",
	"record_in", "record_recv", "array_in", "array_recv", "domain_in", "domain_recv",
	"range_in", "range_recv", "multirange_in", "multirange_recv",
	NULL
};

/* volatile functions that defaults call and that touch nothing but a sequence */
static const char *const plain_volatile[] = {
	"nextval_oid", "gen_random_uuid", "pg_random_uuid", "drandom", "clock_timestamp", "timeofday",
	"uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4",
	NULL
};

/* symbol, the C name of a built-in function, is on list */
static bool
listed(const char *symbol, const char *const *list)
{
	for (int i = 0; symbol && list[i]; i++)
		if (strcmp(symbol, list[i]) == 0)
			return true;
	return false;
}

/* one line of what would run, once */
static void
found_code(CodeCheck *cc, char *line)
{
	ListCell   *lc;

	foreach(lc, cc->found)
		if (strcmp(lfirst(lc), line) == 0)
			return;
	cc->found = lappend(cc->found, line);
}

/*
 * A function the restore would call: called is false for the functions of a
 * type (input, output, casts), which only an agent's own code makes unsafe.
 */
static void
check_function(CodeCheck *cc, Oid funcid, bool called)
{
	HeapTuple	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	Form_pg_proc proc;
	char	   *symbol = NULL;
	bool		isnull;

	if (!HeapTupleIsValid(tuple))
		return;
	proc = (Form_pg_proc) GETSTRUCT(tuple);
	if (proc->prolang == INTERNALlanguageId || proc->prolang == ClanguageId)
		symbol = TextDatumGetCString(SysCacheGetAttr(PROCOID, tuple, Anum_pg_proc_prosrc, &isnull));
	else if (funcid >= FirstNormalObjectId)
		found_code(cc, psprintf("%s calls %s, written in %s", cc->where, format_procedure_qualified(funcid),
								get_language_name(proc->prolang, false)));
	if (called && listed(symbol, code_runners))
		found_code(cc, psprintf("%s calls %s, which runs code it is handed", cc->where,
								format_procedure_qualified(funcid)));
	/* (a function in another language of an agent's is named above already) */
	else if (called && proc->provolatile == PROVOLATILE_VOLATILE && !listed(symbol, plain_volatile) &&
			 (symbol != NULL || funcid < FirstNormalObjectId))
		found_code(cc, psprintf("%s calls %s, which is volatile", cc->where, format_procedure_qualified(funcid)));
	ReleaseSysCache(tuple);
}

static void check_type(CodeCheck *cc, Oid typid);

/* for check_functions_in_node: every function a node calls */
static bool
check_called_function(Oid funcid, void *context)
{
	check_function((CodeCheck *) context, funcid, true);
	return false;
}

/* what an expression calls, and the types of what it computes */
static bool
code_walker(Node *node, void *context)
{
	CodeCheck  *cc = context;

	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		/* no expression the restore evaluates may hold one; be sure */
		found_code(cc, psprintf("%s holds a subquery", cc->where));
		return false;
	}
	/* a coercion through text: its types are looked at, not record_in's name */
	if (!IsA(node, CoerceViaIO))
		(void) check_functions_in_node(node, check_called_function, cc);
	switch (nodeTag(node))
	{
		case T_Var:
		case T_Const:
		case T_Param:
		case T_FuncExpr:
		case T_OpExpr:
		case T_RelabelType:
		case T_CoerceViaIO:
		case T_ArrayCoerceExpr:
		case T_ConvertRowtypeExpr:
		case T_ArrayExpr:
		case T_RowExpr:
		case T_CoerceToDomain:
		case T_FieldSelect:
		case T_CaseExpr:
		case T_CoalesceExpr:
		case T_MinMaxExpr:
		case T_SubscriptingRef:
			/* a domain's checks, a type's casts, a composite's columns */
			check_type(cc, exprType(node));
			break;
		default:
			break;
	}
	return expression_tree_walker(node, code_walker, context);
}

/* an expression kept as a pg_node_tree */
static void
check_expression(CodeCheck *cc, Datum tree, const char *where)
{
	const char *outer = cc->where;

	cc->where = where;
	(void) code_walker(stringToNode(TextDatumGetCString(tree)), cc);
	cc->where = outer;
}

/* the functions a type is read, written and analyzed with */
static void
check_type_functions(CodeCheck *cc, Form_pg_type type)
{
	Oid			functions[8];

	functions[0] = type->typinput;
	functions[1] = type->typoutput;
	functions[2] = type->typreceive;
	functions[3] = type->typsend;
	functions[4] = type->typmodin;
	functions[5] = type->typmodout;
	functions[6] = type->typanalyze;
	functions[7] = type->typsubscript;
	for (int i = 0; i < (int) lengthof(functions); i++)
		if (OidIsValid(functions[i]))
			check_function(cc, functions[i], false);
}

/*
 * A domain's default, its base type and its checks: tuple is its row of
 * pg_type, name its name for what is found.
 */
static void
check_domain(CodeCheck *cc, HeapTuple tuple, Oid typid, const char *name)
{
	Form_pg_type type = (Form_pg_type) GETSTRUCT(tuple);
	Relation	catalog = table_open(ConstraintRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	constraint;
	bool		isnull;
	Datum		tree = SysCacheGetAttr(TYPEOID, tuple, Anum_pg_type_typdefaultbin, &isnull);

	/* a column of the domain that the kept rows lack takes its default */
	if (!isnull)
		check_expression(cc, tree, psprintf("the default of domain %s", name));
	check_type(cc, type->typbasetype);
	ScanKeyInit(&key, Anum_pg_constraint_contypid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(typid));
	scan = systable_beginscan(catalog, ConstraintTypidIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(constraint = systable_getnext(scan)))
	{
		tree = heap_getattr(constraint, Anum_pg_constraint_conbin, RelationGetDescr(catalog), &isnull);
		if (!isnull)
			check_expression(cc, tree, psprintf("check %s of domain %s",
												quote_identifier(NameStr(((Form_pg_constraint) GETSTRUCT(constraint))->conname)),
												name));
	}
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
}

/* a range type's subtype, and the functions it canonicalizes and compares with */
static void
check_range(CodeCheck *cc, Oid typid)
{
	HeapTuple	range = SearchSysCache1(RANGETYPE, ObjectIdGetDatum(typid));

	check_type(cc, get_range_subtype(typid));
	if (HeapTupleIsValid(range))
	{
		Form_pg_range r = (Form_pg_range) GETSTRUCT(range);

		if (OidIsValid(r->rngcanonical))
			check_function(cc, r->rngcanonical, false);
		if (OidIsValid(r->rngsubdiff))
			check_function(cc, r->rngsubdiff, false);
		ReleaseSysCache(range);
	}
}

/* the casts from a type: to_json, for one, calls a cast to json by name */
static void
check_casts_from(CodeCheck *cc, Oid typid)
{
	Relation	catalog = table_open(CastRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	cast;

	ScanKeyInit(&key, Anum_pg_cast_castsource, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(typid));
	scan = systable_beginscan(catalog, CastSourceTargetIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(cast = systable_getnext(scan)))
		if (OidIsValid(((Form_pg_cast) GETSTRUCT(cast))->castfunc))
			check_function(cc, ((Form_pg_cast) GETSTRUCT(cast))->castfunc, false);
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
}

/*
 * What a type of an agent's runs: the checks of a domain, the casts from the
 * type (to_json calls one by name), the types it is made of, its functions.
 */
static void
check_type(CodeCheck *cc, Oid typid)
{
	HeapTuple	tuple;
	Form_pg_type type;
	const char *outer = cc->where;
	char	   *name;

	if (typid < FirstNormalObjectId || list_member_oid(cc->types, typid))
		return;
	cc->types = lappend_oid(cc->types, typid);
	tuple = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	if (!HeapTupleIsValid(tuple))
		return;
	type = (Form_pg_type) GETSTRUCT(tuple);
	name = format_type_be_qualified(typid);
	cc->where = psprintf("type %s", name);
	check_type_functions(cc, type);
	switch (type->typtype)
	{
		case TYPTYPE_DOMAIN:
			check_domain(cc, tuple, typid, name);
			break;
		case TYPTYPE_COMPOSITE:
			{
				TupleDesc	desc = lookup_rowtype_tupdesc(typid, -1);

				for (int i = 0; i < desc->natts; i++)
					if (!TupleDescAttr(desc, i)->attisdropped)
						check_type(cc, TupleDescAttr(desc, i)->atttypid);
				ReleaseTupleDesc(desc);
				break;
			}
		case TYPTYPE_RANGE:
			check_range(cc, typid);
			break;
		case TYPTYPE_MULTIRANGE:
			check_type(cc, get_multirange_range(typid));
			break;
		default:
			if (IsTrueArrayType(type))
				check_type(cc, type->typelem);
			break;
	}
	ReleaseSysCache(tuple);
	check_casts_from(cc, typid);
	cc->where = outer;
}

/* the functions of an operator family an agent's index or key uses */
static void
check_operator_family(CodeCheck *cc, Oid opfamily, const char *where)
{
	const char *outer = cc->where;
	Relation	catalog;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;

	if (opfamily < FirstNormalObjectId || list_member_oid(cc->families, opfamily))
		return;
	cc->families = lappend_oid(cc->families, opfamily);
	cc->where = where;
	catalog = table_open(AccessMethodProcedureRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_amproc_amprocfamily, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(opfamily));
	scan = systable_beginscan(catalog, AccessMethodProcedureIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
		check_function(cc, ((Form_pg_amproc) GETSTRUCT(tuple))->amproc, true);
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	catalog = table_open(AccessMethodOperatorRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_amop_amopfamily, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(opfamily));
	scan = systable_beginscan(catalog, AccessMethodStrategyIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
		check_function(cc, get_opcode(((Form_pg_amop) GETSTRUCT(tuple))->amopopr), true);
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	cc->where = outer;
}

/* the functions of operators, as a constraint keeps them (an oid[]) */
static void
check_operators(CodeCheck *cc, Datum operators, const char *where)
{
	ArrayType  *array = DatumGetArrayTypeP(operators);
	Datum	   *elements;
	int			count;
	const char *outer = cc->where;

	deconstruct_array(array, OIDOID, sizeof(Oid), true, TYPALIGN_INT, &elements, NULL, &count);
	cc->where = where;
	for (int i = 0; i < count; i++)
		check_function(cc, get_opcode(DatumGetObjectId(elements[i])), true);
	cc->where = outer;
}

/* the partition key of a partitioned table: a row of any partition is checked against it */
static void
check_partition_key(CodeCheck *cc, Oid relid)
{
	HeapTuple	tuple = SearchSysCache1(PARTRELID, ObjectIdGetDatum(relid));
	Form_pg_partitioned_table key;
	char	   *where = psprintf("the partition key of %s", ag_q_relation_qualified(relid));
	Datum		exprs;
	bool		isnull;

	if (!HeapTupleIsValid(tuple))
		return;
	key = (Form_pg_partitioned_table) GETSTRUCT(tuple);
	exprs = SysCacheGetAttr(PARTRELID, tuple, Anum_pg_partitioned_table_partexprs, &isnull);
	if (!isnull)
		check_expression(cc, exprs, where);
	for (int i = 0; i < key->partnatts; i++)
	{
		Datum		classes = SysCacheGetAttr(PARTRELID, tuple, Anum_pg_partitioned_table_partclass, &isnull);

		check_operator_family(cc, get_opclass_family(((oidvector *) DatumGetPointer(classes))->values[i]), where);
	}
	ReleaseSysCache(tuple);
}

/* triggers and rules on relid that fire in replica mode too */
static void
check_firing(CodeCheck *cc, Oid relid, const char *name)
{
	Relation	catalog;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;

	catalog = table_open(TriggerRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_trigger_tgrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(catalog, TriggerRelidNameIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_trigger trigger = (Form_pg_trigger) GETSTRUCT(tuple);

		if (trigger->tgenabled == TRIGGER_FIRES_ALWAYS || trigger->tgenabled == TRIGGER_FIRES_ON_REPLICA)
			found_code(cc, psprintf("trigger %s on %s would fire during the restore (ENABLE %s TRIGGER)",
									quote_identifier(NameStr(trigger->tgname)), name,
									trigger->tgenabled == TRIGGER_FIRES_ALWAYS ? "ALWAYS" : "REPLICA"));
	}
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	catalog = table_open(RewriteRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_rewrite_ev_class, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(catalog, RewriteRelRulenameIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_rewrite rule = (Form_pg_rewrite) GETSTRUCT(tuple);

		if (rule->ev_enabled == RULE_FIRES_ALWAYS || rule->ev_enabled == RULE_FIRES_ON_REPLICA)
			found_code(cc, psprintf("rule %s on %s would fire during the restore (ENABLE %s RULE)",
									quote_identifier(NameStr(rule->rulename)), name,
									rule->ev_enabled == RULE_FIRES_ALWAYS ? "ALWAYS" : "REPLICA"));
	}
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
}

/*
 * The columns of a relation: their types, and what is computed for them
 * (generated columns, and the defaults of those in computed).
 */
static void
check_columns(CodeCheck *cc, Oid relid, TupleDesc desc, const char *name, Bitmapset *computed)
{
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped)
			continue;
		cc->where = psprintf("column %s of %s", quote_identifier(NameStr(att->attname)), name);
		check_type(cc, att->atttypid);
		if (att->atthasdef && (att->attgenerated != '\0' || bms_is_member(att->attnum, computed)))
		{
			Relation	catalog;
			SysScanDesc scan;
			HeapTuple	def;
			ScanKeyData keys[2];
			bool		isnull;

			catalog = table_open(AttrDefaultRelationId, AccessShareLock);
			ScanKeyInit(&keys[0], Anum_pg_attrdef_adrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
			ScanKeyInit(&keys[1], Anum_pg_attrdef_adnum, BTEqualStrategyNumber, F_INT2EQ, Int16GetDatum(att->attnum));
			scan = systable_beginscan(catalog, AttrDefaultIndexId, true, NULL, 2, keys);
			if (HeapTupleIsValid(def = systable_getnext(scan)))
				check_expression(cc, heap_getattr(def, Anum_pg_attrdef_adbin, RelationGetDescr(catalog), &isnull),
								 psprintf("the %s of column %s of %s",
										  att->attgenerated != '\0' ? "generation expression" : "default",
										  quote_identifier(NameStr(att->attname)), name));
			systable_endscan(scan);
			table_close(catalog, AccessShareLock);
		}
	}
}

/* the constraints of a relation: checks, foreign keys' and exclusions' operators */
static void
check_constraints(CodeCheck *cc, Oid relid, const char *name)
{
	Relation	catalog = table_open(ConstraintRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;

	ScanKeyInit(&key, Anum_pg_constraint_conrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(catalog, ConstraintRelidTypidNameIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_constraint constraint = (Form_pg_constraint) GETSTRUCT(tuple);
		char	   *where = psprintf("%s %s of %s",
									 constraint->contype == CONSTRAINT_FOREIGN ? "foreign key" :
									 constraint->contype == CONSTRAINT_EXCLUSION ? "exclusion constraint" :
									 "check constraint",
									 quote_identifier(NameStr(constraint->conname)), name);
		bool		isnull;
		Datum		datum;

		datum = heap_getattr(tuple, Anum_pg_constraint_conbin, RelationGetDescr(catalog), &isnull);
		if (!isnull && constraint->contype == CONSTRAINT_CHECK)
			check_expression(cc, datum, where);
		datum = heap_getattr(tuple, Anum_pg_constraint_conpfeqop, RelationGetDescr(catalog), &isnull);
		if (!isnull && constraint->contype == CONSTRAINT_FOREIGN)
			check_operators(cc, datum, where);
		datum = heap_getattr(tuple, Anum_pg_constraint_conexclop, RelationGetDescr(catalog), &isnull);
		if (!isnull)
			check_operators(cc, datum, where);
	}
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
}

/* the indexes of a relation: expressions, predicates, operator classes */
static void
check_indexes(CodeCheck *cc, Relation rel)
{
	ListCell   *lc;

	foreach(lc, RelationGetIndexList(rel))
	{
		Oid			index = lfirst_oid(lc);
		HeapTuple	row = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(index));
		Form_pg_index form = (Form_pg_index) GETSTRUCT(row);
		char	   *where = psprintf("index %s", ag_q_relation_qualified(index));
		bool		isnull;
		Datum		datum;

		datum = SysCacheGetAttr(INDEXRELID, row, Anum_pg_index_indexprs, &isnull);
		if (!isnull)
			check_expression(cc, datum, where);
		datum = SysCacheGetAttr(INDEXRELID, row, Anum_pg_index_indpred, &isnull);
		if (!isnull)
			check_expression(cc, datum, where);
		datum = SysCacheGetAttr(INDEXRELID, row, Anum_pg_index_indclass, &isnull);
		for (int i = 0; i < form->indnkeyatts; i++)
			check_operator_family(cc, get_opclass_family(((oidvector *) DatumGetPointer(datum))->values[i]),
								  where);
		ReleaseSysCache(row);
	}
}

/*
 * What putting rows into relid, or checking the rows it has, would run:
 * inserter is the role the rows go in as; computed, the columns whose
 * defaults would be computed (generated columns always are).
 */
static void
check_relation(CodeCheck *cc, Oid relid, Oid inserter, Bitmapset *computed)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	char	   *name = ag_q_relation_qualified(relid);
	ListCell   *lc;
	List	   *keyed;

	check_firing(cc, relid, name);

	/* policies apply to the owner only when forced; their code is not looked into */
	if (rel->rd_rel->relrowsecurity && rel->rd_rel->relforcerowsecurity &&
		!superuser_arg(inserter) && !has_bypassrls_privilege(inserter))
		found_code(cc, psprintf("row-level security is forced on %s, so its policies would run (FORCE ROW LEVEL SECURITY)",
								name));

	check_columns(cc, relid, RelationGetDescr(rel), name, computed);
	check_constraints(cc, relid, name);
	check_indexes(cc, rel);

	/* partition keys: its own, and those of every parent above it */
	keyed = get_partition_ancestors(relid);
	if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
		keyed = lappend_oid(keyed, relid);
	foreach(lc, keyed)
		check_partition_key(cc, lfirst_oid(lc));
	relation_close(rel, AccessShareLock);
}

/* refuse, naming what would run and how a DBA clears it */
static void
refuse_code(int64 entry, CodeCheck *cc, const char *kept)
{
	StringInfoData lines;
	ListCell   *lc;

	if (cc->found == NIL)
		return;
	initStringInfo(&lines);
	foreach(lc, cc->found)
		appendStringInfo(&lines, "%s%s", lines.len > 0 ? "\n" : "", (char *) lfirst(lc));
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("agentguard: cannot restore quarantine entry " INT64_FORMAT ": it would run code that an agent could have planted",
					entry),
			 errdetail("%s", lines.data),
			 cc->step ?
			 errhint("A step makes again what the statement took (an index, a check, a generated column) and would call that code. Restore by hand what you trust (SELECT * FROM agentguard.quarantine_objects lists the entry; its saved steps are in agentguard.quarantine_saved), or purge the entry.") :
			 errhint("Remove or change what is listed, then restore again: DROP TRIGGER, or ALTER TABLE ... ENABLE TRIGGER (an ordinary trigger does not fire during a restore); DROP RULE; ALTER TABLE ... NO FORCE ROW LEVEL SECURITY; ALTER TABLE ... DROP CONSTRAINT; DROP INDEX; ALTER TABLE ... ALTER COLUMN ... DROP DEFAULT.%s",
					 kept ? psprintf(" Or read the kept rows in %s and put them back yourself.", kept) : "")));
}

/*
 * A raw expression of a saved step that recreates what a column had:
 * whatever a function or operator name of it could resolve to, and the
 * types it casts to.  Names are not resolved yet, so every candidate is
 * looked at.
 */
static bool
raw_code_walker(Node *node, void *context)
{
	CodeCheck  *cc = context;

	if (node == NULL)
		return false;
	if (IsA(node, FuncCall))
	{
		FuncCandidateList candidates = FuncnameGetCandidates(((FuncCall *) node)->funcname, -1, NIL,
															 false, false, false, true);

		for (; candidates != NULL; candidates = candidates->next)
			check_function(cc, candidates->oid, true);
	}
	else if (IsA(node, A_Expr) && ((A_Expr *) node)->name != NIL)
	{
		FuncCandidateList candidates = OpernameGetCandidates(((A_Expr *) node)->name, '\0', true);

		for (; candidates != NULL; candidates = candidates->next)
			check_function(cc, get_opcode(candidates->oid), true);
	}
	else if (IsA(node, TypeCast))
	{
		Oid			typid = LookupTypeNameOid(NULL, ((TypeCast *) node)->typeName, true);

		if (OidIsValid(typid))
			check_type(cc, typid);
	}
	else if (IsA(node, SubLink))
		found_code(cc, psprintf("%s holds a subquery", cc->where));
	return raw_expression_tree_walker(node, raw_code_walker, context);
}

/* the expressions a step that makes an index or a constraint evaluates */
static void
check_raw_expressions(CodeCheck *cc, Node *stmt)
{
	List	   *expressions = NIL;
	ListCell   *lc;

	if (IsA(stmt, IndexStmt))
	{
		IndexStmt  *index = (IndexStmt *) stmt;

		foreach(lc, index->indexParams)
			expressions = lappend(expressions, lfirst_node(IndexElem, lc)->expr);
		expressions = lappend(expressions, index->whereClause);
	}
	else if (IsA(stmt, AlterTableStmt))
	{
		foreach(lc, ((AlterTableStmt *) stmt)->cmds)
		{
			AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);
			List	   *constraints = NIL;
			ListCell   *cc_lc;

			if (cmd->subtype == AT_AddConstraint)
				constraints = list_make1(cmd->def);
			else if (cmd->subtype == AT_AddColumn)
				constraints = ((ColumnDef *) cmd->def)->constraints;
			foreach(cc_lc, constraints)
			{
				Constraint *constraint = lfirst_node(Constraint, cc_lc);
				ListCell   *ex;

				expressions = lappend(expressions, constraint->raw_expr);
				expressions = lappend(expressions, constraint->where_clause);
				foreach(ex, constraint->exclusions)
					expressions = lappend(expressions, ((IndexElem *) linitial(lfirst(ex)))->expr);
			}
		}
	}
	cc->where = "a step of the restore";
	foreach(lc, expressions)
		(void) raw_code_walker(lfirst(lc), cc);
	cc->step = cc->found != NIL;
}

/*
 * A saved step that evaluates the rows of the tables it names: attaching a
 * partition checks them against its partition constraint (and may build its
 * parent's indexes on it), adding a foreign key checks them against the
 * key.  The tables are those the step's SQL names, found where they are by
 * the time it runs.
 */
void
ag_q_check_restore_step(int64 entry, const RestoreStep *rs)
{
	RawStmt    *raw = linitial_node(RawStmt, raw_parser(rs->sql, RAW_PARSE_DEFAULT));
	AlterTableStmt *alter;
	List	   *tables = NIL;
	ListCell   *lc;
	CodeCheck	cc = {0};

	check_raw_expressions(&cc, raw->stmt);
	if (!IsA(raw->stmt, AlterTableStmt))
	{
		refuse_code(entry, &cc, NULL);
		return;
	}
	alter = (AlterTableStmt *) raw->stmt;
	foreach(lc, alter->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		if (cmd->subtype == AT_AttachPartition)
			tables = lappend(tables, ((PartitionCmd *) cmd->def)->name);
		else if (cmd->subtype == AT_AddConstraint && ((Constraint *) cmd->def)->contype == CONSTR_FOREIGN)
			tables = lappend(tables, ((Constraint *) cmd->def)->pktable);
	}
	if (tables == NIL)
	{
		refuse_code(entry, &cc, NULL);
		return;
	}
	tables = lappend(tables, alter->relation);
	foreach(lc, tables)
	{
		/* held until the step has run: nothing can be added to them meanwhile */
		Oid			relid = RangeVarGetRelid(lfirst_node(RangeVar, lc), ShareRowExclusiveLock, false);

		check_relation(&cc, relid, get_role_oid(rs->run_as, false), NULL);
	}
	refuse_code(entry, &cc, NULL);
}

/*
 * Refuses, with nothing changed, when putting rows into relid as inserter
 * would run code that an agent could have planted; computed are the columns
 * whose defaults would be computed, and kept names where the rows are kept,
 * for the hint.
 */
void
ag_q_check_rows(int64 entry, Oid relid, Oid inserter, Bitmapset *computed, const char *kept)
{
	CodeCheck	cc = {0};

	check_relation(&cc, relid, inserter, computed);
	refuse_code(entry, &cc, kept);
}

/* a kept column's type, before the column is added back and filled */
void
ag_q_check_column_type(int64 entry, Oid typid, const char *kept)
{
	CodeCheck	cc = {0};

	cc.where = "the kept column";
	check_type(&cc, typid);
	refuse_code(entry, &cc, kept);
}
