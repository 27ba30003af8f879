"""Whole-run commands: `run` (data dir → results → reports) and `demo`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from opmetrics import console
from opmetrics.cli.compute import show_summary
from opmetrics.cli.options import (
    AnonKeyOpt,
    DataDirArg,
    HistoryOpt,
    LabelsOpt,
    MonthOpt,
    ProducedOnOpt,
    ReviewOpt,
    engine_options,
    open_context,
)
from opmetrics.context import demo_produced_on
from opmetrics.defaults import DEMO_MONTH, DEMO_REQUESTS, DEMO_SEED
from opmetrics.engine.options import EngineOptions
from opmetrics.month import Month

if TYPE_CHECKING:
    from opmetrics.context import RunSummary


def register(app: typer.Typer) -> None:
    app.command("run")(run_cmd)
    app.command("demo")(demo_cmd)


@engine_options
def run_cmd(
    data_dir: DataDirArg,
    month: MonthOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for results/ and reports/.")],
    history: HistoryOpt = None,
    produced_on: ProducedOnOpt = None,
    anon_key: AnonKeyOpt = None,
    labels: LabelsOpt = None,
    review: ReviewOpt = None,
    *,
    engine: EngineOptions,
) -> None:
    """Validate, compute and report one month: OUT/results and OUT/reports."""
    with open_context(engine) as ctx:
        summary = ctx.run(
            data_dir,
            month,
            out,
            anon_key=anon_key,
            history=history or (),
            produced_on=produced_on,
            labels=labels,
            review=review,
        )
    _show(summary)


def demo_cmd(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Folder for the demo's data/, results/ and reports/."),
    ] = Path("opmetrics-demo"),
    requests: Annotated[
        int, typer.Option("--requests", help="Service requests in the synthetic month.")
    ] = DEMO_REQUESTS,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic month.")] = DEMO_SEED,
) -> None:
    """Generate a synthetic month and run everything on it: the quickest look at opmetrics."""
    console.info(
        f"opmetrics demo: a synthetic {DEMO_MONTH} with {requests:,} service requests → {out}"
    )
    dated: date = demo_produced_on(Month.parse(DEMO_MONTH))
    console.info(f"(packs dated {dated:%d %B %Y}, as if produced on the MP122 timetable)")
    with open_context() as ctx:
        summary = ctx.demo(out, requests=requests, seed=seed)
    _show(summary)


def _show(summary: RunSummary) -> None:
    show_summary(summary.compute)
    r = summary.reports
    rows = [("results (Parquet, CSV, manifest.json)", str(summary.results_dir))]
    for key, path in r.pdfs.items():
        rows.append((f"PDF: {key}", str(path)))
    rows.append(("HTML dashboard (open index.html)", str(r.dashboard)))
    if r.data_files:
        rows.append(
            (f"data files ({len(r.data_files)} CSV/XLSX)", str(Path(r.data_files[0]).parent))
        )
    console.table("What was written", ["output", "path"], rows)
    if r.late:
        console.warn(f"packs are late: due {r.due_on} ({r.lateness})")
