# Shared by benches/endurance/chaos.sh and soak.sh (sourced, not run): process
# bookkeeping, binaries, the simulator, the callback receiver and gateways.
# Every process is started with setsid and its pid recorded; cleanup stops exactly those
# pids (SIGTERM, then SIGKILL after 5 s) and drops the PostgreSQL database it created.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/benches/endurance"
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}

log() { printf '\033[1m[%s %s]\033[0m %s\n' "$SCRIPT_NAME" "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 2; }

PIDS=()
stop_pid() {
  local pid=$1
  [[ "$pid" =~ ^[0-9]+$ ]] && [ "$pid" -gt 1 ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  builtin kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  builtin kill -KILL "$pid" 2>/dev/null || true
}
# forget_pid PID: drops a pid that was killed and reaped from PIDS. The kernel reuses pids
# (pid_max is 32768 here): cleanup must never signal a pid that now names another
# process — a stale entry once stopped another job's compiler and simulator.
forget_pid() {
  local gone=$1 keep=() pid
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && [ "$pid" != "$gone" ] && keep+=("$pid"); done
  PIDS=("${keep[@]:-}")
}
PG_DB=""
cleanup() {
  local rc=$?
  local pid
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && stop_pid "$pid"; done
  if [ -n "$PG_DB" ] && [ "${KEEP_DB:-0}" != 1 ]; then
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1 || true
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start LOGFILE CMD...: runs CMD in its own session; STARTED = its pid (setsid execs in
# place, so this is the server's own pid, the one kill -9 must hit).
STARTED=""
start() {
  local logfile=$1; shift
  setsid "$@" >>"$logfile" 2>&1 </dev/null &
  STARTED=$!
  PIDS+=("$STARTED")
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL SECONDS PID: until anything answers over HTTP; fails early when PID exits.
wait_http() {
  local url=$1 limit=$2 pid=$3 t=0
  while ! curl -s -o /dev/null --max-time 2 "$url"; do
    sleep 0.05; t=$((t + 1))
    [ $t -lt $((limit * 20)) ] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
  done
}

# rss_kib PID: resident set size of PID (VmRSS of /proc/PID/status).
rss_kib() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# binaries: GENMUX (GENMUX_BIN or a release build) and DRIVER (DRIVER_BIN or a release
# build) in a target dir of their own, so a run never waits on another build's lock.
binaries() {
  local need_driver=$1
  export CARGO_TARGET_DIR="${ENDURANCE_TARGET_DIR:-$ROOT/target/endurance-build}"
  GENMUX=${GENMUX_BIN:-}
  DRIVER=${DRIVER_BIN:-}
  local pkgs=()
  [ -n "$GENMUX" ] || pkgs+=(-p genmux-cli)
  [ "$need_driver" = 1 ] && [ -z "$DRIVER" ] && pkgs+=(-p genmux-bench-driver)
  if [ ${#pkgs[@]} -gt 0 ]; then
    log "building ${pkgs[*]} (release, $CARGO_TARGET_DIR)"
    (cd "$ROOT" && cargo build --release -q "${pkgs[@]}") || die "cargo build failed"
  fi
  GENMUX=${GENMUX:-$CARGO_TARGET_DIR/release/genmux}
  DRIVER=${DRIVER:-$CARGO_TARGET_DIR/release/gateway-bench}
  [ -x "$GENMUX" ] || die "no genmux binary at $GENMUX"
  if [ "$need_driver" = 1 ]; then [ -x "$DRIVER" ] || die "no driver binary at $DRIVER"; fi
  GENMUX_VERSION=$("$GENMUX" --version 2>/dev/null | head -1)
}

# start_sim SPEED ERROR_RATE FAILURE_RATE LATENCY_MS: the unified simulator (the upstream
# of every gateway, as benches/gateway/run.sh uses it) with injected faults; sets SIM_URL,
# SIM_KEY. Its account task limit is lifted: the run measures the gateway.
start_sim() {
  local port; port=$(free_port)
  start "$OUT/sim.log" "$GENMUX" --json sim --listen "unified=127.0.0.1:$port" --seed "${SEED:-1}" \
    --speed "$1" --error-rate "$2" --failure-rate "$3" --latency-ms "$4" --concurrency 1000000000
  SIM_PID=$STARTED
  local t=0
  until SIM_URL=$(python3 - "$OUT/sim.log" <<'PY'
import json, sys
for line in open(sys.argv[1], errors="replace"):
    try:
        doc = json.loads(line)
    except ValueError:
        continue
    if isinstance(doc, dict) and "unified" in doc:
        print(doc["unified"]["baseUrl"], doc["unified"]["apiKey"])
        sys.exit(0)
sys.exit(1)
PY
  ); do
    sleep 0.1; t=$((t + 1)); [ $t -lt 300 ] || die "genmux sim printed no JSON line (see $OUT/sim.log)"
    kill -0 "$SIM_PID" 2>/dev/null || die "genmux sim exited (see $OUT/sim.log)"
  done
  SIM_KEY=${SIM_URL#* }
  SIM_URL=${SIM_URL% *}
  log "simulator (pid $SIM_PID) at $SIM_URL: speed $1, error rate $2, failure rate $3, latency $4 ms"
}

# start_receiver: the callback receiver; sets HOOK_URL and HOOK_LOG.
start_receiver() {
  HOOK_LOG="$OUT/callbacks.jsonl"
  : >"$HOOK_LOG"
  local port; port=$(free_port)
  start "$OUT/receiver.log" python3 "$HERE/receiver.py" --listen "127.0.0.1:$port" --log "$HOOK_LOG"
  HOOK_PID=$STARTED
  HOOK_URL="http://127.0.0.1:$port/hook"
  local t=0
  until curl -s -o /dev/null -X POST --max-time 2 -d '{}' "http://127.0.0.1:$port/ready"; do
    sleep 0.1; t=$((t + 1)); [ $t -lt 100 ] || die "receiver did not start (see $OUT/receiver.log)"
  done
  : >"$HOOK_LOG" # the readiness probe is not a callback
}

# write_config FILE: the gateways' shared config. One webhook signing key for every
# gateway (each signs callbacks of the same accounts), loopback callbackUrls admitted (the
# receiver is local), and the operator deadline of unknown submissions to the unified
# upstream (which cannot be looked up by our id) shortened to UNKNOWN_DEADLINE s so a run
# ends in minutes; the default is 24 h.
write_config() {
  cat >"$1" <<EOT
allow_loopback_callbacks = true
unknown_deadline_secs = ${UNKNOWN_DEADLINE:-120}
webhook_signing_key = "$(python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')"
EOT
}

# GW_PORT[i], GW_PID[i], GW_DIR[i]; start_gateway I [extra serve args]: starts (or
# restarts, same port and data dir) gateway I and waits until it answers.
declare -a GW_PORT GW_PID GW_DIR
start_gateway() {
  local i=$1; shift
  [ -n "${GW_PORT[$i]:-}" ] || GW_PORT[$i]=$(free_port)
  [ -n "${GW_DIR[$i]:-}" ] || { GW_DIR[$i]="$OUT/gw$i"; mkdir -p "${GW_DIR[$i]}"; }
  start "$OUT/gw$i.log" env MIDSYNC_BASE_URL="$SIM_URL" MIDSYNC_API_KEY="$SIM_KEY" \
    "$GENMUX" serve --config "$OUT/genmux.toml" --listen "127.0.0.1:${GW_PORT[$i]}" \
    --data-dir "${GW_DIR[$i]}" --bootstrap-key-file "${GW_DIR[$i]}/admin.key" \
    --starter-points 1000000000000 --log-format json "$@"
  GW_PID[$i]=$STARTED
  wait_http "http://127.0.0.1:${GW_PORT[$i]}/healthz" 60 "${GW_PID[$i]}" ||
    die "gateway $i does not answer (see $OUT/gw$i.log)"
}

gateway_urls() {
  local i urls=()
  for i in "${!GW_PORT[@]}"; do urls+=("http://127.0.0.1:${GW_PORT[$i]}"); done
  (IFS=,; echo "${urls[*]}")
}

# backend_args: serve flags and checker flags of BACKEND (sqlite | postgres); creates the
# PostgreSQL database.
backend_setup() {
  case "$BACKEND" in
    sqlite)
      SERVE_DB=()
      CHECK_DB=(--sqlite "$OUT/gw0/genmux.db")
      ;;
    postgres)
      command -v psql >/dev/null || die "psql is needed for BACKEND=postgres (apt-get install postgresql-client)"
      PG_DB="genmux_${SCRIPT_NAME}_$$"
      psql "$PG_URL/postgres" -qc "CREATE DATABASE $PG_DB" >/dev/null || die "cannot create database $PG_DB on $PG_URL"
      SERVE_DB=(--database-url "$PG_URL/$PG_DB")
      CHECK_DB=(--postgres "$PG_URL/$PG_DB")
      ;;
    *) die "BACKEND=$BACKEND: allowed are sqlite, postgres" ;;
  esac
}
