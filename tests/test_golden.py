"""Every golden case through the whole `compute`: inputs → results rows worked out by hand.

Each `tests/golden/<case>/` is a data dir; each `expected_<table>.csv` in it lists rows of that
results table. Columns that are dimensions identify the row (an empty cell = null); the others
are compared (numbers to within 1e-9). See tests/golden/README.md and each CASE.md.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
import pytest

import opmetrics
from opmetrics.errors import NoDataError
from opmetrics.results.schema import RESULT_TABLES

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p for p in GOLDEN.iterdir() if p.is_dir() and any(p.glob("expected_*.csv")))
DIMENSIONS = {
    "month",
    "cpm",
    "interface",
    "region",
    "time_band",
    "business_process",
    "incident_category",
    "srv",
    "device_type",
    "date",
    "party_label",
    "alert_group",
}


PERCENTILES = {"rtt_p50_s", "rtt_p90_s", "rtt_p95_s"}


def percentile_bound(exact: float) -> float:
    """|reported − exact| allowed by docs/percentiles.md."""
    return 0.00499 * exact + 0.0005


def _check_quarantine(folder: Path, summary: opmetrics.ComputeSummary) -> int:
    """No row quarantined, unless the case lists them in expected_quarantine.csv (table, row
    (file line), reason_code): then exactly those, and the manifest's counts agree."""
    case = folder.name
    expected_file = folder / "expected_quarantine.csv"
    expected: list[dict[str, str]] = []
    if expected_file.exists():
        with expected_file.open(newline="") as fh:
            expected = list(csv.DictReader(fh))
    for table_name, inputs in summary.manifest.to_json()["inputs"].items():
        if inputs["present"]:
            want: dict[str, int] = {}
            for e in expected:
                if e["table"] == table_name:
                    want[e["reason_code"]] = want.get(e["reason_code"], 0) + 1
            assert inputs["quarantined"] == want, (
                f"{case}: {table_name} rows quarantined: {inputs['quarantined']}, expected {want}"
            )
            assert inputs["rows_read"] == inputs["accepted"] + sum(want.values())
    shown = [c for c in ("source", "reason") if expected and c in expected[0]]
    got = {
        (r["table"], int(r["row"]), r["reason_code"], *(r[c] for c in shown))
        for r in summary.tables["quarantine"].to_pylist()
    }
    want = {(e["table"], int(e["row"]), e["reason_code"], *(e[c] for c in shown)) for e in expected}
    assert got == want, case
    return len(expected)


def _identities(folder: Path) -> set[str]:
    """Every party user_id (as written, and without separators) and name the case's inputs hold."""
    out: set[str] = set()
    for name, cols in (
        ("service_requests.csv", ("user_id",)),
        ("parties.csv", ("user_id", "name")),
    ):
        path = folder / name
        if not path.exists():
            continue
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                for c in cols:
                    v = row[c]
                    out |= {v, v.replace("-", "").replace(":", "")} if c == "user_id" else {v}
    return {v for v in out if v}


def _check_no_party_named(folder: Path, summary: opmetrics.ComputeSummary) -> None:
    """No shared results table, nor the manifest, holds a party's id or name (design §4)."""
    needles = _identities(folder)
    texts = {
        "manifest.json": json.dumps(summary.manifest.to_json(), ensure_ascii=False, default=str)
    }
    for name, table in summary.tables.items():
        buf = io.BytesIO()
        pacsv.write_csv(table, buf)
        texts[name] = buf.getvalue().decode("utf-8")
    leaks = sorted((name, n) for name, text in texts.items() for n in needles if n in text)
    assert not leaks, f"{folder.name}: {leaks}"


def _cell(v: Any) -> Any:
    if v is None:
        return None
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def _same(expected: str, got: Any) -> bool:
    if expected == "":
        return got is None or (isinstance(got, float) and math.isnan(got))
    if isinstance(got, bool):
        return expected.lower() == str(got).lower()
    if isinstance(got, int | float):
        return got is not None and math.isclose(
            float(expected), float(got), rel_tol=1e-9, abs_tol=1e-9
        )
    return expected == str(got)


