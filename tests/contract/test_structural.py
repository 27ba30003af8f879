"""Structural problems stop the run with exit code 2 and one line naming file and column/offset."""

from __future__ import annotations

import csv
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from opmetrics.contract.schema import SERVICE_REQUESTS
from tests.cli_runner import run_cli
from tests.contract.rowkit import request


def write_parquet(path: Path, rows: list[dict[str, Any]], schema: pa.Schema | None = None) -> None:
    pq.write_table(
        pa.Table.from_pylist(rows, schema=schema or SERVICE_REQUESTS.arrow_schema()), path
    )


def write_csv(
    path: Path, rows: list[dict[str, Any]], encoding: str = "utf-8", delimiter: str = ","
) -> None:
    with path.open("w", newline="", encoding=encoding) as fh:
        w = csv.DictWriter(fh, fieldnames=list(SERVICE_REQUESTS.column_names), delimiter=delimiter)
        w.writeheader()
        for r in rows:
            w.writerow(
                {
                    k: (v.isoformat().replace("+00:00", "Z") if isinstance(v, datetime) else v)
                    for k, v in r.items()
                }
            )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for n in needles:
        assert n in errors[0], errors[0]


def test_missing_column(tmp_path: Path) -> None:
    schema = pa.schema([f for f in SERVICE_REQUESTS.arrow_schema() if f.name != "dsp_attempts"])
    rows = [{k: v for k, v in request(1).items() if k != "dsp_attempts"}]
    write_parquet(tmp_path / "service_requests.parquet", rows, schema)
    proc = run_cli("validate", str(tmp_path), "--quarantine", str(tmp_path / "q.csv"))
    assert_one_line_error(proc, "service_requests.parquet", "missing column dsp_attempts")


def test_truncated_parquet(tmp_path: Path) -> None:
    p = tmp_path / "service_requests.parquet"
    write_parquet(p, [request(i) for i in range(1, 50)])
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    proc = run_cli("validate", str(tmp_path))
    assert_one_line_error(proc, "service_requests.parquet", "not a readable Parquet file")


def test_truncated_file_in_a_parquet_folder(tmp_path: Path) -> None:
    folder = tmp_path / "service_requests"
    folder.mkdir()
    write_parquet(folder / "part-0.parquet", [request(1)])
    write_parquet(folder / "part-1.parquet", [request(2)])
    (folder / "part-1.parquet").write_bytes(b"PAR1 this is not really parquet")
    proc = run_cli("validate", str(tmp_path))
    assert_one_line_error(proc, "part-1.parquet")


def test_non_utf8_csv_names_the_byte_offset(tmp_path: Path) -> None:
    p = tmp_path / "service_requests.csv"
    write_csv(p, [request(1), request(2)])
    data = p.read_bytes()
    bad_at = data.index(b"IS,")  # the user_role of the first row
    p.write_bytes(data[:bad_at] + b"\xff" + data[bad_at + 1 :])
    proc = run_cli("validate", str(tmp_path))
    assert_one_line_error(proc, "service_requests.csv", f"byte offset {bad_at}", "line 2")


def test_wrong_column_type_in_parquet(tmp_path: Path) -> None:
    schema = pa.schema(
        [
            pa.field("dsp_attempts", pa.string()) if f.name == "dsp_attempts" else f
            for f in SERVICE_REQUESTS.arrow_schema()
        ]
    )
    write_parquet(
        tmp_path / "service_requests.parquet", [{**request(1), "dsp_attempts": "one"}], schema
    )
    proc = run_cli("validate", str(tmp_path))
    assert_one_line_error(proc, "dsp_attempts", "expected int")


def test_missing_required_table(tmp_path: Path) -> None:
    proc = run_cli("validate", str(tmp_path))
    assert_one_line_error(proc, "required table 'service_requests' not found")


def test_csv_with_semicolons_says_so(tmp_path: Path) -> None:
    write_csv(tmp_path / "service_requests.csv", [request(1)], delimiter=";")
    proc = run_cli("validate", str(tmp_path))
    assert_one_line_error(proc, "service_requests.csv", "semicolons and no commas")


