"""The command as a shell runs it: a few real child processes.

Most command tests run `opmetrics.cli.main` in the test's process (`tests/cli_runner.py`);
these few keep the installed entry point, `python -m opmetrics`, exit codes seen by a shell and
output on the real stdout/stderr honest.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"


def _command() -> list[str]:
    exe = shutil.which("opmetrics", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "opmetrics"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_command(), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_help_as_a_module() -> None:
    p = subprocess.run(
        [sys.executable, "-m", "opmetrics", "--help"], capture_output=True, text=True, timeout=120
    )
    assert p.returncode == 0, p.stderr
    for command in ("validate", "compute", "report", "customer-pack", "calendar", "diff"):
        assert command in p.stdout


def test_compute_through_the_entry_point(tmp_path: Path) -> None:
    p = _run(
        "compute", str(GOLDEN / "sr_delivery_proxy"), "--month", "2021-04",
        "--out", str(tmp_path / "out"), "--anon-key", "k",
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert "CPMs for April 2021" in p.stdout
    assert (tmp_path / "out" / "manifest.json").exists()


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    p = _run(
        "compute", str(tmp_path / "nowhere"), "--month", "2021-04", "--out", str(tmp_path / "o")
    )
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    errors = [ln for ln in p.stderr.splitlines() if ln.startswith("error:")]
    assert errors == [f"error: {tmp_path / 'nowhere'}: data dir does not exist or is not a folder"]


@pytest.mark.spark
def test_spark_prints_nothing_between_the_commands_lines(tmp_path: Path) -> None:
    """A Spark compute's stderr is DuckDB's: the driver logs errors alone
    (`engine/spark-log4j2.properties`), not Spark's start-up warnings. The one line added is the
    JVM's own notice of the incubator module Spark loads, which no logging setting reaches."""
    env = {**os.environ, "COLUMNS": "200", "PYSPARK_SUBMIT_ARGS": "pyspark-shell"}
    stderr = {}
    for engine in ("duckdb", "spark"):
        p = subprocess.run(
            [*_command(), "compute", str(GOLDEN / "sr_delivery_proxy"), "--month", "2021-04",
             "--out", str(tmp_path / engine), "--anon-key", "k", "--engine", engine],
            capture_output=True, text=True, timeout=600, env=env,  # no driver JVM options
        )  # fmt: skip
        assert p.returncode == 0, p.stderr
        stderr[engine] = [
            re.sub(r"done in [0-9.]+ s", "done", ln).replace(str(tmp_path / engine), "OUT")
            for ln in p.stderr.splitlines()
            if not ln.startswith("WARNING: Using incubator modules")
        ]
    assert stderr["spark"] == stderr["duckdb"]
    assert any(ln.startswith("NOT REPORTABLE CPM3") for ln in stderr["spark"])  # ours are kept
