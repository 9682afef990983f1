/*
 * names.h
 *		The names agentguard is known by: its library, its settings' prefix,
 *		its schemas, and its label provider.  Written once, here.
 */
#ifndef AGENTGUARD_NAMES_H
#define AGENTGUARD_NAMES_H

/* the shared library, the extension and the prefix of its settings */
#define AG_LIBRARY				"agentguard"

/* the prefix of agentguard's schemas, and of quarantined schemas and databases */
#define AG_NAME_PREFIX			"agentguard"
#define AG_QUARANTINE_PREFIX	"agentguard_q"
#define AG_SCHEMA				"agentguard"
#define AG_QUARANTINE_SCHEMA	"agentguard_quarantine"

/* the label provider: role labels, scratch tables, database quarantine records */
#define AG_LABEL_PROVIDER		"agentguard"

#endif							/* AGENTGUARD_NAMES_H */
