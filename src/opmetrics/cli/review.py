"""`opmetrics review init`: the month's starter review file for SECAS and the DCC."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from opmetrics import console
from opmetrics.cli.options import ResultsDirArg, date_option, open_context
from opmetrics.reports.fmt import long_date

review_app = typer.Typer(
    help="The OPSG review of a month: the reviewers' file (docs/review.md).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")


@review_app.command("init")
def init_cmd(
    results_dir: ResultsDirArg,
    opsg: Annotated[
        date,
        date_option("--opsg", "Date of the OPSG meeting that reviews the month, YYYY-MM-DD."),
    ],
    previous: Annotated[
        Path | None,
        typer.Option(
            "--previous",
            metavar="PREV_REVIEW",
            dir_okay=False,
            help="Last month's review file: its actions that are not closed are carried forward.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="File to write (default: opsg-review-YYYY-MM.toml here)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write a starter review file for the OPSG review of a month.

    It lists the month's standing metrics and findings to comment on, its ad-hoc list, and last
    month's open actions."""
    with open_context() as ctx:
        s = ctx.review_init(results_dir, opsg, previous=previous, out=out, force=force)
    carried = f", {len(s.carried)} action(s) carried forward" if s.carried else ""
    closed = f" ({len(s.dropped)} closed action(s) not carried)" if s.dropped else ""
    console.success(
        f"{s.path}: review of {s.month} for the OPSG meeting of {long_date(s.opsg_meeting)} "
        f"(paper day {long_date(s.paper_day)}): {s.metrics} metrics, {s.findings} findings, "
        f"{s.adhoc} ad-hoc items{carried}{closed}"
    )
