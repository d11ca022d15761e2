#!/usr/bin/env bash
# Writes crates/schulhof/hot-functions.txt: the functions of the release server that run at
# start and on a password login, then those a first session runs (creating a room, sending,
# syncing, logging out), as the linker's symbol ordering file. The linker puts them first in
# the binary's code, so an idle server maps those pages only, not code all over the binary
# (docs/performance.md, "Code layout"). Run it again after large changes or dependency updates:
# names that no longer exist are skipped by the linker, new code is only laid out elsewhere.
#
# Needs valgrind (callgrind, callgrind_control), curl, jq and python3. Environment (optional):
#   CARGO_TARGET_DIR cargo target dir for the release build   (/work/target-release)
#   DATA             scratch data directory, recreated         (/tmp/schulhof-hot-functions)
set -euo pipefail

cd "$(dirname "$0")/../../.."
ROOT=$PWD
OUT=$ROOT/crates/schulhof/hot-functions.txt
DATA=${DATA:-/tmp/schulhof-hot-functions}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-release}
HS=http://127.0.0.1:8459
BIN=$CARGO_TARGET_DIR/release/schulhof

cargo build --release -p schulhof
. crates/schulhof-bench/scripts/server-setup.sh
new_data_dir "$DATA" hot.test 8459
for user in hot1 hot2 hot3; do
    "$BIN" --config "$DATA/schulhof.toml" user add "$user" --password "hot-password-$user" >/dev/null
done

RUST_LOG=warn valgrind --tool=callgrind --demangle=no --dump-instr=no \
    --callgrind-out-file="$DATA/callgrind.out" \
    "$BIN" --config "$DATA/schulhof.toml" serve > "$DATA/server.log" 2>&1 &
PID=$!
stop_server_on_exit $PID
wait_for_server "$HS" 1500

login() {
    curl -sf -X POST "$HS/_matrix/client/v3/login" -d "{\"type\":\"m.login.password\",
        \"identifier\":{\"type\":\"m.id.user\",\"user\":\"$1\"},\"password\":\"hot-password-$1\"}" |
        jq -r .access_token
}
# Phase 1: start and logins (what an idle server has run).
TOKEN=$(login hot1)
login hot2 >/dev/null
login hot3 >/dev/null
callgrind_control --dump=start "$PID" >/dev/null

# Phase 2: a first session.
call() { curl -sf -H "Authorization: Bearer $TOKEN" "$@"; }
ROOM=$(call -X POST "$HS/_matrix/client/v3/createRoom" \
    -d '{"preset":"private_chat","invite":["@hot2:hot.test"]}' | jq -r .room_id)
SINCE=$(call "$HS/_matrix/client/v3/sync" | jq -r .next_batch)
for n in 1 2 3; do
    call -X PUT "$HS/_matrix/client/v3/rooms/$ROOM/send/m.room.message/hot$n" \
        -d "{\"msgtype\":\"m.text\",\"body\":\"Nachricht $n\"}" >/dev/null
done
call "$HS/_matrix/client/v3/sync?since=$SINCE&timeout=0" >/dev/null
call "$HS/_matrix/client/v3/rooms/$ROOM/messages?dir=b&limit=10" >/dev/null
call -X POST "$HS/_matrix/client/v3/logout" >/dev/null
kill -INT $PID
wait $PID || true

python3 - "$DATA" "$OUT" <<'PY'
import glob, re, sys

data, out = sys.argv[1], sys.argv[2]
entry = re.compile(r'^(ob|cob|fn|cfn)=\((\d+)\)(?: (.*))?$')

def functions(path):
    """Functions of the schulhof binary that ran, as their linker symbols."""
    objects, names, found, current = {}, {}, set(), None
    for line in open(path):
        m = entry.match(line.rstrip('\n'))
        if not m:
            continue
        kind, ident, name = m.groups()
        table = objects if kind in ('ob', 'cob') else names
        if name:
            table[ident] = name
        if kind == 'ob':
            current = objects.get(ident, '')
        elif kind == 'fn' and current.endswith('/schulhof'):
            symbol = names[ident]
            if not symbol.startswith('0x'):
                found.add(symbol)
    return found

# Each part sorted, so that a new run differs from the file only where the code did.
start = sorted(functions(glob.glob(f'{data}/callgrind.out.*')[0]))
known = set(start)
session = sorted(f for f in functions(f'{data}/callgrind.out') if f not in known)
with open(out, 'w') as f:
    f.write('\n'.join(start + session) + '\n')
print(f'{out}: {len(start)} functions at start and login, {len(session)} more in a session')
PY
