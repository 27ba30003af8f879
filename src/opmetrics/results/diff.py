"""Restatement: what changed between two results folders of the same month.

A month is computed again when its data is corrected (late files, a fixed extract, a catalog
change). Reviewers need every measure whose figure or status moved, not a byte comparison:
each CPM row (value, numerator, denominator, status) and each srv_summary rate (success % and
within-TRT %) is matched on its dimensions across the two folders and listed when it differs,
appeared or disappeared. The other results tables (daily series, party breakdowns, league
tables, quarantine, ...) are compared whole and named when they differ, so "nothing changed"
means the folders' tables hold the same rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from opmetrics.errors import OutputError, UsageError
from opmetrics.results.io import Results, read_results, write_csv
from opmetrics.results.schema import RESULT_TABLES

ChangeKind = Literal["changed", "added", "removed"]

CPM_KEY = ("cpm", "interface", "region", "time_band", "business_process", "incident_category")
CPM_FIELDS = ("value_percent", "numerator", "denominator")
SUMMARY_KEY = ("business_process", "srv", "region", "device_type")
SUMMARY_RATES = ("success_percent", "within_trt_percent")
MEASURED = ("cpm", "srv_summary")

CHANGES_SCHEMA = pa.schema(
    [
        ("table", pa.string()),
        ("key", pa.string()),
        ("measure", pa.string()),
        ("change", pa.string()),
        ("old", pa.float64()),
        ("new", pa.float64()),
        ("delta", pa.float64()),
    ]
    + [
        (f"{side}_{what}", kind)
        for what, kind in (
            ("status", pa.string()),
            ("numerator", pa.float64()),
            ("denominator", pa.float64()),
        )
        for side in ("old", "new")
    ]
)


@dataclass(frozen=True)
class Change:
    """One measure that differs between the two folders."""

    table: str  # cpm or srv_summary
    key: str  # its dimensions, e.g. "CPM1 / North" or "prepayment / 2.2 / ALL / ALL"
    measure: str  # the CPM (cpm) or the rate's column (srv_summary)
    change: ChangeKind
    old: float | None
    new: float | None
    old_status: str | None = None
    new_status: str | None = None
    old_numerator: float | None = None
    new_numerator: float | None = None
    old_denominator: float | None = None
    new_denominator: float | None = None

    @property
    def delta(self) -> float | None:
        if self.old is None or self.new is None:
            return None
        return self.new - self.old

    @property
    def status_changed(self) -> bool:
        return self.old_status != self.new_status


@dataclass
class ResultsDiff:
    month: str
    old: Path
    new: Path
    changes: list[Change] = field(default_factory=list)
    other_tables: list[str] = field(default_factory=list)  # other results tables that differ

    @property
    def changed(self) -> bool:
        return bool(self.changes or self.other_tables)

    def to_table(self) -> pa.Table:
        rows = [
            {
                "table": c.table,
                "key": c.key,
                "measure": c.measure,
                "change": c.change,
                "old": c.old,
                "new": c.new,
                "delta": c.delta,
                "old_status": c.old_status,
                "new_status": c.new_status,
                "old_numerator": c.old_numerator,
                "new_numerator": c.new_numerator,
                "old_denominator": c.old_denominator,
                "new_denominator": c.new_denominator,
            }
            for c in self.changes
        ]
        return pa.Table.from_pylist(rows, schema=CHANGES_SCHEMA)

    def write_csv(self, path: str | Path) -> None:
        """Every change as CSV (figures unrounded: a change may be tiny)."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_csv(self.to_table(), path, round_floats=False)
        except OSError as exc:
            raise OutputError(f"cannot write ({exc.strerror})", path=str(path)) from None


def _same(a: Any, b: Any, tolerance: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b or abs(a - b) <= tolerance
    return bool(a == b)


def _rows(
    results: Results, name: str, key: tuple[str, ...]
) -> dict[tuple[str, ...], dict[str, Any]]:
    """The table's rows by their dimensions (a dimension that does not apply is '')."""
    if not results.has(name):
        raise OutputError(
            f"results folder has no {name}.parquet (incomplete: compute it again)",
            path=str(results.path),
        )
    out: dict[tuple[str, ...], dict[str, Any]] = {}
    for r in results.table(name).to_pylist():
        k = tuple("" if r[c] is None else str(r[c]) for c in key)
        if k in out:
            raise OutputError(
                f"{name}.parquet has two rows for {_label(k)}",
                path=str(results.path),
            )
        out[k] = r
    return out


def _get(row: dict[str, Any] | None, column: str) -> Any:
    return None if row is None else row[column]


def _label(k: tuple[str, ...]) -> str:
    return " / ".join(x for x in k if x)


Row = dict[str, Any]


def _pairs(
    a: Results, b: Results, name: str, key: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], Row | None, Row | None]]:
    """Each key of table `name` with its old and new row (None where a folder lacks it): keys in
    the old folder's order, then the keys only the new folder has (in its order)."""
    old, new = _rows(a, name, key), _rows(b, name, key)
    for k in [*old, *(k for k in new if k not in old)]:
        yield k, old.get(k), new.get(k)


