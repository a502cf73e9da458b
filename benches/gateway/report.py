#!/usr/bin/env python3
"""Turns the driver's JSON lines of one run (benches/gateway/run.sh) into the printed
tables and target/bench-gateway/results.json.

Added latency = target p50/p99 (sequential, 1 connection) minus the floor's p50/p99 for
the same kind of call: genmux's generate against the simulator's Kling text2video (the
upstream call genmux makes), quote and status against the unified simulator's, and each
peer against the nginx mock's route it forwards to.
"""
import argparse
import datetime
import json
import os
import sys


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


# label -> label of its floor (sequential figures are subtracted)
FLOORS = {
    "genmux-sqlite quote": "floor unified quote",
    "genmux-sqlite generate": "floor kling text2video",
    "genmux-sqlite status": "floor unified status",
    "genmux-postgres quote": "floor unified quote",
    "genmux-postgres generate": "floor kling text2video",
    "genmux-postgres status": "floor unified status",
    "litellm chat": "floor mock chat",
    "litellm videos": "floor mock videos",
    "portkey chat": "floor mock chat",
}

# issue 8 targets, for the verdict column
TARGETS = {
    "generate": {"added_p50_us": 100, "added_p99_us": 1000, "rps": 5000},
    "quote": {"rps": 20000},
}


def fmt_us(v):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v / 1000:.2f} ms"
    return f"{v:.0f} µs"


