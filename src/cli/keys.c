/*
 * keys.c
 *		Signing keys and signing: keygen, pubkey and sign, and the private
 *		key and token minting that approve uses too.
 *
 * The private key is read only from a file the DBA names, and only here.
 * token.c lays a token out (ag_token_encode, ag_token_assemble) and says
 * what its signatures cover (ag_token_message); this file adds the one part
 * that needs the private key, a signature: the first one of a new token, or
 * one more on a token that other DBAs signed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "cli.h"
#include "text.h"

/* a PEM Ed25519 key is about 120 bytes; this only bounds what is read */
#define MAX_KEY_FILE_BYTES	(64 * 1024)

/* ---- the private key ---- */

/* what a path that is not a regular file is, for the error that refuses it */
static const char *
file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

/*
 * Read a private key file into memory, as ssh does: a key that others can
 * read gets a warning (whoever reads it can approve in the DBA's name), and
 * a path that is not a regular file is refused.  O_NONBLOCK lets a FIFO or a
 * device open without waiting for a writer, so that fstat can say what it
 * is instead of the program hanging on it.
 */
static char *
read_key_file(const char *path, size_t *lenp)
{
	struct stat st;
	char	   *buf;
	size_t		len = 0;
	int			fd;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		fatal("could not open key file \"%s\": %s", path, strerror(errno));
	if (fstat(fd, &st) != 0)
		fatal("could not read key file \"%s\": %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		fatal("key file \"%s\" is %s, not a regular file", path, file_kind(st.st_mode));
	if (st.st_mode & (S_IRGRP | S_IROTH))
		warning("key file \"%s\" can be read by %s (mode %04o): anyone who reads it can approve in your name; make it private with chmod 600",
				path, (st.st_mode & S_IROTH) ? "others" : "its group",
				(unsigned) (st.st_mode & 07777));
	if (st.st_size > MAX_KEY_FILE_BYTES)
		fatal("\"%s\" is too large to be a key file (expected the small PEM file agentguard keygen wrote)", path);

	buf = xmalloc(MAX_KEY_FILE_BYTES + 1);
	for (;;)
	{
		ssize_t		got = read(fd, buf + len, MAX_KEY_FILE_BYTES + 1 - len);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			fatal("could not read key file \"%s\": %s", path, strerror(errno));
		if (got == 0)
			break;
		len += (size_t) got;
		if (len > MAX_KEY_FILE_BYTES)
			fatal("\"%s\" is too large to be a key file (expected the small PEM file agentguard keygen wrote)", path);
	}
	close(fd);
	*lenp = len;
	return buf;
}

EVP_PKEY *
load_private_key(const char *path)
{
	size_t		len;
	char	   *buf = read_key_file(path, &len);
	BIO		   *bio = BIO_new_mem_buf(buf, (int) len);
	EVP_PKEY   *pkey;

	if (bio == NULL)
		fatal("out of memory");
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (pkey == NULL)
		fatal("could not read a private key from \"%s\" (expected a PKCS#8 PEM file as written by agentguard keygen)",
			  path);
	if (EVP_PKEY_id(pkey) != EVP_PKEY_ED25519)
		fatal("\"%s\" is not an Ed25519 key; agentguard signs only with Ed25519 keys (make one with agentguard keygen)",
			  path);
	return pkey;
}

static void
public_key_of(EVP_PKEY *pkey, uint8_t out[AG_PUBKEY_LEN])
{
	size_t		len = AG_PUBKEY_LEN;

	if (EVP_PKEY_get_raw_public_key(pkey, out, &len) != 1 ||
		len != AG_PUBKEY_LEN)
		fatal("could not get the public half of the key");
}

/* ---- tokens ---- */

