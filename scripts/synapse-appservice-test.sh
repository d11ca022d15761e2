#!/usr/bin/env bash
# The school appservice against Synapse: installs Synapse from PyPI into a virtualenv (cached
# in $SYNAPSE_VENV, default ~/.cache/schulhof/synapse-venv), starts it on loopback with the
# appservice registered, creates the accounts of a small school, runs `schulhof-appservice`
# with the school's CSV export (`--directory-csv`) until its plan is empty, and checks the
# group → room result as Schulhof's end-to-end test does: a student of 8.1 is in "Klasse 8.1",
# the year and school spaces and no other class; a parent in "Sorgeberechtigte 8.1"; the
# class teacher is a moderator (50); the announcement room refuses a student's message.
#
# Skipped (exit 0 with a clear message) only where Synapse cannot be installed.
#
#   scripts/synapse-appservice-test.sh [path/to/schulhof-appservice]
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
appservice_bin=${1:-$target/debug/schulhof-appservice}
venv=${SYNAPSE_VENV:-$HOME/.cache/schulhof/synapse-venv}
synapse_version=1.163.2

if [[ ! -x $appservice_bin ]]; then
  echo "synapse-appservice-test: $appservice_bin not found (cargo build -p schulhof-appservice)" >&2
  exit 1
fi
if [[ ! -x $venv/bin/synapse_homeserver ]]; then
  if ! { python3 -m venv "$venv" && "$venv/bin/pip" install -q "matrix-synapse==$synapse_version"; } >/tmp/synapse-install.log 2>&1; then
    echo "SKIPPED synapse-appservice-test: Synapse $synapse_version could not be installed from PyPI (see /tmp/synapse-install.log)"
    exit 0
  fi
fi

