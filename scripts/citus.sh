#!/bin/bash
# make test-citus CITUS_SRC=<dir>: Citus built from its sources and installed
# into PG_CONFIG's server, agentguard built and installed there too, then
# t/citus/*.pl (a coordinator and two workers on this machine) run against
# them.  Not part of make test: it needs Citus's sources, which agentguard
# neither ships nor fetches.
#
# CITUS_SRC is a Citus source tree, or a Citus git directory (a clone or a
# bare mirror), whose tag CITUS_REF (default v13.2.2, the last release line
# that builds for PostgreSQL 15) is exported into a scratch directory.  The
# build happens outside this tree; nothing of Citus is ever kept in it.
# CITUS_REUSE=1 instead uses the Citus the server already has.
#
# Installing writes into the server's directories: run it as root (or with
# sudo available), as make test is.  On a machine where others install into
# the same server, AG_LOCK=<file> holds flock on that file while Citus is
# installed, and while agentguard is installed and tested, not while Citus
# builds.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
export PG_CONFIG
CITUS_REF=${CITUS_REF:-v13.2.2}

no_sources()
{
	cat >&2 <<EOF
test-citus: no Citus sources.  Pass CITUS_SRC, a Citus source tree or git
directory, e.g.:
    make test-citus CITUS_SRC=\$HOME/src/citus
    make test-citus CITUS_SRC=/path/to/citus.git CITUS_REF=v13.2.2
(git clone https://github.com/citusdata/citus gets one; the v13.2.x line is
the last that supports PostgreSQL 15), or CITUS_REUSE=1 to use the Citus
the server already has.
EOF
	exit 2
}

# the sources of CITUS_SRC in $build/src
unpack()
{
	local gitdir=$CITUS_SRC

	if [ -f "$CITUS_SRC/configure" ] && [ -d "$CITUS_SRC/src/backend/distributed" ]; then
		cp -a "$CITUS_SRC/." "$build/src"
		return
	fi
	[ -d "$CITUS_SRC/.git" ] && gitdir=$CITUS_SRC/.git
	if ! git --git-dir="$gitdir" rev-parse --verify -q "$CITUS_REF^{commit}" >/dev/null; then
		echo "test-citus: $CITUS_SRC is neither a Citus source tree nor a git directory with $CITUS_REF" >&2
		exit 2
	fi
	mkdir "$build/src"
	git --git-dir="$gitdir" archive "$CITUS_REF" | tar -x -C "$build/src"
}

# Debian's PostgreSQL 15 since 15.14 declares have_createdb_privilege(),
# which Citus 13.2 defines again as a static function of its own for 15:
# its copy is renamed so that both can be.
patch_for_server()
{
	grep -q 'have_createdb_privilege' "$("$PG_CONFIG" --includedir-server)/commands/dbcommands.h" || return 0
	python3 - src/include/pg_version_compat.h <<'EOF'
import sys
path = sys.argv[1]
text = open(path).read()
text = text.replace("static inline bool\nhave_createdb_privilege(void)\n",
                    "#define have_createdb_privilege citus_compat_have_createdb_privilege\n"
                    "static inline bool\ncitus_compat_have_createdb_privilege(void)\n")
open(path, "w").write(text)
EOF
}

# "$@" run holding AG_LOCK, when there is one
locked()
{
	if [ -z "${AG_LOCK:-}" ]; then
		"$@"
		return
	fi
	{ flock 9 && "$@"; } 9>>"$AG_LOCK"
}

build_citus()
{
	unpack
	cd "$build/src"
	version=$(sed -n "s/^PACKAGE_VERSION='\(.*\)'$/\1/p" configure)
	echo "test-citus: building Citus $version for $("$PG_CONFIG" --version)"
	patch_for_server
	./configure PG_CONFIG="$PG_CONFIG" --without-libcurl >"$build/configure.log" 2>&1 ||
		{ tail -20 "$build/configure.log" >&2; exit 1; }
	make -s -j"$(nproc)" >"$build/make.log" 2>&1 ||
		{ grep -E 'error|Error' "$build/make.log" | head -20 >&2; exit 1; }
	locked "${sudo[@]}" make -s install >"$build/install.log" 2>&1 ||
		{ tail -20 "$build/install.log" >&2; exit 1; }
	cd "$top"
}

if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
build=$(mktemp -d "${TMPDIR:-/tmp}/agentguard-citus.XXXXXX")
trap 'rm -rf "$build"' EXIT

if [ -n "${CITUS_REUSE:-}" ]; then
	version=$(sed -n "s/^default_version = '\(.*\)'$/\1/p" \
		"$("$PG_CONFIG" --sharedir)/extension/citus.control" 2>/dev/null || true)
	[ -n "$version" ] || { echo "test-citus: CITUS_REUSE=1, but the server has no Citus" >&2; exit 2; }
	echo "test-citus: the installed Citus, extension version $version"
else
	[ -n "${CITUS_SRC:-}" ] || no_sources
	build_citus
fi

# the server will not run as root: as root, the test runs as "postgres" in a copy
if [ "$(id -u)" -eq 0 ]; then
	work=$build/tree
	cp -a "$top/." "$work/"
	chown -R postgres: "$build"
	run=(runuser -u postgres -- env PATH="$PATH" PG_CONFIG="$PG_CONFIG" CITUS_VERSION="$version")
else
	work=$top
	run=(env CITUS_VERSION="$version")
fi
make -s PG_CONFIG="$PG_CONFIG" >/dev/null
# installed and tested under the one lock: nobody else's build in between
install_and_test()
{
	"${sudo[@]}" make -s -C "$top" PG_CONFIG="$PG_CONFIG" install >/dev/null
	cd "$work"
	"${run[@]}" make -s installcheck AG_TEMP_INSTANCE=1 REGRESS= ISOLATION= \
		PROVE_TESTS="${CITUS_TESTS:-t/citus/*.pl}" && return
	# the scratch directory goes when this ends: the failed tests' logs now
	for log in "$work"/tmp_check/log/regress_log_*; do
		[ -f "$log" ] || continue
		echo "==== $log (last 60 lines)"
		tail -60 "$log"
	done
	return 1
}
locked install_and_test
