"""Sorted Parquet writes on DuckDB: one in-memory sort, or range by range of the first key.

Both must give the same rows in the same order as sorting the whole table in Python, whatever
the range size, with ties on the first key, nulls in it (last) and one value larger than a range.
"""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import opmetrics.engine.duckdb as duck
from opmetrics.engine import EngineOptions, connect
from opmetrics.engine.duckdb import sort_ranges

SCHEMA = pa.schema([("party", pa.string()), ("at", pa.int64()), ("id", pa.string())])


def _rows(n: int) -> pa.Table:
    rnd = random.Random(7)
    parties = [None, "A", "B", "C", "D", "E"]
    weights = [1, 50, 5, 5, 1, 20]  # "A" holds half the rows: larger than any range below
    party = rnd.choices(parties, weights, k=n)
    return pa.table(
        {
            "party": party,
            "at": [rnd.randrange(40) for _ in range(n)],  # many ties on (party, at)
            "id": [f"r{i:05d}" for i in rnd.sample(range(n), n)],
        },
        schema=SCHEMA,
    )


def _expected(t: pa.Table) -> list[tuple[object, ...]]:
    rows = list(zip(*(t[c].to_pylist() for c in SCHEMA.names), strict=True))
    return sorted(rows, key=lambda r: (r[0] is None, r[0] or "", r[1], r[2]))


@pytest.mark.parametrize("range_rows", [10**9, 1000, 300, 1])
def test_sorted_write_matches_a_full_sort(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, range_rows: int
) -> None:
    src = _rows(3000)
    monkeypatch.setattr(duck, "SORT_RANGE_ROWS", range_rows)
    with connect(EngineOptions(name="duckdb", threads=2)) as e:
        n = e.write_parquet(
            e.memtable(src), tmp_path / "out.parquet", ["party", "at", "id"], SCHEMA, rows=3000
        )
        spill = Path(e.temp_directory)
        left = list(spill.glob("sort-*")) if spill.exists() else []
    got = pq.read_table(tmp_path / "out.parquet")
    assert n == 3000 and got.schema.equals(SCHEMA)
    assert list(zip(*(got[c].to_pylist() for c in SCHEMA.names), strict=True)) == _expected(src)
    assert left == []  # the unordered intermediate file is removed


def test_sort_ranges_hold_at_most_the_limit_unless_one_value_is_larger() -> None:
    values = ["A", "B", "C", "D", "E", None]
    counts = [5, 2, 2, 9, 1, 3]
    assert sort_ranges(values, counts, 4) == [
        ("A", "A"),  # 5 rows: larger than the limit, alone
        ("B", "C"),
        ("D", "D"),
        ("E", "E"),
        (None, None),
    ]
    assert sort_ranges(values, counts, 100) == [("A", "E"), (None, None)]
    assert sort_ranges([], [], 4) == []
