/*
 * session.h
 *		Is this session an agent's?  Role labels, membership, the one-way
 *		switch, agentguard.scope, and the objects this transaction created.
 */
#ifndef AGENTGUARD_SESSION_H
#define AGENTGUARD_SESSION_H

#include "postgres.h"

#include "miscadmin.h"

extern void ag_session_init(void);

/*
 * The last answer to "is this session an agent's?" and the current user it
 * was for.  It is asked for every statement of every session, so it is
 * read here first; session.c makes it invalid whenever labels,
 * memberships, agentguard.scope, the one-way switch or the session user
 * change.  The current user, which SET ROLE, SECURITY DEFINER functions
 * and maintenance commands change without telling anyone, is compared
 * each time.
 */
typedef struct AgSessionAnswer
{
	bool		valid;
	bool		agent;
	bool		superuser;		/* current_user is one (pg_authid changes drop it) */
	Oid			current_user;
} AgSessionAnswer;

extern AgSessionAnswer ag_session_answer;
extern bool ag_session_is_agent_slow(void);

static inline bool
ag_session_is_agent(void)
{
	if (likely(ag_session_answer.valid &&
			   ag_session_answer.current_user == GetUserId()))
		return ag_session_answer.agent;
	return ag_session_is_agent_slow();
}

extern bool ag_role_labelled(Oid roleid);
extern bool ag_role_is_agent(Oid roleid);
extern bool ag_login_is_trusted(void);
extern void ag_session_latch_switch(void);
extern bool ag_session_switch_latched(void);
extern void ag_session_set_scope_all(bool all);

/* temporary, or created in this transaction */
extern bool ag_object_created_in_this_xact(Oid classId, Oid objectId,
										   int32 subId);
extern void ag_session_note_created(Oid classId, Oid objectId, int32 subId);

#endif							/* AGENTGUARD_SESSION_H */
