# agentguard: PGXS build, plus the command-line tool, tests and demo.
#
#   make && make install      build and install (PG_CONFIG=... picks the server)
#   make test                 set up what is missing, install, run every suite
#   make demo                 set up what is missing and walk through the story
#   make installcheck         the regression suite against a running server
#   make test-package         build, install and try the Debian package (root)
#   make bench                benchmarks, printed as ratios to no extension
#   make fuzz                 the codec fuzzer, FUZZ_SECONDS long
#   make test-citus CITUS_SRC=<citus sources>   agentguard on a Citus cluster

EXTENSION = agentguard
MODULE_big = agentguard
# by layer, top down: loader; hooks; rules; state; ground; the codec
OBJS = src/agentguard.o \
	src/utility.o src/dml.o src/count.o \
	src/policy.o src/reach.o src/guard.o src/rehearse.o src/classify.o src/unbounded.o src/citus.o \
	src/signers.o src/ledger.o src/inspect.o src/quarantine/move.o src/quarantine/truncate.o src/quarantine/truncate_citus.o src/quarantine/capture.o \
	src/quarantine/restore.o src/quarantine/code.o src/quarantine/purge.o \
	src/quarantine/database.o src/quarantine/entry.o src/quarantine/column.o \
	src/quarantine/cascade.o src/quarantine/keep_column.o src/quarantine/column_restore.o \
	src/quarantine/rows.o src/quarantine/rows_write.o src/quarantine/rows_restore.o \
	src/refusals.o src/waiting.o \
	src/settings.o src/session.o src/scratch.o src/owner.o src/citus_keep.o src/protect.o src/xact.o \
	src/request.o src/shown.o src/token.o src/batch.o
DATA = sql/agentguard--1.0.sql sql/agentguard--1.0--1.1.sql sql/agentguard--1.1--1.2.sql
PGFILEDESC = "agentguard - guardrails for AI agents in PostgreSQL"

PG_CONFIG ?= pg_config
# the server headers count as system headers: their own unused parameters are
# not ours to warn about, and every warning left is about agentguard code
PG_CPPFLAGS = -I$(srcdir)/src -isystem $(shell $(PG_CONFIG) --includedir-server)
PG_CFLAGS = -Wall -Wextra
SHLIB_LINK = -lcrypto

AG_REGRESS = setup agents refusals exemptions everyday routes modes switch confirm protect dml requests quarantine quarantine_kinds adversarial_identity adversarial_catalogs adversarial_outside adversarial_own_state adversarial_ddl adversarial_dml adversarial_tokens adversarial_allowed bypass_dml bypass_identity bypass_recursion bypass_temporary bypass_side_doors quarantine_shadow quarantine_records quarantine_code quarantine_columns quarantine_rows quarantine_truncate rehearse signatures teardown
AG_ISOLATION = labels double_use batch_double_use quarantine_race confirm_waiting

# make test (scripts/test.sh) sets AG_TEMP_INSTANCE=1: PGXS's installcheck
# then runs every suite against throwaway servers.  Without it, installcheck
# runs the regression suite against the running server that PGHOST and
# PGPORT name, through scripts/installcheck.sh (see there, also for why the
# isolation and TAP suites need throwaway servers), and PGXS's own recipe is
# given nothing to run.
ifdef AG_TEMP_INSTANCE
REGRESS = $(AG_REGRESS)
REGRESS_OPTS = --temp-instance=./tmp_regress --temp-config=$(srcdir)/test/agentguard.conf --encoding=UTF8 --no-locale
ISOLATION = $(AG_ISOLATION)
ISOLATION_OPTS = --temp-instance=./tmp_isolation --temp-config=$(srcdir)/test/agentguard.conf
TAP_TESTS = 1
endif

EXTRA_CLEAN = tmp_regress tmp_isolation tmp_check results output_iso \
	regression.diffs regression.out .agentguard-server

# On a fresh machine the server headers may not be there yet: "make test"
# and "make demo" install them, so they must work without PGXS.
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
# what PGXS does from PostgreSQL 16 on (see src/compat.h)
ifeq ($(CFLAGS_SL_MODULE),)
override CFLAGS += -fvisibility=hidden
override CPPFLAGS += '-DPGDLLEXPORT=__attribute__((visibility("default")))'
endif
else
all install installcheck:
	@echo "PostgreSQL's server headers (PGXS) were not found by $(PG_CONFIG)." >&2
	@echo "Run scripts/setup.sh (or make test / make demo, which run it) first." >&2
	@false
endif
include mk/cli.mk

