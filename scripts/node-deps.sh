# Sourced by the Node.js test scripts from the top of the tree: fail (through
# the caller's cannot_run) when Node.js 20 or later is missing, and install
# the tests' npm packages from test/package-lock.json into test/node_modules
# when any of them is not there yet (Node.js finds them there from
# test/*/*.js, and the migration tools' command lines are in
# test/node_modules/.bin).  Callers define cannot_run().

# Debian 12's own nodejs is 18, too old: nothing is installed here, the line
# says what is missing
command -v node >/dev/null || cannot_run "Node.js 20 or later is needed and node is not installed (Debian 12's nodejs is 18: install Node.js 20 or later and npm)"
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$major" -ge 20 ] || cannot_run "Node.js 20 or later is needed and node $(node --version 2>/dev/null) is too old (Debian 12's nodejs is 18: install Node.js 20 or later and npm)"

# every package test/package.json names must be there (a tree installed
# before a package was added lacks it)
missing=$(cd test && node -e '
	const fs = require("fs");
	const wanted = Object.keys(require("./package.json").devDependencies || {});
	console.log(wanted.filter(p => !fs.existsSync(`node_modules/${p}/package.json`)).join(" "));
') || missing=unknown
if [ -n "$missing" ]; then
	command -v npm >/dev/null || cannot_run "npm is not installed (apt-get install npm)"
	# npm needs a writable cache; the suites may run as a user without a home
	if [ -z "${npm_config_cache:-}" ] && [ ! -w "${HOME:-/nonexistent}" ]; then
		npm_config_cache=$(mktemp -d "${TMPDIR:-/tmp}/agentguard-npm.XXXXXX")
		export npm_config_cache
		trap 'rm -rf "$npm_config_cache"' EXIT
	fi
	echo "installing the tests' npm packages (npm ci in test/; missing: $missing)"
	(cd test && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --no-update-notifier --loglevel=error) || {
		echo "npm ci failed" >&2
		exit 1
	}
fi
