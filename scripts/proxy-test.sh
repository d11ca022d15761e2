#!/usr/bin/env bash
# Deployment test: follows the set-up chapter of the admin guide (docs/admin/betrieb.md,
# "Einrichtung") on a freshly installed Debian 12, once with nginx and once with Caddy, using
# the files in deploy/ exactly as shipped, then checks through each reverse proxy (TLS with a
# self-signed certificate) everything people and apps need. Also builds and runs the container
# file where podman or docker works.
#
# How: a minimal Debian 12 (debootstrap, cached in ~/.cache/schulhof/proxy-test or
# $SCHULHOF_PROXY_TEST_CACHE) is copied for each proxy and booted
# with its own systemd in a container (systemd-nspawn) with a private network, so ports 80,
# 443 and 8008 are its own and every connection stays on that container's loopback. The guide's
# command blocks marked `<!-- setup-test: WHO -->` run there in order as an admin user with
# sudo; blocks marked `stand-in NAME` are replaced by what this script does instead (printed).
# The checks run with this machine's curl inside each container's network.
#
# Needs root. Installs what is missing on this machine from Debian's packages: debootstrap,
# systemd-container (systemd-nspawn), curl, openssl, python3 (reads JSON answers and the letters'
# CSV). nginx and Caddy are installed inside the test systems by the guide's own `apt-get install`.
#
# Server binary: $SCHULHOF_BIN (as scripts/test.sh exports it); without it, `cargo build -p
# schulhof` and <target>/debug/schulhof.
# Prints a last line "proxy: N passed, M failed, K skipped" and exits non-zero on failure.
# Functions below are called indirectly (check NAME FUNCTION), $admin_cli is split on purpose.
# shellcheck disable=SC2317,SC2086
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

chat=chat.schule.example.de     # host name in the shipped files and the example config
suite=bookworm                  # the Debian release the guide is written for
cache="${SCHULHOF_PROXY_TEST_CACHE:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/schulhof/proxy-test}"
base="$cache/debian-$suite"
# A minimal Debian plus what every standard installation has and a test system needs: systemd
# as init, sudo, procps (/bin/kill, used by the unit's ExecReload=), CA certificates.
# Bump when the recipe of the base system changes; the base is also rebuilt after 14 days.
base_recipe="1 minbase+systemd,systemd-sysv,dbus,sudo,procps,ca-certificates; debs: nginx caddy curl"
systems="${PROXY_TEST_SYSTEMS-nginx caddy}"
started=$SECONDS

say() { printf '%s\n' "$*"; }
# apt-get's per-package lines, left out of the printed guide output.
quiet_apt() { grep -Ev '^(Selecting previously|Preparing to unpack|Unpacking|Setting up|Processing triggers|\(Reading database|Get:)' || true; }

if [ "$(id -u)" -ne 0 ]; then
    say "proxy test needs root (containers, apt-get)"
    say "proxy: 0 passed, 1 failed, 0 skipped"
    exit 1
fi

say "== deployment test: the admin guide's set-up on a fresh Debian $suite, behind ${systems// / and }"

# --- work directory and cleanup -------------------------------------------------------------
work="$(mktemp -d /var/tmp/schulhof-proxy-test.XXXXXX)"
bg_pids=()

stop_system() { # DIR: powers the container off (bounded), then kills what is left
    local dir="$1" ns leader
    [ -f "$dir/nspawn.pid" ] || return 0
    ns="$(cat "$dir/nspawn.pid")"
    kill -0 "$ns" 2>/dev/null || return 0
    leader="$(pgrep -P "$ns" -x systemd | head -n1 || true)"
    if [ -n "$leader" ]; then
        timeout 20 nsenter -t "$leader" -a systemctl poweroff >/dev/null 2>&1 || true
    else
        kill -TERM "$ns" 2>/dev/null || true
    fi
    for _ in $(seq 1 40); do kill -0 "$ns" 2>/dev/null || return 0; sleep 0.5; done
    kill -KILL "$ns" 2>/dev/null || true
    sleep 1
}

