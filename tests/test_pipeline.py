"""`opmetrics demo` and `opmetrics run` end to end, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_runner import run_cli


@pytest.mark.slow
def test_demo_then_run_on_its_data(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = run_cli("demo", "--out", str(out), "--requests", "30000")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    manifest = json.loads((out / "results" / "manifest.json").read_text())
    assert manifest["month"] == "2021-04"
    assert manifest["inputs"]["service_requests"]["rows_read"] == 30000
    assert all(v["status"] == "reportable" for v in manifest["reportability"].values())
    pdfs = sorted(p.name for p in (out / "reports").rglob("*.pdf"))
    assert "2021-04-performance-measurement-report.pdf" in pdfs and len(pdfs) >= 10
    assert (out / "reports" / "dashboard" / "index.html").exists()
    assert "CPMs for April 2021" in proc.stdout and "What was written" in proc.stdout
    assert (
        "on time"
        in (out / "reports" / "dashboard" / "index.html").read_text(encoding="utf-8").lower()
    )

    again = run_cli(
        "run",
        str(out / "data"),
        "--month",
        "2021-04",
        "--out",
        str(tmp_path / "run"),
        "--anon-key",
        "k",
        "--produced-on",
        "2021-07-01",
    )
    assert again.returncode == 0, again.stderr
    late = json.loads((tmp_path / "run" / "results" / "manifest.json").read_text())
    assert (
        late["inputs"]["service_requests"]["accepted"]
        == manifest["inputs"]["service_requests"]["accepted"]
    )
    assert "packs are late" in again.stderr


def test_run_on_a_missing_data_dir_is_one_line(tmp_path: Path) -> None:
    proc = run_cli(
        "run", str(tmp_path / "nope"), "--month", "2021-04", "--out", str(tmp_path / "o")
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.count("error:") == 1
