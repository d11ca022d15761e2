# Sourced by the scripts that run a throw-away Schulhof server (schulhof-run.sh,
# hot-functions.sh): a fresh data directory with its configuration, and waiting for the server.

# new_data_dir DIR SERVER_NAME PORT: recreates DIR with a configuration for a server named
# SERVER_NAME on 127.0.0.1:PORT (SQLite in DIR, rate limits off).
new_data_dir() {
    local dir=$1 name=$2 port=$3
    rm -rf "$dir"
    mkdir -p "$dir"
    cat > "$dir/schulhof.toml" <<TOML
server_name = "$name"
listen = "127.0.0.1:$port"
database_url = "sqlite://$dir/schulhof.db"
media_path = "$dir/media"
public_baseurl = "http://127.0.0.1:$port/"

[rate_limits]
enabled = false

[accounts]
secret_key_file = "$dir/schulhof.key"
TOML
}

# wait_for_server URL TRIES: polls URL's /versions every 0.1 s, at most TRIES times.
wait_for_server() {
    for _ in $(seq 1 "$2"); do
        curl -sf "$1/_matrix/client/versions" >/dev/null && return 0
        sleep 0.1
    done
    echo "no server at $1" >&2
    return 1
}

# stop_server_on_exit PID: stops the server when the script ends and waits for it, so that a
# run started next cannot reach it on the same port.
stop_server_on_exit() {
    # shellcheck disable=SC2064 # the PID is meant to be expanded now
    trap "kill $1 2>/dev/null || true; wait $1 2>/dev/null || true" EXIT
}
