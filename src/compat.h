/*
 * compat.h
 *		Every difference between the PostgreSQL versions agentguard supports
 *		(15 to 18), and nothing else.
 */
#ifndef AGENTGUARD_COMPAT_H
#define AGENTGUARD_COMPAT_H

#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 190000
#error "agentguard supports PostgreSQL 15 to 18"
#endif

/*
 * From 16, PGXS builds every module with -fvisibility=hidden and exports
 * only what the server looks up (PGDLLEXPORT: the magic block, _PG_init, the
 * SQL-callable functions); 15 exports every symbol, so each call and global
 * variable the per-statement hooks touch goes through the PLT and the GOT.
 * The Makefile builds with -fvisibility=hidden on 15 as well and defines
 * PGDLLEXPORT as 16's c.h does; this exports the SQL-callable functions as
 * 16's fmgr.h declares them.
 */
#if PG_VERSION_NUM < 160000
#include "fmgr.h"
#undef PG_FUNCTION_INFO_V1
#define PG_FUNCTION_INFO_V1(funcname) \
extern PGDLLEXPORT Datum funcname(PG_FUNCTION_ARGS); \
extern PGDLLEXPORT const Pg_finfo_record * CppConcat(pg_finfo_,funcname)(void); \
const Pg_finfo_record * \
CppConcat(pg_finfo_,funcname) (void) \
{ \
	static const Pg_finfo_record my_finfo = { 1 }; \
	return &my_finfo; \
} \
extern int no_such_variable
#endif

/* ownership checks became one function for all catalogs in 16 */
#if PG_VERSION_NUM >= 160000
#define ag_object_ownercheck(classid, objectid, roleid) \
	object_ownercheck((classid), (objectid), (roleid))
#else
#define ag_object_ownercheck(classid, objectid, roleid) \
	((classid) == DatabaseRelationId ? pg_database_ownercheck((objectid), (roleid)) : \
	 pg_class_ownercheck((objectid), (roleid)))
#endif

/* privilege checks became one function for all catalogs in 16 */
#if PG_VERSION_NUM >= 160000
#define ag_namespace_aclcheck(nspid, roleid, mode) \
	object_aclcheck(NamespaceRelationId, (nspid), (roleid), (mode))
#else
#define ag_namespace_aclcheck(nspid, roleid, mode) \
	pg_namespace_aclcheck((nspid), (roleid), (mode))
#endif

/* an identity column's sequence is looked up by its Relation from 17 */
#if PG_VERSION_NUM >= 170000
#define ag_identity_sequence(rel, attnum) getIdentitySequence((rel), (attnum), false)
#else
#define ag_identity_sequence(rel, attnum) getIdentitySequence(RelationGetRelid(rel), (attnum), false)
#endif

/* a column's statistics target became a nullable int2 in 17 (NULL: the default) */
#if PG_VERSION_NUM >= 170000
#define ag_attstattarget(datum, isnull) ((isnull) ? -1 : (int) DatumGetInt16(datum))
#else
#define ag_attstattarget(datum, isnull) ((int) DatumGetInt32(datum))
#endif

/* ExecutorRun lost its execute_once argument in 18 */
#if PG_VERSION_NUM >= 180000
#define AG_EXECUTOR_RUN_ARGS(qd, dir, count, once) (qd, dir, count)
#define AG_EXECUTOR_RUN_PARAMS QueryDesc *queryDesc, ScanDirection direction, uint64 count
#else
#define AG_EXECUTOR_RUN_ARGS(qd, dir, count, once) (qd, dir, count, once)
#define AG_EXECUTOR_RUN_PARAMS QueryDesc *queryDesc, ScanDirection direction, uint64 count, bool execute_once
#endif

