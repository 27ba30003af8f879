"""Command `ingest-duis`: a party's DUIS message archive into a data dir."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from opmetrics import console
from opmetrics.cli.options import StrictOpt, engine_options, open_context
from opmetrics.defaults import DEFAULT_WAIT_SECONDS, SENT_TIME_MODES, SentTime
from opmetrics.engine.options import EngineOptions
from opmetrics.errors import ExitCode, UsageError


def register(app: typer.Typer) -> None:
    app.command("ingest-duis")(ingest_duis_cmd)


@engine_options
def ingest_duis_cmd(
    archive: Annotated[
        Path,
        typer.Argument(
            help="Folder, .zip or .tar.gz of DUIS XML messages (one per file, or one per line "
            "behind a timestamp prefix)."
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Data dir to write (replaced if it exists).")
    ],
    devices: Annotated[
        Path | None,
        typer.Option(
            "--devices",
            help="Device inventory (the contract's devices table, CSV or Parquet): device type, "
            "SMETS and region of each target.",
        ),
    ] = None,
    sent_time: Annotated[
        SentTime,
        typer.Option(
            "--sent-time",
            help="When a request was sent: 'prefix' (the line's timestamp), 'mtime' (the file's "
            "modification time) or 'auto' (the prefix where there is one, else mtime).",
        ),
    ] = "auto",
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            help="Seconds to wait for a final response; none within it = failure.",
        ),
    ] = DEFAULT_WAIT_SECONDS,
    user_role: Annotated[
        list[str] | None,
        typer.Option(
            "--user-role",
            help="User Role of the sender (DUIS headers do not carry it): ROLE for every "
            "originator, or EUI-64=ROLE for one; repeatable. Default UNKNOWN.",
        ),
    ] = None,
    strict: StrictOpt = False,
    *,
    engine: EngineOptions,
) -> int:
    """Read a party's archive of DUIS messages into service_requests (and alerts) tables."""
    if sent_time not in SENT_TIME_MODES:
        raise UsageError(f"--sent-time {sent_time!r}: choose one of {', '.join(SENT_TIME_MODES)}")
    with open_context(engine) as ctx:
        summary = ctx.ingest_duis(
            archive,
            out,
            devices=devices,
            sent_time=sent_time,
            wait_seconds=wait,
            roles=user_role or "UNKNOWN",
        )
    for w in summary.warnings:
        console.warn(w)
    console.table(
        f"DUIS archive {archive}",
        ["messages", "count"],
        [
            ("read", summary.messages_read),
            ("  requests", summary.requests_read),
            ("  responses", summary.responses_read),
            ("  alerts", summary.alerts_read),
            ("used", summary.used),
            ("quarantined", summary.quarantined_total),
        ],
        justify=["left", "right"],
    )
    if summary.quarantined:
        console.table(
            "Quarantined messages by reason",
            ["reason_code", "count"],
            sorted(summary.quarantined.items()),
            justify=["left", "right"],
        )
    rows = [
        ("service_requests", summary.service_requests),
        ("  without final response", summary.unanswered),
    ]
    if summary.alerts_read:
        rows.append(("alerts", summary.alerts))
    if summary.devices is not None:
        rows.append(("devices", summary.devices))
    console.table(f"Data dir {out}", ["table", "rows"], rows, justify=["left", "right"])
    console.info(f"quarantined messages written to {summary.quarantine_path}")
    if strict and summary.quarantined_total:
        return int(ExitCode.CHANGED)
    return 0
