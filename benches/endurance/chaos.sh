#!/usr/bin/env bash
# Chaos run (issue 21 "Endurance", design/RELIABILITY.md R4 and E1): a loaded gateway
# (`genmux serve`, release) in front of `genmux sim` with injected upstream faults is
# killed with SIGKILL at random moments and restarted on the same database, RUNS times.
# Then every task must become final and every callback be delivered (bounded wait,
# progress printed), and check.py verifies from the database: every task final, no
# acknowledged task lost, I1–I4, every callback delivered at least once with one webhook
# id. Prints the counts; exits 1 on any violation (2 when the harness itself failed).
#
#   bash benches/endurance/chaos.sh                      # SQLite, 200 kills
#   RUNS=20 BACKEND=postgres bash benches/endurance/chaos.sh
#
# On PostgreSQL two gateways share one database, the load is spread over both, and each
# run kills one of them (picked at random).
#
# Knobs (environment):
#   RUNS=200            kills
#   BACKEND=sqlite      sqlite | postgres (PG_URL=postgres://postgres@127.0.0.1:5432)
#   CLIENTS=6           client threads (chaos_client.py), each with its own keys
#   RATE=20             new generate requests per second over all clients (0 = closed
#                       loop, as fast as answered). Every request has a callbackUrl, and
#                       the outbound deliverer of this build handles at most one batch of
#                       32 per 1 s tick per gateway (issue 21 "Callbacks must keep up"): a
#                       higher rate leaves a backlog that cannot drain within WAIT
#   UP_MIN=0.3 UP_MAX=2.5   seconds a gateway runs before it is killed (uniform)
#   ERROR_RATE=0.05     share of upstream requests answered with an error (every endpoint)
#   FAILURE_RATE=0.2    share of upstream tasks that end failed
#   LATENCY_MS=20       added to every upstream answer
#   SIM_SPEED=20        simulated seconds per real second (a task renders 32 simulated s)
#   UNKNOWN_DEADLINE=120  operator deadline of unknown submissions (see common.sh)
#   GIVE_UP=660         seconds after the load the clients keep retrying keys answered 409
#                       (a request killed mid-way keeps its key "in progress" until the
#                       gateway's take-over age, 600 s; the retry after it must get the
#                       task the killed request recorded)
#   WAIT=900            seconds allowed for everything to settle after that
#   SEED=1              simulator seed; the kill delays use SEED too
#   GENMUX_BIN          genmux binary to run (otherwise built with cargo --release)
#   KEEP_DB=1           keep the PostgreSQL database
# Output: target/endurance/chaos-<backend>-<UTC time>/ (logs, acks.jsonl, callbacks.jsonl,
# check.json, summary.json).
set -euo pipefail
SCRIPT_NAME=chaos
source "$(dirname "$0")/common.sh"

RUNS=${RUNS:-200}
BACKEND=${BACKEND:-sqlite}
CLIENTS=${CLIENTS:-6}
RATE=${RATE:-20}
UP_MIN=${UP_MIN:-0.3}
UP_MAX=${UP_MAX:-2.5}
ERROR_RATE=${ERROR_RATE:-0.05}
FAILURE_RATE=${FAILURE_RATE:-0.2}
LATENCY_MS=${LATENCY_MS:-20}
SIM_SPEED=${SIM_SPEED:-20}
WAIT=${WAIT:-900}
GIVE_UP=${GIVE_UP:-660}
SEED=${SEED:-1}
[[ "$RUNS" =~ ^[0-9]+$ ]] || die "RUNS=$RUNS: a whole number of kills"

