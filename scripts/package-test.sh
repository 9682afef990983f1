#!/bin/bash
# make test-package: builds the Debian package (debian/, one
# postgresql-NN-agentguard per supported PostgreSQL version) from a clean
# copy of the tree, installs it with dpkg -i, runs the demo's main path on a
# fresh throwaway cluster against the packaged files, and removes the
# package again.  Whatever make install had put into that server before is
# put back from this tree, so the machine is left as it was.  Needs root
# (dpkg); installs the build tools with apt when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

die() {
	echo "test-package: $*" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || die "installing a package needs root"

missing=()
for p in dpkg-dev debhelper fakeroot postgresql-server-dev-all libssl-dev libpq-dev; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "test-package: installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/agentguard-package.XXXXXX")
installed=()
reinstall=()
cleanup() {
	local status=$? pkg version
	trap '' INT TERM
	for pkg in "${installed[@]}"; do
		echo "test-package: removing $pkg"
		dpkg -r "$pkg" >"$work/dpkg.log" 2>&1 || {
			cat "$work/dpkg.log" >&2
			status=1
		}
	done
	# built anew from the copy of the tree: the tree's own objects may have
	# been built for another server
	for version in "${reinstall[@]}"; do
		echo "test-package: putting back make install's build for PostgreSQL $version, from this tree"
		make -s -C "$work/src" PG_CONFIG="/usr/lib/postgresql/$version/bin/pg_config" install >/dev/null 2>&1 || status=1
		make -s -C "$work/src" PG_CONFIG="/usr/lib/postgresql/$version/bin/pg_config" clean >/dev/null 2>&1
	done
	rm -rf "$work"
	[ $status -eq 0 ] && echo "test-package: passed" || echo "test-package: FAILED" >&2
	exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# the files git knows, as they are in the tree, without anything built
mkdir "$work/src"
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git -C "$top" ls-files -z | (cd "$top" && xargs -0 cp --parents -t "$work/src")
else
	cp -a "$top/." "$work/src/"
	make -s -C "$work/src" clean >/dev/null
fi

# one package for each version this machine supports, which may be more
# than debian/control names
echo "test-package: building the package in $work"
(cd "$work/src" && pg_buildext updatecontrol && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 || {
	tail -n 40 "$work/build.log" >&2
	die "dpkg-buildpackage failed"
}
debs=("$work"/postgresql-*-agentguard_*.deb)
[ -e "${debs[0]}" ] || die "dpkg-buildpackage made no postgresql-NN-agentguard package"

for deb in "${debs[@]}"; do
	pkg=$(dpkg-deb -f "$deb" Package)
	version=${pkg#postgresql-}
	version=${version%-agentguard}
	pg_config=/usr/lib/postgresql/$version/bin/pg_config
	library=$("$pg_config" --pkglibdir)/agentguard.so

	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" &&
		die "$pkg is installed already; remove it first (dpkg -r $pkg)"
	# make install's files belong to no package: dpkg -i takes them over and
	# dpkg -r removes them, so they are put back afterwards
	if [ -e "$library" ]; then
		reinstall+=("$version")
	fi

	echo "test-package: installing $(basename "$deb")"
	installed+=("$pkg")
	dpkg -i "$deb" >"$work/dpkg.log" 2>&1 || {
		cat "$work/dpkg.log" >&2
		die "dpkg -i failed"
	}
	for f in "$library" "$("$pg_config" --bindir)/agentguard" \
		"$("$pg_config" --sharedir)/extension/agentguard.control" \
		"$("$pg_config" --docdir)/extension/agentguard/web/index.html"; do
		dpkg -S "$f" 2>/dev/null | grep -q "^$pkg: " || die "$f is not a file of $pkg"
	done

	echo "test-package: the demo against $pkg"
	(cd "$work/src" && PG_CONFIG="$pg_config" AGENTGUARD_DEMO_INSTALLED=1 NO_COLOR=1 scripts/demo.sh) >"$work/demo.log" 2>&1 || {
		tail -n 40 "$work/demo.log" >&2
		die "the demo failed against $pkg"
	}
	grep -q 'restored public.legacy_bookings' "$work/demo.log" ||
		die "the demo did not restore the dropped table"
	echo "test-package: $pkg: the demo ran, the DROP was refused, approved and restored"
done
