# mk/cli.mk
#	The agentguard command-line tool and the codec fuzzer.
#
# Included by the top-level PGXS Makefile.  Defines no all/install/clean/test
# of its own (PGXS owns those); hook these in instead:
#	$(AG_CLI)      the agentguard program
#	install-cli    install it into pg_config --bindir
#	fuzz           run the fuzzer for FUZZ_SECONDS (default 60)
#	fuzz-short     the same for 20 seconds, for make test
#	clean-cli      remove what this file builds
#
# The tool is built with its own flags, not PGXS's CFLAGS: it is an ordinary
# program linked against libcrypto and libpq, not a server module.  The
# fuzzer needs neither libpq nor pg_config.

# Including this file must not change which target a bare "make" builds.
ag_saved_default_goal := $(.DEFAULT_GOAL)

AG_CLI = src/cli/agentguard
AG_CLI_SRCS = src/cli/main.c src/cli/keys.c src/cli/inspect.c \
	src/cli/server.c src/cli/approve.c src/request.c src/shown.c src/token.c src/batch.c
AG_CLI_HDRS = src/cli/cli.h
AG_CODEC_HDRS = src/request.h src/text.h

AG_CLI_CFLAGS ?= -Wall -Wextra -O2
# override for an OpenSSL outside the default search path
AG_OPENSSL_CPPFLAGS ?=
AG_OPENSSL_LIBS ?= -lcrypto
# the libpq of the server pg_config names; the run path finds it again when
# that is not the system's own
AG_LIBPQ_LIBDIR = $(shell $(PG_CONFIG) --libdir)
AG_LIBPQ_CPPFLAGS ?= -I$(shell $(PG_CONFIG) --includedir)
AG_LIBPQ_LIBS ?= -L$(AG_LIBPQ_LIBDIR) -Wl,-rpath,$(AG_LIBPQ_LIBDIR) -lpq

AG_FUZZ = fuzz/fuzz_request
AG_FUZZ_SRCS = fuzz/fuzz_request.c src/request.c src/shown.c src/token.c src/batch.c
AG_FUZZ_CC ?= clang
AG_FUZZ_CFLAGS ?= -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_SECONDS ?= 60
# tokens of the largest requests are ~44 kB of text; most bugs show far smaller
FUZZ_MAX_LEN ?= 8192

$(AG_CLI): $(AG_CLI_SRCS) $(AG_CLI_HDRS) $(AG_CODEC_HDRS)
	$(CC) $(AG_CLI_CFLAGS) -I src $(AG_OPENSSL_CPPFLAGS) $(AG_LIBPQ_CPPFLAGS) -o $@ $(AG_CLI_SRCS) $(AG_OPENSSL_LIBS) $(AG_LIBPQ_LIBS)

# evaluated only when installing, so building needs no pg_config
AG_BINDIR = $(shell $(PG_CONFIG) --bindir)

install-cli: $(AG_CLI)
	install -d '$(DESTDIR)$(AG_BINDIR)'
	install -m 0755 $(AG_CLI) '$(DESTDIR)$(AG_BINDIR)/agentguard'

$(AG_FUZZ): $(AG_FUZZ_SRCS) $(AG_CODEC_HDRS)
	$(AG_FUZZ_CC) $(AG_FUZZ_CFLAGS) -I src $(AG_OPENSSL_CPPFLAGS) -o $@ $(AG_FUZZ_SRCS) $(AG_OPENSSL_LIBS)

# Runs over a copy of the corpus in a temporary directory, so new inputs do
# not pile up in the repository.  On a crash the directory is kept (its path
# is printed) because it holds the reproducer; otherwise it is removed.
ag_run_fuzz = \
	dir=$$(mktemp -d "$${TMPDIR:-/tmp}/agentguard-fuzz.XXXXXX") || exit 1; \
	cp -R fuzz/corpus "$$dir/corpus" || exit 1; \
	echo "fuzzing for $(1)s in $$dir"; \
	if ./$(AG_FUZZ) -max_total_time=$(1) -max_len=$(FUZZ_MAX_LEN) \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$$dir/" "$$dir/corpus" >"$$dir/log" 2>&1; then \
		tail -n 15 "$$dir/log"; rm -rf "$$dir"; \
	else \
		tail -n 60 "$$dir/log"; \
		echo "fuzz: FAILED; log and reproducer kept in $$dir" >&2; \
		exit 1; \
	fi

fuzz: $(AG_FUZZ)
	@$(call ag_run_fuzz,$(FUZZ_SECONDS))

fuzz-short: $(AG_FUZZ)
	@$(call ag_run_fuzz,20)

clean-cli:
	rm -f $(AG_CLI) $(AG_FUZZ)

.PHONY: install-cli fuzz fuzz-short clean-cli

.DEFAULT_GOAL := $(ag_saved_default_goal)
