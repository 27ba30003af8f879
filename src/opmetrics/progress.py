"""How library code reports progress without printing: the caller passes a `Progress`.

The CLI passes Rich progress bars; library users get `NO_PROGRESS` unless they pass their own.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from types import TracebackType
from typing import Protocol


class Task(Protocol):
    def advance(self, amount: float = 1) -> None: ...

    def update(self, *, total: float | None = None, description: str | None = None) -> None: ...


class Progress(Protocol):
    def task(self, description: str, total: float | None = None) -> AbstractContextManager[Task]:
        """A unit of work; the context ends it (completed or not)."""
        ...


class _NullTask:
    def advance(self, amount: float = 1) -> None:
        pass

    def update(self, *, total: float | None = None, description: str | None = None) -> None:
        pass

    def __enter__(self) -> _NullTask:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        pass


class _NullProgress:
    def task(self, description: str, total: float | None = None) -> _NullTask:
        return _NullTask()


NO_PROGRESS: Progress = _NullProgress()
