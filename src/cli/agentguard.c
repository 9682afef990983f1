/*
 * agentguard.c
 *		The DBA's command-line tool: make a signing key, read a request code
 *		in plain words, and sign it into a confirmation token.
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

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

/* "approve" (libpq) joins this table later */
static const Command commands[] = {
	{"keygen", cmd_keygen, "make a new Ed25519 signing key"},
	{"sign", cmd_sign, "sign a request code into a confirmation token"},
	{"inspect", cmd_inspect, "show in plain words what a request code or token says"},
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
	const char *err = NULL;
	const char *reason;
	int64_t		ttl = DEFAULT_TTL_SECONDS;
	int64_t		now;
	char	   *code;
	size_t		codelen;
	uint8_t    *reqbuf;
	size_t		reqlen = 0;
	AgRequest  *req;
	AgToken    *check;
	uint8_t    *token;
	size_t		toklen;
	char	   *text;
	char	   *desc;
	char		when[64];
	char		dur[32];
	uint8_t		pub[AG_PUBKEY_LEN];
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
	if (has_prefix(code, codelen, AG_TOKEN_PREFIX))
		fatal("this is already a token; sign takes the request code (agr1...) from the refusal");
	reqbuf = malloc(AG_REQUEST_MAX_BYTES);
	req = malloc(sizeof(AgRequest));
	check = malloc(sizeof(AgToken));
	token = malloc(AG_TOKEN_MAX_BYTES);
	if (!reqbuf || !req || !check || !token)
		fatal("out of memory");
	if (!ag_request_parse(code, codelen, reqbuf, AG_REQUEST_MAX_BYTES,
						  &reqlen, req, &err))
		fatal("%s", err);

	pkey = load_private_key(keyfile);

	now = (int64_t) time(NULL);
	toklen = mint_token(pkey, reqbuf, reqlen, now, now + ttl, token);

	/*
	 * Read the token back the way the server will, so a token this tool
	 * prints is one the server can accept.
	 */
	public_key_of(pkey, pub);
	if (!ag_token_decode(token, toklen, check, &err))
		fatal("internal error: the new token does not decode: %s", err);
	if (!ag_token_verify(check, pub))
		fatal("internal error: the new token does not verify");
	EVP_PKEY_free(pkey);

	desc = describe(req);
	fputs("signing this request:\n", stderr);
	print_block(stderr, desc);
	fprintf(stderr, "valid for %s, until %s\n",
			format_duration(ttl, dur, sizeof(dur)),
			format_utc(now + ttl, when, sizeof(when)));
	if (ttl > 3600)
		fputs("note: the server refuses tokens valid for longer than agentguard.max_token_ttl (1h unless changed)\n",
			  stderr);

	text = malloc(ag_code_length(toklen) + 1);
	if (text == NULL)
		fatal("out of memory");
	ag_code_format(AG_TOKEN_PREFIX, token, toklen, text);
	printf("%s\n", text);
	if (fflush(stdout) != 0)
		fatal("could not write the token: %s", strerror(errno));

	free(text);
	free(desc);
	free(token);
	free(check);
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
