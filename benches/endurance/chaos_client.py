#!/usr/bin/env python3
"""Load of the chaos run (benches/endurance/chaos.sh): N client threads, each sending
`POST /unified-video/generate` one after another, every request with its own
`Idempotency-Key` and a `callbackUrl` to the receiver, until --stop-file exists.

A caller that loses its answer retries with the same key (design/RELIABILITY.md: the
replay of a key returns the first response; 409 while the first is still running), so a
key is retried until it is answered:
  - transport error (the gateway was killed): retry at once, spread over the gateways;
  - 409 (the key's first request died with a gateway and is on record as running until
    the gateway's take-over age, 10 min by default): parked and retried every 5 s beside
    new keys; after --stop-file, parked keys are retried for --give-up-after seconds
    (a take-over must answer with the task the dead request recorded: I4);
  - 5xx: retry up to 3 times, then the outcome is recorded as such;
  - any other status: recorded (e.g. 4xx from an injected upstream fault).
Every key's outcome is one JSON line in --acks: {"key", "status", "taskId"?, "tries",
"error"?}; status 0 = never answered (given up after --stop-file, see --give-up-after).
The checker reads it: every key answered 200 names one task that must exist and be final
(I4: a key answered twice must name the same task). Prints a JSON summary at the end.
"""
import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlsplit


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--gateways", required=True, help="comma-separated base URLs")
    ap.add_argument("--key", required=True, help="API key (Bearer)")
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--callback", required=True, help="callbackUrl of every request")
    ap.add_argument("--run-id", required=True, help="prefix of every Idempotency-Key")
    ap.add_argument("--acks", required=True, help="JSON-lines file of key outcomes")
    ap.add_argument("--stop-file", required=True, help="stop sending new keys once it exists")
    ap.add_argument("--model", default="kling-2.5-turbo")
    ap.add_argument("--rate", type=float, default=0,
                    help="new keys per second over all clients (0 = as fast as answered)")
    ap.add_argument("--give-up-after", type=float, default=660.0,
                    help="seconds after --stop-file a key still unanswered is given up")
    args = ap.parse_args()

    gateways = [urlsplit(u) for u in args.gateways.split(",") if u]
    if not gateways:
        print("--gateways: no URL given", file=sys.stderr)
        return 2
    out = open(args.acks, "a", buffering=1, encoding="utf-8")
    lock = threading.Lock()
    totals: Counter = Counter()

    def record(line: dict) -> None:
        with lock:
            out.write(json.dumps(line) + "\n")
            totals["keys"] += 1
            totals[f"status_{line['status']}"] += 1

    def stopped() -> bool:
        return os.path.exists(args.stop_file)

    def attempt(c: int, conns: dict, tries: int, key: str, body: str):
        """One POST of `key` to the next gateway; (status or None, body bytes)."""
        gw = gateways[(c + tries) % len(gateways)]
        try:
            conn = conns.get(gw.netloc)
            if conn is None:
                conn = http.client.HTTPConnection(gw.hostname, gw.port, timeout=20)
                conns[gw.netloc] = conn
            conn.request("POST", "/unified-video/generate", body=body, headers={
                "authorization": f"Bearer {args.key}",
                "content-type": "application/json",
                "idempotency-key": key,
            })
            resp = conn.getresponse()
            text = resp.read()
            if resp.getheader("idempotent-replayed") == "true":
                with lock:
                    totals["replays"] += 1
            return resp.status, text
        except (OSError, http.client.HTTPException):
            conns.pop(gw.netloc, None)
            with lock:
                totals["transport_errors"] += 1
            return None, b""

    def client(c: int) -> None:
        rng = random.Random(c)
        conns: dict = {}
        # Keys answered 409 (their first request died with a gateway and is still on
        # record as running until the gateway's take-over age): retried every few seconds
        # beside new keys, so one such key does not stall this client.
        parked: list[dict] = []
        stop_seen = None
        i = 0
        # Pacing of new keys: this client's share of --rate, on a fixed schedule (a client
        # that fell behind, e.g. during a restart, does not burst to catch up).
        interval = args.clients / args.rate if args.rate > 0 else 0.0
        next_new = time.monotonic()
        while True:
            now = time.monotonic()
            if stopped() and stop_seen is None:
                stop_seen = now
            due = next((p for p in parked if p["at"] <= now), None)
            if due is not None:
                parked.remove(due)
                k = due
            elif stop_seen is None and now < next_new:
                time.sleep(min(next_new - now, 0.05))
                continue
            elif stop_seen is None:
                next_new = max(next_new + interval, now)
                key = f"{args.run_id}-c{c}-{i}"
                i += 1
                k = {"key": key, "tries": 0, "server_errors": 0, "at": now, "body": json.dumps({
                    "model": args.model,
                    "prompt": f"endurance run, {key}",
                    "duration": 5,
                    "callbackUrl": args.callback,
                })}
            elif parked and now - stop_seen < args.give_up_after:
                time.sleep(0.2)
                continue
            else:
                for p in parked:
                    record({"key": p["key"], "status": p.get("last") or 0, "tries": p["tries"],
                            "error": "given up after the stop"})
                return
            while True:
                k["tries"] += 1
                status, text = attempt(c, conns, k["tries"], k["key"], k["body"])
                k["last"] = status
                if status == 200:
                    record({"key": k["key"], "status": 200, "taskId": json.loads(text).get("taskId"),
                            "tries": k["tries"]})
                    break
                if status == 409:
                    k["at"] = time.monotonic() + 5
                    parked.append(k)
                    with lock:
                        totals["parked_409"] += 1
                    break
                retry = status is None
                if status is not None and status >= 500:
                    k["server_errors"] += 1
                    retry = k["server_errors"] <= 3
                if not retry:
                    record({"key": k["key"], "status": status, "tries": k["tries"],
                            "error": text[:300].decode("utf-8", "replace")})
                    break
                if stopped() and stop_seen is not None and time.monotonic() - stop_seen > args.give_up_after:
                    record({"key": k["key"], "status": status or 0, "tries": k["tries"],
                            "error": "given up after the stop"})
                    break
                time.sleep(rng.uniform(0.05, 0.25))

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps(dict(sorted(totals.items()))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