/* this key's signature over a token's signed part */
static void
sign_signed_part(EVP_PKEY *pkey, const uint8_t *signed_part, size_t len,
				 AgSignature *sig)
{
	uint8_t		msg[AG_TOKEN_MESSAGE_MAX];
	uint8_t		pub[AG_PUBKEY_LEN];
	EVP_MD_CTX *ctx;
	size_t		msglen;
	size_t		siglen = AG_SIGNATURE_LEN;

	public_key_of(pkey, pub);
	ag_key_id(pub, sig->key_id);
	msglen = ag_token_message(signed_part, len, msg);
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL ||
		EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) != 1 ||
		EVP_DigestSign(ctx, sig->signature, &siglen, msg, msglen) != 1 ||
		siglen != AG_SIGNATURE_LEN)
		fatal("signing failed");
	EVP_MD_CTX_free(ctx);
	OPENSSL_cleanse(msg, sizeof(msg));
}

/*
 * Read a token body back the way the server will and check that signature
 * i is this key's and verifies, so a token this tool hands out is one the
 * server can accept; returns its text form.
 */
static char *
checked_token_text(EVP_PKEY *pkey, const uint8_t *token, size_t toklen, int i)
{
	AgToken    *check = xmalloc(sizeof(AgToken));
	uint8_t		pub[AG_PUBKEY_LEN];
	const char *err = NULL;
	char	   *text;

	public_key_of(pkey, pub);
	if (!ag_token_decode(token, toklen, check, &err))
		fatal("internal error: the new token does not decode: %s", err);
	if (!ag_token_verify(check, i, pub))
		fatal("internal error: the new token does not verify");
	text = xmalloc(ag_code_length(toklen) + 1);
	ag_code_format(AG_TOKEN_PREFIX, token, toklen, text);
	free(check);
	return text;
}

/*
 * A request code (or a rehearsal's batch code) as sign and approve take it:
 * parsed into a fresh buffer (*body, *bodylen) and a request whose strings
 * point into that buffer; of a batch, its first request, which names the
 * cluster, environment, database and role of them all.
 */
AgRequest *
parse_request_code(const char *code, size_t codelen, uint8_t **body,
				   size_t *bodylen)
{
	AgRequest  *req = xmalloc(sizeof(AgRequest));
	AgBatch		batch;
	const char *err = NULL;
	const char *text = code;
	size_t		textlen = codelen;

	*body = xmalloc(AG_BATCH_MAX_BYTES);
	ag_trim(&text, &textlen);
	if (ag_has_prefix(text, textlen, AG_TOKEN_PREFIX))
		fatal("this is already a token; give the request code (agr1... or agb1...) from the refusal");
	if (ag_has_prefix(text, textlen, "agb"))
	{
		if (!ag_batch_parse(code, codelen, *body, AG_BATCH_MAX_BYTES, bodylen,
							&batch, req, &err) ||
			!ag_batch_request(&batch, 0, req))
			fatal("%s", err ? err : "the batch does not decode");
		return req;
	}
	if (!ag_request_parse(code, codelen, *body, AG_REQUEST_MAX_BYTES,
						  bodylen, req, &err))
		fatal("%s", err);
	return req;
}

/*
 * Sign a request body into a token valid for ttl seconds from now, with
 * this key's signature alone; returns the token's text form and sets
 * *expires_at.
 */
char *
sign_request(EVP_PKEY *pkey, const uint8_t *body, size_t bodylen,
			 int64_t ttl, int64_t *expires_at)
{
	uint8_t    *token = xmalloc(AG_TOKEN_MAX_BYTES);
	uint8_t		nonce[AG_NONCE_LEN];
	AgSignature sig;
	const char *err = NULL;
	int64_t		now = (int64_t) time(NULL);
	size_t		len;
	char	   *text;

	if (RAND_bytes(nonce, AG_NONCE_LEN) != 1)
		fatal("could not get random bytes for the token nonce");
	len = ag_token_encode(body, bodylen, now, now + ttl, nonce,
						  token, AG_TOKEN_MAX_BYTES, &err);
	if (len == 0)
		fatal("%s", err);
	sign_signed_part(pkey, token, len, &sig);
	len = ag_token_assemble(token, len, &sig, 1, token, AG_TOKEN_MAX_BYTES, &err);
	if (len == 0)
		fatal("%s", err);
	text = checked_token_text(pkey, token, len, 0);
	free(token);
	*expires_at = now + ttl;
	return text;
}

