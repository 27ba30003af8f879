"""`generate_month`: build a whole synthetic month and write it atomically, with truth.json.

Order matters for determinism and memory: everything fixed for the month (parties, inventory,
incidents, the anomaly offsets solved on a pilot sample) is built first from its own seeded
stream; then requests and alerts are generated chunk by chunk (`chunks`), each chunk from
streams derived from (seed, chunk), in parallel worker processes, while this process writes
the small tables. The output does not depend on timing, threads or the number of workers,
only on the arguments.
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
import pyarrow as pa

from opmetrics.catalog import Catalog, default_catalog
from opmetrics.contract.schema import TABLES
from opmetrics.errors import UsageError
from opmetrics.generator import alerts as alerts_mod
from opmetrics.generator import anomalies, events
from opmetrics.generator import requests as req
from opmetrics.generator.chunks import ChunkJob, ChunkRunner, default_workers
from opmetrics.generator.devices import Inventory, build_inventory, premises_count
from opmetrics.generator.dirty import break_rows
from opmetrics.generator.levels import cpm_levels
from opmetrics.generator.market import Market, build_market
from opmetrics.generator.outcomes import OutcomeModel, build_outcome_model
from opmetrics.generator.scenario import Scenario, load_scenario
from opmetrics.generator.timegrid import TimeGrid, build_grid
from opmetrics.generator.truth import Tally, anomalies_truth, incidents_truth
from opmetrics.generator.writer import (
    Background,
    Layout,
    TableWriter,
    ensure_table,
    join_csv_parts,
    table_files,
)
from opmetrics.month import Month
from opmetrics.progress import NO_PROGRESS, Progress
from opmetrics.workspace import atomic_output_dir

GENERATOR_VERSION = "2"
PILOT_ROWS = 200_000
# Independent random streams: (stream, ...) is the SeedSequence spawn key (chunks: 10-13).
_MARKET, _INVENTORY, _INCIDENTS, _PLAN, _PILOT, _OUTAGES, _FIRMWARE = range(1, 8)
_DIRTY_SMALL = 14


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


def _write_small_tables(
    out: Path,
    s: Scenario,
    seed: int,
    fmt: str,
    dirty: float,
    catalog: Catalog,
    month: tuple[Inventory, Market, pa.Table, pa.Table, pa.Table],
    counts: dict[str, tuple[int, dict[str, int]]],
) -> None:
    """Devices, parties and events (rows written and rows broken per table into `counts`)."""
    inv, market, incidents, outages, firmware = month
    csv = fmt == "csv"
    w = TableWriter(out, "devices", fmt)
    broken: dict[str, int] = {}
    try:
        for i, chunk in enumerate(inv.table_chunks(s)):
            b = break_rows("devices", chunk, dirty, _rng(seed, _DIRTY_SMALL, 100 + i), catalog, csv)
            for k, v in b.counts.items():
                broken[k] = broken.get(k, 0) + v
            w.write(b.table, b.raw_lines)
    finally:
        w.close()
    counts["devices"] = (w.rows, broken)
    for j, (name, tab) in enumerate(
        (
            ("parties", market.table()),
            ("incidents", incidents),
            ("outages", outages),
            ("firmware", firmware),
        )
    ):
        w = TableWriter(out, name, fmt)
        b = break_rows(name, tab, dirty, _rng(seed, _DIRTY_SMALL, j), catalog, csv)
        try:
            w.write(b.table, b.raw_lines)
        finally:
            w.close()
        counts[name] = (w.rows, b.counts)


@dataclass
class MonthPlan:
    """Everything fixed for the month, built before any request (shared with the workers)."""

    grid: TimeGrid
    regions: tuple[str, ...]
    market: Market
    inv: Inventory
    srv_ids: list[str]
    model: OutcomeModel
    incidents: pa.Table
    incident_notes: list[dict[str, object]]
    plan: req.RequestPlan
    subj: anomalies.Subjects
    outages: pa.Table
    major_outages: list[str]
    firmware: pa.Table
    alert_plan: alerts_mod.AlertPlan


def plan_month(s: Scenario, catalog: Catalog, m: Month, requests: int, seed: int) -> MonthPlan:
    """Parties, inventory, incidents and the anomaly offsets solved on a pilot sample."""
    grid = build_grid(m, s.scale.bank_holidays_as_sunday)
    regions = catalog.csp_regions
    market = build_market(s, _rng(seed, _MARKET), len(regions))
    inv = build_inventory(s, market, regions, premises_count(s, requests), _rng(seed, _INVENTORY))
    srv_ids = req.generated_srvs(s, catalog)
    model = build_outcome_model(s, catalog, srv_ids, market, regions)
    incidents, model.incidents, incident_notes = events.build_incidents(
        s, catalog, grid, _rng(seed, _INCIDENTS)
    )
    plan = req.build_plan(s, catalog, grid, market, inv, model, _rng(seed, _PLAN))
    subj = anomalies.resolve(model, market, inv)
    pilot = req.draw_rows_for(
        plan, _rng(seed, _PILOT), PILOT_ROWS, 0.0, 1.0, retries=False, keep_p=True
    )
    anomalies.calibrate(model, subj, pilot, inv)
    req.allow_for_retries(plan, pilot)
    del pilot
    model.terms(inv)  # the calibrated tables, built once and shared with the workers
    anomalies.device_subsets(subj, inv)  # likewise
    outages, major_outages = events.build_outages(s, catalog, grid, _rng(seed, _OUTAGES))
    return MonthPlan(
        grid=grid,
        regions=regions,
        market=market,
        inv=inv,
        srv_ids=srv_ids,
        model=model,
        incidents=incidents,
        incident_notes=incident_notes,
        plan=plan,
        subj=subj,
        outages=outages,
        major_outages=major_outages,
        firmware=events.build_firmware(s, grid, inv, _rng(seed, _FIRMWARE)),
        alert_plan=alerts_mod.build_alert_plan(s, catalog, grid, inv, market),
    )


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
    workers: int | None = None,
) -> GenerationSummary:
    """Write the seven tables of a synthetic month into `out` (atomically) plus truth.json.

    `workers` processes generate the chunks (default: one per CPU, at most 8); the files are
    the same whatever their number.
    """
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
    if workers is not None and workers < 1:
        raise UsageError("--workers must be at least 1")
    catalog = catalog or default_catalog()
    m = month if isinstance(month, Month) else Month.parse(month)
    s = scenario if isinstance(scenario, Scenario) else load_scenario(scenario, catalog)
    seconds: dict[str, float] = {}

    with progress.task("Preparing the month") as task:
        mp = plan_month(s, catalog, m, requests, seed)
        task.advance()
    seconds["setup"] = time.perf_counter() - started
    grid, market, inv, srv_ids, regions = mp.grid, mp.market, mp.inv, mp.srv_ids, mp.regions

    n_chunks = max(1, math.ceil(requests / s.scale.chunk_rows))
    layout: Layout = "days" if partition_by_day else ("file" if n_chunks == 1 else "parts")
    tally = Tally(len(srv_ids), len(regions), market.n, len(grid.days))
    rows_written = dict.fromkeys(TABLES, 0)
    dirty_counts: dict[str, dict[str, int]] = {}

    def count(table: str, counts: dict[str, int]) -> None:
        into = dirty_counts.setdefault(table, {})
        for k, v in counts.items():
            into[k] = into.get(k, 0) + v

    with atomic_output_dir(Path(out)) as tmp:
        job = ChunkJob(
            out=tmp,
            seed=seed,
            requests=requests,
            alerts=round(requests * s.scale.alerts_per_request),
            n_chunks=n_chunks,
            fmt=fmt,
            layout=layout,
            dirty=dirty,
            catalog=catalog,
            grid=grid,
            plan=mp.plan,
            alert_plan=mp.alert_plan,
            subj=mp.subj,
            tally_dims=(len(srv_ids), len(regions), market.n, len(grid.days)),
        )
        t_req = time.perf_counter()
        small: dict[str, tuple[int, dict[str, int]]] = {}
        with (
            progress.task("Generating service requests and alerts", total=requests) as task,
            ChunkRunner(job, workers or default_workers()) as runner,
        ):
            bg = Background()  # started after the workers are forked
            try:
                # the small tables are written here while the chunks are generated
                tables = (inv, market, mp.incidents, mp.outages, mp.firmware)
                bg.submit(
                    partial(_write_small_tables, tmp, s, seed, fmt, dirty, catalog, tables, small)
                )
                for result in runner.results(bg.submit):
                    assert result.tally is not None
                    tally.merge(result.tally)
                    for name, n in result.rows.items():
                        rows_written[name] += n
                    for name, c in result.dirty.items():
                        count(name, c)
                    task.advance(result.requests)
            finally:
                bg.close()
        seconds["requests"] = time.perf_counter() - t_req
        for name, (n, c) in small.items():
            rows_written[name] += n
            count(name, c)
        for name in ("service_requests", "alerts"):
            if fmt == "csv":
                join_csv_parts(tmp, name, n_chunks)
            ensure_table(tmp, name, fmt)
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
            "anomalies": anomalies_truth(mp.model, mp.subj, tally, market, inv),
            "incidents": incidents_truth(mp.incident_notes, tally, grid, regions),
            # every cpm row as the generator counts it, with its intended level and why (with
            # --dirty the small tables lose rows the generator does not re-count: left out)
            "cpm": None
            if dirty
            else cpm_levels(
                s,
                catalog,
                grid,
                tally,
                srv_ids,
                regions,
                mp.incidents,
                mp.outages,
                mp.major_outages,
                mp.firmware,
            ),
            "major_outages": mp.major_outages,
            "dirty": {
                name: dict(sorted(c.items())) for name, c in sorted(dirty_counts.items()) if c
            },
        }
        (tmp / "truth.json").write_text(
            json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        files = {name: table_files(tmp, name) for name in TABLES}
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
