"""Commands about the reporting packs: `report` and `calendar`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from opmetrics import console
from opmetrics.cli.options import (
    HistoryOpt,
    ProducedOnOpt,
    ResultsDirArg,
    ReviewOpt,
    date_option,
    open_context,
)
from opmetrics.month import Month
from opmetrics.reports.fmt import long_date

if TYPE_CHECKING:
    from opmetrics.reports import RenderSummary


def register(app: typer.Typer) -> None:
    app.command("report")(report_cmd)
    app.command("calendar")(calendar_cmd)


def report_cmd(
    results_dir: ResultsDirArg,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Reports folder to write (replaced atomically).")
    ],
    history: HistoryOpt = None,
    produced_on: ProducedOnOpt = None,
    review: ReviewOpt = None,
) -> None:
    """Render the month's PDF packs, the offline HTML dashboard and the data files."""
    with open_context() as ctx:
        summary = ctx.render(
            results_dir, out, history=history or (), produced_on=produced_on, review=review
        )
    show_summary(summary)


def show_summary(s: RenderSummary) -> None:
    for w in s.warnings:
        console.warn(w)
    for cpm, reason in s.not_reportable.items():
        console.warn(f"{cpm} is NOT REPORTABLE for {s.month}: {reason}")
    rows: list[tuple[object, ...]] = [(str(p), s.pages.get(key, "")) for key, p in s.pdfs.items()]
    rows.append((str(s.dashboard), ""))
    rows += [(str(p), "") for p in s.data_files]
    console.table(f"Reports for {s.month}", ["file", "pages"], rows, justify=["left", "right"])
    due = f"due {long_date(s.due_on)}, produced {long_date(s.produced_on)}: {s.lateness}"
    if s.late:
        console.warn(f"the packs are late: {due}")
    else:
        console.success(
            f"{len(s.pdfs)} PDF packs, the dashboard and {len(s.data_files)} data files written to {s.out_dir} ({due})"
        )


def calendar_cmd(
    month: Annotated[str, typer.Argument(help="Reporting month, YYYY-MM.")],
    meeting: Annotated[
        date | None,
        date_option("--opsg", "Date of the Operations Group meeting, YYYY-MM-DD."),
    ] = None,
) -> None:
    """Print the month's reporting deadlines in England & Wales Working Days."""
    from opmetrics.workdays import deadlines, holidays_between, is_working_day

    m = Month.parse(month)
    if meeting is not None and not is_working_day(meeting):
        console.warn(f"the OPSG meeting date {meeting:%A %d %B %Y} is not a Working Day")
    items = deadlines(m, meeting)
    console.table(
        f"Reporting deadlines for {m.title}",
        ["deadline", "date", "rule"],
        [(d.what, f"{d.due_on:%a} {long_date(d.due_on)}", d.rule) for d in items],
    )
    last = max(d.due_on for d in items)
    hols = holidays_between(m.first_day, last)
    if hols:
        console.table(
            "England & Wales bank holidays in that span (not Working Days)",
            ["date", "holiday"],
            [(f"{d:%a} {long_date(d)}", name) for d, name in hols],
        )
