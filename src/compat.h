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

/* ownership checks became one function for all catalogs in 16 */
#if PG_VERSION_NUM >= 160000
#define ag_relation_ownercheck(relid, roleid) \
	object_ownercheck(RelationRelationId, (relid), (roleid))
#else
#define ag_relation_ownercheck(relid, roleid) \
	pg_class_ownercheck((relid), (roleid))
#endif

#endif							/* AGENTGUARD_COMPAT_H */
