/*
 * refusals.h
 *		The recent refusals of the whole cluster, in shared memory, behind
 *		the view agentguard.requests.
 */
#ifndef AGENTGUARD_REFUSALS_H
#define AGENTGUARD_REFUSALS_H

#include "postgres.h"

struct AgRequest;

extern void ag_refusals_init(void);
extern void ag_refusals_record(const uint8 *body, size_t len,
							   const struct AgRequest *request);

/* a request's targets, comma-separated, as the view and the audit show them */
extern char *ag_request_objects(const struct AgRequest *request);

#endif							/* AGENTGUARD_REFUSALS_H */
