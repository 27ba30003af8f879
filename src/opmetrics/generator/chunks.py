"""Service requests and alerts chunk by chunk, in parallel worker processes.

A chunk covers an equal slice of the month's volume and draws from its own random streams,
derived from (seed, chunk); its requests' DUIS counters and its alert ids follow from its
position in the month, not from the chunks before it. Chunks are therefore independent: each
is generated, broken (`--dirty`), counted and written on its own, in whichever process runs
it, into files named after the chunk. The output is the same whatever the number of workers
and whatever order the chunks finish in; the parent only adds up the counts.

Workers are forked from the process that built the month (inventory, plan, calibrated
anomalies), so they share that memory copy-on-write instead of rebuilding or copying it.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from opmetrics.catalog import Catalog
from opmetrics.errors import EngineError, OutputError
from opmetrics.generator import alerts as alerts_mod
from opmetrics.generator import requests as req
from opmetrics.generator.anomalies import Subjects
from opmetrics.generator.dirty import break_rows
from opmetrics.generator.timegrid import TimeGrid
from opmetrics.generator.truth import Tally
from opmetrics.generator.writer import Layout, write_part

# Random streams of the chunks: (stream, chunk) is the SeedSequence spawn key.
REQUESTS, ALERTS, DIRTY_REQ, DIRTY_ALERTS = range(10, 14)

Job = Callable[[], None]


def rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def share(total: int, n_chunks: int, k: int) -> tuple[int, int]:
    """Chunk k's first index and count when `total` items are spread over `n_chunks`."""
    first = total * k // n_chunks
    return first, total * (k + 1) // n_chunks - first


@dataclass
class ChunkJob:
    """Everything fixed for the month that a chunk needs (shared with forked workers)."""

    out: Path
    seed: int
    requests: int
    alerts: int
    n_chunks: int
    fmt: str
    layout: Layout
    dirty: float
    catalog: Catalog
    grid: TimeGrid
    plan: req.RequestPlan
    alert_plan: alerts_mod.AlertPlan
    subj: Subjects
    tally_dims: tuple[int, int, int, int]


@dataclass
class ChunkResult:
    """What a chunk adds to the month's counts (its files are on disk)."""

    k: int
    requests: int
    rows: dict[str, int] = field(default_factory=dict)
    dirty: dict[str, dict[str, int]] = field(default_factory=dict)
    tally: Tally | None = None


def generate_chunk(job: ChunkJob, k: int, submit: Callable[[Job], None]) -> ChunkResult:
    """Generate chunk k of both big tables, break and count its rows; `submit` its writes."""
    plan, grid, csv = job.plan, job.grid, job.fmt == "csv"
    partitioned = job.layout == "days"
    lo, hi = k / job.n_chunks, (k + 1) / job.n_chunks
    row0, n_k = share(job.requests, job.n_chunks, k)
    rows = req.draw_rows_for(plan, rng(job.seed, REQUESTS, k), n_k, lo, hi)
    rows = req.finish(plan, rows, row0)
    table = req.to_arrow(plan, rows)
    group = grid.local_day_of(rows["t"]) if partitioned else None
    b = break_rows(
        "service_requests", table, job.dirty, rng(job.seed, DIRTY_REQ, k), job.catalog, csv, group
    )
    result = ChunkResult(k, n_k, tally=Tally(*job.tally_dims))
    result.dirty["service_requests"] = b.counts
    result.rows["service_requests"] = b.table.num_rows + b.counts.get("malformed_row", 0)
    assert result.tally is not None
    clean = rows if not b.broken.any() else req.take(rows, np.flatnonzero(~b.broken))
    result.tally.add(plan.model, clean, plan.inv, grid, job.subj)
    del rows, clean, table
    submit(
        partial(
            write_part, job.out, "service_requests", job.fmt, job.layout, k, b.table,
            b.raw_lines, grid, "received_at",
        )
    )  # fmt: skip
    a0, a_k = share(job.alerts, job.n_chunks, k)
    if a_k:
        ar = alerts_mod.alert_chunk(job.alert_plan, rng(job.seed, ALERTS, k), a_k, lo, hi)
        at = alerts_mod.to_arrow(job.alert_plan, ar, a0)
        agroup = grid.local_day_of(ar["t"]) if partitioned else None
        ab = break_rows(
            "alerts", at, job.dirty, rng(job.seed, DIRTY_ALERTS, k), job.catalog, csv, agroup
        )
        result.dirty["alerts"] = ab.counts
        result.rows["alerts"] = ab.table.num_rows + ab.counts.get("malformed_row", 0)
        keep = ~ab.broken
        result.tally.add_alerts(
            {k: ar[k][keep] for k in ("t", "delivered", "consolidated")}, job.alert_plan.trt_us
        )
        submit(
            partial(
                write_part, job.out, "alerts", job.fmt, job.layout, k, ab.table, ab.raw_lines,
                grid, "raised_at",
            )
        )  # fmt: skip
    return result


