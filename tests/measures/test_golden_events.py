"""Golden cases of the event-based CPMs (CPM3, CPM4, CPM5, CPM5A, CPM6, CPM6B, CPM6C).

Each folder of tests/golden/ is a complete small data dir with an `expected_cpm.csv` worked out
by hand (its CASE.md explains every number). The case is read through the real contract layer
(locate, stage, validate on DuckDB) and the measures are compared row by row with the expected
rows; only the rows a case lists are compared. Rows of other measures (the service-request
CPMs) in a case are left to their own tests.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa
import pytest

from opmetrics.catalog import Catalog, default_catalog
from opmetrics.contract.sources import locate_all
from opmetrics.engine import Engine, EngineOptions, connect
from opmetrics.measures.alerts import cpm3
from opmetrics.measures.availability import cpm6
from opmetrics.measures.firmware import cpm6bc
from opmetrics.measures.incidents import cat12_incident_days, incident_cpms
from opmetrics.month import Month
from opmetrics.results.schema import CPM
from opmetrics.validation.validate import validate

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
EVENT_CPMS = {"CPM3", "CPM4", "CPM5", "CPM5A", "CPM6", "CPM6B", "CPM6C"}
EVENT_TABLES = ("alerts", "incidents", "outages", "firmware")
KEY = ("month", "cpm", "interface", "region", "time_band", "business_process", "incident_category")
NUMBERS = ("numerator", "denominator", "value_percent")
TOLERANCE = 1e-9


def read_expected(case: Path) -> list[dict[str, Any]]:
    with (case / "expected_cpm.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for r in rows:
        row: dict[str, Any] = {k: (r.get(k) or None) for k in (*KEY, "status")}
        for k in NUMBERS:
            row[k] = float(r[k]) if r[k] else None
        out.append(row)
    return out


def event_cases() -> list[Path]:
    return sorted(
        d
        for d in GOLDEN.iterdir()
        if (d / "expected_cpm.csv").is_file()
        and any(r["cpm"] in EVENT_CPMS for r in read_expected(d))
    )


CASES = event_cases()


def load_case(engine: Engine, case: Path, work_dir: Path) -> dict[str, ir.Table | None]:
    """The accepted event tables of a golden data dir (None for a table it does not hold)."""
    catalog = default_catalog()
    work_dir.mkdir(parents=True, exist_ok=True)
    sources = locate_all(case)
    result = validate(engine, sources, catalog, work_dir)
    assert result.quarantined_total == 0, result.quarantine.to_pylist()
    return {t: result.accepted(t) if t in sources else None for t in EVENT_TABLES}


def event_rows(
    tables: dict[str, ir.Table | None], engine: Engine, catalog: Catalog, month: Month
) -> list[dict[str, Any]]:
    return [
        *cpm3(tables["alerts"], engine, catalog, month),
        *incident_cpms(tables["incidents"], engine, catalog, month),
        *cpm6(tables["outages"], engine, catalog, month),
        *cpm6bc(tables["firmware"], engine, catalog, month),
    ]


def same_number(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=0, abs_tol=TOLERANCE)


@pytest.fixture(scope="module")
def duckdb() -> Iterator[Engine]:
    engine = connect(EngineOptions(name="duckdb", threads=2))
    yield engine
    engine.close()


def test_there_are_golden_event_cases() -> None:
    names = {c.name for c in CASES}
    assert {
        "cpm6_overlapping_outages",
        "cpm6_all_region_outage",
        "cpm6_planned_overlap",
        "cpm6_open_outage",
        "cpm6_clock_change_march",
        "cpm6_clock_change_october",
        "cpm6_saturday_core",
        "cpm6_missing_outages",
        "incidents_resolution",
        "incidents_initial_response",
        "alerts_cpm3",
        "alerts_ad1_device",
        "firmware_cpm6bc",
    } <= names
    for case in CASES:
        assert (case / "CASE.md").is_file(), f"{case.name} has no CASE.md"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_case(case: Path, duckdb: Engine, tmp_path: Path) -> None:
    catalog = default_catalog()
    tables = load_case(duckdb, case, tmp_path)
    expected = [r for r in read_expected(case) if r["cpm"] in EVENT_CPMS]
    for label in sorted({r["month"] for r in expected}):
        rows = event_rows(tables, duckdb, catalog, Month.parse(label))
        pa.Table.from_pylist(rows, schema=CPM)  # every row fits the results contract
        assert all(list(r) == CPM.names for r in rows)
        keys = [tuple(r[k] for k in KEY) for r in rows]
        assert len(keys) == len(set(keys)), "a dimension combination is reported twice"
        for want in (r for r in expected if r["month"] == label):
            key = tuple(want[k] for k in KEY)
            got = [r for r in rows if tuple(r[k] for k in KEY) == key]
            assert len(got) == 1, f"{case.name}: no row {key}"
            g = got[0]
            for k in NUMBERS:
                assert same_number(g[k], want[k]), f"{case.name} {key} {k}: {g[k]} != {want[k]}"
            assert g["status"] == want["status"], f"{case.name} {key}: {g['status']}"


def test_rows_of_each_measure(duckdb: Engine, tmp_path: Path) -> None:
    """Every measure returns its full set of rows, whatever the data holds."""
    catalog = default_catalog()
    tables = load_case(duckdb, GOLDEN / "alerts_cpm3", tmp_path)
    month = Month(2021, 4)
    assert len(cpm3(tables["alerts"], duckdb, catalog, month)) == 1
    incident = incident_cpms(tables["incidents"], duckdb, catalog, month)
    assert [(r["cpm"], r["incident_category"]) for r in incident] == [
        ("CPM4", "1-2"),
        ("CPM5", "3"),
        ("CPM5", "4"),
        ("CPM5", "5"),
        ("CPM5A", "3-5"),
    ]
    availability = cpm6(tables["outages"], duckdb, catalog, month)
    interfaces = [i.id for i in catalog.interface if i.in_cpm6]
    assert [(r["interface"], r["region"], r["time_band"]) for r in availability] == [
        (i, r, b) for i in interfaces for r in catalog.regions for b in ("core", "other")
    ]
    firmware = cpm6bc(tables["firmware"], duckdb, catalog, month)
    assert [(r["cpm"], r["region"]) for r in firmware] == [
        (c, r) for c in ("CPM6B", "CPM6C") for r in ("ALL", "North", "Central", "South")
    ]


def test_missing_tables_are_loud(duckdb: Engine, tmp_path: Path) -> None:
    """No outages (or alerts, incidents, firmware) table: every row not_reportable, with why."""
    catalog = default_catalog()
    tables = load_case(duckdb, GOLDEN / "cpm6_missing_outages", tmp_path)
    rows = event_rows(tables, duckdb, catalog, Month(2021, 4))
    assert len(rows) == 1 + 5 + 6 * 4 * 2 + 8  # six interfaces: item (f) is not in CPM6
    for r in rows:
        assert r["status"] == "not_reportable"
        assert r["numerator"] is None and r["denominator"] is None and r["value_percent"] is None
        assert r["note"] and "cannot be reported" in r["note"]
    assert all("no outages table" in r["note"] for r in rows if r["cpm"] == "CPM6")


def test_open_outage_is_noted(duckdb: Engine, tmp_path: Path) -> None:
    catalog = default_catalog()
    tables = load_case(duckdb, GOLDEN / "cpm6_open_outage", tmp_path)
    rows = cpm6(tables["outages"], duckdb, catalog, Month(2021, 4))
    north = [r for r in rows if r["interface"] == "DCC User Interface" and r["region"] == "North"]
    assert all("still open" in r["note"] for r in north)
    assert all(r["note"] is None for r in rows if r not in north)


def test_incident_notes_say_why_missed(duckdb: Engine, tmp_path: Path) -> None:
    catalog = default_catalog()
    tables = load_case(duckdb, GOLDEN / "incidents_resolution", tmp_path)
    rows = incident_cpms(tables["incidents"], duckdb, catalog, Month(2021, 4))
    cpm4 = next(r for r in rows if r["cpm"] == "CPM4")
    assert cpm4["note"] == (
        "1 counted as missed in the month their deadline fell; "
        "1 still open past their deadline, counted as missed"
    )


def test_cat12_incident_days(duckdb: Engine, tmp_path: Path) -> None:
    case = GOLDEN / "incidents_resolution"
    with (case / "expected_cat12_days.csv").open(newline="", encoding="utf-8") as fh:
        expected = [(date.fromisoformat(r["date"]), r["region"]) for r in csv.DictReader(fh)]
    months = {Month(d.year, d.month) for d, _ in expected}
    assert len(months) == 1
    tables = load_case(duckdb, case, tmp_path)
    got = cat12_incident_days(tables["incidents"], duckdb, default_catalog(), months.pop())
    assert got.schema.field("date").type == pa.date32()
    assert got.schema.field("region").type == pa.string()
    assert (
        list(zip(got.column("date").to_pylist(), got.column("region").to_pylist(), strict=True))
        == expected
    )


def test_cat12_days_without_incidents_table() -> None:
    engine = connect(EngineOptions(name="duckdb", threads=1))
    got = cat12_incident_days(None, engine, default_catalog(), Month(2021, 4))
    assert got.num_rows == 0 and got.column_names == ["date", "region"]