main() {
  OUT="$ROOT/target/endurance/chaos-$BACKEND-$(date -u +%Y%m%dT%H%M%SZ)"
  mkdir -p "$OUT"
  binaries 0
  log "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo); $GENMUX_VERSION; output in $OUT"
  backend_setup
  write_config "$OUT/genmux.toml"
  start_sim "$SIM_SPEED" "$ERROR_RATE" "$FAILURE_RATE" "$LATENCY_MS"
  start_receiver
  local n_gw=1
  [ "$BACKEND" = postgres ] && n_gw=2
  local i
  for ((i = 0; i < n_gw; i++)); do start_gateway "$i" "${SERVE_DB[@]}"; done
  local key; key=$(tr -d '[:space:]' <"$OUT/gw0/admin.key")
  [ -n "$key" ] || die "gateway 0 wrote no admin key"
  log "gateways: $(gateway_urls); callbacks to $HOOK_URL"

  local stop="$OUT/stop"
  start "$OUT/client.log" python3 "$HERE/chaos_client.py" --gateways "$(gateway_urls)" --key "$key" \
    --clients "$CLIENTS" --rate "$RATE" --callback "$HOOK_URL" --run-id "chaos$$" --acks "$OUT/acks.jsonl" \
    --stop-file "$stop" --give-up-after "$GIVE_UP"
  local client=$STARTED
  local t0=$SECONDS
  RANDOM=$SEED
  local run victim up kills=0
  for ((run = 1; run <= RUNS; run++)); do
    # A delay drawn uniformly from [UP_MIN, UP_MAX] s (bash's RANDOM is seeded above).
    up=$(awk -v a="$UP_MIN" -v b="$UP_MAX" -v r="$RANDOM" 'BEGIN { printf "%.3f", a + (b - a) * r / 32767 }')
    sleep "$up"
    victim=$((RANDOM % n_gw))
    kill -0 "$client" 2>/dev/null || die "the load client exited early (see $OUT/client.log)"
    builtin kill -KILL "${GW_PID[$victim]}"
    wait "${GW_PID[$victim]}" 2>/dev/null || true
    forget_pid "${GW_PID[$victim]}"
    kills=$((kills + 1))
    start_gateway "$victim" "${SERVE_DB[@]}"
    if ((run % 10 == 0 || run == RUNS)); then
      log "run $run/$RUNS: killed gateway $victim after ${up}s; $(wc -l <"$OUT/acks.jsonl" 2>/dev/null || echo 0) keys done, $(wc -l <"$HOOK_LOG") callbacks received"
    fi
  done
  local load_s=$((SECONDS - t0))
  touch "$stop"
  log "load stopped; keys answered 409 are retried for up to $GIVE_UP s"
  local w=0
  while kill -0 "$client" 2>/dev/null; do
    sleep 1; w=$((w + 1))
    [ $w -lt $((GIVE_UP + 120)) ] || die "the load client did not stop (see $OUT/client.log)"
    if ((w % 30 == 0)); then
      log "t=${w}s after the load: $(wc -l <"$OUT/acks.jsonl") keys done, $(wc -l <"$HOOK_LOG") callbacks received"
    fi
  done
  log "load: $(tail -1 "$OUT/client.log")"
  log "waiting up to $WAIT s for every task to be final and every callback delivered"
  local rc=0
  python3 "$HERE/check.py" "${CHECK_DB[@]}" --acks "$OUT/acks.jsonl" --hooks "$HOOK_LOG" \
    --wait "$WAIT" --json-out "$OUT/check.json" >"$OUT/check.txt" || rc=$?
  [ $rc -le 1 ] || die "check.py failed (rc $rc, see $OUT/check.txt)"
  python3 - "$OUT" "$BACKEND" "$RUNS" "$kills" "$load_s" "$n_gw" "$GENMUX_VERSION" "$RATE" "$CLIENTS" <<'PY'
import json, sys
out, backend, runs, kills, load_s, n_gw, version, rate, clients = sys.argv[1:]
check = json.load(open(f"{out}/check.json"))
c = check["counts"]
client = {}
for line in open(f"{out}/client.log"):
    try:
        client = json.loads(line)
    except ValueError:
        pass
rows = [
    ("backend", f"{backend} ({n_gw} gateway{'s' if n_gw != '1' else ''})"),
    ("genmux", version),
    ("kill -9 (runs)", f"{kills} of {runs}"),
    ("load time", f"{load_s} s at {rate} new requests/s ({clients} clients)"),
    ("keys sent", c["keys_sent"]),
    ("acknowledged (200)", c["keys_answered_200"]),
    ("key outcomes", ", ".join(f"{k}: {v}" for k, v in c["key_outcomes"].items())),
    ("retries after transport errors", client.get("transport_errors", 0)),
    ("idempotent replays", client.get("replays", 0)),
    ("tasks", c["tasks"]),
    ("tasks final by status", ", ".join(f"{k} {v}" for k, v in c["tasks_by_status"].items())),
    ("settled after the load", f"{c['settle_seconds']} s ({'yes' if c['settled_within_wait'] else 'NO'})"),
    ("final tasks with callbackUrl", c["final_tasks_with_callback"]),
    ("callbacks delivered", c["callbacks_delivered"]),
    ("callback duplicates", c["callback_duplicates"]),
    ("ledger entries / accounts", f"{c['ledger_entries']} / {c['accounts']}"),
    ("invariant violations", c["violations"]),
]
w = max(len(r[0]) for r in rows)
print(f"\nchaos run ({out})")
for k, v in rows:
    print(f"  {k:<{w}}  {v}")
for v in check["violations"][:30]:
    print(f"  VIOLATION {v}")
summary = {"backend": backend, "gateways": int(n_gw), "runs": int(runs), "kills": int(kills),
           "load_seconds": int(load_s), "client": client, **c}
json.dump(summary, open(f"{out}/summary.json", "w"), indent=1)
PY
  return $rc
}
main "$@"
