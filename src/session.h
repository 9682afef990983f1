/*
 * session.h
 *		Is this session an agent's?  Role labels, membership, the one-way
 *		switch, agentguard.scope, and the objects this transaction created.
 */
#ifndef AGENTGUARD_SESSION_H
#define AGENTGUARD_SESSION_H

#include "postgres.h"

extern void ag_session_init(void);
extern bool ag_session_is_agent(void);
extern bool ag_role_labelled(Oid roleid);
extern bool ag_role_is_agent(Oid roleid);
extern void ag_session_latch_switch(void);
extern bool ag_session_switch_latched(void);
extern void ag_session_set_scope_all(bool all);

/* temporary, or created in this transaction */
extern bool ag_object_created_in_this_xact(Oid classId, Oid objectId,
										   int32 subId);
extern void ag_session_note_created(Oid classId, Oid objectId, int32 subId);

#endif							/* AGENTGUARD_SESSION_H */
