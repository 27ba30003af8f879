"""`opmetrics generate`: write a synthetic month (all seven tables plus truth.json)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from opmetrics import console
from opmetrics.cli.options import MonthOpt, open_context
from opmetrics.defaults import GENERATE_MONTH, GENERATE_REQUESTS, GENERATE_SEED


def register(app: typer.Typer) -> None:
    app.command("generate")(generate_cmd)


def generate_cmd(
    out: Annotated[Path, typer.Option("--out", help="Data dir to write (replaced atomically).")],
    month: MonthOpt = GENERATE_MONTH,
    requests: Annotated[
        int, typer.Option("--requests", help="Service requests to generate.")
    ] = GENERATE_REQUESTS,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed: same arguments, same bytes.")
    ] = GENERATE_SEED,
    fmt: Annotated[str, typer.Option("--format", help="parquet (default) or csv.")] = "parquet",
    scenario: Annotated[
        Path | None,
        typer.Option(
            "--scenario", help="Scenario TOML merged over the shipped default.", dir_okay=False
        ),
    ] = None,
    dirty: Annotated[
        float, typer.Option("--dirty", help="Fraction of rows to break, for robustness tests.")
    ] = 0.0,
    partition_by_day: Annotated[
        bool,
        typer.Option(
            "--partition-by-day",
            help="Write service_requests/ and alerts/ as date=YYYY-MM-DD/part-*.parquet folders.",
        ),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            metavar="N",
            help="Processes generating chunks (default: one per CPU, at most 8); the files do not depend on it.",
            min=1,
        ),
    ] = None,
) -> None:
    """Generate a realistic synthetic month with its ground truth (truth.json)."""
    with open_context() as ctx:
        summary = ctx.generate(
            out,
            month,
            requests=requests,
            seed=seed,
            fmt=fmt,
            scenario=scenario,
            dirty=dirty,
            partition_by_day=partition_by_day,
            workers=workers,
        )
    console.table(
        f"Generated {summary.month} in {summary.out}",
        ["table", "rows", "broken on purpose"],
        [
            (name, rows, sum(summary.dirty.get(name, {}).values()) or "-")
            for name, rows in summary.rows.items()
        ],
        justify=["left", "right", "right"],
    )
    total = summary.seconds.get("total", 0.0)
    console.success(
        f"{summary.rows.get('service_requests', 0):,} service requests in {total:.1f} s "
        f"({summary.requests_per_second:,.0f} per second); ground truth in {summary.truth}"
    )
