/*
 * approve.c
 *		The commands that work against a running server: approve (show a
 *		refused request, sign it, confirm it in the database; or add a
 *		signature to a token that needs more signers), requests (list the
 *		refusals waiting) and watch (print them as they happen).
 *
 * The refusals come from the view agentguard.requests, which superusers and
 * non-agent members of pg_monitor may read.  Each is shown by decoding its
 * code and describing it with ag_request_describe, the same words and the
 * same escaping as agentguard inspect; what the view says beside the code
 * is escaped too.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "text.h"

/* the refusals, newest first unless said otherwise; times in UTC */
#define REFUSALS_QUERY \
	"SELECT code, pg_catalog.to_char(refused_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS \"UTC\"')," \
	"       times, action, objects, database, role, statement, refused_at::pg_catalog.text" \
	"  FROM agentguard.requests"

enum
{
	COL_CODE, COL_WHEN, COL_TIMES, COL_ACTION, COL_OBJECTS, COL_DATABASE,
	COL_ROLE, COL_STATEMENT, COL_STAMP
};

/* ---- one refusal ---- */

/* "refused N times, last at T" for row i */
static char *
refusal_heading(PGresult *res, int i)
{
	const char *times = PQgetvalue(res, i, COL_TIMES);
	char	   *when = shown(PQgetvalue(res, i, COL_WHEN));
	char	   *out = xmalloc(strlen(times) + strlen(when) + 64);

	sprintf(out, "refused %s %s, last at %s", shown(times),
			strcmp(times, "1") == 0 ? "time" : "times", when);
	return out;
}

/*
 * A refusal as a block of lines: a heading, the request in plain words, and
 * the code to give agentguard approve.  The code printed is the canonical
 * text of the body decoded, not the view's bytes.  A request too large to
 * be kept with its code (or one that does not decode) is shown from the
 * view's columns.
 */
static void
print_refusal(FILE *f, PGresult *res, int i)
{
	uint8_t    *body = xmalloc(AG_BATCH_MAX_BYTES);
	AgRequest  *r = xmalloc(sizeof(AgRequest));
	AgBatch		batch;
	const char *code = PQgetvalue(res, i, COL_CODE);
	const char *err = "it is too large to be kept with its code; the agent's error message and the server log have it";
	size_t		len;
	bool		is_batch = ag_has_prefix(code, strlen(code), AG_BATCH_PREFIX);

	if (!PQgetisnull(res, i, COL_CODE) &&
		(is_batch ? ag_batch_parse(code, strlen(code), body, AG_BATCH_MAX_BYTES, &len, &batch, r, &err) :
		 ag_request_parse(code, strlen(code), body, AG_REQUEST_MAX_BYTES, &len, r, &err)))
	{
		char	   *text = xmalloc(ag_code_length(len) + 1);

		ag_code_format(is_batch ? AG_BATCH_PREFIX : AG_REQUEST_PREFIX, body, len, text);
		fprintf(f, "%s:\n", refusal_heading(res, i));
		print_block(f, describe_body(body, len));
		fprintf(f, "request:     %s\n", text);
		free(text);
	}
	else
	{
		fprintf(f, "%s (%s):\n", refusal_heading(res, i), shown(err));
		fprintf(f, "action:      %s\n", shown(PQgetvalue(res, i, COL_ACTION)));
		fprintf(f, "objects:     %s\n", shown(PQgetvalue(res, i, COL_OBJECTS)));
		fprintf(f, "database:    %s\n", shown(PQgetvalue(res, i, COL_DATABASE)));
		fprintf(f, "role:        %s\n", shown(PQgetvalue(res, i, COL_ROLE)));
		fprintf(f, "statement:   %s\n", shown(PQgetvalue(res, i, COL_STATEMENT)));
	}
	free(r);
	free(body);
}

/*
 * The newest refusal in the database connected to.  Only this database's:
 * a token is confirmed in the database it names, and approving what an
 * agent did elsewhere should be a deliberate choice, made by connecting
 * there.  Sets *heading to "refused N times, last at ...".
 */
