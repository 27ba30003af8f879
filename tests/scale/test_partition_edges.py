"""Day partitions at the month's edges: every row of the month is read, however the producer
dated its partitions, and a partition left unread is one whose Parquet footers prove it holds
no row of the month.

April 2021 in UK local time (BST, UTC+1) runs from 2021-03-31T23:00Z to 2021-04-30T23:00Z.
A producer that dates partitions in UTC files the first hour of April under `date=2021-03-31`
and the first hour of May under `date=2021-04-30`; one that dates them in UK local time does
not. The rows below are placed on both sides of both edges, to the second.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import opmetrics
from opmetrics.contract.schema import ALERTS, SERVICE_REQUESTS, TABLES
from opmetrics.contract.sources import locate, locate_all
from opmetrics.errors import UnreadableFileError
from opmetrics.month import UK, Month
from tests.measures.randomrows import noon_request

APRIL = Month.parse("2021-04")


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def request(n: int, received: str, srv: str = "11.1") -> dict[str, Any]:
    """A valid non-device request answered 2 s later with I0 (a success), unless `srv` is
    not in the catalog (quarantined as `unknown_srv`)."""
    return {**noon_request(n, _utc(received)), "srv": srv}


# n  received_at (UTC)      UK local time        month   UTC date  local date
EDGE_ROWS = [
    request(1, "2021-03-31T21:30:00"),  # 31 Mar 22:30:00     March   03-31     03-31
    request(2, "2021-03-31T22:59:59"),  # 31 Mar 23:59:59     March   03-31     03-31
    request(3, "2021-03-31T23:00:00"),  # 1 Apr 00:00:00      April   03-31     04-01
    request(4, "2021-03-31T23:30:00"),  # 1 Apr 00:30:00      April   03-31     04-01
    request(5, "2021-03-31T23:45:00", srv="9.9.9"),  # 1 Apr 00:45, April, broken: unknown_srv
    request(6, "2021-04-15T12:00:00"),  # 15 Apr 13:00:00     April   04-15     04-15
    request(7, "2021-04-30T22:59:59"),  # 30 Apr 23:59:59     April   04-30     04-30
    request(8, "2021-04-30T23:00:00"),  # 1 May 00:00:00      May     04-30     05-01
    request(9, "2021-04-30T23:45:00"),  # 1 May 00:45:00      May     04-30     05-01
    request(10, "2021-05-01T00:30:00"),  # 1 May 01:30:00     May     05-01     05-01
]
# April's rows are 3, 4, 5, 6 and 7; row 5 is quarantined, so April counts 4 requests:
# 2 on 1 April (3, 4), 1 on 15 April (6), 1 on 30 April (7).
APRIL_BY_DAY = {date(2021, 4, 1): 2, date(2021, 4, 15): 1, date(2021, 4, 30): 1}


def write_partitioned(
    root: Path,
    rows: list[dict[str, Any]],
    by: str,
    *,
    statistics: bool = True,
    spec: Any = SERVICE_REQUESTS,
    instant: str = "received_at",
) -> None:
    """Rows into `root/<table>/date=YYYY-MM-DD/part-0.parquet`, dated by the UTC or the UK
    local date of `instant`, or all under one given date (`by` = "YYYY-MM-DD")."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        t: datetime = r[instant]
        day = t.date() if by == "utc" else t.astimezone(UK).date() if by == "local" else by
        groups.setdefault(str(day), []).append(r)
    for day, part in groups.items():
        folder = root / spec.name / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(part, schema=spec.arrow_schema())
        pq.write_table(table, folder / "part-0.parquet", write_statistics=statistics)


@pytest.fixture(scope="module")
def ctx() -> Any:
    with opmetrics.Context() as c:
        yield c


def april_counts(summary: Any) -> dict[date, int]:
    """Requests counted in the month per UK local date (srv_daily, all regions, every outcome)."""
    out: dict[date, int] = {}
    for r in summary.tables["srv_daily"].to_pylist():
        n = r["succeeded"] + r["failed"] + r["excluded"]
        if n and r["region"] == "ALL":
            out[r["date"]] = out.get(r["date"], 0) + n
    return out


def test_partitions_dated_in_utc(ctx: Any, tmp_path: Path) -> None:
    """The first hour of April (UK time) sits in `date=2021-03-31`: it must be read."""
    write_partitioned(tmp_path / "data", EDGE_ROWS, "utc")
    # Files: 03-31 (rows 1-5), 04-15 (6), 04-30 (7, 8, 9), 05-01 (10).
    # 03-31 is April's left neighbour and its received_at runs 21:30Z-23:45Z, reaching past
    # 23:00Z: read. 05-01 starts at 00:30Z on 1 May, after April's end (23:00Z on 30 April):
    # its footer proves it holds no April row, so it is the one file skipped.
    s = ctx.compute(tmp_path / "data", "2021-04", tmp_path / "out", anon_key="k")
    sr = s.manifest.to_json()["inputs"]["service_requests"]
    # Read: rows 1-9 = 9. Quarantined: row 5. Accepted: 8, of which 1, 2 (March) and
    # 8, 9 (May) are outside the month: 4; in April: 3, 4, 6, 7 = 4.
    assert sr["rows_read"] == 9 == sr["accepted"] + sum(sr["quarantined"].values())
    assert sr["quarantined"] == {"unknown_srv": 1}
    assert sr["accepted"] == 8 and sr["outside_month"] == 4
    assert sr["partition_files_skipped"] == 1
    assert april_counts(s) == APRIL_BY_DAY
    assert sum(APRIL_BY_DAY.values()) == sr["accepted"] - sr["outside_month"]
    q = s.tables["quarantine"].to_pylist()
    assert [(r["reason_code"], Path(r["source"]).parent.name) for r in q] == [
        ("unknown_srv", "date=2021-03-31")
    ]
    # A neighbour is expected to hold the edge's hour: no warning for it.
    assert s.manifest.to_json()["warnings"] == []