def test_csv_bom_stray_quote_and_bad_cells_are_row_problems(tmp_path: Path) -> None:
    p = tmp_path / "service_requests.csv"
    write_csv(p, [request(i) for i in range(1, 6)])
    lines = p.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = (
        lines[1].replace(",1\r\n", ",x\r\n").replace(",1\n", ",x\n")
    )  # line 2: dsp_attempts not an integer
    lines[4] = lines[4].replace(",IS,", ',"IS,', 1)  # line 5: a quote that never closes
    p.write_bytes(b"\xef\xbb\xbf" + "".join(lines).encode("utf-8"))
    q = tmp_path / "q.csv"
    proc = run_cli("validate", str(tmp_path), "--quarantine", str(q))
    assert proc.returncode == 0, proc.stderr
    with q.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    got = sorted((int(r["row"]), r["reason_code"]) for r in rows)
    assert got == [(2, "invalid_value"), (5, "malformed_row")]
    assert list(rows[0]) == ["table", "source", "row", "reason_code", "reason"]  # no raw values
    assert {r["source"] for r in rows} == {"service_requests.csv"}  # relative to the data dir
    assert {r["reason"] for r in rows} == {
        "value does not parse: dsp_attempts",
        "expected 17 fields, found 3",  # the open quote runs to the end of the line
    }
    # the raw rows and the detailed reasons: beside it, under restricted/
    with (tmp_path / "restricted" / "q_rows.csv").open(encoding="utf-8") as fh:
        raw_rows = list(csv.DictReader(fh))
    assert [(int(r["row"]), r["reason_code"]) for r in raw_rows] == [
        (5, "malformed_row"),
        (2, "invalid_value"),
    ]
    assert any(r["reason_detail"] == "value does not parse: dsp_attempts=x" for r in raw_rows)
    stray = next(r for r in raw_rows if r["reason_code"] == "malformed_row")["raw"]
    assert stray.endswith(",I0,1") and "-90-A0:5," not in stray  # only its own line
    counts = next(ln for ln in proc.stdout.splitlines() if "service_requests" in ln)
    assert [c.strip() for c in counts.split("│")][3:6] == ["5", "3", "2"]  # line 6 accepted
    assert "2 quarantined row(s)" in proc.stderr


@pytest.mark.parametrize("debug", [False, True])
def test_debug_shows_the_traceback(tmp_path: Path, debug: bool) -> None:
    args = ["--debug"] if debug else []
    proc = run_cli(*args, "validate", str(tmp_path))
    assert proc.returncode == 2
    assert ("Traceback" in proc.stderr) is debug


def test_validate_writes_quarantine_files_only_when_asked_and_rows_are_quarantined(
    tmp_path: Path,
) -> None:
    """`validate DATA` writes nothing, wherever it is run, unless `--quarantine FILE` is given;
    with it, a clean month writes nothing; bad rows give the value-free FILE and
    restricted/<stem>_rows.csv; a clean run after that empties both (header only) rather than
    leaving another run's list behind."""
    data, here = tmp_path / "data", tmp_path / "here"
    data.mkdir()
    here.mkdir()
    q = ["--quarantine", str(here / "quarantine.csv")]
    write_parquet(data / "service_requests.parquet", [request(i) for i in range(1, 4)])
    proc = run_cli("validate", str(data), *q, cwd=here)
    assert proc.returncode == 0, proc.stderr
    assert list(here.iterdir()) == [] and "no row quarantined" in proc.stderr
    bad = [request(1), request(2, srv="99.9"), request(1)]
    write_parquet(data / "service_requests.parquet", bad)
    proc = run_cli("validate", str(data), cwd=here)
    assert proc.returncode == 0, proc.stderr
    assert list(here.iterdir()) == [] and "2 row(s) quarantined; nothing written" in proc.stderr
    proc = run_cli("validate", str(data), *q, cwd=here)
    assert proc.returncode == 0, proc.stderr
    shared = (here / "quarantine.csv").read_text(encoding="utf-8").splitlines()
    rows = (here / "restricted" / "quarantine_rows.csv").read_text(encoding="utf-8").splitlines()
    assert len(shared) == len(rows) == 3
    assert "90-B3-D5-1F-30-01-00-00" not in "\n".join(shared)  # the party's user_id
    assert "90-B3-D5-1F-30-01-00-00" in "\n".join(rows)
    write_parquet(data / "service_requests.parquet", [request(i) for i in range(1, 4)])
    proc = run_cli("validate", str(data), *q, cwd=here)
    assert proc.returncode == 0, proc.stderr
    assert len((here / "quarantine.csv").read_text(encoding="utf-8").splitlines()) == 1
    emptied = here / "restricted" / "quarantine_rows.csv"
    assert len(emptied.read_text(encoding="utf-8").splitlines()) == 1
