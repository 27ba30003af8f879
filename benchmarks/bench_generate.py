"""Generator throughput and memory: service requests per second and peak RSS.

Each size runs `generate_month` in a fresh process (so peak RSS is that run's alone) and
reports wall time, CPU time (user + system, all threads), requests per second of wall time
and of CPU time, and the peak resident set size. Results go to stdout as a Markdown table
for docs/benchmarks.md.

    uv run python benchmarks/bench_generate.py                     # 10M and 100M requests
    uv run python benchmarks/bench_generate.py --sizes 1000000     # one size
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
import time
from pathlib import Path

CHILD = """
import json, sys
from opmetrics.generate import generate_month
s = generate_month(sys.argv[1], sys.argv[2], int(sys.argv[3]), seed=1)
print(json.dumps({"rows": s.rows, "seconds": s.seconds}))
"""


def run(size: int, month: str, work: Path) -> dict[str, float]:
    out = work / f"month-{size}"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(out), month, str(size)],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"generation of {size:,} requests failed:\n{proc.stderr}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    size_bytes = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    shutil.rmtree(out, ignore_errors=True)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "requests": size,
        "wall_s": wall,
        "cpu_s": cpu,
        "requests_per_s": size / wall,
        "requests_per_cpu_s": size / cpu,
        "peak_rss_gib": after.ru_maxrss / 1024 / 1024,  # ru_maxrss is in KiB on Linux
        "output_gib": size_bytes / 1024**3,
        "setup_s": report["seconds"]["setup"],
        "alerts": report["rows"]["alerts"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000_000, 100_000_000])
    ap.add_argument("--month", default="2021-04")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp dir)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-generate-", dir=args.work))
    try:
        load = os.getloadavg()
        print(
            f"# {platform.node()} {os.cpu_count()} cores, load average {load[0]:.1f} at start, "
            f"Python {platform.python_version()}"
        )
        print(
            "| requests | wall s | CPU s | requests/s (wall) | requests/s (CPU) | peak RSS GiB | output GiB | alerts |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for size in args.sizes:
            r = run(size, args.month, work)
            print(
                f"| {size:,} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['requests_per_s']:,.0f} | "
                f"{r['requests_per_cpu_s']:,.0f} | {r['peak_rss_gib']:.2f} | {r['output_gib']:.2f} | "
                f"{int(r['alerts']):,} |",
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
