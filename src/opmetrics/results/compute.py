"""`compute`: one month of a data dir → a results folder (design §2, §4, §5).

The order of work is what keeps it fast and honest:
1. locate and structurally check every table (fail early, exit 2);
2. validate the small tables and the alerts/firmware tables (counts + quarantine);
3. one aggregation pass over the service requests, which also counts their quarantine reasons;
4. the event measures (CPM3, CPM4-5A, CPM6, CPM6B/C);
5. every results table derived from the aggregates on the client;
6. the restricted extract of failed requests, written by the engine as a Parquet dataset by
   party label, from the rows the quarantine left accepted (`measures/failures.py`);
7. everything written into a temporary folder that replaces the target atomically.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from opmetrics.analytics import DEFAULT_MIN_VOLUME, analytics_tables
from opmetrics.catalog import Catalog
from opmetrics.catalog.assumptions import OVERRIDE, assumed_values, trt_rules_of_srv
from opmetrics.contract.schema import FILE_COLUMN, ROW_COLUMN, TABLES
from opmetrics.contract.sources import TableSource, locate_all, stage_csv
from opmetrics.defaults import package_version
from opmetrics.engine.base import Engine, stopped_on_error
from opmetrics.errors import NoDataError
from opmetrics.measures import derive, failures, rtt
from opmetrics.measures.alerts import alert_counts, alerts_daily, alerts_summary, cpm3_from_counts
from opmetrics.measures.anonymise import AnonKey, assign_labels
from opmetrics.measures.availability import cpm6
from opmetrics.measures.firmware import cpm6bc
from opmetrics.measures.incidents import cat12_incident_days, incident_cpms
from opmetrics.measures.requests import (
    RequestAggregates,
    delivery_proxy_srvs,
    device_set_ids,
    request_facts,
    request_values,
    run_aggregation,
)
from opmetrics.month import Month
from opmetrics.progress import NO_PROGRESS, Progress
from opmetrics.results import schema as rs
from opmetrics.results.io import write_manifest, write_run_record, write_table
from opmetrics.results.labels import (
    LabelRegistry,
    label_record,
    label_warnings,
    load_registry,
    write_label_file,
)
from opmetrics.results.manifest import (
    SCHEMA_VERSION,
    Anonymisation,
    AssumedValue,
    AssumedValues,
    CatalogRecord,
    InputFile,
    InputRecord,
    Manifest,
    Percentiles,
    Reportability,
    Reproduce,
    TableRecord,
)
from opmetrics.validation.validate import (
    QUARANTINE_ROWS_SCHEMA,
    TableReport,
    checked_table,
    extra_column_warnings,
    fetch_quarantined,
    quarantine_rows,
    shared_quarantine,
    validate,
)
from opmetrics.workspace import atomic_output_dir

CPM_ORDER = ("CPM1", "CPM2", "CPM3", "CPM4", "CPM5", "CPM5A", "CPM6", "CPM6A", "CPM6B", "CPM6C")


@dataclass
class ComputeSummary:
    """What a compute run produced (the manifest, and where)."""

    out: Path
    month: Month
    manifest: Manifest
    tables: dict[str, pa.Table] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)  # also in run.json, not the manifest

    @property
    def cpm(self) -> pa.Table:
        return self.tables["cpm"]


class _Timer:
    def __init__(self) -> None:
        self.stages: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = round(self.stages.get(name, 0.0) + time.perf_counter() - t0, 3)


@dataclass(frozen=True)
class MonthInputs:
    """What a month's computation reads, found and checked before an engine is opened: a
    missing data dir, a broken table file or labels file is one line at once, not after an
    engine's start-up (a Spark session takes seconds and writes its own lines first)."""

    data_dir: Path
    work_dir: Path  # CSV tables staged here, and the validation's scratch files
    sources: dict[str, TableSource]
    labels_from: Path | None
    registry: LabelRegistry | None
    locate_s: float