cleanup() {
    local status=$? d alive=0
    trap - EXIT INT TERM
    for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for d in "$work"/*/; do stop_system "$d"; done
    for d in "$work"/*/; do
        [ -f "$d/nspawn.pid" ] && kill -0 "$(cat "$d/nspawn.pid")" 2>/dev/null && alive=1
    done
    if [ -n "${container_cleanup:-}" ]; then eval "$container_cleanup" || true; fi
    if [ "$alive" -eq 0 ] && [ -z "${KEEP_PROXY_TEST:-}" ]; then
        rm -rf "$work"
    else
        say "left $work in place"
    fi
    # The summary comes last, after everything is stopped and removed.
    if [ -n "${summary:-}" ]; then
        printf '%s\n' "$summary"
    else
        say "aborted before the end (status $status)"
        say "proxy: 0 passed, 1 failed, 0 skipped"
        [ "$status" -ne 0 ] || status=1
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- server binary ----------------------------------------------------------------------------
bin="${SCHULHOF_BIN:-}"
if [ -z "$bin" ]; then
    say "== cargo build -p schulhof (SCHULHOF_BIN not set)"
    cargo build -p schulhof
    bin="${CARGO_TARGET_DIR:-$repo/target}/debug/schulhof"
fi
[ -x "$bin" ] || { say "server binary $bin missing"; exit 1; }

# --- tools on this machine ----------------------------------------------------------------------
missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
command -v curl >/dev/null || missing+=(curl)
command -v openssl >/dev/null || missing+=(openssl)
command -v python3 >/dev/null || missing+=(python3)
if [ "${#missing[@]}" -gt 0 ]; then
    say "== apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q "${missing[@]}"
fi

# --- results ----------------------------------------------------------------------------------
# Every system writes "PASS name", "FAIL name: why" or "SKIP name: why" lines to its file.
results="$work/results"
: >"$results"
record() { # FILE KIND NAME [DETAIL]
    local file="$1" kind="$2" name="$3" detail="${4:-}"
    detail="$(printf '%s' "$detail" | tr '\n' ' ' | cut -c1-600)"
    printf '%s %s%s\n' "$kind" "$name" "${detail:+: $detail}" >>"$file"
    printf '%-4s %s%s\n' "$kind" "$name" "${detail:+: $detail}"
}

# --- checks shared by the test systems and the container ------------------------------------
# Called from run_system and container_test, whose locals they use: p (the name results start
# with), res (its results file), dir (scratch files), base_url (where Schulhof is reached) and
# leader (a test system's init process; unset for the container, reached from this machine).
ok() { record "$res" PASS "$p: $1" "${2:-}"; }
bad() { record "$res" FAIL "$p: $1" "${2:-}"; }
check() { # NAME FUNCTION [ARGS...]: FUNCTION prints why it failed
    local name="$1" out
    shift
    if out="$("$@" 2>&1)"; then ok "$name"; else bad "$name" "$out"; fi
}
# This machine's curl, in a test system's network with the test certificate trusted and the
# host name resolved there; for the container on this machine (its URL is plain http://).
ccurl() {
    local netns=()
    [ -z "${leader:-}" ] || netns=(nsenter -t "$leader" -n)
    "${netns[@]}" curl -sS --max-time 90 --cacert "$work/fullchain.pem" \
        --resolve "$chat:443:127.0.0.1" --resolve "$chat:80:127.0.0.1" "$@"
}
json() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("/"): v=v[k] if isinstance(v, dict) else v[int(k)]
print(v if not isinstance(v,(dict,list)) else json.dumps(v))' "$@"; }
login() { # USER PASSWORD FILE [CURL ARGS...] -> prints the status, body in FILE
    local user="$1" password="$2" out="$3"
    shift 3
    ccurl "$@" -o "$out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        --data "{\"type\":\"m.login.password\",\"identifier\":{\"type\":\"m.id.user\",\"user\":\"$user\"},\"password\":\"$password\"}" \
        "$base_url/_matrix/client/v3/login"
}
t_versions() {
    local code
    code="$(ccurl -o "$dir/versions.json" -w '%{http_code}' "$base_url/_matrix/client/versions")"
    [ "$code" = 200 ] || { echo "status $code"; return 1; }
    json "$dir/versions.json" versions/0 >/dev/null || { echo "no versions: $(cat "$dir/versions.json")"; return 1; }
}
t_well_known() { # base_url is public_baseurl without its last /
    local code base acao
    code="$(ccurl -D "$dir/wk.headers" -o "$dir/wk.json" -w '%{http_code}' "$base_url/.well-known/matrix/client")"
    [ "$code" = 200 ] || { echo "status $code"; return 1; }
    base="$(json "$dir/wk.json" m.homeserver/base_url)" || { cat "$dir/wk.json"; return 1; }
    [ "$base" = "$base_url/" ] || { echo "base_url $base"; return 1; }
    acao="$(grep -ci '^access-control-allow-origin:' "$dir/wk.headers" || true)"
    [ "$acao" = 1 ] || { echo "$acao Access-Control-Allow-Origin headers"; return 1; }
}
t_login() { # the account pruefer; its access token goes to $dir/token
    local code
    code="$(login pruefer 'Pruef-Konto-2026!' "$dir/login.json")"
    [ "$code" = 200 ] || { echo "status $code: $(cat "$dir/login.json")"; return 1; }
    json "$dir/login.json" access_token >"$dir/token"
}
t_first_login_page() {
    local code
    code="$(ccurl -c "$dir/fl.cookies" -D "$dir/fl.headers" -o "$dir/fl.html" -w '%{http_code}' "$base_url/erstanmeldung")"
    [ "$code" = 200 ] || { echo "status $code"; return 1; }
    grep -qi '^content-type: text/html' "$dir/fl.headers" || { echo "not HTML"; return 1; }
    grep -qi "^content-security-policy: default-src 'none'" "$dir/fl.headers" || { echo "no CSP header"; return 1; }
    grep -q 'name="code"' "$dir/fl.html" && grep -q 'name="csrf"' "$dir/fl.html" || { echo "no start-code form"; return 1; }
}

# --- base system: a minimal Debian, cached ------------------------------------------------------
# The mirror is the one this machine's apt uses (debootstrap's default when none is found).
apt_mirror() {
    local uri=""
    if [ -d /etc/apt/sources.list.d ]; then
        uri="$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' |
            grep -v security | head -n1 || true)"
    fi
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri="$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)"
    fi
    case "$uri" in http://* | https://*) printf '%s' "$uri" ;; esac
}

in_chroot() { # ROOT CMD...: runs a command in ROOT with /proc and /dev, in a private mount namespace
    local root="$1"
    shift
    unshare --mount --fork sh -c 'mount -t proc proc "$0/proc" && mount --rbind /dev "$0/dev" &&
        exec chroot "$0" "$@"' "$root" "$@"
}

build_base() {
    local new="$base.new" mirror
    mirror="$(apt_mirror)"
    say "== debootstrap $suite (minbase) into $new, mirror: ${mirror:-debootstrap default}"
    rm -rf "$new"
    mkdir -p "$cache"
    debootstrap --variant=minbase \
        --include=systemd,systemd-sysv,dbus,sudo,procps,ca-certificates \
        "$suite" "$new" ${mirror:+"$mirror"} >"$cache/debootstrap.log" 2>&1 ||
        { tail -n 30 "$cache/debootstrap.log"; return 1; }
    cp /etc/resolv.conf "$new/etc/resolv.conf"
    # Package lists and the packages the guide installs, downloaded now: the test systems have
    # no network, and `apt-get install` there takes them from apt's own cache like from a mirror.
    in_chroot "$new" apt-get update -q >"$cache/apt.log" 2>&1 &&
        in_chroot "$new" apt-get install -y -q --download-only nginx caddy curl >>"$cache/apt.log" 2>&1 ||
        { tail -n 30 "$cache/apt.log"; return 1; }
    : >"$new/etc/resolv.conf"
    printf '%s\n' "$base_recipe" >"$new/.schulhof-proxy-test-base"
    rm -rf "$base"
    mv "$new" "$base"
}

if [ ! -f "$base/.schulhof-proxy-test-base" ] ||
    [ "$(cat "$base/.schulhof-proxy-test-base")" != "$base_recipe" ] ||
    [ -n "$(find "$base/.schulhof-proxy-test-base" -mtime +14)" ]; then
    build_base
else
    say "== base system: $base (cached)"
fi

# --- the guide's command blocks ---------------------------------------------------------------
guide="$repo/docs/admin/betrieb.md"
blocks="$work/guide"
mkdir -p "$blocks"
# Every ```sh block right after a "<!-- setup-test: WHO [stand-in NAME] -->" line, in order:
# NN.sh (the commands) and NN.tag (WHO and the stand-in), NN.section (the heading above it).
awk -v dir="$blocks" '
    !inside && /^#+ / { section = $0; sub(/^#+ /, "", section) }
    /^<!-- setup-test: .* -->$/ { tag = $0; sub(/^<!-- setup-test: /, "", tag); sub(/ -->$/, "", tag); armed = 1; next }
    armed && /^```sh$/ { n++; file = sprintf("%s/%02d", dir, n); print tag > (file ".tag"); print section > (file ".section"); inside = 1; armed = 0; next }
    inside && /^```$/ { inside = 0; close(file ".sh"); next }
    inside { print > (file ".sh"); next }
    armed && NF { armed = 0 }
' "$guide"
nblocks="$(find "$blocks" -name '*.sh' | wc -l)"
say "== guide: $nblocks marked command blocks in docs/admin/betrieb.md"
if [ "$nblocks" -lt 6 ]; then
    say "FAIL the guide has fewer marked blocks than expected (<!-- setup-test: … --> lost?)"
    say "proxy: 0 passed, 1 failed, 0 skipped"
    exit 1
fi

# --- certificate (self-signed, for the proxies' TLS) --------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3 \
    -subj "/CN=$chat" -addext "subjectAltName=DNS:$chat" \
    -keyout "$work/privkey.pem" -out "$work/fullchain.pem" 2>/dev/null

# A tiny school for the first-login and reset pages (the school's CSV export, see docs/import.md).
cat >"$work/personen.csv" <<'EOF'
ID;Vorname;Nachname;Rolle;Gruppen;Kinder;Einwilligung
L-1;Lea;Lehrer;Lehrkraft;Klasse 5a;;ja
S-1;Sam;Schüler;Schüler;Klasse 5a;;ja
S-2;Tom;Test;Schüler;Klasse 5a;;ja
EOF

# --- one test system ----------------------------------------------------------------------------
run_system() { # PROXY
    local p="$1"
    local dir="$work/$p"
    local root="$dir/root" res="$dir/results" leader="" ns
    mkdir -p "$dir"
    : >"$res"

    say "== fresh Debian $suite for $p: copying the base system"
    cp -a "$base" "$root"

    # Stand-ins for what an admin has on a real server but a test has not (each printed):
    say "stand-in: an admin user 'verwalter' with sudo rights (as the Debian installer creates one)"
    in_chroot "$root" useradd --create-home --shell /bin/bash verwalter
    printf 'verwalter ALL=(ALL:ALL) NOPASSWD: ALL\n' >"$root/etc/sudoers.d/verwalter"
    chmod 0440 "$root/etc/sudoers.d/verwalter"
    say "stand-in: apt-get answers its question with yes (the admin types Y)"
    printf 'APT::Get::Assume-Yes "true";\n' >"$root/etc/apt/apt.conf.d/90schulhof-test"
    say "stand-in: DNS for $chat and the host name in /etc/hosts"
    printf '127.0.0.1\tlocalhost %s\n127.0.1.1\tschulhof-%s\n::1\tlocalhost ip6-localhost\n' \
        "$chat" "$p" >"$root/etc/hosts"
    printf 'schulhof-%s\n' "$p" >"$root/etc/hostname"
    say "stand-in: the test certificate is trusted inside the system (instead of a public CA)"
    install -m 0644 "$work/fullchain.pem" "$root/usr/local/share/ca-certificates/schulhof-test.crt"
    in_chroot "$root" update-ca-certificates >/dev/null 2>&1
    say "stand-in: the repository checkout in /home/verwalter/schulhof (tracked files of deploy/, config/)"
    mkdir -p "$root/home/verwalter/schulhof"
    if git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
        (cd "$repo" && git ls-files -z -- deploy config | tar --null -T - -cf -)
    else
        tar -C "$repo" -cf - deploy config
    fi | tar -C "$root/home/verwalter/schulhof" -xf -
    # Test settings in the example configuration the guide installs: a small per-address login
    # budget (8 attempts, then one every 1000 s) so the per-address check is quick.
    local conf="$root/home/verwalter/schulhof/config/schulhof.example.toml"
    sed -i -e 's/^login_address_burst = .*/login_address_burst = 8.0/' \
        -e 's/^login_address_per_second = .*/login_address_per_second = 0.001/' "$conf"
    if grep -q '^login_address_burst = 8.0$' "$conf" && grep -q '^login_address_per_second = 0.001$' "$conf"; then
        say "test setting: [rate_limits] login_address_burst = 8.0, login_address_per_second = 0.001"
    else
        bad "test settings" "login_address_* keys not found in config/schulhof.example.toml"
    fi
    if [ "$p" = caddy ]; then
        say "stand-in: Caddy uses the test certificate (the Caddyfile's own #tls line) instead of Let's Encrypt"
        local cf="$root/home/verwalter/schulhof/deploy/reverse-proxy/Caddyfile"
        local tls_line
        tls_line="$(grep -E '^\s*#tls /' "$cf" | head -n1 | sed 's/^\s*#//')"
        if [ -z "$tls_line" ]; then
            bad "Caddyfile has the documented '#tls CERT KEY' line"
        else
            sed -i "0,/^\(\s*\)#tls \//s//\1tls \//" "$cf"
            local cert key
            cert="$(awk '{print $2}' <<<"$tls_line")"
            key="$(awk '{print $3}' <<<"$tls_line")"
            install -D -m 0644 "$work/fullchain.pem" "$root$cert"
            install -D -m 0644 "$work/privkey.pem" "$root$key"
        fi
    fi
    in_chroot "$root" chown -R verwalter:verwalter /home/verwalter

    # Boot with systemd, own network (loopback only).
    say "== booting the $p system (systemd-nspawn, private network)"
    systemd-nspawn -D "$root" -b --private-network --register=no --keep-unit -q \
        --machine="schulhof-$p" </dev/null >"$dir/console.log" 2>&1 &
    ns=$!
    echo "$ns" >"$dir/nspawn.pid"
    for _ in $(seq 1 120); do
        leader="$(pgrep -P "$ns" -x systemd | head -n1 || true)"
        [ -n "$leader" ] && break
        kill -0 "$ns" 2>/dev/null || break
        sleep 0.5
    done
    if [ -z "$leader" ]; then
        bad "boot" "no systemd in the container: $(tail -n 20 "$dir/console.log")"
        return 0
    fi
    local state
    state="$(timeout 90 nsenter -t "$leader" -a systemctl is-system-running --wait 2>&1 || true)"
    case "$state" in
    running) ok "boot (systemd: $state)" ;;
    degraded) ok "boot (systemd: degraded; failed units: $(nsenter -t "$leader" -a systemctl --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' '))" ;;
    *) bad "boot" "systemd state: $state"; return 0 ;;
    esac
    sys() { nsenter -t "$leader" -a "$@"; }
    local base_url="https://$chat"

    # --- the guide, step by step ---
    local f tag who standin n section guide_ok=1
    for f in "$blocks"/*.sh; do
        n="$(basename "$f" .sh)"
        tag="$(cat "$blocks/$n.tag")"
        section="$(cat "$blocks/$n.section")"
        who="${tag%% *}"
        standin=""
        case "$tag" in *"stand-in "*) standin="${tag##*stand-in }" ;; esac
        [ "$who" = all ] || [ "$who" = "$p" ] || continue
        if [ -n "$standin" ]; then
            case "$standin" in
            build)
                say "guide block $n ($section): stand-in: the prebuilt $bin instead of:"
                sed 's/^/    | /' "$f"
                install -D -m 0755 "$bin" "$root/home/verwalter/schulhof/target/release/schulhof"
                sys chown -R verwalter:verwalter /home/verwalter/schulhof/target
                ;;
            certificate)
                say "guide block $n ($section): stand-in: the self-signed test certificate at certbot's paths instead of:"
                sed 's/^/    | /' "$f"
                install -D -m 0644 "$work/fullchain.pem" "$root/etc/letsencrypt/live/$chat/fullchain.pem"
                install -D -m 0600 "$work/privkey.pem" "$root/etc/letsencrypt/live/$chat/privkey.pem"
                ;;
            *)
                bad "guide block $n ($section)" "unknown stand-in '$standin'"
                guide_ok=0
                ;;
            esac
            continue
        fi
        say "guide block $n ($section), as verwalter in ~/schulhof:"
        install -m 0644 "$f" "$root/home/verwalter/guide-$n.sh"
        if sys runuser -l verwalter -c "cd ~/schulhof && DEBIAN_FRONTEND=noninteractive PS4='\$ ' bash -e -o pipefail -x ~/guide-$n.sh" \
            </dev/null >"$dir/guide-$n.log" 2>&1; then
            quiet_apt <"$dir/guide-$n.log" | sed 's/^/    /' | cut -c1-200 | tail -n 40
            ok "guide block $n ($section)"
        else
            quiet_apt <"$dir/guide-$n.log" | sed 's/^/    /' | cut -c1-300 | tail -n 60
            bad "guide block $n ($section)" "failed, see the output above"
            guide_ok=0
            break
        fi
    done
    if [ "$guide_ok" -ne 1 ]; then
        # The remaining blocks are skipped; the checks below still tell what works.
        sys journalctl -u schulhof --no-pager -n 30 2>/dev/null | sed 's/^/    journal: /' || true
    fi

    # --- the systemd unit as installed by the guide ---
    t_verify() {
        local out
        out="$(sys systemd-analyze verify /etc/systemd/system/schulhof.service 2>&1)" || { echo "$out"; return 1; }
        [ -z "$out" ] || { echo "warnings: $out"; return 1; }
    }
    check "systemd-analyze verify schulhof.service: no errors, no warnings" t_verify
    t_active() {
        sys systemctl is-active --quiet schulhof || { sys systemctl status schulhof --no-pager 2>&1 | tail -n 15; return 1; }
        sys systemctl reload schulhof || return 1
        sleep 1
        sys systemctl is-active --quiet schulhof || { echo "inactive after reload"; return 1; }
        sys journalctl -u schulhof --no-pager | grep -q 'listening on 127.0.0.1:8008' || { echo "no 'listening' line in the journal"; return 1; }
    }
    check "schulhof.service active with the shipped hardening, survives systemctl reload" t_active

    # --- test data with the CLI, as the guide runs it ---
    local admin_cli="runuser -u schulhof -- env -C /var/lib/schulhof /usr/local/bin/schulhof --config /etc/schulhof/schulhof.toml"
    install -m 0644 "$work/personen.csv" "$root/var/lib/schulhof/personen.csv"
    if sys $admin_cli import /var/lib/schulhof/personen.csv --letters /var/lib/schulhof/briefe-test >"$dir/import.log" 2>&1 &&
        sys $admin_cli user add pruefer --password 'Pruef-Konto-2026!' --display-name Pruefer >>"$dir/import.log" 2>&1 &&
        sys $admin_cli user add pruefer.sync --password 'Pruef-Konto-2026!' --display-name Sync >>"$dir/import.log" 2>&1; then
        ok "test data: import with access letters, user add"
    else
        bad "test data" "$(tail -n 20 "$dir/import.log")"
        return 0
    fi
    # Username -> start code from the letters' CSV (";", UTF-8 with BOM).
    python3 - "$root/var/lib/schulhof/briefe-test/zugangsbriefe.csv" >"$dir/codes" <<'EOF'
import csv, sys
with open(sys.argv[1], encoding="utf-8-sig") as f:
    for row in csv.DictReader(f, delimiter=";"):
        print(row["Benutzername"], row["Startcode"])
EOF

    # --- checks through the proxy ---
    # The long-poll first, it runs beside the other checks.
    t_sync_start() {
        local code
        code="$(login pruefer.sync 'Pruef-Konto-2026!' "$dir/sync-login.json")"
        [ "$code" = 200 ] || { echo "login $code: $(cat "$dir/sync-login.json")"; return 1; }
        json "$dir/sync-login.json" access_token >"$dir/sync-token"
        code="$(ccurl -o "$dir/sync0.json" -w '%{http_code}' -H "Authorization: Bearer $(cat "$dir/sync-token")" \
            "$base_url/_matrix/client/v3/sync?timeout=0")"
        [ "$code" = 200 ] || { echo "initial sync $code"; return 1; }
        json "$dir/sync0.json" next_batch >"$dir/sync-since"
    }
    local sync_pid=""
    if out="$(t_sync_start 2>&1)"; then
        ccurl -o "$dir/sync1.json" -w '%{http_code} %{time_total}' \
            -H "Authorization: Bearer $(cat "$dir/sync-token")" \
            "$base_url/_matrix/client/v3/sync?since=$(cat "$dir/sync-since")&timeout=35000" \
            >"$dir/sync-result" 2>&1 &
        sync_pid=$!
    else
        bad "/sync long-poll held 35 s" "$out"
    fi

    check "GET /_matrix/client/versions" t_versions
    check "GET /.well-known/matrix/client (base_url, one CORS header)" t_well_known

    t_preflight() {
        local code
        code="$(ccurl -X OPTIONS -D "$dir/pre.headers" -o /dev/null -w '%{http_code}' \
            -H 'Origin: https://element.example' -H 'Access-Control-Request-Method: POST' \
            -H 'Access-Control-Request-Headers: authorization, content-type' \
            "$base_url/_matrix/client/v3/login")"
        [ "$code" = 204 ] || [ "$code" = 200 ] || { echo "status $code"; return 1; }
        [ "$(grep -ci '^access-control-allow-origin: \*' "$dir/pre.headers" || true)" = 1 ] || { cat "$dir/pre.headers"; return 1; }
        grep -qi '^access-control-allow-methods:.*POST' "$dir/pre.headers" || { cat "$dir/pre.headers"; return 1; }
        grep -qi '^access-control-allow-headers:.*authorization' "$dir/pre.headers" || { cat "$dir/pre.headers"; return 1; }
    }
    check "CORS preflight OPTIONS /_matrix/client/v3/login" t_preflight

    t_redirect() {
        local out
        out="$(ccurl -o /dev/null -w '%{http_code} %{redirect_url}' "http://$chat/erstanmeldung")"
        case "$out" in 30[1278]" https://$chat/erstanmeldung") ;; *) echo "$out"; return 1 ;; esac
    }
    check "http:// redirects to https://" t_redirect

    t_unknown() {
        local code
        code="$(ccurl -o "$dir/unknown.json" -w '%{http_code}' "$base_url/gibt-es-nicht")"
        [ "$code" = 404 ] || { echo "status $code"; return 1; }
        grep -q '"M_UNRECOGNIZED"' "$dir/unknown.json" || { echo "not Schulhof's answer: $(head -c 200 "$dir/unknown.json")"; return 1; }
    }
    check "unknown paths reach Schulhof (its own JSON 404): nothing is filtered by a path list" t_unknown

    check "POST /_matrix/client/v3/login" t_login

    t_media() {
        local code uri server id
        [ -s "$dir/token" ] || { echo "needs the login"; return 1; }
        head -c $((20 * 1024 * 1024)) /dev/urandom >"$dir/upload.bin"
        code="$(ccurl -o "$dir/upload.json" -w '%{http_code}' -X POST \
            -H "Authorization: Bearer $(cat "$dir/token")" -H 'Content-Type: application/octet-stream' \
            --data-binary "@$dir/upload.bin" "$base_url/_matrix/media/v3/upload?filename=test.bin")"
        [ "$code" = 200 ] || { echo "upload status $code: $(head -c 300 "$dir/upload.json")"; return 1; }
        uri="$(json "$dir/upload.json" content_uri)"
        server="${uri#mxc://}"; id="${server#*/}"; server="${server%%/*}"
        code="$(ccurl -o "$dir/download.bin" -w '%{http_code}' -H "Authorization: Bearer $(cat "$dir/token")" \
            "$base_url/_matrix/client/v1/media/download/$server/$id")"
        [ "$code" = 200 ] || { echo "download status $code"; return 1; }
        cmp -s "$dir/upload.bin" "$dir/download.bin" || { echo "downloaded file differs ($(stat -c %s "$dir/download.bin") bytes)"; return 1; }
        rm -f "$dir/upload.bin" "$dir/download.bin"
    }
    check "20 MiB upload and download, byte for byte" t_media

    # First login with a start code from the access letter.
    local student code_student
    student="$(awk '$1 != "lea.lehrer" {print $1; exit}' "$dir/codes")"
    code_student="$(awk -v u="$student" '$1 == u {print $2}' "$dir/codes")"
    check "GET /erstanmeldung renders the form" t_first_login_page
    t_first_login_post() {
        local code csrf
        [ -n "$student" ] && [ -n "$code_student" ] || { echo "no start code in the letters"; return 1; }
        csrf="$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$dir/fl.html" | head -n1)"
        [ -n "$csrf" ] || { echo "no CSRF token"; return 1; }
        code="$(ccurl -b "$dir/fl.cookies" -o "$dir/fl-post.html" -w '%{http_code}' \
            --data-urlencode "csrf=$csrf" --data-urlencode "username=$student" \
            --data-urlencode "code=$code_student" --data-urlencode 'password=Mein-Neues-Pw-7!' \
            --data-urlencode 'password2=Mein-Neues-Pw-7!' "$base_url/erstanmeldung")"
        [ "$code" = 200 ] || { echo "status $code: $(grep -o 'class="error[^<]*<[^<]*' "$dir/fl-post.html" | head -n3)"; return 1; }
        grep -q 'Dein Passwort ist gesetzt' "$dir/fl-post.html" || { echo "no success text"; return 1; }
        code="$(login "$student" 'Mein-Neues-Pw-7!' "$dir/fl-login.json")"
        [ "$code" = 200 ] || { echo "login with the new password: $code $(cat "$dir/fl-login.json")"; return 1; }
    }
    check "POST /erstanmeldung accepts the start code, then the new password logs in" t_first_login_post

    # Password reset by an admin (the account from the guide would do; a test admin is used).
    t_reset() {
        local code csrf target
        sys $admin_cli user add pruef.admin --password 'Admin-Pruef-2026!' --display-name Admin --admin >/dev/null 2>&1 ||
            { echo "user add --admin failed"; return 1; }
        code="$(ccurl -c "$dir/rs.cookies" -o "$dir/rs.html" -w '%{http_code}' "$base_url/passwort-zuruecksetzen")"
        [ "$code" = 200 ] || { echo "GET status $code"; return 1; }
        csrf="$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$dir/rs.html" | head -n1)"
        code="$(ccurl -b "$dir/rs.cookies" -c "$dir/rs.cookies" -o /dev/null -w '%{http_code}' \
            --data-urlencode "csrf=$csrf" --data-urlencode step=login --data-urlencode username=pruef.admin \
            --data-urlencode 'password=Admin-Pruef-2026!' "$base_url/passwort-zuruecksetzen")"
        [ "$code" = 303 ] || { echo "login step status $code"; return 1; }
        code="$(ccurl -b "$dir/rs.cookies" -c "$dir/rs.cookies" -o "$dir/rs2.html" -w '%{http_code}' "$base_url/passwort-zuruecksetzen")"
        [ "$code" = 200 ] && grep -q 'name="target"' "$dir/rs2.html" || { echo "no reset form after login ($code)"; return 1; }
        csrf="$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$dir/rs2.html" | head -n1)"
        target="$(awk -v s="$student" '$1 != "lea.lehrer" && $1 != s {print $1; exit}' "$dir/codes")"
        code="$(ccurl -b "$dir/rs.cookies" -o "$dir/rs3.html" -w '%{http_code}' \
            --data-urlencode "csrf=$csrf" --data-urlencode step=reset --data-urlencode "target=$target" \
            "$base_url/passwort-zuruecksetzen")"
        [ "$code" = 200 ] || { echo "reset step status $code"; return 1; }
        grep -q 'Startcode' "$dir/rs3.html" || { echo "no access letter in the answer"; return 1; }
        grep -q '/passwort-zuruecksetzen/drucken.js' "$dir/rs3.html" || { echo "letter page without its print script"; return 1; }
        code="$(ccurl -D "$dir/js.headers" -o /dev/null -w '%{http_code}' "$base_url/passwort-zuruecksetzen/drucken.js")"
        [ "$code" = 200 ] && grep -qi '^content-type: text/javascript' "$dir/js.headers" || { echo "drucken.js: $code"; return 1; }
    }
    check "/passwort-zuruecksetzen: admin login, reset, new access letter, print script" t_reset

    # Per-address login limits: clients A, B and C on different loopback addresses reach Schulhof
    # through the proxy, D straight on 127.0.0.1:8008.
    refused() { # WHO STATUS WHY USER [CURL ARGS...]: a wrong password for USER is answered STATUS
        local who="$1" want="$2" why="$3" user="$4" code errcode
        shift 4
        case "$want" in 403) errcode=M_FORBIDDEN ;; 429) errcode=M_LIMIT_EXCEEDED ;; *) return 2 ;; esac
        code="$(login "$user" falsch "$dir/rl.json" "$@")"
        [ "$code" = "$want" ] && grep -q "\"$errcode\"" "$dir/rl.json" ||
            { echo "client $who ($user): $code (expected $want $errcode: $why) $(head -c 300 "$dir/rl.json")"; return 1; }
    }
    t_rate_limits() {
        local i
        for i in 1 2 3 4 5 6 7 8; do
            refused A 403 "within its burst of 8" "niemand.a$i" --interface 127.0.0.2 || return 1
        done
        refused A 429 "burst of 8 used up" niemand.a9 --interface 127.0.0.2 || return 1
        refused B 403 "its own budget" niemand.b1 --interface 127.0.0.3 || return 1
        refused A 429 "the proxy replaces a forged X-Forwarded-For" niemand.a10 --interface 127.0.0.2 \
            -H 'X-Forwarded-For: 127.0.0.99' || return 1
        refused C 403 "claims A's address, counted as itself" niemand.c1 --interface 127.0.0.4 \
            -H 'X-Forwarded-For: 127.0.0.2' || return 1
        # Past the proxy: 127.0.0.6 is not in trusted_proxies, so Schulhof must not believe its
        # header (through the proxy the header is replaced, which hides whether Schulhof checks).
        local base_url=http://127.0.0.1:8008
        refused D 403 "X-Forwarded-For is believed only from trusted_proxies" niemand.d1 \
            --interface 127.0.0.6 -H 'X-Forwarded-For: 127.0.0.2'
    }
    check "per-address login limits: A limited after 8, B separate, forged X-Forwarded-For ignored, believed only from trusted_proxies" t_rate_limits

    # The guide's own admin account from the set-up chapter logs in through the proxy.
    t_guide_admin() {
        local pw code
        pw="$(grep -ho "user add admin --password '[^']*'" "$blocks"/*.sh | head -n1 | sed "s/.*--password '\(.*\)'/\1/")"
        [ -n "$pw" ] || { echo "no 'user add admin' in the guide's blocks"; return 1; }
        code="$(login admin "$pw" "$dir/admin-login.json" --interface 127.0.0.5)"
        [ "$code" = 200 ] || { echo "status $code: $(cat "$dir/admin-login.json")"; return 1; }
        json "$dir/admin-login.json" access_token >/dev/null || { echo "no access token: $(cat "$dir/admin-login.json")"; return 1; }
    }
    check "the guide's admin account logs in through the proxy" t_guide_admin

    if [ -n "$sync_pid" ]; then
        local result=""
        wait "$sync_pid" || true
        result="$(cat "$dir/sync-result" 2>/dev/null || true)"
        local status="${result%% *}" secs="${result##* }"
        if [ "$status" = 200 ] && python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 34.0 else 1)' "$secs" 2>/dev/null &&
            json "$dir/sync1.json" next_batch >/dev/null 2>&1; then
            ok "/sync long-poll held 35 s" "${secs}s, 200"
        else
            bad "/sync long-poll held 35 s" "got '$result', body: $(head -c 200 "$dir/sync1.json" 2>/dev/null)"
        fi
    fi

    if [ -n "$(sys journalctl -u schulhof --no-pager -p err 2>/dev/null | grep -v '^-- ' || true)" ]; then
        sys journalctl -u schulhof --no-pager -p err | tail -n 10 | sed 's/^/    journal: /'
    fi
    local t0=$SECONDS
    stop_system "$dir"
    say "== $p done (powered off in $((SECONDS - t0)) s)"
}

# --- container file ---------------------------------------------------------------------------
container_test() {
    local p=container res="$work/container.results" engine="" why=""
    : >"$res"
    for e in podman docker; do
        if command -v "$e" >/dev/null 2>&1; then
            if timeout 20 "$e" info >/dev/null 2>&1; then engine="$e"; break; fi
            why="${why:+$why; }$e: installed, but '$e info' fails (no daemon or no runtime)"
        else
            why="${why:+$why; }$e: not installed"
        fi
    done
    if [ -z "$engine" ]; then
        record "$res" SKIP "container: build and run deploy/container/Containerfile" "no working container engine on this machine ($why)"
        return 0
    fi
    local img
    for img in $(awk '/^FROM /{print $2}' "$repo/deploy/container/Containerfile"); do
        if ! "$engine" image inspect "$img" >/dev/null 2>&1 && ! timeout 300 "$engine" pull -q "$img" >/dev/null 2>&1; then
            record "$res" SKIP "container: build and run deploy/container/Containerfile" "$engine works, but the base image $img cannot be pulled here (no registry access)"
            return 0
        fi
    done
    local tag="localhost/schulhof-proxy-test:latest" name="schulhof-proxy-test-$$" port=18008 dir="$work/container"
    mkdir -p "$dir"
    say "== $engine build -f deploy/container/Containerfile (a release build, takes a while)"
    local ignore=()
    [ "$engine" = podman ] && ignore=(--ignorefile "$repo/deploy/container/Containerfile.dockerignore")
    if ! "$engine" build -f "$repo/deploy/container/Containerfile" "${ignore[@]}" -t "$tag" "$repo" >"$dir/build.log" 2>&1; then
        tail -n 30 "$dir/build.log"
        bad "$engine build" "see the build output above"
        return 0
    fi
    ok "$engine build"
    # The configuration as deploy/container/README.md says.
    sed -e 's|^listen = .*|listen = "0.0.0.0:8008"|' \
        -e 's|^database_url = .*|database_url = "sqlite:///var/lib/schulhof/schulhof.db"|' \
        -e 's|^media_path = .*|media_path = "/var/lib/schulhof/media"|' \
        -e 's|^public_baseurl = .*|public_baseurl = "http://127.0.0.1:'"$port"'/"|' \
        "$repo/config/schulhof.example.toml" >"$dir/schulhof.toml"
    chmod 0644 "$dir/schulhof.toml"
    container_cleanup="$engine rm -f $name >/dev/null 2>&1; $engine volume rm -f $name >/dev/null 2>&1; $engine rmi -f $tag >/dev/null 2>&1"
    "$engine" volume create "$name" >/dev/null
    "$engine" run -d --name "$name" -p "127.0.0.1:$port:8008" -v "$name:/var/lib/schulhof" \
        -v "$dir/schulhof.toml:/etc/schulhof/schulhof.toml:ro" "$tag" >/dev/null
    local base_url="http://127.0.0.1:$port" code=""
    for _ in $(seq 1 60); do
        code="$(curl -s -o /dev/null -w '%{http_code}' "$base_url/_matrix/client/versions" || true)"
        [ "$code" = 200 ] && break
        sleep 1
    done
    if [ "$code" != 200 ]; then
        "$engine" logs "$name" 2>&1 | tail -n 20
        bad "GET /_matrix/client/versions" "no answer 200 within 60 s (last status $code)"
        return 0
    fi
    # The checks the test systems run through the proxy, here straight at the container.
    check "GET /_matrix/client/versions" t_versions
    check "GET /.well-known/matrix/client (base_url, one CORS header)" t_well_known
    check "GET /erstanmeldung renders the form" t_first_login_page
    t_reset_page() {
        local code
        code="$(ccurl -o "$dir/rs.html" -w '%{http_code}' "$base_url/passwort-zuruecksetzen")"
        [ "$code" = 200 ] || { echo "status $code"; return 1; }
        grep -q 'name="step" value="login"' "$dir/rs.html" && grep -q 'name="password"' "$dir/rs.html" ||
            { echo "no login form"; return 1; }
    }
    check "GET /passwort-zuruecksetzen renders the login form" t_reset_page
    if "$engine" exec "$name" schulhof --config /etc/schulhof/schulhof.toml user add pruefer \
        --password 'Pruef-Konto-2026!' --display-name Pruefer >/dev/null 2>&1; then
        check "user add (exec), then POST /_matrix/client/v3/login" t_login
    else
        bad "user add via $engine exec"
    fi
    eval "$container_cleanup" || true
    container_cleanup=""
}

# --- run ----------------------------------------------------------------------------------------
for p in $systems; do
    (run_system "$p") > >(sed -u "s/^/[$p] /") 2>&1 &
    bg_pids+=($!)
done
container_test > >(sed -u 's/^/[container] /') 2>&1
for pid in "${bg_pids[@]}"; do wait "$pid" || true; done
bg_pids=()
sleep 0.2

cat "$work"/*/results "$work/container.results" >"$results" 2>/dev/null || true
pass="$(grep -c '^PASS ' "$results" || true)"
fail="$(grep -c '^FAIL ' "$results" || true)"
skip="$(grep -c '^SKIP ' "$results" || true)"
for p in $systems; do
    # A system that stopped early (boot, guide) must not look like success.
    grep -q "^PASS $p: /sync long-poll held 35 s" "$results" || { grep -q "^FAIL $p: " "$results" || fail=$((fail + 1)); }
done

say ""
say "== summary ($((SECONDS - started)) s)"
sed 's/^/  /' "$results"
summary="proxy: $pass passed, $fail failed, $skip skipped" # printed last, by cleanup
[ "$fail" -eq 0 ]
