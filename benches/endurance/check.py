#!/usr/bin/env python3
"""End-of-run checker of the endurance runs (benches/endurance): reads the gateway's
database (SQLite file or PostgreSQL) and what the callers and the callback receiver saw,
and checks the invariants of design/RELIABILITY.md:

  final   every task is final (succeeded, failed, cancelled) — after a bounded wait
          (--wait) for the last settlements, with progress printed;
  lost    every task a caller was answered 200 for exists (acks file / id list);
  I1      each account's entries, walked in id order, replay its balance
          (running sum = balance_after at every entry, never < 0) and end at
          accounts.balance;
  I2      each task has exactly one hold entry and, being final, exactly one post or
          void entry (a hold whose task row was never written must be voided);
  I3      hold entry = -points of the task = -holds.points; void entry = +held;
          post entry = 0 (posted <= held = quoted); holds.state matches the task
          (succeeded -> posted, failed/cancelled -> voided);
  I4      one task per Idempotency-Key (the key's record names the task its caller was
          answered with; no task under two keys) and no upstream task id shared by two
          tasks;
  hooks   every final task with a callbackUrl has one outbox row, delivered, and the receiver
          logged it at least once, every time with that row's webhook id; no delivery of
          a task the database does not know.

Prints the counts as a table and as one JSON line (--json-out as well); exits 1 when any
check fails (each failure listed, the first 30 in full), 0 otherwise.
Tables and columns: crates/store/migrations/{sqlite,postgres}.
"""
import argparse
import csv
import io
import json
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict

FINAL = {"succeeded", "failed", "cancelled"}

QUERIES = {
    "tasks": "SELECT id, account_id, status, points, provider_task_id, callback_url FROM tasks",
    "entries": "SELECT id, account_id, task_id, kind, amount, balance_after FROM ledger_entries ORDER BY account_id, id",
    "accounts": "SELECT id, balance FROM accounts",
    "holds": "SELECT task_id, account_id, points, state FROM holds",
    "idem": "SELECT account_id, route, idem_key, state, task_id FROM idempotency_keys",
    "outbox": "SELECT webhook_id, task_id, state, attempts FROM outbox",
}
# Integer columns by query (psql's CSV is text; sqlite3 returns typed values).
INT_COLUMNS = {
    "tasks": {"points"},
    "entries": {"id", "amount", "balance_after"},
    "accounts": {"balance"},
    "holds": {"points"},
    "idem": set(),
    "outbox": {"attempts"},
}

PROGRESS = """SELECT
  (SELECT COUNT(*) FROM tasks),
  (SELECT COUNT(*) FROM tasks WHERE status NOT IN ('succeeded', 'failed', 'cancelled')),
  (SELECT COUNT(*) FROM outbox WHERE state = 'pending'),
  (SELECT COUNT(*) FROM holds WHERE state = 'held'),
  (SELECT COUNT(*) FROM outbox WHERE state = 'delivered')"""


