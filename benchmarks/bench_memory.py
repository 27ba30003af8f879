"""`opmetrics compute` under a DuckDB memory limit: does it finish, and with the same results?

Computes one generated month (default 100M requests, reused from benchmarks/data) twice, each
in a fresh process: with `--memory-limit 2GiB`, then with 80 % of physical memory (DuckDB's own
default, which opmetrics replaces with 3 GiB). DuckDB spills what does not fit to a private
folder of the system's temporary directory, so each run gets its own empty `TMPDIR` and the
folder's size is sampled next to the process tree's resident memory. Every file of the two results folders is then compared: bytes
first, and for Parquet files whose bytes differ, their rows. `run.json` (timings) is expected
to differ and is skipped.

    uv run python benchmarks/bench_memory.py --requests 100000000 --limit 2GiB
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
from measure import Measured, generated_month, machine, measure, opmetrics_cmd

MONTH = "2021-04"
SKIP = {"run.json"}


def _tree_bytes(root: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(dirpath, f)).st_size
    return total


def run(data: Path, out: Path, extra: list[str]) -> tuple[Measured, int]:
    """One compute in its own working directory; returns the measure and the peak spill bytes."""
    cwd = Path(tempfile.mkdtemp(prefix="bench-memory-", dir=out.parent))
    peak_spill = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak_spill
        while not stop.is_set():
            peak_spill = max(peak_spill, _tree_bytes(cwd))
            stop.wait(0.5)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    before = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(cwd)  # the child's scratch and spill folders go there
    try:
        cmd = opmetrics_cmd("compute", str(data), "--month", MONTH, "--out", str(out), *extra)
        m = measure(cmd)
    finally:
        if before is None:
            del os.environ["TMPDIR"]
        else:
            os.environ["TMPDIR"] = before
        stop.set()
        t.join()
    left = _tree_bytes(cwd)
    if left:
        print(f"  note: {left / 2**20:.0f} MiB of scratch files left in {cwd}", file=sys.stderr)
    shutil.rmtree(cwd, ignore_errors=True)
    return m, peak_spill


def compare(a: Path, b: Path) -> list[str]:
    """Differences between two results folders (empty: the same results)."""
    problems = []
    files_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file() and p.name not in SKIP}
    files_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file() and p.name not in SKIP}
    for rel in sorted(files_a ^ files_b):
        problems.append(f"{rel}: only in {'the first' if rel in files_a else 'the second'}")
    for rel in sorted(files_a & files_b):
        if (a / rel).read_bytes() == (b / rel).read_bytes():
            continue
        if rel.suffix == ".parquet" and pq.read_table(a / rel).equals(pq.read_table(b / rel)):
            problems.append(f"{rel}: same rows, different bytes")
            continue
        problems.append(f"{rel}: DIFFERENT")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=100_000_000)
    ap.add_argument("--limit", default="2GiB")
    ap.add_argument("--keep", action="store_true", help="Keep the two results folders.")
    ap.add_argument("--max-load", type=float, default=1.5, help="Wait for a lower load average.")
    ap.add_argument("--wait", type=float, default=3600, help="Longest wait for it, seconds.")
    args = ap.parse_args()

    load = os.getloadavg()[0]
    print(f"machine: {machine()}; load average {load:.2f} at the start")
    data = generated_month(args.requests)
    root = Path(tempfile.mkdtemp(prefix="bench-memory-", dir=data.parent))
    rows = []
    outs = {}
    failed = []
    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    most = f"{int(physical * 0.8) // 2**20}MiB"
    runs = (
        (args.limit, ["--memory-limit", args.limit]),
        (f"{most} (80 %)", ["--memory-limit", most]),
    )
    for i, (label, extra) in enumerate(runs):
        out = root / f"run-{i}"
        deadline = time.monotonic() + args.wait
        while os.getloadavg()[0] >= args.max_load and time.monotonic() < deadline:
            time.sleep(15)  # a shared machine: wait for the others to finish
        t0 = time.time()
        load0 = os.getloadavg()[0]
        m, spill = run(data, out, extra)
        loads = os.getloadavg()
        outcome = "ok" if m.returncode == 0 else f"exit {m.returncode}"
        if m.returncode == 0:
            outs[label] = out
        else:  # -9: killed (by the kernel's OOM killer when memory ran out)
            failed.append(f"{label}: {outcome}\n{m.stderr.strip()[-2000:]}")
        rows.append((label, m.seconds, m.peak_rss_gib, spill / 2**30, load0, loads[0], outcome))
        print(
            f"{label}: {outcome}, {m.seconds:,.1f} s wall, peak RSS {m.peak_rss_gib:.2f} GiB, "
            f"peak spill {spill / 2**30:.2f} GiB, load average {load0:.2f} → {loads[0]:.2f} "
            f"(started {time.strftime('%H:%M', time.localtime(t0))})",
            flush=True,
        )
    print()
    print(
        "| requests | memory limit | outcome | wall s | peak RSS GiB | peak spill GiB | load avg |"
    )
    print("|---:|---|---|---:|---:|---:|---|")
    for label, secs, rss, spill, l0, l1, outcome in rows:
        print(
            f"| {args.requests:,} | {label} | {outcome} | {secs:,.1f} | {rss:.2f} | {spill:.2f} "
            f"| {l0:.1f} → {l1:.1f} |"
        )
    if failed:
        print("\n".join(failed))
        raise SystemExit(1)
    a, b = outs.values()
    problems = compare(a, b)
    same = not [p for p in problems if "DIFFERENT" in p or "only in" in p]
    print()
    print("results:", "the same" if same else "DIFFERENT")
    for p in problems:
        print(f"  {p}")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
