"""The options of the commands, each defined once, and the `Context` every command opens.

A command's signature lists the shared option types defined here (`DataDirArg`, `MonthOpt`,
the engine options, ...), so a flag has one name, one help text and one parser everywhere.
Options given before the command name (`--catalog`, `--debug`, `--quiet`) are kept in `STATE`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from opmetrics import console
from opmetrics.context import Context
from opmetrics.defaults import ENV_KEY
from opmetrics.engine.options import EngineOptions
from opmetrics.errors import UsageError


@dataclass
class State:
    catalog_path: Path | None = None
    debug: bool = False


STATE = State()


def parse_date(what: str) -> Callable[[str], date]:
    """A parser of YYYY-MM-DD for the option `what`, with a one-line error naming it."""

    def parse(text: str) -> date:
        try:
            return date.fromisoformat(text.strip())
        except ValueError:
            raise UsageError(
                f"{what} {text!r} is not a date YYYY-MM-DD (e.g. 2021-06-15)"
            ) from None

    return parse


DataDirArg = Annotated[
    Path, typer.Argument(help="Data dir holding one file (or Parquet folder) per table.")
]
ResultsDirArg = Annotated[
    Path, typer.Argument(help="Results folder of the month (written by `opmetrics compute`).")
]
MonthOpt = Annotated[
    str, typer.Option("--month", "-m", help="Reporting month, YYYY-MM (UK local time).")
]
ProducedOnOpt = Annotated[
    date | None,
    typer.Option(
        "--produced-on",
        metavar="DATE",
        parser=parse_date("--produced-on"),
        help="Date shown as produced on the covers, YYYY-MM-DD (default: today).",
    ),
]
HistoryOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--history",
        metavar="RESULTS_DIR",
        help="Results folder of an earlier month, for the trends (repeatable).",
    ),
]
AnonKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--anon-key",
        help=f"Key of the party pseudonyms (default: ${ENV_KEY}; without either, a public demo key).",
    ),
]
LabelsOpt = Annotated[
    Path | None,
    typer.Option(
        "--labels",
        help="An earlier month's results folder (or its restricted/party_labels.csv), made with "
        "the same key: every party labelled there keeps its label.",
    ),
]
ReviewOpt = Annotated[
    Path | None,
    typer.Option(
        "--review",
        metavar="FILE",
        dir_okay=False,
        help="The month's review file (TOML, from `opmetrics review init`): commentary, "
        "ad-hoc list and actions in the summary paper, Panel summary and dashboard.",
    ),
]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="Exit with code 1 when anything is quarantined.")
]

# Engine options, shared by every command that runs an engine.
DEFAULT_ENGINE = EngineOptions.name
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
    engine: str = DEFAULT_ENGINE,
    spark_master: str | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> Iterator[Context]:
    """A `Context` with the global catalog option, the engine options and Rich progress bars."""
    options = EngineOptions(
        name=engine, spark_master=spark_master, threads=threads, memory_limit=memory_limit
    )
    with (
        console.RichProgress() as progress,
        Context(STATE.catalog_path, options, progress) as ctx,
    ):
        yield ctx