# Each worker holds about one chunk (a few hundred MB) besides the shared month: the default
# stays under 4 GiB for a month of 100M requests however many CPUs the machine has.
MAX_DEFAULT_WORKERS = 8


def default_workers() -> int:
    """Worker processes by default: one per CPU this process may use, at most 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_DEFAULT_WORKERS))


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


# The month a forked worker generates chunks of: set in the parent just before the fork.
_JOB: ChunkJob | None = None


def _keep_freed_memory() -> None:
    """Let a worker reuse the memory it frees instead of handing it back to the system.

    A chunk allocates and frees arrays of tens of MB; by default glibc returns those to the
    system at once and the next chunk faults them back in, page by page: about a tenth of
    the CPU time. Fixed thresholds (no mmap for blocks under 32 MB, no trimming under 2 GB)
    keep them in the worker's heap: its peak memory is the same, it just stays there. Only
    for the worker processes this module starts; elsewhere (no glibc) nothing changes.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, (1 << 31) - 1)
    except (OSError, AttributeError):
        pass


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)


def _in_worker(k: int) -> ChunkResult:
    assert _JOB is not None
    try:
        return generate_chunk(_JOB, k, lambda write: write())
    except OSError as exc:
        raise OutputError(f"cannot write ({exc.strerror or exc})") from None


class ChunkRunner:
    """Runs every chunk: here, one after the other, or in forked worker processes.

    With one worker (or one chunk) chunks run in this process and their writes go to the
    writer thread passed to `results`; otherwise `workers` processes are forked when the
    runner is made (before the caller starts any thread of its own), and each writes its own
    files. Use as a context manager: leaving it waits for the workers and stops them.
    """

    def __init__(self, job: ChunkJob, workers: int) -> None:
        global _JOB
        self.job = job
        self.workers = max(1, min(workers, job.n_chunks)) if can_fork() else 1
        self._ex: ProcessPoolExecutor | None = None
        self._pending: set[Future[ChunkResult]] = set()
        self._todo = iter(range(job.n_chunks))
        if self.workers == 1:
            return
        _JOB = job
        with warnings.catch_warnings():
            # Python 3.12+ warns when a process with threads forks: the workers only compute
            # and write their own files, they take none of the parent's locks.
            warnings.simplefilter("ignore", DeprecationWarning)
            self._ex = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_keep_freed_memory,
            )
            # a few chunks queued ahead of the workers, no more: results come back as they end
            for _ in range(2 * self.workers):
                self._submit_next()

    def _submit_next(self) -> None:
        k = next(self._todo, None)
        if k is not None and self._ex is not None:
            self._pending.add(self._ex.submit(_in_worker, k))

    def results(self, submit: Callable[[Job], None]) -> Iterator[ChunkResult]:
        """Every chunk's result, in the order they finish."""
        if self._ex is None:
            for k in self._todo:
                yield generate_chunk(self.job, k, submit)
            return
        try:
            while self._pending:
                done, self._pending = wait(self._pending, return_when=FIRST_COMPLETED)
                for f in done:
                    result = f.result()
                    self._submit_next()
                    yield result
        except BrokenProcessPool:
            raise EngineError(
                "a generator worker process stopped unexpectedly (out of memory?); "
                "try fewer workers"
            ) from None

    def __enter__(self) -> ChunkRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        global _JOB
        if self._ex is not None:
            for f in self._pending:
                f.cancel()
            self._ex.shutdown(wait=True, cancel_futures=True)
            self._ex = None
        _JOB = None
