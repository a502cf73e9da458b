#!/usr/bin/env bash
# Gateway benchmark (issue 8): genmux's added latency and throughput beside LiteLLM and
# Portkey, measured the same way on this machine. One command:
#
#   bash benches/gateway/run.sh            # full run (20 s per throughput point)
#   BENCH_QUICK=1 bash benches/gateway/run.sh   # smoke run (3 s points, 1k/10k scale)
#
# What it does, in order: installs missing peers into target/bench-peers (LiteLLM proxy
# from PyPI in a venv, Portkey's gateway from npm, nginx/wrk from Debian), builds genmux
# and the load driver in release, then starts each target ALONE on 127.0.0.1, measures it
# with benches/gateway/driver (sequential 1-connection latency, then 32 connections for
# BENCH_DURATION s), stops it, and finally prints one table and writes
# target/bench-gateway/results.json. Every process it starts is stopped on exit (trap).
#
# Environment knobs (all optional):
#   BENCH_QUICK=1            short runs
#   BENCH_DURATION=20        seconds per 32-connection point
#   BENCH_SEQ=2000           requests per sequential point
#   BENCH_CONNS=32           connections of the throughput point
#   BENCH_ONLY=floor,sqlite,postgres,callbacks,replicas,litellm,portkey,scale,startup   subset of sections
#   BENCH_REPLICAS="1 2 4"   gateway counts of the replicas section (one PostgreSQL)
#   BENCH_SCALE="1000 10000 100000"  in-flight task counts of the scale table
#   BENCH_PG_URL=postgres://postgres@127.0.0.1:5432   server for the PostgreSQL target
#   BENCH_SIM_SPEED=1000     simulated seconds per real second
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/benches/gateway"
PEERS="${BENCH_PEERS_DIR:-$ROOT/target/bench-peers}"
OUT="$ROOT/target/bench-gateway"
RUN="$OUT/run"
RESULTS_JSONL="$OUT/results.jsonl"

# Pinned peers. litellm 1.108+ needs litellm-proxy / litellm-proxy-extras releases that
# PyPI does not serve (the [proxy] extra cannot resolve); 1.106.12 is the newest whose
# [proxy] extra installs. Portkey: the npm `latest` at the time of writing.
LITELLM_VERSION=1.106.12
PORTKEY_VERSION=1.15.2

QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
  DURATION=${BENCH_DURATION:-3}; SEQ=${BENCH_SEQ:-300}; SCALE=${BENCH_SCALE:-"1000 10000"}
else
  DURATION=${BENCH_DURATION:-20}; SEQ=${BENCH_SEQ:-2000}; SCALE=${BENCH_SCALE:-"1000 10000 100000"}
fi
CONNS=${BENCH_CONNS:-32}
# Simulated seconds per real second. 1,000: a 30 s render takes 30 ms, and a result link
# valid 30 days (the unified API's, Kling's) lives 43 minutes — long enough for the
# gateway to copy it (issue 18). At 1,000,000 (the default before 2026-12-06) links
# expired 2.6 s after the task ended, so under load most copies found them dead (HTTP
# 403), tasks failed instead of settling, and the figures measured less work than a
# real success costs.
SIM_SPEED=${BENCH_SIM_SPEED:-1000}
ONLY=${BENCH_ONLY:-floor,sqlite,postgres,callbacks,replicas,litellm,portkey,scale,startup}
PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
# A target dir of its own: release artifacts are not shared with the workspace's dev
# builds anyway, and this way the harness never waits on another build's cargo lock.
export CARGO_TARGET_DIR="${BENCH_TARGET_DIR:-$ROOT/target/bench-build}"
# Line tables only: no effect on optimisation, but perf/callgrind can name file:line.
export CARGO_PROFILE_RELEASE_DEBUG="${CARGO_PROFILE_RELEASE_DEBUG:-line-tables-only}"
DRIVER="$CARGO_TARGET_DIR/release/gateway-bench"
# BENCH_GENMUX: measure this genmux binary instead of building one (to compare two
# builds of genmux in one session on one machine).
GENMUX="${BENCH_GENMUX:-$CARGO_TARGET_DIR/release/genmux}"
BODY_GEN='{"model":"kling-2.5-turbo","prompt":"a fox running through snow, take {n}","duration":5}'