def month_inputs(
    data_dir: Path,
    month: Month,
    work_dir: Path,
    anon_key: AnonKey,
    progress: Progress = NO_PROGRESS,
    labels_from: Path | None = None,
) -> MonthInputs:
    """Locate and structurally check every table of `data_dir` (day partitions of other months
    pruned; CSV staged in `work_dir`), and read the earlier labels (`labels_from`)."""
    registry = load_registry(labels_from, anon_key) if labels_from is not None else None
    timer = _Timer()
    with progress.task("Reading inputs") as task, timer.stage("locate"):
        sources = locate_all(data_dir, dates=month.days)
        for src in sources.values():
            if src.kind == "csv":
                stage_csv(src, work_dir)
        task.advance()
    return MonthInputs(data_dir, work_dir, sources, labels_from, registry, timer.stages["locate"])


@stopped_on_error
def compute_month(
    engine: Engine,
    catalog: Catalog,
    inputs: MonthInputs,
    month: Month,
    out: Path,
    anon_key: AnonKey,
    progress: Progress = NO_PROGRESS,
    party_failures: bool = True,
    min_volume: int = DEFAULT_MIN_VOLUME,
) -> ComputeSummary:
    """One month's results folder from its located inputs (`month_inputs`). Work started side
    by side (`Engine.beside`, on an engine that runs queries so) is stopped if anything fails."""
    timer = _Timer()
    timer.stages["locate"] = inputs.locate_s
    data_dir, work_dir, sources = inputs.data_dir, inputs.work_dir, inputs.sources
    registry, labels_from = inputs.registry, inputs.labels_from
    sr_source = sources["service_requests"]
    others = {k: v for k, v in sources.items() if k != "service_requests"}

    # The requests' value lookup and duplicate keys need no other table: on an engine that runs
    # queries side by side (Spark) they run while the other tables are checked.
    lookups: dict[str, pa.Table] = {}
    sr_checked = engine.beside(
        lambda: checked_table(engine, sr_source, catalog, derive=request_values, lookups=lookups)
    )
    with (
        progress.task("Validating reference and event tables", total=len(others)) as task,
        timer.stage("validate_tables"),
    ):
        vres = validate(engine, others, catalog, work_dir, on_table=lambda n: task.advance())
    accepted = {name: vres.accepted(name) for name in others}
    # The event measures read none of the requests: beside the requests' aggregation.
    events = engine.beside(lambda: _event_measures(engine, accepted, catalog, month))

    with (
        progress.task("Aggregating service requests (one pass)") as task,
        timer.stage("aggregate_requests"),
    ):
        checked = sr_checked.result()
        device_ids, sets = device_set_ids(accepted.get("devices"), engine)
        facts = request_facts(checked, device_ids, catalog, month)
        agg = run_aggregation(facts, engine, lookups["service_requests"], sets)
        task.advance()
    sr_report = _sr_report(sr_source, agg)
    if agg.fine.num_rows == 0:
        raise NoDataError(
            _no_data_message(month, agg), path=str(sr_source.path), table="service_requests"
        )

    with progress.task("Quarantine") as task, timer.stage("quarantine"):
        parts = [vres.quarantine_rows]
        # (file, row) of every quarantined request, for the failed-request extract; None when
        # the rows fetched were capped (the extract then checks every row again)
        q_keys: pa.Table | None = pa.table(
            {FILE_COLUMN: pa.array([], pa.string()), ROW_COLUMN: pa.array([], pa.int64())}
        )
        if agg.reasons or sr_source.malformed:
            fetched = fetch_quarantined(engine, checked)
            parts.insert(
                0, quarantine_rows(engine, "service_requests", sr_source, checked, fetched)
            )
            complete = fetched.num_rows == sum(agg.reasons.values())
            q_keys = fetched.select(list(failures.KEYS)) if complete else None
        q_rows = pa.concat_tables([p.cast(QUARANTINE_ROWS_SCHEMA) for p in parts])
        task.advance()

    with progress.task("Event measures (alerts, incidents, outages, firmware)") as task:
        counts, cpm_rows, incident_days, timer.stages["event_measures"] = events.result()
        task.advance()

    with progress.task("Deriving results tables") as task, timer.stage("derive"):
        parties = _parties(engine, accepted.get("parties"))
        fine = derive.keyed_frame(agg.fine)
        assigned = assign_labels(
            set(fine["user_id"]) | set(parties), anon_key, registry.labels if registry else None
        )
        labels = assigned.labels  # remembered parties included: the file carries them forward
        days = derive.keyed_frame(agg.daily)
        missing_days = sorted(set(month.days) - set(days["date"]))
        sr_note = None
        if missing_days:
            shown = ", ".join(d.isoformat() for d in missing_days[:5]) + (
                " ..." if len(missing_days) > 5 else ""
            )
            sr_note = f"incomplete service requests: {len(missing_days)} day(s) of the month have none ({shown})"
        hist = derive.keyed_frame(agg.histogram)
        tables = {
            "srv_summary": derive.to_arrow(
                derive.summary(fine, hist, catalog, month, all_srvs=True), rs.SRV_SUMMARY
            ),
            "dcc_proxy": derive.to_arrow(
                derive.dcc_proxy(
                    fine,
                    hist,
                    derive.keyed_frame(agg.delivery),
                    delivery_proxy_srvs(catalog),
                    catalog,
                    month,
                ),
                rs.DCC_PROXY,
            ),
            "srv_daily": derive.to_arrow(
                derive.daily(days, incident_days, catalog, month), rs.SRV_DAILY
            ),
            "srv_party": derive.to_arrow(derive.party(fine, labels, catalog, month), rs.SRV_PARTY),
            "srv_device_set": derive.to_arrow(
                derive.device_set_breakdown(
                    fine, labels, {u: p[1] for u, p in parties.items()}, catalog, month
                ),
                rs.SRV_DEVICE_SET,
            ),
        }
        if counts is not None:  # no alerts table: CPM3 says not reportable, no Alerts tables
            tables["alerts_summary"] = derive.to_arrow(
                alerts_summary(counts, catalog, month), rs.ALERTS_SUMMARY
            )
            tables["alerts_daily"] = derive.to_arrow(
                alerts_daily(counts, incident_days, catalog, month), rs.ALERTS_DAILY
            )
        cpm_rows += derive.request_cpms(fine, catalog, month, sr_note)
        order = {c: i for i, c in enumerate(CPM_ORDER)}
        cpm_rows.sort(
            key=lambda r: order.get(r["cpm"], 99)
        )  # stable: each measure keeps its own row order
        assert all(list(r) == rs.CPM.names for r in cpm_rows)  # every measure, every column
        tables["cpm"] = pa.Table.from_pylist(cpm_rows, schema=rs.CPM)
        tables["quarantine"] = shared_quarantine(q_rows)  # value-free; raw rows: restricted/
        task.advance()

    with progress.task("Benchmarks, league tables and insights") as task, timer.stage("analytics"):
        found = analytics_tables(
            tables["srv_party"], tables["srv_device_set"], catalog, str(month), min_volume
        )
        tables["benchmark"] = derive.to_arrow(found.benchmark, rs.BENCHMARK)
        tables["league_table"] = derive.to_arrow(found.league_table, rs.LEAGUE_TABLE)
        tables["insights"] = pa.Table.from_pylist(found.insights, schema=rs.INSIGHTS)
        task.advance()

    reports = {"service_requests": sr_report, **vres.tables}
    warnings = (
        [w for src in sources.values() for w in src.warnings]
        + extra_column_warnings(sr_source)
        + vres.warnings
        + label_warnings(assigned, registry)
    )
    with atomic_output_dir(out) as tmp, progress.task("Writing results") as task:
        with timer.stage("write"):
            for name in rs.RESULT_TABLES:
                if name in tables:
                    write_table(tmp, name, tables[name])
            restricted = tmp / rs.RESTRICTED_DIR
            restricted.mkdir()
            names = dict(registry.names) if registry else {}
            names.update({u: p[0] for u, p in parties.items()})
            write_label_file(restricted / rs.PARTY_LABELS_FILE, labels, names)
            write_table(restricted, "quarantine_rows", q_rows)  # raw rows, detailed reasons
            restricted_rows = {"quarantine_rows": q_rows.num_rows}
            # every input file's hash, for the manifest (on Spark: beside the extract's writing)
            files = [f for src in sources.values() for f in src.files]
            digests = engine.beside(lambda: engine.file_sha256(files))
            if party_failures:
                lookup = lookups["service_requests"]
                failed = int(pc.sum(agg.fine["failed"]).as_py() or 0)
                # in parts of the requests' files when the engine sorts best in parts
                extract = (
                    [failures.checked_failures(engine, facts, lookup, labels, sets)]
                    if q_keys is None
                    else [
                        failures.failed_requests(
                            engine, part, catalog, month, lookup, q_keys, device_ids, labels, sets
                        )
                        for part in sr_source.split(engine.sort_parts(failed))
                    ]
                )
                restricted_rows["party_failures_rows"] = engine.write_parquet_dataset(
                    extract,
                    restricted / rs.PARTY_FAILURES_DIR,
                    failures.PARTY_KEY,
                    failures.ORDER,
                    rs.PARTY_FAILURES,
                    rows=failed,
                    spread_by="received_at",
                )
        cpm = tables["cpm"].to_pylist()
        manifest = Manifest(
            opmetrics_version=package_version(),
            schema_version=SCHEMA_VERSION,
            month=str(month),
            month_start_utc=_utc(month.start_utc),
            month_end_utc=_utc(month.end_utc),
            data_dir=str(data_dir),
            catalog=CatalogRecord(
                version=catalog.meta.version, sha256=catalog.sha256, path=catalog.path
            ),
            engine=engine.versions(),
            ibis=ibis.__version__,
            anonymisation=Anonymisation(
                method=LABEL_METHOD,
                key_origin=anon_key.origin,
                key_fingerprint=anon_key.fingerprint,
                **label_record(assigned, registry, labels_from),
            ),
            percentiles=Percentiles(
                method=rtt.METHOD,
                relative_bound=round(rtt.RELATIVE_BOUND, 6),
                absolute_bound_s=rtt.ABSOLUTE_BOUND_S,
            ),
            inputs=_inputs(digests.result(), data_dir, sources, reports, agg),
            reportability=_reportability(cpm),
            assumed_values=_assumed_used(catalog, cpm),
            service_requests_note=sr_note,
            tables={name: TableRecord(rows=t.num_rows) for name, t in sorted(tables.items())},
            warnings=warnings,
            restricted=restricted_rows,
            analytics=found.info,
            reproduce=_reproduce(data_dir, month, catalog, min_volume, party_failures, labels_from),
        )
        write_manifest(tmp, manifest)
        task.advance()
        write_run_record(tmp, timer.stages)
    return ComputeSummary(out, month, manifest, tables, timer.stages)


