/*
 * main.c
 *		The DBA's command-line tool: make a signing key, read a request code
 *		in plain words, sign it into a confirmation token, or do all of that
 *		against a running server in one step (approve); list and watch the
 *		refusals waiting for a DBA.
 *
 * The private key only ever lives here and in the file keygen writes; the
 * server can verify tokens but has no code to sign them.  Codes and tokens
 * are read with the same request.c/token.c the server uses, so whatever this
 * tool shows is what the server will check.
 *
 * Everything shown that came from a code, a token, the server or the
 * command line goes through ag_escape_shown: request codes are not signed,
 * so an agent can hand the DBA any code it likes, and nothing in it may move
 * the cursor, hide text or paint a line of its own.
 *
 * Errors are one line on stderr starting "agentguard:"; exit status 1 for
 * bad input or a failed operation, 2 for a command line that makes no sense.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "text.h"

#define AG_CLI_VERSION		"1.0"

/*
 * Far above any sensible agentguard.max_token_ttl; it exists to catch a
 * slipped unit ("15d" for "15m") before a long-lived token is in the wild.
 */
#define MAX_TTL_SECONDS		(30 * 24 * 60 * 60)

/* a code read from stdin; anything longer cannot be a code or a token */
#define MAX_INPUT_BYTES		(1024 * 1024)

typedef struct Command
{
	const char *name;
	int			(*run) (int argc, char **argv);
	const char *summary;
} Command;

static const Command commands[] = {
	{"keygen", cmd_keygen, "make a new Ed25519 signing key"},
	{"pubkey", cmd_pubkey, "print the public key of a private key file"},
	{"sign", cmd_sign, "sign a request code into a token, or add a signature to a token"},
	{"inspect", cmd_inspect, "show in plain words what a request code or token says"},
	{"approve", cmd_approve, "show a refused request, sign it and confirm it in the database"},
	{"requests", cmd_requests, "list the refused statements waiting for a DBA"},
	{"watch", cmd_watch, "print refusals as they happen, until interrupted"},
	{NULL, NULL, NULL}
};

/* ---- errors and shown text ---- */

void *
xmalloc(size_t n)
{
	void	   *p = malloc(n);

	if (p == NULL)
	{
		fputs("agentguard: out of memory\n", stderr);
		exit(EXIT_BAD_INPUT);
	}
	return p;
}

/*
 * Text from a request code, a token, the server or the command line, made
 * unambiguous for a terminal.  keep_layout leaves newlines and tabs.
 * Returns a fresh string.
 */
char *
shown_text(const char *s, size_t len, bool keep_layout)
{
	size_t		need = ag_escape_shown(s, len, keep_layout, NULL, 0);
	char	   *out = xmalloc(need + 1);

	ag_escape_shown(s, len, keep_layout, out, need + 1);
	return out;
}

char *
shown(const char *s)
{
	return shown_text(s, strlen(s), false);
}

static const char *
vformat(const char *fmt, va_list ap)
{
	va_list		again;
	int			len;
	char	   *msg;

	va_copy(again, ap);
	len = vsnprintf(NULL, 0, fmt, again);
	va_end(again);
	if (len < 0)
		return "";
	msg = xmalloc((size_t) len + 1);
	vsnprintf(msg, (size_t) len + 1, fmt, ap);
	return msg;
}

/*
 * Print "agentguard: ", the label, the message and the tail as one line.
 * The whole message is escaped, whatever its arguments hold (names from a
 * code, the server's words, file names), so no error can carry a control
 * character to the terminal.
 */
static void
vreport(const char *label, const char *fmt, va_list ap, const char *tail)
{
	const char *msg = vformat(fmt, ap);

	fflush(stdout);
	fprintf(stderr, "agentguard: %s%s%s\n", label, shown(msg), tail);
}

/* a warning goes on: one line on stderr, escaped like errors */
void
warning(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vreport("warning: ", fmt, ap, "");
	va_end(ap);
}

