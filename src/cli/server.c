/*
 * server.c
 *		Talking to the server as psql does: a connection string or the PG*
 *		variables, a password asked on the terminal when the server wants one,
 *		and the server's errors shown as one escaped line each.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "text.h"

/* longer passwords are cut, as psql's prompt cuts them */
#define PASSWORD_MAX		1024

/*
 * libpq's messages run over several lines (one per address tried, hints
 * indented below); the errors of this tool are one line.
 */
static char *
one_line(const char *message)
{
	size_t		len = strlen(message);
	char	   *out = xmalloc(2 * len + 1);
	size_t		n = 0;
	const char *p = message;

	while (*p)
	{
		if (*p == '\n')
		{
			while (*p && ag_is_space(*p))
				p++;
			if (*p && n > 0)
			{
				out[n++] = ';';
				out[n++] = ' ';
			}
			continue;
		}
		out[n++] = *p++;
	}
	out[n] = '\0';
	return out;
}

/*
 * A statement the server did not run: what we were doing, the server's
 * message (without its own "agentguard: "), then its DETAIL and HINT lines
 * as psql shows them, each escaped into one line: the server's words may
 * quote names an agent chose.
 */
void
fatal_server(PGconn *conn, PGresult *res, const char *doing)
{
	const char *message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
	const char *prefix = "agentguard: ";

	if (message == NULL)
		message = one_line(PQerrorMessage(conn));
	else if (strncmp(message, prefix, strlen(prefix)) == 0)
		message += strlen(prefix);
	fflush(stdout);
	fprintf(stderr, "agentguard: %s: %s\n", doing, shown(message));
	if (detail)
		fprintf(stderr, "DETAIL:  %s\n", shown(detail));
	if (hint)
		fprintf(stderr, "HINT:  %s\n", shown(hint));
	exit(EXIT_BAD_INPUT);
}

/* ---- the password ---- */

/* the terminal whose echo is off, and how it was, for a signal handler */
static volatile sig_atomic_t echo_off_fd = -1;
static struct termios saved_tty;

/* Ctrl+C at the prompt must not leave the terminal without echo */
static void
restore_echo_and_die(int signo)
{
	if (echo_off_fd >= 0)
		tcsetattr(echo_off_fd, TCSAFLUSH, &saved_tty);
	signal(signo, SIG_DFL);
	raise(signo);
}

/* a line from fd, without its newline; longer ones are cut at cap */
static void
read_line(int fd, char *out, size_t cap)
{
	size_t		len = 0;
	char		ch;

	while (read(fd, &ch, 1) == 1 && ch != '\n')
		if (len < cap)
			out[len++] = ch;
	out[len] = '\0';
}

/*
 * Ask for a password on the terminal with echo off, as psql does, even when
 * stdin and stdout are redirected: the terminal is the person, the pipes
 * may be a script.  Echo goes off before the prompt is written, so what is
 * typed after it is never shown.
 */
static char *
prompt_password(const char *user)
{
	char	   *password = xmalloc(PASSWORD_MAX + 1);
	char	   *prompt;
	struct sigaction sa;
	struct sigaction old_int;
	struct sigaction old_term;
	struct termios quiet;
	int			fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		fatal("the server wants a password for user \"%s\", and there is no terminal to ask for it (give it in a password file, in PGPASSWORD or as password= in CONNINFO)",
			  user);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = restore_echo_and_die;
	sigemptyset(&sa.sa_mask);
	if (tcgetattr(fd, &saved_tty) == 0)
	{
		sigaction(SIGINT, &sa, &old_int);
		sigaction(SIGTERM, &sa, &old_term);
		quiet = saved_tty;
		quiet.c_lflag &= ~ECHO;
		echo_off_fd = fd;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	user = shown(user);
	prompt = xmalloc(strlen(user) + 32);
	sprintf(prompt, "Password for user %s: ", user);
	if (write(fd, prompt, strlen(prompt)) < 0)
		fatal("could not write to the terminal");
	read_line(fd, password, PASSWORD_MAX);
	if (echo_off_fd >= 0)
	{
		tcsetattr(fd, TCSAFLUSH, &saved_tty);
		echo_off_fd = -1;
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
	}
	if (write(fd, "\n", 1) < 0)
		fatal("could not write to the terminal");
	close(fd);
	free(prompt);
	return password;
}

/*
 * Connect with CONNINFO (a connection string, a URI or a database name, as
 * psql takes it; NULL for the PG* variables alone).  When the server wants
 * a password that the connection string, PGPASSWORD and the password file
 * do not give, it is asked for on the terminal, unless may_prompt is false.
 */
PGconn *
connect_server(const char *conninfo, bool may_prompt)
{
	char	   *password = NULL;
	PGconn	   *conn;

	for (;;)
	{
		/* as psql: a password= in CONNINFO comes later, and wins */
		const char *keywords[] = {"password", "dbname", "fallback_application_name", NULL};
		const char *values[] = {password, conninfo, "agentguard", NULL};

		/* expand_dbname: CONNINFO may be a whole connection string */
		conn = PQconnectdbParams(keywords, values, 1);
		if (conn == NULL)
			fatal("out of memory");
		if (PQstatus(conn) == CONNECTION_OK || !PQconnectionNeedsPassword(conn) ||
			password != NULL || !may_prompt)
			break;
		password = prompt_password(PQuser(conn));
		PQfinish(conn);
	}
	if (password != NULL)
	{
		OPENSSL_cleanse(password, PASSWORD_MAX + 1);
		free(password);
	}
	if (PQstatus(conn) != CONNECTION_OK)
	{
		if (!may_prompt && PQconnectionNeedsPassword(conn))
			fatal("the server wants a password for user \"%s\", and --no-password forbids asking for it (give it in a password file, in PGPASSWORD or as password= in CONNINFO)",
				  PQuser(conn));
		fatal("could not connect to the server: %s", one_line(PQerrorMessage(conn)));
	}
	return conn;
}

/*
 * agentguard.requests and agentguard.confirm are the extension's; without it
 * in this database, say so and how to fix it, rather than let the first
 * query fail with "relation does not exist".
 */
void
require_extension(PGconn *conn)
{
	PGresult   *res = PQexec(conn,
							 "SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'agentguard'");

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fatal_server(conn, res, "could not look for the agentguard extension");
	if (PQntuples(res) == 0)
		fatal("the agentguard extension is not installed in database \"%s\"; a superuser installs it there with: CREATE EXTENSION agentguard;",
			  PQdb(conn));
	PQclear(res);
}
