/*
 * inspect.c
 *		agentguard inspect: what a request code, a token or a public key says,
 *		in plain words, without contacting anything.
 *
 * Requests are shown by ag_request_describe, which escapes every name,
 * statement and value, so a crafted code shows as the bytes it holds.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "text.h"

static void
help_inspect(void)
{
	printf("Usage: agentguard inspect [--public-key KEY] CODE\n"
		   "\n"
		   "Show in plain words what a request code (agr1...) asks for, every\n"
		   "statement of a rehearsal's batch code (agb1...), or what a token\n"
		   "(agt1...) approves, who signed it and until when.  CODE \"-\"\n"
		   "reads stdin.  Nothing is contacted and nothing is changed.\n"
		   "\n"
		   "Options:\n"
		   "  -p, --public-key KEY   also check that this public key (agk1...) signed\n"
		   "                         the token; exit status 1 if no signature of it\n"
		   "                         verifies\n"
		   "  -h, --help             show this help\n");
}

/*
 * What --public-key says of a token's signatures: valid when a signature
 * of that key verifies, and status 1 when none does.
 */
static int
check_public_key(const AgToken *t, const uint8_t pub[AG_PUBKEY_LEN],
				 const char *pubcanon)
{
	uint8_t		kid[AG_KEY_ID_LEN];
	bool		named = false;

	ag_key_id(pub, kid);
	for (int i = 0; i < t->nsignatures; i++)
	{
		if (memcmp(t->signatures[i].key_id, kid, AG_KEY_ID_LEN) != 0)
			continue;
		named = true;
		if (ag_token_verify(t, i, pub))
		{
			printf("signature:     valid for %s\n", pubcanon);
			return 0;
		}
	}
	if (named)
		printf("signature:     DOES NOT VERIFY with %s\n", pubcanon);
	else
		printf("signature:     none by %s\n", pubcanon);
	return EXIT_BAD_INPUT;
}

static int
inspect_token(const char *code, size_t codelen, const char *pubtext)
{
	uint8_t    *buf = xmalloc(AG_TOKEN_MAX_BYTES);
	AgToken    *t = xmalloc(sizeof(AgToken));
	const char *err = NULL;
	char		nonce[2 * AG_NONCE_LEN + 1];
	char		when[AG_TIME_TEXT_LEN];
	char		dur[32];
	int64_t		now = (int64_t) time(NULL);
	uint8_t		pub[AG_PUBKEY_LEN];
	char		pubcanon[AG_PUBKEY_TEXT_LEN + 1];
	int			status = 0;

	if (pubtext && !ag_pubkey_parse(pubtext, strlen(pubtext), pub, &err))
		usage_error("inspect", "--public-key: %s", err);
	if (pubtext)
		ag_pubkey_format(pub, pubcanon);
	if (!ag_token_parse(code, codelen, buf, AG_TOKEN_MAX_BYTES, t, &err))
		fatal("%s", err);

	ag_hex(t->nonce, AG_NONCE_LEN, nonce);
	printf("token approving:\n");
	print_block(stdout, describe_body(t->request_body, t->request_len));
	print_signatures(stdout, t);
	printf("issued:        %s\n", format_utc(t->issued_at, when));
	printf("expires:       %s%s\n", format_utc(t->expires_at, when),
		   t->expires_at <= now ? " EXPIRED" : "");
	printf("valid for:     %s\n",
		   format_duration(t->expires_at - t->issued_at, dur, sizeof(dur)));
	printf("nonce:         %s\n", nonce);
	if (pubtext == NULL)
		printf("signature:     not checked (give --public-key to check it)\n");
	else
		status = check_public_key(t, pub, pubcanon);
	free(t);
	free(buf);
	return status;
}

static int
inspect_request(const char *code, size_t codelen)
{
	uint8_t    *buf;
	size_t		bodylen;

	/* a batch code shows every statement of the rehearsal */
	free(parse_request_code(code, codelen, &buf, &bodylen));
	print_block(stdout, describe_body(buf, bodylen));
	free(buf);
	return 0;
}

static int
inspect_pubkey(const char *code, size_t codelen)
{
	uint8_t		pub[AG_PUBKEY_LEN];
	uint8_t		kid[AG_KEY_ID_LEN];
	char		kidhex[2 * AG_KEY_ID_LEN + 1];
	const char *err = NULL;

	if (!ag_pubkey_parse(code, codelen, pub, &err))
		fatal("%s", err);
	ag_key_id(pub, kid);
	ag_hex(kid, AG_KEY_ID_LEN, kidhex);
	printf("public key\nkey id: %s\n", kidhex);
	return 0;
}

int
cmd_inspect(int argc, char **argv)
{
	static const struct option options[] = {
		{"public-key", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const char *pubtext = NULL;
	char	   *code;
	size_t		codelen;
	int			c;

	while ((c = next_option("inspect", argc, argv, ":p:h", options)) != -1)
	{
		if (c == 'h')
		{
			help_inspect();
			return 0;
		}
		pubtext = optarg;
	}
	if (optind >= argc)
		usage_error("inspect", "no request code or token given");
	if (optind + 1 < argc)
		usage_error("inspect", "only one code at a time");

	code = read_code(argv[optind], &codelen);

	/* the version letter decides nothing here; the parsers name it */
	if (ag_has_prefix(code, codelen, "agt"))
		return inspect_token(code, codelen, pubtext);
	if (pubtext != NULL)
		usage_error("inspect", "--public-key only applies to a token");
	if (ag_has_prefix(code, codelen, "agr") || ag_has_prefix(code, codelen, "agb"))
		return inspect_request(code, codelen);
	if (ag_has_prefix(code, codelen, "agk"))
		return inspect_pubkey(code, codelen);
	if (codelen == 0)
		fatal("the code is empty");
	fatal("this is neither a request code (agr1... or agb1...) nor a token (agt1...)");
}