void
fatal(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vreport("", fmt, ap, "");
	va_end(ap);
	exit(EXIT_BAD_INPUT);
}

void
usage_error(const char *cmd, const char *fmt,...)
{
	va_list		ap;
	char		see[64];

	snprintf(see, sizeof(see), " (see \"agentguard %s%s--help\")",
			 cmd ? cmd : "", cmd ? " " : "");
	va_start(ap, fmt);
	vreport("", fmt, ap, see);
	va_end(ap);
	exit(EXIT_USAGE);
}

/* ---- options ---- */

/* how the user wrote the option getopt_long just returned */
static const char *
option_spelling(int c, int index, const struct option *longopts, char *buf,
				size_t cap)
{
	if (index >= 0)
		snprintf(buf, cap, "--%s", longopts[index].name);
	else
		snprintf(buf, cap, "-%c", c);
	return buf;
}

int
next_option(const char *cmd, int argc, char **argv, const char *shortopts,
			const struct option *longopts)
{
	int			index = -1;
	int			c;
	char		name[64];
	const char *arg;

	opterr = 0;
	c = getopt_long(argc, argv, shortopts, longopts, &index);
	if (c == '?' || c == ':')
	{
		/* a long option is named by what was written, a short one by optopt */
		arg = argv[optind - 1];
		if (strncmp(arg, "--", 2) != 0)
			arg = option_spelling(optopt, -1, longopts, name, sizeof(name));
		if (c == ':')
			usage_error(cmd, "option \"%s\" needs a value", arg);
		usage_error(cmd, "unknown option \"%s\"", arg);
	}
	if (c > 0 && optarg != NULL && optarg[0] == '\0')
		usage_error(cmd, "option \"%s\" needs a value",
					option_spelling(c, index, longopts, name, sizeof(name)));
	return c;
}

/* ---- codes from the command line ---- */

/* all of stdin, which may hold anything; the caller checks what it is */
static char *
read_stdin(size_t *lenp)
{
	size_t		cap = 4096;
	size_t		len = 0;
	char	   *buf = xmalloc(cap + 1);

	for (;;)
	{
		size_t		got;

		if (len == cap)
		{
			if (cap > MAX_INPUT_BYTES)
				fatal("input on stdin is too long to be a request code or token");
			cap *= 2;
			buf = realloc(buf, cap + 1);
			if (buf == NULL)
				fatal("out of memory");
		}
		got = fread(buf + len, 1, cap - len, stdin);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(stdin))
		fatal("could not read stdin: %s", strerror(errno));
	*lenp = len;
	return buf;
}

/*
 * The CODE argument, or stdin when it is "-", without surrounding white
 * space, in a fresh NUL-terminated buffer with its length.
 */
char *
read_code(const char *arg, size_t *lenp)
{
	char	   *buf;
	const char *start;
	size_t		len;

	if (strcmp(arg, "-") == 0)
		buf = read_stdin(&len);
	else
	{
		len = strlen(arg);
		buf = xmalloc(len + 1);
		memcpy(buf, arg, len);
	}
	start = buf;
	ag_trim(&start, &len);
	memmove(buf, start, len);
	buf[len] = '\0';

	/*
	 * Codes and tokens are plain ASCII.  Anything else is most likely
	 * typographic quotes or a stray character picked up while copying from
	 * a chat window, and saying so beats "not valid base64url".
	 */
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) buf[i];

		if (c == 0)
			fatal("the code contains a NUL byte");
		if (c >= 0x80)
			fatal("the code contains non-ASCII characters (copied with quotes or other decoration?)");
	}
	*lenp = len;
	return buf;
}

/* ---- what is shown ---- */

/* ag_request_describe, which escapes every name and statement it shows */
char *
describe(const AgRequest *r)
{
	size_t		need = ag_request_describe(r, NULL, 0);
	char	   *out = xmalloc(need + 1);

	ag_request_describe(r, out, need + 1);
	return out;
}

/*
 * A request body or a batch body (a rehearsal's) in plain words: a batch
 * shows every statement of it.
 */
