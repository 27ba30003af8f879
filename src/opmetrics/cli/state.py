"""Options given before the command name (shared by every command)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from opmetrics import console
from opmetrics.context import Context
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
        "--memory-limit",
        help="Engine memory limit, e.g. 8GiB (DuckDB default 3GiB; it spills to disk beyond it).",
    ),
]


@contextmanager
def open_context(
    engine: str = "duckdb",
    spark_master: str | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> Iterator[Context]:
    """A `Context` with the global catalog option, the engine options and Rich progress bars."""
    with (
        console.RichProgress() as progress,
        Context(
            STATE.catalog_path,
            engine_options(engine, spark_master, threads, memory_limit),
            progress,
        ) as ctx,
    ):
        yield ctx


def engine_options(
    engine: str, spark_master: str | None, threads: int | None, memory_limit: str | None
) -> EngineOptions:
    return EngineOptions(
        name=engine, spark_master=spark_master, threads=threads, memory_limit=memory_limit
    )
