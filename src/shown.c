/*
 * shown.c
 *		What a person is shown of a request: its description in plain words,
 *		every name in it escaped so that nothing in it can act on a terminal
 *		or hide from the eye, and times of any range.
 *
 * Like request.c this builds without PostgreSQL headers: the server, the
 * command-line tool and the fuzzer show requests by exactly the same rules,
 * and the web page mirrors them (web/codec.js).
 */
#include <stdio.h>
#include <string.h>

#include "request.h"

/* ---- description ---- */

typedef struct Text
{
	char	   *out;
	size_t		cap;
	size_t		len;
} Text;

static void
text_put(Text *t, const char *p, size_t n)
{
	if (t->cap > 0 && t->len < t->cap - 1)
	{
		size_t		room = t->cap - 1 - t->len;

		memcpy(t->out + t->len, p, n < room ? n : room);
		t->out[t->len + (n < room ? n : room)] = '\0';
	}
	t->len += n;
}

static void
text_cstr(Text *t, const char *s)
{
	text_put(t, s, strlen(s));
}

/*
 * Whether a code point is invisible or changes how what follows is shown:
 * C1 controls (U+009B is a terminal's CSI), bidirectional marks and
 * overrides, zero-width and other invisible format characters, line and
 * paragraph separators, variation selectors and tag characters.
 */
