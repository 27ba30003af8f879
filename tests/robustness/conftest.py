"""Fixtures of the robustness tests: the corpus's base month, and the command run in-process.

Commands run through `opmetrics.cli.main` in this process (imports once, not per case) with the
process's file descriptors captured, so whatever reaches stderr - our messages, a library's
warning, a traceback - is seen exactly as a user would see it. The kill tests run real child
processes (`opmetrics` as a command).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from opmetrics.cli import main
from tests.robustness.corpus import base_month


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str

    @property
    def errors(self) -> list[str]:
        return [ln for ln in self.stderr.splitlines() if ln.startswith("error:")]

    def assert_clean(self) -> None:
        """No traceback, no internal error, and nothing on stderr but our own lines."""
        assert "Traceback" not in self.stderr, self.stderr
        assert self.code != 70, self.stderr
        for ln in self.stderr.splitlines():
            assert (
                not ln.strip()
                or ln.startswith(("error:", "warning:", "NOT REPORTABLE"))
                or ln.startswith(("Try '", "..."))
            ), f"unexpected stderr line: {ln!r}"

    def assert_refused(self, code: int, *needles: str) -> None:
        """Exit `code` with exactly one `error:` line naming every needle."""
        self.assert_clean()
        assert self.code == code, (self.code, self.stderr)
        assert len(self.errors) == 1, self.stderr
        for n in needles:
            assert n in self.errors[0], (n, self.errors[0])


@pytest.fixture
def cli(capfd: pytest.CaptureFixture[str]) -> Any:
    """Run `opmetrics ARGS...` in this process; returns what a user would see."""

    def run(*args: str) -> Ran:
        capfd.readouterr()
        try:
            main(["--quiet", *args])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capfd.readouterr()
        return Ran(code, out, err)

    return run


def invoke(*args: str) -> int:
    """Run `opmetrics ARGS...` in this process for a fixture; returns the exit code."""
    try:
        main(["--quiet", *args])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def pdftotext(pdf: Path) -> str:
    """The PDF's text with runs of white space made one space (names may wrap)."""
    exe = shutil.which("pdftotext")
    if exe is None:
        pytest.skip("pdftotext not found: install poppler-utils (.ci/run does)")
    text = subprocess.run([exe, str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(text.split())


def pdfinfo(pdf: Path) -> str:
    exe = shutil.which("pdfinfo")
    if exe is None:
        pytest.skip("pdfinfo not found: install poppler-utils (.ci/run does)")
    return subprocess.run(
        [exe, "-f", "1", "-l", "10000", str(pdf)], capture_output=True, text=True, check=True
    ).stdout


def run_process(*args: str, timeout: float = 600) -> Ran:
    """`opmetrics ARGS...` as a child process (what a shell script runs)."""
    p = subprocess.run(
        [sys.executable, "-m", "opmetrics", "--quiet", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
    )
    return Ran(p.returncode, p.stdout, p.stderr)


@pytest.fixture(scope="session")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The valid month every corpus case starts from (never modified)."""
    return base_month(tmp_path_factory.mktemp("corpus") / "base")


def manifest(results: Path) -> dict[str, Any]:
    out: dict[str, Any] = json.loads((results / "manifest.json").read_text(encoding="utf-8"))
    return out
