/*
 * agentguard.c
 *		The DBA's command-line tool: make a signing key, read a request code
 *		in plain words, sign it into a confirmation token, or do all of that
 *		against a running server in one step (approve).
 *
 * The private key only ever lives here and in the file keygen writes; the
 * server can verify tokens but has no code to mint them.  Codes and tokens
 * are read with the same request.c/token.c the server uses, so whatever this
 * tool shows is what the server will check.
 *
 * Errors are one line on stderr starting "agentguard:"; exit status 1 for
 * bad input or a failed operation, 2 for a command line that makes no sense.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "libpq-fe.h"

#include "request.h"

#define AG_CLI_VERSION		"1.0"

#define EXIT_BAD_INPUT		1
#define EXIT_USAGE			2

#define DEFAULT_TTL_SECONDS (15 * 60)

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

static int	cmd_keygen(int argc, char **argv);
static int	cmd_sign(int argc, char **argv);
static int	cmd_inspect(int argc, char **argv);
static int	cmd_approve(int argc, char **argv);

static const Command commands[] = {
	{"keygen", cmd_keygen, "make a new Ed25519 signing key"},
	{"sign", cmd_sign, "sign a request code into a confirmation token"},
	{"inspect", cmd_inspect, "show in plain words what a request code or token says"},
	{"approve", cmd_approve, "show a refused request, sign it and confirm it in the database"},
	{NULL, NULL, NULL}
};

static void fatal(const char *fmt,...)
			__attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *cmd, const char *fmt,...)
			__attribute__((format(printf, 2, 3), noreturn));

static void
fatal(const char *fmt,...)
{
	va_list		ap;

	fflush(stdout);
	fputs("agentguard: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_BAD_INPUT);
}

static void
usage_error(const char *cmd, const char *fmt,...)
{
	va_list		ap;

	fputs("agentguard: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, " (see \"agentguard %s --help\")\n", cmd);
	else
		fputs(" (see \"agentguard --help\")\n", stderr);
	exit(EXIT_USAGE);
}

/* ---- small helpers ---- */

static bool
is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

/*
 * Accept "--name VALUE" and "--name=VALUE".  Advances *i past a separate
 * value.  Returns false when arg is not this option.
 */
static bool
option_value(const char *cmd, int argc, char **argv, int *i,
			 const char *name, const char **value)
{
	const char *arg = argv[*i];
	size_t		n = strlen(name);

	if (strncmp(arg, name, n) != 0)
		return false;
	if (arg[n] == '=')
	{
		*value = arg + n + 1;
	}
	else if (arg[n] == '\0')
	{
		if (*i + 1 >= argc)
			usage_error(cmd, "option %s needs a value", name);
		*value = argv[++(*i)];
	}
	else
		return false;
	if (**value == '\0')
		usage_error(cmd, "option %s needs a value", name);
	return true;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		c == '\f' || c == '\v';
}

static bool
has_prefix(const char *text, size_t len, const char *prefix)
{
	size_t		n = strlen(prefix);

	return len >= n && memcmp(text, prefix, n) == 0;
}

