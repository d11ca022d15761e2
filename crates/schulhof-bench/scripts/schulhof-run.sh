#!/usr/bin/env bash
# Schulhof run of schulhof-bench (see docs/performance.md), the counterpart of
# synapse-baseline.sh: a release build, a fresh SQLite data directory with the
# bench accounts, `schulhof serve` on http://127.0.0.1:8458 with rate limits off,
# the benchmark with --pid, and the JSON result. The server is stopped at the end.
#
# Environment (all optional):
#   DATA             data directory, recreated      (/work/schulhof-bench-data)
#   USERS            accounts to create              (250)
#   OUT              result file                     ($DATA/schulhof-results.json)
#   CARGO_TARGET_DIR cargo target dir for the build  (/work/target-release)
#   Any arguments are passed on to schulhof-bench (e.g. --phases latency).
set -euo pipefail

cd "$(dirname "$0")/../../.."
DATA=${DATA:-/work/schulhof-bench-data}
USERS=${USERS:-250}
OUT=${OUT:-$DATA/schulhof-results.json}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-release}
HS=http://127.0.0.1:8458

cargo build --release -p schulhof -p schulhof-bench
BIN=$CARGO_TARGET_DIR/release

rm -rf "$DATA"
mkdir -p "$DATA"
cat > "$DATA/schulhof.toml" <<TOML
server_name = "bench.test"
listen = "127.0.0.1:8458"
database_url = "sqlite://$DATA/schulhof.db"
media_path = "$DATA/media"
public_baseurl = "$HS/"

[rate_limits]
enabled = false

[accounts]
secret_key_file = "$DATA/schulhof.key"
TOML

for i in $(seq -w 1 "$USERS"); do
    "$BIN/schulhof" --config "$DATA/schulhof.toml" user add "bench$i" --password bench-password >/dev/null
    echo "bench$i bench-password"
done > "$DATA/users.txt"

RUST_LOG=warn "$BIN/schulhof" --config "$DATA/schulhof.toml" serve > "$DATA/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
    curl -sf "$HS/_matrix/client/versions" >/dev/null && break
    sleep 0.1
done

"$BIN/schulhof-bench" --hs "$HS" --users "$DATA/users.txt" --pid "$PID" "$@" > "$OUT"
echo "result: $OUT"
