"""`generate_month`: build a whole synthetic month and write it atomically, with truth.json.

Order matters for determinism and memory: everything fixed for the month (parties, inventory,
incidents, the anomaly offsets solved on a pilot sample) is built first from its own seeded
stream; then requests and alerts are generated chunk by chunk, each chunk from a stream derived
from (seed, chunk), and handed to a writer thread. The output does not depend on timing or
threads, only on the arguments.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Literal

import numpy as np

from opmetrics.catalog import Catalog, default_catalog
from opmetrics.contract.schema import TABLES
from opmetrics.errors import UsageError
from opmetrics.generate import alerts as alerts_mod
from opmetrics.generate import anomalies, events
from opmetrics.generate import requests as req
from opmetrics.generate.devices import build_inventory, premises_count
from opmetrics.generate.dirty import break_rows
from opmetrics.generate.market import build_market
from opmetrics.generate.outcomes import build_outcome_model
from opmetrics.generate.scenario import Scenario, load_scenario
from opmetrics.generate.timegrid import build_grid
from opmetrics.generate.truth import Tally, anomalies_truth, incidents_truth
from opmetrics.generate.writer import Background, TableWriter
from opmetrics.month import Month
from opmetrics.progress import NO_PROGRESS, Progress
from opmetrics.workspace import atomic_output_dir

GENERATOR_VERSION = "1"
PILOT_ROWS = 200_000
# Independent random streams: (stream, chunk) is the SeedSequence spawn key.
_MARKET, _INVENTORY, _INCIDENTS, _PLAN, _PILOT, _OUTAGES, _FIRMWARE = range(1, 8)
_REQUESTS, _ALERTS, _DIRTY_REQ, _DIRTY_ALERTS, _DIRTY_SMALL = range(10, 15)


@dataclass
class GenerationSummary:
    """What `generate_month` wrote."""

    out: Path
    month: str
    rows: dict[str, int]
    files: dict[str, list[str]]
    truth: Path
    dirty: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def requests_per_second(self) -> float:
        total = self.seconds.get("total", 0.0)
        return self.rows.get("service_requests", 0) / total if total > 0 else 0.0


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def generate_month(
    out: Path | str,
    month: Month | str,
    requests: int = 1_000_000,
    seed: int = 0,
    fmt: Literal["parquet", "csv"] = "parquet",
    scenario: Scenario | Path | str | None = None,
    dirty: float = 0.0,
    partition_by_day: bool = False,
    catalog: Catalog | None = None,
    progress: Progress = NO_PROGRESS,
) -> GenerationSummary:
    """Write the seven tables of a synthetic month into `out` (atomically) plus truth.json."""
    started = time.perf_counter()
    if requests < 1:
        raise UsageError("--requests must be at least 1")
    if seed < 0:
        raise UsageError("--seed must be 0 or more")
    if fmt not in ("parquet", "csv"):
        raise UsageError(f"unknown format {fmt!r}; choose parquet or csv")
    if not 0.0 <= dirty <= 0.5:
        raise UsageError("--dirty must be a fraction between 0 and 0.5")
    if partition_by_day and fmt != "parquet":
        raise UsageError("--partition-by-day writes Parquet folders; use --format parquet")
    catalog = catalog or default_catalog()
    m = month if isinstance(month, Month) else Month.parse(month)
    s = scenario if isinstance(scenario, Scenario) else load_scenario(scenario, catalog)
    csv = fmt == "csv"
    seconds: dict[str, float] = {}

    with progress.task("Preparing the month") as task:
        grid = build_grid(m, s.scale.bank_holidays_as_sunday)
        regions = catalog.csp_regions
        market = build_market(s, _rng(seed, _MARKET), len(regions))
        inv = build_inventory(
            s, market, regions, premises_count(s, requests), _rng(seed, _INVENTORY)
        )
        srv_ids = req.generated_srvs(s, catalog)
        model = build_outcome_model(s, catalog, srv_ids, market, regions)
        incidents, model.incidents, incident_notes = events.build_incidents(
            s, catalog, grid, _rng(seed, _INCIDENTS)
        )
        plan = req.build_plan(s, catalog, grid, market, inv, model, _rng(seed, _PLAN))
        subj = anomalies.resolve(model, market, inv)
        pilot = req.draw_rows_for(plan, _rng(seed, _PILOT), PILOT_ROWS, 0.0, 1.0, retries=False)
        anomalies.calibrate(model, subj, pilot, inv)
        del pilot
        outages = events.build_outages(s, catalog, grid, _rng(seed, _OUTAGES))
        firmware = events.build_firmware(s, grid, inv, _rng(seed, _FIRMWARE))
        alert_plan = alerts_mod.build_alert_plan(s, catalog, grid, inv, market)
        task.advance()
    seconds["setup"] = time.perf_counter() - started

    tally = Tally(len(srv_ids), len(regions), market.n, len(grid.days))
    dirty_counts: dict[str, dict[str, int]] = {}
    n_chunks = max(1, math.ceil(requests / s.scale.chunk_rows))
    n_alerts = round(requests * s.scale.alerts_per_request)

    def count(table: str, counts: dict[str, int]) -> None:
        into = dirty_counts.setdefault(table, {})
        for k, v in counts.items():
            into[k] = into.get(k, 0) + v

    with atomic_output_dir(Path(out)) as tmp:
        bg = Background()
        w_req = TableWriter(tmp, "service_requests", fmt, partition_by_day, grid, "received_at")
        w_alert = TableWriter(tmp, "alerts", fmt, partition_by_day, grid, "raised_at")
        small: dict[str, TableWriter] = {}
        try:
            t_req = time.perf_counter()
            with progress.task("Generating service requests and alerts", total=requests) as task:
                for k in range(n_chunks):
                    lo, hi = k / n_chunks, (k + 1) / n_chunks
                    n_k = requests * (k + 1) // n_chunks - requests * k // n_chunks
                    rows = req.draw_rows_for(plan, _rng(seed, _REQUESTS, k), n_k, lo, hi)
                    rows = req.finish(plan, rows)
                    table = req.to_arrow(plan, rows)
                    group = grid.local_day_of(rows["t"]) if partition_by_day else None
                    b = break_rows(
                        "service_requests",
                        table,
                        dirty,
                        _rng(seed, _DIRTY_REQ, k),
                        catalog,
                        csv,
                        group,
                    )
                    count("service_requests", b.counts)
                    tally.add(model, req.take(rows, np.flatnonzero(~b.broken)), inv, grid, subj)
                    bg.submit(partial(w_req.write, b.table, b.raw_lines))
                    a_k = n_alerts * (k + 1) // n_chunks - n_alerts * k // n_chunks
                    if a_k:
                        ar = alerts_mod.alert_chunk(alert_plan, _rng(seed, _ALERTS, k), a_k, lo, hi)
                        at = alerts_mod.to_arrow(alert_plan, ar)
                        agroup = grid.local_day_of(ar["t"]) if partition_by_day else None
                        ab = break_rows(
                            "alerts", at, dirty, _rng(seed, _DIRTY_ALERTS, k), catalog, csv, agroup
                        )
                        count("alerts", ab.counts)
                        bg.submit(partial(w_alert.write, ab.table, ab.raw_lines))
                    task.advance(n_k)
            seconds["requests"] = time.perf_counter() - t_req
            with progress.task("Writing devices, parties and events") as task:
                w_dev = small["devices"] = TableWriter(tmp, "devices", fmt)
                for i, chunk in enumerate(inv.table_chunks(s)):
                    b = break_rows(
                        "devices", chunk, dirty, _rng(seed, _DIRTY_SMALL, 100 + i), catalog, csv
                    )
                    count("devices", b.counts)
                    bg.submit(partial(w_dev.write, b.table, b.raw_lines))
                for j, (name, tab) in enumerate(
                    (
                        ("parties", market.table()),
                        ("incidents", incidents),
                        ("outages", outages),
                        ("firmware", firmware),
                    )
                ):
                    w = small[name] = TableWriter(tmp, name, fmt)
                    b = break_rows(name, tab, dirty, _rng(seed, _DIRTY_SMALL, j), catalog, csv)
                    count(name, b.counts)
                    bg.submit(partial(w.write, b.table, b.raw_lines))
                task.advance()
        finally:
            bg.close()
            for w in (w_req, w_alert, *small.values()):
                w.close()
        writers = {"service_requests": w_req, "alerts": w_alert, **small}
        rows_written = {name: w.rows for name, w in writers.items()}
        # malformed CSV records were written as raw lines: they are rows of the file too
        for name, counts in dirty_counts.items():
            rows_written[name] += counts.get("malformed_row", 0)
        truth = {
            "generator": {
                "version": GENERATOR_VERSION,
                "scenario": s.meta.name,
                "scenario_sha256": hashlib.sha256(s.model_dump_json().encode()).hexdigest(),
                "catalog_version": catalog.meta.version,
                "catalog_sha256": catalog.sha256,
                "month": str(m),
                "requests": requests,
                "seed": seed,
                "format": fmt,
                "partition_by_day": partition_by_day,
                "dirty": dirty,
                "premises": inv.n_premises,
                "devices": inv.n_devices,
            },
            "rows": {name: rows_written[name] for name in TABLES},
            "counting_rules": "success = I0 or W-code and dsp_attempts <= 3 or null; excluded = user-caused code; failure = every other request, no response included; counted over the rows that pass validation",
            "service_requests": {"by_srv": tally.by_srv(srv_ids, regions)},
            "anomalies": anomalies_truth(model, subj, tally, market, inv),
            "incidents": incidents_truth(incident_notes, tally, grid, regions),
            "dirty": {
                name: dict(sorted(c.items())) for name, c in sorted(dirty_counts.items()) if c
            },
        }
        (tmp / "truth.json").write_text(
            json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        files = {
            name: sorted(str(p.relative_to(tmp)) for p in w.files) for name, w in writers.items()
        }
    seconds["total"] = time.perf_counter() - started
    out_path = Path(out).resolve()
    return GenerationSummary(
        out=out_path,
        month=str(m),
        rows=rows_written,
        files=files,
        truth=out_path / "truth.json",
        dirty=truth["dirty"],  # type: ignore[arg-type]
        seconds=seconds,
    )
