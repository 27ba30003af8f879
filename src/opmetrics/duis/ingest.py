"""`ingest-duis`: turn a party's DUIS archive into a data dir of the data contract.

A SEC Party keeps the DUIS messages it exchanged with the DCC; from them it can compute its own
business process metrics without waiting for the DCC's packs. The data dir written here holds
`service_requests` (and `alerts` when the archive has alerts, `devices` when an inventory is
given) plus `quarantine.csv` (every message that did not become a row, with its file and
reason) and `ingest.json` (the counts, which reconcile: messages read = used + quarantined).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from opmetrics.catalog import Catalog, load_catalog
from opmetrics.contract.schema import ALERTS, DEVICES, SERVICE_REQUESTS
from opmetrics.defaults import DEFAULT_WAIT_SECONDS, SENT_TIME_MODES, SentTime, package_version
from opmetrics.duis.correlate import (
    ALERTS_ORDER,
    QUARANTINE_ORDER,
    SERVICE_REQUESTS_ORDER,
    UNKNOWN,
    Correlation,
    QuarantinePart,
    Roles,
    correlate,
)
from opmetrics.duis.inventory import Inventory, read_inventory
from opmetrics.duis.reasons import QUARANTINE_SCHEMA
from opmetrics.duis.scan import ScanResult, raw_json, scan_archive
from opmetrics.engine import EngineOptions, connect
from opmetrics.engine.base import Engine
from opmetrics.errors import DataContractError, OutputError, UsageError
from opmetrics.progress import NO_PROGRESS, Progress
from opmetrics.workspace import atomic_output_dir, scratch_dir

MAX_WAIT_SECONDS = 400 * 86_400.0  # the contract finds a response over 400 days late implausible
QUARANTINE_FILE = "quarantine.csv"
MANIFEST_FILE = "ingest.json"


@dataclass
class IngestSummary:
    """What an ingest read, wrote and quarantined; `reconciles` checks the message counts."""

    archive: str
    out: str
    messages_read: int
    requests_read: int
    responses_read: int
    alerts_read: int
    service_requests: int  # rows written
    responses_used: int
    alerts: int  # rows written
    unanswered: int  # rows without a final response within the wait (failures)
    unknown_device: int  # service_requests rows whose device type or region is UNKNOWN
    alerts_unknown_region: int
    quarantined: dict[str, int] = field(default_factory=dict)  # messages, by reason code
    devices: int | None = None  # inventory rows written (None: no inventory given)
    devices_quarantined: int = 0
    archive_end: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def used(self) -> int:
        return self.service_requests + self.responses_used + self.alerts

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())

    @property
    def reconciles(self) -> bool:
        return self.messages_read == self.used + self.quarantined_total

    @property
    def quarantine_path(self) -> str:
        return str(Path(self.out) / QUARANTINE_FILE)


def parse_roles(values: list[str] | None) -> Roles:
    """`--user-role` values: `ROLE` (everyone) and/or `EUI-64=ROLE` (one originator)."""
    default = UNKNOWN
    by_user: dict[str, str] = {}
    for v in values or []:
        if "=" in v:
            user, _, role = v.partition("=")
            user, role = user.strip().upper(), role.strip()
            if not user or not role:
                raise UsageError(f"--user-role {v!r}: expected EUI-64=ROLE")
            by_user[user] = role
        elif v.strip():
            default = v.strip()
        else:
            raise UsageError("--user-role must not be empty")
    return Roles(default, by_user or None)


def ingest_duis(
    archive: str | Path,
    out: str | Path,
    *,
    devices: str | Path | None = None,
    sent_time: SentTime = "auto",
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
    roles: Roles | str | Mapping[str, str] = UNKNOWN,
    catalog: Catalog | str | Path | None = None,
    engine: Engine | Callable[[], Engine] | EngineOptions | None = None,
    progress: Progress = NO_PROGRESS,
) -> IngestSummary:
    """Read a DUIS archive into the data dir `out` (replaced atomically).

    `engine`: an open engine to run on, or what opens one once the arguments are checked (left
    open); or the options of one to open and close here.
    """
    archive, out = Path(archive), Path(out)
    if sent_time not in SENT_TIME_MODES:
        raise UsageError(f"sent time {sent_time!r}: choose one of {', '.join(SENT_TIME_MODES)}")
    if not 0 < wait_seconds < MAX_WAIT_SECONDS:
        raise UsageError(
            f"the wait must be above 0 and below {MAX_WAIT_SECONDS:,.0f} seconds (got {wait_seconds})"
        )
    if isinstance(roles, str):
        roles = Roles(roles)
    elif not isinstance(roles, Roles):
        roles = Roles(UNKNOWN, dict(roles))
    if not archive.exists():
        raise DataContractError("archive not found", path=str(archive))
    if devices is not None and not Path(devices).exists():
        raise DataContractError("device inventory not found", path=str(devices))
    cat = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    _check_out(out)
    with scratch_dir("opmetrics-duis-") as work, _engine(engine) as eng:
        inventory = None
        if devices is not None:
            with progress.task("Reading device inventory") as task:
                inventory = read_inventory(Path(devices), eng, cat, work)
                task.advance()
        with progress.task(f"Reading {archive.name}") as task:
            scan = scan_archive(archive, work, cat, sent_time, task.advance)
        with progress.task("Correlating requests and responses"):
            corr = correlate(
                eng,
                scan,
                cat,
                inventory.table if inventory else None,
                wait_seconds,
                roles,
            )
        with progress.task("Writing data dir"), atomic_output_dir(out) as tmp:
            summary = _write(eng, tmp, archive, out, scan, corr, inventory)
            manifest = {
                "archive": str(archive),
                "opmetrics_version": package_version(),
                "catalog": {"version": cat.meta.version, "sha256": cat.sha256},
                "options": {
                    "devices": str(devices) if devices is not None else None,
                    "sent_time": sent_time,
                    "wait_seconds": wait_seconds,
                    "user_role": roles.default,
                    "user_roles": dict(roles.by_user or {}),
                },
                "summary": {
                    **asdict(summary),
                    "used": summary.used,
                    "quarantined_total": summary.quarantined_total,
                    "reconciles": summary.reconciles,
                },
            }
            (tmp / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    return summary


@contextmanager
def _engine(given: Engine | Callable[[], Engine] | EngineOptions | None) -> Iterator[Engine]:
    """The engine given (or opened by the caller), or one opened and closed for this ingest."""
    if isinstance(given, Engine):
        yield given
    elif callable(given):
        yield given()
    else:
        with connect(given or EngineOptions()) as eng:
            yield eng


def _check_out(out: Path) -> None:
    """Refuse to replace a folder this command did not write (it may hold other tables)."""
    if out.exists() and (
        not out.is_dir() or (any(out.iterdir()) and not (out / MANIFEST_FILE).is_file())
    ):
        raise OutputError(
            "exists and was not written by ingest-duis; choose a new folder or remove it",
            path=str(out),
        )


def _write(
    eng: Engine,
    tmp: Path,
    archive: Path,
    out: Path,
    scan: ScanResult,
    corr: Correlation,
    inventory: Inventory | None,
) -> IngestSummary:
    warnings: list[str] = []
    sr = corr.service_requests
    sr_rows = eng.write_parquet(
        sr,
        tmp / "service_requests.parquet",
        SERVICE_REQUESTS_ORDER,
        SERVICE_REQUESTS.arrow_schema(),
    )
    unanswered, unknown = _count(
        eng,
        sr,
        sr.response_code.isnull(),
        (sr.device_type == UNKNOWN) | (sr.region == UNKNOWN) | (sr.smets == UNKNOWN),
    )
    alert_rows = alerts_unknown = 0
    if scan.alerts_read:
        al = corr.alerts
        alert_rows = eng.write_parquet(
            al, tmp / "alerts.parquet", ALERTS_ORDER, ALERTS.arrow_schema()
        )
        (alerts_unknown,) = _count(eng, al, al.region == UNKNOWN)
    devices_rows = None
    q_parts: list[pa.Table] = []
    if inventory is not None:
        devices_rows = eng.write_parquet(
            inventory.table.select(*DEVICES.column_names),
            tmp / "devices.parquet",
            ["device_id"],
            DEVICES.arrow_schema(),
        )
        warnings += inventory.warnings
        q_parts.append(inventory.quarantine)
    quarantined = dict(scan.unread_by_reason)
    responses_quarantined = 0
    with pacsv.CSVWriter(tmp / QUARANTINE_FILE, QUARANTINE_SCHEMA) as writer:
        for q in q_parts:
            writer.write_table(q)
        _copy_parquet(scan.quarantine, writer)
        for part in corr.quarantine:
            n = _write_part(eng, part, writer, quarantined)
            if part.kind == "responses":
                responses_quarantined += n
    if scan.messages_read == 0:
        warnings.append(f"{archive}: the archive holds no files with messages")
    fix = "add them to the inventory" if inventory is not None else "pass --devices"
    if unknown:
        warnings.append(
            f"{unknown:,} request(s) have device type, SMETS or region UNKNOWN (no inventory entry "
            f"for their device): validate and compute quarantine them ({fix})"
        )
    if alerts_unknown:
        warnings.append(
            f"{alerts_unknown:,} alert(s) have region UNKNOWN (no inventory entry for their "
            f"device): validate and compute quarantine them ({fix})"
        )
    return IngestSummary(
        archive=str(archive),
        out=str(out),
        messages_read=scan.messages_read,
        requests_read=scan.requests_read,
        responses_read=scan.responses_read,
        alerts_read=scan.alerts_read,
        service_requests=sr_rows,
        responses_used=scan.responses_read - responses_quarantined,
        alerts=alert_rows,
        unanswered=unanswered,
        unknown_device=unknown,
        alerts_unknown_region=alerts_unknown,
        quarantined=dict(sorted(quarantined.items())),
        devices=devices_rows,
        devices_quarantined=inventory.quarantine.num_rows if inventory else 0,
        archive_end=scan.latest.isoformat().replace("+00:00", "Z") if scan.latest else None,
        warnings=warnings,
    )


def _count(eng: Engine, t: ir.Table, *conditions: ir.BooleanValue) -> tuple[int, ...]:
    """How many rows of `t` meet each condition (a null condition counts as not met)."""
    got = eng.to_arrow(
        t.aggregate(
            **{
                f"n{i}": ibis.ifelse(c.fill_null(False), 1, 0).sum()
                for i, c in enumerate(conditions)
            }
        )
    ).to_pylist()[0]
    return tuple(int(got[f"n{i}"] or 0) for i in range(len(conditions)))


def _copy_parquet(path: Path, writer: pacsv.CSVWriter) -> None:
    pf = pq.ParquetFile(path)
    for batch in pf.iter_batches():
        writer.write_batch(batch)


def _write_part(
    eng: Engine, part: QuarantinePart, writer: pacsv.CSVWriter, counts: dict[str, int]
) -> int:
    cols = ["_table", "_q_source", "_q_row", "_q_code", "_q_reason", *part.payload]
    n = 0
    expr = part.expr.select(*cols, *QUARANTINE_ORDER)
    for batch in eng.to_arrow_batches(expr, QUARANTINE_ORDER, chunk_size=50_000):
        recs = batch.to_pylist()
        if not recs:
            continue
        out: dict[str, list[Any]] = {f.name: [] for f in QUARANTINE_SCHEMA}
        for r in recs:
            out["table"].append(r["_table"])
            out["source"].append(r["_q_source"])
            out["row"].append(r["_q_row"])
            out["reason_code"].append(r["_q_code"])
            out["reason"].append(r["_q_reason"])
            out["raw"].append(raw_json({k: r[k] for k in part.payload}))
            counts[r["_q_code"]] = counts.get(r["_q_code"], 0) + 1
        writer.write_table(pa.table(out, schema=QUARANTINE_SCHEMA))
        n += len(recs)
    return n
