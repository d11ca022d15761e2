#!/usr/bin/env bash
# Browser end-to-end test: Element's client stack (matrix-js-sdk + Rust crypto in WebAssembly)
# in two headless Chromium profiles against a real Schulhof server (see README.md here).
#
# Needs the server binary: $SCHULHOF_BIN (default: <repo>/target/debug/schulhof).
# Installs what is missing: npm packages (npm ci) and Chromium (Debian package).
# Prints a last line "browser: N passed, M failed" and exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -d node_modules ]; then
    echo "== npm ci"
    npm ci --no-audit --no-fund
fi

if [ ! -x "${CHROMIUM_BIN:-/usr/bin/chromium}" ]; then
    echo "== apt-get install chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q chromium
fi

echo "== bundle page"
node build.mjs

echo "== browser test"
tap="$(mktemp)"
trap 'rm -f "$tap"' EXIT
status=0
# One file after the other: each starts its own server and Chromium.
node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" test.mjs notices.test.mjs delayed.test.mjs first-login.test.mjs school-space.test.mjs || status=$?

pass="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" | tail -n1)"
fail="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" | tail -n1)"
skip="$(sed -n 's/^# skipped \([0-9]*\)$/\1/p' "$tap" | tail -n1)"
pass="${pass:-0}" fail="${fail:-0}" skip="${skip:-0}"
if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then
    fail=1 # the runner itself failed (e.g. a hook), count it
fi
echo "browser: ${pass} passed, ${fail} failed, ${skip} skipped"
[ "$status" -eq 0 ] && [ "$fail" -eq 0 ]
