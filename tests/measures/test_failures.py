"""The failed-request extract without re-checking the rows equals the extract by definition.

`failures.failed_requests` reads the raw requests and drops the quarantined rows by (file, row);
`failures.checked_failures` is the definition (`_live & _failure` of the checked facts, every
row rule evaluated). On the robustness corpus's broken rows, all in one month (Parquet, and the
same month as CSV with cells of the wrong type), both give the same rows, value for value, on
DuckDB and on Spark local. Each broken row is also given a failure's response code, so a month
where the quarantined rows were not dropped would give more rows: the test checks that too.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from opmetrics.catalog import default_catalog
from opmetrics.contract.sources import locate_all, stage_csv
from opmetrics.engine import Engine, EngineOptions, connect
from opmetrics.measures import failures
from opmetrics.measures.requests import device_set_ids, request_facts, request_values
from opmetrics.month import Month
from opmetrics.results.io import read_party_failures
from opmetrics.results.schema import PARTY_FAILURES, PARTY_FAILURES_DIR
from opmetrics.validation.validate import checked_table, fetch_quarantined, validate
from tests.robustness import corpus

APRIL = Month.parse(corpus.MONTH)
# every case of the corpus that breaks rows of service_requests (not the file or the table)
ROW_CASES = (
    "duplicate_request_ids",
    "timestamps_out_of_order",
    "timestamps_decades_ahead",
    "rows_decades_ahead",
    "bad_attempts",
    "unknown_values",
    "ten_mb_strings",
)
BROKEN_ROWS = (0, 3, 4, 5, 7, 8, 9, 12, 13, 14, 20, 21, 31, 40, 41, 42, 50, 51)
FAILURE_CODE = "E21"  # a DCC failure


@pytest.fixture(scope="module")
def months(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("failures")
    base = corpus.base_month(root / "base")
    parquet = root / "parquet"
    shutil.copytree(base, parquet)
    corpus.edit(
        parquet, "service_requests", "response_code", dict.fromkeys(BROKEN_ROWS, FAILURE_CODE)
    )
    for name in ROW_CASES:
        corpus.CASE_BY_NAME[name].build(parquet)
    csv = root / "csv"
    shutil.copytree(parquet, csv)
    corpus.CASE_BY_NAME["csv_bad_cells"].build(csv)
    return {"parquet": parquet, "csv": csv, "parquet_in_files": in_files(parquet, root, 3)}


def in_files(data: Path, root: Path, n: int) -> Path:
    """A copy of the month with its requests in `n` files of consecutive rows (a repeated
    request id may then be in another file than its first)."""
    out = root / f"{data.name}-in-files"
    shutil.copytree(data, out)
    t = pq.read_table(out / "service_requests.parquet")
    (out / "service_requests.parquet").unlink()
    (out / "service_requests").mkdir()
    size = -(-t.num_rows // n)
    for k in range(n):
        pq.write_table(t.slice(k * size, size), out / "service_requests" / f"part-{k:05d}.parquet")
    return out


def extracts(engine: Engine, data: Path, work: Path) -> dict[str, pa.Table]:
    """The extract by definition, without re-checking, and without the quarantined rows
    dropped (what the test must be able to tell apart), each sorted by label and ORDER."""
    catalog = default_catalog()
    sources = locate_all(data, dates=APRIL.days)
    work.mkdir(exist_ok=True)
    for src in sources.values():
        if src.kind == "csv":
            stage_csv(src, work)
    sr = sources["service_requests"]
    lookups: dict[str, pa.Table] = {}
    checked = checked_table(engine, sr, catalog, derive=request_values, lookups=lookups)
    devices = validate(engine, {"devices": sources["devices"]}, catalog, work)
    device_ids, sets = device_set_ids(devices.accepted("devices"), engine)
    facts = request_facts(checked, device_ids, catalog, APRIL)
    users = engine.to_arrow(checked.select("user_id").distinct())["user_id"].to_pylist()
    labels = {u: f"P-{i:06X}" for i, u in enumerate(sorted(u for u in users if u is not None))}
    lookup = lookups["service_requests"]
    quarantined = fetch_quarantined(engine, checked).select(list(failures.KEYS))
    none = quarantined.slice(0, 0)
    exprs = {
        "checked": failures.checked_failures(engine, facts, lookup, labels, sets),
        "unchecked": failures.failed_requests(
            engine, sr, catalog, APRIL, lookup, quarantined, device_ids, labels, sets
        ),
        "nothing_dropped": failures.failed_requests(
            engine, sr, catalog, APRIL, lookup, none, device_ids, labels, sets
        ),
    }
    order = [(c, "ascending") for c in (failures.PARTY_KEY, *failures.ORDER)]
    got = {k: engine.to_arrow(e).sort_by(order) for k, e in exprs.items()}
    got["quarantined"] = quarantined
    # as compute writes it: in parts of the requests' files (as many as there are files)
    parts = sr.split(len(sr.read_paths))
    folder = work / "dataset"
    n = engine.write_parquet_dataset(
        [
            failures.failed_requests(
                engine, part, catalog, APRIL, lookup, quarantined, device_ids, labels, sets
            )
            for part in parts
        ],
        folder,
        failures.PARTY_KEY,
        failures.ORDER,
        PARTY_FAILURES,
        spread_by="received_at",
    )
    got["written"] = read_party_failures_at(folder)
    assert n == got["written"].num_rows
    got["files"] = pa.table(
        {"file": [str(p.relative_to(folder)) for p in folder.rglob("*.parquet")]}
    )
    got["parts"] = pa.table({"files": [len(p.read_paths) for p in parts]})
    return got


def check(got: dict[str, pa.Table]) -> None:
    checked, unchecked = got["checked"], got["unchecked"]
    assert checked.num_rows > 100
    assert got["quarantined"].num_rows >= len(BROKEN_ROWS)
    assert unchecked.schema == checked.schema
    assert unchecked.to_pylist() == checked.to_pylist()
    # the broken rows given a failure's code in the month are there unless dropped by key
    assert got["nothing_dropped"].num_rows > checked.num_rows
    assert got["written"].to_pylist() == checked.to_pylist()


def test_the_extract_in_parts_of_the_files_equals_the_definition(
    months: dict[str, Path], tmp_path: Path
) -> None:
    """Written in one part per file of requests (3), each file sorted on its own: the same
    rows, and a party's rows in up to one file per part."""
    with connect(EngineOptions(name="duckdb", threads=2)) as engine:
        got = extracts(engine, months["parquet_in_files"], tmp_path)
    check(got)
    assert got["parts"]["files"].to_pylist() == [1, 1, 1]
    names = got["files"]["file"].to_pylist()
    assert {n.split("/")[1] for n in names} == {f"part-{k:05d}.parquet" for k in range(3)}
    per_party = Counter(n.split("/")[0] for n in names)
    assert max(per_party.values()) == 3
    for n in names:
        t = pq.read_table(tmp_path / "dataset" / n)
        keys = list(zip(t["received_at"].to_pylist(), t["request_id"].to_pylist(), strict=True))
        assert keys == sorted(keys), n


