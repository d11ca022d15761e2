#!/usr/bin/env bash
# Synapse baseline for schulhof-bench (see docs/performance.md).
#
# Installs Synapse into a venv, generates a SQLite config listening on
# http://127.0.0.1:8448 with rate limits effectively off (synapse-unlimited.yaml), registers the bench
# accounts, starts Synapse, runs schulhof-bench against it with --pid and
# writes the JSON result. Idempotent: an existing venv, config, database and
# users file are reused. Synapse is stopped again at the end.
#
# Environment (all optional):
#   SYNAPSE_VENV     venv directory                  (/work/synapse-venv)
#   SYNAPSE_DATA     config + database directory     (/work/synapse-data)
#   SYNAPSE_VERSION  matrix-synapse version to install when the venv lacks it
#                    (1.163.2)
#   USERS            accounts to register            (250; the large-room
#                    phase needs --members + 1, i.e. 1501:
#                    USERS=1501 synapse-baseline.sh --phases large-room)
#   OUT              result file                     ($SYNAPSE_DATA/synapse-results.json)
#   BENCH_BIN        prebuilt schulhof-bench binary  (else built with cargo)
#   CARGO_TARGET_DIR cargo target dir for the build  (/work/target-bench)
#   Any arguments are passed on to schulhof-bench (e.g. --phases large-room).
set -euo pipefail

VENV=${SYNAPSE_VENV:-/work/synapse-venv}
DATA=${SYNAPSE_DATA:-/work/synapse-data}
VERSION=${SYNAPSE_VERSION:-1.163.2}
USERS=${USERS:-250}
OUT=${OUT:-$DATA/synapse-results.json}
SERVER_NAME=bench.test
HOST=127.0.0.1
PORT=8448
HS=http://$HOST:$PORT
SECRET=schulhof-bench-shared-secret
PASSWORD=bench-password
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-bench}

log() { echo "[synapse-baseline] $*" >&2; }

# 1. Synapse in a venv outside the repository.
if ! "$VENV/bin/python" -c 'import synapse' 2>/dev/null; then
    log "installing matrix-synapse $VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "matrix-synapse==$VERSION"
fi
SYNAPSE_INSTALLED=$("$VENV/bin/python" -c 'import synapse; print(synapse.__version__)')
log "Synapse $SYNAPSE_INSTALLED"

# 2. Config: generated once, then overridden by bench.yaml (rewritten each run).
mkdir -p "$DATA"
if [ ! -f "$DATA/homeserver.yaml" ]; then
    log "generating config in $DATA"
    (cd "$DATA" && "$VENV/bin/python" -m synapse.app.homeserver \
        --server-name "$SERVER_NAME" \
        --config-path "$DATA/homeserver.yaml" \
        --data-directory "$DATA" \
        --generate-config --report-stats=no)
fi
cat >"$DATA/bench.yaml" <<EOF
# Overrides for the schulhof-bench baseline; later -c files win per key.
listeners:
  - port: $PORT
    type: http
    tls: false
    bind_addresses: ['$HOST']
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
enable_registration: false
registration_shared_secret: "$SECRET"
report_stats: false
# Cheaper password hashes make registering and logging in 1,501 accounts for
# the large-room phase take seconds instead of minutes; nothing timed hashes.
bcrypt_rounds: 4
federation_domain_whitelist: []
suppress_key_server_warning: true
EOF

# 3. Start Synapse (stopped again on exit).
if curl -sf "$HS/_matrix/client/versions" >/dev/null 2>&1; then
    log "something already listens on $HS; stop it first"
    exit 1
fi
log "starting Synapse"
(cd "$DATA" && exec "$VENV/bin/python" -m synapse.app.homeserver \
    -c "$DATA/homeserver.yaml" -c "$DATA/bench.yaml" \
    -c "$REPO/crates/schulhof-bench/scripts/synapse-unlimited.yaml") >"$DATA/synapse.out" 2>&1 &
SYNAPSE_PID=$!
trap 'kill "$SYNAPSE_PID" 2>/dev/null; wait "$SYNAPSE_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
    curl -sf "$HS/_matrix/client/versions" >/dev/null 2>&1 && break
    kill -0 "$SYNAPSE_PID" 2>/dev/null || { log "Synapse died:"; tail -20 "$DATA/synapse.out" >&2; exit 1; }
    sleep 0.5
done
curl -sf "$HS/_matrix/client/versions" >/dev/null
log "Synapse up, pid $SYNAPSE_PID"

# 4. Accounts via the shared-secret admin registration API.
if [ ! -f "$DATA/users.txt" ] || [ "$(wc -l <"$DATA/users.txt")" -ne "$USERS" ]; then
    log "registering $USERS accounts"
    "$VENV/bin/python" - "$HS" "$SECRET" "$USERS" "$PASSWORD" >"$DATA/users.txt.tmp" <<'EOF'
import hashlib, hmac, json, sys, urllib.error, urllib.request
from concurrent.futures import ThreadPoolExecutor

hs, secret, count, password = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3]), sys.argv[4]
url = hs + "/_synapse/admin/v1/register"

def register(i):
    user = f"bench{i:03d}"
    nonce = json.load(urllib.request.urlopen(url, timeout=30))["nonce"]
    mac = hmac.new(secret, digestmod=hashlib.sha1)
    for part in (nonce, user, password, "notadmin"):
        mac.update(part.encode() + (b"\x00" if part != "notadmin" else b""))
    body = json.dumps({"nonce": nonce, "username": user, "password": password,
                       "admin": False, "mac": mac.hexdigest()}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(req, timeout=60)
    except urllib.error.HTTPError as e:
        if json.load(e).get("errcode") != "M_USER_IN_USE":
            raise
    return user

with ThreadPoolExecutor(4) as pool:
    for user in pool.map(register, range(1, count + 1)):
        print(user, password)
EOF
    mv "$DATA/users.txt.tmp" "$DATA/users.txt"
fi

# 5. Run the benchmark against the Synapse process.
if [ -z "${BENCH_BIN:-}" ]; then
    log "building schulhof-bench"
    (cd "$REPO" && cargo build --release -p schulhof-bench)
    BENCH_BIN=$CARGO_TARGET_DIR/release/schulhof-bench
fi
log "running schulhof-bench (writes $OUT)"
"$BENCH_BIN" --hs "$HS" --users "$DATA/users.txt" --pid "$SYNAPSE_PID" "$@" >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
log "Synapse $SYNAPSE_INSTALLED results:"
cat "$OUT"
