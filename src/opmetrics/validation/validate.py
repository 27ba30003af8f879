"""Validate a data dir: every row accepted or quarantined with a reason, counts that reconcile.

Like pandera's lazy validation, all failures are collected before anything is reported: each
table gets a `checked` expression (its rows plus `_reason_code`, `_reason` and `_rule`), counts
come from one aggregation over it, and only quarantined rows are fetched to the client.

The quarantine comes in two parts (design §4). The shared one (`QUARANTINE_SCHEMA`: table,
source, row, reason code and a value-free reason) names no value, so no party; it is what
reports, data files and `validate`'s `quarantine.csv` show. The restricted one
(`QUARANTINE_ROWS_SCHEMA`) adds the detailed reason, which may quote the offending value, and
the raw row; it goes to a results folder's `restricted/` only. Both are keyed by (table,
source, row), `source` being the file's path relative to the data dir.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePath
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from opmetrics.catalog import Catalog
from opmetrics.contract.rules import REASONS, ROW_RULES, duplicate_public, malformed_public
from opmetrics.contract.schema import (
    FILE_COLUMN,
    QUARANTINE_ROWS_SCHEMA,
    QUARANTINE_SCHEMA,
    ROW_COLUMN,
)
from opmetrics.contract.sources import TableSource, stage_csv
from opmetrics.engine.base import Engine
from opmetrics.validation.values import (
    VALUE_CODE,
    VALUE_RULE,
    VALUE_TEXT,
    Derive,
    join_value_checks,
    value_rule_span,
)

REASON_CODE = "_reason_code"
REASON = "_reason"  # the detailed reason (may quote the value): restricted only
RULE = "_rule"  # index in ROW_RULES[table] of the rule that fired; DUPLICATE_RULE for a repeat
DUPLICATE_RULE = -1
US_PREFIX = "_us_"


def helper_columns(t: ir.Table) -> list[str]:
    """Columns validation adds (provenance, reasons, epoch microseconds): all start with `_`."""
    return [c for c in t.columns if c.startswith("_")]


def shared_quarantine(rows: pa.Table) -> pa.Table:
    """The shared quarantine of restricted quarantine rows: the value-free columns only."""
    return rows.select(QUARANTINE_SCHEMA.names).cast(QUARANTINE_SCHEMA)


# Repeated keys flagged through the client at most; beyond, inside the main query.
LAZY_DUPLICATES = 1_000_000

# Rows fetched per table into the quarantine table; counts are always complete.
QUARANTINE_ROW_LIMIT = 1_000_000


@dataclass
class TableReport:
    table: str
    source: str
    kind: str
    rows_read: int
    accepted: int
    quarantined: dict[str, int] = field(default_factory=dict)
    extra_columns: tuple[str, ...] = ()

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())


@dataclass
class ValidationResult:
    tables: dict[str, TableReport]
    quarantine_rows: pa.Table  # QUARANTINE_ROWS_SCHEMA: restricted (raw rows, detailed reasons)
    checked: dict[str, ir.Table]  # per table: rows + reason columns (lazy, on the engine)
    sources: dict[str, TableSource]
    warnings: list[str] = field(default_factory=list)

    @property
    def quarantine(self) -> pa.Table:
        """The shared quarantine (QUARANTINE_SCHEMA): value-free."""
        return shared_quarantine(self.quarantine_rows)

    def accepted(self, table: str) -> ir.Table:
        """The accepted rows of a table, without helper columns (lazy)."""
        t = self.checked[table]
        return t.filter(t[REASON_CODE].isnull()).drop(*helper_columns(t))

    @property
    def quarantined_total(self) -> int:
        return sum(r.quarantined_total for r in self.tables.values())


def checked_table(
    engine: Engine,
    source: TableSource,
    catalog: Catalog,
    derive: Derive | None = None,
    lookups: dict[str, pa.Table] | None = None,
) -> ir.Table:
    """The table's rows with `_reason_code`/`_reason`/`_rule` of the first rule each breaks.

    Every timestamp column also gets `_us_<name>` (microseconds since the epoch): durations are
    integer differences of those, which every engine computes fast and exactly (interval
    arithmetic on time-zone-aware timestamps is slow on DuckDB). Rules about reference values
    are checked once per distinct combination (`values.py`); `derive` adds columns computed from
    the categorical columns the same way (e.g. a request's response class), and `lookups`
    receives the per-combination table.
    """
    t = engine.read_table(source)
    t = t.mutate(
        **{
            f"{US_PREFIX}{c.name}": engine.epoch_us(t[c.name])
            for c in source.spec.columns
            if c.type == "timestamp"
        }
    )
    key = source.spec.key
    rules = ROW_RULES[source.name]
    start, end = value_rule_span(source.name)
    if end > start or derive is not None:
        t, lookup = join_value_checks(engine, t, source.name, catalog, derive)
        if lookups is not None:
            lookups[source.name] = lookup
    if key is not None:
        t = _mark_duplicates(engine, t, engine.read_table(source), key)
    predicates: list[ir.BooleanValue] = []
    codes: list[ir.StringValue] = []
    texts: list[ir.StringValue] = []
    fired: list[ir.IntegerValue] = []
    for i, r in enumerate(rules):
        if start <= i < end:
            if i == start:  # the value rules, as one verdict per row from the lookup
                predicates.append(t[VALUE_CODE].notnull())
                codes.append(t[VALUE_CODE])
                texts.append(t[VALUE_TEXT])
                fired.append(t[VALUE_RULE])
            continue
        predicates.append(r.broken(t, catalog))
        codes.append(ibis.literal(r.code))
        texts.append(r.reason_expr(t))
        fired.append(ibis.literal(i, "int64"))
    if key is not None:
        predicates.append(t["_dup"].notnull())
        codes.append(ibis.literal("duplicate_key"))
        texts.append(ibis.literal(f"duplicate {key}: ") + t[key])
        fired.append(ibis.literal(DUPLICATE_RULE, "int64"))
    # Code, text and rule each test the predicates in rule order. They are not derived from one
    # "first broken rule" column: engines inline such a column into every filter that uses it,
    # multiplying the work by the number of rules. Only the code is in the aggregation; the
    # text and the rule are evaluated for the quarantined rows fetched.
    t = t.mutate(
        **{
            REASON_CODE: ibis.cases(
                *zip(predicates, codes, strict=True), else_=ibis.null("string")
            ),
            REASON: ibis.cases(*zip(predicates, texts, strict=True), else_=ibis.null("string")),
            RULE: ibis.cases(*zip(predicates, fired, strict=True), else_=ibis.null("int64")),
        }
    )
    return t.drop(*(c for c in ("_dup", VALUE_CODE, VALUE_TEXT, VALUE_RULE) if c in t.columns))


def _mark_duplicates(engine: Engine, t: ir.Table, base: ir.Table, key: str) -> ir.Table:
    """Flag (`_dup`) every row whose key was already seen in an earlier row (by file, then row).

    Found before the main query, in queries of their own over `base` (the table as read), and
    joined back as a small client-side table. Inside the main query the same work needs the
    table twice (count per key, then join back), which DuckDB materialises in full - at 100M
    requests most of its memory and 17 GiB of spill - and Spark shuffles whole rows for.
    Candidates are found by counting a 64-bit hash of the key (no strings in the hash table);
    only rows whose hash occurs more than once are then ranked on the exact key. A month with
    more than `LAZY_DUPLICATES` repeated keys (a file given twice) is flagged inside the main
    query instead, not through the client.
    """
    hashed = base.filter(base[key].notnull()).select(
        key, FILE_COLUMN, ROW_COLUMN, _h=engine.hash64(base[key])
    )
    counts = hashed.group_by("_h").aggregate(_n=ibis._.count()).filter(ibis._["_n"] > 1)
    cand = engine.to_arrow(counts.select("_h").limit(LAZY_DUPLICATES + 1))
    if cand.num_rows == 0:
        return t.mutate(_dup=ibis.null("boolean"))
    if cand.num_rows > LAZY_DUPLICATES:
        dups = _duplicate_rows(hashed.semi_join(counts.select("_h"), "_h"), key)
    else:
        repeated = engine.memtable(cand)
        dups = engine.memtable(
            engine.to_arrow(_duplicate_rows(hashed.semi_join(repeated, "_h"), key))
        )
    joined = t.left_join(dups, [FILE_COLUMN, ROW_COLUMN])
    return joined.drop(*(c for c in joined.columns if c.endswith("_right")))


def _duplicate_rows(candidates: ir.Table, key: str) -> ir.Table:
    """(file, row, _dup=True) of every candidate row after the first of its exact key."""
    ranked = candidates.mutate(
        _rank=ibis.row_number().over(group_by=key, order_by=[FILE_COLUMN, ROW_COLUMN])
    )
    return ranked.filter(ranked["_rank"] > 0).select(
        FILE_COLUMN, ROW_COLUMN, _dup=ibis.literal(True)
    )


def extra_column_warnings(src: TableSource) -> list[str]:
    """The warning for a table's columns the contract does not know (they are ignored)."""
    if not src.extra_columns:
        return []
    return [f"{src.path}: ignoring column(s) not in the contract: {', '.join(src.extra_columns)}"]


def validate(
    engine: Engine,
    sources: dict[str, TableSource],
    catalog: Catalog,
    work_dir: Path,
    *,
    fetch_quarantine: bool = True,
    on_table: Callable[[str], None] | None = None,
) -> ValidationResult:
    """Check every row of every table; count by reason; fetch the quarantined rows (restricted
    form: `ValidationResult.quarantine` is their shared, value-free projection)."""
    reports: dict[str, TableReport] = {}
    checked: dict[str, ir.Table] = {}
    parts: list[pa.Table] = []
    warnings: list[str] = []
    for src in sources.values():
        if src.kind == "csv" and not src.staged:
            stage_csv(src, work_dir)
        warnings += extra_column_warnings(src)

    def one(name: str, src: TableSource) -> tuple[ir.Table, TableReport, pa.Table | None]:
        t = checked_table(engine, src, catalog)
        counts = engine.to_arrow(t.group_by(REASON_CODE).aggregate(n=ibis._.count())).to_pylist()
        by_reason = {r[REASON_CODE]: int(r["n"]) for r in counts if r[REASON_CODE] is not None}
        accepted = sum(int(r["n"]) for r in counts if r[REASON_CODE] is None)
        if src.malformed:
            by_reason["malformed_row"] = len(src.malformed)
        report = TableReport(
            table=name,
            source=str(src.path),
            kind=src.kind,
            rows_read=accepted + sum(by_reason.values()),
            accepted=accepted,
            quarantined=dict(sorted(by_reason.items())),
            extra_columns=src.extra_columns,
        )
        rows = quarantine_rows(engine, name, src, t) if fetch_quarantine and by_reason else None
        return t, report, rows

    with engine.side_by_side():  # the tables are independent: side by side where the engine can
        pending = {
            name: engine.beside(lambda name=name, src=src: one(name, src))  # type: ignore[misc]
            for name, src in sources.items()
        }
        for name, work in pending.items():
            if on_table:
                on_table(name)
            checked[name], reports[name], rows = work.result()
            if rows is not None:
                parts.append(rows)
    quarantine = pa.concat_tables(parts) if parts else QUARANTINE_ROWS_SCHEMA.empty_table()
    return ValidationResult(reports, quarantine, checked, sources, warnings)


def fetch_quarantined(engine: Engine, t: ir.Table) -> pa.Table:
    """The quarantined rows of one checked table as the engine gives them (data, provenance and
    reason columns), by file and row, at most `QUARANTINE_ROW_LIMIT`."""
    bad = (
        t.filter(t[REASON_CODE].notnull())
        .order_by([FILE_COLUMN, ROW_COLUMN])
        .limit(QUARANTINE_ROW_LIMIT)
    )
    return engine.to_arrow(bad)


def quarantine_rows(
    engine: Engine, name: str, src: TableSource, t: ir.Table, fetched: pa.Table | None = None
) -> pa.Table:
    """The quarantined rows of one checked table (QUARANTINE_ROWS_SCHEMA), by file and row.

    The value-free reason is worked out here, from the rule that fired (`_rule`) and the row.
    `fetched` is `fetch_quarantined(engine, t)` when the caller already has it.
    """
    rows: dict[str, list[Any]] = {f.name: [] for f in QUARANTINE_ROWS_SCHEMA}
    data_dir = src.path.parent
    for m in src.malformed:
        rows["table"].append(name)
        rows["source"].append(data_relative(str(src.path), data_dir))
        rows["row"].append(m.line)
        rows["reason_code"].append("malformed_row")
        rows["reason"].append(malformed_public(m.expected_fields, m.found_fields))
        rows["reason_detail"].append(malformed_public(m.expected_fields, m.found_fields))
        rows["raw"].append(m.text)
    if fetched is None:
        fetched = fetch_quarantined(engine, t)
    data_cols = [c for c in fetched.column_names if not c.startswith("_")]
    rules, key = ROW_RULES[name], src.spec.key
    sources: dict[str, str] = {}
    for rec in fetched.to_pylist():
        file = rec[FILE_COLUMN]
        if file not in sources:
            sources[file] = data_relative(file, data_dir)
        rule = rec[RULE]
        if rule == DUPLICATE_RULE:
            public = duplicate_public(str(key))
        else:
            public = rules[rule].public_reason(rec)
        rows["table"].append(name)
        rows["source"].append(sources[file])
        rows["row"].append(rec[ROW_COLUMN])
        rows["reason_code"].append(rec[REASON_CODE])
        rows["reason"].append(public)
        rows["reason_detail"].append(_brief(rec[REASON]))
        rows["raw"].append(
            json.dumps({c: _jsonable(rec[c]) for c in data_cols}, ensure_ascii=False)
        )
    return pa.table(rows, schema=QUARANTINE_ROWS_SCHEMA)


def data_relative(file: str, data_dir: Path) -> str:
    """A quarantined row's file as a path relative to the data dir (POSIX separators).

    Engines report absolute paths; the shared quarantine must name neither the machine's folders
    nor anything outside the data dir, so a file that is not under it (a remote URI) is named
    by its file name only.
    """
    if "://" in file:
        return PurePath(file).name
    base = Path(os.path.abspath(data_dir))
    for f in (Path(os.path.abspath(file)), Path(file).resolve()):
        for root in (base, base.resolve()):
            if f.is_relative_to(root):
                return PurePath(f.relative_to(root)).as_posix()
    return PurePath(file).name


# A detailed reason quotes the offending value; `raw` keeps it whole, the reason only its start.
REASON_MAX_CHARS = 300


def _brief(reason: str | None) -> str | None:
    if reason is None or len(reason) <= REASON_MAX_CHARS:
        return reason
    return f"{reason[:REASON_MAX_CHARS]}… ({len(reason):,} characters)"


def _jsonable(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat().replace("+00:00", "Z")
    if isinstance(v, date):
        return v.isoformat()
    return v


__all__ = [
    "QUARANTINE_ROWS_SCHEMA",
    "QUARANTINE_SCHEMA",
    "REASONS",
    "TableReport",
    "ValidationResult",
    "checked_table",
    "data_relative",
    "shared_quarantine",
    "validate",
]
