"""Compute engines: Ibis on DuckDB (embedded default) or on Spark (local or a cluster).

Everything engine-specific lives in one module per engine (`duckdb.py`, `spark.py`): how a
table is read with its row provenance, which 64-bit hash to use, session settings and versions.
Measures and validation are written once, as Ibis expressions, against `Engine`
(`engine.base`). No code outside this package names an engine's library or holds its
connection: what callers need is a verb of `Engine`.

This module itself loads no engine library (Ibis included) until an engine is opened, so that
commands that run none start quickly.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any

from opmetrics.engine.options import ENGINES, EngineOptions
from opmetrics.errors import EngineError, OpmetricsError, OutputError, UsageError

if TYPE_CHECKING:
    from opmetrics.engine.base import Engine


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


def __getattr__(name: str) -> Any:
    if name == "Engine":  # loads Ibis: only when asked for
        from opmetrics.engine.base import Engine

        return Engine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ENGINES", "Engine", "EngineOptions", "connect", "resource_error"]


def resource_error(exc: BaseException) -> OpmetricsError | None:
    """A machine running out of disk or memory, said as such rather than as an internal error.

    DuckDB raises these mid-query (spilling to a full disk, or a hash table beyond its memory
    limit even with spilling); Python raises ENOSPC writing outputs.
    """
    text = str(exc).splitlines()[0] if str(exc) else ""
    kind = type(exc).__name__
    if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "No space left" in text:
        where = getattr(exc, "filename", None) or text
        return OutputError(
            f"no space left on the device ({where}); free space there, or point TMPDIR at a "
            "larger disk for the engine's spill files"
        )
    if kind == "OutOfMemoryException" or "Out of Memory" in text:
        return EngineError(
            f"out of memory: {text}; raise --memory-limit, or run on a larger machine",
            engine="duckdb",
        )
    return None
