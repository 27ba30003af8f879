"""Generated months shared by the generator tests (built once per session, ~100k requests)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from opmetrics.generator import GenerationSummary, generate_month

REQUESTS = 100_000


@pytest.fixture(scope="session")
def month(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    """A clean April 2021 (no clock change, Easter bank holidays) in Parquet."""
    return generate_month(tmp_path_factory.mktemp("gen") / "april", "2021-04", REQUESTS, seed=7)


@pytest.fixture(scope="session")
def db(month: GenerationSummary) -> duckdb.DuckDBPyConnection:
    """DuckDB views over the generated month, read independently of opmetrics' reader."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name in (
        "service_requests",
        "devices",
        "parties",
        "alerts",
        "incidents",
        "outages",
        "firmware",
    ):
        path = Path(month.out) / f"{name}.parquet"
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
    return con


@pytest.fixture(scope="session")
def results(month: GenerationSummary, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The month computed with the default catalog (results folder)."""
    import opmetrics

    out = tmp_path_factory.mktemp("gen-results") / "results"
    opmetrics.compute(month.out, "2021-04", out)
    return out