class Db:
    """The same SELECTs on either backend; rows as dicts with integer columns as int."""

    def __init__(self, sqlite_path: str | None, pg_url: str | None):
        self.sqlite_path, self.pg_url = sqlite_path, pg_url

    def rows(self, name: str) -> list[dict]:
        sql = QUERIES[name]
        ints = INT_COLUMNS[name]
        if self.sqlite_path:
            con = sqlite3.connect(f"file:{self.sqlite_path}?mode=ro", uri=True, timeout=30)
            try:
                con.row_factory = sqlite3.Row
                return [dict(r) for r in con.execute(sql)]
            finally:
                con.close()
        copy = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true, NULL '\\N')"
        out = subprocess.run(["psql", self.pg_url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", copy],
                             check=True, capture_output=True, text=True).stdout
        rows = []
        for r in csv.DictReader(io.StringIO(out)):
            rows.append({k: (None if v == "\\N" else int(v) if k in ints else v)
                         for k, v in r.items()})
        return rows

    def scalars(self, sql: str) -> list[int]:
        if self.sqlite_path:
            con = sqlite3.connect(f"file:{self.sqlite_path}?mode=ro", uri=True, timeout=30)
            try:
                return [int(x) for x in con.execute(sql).fetchone()]
            finally:
                con.close()
        out = subprocess.run(["psql", self.pg_url, "-X", "-q", "-At", "-F", ",", "-c", sql],
                             check=True, capture_output=True, text=True).stdout
        return [int(x) for x in out.strip().split(",")]


def wait_settled(db: Db, limit: float) -> tuple[bool, float]:
    """Polls until no task is unfinished, no callback pending and no hold unresolved, or
    until `limit` seconds passed; prints progress every 10 s. Returns (settled, seconds)."""
    t0 = time.monotonic()
    last = -1e9
    while True:
        total, unfinished, pending, held, delivered = db.scalars(PROGRESS)
        now = time.monotonic() - t0
        settled = unfinished == 0 and pending == 0 and held == 0
        if settled or now - last >= 10 or now >= limit:
            print(f"[check] t={now:5.0f}s tasks={total} unfinished={unfinished} "
                  f"callbacks pending={pending} delivered={delivered} holds unresolved={held}",
                  file=sys.stderr, flush=True)
            last = now
        if settled:
            return True, now
        if now >= limit:
            return False, now
        time.sleep(2)


def read_jsonl(path: str | None) -> list[dict]:
    if not path:
        return []
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                out.append(json.loads(line))
    return out


def check(db: Db, acks: list[dict], answered_ids: list[str], hooks: list[dict]) -> tuple[dict, list[str]]:
    v: list[str] = []
    tasks = {t["id"]: t for t in db.rows("tasks")}
    entries = db.rows("entries")
    accounts = {a["id"]: a["balance"] for a in db.rows("accounts")}
    holds = {h["task_id"]: h for h in db.rows("holds")}
    idem = db.rows("idem")
    outbox = db.rows("outbox")

    # final
    by_status = Counter(t["status"] for t in tasks.values())
    for t in tasks.values():
        if t["status"] not in FINAL:
            v.append(f"final: task {t['id']} is {t['status']}")

    # lost
    acked = {a["key"]: a["taskId"] for a in acks if a.get("status") == 200}
    for key, tid in acked.items():
        if tid not in tasks:
            v.append(f"lost: key {key} was answered 200 with task {tid}, which the database does not hold")
    for tid in answered_ids:
        if tid not in tasks:
            v.append(f"lost: task {tid} was answered 200 and is not in the database")

    # I1
    per_account: dict[str, list[dict]] = defaultdict(list)
    for e in entries:
        per_account[e["account_id"]].append(e)
    for acct, es in per_account.items():
        running = 0
        for e in es:
            running += e["amount"]
            if running != e["balance_after"]:
                v.append(f"I1: account {acct} entry {e['id']}: running sum {running} != balance_after {e['balance_after']}")
                running = e["balance_after"]
            if running < 0:
                v.append(f"I1: account {acct} entry {e['id']}: balance {running} < 0")
        if acct not in accounts:
            v.append(f"I1: entries of account {acct}, which does not exist")
        elif running != accounts[acct]:
            v.append(f"I1: account {acct}: balance {accounts[acct]} != sum of its entries {running}")
    for acct, bal in accounts.items():
        if acct not in per_account and bal != 0:
            v.append(f"I1: account {acct} has balance {bal} and no entries")
        if bal < 0:
            v.append(f"I1: account {acct} balance {bal} < 0")

    # I2, I3
    per_task: dict[str, list[dict]] = defaultdict(list)
    for e in entries:
        if e["task_id"] is not None and e["kind"] in ("hold", "post", "void"):
            per_task[e["task_id"]].append(e)
    for tid, t in tasks.items():
        es = per_task.get(tid, [])
        kinds = [e["kind"] for e in es]
        h = holds.get(tid)
        if kinds.count("hold") != 1 or h is None:
            v.append(f"I2: task {tid} has {kinds.count('hold')} hold entries, hold row {'present' if h else 'missing'}")
            continue
        res = [e for e in es if e["kind"] in ("post", "void")]
        if t["status"] in FINAL and len(res) != 1:
            v.append(f"I2: final task {tid} ({t['status']}) has {len(res)} post/void entries: {kinds}")
        hold_e = next(e for e in es if e["kind"] == "hold")
        if not (-hold_e["amount"] == t["points"] == h["points"]):
            v.append(f"I3: task {tid}: hold entry {hold_e['amount']}, task points {t['points']}, held {h['points']}")
        for r in res:
            want = 0 if r["kind"] == "post" else h["points"]
            if r["amount"] != want:
                v.append(f"I3: task {tid}: {r['kind']} entry amount {r['amount']}, expected {want}")
        if t["status"] in FINAL:
            want_state = "posted" if t["status"] == "succeeded" else "voided"
            want_kind = "post" if t["status"] == "succeeded" else "void"
            if h["state"] != want_state or [r["kind"] for r in res] != [want_kind]:
                v.append(f"I2: task {tid} {t['status']}: hold {h['state']}, entries {kinds}")
    orphans = [tid for tid in holds if tid not in tasks]
    for tid in orphans:
        kinds = [e["kind"] for e in per_task.get(tid, [])]
        if holds[tid]["state"] != "voided" or kinds != ["hold", "void"]:
            v.append(f"I2: hold {tid} without a task is {holds[tid]['state']} with entries {kinds} (must be voided)")
    for tid in per_task:
        if tid not in holds:
            v.append(f"I2: ledger entries of task {tid} without a hold row")

    # I4
    key_of_task: dict[str, list[str]] = defaultdict(list)
    idem_task = {}
    for r in idem:
        if r["task_id"] is not None:
            key_of_task[r["task_id"]].append(r["idem_key"])
        idem_task[(r["account_id"], r["route"], r["idem_key"])] = r["task_id"]
    for tid, keys in key_of_task.items():
        if len(keys) > 1:
            v.append(f"I4: task {tid} is recorded under {len(keys)} Idempotency-Keys: {keys}")
    by_key = defaultdict(set)
    for (_acct, _route, key), tid in idem_task.items():
        by_key[key].add(tid)
    for key, tid in acked.items():
        recorded = by_key.get(key)
        if recorded is not None and recorded != {tid}:
            v.append(f"I4: key {key} was answered with task {tid}, its record names {sorted(map(str, recorded))}")
    seen_acks = Counter(a["key"] for a in acks)
    for key, n in seen_acks.items():
        if n > 1:
            v.append(f"I4: key {key} has {n} outcomes in the acks file")
    upstream = Counter(t["provider_task_id"] for t in tasks.values() if t["provider_task_id"])
    for pid, n in upstream.items():
        if n > 1:
            v.append(f"I4: upstream task {pid} is shared by {n} tasks")

    # hooks
    out_by_task: dict[str, list[dict]] = defaultdict(list)
    for o in outbox:
        out_by_task[o["task_id"]].append(o)
    hook_ids: dict[str, Counter] = defaultdict(Counter)
    for h in hooks:
        hook_ids[h.get("taskId")][h.get("webhookId")] += 1
    # Only final tasks send a callback; an unfinished one is already reported under "final".
    want_hooks = [t for t in tasks.values() if t["callback_url"] and t["status"] in FINAL]
    delivered_once = 0
    duplicates = 0
    for t in want_hooks:
        rows = out_by_task.get(t["id"], [])
        if len(rows) != 1:
            v.append(f"hooks: task {t['id']} has {len(rows)} outbox rows")
            continue
        row = rows[0]
        if row["state"] != "delivered":
            v.append(f"hooks: task {t['id']} callback is {row['state']} after {row['attempts']} attempts")
        got = hook_ids.get(t["id"])
        if not got:
            v.append(f"hooks: task {t['id']} ({t['status']}): no delivery in the receiver's log")
            continue
        if set(got) != {row["webhook_id"]}:
            v.append(f"hooks: task {t['id']}: webhook ids {dict(got)}, outbox {row['webhook_id']}")
        delivered_once += 1
        duplicates += sum(got.values()) - 1
    for tid in hook_ids:
        if tid not in tasks:
            v.append(f"hooks: delivery for task {tid}, which the database does not hold")

    counts = {
        "tasks": len(tasks),
        "tasks_by_status": dict(sorted(by_status.items())),
        "keys_sent": len(seen_acks),
        "keys_answered_200": len(acked),
        "key_outcomes": dict(sorted(Counter(str(a.get("status")) for a in acks).items())),
        "ids_answered_200": len(answered_ids),
        "accounts": len(accounts),
        "ledger_entries": len(entries),
        "orphan_holds": len(orphans),
        "upstream_task_ids": len(upstream),
        "final_tasks_with_callback": len(want_hooks),
        "callbacks_delivered": delivered_once,
        "callback_deliveries_logged": len(hooks),
        "callback_duplicates": duplicates,
        "outbox_by_state": dict(sorted(Counter(o["state"] for o in outbox).items())),
        "violations": len(v),
    }
    return counts, v


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--sqlite", help="path of the gateway's SQLite database")
    src.add_argument("--postgres", help="postgres:// URL of the gateways' database (psql is used)")
    ap.add_argument("--acks", help="chaos_client.py's key outcomes (JSON lines)")
    ap.add_argument("--answered", help="file of task ids answered 200, one a line")
    ap.add_argument("--hooks", help="receiver.py's log (JSON lines)")
    ap.add_argument("--wait", type=float, default=0, help="seconds to wait for everything to settle first")
    ap.add_argument("--json-out", help="also write the counts (and violations) here as JSON")
    args = ap.parse_args()
    db = Db(args.sqlite, args.postgres)
    settled, waited = (True, 0.0)
    if args.wait > 0:
        settled, waited = wait_settled(db, args.wait)
    answered = []
    if args.answered:
        with open(args.answered, encoding="utf-8") as f:
            answered = [line.strip() for line in f if line.strip()]
    counts, violations = check(db, read_jsonl(args.acks), answered, read_jsonl(args.hooks))
    counts["settled_within_wait"] = settled
    counts["settle_seconds"] = round(waited, 1)
    for k, val in counts.items():
        print(f"  {k:28} {val}")
    for line in violations[:30]:
        print(f"  VIOLATION {line}")
    if len(violations) > 30:
        print(f"  … and {len(violations) - 30} more")
    print(json.dumps(counts), flush=True)
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump({"counts": counts, "violations": violations}, f, indent=1)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