char *
describe_body(const uint8_t *body, size_t len)
{
	AgRequest  *scratch = xmalloc(sizeof(AgRequest));
	AgBatch		batch;
	char	   *out;

	if (ag_is_batch(body, len))
	{
		size_t		need;

		if (!ag_batch_decode(body, len, &batch, scratch, NULL))
			fatal("the batch does not decode");
		need = ag_batch_describe(&batch, scratch, NULL, 0);
		out = xmalloc(need + 1);
		ag_batch_describe(&batch, scratch, out, need + 1);
	}
	else if (ag_request_decode(body, len, scratch, NULL))
		out = describe(scratch);
	else
		fatal("the request does not decode");
	free(scratch);
	return out;
}

/* print a description, ending with exactly one newline */
void
print_block(FILE *f, const char *text)
{
	size_t		n = strlen(text);

	fputs(text, f);
	if (n == 0 || text[n - 1] != '\n')
		fputc('\n', f);
}

/* any time a token can carry: ag_format_utc never fails */
const char *
format_utc(int64_t when, char buf[AG_TIME_TEXT_LEN])
{
	ag_format_utc(when, buf);
	return buf;
}

/* the shortest exact way to write a duration in the --ttl syntax */
const char *
format_duration(int64_t seconds, char *buf, size_t cap)
{
	if (seconds % 86400 == 0)
		snprintf(buf, cap, "%lldd", (long long) (seconds / 86400));
	else if (seconds % 3600 == 0)
		snprintf(buf, cap, "%lldh", (long long) (seconds / 3600));
	else if (seconds % 60 == 0)
		snprintf(buf, cap, "%lldm", (long long) (seconds / 60));
	else
		snprintf(buf, cap, "%llds", (long long) seconds);
	return buf;
}

/*
 * "90s", "15m", "1h", "2d" or bare seconds.  Returns NULL and the seconds,
 * or a reason.
 */
const char *
parse_duration(const char *s, int64_t *seconds)
{
	static const char syntax[] =
		"must be a number with an optional unit s, m, h or d (like 90s, 15m, 1h)";
	static const char too_long[] = "is longer than the 30 days this tool signs for";
	int64_t		value = 0;
	int64_t		unit = 1;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return syntax;
	for (; *p >= '0' && *p <= '9'; p++)
	{
		value = value * 10 + (*p - '0');
		if (value > MAX_TTL_SECONDS)
			return too_long;
	}
	if (*p != '\0')
	{
		const char *units = "smhd";
		const int64_t unit_seconds[] = {1, 60, 3600, 86400};
		const char *u = strchr(units, *p);

		if (u == NULL || p[1] != '\0')
			return syntax;
		unit = unit_seconds[u - units];
	}
	if (value == 0)
		return "must be more than zero";
	if (value > MAX_TTL_SECONDS / unit)
		return too_long;
	*seconds = value * unit;
	return NULL;
}

/* ---- main ---- */

static void
help_main(void)
{
	printf("agentguard: approve destructive statements that agentguard refused\n"
		   "\n"
		   "Usage: agentguard COMMAND [OPTIONS]\n"
		   "\n"
		   "Commands:\n");
	for (const Command *c = commands; c->name; c++)
		printf("  %-9s %s\n", c->name, c->summary);
	printf("\n"
		   "\"agentguard COMMAND --help\" shows a command's options.\n"
		   "Other options:\n"
		   "  -h, --help      show this help\n"
		   "  -V, --version   show the version\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		usage_error(NULL, "no command given");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
		strcmp(argv[1], "help") == 0)
	{
		help_main();
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
	{
		printf("agentguard " AG_CLI_VERSION "\n");
		return 0;
	}
	for (const Command *c = commands; c->name; c++)
		if (strcmp(argv[1], c->name) == 0)
			return c->run(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		usage_error(NULL, "unknown option \"%s\"", argv[1]);
	usage_error(NULL, "unknown command \"%s\"", argv[1]);
}
