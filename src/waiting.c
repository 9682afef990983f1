/*
 * waiting.c
 *		Whether a confirmation may be waiting in this database.
 *
 * A counted statement of an agent session notes the rows it changes, so
 * that they can be kept if a confirmation is used part way through it.
 * Most statements never meet a confirmation: when none waits, they note
 * nothing.  The answer (the latest expiry of a confirmation not used yet,
 * or none) is read from agentguard.confirmations once and cached for the
 * backend.  agentguard.confirm() invalidates that table's relation cache
 * entry, so every session of the database asks again once the confirming
 * transaction commits, and the confirming session at once; a reset of the
 * relation cache forgets the answer too.  The cache speeds the check up and
 * never decides a confirmation: a statement that uses one it did not expect
 * has noted nothing, and is refused rather than run without keeping its
 * rows (quarantine/rows.c).
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "access/xact.h"

#include "names.h"
#include "owner.h"
#include "waiting.h"
#include "xact.h"

static bool answer_valid = false;
static bool answer_for_this_xact_only = false;
static TimestampTz waiting_until = 0;	/* none waits from then on */
static Oid	confirmations_relid = InvalidOid;

static Oid
confirmations_table(void)
{
	Oid			schema = get_namespace_oid(AG_SCHEMA, true);

	return OidIsValid(schema) ? get_relname_relid("confirmations", schema) : InvalidOid;
}

/*
 * Forget the answer when the table changes or the whole cache is reset; and
 * on any relation's change while the table is not known (the extension may
 * be created since).
 */
static void
relcache_changed(Datum arg pg_attribute_unused(), Oid relid)
{
	if (answer_valid &&
		(relid == InvalidOid || relid == confirmations_relid || !OidIsValid(confirmations_relid)))
		answer_valid = false;
}

static pg_noinline void
read_answer(void)
{
	AgOwnerSession ls;
	bool		isnull = true;
	Datum		latest = (Datum) 0;

	confirmations_relid = confirmations_table();
	if (OidIsValid(confirmations_relid) && ag_owner_open(&ls))
	{
		ag_owner_exec("SELECT pg_catalog.max(expires_at) FROM ONLY agentguard.confirmations WHERE used_at IS NULL",
					  0, NULL, NULL, NULL, SPI_OK_SELECT, "read the confirmations waiting");
		latest = ag_owner_datum(0, 1, &isnull);
		ag_owner_close(&ls);
	}
	waiting_until = isnull ? 0 : DatumGetTimestampTz(latest);
	answer_valid = true;

	/*
	 * A snapshot kept for the whole transaction may miss a confirmation
	 * committed (and announced) before the read: the answer lasts only as
	 * long as that snapshot.
	 */
	answer_for_this_xact_only = IsolationUsesXactSnapshot();
	ag_xact_needs_callbacks();
	ag_xact.confirmations_read = true;
}

bool
ag_confirmation_may_wait(void)
{
	if (unlikely(!answer_valid || (answer_for_this_xact_only && !ag_xact.confirmations_read)))
		read_answer();
	/* one that expired before the statement started cannot be used in it */
	return GetCurrentStatementStartTimestamp() < waiting_until;
}

void
ag_confirmation_made(void)
{
	Oid			relid = confirmations_table();

	if (OidIsValid(relid))
		CacheInvalidateRelcacheByRelid(relid);
	answer_valid = false;
}

void
ag_waiting_init(void)
{
	CacheRegisterRelcacheCallback(relcache_changed, (Datum) 0);
}