@pytest.mark.parametrize("layout", ["parquet", "csv"])
def test_extract_without_rechecking_equals_the_definition(
    months: dict[str, Path], layout: str, tmp_path: Path
) -> None:
    with connect(EngineOptions(name="duckdb", threads=2)) as engine:
        check(extracts(engine, months[layout], tmp_path))


@pytest.mark.spark
def test_extract_without_rechecking_equals_the_definition_on_spark(
    months: dict[str, Path], tmp_path: Path
) -> None:
    with connect(EngineOptions(name="spark", threads=2)) as spark:
        for layout, data in months.items():
            got = extracts(spark, data, tmp_path / layout)
            check(got)
            with connect(EngineOptions(name="duckdb", threads=2)) as duck:
                expected = extracts(duck, data, tmp_path / f"duck-{layout}")["checked"]
            assert got["unchecked"].to_pylist() == expected.to_pylist(), layout


def written(engine: Engine, table: pa.Table, folder: Path, rows: int | None) -> dict[str, bytes]:
    """`table` written by the engine as the extract's dataset: its files, by relative path."""
    n = engine.write_parquet_dataset(
        engine.memtable(table),
        folder,
        failures.PARTY_KEY,
        failures.ORDER,
        PARTY_FAILURES,
        rows=rows,
        spread_by="received_at",
    )
    assert n == table.num_rows
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def extract_table(n: int) -> pa.Table:
    """`n` failed requests of 3 parties over 5 days, in no order (one party's across all days)."""
    rows = []
    for i in range(n):
        k = (i * 7919) % n
        rows.append(
            {
                "party_label": ("P-00000A", "P-00000B", "P-00000C")[k % 3],
                "request_id": f"R{k:05d}",
                "srv": "2.2",
                "dsp_attempts": k % 4,
                "rtt_s": k / 10,
                "received_at": datetime(2021, 4, 1 + k % 5, k % 24, tzinfo=UTC),
            }
        )
    return pa.Table.from_pylist(rows, schema=PARTY_FAILURES)


@pytest.mark.parametrize("name", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_dataset_layout_sorted_and_the_same_bytes_twice(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hive folders by label holding `part-NNNNN.parquet` only, each file sorted on ORDER
    without the label column; every row once; written twice, the same bytes. On Spark with
    tasks of 40 rows: a party's rows in several files, written by several tasks."""
    if name == "spark":
        import opmetrics.engine.spark as spark_engine

        monkeypatch.setattr(spark_engine, "WRITE_PARTITION_ROWS", 40)
    table = extract_table(300)
    with connect(EngineOptions(name=name, threads=2)) as engine:
        first = written(engine, table, tmp_path / "a", table.num_rows)
        assert written(engine, table, tmp_path / "b", None) == first
    labels = sorted(set(table["party_label"].to_pylist()))
    assert sorted({k.split("/")[0] for k in first}) == [f"party_label={x}" for x in labels]
    assert all(re.fullmatch(r"party_label=P-00000[ABC]/part-\d{5}\.parquet", k) for k in first)
    if name == "spark":
        assert max(Counter(k.split("/")[0] for k in first).values()) > 1
    for k in first:
        t = pq.read_table(tmp_path / "a" / k)
        assert t.column_names == PARTY_FAILURES.names[1:]
        keys = list(zip(t["received_at"].to_pylist(), t["request_id"].to_pylist(), strict=True))
        assert keys == sorted(keys), k
    back = read_party_failures_at(tmp_path / "a")
    order = [(c, "ascending") for c in (failures.PARTY_KEY, *failures.ORDER)]
    assert back.equals(table.sort_by(order))
    empty = table.slice(0, 0)
    with connect(EngineOptions(name=name, threads=2)) as engine:
        assert written(engine, empty, tmp_path / "none", 0) == {}


def read_party_failures_at(folder: Path) -> pa.Table:
    """The dataset read back as a results folder's `restricted/` would be."""
    restricted = folder.parent / f"{folder.name}-restricted"
    restricted.mkdir()
    shutil.copytree(folder, restricted / PARTY_FAILURES_DIR)
    return read_party_failures(restricted)
