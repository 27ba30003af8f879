"""Options given before the command name (shared by every command)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from opmetrics.engine import EngineOptions


@dataclass
class State:
    catalog_path: Path | None = None
    debug: bool = False


STATE = State()

# Engine options, shared by every command that runs an engine.
EngineOpt = Annotated[str, typer.Option("--engine", help="duckdb (embedded, default) or spark.")]
SparkMasterOpt = Annotated[
    str | None,
    typer.Option(
        "--spark-master", help="Spark master URL, e.g. spark://host:7077 (default local[*])."
    ),
]
ThreadsOpt = Annotated[
    int | None, typer.Option("--threads", help="Engine threads (default: all cores).")
]
MemoryOpt = Annotated[
    str | None,
    typer.Option(
        "--memory-limit", help="Engine memory limit, e.g. 2GiB; DuckDB spills to disk beyond it."
    ),
]


def engine_options(
    engine: str, spark_master: str | None, threads: int | None, memory_limit: str | None
) -> EngineOptions:
    return EngineOptions(
        name=engine, spark_master=spark_master, threads=threads, memory_limit=memory_limit
    )
