"""Every case of the bad-input corpus gets its documented behaviour (docs/robustness.md).

A case is either refused (its exit code and one `error:` line naming the file and what is
wrong) or computed (exit 0) with the broken rows quarantined under their reason codes and the
counts reconciling. No case may end in a traceback or an internal error.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from opmetrics.results.io import FORMULA_CHARS
from tests.robustness.conftest import Ran, manifest
from tests.robustness.corpus import (
    BASE_REQUESTS,
    CASE_BY_NAME,
    CASES,
    FORMULA_NAMES,
    argv,
    build_case,
)

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Refused:
    code: int
    needles: tuple[str, ...]


@dataclass(frozen=True)
class Computed:
    """Exit 0; per table, the quarantined rows by reason (tables not named: none)."""

    quarantined: dict[str, dict[str, int]] = field(default_factory=dict)
    check: Callable[[Path, Ran], None] | None = None


def _cpm_status(results: Path, cpm: str) -> set[str]:
    t = pq.read_table(results / "cpm.parquet").to_pylist()
    return {r["status"] for r in t if r["cpm"] == cpm}


def _all_read(results: Path, _: Ran) -> None:
    assert manifest(results)["inputs"]["service_requests"]["rows_read"] == BASE_REQUESTS


def _extra_column_warned(results: Path, ran: Ran) -> None:
    assert "ignoring column(s) not in the contract: notes" in ran.stderr


def _outside_month(results: Path, _: Ran) -> None:
    assert manifest(results)["inputs"]["service_requests"]["outside_month"] == 5


def _reasons_brief(results: Path, _: Ran) -> None:
    q = pq.read_table(results / "quarantine.parquet").to_pylist()
    assert len(q) == 2 and all(len(r["reason"]) < 100 for r in q)  # value-free
    rows = pq.read_table(results / "restricted" / "quarantine_rows.parquet").to_pylist()
    assert len(rows) == 2 and all(len(r["reason_detail"]) < 400 for r in rows)
    assert max(len(r["raw"]) for r in rows) > 10_000_000  # the row itself is kept whole


def _labels_neutralised(results: Path, _: Ran) -> None:
    with (results / "restricted" / "party_labels.csv").open(encoding="utf-8") as fh:
        names = [r["name"] for r in csv.DictReader(fh)]
    assert {"'" + n for n in FORMULA_NAMES} <= set(names)
    assert not any(n.startswith(FORMULA_CHARS) for n in names)
    exact = pq.read_table(results / "restricted" / "party_labels.parquet").column("name")
    assert set(FORMULA_NAMES) <= set(exact.to_pylist())


def _cpm3_no_activity(results: Path, _: Ran) -> None:
    assert _cpm_status(results, "CPM3") == {"no_activity"}


def _cpm6_available(results: Path, _: Ran) -> None:
    assert _cpm_status(results, "CPM6") == {"met"}


def _cpm3_not_reportable(results: Path, ran: Ran) -> None:
    assert _cpm_status(results, "CPM3") == {"not_reportable"}
    assert "NOT REPORTABLE CPM3: no alerts table" in ran.stderr


def _incomplete_month(results: Path, ran: Ran) -> None:
    m = manifest(results)["reportability"]
    for c in ("CPM1", "CPM2", "CPM6A"):
        assert m[c]["status"] == "not_reportable"
        assert m[c]["reason"].startswith("incomplete service requests: 10 day(s)")
    assert "NOT REPORTABLE CPM1" in ran.stderr


def _no_parties(results: Path, _: Ran) -> None:
    assert manifest(results)["inputs"]["parties"]["rows_read"] == 0


SR = "service_requests"
EXPECTED: dict[str, Refused | Computed] = {
    "truncated_parquet": Refused(2, ("service_requests.parquet", "not a readable Parquet file")),
    "truncated_optional_parquet": Refused(2, ("alerts.parquet", "not a readable Parquet file")),
    "csv_named_parquet": Refused(2, ("outages.parquet", "not a readable Parquet file")),
    "csv_stray_quote": Computed({SR: {"malformed_row": 1}}, _all_read),
    "csv_wrong_delimiter": Refused(
        2, ("service_requests.csv", "the header has semicolons and no commas")
    ),
    "csv_bom": Computed({}, _all_read),
    "csv_cr_line_ends": Computed({}, _all_read),
    "csv_not_utf8": Refused(2, ("parties.csv", "not UTF-8", "byte offset", "(line 5)")),
    "csv_utf16": Refused(2, ("parties.csv", "0xff at byte offset 0", "save it as UTF-8")),
    "csv_empty_file": Refused(2, ("parties.csv", "empty file: no header line")),
    "csv_header_only": Computed({}, _no_parties),
    "csv_bad_cells": Computed({SR: {"invalid_value": 2}}, _all_read),
    "parquet_wrong_type": Refused(2, ("column 'dsp_attempts' has type string, expected int",)),
    "parquet_timestamp_as_text": Refused(
        2, ("incidents.parquet", "'raised_at' has type string, expected timestamp")
    ),
    "missing_column": Refused(2, ("devices.parquet", "missing column firmware_version")),
    "extra_column": Computed({}, _extra_column_warned),
    "other_string_encodings": Computed({}, _all_read),
    "table_given_twice": Refused(2, ("table 'parties' is given more than once",)),
    "duplicate_request_ids": Computed({SR: {"duplicate_key": 3}}),
    "timestamps_out_of_order": Computed({SR: {"timestamps_out_of_order": 3}}),
    "timestamps_decades_ahead": Computed({SR: {"implausible_timestamp": 3}}),
    "rows_decades_ahead": Computed({}, _outside_month),
    "bad_attempts": Computed({SR: {"bad_dsp_attempts": 3}}),
    "unknown_values": Computed(
        {
            SR: {
                "unknown_srv": 1,
                "unknown_region": 1,
                "unknown_device_type": 1,
                "unknown_response_code": 1,
            }
        }
    ),
    "ten_mb_strings": Computed({SR: {"bad_request_id": 1, "value_too_long": 1}}, _reasons_brief),
    "ten_mb_party_name": Computed({"parties": {"value_too_long": 1}}),
    "formula_party_names": Computed({}, _labels_neutralised),
    "markup_party_names": Computed({}),
    "hostile_device_models": Computed({}),
    "empty_service_requests": Refused(
        2, ("service_requests.parquet", "no accepted service requests at all")
    ),
    "empty_alerts": Computed({}, _cpm3_no_activity),
    "empty_outages": Computed({}, _cpm6_available),
    "absent_alerts": Computed({}, _cpm3_not_reportable),
    "absent_service_requests": Refused(2, ("required table 'service_requests' not found",)),
    "month_without_data": Refused(
        2, ("no service requests received in 2021-04", "the data covers 2021-02 to 2021-05")
    ),
    "missing_days": Computed({}, _incomplete_month),
    "wrong_month": Refused(
        2, ("no service requests received in 2021-06: the data covers 2021-04", "wrong --month")
    ),
    "malformed_month": Refused(2, ("month '2021-13' is not YYYY-MM",)),
    "data_dir_is_a_file": Refused(2, ("data dir does not exist or is not a folder",)),
}


def test_every_case_has_an_expectation_and_a_line_in_the_docs() -> None:
    assert set(EXPECTED) == set(CASE_BY_NAME)
    doc = (ROOT / "docs" / "robustness.md").read_text(encoding="utf-8")
    missing = [c.name for c in CASES if f"`{c.name}`" not in doc]
    assert not missing, f"docs/robustness.md does not describe {missing}"


@pytest.mark.parametrize("name", [c.name for c in CASES])
def test_case(name: str, base: Path, tmp_path: Path, cli: Any) -> None:
    case = CASE_BY_NAME[name]
    data = build_case(case, base, tmp_path / "data")
    out = tmp_path / "results"
    ran: Ran = cli(*argv(case, data, out))
    expected = EXPECTED[name]
    if isinstance(expected, Refused):
        ran.assert_refused(expected.code, *expected.needles)
        assert not out.exists()  # nothing half-written
        assert not list(tmp_path.glob(".results.*"))  # no temporary folder left
        return
    ran.assert_clean()
    assert ran.code == 0, ran.stderr
    m = manifest(out)
    for table, info in m["inputs"].items():
        if not info["present"]:
            continue
        assert info["quarantined"] == expected.quarantined.get(table, {}), table
        assert info["rows_read"] == info["accepted"] + sum(info["quarantined"].values()), table
    q = pq.read_table(out / "quarantine.parquet")
    assert q.num_rows == sum(sum(v.values()) for v in expected.quarantined.values())
    rows = pq.read_table(out / "restricted" / "quarantine_rows.parquet")
    assert rows.select(q.column_names).equals(q)  # the same rows, keyed alike
    assert m["restricted"]["quarantine_rows"] == q.num_rows
    if expected.check is not None:
        expected.check(out, ran)
