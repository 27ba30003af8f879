"""Benchmark: render a month's reports (`opmetrics.reports.render`) from results of several sizes.

Results are aggregates, so their size grows with the number of parties (srv_party, benchmark,
league tables), device sets and quarantined rows, not with the month's request volume. This
renders deterministic results folders from `tests/reports/fake_results.py` with 20, 100 and 300
parties, one with 300 parties plus 1,000,000 quarantined rows and 500,000 device-set rows (a badly
broken input month), and optionally a real results folder (`--results DIR`, e.g. from
`opmetrics compute`), each in a fresh process, and prints wall time, peak RSS and output sizes as
a Markdown table for docs/benchmarks.md.

    python3 -m uv run python benchmarks/bench_report.py [--results DIR] [--quick]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
from datetime import date
from opmetrics.reports import render
t = time.perf_counter()
s = render(sys.argv[1], sys.argv[2], produced_on=date(2021, 6, 1))
print(json.dumps({"seconds": time.perf_counter() - t, "stages": s.seconds, "charts": s.charts,
                  "pages": sum(s.pages.values())}))
"""


def build(folder: Path, parties: int, broken: bool) -> Path:
    sys.path.insert(0, str(ROOT))
    import pyarrow as pa

    from opmetrics.results.io import write_table
    from opmetrics.results.schema import QUARANTINE, SRV_DEVICE_SET
    from tests.reports.fake_results import write_fake_results

    write_fake_results(folder, n_parties=parties, seed=11)
    if broken:
        n = 1_000_000
        q = pa.table(
            {
                "table": pa.array(["service_requests"] * n),
                "source": pa.array(["service_requests.csv"] * n),
                "row": pa.array(range(2, n + 2), pa.int64()),
                "reason_code": pa.array(["invalid_value"] * n),
                "reason": pa.array(["value does not parse: received_at"] * n),
            },
            schema=QUARANTINE,
        )
        write_table(folder, "quarantine", q)
        m = 500_000
        ds = pa.table(
            {
                "month": ["2021-04"] * m,
                "business_process": ["meter_reads"] * m,
                "srv": ["4.6.1"] * m,
                "party_label": [f"P-{i % parties:06X}" for i in range(m)],
                "adaptor": [f"Adaptor {i % 7}" for i in range(m)],
                "region": [("North", "Central", "South", "SMETS1")[i % 4] for i in range(m)],
                "device_type": ["ESME"] * m,
                "comms_hub_model": [f"CH-{i % 5}" for i in range(m)],
                "meter_model": [f"M-{i % 40}" for i in range(m)],
                "firmware_version": [f"{i % 9}.{i % 3}" for i in range(m)],
                "submitted": pa.array([100] * m, pa.int64()),
                "succeeded": pa.array([97] * m, pa.int64()),
                "failed": pa.array([2] * m, pa.int64()),
                "excluded": pa.array([1] * m, pa.int64()),
            },
            schema=SRV_DEVICE_SET,
        )
        write_table(folder, "srv_device_set", ds)
    return folder


def measure(results: Path, out: Path) -> dict[str, object]:
    proc = psutil.Popen(
        [sys.executable, "-c", CHILD, str(results), str(out)], stdout=subprocess.PIPE, cwd=ROOT
    )
    peak, cpu = 0, 0.0
    while proc.poll() is None:
        try:
            peak = max(peak, proc.memory_info().rss)
            t = proc.cpu_times()
            cpu = t.user + t.system
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    stdout = proc.stdout.read() if proc.stdout else b""
    if proc.returncode != 0:
        raise SystemExit(f"render failed on {results}")
    got: dict[str, object] = json.loads(stdout.decode().strip().splitlines()[-1])
    got["peak_rss_mib"] = peak / 2**20
    got["cpu_s"] = cpu
    got["results_mib"] = sum(p.stat().st_size for p in results.rglob("*.parquet")) / 2**20
    got["output_mib"] = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20
    return got


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--results", type=Path, action="append", default=[], help="also render this results folder"
    )
    ap.add_argument("--quick", action="store_true", help="only the 20-party month")
    args = ap.parse_args()
    cases = [("20 parties", 20, False)]
    if not args.quick:
        cases += [
            ("100 parties", 100, False),
            ("300 parties", 300, False),
            ("300 parties, 1M quarantined, 0.5M device sets", 300, True),
        ]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        for label, parties, broken in cases:
            res = build(Path(tmp) / f"res-{parties}-{broken}", parties, broken)
            rows.append((label, measure(res, Path(tmp) / "out")))
            shutil.rmtree(Path(tmp) / "out", ignore_errors=True)
        for r in args.results:
            rows.append((f"computed results {r.name}", measure(r, Path(tmp) / "out")))
            shutil.rmtree(Path(tmp) / "out", ignore_errors=True)
    load = ", ".join(f"{x:.1f}" for x in psutil.getloadavg())
    print(f"Reports benchmark, {date.today()}, {psutil.cpu_count()} CPUs, load average {load}\n")
    print(
        "| results | results (Parquet) | wall time | CPU time | charts | PDF pages | peak RSS | output | stages, wall (s) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for label, g in rows:
        stages = ", ".join(f"{k} {v:.1f}" for k, v in g["stages"].items() if k != "total")  # type: ignore[attr-defined]
        print(
            f"| {label} | {g['results_mib']:.1f} MiB | {g['seconds']:.1f} s | {g['cpu_s']:.1f} s | {g['charts']} | {g['pages']} | "
            f"{g['peak_rss_mib']:.0f} MiB | {g['output_mib']:.1f} MiB | {stages} |"
        )


if __name__ == "__main__":
    main()
