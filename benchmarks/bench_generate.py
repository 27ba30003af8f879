"""Generator throughput and memory: service requests per second and peak memory.

Each size runs `generate_month` in a fresh process (so its memory is that run's alone) and
reports wall time, CPU time (user + system of the process, its threads and its worker
processes), requests per second of wall time and of CPU time, and memory: the peak resident
set of the largest single process, and the peak of the whole process tree measured as the sum
of proportional set sizes (PSS: pages the forked workers share with their parent, such as the
device inventory, count once), sampled every 0.2 s. The load average before and after each
run says how much the machine was shared. Results go to stdout as a Markdown table for
docs/benchmarks.md.

    uv run python benchmarks/bench_generate.py                     # 10M and 100M requests
    uv run python benchmarks/bench_generate.py --sizes 1000000     # one size
    uv run python benchmarks/bench_generate.py --workers 1         # one process
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

CHILD = """
import json, sys
from opmetrics.generator import generate_month
workers = int(sys.argv[4]) if sys.argv[4] != "default" else None
s = generate_month(sys.argv[1], sys.argv[2], int(sys.argv[3]), seed=1, workers=workers)
print(json.dumps({"rows": s.rows, "seconds": s.seconds}))
"""


def _tree(root: int) -> list[int]:
    """`root` and all its descendants (from /proc)."""
    parent: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        parent[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, ppid in parent.items() if ppid in frontier]
        tree += frontier
    return tree


def _memory_kib(pids: list[int]) -> tuple[int, int]:
    """Sum of PSS and largest RSS over `pids`, in KiB."""
    pss, rss = 0, 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                    elif line.startswith("Rss:"):
                        rss = max(rss, int(line.split()[1]))
        except OSError:
            continue
    return pss, rss


class Sampler(threading.Thread):
    """Peak memory of a process tree, sampled until stopped."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak_pss_kib = self.peak_rss_kib = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.every):
            pss, rss = _memory_kib(_tree(self.pid))
            self.peak_pss_kib = max(self.peak_pss_kib, pss)
            self.peak_rss_kib = max(self.peak_rss_kib, rss)


def run(size: int, month: str, work: Path, workers: str) -> dict[str, float]:
    out = work / f"month-{size}"
    load_before = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(out), month, str(size), workers],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sampler = Sampler(proc.pid)
    sampler.start()
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - started
    sampler.stop.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"generation of {size:,} requests failed:\n{stderr}")
    report = json.loads(stdout.strip().splitlines()[-1])
    size_bytes = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    shutil.rmtree(out, ignore_errors=True)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "requests": size,
        "wall_s": wall,
        "cpu_s": cpu,
        "requests_per_s": size / wall,
        "requests_per_cpu_s": size / cpu,
        # ru_maxrss (KiB on Linux) covers the largest process; samples may miss a short peak
        "peak_rss_gib": max(after.ru_maxrss, sampler.peak_rss_kib) / 1024**2,
        "peak_pss_gib": sampler.peak_pss_kib / 1024**2,
        "output_gib": size_bytes / 1024**3,
        "setup_s": report["seconds"]["setup"],
        "alerts": report["rows"]["alerts"],
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000_000, 100_000_000])
    ap.add_argument("--month", default="2021-04")
    ap.add_argument("--workers", default="default", help="worker processes (default: one per CPU)")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp dir)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-generate-", dir=args.work))
    try:
        print(
            f"# {platform.node()} {os.cpu_count()} cores, workers {args.workers}, "
            f"Python {platform.python_version()}"
        )
        print(
            "| requests | wall s | CPU s | requests/s (wall) | requests/s (CPU) | set-up s "
            "| peak RSS GiB (largest process) | peak PSS GiB (all processes) | output GiB "
            "| alerts | load before / after |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for size in args.sizes:
            r = run(size, args.month, work, args.workers)
            print(
                f"| {size:,} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['requests_per_s']:,.0f} | "
                f"{r['requests_per_cpu_s']:,.0f} | {r['setup_s']:.1f} | {r['peak_rss_gib']:.2f} | "
                f"{r['peak_pss_gib']:.2f} | {r['output_gib']:.2f} | {int(r['alerts']):,} | "
                f"{r['load_before']:.1f} / {r['load_after']:.1f} |",
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
