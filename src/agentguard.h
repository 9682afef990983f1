/*
 * agentguard.h
 *		Declarations shared by the server-side files of agentguard.
 *
 * Layering: agentguard.c (settings, hooks) -> utility.c / dml.c (what a
 * statement destroys) -> guard.c (the one decision) -> ledger.c, session.c
 * -> request.c (no PostgreSQL includes).
 */
#ifndef AGENTGUARD_H
#define AGENTGUARD_H

#include "postgres.h"

#include "catalog/objectaddress.h"
#include "nodes/parsenodes.h"
#include "nodes/pg_list.h"
#include "utils/guc.h"

#include "compat.h"

/* settings, defined in agentguard.c */
typedef enum AgMode
{
	AG_MODE_OFF,
	AG_MODE_OBSERVE,
	AG_MODE_ENFORCE
} AgMode;

typedef enum AgScope
{
	AG_SCOPE_AGENTS,
	AG_SCOPE_ALL
} AgScope;

typedef enum AgQuarantineDrops
{
	AG_QUARANTINE_OFF,
	AG_QUARANTINE_AGENTS,
	AG_QUARANTINE_ALL
} AgQuarantineDrops;

extern int	ag_mode;
extern int	ag_scope;
extern int	ag_max_rows;
extern int	ag_max_token_ttl;
extern int	ag_quarantine_drops;
extern char *ag_retention;
extern int	ag_max_requests;
extern char *ag_environment;
extern bool ag_agent_switch;

/* session.c: who is an agent */
extern void ag_session_init(void);
extern bool ag_session_is_agent(void);
extern bool ag_role_labelled(Oid roleid);
extern void ag_session_latch_switch(void);
extern bool ag_session_switch_latched(void);
extern bool ag_object_created_in_this_xact(Oid classId, Oid objectId,
										   int32 subId);
extern void ag_session_note_created(Oid classId, Oid objectId, int32 subId);

/*
 * A destructive statement, as the hooks describe it to guard.c.  targets
 * are schema-qualified identities (char *), in the order the statement
 * names them.
 */
typedef struct AgStatement
{
	const char *action;			/* "DROP TABLE", "TRUNCATE", ... */
	const char *verb;			/* plain words: "drop table", ... */
	List	   *targets;
	const char *text;			/* the statement alone, trimmed */
	int			textlen;
} AgStatement;

/* guard.c: the one decision */
typedef enum AgVerdict
{
	AG_ALLOW,					/* nothing to protect, or mode off */
	AG_OBSERVED,				/* observe mode: warned, let it run */
	AG_CONFIRMED				/* a confirmation covers it; it was used */
} AgVerdict;

extern void ag_statement_text(const char *source, int location, int len,
							  const char **text, int *textlen);
extern AgVerdict ag_guard(const AgStatement *stmt, const char *reason);
extern char *ag_request_code(const AgStatement *stmt);
extern void ag_refuse_outright(const char *what, const char *why);
extern void ag_guard_init(void);
extern void ag_internal_changes_begin(void);
extern void ag_internal_changes_end(void);
extern bool ag_internal_changes_underway(void);
extern bool ag_namespace_protected(Oid namespace);
extern bool ag_namespace_protected_committed(Oid namespace);

/* ledger.c: confirmations in the database's own tables */
typedef struct AgLedgerSession
{
	Oid			saved_user;		/* identity to switch back to after SPI */
	int			saved_sec_context;
	int			guc_nest_level; /* search_path is pg_catalog until close */
} AgLedgerSession;
extern bool ag_ledger_open(AgLedgerSession *ls);
extern void ag_ledger_open_as(AgLedgerSession *ls, Oid role);
extern void ag_ledger_close(AgLedgerSession *ls);
extern void ag_ledger_audit(const char *event, const char *action,
							const char *objects, const char *request,
							const char *detail);
struct AgRequest;
extern bool ag_ledger_use(const uint8 *body, size_t len,
						  const struct AgRequest *request, const char *code,
						  char **why_not);

/* dml.c */
extern void ag_install_executor_hooks(void);
extern void ag_check_function_execute(Oid funcid);

struct AgRequest;
extern char *ag_request_objects(const struct AgRequest *request);

/* quarantine.c */
typedef void (*AgUtilityRunner) (void *arg);
extern bool ag_quarantine_covers(DropStmt *drop);
extern void ag_quarantine_drop(DropStmt *drop, const AgStatement *statement,
							   AgUtilityRunner run, void *run_arg);
extern bool ag_quarantine_capturing(void);
extern void ag_quarantine_note_dropped(Oid classId, Oid objectId, int32 subId);
extern void ag_quarantine_note_truncated(Oid relid);
extern void ag_quarantine_truncate(const AgStatement *statement,
								   AgUtilityRunner run, void *run_arg);
extern bool ag_quarantine_dropdb(DropdbStmt *stmt, bool top_level,
								 const AgStatement *statement);

/* utility.c */
extern void ag_install_utility_hook(void);
extern void ag_install_object_access_hook(void);

/* refusals.c */
extern void ag_refusals_init(void);
extern void ag_refusals_record(const uint8 *body, size_t len,
							   const struct AgRequest *request);

#endif							/* AGENTGUARD_H */
