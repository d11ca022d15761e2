#!/usr/bin/env bash
# The first reconcile of the benchmarks' synthetic school (3,081 people in 148 groups; 160 rooms
# and spaces, 9,835 memberships) by the real `schulhof-appservice` against Synapse, the
# counterpart of crates/schulhof-server/benches/school_appservice.rs (see docs/performance.md).
#
# Per engine: installs Synapse from PyPI into a virtualenv (cached), starts it on loopback with
# its generated default configuration, rate limits off (synapse-unlimited.yaml) and the school
# appservice registered (no URL, as in the Schulhof benchmark: reconciling is measured, not the
# bot), creates the school's accounts through the admin API (no passwords, so no hashing),
# runs `schulhof-appservice run` with the school's CSV export (`--directory-csv`) and the
# default config/appservice.toml, and takes the appservice's own figure of the first
# reconcile (`reconciled … took_ms`: from the start of the plan, reading the empty server, to
# the last change applied). Then five reconciles without changes (each started by touching the
# CSV file), and a check of every room and space against the plan (alias, name, kind, members,
# power levels). The 1-minute load average is sampled every 5 s.
#
# If the first reconcile has not finished after MAX_FIRST_SECS, the appservice is stopped and
# the rate so far (memberships joined per second) with its extrapolation is printed instead.
#
#   crates/schulhof-bench/scripts/synapse-school-reconcile.sh
#
# Environment (all optional):
#   ENGINES         sqlite and/or postgres                  ("sqlite")
#   PG_HOST/PG_PORT/PG_USER  PostgreSQL for the postgres run (127.0.0.1, 5432, postgres; the
#                   script creates and drops a database synschool_<pid>)
#   SYNAPSE_VENV    virtualenv                              (~/.cache/schulhof/synapse-venv)
#   SYNAPSE_VERSION matrix-synapse to install there         (1.163.2)
#   APPSERVICE_BIN  schulhof-appservice                     (else built: release, no LTO)
#   EXAMPLE_BIN     the synthetic_school example            (else built with it)
#   MAX_FIRST_SECS  limit of the first reconcile            (1800)
#   KEEP=1          keep the work directories (logs, databases)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
scripts=$repo/crates/schulhof-bench/scripts
engines=${ENGINES:-sqlite}
venv=${SYNAPSE_VENV:-$HOME/.cache/schulhof/synapse-venv}
version=${SYNAPSE_VERSION:-1.163.2}
max_first=${MAX_FIRST_SECS:-1800}
pg_host=${PG_HOST:-127.0.0.1} pg_port=${PG_PORT:-5432} pg_user=${PG_USER:-postgres}
server=localhost
as_token=as-token-school-bench

log() { echo "[synapse-school] $(date -u +%H:%M:%S) $*" >&2; }

# The appservice and the exporter of the school, release build without LTO.
if [[ -z ${APPSERVICE_BIN:-} || -z ${EXAMPLE_BIN:-} ]]; then
  target=${CARGO_TARGET_DIR:-$repo/target}
  log "building schulhof-appservice (release) in $target"
  (cd "$repo" && CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo build --release -p schulhof-appservice --bin schulhof-appservice --example synthetic_school)
  APPSERVICE_BIN=${APPSERVICE_BIN:-$target/release/schulhof-appservice}
  EXAMPLE_BIN=${EXAMPLE_BIN:-$target/release/examples/synthetic_school}
fi

if ! "$venv/bin/python" -c 'import synapse, psycopg2' 2>/dev/null; then
  log "installing matrix-synapse $version into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "matrix-synapse[postgres]==$version"
fi
version=$("$venv/bin/python" -c 'import synapse; print(synapse.__version__)')

pids=()
work=
database=
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
  if [[ -n $database ]]; then
    dropdb -h "$pg_host" -p "$pg_port" -U "$pg_user" --if-exists "$database" || true
    database=
  fi
  if [[ -n $work ]]; then
    if [[ ${KEEP:-0} == 1 ]]; then log "kept $work"; else rm -rf "$work"; fi
    work=
  fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# utime + stime of a process in seconds.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / hz }' "/proc/$1/stat"; }