def test_partitions_dated_in_uk_local_time(ctx: Any, tmp_path: Path) -> None:
    """The layout the generator writes: the neighbours' footers prove them outside April."""
    write_partitioned(tmp_path / "data", EDGE_ROWS, "local")
    # Files: 03-31 (rows 1, 2), 04-01 (3, 4, 5), 04-15 (6), 04-30 (7), 05-01 (8, 9, 10).
    # 03-31 ends at 22:59:59Z, a second before April; 05-01 starts at 23:00:00Z on 30 April,
    # April's (exclusive) end: both skipped.
    s = ctx.compute(tmp_path / "data", "2021-04", tmp_path / "out", anon_key="k")
    sr = s.manifest.to_json()["inputs"]["service_requests"]
    # Read: rows 3-7 = 5; quarantined row 5; accepted 4, all in April.
    assert sr["rows_read"] == 5 == sr["accepted"] + sum(sr["quarantined"].values())
    assert sr["accepted"] == 4 and sr["outside_month"] == 0
    assert sr["partition_files_skipped"] == 2
    assert april_counts(s) == APRIL_BY_DAY
    assert s.manifest.to_json()["warnings"] == []


# Partitions dated wrongly, or whose footers cannot show where their rows fall:
MISDATED = {
    "2021-03-25": [
        request(11, "2021-04-10T09:00:00"),  # 10 Apr 10:00 BST: April, filed 16 days early
        request(12, "2021-03-25T10:00:00"),  # 25 Mar 10:00 GMT: March
    ],
    "2021-02-01": [request(14, "2021-02-01T10:00:00")],  # February: footer proves it
}
NO_STATISTICS = {"2021-06-10": [request(13, "2021-06-10T10:00:00")]}  # June, no min/max


def _misdated_data(tmp_path: Path) -> Path:
    """The local layout of EDGE_ROWS with the MISDATED and NO_STATISTICS partitions beside it."""
    data = tmp_path / "data"
    write_partitioned(data, EDGE_ROWS, "local")
    for day, rows in MISDATED.items():
        write_partitioned(data, rows, day)
    for day, rows in NO_STATISTICS.items():
        write_partitioned(data, rows, day, statistics=False)
    return data


def test_misdated_partition_is_read_and_named(ctx: Any, tmp_path: Path) -> None:
    data = _misdated_data(tmp_path)
    # Skipped, footers proving it: 03-31, 05-01 (as in the local layout) and 02-01 = 3.
    # Read beside April's own partitions: 03-25 (received_at 10:00Z 25 Mar to 09:00Z 10 Apr
    # overlaps April) and 06-10 (no statistics: nothing shows it holds no April row).
    s = ctx.compute(data, "2021-04", tmp_path / "out", anon_key="k")
    sr = s.manifest.to_json()["inputs"]["service_requests"]
    # Read: rows 3-7 (5) + 11, 12 + 13 = 8; quarantined row 5; accepted 7; outside the month
    # 12 (March) and 13 (June) = 2; in April 3, 4, 6, 7, 11 = 5, with 11 on 10 April.
    assert sr["rows_read"] == 8 == sr["accepted"] + sum(sr["quarantined"].values())
    assert sr["accepted"] == 7 and sr["outside_month"] == 2
    assert sr["partition_files_skipped"] == 3
    assert april_counts(s) == {**APRIL_BY_DAY, date(2021, 4, 10): 1}
    read = {Path(f["path"]).parent.name for f in sr["files"]}
    assert {"date=2021-03-25", "date=2021-06-10"} <= read
    assert not read & {"date=2021-02-01", "date=2021-03-31", "date=2021-05-01"}
    warnings = s.manifest.to_json()["warnings"]
    assert len(warnings) == 2, warnings
    overlap, no_stats = sorted(warnings, key=lambda w: "no min/max statistics" in w)
    assert "date=2021-03-25" in overlap and "2021-04-10T09:00:00Z" in overlap
    assert "date=2021-06-10" in no_stats and "no min/max statistics" in no_stats
    assert "date=2021-02-01" not in " ".join(warnings)


