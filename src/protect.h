/*
 * protect.h
 *		agentguard's own objects and the system catalogs: what no agent
 *		session may change, and how such a refusal reads.
 */
#ifndef AGENTGUARD_PROTECT_H
#define AGENTGUARD_PROTECT_H

#include "postgres.h"

/* the prefix of agentguard's schemas, and of quarantined schemas and databases */
#define AG_NAME_PREFIX			"agentguard"
#define AG_QUARANTINE_PREFIX	"agentguard_q"
#define AG_SCHEMA				"agentguard"
#define AG_QUARANTINE_SCHEMA	"agentguard_quarantine"
/* the label provider: role labels, scratch tables, database quarantine records */
#define AG_LABEL_PROVIDER		"agentguard"

extern bool ag_name_protected(const char *name);
extern void ag_refuse_outright(const char *what, const char *why);
extern bool ag_namespace_protected(Oid namespace);
extern bool ag_namespace_protected_committed(Oid namespace);
extern Oid	ag_object_namespace(Oid classId, Oid objectId);
extern void ag_refuse_protected_object(Oid classId, Oid objectId, const char *verb);
extern void ag_protect_init(void);

#endif							/* AGENTGUARD_PROTECT_H */
