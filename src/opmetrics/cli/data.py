"""Commands about inputs and reference data: `validate`, `catalog` (print, import TRTs, write)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from opmetrics import console
from opmetrics.cli.options import STATE, DataDirArg, StrictOpt, engine_options, open_context
from opmetrics.context import Context, restricted_rows_path
from opmetrics.engine.options import EngineOptions
from opmetrics.errors import ExitCode

if TYPE_CHECKING:
    from opmetrics.catalog import Catalog


def register(app: typer.Typer) -> None:
    app.command("validate")(validate_cmd)
    app.command("catalog")(catalog_cmd)


@engine_options
def validate_cmd(
    data_dir: DataDirArg,
    quarantine: Annotated[
        Path | None,
        typer.Option(
            "--quarantine",
            help="Write the list of quarantined rows to this CSV (no values: shareable); their "
            "raw rows, which may name parties, go to restricted/<name>_rows.csv beside it. "
            "Without it validate writes nothing.",
            dir_okay=False,
        ),
    ] = None,
    strict: StrictOpt = False,
    *,
    engine: EngineOptions,
) -> int:
    """Check a data dir against the data contract; count accepted and quarantined rows."""
    with open_context(engine) as ctx:
        summary = ctx.validate(data_dir)
    for w in summary.warnings:
        console.warn(w)
    rows = []
    for t in summary.tables.values():
        reasons = "\n".join(f"{k} {v:,}" for k, v in t.quarantined.items()) or "-"
        rows.append((t.table, t.kind, t.rows_read, t.accepted, t.quarantined_total, reasons))
    console.table(
        f"Validation of {data_dir}",
        ["table", "format", "rows read", "accepted", "quarantined", "by reason"],
        rows,
        justify=["left", "left", "right", "right", "right", "left"],
    )
    if quarantine is None:
        if summary.quarantined_total:
            console.info(
                f"{summary.quarantined_total:,} row(s) quarantined; nothing written (pass "
                "--quarantine FILE for the list of rows and reasons)"
            )
    elif summary.quarantined_total:
        summary.write_quarantine(quarantine)
        console.info(
            f"{summary.quarantined_total:,} quarantined row(s) written to {quarantine} (reasons "
            f"without values); their raw rows to {restricted_rows_path(quarantine)} (may name "
            "parties: do not share)"
        )
    else:
        written = summary.write_quarantine(quarantine)
        emptied = f" ({', '.join(map(str, written))} emptied)" if written else ""
        console.info(f"no row quarantined: no quarantine file written{emptied}")
    if strict and summary.quarantined_total:
        return int(ExitCode.CHANGED)
    return 0


def catalog_cmd(
    section: Annotated[
        str | None,
        typer.Argument(help="Only this section (srv, cpm, trt, response_code, interface, ...)."),
    ] = None,
    reasons: Annotated[
        bool, typer.Option("--reasons", help="List the quarantine reason codes instead.")
    ] = False,
    import_trt: Annotated[
        Path | None,
        typer.Option(
            "--import-trt",
            help="CSV of Target Response Times (srv, execution, device_type, seconds, source; "
            "optional command_variant, clock_start) replacing the catalog's rules of the same scope.",
            dir_okay=False,
        ),
    ] = None,
    write: Annotated[
        Path | None,
        typer.Option(
            "--write",
            help="Write the catalog (with any imported TRTs) as TOML to FILE, to edit and pass "
            "with --catalog FILE.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Print the reference catalog as tables, with the source of every value; or write it."""
    if reasons:
        console.table(
            "Quarantine reason codes",
            ["reason_code", "meaning"],
            sorted(Context.quarantine_reasons().items()),
        )
        console.info(
            "The shared quarantine gives each row's code and a reason that names the column and "
            "the rule, never a value; the detailed reason and the raw row are under restricted/."
        )
        return
    with Context(STATE.catalog_path) as ctx:
        if import_trt is not None:
            ctx.import_trt(import_trt)
        cat = ctx.catalog
        if write is not None:
            still = ctx.write_catalog(write)
            console.info(
                f"catalog written to {write}: {len(cat.trt)} TRT rule(s), {len(still)} value(s) "
                f"still assumed; use it with `opmetrics --catalog {write} ...`"
            )
            return
    print_catalog(cat, "trt" if import_trt is not None and section is None else section)