/*
 * A token as sign and approve take it to add a signature: parsed into a
 * fresh buffer, with what it approves and who signed it.
 */
AgToken *
parse_token(const char *text, size_t len)
{
	AgToken    *t = xmalloc(sizeof(AgToken));
	uint8_t    *buf = xmalloc(AG_TOKEN_MAX_BYTES);
	const char *err = NULL;

	if (!ag_token_parse(text, len, buf, AG_TOKEN_MAX_BYTES, t, &err))
		fatal("%s", err);
	return t;
}

/*
 * Add this key's signature to a token another signer made; returns the new
 * token's text form.  The first signer chose what it approves and for how
 * long; a co-signer only adds a signature over those same bytes.  A key
 * that signed already is added again with a warning, since the server
 * counts it once: the DBA learns here, not at confirm, that another signer
 * is needed.
 */
char *
cosign_token(EVP_PKEY *pkey, const AgToken *t)
{
	AgSignature sigs[AG_MAX_SIGNATURES];
	uint8_t    *token = xmalloc(AG_TOKEN_MAX_BYTES);
	const char *err = NULL;
	size_t		len;
	char	   *text;
	int			n = t->nsignatures;

	if (t->version != AG_TOKEN_VERSION)
		fatal("this token is of version %d, which carries one signature only; sign the request code again with agentguard sign",
			  t->version);
	if (n >= AG_MAX_SIGNATURES)
		fatal("this token already carries %d signatures, the most a token can carry",
			  AG_MAX_SIGNATURES);
	if (t->expires_at <= (int64_t) time(NULL))
	{
		char		when[AG_TIME_TEXT_LEN];

		fatal("this token expired at %s; ask for the request to be signed again",
			  format_utc(t->expires_at, when));
	}
	memcpy(sigs, t->signatures, sizeof(AgSignature) * n);
	sign_signed_part(pkey, t->signed_part, t->signed_len, &sigs[n]);
	if (ag_token_find_signer(t, sigs[n].key_id) >= 0)
		warning("this key has signed this token already; the server counts a signer once, so another signer is needed");
	len = ag_token_assemble(t->signed_part, t->signed_len, sigs, n + 1,
							token, AG_TOKEN_MAX_BYTES, &err);
	if (len == 0)
		fatal("%s", err);
	text = checked_token_text(pkey, token, len, n);
	free(token);
	return text;
}

/*
 * "signatures:" and the key id of each, as inspect, sign and approve show
 * them.
 */
void
print_signatures(FILE *f, const AgToken *t)
{
	int			distinct = ag_token_distinct_signers(t);

	fprintf(f, "signatures:    %d (%d distinct signer%s)\n", t->nsignatures,
			distinct, distinct == 1 ? "" : "s");
	for (int i = 0; i < t->nsignatures; i++)
	{
		char		kid[2 * AG_KEY_ID_LEN + 1];

		ag_hex(t->signatures[i].key_id, AG_KEY_ID_LEN, kid);
		fprintf(f, "signer key id: %s%s\n", kid,
				ag_token_find_signer(t, t->signatures[i].key_id) < i ? " (again)" : "");
	}
}

void
print_validity(FILE *f, int64_t ttl, int64_t expires_at)
{
	char		when[AG_TIME_TEXT_LEN];
	char		dur[32];

	fprintf(f, "valid for %s, until %s\n",
			format_duration(ttl, dur, sizeof(dur)),
			format_utc(expires_at, when));
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
		   "  -o, --out FILE   where to write the private key\n"
		   "  -h, --help       show this help\n");
}

