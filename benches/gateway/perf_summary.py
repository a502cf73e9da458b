#!/usr/bin/env python3
"""Summarises `perf script -F comm,tid,ip,sym --no-inline` output (DWARF call graphs) of
the gateway under load into the few lines a reader needs:

- share of samples per thread kind (tokio workers, sqlx's SQLite worker threads, …);
- share spent in the kernel, and in which kernel paths (scheduling, futex, fsync, net);
- "inclusive" share of each genmux/sqlx/sqlite/hyper function: the fraction of samples
  whose call chain contains it (so parents include their callees);
- "self" share of the leaf user-space functions.

Usage: perf_summary.py SCRIPT_FILE [TOP]
"""
import collections
import re
import sys


def samples(path):
    head, frames = None, []
    with open(path, errors="replace") as f:
        for line in f:
            if not line.strip():
                if head is not None:
                    yield head, frames
                head, frames = None, []
                continue
            if not line.startswith(("\t", " " * 8)) and head is None:
                head = line.split()
                continue
            parts = line.strip().split(None, 1)
            if len(parts) == 2:
                frames.append((parts[0], parts[1].strip()))
    if head is not None:
        yield head, frames


def clean(sym):
    sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
    sym = re.sub(r" \(.*\)$", "", sym)
    sym = re.sub(r"::h[0-9a-f]{16}$", "", sym)
    return sym


INTERESTING = re.compile(
    r"^(<?genmux_|<?sqlx_|sqlite3|<?hyper::proto|<?axum::|<?reqwest::|<?jsonwebtoken|"
    r"<?serde_json::|<?tracing|<?opentelemetry|<?sha2|<?hmac|<?rustls|<?tower_http|"
    r"<?governor|<?uuid|<?time::)"
)
SYSCALL = re.compile(r"__(?:x64|ia32)_sys_(\w+)")


def main():
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    n = 0
    threads = collections.Counter()
    kernel_leaf = 0
    kernel_path = collections.Counter()
    inclusive = collections.Counter()
    leaf_self = collections.Counter()
    for head, frames in samples(path):
        n += 1
        comm = head[0] if head else "?"
        threads[re.sub(r"[-_ ]?\d+$", "", comm)] += 1
        if not frames:
            continue
        syms = [clean(sym) for _, sym in frames]
        # Kernel addresses are in the top half of the address space (ffff...).
        if frames[0][0].startswith("ffff"):
            kernel_leaf += 1
            name = "interrupt/other (no syscall on the stack)"
            for addr, sym in frames:
                if not addr.startswith("ffff"):
                    break
                m = SYSCALL.search(sym)
                if m:
                    name = "syscall " + m.group(1)
                    break
            kernel_path[name] += 1
        else:
            leaf_self[syms[0]] += 1
        seen = set()
        for s in syms:
            if INTERESTING.match(s) and s not in seen:
                seen.add(s)
                inclusive[s] += 1
    if n == 0:
        print("no samples")
        return
    pct = lambda c: f"{100.0 * c / n:5.1f}%"
    print(f"{n} samples")
    print("\nby thread:")
    for t, c in threads.most_common(8):
        print(f"  {pct(c)}  {t}")
    print(f"\nkernel (leaf in kernel): {pct(kernel_leaf)}")
    for k, c in kernel_path.most_common():
        print(f"  {pct(c)}  {k}")
    print(f"\ninclusive (call chain contains), top {top}:")
    for s, c in inclusive.most_common(top):
        print(f"  {pct(c)}  {s[:150]}")
    print(f"\nself, user space, top {top // 2}:")
    for s, c in leaf_self.most_common(top // 2):
        print(f"  {pct(c)}  {s[:150]}")


if __name__ == "__main__":
    main()
