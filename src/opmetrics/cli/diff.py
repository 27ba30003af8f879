"""`diff`: what a restatement changed between two results folders of one month.

Exit code 0 when the folders' tables hold the same rows, 1 when anything differs (for
scripts: `opmetrics diff old new || notify`), 2 on a bad command line or two different
months, 5 when a folder is not a complete results folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from opmetrics import console
from opmetrics.cli.options import open_context
from opmetrics.errors import ExitCode

if TYPE_CHECKING:
    from opmetrics.results.diff import Change, ResultsDiff

SHOWN = 200  # rows printed; --out holds every change


def register(app: typer.Typer) -> None:
    app.command("diff")(diff_cmd)


def diff_cmd(
    old: Annotated[Path, typer.Argument(help="Results folder of the earlier run.")],
    new: Annotated[Path, typer.Argument(help="Results folder of the later run, same month.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write every change to this CSV file."),
    ] = None,
    tolerance: Annotated[
        float,
        typer.Option(
            "--tolerance",
            metavar="POINTS",
            help="Figures that moved by at most this many percentage points count as unchanged "
            "(status changes always count).",
        ),
    ] = 0.0,
) -> int:
    """List every measure that changed between two runs of a month (exit 1 if any did).

    CPM rows (value, status) and srv_summary rates. Exit code 1 when anything changed, 0 when
    nothing did."""
    with open_context() as ctx:
        d = ctx.diff(old, new, tolerance=tolerance)
    if out is not None:
        d.write_csv(out)
    show(d, out)
    return int(ExitCode.CHANGED if d.changed else ExitCode.OK)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.4f}"


def _row(c: Change) -> tuple[str, ...]:
    delta = "" if c.delta is None else f"{c.delta:+.4f}"
    status = ""
    if c.table == "cpm":
        status = (
            f"{c.old_status or '-'} → {c.new_status or '-'}"
            if c.status_changed
            else str(c.new_status)
        )
    return (c.measure, c.key, c.change, _pct(c.old), _pct(c.new), delta, status)


def show(d: ResultsDiff, out: Path | None) -> None:
    cpm = [c for c in d.changes if c.table == "cpm"]
    rates = [c for c in d.changes if c.table == "srv_summary"]
    columns = ["measure", "dimensions", "change", "old %", "new %", "points", "status"]
    justify = ["left", "left", "left", "right", "right", "right", "left"]
    for title, rows in (("CPMs", cpm), ("srv_summary rates", rates)):
        if rows:
            console.table(
                f"{title} that changed ({d.month}: {d.old} → {d.new})",
                columns,
                [_row(c) for c in rows[:SHOWN]],
                justify=justify,
            )
            if len(rows) > SHOWN:
                console.info(
                    f"... {len(rows) - SHOWN:,} more {title} changes"
                    + (f" in {out}" if out else " (--out FILE lists them all)")
                )
    statuses = sum(1 for c in cpm if c.status_changed)
    if out is not None:
        console.info(f"{len(d.changes):,} change(s) written to {out}")
    if d.changed:
        console.warn(
            f"{d.month} changed: {len(cpm):,} CPM row(s) ({statuses:,} with a new status), "
            f"{len(rates):,} srv_summary rate(s); other tables that differ: "
            f"{', '.join(d.other_tables) or 'none'}"
        )
    else:
        console.success(f"{d.month}: nothing changed between {d.old} and {d.new}")
