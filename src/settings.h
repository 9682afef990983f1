/*
 * settings.h
 *		agentguard's settings (GUCs), with the rule that agent sessions never
 *		change them.
 */
#ifndef AGENTGUARD_SETTINGS_H
#define AGENTGUARD_SETTINGS_H

#include "postgres.h"

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
extern int	ag_required_signatures;
extern int	ag_quarantine_drops;
extern char *ag_retention;
extern int	ag_max_requests;
extern char *ag_environment;
extern char *ag_citus_node_certificate;
extern bool ag_agent_switch;

extern void ag_settings_define(void);

#endif							/* AGENTGUARD_SETTINGS_H */
