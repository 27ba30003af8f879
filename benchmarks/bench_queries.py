"""Where `opmetrics compute`'s time goes, query by query, and how each query grows with size.

Stage timings (`run.json`) say which stage grows faster than the requests; this says which
engine query. Compute runs in this process (DuckDB, default settings) with the engine's calls
that run a query - `to_arrow`, `keep`, `write_parquet`, `write_parquet_dataset` - timed in wall and CPU seconds. Each
size starts with the page cache dropped (when run as root), as in `bench_scale.py`.

    uv run python benchmarks/bench_queries.py --requests 100000000 300000000

Every call is recorded (`benchmarks/data/results/queries.json`); the table leaves out those
under 0.3 s at every size. With two or more sizes the last column is each query's CPU time at
the last size over the first, the calls matched by their order (compute's queries run in the
same order whatever the size).
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from measure import DATA, drop_page_cache, generated_month, machine

import opmetrics
from opmetrics.engine.base import Engine
from opmetrics.engine.duckdb import DuckDBEngine

MIN_S = 0.3


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _sys_s() -> float:
    """System time alone: on this machine, touching memory the host has taken back (after a
    large month filled the page cache) shows here, not in the user time of the query's work."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


def _describe(result: Any) -> str:
    if hasattr(result, "num_rows"):
        return f"{result.num_rows:,} rows of {', '.join(result.column_names[:4])}"
    if isinstance(result, int):
        return f"{result:,} rows written"
    return f"kept table of {', '.join(result.columns[:4])}"


def _timed(log: list[dict[str, Any]], name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def run(self: Engine, *args: Any, **kwargs: Any) -> Any:
        t0, c0, s0 = time.perf_counter(), _cpu_s(), _sys_s()
        result = fn(self, *args, **kwargs)
        wall = time.perf_counter() - t0
        log.append(
            {
                "call": name,
                "what": _describe(result),
                "s": wall,
                "cpu_s": _cpu_s() - c0,
                "sys_s": _sys_s() - s0,
            }
        )
        return result

    return run


def profile(requests: int) -> dict[str, Any]:
    log: list[dict[str, Any]] = []
    patched = {
        (Engine, "to_arrow"): Engine.to_arrow,
        (DuckDBEngine, "keep"): DuckDBEngine.keep,
        (DuckDBEngine, "write_parquet"): DuckDBEngine.write_parquet,
        (DuckDBEngine, "write_parquet_dataset"): DuckDBEngine.write_parquet_dataset,
    }
    data = generated_month(requests)
    dropped = drop_page_cache()
    try:
        for (cls, name), fn in patched.items():
            setattr(cls, name, _timed(log, name, fn))
        with tempfile.TemporaryDirectory(prefix="opmetrics-bench-queries-") as tmp:
            t0, c0, s0 = time.perf_counter(), _cpu_s(), _sys_s()
            summary = opmetrics.compute(data, month="2021-04", out=Path(tmp) / "results")
            total, cpu, sys_s = time.perf_counter() - t0, _cpu_s() - c0, _sys_s() - s0
    finally:
        for (cls, name), fn in patched.items():
            setattr(cls, name, fn)
    return {
        "requests": requests,
        "page_cache": "dropped" if dropped else "as found",
        "s": total,
        "cpu_s": cpu,
        "sys_s": sys_s,
        "stages_s": summary.timings_s,
        "queries": log,
    }


def print_table(runs: list[dict[str, Any]]) -> None:
    sizes = " | ".join(f"{r['requests']:,} s / CPU s" for r in runs)
    print(
        f"| # | call | result at {runs[-1]['requests']:,} | {sizes} | CPU ratio | user CPU ratio |"
    )
    print("|---:|---|---|" + "---|" * len(runs) + "---:|---:|")
    for i, q in enumerate(runs[-1]["queries"]):
        if max(r["queries"][i]["s"] for r in runs if i < len(r["queries"])) < MIN_S:
            continue
        cells = []
        for r in runs:
            got = r["queries"][i] if i < len(r["queries"]) else None
            cells.append(f"{got['s']:.1f} / {got['cpu_s']:.1f}" if got else "–")
        first = runs[0]["queries"][i] if i < len(runs[0]["queries"]) else None
        same = first is not None and first["call"] == q["call"] and len(runs) > 1
        ratio = f"{q['cpu_s'] / first['cpu_s']:.2f}" if same and first["cpu_s"] else ""
        user = _user_ratio(first, q) if same else ""
        print(f"| {i + 1} | {q['call']} | {q['what']} | {' | '.join(cells)} | {ratio} | {user} |")
    totals = " | ".join(f"{r['s']:.1f} / {r['cpu_s']:.1f}" for r in runs)
    ratio = f"{runs[-1]['cpu_s'] / runs[0]['cpu_s']:.2f}" if len(runs) > 1 else ""
    user = _user_ratio(runs[0], runs[-1]) if len(runs) > 1 else ""
    print(f"| | compute | all | {totals} | {ratio} | {user} |")


def _user_ratio(first: dict[str, Any], last: dict[str, Any]) -> str:
    """User CPU (CPU less system time) at the last size over the first, when both were recorded."""
    if "sys_s" not in first or "sys_s" not in last:
        return ""
    a, b = first["cpu_s"] - first["sys_s"], last["cpu_s"] - last["sys_s"]
    return f"{b / a:.2f}" if a > 0 else ""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, nargs="+", default=[10_000_000])
    args = ap.parse_args()
    print(f"machine: {machine()}", flush=True)
    runs = [profile(n) for n in args.requests]
    out = DATA / "results" / "queries.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(runs, indent=1))
    print_table(runs)
    print(f"written: {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
