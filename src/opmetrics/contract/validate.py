"""Validate a data dir: every row accepted or quarantined with a reason, counts that reconcile.

Like pandera's lazy validation, all failures are collected before anything is reported: each
table gets a `checked` expression (its rows plus `_reason_code` and `_reason`), counts come from
one aggregation over it, and only quarantined rows are fetched to the client.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from opmetrics.catalog import Catalog
from opmetrics.contract.rules import REASONS, ROW_RULES
from opmetrics.contract.schema import FILE_COLUMN, ROW_COLUMN
from opmetrics.contract.sources import TableSource, stage_csv
from opmetrics.contract.values import (
    VALUE_CODE,
    VALUE_TEXT,
    Derive,
    join_value_checks,
    value_rule_span,
)
from opmetrics.engine import Engine

REASON_CODE = "_reason_code"
REASON = "_reason"
US_PREFIX = "_us_"


def helper_columns(t: ir.Table) -> list[str]:
    """Columns validation adds (provenance, reasons, epoch microseconds): all start with `_`."""
    return [c for c in t.columns if c.startswith("_")]


QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("table", pa.string()),
        pa.field("source", pa.string()),
        pa.field("row", pa.int64()),
        pa.field("reason_code", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("raw", pa.string()),
    ]
)

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
    quarantine: pa.Table
    checked: dict[str, ir.Table]  # per table: rows + reason columns (lazy, on the engine)
    sources: dict[str, TableSource]
    warnings: list[str] = field(default_factory=list)

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
    """The table's rows with `_reason_code`/`_reason` of the first rule each breaks (else null).

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
    for i, r in enumerate(rules):
        if start <= i < end:
            if i == start:  # the value rules, as one verdict per row from the lookup
                predicates.append(t[VALUE_CODE].notnull())
                codes.append(t[VALUE_CODE])
                texts.append(t[VALUE_TEXT])
            continue
        predicates.append(r.broken(t, catalog))
        codes.append(ibis.literal(r.code))
        texts.append(r.reason_expr(t))
    if key is not None:
        predicates.append(t["_dup"].notnull())
        codes.append(ibis.literal("duplicate_key"))
        texts.append(ibis.literal(f"duplicate {key}: ") + t[key])
    # Code and text each test the predicates in rule order. They are not derived from one
    # "first broken rule" column: engines inline such a column into every filter that uses it,
    # multiplying the work by the number of rules.
    t = t.mutate(
        **{
            REASON_CODE: ibis.cases(
                *zip(predicates, codes, strict=True), else_=ibis.null("string")
            ),
            REASON: ibis.cases(*zip(predicates, texts, strict=True), else_=ibis.null("string")),
        }
    )
    return t.drop(*(c for c in ("_dup", VALUE_CODE, VALUE_TEXT) if c in t.columns))


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


def validate(
    engine: Engine,
    sources: dict[str, TableSource],
    catalog: Catalog,
    work_dir: Path,
    *,
    fetch_quarantine: bool = True,
    on_table: Callable[[str], None] | None = None,
) -> ValidationResult:
    """Check every row of every table; count by reason; fetch the quarantined rows."""
    reports: dict[str, TableReport] = {}
    checked: dict[str, ir.Table] = {}
    parts: list[pa.Table] = []
    warnings: list[str] = []
    for name, src in sources.items():
        if on_table:
            on_table(name)
        if src.kind == "csv" and not src.staged:
            stage_csv(src, work_dir)
        if src.extra_columns:
            warnings.append(
                f"{src.path}: ignoring column(s) not in the contract: {', '.join(src.extra_columns)}"
            )
        t = checked_table(engine, src, catalog)
        checked[name] = t
        counts = engine.to_arrow(t.group_by(REASON_CODE).aggregate(n=ibis._.count())).to_pylist()
        by_reason = {r[REASON_CODE]: int(r["n"]) for r in counts if r[REASON_CODE] is not None}
        accepted = sum(int(r["n"]) for r in counts if r[REASON_CODE] is None)
        if src.malformed:
            by_reason["malformed_row"] = len(src.malformed)
        reports[name] = TableReport(
            table=name,
            source=str(src.path),
            kind=src.kind,
            rows_read=accepted + sum(by_reason.values()),
            accepted=accepted,
            quarantined=dict(sorted(by_reason.items())),
            extra_columns=src.extra_columns,
        )
        if fetch_quarantine and by_reason:
            parts.append(quarantine_rows(engine, name, src, t))
    quarantine = pa.concat_tables(parts) if parts else QUARANTINE_SCHEMA.empty_table()
    return ValidationResult(reports, quarantine, checked, sources, warnings)


def quarantine_rows(engine: Engine, name: str, src: TableSource, t: ir.Table) -> pa.Table:
    rows: dict[str, list[Any]] = {f.name: [] for f in QUARANTINE_SCHEMA}
    for m in src.malformed:
        rows["table"].append(name)
        rows["source"].append(str(src.path))
        rows["row"].append(m.line)
        rows["reason_code"].append("malformed_row")
        rows["reason"].append(f"expected {m.expected_fields} fields, found {m.found_fields}")
        rows["raw"].append(m.text)
    bad = (
        t.filter(t[REASON_CODE].notnull())
        .order_by([FILE_COLUMN, ROW_COLUMN])
        .limit(QUARANTINE_ROW_LIMIT)
    )
    fetched = engine.to_arrow(bad)
    data_cols = [c for c in fetched.column_names if not c.startswith("_")]
    for rec in fetched.to_pylist():
        rows["table"].append(name)
        rows["source"].append(rec[FILE_COLUMN])
        rows["row"].append(rec[ROW_COLUMN])
        rows["reason_code"].append(rec[REASON_CODE])
        rows["reason"].append(_brief(rec[REASON]))
        rows["raw"].append(
            json.dumps({c: _jsonable(rec[c]) for c in data_cols}, ensure_ascii=False)
        )
    return pa.table(rows, schema=QUARANTINE_SCHEMA)


# A reason quotes the offending value; `raw` keeps it whole, the reason only its start.
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
    "QUARANTINE_SCHEMA",
    "REASONS",
    "TableReport",
    "ValidationResult",
    "checked_table",
    "validate",
]
