"""Whole-run commands: `run` (data dir → results → reports) and `demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from opmetrics import console
from opmetrics.cli.compute import AnonKeyOpt, LabelsOpt, show_summary
from opmetrics.cli.report import parse_date
from opmetrics.cli.state import (
    EngineOpt,
    MemoryOpt,
    SparkMasterOpt,
    ThreadsOpt,
    open_context,
)
from opmetrics.month import Month
from opmetrics.pipeline import (
    DEMO_MONTH,
    DEMO_REQUESTS,
    DEMO_SEED,
    RunSummary,
    demo,
    demo_produced_on,
    run_month,
)


def register(app: typer.Typer) -> None:
    app.command("run")(run_cmd)
    app.command("demo")(demo_cmd)


def run_cmd(
    data_dir: Annotated[
        Path, typer.Argument(help="Data dir holding one file (or Parquet folder) per table.")
    ],
    month: Annotated[
        str, typer.Option("--month", "-m", help="Reporting month, YYYY-MM (UK local time).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for results/ and reports/.")],
    history: Annotated[
        list[Path] | None,
        typer.Option("--history", help="Earlier months' results folders, for trends."),
    ] = None,
    produced_on: Annotated[
        str | None,
        typer.Option(
            "--produced-on", help="Date the packs are produced (YYYY-MM-DD; default today)."
        ),
    ] = None,
    anon_key: AnonKeyOpt = None,
    labels: LabelsOpt = None,
    engine: EngineOpt = "duckdb",
    spark_master: SparkMasterOpt = None,
    threads: ThreadsOpt = None,
    memory_limit: MemoryOpt = None,
) -> None:
    """Validate, compute and report one month: OUT/results and OUT/reports."""
    produced = parse_date(produced_on, "--produced-on") if produced_on else None
    with open_context(engine, spark_master, threads, memory_limit) as ctx:
        summary = run_month(
            ctx,
            data_dir,
            month,
            out,
            anon_key=anon_key,
            history=tuple(history or ()),
            produced_on=produced,
            labels=labels,
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
    dated = demo_produced_on(Month.parse(DEMO_MONTH))
    console.info(f"(packs dated {dated:%d %B %Y}, as if produced on the MP122 timetable)")
    with open_context() as ctx:
        summary = demo(ctx, out, requests=requests, seed=seed)
    _show(summary)


def _show(summary: RunSummary) -> None:
    show_summary(summary.compute)
    r = summary.reports
    rows = [("results (Parquet, CSV, manifest.json)", str(summary.results_dir))]
    for key, path in getattr(r, "pdfs", {}).items():
        rows.append((f"PDF: {key}", str(path)))
    rows.append(("HTML dashboard (open index.html)", str(getattr(r, "dashboard", ""))))
    files = getattr(r, "data_files", ())
    if files:
        rows.append((f"data files ({len(files)} CSV/XLSX)", str(Path(files[0]).parent)))
    console.table("What was written", ["output", "path"], rows)
    if getattr(r, "late", False):
        console.warn(f"packs are late: due {r.due_on} ({r.lateness})")  # type: ignore[attr-defined]
