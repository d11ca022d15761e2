#!/usr/bin/env bash
# Runs every test: unit and integration tests of the workspace, then the end-to-end tests that
# drive a real server with a real Matrix client (matrix-sdk) on SQLite and on PostgreSQL.
#
# Needs PostgreSQL at 127.0.0.1:5432 (trust auth); set SCHULHOF_TEST_PG to use another one.
# Build output goes to $CARGO_TARGET_DIR (default: ./target).
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-$PWD/target}"
export CARGO_TARGET_DIR="$target"

echo "== cargo build (server and appservice binaries for the end-to-end tests)"
cargo build -p schulhof -p schulhof-appservice

echo "== workspace tests"
cargo test --workspace

echo "== OpenAPI validator tests"
(cd tests/openapi-check && CARGO_TARGET_DIR="$target/openapi-check" cargo test)

echo "== end-to-end tests (SQLite and PostgreSQL)"
export SCHULHOF_BIN="$target/debug/schulhof"
(cd tests/e2e && CARGO_TARGET_DIR="$target/e2e" cargo test -- --test-threads=2)

echo "== the school appservice against Synapse (from PyPI; skipped if it cannot be installed)"
scripts/synapse-appservice-test.sh "$target/debug/schulhof-appservice"

echo "== browser test: Element's client stack (matrix-js-sdk + Rust crypto) in headless Chromium"
tests/browser/run.sh
scripts/proxy-test.sh
