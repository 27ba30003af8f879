"""Work started side by side (`Engine.beside`): on an engine of one query at a time it runs in
the order its results are asked for; on one that runs queries side by side it runs on other
threads, never deadlocks when such work starts more, and stops when the caller fails."""

from __future__ import annotations

import threading

import pytest

from opmetrics.engine import EngineOptions, connect
from opmetrics.engine.side_by_side import SideBySide


def test_one_at_a_time_runs_each_when_its_result_is_asked_for() -> None:
    done: list[str] = []
    with connect(EngineOptions(threads=1)) as engine, engine.side_by_side():
        assert engine.SIDE_BY_SIDE < 2  # DuckDB: one query at a time
        a = engine.beside(lambda: done.append("a") or "A")
        b = engine.beside(lambda: done.append("b") or "B")
        assert done == []  # nothing ran yet: the caller's own next queries come first
        assert b.result() == "B" and a.result() == "A" and a.result() == "A"
    assert done == ["b", "a"]  # in the order asked for, each once


def test_side_by_side_runs_on_other_threads_and_work_inside_runs_in_its_thread() -> None:
    runner = SideBySide(2)
    both = threading.Barrier(2, timeout=10)  # fails (BrokenBarrierError) unless both run at once

    def outer(name: str) -> tuple[str, str, str]:
        both.wait()
        here = threading.current_thread().name
        # with both pool threads busy here, a nested submission to the pool could never start
        inner = runner.beside(lambda: threading.current_thread().name)
        return name, here, inner.result()

    with runner.scope(cancel=lambda: None):
        runs = [runner.beside(lambda n=n: outer(n)) for n in ("x", "y")]  # type: ignore[misc]
        got = [r.result() for r in runs]
    runner.close()
    assert [g[0] for g in got] == ["x", "y"]
    for _, here, inner in got:
        assert here.startswith("opmetrics-query") and inner == here
    assert got[0][1] != got[1][1]


def test_an_error_drops_work_not_begun_and_cancels_what_runs() -> None:
    runner = SideBySide(2)
    release = threading.Event()
    running = threading.Barrier(3, timeout=10)  # both workers and the caller
    started: list[str] = []
    cancelled: list[bool] = []

    def slow(name: str) -> str:
        started.append(name)
        running.wait()
        release.wait(10)  # a long query, until cancelled
        return name

    def cancel() -> None:
        cancelled.append(True)
        release.set()

    with pytest.raises(RuntimeError, match="the caller failed"), runner.scope(cancel=cancel):
        runs = [runner.beside(lambda n=n: slow(n)) for n in ("a", "b", "c", "d")]  # type: ignore[misc]
        running.wait()  # a and b are running, c and d wait for a worker
        raise RuntimeError("the caller failed")
    assert cancelled == [True]
    assert sorted(started) == ["a", "b"]  # two workers: c and d never began
    assert runs[0].result() == "a"  # what ran was waited for before the error went on
