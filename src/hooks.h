/*
 * hooks.h
 *		The hooks agentguard puts in place at server start: utility
 *		statements and the object-access backstop (utility.c), the planner
 *		and the executor (dml.c).
 */
#ifndef AGENTGUARD_HOOKS_H
#define AGENTGUARD_HOOKS_H

extern void ag_install_utility_hook(void);
extern void ag_install_object_access_hook(void);
extern void ag_install_executor_hooks(void);

#endif							/* AGENTGUARD_HOOKS_H */
