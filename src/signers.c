/*
 * signers.c
 *		agentguard.add_signer and agentguard.remove_signer: which DBAs' public
 *		keys this database trusts to sign confirmations.
 *
 * Like the rest of the ledger's tables, agentguard.signers belongs to the
 * extension's owner, so every access runs as that owner; only superusers
 * outside agent sessions get this far.  A removed signer's row stays, so
 * the audit and the confirmations it signed keep naming it.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "compat.h"
#include "ledger.h"
#include "owner.h"
#include "protect.h"
#include "request.h"
#include "session.h"
#include "text.h"

PG_FUNCTION_INFO_V1(agentguard_add_signer);
PG_FUNCTION_INFO_V1(agentguard_remove_signer);

static int
signers_exec(const char *sql, int nargs, Oid *types, Datum *values, int expected)
{
	int			ret = SPI_execute_with_args(sql, nargs, types, values, NULL,
											false, 0);

	if (ret != expected)
		elog(ERROR, "agentguard: signer query failed (%s): %s",
			 SPI_result_code_string(ret), sql);
	return (int) SPI_processed;
}

static Datum
key_id_datum(const uint8 key_id[AG_KEY_ID_LEN])
{
	bytea	   *result = palloc(VARHDRSZ + AG_KEY_ID_LEN);

	SET_VARSIZE(result, VARHDRSZ + AG_KEY_ID_LEN);
	memcpy(VARDATA(result), key_id, AG_KEY_ID_LEN);
	return PointerGetDatum(result);
}

static char *
key_id_hex(const uint8 key_id[AG_KEY_ID_LEN])
{
	char	   *out = palloc(2 * AG_KEY_ID_LEN + 1);

	ag_hex(key_id, AG_KEY_ID_LEN, out);
	return out;
}

/* whether the one row just selected says the signer is active */
static bool
signer_active(void)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

	return !isnull && DatumGetBool(d);
}

static void
refuse_signer_management(void)
{
	if (ag_session_is_agent())
		ag_refuse_outright("manage agentguard signers",
						   "Signers decide which approvals the database accepts.");
	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("agentguard: only superusers can manage signers")));
}

static void
parse_public_key(text *key, uint8 out[AG_PUBKEY_LEN])
{
	const char *err = NULL;

	if (!ag_pubkey_parse(VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key), out, &err))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("agentguard: that is not a usable public key: %s", err),
				 errhint("Pass the line \"agentguard keygen\" printed, which begins with \"%s\".",
						 AG_PUBKEY_PREFIX)));
}

/* agentguard.add_signer(name, public_key) */
Datum
agentguard_add_signer(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	text	   *key_text = PG_GETARG_TEXT_PP(1);
	uint8		key[AG_PUBKEY_LEN];
	uint8		key_id[AG_KEY_ID_LEN];
	char		canonical[AG_PUBKEY_TEXT_LEN + 1];
	AgOwnerSession ls;
	Oid			types[3] = {TEXTOID, TEXTOID, BYTEAOID};
	Datum		values[3];

	refuse_signer_management();
	parse_public_key(key_text, key);
	ag_pubkey_format(key, canonical);
	ag_key_id(key, key_id);
	if (name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("agentguard: a signer needs a name")));

	ag_owner_open(&ls);
	values[0] = CStringGetTextDatum(name);
	values[1] = CStringGetTextDatum(canonical);
	values[2] = key_id_datum(key_id);

	signers_exec("SELECT name FROM ONLY agentguard.signers WHERE key_id OPERATOR(pg_catalog.=) $3 AND name OPERATOR(pg_catalog.<>) $1",
				3, types, values, SPI_OK_SELECT);
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("agentguard: this public key already belongs to signer \"%s\"",
						SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)),
				 errhint("Each signer needs a key of its own; make one with agentguard keygen.")));
	signers_exec("SELECT removed_at IS NULL FROM ONLY agentguard.signers WHERE name OPERATOR(pg_catalog.=) $1",
				3, types, values, SPI_OK_SELECT);
	if (SPI_processed > 0 && signer_active())
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("agentguard: a signer named \"%s\" already exists", name),
				 errhint("To give it a new key, run agentguard.remove_signer('%s') first.", name)));

	/* a removed signer may come back, with a new key or its old one */
	signers_exec("INSERT INTO agentguard.signers (name, public_key, key_id) VALUES ($1, $2, $3) "
				"ON CONFLICT (name) DO UPDATE SET public_key = $2, key_id = $3, "
				"added_at = pg_catalog.now(), added_by = session_user, removed_at = NULL, removed_by = NULL",
				3, types, values, SPI_OK_INSERT);
	ag_ledger_audit("add_signer", NULL, NULL, NULL,
				 psprintf("signer %s, key id %s", name, key_id_hex(key_id)));
	ag_owner_close(&ls);

	ereport(LOG,
			(errmsg("agentguard: signer added role=%s name=%s key_id=%s",
					ag_log_text(quote_identifier(GetUserNameFromId(GetSessionUserId(), false))),
					ag_log_text(quote_identifier(name)), key_id_hex(key_id)),
			 errhidestmt(true)));
	PG_RETURN_VOID();
}

/* agentguard.remove_signer(name) */
Datum
agentguard_remove_signer(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	AgOwnerSession ls;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];

	refuse_signer_management();
	ag_owner_open(&ls);
	values[0] = CStringGetTextDatum(name);
	if (signers_exec("UPDATE ONLY agentguard.signers SET removed_at = pg_catalog.now(), removed_by = session_user "
					"WHERE name OPERATOR(pg_catalog.=) $1 AND removed_at IS NULL",
					1, types, values, SPI_OK_UPDATE) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("agentguard: there is no signer named \"%s\"", name),
				 errhint("SELECT name FROM agentguard.signers WHERE removed_at IS NULL lists them.")));
	ag_ledger_audit("remove_signer", NULL, NULL, NULL, psprintf("signer %s", name));
	ag_owner_close(&ls);

	ereport(LOG,
			(errmsg("agentguard: signer removed role=%s name=%s",
					ag_log_text(quote_identifier(GetUserNameFromId(GetSessionUserId(), false))),
					ag_log_text(quote_identifier(name))),
			 errhidestmt(true)));
	PG_RETURN_VOID();
}
