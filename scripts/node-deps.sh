# Sourced by the Node.js test scripts from the top of the tree: skip
# (passing) when Node.js 20 or later is missing, and install the tests' npm
# packages from test/package-lock.json into test/node_modules when they are
# not there yet (Node.js finds them there from test/*/*.js).  Callers define
# skip().

command -v node >/dev/null || skip "node is not installed (apt-get install nodejs npm)"
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$major" -ge 20 ] || skip "node $(node --version 2>/dev/null) is too old (the tests need 20 or later)"

if [ ! -d test/node_modules/playwright-core ] || [ ! -d test/node_modules/pg ]; then
	command -v npm >/dev/null || skip "npm is not installed (apt-get install npm)"
	# npm needs a writable cache; the suites may run as a user without a home
	if [ -z "${npm_config_cache:-}" ] && [ ! -w "${HOME:-/nonexistent}" ]; then
		npm_config_cache=$(mktemp -d "${TMPDIR:-/tmp}/agentguard-npm.XXXXXX")
		export npm_config_cache
		trap 'rm -rf "$npm_config_cache"' EXIT
	fi
	echo "installing the tests' npm packages (npm ci in test/)"
	(cd test && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --no-update-notifier --loglevel=error) || {
		echo "npm ci failed" >&2
		exit 1
	}
fi