# make test SANITIZE=1: the library built with UndefinedBehaviorSanitizer,
# the command-line tool with it and AddressSanitizer.  AddressSanitizer's
# runtime has to come first in a process, and preloaded into Debian's server
# it deadlocks in glibc's gettext lock before main() gets anywhere, so the
# library gets it only with SANITIZE=address, for a server itself built with
# -fsanitize=address (PG_CONFIG=.../pg_config of that build).
ifdef SANITIZE
comma := ,
AG_LIBRARY_SANITIZERS = $(if $(filter address,$(SANITIZE)),address$(comma))undefined
PG_CFLAGS += -fsanitize=$(AG_LIBRARY_SANITIZERS) -fno-sanitize-recover=undefined -fno-omit-frame-pointer
SHLIB_LINK += -fsanitize=$(AG_LIBRARY_SANITIZERS)
AG_CLI_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
endif

# the tests sign with the installed agentguard program, as a DBA would
export PATH := $(shell $(PG_CONFIG) --bindir 2>/dev/null):$(PATH)

# PGXS does not track headers: every object is rebuilt when any header changes
$(OBJS): $(wildcard $(srcdir)/src/*.h $(srcdir)/src/quarantine/*.h)

# Nor the server: objects built for one PostgreSQL do not load into another
# (make install PG_CONFIG=... of another version would install them all the
# same), so everything built depends on a stamp that names the server, which
# is rewritten only when PG_CONFIG names another one.
AG_SERVER_STAMP = .agentguard-server
ag_server := $(shell $(PG_CONFIG) --version 2>/dev/null) $(shell $(PG_CONFIG) --includedir-server 2>/dev/null)
$(AG_SERVER_STAMP): ag-force
	@[ "$$(cat $@ 2>/dev/null)" = '$(ag_server)' ] || echo '$(ag_server)' >$@
$(OBJS) $(OBJS:.o=.bc) $(AG_CLI): $(AG_SERVER_STAMP)

all: $(AG_CLI)
install: install-cli install-docs
clean: clean-cli

ifndef AG_TEMP_INSTANCE
installcheck: installcheck-server
endif

installcheck-server:
	PG_CONFIG='$(PG_CONFIG)' scripts/installcheck.sh $(AG_REGRESS)

# The documentation and the approval page go into a directory of their own
# under the server's documentation directory (PGXS's DOCS would put README.md
# and the pages of docs/ straight into the directory all extensions share),
# laid out as in the tree so that their links work.
AG_DOCDIR = $(docdir)/$(docmoduledir)/agentguard
AG_DOCS = README.md CHANGELOG.md LICENSE
AG_WEB = $(wildcard $(srcdir)/web/*.html $(srcdir)/web/*.css $(srcdir)/web/*.js)

install-docs:
	$(MKDIR_P) '$(DESTDIR)$(AG_DOCDIR)/docs' '$(DESTDIR)$(AG_DOCDIR)/web'
	$(INSTALL_DATA) $(addprefix $(srcdir)/, $(AG_DOCS)) '$(DESTDIR)$(AG_DOCDIR)/'
	$(INSTALL_DATA) $(wildcard $(srcdir)/docs/*.md) '$(DESTDIR)$(AG_DOCDIR)/docs/'
	$(INSTALL_DATA) $(AG_WEB) '$(DESTDIR)$(AG_DOCDIR)/web/'

uninstall: uninstall-docs
uninstall-docs:
	rm -rf '$(DESTDIR)$(AG_DOCDIR)'

# Everything a fresh Debian machine needs, then every suite, run as an
# unprivileged user (the server refuses to run as root).
test:
	SANITIZE=$(SANITIZE) scripts/test.sh

demo:
	scripts/demo.sh

# the Debian package built, installed, the demo run against it, and removed
# (as root; not part of make test)
test-package:
	scripts/package-test.sh

# Citus on a coordinator and two workers, built from CITUS_SRC (a source tree
# or git directory; CITUS_REF picks the tag): not part of make test
test-citus:
	CITUS_SRC='$(CITUS_SRC)' CITUS_REF='$(CITUS_REF)' CITUS_REUSE='$(CITUS_REUSE)' AG_LOCK='$(AG_LOCK)' scripts/citus.sh

# side by side with and without agentguard, printed as ratios; needs the
# extension installed (make install)
bench: install
	bench/instructions.sh
	bench/pgbench.sh
	bench/quarantine.sh

.PHONY: test test-citus test-package demo bench installcheck-server install-docs uninstall-docs ag-force
