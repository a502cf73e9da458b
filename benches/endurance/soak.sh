#!/usr/bin/env bash
# Soak run (issue 21 "Endurance", design/RELIABILITY.md E2): one gateway (`genmux serve`,
# release) in front of `genmux sim` with injected upstream faults, under open-loop load at
# a fixed rate (`gateway-bench load --rate`: requests scheduled at fixed intervals over a
# connection pool, latency measured from the scheduled time, so a stall is not hidden by
# coordinated omission). Prints latency percentiles and counts per minute, the gateway's
# RSS at start, middle and end, then waits for every task to settle and runs the same
# database checks as the chaos run (check.py: no task answered 200 lost, every task
# final, I1–I4, callbacks when SOAK_CALLBACKS=1). Exits 1 on any violation.
#
#   bash benches/endurance/soak.sh                       # 600 s at 1,000 req/s, 10 % faults
#   DURATION=120 RATE=500 bash benches/endurance/soak.sh
#
# Knobs (environment):
#   DURATION=600        seconds of load
#   RATE=1000           generate requests per second (scheduled)
#   FAULT=0.10          share of upstream requests answered with an error (every endpoint:
#                       submissions, status polls)
#   FAILURE_RATE=0      share of upstream tasks that end failed
#   CONNS=64            connection pool of the driver (most requests in flight)
#   REPORT_EVERY=60     seconds per reported interval
#   BACKEND=sqlite      sqlite | postgres (PG_URL=postgres://postgres@127.0.0.1:5432)
#   SIM_SPEED=1000      simulated seconds per real second (tasks finish within ~0.1 s, so
#                       every request goes through submit, upstream callback, settlement)
#   SOAK_CALLBACKS=0    1 = every request carries a callbackUrl to a local receiver
#   WAIT=900            seconds allowed for everything to settle after the load
#   GENMUX_BIN, DRIVER_BIN   binaries to run (otherwise built with cargo --release)
# Output: target/endurance/soak-<backend>-<UTC time>/ (intervals.jsonl, rss.tsv, check.json,
# summary.json, logs).
set -euo pipefail
SCRIPT_NAME=soak
source "$(dirname "$0")/common.sh"

DURATION=${DURATION:-600}
RATE=${RATE:-1000}
FAULT=${FAULT:-0.10}
FAILURE_RATE=${FAILURE_RATE:-0}
CONNS=${CONNS:-64}
REPORT_EVERY=${REPORT_EVERY:-60}
BACKEND=${BACKEND:-sqlite}
SIM_SPEED=${SIM_SPEED:-1000}
SOAK_CALLBACKS=${SOAK_CALLBACKS:-0}
WAIT=${WAIT:-900}

