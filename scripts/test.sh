#!/bin/bash
# make test: set up what a fresh Debian machine lacks, build, install, and run
# every suite (pg_regress, isolation, TAP, a short fuzz run, the web page's
# and the Node.js clients' tests) against throwaway clusters.  The server
# will not run as root, so as root the suites run as the unprivileged
# "postgres" user in a copy of the tree.
#
# A suite that cannot run (Node.js 20 or chromium missing) fails, and the
# summary says why.  AGENTGUARD_SKIP="web node" skips the suites it names on
# purpose, and the summary names them.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

all_suites="regress isolation tap fuzz web node"
for s in ${AGENTGUARD_SKIP:-}; do
	[[ " $all_suites " == *" $s "* ]] || {
		echo "test: AGENTGUARD_SKIP names '$s', which is not a suite (the suites: $all_suites)" >&2
		exit 1
	}
done

scripts/setup.sh test || exit 1
PG_CONFIG=${PG_CONFIG:-pg_config}
export PG_CONFIG

if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
# SANITIZE=1: the library built with UBSan and the command-line tool with
# ASan and UBSan (see the Makefile; SANITIZE=address adds ASan to the library
# for a server built with it); any report stops the process, failing its test
build=(make -s PG_CONFIG="$PG_CONFIG")
if [ -n "${SANITIZE:-}" ]; then
	build+=(SANITIZE="$SANITIZE")
	make -s clean >/dev/null
	export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
"${build[@]}" >/dev/null || exit 1
"${sudo[@]}" "${build[@]}" install >/dev/null || exit 1

if [ "$(id -u)" -eq 0 ]; then
	work=$(mktemp -d "${TMPDIR:-/tmp}/agentguard-test.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	cp -a "$top/." "$work/"
	chown -R postgres: "$work"
	chmod 755 "$work"
	run() { (cd "$work" && runuser -u postgres -- env PATH="$PATH" PG_CONFIG="$PG_CONFIG" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" "$@"); }
else
	work=$top
	run() { (cd "$work" && "$@"); }
fi

passed=0
failed=0
failed_suites=()
skipped_suites=()
cannot_run=()

# count_results SUITE LOG STATUS: adds the suite's test counts to the totals
count_results() {
	local suite=$1 log=$2 status=$3 ok bad
	case $suite in
	regress | isolation)
		ok=$(grep -cE '^(ok [0-9]+|test .* \.\.\. ok|     [a-z_0-9]+ +\.\.\. ok)' "$log")
		bad=$(grep -cE '^(not ok [0-9]+|test .* \.\.\. FAILED|     [a-z_0-9]+ +\.\.\. FAILED)|\.\.\. FAILED' "$log")
		;;
	tap)
		ok=$(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' "$log" | tail -n 1)
		ok=${ok:-0}
		bad=$(grep -cE '^not ok' "$log")
		ok=$((ok - bad))
		;;
	web | node)
		# a suite may run several test files, each with its own summary line
		ok=$(sed -n 's/^\([0-9]*\) passed, [0-9]* failed$/\1/p' "$log" | awk '{ s += $1 } END { print s + 0 }')
		bad=$(sed -n 's/^[0-9]* passed, \([0-9]*\) failed$/\1/p' "$log" | awk '{ s += $1 } END { print s + 0 }')
		;;
	*)
		ok=0 bad=0
		[ "$status" -eq 0 ] && ok=1 || bad=1
		;;
	esac
	[ "$status" -ne 0 ] && [ "$bad" -eq 0 ] && bad=1
	# a suite that ran no test at all (a server built without TAP support,
	# say) fails: it must never shrink the count in silence
	if [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ]; then
		echo "$suite: ran no test" >&2
		bad=1
		status=1
	fi
	passed=$((passed + ok))
	failed=$((failed + bad))
	[ "$status" -ne 0 ] && failed_suites+=("$suite")
}

suite() {
	local name=$1 status log reason
	shift
	if [[ " ${AGENTGUARD_SKIP:-} " == *" $name "* ]]; then
		echo "== $name: skipped (AGENTGUARD_SKIP)"
		skipped_suites+=("$name")
		return
	fi
	log=$(mktemp)
	echo "== $name"
	run "$@" 2>&1 | tee "$log"
	status=${PIPESTATUS[0]}
	count_results "$name" "$log" "$status"
	# the line a suite that cannot run says why with (scripts/node-deps.sh)
	reason=$(grep -m 1 '^[a-z]* test cannot run: ' "$log")
	[ -n "$reason" ] && cannot_run+=("$reason")
	rm -f "$log"
	if [ "$status" -ne 0 ]; then
		for f in regression.diffs output_iso/regression.diffs; do
			[ -f "$work/$f" ] && { echo "---- $f"; cat "$work/$f"; }
		done
		for f in "$work"/tmp_check/log/regress_log_*; do
			[ -f "$f" ] && { echo "---- $f (last lines)"; tail -n 40 "$f"; }
		done
	fi
}

m=(make -s PG_CONFIG="$PG_CONFIG" AG_TEMP_INSTANCE=1)
suite regress "${m[@]}" installcheck ISOLATION= TAP_TESTS=
suite isolation "${m[@]}" installcheck REGRESS= TAP_TESTS=
suite tap "${m[@]}" installcheck REGRESS= ISOLATION= PROVE_FLAGS=-v
# the fuzzer carries its own sanitizer runtime
suite fuzz "${m[@]}" fuzz-short
suite web scripts/web-test.sh
suite node scripts/node-test.sh

echo
[ ${#skipped_suites[@]} -gt 0 ] && echo "skipped on purpose (AGENTGUARD_SKIP): ${skipped_suites[*]}"
[ ${#failed_suites[@]} -gt 0 ] && echo "failed suites: ${failed_suites[*]}"
for reason in "${cannot_run[@]}"; do
	echo "$reason (AGENTGUARD_SKIP=\"web node\" skips a suite on purpose)"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