log() { printf '\033[1m[bench %s]\033[0m %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
want() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

# ---------------------------------------------------------------- process bookkeeping
# Every server is started with setsid (its own process group) and its pid recorded here;
# stop_all() sends SIGTERM to each group (bash's builtin kill, pid checked > 1), then
# SIGKILL to what is left after 5 s.
PIDS=()
PROFILE_AS=""
PROFILE_PID=""
stop_pid() {
  local pid=$1
  [[ "$pid" =~ ^[0-9]+$ ]] && [ "$pid" -gt 1 ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  builtin kill -TERM -- "-$pid" 2>/dev/null || builtin kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  builtin kill -KILL -- "-$pid" 2>/dev/null || builtin kill -KILL "$pid" 2>/dev/null || true
}
stop_all() {
  local pid
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && stop_pid "$pid"; done
  PIDS=()
}
PG_DBS=()
cleanup() {
  local rc=$?
  stop_all
  for db in "${PG_DBS[@]:-}"; do
    [ -n "$db" ] && psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  done
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME LOGFILE CMD...: starts CMD in its own session (so its whole process group
# can be stopped); sets STARTED to its pid. Not to be called inside $(...): the pid must
# be recorded in this shell's PIDS.
STARTED=""
start() {
  local name=$1 logfile=$2; shift 2
  setsid "$@" >"$logfile" 2>&1 </dev/null &
  STARTED=$!
  PIDS+=("$STARTED")
  log "started $name (pid $STARTED): $*"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL [SECONDS] [PID]: until anything answers over HTTP; fails early when PID
# (the server being waited for) has exited.
wait_http() {
  local url=$1 limit=${2:-60} pid=${3:-} t=0
  while ! curl -s -o /dev/null --max-time 2 "$url"; do
    sleep 0.1; t=$((t + 1))
    [ $t -lt $((limit * 10)) ] || return 1
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
  done
}

# ---------------------------------------------------------------- installs
install_debian() {
  local missing=()
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
  if [ "${BENCH_PROFILE:-0}" = 1 ]; then command -v perf >/dev/null 2>&1 || missing+=(linux-perf); fi
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing from Debian: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}
install_litellm() {
  local venv="$PEERS/litellm-venv"
  if [ -x "$venv/bin/litellm" ] && "$venv/bin/python" -c "import importlib.metadata as m,sys; sys.exit(m.version('litellm')!='$LITELLM_VERSION')" 2>/dev/null; then
    return 0
  fi
  log "installing litellm[proxy]==$LITELLM_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "litellm[proxy]==$LITELLM_VERSION"
}
install_portkey() {
  local dir="$PEERS/portkey"
  if [ -f "$dir/node_modules/@portkey-ai/gateway/package.json" ] &&
    [ "$(node -p "require('$dir/node_modules/@portkey-ai/gateway/package.json').version")" = "$PORTKEY_VERSION" ]; then
    return 0
  fi
  log "installing @portkey-ai/gateway@$PORTKEY_VERSION into $dir"
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo '{"name":"bench-peers-portkey","private":true}' >"$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --save-exact "@portkey-ai/gateway@$PORTKEY_VERSION" >/dev/null)
}

# ---------------------------------------------------------------- measuring
# measure_seq / measure_conc LABEL PID URL METHOD PATH BODY|- [extra driver args...]
# The sequential point (1 connection) and the throughput point (CONNS connections);
# measure = both. Each appends one JSON line to seq.jsonl / conc.jsonl.
measure_seq() {
  local label=$1 pid=$2 url=$3 method=$4 path=$5 body=$6; shift 6
  local bodyargs=()
  [ "$body" != "-" ] && bodyargs=(--body "$body")
  log "measure $label: sequential $SEQ requests"
  "$DRIVER" load --label "$label" --url "$url" --method "$method" --path "$path" \
    "${bodyargs[@]}" --pid "$pid" -c 1 --requests "$SEQ" --warmup 200 \
    --counter-start $((RANDOM * 100000)) "$@" --out "$RUN/seq.jsonl" >/dev/null
}
measure_conc() {
  local label=$1 pid=$2 url=$3 method=$4 path=$5 body=$6; shift 6
  local bodyargs=()
  [ "$body" != "-" ] && bodyargs=(--body "$body")
  log "measure $label: $CONNS connections for $DURATION s"
  [ -n "${PROFILE_AS:-}" ] && profile "$PROFILE_AS" "$pid" "$((DURATION > 4 ? DURATION - 3 : 1))"
  "$DRIVER" load --label "$label" --url "$url" --method "$method" --path "$path" \
    "${bodyargs[@]}" --pid "$pid" -c "$CONNS" --duration "$DURATION" --warmup 2 \
    --counter-start $((RANDOM * 100000 + 50000000)) "$@" --out "$RUN/conc.jsonl" >/dev/null
  # Only the profiler: a bare `wait` would also wait for the servers started in background.
  if [ -n "$PROFILE_PID" ]; then wait "$PROFILE_PID" || true; PROFILE_PID=""; fi
}
measure() {
  measure_seq "$@"
  measure_conc "$@"
}

# measure_api NAME PID URL AUTH_HEADER: quote, generate and status of the unified API, in
# an order that keeps the status point's task table small (the ids come from the
# sequential generate point; the throughput generate point runs last).
measure_api() {
  local name=$1 pid=$2 url=$3 auth=$4
  PROFILE_AS="$name-quote"
  measure "$name quote" "$pid" "$url" POST /unified-video/quote "$BODY_GEN" -H "$auth"
  measure_seq "$name generate" "$pid" "$url" POST /unified-video/generate "$BODY_GEN" -H "$auth" \
    --collect-field taskId --collect-out "$RUN/$name.ids"
  PROFILE_AS="$name-status"
  measure "$name status" "$pid" "$url" GET '/unified-video/{id}/status' - -H "$auth" \
    --ids "$RUN/$name.ids"
  PROFILE_AS="$name-generate"
  measure_conc "$name generate" "$pid" "$url" POST /unified-video/generate "$BODY_GEN" -H "$auth"
  PROFILE_AS=""
}

# json_get FILE KEY...: first value among the keys (dotted paths allowed) of the first
# line of FILE that is a JSON object (log lines may come before it).
json_get() {
  local file=$1; shift
  python3 - "$file" "$@" <<'PY'
import json, sys
doc = None
for line in open(sys.argv[1], errors="replace"):
    try:
        doc = json.loads(line)
    except ValueError:
        continue
    if isinstance(doc, dict):
        break
if not isinstance(doc, dict):
    sys.exit(1)
for key in sys.argv[2:]:
    cur = doc
    for part in key.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    if cur is not None:
        print(cur)
        sys.exit(0)
sys.exit(1)
PY
}

# ---------------------------------------------------------------- targets
SIM_PID=""; SIM_KLING=""; SIM_UNIFIED=""; SIM_AK=""; SIM_SK=""; SIM_KEY=""; UPSTREAM=""
# sim_has FLAG: whether this build's `genmux sim` takes FLAG (the simulator CLI grows
# flags over time; the harness uses what is there and says what it skipped).
sim_has() { "$GENMUX" sim --help 2>/dev/null | grep -q -- "$1"; }
start_sim() {
  local speed=$1
  local kp up args
  kp=$(free_port); up=$(free_port)
  local conc_flag=""
  if sim_has ' --listen '; then
    # `--listen NAME=HOST:PORT` per simulator; `--concurrency` lifts the per-account task
    # limit of the simulators that have one (Kling: 5 video tasks, 1303 beyond).
    args=(sim --listen "kling=127.0.0.1:$kp" --listen "unified=127.0.0.1:$up" --seed 1 --speed "$speed" --json)
    args+=(--concurrency 1000000000)
    conc_flag=--concurrency
    start sim "$RUN/sim.log" "$GENMUX" "${args[@]}"
  elif sim_has --unified-listen; then
    args=(sim --kling-listen "127.0.0.1:$kp" --seed 1 --speed "$speed" --json)
    args+=(--unified-listen "127.0.0.1:$up")
    sim_has --no-faults && args+=(--no-faults)
    # Kling accounts default to 5 concurrent video tasks (1303 beyond): lift the limit so
    # the floor and genmux measure the request path, not the simulated account's quota.
    conc_flag=$("$GENMUX" sim --help 2>/dev/null | grep -o -- '--[a-z-]*concurrency' | head -1 || true)
    [ -n "$conc_flag" ] && args+=("$conc_flag" 1000000000)
    start sim "$RUN/sim.log" "$GENMUX" "${args[@]}"
  else
    # This genmux sim serves Kling only: run the same simulators (crate genmux-sim) from
    # the driver, with the unified API beside Kling and the Kling task limit lifted.
    log "genmux sim has no --unified-listen: using gateway-bench sim (the genmux-sim crate)"
    conc_flag=lifted
    start sim "$RUN/sim.log" "$DRIVER" sim --kling-listen "127.0.0.1:$kp" \
      --unified-listen "127.0.0.1:$up" --seed 1 --speed "$speed"
  fi
  SIM_PID=$STARTED
  local t=0
  until json_get "$RUN/sim.log" kling >/dev/null 2>&1; do
    sleep 0.1; t=$((t + 1)); [ $t -lt 300 ] || die "genmux sim printed no JSON line (see $RUN/sim.log)"
    kill -0 "$SIM_PID" 2>/dev/null || die "genmux sim exited (see $RUN/sim.log)"
  done
  SIM_KLING=$(json_get "$RUN/sim.log" kling.baseUrl kling.base_url || echo "http://127.0.0.1:$kp")
  SIM_AK=$(json_get "$RUN/sim.log" kling.accessKey kling.access_key)
  SIM_SK=$(json_get "$RUN/sim.log" kling.secretKey kling.secret_key)
  SIM_UNIFIED=$(json_get "$RUN/sim.log" unified.baseUrl unified.base_url midsync.baseUrl midsync.base_url || true)
  SIM_KEY=$(json_get "$RUN/sim.log" unified.apiKey unified.api_key midsync.apiKey midsync.api_key || true)
  wait_http "$SIM_KLING/" 30 "$SIM_PID" || die "Kling simulator does not answer on $SIM_KLING"
  if [ -n "$SIM_UNIFIED" ]; then
    wait_http "$SIM_UNIFIED/" 30 "$SIM_PID" || die "unified simulator does not answer on $SIM_UNIFIED"
  else
    log "this genmux sim has no unified simulator: unified floors skipped, genmux serve gets Kling only"
  fi
  # genmux serve gets ONE upstream, so every generate takes the same path as the floor it
  # is compared with. The unified simulator by default: it has no per-account task limit,
  # while a Kling account allows 5 concurrent tasks unless the sim can lift that.
  UPSTREAM=${BENCH_UPSTREAM:-}
  if [ -z "$UPSTREAM" ]; then
    if [ -n "$SIM_UNIFIED" ]; then UPSTREAM=unified; else UPSTREAM=kling; fi
  fi
  if [ "$UPSTREAM" = unified ] && [ -z "$SIM_UNIFIED" ]; then die "BENCH_UPSTREAM=unified but this genmux sim has no unified simulator"; fi
  if [ "$UPSTREAM" = kling ] && [ -z "$conc_flag" ]; then
    log "warning: Kling upstream and no concurrency flag on genmux sim: its default of 5 concurrent tasks applies (1303 under load)"
  fi
  log "genmux serve upstream: $UPSTREAM"
}

# upstream_env: the provider settings (NAME=VALUE words) pointing genmux serve at the
# chosen simulator, for `env`.
upstream_env() {
  if [ "$UPSTREAM" = unified ]; then
    echo "MIDSYNC_BASE_URL=$SIM_UNIFIED MIDSYNC_API_KEY=$SIM_KEY"
  else
    echo "KLING_BASE_URL=$SIM_KLING KLING_ACCESS_KEY=$SIM_AK KLING_SECRET_KEY=$SIM_SK"
  fi
}

GM_PID=""; GM_URL=""; GM_KEY=""
# start_genmux NAME DATA_DIR [extra serve args...]
start_genmux() {
  local name=$1 dir=$2; shift 2
  local port; port=$(free_port)
  rm -rf "$dir"; mkdir -p "$dir"
  # Provider settings go in the environment: `serve` takes no provider secret as a flag.
  local upstream
  upstream=($(upstream_env))
  # The simulators' result URLs are on loopback: a gateway that keeps results (issue 18)
  # copies them only when loopback is admitted, as for callbacks.
  start "$name" "$RUN/$name.log" env "${upstream[@]}" "$GENMUX" serve --listen "127.0.0.1:$port" --data-dir "$dir" \
    --bootstrap-key-file "$dir/admin.key" --starter-points 1000000000000 --allow-loopback-callbacks "$@"
  GM_PID=$STARTED
  GM_URL="http://127.0.0.1:$port"
  wait_http "$GM_URL/unified-video/models" 60 "$GM_PID" || die "$name does not answer (see $RUN/$name.log)"
  # A replica on a database another gateway bootstrapped writes no key: it serves that
  # gateway's (GM_SHARED_KEY).
  if [ -n "${GM_SHARED_KEY:-}" ]; then GM_KEY=$GM_SHARED_KEY; return 0; fi
  local t=0
  until [ -s "$dir/admin.key" ]; do sleep 0.1; t=$((t + 1)); [ $t -lt 100 ] || die "$name wrote no $dir/admin.key"; done
  GM_KEY=$(tr -d '[:space:]' <"$dir/admin.key")
}

# profile NAME PID SECONDS: with BENCH_PROFILE=1, samples PID's CPU (perf, software
# cpu-clock event: hardware counters are not available on this VM) with DWARF call
# graphs while the next throughput point runs; the report lands in $RUN/NAME.perf.txt.
profile() {
  [ "${BENCH_PROFILE:-0}" = 1 ] || return 0
  command -v perf >/dev/null 2>&1 || { log "perf not installed: no profile"; return 0; }
  local name=$1 pid=$2 secs=$3
  (
    sleep 2.5 # skip the throughput point's 2 s warm-up
    perf record -q -e cpu-clock -F 499 --call-graph dwarf,16384 -p "$pid" \
      -o "$RUN/$name.perf.data" -- sleep "$secs" >/dev/null 2>&1 || true
    # perf report is slow on DWARF stacks; perf script + a small summariser is not.
    perf script -i "$RUN/$name.perf.data" -F comm,tid,ip,sym --no-inline 2>/dev/null \
      >"$RUN/$name.perf.script" || true
    python3 "$HERE/perf_summary.py" "$RUN/$name.perf.script" 30 >"$RUN/$name.perf.txt" || true
  ) &
  PROFILE_PID=$!
}

# measure_fsync: the floor of a durable write on this disk, in the same run (issue 21):
# 500 one-row SQLite commits in WAL mode with synchronous=FULL, as genmux's store opens
# its file, each an fsync; the median goes to fsync.jsonl.
measure_fsync() {
  python3 - "$RUN/fsync.db" >>"$RUN/fsync.jsonl" <<'PY'
import json, sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("PRAGMA journal_mode=WAL"); c.execute("PRAGMA synchronous=FULL")
c.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
took = []
for n in range(500):
    t = time.perf_counter()
    c.execute("BEGIN IMMEDIATE"); c.execute("INSERT INTO t VALUES (?)", (n,)); c.execute("COMMIT")
    took.append((time.perf_counter() - t) * 1e6)
took.sort()
print(json.dumps({"label": "sqlite commit (WAL, synchronous=FULL)", "p50_us": round(took[250], 1),
                  "p99_us": round(took[494], 1)}))
PY
  rm -f "$RUN"/fsync.db*
}

measure_genmux() {
  measure_api "$1" "$GM_PID" "$GM_URL" "Authorization: Bearer $GM_KEY"
}

run_floor() {
  log "== floor: the simulators called directly"
  # The Kling native call genmux makes for kling-2.5-turbo text-to-video, and the unified
  # simulator's own generate/status (the same bodies genmux answers).
  if [ "$UPSTREAM" = kling ]; then
    local kbody='{"model_name":"kling-v2-5-turbo","prompt":"a fox running through snow, take {n}","duration":"5","mode":"std"}'
    measure "floor kling text2video" "$SIM_PID" "$SIM_KLING" POST /v1/videos/text2video "$kbody" \
      --kling-keys "$SIM_AK:$SIM_SK"
    return 0
  fi
  # Profiles are for genmux only.
  local keep=${BENCH_PROFILE:-0}
  BENCH_PROFILE=0
  measure_api "floor unified" "$SIM_PID" "$SIM_UNIFIED" "Authorization: Bearer $SIM_KEY"
  BENCH_PROFILE=$keep
}

MOCK_PID=""; MOCK_URL=""
start_mock() {
  local port; port=$(free_port)
  local dir="$RUN/mock"
  mkdir -p "$dir"
  sed -e "s|@PORT@|$port|g" -e "s|@DIR@|$dir|g" "$HERE/mock/nginx.conf.in" >"$dir/nginx.conf"
  local nginx; nginx=$(command -v nginx || echo /usr/sbin/nginx)
  start "nginx mock" "$RUN/mock.log" "$nginx" -p "$dir" -c "$dir/nginx.conf"
  MOCK_PID=$STARTED
  MOCK_URL="http://127.0.0.1:$port"
  wait_http "$MOCK_URL/v1/models" 10 "$MOCK_PID" || die "nginx mock does not answer (see $dir/error.log)"
}

CHAT_BODY='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"say ok, take {n}"}]}'
VIDEO_BODY='{"model":"sora-2","prompt":"a fox running through snow, take {n}","seconds":"4","size":"720x1280"}'

run_mock_floor() {
  log "== peers' floor: the nginx mock called directly"
  measure "floor mock chat" "$MOCK_PID" "$MOCK_URL" POST /v1/chat/completions "$CHAT_BODY"
  measure "floor mock videos" "$MOCK_PID" "$MOCK_URL" POST /v1/videos "$VIDEO_BODY"
}

run_litellm() {
  log "== LiteLLM proxy $LITELLM_VERSION (1 worker, no database) -> nginx mock"
  local port; port=$(free_port)
  cat >"$RUN/litellm.yaml" <<EOF
model_list:
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: $MOCK_URL/v1
      api_key: sk-bench
  - model_name: sora-2
    litellm_params:
      model: openai/sora-2
      api_base: $MOCK_URL/v1
      api_key: sk-bench
litellm_settings:
  set_verbose: false
  telemetry: false
EOF
  local pid key
  # LiteLLM refuses to start without a master key (auth on, like genmux's Bearer keys);
  # with no database the master key is checked in memory.
  key="sk-bench-$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
  start litellm "$RUN/litellm.log" env LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_MASTER_KEY="$key" \
    LITELLM_LOG=ERROR DISABLE_SCHEMA_UPDATE=true \
    "$PEERS/litellm-venv/bin/litellm" --config "$RUN/litellm.yaml" --host 127.0.0.1 \
    --port "$port" --num_workers 1
  pid=$STARTED
  wait_http "http://127.0.0.1:$port/health/liveliness" 120 "$pid" || die "LiteLLM did not start (see $RUN/litellm.log)"
  measure "litellm chat" "$pid" "http://127.0.0.1:$port" POST /v1/chat/completions "$CHAT_BODY" \
    -H "Authorization: Bearer $key"
  # /v1/videos: LiteLLM's OpenAI video route (POST /v1/videos -> api_base/videos).
  if curl -s -o /dev/null -w '%{http_code}' -XPOST "http://127.0.0.1:$port/v1/videos" \
    -H 'content-type: application/json' -H "Authorization: Bearer $key" \
    -d "${VIDEO_BODY//\{n\}/0}" | grep -q '^2'; then
    measure "litellm videos" "$pid" "http://127.0.0.1:$port" POST /v1/videos "$VIDEO_BODY" \
      -H "Authorization: Bearer $key"
  else
    log "LiteLLM /v1/videos did not answer 2xx against the mock; chat only"
  fi
  stop_pid "$pid"
}

run_portkey() {
  log "== Portkey gateway $PORTKEY_VERSION -> nginx mock"
  local port; port=$(free_port)
  local pid
  start portkey "$RUN/portkey.log" env NODE_ENV=production node \
    --require "$HERE/peers/portkey-loopback.cjs" \
    "$PEERS/portkey/node_modules/@portkey-ai/gateway/build/start-server.js" --port="$port" --headless
  pid=$STARTED
  wait_http "http://127.0.0.1:$port/" 60 "$pid" || die "Portkey did not start (see $RUN/portkey.log)"
  measure "portkey chat" "$pid" "http://127.0.0.1:$port" POST /v1/chat/completions "$CHAT_BODY" \
    -H "x-portkey-provider: openai" -H "x-portkey-custom-host: $MOCK_URL/v1" \
    -H "Authorization: Bearer sk-bench"
  stop_pid "$pid"
}

run_scale() {
  log "== scale: generate with tasks in flight (slow simulator, provider rate limit)"
  stop_all
  local n
  for n in $SCALE; do
    # A fresh slow simulator for each N: tasks stay in flight, and no run inherits the
    # previous one's upstream task table.
    start_sim 0.001
    # The provider rate limit covers submissions and the poller's status calls alike, so
    # it is set at the generate target (5,000/s): generate may reach it, and the poller
    # shares what is left. No --provider-concurrency, so N tasks can be in flight at once:
    # with a limit, each attempt counts the provider's unfinished tasks in the database up
    # to that limit (issue 14 point 6), which a limit of millions would make O(N).
    start_genmux "scale-$n" "$RUN/data-scale-$n" --provider-rps "${BENCH_SCALE_PROVIDER_RPS:-5000}"
    sleep 2
    local idle; idle=$(awk '/VmRSS/{print $2}' "/proc/$GM_PID/status")
    "$DRIVER" load --label "scale $n generate" --url "$GM_URL" --method POST \
      --path /unified-video/generate --body "$BODY_GEN" -H "Authorization: Bearer $GM_KEY" \
      --pid "$GM_PID" -c "$CONNS" --requests "$n" --counter-start $((n * 1000)) \
      --out "$RUN/scale-load.jsonl" >/dev/null
    sleep 3
    local after; after=$(awk '/VmRSS/{print $2}' "/proc/$GM_PID/status")
    printf '{"label":"scale %s","tasks":%s,"idle_rss_kib":%s,"rss_kib":%s}\n' "$n" "$n" "$idle" "$after" >>"$RUN/scale.jsonl"
    stop_all
  done
  stop_all
}

# db_count DB SQL: one number from the gateway's database itself (exact, unlike the
# /metrics gauges refreshed every 15 s). DB is a SQLite file or a PostgreSQL URL.
db_count() {
  local db=$1 sql=$2
  case "$db" in
    postgres://*) psql "$db" -tAc "$sql" ;;
    *) python3 -c 'import sqlite3,sys; c=sqlite3.connect("file:"+sys.argv[1]+"?mode=ro", uri=True, timeout=30); print(c.execute(sys.argv[2]).fetchone()[0])' "$db" "$sql" ;;
  esac
}
# Callbacks delivered, and tasks whose callback is not delivered yet (not settled, or
# settled with its callback still in the outbox): what a caller waiting for callbacks sees.
DELIVERED_SQL="SELECT count(*) FROM outbox WHERE state = 'delivered'"
UNDELIVERED_SQL="SELECT (SELECT count(*) FROM tasks) - (SELECT count(*) FROM outbox WHERE state = 'delivered')"

# run_callbacks NAME DB [serve args...]: issue 21 "callbacks must keep up". The throughput
# point of generate with a callbackUrl to the nginx mock (answers 200 at once), tasks
# final at the simulator's next tick; then the backlog — tasks whose callback has not
# been delivered, settled or not — is sampled every second until it is empty (or
# BENCH_DRAIN s pass). Prints generate req/s, deliveries/s during the load and overall,
# the backlog when the load stopped and how long it took to drain.
run_callbacks() {
  local name=$1 db=$2; shift 2
  start_mock
  start_sim "$SIM_SPEED"
  start_genmux "$name" "$RUN/data-$name" "$@"
  local body='{"model":"kling-2.5-turbo","prompt":"a fox running through snow, take {n}","duration":5,"callbackUrl":"'"$MOCK_URL"'/callback"}'
  local d0 t0 t1 d1 b1 t2 d2 b2 drain=${BENCH_DRAIN:-120}
  d0=$(db_count "$db" "$DELIVERED_SQL")
  t0=$(date +%s.%N)
  measure_conc "$name generate+callback" "$GM_PID" "$GM_URL" POST /unified-video/generate "$body" \
    -H "Authorization: Bearer $GM_KEY"
  t1=$(date +%s.%N)
  d1=$(db_count "$db" "$DELIVERED_SQL")
  b1=$(db_count "$db" "$UNDELIVERED_SQL")
  local waited=0
  b2=$b1
  while [ "$waited" -lt "$drain" ]; do
    b2=$(db_count "$db" "$UNDELIVERED_SQL")
    [ "$b2" -gt 0 ] || break
    sleep 1; waited=$((waited + 1))
    [ $((waited % 5)) = 1 ] && log "$name: callback backlog $b2 ($waited s after the load)"
  done
  t2=$(date +%s.%N)
  d2=$(db_count "$db" "$DELIVERED_SQL")
  python3 - "$RUN/callbacks.jsonl" "$name" "$d0" "$d1" "$d2" "$b1" "$b2" "$t0" "$t1" "$t2" <<'PY'
import json, sys
out, name, d0, d1, d2, b1, b2, t0, t1, t2 = sys.argv[1:]
d0, d1, d2, b1, b2 = map(int, (d0, d1, d2, b1, b2))
t0, t1, t2 = map(float, (t0, t1, t2))
rec = {"label": name, "delivered_during_load": d1 - d0, "load_s": round(t1 - t0, 2),
       "delivered_total": d2 - d0, "drain_s": round(t2 - t1, 2),
       "backlog_at_load_end": b1, "backlog_left": b2,
       "deliveries_per_s_during_load": round((d1 - d0) / max(t1 - t0, 1e-9), 1),
       "deliveries_per_s_overall": round((d2 - d0) / max(t2 - t0, 1e-9), 1)}
open(out, "a").write(json.dumps(rec) + "\n")
PY
  stop_all
}

# pg_cpu_ticks: CPU ticks (utime+stime) of every process of the PostgreSQL server (those
# of user postgres: backends, WAL writer, checkpointer), from /proc.
pg_cpu_ticks() {
  local pids
  pids=$(pgrep -d' ' -u postgres || true)
  local sum=0 pid
  for pid in $pids; do
    [ -r "/proc/$pid/stat" ] || continue
    sum=$((sum + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$sum"
}

# run_replicas: issue 21 — 1, 2 and 4 gateways on one PostgreSQL database with the load
# spread across them (one driver per gateway, CONNS/N connections each, all at once); the
# sum of their generate req/s, and PostgreSQL's CPU and transactions per generate. Then,
# with one gateway, the database round trips of a generate: `strace -c` on the server
# processes of that database counts the messages they receive (recvfrom) during BENCH_SEQ
# sequential generates.
run_replicas() {
  local speed=$SIM_SPEED
  local n i
  for n in ${BENCH_REPLICAS:-1 2 4}; do
    local db="genmux_bench_rep${n}_$$"
    psql "$PG_URL/postgres" -qc "CREATE DATABASE $db" >/dev/null || die "cannot create database $db on $PG_URL"
    PG_DBS+=("$db")
    start_sim "$speed"
    local urls=() pids=() key=""
    for i in $(seq 1 "$n"); do
      GM_SHARED_KEY=$key start_genmux "replica-$n-$i" "$RUN/data-replica-$n-$i" --database-url "$PG_URL/$db"
      key=$GM_KEY
      urls+=("$GM_URL"); pids+=("$GM_PID")
    done
    local conns=$((CONNS / n)) hz ticks0 ticks1 xact0 xact1
    hz=$(getconf CLK_TCK)
    ticks0=$(pg_cpu_ticks)
    xact0=$(psql "$PG_URL/$db" -tAc "SELECT xact_commit FROM pg_stat_database WHERE datname = '$db'")
    log "replicas: $n gateway(s) on one PostgreSQL database, $conns connections each for $DURATION s"
    local drivers=()
    for i in $(seq 0 $((n - 1))); do
      "$DRIVER" load --label "replicas $n/$((i + 1)) generate" --url "${urls[$i]}" --method POST \
        --path /unified-video/generate --body "$BODY_GEN" -H "Authorization: Bearer $key" \
        --pid "${pids[$i]}" -c "$conns" --duration "$DURATION" --warmup 2 \
        --counter-start $((RANDOM * 100000 + i * 10000000)) --out "$RUN/replicas-load.jsonl" >/dev/null &
      drivers+=($!)
    done
    for i in "${drivers[@]}"; do wait "$i"; done
    ticks1=$(pg_cpu_ticks)
    xact1=$(psql "$PG_URL/$db" -tAc "SELECT xact_commit FROM pg_stat_database WHERE datname = '$db'")
    printf '{"gateways":%s,"pg_cpu_s":%s,"pg_transactions":%s}\n' "$n" \
      "$(python3 -c "print(($ticks1 - $ticks0) / $hz)")" "$((xact1 - xact0))" >>"$RUN/replicas.jsonl"
    if [ "$n" = 1 ] && command -v strace >/dev/null 2>&1; then
      # Round trips: the server processes of this database, traced over sequential generates.
      local backends trace="$RUN/replicas-strace.txt"
      backends=$(psql "$PG_URL/$db" -tAc "SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE datname = '$db' AND pid <> pg_backend_pid()")
      if [ -n "$backends" ]; then
        strace -f -c -e trace=recvfrom,sendto -p "$backends" -o "$trace" &
        local st=$!
        sleep 1
        "$DRIVER" load --label "replicas round trips" --url "${urls[0]}" --method POST \
          --path /unified-video/generate --body "$BODY_GEN" -H "Authorization: Bearer $key" \
          -c 1 --requests "$SEQ" --counter-start $((RANDOM * 100000 + 90000000)) \
          --out "$RUN/replicas-rt.jsonl" >/dev/null
        sleep 2 # the engine settles the last tasks
        kill -INT "$st" 2>/dev/null || true; wait "$st" 2>/dev/null || true
        python3 - "$trace" "$SEQ" >>"$RUN/replicas-rt.jsonl" <<'PY'
import json, sys
calls = {}
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) >= 5 and parts[-1] in ("recvfrom", "sendto"):
        # % time, seconds, usecs/call, calls, [errors,] syscall
        n, errors = int(parts[3]), (int(parts[4]) if len(parts) == 6 else 0)
        calls[parts[-1]] = n - errors
n = int(sys.argv[2])
print(json.dumps({"label": "replicas round trips", "generates": n,
                  "server_recvfrom_per_generate": round(calls.get("recvfrom", 0) / n, 1),
                  "server_sendto_per_generate": round(calls.get("sendto", 0) / n, 1)}))
PY
      fi
    fi
    stop_all
  done
}

run_startup() {
  log "== start-up time and idle RSS"
  stop_all
  start_sim 1
  local port dir="$RUN/data-startup"
  port=$(free_port)
  rm -rf "$dir"; mkdir -p "$dir"
  local serve=(env $(upstream_env) "$GENMUX" serve --listen "127.0.0.1:$port" --data-dir "$dir"
    --bootstrap-key-file "$dir/admin.key" --starter-points 1000)
  "$DRIVER" startup --label "genmux serve (new data dir)" --url "http://127.0.0.1:$port/unified-video/models" \
    --out "$RUN/startup.jsonl" -- "${serve[@]}" >/dev/null
  local i
  for i in 1 2 3 4 5; do
    "$DRIVER" startup --label "genmux serve (existing data dir)" \
      --url "http://127.0.0.1:$port/unified-video/models" --out "$RUN/startup.jsonl" -- "${serve[@]}" >/dev/null
  done
  stop_all
}

# ---------------------------------------------------------------- main
# In a function so bash has read the whole file before running any of it.
main() {
  mkdir -p "$OUT" "$PEERS"
  rm -rf "$RUN"; mkdir -p "$RUN"
  log "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo); load: $(cut -d' ' -f1-3 /proc/loadavg)"

  install_debian
  want litellm && install_litellm
  want portkey && install_portkey

  log "building genmux and the load driver (release)"
  if [ -z "${BENCH_GENMUX:-}" ] && { want floor || want sqlite || want postgres || want callbacks || want replicas || want scale || want startup; }; then
    (cd "$ROOT" && cargo build --release -q -p genmux-cli -p genmux-bench-driver)
    [ -x "$GENMUX" ] || die "no $GENMUX after the build"
  else
    (cd "$ROOT" && cargo build --release -q -p genmux-bench-driver)
  fi

  # A fresh simulator for each target, so none inherits another's task table.
  local speed=$SIM_SPEED
  if want floor; then
    start_sim "$speed"
    run_floor
    stop_all
  fi
  if want sqlite; then
    log "== genmux serve, SQLite (durable writes)"
    start_sim "$speed"
    measure_fsync
    start_genmux genmux-sqlite "$RUN/data-sqlite"
    measure_genmux "genmux-sqlite"
    stop_all
  fi
  if want postgres; then
    log "== genmux serve, PostgreSQL"
    local db="genmux_bench_$$"
    psql "$PG_URL/postgres" -qc "CREATE DATABASE $db" >/dev/null || die "cannot create database $db on $PG_URL"
    PG_DBS+=("$db")
    start_sim "$speed"
    start_genmux genmux-postgres "$RUN/data-postgres" --database-url "$PG_URL/$db"
    measure_genmux "genmux-postgres"
    stop_all
  fi

  if want callbacks; then
    log "== callbacks: generate with a callbackUrl, outbound deliveries and their backlog"
    run_callbacks callbacks-sqlite "$RUN/data-callbacks-sqlite/genmux.db"
    local cbdb="genmux_bench_cb_$$"
    psql "$PG_URL/postgres" -qc "CREATE DATABASE $cbdb" >/dev/null || die "cannot create database $cbdb on $PG_URL"
    PG_DBS+=("$cbdb")
    run_callbacks callbacks-postgres "$PG_URL/$cbdb" --database-url "$PG_URL/$cbdb"
  fi

  want replicas && run_replicas

  if want litellm || want portkey; then
    start_mock
    run_mock_floor
    want litellm && run_litellm
    want portkey && run_portkey
    stop_all
  fi

  want startup && run_startup
  want scale && run_scale

  versions=$(
    printf '{"genmux":"%s","litellm":"%s","portkey":"%s","nginx":"%s","rustc":"%s","python":"%s","node":"%s"}' \
      "$(cd "$ROOT" && git describe --always --dirty 2>/dev/null || echo unknown)" \
      "$LITELLM_VERSION" "$PORTKEY_VERSION" \
      "$( (nginx -v 2>&1 || /usr/sbin/nginx -v 2>&1) | sed 's|.*/||')" \
      "$(rustc --version | cut -d' ' -f2)" "$(python3 --version | cut -d' ' -f2)" "$(node --version 2>/dev/null || echo none)"
  )
  python3 "$HERE/report.py" --run "$RUN" --out "$OUT/results.json" --versions "$versions" \
    --duration "$DURATION" --seq "$SEQ" --conns "$CONNS"

}
main "$@"
exit $?