work=$(mktemp -d /tmp/schulhof-synapse-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [[ ${KEEP:-0} != 1 ]]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
hs_port=$(free_port)
as_port=$(free_port)
server=localhost
hs="http://127.0.0.1:$hs_port"

cat >"$work/school.csv" <<'CSV'
ID;Vorname;Nachname;Rolle;Gruppen;Kinder;Einwilligung
L-1;Anna;Schmidt;Lehrkraft;Lehrer, Klasse 8.1, Infos 8;;ja
L-2;Jürgen;Groß;Lehrkraft;Lehrer, Klasse 8.2;;ja
S-1;Ben;Müller;Schüler;Klasse 8.1, Infos 8;;ja
S-2;Zoe;Yilmaz;Schülerin;Klasse 8.1;;ja
S-3;Mia;Weber;Schülerin;Klasse 8.2;;ja
E-1;Clara;Müller;Sorgeberechtigte;;S-1;ja
A-1;Birgit;Schäfer;Schulleitung;Lehrer;;ja
CSV
people=(anna.schmidt juergen.gross ben.mueller zoe.yilmaz mia.weber clara.mueller birgit.schaefer)

cat >"$work/appservice.toml" <<'TOML'
bot = "schulhof-schule"
[rooms.class]
name = "Klasse {klasse}"
space = "year"
encrypted = false
[rooms.custom]
name = "{gruppe}"
space = "groups"
announcement = true
encrypted = false
TOML

cat >"$work/registration.yaml" <<YAML
id: schulhof-schule
url: "http://127.0.0.1:$as_port"
as_token: "as-token-synapse-test"
hs_token: "hs-token-synapse-test"
sender_localpart: schulhof-schule
rate_limited: false
namespaces:
  users: []
  aliases:
    - exclusive: true
      regex: "#schule_.*:localhost"
  rooms: []
YAML

cd "$work"
"$venv/bin/python" -m synapse.app.homeserver --server-name "$server" --config-path homeserver.yaml \
  --generate-config --report-stats=no >/dev/null
cat >>homeserver.yaml <<YAML

suppress_key_server_warning: true
app_service_config_files: ["$work/registration.yaml"]
default_room_version: "10"
rc_message: {per_second: 1000, burst_count: 1000}
rc_joins: {local: {per_second: 1000, burst_count: 1000}, remote: {per_second: 1000, burst_count: 1000}}
rc_invites: {per_room: {per_second: 1000, burst_count: 1000}, per_user: {per_second: 1000, burst_count: 1000}, per_issuer: {per_second: 1000, burst_count: 1000}}
rc_login: {address: {per_second: 1000, burst_count: 1000}, account: {per_second: 1000, burst_count: 1000}}
YAML
# Listen on our port (the generated listener uses 8008).
sed -i "s/port: 8008/port: $hs_port/; s/bind_addresses: \['::1', '127.0.0.1'\]/bind_addresses: ['127.0.0.1']/" homeserver.yaml
"$venv/bin/synapse_homeserver" -c homeserver.yaml >synapse.log 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
  curl -sf "$hs/_matrix/client/versions" >/dev/null && break
  sleep 0.5
done
curl -sf "$hs/_matrix/client/versions" >/dev/null || { tail -30 synapse.log; echo "Synapse did not start" >&2; exit 1; }

password=Gruen-Tanne-4711
"$venv/bin/register_new_matrix_user" -c homeserver.yaml -u admin -p "$password" --admin "$hs" >/dev/null
for person in "${people[@]}"; do
  "$venv/bin/register_new_matrix_user" -c homeserver.yaml -u "$person" -p "$password" --no-admin "$hs" >/dev/null
done
login() {
  curl -sf -X POST "$hs/_matrix/client/v3/login" -H 'content-type: application/json' \
    -d "{\"type\":\"m.login.password\",\"identifier\":{\"type\":\"m.id.user\",\"user\":\"$1\"},\"password\":\"$password\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
admin_token=$(login admin)
# Synapse's admin join needs a server admin: register the appservice's bot and make it one.
curl -sf -X POST "$hs/_matrix/client/v3/register" -H "authorization: Bearer as-token-synapse-test" \
  -H 'content-type: application/json' \
  -d '{"type": "m.login.application_service", "username": "schulhof-schule", "inhibit_login": true}' >/dev/null
curl -sf -X PUT "$hs/_synapse/admin/v1/users/@schulhof-schule:$server/admin" -H "authorization: Bearer $admin_token" \
  -H 'content-type: application/json' -d '{"admin": true}' >/dev/null

as_args=(--homeserver "$hs" --registration "$work/registration.yaml" --config "$work/appservice.toml" --directory-csv "$work/school.csv")
"$appservice_bin" "${as_args[@]}" run >appservice.log 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
  if "$appservice_bin" "${as_args[@]}" plan 2>/dev/null | grep -q '^Keine Änderungen'; then converged=1; break; fi
  sleep 1
done
if [[ ${converged:-0} != 1 ]]; then
  tail -30 appservice.log
  "$appservice_bin" "${as_args[@]}" plan || true
  echo "FAILED: the appservice did not converge against Synapse" >&2
  exit 1
fi

ben=$(login ben.mueller)
clara=$(login clara.mueller)
export HS="$hs" BEN="$ben" CLARA="$clara" SERVER="$server"
python3 - <<'PY'
import json, os, sys, urllib.request, urllib.error

hs, server = os.environ["HS"], os.environ["SERVER"]

def call(token, method, path, body=None):
    req = urllib.request.Request(hs + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"authorization": "Bearer " + token, "content-type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)

def rooms(token):
    out = {}
    for room in call(token, "GET", "/_matrix/client/v3/joined_rooms")[1]["joined_rooms"]:
        state = call(token, "GET", f"/_matrix/client/v3/rooms/{room}/state")[1]
        get = lambda t: next((e["content"] for e in state if e["type"] == t and e["state_key"] == ""), {})
        out[get("m.room.name").get("name", "")] = (room, get("m.room.create").get("type") == "m.space", get("m.room.power_levels"))
    return out

failures = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)

ben = rooms(os.environ["BEN"])
for name, space in [("Klasse 8.1", False), ("Infos 8", False), ("Unsere Schule", True), ("Jahrgang 8", True)]:
    check(name in ben and ben[name][1] == space, f"Ben is in {name}")
check("Klasse 8.2" not in ben, "Ben is in no other class")
check(ben["Klasse 8.1"][2]["users"].get(f"@anna.schmidt:{server}") == 50, "the class teacher moderates Klasse 8.1")
status, body = call(os.environ["BEN"], "PUT", f"/_matrix/client/v3/rooms/{ben['Infos 8'][0]}/send/m.room.message/t1", {"msgtype": "m.text", "body": "Darf ich?"})
check(status == 403, f"the announcement room refuses the student ({status} {body.get('errcode')})")
clara = rooms(os.environ["CLARA"])
check("Sorgeberechtigte 8.1" in clara and "Klasse 8.1" not in clara, "Clara is in Sorgeberechtigte 8.1, not in the class")
sys.exit(1 if failures else 0)
PY
echo "synapse-appservice-test: passed (Synapse $synapse_version)"