LABEL_METHOD = (
    "HMAC-SHA256 of user_id: P- and its first 6 hex digits, or more (8, 10, "
    "...) for a newcomer whose shorter label another party already has"
)


def _utc(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _reproduce(
    data_dir: Path,
    month: Month,
    catalog: Catalog,
    min_volume: int,
    party_failures: bool,
    labels_from: Path | None,
) -> Reproduce:
    """How to run this again: the same command, inputs (by hash), catalog and key give the
    same files, byte for byte, except run.json (docs/robustness.md)."""
    custom = "" if catalog.path.startswith("opmetrics/") else f" --catalog {catalog.path}"
    given = f" --labels {labels_from}" if labels_from is not None else ""
    return Reproduce(
        command=f"opmetrics{custom} compute {data_dir} --month {month} --out OUT"
        f" --min-volume {min_volume}{given}"
        f"{'' if party_failures else ' (no party failures extract)'}",
        needs="the input files with the sha256 under inputs, the catalog with catalog.sha256, "
        "the anonymisation key with anonymisation.key_fingerprint, "
        "the earlier labels with anonymisation.labels_from.sha256 (if any), this opmetrics_version",
        varies="run.json (when the run finished, time per stage); nothing else",
    )


def _sr_report(src: TableSource, agg: RequestAggregates) -> TableReport:
    reasons = dict(agg.reasons)
    if src.malformed:
        reasons["malformed_row"] = len(src.malformed)
    return TableReport(
        table="service_requests",
        source=str(src.path),
        kind=src.kind,
        rows_read=agg.accepted_total + sum(reasons.values()),
        accepted=agg.accepted_total,
        quarantined=dict(sorted(reasons.items())),
        extra_columns=src.extra_columns,
    )


def _no_data_message(month: Month, agg: RequestAggregates) -> str:
    if agg.first_at is None:
        return f"no accepted service requests at all, so nothing can be computed for {month}"
    first, last = Month.of_instant(agg.first_at), Month.of_instant(agg.last_at or agg.first_at)
    covers = str(first) if first == last else f"{first} to {last}"
    return f"no service requests received in {month}: the data covers {covers} (wrong --month or wrong data dir?)"


def _event_measures(
    engine: Engine, accepted: dict[str, Any], catalog: Catalog, month: Month
) -> tuple[Any, list[dict[str, Any]], Any, float]:
    """The alert counts, the CPM rows of alerts, incidents, outages and firmware, the days of
    incidents (for the daily tables) and the seconds this took."""
    t0 = time.perf_counter()
    cpm_rows: list[dict[str, Any]] = []
    alerts = accepted.get("alerts")
    counts = None if alerts is None else alert_counts(alerts, engine, catalog, month)
    cpm_rows += cpm3_from_counts(counts, catalog, month)
    cpm_rows += incident_cpms(accepted.get("incidents"), engine, catalog, month)
    incident_days = cat12_incident_days(accepted.get("incidents"), engine, catalog, month)
    cpm_rows += cpm6(accepted.get("outages"), engine, catalog, month)
    cpm_rows += cpm6bc(accepted.get("firmware"), engine, catalog, month)
    return counts, cpm_rows, incident_days.to_pandas(), round(time.perf_counter() - t0, 3)


def _parties(engine: Engine, parties: Any) -> dict[str, tuple[str | None, str | None]]:
    """user_id → (name, adaptor) from the parties table (empty without one)."""
    if parties is None:
        return {}
    got = engine.to_arrow(parties.select("user_id", "name", "adaptor")).to_pylist()
    return {r["user_id"]: (r["name"], r["adaptor"]) for r in got}


def _relative(path: Path, data_dir: Path) -> str:
    return str(path.relative_to(data_dir)) if path.is_relative_to(data_dir) else str(path)


def _inputs(
    digests: dict[Path, str],
    data_dir: Path,
    sources: dict[str, TableSource],
    reports: dict[str, TableReport],
    agg: RequestAggregates,
) -> dict[str, InputRecord]:
    """Each table of the contract: absent, or where it was read from and how its rows reconcile."""
    inputs: dict[str, InputRecord] = {}
    hashes = {name: {f: digests[f] for f in src.files} for name, src in sources.items()}
    for name in TABLES:
        if name not in sources:
            inputs[name] = InputRecord(present=False)
            continue
        src, rep = sources[name], reports[name]
        extra: dict[str, int] = {}
        if src.skipped:  # day partitions of other months, not read
            extra["partition_files_skipped"] = len(src.skipped)
        if name == "service_requests":
            extra["outside_month"] = agg.outside_month
        inputs[name] = InputRecord(
            present=True,
            path=_relative(src.path, data_dir),
            format=src.kind,
            files=[
                InputFile(path=_relative(p, data_dir), sha256=h)
                for p, h in sorted(hashes[name].items(), key=lambda kv: str(kv[0]))
            ],
            rows_read=rep.rows_read,
            accepted=rep.accepted,
            quarantined=rep.quarantined,
            **extra,
        )
    return inputs


def _reportability(cpm: list[dict[str, Any]]) -> dict[str, Reportability]:
    out: dict[str, Reportability] = {}
    for c in CPM_ORDER:
        nr = [r for r in cpm if r["cpm"] == c and r["status"] == "not_reportable"]
        out[c] = Reportability(
            status="not_reportable" if nr else "reportable", reason=nr[0]["note"] if nr else None
        )
    return out


def _assumed_used(catalog: Catalog, cpm: list[dict[str, Any]]) -> AssumedValues:
    """The catalog values marked `assumed` that decide a figure of this month, with the
    measures that rest on each and how to override them (design §2)."""
    known = assumed_values(catalog)
    used: dict[str, list[str]] = {}
    for r in cpm:
        for key in str(r.get("assumed") or "").split("; "):
            if key and r["cpm"] not in used.setdefault(key, []):
                used[key].append(r["cpm"])
    for s in catalog.srv:  # srv_summary compares every SRV's RTT with its TRT
        for rule in trt_rules_of_srv(catalog, s):
            key = f"trt.{rule.id}"
            if key in known and "srv_summary" not in used.setdefault(key, []):
                used[key].append("srv_summary")
    return AssumedValues(
        values=[
            AssumedValue(key=k, value=known[k].value, text=known[k].text, used_by=used[k])
            for k in known
            if k in used
        ],
        override=OVERRIDE,
    )


__all__ = ["ComputeSummary", "compute_month"]
