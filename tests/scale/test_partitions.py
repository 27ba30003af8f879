"""Day-partitioned data dirs: `compute` reads only the partitions of the month, on both engines.

The evidence is file level: partitions of other months hold rows of their own dates that would
be duplicates, quarantined or counted outside the month, in files whose data pages are
garbled (their footers intact, so pruning can still prove them outside the month). A compute
that opened them would fail or count them; one that prunes gives exactly the results of the
month alone. Partitions dated outside the month but holding rows of it are
`test_partition_edges.py`'s.
"""

from __future__ import annotations

import re
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import opmetrics
from opmetrics.contract.partitions import partition_date, prune_partitions
from opmetrics.contract.schema import TABLES
from opmetrics.contract.sources import locate, locate_all
from opmetrics.engine import EngineOptions
from opmetrics.errors import NoDataError
from opmetrics.generator import generate_month
from opmetrics.month import Month
from opmetrics.results.io import read_results
from opmetrics.results.schema import (
    PARTY_FAILURES,
    PARTY_FAILURES_DIR,
    RESTRICTED_DIR,
    RESULT_TABLES,
)

APRIL = Month.parse("2021-04")


@pytest.fixture(scope="module")
def april(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated April 2021 partitioned by day, with 1 % broken rows (read-only)."""
    out = tmp_path_factory.mktemp("partitions") / "april"
    generate_month(out, "2021-04", 6_000, seed=5, dirty=0.01, partition_by_day=True)
    return out


def shifted(table: pa.Table, delta: timedelta) -> pa.Table:
    """Every timestamp column of `table` moved by `delta` (durations unchanged)."""
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type):
            moved = pc.add(table.column(i), pa.scalar(delta, pa.duration(f.type.unit)))
            table = table.set_column(i, f, moved)
    return table


def garble_data_pages(path: Path) -> None:
    """Overwrite everything between the leading magic bytes and the footer: the footer (and its
    statistics) still reads, the rows do not."""
    raw = bytearray(path.read_bytes())
    footer_len = int.from_bytes(raw[-8:-4], "little")
    footer_start = len(raw) - 8 - footer_len
    raw[4:footer_start] = b"\xaa" * (footer_start - 4)
    path.write_bytes(bytes(raw))


def with_foreign_partitions(april: Path, dest: Path) -> Path:
    """`april` plus partitions of 31 March and 1 May that must never be read for April.

    31 March holds April's first partition moved back a day (every instant: the rows are of
    31 March, and their request ids would be duplicates of 1 April's), once as it is and once
    with its data pages garbled; 1 May holds the same rows moved 30 days on (from 00:00 on
    1 May, UK time, April's exclusive end) with every SRV broken. Alerts get a 1 May partition
    of 1 April's alerts moved 30 days on, garbled.
    """
    shutil.copytree(april, dest)
    sr = dest / "service_requests"
    first = sorted((sr / "date=2021-04-01").glob("*.parquet"))[0]
    t = pq.read_table(first)
    march = sr / "date=2021-03-31"
    march.mkdir()
    pq.write_table(shifted(t, -timedelta(days=1)), march / "part-99999.parquet")
    pq.write_table(shifted(t, -timedelta(days=1)), march / "part-corrupt.parquet")
    garble_data_pages(march / "part-corrupt.parquet")
    may = sr / "date=2021-05-01"
    may.mkdir()
    t = t.set_column(t.schema.get_field_index("srv"), "srv", pa.array(["9.9.9"] * t.num_rows))
    pq.write_table(shifted(t, timedelta(days=30)), may / "part-00000.parquet")
    alerts = dest / "alerts"
    first_alerts = sorted((alerts / "date=2021-04-01").glob("*.parquet"))[0]
    (alerts / "date=2021-05-01").mkdir()
    corrupt = alerts / "date=2021-05-01" / "part-corrupt.parquet"
    pq.write_table(shifted(pq.read_table(first_alerts), timedelta(days=30)), corrupt)
    garble_data_pages(corrupt)
    return dest


def assert_same_results(a: Path, b: Path) -> None:
    """Every table identical (quarantined rows' sources are relative to each data dir)."""
    ra, rb = read_results(a), read_results(b)
    for name in RESULT_TABLES:
        assert ra.table(name).equals(rb.table(name)), name
    assert ra.restricted("party_failures").equals(rb.restricted("party_failures"))
    assert ra.restricted("quarantine_rows").equals(rb.restricted("quarantine_rows"))
    for table in ("service_requests", "alerts"):
        for key in ("rows_read", "accepted", "quarantined"):
            assert (
                ra.manifest.to_json()["inputs"][table][key]
                == rb.manifest.to_json()["inputs"][table][key]
            )


def extract_files(results: Path) -> dict[str, list[tuple[Any, ...]]]:
    """restricted/party_failures/ as written: a folder per party label holding only
    part-NNNNN.parquet files of the extract's columns but the label, each sorted by received_at
    and request_id, their rows the manifest's count. Returns each label's rows (its files in
    name order) and checks that layout."""
    root = results / RESTRICTED_DIR / PARTY_FAILURES_DIR
    got: dict[str, list[tuple[Any, ...]]] = {}
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = f.relative_to(root).as_posix()
        assert re.fullmatch(r"party_label=P-[0-9A-F]{6,}/part-\d{5}\.parquet", rel), rel
        t = pq.read_table(f)
        assert t.column_names == PARTY_FAILURES.names[1:]
        keys = list(zip(t["received_at"].to_pylist(), t["request_id"].to_pylist(), strict=True))
        assert keys == sorted(keys), rel
        got.setdefault(f.parent.name, []).extend(tuple(r.values()) for r in t.to_pylist())
    rows = read_results(results).manifest.restricted["party_failures_rows"]
    assert sum(len(v) for v in got.values()) == rows > 0
    return {k: sorted(v, key=lambda r: (r[-1], r[0])) for k, v in got.items()}


def test_partition_dates_and_pruning(tmp_path: Path) -> None:
    root = tmp_path / "service_requests"
    files = [
        root / "date=2021-04-01" / "part-0.parquet",
        root / "date=2021-04-01" / "hour=03" / "part-1.parquet",  # nested below the date
        root / "date=2021-05-01" / "part-0.parquet",
        root / "date=2021-03-31" / "part-0.parquet",
        root / "date=not-a-date" / "part-0.parquet",  # cannot tell: read
        root / "extra" / "part-0.parquet",  # not partitioned by day: read
    ]
    assert partition_date(files[1], root) == date(2021, 4, 1)
    assert partition_date(files[4], root) is None and partition_date(files[5], root) is None
    read, skipped = prune_partitions(root, tuple(files), APRIL.days)
    assert read == (files[0], files[1], files[4], files[5])
    assert skipped == (files[2], files[3])


def test_locate_prunes_only_month_tables(april: Path, tmp_path: Path) -> None:
    data = with_foreign_partitions(april, tmp_path / "data")
    days = sorted(p.name for p in (data / "service_requests").iterdir())
    assert days[0] == "date=2021-03-31" and days[-1] == "date=2021-05-01"
    sources = locate_all(data, dates=APRIL.days)
    sr = sources["service_requests"]
    assert len(sr.skipped) == 3 and all("2021-04-" in str(f.parent.name) for f in sr.files)
    assert sr.rows == sum(pq.read_metadata(f).num_rows for f in sr.files)
    assert len(sources["alerts"].skipped) == 1
    assert sr.warnings == [] and sources["alerts"].warnings == []
    # Without a month (validate), every file is listed.
    every = locate(data, TABLES["service_requests"])
    assert every is not None and len(every.files) == len(sr.files) + 3 and every.skipped == ()
    garbled = data / "service_requests" / "date=2021-03-31" / "part-corrupt.parquet"
    assert garbled in sr.skipped
    with pytest.raises(duckdb.Error):  # its rows fail any reader: the evidence holds
        duckdb.sql(f"SELECT * FROM '{garbled}'").fetchall()
    # A table whose month is not that of one instant is never pruned.
    devices = data / "devices"
    (devices / "date=2021-05-01").mkdir(parents=True)
    (data / "devices.parquet").rename(devices / "date=2021-05-01" / "part-0.parquet")
    dev = locate(data, TABLES["devices"], APRIL.days)
    assert dev is not None and len(dev.files) == 1 and dev.skipped == ()


@pytest.mark.slow
def test_duckdb_reads_only_the_months_partitions(april: Path, tmp_path: Path) -> None:
    data = with_foreign_partitions(april, tmp_path / "data")
    opmetrics.compute(april, "2021-04", tmp_path / "alone", anon_key="k")
    summary = opmetrics.compute(data, "2021-04", tmp_path / "pruned", anon_key="k")
    assert_same_results(tmp_path / "alone", tmp_path / "pruned")
    assert extract_files(tmp_path / "pruned") == extract_files(tmp_path / "alone")
    inputs = summary.manifest.to_json()["inputs"]
    assert inputs["service_requests"]["partition_files_skipped"] == 3
    assert inputs["alerts"]["partition_files_skipped"] == 1
    listed = {f["path"] for f in inputs["service_requests"]["files"]}
    assert listed and not any("2021-03-31" in p or "2021-05-01" in p for p in listed)
    q = summary.tables["quarantine"]
    assert q.num_rows > 0
    assert not any("2021-05-01" in s or "2021-03-31" in s for s in q["source"].to_pylist())
    raw = read_results(tmp_path / "pruned").restricted("quarantine_rows")["raw"].to_pylist()
    assert not any('"9.9.9"' in r for r in raw)


def test_month_with_no_partition(april: Path, tmp_path: Path) -> None:
    """No service request partition in the month, and none holding a row of it: exit-2 error
    naming the dates found. (April's rows filed under June's dates, computed for February.)"""
    data = tmp_path / "data"
    shutil.copytree(april, data)
    sr = data / "service_requests"
    for d in sr.iterdir():
        d.rename(sr / d.name.replace("2021-04-", "2021-06-"))
    with pytest.raises(NoDataError, match=r"from 2021-06-01 to 2021-06-30") as err:
        opmetrics.compute(data, "2021-02", tmp_path / "out", anon_key="k")
    assert err.value.exit_code == 2


def _alerts_elsewhere(april: Path, data: Path) -> Path:
    """`april` with every alert moved 31 days on into a May partition: April has no alert."""
    shutil.copytree(april, data)
    alerts = data / "alerts"
    days = sorted(alerts.iterdir())
    may = alerts / "date=2021-05-01"
    may.mkdir()
    for i, d in enumerate(days):
        for f in d.glob("*.parquet"):
            pq.write_table(
                shifted(pq.read_table(f), timedelta(days=31)), may / f"part-{i:03d}-{f.name}"
            )
            f.unlink()
        d.rmdir()
    return data


@pytest.mark.slow
def test_table_pruned_to_nothing_is_an_empty_month(april: Path, tmp_path: Path) -> None:
    data = _alerts_elsewhere(april, tmp_path / "data")
    summary = opmetrics.compute(data, "2021-04", tmp_path / "out", anon_key="k")
    alerts = summary.manifest.to_json()["inputs"]["alerts"]
    assert alerts["present"] and alerts["rows_read"] == 0 and alerts["files"] == []
    cpm3 = [r for r in summary.cpm.to_pylist() if r["cpm"] == "CPM3"]
    assert [r["status"] for r in cpm3] == ["no_activity"] and cpm3[0]["denominator"] == 0


@pytest.mark.spark
@pytest.mark.slow
def test_spark_reads_only_the_months_partitions(april: Path, tmp_path: Path) -> None:
    """Spark prunes like DuckDB; a folder name with a space and a '+' keeps row provenance."""
    data = with_foreign_partitions(april, tmp_path / "data dir+1")
    no_alerts = _alerts_elsewhere(april, tmp_path / "no alerts")
    spark = EngineOptions(name="spark", threads=2)
    opmetrics.compute(data, "2021-04", tmp_path / "duck", anon_key="k")
    summary = opmetrics.compute(data, "2021-04", tmp_path / "spark", anon_key="k", engine=spark)
    assert_same_results(tmp_path / "duck", tmp_path / "spark")
    assert extract_files(tmp_path / "spark") == extract_files(tmp_path / "duck")
    sources = set(summary.tables["quarantine"]["source"].to_pylist())
    # relative to the data dir, and decoded right: each names a file there
    assert sources and all(not Path(s).is_absolute() and (data / s).is_file() for s in sources)
    empty = opmetrics.compute(no_alerts, "2021-04", tmp_path / "s2", anon_key="k", engine=spark)
    assert [r["status"] for r in empty.cpm.to_pylist() if r["cpm"] == "CPM3"] == ["no_activity"]