main() {
  OUT="$ROOT/target/endurance/soak-$BACKEND-$(date -u +%Y%m%dT%H%M%SZ)"
  mkdir -p "$OUT"
  binaries 1
  log "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg); $GENMUX_VERSION; output in $OUT"
  backend_setup
  write_config "$OUT/genmux.toml"
  start_sim "$SIM_SPEED" "$FAULT" "$FAILURE_RATE" 0
  local body='{"model":"kling-2.5-turbo","prompt":"a fox running through snow, soak {n}","duration":5}'
  local hooks=()
  if [ "$SOAK_CALLBACKS" = 1 ]; then
    start_receiver
    body="${body%\}},\"callbackUrl\":\"$HOOK_URL\"}"
    hooks=(--hooks "$HOOK_LOG")
  fi
  start_gateway 0 "${SERVE_DB[@]}"
  local gw="http://127.0.0.1:${GW_PORT[0]}" pid=${GW_PID[0]}
  local key; key=$(tr -d '[:space:]' <"$OUT/gw0/admin.key")
  sleep 2
  local rss_start; rss_start=$(rss_kib "$pid")
  log "gateway pid $pid at $gw, RSS $rss_start KiB; load: $RATE req/s for $DURATION s over $CONNS connections"

  # RSS every 5 s while the load runs (the middle and end values come from here).
  (
    local t=0
    while kill -0 "$pid" 2>/dev/null; do
      printf '%s\t%s\n' "$t" "$(rss_kib "$pid")"
      sleep 5; t=$((t + 5))
    done
  ) >"$OUT/rss.tsv" &
  local sampler=$!
  local rc_load=0
  "$DRIVER" load --label soak --url "$gw" --method POST --path /unified-video/generate \
    --body "$body" -H "Authorization: Bearer $key" --pid "$pid" -c "$CONNS" \
    --rate "$RATE" --duration "$DURATION" --report-every "$REPORT_EVERY" \
    --collect-field taskId --collect-out "$OUT/answered.txt" --out "$OUT/intervals.jsonl" \
    >"$OUT/driver.out" 2>"$OUT/driver.err" || rc_load=$?
  local rss_end; rss_end=$(rss_kib "$pid")
  builtin kill -TERM "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  [ "$rc_load" = 0 ] || log "the driver exited with $rc_load: $(cat "$OUT/driver.err")"
  log "load done; waiting up to $WAIT s for every task to settle"
  local rc=0
  python3 "$HERE/check.py" "${CHECK_DB[@]}" --answered "$OUT/answered.txt" "${hooks[@]}" \
    --wait "$WAIT" --json-out "$OUT/check.json" >"$OUT/check.txt" || rc=$?
  [ $rc -le 1 ] || die "check.py failed (rc $rc, see $OUT/check.txt)"
  local rss_settled; rss_settled=$(rss_kib "$pid")
  python3 - "$OUT" "$BACKEND" "$DURATION" "$RATE" "$FAULT" "$rss_start" "$rss_end" "$rss_settled" "$GENMUX_VERSION" <<'PY'
import json, sys
out, backend, duration, rate, fault, rss_start, rss_end, rss_settled, version = sys.argv[1:]
lines = [json.loads(l) for l in open(f"{out}/intervals.jsonl") if l.strip()]
intervals = [l for l in lines if "interval" in l]
total = next((l for l in lines if "interval" not in l), {})
rss = [tuple(map(int, l.split())) for l in open(f"{out}/rss.tsv") if l.strip()]
dur = float(duration)
def rss_at(t):
    return min(rss, key=lambda r: abs(r[0] - t))[1] if rss else 0
check = json.load(open(f"{out}/check.json"))
c = check["counts"]
print(f"\nsoak run ({out}): {backend}, {rate} req/s scheduled for {duration} s, upstream fault share {fault}; {version}")
print(f"  {'interval':>8} {'sched':>7} {'ok':>7} {'non-2xx':>7} {'io err':>6} {'late':>6} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}")
for i in intervals:
    l = i["latency_us"]
    print(f"  {i['from_s']:>7.0f}s {i['scheduled']:>7} {i['ok']:>7} {i['bad_status']:>7} {i['io_errors']:>6} {i['late_starts']:>6} "
          f"{l['p50']/1000:>8.2f} {l['p90']/1000:>8.2f} {l['p99']/1000:>8.2f} {l['max']/1000:>8.2f}")
if total:
    l = total["latency_us"]
    print(f"  {'total':>8} {total.get('scheduled', 0):>7} {total['ok']:>7} {total['bad_status']:>7} {total['io_errors']:>6} {total.get('late_starts', 0):>6} "
          f"{l['p50']/1000:>8.2f} {l['p90']/1000:>8.2f} {l['p99']/1000:>8.2f} {l['max']/1000:>8.2f}")
    print(f"  achieved {total['rps']:.0f} answered 2xx/s; gateway CPU {total.get('cpu_us_per_request') or 0:.0f} µs per 2xx answer")
    if total.get("first_error"):
        print(f"  first non-2xx: {total['first_error'][:200]}")
print(f"  RSS KiB: start {rss_start}, middle {rss_at(dur / 2)}, end of load {rss_end}, settled {rss_settled}")
rows = [
    ("tasks answered 200", c["ids_answered_200"]),
    ("tasks in the database", c["tasks"]),
    ("tasks final by status", ", ".join(f"{k} {v}" for k, v in c["tasks_by_status"].items())),
    ("settled after the load", f"{c['settle_seconds']} s ({'yes' if c['settled_within_wait'] else 'NO'})"),
    ("ledger entries / accounts", f"{c['ledger_entries']} / {c['accounts']}"),
    ("callbacks delivered / duplicates", f"{c['callbacks_delivered']} / {c['callback_duplicates']} (of {c['final_tasks_with_callback']} with callbackUrl)"),
    ("invariant violations", c["violations"]),
]
for k, v in rows:
    print(f"  {k:<32} {v}")
for v in check["violations"][:30]:
    print(f"  VIOLATION {v}")
summary = {"backend": backend, "duration_s": dur, "rate": float(rate), "fault": float(fault),
           "rss_kib": {"start": int(rss_start), "middle": rss_at(dur / 2), "end": int(rss_end), "settled": int(rss_settled)},
           "intervals": intervals, "total": total, **c}
json.dump(summary, open(f"{out}/summary.json", "w"), indent=1)
PY
  return $rc
}
main "$@"
