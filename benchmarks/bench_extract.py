"""The restricted extract of failed requests alone: what re-checking every row and one sorted
file cost, against the extract from the quarantine's keys written as a dataset by label.

On a generated month (DuckDB, default settings, in this process), after the steps compute runs
before it (value lookup, device sets, the quarantine fetch), each variant is run `--repeat`
times, alternating, and timed in wall and CPU seconds (user + system of this process, DuckDB's
threads included); the table shows the medians.

- checked, one file: `checked_failures` (every row rule evaluated again, every column read)
  sorted into one Parquet file (`Engine.write_parquet`): the extract before the dataset layout;
- unchecked, one file: `failed_requests` (the quarantined rows dropped by file and row), the
  same one file;
- unchecked, dataset: `failed_requests` written by `Engine.write_parquet_dataset`, one sort
  of every failed row (what compute ran before the parts);
- unchecked, dataset in parts: the same, one `failed_requests` per group of the requests'
  files (`TableSource.split` into `Engine.sort_parts` parts), each sorted on its own (what
  compute runs now; one part below `SORT_ROWS` failed rows, so the same as the variant before).

    uv run python benchmarks/bench_extract.py --requests 2000000 6000000
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from measure import DATA, generated_month, machine

from opmetrics.catalog import default_catalog
from opmetrics.contract.sources import locate_all
from opmetrics.engine import EngineOptions, connect
from opmetrics.measures import failures
from opmetrics.measures.requests import (
    device_set_ids,
    request_facts,
    request_values,
    run_aggregation,
)
from opmetrics.month import Month
from opmetrics.results.schema import PARTY_FAILURES
from opmetrics.validation.validate import checked_table, fetch_quarantined, validate

VARIANTS = (
    "checked, one file",
    "unchecked, one file",
    "unchecked, dataset",
    "unchecked, dataset in parts",
)


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def profile(requests: int, repeat: int) -> dict[str, Any]:
    data = generated_month(requests)
    month = Month.parse("2021-04")
    catalog = default_catalog()
    times: dict[str, list[tuple[float, float]]] = {v: [] for v in VARIANTS}
    rows: dict[str, int] = {}
    with connect(EngineOptions(name="duckdb")) as engine, tempfile.TemporaryDirectory() as tmp:
        sources = locate_all(data, dates=month.days)
        sr = sources["service_requests"]
        lookups: dict[str, pa.Table] = {}
        checked = checked_table(engine, sr, catalog, derive=request_values, lookups=lookups)
        devices = validate(engine, {"devices": sources["devices"]}, catalog, Path(tmp))
        device_ids, sets = device_set_ids(devices.accepted("devices"), engine)
        facts = request_facts(checked, device_ids, catalog, month)
        agg = run_aggregation(facts, engine, lookups["service_requests"], sets)
        failed = int(pc.sum(agg.fine["failed"]).as_py() or 0)
        labels = {
            u: f"P-{i:06X}" for i, u in enumerate(sorted(set(agg.fine["user_id"].to_pylist())))
        }
        keys = fetch_quarantined(engine, checked).select(list(failures.KEYS))
        lookup = lookups["service_requests"]
        order = [failures.PARTY_KEY, *failures.ORDER]
        for i in range(repeat):
            for v in VARIANTS:
                out = Path(tmp) / f"{i}-{VARIANTS.index(v)}"
                parts = sr.split(engine.sort_parts(failed)) if v.endswith("in parts") else [sr]
                expr = (
                    [failures.checked_failures(engine, facts, lookup, labels, sets)]
                    if v.startswith("checked")
                    else [
                        failures.failed_requests(
                            engine, part, catalog, month, lookup, keys, device_ids, labels, sets
                        )
                        for part in parts
                    ]
                )
                t0, c0 = time.perf_counter(), _cpu_s()
                if v.endswith("one file"):
                    n = engine.write_parquet(expr[0], out, order, PARTY_FAILURES, rows=failed)
                else:
                    n = engine.write_parquet_dataset(
                        expr,
                        out,
                        failures.PARTY_KEY,
                        failures.ORDER,
                        PARTY_FAILURES,
                        rows=failed,
                        spread_by="received_at",
                    )
                times[v].append((time.perf_counter() - t0, _cpu_s() - c0))
                rows[v] = n
                if out.is_dir():
                    shutil.rmtree(out)
                else:
                    out.unlink()
    assert len(set(rows.values())) == 1, rows
    return {
        "requests": requests,
        "rows": rows[VARIANTS[0]],
        "quarantined_keys": keys.num_rows,
        "runs": {v: [{"s": s, "cpu_s": c} for s, c in times[v]] for v in VARIANTS},
        "median": {
            v: {
                "s": statistics.median(s for s, _ in times[v]),
                "cpu_s": statistics.median(c for _, c in times[v]),
            }
            for v in VARIANTS
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, nargs="+", default=[2_000_000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"machine: {machine()}", flush=True)
    runs = [profile(n, args.repeat) for n in args.requests]
    out = DATA / "results" / "extract.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(runs, indent=1))
    print("| requests | failed rows | " + " | ".join(f"{v} s / CPU s" for v in VARIANTS) + " |")
    print("|---:|---:|" + "---|" * len(VARIANTS))
    for r in runs:
        cells = " | ".join(
            f"{r['median'][v]['s']:.2f} / {r['median'][v]['cpu_s']:.2f}" for v in VARIANTS
        )
        print(f"| {r['requests']:,} | {r['rows']:,} | {cells} |")


if __name__ == "__main__":
    main()