def print_catalog(cat: Catalog, section: str | None = None) -> None:
    console.out.print(
        f"[bold]{cat.meta.title}[/] version {cat.meta.version} ({cat.path}, sha256 {cat.sha256[:12]})"
    )
    sections: dict[str, tuple[list[str], list[tuple[object, ...]]]] = {
        "region": (
            ["id", "service_provider", "technology", "source"],
            [
                (r.id, r.service_provider, r.technology, _src(r, "service_provider"))
                for r in cat.region
            ],
        ),
        "business_process": (
            ["id", "name", "standing", "in CPM6A", "from", "source"],
            [
                (b.id, b.name, b.standing, b.in_cpm6a, b.reported_from, b.source.value)
                for b in cat.business_processes.values()
            ],
        ),
        "srv": (
            [
                "SRV",
                "name",
                "business process",
                "device types",
                "CVs",
                "critical",
                "on-demand",
                "future-dated",
                "non-device",
                "source",
            ],
            [
                (
                    s.id,
                    s.name,
                    s.business_process,
                    " ".join(s.device_types),
                    ",".join(map(str, s.command_variants)),
                    s.critical,
                    s.on_demand,
                    s.future_dated,
                    s.non_device,
                    _src(s, "business_process", "device_types", "future_dated"),
                )
                for s in cat.srv
            ],
        ),
        "trt": (
            ["id", "execution", "CV", "SRV", "device type", "seconds", "clock start", "source"],
            [
                (
                    t.id,
                    t.execution,
                    t.command_variant or "any",
                    t.srv or "any",
                    t.device_type or "any",
                    t.seconds,
                    t.clock_start,
                    t.source.value,
                )
                for t in cat.trt
            ]
            + [
                (
                    "alerts",
                    "alert",
                    "",
                    "",
                    "",
                    cat.alerts.trt_seconds,
                    "raised",
                    cat.alerts.source.value,
                )
            ],
        ),
        "response_code": (
            ["id", "class", "codes / pattern", "source"],
            [
                (r.id, r.class_, " ".join(r.codes) if r.codes else f"/{r.pattern}/", r.source.value)
                for r in cat.response_code
            ],
        ),
        "cpm": (
            ["CPM", "name", "dimensions", "target %", "minimum %", "source"],
            [
                (
                    c.id,
                    c.name,
                    ", ".join(c.dimensions) or "-",
                    c.target_percent,
                    c.minimum_percent,
                    c.source.value,
                )
                for c in cat.cpm
            ],
        ),
        "interface": (
            ["interface", "SEC item", "in CPM6", "source"],
            [(i.id, i.sec_item, i.in_cpm6, _src(i, "in_cpm6")) for i in cat.interface],
        ),
        "time_band": (
            ["band", "days", "from", "to", "source"],
            [(b.id, " ".join(b.weekdays), b.start, b.end, b.source.value) for b in cat.time_band],
        ),
        "incident_category": (
            ["category", "resolution h", "initial response h", "source"],
            [
                (c.category, c.resolution_hours, c.initial_response_hours or "-", c.source.value)
                for c in cat.incident_category
            ],
        ),
        "device_type": (
            ["id", "name", "fuel", "source"],
            [(d.id, d.name, d.fuel, d.source.value) for d in cat.device_type],
        ),
    }
    if section is not None and section not in sections:
        raise typer.BadParameter(f"unknown section {section!r}; one of {', '.join(sections)}")
    for name, (cols, rows) in sections.items():
        if section in (None, name):
            console.table(name, cols, rows)


def _src(record: object, *fields: str) -> str:
    """The record's source, with each named field whose source differs, e.g.
    `DUIS schema (device_types: DUIS templates; business_process: seed)`."""
    own = record.source.value  # type: ignore[attr-defined]
    other = [
        f"{f}: {record.source_of(f).value}"  # type: ignore[attr-defined]
        for f in fields
        if record.source_of(f).value != own  # type: ignore[attr-defined]
    ]
    return f"{own} ({'; '.join(other)})" if other else own
