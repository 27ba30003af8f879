"""Compute engines: Ibis on DuckDB (embedded default) or on Spark (local or a cluster).

Everything engine-specific lives in one module per engine (`duckdb.py`, `spark.py`): how a
table is read with its row provenance, which 64-bit hash to use, session settings and versions.
Measures and validation are written once, as Ibis expressions, against `Engine`.
"""

from __future__ import annotations

from opmetrics.engine.base import Engine, EngineOptions
from opmetrics.errors import UsageError

ENGINES = ("duckdb", "spark")


def connect(options: EngineOptions | None = None) -> Engine:
    """Open the engine the options name (DuckDB unless told otherwise)."""
    options = options or EngineOptions()
    if options.name == "duckdb":
        from opmetrics.engine.duckdb import DuckDBEngine

        return DuckDBEngine(options)
    if options.name == "spark":
        from opmetrics.engine.spark import SparkEngine

        return SparkEngine(options)
    raise UsageError(f"unknown engine {options.name!r}; choose one of {', '.join(ENGINES)}")


__all__ = ["ENGINES", "Engine", "EngineOptions", "connect"]
