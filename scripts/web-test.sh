#!/bin/bash
# The approval page (web/) end to end: a throwaway cluster refuses an agent's
# statement, headless Chromium decodes and signs the request code on the page,
# and the database accepts the token.  Needs Node.js and Debian's chromium
# (scripts/setup.sh installs chromium); without them it says so and fails,
# so the count never shrinks in silence.
# The npm packages (playwright-core, pg) come from test/package-lock.json and
# go into test/node_modules; no browser is ever downloaded.
set -uo pipefail
cd "$(dirname "$0")/.."

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export CHROMIUM PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

cannot_run() {
	echo "web test cannot run: $*" >&2
	exit 1
}

[ -x "$CHROMIUM" ] || cannot_run "$CHROMIUM is not installed (make test's scripts/setup.sh test installs it: apt-get install chromium)"
. scripts/node-deps.sh

node test/web/web-test.js
