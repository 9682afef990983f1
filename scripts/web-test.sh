#!/bin/bash
# The approval page (web/) end to end: a throwaway cluster refuses an agent's
# statement, headless Chromium decodes and signs the request code on the page,
# and the database accepts the token.  Needs Node.js and Debian's chromium
# (scripts/setup.sh installs them); without them it says so and passes.
# The npm packages (playwright-core, pg) come from package-lock.json; no
# browser is ever downloaded.
set -uo pipefail
cd "$(dirname "$0")/.."

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export CHROMIUM PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

skip() {
	echo "web test skipped: $*"
	exit 0
}

command -v node >/dev/null || skip "node is not installed (apt-get install nodejs npm)"
[ -x "$CHROMIUM" ] || skip "$CHROMIUM is not installed (apt-get install chromium)"
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$major" -ge 20 ] || skip "node $(node --version 2>/dev/null) is too old (playwright-core needs 20 or later)"

if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/pg ]; then
	command -v npm >/dev/null || skip "npm is not installed (apt-get install npm)"
	# npm needs a writable cache; the suites may run as a user without a home
	if [ -z "${npm_config_cache:-}" ] && [ ! -w "${HOME:-/nonexistent}" ]; then
		npm_config_cache=$(mktemp -d "${TMPDIR:-/tmp}/agentguard-npm.XXXXXX")
		export npm_config_cache
		trap 'rm -rf "$npm_config_cache"' EXIT
	fi
	echo "installing the test's npm packages (npm ci)"
	npm ci --no-audit --no-fund --no-update-notifier --loglevel=error || {
		echo "web test: npm ci failed" >&2
		exit 1
	}
fi

node test/web/web-test.js
