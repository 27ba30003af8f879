"""Commands that compute measures: `compute`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from opmetrics import console
from opmetrics.cli.options import (
    AnonKeyOpt,
    DataDirArg,
    LabelsOpt,
    MonthOpt,
    engine_options,
    open_context,
)
from opmetrics.defaults import DEFAULT_MIN_VOLUME, ENV_KEY
from opmetrics.engine.options import EngineOptions
from opmetrics.reports.fmt import exact_percent, percent

if TYPE_CHECKING:
    from opmetrics.results.compute import ComputeSummary


def register(app: typer.Typer) -> None:
    app.command("compute")(compute_cmd)


@engine_options
def compute_cmd(
    data_dir: DataDirArg,
    month: MonthOpt,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Results folder to write (replaced atomically).")
    ],
    anon_key: AnonKeyOpt = None,
    min_volume: Annotated[
        int,
        typer.Option(
            "--min-volume",
            help="Requests (succeeded + failed) a party needs in the month to be ranked and to set the industry best.",
        ),
    ] = DEFAULT_MIN_VOLUME,
    labels: LabelsOpt = None,
    *,
    engine: EngineOptions,
) -> None:
    """Compute the CPMs and the business process results of one month into a results folder."""
    with open_context(engine) as ctx:
        summary = ctx.compute(
            data_dir, month, out, anon_key=anon_key, min_volume=min_volume, labels=labels
        )
    show_summary(summary)


def show_summary(summary: ComputeSummary) -> None:
    """The CPM table in the terminal, not-reportable measures first and loud."""
    m = summary.manifest
    for w in m.warnings:
        console.warn(w)
    if m.anonymisation.key_origin == "demo default":
        console.warn(
            f"party labels use the public demo key; set --anon-key or ${ENV_KEY} for real data"
        )
    rows = []
    for r in summary.cpm.to_pylist():
        if (
            r["cpm"] == "CPM6"
            and r["status"] in ("met", "not_reportable")
            and r["region"] != "North"
        ):
            continue  # CPM6 has 56 rows: show one region per interface unless something is wrong
        dims = " / ".join(
            str(r[k])
            for k in ("business_process", "interface", "region", "time_band", "incident_category")
            if r[k]
        )
        # cut like the reports, so the terminal and the packs print the same figure
        exact = exact_percent(r.get("numerator_exact"), r.get("denominator_exact"))
        value = "" if r["value_percent"] is None else percent(exact or r["value_percent"])
        rows.append(
            (
                r["cpm"],
                dims,
                value,
                f"{r['target_percent']:g}",
                f"{r['minimum_percent']:g}",
                r["status"],
            )
        )
    console.table(
        f"CPMs for {summary.month.title}",
        ["CPM", "dimension", "value %", "target %", "minimum %", "status"],
        rows,
        justify=["left", "left", "right", "right", "right", "left"],
    )
    inp = m.inputs["service_requests"]
    console.info(
        f"service requests: {inp.rows_read:,} read, {inp.accepted:,} accepted, "
        f"{inp.quarantined_total:,} quarantined, {inp.outside_month or 0:,} outside {summary.month}"
    )
    for cpm, reason in m.not_reportable().items():
        console.not_reportable(cpm, reason)
    console.success(f"results written to {summary.out}")
