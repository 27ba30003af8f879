"""`opmetrics validate` on a generated month: wall time and peak RSS (issue: 10M rows < 30 s).

uv run python benchmarks/bench_validate.py --requests 10000000
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from measure import generated_month, machine, measure, opmetrics_cmd


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, nargs="+", default=[10_000_000])
    args = ap.parse_args()
    print(f"machine: {machine()}")
    print("| service requests | validate wall s | rows/s | peak RSS GiB |")
    print("|---:|---:|---:|---:|")
    for n in args.requests:
        data = generated_month(n)
        with tempfile.TemporaryDirectory() as tmp:
            m = measure(
                opmetrics_cmd("validate", str(data), "--quarantine", str(Path(tmp) / "q.csv"))
            )
        if m.returncode != 0:
            raise SystemExit(m.stderr)
        print(f"| {n:,} | {m.seconds:.1f} | {n / m.seconds:,.0f} | {m.peak_rss_gib:.2f} |")


if __name__ == "__main__":
    main()
