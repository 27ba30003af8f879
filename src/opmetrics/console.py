"""The CLI's only way to talk to people: messages on stderr, tables on stdout, progress bars.

Library code never prints; it returns values, raises `OpmetricsError`s and reports progress
through `opmetrics.progress.Progress`, which `RichProgress` renders here.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape


def _console(stderr: bool) -> Console:
    c = Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not c.is_terminal:
        c = Console(stderr=stderr, highlight=False, soft_wrap=True, width=160)
    return c


out = _console(stderr=False)
err = _console(stderr=True)

_quiet = False


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def info(message: str) -> None:
    if not _quiet:
        err.print(escape(message))


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/] {escape(message)}")


def error(message: str) -> None:
    """One line, no traceback: what went wrong and where."""
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)


def not_reportable(measure: str, reason: str) -> None:
    """Loud on purpose: the regulator scores an unreported month as zero."""
    err.print(f"[bold red]NOT REPORTABLE[/] [bold]{escape(measure)}[/]: {escape(reason)}")


def success(message: str) -> None:
    if not _quiet:
        err.print(f"[green]{escape(message)}[/]")


def table(
    title: str | None,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    styles: Sequence[str | None] | None = None,
    justify: Sequence[str] | None = None,
) -> None:
    from rich.table import Table

    t = Table(title=title, title_justify="left", header_style="bold")
    for i, c in enumerate(columns):
        t.add_column(c, justify=(justify[i] if justify else "left"))  # type: ignore[arg-type]
    for r in rows:
        t.add_row(*[escape(_fmt(v)) for v in r], style=None)
    out.print(t)


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


class _RichTask:
    def __init__(self, progress: Any, task_id: Any) -> None:
        self._p = progress
        self._id = task_id

    def advance(self, amount: float = 1) -> None:
        self._p.advance(self._id, amount)

    def update(self, *, total: float | None = None, description: str | None = None) -> None:
        kw: dict[str, Any] = {}
        if total is not None:
            kw["total"] = total
        if description is not None:
            kw["description"] = description
        self._p.update(self._id, **kw)


class RichProgress:
    """`opmetrics.progress.Progress` drawn as Rich progress bars on stderr."""

    def __init__(self) -> None:
        from rich.progress import (  # only for commands that show progress
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=False,
            disable=_quiet or (not err.is_terminal and not _force_bars()),
        )

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    @contextmanager
    def task(self, description: str, total: float | None = None) -> Iterator[_RichTask]:
        task_id = self._progress.add_task(description, total=total)
        started = time.perf_counter()
        try:
            yield _RichTask(self._progress, task_id)
        finally:
            t = self._progress.tasks[task_id] if task_id < len(self._progress.tasks) else None
            if t is not None and t.total is None:
                self._progress.update(task_id, total=1, completed=1)
            elif t is not None:
                self._progress.update(task_id, completed=t.total)
            if self._progress.disable and not _quiet:
                err.print(f"{escape(description)} … done in {time.perf_counter() - started:.1f} s")


def _force_bars() -> bool:
    return "--progress" in sys.argv