def test_validate_reads_every_partition(ctx: Any, tmp_path: Path) -> None:
    """No month, nothing pruned: all 14 rows, footers never consulted, nothing to warn of."""
    data = _misdated_data(tmp_path)
    src = locate_all(data)["service_requests"]
    assert src.rows == 14 and src.skipped == () and src.warnings == []
    v = ctx.validate(data)
    rep = v.tables["service_requests"]
    assert (rep.rows_read, rep.accepted, rep.quarantined) == (14, 13, {"unknown_srv": 1})
    assert v.warnings == []


# -- the footer check on its own ----------------------------------------------------------


def _instants(table: str, column: str, values: list[datetime | None], t: pa.DataType) -> pa.Table:
    """A table of the contract with only `column` filled (the footer check reads nothing else)."""
    spec = TABLES[table]
    schema = spec.arrow_schema()
    cols = {
        f.name: pa.array(values, t) if f.name == column else pa.nulls(len(values), f.type)
        for f in schema
    }
    return pa.table(cols, schema=schema.set(schema.get_field_index(column), pa.field(column, t)))


@pytest.mark.parametrize(
    "arrow_type",
    [pa.timestamp("us", "UTC"), pa.timestamp("ms", "UTC"), pa.timestamp("ns", "UTC")],
    ids=["us", "ms", "ns"],
)
def test_footer_check_by_unit_and_row_group(tmp_path: Path, arrow_type: pa.DataType) -> None:
    """Alerts by `raised_at`, in any time unit; a row group that reaches the month suffices."""
    root = tmp_path / "alerts"
    start, end = APRIL.start_utc, APRIL.end_utc
    one_us = timedelta(microseconds=1) if arrow_type.unit != "ms" else timedelta(milliseconds=1)
    cases = {
        # before April by one unit, in two row groups (the second all null): skipped
        "2021-03-20": ([start - timedelta(days=5), None, None, start - one_us], False),
        # April's end instant is May's: skipped
        "2021-05-02": ([end, end + timedelta(days=1)], False),
        # the second row group reaches April's first instant: read
        "2021-03-21": ([start - timedelta(days=3), start - timedelta(days=2), start], True),
        # the last instant of April in a partition dated in May: read
        "2021-05-20": ([end - one_us, end + timedelta(days=19)], True),
    }
    for day, (values, _) in cases.items():
        (root / f"date={day}").mkdir(parents=True)
        pq.write_table(
            _instants("alerts", "raised_at", values, arrow_type),
            root / f"date={day}" / "part-0.parquet",
            row_group_size=2,
        )
    src = locate(tmp_path, ALERTS, APRIL.days)
    assert src is not None
    read = sorted(f.parent.name for f in src.files)
    skipped = sorted(f.parent.name for f in src.skipped)
    assert read == [f"date={d}" for d, (_, r) in sorted(cases.items()) if r]
    assert skipped == [f"date={d}" for d, (_, r) in sorted(cases.items()) if not r]
    assert len(src.warnings) == 1 and "date=2021-03-21" in src.warnings[0]
    assert "date=2021-05-20" in src.warnings[0]


def test_unreadable_footer_outside_the_month_stops_the_run(tmp_path: Path) -> None:
    """A file whose footer cannot be read might hold rows of the month: exit 2, named."""
    write_partitioned(tmp_path, EDGE_ROWS, "local")
    bad = tmp_path / "service_requests" / "date=2020-11-05" / "part-7.parquet"
    bad.parent.mkdir()
    bad.write_bytes(b"PAR1 not really")
    with pytest.raises(UnreadableFileError, match="dated outside the month") as err:
        locate(tmp_path, SERVICE_REQUESTS, APRIL.days)
    assert err.value.exit_code == 2 and err.value.path == str(bad)


def test_int96_partitions_are_read_and_only_far_ones_named(tmp_path: Path) -> None:
    """INT96 timestamps (Spark's default) carry no min/max: nothing can be proven, so read.

    31 March (April's left neighbour) holds only March rows, 10 February a February row; both
    footers are silent, so both are read. Only 10 February is named: the neighbour is where a
    producer dating in UTC puts April's first hour, so reading it says nothing unusual.
    """
    root = tmp_path / "service_requests"
    rows = {
        "2021-03-31": [request(1, "2021-03-31T21:30:00"), request(2, "2021-03-31T22:59:59")],
        "2021-02-10": [request(20, "2021-02-10T10:00:00")],
        "2021-04-15": [request(6, "2021-04-15T12:00:00")],
    }
    for day, part in rows.items():
        (root / f"date={day}").mkdir(parents=True)
        table = pa.Table.from_pylist(part, schema=SERVICE_REQUESTS.arrow_schema())
        pq.write_table(
            table, root / f"date={day}" / "part-0.parquet", use_deprecated_int96_timestamps=True
        )
    assert (
        pq.read_metadata(root / "date=2021-02-10" / "part-0.parquet")
        .schema.column(SERVICE_REQUESTS.column_names.index("received_at"))
        .physical_type
        == "INT96"
    )
    src = locate(tmp_path, SERVICE_REQUESTS, APRIL.days)
    assert src is not None and src.skipped == () and src.rows == 4
    assert len(src.warnings) == 1
    assert "date=2021-02-10" in src.warnings[0] and "2021-03-31" not in src.warnings[0]
    assert "INT96" in src.warnings[0]