static void
hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t		i;

	for (i = 0; i < n; i++)
	{
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static const char *
format_utc(int64_t when, char *buf, size_t cap)
{
	time_t		t = (time_t) when;
	struct tm	tm;

	if ((int64_t) t != when || gmtime_r(&t, &tm) == NULL ||
		strftime(buf, cap, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, cap, "%lld seconds after 1970-01-01 UTC",
				 (long long) when);
	return buf;
}

/* the shortest exact way to write a duration in the --ttl syntax */
static const char *
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
static const char *
parse_duration(const char *s, int64_t *seconds)
{
	int64_t		value = 0;
	int64_t		unit = 1;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return "must be a number with an optional unit s, m, h or d (like 90s, 15m, 1h)";
	while (*p >= '0' && *p <= '9')
	{
		value = value * 10 + (*p - '0');
		if (value > MAX_TTL_SECONDS)
			return "is longer than the 30 days this tool signs for";
		p++;
	}
	switch (*p)
	{
		case '\0':
			break;
		case 's':
			unit = 1;
			p++;
			break;
		case 'm':
			unit = 60;
			p++;
			break;
		case 'h':
			unit = 3600;
			p++;
			break;
		case 'd':
			unit = 86400;
			p++;
			break;
		default:
			return "must be a number with an optional unit s, m, h or d (like 90s, 15m, 1h)";
	}
	if (*p != '\0')
		return "must be a number with an optional unit s, m, h or d (like 90s, 15m, 1h)";
	if (value == 0)
		return "must be more than zero";
	if (value > MAX_TTL_SECONDS / unit)
		return "is longer than the 30 days this tool signs for";
	*seconds = value * unit;
	return NULL;
}

/*
 * The CODE argument, or stdin when it is "-", without surrounding white
 * space.  Returned in a fresh buffer with its length (stdin may carry NUL
 * bytes, which the decoders then reject by name).
 */
static char *
read_code(const char *arg, size_t *lenp)
{
	char	   *buf;
	size_t		len;
	size_t		start = 0;

	if (strcmp(arg, "-") == 0)
	{
		size_t		cap = 4096;

		len = 0;
		buf = malloc(cap);
		if (buf == NULL)
			fatal("out of memory");
		for (;;)
		{
			size_t		got;

			if (len == cap)
			{
				char	   *bigger;

				if (cap > MAX_INPUT_BYTES)
					fatal("input on stdin is too long to be a request code or token");
				cap *= 2;
				bigger = realloc(buf, cap);
				if (bigger == NULL)
					fatal("out of memory");
				buf = bigger;
			}
			got = fread(buf + len, 1, cap - len, stdin);
			len += got;
			if (got == 0)
				break;
		}
		if (ferror(stdin))
			fatal("could not read stdin: %s", strerror(errno));
	}
	else
	{
		len = strlen(arg);
		buf = malloc(len + 1);
		if (buf == NULL)
			fatal("out of memory");
		memcpy(buf, arg, len);
	}

	while (start < len && is_space(buf[start]))
		start++;
	while (len > start && is_space(buf[len - 1]))
		len--;
	memmove(buf, buf + start, len - start);
	len -= start;
	buf[len] = '\0';

	/*
	 * Codes and tokens are plain ASCII.  Anything else is most likely
	 * typographic quotes or a stray character picked up while copying from
	 * a chat window, and saying so beats "not valid base64url".
	 */
	for (start = 0; start < len; start++)
	{
		unsigned char c = (unsigned char) buf[start];

		if (c == 0)
			fatal("the code contains a NUL byte");
		if (c >= 0x80)
			fatal("the code contains non-ASCII characters (copied with quotes or other decoration?)");
	}

	*lenp = len;
	return buf;
}

static char *
describe(const AgRequest *r)
{
	char		probe[1];
	size_t		need = ag_request_describe(r, probe, sizeof(probe));
	char	   *out = malloc(need + 1);

	if (out == NULL)
		fatal("out of memory");
	ag_request_describe(r, out, need + 1);
	return out;
}

/* print a description, ending with exactly one newline */
static void
print_block(FILE *f, const char *text)
{
	size_t		n = strlen(text);

	fputs(text, f);
	if (n == 0 || text[n - 1] != '\n')
		fputc('\n', f);
}

static void
public_key_of(EVP_PKEY *pkey, uint8_t out[AG_PUBKEY_LEN])
{
	size_t		len = AG_PUBKEY_LEN;

	if (EVP_PKEY_get_raw_public_key(pkey, out, &len) != 1 ||
		len != AG_PUBKEY_LEN)
		fatal("could not get the public half of the key");
}

static void
put_be(uint8_t *p, uint64_t v, int nbytes)
{
	int			i;

	for (i = nbytes - 1; i >= 0; i--)
	{
		p[i] = (uint8_t) v;
		v >>= 8;
	}
}

/*
 * Build and sign a token body into out (AG_TOKEN_MAX_BYTES).  Returns its
 * length.  This is the only minting code in agentguard; the layout is the
 * one request.h documents and token.c decodes.
 */
static size_t
mint_token(EVP_PKEY *pkey, const uint8_t *req, size_t reqlen,
		   int64_t issued_at, int64_t expires_at, uint8_t *out)
{
	uint8_t		msg[sizeof(AG_TOKEN_CONTEXT) + AG_TOKEN_MAX_BYTES];
	uint8_t		pub[AG_PUBKEY_LEN];
	uint8_t		kid[AG_KEY_ID_LEN];
	EVP_MD_CTX *ctx;
	size_t		pos = 0;
	size_t		siglen = AG_SIGNATURE_LEN;

	if (reqlen == 0 || reqlen > AG_REQUEST_MAX_BYTES || reqlen > UINT16_MAX)
		fatal("the request is too large to sign");

	public_key_of(pkey, pub);
	ag_key_id(pub, kid);

	out[pos++] = AG_TOKEN_VERSION;
	put_be(out + pos, reqlen, 2);
	pos += 2;
	memcpy(out + pos, req, reqlen);
	pos += reqlen;
	memcpy(out + pos, kid, AG_KEY_ID_LEN);
	pos += AG_KEY_ID_LEN;
	put_be(out + pos, (uint64_t) issued_at, 8);
	pos += 8;
	put_be(out + pos, (uint64_t) expires_at, 8);
	pos += 8;
	if (RAND_bytes(out + pos, AG_NONCE_LEN) != 1)
		fatal("could not get random bytes for the token nonce");
	pos += AG_NONCE_LEN;

	/* the context string, NUL included, then everything so far */
	memcpy(msg, AG_TOKEN_CONTEXT, sizeof(AG_TOKEN_CONTEXT));
	memcpy(msg + sizeof(AG_TOKEN_CONTEXT), out, pos);

	ctx = EVP_MD_CTX_new();
	if (ctx == NULL ||
		EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) != 1 ||
		EVP_DigestSign(ctx, out + pos, &siglen, msg,
					   sizeof(AG_TOKEN_CONTEXT) + pos) != 1 ||
		siglen != AG_SIGNATURE_LEN)
		fatal("signing failed");
	EVP_MD_CTX_free(ctx);
	OPENSSL_cleanse(msg, sizeof(msg));
	pos += AG_SIGNATURE_LEN;

	return pos;
}

static EVP_PKEY *
load_private_key(const char *path)
{
	FILE	   *f;
	EVP_PKEY   *pkey;

	f = fopen(path, "r");
	if (f == NULL)
		fatal("could not open key file \"%s\": %s", path, strerror(errno));
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (pkey == NULL)
		fatal("could not read a private key from \"%s\" (expected a PKCS#8 PEM file as written by agentguard keygen)",
			  path);
	if (EVP_PKEY_id(pkey) != EVP_PKEY_ED25519)
		fatal("\"%s\" is not an Ed25519 key; agentguard signs only with Ed25519 keys (make one with agentguard keygen)",
			  path);
	return pkey;
}

/*
 * A request code as sign and approve take it: parsed into a fresh buffer
 * (*body, *bodylen) and a request whose strings point into that buffer.
 */
static AgRequest *
parse_request_code(const char *code, size_t codelen, uint8_t **body,
				   size_t *bodylen)
{
	AgRequest  *req = malloc(sizeof(AgRequest));
	const char *err = NULL;

	*body = malloc(AG_REQUEST_MAX_BYTES);
	if (req == NULL || *body == NULL)
		fatal("out of memory");
	if (has_prefix(code, codelen, AG_TOKEN_PREFIX))
		fatal("this is already a token; give the request code (agr1...) from the refusal");
	if (!ag_request_parse(code, codelen, *body, AG_REQUEST_MAX_BYTES,
						  bodylen, req, &err))
		fatal("%s", err);
	return req;
}

/*
 * Sign a request body into a token valid for ttl seconds from now; returns
 * the token's text form and sets *expires_at.
 */
static char *
sign_request(EVP_PKEY *pkey, const uint8_t *body, size_t bodylen,
			 int64_t ttl, int64_t *expires_at)
{
	uint8_t    *token = malloc(AG_TOKEN_MAX_BYTES);
	AgToken    *check = malloc(sizeof(AgToken));
	uint8_t		pub[AG_PUBKEY_LEN];
	const char *err = NULL;
	int64_t		now = (int64_t) time(NULL);
	size_t		toklen;
	char	   *text;

	if (token == NULL || check == NULL)
		fatal("out of memory");
	toklen = mint_token(pkey, body, bodylen, now, now + ttl, token);

	/*
	 * Read the token back the way the server will, so a token this tool
	 * hands out is one the server can accept.
	 */
	public_key_of(pkey, pub);
	if (!ag_token_decode(token, toklen, check, &err))
		fatal("internal error: the new token does not decode: %s", err);
	if (!ag_token_verify(check, pub))
		fatal("internal error: the new token does not verify");

	text = malloc(ag_code_length(toklen) + 1);
	if (text == NULL)
		fatal("out of memory");
	ag_code_format(AG_TOKEN_PREFIX, token, toklen, text);
	free(check);
	free(token);
	*expires_at = now + ttl;
	return text;
}

static void
print_validity(FILE *f, int64_t ttl, int64_t expires_at)
{
	char		when[64];
	char		dur[32];

	fprintf(f, "valid for %s, until %s\n",
			format_duration(ttl, dur, sizeof(dur)),
			format_utc(expires_at, when, sizeof(when)));
	if (ttl > 3600)
		fputs("note: the server refuses tokens valid for longer than agentguard.max_token_ttl (1h unless changed)\n",
			  f);
}

/* ---- keygen ---- */

static void
help_keygen(void)
{
	printf("Usage: agentguard keygen --out FILE\n"
		   "\n"
		   "Make a new Ed25519 signing key.  The private key is written to FILE\n"
		   "(PKCS#8 PEM, mode 0600; an existing FILE is never overwritten) and\n"
		   "never goes into the database.  The public key is printed as one line,\n"
		   "to be trusted in a database with\n"
		   "  SELECT agentguard.add_signer('name', 'agk1....');\n"
		   "\n"
		   "Options:\n"
		   "  --out FILE   where to write the private key\n"
		   "  --help       show this help\n");
}

static int
cmd_keygen(int argc, char **argv)
{
	const char *out = NULL;
	EVP_PKEY_CTX *kctx;
	EVP_PKEY   *pkey = NULL;
	uint8_t		pub[AG_PUBKEY_LEN];
	char		pubtext[AG_PUBKEY_TEXT_LEN + 1];
	int			fd;
	FILE	   *f;
	int			i;

	for (i = 1; i < argc; i++)
	{
		const char *arg = argv[i];

		if (is_help(arg))
		{
			help_keygen();
			return 0;
		}
		else if (option_value("keygen", argc, argv, &i, "--out", &out))
			continue;
		else if (arg[0] == '-')
			usage_error("keygen", "unknown option \"%s\"", arg);
		else
			usage_error("keygen", "unexpected argument \"%s\"", arg);
	}
	if (out == NULL)
		usage_error("keygen", "--out FILE is required");
	if (strcmp(out, "-") == 0)
		usage_error("keygen", "--out needs a file name; the private key is not written to stdout");

	/* make the key first, so that a failure leaves no empty file behind */
	kctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	if (kctx == NULL || EVP_PKEY_keygen_init(kctx) != 1 ||
		EVP_PKEY_keygen(kctx, &pkey) != 1)
		fatal("could not generate an Ed25519 key");
	EVP_PKEY_CTX_free(kctx);
	public_key_of(pkey, pub);

	/*
	 * O_EXCL: a key file is never replaced, since the old key may still be
	 * a trusted signer somewhere.  0600 from the start, so there is no
	 * moment when others could read it.
	 */
	fd = open(out, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
	{
		if (errno == EEXIST)
			fatal("\"%s\" already exists; not overwriting it (choose another file name)", out);
		fatal("could not create \"%s\": %s", out, strerror(errno));
	}
	f = fdopen(fd, "w");
	if (f == NULL)
	{
		int			save = errno;

		close(fd);
		unlink(out);
		fatal("could not write \"%s\": %s", out, strerror(save));
	}
	if (PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
		fflush(f) != 0 || fsync(fileno(f)) != 0)
	{
		int			save = errno;

		fclose(f);
		unlink(out);
		fatal("could not write \"%s\": %s", out, strerror(save));
	}
	if (fclose(f) != 0)
	{
		int			save = errno;

		unlink(out);
		fatal("could not write \"%s\": %s", out, strerror(save));
	}
	EVP_PKEY_free(pkey);

	ag_pubkey_format(pub, pubtext);
	printf("%s\n", pubtext);
	fprintf(stderr,
			"private key written to %s (keep it secret; it never goes into the database)\n"
			"trust the public key in a database with:\n"
			"  SELECT agentguard.add_signer('name', '%s');\n",
			out, pubtext);
	return 0;
}

/* ---- sign ---- */

static void
help_sign(void)
{
	printf("Usage: agentguard sign --key FILE [--ttl DURATION] CODE\n"
		   "\n"
		   "Sign a request code (agr1..., from the \"request:\" line of a refusal)\n"
		   "and print the confirmation token (agt1...) as one line.  What the\n"
		   "request asks for is shown on stderr first.  CODE \"-\" reads stdin.\n"
		   "\n"
		   "Options:\n"
		   "  --key FILE       Ed25519 private key (PKCS#8 PEM) from agentguard keygen\n"
		   "  --ttl DURATION   how long the token is valid: 90s, 15m, 1h, 2d or\n"
		   "                   seconds (default 15m; the server refuses anything\n"
		   "                   longer than agentguard.max_token_ttl, 1h by default)\n"
		   "  --help           show this help\n");
}

static int
cmd_sign(int argc, char **argv)
{
	const char *keyfile = NULL;
	const char *ttltext = NULL;
	const char *codearg = NULL;
	const char *reason;
	int64_t		ttl = DEFAULT_TTL_SECONDS;
	int64_t		expires_at;
	char	   *code;
	size_t		codelen;
	uint8_t    *reqbuf;
	size_t		reqlen = 0;
	AgRequest  *req;
	char	   *text;
	char	   *desc;
	EVP_PKEY   *pkey;
	bool		endopts = false;
	int			i;

	for (i = 1; i < argc; i++)
	{
		const char *arg = argv[i];

		if (!endopts && strcmp(arg, "--") == 0)
			endopts = true;
		else if (!endopts && is_help(arg))
		{
			help_sign();
			return 0;
		}
		else if (!endopts && option_value("sign", argc, argv, &i, "--key", &keyfile))
			continue;
		else if (!endopts && option_value("sign", argc, argv, &i, "--ttl", &ttltext))
			continue;
		else if (!endopts && arg[0] == '-' && arg[1] != '\0')
			usage_error("sign", "unknown option \"%s\"", arg);
		else if (codearg != NULL)
			usage_error("sign", "only one request code at a time");
		else
			codearg = arg;
	}
	if (keyfile == NULL)
		usage_error("sign", "--key FILE is required");
	if (codearg == NULL)
		usage_error("sign", "no request code given");
	if (ttltext != NULL && (reason = parse_duration(ttltext, &ttl)) != NULL)
		usage_error("sign", "--ttl \"%s\" %s", ttltext, reason);

	/* read and check the code before touching the key */
	code = read_code(codearg, &codelen);
	req = parse_request_code(code, codelen, &reqbuf, &reqlen);

	pkey = load_private_key(keyfile);
	text = sign_request(pkey, reqbuf, reqlen, ttl, &expires_at);
	EVP_PKEY_free(pkey);

	desc = describe(req);
	fputs("signing this request:\n", stderr);
	print_block(stderr, desc);
	print_validity(stderr, ttl, expires_at);

	printf("%s\n", text);
	if (fflush(stdout) != 0)
		fatal("could not write the token: %s", strerror(errno));

	free(text);
	free(desc);
	free(req);
	free(reqbuf);
	free(code);
	return 0;
}

/* ---- inspect ---- */

static void
help_inspect(void)
{
	printf("Usage: agentguard inspect [--public-key KEY] CODE\n"
		   "\n"
		   "Show in plain words what a request code (agr1...) asks for, or what a\n"
		   "token (agt1...) approves, who signed it and until when.  CODE \"-\"\n"
		   "reads stdin.  Nothing is contacted and nothing is changed.\n"
		   "\n"
		   "Options:\n"
		   "  --public-key KEY   also check a token's signature against this public\n"
		   "                     key (agk1...); exit status 1 if it does not verify\n"
		   "  --help             show this help\n");
}

static int
inspect_token(const char *code, size_t codelen, const char *pubtext)
{
	uint8_t    *buf = malloc(AG_TOKEN_MAX_BYTES);
	AgToken    *t = malloc(sizeof(AgToken));
	const char *err = NULL;
	char		kid[2 * AG_KEY_ID_LEN + 1];
	char		nonce[2 * AG_NONCE_LEN + 1];
	char		when[64];
	char		dur[32];
	char	   *desc;
	int64_t		now = (int64_t) time(NULL);
	uint8_t		pub[AG_PUBKEY_LEN];
	int			status = 0;

	if (buf == NULL || t == NULL)
		fatal("out of memory");
	if (pubtext && !ag_pubkey_parse(pubtext, strlen(pubtext), pub, &err))
		usage_error("inspect", "--public-key: %s", err);
	if (!ag_token_parse(code, codelen, buf, AG_TOKEN_MAX_BYTES, t, &err))
		fatal("%s", err);

	desc = describe(&t->request);
	hex(t->key_id, AG_KEY_ID_LEN, kid);
	hex(t->nonce, AG_NONCE_LEN, nonce);

	printf("token approving:\n");
	print_block(stdout, desc);
	printf("signer key id: %s\n", kid);
	printf("issued:        %s\n", format_utc(t->issued_at, when, sizeof(when)));
	printf("expires:       %s%s\n", format_utc(t->expires_at, when, sizeof(when)),
		   t->expires_at <= now ? " EXPIRED" : "");
	printf("valid for:     %s\n",
		   format_duration(t->expires_at - t->issued_at, dur, sizeof(dur)));
	printf("nonce:         %s\n", nonce);
	if (pubtext == NULL)
		printf("signature:     not checked (give --public-key to check it)\n");
	else if (ag_token_verify(t, pub))
		printf("signature:     valid for %s\n", pubtext);
	else
	{
		printf("signature:     DOES NOT VERIFY with %s\n", pubtext);
		status = EXIT_BAD_INPUT;
	}

	free(desc);
	free(t);
	free(buf);
	return status;
}

static int
inspect_request(const char *code, size_t codelen)
{
	uint8_t    *buf = malloc(AG_REQUEST_MAX_BYTES);
	AgRequest  *r = malloc(sizeof(AgRequest));
	const char *err = NULL;
	size_t		bodylen;
	char	   *desc;

	if (buf == NULL || r == NULL)
		fatal("out of memory");
	if (!ag_request_parse(code, codelen, buf, AG_REQUEST_MAX_BYTES,
						  &bodylen, r, &err))
		fatal("%s", err);
	desc = describe(r);
	print_block(stdout, desc);
	free(desc);
	free(r);
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
	hex(kid, AG_KEY_ID_LEN, kidhex);
	printf("public key\nkey id: %s\n", kidhex);
	return 0;
}

static int
cmd_inspect(int argc, char **argv)
{
	const char *codearg = NULL;
	const char *pubtext = NULL;
	char	   *code;
	size_t		codelen;
	bool		endopts = false;
	int			status;
	int			i;

	for (i = 1; i < argc; i++)
	{
		const char *arg = argv[i];

		if (!endopts && strcmp(arg, "--") == 0)
			endopts = true;
		else if (!endopts && is_help(arg))
		{
			help_inspect();
			return 0;
		}
		else if (!endopts && option_value("inspect", argc, argv, &i, "--public-key", &pubtext))
			continue;
		else if (!endopts && arg[0] == '-' && arg[1] != '\0')
			usage_error("inspect", "unknown option \"%s\"", arg);
		else if (codearg != NULL)
			usage_error("inspect", "only one code at a time");
		else
			codearg = arg;
	}
	if (codearg == NULL)
		usage_error("inspect", "no request code or token given");

	code = read_code(codearg, &codelen);

	/* the version letter decides nothing here; the parsers name it */
	if (has_prefix(code, codelen, "agt"))
		status = inspect_token(code, codelen, pubtext);
	else if (pubtext != NULL)
		usage_error("inspect", "--public-key only applies to a token");
	else if (has_prefix(code, codelen, "agr"))
		status = inspect_request(code, codelen);
	else if (has_prefix(code, codelen, "agk"))
		status = inspect_pubkey(code, codelen);
	else if (codelen == 0)
		fatal("the code is empty");
	else
		fatal("this is neither a request code (agr1...) nor a token (agt1...)");

	free(code);
	return status;
}

/* ---- approve ---- */

static void
help_approve(void)
{
	printf("Usage: agentguard approve --key FILE [--ttl DURATION] [--yes] [CONNINFO] [CODE]\n"
		   "\n"
		   "Approve a refused statement in one step: show the request in plain\n"
		   "words, ask \"approve? [y/N]\", sign it and confirm the token in the\n"
		   "database, so that the agent only has to run the statement again.\n"
		   "\n"
		   "CONNINFO is a connection string, a URI or a database name, as psql\n"
		   "takes it; the PG* environment variables fill in the rest.  CODE is the\n"
		   "request code (agr1...) from the refusal, \"-\" to read it from stdin\n"
		   "(with --yes).  Without CODE the newest refusal in the database connected\n"
		   "to is taken from agentguard.requests, which superusers and members of\n"
		   "pg_monitor may read.  An argument beginning with \"agr\" or \"agt\" is\n"
		   "taken for CODE: write dbname=NAME for a database named like that.\n"
		   "\n"
		   "The answer is read from stdin: y or yes approves; anything else signs\n"
		   "nothing and exits with status 1, as every failure does.\n"
		   "\n"
		   "Options:\n"
		   "  --key FILE       Ed25519 private key (PKCS#8 PEM) from agentguard keygen\n"
		   "  --ttl DURATION   how long the token is valid: 90s, 15m, 1h, 2d or\n"
		   "                   seconds (default 15m; the server refuses anything\n"
		   "                   longer than agentguard.max_token_ttl, 1h by default)\n"
		   "  --yes            approve without asking, for scripts\n"
		   "  --help           show this help\n");
}

/* "agr..." or "agt..." is a code (a token is refused by name later); "-" is stdin */
static bool
is_code_argument(const char *arg)
{
	return strcmp(arg, "-") == 0 || strncmp(arg, "agr", 3) == 0 ||
		strncmp(arg, "agt", 3) == 0;
}

/*
 * libpq's messages run over several lines (one per address tried, hints
 * indented below); the errors of this tool are one line.
 */
static char *
one_line(const char *message)
{
	size_t		len = strlen(message);
	char	   *out = malloc(2 * len + 1);
	size_t		n = 0;
	const char *p = message;

	if (out == NULL)
		fatal("out of memory");
	while (*p)
	{
		if (*p == '\n')
		{
			while (*p && is_space(*p))
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
 * as psql shows them.
 */
static void fatal_server(PGconn *conn, PGresult *res, const char *doing)
			__attribute__((noreturn));

static void
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
	fprintf(stderr, "agentguard: %s: %s\n", doing, message);
	if (detail)
		fprintf(stderr, "DETAIL:  %s\n", detail);
	if (hint)
		fprintf(stderr, "HINT:  %s\n", hint);
	exit(EXIT_BAD_INPUT);
}

static PGconn *
connect_server(const char *conninfo)
{
	const char *keywords[] = {"dbname", "fallback_application_name", NULL};
	const char *values[] = {conninfo, "agentguard", NULL};
	PGconn	   *conn;

	/* expand_dbname: CONNINFO may be a whole connection string, as for psql */
	conn = PQconnectdbParams(keywords, values, 1);
	if (conn == NULL)
		fatal("out of memory");
	if (PQstatus(conn) != CONNECTION_OK)
		fatal("could not connect to the server: %s", one_line(PQerrorMessage(conn)));
	return conn;
}

/*
 * The newest refusal in the database connected to, from agentguard.requests.
 * Only this database's: a token is confirmed in the database it names, and
 * approving what an agent did elsewhere should be a deliberate choice, made
 * by connecting there.  Sets *when to "refused N times, last at ...".
 */
static char *
newest_request(PGconn *conn, char **when)
{
	PGresult   *res;
	char	   *code;
	size_t		n;

	res = PQexec(conn,
				 "SELECT code, refused_at, times, action, objects"
				 "  FROM agentguard.requests"
				 " WHERE database = pg_catalog.current_database()"
				 " ORDER BY refused_at DESC LIMIT 1");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fatal_server(conn, res, "could not read agentguard.requests");
	if (PQntuples(res) == 0)
		fatal("no refused statement is waiting in database \"%s\" (agentguard.requests has none from it)",
			  PQdb(conn));
	if (PQgetisnull(res, 0, 0))
		fatal("the newest refusal in database \"%s\" (%s %s) is too large to be kept with its code; give the code from the agent's error message",
			  PQdb(conn), PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4));

	code = strdup(PQgetvalue(res, 0, 0));
	n = strlen(PQgetvalue(res, 0, 1)) + strlen(PQgetvalue(res, 0, 2)) + 64;
	*when = malloc(n);
	if (code == NULL || *when == NULL)
		fatal("out of memory");
	snprintf(*when, n, "refused %s %s, last at %s", PQgetvalue(res, 0, 2),
			 strcmp(PQgetvalue(res, 0, 2), "1") == 0 ? "time" : "times",
			 PQgetvalue(res, 0, 1));
	PQclear(res);
	return code;
}

static bool
answered_yes(void)
{
	char		line[64];
	char	   *p;
	char	   *end;

	fputs("approve? [y/N] ", stderr);
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) == NULL)
	{
		fputc('\n', stderr);
		return false;
	}
	for (p = line; is_space(*p); p++)
		;
	for (end = p + strlen(p); end > p && is_space(end[-1]); end--)
		;
	*end = '\0';
	return strcasecmp(p, "y") == 0 || strcasecmp(p, "yes") == 0;
}

static int
cmd_approve(int argc, char **argv)
{
	const char *keyfile = NULL;
	const char *ttltext = NULL;
	const char *connarg = NULL;
	const char *codearg = NULL;
	const char *reason;
	const char *params[1];
	bool		yes = false;
	bool		endopts = false;
	int64_t		ttl = DEFAULT_TTL_SECONDS;
	int64_t		expires_at;
	char	   *code = NULL;
	size_t		codelen;
	char	   *when = NULL;
	uint8_t    *reqbuf;
	size_t		reqlen = 0;
	AgRequest  *req;
	char	   *desc;
	char	   *token;
	EVP_PKEY   *pkey;
	PGconn	   *conn;
	PGresult   *res;
	int			i;

	for (i = 1; i < argc; i++)
	{
		const char *arg = argv[i];

		if (!endopts && strcmp(arg, "--") == 0)
			endopts = true;
		else if (!endopts && is_help(arg))
		{
			help_approve();
			return 0;
		}
		else if (!endopts && option_value("approve", argc, argv, &i, "--key", &keyfile))
			continue;
		else if (!endopts && option_value("approve", argc, argv, &i, "--ttl", &ttltext))
			continue;
		else if (!endopts && strcmp(arg, "--yes") == 0)
			yes = true;
		else if (!endopts && arg[0] == '-' && arg[1] != '\0')
			usage_error("approve", "unknown option \"%s\"", arg);
		else if (is_code_argument(arg))
		{
			if (codearg != NULL)
				usage_error("approve", "only one request code at a time");
			codearg = arg;
		}
		else if (connarg != NULL)
			usage_error("approve", "only one connection string at a time (\"%s\" is not a request code)", arg);
		else
			connarg = arg;
	}
	if (keyfile == NULL)
		usage_error("approve", "--key FILE is required");
	if (ttltext != NULL && (reason = parse_duration(ttltext, &ttl)) != NULL)
		usage_error("approve", "--ttl \"%s\" %s", ttltext, reason);
	if (codearg != NULL && strcmp(codearg, "-") == 0 && !yes)
		usage_error("approve", "CODE \"-\" needs --yes, since the answer to \"approve?\" is read from stdin too");

	/* everything that can be checked here is, before bothering the server */
	if (codearg != NULL)
	{
		code = read_code(codearg, &codelen);
		req = parse_request_code(code, codelen, &reqbuf, &reqlen);
	}
	pkey = load_private_key(keyfile);

	conn = connect_server(connarg);
	if (code == NULL)
	{
		code = newest_request(conn, &when);
		req = parse_request_code(code, strlen(code), &reqbuf, &reqlen);
	}
	if (req->database.len != strlen(PQdb(conn)) ||
		memcmp(req->database.ptr, PQdb(conn), req->database.len) != 0)
		fatal("the request is for database \"%.*s\", but the connection is to \"%s\" (connect to \"%.*s\" to approve it)",
			  (int) req->database.len, req->database.ptr, PQdb(conn),
			  (int) req->database.len, req->database.ptr);

	desc = describe(req);
	if (when != NULL)
		fprintf(stderr, "request %s:\n", when);
	else
		fputs("request:\n", stderr);
	print_block(stderr, desc);
	if (!yes && !answered_yes())
	{
		fflush(stdout);
		fputs("agentguard: not approved; nothing was signed or confirmed\n", stderr);
		PQfinish(conn);
		exit(EXIT_BAD_INPUT);
	}

	token = sign_request(pkey, reqbuf, reqlen, ttl, &expires_at);
	EVP_PKEY_free(pkey);
	print_validity(stderr, ttl, expires_at);

	params[0] = token;
	res = PQexecParams(conn, "SELECT agentguard.confirm($1)", 1, NULL, params,
					   NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fatal_server(conn, res, "the server did not accept the confirmation");
	print_block(stdout, PQgetvalue(res, 0, 0));
	if (fflush(stdout) != 0)
		fatal("could not write the server's answer: %s", strerror(errno));
	PQclear(res);
	PQfinish(conn);

	free(token);
	free(desc);
	free(req);
	free(reqbuf);
	free(when);
	free(code);
	return 0;
}

/* ---- main ---- */

static void
help_main(void)
{
	const Command *c;

	printf("agentguard: approve destructive statements that agentguard refused\n"
		   "\n"
		   "Usage: agentguard COMMAND [OPTIONS]\n"
		   "\n"
		   "Commands:\n");
	for (c = commands; c->name; c++)
		printf("  %-9s %s\n", c->name, c->summary);
	printf("\n"
		   "\"agentguard COMMAND --help\" shows a command's options.\n"
		   "Other options:\n"
		   "  --help      show this help\n"
		   "  --version   show the version\n");
}

int
main(int argc, char **argv)
{
	const Command *c;

	if (argc < 2)
		usage_error(NULL, "no command given");
	if (is_help(argv[1]) || strcmp(argv[1], "help") == 0)
	{
		help_main();
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
	{
		printf("agentguard " AG_CLI_VERSION "\n");
		return 0;
	}
	for (c = commands; c->name; c++)
		if (strcmp(argv[1], c->name) == 0)
			return c->run(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		usage_error(NULL, "unknown option \"%s\"", argv[1]);
	usage_error(NULL, "unknown command \"%s\"", argv[1]);
}
