"""The `report` and `calendar` commands, run as a user runs them: exit codes and output."""

from __future__ import annotations

from pathlib import Path

import pytest

from opmetrics.errors import ExitCode
from tests.cli_runner import run_cli
from tests.reports.fake_results import write_fake_results

run = run_cli


def test_calendar() -> None:
    r = run("calendar", "2022-05", "--opsg", "2022-06-15")
    assert r.returncode == 0, r.stderr
    flat = " ".join(r.stdout.split())
    assert "Thu 7 July 2022" in flat  # packs: 25 Working Days after 31 May, past the Jubilee
    assert "Thu 16 June 2022" in flat  # per-User reports: 10th Working Day of June
    assert "Mon 30 May 2022" in flat  # OPSG: 10 Working Days before 15 June
    assert "Platinum Jubilee" in flat


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("calendar", "2022-13"), "is not YYYY-MM"),
        (("calendar", "2022-05", "--opsg", "15/06/2022"), "is not a date YYYY-MM-DD"),
    ],
)
def test_calendar_bad_input(args: tuple[str, ...], message: str) -> None:
    r = run(*args)
    assert r.returncode == ExitCode.INPUT
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_report_missing_results(tmp_path: Path) -> None:
    r = run("report", str(tmp_path / "nope"), "--out", str(tmp_path / "out"))
    assert r.returncode == ExitCode.OUTPUT
    assert "not a results folder" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_report(tmp_path: Path) -> None:
    res = write_fake_results(tmp_path / "res", n_parties=4, scale=0.05, cpm6_reportable=False)
    r = run("report", str(res), "--out", str(tmp_path / "out"), "--produced-on", "2021-06-09")
    assert r.returncode == 0, r.stderr
    assert "CPM6 is NOT REPORTABLE" in r.stderr
    assert "the packs are late" in r.stderr and "late by 1 Working Day" in r.stderr
    assert "performance-measurement-report.pdf" in r.stdout
    assert (tmp_path / "out" / "dashboard" / "index.html").is_file()
