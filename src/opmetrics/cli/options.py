"""The options of the commands, each defined once, and the `Context` every command opens.

A command's signature lists the shared option types defined here (`DataDirArg`, `MonthOpt`,
...), so a flag has one name, one help text and one parser everywhere; a command that runs an
engine takes `@engine_options`, which adds the four engine flags and hands it one `EngineOptions`.
Options given before the command name (`--catalog`, `--debug`, `--quiet`) are kept in `STATE`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

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


def date_option(flag: str, help: str) -> Any:
    """A `typer.Option` reading a date YYYY-MM-DD from `flag`, for `Annotated[date, ...]`."""
    return typer.Option(flag, metavar="DATE", parser=parse_date(flag), help=help)


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
    date_option(
        "--produced-on", "Date shown as produced on the covers, YYYY-MM-DD (default: today)."
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

# Engine options, shared by every command that runs an engine (added by `engine_options`).
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
_ENGINE_PARAMS = tuple(
    inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=kind, default=default)
    for name, kind, default in (
        ("engine", EngineOpt, EngineOptions.name),
        ("spark_master", SparkMasterOpt, None),
        ("threads", ThreadsOpt, None),
        ("memory_limit", MemoryOpt, None),
    )
)

R = TypeVar("R")


def engine_options(command: Callable[..., R]) -> Callable[..., R]:
    """The command with `--engine`, `--spark-master`, `--threads` and `--memory-limit` after its
    own options; it receives them as one keyword argument `engine: EngineOptions`.

    Typer reads a command's parameters from `inspect.signature(eval_str=True)` and
    `typing.get_type_hints`, so the wrapper carries a `__signature__` and `__annotations__` with
    the evaluated types: the command's own, less `engine`, and the four engine options.
    """
    own = inspect.signature(command, eval_str=True)
    params = [p for p in own.parameters.values() if p.name != "engine"] + list(_ENGINE_PARAMS)

    @functools.wraps(command)
    def wrapper(
        *args: Any,
        engine: str,
        spark_master: str | None,
        threads: int | None,
        memory_limit: str | None,
        **kwargs: Any,
    ) -> R:
        options = EngineOptions(
            name=engine, spark_master=spark_master, threads=threads, memory_limit=memory_limit
        )
        return command(*args, engine=options, **kwargs)

    wrapper.__signature__ = own.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    wrapper.__annotations__["return"] = own.return_annotation
    return wrapper


@contextmanager
def open_context(options: EngineOptions | None = None) -> Iterator[Context]:
    """A `Context` with the global catalog option, the engine options and Rich progress bars."""
    with (
        console.RichProgress() as progress,
        Context(STATE.catalog_path, options or EngineOptions(), progress) as ctx,
    ):
        yield ctx