def fmt_num(v, digits=0):
    return "-" if v is None else f"{v:,.{digits}f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--versions", required=True)
    ap.add_argument("--duration", type=float, required=True)
    ap.add_argument("--seq", type=int, required=True)
    ap.add_argument("--conns", type=int, required=True)
    a = ap.parse_args()

    seq = {r["label"]: r for r in read_jsonl(os.path.join(a.run, "seq.jsonl"))}
    conc = {r["label"]: r for r in read_jsonl(os.path.join(a.run, "conc.jsonl"))}
    labels = list(dict.fromkeys(list(seq) + list(conc)))

    rows = []
    for label in labels:
        s, c = seq.get(label), conc.get(label)
        floor_label = FLOORS.get(label)
        # genmux's generate is compared with the upstream call it made: the unified
        # simulator's generate when that was its upstream, else Kling's text2video.
        if label.endswith(" generate") and label.startswith("genmux-"):
            floor_label = ("floor unified generate" if "floor unified generate" in seq
                           else "floor kling text2video")
        floor = seq.get(floor_label or "")
        row = {
            "target": label,
            "floor": floor_label,
            "seq_p50_us": s and s["latency_us"]["p50"],
            "seq_p99_us": s and s["latency_us"]["p99"],
            "added_p50_us": (s and floor) and s["latency_us"]["p50"] - floor["latency_us"]["p50"],
            "added_p99_us": (s and floor) and s["latency_us"]["p99"] - floor["latency_us"]["p99"],
            "rps": c and c["rps"],
            "conc_p50_us": c and c["latency_us"]["p50"],
            "conc_p99_us": c and c["latency_us"]["p99"],
            "cpu_us_per_request": c and c.get("cpu_us_per_request"),
            "rss_kib": c and c.get("rss_kib"),
            "errors": (s["bad_status"] + s["io_errors"] if s else 0)
            + (c["bad_status"] + c["io_errors"] if c else 0),
            "first_error": (s and s.get("first_error")) or (c and c.get("first_error")),
        }
        rows.append(row)

    scale_load = {r["label"]: r for r in read_jsonl(os.path.join(a.run, "scale-load.jsonl"))}
    scale = []
    for r in read_jsonl(os.path.join(a.run, "scale.jsonl")):
        n = r["tasks"]
        load = scale_load.get(f"scale {n} generate", {})
        per_task = (r["rss_kib"] - r["idle_rss_kib"]) * 1024 / n if n else None
        scale.append(
            {
                "tasks_in_flight": n,
                "generate_rps": load.get("rps"),
                "generate_p50_us": load.get("latency_us", {}).get("p50"),
                "generate_p99_us": load.get("latency_us", {}).get("p99"),
                "ok": load.get("ok"),
                "errors": (load.get("bad_status", 0) + load.get("io_errors", 0)),
                "first_error": load.get("first_error"),
                "idle_rss_kib": r["idle_rss_kib"],
                "rss_kib": r["rss_kib"],
                "bytes_per_task": per_task,
            }
        )

    startup = read_jsonl(os.path.join(a.run, "startup.jsonl"))
    fsync = next(iter(read_jsonl(os.path.join(a.run, "fsync.jsonl"))), None)

    # issue 21: gateways sharing one PostgreSQL
    rep_load = read_jsonl(os.path.join(a.run, "replicas-load.jsonl"))
    replicas = []
    for r in read_jsonl(os.path.join(a.run, "replicas.jsonl")):
        n = r["gateways"]
        points = [x for x in rep_load if x["label"].startswith(f"replicas {n}/")]
        total = sum(x["rps"] for x in points)
        requests = sum(x.get("ok", 0) for x in points)
        replicas.append({
            "gateways": n,
            "generate_rps": total,
            "gateway_cpu_us_per_request": (
                sum(x["cpu_us_per_request"] * x["rps"] for x in points) / total if total else None),
            "errors": sum(x.get("bad_status", 0) + x.get("io_errors", 0) for x in points),
            "pg_cpu_us_per_generate": r["pg_cpu_s"] * 1e6 / requests if requests else None,
            "pg_transactions_per_generate": r["pg_transactions"] / requests if requests else None,
        })
    round_trips = next((x for x in read_jsonl(os.path.join(a.run, "replicas-rt.jsonl"))
                        if "server_recvfrom_per_generate" in x), None)

    # issue 21 "callbacks must keep up": deliveries/s beside the generate rate that made them
    callbacks = []
    for r in read_jsonl(os.path.join(a.run, "callbacks.jsonl")):
        load = conc.get(f"{r['label']} generate+callback", {})
        r = dict(r, generate_rps=load.get("rps"),
                 generate_errors=load.get("bad_status", 0) + load.get("io_errors", 0))
        callbacks.append(r)

    # issue 8's targets, checked against this run
    verdicts = []

    def check(name, goal, value, ok):
        if value is not None:
            verdicts.append({"target": name, "goal": goal, "measured": value, "met": bool(ok)})

    by_label = {r["target"]: r for r in rows}
    for backend in ("genmux-sqlite", "genmux-postgres"):
        g = by_label.get(f"{backend} generate")
        q = by_label.get(f"{backend} quote")
        if g:
            check(f"{backend} generate added p50", "<= 100 µs", g["added_p50_us"],
                  g["added_p50_us"] is not None and g["added_p50_us"] <= 100)
            check(f"{backend} generate added p99", "<= 1 ms", g["added_p99_us"],
                  g["added_p99_us"] is not None and g["added_p99_us"] <= 1000)
            check(f"{backend} generate req/s at {a.conns} conns", ">= 5,000", g["rps"],
                  g["rps"] is not None and g["rps"] >= 5000)
        if q:
            check(f"{backend} quote req/s at {a.conns} conns", ">= 20,000", q["rps"],
                  q["rps"] is not None and q["rps"] >= 20000)
    if scale:
        top = max(scale, key=lambda x: x["tasks_in_flight"])
        check(f"memory per in-flight task at {top['tasks_in_flight']:,}", "<= 2 KB",
              top["bytes_per_task"], top["bytes_per_task"] is not None and top["bytes_per_task"] <= 2048)
    # issue 21: generate within one fsync (+150 µs) of the floor, CPU within 4× the floor's
    g, floor_gen = by_label.get("genmux-sqlite generate"), conc.get("floor unified generate")
    if g and fsync and g["added_p50_us"] is not None:
        goal = fsync["p50_us"] + 150
        check("genmux-sqlite generate added p50 vs one fsync + 150 µs",
              f"<= {goal:,.0f} µs", g["added_p50_us"], g["added_p50_us"] <= goal)
    if g and floor_gen and g["cpu_us_per_request"] and floor_gen.get("cpu_us_per_request"):
        ratio = g["cpu_us_per_request"] / floor_gen["cpu_us_per_request"]
        check("genmux-sqlite generate CPU/req ÷ floor generate CPU/req", "<= 4",
              round(ratio, 1), ratio <= 4)
    portkey = by_label.get("portkey chat")
    for backend, want in (("genmux-sqlite", 6), ("genmux-postgres", 4)):
        gb = by_label.get(f"{backend} generate")
        if gb and portkey and gb["rps"] and portkey["rps"]:
            ratio = gb["rps"] / portkey["rps"]
            check(f"{backend} generate req/s ÷ Portkey chat req/s", f">= {want}",
                  round(ratio, 2), ratio >= want)
    one = next((r for r in replicas if r["gateways"] == 1), None)
    for r in replicas:
        if one and one["generate_rps"] and r["gateways"] > 1:
            ratio = r["generate_rps"] / one["generate_rps"]
            check(f"{r['gateways']} gateways on one PostgreSQL ÷ one gateway", ">= 0.9",
                  round(ratio, 2), ratio >= 0.9)
    for r in callbacks:
        if r["generate_rps"]:
            # During the load: the tasks of its last moments are still settling when it
            # stops, so a deliverer that keeps pace shows slightly under 1.
            ratio = r["deliveries_per_s_during_load"] / r["generate_rps"]
            check(f"{r['label']}: deliveries/s ÷ generate req/s during the load",
                  ">= 0.95, backlog drained", round(ratio, 2),
                  ratio >= 0.95 and r["backlog_left"] == 0)
    if startup:
        idle = sorted(x["idle_rss_kib"] for x in startup)[len(startup) // 2] / 1024
        start = sorted(x["start_to_first_answer_ms"] for x in startup)[len(startup) // 2]
        check("idle RSS (median)", "<= 30 MB", round(idle, 1), idle <= 30)
        check("start to first answer (median)", "<= 100 ms", round(start, 1), start <= 100)

    with open("/proc/loadavg") as f:
        load_avg = f.read().split()[:3]
    doc = {
        # when the run's last figure was written (the report may be rendered later)
        "date": datetime.datetime.fromtimestamp(
            max([os.path.getmtime(os.path.join(a.run, f)) for f in os.listdir(a.run)
                 if f.endswith(".jsonl")] or [datetime.datetime.now().timestamp()]),
            datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "cores": os.cpu_count(),
            "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "load_avg_at_end": load_avg,
        },
        "versions": json.loads(a.versions),
        "method": {
            "sequential_requests": a.seq,
            "connections": a.conns,
            "duration_s": a.duration,
            "driver": "benches/gateway/driver (closed loop, HTTP/1.1 keep-alive, 1 thread)",
        },
        "targets": rows,
        "scale": scale,
        "startup": startup,
        "callbacks": callbacks,
        "fsync": fsync,
        "replicas": replicas,
        "postgres_round_trips": round_trips,
        "targets_issue_8": verdicts,
        "raw": {"sequential": list(seq.values()), "concurrent": list(conc.values())},
    }
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=2)

    print()
    print(f"Gateway benchmark — {doc['date']} — {doc['machine']['cores']} cores — "
          f"sequential {a.seq} req, {a.conns} conns × {a.duration:g} s")
    hdr = ("target", "p50 (1c)", "p99 (1c)", "added p50", "added p99",
           f"rps ({a.conns}c)", f"p50 ({a.conns}c)", f"p99 ({a.conns}c)", "CPU/req", "RSS", "errors")
    table = [hdr]
    for r in rows:
        table.append((
            r["target"], fmt_us(r["seq_p50_us"]), fmt_us(r["seq_p99_us"]),
            fmt_us(r["added_p50_us"]), fmt_us(r["added_p99_us"]), fmt_num(r["rps"]),
            fmt_us(r["conc_p50_us"]), fmt_us(r["conc_p99_us"]), fmt_us(r["cpu_us_per_request"]),
            "-" if r["rss_kib"] is None else f"{r['rss_kib'] / 1024:.0f} MB", str(r["errors"]),
        ))
    widths = [max(len(str(row[i])) for row in table) for i in range(len(hdr))]
    for i, row in enumerate(table):
        print("  ".join(str(v).ljust(widths[j]) if j == 0 else str(v).rjust(widths[j])
                        for j, v in enumerate(row)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if scale:
        print()
        print("Scale: genmux serve (SQLite), generate at "
              f"{a.conns} conns until N tasks are in flight")
        for s in scale:
            print(f"  {s['tasks_in_flight']:>7,} tasks: {fmt_num(s['generate_rps'])} rps, "
                  f"p99 {fmt_us(s['generate_p99_us'])}, RSS idle {s['idle_rss_kib'] / 1024:.1f} MB → "
                  f"{s['rss_kib'] / 1024:.1f} MB = {fmt_num(s['bytes_per_task'])} B/task, "
                  f"errors {s['errors']}")
    if fsync:
        print()
        print(f"Durable write floor on this disk ({fsync['label']}): p50 "
              f"{fmt_us(fsync['p50_us'])}, p99 {fmt_us(fsync['p99_us'])}")
    if replicas:
        print()
        print("Replicas: N gateways on one PostgreSQL database, load spread across them")
        for r in replicas:
            print(f"  {r['gateways']} gateway(s): generate {fmt_num(r['generate_rps'])} req/s in all, "
                  f"gateway CPU {fmt_us(r['gateway_cpu_us_per_request'])}/req, PostgreSQL CPU "
                  f"{fmt_us(r['pg_cpu_us_per_generate'])} and "
                  f"{fmt_num(r['pg_transactions_per_generate'], 1)} transactions per generate, "
                  f"errors {r['errors']}")
        if round_trips:
            print(f"  round trips (1 gateway, {round_trips['generates']} sequential generates, "
                  f"settlement included): the server received "
                  f"{round_trips['server_recvfrom_per_generate']} and sent "
                  f"{round_trips['server_sendto_per_generate']} messages per generate")
    if callbacks:
        print()
        print("Callbacks: generate with a callbackUrl (receiver answers 200 at once), then drain")
        for r in callbacks:
            print(f"  {r['label']}: generate {fmt_num(r['generate_rps'])} req/s; delivered "
                  f"{r['delivered_during_load']:,} during the {r['load_s']:g} s load "
                  f"({r['deliveries_per_s_during_load']:,.0f}/s), {r['delivered_total']:,} in all "
                  f"({r['deliveries_per_s_overall']:,.0f}/s); undelivered {r['backlog_at_load_end']:,} "
                  f"when the load stopped, {r['backlog_left']:,} after {r['drain_s']:g} s more")
    if startup:
        print()
        print("Start-up (spawn → first answered request) and idle RSS")
        for s in startup:
            print(f"  {s['label']}: {s['start_to_first_answer_ms']:.1f} ms, "
                  f"idle RSS {s['idle_rss_kib'] / 1024:.1f} MB")
    if verdicts:
        print()
        print("Targets (issues 8 and 21)")
        for v in verdicts:
            m = v["measured"]
            shown = fmt_us(m) if "added" in v["target"] else (
                f"{m:,.0f} B" if "memory" in v["target"] else
                f"{m} MB" if "RSS" in v["target"] else
                f"{m} ms" if "start" in v["target"] else
                f"{m:.2f}" if "÷" in v["target"] else
                fmt_us(m) if "fsync" in v["target"] else f"{m:,.0f}")
            print(f"  {'met ' if v['met'] else 'MISS'}  {v['target']}: {shown} (goal {v['goal']})")
    errs = [r for r in rows if r["errors"]]
    for r in errs:
        print(f"\n! {r['target']}: {r['errors']} errors; first: {r['first_error']}", file=sys.stderr)
    print(f"\nresults: {a.out}")


if __name__ == "__main__":
    main()
