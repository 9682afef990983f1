#!/bin/bash
# make installcheck: the regression suite against a running server, the one
# that PGHOST, PGPORT (and PGUSER, ...) name, as psql would connect.  That
# server must be set up as test/agentguard.conf says: the expected output
# shows its environment name and needs agentguard preloaded.  The suite
# makes the database contrib_regression (dropped and made anew each run),
# and databases and roles whose names begin with ag_, adv_ or bs_, which its
# last test (teardown) drops again.  The isolation suite signs tokens with
# the agentguard program that the server itself runs, so it needs a server
# started with pg_config --bindir on its PATH: make test runs it, and the
# TAP suites, against throwaway servers.
#
# pg_regress connects as the user running it and writes its results into
# the tree.  As root (Debian's server lets only the postgres OS user in as
# postgres, by peer authentication) it runs as the postgres OS user, in a
# copy of the test files, and the results are copied back.
#
#	scripts/installcheck.sh TEST...
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}

bindir=$("$PG_CONFIG" --bindir)
pgxs=$(dirname "$("$PG_CONFIG" --pgxs)")/..
pg_regress=$pgxs/test/regress/pg_regress

if [ "$(id -u)" -eq 0 ]; then
	id postgres >/dev/null 2>&1 || {
		echo "installcheck: as root the suite runs as the 'postgres' OS user, which does not exist" >&2
		exit 1
	}
	work=$(mktemp -d "${TMPDIR:-/tmp}/agentguard-installcheck.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	cp -a sql expected test "$work/"
	chown -R postgres: "$work"
	chmod 755 "$work"
	as_user() { (cd "$work" && runuser -u postgres -- "$@"); }
else
	work=$top
	as_user() { "$@"; }
fi

# the server must be the one the expected output was written for
settings=$(as_user "$bindir/psql" -X -A -t -d postgres \
	-c "SELECT current_setting('shared_preload_libraries')" \
	-c "SELECT current_setting('agentguard.environment', true)" 2>&1) || {
	echo "installcheck: cannot connect to the server (PGHOST=${PGHOST:-} PGPORT=${PGPORT:-}): $settings" >&2
	exit 1
}
preload=$(sed -n 1p <<<"$settings")
environment=$(sed -n 2p <<<"$settings")
case ",${preload// /}," in
*,agentguard,*) ;;
*)
	echo "installcheck: the server does not preload agentguard (shared_preload_libraries = '$preload'); set it up as test/agentguard.conf says" >&2
	exit 1
	;;
esac
[ "$environment" = regress ] || {
	echo "installcheck: the server's agentguard.environment is '$environment', the expected output is written for 'regress'; set it up as test/agentguard.conf says" >&2
	exit 1
}

rm -rf "$top/results" "$top/regression.diffs" "$top/regression.out"
as_user "$pg_regress" --inputdir=. --bindir="$bindir" --dbname=contrib_regression \
	--encoding=UTF8 --no-locale "$@"
status=$?
if [ "$work" != "$top" ]; then
	for f in results regression.diffs regression.out; do
		[ -e "$work/$f" ] && cp -a "$work/$f" "$top/"
	done
	[ $status -eq 0 ] || echo "installcheck: the differences are in $top/regression.diffs" >&2
fi
exit $status
