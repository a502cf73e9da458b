#!/usr/bin/env bash
# V4 (design/RELIABILITY.md "Input"): schemathesis against the gateway's own /openapi.json.
# Builds `genmux`, starts `genmux serve` in sandbox mode on a free loopback port with a
# scratch data directory, runs schemathesis (pinned, in a venv under target/) with the
# bootstrap admin key as Bearer auth and every check on (schemathesis 4's default; see
# scripts/schemathesis.toml for the one check turned off on four operations), then stops
# that server.
#
# Usage: scripts/schemathesis.sh [EXAMPLES_PER_OPERATION] [extra schemathesis args…]
#        GENMUX_BIN=path/to/genmux scripts/schemathesis.sh …   (test that binary, no build)
# Exit status: schemathesis's (0 = no failures).
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
EXAMPLES="${1:-50}"
shift || true
WORK=target/schemathesis
VENV="$WORK/venv"

mkdir -p "$WORK"
if [ ! -x "$VENV/bin/schemathesis" ] ||
    ! "$VENV/bin/schemathesis" --version | grep -q "$SCHEMATHESIS_VERSION"; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

if [ -n "${GENMUX_BIN:-}" ]; then
    GENMUX="$GENMUX_BIN"
else
    cargo build --quiet -p genmux-cli
    GENMUX="${CARGO_TARGET_DIR:-target}/debug/genmux"
fi

DATA="$(mktemp -d "$PWD/$WORK/data.XXXXXX")"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
BASE="http://127.0.0.1:$PORT"

# Points enough for every generated /generate: a 402 would fail the positive-data check.
# A fast sandbox clock: tasks finish at once, so the simulated Kling account's limit of 5
# tasks in flight is never reached (503 from the gateway, correctly, if it were).
"$GENMUX" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" \
    --bootstrap-key-file "$DATA/key" --sandbox --sandbox-speed 100000 \
    --starter-points 1000000000000000 \
    >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
stop_server() {
    # Only the process this script started; SIGTERM lets it drain and exit.
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$DATA"
}
trap stop_server EXIT

for _ in $(seq 1 100); do
    if [ -s "$DATA/key" ] && curl -fsS "$BASE/openapi.json" >/dev/null 2>&1; then
        break
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "genmux serve exited; its log:" >&2
        cat "$WORK/server.log" >&2
        exit 1
    fi
    sleep 0.2
done
KEY="$(tr -d '[:space:]' <"$DATA/key")"

# Run from $WORK so schemathesis's example database and reports stay under target/.
set +e
(
    cd "$WORK" &&
        PYTHONPATH="$OLDPWD/scripts${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=schemathesis_hooks \
        venv/bin/schemathesis --config-file ../../scripts/schemathesis.toml \
            run "$BASE/openapi.json" \
            --header "Authorization: Bearer $KEY" \
            --max-examples "$EXAMPLES" \
            --workers 1 \
            --request-timeout 10 \
            --generation-database none \
            --no-color \
            "$@"
)
STATUS=$?
set -e
echo "schemathesis exit status: $STATUS (server log: $WORK/server.log)"
exit "$STATUS"
