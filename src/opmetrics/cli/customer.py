"""Commands of the customer analytics: `customer-pack`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from opmetrics import console
from opmetrics.cli.state import STATE
from opmetrics.errors import UsageError
from opmetrics.reports.customer_packs import customer_packs


def register(app: typer.Typer) -> None:
    app.command("customer-pack")(customer_pack_cmd)


def customer_pack_cmd(
    results_dir: Annotated[
        Path, typer.Argument(help="Results folder written by `opmetrics compute`.")
    ],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Folder to write (replaced atomically)."),
    ],
    party: Annotated[
        list[str] | None,
        typer.Option("--party", "-p", help="user_id of the party (repeat for several)."),
    ] = None,
    all_parties: Annotated[
        bool,
        typer.Option(
            "--all-parties", help="One pack per party, each in a folder named by its label."
        ),
    ] = False,
    produced_on: Annotated[
        str | None,
        typer.Option("--produced-on", help="Date printed as produced, YYYY-MM-DD (default today)."),
    ] = None,
) -> None:
    """Per party: a PDF and an XLSX against the industry average and best, its place in the
    anonymised league tables, its breakdowns, and a CSV of its own failed requests."""
    when = None
    if produced_on:
        try:
            when = date.fromisoformat(produced_on)
        except ValueError:
            raise UsageError(f"--produced-on {produced_on!r} is not a date YYYY-MM-DD") from None
    with console.RichProgress() as progress:
        summary = customer_packs(
            results_dir,
            out,
            user_ids=party or None,
            all_parties=all_parties,
            produced_on=when,
            catalog=STATE.catalog_path,
            progress=progress,
        )
    n = len(summary.files)
    console.success(
        f"{n} customer pack{'s' if n != 1 else ''} for {summary.month} written to {summary.out}"
    )
