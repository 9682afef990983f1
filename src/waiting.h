/*
 * waiting.h
 *		Whether a confirmation may be waiting in this database.
 */
#ifndef AGENTGUARD_WAITING_H
#define AGENTGUARD_WAITING_H

#include "postgres.h"

extern void ag_waiting_init(void);

/*
 * Could a confirmation be used by the statement now starting?  When not, it
 * has nothing to note of the rows it changes.
 */
extern bool ag_confirmation_may_wait(void);

/* agentguard.confirm() made one: every session of the database asks again */
extern void ag_confirmation_made(void);

#endif							/* AGENTGUARD_WAITING_H */
