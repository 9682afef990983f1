#!/bin/bash
# Installs what building agentguard and its demo need on Debian 12, and
# nothing when it is all there already.  Works as root and, through sudo,
# as a normal user.
#
#	scripts/setup.sh        for make, make install and make demo
#	scripts/setup.sh test   also what make test's suites need: clang and its
#	                        fuzzer runtime, IPC::Run for the TAP tests, and
#	                        chromium for the web page's test (about 350 MB;
#	                        not when AGENTGUARD_SKIP names web)
set -euo pipefail

PG_MAJOR=${PG_MAJOR:-15}
packages=(
	make gcc
	libssl-dev libpq-dev
	"postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR"
)
if [ "${1:-}" = test ]; then
	packages+=(clang "libclang-rt-14-dev" libipc-run-perl)
	[[ " ${AGENTGUARD_SKIP:-} " == *" web "* ]] || packages+=(chromium)
fi
[ "${AGENTGUARD_SETUP_EXTRA:-}" ] && read -r -a extra <<<"$AGENTGUARD_SETUP_EXTRA" && packages+=("${extra[@]}")

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	sudo=()
elif command -v sudo >/dev/null; then
	sudo=(sudo)
else
	echo "setup: these packages are missing and there is no sudo to install them: ${missing[*]}" >&2
	exit 1
fi
echo "setup: installing ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
