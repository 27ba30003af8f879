"""Whole runs: `run` (a data dir → results → reports) and `demo` (a generated month, end to end).

`run` is what a reporting analyst does each month; `demo` shows a new user everything opmetrics
produces in about a minute, on a synthetic month from the generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from opmetrics.context import Context
from opmetrics.month import Month
from opmetrics.results.compute import ComputeSummary

DEMO_MONTH = "2021-04"
DEMO_REQUESTS = 1_000_000
DEMO_SEED = 1


@dataclass
class RunSummary:
    data_dir: Path
    results_dir: Path
    reports_dir: Path
    compute: ComputeSummary
    reports: object  # opmetrics.reports.RenderSummary


def run_month(
    ctx: Context,
    data_dir: str | Path,
    month: str | Month,
    out: str | Path,
    *,
    anon_key: str | None = None,
    history: tuple[Path, ...] = (),
    produced_on: date | None = None,
    labels: str | Path | None = None,
) -> RunSummary:
    """validate + compute into `out/results`, then render the packs into `out/reports`.

    `labels`: an earlier month's results folder whose party labels are kept (see `compute`).
    """
    from opmetrics.reports import render

    out = Path(out)
    results, reports = out / "results", out / "reports"
    summary = ctx.compute(data_dir, month, results, anon_key=anon_key, labels=labels)
    rendered = render(
        results,
        reports,
        history=history,
        produced_on=produced_on,
        progress=ctx.progress,
        catalog=ctx.catalog,
    )
    return RunSummary(Path(data_dir), results, reports, summary, rendered)


def demo_produced_on(month: Month) -> date:
    """The date on the demo's packs: five Working Days before they are due, as a team working to
    the MP122 timetable would date them (a real run dates them today)."""
    from opmetrics.workdays import add_working_days, pack_due_date

    return add_working_days(pack_due_date(month), -5)


def demo(
    ctx: Context,
    out: str | Path,
    *,
    requests: int = DEMO_REQUESTS,
    seed: int = DEMO_SEED,
    month: str = DEMO_MONTH,
) -> RunSummary:
    """Generate a synthetic month into `out/data`, then `run_month` on it."""
    from opmetrics.generator import generate_month

    out = Path(out)
    data = out / "data"
    m = Month.parse(month)
    generate_month(data, m, requests, seed, catalog=ctx.catalog, progress=ctx.progress)
    return run_month(ctx, data, m, out, produced_on=demo_produced_on(m))
