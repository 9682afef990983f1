/*
 * protect.h
 *		agentguard's own objects and the system catalogs: what no agent
 *		session may change, and how such a refusal reads.
 */
#ifndef AGENTGUARD_PROTECT_H
#define AGENTGUARD_PROTECT_H

#include "postgres.h"

#include "names.h"

extern bool ag_name_protected(const char *name);
extern void ag_refuse_outright(const char *what, const char *why);
extern bool ag_namespace_protected(Oid namespace);
extern bool ag_namespace_protected_committed(Oid namespace);
extern Oid	ag_object_namespace(Oid classId, Oid objectId);
extern void ag_refuse_protected_object(Oid classId, Oid objectId, const char *verb);
extern void ag_protect_init(void);

#endif							/* AGENTGUARD_PROTECT_H */
