"""Independent queries run side by side, on an engine whose queries can share its workers.

A Spark application shares its executors' cores between the jobs submitted to it, and its
driver can plan and collect one query while the executors run another. A month's compute has
many queries that do not depend on each other (each reference table's checks, the requests'
value lookup, the event measures beside the requests' aggregation); run one at a time, a
cluster idles in the gaps: the driver's planning between queries, the last tasks of each
stage, the one-task queries of a table that is one Parquet row group. DuckDB already spends
every core on one query, and one connection runs one query at a time, so there the same calls
run one after the other, in the order their results are asked for: exactly the order of work
of a caller that made them in sequence.

Only the caller's thread starts work side by side: a call made inside such work runs in its
own thread, at once, so no worker ever waits for another and the pool cannot deadlock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")

_worker = threading.local()


class Pending(Generic[T]):
    """A result being computed beside the caller's next queries, or, on an engine that runs
    one query at a time, computed when first asked for (`result`)."""

    def __init__(self, fn: Callable[[], T] | None = None, future: Future[T] | None = None):
        self._fn = fn
        self._future = future
        self._value: T | None = None
        self._done = False

    def result(self) -> T:
        if self._future is not None:
            return self._future.result()
        if not self._done:
            assert self._fn is not None
            self._value = self._fn()
            self._done, self._fn = True, None
        return self._value  # type: ignore[return-value]


def _in_worker(fn: Callable[[], T]) -> Callable[[], T]:
    def run() -> T:
        _worker.active = True
        try:
            return fn()
        finally:
            _worker.active = False

    return run


class SideBySide:
    """The pool an engine runs independent queries on (`Engine.beside`)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def beside(self, fn: Callable[[], T]) -> Pending[T]:
        if self.workers < 2 or getattr(_worker, "active", False):
            return Pending(fn)
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="opmetrics-query")
            return Pending(future=self._pool.submit(_in_worker(fn)))

    @contextmanager
    def scope(self, cancel: Callable[[], None]) -> Iterator[None]:
        """On an error, stop what was started in the block: work not begun is dropped, the
        engine's running queries are cancelled (`cancel`), and the threads are waited for, so
        no query outlives the operation that failed."""
        try:
            yield
        except BaseException:
            with self._lock:
                pool, self._pool = self._pool, None
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
                cancel()
                pool.shutdown(wait=True)
            raise

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


__all__ = ["Pending", "SideBySide"]
