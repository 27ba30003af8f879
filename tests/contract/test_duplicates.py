"""Duplicate keys: every row after the first of its key (by file, then row) is quarantined.

The same answer whether the repeated keys are few (found in queries of their own and joined
back from the client) or many (flagged inside the main query).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import opmetrics.validation.validate as validate_module
from opmetrics.context import Context
from opmetrics.contract.schema import TABLES
from tests.contract.rowkit import request


def _write(path: Path, rows: list[dict]) -> None:
    schema = TABLES["service_requests"].arrow_schema().with_metadata(None)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data" / "service_requests"
    folder.mkdir(parents=True)
    # part-0: 1 2 3 2 4 ; part-1: 1 5 3 3 (request_id from the counter; times differ)
    a = [request(1), request(2), request(3), request(2, response_code="E21"), request(4)]
    b = [request(1), request(5), request(3), request(3, dsp_attempts=2)]
    _write(folder / "part-0.parquet", a)
    _write(folder / "part-1.parquet", b)
    return tmp_path / "data"


# (file, row) of the later copies: part-0 row 4 (2), part-1 rows 1 (1), 3 and 4 (3)
EXPECTED = [
    ("part-0.parquet", 4),
    ("part-1.parquet", 1),
    ("part-1.parquet", 3),
    ("part-1.parquet", 4),
]


def _duplicates(data_dir: Path) -> list[tuple[str, int]]:
    with Context() as ctx:
        summary = ctx.validate(data_dir)
    report = summary.tables["service_requests"]
    assert report.rows_read == 9 and report.accepted == 5
    assert report.quarantined == {"duplicate_key": 4}
    q = summary.quarantine.to_pylist()
    assert {r["reason_code"] for r in q} == {"duplicate_key"}
    return sorted((Path(r["source"]).name, r["row"]) for r in q)


def test_few_repeated_keys_joined_back_from_the_client(data_dir: Path) -> None:
    assert _duplicates(data_dir) == EXPECTED


def test_many_repeated_keys_flagged_in_the_main_query(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(validate_module, "LAZY_DUPLICATES", 1)  # 3 repeated keys: "many"
    assert _duplicates(data_dir) == EXPECTED


def test_no_repeated_key(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    _write(folder / "service_requests.parquet", [request(n) for n in range(1, 6)])
    with Context() as ctx:
        summary = ctx.validate(folder)
    assert summary.tables["service_requests"].quarantined == {}