/* write a new private key file; on any failure nothing is left behind */
static void
write_key_file(const char *path, EVP_PKEY *pkey)
{
	int			fd;
	FILE	   *f;
	int			save;

	/*
	 * O_EXCL: a key file is never replaced, since the old key may still be
	 * a trusted signer somewhere.  0600 from the start, so there is no
	 * moment when others could read it.
	 */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
	{
		if (errno == EEXIST)
			fatal("\"%s\" already exists; not overwriting it (choose another file name)", path);
		fatal("could not create \"%s\": %s", path, strerror(errno));
	}
	f = fdopen(fd, "w");
	if (f == NULL)
	{
		save = errno;
		close(fd);
		unlink(path);
		fatal("could not write \"%s\": %s", path, strerror(save));
	}
	if (PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
		fflush(f) != 0 || fsync(fileno(f)) != 0)
	{
		save = errno;
		fclose(f);
		unlink(path);
		fatal("could not write \"%s\": %s", path, strerror(save));
	}
	if (fclose(f) != 0)
	{
		save = errno;
		unlink(path);
		fatal("could not write \"%s\": %s", path, strerror(save));
	}
}

int
cmd_keygen(int argc, char **argv)
{
	static const struct option options[] = {
		{"out", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const char *out = NULL;
	EVP_PKEY_CTX *kctx;
	EVP_PKEY   *pkey = NULL;
	uint8_t		pub[AG_PUBKEY_LEN];
	char		pubtext[AG_PUBKEY_TEXT_LEN + 1];
	int			c;

	while ((c = next_option("keygen", argc, argv, ":o:h", options)) != -1)
	{
		if (c == 'h')
		{
			help_keygen();
			return 0;
		}
		out = optarg;
	}
	if (optind < argc)
		usage_error("keygen", "unexpected argument \"%s\"", argv[optind]);
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
	write_key_file(out, pkey);
	EVP_PKEY_free(pkey);

	ag_pubkey_format(pub, pubtext);
	printf("%s\n", pubtext);
	fprintf(stderr,
			"private key written to %s (keep it secret; it never goes into the database)\n"
			"trust the public key in a database with:\n"
			"  SELECT agentguard.add_signer('name', '%s');\n",
			shown(out), pubtext);
	return 0;
}

/* ---- pubkey ---- */

static void
help_pubkey(void)
{
	printf("Usage: agentguard pubkey --key FILE\n"
		   "\n"
		   "Print the public key (agk1...) of a private key file as one line, as\n"
		   "agentguard keygen printed it when it made the key: the key to give\n"
		   "agentguard.add_signer in another database.\n"
		   "\n"
		   "Options:\n"
		   "  -k, --key FILE   Ed25519 private key (PKCS#8 PEM) from agentguard keygen\n"
		   "  -h, --help       show this help\n");
}

int
cmd_pubkey(int argc, char **argv)
{
	static const struct option options[] = {
		{"key", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const char *keyfile = NULL;
	EVP_PKEY   *pkey;
	uint8_t		pub[AG_PUBKEY_LEN];
	char		pubtext[AG_PUBKEY_TEXT_LEN + 1];
	int			c;

	while ((c = next_option("pubkey", argc, argv, ":k:h", options)) != -1)
	{
		if (c == 'h')
		{
			help_pubkey();
			return 0;
		}
		keyfile = optarg;
	}
	if (optind < argc)
		usage_error("pubkey", "unexpected argument \"%s\"", argv[optind]);
	if (keyfile == NULL)
		usage_error("pubkey", "--key FILE is required");

	pkey = load_private_key(keyfile);
	public_key_of(pkey, pub);
	EVP_PKEY_free(pkey);
	ag_pubkey_format(pub, pubtext);
	printf("%s\n", pubtext);
	if (fflush(stdout) != 0)
		fatal("could not write the public key: %s", strerror(errno));
	return 0;
}

/* ---- sign ---- */

static void
help_sign(void)
{
	printf("Usage: agentguard sign --key FILE [--ttl DURATION] CODE\n"
		   "       agentguard sign --key FILE TOKEN\n"
		   "\n"
		   "Sign a request code (agr1..., from the \"request:\" line of a refusal),\n"
		   "or the batch code (agb1...) of a rehearsal's refused COMMIT, and print\n"
		   "the confirmation token (agt1...) as one line; a batch's token lets each\n"
		   "of its statements run once.  What the code asks for, every statement of\n"
		   "a batch, is shown on stderr first.  CODE \"-\" reads stdin.\n"
		   "\n"
		   "Given a token another DBA signed, add this key's signature to it, for\n"
		   "a database whose agentguard.required_signatures asks for more than\n"
		   "one signer; the token keeps its lifetime.\n"
		   "\n"
		   "Options:\n"
		   HELP_KEY_TTL
		   "  -h, --help           show this help\n");
}

/* sign --key FILE TOKEN: one more signature on what another DBA signed */
static int
cosign(const char *keyfile, const char *text, size_t len)
{
	AgToken    *t = parse_token(text, len);
	AgToken    *signed_by;
	char		when[AG_TIME_TEXT_LEN];
	char	   *token;
	EVP_PKEY   *pkey;

	fputs("adding your signature to this token:\n", stderr);
	print_block(stderr, describe_body(t->request_body, t->request_len));
	print_signatures(stderr, t);
	fprintf(stderr, "valid until %s\n", format_utc(t->expires_at, when));

	pkey = load_private_key(keyfile);
	token = cosign_token(pkey, t);
	EVP_PKEY_free(pkey);
	signed_by = parse_token(token, strlen(token));
	fprintf(stderr, "the token now has %d distinct signers; confirm it once it has as many as agentguard.required_signatures asks for\n",
			ag_token_distinct_signers(signed_by));

	printf("%s\n", token);
	if (fflush(stdout) != 0)
		fatal("could not write the token: %s", strerror(errno));
	return 0;
}

int
cmd_sign(int argc, char **argv)
{
	static const struct option options[] = {
		{"key", required_argument, NULL, 'k'},
		{"ttl", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const char *keyfile = NULL;
	const char *ttltext = NULL;
	const char *reason;
	int64_t		ttl = DEFAULT_TTL_SECONDS;
	int64_t		expires_at;
	char	   *code;
	size_t		codelen;
	uint8_t    *reqbuf;
	size_t		reqlen = 0;
	char	   *text;
	EVP_PKEY   *pkey;
	int			c;

	while ((c = next_option("sign", argc, argv, ":k:t:h", options)) != -1)
	{
		if (c == 'h')
		{
			help_sign();
			return 0;
		}
		if (c == 'k')
			keyfile = optarg;
		else
			ttltext = optarg;
	}
	if (keyfile == NULL)
		usage_error("sign", "--key FILE is required");
	if (optind >= argc)
		usage_error("sign", "no request code given");
	if (optind + 1 < argc)
		usage_error("sign", "only one request code at a time");
	if (ttltext != NULL && (reason = parse_duration(ttltext, &ttl)) != NULL)
		usage_error("sign", "--ttl \"%s\" %s", ttltext, reason);

	/* read and check the code before touching the key */
	code = read_code(argv[optind], &codelen);
	if (ag_has_prefix(code, codelen, AG_TOKEN_PREFIX))
	{
		if (ttltext != NULL)
			usage_error("sign", "--ttl does not apply to a token: its first signer chose how long it is valid");
		return cosign(keyfile, code, codelen);
	}
	free(parse_request_code(code, codelen, &reqbuf, &reqlen));

	pkey = load_private_key(keyfile);
	text = sign_request(pkey, reqbuf, reqlen, ttl, &expires_at);
	EVP_PKEY_free(pkey);

	fputs(ag_is_batch(reqbuf, reqlen) ? "signing this batch:\n" : "signing this request:\n", stderr);
	print_block(stderr, describe_body(reqbuf, reqlen));
	print_validity(stderr, ttl, expires_at);

	printf("%s\n", text);
	if (fflush(stdout) != 0)
		fatal("could not write the token: %s", strerror(errno));
	return 0;
}