# The n-th `reconciled` line of the appservice's log as "planned done failed took_ms".
reconciled() {
  sed 's/\x1b\[[0-9;]*m//g' "$work/appservice.log" | grep ' reconciled' | sed -n "${1}p" |
    sed -E 's/.*planned=([0-9]+) done=([0-9]+) failed=([0-9]+) took_ms=([0-9]+).*/\1 \2 \3 \4/'
}
count_reconciled() { grep -c ' reconciled' "$work/appservice.log" || true; }
load_range() { sort -n "$1" | sed -n '1p;$p' | paste -sd' ' | awk '{ printf "%s–%s", $1, $2 }'; }

run_engine() {
  local engine=$1
  work=$(mktemp -d "/tmp/schulhof-synschool-$engine-XXXXXX")
  local hs_port hs
  hs_port=$(free_port)
  hs="http://127.0.0.1:$hs_port"
  log "[$engine] work directory $work"

  cat >"$work/registration.yaml" <<YAML
id: schulhof-schule
url: null
as_token: "$as_token"
hs_token: "hs-token-school-bench"
sender_localpart: schulhof-schule
rate_limited: false
namespaces:
  users: []
  aliases:
    - exclusive: true
      regex: "#schule_.*:$server"
  rooms: []
YAML
  "$EXAMPLE_BIN" "$work" "$work/registration.yaml" "$repo/config/appservice.toml" >"$work/school.txt"
  log "[$engine] school: $(cat "$work/school.txt")"

  (cd "$work" && "$venv/bin/python" -m synapse.app.homeserver --server-name "$server" \
    --config-path homeserver.yaml --data-directory "$work" --generate-config --report-stats=no >/dev/null)
  cat >"$work/bench.yaml" <<YAML
listeners:
  - port: $hs_port
    type: http
    tls: false
    bind_addresses: ['127.0.0.1']
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
suppress_key_server_warning: true
report_stats: false
app_service_config_files: ["$work/registration.yaml"]
# Room version 12 makes the creator (the bot) unlisted in the power levels; the appservice
# writes it there, as on Schulhof (same as scripts/synapse-appservice-test.sh).
default_room_version: "10"
YAML
  if [[ $engine == postgres ]]; then
    database=synschool_$$
    createdb -h "$pg_host" -p "$pg_port" -U "$pg_user" -E UTF8 --lc-collate=C --lc-ctype=C \
      -T template0 "$database"
    cat >>"$work/bench.yaml" <<YAML
database:
  name: psycopg2
  args: {user: $pg_user, host: $pg_host, port: $pg_port, database: $database, cp_min: 5, cp_max: 10}
YAML
  fi

  (cd "$work" && exec "$venv/bin/python" -m synapse.app.homeserver -c homeserver.yaml \
    -c bench.yaml -c "$scripts/synapse-unlimited.yaml") >"$work/synapse.out" 2>&1 &
  local synapse=$!
  pids+=("$synapse")
  for _ in $(seq 1 240); do
    curl -sf "$hs/_matrix/client/versions" >/dev/null && break
    kill -0 "$synapse" 2>/dev/null || { tail -20 "$work/synapse.out" >&2; log "Synapse died"; return 1; }
    sleep 0.5
  done
  log "[$engine] Synapse $version up (pid $synapse)"

  # A server admin (one password hash), and the bot as an admin for Synapse's admin join.
  local password=Gruen-Tanne-4711 admin_token
  "$venv/bin/register_new_matrix_user" -c "$work/homeserver.yaml" -u admin -p "$password" --admin "$hs" >/dev/null
  admin_token=$(curl -sf -X POST "$hs/_matrix/client/v3/login" -H 'content-type: application/json' \
    -d "{\"type\":\"m.login.password\",\"identifier\":{\"type\":\"m.id.user\",\"user\":\"admin\"},\"password\":\"$password\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  curl -sf -X POST "$hs/_matrix/client/v3/register" -H "authorization: Bearer $as_token" \
    -H 'content-type: application/json' \
    -d '{"type": "m.login.application_service", "username": "schulhof-schule", "inhibit_login": true}' >/dev/null
  curl -sf -X PUT "$hs/_synapse/admin/v1/users/@schulhof-schule:$server/admin" \
    -H "authorization: Bearer $admin_token" -H 'content-type: application/json' -d '{"admin": true}' >/dev/null

  local accounts
  accounts=$("$venv/bin/python" "$scripts/synapse_school.py" accounts "$hs" "$admin_token" "$server" "$work/localparts.txt")
  log "[$engine] accounts created: ${accounts% *} in ${accounts#* } s"

  # Load average every 5 s, into one file per phase.
  local phase_file=$work/load-first.txt
  echo "$phase_file" >"$work/phase"
  (while :; do cut -d' ' -f1 /proc/loadavg >>"$(cat "$work/phase")"; sleep 5; done) &
  pids+=($!)

  local synapse_cpu0 started
  synapse_cpu0=$(cpu_s "$synapse")
  started=$(date +%s)
  local started_precise
  started_precise=$(date +%s.%N)
  NO_COLOR=1 "$APPSERVICE_BIN" --homeserver "$hs" --registration "$work/registration.yaml" \
    --config "$repo/config/appservice.toml" --directory-csv "$work/school.csv" run >"$work/appservice.log" 2>&1 &
  local appservice=$!
  pids+=("$appservice")
  log "[$engine] first reconcile started (appservice pid $appservice)"
  local next_progress=$((started + 60))
  # Until a reconcile ends without failures (one that left failures is retried after 10 s).
  local converged=0
  while ((converged == 0)); do
    local n
    for ((n = 1; n <= $(count_reconciled); n++)); do
      local fields
      read -r -a fields <<<"$(reconciled "$n")"
      if [[ ${fields[2]} == 0 ]]; then converged=$n; break; fi
    done
    ((converged == 0)) || break
    kill -0 "$appservice" 2>/dev/null || { tail -20 "$work/appservice.log" >&2; log "the appservice died"; return 1; }
    local now
    now=$(date +%s)
    if ((now >= next_progress)); then
      local sample
      sample=$("$venv/bin/python" "$scripts/synapse_school.py" progress "$hs" "$admin_token")
      echo "$((now - started)) $sample" >>"$work/progress.txt"
      log "[$engine] $((now - started)) s: rooms and joined memberships $sample, load $(cut -d' ' -f1 /proc/loadavg)"
      next_progress=$((now + 60))
    fi
    if ((now - started > max_first)); then
      kill "$appservice"
      echo "$((now - started)) $("$venv/bin/python" "$scripts/synapse_school.py" progress "$hs" "$admin_token")" >>"$work/progress.txt"
      python3 - "$engine" "$work/progress.txt" "$work/expected.json" "$(load_range "$phase_file")" <<'PY'
import json, sys
engine, progress, expected, load = sys.argv[1:]
samples = [tuple(map(int, line.split())) for line in open(progress)]
planned = json.load(open(expected))["memberships"]
secs, _, joined = samples[-1]
# The rate of the joins since the last room was created (rooms come first, with their
# invitations), and of the last 5 minutes.
rooms_done = next((s for s in samples if s[1] == samples[-1][1]), samples[0])
then = next((s for s in samples if s[0] >= secs - 300), samples[0])
rate = lambda a: round((joined - a[2]) / max(secs - a[0], 1), 1)
joins = rate(rooms_done)
print(json.dumps({"server": f"Synapse ({engine})", "first_reconcile": "STOPPED, not finished",
                  "after_s": secs, "rooms": samples[-1][1], "rooms_created_by_s": rooms_done[0],
                  "joined_memberships": joined, "planned_memberships": planned,
                  "joins_per_s_since_rooms_created": joins,
                  "joins_per_s_last_5_min": rate(then),
                  "EXTRAPOLATED_first_reconcile_s (elapsed + remaining joins at the rate since the rooms were created)":
                      round(secs + (planned - joined) / joins) if joins else None,
                  "load_average": load}, ensure_ascii=False))
PY
      return 0
    fi
    sleep 1
  done
  local synapse_cpu1 appservice_cpu first
  synapse_cpu1=$(cpu_s "$synapse")
  appservice_cpu=$(cpu_s "$appservice")
  first=$(reconciled 1)
  log "[$engine] first reconcile: planned done failed took_ms = $first"
  # Until the last change: the end of the reconcile without failures, from the start (log time).
  local until_converged
  until_converged=$(sed 's/\x1b\[[0-9;]*m//g' "$work/appservice.log" | grep ' reconciled' | sed -n "${converged}p" |
    python3 -c 'import sys, datetime; t = sys.stdin.read().split()[0]; end = datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp(); print(round((end - float(sys.argv[1])) * 1000))' "$started_precise")
  log "[$engine] without failures after $converged reconcile(s), $until_converged ms after the start"

  # Synapse's background work after the last change (until a 5 s window with < 0.5 s CPU).
  local quiet_from
  quiet_from=$(date +%s)
  for _ in $(seq 1 120); do
    local a b
    a=$(cpu_s "$synapse"); sleep 5; b=$(cpu_s "$synapse")
    awk -v a="$a" -v b="$b" 'BEGIN { exit !(b - a < 0.5) }' && break
  done
  local busy_after=$(($(date +%s) - quiet_from - 5))

  phase_file=$work/load-unchanged.txt
  echo "$phase_file" >"$work/phase"
  local unchanged=()
  for ((n = converged + 1; n <= converged + 5; n++)); do
    touch "$work/school.csv"
    for _ in $(seq 1 600); do
      [[ $(count_reconciled) -ge $n ]] && break
      sleep 0.5
    done
    local line
    line=$(reconciled "$n")
    [[ -n $line ]] || { log "no-change reconcile $((n - 1)) did not come"; return 1; }
    [[ ${line%% *} == 0 ]] || log "[$engine] WARNING: a no-change reconcile planned ${line%% *} changes"
    unchanged+=("${line##* }")
  done
  log "[$engine] no-change reconciles (ms): ${unchanged[*]}"

  local check_rc=0
  "$venv/bin/python" "$scripts/synapse_school.py" check "$hs" "$as_token" "$server" "$work/expected.json" \
    >"$work/check.txt" || check_rc=$?
  cat "$work/check.txt" >&2

  python3 - "$engine" "$version" "$first" "$converged" "$until_converged" "${unchanged[*]}" "$accounts" \
    "$(load_range "$work/load-first.txt")" "$(load_range "$work/load-unchanged.txt")" \
    "$synapse_cpu1" "$synapse_cpu0" "$appservice_cpu" "$busy_after" "$check_rc" \
    "$(tail -1 "$work/check.txt")" <<'PY'
import json, sys
(engine, version, first, converged, until_converged, unchanged, accounts, load_first, load_unchanged, cpu1, cpu0, as_cpu,
 busy_after, check_rc, check) = sys.argv[1:]
planned, done, failed, took = map(int, first.split())
times = sorted(int(t) for t in unchanged.split())
count, secs = accounts.split()
print(json.dumps({
    "server": f"Synapse {version} ({engine})",
    "accounts": {"count": int(count), "s": float(secs)},
    "first_reconcile": {"changes": planned, "done": done, "failed": failed, "ms": took,
                        "reconciles_until_no_failure": int(converged),
                        "ms_until_no_failure": int(until_converged),
                        "synapse_cpu_s": round(float(cpu1) - float(cpu0), 1),
                        "appservice_cpu_s": float(as_cpu), "load_average": load_first},
    "synapse_busy_after_s": int(busy_after),
    "no_change_reconcile_ms": {"median": times[len(times) // 2], "max": times[-1],
                               "all": times, "load_average": load_unchanged},
    "check": "ok" if check_rc == "0" else "FAILED", "check_summary": check,
}, ensure_ascii=False))
PY
  cleanup
  [[ $check_rc == 0 ]]
}

for engine in $engines; do
  run_engine "$engine"
done
