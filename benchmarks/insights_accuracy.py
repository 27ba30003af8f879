"""Insights against the generator's injected anomalies, over several seeds.

For each seed: generate a month (`opmetrics.generator.generate_month`), compute it, and score its
`insights` table against `truth.json` (`tests.analytics.scoring`). Prints one line per seed
and the totals: recall (injected anomalies found with the right kind, subject and action) and
precision (findings that match an injected anomaly), with the findings that were not injected.

    uv run python benchmarks/insights_accuracy.py --requests 1000000 --seeds 1 2 3 4 5
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import opmetrics
from opmetrics.generator import generate_month

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the scoring lives with the tests
from tests.analytics.scoring import score_folders


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--month", default="2021-04")
    ap.add_argument("--json", type=Path, help="Also write the figures here.")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="opmetrics-insights-") as tmp:
        for seed in args.seeds:
            data, res = Path(tmp) / f"d{seed}", Path(tmp) / f"r{seed}"
            t0 = time.perf_counter()
            generate_month(data, args.month, requests=args.requests, seed=seed)
            opmetrics.compute(data, args.month, res)
            s = score_folders(data, res)
            rows.append(
                {
                    "seed": seed,
                    "found": s.found,
                    "missed": s.missed,
                    "findings": s.findings,
                    "not_injected": [
                        {k: r[k] for k in ("kind", "subject", "srv", "requests_affected")}
                        for r in s.not_injected
                    ],
                    "seconds": round(time.perf_counter() - t0, 1),
                }
            )
            print(
                f"seed {seed}: found {sorted(s.found)} (ranks {s.found}), missed {s.missed}, "
                f"{s.findings} findings, {len(s.not_injected)} not injected "
                f"{[r['subject'] + ' ' + r['srv'] for r in s.not_injected]}",
                flush=True,
            )
    injected = sum(len(r["found"]) + len(r["missed"]) for r in rows)
    found = sum(len(r["found"]) for r in rows)
    findings = sum(r["findings"] for r in rows)
    print(
        f"{len(rows)} seeds x {args.requests:,} requests: recall {found}/{injected}, "
        f"precision {found}/{findings}, at most "
        f"{max(len(r['not_injected']) for r in rows)} not-injected finding(s) in a month"
    )
    if args.json:
        args.json.write_text(json.dumps({"requests": args.requests, "seeds": rows}, indent=2))


if __name__ == "__main__":
    main()