/* MERGE's join condition moved out of the jointree in 17 */
/* PostgreSQL 18 asks whether a deferrable primary key will do: it will not */
#if PG_VERSION_NUM >= 180000
#define ag_primary_key_index(rel) RelationGetPrimaryKeyIndex((rel), false)
#else
#define ag_primary_key_index(rel) RelationGetPrimaryKeyIndex(rel)
#endif

#if PG_VERSION_NUM >= 170000
#define ag_merge_join_condition(query) ((query)->mergeJoinCondition)
#else
#define ag_merge_join_condition(query) ((query)->jointree->quals)
#endif

/* the relcache's marks of storage new in this transaction were renamed in 16 */
#if PG_VERSION_NUM >= 160000
#define ag_storage_new_subid(rel) ((rel)->rd_newRelfilelocatorSubid)
#define ag_storage_first_subid(rel) ((rel)->rd_firstRelfilelocatorSubid)
#define ag_assume_new_storage(rel) RelationAssumeNewRelfilelocator(rel)
#else
#define ag_storage_new_subid(rel) ((rel)->rd_newRelfilenodeSubid)
#define ag_storage_first_subid(rel) ((rel)->rd_firstRelfilenodeSubid)
#define ag_assume_new_storage(rel) RelationAssumeNewRelfilenode(rel)
#endif

/* a relation's storage is named by a RelFileLocator from 16, whose direct I/O wants aligned pages */
#if PG_VERSION_NUM >= 160000
#define ag_relation_storage(rel) (&(rel)->rd_locator)
#define ag_page_alloc() ((Page) palloc_aligned(BLCKSZ, PG_IO_ALIGN_SIZE, 0))
#else
#define ag_relation_storage(rel) (&(rel)->rd_node)
#define ag_page_alloc() ((Page) palloc(BLCKSZ))
#endif

/* DefineIndex takes the number of partitions to build from 16 */
#if PG_VERSION_NUM >= 160000
#define ag_define_index(relid, stmt) \
	DefineIndex((relid), (stmt), InvalidOid, InvalidOid, InvalidOid, -1, false, false, true, false, true)
#else
#define ag_define_index(relid, stmt) \
	DefineIndex((relid), (stmt), InvalidOid, InvalidOid, InvalidOid, false, false, true, false, true)
#endif

/* pg_class counts all-frozen pages from 18, and a check can be NOT ENFORCED */
#if PG_VERSION_NUM >= 180000
#define ag_swap_allfrozen(c1, c2) \
	do { int32 ag_swapped_ = (c1)->relallfrozen; (c1)->relallfrozen = (c2)->relallfrozen; (c2)->relallfrozen = ag_swapped_; } while (0)
#define ag_check_enforced(check) ((check)->ccenforced)
#define ag_cooked_enforced(cooked, enforced) ((cooked)->is_enforced = (enforced))
#else
#define ag_swap_allfrozen(c1, c2) ((void) 0)
#define ag_check_enforced(check) true
#define ag_cooked_enforced(cooked, enforced) ((void) (enforced))
#endif

/* a relcache entry forgets its old files itself when it is rebuilt from 17 */
#if PG_VERSION_NUM >= 170000
#define ag_forget_storage(relid) ((void) (relid))
#else
#define ag_forget_storage(relid) RelationCloseSmgrByOid(relid)
#endif

/* every setting of the server, with how many: the count became an argument in 16 */
#if PG_VERSION_NUM >= 160000
#define ag_guc_variables(count) get_guc_variables(count)
#else
#define ag_guc_variables(count) (*(count) = GetNumConfigOptions(), get_guc_variables())
#endif

/* varlena access macros moved to their own header in 16 */
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

/* PostgreSQL 18 marks a function that never returns before it, earlier ones after */
#if PG_VERSION_NUM >= 180000
#define ag_noreturn_before pg_noreturn
#define ag_noreturn_after
#else
#define ag_noreturn_before
#define ag_noreturn_after pg_attribute_noreturn()
#endif

#endif							/* AGENTGUARD_COMPAT_H */
