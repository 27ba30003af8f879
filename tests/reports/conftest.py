"""Fixtures of the report tests: deterministic results folders and one rendering shared by many tests."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from opmetrics.catalog import default_catalog
from opmetrics.reports import RenderSummary, render
from opmetrics.reports.common import PackContext
from opmetrics.reports.data import View, load_month
from tests.reports.fake_results import write_fake_results

PRODUCED = date(2021, 6, 10)  # two Working Days after the April 2021 due date (8 June)


@pytest.fixture(scope="session")
def results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_results(tmp_path_factory.mktemp("results") / "2021-04")


@pytest.fixture(scope="session")
def history_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An earlier month written as results were before the assumed values were recorded."""
    return write_fake_results(
        tmp_path_factory.mktemp("history") / "2021-03",
        "2021-03",
        seed=3,
        quality=-0.003,
        schema_version=1,
    )


@pytest.fixture(scope="session")
def ctx(results_dir: Path, history_dir: Path) -> PackContext:
    cat = default_catalog()
    return PackContext(
        View(load_month(results_dir), cat), (View(load_month(history_dir), cat),), PRODUCED
    )


@pytest.fixture(scope="session")
def rendered(
    tmp_path_factory: pytest.TempPathFactory, results_dir: Path, history_dir: Path
) -> RenderSummary:
    """The month rendered once (with one month of history), for the tests that read outputs."""
    return render(results_dir, tmp_path_factory.mktemp("reports") / "out", [history_dir], PRODUCED)


def pdftotext(pdf: Path) -> str:
    import subprocess

    exe = shutil.which("pdftotext")
    if exe is None:
        pytest.skip("pdftotext not found: install poppler-utils (.ci/run does)")
    return subprocess.run(
        [exe, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
