#!/bin/bash
# Installs the extensions make bench prints beside agentguard for scale:
# pgaudit and set_user, from Debian's packages for the server's version.
set -euo pipefail
PG_CONFIG=${PG_CONFIG:-pg_config}
major=$("$PG_CONFIG" --version | sed 's/^PostgreSQL \([0-9]*\).*/\1/')
if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	"postgresql-$major-pgaudit" "postgresql-$major-set-user" >/dev/null
