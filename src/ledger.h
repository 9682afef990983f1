/*
 * ledger.h
 *		Signers, confirmations and their single use, and the audit table:
 *		the parts of agentguard that live in the database's own tables.
 */
#ifndef AGENTGUARD_LEDGER_H
#define AGENTGUARD_LEDGER_H

#include "postgres.h"

#include "nodes/pg_list.h"

/* what a used confirmation lets its statement do */
typedef struct AgApproval
{
	bool		limits_rows;	/* at most rows, and only in tables */
	uint64		rows;
	List	   *tables;			/* OIDs */
} AgApproval;

struct AgRequest;

/* text for a log line: control characters escaped, quotes doubled */
extern char *ag_log_text(const char *s);

extern void ag_ledger_audit(const char *event, const char *action,
							const char *objects, const char *request,
							const char *detail);

/*
 * Use up a confirmation whose request is bound exactly as this one; true
 * with what it allows in *approval, or false with why not in *why_not.
 */
extern bool ag_ledger_use(const uint8 *binding, const struct AgRequest *request,
						  AgApproval *approval, char **why_not);

#endif							/* AGENTGUARD_LEDGER_H */