static bool
is_hidden_code_point(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0xad || cp == 0x34f ||
		cp == 0x61c || cp == 0x115f || cp == 0x1160 || cp == 0x17b4 ||
		cp == 0x17b5 || (cp >= 0x180b && cp <= 0x180f) ||
		(cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
		(cp >= 0x2060 && cp <= 0x206f) || cp == 0x3164 ||
		(cp >= 0xfe00 && cp <= 0xfe0f) || cp == 0xfeff || cp == 0xffa0 ||
		(cp >= 0xfff0 && cp <= 0xfffb) || (cp >= 0x1d173 && cp <= 0x1d17a) ||
		(cp >= 0xe0000 && cp <= 0xe0fff);
}

/*
 * The length of the well-formed UTF-8 sequence at p (at most n bytes) and
 * its code point, or 0 when it is not one: overlong forms, surrogates and
 * values past U+10FFFF are not.
 */
static int
utf8_sequence(const unsigned char *p, size_t n, uint32_t *cp)
{
	int			len;
	uint32_t	v;

	if (p[0] < 0x80)
	{
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, v = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, v = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, v = p[0] & 0x07;
	else
		return 0;
	if ((size_t) len > n)
		return 0;
	for (int i = 1; i < len; i++)
	{
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10ffff)) ||
		(v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

static void
text_escaped(Text *t, const char *str, size_t len, bool keep_layout, const char *indent)
{
	const unsigned char *s = (const unsigned char *) str;
	size_t		i = 0;

	while (i < len)
	{
		uint32_t	cp = 0;
		int			n = utf8_sequence(s + i, len - i, &cp);
		char		esc[16];

		if (n == 0)
		{
			snprintf(esc, sizeof(esc), "\\x%02x", s[i]);
			text_cstr(t, esc);
			i++;
			continue;
		}
		if (keep_layout && (cp == '\n' || cp == '\t'))
		{
			text_put(t, (const char *) s + i, 1);
			if (cp == '\n' && indent)
				text_cstr(t, indent);
		}
		else if (cp == '\\')
			text_cstr(t, "\\\\");
		else if (cp < 0x20 || cp == 0x7f)
		{
			snprintf(esc, sizeof(esc), "\\x%02x", (unsigned) cp);
			text_cstr(t, esc);
		}
		else if (is_hidden_code_point(cp))
		{
			snprintf(esc, sizeof(esc), "\\u{%04X}", (unsigned) cp);
			text_cstr(t, esc);
		}
		else
			text_put(t, (const char *) s + i, (size_t) n);
		i += (size_t) n;
	}
}

size_t
ag_escape_shown(const char *s, size_t len, bool keep_layout, char *out, size_t cap)
{
	Text		t = {out, cap, 0};

	if (cap > 0)
		out[0] = '\0';
	text_escaped(&t, s, len, keep_layout, NULL);
	return t.len;
}

/* days since 1970-01-01 to a civil date (proleptic Gregorian) */
static void
civil_from_days(int64_t days, int64_t *year, int *month, int *day)
{
	int64_t		z = days + 719468;
	int64_t		era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t		doe = z - era * 146097;
	int64_t		yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t		doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t		mp = (5 * doy + 2) / 153;

	*day = (int) (doy - (153 * mp + 2) / 5 + 1);
	*month = (int) (mp < 10 ? mp + 3 : mp - 9);
	*year = yoe + era * 400 + (*month <= 2);
}

void
ag_format_utc(int64_t seconds, char *out)
{
	/* 0001-01-01 00:00:00 and 9999-12-31 23:59:59 UTC */
	const int64_t earliest = INT64_C(-62135596800);
	int64_t		days;
	int64_t		rest;
	int64_t		year;
	int			month;
	int			day;

	if (seconds < earliest || seconds > AG_TIME_MAX)
	{
		snprintf(out, AG_TIME_TEXT_LEN, "out of range (%lld seconds)", (long long) seconds);
		return;
	}
	days = seconds / 86400;
	rest = seconds % 86400;
	if (rest < 0)
	{
		rest += 86400;
		days--;
	}
	civil_from_days(days, &year, &month, &day);
	snprintf(out, AG_TIME_TEXT_LEN, "%04lld-%02d-%02d %02d:%02d:%02d UTC",
			 (long long) year, month, day, (int) (rest / 3600),
			 (int) (rest / 60 % 60), (int) (rest % 60));
}

#define DESCRIBE_INDENT "             "

static void
text_shown(Text *t, AgStr s, bool keep_layout)
{
	text_escaped(t, s.ptr, s.len, keep_layout, DESCRIBE_INDENT);
}

static void
text_rows(Text *t, const AgRequest *r)
{
	char		num[64];

	text_cstr(t, "\nrows:        ");
	snprintf(num, sizeof(num), "%s%llu",
			 (r->flags & AG_REQ_ROWS_MORE) ? "more than " : "",
			 (unsigned long long) r->rows);
	text_cstr(t, num);
	text_cstr(t, (r->flags & AG_REQ_ROWS_MORE) ?
			  " (counting stopped there; the approval does not limit the count)" :
			  " (counted when it was refused; the approval allows at most this many)");
	snprintf(num, sizeof(num), "%d", r->nlimit_tables);
	text_cstr(t, "\ntables:      ");
	text_cstr(t, num);
	text_cstr(t, r->nlimit_tables == 1 ? " table may change" : " tables may change");
}

size_t
ag_request_describe(const AgRequest *r, char *out, size_t cap)
{
	Text		t = {out, cap, 0};
	char		num[32];

	if (cap > 0)
		out[0] = '\0';
	text_cstr(&t, "environment: ");
	if (r->environment.len == 0)
		text_cstr(&t, "unnamed");
	else
		text_shown(&t, r->environment, false);
	text_cstr(&t, "\naction:      ");
	text_shown(&t, r->action, false);
	text_cstr(&t, "\nobjects:     ");
	if (r->ntargets == 0)
		text_cstr(&t, "(none named)");
	for (int i = 0; i < r->ntargets; i++)
	{
		if (i > 0)
			text_cstr(&t, ", ");
		text_shown(&t, r->targets[i], false);
	}
	if (r->more_targets > 0)
	{
		snprintf(num, sizeof(num), "%lu", (unsigned long) r->more_targets);
		text_cstr(&t, ", and ");
		text_cstr(&t, num);
		text_cstr(&t, " more");
	}
	text_cstr(&t, "\ndatabase:    ");
	text_shown(&t, r->database, false);
	snprintf(num, sizeof(num), "%llu", (unsigned long long) r->system_identifier);
	text_cstr(&t, "\ncluster:     ");
	text_cstr(&t, num);
	text_cstr(&t, "\nrole:        ");
	text_shown(&t, r->role, false);
	text_cstr(&t, "\nstatement:   ");
	text_shown(&t, r->statement, true);
	if (r->flags & AG_REQ_STATEMENT_CUT)
		text_cstr(&t, " [...] (cut for display; the approval covers the whole statement)");
	for (int i = 0; i < r->nparams; i++)
	{
		snprintf(num, sizeof(num), "$%u", (unsigned) r->params[i].number);
		text_cstr(&t, i == 0 ? "\nparameters:  " : "\n             ");
		text_cstr(&t, num);
		text_cstr(&t, " = ");
		if (r->params[i].isnull)
			text_cstr(&t, "NULL");
		else
		{
			text_cstr(&t, "'");
			text_shown(&t, r->params[i].value, false);
			text_cstr(&t, "'");
			if (r->params[i].cut)
				text_cstr(&t, " [...] (cut for display; the approval covers the whole value)");
		}
	}
	if (r->flags & AG_REQ_ROWS)
		text_rows(&t, r);
	text_cstr(&t, "\n");
	return t.len;
}
