/*
 * xact.h
 *		Everything agentguard keeps for the current transaction, in one
 *		struct, and the one pair of callbacks that forgets it: what a
 *		subtransaction added when it rolls back, all of it when the
 *		transaction ends.  And the one context for what outlives them.
 */
#ifndef AGENTGUARD_XACT_H
#define AGENTGUARD_XACT_H

#include "postgres.h"

#include "nodes/pg_list.h"
#include "utils/palloc.h"
#include "utils/timestamp.h"

/*
 * The first member of every item of the lists below: the subtransaction
 * that added it.  When that subtransaction rolls back, the item goes.
 */
typedef struct AgXactItem
{
	SubTransactionId subxid;
} AgXactItem;

struct AgCountScope;
struct AgKeeping;

typedef struct AgTransaction
{
	/* owner.c: agentguard's own changes underway, on an agent's behalf */
	int			internal_changes;

	/*
	 * waiting.c: the confirmations waiting were read with this transaction's
	 * snapshot, which a repeatable read transaction keeps to its end
	 */
	bool		confirmations_read;

	/* session.c: objects other than relations created in this transaction */
	List	   *created;

	/* dml.c: the DML statements running, innermost last */
	List	   *frames;

	/* dml.c: what DML statements that ended changed, for those they ran in */
	List	   *ended;

	/*
	 * dml.c: a statement of a session that is not an agent's whose rows are
	 * kept (quarantine_drops = 'all'), and the plan nodes wrapped for it
	 */
	struct AgKeeping *keeping;
	List	   *kept_nodes;

	/* dml.c: rows changed by triggers outside any counted statement */
	struct AgCountScope *trigger_scope;
	TimestampTz trigger_statement;

	/*
	 * settings.c and rehearse.c: this transaction is a rehearsal
	 * (agentguard.rehearse), and the request bodies (bytea *) it recorded,
	 * in order, with their total length.  Neither rolls back with a
	 * subtransaction: a rehearsal stays one, and the refusal at its commit
	 * names every statement it ran that needed approval.
	 */
	bool		rehearsing;
	List	   *rehearsed;
	size_t		rehearsed_bytes;
} AgTransaction;

extern AgTransaction ag_xact;

/*
 * Where ag_xact's contents live: reset when the transaction ends (commit,
 * abort or PREPARE), as TopTransactionContext would be.
 */
extern MemoryContext ag_xact_context(void);

/* a list item of size bytes, in ag_xact_context, of this subtransaction */
extern void *ag_xact_item(size_t size);

/*
 * Whatever gives the transaction state of agentguard's calls this first, so
 * that the end of the transaction resets it; ag_xact_context() does.
 */
extern bool ag_xact_callbacks_registered;
extern void ag_xact_register_callbacks(void);

/* called once, when the session's first state of agentguard's is made */
typedef void (*AgFirstState) (void);
extern void ag_xact_set_first_state(AgFirstState hook);

static inline void
ag_xact_needs_callbacks(void)
{
	if (unlikely(!ag_xact_callbacks_registered))
		ag_xact_register_callbacks();
}

/*
 * What must hold before anything commits: called at the start of the
 * callbacks' pre-commit (and pre-prepare) work while a rehearsal is under
 * way, to refuse the commit.
 */
typedef void (*AgCommitCheck) (void);
extern void ag_xact_set_commit_check(AgCommitCheck check);

/*
 * Put agentguard's transaction callbacks before every other's: the server
 * calls the one registered last first, and an extension that registers
 * later (postgres_fdw, at its first connection) would otherwise do its
 * pre-commit work, such as committing remote transactions, before a
 * rehearsal's commit is refused.
 */
extern void ag_xact_callbacks_first(void);

/*
 * What outlives transactions (the labelled roles, agentguard's schemas,
 * the built-in functions that reach outside) lives in one long-lived context
 * of agentguard's own.
 */
extern MemoryContext ag_backend_context(void);

#endif							/* AGENTGUARD_XACT_H */
