/*
 * cli.h
 *		What the parts of the agentguard command-line tool share.
 *
 * main.c: the commands, errors, escaping of what is shown, codes read from
 *		the command line, times and durations;
 * keys.c: keygen, pubkey, sign (a request, or one more signature on a
 *		token), and the private key and signing that approve uses too;
 * inspect.c: inspect;
 * server.c: connecting like psql, and the server's answers;
 * approve.c: approve, requests, watch.
 */
#ifndef AGENTGUARD_CLI_H
#define AGENTGUARD_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/evp.h>

#include "libpq-fe.h"

#include "request.h"

#define EXIT_BAD_INPUT		1
#define EXIT_USAGE			2

#define DEFAULT_TTL_SECONDS (15 * 60)

/* the help lines of --key and --ttl, which sign and approve share */
#define HELP_KEY_TTL \
	"  -k, --key FILE       Ed25519 private key (PKCS#8 PEM) from agentguard keygen\n" \
	"  -t, --ttl DURATION   how long the token is valid: 90s, 15m, 1h, 2d or\n" \
	"                       seconds (default 15m; the server refuses anything\n" \
	"                       longer than agentguard.max_token_ttl, 1h by default)\n"

/* ---- main.c ---- */

extern void warning(const char *fmt,...)
			__attribute__((format(printf, 1, 2)));
extern void fatal(const char *fmt,...)
			__attribute__((format(printf, 1, 2), noreturn));
extern void usage_error(const char *cmd, const char *fmt,...)
			__attribute__((format(printf, 2, 3), noreturn));
extern void *xmalloc(size_t n);

extern char *shown_text(const char *s, size_t len, bool keep_layout);
extern char *shown(const char *s);

/*
 * getopt_long for command cmd, with this tool's errors: an unknown option,
 * or one without its value, is a usage error.  Returns as getopt_long does.
 */
extern int	next_option(const char *cmd, int argc, char **argv,
						const char *shortopts, const struct option *longopts);

extern char *read_code(const char *arg, size_t *lenp);
extern char *describe(const AgRequest *r);
extern char *describe_body(const uint8_t *body, size_t len);
extern void print_block(FILE *f, const char *text);
extern const char *format_utc(int64_t when, char buf[AG_TIME_TEXT_LEN]);
extern const char *format_duration(int64_t seconds, char *buf, size_t cap);
extern const char *parse_duration(const char *s, int64_t *seconds);

/* ---- keys.c ---- */

extern EVP_PKEY *load_private_key(const char *path);
extern AgRequest *parse_request_code(const char *code, size_t codelen,
									 uint8_t **body, size_t *bodylen);
extern char *sign_request(EVP_PKEY *pkey, const uint8_t *body, size_t bodylen,
						  int64_t ttl, int64_t *expires_at);
extern AgToken *parse_token(const char *text, size_t len);
extern char *cosign_token(EVP_PKEY *pkey, const AgToken *t);
extern void print_signatures(FILE *f, const AgToken *t);
extern void print_validity(FILE *f, int64_t ttl, int64_t expires_at);
extern int	cmd_keygen(int argc, char **argv);
extern int	cmd_pubkey(int argc, char **argv);
extern int	cmd_sign(int argc, char **argv);

/* ---- inspect.c ---- */

extern int	cmd_inspect(int argc, char **argv);

/* ---- server.c ---- */

extern PGconn *connect_server(const char *conninfo, bool may_prompt);
extern void require_extension(PGconn *conn);
extern void fatal_server(PGconn *conn, PGresult *res, const char *doing)
			__attribute__((noreturn));

/* ---- approve.c ---- */

extern int	cmd_approve(int argc, char **argv);
extern int	cmd_requests(int argc, char **argv);
extern int	cmd_watch(int argc, char **argv);

#endif							/* AGENTGUARD_CLI_H */
