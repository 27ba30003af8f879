"""Commands of the customer analytics: `customer-pack`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from opmetrics import console
from opmetrics.cli.options import ResultsDirArg, date_option, open_context


def register(app: typer.Typer) -> None:
    app.command("customer-pack")(customer_pack_cmd)


def customer_pack_cmd(
    results_dir: ResultsDirArg,
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
        date | None,
        date_option(
            "--produced-on",
            "Date shown as produced on the covers, YYYY-MM-DD (default: today, and the "
            "cover then states no timeliness).",
        ),
    ] = None,
) -> None:
    """Per party: a PDF and an XLSX of how it compares, and a CSV of its own failed requests.

    The PDF and the XLSX set the party against the industry average and best, with its place in
    the anonymised league tables and its breakdowns."""
    with open_context() as ctx:
        summary = ctx.customer_packs(
            results_dir, out, parties=party, all_parties=all_parties, produced_on=produced_on
        )
    n = len(summary.files)
    console.success(
        f"{n} customer pack{'s' if n != 1 else ''} for {summary.month} written to {summary.out}"
    )
