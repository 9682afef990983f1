/*
 * text.h
 *		Small helpers for text and bytes that the codec (request.c, token.c),
 *		the agentguard command-line tool and the fuzzer share: white space,
 *		prefixes, hex, and big-endian integers as the formats in request.h
 *		write them.
 *
 * Like request.h this includes no PostgreSQL headers.  The helpers are
 * static inline, so that every program that includes this file gets them
 * without another object file to link (the server links request.o and
 * token.o only).
 */
#ifndef AGENTGUARD_TEXT_H
#define AGENTGUARD_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* white space as C's isspace() in the "C" locale, whatever the locale */
static inline bool
ag_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '\f' || c == '\v';
}

/*
 * Narrow [*text, *text + *len) to exclude surrounding white space: codes,
 * tokens and keys are pasted with a trailing newline, which is no defect.
 */
static inline void
ag_trim(const char **text, size_t *len)
{
	while (*len > 0 && ag_is_space((*text)[0]))
	{
		(*text)++;
		(*len)--;
	}
	while (*len > 0 && ag_is_space((*text)[*len - 1]))
		(*len)--;
}

static inline bool
ag_has_prefix(const char *text, size_t len, const char *prefix)
{
	size_t		n = strlen(prefix);

	return len >= n && memcmp(text, prefix, n) == 0;
}

/* lower-case hex of n bytes; out needs 2 * n + 1 bytes */
static inline void
ag_hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++)
	{
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static inline uint16_t
ag_get_be16(const uint8_t *p)
{
	return (uint16_t) ((p[0] << 8) | p[1]);
}

static inline uint32_t
ag_get_be32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
		((uint32_t) p[2] << 8) | p[3];
}

static inline uint64_t
ag_get_be64(const uint8_t *p)
{
	uint64_t	v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/*
 * Two's complement without relying on implementation-defined conversion of
 * out-of-range unsigned values.
 */
static inline int64_t
ag_get_be64_signed(const uint8_t *p)
{
	uint64_t	u = ag_get_be64(p);

	if (u <= (uint64_t) INT64_MAX)
		return (int64_t) u;
	return -(int64_t) (~u) - 1;
}

static inline void
ag_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t) (v >> 8);
	p[1] = (uint8_t) v;
}

static inline void
ag_put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t) v;
}

static inline void
ag_put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t) v;
}

#endif							/* AGENTGUARD_TEXT_H */