static char *
newest_request(PGconn *conn, char **heading)
{
	PGresult   *res;
	char	   *code;

	res = PQexec(conn, REFUSALS_QUERY
				 " WHERE database = pg_catalog.current_database()"
				 " ORDER BY refused_at DESC LIMIT 1");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fatal_server(conn, res, "could not read agentguard.requests");
	if (PQntuples(res) == 0)
		fatal("no refused statement is waiting in database \"%s\" (agentguard.requests has none from it)",
			  PQdb(conn));
	if (PQgetisnull(res, 0, COL_CODE))
		fatal("the newest refusal in database \"%s\" (%s %s) is too large to be kept with its code; give the code from the agent's error message or the server log's \"agentguard: refused\" line",
			  PQdb(conn), PQgetvalue(res, 0, COL_ACTION), PQgetvalue(res, 0, COL_OBJECTS));
	code = strdup(PQgetvalue(res, 0, COL_CODE));
	if (code == NULL)
		fatal("out of memory");
	*heading = refusal_heading(res, 0);
	PQclear(res);
	return code;
}

/* ---- approve ---- */

static void
help_approve(void)
{
	printf("Usage: agentguard approve --key FILE [--ttl DURATION] [--yes] [CONNINFO] [CODE]\n"
		   "       agentguard approve --key FILE [--yes] [CONNINFO] TOKEN\n"
		   "\n"
		   "Approve a refused statement in one step: show the request in plain\n"
		   "words, ask \"approve? [y/N]\", sign it and confirm the token in the\n"
		   "database, so that the agent only has to run the statement again.\n"
		   "\n"
		   "Where agentguard.required_signatures asks for more signers than the\n"
		   "token has, it is printed instead of confirmed; the next DBA approves\n"
		   "that TOKEN (agt1...), which adds a signature, and the last one's\n"
		   "approve confirms it.\n"
		   "\n"
		   "CONNINFO is a connection string, a URI or a database name, as psql\n"
		   "takes it; the PG* environment variables fill in the rest, and a\n"
		   "password the server wants is asked for on the terminal.  CODE is the\n"
		   "request code (agr1...) from the refusal, or a rehearsal's batch code\n"
		   "(agb1...), every statement of which one token then approves;\n"
		   "\"-\" to read it from stdin\n"
		   "(with --yes).  Without CODE the newest refusal in the database connected\n"
		   "to is taken from agentguard.requests, which superusers and members of\n"
		   "pg_monitor may read.  An argument beginning with \"agr\" or \"agt\" is\n"
		   "taken for CODE: write dbname=NAME for a database named like that.\n"
		   "\n"
		   "The answer is read from stdin: y or yes approves; anything else signs\n"
		   "nothing and exits with status 1, as every failure does.\n"
		   "\n"
		   "Options:\n"
		   HELP_KEY_TTL
		   "  -y, --yes            approve without asking, for scripts\n"
		   "  -w, --no-password    never ask for a password\n"
		   "  -h, --help           show this help\n");
}

/* "agr..." or "agt..." is a code (a token is refused by name later); "-" is stdin */
static bool
is_code_argument(const char *arg)
{
	return strcmp(arg, "-") == 0 || strncmp(arg, "agr", 3) == 0 ||
		strncmp(arg, "agt", 3) == 0;
}

static bool
answered_yes(void)
{
	char		line[64];
	const char *p = line;
	size_t		len;

	fputs("approve? [y/N] ", stderr);
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) == NULL)
	{
		fputc('\n', stderr);
		return false;
	}
	len = strlen(line);
	ag_trim(&p, &len);
	return (len == 1 && strncasecmp(p, "y", 1) == 0) ||
		(len == 3 && strncasecmp(p, "yes", 3) == 0);
}

/*
 * The first line of the server's answer to agentguard.confirm ("confirmed:
 * role ... may run this once, until ..."), escaped.  The rest of the answer
 * describes the request again, which the DBA has just been shown.
 */
static void
print_first_line(FILE *f, const char *answer)
{
	const char *nl = strchr(answer, '\n');

	fprintf(f, "%s\n", shown_text(answer, nl ? (size_t) (nl - answer) : strlen(answer), false));
}

