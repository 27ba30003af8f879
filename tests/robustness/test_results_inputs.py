"""Results folders as inputs (report, customer-pack, diff) and `opmetrics diff` itself.

A results folder given to a command that reads it may be missing, half-copied or damaged: each
is refused with exit 5 and one line naming it. `diff` lists exactly the measures that changed
between two runs of a month and exits 1, or 0 when the folders hold the same rows.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.robustness.conftest import invoke
from tests.robustness.corpus import CASE_BY_NAME, MONTH, build_case

# Its expensive fixtures are built once: every test of the group runs on one xdist worker.
pytestmark = pytest.mark.xdist_group("results-inputs")


@pytest.fixture(scope="module")
def results(base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("results") / "2021-04"
    assert invoke("compute", str(base), "--month", MONTH, "--out", str(out)) == 0
    return out


def _copy(results: Path, dest: Path) -> Path:
    shutil.copytree(results, dest)
    return dest


def _damaged(results: Path, tmp_path: Path, how: str) -> Path:
    r = _copy(results, tmp_path / "damaged")
    if how == "no_manifest":
        (r / "manifest.json").unlink()
    elif how == "manifest_not_json":
        (r / "manifest.json").write_text('{"month": "2021-04", ', encoding="utf-8")
    elif how == "manifest_without_month":
        (r / "manifest.json").write_text("{}", encoding="utf-8")
    elif how == "truncated_table":
        for name in ("cpm", "benchmark"):  # what reports and diff read; what packs read
            p = r / f"{name}.parquet"
            p.write_bytes(p.read_bytes()[:200])
    elif how == "no_cpm":
        (r / "cpm.parquet").unlink()
    elif how == "not_a_folder":
        shutil.rmtree(r)
        r.write_text("results\n")
    return r


DAMAGE = {
    "no_manifest": "not a results folder (no manifest.json)",
    "manifest_not_json": "manifest.json is not valid JSON",
    "truncated_table": "is unreadable",
    "not_a_folder": "not a results folder",
}


@pytest.mark.parametrize("how", sorted(DAMAGE))
@pytest.mark.parametrize("command", ["report", "customer-pack", "diff"])
def test_a_damaged_results_folder_is_exit_5(
    results: Path, tmp_path: Path, cli: Any, how: str, command: str
) -> None:
    bad = _damaged(results, tmp_path, how)
    out = tmp_path / "out"
    args = {
        "report": ["report", str(bad), "--out", str(out)],
        "customer-pack": ["customer-pack", str(bad), "--out", str(out), "--all-parties"],
        "diff": ["diff", str(results), str(bad)],
    }[command]
    ran = cli(*args)
    ran.assert_refused(5, DAMAGE[how])
    assert not out.exists()


def test_customer_pack_without_the_restricted_folder_is_exit_5(
    results: Path, tmp_path: Path, cli: Any
) -> None:
    r = _copy(results, tmp_path / "shared-only")
    shutil.rmtree(r / "restricted")  # a folder copied for sharing, not the full audit artefact
    ran = cli("customer-pack", str(r), "--out", str(tmp_path / "packs"), "--all-parties")
    ran.assert_refused(5, "restricted/party_labels.csv")


def test_diff_of_a_folder_with_itself_is_0(results: Path, cli: Any) -> None:
    ran = cli("diff", str(results), str(results))
    ran.assert_clean()
    assert ran.code == 0 and ran.stdout == "" and ran.stderr == ""  # --quiet: nothing to say


def _set(path: Path, row: int, **values: Any) -> None:
    t = pq.read_table(path)
    for col, v in values.items():
        i = t.schema.get_field_index(col)
        vals = t.column(col).to_pylist()
        vals[row] = v
        t = t.set_column(i, t.schema.field(i), pa.array(vals, t.schema.field(i).type))
    pq.write_table(t, path)


def test_diff_lists_exactly_what_was_restated(results: Path, tmp_path: Path, cli: Any) -> None:
    b = _copy(results, tmp_path / "restated")
    cpm = pq.read_table(results / "cpm.parquet").to_pylist()
    i = next(n for n, r in enumerate(cpm) if r["cpm"] == "CPM1" and r["region"] == "North")
    status = "met" if cpm[i]["status"] != "met" else "below_minimum"
    _set(b / "cpm.parquet", i, value_percent=50.0, status=status)
    summary = pq.read_table(results / "srv_summary.parquet").to_pylist()
    j = next(n for n, r in enumerate(summary) if r["srv"] == "2.2" and r["region"] == "ALL")
    old_rate = summary[j]["success_percent"]
    _set(b / "srv_summary.parquet", j, success_percent=old_rate - 1.5)
    out = tmp_path / "changes.csv"
    ran = cli("diff", str(results), str(b), "--out", str(out))
    ran.assert_clean()
    assert ran.code == 1
    with out.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["table"], r["measure"], r["key"]) for r in rows] == [
        ("cpm", "CPM1", "North"),
        ("srv_summary", "success_percent", f"prepayment / 2.2 / ALL / {summary[j]['device_type']}"),
    ]
    c = rows[0]
    assert float(c["old"]) == cpm[i]["value_percent"] and float(c["new"]) == 50.0
    assert (c["old_status"], c["new_status"]) == (cpm[i]["status"], status)
    assert float(rows[1]["delta"]) == pytest.approx(-1.5)
    assert "CPM1" in ran.stdout and f"{cpm[i]['status']} → {status}" in ran.stdout
    assert "1 CPM row(s) (1 with a new status), 1 srv_summary rate(s)" in ran.stderr
    assert "other tables that differ: none" in ran.stderr


def test_diff_after_a_real_correction(results: Path, base: Path, tmp_path: Path, cli: Any) -> None:
    """The month computed again from data missing its last ten days: measures and status move."""
    data = build_case(CASE_BY_NAME["missing_days"], base, tmp_path / "data")
    cut = tmp_path / "cut"
    assert invoke("compute", str(data), "--month", MONTH, "--out", str(cut)) == 0
    ran = cli("diff", str(results), str(cut), "--out", str(tmp_path / "c.csv"))
    assert ran.code == 1
    with (tmp_path / "c.csv").open(encoding="utf-8") as fh:
        rows = {(r["table"], r["measure"], r["key"]): r for r in csv.DictReader(fh)}
    assert rows[("cpm", "CPM1", "ALL")]["new_status"] == "not_reportable"
    assert ("srv_summary", "success_percent", "ALL / ALL / ALL / ALL") in rows or (
        "srv_summary",
        "within_trt_percent",
        "ALL / ALL / ALL / ALL",
    ) in rows
    assert "srv_daily" in ran.stderr  # other tables named


def test_diff_refuses_two_months(results: Path, tmp_path: Path, cli: Any) -> None:
    b = _copy(results, tmp_path / "may")
    m = json.loads((b / "manifest.json").read_text(encoding="utf-8"))
    m["month"] = "2021-05"
    (b / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    ran = cli("diff", str(results), str(b))
    ran.assert_refused(2, "holds 2021-04", "holds 2021-05", "same month")


def test_diff_refuses_a_folder_missing_a_measured_table(
    results: Path, tmp_path: Path, cli: Any
) -> None:
    b = _damaged(results, tmp_path, "no_cpm")
    cli("diff", str(results), str(b)).assert_refused(5, "no cpm.parquet")


def test_diff_tolerance(results: Path, tmp_path: Path, cli: Any) -> None:
    b = _copy(results, tmp_path / "nudged")
    summary = pq.read_table(results / "srv_summary.parquet").to_pylist()
    j = next(n for n, r in enumerate(summary) if r["success_percent"] is not None)
    _set(b / "srv_summary.parquet", j, success_percent=summary[j]["success_percent"] + 1e-9)
    assert cli("diff", str(results), str(b)).code == 1
    assert cli("diff", str(results), str(b), "--tolerance", "0.0001").code == 0
    cli("diff", str(results), str(b), "--tolerance", "-1").assert_refused(2, "--tolerance")
