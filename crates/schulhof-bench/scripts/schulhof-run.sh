#!/usr/bin/env bash
# Schulhof run of schulhof-bench (see docs/performance.md), the counterpart of
# synapse-baseline.sh: a release build, a fresh SQLite data directory with the
# bench accounts, `schulhof serve` on http://127.0.0.1:8458 with rate limits off,
# the benchmark with --pid, and the JSON result. The server is stopped at the end.
#
# Environment (all optional):
#   DATA             data directory, recreated      (/work/schulhof-bench-data)
#   USERS            accounts to create              (250; the large-room
#                    phase needs --members + 1, i.e. 1501)
#   OUT              result file                     ($DATA/schulhof-results.json)
#   CARGO_TARGET_DIR cargo target dir for the build  (/work/target-release)
#   SCHULHOF_BIN     prebuilt schulhof binary, e.g. of an older commit
#                    (else built with cargo; the other test scripts use
#                    the name for a debug build, so check the "server:" line)
#   BENCH_BIN        prebuilt schulhof-bench binary  (else built with cargo)
#   Any arguments are passed on to schulhof-bench (e.g. --phases large-room).
set -euo pipefail

cd "$(dirname "$0")/../../.."
DATA=${DATA:-/work/schulhof-bench-data}
USERS=${USERS:-250}
OUT=${OUT:-$DATA/schulhof-results.json}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-release}
HS=http://127.0.0.1:8458

# What is not given is built in one cargo call: built apart, the two would resolve shared
# dependencies (hyper, tower, ...) with different features and compile them twice.
build=()
[ -n "${SCHULHOF_BIN:-}" ] || build+=(-p schulhof)
[ -n "${BENCH_BIN:-}" ] || build+=(-p schulhof-bench)
[ "${#build[@]}" -eq 0 ] || cargo build --release "${build[@]}"
SCHULHOF_BIN=${SCHULHOF_BIN:-$CARGO_TARGET_DIR/release/schulhof}
BENCH_BIN=${BENCH_BIN:-$CARGO_TARGET_DIR/release/schulhof-bench}
echo "server: $SCHULHOF_BIN, bench: $BENCH_BIN" >&2

. crates/schulhof-bench/scripts/server-setup.sh
new_data_dir "$DATA" bench.test 8458

# The first account creates the database; the others are added four at a time.
seq -w 1 "$USERS" | sed 's/.*/bench& bench-password/' > "$DATA/users.txt"
add_user() { "$SCHULHOF_BIN" --config "$DATA/schulhof.toml" user add "$1" --password "$2" >/dev/null; }
export -f add_user
export SCHULHOF_BIN DATA
head -n 1 "$DATA/users.txt" | xargs -n 2 bash -c 'add_user "$@"' _
tail -n +2 "$DATA/users.txt" | xargs -n 2 -P 4 bash -c 'add_user "$@"' _

RUST_LOG=warn "$SCHULHOF_BIN" --config "$DATA/schulhof.toml" serve > "$DATA/server.log" 2>&1 &
PID=$!
stop_server_on_exit $PID
wait_for_server "$HS" 50

"$BENCH_BIN" --hs "$HS" --users "$DATA/users.txt" --pid "$PID" "$@" > "$OUT"
echo "result: $OUT"