typedef struct ApproveArgs
{
	const char *keyfile;
	const char *conninfo;
	const char *code;
	int64_t		ttl;
	bool		ttl_given;
	bool		yes;
	bool		may_prompt;
} ApproveArgs;

static void
approve_options(int argc, char **argv, ApproveArgs *a)
{
	static const struct option options[] = {
		{"key", required_argument, NULL, 'k'},
		{"ttl", required_argument, NULL, 't'},
		{"yes", no_argument, NULL, 'y'},
		{"no-password", no_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const char *reason;
	int			c;

	memset(a, 0, sizeof(*a));
	a->ttl = DEFAULT_TTL_SECONDS;
	a->may_prompt = true;
	while ((c = next_option("approve", argc, argv, ":k:t:ywh", options)) != -1)
	{
		if (c == 'h')
		{
			help_approve();
			exit(0);
		}
		else if (c == 'k')
			a->keyfile = optarg;
		else if (c == 't' && (reason = parse_duration(optarg, &a->ttl)) != NULL)
			usage_error("approve", "--ttl \"%s\" %s", optarg, reason);
		else if (c == 't')
			a->ttl_given = true;
		else if (c == 'y')
			a->yes = true;
		else if (c == 'w')
			a->may_prompt = false;
	}
	for (; optind < argc; optind++)
	{
		if (is_code_argument(argv[optind]) && a->code != NULL)
			usage_error("approve", "only one request code at a time");
		else if (is_code_argument(argv[optind]))
			a->code = argv[optind];
		else if (a->conninfo != NULL)
			usage_error("approve", "only one connection string at a time (\"%s\" is not a request code)", argv[optind]);
		else
			a->conninfo = argv[optind];
	}
	if (a->keyfile == NULL)
		usage_error("approve", "--key FILE is required");
	if (a->code != NULL && strcmp(a->code, "-") == 0 && !a->yes)
		usage_error("approve", "CODE \"-\" needs --yes, since the answer to \"approve?\" is read from stdin too");
}

/*
 * agentguard.required_signatures as the server says it, or 0 when it does
 * not (a server whose agentguard predates the setting): then the server's
 * answer to confirm is the only word on it.
 */
static int
required_signatures(PGconn *conn)
{
	PGresult   *res = PQexec(conn, "SELECT pg_catalog.current_setting('agentguard.required_signatures', true)");
	int			required = 0;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		!PQgetisnull(res, 0, 0))
		required = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return required;
}

/*
 * What approve signs: a request code from the refusal, or a token another
 * DBA signed, to add this key's signature to.
 */
typedef struct Approval
{
	AgRequest  *req;
	AgToken    *token;			/* NULL for a request code */
	uint8_t    *reqbuf;
	size_t		reqlen;
} Approval;

static void
read_approval(const char *code, size_t codelen, Approval *ap)
{
	memset(ap, 0, sizeof(*ap));
	if (ag_has_prefix(code, codelen, AG_TOKEN_PREFIX))
	{
		ap->token = parse_token(code, codelen);
		ap->req = &ap->token->request;
	}
	else
		ap->req = parse_request_code(code, codelen, &ap->reqbuf, &ap->reqlen);
}

int
cmd_approve(int argc, char **argv)
{
	ApproveArgs a;
	Approval	ap;
	const char *params[1];
	int64_t		expires_at;
	char	   *code = NULL;
	size_t		codelen;
	char	   *heading = NULL;
	AgToken    *signed_by;
	int			required;
	EVP_PKEY   *pkey;
	PGconn	   *conn;
	PGresult   *res;

	approve_options(argc, argv, &a);

	/* everything that can be checked here is, before bothering the server */
	if (a.code != NULL)
	{
		code = read_code(a.code, &codelen);
		read_approval(code, codelen, &ap);
		if (ap.token && a.ttl_given)
			usage_error("approve", "--ttl does not apply to a token: its first signer chose how long it is valid");
	}
	pkey = load_private_key(a.keyfile);

	conn = connect_server(a.conninfo, a.may_prompt);
	require_extension(conn);
	if (a.code == NULL)
	{
		code = newest_request(conn, &heading);
		read_approval(code, strlen(code), &ap);
	}
	if (ap.req->database.len != strlen(PQdb(conn)) ||
		memcmp(ap.req->database.ptr, PQdb(conn), ap.req->database.len) != 0)
		fatal("the request is for database \"%.*s\", but the connection is to \"%s\" (connect to \"%.*s\" to approve it)",
			  (int) ap.req->database.len, ap.req->database.ptr, PQdb(conn),
			  (int) ap.req->database.len, ap.req->database.ptr);
	required = required_signatures(conn);

	if (ap.token)
		fputs("token approving:\n", stderr);
	else
		fprintf(stderr, "request%s%s:\n", heading ? " " : "", heading ? heading : "");
	print_block(stderr, ap.token ? describe_body(ap.token->request_body, ap.token->request_len) :
				describe_body(ap.reqbuf, ap.reqlen));
	if (ap.token)
	{
		char		when[AG_TIME_TEXT_LEN];

		print_signatures(stderr, ap.token);
		fprintf(stderr, "valid until %s\n", format_utc(ap.token->expires_at, when));
	}
	if (required > 1)
		fprintf(stderr, "this database needs the signatures of %d distinct trusted signers (agentguard.required_signatures)\n",
				required);
	if (!a.yes && !answered_yes())
	{
		fflush(stdout);
		fputs("agentguard: not approved; nothing was signed or confirmed\n", stderr);
		PQfinish(conn);
		exit(EXIT_BAD_INPUT);
	}

	if (ap.token)
		params[0] = cosign_token(pkey, ap.token);
	else
	{
		params[0] = sign_request(pkey, ap.reqbuf, ap.reqlen, a.ttl, &expires_at);
		print_validity(stderr, a.ttl, expires_at);
	}
	EVP_PKEY_free(pkey);
	signed_by = parse_token(params[0], strlen(params[0]));

	/*
	 * Short of signers, confirm would only refuse it: the token goes to the
	 * next signer instead, and the agent's statement waits for them.
	 */
	if (ag_token_distinct_signers(signed_by) < required)
	{
		fprintf(stderr, "signed: the token has %d of the %d distinct signers this database needs, so it is not confirmed yet; another DBA adds a signature with\n"
				"  agentguard approve --key FILE [CONNINFO] TOKEN\n"
				"or agentguard sign --key FILE TOKEN, or on the approval page; here is the token:\n",
				ag_token_distinct_signers(signed_by), required);
		printf("%s\n", params[0]);
		if (fflush(stdout) != 0)
			fatal("could not write the token: %s", strerror(errno));
		PQfinish(conn);
		return 0;
	}

	res = PQexecParams(conn, "SELECT agentguard.confirm($1)", 1, NULL, params,
					   NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fatal_server(conn, res, "the server did not accept the confirmation");
	print_first_line(stdout, PQgetvalue(res, 0, 0));
	if (fflush(stdout) != 0)
		fatal("could not write the server's answer: %s", strerror(errno));
	PQclear(res);
	PQfinish(conn);
	return 0;
}

/* ---- requests and watch ---- */

/*
 * The options requests and watch share, and their connection to a database
 * with the extension.
 */
static PGconn *
listing_connection(const char *cmd, int argc, char **argv, void (*help) (void))
{
	static const struct option options[] = {
		{"no-password", no_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	bool		may_prompt = true;
	PGconn	   *conn;
	int			c;

	while ((c = next_option(cmd, argc, argv, ":wh", options)) != -1)
	{
		if (c == 'h')
		{
			help();
			exit(0);
		}
		may_prompt = false;
	}
	if (optind + 1 < argc)
		usage_error(cmd, "only one connection string at a time");
	conn = connect_server(optind < argc ? argv[optind] : NULL, may_prompt);
	require_extension(conn);
	return conn;
}

static void
help_requests(void)
{
	printf("Usage: agentguard requests [--no-password] [CONNINFO]\n"
		   "\n"
		   "List the refused statements waiting for a DBA in the cluster connected\n"
		   "to (the view agentguard.requests), newest first, each in plain words\n"
		   "with how often and when it was last refused, and its request code for\n"
		   "agentguard approve.  CONNINFO is taken as psql takes it.\n"
		   "\n"
		   "Options:\n"
		   "  -w, --no-password   never ask for a password\n"
		   "  -h, --help          show this help\n");
}

int
cmd_requests(int argc, char **argv)
{
	PGconn	   *conn = listing_connection("requests", argc, argv, help_requests);
	PGresult   *res;

	res = PQexec(conn, REFUSALS_QUERY " ORDER BY refused_at DESC");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fatal_server(conn, res, "could not read agentguard.requests");
	if (PQntuples(res) == 0)
		fputs("no refused statement is waiting (agentguard.requests is empty)\n", stderr);
	for (int i = 0; i < PQntuples(res); i++)
	{
		if (i > 0)
			fputc('\n', stdout);
		print_refusal(stdout, res, i);
	}
	if (fflush(stdout) != 0)
		fatal("could not write the list: %s", strerror(errno));
	PQclear(res);
	PQfinish(conn);
	return 0;
}

static void
help_watch(void)
{
	printf("Usage: agentguard watch [--no-password] [CONNINFO]\n"
		   "\n"
		   "Print each refusal in the cluster connected to as it happens (the view\n"
		   "agentguard.requests, read every second), as a block like those of\n"
		   "agentguard requests, until interrupted with Ctrl+C.  A repeated refusal\n"
		   "is printed again, with its count.  CONNINFO is taken as psql takes it.\n"
		   "\n"
		   "Options:\n"
		   "  -w, --no-password   never ask for a password\n"
		   "  -h, --help          show this help\n");
}

static volatile sig_atomic_t stop_watching = 0;

static void
on_interrupt(int signo)
{
	(void) signo;
	stop_watching = 1;
}

/*
 * The refusals after *since (the view's refused_at, as text of this
 * session), oldest first; *since moves to the last one.  Returns NULL when
 * the connection is lost.
 */
static PGresult *
refusals_since(PGconn *conn, char **since)
{
	const char *params[1] = {*since};
	PGresult   *res = PQexecParams(conn, REFUSALS_QUERY
								   " WHERE refused_at > $1::pg_catalog.timestamptz"
								   " ORDER BY refused_at",
								   1, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		if (PQstatus(conn) == CONNECTION_BAD)
		{
			PQclear(res);
			return NULL;
		}
		fatal_server(conn, res, "could not read agentguard.requests");
	}
	if (PQntuples(res) > 0)
	{
		free(*since);
		*since = strdup(PQgetvalue(res, PQntuples(res) - 1, COL_STAMP));
		if (*since == NULL)
			fatal("out of memory");
	}
	return res;
}

int
cmd_watch(int argc, char **argv)
{
	PGconn	   *conn = listing_connection("watch", argc, argv, help_watch);
	PGresult   *res;
	struct sigaction sa;
	char	   *since = strdup("-infinity");
	bool		lost = false;
	bool		first = true;

	/* no SA_RESTART: Ctrl+C cuts the wait short, and the loop ends */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* only what happens from now on: what waits already, requests lists */
	res = refusals_since(conn, &since);
	if (res == NULL)
		fatal("lost the connection to the server");
	PQclear(res);
	fprintf(stderr, "watching for refusals in this cluster; Ctrl+C stops\n");
	while (!stop_watching)
	{
		struct timespec second = {1, 0};

		nanosleep(&second, NULL);
		if (stop_watching)
			break;
		if (lost)
		{
			PQreset(conn);
			if (PQstatus(conn) != CONNECTION_OK)
				continue;
			fputs("agentguard: connected again\n", stderr);
			lost = false;
		}
		res = refusals_since(conn, &since);
		if (res == NULL)
		{
			fputs("agentguard: lost the connection to the server; trying again every second\n", stderr);
			lost = true;
			continue;
		}
		for (int i = 0; i < PQntuples(res); i++, first = false)
		{
			if (!first)
				fputc('\n', stdout);
			print_refusal(stdout, res, i);
		}
		PQclear(res);
		if (fflush(stdout) != 0)
			fatal("could not write: %s", strerror(errno));
	}
	PQfinish(conn);
	return 0;
}