def _kind(
    o: dict[str, Any] | None,
    n: dict[str, Any] | None,
    same: bool,
) -> ChangeKind | None:
    """What became of a key's row: None when it is in both folders and the same there."""
    if o is not None and n is not None:
        return None if same else "changed"
    return "added" if o is None else "removed"


def _cpm_changes(a: Results, b: Results, tolerance: float) -> list[Change]:
    out = []
    for k, o, n in _pairs(a, b, "cpm", CPM_KEY):
        same = (
            o is not None
            and n is not None
            and all(_same(o[f], n[f], tolerance) for f in CPM_FIELDS)
            and o["status"] == n["status"]
        )
        kind = _kind(o, n, same)
        if kind is None:
            continue
        out.append(
            Change(
                "cpm",
                _label(k[1:]),
                k[0],
                kind,
                _get(o, "value_percent"),
                _get(n, "value_percent"),
                _get(o, "status"),
                _get(n, "status"),
                _get(o, "numerator"),
                _get(n, "numerator"),
                _get(o, "denominator"),
                _get(n, "denominator"),
            )
        )
    return out


def _summary_changes(a: Results, b: Results, tolerance: float) -> list[Change]:
    out = []
    for k, o, n in _pairs(a, b, "srv_summary", SUMMARY_KEY):
        for rate in SUMMARY_RATES:
            numerator = "succeeded" if rate == "success_percent" else "within_trt"
            same = o is not None and n is not None and _same(o[rate], n[rate], tolerance)
            kind = _kind(o, n, same)
            if kind is None:
                continue
            out.append(
                Change(
                    "srv_summary",
                    _label(k),
                    rate,
                    kind,
                    _get(o, rate),
                    _get(n, rate),
                    old_numerator=_count(o, numerator),
                    new_numerator=_count(n, numerator),
                    old_denominator=_rated(o),
                    new_denominator=_rated(n),
                )
            )
    return out


def _count(row: dict[str, Any] | None, column: str) -> float | None:
    return None if row is None or row[column] is None else float(row[column])


def _rated(row: dict[str, Any] | None) -> float | None:
    """succeeded + failed: the denominator of both rates."""
    s, f = _count(row, "succeeded"), _count(row, "failed")
    return None if s is None or f is None else s + f


def _other_tables(a: Results, b: Results) -> list[str]:
    """Other results tables whose rows differ (results are written sorted, so rows align)."""
    out = []
    for name in RESULT_TABLES:
        if name in MEASURED:
            continue
        if a.has(name) != b.has(name) or not a.table(name).equals(b.table(name)):
            out.append(name)
    return out


def diff_results(old: str | Path, new: str | Path, *, tolerance: float = 0.0) -> ResultsDiff:
    """Every measure that differs between two results folders of one month.

    `tolerance` (percentage points) lets figures that moved by less count as unchanged; status
    changes always count.
    """
    if tolerance < 0 or math.isnan(tolerance):
        raise UsageError(f"--tolerance must be 0 or more (got {tolerance})")
    a, b = read_results(old), read_results(new)
    if a.month != b.month:
        raise UsageError(
            f"{old} holds {a.month or 'no month'} and {new} holds {b.month or 'no month'}: "
            "diff compares two runs of the same month"
        )
    try:
        changes = _cpm_changes(a, b, tolerance) + _summary_changes(a, b, tolerance)
        others = _other_tables(a, b)
    except (KeyError, TypeError) as exc:  # a table without the columns of its schema
        raise OutputError(f"results table is not as compute writes it ({exc})") from None
    return ResultsDiff(a.month, Path(old), Path(new), changes, others)


__all__ = ["CHANGES_SCHEMA", "Change", "ResultsDiff", "diff_results"]