@pytest.fixture(scope="module")
def ctx() -> Iterator[opmetrics.Context]:
    with opmetrics.Context() as c:
        yield c


def _compute_case(
    ctx: opmetrics.Context, case: Path, tmp_path: Path
) -> dict[str, opmetrics.ComputeSummary]:
    """One case computed for each month its expected rows name.

    A case about events may list months in which it has no service requests; `compute` refuses
    such a month (no data), and those rows are checked by the measure's own golden test instead.
    A case holding a `CHAIN_LABELS` file computes its months in order, each given the previous
    month's results as `labels` (party labels remembered from month to month).
    """
    out: dict[str, opmetrics.ComputeSummary] = {}
    chain = (case / "CHAIN_LABELS").is_file()
    previous = None
    for month in _months_of(case):
        try:
            out[month] = ctx.compute(
                case, month, tmp_path / month, anon_key="golden", labels=previous
            )
        except NoDataError:
            continue
        previous = out[month].out if chain else None
    return out


def _months_of(case: Path) -> list[str]:
    months = set()
    for f in case.glob("expected_*.csv"):
        with f.open(newline="") as fh:
            for row in csv.DictReader(fh):
                m = row.get("month") or (row.get("date") or "")[:7]
                if m:
                    months.add(m)
    return sorted(months) or ["2021-04"]


@pytest.mark.parametrize("case", [c.name for c in CASES])
def test_golden_case(case: str, ctx: opmetrics.Context, tmp_path: Path) -> None:
    folder = GOLDEN / case
    checked = 0
    for month, summary in _compute_case(ctx, folder, tmp_path).items():
        checked += _check_month(folder, month, summary)
    assert checked > 0, f"{case}: no expected row could be checked through compute"


def _check_month(folder: Path, month: str, summary: opmetrics.ComputeSummary) -> int:
    case = folder.name
    checked = _check_quarantine(folder, summary)
    _check_no_party_named(folder, summary)
    for absent_file in sorted(folder.glob("absent_*.csv")):
        rows = summary.tables[absent_file.stem.removeprefix("absent_")].to_pylist()
        with absent_file.open(newline="") as fh:
            for exp in csv.DictReader(fh):
                if (exp.get("month") or month) != month:
                    continue
                hits = [
                    r
                    for r in rows
                    if all(
                        _same(v, _cell(r[k])) if v != "" else r[k] is None for k, v in exp.items()
                    )
                ]
                assert not hits, f"{case}/{absent_file.name}: a row matches {exp}"
                checked += 1
    for expected_file in sorted(folder.glob("expected_*.csv")):
        table = expected_file.stem.removeprefix("expected_")
        if table not in RESULT_TABLES or table == "quarantine":
            continue  # checked by the measure's own tests (e.g. expected_cat12_days.csv)
        rows = summary.tables[table].to_pylist()
        with expected_file.open(newline="") as fh:
            expected_rows = [
                r
                for r in csv.DictReader(fh)
                if (r.get("month") or (r.get("date") or month)[:7]) == month
            ]
        for exp in expected_rows:
            keys = {k: v for k, v in exp.items() if k in DIMENSIONS}
            matches = [
                r
                for r in rows
                if all(_same(v, _cell(r[k])) if v != "" else r[k] is None for k, v in keys.items())
            ]
            assert len(matches) == 1, (
                f"{case}/{expected_file.name}: {len(matches)} rows match {keys}"
            )
            got = matches[0]
            for k, v in exp.items():
                if k in DIMENSIONS:
                    continue
                if k in PERCENTILES:  # histogram percentiles: within the documented bound
                    assert abs(float(got[k]) - float(v)) <= percentile_bound(float(v)), (
                        f"{case}/{expected_file.name} {keys}: {k} expected {v!r}, got {got[k]!r}"
                    )
                    continue
                assert _same(v, _cell(got[k])), (
                    f"{case}/{expected_file.name} {keys}: {k} expected {v!r}, got {got[k]!r}"
                )
            checked += 1
    return checked
